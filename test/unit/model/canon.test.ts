/**
 * The canonical form (src/model/canon.ts): a form longer than the buffer is
 * walked again with room for it, so a canonicaliser's first state (its
 * buffer starts small) gets the fingerprint a grown one gives; and the words
 * it declares unread (what the explorer's raw-state hash leaves out) are
 * never read.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync } from 'node:fs';
import { loadConfig, overrideConfig, buildSystem } from '../../../src/explore/system.js';
import { Expander } from '../../../src/explore/expand.js';
import { Canonicalizer, type Symmetry } from '../../../src/model/canon.js';
import { profileById } from '../../../src/profiles/index.js';
import { KState as KStateClass, type KState } from '../../../src/model/layout.js';
import { walkStates } from '../../helpers.js';

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

  it('never reads the words unread() names, whatever they hold: every shipped configuration, each way of ordering processes, with and without message fields', () => {
    let checked = 0;
    let varied = 0;
    for (const file of readdirSync('explore').filter((f) => f.endsWith('.yaml'))) {
      const c = loadConfig(`explore/${file}`);
      const sys = buildSystem(c, profileById(c.kernel ?? 'linux-6.18'));
      const ex = new Expander(sys, []);
      const L = sys.initial.L;
      const states: KState[] = [];
      walkStates(ex, 4, (s, d) => {
        const out: KState[] = [];
        for (let a = 0; a < sys.actions.length; a++) {
          const r = ex.step(s, a, d);
          if (r && !r.violation) out.push(r.state.clone());
        }
        states.push(...out);
        return out;
      });
      for (const whole of [false, true]) {
        for (const symmetry of ['signature', 'exact', 'none'] as Symmetry[]) {
          const canon = new Canonicalizer(L, whole, symmetry);
          const unread = canon.unread(L);
          const fp = new Uint32Array(2);
          const again = new Uint32Array(2);
          for (const [k, s] of states.entries()) {
            // every index read goes through the proxy (the walk reads the array word by word)
            const read = new Uint8Array(L.size);
            const seen = new Proxy(s.m, {
              get(t, key) {
                if (typeof key === 'string' && /^\d+$/.test(key)) read[+key] = 1;
                const v = Reflect.get(t, key) as unknown;
                return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
              },
            });
            canon.fingerprint(new KStateClass(L, seen), fp);
            const bad = unread.findIndex((u, i) => u === 1 && read[i] === 1);
            if (bad >= 0) expect.fail(`${file} (whole ${whole}, ${symmetry}): word ${bad}, declared unread, was read`);
            // and whatever the unread words hold, the fingerprint is the same
            const m = s.m.slice();
            unread.forEach((u, i) => {
              if (u) m[i] = Math.imul(i + k + 1, 0x9e3779b1);
            });
            canon.fingerprint(new KStateClass(L, m), again);
            expect(Array.from(again)).toEqual(Array.from(fp));
            checked++;
            if (unread.some((u, i) => u === 1 && s.m[i] !== sys.initial.m[i])) varied++;
          }
        }
      }
    }
    // states whose unread words changed from the initial state's: the check sees them
    expect(varied).toBeGreaterThan(checked / 4);
  }, 240_000);
});
