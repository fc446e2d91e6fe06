/**
 * Helpers for operations' explorer families: declaring per-page and
 * per-process families, and the cheap state tests their actions are
 * enabled by.
 */
import type { KState } from '../model/layout.js';
import type { ActionSpec, ExploreCx, ExploreFamily, ExplorePage } from './types.js';
import type { Profile } from '../profiles/types.js';
import {
  pte_lookup,
  pipe_open,
  pipe_holders,
  pipe_nbuf,
  ref_kind,
  ref_owner,
  ref_handle,
  ref_vpage,
  ref_state,
  page_test,
} from '../model/mm_types.js';
import { pte_present, pte_pfn } from '../model/pte.js';
import { REF_GUP_GET, REF_GUP_PIN, REF_TRANSIENT, REFST_LRU_BATCH } from '../model/layout.js';

export const always = (): boolean => true;

type FamilyOpts = { lacks?: (p: Profile) => boolean; impliedBy?: readonly string[] };

/** A family of per-page actions (for every process, every page of every region). */
export function perPage(
  name: string,
  rank: number,
  doc: string,
  fn: (t: number, pg: ExplorePage, x: ExploreCx) => ActionSpec[],
  opts: FamilyOpts = {},
): ExploreFamily {
  return { name, rank, doc, perPage: fn, ...opts };
}

/** A family of per-process actions. */
export function perProcess(
  name: string,
  rank: number,
  doc: string,
  fn: (t: number, x: ExploreCx) => ActionSpec[],
  opts: FamilyOpts = {},
): ExploreFamily {
  return { name, rank, doc, perProcess: fn, ...opts };
}

/** A present PTE maps (t, va). */
export function mapped(s: KState, t: number, va: number): boolean {
  return pte_present(pte_lookup(s, t, va));
}

/** The PFN (t, va) maps, or 0. */
export function mappedPfn(s: KState, t: number, va: number): number {
  const pte = pte_lookup(s, t, va);
  return pte_present(pte) ? pte_pfn(pte) : 0;
}

/** Pipe p is open and t holds it. */
export function pipeHeld(s: KState, p: number, t: number): boolean {
  return pipe_open(s, p) && (pipe_holders(s, p) & (1 << t)) !== 0;
}

export function pipeBuffers(s: KState, p: number): number {
  return pipe_nbuf(s, p);
}

/** t holds GUP references (a pin or a get) under handle h. */
export function hasHandle(s: KState, t: number, h: number): boolean {
  for (let r = 0; r < s.L.geo.refs; r++) {
    const k = ref_kind(s, r);
    if ((k === REF_GUP_PIN || k === REF_GUP_GET) && ref_owner(s, r) === t && ref_handle(s, r) === h) return true;
  }
  return false;
}

/** t holds an injected transient reference on page va (of the LRU-batch kind or not). */
export function hasTransient(s: KState, t: number, va: number, lru: boolean): boolean {
  for (let r = 0; r < s.L.geo.refs; r++) {
    if (ref_kind(s, r) !== REF_TRANSIENT || ref_owner(s, r) !== t || ref_vpage(s, r) !== va) continue;
    if (((ref_state(s, r) & REFST_LRU_BATCH) !== 0) === lru) return true;
  }
  return false;
}

/** The page (t, va) maps has a page flag. */
export function mappedHas(s: KState, t: number, va: number, flag: number): boolean {
  const pfn = mappedPfn(s, t, va);
  return pfn !== 0 && page_test(s, pfn, flag);
}
