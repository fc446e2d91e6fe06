/**
 * The breadth-first search's levels, stored compactly: a state is kept as
 * the words where it differs from the initial state (an explorer state of
 * 1,578 words differs in a few dozen), each as a varint gap and a zigzag
 * varint value, in blocks of shared memory that every worker reads. A
 * level costs tens of bytes per state instead of the whole state.
 */

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
  for (let i = 0; i < n; i++) {
    const v = m[i]!;
    if (v === base[i]) continue;
    pos = putVarint(out, pos, i - prev);
    pos = putVarint(out, pos, ((v << 1) ^ (v >> 31)) >>> 0);
    prev = i;
  }
  out[pos++] = 0;
  return pos;
}

/** Rebuilds into `m` the state encoded at `pos` (see {@link encodeState}); returns the end. */
export function decodeState(buf: Uint8Array, pos: number, base: Int32Array, m: Int32Array): number {
  m.set(base);
  let i = -1;
  for (;;) {
    let x = 0;
    let shift = 0;
    let b: number;
    do {
      b = buf[pos++]!;
      x |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    if (x === 0) return pos;
    i += x >>> 0;
    x = 0;
    shift = 0;
    do {
      b = buf[pos++]!;
      x |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    const z = x >>> 0;
    m[i] = (z >>> 1) ^ -(z & 1);
  }
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
/** Index entries per index block: block number and offset of each state, and its id. */
const INDEX_PER_BLOCK = 1 << 16;

/** A level of encoded states in shared memory (readable by every worker). */
export class PackedLevel {
  readonly data: SharedArrayBuffer[] = [];
  readonly index: SharedArrayBuffer[] = [];
  private dataViews: Uint8Array[] = [];
  private indexViews: Uint32Array[] = [];
  private used = 0;
  length = 0;
  private readonly blockBytes: number;

  constructor(readonly words: number) {
    this.blockBytes = Math.max(BLOCK_BYTES, maxEncodedBytes(words));
  }

  /** Appends an encoded state (bytes [from, to) of `src`) with its id in the parent log. */
  push(src: Uint8Array, from: number, to: number, id: number): void {
    const len = to - from;
    if (this.data.length === 0 || this.used + len > this.blockBytes) {
      const b = new SharedArrayBuffer(this.blockBytes);
      this.data.push(b);
      this.dataViews.push(new Uint8Array(b));
      this.used = 0;
    }
    const block = this.data.length - 1;
    this.dataViews[block]!.set(src.subarray(from, to), this.used);
    const ib = Math.floor(this.length / INDEX_PER_BLOCK);
    if (ib === this.index.length) {
      const b = new SharedArrayBuffer(INDEX_PER_BLOCK * 3 * 4);
      this.index.push(b);
      this.indexViews.push(new Uint32Array(b));
    }
    const e = (this.length - ib * INDEX_PER_BLOCK) * 3;
    const iv = this.indexViews[ib]!;
    iv[e] = block;
    iv[e + 1] = this.used;
    iv[e + 2] = id;
    this.used += len;
    this.length++;
  }

  /** Appends a whole state. */
  pushState(m: Int32Array, base: Int32Array, id: number): void {
    const tmp = new Uint8Array(maxEncodedBytes(this.words));
    this.push(tmp, 0, encodeState(m, base, tmp, 0), id);
  }

  /** What a worker needs to read the level. */
  view(): LevelView {
    return { data: this.data, index: this.index, words: this.words, length: this.length };
  }

  /** Memory the level holds. */
  get bytes(): number {
    return this.data.length * this.blockBytes + this.index.length * INDEX_PER_BLOCK * 12;
  }
}

/** A level as another thread sees it. */
export interface LevelView {
  data: SharedArrayBuffer[];
  index: SharedArrayBuffer[];
  words: number;
  length: number;
}

/** Reads states of a level by number. */
export class LevelReader {
  private readonly data: Uint8Array[];
  private readonly index: Uint32Array[];
  constructor(v: LevelView, private readonly base: Int32Array) {
    this.data = v.data.map((b) => new Uint8Array(b));
    this.index = v.index.map((b) => new Uint32Array(b));
  }
  /** Decodes state `k` into `m`; returns its id in the parent log. */
  read(k: number, m: Int32Array): number {
    const ib = Math.floor(k / INDEX_PER_BLOCK);
    const e = (k - ib * INDEX_PER_BLOCK) * 3;
    const iv = this.index[ib]!;
    decodeState(this.data[iv[e]!]!, iv[e + 1]!, this.base, m);
    return iv[e + 2]!;
  }
}
