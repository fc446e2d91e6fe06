/** A write to /proc/PID/clear_refs (fs/proc/task_mmu.c clear_refs_write). */
import { z } from 'zod';
import { defineOp, ok } from './types.js';
import { clear_refs_write } from '../kernel/fs/proc/task_mmu.js';
import { always, perProcess } from './explore.js';

export const clearRefs = defineOp({
  name: 'clear-refs',
  doc: 'write to /proc/PID/clear_refs (4: soft-dirty, write-protects PTEs)',
  primary: 'value',
  args: { value: z.number().int() },
  resolve: (a) => ({ value: a.value }),
  print: (m) => ({ 'clear-refs': m.value }),
  apply: (s, ctx, t, m) => ok(clear_refs_write(s, ctx, t, m.value)),
  exec: { args: ['value'], encode: (m) => [m.value] },
  fuzz: { weight: 2, host: true, onRegion: false, gen: (c, x) => ({ 'clear-refs': x.pick([4, 4, 1, 5], c.c) }) },
  explore: [
    perProcess('clear-refs', 240, 'clear soft-dirty bits (echo 4 > /proc/PID/clear_refs)', (t) => [
      { t, args: () => ({ 'clear-refs': 4 }), enabled: always },
    ]),
  ],
});
