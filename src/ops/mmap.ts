/** mmap(MAP_FIXED) of a region: private or shared, anonymous or a file (mm/mmap.c do_mmap). */
import { SCENARIO_LIMITS } from './limits.js';
import { z } from 'zod';
import { defineOp, ok } from './types.js';
import { name, prot, protBits, protText } from './args.js';
import { do_mmap } from '../kernel/mm/mmap.js';

export const mmap = defineOp({
  name: 'mmap',
  doc: 'mmap(MAP_FIXED) of a region: private or shared, anonymous or a file (do_mmap); `hugetlb: 2m` (or `1g`, model only) maps anonymous huge pages, private or shared (MAP_HUGETLB, hugetlb_reserve_pages)',
  hugetlb: true,
  primary: 'region',
  args: {
    region: name,
    pages: z.number().int().min(0).max(SCENARIO_LIMITS.giganticPages).default(1),
    prot: prot.default('rw'),
    shared: z.boolean().default(false),
    file: name.optional(),
    offset: z.number().int().min(0).default(0),
    /** where the region is placed: at any page, or at a PMD-aligned address (THP-capable) */
    align: z.enum(['page', 'pmd']).default('page'),
    /** never: MADV_NOHUGEPAGE right after mmap (what cow.c does for its base pages); inherit: the VMA follows the THP modes */
    thp: z.enum(['never', 'inherit']).default('never'),
    /** MAP_HUGETLB with the PMD size (MAP_HUGE_2MB) or the PUD size (MAP_HUGE_1GB, model only): anonymous huge pages from the hugetlb pool (shared: in an unlinked hugetlbfs file); the region is aligned and a whole number of huge pages */
    hugetlb: z.enum(['2m', '1g']).optional(),
    /** MAP_NORESERVE: no hugetlb reservation (the mapping then never owns one) */
    noreserve: z.boolean().default(false),
  },
  resolve(a, cx) {
    const r = cx.region(a.region);
    let file = -1;
    let gigantic = a.hugetlb === '1g';
    if (a.file !== undefined) {
      const f = cx.file(a.file);
      gigantic ||= f.gigantic === true;
      if (a.offset + a.pages > f.pages) cx.fail(`mmap of file ${a.file} beyond its ${f.pages} page(s)`);
      file = f.id;
    }
    if (a.pages > SCENARIO_LIMITS.pages && !gigantic)
      cx.fail(`mmap: pages: at most ${SCENARIO_LIMITS.pages} (the executor's limit), except for 1 GiB hugetlb pages`);
    if (a.hugetlb && file >= 0)
      cx.fail('mmap: hugetlb: only for anonymous mappings (a file declared with hugetlb: 2m is a hugetlbfs file by itself)');
    if (a.hugetlb) cx.need('hugetlb');
    if (a.hugetlb === '1g') cx.need('hugetlb-1g');
    if (a.noreserve && !a.hugetlb) cx.fail('mmap: noreserve: only with hugetlb (MAP_NORESERVE matters to hugetlb reservations only here)');
    return {
      start: r.start,
      pages: a.pages,
      prot: protBits(a.prot),
      shared: a.shared,
      file,
      pgoff: a.offset,
      thp: a.thp === 'inherit',
      hugetlb: a.hugetlb !== undefined,
      ...(a.hugetlb === '1g' ? { gigantic: true } : {}),
      noreserve: a.noreserve,
    };
  },
  print(m, cx) {
    return {
      mmap: cx.region(m.start),
      pages: m.pages,
      prot: protText(m.prot),
      ...(m.shared ? { shared: true } : {}),
      ...(m.file >= 0 ? { file: cx.file(m.file) } : {}),
      ...(m.pgoff ? { offset: m.pgoff } : {}),
      ...(cx.aligned(m.start) ? { align: 'pmd' } : {}),
      ...(m.thp ? { thp: 'inherit' } : {}),
      ...(m.hugetlb ? { hugetlb: m.gigantic ? '1g' : '2m' } : {}),
      ...(m.noreserve ? { noreserve: true } : {}),
    };
  },
  apply: (s, ctx, t, m) => ok(do_mmap(s, ctx, t, m)),
  mmapWrite: true,
  exec: {
    // mflags: 1 the VMA follows the THP modes, 2 MAP_HUGETLB|MAP_HUGE_2MB, 4 MAP_NORESERVE, 8 MAP_HUGE_1GB instead
    args: ['start', 'pages', 'prot', 'shared', 'file_or_anon', 'pgoff', 'mflags'],
    encode: (m) => [
      m.start,
      m.pages,
      m.prot,
      m.shared ? 1 : 0,
      m.file,
      m.pgoff,
      (m.thp ? 1 : 0) | (m.hugetlb ? 2 : 0) | (m.noreserve ? 4 : 0) | (m.gigantic ? 8 : 0),
    ],
  },
  fuzz: {
    host: true,
    onRegion: false,
    gen(c, x) {
      x.mapRegion();
      const p = x.pick(['rw', 'rw', 'r'], c.c);
      const g = x.region;
      if (g.kind === 'thp' || g.kind === 'mthp') return { mmap: g.name, pages: g.pages, prot: p, align: 'pmd', thp: 'inherit' };
      if (g.kind === 'hugetlb')
        return {
          mmap: g.name,
          pages: g.pages,
          prot: p,
          hugetlb: '2m',
          ...(c.b % 4 === 3 ? { noreserve: true } : {}),
          ...(c.a % 4 === 3 ? { shared: true } : {}),
        };
      return g.kind === 'anon'
        ? { mmap: g.name, pages: g.pages, prot: p }
        : g.kind === 'shared'
          ? { mmap: g.name, pages: g.pages, prot: p, shared: true }
          : { mmap: g.name, pages: g.pages, prot: p, file: 'fd' };
    },
  },
});
