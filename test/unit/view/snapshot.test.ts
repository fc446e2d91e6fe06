import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { loadScenario } from '../../../src/scenario/load.js';
import { scenariosFromText } from '../../../src/scenario/text.js';
import { runScenario, initialState } from '../../../src/scenario/run.js';
import { describeState } from '../../../src/scenario/describe.js';
import { profileById } from '../../../src/profiles/index.js';
import { profileEnv } from '../../../src/kernel/ctx.js';
import { withEnv } from '../../../src/profiles/env.js';
import { viewRun, firstDifference, StateLog } from '../../../src/view/snapshot.js';
import { cmdsArb, materialize, scenarioYaml } from '../../../src/fuzz/generate.js';

const CVE = 'scenarios/cve/cve-2020-29374-vmsplice-child.yaml';

describe('viewRun', () => {
  it('gives the CVE on linux-5.7 step by step: the leak at step 8, the pipe holding the shared frame, what changed', () => {
    const v = viewRun(loadScenario(CVE), profileById('linux-5.7'));
    expect(v.result).toBe('XFAIL');
    expect(v.steps.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(v.firstBad).toBe(8);
    expect(v.steps[8]!.violations.map((x) => x.property)).toEqual(['no-leak']);
    const st = v.state(5);
    expect(st.tasks.map((t) => t.name)).toEqual(['parent', 'child']);
    // both map one frame read-only, and the pipe holds it
    const ptes = st.tasks.flatMap((t) => t.ptes);
    expect(new Set(ptes.map((p) => p.pfn)).size).toBe(1);
    expect(ptes.every((p) => p.kind === 'pte' && p.bits.startsWith('R'))).toBe(true);
    expect(st.holders).toEqual([{ key: 'pipe 0', label: 'pipe p', refs: 1, ranges: [[ptes[0]!.pfn!, ptes[0]!.pfn!]] }]);
    expect(Object.values(st.changed)).toContain('changed');
    // the fork (step 3) made the child's page table: new there, unchanged at step 4
    expect(v.state(3).tasks[1]!.ptes.every((p) => p.changed)).toBe(true);
    expect(v.state(4).tasks[1]!.ptes.some((p) => p.changed)).toBe(false);
    // the picture is the --trace text's
    const frame = st.frames.find((f) => f.pfn === ptes[0]!.pfn)!;
    expect(frame.parts.join('; ')).toMatch(/held by pipe p$/);
  });

  it('finds the first step where two kernels differ, and none where they agree', () => {
    const r = loadScenario(CVE);
    const old = viewRun(r, profileById('linux-5.7'));
    const now = viewRun(r, profileById('linux-6.18'));
    const at = firstDifference(old, now);
    expect(at).not.toBeNull();
    // before it, same pictures; at it, different ones
    for (let i = 0; i < at!; i++) expect(JSON.stringify(old.state(i).frames)).toBe(JSON.stringify(now.state(i).frames));
    expect(JSON.stringify([old.steps[at!], old.state(at!).frames])).not.toBe(JSON.stringify([now.steps[at!], now.state(at!).frames]));
    expect(firstDifference(now, viewRun(r, profileById('linux-6.15')))).toBeNull();
  });

  it('draws a 512-page file as one box of frames alike and a THP as one folio', () => {
    const v = viewRun(loadScenario('scenarios/cow-selftest/anon/08-iouring-fork.yaml#hugetlb-2m'), profileById('linux-6.18'));
    const st = v.state(v.steps.length - 1);
    const files = st.frames.filter((f) => f.parts[0]!.includes('frames alike'));
    expect(files.map((f) => f.nr)).toEqual([512]);
    expect(files[0]!.key).toMatch(/^pfn#\d+\.\.\d+$/);
    expect(st.frames.find((f) => f.key.startsWith('folio'))?.nr).toBe(512);
    expect(st.frames.length).toBeLessThan(10);
  });

  it('says SKIP with the reason where the kernel lacks what the scenario needs', () => {
    const v = viewRun(loadScenario('scenarios/history/pin-clear-refs.yaml'), profileById('linux-6.18'));
    expect(v.result).toBe('SKIP');
    expect(v.steps).toEqual([]);
    expect(v.message).toMatch(/soft-dirty|SOFT_DIRTY/);
  });
});

describe('StateLog', () => {
  it('replays every state of random scenarios as the run made it, forward and back', () => {
    const prof = profileById('linux-6.18');
    fc.assert(
      fc.property(cmdsArb({ maxSteps: 30 }), fc.array(fc.nat(), { maxLength: 6 }), (cmds, order) => {
        const r = scenariosFromText(scenarioYaml(materialize(cmds, {}, 'x')), 'x.yaml')[0]!;
        const log = new StateLog(initialState(r, withEnv(profileEnv(prof), r.sc.env)));
        const kept = runScenario(r, prof, { lenient: true, keepStates: true, onStep: (rec) => log.push(rec.state) });
        const want = [
          describeState(r, initialState(r, withEnv(profileEnv(prof), r.sc.env))),
          ...kept.records.map((x) => describeState(r, x.state)),
        ];
        expect(log.length).toBe(want.length);
        for (const i of [...order.map((o) => o % want.length), want.length - 1, 0])
          expect([...describeState(r, log.at(i))]).toEqual([...want[i]!]);
      }),
      { numRuns: 40, seed: 16 },
    );
  });
});
