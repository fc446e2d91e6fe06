/** setresuid() to an unprivileged user (kernel/sys.c): see src/kernel/kernel/ptrace.ts for what it changes. */
import { z } from 'zod';
import { defineOp, ok } from './types.js';
import { task_uid, task_set_uid } from '../model/mm_types.js';
import { EPERM } from '../kernel/errno.js';
import { trace } from '../kernel/ctx.js';

/** The unprivileged user's uid and gid (nobody). */
export const NOBODY = 65534;

export const setuid = defineOp({
  name: 'setuid',
  doc: "the process drops root for an unprivileged user (setgroups(0), setresgid and setresuid to 65534, nobody; then PR_SET_DUMPABLE 1, as for a process that user started). Its children inherit it. From then on: userfaultfd() needs vm.unprivileged_userfaultfd or UFFD_USER_MODE_ONLY (else EPERM) and /dev/userfaultfd is EACCES; process_vm_readv/writev of a process of another user is EPERM and its /proc/PID/mem EACCES (ptrace_may_access; Yama's ptrace_scope applies); swapoff is EPERM; ksm-scan is EACCES (/sys/kernel/mm/ksm/run is root's). EPERM again once unprivileged (it cannot get root back). An io_uring set up afterwards is not modelled (its RLIMIT_MEMLOCK accounting)",
  primary: 'uid',
  args: { uid: z.literal(NOBODY).default(NOBODY) },
  resolve(_a, cx) {
    cx.need('root');
    cx.dropPrivileges();
    return {};
  },
  print: () => 'setuid',
  apply(s, ctx, t) {
    if (task_uid(s, t) !== 0) return ok(-EPERM);
    task_set_uid(s, t, NOBODY);
    trace(ctx, 'setresuid', `task ${t} runs as uid ${NOBODY} from now on (no capabilities)`);
    return ok();
  },
  exec: { args: [], encode: () => [] },
});
