import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { encodeState, decodeState, maxEncodedBytes, PackedLevel, LevelReader } from '../../../src/explore/frontier.js';

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

  it('a state like its base takes one byte, one differing word a few', () => {
    const b = new Int32Array(1578);
    const out = new Uint8Array(maxEncodedBytes(b.length));
    expect(encodeState(b, b, out, 0)).toBe(1);
    const m = b.slice();
    m[1500] = -3;
    expect(encodeState(m, b, out, 0)).toBe(4);
  });

  it('a level keeps states across blocks and readers in other threads get them back by number', () => {
    const words = 1000;
    const base = new Int32Array(words);
    const level = new PackedLevel(words);
    // 1,200 states of about 4 KB each: more than one block of 4 MiB, and 70,000 index entries
    const states: Int32Array[] = [];
    for (let k = 0; k < 1200; k++) {
      const m = base.slice();
      for (let i = 0; i < words; i += k % 600 === 599 ? 97 : 1) m[i] = k * 1000 + i;
      states.push(m);
      level.pushState(m, base, 10 + k);
    }
    for (let k = 0; k < 70_000; k++) level.pushState(base, base, k);
    const r = new LevelReader(level.view(), base);
    const got = new Int32Array(words);
    for (const k of [0, 1, 599, 1198, 1199]) {
      expect(r.read(k, got)).toBe(10 + k);
      expect(Array.from(got)).toEqual(Array.from(states[k]!));
    }
    expect(r.read(1200 + 69_999, got)).toBe(69_999);
    expect(level.view().data.length).toBeGreaterThan(1);
    expect(level.view().index.length).toBeGreaterThan(1);
  });
});
