/**
 * Model invariants: every count equals what holds it. A failure here is a
 * bug in cowlab (the model lost track of a reference), not a property of
 * the modelled kernel, and is reported as such.
 */
import type { KState } from './layout.js';
import {
  ZERO_PFN,
  PAGE_WORDS,
  PG_FLAGS,
  PG_REF,
  PG_MAPCOUNT,
  PG_PRIVATE,
  PGF_ALLOC,
  PGF_SWAPCACHE,
  PGF_ANON,
  PGF_ANON_EXCLUSIVE,
  REF_WORDS,
  R_KIND,
  R_PFN,
  R_FOLL,
  REF_FREE,
  REF_TRANSIENT,
  SWAP_WORDS,
  S_COUNT,
  S_CACHE,
  S_USED,
  P_STATE,
  P_NBUF,
  P_HDR,
  PIPEBUF_WORDS,
  PB_PFN,
  F_FLAGS,
  FF_OPEN,
  F_SIZE,
  F_HDR,
  G_LRU_N,
  G_ACT_N,
  G_PFN_HWM,
  VMA_WORDS,
  V_START,
  V_END,
  V_FLAGS,
} from './layout.js';
import { pte_present, is_swap_pte, pte_pfn, pte_swp_slot, pte_write, pte_swp_exclusive, pte_none } from './pte.js';
import { task_alive, is_cow_mapping, FOLL_PIN, FOLL_GET } from './mm_types.js';

/** What the invariants need to know of the kernel being modelled. */
export interface InvariantRules {
  /** every writable private anon PTE maps a page with the exclusive marker (PG_anon_exclusive or a proposal's bit) */
  exclusiveMarker: boolean;
  /** references one FOLL_PIN adds to a small folio (GUP_PIN_COUNTING_BIAS, or 1 before 5.7) */
  pinRefs: number;
}

/** Scratch counters, reused across calls for the same layout. */
const scratch = new WeakMap<object, { mapc: Int32Array; refc: Int32Array; swc: Int32Array }>();

