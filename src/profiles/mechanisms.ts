/**
 * The mechanisms a kernel profile chooses, as one schema: the only
 * definition of them. Types are inferred from it, `cowlab kernels` and the
 * table in docs/profiles.md are generated from it, and a user's profile is
 * validated against it.
 *
 * Mechanisms are grouped by subsystem and independent: each field is one
 * decision the kernel makes, with the commit that introduced each
 * behaviour, and kernel paths read exactly the field of the decision they
 * make. Facts about the machine a kernel runs on are not here: they are
 * the environment (./env.ts).
 */
import { z } from 'zod';

/** Documentation attached to a mechanism field. */
export interface MechMeta {
  description: string;
  /** for a choice: what each value means, with its commit and versions */
  values?: Record<string, string>;
}

function choice<const V extends readonly [string, ...string[]]>(description: string, values: { [K in V[number]]: string }, keys: V) {
  return z.enum(keys).meta({ description, values } satisfies MechMeta);
}
function flag(description: string) {
  return z.boolean().meta({ description } satisfies MechMeta);
}
function count(description: string) {
  return z
    .number()
    .int()
    .min(1)
    .max(64)
    .meta({ description } satisfies MechMeta);
}

/** Reusing an anonymous page on a write fault instead of copying it (do_wp_page). */
const cow = z
  .object({
    reuse: choice(
      'The rule do_wp_page() applies to a small anon page that carries no exclusive marker.',
      {
        mapcount: 'reuse_swap_page(): mapcount + swapcount == 1, GUP references ignored; lock_page() sleeps (<= 5.8)',
        'page-count': 'page_count() == 1 after a trylock; the swap cache counts as a reference (09854ba94c6a, 5.9 .. 5.17)',
        refcount:
          'wp_can_reuse_anon_folio(): drain the LRU batch when the folio is off the LRU, tolerate and free the swap cache, then refcount == 1 (d4c470970d45, 53a05ad9f21d, 5.18+)',
      },
      ['mapcount', 'page-count', 'refcount'],
    ),
    exclusive: choice(
      'A page bit that means "only this mm maps it": a write fault reuses a page carrying it whatever its counts, and fork() clears it when it shares the page.',
      {
        none: 'no such bit (<= 5.18)',
        'anon-exclusive':
          'PG_anon_exclusive, kept on every exclusive anon page: set when a page is mapped exclusively (new page, reuse, exclusive swap-in), cleared when it is shared (6c287605fd56, 5.19+); also Andy Lutomirski\'s "private to this mm" bit (12 Jan 2021)',
        'gup-marked':
          'proposal (Linus Torvalds, 10 Jan 2021): set by a GUP that writes or pins an anon page mapped writable, "already made exclusive"; a reuse does not set it',
      },
      ['none', 'anon-exclusive', 'gup-marked'],
    ),
    largeReuse: choice(
      'do_wp_page() on a page of a large folio (a PTE-mapped THP or an mTHP) that carries no exclusive marker.',
      {
        'as-small':
          'the small-page rule (cow.reuse) applied to the folio: the mapcount rule takes the highest mapcount + swapcount of any page plus the PMD mappings (page_trans_huge_map_swapcount, <= 5.8); the page_count and refcount rules read the folio refcount, so in practice only a folio with a single mapped page is reused, and the whole large folio stays allocated (<= 6.8)',
        never: 'a large folio is never reused: copy (cd197c3a2040, 6.9 .. 6.14)',
        'mm-id':
          '__wp_can_reuse_large_anon_folio(): reuse when the folio is mapped more than once, only by this mm (MM_IDS_SHARED clear), and its refcount equals its large mapcount (swap cache freed first); the faulting page gets PG_anon_exclusive (1da190f4d0a6, 6.15+)',
      },
      ['as-small', 'never', 'mm-id'],
    ),
    pmdReuse: choice(
      'The rule do_huge_pmd_wp_page() applies to a PMD-mapped THP whose head carries no exclusive marker.',
      {
        mapcount:
          'reuse_swap_page() on the head: the highest mapcount + swapcount of any page plus the PMD mappings (<= 5.17, even while small pages used page_count: the "THP asymmetry")',
        refcount:
          'the folio refcount is 1 (after freeing its swap cache) (3bff7e3f1f16, 5.18+); with PG_anon_exclusive (5.19+) a reuse marks the head',
      },
      ['mapcount', 'refcount'],
    ),
    pmdCopy: choice(
      'What do_huge_pmd_wp_page() does when it cannot reuse the PMD-mapped THP.',
      {
        thp: 'copy all of it into a new THP mapped by a PMD (do_huge_pmd_wp_page_fallback: 512 small copies when no THP can be had) (<= 5.7)',
        split: 'split this PMD into PTEs and let the PTE-level fault decide page by page (3917c80280c9, 5.8+)',
      },
      ['thp', 'split'],
    ),
    hugeZeroWp: choice(
      'A write (or unshare) fault on the huge zero page.',
      {
        'alloc-thp':
          'a new zeroed THP mapped by the PMD, writable if VM_WRITE (<= 5.7; do_huge_zero_wp_pmd 1ced09e0331f, 6.13+, also on unshare)',
        split: 'split the PMD into PTEs of the small zero page and copy the faulting 4 KiB page (3917c80280c9, 5.8 .. 6.12)',
      },
      ['alloc-thp', 'split'],
    ),
  })
  .strict();

/** Page faults other than the COW decision. */
const fault = z
  .object({
    sharedRetry: flag(
      'A write fault that dirties a shared file page drops mmap_lock for balance_dirty_pages() and returns VM_FAULT_RETRY when it may, so a GUP that retries finds the PTE and the fault is not accounted (89b15332af7c, 5.7 .. 5.18; 5.19 returns VM_FAULT_COMPLETED, 36090def7bad)',
    ),
    aroundPages: count('Read-fault-around on file mappings, in pages (fault_around_bytes / PAGE_SIZE; 16 by default)'),
    splitZeroPages: flag(
      'splitting an anon large folio maps its zero-filled pages to the shared zero page instead of keeping them (remap_page(RMP_USE_SHARED_ZEROPAGE), "mm: remap unused subpages to shared zeropage when splitting isolated thp", 6.12)',
    ),
  })
  .strict();

