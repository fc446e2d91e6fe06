/**
 * The breadth-first search's levels, stored compactly: a state is kept as
 * the words where it differs from the initial state (an explorer state of
 * 1,578 words differs in a few dozen), each as a varint gap and a zigzag
 * varint value, in blocks of shared memory that every worker reads. A
 * level costs tens of bytes per state instead of the whole state. Beyond a
 * memory budget, full blocks go to an unlinked temporary file (as TLC's disk
 * queue does) and are read back, one at a time per reader, when the level is
 * expanded.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import type { RawSeen } from './rawseen.js';

/** Bytes an encoded state can take at most (a varint of 5 bytes per gap and per value, and the end). */
export function maxEncodedBytes(words: number): number {
  return 1 + words * 10;
}

/**
 * Writes `m`'s difference from `base` into `out` at `pos`; returns the end.
 * Each differing word is its gap from the previous one plus one (a varint),
 * then its value (a zigzag varint); a 0 ends the list. `out` must have
 * {@link maxEncodedBytes} free from `pos`.
 */
export function encodeState(m: Int32Array, base: Int32Array, out: Uint8Array, pos: number): number {
  let prev = -1;
  const n = m.length;
  // eight words at a time, one branch for the lot: a state differs from the base in a few words of
  // hundreds (45 of 866 on spin-reference 3 x 1), and this is about 1.5x faster than word by word there
  for (let i = 0; i < n; i += 8) {
    if (
      i + 8 <= n &&
      ((m[i]! ^ base[i]!) |
        (m[i + 1]! ^ base[i + 1]!) |
        (m[i + 2]! ^ base[i + 2]!) |
        (m[i + 3]! ^ base[i + 3]!) |
        (m[i + 4]! ^ base[i + 4]!) |
        (m[i + 5]! ^ base[i + 5]!) |
        (m[i + 6]! ^ base[i + 6]!) |
        (m[i + 7]! ^ base[i + 7]!)) ===
        0
    )
      continue;
    // a block with a difference, or the last words (fewer than eight), word by word
    for (let j = i, end = Math.min(i + 8, n); j < end; j++) {
      const v = m[j]!;
      if (v === base[j]) continue;
      pos = putWord(out, pos, j - prev, v);
      prev = j;
    }
  }
  out[pos++] = 0;
  return pos;
}

/** Rebuilds into `m` the state encoded at `pos` (see {@link encodeState}); returns the end. */
export function decodeState(buf: Uint8Array, pos: number, base: Int32Array, m: Int32Array): number {
  m.set(base);
  return applyDelta(buf, pos, m);
}

/**
 * Applies to `m` (the state the encoding was made against) the differences
 * encoded at `pos`; returns the end. With `raw`, keeps `hash` (m's raw
 * hash, src/explore/rawseen.ts) as each word changes.
 */
export function applyDelta(buf: Uint8Array, pos: number, m: Int32Array, raw: RawSeen | null = null, hash?: Int32Array): number {
  let a = hash?.[0] ?? 0;
  let b = hash?.[1] ?? 0;
  let i = -1;
  for (;;) {
    const gap = getVarint(buf, pos);
    if (gap === 0) break;
    i += gap;
    const o = m[i]!;
    const v = unzigzag(getVarint(buf, cursor));
    m[i] = v;
    pos = cursor;
    if (raw === null || raw.skip[i]) continue;
    a = (a + raw.h1(i, v) - raw.h1(i, o)) | 0;
    b = (b + raw.h2(i, v) - raw.h2(i, o)) | 0;
  }
  if (raw !== null) {
    hash![0] = a;
    hash![1] = b;
  }
  return cursor;
}

/** Reads the differences encoded at `pos` (see {@link encodeState}) into ascending word numbers and values; returns how many. */
function readDelta(buf: Uint8Array, pos: number, idx: Int32Array, val: Int32Array): number {
  let i = -1;
  let n = 0;
  for (;;) {
    const gap = getVarint(buf, pos);
    if (gap === 0) return n;
    i += gap;
    idx[n] = i;
    val[n++] = unzigzag(getVarint(buf, cursor));
    pos = cursor;
  }
}

/** One differing word of an encoding: its gap from the previous one, and its value; returns the end. */
function putWord(out: Uint8Array, pos: number, gap: number, v: number): number {
  return putVarint(out, putVarint(out, pos, gap), ((v << 1) ^ (v >> 31)) >>> 0);
}

function unzigzag(z: number): number {
  return (z >>> 1) ^ -(z & 1);
}

