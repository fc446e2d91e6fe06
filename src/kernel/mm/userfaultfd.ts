/**
 * fs/userfaultfd.c and mm/userfaultfd.c: write-protect mode (6.18,
 * docs/kernel/vm-ops.md 8). The scenario process runs a monitor thread that
 * answers every write-protect fault with UFFDIO_WRITEPROTECT(mode=0) on the
 * faulting page, which is what the executor does too.
 */
import type { KState } from '../../model/layout.js';
import {
  UFFD_CTX_OPEN,
  UFFD_CTX_NOAPI,
  UFFD_CTX_USER_MODE_ONLY,
  UFFD_FEATURE_WP_UNPOPULATED,
  UFFD_FEATURE_WP_ASYNC,
} from '../../model/layout.js';
import { vmas_of, task_uffd, task_set_uffd, task_uid, VM_UFFD_WP, VM_MAYWRITE, type Vma } from '../../model/mm_types.js';
import { type KCtx, trace } from '../ctx.js';
import { type Vmf, VM_FAULT_RETRY, VM_FAULT_SIGBUS, FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_USER, FAULT_FLAG_WRITE } from './memory.js';
import { vma_modify, range_mapped } from './mmap.js';
import {
  change_protection,
  range_has_pinned_writable,
  MM_CP_UFFD_WP,
  MM_CP_UFFD_WP_RESOLVE,
  MM_CP_TRY_CHANGE_WRITABLE,
  MM_CP_VM_FLAGS_PROT,
  vma_wants_manual_pte_write_upgrade,
} from './mprotect.js';
import { EINVAL, ENOENT, EPERM, EBUSY, EBADF, EACCES } from '../errno.js';
import { nr_threads, wake_userfault } from '../../model/threads.js';
import { flush_tlb_range } from '../arch/x86/mm/tlb.js';

/** How the userfaultfd is opened: the syscall's UFFD_USER_MODE_ONLY flag, and /dev/userfaultfd instead of the syscall. */
export interface UffdOpen {
  userModeOnly?: boolean;
  dev?: boolean;
}

/** userfaultfd() (or /dev/userfaultfd's USERFAULTFD_IOC_NEW) + UFFDIO_API with the given features. */
export function userfaultfd_open(s: KState, ctx: KCtx, t: number, features: number, open: UffdOpen = {}): number {
  if (task_uffd(s, t) & UFFD_CTX_OPEN) return -EBUSY;
  const mech = ctx.prof.mech;
  const privileged = task_uid(s, t) === 0;
  // /dev/userfaultfd is mode 0600, root's: the open is refused by the file's permissions
  if (open.dev && mech.uffd.devNode && !privileged) {
    trace(ctx, 'userfaultfd', 'open("/dev/userfaultfd") by an unprivileged process: -EACCES');
    return -EACCES;
  }
  // /dev/userfaultfd (6.1): the device node does not exist before
  if (open.dev && !mech.uffd.devNode) {
    trace(ctx, 'userfaultfd', 'no /dev/userfaultfd: open() fails with -ENOENT');
    return -ENOENT;
  }
  // the syscall checks its caller first (userfaultfd_syscall_allowed(), 5.2+): vm.unprivileged_userfaultfd,
  // or (5.11+) UFFD_USER_MODE_ONLY, or CAP_SYS_PTRACE
  if (!open.dev && !privileged && !ctx.env.unprivilegedUserfaultfd && !(open.userModeOnly && mech.uffd.userModeOnly)) {
    trace(ctx, 'userfaultfd', 'vm.unprivileged_userfaultfd 0, no UFFD_USER_MODE_ONLY, no CAP_SYS_PTRACE: -EPERM');
    return -EPERM;
  }
  // new_userfaultfd(): flags it does not know are -EINVAL (UFFD_USER_MODE_ONLY from 5.11)
  if (open.userModeOnly && !mech.uffd.userModeOnly) {
    trace(ctx, 'userfaultfd', 'UFFD_USER_MODE_ONLY unknown: -EINVAL');
    return -EINVAL;
  }
  // UFFDIO_API refuses features the kernel does not have
  if ((features & UFFD_FEATURE_WP_UNPOPULATED && !mech.uffd.wpUnpopulated) || (features & UFFD_FEATURE_WP_ASYNC && !mech.uffd.wpAsync)) {
    // the fd stays open, not initialised: userfaultfd_ioctl() refuses everything but UFFDIO_API
    task_set_uffd(s, t, UFFD_CTX_OPEN | UFFD_CTX_NOAPI);
    trace(ctx, 'userfaultfd_api', 'unknown feature: -EINVAL, the context stays uninitialised');
    return -EINVAL;
  }
  let f = features;
  if (f & UFFD_FEATURE_WP_ASYNC) f |= UFFD_FEATURE_WP_UNPOPULATED; // WP_ASYNC implies WP_UNPOPULATED
  task_set_uffd(s, t, UFFD_CTX_OPEN | f | (open.userModeOnly ? UFFD_CTX_USER_MODE_ONLY : 0));
  trace(ctx, 'userfaultfd_api', `features ${f}`);
  return 0;
}

