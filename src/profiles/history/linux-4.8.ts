/**
 * linux-4.8: before the Dirty COW fix (up to 4.8.2). The starting point of
 * cowlab's history: every mechanism is spelled out here, later profiles only
 * change some.
 */
import type { Profile } from '../types.js';

export const linux_4_8: Profile = {
  id: 'linux-4.8',
  title: 'Linux 4.8 (mapcount reuse; GUP drops FOLL_WRITE after a COW fault: Dirty COW)',
  basedOn: null,
  commits: ['f33ea7f404e5 fix get_user_pages bug (2005): after a COW fault GUP retries without FOLL_WRITE'],
  summary:
    'Write faults reuse an anon page when mapcount + swapcount is 1 (reuse_swap_page), ignoring GUP references; ' +
    'GUP retries a FOLL_FORCE write without FOLL_WRITE after breaking COW, so a racing MADV_DONTNEED lets it write the page cache (CVE-2016-5195).',
  mech: {
    cow: { reuse: 'mapcount', exclusive: 'none', largeReuse: 'as-small', pmdReuse: 'mapcount', pmdCopy: 'thp', hugeZeroWp: 'alloc-thp' },
    fault: { sharedRetry: false, aroundPages: 16, splitZeroPages: false },
    fork: { copyPinned: 'never', copyMarked: false, copyReferenced: 'none', writeProtectSeq: false },
    gup: {
      pinCounting: 'get',
      forceWrite: 'foll-write-games',
      unshare: 'none',
      readBreaksCow: false,
      odirectPins: false,
      iouringUnlockable: false,
      touchPmdDirty: true,
      vmspliceIter: false,
      followPageProtnone: false,
      iouringAcctFolios: false,
      iouringAcctRing: true,
      fastRecheckPmd: false,
    },
    swap: {
      swapinReuse: 'mapcount',
      swapinDrain: false,
      syncSwapinPrepare: false,
      syncSkipSwapcache: false,
      unuseKeepsBits: false,
      swapinWritableOnRead: false,
      swapTable: false,
      largeSwapout: 'split',
      largeSwapin: 'none',
      swapoutPinned: 'allow',
    },
    lru: { batchSize: 15, pageoutLarge: 'split-mapped-once', sharedEstimate: 'first-page' },
    wrprotect: {
      mprotectWritable: 'none',
      mprotectPinned: 'allow',
      clearRefsSkipsPinned: false,
      clearRefsWriteLock: false,
      pmdWritable: false,
      splitPtesDirty: false,
      mprotectBatch: false,
    },
    uffd: {
      wp: false,
      wpShmem: false,
      wpMultiVma: false,
      unprotectWritable: false,
      wpFlushBeforeCopy: false,
      wpUnpopulated: false,
      wpAsync: false,
      userModeOnly: false,
      devNode: false,
      mremapClearsWp: false,
      wpPinned: 'allow',
    },
    hugetlb: {
      forkCopyPinned: 'never',
      lazyForkCopy: false,
      madvDontneed: 'einval',
      restoreReserve: false,
      restoreLastUnmap: false,
      gupFaultUncounted: true,
      forceWrite: 'fake-write',
      doforkRefused: false,
    },
    ksm: { wpReuse: 'copy', breakKsm: 'write-fault', checksumFirst: false, forkResetsCounters: false, zeroPages: 'plain' },
    proc: { pagemapPmdExclusive: 'head', pagemapPmdFile: false, kpageflagsFromFolio: false, kpageflagsKsmAnyAnon: false },
    features: {
      ioUring: false,
      pinUserPages: false,
      mthp: false,
      madvCollapse: 'none',
      mprotectUnaccount: false,
      mremapSourceCheck: 'after-unmap',
      anonVmaMerge: 'target',
      mremapMultiVma: false,
      ptReclaim: false,
    },
    config: { softDirty: true, procMemForce: 'always' },
  },
};
