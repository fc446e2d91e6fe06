/** linux-6.8: anonymous multi-size THP (mTHP). */
import { derive } from '../derive.js';
import { linux_6_3 } from './linux-6.3.js';

export const linux_6_8 = derive(linux_6_3, {
  id: 'linux-6.8',
  title: 'Linux 6.8 (mTHP: anonymous large folios of 16 KiB .. 1 MiB)',
  commits: [
    'e2942062e01d ksm: count all zero pages placed by KSM, 6080d19f0704 ksm: add ksm zero pages for each process (6.5 inferred: KSM-placed zero pages are marked dirty, counted and unmerged)',
    '19eaf44954df mm: thp: support allocation of anonymous multi-size THP',
    'io_uring: rsrc: avoid use of vmas parameter in pin_user_pages() (6.5 inferred): buffers are pinned with pin_user_pages_fast(), whose slow path may retry a fault',
    "mm/gup: the follow_hugetlb_page() removal (Peter Xu, 6.5 inferred): GUP faults on hugetlb VMAs through handle_mm_fault(), counted as the task's faults",
    'd74943a2f3cd mm/gup: reintroduce FOLL_NUMA as FOLL_HONOR_NUMA_FAULT (6.5 inferred): follow_page() returns PROT_NONE-mapped pages again, and KSM merges and unmerges them',
    'fa62b9d04348 mm/mprotect: allow unfaulted VMAs to be unaccounted on mprotect() (6.7): an mprotect() that drops write from a never-faulted private anon VMA drops VM_ACCOUNT too',
    '13ddaf26be32 mm/swap: fix race when skipping swapcache (6.8): swapcache_prepare() before a swap-in past the swap cache',
    'the base-page changes linux-6.18 lists as "after 6.1, in 6.12" are not placed here: their releases are unverified',
  ],
  summary:
    'A write fault in a THP-eligible VMA allocates the largest enabled mTHP order whose aligned range is empty and inside the VMA, mapped by PTEs; its pages are reused only by the refcount rule (a single mapped page), so after fork every write copies.',
  mech: {
    features: { mthp: true, mprotectUnaccount: true },
    ksm: { zeroPages: 'marked' },
    gup: { iouringUnlockable: true, followPageProtnone: false },
    hugetlb: { gupFaultUncounted: false },
    swap: { syncSwapinPrepare: true },
  },
});
