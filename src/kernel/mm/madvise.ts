/**
 * mm/madvise.c (6.18, docs/kernel/vm-ops.md 6): MADV_DONTNEED,
 * MADV_DONTFORK / MADV_DOFORK, MADV_WIPEONFORK / MADV_KEEPONFORK and
 * MADV_PAGEOUT of anonymous pages; MADV_DONTNEED of hugetlb pages.
 */
import type { KState } from '../../model/layout.js';
import { pte_present, pte_pfn } from '../../model/pte.js';
import {
  vmas_of,
  ptep_get,
  page_mapcount,
  page_test,
  VM_LOCKED,
  VM_PFNMAP,
  VM_IO,
  VM_DONTCOPY,
  VM_WIPEONFORK,
  VM_SHARED,
  VM_HUGEPAGE,
  VM_NOHUGEPAGE,
  VM_HUGETLB,
  page_clear,
  pmd_nr,
  pmd_mapped_huge,
  pmdp_get,
  folio_head,
  folio_nr_pages,
  folio_test_large,
  folio_large_mapcount,
  vma_anon_at,
} from '../../model/mm_types.js';
import { PGF_ANON, PGF_LRU, PGF_REFERENCED, PGF_ACTIVE, PGF_LOCKED } from '../../model/layout.js';
import { is_huge_zero_pmd, pmd_pfn } from '../../model/pmd.js';
import { refs_detach_range } from '../../model/refs.js';
import { type KCtx, trace } from '../ctx.js';
import { zap_pte_range, vm_normal_page, zap_gather_release } from './memory.js';
import { mm_tlb_flush_nested, flush_tlb_range } from '../arch/x86/mm/tlb.js';
import { vma_modify } from './mmap.js';
import { lru_add_drain, folio_get, folio_put } from './swap.js';
import { folio_isolate_lru, reclaim_pages } from './vmscan.js';
import { split_folio } from './huge_memory.js';
import { madvise_collapse } from './khugepaged.js';
import { ksm_madvise } from './ksm.js';
import { is_vm_hugetlb_page, hugetlb_range_misaligned } from './hugetlb.js';
import { folio_mapped_shared_estimate } from './rmap.js';
import { EINVAL, ENOMEM } from '../errno.js';

export type Advice =
  | 'MADV_DONTNEED'
  | 'MADV_DONTFORK'
  | 'MADV_DOFORK'
  | 'MADV_WIPEONFORK'
  | 'MADV_KEEPONFORK'
  | 'MADV_PAGEOUT'
  | 'MADV_HUGEPAGE'
  | 'MADV_NOHUGEPAGE'
  | 'MADV_COLLAPSE'
  | 'MADV_COLD'
  | 'MADV_MERGEABLE'
  | 'MADV_UNMERGEABLE';

/** madvise_behavior_valid() (mm/madvise.c): whether the profile's kernel knows the advice (MADV_COLLAPSE from 6.1). */
function madvise_behavior_valid(ctx: KCtx, advice: Advice): boolean {
  return advice !== 'MADV_COLLAPSE' || ctx.prof.mech.features.madvCollapse !== 'none';
}

/** do_madvise() over [start, end): applies to the mapped parts, -ENOMEM if there were holes. */
export function do_madvise(s: KState, ctx: KCtx, t: number, start: number, end: number, advice: Advice, stop = false): number | 'stopped' {
  // first of all (every version): an advice the kernel does not know is EINVAL, whatever the range
  // (scenarios using one are n/a there; fuzz --diff runs them leniently)
  if (!madvise_behavior_valid(ctx, advice)) return -EINVAL;
  if (end <= start) return 0;
  const vmas = vmas_of(s, t);
  const parts: { vi: number; a: number; b: number; flags: number; file: number }[] = [];
  let at = start;
  let hole = false;
  vmas.forEach((v, vi) => {
    if (v.end <= start || v.start >= end) return;
    if (v.start > at) hole = true;
    parts.push({ vi, a: Math.max(v.start, start), b: Math.min(v.end, end), flags: v.flags, file: v.file });
    at = v.end;
  });
  if (at < end) hole = true;
  if (parts.length === 0) return -ENOMEM;
  trace(ctx, 'do_madvise', `${advice} pages ${start}..${end - 1}`);
  for (const p of parts) {
    const e = madvise_vma(s, ctx, t, p.vi, p.a, p.b, p.flags, p.file, advice, stop);
    if (e) return e;
  }
  return hole ? -ENOMEM : 0;
}

