/**
 * `cowlab diff`: every scenario in the model (the host's profile) and on
 * this machine's kernel, compared; or skipped with the capability it lacks.
 */
import { HOST_PROFILE } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';
import type { Resolved } from '../scenario/resolve.js';
import { runScenario } from '../scenario/run.js';
import { ExecutorPool, type Caps } from '../executor/server.js';
import { toProgram, programBlocker } from '../executor/program.js';
import { compareRun, type Divergence } from './compare.js';

export interface DiffResult {
  scenario: string;
  file: string;
  kernel: string;
  verdict: 'agree' | 'diverge' | 'skip';
  reason: string;
  divergence: Divergence | null;
}

/** Why a scenario cannot run here, given the machine's capabilities, or null. */
export function capabilityBlocker(r: Resolved, caps: Caps): string | null {
  const b = programBlocker(r);
  if (b) return b;
  if (!caps.root) return 'not root: frames (PFNs) and kpageflags are not readable';
  const needs = new Set(r.needs);
  if (r.steps.some((s) => s.op?.op === 'madvise' && s.op.advice === 'MADV_PAGEOUT')) needs.add('swap');
  if (needs.has('swap') && !caps.swap) return 'no swap possible (no swap device, and no swapfile could be enabled)';
  if (needs.has('io_uring') && !caps.ioUring) return 'io_uring disabled';
  if (needs.has('uffd') && !caps.uffd) return 'userfaultfd not permitted';
  if (needs.has('gup-test') && !caps.gupTest) return 'no CONFIG_GUP_TEST: R/O long-term pins cannot be taken from user space';
  if (needs.has('soft-dirty') && !caps.softDirty) return 'no CONFIG_MEM_SOFT_DIRTY';
  return null;
}

export interface DiffOptions {
  profile?: Profile;
  /** executors to run in parallel (default: CPUs) */
  jobs?: number;
  onResult?: (r: DiffResult) => void;
}

/** Needs a swapfile for any of these scenarios? */
function wantsSwap(rs: readonly Resolved[]): boolean {
  return rs.some((r) => r.steps.some((s) => s.op?.op === 'madvise' && s.op.advice === 'MADV_PAGEOUT'));
}

/** Compares every scenario with the kernel; results in input order. */
export async function diffScenarios(rs: readonly Resolved[], opts: DiffOptions = {}): Promise<DiffResult[]> {
  const prof = opts.profile ?? HOST_PROFILE;
  const pool = new ExecutorPool(opts.jobs ?? 2, { swapMb: wantsSwap(rs) ? 256 : 0 });
  try {
    const caps = await pool.caps();
    const out = await Promise.all(rs.map(async (r) => {
      const base = { scenario: r.sc.name, file: r.sc.file, kernel: prof.id };
      const blocker = capabilityBlocker(r, caps);
      if (blocker) return { ...base, verdict: 'skip' as const, reason: blocker, divergence: null };
      const model = runScenario(r, prof, { keepStates: true, lenient: true });
      const kernel = await pool.run(toProgram(r));
      const d = compareRun(r, model, kernel);
      const res: DiffResult = d
        ? { ...base, verdict: 'diverge', reason: `step ${d.step} ${d.process}${d.address ? ` ${d.address}` : ''}: ${d.field}: model ${d.model}, kernel ${d.kernel}`, divergence: d }
        : { ...base, verdict: 'agree', reason: '', divergence: null };
      opts.onResult?.(res);
      return res;
    }));
    return out;
  } finally {
    await pool.close();
  }
}
