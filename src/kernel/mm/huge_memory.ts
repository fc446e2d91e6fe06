/**
 * mm/huge_memory.c: transparent huge pages mapped by a PMD, the huge zero
 * page, PMD splits and folio splits (docs/kernel/thp-pmd.md and
 * docs/kernel/large-folios-pte.md; 5.10.223, 6.1.176, 6.12.117 and 7.2.13
 * read, 6.18 interpolated between the last two, which agree on every
 * function here). Older behaviour is selected by the profile's mechanisms.
 */
import type { KState } from '../../model/layout.js';
import {
  PGF_SWAPCACHE,
  PGF_DIRTY,
  PGF_LRU,
  PGF_HEAD,
  PGF_PARTIALLY_MAPPED,
  PGF_MMIDS_SHARED,
  PGF_ANON_EXCLUSIVE,
  UFFD_FEATURE_WP_ASYNC,
  ZERO_PFN,
} from '../../model/layout.js';
import {
  type Pmd,
  PMD_NONE,
  PMD_TABLE,
  HUGE_ZERO_PMD,
  pmd_trans_huge,
  is_huge_zero_pmd,
  mk_huge_pmd,
  pmd_pfn,
  pmd_write,
  pmd_mkwrite,
  pmd_wrprotect,
  pmd_dirty,
  pmd_mkdirty,
  pmd_uffd_wp,
  pmd_mkuffd_wp,
  pmd_clear_uffd_wp,
  pmd_soft_dirty,
  pmd_clear_soft_dirty,
  pmdToString,
} from '../../model/pmd.js';
import {
  type Pte,
  mk_pte,
  pte_mkwrite,
  pte_mkdirty,
  pte_mksoft_dirty,
  pte_mkuffd_wp,
  pte_present,
  pte_pfn,
  pte_uffd_wp,
  pte_soft_dirty,
} from '../../model/pte.js';
import {
  pmdp_get,
  set_pmd_at,
  ptep_get,
  set_pte_at,
  pmd_nr,
  page_test,
  page_set,
  page_clear,
  page_ref_count,
  page_ref_add,
  page_pte_mapcount,
  page_mapcount,
  folio_entire_mapcount,
  page_mapcount_add,
  page_data,
  page_set_data,
  page_flags,
  folio_head,
  folio_nr_pages,
  folio_order,
  folio_test_large,
  folio_large_mapcount,
  vma_flags_at,
  vma_start_at,
  vma_end_at,
  vmas_of,
  anon_vma_prepare,
  task_alive,
  is_cow_mapping,
  page_split_off,
  VM_WRITE,
  VM_SHARED,
  VM_HUGETLB,
  VM_HUGEPAGE,
  VM_NOHUGEPAGE,
  VM_UFFD_WP,
  VM_LOCKED,
  task_uffd,
} from '../../model/mm_types.js';
import { type KCtx, trace } from '../ctx.js';
import { thpOrderMode } from '../../profiles/env.js';
import { keepsAnonExclusive } from '../../profiles/types.js';
import { folio_alloc_large, free_page } from './page_alloc.js';
import { folio_get, folio_put, folio_add_lru } from './swap.js';
import {
  folio_add_new_anon_rmap_large,
  folio_add_anon_rmap_ptes,
  folio_remove_rmap_pmd,
  folio_try_dup_anon_rmap_pmd,
  folio_dup_anon_rmap_pmd,
  folio_needs_cow_for_dma,
  PageAnonExclusive,
} from './rmap.js';
import { folio_free_swap, folio_swapped, delete_from_swap_cache } from './swapfile.js';
import {
  type Vmf,
  FAULT_FLAG_WRITE,
  FAULT_FLAG_UNSHARE,
  VM_FAULT_FALLBACK,
  VM_FAULT_WRITE,
  vma_is_anonymous,
  vma_soft_dirty_enabled,
  reuse_swap_page,
} from './memory.js';
import { handle_userfault } from './userfaultfd.js';
import { EAGAIN } from '../errno.js';

/* ---------------- eligibility ---------------- */

