/**
 * The step function: one operation and everything that follows it in the
 * kernel before the next step may observe the machine. Every driver of the
 * model (the scenario runner, the explorer, the fuzzer, `cowlab diff`, the
 * property tests) calls it, so they all step the model the same way.
 *
 * It mutates the state it is given (clone first to keep the old one) and
 * returns what the step did as data.
 */
import type { KState } from '../model/layout.js';
import { task_alive } from '../model/mm_types.js';
import {
  newCtx,
  newMetrics,
  resetCtx,
  ModelBug,
  type KCtx,
  type Metrics,
  type PathEvent,
  type ReadObs,
  type UffdMsg,
  type LostWrite,
  type TornFork,
  type StaleTlb,
} from '../kernel/ctx.js';
import { tlb_snapshot, tlb_flush_changed, tlb_entries_in } from '../kernel/arch/x86/mm/tlb.js';
import { lru_add_drain } from '../kernel/mm/swap.js';
import { ESRCH } from '../kernel/errno.js';
import type { Profile } from '../profiles/types.js';
import type { Env } from '../profiles/env.js';
import { findOp, type Op, type OpDef, opArgs } from './index.js';
import {
  nr_threads,
  task_forking,
  mmap_write_holder,
  mmap_write_blocked,
  thread_stopped,
  userfault_waiting,
  WouldBlock,
} from '../model/threads.js';
import { THOP_NONE, THOP_FORK, THOP_GUP_FAST, THOP_COLLAPSE } from '../model/layout.js';
import { ok, type StepResult } from './types.js';

/** The kernel a step runs on: its profile and the machine. */
export interface Kernel {
  readonly prof: Profile;
  readonly env: Readonly<Env>;
}

/** What a step did. */
export interface Effects {
  result: StepResult;
  /** page faults charged to the acting task (minor + major) */
  faults: number;
  majfaults: number;
  /** uffd-wp faults delivered to the userfaultfd handler */
  uffdFaults: number;
  /** their messages, in order */
  uffdMsgs: readonly UffdMsg[];
  /** content observations, for the no-leak property */
  reads: readonly ReadObs[];
  /** kernel functions taken (empty unless traced) */
  path: readonly PathEvent[];
  /** model bugs detected inside kernel paths */
  bugs: readonly string[];
  /** stores lost to a COW copy taken before them (the no-lost-write property) */
  lost: readonly LostWrite[];
  /** stores that tore a fork's copy of memory (the fork-snapshot property) */
  torn: readonly TornFork[];
  /** translations left of a range whose MADV_DONTNEED returned (the no-stale-tlb property) */
  staleTlb: readonly StaleTlb[];
  /** the model broke (a ModelBug was thrown): the state must not be trusted any further */
  broken: string | null;
  /** the acting thread's operation stopped in a window (src/model/threads.ts): it goes on with `resume` */
  stopped: boolean;
  /** the step waits for a lock a thread stopped in a window holds (why): it did not run, or not to its end */
  blocked: string | null;
}

export interface StepOptions {
  /** record the kernel functions taken */
  trace?: boolean;
  /** scenario step number recorded in new write records (-1 in the explorer) */
  step?: number;
  /** a fresh write id for every write (scenarios) rather than one per task epoch (explorer) */
  freshWrites?: boolean;
  /** copy metrics accumulate here */
  metrics?: Metrics;
  /** the acting thread's slot (src/model/threads.ts), -1 (the default) when the state keeps no thread records */
  thread?: number;
}

/**
 * Performs `op` on `s`, then what the kernel does before anything else can
 * look: the per-CPU LRU batches are drained (lru_add_drain_all). What they
 * hold depends on unrelated activity on a real machine, so cowlab makes it
 * part of a step's semantics that they are empty when it ends (the executor
 * forces the same on the real kernel); a reference parked in a batch across
 * steps is injected explicitly (`transient: lru-batch`).
 */
