import { describe, it, expect } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig, buildSystem } from '../../../src/explore/system.js';
import { Expander } from '../../../src/explore/expand.js';
import { Canonicalizer } from '../../../src/model/canon.js';
import { bfs } from '../../../src/explore/bfs.js';
import { swarm } from '../../../src/explore/swarm.js';
import { FingerprintSet } from '../../../src/explore/store.js';
import { defaultMemoryLimitMb } from '../../../src/explore/limits.js';
import { profileById } from '../../../src/profiles/index.js';
import type { KState } from '../../../src/model/layout.js';

const cfg = (text: string) => parseConfig(text, 'inline.yaml');
const two = cfg(`
processes: 3
regions: {a: {pages: 1}, b: {pages: 1}}
ops: [write, fork, exit, vmsplice, read-pipe, munmap]
depth: 4
`);

/** Applies actions (by their step text) from the initial state. */
function run(sys: ReturnType<typeof buildSystem>, labels: string[]): KState {
  const ex = new Expander(sys, ['no-leak']);
  let s = sys.initial.clone();
  labels.forEach((l, d) => {
    const a = sys.actions.findIndex((x) => JSON.stringify(x.step(s)) === l);
    if (a < 0) throw new Error(`no action ${l}; have ${sys.actions.map((x) => JSON.stringify(x.step(s))).join(' ')}`);
    const r = ex.step(s, a, d)!;
    s = r.state;
  });
  return s;
}

const fp = (sys: ReturnType<typeof buildSystem>, s: KState) => {
  const c = new Canonicalizer(s.L);
  const out = new Uint32Array(2);
  c.fingerprint(s, out);
  return `${out[0]}:${out[1]}`;
};

describe('canonical states', () => {
  const sys = buildSystem(two, profileById('linux-6.18'));
  it('the fingerprint of a state is stable (same state, same fingerprint, any number of times)', () => {
    const s = run(sys, ['{"P0":{"write":"a"}}', '{"P0":{"fork":"P1"}}']);
    expect(fp(sys, s)).toBe(fp(sys, s.clone()));
    expect(fp(sys, s)).toBe(fp(sys, run(sys, ['{"P0":{"write":"a"}}', '{"P0":{"fork":"P1"}}'])));
  });
  it('frames are renamed: the order pages were allocated in does not matter', () => {
    const ab = run(sys, ['{"P0":{"write":"a"}}', '{"P0":{"write":"b"}}']);
    const ba = run(sys, ['{"P0":{"write":"b"}}', '{"P0":{"write":"a"}}']);
    expect(ab.m).not.toEqual(ba.m); // different frames hold a and b
    expect(fp(sys, ab)).toBe(fp(sys, ba));
  });
  it('processes are renamed: two children that did the same thing in the other order are one state', () => {
    const x = run(sys, ['{"P0":{"write":"a"}}', '{"P0":{"fork":"P1"}}', '{"P0":{"fork":"P2"}}', '{"P1":{"write":"b"}}']);
    const y = run(sys, ['{"P0":{"write":"a"}}', '{"P0":{"fork":"P1"}}', '{"P0":{"fork":"P2"}}', '{"P2":{"write":"b"}}']);
    expect(fp(sys, x)).toBe(fp(sys, y));
  });
  it('different behaviour stays apart', () => {
    const shared = run(sys, ['{"P0":{"write":"a"}}', '{"P0":{"fork":"P1"}}']);
    const copied = run(sys, ['{"P0":{"write":"a"}}', '{"P0":{"fork":"P1"}}', '{"P1":{"write":"a"}}']);
    const zero = run(sys, ['{"P0":{"fork":"P1"}}']);
    expect(new Set([fp(sys, shared), fp(sys, copied), fp(sys, zero)]).size).toBe(3);
  });
});

describe('the visited set', () => {
  it('grows past its initial size and keeps every fingerprint', () => {
    const set = new FingerprintSet(16);
    for (let i = 0; i < 100000; i++) expect(set.add(i * 2654435761 >>> 0, i)).toBe(true);
    for (let i = 0; i < 100000; i += 997) expect(set.add(i * 2654435761 >>> 0, i)).toBe(false);
    expect(set.size).toBe(100000);
    expect(set.bytes / set.size).toBeLessThan(12);
  });
});

