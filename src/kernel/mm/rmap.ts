/**
 * mm/rmap.c and include/linux/rmap.h: mapcounts, and the PG_anon_exclusive
 * rules attached to them (5.19+).
 *
 * Modelled on the 6.x folio API for small folios: folio_add_new_anon_rmap,
 * folio_add_anon_rmap_pte, folio_add_file_rmap_pte, folio_remove_rmap_pte,
 * folio_try_dup_anon_rmap_pte, folio_try_share_anon_rmap_pte,
 * folio_move_anon_rmap.
 */
import { keepsAnonExclusive } from '../../profiles/types.js';
import type { KState } from '../../model/layout.js';
import {
  PGF_ANON,
  PGF_ANON_EXCLUSIVE,
  PGF_SWAPBACKED,
  PGF_DIRTY,
  PGF_MMIDS_SHARED,
  PGF_PARTIALLY_MAPPED,
  PGF_KSM,
  PGF_KSM_STABLE,
  ZERO_PFN,
  MMF_HAS_PINNED,
  REF_TRANSIENT,
} from '../../model/layout.js';
import {
  folio_head,
  folio_test_large,
  folio_nr_pages,
  folio_entire_mapcount,
  folio_entire_mapcount_add,
  folio_large_mapcount,
  folio_mapped,
  folio_large_mapcount_add,
  folio_mm_id,
  folio_mm_id_mapcount,
  folio_set_mm_id_slot,
  page_mapcount_add,
  page_set,
  page_clear,
  page_test,
  page_ref_count,
  page_pincount,
  mm_flags,
  is_cow_mapping,
  page_mapcount,
  page_private,
  task_alive,
  ptep_get,
  set_pte_at,
} from '../../model/mm_types.js';
import {
  pte_present,
  pte_pfn,
  pte_dirty,
  pte_soft_dirty,
  pte_uffd_wp,
  swp_entry_to_pte,
  pte_swp_mkexclusive,
  pte_swp_mksoft_dirty,
  pte_swp_mkuffd_wp,
} from '../../model/pte.js';
import type { KCtx } from '../ctx.js';
import { trace } from '../ctx.js';
import { swap_duplicate } from './swapfile.js';
import { folio_put } from './swap.js';
import { FOLL_PIN } from './gup.js';
import { refs_where } from '../../model/refs.js';
import { pipe_buffers_of, for_each_pipe_buffer_pfn } from '../../model/observers.js';

/** GUP_PIN_COUNTING_BIAS (include/linux/mm.h, 5.7+). */
export const GUP_PIN_COUNTING_BIAS = 1024;

/**
 * folio_maybe_dma_pinned() for a small folio: the refcount has reached the
 * pin bias, which a pin or 1024 ordinary references can do (false
 * positives are possible by design). Before the bias existed (5.6 and
 * earlier) pins were not recognisable at all.
 */
export function folio_maybe_dma_pinned(s: KState, ctx: KCtx, pfn: number): boolean {
  if (pfn === ZERO_PFN) return false;
  const counting = ctx.prof.mech.gup.pinCounting;
  if (counting === 'get') return false;
  // John Hubbard's split: the pin field is exact, no false positives
  if (counting === 'split') return gup_holders(s, pfn, true) > 0;
  // a large folio counts pins exactly in _pincount (folio_has_pincount(): every large folio on 64-bit)
  if (folio_test_large(s, pfn)) return page_pincount(s, pfn) > 0;
  return page_ref_count(s, pfn) >= GUP_PIN_COUNTING_BIAS;
}

/**
 * The GUP references a page holds, pins (FOLL_PIN) or gets (FOLL_GET,
 * including pipe buffers); what the fields of John Hubbard's split count.
 */
export function gup_holders(s: KState, pfn: number, pins: boolean): number {
  const rs = refs_where(s, (r) => r.pfn === pfn && r.kind !== REF_TRANSIENT && ((r.foll & FOLL_PIN) !== 0) === pins);
  return rs.length + (pins ? 0 : pipe_buffers_of(s, pfn));
}

/** gup_holders() of every page at once: pins and gets (pipe buffers included) per PFN. */
export function gup_holders_all(s: KState): { pins: Map<number, number>; gets: Map<number, number> } {
  const pins = new Map<number, number>();
  const gets = new Map<number, number>();
  const bump = (mp: Map<number, number>, pfn: number) => mp.set(pfn, (mp.get(pfn) ?? 0) + 1);
  refs_where(s, (r) => {
    if (r.kind !== REF_TRANSIENT) bump((r.foll & FOLL_PIN) !== 0 ? pins : gets, r.pfn);
    return false;
  });
  for_each_pipe_buffer_pfn(s, (pfn) => bump(gets, pfn));
  return { pins, gets };
}

