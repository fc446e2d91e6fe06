/**
 * Property: on linux-6.18, random operation sequences never violate a
 * property and never break a model invariant.
 */
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { cmdsArb, materialize, scenarioYaml, resolveCmds } from '../../src/fuzz/generate.js';
import { runScenario } from '../../src/scenario/run.js';
import { linux_6_18 } from '../../src/profiles/linux-6.18.js';

describe('linux-6.18 under random operation sequences', () => {
  it('keeps every property and every model invariant', () => {
    fc.assert(
      fc.property(cmdsArb({ maxSteps: 30 }), (cmds) => {
        const res = runScenario(resolveCmds(cmds, 'random'), linux_6_18, { lenient: true });
        if (res.violations.length) {
          const yaml = scenarioYaml(materialize(cmds));
          throw new Error(`${res.violations.map((v) => `step ${v.step}: ${v.property}: ${v.message}`).join('\n')}\n${yaml}`);
        }
      }),
      { numRuns: 400, seed: 20261124 },
    );
  });
});
