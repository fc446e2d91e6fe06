/**
 * `cowlab fuzz` without --diff: random scenarios over every operation, run
 * in the model only, with every property and model invariant checked after
 * every step. On a merged kernel's profile a property violation is a bug of
 * that kernel (or of the model); a model-invariant one is a bug of cowlab.
 * The first scenario of each kind of violation is shrunk by fast-check and
 * saved as a file that `cowlab run --kernel` reproduces.
 */
import fc from 'fast-check';
import { ensureDir, writeFileAtomic } from '../util/files.js';
import { join } from 'node:path';
import { cmdsArb, materialize, resolveCmds, scenarioYaml, GEN_OPS, type Cmd, type GenOptions } from './generate.js';
import { runScenario } from '../scenario/run.js';
import type { Profile } from '../profiles/types.js';
import type { Violation } from '../properties/monitor.js';

export interface ModelFuzzOptions {
  seed: number;
  count: number;
  /** index of the first random scenario of the seeded sequence to run (default 0): a shard */
  from?: number;
  maxSteps?: number;
  profile: Profile;
  /** where shrunk findings are saved */
  outDir: string;
  /** also save every random scenario here (the same seed gives the same files) */
  saveDir?: string;
  onProgress?: (done: number, found: number) => void;
  /** the large-folio areas (default true) */
  thp?: boolean;
  /** P0 has a second thread, and commands run on threads too (default false) */
  threads?: boolean;
}

export interface ModelFinding {
  property: string;
  /** random scenarios with a violation of this property */
  count: number;
  index: number;
  message: string;
  file: string;
  steps: number;
}

export interface ModelFuzzReport {
  seed: number;
  kernel: string;
  ran: number;
  clean: number;
  findings: ModelFinding[];
  seconds: number;
}

const nameOf = (seed: number, i: number) => `fuzz-${seed}-${String(i).padStart(3, '0')}`;

function firstViolation(cmds: readonly Cmd[], prof: Profile, gen: GenOptions, property?: string): Violation | null {
  const res = runScenario(resolveCmds(cmds, 'fuzz', gen), prof, { lenient: true });
  return res.violations.find((v) => property === undefined || v.property === property) ?? null;
}

export function fuzzModel(o: ModelFuzzOptions): ModelFuzzReport {
  const t0 = Date.now();
  const gen: GenOptions = o.thp === false ? { hugetlb: true } : { thp: true, mthp: true, hugetlb: true };
  // (model only: the kernel's windows too, which a real kernel cannot be held in)
  if (o.threads === true) Object.assign(gen, { threads: true, windows: true });
  const arb = cmdsArb({ ops: GEN_OPS, maxSteps: o.maxSteps ?? 24 });
  // the first `from` are drawn and dropped: scenario i is the same whatever shard runs it
  const from = o.from ?? 0;
  const samples = fc.sample(arb, { seed: o.seed, numRuns: from + o.count }).slice(from);
  if (o.saveDir) ensureDir(o.saveDir);
  const kinds = new Map<string, { index: number; cmds: Cmd[]; v: Violation; count: number }>();
  let clean = 0;
  samples.forEach((cmds, j) => {
    const i = from + j;
    if (o.saveDir) writeFileAtomic(join(o.saveDir, `${nameOf(o.seed, i)}.yaml`), scenarioYaml(materialize(cmds, gen, nameOf(o.seed, i))));
    const v = firstViolation(cmds, o.profile, gen);
    if (!v) clean++;
    else {
      const k = kinds.get(v.property);
      if (k) k.count++;
      else kinds.set(v.property, { index: i, cmds, v, count: 1 });
    }
    o.onProgress?.(
      j + 1,
      [...kinds.values()].reduce((a, k) => a + k.count, 0),
    );
  });
  const findings: ModelFinding[] = [];
  if (kinds.size) ensureDir(o.outDir);
  for (const [property, k] of kinds) {
    const res = fc.check(
      fc.property(arb, (c) => firstViolation(c, o.profile, gen, property) === null),
      { examples: [[k.cmds]], numRuns: 1, seed: o.seed },
    );
    const minimal = res.counterexample?.[0] ?? k.cmds;
    const v = firstViolation(minimal, o.profile, gen, property) ?? k.v;
    const name = nameOf(o.seed, k.index);
    // `cowlab run FILE` replays it on the kernel it was found on
    const obj: Record<string, unknown> = { name, kernel: o.profile.id, ...materialize(minimal, gen, name) };
    obj.steps = (obj.steps as unknown[]).slice(0, v.step);
    obj.description =
      `Found by cowlab fuzz --seed ${o.seed} --kernel ${o.profile.id} (random scenario ${k.index}), shrunk.\n` +
      `${property} at step ${v.step}: ${v.message}`;
    const file = join(o.outDir, `${name}.yaml`);
    writeFileAtomic(file, scenarioYaml(obj));
    findings.push({ property, count: k.count, index: k.index, message: v.message, file, steps: (obj.steps as unknown[]).length });
  }
  return { seed: o.seed, kernel: o.profile.id, ran: samples.length, clean, findings, seconds: (Date.now() - t0) / 1000 };
}
