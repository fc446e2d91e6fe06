/** linux-6.13: a write to the huge zero page allocates a THP. */
import { derive } from '../derive.js';
import { linux_6_12 } from './linux-6.12.js';

export const linux_6_13 = derive(linux_6_12, {
  id: 'linux-6.13',
  title: 'Linux 6.13 (a write or unshare fault on the huge zero page allocates a THP)',
  commits: [
    '1ced09e0331f mm: allocate THP on hugezeropage wp-fault (Dev Jain; 6.13 inferred)',
    '0cef0bb836e3 mm: clear uffd-wp PTE/PMD state on mremap() (6.13, stable 6.12.11)',
  ],
  summary:
    'do_huge_zero_wp_pmd() maps a fresh exclusive THP by the PMD (writable if VM_WRITE, also on unshare) instead of splitting the PMD into small zero PTEs and copying 4 KiB.',
  mech: { cow: { hugeZeroWp: 'alloc-thp' }, uffd: { mremapClearsWp: true } },
});
