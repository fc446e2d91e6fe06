/** pipe() (fs/pipe.c). */
import { defineOp, ok } from './types.js';
import { name } from './args.js';
import { do_pipe_at } from '../kernel/fs/pipe.js';
import { pipe_open } from '../model/mm_types.js';
import { EBUSY } from '../kernel/errno.js';
import { perProcess } from './explore.js';

export const pipe = defineOp({
  name: 'pipe',
  doc: 'pipe(): both ends held by the process (and inherited by its children)',
  primary: 'pipe',
  args: { pipe: name },
  resolve: (a, cx) => ({ p: cx.newPipe(a.pipe) }),
  print: (m, cx) => ({ pipe: cx.pipe(m.p) }),
  apply(s, ctx, t, m) {
    if (pipe_open(s, m.p)) return ok(-EBUSY);
    do_pipe_at(s, ctx, t, m.p);
    return ok();
  },
  exec: { args: ['p'], encode: (m) => [m.p] },
  fuzz: {
    weight: 2,
    host: true,
    onRegion: false,
    gen(_c, x) {
      const p = x.newPipe();
      return p === null ? null : { pipe: p };
    },
  },
  explore: [
    perProcess(
      'pipe',
      220,
      'pipe() (process Pk creates pipe pk)',
      (t, x) => [{ t, args: () => ({ pipe: x.pipe(t) }), enabled: (s) => !pipe_open(s, t) }],
      {
        impliedBy: ['vmsplice', 'read-pipe'],
      },
    ),
  ],
});
