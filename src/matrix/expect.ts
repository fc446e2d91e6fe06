/**
 * What a scenario's `expect:` block says about a profile: keys are a profile
 * id, a list "a, b", a range "a..b" (inclusive, in the order of the profile
 * list), or "default".
 */
import type { Outcome, Scenario } from '../scenario/types.js';
import type { Profile } from '../profiles/types.js';
import { InputError } from '../scenario/errors.js';
import { HISTORY, PROPOSALS } from '../profiles/index.js';

/** Group keys: all merged kernels, all proposals of the thread. */
const GROUPS: Record<string, () => readonly Profile[]> = { history: () => HISTORY, proposals: () => PROPOSALS };

/** The profiles a key covers, or throws with what was wrong. */
export function keyProfiles(key: string, order: readonly Profile[], where: string): string[] {
  const ids = order.map((p) => p.id);
  const out: string[] = [];
  for (const part of key.split(',').map((x) => x.trim())) {
    const range = part.split('..');
    if (range.length === 2) {
      const a = ids.indexOf(range[0]!.trim());
      const b = ids.indexOf(range[1]!.trim());
      if (a < 0 || b < 0 || b < a) throw new InputError(`${where}: expect: "${part}" is not a range of known kernels (${ids.join(', ')})`);
      out.push(...ids.slice(a, b + 1));
    } else if (GROUPS[part]) {
      out.push(...GROUPS[part]().map((p) => p.id));
    } else if (ids.includes(part)) {
      out.push(part);
    } else {
      throw new InputError(`${where}: expect: unknown kernel "${part}"`);
    }
  }
  return out;
}

/**
 * The documented outcome of a scenario on a profile, or null when it
 * documents none. The most specific key wins (the one covering the fewest
 * profiles); `default` covers the merged kernels only, so a proposal (or a
 * user's profile) is documented only where a key names it.
 */
export function expectedOutcome(sc: Scenario, prof: Profile, order: readonly Profile[]): Outcome | null {
  return documented(sc.expect, prof, order, sc.file);
}

/**
 * The value an `expect:` block gives a profile (scenarios and explorer
 * configurations share the keys): the most specific key naming it, else
 * `default` for a merged kernel, else null.
 */
export function documented<V>(expect: Record<string, V>, prof: Profile, order: readonly Profile[], file: string): V | null {
  let best: V | null = null;
  let bestSize = Infinity;
  for (const [k, v] of Object.entries(expect)) {
    if (k === 'default') continue;
    // keys naming kernels outside the built-in list (a user's own profile) only match it by id
    const known = k.split(/,|\.\./).every((x) => GROUPS[x.trim()] || order.some((p) => p.id === x.trim()));
    const covered = known ? keyProfiles(k, order, file) : k.split(',').map((x) => x.trim());
    if (covered.includes(prof.id) && covered.length < bestSize) {
      best = v;
      bestSize = covered.length;
    }
  }
  if (best !== null) return best;
  return HISTORY.some((p) => p.id === prof.id) ? (expect.default ?? null) : null;
}
