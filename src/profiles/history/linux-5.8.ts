/** linux-5.8: read GUP on a COW mapping breaks COW. */
import { derive } from '../derive.js';
import { linux_5_7 } from './linux-5.7.js';

export const linux_5_8 = derive(linux_5_7, {
  id: 'linux-5.8',
  title: 'Linux 5.8 (mapcount reuse, COW broken on read GUP)',
  commits: [
    '17839856fd58 gup: document and work around "COW can break either way" issue (CVE-2020-29374)',
    '3917c80280c9 thp: change CoW semantics for anon-THP: a PMD that cannot be reused is split and the PTE fault decides; the huge zero page is split into small zero PTEs',
  ],
  summary:
    'Any FOLL_GET or FOLL_PIN on a COW mapping is made a write, so GUP always gets a page its process owns; ' +
    'GUP-fast leaves read-only PTEs to the slow path; FOLL_COW no longer needs FOLL_FORCE.',
  mech: { gup: { readBreaksCow: true, forceWrite: 'foll-cow-dirty' }, cow: { pmdCopy: 'split', hugeZeroWp: 'split' } },
});
