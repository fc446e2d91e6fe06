/**
 * The built-in kernel profiles, in history order, and lookup by id.
 */
import type { Profile } from './types.js';
import { linux_6_18 } from './linux-6.18.js';
import { InputError } from '../scenario/errors.js';

/** Built-in profiles in the order the matrix shows them. */
export const PROFILES: readonly Profile[] = [linux_6_18];

/** The profile cowlab's machines run, and `cowlab diff` checks against. */
export const HOST_PROFILE = linux_6_18;

/** A built-in profile by id; InputError listing the ids otherwise. */
export function profileById(id: string): Profile {
  const p = PROFILES.find((x) => x.id === id);
  if (!p) throw new InputError(`unknown kernel "${id}"; known: ${PROFILES.map((x) => x.id).join(', ')}`);
  return p;
}