/** fork(): what copy_page_range() does with anonymous pages. */
const fork = z
  .object({
    copyPinned: choice(
      'Whether fork() gives the child a copy of a page that may be DMA-pinned, so the pin stays with the parent.',
      {
        never: 'the page is shared write-protected like any other (<= 5.8)',
        'maybe-pinned':
          'copy_present_page() when page_needs_cow_for_dma(): a COW mapping of an mm that pinned (MMF_HAS_PINNED) and a page that may be pinned (70e806e4e645, 5.9 .. 5.18)',
        'exclusive-maybe-pinned':
          'folio_try_dup_anon_rmap() refuses (-EBUSY) an exclusive page that may be pinned, which is then copied; a page without the exclusive marker is shared (fb3d824d1a46, 5.19+)',
      },
      ['never', 'maybe-pinned', 'exclusive-maybe-pinned'],
    ),
    copyMarked: flag(
      'proposal (Linus Torvalds, 10 Jan 2021, "fork() will keep it so"): fork() copies a page carrying the exclusive marker for the child instead of sharing it',
    ),
    copyReferenced: choice(
      'proposals: fork() also copies a page held by more than its mappings and the swap cache (any GUP reference, pipe buffers, transient ones).',
      {
        none: 'never (merged kernels)',
        writable: "when the PTE is writable (Linus' rule (c), 11 Jan 2021)",
        any: 'on any PTE (Andrea Arcangeli: "extend the copy in fork to all GUP pins")',
      },
      ['none', 'writable', 'any'],
    ),
    writeProtectSeq: flag(
      'fork() holds mm->write_protect_seq, so a GUP-fast FOLL_PIN that raced with it backs off to the slow path (57efa1fe5957, 5.11)',
    ),
  })
  .strict();

/** get_user_pages() and friends. */
const gup = z
  .object({
    pinCounting: choice(
      'How FOLL_PIN references are counted on a small page, and so how folio_maybe_dma_pinned() recognises a pin.',
      {
        get: 'like FOLL_GET: one reference, pins are not recognisable (<= 5.6)',
        bias: 'GUP_PIN_COUNTING_BIAS (1024) added to the refcount, false positives possible (3faa52c03f44, 5.7+)',
        split:
          'proposal (John Hubbard, 11 Jan 2021): separate 4-bit FOLL_PIN and FOLL_GET fields, exact; the 16th pin or get of one page fails with -EAGAIN',
      },
      ['get', 'bias', 'split'],
    ),
    forceWrite: choice(
      'How a FOLL_FORCE write (ptrace, /proc/PID/mem) may go through a read-only PTE.',
      {
        'foll-write-games':
          'after a COW fault GUP drops FOLL_WRITE and takes whatever is mapped (before 19be0eaffa3a: Dirty COW, CVE-2016-5195)',
        'foll-cow': 'FOLL_FORCE and FOLL_COW and a dirty PTE (19be0eaffa3a, 4.9 .. 5.7; again 5.9 .. 5.19 after a308c71bf1e6)',
        'foll-cow-dirty': 'FOLL_COW and a dirty PTE, FOLL_FORCE no longer required (17839856fd58, 5.8)',
        'anon-exclusive': 'only an exclusive anon page in a private mapping without VM_WRITE (5535be309971, 6.0+)',
      },
      ['foll-write-games', 'foll-cow', 'foll-cow-dirty', 'anon-exclusive'],
    ),
    unshare: choice(
      'Which read-only pins unshare a possibly shared page first (gup_must_unshare()).',
      {
        none: 'none',
        anon: 'a R/O FOLL_PIN of an anon page without PG_anon_exclusive (a7f226604170, c89357e27f20, 5.19)',
        'anon-and-cow-longterm': 'also R/O FOLL_LONGTERM pins of non-anon pages in COW mappings (8d6a0ac09a16, 6.2)',
      },
      ['none', 'anon', 'anon-and-cow-longterm'],
    ),
    readBreaksCow: flag(
      'every GET or PIN on a COW mapping is made a write, breaking COW, and GUP-fast leaves read-only PTEs to the slow path (17839856fd58, 5.8 only)',
    ),
    odirectPins: flag('O_DIRECT takes FOLL_PIN (920756a3306a and the block conversion, 6.3) rather than FOLL_GET'),
    fastRecheckPmd: flag(
      'GUP-fast reads the PMD again after it grabbed a page, with the PTE, and backs off if it changed: a collapse cleared it meanwhile (70cbc3cc78a9 "mm: gup: fix the fast GUP race against THP collapse", 6.0). Before, only the PTE was read again, which a collapse clears only after its refcount check',
    ),
    iouringUnlockable: flag(
      'IORING_REGISTER_BUFFERS pins with pin_user_pages_fast(), whose slow path may drop mmap_lock and retry a fault (FOLL_UNLOCKABLE): a uffd-wp fault waits for the monitor and the pin is taken ("io_uring: rsrc: avoid use of vmas parameter in pin_user_pages()", 6.5 inferred; read: 6.12 io_pin_pages()). Before, pin_user_pages() under mmap_read_lock without `locked`: handle_userfault() gives VM_FAULT_SIGBUS and the registration fails with EFAULT',
    ),
    iouringAcctFolios: flag(
      "io_uring charges a registered page of a compound folio (THP, mTHP, hugetlb) as the whole folio, once per folio of the buffer, to the user's locked_vm when the ring's creator had no CAP_IPC_LOCK (io_buffer_account_pin(), de2939388be5, 5.10); before, one page each. Past RLIMIT_MEMLOCK the registration fails with ENOMEM",
    ),
    iouringAcctRing: flag(
      "io_uring charges the ring's own pages too (2 for cowlab's 4 entries: the rings and the SQEs) when its creator had no CAP_IPC_LOCK: from 5.1 until 26bfa89e25f4 (\"io_uring: place ring SQ/CQ arrays under memcg memory limits\", 5.12), and again once the rings are io_create_region() regions, which charge ctx->user (Pavel Begunkov's region API for the SQ and CQ, 6.14 inferred; the host's 6.18 charges them; debian-5.10, whose io_uring is 5.15's, debian-6.12 and debian-7.x (7.2.13) do not: what 7.x changed is not identified)",
    ),
    vmspliceIter: flag(
      "vmsplice_to_pipe() fills the pipe through iter_to_pipe(): up to 16 pages at a time (iov_iter_get_pages2()), taking another 16 after every batch that fitted, so up to 16 pages past what the pipe takes are faulted in, referenced and dropped; a full pipe is refused before any GUP (Al Viro's iov_iter rework of vmsplice, 4.10 inferred; read: the loop over iov_iter_get_pages() and its later form over iov_iter_get_pages2(), same batches; the host faults 32 pages for a 512-page vmsplice into an empty pipe). Before it get_iovec_page_array() took min(length, pipe->buffers) pages once, whatever room the pipe had",
    ),
    followPageProtnone: flag(
      'follow_page() refuses a PROT_NONE-mapped page unless FOLL_FORCE (gup_can_follow_protnone(), 474098edac26 "mm/gup: replace FOLL_NUMA by gup_can_follow_protnone()", 6.1 inferred; read in its patch): the follow_page() lookups of KSM (the scan unless ksm.scanWalk, get_mergeable_page() and break_ksm()) find no page in an inaccessible VMA, which pte_protnone() matches on x86 as NUMA hinting PTEs do: such pages are neither scanned nor unshared by MADV_UNMERGEABLE. Undone by d74943a2f3cd "mm/gup: reintroduce FOLL_NUMA as FOLL_HONOR_NUMA_FAULT" (6.5 inferred); shown by debian-6.1 (6.1.176) on cowlab diff, where debian-5.10, debian-6.12 and the host merge such pages',
    ),
    touchPmdDirty: flag(
      'a GUP read with FOLL_TOUCH marks a huge PMD dirty (touch_pmd), which lets a FOLL_FORCE write through FOLL_COW reach the huge zero page: Huge Dirty COW, CVE-2017-1000405 (fixed by a8f97366452e, 4.15)',
    ),
  })
  .strict();

