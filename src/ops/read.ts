/** User loads, one per page (read faults). */
import { defineOp } from './types.js';
import { region } from './args.js';
import { memAccess } from './access.js';
import { always, perPage } from './explore.js';

export const read = defineOp({
  name: 'read',
  hugetlb: true,
  doc: 'user loads, one per page (read faults, handle_mm_fault)',
  primary: 'at',
  args: { at: region },
  resolve: (a, cx) => cx.range(a.at),
  print: (m, cx) => ({ read: cx.range(m) }),
  range: (m) => m,
  apply: (s, ctx, t, m) => memAccess(s, ctx, t, m.start, m.pages, false),
  userAccess: true,
  exec: { args: ['start', 'pages'], encode: (m) => [m.start, m.pages] },
  fuzz: { weight: 3, host: true, onRegion: true, gen: (_c, x) => ({ read: x.at }) },
  explore: [perPage('read', 10, 'a load from one page', (t, pg) => [{ t, args: () => ({ read: pg.ref }), enabled: always }])],
});
