/**
 * `cowlab fuzz --diff`: random scenarios run in the model and on the real
 * kernel; each divergence is shrunk by fast-check to a minimal scenario and
 * saved as a file that `cowlab run` and `cowlab diff` accept.
 *
 * Scenarios are drawn from a seed (printed), run concurrently on the
 * executor pool (or in batches in qemu guests), and only the diverging ones
 * are shrunk, one at a time.
 */
import fc from 'fast-check';
import { ensureDir, writeFileAtomic } from '../util/files.js';
import { join } from 'node:path';
import { cmdsArb, materialize, scenarioYaml, resolveCmds, HOST_OPS, type Cmd, type GenOptions } from './generate.js';
import type { Resolved } from '../scenario/resolve.js';
import { runScenario } from '../scenario/run.js';
import { HOST_PROFILE } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';
import { ExecutorPool, type Caps, type ExecResult } from '../executor/server.js';
import { type GuestKernel, checkGuestTools, guestCaps } from '../qemu/guest.js';
import { toProgram } from '../executor/program.js';
import { capabilityBlocker, scenarioEnv, runOnPool, runOnGuests, runsAlone, DIVERGENCE_RERUNS, type Job } from '../diff/run.js';
import { comparer, type Divergence } from '../diff/compare.js';

export interface FuzzOptions {
  seed: number;
  count: number;
  /** index of the first random scenario of the seeded sequence to run (default 0): a long run split into shards */
  from?: number;
  jobs: number;
  maxSteps?: number;
  /** where shrunk divergences are saved */
  outDir: string;
  profile?: Profile;
  /** run the kernel side in qemu guests of this kernel (default: the host) */
  on?: GuestKernel;
  /** large-folio areas and operations in every scenario (default true; the mTHP area where the kernel has per-size THP modes) */
  thp?: boolean;
  /** half of the scenarios start with equal pages in MADV_MERGEABLE areas (default true where the kernel has KSM) */
  ksm?: boolean;
  /** half of the scenarios have a hugetlb area (default true where the kernel side can set the 2 MiB pool) */
  hugetlb?: boolean;
  /** P0 has a second thread, and commands run on threads too (default false: the same seed, the same scenarios as before threads) */
  threads?: boolean;
  onProgress?: (done: number, diverged: number, skipped: number) => void;
  /** each divergence as it is found (after its reruns), before the run ends: a long campaign's log shows it at once */
  onDivergence?: (index: number, d: Divergence) => void;
  /**
   * set `requested` (a signal handler does) to stop cleanly: no new batch of
   * scenarios starts, shrinking ends at once, and the report covers what ran
   */
  stop?: { requested: boolean };
  /** false: save each kind's first divergence as it ran, without shrinking it (long scenarios take many runs to shrink) */
  shrink?: boolean;
  /** sees (and may change) every batch of kernel results before they are compared: for tests that inject divergences */
  onKernelResults?: (results: ExecResult[]) => void;
}

/** How long the shrinking of one kind of divergence may take. */
export const SHRINK_LIMIT_MS = 300_000;

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
  /** false when the run was stopped before this one was shrunk: the file holds the random scenario as it ran */
  shrunk: boolean;
}

export interface FuzzReport {
  seed: number;
  ran: number;
  skipped: number;
  /** why each skipped scenario did not run (its capability is missing, or the machine could not give it its environment) */
  skips: { index: number; reason: string }[];
  /** counted in agreed: diverged on a first run and agreed when run again (as diff's unstable) */
  unstable: { index: number; divergence: Divergence; agreedOnRun: number }[];
  agreed: number;
  findings: FuzzFinding[];
  seconds: number;
  /** the scenarios had the THP area, and the mTHP area */
  thp?: boolean;
  mthp?: boolean;
  /** half of the scenarios had equal pages in MADV_MERGEABLE areas */
  ksm?: boolean;
  /** half of the scenarios had a hugetlb area */
  hugetlb?: boolean;
  /** the scenarios had threads */
  threads?: boolean;
  /** stopped on request before `count` scenarios ran (FuzzOptions.stop) */
  interrupted?: boolean;
}

/** The operation a divergence happened in, with the field and values: what makes two divergences the same kind. */
function kindOf(cmds: readonly Cmd[], d: Divergence, gen: GenOptions): string {
  const steps = materialize(cmds, gen).steps as Record<string, unknown>[];
  const st = steps[d.step - 1];
  const body = st ? Object.values(st)[0] : undefined;
  const op = typeof body === 'string' ? body : body && typeof body === 'object' ? Object.keys(body)[0] : '?';
  return `${op}: ${d.field}: model ${d.model}, kernel ${d.kernel}`;
}

/** Where the kernel side runs: the host's executor pool or qemu guests of one kernel. */
interface Runner {
  caps: Caps;
  /** programs under their environments (grouped by it); results in input order */
  runMany: (jobs: readonly Job[]) => Promise<ExecResult[]>;
  close(): Promise<void>;
  /** scenarios per round (guests: one boot per batch) */
  chunk: number;
}