/**
 * The THP mode that applies to folios of `order` in this kernel: the
 * per-size hugepages-<size>kB/enabled knobs of 6.8+, or the one global
 * transparent_hugepage/enabled before them (PMD size only).
 */
export function thp_order_mode(s: KState, ctx: KCtx, order: number): 'always' | 'madvise' | 'never' {
  const pmdOrder = s.L.geo.pmdOrder;
  if (!ctx.prof.mech.features.mthp) return order === pmdOrder ? ctx.env.thp : 'never';
  return thpOrderMode(ctx.env, order, pmdOrder);
}

/**
 * thp_vma_allowable_order() for a private anonymous VMA (shmem and file
 * THPs are not modelled: tmpfs and memfd default to shmem_enabled=never):
 * not VM_NOHUGEPAGE, and the mode of `order` is always, or madvise with
 * VM_HUGEPAGE. MADV_COLLAPSE (`forced`) ignores the modes.
 */
export function thp_vma_allowable_order(s: KState, ctx: KCtx, t: number, vi: number, order: number, forced = false): boolean {
  if (s.L.pmds === 0) return false;
  const vflags = vma_flags_at(s, t, vi);
  // a hugetlb VMA is a hugetlbfs file mapping to the kernel (vma_is_anonymous() is false): no THP order there
  if (!vma_is_anonymous(s, t, vi) || vflags & (VM_SHARED | VM_HUGETLB)) return false;
  if (vflags & VM_NOHUGEPAGE) return false;
  if (forced) return true;
  const mode = thp_order_mode(s, ctx, order);
  return mode === 'always' || (mode === 'madvise' && (vflags & VM_HUGEPAGE) !== 0);
}

/** thp_vma_suitable_order(): the naturally aligned range of `order` around `va` lies inside the VMA. */
export function thp_vma_suitable_order(s: KState, t: number, vi: number, va: number, order: number): boolean {
  const nr = 1 << order;
  const lo = va - (va & (nr - 1));
  return lo >= vma_start_at(s, t, vi) && lo + nr <= vma_end_at(s, t, vi);
}

/** The first page of the PMD range `va` lies in. */
export function pmd_base(s: KState, va: number): number {
  return va - (va & (pmd_nr(s) - 1));
}

/* ---------------- anonymous faults ---------------- */

/**
 * do_huge_pmd_anonymous_page() (all eras): a read fault maps the huge zero
 * page when use_zero_page allows it (and the zero page is not forbidden);
 * otherwise a new exclusive PMD-order folio is mapped by the PMD, dirty,
 * writable if VM_WRITE. VM_FAULT_FALLBACK when the aligned range does not
 * fit the VMA or no aligned frames are free: the PTE path handles it.
 */
export function do_huge_pmd_anonymous_page(s: KState, ctx: KCtx, vmf: Vmf): number {
  const order = s.L.geo.pmdOrder;
  if (!thp_vma_suitable_order(s, vmf.t, vmf.vi, vmf.va, order)) return VM_FAULT_FALLBACK;
  anon_vma_prepare(s, vmf.t, vmf.vi);
  const haddr = pmd_base(s, vmf.va);
  if ((vmf.flags & FAULT_FLAG_WRITE) === 0 && ctx.env.zeroPage && ctx.env.hugeZeroPage) {
    set_pmd_at(s, vmf.t, haddr, HUGE_ZERO_PMD);
    trace(ctx, 'do_huge_pmd_anonymous_page', `read fault: huge zero page mapped at pages ${haddr}..${haddr + pmd_nr(s) - 1}`);
    return 0;
  }
  const head = folio_alloc_large(s, 0, order);
  if (head === 0) {
    trace(ctx, 'do_huge_pmd_anonymous_page', 'no PMD-sized folio: thp_fault_fallback');
    return VM_FAULT_FALLBACK;
  }
  map_anon_folio_pmd(s, ctx, vmf.t, vmf.vflags, haddr, head, true);
  trace(ctx, 'do_huge_pmd_anonymous_page', `new exclusive THP ${head} mapped by the PMD at page ${haddr} (thp_fault_alloc)`);
  return 0;
}

