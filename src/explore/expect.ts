/**
 * What an explorer configuration says a profile should give: keys as in a
 * scenario's `expect:` (an id, "a, b", "a..b", history, proposals); the
 * value is `none`, `{none: why}` or `{violation: property, depth?}`.
 */
import type { Profile } from '../profiles/types.js';
import { HISTORY, PROFILES } from '../profiles/index.js';
import { keyProfiles } from '../history/expect.js';
import type { ExploreConfig, ExpectValue } from './system.js';

export interface ExploreExpectation {
  verdict: 'violation' | 'none';
  property?: string;
  depth?: number;
}

/** The documented outcome for a profile, or null. `default` covers the merged kernels. */
export function exploreExpectation(c: ExploreConfig, prof: Profile): ExploreExpectation | null {
  let best: ExpectValue | null = null;
  let size = Infinity;
  for (const [k, v] of Object.entries(c.expect)) {
    if (k === 'default') continue;
    const known = k.split(/,|\.\./).every((x) => ['history', 'proposals'].includes(x.trim()) || PROFILES.some((p) => p.id === x.trim()));
    const covered = known ? keyProfiles(k, PROFILES, c.file) : k.split(',').map((x) => x.trim());
    if (covered.includes(prof.id) && covered.length < size) {
      best = v;
      size = covered.length;
    }
  }
  if (!best && c.expect.default && HISTORY.some((p) => p.id === prof.id)) best = c.expect.default;
  if (!best) return null;
  if (best === 'none' || 'none' in best) return { verdict: 'none' };
  return { verdict: 'violation', property: best.violation, ...(best.depth ? { depth: best.depth } : {}) };
}
