/**
 * Differential throughput: scenarios per second through the model and the
 * real kernel (needs root; reported as skipped otherwise).
 */
import fc from 'fast-check';
import { availableParallelism } from 'node:os';
import { cmdsArb, materialize, scenarioYaml, HOST_OPS } from '../fuzz/generate.js';
import { parseScenario } from '../scenario/parse.js';
import { resolveScenario, type Resolved } from '../scenario/resolve.js';
import { loadScenarios } from '../scenario/load.js';
import { diffScenarios } from '../diff/run.js';

async function rate(label: string, rs: Resolved[], jobs: number): Promise<void> {
  const t0 = process.hrtime.bigint();
  const res = await diffScenarios(rs, { jobs });
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  const n = (v: string) => res.filter((r) => r.verdict === v).length;
  const ran = n('agree') + n('diverge');
  console.log(
    `diff: ${label}: ${ran} scenarios on ${jobs} executor(s) in ${sec.toFixed(2)} s = ${(ran / sec).toFixed(0)} scenarios/s (${n('diverge')} diverge, ${n('skip')} skipped)`,
  );
}

export async function diffBench(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('diff: skipped (not root)');
    return;
  }
  const jobs = availableParallelism();
  const base = loadScenarios(['scenarios/cow-selftest/anon', 'scenarios/cve']).filter(
    (r) => r.sc.selftest?.backing !== 'swapped out base page' && !r.needs.includes('gup-test'),
  );
  const many = Array.from({ length: 25 }, () => base).flat();
  await rate(
    `base-page scenarios (${base.length} cow.c cases and the CVE, x25, ~${Math.round(many.reduce((a, r) => a + r.steps.length, 0) / many.length)} steps each)`,
    many,
    jobs,
  );
  const random = fc
    .sample(cmdsArb({ ops: HOST_OPS, maxSteps: 24 }), { seed: 11, numRuns: 500 })
    .map((c, i) => resolveScenario(parseScenario(scenarioYaml(materialize(c, {}, `b${i}`)), `b${i}.yaml`)));
  await rate(
    `random scenarios (seed 11, ~${Math.round(random.reduce((a, r) => a + r.steps.length, 0) / random.length)} steps each)`,
    random,
    jobs,
  );
  await rate('random scenarios on one executor', random.slice(0, 250), 1);
}
