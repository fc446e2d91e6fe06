/** exit(): exit_mmap, close files (kernel/exit.c). */
import { defineOp, ok } from './types.js';
import { do_exit } from '../kernel/kernel/exit.js';
import { exit_threads } from '../model/threads.js';
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
  // exit_mmap() cannot run while another process's thread is inside this mm (mmget in __access_remote_vm)
  mmapWrite: true,
  apply(s, ctx, t) {
    exit_threads(s, t);
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
