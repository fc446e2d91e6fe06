/**
 * Breadth-first search over the bounded system, so the first
 * counterexample is a shortest one.
 *
 * Level by level: the states of level d (encoded, in shared memory) are
 * expanded in chunks that the threads claim in order; each drops successors
 * whose fingerprint is already visited (a read-only view of the visited
 * set, updated between levels) or that it already produced in this level,
 * and sends the rest to the coordinator, which takes the chunks' results
 * in chunk order and keeps the new ones. That order makes the search the
 * same whatever the number of threads: the states, levels, transitions and
 * counterexample do not depend on it.
 */
import { Worker } from 'node:worker_threads';
import { KState, Recorder } from '../model/layout.js';
import type { Symmetry } from '../model/canon.js';
import type { Violation, PropertyName } from '../properties/monitor.js';
import { Expander } from './expand.js';
import { FingerprintSet, FingerprintIndex, LevelClaims, CLAIM_SEND, CLAIM_NO_ROOM } from './store.js';
import { IndependenceCheck, SleepReader, SleepTable, asleep, footprintOf, sleepWords, type Footprint, type SleepView } from './sleep.js';
import { PackedLevel, LevelReader, EncodedStates, LevelSpill, type LevelView } from './frontier.js';
import type { ExploreSystem, ExploreConfig } from './system.js';

export interface SearchLimits {
  depth: number;
  maxStates?: number;
  /** resident memory limit in MiB */
  maxMemoryMb?: number;
  workers: number;
  properties: readonly PropertyName[];
  /**
   * partial-order reduction by sleep sets (src/explore/sleep.ts): the states
   * of the search with exact process symmetry, fewer transitions
   */
  por?: boolean;
  /** how fingerprints order processes (src/model/canon.ts); `por` implies 'exact' */
  symmetry?: Symmetry;
  /**
   * the levels' memory budget in MiB: full blocks past it go to an unlinked
   * file in `spillDir` (src/explore/frontier.ts); without a spillDir, no limit
   */
  levelMemoryMb?: number;
  spillDir?: string;
  /** size of a level's blocks (default 4 MiB; smaller in tests, so a small search spills) */
  levelBlockBytes?: number;
  /** set by Ctrl-C */
  stop?: { requested: boolean };
  onProgress?: (p: Progress) => void;
  /**
   * wait until the worker threads are ready before the first level (by
   * default the search starts alone and they join at the first level that
   * begins once they are: the same search either way). Tests set it so
   * that small searches are expanded by several threads.
   */
  waitForWorkers?: boolean;
}

export interface Progress {
  depth: number;
  /** transitions taken (successors generated) */
  states: number;
  distinct: number;
  queue: number;
  seconds: number;
  memoryMb: number;
}

export interface SearchResult {
  verdict: 'violation' | 'none';
  /** the search covered everything up to the depth bound */
  complete: boolean;
  stoppedBy: null | 'max-states' | 'memory' | 'interrupted';
  violation: Violation | null;
  /** actions from the initial state to the violating transition (included) */
  trace: number[];
  /** depth of the violation, or the deepest level expanded */
  depth: number;
  states: number;
  distinct: number;
  seconds: number;
  /** TLC-style estimate of the chance that two different states shared a fingerprint */
  collisionProbability: number;
  /** visited set + parent log, per distinct state */
  bytesPerState: number;
  /** largest BFS level */
  maxQueue: number;
  /** transitions the sleep sets did not take (0 without partial-order reduction) */
  pruned: number;
  /** most memory the levels held at once (the one expanded and the one found), encoded */
  frontierBytes: number;
  /** most bytes of levels in the spill file at once */
  frontierDiskBytes: number;
  levels: number[];
  /** the first level worker threads helped expand (null: none did, or none was asked for) */
  workersFrom: number | null;
}