/** Swap-out and swap-in of anonymous pages. */
const swap = z
  .object({
    swapinReuse: choice(
      'How do_swap_page() decides that a swapped-in page is exclusive.',
      {
        mapcount: 'reuse_swap_page() on a write fault, before the swap entry is freed (<= 5.17)',
        refcount: 'the refcount after freeing the swap cache, on a write fault (c145e0b47c77, 5.18)',
        'exclusive-bit':
          'try_to_unmap() records PG_anon_exclusive in the swap PTE (x86), and swap-in trusts that bit, else the refcount (1493a1913e34, 5.19+)',
      },
      ['mapcount', 'refcount', 'exclusive-bit'],
    ),
    swapinDrain: flag(
      'do_swap_page() drains the local LRU batch before judging a write fault on a swap-cache page that is off the LRU (d4c470970d45, 5.18+)',
    ),
    syncSkipSwapcache: flag(
      'On a SWP_SYNCHRONOUS_IO device (zram, brd) a swap-in of an entry no other PTE shares reads the page straight into a new page, without the swap cache (0bcac06f27d7 "mm, swap: skip swapcache for swapin of synchronous device", 4.15); before, every swap-in goes through the swap cache',
    ),
    syncSwapinPrepare: flag(
      'A swap-in that skips the swap cache (SWP_SYNCHRONOUS_IO, swap count 1) first takes the entry\'s SWAP_HAS_CACHE with swapcache_prepare(), so a second thread faulting on the same entry backs off and retries until the first has mapped its page ("mm/swap: fix race when skipping swapcache", 13ddaf26be32, 6.8; stable). Before, both read the slot; one maps its page, frees the entry, writes, and the page is swapped out again to the same slot; the other\'s pte_same() then passes and it maps the stale page: the store is lost',
    ),
    unuseKeepsBits: flag(
      'swapoff (unuse_pte) carries the swap PTE\'s soft-dirty and uffd-wp bits over to the PTE it maps (14a762dd1977 "mm/swapfile: fix lost swap bits in unuse_pte()", 6.0 inferred from the mm-stable history); before, a write-protected page came back writable on its first write fault with no uffd-wp fault',
    ),
    swapinWritableOnRead: flag('swap-in of an exclusive page maps it writable even on a read fault (between 6.1 and 6.12)'),
    swapTable: flag(
      'the 7.x swap-table rework (read in 7.2.13 do_swap_page): every swap-in goes through the swap cache, and the entry and the swap cache are released only after the PTE is set, so a non-exclusive entry is mapped read-only',
    ),
    largeSwapout: choice(
      'Whether reclaim swaps a large anon folio out whole. Large swap entries exist only on a block device (SWP_BLKDEV with clusters: brd, zram, a partition); on a swapfile folio_alloc_swap() fails for order > 0 and every era splits first (env.swap).',
      {
        split: 'always split into small folios first (no THP_SWAP, < 4.13)',
        'pmd-mapped':
          'a PMD-sized folio that a PMD maps goes whole, its PMDs split into swap PTEs at unmap; a PTE-mapped one is split first (THP_SWAP, 38d8b4e6bdc8 "mm, THP, swap: delay splitting THP during swap out", 4.13 .. 6.9; read in 5.10.223 and 6.1.176 shrink_page_list/shrink_folio_list, the 4.13 start taken from the commit, not read)',
        whole:
          'a folio of any order goes whole; only a partially mapped one is split first (Ryan Roberts, "mm: swap: allow storage of all mTHP orders" and "mm: vmscan: avoid split during shrink_folio_list()", 6.10; read in 6.12.117 and 7.2.13 mm/vmscan.c)',
      },
      ['split', 'pmd-mapped', 'whole'],
    ),
    largeSwapin: choice(
      'What one swap fault maps of a large folio that went to swap whole.',
      {
        none: 'one page per fault, even of a large folio found in the swap cache (<= 6.10)',
        'swapcache-map':
          'a large folio found in the swap cache is mapped whole when every PTE it covers is a swap entry of it with the same bits (Barry Song, "mm: swap: entirely map large folios found in swapcache", 6.11 from the patch; read in 6.12.117 and 7.2.13 do_swap_page)',
        'sync-io-alloc':
          'also: on a SWP_SYNCHRONOUS_IO device, a swap entry nobody else uses is read into a new mTHP of the highest enabled order whose aligned PTEs are all swap entries of one swapped-out folio with the same bits, none in the swap cache, none zero-mapped differently (alloc_swap_folio, "mm: support large folios swap-in for sync io devices", 6.12; read in 6.12.117 mm/memory.c); with swap.swapTable also a shared entry, through the swap cache (swapin_sync, read in 7.2.13)',
      },
      ['none', 'swapcache-map', 'sync-io-alloc'],
    ),
    swapoutPinned: choice(
      'What reclaim (MADV_PAGEOUT) does with a page that may be pinned.',
      {
        allow: 'swapped out like any page (<= 5.10)',
        'skip-maybe-pinned': 'shrink_page_list() does not add a maybe-pinned page to the swap cache (feb889fb40fa, 5.11)',
        'try-share': 'try_to_unmap() keeps the PTE when folio_try_share_anon_rmap() fails on a maybe-pinned exclusive page (5.19+)',
      },
      ['allow', 'skip-maybe-pinned', 'try-share'],
    ),
  })
  .strict();

