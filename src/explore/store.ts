/**
 * A set of 64-bit fingerprints in an open-addressing table of two
 * Uint32Arrays: not a JS Set, so not bounded by V8's 2^24 entries, and
 * about 10 bytes per entry.
 */

const EMPTY = 0;

/** Fingerprints, 8 bytes each, in a table kept between 72% and 90% full. */
export class FingerprintSet {
  /** the table (in shared memory when `shared`: other threads may read it with {@link FingerprintSet.contains}) */
  hi: Uint32Array;
  lo: Uint32Array;
  private cap: number;
  size = 0;

  constructor(initial = 1 << 16, private readonly shared = false) {
    this.cap = initial;
    this.hi = this.table(this.cap);
    this.lo = this.table(this.cap);
  }

  private table(n: number): Uint32Array {
    return this.shared ? new Uint32Array(new SharedArrayBuffer(n * 4)) : new Uint32Array(n);
  }

  /** Membership in a table given as its two arrays (a reader in another thread; no writer meanwhile). */
  static contains(hi: Uint32Array, lo: Uint32Array, h: number, l: number): boolean {
    if (h === EMPTY && l === EMPTY) l = 1;
    const cap = hi.length;
    let i = Math.floor(slotHash(h, l) / 4294967296 * cap);
    for (;;) {
      const a = hi[i]!;
      const b = lo[i]!;
      if (a === EMPTY && b === EMPTY) return false;
      if (a === h && b === l) return true;
      if (++i === cap) i = 0;
    }
  }

  /** Makes room for `n` more entries at once (one rehash instead of several). */
  reserve(n: number): void {
    let cap = this.cap;
    while ((this.size + n) * 10 >= cap * 9) cap = Math.ceil(cap * 1.25);
    if (cap !== this.cap) this.rehash(cap);
  }

  /** Adds a fingerprint; true if it was new. (0:0 is remapped: it marks empty slots.) */
  add(h: number, l: number): boolean {
    if (h === EMPTY && l === EMPTY) l = 1;
    if (this.size * 10 >= this.cap * 9) this.grow();
    return this.insert(h, l);
  }

  has(h: number, l: number): boolean {
    return FingerprintSet.contains(this.hi, this.lo, h, l);
  }

  private slot(h: number, l: number): number {
    // fast range reduction of a mixed 32-bit value
    return Math.floor(slotHash(h, l) / 4294967296 * this.cap);
  }

  private insert(h: number, l: number): boolean {
    let i = this.slot(h, l);
    for (;;) {
      const a = this.hi[i]!;
      const b = this.lo[i]!;
      if (a === EMPTY && b === EMPTY) {
        this.hi[i] = h;
        this.lo[i] = l;
        this.size++;
        return true;
      }
      if (a === h && b === l) return false;
      if (++i === this.cap) i = 0;
    }
  }

  private grow(): void {
    // grow by 1.25: the table stays 72-90% full, about 10 bytes per fingerprint
    this.rehash(Math.ceil(this.cap * 1.25));
  }

  private rehash(cap: number): void {
    const oh = this.hi;
    const ol = this.lo;
    this.cap = cap;
    this.hi = this.table(this.cap);
    this.lo = this.table(this.cap);
    this.size = 0;
    for (let i = 0; i < oh.length; i++) {
      if (oh[i] !== EMPTY || ol[i] !== EMPTY) this.insert(oh[i]!, ol[i]!);
    }
  }

  get bytes(): number {
    return this.cap * 8;
  }
}

