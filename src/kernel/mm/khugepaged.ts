/**
 * mm/khugepaged.c: MADV_COLLAPSE (madvise_collapse -> hpage_collapse_scan_pmd
 * -> collapse_huge_page; 7d8faaf15545, 6.1+), read in 6.1.176, 6.12.117 and
 * 7.2.13 (docs/kernel/thp-pmd.md 8). khugepaged itself runs in the
 * background and is not modelled: scenarios collapse explicitly.
 */
import type { KState } from '../../model/layout.js';
import { ksm_might_unmap_zero_page } from './ksm.js';
import { PGF_ANON, PGF_LRU, PGF_LOCKED, PGF_SWAPCACHE, ZERO_PFN } from '../../model/layout.js';
import {
  pte_none,
  pte_present,
  pte_pfn,
  pte_uffd_wp,
  pte_write,
  is_swap_pte,
  pte_swp_uffd_wp,
  is_pte_marker,
  PTE_NONE,
} from '../../model/pte.js';
import {
  ptep_get,
  set_pte_at,
  pmdp_get,
  pmd_nr,
  page_test,
  page_ref_count,
  page_mapcount,
  folio_test_large,
  page_data,
  page_set_data,
  folio_head,
  vma_flags_at,
  vma_anon_at,
  vma_start_at,
  vma_end_at,
  vma_lookup_idx,
  set_pmd_at,
  VM_UFFD_WP,
} from '../../model/mm_types.js';
import { pmd_trans_huge, pmd_none, PMD_NONE } from '../../model/pmd.js';
import { type KCtx, trace } from '../ctx.js';
import { folio_alloc_large } from './page_alloc.js';
import { folio_put, lru_add_drain } from './swap.js';
import { folio_remove_rmap_pte } from './rmap.js';
import { folio_free_swap } from './swapfile.js';
import { thp_vma_allowable_order, folio_expected_ref_count, install_new_anon_pmd } from './huge_memory.js';
import { handle_mm_fault, VM_FAULT_ERROR } from './memory.js';
import { EINVAL, EAGAIN, ENOMEM, EBUSY, EFAULT } from '../errno.js';

/** The scan results that matter for MADV_COLLAPSE, with the errno each turns into. */
type ScanResult =
  | 'succeed'
  | 'pmd-mapped'
  | 'pmd-null'
  | 'pte-uffd-wp'
  | 'exceed-none-pte'
  | 'page-null'
  | 'page-anon'
  | 'page-lru'
  | 'page-lock'
  | 'page-count'
  | 'page-ro'
  | 'alloc-fail'
  | 'pte-non-present'
  | 'exceed-swap-pte'
  | 'exceed-shared-pte';

/** madvise_collapse(): results after which the walk goes on to the next PMD range. */
const CONTINUE: ReadonlySet<ScanResult> = new Set([
  'pmd-null',
  'pte-non-present',
  'pte-uffd-wp',
  'page-ro',
  'page-null',
  'page-count',
  'page-lock',
  'page-lru',
]);

function scanErrno(r: ScanResult): number {
  switch (r) {
    case 'alloc-fail':
      return -ENOMEM;
    case 'exceed-none-pte':
    case 'exceed-swap-pte':
    case 'exceed-shared-pte':
      return -EBUSY;
    case 'page-count':
    case 'page-lock':
    case 'page-lru':
      return -EAGAIN;
    case 'page-anon':
    case 'page-null':
    case 'page-ro':
    case 'pmd-mapped':
    case 'pmd-null':
    case 'pte-non-present':
    case 'pte-uffd-wp':
    case 'succeed':
      return -EINVAL;
  }
}

/**
 * madvise_collapse() over [start, end) of VMA `vi`: every PMD-aligned range
 * inside is collapsed into a new THP (or already is one). The sysfs modes
 * are ignored; VM_NOHUGEPAGE, a VMA without anon_vma or without room for a
 * whole PMD refuse with -EINVAL. Returns 0 when every range is a THP now,
 * else the errno of the last failure; 'stopped' when `stop` stopped it in
 * collapse_huge_page()'s window (the caller allows it for one range only).
 */
export function madvise_collapse(
  s: KState,
  ctx: KCtx,
  t: number,
  vi: number,
  start: number,
  end: number,
  stop = false,
): number | 'stopped' {
  if (ctx.prof.mech.features.madvCollapse === 'none' || pmd_nr(s) === 0) return -EINVAL;
  const nr = pmd_nr(s);
  if (!thp_vma_allowable_order(s, ctx, t, vi, s.L.geo.pmdOrder, true)) return -EINVAL;
  if (!vma_anon_at(s, t, vi)) return -EINVAL;
  // the VMA must hold one aligned PMD range (thp_vma_suitable_order of vm_end - HPAGE_PMD_SIZE)
  const vend = vma_end_at(s, t, vi);
  const last = vend - nr - ((vend - nr) & (nr - 1));
  if (vend < nr || last < vma_start_at(s, t, vi)) return -EINVAL;
  lru_add_drain(s, ctx); // lru_add_drain_all()
  const hstart = Math.ceil(start / nr) * nr;
  const hend = end - (end & (nr - 1));
  let thps = 0;
  let total = 0;
  let lastFail: ScanResult = 'succeed';
  for (let h = hstart; h < hend; h += nr) {
    total++;
    // `stop` (one PMD range): collapse_huge_page() stops after the isolate, as khugepaged's does
    const r = collapse_scan_pmd(s, ctx, t, vi, h, { khugepaged: false, stop });
    if (r === 'stopped') return r;
    trace(ctx, 'madvise_collapse', `pages ${h}..${h + nr - 1}: ${r}`);
    if (r === 'succeed' || r === 'pmd-mapped') {
      thps++;
      continue;
    }
    lastFail = r;
    if (!CONTINUE.has(r)) break;
  }
  return thps === total ? 0 : scanErrno(lastFail);
}

