/** User stores filling each page (write faults, do_wp_page). */
import { defineOp } from './types.js';
import { region } from './args.js';
import { memAccess } from './access.js';
import { always, perPage } from './explore.js';

export const write = defineOp({
  name: 'write',
  doc: 'user stores filling each page (write faults, do_wp_page)',
  primary: 'at',
  args: { at: region },
  resolve: (a, cx) => cx.range(a.at),
  print: (m, cx) => ({ write: cx.range(m) }),
  range: (m) => m,
  apply: (s, ctx, t, m) => memAccess(s, ctx, t, m.start, m.pages, true),
  exec: { args: ['start', 'pages', 'tag'], encode: (m, step) => [m.start, m.pages, step] },
  fuzz: { weight: 6, host: true, onRegion: true, gen: (_c, x) => ({ write: x.at }) },
  explore: [perPage('write', 20, 'a store filling one page', (t, pg) => [{ t, args: () => ({ write: pg.ref }), enabled: always }])],
});
