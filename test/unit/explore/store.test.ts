/**
 * LevelClaims (src/explore/store.ts): the successors a level's chunks
 * found, shared by the threads. What makes the search the same whatever the
 * number of threads: for every successor, the least chunk that finds it
 * sends it (its first find in that chunk), whatever the interleaving.
 */
import { describe, it, expect } from 'vitest';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { LevelClaims, CLAIM_DROP, CLAIM_SEND, CLAIM_NO_ROOM } from '../../../src/explore/store.js';

/** Successor keys found by each chunk (a small pool: many found by several chunks, some twice in one). */
const chunksOf = (seed: number, chunks: number, per: number, pool: number): number[][] => {
  let x = seed >>> 0 || 1;
  const rnd = (): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) % pool;
  return Array.from({ length: chunks }, () => Array.from({ length: per }, rnd));
};

/** The keys a chunk sends, in order, when the earlier chunks' sends are known: its first find of each key no earlier chunk found. */
function expected(chunks: number[][]): boolean[][] {
  const first = new Map<number, number>();
  chunks.forEach((ks, c) => ks.forEach((k) => first.has(k) || first.set(k, c)));
  return chunks.map((ks, c) => ks.map((k, i) => first.get(k) === c && ks.indexOf(k) === i));
}

/**
 * Thread t (0 or 1) claims chunks from `counter` until none is left, handing each chunk's claims to `claimed`.
 * A thread more than LEAD chunks ahead of the other waits for it, so the two interleave whatever the scheduler
 * does (on a loaded machine one of them once ran 95% of the chunks); within that lead their claims race.
 * Self-contained: the worker runs its source. sync: [2 + t] chunks thread t has done, [4 + t] thread t is done.
 */
function claimLoop(
  claims: typeof LevelClaims,
  tab: Int32Array,
  counter: Int32Array,
  chunks: number[][],
  sync: Int32Array,
  t: number,
  claimed: (c: number, sent: boolean[]) => void,
): void {
  const LEAD = 8;
  for (let c; (c = Atomics.add(counter, 0, 1)) < chunks.length; ) {
    claimed(c, chunks[c]!.map((k) => claims.claim(tab, k * 7919, k ^ 0x5bd1e995, c)));
    const done = Atomics.add(sync, 2 + t, 1) + 1;
    Atomics.notify(sync, 2 + t);
    for (let o; !Atomics.load(sync, 5 - t) && done > (o = Atomics.load(sync, 3 - t)) + LEAD; ) Atomics.wait(sync, 3 - t, o, 5);
  }
  Atomics.store(sync, 4 + t, 1);
  Atomics.notify(sync, 3 - t);
}

