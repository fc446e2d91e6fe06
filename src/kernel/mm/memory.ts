/**
 * mm/memory.c: the page fault paths, fork's page-table copy and zap.
 *
 * Each function is named after the kernel function it models and follows the
 * Linux 6.18 code read for docs/kernel/memory.md; where a profile selects an
 * older or a proposed mechanism, the branch says which commit it belongs to.
 * Only order-0 (base) pages are modelled.
 */
import type { KState } from '../../model/layout.js';
import {
  ZERO_PFN,
  PGF_KSM,
  PGF_LRU,
  PGF_SWAPCACHE,
  PGF_LOCKED,
  PGF_DIRTY,
  PGF_SWAPBACKED,
  PGF_ANON_EXCLUSIVE,
  PGF_ANON,
  FF_TMPFILE,
} from '../../model/layout.js';
import {
  type Pte,
  pte_none,
  pte_present,
  pte_write,
  pte_mkwrite,
  pte_mkdirty,
  pte_dirty,
  mk_pte,
  pte_pfn,
  pte_uffd_wp,
  pte_mkuffd_wp,
  pte_clear_uffd_wp,
  pte_soft_dirty,
  pte_mksoft_dirty,
  is_pte_marker,
  pte_marker_uffd_wp,
  pte_swp_slot,
  pte_swp_exclusive,
  pte_swp_uffd_wp,
  pte_swp_soft_dirty,
  PTE_NONE,
  PTE_MARKER_UFFD_WP,
  pte_wrprotect,
  pte_mkclean,
  is_swap_pte,
  pte_swp_clear_exclusive,
  pte_swp_clear_uffd_wp,
  pte_advance_pfn,
  pte_move_swp_offset,
} from '../../model/pte.js';
import {
  ptep_get,
  set_pte_at,
  vma_lookup_idx,
  vma_flags_at,
  vma_file_at,
  vma_pgoff_of,
  anon_vma_prepare,
  page_ref_count,
  page_mapcount,
  page_test,
  page_set,
  page_clear,
  page_data,
  page_set_data,
  page_private,
  swap_count,
  swap_data,
  is_cow_mapping,
  file_flags,
  vma_anon_at,
  VM_WRITE,
  VM_SHARED,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_UFFD_WP,
  VM_SOFTDIRTY,
  VM_LOCKED,
  VM_PFNMAP,
  VM_HUGETLB,
  task_uffd,
  task_set_curwid,
  vma_start_at,
  vma_end_at,
  folio_test_large,
  folio_large_mapcount,
  folio_nr_pages,
  folio_head,
  pmdp_get,
  set_pmd_at,
  folio_mapped,
  pmd_nr,
  page_ref_add,
  swap_cache_pfn,
} from '../../model/mm_types.js';
import { UFFD_FEATURE_WP_ASYNC, PGF_MMIDS_SHARED, FORK_STOP_SHARE, FORK_STOP_COPY } from '../../model/layout.js';
import type { ForkStopKind, CopyRangeResult } from '../kernel/fork.js';
import { pmd_none, pmd_trans_huge, pmd_write, PMD_NONE, PMD_TABLE } from '../../model/pmd.js';
import { type KCtx, trace, ModelBug } from '../ctx.js';
import { alloc_page, folio_alloc_large } from './page_alloc.js';
import { folio_get, folio_put, folio_add_lru, lru_add_drain } from './swap.js';
import {
  folio_add_new_anon_rmap,
  folio_add_anon_rmap_pte,
  folio_add_file_rmap_pte,
  folio_remove_rmap_pte,
  folio_try_dup_anon_rmap_pte,
  folio_dup_file_rmap_pte,
  folio_move_anon_rmap,
  PageAnon,
  PageAnonExclusive,
  folio_needs_cow_for_dma,
  folio_add_new_anon_rmap_large,
  folio_add_anon_rmap_ptes,
} from './rmap.js';
import {
  thp_vma_allowable_order,
  thp_vma_suitable_order,
  pmd_base,
  do_huge_pmd_anonymous_page,
  wp_huge_pmd,
  huge_pmd_set_accessed,
  copy_huge_pmd,
  split_partial_pmds,
  zap_huge_pmd,
} from './huge_memory.js';
import { folio_free_swap, swap_free, swap_duplicate, free_swap_and_cache, delete_from_swap_cache, add_to_swap_cache } from './swapfile.js';
import { filemap_fault, filemap_get_uptodate } from './filemap.js';
import { swap_cache_get_folio, swapin_readahead } from './swap_state.js';
import { handle_userfault } from './userfaultfd.js';
import { mm_tlb_flush_pending, flush_tlb_range } from '../arch/x86/mm/tlb.js';
import { swapin_stopped_on, WouldBlock } from '../../model/threads.js';
import { page_observers } from '../../model/observers.js';
import { reuse_ksm_page, ksm_might_unmap_zero_page, ksm_might_need_to_copy } from './ksm.js';
import { is_vm_hugetlb_page, hugetlb_fault, __unmap_hugepage_range, copy_hugetlb_page_range } from './hugetlb.js';

/* ---- fault flags (include/linux/mm_types.h enum fault_flag) ---- */
export const FAULT_FLAG_WRITE = 1 << 0;
export const FAULT_FLAG_UNSHARE = 1 << 1;
export const FAULT_FLAG_REMOTE = 1 << 2;
export const FAULT_FLAG_USER = 1 << 3;
export const FAULT_FLAG_TRIED = 1 << 4;
/** the fault may drop mmap_lock and return VM_FAULT_RETRY (GUP with a `locked` argument) */
export const FAULT_FLAG_ALLOW_RETRY = 1 << 5;

/* ---- fault results (vm_fault_t) ---- */
export const VM_FAULT_SIGSEGV = 1 << 0;
export const VM_FAULT_SIGBUS = 1 << 1;
export const VM_FAULT_OOM = 1 << 2;
export const VM_FAULT_RETRY = 1 << 3;
export const VM_FAULT_MAJOR = 1 << 4;
export const VM_FAULT_NOPAGE = 1 << 5;
/** do_wp_page() (or swap-in) made the page writable for this write: COW is broken (until 6.0, with FOLL_COW) */
export const VM_FAULT_WRITE = 1 << 6;
/** a huge PMD fault that leaves the work to the PTE level (the PMD was split or none could be had) */
export const VM_FAULT_FALLBACK = 1 << 7;
export const VM_FAULT_ERROR = VM_FAULT_SIGSEGV | VM_FAULT_SIGBUS | VM_FAULT_OOM;

/** struct vm_fault, reduced. */
export interface Vmf {
  readonly t: number;
  readonly vi: number;
  readonly vflags: number;
  readonly va: number;
  flags: number;
  orig: Pte;
}

/* ---------------- small helpers from include/linux/mm.h ---------------- */

/** vma_is_anonymous(): no file behind the VMA (MAP_SHARED|MAP_ANONYMOUS is shmem, hence a file). */
export function vma_is_anonymous(s: KState, t: number, vi: number): boolean {
  return vma_file_at(s, t, vi) < 0;
}

/** vma_soft_dirty_enabled(): soft-dirty tracking is on for the VMA (clear_refs cleared VM_SOFTDIRTY). */
export function vma_soft_dirty_enabled(ctx: KCtx, vflags: number): boolean {
  return ctx.prof.mech.config.softDirty && (vflags & VM_SOFTDIRTY) === 0;
}

/** pte_needs_soft_dirty_wp(). */
export function pte_needs_soft_dirty_wp(ctx: KCtx, vflags: number, pte: Pte): boolean {
  return vma_soft_dirty_enabled(ctx, vflags) && !pte_soft_dirty(pte);
}

/** userfaultfd_pte_wp(): a uffd-wp VMA and a PTE carrying the uffd-wp bit. */
export function userfaultfd_pte_wp(vflags: number, pte: Pte): boolean {
  return (vflags & VM_UFFD_WP) !== 0 && pte_uffd_wp(pte);
}

/**
 * vma_wants_writenotify(): shared mappings whose PTEs must start read-only so
 * that writes are noticed: files with ->page_mkwrite (ext4 tmpfile, not
 * shmem), soft-dirty tracking, uffd-wp.
 */
export function vma_wants_writenotify(s: KState, ctx: KCtx, t: number, vi: number, vflags: number): boolean {
  if ((vflags & VM_SHARED) === 0) return false;
  if (vma_wants_writenotify_by_ops(s, t, vi)) return true;
  if (vma_soft_dirty_enabled(ctx, vflags)) return true;
  return (vflags & VM_UFFD_WP) !== 0;
}

/** vma_wants_writenotify_by_ops(): the backer wants to know of first writes (->page_mkwrite: ext4, not shmem). */
export function vma_wants_writenotify_by_ops(s: KState, t: number, vi: number): boolean {
  const f = vma_file_at(s, t, vi);
  return f >= 0 && (file_flags(s, f) & FF_TMPFILE) !== 0;
}

/** Whether vm_page_prot itself grants write (shared writable mapping without write-notify). */
function vm_page_prot_writable(s: KState, ctx: KCtx, vmf: Vmf): boolean {
  return (vmf.vflags & (VM_SHARED | VM_WRITE)) === (VM_SHARED | VM_WRITE) && !vma_wants_writenotify(s, ctx, vmf.t, vmf.vi, vmf.vflags);
}

