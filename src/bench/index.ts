/**
 * `npm run bench`: model speed, measured (not asserted). Prints steps per
 * second of the model over long random operation sequences on linux-6.18,
 * with every property and model invariant checked after every step.
 */
import fc from 'fast-check';
import { cmdsArb, materialize, scenarioYaml } from '../fuzz/generate.js';
import { parseScenario } from '../scenario/parse.js';
import { resolveScenario } from '../scenario/resolve.js';
import { runScenario } from '../scenario/run.js';
import { linux_6_18 } from '../profiles/linux-6.18.js';
import { diffBench } from './diff.js';
import { qemuBench } from './qemu.js';
import { exploreBench } from './explore.js';
import { matrixBench } from './matrix.js';

function modelSteps(): void {
  const seed = 42;
  const scenarios = fc
    .sample(cmdsArb({ maxSteps: 400 }), { seed, numRuns: 200 })
    .map((c, i) => resolveScenario(parseScenario(scenarioYaml(materialize(c, {}, `bench-${i}`)), `bench-${i}.yaml`)));
  const steps = scenarios.reduce((a, r) => a + r.steps.length, 0);
  // warm up
  for (const r of scenarios.slice(0, 20)) runScenario(r, linux_6_18, { lenient: true });
  const t0 = process.hrtime.bigint();
  let violations = 0;
  for (const r of scenarios) violations += runScenario(r, linux_6_18, { lenient: true }).violations.length;
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`model: ${steps} steps in ${scenarios.length} random scenarios (seed ${seed}), every property checked after every step`);
  console.log(`model: ${(steps / sec).toFixed(0)} steps/s (${sec.toFixed(2)} s, ${violations} violations)`);
}

modelSteps();
matrixBench();
await exploreBench();
await diffBench();
await qemuBench();
