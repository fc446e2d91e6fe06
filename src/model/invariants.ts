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
  PG_HEAD,
  PG_ORDER,
  PG_ENTIRE,
  PG_LARGE,
  PG_PINCOUNT,
  PG_MMID0,
  PG_MMID1,
  PG_MMC0,
  PG_MMC1,
  PGF_MMIDS_SHARED,
  PGF_HUGETLB,
} from './layout.js';
import { pmd_trans_huge, is_huge_zero_pmd, pmd_pfn, pmd_write } from './pmd.js';
import { pte_present, is_swap_pte, pte_pfn, pte_swp_slot, pte_write, pte_swp_exclusive } from './pte.js';
import { task_alive, is_cow_mapping, FOLL_PIN, FOLL_GET } from './mm_types.js';
import { fork_stopped_at, stopped_page_refs } from './threads.js';

/** What the invariants need to know of the kernel being modelled. */
export interface InvariantRules {
  /** every writable private anon PTE maps a page with the exclusive marker (PG_anon_exclusive or a proposal's bit) */
  exclusiveMarker: boolean;
  /** references one FOLL_PIN adds to a small folio (GUP_PIN_COUNTING_BIAS, or 1 before 5.7) */
  pinRefs: number;
  /** a large folio counts a pin as one reference plus one in its _pincount (5.7+) */
  largePinCount: boolean;
}

/** Scratch counters, reused across calls for the same layout. */
const scratch = new WeakMap<object, { mapc: Int32Array; refc: Int32Array; swc: Int32Array; entc: Int32Array; pinc: Int32Array }>();

/**
 * The first index in [from, to) whose word is not zero, or `to`: empty page-table entries are
 * skipped eight at a time (a 1 GiB scenario's tables have a million entries, nearly all empty).
 */
function nextNonZero(m: Int32Array, from: number, to: number): number {
  let i = from;
  while (i + 8 <= to && (m[i]! | m[i + 1]! | m[i + 2]! | m[i + 3]! | m[i + 4]! | m[i + 5]! | m[i + 6]! | m[i + 7]!) === 0) i += 8;
  while (i < to && m[i] === 0) i++;
  return i;
}