/** Candidates a slice expansion produced: new-looking successors, and the first violation. */
export interface SliceResult {
  fps: Uint32Array; // pairs
  parents: Uint32Array;
  actions: Uint16Array;
  /** the successors, encoded (see frontier.ts): state j is bytes [offs[j], offs[j+1]) */
  bytes: Uint8Array;
  offs: Uint32Array;
  n: number;
  transitions: number;
  violation: { parent: number; action: number; v: Violation } | null;
  /** with partial-order reduction: each successor's sleep set (sw words each) */
  sleep?: Uint32Array;
  /** successors this slice had already produced in the level: fingerprints and sleep sets, to intersect */
  dupFps?: Uint32Array;
  dupSleep?: Uint32Array;
  dups?: number;
  /** transitions not taken: asleep */
  pruned?: number;
}

/**
 * The successors found in the level so far, as the thread expanding a
 * chunk sees them: add() is true when the thread is to send the successor.
 * A FingerprintSet of the thread's own (one thread), or the level's shared
 * claims (ChunkSeen).
 */
export interface LevelSeen {
  add(h: number, l: number): boolean;
}

/**
 * A thread's view of the successors found in the level while it expands
 * chunk `chunk`: the level's shared claims (LevelClaims), then its own
 * set. A successor is sent when no chunk up to this one claimed it and
 * the thread did not find it before (its chunks are in increasing order):
 * the claims drop what another thread's earlier chunk or this one sent, the
 * thread's own set, which holds only those, what the claims table, bounded,
 * had no room for.
 */
export class ChunkSeen implements LevelSeen {
  chunk = 0;
  private readonly own = new FingerprintSet(1 << 12);
  constructor(readonly tab: Int32Array) {}
  add(h: number, l: number): boolean {
    const r = LevelClaims.claimIn(this.tab, h, l, this.chunk);
    // what the table records, it judges again on a later find; only what it has no room for is this thread's to remember
    return r === CLAIM_SEND || (r === CLAIM_NO_ROOM && this.own.add(h, l));
  }
}

/**
 * Expands states [lo, hi) of a level: the part of a BFS step every worker
 * (or the single thread) does.
 */
export function expandSlice(ex: Expander, level: LevelView, lo: number, hi: number, depth: number,
  visited: { hi: Uint32Array; lo: Uint32Array }, flush: (r: SliceResult) => void, chunk = 256,
  local: LevelSeen = new FingerprintSet(1 << 12)): void {
  const words = level.words;
  const init = ex.sys.initial;
  const parent = new KState(init.L, new Int32Array(words));
  const child = new KState(init.L, new Int32Array(words));
  const nact = ex.sys.actions.length;
  let res = newResult(chunk, words, init.m);
  let violation: SliceResult['violation'] = null;
  const reader = new LevelReader(level, init.m, ex.raw);
  for (let k = lo; k < hi && !violation; k++) {
    const pid = reader.read(k, parent.m);
    for (let a = 0; a < nact; a++) {
      const r = ex.step(parent, a, depth, child);
      if (!r) continue;
      res.transitions++;
      if (r.violation) {
        violation = { parent: pid, action: a, v: r.violation };
        break;
      }
      // (null: the step changed nothing, and the parent is visited; or this thread met the state before)
      const fp = ex.newSuccessorFingerprint(parent, reader.hash, child);
      if (fp === null) continue;
      if (FingerprintSet.contains(visited.hi, visited.lo, fp[0]!, fp[1]!)) continue;
      if (!local.add(fp[0]!, fp[1]!)) continue;
      if (add(res, fp, pid, a, child.m) === chunk) {
        flush(done(res));
        res = newResult(chunk, words, init.m);
      }
    }
  }
  res.violation = violation;
  flush(done(res));
}

/**
 * expandSlice with sleep sets (src/explore/sleep.ts): an action asleep in a
 * state is not taken; each action taken gets its footprint, and its
 * successor the sleep set of the actions before it (or asleep) that are
 * independent of it. The footprint of an action asleep here is taken here
 * again when a later action needs it (its effects may differ in what the
 * write-record collection frees). Successors this slice produced already
 * are sent as duplicates, so the coordinator intersects their sleep sets.
 */
