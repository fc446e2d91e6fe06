import { describe, it, expect } from 'vitest';
import { progressGate } from '../../../src/cli/util.js';

describe('progressGate: progress lines without a terminal', () => {
  it('a line per tenth of the run when items come quickly', () => {
    let t = 0;
    const due = progressGate(100, 300_000, () => t);
    const shown = [];
    for (let done = 1; done <= 100; done++) {
      t += 10;
      if (due(done)) shown.push(done);
    }
    expect(shown).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });
  it('and at least one per interval when they come slowly (a long run in qemu: minutes per item)', () => {
    let t = 0;
    const due = progressGate(400, 300_000, () => t);
    const shown = [];
    for (let done = 1; done <= 50; done++) {
      t += 90_000;
      if (due(done)) shown.push(done);
    }
    // every 4th item passes 5 minutes since the last line; the tenth (40) comes on its own count
    expect(shown).toEqual([4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48]);
  });
});
