/**
 * Threads: several tasks of one thread group share an mm, and an operation
 * one of them performs may stop in a window where the kernel has dropped
 * its locks or rescheduled (cond_resched() in __get_user_pages) while
 * another thread runs. cowlab keeps a record per thread slot (layout.ts,
 * TH_*): which task's mm the thread shares, and the operation stopped in a
 * window with what it needs to go on. A stopped operation holds the
 * mmap_lock of the mm it walks for read, as the kernel's does across
 * cond_resched(): nothing that takes that lock for write can run until it
 * goes on.
 */
import { type KState, THREAD_WORDS, TH_TASK, TH_OP, TH_MM, TH_N, TH_VA, THOP_NONE, THOP_FORK } from './layout.js';

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
  return s.m[thread_base(s, th) + f]!;
}

export function thread_set(s: KState, th: number, f: number, v: number): void {
  s.m[thread_base(s, th) + f] = v;
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
    if (s.m[o + TH_OP] === THOP_NONE || s.m[o + TH_MM] !== t) continue;
    if (!exiting || s.m[o + TH_TASK] !== t + 1) return true;
  }
  return false;
}

/** Frees what task `t`'s threads held (exit_group(): a thread stopped in GUP sees the fatal signal and gives up). */
export function exit_threads(s: KState, t: number): void {
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    if (s.m[o + TH_TASK] === t + 1) s.m.fill(0, o + TH_OP, o + THREAD_WORDS);
  }
}

/** A fork stopped in a window holds task `mm`'s mmap_lock for write: its thread slot, or -1. */
export function mmap_write_holder(s: KState, mm: number): number {
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    if (s.m[o + TH_OP] === THOP_FORK && s.m[o + TH_MM] === mm) return th;
  }
  return -1;
}

/** A fork of task `t` stopped in copy_present_pte() at page `va` (its PTE is still writable though the page is shared). */
export function fork_stopped_at(s: KState, t: number, va: number): boolean {
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    if (s.m[o + TH_OP] === THOP_FORK && s.m[o + TH_MM] === t && s.m[o + TH_VA] === va) return true;
  }
  return false;
}

/** Task `t` is the child of a fork stopped in a window: it does not run before the fork returns. */
export function task_forking(s: KState, t: number): boolean {
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    if (s.m[o + TH_OP] === THOP_FORK && s.m[o + TH_N] === t) return true;
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
