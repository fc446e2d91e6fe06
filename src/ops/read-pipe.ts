/** read() from a pipe: copies the pages at read time (fs/pipe.c pipe_read). */
import { z } from 'zod';
import { defineOp, ok } from './types.js';
import { name } from './args.js';
import { pipe_read } from '../kernel/fs/pipe.js';
import { perProcess, pipeHeld, pipeBuffers } from './explore.js';

export const readPipe = defineOp({
  name: 'read-pipe',
  doc: 'read() from the pipe: copies the pages at read time (pipe_read)',
  primary: 'pipe',
  args: { pipe: name, pages: z.number().int().min(1).max(16).optional() },
  resolve: (a, cx) => ({ p: cx.pipe(a.pipe), pages: a.pages ?? 16 }),
  print: (m, cx) => ({ 'read-pipe': cx.pipe(m.p), ...(m.pages !== 16 ? { pages: m.pages } : {}) }),
  apply(s, ctx, t, m) {
    const r = pipe_read(s, ctx, t, m.p, m.pages);
    if (typeof r === 'number') return ok(r);
    return ok(
      r.length,
      r.map((x) => x.wid),
    );
  },
  exec: { args: ['p', 'pages'], encode: (m) => [m.p, m.pages] },
  fuzz: {
    weight: 3,
    host: true,
    onRegion: false,
    gen: (c, x) => (x.pipes.length ? { 'read-pipe': x.pick(x.pipes, c.c) } : null),
  },
  explore: [
    perProcess('read-pipe', 230, 'read() of every buffer of a pipe the process holds', (t, x) =>
      Array.from({ length: x.processes }, (_, p) => ({
        t,
        args: () => ({ 'read-pipe': x.pipe(p) }),
        enabled: (s) => pipeHeld(s, p, t) && pipeBuffers(s, p) > 0,
      })),
    ),
  ],
});
