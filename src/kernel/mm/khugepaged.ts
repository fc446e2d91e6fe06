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
  VM_UFFD_WP,
} from '../../model/mm_types.js';
import { pmd_trans_huge, pmd_none } from '../../model/pmd.js';
import { type KCtx, trace } from '../ctx.js';
import { folio_alloc_large } from './page_alloc.js';
import { folio_put, lru_add_drain } from './swap.js';
import { folio_remove_rmap_pte } from './rmap.js';
import { folio_free_swap } from './swapfile.js';
import { thp_vma_allowable_order, folio_expected_ref_count, install_new_anon_pmd } from './huge_memory.js';
import { handle_mm_fault, VM_FAULT_ERROR } from './memory.js';
import { EINVAL, EAGAIN, ENOMEM, EBUSY } from '../errno.js';

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
  | 'pte-non-present';

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
 * else the errno of the last failure.
 */
export function madvise_collapse(s: KState, ctx: KCtx, t: number, vi: number, start: number, end: number): number {
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
    const r = collapse_scan_pmd(s, ctx, t, vi, h);
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

/**
 * hpage_collapse_scan_pmd() then collapse_huge_page() for the PMD range at
 * `h`: every PTE must be none or the zero page (not in a uffd-armed VMA),
 * a swap entry (swapped in first), or an anon page on the LRU, unlocked,
 * held only by its mappings and swap cache; up to 6.17 one PTE must be
 * writable. Then a NEW folio takes the content, this mm's PTEs go, and a
 * PG_anon_exclusive PMD maps the new folio (writable if VM_WRITE). Other
 * mms keep the old pages.
 */
function collapse_scan_pmd(s: KState, ctx: KCtx, t: number, vi: number, h: number): ScanResult {
  const nr = pmd_nr(s);
  const pmd = pmdp_get(s, t, h);
  if (pmd_trans_huge(pmd)) return 'pmd-mapped';
  if (pmd_none(pmd)) return 'pmd-null';
  const vflags = vma_flags_at(s, t, vi);
  const armed = (vflags & VM_UFFD_WP) !== 0;
  let writable = false;
  let unmapped = 0;
  const scan = (final: boolean): ScanResult | null => {
    for (let va = h; va < h + nr; va++) {
      const pte = ptep_get(s, t, va);
      if (is_swap_pte(pte)) {
        if (pte_swp_uffd_wp(pte)) return 'pte-uffd-wp';
        if (final) return 'pte-non-present';
        unmapped++;
        continue;
      }
      if (pte_none(pte) || is_pte_marker(pte) || (pte_present(pte) && pte_pfn(pte) === ZERO_PFN)) {
        if (armed) return 'exceed-none-pte';
        continue;
      }
      if (pte_uffd_wp(pte)) return 'pte-uffd-wp';
      if (pte_write(pte)) writable = true;
      const pfn = pte_pfn(pte);
      if (!page_test(s, pfn, PGF_ANON)) return 'page-anon';
      if (!page_test(s, pfn, PGF_LRU)) return 'page-lru';
      if (page_test(s, pfn, PGF_LOCKED)) return 'page-lock';
      const head = folio_head(s, pfn);
      const expected = folio_test_large(s, head)
        ? folio_expected_ref_count(s, head)
        : page_mapcount(s, head) + (page_test(s, head, PGF_SWAPCACHE) ? 1 : 0);
      if (page_ref_count(s, head) !== expected) return 'page-count';
    }
    if (ctx.prof.mech.features.madvCollapse === 'writable' && !writable) return 'page-ro';
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
  // __collapse_huge_page_isolate(): the authoritative checks, under the locks
  writable = false;
  const again = scan(true);
  if (again) {
    folio_put(s, nw);
    return again;
  }
  // __collapse_huge_page_copy(), then the source PTEs go
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
  return 'succeed';
}
