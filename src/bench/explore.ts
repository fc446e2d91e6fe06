/**
 * Explorer benchmarks: time to the first counterexample of each shipped
 * configuration, exhausting bounded systems on one and two cores, bytes
 * per visited state; and SPIN 6.5 on cowlab's Promela reference model of
 * the same system, side by side (skipped with the reason when spin or cc is
 * missing).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, copyFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, overrideConfig } from '../explore/system.js';
import { explore, type ExploreReport } from '../explore/explore.js';
import { profileById } from '../profiles/index.js';
import { repoRoot } from '../executor/build.js';

async function run(file: string, kernel: string, workers: number, over: { processes?: string } = {}): Promise<ExploreReport> {
  const dir = mkdtempSync(join(tmpdir(), 'cowlab-bench-'));
  try {
    const config = overrideConfig(loadConfig(file), over);
    return await explore({ config, profile: profileById(kernel), profileSource: { builtin: kernel }, workers, out: join(dir, 'cex.yaml') });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function line(label: string, r: ExploreReport): string {
  const mem = (process.memoryUsage().rss / 1048576).toFixed(0);
  return (
    `explore: ${label}: ${r.verdict === 'violation' ? `${r.property} at depth ${r.depth}` : r.complete ? 'exhausted' : `stopped (${r.stoppedBy})`}, ` +
    `${r.distinct} distinct states, ${r.states} transitions, ${r.seconds.toFixed(2)} s, ${Math.round(r.distinct / Math.max(r.seconds, 1e-3))} distinct/s, ` +
    `${Math.round(r.states / Math.max(r.seconds, 1e-3))} transitions/s, ${r.bytesPerState.toFixed(1)} bytes per visited state, rss ${mem} MiB`
  );
}

/** SPIN on the repository's bench/spin/cow.pml: states, transitions, seconds, memory (or why not). */
function spin(nproc: number, npages: number, hc4: boolean): string {
  const src = join(repoRoot(), 'bench', 'spin', 'cow.pml');
  if (!existsSync(src)) return `skipped (${src} not found)`;
  if (spawnSync('spin', ['-V']).status !== 0) return 'skipped (spin not installed: apt-get install -y spin)';
  const dir = mkdtempSync(join(tmpdir(), 'cowlab-spin-'));
  try {
    copyFileSync(src, join(dir, 'cow.pml'));
    const a = spawnSync('spin', [`-DNPROC=${nproc}`, `-DNPAGES=${npages}`, '-DRULE_PAGECOUNT', '-a', 'cow.pml'], {
      cwd: dir,
      encoding: 'utf8',
    });
    if (a.status !== 0) return `skipped (spin -a failed: ${a.stderr.trim()})`;
    const c = spawnSync('cc', ['-O2', '-DSAFETY', '-DNOREDUCE', ...(hc4 ? ['-DHC4'] : []), '-o', 'pan', 'pan.c'], {
      cwd: dir,
      encoding: 'utf8',
    });
    if (c.status !== 0) return 'skipped (cc failed on pan.c)';
    const t0 = process.hrtime.bigint();
    const p = spawnSync('./pan', ['-m1000000', '-w24'], { cwd: dir, encoding: 'utf8', maxBuffer: 16 << 20 });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const o = p.stdout;
    const stored = /(\d+) states, stored/.exec(o)?.[1];
    const trans = /(\d+) transitions/.exec(o)?.[1];
    const el = /elapsed time ([\d.e+]+) seconds/.exec(o)?.[1];
    const mem = /([\d.]+)\s+total actual memory usage/.exec(o)?.[1];
    const sec = el !== undefined ? Math.max(Number(el), 0.01) : wall;
    return (
      `${stored} states, ${trans} transitions, ${sec.toFixed(2)} s search (${wall.toFixed(2)} s with pan's start), ` +
      `${Math.round(Number(stored) / sec)} states/s, ${mem} MB${hc4 ? ' (hash compaction)' : ' (full storage)'}`
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function exploreBench(): Promise<void> {
  // time to the first (shortest) counterexample
  for (const [f, k] of [
    ['vmsplice-leak', 'linux-5.7'],
    ['vmsplice-swap-leak', 'linux-5.9'],
    ['pin-clear-refs', 'linux-5.9'],
    ['ro-pin', 'linux-5.9'],
  ] as const) {
    console.log(line(`${f} on ${k} (first counterexample)`, await run(`explore/${f}.yaml`, k, 1)));
  }
  // exhausting bounded systems, one and two cores
  for (const w of [1, 2])
    console.log(line(`vmsplice-leak on linux-6.18 (exhaust, ${w} core(s))`, await run('explore/vmsplice-leak.yaml', 'linux-6.18', w)));
  for (const w of [1, 2]) {
    console.log(
      line(
        `spin-reference, 3 processes x 1 page, on linux-5.9 (exhaust, ${w} core(s))`,
        await run('explore/spin-reference.yaml', 'linux-5.9', w, { processes: '3' }),
      ),
    );
  }
  console.log(`spin: cow.pml NPROC=3 NPAGES=1 page_count: ${spin(3, 1, false)}`);
  console.log(`spin: cow.pml NPROC=3 NPAGES=1 page_count: ${spin(3, 1, true)}`);
}