/** maybe_mkwrite(): set the write bit only when the VMA is VM_WRITE. */
function maybe_mkwrite(pte: Pte, vflags: number): Pte {
  return (vflags & VM_WRITE) !== 0 ? pte_mkwrite(pte) : pte;
}

/** vm_normal_page(): the page a present PTE maps, 0 for the shared zero page. */
export function vm_normal_page(pte: Pte): number {
  const pfn = pte_pfn(pte);
  return pfn === ZERO_PFN ? 0 : pfn;
}

/** vmf_orig_pte_uffd_wp(): the fault replaces a uffd-wp marker in a uffd-wp VMA. */
function vmf_orig_pte_uffd_wp(vmf: Vmf): boolean {
  return (vmf.vflags & VM_UFFD_WP) !== 0 && pte_marker_uffd_wp(vmf.orig);
}

/* ---------------- fault entry ---------------- */

/**
 * handle_mm_fault() (6.18): sanitize_fault_flags, the PTE-level fault, and
 * mm_account_fault (faults are charged to the acting task, ctx.faults).
 */
export function handle_mm_fault(s: KState, ctx: KCtx, t: number, va: number, flags: number): number {
  const vi = vma_lookup_idx(s, t, va);
  if (vi < 0) return VM_FAULT_SIGSEGV;
  const vflags = vma_flags_at(s, t, vi);
  // sanitize_fault_flags()
  if (flags & FAULT_FLAG_UNSHARE) {
    if (flags & FAULT_FLAG_WRITE) return VM_FAULT_SIGSEGV;
    if (!is_cow_mapping(vflags)) flags &= ~FAULT_FLAG_UNSHARE;
  } else if (flags & FAULT_FLAG_WRITE) {
    if ((vflags & VM_MAYWRITE) === 0) return VM_FAULT_SIGSEGV;
    if ((vflags & VM_WRITE) === 0 && !is_cow_mapping(vflags)) return VM_FAULT_SIGSEGV;
  }
  const vmf: Vmf = { t, vi, vflags, va, flags, orig: ptep_get(s, t, va) };
  trace(ctx, 'handle_mm_fault', faultKind(flags));
  const ret = __handle_mm_fault(s, ctx, vmf);
  // mm_account_fault(): retried faults are counted when they complete;
  // a retry is counted as major (FAULT_FLAG_TRIED).
  if ((ret & VM_FAULT_RETRY) === 0 && (ret & VM_FAULT_ERROR) === 0) {
    ctx.faults++;
    if ((ret & VM_FAULT_MAJOR) !== 0 || (flags & FAULT_FLAG_TRIED) !== 0) ctx.majfaults++;
  }
  return ret;
}

function faultKind(flags: number): string {
  const k = flags & FAULT_FLAG_UNSHARE ? 'unshare' : flags & FAULT_FLAG_WRITE ? 'write' : 'read';
  return (flags & FAULT_FLAG_REMOTE ? 'remote ' : '') + k + ' fault';
}

/**
 * __handle_mm_fault(): the PMD level first, where the geometry has one. A
 * none PMD in a THP-eligible VMA gets a huge mapping (create_huge_pmd); a
 * huge PMD takes write and unshare faults itself (wp_huge_pmd) unless it
 * falls back, having been split; everything else is the PTE fault.
 */
function __handle_mm_fault(s: KState, ctx: KCtx, vmf: Vmf): number {
  if (is_vm_hugetlb_page(vmf.vflags)) return hugetlb_fault(s, ctx, vmf);
  if (pmd_nr(s) > 0) {
    const pmd = pmdp_get(s, vmf.t, vmf.va);
    if (pmd_none(pmd) && thp_vma_allowable_order(s, ctx, vmf.t, vmf.vi, s.L.geo.pmdOrder)) {
      const ret = do_huge_pmd_anonymous_page(s, ctx, vmf);
      if ((ret & VM_FAULT_FALLBACK) === 0) return ret;
    } else if (pmd_trans_huge(pmd)) {
      if (vmf.flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE) && !pmd_write(pmd)) {
        const ret = wp_huge_pmd(s, ctx, vmf, pmd);
        if ((ret & VM_FAULT_FALLBACK) === 0) return ret;
      } else {
        return huge_pmd_set_accessed(s, ctx, vmf, pmd);
      }
    }
    vmf.orig = ptep_get(s, vmf.t, vmf.va);
  }
  return handle_pte_fault(s, ctx, vmf);
}

/** handle_pte_fault(). */
function handle_pte_fault(s: KState, ctx: KCtx, vmf: Vmf): number {
  const pte = vmf.orig;
  if (pte_none(pte)) return do_pte_missing(s, ctx, vmf);
  if (!pte_present(pte)) return do_swap_page(s, ctx, vmf);
  if (vmf.flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) {
    if (!pte_write(pte)) return do_wp_page(s, ctx, vmf);
    if (vmf.flags & FAULT_FLAG_WRITE) set_pte_at(s, vmf.t, vmf.va, pte_mkdirty(pte));
  }
  trace(ctx, 'handle_pte_fault', 'PTE already suitable: young only');
  return 0;
}

/** do_pte_missing(). */
function do_pte_missing(s: KState, ctx: KCtx, vmf: Vmf): number {
  if (vma_is_anonymous(s, vmf.t, vmf.vi)) return do_anonymous_page(s, ctx, vmf);
  return do_fault(s, ctx, vmf);
}

/* ---------------- anonymous memory ---------------- */

/**
 * do_anonymous_page() (6.18): a read maps the shared zero page read-only
 * (unless the kernel forbids the zero page: mm_forbids_zeropage(), or the
 * machine's env.zeroPage is false); otherwise a zeroed exclusive page is
 * allocated, writable and dirty if VM_WRITE, and parked in the LRU batch.
 */
export function do_anonymous_page(s: KState, ctx: KCtx, vmf: Vmf): number {
  if (vmf.vflags & VM_SHARED) return VM_FAULT_SIGBUS;
  let entry: Pte;
  if ((vmf.flags & FAULT_FLAG_WRITE) === 0 && ctx.env.zeroPage) {
    entry = mk_pte(ZERO_PFN);
    trace(ctx, 'do_anonymous_page', 'read fault: map the shared zero page read-only');
  } else {
    anon_vma_prepare(s, vmf.t, vmf.vi);
    const order = alloc_anon_folio_order(s, ctx, vmf);
    const pfn = order > 0 ? folio_alloc_large(s, 0, order) : alloc_page(s, 0);
    if (pfn === 0) return do_anonymous_page_small(s, ctx, vmf);
    const nr = 1 << order;
    const addr = vmf.va - (vmf.va & (nr - 1));
    for (let i = 0; i < nr; i++) page_set_data(s, pfn + i, 0);
    if (order > 0) {
      // folio_ref_add(nr - 1): one reference per PTE
      for (let i = 1; i < nr; i++) folio_get(s, pfn);
      folio_add_new_anon_rmap_large(s, ctx, pfn, vmf.t, false);
    } else folio_add_new_anon_rmap(s, ctx, pfn, true);
    folio_add_lru(s, ctx, pfn);
    for (let i = 0; i < nr; i++) {
      let e = mk_pte(pfn + i);
      if (vmf.vflags & VM_WRITE) e = pte_mkwrite(pte_mkdirty(e));
      if (vmf_orig_pte_uffd_wp(vmf)) e = pte_mkuffd_wp(e);
      set_pte_at(s, vmf.t, addr + i, e);
    }
    trace(
      ctx,
      'do_anonymous_page',
      `${vmf.flags & FAULT_FLAG_WRITE ? 'write' : 'read'} fault: new exclusive ${order > 0 ? `folio ${pfn} of ${nr} pages (mTHP) at pages ${addr}..${addr + nr - 1}` : `page pfn#${pfn}`}`,
    );
    return 0;
  }
  if (vmf_orig_pte_uffd_wp(vmf)) entry = pte_mkuffd_wp(entry);
  set_pte_at(s, vmf.t, vmf.va, entry);
  return 0;
}

/** do_anonymous_page() when no large folio could be had: an order-0 page. */
function do_anonymous_page_small(s: KState, ctx: KCtx, vmf: Vmf): number {
  const pfn = alloc_page(s, 0);
  page_set_data(s, pfn, 0);
  let entry = mk_pte(pfn);
  if (vmf.vflags & VM_WRITE) entry = pte_mkwrite(pte_mkdirty(entry));
  folio_add_new_anon_rmap(s, ctx, pfn, true);
  folio_add_lru(s, ctx, pfn);
  if (vmf_orig_pte_uffd_wp(vmf)) entry = pte_mkuffd_wp(entry);
  set_pte_at(s, vmf.t, vmf.va, entry);
  trace(ctx, 'do_anonymous_page', `fault: new exclusive page pfn#${pfn}`);
  return 0;
}

/**
 * alloc_anon_folio() (19eaf44954df, 6.8+): the highest mTHP order below the
 * PMD order that is enabled for the VMA, whose aligned range lies inside
 * it and whose PTEs are all none; 0 (a small page) otherwise, and always in
 * a VMA armed with userfaultfd.
 */
