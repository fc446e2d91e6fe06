/** linux-6.1: MADV_COLLAPSE. */
import { derive } from '../derive.js';
import { linux_6_0 } from './linux-6.0.js';

export const linux_6_1 = derive(linux_6_0, {
  id: 'linux-6.1',
  title: 'Linux 6.1 (MADV_COLLAPSE)',
  commits: [
    '7d8faaf15545 mm/madvise: introduce MADV_COLLAPSE sync hugepage collapse',
    '2d5de004e009 userfaultfd: add /dev/userfaultfd for fine grained access control',
    '474098edac26 mm/gup: replace FOLL_NUMA by gup_can_follow_protnone() (6.1 inferred): follow_page() without FOLL_FORCE no longer returns a PROT_NONE-mapped page, so KSM skips inaccessible VMAs',
    '8ebe0a5eaaeb mm,madvise,hugetlb: fix unexpected data loss with MADV_DONTNEED on hugetlbfs (the end of a hugetlb range is rounded down)',
    '2ba99c5e0881 mm/khugepaged: fix GUP-fast interaction by sending IPI (not modelled: it keeps a page table GUP-fast walks from being freed under it, and the model has no page-table memory; with 70cbc3cc78a9 nothing a scenario observes changes)',
  ],
  summary:
    'MADV_COLLAPSE collapses a PMD range into a new PMD-mapped THP on request, ignoring the sysfs modes; it fails with EAGAIN while extra references hold a page.',
  mech: {
    features: { madvCollapse: 'writable' },
    gup: { followPageProtnone: true },
    hugetlb: { madvDontneed: 'align-down' },
    uffd: { devNode: true },
  },
});
