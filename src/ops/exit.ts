/** exit(): exit_mmap, close files (kernel/exit.c). */
import { defineOp, ok } from './types.js';
import { do_exit } from '../kernel/kernel/exit.js';
import { always, perProcess } from './explore.js';

export const exit = defineOp({
  name: 'exit',
  doc: 'exit(): exit_mmap, close files',
  primary: null,
  args: {},
  resolve(_a, cx) {
    cx.endTask();
    return {};
  },
  print: () => 'exit',
  apply(s, ctx, t) {
    do_exit(s, ctx, t);
    return ok();
  },
  exec: { args: [], encode: () => [] },
  fuzz: {
    weight: 2,
    host: true,
    onRegion: false,
    gen: (_c, x) => (x.endProc() ? 'exit' : null),
  },
  explore: [perProcess('exit', 210, 'exit()', (t) => [{ t, args: () => 'exit', enabled: always }])],
});