/** The per-CPU folio batches of mm/swap.c. */
const lru = z
  .object({
    batchSize: count('Capacity of the per-CPU LRU add and activate batches (PAGEVEC_SIZE 15, folio_batch 31 from 6.x)'),
    pageoutLarge: choice(
      'What MADV_PAGEOUT and MADV_COLD do with a large folio in the range.',
      {
        'split-mapped-once':
          'split it when the page met is mapped once (the head, for a PMD), else leave it, and for a PTE-mapped folio stop the range there (<= 6.9)',
        'whole-exclusive':
          'take it whole when the range covers it and it is mapped only by its own PTEs (folio_mapcount == nr), split it when the range covers it in part, unless it may be mapped by another mm (6.10+)',
      },
      ['split-mapped-once', 'whole-exclusive'],
    ),
    sharedEstimate: choice(
      'How MADV_PAGEOUT and MADV_COLD (whole-exclusive) guess whether a large folio may be mapped by another mm.',
      {
        'first-page':
          'folio_likely_mapped_shared() (6.9 .. 6.14): mapped once means exclusive; an entire mapping or more mappings than pages means shared; else whether its first page is mapped more than once',
        'mm-id':
          'folio_maybe_mapped_shared() (6.15+): mapped once means exclusive; else the MM_IDS_SHARED bit of the MM-ID slots (it stays set while a third mm that got no slot maps it)',
      },
      ['first-page', 'mm-id'],
    ),
  })
  .strict();

/** Paths that write-protect PTEs (mprotect, clear_refs), and what they do to pinned pages. */
const wrprotect = z
  .object({
    mprotectWritable: choice(
      'Whether mprotect() may map an exclusive anon PTE writable without a write fault.',
      {
        none: 'never',
        dirty: 'only a dirty PTE (64fe24a3e05e, 6.0)',
        clean: 'a clean one too (after 6.1, in 6.12)',
      },
      ['none', 'dirty', 'clean'],
    ),
    mprotectPinned: choice(
      'What mprotect() removing write access does to a writable PTE of a maybe-pinned page in a COW mapping.',
      {
        allow: 'write-protect it like any other (every merged kernel)',
        skip: 'leave the PTE writable, as 9348b73c2e1b does for clear_refs (proposal, Linus Torvalds, 9 Jan 2021)',
        ebusy: 'fail the whole call with -EBUSY before changing anything (proposal, John Hubbard)',
      },
      ['allow', 'skip', 'ebusy'],
    ),
    clearRefsSkipsPinned: flag('clear_refs soft-dirty clearing leaves maybe-pinned PTEs writable (9348b73c2e1b, 5.11+)'),
    clearRefsWriteLock: flag(
      'clear_refs soft-dirty holds mmap_lock for write across its walk and its TLB flush ("mm: fix clear_refs_write locking", 29a951dfb3c3, 5.11-rc4; in 5.10.y). Before, it downgrades to the read lock after clearing VM_SOFTDIRTY, so write faults run while the flush of the PTEs it write-protected is pending: a store through another CPU\'s stale entry can land in a page the fault is copying (the clear_refs half of the January 2021 thread)',
    ),
    pmdWritable: flag(
      'mprotect() (change_huge_pmd) may map an exclusive PMD-mapped THP writable at once, can_change_pmd_writable() ("mm/huge_memory: try avoiding write faults when changing PMD protection", 6.2)',
    ),
    mprotectBatch: flag(
      'change_pte_range() handles the PTEs of a large folio as one batch ("mm: optimize mprotect() by PTE batching", 6.17): the batch\'s dirty bits are gathered into its first PTE with pte_mkdirty(), which on x86 also sets soft-dirty, so mprotect() re-marks a PTE-mapped large folio soft-dirty (and may then map it writable) after clear_refs',
    ),
    splitPtesDirty: flag(
      "__split_huge_pmd() gives every PTE the PMD's dirty bit (96d82deb743a, 6.2); before, only the folio's PG_dirty (the sparc64 revert 624a2c94f5b7, 6.0), so a dirty-only mprotectWritable cannot map them writable again",
    ),
  })
  .strict();

