/** User stores filling each page (write faults, do_wp_page). */
import { z } from 'zod';
import { defineOp } from './types.js';
import { region } from './args.js';
import { memAccess, ZERO_WRITE } from './access.js';
import { always, perPage } from './explore.js';
import type { KState } from '../model/layout.js';
import { THOP_USER_FAULT, THOP_COW_COPY, THOP_SWAPIN } from '../model/layout.js';
import {
  userfault_wait,
  userfault_woken,
  thread_stop,
  thread_take,
  type ThreadStop,
  SWAPIN_FAULTS,
  SWAPIN_WRITE,
  SWAPIN_PREPARED,
} from '../model/threads.js';
import { vma_lookup_idx, vma_flags_at } from '../model/mm_types.js';
import { wp_page_copy_map, vm_normal_page, do_swap_page_resume, FAULT_FLAG_WRITE, FAULT_FLAG_USER, type Vmf } from '../kernel/mm/memory.js';
import { ModelBug } from '../model/bug.js';
import type { KCtx } from '../kernel/ctx.js';
import type { StepResult } from './types.js';

/** The largest value a write may carry. */
export const VALUE_MAX = 1_000_000;
import { VALUE_TAG } from '../model/content.js';
export { VALUE_TAG };

export const write = defineOp({
  name: 'write',
  hugetlb: true,
  doc: "user stores filling each page (write faults, do_wp_page); with `value: N` every page gets the same content N, so that KSM can merge pages written with equal values; `value: 0` stores zero bytes (the page is written, its content is zero-filled). `stop: uffd` (a thread created by `thread`): the monitor holds the store's first uffd-wp fault instead of answering it, so the thread waits in handle_userfault() with mmap_lock dropped while other steps run; a `uffd-unwp` of the page wakes it and its `resume` finishes the store",
  primary: 'at',
  args: { at: region, value: z.number().int().min(0).max(VALUE_MAX).optional(), stop: z.enum(['uffd', 'cow-copy', 'swapin']).optional() },
  resolve(a, cx) {
    if (a.stop !== undefined) cx.stop(a.stop);
    const r = cx.range(a.at);
    if ((a.stop === 'cow-copy' || a.stop === 'swapin') && r.pages !== 1)
      cx.fail(`write with stop: ${a.stop}: one page (the window is in one fault)`);
    return { ...r, value: a.value === 0 ? ZERO_WRITE : (a.value ?? 0), stop: a.stop !== undefined, window: a.stop ?? 'uffd' };
  },
  print: (m, cx) => ({
    write: cx.range(m),
    ...(m.value ? { value: m.value === ZERO_WRITE ? 0 : m.value } : {}),
    ...(m.stop ? { stop: m.window } : {}),
  }),
  range: (m) => m,
  apply(s, ctx, t, m) {
    if (!m.stop) return memAccess(s, ctx, t, m.start, m.pages, true, m.value);
    const cow = m.window === 'cow-copy';
    if (cow) ctx.cowHold = true;
    else if (m.window === 'swapin') ctx.swapinHold = true;
    else ctx.uffdHold = true;
    const r = memAccess(s, ctx, t, m.start, m.pages, true, m.value);
    ctx.uffdHold = false;
    ctx.cowHold = false;
    ctx.swapinHold = false;
    if (r.held === undefined) return r;
    if (ctx.swapinHeld) return swapinHeld(s, ctx, t, m.start, true, m.value, ctx.step);
    return cow ? cowCopyHeld(s, ctx, t, m.start, m.value, ctx.step) : userFaultHeld(s, ctx, t, m.start, m.pages, r.held, m.value, ctx.step);
  },
  userAccess: true,
  exec: {
    args: ['start', 'pages', 'tag'],
    encode: (m, step) => [m.start, m.pages, m.value === ZERO_WRITE ? 0 : m.value ? VALUE_TAG + m.value : step],
    holds: (m) => m.stop && m.window === 'uffd',
    blocker: (m) =>
      m.stop && m.window === 'cow-copy'
        ? 'stops a write fault between its copy and its PTE update: user space cannot hold that window (model only)'
        : m.stop && m.window === 'swapin'
          ? 'stops a swap fault between its read and its PTE update: user space cannot hold that window (model only)'
          : null,
  },
  fuzz: {
    weight: 6,
    host: true,
    onRegion: true,
    // one write in four carries a value from a small set (0: zero bytes), so that equal pages exist for KSM
    gen: (c, x) => (c.c % 4 === 3 ? { write: x.at, value: c.b % 3 } : { write: x.at }),
  },
  explore: [
    perPage(
      'write',
      20,
      'a store filling one page; where TLBs are kept, by each thread, stopping between its COW copy and its PTE update; with threads on a SWP_SYNCHRONOUS_IO swap device, stopping between its swap read and its PTE update',
      (t, pg, x) =>
        x.tlb
          ? // which thread stores matters: its CPU's TLB may hold a stale entry
            Array.from({ length: x.threads }, (_, j) => ({
              t,
              th: x.slot(t, j),
              args: () => ({ write: pg.ref, stop: 'cow-copy' }),
              enabled: always,
            }))
          : [
              {
                t,
                args: () => ({ write: pg.ref, ...(x.threads > 1 && x.env.swap === 'sync-io' ? { stop: 'swapin' } : {}) }),
                enabled: always,
              },
            ],
    ),
  ],
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

/**
 * The store stopped in wp_page_copy() after the copy (stop: cow-copy): the
 * acting thread's record keeps the new page and the PTE the fault read; the
 * fault is counted when it completes.
 */
function cowCopyHeld(s: KState, ctx: KCtx, t: number, va: number, value: number, step: number): StepResult {
  const h = ctx.cowHeld!;
  if (ctx.thread < 0) throw new ModelBug('a write fault stopped in wp_page_copy() in a state without thread records');
  thread_stop(s, ctx.thread, t, { op: THOP_COW_COPY, mm: t, va, n: h.nw, i: h.orig, foll: value, tries: step, done: ctx.faults });
  ctx.faults = 0;
  ctx.majfaults = 0;
  ctx.stopped = true;
  return { ret: 0, signal: null, data: [], done: 0 };
}

/** The store thread slot `th` stopped in wp_page_copy() goes on (`resume`): the PTE update, then the store again. */
export function cow_copy_resume(s: KState, ctx: KCtx, t: number, th: number): StepResult {
  const r = cow_copy_finish(s, ctx, t, th);
  // the fault completes (mm_account_fault()), and the store instruction runs again
  ctx.faults += r.done + 1;
  return memAccess(s, ctx, t, r.va, 1, true, r.foll, { i: 0, step: r.tries, again: true });
}

/** The fault thread slot `th` stopped in wp_page_copy() retakes the PTE lock and maps its copy (or drops it). */
export function cow_copy_finish(s: KState, ctx: KCtx, t: number, th: number): ThreadStop {
  const r = thread_take(s, th);
  const vmf = stoppedVmf(s, t, th, r.va, FAULT_FLAG_WRITE | FAULT_FLAG_USER, r.i);
  wp_page_copy_map(s, ctx, vmf, vm_normal_page(r.i), r.n);
  return r;
}

/**
 * The store stopped in do_swap_page() after reading its page past the swap
 * cache (stop: swapin): the acting thread's record keeps the page, the swap
 * PTE the fault read and whether it holds the entry's SWAP_HAS_CACHE.
 */
function swapinHeld(s: KState, ctx: KCtx, t: number, va: number, write: boolean, value: number, step: number): StepResult {
  const h = ctx.swapinHeld!;
  if (ctx.thread < 0) throw new ModelBug('a swap fault stopped in a state without thread records');
  const done = (ctx.faults << SWAPIN_FAULTS) | (write ? SWAPIN_WRITE : 0) | (h.prepared ? SWAPIN_PREPARED : 0);
  thread_stop(s, ctx.thread, t, { op: THOP_SWAPIN, mm: t, va, n: h.pfn, i: h.orig, foll: value, tries: step, done });
  ctx.faults = 0;
  ctx.majfaults = 0;
  ctx.stopped = true;
  return { ret: 0, signal: null, data: [], done: 0 };
}

/** The access thread slot `th` stopped in do_swap_page() goes on (`resume`): the PTE lock and the mapping, then the access again. */
export function swapin_resume(s: KState, ctx: KCtx, t: number, th: number): StepResult {
  const r = thread_take(s, th);
  const write = (r.done & SWAPIN_WRITE) !== 0;
  do_swap_page_resume(s, ctx, stoppedVmf(s, t, th, r.va, FAULT_FLAG_USER | (write ? FAULT_FLAG_WRITE : 0), r.i), r.n);
  // the fault completes, a major one (read from the device), and the access runs again
  ctx.faults += (r.done >>> SWAPIN_FAULTS) + 1;
  ctx.majfaults += 1;
  return memAccess(s, ctx, t, r.va, 1, write, r.foll, { i: 0, step: r.tries, again: true });
}

/** The fault a thread stopped in at page `va` of task `t`, as it goes on: its VMA is still there (it holds mmap_lock). */
function stoppedVmf(s: KState, t: number, th: number, va: number, flags: number, orig: number): Vmf {
  const vi = vma_lookup_idx(s, t, va);
  if (vi < 0) throw new ModelBug(`thread slot ${th}: the VMA of a stopped fault went away under mmap_lock`);
  return { t, vi, vflags: vma_flags_at(s, t, vi), va, flags, orig };
}
