/**
 * What a scenario's `expect:` block says about a profile: keys are a profile
 * id, a list "a, b", a range "a..b" (inclusive, in the order of the profile
 * list), or "default".
 */
import type { Outcome, Scenario } from '../scenario/types.js';
import type { Profile } from '../profiles/types.js';
import { InputError } from '../scenario/errors.js';
import { DEBIAN, HISTORY, PROPOSALS, PROFILES } from '../profiles/index.js';
import { didYouMean } from '../util/nearest.js';

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
 * Every kernel an `expect:` key names must be a built-in profile, a group
 * (history, proposals), `default`, or the id of a profile of the user's
 * (`extraIds`, from --profile): a key for no such kernel would otherwise be
 * ignored in silence ("linux-5.10" for debian-5.10). Throws InputError at
 * the key with the nearest valid name.
 */
export function checkExpectKeys(sc: Scenario, extraIds: readonly string[] = []): void {
  const known = [...new Set([...PROFILES.map((p) => p.id), ...Object.keys(GROUPS), ...extraIds])];
  const order = PROFILES.map((p) => p.id);
  if (sc.kernel !== undefined && !order.includes(sc.kernel) && !extraIds.includes(sc.kernel)) {
    const ids = [...new Set([...order, ...extraIds])];
    const msg = `kernel: unknown kernel "${sc.kernel}"${didYouMean(sc.kernel, ids)} (a profile module's id needs --profile FILE); known: ${ids.join(', ')}`;
    throw new InputError(sc.kernelPos ? msg : `${sc.file}: ${msg}`, sc.kernelPos);
  }
  for (const key of Object.keys(sc.expect)) {
    const at = sc.expectPos?.[key];
    const where = at ? undefined : sc.file;
    if (key === 'default') continue;
    for (const part of key.split(',').map((x) => x.trim())) {
      const ends = part.split('..').map((x) => x.trim());
      for (const name of ends) {
        if (known.includes(name)) continue;
        const msg = `expect: unknown kernel "${name}"${didYouMean(name, known)}; known: ${known.join(', ')}`;
        throw new InputError(where ? `${where}: ${msg}` : msg, at);
      }
      if (ends.length === 2 && !(order.indexOf(ends[0]!) >= 0 && order.indexOf(ends[0]!) <= order.indexOf(ends[1]!))) {
        const msg = `expect: "${part}" is not a range of built-in kernels in their order (${order.join(', ')})`;
        throw new InputError(where ? `${where}: ${msg}` : msg, at);
      }
      if (ends.length > 2) throw new InputError(`expect: "${part}": expected a kernel, a list "a, b" or a range "a..b"`, at);
    }
  }
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
  if (HISTORY.some((p) => p.id === prof.id)) return expect.default ?? null;
  // a Debian kernel no key names is documented as the mainline profile it is based on
  const base = DEBIAN.some((p) => p.id === prof.id) ? order.find((p) => p.id === prof.basedOn) : undefined;
  return base ? documented(expect, base, order, file) : null;
}
