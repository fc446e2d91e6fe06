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
import { PROFILES } from './index.js';
import { fileKind, statPath } from '../util/files.js';
import type { Profile } from './types.js';

let hooked = false;

/** Lets profile files import 'cowlab' and be written in TypeScript (once per process). */
function installHooks(): void {
  if (hooked) return;
  hooked = true;
  register(new URL('./hooks.js', import.meta.url), { data: { apiUrl: new URL('../api.js', import.meta.url).href } });
}

/**
 * Loads and validates a profile module (.js, .mjs, .ts, .mts). Whatever
 * the module throws while it loads is bad input (exit 2), named with the
 * file; so is an id a built-in profile already has (the matrix would show
 * the module's results under the built-in's name).
 */
export async function loadProfileFile(file: string): Promise<Profile> {
  installHooks();
  const abs = resolve(file);
  if (!existsSync(abs)) throw new InputError(`${file}: no such profile file`);
  // import() of a FIFO would block until someone writes to it
  const st = statPath(file);
  if (!st.isFile()) throw new InputError(`${file}: ${fileKind(st)}, not a regular file; expected a profile module (.js, .mjs, .ts, .mts)`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    throw new InputError(`${file}: cannot load the profile module: ${thrown(e)}`);
  }
  const p = validateProfile(mod.default ?? mod.profile, file);
  if (PROFILES.some((b) => b.id === p.id))
    throw new InputError(`${file}: the profile's id "${p.id}" is a built-in profile's; give it an id of its own (derive(base, {id: ...}))`);
  return p;
}

/** What a module threw, in one line: an Error's first line, or the value itself (`throw 42`). */
function thrown(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0] || e.name;
  let shown: string;
  if (typeof e === 'string') shown = JSON.stringify(e);
  else if (typeof e === 'object' && e !== null) {
    try {
      shown = JSON.stringify(e) ?? Object.prototype.toString.call(e);
    } catch {
      shown = Object.prototype.toString.call(e); // a cycle, a BigInt inside
    }
  } else shown = String(e);
  if (shown.length > 100) shown = `${shown.slice(0, 100)}...`;
  return `it threw ${shown} (not an Error)`;
}
