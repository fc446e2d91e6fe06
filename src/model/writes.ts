/**
 * Write records: what makes content traceable. Every write stores a write
 * id (wid) in the page it fills; the record says who made it and when, and
 * every task has a "vis" bitset of the wids it may legitimately observe
 * (its own writes, and what its parent could observe when it forked).
 *
 * Scenarios give every write step its own wid; the explorer gives a task one
 * wid per fork epoch (as cowlab's SPIN reference model does), which keeps the
 * state space finite. Unreferenced wids are collected when the table fills.
 */
import type { KState } from './layout.js';
import {
  WRITE_WORDS,
  W_FLAGS,
  W_WRITER,
  W_STEP,
  W_SRC,
  W_VALUE,
  W_BASE,
  W_RANGE,
  W_FROM,
  W_SHIFT,
  WR_USED,
  WR_SHARED,
  PAGE_WORDS,
  PG_FLAGS,
  PG_DATA,
  PGF_ALLOC,
  SWAP_WORDS,
  S_USED,
  S_DATA,
} from './layout.js';
import { vis_set, vis_test, vis_clear_all_of, task_curwid, task_set_curwid, write_flags, page_data, page_set_data } from './mm_types.js';
import { ModelBug } from './bug.js';
import { ld, st } from './layout.js';

function wro(s: KState, w: number): number {
  return s.L.writes + w * WRITE_WORDS;
}

/** Marks the wids still stored anywhere (pages, swap slots), in `live` (cleared first) when given. */
function liveWids(s: KState, live: Uint8Array = new Uint8Array(s.L.geo.writes)): Uint8Array {
  for (let i = 0; i < live.length; i++) live[i] = 0;
  live[0] = 1;
  for (let pfn = 0; pfn < s.L.geo.frames; pfn++) {
    const o = s.L.memmap + pfn * PAGE_WORDS;
    if (ld(s, o + PG_FLAGS) & PGF_ALLOC) live[ld(s, o + PG_DATA)] = 1;
  }
  for (let i = 0; i < s.L.geo.swapSlots; i++) {
    const o = s.L.swap + i * SWAP_WORDS;
    if (ld(s, o + S_USED) && ld(s, o + S_DATA) >= 0) live[ld(s, o + S_DATA)] = 1;
  }
  // a copy keeps its source alive (expectations follow the chain), a transfer smaller than a page the
  // content it was written over; whatever the slots' order. (A reused stack, no array per record: the
  // explorer collects after every step.)
  const n = s.L.geo.writes;
  if (todo.length < n) todo = new Int32Array(n);
  let top = 0;
  for (let w = 1; w < n; w++) if (live[w]) todo[top++] = w;
  while (top > 0) {
    const o = wro(s, todo[--top]!);
    for (let f = 0; f < 3; f++) {
      const x = ld(s, o + (f === 0 ? W_SRC : f === 1 ? W_BASE : W_FROM));
      if (x >= 0 && !live[x]) {
        live[x] = 1;
        todo[top++] = x;
      }
    }
  }
  return live;
}
/** liveWids()'s stack of records to follow (each record is pushed at most once: geo.writes entries) */
let todo = new Int32Array(0);

function freeSlot(s: KState, from = 1): number {
  for (let w = from; w < s.L.geo.writes; w++) if ((ld(s, wro(s, w) + W_FLAGS) & WR_USED) === 0) return w;
  return -1;
}

/**
 * Frees every wid no page or swap slot holds (nor a copy of it), and ends
 * the epoch of a task whose epoch wid is freed; returns how many were freed.
 * Nothing can observe a freed wid any more: no content holds it, and its id
 * is handed out again only with its vis bits cleared. The explorer collects
 * after every step (`scratch`: a buffer of geo.writes bytes it reuses), so
 * states that differ only in dead records are one state.
 */
