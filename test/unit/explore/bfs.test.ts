/**
 * How a BFS level is cut into the chunks the threads claim (src/explore/bfs.ts):
 * the chunks cover the level once, in order; all but the tail are whole
 * chunks, and the tail's are small, so the threads end a level together.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ChunkSeen, chunkStart, levelChunks } from '../../../src/explore/bfs.js';
import { LevelClaims } from '../../../src/explore/store.js';

describe('level chunks', () => {
  it('cover the level once, in order, none empty; whole chunks first, small ones at the end', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200_000 }), (length) => {
        const n = levelChunks(length);
        expect(chunkStart(0, length)).toBe(0);
        expect(chunkStart(n, length)).toBe(length);
        const sizes: number[] = [];
        for (let c = 0; c < n; c++) sizes.push(chunkStart(c + 1, length) - chunkStart(c, length));
        expect(sizes.every((x) => x > 0)).toBe(true);
        const firstSmall = sizes.findIndex((x) => x < 256);
        const tail = firstSmall < 0 ? [] : sizes.slice(firstSmall);
        // whole chunks, then at most 32 states each, which make the last 256 or more (or the whole level)
        expect(sizes.slice(0, firstSmall < 0 ? n : firstSmall).every((x) => x === 256)).toBe(true);
        expect(tail.every((x) => x <= 32)).toBe(true);
        expect(tail.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(Math.min(length, 256));
      }),
    );
  });
});

describe("a thread's view of the level's successors", () => {
  it('drops what an earlier chunk claimed, and what it found itself when the claims table had no room', () => {
    const claims = new LevelClaims(4);
    const other = new ChunkSeen(claims.tab);
    other.chunk = 0;
    for (let k = 1; k <= 4; k++) expect(other.add(k, k)).toBe(true);
    const mine = new ChunkSeen(claims.tab);
    mine.chunk = 1;
    // claimed by chunk 0
    expect(mine.add(2, 2)).toBe(false);
    // the table is full: the thread's own set remembers
    expect(mine.add(9, 9)).toBe(true);
    expect(mine.add(9, 9)).toBe(false);
    mine.chunk = 2;
    expect(mine.add(9, 9)).toBe(false);
    // only what the table had no room for is in the thread's own set
    expect((mine as unknown as { own: { size: number } }).own.size).toBe(1);
    expect((other as unknown as { own: { size: number } }).own.size).toBe(0);
  });
});
