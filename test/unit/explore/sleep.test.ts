/**
 * Partial-order reduction by sleep sets (src/explore/sleep.ts): exact on
 * every shipped configuration (the same states level by level, the same
 * verdict and counterexample as the search it reduces, which orders tied
 * processes exactly), footprints that miss no access the model makes, and
 * the pieces on their own.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync } from 'node:fs';
// the built explorer (npm test builds first), as its worker threads load it: as plain Node modules it runs
// about 4.5 times faster than through vitest's module transform (vitest.config.ts)
import { loadConfig, overrideConfig, buildSystem, systemEnv } from '../../../dist/explore/system.js';
import { step } from '../../../dist/ops/step.js';
import { Monitor, plainNames } from '../../../dist/properties/monitor.js';
import { bfs } from '../../../dist/explore/bfs.js';
import { Expander } from '../../../dist/explore/expand.js';
import { recording } from '../../../dist/explore/independence.js';
import { IndependenceCheck, SleepTable, SleepReader, asleep, footprintOf, sleepWords } from '../../../dist/explore/sleep.js';
import { KState, Recorder } from '../../../dist/model/layout.js';
import { profileById } from '../../../dist/profiles/index.js';

const CONFIGS = readdirSync('explore')
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('sleep sets are exact', () => {
  for (const f of CONFIGS) {
    const config = loadConfig(`explore/${f}`);
    const kernel = config.kernel ?? 'linux-6.18';
    it(`${config.name} on ${kernel}: the same levels, verdict and counterexample`, async () => {
      const sys = buildSystem(config, profileById(kernel));
      const depth = Math.min(config.depth, 7);
      const lim = { depth, workers: 1, properties: config.properties, maxStates: 60000 };
      const full = await bfs(sys, { ...lim, symmetry: 'exact' });
      const por = await bfs(sys, { ...lim, por: true });
      // exact symmetry merges what the default may keep apart, nothing else: never more states, the same verdict
      const shipped = await bfs(sys, lim);
      expect(full.distinct).toBeLessThanOrEqual(shipped.distinct);
      expect(full.verdict).toBe(shipped.verdict);
      expect(full.depth).toBe(shipped.depth);
      expect(por.levels).toEqual(full.levels);
      expect(por.verdict).toBe(full.verdict);
      expect(por.trace).toEqual(full.trace);
      expect(por.violation?.message).toBe(full.violation?.message);
      // what is asleep is not taken, and nothing else is left out
      expect(por.states).toBeLessThanOrEqual(full.states);
      expect(full.pruned).toBe(0);
    }, 120_000);
  }

  it('with two workers too, and the reduction is real on spin-reference (3 x 1)', async () => {
    const config = overrideConfig(loadConfig('explore/spin-reference.yaml'), { processes: '3' });
    const sys = buildSystem(config, profileById('linux-5.9'));
    const init = { config, profile: { builtin: 'linux-5.9' }, properties: config.properties };
    const lim = { depth: 8, workers: 2, properties: config.properties, waitForWorkers: true };
    const full = await bfs(sys, { ...lim, symmetry: 'exact' }, init);
    const por = await bfs(sys, { ...lim, por: true }, init);
    expect(por.levels).toEqual(full.levels);
    // the threads share the level's claims: the search of one thread, transition for transition
    const one = await bfs(sys, { ...lim, workers: 1, por: true });
    expect([por.levels, por.states, por.pruned, por.distinct]).toEqual([one.levels, one.states, one.pruned, one.distinct]);
    expect(por.pruned).toBeGreaterThan(por.states / 4);
    expect(por.states + por.pruned).toBeLessThanOrEqual(full.states);
    // the explorer's default symmetry breaks signature ties by slot, so it may keep two forms of one state
    const sym = await bfs(sys, { ...lim, workers: 1 });
    expect(por.distinct).toBeLessThan(sym.distinct);
  }, 120_000);
});

describe('footprints', () => {
  for (const [name, kernel] of [
    ['spin-reference', 'linux-5.9'],
    ['uffd-wp-stale-tlb', 'linux-5.9'],
    ['collapse-gup-fast', 'linux-5.19'],
    ['fork-tearing', 'linux-6.18'],
    ['swapin-race', 'linux-6.3'],
    ['dontneed-nested-flush', 'linux-4.8'],
  ] as const) {
    it(`${name} on ${kernel}: the model's record holds every word a Proxy sees it read or store`, () => {
      const sys = buildSystem(loadConfig(`explore/${name}.yaml`), profileById(kernel));
      const props = sys.config.properties.filter((p) => p !== 'model-invariant');
      const ex = new Expander(sys, props, true, 'none');
      const rec = new Recorder(sys.initial.m.length);
      const kern = { prof: sys.profile, env: systemEnv(sys.config, sys.profile) };
      // (the properties the explorer checks: only what they read is part of a footprint)
      const monitor = new Monitor(plainNames, false, new Set(props));
      const queue = [sys.initial.clone()];
      let checked = 0;
      for (let i = 0; i < queue.length && i < 60; i++) {
        const p = queue[i]!;
        for (let a = 0; a < sys.actions.length; a++) {
          const r = ex.step(p, a, 1, undefined, rec);
          if (!r) continue;
          if (queue.length < 60) queue.push(r.state);
          if (r.violation) continue;
          // the same step on a Proxy of the parent, in place (as Expander.step runs it on its copy), without the collection
          const reads = new Set<number>();
          const stores = new Set<number>();
          const viewed = new KState(p.L, recording(p.m.slice(), reads, stores));
          const act = sys.actions[a]!;
          expect(act.enabled(viewed)).toBe(true);
          const eff = step(viewed, kern, act.op(viewed), { step: 2, freshWrites: false, thread: act.thread(viewed) });
          monitor.reset();
          for (const v of monitor.check(viewed, eff, sys.profile, 2)) void v;
          const recReads = new Set(rec.reads);
          const recStores = new Set(rec.stores);
          for (const w of reads) expect(recReads.has(w), `${name}: action ${a}: read of word ${w} not recorded`).toBe(true);
          for (const w of stores) expect(recStores.has(w)).toBe(true);
          const fp = footprintOf(rec, p, r.state);
          for (const w of fp.changes) expect(r.state.m[w]).not.toBe(p.m[w]);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(10);
    });
  }
});

describe('pieces', () => {
  it('independence: a change conflicts with a read or a store of the same word', () => {
    const c = new IndependenceCheck(16);
    const fp = (touched: number[], changes: number[]) => ({ touched: Int32Array.from([...touched, ...changes]), changes: Int32Array.from(changes) });
    expect(c.independent(fp([1, 2], [3]), fp([4], [5]))).toBe(true);
    expect(c.independent(fp([1, 2], [3]), fp([3], []))).toBe(false);
    expect(c.independent(fp([1], []), fp([], [1]))).toBe(false);
    // a store that changes nothing still conflicts with another's change of that word
    expect(c.independent({ touched: Int32Array.from([6]), changes: new Int32Array(0) }, fp([], [6]))).toBe(false);
    expect(c.independent(fp([7], []), fp([7], []))).toBe(true);
  });

  it('sleep tables: push, intersect, read across blocks', () => {
    const sw = sleepWords(40);
    expect(sw).toBe(2);
    const t = new SleepTable(sw);
    const set = new Uint32Array([0b1011, 1 << 7]);
    for (let i = 0; i < 20000; i++) t.push(set, 0);
    t.and(19999, new Uint32Array([0b0011, 0]), 0);
    const r = new SleepReader(t.view());
    const out = new Uint32Array(sw);
    r.read(19999, out);
    expect(Array.from(out)).toEqual([0b0011, 0]);
    r.read(3, out);
    expect(asleep(out, 3)).toBe(true);
    expect(asleep(out, 2)).toBe(false);
    expect(asleep(out, 39)).toBe(true);
  });
});