/** map_anon_folio_pmd(): a new zeroed PMD folio, dirty and writable if VM_WRITE, exclusive, straight onto the LRU. */
function map_anon_folio_pmd(s: KState, ctx: KCtx, t: number, vflags: number, haddr: number, head: number, zero: boolean): void {
  const nr = folio_nr_pages(s, head);
  if (zero) for (let i = 0; i < nr; i++) page_set_data(s, head + i, 0);
  let entry = pmd_mkdirty(mk_huge_pmd(head));
  if (vflags & VM_WRITE) entry = pmd_mkwrite(entry);
  folio_add_new_anon_rmap_large(s, ctx, head, t, true);
  folio_add_lru(s, ctx, head);
  set_pmd_at(s, t, haddr, entry);
}

/** A new PMD folio whose content is already set (MADV_COLLAPSE) mapped by task `t`'s PMD at `haddr`. */
export function install_new_anon_pmd(s: KState, ctx: KCtx, t: number, vflags: number, haddr: number, head: number): void {
  map_anon_folio_pmd(s, ctx, t, vflags, haddr, head, false);
}

/* ---------------- write and unshare faults on a huge PMD ---------------- */

/**
 * wp_huge_pmd() (6.18): a write to a uffd-wp protected PMD goes to
 * userfaultfd (or, with UFFD_FEATURE_WP_ASYNC, is split and resolved at PTE
 * level); otherwise do_huge_pmd_wp_page().
 */
export function wp_huge_pmd(s: KState, ctx: KCtx, vmf: Vmf, pmd: Pmd): number {
  const unshare = (vmf.flags & FAULT_FLAG_UNSHARE) !== 0;
  if (!unshare && vmf.vflags & VM_UFFD_WP && pmd_uffd_wp(pmd)) {
    if (ctx.prof.mech.uffd.wpAsync && userfaultfd_wp_async(s, vmf.t)) {
      __split_huge_pmd(s, ctx, vmf.t, vmf.va);
      return VM_FAULT_FALLBACK;
    }
    trace(ctx, 'wp_huge_pmd', 'uffd-wp protected PMD: handle_userfault(VM_UFFD_WP)');
    return handle_userfault(s, ctx, vmf);
  }
  return do_huge_pmd_wp_page(s, ctx, vmf, pmd);
}

function userfaultfd_wp_async(s: KState, t: number): boolean {
  return (task_uffd(s, t) & UFFD_FEATURE_WP_ASYNC) !== 0;
}

/**
 * do_huge_pmd_wp_page(): a write or unshare fault on a read-only huge PMD.
 * The huge zero page: per cow.hugeZeroWp. A THP: reuse when the head is
 * PG_anon_exclusive (5.19+), else by cow.pmdReuse (the mapcount of
 * reuse_swap_page() up to 5.17, the refcount from 5.18). When it cannot be
 * reused: cow.pmdCopy, a new THP (up to 5.7), or a split of this PMD and
 * VM_FAULT_FALLBACK so the PTE path decides page by page (5.8+).
 */
