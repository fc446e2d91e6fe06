/**
 * A thread's memory of the raw states it has fingerprinted: a bounded,
 * lossy table of 64-bit hashes of states as stored, before
 * canonicalisation, less the words the canonical form never reads
 * (Canonicalizer.unread(): history and message-only fields). The canonical
 * form is a function of the words hashed, so a successor whose raw state
 * the thread met before has a fingerprint the search has handled already
 * (visited, or found in this level by this thread's chunk or an earlier
 * one): it needs no canonical walk and no lookup. On spin-reference 3 x 1
 * two thirds of the successors that are not self-loops are such repeats
 * (two orders of two actions that commute word for word, or differ only in
 * history).
 *
 * The hash is a sum over words of a per-word mix of (word number, value),
 * two independent 32-bit sums, so a successor's hash is its parent's plus
 * the change of the words the step stored (`StoreLog`), and a level reader
 * keeps its state's hash as it applies each difference. A slot holds the
 * last hash that fell in it: a miss costs a walk, never a state. Only a
 * hash whose 50 checked bits agree with another state's is taken for it:
 * with L lookups, about L / 2^50 for a whole search (5 x 10^-9 for the 6.2
 * million of spin-reference 3 x 1), far below the fingerprints' own
 * collision estimate.
 */

/**
 * Slots of the table (2 MiB per thread). On spin-reference 3 x 1, of the successors that are not
 * self-loops, 2^19 slots find 66% met again, 2^18 of two words 60%, a set of every raw state 78%.
 */
const SLOTS_LOG2 = 19;

/** A 32-bit mixer (Chris Wellons' lowbias32): every input bit moves about half the output bits. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return x ^ (x >>> 16);
}

/** What RawSeen.seen() found: a state not met before, one met, or the parent itself. */
export const NEW = 0;
export const MET = 1;
export const UNCHANGED = 2;
export type Seen = typeof NEW | typeof MET | typeof UNCHANGED;

export class RawSeen {
  /** per-word keys of the two sums */
  private readonly k1: Int32Array;
  private readonly k2: Int32Array;
  /**
   * Slot i holds the first half of the last hash whose second half's top
   * bits are i, its low bit set (an empty slot, 0, matches nothing): a
   * hash is met when 50 of its bits agree (31 checked, 19 the slot).
   */
  private readonly tab = new Int32Array(1 << SLOTS_LOG2);

  /**
   * `skip`: words left out of the hash (1), those the canonical form never
   * reads (Canonicalizer.unread()): states that differ only in them have one
   * fingerprint, so they are one raw state here too.
   */
  constructor(
    words: number,
    readonly skip: Uint8Array = new Uint8Array(words),
  ) {
    this.k1 = new Int32Array(words);
    this.k2 = new Int32Array(words);
    for (let i = 0; i < words; i++) {
      this.k1[i] = mix(2 * i + 0x3c6ef372);
      this.k2[i] = mix(2 * i + 1 + 0x1b873593);
    }
  }

  /** word i holding v, in the first sum */
  h1(i: number, v: number): number {
    return mix(v ^ this.k1[i]!);
  }

  /** word i holding v, in the second sum */
  h2(i: number, v: number): number {
    return mix(Math.imul(v, 0x9e3779b1) ^ this.k2[i]!);
  }

  /** The hash of `m`, its two halves in `out`. */
  hash(m: Int32Array, out: Int32Array): void {
    let a = 0;
    let b = 0;
    for (let i = 0; i < m.length; i++) {
      if (this.skip[i]) continue;
      const v = m[i]!;
      a = (a + this.h1(i, v)) | 0;
      b = (b + this.h2(i, v)) | 0;
    }
    out[0] = a;
    out[1] = b;
  }

  /**
   * Whether the step that made `child` from its parent (`pm`, raw hash
   * `ph`) changed no word it hashes (UNCHANGED: the parent's fingerprint),
   * made a state this thread met before (MET), or a new one (NEW,
   * remembered). Only the words `idx[0..n)`, the ones the step stored, can
   * differ.
   */
  seen(ph: Int32Array, pm: Int32Array, cm: Int32Array, idx: Int32Array, n: number): Seen {
    let a = ph[0]!;
    let b = ph[1]!;
    let changed = 0;
    const skip = this.skip;
    for (let k = 0; k < n; k++) {
      const i = idx[k]!;
      const o = pm[i]!;
      const v = cm[i]!;
      if (o === v || skip[i]) continue;
      changed++;
      a = (a + this.h1(i, v) - this.h1(i, o)) | 0;
      b = (b + this.h2(i, v) - this.h2(i, o)) | 0;
    }
    if (changed === 0) return UNCHANGED;
    const s = b >>> (32 - SLOTS_LOG2);
    const t = this.tab;
    if (t[s] === (a | 1)) return MET;
    t[s] = a | 1;
    return NEW;
  }
}