/** userfaultfd write-protection. */
const uffd = z
  .object({
    wp: flag('userfaultfd write-protect of anonymous memory exists (292924b26024 and its series, 5.7)'),
    wpShmem: flag('UFFDIO_REGISTER_MODE_WP on shmem (memfd) VMAs (b1f9e876862d, 5.19)'),
    wpMultiVma: flag(
      'UFFDIO_WRITEPROTECT may span several VMAs (6.1 find_dst_vma() wants one VMA and fails with -ENOENT; 6.12 walks them)',
    ),
    unprotectWritable: flag(
      'UFFDIO_WRITEPROTECT un-protect rebuilds PTEs from vm_page_prot and may map exclusive anon PTEs writable at once (uffd_wp_range(): not in 6.1, in 6.12); off: it takes vm_get_page_prot(vm_flags), so a shared writable mapping gets writable PTEs back',
    ),
    wpFlushBeforeCopy: flag(
      'do_wp_page() flushes the faulting page from every CPU\'s TLB before it copies, when the VMA is registered for uffd-wp and a TLB flush of the mm is pending (a UFFDIO_WRITEPROTECT under mmap_read_lock has changed PTEs and not flushed yet): 6ce64428d621 "mm/userfaultfd: fix memory corruption due to writeprotect" (5.12-rc3; stable 5.9+, so debian-5.10). Before, another CPU could store through its stale writable entry into the old page after the copy was taken, and the store was lost (Nadav Amit\'s race)',
    ),
    wpUnpopulated: flag('UFFD_FEATURE_WP_UNPOPULATED (6.5)'),
    userModeOnly: flag(
      'userfaultfd(UFFD_USER_MODE_ONLY): the context handles only faults from user mode; a fault the kernel takes for the process (GUP: process_vm_writev, /proc/PID/mem, io_uring, O_DIRECT) is not delivered, handle_userfault() returns VM_FAULT_SIGBUS (37cd0575b851, 5.11; before, the flag is refused with EINVAL)',
    ),
    devNode: flag('/dev/userfaultfd and its USERFAULTFD_IOC_NEW ioctl open a userfaultfd without the syscall (2d5de004e009, 6.1)'),
    wpAsync: flag('UFFD_FEATURE_WP_ASYNC (6.7)'),
    mremapClearsWp: flag(
      'mremap() of a uffd-armed VMA whose context lacks UFFD_FEATURE_EVENT_REMAP clears the uffd-wp bits of the entries it moves (and drops uffd-wp markers), as mremap_userfaultfd_prep() drops the new VMA\'s registration ("mm: clear uffd-wp PTE/PMD state on mremap()", 0cef0bb836e3, 6.13 and 6.12.11; CVE-2025-21696). Before, the moved PTEs kept a stale uffd-wp bit',
    ),
    wpPinned: choice(
      'What UFFDIO_WRITEPROTECT does to a writable PTE of a maybe-pinned page.',
      {
        allow: 'write-protect it like any other (every merged kernel)',
        skip: "leave it writable (Linus' rule (c), proposal)",
        ebusy: 'fail with -EBUSY (proposal)',
      },
      ['allow', 'skip', 'ebusy'],
    ),
  })
  .strict();

/** What /proc shows, where a kernel's answer differs. */
const proc = z
  .object({
    pagemapPmdExclusive: choice(
      'What /proc/PID/pagemap reports as PM_MMAP_EXCLUSIVE (bit 56) for the pages of a PMD-mapped THP.',
      {
        head: "the head page's mapcount is 1, for every page (<= 6.9, and again 6.15+ with eb16876971ea: a child's PMD-mapped pages show 1 while the parent still maps them by PTEs)",
        'per-page': "each page's own mapcount is 1 (2c1f057e5be6, 6.10 .. 6.14; versions inferred)",
      },
      ['head', 'per-page'],
    ),
    pagemapPmdFile: flag(
      '/proc/PID/pagemap sets PM_FILE on a huge PMD that maps a non-anon page, such as the huge zero page (3f9f022e975d, 6.10, backported to 6.1.y)',
    ),
    kpageflagsFromFolio: flag(
      "/proc/kpageflags takes a page's flags from its folio, so KPF_MAPPEDTODISK (PG_anon_exclusive) of a tail page shows the head's bit (stable_page_flags() converted to folios; read in 6.12.117 and 7.2.13 fs/proc/page.c, 6.1.176 still reads page->flags)",
    ),
    kpageflagsKsmAnyAnon: flag(
      '/proc/kpageflags sets KPF_KSM for every anon page: stable_page_flags() tested `mapping & PAGE_MAPPING_KSM`, a two-bit mask, after its folio conversion (read in 6.12.117; fixed by 7.2.13)',
    ),
  })
  .strict();

