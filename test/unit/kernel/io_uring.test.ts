/**
 * io_uring's RLIMIT_MEMLOCK accounting in the model (src/kernel/io_uring/rsrc.ts):
 * what an unprivileged ring charges to its user's locked_vm, by era, and
 * that every charge is given back.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { scenarioFromObject } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';
import { user_locked_vm } from '../../../src/model/mm_types.js';

/** Runs `steps` of a process p that maps a 4-page area `a` and a THP `t`, drops root, then sets up a ring. */
function run(kernel: string, memlockKb: number, steps: unknown[]) {
  const raw = {
    name: 'acct',
    env: { 'thp-sizes': { '2048': 'inherit' } },
    processes: ['p'],
    steps: [
      { p: { mmap: 'a', pages: 4 } },
      { p: { write: 'a' } },
      { p: { mmap: 't', pages: 512, align: 'pmd', thp: 'inherit' } },
      { p: { madvise: 't', advice: 'hugepage' } },
      { p: { write: 't' } },
      { p: { setuid: null, memlock: memlockKb } },
      { p: 'io-uring-setup' },
      ...steps,
    ],
  };
  const res = runScenario(resolveScenario(scenarioFromObject(raw, 'acct.yaml')), profileById(kernel), { lenient: true });
  return { rets: res.records.slice(7).map((r) => r.result.ret), locked: user_locked_vm(res.records[res.records.length - 1]!.state) };
}

describe('io_uring RLIMIT_MEMLOCK accounting', () => {
  it('charges the ring on 5.9 and 6.18, not on 6.1', () => {
    expect(run('linux-5.9', 4096, []).locked).toBe(2);
    expect(run('linux-6.18', 4096, []).locked).toBe(2);
    expect(run('linux-6.1', 4096, []).locked).toBe(0);
  });

  it('charges a page of a THP as the whole folio from 5.10, one page before', () => {
    const reg = [{ p: { 'io-uring-register': 't[0:4]' } }];
    expect(run('linux-6.1', 4096, reg)).toEqual({ rets: [0], locked: 512 });
    expect(run('linux-5.11', 4096, reg)).toEqual({ rets: [0], locked: 514 });
    expect(run('linux-5.9', 4096, reg)).toEqual({ rets: [0], locked: 6 });
    expect(run('linux-6.1', 64, reg)).toEqual({ rets: [-12], locked: 0 });
  });

  it('gives every charge back: unregistering leaves the ring, the last exit leaves nothing', () => {
    const op = fc.oneof(
      fc.constant({ p: 'io-uring-unregister' }),
      fc.constantFrom('a', 'a[0]', 'a[1:3]', 't[0:4]', 't').map((r) => ({ p: { 'io-uring-register': r } })),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('linux-5.9', 'linux-5.11', 'linux-6.1', 'linux-6.18'),
        fc.constantFrom(16, 64, 4096),
        fc.array(op, { maxLength: 6 }),
        (k, kb, ops) => {
          const ring = profileById(k).mech.gup.iouringAcctRing ? 2 : 0;
          const left = run(k, kb, [...ops, { p: 'io-uring-unregister' }]);
          // the ring's own charge stays while the ring does
          expect(left.locked).toBe(ring);
          expect(run(k, kb, [...ops, { p: 'exit' }]).locked).toBe(0);
        },
      ),
      { seed: 5110, numRuns: 60 },
    );
  });
});
