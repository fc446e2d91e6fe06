/** setresuid() to an unprivileged user (kernel/sys.c): see src/kernel/kernel/ptrace.ts for what it changes. */
import { z } from 'zod';
import { defineOp, ok } from './types.js';
import { task_uid, task_set_uid, task_set_memlock } from '../model/mm_types.js';
import { EPERM } from '../kernel/errno.js';
import { trace } from '../kernel/ctx.js';

/** The model's unprivileged uid (nobody's); the executor gives each run a uid of its own (executor/run.c). */
export const NOBODY = 65534;

/** RLIMIT_MEMLOCK set with the uid, in KiB: the upstream default since 5.16 (8 MiB). */
export const DEFAULT_MEMLOCK_KB = 8192;

export const setuid = defineOp({
  name: 'setuid',
  doc: "the process drops root for an unprivileged user (setrlimit(RLIMIT_MEMLOCK) to `memlock` KiB, default 8192, the upstream default since 5.16; then setgroups(0), setresgid to 65534 (nogroup) and setresuid to a uid without root's capabilities, the same for every process of the run: the executor takes 1000000 + its run's pid, so that no other run, before or beside it, shares that user's locked_vm; then PR_SET_DUMPABLE 1, as for a process that user started). Its children inherit both. From then on: userfaultfd() needs vm.unprivileged_userfaultfd or UFFD_USER_MODE_ONLY (else EPERM) and /dev/userfaultfd is EACCES; process_vm_readv/writev of a process of another user is EPERM and its /proc/PID/mem EACCES (ptrace_may_access; Yama's ptrace_scope applies); swapoff is EPERM; ksm-scan is EACCES (/sys/kernel/mm/ksm/run is root's); an io_uring it sets up charges the user's locked_vm against RLIMIT_MEMLOCK (gup.iouringAcctFolios, gup.iouringAcctRing: ENOMEM past it) and kernel.io_uring_disabled may refuse it (EPERM). EPERM again once unprivileged (it cannot get root back)",
  primary: 'uid',
  args: {
    uid: z.literal(NOBODY).default(NOBODY),
    memlock: z
      .number()
      .int()
      .min(4)
      .max(1 << 20)
      .multipleOf(4)
      .default(DEFAULT_MEMLOCK_KB),
  },
  resolve(a, cx) {
    cx.need('root');
    return { memlock: a.memlock };
  },
  print: (m) => (m.memlock === DEFAULT_MEMLOCK_KB ? 'setuid' : { setuid: NOBODY, memlock: m.memlock }),
  apply(s, ctx, t, m) {
    if (task_uid(s, t) !== 0) return ok(-EPERM);
    task_set_memlock(s, t, m.memlock / 4);
    task_set_uid(s, t, NOBODY);
    trace(ctx, 'setresuid', `task ${t} runs as uid ${NOBODY} from now on (no capabilities), RLIMIT_MEMLOCK ${m.memlock} KiB`);
    return ok();
  },
  exec: { args: ['memlock'], encode: (m) => [m.memlock] },
});
