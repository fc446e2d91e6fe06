/**
 * Text and JSON renderings of run results (one result model, several
 * reporters).
 */
import { code_text } from '../model/content.js';
import type { RunResult } from '../scenario/run.js';
import type { ExploreReport } from '../explore/explore.js';
import type { Resolved } from '../scenario/resolve.js';
import { describeState, stepLine } from '../scenario/describe.js';
import { errnoName } from '../kernel/errno.js';
import type { Cell, KselftestResult } from '../matrix/matrix.js';

/** The JSON object for one scenario run (stable field names, documented in docs/cli.md). */
export function runJson(r: Resolved, res: RunResult): Record<string, unknown> {
  const o: Record<string, unknown> = {
    scenario: res.scenario,
    file: res.file,
    kernel: res.kernel,
    verdict: res.verdict,
    violations: res.violations.map((v) => ({ property: v.property, step: v.step, since: v.since, message: v.message })),
    expectations: res.failures.map((f) => ({ step: f.step, message: f.message })),
    metrics: res.metrics,
  };
  if (r.sc.selftest) {
    o.selftestCase = r.sc.selftest.case;
    o.backing = r.sc.selftest.backing;
  }
  return o;
}

/** One line per scenario with its kselftest word, plus its problems and, for an expected failure, why it is documented. */
export function runText(r: Resolved, kernel: string, res: RunResult | null, cell: Cell, word: KselftestResult): string {
  const lines = [`${word.padEnd(5)} ${r.sc.name}  (${r.sc.file}, ${kernel})`];
  if (!res) {
    lines.push(`      ${cell.message ?? ''}`);
    return lines.join('\n');
  }
  for (const v of res.violations)
    lines.push(`      step ${v.step}: ${v.property}: ${v.message}${v.since !== v.step ? ` (since step ${v.since})` : ''}`);
  for (const f of res.failures) lines.push(`      step ${f.step}: expectation: ${f.message}`);
  if (word === 'XFAIL' && cell.because) lines.push(`      documented: ${cell.because}`);
  if (word === 'XPASS') lines.push(`      documented to fail${cell.because ? `: ${cell.because}` : ''}`);
  if (cell.unexpected && cell.message && (word === 'FAIL' || word === 'XPASS')) {
    if (cell.verdict !== 'fail') lines.push(`      ${cell.message}`);
    else if (cell.expected === 'fail' && cell.because) lines.push(`      documented to fail otherwise: ${cell.because}`);
  }
  return lines.join('\n');
}

/** The --trace view: each step's kernel path, result, and the state with changes marked. */
/** The legend --trace prints first (docs/cli.md has the same). */
export const TRACE_LEGEND = [
  'legend: pfn#N = a physical frame (a page of memory); a region name with [i] (mem[0]) = a virtual page of a process',
  "  ref = page_count, map = mapcount, pin = folio pin count, entire/large = a large folio's entire and total mapcounts,",
  '  mm-ids P:n = the 6.15+ MM-ID slots; flags: anon, PAE = PageAnonExclusive, lru, active, referenced, dirty, locked, ksm,',
  '  swapcache:S, pagecache:FILE[i]; a mapping "P0:mem[0] WD" = PTE writable (W) or read-only (R), D = dirty, uffd-wp = marked;',
  '  data = the step whose write the page holds (zero: zero-filled; mixed bytes (hash): several writes, some smaller than a page); + new, * changed (was ...), - gone; !! a violation or failed expectation',
];