export function expandSlicePor(ex: Expander, level: LevelView, sleeping: SleepView, lo: number, hi: number, depth: number,
  visited: { hi: Uint32Array; lo: Uint32Array }, flush: (r: SliceResult) => void, chunk = 256,
  local: LevelSeen = new FingerprintSet(1 << 12)): void {
  const words = level.words;
  const init = ex.sys.initial;
  const parent = new KState(init.L, new Int32Array(words));
  const child = new KState(init.L, new Int32Array(words));
  const scratch = new KState(init.L, new Int32Array(words));
  const nact = ex.sys.actions.length;
  const sw = sleeping.sw;
  const rec = new Recorder(words);
  const check = new IndependenceCheck(words);
  const zs = new Uint32Array(sw);
  const csl = new Uint32Array(sw);
  const fps: (Footprint | null | undefined)[] = new Array<Footprint | null | undefined>(nact);
  const taken: number[] = [];
  let res = newResult(chunk, words, init.m, sw);
  let violation: SliceResult['violation'] = null;
  const reader = new LevelReader(level, init.m);
  const sleeps = new SleepReader(sleeping);
  const footprint = (b: number): Footprint | null => {
    let f = fps[b];
    if (f === undefined) {
      const r = ex.step(parent, b, depth, scratch, rec);
      // asleep, so enabled and independent of what led here; anything else keeps it awake
      f = fps[b] = r && !r.violation ? footprintOf(rec, parent, scratch) : null;
    }
    return f;
  };
  for (let k = lo; k < hi && !violation; k++) {
    const pid = reader.read(k, parent.m);
    sleeps.read(k, zs);
    fps.fill(undefined);
    taken.length = 0;
    for (let a = 0; a < nact; a++) {
      if (asleep(zs, a)) {
        res.pruned!++;
        continue;
      }
      const r = ex.step(parent, a, depth, child, rec);
      if (!r) continue;
      res.transitions++;
      if (r.violation) {
        violation = { parent: pid, action: a, v: r.violation };
        break;
      }
      // (asked now: the footprints taken below step again; a self-loop's successor is visited)
      const selfLoop = ex.unchanged(parent, child);
      const fa = (fps[a] = footprintOf(rec, parent, child));
      csl.fill(0);
      for (let w = 0; w < sw; w++) {
        for (let bits = zs[w]!; bits !== 0; bits &= bits - 1) {
          const b = w * 32 + (31 - Math.clz32(bits & -bits));
          const fb = footprint(b);
          if (fb && check.independent(fb, fa)) csl[w]! |= 1 << (b & 31);
        }
      }
      for (const b of taken) if (check.independent(fps[b]!, fa)) csl[b >>> 5]! |= 1 << (b & 31);
      taken.push(a);
      if (selfLoop) continue;
      const fp = ex.fingerprint(child);
      if (FingerprintSet.contains(visited.hi, visited.lo, fp[0]!, fp[1]!)) continue;
      if (!local.add(fp[0]!, fp[1]!)) {
        const d = res.dups!;
        if (d === res.dupFps!.length / 2) {
          res.dupFps = grow32(res.dupFps!, d * 4);
          res.dupSleep = grow32(res.dupSleep!, d * 2 * sw);
        }
        res.dupFps![2 * d] = fp[0]!;
        res.dupFps![2 * d + 1] = fp[1]!;
        res.dupSleep!.set(csl, d * sw);
        res.dups = d + 1;
        continue;
      }
      res.sleep!.set(csl, res.n * sw);
      if (add(res, fp, pid, a, child.m) === chunk) {
        flush(done(res));
        res = newResult(chunk, words, init.m, sw);
      }
    }
  }
  res.violation = violation;
  flush(done(res));
}

