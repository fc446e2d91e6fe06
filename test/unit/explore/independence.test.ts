/**
 * The partial-order reduction measurement (src/explore/independence.ts):
 * footprints recorded through the Proxy are complete enough that every pair
 * they call independent does commute, and the race configurations show why
 * the explorer does not reduce by them.
 */
import { describe, it, expect } from 'vitest';
import { loadConfig, buildSystem } from '../../../src/explore/system.js';
import { measureIndependence, independent } from '../../../src/explore/independence.js';
import { profileById } from '../../../src/profiles/index.js';

const sys = (name: string, kernel: string) => buildSystem(loadConfig(`explore/${name}.yaml`), profileById(kernel));

describe('independence by footprints', () => {
  it('a change conflicts with a read or a change of the same word, and nothing else', () => {
    const fp = (reads: number[], changes: number[]) => ({ reads: new Set(reads), changes: new Set(changes) });
    expect(independent(fp([1, 2], [3]), fp([4], [5]))).toBe(true);
    expect(independent(fp([1, 2], [3]), fp([3], []))).toBe(false);
    expect(independent(fp([1, 2], [3]), fp([], [3]))).toBe(false);
    expect(independent(fp([1, 2], []), fp([], [2]))).toBe(false);
    // both read a word neither changes
    expect(independent(fp([7], []), fp([7], []))).toBe(true);
  });

  for (const [name, kernel] of [
    ['spin-reference', 'linux-5.9'],
    ['vmsplice-leak', 'linux-5.7'],
    ['dirty-cow', 'linux-4.8'],
    ['gup-fast-fork', 'linux-5.9'],
  ] as const) {
    it(`${name} on ${kernel}: every pair independent by footprints commutes`, () => {
      const r = measureIndependence(sys(name, kernel), 80);
      expect(r.pairs).toBeGreaterThan(0);
      expect(r.unsound).toBe(0);
      expect(r.independent).toBeLessThanOrEqual(r.commute);
    });
  }

  it('the race configurations are nearly all dependent: their actions share the one page', () => {
    for (const [name, kernel] of [
      ['dirty-cow', 'linux-4.8'],
      ['uffd-wp-stale-tlb', 'linux-5.9'],
    ] as const) {
      const r = measureIndependence(sys(name, kernel), 150);
      expect(r.independent / r.pairs).toBeLessThan(0.1);
      expect(r.commute).toBeGreaterThan(r.independent);
    }
  });
});
