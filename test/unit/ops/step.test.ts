/**
 * step() with StepBuffers (src/ops/step.ts), as the explorer steps: one
 * context and one effects object for every step. On every transition of
 * bounded searches, a step with buffers that earlier steps used makes the
 * state and the effects a step with fresh ones makes.
 */
import { describe, it, expect } from 'vitest';
import { loadConfig, buildSystem, systemEnv, type ExploreConfig } from '../../../src/explore/system.js';
import { Expander } from '../../../src/explore/expand.js';
import { step, StepBuffers, type Effects, type Kernel } from '../../../src/ops/step.js';
import { profileById } from '../../../src/profiles/index.js';
import type { KState } from '../../../src/model/layout.js';
import { walkStates } from '../../helpers.js';

/** What a step did, as plain data (buffered effects are overwritten by the next step). */
const plain = (e: Effects) => JSON.parse(JSON.stringify(e)) as unknown;

/** Steps every transition within `depth` both ways; returns how many, and how many had effects to compare. */
function compare(c: ExploreConfig, kernel: string, depth: number): { transitions: number; withEffects: number } {
  const sys = buildSystem(c, profileById(kernel));
  const k: Kernel = { prof: sys.profile, env: systemEnv(sys.config, sys.profile) };
  const ex = new Expander(sys, []);
  const buf = new StepBuffers(k);
  let transitions = 0;
  let withEffects = 0;
  walkStates(ex, depth, (s, d) => {
    const out: KState[] = [];
    for (const act of sys.actions) {
      if (!act.enabled(s)) continue;
      for (const freshWrites of [false, true]) {
        const opts = { step: d + 1, freshWrites, thread: act.thread(s) };
        const a = s.clone();
        const b = s.clone();
        const fresh = plain(step(a, k, act.op(s), opts));
        const reused = step(b, k, act.op(s), opts, buf);
        expect(reused).toBe(buf.eff);
        expect(plain(reused)).toEqual(fresh);
        expect(Array.from(b.m)).toEqual(Array.from(a.m));
        transitions++;
        if (
          reused.reads.length ||
          reused.lost.length ||
          reused.torn.length ||
          reused.staleTlb.length ||
          reused.uffdMsgs.length ||
          reused.stopped
        )
          withEffects++;
        if (!freshWrites && reused.result.ret >= 0 && reused.blocked === null && reused.broken === null) out.push(b);
      }
    }
    return out;
  });
  return { transitions, withEffects };
}

describe('step() with reused buffers', () => {
  it('makes the state and effects a fresh context makes: pipes and swap, stale TLBs, uffd windows', () => {
    const r = compare(loadConfig('explore/spin-reference.yaml'), 'linux-5.9', 4);
    expect(r.withEffects).toBeGreaterThan(0);
    compare(loadConfig('explore/vmsplice-swap-leak.yaml'), 'linux-5.9', 4);
    compare(loadConfig('explore/uffd-wp-stale-tlb.yaml'), 'linux-5.9', 4);
  }, 120_000);

  it('pins, THP, collapse and GUP-fast windows, Dirty COW', () => {
    compare(loadConfig('explore/ro-pin.yaml'), 'linux-6.18', 3);
    compare(loadConfig('explore/thp-vmsplice-leak.yaml'), 'linux-6.18', 3);
    compare(loadConfig('explore/collapse-gup-fast.yaml'), 'linux-6.18', 3);
    compare(loadConfig('explore/dirty-cow.yaml'), 'linux-4.8', 4);
  }, 240_000);
});