/** Appends a successor to a slice's result; returns how many it holds. */
function add(res: Building, fp: Uint32Array, pid: number, a: number, m: Int32Array): number {
  const n = res.n;
  res.fps[2 * n] = fp[0]!;
  res.fps[2 * n + 1] = fp[1]!;
  res.parents[n] = pid;
  res.actions[n] = a;
  res.enc.push(m);
  return ++res.n;
}

function grow32(a: Uint32Array, n: number): Uint32Array {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}

interface Building extends Omit<SliceResult, 'bytes' | 'offs'> {
  enc: EncodedStates;
}

function newResult(chunk: number, words: number, base: Int32Array, sw = 0): Building {
  const b: Building = {
    fps: new Uint32Array(chunk * 2), parents: new Uint32Array(chunk), actions: new Uint16Array(chunk),
    enc: new EncodedStates(words, base, chunk), n: 0, transitions: 0, violation: null,
  };
  if (sw) {
    b.sleep = new Uint32Array(chunk * sw);
    b.dupFps = new Uint32Array(64);
    b.dupSleep = new Uint32Array(32 * sw);
    b.dups = 0;
    b.pruned = 0;
  }
  return b;
}

function done(b: Building): SliceResult {
  const { enc, ...rest } = b;
  // only the bytes used are sent to the coordinating thread
  return { ...rest, bytes: enc.bytes.slice(0, enc.offs[b.n]), offs: enc.offs };
}

/** What a worker needs to rebuild the system (it loads the configuration itself). */
export interface WorkerInit {
  /** the configuration, already parsed (and overridden by flags) */
  config: ExploreConfig;
  profile: { builtin: string } | { file: string };
  properties: PropertyName[];
  /** partial-order reduction (and so exact process symmetry) */
  por?: boolean;
  symmetry?: Symmetry;
}

