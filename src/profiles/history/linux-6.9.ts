/** linux-6.9: a large folio is never reused at PTE level. */
import { derive } from '../derive.js';
import { linux_6_8 } from './linux-6.8.js';

export const linux_6_9 = derive(linux_6_8, {
  id: 'linux-6.9',
  title: 'Linux 6.9 (the last page of a large folio no longer reuses it)',
  commits: [
    'cd197c3a2040 mm: prohibit the last subpage from reusing the entire large folio (Barry Song; 6.9 inferred from kernel.org revlists)',
    'f7f21bf981e9 mm/memory: optimize fork() with PTE-mapped THP (batched; same outcome)',
  ],
  summary:
    'A write fault on a page of a large folio without PG_anon_exclusive always copies, even when it is the only page still mapped: the whole large folio is no longer kept alive for one page.',
  mech: { cow: { largeReuse: 'never' } },
});