/** Interfaces that exist or not. */
const features = z
  .object({
    ioUring: flag('io_uring exists (2b188cc1bb85, 5.1)'),
    pinUserPages: flag('pin_user_pages() and FOLL_PIN exist (eddb1c228f79, 5.6)'),
    mthp: flag('anonymous large folios smaller than a PMD (mTHP, hugepages-<size>kB/enabled; 19eaf44954df, 6.8)'),
    madvCollapse: choice(
      'MADV_COLLAPSE: collapse a PMD-aligned range into a new THP, whatever the THP modes, if nothing but mappings holds its pages.',
      {
        none: 'no MADV_COLLAPSE: -EINVAL (<= 6.0)',
        writable: 'at least one PTE of each PMD range must be writable, else -EINVAL (SCAN_PAGE_RO) (7d8faaf15545, 6.1 .. 6.17)',
        any: 'read-only PTEs collapse too, so a range shared with a child after fork() can be collapsed (SCAN_PAGE_RO removed, 6.18)',
      },
      ['none', 'writable', 'any'],
    ),
    ptReclaim: flag(
      'CONFIG_PT_RECLAIM: MADV_DONTNEED of a range that covers a whole PTE table frees the emptied table, so the next fault there may map a huge PMD again (Qi Zheng, "mm: pgtable: reclaim empty PTE page in madvise(MADV_DONTNEED)", 6.14 inferred; def_bool y on x86 in 7.2.13 mm/Kconfig, =y on the 6.18 host, absent from 6.12.117)',
    ),
    nestedTlbFlush: flag(
      "tlb_finish_mmu() flushes the whole range it was given when another thread's mmu_gather of the mm is under way (mm_tlb_flush_nested(), tlb_flush_pending counted by every gather): 99baac21e458 \"mm: fix MADV_[FREE|DONTNEED] TLB flush miss problem\" with 56236a59556c (Minchan Kim, 4.13; Mel Gorman's 4647706ebeee of the same release flushed every zapped VMA range instead, reverted in 4.19 as redundant). Before, a MADV_DONTNEED that found the PTEs already cleared by a concurrent one (not flushed yet) had nothing to flush and returned while another CPU still translated the range (Nadav Amit's report)",
    ),
    mprotectUnaccount: flag(
      'mprotect() that takes the write permission away from a private anonymous VMA without an anon_vma (never faulted) also drops its VM_ACCOUNT, so it merges again with unaccounted neighbours; before, a VMA once made writable stayed accounted, and apart from them (Lorenzo Stoakes, "mm/mprotect: allow unfaulted VMAs to be unaccounted on mprotect()", 6.7; read in 6.18 mm/mprotect.c mprotect_fixup)',
    ),
    anonVmaMerge: choice(
      'Which VMA is_mergeable_anon_vma() asks about when an existing VMA whose range an operation changes (mprotect, madvise, userfaultfd registration, an mremap destination) would merge with a neighbour and only one of them has an anon_vma.',
      {
        target:
          'the neighbour, the merge target: its anon_vma_chain must hold exactly one entry, which an unfaulted neighbour\'s empty chain never does, so a faulted VMA never merges into an unfaulted one (965f55dea0e3 "mmap: avoid merging cloned VMAs", 3.0; shown by debian-5.10, debian-6.1 and debian-6.12 (6.12.117) on cowlab diff, and described by the fix below)',
        source:
          'the VMA whose anon_vma the merged one keeps must not hold a parent\'s (vma_had_uncowed_parents()), whichever side it is on (Lorenzo Stoakes, "mm/vma: fix incorrectly disallowed anonymous VMA merges", March 2025, 6.15 inferred; read in its patch; the host and debian-7.x merge)',
      },
      ['target', 'source'],
    ),
    mremapSourceCheck: choice(
      'What mremap(MREMAP_FIXED) checks about its source before it unmaps the destination: a move that fails there with EFAULT leaves the destination mapped, one that fails later has unmapped it (found by fuzz --diff on debian-5.10)',
      {
        'after-unmap':
          'nothing: mremap_to() unmaps the destination, then vma_to_resize() finds the source missing or too short (read in 5.10 mm/mremap.c)',
        'vma-at-addr':
          'the syscall looks up the VMA at the source address first (vma_lookup(), with hugetlb mremap support, 550a7d60bd5e, 5.16): no VMA there is EFAULT with the destination intact, a VMA that does not cover the range still fails after the unmap (read in 6.1 mm/mremap.c)',
        'whole-range':
          'the source is checked before the destination is unmapped, so every EFAULT leaves it alone (with the 6.16/6.17 mremap rework, remap_move(); placed with mremapMultiVma, not read: the host agrees, debian-6.12 (6.12.x) still unmaps first)',
      },
      ['after-unmap', 'vma-at-addr', 'whole-range'],
    ),
    mremapMultiVma: flag(
      'a move-only mremap() (MREMAP_FIXED, same size) of a range that spans several VMAs moves each of them, keeping the gaps, where older kernels fail with EFAULT (Lorenzo Stoakes, "mm/mremap: permit mremap() move of multiple VMAs", 6.17; read in 7.2.13 mm/mremap.c remap_move)',
    ),
  })
  .strict();

