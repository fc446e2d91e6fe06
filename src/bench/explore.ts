/**
 * Explorer benchmarks: time to the first counterexample of each shipped
 * configuration, exhausting bounded systems on one and two cores, bytes
 * per visited state; and SPIN 6.5 on cowlab's Promela reference model of
 * the same system, side by side (skipped with the reason when spin or cc is
 * missing).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, copyFileSync, rmSync, existsSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadConfig, overrideConfig, buildSystem } from '../explore/system.js';
import { measureIndependence } from '../explore/independence.js';
import { bfs } from '../explore/bfs.js';
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

/** What SPIN gave on the same bounds, or why it did not run. */
interface SpinRun {
  states?: number;
  transitions?: number;
  seconds?: number;
  mb?: number;
  /** pan was stopped at the time limit */
  timedOut?: boolean;
  skipped?: string;
}

/** SPIN on the repository's bench/spin/cow.pml (pan stopped after `limitS` seconds). */
function spin(nproc: number, npages: number, hc4: boolean, limitS = 600, hashBits = 24): SpinRun {
  const src = join(repoRoot(), 'bench', 'spin', 'cow.pml');
  if (!existsSync(src)) return { skipped: `${src} not found` };
  if (spawnSync('spin', ['-V']).status !== 0) return { skipped: 'spin not installed: apt-get install -y spin' };
  const dir = mkdtempSync(join(tmpdir(), 'cowlab-spin-'));
  try {
    copyFileSync(src, join(dir, 'cow.pml'));
    const a = spawnSync('spin', [`-DNPROC=${nproc}`, `-DNPAGES=${npages}`, '-DRULE_PAGECOUNT', '-a', 'cow.pml'], {
      cwd: dir,
      encoding: 'utf8',
    });
    if (a.status !== 0) return { skipped: `spin -a failed: ${a.stderr.trim()}` };
    // pan's memory bound is 16 GB, as the explorer's
    const c = spawnSync('cc', ['-O2', '-DSAFETY', '-DNOREDUCE', '-DMEMLIM=16000', ...(hc4 ? ['-DHC4'] : []), '-o', 'pan', 'pan.c'], {
      cwd: dir,
      encoding: 'utf8',
    });
    if (c.status !== 0) return { skipped: 'cc failed on pan.c' };
    const t0 = process.hrtime.bigint();
    const p = spawnSync('./pan', ['-m1000000', `-w${hashBits}`], {
      cwd: dir,
      encoding: 'utf8',
      maxBuffer: 16 << 20,
      timeout: limitS * 1000,
      killSignal: 'SIGINT',
    });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const o = p.stdout ?? '';
    const num = (re: RegExp) => {
      const m = re.exec(o)?.[1];
      return m === undefined ? undefined : Number(m);
    };
    const el = num(/elapsed time ([\d.e+]+) seconds/);
    const run: SpinRun = { seconds: el !== undefined ? Math.max(el, 0.01) : wall };
    const states = num(/(\d+) states, stored/);
    const transitions = num(/(\d+) transitions/);
    const mb = num(/([\d.]+)\s+total actual memory usage/);
    if (states !== undefined) run.states = states;
    if (transitions !== undefined) run.transitions = transitions;
    if (mb !== undefined) run.mb = mb;
    if (p.signal) run.timedOut = true;
    return run;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs of each worker count on the bounds also measured on one core: one run's time varies by 5-10% on a shared machine. */
const REPEATS = 3;

/**
 * One worker and two, alternated `n` times (so a drift of the machine falls
 * on both alike); each the run of median time, or the first that failed.
 */
async function alternated(config: string, n: number): Promise<[ExploreReport | { error: string }, ExploreReport | { error: string }]> {
  const runs: (ExploreReport | { error: string })[][] = [[], []];
  for (let i = 0; i < n; i++) for (const w of [1, 2]) runs[w - 1]!.push(await child(config, 'linux-5.9', w, LIMIT_S));
  const median = (rs: (ExploreReport | { error: string })[]) => {
    const bad = rs.find((r) => 'error' in r);
    if (bad) return bad;
    return [...(rs as ExploreReport[])].sort((a, b) => a.seconds - b.seconds)[Math.floor(rs.length / 2)]!;
  };
  return [median(runs[0]!), median(runs[1]!)];
}

/** One search in a child process (`cowlab explore --json`), so its peak RSS is its own; stopped (SIGINT: it reports what it covered) after `limitS`. */
async function child(config: string, kernel: string, workers: number, limitS: number): Promise<ExploreReport | { error: string }> {
  // (spawnSync drops the output of a child it stops at its timeout: the report of an interrupted search is wanted)
  const p = spawn(
    process.execPath,
    [
      join(repoRoot(), 'bin', 'cowlab.js'),
      'explore',
      config,
      '--kernel',
      kernel,
      '-w',
      String(workers),
      '--json',
      '--max-memory',
      '16000',
      '--out',
      join(dirname(config), 'cex.yaml'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => p.kill('SIGINT'), limitS * 1000);
  const code = await new Promise<number | null>((res) => p.on('close', (c) => res(c)));
  clearTimeout(timer);
  try {
    return JSON.parse(stdout) as ExploreReport;
  } catch {
    return { error: `exit ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}` };
  }
}

/** Bounds of the side-by-side table: the SPIN reference system (explore/spin-reference.yaml) resized. */
const BOUNDS: { procs: number; pages: number; bufs: number; oneCore: boolean; hash: number }[] = [
  // pan's hash table: 2^hash slots (its memory figure is mostly that table)
  { procs: 3, pages: 1, bufs: 1, oneCore: true, hash: 20 },
  { procs: 2, pages: 2, bufs: 1, oneCore: true, hash: 22 },
  { procs: 2, pages: 2, bufs: 2, oneCore: false, hash: 22 },
  { procs: 4, pages: 1, bufs: 1, oneCore: false, hash: 25 },
  { procs: 3, pages: 2, bufs: 1, oneCore: false, hash: 26 },
];
/** A search (cowlab or pan) is stopped after this long: the goals ask for 10 minutes. */
const LIMIT_S = 600;

/**
 * cowlab's explorer beside SPIN on the reference system, bound by bound:
 * states, time on one and two cores, peak RSS per distinct state (whole,
 * and above the RSS of a search that does nothing), SPIN's states, time and
 * memory, and the time ratio.
 */
async function sideBySide(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cowlab-bench-'));
  try {
    const base = parse(readFileSync('explore/spin-reference.yaml', 'utf8')) as Record<string, unknown>;
    const cfg = (procs: number, pages: number, bufs: number, depth?: number) => {
      const f = join(dir, `ref-${procs}x${pages}-${bufs}${depth ? `-d${depth}` : ''}.yaml`);
      const { expect: _e, ...rest } = base;
      writeFileSync(
        f,
        stringify({
          ...rest,
          name: `spin-reference-${procs}x${pages}`,
          processes: procs,
          regions: { mem: { pages } },
          pipeBuffers: bufs,
          ...(depth ? { depth } : {}),
        }),
      );
      return f;
    };
    // what a search costs before it holds any state: node, cowlab and one level
    const idle = await child(cfg(3, 1, 1, 1), 'linux-5.9', 1, LIMIT_S);
    const idleMb = 'error' in idle ? 0 : idle.peakRssMb;
    console.log(
      `explore: side by side with SPIN 6.5 on cowlab's Promela model (bench/spin/cow.pml), linux-5.9 against -DRULE_PAGECOUNT, each stopped after ${LIMIT_S} s`,
    );
    console.log(
      `explore: a search that does nothing peaks at ${idleMb.toFixed(0)} MiB (node and cowlab): "above idle" is the peak less that`,
    );
    const head = [
      'bounds',
      'cowlab states',
      'transitions',
      '1 core s',
      '2 cores s',
      '2c speedup',
      'peak RSS MiB',
      'B/state',
      'B/state above idle',
      'SPIN states',
      'SPIN s',
      'SPIN MB',
      'cowlab/SPIN time',
    ];
    const rows: string[][] = [];
    for (const b of BOUNDS) {
      const f = cfg(b.procs, b.pages, b.bufs);
      const [one, two] = b.oneCore ? await alternated(f, REPEATS) : [null, await child(f, 'linux-5.9', 2, LIMIT_S)];
      const sp =
        b.bufs === 1 ? spin(b.procs, b.pages, false, LIMIT_S, b.hash) : { skipped: 'cow.pml holds one pipe buffer per task and page' };
      const ok = (r: typeof two | null): r is ExploreReport => r !== null && !('error' in r);
      const done = (r: ExploreReport) => (r.complete ? '' : ` (${r.stoppedBy})`);
      const ref = ok(two) ? two : ok(one) ? one : null;
      // a ratio only for a search that finished (an interrupted one is not a time to exhaust)
      const secs = ok(one) && one.complete ? one.seconds : ok(two) && two.complete ? two.seconds : NaN;
      rows.push([
        `${b.procs} x ${b.pages}, ${b.bufs} pipe buffer(s)`,
        ref ? `${ref.distinct}${done(ref)}` : (two as { error: string }).error,
        ref ? String(ref.states) : '-',
        ok(one) ? `${one.seconds.toFixed(2)}${done(one)}` : '-',
        ok(two) ? `${two.seconds.toFixed(2)}${done(two)}` : '-',
        ok(one) && ok(two) ? `${(one.seconds / two.seconds).toFixed(2)}x` : '-',
        ref ? ref.peakRssMb.toFixed(0) : '-',
        ref ? ((ref.peakRssMb * 1048576) / ref.distinct).toFixed(0) : '-',
        ref ? (((ref.peakRssMb - idleMb) * 1048576) / ref.distinct).toFixed(0) : '-',
        sp.skipped ? `skipped (${sp.skipped})` : sp.timedOut ? `not exhausted in ${LIMIT_S} s` : String(sp.states),
        sp.seconds !== undefined ? sp.seconds.toFixed(2) : '-',
        sp.mb !== undefined ? String(sp.mb) : '-',
        sp.seconds !== undefined && !sp.timedOut && Number.isFinite(secs) ? `${(secs / sp.seconds).toFixed(1)}x` : '-',
      ]);
    }
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
    console.log(line(head));
    console.log(`|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`);
    for (const r of rows) console.log(line(r));
    console.log(
      `(where cowlab ran on one core too: the medians of ${REPEATS} runs of each, one and two workers alternated, the speedup theirs; cowlab/SPIN time: cowlab on one core where it ran, else on two, over pan on one; the goals: 3 x 1 within 5x on one core; 4 x 1 and 3 x 2 exhausted on 2 cores within 10 minutes and 16 GB; at most 64 B per distinct state; 2 cores 1.8x one)`,
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
    // the race configurations: threads stopped in the kernel's windows
    ['dirty-cow', 'linux-4.8'],
    ['gup-fast-fork', 'linux-5.9'],
    ['collapse-gup-fast', 'linux-5.19'],
    ['uffd-wp-stale-tlb', 'linux-5.9'],
    ['clear-refs-stale-tlb', 'linux-5.9'],
    ['swapin-race', 'linux-6.3'],
    ['fork-tearing', 'linux-6.18'],
    ['dontneed-nested-flush', 'linux-4.8'],
  ] as const) {
    console.log(line(`${f} on ${k} (first counterexample)`, await run(`explore/${f}.yaml`, k, 1)));
  }
  // and exhausted where the race is fixed
  for (const [f, k] of [
    ['dirty-cow', 'linux-6.18'],
    ['gup-fast-fork', 'linux-6.18'],
    ['collapse-gup-fast', 'linux-6.18'],
    ['madv-collapse-gup-fast', 'linux-6.18'],
    ['uffd-wp-stale-tlb', 'linux-6.18'],
    ['clear-refs-stale-tlb', 'linux-5.11'],
    ['swapin-race', 'linux-6.18'],
    ['fork-tearing', 'linux-5.8'],
    ['dontneed-nested-flush', 'linux-6.18'],
  ] as const) {
    console.log(line(`${f} on ${k} (exhausted: no violation)`, await run(`explore/${f}.yaml`, k, 1)));
  }
  await sideBySide();
  console.log(`spin: cow.pml NPROC=3 NPAGES=1 page_count with hash compaction: ${JSON.stringify(spin(3, 1, true))}`);
}

/**
 * Partial-order reduction, measured: of the action pairs enabled in one
 * state (first 300 states of each shipped configuration's search, on the
 * kernel it names), how many commute and how many are independent by
 * footprints (src/explore/independence.ts).
 */
export async function independenceBench(maxStates = 300): Promise<void> {
  console.log(`por: action pairs enabled in one state, first ${maxStates} states of each search`);
  console.log('por: configuration          kernel        states  pairs   commute       independent   (footprints)');
  const pct = (n: number, of: number) => `${n} (${of ? ((100 * n) / of).toFixed(0) : '0'}%)`.padEnd(13);
  for (const f of readdirSync(join(repoRoot(), 'explore'))
    .filter((x) => x.endsWith('.yaml'))
    .sort()) {
    const config = loadConfig(join(repoRoot(), 'explore', f));
    const kernel = config.kernel ?? 'linux-6.18';
    const t0 = Date.now();
    const r = measureIndependence(buildSystem(config, profileById(kernel)), maxStates);
    console.log(
      `por: ${config.name.padEnd(22)} ${kernel.padEnd(13)} ${String(r.states).padStart(6)}  ${String(r.pairs).padEnd(7)} ` +
        `${pct(r.commute, r.pairs)} ${pct(r.independent, r.pairs)}${r.unsound ? ` UNSOUND ${r.unsound}` : ''} ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  await sleepSetBench();
}

/**
 * Sleep sets (`explore --por`), with and without, on every shipped
 * configuration on the kernel it names (one worker): the search as shipped
 * (process symmetry by signature), the search sleep sets reduce (tied
 * processes ordered exactly), and that search with sleep sets. Same states and counterexample; fewer
 * transitions; the time is what the footprints cost.
 */
async function sleepSetBench(): Promise<void> {
  console.log('por: sleep sets, one worker; distinct states / transitions / seconds');
  console.log(
    'por: configuration          kernel       | as shipped               | exact symmetry           | exact symmetry + sleep sets (not taken)',
  );
  const col = (r: { distinct: number; states: number; seconds: number }) =>
    `${String(r.distinct).padStart(7)} ${String(r.states).padStart(8)} ${r.seconds.toFixed(2).padStart(6)} s`;
  for (const f of readdirSync(join(repoRoot(), 'explore'))
    .filter((x) => x.endsWith('.yaml'))
    .sort()) {
    const config = loadConfig(join(repoRoot(), 'explore', f));
    const kernel = config.kernel ?? 'linux-6.18';
    const sys = buildSystem(config, profileById(kernel));
    const lim = { depth: config.depth, workers: 1, properties: config.properties, maxStates: 400_000 };
    const shipped = await bfs(sys, lim);
    const exact = await bfs(sys, { ...lim, symmetry: 'exact' });
    const por = await bfs(sys, { ...lim, por: true });
    const same = JSON.stringify(por.levels) === JSON.stringify(exact.levels) && por.trace.join() === exact.trace.join();
    console.log(
      `por: ${config.name.padEnd(22)} ${kernel.padEnd(12)} | ${col(shipped)} | ${col(exact)} | ${col(por)} (${por.pruned} ${exact.states ? ((100 * por.pruned) / exact.states).toFixed(0) : 0}%)` +
        `${exact.complete ? '' : ' [max-states]'}${same ? '' : ' DIFFERENT'}`,
    );
  }
}
