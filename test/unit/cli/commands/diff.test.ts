import { describe, it, expect } from 'vitest';
import { unstableNote } from '../../../../src/cli/commands/diff.js';

describe("diff's summary of scenarios that agreed only when run again", () => {
  it('says how many, and how many of them diverged while the kernel reclaimed or compacted on its own', () => {
    expect(unstableNote([{}, {}])).toBe('');
    expect(
      unstableNote([
        { unstable: 'diverged on a first run with no reclaim or compaction recorded: step 1 ...; agreed on run 2' },
        { unstable: 'diverged on a first run while the kernel reclaimed or compacted on its own (kswapd 3): ...; agreed on run 2' },
        {},
      ]),
    ).toBe(
      ' (2 of the agreeing diverged on a first run and agreed when run again, 1 of them while the kernel reclaimed or compacted on its own)',
    );
  });
});