/**
 * Scenarios per round for scenarios of up to `maxSteps` steps: `base` at the
 * default length, fewer for long ones, as a round's kernel observations (a
 * page map per step) are all held until they are compared.
 */
export function roundSize(base: number, maxSteps: number, least: number): number {
  return Math.max(least, Math.min(base, Math.floor((base * DEFAULT_STEPS) / Math.max(1, maxSteps))));
}
const DEFAULT_STEPS = 24;

async function hostRunner(jobs: number, maxSteps: number): Promise<Runner> {
  const pool = new ExecutorPool(jobs, { swapMb: 256 });
  const caps = await pool.caps();
  const runMany = async (jobs: readonly Job[]) => {
    const out = new Array<ExecResult>(jobs.length);
    await runOnPool(pool, jobs, (i, r) => (out[i] = r));
    return out;
  };
  return { caps, chunk: roundSize(64, maxSteps, jobs), runMany, close: () => pool.close() };
}

async function guestRunner(k: GuestKernel, jobs: number, maxSteps: number): Promise<Runner> {
  checkGuestTools();
  const { caps } = await guestCaps(k);
  // a boot (about 10 s under TCG) per 50 programs (about 3.4 s each): a round shows progress, and a signal's stop
  // or a guest that stops answering loses at most one round (250 a boot ran for over an hour with nothing to show)
  const batch = roundSize(50, maxSteps, 1);
  return {
    caps,
    chunk: batch * jobs,
    runMany: (js) => runOnGuests(k, caps, js, { jobs, batch }),
    close: () => Promise.resolve(),
  };
}

/** A scenario that did not run, and why. */
interface Skip {
  skip: string;
}

function isSkip(d: Divergence | Skip): d is Skip {
  return 'skip' in d;
}

/** Model and kernel for each scenario: a divergence, a skip, or null when they agree. */
async function divergences(run: Runner, prof: Profile, rs: readonly Resolved[]): Promise<(Divergence | Skip | null)[]> {
  const envs = rs.map((r) => scenarioEnv(r, prof, run.caps));
  const out: (Divergence | Skip | null)[] = rs.map((r, i) => {
    const why = capabilityBlocker(r, run.caps) ?? envs[i]!.blocker;
    return why ? { skip: why } : null;
  });
  const todo = rs.map((_, i) => i).filter((i) => out[i] === null);
  const kres = await run.runMany(
    todo.map((i) => ({ program: toProgram(rs[i]!), env: envs[i]!.set ? envs[i]!.env : null, exclusive: runsAlone(rs[i]!.needs) })),
  );
  todo.forEach((i, j) => {
    const r = rs[i]!;
    if (kres[j]!.envError !== undefined) {
      out[i] = { skip: `the machine could not give it its environment: ${kres[j]!.envError}` };
      return;
    }
    // compared as the model runs: a long scenario keeps no copy of each step's state
    const c = comparer(r, kres[j]!, { prof, caps: run.caps });
    let d: Divergence | null = null;
    const model = runScenario(r, prof, { lenient: true, env: envs[i]!.env, onStep: (rec) => (d ??= c.step(rec)) });
    if (model.aborted) throw new Error(`model bug on random scenario ${r.sc.name}: ${model.aborted}`);
    out[i] = d ?? c.end(model.records.length);
  });
  return out;
}