function madvise_vma(
  s: KState,
  ctx: KCtx,
  t: number,
  vi: number,
  a: number,
  b: number,
  flags: number,
  file: number,
  advice: Advice,
  /** MADV_COLLAPSE of one PMD range: stop in collapse_huge_page()'s window */
  stop: boolean,
): number | 'stopped' {
  const hugetlb = is_vm_hugetlb_page(flags);
  switch (advice) {
    case 'MADV_DONTNEED':
      if (hugetlb) return madvise_dontneed_hugetlb(s, ctx, t, vi, a, b);
      if (flags & (VM_LOCKED | VM_PFNMAP)) return -EINVAL;
      return madvise_dontneed_single_vma(s, ctx, t, vi, a, b, stop);
    case 'MADV_DONTFORK':
      return madvise_update_vma(s, ctx, t, a, b, flags, (f) => f | VM_DONTCOPY);
    case 'MADV_DOFORK':
      if (flags & VM_IO) return -EINVAL;
      // 7.x: madvise_vma_behavior() -> !vma_can_merge(): VM_SPECIAL and hugetlb VMAs refuse it too
      if (ctx.prof.mech.hugetlb.doforkRefused && (hugetlb || flags & VM_PFNMAP)) return -EINVAL;
      return madvise_update_vma(s, ctx, t, a, b, flags, (f) => f & ~VM_DONTCOPY);
    case 'MADV_WIPEONFORK':
      // anonymous private memory only: a hugetlb VMA has a file, the hugetlbfs one behind MAP_HUGETLB
      if (file >= 0 || hugetlb || flags & VM_SHARED) return -EINVAL;
      return madvise_update_vma(s, ctx, t, a, b, flags, (f) => f | VM_WIPEONFORK);
    case 'MADV_KEEPONFORK':
      return madvise_update_vma(s, ctx, t, a, b, flags, (f) => f & ~VM_WIPEONFORK);
    case 'MADV_PAGEOUT':
      if (!can_madv_lru_vma(flags)) return -EINVAL;
      madvise_pageout(s, ctx, t, a, b);
      return 0;
    case 'MADV_COLD':
      if (!can_madv_lru_vma(flags)) return -EINVAL;
      madvise_cold(s, ctx, t, a, b);
      return 0;
    case 'MADV_HUGEPAGE':
      // hugepage_madvise(): the VMA may get large folios whatever the global mode (unless it is never)
      return madvise_update_vma(s, ctx, t, a, b, flags, (f) => (f | VM_HUGEPAGE) & ~VM_NOHUGEPAGE);
    case 'MADV_NOHUGEPAGE':
      return madvise_update_vma(s, ctx, t, a, b, flags, (f) => (f | VM_NOHUGEPAGE) & ~VM_HUGEPAGE);
    case 'MADV_COLLAPSE':
      return madvise_collapse(s, ctx, t, vi, a, b, stop);
    case 'MADV_MERGEABLE':
    case 'MADV_UNMERGEABLE':
      return ksm_madvise(s, ctx, t, flags, vma_anon_at(s, t, vi), a, b, advice === 'MADV_MERGEABLE');
  }
}

/**
 * madvise_dontneed_single_vma() -> zap_page_range_single(): tlb_gather_mmu(),
 * the zap, tlb_finish_mmu(). The zap runs under mmap_lock for read, so
 * another thread's MADV_DONTNEED of the same pages may run between a zap
 * and its flush; it finds the PTEs none and has nothing of its own to
 * flush. From 4.13 (99baac21e458, features.nestedTlbFlush) tlb_finish_mmu()
 * sees the other gather (mm_tlb_flush_nested()) and flushes the whole range
 * anyway; before, it returned while another CPU could still translate the
 * pages. `stop` (one page): the zap stops before its tlb_finish_mmu() if it
 * cleared a PTE, holding the page it gathered.
 */
function madvise_dontneed_single_vma(s: KState, ctx: KCtx, t: number, vi: number, a: number, b: number, stop: boolean): number | 'stopped' {
  const gathered: { pfn: number; anon: boolean }[] = [];
  const cleared = zap_pte_range(s, ctx, t, vi, a, b, { dropMarker: false, reclaimPt: true, gathered });
  refs_detach_range(s, t, a, b);
  if (stop && cleared > 0) {
    const g = gathered[0];
    ctx.zapHeld = { mm: t, start: a, end: b, pfn: g?.pfn ?? 0, anon: g?.anon ?? false };
    trace(ctx, 'zap_page_range_single', `page ${a} zapped; the MADV_DONTNEED stops before tlb_finish_mmu() (flush and free pending)`);
    return 'stopped';
  }
  tlb_finish_mmu(s, ctx, t, a, b, gathered);
  return 0;
}

