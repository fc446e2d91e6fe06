/**
 * kernel/ptrace.c ptrace_may_access() with PTRACE_MODE_ATTACH, as
 * process_vm_readv/writev (mm_access, PTRACE_MODE_ATTACH_REALCREDS) and an
 * open of /proc/PID/mem (PTRACE_MODE_ATTACH_FSCREDS) use it (every era;
 * read in 6.18 __ptrace_may_access and security/yama/yama_lsm.c).
 */
import type { KState } from '../../model/layout.js';
import { task_uid, task_parent } from '../../model/mm_types.js';
import { type KCtx, trace } from '../ctx.js';

/** Whether `a` is an ancestor of `d` (Yama's task_is_descendant(), the relational scope). */
function task_is_descendant(s: KState, a: number, d: number): boolean {
  for (let t = task_parent(s, d); t >= 0; t = task_parent(s, t)) if (t === a) return true;
  return false;
}

/**
 * May `caller` attach to `target`? Its own thread group always; otherwise
 * the uids must match unless the caller has CAP_SYS_PTRACE (root), the
 * target must be dumpable (the executor keeps every process dumpable, as a
 * process an unprivileged user starts is), and Yama's ptrace_scope
 * (env.ptraceScope) may restrict it further: 1 to descendants, 2 to
 * CAP_SYS_PTRACE, 3 to nobody.
 */
export function ptrace_may_access(s: KState, ctx: KCtx, caller: number, target: number): boolean {
  if (caller === target) return true;
  const uid = task_uid(s, caller);
  const privileged = uid === 0;
  const deny = (why: string): boolean => {
    trace(ctx, 'ptrace_may_access', `task ${caller} (uid ${uid}) may not attach to task ${target}: ${why}`);
    return false;
  };
  if (!privileged && task_uid(s, target) !== uid) return deny(`uid ${task_uid(s, target)}, and no CAP_SYS_PTRACE`);
  const scope = ctx.env.ptraceScope;
  if (scope === 3) return deny('yama ptrace_scope 3 (no attach)');
  if (scope === 2 && !privileged) return deny('yama ptrace_scope 2 (CAP_SYS_PTRACE only)');
  if (scope === 1 && !privileged && !task_is_descendant(s, caller, target)) return deny('yama ptrace_scope 1: not a descendant');
  return true;
}
