/**
 * `cowlab fuzz --diff`: random scenarios run in the model and on the real
 * kernel; each divergence is shrunk by fast-check to a minimal scenario and
 * saved as a file that `cowlab run` and `cowlab diff` accept.
 *
 * Scenarios are drawn from a seed (printed), run concurrently on the
 * executor pool, and only the diverging ones are shrunk, one at a time.
 */
import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cmdsArb, materialize, scenarioYaml, HOST_OPS, type Cmd } from './generate.js';
import { parseScenario } from '../scenario/parse.js';
import { resolveScenario, type Resolved } from '../scenario/resolve.js';
import { runScenario } from '../scenario/run.js';
import { HOST_PROFILE } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';
import { ExecutorPool, type Caps } from '../executor/server.js';
import { toProgram } from '../executor/program.js';
import { capabilityBlocker } from '../diff/run.js';
import { compareRun, type Divergence } from '../diff/compare.js';

export interface FuzzOptions {
  seed: number;
  count: number;
  jobs: number;
  maxSteps?: number;
  /** where shrunk divergences are saved */
  outDir: string;
  profile?: Profile;
  onProgress?: (done: number, diverged: number, skipped: number) => void;
}

export interface FuzzFinding {
  /** the kind of divergence: operation at the diverging step, field, both values */
  kind: string;
  /** random scenarios that diverged this way (the first one is shrunk) */
  count: number;
  /** index of the random scenario in the seeded sequence */
  index: number;
  divergence: Divergence;
  file: string;
  steps: number;
  reproduced: boolean;
}

export interface FuzzReport {
  seed: number;
  ran: number;
  skipped: number;
  agreed: number;
  findings: FuzzFinding[];
  seconds: number;
}

/** The operation a divergence happened in, with the field and values: what makes two divergences the same kind. */
function kindOf(cmds: readonly Cmd[], d: Divergence): string {
  const steps = materialize(cmds).steps as Record<string, unknown>[];
  const st = steps[d.step - 1];
  const body = st ? Object.values(st)[0] : undefined;
  const op = typeof body === 'string' ? body : body && typeof body === 'object' ? Object.keys(body)[0] : '?';
  return `${op}: ${d.field}: model ${d.model}, kernel ${d.kernel}`;
}

function resolveCmds(cmds: readonly Cmd[], name: string): Resolved {
  return resolveScenario(parseScenario(scenarioYaml(materialize(cmds, {}, name)), `${name}.yaml`));
}

async function divergenceOf(pool: ExecutorPool, caps: Caps, prof: Profile, r: Resolved): Promise<Divergence | 'skip' | null> {
  if (capabilityBlocker(r, caps)) return 'skip';
  const model = runScenario(r, prof, { keepStates: true, lenient: true });
  if (model.aborted) throw new Error(`model bug on a random scenario:\n${scenarioYaml(materialize([]))}`);
  const kernel = await pool.run(toProgram(r));
  return compareRun(r, model, kernel);
}

/** Runs `count` random scenarios from `seed` on both sides. */
export async function fuzzDiff(o: FuzzOptions): Promise<FuzzReport> {
  const prof = o.profile ?? HOST_PROFILE;
  const arb = cmdsArb({ ops: HOST_OPS, maxSteps: o.maxSteps ?? 24 });
  const samples = fc.sample(arb, { seed: o.seed, numRuns: o.count });
  const pool = new ExecutorPool(o.jobs, { swapMb: 256 });
  const t0 = Date.now();
  const report: FuzzReport = { seed: o.seed, ran: 0, skipped: 0, agreed: 0, findings: [], seconds: 0 };
  const diverging: { index: number; cmds: Cmd[]; d: Divergence }[] = [];
  try {
    const caps = await pool.caps();
    let next = 0;
    let done = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= samples.length) return;
        const cmds = samples[i]!;
        const d = await divergenceOf(pool, caps, prof, resolveCmds(cmds, `fuzz-${o.seed}-${i}`));
        if (d === 'skip') report.skipped++;
        else if (d) diverging.push({ index: i, cmds, d });
        else report.agreed++;
        report.ran++;
        o.onProgress?.(++done, diverging.length, report.skipped);
      }
    };
    await Promise.all(Array.from({ length: o.jobs * 2 }, worker));

    // group divergences by kind; shrink the first of each kind to a minimal scenario
    diverging.sort((a, b) => a.index - b.index);
    const kinds = new Map<string, { index: number; cmds: Cmd[]; d: Divergence; count: number }>();
    for (const x of diverging) {
      const k = kindOf(x.cmds, x.d);
      const e = kinds.get(k);
      if (e) e.count++;
      else kinds.set(k, { ...x, count: 1 });
    }
    mkdirSync(o.outDir, { recursive: true });
    for (const [kind, { index, cmds, d, count }] of kinds) {
      let last: Divergence = d;
      const prop = fc.asyncProperty(arb, async (c) => {
        const r = await divergenceOf(pool, caps, prof, resolveCmds(c, 'shrink'));
        if (r && r !== 'skip') {
          last = r;
          return false;
        }
        return true;
      });
      const res = await fc.check(prop, { examples: [[cmds]], numRuns: 1, seed: o.seed });
      const minimal = res.counterexample ? res.counterexample[0] : cmds;
      // re-run the minimal one to report its own divergence
      const fin = await divergenceOf(pool, caps, prof, resolveCmds(minimal, 'final'));
      if (fin && fin !== 'skip') last = fin;
      const name = `fuzz-${o.seed}-${index}`;
      const obj = materialize(minimal, {}, name);
      // steps after the divergence cannot matter to it
      obj.steps = (obj.steps as unknown[]).slice(0, last.step);
      obj.description = `Found by cowlab fuzz --diff --seed ${o.seed} (random scenario ${index}), shrunk.\n` +
        `Divergence at step ${last.step} ${last.process} ${last.address}: ${last.field}: model ${last.model}, kernel ${last.kernel}`;
      const file = join(o.outDir, `${name}.yaml`);
      writeFileSync(file, scenarioYaml(obj));
      report.findings.push({ kind, count, index, divergence: last, file, steps: (obj.steps as unknown[]).length, reproduced: res.failed });
    }
  } finally {
    await pool.close();
  }
  report.seconds = (Date.now() - t0) / 1000;
  return report;
}
