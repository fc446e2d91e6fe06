/**
 * The matrix: scenarios by kernel profiles. Each cell is what the model does
 * with the scenario on that profile, against what the scenario documents
 * for it: pass, FAIL (with property and step), expected-fail, XPASS (passes
 * where a failure is documented), or n/a (the kernel lacks the feature).
 */
import type { Profile } from '../profiles/types.js';
import type { Resolved } from '../scenario/resolve.js';
import { runScenario, type RunResult } from '../scenario/run.js';
import { profileLacks } from '../profiles/support.js';
import { expectedOutcome } from './expect.js';
import type { Outcome } from '../scenario/types.js';

export type CellVerdict = 'pass' | 'fail' | 'expected-fail' | 'xpass' | 'n/a';

export interface Cell {
  verdict: CellVerdict;
  /** for fail / expected-fail: the first property (or "expectation") and its step */
  property?: string;
  step?: number;
  message?: string;
  /** what the scenario documents for this kernel, if anything */
  expected?: 'pass' | 'fail';
  because?: string;
  /** the documented outcome and the model's differ */
  unexpected: boolean;
  copies: number;
  needless: number;
}

export interface MatrixRow {
  scenario: string;
  file: string;
  selftestCase?: string;
  backing?: string;
  source: string[];
  cells: Record<string, Cell>;
}

export interface ProfileTotals {
  failures: number;
  expectedFailures: number;
  unexpected: number;
  copies: number;
  needless: number;
}

export interface Matrix {
  kernels: string[];
  scenarios: MatrixRow[];
  totals: Record<string, ProfileTotals>;
}

/** One cell. `order` is the profile list ranges in `expect:` refer to. */
export function matrixCell(r: Resolved, prof: Profile, order: readonly Profile[]): Cell {
  const res = profileLacks(prof, r) ? null : runScenario(r, prof);
  const cell = judgeRun(r, prof, order, res);
  // the cell keeps nothing of the run: its state's memory goes to the next one
  res?.records.at(-1)?.state.recycle();
  return cell;
}

/**
 * A run judged against what the scenario documents for the profile (`res`
 * null: not run, as the profile lacks something the scenario needs): the
 * one judgement `matrix` and `run` share.
 */
export function judgeRun(r: Resolved, prof: Profile, order: readonly Profile[], res: RunResult | null): Cell {
  const exp = expectedOutcome(r.sc, prof, order);
  const base = {
    unexpected: false,
    copies: 0,
    needless: 0,
    ...(exp ? { expected: exp.verdict, ...(exp.because ? { because: exp.because } : {}) } : {}),
  };
  const lacks = profileLacks(prof, r);
  if (lacks || !res) return { ...base, verdict: 'n/a', message: lacks ?? 'not run' };
  const first = res.violations[0] ?? null;
  const fe = res.failures[0] ?? null;
  const property = first ? first.property : fe ? 'expectation' : undefined;
  const step = first ? first.step : fe?.step;
  const message = first ? first.message : fe?.message;
  const metrics = { copies: res.metrics.copies, needless: res.metrics.needless };
  const off = metricMismatch(exp, metrics);
  if (res.verdict === 'pass') {
    return {
      ...base,
      ...metrics,
      verdict: exp?.verdict === 'fail' ? 'xpass' : 'pass',
      unexpected: exp?.verdict === 'fail' || off !== null,
      ...(off ? { message: off } : {}),
    };
  }
  const propMatches =
    !exp?.property ||
    res.violations.some((v) => v.property === exp.property) ||
    (exp.property === 'expectation' && res.failures.length > 0);
  const expectedFail = exp?.verdict === 'fail' && propMatches;
  return {
    ...base,
    ...metrics,
    verdict: expectedFail ? 'expected-fail' : 'fail',
    property,
    step,
    message,
    // a scenario that documents nothing for this kernel is documented as passing there (run says FAIL too)
    unexpected: !expectedFail || off !== null,
    ...(off && expectedFail ? { message: off } : {}),
  };
}

/** kselftest's word for a judged run: the documented failures are XFAIL, an undocumented pass XPASS, n/a SKIP. */
export type KselftestResult = 'PASS' | 'FAIL' | 'XFAIL' | 'XPASS' | 'SKIP';

export function kselftestResult(c: Cell): KselftestResult {
  switch (c.verdict) {
    case 'n/a':
      return 'SKIP';
    case 'xpass':
      return 'XPASS';
    case 'expected-fail':
      return c.unexpected ? 'FAIL' : 'XFAIL';
    case 'pass':
      return c.unexpected ? 'FAIL' : 'PASS';
    case 'fail':
      return 'FAIL';
  }
}

/** The documented copy counts that the run did not reproduce, in words, or null. */
function metricMismatch(exp: Outcome | null, m: { copies: number; needless: number }): string | null {
  if (!exp) return null;
  const bad: string[] = [];
  if (exp.copies !== undefined && exp.copies !== m.copies) bad.push(`${m.copies} copies (documented: ${exp.copies})`);
  if (exp.needless !== undefined && exp.needless !== m.needless) bad.push(`${m.needless} needless copies (documented: ${exp.needless})`);
  return bad.length ? bad.join(', ') : null;
}

/** One row: a scenario on every profile. `order` is the profile list ranges in `expect:` refer to. */
export function matrixRow(r: Resolved, profiles: readonly Profile[], order: readonly Profile[]): MatrixRow {
  const row: MatrixRow = { scenario: r.sc.name, file: r.sc.file, source: r.sc.source, cells: {} };
  if (r.sc.selftest) {
    row.selftestCase = r.sc.selftest.case;
    row.backing = r.sc.selftest.backing;
  }
  for (const p of profiles) row.cells[p.id] = matrixCell(r, p, order);
  return row;
}

/** Per profile: failures, documented failures, undocumented cells, copies and needless copies. */
export function matrixTotals(rows: readonly MatrixRow[], kernels: readonly string[]): Record<string, ProfileTotals> {
  const totals: Record<string, ProfileTotals> = {};
  for (const k of kernels) totals[k] = { failures: 0, expectedFailures: 0, unexpected: 0, copies: 0, needless: 0 };
  for (const row of rows)
    for (const k of kernels) {
      const c = row.cells[k]!;
      const t = totals[k]!;
      if (c.verdict === 'fail') t.failures++;
      if (c.verdict === 'expected-fail') t.expectedFailures++;
      if (c.unexpected) t.unexpected++;
      t.copies += c.copies;
      t.needless += c.needless;
    }
  return totals;
}

/** The whole matrix, on this thread (buildMatrixParallel in parallel.ts: on several). */
export function buildMatrix(rs: readonly Resolved[], profiles: readonly Profile[], order: readonly Profile[]): Matrix {
  const kernels = profiles.map((p) => p.id);
  const scenarios = rs.map((r) => matrixRow(r, profiles, order));
  return { kernels, scenarios, totals: matrixTotals(scenarios, kernels) };
}
