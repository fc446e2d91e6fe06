/**
 * The canonical form's buffer (src/model/canon.ts): a form longer than the
 * buffer is walked again with room for it, so a canonicaliser's first state
 * (its buffer starts small) gets the fingerprint a grown one gives.
 */
import { describe, it, expect } from 'vitest';
import { loadConfig, overrideConfig, buildSystem } from '../../../src/explore/system.js';
import { Expander } from '../../../src/explore/expand.js';
import { Canonicalizer } from '../../../src/model/canon.js';
import { profileById } from '../../../src/profiles/index.js';
import type { KState } from '../../../src/model/layout.js';

describe('Canonicalizer', () => {
  it('gives a state the same fingerprint whether its buffer had to grow for it or not', () => {
    const sys = buildSystem(overrideConfig(loadConfig('explore/vmsplice-swap-leak.yaml'), { processes: '3' }), profileById('linux-5.9'));
    const ex = new Expander(sys, []);
    const states: KState[] = [sys.initial];
    for (let d = 0; d < 3; d++) {
      for (const s of states.slice()) {
        for (let a = 0; a < sys.actions.length; a++) {
          const r = ex.step(s, a, d);
          if (r && !r.violation) states.push(r.state);
        }
      }
    }
    const grown = new Canonicalizer(sys.initial.L);
    const a = new Uint32Array(2);
    const b = new Uint32Array(2);
    const distinct = new Set<string>();
    for (const s of states) {
      grown.fingerprint(s, a);
      new Canonicalizer(sys.initial.L).fingerprint(s, b);
      expect(Array.from(b)).toEqual(Array.from(a));
      distinct.add(Array.from(a).join(':'));
    }
    // the states differ: equal fingerprints would show nothing
    expect(distinct.size).toBeGreaterThan(30);
  });
});
