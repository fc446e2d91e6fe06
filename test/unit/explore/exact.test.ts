/**
 * The explorer's state-space reduction (dead write records freed after every
 * step, message-only fields left out of fingerprints) is exact: on small
 * bounds, the unreduced search's states, grouped by the reduced fingerprint,
 * are exactly the reduced search's states, each class first reached at the
 * same depth, and all members of a class behave alike (the same violations
 * and the same successor classes), so the quotient is a bisimulation.
 */
import { describe, it, expect } from 'vitest';
import { parseConfig, loadConfig, overrideConfig, buildSystem, type ExploreConfig } from '../../../src/explore/system.js';
import { Expander } from '../../../src/explore/expand.js';
import { Canonicalizer } from '../../../src/model/canon.js';
import { writes_gc } from '../../../src/model/writes.js';
import { profileById } from '../../../src/profiles/index.js';
import type { KState } from '../../../src/model/layout.js';
import type { PropertyName } from '../../../src/properties/monitor.js';

interface Node {
  state: KState;
  depth: number;
}

/** Every state within `depth` (BFS), keyed by the expander's own fingerprint. */
function search(ex: Expander, depth: number): Map<string, Node> {
  const seen = new Map<string, Node>();
  const key = (s: KState) => Array.from(ex.fingerprint(s)).join(':');
  let level: KState[] = [ex.sys.initial.clone()];
  seen.set(key(ex.sys.initial), { state: ex.sys.initial.clone(), depth: 0 });
  for (let d = 0; d < depth && level.length; d++) {
    const next: KState[] = [];
    for (const s of level) {
      for (let a = 0; a < ex.sys.actions.length; a++) {
        const r = ex.step(s, a, d);
        if (!r || r.violation) continue;
        const k = key(r.state);
        if (seen.has(k)) continue;
        seen.set(k, { state: r.state, depth: d + 1 });
        next.push(r.state);
      }
    }
    level = next;
  }
  return seen;
}

function checkExact(c: ExploreConfig, kernel: string, depth: number, properties: PropertyName[]): { unreduced: number; reduced: number } {
  const sys = buildSystem(c, profileById(kernel));
  const full = new Expander(sys, properties, false);
  const reduced = new Expander(sys, properties, true);
  const canon = new Canonicalizer(sys.initial.L);
  const fp = new Uint32Array(2);
  const scratch = new Uint8Array(sys.initial.L.geo.writes);
  // an unreduced state's class: the reduced fingerprint of it with its dead records freed
  const cls = (s: KState) => {
    const g = s.clone();
    writes_gc(g, scratch);
    canon.fingerprint(g, fp);
    return `${fp[0]}:${fp[1]}`;
  };
  const U = search(full, depth);
  const R = search(reduced, depth);
  // 1. the same classes, each first reached at the same depth
  const firstDepth = new Map<string, number>();
  for (const n of U.values()) {
    const k = cls(n.state);
    firstDepth.set(k, Math.min(firstDepth.get(k) ?? Infinity, n.depth));
  }
  expect(new Map([...R].map(([k, n]) => [k, n.depth]))).toEqual(firstDepth);
  // 2. members of a class behave alike: the same violations and successor classes
  const behaviour = (s: KState, d: number) => {
    const out = new Set<string>();
    for (let a = 0; a < sys.actions.length; a++) {
      const r = full.step(s, a, d);
      if (r) out.add(r.violation ? `violation ${r.violation.property}` : cls(r.state));
    }
    return [...out].sort().join(' ');
  };
  const seen = new Map<string, string>();
  for (const n of U.values()) {
    if (n.depth >= depth) continue;
    const k = cls(n.state);
    const b = behaviour(n.state, n.depth);
    const was = seen.get(k);
    if (was === undefined) seen.set(k, b);
    else expect(b).toBe(was);
  }
  return { unreduced: U.size, reduced: R.size };
}

describe('the explorer reduction is exact', () => {
  it('spin-reference on linux-5.7 and linux-6.18 (write, read, fork, exit, dontneed, vmsplice, read-pipe)', () => {
    const c = loadConfig('explore/spin-reference.yaml');
    for (const k of ['linux-5.7', 'linux-6.18']) {
      const r = checkExact(c, k, 7, ['no-leak']);
      // the reduction merges states: it would be no test otherwise
      expect(r.reduced).toBeLessThan(r.unreduced);
    }
  }, 120_000);

  it('three processes, two pipes, MADV_PAGEOUT and swap-in on linux-5.9', () => {
    const c = overrideConfig(loadConfig('explore/vmsplice-swap-leak.yaml'), { processes: '3' });
    const r = checkExact(c, 'linux-5.9', 5, ['no-leak']);
    expect(r.reduced).toBeLessThan(r.unreduced);
  }, 120_000);

  it('pins, mprotect and pageout on linux-6.18 (pin-coherent)', () => {
    const c = loadConfig('explore/ro-pin.yaml');
    checkExact(c, 'linux-6.18', 5, ['no-leak', 'pin-coherent']);
  }, 120_000);

  it('a private file mapping, a shared one, swap and transient references on linux-5.9 (private-file-integrity)', () => {
    const c = parseConfig(
      `
processes: 2
regions: {a: {pages: 1}, f: {pages: 1, file: m}, s: {pages: 1, shared: true, file: m}}
files: {m: {kind: memfd}}
ops: [write, read, fork, exit, pageout, transient-swapcache, dontneed]
depth: 5
`,
      'inline.yaml',
    );
    const r = checkExact(c, 'linux-5.9', 5, ['no-leak', 'private-file-integrity']);
    expect(r.reduced).toBeLessThan(r.unreduced);
  }, 120_000);

  it('threads stopped in windows: Dirty COW on linux-4.8, GUP-fast vs fork on linux-5.9 and 6.18, collapse vs GUP-fast on 5.19 and 6.18', () => {
    checkExact(loadConfig('explore/dirty-cow.yaml'), 'linux-4.8', 5, ['private-file-integrity']);
    const gf = loadConfig('explore/gup-fast-fork.yaml');
    for (const k of ['linux-5.9', 'linux-6.18']) checkExact(gf, k, 6, ['pin-coherent']);
    const cg = loadConfig('explore/collapse-gup-fast.yaml');
    for (const k of ['linux-5.19', 'linux-6.18']) checkExact(cg, k, 4, ['pin-coherent']);
  }, 240_000);

  it("the threads' TLB entries (the uffd-wp and clear_refs stale-TLB lost writes) and the swap-in race, where found and where fixed", () => {
    const c = loadConfig('explore/uffd-wp-stale-tlb.yaml');
    for (const k of ['linux-5.9', 'linux-5.18']) checkExact(c, k, 5, ['no-lost-write', 'pin-coherent']);
    const cr = loadConfig('explore/clear-refs-stale-tlb.yaml');
    for (const k of ['linux-5.9', 'linux-5.11']) checkExact(cr, k, 5, ['no-lost-write', 'pin-coherent']);
    const sw = loadConfig('explore/swapin-race.yaml');
    for (const k of ['linux-6.3', 'linux-6.18']) checkExact(sw, k, 5, ['no-lost-write', 'pin-coherent']);
  }, 240_000);
});