export function traceText(r: Resolved, res: RunResult): string {
  const out: string[] = [...TRACE_LEGEND];
  let prev = new Map<string, string>();
  res.records.forEach((rec) => {
    const ret = rec.result.ret < 0 ? errnoName(rec.result.ret) : String(rec.result.ret);
    const extra = [
      `ret ${ret}`,
      `faults ${rec.faults}`,
      rec.uffdFaults ? `uffd-wp faults ${rec.uffdFaults}` : '',
      rec.result.signal ? `signal ${rec.result.signal}` : '',
      rec.sees.length ? `read ${rec.sees.map((x) => code_text(x)).join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    out.push(`step ${rec.index}  ${stepLine(r, rec.index - 1)}   [${extra}]`);
    if (rec.waited) out.push(`    (waited: ${rec.waited.why}; ran after step ${rec.waited.after})`);
    for (const p of rec.path) out.push(`    ${p.fn}${p.note ? `: ${p.note}` : ''}`);
    const cur = describeState(r, rec.state);
    for (const [k, v] of cur) {
      const old = prev.get(k);
      if (old === undefined) out.push(`  + ${k}: ${v}`);
      else if (old !== v) out.push(`  * ${k}: ${v}\n      (was ${old})`);
      else out.push(`    ${k}: ${v}`);
    }
    for (const k of prev.keys()) if (!cur.has(k)) out.push(`  - ${k}: gone`);
    for (const v of rec.violations) out.push(`  !! ${v.property}: ${v.message}`);
    for (const f of rec.failures) out.push(`  !! expectation: ${f.message}`);
    prev = cur;
  });
  return out.join('\n');
}

/** The explorer's report in words. */
export function formatExplore(r: ExploreReport): string {
  const lines: string[] = [];
  const where = `${r.config} on ${r.kernel}`;
  const search =
    r.mode === 'swarm'
      ? `${r.walks} random walk(s), seed ${r.seed}, ${r.states} steps in ${r.seconds.toFixed(2)} s`
      : `${r.distinct} distinct states, ${r.states} transitions${r.pruned !== null ? ` (${r.pruned} not taken: asleep; exact process symmetry)` : ''}, depth ${r.depth}, ${r.seconds.toFixed(2)} s (${Math.round(r.statesPerSecond)} distinct/s, ${r.workers} worker(s)${r.workersFrom !== null && r.workersFrom > 0 ? ` (the other threads from level ${r.workersFrom})` : ''}, ${r.bytesPerState.toFixed(1)} bytes per visited state in the tables, ${(r.frontierBytes / 1048576).toFixed(1)} MiB of levels at most${r.frontierDiskBytes > 0 ? ` in memory, ${(r.frontierDiskBytes / 1048576).toFixed(1)} MiB on disk` : ''}; peak RSS ${Math.round(r.peakRssMb)} MiB, ${Math.round((r.peakRssMb * 1048576) / Math.max(1, r.distinct))} bytes per distinct state)`;
  if (r.verdict === 'violation') {
    lines.push(`VIOLATION  ${where}: ${r.property} after ${r.depth} step(s)`);
    lines.push(`  ${r.message}`);
    lines.push(`  ${search}`);
    // numbered as the scenario file and `cowlab run` number them: after the setup's steps
    if (r.setupSteps)
      lines.push(`  ${r.setupSteps === 1 ? 'step 1' : `steps 1-${r.setupSteps}`}: the configuration's setup (mmaps, setup:)`);
    r.trace.forEach((t, i) => lines.push(`  ${String(r.setupSteps + i + 1).padStart(3)}. ${t}`));
    lines.push(
      `  scenario: ${r.scenarioFile} (${r.steps} step(s) after the setup${r.replayed ? '; cowlab run reproduces it' : '; cowlab run does NOT reproduce it: a cowlab bug'})`,
    );
  } else if (r.mode === 'swarm' && r.complete) {
    // walks sample the space: finding nothing shows nothing about the states they did not reach
    lines.push(
      `NOT FOUND  ${where}: no violation in ${r.walks} random walk(s) of up to ${r.depth} step(s); walks sample the space, they do not exhaust it (a search without --swarm to depth ${r.depth} does)`,
    );
    lines.push(`  ${search}`);
  } else if (r.mode === 'bfs' && r.complete && r.levels.at(-1) === 0) {
    // the levels ran out before the bound: every reachable state was searched
    lines.push(
      `NONE  ${where}: no violation in any reachable state: the search exhausted them (the deepest at depth ${r.levels.length - 2}) before the bound of ${r.depthBound}`,
    );
    lines.push(`  ${search}`);
  } else {
    lines.push(
      `${r.complete ? 'NONE' : 'STOPPED'}  ${where}: ${r.complete ? `no violation within depth ${r.depth}` : `stopped (${r.stoppedBy === 'memory' ? `resident memory passed the limit of ${r.memoryLimitMb} MiB` : r.stoppedBy}) before the bounds were exhausted`}`,
    );
    lines.push(`  ${search}`);
  }
  if (r.mode === 'bfs') lines.push(`  fingerprint collision probability (TLC's estimate): ${r.collisionProbability.toExponential(2)}`);
  return lines.join('\n');
}