/** Where the last getVarint() ended. */
let cursor = 0;

/** The varint at `pos` (unsigned); its end goes to `cursor`. */
function getVarint(buf: Uint8Array, pos: number): number {
  let x = 0;
  let shift = 0;
  let b: number;
  do {
    b = buf[pos++]!;
    x |= (b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  cursor = pos;
  return x >>> 0;
}

function putVarint(out: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
  return pos;
}

/** A growable byte buffer of encoded states (a worker's results before they are sent). */
export class EncodedStates {
  bytes: Uint8Array;
  /** start of each state, and the end of the last */
  offs: Uint32Array;
  n = 0;
  constructor(
    private readonly words: number,
    private readonly base: Int32Array,
    chunk: number,
  ) {
    this.bytes = new Uint8Array(Math.max(1 << 14, maxEncodedBytes(words)));
    this.offs = new Uint32Array(chunk + 1);
  }
  /** Appends `m` (as its difference from the base). */
  push(m: Int32Array): void {
    const at = this.offs[this.n]!;
    if (at + maxEncodedBytes(this.words) > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, at + maxEncodedBytes(this.words)));
      grown.set(this.bytes.subarray(0, at));
      this.bytes = grown;
    }
    this.offs[++this.n] = encodeState(m, this.base, this.bytes, at);
  }
}

/** Blocks a level's encoded states are stored in (each in shared memory). */
const BLOCK_BYTES = 1 << 22;
/**
 * Every RESTART-th state of a level is encoded against the initial state,
 * the others against the state before them (siblings differ in a few
 * words): a reader starts at most RESTART - 1 states before the one it wants.
 */
const RESTART = 64;
/** Restart points per index block: the block number and offset of each. */
const INDEX_PER_BLOCK = 1 << 14;

/**
 * Where a search's levels go beyond a memory budget: two unlinked temporary
 * files, one per level parity (level d is written while level d - 1 is read;
 * level d - 2 is done, so its file is emptied for d). Unlinked as soon as
 * opened: nothing is left behind however the search ends.
 */
export class LevelSpill {
  private readonly fds: number[];
  private readonly sizes = [0, 0];
  /** bytes of level blocks in memory now (every live level's), and on disk at most */
  held = 0;
  mostOnDisk = 0;
  constructor(
    /** bytes of level blocks kept in memory before blocks go to disk */
    readonly budget: number,
    dir: string,
  ) {
    const d = mkdtempSync(join(dir, 'cowlab-levels-'));
    try {
      this.fds = [0, 1].map((i) => {
        const f = join(d, `level-${i}`);
        const fd = openSync(f, 'w+');
        unlinkSync(f);
        return fd;
      });
    } finally {
      rmdirSync(d);
    }
  }
  /** The file level `depth` is written to, emptied (it held level depth - 2, done). */
  begin(depth: number): number {
    const p = depth % 2;
    ftruncateSync(this.fds[p]!, 0);
    this.sizes[p] = 0;
    return p;
  }
  /** Appends a block to file `p`; returns where it starts. */
  write(p: number, bytes: Uint8Array): number {
    const at = this.sizes[p]!;
    for (let done = 0; done < bytes.length; ) done += writeSync(this.fds[p]!, bytes, done, bytes.length - done, at + done);
    this.sizes[p] = at + bytes.length;
    this.mostOnDisk = Math.max(this.mostOnDisk, this.sizes[0]! + this.sizes[1]!);
    return at;
  }
  fd(p: number): number {
    return this.fds[p]!;
  }
  close(): void {
    for (const fd of this.fds) closeSync(fd);
  }
}

/**
 * A level of encoded states in shared memory (readable by every worker).
 * The states of a level have consecutive ids in the parent log, so only the
 * first is kept.
 */
export class PackedLevel {
  /** each block, or null where it went to the spill file (at `spilledAt`) */
  readonly data: (SharedArrayBuffer | null)[] = [];
  readonly index: SharedArrayBuffer[] = [];
  private dataViews: Uint8Array[] = [];
  private indexViews: Uint32Array[] = [];
  private used = 0;
  /** bytes used in each full block */
  private readonly ends: number[] = [];
  /** where each block starts in the spill file (-1: in memory) */
  private readonly spilledAt: number[] = [];
  length = 0;
  firstId = 0;
  private readonly blockBytes: number;
  /**
   * The last state pushed and the one being pushed, each as the words where
   * it differs from the base (ascending) and their values: a state is
   * encoded against the one before it by merging the two lists, without
   * going through every word.
   */
  private prevIdx: Int32Array;
  private prevVal: Int32Array;
  private prevN = 0;
  private curIdx: Int32Array;
  private curVal: Int32Array;
  private curN = 0;
  private readonly tmp: Uint8Array;
  /** the spill file's parity for this level */
  private readonly parity: number;

