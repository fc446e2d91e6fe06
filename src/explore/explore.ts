/**
 * `cowlab explore`: search a bounded configuration on a profile, and turn
 * a counterexample into a scenario file that `cowlab run` and `cowlab diff`
 * accept (replayed to check it, optionally shrunk to a 1-minimal one).
 */
import { thread_stopped } from '../model/threads.js';
import { THOP_NONE } from '../model/layout.js';
import { writeFileAtomic } from '../util/files.js';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Profile } from '../profiles/types.js';
import type { PropertyName, Violation } from '../properties/monitor.js';
import { parseScenario } from '../scenario/parse.js';
import { resolveScenario } from '../scenario/resolve.js';
import { runScenario } from '../scenario/run.js';
import { scenarioYaml } from '../fuzz/generate.js';
import { InputError } from '../scenario/errors.js';
import { buildSystem, traceScenario, type ExploreConfig, type ExploreSystem } from './system.js';
import { Expander } from './expand.js';
import { bfs, type Progress, type SearchResult, type WorkerInit } from './bfs.js';
import { swarm, SWARM_BATCH, type SwarmResult } from './swarm.js';
import { peakRssMb } from '../util/rss.js';
import { shardRange, type Shard } from '../util/shard.js';

export interface ExploreOptions {
  config: ExploreConfig;
  profile: Profile;
  /** how workers get the profile: a built-in id or the module file */
  profileSource: WorkerInit['profile'];
  depth?: number;
  workers: number;
  /** start the breadth-first search once the worker threads are ready (SearchLimits.waitForWorkers) */
  waitForWorkers?: boolean;
  properties?: PropertyName[];
  maxStates?: number;
  maxMemoryMb?: number;
  /** the BFS levels' memory budget (MiB) and where blocks past it go (an unlinked file in this directory) */
  levelMemoryMb?: number;
  spillDir?: string;
  /** partial-order reduction by sleep sets (breadth-first search only): the same states and counterexample, fewer transitions */
  por?: boolean;
  /** random walks; `shard`: only its part of the walks (batches kept whole) */
  swarm?: { seed: number; walks: number; shard?: Shard };
  shrink?: boolean;
  /** where the counterexample goes (default explore-findings/<config>-<kernel>.yaml) */
  out?: string;
  stop?: { requested: boolean };
  onProgress?: (p: Progress) => void;
  onSwarmProgress?: (walks: number, steps: number) => void;
}

export interface ExploreReport {
  config: string;
  kernel: string;
  mode: 'bfs' | 'swarm';
  verdict: 'violation' | 'none';
  complete: boolean;
  stoppedBy: SearchResult['stoppedBy'];
  property: string | null;
  message: string | null;
  /** length of the counterexample (actions after the setup), or the depth searched */
  depth: number;
  states: number;
  distinct: number;
  /** with partial-order reduction (`por`): transitions the sleep sets did not take; null without */
  pruned: number | null;
  seconds: number;
  statesPerSecond: number;
  collisionProbability: number;
  bytesPerState: number;
  /** the resident memory limit the search ran under (MiB), null for swarm */
  memoryLimitMb: number | null;
  /** peak resident memory of the process (MiB): what the search cost */
  peakRssMb: number;
  maxQueue: number;
  /** most memory the BFS levels held at once (encoded states), bytes */
  frontierBytes: number;
  /** most bytes of the BFS levels in the spill file at once (past --level-memory) */
  frontierDiskBytes: number;
  levels: number[];
  /** the depth bound searched under (a BFS that runs out of states stops before it) */
  depthBound: number;
  /** steps of the configuration's setup (mmaps, setup:) before the actions: the counterexample's steps are numbered after them, as `cowlab run` numbers them */
  setupSteps: number;
  workers: number;
  /** the first BFS level the worker threads (workers past the first) helped expand: they start while the search does; null when none did */
  workersFrom: number | null;
  seed: number | null;
  walks: number | null;
  /** a swarm shard: its part of the walks, [from, to) */
  shard?: { index: number; count: number; from: number; to: number };
  scenarioFile: string | null;
  /** the counterexample replayed by `cowlab run` gives the same property */
  replayed: boolean | null;
  /** steps of the written scenario after the setup (after shrinking, if asked) */
  steps: number | null;
  trace: string[];
}