/** How a collapse is asked for: MADV_COLLAPSE, or khugepaged's scan (its limits and its referenced-page rule), and whether it stops in its window. */
interface CollapseControl {
  khugepaged: boolean;
  stop: boolean;
}

/** The collapse stopped in its window (`stop: collapse`): what it needs to go on. */
export interface CollapseStop {
  h: number;
  nw: number;
  vi: number;
}

/**
 * hpage_collapse_scan_pmd() then collapse_huge_page() for the PMD range at
 * `h`: every PTE must be none or the zero page (not in a uffd-armed VMA),
 * a swap entry (swapped in first), or an anon page on the LRU, unlocked,
 * held only by its mappings and swap cache; up to 6.17 one PTE must be
 * writable. khugepaged also bounds the none, swap and shared PTEs
 * (max_ptes_none/_swap/_shared: 511, 64 and 256 of 512, scaled to the
 * geometry) and wants a referenced page. Then, under mmap_lock for write,
 * pmdp_collapse_flush() clears the PMD, __collapse_huge_page_isolate()
 * checks the pages again (a failure puts the PMD back), a NEW folio takes
 * the content, this mm's PTEs go, and a PG_anon_exclusive PMD maps the new
 * folio (writable if VM_WRITE). Other mms keep the old pages. With
 * `cc.stop` it stops after the isolate, before the copy (ctx.collapseStop).
 */
function collapse_scan_pmd(s: KState, ctx: KCtx, t: number, vi: number, h: number, cc: CollapseControl): ScanResult | 'stopped' {
  const nr = pmd_nr(s);
  const pmd = pmdp_get(s, t, h);
  if (pmd_trans_huge(pmd)) return 'pmd-mapped';
  if (pmd_none(pmd)) return 'pmd-null';
  const vflags = vma_flags_at(s, t, vi);
  const armed = (vflags & VM_UFFD_WP) !== 0;
  // khugepaged_max_ptes_none/_swap/_shared defaults (HPAGE_PMD_NR - 1, / 8, / 2); MADV_COLLAPSE has no such limits
  const maxNone = cc.khugepaged ? nr - 1 : nr;
  const maxSwap = cc.khugepaged ? nr >> 3 : nr;
  const maxShared = cc.khugepaged ? nr >> 1 : nr;
  let writable = false;
  let unmapped = 0;
  const scan = (final: boolean): ScanResult | null => {
    let none = 0;
    let shared = 0;
    for (let va = h; va < h + nr; va++) {
      const pte = ptep_get(s, t, va);
      if (is_swap_pte(pte)) {
        if (pte_swp_uffd_wp(pte)) return 'pte-uffd-wp';
        if (final) return 'pte-non-present';
        if (++unmapped > maxSwap) return 'exceed-swap-pte';
        continue;
      }
      if (pte_none(pte) || is_pte_marker(pte) || (pte_present(pte) && pte_pfn(pte) === ZERO_PFN)) {
        if (armed || ++none > maxNone) return 'exceed-none-pte';
        continue;
      }
      if (pte_uffd_wp(pte)) return 'pte-uffd-wp';
      if (pte_write(pte)) writable = true;
      const pfn = pte_pfn(pte);
      if (!page_test(s, pfn, PGF_ANON)) return 'page-anon';
      if (page_mapcount(s, pfn) > 1 && ++shared > maxShared) return 'exceed-shared-pte';
      if (!page_test(s, pfn, PGF_LRU)) return 'page-lru';
      if (page_test(s, pfn, PGF_LOCKED)) return 'page-lock';
      const head = folio_head(s, pfn);
      const expected = folio_test_large(s, head)
        ? folio_expected_ref_count(s, head)
        : page_mapcount(s, head) + (page_test(s, head, PGF_SWAPCACHE) ? 1 : 0);
      if (page_ref_count(s, head) !== expected) return 'page-count';
    }
    if (ctx.prof.mech.features.madvCollapse !== 'any' && !writable) return 'page-ro';
    // (khugepaged also wants a referenced page: every page the model maps was touched when it was mapped, and it keeps
    // no accessed bit, so that rule is met)
    return null;
  };
  const first = scan(false);
  if (first) return first;
  const nw = folio_alloc_large(s, 0, s.L.geo.pmdOrder);
  if (nw === 0) return 'alloc-fail';
  if (unmapped > 0) {
    // __collapse_huge_page_swapin(): a read fault on every swap PTE
    for (let va = h; va < h + nr; va++) {
      if (!is_swap_pte(ptep_get(s, t, va))) continue;
      if (handle_mm_fault(s, ctx, t, va, 0) & VM_FAULT_ERROR) {
        folio_put(s, nw);
        return 'pte-non-present';
      }
    }
    lru_add_drain(s, ctx);
  }
  // mmap_write_lock(), then pmdp_collapse_flush(): the PMD is none, the page table detached (its PTEs stay
  // until the copy clears them, which a GUP-fast that walked it before may still read)
  set_pmd_at(s, t, h, PMD_NONE);
  // __collapse_huge_page_isolate(): the authoritative checks, under the PTE lock
  writable = false;
  const again = scan(true);
  if (again) {
    set_pmd_at(s, t, h, pmd); // pmd_populate(): the page table goes back
    folio_put(s, nw);
    return again;
  }
  if (cc.stop) {
    ctx.collapseStop = { h, nw, vi };
    trace(
      ctx,
      'collapse_huge_page',
      `pages ${h}..${h + nr - 1}: PMD cleared and the pages isolated; stops before the copy, holding mmap_lock for write`,
    );
    return 'stopped';
  }
  collapse_copy(s, ctx, t, vi, h, nw);
  return 'succeed';
}

