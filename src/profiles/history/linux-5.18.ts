/** linux-5.18: COW fixes part 1, refcount-based everywhere. */
import { derive } from '../derive.js';
import { linux_5_11 } from './linux-5.11.js';

export const linux_5_18 = derive(linux_5_11, {
  id: 'linux-5.18',
  title: 'Linux 5.18 (refcount rule for swap-in too, LRU drain, swap cache tolerated)',
  commits: [
    'c145e0b47c77 mm: streamline COW logic in do_swap_page()',
    '3bff7e3f1f16 mm/huge_memory: streamline COW logic in do_huge_pmd_wp_page() (the PMD is reused by refcount)',
    '03104c2c5db8 mm/swapfile: remove stale reuse_swap_page()',
    'd4c470970d45 mm: optimize do_wp_page() for fresh pages in local LRU pagevecs',
    '53a05ad9f21d mm: optimize do_wp_page() for exclusive pages in the swapcache',
    '4eae4efa2c29 hugetlb: do early cow when page pinned on src mm (5.12: fork copies a maybe-pinned hugetlb page; this profile stands for 5.12 .. 5.18)',
    '550a7d60bd5e mm, hugepages: add mremap() support for hugepage backed vma (5.16: the syscall looks up the source VMA before mremap_to() unmaps the destination)',
    '26bfa89e25f4 io_uring: place ring SQ/CQ arrays under memcg memory limits (5.12): the ring is no longer charged to RLIMIT_MEMLOCK',
    '90e7e7f5ef3f mm: enable MADV_DONTNEED for hugetlb mappings (5.18; the end rounded up to a huge page)',
    '6ce64428d621 mm/userfaultfd: fix memory corruption due to writeprotect (5.12-rc3): do_wp_page() flushes a stale TLB entry before copying when a uffd-wp flush is pending',
  ],
  summary:
    'do_wp_page drains the local LRU batch and tolerates (then frees) the swap cache reference; swap-in maps writable on a write fault only when the refcount shows exclusivity.',
  mech: {
    hugetlb: { forkCopyPinned: 'maybe-pinned', madvDontneed: 'align-up' },
    cow: { reuse: 'refcount', pmdReuse: 'refcount' },
    swap: { swapinReuse: 'refcount', swapinDrain: true },
    features: { mremapSourceCheck: 'vma-at-addr' },
    gup: { iouringAcctRing: false },
    uffd: { wpFlushBeforeCopy: true },
  },
});
