/**
 * `npm run bench`: speed and memory, measured (not asserted). The parts:
 * model (steps per second of long random scenarios on linux-6.18, every
 * property and invariant checked after every step), matrix, explore (beside
 * SPIN where it is installed), diff (model and executor on this kernel, as
 * root), qemu (guest kernels) and view (the browser viewer: bundle size,
 * time to show the largest shipped scenario) and por (what partial-order
 * reduction could save on the shipped configurations). `--only model,matrix,explore,por` measures
 * the model alone (`npm run bench:model`), without the real kernel.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { cmdsArb, materialize, scenarioYaml } from '../fuzz/generate.js';
import { parseScenario } from '../scenario/parse.js';
import { resolveScenario } from '../scenario/resolve.js';
import { runScenario } from '../scenario/run.js';
import { linux_6_18 } from '../profiles/linux-6.18.js';
import { diffBench } from './diff.js';
import { qemuBench } from './qemu.js';
import { exploreBench, independenceBench } from './explore.js';
import { matrixBench } from './matrix.js';
import { viewBench } from './view.js';

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

const PARTS = {
  model: () => modelSteps(),
  matrix: () => matrixBench(),
  explore: () => exploreBench(),
  por: () => independenceBench(),
  diff: () => diffBench(),
  qemu: () => qemuBench(),
  view: () => viewBench(),
} as const;
type Part = keyof typeof PARTS;

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const wanted = (values.only ?? Object.keys(PARTS).join(',')).split(',').filter(Boolean);
const unknown = wanted.filter((w) => !(w in PARTS));
if (unknown.length) {
  console.error(`bench: unknown part ${unknown.join(', ')}; the parts are ${Object.keys(PARTS).join(', ')}`);
  process.exit(2);
}
for (const part of wanted as Part[]) await PARTS[part]();
