/**
 * Successor generation: apply each enabled action to a copy of a state,
 * drain the per-CPU batches as a scenario step does, check the properties,
 * and fingerprint the result. Shared by the breadth-first search, its
 * worker threads, the random walks and trace replay, so all four step the
 * model identically.
 */
import type { KState, Recorder } from '../model/layout.js';
import { KState as KStateClass, StoreLog } from '../model/layout.js';
import { step, StepBuffers, type Kernel, type StepOptions } from '../ops/step.js';
import { systemEnv } from './system.js';
import { Monitor, plainNames, type PropertyName, type Violation } from '../properties/monitor.js';
import { Canonicalizer, type Symmetry } from '../model/canon.js';
import { writes_gc, writes_gc_needed } from '../model/writes.js';
import type { ExploreSystem } from './system.js';
import { NEW, RawSeen } from './rawseen.js';

export class Expander {
  readonly canon: Canonicalizer;
  private readonly monitor: Monitor;
  readonly fp = new Uint32Array(2);
  private readonly kernel: Kernel;
  /** a step's context, effects and options, reused: the monitor reads a step's effects before the next step */
  private readonly buf: StepBuffers;
  private readonly opts: StepOptions = { step: 0, freshWrites: false, thread: -1 };
  private readonly live: Uint8Array;
  /** the words the last step stored (run() keeps it on every state it steps) */
  readonly log: StoreLog;
  /** the initial state holds no dead write record, so no state a step makes does (and a step storing nothing they depend on needs no collection) */
  private readonly initialClean: boolean;
  /** step number recorded in write records and messages: the trace position of the transition */
  /**
   * `reduce` (the default): free dead write records after every step and
   * leave message-only fields out of fingerprints; off only to check that
   * this reduction is exact (test/unit/explore/exact.test.ts). `symmetry`:
   * how fingerprints order processes (src/model/canon.ts; the sleep sets of
   * partial-order reduction need 'exact': src/explore/sleep.ts).
   */
  constructor(readonly sys: ExploreSystem, readonly properties: readonly PropertyName[], private readonly reduce = true, symmetry: Symmetry = 'signature') {
    this.canon = new Canonicalizer(sys.initial.L, !reduce, symmetry);
    this.monitor = new Monitor(plainNames, properties.includes('model-invariant'), new Set(properties));
    this.kernel = { prof: sys.profile, env: systemEnv(sys.config, sys.profile) };
    this.buf = new StepBuffers(this.kernel);
    this.live = new Uint8Array(sys.initial.L.geo.writes);
    this.log = new StoreLog(sys.initial.m.length);
    this.initialClean = writes_gc(sys.initial.clone()) === 0;
  }

  /**
   * Whether the last step, which made `child` from `parent`, left every
   * word as it was (a self-loop). Only the words it stored are compared.
   */
  unchanged(parent: KState, child: KState): boolean {
    const pm = parent.m;
    const cm = child.m;
    const log = this.log;
    let k = 0;
    while (k < log.n && pm[log.idx[k]!] === cm[log.idx[k]!]) k++;
    return k === log.n;
  }

  private rawSeen: RawSeen | null = null;
  /** this thread's raw states met in its search (src/explore/rawseen.ts), made on first use: an Expander that expands levels serves one search (bfs() and each worker make their own) */
  get raw(): RawSeen {
    return (this.rawSeen ??= new RawSeen(this.sys.initial.m.length, this.canon.unread(this.sys.initial.L)));
  }

  /**
   * The fingerprint of `child`, the state step() just made from `parent`,
   * or null when no canonical form is needed: the step changed nothing
   * (the parent is visited already) or this thread met `child`'s raw state
   * before (its fingerprint was handled then). `ph` is the parent's raw
   * hash.
   */
  newSuccessorFingerprint(parent: KState, ph: Int32Array, child: KState): Uint32Array | null {
    return this.raw.seen(ph, parent.m, child.m, this.log.idx, this.log.n) === NEW ? this.fingerprint(child) : null;
  }

  /**
   * Applies action `a` to a copy of `parent` (written into `into` when
   * given). Returns null when the action is disabled or its call fails
   * (an errno or a signal: such steps are not part of traces). With `rec`,
   * records the action's footprint in it.
   */
  step(parent: KState, a: number, depth: number, into?: KState, rec?: Recorder): { state: KState; violation: Violation | null } | null {
    if (!rec) return this.run(parent, a, depth, into);
    // the footprint of the action (src/explore/sleep.ts): what it reads of the parent, and of the copy it changes
    rec.reset();
    parent.rec = rec;
    const s = into ?? new KStateClass(parent.L, new Int32Array(parent.m.length));
    s.rec = rec;
    try {
      return this.run(parent, a, depth, s, rec);
    } finally {
      parent.rec = null;
      s.rec = null;
    }
  }

  private run(parent: KState, a: number, depth: number, into?: KState, rec?: Recorder): { state: KState; violation: Violation | null } | null {
    const act = this.sys.actions[a]!;
    if (!act.enabled(parent)) return null;
    const s = into ?? new KStateClass(parent.L, new Int32Array(parent.m.length));
    s.m.set(parent.m);
    const stepNo = this.sys.prefix.length + depth + 1;
    this.log.reset();
    s.log = this.log;
    try {
      return this.stepped(s, a, stepNo, parent, rec);
    } finally {
      s.log = null;
    }
  }

  private stepped(s: KState, a: number, stepNo: number, parent: KState, rec?: Recorder): { state: KState; violation: Violation | null } | null {
    const act = this.sys.actions[a]!;
    this.opts.step = stepNo;
    this.opts.thread = act.thread(parent);
    const eff = step(s, this.kernel, act.op(parent), this.opts, this.buf);
    if (eff.broken !== null) {
      return { state: s, violation: { property: 'model-invariant', step: stepNo, since: stepNo, message: `cowlab bug: ${eff.broken}` } };
    }
    // a step waiting for a lock a stopped operation holds is not an interleaving the kernel runs
    if (eff.result.ret < 0 || eff.result.signal || eff.blocked !== null) return null;
    let violation: Violation | null = null;
    this.monitor.reset();
    for (const v of this.monitor.check(s, eff, this.sys.profile, stepNo)) {
      if (this.properties.includes(v.property)) {
        violation = v;
        break;
      }
    }
    // after the check (its message names the write read): records nothing holds any more cannot be
    // observed, so states that differ only in them are one state (issue 14); what the collection
    // reads is not part of a footprint (its stores are)
    if (rec) rec.reading = false;
    if (this.reduce && (!this.initialClean || writes_gc_needed(s, parent.m, this.log.idx, this.log.n))) writes_gc(s, this.live);
    return { state: s, violation };
  }

  /** Fingerprint of a state into this.fp. */
  fingerprint(s: KState): Uint32Array {
    this.canon.fingerprint(s, this.fp);
    return this.fp;
  }
}