export function step(s: KState, k: Kernel, op: Op, opts: StepOptions = {}, buf?: StepBuffers): Effects {
  const ctx = buf ? resetCtx(buf.ctx, k.prof, opts, k.env, buf.metrics) : newCtx(k.prof, { ...opts, env: k.env });
  let result: StepResult = ok();
  let broken: string | null = null;
  let blocked: string | null = null;
  try {
    const def = findOp(op.op)!;
    if (!task_alive(s, op.t)) result = ok(-ESRCH);
    else {
      blocked = nr_threads(s) ? lock_wait(s, def, op, ctx.thread) : null;
      if (blocked === null) {
        const tlb = tlb_snapshot(s);
        result = def.apply(s, ctx, op.t, opArgs(op));
        // every page-table change the step made is flushed from the CPUs' TLBs, but a deferred one
        tlb_flush_changed(s, tlb, ctx.deferredFlush ?? ctx.zapHeld);
        // a MADV_DONTNEED that returned leaves no CPU a translation of its range
        const z = ctx.zapDone;
        if (z) for (const e of tlb_entries_in(s, z.mm, z.start, z.end)) ctx.staleTlb.push({ t: z.mm, th: e.th, vpage: e.va, pfn: e.pfn });
      }
    }
    lru_add_drain(s, ctx);
  } catch (e) {
    if (e instanceof WouldBlock) blocked = e.message;
    else if (!(e instanceof ModelBug)) throw e;
    else broken = e.message;
  }
  const eff = buf?.eff ?? blankEffects();
  eff.result = result;
  eff.faults = ctx.faults;
  eff.majfaults = ctx.majfaults;
  eff.uffdFaults = ctx.uffdFaults;
  eff.uffdMsgs = ctx.uffdMsgs;
  eff.reads = ctx.reads;
  eff.path = ctx.log ?? NONE;
  eff.bugs = ctx.bugs;
  eff.lost = ctx.lost;
  eff.torn = ctx.torn;
  eff.staleTlb = ctx.staleTlb;
  eff.broken = broken;
  eff.stopped = ctx.stopped;
  eff.blocked = blocked;
  return eff;
}

/** An empty list (untraced path, blank effects), shared. */
const NONE: readonly never[] = Object.freeze([]);

/**
 * The context and the effects that step() fills in place of new ones,
 * for a driver that reads a step's effects before it takes the next (the
 * explorer: millions of steps). The effects step() returns are these, and
 * their arrays the context's: the next step with the same buffers empties
 * them.
 */
export class StepBuffers {
  readonly ctx: KCtx;
  readonly eff: Effects;
  /** what a step counts into when its options give no metrics */
  readonly metrics = newMetrics();
  constructor(k: Kernel) {
    this.ctx = newCtx(k.prof, { env: k.env });
    this.eff = blankEffects();
  }
}

/** Effects of no step yet: each step() fills every field. */
function blankEffects(): Effects {
  return {
    result: ok(),
    faults: 0,
    majfaults: 0,
    uffdFaults: 0,
    uffdMsgs: NONE,
    reads: NONE,
    path: NONE,
    bugs: NONE,
    lost: NONE,
    torn: NONE,
    staleTlb: NONE,
    broken: null,
    stopped: false,
    blocked: null,
  };
}

/**
 * Why `op` must wait for an operation stopped in a window
 * (src/model/threads.ts): its own thread is stopped (only `resume` goes
 * on); it takes an mmap_lock for write that a stopped GUP holds for read;
 * it is a stopped fork's child, which does not run yet; or a stopped fork
 * holds the mmap_lock of the mm it acts on (its own, or a target's) for
 * write. Only lockless paths start (GUP-fast, and under a fork user loads
 * and stores); they throw WouldBlock where they would take the lock.
 */
function lock_wait(s: KState, def: OpDef, op: Op, th: number): string | null {
  if (th >= 0 && thread_stopped(s, th) !== THOP_NONE && op.op !== 'resume')
    return `the acting thread is stopped in a window (the kernel needed one more): only resume goes on with it`;
  if (op.op === 'resume' && th >= 0) {
    const va = userfault_waiting(s, th);
    if (va >= 0) return `the thread sleeps in handle_userfault() until a uffd-unwp of page ${va} wakes it`;
  }
  if (task_forking(s, op.t)) return `task ${op.t} is the child of a fork stopped in a window: it does not run before the fork returns`;
  // an mmap_lock writer waits for a thread stopped with the lock held for read (a GUP in its retry window)
  const writes = typeof def.mmapWrite === 'function' ? def.mmapWrite(opArgs(op)) : def.mmapWrite === true;
  if (writes && mmap_write_blocked(s, op.t, op.op === 'exit'))
    return `${op.op} waits for task ${op.t}'s mmap_lock, held for read by a thread stopped in a window`;
  const target = (op as { target?: unknown }).target;
  for (const mm of typeof target === 'number' && target !== op.t ? [op.t, target] : [op.t]) {
    const holder = mmap_write_holder(s, mm);
    // (the fork's own thread goes on with it)
    if (holder < 0 || holder === th) continue;
    // (a GUP-fast going on from its window is lockless too: its slow path throws WouldBlock itself)
    const lockless =
      (op.op === 'resume' && th >= 0 && thread_stopped(s, th) === THOP_GUP_FAST) ||
      (typeof def.lockless === 'function' ? def.lockless(opArgs(op)) : def.lockless === true);
    const op2 = thread_stopped(s, holder);
    // (a load or store that needs no fault goes on under a fork: the CPU takes no lock)
    if (op2 === THOP_FORK && def.userAccess === true) continue;
    const who = op2 === THOP_FORK ? 'a fork' : op2 === THOP_COLLAPSE ? 'a collapse' : 'a clear_refs';
    if (!lockless) return `${op.op} waits for task ${mm}'s mmap_lock, held for write by ${who} stopped in a window`;
  }
  return null;
}