/**
 * tlb_finish_mmu() of a zap of [a, b) of task `t`: the PTEs it cleared are
 * flushed from every CPU (at the end of the step: tlb_flush_changed()),
 * the range as a whole if another gather of the mm is under way and the
 * kernel checks for it, then the gathered pages are freed.
 */
export function tlb_finish_mmu(
  s: KState,
  ctx: KCtx,
  t: number,
  a: number,
  b: number,
  gathered: readonly { pfn: number; anon: boolean }[],
): void {
  if (ctx.prof.mech.features.nestedTlbFlush && mm_tlb_flush_nested(s, t)) {
    trace(ctx, 'tlb_finish_mmu', `another thread's gather of the mm is under way (mm_tlb_flush_nested): flush pages ${a}..${b - 1} anyway`);
    flush_tlb_range(s, ctx, t, a, b);
  }
  zap_gather_release(s, ctx, gathered);
  ctx.zapDone = { mm: t, start: a, end: b };
}

/** can_madv_lru_vma(): MADV_COLD and MADV_PAGEOUT leave locked, PFN-mapped and hugetlb VMAs alone (EINVAL). */
function can_madv_lru_vma(flags: number): boolean {
  return (flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)) === 0;
}

/**
 * madvise_update_vma(): the advice's new flags on the range, the VMA split
 * where they change; nothing at all when they do not change. A hugetlb VMA
 * refuses a split off a huge-page boundary (hugetlb_vm_op_split(): EINVAL).
 */
function madvise_update_vma(s: KState, ctx: KCtx, t: number, a: number, b: number, flags: number, fn: (f: number) => number): number {
  if (fn(flags) === flags) return 0;
  if (is_vm_hugetlb_page(flags) && hugetlb_range_misaligned(s, t, a, b)) {
    trace(ctx, 'hugetlb_vm_op_split', `pages ${a}..${b - 1} do not end on huge pages: EINVAL`);
    return -EINVAL;
  }
  vma_modify(s, t, a, b, (v) => ({ ...v, flags: fn(v.flags) }), ctx);
  return 0;
}

/**
 * madvise_dontneed_free_valid_vma() and the zap of a hugetlb VMA
 * (hugetlb.madvDontneed): refused before 5.18; from then the start must be
 * on a huge page and the end is rounded to one (up in 5.18 .. 6.0, down
 * from 6.1, where a range that rounds to nothing is left alone); the huge
 * pages go through __unmap_hugepage_range(), reservation restore included.
 */
function madvise_dontneed_hugetlb(s: KState, ctx: KCtx, t: number, vi: number, a: number, b: number): number {
  const mode = ctx.prof.mech.hugetlb.madvDontneed;
  const n = pmd_nr(s);
  if (mode === 'einval' || a % n !== 0) {
    trace(ctx, 'madvise_dontneed_free_valid_vma', mode === 'einval' ? 'a hugetlb VMA: EINVAL' : `page ${a} is not on a huge page: EINVAL`);
    return -EINVAL;
  }
  const end = mode === 'align-up' ? Math.ceil(b / n) * n : Math.floor(b / n) * n;
  if (end <= a) {
    trace(ctx, 'madvise_dontneed_free_valid_vma', `pages ${a}..${b - 1} round down to no huge page: nothing to do`);
    return 0;
  }
  trace(
    ctx,
    'madvise_dontneed_single_vma',
    `hugetlb pages ${a}..${end - 1}${end !== b ? ` (the end rounded ${mode === 'align-up' ? 'up' : 'down'} to a huge page)` : ''}`,
  );
  zap_pte_range(s, ctx, t, vi, a, end, { dropMarker: false });
  refs_detach_range(s, t, a, end);
  return 0;
}

/**
 * madvise_cold_or_pageout_pte_range() (6.18; lru.pageoutLarge for the
 * large-folio rules of older kernels): the folios of [a, b) that nobody
 * else maps are deactivated (MADV_COLD: PG_referenced and PG_active cleared,
 * folio_deactivate()) or isolated for reclaim (MADV_PAGEOUT, only from the
 * LRU). Huge PMDs and large folios the range covers in part are split
 * first; shared ones are left alone.
 */
