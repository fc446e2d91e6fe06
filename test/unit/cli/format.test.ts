/** The explorer's report in words (src/cli/format.ts): it claims only what the search covered. */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/explore/system.js';
import { explore } from '../../../src/explore/explore.js';
import { profileById } from '../../../src/profiles/index.js';
import { formatExplore } from '../../../src/cli/format.js';

const dir = mkdtempSync(join(tmpdir(), 'cowlab-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (swarm?: { seed: number; walks: number }, kernel = 'linux-5.7', file = 'explore/vmsplice-leak.yaml') =>
  explore({
    config: loadConfig(file),
    profile: profileById(kernel),
    profileSource: { builtin: kernel },
    workers: 1,
    ...(swarm ? { swarm } : {}),
    out: join(dir, 'cex.yaml'),
  });

describe('formatExplore', () => {
  it('random walks that miss the leak say how much they covered, never "no violation within depth"', async () => {
    const text = formatExplore(await run({ seed: 1, walks: 50 }));
    expect(text).toMatch(
      /^NOT FOUND {2}vmsplice-leak on linux-5\.7: no violation in 50 random walk\(s\) of up to 8 step\(s\); walks sample the space/,
    );
    expect(text).toMatch(/50 random walk\(s\), seed 1, \d+ steps/);
    expect(text).not.toMatch(/within depth/);
  });
  it('a search that runs out of states before the bound says so, with the bound', async () => {
    expect(formatExplore(await run(undefined, 'linux-6.18', 'explore/spin-reference.yaml'))).toMatch(
      /^NONE {2}spin-reference on linux-6\.18: no violation in any reachable state: the search exhausted them \(the deepest at depth 14\) before the bound of 64/,
    );
    expect(formatExplore(await run(undefined, 'linux-6.18'))).toMatch(/^NONE {2}vmsplice-leak on linux-6\.18: no violation within depth 8/);
  });
  it('a breadth-first search states its verdict', async () => {
    const text = formatExplore(await run());
    expect(text).toMatch(/^VIOLATION {2}vmsplice-leak on linux-5\.7: no-leak after 7 step\(s\)/);
    // the steps are numbered as the scenario numbers them, so the message's "step 7" is the listed 7.
    expect(text).toMatch(/P1's write at step 7,/);
    expect(text).toMatch(/^ {2}step 1: the configuration's setup/m);
    expect(text).toMatch(/^ {4}7\. P1: \{ write: mem \}$/m);
  });
});
