/** User stores filling each page (write faults, do_wp_page). */
import { z } from 'zod';
import { defineOp } from './types.js';
import { region } from './args.js';
import { memAccess, ZERO_WRITE } from './access.js';
import { always, perPage } from './explore.js';
import type { KState } from '../model/layout.js';
import { THOP_USER_FAULT } from '../model/layout.js';
import { userfault_wait, userfault_woken } from '../model/threads.js';
import { ModelBug } from '../model/bug.js';
import type { KCtx } from '../kernel/ctx.js';
import type { StepResult } from './types.js';

/** The largest value a write may carry. */
export const VALUE_MAX = 1_000_000;
/** The executor's tag of a value write: this bit plus the value (a step tag never has it; tag_of() in executor/ops.c). */
export const VALUE_TAG = 0x40000000;

export const write = defineOp({
  name: 'write',
  hugetlb: true,
  doc: "user stores filling each page (write faults, do_wp_page); with `value: N` every page gets the same content N, so that KSM can merge pages written with equal values; `value: 0` stores zero bytes (the page is written, its content is zero-filled). `stop: uffd` (a thread created by `thread`): the monitor holds the store's first uffd-wp fault instead of answering it, so the thread waits in handle_userfault() with mmap_lock dropped while other steps run; a `uffd-unwp` of the page wakes it and its `resume` finishes the store",
  primary: 'at',
  args: { at: region, value: z.number().int().min(0).max(VALUE_MAX).optional(), stop: z.literal('uffd').optional() },
  resolve(a, cx) {
    if (a.stop !== undefined) cx.stop('uffd');
    return { ...cx.range(a.at), value: a.value === 0 ? ZERO_WRITE : (a.value ?? 0), stop: a.stop !== undefined };
  },
  print: (m, cx) => ({
    write: cx.range(m),
    ...(m.value ? { value: m.value === ZERO_WRITE ? 0 : m.value } : {}),
    ...(m.stop ? { stop: 'uffd' } : {}),
  }),
  range: (m) => m,
  apply(s, ctx, t, m) {
    if (!m.stop) return memAccess(s, ctx, t, m.start, m.pages, true, m.value);
    ctx.uffdHold = true;
    const r = memAccess(s, ctx, t, m.start, m.pages, true, m.value);
    ctx.uffdHold = false;
    return r.held === undefined ? r : userFaultHeld(s, ctx, t, m.start, m.pages, r.held, m.value, ctx.step);
  },
  exec: {
    args: ['start', 'pages', 'tag'],
    encode: (m, step) => [m.start, m.pages, m.value === ZERO_WRITE ? 0 : m.value ? VALUE_TAG + m.value : step],
    holds: (m) => m.stop,
  },
  fuzz: {
    weight: 6,
    host: true,
    onRegion: true,
    // one write in four carries a value from a small set (0: zero bytes), so that equal pages exist for KSM
    gen: (c, x) => (c.c % 4 === 3 ? { write: x.at, value: c.b % 3 } : { write: x.at }),
  },
  explore: [perPage('write', 20, 'a store filling one page', (t, pg) => [{ t, args: () => ({ write: pg.ref }), enabled: always }])],
});

/**
 * The store waits in handle_userfault() at page `i` (its monitor holds the
 * fault): the acting thread's record keeps what it needs to go on, and the
 * faults it took so far are reported when it ends, as the kernel counts a
 * fault only once it completes (mm_account_fault() skips VM_FAULT_RETRY).
 */
function userFaultHeld(s: KState, ctx: KCtx, t: number, start: number, n: number, i: number, value: number, step: number): StepResult {
  if (ctx.thread < 0) throw new ModelBug('a store waits for its uffd monitor in a state without thread records');
  userfault_wait(s, ctx.thread, t, {
    op: THOP_USER_FAULT,
    va: start,
    n,
    i,
    a: value,
    b: step,
    faults: ctx.faults,
    majfaults: ctx.majfaults,
  });
  ctx.faults = 0;
  ctx.majfaults = 0;
  ctx.stopped = true;
  return { ret: 0, signal: null, data: [], done: i };
}

/** The held store of thread slot `th` goes on (`resume`, after a wake): the fault is retried, then the rest of the pages. */
export function user_fault_resume(s: KState, ctx: KCtx, t: number, th: number): StepResult {
  const w = userfault_woken(s, th);
  if (!w) throw new ModelBug(`thread slot ${th}: resumed in handle_userfault() before a wake`);
  ctx.faults += w.faults;
  ctx.majfaults += w.majfaults;
  return memAccess(s, ctx, t, w.va, w.n, true, w.a, { i: w.i, step: w.b });
}