function madvise_cold_or_pageout(s: KState, ctx: KCtx, t: number, a: number, b: number, pageout: boolean): number[] {
  const fn = 'madvise_cold_or_pageout_pte_range';
  const list: number[] = [];
  const rule = ctx.prof.mech.lru.pageoutLarge;
  let n = 0;
  const take = (pfn: number): void => {
    n++;
    if (!pageout) {
      page_clear(s, pfn, PGF_REFERENCED | PGF_ACTIVE);
      return;
    }
    // folio_clear_referenced() (the small-page path keeps the behaviour the host diff settled)
    if (folio_test_large(s, pfn)) page_clear(s, pfn, PGF_REFERENCED);
    if (folio_isolate_lru(s, pfn)) list.push(pfn);
  };
  const nr = pmd_nr(s);
  for (let va = a; va < b;) {
    // the PMD level
    if (nr > 0 && pmd_mapped_huge(s, t, va)) {
      const h = va - (va & (nr - 1));
      const next = Math.min(h + nr, b);
      const pmd = pmdp_get(s, t, h);
      if (is_huge_zero_pmd(pmd)) {
        va = next;
        continue;
      }
      const head = pmd_pfn(pmd);
      const shared = rule === 'split-mapped-once' ? page_mapcount(s, head) !== 1 : folio_mapped_shared_estimate(s, ctx, head);
      if (shared) {
        trace(ctx, fn, `THP ${head}: maybe mapped by another mm, left alone`);
        va = next;
        continue;
      }
      if (h < a || h + nr > b) {
        folio_get(s, head);
        const err = split_folio(s, ctx, head, 1);
        folio_put(s, head);
        if (err) va = next;
        continue; // the range is mapped by PTEs now
      }
      take(head);
      va = next;
      continue;
    }
    const pte = ptep_get(s, t, va);
    const pfn = pte_present(pte) ? vm_normal_page(pte) : 0;
    if (pfn === 0 || !page_test(s, pfn, PGF_ANON)) {
      va++;
      continue;
    }
    if (folio_test_large(s, pfn)) {
      const head = folio_head(s, pfn);
      const fnr = folio_nr_pages(s, head);
      if (rule === 'split-mapped-once') {
        // 5.10 .. 6.9: split the folio if this page is mapped once, else stop the walk
        if (page_mapcount(s, pfn) !== 1 || page_test(s, head, PGF_LOCKED)) {
          trace(ctx, fn, `page pfn#${pfn} of large folio ${head} mapped more than once: the walk stops`);
          break;
        }
        folio_get(s, head);
        const err = split_folio(s, ctx, head, 1);
        folio_put(s, head);
        if (err) break;
        continue;
      }
      // madvise_folio_pte_batch(): the PTEs from here that map consecutive pages of this folio
      let batch = 1;
      while (va + batch < b && pte_present(ptep_get(s, t, va + batch)) && pte_pfn(ptep_get(s, t, va + batch)) === pfn + batch) batch++;
      if (batch < fnr) {
        if (folio_mapped_shared_estimate(s, ctx, head) || page_test(s, head, PGF_LOCKED)) {
          va += batch;
          continue;
        }
        folio_get(s, head);
        const err = split_folio(s, ctx, head, 1);
        folio_put(s, head);
        if (err) va += batch;
        continue;
      }
      if (!page_test(s, head, PGF_LRU) || folio_large_mapcount(s, head) !== fnr) {
        trace(ctx, fn, `large folio ${head} mapped elsewhere too: skipped`);
        va += batch;
        continue;
      }
      take(head);
      va += batch;
      continue;
    }
    if ((pageout && !page_test(s, pfn, PGF_LRU)) || page_mapcount(s, pfn) !== 1) {
      trace(ctx, fn, `page pfn#${pfn} skipped (${page_mapcount(s, pfn) !== 1 ? 'mapped more than once' : 'not on the LRU'})`);
      va++;
      continue;
    }
    take(pfn);
    va++;
  }
  if (!pageout) trace(ctx, fn, `${n} page(s) deactivated`);
  return list;
}

/** madvise_cold(): deactivate what only this mm maps. */
function madvise_cold(s: KState, ctx: KCtx, t: number, a: number, b: number): void {
  madvise_cold_or_pageout(s, ctx, t, a, b, false);
}

/** madvise_pageout() -> reclaim_pages(): reclaim what only this mm maps. */
function madvise_pageout(s: KState, ctx: KCtx, t: number, a: number, b: number): void {
  lru_add_drain(s, ctx);
  const list = madvise_cold_or_pageout(s, ctx, t, a, b, true);
  reclaim_pages(s, ctx, list);
}
