/**
 * Threads (src/model/threads.ts): pthread_create() of a thread sharing the
 * process's mm (clone(CLONE_VM | CLONE_THREAD | ...), kernel/fork.c), and a
 * thread going on with the operation it stopped in one of the kernel's
 * windows.
 */
import { z } from 'zod';
import { defineOp, ok } from './types.js';
import { name } from './args.js';
import { perProcess } from './explore.js';
import {
  TH_TASK,
  THOP_MEM_WRITE,
  THOP_FORK,
  THOP_USER_FAULT,
  THOP_DIO_FAULT,
  THOP_GUP_FAST,
  THOP_COLLAPSE,
  THOP_DEFERRED_FLUSH,
  THOP_COW_COPY,
  THOP_SWAPIN,
  THOP_ZAP_FLUSH,
  TH_FOLL,
  type KState,
} from '../model/layout.js';
import { thread_set, thread_get, thread_stopped } from '../model/threads.js';
import { trace } from '../kernel/ctx.js';
import { ModelBug } from '../model/bug.js';
import { mem_write_resume } from './remote.js';
import { fork_resume_thread, forkWindowName } from './fork.js';
import { user_fault_resume, cow_copy_resume, swapin_resume } from './write.js';
import { writeprotect_resume_thread } from './uffd.js';
import { dio_fault_resume } from './odirect.js';
import { gup_fast_resume_thread } from './gup-test.js';
import { collapse_resume_thread } from './khugepaged.js';
import { zap_flush_resume_thread } from './madvise.js';

export const thread = defineOp({
  name: 'thread',
  doc: 'pthread_create(): a new thread NAME of the process, sharing its mm; steps name it like a process, and the executor runs them on that thread (a fork by it gives the child that thread alone)',
  primary: 'name',
  args: { name },
  resolve(a, cx) {
    const { slot, index } = cx.newThread(a.name);
    return { name: a.name, th: slot, index };
  },
  print: (m) => ({ thread: m.name }),
  apply(s, ctx, t, m) {
    thread_set(s, m.th, TH_TASK, t + 1);
    trace(ctx, 'copy_process', `CLONE_VM|CLONE_THREAD: thread ${m.name} shares task ${t}'s mm`);
    return ok();
  },
  // the new thread's number in its process (1, 2, ... in the order the process creates them; 0 is its main thread)
  exec: { args: ['thread'], encode: (m) => [m.index] },
});

/** The windows an operation may stop in, by the operation stopped there (THOP_*). */
const WINDOWS = ['gup-retry', 'copy-present-pte', 'copy-present-page'] as const;
/** The window thread slot `th` stopped in, if its operation has more than one (a fork's is in its record). */
function windowOf(s: KState, th: number): (typeof WINDOWS)[number] | undefined {
  const op = thread_stopped(s, th);
  if (op === THOP_MEM_WRITE) return 'gup-retry';
  if (op === THOP_FORK) return forkWindowName(thread_get(s, th, TH_FOLL));
  return undefined;
}
// (a GUP-fast, a collapse, a fault held by its monitor, a UFFDIO_WRITEPROTECT before its flush and a COW copy
// stop in one window each: their resume goes to the end)

export const resume = defineOp({
  name: 'resume',
  doc: 'the thread goes on with the operation it stopped in a window (`stop:` of its earlier step): to the end, or with stop: to the next window; nothing when the operation ended without reaching a window on this kernel. A store held by its uffd monitor (stop: uffd) goes on once a uffd-unwp woke it (an earlier step; the resume waits for it otherwise), retrying its fault with FAULT_FLAG_TRIED',
  primary: null,
  args: { stop: z.enum(WINDOWS).optional() },
  resolve(a, cx) {
    // (with stop:, whether it stops again depends on the kernel: later steps of the thread wait for a resume if it did)
    const from = cx.resume(a.stop !== undefined);
    const uffd = from === 'uffd';
    return a.stop !== undefined ? { stop: true, window: a.stop, uffd } : { stop: false, uffd };
  },
  print: (m) => (m.stop ? { resume: null, stop: m.window } : 'resume'),
  apply(s, ctx, t, m) {
    const th = ctx.thread;
    const what = thread_stopped(s, th);
    if (what === THOP_MEM_WRITE) return mem_write_resume(s, ctx, t, th, m.stop);
    if (what === THOP_FORK) return fork_resume_thread(s, ctx, t, th, m.stop);
    if (what === THOP_USER_FAULT) return user_fault_resume(s, ctx, t, th);
    if (what === THOP_DIO_FAULT) return dio_fault_resume(s, ctx, t, th);
    if (what === THOP_GUP_FAST) return gup_fast_resume_thread(s, ctx, t, th);
    if (what === THOP_COLLAPSE) return collapse_resume_thread(s, ctx, t, th);
    if (what === THOP_DEFERRED_FLUSH) return writeprotect_resume_thread(s, ctx, t, th);
    if (what === THOP_COW_COPY) return cow_copy_resume(s, ctx, t, th);
    if (what === THOP_SWAPIN) return swapin_resume(s, ctx, t, th);
    if (what === THOP_ZAP_FLUSH) return zap_flush_resume_thread(s, ctx, th);
    if (what !== 0) throw new ModelBug(`thread slot ${th}: no way to go on with stopped operation ${what}`);
    // the operation ended without reaching the window on this kernel (no fault was needed): nothing to go on with
    trace(ctx, 'resume', 'the thread has no operation stopped in a window (it ran to its end)');
    return ok();
  },
  // the executor wakes the held fault (its uffd-unwp used UFFDIO_WRITEPROTECT_MODE_DONTWAKE) and waits for the thread's store to end
  exec: {
    args: [],
    encode: () => [],
    blocker: (m) => (m.uffd ? null : 'goes on with an operation stopped inside the kernel (model only)'),
  },
  explore: [
    perProcess(
      'resume',
      5,
      'a thread goes on with the operation it stopped in a window, to the next window',
      (t, x) =>
        Array.from({ length: x.threads > 1 ? x.threads : 0 }, (_, j) => ({
          t,
          th: x.slot(t, j),
          args: (s) => {
            const w = windowOf(s, x.slot(t, j));
            return w ? { resume: null, stop: w } : 'resume';
          },
          dynamic: true,
          enabled: (s) => thread_stopped(s, x.slot(t, j)) !== 0,
        })),
      {
        impliedBy: [
          'proc-mem-write',
          'fork',
          'fork-copy',
          'dontneed-flush',
          'khugepaged',
          'collapse',
          'pin-fast',
          'uffd-wp',
          'uffd-unwp',
          'clear-refs',
          'write',
        ],
      },
    ),
  ],
});
