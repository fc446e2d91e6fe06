/** linux-6.12: splitting a large anon folio maps its zero-filled pages to the shared zero page. */
import { derive } from '../derive.js';
import { linux_6_9 } from './linux-6.9.js';

export const linux_6_12 = derive(linux_6_9, {
  id: 'linux-6.12',
  title: 'Linux 6.12 (a split large folio gives its zero-filled pages back: they map the shared zero page)',
  commits: [
    'Ryan Roberts, mm: swap: allow storage of all mTHP orders / mm: vmscan: avoid split during shrink_folio_list() (6.10: any large folio goes to a swap block device whole)',
    'Barry Song, mm: swap: entirely map large folios found in swapcache (6.11)',
    'Chuanhua Han, Barry Song, mm: support large folios swap-in for sync io devices (6.12, alloc_swap_folio, read in 6.12.117 mm/memory.c)',
    'df7a6d1f6405 mm/hugetlb: restore the reservation if needed (Breno Leitao; 6.10 inferred, read in 6.12.117 mm/hugetlb.c __unmap_hugepage_range)',
    "mm/ksm: don't waste time searching stable tree for fast changing page (Chengming Zhou; 6.11 inferred, read in 6.12.117 mm/ksm.c cmp_and_merge_page)",
    'b1f202060afe mm: remap unused subpages to shared zeropage when splitting isolated thp (Yu Zhao, Usama Arif; 6.12, read in 6.12.117 mm/huge_memory.c remap_page(RMP_USE_SHARED_ZEROPAGE) and mm/migrate.c try_to_map_unused_to_zeropage)',
  ],
  summary:
    'When a large anonymous folio is split (swap-out to a device without large swap entries, partial MADV_PAGEOUT, the deferred split shrinker), every page that is still all zeroes is unmapped and its PTE points to the shared zero page, unless the mm forbids the zero page.',
  mech: {
    fault: { splitZeroPages: true },
    hugetlb: { restoreReserve: true },
    ksm: { checksumFirst: true },
    lru: { pageoutLarge: 'whole-exclusive' },
    swap: { largeSwapout: 'whole', largeSwapin: 'sync-io-alloc' },
    proc: { pagemapPmdExclusive: 'per-page', pagemapPmdFile: true, kpageflagsFromFolio: true },
  },
});
