/** linux-6.2: reliable R/O long-term pins on anything in a COW mapping. */
import { derive } from '../derive.js';
import { linux_6_1 } from './linux-6.1.js';

export const linux_6_2 = derive(linux_6_1, {
  id: 'linux-6.2',
  title: 'Linux 6.2 (R/O long-term pins unshare the zero page and page cache in COW mappings)',
  commits: [
    'mm/gup: disallow FOLL_FORCE|FOLL_WRITE on hugetlb mappings (David Hildenbrand, Oct 2022; 6.2-rc1, backported to 6.1.2)',
    'mm/ksm: fix KSM COW breaking with userfaultfd-wp via FAULT_FLAG_UNSHARE (David Hildenbrand, Oct 2022; 6.2 inferred, absent from 6.1.176)',
    '8d6a0ac09a16 mm: extend FAULT_FLAG_UNSHARE support to anything in a COW mapping',
    '84209e87c696 mm/gup: reliable R/O long-term pinning in COW mappings (id unverified)',
    '96d82deb743a mm/thp: re-apply mkdirty for small pages after split (6.2)',
    'mm/huge_memory: try avoiding write faults when changing PMD protection (David Hildenbrand, Nov 2022; 6.2 inferred): can_change_pmd_writable()',
    'mm/userfaultfd: rely on vma->vm_page_prot in uffd_wp_range() (Peter Xu and David Hildenbrand, Dec 2022; 6.2 inferred, id not checked): un-protect takes vm_page_prot and upgrades PTEs manually (absent from 6.1.176, present in 6.12.117)',
  ],
  summary:
    'gup_must_unshare() also holds for a R/O FOLL_LONGTERM pin of a non-anon page (zero page, page cache) in a COW mapping: it gets an exclusive anon copy first.',
  mech: {
    ksm: { breakKsm: 'unshare' },
    gup: { unshare: 'anon-and-cow-longterm' },
    wrprotect: { pmdWritable: true, splitPtesDirty: true },
    uffd: { unprotectWritable: true },
    hugetlb: { forceWrite: 'refused' },
  },
});
