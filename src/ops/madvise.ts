/** madvise() (mm/madvise.c do_madvise). */
import { z } from 'zod';
import { defineOp, ok } from './types.js';
import { region } from './args.js';
import { do_madvise, type Advice } from '../kernel/mm/madvise.js';
import { always, mapped, perPage } from './explore.js';
import { collapseStopped } from './khugepaged.js';

const ADVICE = {
  dontneed: 'MADV_DONTNEED',
  dontfork: 'MADV_DONTFORK',
  dofork: 'MADV_DOFORK',
  wipeonfork: 'MADV_WIPEONFORK',
  keeponfork: 'MADV_KEEPONFORK',
  pageout: 'MADV_PAGEOUT',
  hugepage: 'MADV_HUGEPAGE',
  nohugepage: 'MADV_NOHUGEPAGE',
  cold: 'MADV_COLD',
  collapse: 'MADV_COLLAPSE',
  mergeable: 'MADV_MERGEABLE',
  unmergeable: 'MADV_UNMERGEABLE',
} as const satisfies Record<string, Advice>;
type AdviceName = keyof typeof ADVICE;
const READ_LOCKED = new Set<Advice>(['MADV_DONTNEED', 'MADV_PAGEOUT', 'MADV_COLD', 'MADV_COLLAPSE']);
const NAMES = Object.keys(ADVICE) as [AdviceName, ...AdviceName[]];
const CODES: Record<Advice, number> = {
  MADV_DONTNEED: 1,
  MADV_DONTFORK: 2,
  MADV_DOFORK: 3,
  MADV_WIPEONFORK: 4,
  MADV_KEEPONFORK: 5,
  MADV_PAGEOUT: 6,
  MADV_HUGEPAGE: 7,
  MADV_NOHUGEPAGE: 8,
  MADV_COLLAPSE: 9,
  MADV_COLD: 10,
  MADV_MERGEABLE: 11,
  MADV_UNMERGEABLE: 12,
};

const family = (advice: AdviceName, rank: number, doc: string, whenMapped: boolean) =>
  perPage(advice, rank, doc, (t, pg) => [
    { t, args: () => ({ madvise: pg.ref, advice }), enabled: whenMapped ? (s) => mapped(s, t, pg.va) : always },
  ]);

export const madvise = defineOp({
  name: 'madvise',
  doc: 'madvise(): MADV_DONTNEED, MADV_DONTFORK/DOFORK, MADV_WIPEONFORK/KEEPONFORK, MADV_PAGEOUT (needs swap on a real kernel), MADV_COLD, MADV_HUGEPAGE/NOHUGEPAGE, MADV_COLLAPSE, MADV_MERGEABLE/UNMERGEABLE (KSM: ksm_madvise, break_ksm)',
  primary: 'at',
  args: { at: region, advice: z.enum(NAMES), stop: z.literal('collapse').optional() },
  hugetlb: true,
  resolve(a, cx) {
    if (a.advice === 'pageout') cx.need('swap');
    if (a.advice === 'mergeable' || a.advice === 'unmergeable') cx.need('ksm');
    const r = cx.range(a.at);
    if (a.stop !== undefined) {
      // the stopped collapse's record holds one PMD range: the next ranges would be the thread's after its resume
      if (a.advice !== 'collapse') cx.fail('stop: collapse is a window of advice: collapse (MADV_COLLAPSE)');
      if (r.pages > cx.pmdPages()) cx.fail(`stop: collapse collapses one PMD range (${cx.pmdPages()} pages), this range has ${r.pages}`);
      cx.stop('collapse');
    }
    return { ...r, advice: ADVICE[a.advice], stop: a.stop !== undefined };
  },
  print: (m, cx) => ({ madvise: cx.range(m), advice: NAMES.find((n) => ADVICE[n] === m.advice)!, ...(m.stop ? { stop: 'collapse' } : {}) }),
  range: (m) => m,
  apply(s, ctx, t, m) {
    const r = do_madvise(s, ctx, t, m.start, m.start + m.pages, m.advice, m.stop);
    return r === 'stopped' ? collapseStopped(s, ctx, t) : ok(r);
  },
  // madvise_need_mmap_write(): zapping, reclaim and collapse take mmap_lock for read, VMA flag changes for write
  mmapWrite: (m) => !READ_LOCKED.has(m.advice),
  lacks: (p, m) => (m.advice === 'MADV_COLLAPSE' && p.mech.features.madvCollapse === 'none' ? `${p.id} has no MADV_COLLAPSE (6.1)` : null),
  exec: {
    args: ['start', 'pages', 'advice'],
    encode: (m) => [m.start, m.pages, CODES[m.advice]],
    blocker: (m) =>
      m.stop ? 'stops inside collapse_huge_page() after the isolate: user space cannot hold that window open (model only)' : null,
  },
  fuzz: {
    weight: 3,
    host: true,
    onRegion: true,
    gen(c, x) {
      if (x.region.kind === 'hugetlb')
        return { madvise: x.at, advice: x.pick(['dontneed', 'dontneed', 'dontfork', 'dofork', 'wipeonfork', 'nohugepage', 'cold'], c.c) };
      const large = x.region.kind === 'thp' || x.region.kind === 'mthp';
      // KSM advice with a small weight of its own (c.b), so the older advice keeps its share of seeds
      const advice =
        c.b % 4 === 3
          ? x.pick(['mergeable', 'mergeable', 'unmergeable'], c.c)
          : large
            ? x.pick(['dontneed', 'dontfork', 'dofork', 'pageout', 'hugepage', 'nohugepage', 'collapse', 'cold'], c.c)
            : x.pick(['dontneed', 'dontfork', 'dofork', 'wipeonfork', 'keeponfork', 'pageout'], c.c);
      if (advice === 'pageout' && (!x.swap || (x.region.kind !== 'anon' && !large))) return null;
      return { madvise: x.at, advice };
    },
  },
  explore: [
    family('dontneed', 40, 'MADV_DONTNEED of one mapped page', true),
    family('pageout', 50, 'MADV_PAGEOUT of one mapped page', true),
    family('dontfork', 60, 'MADV_DONTFORK of one page', false),
    family('wipeonfork', 70, 'MADV_WIPEONFORK of one page', false),
    // one action per PMD range of a region (its first page's): MADV_COLLAPSE collapses only whole ranges
    perPage(
      'collapse',
      76,
      'MADV_COLLAPSE of a PMD range; with threads, it stops after the isolate',
      (t, pg, x) =>
        (pg.va & (x.pmdPages - 1)) === 0 && pg.index + x.pmdPages <= pg.regionPages
          ? [
              {
                t,
                args: () => ({
                  madvise: `${pg.region}[${pg.index}:${pg.index + x.pmdPages}]`,
                  advice: 'collapse',
                  ...(x.threads > 1 ? { stop: 'collapse' } : {}),
                }),
                enabled: always,
              },
            ]
          : [],
      { lacks: (p) => p.mech.features.madvCollapse === 'none' },
    ),
  ],
});

/** The advice codes of the C executor (enum advice in executor/cowlab.h). */
export const ADVICE_CODES: Readonly<Record<Advice, number>> = CODES;
