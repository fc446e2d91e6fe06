/** madvise() (mm/madvise.c do_madvise). */
import { z } from 'zod';
import { defineOp, ok } from './types.js';
import { region } from './args.js';
import { do_madvise, type Advice } from '../kernel/mm/madvise.js';
import { always, mapped, perPage } from './explore.js';
import { collapseStopped } from './khugepaged.js';
import { ok as okResult, type StepResult } from './types.js';
import type { KState } from '../model/layout.js';
import { THOP_ZAP_FLUSH } from '../model/layout.js';
import type { KCtx } from '../kernel/ctx.js';
import { ModelBug } from '../model/bug.js';
import { thread_stop, thread_take } from '../model/threads.js';
import { flush_tlb_range } from '../kernel/arch/x86/mm/tlb.js';
import { tlb_finish_mmu } from '../kernel/mm/madvise.js';

/** MADV_DONTNEED stopped before tlb_finish_mmu(): the acting thread's record keeps the page and what it gathered. */
function zapStopped(s: KState, ctx: KCtx, t: number): StepResult {
  const z = ctx.zapHeld!;
  if (ctx.thread < 0) throw new ModelBug('a MADV_DONTNEED stopped before its flush in a state without thread records');
  thread_stop(s, ctx.thread, t, { op: THOP_ZAP_FLUSH, mm: t, va: z.start, n: z.pfn, i: z.anon ? 1 : 0, foll: 0, tries: 0, done: 0 });
  ctx.stopped = true;
  return okResult(0);
}

/** The MADV_DONTNEED thread slot `th` stopped goes on (`resume`): tlb_finish_mmu() flushes its page and frees what it gathered. */
export function zap_flush_resume_thread(s: KState, ctx: KCtx, th: number): StepResult {
  const r = thread_take(s, th);
  // (its own PTE change was made in an earlier step: the flush is explicit)
  flush_tlb_range(s, ctx, r.mm, r.va, r.va + 1);
  tlb_finish_mmu(s, ctx, r.mm, r.va, r.va + 1, r.n ? [{ pfn: r.n, anon: r.i === 1 }] : []);
  return okResult(0);
}

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
  args: { at: region, advice: z.enum(NAMES), stop: z.enum(['collapse', 'zap-flush']).optional() },
  hugetlb: true,
  resolve(a, cx) {
    if (a.advice === 'pageout') cx.need('swap');
    if (a.advice === 'mergeable' || a.advice === 'unmergeable') cx.need('ksm');
    const r = cx.range(a.at);
    if (a.stop === 'zap-flush') {
      if (a.advice !== 'dontneed') cx.fail('stop: zap-flush is a window of advice: dontneed (MADV_DONTNEED)');
      if (r.pages !== 1) cx.fail(`stop: zap-flush: one page (the stopped zap's record holds one), this range has ${r.pages}`);
      cx.stop('zap-flush');
    } else if (a.stop !== undefined) {
      // the stopped collapse's record holds one PMD range: the next ranges would be the thread's after its resume
      if (a.advice !== 'collapse') cx.fail('stop: collapse is a window of advice: collapse (MADV_COLLAPSE)');
      if (r.pages > cx.pmdPages()) cx.fail(`stop: collapse collapses one PMD range (${cx.pmdPages()} pages), this range has ${r.pages}`);
      cx.stop('collapse');
    }
    return { ...r, advice: ADVICE[a.advice], stop: a.stop !== undefined };
  },
  print: (m, cx) => ({
    madvise: cx.range(m),
    advice: NAMES.find((n) => ADVICE[n] === m.advice)!,
    ...(m.stop ? { stop: m.advice === 'MADV_DONTNEED' ? 'zap-flush' : 'collapse' } : {}),
  }),
  range: (m) => m,
  apply(s, ctx, t, m) {
    const r = do_madvise(s, ctx, t, m.start, m.start + m.pages, m.advice, m.stop);
    if (r !== 'stopped') return ok(r);
    return ctx.zapHeld ? zapStopped(s, ctx, t) : collapseStopped(s, ctx, t);
  },
  // madvise_need_mmap_write(): zapping, reclaim and collapse take mmap_lock for read, VMA flag changes for write
  mmapWrite: (m) => !READ_LOCKED.has(m.advice),
  lacks: (p, m) => (m.advice === 'MADV_COLLAPSE' && p.mech.features.madvCollapse === 'none' ? `${p.id} has no MADV_COLLAPSE (6.1)` : null),
  exec: {
    args: ['start', 'pages', 'advice'],
    encode: (m) => [m.start, m.pages, CODES[m.advice]],
    blocker: (m) =>
      m.stop
        ? m.advice === 'MADV_DONTNEED'
          ? "stops a MADV_DONTNEED between its zap and its TLB flush: user space cannot hold that window, nor see another CPU's TLB (model only)"
          : 'stops inside collapse_huge_page() after the isolate: user space cannot hold that window open (model only)'
        : null,
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
    perPage(
      'dontneed-flush',
      41,
      'MADV_DONTNEED of one page by each thread, stopping between its zap and its TLB flush when it cleared a PTE (where TLBs are kept)',
      (t, pg, x) =>
        Array.from({ length: x.threads > 1 ? x.threads : 1 }, (_, j) => ({
          t,
          ...(x.threads > 1 ? { th: x.slot(t, j) } : {}),
          args: () => ({ madvise: pg.ref, advice: 'dontneed', ...(x.threads > 1 ? { stop: 'zap-flush' } : {}) }),
          enabled: always,
        })),
    ),
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