/** hugetlb pages (mm/hugetlb.c): what differs from the other anon pages' paths. */
const hugetlb = z
  .object({
    forkCopyPinned: choice(
      'Whether fork() (copy_hugetlb_page_range) gives the child a copy of a hugetlb page that may be pinned; the copy needs a free huge page outside every reservation, and fork() fails with ENOMEM without one.',
      {
        never: 'hugetlb pages are always shared write-protected (<= 5.11; Debian 5.10.223 too)',
        'maybe-pinned':
          'page_needs_cow_for_dma() on any page of a COW mapping, file (memfd) pages included; the parent keeps its entry as it was (4eae4efa2c29 "hugetlb: do early cow when page pinned on src mm", 5.12 .. 5.18)',
        'exclusive-maybe-pinned':
          'hugetlb_try_dup_anon_rmap() refuses an exclusive anon page that may be pinned, which is then copied; file pages are shared (fb3d824d1a46, 5.19+)',
      },
      ['never', 'maybe-pinned', 'exclusive-maybe-pinned'],
    ),
    lazyForkCopy: flag(
      'copy_page_range() skips a hugetlb VMA without an anon_vma (a shared mapping, or a private one of a hugetlbfs file never written), as it skips other such VMAs: the child faults its entries from the page cache instead of getting them at fork (bcd51a3c679d "hugetlb: lazy page table copies in fork()", 6.0 inferred; <= 5.x copies every hugetlb VMA\'s entries)',
    ),
    madvDontneed: choice(
      'MADV_DONTNEED on a hugetlb VMA (madvise_dontneed_free_valid_vma()).',
      {
        einval: 'refused with EINVAL, as for any VM_HUGETLB VMA (can_madv_lru_vma(); <= 5.17)',
        'align-up':
          'allowed when the start is huge-page aligned (else EINVAL); the end is rounded up to a huge page, so a length of one small page zaps the whole huge page (90e7e7f5ef3f "mm: enable MADV_DONTNEED for hugetlb mappings", 5.18)',
        'align-down':
          'as align-up, but the end is rounded down, and a range that rounds to nothing does nothing: no data loss beyond the length asked (8ebe0a5eaaeb "mm,madvise,hugetlb: fix unexpected data loss with MADV_DONTNEED on hugetlbfs", 6.1 and the stable trees of 5.19 and 6.0)',
      },
      ['einval', 'align-up', 'align-down'],
    ),
    doforkRefused: flag(
      "MADV_DOFORK fails with EINVAL on a hugetlb VMA (and a VM_PFNMAP one), as on a VM_IO one before: madvise_vma_behavior() asks vma_can_merge(), false for VM_SPECIAL and hugetlb VMAs (Linus Torvalds' helper from the June 2026 thread on VM_DONTEXPAND; 7.x, read in a 7.x-era mm/madvise.c through the search tool; the 6.18 host and 6.12.117 check VM_IO only; found by fuzz --diff --on debian-7.x --seed 70)",
    ),
    forceWrite: choice(
      'A FOLL_FORCE write (ptrace, /proc/PID/mem) into a private hugetlb mapping without VM_WRITE.',
      {
        'fake-write':
          'allowed, and the write fault (hugetlb_cow) maps the page writable although the VMA is read-only, reused or copied: afterwards the process itself writes to its read-only mapping without a fault (<= 6.1 mainline)',
        refused:
          'check_vma_flags() refuses FOLL_FORCE|FOLL_WRITE on a hugetlb VMA with EFAULT ("hugetlb does not support FOLL_FORCE|FOLL_WRITE", "mm/gup: disallow FOLL_FORCE|FOLL_WRITE on hugetlb mappings", 6.2 and stable 6.1.2)',
        'keep-ro':
          'allowed: hugetlb_wp() makes the entry writable only when the VMA is (set_huge_ptep_maybe_writable(), and a copy is mapped writable only then), and GUP follows the read-only entry of an exclusive anon page with FOLL_FORCE (can_follow_write_pmd/pud) ("mm/hugetlb: support FOLL_FORCE|FOLL_WRITE", Guillaume Morin, 6.14 inferred)',
      },
      ['fake-write', 'refused', 'keep-ro'],
    ),
    gupFaultUncounted: flag(
      "GUP's faults on a hugetlb VMA go from follow_hugetlb_page() to hugetlb_fault() directly, not through handle_mm_fault(), so mm_account_fault() never counts them in the task's fault counters (<= 6.4; from 6.5, Peter Xu's GUP unification removed follow_hugetlb_page() and GUP faults through faultin_page() -> handle_mm_fault(), counted; 6.5 inferred, read: follow_hugetlb_page() in 6.1.176 calls hugetlb_fault())",
    ),
    restoreReserve: flag(
      "__unmap_hugepage_range() of an anon page in the private mapping that owns its reservation (and no surplus pages) gives the reservation back to the mapping's map and marks the folio, so that freeing it restores resv_hugepages; until the folio is freed (a pipe or a GUP still holds it) the pool shows one reservation less, below zero after the mapping's close (df7a6d1f6405 \"mm/hugetlb: restore the reservation if needed\", 6.10 inferred; read: present in 6.12.117 and 7.2.13, absent from 6.1.176; the host shows resv_hugepages 2^64-1 in cow.c's vmsplice cases)",
    ),
    restoreLastUnmap: flag(
      'With restoreReserve: the reservation is restored only by the last unmap of the folio (`!folio_mapped(folio)` after hugetlb_remove_rmap()), "otherwise the owner could empty its resv map while the folio is still mapped by a child": an owner that unmaps (or exits) while a forked child still maps the page keeps the consumed entry, and resv_hugepages stays 0 (read: Debian\'s 7.2.8 mm/hugetlb.c, absent from 7.1.8 and 6.12.107; shown on 6.12.117 and 7.2.13 by cowlab diff of scenarios/hugetlb/hugetlb-resv-below-zero.yaml; the host\'s 6.18.44 restores on the first unmap)',
    ),
  })
  .strict();

