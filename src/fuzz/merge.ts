/**
 * Fuzz shards (`cowlab fuzz [--diff] --shard i/n`) and their merge into the
 * report a single run of the whole sequence gives (`cowlab merge`): the
 * counts add up, and each kind of finding is the one of its lowest scenario
 * index (the one a single run shrinks and saves), with the summed count.
 */
import { checkShardSet, type Shard } from '../util/shard.js';
import type { FuzzFinding, FuzzReport } from './fuzz.js';
import type { ModelFinding, ModelFuzzReport } from './model.js';

interface Part<K extends string, R> {
  cowlab: K;
  shard: Shard;
  /** the whole run: scenarios [from, from + count) */
  from: number;
  count: number;
  report: R;
}

/** What `cowlab fuzz --diff --shard i/n` prints. */
export interface FuzzDiffShard extends Part<'fuzz-diff-shard', FuzzReport> {
  /** shrinking was asked for (the text report says why a finding is not shrunk) */
  shrink: boolean;
}

/** What `cowlab fuzz --shard i/n` (model only) prints. */
export type FuzzModelShard = Part<'fuzz-model-shard', ModelFuzzReport>;

/** Checks that the parts are the n shards of one run (same seed and range, each index once). */
function checkParts<P extends Part<string, { seed: number }>>(parts: readonly P[], files: readonly string[], same: (p: P) => string): void {
  checkShardSet(
    parts,
    files,
    (p) => `seed ${p.report.seed}, scenarios ${p.from}..${p.from + p.count - 1} in ${p.shard.count} shards, ${same(p)}`,
  );
}

/** Findings of one key from several shards: the lowest index's, with the counts summed, in index order. */
function mergeFindings<F extends { index: number; count: number }>(lists: readonly (readonly F[])[], key: (f: F) => string): F[] {
  const by = new Map<string, F>();
  for (const list of lists)
    for (const f of list) {
      const k = key(f);
      const e = by.get(k);
      if (!e) by.set(k, { ...f });
      else by.set(k, { ...(f.index < e.index ? f : e), count: e.count + f.count });
    }
  return [...by.values()].sort((a, b) => a.index - b.index);
}

/** The report of the whole fuzz --diff run. `seconds`: the longest shard's (they run side by side). */
export function mergeFuzzDiff(parts: readonly FuzzDiffShard[], files: readonly string[]): FuzzReport {
  checkParts(
    parts,
    files,
    (p) =>
      `areas thp=${p.report.thp} mthp=${p.report.mthp} ksm=${p.report.ksm} hugetlb=${p.report.hugetlb} threads=${p.report.threads ?? false}`,
  );
  const rs = parts.map((p) => p.report);
  const out: FuzzReport = {
    seed: rs[0]!.seed,
    ran: sum(rs, (r) => r.ran),
    skipped: sum(rs, (r) => r.skipped),
    skips: rs.flatMap((r) => r.skips).sort((a, b) => a.index - b.index),
    agreed: sum(rs, (r) => r.agreed),
    unstable: rs.flatMap((r) => r.unstable).sort((a, b) => a.index - b.index),
    findings: mergeFindings<FuzzFinding>(
      rs.map((r) => r.findings),
      (f) => f.kind,
    ),
    seconds: Math.max(...rs.map((r) => r.seconds)),
  };
  for (const k of ['thp', 'mthp', 'ksm', 'hugetlb', 'threads'] as const) if (rs[0]![k] !== undefined) out[k] = rs[0]![k];
  if (rs.some((r) => r.interrupted)) out.interrupted = true;
  return out;
}

/** The report of the whole model-only fuzz run. */
export function mergeFuzzModel(parts: readonly FuzzModelShard[], files: readonly string[]): ModelFuzzReport {
  checkParts(parts, files, (p) => `kernel ${p.report.kernel}`);
  const rs = parts.map((p) => p.report);
  return {
    seed: rs[0]!.seed,
    kernel: rs[0]!.kernel,
    ran: sum(rs, (r) => r.ran),
    clean: sum(rs, (r) => r.clean),
    findings: mergeFindings<ModelFinding>(
      rs.map((r) => r.findings),
      (f) => f.property,
    ),
    seconds: Math.max(...rs.map((r) => r.seconds)),
  };
}

function sum<T>(xs: readonly T[], f: (x: T) => number): number {
  return xs.reduce((a, x) => a + f(x), 0);
}
