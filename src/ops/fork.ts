/** fork(): dup_mmap, copy_page_range (kernel/fork.c). */
import { z } from 'zod';
import { defineOp, ok, type StepResult } from './types.js';
import { name } from './args.js';
import { do_fork, fork_resume, type ForkStop, type ForkStopKind } from '../kernel/kernel/fork.js';
import type { KCtx } from '../kernel/ctx.js';
import { perProcess } from './explore.js';
import { task_state } from '../model/mm_types.js';
import { ModelBug } from '../model/bug.js';
import { thread_get, thread_set, thread_base } from '../model/threads.js';
import {
  TASK_FREE,
  type KState,
  TH_STOP_END,
  TH_TASK,
  TH_OP,
  TH_MM,
  TH_N,
  TH_I,
  TH_VA,
  TH_FOLL,
  THOP_FORK,
  FORK_STOP_SHARE,
  FORK_STOP_COPY,
} from '../model/layout.js';
import { fill_words } from '../model/layout.js';

/** The windows a fork stops in, by name (docs/scenario-format.md, "Threads and the kernel's windows"). */
export const FORK_WINDOWS = { 'copy-present-pte': FORK_STOP_SHARE, 'copy-present-page': FORK_STOP_COPY } as const;
export type ForkWindow = keyof typeof FORK_WINDOWS;
/** The name of the window a fork stopped in (its thread record's TH_FOLL). */
export const forkWindowName = (kind: number): ForkWindow => (kind === FORK_STOP_COPY ? 'copy-present-page' : 'copy-present-pte');

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
  thread_set(s, th, TH_FOLL, r.kind);
  ctx.stopped = true;
  return ok(0);
}

/** Goes on with the fork thread slot `th` stopped (`resume`); `stop`: at the next window too. */
export function fork_resume_thread(s: KState, ctx: KCtx, t: number, th: number, stop: boolean): StepResult {
  const at: ForkStop = {
    child: thread_get(s, th, TH_N),
    vi: thread_get(s, th, TH_I),
    va: thread_get(s, th, TH_VA),
    kind: thread_get(s, th, TH_FOLL) as ForkStopKind,
  };
  fill_words(s, 0, thread_base(s, th) + TH_OP, thread_base(s, th) + TH_STOP_END);
  return forkResult(s, ctx, t, fork_resume(s, ctx, t, at, stop));
}

/** The lowest process slot never used, or -1 (process slots are not reused). */
function freeSlot(s: KState): number {
  for (let t = 0; t < s.L.geo.tasks; t++) if (task_state(s, t) === TASK_FREE) return t;
  return -1;
}

export const fork = defineOp({
  name: 'fork',
  doc: "fork(): dup_mmap, copy_page_range (a new process, named by the step); stop: copy-present-pte stops the fork in copy_present_pte() after it decided to share a writable anon page with the child and before it write-protects the parent's PTE; stop: copy-present-page stops it after it gave the child a copy of a page that may be pinned (copy_present_page), before the next page. Either holds the parent's mmap_lock for write until its `resume` (model only): only GUP-fast and other threads' loads and stores that need no fault run on the parent's mm meanwhile",
  primary: 'child',
  args: { child: name, stop: z.enum(['copy-present-pte', 'copy-present-page']).optional() },
  resolve(a, cx) {
    const m = { child: cx.newTask(a.child, 'fork'), stop: a.stop !== undefined, kind: a.stop ? FORK_WINDOWS[a.stop] : 0 };
    if (a.stop) cx.stop(a.stop);
    return m;
  },
  print: (m, cx) => ({ fork: cx.task(m.child), ...(m.stop ? { stop: forkWindowName(m.kind) } : {}) }),
  apply: (s, ctx, t, m) => forkResult(s, ctx, t, do_fork(s, ctx, t, m.child, m.kind as ForkStopKind)),
  // dup_mmap() takes the parent's mmap_lock for write
  mmapWrite: true,
  exec: {
    args: ['child'],
    encode: (m) => [m.child],
    blocker: (m) =>
      m.stop
        ? m.kind === FORK_STOP_COPY
          ? 'stops inside fork between the copies of two pages: user space cannot hold that window open (model only)'
          : 'stops inside fork between its pin check and its write-protect: user space cannot hold that window open (model only)'
        : null,
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
    perProcess(
      'fork-copy',
      200,
      "fork() by P0's last thread (with threads), stopping after each page it copies for the child (copy_present_page: pages that may be pinned), so that P0's other threads store between two copies",
      (t, x) =>
        t === 0 && x.threads > 1
          ? [
              {
                t,
                th: x.slot(t, x.threads - 1),
                args: (s) => ({ fork: x.proc(freeSlot(s)), stop: 'copy-present-page' }),
                enabled: (s) => freeSlot(s) >= 0,
                dynamic: true,
              },
            ]
          : [],
    ),
  ],
});
