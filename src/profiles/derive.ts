/**
 * Building profiles from profiles: `derive(base, {id, title, commits,
 * summary, mech: {group: {...changes}}})`, and the validation a user's
 * profile goes through.
 */
import { z } from 'zod';
import { InputError } from '../scenario/errors.js';
import type { Profile } from './types.js';
import { applyChanges, mechanismsSchema, type MechChanges } from './mechanisms.js';
import { envSchema, type Env } from './env.js';

/** A new profile: `base` with some mechanisms (and perhaps the machine it is checked on) changed. */
export function derive(
  base: Profile,
  d: { id: string; title: string; commits?: readonly string[]; summary: string; mech: MechChanges; env?: Partial<Env> },
): Profile {
  const env = d.env ?? base.env;
  return {
    id: d.id,
    title: d.title,
    basedOn: base.id,
    commits: d.commits ?? [],
    summary: d.summary,
    mech: applyChanges(base.mech, d.mech),
    ...(env ? { env } : {}),
  };
}

const profileSchema = z
  .object({
    id: z.string().regex(/^[\w.+-]+$/),
    title: z.string(),
    basedOn: z.string().nullable(),
    commits: z.array(z.string()),
    summary: z.string(),
    mech: mechanismsSchema,
    env: envSchema.partial().optional(),
  })
  .passthrough();

/** Checks that a value is a complete profile; InputError naming the first problem. */
export function validateProfile(p: unknown, where: string): Profile {
  const r = profileSchema.safeParse(p);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new InputError(`${where}: not a profile: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return r.data;
}
