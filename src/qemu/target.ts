/**
 * `--on KERNEL`: which kernel a differential run uses and which profile
 * judges it. KERNEL is `host`, the id of a fetched kernel (judged by the
 * profile of the same id), or the path of a kernel image of one's own
 * (judged by --kernel or --profile, which it then requires).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { HOST_PROFILE, PROFILES } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';
import { InputError } from '../scenario/errors.js';
import { fetchedKernel, SUITES } from './fetch.js';
import type { GuestKernel } from './guest.js';

export interface OnTarget {
  /** name shown in results: `host`, a kernel id, or the image's path */
  name: string;
  profile: Profile;
  /** absent: the host */
  guest?: GuestKernel;
}

/** Resolves --on, --kernel/--profile (already loaded) and --brd. */
export function resolveOn(on: string | undefined, explicit: Profile | undefined, brd: string | undefined): OnTarget {
  if (!on || on === 'host') return { name: 'host', profile: explicit ?? HOST_PROFILE };
  const suite = SUITES.find((s) => s.id === on);
  if (suite) {
    const k = fetchedKernel(on);
    if (!k) throw new InputError(`--on ${on}: not fetched yet (run: cowlab kernels fetch ${on})`);
    const prof = explicit ?? PROFILES.find((p) => p.id === on);
    if (!prof) throw new InputError(`--on ${on}: no built-in profile ${on}; name one with --kernel or --profile`);
    return { name: on, profile: prof, guest: { name: on, vmlinuz: k.vmlinuz, brd: brd ?? k.brd } };
  }
  const image = resolve(on);
  if (!existsSync(image)) {
    throw new InputError(`--on ${on}: not a fetched kernel (${SUITES.map((s) => s.id).join(', ')}), "host", or an existing kernel image`);
  }
  if (!explicit) throw new InputError(`--on ${on}: a kernel image of your own needs --kernel ID or --profile FILE to judge it`);
  if (brd && !existsSync(brd)) throw new InputError(`--brd ${brd}: no such file`);
  return { name: on, profile: explicit, guest: { name: on, vmlinuz: image, brd: brd ? resolve(brd) : null } };
}