/** UFFDIO_REGISTER with UFFDIO_REGISTER_MODE_WP over [start, end). */
export function userfaultfd_register(s: KState, ctx: KCtx, t: number, start: number, end: number): number {
  if ((task_uffd(s, t) & UFFD_CTX_OPEN) === 0) return -EBADF; // no userfaultfd in this process
  if (task_uffd(s, t) & UFFD_CTX_NOAPI) return -EINVAL;
  if (!ctx.prof.mech.uffd.wp) return -EINVAL; // UFFDIO_REGISTER_MODE_WP unknown before 5.7

  if (end <= start) return -EINVAL;
  const vmas = vmas_of(s, t).filter((v) => v.end > start && v.start < end);
  if (vmas.length === 0) return -EINVAL;
  for (const v of vmas) {
    // vma_can_userfault(): anon and shmem; file mappings only with WP_ASYNC
    if (v.file >= 0 && (task_uffd(s, t) & UFFD_FEATURE_WP_ASYNC) === 0 && !isShmemVma(s, v.file)) return -EINVAL;
    if (v.file >= 0 && isShmemVma(s, v.file) && !ctx.prof.mech.uffd.wpShmem) return -EINVAL; // before 5.19: anon only
    if ((v.flags & VM_MAYWRITE) === 0) return -EPERM;
  }
  vma_modify(s, t, start, end, (v) => ({ ...v, flags: v.flags | VM_UFFD_WP }), ctx);
  trace(ctx, 'userfaultfd_register', `pages ${start}..${end - 1} registered for write-protect`);
  return 0;
}

import { file_flags } from '../../model/mm_types.js';
import { FF_SHMEM } from '../../model/layout.js';
function isShmemVma(s: KState, f: number): boolean {
  return (file_flags(s, f) & FF_SHMEM) !== 0;
}

/**
 * UFFDIO_WRITEPROTECT -> mwriteprotect_range() -> uffd_wp_range():
 * protect, or resolve and, where can_change_pte_writable(), make writable.
 */
export function mwriteprotect_range(s: KState, ctx: KCtx, t: number, start: number, end: number, wp: boolean): number {
  if ((task_uffd(s, t) & UFFD_CTX_OPEN) === 0) return -EBADF;
  if (task_uffd(s, t) & UFFD_CTX_NOAPI) return -EINVAL;
  if (!range_mapped(s, t, start, end) && vmas_of(s, t).every((v) => v.end <= start || v.start >= end)) return -ENOENT;
  const vmas = vmas_of(s, t);
  const hit = vmas.filter((v) => v.end > start && v.start < end);
  // before the multi-VMA walk, find_dst_vma() wanted the whole range inside one VMA
  if (!ctx.prof.mech.uffd.wpMultiVma && (hit.length !== 1 || hit[0]!.start > start || hit[0]!.end < end)) return -ENOENT;
  // the multi-VMA walk (6.18 mwriteprotect_range) handles the VMAs in address order and stops at the
  // first one not registered for uffd-wp with -ENOENT: the VMAs before it stay (un)protected
  const stop = Math.min(end, ...hit.filter((v) => (v.flags & VM_UFFD_WP) === 0).map((v) => v.start));
  if (stop <= start) return -ENOENT;
  const r = mwriteprotect_vmas(s, ctx, t, vmas, start, stop, wp, stop < end);
  return r === STOPPED ? 0 : r || (stop < end ? -ENOENT : 0);
}