export function do_huge_pmd_wp_page(s: KState, ctx: KCtx, vmf: Vmf, pmd: Pmd): number {
  const unshare = (vmf.flags & FAULT_FLAG_UNSHARE) !== 0;
  const cow = ctx.prof.mech.cow;
  anon_vma_prepare(s, vmf.t, vmf.vi);
  const haddr = pmd_base(s, vmf.va);
  if (is_huge_zero_pmd(pmd)) {
    if (cow.hugeZeroWp === 'alloc-thp') {
      const r = do_huge_zero_wp_pmd(s, ctx, vmf, haddr);
      if (r !== VM_FAULT_FALLBACK) return r;
    }
    trace(ctx, 'do_huge_pmd_wp_page', 'huge zero page: split into PTEs of the zero page, fall back to the PTE fault');
    __split_huge_pmd(s, ctx, vmf.t, vmf.va);
    return VM_FAULT_FALLBACK;
  }
  const head = pmd_pfn(pmd);
  const reuse = (why: string): number => {
    trace(ctx, 'do_huge_pmd_wp_page', `THP ${head}: ${why}: reuse${unshare ? ' (unshare: PMD left read-only)' : ''}`);
    if (unshare) return 0;
    let entry = pmd_mkdirty(pmd);
    if (vmf.vflags & VM_WRITE) entry = pmd_mkwrite(entry);
    set_pmd_at(s, vmf.t, haddr, entry);
    ctx.metrics.reuses++;
    return VM_FAULT_WRITE;
  };
  if (cow.exclusive !== 'none' && PageAnonExclusive(s, head)) return reuse('head is PG_anon_exclusive');
  const nr = folio_nr_pages(s, head);
  if (cow.pmdReuse === 'mapcount') {
    if (reuse_swap_page(s, ctx, head)) {
      // a profile with an exclusive marker (a proposal) records that the THP is ours now
      if (keepsAnonExclusive(ctx.prof.mech)) page_set(s, head, PGF_ANON_EXCLUSIVE);
      return reuse('mapcount + swapcount of every page <= 1 (reuse_swap_page)');
    }
  } else {
    const swapcache = page_test(s, head, PGF_SWAPCACHE) ? nr : 0;
    if (page_ref_count(s, head) <= 1 + swapcache) {
      if (swapcache) folio_free_swap(s, ctx, head);
      if (page_ref_count(s, head) === 1) {
        if (keepsAnonExclusive(ctx.prof.mech)) page_set(s, head, PGF_ANON_EXCLUSIVE);
        return reuse('refcount 1');
      }
    }
    trace(ctx, 'do_huge_pmd_wp_page', `THP ${head}: refcount ${page_ref_count(s, head)}: cannot reuse`);
  }
  if (cow.pmdCopy === 'thp' && !unshare) {
    const r = do_huge_pmd_wp_page_fallback_copy(s, ctx, vmf, haddr, head, pmd);
    if (r !== VM_FAULT_FALLBACK) return r;
  }
  trace(ctx, 'do_huge_pmd_wp_page', `THP ${head}: split this PMD and fall back to the PTE fault`);
  __split_huge_pmd(s, ctx, vmf.t, vmf.va);
  return VM_FAULT_FALLBACK;
}

/**
 * Up to 5.7 (before 3917c80280c9): a THP that cannot be reused is copied
 * whole into a new THP mapped by the PMD (when no THP can be had the kernel
 * copied it into 512 small pages; the model then splits instead).
 */
function do_huge_pmd_wp_page_fallback_copy(s: KState, ctx: KCtx, vmf: Vmf, haddr: number, old: number, pmd: Pmd): number {
  const order = folio_order(s, old);
  const nw = folio_alloc_large(s, 0, order);
  if (nw === 0) return VM_FAULT_FALLBACK;
  const nr = folio_nr_pages(s, old);
  for (let i = 0; i < nr; i++) page_set_data(s, nw + i, page_data(s, old + i));
  ctx.metrics.copies += nr;
  map_anon_folio_pmd(s, ctx, vmf.t, vmf.vflags, haddr, nw, false);
  if (pmd_uffd_wp(pmd)) set_pmd_at(s, vmf.t, haddr, pmd_mkuffd_wp(pmdp_get(s, vmf.t, haddr)));
  folio_remove_rmap_pmd(s, vmf.t, old);
  folio_put(s, old);
  trace(ctx, 'do_huge_pmd_wp_page', `THP ${old} copied into new THP ${nw}`);
  return VM_FAULT_WRITE;
}

/**
 * do_huge_zero_wp_pmd() (1ced09e0331f, 6.13+; a zeroed THP up to 5.7 too):
 * a fresh exclusive THP replaces the huge zero page, writable if VM_WRITE,
 * on unshare as well. VM_FAULT_FALLBACK if no PMD folio can be had.
 */
function do_huge_zero_wp_pmd(s: KState, ctx: KCtx, vmf: Vmf, haddr: number): number {
  const head = folio_alloc_large(s, 0, s.L.geo.pmdOrder);
  if (head === 0) return VM_FAULT_FALLBACK;
  const old = pmdp_get(s, vmf.t, haddr);
  map_anon_folio_pmd(s, ctx, vmf.t, vmf.vflags, haddr, head, true);
  if (pmd_uffd_wp(old)) set_pmd_at(s, vmf.t, haddr, pmd_mkuffd_wp(pmdp_get(s, vmf.t, haddr)));
  trace(ctx, 'do_huge_zero_wp_pmd', `huge zero page replaced by new exclusive THP ${head}`);
  return (vmf.flags & FAULT_FLAG_UNSHARE) !== 0 ? 0 : VM_FAULT_WRITE;
}

