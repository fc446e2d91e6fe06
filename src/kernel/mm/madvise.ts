/**
 * mm/madvise.c (6.18, docs/kernel/vm-ops.md 6): MADV_DONTNEED,
 * MADV_DONTFORK / MADV_DOFORK, MADV_WIPEONFORK / MADV_KEEPONFORK and
 * MADV_PAGEOUT of anonymous pages.
 */
import type { KState } from '../../model/layout.js';
import { pte_present } from '../../model/pte.js';
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
  page_clear,
} from '../../model/mm_types.js';
import { PGF_ANON, PGF_LRU, PGF_REFERENCED, PGF_ACTIVE } from '../../model/layout.js';
import { refs_detach_range } from '../../model/refs.js';
import { type KCtx, trace } from '../ctx.js';
import { zap_pte_range, vm_normal_page } from './memory.js';
import { vma_modify } from './mmap.js';
import { lru_add_drain } from './swap.js';
import { folio_isolate_lru, shrink_folio } from './vmscan.js';
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
  | 'MADV_COLD';

/** do_madvise() over [start, end): applies to the mapped parts, -ENOMEM if there were holes. */
export function do_madvise(s: KState, ctx: KCtx, t: number, start: number, end: number, advice: Advice): number {
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
    const e = madvise_vma(s, ctx, t, p.vi, p.a, p.b, p.flags, p.file, advice);
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
): number {
  switch (advice) {
    case 'MADV_DONTNEED':
      if (flags & (VM_LOCKED | VM_PFNMAP)) return -EINVAL;
      zap_pte_range(s, ctx, t, vi, a, b, { dropMarker: false });
      refs_detach_range(s, t, a, b);
      return 0;
    case 'MADV_DONTFORK':
      vma_modify(s, t, a, b, (v) => ({ ...v, flags: v.flags | VM_DONTCOPY }));
      return 0;
    case 'MADV_DOFORK':
      if (flags & VM_IO) return -EINVAL;
      vma_modify(s, t, a, b, (v) => ({ ...v, flags: v.flags & ~VM_DONTCOPY }));
      return 0;
    case 'MADV_WIPEONFORK':
      if (file >= 0 || flags & VM_SHARED) return -EINVAL;
      vma_modify(s, t, a, b, (v) => ({ ...v, flags: v.flags | VM_WIPEONFORK }));
      return 0;
    case 'MADV_KEEPONFORK':
      vma_modify(s, t, a, b, (v) => ({ ...v, flags: v.flags & ~VM_WIPEONFORK }));
      return 0;
    case 'MADV_PAGEOUT':
      if (flags & (VM_LOCKED | VM_PFNMAP)) return -EINVAL;
      madvise_pageout(s, ctx, t, a, b);
      return 0;
    case 'MADV_COLD':
      if (flags & (VM_LOCKED | VM_PFNMAP)) return -EINVAL;
      madvise_cold(s, ctx, t, a, b);
      return 0;
    case 'MADV_HUGEPAGE':
      // hugepage_madvise(): the VMA may get large folios whatever the global mode (unless it is never)
      vma_modify(s, t, a, b, (v) => ({ ...v, flags: (v.flags | VM_HUGEPAGE) & ~VM_NOHUGEPAGE }));
      return 0;
    case 'MADV_NOHUGEPAGE':
      vma_modify(s, t, a, b, (v) => ({ ...v, flags: (v.flags | VM_NOHUGEPAGE) & ~VM_HUGEPAGE }));
      return 0;
    case 'MADV_COLLAPSE':
      return -EINVAL;
  }
}

/**
 * madvise_cold() -> madvise_cold_or_pageout_pte_range(pageout=false):
 * anon pages mapped exactly once lose PG_referenced and are deactivated
 * (folio_deactivate(), whose per-CPU batch the step's drain empties).
 */
function madvise_cold(s: KState, ctx: KCtx, t: number, a: number, b: number): void {
  let n = 0;
  for (let va = a; va < b; va++) {
    const pte = ptep_get(s, t, va);
    if (!pte_present(pte)) continue;
    const pfn = vm_normal_page(pte);
    if (pfn === 0 || !page_test(s, pfn, PGF_ANON) || page_mapcount(s, pfn) !== 1) continue;
    page_clear(s, pfn, PGF_REFERENCED | PGF_ACTIVE);
    n++;
  }
  trace(ctx, 'madvise_cold_or_pageout_pte_range', `${n} page(s) deactivated`);
}

/**
 * madvise_pageout() -> madvise_cold_or_pageout_pte_range() -> reclaim_pages():
 * only anon pages on the LRU that are mapped exactly once are taken.
 */
function madvise_pageout(s: KState, ctx: KCtx, t: number, a: number, b: number): void {
  lru_add_drain(s, ctx);
  const list: number[] = [];
  for (let va = a; va < b; va++) {
    const pte = ptep_get(s, t, va);
    if (!pte_present(pte)) continue;
    const pfn = vm_normal_page(pte);
    if (pfn === 0 || !page_test(s, pfn, PGF_ANON)) continue;
    if (!page_test(s, pfn, PGF_LRU) || page_mapcount(s, pfn) !== 1) {
      trace(
        ctx,
        'madvise_cold_or_pageout_pte_range',
        `page ${pfn} skipped (${page_mapcount(s, pfn) !== 1 ? 'mapped more than once' : 'not on the LRU'})`,
      );
      continue;
    }
    if (folio_isolate_lru(s, pfn)) list.push(pfn);
  }
  for (const pfn of list) shrink_folio(s, ctx, pfn);
}