  /** `spill`: where blocks go past its budget (`depth`: this level's); `blockBytes`: smaller in tests */
  constructor(
    readonly words: number,
    private readonly base: Int32Array,
    private readonly spill: LevelSpill | null = null,
    depth = 0,
    blockBytes = BLOCK_BYTES,
  ) {
    this.blockBytes = Math.max(blockBytes, maxEncodedBytes(words));
    this.prevIdx = new Int32Array(words);
    this.prevVal = new Int32Array(words);
    this.curIdx = new Int32Array(words);
    this.curVal = new Int32Array(words);
    this.tmp = new Uint8Array(maxEncodedBytes(words));
    this.parity = spill ? spill.begin(depth) : 0;
  }

  /** Appends a state given encoded against the initial state (bytes from `from` of `src`), with its id in the parent log. */
  push(src: Uint8Array, from: number, id: number): void {
    this.curN = readDelta(src, from, this.curIdx, this.curVal);
    this.pushCur(id);
  }

  /** Appends a whole state. */
  pushState(m: Int32Array, id: number): void {
    let n = 0;
    for (let i = 0; i < m.length; i++) {
      if (m[i] === this.base[i]) continue;
      this.curIdx[n] = i;
      this.curVal[n++] = m[i]!;
    }
    this.curN = n;
    this.pushCur(id);
  }

  /** Encodes the state being pushed into this.tmp, against the base or against the state before it; returns the length. */
  private encodeCur(restart: boolean): number {
    const out = this.tmp;
    const ci = this.curIdx;
    const cv = this.curVal;
    const cn = this.curN;
    let pos = 0;
    let prev = -1;
    // the words where either differs from the base, in order, emitted where the two differ (against
    // the base, a restart, the list is empty)
    const pi = this.prevIdx;
    const pv = this.prevVal;
    const pn = restart ? 0 : this.prevN;
    const base = this.base;
    let a = 0;
    let b = 0;
    while (a < cn || b < pn) {
      const i = b >= pn || (a < cn && ci[a]! < pi[b]!) ? ci[a]! : pi[b]!;
      const v = a < cn && ci[a] === i ? cv[a++]! : base[i]!;
      const was = b < pn && pi[b] === i ? pv[b++]! : base[i]!;
      if (v === was) continue;
      pos = putWord(out, pos, i - prev, v);
      prev = i;
    }
    out[pos++] = 0;
    return pos;
  }

  private pushCur(id: number): void {
    if (this.length === 0) this.firstId = id;
    else if (id !== this.firstId + this.length) throw new Error(`explorer: level ids not consecutive (${id} after ${this.firstId}+${this.length})`);
    const restart = this.length % RESTART === 0;
    const len = this.encodeCur(restart);
    if (this.data.length === 0 || this.used + len > this.blockBytes) {
      if (this.data.length) {
        this.ends.push(this.used);
        // past the budget, the full block goes to disk
        const full = this.data.length - 1;
        const sp = this.spill;
        if (sp && sp.held + this.blockBytes > sp.budget) {
          this.spilledAt[full] = sp.write(this.parity, this.dataViews[full]!.subarray(0, this.used));
          this.data[full] = null;
          this.dataViews[full] = EMPTY;
          sp.held -= this.blockBytes;
        }
      }
      const b = new SharedArrayBuffer(this.blockBytes);
      this.data.push(b);
      this.dataViews.push(new Uint8Array(b));
      this.spilledAt.push(-1);
      if (this.spill) this.spill.held += this.blockBytes;
      this.used = 0;
    }
    const block = this.data.length - 1;
    this.dataViews[block]!.set(this.tmp.subarray(0, len), this.used);
    if (restart) {
      const r = this.length / RESTART;
      const ib = Math.floor(r / INDEX_PER_BLOCK);
      if (ib === this.index.length) {
        const b = new SharedArrayBuffer(INDEX_PER_BLOCK * 2 * 4);
        this.index.push(b);
        this.indexViews.push(new Uint32Array(b));
      }
      const e = (r - ib * INDEX_PER_BLOCK) * 2;
      this.indexViews[ib]![e] = block;
      this.indexViews[ib]![e + 1] = this.used;
    }
    this.used += len;
    this.length++;
    const ti = this.prevIdx;
    const tv = this.prevVal;
    this.prevIdx = this.curIdx;
    this.prevVal = this.curVal;
    this.prevN = this.curN;
    this.curIdx = ti;
    this.curVal = tv;
  }