/** Checks every invariant; returns one message per broken one (empty when all hold). */
export function checkInvariants(s: KState, rules: InvariantRules): string[] {
  const { L, m } = s;
  const geo = L.geo;
  const bad: string[] = [];
  let sc = scratch.get(L);
  if (!sc) {
    sc = { mapc: new Int32Array(geo.frames), refc: new Int32Array(geo.frames), swc: new Int32Array(geo.swapSlots) };
    scratch.set(L, sc);
  }
  const { mapc, refc, swc } = sc;
  // frames above the allocator's high-water mark were never handed out: nothing may name them
  const top = Math.min(geo.frames, Math.max(m[G_PFN_HWM]!, ZERO_PFN) + 1);
  mapc.fill(0, 0, top);
  refc.fill(0, 0, top);
  swc.fill(0);
  let exclusiveSwap = 0;
  const add = (pfn: number, n: number, what: string) => {
    if (pfn <= 0 || pfn >= top) {
      bad.push(`${what} names PFN ${pfn}, ${pfn < geo.frames && pfn > 0 ? 'never allocated' : 'outside the memmap'}`);
      return;
    }
    if (pfn !== ZERO_PFN) refc[pfn]! += n;
  };

  for (let t = 0; t < geo.tasks; t++) {
    const alive = task_alive(s, t);
    const base = L.tasks + t * L.taskWords + L.tPte;
    const vbase = L.tasks + t * L.taskWords + L.tVma;
    let vi = 0; // the VMA at or after va, walking both in address order
    for (let va = 0; va < geo.vpages; va++) {
      const pte = m[base + va]!;
      if (pte_none(pte)) continue;
      if (!alive) {
        bad.push(`task ${t} is not alive but its page ${va} has a PTE`);
        continue;
      }
      while (
        vi < geo.vmas &&
        m[vbase + vi * VMA_WORDS + V_END]! > m[vbase + vi * VMA_WORDS + V_START]! &&
        m[vbase + vi * VMA_WORDS + V_END]! <= va
      )
        vi++;
      const inVma = vi < geo.vmas && m[vbase + vi * VMA_WORDS + V_START]! <= va && va < m[vbase + vi * VMA_WORDS + V_END]!;
      if (!inVma) bad.push(`task ${t} page ${va} has a PTE outside any VMA`);
      if (pte_present(pte)) {
        const pfn = pte_pfn(pte);
        add(pfn, 1, `task ${t} page ${va}`);
        if (pfn !== ZERO_PFN && pfn < geo.frames) mapc[pfn]!++;
        if (pte_write(pte) && inVma && is_cow_mapping(m[vbase + vi * VMA_WORDS + V_FLAGS]!)) {
          const f = m[L.memmap + pfn * PAGE_WORDS + PG_FLAGS]!;
          if (pfn === ZERO_PFN || (f & PGF_ANON) === 0)
            bad.push(`task ${t} page ${va}: writable PTE in a private mapping maps a non-anon page ${pfn}`);
          else if (rules.exclusiveMarker && (f & PGF_ANON_EXCLUSIVE) === 0) {
            bad.push(`task ${t} page ${va}: writable PTE maps page ${pfn} without PG_anon_exclusive`);
          }
        }
      } else if (is_swap_pte(pte)) {
        const slot = pte_swp_slot(pte);
        if (slot <= 0 || slot >= geo.swapSlots) bad.push(`task ${t} page ${va}: swap PTE names slot ${slot}`);
        else swc[slot]!++;
        if (pte_swp_exclusive(pte)) exclusiveSwap++;
      }
    }
  }
  for (let p = 0; p < geo.pipes; p++) {
    const o = L.pipes + p * L.pipeWords;
    if (!m[o + P_STATE]) continue;
    for (let i = 0; i < m[o + P_NBUF]!; i++) add(m[o + P_HDR + i * PIPEBUF_WORDS + PB_PFN]!, 1, `pipe ${p} buffer ${i}`);
  }
  for (let r = 0; r < geo.refs; r++) {
    const o = L.refs + r * REF_WORDS;
    const kind = m[o + R_KIND]!;
    if (kind === REF_FREE) continue;
    const foll = m[o + R_FOLL]!;
    const n = kind === REF_TRANSIENT ? 1 : foll & FOLL_PIN ? rules.pinRefs : foll & FOLL_GET ? 1 : 0;
    add(m[o + R_PFN]!, n, `reference ${r}`);
  }
  for (let slot = 1; slot < geo.swapSlots; slot++) {
    const o = L.swap + slot * SWAP_WORDS;
    const used = m[o + S_USED] !== 0;
    const cache = m[o + S_CACHE]!;
    if (!used) {
      if (swc[slot]) bad.push(`swap slot ${slot} is free but ${swc[slot]} swap PTE(s) name it`);
      if (cache) bad.push(`swap slot ${slot} is free but has a swap-cache page`);
      continue;
    }
    if (m[o + S_COUNT] !== swc[slot]) bad.push(`swap slot ${slot}: count ${m[o + S_COUNT]} but ${swc[slot]} swap PTE(s)`);
    if (!m[o + S_COUNT] && !cache) bad.push(`swap slot ${slot} is allocated but nothing uses it`);
    if (cache) {
      add(cache, 1, `swap cache of slot ${slot}`);
      const po = L.memmap + cache * PAGE_WORDS;
      if ((m[po + PG_FLAGS]! & PGF_SWAPCACHE) === 0 || m[po + PG_PRIVATE] !== slot)
        bad.push(`swap slot ${slot}: its swap-cache page ${cache} does not point back`);
    }
  }
  for (let f = 0; f < geo.files; f++) {
    const o = L.files + f * L.fileWords;
    if ((m[o + F_FLAGS]! & FF_OPEN) === 0) continue;
    for (let i = 0; i < m[o + F_SIZE]!; i++) {
      const pfn = m[o + F_HDR + i]!;
      if (pfn) add(pfn, 1, `page cache of file ${f} index ${i}`);
    }
  }
  for (let i = 0; i < m[G_LRU_N]!; i++) add(m[L.lru + i]!, 1, `LRU batch slot ${i}`);
  for (let i = 0; i < m[G_ACT_N]!; i++) add(m[L.act + i]!, 1, `activate batch slot ${i}`);

  for (let pfn = ZERO_PFN + 1; pfn < top; pfn++) {
    const o = L.memmap + pfn * PAGE_WORDS;
    const f = m[o + PG_FLAGS]!;
    if ((f & PGF_ALLOC) === 0) {
      if (refc[pfn]) bad.push(`page ${pfn} is free but still referenced ${refc[pfn]} time(s)`);
      continue;
    }
    if (m[o + PG_REF]! <= 0) bad.push(`page ${pfn} is allocated with refcount ${m[o + PG_REF]}`);
    if (m[o + PG_REF] !== refc[pfn]) bad.push(`page ${pfn}: refcount ${m[o + PG_REF]} but its holders account for ${refc[pfn]}`);
    if (m[o + PG_MAPCOUNT] !== mapc[pfn]) bad.push(`page ${pfn}: mapcount ${m[o + PG_MAPCOUNT]} but ${mapc[pfn]} PTE(s) map it`);
    if (f & PGF_ANON_EXCLUSIVE && ((f & PGF_ANON) === 0 || mapc[pfn]! > 1))
      bad.push(`page ${pfn}: PG_anon_exclusive on a page mapped ${mapc[pfn]} times`);
    if (f & PGF_SWAPCACHE && m[L.swap + m[o + PG_PRIVATE]! * SWAP_WORDS + S_CACHE] !== pfn)
      bad.push(`page ${pfn}: PG_swapcache but its slot does not point back`);
  }
  // an exclusive swap entry is named by exactly one swap PTE
  for (let t = 0; exclusiveSwap > 0 && t < geo.tasks; t++) {
    const base = L.tasks + t * L.taskWords + L.tPte;
    for (let va = 0; va < geo.vpages; va++) {
      const pte = m[base + va]!;
      if (is_swap_pte(pte) && pte_swp_exclusive(pte) && swc[pte_swp_slot(pte)] !== 1) {
        bad.push(`task ${t} page ${va}: exclusive swap entry shared by ${swc[pte_swp_slot(pte)]} PTEs`);
      }
    }
  }
  return bad;
}