export function writes_gc(s: KState, scratch?: Uint8Array): number {
  const live = liveWids(s, scratch);
  let n = 0;
  for (let w = 1; w < s.L.geo.writes; w++) {
    const o = wro(s, w);
    if ((ld(s, o + W_FLAGS) & WR_USED) === 0 || live[w]) continue;
    st(s, o + W_FLAGS, 0);
    st(s, o + W_WRITER, -1);
    st(s, o + W_STEP, -1);
    st(s, o + W_SRC, -1);
    st(s, o + W_VALUE, 0);
    st(s, o + W_BASE, -1);
    st(s, o + W_RANGE, 0);
    st(s, o + W_FROM, -1);
    st(s, o + W_SHIFT, 0);
    vis_clear_all_of(s, w);
    for (let t = 0; t < s.L.geo.tasks; t++) if (task_curwid(s, t) === w) task_set_curwid(s, t, 0);
    n++;
  }
  return n;
}

/**
 * Whether a step from `parent` that stored words `idx[0..n)` of `s` may have
 * left a dead record, `parent` holding none: only a page's allocation or
 * content, a swap slot's use or content, or a record's flags or links
 * decide which records are live (liveWids()), so a step that changed none
 * of them did not. The explorer collects only then.
 */
export function writes_gc_needed(s: KState, parent: Int32Array, idx: Int32Array, n: number): boolean {
  const L = s.L;
  const g = L.geo;
  const m = s.m;
  const memEnd = L.memmap + g.frames * PAGE_WORDS;
  const swapEnd = L.swap + g.swapSlots * SWAP_WORDS;
  const wEnd = L.writes + g.writes * WRITE_WORDS;
  for (let k = 0; k < n; k++) {
    const i = idx[k]!;
    const was = parent[i]!;
    const now = m[i]!;
    if (was === now) continue;
    if (i >= L.memmap && i < memEnd) {
      const f = (i - L.memmap) % PAGE_WORDS;
      if ((f === PG_FLAGS && ((was ^ now) & PGF_ALLOC) !== 0) || f === PG_DATA) return true;
    } else if (i >= L.swap && i < swapEnd) {
      const f = (i - L.swap) % SWAP_WORDS;
      if (f === S_USED || f === S_DATA) return true;
    } else if (i >= L.writes && i < wEnd) {
      const f = (i - L.writes) % WRITE_WORDS;
      if (f === W_FLAGS || f === W_SRC || f === W_BASE || f === W_FROM) return true;
    }
  }
  return false;
}

/** The first free wid; `from`: none below it is free (a loop's last wid + 1), so a 262144-page loop stays linear. */
function allocWid(s: KState, from = 1): number {
  let w = freeSlot(s, from);
  if (w < 0) {
    writes_gc(s);
    w = freeSlot(s);
  }
  if (w < 0) throw new ModelBug(`write table full (${s.L.geo.writes} entries all referenced)`);
  return w;
}

/**
 * The wid for a write attributed to task `writer` (its own memory, or a
 * device writing through its pin). `fresh` allocates a new wid; otherwise
 * the task's current epoch wid is reused.
 */
export function new_private_write(s: KState, writer: number, step: number, fresh: boolean, extra = 0, value = 0): number {
  if (!fresh && value === 0) {
    const cur = task_curwid(s, writer);
    if (cur !== 0 && write_flags(s, cur) === (WR_USED | extra)) return cur;
  }
  const w = allocWid(s);
  const o = wro(s, w);
  st(s, o + W_FLAGS, WR_USED | extra);
  st(s, o + W_WRITER, writer);
  st(s, o + W_STEP, step);
  st(s, o + W_SRC, -1);
  st(s, o + W_VALUE, value);
  st(s, o + W_BASE, -1);
  st(s, o + W_RANGE, 0);
  st(s, o + W_FROM, -1);
  st(s, o + W_SHIFT, 0);
  vis_set(s, writer, w);
  if (!fresh && extra === 0 && value === 0) task_set_curwid(s, writer, w);
  return w;
}