  /** What a worker needs to read the level. */
  view(): LevelView {
    return {
      data: this.data,
      ends: [...this.ends, this.used],
      index: this.index,
      words: this.words,
      length: this.length,
      firstId: this.firstId,
      spilled: this.spill ? { fd: this.spill.fd(this.parity), at: [...this.spilledAt], blockBytes: this.blockBytes } : null,
    };
  }

  /** Memory the level holds (blocks on disk not counted). */
  get bytes(): number {
    return this.data.filter((d) => d !== null).length * this.blockBytes + this.index.length * INDEX_PER_BLOCK * 8;
  }

  /** The level is done with: its blocks in memory leave the spill budget. */
  release(): void {
    if (this.spill) this.spill.held -= this.data.filter((d) => d !== null).length * this.blockBytes;
  }
}

const EMPTY = new Uint8Array(0);

/** A level as another thread sees it. */
export interface LevelView {
  /** each block, or null where it is in the spill file */
  data: (SharedArrayBuffer | null)[];
  /** bytes used in each block */
  ends: number[];
  index: SharedArrayBuffer[];
  words: number;
  length: number;
  firstId: number;
  /** blocks on disk: the spill file (an fd of this process, so every thread can read it) and where each starts */
  spilled: { fd: number; at: number[]; blockBytes: number } | null;
}

/** Reads states of a level by number; fastest in order (each state is decoded from the one before it). */
export class LevelReader {
  private readonly data: (Uint8Array | null)[];
  private readonly index: Uint32Array[];
  private readonly cur: Int32Array;
  /** the state in `cur`, and where the next one's encoding starts */
  private at = -1;
  private block = 0;
  private pos = 0;
  /** a block read back from the spill file (one at a time: a reader goes through its slice in order) */
  private loaded = -1;
  private loadBuf: Uint8Array | null = null;
  /** with `raw`: the raw hash of the state read last (kept as each difference is applied), and the base's */
  readonly hash = new Int32Array(2);
  private readonly baseHash = new Int32Array(2);
  constructor(
    private readonly v: LevelView,
    private readonly base: Int32Array,
    private readonly raw: RawSeen | null = null,
  ) {
    this.data = v.data.map((b) => (b ? new Uint8Array(b) : null));
    this.index = v.index.map((b) => new Uint32Array(b));
    this.cur = new Int32Array(v.words);
    raw?.hash(base, this.baseHash);
  }
  /** Block `b`'s bytes, read back from the spill file if it went there. */
  private bytesOf(b: number): Uint8Array {
    const d = this.data[b];
    if (d) return d;
    const sp = this.v.spilled!;
    if (this.loaded !== b) {
      this.loadBuf ??= new Uint8Array(sp.blockBytes);
      const n = this.v.ends[b]!;
      for (let got = 0; got < n; ) {
        const r = readSync(sp.fd, this.loadBuf, got, n - got, sp.at[b]! + got);
        if (r <= 0) throw new Error(`explorer: the level file ended inside block ${b}`);
        got += r;
      }
      this.loaded = b;
    }
    return this.loadBuf!;
  }
  /** Decodes state `k` into `m`; returns its id in the parent log. */
  read(k: number, m: Int32Array): number {
    if (k !== this.at + 1 || k % RESTART === 0) {
      // from the restart point at or before k
      const r = Math.floor(k / RESTART);
      const ib = Math.floor(r / INDEX_PER_BLOCK);
      const e = (r - ib * INDEX_PER_BLOCK) * 2;
      this.block = this.index[ib]![e]!;
      this.cur.set(this.base);
      this.hash.set(this.baseHash);
      this.pos = applyDelta(this.bytesOf(this.block), this.index[ib]![e + 1]!, this.cur, this.raw, this.hash);
      this.at = r * RESTART;
    }
    while (this.at < k) {
      // a state's encoding may start in the next block
      if (this.pos >= this.v.ends[this.block]!) {
        this.block++;
        this.pos = 0;
      }
      this.pos = applyDelta(this.bytesOf(this.block), this.pos, this.cur, this.raw, this.hash);
      this.at++;
    }
    m.set(this.cur);
    return this.v.firstId + k;
  }
}
