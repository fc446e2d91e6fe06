/**
 * Partial-order reduction by sleep sets (Godefroid), exact for the
 * breadth-first search (issue 15).
 *
 * Two actions enabled in a state are independent there when neither changes
 * a word of the state the other reads or stores (their footprints, which the
 * model records through ld()/st(): src/model/layout.ts `Recorder`). Then
 * both orders reach the same state, and each action behaves the same
 * (the same effects, so the same property verdicts) before and after the
 * other. When a state's successors are generated in action order, the
 * successor by action `a` gets a sleep set: the actions explored before `a`
 * in that state (or asleep there) that are independent of `a`. An action
 * asleep in a state is not taken from it: the state it leads to is reached
 * in the other order at the same depth, by a path the search takes earlier.
 * A state reached from several parents in one level keeps the intersection
 * of their sleep sets. Sleep sets drop transitions, never states: the search
 * visits the same states at the same depths, finds the same first violation
 * and the same counterexample (test/unit/explore/sleep.test.ts compares
 * both searches on every shipped configuration).
 *
 * What a footprint leaves out, on purpose:
 * - the reads of the explorer's write-record collection (writes_gc): it
 *   frees what nothing references, so its result after both actions does not
 *   depend on their order; what it frees is in the footprint's stores;
 * - the reads of the model-invariant check, a predicate of the state
 *   reached: every state is still reached and checked.
 */
import type { KState, Recorder } from '../model/layout.js';

/** The words one action read or stored in one state, and those it changed. */
export interface Footprint {
  /** reads and stores */
  touched: Int32Array;
  /** stores whose word differs afterwards */
  changes: Int32Array;
}

/** Builds a footprint from a recorder, the state before and the state after. */
export function footprintOf(rec: Recorder, before: KState, after: KState): Footprint {
  const touched = new Int32Array(rec.reads.length + rec.stores.length);
  let n = 0;
  for (const w of rec.reads) touched[n++] = w;
  for (const w of rec.stores) touched[n++] = w;
  let c = 0;
  for (const w of rec.stores) if (after.m[w] !== before.m[w]) c++;
  const changes = new Int32Array(c);
  c = 0;
  for (const w of rec.stores) if (after.m[w] !== before.m[w]) changes[c++] = w;
  return { touched, changes };
}

/** Decides independence of two footprints taken in one state (a stamp per word: no allocation). */
export class IndependenceCheck {
  private readonly mark: Int32Array;
  private stamp = 0;

  constructor(words: number) {
    this.mark = new Int32Array(words);
  }

  /** Neither changes a word the other reads or stores. */
  independent(a: Footprint, b: Footprint): boolean {
    return this.disjoint(a.changes, b.touched) && this.disjoint(b.changes, a.touched);
  }

  private disjoint(changes: Int32Array, touched: Int32Array): boolean {
    if (changes.length === 0) return true;
    if (++this.stamp === 0x7fffffff) {
      this.stamp = 1;
      this.mark.fill(0);
    }
    const st = this.stamp;
    for (let i = 0; i < changes.length; i++) this.mark[changes[i]!] = st;
    for (let i = 0; i < touched.length; i++) if (this.mark[touched[i]!] === st) return false;
    return true;
  }
}

/** Words of a sleep set: one bit per action. */
export function sleepWords(actions: number): number {
  return Math.max(1, Math.ceil(actions / 32));
}

const PER_BLOCK = 1 << 14;

/**
 * The sleep sets of one BFS level, in shared memory (workers read them):
 * `sw` words per state, in level order.
 */
export class SleepTable {
  readonly blocks: SharedArrayBuffer[] = [];
  private views: Uint32Array[] = [];
  length = 0;

  constructor(readonly sw: number) {}

  /** Appends a sleep set (words [off, off + sw) of src). */
  push(src: Uint32Array, off: number): void {
    const b = Math.floor(this.length / PER_BLOCK);
    if (b === this.blocks.length) {
      const buf = new SharedArrayBuffer(PER_BLOCK * this.sw * 4);
      this.blocks.push(buf);
      this.views.push(new Uint32Array(buf));
    }
    const o = (this.length - b * PER_BLOCK) * this.sw;
    for (let i = 0; i < this.sw; i++) this.views[b]![o + i] = src[off + i]!;
    this.length++;
  }

  /** Intersects state k's sleep set with words [off, off + sw) of src. */
  and(k: number, src: Uint32Array, off: number): void {
    const b = Math.floor(k / PER_BLOCK);
    const o = (k - b * PER_BLOCK) * this.sw;
    for (let i = 0; i < this.sw; i++) this.views[b]![o + i]! &= src[off + i]!;
  }

  /** What a worker needs to read the table. */
  view(): SleepView {
    return { blocks: this.blocks, sw: this.sw };
  }

  get bytes(): number {
    return this.blocks.length * PER_BLOCK * this.sw * 4;
  }
}

/** A level's sleep sets as another thread sees them. */
export interface SleepView {
  blocks: SharedArrayBuffer[];
  sw: number;
}

/** Reads sleep sets of a level by state number. */
export class SleepReader {
  private readonly views: Uint32Array[];
  constructor(readonly v: SleepView) {
    this.views = v.blocks.map((b) => new Uint32Array(b));
  }
  /** Copies state k's sleep set into out[0 .. sw). */
  read(k: number, out: Uint32Array): void {
    const b = Math.floor(k / PER_BLOCK);
    const o = (k - b * PER_BLOCK) * this.v.sw;
    for (let i = 0; i < this.v.sw; i++) out[i] = this.views[b]![o + i]!;
  }
}

/** Whether action a is in a sleep set. */
export function asleep(set: Uint32Array, a: number, off = 0): boolean {
  return (set[off + (a >>> 5)]! & (1 << (a & 31))) !== 0;
}
