/** src/cli/junit.ts: the JUnit XML report of run and diff. */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { junitXml, xmlEscape } from '../../../src/cli/junit.js';

describe('junitXml', () => {
  it('counts failures and skips, and gives each case what CI readers look for', () => {
    const x = junitXml('cowlab diff on host', [
      { name: 'a', classname: 'a.yaml', outcome: 'pass' },
      { name: 'b', classname: 'b.yaml', outcome: 'fail', message: 'step 3 diverges', detail: 'model: 1\nkernel: 2' },
      { name: 'c', classname: 'c.yaml#hugetlb-2m', outcome: 'skip', message: 'no gup_test' },
      { name: 'd', classname: 'd.yaml', outcome: 'pass', note: 'XFAIL: fails as documented' },
    ]);
    expect(x).toContain('<testsuite name="cowlab diff on host" tests="4" failures="1" skipped="1" errors="0">');
    expect(x).toContain('<testcase name="a" classname="a.yaml"/>');
    expect(x).toContain('<failure message="step 3 diverges">model: 1\nkernel: 2</failure>');
    expect(x).toContain('<skipped message="no gup_test"/>');
    expect(x).toContain('<system-out>XFAIL: fails as documented</system-out>');
  });

  it('escapes any text into well-formed XML (no raw <, &, quote or forbidden control character)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const e = xmlEscape(s);
        expect(e).not.toMatch(/[<>"]/);
        expect(e).not.toMatch(/&(?!(amp|lt|gt|quot);)/);
        expect(e).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
      }),
      { seed: 7 },
    );
  });
});
