/**
 * linux-6.18: the kernel on cowlab's machines, and the oracle `cowlab diff`
 * checks the model against.
 */
import type { Profile } from './types.js';

export const linux_6_18: Profile = {
  id: 'linux-6.18',
  title: 'Linux 6.18 (PG_anon_exclusive, reliable R/O pins, FOLL_PIN O_DIRECT)',
  basedOn: null,
  commits: [
    '6c287605fd56 mm: remember exclusively mapped anonymous pages with PG_anon_exclusive',
    'a7f226604170 mm/gup: trigger FAULT_FLAG_UNSHARE when R/O-pinning a possibly shared anonymous page',
    '1493a1913e34 mm/swap: remember PG_anon_exclusive via a swp pte bit',
    '5535be309971 mm/gup: fix FOLL_FORCE COW security issue and remove FOLL_COW',
    '64fe24a3e05e mm/mprotect: allow clean exclusive anon pages to be writable',
    '8d6a0ac09a16 mm: extend FAULT_FLAG_UNSHARE support to anything in a COW mapping',
    '920756a3306a block: Convert bio_iov_iter_get_pages to use iov_iter_extract_pages',
  ],
  summary: 'Reuse when PG_anon_exclusive is set, else the refcount rule; R/O pins unshare; fork copies maybe-pinned pages; O_DIRECT pins.',
  mech: {
    wpReuse: 'anon-exclusive',
    swapinReuse: 'exclusive-bit',
    forceWrite: 'anon-exclusive',
    gupUnshare: 'anon-and-cow-longterm',
    swapoutPinned: 'try-share',
    gupReadBreaksCow: false,
    pinBias: true,
    forkCopyPinned: true,
    swapExclusiveBit: true,
    mprotectMapsExclusiveWritable: true,
    clearRefsSkipsPinned: false,
    softDirty: false,
    odirectPins: true,
    swapSynchronousIo: false,
    lruBatchSize: 31,
    faultAroundPages: 16,
  },
};
