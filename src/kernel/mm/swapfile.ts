/**
 * mm/swapfile.c and mm/swap_state.c: swap slots, their counts, the swap
 * cache, and the "disk" that holds written-out content.
 *
 * Modelled on 6.18 (docs/kernel/memory.md 8.6, docs/kernel/vm-ops.md):
 * a slot's count is the number of swap PTEs naming it; the swap cache holds
 * one page reference; folio_free_swap() drops the swap cache only when no
 * swap PTE still names the slot and the folio is not under writeback.
 */
import type { KState } from '../../model/layout.js';
import { PGF_SWAPCACHE, PGF_DIRTY, PGF_KSM } from '../../model/layout.js';
import {
  swap_count,
  swap_cache_pfn,
  swap_set_cache,
  swap_set_used,
  swap_used,
  swap_set_data,
  swap_count_add,
  page_set,
  page_clear,
  page_test,
  page_private,
  page_set_private,
  page_data,
  page_ref_add,
  folio_head,
  folio_nr_pages,
  folio_test_large,
  folio_mapped,
  task_alive,
  swap_is_off,
  swap_set_off,
  vma_count,
  vma_anon_at,
  vma_flags_at,
  vma_start_at,
  vma_end_at,
  ptep_get,
  set_pte_at,
  VM_HUGETLB,
} from '../../model/mm_types.js';
import {
  is_swap_pte,
  mk_pte,
  pte_swp_slot,
  pte_swp_exclusive,
  pte_swp_soft_dirty,
  pte_swp_uffd_wp,
  pte_mksoft_dirty,
  pte_mkuffd_wp,
} from '../../model/pte.js';
import { folio_put_refs, folio_put } from './swap.js';
import { ksm_might_need_to_copy } from './ksm.js';
import { swap_cache_get_folio, swapin_readahead } from './swap_state.js';
import { folio_add_new_anon_rmap, folio_add_anon_rmap_pte, PageAnon } from './rmap.js';
import { ModelBug, type KCtx, trace } from '../ctx.js';
import { EINVAL } from '../errno.js';

/** folio_alloc_swap() for a small folio: the lowest free swap slot, or 0 when the device is full. */
export function get_swap_slot(s: KState): number {
  return get_swap_slots(s, 1);
}

/**
 * folio_alloc_swap() for a folio of `nr` pages: the lowest run of `nr` free
 * slots whose first offset is a multiple of `nr` (the cluster allocator
 * hands a large folio naturally aligned entries, which is what
 * thp_swap_suitable_orders() relies on at swap-in), or 0 when there is none.
 */
export function get_swap_slots(s: KState, nr: number): number {
  if (swap_is_off(s)) return 0; // no swap area: folio_alloc_swap() fails
  const n = s.L.geo.swapSlots;
  for (let first = nr === 1 ? 1 : nr; first + nr <= n; first += nr) {
    let free = true;
    for (let i = 0; i < nr && free; i++) free = !swap_used(s, first + i);
    if (!free) continue;
    for (let i = 0; i < nr; i++) {
      swap_set_used(s, first + i, true);
      swap_set_data(s, first + i, -1);
    }
    return first;
  }
  return 0;
}

/** Frees a slot nobody references any more (swap_entries_free / swap_range_free). */
function swap_slot_free(s: KState, slot: number): void {
  swap_set_used(s, slot, false);
  swap_set_data(s, slot, -1);
  swap_set_cache(s, slot, 0);
}

/**
 * add_to_swap_cache() / swap_cache_add_folio(): the folio at `slot` (a
 * large one at `slot`..`slot + nr - 1`, page i at slot + i); the swap cache
 * takes one reference per page.
 */
export function add_to_swap_cache(s: KState, pfn: number, slot: number): void {
  const head = folio_head(s, pfn);
  const nr = folio_nr_pages(s, head);
  page_ref_add(s, head, nr);
  page_set(s, head, PGF_SWAPCACHE);
  for (let i = 0; i < nr; i++) {
    page_set_private(s, head + i, slot + i);
    swap_set_cache(s, slot + i, head + i);
  }
}

