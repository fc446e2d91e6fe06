/**
 * debian-7.x: Debian sid's kernel (7.2.13 when read), read in its source:
 * docs/kernel/debian-kernels.md.
 */
import { derive } from '../derive.js';
import { linux_6_18 } from '../linux-6.18.js';

export const debian_7_x = derive(linux_6_18, {
  id: 'debian-7.x',
  title: 'Debian 7.2.13 (sid)',
  commits: [
    'swap table: every swap-in goes through the swap cache, released after the PTE is set; a non-exclusive entry maps read-only (read: 7.2.13 mm/memory.c do_swap_page, should_try_to_free_swap)',
    "CONFIG_PROC_MEM_FORCE_PTRACE=y: /proc/PID/mem has FOLL_FORCE only for the target's ptracer (read: Debian 7.2 config, fs/proc/base.c proc_mem_foll_force)",
    'Debian config: CONFIG_MEM_SOFT_DIRTY=y; the guest swaps to brd, a SWP_SYNCHRONOUS_IO device',
    'hugetlb: the reservation of an unmapped owner page is restored only on its last unmap (`!folio_mapped()`; read: Debian 7.2.8 mm/hugetlb.c __unmap_hugepage_range; shown by cowlab diff)',
    "io_uring's rings are not charged to an unprivileged creator's RLIMIT_MEMLOCK, where the host's 6.18 charges them (cowlab diff: a ring set up under a 4 KiB limit takes a 1-page buffer; the change after 6.18 that stopped it is not identified)",
    'madvise: MADV_DOFORK refused (EINVAL) on hugetlb and VM_SPECIAL VMAs through vma_can_merge() (7.x; fuzz --diff --on debian-7.x --seed 70, 5 of 1000)',
  ],
  summary:
    'As linux-6.18 with soft-dirty and a synchronous swap device, the swap-table swap-in, /proc/PID/mem without FOLL_FORCE, and MADV_DOFORK refused on hugetlb VMAs.',
  mech: {
    config: { softDirty: true, procMemForce: 'ptrace-only' },
    swap: { swapTable: true },
    hugetlb: { doforkRefused: true, restoreLastUnmap: true },
    gup: { iouringAcctRing: false },
  },
  env: { swap: 'sync-io' },
});
