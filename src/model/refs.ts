/**
 * The table of references held outside page tables (GUP references and
 * pins, io_uring buffers, O_DIRECT in flight, injected transient
 * references), with the bookkeeping the pin-coherence property needs.
 */
import type { KState } from './layout.js';
import {
  REF_WORDS,
  R_KIND,
  R_OWNER,
  R_VPAGE,
  R_PFN,
  R_FOLL,
  R_STATE,
  R_HANDLE,
  R_FILE,
  R_INDEX,
  REF_FREE,
  REFST_DETACHED,
} from './layout.js';
import { ld, st, fill_words } from './layout.js';

/** A reference as a plain record. */
export interface Ref {
  kind: number;
  owner: number;
  vpage: number;
  pfn: number;
  foll: number;
  state: number;
  handle: number;
  /** file and file page of an O_DIRECT transfer in flight (0 otherwise) */
  file?: number;
  index?: number;
}

/** One field of reference `r`, without building the record (loops over a 1 GiB page's 262144 pins). */
export function ref_kind(s: KState, r: number): number {
  return ld(s, s.L.refs + r * REF_WORDS + R_KIND);
}
export function ref_owner(s: KState, r: number): number {
  return ld(s, s.L.refs + r * REF_WORDS + R_OWNER);
}
export function ref_vpage(s: KState, r: number): number {
  return ld(s, s.L.refs + r * REF_WORDS + R_VPAGE);
}
export function ref_pfn(s: KState, r: number): number {
  return ld(s, s.L.refs + r * REF_WORDS + R_PFN);
}
export function ref_foll(s: KState, r: number): number {
  return ld(s, s.L.refs + r * REF_WORDS + R_FOLL);
}
export function ref_state(s: KState, r: number): number {
  return ld(s, s.L.refs + r * REF_WORDS + R_STATE);
}

export function ref_get(s: KState, r: number): Ref {
  const o = s.L.refs + r * REF_WORDS;
  return {
    kind: ld(s, o + R_KIND),
    owner: ld(s, o + R_OWNER),
    vpage: ld(s, o + R_VPAGE),
    pfn: ld(s, o + R_PFN),
    foll: ld(s, o + R_FOLL),
    state: ld(s, o + R_STATE),
    handle: ld(s, o + R_HANDLE),
    file: ld(s, o + R_FILE),
    index: ld(s, o + R_INDEX),
  };
}

/**
 * Stores a reference in the first free slot; returns its index, or -1 when
 * the table is full. `from`: no slot below it is free (the index after the
 * last one a loop took), so a loop over a 1 GiB page stays linear.
 */
export function ref_add(s: KState, ref: Ref, from = 0): number {
  for (let r = from; r < s.L.geo.refs; r++) {
    const o = s.L.refs + r * REF_WORDS;
    if (ld(s, o + R_KIND) !== REF_FREE) continue;
    st(s, o + R_KIND, ref.kind);
    st(s, o + R_OWNER, ref.owner);
    st(s, o + R_VPAGE, ref.vpage);
    st(s, o + R_PFN, ref.pfn);
    st(s, o + R_FOLL, ref.foll);
    st(s, o + R_STATE, ref.state);
    st(s, o + R_HANDLE, ref.handle);
    st(s, o + R_FILE, ref.file ?? 0);
    st(s, o + R_INDEX, ref.index ?? 0);
    return r;
  }
  return -1;
}

export function ref_free(s: KState, r: number): void {
  const o = s.L.refs + r * REF_WORDS;
  fill_words(s, 0, o, o + REF_WORDS);
}

/** Indices of the references matching a predicate, in table order. */
export function refs_where(s: KState, pred: (r: Ref) => boolean): number[] {
  const out: number[] = [];
  for (let r = 0; r < s.L.geo.refs; r++) {
    if (ld(s, s.L.refs + r * REF_WORDS + R_KIND) === REF_FREE) continue;
    if (pred(ref_get(s, r))) out.push(r);
  }
  return out;
}

/** Every reference in use, by index (no records built: a 1 GiB buffer has 262144). */
export function refs_used(s: KState): number[] {
  const out: number[] = [];
  for (let r = 0; r < s.L.geo.refs; r++) if (ld(s, s.L.refs + r * REF_WORDS + R_KIND) !== REF_FREE) out.push(r);
  return out;
}

/**
 * The owner unmapped or replaced [start, end) itself: its pins there are no
 * longer expected to match what it maps.
 */
export function refs_detach_range(s: KState, owner: number, start: number, end: number): void {
  for (let r = 0; r < s.L.geo.refs; r++) {
    const o = s.L.refs + r * REF_WORDS;
    if (ld(s, o + R_KIND) === REF_FREE || ld(s, o + R_OWNER) !== owner) continue;
    const v = ld(s, o + R_VPAGE);
    if (v >= start && v < end) st(s, o + R_STATE, ld(s, o + R_STATE) | REFST_DETACHED);
  }
}
