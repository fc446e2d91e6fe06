/**
 * Kernel profiles: a kernel (or a proposed design) as a set of named
 * mechanisms. Kernel paths ask the profile which mechanism applies; they
 * never test a version number.
 */

/** How do_wp_page() decides that an anonymous page may be reused. */
export type WpReuse =
  /** reuse_swap_page(): mapcount + swapcount == 1, extra references ignored (<= 5.8) */
  | 'mapcount'
  /** page_count() == 1 after a trylock (09854ba94c6a, 5.9 .. 5.17) */
  | 'page-count'
  /** page_count rule that drains the LRU batch and tolerates the swap cache (d4c470970d45, 53a05ad9f21d, 5.18) */
  | 'page-count-v2'
  /** PG_anon_exclusive first, the 5.18 refcount rule otherwise (6c287605fd56, 5.19+) */
  | 'anon-exclusive'
  /**
   * proposal (Linus Torvalds, 10 Jan 2021): a page bit "I already made this
   * exclusive, and fork() will keep it so", set by GUP that writes or pins an
   * exclusive page; the bit means reuse, else the 5.9 page_count rule
   */
  | 'gup-exclusive-bit'
  /**
   * proposal (Andy Lutomirski, 12 Jan 2021): a "private to this mm" bit kept
   * on every exclusive page (as PG_anon_exclusive is), meaning reuse; else
   * the 5.9 page_count rule
   */
  | 'private-bit';

/** What do_swap_page() does to decide whether a swapped-in page is exclusive. */
export type SwapinReuse =
  /** reuse_swap_page() on a write fault (<= 5.17) */
  | 'mapcount'
  /** refcount after freeing the swap cache (c145e0b47c77, 5.18) */
  | 'refcount'
  /** the swap PTE's exclusive bit, else the refcount (1493a1913e34, 5.19+) */
  | 'exclusive-bit';

/** How a FOLL_FORCE write may go through a read-only PTE. */
export type ForceWrite =
  /** after a COW fault GUP dropped FOLL_WRITE and took whatever was mapped (before 19be0eaffa3a: Dirty COW) */
  | 'foll-write-games'
  /** FOLL_FORCE and FOLL_COW and a dirty PTE (19be0eaffa3a, 4.9 .. 5.7) */
  | 'foll-cow'
  /** FOLL_COW and a dirty PTE, FOLL_FORCE no longer required (17839856fd58, 5.8 .. 5.19) */
  | 'foll-cow-dirty'
  /** only an exclusive anon page in a private !VM_WRITE mapping (5535be309971, 6.0+) */
  | 'anon-exclusive';

/** Which read-only GUP pins unshare a possibly shared page first (gup_must_unshare). */
export type GupUnshare =
  | 'none'
  /** R/O FOLL_PIN of a non-exclusive anon page (a7f226604170, 5.19) */
  | 'anon'
  /** plus R/O FOLL_LONGTERM pins of non-anon pages in COW mappings (8d6a0ac09a16, 6.2) */
  | 'anon-and-cow-longterm';

/** How reclaim (MADV_PAGEOUT) treats a page that may be pinned. */
export type SwapoutPinned =
  /** swapped out like any page (<= 5.10) */
  | 'allow'
  /** shrink_page_list does not add maybe-pinned pages to the swap cache (feb889fb40fa, 5.11) */
  | 'skip-maybe-pinned'
  /** try_to_unmap restores the PTE when page_try_share_anon_rmap fails (5.19+) */
  | 'try-share';

/** What write-protecting a writable PTE of a maybe-pinned page in a COW mapping does. */
export type PinnedWriteProtect =
  /** write-protect it like any other (every merged kernel) */
  | 'allow'
  /** leave the PTE writable, as 9348b73c2e1b does for clear_refs (proposal) */
  | 'skip'
  /** fail the whole call with -EBUSY before changing anything (proposal) */
  | 'ebusy';

/** Whether the profile keeps PG_anon_exclusive (or a proposal's equivalent) on every exclusive anon page. */
export function keepsAnonExclusive(m: { wpReuse: WpReuse }): boolean {
  return m.wpReuse === 'anon-exclusive' || m.wpReuse === 'private-bit';
}

