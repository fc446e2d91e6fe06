/**
 * do_madvise() (src/kernel/mm/madvise.ts): an advice the profile's kernel
 * does not know fails with EINVAL before the range is looked at, as
 * madvise_behavior_valid() makes it in every version (fuzz --diff on
 * debian-5.10, seed 2026, scenario 20: MADV_COLLAPSE over a range with a
 * hole was ENOMEM in the model, EINVAL on 5.10).
 */
import { describe, it, expect } from 'vitest';
import { scenarioFromObject } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';

/** The return value of the last step, the scenario run leniently (as fuzz --diff runs it). */
function lastRet(kernel: string, steps: unknown[]): number {
  const r = resolveScenario(scenarioFromObject({ name: 'advice', processes: ['P0'], steps }, 'advice.yaml'));
  const res = runScenario(r, profileById(kernel), { lenient: true });
  return res.records[res.records.length - 1]!.result.ret;
}

const unmapped = [
  { P0: { mmap: 'a', pages: 2 } },
  { P0: { write: 'a' } },
  { P0: { munmap: 'a' } },
  { P0: { madvise: 'a', advice: 'collapse' } },
];

describe('madvise advice the kernel does not know', () => {
  it('MADV_COLLAPSE before 6.1 is EINVAL, even where nothing is mapped', () => {
    expect(lastRet('debian-5.10', unmapped)).toBe(-22);
    expect(lastRet('linux-5.19', unmapped)).toBe(-22);
  });

  it('from 6.1 the range is looked at: nothing mapped is ENOMEM', () => {
    expect(lastRet('debian-6.1', unmapped)).toBe(-12);
    expect(lastRet('linux-6.18', unmapped)).toBe(-12);
  });
});