/**
 * A write to a shared object (a file or MAP_SHARED memory), visible to all
 * by design. `src` is the wid whose data was copied there, or -1.
 */
export function new_shared_write(s: KState, writer: number, step: number, src: number, value = 0, from = 1): number {
  if (src >= 0 && (ld(s, wro(s, src) + W_FLAGS) & WR_SHARED) !== 0) return src;
  const w = allocWid(s, from);
  const o = wro(s, w);
  st(s, o + W_FLAGS, WR_USED | WR_SHARED);
  st(s, o + W_WRITER, writer);
  st(s, o + W_STEP, step);
  st(s, o + W_SRC, src);
  st(s, o + W_VALUE, src >= 0 ? ld(s, wro(s, src) + W_VALUE) : value);
  st(s, o + W_BASE, -1);
  st(s, o + W_RANGE, 0);
  st(s, o + W_FROM, -1);
  st(s, o + W_SHIFT, 0);
  return w;
}

/** Bytes in a page: what a transfer smaller than a page is measured against. */
export const PAGE_BYTES = 4096;

/**
 * A transfer smaller than a page (bytes [lo, lo + len) of a page whose
 * content was `base`): a record of its own per page, so the page's content
 * is `base` with those bytes replaced. Shared (a MAP_SHARED page) or private
 * to `writer`, as the whole-page write would be.
 */
export function new_patch_write(
  s: KState,
  writer: number,
  step: number,
  base: number,
  lo: number,
  len: number,
  shared: boolean,
  /** the content the bytes come from (a device copying a file), -1: the step's own */
  from = -1,
  /** with `from`: byte j of the page is byte j - shift of `from` */
  shift = 0,
): number {
  if (len <= 0 || lo < 0 || lo + len > PAGE_BYTES) throw new ModelBug(`patch of bytes ${lo}+${len} does not fit a page`);
  const w = allocWid(s);
  const o = wro(s, w);
  st(s, o + W_FLAGS, WR_USED | (shared ? WR_SHARED : 0));
  st(s, o + W_WRITER, writer);
  st(s, o + W_STEP, step);
  st(s, o + W_SRC, -1);
  st(s, o + W_VALUE, 0);
  st(s, o + W_BASE, base);
  st(s, o + W_RANGE, lo | (len << 13));
  st(s, o + W_FROM, from);
  st(s, o + W_SHIFT, shift);
  if (!shared) vis_set(s, writer, w);
  return w;
}

/** A transfer smaller than a page: the content below it and its bytes; null for a whole-page write. */
export function wid_patch(s: KState, w: number): { base: number; lo: number; len: number; from: number; shift: number } | null {
  const o = wro(s, w);
  const r = ld(s, o + W_RANGE);
  if (r === 0) return null;
  return { base: ld(s, o + W_BASE), lo: r & 0x1fff, len: r >>> 13, from: ld(s, o + W_FROM), shift: ld(s, o + W_SHIFT) };
}

/**
 * May task `t` observe content `w`: its own write, what it could see when it
 * forked, and for bytes written over other content, that content too.
 */
export function wid_visible(s: KState, t: number, w: number): boolean {
  let x = w;
  for (let i = 0; i < 4096; i++) {
    if (x !== 0 && !wid_is_shared(s, x) && !vis_test(s, t, x)) return false;
    const p = wid_patch(s, x);
    if (p === null) return true;
    if (p.from >= 0 && !wid_visible(s, t, p.from)) return false;
    x = p.base;
  }
  return true;
}

/**
 * Lets task `t` observe what write `w` stored (ksmd mapped it a page of the
 * same content). A task whose epoch wid is `w` starts a new epoch: its later
 * writes must not become visible to `t` through the shared id.
 */
export function vis_grant(s: KState, t: number, w: number): void {
  vis_set(s, t, w);
  for (let u = 0; u < s.L.geo.tasks; u++) if (u !== t && task_curwid(s, u) === w) task_set_curwid(s, u, 0);
}