/** The mechanisms a profile combines. Each is documented where it is decided. */
export interface Mechanisms {
  wpReuse: WpReuse;
  swapinReuse: SwapinReuse;
  forceWrite: ForceWrite;
  gupUnshare: GupUnshare;
  swapoutPinned: SwapoutPinned;
  /** read GUP on a COW mapping is turned into a write GUP, breaking COW (17839856fd58, 5.8 only) */
  gupReadBreaksCow: boolean;
  /** FOLL_PIN adds GUP_PIN_COUNTING_BIAS to the refcount (3faa52c03f44, 5.7+); else it counts like FOLL_GET */
  pinBias: boolean;
  /** fork copies pages that may be DMA pinned for the child (70e806e4e645, 5.9+) */
  forkCopyPinned: boolean;
  /**
   * fork also copies a page that holds references beyond its mappings and
   * the swap cache (any GUP reference, pipe buffers, transient ones): never
   * (merged kernels), on a writable PTE (Linus' rule (c)), or on any PTE
   * (Andrea's "extend the copy in fork to all GUP pins") (proposals)
   */
  forkCopyReferenced: 'none' | 'writable' | 'any';
  /** mprotect() removing write access from a maybe-pinned page (Linus, 9 Jan 2021: skip or -EBUSY?; John Hubbard: fail) */
  mprotectPinned: PinnedWriteProtect;
  /** UFFDIO_WRITEPROTECT of a maybe-pinned page (Linus' rule (c)) */
  uffdWpPinned: PinnedWriteProtect;
  /**
   * How GUP references are counted on a small page: the refcount with
   * GUP_PIN_COUNTING_BIAS (merged), or John Hubbard's split (11 Jan 2021):
   * separate FOLL_PIN and FOLL_GET fields of 4 bits, so pin detection is exact
   * and a 16th pin or get of one page fails (-EAGAIN, David Hildenbrand)
   */
  gupCounting: 'bias' | 'split';
  /** swap PTEs remember PG_anon_exclusive (1493a1913e34, 5.19+ on x86) */
  swapExclusiveBit: boolean;
  /**
   * mprotect()/uffd unprotect may map an exclusive anon PTE writable without a
   * fault: never, only a dirty PTE (64fe24a3e05e, 6.0), or a clean one too (later 6.x)
   */
  mprotectMapsExclusiveWritable: 'none' | 'dirty' | 'clean';
  /** swap-in maps an exclusive page writable even on a read fault (between 6.1 and 6.12) */
  swapinWritableOnRead: boolean;
  /**
   * the 7.x swap-table rework (read in 7.2.13 do_swap_page): every swap-in,
   * SWP_SYNCHRONOUS_IO included, goes through the swap cache; the entry and the
   * swap cache are released only after the PTE is set (always tried for a
   * synchronous device), so a non-exclusive entry is mapped read-only
   */
  swapinSwapTable: boolean;
  /**
   * a write fault that dirties a shared file page drops mmap_lock for
   * balance_dirty_pages() and returns VM_FAULT_RETRY when the fault may
   * (89b15332af7c, 5.7 .. 5.18, release unverified; 5.19 returns
   * VM_FAULT_COMPLETED): a GUP that retries finds the PTE and the fault is
   * not accounted (read: 5.10.223 mm/memory.c:2804-2811, 6.1.176:3063-3070)
   */
  sharedFaultRetry: boolean;
  /** fork holds mm->write_protect_seq so GUP-fast FOLL_PIN backs off (57efa1fe5957, 5.11) */
  forkWriteProtectSeq: boolean;
  /** io_uring exists (5.1) */
  ioUring: boolean;
  /** userfaultfd write-protect of anonymous memory exists (5.7) */
  uffdWp: boolean;
  /** UFFDIO_REGISTER_MODE_WP on shmem (memfd) VMAs (b1f9e876862d, 5.19) */
  uffdWpShmem: boolean;
  /** UFFDIO_WRITEPROTECT may span several VMAs (read: 6.1 find_dst_vma() wants one VMA, -ENOENT; 6.12 walks them) */
  uffdWpMultiVma: boolean;
  /** UFFDIO_WRITEPROTECT un-protect may map exclusive anon PTEs writable at once (read: not in 6.1, in 6.12) */
  uffdUnprotectWritable: boolean;
  /** UFFD_FEATURE_WP_UNPOPULATED (6.5) and UFFD_FEATURE_WP_ASYNC (6.7) exist */
  uffdWpUnpopulated: boolean;
  uffdWpAsync: boolean;
  /** pin_user_pages() and FOLL_PIN exist (eddb1c228f79, 5.6) */
  pinUserPages: boolean;
  /** clear_refs soft-dirty skips pinned pages (9348b73c2e1b, 5.11+) */
  clearRefsSkipsPinned: boolean;
  /** kernel built with CONFIG_MEM_SOFT_DIRTY */
  softDirty: boolean;
  /** O_DIRECT takes FOLL_PIN (920756a3306a) rather than FOLL_GET */
  odirectPins: boolean;
  /** the swap device completes I/O synchronously (SWP_SYNCHRONOUS_IO: brd, zram) rather than a swapfile on ext4 */
  swapSynchronousIo: boolean;
  /**
   * /proc/kpageflags sets KPF_KSM for every anon page: stable_page_flags()
   * tested `mapping & PAGE_MAPPING_KSM` (a two-bit mask) after its folio
   * conversion; read in 6.12.117, fixed (== FOLIO_MAPPING_KSM) by 7.2.13
   */
  kpageflagsKsmAnyAnon: boolean;
  /**
   * FOLL_FORCE for /proc/PID/mem (CONFIG_PROC_MEM_*, 6.12+ proc_mem.force_override):
   * always, or only for the target's ptracer (never, in cowlab's scenarios)
   */
  procMemForce: 'always' | 'ptrace-only';
  /** capacity of the per-CPU LRU add batch (PAGEVEC_SIZE / folio_batch) */
  lruBatchSize: number;
  /** read-fault-around on file mappings, in pages (fault_around_bytes / PAGE_SIZE) */
  faultAroundPages: number;
}

/** A kernel profile: an id, its predecessor, the mechanisms and where they come from. */
export interface Profile {
  readonly id: string;
  readonly title: string;
  /** profile this one starts from, or null */
  readonly basedOn: string | null;
  /** commits (12-hex ids and titles) that make the difference to basedOn */
  readonly commits: readonly string[];
  /** the difference to basedOn, in words */
  readonly summary: string;
  readonly mech: Readonly<Mechanisms>;
}