/** swap_cache_del_folio() / delete_from_swap_cache(): drop the folio's swap cache and its references. */
export function delete_from_swap_cache(s: KState, pfn: number): void {
  const head = folio_head(s, pfn);
  const nr = folio_nr_pages(s, head);
  page_clear(s, head, PGF_SWAPCACHE);
  for (let i = 0; i < nr; i++) {
    const slot = page_private(s, head + i);
    page_set_private(s, head + i, 0);
    swap_set_cache(s, slot, 0);
    if (swap_count(s, slot) === 0) swap_slot_free(s, slot);
  }
  folio_put_refs(s, head, nr);
}

/** folio_swapped(): some swap PTE still names one of the folio's slots. */
export function folio_swapped(s: KState, pfn: number): boolean {
  const head = folio_head(s, pfn);
  const nr = folio_nr_pages(s, head);
  for (let i = 0; i < nr; i++) if (swap_count(s, page_private(s, head + i)) > 0) return true;
  return false;
}

/**
 * folio_free_swap(): give up the swap cache of a folio whose slot no swap
 * PTE names any more; the folio becomes the only copy, hence dirty.
 * Writeback is synchronous in the model once the pageout step returns.
 */
export function folio_free_swap(s: KState, ctx: KCtx, pfn: number): boolean {
  if (!page_test(s, pfn, PGF_SWAPCACHE)) return false;
  if (folio_swapped(s, pfn)) return false;
  const head = folio_head(s, pfn);
  trace(ctx, 'folio_free_swap', `${folio_test_large(s, head) ? 'folio' : 'page'} ${head} leaves the swap cache`);
  delete_from_swap_cache(s, head);
  page_set(s, head, PGF_DIRTY);
  return true;
}

/** swap_duplicate(): one more swap PTE names the slot (fork). */
export function swap_duplicate(s: KState, slot: number): void {
  if (!swap_used(s, slot)) throw new ModelBug(`swap_duplicate on free slot ${slot}`);
  swap_count_add(s, slot, 1);
}

/** swap_free_nr() for one entry: a swap PTE stops naming the slot. */
export function swap_free(s: KState, slot: number): void {
  if (swap_count(s, slot) <= 0) throw new ModelBug(`swap_free on slot ${slot} with count 0`);
  swap_count_add(s, slot, -1);
  if (swap_count(s, slot) === 0 && swap_cache_pfn(s, slot) === 0) swap_slot_free(s, slot);
}

/**
 * free_swap_and_cache_nr() for one entry (zap of a swap PTE): drop the count;
 * if that was the last user and the folio in the swap cache is not mapped,
 * reclaim the swap cache too (__try_to_reclaim_swap with TTRS_UNMAPPED,
 * which keeps a large folio while another of its entries is in use).
 */
export function free_swap_and_cache(s: KState, ctx: KCtx, slot: number): void {
  swap_count_add(s, slot, -1);
  if (swap_count(s, slot) > 0) return;
  const pfn = swap_cache_pfn(s, slot);
  if (pfn === 0) {
    swap_slot_free(s, slot);
    return;
  }
  if (!folio_mapped(s, pfn) && !folio_swapped(s, pfn)) {
    trace(ctx, 'free_swap_and_cache', `last swap user gone: page pfn#${pfn} leaves the swap cache`);
    delete_from_swap_cache(s, pfn);
  }
}

/** swap_writepage(): the content of every page of the folio reaches its slot on the device. */
export function swap_writepage(s: KState, pfn: number): void {
  const head = folio_head(s, pfn);
  const nr = folio_nr_pages(s, head);
  for (let i = 0; i < nr; i++) swap_set_data(s, page_private(s, head + i), page_data(s, head + i));
  page_clear(s, head, PGF_DIRTY);
}

/**
 * swapoff() of the one swap area (mm/swapfile.c sys_swapoff -> try_to_unuse,
 * every era; read in 6.18): no new slot is handed out, every swap PTE of every
 * mm is faulted back in (unuse_mm), and the swap cache is emptied. Returns 0,
 * or -EINVAL when swap is already off. The kernel walks mms in init_mm.mmlist
 * order; the model walks tasks in their order, which only changes the order of
 * the LRU add batch (one page per read: vm.page-cluster 0). shmem_unuse() has
 * nothing to do: the model swaps out anon pages only.
 */
