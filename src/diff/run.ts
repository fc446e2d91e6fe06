/**
 * `cowlab diff`: every scenario in the model (the host's profile) and on
 * this machine's kernel, compared; or skipped with the capability it lacks.
 *
 * Each scenario runs in an environment: the machine's (machineEnv) with the
 * scenario's `env:` block on top. The kernel side gets the same settings:
 * scenarios are grouped by environment and the executor sets it (ENV)
 * before each group, the default one included, since machines differ (this
 * host runs THP=madvise, the Debian guests boot with always).
 */
import { stepLine } from '../scenario/describe.js';
import { HOST_PROFILE } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';
import type { Resolved } from '../scenario/resolve.js';
import { runScenario, type RunResult } from '../scenario/run.js';
import { ExecutorPool, envBlocker, envRequest, type Caps, type ExecResult } from '../executor/server.js';
import { type GuestKernel, checkGuestTools, guestCaps, runInGuests } from '../qemu/guest.js';
import { toProgram, programBlocker } from '../executor/program.js';
import { compareRun, type Divergence } from './compare.js';
import { tapLine, type TapLine } from './tap.js';
import { profileEnv } from '../kernel/ctx.js';
import { withEnv, type Env } from '../profiles/env.js';

export interface DiffResult {
  scenario: string;
  file: string;
  kernel: string;
  verdict: 'agree' | 'diverge' | 'skip';
  reason: string;
  divergence: Divergence | null;
  /**
   * Set when the scenario diverged on a first run and agreed when run again:
   * that first divergence, and the kernel's own reclaim, compaction or
   * migration during it (vmstat), for the record.
   */
  unstable?: string;
  /** for a scenario that mirrors a cow.c test: the kernel's result as the selftest's TAP line */
  tap?: TapLine;
}

/** The environment the model runs in to be compared with a machine: the profile's, with what the machine reported. */
export function machineEnv(prof: Profile, caps: Caps): Env {
  return withEnv(profileEnv(prof), {
    zeroPage: caps.zeroPage,
    unprivilegedUserfaultfd: caps.unprivilegedUserfaultfd,
    ptraceScope: caps.ptraceScope,
    ioUringDisabled: caps.ioUringDisabled,
  });
}

/**
 * The environment a scenario runs in on a machine (the model's and the
 * kernel's), and whether the executor sets it (`set`: the machine has
 * writable THP knobs; without them, scenarios without an `env:` block run
 * with the machine as it is), or why it cannot run in it.
 */
export function scenarioEnv(r: Resolved, prof: Profile, caps: Caps): { env: Env; set: boolean; blocker: string | null } {
  const env = pmdModeAsGlobal(withEnv(machineEnv(prof, caps), r.sc.env), caps);
  if (!caps.thp) {
    const own = Object.keys(r.sc.env).length > 0;
    return { env, set: false, blocker: own ? `its env: block cannot be set: ${envBlocker(env, caps)}` : null };
  }
  const why = envBlocker(env, caps);
  return { env, set: !why, blocker: why ? `its environment cannot be set: ${why}` : null };
}

/** A program and the environment it runs in (null: the machine as it is). */
export interface Job {
  program: string[];
  env: Env | null;
  /** runs alone on the machine (runsAlone) */
  exclusive?: boolean;
}

/**
 * A program that must run alone on the machine: it drives ksmd, which would
 * merge the pages of a program beside it, counts on the hugetlb pool,
 * which a program beside it would take pages of, or turns swap off, which a
 * program beside it may be paging out to.
 */
export function runsAlone(needs: readonly string[]): boolean {
  return needs.includes('ksm') || needs.includes('hugetlb') || needs.includes('swapoff');
}

/** A stable key of an environment (null: the machine as it is), for grouping. */
export function envKey(env: Readonly<Env> | null): string {
  if (!env) return '';
  const sizes = Object.entries(env.thpSizes).sort(([a], [b]) => Number(a) - Number(b));
  return JSON.stringify([env.thp, sizes, env.hugeZeroPage, env.ksmZeroPages, env.hugetlbPages, env.hugetlbOvercommit, env.hugetlb1gPages]);
}