describe('LevelClaims', () => {
  it('one thread, any claim order of the chunks: a chunk sends a successor unless a chunk no later than it found it', () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), (seed, order) => {
        const chunks = chunksOf(seed, 12, 20, 40);
        const t = new LevelClaims(1 << 10);
        const sent = new Map<number, number>();
        // chunks claimed in any order: a key is sent by a chunk iff it is before every chunk that sent it so far
        for (const c of [...new Set(order.map((o) => o % 12))]) {
          chunks[c]!.forEach((k, i) => {
            const first = chunks[c]!.indexOf(k) === i;
            const before = sent.get(k);
            expect(LevelClaims.claim(t.tab, k * 7919, k ^ 0x5bd1e995, c), `chunk ${c} key ${k}`).toBe(first && (before === undefined || c < before));
            if (first && (before === undefined || c < before)) sent.set(k, c);
          });
        }
      }),
    );
  });

  it('a table too full to place a successor lets it be sent, and says why it sends', () => {
    const t = new LevelClaims(4);
    for (let k = 1; k <= 4; k++) expect(LevelClaims.claim(t.tab, k, k, 0)).toBe(true);
    expect(LevelClaims.claim(t.tab, 99, 99, 5)).toBe(true);
    expect(LevelClaims.claim(t.tab, 99, 99, 5)).toBe(true);
    // claimIn(): no room (the finder must remember it), against a successor the table holds and judges again
    expect(LevelClaims.claimIn(t.tab, 99, 99, 0)).toBe(CLAIM_NO_ROOM);
    expect(LevelClaims.claimIn(t.tab, 2, 2, 0)).toBe(CLAIM_DROP);
    // what it holds still holds
    expect(LevelClaims.claim(t.tab, 3, 3, 1)).toBe(false);
    t.clear();
    expect(LevelClaims.claim(t.tab, 3, 3, 1)).toBe(true);
    // recorded in the table; an earlier chunk takes it over, a later one or the same is dropped
    t.clear();
    expect(LevelClaims.claimIn(t.tab, 1, 1, 2)).toBe(CLAIM_SEND);
    expect(LevelClaims.claimIn(t.tab, 1, 1, 1)).toBe(CLAIM_SEND);
    expect(LevelClaims.claimIn(t.tab, 1, 1, 1)).toBe(CLAIM_DROP);
    expect(LevelClaims.claimIn(t.tab, 1, 1, 3)).toBe(CLAIM_DROP);
  });

  it('two threads claiming chunks in increasing order, interleaved as they run: each successor sent by its first chunk', async () => {
    for (const seed of [1, 2, 3]) {
      const chunks = chunksOf(seed, 2000, 64, 20000);
      const claims = new LevelClaims(1 << 16);
      const counter = new Int32Array(new SharedArrayBuffer(4));
      // [0] the worker is ready, [1] go, [2 + t] chunks thread t has done (t: 0 this one, 1 the worker),
      // [4 + t] thread t found no chunk left
      const sync = new Int32Array(new SharedArrayBuffer(6 * 4));
      const sent: boolean[][] = chunks.map((ks) => ks.map(() => false));
      // both threads run claimLoop (the worker from the compiled store, as explorer workers load it)
      const code = `
        const { parentPort, workerData } = require('node:worker_threads');
        import(workerData.store).then(({ LevelClaims }) => {
          const { tab, counter, chunks, sync } = workerData;
          Atomics.store(sync, 0, 1);
          Atomics.notify(sync, 0);
          Atomics.wait(sync, 1, 0);
          const out = [];
          (${claimLoop.toString()})(LevelClaims, tab, counter, chunks, sync, 1, (c, s) => out.push([c, s]));
          parentPort.postMessage(out);
        });`;
      const store = new URL('../../../dist/explore/store.js', import.meta.url).href;
      const w = new Worker(code, { eval: true, workerData: { tab: claims.tab, counter, chunks, store, sync } });
      const theirs = new Promise<[number, boolean[]][]>((res, rej) => {
        w.once('message', res);
        w.once('error', rej);
      });
      while (Atomics.load(sync, 0) === 0) Atomics.wait(sync, 0, 0, 100);
      Atomics.store(sync, 1, 1);
      Atomics.notify(sync, 1);
      let mine = 0;
      claimLoop(LevelClaims, claims.tab, counter, chunks, sync, 0, (c: number, s: boolean[]) => {
        sent[c] = s;
        mine++;
      });
      const got = await theirs;
      for (const [c, s] of got) sent[c] = s;
      await w.terminate();
      // (the threads did run side by side: each did at least a third of the chunks)
      expect(Math.min(mine, got.length)).toBeGreaterThan(chunks.length / 3);
      const want = expected(chunks);
      // every first find is sent; a later one only where the other thread had not yet claimed the earlier chunk's find
      chunks.forEach((ks, c) => ks.forEach((_, i) => want[c]![i] && expect(sent[c]![i], `seed ${seed} chunk ${c} find ${i}`).toBe(true)));
      // and a chunk never sends what it sent already
      chunks.forEach((ks, c) => ks.forEach((k, i) => ks.indexOf(k) !== i && expect(sent[c]![i]).toBe(false)));
    }
  }, 60_000);
});
