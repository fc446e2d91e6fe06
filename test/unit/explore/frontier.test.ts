import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeState, decodeState, maxEncodedBytes, PackedLevel, LevelReader, LevelSpill } from '../../../src/explore/frontier.js';

const pair = fc.integer({ min: 1, max: 300 }).chain((n) =>
  fc.tuple(fc.array(fc.integer(), { minLength: n, maxLength: n }), fc.array(fc.option(fc.integer(), { freq: 3 }), { minLength: n, maxLength: n })),
);

describe('the compact frontier', () => {
  it('decodes every state to the words it encoded (any values, any differences from the base)', () => {
    fc.assert(
      fc.property(pair, ([base, changes]) => {
        const b = Int32Array.from(base);
        const m = Int32Array.from(base.map((v, i) => changes[i] ?? v));
        const out = new Uint8Array(maxEncodedBytes(m.length) + 3);
        const end = encodeState(m, b, out, 3);
        expect(end).toBeLessThanOrEqual(3 + maxEncodedBytes(m.length));
        const back = new Int32Array(m.length).fill(7);
        expect(decodeState(out, 3, b, back)).toBe(end);
        expect(Array.from(back)).toEqual(Array.from(m));
      }),
    );
  });

  it('encodes exactly the words that differ, however few and wherever they are (whole blocks of eight skipped)', () => {
    // a reference: word by word
    const reference = (m: Int32Array, b: Int32Array): number[] => {
      const out: number[] = [];
      const varint = (v: number) => {
        for (; v >= 0x80; v >>>= 7) out.push((v & 0x7f) | 0x80);
        out.push(v);
      };
      let prev = -1;
      m.forEach((v, i) => {
        if (v === b[i]) return;
        varint(i - prev);
        varint(((v << 1) ^ (v >> 31)) >>> 0);
        prev = i;
      });
      return [...out, 0];
    };
    const sparse = fc.integer({ min: 1, max: 300 }).chain((n) =>
      fc.tuple(fc.array(fc.integer(), { minLength: n, maxLength: n }), fc.array(fc.tuple(fc.nat(n - 1), fc.integer()), { maxLength: 3 })),
    );
    fc.assert(
      fc.property(sparse, ([base, changes]) => {
        const b = Int32Array.from(base);
        const m = b.slice();
        for (const [i, v] of changes) m[i] = v;
        const out = new Uint8Array(maxEncodedBytes(m.length));
        const end = encodeState(m, b, out, 0);
        expect(Array.from(out.subarray(0, end))).toEqual(reference(m, b));
      }),
    );
  });

  it('a state like its base takes one byte, one differing word a few', () => {
    const b = new Int32Array(1578);
    const out = new Uint8Array(maxEncodedBytes(b.length));
    expect(encodeState(b, b, out, 0)).toBe(1);
    const m = b.slice();
    m[1500] = -3;
    expect(encodeState(m, b, out, 0)).toBe(4);
  });

  it('a level keeps states across blocks, in any order of reading, for readers in other threads', () => {
    const words = 1000;
    const base = new Int32Array(words);
    const level = new PackedLevel(words, base);
    // 1,200 states of about 4 KB each (more than one block of 4 MiB), then 70,000 small ones (more than one index block)
    const states: Int32Array[] = [];
    for (let k = 0; k < 1200; k++) {
      const m = base.slice();
      for (let i = 0; i < words; i += k % 600 === 599 ? 97 : 1) m[i] = k * 1000 + i;
      states.push(m);
    }
    for (let k = 0; k < 70_000; k++) {
      const m = base.slice();
      m[k % words] = k;
      m[(k * 7) % words] = -k;
      states.push(m);
    }
    states.forEach((m, k) => level.pushState(m, 500 + k));
    const r = new LevelReader(level.view(), base);
    const got = new Int32Array(words);
    // at random, then in order from a state that is not a restart point
    for (const k of [1199, 0, 1, 599, 64, 63, 1198, 71_199, 1200, 40_000]) {
      expect(r.read(k, got)).toBe(500 + k);
      expect(Array.from(got)).toEqual(Array.from(states[k]!));
    }
    for (let k = 37; k < 1400; k++) {
      r.read(k, got);
      expect(got).toEqual(states[k]);
    }
    expect(level.view().data.length).toBeGreaterThan(1);
    expect(level.view().index.length).toBeGreaterThan(0);
    expect(() => level.pushState(base, 7)).toThrow(/not consecutive/);
  });

  it('states encoded against the initial one are stored against their neighbour: a few bytes each', () => {
    const words = 1578;
    const base = new Int32Array(words).map((_, i) => i * 3);
    const level = new PackedLevel(words, base);
    const out = new Uint8Array(maxEncodedBytes(words));
    for (let k = 0; k < 6400; k++) {
      const m = base.slice();
      for (let i = 0; i < 40; i++) m[100 + i * 30] = 5;
      m[1500] = k;
      encodeState(m, base, out, 0);
      level.push(out, 0, k);
    }
    // each differs from the one before it in one word: about 4 bytes, the restart points about 100
    expect(level.view().ends.reduce((a, b) => a + b, 0) / 6400).toBeLessThan(8);
    const r = new LevelReader(level.view(), base);
    const got = new Int32Array(words);
    r.read(6399, got);
    expect(got[1500]).toBe(6399);
    expect(got[130]).toBe(5);
  });

  it('past the budget, full blocks go to an unlinked file and read back the same, in any order, level after level', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cowlab-spill-'));
    try {
      const words = 300;
      const base = new Int32Array(words);
      // blocks of 4 KiB, a budget of two: most of each level goes to disk
      const spill = new LevelSpill(2 * 4096, dir);
      // nothing of the spill files is visible in the directory, even while they are in use
      expect(readdirSync(dir)).toEqual([]);
      const mk = (d: number, k: number) => {
        const m = base.slice();
        for (let i = 0; i < 20; i++) m[(k * 13 + i * 7) % words] = d * 100_000 + k * 10 + i;
        return m;
      };
      let prev: PackedLevel | null = null;
      let widest = 0;
      for (let d = 0; d < 4; d++) {
        const level = new PackedLevel(words, base, spill, d, 4096);
        for (let k = 0; k < 3000; k++) level.pushState(mk(d, k), d * 10_000 + k);
        prev?.release();
        const v = level.view();
        widest = Math.max(widest, v.ends.reduce((a, b) => a + b, 0));
        expect(v.data.filter((b) => b === null).length).toBeGreaterThan(10);
        // what is in memory is what the budget allows (the level being read has been released)
        expect(level.bytes).toBeLessThanOrEqual(3 * 4096 + (1 << 14) * 8);
        const r = new LevelReader(v, base);
        const got = new Int32Array(words);
        for (const k of [2999, 0, 1, 64, 63, 1500, 2998, 700]) {
          expect(r.read(k, got)).toBe(d * 10_000 + k);
          expect(got).toEqual(mk(d, k));
        }
        for (let k = 5; k < 3000; k++) {
          r.read(k, got);
          expect(got).toEqual(mk(d, k));
        }
        prev = level;
      }
      // each file holds one level at a time: the disk use is about two levels', not four
      expect(spill.mostOnDisk).toBeGreaterThan(widest);
      expect(spill.mostOnDisk).toBeLessThanOrEqual(2 * widest);
      spill.close();
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