/** Runs the search. `makeWorkerInit` is needed when workers > 1. */
export async function bfs(sys: ExploreSystem, lim: SearchLimits, workerInit?: WorkerInit): Promise<SearchResult> {
  const t0 = Date.now();
  // sleep sets name process slots: with them, fingerprints keep the slots (src/explore/sleep.ts)
  const symmetry: Symmetry = lim.por ? 'exact' : (lim.symmetry ?? 'signature');
  const ex = new Expander(sys, lim.properties, true, symmetry);
  const words = sys.initial.m.length;
  // in shared memory: the expanding threads read it (it only grows between levels)
  const visited = new FingerprintSet(1 << 16, true);
  const parents = new ParentLogLite();
  const fp0 = ex.fingerprint(sys.initial);
  visited.add(fp0[0]!, fp0[1]!);
  parents.push(0, 0);
  const spill = lim.spillDir !== undefined && lim.levelMemoryMb !== undefined ? new LevelSpill(lim.levelMemoryMb * 1048576, lim.spillDir) : null;
  let level = new PackedLevel(words, sys.initial.m, spill, 0, lim.levelBlockBytes);
  level.pushState(sys.initial.m, 0);
  // sleep sets, one per state of the level (partial-order reduction); the initial state's is empty
  const sw = lim.por ? sleepWords(sys.actions.length) : 0;
  let sleeping = sw ? new SleepTable(sw) : null;
  sleeping?.push(new Uint32Array(sw), 0);
  let pruned = 0;
  let transitions = 0;
  let maxQueue = 1;
  let frontierBytes = level.bytes;
  const levels = [1];
  let result: Omit<SearchResult, 'seconds' | 'collisionProbability' | 'bytesPerState' | 'maxQueue' | 'levels' | 'states' | 'distinct' | 'frontierBytes' | 'frontierDiskBytes' | 'pruned' | 'workersFrom'> | null = null;
  // with W workers, W-1 threads expand next to this one, which also takes every result; they start in the
  // background (loading cowlab and building the system takes a few hundred ms) and join at a level's start
  const pool = lim.workers > 1 && workerInit ? launchWorkers(lim.workers - 1, { ...workerInit, por: lim.por, symmetry }) : [];
  let workers: Started[] = [];
  let workersFrom: number | null = null;
  let stoppedBy: SearchResult['stoppedBy'] = null;
  let depth = 0;
  // the level's successors, shared by the threads (with workers)
  let claims: LevelClaims | null = null;
  const memMb = () => process.memoryUsage().rss / 1048576;
  const pause = pauser();
  const progress = () => lim.onProgress?.({ depth, states: transitions, distinct: visited.size, queue: level.length, seconds: (Date.now() - t0) / 1000, memoryMb: memMb() });
  try {
    if (lim.waitForWorkers) await Promise.all(pool.map((w) => w.ready));
    for (depth = 0; depth < lim.depth && level.length > 0; depth++) {
      const next = new PackedLevel(words, sys.initial.m, spill, depth + 1, lim.levelBlockBytes);
      const levelNew = new FingerprintSet(1 << 12);
      const fresh = new FingerprintList();
      const nextSleeping = sw ? new SleepTable(sw) : null;
      const inLevel = sw ? new FingerprintIndex() : null;
      let found: SliceResult['violation'] = null;
      const view = level.view();
      const take = (r: SliceResult) => {
        transitions += r.transitions;
        pruned += r.pruned ?? 0;
        for (let j = 0; j < r.n; j++) {
          const h = r.fps[2 * j]!;
          const l = r.fps[2 * j + 1]!;
          if (!levelNew.add(h, l)) {
            // found again in this level: asleep only if asleep on every way in
            if (inLevel) nextSleeping!.and(inLevel.get(h, l), r.sleep!, j * sw);
            continue;
          }
          fresh.push(h, l);
          const id = parents.push(r.parents[j]!, r.actions[j]!);
          if (inLevel) {
            inLevel.set(h, l, next.length);
            nextSleeping!.push(r.sleep!, j * sw);
          }
          next.push(r.bytes, r.offs[j]!, id);
        }
        for (let d = 0; d < (r.dups ?? 0); d++) {
          const i = inLevel!.get(r.dupFps![2 * d]!, r.dupFps![2 * d + 1]!);
          if (i >= 0) nextSleeping!.and(i, r.dupSleep!, d * sw);
        }
        if (r.violation && !found) found = r.violation;
      };
      // checked after every chunk taken (chunks are taken in order): the same states whatever the timing
      const capped = () => {
        if (lim.maxStates && visited.size + levelNew.size >= lim.maxStates) stoppedBy = 'max-states';
        return stoppedBy !== null;
      };
      // checked every TICK_MS
      const limited = () => {
        if (lim.stop?.requested) stoppedBy = 'interrupted';
        else if (lim.maxMemoryMb && memMb() > lim.maxMemoryMb) stoppedBy = 'memory';
        return stoppedBy !== null;
      };
      if (workers.length < pool.length) {
        const failed = pool.find((w) => w.error);
        if (failed) throw failed.error!;
        workers = pool.filter((w) => w.isReady);
        if (workers.length && workersFrom === null) workersFrom = depth;
      }
      if (workers.length) {
        // sized for the level's successors as the last level grew, grown by doubling up to a bound and never
        // shrunk (a table replaced lives on until every thread's GC frees it)
        const want = claimSlots(level.length, levels.length > 1 ? levels[levels.length - 2]! : 1);
        const have: number = claims?.slots ?? 0;
        if (claims && have >= want) claims.clear();
        else claims = new LevelClaims(Math.min(MAX_CLAIM_SLOTS, Math.max(want, 2 * have)));
      }
      found = await expandLevel(workers, ex, view, sleeping?.view() ?? null, level.length, depth, visited, claims, take, capped, pause, () => {
        if (limited()) return true;
        progress();
        return false;
      });
      if (found) {
        const f = found;
        result = { verdict: 'violation', complete: true, stoppedBy: null, violation: f.v, trace: [...parents.path(f.parent), f.action], depth: depth + 1 };
        break;
      }
      // the new level's fingerprints join the visited set (workers are idle now)
      // in discovery order: inserting in table order would cluster the probes
      visited.reserve(levelNew.size);
      fresh.forEach((h, l) => visited.add(h, l));
      frontierBytes = Math.max(frontierBytes, level.bytes + next.bytes);
      level.release();
      level = next;
      sleeping = nextSleeping;
      levels.push(next.length);
      maxQueue = Math.max(maxQueue, next.length);
      progress();
      if (stoppedBy) break;
      if (lim.maxStates && visited.size >= lim.maxStates) {
        stoppedBy = 'max-states';
        break;
      }
    }
  } finally {
    for (const w of pool) await w.worker.terminate();
    spill?.close();
  }
  const seconds = (Date.now() - t0) / 1000;
  const distinct = visited.size;
  const common = {
    states: transitions, distinct, seconds, maxQueue, levels, frontierBytes, pruned, frontierDiskBytes: spill?.mostOnDisk ?? 0, workersFrom,
    collisionProbability: (distinct * Math.max(0, transitions - distinct)) / 2 ** 64,
    bytesPerState: (visited.bytes + parents.bytes) / Math.max(1, distinct),
  };
  if (result) return { ...result, ...common };
  return {
    verdict: 'none', complete: stoppedBy === null, stoppedBy, violation: null, trace: [],
    depth: stoppedBy ? depth : Math.min(depth, lim.depth), ...common,
  };
}