/** Runs `count` random scenarios from `seed` on both sides. */
export async function fuzzDiff(o: FuzzOptions): Promise<FuzzReport> {
  const prof = o.profile ?? HOST_PROFILE;
  const arb = cmdsArb({ ops: HOST_OPS, maxSteps: o.maxSteps ?? DEFAULT_STEPS });
  // the first `from` are drawn and dropped: scenario i is the same whatever shard runs it
  const from = o.from ?? 0;
  const samples = fc.sample(arb, { seed: o.seed, numRuns: from + o.count }).slice(from);
  const t0 = Date.now();
  const report: FuzzReport = { seed: o.seed, ran: 0, skipped: 0, skips: [], agreed: 0, unstable: [], findings: [], seconds: 0 };
  const diverging: { index: number; cmds: Cmd[]; d: Divergence }[] = [];
  const runner = o.on
    ? await guestRunner(o.on, o.jobs, o.maxSteps ?? DEFAULT_STEPS)
    : await hostRunner(o.jobs, o.maxSteps ?? DEFAULT_STEPS);
  const hook = o.onKernelResults;
  if (hook) {
    const inner = runner.runMany;
    runner.runMany = async (js) => {
      const rs = await inner(js);
      hook(rs);
      return rs;
    };
  }
  // large folios where the kernel side can set the THP modes; the mTHP area where it has 64 kB folios
  const gen: GenOptions = o.thp === false || !runner.caps.thp ? {} : { thp: true, mthp: runner.caps.thpSizes.includes(64) };
  // KSM where the kernel side can drive ksmd
  if (o.ksm !== false && runner.caps.ksm) gen.ksm = true;
  // hugetlb where the kernel side can set the 2 MiB pool
  if (o.hugetlb !== false && runner.caps.hugetlb) gen.hugetlb = true;
  if (o.threads === true) gen.threads = true;
  report.thp = gen.thp === true;
  report.mthp = gen.mthp === true;
  report.ksm = gen.ksm === true;
  report.hugetlb = gen.hugetlb === true;
  if (gen.threads) report.threads = true;
  try {
    for (let base = 0; base < samples.length; base += runner.chunk) {
      if (o.stop?.requested) {
        report.interrupted = true;
        break;
      }
      const part = samples.slice(base, base + runner.chunk);
      const resolved = part.map((c, j) => resolveCmds(c, `fuzz-${o.seed}-${from + base + j}`, gen));
      const ds = await divergences(runner, prof, resolved);
      // as diff does: a divergence is run again, at most DIVERGENCE_RERUNS times, and one that then
      // agrees counts as agreeing and is listed as unstable (a model that is wrong diverges every time;
      // another run changing the machine under this one, or the kernel's own work, does not)
      for (let j = 0; j < ds.length; j++) {
        const first = ds[j];
        if (!first || isSkip(first)) continue;
        for (let round = 1; round <= DIVERGENCE_RERUNS; round++) {
          const again = (await divergences(runner, prof, [resolved[j]!]))[0];
          if (again === null) {
            ds[j] = null;
            report.unstable.push({ index: from + base + j, divergence: first, agreedOnRun: round + 1 });
            break;
          }
        }
      }
      ds.forEach((d, j) => {
        if (d && isSkip(d)) {
          report.skipped++;
          report.skips.push({ index: from + base + j, reason: d.skip });
        } else if (d) {
          diverging.push({ index: from + base + j, cmds: part[j]!, d });
          o.onDivergence?.(from + base + j, d);
        } else report.agreed++;
        report.ran++;
      });
      o.onProgress?.(report.ran, diverging.length, report.skipped);
    }
    const divergenceOf = async (r: Resolved) => (await divergences(runner, prof, [r]))[0]!;

    // group divergences by kind; shrink the first of each kind to a minimal scenario
    diverging.sort((a, b) => a.index - b.index);
    const kinds = new Map<string, { index: number; cmds: Cmd[]; d: Divergence; count: number }>();
    for (const x of diverging) {
      const k = kindOf(x.cmds, x.d, gen);
      const e = kinds.get(k);
      if (e) e.count++;
      else kinds.set(k, { ...x, count: 1 });
    }
    ensureDir(o.outDir);
    for (const [kind, { index, cmds, d, count }] of kinds) {
      let last: Divergence = d;
      const prop = fc.asyncProperty(arb, async (c) => {
        // stopping: every further candidate "passes", which ends the shrink with the smallest found so far
        if (o.stop?.requested) return true;
        const r = await divergenceOf(resolveCmds(c, 'shrink', gen));
        if (r && !isSkip(r)) {
          last = r;
          return false;
        }
        return true;
      });
      // every candidate is a kernel run (a guest boot on --on): shrinking is bounded in time
      const shrunk = o.shrink !== false && !o.stop?.requested;
      const res = shrunk
        ? await fc.check(prop, { examples: [[cmds]], numRuns: 1, seed: o.seed, interruptAfterTimeLimit: SHRINK_LIMIT_MS })
        : { failed: true, counterexample: null };
      const minimal = res.counterexample?.[0] ?? cmds;
      // re-run the minimal one to report its own divergence
      const fin = !shrunk ? null : await divergenceOf(resolveCmds(minimal, 'final', gen));
      if (fin && !isSkip(fin)) last = fin;
      const name = `fuzz-${o.seed}-${index}`;
      // `cowlab run FILE` runs the model as the profile that judged the kernel did
      const obj: Record<string, unknown> = { name, kernel: prof.id, ...materialize(minimal, gen, name) };
      // steps after the divergence cannot matter to it
      obj.steps = (obj.steps as unknown[]).slice(0, last.step);
      obj.description =
        `Found by cowlab fuzz --diff --seed ${o.seed} (random scenario ${index}), ${shrunk ? 'shrunk' : o.shrink === false ? 'not shrunk (--no-shrink)' : 'not shrunk (the run was interrupted)'}.\n` +
        `Divergence at step ${last.step} ${last.process} ${last.address}: ${last.field}: model ${last.model}, kernel ${last.kernel}`;
      const file = join(o.outDir, `${name}.yaml`);
      writeFileAtomic(file, scenarioYaml(obj));
      report.findings.push({
        kind,
        count,
        index,
        divergence: last,
        file,
        steps: (obj.steps as unknown[]).length,
        reproduced: res.failed,
        shrunk,
      });
    }
  } finally {
    await runner.close();
  }
  report.seconds = (Date.now() - t0) / 1000;
  if (o.stop?.requested) report.interrupted = true;
  return report;
}