/** Checks every invariant; returns one message per broken one (empty when all hold). */
export function checkInvariants(s: KState, rules: InvariantRules): string[] {
  const { L, m } = s;
  const geo = L.geo;
  const bad: string[] = [];
  let sc = scratch.get(L);
  if (!sc) {
    sc = {
      mapc: new Int32Array(geo.frames),
      refc: new Int32Array(geo.frames),
      swc: new Int32Array(geo.swapSlots),
      entc: new Int32Array(geo.frames),
      pinc: new Int32Array(geo.frames),
    };
    scratch.set(L, sc);
  }
  const { mapc, refc, swc, entc, pinc } = sc;
  // the folio a page belongs to: references and mappings of a large folio are counted on its head
  const headOf = (pfn: number): number => {
    const h = m[L.memmap + pfn * PAGE_WORDS + PG_HEAD]!;
    return h === 0 ? pfn : h;
  };
  // mappings per large folio and mm (the MM-ID slots must agree)
  const mmMaps = new Map<number, Map<number, number>>();
  const mmMap = (head: number, t: number) => {
    let x = mmMaps.get(head);
    if (!x) mmMaps.set(head, (x = new Map<number, number>()));
    x.set(t, (x.get(t) ?? 0) + 1);
  };
  // frames above the allocator's high-water mark were never handed out: nothing may name them
  const top = Math.min(geo.frames, Math.max(m[G_PFN_HWM]!, ZERO_PFN) + 1);
  mapc.fill(0, 0, top);
  refc.fill(0, 0, top);
  entc.fill(0, 0, top);
  pinc.fill(0, 0, top);
  swc.fill(0);
  let exclusiveSwap = 0;
  // (`what` is made only for a message: there is one call per PTE and per reference)
  const add = (pfn: number, n: number, what: () => string) => {
    if (pfn <= 0 || pfn >= top) {
      bad.push(`${what()} names PFN ${pfn}, ${pfn < geo.frames && pfn > 0 ? 'never allocated' : 'outside the memmap'}`);
      return;
    }
    if (pfn !== ZERO_PFN) refc[headOf(pfn)]! += n;
  };
  const nrPmd = L.pmds > 0 ? 1 << geo.pmdOrder : 0;
  const levels = [
    { name: 'PMD', off: L.tPmd, n: L.pmds, nr: nrPmd, order: geo.pmdOrder },
    { name: 'PUD', off: L.tPud, n: L.puds, nr: L.puds > 0 ? 1 << geo.pudOrder! : 0, order: geo.pudOrder ?? 0 },
  ];

  for (let t = 0; t < geo.tasks; t++) {
    const alive = task_alive(s, t);
    const base = L.tasks + t * L.taskWords + L.tPte;
    const vbase = L.tasks + t * L.taskWords + L.tVma;
    let vi = 0; // the VMA at or after va, walking both in address order
    // huge leaves: PMDs (THP, the huge zero page, 2 MiB hugetlb) and PUDs (1 GiB hugetlb)
    for (const lv of levels) {
      const pbase = L.tasks + t * L.taskWords + lv.off;
      for (let i = 0; lv.nr > 0 && i < lv.n; i++) {
        const pmd = m[pbase + i]!;
        if (!pmd_trans_huge(pmd)) continue;
        if (!alive) {
          bad.push(`task ${t} is not alive but has a huge ${lv.name} at page ${i * lv.nr}`);
          continue;
        }
        for (
          let j = nextNonZero(m, base + i * lv.nr, base + (i + 1) * lv.nr);
          j < base + (i + 1) * lv.nr;
          j = nextNonZero(m, j + 1, base + (i + 1) * lv.nr)
        )
          bad.push(`task ${t} page ${j - base}: a PTE under a huge ${lv.name}`);
        if (is_huge_zero_pmd(pmd)) continue;
        const head = pmd_pfn(pmd);
        const ho = L.memmap + head * PAGE_WORDS;
        if (head <= 0 || head >= top || m[ho + PG_HEAD] !== head || m[ho + PG_ORDER] !== lv.order || head % lv.nr !== 0) {
          bad.push(
            `task ${t}: the huge ${lv.name} at page ${i * lv.nr} maps page ${head}, not the head of an aligned ${lv.name}-order folio`,
          );
          continue;
        }
        add(head, 1, () => `task ${t} ${lv.name} at page ${i * lv.nr}`);
        entc[head]!++;
        mmMap(head, t);
        // (a shared hugetlb mapping writes to its page-cache folio: not anon, no marker)
        const anonOnly = (m[ho + PG_FLAGS]! & (PGF_ANON | PGF_ANON_EXCLUSIVE)) === PGF_ANON;
        if (pmd_write(pmd) && rules.exclusiveMarker && anonOnly)
          bad.push(`task ${t}: writable huge ${lv.name} at page ${i * lv.nr} maps folio ${head} without PG_anon_exclusive on its head`);
      }
    }
    for (
      let va = nextNonZero(m, base, base + geo.vpages) - base;
      va < geo.vpages;
      va = nextNonZero(m, base + va + 1, base + geo.vpages) - base
    ) {
      const pte = m[base + va]!;
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
        add(pfn, 1, () => `task ${t} page ${va}`);
        if (pfn !== ZERO_PFN && pfn < top) {
          mapc[pfn]!++;
          const h = headOf(pfn);
          if (h !== pfn || m[L.memmap + pfn * PAGE_WORDS + PG_HEAD] === pfn) mmMap(h, t);
        }
        if (pte_write(pte) && inVma && is_cow_mapping(m[vbase + vi * VMA_WORDS + V_FLAGS]!)) {
          const f = m[L.memmap + pfn * PAGE_WORDS + PG_FLAGS]!;
          if (pfn === ZERO_PFN || (m[L.memmap + headOf(pfn) * PAGE_WORDS + PG_FLAGS]! & PGF_ANON) === 0)
            bad.push(`task ${t} page ${va}: writable PTE in a private mapping maps a non-anon page ${pfn}`);
          // (a fork stopped in copy_present_pte() shared the page and has not write-protected this PTE yet)
          else if (rules.exclusiveMarker && (f & PGF_ANON_EXCLUSIVE) === 0 && !fork_stopped_at(s, t, va)) {
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
    for (let i = 0; i < m[o + P_NBUF]!; i++) add(m[o + P_HDR + i * PIPEBUF_WORDS + PB_PFN]!, 1, () => `pipe ${p} buffer ${i}`);
  }
  for (let r = 0; r < geo.refs; r++) {
    const o = L.refs + r * REF_WORDS;
    const kind = m[o + R_KIND]!;
    if (kind === REF_FREE) continue;
    const foll = m[o + R_FOLL]!;
    const pfn = m[o + R_PFN]!;
    const large = pfn > ZERO_PFN && pfn < top && m[L.memmap + pfn * PAGE_WORDS + PG_HEAD] !== 0;
    const pinned = kind !== REF_TRANSIENT && (foll & FOLL_PIN) !== 0;
    const n = kind === REF_TRANSIENT ? 1 : pinned ? (large && rules.largePinCount ? 1 : rules.pinRefs) : foll & FOLL_GET ? 1 : 0;
    add(pfn, n, () => `reference ${r}`);
    if (pinned && large && rules.largePinCount && pfn !== ZERO_PFN) pinc[headOf(pfn)]!++;
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
      add(cache, 1, () => `swap cache of slot ${slot}`);
      const po = L.memmap + cache * PAGE_WORDS;
      if ((m[L.memmap + headOf(cache) * PAGE_WORDS + PG_FLAGS]! & PGF_SWAPCACHE) === 0 || m[po + PG_PRIVATE] !== slot)
        bad.push(`swap slot ${slot}: its swap-cache page ${cache} does not point back`);
    }
  }
  for (let f = 0; f < geo.files; f++) {
    const o = L.files + f * L.fileWords;
    if ((m[o + F_FLAGS]! & FF_OPEN) === 0) continue;
    for (let i = 0; i < m[o + F_SIZE]!; i++) {
      const pfn = m[o + F_HDR + i]!;
      // a large folio in the page cache (hugetlbfs) holds one reference, at its head's index
      if (pfn && headOf(pfn) === pfn) add(pfn, 1, () => `page cache of file ${f} index ${i}`);
    }
  }
  for (let i = 0; i < m[G_LRU_N]!; i++) {
    const pfn = m[L.lru + i]!;
    add(pfn, 1, () => `LRU batch slot ${i}`);
    if (pfn > 0 && pfn < top && m[L.memmap + pfn * PAGE_WORDS + PG_HEAD] !== 0) bad.push(`LRU batch slot ${i} holds large folio ${pfn}`);
  }
  for (let i = 0; i < m[G_ACT_N]!; i++) add(m[L.act + i]!, 1, () => `activate batch slot ${i}`);
  // operations stopped in a window hold pages (a collapse's new folio, a COW copy's two, a swap-in's)
  for (const r of stopped_page_refs(s)) add(r.pfn, 1, () => `${r.what} (pfn#${r.pfn})`);

  for (let pfn = ZERO_PFN + 1; pfn < top; pfn++) {
    const o = L.memmap + pfn * PAGE_WORDS;
    const f = m[o + PG_FLAGS]!;
    // a tail that names its (allocated) head, holds no count of its own, is mapped as its PTEs say and
    // carries neither flag below passes every check that follows (a 1 GiB folio has 262144 of them)
    const h = m[o + PG_HEAD]!;
    if (
      h !== 0 &&
      h !== pfn &&
      (f & (PGF_ALLOC | PGF_ANON_EXCLUSIVE | PGF_SWAPCACHE)) === PGF_ALLOC &&
      m[o + PG_REF] === 0 &&
      m[o + PG_MAPCOUNT] === mapc[pfn] &&
      pfn - h < 1 << m[L.memmap + h * PAGE_WORDS + PG_ORDER]! &&
      (m[L.memmap + h * PAGE_WORDS + PG_FLAGS]! & PGF_ALLOC) !== 0
    )
      continue;
    if ((f & PGF_ALLOC) === 0) {
      if (refc[pfn]) bad.push(`page ${pfn} is free but still referenced ${refc[pfn]} time(s)`);
      continue;
    }
    const head = headOf(pfn);
    const hf = m[L.memmap + head * PAGE_WORDS + PG_FLAGS]!;
    if (head !== pfn) {
      // a tail page: its counts live on the head
      if (m[o + PG_REF] !== 0) bad.push(`tail page ${pfn} of folio ${head} has a refcount of its own`);
      if ((hf & PGF_ALLOC) === 0 || pfn >= head + (1 << m[L.memmap + head * PAGE_WORDS + PG_ORDER]!))
        bad.push(`tail page ${pfn} names ${head}, which is not its folio's head`);
    } else {
      if (m[o + PG_REF]! <= 0) bad.push(`page ${pfn} is allocated with refcount ${m[o + PG_REF]}`);
      if (m[o + PG_REF] !== refc[pfn]) bad.push(`page ${pfn}: refcount ${m[o + PG_REF]} but its holders account for ${refc[pfn]}`);
      if (m[o + PG_HEAD] === pfn) checkFolio(s, pfn, mapc, entc[pfn]!, pinc[pfn]!, mmMaps.get(pfn), rules, bad);
    }
    if (m[o + PG_MAPCOUNT] !== mapc[pfn]) bad.push(`page ${pfn}: mapcount ${m[o + PG_MAPCOUNT]} but ${mapc[pfn]} PTE(s) map it`);
    const mapped = mapc[pfn]! + (head !== pfn || m[o + PG_HEAD] === pfn ? entc[head]! : 0);
    if (f & PGF_ANON_EXCLUSIVE && ((hf & PGF_ANON) === 0 || mapped > 1))
      bad.push(`page ${pfn}: PG_anon_exclusive on a page mapped ${mapped} times`);
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

/** The folio-wide counts of a large folio against what maps and pins it. */
function checkFolio(
  s: KState,
  head: number,
  mapc: Int32Array,
  entire: number,
  pins: number,
  perMm: Map<number, number> | undefined,
  rules: InvariantRules,
  bad: string[],
): void {
  const { L, m } = s;
  const o = L.memmap + head * PAGE_WORDS;
  const nr = 1 << m[o + PG_ORDER]!;
  if (head % nr !== 0) bad.push(`folio ${head} of ${nr} pages is not naturally aligned`);
  let ptes = 0;
  for (let i = 0; i < nr; i++) ptes += mapc[head + i]!;
  if (m[o + PG_ENTIRE] !== entire) bad.push(`folio ${head}: entire mapcount ${m[o + PG_ENTIRE]} but ${entire} PMD(s) map it`);
  if (m[o + PG_LARGE] !== ptes + entire) bad.push(`folio ${head}: large mapcount ${m[o + PG_LARGE]} but ${ptes + entire} mapping(s)`);
  if (rules.largePinCount && m[o + PG_PINCOUNT] !== pins) bad.push(`folio ${head}: pincount ${m[o + PG_PINCOUNT]} but ${pins} pin(s)`);
  // hugetlb folios keep no MM-ID slots (the rmap.h hugetlb helpers count the entire mapcount only)
  if (m[o + PG_FLAGS]! & PGF_HUGETLB) return;
  // the MM-ID slots: a slot never counts more than its mm's mappings (it may count fewer: mappings
  // added while no slot was free stay untracked, as the kernel allows); without MM_IDS_SHARED one
  // slot holds every mapping
  const total = ptes + entire;
  let owner = -1;
  for (const [slotId, slotCount] of [
    [PG_MMID0, PG_MMC0],
    [PG_MMID1, PG_MMC1],
  ] as const) {
    const t = m[o + slotId]! - 1;
    if (t < 0) continue;
    const have = perMm?.get(t) ?? 0;
    if (m[o + slotCount]! > have) bad.push(`folio ${head}: MM-ID slot of task ${t} counts ${m[o + slotCount]} mapping(s), it has ${have}`);
    if (m[o + slotCount] === total) owner = t;
  }
  if (total > 0 && owner < 0 && (m[o + PG_FLAGS]! & PGF_MMIDS_SHARED) === 0)
    bad.push(`folio ${head}: MM_IDS_SHARED clear but no MM-ID slot holds all ${total} mapping(s)`);
}
