import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { roundSize } from '../../../src/fuzz/fuzz.js';
import { cmdsArb, HOST_OPS, materialize, resolveCmds } from '../../../src/fuzz/generate.js';

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

describe('fuzz --threads', () => {
  it('runs commands on a second thread of P0 and on processes, and every scenario resolves', () => {
    // a property: for any commands, the threaded scenario resolves and its thread never exits or is a target
    fc.assert(
      fc.property(cmdsArb({ ops: HOST_OPS, maxSteps: 30 }), (cmds) => {
        const threaded = materialize(cmds, { threads: true });
        const steps = threaded.steps as Record<string, unknown>[];
        expect(steps.some((s) => 'P0' in s && (s.P0 as { thread?: string }).thread === 'P0t1')).toBe(true);
        expect(() => resolveCmds(cmds, 'th', { threads: true })).not.toThrow();
        // no thread exits on its own, and targets name processes
        for (const s of steps) {
          const [actor, body] = Object.entries(s)[0]!;
          if (actor === 'P0t1') expect(body).not.toBe('exit');
          if (typeof body === 'object' && body && 'target' in body) expect((body as { target: string }).target).not.toBe('P0t1');
        }
      }),
      { seed: 2026, numRuns: 200 },
    );
    // and threads do act
    const acted = fc
      .sample(cmdsArb({ ops: HOST_OPS, maxSteps: 30 }), { seed: 7, numRuns: 50 })
      .filter((c) => (materialize(c, { threads: true }).steps as Record<string, unknown>[]).some((s) => 'P0t1' in s));
    expect(acted.length).toBeGreaterThan(25);
  });
});

describe('fuzz --threads in the model: the kernel windows', () => {
  it('stops threads in windows, resumes each before its next step and at the end, and every scenario resolves and runs', async () => {
    const { GEN_OPS } = await import('../../../src/fuzz/generate.js');
    const { runScenario } = await import('../../../src/scenario/run.js');
    const { profileById } = await import('../../../src/profiles/index.js');
    const windows = new Set<string>();
    fc.assert(
      fc.property(cmdsArb({ ops: GEN_OPS, maxSteps: 40 }), (cmds) => {
        const gen = { threads: true, windows: true };
        const steps = materialize(cmds, gen).steps as Record<string, unknown>[];
        let stopped = false;
        for (const s of steps) {
          const [actor, body] = Object.entries(s)[0]!;
          if (actor !== 'P0t1') continue;
          // a stopped thread's next step is its resume
          if (stopped) expect(body).toBe('resume');
          stopped = typeof body === 'object' && body !== null && 'stop' in body;
          if (stopped) windows.add(String((body as { stop: string }).stop));
        }
        expect(stopped).toBe(false);
        // it runs in the model with no cowlab bug
        const r = runScenario(resolveCmds(cmds, 'w', gen), profileById('linux-6.18'), { lenient: true });
        expect(r.violations.filter((v) => v.property === 'model-invariant')).toEqual([]);
      }),
      { seed: 2026, numRuns: 150 },
    );
    expect([...windows].sort()).toEqual(expect.arrayContaining(['copy-present-pte', 'copy-present-page', 'cow-copy', 'swapin']));
  }, 120_000);
});
