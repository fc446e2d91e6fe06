/** mremap(MREMAP_MAYMOVE | MREMAP_FIXED) of a range onto another region (mm/mremap.c). */
import { defineOp, ok } from './types.js';
import { region } from './args.js';
import { do_mremap } from '../kernel/mm/mremap.js';

export const mremap = defineOp({
  name: 'mremap',
  doc: 'mremap(MREMAP_MAYMOVE|MREMAP_FIXED) of a range onto the start of another region: the VMA part and its entries move (move_page_tables; a partly covered huge PMD is split first)',
  primary: 'at',
  args: { at: region, to: region },
  resolve(a, cx) {
    const from = cx.range(a.at);
    const to = cx.range(a.to);
    if (to.pages < from.pages) cx.fail(`mremap: ${a.to.text} is smaller than ${a.at.text}`);
    return { ...from, dst: to.start };
  },
  print: (m, cx) => ({ mremap: cx.range(m), to: cx.range({ start: m.dst, pages: m.pages }) }),
  range: (m) => m,
  apply: (s, ctx, t, m) => ok(do_mremap(s, ctx, t, m.start, m.pages, m.dst)),
  mmapWrite: true,
  exec: { args: ['start', 'pages', 'dst'], encode: (m) => [m.start, m.pages, m.dst] },
  fuzz: {
    host: true,
    onRegion: true,
    // part of a large-folio area onto the spare area (what cow.c does to half a THP)
    gen: (c, x) =>
      x.region.kind === 'thp'
        ? { mremap: x.pick([`${x.region.name}[256:512]`, `${x.region.name}[0:1]`, `${x.region.name}[1:256]`], c.c), to: 'spare' }
        : x.region.kind === 'mthp'
          ? { mremap: x.pick([`${x.region.name}[8:16]`, `${x.region.name}[1:2]`], c.c), to: 'spare' }
          : null,
  },
});
