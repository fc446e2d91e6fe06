/**
 * What partial-order reduction could save on a configuration (issue 15).
 *
 * Sleep sets and persistent sets skip an action where it is independent of
 * another: neither changes what the other reads, so both orders reach the
 * same state with the same effects. Here each pair of actions enabled in one
 * state of the first states of a breadth-first search is classified twice:
 * whether both orders reach the same canonical state (what a perfect
 * independence oracle could let sleep sets skip: an upper bound), and
 * whether the pair is independent by footprints (the words of the state a
 * step reads, and those it changes, recorded through a Proxy): the relation
 * a sound reduction could use. A step is atomic, so what another action can
 * see of it is the words it changed, not every store it made.
 *
 * Measurement only: `explore --por` reduces by footprints the model records
 * itself, which also count stores that change nothing (src/explore/sleep.ts);
 * the Proxy here is the reference its completeness test compares them with.
 */
import { KState } from '../model/layout.js';
import { step, type Kernel } from '../ops/step.js';
import { Monitor, plainNames } from '../properties/monitor.js';
import { writes_gc } from '../model/writes.js';
import { Expander } from './expand.js';
import { systemEnv, type ExploreSystem } from './system.js';

/** Words of the state one step read and the words it changed. */
export interface Footprint {
  reads: Set<number>;
  changes: Set<number>;
}

/** The pairs of one configuration, classified. */
export interface IndependenceFigures {
  states: number;
  /** pairs of actions enabled (and not violating) in one state */
  pairs: number;
  /** pairs whose two orders reach the same canonical state */
  commute: number;
  /** pairs independent by footprints */
  independent: number;
  /** pairs independent by footprints whose orders do not reach one state: 0 unless the recording misses an access */
  unsound: number;
}

const INDEX = /^\d+$/;

/** A view of `arr` that records the words read and stored (typed array methods count over their range): slow, but it misses no access. */
export function recording(arr: Int32Array, reads: Set<number>, stores: Set<number>): Int32Array {
  const n = arr.length;
  const at = (x: unknown, d: number): number => (typeof x !== 'number' ? d : x < 0 ? n + x : x);
  const range = (to: Set<number>, from: number, end: number): void => {
    for (let i = from; i < end; i++) to.add(i);
  };
  return new Proxy(arr, {
    get(t, k) {
      if (typeof k === 'string' && INDEX.test(k)) {
        reads.add(Number(k));
        return t[Number(k)];
      }
      const v: unknown = Reflect.get(t, k);
      if (typeof v !== 'function') return v;
      return (...a: unknown[]) => {
        if (k === 'fill') range(stores, at(a[1], 0), at(a[2], n));
        else if (k === 'copyWithin') {
          const from = at(a[1], 0);
          const end = at(a[2], n);
          range(reads, from, end);
          range(stores, at(a[0], 0), at(a[0], 0) + end - from);
        } else if (k === 'set') range(stores, at(a[1], 0), at(a[1], 0) + (a[0] as ArrayLike<number>).length);
        else if (k === 'slice' || k === 'subarray') range(reads, at(a[0], 0), at(a[1], n));
        // any other method may read every word
        else range(reads, 0, n);
        return (v as (...x: unknown[]) => unknown).apply(t, a);
      };
    },
    set(t, k, v: number) {
      if (typeof k === 'string' && INDEX.test(k)) {
        stores.add(Number(k));
        t[Number(k)] = v;
        return true;
      }
      return Reflect.set(t, k, v);
    },
  });
}

/** Classifies the action pairs of the first `maxStates` states (breadth-first) of a system. */
export function measureIndependence(sys: ExploreSystem, maxStates: number): IndependenceFigures {
  const ex = new Expander(sys, sys.config.properties);
  const kernel: Kernel = { prof: sys.profile, env: systemEnv(sys.config, sys.profile) };
  const monitor = new Monitor(plainNames, sys.config.properties.includes('model-invariant'), new Set(sys.config.properties));
  const live = new Uint8Array(sys.initial.L.geo.writes);
  // Expander.step's work (step, properties, dead write records), on a recording copy of p
  const footprint = (p: KState, a: number): Footprint | null => {
    const act = sys.actions[a]!;
    const reads = new Set<number>();
    const stores = new Set<number>();
    const copy = p.m.slice();
    const s = new KState(p.L, recording(copy, reads, stores));
    if (!act.enabled(s)) return null;
    const eff = step(s, kernel, act.op(s), { step: 2, freshWrites: false, thread: act.thread(s) });
    if (eff.broken !== null || eff.result.ret < 0 || eff.result.signal || eff.blocked !== null) return null;
    monitor.reset();
    for (const v of monitor.check(s, eff, sys.profile, 2)) void v;
    writes_gc(s, live);
    return { reads, changes: new Set([...stores].filter((w) => copy[w] !== p.m[w])) };
  };
  const key = (s: KState): string => {
    const f = ex.fingerprint(s);
    return `${f[0]}:${f[1]}`;
  };
  const seen = new Set([key(sys.initial)]);
  const queue = [sys.initial];
  const out: IndependenceFigures = { states: 0, pairs: 0, commute: 0, independent: 0, unsound: 0 };
  for (let i = 0; i < queue.length && i < maxStates; i++) {
    const p = queue[i]!;
    out.states++;
    const succ: { a: number; s: KState; fp: Footprint | null }[] = [];
    for (let a = 0; a < sys.actions.length; a++) {
      const r = ex.step(p, a, 1);
      if (!r || r.violation) continue;
      const k = key(r.state);
      if (!seen.has(k)) {
        seen.add(k);
        queue.push(r.state);
      }
      succ.push({ a, s: r.state, fp: footprint(p, a) });
    }
    for (let x = 0; x < succ.length; x++) {
      for (let y = x + 1; y < succ.length; y++) {
        const A = succ[x]!;
        const B = succ[y]!;
        out.pairs++;
        const ab = ex.step(A.s, B.a, 2);
        const ba = ex.step(B.s, A.a, 2);
        const same = ab !== null && ba !== null && !ab.violation && !ba.violation && key(ab.state) === key(ba.state);
        if (same) out.commute++;
        if (A.fp && B.fp && independent(A.fp, B.fp)) {
          out.independent++;
          if (!same) out.unsound++;
        }
      }
    }
  }
  return out;
}

/** Neither changes a word the other reads or changes. */
export function independent(a: Footprint, b: Footprint): boolean {
  for (const w of a.changes) if (b.reads.has(w) || b.changes.has(w)) return false;
  for (const w of b.changes) if (a.reads.has(w)) return false;
  return true;
}
