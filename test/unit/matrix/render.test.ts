import { describe, it, expect } from 'vitest';
import { compact, matrixText, matrixHtml } from '../../../src/matrix/render.js';
import type { Cell, Matrix } from '../../../src/matrix/matrix.js';

describe('the text matrix', () => {
  it('prints totals in at most four characters, so that the columns stay apart', () => {
    expect([0, 9999, 10000, 19220, 999499, 999500, 2134434, 9949999, 9950000, 41020410].map(compact)).toEqual([
      '0',
      '9999',
      '10k',
      '19k',
      '999k',
      '1.0M',
      '2.1M',
      '9.9M',
      '10M',
      '41M',
    ]);
    for (let n = 1; n < 1e9; n = Math.ceil(n * 1.37)) expect(compact(n).length).toBeLessThanOrEqual(4);
  });
});

/** Two scenarios on a kernel, a proposal and a user profile, with every kind of cell. */
function sample(): Matrix {
  const cell = (c: Partial<Cell>): Cell => ({ verdict: 'pass', unexpected: false, copies: 0, needless: 0, ...c });
  const kernels = ['linux-5.7', 'aa-full-accuracy', 'my-own-profile'];
  return {
    kernels,
    scenarios: [
      {
        scenario: 'leaky',
        file: 'leaky.yaml',
        source: [],
        cells: {
          'linux-5.7': cell({ verdict: 'expected-fail', property: 'no-leak', step: 8, expected: 'fail' }),
          'aa-full-accuracy': cell({ verdict: 'fail', property: 'pin-coherent', step: 3, unexpected: true, expected: 'pass' }),
          'my-own-profile': cell({ verdict: 'fail', property: 'expectation', step: 12 }),
        },
      },
      {
        scenario: 'short',
        file: 'b.yaml',
        source: [],
        cells: {
          'linux-5.7': cell({ copies: 3, needless: 2 }),
          'aa-full-accuracy': cell({ verdict: 'n/a' }),
          'my-own-profile': cell({ verdict: 'xpass', expected: 'fail' }),
        },
      },
    ],
    totals: Object.fromEntries(
      kernels.map((k, i) => [
        k,
        { failures: i, expectedFailures: 1 - Math.min(i, 1), unexpected: i === 1 ? 1 : 0, copies: 123456 * i, needless: 2 },
      ]),
    ),
  };
}

describe('the text matrix, failing cells', () => {
  it('names property@step of every failing cell, proposals and user profiles included', () => {
    const t = matrixText(sample());
    expect(t).toContain('  leaky: 5.7 leak@8, P1 FAIL pin@3, P2 FAIL exp@12');
    expect(t).toContain('P1 = aa-full-accuracy, P2 = my-own-profile');
  });

  it('aligns the totals under the columns, even where the names are shorter than the labels of the totals', () => {
    const lines = matrixText(sample()).split('\n');
    const header = lines[0]!;
    const ends = (l: string) => [...l.matchAll(/\S+/g)].map((x) => x.index + x[0].length);
    // every total row's figures end where the column labels end
    for (const label of ['failures', 'undocumented', 'copies', 'needless copies']) {
      const row = lines.find((l) => l.startsWith(`${label} `))!;
      expect(ends(row).slice(-3)).toEqual(ends(header));
    }
  });
});

describe('the HTML matrix', () => {
  const html = matrixHtml(sample(), { version: 'cowlab 9.9.9 (commit abc)', date: '2026-12-04T00:00:00.000Z' });
  it('has a colour legend, a sticky header and what produced it', () => {
    expect(html).toMatch(/class="swatch"[^>]*><\/span>pass with needless copies/);
    expect(html).toContain('position:sticky');
    expect(html).toContain('<thead>');
    expect(html).toContain('Produced by cowlab 9.9.9 (commit abc) on 2026-12-04T00:00:00.000Z');
  });
  it('does not colour a pass with needless copies as a pass, and shows the undocumented row', () => {
    expect(html).toContain('<td class="copies" title="">pass (2 needless copies)</td>');
    expect(html).toMatch(/td\.copies\{background:(#[0-9a-f]+)\}/);
    const colour = (c: string) => new RegExp(`td\\.${c}\\{background:(#[0-9a-f]+)\\}`).exec(html)![1];
    expect(colour('copies')).not.toBe(colour('pass'));
    expect(html).toMatch(/<tr class="total"><th class="name">undocumented<\/th><td>0<\/td><td>1<\/td><td>0<\/td><\/tr>/);
    expect(html).toContain('class="fail odd"');
  });
});