/** Fingerprints in the order they were found (a level's new ones), 8 bytes each. */
class FingerprintList {
  private chunks: Uint32Array[] = [];
  private n = 0;
  push(h: number, l: number): void {
    const c = this.n >>> 16;
    if (c === this.chunks.length) this.chunks.push(new Uint32Array(2 << 16));
    const i = (this.n & 0xffff) * 2;
    this.chunks[c]![i] = h;
    this.chunks[c]![i + 1] = l;
    this.n++;
  }
  forEach(f: (h: number, l: number) => void): void {
    for (let k = 0; k < this.n; k++) {
      const ch = this.chunks[k >>> 16]!;
      const i = (k & 0xffff) * 2;
      f(ch[i]!, ch[i + 1]!);
    }
  }
}

/** Parent pointers and actions, 6 bytes per state (chunked arrays). */
class ParentLogLite {
  private p: Uint32Array[] = [];
  private a: Uint16Array[] = [];
  length = 0;
  push(parent: number, action: number): number {
    const c = this.length >>> 18;
    if (c === this.p.length) {
      this.p.push(new Uint32Array(1 << 18));
      this.a.push(new Uint16Array(1 << 18));
    }
    this.p[c]![this.length & 0x3ffff] = parent;
    this.a[c]![this.length & 0x3ffff] = action;
    return this.length++;
  }
  path(idx: number): number[] {
    const out: number[] = [];
    for (let i = idx; i > 0; i = this.p[i >>> 18]![i & 0x3ffff]!) out.push(this.a[i >>> 18]![i & 0x3ffff]!);
    return out.reverse();
  }
  get bytes(): number {
    return this.length * 6;
  }
}

/* ---------------- worker threads ---------------- */

interface Started {
  worker: Worker;
  /** settles when the thread has built the system (rejects with why it could not) */
  ready: Promise<void>;
  isReady: boolean;
  error: Error | null;
}

/**
 * Starts n explorer worker threads and returns at once; each one's `ready`
 * settles when it has built the system.
 */
export function launchWorkers(n: number, init: WorkerInit): Started[] {
  const out: Started[] = [];
  for (let i = 0; i < n; i++) {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
    const w: Started = { worker, ready: Promise.resolve(), isReady: false, error: null };
    w.ready = new Promise<void>((res, rej) => {
      const fail = (e: Error) => {
        w.error = e;
        rej(e);
      };
      worker.once('message', (m: { ready?: boolean; error?: string }) => {
        if (m.ready) {
          w.isReady = true;
          res();
        } else fail(new Error(m.error));
      });
      worker.once('error', fail);
    });
    // a search that ends before a thread is ready never waits on it: its failure is seen at a level's start, or not at all
    w.ready.catch(() => {});
    out.push(w);
  }
  return out;
}

