/**
 * Successor generation: apply each enabled action to a copy of a state,
 * drain the per-CPU batches as a scenario step does, check the properties,
 * and fingerprint the result. Shared by the breadth-first search, its
 * worker threads, the random walks and trace replay, so all four step the
 * model identically.
 */
import type { KState } from '../model/layout.js';
import { KState as KStateClass } from '../model/layout.js';
import { apply } from '../syscalls/apply.js';
import { newCtx, ModelBug } from '../kernel/ctx.js';
import { quiesce } from '../scenario/run.js';
import { Monitor, plainNames, type PropertyName, type Violation } from '../properties/monitor.js';
import { Canonicalizer } from './canon.js';
import type { ExploreSystem } from './system.js';

export class Expander {
  readonly canon: Canonicalizer;
  private readonly monitor: Monitor;
  readonly fp = new Uint32Array(2);
  /** step number recorded in write records and messages: the trace position of the transition */
  constructor(readonly sys: ExploreSystem, readonly properties: readonly PropertyName[]) {
    this.canon = new Canonicalizer(sys.initial.L);
    this.monitor = new Monitor(plainNames, properties.includes('model-invariant'));
  }

  /**
   * Applies action `a` to a copy of `parent` (written into `into` when
   * given). Returns null when the action is disabled or its call fails
   * (an errno or a signal: such steps are not part of traces).
   */
  step(parent: KState, a: number, depth: number, into?: KState): { state: KState; violation: Violation | null } | null {
    const act = this.sys.actions[a]!;
    if (!act.enabled(parent)) return null;
    const s = into ?? new KStateClass(parent.L, new Int32Array(parent.m.length));
    s.m.set(parent.m);
    const stepNo = this.sys.prefix.length + depth + 1;
    const ctx = newCtx(this.sys.profile, { step: stepNo, freshWrites: false });
    let violation: Violation | null = null;
    try {
      const res = apply(s, ctx, act.op(parent));
      if (res.ret < 0 || res.signal) return null;
      quiesce(s, ctx);
      this.monitor.reset();
      for (const v of this.monitor.check(s, ctx, stepNo)) {
        if (this.properties.includes(v.property)) {
          violation = v;
          break;
        }
      }
    } catch (e) {
      if (!(e instanceof ModelBug)) throw e;
      violation = { property: 'model-invariant', step: stepNo, since: stepNo, message: `cowlab bug: ${e.message}` };
    }
    return { state: s, violation };
  }

  /** Fingerprint of a state into this.fp. */
  fingerprint(s: KState): Uint32Array {
    this.canon.fingerprint(s, this.fp);
    return this.fp;
  }
}
