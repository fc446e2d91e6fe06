/** fork(): dup_mmap, copy_page_range (kernel/fork.c). */
import { z } from 'zod';
import { defineOp, ok, type StepResult } from './types.js';
import { name } from './args.js';
import { do_fork, fork_resume, type ForkStop } from '../kernel/kernel/fork.js';
import type { KCtx } from '../kernel/ctx.js';
import { perProcess } from './explore.js';
import { task_state } from '../model/mm_types.js';
import { ModelBug } from '../model/bug.js';
import { thread_get, thread_set, thread_base } from '../model/threads.js';
import { TASK_FREE, type KState, TH_STOP_END, TH_TASK, TH_OP, TH_MM, TH_N, TH_I, TH_VA, THOP_FORK } from '../model/layout.js';

/** A fork's result: 0, an errno, or its stop in copy_present_pte() (kept in the thread's record). */
function forkResult(s: KState, ctx: KCtx, t: number, r: number | ForkStop): StepResult {
  if (typeof r === 'number') return ok(r);
  const th = ctx.thread;
  if (th < 0) throw new ModelBug('a fork stopped in a state without thread records');
  if (thread_get(s, th, TH_TASK) === 0) thread_set(s, th, TH_TASK, t + 1);
  thread_set(s, th, TH_OP, THOP_FORK);
  thread_set(s, th, TH_MM, t);
  thread_set(s, th, TH_N, r.child);
  thread_set(s, th, TH_I, r.vi);
  thread_set(s, th, TH_VA, r.va);
  ctx.stopped = true;
  return ok(0);
}

/** Goes on with the fork thread slot `th` stopped (`resume`); `stop`: at the next window too. */
export function fork_resume_thread(s: KState, ctx: KCtx, t: number, th: number, stop: boolean): StepResult {
  const at: ForkStop = { child: thread_get(s, th, TH_N), vi: thread_get(s, th, TH_I), va: thread_get(s, th, TH_VA) };
  s.m.fill(0, thread_base(s, th) + TH_OP, thread_base(s, th) + TH_STOP_END);
  return forkResult(s, ctx, t, fork_resume(s, ctx, t, at, stop));
}

/** The lowest process slot never used, or -1 (process slots are not reused). */
function freeSlot(s: KState): number {
  for (let t = 0; t < s.L.geo.tasks; t++) if (task_state(s, t) === TASK_FREE) return t;
  return -1;
}

export const fork = defineOp({
  name: 'fork',
  doc: "fork(): dup_mmap, copy_page_range (a new process, named by the step); stop: copy-present-pte stops the fork in copy_present_pte() after it decided to share a writable anon page with the child and before it write-protects the parent's PTE, holding the parent's mmap_lock for write, until its `resume` (model only): only GUP-fast runs on the parent's mm meanwhile",
  primary: 'child',
  args: { child: name, stop: z.literal('copy-present-pte').optional() },
  resolve(a, cx) {
    const m = { child: cx.newTask(a.child, 'fork'), stop: a.stop !== undefined };
    if (m.stop) cx.stop('copy-present-pte');
    return m;
  },
  print: (m, cx) => ({ fork: cx.task(m.child), ...(m.stop ? { stop: 'copy-present-pte' } : {}) }),
  apply: (s, ctx, t, m) => forkResult(s, ctx, t, do_fork(s, ctx, t, m.child, m.stop)),
  // dup_mmap() takes the parent's mmap_lock for write
  mmapWrite: true,
  exec: {
    args: ['child'],
    encode: (m) => [m.child],
    blocker: (m) =>
      m.stop ? 'stops inside fork between its pin check and its write-protect: user space cannot hold that window open (model only)' : null,
  },
  fuzz: {
    weight: 4,
    host: true,
    onRegion: false,
    gen(_c, x) {
      const child = x.newProc();
      return child === null ? null : { fork: child };
    },
  },
  explore: [
    perProcess(
      'fork',
      200,
      'fork() (the k-th fork creates process Pk); with threads, it stops before write-protecting each writable anon page',
      (t, x) => [
        {
          t,
          ...(x.threads > 1 ? { th: x.slot(t, 0) } : {}),
          args: (s) => ({ fork: x.proc(freeSlot(s)), ...(x.threads > 1 ? { stop: 'copy-present-pte' } : {}) }),
          enabled: (s) => freeSlot(s) >= 0,
          dynamic: true,
        },
      ],
    ),
  ],
});