/**
 * folio_needs_cow_for_dma() (5.12 page_needs_cow_for_dma, 97a7e4733b9b): a
 * COW mapping of an mm that has pinned something, and a page that may be
 * pinned.
 */
export function folio_needs_cow_for_dma(s: KState, ctx: KCtx, task: number, vmaFlags: number, pfn: number): boolean {
  if (!is_cow_mapping(vmaFlags)) return false;
  if ((mm_flags(s, task) & MMF_HAS_PINNED) === 0) return false;
  return folio_maybe_dma_pinned(s, ctx, pfn);
}

/* ---------------- large folios: the large mapcount and the MM-ID slots ---------------- */

/**
 * folio_add_return_large_mapcount() (6.15+, include/linux/rmap.h; every
 * kernel keeps the same total): `d` new mappings of the folio by task `t`'s
 * mm. The two MM-ID slots track the mappings of up to two mms; an mm
 * claiming slot 1, or a free slot 0 while other mappings exist, sets
 * MM_IDS_SHARED; a third mm's mappings are untracked and change neither.
 */
function folio_add_large_mapcount(s: KState, pfn: number, t: number, d: number): void {
  folio_large_mapcount_add(s, pfn, d);
  const total = folio_large_mapcount(s, pfn);
  const id0 = folio_mm_id(s, pfn, 0);
  const id1 = folio_mm_id(s, pfn, 1);
  if (id0 === t) folio_set_mm_id_slot(s, pfn, 0, t, folio_mm_id_mapcount(s, pfn, 0) + d);
  else if (id1 === t) folio_set_mm_id_slot(s, pfn, 1, t, folio_mm_id_mapcount(s, pfn, 1) + d);
  else if (id0 < 0) {
    folio_set_mm_id_slot(s, pfn, 0, t, d);
    // "we might have other mappings already"
    if (total !== d) page_set(s, pfn, PGF_MMIDS_SHARED);
  } else if (id1 < 0) {
    folio_set_mm_id_slot(s, pfn, 1, t, d);
    page_set(s, pfn, PGF_MMIDS_SHARED);
  }
}

/**
 * folio_sub_return_large_mapcount() (6.15+): `d` mappings of task `t`'s mm
 * go. A slot that empties is freed; only then, or for an untracked mm, is
 * MM_IDS_SHARED cleared, if one slot now holds every mapping.
 */
function folio_sub_large_mapcount(s: KState, pfn: number, t: number, d: number): void {
  folio_large_mapcount_add(s, pfn, -d);
  const total = folio_large_mapcount(s, pfn);
  for (const i of [0, 1] as const) {
    if (folio_mm_id(s, pfn, i) !== t) continue;
    const c = folio_mm_id_mapcount(s, pfn, i) - d;
    if (c > 0) {
      folio_set_mm_id_slot(s, pfn, i, t, c);
      return; // the slot still owns mappings: no clear check
    }
    folio_set_mm_id_slot(s, pfn, i, -1, 0);
    break;
  }
  const c0 = folio_mm_id(s, pfn, 0) >= 0 ? folio_mm_id_mapcount(s, pfn, 0) : 0;
  const c1 = folio_mm_id(s, pfn, 1) >= 0 ? folio_mm_id_mapcount(s, pfn, 1) : 0;
  if (c0 === total || c1 === total) page_clear(s, pfn, PGF_MMIDS_SHARED);
}

/**
 * folio_maybe_mapped_shared() (6.15+): whether the folio may be mapped by
 * more than one mm, by the MM-ID slots; the estimate MADV_PAGEOUT/COLD use.
 */
export function folio_maybe_mapped_shared(s: KState, pfn: number): boolean {
  if (!folio_test_large(s, pfn)) return page_mapcount(s, pfn) > 1;
  // a single mapping implies "mapped exclusively", even where the MM-ID shared bit says otherwise (a
  // third mm that got no slot keeps it set after the others left; fuzz seed 12003, scenario 101)
  if (folio_large_mapcount(s, folio_head(s, pfn)) <= 1) return false;
  if (folio_entire_mapcount(s, pfn) > 1) return true;
  return page_test(s, pfn, PGF_MMIDS_SHARED);
}

/**
 * folio_likely_mapped_shared() (6.9 .. 6.14, before the MM-ID slots): the
 * guess from the mapcounts alone; a folio mapped by one mm but not at its
 * first page, or by many mms only at other pages, is guessed wrong.
 */
