/**
 * Kernel profiles: a kernel (or a proposed design) as a set of named
 * mechanisms (./mechanisms.ts). Kernel paths ask the profile which
 * mechanism applies; they never test a version number.
 */
import type { Mechanisms } from './mechanisms.js';
import type { Env } from './env.js';

export type { Mechanisms, MechChanges, MechGroup } from './mechanisms.js';

/** A kernel profile: an id, its predecessor, the mechanisms and where they come from. */
export interface Profile {
  readonly id: string;
  readonly title: string;
  /** profile this one starts from, or null */
  readonly basedOn: string | null;
  /** commits (12-hex ids and titles) that make the difference to basedOn */
  readonly commits: readonly string[];
  /** the difference to basedOn, in words */
  readonly summary: string;
  readonly mech: Readonly<Mechanisms>;
  /** the machine this kernel is checked on, where it differs from the default one (the Debian guests swap to brd) */
  readonly env?: Readonly<Partial<Env>>;
}

/** Whether the profile keeps an exclusive marker on every exclusive anon page (PG_anon_exclusive or an equivalent bit). */
export function keepsAnonExclusive(m: Mechanisms): boolean {
  return m.cow.exclusive === 'anon-exclusive';
}