/** Job indices grouped by environment, groups in order of first appearance. */
export function groupByEnv(jobs: readonly Job[]): { env: Env | null; indices: number[] }[] {
  const groups = new Map<string, { env: Env | null; indices: number[] }>();
  jobs.forEach((j, i) => {
    const k = envKey(j.env);
    const g = groups.get(k);
    if (g) g.indices.push(i);
    else groups.set(k, { env: j.env, indices: [i] });
  });
  return [...groups.values()];
}

/** The result of a program whose environment could not be set. */
export function envFailed(message: string): ExecResult {
  return { status: 'error', envError: message, steps: new Map(), pages: new Map(), messages: [message] };
}

/** Runs jobs on the host's pool: one environment at a time (pool.setEnv), each group's programs in parallel. */
export async function runOnPool(pool: ExecutorPool, jobs: readonly Job[], each: (i: number, r: ExecResult) => void): Promise<void> {
  for (const g of groupByEnv(jobs)) {
    if (g.env) {
      try {
        await pool.setEnv(g.env);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        for (const i of g.indices) each(i, envFailed(msg));
        continue;
      }
    }
    const alone = g.indices.filter((i) => jobs[i]!.exclusive);
    await Promise.all(g.indices.filter((i) => !jobs[i]!.exclusive).map(async (i) => each(i, await pool.run(jobs[i]!.program))));
    for (const i of alone) each(i, await pool.run(jobs[i]!.program));
  }
}

/** Runs jobs in guests: ordered by environment so that a boot mostly needs one ENV; results in input order. */
export async function runOnGuests(
  k: GuestKernel,
  caps: Caps,
  jobs: readonly Job[],
  opts: { jobs: number; batch?: number },
): Promise<ExecResult[]> {
  const order = groupByEnv(jobs).flatMap((g) => g.indices);
  const { results } = await runInGuests(
    k,
    order.map((i) => jobs[i]!.program),
    { jobs: opts.jobs, batch: opts.batch, envs: order.map((i) => (jobs[i]!.env ? envRequest(jobs[i]!.env, caps) : null)) },
  );
  const out = new Array<ExecResult>(jobs.length);
  order.forEach((i, j) => (out[i] = results[j]!));
  return out;
}

/** Why a scenario cannot run here, given the machine's capabilities, or null. */
export function capabilityBlocker(r: Resolved, caps: Caps): string | null {
  return programBlocker(r) ?? machineBlocker(r, caps);
}

/**
 * Whether the executor's only reason not to run a scenario is its 1 GiB pages
 * (the machine has everything else it needs): a cow.c test whose result the
 * model predicts.
 */
function onlyGigantic(r: Resolved, caps: Caps): boolean {
  return r.needs.includes('hugetlb-1g') && programBlocker(r, true) === null && machineBlocker(r, caps) === null;
}

/** Why this machine cannot run a scenario the executor can express, or null. */
function machineBlocker(r: Resolved, caps: Caps): string | null {
  if (!caps.root) return 'not root: frames (PFNs) and kpageflags are not readable';
  const needs = new Set(r.needs);
  if (needs.has('swap') && !caps.swap) return 'no swap possible (no swap device, and no swapfile could be enabled)';
  if (needs.has('io_uring') && !caps.ioUring) return 'io_uring disabled';
  if (needs.has('uffd') && !caps.uffd) return 'userfaultfd not permitted';
  if (needs.has('gup-test') && !caps.gupTest) return 'no CONFIG_GUP_TEST: R/O long-term pins cannot be taken from user space';
  if (needs.has('soft-dirty') && !caps.softDirty) return 'no CONFIG_MEM_SOFT_DIRTY';
  if (needs.has('ksm') && !caps.ksm) return 'no writable /sys/kernel/mm/ksm (CONFIG_KSM): ksmd cannot be driven';
  if (needs.has('hugetlb') && !caps.hugetlb)
    return 'no writable /sys/kernel/mm/hugepages/hugepages-2048kB (CONFIG_HUGETLBFS, root): the hugetlb pool cannot be set';
  return null;
}

