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

/** Resolves --kernel / --profile to the profile to run. */
export async function pickProfile(opts: { kernel?: string; profile?: string }): Promise<Profile> {
  if (opts.profile) {
    const { loadProfileFile } = await import('../profiles/load.js');
    return loadProfileFile(opts.profile);
  }
  return profileById(opts.kernel ?? 'linux-6.18');
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
