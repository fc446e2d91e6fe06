/** linux-5.7: FOLL_COW (Dirty COW fix), io_uring, FOLL_PIN counted with a bias, uffd-wp. */
import { derive } from '../derive.js';
import { linux_4_14 } from './linux-4.14.js';

export const linux_5_7 = derive(linux_4_14, {
  id: 'linux-5.7',
  title: 'Linux 5.7 (mapcount reuse, FOLL_COW, FOLL_PIN with GUP_PIN_COUNTING_BIAS)',
  commits: [
    '52d1e606ee73 mm: reuse only-pte-mapped KSM page in do_wp_page() (5.1; the reuse_ksm_page of 5.1 .. 5.8)',
    '89b15332af7c mm: drop mmap_sem before calling balance_dirty_pages() in write fault (release unverified: 5.7 or 5.8)',
    '2b188cc1bb85 Add io_uring IO interface (5.1)',
    'eddb1c228f79 mm/gup: introduce pin_user_pages*() and FOLL_PIN (5.6)',
    '3faa52c03f44 mm/gup: track FOLL_PIN pages (5.7)',
    '292924b26024 userfaultfd: wp: apply _PAGE_UFFD_WP bit (5.7, with the uffd-wp series)',
    'a8f97366452e mm, thp: Do not make page table dirty unconditionally in touch_p[mu]d() (4.15, CVE-2017-1000405 Huge Dirty COW)',
    '0bcac06f27d7 mm, swap: skip swapcache for swapin of synchronous device (4.15)',
  ],
  summary:
    'A read GUP no longer dirties a huge PMD; a pin adds 1024 to the refcount; ' +
    'io_uring fixed buffers and uffd-wp exist. Reuse is still by mapcount, so CVE-2020-29374 leaks.',
  mech: {
    ksm: { wpReuse: 'reuse-ksm-page' },
    gup: { pinCounting: 'bias', touchPmdDirty: false },
    features: { ioUring: true, pinUserPages: true },
    uffd: { wp: true },
    fault: { sharedRetry: true },
    swap: { syncSkipSwapcache: true },
  },
});
