/** swapoff() of the swap area (mm/swapfile.c sys_swapoff): see src/kernel/mm/swapfile.ts. */
import { defineOp, ok } from './types.js';
import { sys_swapoff } from '../kernel/mm/swapfile.js';
import { task_uid } from '../model/mm_types.js';
import { EPERM } from '../kernel/errno.js';

export const swapoff = defineOp({
  name: 'swapoff',
  doc: 'swapoff() of the swap area (sys_swapoff, try_to_unuse): every swapped-out page comes back read-only into every PTE that named it (unuse_pte), the swap cache empties, and from then on MADV_PAGEOUT finds no swap slot (anon pages stay; a large folio is split trying). EINVAL when swap is already off. On a real kernel it turns off the swap area cowlab set up (a machine with another active swap area cannot run it) and runs alone; the area comes back after the scenario',
  primary: null,
  args: {},
  resolve(_a, cx) {
    cx.need('root');
    cx.need('swap');
    cx.need('swapoff');
    return {};
  },
  print: () => 'swapoff',
  // CAP_SYS_ADMIN
  apply: (s, ctx, t) => ok(task_uid(s, t) === 0 ? sys_swapoff(s, ctx) : -EPERM),
  exec: { args: [], encode: () => [] },
  fuzz: { host: true, onRegion: false, gen: (_c, x) => (x.swap && x.swapoff() ? 'swapoff' : null) },
});
