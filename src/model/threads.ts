/**
 * Threads: several tasks of one thread group share an mm, and an operation
 * one of them performs may stop in a window where the kernel has dropped
 * its locks or rescheduled (cond_resched() in __get_user_pages) while
 * another thread runs. cowlab keeps a record per thread slot (layout.ts,
 * TH_*): which task's mm the thread shares, and the operation stopped in a
 * window with what it needs to go on. A stopped operation holds the
 * mmap_lock of the mm it walks for read, as the kernel's does across
 * cond_resched(): nothing that takes that lock for write can run until it
 * goes on. A user fault waiting for its userfaultfd monitor has dropped it.
 */
import {
  type KState,
  THREAD_WORDS,
  TH_STOP_END,
  TH_TASK,
  TH_OP,
  TH_MM,
  TH_N,
  TH_VA,
  TH_I,
  TH_DONE,
  TH_FOLL,
  TH_TRIES,
  THOP_NONE,
  THOP_FORK,
  THOP_USER_FAULT,
  THOP_DIO_FAULT,
  THOP_GUP_FAST,
  THOP_COLLAPSE,
  THOP_COW_COPY,
  THOP_ZAP_FLUSH,
  THOP_DEFERRED_FLUSH,
  THOP_SWAPIN,
  UF_WOKEN,
} from './layout.js';
import { pte_pfn, pte_swp_slot } from './pte.js';
import { ld, st, fill_words } from './layout.js';

/** A stopped operation that holds no lock: a fault waiting for its uffd monitor, or a GUP-fast (interrupts off only). */
export function holds_no_lock(op: number): boolean {
  return userfault_op(op) || op === THOP_GUP_FAST;
}

/** A stopped operation that waits in handle_userfault() for its monitor (it holds no lock). */
export function userfault_op(op: number): boolean {
  return op === THOP_USER_FAULT || op === THOP_DIO_FAULT;
}

/** Thread slots of the state (0 when the geometry keeps none). */
export function nr_threads(s: KState): number {
  return s.L.geo.threads ?? 0;
}

/** Offset of thread slot `th`'s record. */
export function thread_base(s: KState, th: number): number {
  return s.L.threads + th * THREAD_WORDS;
}

/** A field of thread slot `th`. */
export function thread_get(s: KState, th: number, f: number): number {
  return ld(s, thread_base(s, th) + f);
}

export function thread_set(s: KState, th: number, f: number, v: number): void {
  st(s, thread_base(s, th) + f, v);
}

/** The task thread slot `th` belongs to, or -1 for a free slot. */
export function thread_task(s: KState, th: number): number {
  return nr_threads(s) ? thread_get(s, th, TH_TASK) - 1 : -1;
}

/** The operation thread slot `th` has stopped in a window (THOP_*). */
export function thread_stopped(s: KState, th: number): number {
  return th >= 0 && th < nr_threads(s) ? thread_get(s, th, TH_OP) : THOP_NONE;
}

/**
 * Task `t` may not take its mmap_lock for write: a thread stopped in a
 * window holds it for read (`exiting`: exit_group() ends t's own threads
 * first, so only another process's thread inside t's mm holds it).
 */
export function mmap_write_blocked(s: KState, t: number, exiting: boolean): boolean {
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    // (a fault waiting in handle_userfault() dropped the lock)
    if (ld(s, o + TH_OP) === THOP_NONE || holds_no_lock(ld(s, o + TH_OP)) || ld(s, o + TH_MM) !== t) continue;
    if (!exiting || ld(s, o + TH_TASK) !== t + 1) return true;
  }
  return false;
}

/** Frees what task `t`'s threads held (exit_group(): a thread stopped in GUP sees the fatal signal and gives up). */
export function exit_threads(s: KState, t: number): void {
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    if (ld(s, o + TH_TASK) === t + 1) fill_words(s, 0, o + TH_OP, o + THREAD_WORDS);
  }
}

/** A fork, a collapse or a clear_refs (29a951dfb3c3+) stopped in a window holds task `mm`'s mmap_lock for write: its thread slot, or -1. */
export function mmap_write_holder(s: KState, mm: number): number {
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    const op = ld(s, o + TH_OP);
    const writer = op === THOP_FORK || op === THOP_COLLAPSE || (op === THOP_DEFERRED_FLUSH && (ld(s, o + TH_DONE) & DF_WRITE_LOCK) !== 0);
    if (writer && ld(s, o + TH_MM) === mm) return th;
  }
  return -1;
}