function alloc_anon_folio_order(s: KState, ctx: KCtx, vmf: Vmf): number {
  if (!ctx.prof.mech.features.mthp || pmd_nr(s) === 0) return 0;
  if (vmf.vflags & VM_UFFD_WP) return 0;
  for (let order = s.L.geo.pmdOrder - 1; order >= 2; order--) {
    if (!thp_vma_allowable_order(s, ctx, vmf.t, vmf.vi, order)) continue;
    const nr = 1 << order;
    const lo = vmf.va - (vmf.va & (nr - 1));
    if (lo < vma_start_at(s, vmf.t, vmf.vi) || lo + nr > vma_end_at(s, vmf.t, vmf.vi)) continue;
    let none = true;
    for (let i = 0; i < nr && none; i++) none = pte_none(ptep_get(s, vmf.t, lo + i));
    if (none) return order;
  }
  return 0;
}

/* ---------------- write-protect faults ---------------- */

/**
 * do_wp_page() (6.18; older reuse rules selected by mech.wpReuse): a write
 * or unshare fault on a present, read-only PTE.
 */
export function do_wp_page(s: KState, ctx: KCtx, vmf: Vmf): number {
  const unshare = (vmf.flags & FAULT_FLAG_UNSHARE) !== 0;
  if (!unshare && userfaultfd_pte_wp(vmf.vflags, vmf.orig)) {
    if ((task_uffd(s, vmf.t) & UFFD_FEATURE_WP_ASYNC) === 0) {
      trace(ctx, 'do_wp_page', 'uffd-wp protected: handle_userfault(VM_UFFD_WP)');
      return handle_userfault(s, ctx, vmf);
    }
    // UFFD_FEATURE_WP_ASYNC: resolved in place
    vmf.orig = pte_clear_uffd_wp(vmf.orig);
    set_pte_at(s, vmf.t, vmf.va, vmf.orig);
  }
  // 6ce64428d621 (5.12; 5.9+ stable): a UFFDIO_WRITEPROTECT under mmap_read_lock may not have flushed
  // yet, and another CPU could store through its stale entry while the page is copied
  if (!unshare && ctx.prof.mech.uffd.wpFlushBeforeCopy && vmf.vflags & VM_UFFD_WP && mm_tlb_flush_pending(s, vmf.t)) {
    trace(ctx, 'do_wp_page', 'uffd-wp VMA with a TLB flush pending: flush_tlb_page() before copying');
    flush_tlb_range(s, ctx, vmf.t, vmf.va, vmf.va + 1);
  }
  const pfn = vm_normal_page(vmf.orig);
  if (vmf.vflags & (VM_SHARED | VM_MAYSHARE)) return wp_page_shared(s, ctx, vmf, pfn);

  if (pfn !== 0 && PageAnon(s, pfn) && wp_can_reuse(s, ctx, vmf, pfn)) {
    if (unshare) {
      trace(ctx, 'do_wp_page', `unshare: page pfn#${pfn} is exclusive, PTE left read-only`);
      return 0;
    }
    wp_page_reuse(s, ctx, vmf, pfn);
    return VM_FAULT_WRITE;
  }
  const r = wp_page_copy(s, ctx, vmf);
  return r ? r : unshare ? 0 : VM_FAULT_WRITE;
}

/**
 * The reuse decision for an anonymous page, per profile. 6.18: PAE, else
 * wp_can_reuse_anon_folio() which sets PAE on success.
 */
function wp_can_reuse(s: KState, ctx: KCtx, vmf: Vmf, pfn: number): boolean {
  const cow = ctx.prof.mech.cow;
  const rule = (): boolean => {
    if (folio_test_large(s, pfn)) {
      switch (cow.largeReuse) {
        case 'never':
          trace(ctx, 'wp_can_reuse_anon_folio', `page pfn#${pfn} is in large folio ${folio_head(s, pfn)}: never reused, copy`);
          return false;
        case 'mm-id':
          return wp_can_reuse_large_anon_folio(s, ctx, pfn);
        case 'as-small':
          break; // the small-page rule reads the folio's counts
      }
    }
    switch (cow.reuse) {
      case 'refcount':
        return wp_can_reuse_anon_folio(s, ctx, pfn);
      case 'page-count':
        return wp_can_reuse_page_count(s, ctx, pfn);
      case 'mapcount':
        // 5.1 .. 5.8: a KSM page only this mapping holds turns back into an ordinary anon page
        if (page_test(s, pfn, PGF_KSM) && ctx.prof.mech.ksm.wpReuse === 'reuse-ksm-page') return reuse_ksm_page(s, ctx, pfn);
        return reuse_swap_page(s, ctx, pfn);
    }
  };
  switch (cow.exclusive) {
    case 'none':
      return rule();
    case 'anon-exclusive':
      return exclusive_or(s, ctx, pfn, 'PageAnonExclusive', true, rule);
    case 'gup-marked':
      // proposal (Linus, 10 Jan 2021): the bit a GUP set means reuse; else the rule (which does not set it)
      return exclusive_or(s, ctx, pfn, 'made exclusive by GUP', false, rule);
  }
}

/** An exclusive bit means reuse; otherwise `rule` decides, and a reuse sets the bit when `marks`. */
function exclusive_or(s: KState, ctx: KCtx, pfn: number, what: string, marks: boolean, rule: () => boolean): boolean {
  if (PageAnonExclusive(s, pfn)) {
    trace(ctx, 'do_wp_page', `page pfn#${pfn} is ${what}: reuse`);
    return true;
  }
  if (!rule()) return false;
  if (marks) page_set(s, pfn, PGF_ANON_EXCLUSIVE);
  return true;
}

/**
 * wp_can_reuse_anon_folio() for a small folio (6.7+; the same checks as
 * 5.18's do_wp_page, d4c470970d45 + 53a05ad9f21d).
 */
export function wp_can_reuse_anon_folio(s: KState, ctx: KCtx, pfn: number): boolean {
  const why = (r: string): boolean => {
    trace(ctx, 'wp_can_reuse_anon_folio', `page pfn#${pfn}: ${r}`);
    return false;
  };
  if (page_test(s, pfn, PGF_KSM)) return why('KSM page: copy');
  if (page_ref_count(s, pfn) > 3) return why(`refcount ${page_ref_count(s, pfn)} > 3: copy`);
  if (!page_test(s, pfn, PGF_LRU)) lru_add_drain(s, ctx);
  const swapcache = page_test(s, pfn, PGF_SWAPCACHE) ? 1 : 0;
  if (page_ref_count(s, pfn) > 1 + swapcache) {
    return why(`refcount ${page_ref_count(s, pfn)} > 1 + swapcache ${swapcache}: copy`);
  }
  if (page_test(s, pfn, PGF_LOCKED)) return why('folio_trylock failed: copy');
  if (swapcache) folio_free_swap(s, ctx, pfn);
  if (page_ref_count(s, pfn) !== 1) return why(`refcount ${page_ref_count(s, pfn)} != 1 after freeing swap: copy`);
  folio_move_anon_rmap(s, ctx, pfn);
  trace(ctx, 'wp_can_reuse_anon_folio', `page pfn#${pfn}: only our reference: reuse`);
  return true;
}

/**
 * __wp_can_reuse_large_anon_folio() (1da190f4d0a6, 6.15+): a large folio
 * mapped more than once, by this mm alone (MM_IDS_SHARED clear), with no
 * reference beyond its mappings (its swap cache freed first) is reused.
 * A folio with one mapping left is copied, to free the large folio.
 */
function wp_can_reuse_large_anon_folio(s: KState, ctx: KCtx, pfn: number): boolean {
  const head = folio_head(s, pfn);
  const why = (r: string): boolean => {
    trace(ctx, '__wp_can_reuse_large_anon_folio', `folio ${head}: ${r}`);
    return false;
  };
  if (folio_large_mapcount(s, head) <= 1) return why('mapped once: copy, so the large folio can be freed');
  if (page_test(s, head, PGF_MMIDS_SHARED)) return why('maybe mapped by another mm (MM_IDS_SHARED): copy');
  if (page_test(s, head, PGF_SWAPCACHE)) {
    if (page_test(s, head, PGF_LOCKED)) return why('folio_trylock failed: copy');
    folio_free_swap(s, ctx, head);
  }
  if (folio_large_mapcount(s, head) !== page_ref_count(s, head)) {
    return why(`refcount ${page_ref_count(s, head)} != large mapcount ${folio_large_mapcount(s, head)}: copy`);
  }
  trace(ctx, '__wp_can_reuse_large_anon_folio', `folio ${head}: every reference is a mapping of this mm: reuse page pfn#${pfn}`);
  return true;
}

/** The 5.9 page_count rule (09854ba94c6a): no drain, no swap cache tolerance. */
function wp_can_reuse_page_count(s: KState, ctx: KCtx, pfn: number): boolean {
  const c = page_ref_count(s, pfn);
  if (page_test(s, pfn, PGF_KSM) || c !== 1) {
    trace(ctx, 'do_wp_page', `page_count ${c} != 1: copy`);
    return false;
  }
  if (page_test(s, pfn, PGF_LOCKED)) {
    trace(ctx, 'do_wp_page', 'trylock_page failed: copy');
    return false;
  }
  if (page_mapcount(s, pfn) !== 1) return false;
  trace(ctx, 'do_wp_page', 'page_count == 1: reuse');
  return true;
}

/**
 * reuse_swap_page() (up to 5.17; do_wp_page's rule up to 5.8): reuse when
 * the page's mapcount plus its swap count is 1, whatever else holds it; a
 * swap-cache page that qualifies leaves the swap cache. lock_page() sleeps
 * instead of failing, so a locked page does not force a copy.
 */