export function folio_likely_mapped_shared(s: KState, pfn: number): boolean {
  if (!folio_test_large(s, pfn)) return page_mapcount(s, pfn) > 1;
  const head = folio_head(s, pfn);
  const total = folio_large_mapcount(s, head);
  if (total <= 1) return false;
  if (folio_entire_mapcount(s, head) > 0 || total > folio_nr_pages(s, head)) return true;
  return page_mapcount(s, head) > 1;
}

/** The estimate the profile's MADV_PAGEOUT/COLD use (lru.sharedEstimate). */
export function folio_mapped_shared_estimate(s: KState, ctx: KCtx, pfn: number): boolean {
  return ctx.prof.mech.lru.sharedEstimate === 'mm-id' ? folio_maybe_mapped_shared(s, pfn) : folio_likely_mapped_shared(s, pfn);
}

/**
 * folio_add_new_anon_rmap(): a page becomes anon and is mapped once;
 * RMAP_EXCLUSIVE sets PG_anon_exclusive (5.19+).
 */
export function folio_add_new_anon_rmap(s: KState, ctx: KCtx, pfn: number, exclusive: boolean): void {
  page_set(s, pfn, PGF_ANON | PGF_SWAPBACKED);
  page_mapcount_add(s, pfn, 1);
  if (exclusive && keepsAnonExclusive(ctx.prof.mech)) page_set(s, pfn, PGF_ANON_EXCLUSIVE);
}

/**
 * folio_add_new_anon_rmap() for a new large folio of task `t`, mapped whole
 * by a PMD (`pmd`: entire mapcount 1, PAE on the head) or by one PTE per
 * page (mTHP: every page mapped once and PAE). Exclusive, except a folio
 * swapped in from a shared swap entry through the swap cache (7.x).
 */
export function folio_add_new_anon_rmap_large(s: KState, ctx: KCtx, head: number, t: number, pmd: boolean, exclusive = true): void {
  const nr = folio_nr_pages(s, head);
  page_set(s, head, PGF_ANON | PGF_SWAPBACKED);
  const marker = exclusive && keepsAnonExclusive(ctx.prof.mech);
  if (pmd) {
    folio_entire_mapcount_add(s, head, 1);
    folio_add_large_mapcount(s, head, t, 1);
    if (marker) page_set(s, head, PGF_ANON_EXCLUSIVE);
    return;
  }
  for (let i = 0; i < nr; i++) {
    page_mapcount_add(s, head + i, 1);
    if (marker) page_set(s, head + i, PGF_ANON_EXCLUSIVE);
  }
  folio_add_large_mapcount(s, head, t, nr);
}

/** folio_add_anon_rmap_pte(): task `t` maps an existing anon page once more; RMAP_EXCLUSIVE sets PAE. */
export function folio_add_anon_rmap_pte(s: KState, ctx: KCtx, t: number, pfn: number, exclusive: boolean): void {
  page_mapcount_add(s, pfn, 1);
  if (folio_test_large(s, pfn)) folio_add_large_mapcount(s, pfn, t, 1);
  if (exclusive && keepsAnonExclusive(ctx.prof.mech)) page_set(s, pfn, PGF_ANON_EXCLUSIVE);
}

/** folio_add_anon_rmap_pmd(): task `t` maps a PMD-order folio by a PMD; RMAP_EXCLUSIVE sets PAE on the head. */
export function folio_add_anon_rmap_pmd(s: KState, ctx: KCtx, t: number, head: number, exclusive: boolean): void {
  folio_entire_mapcount_add(s, head, 1);
  folio_add_large_mapcount(s, head, t, 1);
  if (exclusive && keepsAnonExclusive(ctx.prof.mech)) page_set(s, head, PGF_ANON_EXCLUSIVE);
}

/** folio_remove_rmap_pmd(): task `t`'s PMD mapping of the folio goes. */
export function folio_remove_rmap_pmd(s: KState, t: number, head: number): void {
  folio_entire_mapcount_add(s, head, -1);
  folio_sub_large_mapcount(s, head, t, 1);
  deferred_split_check(s, head);
}

/**
 * A large anon folio only partly mapped now (some pages unmapped while
 * others stay mapped by PTEs, and no PMD maps it) goes on the deferred
 * split queue (deferred_split_folio(); PG_partially_mapped in 6.12+).
 */
function deferred_split_check(s: KState, pfn: number): void {
  if (!folio_test_large(s, pfn) || !page_test(s, pfn, PGF_ANON) || folio_entire_mapcount(s, pfn) > 0) return;
  const head = folio_head(s, pfn);
  const nr = folio_nr_pages(s, head);
  let mapped = 0;
  for (let i = 0; i < nr; i++) if (page_mapcount(s, head + i) > 0) mapped++;
  if (mapped > 0 && mapped < nr) page_set(s, head, PGF_PARTIALLY_MAPPED);
}

