/** munmap(): zap the range and remove the VMAs (mm/vma.c do_vmi_munmap). */
import { defineOp, ok } from './types.js';
import { region } from './args.js';
import { do_munmap } from '../kernel/mm/mmap.js';
import { always, perPage } from './explore.js';

export const munmap = defineOp({
  name: 'munmap',
  hugetlb: true,
  doc: 'munmap(): zap the range and remove the VMAs (do_vmi_munmap)',
  primary: 'at',
  args: { at: region },
  resolve: (a, cx) => cx.range(a.at),
  print: (m, cx) => ({ munmap: cx.range(m) }),
  range: (m) => m,
  apply: (s, ctx, t, m) => ok(do_munmap(s, ctx, t, m.start, m.start + m.pages)),
  mmapWrite: true,
  exec: { args: ['start', 'pages'], encode: (m) => [m.start, m.pages] },
  fuzz: { weight: 2, host: true, onRegion: true, gen: (_c, x) => ({ munmap: x.at }) },
  explore: [
    perPage('munmap', 30, 'munmap() of one page, and of a whole region of several pages (a THP area)', (t, pg) => [
      { t, args: () => ({ munmap: pg.ref }), enabled: always },
      // the whole region, from its first page: what unmapping a THP takes without splitting it
      ...(pg.index === 0 && pg.ref !== pg.region ? [{ t, args: () => ({ munmap: pg.region }), enabled: always }] : []),
    ]),
  ],
});