/** Starts n explorer worker threads and waits until each has built the system. */
export async function startWorkers(n: number, init: WorkerInit): Promise<Started[]> {
  const out = launchWorkers(n, init);
  try {
    await Promise.all(out.map((w) => w.ready));
  } catch (e) {
    // none is left running when one could not start
    for (const w of out) await w.worker.terminate();
    throw e;
  }
  return out;
}

/**
 * Expands a level in chunks (levelChunks()) that this thread and the
 * workers claim from a shared counter, in increasing order, and takes the
 * results in chunk order whoever expanded them: so the search is the same
 * whatever the number of threads (states, levels, transitions, the first
 * violation), and no thread waits on a fixed share of the level. This
 * thread merges the chunks that are ready, in order, and expands one itself
 * when the next is not; it lets the event loop run between chunks, so
 * worker results, limits and Ctrl-C are seen while it works. The state
 * limit (`capped`) is looked at after every chunk taken: a search it stops
 * is the same whatever the timing and the number of threads.
 *
 * A successor found in the level already is not sent again: alone, this
 * thread keeps those it found (its `local` set; it expands the chunks in
 * order); with workers, the threads share the level's `claims`
 * (LevelClaims), where a successor found by a chunk no later than the one
 * expanded is dropped. Either way, a successor is dropped only when an
 * earlier chunk, which is taken first, or the same one sent it.
 */
async function expandLevel(ws: Started[], ex: Expander, view: LevelView, sleeping: SleepView | null, length: number, depth: number, visited: FingerprintSet,
  claims: LevelClaims | null, take: (r: SliceResult) => void, capped: () => boolean, pause: () => Promise<boolean>, limited: () => boolean): Promise<SliceResult['violation']> {
  const chunks = levelChunks(length);
  const counter = new Int32Array(new SharedArrayBuffer(4));
  // results of chunks not taken yet, and the chunks whose results are all in
  const parts = new Map<number, SliceResult[]>();
  const complete = new Set<number>();
  let workersDone = 0;
  // set by the message handlers (an object: narrowing does not see closures)
  const failed: { error: Error | null } = { error: null };
  let wake: (() => void) | null = null;
  let found: SliceResult['violation'] = null;
  const listeners = ws.map((w) => {
    const onMsg = (m: { result?: SliceResult; chunk?: number; chunkDone?: number; done?: boolean; error?: string }) => {
      if (m.error) failed.error ??= new Error(m.error);
      if (m.result) {
        const l = parts.get(m.chunk!);
        if (l) l.push(m.result);
        else parts.set(m.chunk!, [m.result]);
      }
      if (m.chunkDone !== undefined) complete.add(m.chunkDone);
      if (m.done) workersDone++;
      wake?.();
    };
    w.worker.on('message', onMsg);
    w.worker.postMessage({ level: view, sleeping, counter, chunks, length, depth, visited: { hi: visited.hi, lo: visited.lo }, claims: claims!.tab });
    return onMsg;
  });
  const takeOne = (r: SliceResult) => {
    if (found) return;
    take(r);
    if (r.violation) found = r.violation;
  };
  // no more chunks to claim (a violation or a limit ends the level)
  const close = () => Atomics.store(counter, 0, chunks);
  try {
    const seen = ws.length ? new ChunkSeen(claims!.tab) : null;
    const local: LevelSeen = seen ?? new FingerprintSet(1 << 12);
    let lastTick = Date.now();
    for (let next = 0; next < chunks && !found; ) {
      if (failed.error) throw failed.error;
      if (complete.has(next)) {
        for (const r of parts.get(next) ?? []) takeOne(r);
        parts.delete(next);
        complete.delete(next);
        next++;
        if (capped()) break;
        continue;
      }
      const c = Atomics.add(counter, 0, 1);
      if (c < chunks) {
        const lo = chunkStart(c, length);
        const hi = chunkStart(c + 1, length);
        // the next chunk to take goes straight in; a later one waits for those before it
        const mine: SliceResult[] = [];
        const sink = c === next ? takeOne : (r: SliceResult) => mine.push(r);
        if (seen) seen.chunk = c;
        if (sleeping) expandSlicePor(ex, view, sleeping, lo, hi, depth, visited, sink, 256, local);
        else expandSlice(ex, view, lo, hi, depth, visited, sink, 256, local);
        // a violation here: the first one taken is in this chunk or an earlier one, all claimed already
        if (found || mine.some((r) => r.violation)) close();
        if (c === next) {
          next++;
          if (capped()) break;
        } else {
          parts.set(c, mine);
          complete.add(c);
        }
        // with workers, their messages are seen after every chunk (the chunk to take next may be theirs)
        if (ws.length) await new Promise<void>((res) => setImmediate(res));
        if ((await pause()) && limited()) break;
        continue;
      }
      // every chunk is claimed: wait for the next one's results
      await new Promise<void>((res) => {
        wake = res;
        setTimeout(res, TICK_MS);
      });
      wake = null;
      if (Date.now() - lastTick >= TICK_MS) {
        lastTick = Date.now();
        // abandon the level: the caller terminates the workers
        if (limited()) break;
      }
    }
    close();
    if (found) return found;
    // the level is done (or abandoned at a limit): the workers end their chunk and are idle before the visited set changes
    while (workersDone < ws.length) {
      if (failed.error) throw failed.error;
      await new Promise<void>((res) => {
        wake = res;
        setTimeout(res, TICK_MS);
      });
      wake = null;
    }
  } finally {
    ws.forEach((w, i) => w.worker.off('message', listeners[i]!));
  }
  return found;
}

