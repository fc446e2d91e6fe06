import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseLink, formatLink, encodeText, decodeText } from '../../../web/url.js';

describe("the viewer's links", () => {
  it('carry any scenario text through base64url unchanged', () => {
    // any well-formed Unicode (a lone surrogate is not text a file can hold)
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (t) => {
        expect(decodeText(encodeText(t))).toBe(t);
      }),
    );
    expect(encodeText('a?b>')).not.toMatch(/[+/=]/);
  });

  it('read back what they say: scenario, kernels, step, matrix', () => {
    fc.assert(
      fc.property(
        fc.record({
          s: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
          k: fc.array(fc.constantFrom('linux-5.7', 'linux-6.18', 'debian-6.1'), { maxLength: 2 }),
          step: fc.option(fc.nat(), { nil: undefined }),
          m: fc.option(fc.constantFrom('scenarios/cve', 'scenarios/thp'), { nil: undefined }),
        }),
        (l) => {
          const clean = Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined));
          expect(parseLink(formatLink(l))).toEqual(clean);
        },
      ),
    );
  });

  it('ignore a bad step and a third kernel', () => {
    expect(parseLink('#s=a.yaml&k=a,b,c&step=-1')).toEqual({ s: 'a.yaml', k: ['a', 'b'] });
    expect(parseLink('')).toEqual({ k: [] });
  });
});