export interface DiffOptions {
  profile?: Profile;
  /** executors (or guests) to run in parallel (default: 2) */
  jobs?: number;
  /** where the kernel side runs: this machine (default) or a kernel booted in qemu */
  on?: GuestKernel;
  /** name of the kernel in results (default: the profile's id) */
  kernelName?: string;
  /** called as each result is known (in no fixed order), with its index in the input */
  onResult?: (r: DiffResult, index: number) => void;
  /** where the programs run, instead of the host or `on` (tests wrap hostTarget) */
  target?: Target;
}

/** Where programs run: the host's executors, or guests of one kernel. */
export interface Target {
  caps(): Promise<Caps>;
  runMany(jobs: readonly Job[], each: (i: number, r: ExecResult) => void): Promise<void>;
  close(): Promise<void>;
}

/** The host's executors: a pool of `jobs`, with a swapfile when a scenario pages out. */
export function hostTarget(rs: readonly Resolved[], jobs: number): Target {
  const pool = new ExecutorPool(jobs, { swapMb: wantsSwap(rs) ? 256 : 0 });
  return {
    caps: () => pool.caps(),
    runMany: (js, each) => runOnPool(pool, js, each),
    close: () => pool.close(),
  };
}

function guestTarget(k: GuestKernel, jobs: number): Target {
  checkGuestTools();
  const caps = async () => (await guestCaps(k)).caps;
  return {
    caps,
    runMany: async (js, each) => {
      const results = await runOnGuests(k, await caps(), js, { jobs });
      results.forEach((r, i) => each(i, r));
    },
    close: () => Promise.resolve(),
  };
}

/** Needs a swapfile for any of these scenarios? */
function wantsSwap(rs: readonly Resolved[]): boolean {
  return rs.some((r) => r.needs.includes('swap'));
}

/** The result with the cow.c TAP line it mirrors, if any. */
function withTap(r: Resolved, res: DiffResult, model: RunResult | null, modelOnly = false): DiffResult {
  const t = tapLine(r, res.verdict, res.reason, model, modelOnly);
  return t ? { ...res, tap: t } : res;
}

/**
 * Before 6.8 the PMD size has no mode of its own: it follows
 * transparent_hugepage/enabled. On such a machine an environment that gives
 * the PMD size a mode of its own is the same as one whose global mode is
 * it (the kernel has no other THP size to apply the global mode to), and
 * that one can be set.
 */
function pmdModeAsGlobal(env: Env, caps: Caps): Env {
  const pmd = env.thpSizes['2048'];
  if (!caps.thp || caps.thpSizes.length > 0 || pmd === undefined || pmd === 'inherit') return env;
  if (Object.entries(env.thpSizes).some(([kb, m]) => kb !== '2048' && m !== 'never')) return env;
  return { ...env, thp: pmd, thpSizes: { ...env.thpSizes, '2048': 'inherit' } };
}

/** How many times a divergence is run again before it stands. */
export const DIVERGENCE_RERUNS = 2;

/** vmstat deltas as `name +N, ...`. */
export function formatBackground(bg: Readonly<Record<string, number>>): string {
  return Object.entries(bg)
    .map(([k, v]) => `${k} +${v}`)
    .join(', ');
}

