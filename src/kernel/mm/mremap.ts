/**
 * mm/mremap.c: mremap(MREMAP_MAYMOVE | MREMAP_FIXED) of a range to another
 * address (what cow.c does to a part of a THP): whatever was mapped at the
 * destination is unmapped, the VMA part moves, and move_page_tables() moves
 * the entries (a whole, equally aligned huge PMD moves as one,
 * move_huge_pmd(); a PMD the range only partly covers is split first).
 */
import type { KState } from '../../model/layout.js';
import {
  vmas_of,
  vma_lookup_idx,
  ptep_get,
  set_pte_at,
  pmdp_get,
  set_pmd_at,
  pmd_nr,
  type Vma,
  VM_SOFTDIRTY,
  VM_UFFD_WP,
} from '../../model/mm_types.js';
import { PMD_NONE, pmd_mksoft_dirty, pmd_clear_uffd_wp } from '../../model/pmd.js';
import { split_huge_pmd_address, split_partial_pmds, __split_huge_pmd } from './huge_memory.js';
import { pte_none, pte_mksoft_dirty, is_swap_pte, pte_present, pte_clear_uffd_wp, pte_marker_uffd_wp, type Pte } from '../../model/pte.js';
import { refs_detach_range } from '../../model/refs.js';
import { type KCtx, trace } from '../ctx.js';
import { do_munmap, vmas_commit, mergeHint } from './mmap.js';
import { EINVAL, EFAULT } from '../errno.js';

/**
 * mremap(old, pages, pages, MREMAP_MAYMOVE | MREMAP_FIXED, new): 0 or a
 * negative errno. Before 6.17 the old range must lie in one VMA
 * (vma_to_resize); from 6.17 (features.mremapMultiVma, remap_move()) a
 * move-only range may span several VMAs, each moved with the gaps between
 * them kept, but none may be armed with userfaultfd and the range may not
 * start in a gap.
 */
export function do_mremap(s: KState, ctx: KCtx, t: number, start: number, pages: number, dst: number): number {
  if (pages <= 0) return -EINVAL;
  // what is checked before mremap_to() unmaps the destination (mech.features.mremapSourceCheck);
  // 550a7d60bd5e's vma_lookup() comes before mremap_to()'s range and overlap checks
  const check = ctx.prof.mech.features.mremapSourceCheck;
  if (check === 'vma-at-addr' && vma_lookup_idx(s, t, start) < 0) return -EFAULT;
  if (dst + pages > s.L.geo.vpages) return -EINVAL;
  const end = start + pages;
  // the ranges may not overlap (check_mremap_params)
  if (dst < end && start < dst + pages) return -EINVAL;
  if (check !== 'whole-range') do_munmap(s, ctx, t, dst, dst + pages);
  const src = vmas_of(s, t).find((v) => v.start <= start && end <= v.end);
  if (src) return move_vma(s, ctx, t, src, start, pages, dst);
  if (!ctx.prof.mech.features.mremapMultiVma) return -EFAULT;
  const parts = vmas_of(s, t)
    .filter((v) => v.start < end && start < v.end)
    .sort((x, y) => x.start - y.start);
  if (parts.length === 0 || parts[0]!.start > start) return -EFAULT; // no gap at the start
  let target = dst;
  let lastEnd = 0;
  for (let i = 0; i < parts.length; i++) {
    const v = parts[i]!;
    const from = Math.max(v.start, start);
    const len = Math.min(end, v.end) - from;
    const to = target + (i > 0 ? v.start - lastEnd : 0);
    lastEnd = v.end;
    // vma_multi_allowed(): a uffd-armed VMA may only be moved alone
    if (v.flags & VM_UFFD_WP && (i > 0 || v.end < end)) return -EFAULT;
    const cur = vmas_of(s, t).find((x) => x.start <= from && from + len <= x.end)!;
    const r = move_vma(s, ctx, t, cur, from, len, to);
    if (r < 0) return r;
    target = to + len;
  }
  trace(ctx, 'remap_move', `${parts.length} VMAs moved`);
  return 0;
}

/** move_vma() of `pages` pages at `start`, inside the VMA `src`, to `dst` (mremap_to). */
function move_vma(s: KState, ctx: KCtx, t: number, src: Vma, start: number, pages: number, dst: number): number {
  const end = start + pages;
  do_munmap(s, ctx, t, dst, dst + pages);
  // copy_vma(): the moved part is a new VMA at dst (soft-dirty: the pages moved, 0f8975ec4db2);
  // mremap_userfaultfd_prep(): without UFFD_FEATURE_EVENT_REMAP (which no scenario asks for) it is not registered
  const armed = (src.flags & VM_UFFD_WP) !== 0;
  const moved: Vma = {
    ...src,
    start: dst,
    end: dst + pages,
    pgoff: src.pgoff + (start - src.start),
    flags: (src.flags | VM_SOFTDIRTY) & ~VM_UFFD_WP,
  };
  // move_ptes()/move_huge_pmd(): 0cef0bb836e3 (6.13) clears the uffd-wp bits the unregistered VMA no longer explains
  const clearWp = armed && ctx.prof.mech.uffd.mremapClearsWp;
  const list = vmas_of(s, t);
  list.push(moved);
  // copy_vma(): the moved VMA, with the source's anon_vma, is the merge source at its new place
  vmas_commit(s, t, list, mergeHint(ctx, [moved]));
  // move_page_tables(): a huge PMD the range covers whole moves as one when the destination is
  // equally aligned (move_huge_pmd); any other huge PMD in the way is split and moves by PTEs
  // (the source VMA split at start and end splits a PMD across either first)
  split_huge_pmd_address(s, ctx, t, start);
  split_huge_pmd_address(s, ctx, t, end);
  let n = 0;
  for (const h of split_partial_pmds(s, ctx, t, start, end)) {
    const to = dst + (h - start);
    if ((to & (pmd_nr(s) - 1)) !== 0) {
      __split_huge_pmd(s, ctx, t, h);
      continue;
    }
    const pmd = pmd_mksoft_dirty(pmdp_get(s, t, h));
    set_pmd_at(s, t, to, clearWp ? pmd_clear_uffd_wp(pmd) : pmd);
    set_pmd_at(s, t, h, PMD_NONE);
    n++;
  }
  for (let i = 0; i < pages; i++) {
    const pte: Pte = ptep_get(s, t, start + i);
    if (pte_none(pte)) continue;
    set_pte_at(s, t, start + i, 0);
    n++;
    if (clearWp && pte_marker_uffd_wp(pte)) continue; // a uffd-wp marker is dropped
    const moved = pte_present(pte) || is_swap_pte(pte) ? pte_mksoft_dirty(pte) : pte;
    set_pte_at(s, t, dst + i, clearWp ? pte_clear_uffd_wp(moved) : moved);
  }
  // the old range is unmapped (do_vmi_munmap of the source; its page tables are empty now)
  refs_detach_range(s, t, start, end);
  do_munmap(s, ctx, t, start, end);
  trace(ctx, 'move_page_tables', `${n} entr${n === 1 ? 'y' : 'ies'} moved from pages ${start}..${end - 1} to ${dst}..${dst + pages - 1}`);
  return 0;
}
