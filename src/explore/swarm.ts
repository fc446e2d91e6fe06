/**
 * Random (swarm) exploration for systems too big to exhaust: seeded random
 * walks from the initial state. Walk i uses its own generator seeded from
 * (seed, i), so a walk is the same whatever thread runs it; walks go in
 * batches, and the violation reported is the one of the lowest walk index,
 * so rerunning a seed repeats the result exactly.
 */
import { type Worker } from 'node:worker_threads';
import { KState } from '../model/layout.js';
import type { Violation } from '../properties/monitor.js';
import { Expander } from './expand.js';
import { pauser, startWorkers, type WorkerInit } from './bfs.js';
import type { ExploreSystem } from './system.js';

/** mulberry32: small, fast, good enough to pick actions. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function walkSeed(seed: number, walk: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x01000193) ^ Math.imul(walk + 1, 0x9e3779b1)) >>> 0;
}

export interface WalkResult {
  walk: number;
  trace: number[];
  violation: Violation | null;
  steps: number;
}

/** One walk: at each step a uniformly random action among those that apply. */
export function walk(ex: Expander, seed: number, index: number, depth: number): WalkResult {
  const r = rng(walkSeed(seed, index));
  const sys = ex.sys;
  let s = sys.initial.clone();
  let next = new KState(s.L, new Int32Array(s.m.length));
  const trace: number[] = [];
  const n = sys.actions.length;
  const order = new Int32Array(n);
  let steps = 0;
  for (let d = 0; d < depth; d++) {
    // a random permutation, tried in order: the first action that applies is taken
    for (let i = 0; i < n; i++) order[i] = i;
    let took = false;
    for (let i = 0; i < n && !took; i++) {
      const j = i + Math.floor(r() * (n - i));
      const a = order[j]!;
      order[j] = order[i]!;
      order[i] = a;
      const res = ex.step(s, a, d, next);
      if (!res) continue;
      steps++;
      trace.push(a);
      if (res.violation) return { walk: index, trace, violation: res.violation, steps };
      const t = s;
      s = next;
      next = t;
      took = true;
    }
    if (!took) break;
  }
  return { walk: index, trace, violation: null, steps };
}

/** Walks per batch: a run stops at the end of the batch with its first violation (shards keep batches whole). */
export const SWARM_BATCH = 256;

export interface SwarmResult {
  seed: number;
  /** walks done (of the shard's, with a shard) */
  walks: number;
  steps: number;
  seconds: number;
  found: WalkResult | null;
}

/** Runs `walks` walks in batches over `workers` threads (or this one). */
export async function swarm(sys: ExploreSystem, opts: { seed: number; walks: number; depth: number; workers: number; init?: WorkerInit; stop?: { requested: boolean }; onProgress?: (done: number, steps: number) => void;
  /** a shard: walks [from, from + walks) only (from a multiple of the batch size, so batches are the whole run's) */
  from?: number },
  properties: ExploreSystem['config']['properties']): Promise<SwarmResult> {
  const t0 = Date.now();
  const batch = SWARM_BATCH;
  let steps = 0;
  let done = 0;
  const pool = opts.workers > 1 && opts.init ? await startSwarmWorkers(opts.workers, opts.init) : [];
  const ex = pool.length ? null : new Expander(sys, properties);
  const pause = pauser();
  try {
    const from = opts.from ?? 0;
    const to = from + opts.walks;
    for (let b = from; b < to && !opts.stop?.requested; b += batch) {
      const hi = Math.min(to, b + batch);
      let results: WalkResult[];
      if (ex) {
        // walk by walk, letting the event loop run so Ctrl-C is seen
        results = [];
        for (let i = b; i < hi && !opts.stop?.requested; i++) {
          results.push(walk(ex, opts.seed, i, opts.depth));
          await pause();
        }
      } else {
        const parts = pool.map((w, k) => w.run(opts.seed, b + k, hi, pool.length, opts.depth));
        results = (await Promise.all(parts)).flat();
      }
      results.sort((x, y) => x.walk - y.walk);
      for (const r of results) steps += r.steps;
      done = b - from + results.length;
      opts.onProgress?.(done, steps);
      const hit = results.find((r) => r.violation);
      if (hit) return { seed: opts.seed, walks: done, steps, seconds: (Date.now() - t0) / 1000, found: hit };
    }
  } finally {
    for (const w of pool) await w.worker.terminate();
  }
  return { seed: opts.seed, walks: done, steps, seconds: (Date.now() - t0) / 1000, found: null };
}

interface SwarmWorker {
  worker: Worker;
  run(seed: number, from: number, to: number, stride: number, depth: number): Promise<WalkResult[]>;
}

async function startSwarmWorkers(n: number, init: WorkerInit): Promise<SwarmWorker[]> {
  return (await startWorkers(n, init)).map(({ worker }) => ({
    worker,
    run: (seed, from, to, stride, depth) => new Promise((res, rej) => {
      worker.once('message', (m: { walks?: WalkResult[]; error?: string }) => (m.walks ? res(m.walks) : rej(new Error(m.error))));
      worker.postMessage({ swarm: { seed, from, to, stride, depth } });
    }),
  }));
}