export function reuse_swap_page(s: KState, ctx: KCtx, pfn: number): boolean {
  if (page_test(s, pfn, PGF_KSM)) return false;
  const inCache = page_test(s, pfn, PGF_SWAPCACHE);
  if (folio_test_large(s, pfn)) {
    // page_trans_huge_map_swapcount(): the highest mapcount of any page of the folio, PMD mappings included
    const head = folio_head(s, pfn);
    let max = 0;
    for (let i = 0, nr = folio_nr_pages(s, head); i < nr; i++) max = Math.max(max, page_mapcount(s, head + i));
    trace(ctx, 'reuse_swap_page', `large folio ${head}: highest mapcount of its pages ${max}: ${max <= 1 ? 'reuse' : 'copy'}`);
    return max <= 1;
  }
  const count = page_mapcount(s, pfn) + (inCache ? swap_count(s, page_private(s, pfn)) : 0);
  if (count === 1 && inCache) {
    // the one user is the faulting mapping (or its swap PTE): drop the swap cache, the page is now the data
    delete_from_swap_cache(s, pfn);
    page_set(s, pfn, PGF_DIRTY);
  }
  trace(ctx, 'reuse_swap_page', `mapcount+swapcount ${count}: ${count <= 1 ? 'reuse' : 'copy'}`);
  return count <= 1;
}

/** wp_page_reuse(): make the PTE young, dirty and (if VM_WRITE) writable. */
function wp_page_reuse(s: KState, ctx: KCtx, vmf: Vmf, pfn: number): void {
  const entry = maybe_mkwrite(pte_mkdirty(vmf.orig), vmf.vflags);
  set_pte_at(s, vmf.t, vmf.va, entry);
  if (pfn !== 0 && PageAnon(s, pfn)) ctx.metrics.reuses++;
  trace(ctx, 'wp_page_reuse', `page pfn#${pfn} mapped ${pte_write(entry) ? 'writable' : 'read-only (no VM_WRITE)'}`);
}

/**
 * wp_page_copy() (6.18): a new exclusive anon page takes the old content (or
 * zeroes for the zero page); a write maps it dirty and writable if VM_WRITE,
 * an unshare maps it read-only keeping soft-dirty and uffd-wp.
 */
export function wp_page_copy(s: KState, ctx: KCtx, vmf: Vmf): number {
  const unshare = (vmf.flags & FAULT_FLAG_UNSHARE) !== 0;
  const old = vm_normal_page(vmf.orig);
  if (old !== 0) {
    if (PageAnon(s, old)) {
      ctx.metrics.copies++;
      if (!copyObservable(s, old)) ctx.metrics.needless++;
    }
    folio_get(s, old);
  } else ksm_might_unmap_zero_page(s, ctx, vmf.t, vmf.orig);
  anon_vma_prepare(s, vmf.t, vmf.vi);
  const nw = alloc_page(s, 0);
  page_set_data(s, nw, old !== 0 ? page_data(s, old) : 0);
  if (ctx.cowHold && old !== 0 && !unshare) {
    // the copy is made without the PTE lock: the fault goes on at its thread's resume
    ctx.cowHold = false;
    ctx.cowHeld = { nw, orig: vmf.orig };
    // the copy is a snapshot: a store after it must differ from what it took, which the explorer's one
    // write id per task epoch would not tell apart
    task_set_curwid(s, vmf.t, 0);
    trace(ctx, 'wp_page_copy', `page pfn#${old} copied to new page pfn#${nw}; the PTE lock is not retaken yet`);
    return VM_FAULT_RETRY;
  }
  return wp_page_copy_map(s, ctx, vmf, old, nw);
}

/**
 * wp_page_copy() after the copy (6.18): under the PTE lock, if the PTE is
 * still the one the fault read, the new page replaces the old one
 * (ptep_clear_flush(), then set_pte_at()); else the copy is dropped and the
 * access faults again. The old page loses the PTE's reference and
 * do_wp_page()'s. A store that reached the old page after the copy was
 * taken (a stale TLB entry) is not in the new one: ctx.lost.
 */
export function wp_page_copy_map(s: KState, ctx: KCtx, vmf: Vmf, old: number, nw: number): number {
  const unshare = (vmf.flags & FAULT_FLAG_UNSHARE) !== 0;
  if (ptep_get(s, vmf.t, vmf.va) !== vmf.orig) {
    trace(ctx, 'wp_page_copy', `the PTE changed since the fault read it: copy pfn#${nw} dropped, the access faults again`);
    folio_put(s, nw);
    if (old !== 0) folio_put(s, old); // do_wp_page's reference
    return 0;
  }
  let entry = mk_pte(nw);
  if (unshare) {
    if (pte_soft_dirty(vmf.orig)) entry = pte_mksoft_dirty(entry);
    if (pte_uffd_wp(vmf.orig)) entry = pte_mkuffd_wp(entry);
  } else {
    entry = maybe_mkwrite(pte_mkdirty(entry), vmf.vflags);
  }
  folio_add_new_anon_rmap(s, ctx, nw, true);
  folio_add_lru(s, ctx, nw);
  set_pte_at(s, vmf.t, vmf.va, entry);
  trace(
    ctx,
    'wp_page_copy',
    `${old === 0 ? 'zero page' : `page pfn#${old}`} copied to new exclusive page pfn#${nw}` +
      (unshare ? ', mapped read-only (unshare)' : pte_write(entry) ? ', mapped writable' : ', mapped read-only'),
  );
  if (old !== 0) {
    // (a page-cache page a write(2) changed after the copy is MAP_PRIVATE's unspecified case, not a lost store)
    if (PageAnon(s, old) && page_data(s, old) !== page_data(s, nw))
      ctx.lost.push({ t: vmf.t, vpage: vmf.va, pfn: old, wid: page_data(s, old), copied: page_data(s, nw) });
    folio_remove_rmap_pte(s, vmf.t, old);
    folio_put(s, old); // the PTE's reference
    free_swap_cache(s, ctx, old);
    folio_put(s, old); // do_wp_page's reference
  }
  return 0;
}

/**
 * Whether anyone but the faulting mapping could observe the page being
 * copied: another mapping, a GUP or pipe reference, or another swap PTE
 * naming its slot. A copy of a page nobody else can observe is needless.
 */
function copyObservable(s: KState, pfn: number): boolean {
  if (page_mapcount(s, pfn) > 1) return true;
  if (page_observers(s, pfn) > 0) return true;
  return page_test(s, pfn, PGF_SWAPCACHE) && swap_count(s, page_private(s, pfn)) > 0;
}

/** free_swap_cache(): drop the swap cache of a page nobody maps any more. */
function free_swap_cache(s: KState, ctx: KCtx, pfn: number): void {
  if (page_test(s, pfn, PGF_SWAPCACHE) && !folio_mapped(s, pfn) && !page_test(s, pfn, PGF_LOCKED)) {
    folio_free_swap(s, ctx, pfn);
  }
}

/** wp_page_shared(): a write to a read-only PTE of a shared file mapping (no page_mkwrite effects). */
function wp_page_shared(s: KState, ctx: KCtx, vmf: Vmf, pfn: number): number {
  const entry = maybe_mkwrite(pte_mkdirty(vmf.orig), vmf.vflags);
  set_pte_at(s, vmf.t, vmf.va, entry);
  trace(ctx, 'wp_page_shared', `shared page pfn#${pfn} made writable`);
  return pfn !== 0 ? fault_dirty_shared_page(s, ctx, vmf, pfn) : 0;
}

/* ---------------- swap-in ---------------- */

/**
 * do_swap_page() (6.18; the large-folio paths of 6.11+ and 7.x selected by
 * mech.swap.largeSwapin): markers, swap-cache hits, reads from the device,
 * how many pages one fault maps, the exclusive decision and whether the
 * pages are mapped writable.
 */
export function do_swap_page(s: KState, ctx: KCtx, vmf: Vmf): number {
  const orig = vmf.orig;
  if (is_pte_marker(orig)) return handle_pte_marker(s, ctx, vmf);
  if (!is_swap_pte(orig)) throw new ModelBug(`do_swap_page on a non-swap PTE`);
  const slot = pte_swp_slot(orig);
  const got = swapin_folio(s, ctx, vmf, slot);
  if (ctx.swapinHold && got.fresh && !folio_test_large(s, got.pfn)) {
    // read past the swap cache; the PTE lock is taken again at the thread's resume
    ctx.swapinHold = false;
    ctx.swapinHeld = { pfn: got.pfn, orig, prepared: ctx.prof.mech.swap.syncSwapinPrepare };
    trace(ctx, 'do_swap_page', `slot ${slot} read into pfn#${got.pfn}; the PTE lock is not retaken yet`);
    return VM_FAULT_RETRY;
  }
  return do_swap_page_map(s, ctx, vmf, slot, got);
}

/**
 * do_swap_page() going on from its read (`resume` of stop: swapin): under
 * the PTE lock, a swap PTE that is no longer the one the fault read drops
 * the page (out_nomap: the access faults again); an equal one maps it. The
 * same swap PTE may name a slot that was freed and used again meanwhile
 * (the ABA 13ddaf26be32 closed): a page whose content is not what the slot
 * holds now maps stale data, and the store that filled the slot is lost.
 */
