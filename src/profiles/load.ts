/**
 * Loading a profile of one's own: a JavaScript (or compiled TypeScript)
 * module whose default export (or `profile` export) is a Profile, usually
 * built with `derive()` from a built-in one. See docs/profiles.md.
 */
import { pathToFileURL } from 'node:url';
import { register } from 'node:module';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { InputError } from '../scenario/errors.js';
import { validateProfile } from './derive.js';
import type { Profile } from './types.js';

let hooked = false;

/** Lets profile files import 'cowlab' and be written in TypeScript (once per process). */
function installHooks(): void {
  if (hooked) return;
  hooked = true;
  register(new URL('./hooks.js', import.meta.url), { data: { apiUrl: new URL('../api.js', import.meta.url).href } });
}

/** Loads and validates a profile module (.js, .mjs, .ts, .mts). */
export async function loadProfileFile(file: string): Promise<Profile> {
  installHooks();
  const abs = resolve(file);
  if (!existsSync(abs)) throw new InputError(`${file}: no such profile file`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    throw new InputError(`${file}: cannot load the profile module: ${(e as Error).message.split('\n')[0]}`);
  }
  const p = mod.default ?? mod.profile;
  return validateProfile(p, file);
}
