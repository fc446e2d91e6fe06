import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { roundSize } from '../../../src/fuzz/fuzz.js';
import { cmdsArb, HOST_OPS } from '../../../src/fuzz/generate.js';

describe('fuzz --diff rounds', () => {
  it('hold fewer scenarios when they are long (their observations are held until compared)', () => {
    expect(roundSize(64, 24, 2)).toBe(64);
    expect(roundSize(64, 8, 2)).toBe(64);
    expect(roundSize(64, 240, 2)).toBe(6);
    expect(roundSize(64, 4096, 2)).toBe(2);
    expect(roundSize(250, 4096, 1)).toBe(1);
  });
});

describe('fuzz --diff --from', () => {
  it('runs the same scenario i whichever shard runs it (the seeded sequence has stable prefixes)', () => {
    const arb = cmdsArb({ ops: HOST_OPS, maxSteps: 40 });
    // a shard --from 7 --count 5 draws 12 and drops 7: its scenarios must be those a run of 12 ran
    const whole = fc.sample(arb, { seed: 6110, numRuns: 12 });
    const prefix = fc.sample(arb, { seed: 6110, numRuns: 7 });
    expect(JSON.stringify(prefix)).toBe(JSON.stringify(whole.slice(0, 7)));
    expect(new Set(whole.map((c) => JSON.stringify(c))).size).toBeGreaterThan(1);
  });
});
