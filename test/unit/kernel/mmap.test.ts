/**
 * VMA merging in the model (src/kernel/mm/mmap.ts vmas_commit): which
 * neighbours merge when only one has an anon_vma, by features.anonVmaMerge
 * ('target' up to 6.14, 'source' from 6.15).
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { scenarioFromObject } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';
import { vmas_of, type Vma } from '../../../src/model/mm_types.js';

/** The VMAs of process P0 after the steps, as [start, end, has anon_vma]. */
function layout(kernel: string, steps: unknown[]): [number, number, boolean][] {
  const r = resolveScenario(scenarioFromObject({ name: 'merge', processes: ['P0'], steps }, 'merge.yaml'));
  const res = runScenario(r, profileById(kernel), { lenient: true });
  return vmas_of(res.records[res.records.length - 1]!.state, 0).map((v: Vma) => [v.start, v.end, v.anon]);
}

/** As layout(), with each VMA's anon_vma number. */
function detail(kernel: string, steps: unknown[]): [number, number, boolean, number][] {
  const r = resolveScenario(scenarioFromObject({ name: 'merge', processes: ['P0'], steps }, 'merge.yaml'));
  const res = runScenario(r, profileById(kernel), { lenient: true });
  return vmas_of(res.records[res.records.length - 1]!.state, 0).map((v: Vma) => [v.start, v.end, v.anon, v.av ?? 0]);
}

const faultedIntoUnfaulted = [
  { P0: { mmap: 'a', pages: 2 } },
  { P0: { madvise: 'a[1]', advice: 'dontfork' } },
  { P0: { write: 'a[1]' } },
  { P0: { madvise: 'a[1]', advice: 'dofork' } },
];
const unfaultedIntoFaulted = [
  { P0: { mmap: 'a', pages: 2 } },
  { P0: { madvise: 'a[1]', advice: 'dontfork' } },
  { P0: { write: 'a[0]' } },
  { P0: { madvise: 'a[1]', advice: 'dofork' } },
];

describe('vmas_commit(): is_mergeable_anon_vma()', () => {
  it('merges a faulted VMA into an unfaulted neighbour from 6.15 only', () => {
    expect(layout('linux-6.18', faultedIntoUnfaulted)).toEqual([[1, 3, true]]);
    expect(layout('linux-6.15', faultedIntoUnfaulted)).toEqual([[1, 3, true]]);
    expect(layout('linux-6.13', faultedIntoUnfaulted)).toEqual([
      [1, 2, false],
      [2, 3, true],
    ]);
    expect(layout('debian-6.1', faultedIntoUnfaulted)).toEqual(layout('linux-6.13', faultedIntoUnfaulted));
  });

  it('merges an unfaulted VMA into a faulted neighbour in every era', () => {
    for (const k of ['linux-5.9', 'linux-6.13', 'linux-6.18']) expect(layout(k, unfaultedIntoFaulted), k).toEqual([[1, 3, true]]);
  });

  it('leaves two VMAs apart that a later operation elsewhere does not touch (up to 6.14)', () => {
    const later = [...faultedIntoUnfaulted, { P0: { mmap: 'b', pages: 1 } }, { P0: { mprotect: 'b', prot: 'r' } }];
    expect(layout('linux-6.13', later).filter(([s]) => s < 3)).toEqual([
      [1, 2, false],
      [2, 3, true],
    ]);
  });

  it('leaves apart, after an operation over the whole area, only VMAs with two different anon_vmas (6.15 rule)', () => {
    // random MADV_DONTFORK of single pages and writes on a 4-page area, then MADV_DOFORK of all of it:
    // the flags are equal again, so two neighbours stay apart only for their anon_vmas; up to 6.14 a
    // faulted VMA also stays apart from an unfaulted one before it
    const page = fc.integer({ min: 0, max: 3 });
    const op = fc.oneof(
      page.map((i) => ({ P0: { madvise: `a[${i}]`, advice: 'dontfork' } })),
      page.map((i) => ({ P0: { write: `a[${i}]` } })),
    );
    let targetApart = 0;
    fc.assert(
      fc.property(fc.array(op, { maxLength: 8 }), (ops) => {
        const steps = [{ P0: { mmap: 'a', pages: 4 } }, ...ops, { P0: { madvise: 'a', advice: 'dofork' } }];
        const apart = (l: [number, number, boolean, number][]) =>
          l.slice(1).filter(([, , anon, av], i) => !(anon && l[i]![2] && l[i]![3] !== av)).length;
        targetApart += apart(detail('linux-6.13', steps));
        return apart(detail('linux-6.18', steps)) === 0;
      }),
      { seed: 6110, numRuns: 150 },
    );
    // the property would hold trivially if the alphabet never made such a pair: the old rule keeps some apart
    expect(targetApart).toBeGreaterThan(0);
  });
});