/** huge_pmd_set_accessed(): a fault the PMD already allows; a write marks it dirty. */
export function huge_pmd_set_accessed(s: KState, ctx: KCtx, vmf: Vmf, pmd: Pmd): number {
  if (vmf.flags & FAULT_FLAG_WRITE) set_pmd_at(s, vmf.t, pmd_base(s, vmf.va), pmd_mkdirty(pmd));
  trace(ctx, 'huge_pmd_set_accessed', 'PMD already suitable: young only');
  return 0;
}

/* ---------------- fork ---------------- */

/**
 * copy_huge_pmd(): fork of a huge PMD. The huge zero page is shared. A THP
 * is shared write-protected in both, unless fork must copy it for the
 * child because it may be pinned (fork.copyPinned: the folio's pin count,
 * 5.9+, and from 5.19 only for an exclusive head): then the parent's PMD is
 * split and -EAGAIN sends fork to the PTE copy, which copies the pages.
 * Returns 0 when the PMD was copied, -EAGAIN otherwise.
 */
export function copy_huge_pmd(s: KState, ctx: KCtx, src: number, dst: number, va: number, sflags: number, dflags: number): number {
  const pmd = pmdp_get(s, src, va);
  if (!pmd_trans_huge(pmd)) return -EAGAIN;
  let child = pmd;
  if (!is_huge_zero_pmd(pmd)) {
    const head = pmd_pfn(pmd);
    folio_get(s, head);
    const mode = ctx.prof.mech.fork.copyPinned;
    let pinned = false;
    // Linus' proposal: a THP a GUP marked exclusive stays the parent's, the child gets copies
    if (ctx.prof.mech.fork.copyMarked && PageAnonExclusive(s, head)) pinned = true;
    else if (mode === 'exclusive-maybe-pinned') pinned = !folio_try_dup_anon_rmap_pmd(s, ctx, src, dst, sflags, head);
    else if (mode === 'maybe-pinned' && folio_needs_cow_for_dma(s, ctx, src, sflags, head)) pinned = true;
    if (pinned) {
      folio_put(s, head);
      trace(ctx, 'copy_huge_pmd', `THP ${head} may be pinned: split the parent's PMD, copy at PTE level`);
      __split_huge_pmd(s, ctx, src, va);
      return -EAGAIN;
    }
    if (mode !== 'exclusive-maybe-pinned') {
      // a THP now shared is exclusive to no one (a proposal's exclusive bit included)
      page_clear(s, head, PGF_ANON_EXCLUSIVE);
      folio_dup_anon_rmap_pmd(s, dst, head);
    }
  }
  if (is_cow_mapping(sflags)) {
    set_pmd_at(s, src, va, pmd_wrprotect(pmd));
    child = pmd_wrprotect(child);
  }
  if ((dflags & VM_UFFD_WP) === 0) child = pmd_clear_uffd_wp(child);
  set_pmd_at(s, dst, va, child);
  trace(ctx, 'copy_huge_pmd', `${is_huge_zero_pmd(pmd) ? 'huge zero page' : `THP ${pmd_pfn(pmd)}`} shared with the child`);
  return 0;
}

/* ---------------- splitting a PMD ---------------- */

/**
 * __split_huge_pmd() -> __split_huge_pmd_locked() (non-freeze): the huge
 * PMD covering `va` becomes a table of PTEs. For a THP: every PTE keeps the
 * PMD's write, dirty, uffd-wp and soft-dirty bits; the folio gains nr - 1
 * references and one PTE mapping per page and loses the PMD mapping;
 * PG_anon_exclusive of the head goes to every page (5.19+). The huge zero
 * page becomes PTEs of the small zero page. thp_split_pmd.
 */
