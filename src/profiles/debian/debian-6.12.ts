/**
 * debian-6.12: Debian trixie's 6.12.117, read in its source:
 * docs/kernel/debian-kernels.md.
 */
import { derive } from '../derive.js';
import { linux_6_18 } from '../linux-6.18.js';

export const debian_6_12 = derive(linux_6_18, {
  id: 'debian-6.12',
  title: 'Debian 6.12.117 (trixie)',
  commits: [
    "ksm_fork() resets the child's ksm_merging_pages (stable backport of the 6.15 fix; read: 6.12.117 include/linux/ksm.h)",
    'the mm paths cowlab models are those of 6.18: PG_anon_exclusive, non-anon R/O pins unshare, O_DIRECT pins, clean exclusive PTEs writable on mprotect and uffd un-protect, swap-in writable on read (read)',
    '/proc/kpageflags sets KPF_KSM on every anon page: stable_page_flags() tests `mapping & PAGE_MAPPING_KSM` (read: 6.12.117 fs/proc/page.c:136; fixed by 7.2.13)',
    'Debian config: CONFIG_MEM_SOFT_DIRTY=y; the guest swaps to brd, a SWP_SYNCHRONOUS_IO device',
    'large folios as 6.9-6.14: never reused at PTE level (cd197c3a2040), the huge zero page split on a write (6.13 not in), pagemap PM_MMAP_EXCLUSIVE per page for PMD-mapped THPs (read: 6.12.117 mm/memory.c wp_can_reuse_anon_folio, mm/huge_memory.c, fs/proc/task_mmu.c pagemap_pmd_range)',
    'no MM-ID slots: MADV_PAGEOUT/COLD guess "mapped shared" from the mapcounts, folio_likely_mapped_shared() (fuzz --diff --on debian-6.12 --seed 2026, 4 of 141; scenarios/regress/mthp-pageout-likely-shared.yaml)',
    'hugetlb: the reservation of an unmapped owner page is restored only on its last unmap (`!folio_mapped()`; in Debian 7.2.8, absent from 6.12.107: a stable backport by 6.12.117, shown by cowlab diff of scenarios/hugetlb/hugetlb-resv-below-zero.yaml and fuzz --diff --seed 2026 scenario 296)',
    'FOLL_FORCE|FOLL_WRITE refused on hugetlb VMAs, the 6.14 support not backported (read: 6.12.117 mm/gup.c check_vma_flags; checked by cowlab diff)',
    'MADV_COLLAPSE still wants a writable PTE in each range (SCAN_PAGE_RO; read: 6.12.117 mm/khugepaged.c)',
    'a faulted VMA does not merge into an unfaulted neighbour: the 6.15 "mm/vma: fix incorrectly disallowed anonymous VMA merges" is not in (shown by cowlab diff scenarios/regress/vma-merge-faulted-into-unfaulted.yaml)',
    'io_uring rings are not io_create_region() regions yet (6.14): an unprivileged ring charges only its buffers to RLIMIT_MEMLOCK (shown by cowlab diff scenarios/privilege/unprivileged-iouring-memlock.yaml)',
    'no mprotect() PTE batching of large folios (6.17): change_pte_range() handles one PTE at a time (read: 6.12.117 mm/mprotect.c)',
    'large folios go to the brd swap device whole and come back as mTHP in one fault when their entries are not shared (alloc_swap_folio; read: 6.12.117 mm/vmscan.c, mm/memory.c)',
  ],
  summary: 'As linux-6.18 with soft-dirty and a synchronous swap device; its /proc/kpageflags reports every anon page as KSM.',
  mech: {
    ksm: { forkResetsCounters: true },
    config: { softDirty: true },
    proc: { kpageflagsKsmAnyAnon: true, pagemapPmdExclusive: 'per-page' },
    cow: { largeReuse: 'never', hugeZeroWp: 'split' },
    features: {
      madvCollapse: 'writable',
      mremapMultiVma: false,
      mremapSourceCheck: 'vma-at-addr',
      ptReclaim: false,
      anonVmaMerge: 'target',
    },
    wrprotect: { mprotectBatch: false },
    lru: { sharedEstimate: 'first-page' },
    hugetlb: { forceWrite: 'refused', restoreLastUnmap: true },
    gup: { iouringAcctRing: false },
  },
  env: { swap: 'sync-io' },
});
