/** Helpers shared by the commands. */
import { profileById } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';
import { InputError } from '../scenario/errors.js';
import { parseEnvSpec, withEnv, type Env } from '../profiles/env.js';
import { profileEnv } from '../kernel/ctx.js';

/** Writes a line (or lines) to stdout. */
export function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}

/** A second signal within this time of the first is the same request (see onStopSignals). */
export const SIGNAL_ECHO_MS = 1000;

/**
 * SIGINT or SIGTERM asks the command to stop with what it has (`stop.requested`;
 * `first` runs then); a second one quits at once with `exitCode`. A second
 * signal within SIGNAL_ECHO_MS of the first counts as the first: `timeout`
 * sends its signal to the command and again to its process group, and a
 * terminal and a supervisor may both signal, which quit without a report.
 */
export function onStopSignals(stop: { requested: boolean }, exitCode: number, first: (sig: NodeJS.Signals) => void = () => {}): void {
  let at = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.requested) {
      if (Date.now() - at < SIGNAL_ECHO_MS) return;
      process.exit(exitCode);
    }
    stop.requested = true;
    at = Date.now();
    first(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * When a run of `count` items without a terminal prints a progress line:
 * the returned function says, for `done` items, whether one is due (a
 * tenth of the run more than the last, or `everyMs` since it).
 */
export function progressGate(count: number, everyMs: number, now: () => number = Date.now): (done: number) => boolean {
  const step = Math.max(1, Math.ceil(count / 10));
  let shown = 0;
  let shownAt = now();
  return (done) => {
    if (done < shown + step && now() - shownAt < everyMs) return false;
    if (done >= shown + step) shown = done - (done % step);
    shownAt = now();
    return true;
  };
}

/**
 * --kernel and --profile each name the profile to run: both at once is a
 * usage error (one of them would be silently ignored). Commands that take
 * both call this (pickProfile does).
 */
export function checkKernelOrProfile(opts: { kernel?: string | undefined; profile?: string | undefined }): void {
  if (opts.kernel !== undefined && opts.profile !== undefined) throw new InputError('use --kernel or --profile, not both');
}

/** Resolves --kernel / --profile to the profile to run (linux-6.18 when neither is given). */
export async function pickProfile(opts: { kernel?: string | undefined; profile?: string | undefined }): Promise<Profile> {
  checkKernelOrProfile(opts);
  if (opts.profile !== undefined) {
    const { loadProfileFile } = await import('../profiles/load.js');
    return loadProfileFile(opts.profile);
  }
  return profileById(opts.kernel ?? 'linux-6.18');
}

/** Loads --profile FILE... (matrix, kernels): two files may not give one id. */
export async function loadProfileFiles(files: readonly string[]): Promise<Profile[]> {
  const { loadProfileFile } = await import('../profiles/load.js');
  const out: Profile[] = [];
  const from = new Map<string, string>();
  for (const f of files) {
    const p = await loadProfileFile(f);
    const other = from.get(p.id);
    if (other !== undefined) throw new InputError(`${f}: the profile's id "${p.id}" is also ${other}'s`);
    from.set(p.id, f);
    out.push(p);
  }
  return out;
}

/**
 * A numeric option: an integer from `min` to `max` (decimal digits, an
 * optional sign), or undefined when the option was not given. Anything
 * else is an InputError naming the option and the accepted range; `why`
 * explains the bound, e.g. ' (one per CPU)'.
 */
export function intOption(v: string | undefined, what: string, min = 0, max = Number.MAX_SAFE_INTEGER, why = ''): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new InputError(
      `${what}: expected an integer ${max < Number.MAX_SAFE_INTEGER ? `from ${min} to ${max}${why}` : `>= ${min}${why}`}, not ${JSON.stringify(v)}`,
    );
  return n;
}

/** The environment of a run: the profile's, with --env KEY=VALUE,... applied. */
export function envOption(prof: Profile, spec: string | undefined): Env {
  if (spec === undefined) return profileEnv(prof);
  try {
    return withEnv(profileEnv(prof), parseEnvSpec(spec));
  } catch (e) {
    throw new InputError(`--env: ${(e as Error).message}`);
  }
}
