/**
 * A thread's memory of raw states (src/explore/rawseen.ts): a successor's
 * hash made from its parent's and the words a step stored is the hash of
 * the state, whichever parent it came from; a level reader keeps its
 * state's hash; and a search that skips the states a thread met before
 * finds what one that canonicalises every successor finds.
 */
import { describe, it, expect, vi } from 'vitest';
import fc from 'fast-check';
import { RawSeen, NEW, MET, UNCHANGED } from '../../../src/explore/rawseen.js';
import { PackedLevel, LevelReader } from '../../../src/explore/frontier.js';
import { bfs } from '../../../src/explore/bfs.js';
import { loadConfig, overrideConfig, buildSystem, type ExploreConfig } from '../../../src/explore/system.js';
import { profileById } from '../../../src/profiles/index.js';

/** a state, and two others each reached from it by storing some words (some of them the values they held) */
const states = fc.integer({ min: 1, max: 200 }).chain((n) =>
  fc.tuple(
    fc.array(fc.integer(), { minLength: n, maxLength: n }),
    fc.array(fc.tuple(fc.nat(n - 1), fc.option(fc.integer(), { freq: 2 })), { maxLength: 12 }),
    fc.array(fc.integer(), { minLength: n, maxLength: n }),
  ),
);

/** what a store log holds after these stores (each word once, first-store order) */
function logOf(stores: [number, unknown][]): Int32Array {
  return Int32Array.from(new Set(stores.map(([i]) => i)));
}

describe('raw states a thread met', () => {
  it("a successor's hash is its state's, whatever parent it came from: met again from another parent, never from its own when nothing changed", () => {
    fc.assert(
      fc.property(states, ([p0, stores, other]) => {
        const raw = new RawSeen(p0.length);
        const p = Int32Array.from(p0);
        const c = p.slice();
        // a store of null stores the value the word held
        for (const [i, v] of stores) if (v !== null) c[i] = v;
        const idx = logOf(stores);
        const ph = new Int32Array(2);
        raw.hash(p, ph);
        const first = raw.seen(ph, p, c, idx, idx.length);
        const changed = c.some((v, i) => v !== p[i]);
        if (!changed) {
          expect(first).toBe(UNCHANGED);
          return;
        }
        expect(first).toBe(NEW);
        // the same state again from the same parent, and from an unrelated one (all its words stored)
        expect(raw.seen(ph, p, c, idx, idx.length)).toBe(MET);
        const q = Int32Array.from(other);
        const qh = new Int32Array(2);
        raw.hash(q, qh);
        const all = Int32Array.from(q.keys());
        const fromQ = raw.seen(qh, q, c, all, all.length);
        expect(fromQ).toBe(c.every((v, i) => v === q[i]) ? UNCHANGED : MET);
        // one word more changed is another state
        const d = c.slice();
        d[0] = (d[0]! + 1) | 0;
        expect(raw.seen(ph, p, d, Int32Array.from(new Set([0, ...idx])), new Set([0, ...idx]).size)).toBe(d.every((v, i) => v === p[i]) ? UNCHANGED : NEW);
      }),
    );
  });

  it('words left out of the hash make no new state: a step that changed only them is its parent, and a state differing in them is met', () => {
    const skip = Uint8Array.from([0, 1, 0, 1]);
    const raw = new RawSeen(4, skip);
    const p = Int32Array.from([1, 2, 3, 4]);
    const ph = new Int32Array(2);
    raw.hash(p, ph);
    const all = Int32Array.from([0, 1, 2, 3]);
    expect(raw.seen(ph, p, Int32Array.from([1, 9, 3, 9]), all, 4)).toBe(UNCHANGED);
    expect(raw.seen(ph, p, Int32Array.from([1, 2, 5, 4]), all, 4)).toBe(NEW);
    expect(raw.seen(ph, p, Int32Array.from([1, 7, 5, 8]), all, 4)).toBe(MET);
    expect(raw.seen(ph, p, Int32Array.from([6, 7, 5, 8]), all, 4)).toBe(NEW);
  });

  it("a level reader's hash is the hash of the state it read, in any order of reading, words left out of it included", () => {
    const words = 700;
    const base = new Int32Array(words).map((_, i) => i * 5);
    const level = new PackedLevel(words, base);
    const mk = (k: number) => {
      const m = base.slice();
      for (let i = 0; i < 1 + (k % 9); i++) m[(k * 31 + i * 97) % words] = k * 10 + i;
      return m;
    };
    for (let k = 0; k < 3000; k++) level.pushState(mk(k), k);
    // words left out of the hash (as the canonical form's unread ones are) are decoded all the same
    const raw = new RawSeen(
      words,
      Uint8Array.from({ length: words }, (_, i) => (i % 7 === 3 ? 1 : 0)),
    );
    const r = new LevelReader(level.view(), base, raw);
    const got = new Int32Array(words);
    const want = new Int32Array(2);
    for (const k of [2999, 0, 1, 63, 64, 65, 1000, 999, ...Array.from({ length: 300 }, (_, j) => 1500 + j)]) {
      r.read(k, got);
      expect(got).toEqual(mk(k));
      raw.hash(got, want);
      expect(Array.from(r.hash)).toEqual(Array.from(want));
    }
  });
});

describe('a search that skips the raw states it met', () => {
  /** the search as it is, and with every met state canonicalised again */
  async function both(c: ExploreConfig, kernel: string, depth: number) {
    const sys = buildSystem(c, profileById(kernel));
    const lim = { depth, workers: 1, properties: c.properties };
    const skipping = await bfs(sys, lim);
    const hits = { met: 0 };
    const real = Object.getOwnPropertyDescriptor(RawSeen.prototype, 'seen')!.value as RawSeen['seen'];
    const spy = vi.spyOn(RawSeen.prototype, 'seen').mockImplementation(function (this: RawSeen, ...a) {
      const r = Reflect.apply(real, this, a);
      if (r === MET) hits.met++;
      return r === MET ? NEW : r;
    });
    try {
      const every = await bfs(sys, lim);
      return { skipping, every, met: hits.met };
    } finally {
      spy.mockRestore();
    }
  }

  const same = (r: Awaited<ReturnType<typeof both>>) => {
    // the skipped states are ones the search handled: some, or this compares nothing
    expect(r.met).toBeGreaterThan(100);
    const pick = (x: typeof r.skipping) => ({ levels: x.levels, states: x.states, distinct: x.distinct, verdict: x.verdict, property: x.violation?.property ?? null, depth: x.depth, trace: x.trace });
    expect(pick(r.skipping)).toEqual(pick(r.every));
  };

  it('finds the same states, levels, transitions, verdict and counterexample: spin-reference, a leak, pins and THP', async () => {
    same(await both(overrideConfig(loadConfig('explore/spin-reference.yaml'), { processes: '3' }), 'linux-5.9', 9));
    same(await both(loadConfig('explore/spin-reference.yaml'), 'linux-5.7', 12));
    same(await both(loadConfig('explore/ro-pin.yaml'), 'linux-6.18', 6));
    same(await both(loadConfig('explore/thp-vmsplice-leak.yaml'), 'linux-6.18', 6));
  }, 240_000);
});
