/** linux-5.9: the page_count rule; pinned pages copied at fork. */
import { derive } from '../derive.js';
import { linux_5_8 } from './linux-5.8.js';

export const linux_5_9 = derive(linux_5_8, {
  id: 'linux-5.9',
  title: 'Linux 5.9 (page_count reuse, fork copies maybe-pinned pages)',
  commits: [
    '1a0cf26323c8 mm/ksm: Remove reuse_ksm_page() (5.9: a KSM page is always copied)',
    '09854ba94c6a mm: do_wp_page() simplification',
    '1a0cf26323c8 mm/ksm: Remove reuse_ksm_page()',
    'a308c71bf1e6 mm/gup: Remove enfornced COW mechanism (also restores FOLL_FORCE in can_follow_write_pte: read in 5.10.223 mm/gup.c:388)',
    '008cfe4418b3 mm: Introduce mm_struct.has_pinned',
    '70e806e4e645 mm: Do early cow for pinned pages during fork() for ptes',
  ],
  summary:
    'do_wp_page reuses only a page whose page_count is 1 (any other reference forces a copy); THP and swap-in keep reuse_swap_page; ' +
    'the forced COW break on read GUP is gone (a FOLL_COW write again needs FOLL_FORCE); fork gives the child a copy of a page that may be pinned by an mm that pinned.',
  mech: {
    ksm: { wpReuse: 'copy' },
    cow: { reuse: 'page-count' },
    gup: { readBreaksCow: false, forceWrite: 'foll-cow' },
    fork: { copyPinned: 'maybe-pinned' },
  },
});