/** Runs one exploration. */
export async function explore(o: ExploreOptions): Promise<ExploreReport> {
  const sys = buildSystem(o.config, o.profile);
  const properties = o.properties ?? o.config.properties;
  const depth = o.depth ?? (o.swarm ? (o.config.swarm.depth ?? o.config.depth) : o.config.depth);
  const init: WorkerInit = { config: o.config, profile: o.profileSource, properties };
  const base = {
    config: o.config.name, kernel: o.profile.id, workers: o.workers, seed: o.swarm?.seed ?? null, walks: null as number | null,
  };
  let trace: number[] = [];
  let violation: Violation | null = null;
  let res: SearchResult | null = null;
  let sw: SwarmResult | null = null;
  const range = o.swarm ? shardRange(o.swarm.shard, 0, o.swarm.walks, SWARM_BATCH) : null;
  if (o.swarm) {
    sw = await swarm(sys, { seed: o.swarm.seed, walks: range!.hi - range!.lo, from: range!.lo, depth, workers: o.workers, init, stop: o.stop, onProgress: o.onSwarmProgress }, properties);
    if (sw.found) {
      trace = sw.found.trace;
      violation = sw.found.violation;
    }
  } else {
    res = await bfs(sys, { depth, workers: o.workers, properties, maxStates: o.maxStates, maxMemoryMb: o.maxMemoryMb, levelMemoryMb: o.levelMemoryMb, spillDir: o.spillDir, por: o.por, stop: o.stop, onProgress: o.onProgress, waitForWorkers: o.waitForWorkers }, init);
    trace = res.trace;
    violation = res.violation;
  }
  const report: ExploreReport = {
    ...base,
    mode: o.swarm ? 'swarm' : 'bfs',
    verdict: violation ? 'violation' : 'none',
    complete: res ? res.complete : sw!.walks === range!.hi - range!.lo,
    stoppedBy: res ? res.stoppedBy : sw!.walks < range!.hi - range!.lo && !sw!.found ? 'interrupted' : null,
    property: violation?.property ?? null,
    message: violation?.message ?? null,
    depth: violation ? trace.length : res ? res.depth : depth,
    states: res ? res.states : sw!.steps,
    distinct: res ? res.distinct : 0,
    pruned: res && o.por ? res.pruned : null,
    seconds: res ? res.seconds : sw!.seconds,
    statesPerSecond: 0,
    collisionProbability: res ? res.collisionProbability : 0,
    bytesPerState: res ? res.bytesPerState : 0,
    memoryLimitMb: res ? (o.maxMemoryMb ?? null) : null,
    peakRssMb: peakRssMb(),
    maxQueue: res ? res.maxQueue : 0,
    frontierBytes: res ? res.frontierBytes : 0,
    frontierDiskBytes: res ? res.frontierDiskBytes : 0,
    levels: res ? res.levels : [],
    workersFrom: res ? res.workersFrom : null,
    depthBound: depth,
    setupSteps: sys.prefix.length,
    walks: sw ? sw.walks : null,
    ...(o.swarm?.shard ? { shard: { ...o.swarm.shard, from: range!.lo, to: range!.hi } } : {}),
    scenarioFile: null, replayed: null, steps: null, trace: [],
  };
  report.statesPerSecond = report.seconds > 0 ? (res ? res.distinct : report.states) / report.seconds : 0;
  if (!violation) return report;

  // write the counterexample down: replay the actions to name each step
  const steps = replaySteps(sys, trace, properties);
  report.trace = steps.map((s) => stepText(s));
  const desc = `Found by cowlab explore ${o.config.file} on ${o.profile.id}${o.swarm ? ` (random walk ${sw!.found!.walk}, seed ${o.swarm.seed})` : ' (breadth-first: a shortest counterexample)'}.\n` +
    `${violation.property}: ${violation.message}`;
  let scenario = traceScenario(sys, steps, desc, o.profile.id);
  const again = reproduces(scenario, o.config.file, o.profile, violation.property);
  report.replayed = again !== null;
  if (o.shrink && again) scenario = shrink(sys, scenario, o.profile, violation.property);
  // the message as `cowlab run` words it, with the scenario's names
  const final = reproduces(scenario, o.config.file, o.profile, violation.property);
  if (final) report.message = final.message;
  report.steps = (scenario.steps as unknown[]).length - sys.prefix.length;
  const file = o.out ?? join('explore-findings', `${o.config.name}-${o.profile.id}.yaml`);
  writeFileAtomic(file, scenarioYaml(scenario), { mkdir: true, what: '--out' });
  report.scenarioFile = file;
  return report;
}