/** __collapse_huge_page_copy(), then the new PMD: the rest of collapse_huge_page() after the isolate. */
function collapse_copy(s: KState, ctx: KCtx, t: number, vi: number, h: number, nw: number): void {
  const nr = pmd_nr(s);
  const vflags = vma_flags_at(s, t, vi);
  for (let i = 0; i < nr; i++) {
    const va = h + i;
    const pte = ptep_get(s, t, va);
    const src = pte_present(pte) ? pte_pfn(pte) : ZERO_PFN;
    page_set_data(s, nw + i, src === ZERO_PFN ? 0 : page_data(s, src));
    if (pte_none(pte)) continue;
    set_pte_at(s, t, va, PTE_NONE);
    if (src === ZERO_PFN) {
      ksm_might_unmap_zero_page(s, ctx, t, pte); // __collapse_huge_page_copy_succeeded()
      continue;
    }
    folio_remove_rmap_pte(s, t, src);
    folio_put(s, src);
    // free_swap_cache(): an unmapped swap-cache page loses its swap cache
    if (page_test(s, src, PGF_SWAPCACHE) && page_mapcount(s, src) === 0) folio_free_swap(s, ctx, src);
  }
  install_new_anon_pmd(s, ctx, t, vflags, h, nw);
  ctx.metrics.collapses++;
  trace(ctx, 'collapse_huge_page', `pages ${h}..${h + nr - 1} copied into new THP ${nw}, mapped by the PMD (thp_collapse_alloc)`);
}

/**
 * khugepaged's collapse of the PMD range around `va` of task `t` (mm/khugepaged.c
 * khugepaged_scan_pmd() + collapse_huge_page(), every era with THP; read in
 * 5.10.223): as if khugepaged's scan reached it now. The VMA must be
 * eligible (hugepage_vma_check(): not VM_NOHUGEPAGE, THP always or
 * VM_HUGEPAGE, anonymous with an anon_vma) and hold the whole range. 0 when
 * the range is (now) a THP, else the errno MADV_COLLAPSE would give for the
 * scan result; `stop`: it may stop in its window ('stopped').
 */
export function khugepaged_collapse(s: KState, ctx: KCtx, t: number, va: number, stop: boolean): number | 'stopped' {
  const nr = pmd_nr(s);
  if (nr === 0) return -EINVAL;
  const vi = vma_lookup_idx(s, t, va);
  if (vi < 0) return -EFAULT;
  if (!thp_vma_allowable_order(s, ctx, t, vi, s.L.geo.pmdOrder) || !vma_anon_at(s, t, vi)) {
    trace(ctx, 'hugepage_vma_check', 'the VMA is not eligible for khugepaged');
    return -EINVAL;
  }
  const h = va - (va & (nr - 1));
  if (h < vma_start_at(s, t, vi) || h + nr > vma_end_at(s, t, vi)) return -EINVAL;
  lru_add_drain(s, ctx);
  const r = collapse_scan_pmd(s, ctx, t, vi, h, { khugepaged: true, stop });
  trace(ctx, 'khugepaged_scan_pmd', `pages ${h}..${h + nr - 1}: ${r}`);
  if (r === 'stopped') return r;
  return r === 'succeed' || r === 'pmd-mapped' ? 0 : scanErrno(r);
}

/** A collapse stopped in its window goes on: the copy and the new PMD. */
export function collapse_resume(s: KState, ctx: KCtx, t: number, st: CollapseStop): void {
  trace(ctx, 'collapse_huge_page', `goes on with pages ${st.h}..${st.h + pmd_nr(s) - 1} after the isolate`);
  collapse_copy(s, ctx, t, st.vi, st.h, st.nw);
}
