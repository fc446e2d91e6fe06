/**
 * `cowlab diff`: every scenario in the model (the host's profile) and on
 * this machine's kernel, compared; or skipped with the capability it lacks.
 */
import { HOST_PROFILE } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';
import type { Resolved } from '../scenario/resolve.js';
import { runScenario } from '../scenario/run.js';
import { ExecutorPool, type Caps, type ExecResult } from '../executor/server.js';
import { type GuestKernel, checkGuestTools, guestCaps, runInGuests } from '../qemu/guest.js';
import { toProgram, programBlocker } from '../executor/program.js';
import { compareRun, type Divergence } from './compare.js';
import { profileEnv } from '../kernel/ctx.js';
import { withEnv, type Env } from '../profiles/env.js';

export interface DiffResult {
  scenario: string;
  file: string;
  kernel: string;
  verdict: 'agree' | 'diverge' | 'skip';
  reason: string;
  divergence: Divergence | null;
}

/** The environment the model runs in to be compared with a machine: the profile's, with what the machine reported. */
export function machineEnv(prof: Profile, caps: Caps): Env {
  return withEnv(profileEnv(prof), { zeroPage: caps.zeroPage });
}

/** Why a scenario cannot run here, given the machine's capabilities, or null. */
export function capabilityBlocker(r: Resolved, caps: Caps): string | null {
  const b = programBlocker(r);
  if (b) return b;
  if (!caps.root) return 'not root: frames (PFNs) and kpageflags are not readable';
  const needs = new Set(r.needs);
  if (needs.has('swap') && !caps.swap) return 'no swap possible (no swap device, and no swapfile could be enabled)';
  if (needs.has('io_uring') && !caps.ioUring) return 'io_uring disabled';
  if (needs.has('uffd') && !caps.uffd) return 'userfaultfd not permitted';
  if (needs.has('gup-test') && !caps.gupTest) return 'no CONFIG_GUP_TEST: R/O long-term pins cannot be taken from user space';
  if (needs.has('soft-dirty') && !caps.softDirty) return 'no CONFIG_MEM_SOFT_DIRTY';
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
  onResult?: (r: DiffResult) => void;
}

/** Where programs run: the host's executors, or guests of one kernel. */
interface Target {
  caps(): Promise<Caps>;
  runMany(programs: readonly string[][], each: (i: number, r: ExecResult) => void): Promise<void>;
  close(): Promise<void>;
}

function hostTarget(rs: readonly Resolved[], jobs: number): Target {
  const pool = new ExecutorPool(jobs, { swapMb: wantsSwap(rs) ? 256 : 0 });
  return {
    caps: () => pool.caps(),
    runMany: async (programs, each) => {
      await Promise.all(programs.map(async (p, i) => each(i, await pool.run(p))));
    },
    close: () => pool.close(),
  };
}

function guestTarget(k: GuestKernel, jobs: number): Target {
  checkGuestTools();
  return {
    caps: async () => (await guestCaps(k)).caps,
    runMany: async (programs, each) => {
      const { results } = await runInGuests(k, programs, { jobs });
      results.forEach((r, i) => each(i, r));
    },
    close: () => Promise.resolve(),
  };
}

/** Needs a swapfile for any of these scenarios? */
function wantsSwap(rs: readonly Resolved[]): boolean {
  return rs.some((r) => r.needs.includes('swap'));
}

/** Compares every scenario with the kernel; results in input order. */
export async function diffScenarios(rs: readonly Resolved[], opts: DiffOptions = {}): Promise<DiffResult[]> {
  const prof = opts.profile ?? HOST_PROFILE;
  const kernel = opts.kernelName ?? prof.id;
  const target = opts.on ? guestTarget(opts.on, opts.jobs ?? 2) : hostTarget(rs, opts.jobs ?? 2);
  try {
    const caps = await target.caps();
    const out = new Array<DiffResult>(rs.length);
    const todo: number[] = [];
    rs.forEach((r, i) => {
      const blocker = capabilityBlocker(r, caps);
      if (!blocker) todo.push(i);
      else {
        out[i] = { scenario: r.sc.name, file: r.sc.file, kernel, verdict: 'skip', reason: blocker, divergence: null };
        opts.onResult?.(out[i]);
      }
    });
    await target.runMany(
      todo.map((i) => toProgram(rs[i]!)),
      (j, kres) => {
        const r = rs[todo[j]!]!;
        const base = { scenario: r.sc.name, file: r.sc.file, kernel };
        const model = runScenario(r, prof, { keepStates: true, lenient: true, env: machineEnv(prof, caps) });
        const d = compareRun(r, model, kres, { prof, caps });
        const res: DiffResult = d
          ? {
              ...base,
              verdict: 'diverge',
              reason: `step ${d.step} ${d.process}${d.address ? ` ${d.address}` : ''}: ${d.field}: model ${d.model}, kernel ${d.kernel}`,
              divergence: d,
            }
          : { ...base, verdict: 'agree', reason: '', divergence: null };
        out[todo[j]!] = res;
        opts.onResult?.(res);
      },
    );
    return out;
  } finally {
    await target.close();
  }
}
