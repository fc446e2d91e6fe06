import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseTap, tapLine, formatTap, compareTap, type TapLine } from '../../../src/diff/tap.js';
import { loadScenario } from '../../../src/scenario/load.js';
import { runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';

describe('the selftest TAP log', () => {
  const log = parseTap(readFileSync('test/data/cow-tap-6.18.txt', 'utf8'));
  it('is read test by test, with the name from its [RUN] line', () => {
    expect(log.size).toBe(778);
    const n = (s: string) => [...log.values()].filter((t) => t.status === s).length;
    expect([n('ok'), n('xfail'), n('skip'), n('not ok')]).toEqual([434, 7, 337, 0]);
    expect(log.get(764)).toMatchObject({ status: 'skip', text: 'Basic COW ... with huge zeropage' });
    expect(log.get(161)).toMatchObject({ status: 'xfail', text: 'vmsplice() + unmap in child ... with hugetlb (2048 kB)' });
  });
});

describe('tapLine', () => {
  const r = loadScenario('scenarios/cow-selftest/anon/01-basic-cow-after-fork.yaml#pmd');
  it('numbers and names a mirrored test as cow.c does', () => {
    const t = tapLine(r, 'agree', '', runScenario(r, profileById('linux-6.18')))!;
    expect(t).toMatchObject({ number: 45, text: 'Basic COW after fork() ... with THP (2048 kB)', status: 'ok' });
    expect(formatTap(t)).toBe('ok 45 Basic COW after fork() ... with THP (2048 kB)');
    expect(logged(45)).toMatchObject({ status: 'ok', text: t.text });
  });
  it('a failed set-up expectation is a SKIP, a later one not ok, a divergence unknown', () => {
    // when the set-up's "a THP is populated" check fails, cow.c skips
    const run = runScenario(r, profileById('linux-6.18'));
    const setup = r.sc.selftest!.setup!;
    expect(setup).toBeGreaterThan(0);
    const t = tapLine(r, 'agree', '', { ...run, verdict: 'fail', failures: [{ step: setup, message: 'not a THP' }] })!;
    expect(t.status).toBe('skip');
    expect(t.reason).toMatch(/^set-up: /);
    const cve = loadScenario('scenarios/cow-selftest/anon/03-vmsplice-unmap-in-child.yaml#base');
    expect(tapLine(cve, 'agree', '', runScenario(cve, profileById('linux-5.7')))!.status).toBe('not ok');
    expect(tapLine(r, 'diverge', 'step 3 ...', null)!.status).toBeNull();
    expect(tapLine(r, 'skip', 'needs gup_test', null)).toMatchObject({ status: 'skip', reason: 'needs gup_test' });
  });
  it("gives the model's prediction, marked, for a 1 GiB test no executor runs, and counts it apart", () => {
    const g = loadScenario('scenarios/cow-selftest/anon/01-basic-cow-after-fork.yaml#hugetlb-1g');
    const run = runScenario(g, profileById('linux-6.18'));
    const t = tapLine(g, 'skip', '1 GiB hugetlb pages are model only', run, true)!;
    expect(t).toMatchObject({
      number: 54,
      status: 'ok',
      model: true,
      reason: 'predicted by the model: 1 GiB hugetlb pages are model only',
    });
    expect(formatTap(t)).toBe(
      'ok 54 Basic COW after fork() ... with hugetlb (1048576 kB) # (predicted by the model: 1 GiB hugetlb pages are model only)',
    );
    // without a model run (or when the machine lacks something else) it stays a SKIP
    expect(tapLine(g, 'skip', 'no gup_test', null, true)!.status).toBe('skip');
    const log = parseTap(readFileSync('test/data/cow-tap-6.18.txt', 'utf8'));
    expect(compareTap([t], log)).toMatchObject({ same: { ok: 1 }, sameModel: 1, differ: [] });
  });
  it('compares with a log by number, name and status', () => {
    const ok: TapLine = { number: 45, text: 'Basic COW after fork() ... with THP (2048 kB)', status: 'ok', reason: '' };
    const log = parseTap(readFileSync('test/data/cow-tap-6.18.txt', 'utf8'));
    expect(compareTap([ok], log)).toMatchObject({ same: { ok: 1 }, sameModel: 0, differ: [], notMirrored: 777 });
    expect(compareTap([{ ...ok, status: 'not ok' }], log).differ).toHaveLength(1);
    expect(compareTap([{ ...ok, text: 'Basic COW after fork() ... with base page' }], log).differ).toHaveLength(1);
  });
});

function logged(n: number) {
  return parseTap(readFileSync('test/data/cow-tap-6.18.txt', 'utf8')).get(n);
}
