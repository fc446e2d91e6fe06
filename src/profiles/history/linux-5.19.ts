/** linux-5.19: PG_anon_exclusive and reliable GUP pins of anonymous pages. */
import { derive } from '../derive.js';
import { linux_5_18 } from './linux-5.18.js';

export const linux_5_19 = derive(linux_5_18, {
  id: 'linux-5.19',
  title: 'Linux 5.19 (PG_anon_exclusive, R/O pins unshare, exclusive bit in swap entries)',
  commits: [
    '6c287605fd56 mm: remember exclusively mapped anonymous pages with PG_anon_exclusive',
    'fb3d824d1a46 mm/rmap: split page_dup_rmap() into page_dup_file_rmap() and page_try_dup_anon_rmap()',
    'c89357e27f20 mm: support GUP-triggered unsharing of anonymous pages',
    'a7f226604170 mm/gup: trigger FAULT_FLAG_UNSHARE when R/O-pinning a possibly shared anonymous page',
    '1493a1913e34 mm/swap: remember PG_anon_exclusive via a swp pte bit',
    'b1f9e876862d mm/uffd: enable write protection for shmem & hugetlbfs',
    '36090def7bad mm: teach core mm about VM_FAULT_COMPLETED (a shared write fault that drops mmap_lock completes)',
  ],
  summary:
    'A write fault reuses a PG_anon_exclusive page at once, else uses the 5.18 refcount rule and marks it exclusive; ' +
    'fork clears the bit or copies a maybe-pinned page; a R/O pin of a non-exclusive anon page unshares it first; ' +
    'swap-out refuses maybe-pinned exclusive pages and records exclusivity in the swap PTE; uffd-wp works on shmem too.',
  mech: {
    cow: { exclusive: 'anon-exclusive' },
    fork: { copyPinned: 'exclusive-maybe-pinned' },
    hugetlb: { forkCopyPinned: 'exclusive-maybe-pinned' },
    swap: { swapinReuse: 'exclusive-bit', swapoutPinned: 'try-share' },
    gup: { unshare: 'anon' },
    uffd: { wpShmem: true },
    fault: { sharedRetry: false },
  },
});