describe('breadth-first search', () => {
  const leak = loadConfig('explore/vmsplice-leak.yaml');
  it('finds the vmsplice leak on linux-5.7 at its shortest depth, and the trace replays', async () => {
    const sys = buildSystem(leak, profileById('linux-5.7'));
    const r = await bfs(sys, { depth: 8, workers: 1, properties: ['no-leak'] });
    expect(r.verdict).toBe('violation');
    expect(r.depth).toBe(7);
    expect(r.trace.length).toBe(7);
    // deterministic replay of the actions reaches the same violation
    const ex = new Expander(sys, ['no-leak']);
    let s = sys.initial.clone();
    let last = null;
    for (const [d, a] of r.trace.entries()) {
      const st = ex.step(s, a, d)!;
      s = st.state;
      last = st.violation;
    }
    expect(last?.property).toBe('no-leak');
  });
  it('exhausts the same bounds on linux-6.18 with no violation, the same way twice', async () => {
    const sys = buildSystem(leak, profileById('linux-6.18'));
    const a = await bfs(sys, { depth: 8, workers: 1, properties: ['no-leak'] });
    const b = await bfs(sys, { depth: 8, workers: 1, properties: ['no-leak'] });
    expect(a.verdict).toBe('none');
    expect(a.complete).toBe(true);
    expect(a.distinct).toBe(b.distinct);
    expect(a.levels).toEqual(b.levels);
  });
  it('stops at a state limit with a partial result', async () => {
    const sys = buildSystem(leak, profileById('linux-6.18'));
    const r = await bfs(sys, { depth: 8, workers: 1, properties: ['no-leak'], maxStates: 200 });
    expect(r.complete).toBe(false);
    expect(r.stoppedBy).toBe('max-states');
  });
});

describe('random walks', () => {
  it('repeat exactly for a seed and find the leak', async () => {
    const sys = buildSystem(loadConfig('explore/vmsplice-leak.yaml'), profileById('linux-5.7'));
    const a = await swarm(sys, { seed: 7, walks: 20000, depth: 10, workers: 1 }, ['no-leak']);
    const b = await swarm(sys, { seed: 7, walks: 20000, depth: 10, workers: 1 }, ['no-leak']);
    expect(a.found).not.toBeNull();
    expect(a.found).toEqual(b.found);
  });
});

/**
 * spin-reference with three processes on linux-5.9, from the built JavaScript (worker threads load it; npm test
 * builds first): the search module, the configuration, the system and what a worker thread rebuilds it from.
 */
async function spinReference3x1() {
  const bfsMod = await import('../../../dist/explore/bfs.js');
  const sysMod = await import('../../../dist/explore/system.js');
  const prof = await import('../../../dist/profiles/index.js');
  const c = sysMod.overrideConfig(sysMod.loadConfig('explore/spin-reference.yaml'), { processes: '3' });
  const sys = sysMod.buildSystem(c, prof.profileById('linux-5.9'));
  const init = { config: c, profile: { builtin: 'linux-5.9' }, properties: c.properties };
  return { bfsMod, c, sys, init };
}