export function sys_swapoff(s: KState, ctx: KCtx): number {
  if (swap_is_off(s)) return -EINVAL;
  swap_set_off(s);
  trace(ctx, 'sys_swapoff', 'the swap area leaves the active list: try_to_unuse()');
  for (let t = 0; t < s.L.geo.tasks; t++) if (task_alive(s, t)) unuse_mm(s, ctx, t);
  // find_next_to_unuse(): swap cache folios no PTE names any more
  for (let slot = 1; slot < s.L.geo.swapSlots; slot++) {
    const pfn = swap_cache_pfn(s, slot);
    if (pfn !== 0) folio_free_swap(s, ctx, pfn);
  }
  return 0;
}

/** unuse_mm() -> unuse_vma(): the anon VMAs (those with an anon_vma), not hugetlb ones. */
function unuse_mm(s: KState, ctx: KCtx, t: number): void {
  const n = vma_count(s, t);
  for (let i = 0; i < n; i++) {
    if (!vma_anon_at(s, t, i) || (vma_flags_at(s, t, i) & VM_HUGETLB) !== 0) continue;
    for (let va = vma_start_at(s, t, i); va < vma_end_at(s, t, i); va++) {
      const pte = ptep_get(s, t, va);
      if (!is_swap_pte(pte)) continue;
      // unuse_pte_range(): the swap cache, or a read into it (swapin_readahead)
      const slot = pte_swp_slot(pte);
      const pfn = swap_cache_get_folio(s, ctx, slot, 'unuse_pte_range') || swapin_readahead(s, ctx, slot, 'unuse_pte_range');
      unuse_pte(s, ctx, t, va, pfn);
      folio_free_swap(s, ctx, pfn);
      folio_put(s, pfn);
    }
  }
}

/**
 * unuse_pte(): map the page with the VMA's vm_page_prot, read-only in a
 * private mapping ("let do_wp_page work it out": a write takes a fault);
 * RMAP_EXCLUSIVE when the swap PTE had the exclusive bit (5.19+, not for a
 * KSM page); the soft-dirty and uffd-wp bits of the swap PTE carried over
 * only from 6.0 (14a762dd1977, mech.swap.unuseKeepsBits): before, a
 * write-protected page came back without its uffd-wp bit.
 * ksm_might_need_to_copy(): a KSM page without a stable node is copied, and
 * the copy is mapped exclusive (folio_add_new_anon_rmap with RMAP_EXCLUSIVE).
 */
function unuse_pte(s: KState, ctx: KCtx, t: number, va: number, found: number): void {
  const orig = ptep_get(s, t, va);
  const mech = ctx.prof.mech;
  const pfn = ksm_might_need_to_copy(s, ctx, found, 'unuse_pte', false);
  const copied = pfn !== found;
  const ksm = page_test(s, pfn, PGF_KSM);
  const exclusive = copied || (mech.swap.swapinReuse === 'exclusive-bit' && !ksm && pte_swp_exclusive(orig));
  // the mapping's reference (a copy is born with it)
  if (!copied) page_ref_add(s, pfn, 1);
  if (!PageAnon(s, pfn)) folio_add_new_anon_rmap(s, ctx, pfn, exclusive);
  else folio_add_anon_rmap_pte(s, ctx, t, pfn, exclusive);
  let pte = mk_pte(pfn);
  const lost: string[] = [];
  if (pte_swp_soft_dirty(orig)) {
    if (mech.swap.unuseKeepsBits) pte = pte_mksoft_dirty(pte);
    else lost.push('soft-dirty');
  }
  if (pte_swp_uffd_wp(orig)) {
    if (mech.swap.unuseKeepsBits) pte = pte_mkuffd_wp(pte);
    else lost.push('uffd-wp');
  }
  set_pte_at(s, t, va, pte);
  swap_free(s, pte_swp_slot(orig));
  trace(
    ctx,
    'unuse_pte',
    `task ${t} page ${va}: page pfn#${pfn} mapped read-only${exclusive ? ', exclusive' : ''}${lost.length ? `; the swap PTE's ${lost.join(' and ')} bit lost` : ''}`,
  );
}
