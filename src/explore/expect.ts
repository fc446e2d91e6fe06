/**
 * What an explorer configuration says a profile should give: keys as in a
 * scenario's `expect:` (an id, "a, b", "a..b", history, proposals); the
 * value is `none`, `{none: why}` or `{violation: property, depth?}`.
 */
import type { Profile } from '../profiles/types.js';
import { PROFILES } from '../profiles/index.js';
import { documented } from '../matrix/expect.js';
import type { ExploreConfig } from './system.js';

export interface ExploreExpectation {
  verdict: 'violation' | 'none';
  property?: string;
  depth?: number;
}

/** The documented outcome for a profile, or null. `default` covers the merged kernels. */
export function exploreExpectation(c: ExploreConfig, prof: Profile): ExploreExpectation | null {
  const best = documented(c.expect, prof, PROFILES, c.file);
  if (!best) return null;
  if (best === 'none' || 'none' in best) return { verdict: 'none' };
  return { verdict: 'violation', property: best.violation, ...(best.depth ? { depth: best.depth } : {}) };
}