/** Kernel samepage merging (mm/ksm.c) and how COW meets a merged page. */
const ksm = z
  .object({
    wpReuse: choice(
      'What a write fault does to a KSM page (do_wp_page).',
      {
        copy: 'always copy (before 5.1, and again from 1a0cf26323c8, 5.9)',
        'reuse-ksm-page':
          'reuse_ksm_page(): a KSM page not in the swap cache whose only reference is this mapping turns back into an ordinary anon page of this VMA and is reused (52d1e606ee73, 5.1 .. 5.8)',
      },
      ['copy', 'reuse-ksm-page'],
    ),
    breakKsm: choice(
      'How MADV_UNMERGEABLE (break_ksm) unshares a merged page.',
      {
        'write-fault':
          'a fake write fault: the copy is mapped writable and dirty; under uffd-wp the fault fails with SIGBUS, which break_ksm ignores, so the page stays merged and madvise returns 0 (<= 6.1)',
        unshare:
          'an unshare fault (FAULT_FLAG_UNSHARE): the copy stays read-only and clean, uffd-wp or not ("mm/ksm: fix KSM COW breaking with userfaultfd-wp via FAULT_FLAG_UNSHARE", 6.2)',
      },
      ['write-fault', 'unshare'],
    ),
    checksumFirst: flag(
      'cmp_and_merge_page() takes a page that is not KSM out of the stable tree and checks its checksum before it searches the stable tree ("mm/ksm: don\'t waste time searching stable tree for fast changing page", 6.11 inferred; read: 6.12.117, 7.2.13; 5.10.223 and 6.1.176 search first). Visible where the page\'s own rmap item was the last on a KSM page that a pipe still holds: searching first finds that node still with one item and merges into it; checksum first leaves it with none, and a node without rmap items takes no sharer',
    ),
    forkResetsCounters: flag(
      "ksm_fork() resets the child's ksm_merging_pages, which dup_mm() copied from the parent, so a child does not start with its parent's count (\"mm/ksm: fix incorrect KSM counter handling in mm_struct during fork\", 6.15 inferred; read: present in 6.12.117 as a stable backport and in 7.2.13, absent from 6.1.176, where a child shows its parent's count plus its own)",
    ),
    scanWalk: flag(
      'scan_get_next_rmap_item() finds the next page with a page-table walk (walk_page_range_vma(), ksm_next_page_pmd_entry()) instead of follow_page(), so it jumps over holes and also takes pages behind PROT_NONE PTEs ("ksm: use range-walk function to jump over holes in scan_get_next_rmap_item", late 2025, Cc stable; in 6.1.y from 6.1.161: read in Debian 6.1.176 mm/ksm.c and its changelog). Observable only where follow_page() refuses PROT_NONE (gup.followPageProtnone): ksmd then scans such a page, but get_mergeable_page() still cannot follow it, so as a node of the unstable tree it ends every search that reaches it (nothing behind it in the tree merges), and it merges only as the page being scanned. Not set on the mainline profiles, where follow_page() and its successors follow PROT_NONE pages from 6.5 and the walk changes nothing the model shows',
    ),
    zeroPages: choice(
      'use_zero_pages=1: what replaces a zero-filled page.',
      {
        plain: 'the shared zero page, mapped like any read fault would: not counted and never unmerged (<= 6.4)',
        marked:
          'the shared zero page with the PTE dirty bit set as a KSM mark: counted in ksm_zero_pages and unshared again by MADV_UNMERGEABLE (e2942062e01d, 6080d19f0704; 6.5 inferred)',
      },
      ['plain', 'marked'],
    ),
  })
  .strict();

/** The kernel's build configuration. */
const config = z
  .object({
    softDirty: flag('CONFIG_MEM_SOFT_DIRTY'),
    procMemForce: choice(
      'FOLL_FORCE for writes through /proc/PID/mem (CONFIG_PROC_MEM_*, proc_mem.force_override, 6.12+).',
      {
        always: 'always (CONFIG_PROC_MEM_ALWAYS_FORCE)',
        'ptrace-only': "only for the target's ptracer, never in cowlab's scenarios (CONFIG_PROC_MEM_FORCE_PTRACE)",
      },
      ['always', 'ptrace-only'],
    ),
  })
  .strict();

/** Every mechanism of a profile, by subsystem. */
export const mechanismsSchema = z
  .object({ cow, fault, fork, gup, swap, lru, wrprotect, uffd, ksm, hugetlb, proc, features, config })
  .strict();

/** The mechanisms a profile combines. */
export type Mechanisms = z.infer<typeof mechanismsSchema>;

/** A group of mechanisms. */
export type MechGroup = keyof Mechanisms;

/** Changes to some mechanisms of some groups. */
export type MechChanges = { [G in MechGroup]?: Partial<Mechanisms[G]> };

/** One mechanism as documentation: its path, description and, for a choice, its values. */
export interface MechDoc {
  group: MechGroup;
  name: string;
  description: string;
  /** the values a choice takes, with what each means; null for a flag or a number */
  values: Record<string, string> | null;
  kind: 'choice' | 'flag' | 'count';
}

/** Every mechanism, in schema order, with its documentation. */
export function mechanismDocs(): MechDoc[] {
  const out: MechDoc[] = [];
  for (const [group, gs] of Object.entries(mechanismsSchema.shape)) {
    for (const [name, f] of Object.entries(gs.shape)) {
      const meta = (f as z.ZodType).meta() as MechMeta | undefined;
      if (!meta) throw new Error(`mechanism ${group}.${name} has no documentation`);
      const kind = f instanceof z.ZodEnum ? 'choice' : f instanceof z.ZodBoolean ? 'flag' : 'count';
      out.push({ group: group as MechGroup, name, description: meta.description, values: meta.values ?? null, kind });
    }
  }
  return out;
}

/** The values a mechanism can take (a flag: false, true; a count: null). */
export function mechanismValues(d: MechDoc): (string | boolean)[] | null {
  if (d.kind === 'choice') return Object.keys(d.values ?? {});
  if (d.kind === 'flag') return [false, true];
  return null;
}

/** `base` with `changes` applied, group by group. */
export function applyChanges(base: Mechanisms, changes: MechChanges): Mechanisms {
  const out = { ...base } as Record<string, unknown>;
  for (const [g, c] of Object.entries(changes)) {
    out[g] = { ...(base[g as MechGroup] as object), ...c };
  }
  return out as Mechanisms;
}

/** The mechanisms of `b` that differ from `a`, as changes. */
export function mechanismChanges(a: Mechanisms, b: Mechanisms): MechChanges {
  const out: Record<string, Record<string, unknown>> = {};
  for (const g of Object.keys(b) as MechGroup[]) {
    const x = a[g] as Record<string, unknown>;
    const y = b[g] as Record<string, unknown>;
    for (const k of Object.keys(y)) if (x[k] !== y[k]) (out[g] ??= {})[k] = y[k];
  }
  return out;
}
