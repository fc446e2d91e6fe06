/** vmsplice() into a pipe: FOLL_GET references held by pipe buffers (fs/splice.c). */
import { defineOp, ok } from './types.js';
import { region, name } from './args.js';
import { vmsplice_to_pipe } from '../kernel/fs/splice.js';
import { perPage, pipeHeld, pipeBuffers } from './explore.js';

export const vmsplice = defineOp({
  name: 'vmsplice',
  hugetlb: true,
  doc: 'vmsplice() into a pipe: FOLL_GET references held by pipe buffers (GUP-fast)',
  primary: 'at',
  args: { at: region, pipe: name },
  resolve: (a, cx) => ({ ...cx.range(a.at), p: cx.pipe(a.pipe) }),
  print: (m, cx) => ({ vmsplice: cx.range(m), pipe: cx.pipe(m.p) }),
  range: (m) => m,
  apply: (s, ctx, t, m) => ok(vmsplice_to_pipe(s, ctx, t, m.p, m.start, m.pages)),
  exec: { args: ['p', 'start', 'pages'], encode: (m) => [m.p, m.start, m.pages] },
  fuzz: {
    weight: 3,
    host: true,
    onRegion: true,
    gen: (c, x) => (x.pipes.length ? { vmsplice: x.at, pipe: x.pick(x.pipes, c.c) } : null),
  },
  explore: [
    perPage('vmsplice', 90, 'vmsplice() of one page into a pipe the process holds', (t, pg, x) =>
      Array.from({ length: x.processes }, (_, p) => ({
        t,
        args: () => ({ vmsplice: pg.ref, pipe: x.pipe(p) }),
        enabled: (s) => pipeHeld(s, p, t) && pipeBuffers(s, p) < x.pipeBuffers,
      })),
    ),
  ],
});
