import { describe, it, expect } from 'vitest';
import { compact } from '../../../src/matrix/render.js';

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
