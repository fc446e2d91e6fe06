/**
 * fork() stopped in copy_present_pte() (src/kernel/kernel/fork.ts) while
 * other threads of the parent load and store: what needs no fault runs, a
 * fault waits for the fork, what the child gets of each store, and the
 * fork-snapshot property (the torn copy of docs/kernel/large-folios.md I2).
 */
import { describe, it, expect } from 'vitest';
import { scenarioFromObject } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { runScenario, type RunResult } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';

/** Two pages written, `pinned` of them pinned by a driver, a thread that forks stopped in `stop`, then `during` by the parent. */
function run(kernel: string, stop: string, pinned: string | null, during: unknown[]): RunResult {
  const steps: unknown[] = [
    { parent: { mmap: 'buf', pages: 2, prot: 'rw' } },
    { parent: { write: 'buf', label: 'init' } },
    ...(pinned ? [{ parent: { pin: pinned, write: true, handle: 'mr' } }] : []),
    { parent: { thread: 't1' } },
    { t1: { fork: 'child', stop } },
    ...during,
    { t1: 'resume' },
    { child: { read: 'buf[0]' } },
    { child: { read: 'buf[1]' } },
  ];
  return runScenario(
    resolveScenario(scenarioFromObject({ name: 'fork-window', processes: ['parent'], steps }, 'fork.yaml')),
    profileById(kernel),
  );
}

const seen = (r: RunResult) => r.records.slice(-2).map((x) => x.sees[0]);
const props = (r: RunResult) => r.violations.map((v) => `${v.property}@${v.step}`);

describe('stores while a fork is stopped in copy_present_pte()', () => {
  it('a store to a page the fork copied, then one to a page it has not reached, tears the child (5.9+)', () => {
    const r = run('linux-6.18', 'copy-present-page', 'buf', [
      { parent: { write: 'buf[0]', label: 'first' } },
      { parent: { write: 'buf[1]', label: 'second' } },
    ]);
    expect(props(r)).toEqual(['fork-snapshot@7']);
    expect(r.violations[0]!.message).toMatch(/fork of child is torn: child gets parent's write at step 7 \(second\) in buf\[1\]/);
    // the child has page 0 as it was copied (step 2) and page 1 with the second store (step 7), and may see both
    expect(seen(r)).toEqual([2, 7]);
  });

  it('the other order is a snapshot: the store to the unreached page first', () => {
    const r = run('linux-6.18', 'copy-present-page', 'buf', [
      { parent: { write: 'buf[1]', label: 'second' } },
      { parent: { write: 'buf[0]', label: 'first' } },
    ]);
    expect(props(r)).toEqual([]);
    expect(seen(r)).toEqual([2, 6]);
  });

  it('before 5.9 fork shares the pinned pages: no copy, so the fork never stops there', () => {
    const r = run('linux-5.8', 'copy-present-page', 'buf', [
      { parent: { write: 'buf[0]', label: 'first' } },
      { parent: { write: 'buf[1]', label: 'second' } },
    ]);
    expect(props(r)).toEqual(['pin-coherent@6', 'pin-coherent@7']);
    expect(r.records[4]!.result.ret).toBe(0);
    expect(seen(r)).toEqual([2, 2]);
  });

  it('in the sharing window a store to the shared, not yet write-protected page reaches the child, and no leak is reported', () => {
    // page 0 pinned (copied, no stop), page 1 shared: the fork stops before write-protecting page 1
    const r = run('linux-6.18', 'copy-present-pte', 'buf[0]', [{ parent: { write: 'buf[1]', label: 'late' } }]);
    expect(props(r)).toEqual([]);
    expect(seen(r)).toEqual([2, 6]);
  });

  it('hugetlb: fork stops after each huge page it copies (5.12+), and goes on at the next one', () => {
    const steps: unknown[] = [
      { parent: { mmap: 'buf', pages: 1024, hugetlb: '2m', prot: 'rw' } },
      { parent: { write: 'buf', label: 'init' } },
      { parent: { pin: 'buf', write: true, handle: 'mr' } },
      { parent: { thread: 't1' } },
      { t1: { fork: 'child', stop: 'copy-present-page' } },
      { parent: { write: 'buf[511]', label: 'first' } },
      { parent: { write: 'buf[512]', label: 'second' } },
      { t1: 'resume' },
      { child: { read: 'buf[511]' } },
      { child: { read: 'buf[512]' } },
    ];
    const sc = scenarioFromObject({ name: 'h', processes: ['parent'], env: { 'hugetlb-pages': 4 }, steps }, 'h.yaml');
    const r = runScenario(resolveScenario(sc), profileById('linux-6.18'));
    // the last page of the first huge page is behind the fork, the first of the second ahead of it
    expect(props(r)).toEqual(['fork-snapshot@7']);
    expect(seen(r)).toEqual([2, 7]);
  });

  it('a store that needs a fault waits for the fork (the mmap_lock is held for write)', () => {
    // nothing pinned: the fork stops at page 0, goes on to page 1 (page 0 now write-protected), and the store faults
    const r = run('linux-6.18', 'copy-present-pte', null, [
      { t1: { resume: null, stop: 'copy-present-pte' } },
      { parent: { write: 'buf[0]', label: 'late' } },
    ]);
    const late = r.records.find((x) => x.index === 6)!;
    expect(late.waited?.why).toMatch(/faults on page .* waits for task 0's mmap_lock, held for write by a fork/);
    // it ran after the fork returned: a COW fault, and the child keeps what it was given
    expect(late.faults).toBe(1);
    expect(props(r)).toEqual([]);
    expect(seen(r)).toEqual([2, 2]);
  });
});
