/** fork(): dup_mmap, copy_page_range (kernel/fork.c). */
import { defineOp, ok } from './types.js';
import { name } from './args.js';
import { do_fork } from '../kernel/kernel/fork.js';
import { perProcess } from './explore.js';
import { task_state } from '../model/mm_types.js';
import { TASK_FREE, type KState } from '../model/layout.js';

/** The lowest process slot never used, or -1 (process slots are not reused). */
function freeSlot(s: KState): number {
  for (let t = 0; t < s.L.geo.tasks; t++) if (task_state(s, t) === TASK_FREE) return t;
  return -1;
}

export const fork = defineOp({
  name: 'fork',
  doc: 'fork(): dup_mmap, copy_page_range (a new process, named by the step)',
  primary: 'child',
  args: { child: name },
  resolve: (a, cx) => ({ child: cx.newTask(a.child, 'fork') }),
  print: (m, cx) => ({ fork: cx.task(m.child) }),
  apply: (s, ctx, t, m) => ok(do_fork(s, ctx, t, m.child)),
  exec: { args: ['child'], encode: (m) => [m.child] },
  fuzz: {
    weight: 4,
    host: true,
    onRegion: false,
    gen(_c, x) {
      const child = x.newProc();
      return child === null ? null : { fork: child };
    },
  },
  explore: [
    perProcess('fork', 200, 'fork() (the k-th fork creates process Pk)', (t, x) => [
      { t, args: (s) => ({ fork: x.proc(freeSlot(s)) }), enabled: (s) => freeSlot(s) >= 0, dynamic: true },
    ]),
  ],
});
