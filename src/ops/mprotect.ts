/** mprotect(): change_protection, which may map exclusive anon pages writable (mm/mprotect.c). */
import { defineOp, ok } from './types.js';
import { region, prot, protBits, protText } from './args.js';
import { do_mprotect } from '../kernel/mm/mprotect.js';
import { always, perPage } from './explore.js';

export const mprotect = defineOp({
  name: 'mprotect',
  hugetlb: true,
  doc: 'mprotect(): change_protection, may map exclusive anon pages writable',
  primary: 'at',
  args: { at: region, prot },
  resolve: (a, cx) => ({ ...cx.range(a.at), prot: protBits(a.prot) }),
  print: (m, cx) => ({ mprotect: cx.range(m), prot: protText(m.prot) }),
  range: (m) => m,
  apply: (s, ctx, t, m) => ok(do_mprotect(s, ctx, t, m.start, m.start + m.pages, m.prot)),
  mmapWrite: true,
  exec: { args: ['start', 'pages', 'prot'], encode: (m) => [m.start, m.pages, m.prot] },
  fuzz: { weight: 2, host: true, onRegion: true, gen: (c, x) => ({ mprotect: x.at, prot: x.pick(['r', 'rw', 'none', 'rw'], c.c) }) },
  explore: [
    perPage('mprotect', 80, 'mprotect(PROT_READ) and mprotect(PROT_READ|PROT_WRITE) of one page', (t, pg) => [
      { t, args: () => ({ mprotect: pg.ref, prot: 'r' }), enabled: always },
      { t, args: () => ({ mprotect: pg.ref, prot: 'rw' }), enabled: always },
    ]),
  ],
});