/** TH_DONE bit of THOP_DEFERRED_FLUSH: the walk holds the mmap_lock for write (src/ops/uffd.ts) */
export const DF_WRITE_LOCK = 2;

/** A fork of task `t` stopped in copy_present_pte() at page `va` (its PTE is still writable though the page is shared). */
export function fork_stopped_at(s: KState, t: number, va: number): boolean {
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    if (ld(s, o + TH_OP) === THOP_FORK && ld(s, o + TH_MM) === t && ld(s, o + TH_VA) === va) return true;
  }
  return false;
}

/** The thread slot stopped in operation `op` (a THOP_*) on task `mm`'s mm, or -1. */
export function thread_stopped_on(s: KState, op: number, mm: number): number {
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    if (ld(s, o + TH_OP) === op && ld(s, o + TH_MM) === mm) return th;
  }
  return -1;
}

/** Task `t` is the child of a fork stopped in a window: it does not run before the fork returns. */
export function task_forking(s: KState, t: number): boolean {
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    if (ld(s, o + TH_OP) === THOP_FORK && ld(s, o + TH_N) === t) return true;
  }
  return false;
}

/**
 * The step cannot go on: it needs a lock a thread stopped in a window holds
 * (a scenario that orders it so waits for ever; the explorer leaves the
 * interleaving out, as the kernel never runs it).
 */
export class WouldBlock extends Error {
  override readonly name = 'WouldBlock';
}

/**
 * wake_userfault() (fs/userfaultfd.c, every era with uffd-wp): a
 * UFFDIO_WRITEPROTECT(mode 0) without DONTWAKE over [start, end) of task
 * `t`'s mm wakes the faults waiting there; each goes on at its `resume`.
 */
export function wake_userfault(s: KState, t: number, start: number, end: number): void {
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    if (!userfault_op(ld(s, o + TH_OP)) || ld(s, o + TH_MM) !== t) continue;
    const va = ld(s, o + TH_VA) + ld(s, o + TH_I);
    if (va >= start && va < end) st(s, o + TH_DONE, ld(s, o + TH_DONE) | UF_WOKEN);
  }
}

/** Thread slot `th` waits in handle_userfault() and nothing has woken it yet: the page it waits on, else -1. */
export function userfault_waiting(s: KState, th: number): number {
  if (!userfault_op(thread_stopped(s, th)) || thread_get(s, th, TH_DONE) & UF_WOKEN) return -1;
  return thread_get(s, th, TH_VA) + thread_get(s, th, TH_I);
}

/**
 * What a stopped operation keeps in its thread's record (layout.ts TH_*):
 * its THOP_*, the mm it acts on, and five words whose meaning is the
 * operation's (layout.ts says it for each THOP_*).
 */
export interface ThreadStop {
  op: number;
  mm: number;
  va: number;
  n: number;
  i: number;
  foll: number;
  tries: number;
  done: number;
}

/** Thread slot `th` of task `t` stops with `rec` (the slot is taken for t if it was free). */
export function thread_stop(s: KState, th: number, t: number, rec: ThreadStop): void {
  if (thread_get(s, th, TH_TASK) === 0) thread_set(s, th, TH_TASK, t + 1);
  thread_set(s, th, TH_OP, rec.op);
  thread_set(s, th, TH_MM, rec.mm);
  thread_set(s, th, TH_VA, rec.va);
  thread_set(s, th, TH_N, rec.n);
  thread_set(s, th, TH_I, rec.i);
  thread_set(s, th, TH_FOLL, rec.foll);
  thread_set(s, th, TH_TRIES, rec.tries);
  thread_set(s, th, TH_DONE, rec.done);
}

