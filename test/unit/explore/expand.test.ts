/**
 * What the explorer's successor generation (src/explore/expand.ts) takes
 * from a step's store log: every word a step changes is in the log (so a
 * step that stored nothing different is a self-loop, unchanged() says so,
 * and its canonical form is skipped), and a step that stored
 * nothing the write-record collection depends on left no dead record (so
 * run() skips the collection). Checked on every transition of bounded
 * searches over configurations that reach the model's kinds of state:
 * pipes and swap, pins, THP, threads stopped in windows, files.
 */
import { describe, it, expect } from 'vitest';
import { loadConfig, overrideConfig, buildSystem, type ExploreConfig } from '../../../src/explore/system.js';
import { Expander } from '../../../src/explore/expand.js';
import { writes_gc } from '../../../src/model/writes.js';
import { profileById } from '../../../src/profiles/index.js';
import type { KState } from '../../../src/model/layout.js';
import { walkStates } from '../../helpers.js';

/** Checks every transition within `depth`; returns how many changed nothing and how many stored nothing the collection reads. */
function checkLog(c: ExploreConfig, kernel: string, depth: number): { transitions: number; selfLoops: number } {
  const sys = buildSystem(c, profileById(kernel));
  const ex = new Expander(sys, []);
  let transitions = 0;
  let selfLoops = 0;
  walkStates(ex, depth, (s, d) => {
    const out: KState[] = [];
    for (let a = 0; a < sys.actions.length; a++) {
      const r = ex.step(s, a, d);
      if (!r || r.violation) continue;
      transitions++;
      const logged = new Set(ex.log.idx.subarray(0, ex.log.n));
      let same = true;
      for (let i = 0; i < s.m.length; i++) {
        if (s.m[i] === r.state.m[i]) continue;
        same = false;
        if (!logged.has(i)) expect.fail(`action ${a} at depth ${d} changed word ${i} without logging it`);
      }
      expect(ex.unchanged(s, r.state)).toBe(same);
      if (same) selfLoops++;
      // the collection run() skipped (or ran) left nothing to collect
      expect(writes_gc(r.state.clone())).toBe(0);
      out.push(r.state);
    }
    return out;
  });
  return { transitions, selfLoops };
}

describe("a step's store log", () => {
  it('holds every word a step changes, and no step leaves a dead write record: spin-reference, pipes and swap', () => {
    const r = checkLog(loadConfig('explore/spin-reference.yaml'), 'linux-5.9', 6);
    // self-loops exist, or the check of them would test nothing
    expect(r.selfLoops).toBeGreaterThan(0);
    checkLog(overrideConfig(loadConfig('explore/vmsplice-swap-leak.yaml'), { processes: '3' }), 'linux-5.9', 4);
  }, 120_000);

  it('pins and mprotect, THP, threads stopped in windows and files', () => {
    checkLog(loadConfig('explore/ro-pin.yaml'), 'linux-6.18', 4);
    checkLog(loadConfig('explore/thp-vmsplice-leak.yaml'), 'linux-6.18', 4);
    checkLog(loadConfig('explore/collapse-gup-fast.yaml'), 'linux-6.18', 4);
    checkLog(loadConfig('explore/dirty-cow.yaml'), 'linux-4.8', 5);
    checkLog(loadConfig('explore/uffd-wp-stale-tlb.yaml'), 'linux-5.9', 4);
  }, 240_000);
});