/** The scenario steps of a trace (fork names depend on the state). */
function replaySteps(sys: ExploreSystem, trace: readonly number[], properties: readonly PropertyName[]): Record<string, unknown>[] {
  const ex = new Expander(sys, properties);
  let s = sys.initial.clone();
  const out: Record<string, unknown>[] = [];
  trace.forEach((a, d) => {
    const act = sys.actions[a]!;
    const st = act.step(s);
    const th = act.thread(s);
    const r = ex.step(s, a, d);
    if (!r) throw new Error(`explorer replay: action ${a} at depth ${d} no longer applies`);
    // an operation the explorer lets stop in a window that it did not reach on this kernel (a store
    // that needed no COW copy) is written without `stop:`, as a scenario says only where it stops
    out.push(th >= 0 && thread_stopped(r.state, th) === THOP_NONE ? withoutStop(st) : st);
    s = r.state;
  });
  return out;
}

/** A step `{actor: {op..., stop: w}}` without its `stop:` (a resume keeps it: the resolver lets it not stop again). */
function withoutStop(st: Record<string, unknown>): Record<string, unknown> {
  const [actor, body] = Object.entries(st)[0]!;
  if (typeof body !== 'object' || body === null || !('stop' in body) || 'resume' in body) return st;
  const { stop: _stop, ...rest } = body as Record<string, unknown>;
  const keys = Object.keys(rest);
  // `{write: mem}` stays a mapping; a bare op name (`{resume: null}`) cannot occur here
  return { [actor]: keys.length ? rest : body };
}

function stepText(st: Record<string, unknown>): string {
  const [p, body] = Object.entries(st)[0] ?? ['?', undefined];
  return `${p}: ${typeof body === 'object' && body !== null ? stringify(body, { collectionStyle: 'flow' }).trim() : String(body)}`;
}

/** The violation of `property` that `cowlab run` of this scenario reports (with nothing else failing), or null. */
function reproduces(scenario: Record<string, unknown>, file: string, prof: Profile, property: string): Violation | null {
  try {
    const r = resolveScenario(parseScenario(scenarioYaml(scenario), file));
    const res = runScenario(r, prof);
    if (res.failures.length) return null;
    return res.violations.find((v) => v.property === property) ?? null;
  } catch (e) {
    if (e instanceof InputError) return null;
    throw e;
  }
}

/** Removes steps (after the setup) one at a time while the violation stays: 1-minimal. */
function shrink(sys: ExploreSystem, scenario: Record<string, unknown>, prof: Profile, property: string): Record<string, unknown> {
  let steps = [...(scenario.steps as Record<string, unknown>[])];
  const first = sys.prefix.length;
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = steps.length - 1; i >= first; i--) {
      const cand = [...steps.slice(0, i), ...steps.slice(i + 1)];
      if (reproduces({ ...scenario, steps: cand }, sys.config.file, prof, property) !== null) {
        steps = cand;
        changed = true;
      }
    }
  }
  return { ...scenario, description: `${String(scenario.description)}\nShrunk to a 1-minimal scenario (no single step can be removed).`, steps };
}
