import { describe, it, expect } from 'vitest';
import { mergeFuzzDiff, type FuzzDiffShard } from '../../../src/fuzz/merge.js';
import type { FuzzFinding, FuzzReport } from '../../../src/fuzz/fuzz.js';
import type { Divergence } from '../../../src/diff/compare.js';
import { InputError } from '../../../src/scenario/errors.js';

const d = (step: number) => ({ step, process: 'P0', field: 'mapcount', model: '1', kernel: '2' }) as unknown as Divergence;
const finding = (kind: string, index: number, count: number): FuzzFinding => ({
  kind,
  count,
  index,
  divergence: d(index),
  file: `out/fuzz-9-${index}.yaml`,
  steps: 3,
  reproduced: true,
  shrunk: true,
});
const report = (over: Partial<FuzzReport>): FuzzReport => ({
  seed: 9,
  ran: 0,
  skipped: 0,
  skips: [],
  agreed: 0,
  unstable: [],
  findings: [],
  seconds: 1,
  thp: true,
  mthp: true,
  ksm: true,
  hugetlb: true,
  ...over,
});
const part = (index: number, r: FuzzReport): FuzzDiffShard => ({
  cowlab: 'fuzz-diff-shard',
  shard: { index, count: 2 },
  from: 0,
  count: 20,
  shrink: true,
  report: r,
});

describe('merging fuzz --diff shards', () => {
  it('adds the counts up and keeps, for each kind, the finding of its lowest scenario (the one a single run shrinks)', () => {
    const a = report({
      ran: 10,
      skipped: 1,
      skips: [{ index: 4, reason: 'no swap' }],
      agreed: 6,
      seconds: 5,
      unstable: [{ index: 7, divergence: d(1), agreedOnRun: 2 }],
      findings: [finding('write: mapcount', 3, 2), finding('fork: refcount', 9, 1)],
    });
    const b = report({
      ran: 10,
      skipped: 2,
      skips: [
        { index: 15, reason: 'b' },
        { index: 1, reason: 'a' },
      ],
      agreed: 5,
      seconds: 8,
      unstable: [{ index: 2, divergence: d(1), agreedOnRun: 3 }],
      findings: [finding('read: flags', 11, 1), finding('write: mapcount', 12, 2)],
    });
    const m = mergeFuzzDiff([part(2, b), part(1, a)], ['b.json', 'a.json']);
    expect(m).toMatchObject({ seed: 9, ran: 20, skipped: 3, agreed: 11, seconds: 8 });
    expect(m.unstable.map((u) => u.index)).toEqual([2, 7]);
    expect(m.skips.map((k) => k.index)).toEqual([1, 4, 15]);
    expect(m.findings.map((f) => [f.kind, f.index, f.count, f.file])).toEqual([
      ['write: mapcount', 3, 4, 'out/fuzz-9-3.yaml'],
      ['fork: refcount', 9, 1, 'out/fuzz-9-9.yaml'],
      ['read: flags', 11, 1, 'out/fuzz-9-11.yaml'],
    ]);
  });

  it('refuses shards of another seed or with other areas, and a missing one', () => {
    expect(() => mergeFuzzDiff([part(1, report({})), part(2, report({ seed: 8 }))], ['a', 'b'])).toThrow(InputError);
    expect(() => mergeFuzzDiff([part(1, report({})), part(2, report({ ksm: false }))], ['a', 'b'])).toThrow(/b: another run/);
    expect(() => mergeFuzzDiff([part(1, report({}))], ['a'])).toThrow(/shard\(s\) 2\/2 missing/);
  });
});