export function do_swap_page_resume(s: KState, ctx: KCtx, vmf: Vmf, pfn: number): number {
  const slot = pte_swp_slot(vmf.orig);
  if (ptep_get(s, vmf.t, vmf.va) !== vmf.orig) {
    trace(ctx, 'do_swap_page', `the PTE changed since the fault read slot ${slot}: pfn#${pfn} dropped, the access faults again`);
    folio_put(s, pfn);
    return 0;
  }
  if (swap_data(s, slot) !== page_data(s, pfn))
    ctx.lost.push({ t: vmf.t, vpage: vmf.va, pfn, wid: swap_data(s, slot), copied: page_data(s, pfn), swapin: true });
  return do_swap_page_map(s, ctx, vmf, slot, { pfn, fresh: true, major: true });
}

/** do_swap_page() once it has its folio: the mapping decision, the rmap, the PTE. */
function do_swap_page_map(s: KState, ctx: KCtx, vmf: Vmf, slot: number, got: { pfn: number; fresh: boolean; major: boolean }): number {
  const orig = vmf.orig;
  const mech = ctx.prof.mech;
  // a KSM page without a stable node is copied, and the copy, never in the swap cache, is ours alone
  const pfn = got.fresh ? got.pfn : ksm_might_need_to_copy(s, ctx, got.pfn, 'do_swap_page', true);
  const fresh = got.fresh || pfn !== got.pfn;
  const major = got.major;
  let ret = major ? VM_FAULT_MAJOR : 0;
  const ksm = page_test(s, pfn, PGF_KSM);
  const write = (vmf.flags & FAULT_FLAG_WRITE) !== 0;
  // 5.18+ (d4c470970d45) drain the local LRU batch before judging the refcount
  if (write && !fresh && !ksm && !page_test(s, pfn, PGF_LRU) && mech.swap.swapinDrain) {
    lru_add_drain(s, ctx);
  }
  const idx = swapin_batch_index(s, ctx, vmf, pfn, fresh);
  const nr = idx < 0 ? 1 : folio_nr_pages(s, pfn);
  const first = idx < 0 ? 0 : idx; // pages of the batch before the faulting one
  const m = swapin_map_decision(s, ctx, vmf, slot - first, nr, pfn, fresh, ksm);
  ret |= m.ret;
  let pte = m.pte;
  if (pte_swp_soft_dirty(orig)) pte = pte_mksoft_dirty(pte);
  if (pte_swp_uffd_wp(orig)) pte = pte_mkuffd_wp(pte);
  if (nr > 1) {
    // the whole folio, one PTE per page, in one fault
    const head = pfn - first;
    if (!PageAnon(s, head)) folio_add_new_anon_rmap_large(s, ctx, head, vmf.t, false, m.rmapExclusive);
    else folio_add_anon_rmap_ptes(s, ctx, vmf.t, head, nr, m.rmapExclusive);
    page_ref_add(s, head, nr - 1);
    for (let i = 0; i < nr; i++) set_pte_at(s, vmf.t, vmf.va - first + i, pte_advance_pfn(pte, i - first));
  } else {
    if (!PageAnon(s, pfn)) folio_add_new_anon_rmap(s, ctx, pfn, m.rmapExclusive);
    else folio_add_anon_rmap_pte(s, ctx, vmf.t, pfn, m.rmapExclusive);
    set_pte_at(s, vmf.t, vmf.va, pte);
  }
  if (mech.swap.swapTable && mech.swap.swapinReuse !== 'mapcount') {
    for (let i = 0; i < nr; i++) swap_free(s, slot - first + i); // folio_put_swap()
    if (should_try_to_free_swap(s, ctx, vmf, pfn)) folio_free_swap(s, ctx, pfn);
  }
  trace(
    ctx,
    'do_swap_page',
    `${nr > 1 ? `folio ${pfn - first}: ${nr} pages at ${vmf.va - first}..${vmf.va - first + nr - 1}` : `page pfn#${pfn}`} mapped ${pte_write(pte) ? 'writable' : 'read-only'}` +
      `${m.rmapExclusive ? ', exclusive' : ''}${page_test(s, pfn, PGF_SWAPCACHE) ? ', still in the swap cache' : ''}`,
  );
  if (vmf.flags & FAULT_FLAG_WRITE) {
    vmf.orig = pte;
    ret |= do_wp_page(s, ctx, vmf);
  }
  return ret;
}

/**
 * The folio for a swap entry (6.18 do_swap_page's lookup): a swap cache hit
 * (swap_cache_get_folio), a new folio read straight from a
 * SWP_SYNCHRONOUS_IO device, skipping the swap cache, when only this PTE
 * uses the entry (6.12+: an mTHP when alloc_swap_folio finds one fits), a
 * folio read into the swap cache (swapin_sync of 7.x, large when it fits,
 * or swapin_readahead). Returns the page for `slot`; `fresh` for the skip
 * path, `major` when the device was read.
 */
function swapin_folio(s: KState, ctx: KCtx, vmf: Vmf, slot: number): { pfn: number; fresh: boolean; major: boolean } {
  const hit = swap_cache_get_folio(s, ctx, slot);
  if (hit !== 0) return { pfn: hit, fresh: false, major: false };
  // (before 0bcac06f27d7, 4.15, every swap-in goes through the swap cache)
  const sync = ctx.env.swap === 'sync-io' && ctx.prof.mech.swap.syncSkipSwapcache;
  const swapTable = ctx.prof.mech.swap.swapTable;
  if (sync && (swapTable || swap_count(s, slot) === 1)) {
    const order = swapin_large_order(s, ctx, vmf, slot);
    const nr = 1 << order;
    const idx = vmf.va & (nr - 1);
    const head = order > 0 ? folio_alloc_large(s, PGF_SWAPBACKED, order) : 0;
    if (head !== 0) {
      for (let i = 0; i < nr; i++) page_set_data(s, head + i, swap_data(s, slot - idx + i));
      if (swapTable) add_to_swap_cache(s, head, slot - idx);
      folio_add_lru(s, ctx, head);
      trace(
        ctx,
        'do_swap_page',
        `SWP_SYNCHRONOUS_IO: slots ${slot - idx}..${slot - idx + nr - 1} read into new folio ${head} of ${nr} pages${swapTable ? ' (swap cache)' : ', swap cache skipped'}`,
      );
      return { pfn: head + idx, fresh: !swapTable, major: true };
    }
  }
  if (sync && !swapTable && swap_count(s, slot) === 1) {
    // 13ddaf26be32 (6.8): swapcache_prepare() fails while another thread reads the entry this way: the
    // fault backs off and is retried, so it waits for that thread
    if (ctx.prof.mech.swap.syncSwapinPrepare && swapin_stopped_on(s, slot, ctx.thread))
      throw new WouldBlock(`swapcache_prepare() of slot ${slot} fails: another thread is swapping it in past the swap cache`);
    const pfn = alloc_page(s, PGF_SWAPBACKED);
    page_set_data(s, pfn, swap_data(s, slot));
    folio_add_lru(s, ctx, pfn);
    trace(ctx, 'do_swap_page', `SWP_SYNCHRONOUS_IO: slot ${slot} read into new page pfn#${pfn}, swap cache skipped`);
    return { pfn, fresh: true, major: true };
  }
  return { pfn: swapin_readahead(s, ctx, slot), fresh: false, major: true };
}

/**
 * The mTHP order a swap fault reads in one go (alloc_swap_folio() 6.12,
 * thp_swapin_suitable_orders() + swap_cache_alloc_folio() 7.x), 0 for a
 * small folio: the highest enabled order below the PMD order whose
 * naturally aligned range lies in the VMA, starts at a swap offset with the
 * same alignment, and whose PTEs are consecutive swap entries with the
 * faulting PTE's bits (swap_pte_batch), all zero-filled or none (zeromap),
 * none in the swap cache. Never in a VMA armed with userfaultfd.
 */
function swapin_large_order(s: KState, ctx: KCtx, vmf: Vmf, slot: number): number {
  const mech = ctx.prof.mech;
  if (mech.swap.largeSwapin !== 'sync-io-alloc' || !mech.features.mthp || s.L.pmds === 0) return 0;
  if (vmf.vflags & VM_UFFD_WP) return 0;
  for (let order = s.L.geo.pmdOrder - 1; order >= 2; order--) {
    const nr = 1 << order;
    if (!thp_vma_allowable_order(s, ctx, vmf.t, vmf.vi, order)) continue;
    if (!thp_vma_suitable_order(s, vmf.t, vmf.vi, vmf.va, order)) continue;
    if (vmf.va % nr !== slot % nr) continue;
    const idx = vmf.va & (nr - 1);
    if (!swap_pte_batch(s, vmf, idx, nr)) continue;
    let ok = true;
    const zero = swap_data(s, slot - idx) === 0;
    for (let i = 0; i < nr && ok; i++) {
      const sl = slot - idx + i;
      ok = swap_cache_pfn(s, sl) === 0 && swap_count(s, sl) > 0 && (swap_data(s, sl) === 0) === zero;
    }
    if (ok) return order;
  }
  return 0;
}

/**
 * Whether do_swap_page() maps the whole large folio of `pfn` (6.11+, mech.swap.largeSwapin):
 * the index of the faulting page in it, or -1 to map only that page. A new
 * folio of the skip path is always mapped whole; one found in the swap cache
 * only if it lies inside the VMA and the PMD, and every PTE it covers is a
 * swap entry of it with the faulting PTE's bits.
 */
