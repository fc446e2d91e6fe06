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
import { PGF_SWAPCACHE, PGF_DIRTY } from '../../model/layout.js';
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
} from '../../model/mm_types.js';
import { folio_put_refs } from './swap.js';
import { ModelBug, type KCtx, trace } from '../ctx.js';

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