export function __split_huge_pmd(s: KState, ctx: KCtx, t: number, va: number): void {
  const haddr = pmd_base(s, va);
  const pmd = pmdp_get(s, t, haddr);
  if (!pmd_trans_huge(pmd)) return;
  const nr = pmd_nr(s);
  ctx.metrics.pmdSplits++;
  if (is_huge_zero_pmd(pmd)) {
    for (let i = 0; i < nr; i++) {
      let e: Pte = mk_pte(ZERO_PFN);
      if (pmd_uffd_wp(pmd)) e = pte_mkuffd_wp(e);
      if (pmd_soft_dirty(pmd)) e = pte_mksoft_dirty(e);
      set_pmd_at(s, t, haddr, PMD_TABLE);
      set_pte_at(s, t, haddr + i, e);
    }
    trace(ctx, '__split_huge_zero_page_pmd', `huge zero PMD at page ${haddr} split into zero-page PTEs`);
    return;
  }
  const head = pmd_pfn(pmd);
  const write = pmd_write(pmd);
  const dirty = pmd_dirty(pmd);
  if (dirty) page_set(s, head, PGF_DIRTY);
  const exclusive = PageAnonExclusive(s, head);
  page_ref_add(s, head, nr - 1);
  folio_add_anon_rmap_ptes(s, ctx, t, head, nr, exclusive);
  set_pmd_at(s, t, haddr, PMD_TABLE);
  for (let i = 0; i < nr; i++) {
    let e = mk_pte(head + i);
    if (write) e = pte_mkwrite(e);
    // 6.2+ (96d82deb743a): the PTEs inherit the dirty bit; before, only the folio's PG_dirty did
    if (dirty && ctx.prof.mech.wrprotect.splitPtesDirty) e = pte_mkdirty(e);
    if (pmd_soft_dirty(pmd)) e = pte_mksoft_dirty(e);
    if (pmd_uffd_wp(pmd)) e = pte_mkuffd_wp(e);
    set_pte_at(s, t, haddr + i, e);
  }
  folio_remove_rmap_pmd(s, t, head);
  trace(
    ctx,
    '__split_huge_pmd',
    `THP ${head} at page ${haddr}: PMD split into ${nr} PTEs${exclusive ? ' (exclusive)' : ''} (${pmdToString(pmd)})`,
  );
}

/**
 * split_huge_pmd_address() at a boundary that falls inside a huge PMD
 * (vma_adjust_trans_huge(): a VMA split by mprotect, munmap, madvise,
 * mremap or userfaultfd at an address that is not PMD-aligned).
 */
export function split_huge_pmd_address(s: KState, ctx: KCtx, t: number, va: number): void {
  if (s.L.pmds === 0 || (va & (pmd_nr(s) - 1)) === 0 || va >= s.L.geo.vpages) return;
  if (pmd_trans_huge(pmdp_get(s, t, va))) __split_huge_pmd(s, ctx, t, va);
}

/**
 * Splits every huge PMD [start, end) covers only in part (zap_pmd_range,
 * change_pmd_range, move_page_tables, madvise walks), so the caller can
 * work on PTEs there; returns the huge PMDs fully inside, by first page.
 */
export function split_partial_pmds(s: KState, ctx: KCtx, t: number, start: number, end: number): number[] {
  const whole: number[] = [];
  if (s.L.pmds === 0) return whole;
  const nr = pmd_nr(s);
  for (let h = pmd_base(s, start); h < end; h += nr) {
    if (!pmd_trans_huge(pmdp_get(s, t, h))) continue;
    if (h >= start && h + nr <= end) whole.push(h);
    else __split_huge_pmd(s, ctx, t, h);
  }
  return whole;
}

/* ---------------- zap ---------------- */

/**
 * zap_huge_pmd(): a whole huge PMD goes (munmap, MADV_DONTNEED, exit):
 * the PMD mapping and its reference. The huge zero page only loses the
 * page table entry.
 */
