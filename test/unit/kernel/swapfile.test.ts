/**
 * swapoff() in the model (src/kernel/mm/swapfile.ts sys_swapoff): whatever
 * was swapped out, shared by fork or not, comes back with the same content
 * in every process, nothing stays in the swap cache or on the device, and
 * reclaim finds no swap slot afterwards.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { scenarioFromObject } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';
import { swap_used } from '../../../src/model/mm_types.js';

type Step = Record<string, unknown>;

/** Random steps over a 3-page area: writes, MADV_PAGEOUT, reads, a fork of P1 and its writes. */
const stepsArb = fc.array(
  fc.record({ kind: fc.constantFrom('write', 'pageout', 'read', 'fork', 'child-write'), page: fc.nat({ max: 2 }) }),
  { minLength: 1, maxLength: 12 },
);

function build(cmds: { kind: string; page: number }[], swapoff: boolean): { steps: Step[]; readers: string[] } {
  const steps: Step[] = [{ P0: { mmap: 'a', pages: 3 } }, { P0: { write: 'a' } }];
  let forked = false;
  for (const c of cmds) {
    const at = `a[${c.page}]`;
    if (c.kind === 'write') steps.push({ P0: { write: at } });
    else if (c.kind === 'pageout') steps.push({ P0: { madvise: 'a', advice: 'pageout' } });
    else if (c.kind === 'read') steps.push({ P0: { read: at } });
    else if (c.kind === 'fork' && !forked) {
      steps.push({ P0: { fork: 'P1' } });
      forked = true;
    } else if (c.kind === 'child-write' && forked) steps.push({ P1: { write: at } });
  }
  const readers = forked ? ['P0', 'P1'] : ['P0'];
  if (swapoff) {
    steps.push({ P0: { swapoff: null, expect: { ret: 0 } } });
    for (const p of readers) steps.push({ [p]: { check: 'a', expect: { present: true, swapped: false, swapcache: false } } });
  }
  for (const p of readers) steps.push({ [p]: { read: 'a' } });
  return { steps, readers };
}

describe('sys_swapoff()', () => {
  for (const id of ['linux-6.18', 'linux-5.9', 'linux-4.8']) {
    it(`brings every swapped page back with its content, and frees every slot (${id})`, () => {
      const prof = profileById(id);
      fc.assert(
        fc.property(stepsArb, (cmds) => {
          const run = (off: boolean) => {
            const { steps, readers } = build(cmds, off);
            const r = resolveScenario(scenarioFromObject({ name: 'swapoff', processes: ['P0'], steps }, 'swapoff.yaml'));
            return { res: runScenario(r, prof), readers };
          };
          const on = run(false);
          const off = run(true);
          expect(off.res.violations).toEqual([]);
          expect(off.res.failures).toEqual([]);
          const reads = (x: typeof on) => x.res.records.slice(-x.readers.length).map((rec) => rec.sees);
          expect(reads(off)).toEqual(reads(on));
          const last = off.res.records.at(-1)!.state;
          for (let slot = 1; slot < last.L.geo.swapSlots; slot++) expect(swap_used(last, slot)).toBe(false);
        }),
        { seed: 4242, numRuns: 150 },
      );
    });
  }

  it('leaves pages mapped when reclaim runs after it, and fails with EINVAL a second time', () => {
    const r = resolveScenario(
      scenarioFromObject(
        {
          name: 'swapoff-twice',
          processes: ['P0'],
          steps: [
            { P0: { mmap: 'a', pages: 2 } },
            { P0: { write: 'a' } },
            { P0: { swapoff: null, expect: { ret: 0 } } },
            { P0: { madvise: 'a', advice: 'pageout', expect: { present: true, swapped: false } } },
            { P0: { swapoff: null, expect: { errno: 'EINVAL' } } },
          ],
        },
        'swapoff-twice.yaml',
      ),
    );
    const res = runScenario(r, profileById('linux-6.18'));
    expect(res.failures).toEqual([]);
    expect(res.verdict).toBe('pass');
  });
});