/** mwriteprotect_vmas() stopped before the TLB flush of its first VMA (ctx.deferredFlush says what is left). */
const STOPPED = 1;

/**
 * uffd_wp_range() over [start, end) of each VMA there, all registered for
 * uffd-wp: change_protection(), then the TLB flush of what it changed
 * (change_protection_range()'s flush_tlb_range(), tlb_finish_mmu() from
 * 6.x). With ctx.flushHold the first VMA's flush is deferred and the
 * operation stops there (mm_tlb_flush_pending() meanwhile); `enoent`: the
 * range goes on past the last registered VMA (-ENOENT at the end).
 */
function mwriteprotect_vmas(
  s: KState,
  ctx: KCtx,
  t: number,
  vmas: readonly Vma[],
  start: number,
  end: number,
  wp: boolean,
  enoent: boolean,
): number {
  const pinned = ctx.prof.mech.uffd.wpPinned;
  if (wp && pinned === 'ebusy' && range_has_pinned_writable(s, ctx, t, start, end)) {
    trace(ctx, 'mwriteprotect_range', 'a maybe-pinned page would be write-protected: -EBUSY');
    return -EBUSY;
  }
  for (let vi = 0; vi < vmas.length; vi++) {
    const v = vmas[vi]!;
    const a = Math.max(v.start, start);
    const b = Math.min(v.end, end);
    if (a >= b) continue;
    let cp = wp ? MM_CP_UFFD_WP : MM_CP_UFFD_WP_RESOLVE;
    // un-protect: before uffd_wp_range() the new PTEs took vm_get_page_prot(vm_flags); since, vm_page_prot and a manual upgrade
    if (!wp && !ctx.prof.mech.uffd.unprotectWritable) cp |= MM_CP_VM_FLAGS_PROT;
    else if (!wp && vma_wants_manual_pte_write_upgrade(s, t, vi, v.flags)) cp |= MM_CP_TRY_CHANGE_WRITABLE;
    // un-protecting must not write-protect a pinned PTE either (pte_modify to PAGE_COPY would)
    change_protection(s, ctx, t, vi, a, b, v.flags, cp, pinned === 'skip' || (pinned === 'ebusy' && !wp));
    if (ctx.flushHold) {
      // inc_tlb_flush_pending() came first; the flush and the rest wait for the thread's resume
      ctx.flushHold = false;
      ctx.deferredFlush = { mm: t, start: a, end: b, wp, rest: b, restEnd: end, enoent };
      trace(ctx, 'change_protection', `pages ${a}..${b - 1} ${wp ? 'write-protected' : 'unprotected'}, the TLB flush not done yet`);
      return STOPPED;
    }
    flush_tlb_range(s, ctx, t, a, b);
  }
  trace(ctx, 'mwriteprotect_range', `pages ${start}..${end - 1} ${wp ? 'write-protected' : 'unprotected'}`);
  return 0;
}

/** What a UFFDIO_WRITEPROTECT stopped before its flush keeps (layout.ts THOP_DEFERRED_FLUSH). */
export interface DeferredWriteprotect {
  mm: number;
  /** the pages changed and not flushed */
  start: number;
  end: number;
  wp: boolean;
  /** the range left to do after them, and whether the ioctl ends with -ENOENT */
  rest: number;
  restEnd: number;
  enoent: boolean;
  /** a clear_refs soft-dirty walk rather than UFFDIO_WRITEPROTECT (fs/proc/task_mmu.c): flush_tlb_mm() on resume, no wake */
  clearRefs?: boolean;
  /** it holds mmap_lock for write rather than read (clear_refs from 29a951dfb3c3) */
  writeLock?: boolean;
}

