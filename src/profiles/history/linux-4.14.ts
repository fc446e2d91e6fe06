/** linux-4.14: Dirty COW fixed with FOLL_COW, but touch_pmd() still dirties a huge PMD on a read GUP (Huge Dirty COW). */
import { derive } from '../derive.js';
import { linux_4_8 } from './linux-4.8.js';

export const linux_4_14 = derive(linux_4_8, {
  id: 'linux-4.14',
  title: 'Linux 4.14 (mapcount reuse, FOLL_COW; a read GUP dirties the huge PMD: Huge Dirty COW)',
  commits: [
    '19be0eaffa3a mm: remove gup_flags FOLL_WRITE games from __get_user_pages() (4.9, CVE-2016-5195)',
    '8310d48b125d mm/huge_memory.c: respect FOLL_FORCE/FOLL_COW for thp (4.11)',
    'vmsplice_to_pipe() rewritten on iter_to_pipe() (Al Viro, 4.10 inferred): GUP in batches of 16 until one does not fit the pipe',
    '38d8b4e6bdc8 mm, THP, swap: delay splitting THP during swap out (4.13: a PMD-mapped THP goes to a swap block device whole)',
    '99baac21e458 mm: fix MADV_[FREE|DONTNEED] TLB flush miss problem (4.13: tlb_finish_mmu() flushes when another gather of the mm is under way)',
  ],
  summary:
    'A FOLL_FORCE write may use a read-only PTE or PMD only with FOLL_COW and the dirty bit, but touch_pmd() sets the dirty bit ' +
    'on every FOLL_TOUCH lookup, so a read GUP of the huge zero page lets a forced write into it (CVE-2017-1000405, fixed in 4.15).',
  mech: {
    gup: { forceWrite: 'foll-cow', touchPmdDirty: true, vmspliceIter: true },
    swap: { largeSwapout: 'pmd-mapped' },
    features: { nestedTlbFlush: true },
  },
});
