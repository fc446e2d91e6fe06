/**
 * The cow.c selftest's own TAP lines for the scenarios that mirror its
 * tests (scenarios/cow-selftest): what the kernel did, in the selftest's
 * numbering and words, and a comparison with a TAP log of the selftest
 * itself (test/data/cow-tap-6.18.txt is the host's). Pure: no I/O.
 */
import type { Resolved } from '../scenario/resolve.js';
import type { RunResult } from '../scenario/run.js';
import { tapText } from '../scenario/cowc.js';

/** A test result as kselftest prints it. */
export type TapStatus = 'ok' | 'not ok' | 'skip' | 'xfail';

/** One mirrored test on one kernel. */
export interface TapLine {
  number: number;
  /** "<case> ... with <backing>", exactly as cow.c prints it */
  text: string;
  /** null when the kernel's result is unknown (the model and the kernel diverged) */
  status: TapStatus | null;
  reason: string;
  /** the executor cannot run the scenario (model only): the status is the model's prediction, `reason` says why */
  model?: true;
}

/**
 * What the kernel did on a mirrored test. The kernel ran the scenario's
 * steps; when the model agrees with it step by step, the model's failed
 * expectations are the kernel's: a failure among the backing's set-up steps
 * is cow.c's SKIP (it skips when it did not get the backing it asked for,
 * e.g. "Did not get THPs populated"), a later one is "not ok".
 */
export function tapLine(
  r: Resolved,
  verdict: 'agree' | 'diverge' | 'skip',
  reason: string,
  model: RunResult | null,
  modelOnly = false,
): TapLine | null {
  const st = r.sc.selftest;
  if (st?.tap === undefined) return null;
  const base = { number: st.tap, text: tapText(st.case, st.backing ?? null) };
  if (verdict === 'skip' && modelOnly && model) {
    // no kernel ran it: the line the model predicts, marked as such
    const t = tapLine(r, 'agree', '', model);
    const why = `predicted by the model: ${reason}`;
    return t && { ...t, reason: t.reason ? `${t.reason}; ${why}` : why, model: true };
  }
  if (verdict === 'skip') return { ...base, status: 'skip', reason };
  if (verdict === 'diverge' || !model) return { ...base, status: null, reason: `cowlab: the model diverges from the kernel (${reason})` };
  const first = model.failures[0];
  const broken = model.violations[0];
  if (first && first.step <= (st.setup ?? 0)) return { ...base, status: 'skip', reason: `set-up: ${first.message}` };
  // cow.c's ksft_test_result_xfail(): a failure it expects on this backing (the hugetlb vmsplice leaks)
  const failed = st.xfail === true ? 'xfail' : 'not ok';
  if (broken) return { ...base, status: failed, reason: `${broken.property}: ${broken.message}` };
  if (first) return { ...base, status: failed, reason: first.message };
  return { ...base, status: 'ok', reason: '' };
}

/** A TAP line as kselftest prints it. */
export function formatTap(t: TapLine): string {
  if (t.status === null) return `not ok ${t.number} ${t.text} # ${t.reason}`;
  if (t.status === 'skip') return `ok ${t.number} # SKIP ${t.text} (${t.reason})`;
  const model = t.model ? ` # (${t.reason})` : '';
  if (t.status === 'xfail') return `ok ${t.number} # XFAIL ${t.text}${model}`;
  return `${t.status} ${t.number} ${t.text}${model}`;
}

/** A test's result in a selftest log: its status, its name (from the "# [RUN]" line before it) and the line. */
export interface LoggedTest {
  status: TapStatus;
  text: string;
  line: string;
}

/** The result of every test in a kselftest TAP log, by number ("ok N # SKIP reason", "ok N # XFAIL ..."). */
export function parseTap(text: string): Map<number, LoggedTest> {
  const out = new Map<number, LoggedTest>();
  let running = '';
  for (const line of text.split('\n')) {
    const run = /^# \[RUN\] (.*)$/.exec(line);
    if (run) running = run[1]!;
    const m = /^(ok|not ok) (\d+)\b(.*)$/.exec(line);
    if (!m) continue;
    const rest = m[3]!;
    const status: TapStatus = /#\s*SKIP\b/i.test(rest) ? 'skip' : /#\s*XFAIL\b/i.test(rest) ? 'xfail' : (m[1] as 'ok' | 'not ok');
    out.set(Number(m[2]), { status, text: running || rest.trim(), line });
    running = '';
  }
  return out;
}

/** How cowlab's TAP lines compare with a log of the selftest, test by test. */
export interface TapComparison {
  /** tests both ran, by status: same result */
  same: Record<TapStatus, number>;
  /** of those, the results the model predicted (tests the executor cannot run) */
  sameModel: number;
  /** tests with another result in the log, or unknown here */
  differ: { number: number; ours: string; theirs: string }[];
  /** tests of the log cowlab does not mirror */
  notMirrored: number;
}

/** Compares TAP lines with a selftest log; a test must have the same number, text and status. */
export function compareTap(ours: readonly TapLine[], log: Map<number, LoggedTest>): TapComparison {
  const same: Record<TapStatus, number> = { ok: 0, 'not ok': 0, skip: 0, xfail: 0 };
  const differ: TapComparison['differ'] = [];
  const mine = new Set<number>();
  let sameModel = 0;
  for (const t of ours) {
    mine.add(t.number);
    const theirs = log.get(t.number);
    const line = formatTap(t);
    if (!theirs) differ.push({ number: t.number, ours: line, theirs: '(not in the log)' });
    else if (theirs.status !== t.status || theirs.text !== t.text) differ.push({ number: t.number, ours: line, theirs: theirs.line });
    else {
      same[t.status]++;
      if (t.model) sameModel++;
    }
  }
  const notMirrored = [...log.keys()].filter((n) => !mine.has(n)).length;
  return { same, sameModel, differ, notMirrored };
}
