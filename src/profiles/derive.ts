/**
 * Building profiles from profiles: `derive(base, {id, title, commits,
 * summary, mech: {...changes}})`, and the validation a user's profile goes
 * through.
 */
import { z } from 'zod';
import { InputError } from '../scenario/errors.js';
import type { Mechanisms, Profile } from './types.js';

/** A new profile: `base` with some mechanisms changed. */
export function derive(base: Profile, d: { id: string; title: string; commits?: readonly string[]; summary: string; mech: Partial<Mechanisms> }): Profile {
  return { id: d.id, title: d.title, basedOn: base.id, commits: d.commits ?? [], summary: d.summary, mech: { ...base.mech, ...d.mech } };
}

const mechSchema = z.object({
  wpReuse: z.enum(['mapcount', 'page-count', 'page-count-v2', 'anon-exclusive', 'gup-exclusive-bit', 'private-bit']),
  swapinReuse: z.enum(['mapcount', 'refcount', 'exclusive-bit']),
  forceWrite: z.enum(['foll-write-games', 'foll-cow', 'foll-cow-dirty', 'anon-exclusive']),
  gupUnshare: z.enum(['none', 'anon', 'anon-and-cow-longterm']),
  swapoutPinned: z.enum(['allow', 'skip-maybe-pinned', 'try-share']),
  gupReadBreaksCow: z.boolean(),
  pinBias: z.boolean(),
  forkCopyPinned: z.boolean(),
  forkCopyReferenced: z.enum(['none', 'writable', 'any']),
  mprotectPinned: z.enum(['allow', 'skip', 'ebusy']),
  uffdWpPinned: z.enum(['allow', 'skip', 'ebusy']),
  gupCounting: z.enum(['bias', 'split']),
  swapExclusiveBit: z.boolean(),
  mprotectMapsExclusiveWritable: z.enum(['none', 'dirty', 'clean']),
  swapinWritableOnRead: z.boolean(),
  swapinSwapTable: z.boolean(),
  uffdWpShmem: z.boolean(),
  uffdWpMultiVma: z.boolean(),
  uffdUnprotectWritable: z.boolean(),
  forkWriteProtectSeq: z.boolean(),
  sharedFaultRetry: z.boolean(),
  ioUring: z.boolean(),
  uffdWp: z.boolean(),
  uffdWpUnpopulated: z.boolean(),
  uffdWpAsync: z.boolean(),
  pinUserPages: z.boolean(),
  clearRefsSkipsPinned: z.boolean(),
  softDirty: z.boolean(),
  odirectPins: z.boolean(),
  swapSynchronousIo: z.boolean(),
  kpageflagsKsmAnyAnon: z.boolean(),
  procMemForce: z.enum(['always', 'ptrace-only']),
  lruBatchSize: z.number().int().min(1).max(64),
  faultAroundPages: z.number().int().min(1).max(64),
}).strict();

const profileSchema = z.object({
  id: z.string().regex(/^[\w.+-]+$/),
  title: z.string(),
  basedOn: z.string().nullable(),
  commits: z.array(z.string()),
  summary: z.string(),
  mech: mechSchema,
}).passthrough();

/** Checks that a value is a complete profile; InputError naming the first problem. */
export function validateProfile(p: unknown, where: string): Profile {
  const r = profileSchema.safeParse(p);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new InputError(`${where}: not a profile: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return r.data as Profile;
}