/**
 * Slots of a level's claims: its successors, guessed as the level's size
 * times its growth from the level before, at 70% of the table.
 */
function claimSlots(length: number, before: number): number {
  const guess = length * Math.max(1, length / Math.max(1, before));
  return Math.min(MAX_CLAIM_SLOTS, Math.max(1 << 12, Math.ceil(guess / 0.7)));
}

/**
 * The claims table's bound (24 MiB): past it, a large level's successors
 * it has no room for are deduplicated by each thread's own set, as they
 * were before the table, and the memory of a large search stays that of
 * its visited set and levels.
 */
const MAX_CLAIM_SLOTS = 1 << 21;

/** States of a chunk (expanded between two looks at the event loop). */
const CHUNK = 256;
/** States at the end of a level cut into chunks of TAIL_CHUNK, so that the threads end a level within a small chunk of each other. */
const TAIL = 256;
const TAIL_CHUNK = 32;

/** How many chunks a level of `length` states has: CHUNK states each, the last TAIL or more TAIL_CHUNK each. */
export function levelChunks(length: number): number {
  const big = Math.floor(Math.max(0, length - TAIL) / CHUNK);
  return big + Math.ceil((length - big * CHUNK) / TAIL_CHUNK);
}

/**
 * The first state of chunk `c` of a level of `length` states (of chunk
 * levelChunks(length), the length). The cut depends on the length only,
 * so the search is the same whatever the number of threads.
 */
export function chunkStart(c: number, length: number): number {
  const big = Math.floor(Math.max(0, length - TAIL) / CHUNK);
  return c <= big ? c * CHUNK : Math.min(length, big * CHUNK + (c - big) * TAIL_CHUNK);
}
/** How often limits, progress and Ctrl-C are looked at. */
const TICK_MS = 50;

/**
 * Returns a function that lets the event loop run (signal handlers, worker
 * messages) when TICK_MS have passed since it last did; it resolves to
 * whether it did, so callers look at limits that often.
 */
export function pauser(): () => Promise<boolean> {
  let last = Date.now();
  return async () => {
    if (Date.now() - last < TICK_MS) return false;
    await new Promise<void>((res) => setImmediate(res));
    last = Date.now();
    return true;
  };
}
