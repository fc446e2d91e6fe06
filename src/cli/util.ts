/** Helpers shared by the commands. */
import { profileById } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';

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
