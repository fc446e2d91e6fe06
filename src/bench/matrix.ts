/**
 * Large-folio benchmarks, each in a child process so that its peak RSS is
 * its own: the full matrix (every scenario and cow.c instance on every
 * profile, as `cowlab matrix` runs it), and the model's fault rate on the
 * PMD-mapped THP scenarios.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadScenarios } from '../scenario/load.js';
import { buildMatrix } from '../matrix/matrix.js';
import { PROFILES, MATRIX_PROFILES, profileById } from '../profiles/index.js';
import { runScenario } from '../scenario/run.js';
import { peakRssMb } from '../util/rss.js';

/** In the child: one measurement, printed as one line of JSON. */
function measure(what: string): void {
  const t0 = process.hrtime.bigint();
  const all = loadScenarios(['scenarios']);
  if (what === 'matrix') {
    const m = buildMatrix(all, MATRIX_PROFILES, PROFILES);
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    const cells = m.scenarios.length * m.kernels.length;
    const undocumented = Object.values(m.totals).reduce((a, t) => a + t.unexpected, 0);
    console.log(JSON.stringify({ sec, scenarios: m.scenarios.length, kernels: m.kernels.length, cells, undocumented }));
  } else {
    // PMD-mapped THPs: the cow.c instances on a PMD THP and the THP history scenarios
    const pmd = all.filter((r) => /@(pmd|pmd-swap)$/.test(r.sc.name) || r.sc.file.includes('/thp/'));
    const prof = profileById('linux-6.18');
    for (const r of pmd.slice(0, 5)) runScenario(r, prof, { lenient: true });
    const t1 = process.hrtime.bigint();
    let faults = 0;
    let steps = 0;
    const rounds = 5;
    for (let i = 0; i < rounds; i++)
      for (const r of pmd) {
        const x = runScenario(r, prof, { lenient: true });
        steps += x.records.length;
        for (const rec of x.records) faults += rec.faults;
      }
    const sec = Number(process.hrtime.bigint() - t1) / 1e9;
    console.log(JSON.stringify({ sec, scenarios: pmd.length * rounds, steps, faults }));
  }
  const rss = peakRssMb();
  console.log(JSON.stringify({ rssMiB: rss }));
}

/** In the parent: runs the measurements and prints them. */
export function matrixBench(): void {
  const self = fileURLToPath(import.meta.url);
  const child = (what: string) => {
    const r = spawnSync(process.execPath, [self, what], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`bench ${what} failed: ${r.stderr}`);
    const [a, b] = r.stdout
      .trim()
      .split('\n')
      .slice(-2)
      .map((l) => JSON.parse(l) as Record<string, number>);
    return { ...a!, ...b! };
  };
  const m = child('matrix');
  console.log(
    `matrix: ${m.scenarios} scenarios x ${m.kernels} profiles = ${m.cells} cells in ${m.sec!.toFixed(1)} s on one core ` +
      `(${(m.cells! / m.sec!).toFixed(0)} cells/s), ${m.undocumented} undocumented, peak RSS ${m.rssMiB!.toFixed(0)} MiB`,
  );
  const f = child('pmd');
  console.log(
    `model on PMD THP scenarios (linux-6.18): ${f.faults} faults, ${f.steps} steps in ${f.scenarios} runs, ${f.sec!.toFixed(2)} s: ` +
      `${(f.faults! / f.sec!).toFixed(0)} faults/s, ${(f.steps! / f.sec!).toFixed(0)} steps/s, peak RSS ${f.rssMiB!.toFixed(0)} MiB`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2]) measure(process.argv[2]);