function swapin_batch_index(s: KState, ctx: KCtx, vmf: Vmf, pfn: number, fresh: boolean): number {
  if (!folio_test_large(s, pfn)) return -1;
  const head = folio_head(s, pfn);
  const idx = pfn - head;
  if (fresh) return idx;
  if (ctx.prof.mech.swap.largeSwapin === 'none' || !page_test(s, head, PGF_SWAPCACHE)) return -1;
  const nr = folio_nr_pages(s, head);
  const start = vmf.va - idx;
  const pmdLo = pmd_base(s, vmf.va);
  if (start < Math.max(pmdLo, vmaStart(s, vmf)) || start + nr > Math.min(pmdLo + pmd_nr(s), vmaEnd(s, vmf))) return -1;
  return swap_pte_batch(s, vmf, idx, nr) ? idx : -1;
}

/**
 * swap_pte_batch() over a whole range: the `nr` PTEs around the faulting
 * one (its index `idx` in them) are consecutive swap entries with exactly
 * the faulting PTE's bits (exclusive, soft-dirty, uffd-wp).
 */
function swap_pte_batch(s: KState, vmf: Vmf, idx: number, nr: number): boolean {
  for (let i = 0; i < nr; i++) if (ptep_get(s, vmf.t, vmf.va - idx + i) !== pte_move_swp_offset(vmf.orig, i - idx)) return false;
  return true;
}

/**
 * How do_swap_page() maps the swapped-in folio, per era (mech.swap.swapinReuse):
 * the PTE (writable or not), whether the rmap is exclusive, and whether the
 * write fault was resolved here (VM_FAULT_WRITE, FAULT_FLAG_WRITE cleared).
 * Frees the swap entry and, where the era does, the swap cache.
 */
function swapin_map_decision(
  s: KState,
  ctx: KCtx,
  vmf: Vmf,
  slot: number,
  nr: number,
  pfn: number,
  fresh: boolean,
  ksm: boolean,
): { pte: Pte; rmapExclusive: boolean; ret: number } {
  const mech = ctx.prof.mech;
  const orig = vmf.orig;
  const write = (vmf.flags & FAULT_FLAG_WRITE) !== 0;
  let ret = 0;
  let exclusive = false;
  if (!ksm && mech.swap.swapinReuse === 'exclusive-bit') exclusive = fresh || pte_swp_exclusive(orig);
  let pte = mk_pte(pfn);
  let rmapExclusive = false;
  if (mech.swap.swapinReuse === 'mapcount') {
    // <= 5.17: reuse_swap_page() runs before the rmap is added and the swap entry freed,
    // so the faulting PTE's own swap reference counts (5.10 do_swap_page)
    if (write && reuse_swap_page(s, ctx, pfn)) {
      pte = maybe_mkwrite(pte_mkdirty(pte), vmf.vflags);
      vmf.flags &= ~FAULT_FLAG_WRITE;
      ret |= VM_FAULT_WRITE;
      rmapExclusive = true; // mapcount + swapcount 1: ours alone (matters only to proposals with an exclusive bit)
    }
    swap_free(s, slot);
    return { pte, rmapExclusive, ret };
  }
  // 7.x frees the entry and the swap cache only after mapping (do_swap_page)
  if (!mech.swap.swapTable) {
    for (let i = 0; i < nr; i++) swap_free(s, slot + i); // swap_free_nr()
    if (should_try_to_free_swap(s, ctx, vmf, pfn)) folio_free_swap(s, ctx, pfn);
  }
  if (ksm || !(fresh || exclusive || page_ref_count(s, pfn) === 1)) return { pte, rmapExclusive, ret };
  if (mech.swap.swapinReuse === 'refcount') {
    // 5.18 (c145e0b47c77): writable on a write fault only
    if (write) {
      pte = maybe_mkwrite(pte_mkdirty(pte), vmf.vflags);
      vmf.flags &= ~FAULT_FLAG_WRITE;
      ret |= VM_FAULT_WRITE;
      rmapExclusive = true; // refcount 1: ours alone (matters only to proposals with an exclusive bit)
    }
    return { pte, rmapExclusive, ret };
  }
  if (
    vmf.vflags & VM_WRITE &&
    !userfaultfd_pte_wp(vmf.vflags, pte_swp_uffd_wp(orig) ? pte_mkuffd_wp(pte) : pte) &&
    !pte_needs_soft_dirty_wp(ctx, vmf.vflags, pte_swp_soft_dirty(orig) ? pte_mksoft_dirty(pte) : pte)
  ) {
    // 5.19 .. 6.1: only on a write fault; later also on a read fault
    if (write || mech.swap.swapinWritableOnRead) pte = pte_mkwrite(pte);
    if (write) {
      pte = pte_mkdirty(pte);
      vmf.flags &= ~FAULT_FLAG_WRITE;
    }
  }
  return { pte, rmapExclusive: true, ret };
}

/**
 * should_try_to_free_swap() (6.18): mlocked VMAs, or a write fault on a
 * non-KSM folio that only the swap cache and we hold. (The swap-full and
 * memcg-swap-full cases do not arise with cowlab's swapfile.)
 */
function should_try_to_free_swap(s: KState, ctx: KCtx, vmf: Vmf, pfn: number): boolean {
  if (!page_test(s, pfn, PGF_SWAPCACHE)) return false;
  const mech = ctx.prof.mech;
  if (mech.swap.swapinReuse === 'mapcount') return false; // reuse_swap_page() does it instead
  // 7.x: always for SWP_SYNCHRONOUS_IO devices, once the page is mapped (the PTE's reference counts too)
  if (mech.swap.swapTable && ctx.env.swap === 'sync-io') return true;
  if (vmf.vflags & VM_LOCKED) return true;
  // 6.11 ("make should_try_to_free_swap() support large-folio"): one swap-cache reference per page
  const cacheRefs = mech.swap.largeSwapin !== 'none' ? folio_nr_pages(s, pfn) : 1;
  return (vmf.flags & FAULT_FLAG_WRITE) !== 0 && !page_test(s, pfn, PGF_KSM) && page_ref_count(s, pfn) === 1 + cacheRefs;
}

/** handle_pte_marker(): the uffd-wp marker on a none PTE. */
function handle_pte_marker(s: KState, ctx: KCtx, vmf: Vmf): number {
  if (!pte_marker_uffd_wp(vmf.orig)) return VM_FAULT_SIGBUS;
  if ((vmf.vflags & VM_UFFD_WP) === 0) {
    // pte_marker_clear(): the VMA is no longer uffd-wp; refault on a none PTE
    set_pte_at(s, vmf.t, vmf.va, PTE_NONE);
    trace(ctx, 'handle_pte_marker', 'stale uffd-wp marker cleared');
    return 0;
  }
  trace(ctx, 'handle_pte_marker', 'uffd-wp marker: fault the page in with the uffd-wp bit');
  return do_pte_missing(s, ctx, vmf);
}

/* ---------------- file-backed faults ---------------- */

/** do_fault(). */
function do_fault(s: KState, ctx: KCtx, vmf: Vmf): number {
  if ((vmf.flags & FAULT_FLAG_WRITE) === 0) return do_read_fault(s, ctx, vmf);
  if ((vmf.vflags & VM_SHARED) === 0) return do_cow_fault(s, ctx, vmf);
  return do_shared_fault(s, ctx, vmf);
}

function file_page(s: KState, vmf: Vmf, va: number): number {
  return filemap_fault(s, vma_file_at(s, vmf.t, vmf.vi), vma_pgoff_of(s, vmf.t, vmf.vi, va));
}

/** do_read_fault() with do_fault_around(): cached neighbours are mapped too. */
function do_read_fault(s: KState, ctx: KCtx, vmf: Vmf): number {
  const n = ctx.prof.mech.fault.aroundPages;
  if (n > 1 && (vmf.vflags & VM_UFFD_WP) === 0) {
    // window aligned to fault_around_pages, clamped to the VMA
    const lo = Math.max(vmf.va - (vmf.va % n), vmaStart(s, vmf));
    const hi = Math.min(vmf.va - (vmf.va % n) + n, vmaEnd(s, vmf));
    let mapped = 0;
    for (let va = lo; va < hi; va++) {
      if (!pte_none(ptep_get(s, vmf.t, va))) continue;
      const pfn = filemap_get_uptodate(s, vma_file_at(s, vmf.t, vmf.vi), vma_pgoff_of(s, vmf.t, vmf.vi, va));
      if (pfn === 0) continue;
      folio_get(s, pfn);
      set_pte_range(s, ctx, vmf, pfn, va, false);
      mapped++;
    }
    trace(ctx, 'do_fault_around', `${mapped} page-cache page(s) mapped read-only around the fault`);
    // the faulting page itself was mapped by fault-around: done (VM_FAULT_NOPAGE)
    if (!pte_none(ptep_get(s, vmf.t, vmf.va))) return 0;
  }
  const pfn = file_page(s, vmf, vmf.va);
  if (pfn === 0) return VM_FAULT_SIGBUS;
  folio_get(s, pfn);
  set_pte_range(s, ctx, vmf, pfn, vmf.va, false);
  trace(ctx, 'do_read_fault', `page-cache page pfn#${pfn} mapped`);
  return 0;
}

function vmaStart(s: KState, vmf: Vmf): number {
  return vma_start_at(s, vmf.t, vmf.vi);
}
function vmaEnd(s: KState, vmf: Vmf): number {
  return vma_end_at(s, vmf.t, vmf.vi);
}