export function zap_huge_pmd(s: KState, ctx: KCtx, t: number, haddr: number): void {
  const pmd = pmdp_get(s, t, haddr);
  set_pmd_at(s, t, haddr, PMD_NONE);
  if (is_huge_zero_pmd(pmd)) {
    trace(ctx, 'zap_huge_pmd', `huge zero PMD at page ${haddr} zapped`);
    return;
  }
  const head = pmd_pfn(pmd);
  if (pmd_dirty(pmd)) page_set(s, head, PGF_DIRTY);
  folio_remove_rmap_pmd(s, t, head);
  folio_put(s, head);
  trace(ctx, 'zap_huge_pmd', `THP ${head} at page ${haddr} unmapped`);
}

/* ---------------- mprotect and uffd-wp on a whole PMD ---------------- */

/**
 * change_huge_pmd(): mprotect() or UFFDIO_WRITEPROTECT over a whole huge
 * PMD. Private PMDs lose the write bit (uffd-wp sets its bit, resolving
 * clears it); from 6.2 (wrprotect.pmdWritable) an exclusive THP may be made
 * writable at once when nothing needs write faults (can_change_pmd_writable).
 */
export function change_huge_pmd(
  s: KState,
  ctx: KCtx,
  t: number,
  haddr: number,
  vflags: number,
  opts: { uffdWp?: boolean; uffdResolve?: boolean; tryWritable?: boolean },
): void {
  const old = pmdp_get(s, t, haddr);
  let p = pmd_wrprotect(old);
  if (opts.uffdWp) p = pmd_mkuffd_wp(p);
  else if (opts.uffdResolve) p = pmd_clear_uffd_wp(p);
  if (opts.tryWritable && !is_huge_zero_pmd(p) && can_change_pmd_writable(s, ctx, vflags, p)) p = pmd_mkwrite(p);
  if (p !== old) {
    set_pmd_at(s, t, haddr, p);
    trace(ctx, 'change_huge_pmd', `PMD at page ${haddr}: ${pmdToString(p)}`);
  }
}

/** can_change_pmd_writable() (6.2+). */
function can_change_pmd_writable(s: KState, ctx: KCtx, vflags: number, pmd: Pmd): boolean {
  if (!ctx.prof.mech.wrprotect.pmdWritable) return false;
  if ((vflags & VM_WRITE) === 0 || vflags & VM_SHARED) return false;
  if (vma_soft_dirty_enabled(ctx, vflags) && !pmd_soft_dirty(pmd)) return false;
  if (vflags & VM_UFFD_WP && pmd_uffd_wp(pmd)) return false;
  return PageAnonExclusive(s, pmd_pfn(pmd));
}

/** clear_soft_dirty_pmd(): clear_refs 4 write-protects a huge PMD and clears its soft-dirty bit. */
export function clear_soft_dirty_pmd(s: KState, t: number, haddr: number): void {
  set_pmd_at(s, t, haddr, pmd_clear_soft_dirty(pmd_wrprotect(pmdp_get(s, t, haddr))));
}

/* ---------------- folio split ---------------- */

/** unmap_folio() / TTU_SPLIT_HUGE_PMD: every PMD that maps the folio becomes a table of PTEs. */
export function split_folio_pmds(s: KState, ctx: KCtx, head: number): void {
  if (folio_entire_mapcount(s, head) === 0) return;
  for (let t = 0; t < s.L.geo.tasks; t++) {
    if (!task_alive(s, t)) continue;
    for (const v of vmas_of(s, t)) {
      for (let h = pmd_base(s, v.start); h < v.end; h += pmd_nr(s)) {
        const pmd = pmdp_get(s, t, h);
        if (pmd_trans_huge(pmd) && pmd_pfn(pmd) === head) __split_huge_pmd(s, ctx, t, h);
      }
    }
  }
}

/**
 * folio_expected_ref_count() for an anon folio: one reference per mapping
 * (PTE or PMD) and one per page in the swap cache.
 */
export function folio_expected_ref_count(s: KState, head: number): number {
  const nr = folio_nr_pages(s, head);
  return folio_large_mapcount(s, head) + (page_test(s, head, PGF_SWAPCACHE) ? nr : 0);
}