describe('worker threads', () => {
  it('visit the same states as one thread and find a counterexample of the same length', async () => {
    // worker threads load the built JavaScript (npm test builds first)
    const dist = await import('../../../dist/explore/explore.js');
    const sysMod = await import('../../../dist/explore/system.js');
    const prof = await import('../../../dist/profiles/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'cowlab-explore-w-'));
    try {
      const c = sysMod.overrideConfig(sysMod.loadConfig('explore/spin-reference.yaml'), {});
      const one = await dist.explore({ config: c, profile: prof.profileById('linux-6.18'), profileSource: { builtin: 'linux-6.18' }, workers: 1, out: join(dir, 'a.yaml') });
      const two = await dist.explore({ config: c, profile: prof.profileById('linux-6.18'), profileSource: { builtin: 'linux-6.18' }, workers: 2, waitForWorkers: true, out: join(dir, 'b.yaml') });
      // chunks taken in order whoever expanded them: the same search, transition for transition
      expect(two.distinct).toBe(one.distinct);
      expect(two.levels).toEqual(one.levels);
      expect(two.states).toBe(one.states);
      // (the second thread expanded from the first level on: it was waited for)
      expect([one.workersFrom, two.workersFrom]).toEqual([null, 0]);
      const l1 = await dist.explore({ config: c, profile: prof.profileById('linux-5.7'), profileSource: { builtin: 'linux-5.7' }, workers: 1, out: join(dir, 'c.yaml') });
      const l2 = await dist.explore({ config: c, profile: prof.profileById('linux-5.7'), profileSource: { builtin: 'linux-5.7' }, workers: 2, waitForWorkers: true, out: join(dir, 'd.yaml') });
      expect(l1.verdict).toBe('violation');
      expect(l2.depth).toBe(l1.depth);
      expect(l2.replayed).toBe(true);
      expect(l2.trace).toEqual(l1.trace);
      expect(l2.states).toBe(l1.states);
      expect(l2.distinct).toBe(l1.distinct);
      expect(l2.workersFrom).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('start while the search does and join it at a level start: the same search as one that waits for them', async () => {
    const { bfsMod, c, sys, init } = await spinReference3x1();
    // to depth 12: 145,000 states, seconds of work; a thread is ready in a few hundred ms
    const lim = { depth: 12, properties: c.properties };
    const one = await bfsMod.bfs(sys, { ...lim, workers: 1 });
    const waited = await bfsMod.bfs(sys, { ...lim, workers: 2, waitForWorkers: true }, init);
    const joined = await bfsMod.bfs(sys, { ...lim, workers: 2 }, init);
    const shape = (r: typeof one) => [r.levels, r.states, r.distinct, r.verdict];
    expect(shape(waited)).toEqual(shape(one));
    expect(shape(joined)).toEqual(shape(one));
    expect(one.workersFrom).toBeNull();
    expect(waited.workersFrom).toBe(0);
    // the first levels are expanded before the event loop turns, so before a thread can say it is ready
    expect(joined.workersFrom).toBeGreaterThan(0);
    expect(joined.workersFrom).toBeLessThan(12);
  }, 120_000);

  it('that cannot start fail the search with their reason, whether it waits for them or not, and the random walks', async () => {
    const { bfsMod, c, sys } = await spinReference3x1();
    // a profile module the worker threads cannot load
    const init = { config: c, profile: { file: join(tmpdir(), 'cowlab-no-such-profile.mjs') }, properties: c.properties };
    const lim = { depth: 12, properties: c.properties, workers: 2 };
    await expect(bfsMod.bfs(sys, { ...lim, waitForWorkers: true }, init)).rejects.toThrow(/cowlab-no-such-profile/);
    await expect(bfsMod.bfs(sys, lim, init)).rejects.toThrow(/cowlab-no-such-profile/);
    // random walks wait for their threads
    const swarmMod = await import('../../../dist/explore/swarm.js');
    await expect(swarmMod.swarm(sys, { seed: 1, walks: 100, depth: 10, workers: 2, init }, c.properties)).rejects.toThrow(/cowlab-no-such-profile/);
  }, 120_000);
});

describe('a state limit', () => {
  it('stops the search after the first chunk taken past it: the same states whatever the timing or the threads', async () => {
    const { bfsMod, c, sys, init } = await spinReference3x1();
    // levels 1, 5, 12, 48, 171, 614, 1978 (2,829 states), then 5,463: each limit falls inside level 7, which
    // one thread expands in some 50 ms (a look at the clock, every 50 ms, would stop most of them at one point)
    for (const maxStates of [3000, 4000, 5000, 6000, 7000]) {
      const lim = { depth: 10, properties: c.properties, maxStates };
      const runs = [
        await bfsMod.bfs(sys, { ...lim, workers: 1 }),
        await bfsMod.bfs(sys, { ...lim, workers: 1 }),
        await bfsMod.bfs(sys, { ...lim, workers: 2, waitForWorkers: true }, init),
      ];
      for (const r of runs) {
        expect(r.stoppedBy).toBe('max-states');
        expect(r.levels.slice(0, 7)).toEqual([1, 5, 12, 48, 171, 614, 1978]);
        // a chunk of 256 states of level 6 finds at most some 750 new ones: the search stopped in the chunk that passed the limit
        expect(r.distinct).toBeGreaterThanOrEqual(maxStates);
        expect(r.distinct, `limit ${maxStates}`).toBeLessThan(maxStates + 800);
      }
      expect(runs.map((r) => [r.levels, r.distinct, r.states])).toEqual(runs.map(() => [runs[0]!.levels, runs[0]!.distinct, runs[0]!.states]));
    }
  }, 120_000);
});

describe('levels spilled to disk', () => {
  it('the same search, verdict and counterexample with every full block on disk, on one thread and with workers', async () => {
    // worker threads load the built JavaScript (npm test builds first)
    const bfsMod = await import('../../../dist/explore/bfs.js');
    const sysMod = await import('../../../dist/explore/system.js');
    const prof = await import('../../../dist/profiles/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'cowlab-spill-'));
    try {
      for (const [kernel, processes] of [
        ['linux-6.18', '3'],
        ['linux-5.7', '2'],
      ] as const) {
        const c = sysMod.overrideConfig(sysMod.loadConfig('explore/spin-reference.yaml'), { processes });
        const sys = sysMod.buildSystem(c, prof.profileById(kernel));
        const init = { config: c, profile: { builtin: kernel }, properties: c.properties };
        const lim = { depth: 9, properties: c.properties };
        for (const workers of [1, 2]) {
          const plain = await bfsMod.bfs(sys, { ...lim, workers }, init);
          expect(plain.frontierDiskBytes).toBe(0);
          // blocks of 4 KiB and no memory for them: every full block goes to the file
          const spilled = await bfsMod.bfs(sys, { ...lim, workers, levelMemoryMb: 0, spillDir: dir, levelBlockBytes: 4096 }, init);
          expect(spilled.frontierDiskBytes).toBeGreaterThan(0);
          expect(spilled.frontierBytes).toBeLessThan(plain.frontierBytes);
          expect({ ...spilled, seconds: 0, frontierBytes: 0, frontierDiskBytes: 0, collisionProbability: 0, bytesPerState: 0 }).toEqual({
            ...plain,
            seconds: 0,
            frontierBytes: 0,
            frontierDiskBytes: 0,
            collisionProbability: 0,
            bytesPerState: 0,
          });
        }
      }
      // nothing is left in the directory
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('machine limits', () => {
  it('defaults the memory limit to 3/4 of what is available, never below 256 MiB', () => {
    expect(defaultMemoryLimitMb(8 * 2 ** 30)).toBe(6144);
    expect(defaultMemoryLimitMb(100 * 2 ** 20)).toBe(256);
  });
});
