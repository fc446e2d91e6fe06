/**
 * What a scenario's `expect:` block says about a profile: keys are a profile
 * id, a list "a, b", a range "a..b" (inclusive, in the order of the profile
 * list), or "default".
 */
import type { Outcome, Scenario } from '../scenario/types.js';
import type { Profile } from '../profiles/types.js';
import { InputError } from '../scenario/errors.js';

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
    } else if (ids.includes(part)) {
      out.push(part);
    } else {
      throw new InputError(`${where}: expect: unknown kernel "${part}"`);
    }
  }
  return out;
}

/** The documented outcome of a scenario on a profile, or null when it documents none. */
export function expectedOutcome(sc: Scenario, prof: Profile, order: readonly Profile[]): Outcome | null {
  if (sc.expect[prof.id]) return sc.expect[prof.id]!;
  for (const [k, v] of Object.entries(sc.expect)) {
    if (k === 'default' || k === prof.id) continue;
    // keys naming kernels outside the built-in list (a user's own profile) do not apply
    const known = k.split(/,|\.\./).every((x) => order.some((p) => p.id === x.trim()));
    if (!known) continue;
    if (keyProfiles(k, order, sc.file).includes(prof.id)) return v;
  }
  return sc.expect.default ?? null;
}