/**
 * split_folio_to_list() of an anon large folio into order-0 folios, as
 * __folio_split() does it: only when nothing but its mappings, its swap
 * cache and the caller (`callerRefs`) hold it, else -EAGAIN. PMD mappings
 * are split first (freeze: the same result as __split_huge_pmd); every
 * page keeps its PG_anon_exclusive and its PTEs. With `list` (reclaim), the
 * new folios after the first are isolated onto it with a reference each.
 * From 6.12 (fault.splitZeroPages) zero-filled pages are mapped to the
 * shared zero page instead. Pages left
 * unmapped are freed. The caller's references end on page `at` (0: the
 * head). Returns 0 or -EAGAIN.
 */
export function split_folio(s: KState, ctx: KCtx, pfn: number, callerRefs: number, list: number[] | null = null, at = 0): number {
  const head = folio_head(s, pfn);
  if (!folio_test_large(s, head)) return 0;
  const nr = folio_nr_pages(s, head);
  const expected = folio_expected_ref_count(s, head);
  if (page_ref_count(s, head) - callerRefs !== expected) {
    trace(ctx, 'split_folio', `folio ${head}: refcount ${page_ref_count(s, head)} != ${expected} expected + ${callerRefs}: -EAGAIN`);
    return -EAGAIN;
  }
  split_folio_pmds(s, ctx, head);
  // __split_folio_to_order(): every page its own folio, carrying the folio's flags
  const flags = page_flags(s, head) & ~(PGF_HEAD | PGF_PARTIALLY_MAPPED | PGF_MMIDS_SHARED);
  const lru = page_test(s, head, PGF_LRU);
  // a folio in the swap cache: every page keeps its slot and one swap-cache reference
  const swapcache = (flags & PGF_SWAPCACHE) !== 0 ? 1 : 0;
  for (let i = 0; i < nr; i++) {
    // the caller's references stay with the page it named (split_huge_page(page)), the head by default (split_folio)
    const own = head + i === (at || head) ? callerRefs : 0;
    page_split_off(s, head + i, flags, page_pte_mapcount(s, head + i) + swapcache + own + (i > 0 && list ? 1 : 0));
    if (i > 0 && list) page_clear(s, head + i, PGF_LRU);
    else if (lru) page_set(s, head + i, PGF_LRU);
  }
  // remap_page(RMP_USE_SHARED_ZEROPAGE), 6.12+: zero-filled pages become the zero page. Not env.zeroPage:
  // a host that gives read faults no zero page (pvm_no_zero_page=1) still maps it here (measured, 6.18)
  if (ctx.prof.mech.fault.splitZeroPages) {
    for (let t = 0; t < s.L.geo.tasks; t++) {
      if (!task_alive(s, t)) continue;
      for (const v of vmas_of(s, t)) {
        if (v.flags & VM_LOCKED) continue;
        for (let va = v.start; va < v.end; va++) {
          const pte = ptep_get(s, t, va);
          if (!pte_present(pte)) continue;
          const p = pte_pfn(pte);
          if (p < head || p >= head + nr || page_data(s, p) !== 0) continue;
          let e: Pte = mk_pte(ZERO_PFN);
          if (pte_soft_dirty(pte)) e = pte_mksoft_dirty(e);
          if (pte_uffd_wp(pte)) e = pte_mkuffd_wp(e);
          set_pte_at(s, t, va, e);
          page_mapcount_add(s, p, -1);
          page_ref_add(s, p, -1);
        }
      }
    }
  }
  let freed = 0;
  for (let i = 0; i < nr; i++) {
    const p = head + i;
    // free_folio_and_swap_cache(): an unmapped page whose slot no swap PTE names leaves the swap cache
    if (swapcache && i > 0 && page_mapcount(s, p) === 0 && !folio_swapped(s, p)) delete_from_swap_cache(s, p);
    if (page_ref_count(s, p) === 0) {
      free_page(s, p);
      freed++;
    } else if (i > 0 && list) list.push(p);
  }
  ctx.metrics.folioSplits++;
  trace(ctx, 'split_folio', `folio ${head} of ${nr} pages split into order-0 folios${freed ? `, ${freed} unmapped page(s) freed` : ''}`);
  return 0;
}
