/** fs/proc/base.c mem_rw() (src/kernel/fs/proc/base.ts): the order it takes pages in. */
import { describe, it, expect } from 'vitest';
import { segments } from '../../../src/kernel/fs/proc/base.js';

describe('mem_rw() chunks', () => {
  it('a write that starts inside a page takes each page two chunks share twice', () => {
    expect(segments(3, 4000, 4200)).toEqual([
      { page: 0, a: 4000, b: 4096 },
      { page: 1, a: 0, b: 4000 },
      { page: 1, a: 4000, b: 4096 },
      { page: 2, a: 0, b: 8 },
    ]);
    expect(segments(2, 0, 0)).toEqual([
      { page: 0, a: 0, b: 4096 },
      { page: 1, a: 0, b: 4096 },
    ]);
    expect(segments(1, 16, 16)).toEqual([{ page: 0, a: 16, b: 32 }]);
  });
});
