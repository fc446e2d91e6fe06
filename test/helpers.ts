/** Shared test helpers: scenarios from inline YAML, test-only profiles, and a walk over an explorer system. */
import { parseScenario } from '../src/scenario/parse.js';
import { resolveScenario, type Resolved } from '../src/scenario/resolve.js';
import { runScenario, type RunResult } from '../src/scenario/run.js';
import { linux_6_18 } from '../src/profiles/linux-6.18.js';
import { derive } from '../src/profiles/derive.js';
import type { Profile } from '../src/profiles/types.js';
import type { Expander } from '../src/explore/expand.js';
import type { KState } from '../src/model/layout.js';

export function scenario(yaml: string, file = 'inline.yaml'): Resolved {
  return resolveScenario(parseScenario(yaml, file));
}

export function run(yaml: string, prof: Profile = linux_6_18, trace = false): RunResult {
  return runScenario(scenario(yaml), prof, { trace });
}

/** Test-only: the mapcount reuse rule with no unsharing, as before 5.8. */
export const mapcountReuse = derive(linux_6_18, {
  id: 'test-mapcount',
  title: 'test: mapcount reuse, no unshare',
  summary: 'test-only',
  mech: {
    cow: { reuse: 'mapcount', exclusive: 'none' },
    swap: { swapinReuse: 'mapcount', swapoutPinned: 'allow', swapinDrain: false },
    gup: { unshare: 'none', forceWrite: 'foll-cow' },
    fork: { copyPinned: 'never' },
    wrprotect: { mprotectWritable: 'none' },
  },
});

/** Test-only: the 5.9 page_count rule with soft-dirty and no clear_refs pin skip. */
export const pageCountSoftDirty = derive(linux_6_18, {
  id: 'test-page-count',
  title: 'test: page_count reuse with soft-dirty',
  summary: 'test-only',
  mech: {
    cow: { reuse: 'page-count', exclusive: 'none' },
    fork: { copyPinned: 'maybe-pinned' },
    swap: { swapinReuse: 'mapcount', swapoutPinned: 'allow', swapinDrain: false },
    gup: { unshare: 'none', forceWrite: 'foll-cow-dirty' },
    wrprotect: { mprotectWritable: 'none', clearRefsSkipsPinned: false },
    config: { softDirty: true },
  },
});

/** Test-only: GUP's pre-Dirty-COW "FOLL_WRITE games". */
export const follWriteGames = derive(linux_6_18, {
  id: 'test-dirtycow',
  title: 'test: FOLL_WRITE games',
  summary: 'test-only',
  mech: { gup: { forceWrite: 'foll-write-games' } },
});

export { sampledInstance } from '../src/scenario/cowc.js';

/**
 * Breadth-first over an explorer system to `depth`: `successors(s, d)`
 * steps state `s` (at depth d) as the test wants and returns the states to
 * go on from; each state is expanded once (by its fingerprint under `ex`).
 */
export function walkStates(ex: Expander, depth: number, successors: (s: KState, d: number) => KState[]): void {
  const seen = new Set<string>();
  const key = (s: KState) => Array.from(ex.fingerprint(s)).join(':');
  let level: KState[] = [ex.sys.initial.clone()];
  seen.add(key(ex.sys.initial));
  for (let d = 0; d < depth && level.length; d++) {
    const next: KState[] = [];
    for (const s of level) {
      for (const t of successors(s, d)) {
        const k = key(t);
        if (seen.has(k)) continue;
        seen.add(k);
        next.push(t);
      }
    }
    level = next;
  }
}
