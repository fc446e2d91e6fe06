/**
 * debian-5.10: Debian bullseye's 5.10.223 (upstream 5.10 plus stable
 * backports), read in its source: docs/kernel/debian-kernels.md.
 */
import { derive } from '../derive.js';
import { linux_5_11 } from '../history/linux-5.11.js';

export const debian_5_10 = derive(linux_5_11, {
  id: 'debian-5.10',
  title: 'Debian 5.10.223 (bullseye; the 5.11 fixes backported)',
  commits: [
    "io_uring as 5.15's (5.10-stable imported the 5.15-stable io_uring): the ring is not charged to an unprivileged creator's RLIMIT_MEMLOCK (cowlab diff scenarios/privilege/unprivileged-iouring-memlock.yaml)",
    '57efa1fe5957, 9348b73c2e1b, feb889fb40fa backported into 5.10.y: read (mm/gup.c write_protect_seq, fs/proc/task_mmu.c pte_is_pinned, mm/vmscan.c maybe-pinned skip); 29a951dfb3c3 (clear_refs under mmap_write_lock until after flush_tlb_mm()) in 5.10.y (read: 5.10.223 fs/proc/task_mmu.c clear_refs_write())',
    "70cbc3cc78a9 (GUP-fast's PMD recheck) backported in 5.10.148: read (5.10.223 mm/gup.c gup_pte_range()); 2ba99c5e0881 in 5.10.159 (not modelled: it protects page-table memory)",
    'no MADV_POPULATE_* (5.14), no pagemap uffd-wp bit (5.13): executor and comparison adapt',
    'FOLL_FORCE writes into read-only hugetlb VMAs still allowed and mapped writable (no backport of the 6.2 refusal; checked by cowlab diff)',
    '6ce64428d621 (do_wp_page() flushes before copying while a uffd-wp flush is pending) in 5.10.y (read: 5.10.223 mm/memory.c do_wp_page())',
    'no 13ddaf26be32: two threads may swap in the same SWP_SYNCHRONOUS_IO entry past the swap cache at once (read: 5.10.223 mm/memory.c do_swap_page() has no swapcache_prepare())',
    'Debian config: CONFIG_MEM_SOFT_DIRTY=y; the guest swaps to brd, a SWP_SYNCHRONOUS_IO device',
  ],
  summary:
    'As linux-5.11, with soft-dirty, and swap-in from a synchronous device (brd) skipping the swap cache when the entry is not shared.',
  // UFFD_USER_MODE_ONLY came in 5.11, after the base this profile derives from
  mech: {
    config: { softDirty: true },
    uffd: { userModeOnly: false, wpFlushBeforeCopy: true },
    gup: { iouringAcctRing: false, fastRecheckPmd: true },
  },
  env: { swap: 'sync-io' },
});