/** folio_add_file_rmap_pte(). The zero page is never counted (vm_normal_page() is NULL). */
export function folio_add_file_rmap_pte(s: KState, pfn: number): void {
  if (pfn === ZERO_PFN) return;
  page_mapcount_add(s, pfn, 1);
}

/**
 * folio_remove_rmap_pte(). PG_anon_exclusive is left as it is: the page is
 * either freed or still mapped exclusively elsewhere only through
 * a swap/migration path that handles it.
 */
export function folio_remove_rmap_pte(s: KState, t: number, pfn: number): void {
  if (pfn === ZERO_PFN) return;
  page_mapcount_add(s, pfn, -1);
  if (folio_test_large(s, pfn)) {
    folio_sub_large_mapcount(s, pfn, t, 1);
    deferred_split_check(s, pfn);
  }
}

/**
 * folio_try_dup_anon_rmap_pte() (5.19 page_try_dup_anon_rmap, fb3d824d1a46):
 * fork wants to share an anon page with the child. If the page is exclusive
 * and may be pinned by an mm that pinned, refuse (-EBUSY): the caller copies
 * it. Otherwise clear PAE and add the child's mapping.
 */
export function folio_try_dup_anon_rmap_pte(
  s: KState,
  ctx: KCtx,
  srcTask: number,
  dstTask: number,
  vmaFlags: number,
  pfn: number,
): boolean {
  if (page_test(s, pfn, PGF_ANON_EXCLUSIVE)) {
    if (folio_needs_cow_for_dma(s, ctx, srcTask, vmaFlags, pfn)) {
      trace(ctx, 'folio_try_dup_anon_rmap_pte', 'exclusive and maybe pinned: -EBUSY, copy for the child');
      return false;
    }
    page_clear(s, pfn, PGF_ANON_EXCLUSIVE);
  }
  folio_dup_file_rmap_pte(s, dstTask, pfn);
  return true;
}

/**
 * folio_try_dup_anon_rmap_pmd() (5.19+): fork sharing a PMD-mapped folio
 * with the child: refused for an exclusive head that may be pinned (the
 * caller splits and copies), else PAE cleared on the head and the child's
 * PMD mapping added.
 */
export function folio_try_dup_anon_rmap_pmd(
  s: KState,
  ctx: KCtx,
  srcTask: number,
  dstTask: number,
  vmaFlags: number,
  head: number,
): boolean {
  if (page_test(s, head, PGF_ANON_EXCLUSIVE)) {
    if (folio_needs_cow_for_dma(s, ctx, srcTask, vmaFlags, head)) {
      trace(ctx, 'folio_try_dup_anon_rmap_pmd', 'exclusive and maybe pinned: -EBUSY');
      return false;
    }
    page_clear(s, head, PGF_ANON_EXCLUSIVE);
  }
  folio_dup_anon_rmap_pmd(s, dstTask, head);
  return true;
}

/** The child's PMD mapping of a shared THP (page_dup_rmap(compound) before 5.19). */
export function folio_dup_anon_rmap_pmd(s: KState, dstTask: number, head: number): void {
  folio_entire_mapcount_add(s, head, 1);
  folio_add_large_mapcount(s, head, dstTask, 1);
}

/**
 * folio_add_anon_rmap_ptes() for `nr` pages from `first` of a large folio,
 * mapped by task `t` (a PMD split, a whole mTHP mapped at once): one PTE
 * mapping per page; RMAP_EXCLUSIVE sets PG_anon_exclusive on each.
 */
export function folio_add_anon_rmap_ptes(s: KState, ctx: KCtx, t: number, first: number, nr: number, exclusive: boolean): void {
  const marker = exclusive && keepsAnonExclusive(ctx.prof.mech);
  for (let i = 0; i < nr; i++) {
    page_mapcount_add(s, first + i, 1);
    if (marker) page_set(s, first + i, PGF_ANON_EXCLUSIVE);
  }
  folio_add_large_mapcount(s, first, t, nr);
}

/** folio_dup_file_rmap_pte() (and the share path of folio_try_dup_anon_rmap_pte()): fork duplicating a mapping for task `dstTask`. */
export function folio_dup_file_rmap_pte(s: KState, dstTask: number, pfn: number): void {
  if (pfn === ZERO_PFN) return;
  page_mapcount_add(s, pfn, 1);
  if (folio_test_large(s, pfn)) folio_add_large_mapcount(s, pfn, dstTask, 1);
}

