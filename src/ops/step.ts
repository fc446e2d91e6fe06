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
import { newCtx, ModelBug, type Metrics, type PathEvent, type ReadObs, type UffdMsg } from '../kernel/ctx.js';
import { lru_add_drain } from '../kernel/mm/swap.js';
import { ESRCH } from '../kernel/errno.js';
import type { Profile } from '../profiles/types.js';
import type { Env } from '../profiles/env.js';
import { findOp, type Op, opArgs } from './index.js';
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
  /** the model broke (a ModelBug was thrown): the state must not be trusted any further */
  broken: string | null;
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
}

/**
 * Performs `op` on `s`, then what the kernel does before anything else can
 * look: the per-CPU LRU batches are drained (lru_add_drain_all). What they
 * hold depends on unrelated activity on a real machine, so cowlab makes it
 * part of a step's semantics that they are empty when it ends (the executor
 * forces the same on the real kernel); a reference parked in a batch across
 * steps is injected explicitly (`transient: lru-batch`).
 */
export function step(s: KState, k: Kernel, op: Op, opts: StepOptions = {}): Effects {
  const ctx = newCtx(k.prof, {
    env: k.env,
    trace: opts.trace ?? false,
    step: opts.step ?? -1,
    freshWrites: opts.freshWrites ?? true,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
  let result: StepResult = ok();
  let broken: string | null = null;
  try {
    if (!task_alive(s, op.t)) result = ok(-ESRCH);
    else result = findOp(op.op)!.apply(s, ctx, op.t, opArgs(op));
    lru_add_drain(s, ctx);
  } catch (e) {
    if (!(e instanceof ModelBug)) throw e;
    broken = e.message;
  }
  return {
    result,
    faults: ctx.faults,
    majfaults: ctx.majfaults,
    uffdFaults: ctx.uffdFaults,
    uffdMsgs: ctx.uffdMsgs,
    reads: ctx.reads,
    path: ctx.log ?? [],
    bugs: ctx.bugs,
    broken,
  };
}