/**
 * The UFFDIO_WRITEPROTECT stopped before its flush goes on (`resume`): the
 * flush (dec_tlb_flush_pending() after it), the VMAs left, then the wake.
 */
export function userfaultfd_writeprotect_resume(s: KState, ctx: KCtx, d: DeferredWriteprotect): number {
  flush_tlb_range(s, ctx, d.mm, d.start, d.end);
  trace(ctx, 'flush_tlb_range', `pages ${d.start}..${d.end - 1} of task ${d.mm} flushed: the pending flush is done`);
  if (d.clearRefs) return 0;
  let r = 0;
  if (d.rest < d.restEnd) r = mwriteprotect_vmas(s, ctx, d.mm, vmas_of(s, d.mm), d.rest, d.restEnd, d.wp, d.enoent);
  if (r === 0 && d.enoent) r = -ENOENT;
  if (r === 0 && !d.wp && nr_threads(s)) wake_userfault(s, d.mm, d.start, d.restEnd);
  return r;
}

/**
 * handle_userfault(VM_UFFD_WP): the fault is queued to the monitor, which
 * unprotects the page; the faulting access is then retried. A fault that
 * may not drop mmap_lock (no FAULT_FLAG_ALLOW_RETRY: GUP without a
 * `locked` argument, e.g. /proc/PID/mem's get_user_pages_remote()) cannot
 * wait for the monitor: VM_FAULT_SIGBUS, and nothing is queued (every era).
 */
export function handle_userfault(s: KState, ctx: KCtx, vmf: Vmf): number {
  // a context opened UFFD_USER_MODE_ONLY ignores faults the kernel takes for the process (5.11+)
  if (task_uffd(s, vmf.t) & UFFD_CTX_USER_MODE_ONLY && (vmf.flags & FAULT_FLAG_USER) === 0) {
    trace(ctx, 'handle_userfault', `uffd-wp fault at page ${vmf.va} from the kernel, context UFFD_USER_MODE_ONLY: VM_FAULT_SIGBUS`);
    return VM_FAULT_SIGBUS;
  }
  if ((vmf.flags & FAULT_FLAG_ALLOW_RETRY) === 0) {
    trace(ctx, 'handle_userfault', `uffd-wp fault at page ${vmf.va} without FAULT_FLAG_ALLOW_RETRY: VM_FAULT_SIGBUS`);
    return VM_FAULT_SIGBUS;
  }
  ctx.uffdFaults++;
  // userfault_msg(): the page-aligned address (no UFFD_FEATURE_EXACT_ADDRESS), WP, and WRITE for a write fault
  ctx.uffdMsgs.push({ va: vmf.va, write: (vmf.flags & FAULT_FLAG_WRITE) !== 0 });
  if (ctx.uffdHold) {
    // the monitor reads the message and does not answer yet: the task sleeps with mmap_lock dropped
    ctx.uffdHold = false;
    ctx.uffdHeld = vmf.va;
    trace(ctx, 'handle_userfault', `uffd-wp fault at page ${vmf.va}: the monitor holds it, the thread waits with mmap_lock dropped`);
    return VM_FAULT_RETRY;
  }
  trace(ctx, 'handle_userfault', `uffd-wp fault at page ${vmf.va}: the monitor unprotects it`);
  userfaultfd_writeprotect(s, ctx, vmf.t, vmf.va, vmf.va + 1, false);
  return VM_FAULT_RETRY;
}

/**
 * The UFFDIO_WRITEPROTECT ioctl (userfaultfd_writeprotect()): the range
 * (un)protected, then, for mode 0 without DONTWAKE and only on success,
 * wake_userfault() over it: faults waiting there go on.
 */
export function userfaultfd_writeprotect(s: KState, ctx: KCtx, t: number, start: number, end: number, wp: boolean): number {
  const r = mwriteprotect_range(s, ctx, t, start, end, wp);
  // (stopped before its flush: the wake comes at the resume)
  if (r === 0 && !wp && nr_threads(s) && !ctx.deferredFlush) wake_userfault(s, t, start, end);
  return r;
}