/** do_cow_fault(): a write to a none PTE of a private file mapping gets an anon copy. */
function do_cow_fault(s: KState, ctx: KCtx, vmf: Vmf): number {
  const src = file_page(s, vmf, vmf.va);
  if (src === 0) return VM_FAULT_SIGBUS;
  anon_vma_prepare(s, vmf.t, vmf.vi);
  const nw = alloc_page(s, 0);
  page_set_data(s, nw, page_data(s, src));
  set_pte_range(s, ctx, vmf, nw, vmf.va, true);
  trace(ctx, 'do_cow_fault', `page-cache page pfn#${src} copied to new exclusive page pfn#${nw}`);
  return 0;
}

/** do_shared_fault(): a write fault on a shared file mapping. */
function do_shared_fault(s: KState, ctx: KCtx, vmf: Vmf): number {
  const pfn = file_page(s, vmf, vmf.va);
  if (pfn === 0) return VM_FAULT_SIGBUS;
  folio_get(s, pfn);
  set_pte_range(s, ctx, vmf, pfn, vmf.va, true);
  trace(ctx, 'do_shared_fault', `page-cache page pfn#${pfn} mapped writable`);
  return fault_dirty_shared_page(s, ctx, vmf, pfn);
}

/**
 * fault_dirty_shared_page(): the page is dirtied; when that dirtied it (or the
 * file has ->page_mkwrite) and the fault may drop mmap_lock, balancing dirty
 * pages drops it, and the fault ends in VM_FAULT_RETRY (89b15332af7c, up to
 * 5.18; since 5.19 VM_FAULT_COMPLETED, a completed fault). The PTE is set
 * already, so whoever retries finds it.
 */
function fault_dirty_shared_page(s: KState, ctx: KCtx, vmf: Vmf, pfn: number): number {
  const dirtied = !page_test(s, pfn, PGF_DIRTY);
  page_set(s, pfn, PGF_DIRTY);
  const f = vma_file_at(s, vmf.t, vmf.vi);
  const pageMkwrite = f >= 0 && (file_flags(s, f) & FF_TMPFILE) !== 0;
  if (!ctx.prof.mech.fault.sharedRetry || (vmf.flags & FAULT_FLAG_ALLOW_RETRY) === 0 || (vmf.flags & FAULT_FLAG_TRIED) !== 0) return 0;
  if (!dirtied && !pageMkwrite) return 0;
  trace(ctx, 'fault_dirty_shared_page', 'mmap_lock dropped for balance_dirty_pages: VM_FAULT_RETRY');
  return VM_FAULT_RETRY;
}

/**
 * set_pte_range() for one page: COW pages get a new anon rmap, others a file
 * rmap (the caller's reference becomes the mapping's).
 */
function set_pte_range(s: KState, ctx: KCtx, vmf: Vmf, pfn: number, va: number, write: boolean): void {
  let entry = mk_pte(pfn);
  if (write) entry = maybe_mkwrite(pte_mkdirty(entry), vmf.vflags);
  else if (vm_page_prot_writable(s, ctx, vmf)) {
    entry = pte_mkwrite(entry);
    if (page_test(s, pfn, PGF_DIRTY)) entry = pte_mkdirty(entry);
  }
  if (va === vmf.va && vmf_orig_pte_uffd_wp(vmf)) entry = pte_mkuffd_wp(entry);
  if (write && (vmf.vflags & VM_SHARED) === 0) {
    folio_add_new_anon_rmap(s, ctx, pfn, true);
    folio_add_lru(s, ctx, pfn);
  } else {
    folio_add_file_rmap_pte(s, pfn);
  }
  set_pte_at(s, vmf.t, va, entry);
}

/* ---------------- fork: copy_page_range ---------------- */

/**
 * vma_needs_copy(): page tables are copied only for VMAs with an anon_vma,
 * uffd-wp in the child, or PFN maps (and up to 5.x every hugetlb VMA:
 * hugetlb.lazyForkCopy); the child faults everything else.
 */
export function vma_needs_copy(s: KState, ctx: KCtx, t: number, vi: number, dstFlags: number): boolean {
  if (dstFlags & VM_UFFD_WP) return true;
  const flags = vma_flags_at(s, t, vi);
  if (flags & VM_PFNMAP) return true;
  if (flags & VM_HUGETLB && !ctx.prof.mech.hugetlb.lazyForkCopy) return true;
  return vma_anon_at(s, t, vi);
}

/**
 * copy_page_range() -> copy_pte_range() for one VMA (6.18): present PTEs by
 * copy_present_pte, swap entries and markers by copy_nonpresent_pte;
 * hugetlb VMAs by copy_hugetlb_page_range(). 0 or a negative errno (fork
 * fails), or with `stop` the page whose copy stopped in that window of
 * copy_present_pte (after fork decided to share it, or after it copied it):
 * `{ at, kind }`.
 */
export function copy_page_range(
  s: KState,
  ctx: KCtx,
  src: number,
  dst: number,
  vi: number,
  start: number,
  end: number,
  dstFlags: number,
  stop: ForkStopKind = 0,
): CopyRangeResult {
  const sflags = vma_flags_at(s, src, vi);
  if (is_vm_hugetlb_page(sflags)) return copy_hugetlb_page_range(s, ctx, src, dst, vi, start, end, stop);
  const nr = pmd_nr(s);
  for (let va = start; va < end; va++) {
    // copy_pmd_range(): a huge PMD is copied whole unless fork must copy its pages (then it was split)
    if (
      nr > 0 &&
      (va & (nr - 1)) === 0 &&
      pmd_trans_huge(pmdp_get(s, src, va)) &&
      copy_huge_pmd(s, ctx, src, dst, va, sflags, dstFlags) === 0
    ) {
      va += nr - 1;
      continue;
    }
    const pte = ptep_get(s, src, va);
    if (pte_none(pte)) continue;
    if (pte_present(pte)) {
      if (copy_present_pte(s, ctx, src, dst, va, pte, sflags, dstFlags, stop)) return { at: va, kind: stop };
    } else copy_nonpresent_pte(s, ctx, src, dst, va, pte, dstFlags);
  }
  return 0;
}

/**
 * copy_present_pte() (6.18): share the page write-protected, or, for an
 * exclusive anon page that may be pinned, give the child a copy
 * (copy_present_page) and leave the parent untouched. Between the decision
 * to share a page and the write-protect of the parent's PTE, GUP-fast on
 * another CPU can still read the writable PTE and pin the page (it takes no
 * lock): with `stop` FORK_STOP_SHARE, the copy stops there for a writable
 * anon page (true) and copy_present_finish() ends it. Other threads' stores
 * through writable PTEs need no lock either: with FORK_STOP_COPY it stops
 * after it gave the child a copy of a page (copy_present_page), so that
 * they can store between the copies of two pages (the torn snapshot of
 * docs/kernel/large-folios.md I2).
 */
function copy_present_pte(
  s: KState,
  ctx: KCtx,
  src: number,
  dst: number,
  va: number,
  pte: Pte,
  sflags: number,
  dflags: number,
  stop: ForkStopKind,
): boolean {
  const pfn = vm_normal_page(pte);
  if (pfn !== 0) {
    folio_get(s, pfn);
    if (PageAnon(s, pfn)) {
      if (!anon_dup(s, ctx, src, dst, sflags, pfn, pte)) {
        folio_put(s, pfn);
        copy_present_page(s, ctx, dst, va, pte, pfn, dflags);
        if (stop !== FORK_STOP_COPY) return false;
        trace(ctx, 'copy_present_pte', `the child has its copy of page ${va}; fork stops before the next page`);
        return true;
      }
      if (stop === FORK_STOP_SHARE && is_cow_mapping(sflags) && pte_write(pte)) {
        // (the child's PTE is set here rather than after the write-protect: the child does not run before fork returns)
        set_pte_at(s, dst, va, child_pte(pte, sflags, dflags));
        trace(
          ctx,
          'copy_present_pte',
          `page pfn#${pfn} shared with the child; fork stops before write-protecting the parent's PTE of page ${va}`,
        );
        return true;
      }
    } else {
      folio_dup_file_rmap_pte(s, dst, pfn);
    }
  }
  copy_present_finish(s, src, dst, va, sflags, dflags);
  return false;
}

/** The end of copy_present_pte(): the parent's PTE write-protected for COW, the child's set (`child`: it is already). */
export function copy_present_finish(s: KState, src: number, dst: number, va: number, sflags: number, dflags: number, child = false): void {
  // (the PTE lock is held across the window: only GUP-fast, which changes no PTE, ran in it)
  const pte = ptep_get(s, src, va);
  if (is_cow_mapping(sflags) && pte_write(pte)) set_pte_at(s, src, va, pte_wrprotect(pte));
  if (!child) set_pte_at(s, dst, va, child_pte(pte, sflags, dflags));
}

/** The child's PTE for the parent's `pte`: write-protected for COW, clean if shared, without uffd-wp unless inherited. */
function child_pte(pte: Pte, sflags: number, dflags: number): Pte {
  let child = pte;
  if (is_cow_mapping(sflags) && pte_write(pte)) child = pte_wrprotect(child);
  if (sflags & VM_SHARED) child = pte_mkclean(child);
  if ((dflags & VM_UFFD_WP) === 0) child = pte_clear_uffd_wp(child);
  return child;
}