/** The value a write stored (0: content no other write has). */
export function write_value(s: KState, w: number): number {
  return ld(s, wro(s, w) + W_VALUE);
}

/**
 * What two pages' contents compare as (pages_identical(), ksmd's checksum):
 * equal keys mean equal bytes. Zero-filled content is 0, a write of value v
 * is -v, any other write the id of its original write (copies of it have
 * its bytes; no other write has them).
 */
export function content_key(s: KState, w: number): number {
  if (w === 0) return 0;
  // a copy (through a file, O_DIRECT, a pipe) has its original's bytes: the root write stands for both
  const root = wid_root(s, w);
  const v = write_value(s, root);
  return v > 0 ? -v : root;
}

/** The original write behind a wid (following copies into files). */
export function wid_root(s: KState, w: number): number {
  let x = w;
  for (let i = 0; i < 64; i++) {
    const src = ld(s, wro(s, x) + W_SRC);
    if (src < 0) return x;
    x = src;
  }
  return x;
}

export function wid_is_shared(s: KState, w: number): boolean {
  return (ld(s, wro(s, w) + W_FLAGS) & WR_SHARED) !== 0;
}

/**
 * The write ids one operation uses, allocated on first use: a shared one
 * for stores addressed through a MAP_SHARED mapping (writes to the object,
 * visible to all by design) and a private one for stores through a private
 * mapping, whatever page they physically land in: a private store that
 * reaches the page cache is exactly what private-file-integrity catches.
 */
export class OpWrites {
  private priv = -1;
  private shared = -1;
  constructor(
    private readonly s: KState,
    private readonly writer: number,
    private readonly step: number,
    private readonly fresh: boolean,
    /** the value stored (a `write` with `value:`), 0 for content of its own */
    private readonly value = 0,
  ) {}

  /** The wid for a store through a shared (MAP_SHARED) or private mapping. */
  forMapping(shared: boolean): number {
    if (shared) {
      if (this.shared < 0) this.shared = new_shared_write(this.s, this.writer, this.step, -1, this.value);
      return this.shared;
    }
    if (this.priv < 0) this.priv = new_private_write(this.s, this.writer, this.step, this.fresh, 0, this.value);
    return this.priv;
  }

  /**
   * Stores the transfer's bytes in frame `pfn`, the i-th page it reaches
   * (`lo`, `len`: transfer_bytes()): the whole page's wid, or a record of
   * the bytes written over what the frame held.
   */
  store(pfn: number, shared: boolean, i: number, lo: number, len: number): void {
    const [a, b] = transfer_bytes(i, lo, len);
    this.storeBytes(pfn, shared, a, b);
  }

  /** Stores bytes [a, b) of the page in frame `pfn` (all of them: the whole page's wid). */
  storeBytes(pfn: number, shared: boolean, a: number, b: number): void {
    if (a === 0 && b === PAGE_BYTES) page_set_data(this.s, pfn, this.forMapping(shared));
    else page_set_data(this.s, pfn, new_patch_write(this.s, this.writer, this.step, page_data(this.s, pfn), a, b - a, shared));
  }
}

/**
 * Bytes [a, b) of the i-th page a transfer reaches: `len` bytes from byte
 * `lo` of its first page (`len` 0: whole pages).
 */
export function transfer_bytes(i: number, lo: number, len: number): [number, number] {
  if (len === 0) return [0, PAGE_BYTES];
  return [Math.max(lo, i * PAGE_BYTES) - i * PAGE_BYTES, Math.min(lo + len, (i + 1) * PAGE_BYTES) - i * PAGE_BYTES];
}

/** Pages a transfer of `len` bytes from byte `lo` of its first page reaches (`len` 0: `pages` whole pages). */
export function transfer_pages(pages: number, lo: number, len: number): number {
  return len === 0 ? pages : Math.ceil((lo + len) / PAGE_BYTES);
}
