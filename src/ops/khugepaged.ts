/**
 * khugepaged's collapse of a PMD range (mm/khugepaged.c), as if its scan
 * reached the range now: the kernel collapses in the background and offers
 * no way to ask for one range (MADV_COLLAPSE, 6.1+, is the synchronous form,
 * with its own rules), so this is model only.
 */
import { z } from 'zod';
import { defineOp, ok } from './types.js';
import { region } from './args.js';
import { perPage, always } from './explore.js';
import { khugepaged_collapse, collapse_resume } from '../kernel/mm/khugepaged.js';
import { THOP_COLLAPSE } from '../model/layout.js';
import { thread_stop, thread_take } from '../model/threads.js';
import { ModelBug } from '../model/bug.js';
import type { KState } from '../model/layout.js';
import type { KCtx } from '../kernel/ctx.js';
import type { StepResult } from './types.js';

export const khugepaged = defineOp({
  name: 'khugepaged',
  doc: 'khugepaged collapses the PMD range of the page into a new THP (khugepaged_scan_pmd() + collapse_huge_page()) as if its scan reached it now: the VMA must be eligible (THP always, or madvise and MADV_HUGEPAGE); at most max_ptes_none/_swap/_shared (511/64/256 of 512) none, swapped and shared PTEs, one writable PTE (before 6.18), pages held only by their mappings and swap cache. `stop: collapse` stops the acting thread after pmdp_collapse_flush() cleared the PMD and __collapse_huge_page_isolate() checked the pages, before the copy, holding mmap_lock for write, until its `resume` (model only: khugepaged runs in the background)',
  primary: 'at',
  args: { at: region, stop: z.literal('collapse').optional() },
  requires: ['model-only'],
  resolve(a, cx) {
    const r = cx.range(a.at);
    if (a.stop !== undefined) cx.stop('collapse');
    return { ...r, stop: a.stop !== undefined };
  },
  print: (m, cx) => ({ khugepaged: cx.range(m), ...(m.stop ? { stop: 'collapse' } : {}) }),
  range: (m) => m,
  apply(s, ctx, t, m) {
    const r = khugepaged_collapse(s, ctx, t, m.start, m.stop);
    return r === 'stopped' ? collapseStopped(s, ctx, t) : ok(r);
  },
  // collapse_huge_page() takes mmap_lock for write (the scan before it, for read)
  mmapWrite: true,
  exec: { modelOnly: 'khugepaged collapses in the background: the kernel has no call that makes it scan one range now' },
  explore: [
    perPage('khugepaged', 75, "khugepaged's collapse of the page's PMD range; with threads, it stops after the isolate", (t, pg, x) => [
      { t, args: () => ({ khugepaged: pg.ref, ...(x.threads > 1 ? { stop: 'collapse' } : {}) }), enabled: always },
    ]),
  ],
});

/** The collapse stopped in its window: the acting thread's record keeps the range, the new folio and the VMA. */
export function collapseStopped(s: KState, ctx: KCtx, t: number): StepResult {
  const st = ctx.collapseStop!;
  if (ctx.thread < 0) throw new ModelBug('a collapse stopped in a state without thread records');
  thread_stop(s, ctx.thread, t, { op: THOP_COLLAPSE, mm: t, va: st.h, n: st.nw, i: st.vi, foll: 0, tries: 0, done: 0 });
  ctx.stopped = true;
  return ok(0);
}

/** The collapse thread slot `th` stopped goes on (`resume`): the copy and the new PMD. */
export function collapse_resume_thread(s: KState, ctx: KCtx, t: number, th: number): StepResult {
  const r = thread_take(s, th);
  collapse_resume(s, ctx, t, { h: r.va, nw: r.n, vi: r.i });
  return ok(0);
}