/**
 * folio_try_share_anon_rmap_pte() (5.19 page_try_share_anon_rmap): before
 * an exclusive anon page is unmapped for swap-out or migration, give up
 * exclusivity; refuse if the page may be pinned (the pin stays coherent
 * because the page then stays mapped).
 */
export function folio_try_share_anon_rmap_pte(s: KState, ctx: KCtx, pfn: number): boolean {
  if (!page_test(s, pfn, PGF_ANON_EXCLUSIVE)) return true;
  if (folio_maybe_dma_pinned(s, ctx, pfn)) return false;
  page_clear(s, pfn, PGF_ANON_EXCLUSIVE);
  return true;
}

/** folio_move_anon_rmap() + SetPageAnonExclusive() on reuse: the page now belongs to this VMA alone. */
export function folio_move_anon_rmap(s: KState, ctx: KCtx, pfn: number): void {
  if (keepsAnonExclusive(ctx.prof.mech)) page_set(s, pfn, PGF_ANON_EXCLUSIVE);
}

/** PageAnon() && PageAnonExclusive(). */
export function PageAnonExclusive(s: KState, pfn: number): boolean {
  return page_test(s, pfn, PGF_ANON_EXCLUSIVE);
}

/** PageAnon(). */
export function PageAnon(s: KState, pfn: number): boolean {
  return page_test(s, pfn, PGF_ANON);
}

/** folio_mapcount() for a small folio. */
export function folio_mapcount(s: KState, pfn: number): number {
  return page_mapcount(s, pfn);
}

/**
 * try_to_unmap_one() for an anon folio in the swap cache being reclaimed
 * (6.18): every PTE that maps one of its pages is cleared, the page gives
 * up PG_anon_exclusive (refused for a maybe-pinned page, which is then
 * left mapped, 5.19+), and a swap PTE naming that page's slot remembers
 * exclusivity, soft-dirty and uffd-wp. PMD mappings must have been split
 * first (TTU_SPLIT_HUGE_PMD: the caller's split_folio_pmds()). Returns
 * false if the folio stays mapped.
 */
export function try_to_unmap(s: KState, ctx: KCtx, pfn: number): boolean {
  const head = folio_head(s, pfn);
  const nr = folio_nr_pages(s, head);
  // rmap_walk_ksm() (every era with KSM swap, 2.6.33+) walks the stable node's rmap items; a folio ksmd turned
  // into a KSM page in place whose merge with its partner then failed (try_to_merge_two_pages() broke only the
  // first mm's mapping) keeps its other mappings and has no stable node: nothing is walked, it stays mapped
  if (page_test(s, head, PGF_KSM) && !page_test(s, head, PGF_KSM_STABLE)) {
    trace(ctx, 'rmap_walk_ksm', `page pfn#${head}: a KSM page without a stable node: no mapping is walked`);
    return false;
  }
  for (let t = 0; t < s.L.geo.tasks; t++) {
    if (!task_alive(s, t)) continue;
    for (let va = 0; va < s.L.geo.vpages; va++) {
      const pte = ptep_get(s, t, va);
      if (!pte_present(pte)) continue;
      const p = pte_pfn(pte);
      if (p < head || p >= head + nr) continue;
      const slot = page_private(s, p);
      const exclusive = PageAnonExclusive(s, p);
      if (ctx.prof.mech.swap.swapoutPinned === 'try-share' && exclusive && !folio_try_share_anon_rmap_pte(s, ctx, p)) {
        trace(ctx, 'try_to_unmap_one', `page ${p} may be pinned: PTE restored, page stays mapped`);
        return false;
      }
      // proposals with an exclusive bit but no swap-out rule: the bit is given up (conservative)
      if (exclusive) page_clear(s, p, PGF_ANON_EXCLUSIVE);
      if (pte_dirty(pte)) page_set(s, p, PGF_DIRTY);
      swap_duplicate(s, slot);
      let swp = swp_entry_to_pte(slot);
      if (exclusive && ctx.prof.mech.swap.swapinReuse === 'exclusive-bit') swp = pte_swp_mkexclusive(swp);
      if (pte_soft_dirty(pte)) swp = pte_swp_mksoft_dirty(swp);
      if (pte_uffd_wp(pte)) swp = pte_swp_mkuffd_wp(swp);
      set_pte_at(s, t, va, swp);
      folio_remove_rmap_pte(s, t, p);
      folio_put(s, p);
      trace(ctx, 'try_to_unmap_one', `page ${p} unmapped, swap slot ${slot}${exclusive ? ' (exclusive)' : ''}`);
    }
  }
  return !folio_mapped(s, head);
}