/** Mixes both halves of a fingerprint into a table position (0 .. 2^32-1). */
export function slotHash(h: number, l: number): number {
  let x = (h ^ Math.imul(l ^ (l >>> 15), 0x85ebca6b)) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Fingerprints with a number each (a level's states by position: the sleep sets' intersection). */
export class FingerprintIndex {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private val: Int32Array;
  private cap: number;
  size = 0;

  constructor(initial = 1 << 12) {
    this.cap = initial;
    this.hi = new Uint32Array(initial);
    this.lo = new Uint32Array(initial);
    this.val = new Int32Array(initial);
  }

  /** The number of a fingerprint, or -1. */
  get(h: number, l: number): number {
    if (h === EMPTY && l === EMPTY) l = 1;
    let i = Math.floor((slotHash(h, l) / 4294967296) * this.cap);
    for (;;) {
      const a = this.hi[i]!;
      const b = this.lo[i]!;
      if (a === EMPTY && b === EMPTY) return -1;
      if (a === h && b === l) return this.val[i]!;
      if (++i === this.cap) i = 0;
    }
  }

  /** Sets the number of a fingerprint not in the index. */
  set(h: number, l: number, v: number): void {
    if (h === EMPTY && l === EMPTY) l = 1;
    if (this.size * 10 >= this.cap * 8) {
      const { hi, lo, val } = this;
      this.cap *= 2;
      this.hi = new Uint32Array(this.cap);
      this.lo = new Uint32Array(this.cap);
      this.val = new Int32Array(this.cap);
      this.size = 0;
      for (let i = 0; i < hi.length; i++) if (hi[i] !== EMPTY || lo[i] !== EMPTY) this.set(hi[i]!, lo[i]!, val[i]!);
    }
    let i = Math.floor((slotHash(h, l) / 4294967296) * this.cap);
    while (this.hi[i] !== EMPTY || this.lo[i] !== EMPTY) if (++i === this.cap) i = 0;
    this.hi[i] = h;
    this.lo[i] = l;
    this.val[i] = v;
    this.size++;
  }
}

/**
 * The successors a level's chunks found, shared by the threads that expand
 * them (src/explore/bfs.ts): each fingerprint with the least chunk that
 * found it so far. A thread sends a successor unless a chunk no later than
 * its own found it: the first chunk (in the order the coordinator takes
 * them) that finds a successor always sends it, and a thread does not
 * encode and send what another thread's earlier chunk sent already.
 *
 * Slots of three words in shared memory: the chunk (plus one; 0 empty, -1
 * being written), then the fingerprint. Written with atomics: a slot is
 * claimed by setting its chunk word from 0 to -1, filled, then given its
 * chunk, which only ever decreases after. A table too full to place a
 * fingerprint within PROBES slots lets it be sent: a duplicate, which the
 * coordinator drops.
 */
export class LevelClaims {
  /** the table (Int32Array over a SharedArrayBuffer), 3 words a slot */
  readonly tab: Int32Array;
  constructor(slots: number) {
    this.tab = new Int32Array(new SharedArrayBuffer(slots * 3 * 4));
  }

  /** Empties the table for the next level (no thread reads it meanwhile). */
  clear(): void {
    this.tab.fill(0);
  }

  get slots(): number {
    return this.tab.length / 3;
  }

  /** Whether chunk `c` sends successor h:l (no chunk up to c found it before); records c. */
  static claim(tab: Int32Array, h: number, l: number, c: number): boolean {
    return LevelClaims.claimIn(tab, h, l, c) !== CLAIM_DROP;
  }

  /**
   * claim(), saying why it sends: CLAIM_SEND when the table records c for
   * h:l (a later find of it, by any chunk, is then judged by the table),
   * CLAIM_NO_ROOM when it has no slot for it (only the finder can deduplicate it).
   */
  static claimIn(tab: Int32Array, h: number, l: number, c: number): number {
    const slots = tab.length / 3;
    let i = Math.floor((slotHash(h, l) / 4294967296) * slots);
    const mine = c + 1;
    for (let probe = 0; probe < PROBES; probe++) {
      const at = 3 * i;
      let k = Atomics.load(tab, at);
      if (k === 0) {
        if (Atomics.compareExchange(tab, at, 0, -1) === 0) {
          Atomics.store(tab, at + 1, h);
          Atomics.store(tab, at + 2, l);
          Atomics.store(tab, at, mine);
          return CLAIM_SEND;
        }
        k = Atomics.load(tab, at);
      }
      // a slot being written is waited for (a few stores): a fingerprint has one slot, so a chunk sends it once
      while (k === -1) k = Atomics.load(tab, at);
      if (Atomics.load(tab, at + 1) === (h | 0) && Atomics.load(tab, at + 2) === (l | 0)) {
        for (;;) {
          if (k <= mine) return CLAIM_DROP;
          const was = Atomics.compareExchange(tab, at, k, mine);
          if (was === k) return CLAIM_SEND;
          k = was;
        }
      }
      if (++i === slots) i = 0;
    }
    return CLAIM_NO_ROOM;
  }
}

/** What LevelClaims.claimIn() says of a successor. */
export const CLAIM_DROP = 0;
export const CLAIM_SEND = 1;
export const CLAIM_NO_ROOM = 2;

/** Slots LevelClaims.claim() looks at before it lets a successor be sent. */
const PROBES = 32;