/** Compares every scenario with the kernel; results in input order. */
export async function diffScenarios(rs: readonly Resolved[], opts: DiffOptions = {}): Promise<DiffResult[]> {
  const prof = opts.profile ?? HOST_PROFILE;
  const kernel = opts.kernelName ?? prof.id;
  const target = opts.target ?? (opts.on ? guestTarget(opts.on, opts.jobs ?? 2) : hostTarget(rs, opts.jobs ?? 2));
  try {
    const caps = await target.caps();
    const out = new Array<DiffResult>(rs.length);
    const todo: { i: number; env: Env; set: boolean }[] = [];
    rs.forEach((r, i) => {
      const e = scenarioEnv(r, prof, caps);
      const blocker = capabilityBlocker(r, caps) ?? e.blocker;
      if (!blocker) todo.push({ i, env: e.env, set: e.set });
      else {
        // a cow.c test no executor can run (1 GiB pages): its TAP line is the model's prediction
        const modelOnly = r.sc.selftest?.tap !== undefined && onlyGigantic(r, caps);
        const model = modelOnly ? runScenario(r, prof, { lenient: true, env: e.env }) : null;
        const skip: DiffResult = { scenario: r.sc.name, file: r.sc.file, kernel, verdict: 'skip', reason: blocker, divergence: null };
        out[i] = withTap(r, skip, model, modelOnly);
        opts.onResult?.(out[i], i);
      }
    });
    const judge = (i: number, env: Env, kres: ExecResult): DiffResult => {
      const r = rs[i]!;
      const base = { scenario: r.sc.name, file: r.sc.file, kernel };
      if (kres.envError !== undefined)
        return withTap(
          r,
          { ...base, verdict: 'skip', reason: `the machine cannot give it its environment: ${kres.envError}`, divergence: null },
          null,
        );
      const model = runScenario(r, prof, { keepStates: true, lenient: true, env });
      const d = compareRun(r, model, kres, { prof, caps });
      const plain: DiffResult = d
        ? {
            ...base,
            verdict: 'diverge',
            reason:
              `step ${d.step} ${d.process}${d.address ? ` ${d.address}` : ''}: ${d.field}: model ${d.model}, kernel ${d.kernel}` +
              ` (the step: ${stepLine(r, d.step - 1)})`,
            divergence: d,
          }
        : { ...base, verdict: 'agree', reason: '', divergence: null };
      return withTap(r, plain, model);
    };
    // A divergence is run again, at most DIVERGENCE_RERUNS times: one that does
    // not come back is the kernel's own doing (kswapd and compaction, whose
    // deferred-split shrinker splits folios the model keeps whole, are
    // recorded; rare single extra faults under TCG are not explained) and is
    // reported as agreeing, with its first divergence, as unstable.
    let again: { t: (typeof todo)[number]; first: DiffResult; background: string }[] = [];
    await target.runMany(
      todo.map((t) => ({ program: toProgram(rs[t.i]!), env: t.set ? t.env : null, exclusive: runsAlone(rs[t.i]!.needs) })),
      (j, kres) => {
        const t = todo[j]!;
        const res = judge(t.i, t.env, kres);
        if (res.verdict === 'diverge') {
          again.push({ t, first: res, background: kres.background ? formatBackground(kres.background) : '' });
          return;
        }
        out[t.i] = res;
        opts.onResult?.(res, t.i);
      },
    );
    for (let round = 1; again.length > 0; round++) {
      const batch = again;
      again = [];
      await target.runMany(
        batch.map(({ t }) => ({ program: toProgram(rs[t.i]!), env: t.set ? t.env : null, exclusive: runsAlone(rs[t.i]!.needs) })),
        (j, kres) => {
          const { t, first, background } = batch[j]!;
          const res = judge(t.i, t.env, kres);
          if (res.verdict === 'diverge' && round < DIVERGENCE_RERUNS) {
            again.push({ t, first, background });
            return;
          }
          const during = background
            ? `while the kernel reclaimed or compacted on its own (${background})`
            : 'with no reclaim or compaction recorded';
          const final: DiffResult =
            res.verdict === 'agree'
              ? { ...res, unstable: `diverged on a first run ${during}: ${first.reason}; agreed on run ${round + 1}` }
              : { ...res, reason: `${res.reason} (diverged on ${round + 1} runs)` };
          out[t.i] = final;
          opts.onResult?.(final, t.i);
        },
      );
    }
    return out;
  } finally {
    await target.close();
  }
}
