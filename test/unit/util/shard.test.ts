import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseShard, inShard, shardRange } from '../../../src/util/shard.js';
import { InputError } from '../../../src/scenario/errors.js';

describe('--shard i/n', () => {
  it('parses i/n and refuses anything else with the option named', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    expect(parseShard(undefined)).toBeUndefined();
    for (const bad of ['0/2', '3/2', '1', 'a/b', '1/0', '-1/2', '1/2/3'])
      expect(() => parseShard(bad)).toThrow(
        new InputError(`--shard: expected i/n with 1 <= i <= n (for example 2/4), not ${JSON.stringify(bad)}`),
      );
  });

  it('every item is in exactly one shard, and ranges partition the whole in aligned units', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 1, max: 300 }),
        (n, count, from, align) => {
          const shards = Array.from({ length: n }, (_, i) => ({ index: i + 1, count: n }));
          for (let i = 0; i < 50; i++) expect(shards.filter((s) => inShard(s, i)).length).toBe(1);
          let at = from;
          for (const s of shards) {
            const r = shardRange(s, from, count, align);
            expect(r.lo).toBe(at);
            expect(r.hi).toBeGreaterThanOrEqual(r.lo);
            if (r.hi < from + count) expect((r.hi - from) % align).toBe(0);
            at = r.hi;
          }
          expect(at).toBe(from + count);
        },
      ),
    );
  });
});
