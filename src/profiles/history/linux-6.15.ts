/** linux-6.15: PTE-mapped large folios reused by MM-ID tracking. */
import { derive } from '../derive.js';
import { linux_6_13 } from './linux-6.13.js';

export const linux_6_15 = derive(linux_6_13, {
  id: 'linux-6.15',
  title: 'Linux 6.15 (COW reuse of PTE-mapped large folios that only this mm maps)',
  commits: [
    'mm/hugetlb: support FOLL_FORCE|FOLL_WRITE (Guillaume Morin, Dec 2024; 6.14 inferred): set_huge_ptep_maybe_writable(), can_follow_write_common()',
    'mm/ksm: fix incorrect KSM counter handling in mm_struct during fork (Donet Tom, 2025; 6.15 inferred: ksm_fork() resets ksm_merging_pages)',
    '6af8cb80d3a9 mm/rmap: basic MM owner tracking for large folios (!hugetlb) (the MM-ID slots and MM_IDS_SHARED); folio_likely_mapped_shared() becomes folio_maybe_mapped_shared(), which reads them',
    '1da190f4d0a6 mm: Copy-on-Write (COW) reuse support for PTE-mapped THP',
    'Qi Zheng, mm: pgtable: reclaim empty PTE page in madvise(MADV_DONTNEED) (CONFIG_PT_RECLAIM, 6.14 inferred: MADV_DONTNEED of a whole PTE table frees it)',
    "mm/vma: fix incorrectly disallowed anonymous VMA merges (Lorenzo Stoakes, March 2025; 6.15 inferred): a faulted VMA merges into an unfaulted neighbour unless it holds a parent's anon_vma",
    'eb16876971ea fs/proc/task_mmu: remove per-page mapcount dependency for PM_MMAP_EXCLUSIVE (CONFIG_NO_PAGE_MAPCOUNT); PMD pages report the head page again',
  ],
  summary:
    'A write fault on a page of a large folio reuses it when the folio is mapped only by this mm and nothing else holds it (large mapcount == refcount): the "511 false COWs" of the January 2021 thread are gone.',
  mech: {
    ksm: { forkResetsCounters: true },
    cow: { largeReuse: 'mm-id' },
    lru: { sharedEstimate: 'mm-id' },
    proc: { pagemapPmdExclusive: 'head' },
    features: { ptReclaim: true, anonVmaMerge: 'source' },
    hugetlb: { forceWrite: 'keep-ro' },
    gup: { iouringAcctRing: true },
  },
});
