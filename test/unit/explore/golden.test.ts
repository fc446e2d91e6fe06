/**
 * Every shipped configuration (explore/*.yaml) on every profile finds what
 * it found before the explorer's reductions (test/data/explore-golden.json,
 * written by scripts/explore-golden.mjs): the same verdict, property, depth
 * and counterexample, and a complete search where it was complete, never
 * visiting more states. It also gives what the configuration documents for
 * the profile (its `expect:`), and a counterexample replays with `cowlab run`.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { availableParallelism } from 'node:os';

interface Row {
  config: string;
  kernel: string;
  verdict: 'violation' | 'none';
  property: string | null;
  depth: number;
  complete: boolean;
  trace: string[];
  distinct: number;
  replayed?: boolean | null;
  documented?: { verdict: string; property?: string; depth?: number } | null;
}

const golden = JSON.parse(readFileSync('test/data/explore-golden.json', 'utf8')) as Row[];

describe('shipped configurations against the golden results', () => {
  const now = new Map<string, Row>();
  beforeAll(async () => {
    // the built explorer in plain node processes (npm test builds first): about 4x faster than under vitest;
    // one shard per core, side by side
    const n = Math.min(4, availableParallelism());
    const parts = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        promisify(execFile)(process.execPath, ['scripts/explore-golden.mjs', '--json', '--shard', `${i + 1}/${n}`], { maxBuffer: 64 << 20 }),
      ),
    );
    for (const { stdout } of parts) for (const r of JSON.parse(stdout) as Row[]) now.set(`${r.config} ${r.kernel}`, r);
  }, 1_200_000);
  for (const g of golden) {
    it(`${g.config} on ${g.kernel}: ${g.verdict}${g.property ? ` ${g.property} at depth ${g.depth}` : ''}`, () => {
      const r = now.get(`${g.config} ${g.kernel}`);
      expect(r, 'the configuration or profile is gone').toBeDefined();
      if (!r) return;
      expect(r.verdict).toBe(g.verdict);
      expect(r.property).toBe(g.property);
      expect(r.complete).toBe(g.complete);
      // an exhausted search's depth is its deepest level: merging equivalent states may make it shallower
      if (g.verdict === 'violation' || !g.complete) expect(r.depth).toBe(g.depth);
      else expect(r.depth).toBeLessThanOrEqual(g.depth);
      expect(r.trace).toEqual(g.trace);
      expect(r.distinct).toBeLessThanOrEqual(g.distinct);
      if (r.verdict === 'violation') expect(r.replayed).toBe(true);
      const e = r.documented;
      if (e) {
        expect(r.verdict).toBe(e.verdict);
        if (e.property) expect(r.property).toBe(e.property);
        if (e.depth) expect(r.depth).toBe(e.depth);
      }
    });
  }
  it('every configuration and profile of today has a golden result', () => {
    expect([...now.keys()].sort()).toEqual(golden.map((g) => `${g.config} ${g.kernel}`).sort());
  });
});
