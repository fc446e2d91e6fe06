/**
 * linux-6.18: the kernel on cowlab's machines, and the oracle `cowlab diff`
 * checks the model against.
 */
import { derive } from './derive.js';
import { linux_6_15 } from './history/linux-6.15.js';

export const linux_6_18 = derive(linux_6_15, {
  id: 'linux-6.18',
  title: 'Linux 6.18 (today: clean exclusive pages writable on mprotect and swap-in, uffd-wp on unpopulated memory)',
  commits: [
    'mm/mprotect: allow clean exclusive anon pages to be writable (after 6.1: 6.1 requires pte_dirty, 6.12 does not; id not identified)',
    'do_swap_page maps an exclusive page writable on a read fault (after 6.1, in 6.12; id not identified)',
    'mm/uffd: UFFD_FEATURE_WP_UNPOPULATED (Peter Xu, 2023; id and release unverified)',
    'userfaultfd: UFFD_FEATURE_WP_ASYNC (2023; id and release unverified)',
    'UFFDIO_WRITEPROTECT across VMAs, and its un-protect maps exclusive anon pages writable (after 6.1, in 6.12: docs/kernel/debian-kernels.md; ids not identified)',
    'host configuration: no CONFIG_MEM_SOFT_DIRTY (docs/host-kernel.md)',
    'khugepaged/MADV_COLLAPSE no longer require a writable PTE (SCAN_PAGE_RO removed, Dev Jain, Sep 2025; 6.18 inferred, and the host collapses a range shared after fork)',
  ],
  summary:
    'mprotect and uffd unprotect map clean exclusive anon pages writable; swap-in of an exclusive page maps it writable even on a read fault; ' +
    'uffd-wp can protect unpopulated memory and resolve faults itself; per-CPU folio batches of 31.',
  mech: {
    wrprotect: { mprotectWritable: 'clean', mprotectBatch: true },
    swap: { swapinWritableOnRead: true },
    uffd: { wpUnpopulated: true, wpAsync: true, wpMultiVma: true, unprotectWritable: true },
    config: { softDirty: false },
    lru: { batchSize: 31 },
    features: { madvCollapse: 'any', mremapMultiVma: true, mremapSourceCheck: 'whole-range' },
  },
});