/**
 * Fork's decision for an anon page. 5.19+: folio_try_dup_anon_rmap_pte()
 * refuses exclusive maybe-pinned pages. 5.9 .. 5.18: copy_present_pte()
 * asked page_needs_cow_for_dma() itself (70e806e4e645). Before: always share.
 * Proposals may also copy a page GUP marked exclusive, or any page with
 * references beyond its mappings.
 */
function anon_dup(s: KState, ctx: KCtx, src: number, dst: number, sflags: number, pfn: number, pte: Pte): boolean {
  const mech = ctx.prof.mech;
  if (mech.fork.copyReferenced !== 'none' && is_cow_mapping(sflags) && (mech.fork.copyReferenced === 'any' || pte_write(pte))) {
    // proposals: a page held by more than its mappings and the swap cache may be under GUP: copy it
    const large = folio_test_large(s, pfn);
    const mapped = large ? folio_large_mapcount(s, pfn) : page_mapcount(s, pfn);
    const expected = mapped + (page_test(s, pfn, PGF_SWAPCACHE) ? folio_nr_pages(s, pfn) : 0) + 1; // + fork's own reference
    if (page_ref_count(s, pfn) > expected) {
      trace(
        ctx,
        'copy_present_pte',
        `page pfn#${pfn} has ${page_ref_count(s, pfn) - expected} reference(s) beyond its mappings: copy for the child`,
      );
      return false;
    }
  }
  if (mech.fork.copyMarked && PageAnonExclusive(s, pfn)) {
    // "fork() will keep it so": the page a GUP made exclusive stays the parent's
    trace(ctx, 'copy_present_pte', `page pfn#${pfn} was made exclusive by GUP: copy for the child`);
    return false;
  }
  switch (mech.fork.copyPinned) {
    case 'exclusive-maybe-pinned':
      return folio_try_dup_anon_rmap_pte(s, ctx, src, dst, sflags, pfn);
    case 'maybe-pinned':
      if (folio_needs_cow_for_dma(s, ctx, src, sflags, pfn)) {
        trace(ctx, 'copy_present_pte', `page pfn#${pfn} may be pinned: copy for the child`);
        return false;
      }
      break;
    case 'never':
      break;
  }
  // a page now shared is exclusive to no one
  page_clear(s, pfn, PGF_ANON_EXCLUSIVE);
  folio_dup_file_rmap_pte(s, dst, pfn);
  return true;
}

/**
 * copy_present_page(): the child gets its own exclusive copy, dirty and
 * writable if its VMA is VM_WRITE.
 */
function copy_present_page(s: KState, ctx: KCtx, dst: number, va: number, pte: Pte, pfn: number, dflags: number): void {
  const nw = alloc_page(s, 0);
  page_set_data(s, nw, page_data(s, pfn));
  folio_add_new_anon_rmap(s, ctx, nw, true);
  folio_add_lru(s, ctx, nw);
  let entry = maybe_mkwrite(pte_mkdirty(mk_pte(nw)), dflags);
  if (userfaultfd_pte_wp(dflags, pte)) entry = pte_mkuffd_wp(entry);
  set_pte_at(s, dst, va, entry);
  ctx.metrics.forkCopies++;
  trace(ctx, 'copy_present_page', `child gets copy ${nw} of maybe-pinned page pfn#${pfn}`);
}

/**
 * copy_nonpresent_pte(): swap entries are duplicated and lose the exclusive
 * bit on both sides; uffd-wp survives only into a uffd-wp child VMA.
 */
function copy_nonpresent_pte(s: KState, ctx: KCtx, src: number, dst: number, va: number, pte: Pte, dflags: number): void {
  if (is_pte_marker(pte)) {
    if ((dflags & VM_UFFD_WP) !== 0 && pte_marker_uffd_wp(pte)) set_pte_at(s, dst, va, PTE_MARKER_UFFD_WP);
    return;
  }
  const slot = pte_swp_slot(pte);
  swap_duplicate(s, slot);
  let p = pte;
  if (pte_swp_exclusive(p)) {
    p = pte_swp_clear_exclusive(p);
    set_pte_at(s, src, va, p);
  }
  if ((dflags & VM_UFFD_WP) === 0) p = pte_swp_clear_uffd_wp(p);
  set_pte_at(s, dst, va, p);
  trace(ctx, 'copy_nonpresent_pte', `swap slot ${slot} shared with the child`);
}

/* ---------------- zap ---------------- */

export interface ZapDetails {
  /** ZAP_FLAG_DROP_MARKER: munmap and exit drop uffd-wp markers too */
  dropMarker: boolean;
  /** reclaim_pt (MADV_DONTNEED): free a PTE table the range empties whole (features.ptReclaim) */
  reclaimPt?: boolean;
  /**
   * the mmu_gather keeps the zapped pages (their reference) until
   * tlb_finish_mmu(): a zap stopped before its flush fills this, and
   * zap_gather_release() frees them
   */
  gathered?: { pfn: number; anon: boolean }[];
}

/**
 * zap_pte_range() over [start, end) of one VMA (6.18): rmap removal and the
 * reference drop for present pages (dirty file pages marked dirty), swap
 * entries freed, uffd-wp markers left on file VMAs unless dropped. The
 * PTEs it cleared (present or not), for tlb_finish_mmu().
 */
export function zap_pte_range(s: KState, ctx: KCtx, t: number, vi: number, start: number, end: number, d: ZapDetails): number {
  const vflags = vma_flags_at(s, t, vi);
  // unmap_single_vma(): hugetlb VMAs are torn down by __unmap_hugepage_range()
  if (is_vm_hugetlb_page(vflags)) {
    __unmap_hugepage_range(s, ctx, t, vi, start, end);
    return 0;
  }
  const anon = vma_is_anonymous(s, t, vi);
  // zap_pmd_range(): huge PMDs wholly in the range go at once, the others are split first
  for (const h of split_partial_pmds(s, ctx, t, start, end)) zap_huge_pmd(s, ctx, t, h);
  let zapped = 0;
  for (let va = start; va < end; va++) {
    const pte = ptep_get(s, t, va);
    if (pte_none(pte)) continue;
    zapped++;
    let keepMarker = false;
    if (pte_present(pte)) {
      const pfn = vm_normal_page(pte);
      if (pfn === 0) ksm_might_unmap_zero_page(s, ctx, t, pte);
      else {
        if (!PageAnon(s, pfn) && pte_dirty(pte)) page_set(s, pfn, PGF_DIRTY);
        folio_remove_rmap_pte(s, t, pfn);
        const anonPage = PageAnon(s, pfn) || page_test(s, pfn, PGF_ANON);
        // (__tlb_remove_page(): the gather holds the reference until its flush)
        if (d.gathered) d.gathered.push({ pfn, anon: anonPage });
        else zap_gather_release(s, ctx, [{ pfn, anon: anonPage }]);
      }
      keepMarker = pte_uffd_wp(pte);
    } else if (is_swap_pte(pte)) {
      free_swap_and_cache(s, ctx, pte_swp_slot(pte));
      keepMarker = pte_swp_uffd_wp(pte);
    } else if (is_pte_marker(pte)) {
      if (!anon && !d.dropMarker) continue;
    }
    set_pte_at(s, t, va, PTE_NONE);
    // zap_install_uffd_wp_if_needed(): file/shmem uffd-wp VMAs keep the protection as a marker
    if (keepMarker && !anon && !d.dropMarker && vflags & VM_UFFD_WP) set_pte_at(s, t, va, PTE_MARKER_UFFD_WP);
  }
  if (zapped) trace(ctx, 'zap_pte_range', `${zapped} PTE(s) zapped`);
  if (d.reclaimPt && ctx.prof.mech.features.ptReclaim && s.L.pmds > 0) zap_empty_pte_tables(s, ctx, t, start, end);
  return zapped;
}

/** tlb_flush_mmu_free() -> free_pages_and_swap_cache(): the pages a zap gathered lose their reference (an anon page its swap cache). */
export function zap_gather_release(s: KState, ctx: KCtx, pages: readonly { pfn: number; anon: boolean }[]): void {
  for (const p of pages) {
    folio_put(s, p.pfn);
    // free_pages_and_swap_cache(): an unmapped swap-cache page loses its swap cache
    if (p.anon) free_swap_cache(s, ctx, p.pfn);
  }
}

/**
 * CONFIG_PT_RECLAIM (features.ptReclaim): zap_pte_range() of a range that
 * covers a whole PTE table frees the table once every entry is none (a kept
 * uffd-wp marker keeps it), so the PMD is none again and the next fault
 * there may map a huge PMD.
 */
function zap_empty_pte_tables(s: KState, ctx: KCtx, t: number, start: number, end: number): void {
  const nr = pmd_nr(s);
  for (let h = pmd_base(s, start + nr - 1); h + nr <= end; h += nr) {
    if (pmdp_get(s, t, h) !== PMD_TABLE) continue;
    let empty = true;
    for (let i = 0; i < nr && empty; i++) empty = pte_none(ptep_get(s, t, h + i));
    if (!empty) continue;
    set_pmd_at(s, t, h, PMD_NONE);
    trace(ctx, 'zap_pte_range', `empty PTE table at page ${h} freed (PT_RECLAIM)`);
  }
}

/** True when a present page is an exclusive anon page (used by pagemap and the invariants). */
export function isExclusiveAnon(s: KState, pfn: number): boolean {
  return page_test(s, pfn, PGF_ANON) && page_test(s, pfn, PGF_ANON_EXCLUSIVE);
}
