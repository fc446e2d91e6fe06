/** linux-6.3: block O_DIRECT pins its pages. */
import { derive } from '../derive.js';
import { linux_6_2 } from './linux-6.2.js';

export const linux_6_3 = derive(linux_6_2, {
  id: 'linux-6.3',
  title: 'Linux 6.3 (O_DIRECT takes FOLL_PIN)',
  commits: ['920756a3306a block: Convert bio_iov_iter_get_pages to use iov_iter_extract_pages (first in 6.3: docs/kernel/gup.md 7)'],
  summary:
    'O_DIRECT takes its user pages with pin_user_pages_fast(): they count as maybe pinned (fork copies them), and an O_DIRECT write is a R/O pin that unshares.',
  mech: { gup: { odirectPins: true } },
});
