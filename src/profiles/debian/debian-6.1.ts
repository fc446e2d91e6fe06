/**
 * debian-6.1: Debian bookworm's 6.1.176, read in its source:
 * docs/kernel/debian-kernels.md.
 */
import { derive } from '../derive.js';
import { linux_6_0 } from '../history/linux-6.0.js';

export const debian_6_1 = derive(linux_6_0, {
  id: 'debian-6.1',
  title: 'Debian 6.1.176 (bookworm)',
  commits: [
    'as 6.0: gup_must_unshare() without the 6.2 non-anon extension (read: 6.1.176 include/linux/mm.h)',
    'mprotect maps only dirty exclusive anon PTEs writable; UFFDIO_WRITEPROTECT un-protect never does (read)',
    'UFFDIO_WRITEPROTECT within one VMA only (find_dst_vma, -ENOENT) (read)',
    'O_DIRECT still FOLL_GET (iov_iter_get_pages2) (read)',
    'Debian config: CONFIG_MEM_SOFT_DIRTY=y; the guest swaps to brd, a SWP_SYNCHRONOUS_IO device',
    '13ddaf26be32 (swapcache_prepare() before a swap-in past the swap cache) backported (read: 6.1.176 mm/memory.c do_swap_page(), need_clear_cache)',
    'FOLL_FORCE|FOLL_WRITE refused on hugetlb ("mm/gup: disallow FOLL_FORCE|FOLL_WRITE on hugetlb mappings", backported to 6.1.2; checked by cowlab diff)',
    'MADV_DONTNEED on hugetlb rounds the end down (8ebe0a5eaaeb, in 6.1; checked by cowlab diff)',
    'MADV_COLLAPSE exists (7d8faaf15545); no can_change_pmd_writable() (read: 6.1.176 mm/huge_memory.c change_huge_pmd)',
    'follow_page() refuses PROT_NONE-mapped pages (474098edac26, not undone: d74943a2f3cd is not in 6.1.176; shown by cowlab diff scenarios/ksm/ksm-prot-none-*.yaml)',
    'ksmd finds pages with a page-table walk, PROT_NONE ones included ("ksm: use range-walk function to jump over holes in scan_get_next_rmap_item", backported to 6.1.161; read: 6.1.176 mm/ksm.c scan_get_next_rmap_item(), get_mergeable_page() still follow_page(); shown by cowlab diff of scenarios/ksm/ksm-prot-none-tree-*.yaml)',
    'pagemap: PM_FILE on a huge PMD of a non-anon page (3f9f022e975d, backported to 6.1.y), PM_MMAP_EXCLUSIVE from the head page (read: 6.1.176 fs/proc/task_mmu.c pagemap_pmd_range)',
  ],
  summary:
    'As linux-6.0, with soft-dirty, and swap-in from a synchronous device (brd) skipping the swap cache when the entry is not shared.',
  mech: {
    swap: { syncSwapinPrepare: true },
    config: { softDirty: true },
    features: { madvCollapse: 'writable' },
    proc: { pagemapPmdFile: true },
    gup: { followPageProtnone: true },
    ksm: { scanWalk: true },
    hugetlb: { madvDontneed: 'align-down', forceWrite: 'refused' },
    uffd: { devNode: true },
  },
  env: { swap: 'sync-io' },
});
