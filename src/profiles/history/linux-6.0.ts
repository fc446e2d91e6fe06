/** linux-6.0: the FOLL_FORCE fix and the mprotect optimisation. */
import { derive } from '../derive.js';
import { linux_5_19 } from './linux-5.19.js';

export const linux_6_0 = derive(linux_5_19, {
  id: 'linux-6.0',
  title: 'Linux 6.0 (FOLL_COW removed, mprotect maps dirty exclusive anon pages writable)',
  commits: [
    '5535be309971 mm/gup: fix FOLL_FORCE COW security issue and remove FOLL_COW (CVE-2022-2590)',
    '64fe24a3e05e mm/mprotect: try avoiding write faults for exclusive anonymous pages when changing protection',
    '14a762dd1977 mm/swapfile: fix lost swap bits in unuse_pte() (6.0 inferred; swapoff keeps uffd-wp and soft-dirty)',
    'bcd51a3c679d hugetlb: lazy page table copies in fork() (6.0 inferred; debian-5.10 copies, debian-6.1 does not)',
    '70cbc3cc78a9 mm: gup: fix the fast GUP race against THP collapse (GUP-fast reads the PMD again after the grab)',
  ],
  summary:
    'A FOLL_FORCE write through a read-only PTE needs an exclusive anon page in a private !VM_WRITE mapping; ' +
    'mprotect (and uffd unprotect) may set the write bit on a dirty exclusive anon PTE.',
  mech: {
    gup: { forceWrite: 'anon-exclusive', fastRecheckPmd: true },
    wrprotect: { mprotectWritable: 'dirty' },
    hugetlb: { lazyForkCopy: true },
    swap: { unuseKeepsBits: true },
  },
});