/** The record of the operation thread slot `th` stopped with, which goes on now: the record is cleared. */
export function thread_take(s: KState, th: number): ThreadStop {
  const rec: ThreadStop = {
    op: thread_get(s, th, TH_OP),
    mm: thread_get(s, th, TH_MM),
    va: thread_get(s, th, TH_VA),
    n: thread_get(s, th, TH_N),
    i: thread_get(s, th, TH_I),
    foll: thread_get(s, th, TH_FOLL),
    tries: thread_get(s, th, TH_TRIES),
    done: thread_get(s, th, TH_DONE),
  };
  fill_words(s, 0, thread_base(s, th) + TH_OP, thread_base(s, th) + TH_STOP_END);
  return rec;
}

/** What an operation waiting in handle_userfault() keeps in its thread's record (layout.ts, THOP_USER_FAULT). */
export interface UserfaultWait {
  op: number;
  /** the first page of the operation, its pages, and the page held (from the first) */
  va: number;
  n: number;
  i: number;
  /** two words of the operation's own (TH_FOLL, TH_TRIES) */
  a: number;
  b: number;
  /** faults taken before it waited: the kernel counts them when the operation ends */
  faults: number;
  majfaults: number;
}

/** TH_DONE of a waiting operation: the wake bit, its faults from FAULT_SHIFT, its major faults from MAJ_SHIFT */
const FAULT_SHIFT = 1;
const MAJ_SHIFT = 16;

/** Thread slot `th` of task `t` waits in handle_userfault() (its monitor holds the fault). */
export function userfault_wait(s: KState, th: number, t: number, w: UserfaultWait): void {
  const done = (w.faults << FAULT_SHIFT) | (w.majfaults << MAJ_SHIFT);
  thread_stop(s, th, t, { op: w.op, mm: t, va: w.va, n: w.n, i: w.i, foll: w.a, tries: w.b, done });
}

/** The operation thread slot `th` waits with, once woken (`resume`): its record, now cleared. */
export function userfault_woken(s: KState, th: number): UserfaultWait | null {
  if (!userfault_op(thread_stopped(s, th)) || (thread_get(s, th, TH_DONE) & UF_WOKEN) === 0) return null;
  const r = thread_take(s, th);
  return {
    op: r.op,
    va: r.va,
    n: r.n,
    i: r.i,
    a: r.foll,
    b: r.tries,
    faults: (r.done >> FAULT_SHIFT) & ((1 << (MAJ_SHIFT - FAULT_SHIFT)) - 1),
    majfaults: r.done >>> MAJ_SHIFT,
  };
}

/** Another thread than `self` stopped in a swap-in past the swap cache holds slot `slot`'s SWAP_HAS_CACHE (13ddaf26be32). */
export function swapin_stopped_on(s: KState, slot: number, self: number): boolean {
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    if (th === self || ld(s, o + TH_OP) !== THOP_SWAPIN || (ld(s, o + TH_DONE) & SWAPIN_PREPARED) === 0) continue;
    if (pte_swp_slot(ld(s, o + TH_I)) === slot) return true;
  }
  return false;
}

/** TH_DONE bits of THOP_SWAPIN: a store, and the entry's SWAP_HAS_CACHE taken; the faults before it from SWAPIN_FAULTS */
export const SWAPIN_WRITE = 1;
export const SWAPIN_PREPARED = 2;
export const SWAPIN_FAULTS = 2;

/**
 * The page references operations stopped in a window hold, one entry per
 * reference: a collapse's new folio, a COW copy's new page and
 * do_wp_page()'s reference on the old one, a swap-in's page.
 */
export function stopped_page_refs(s: KState): { pfn: number; what: string }[] {
  const out: { pfn: number; what: string }[] = [];
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    const op = ld(s, o + TH_OP);
    if (op === THOP_COLLAPSE) out.push({ pfn: ld(s, o + TH_N), what: 'the collapse stopped with its new folio' });
    else if (op === THOP_COW_COPY) {
      out.push({ pfn: ld(s, o + TH_N), what: 'the COW copy stopped with its new page' });
      out.push({ pfn: pte_pfn(ld(s, o + TH_I)), what: 'the COW copy stopped with the old page' });
    } else if (op === THOP_SWAPIN) out.push({ pfn: ld(s, o + TH_N), what: 'the swap-in stopped with the page it read' });
    else if (op === THOP_ZAP_FLUSH && ld(s, o + TH_N))
      out.push({ pfn: ld(s, o + TH_N), what: 'the MADV_DONTNEED stopped with the page it gathered' });
  }
  return out;
}
