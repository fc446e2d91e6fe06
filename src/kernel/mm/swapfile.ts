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
} from '../../model/mm_types.js';
import { folio_get, folio_put } from './swap.js';
import { ModelBug, type KCtx, trace } from '../ctx.js';

/** folio_alloc_swap(): the lowest free swap slot, or 0 when the device is full. */
export function get_swap_slot(s: KState): number {
  for (let i = 1; i < s.L.geo.swapSlots; i++) {
    if (!swap_used(s, i)) {
      swap_set_used(s, i, true);
      swap_set_data(s, i, -1);
      return i;
    }
  }
  return 0;
}

/** Frees a slot nobody references any more (swap_entries_free / swap_range_free). */
function swap_slot_free(s: KState, slot: number): void {
  swap_set_used(s, slot, false);
  swap_set_data(s, slot, -1);
  swap_set_cache(s, slot, 0);
}

/** add_to_swap_cache(): the swap cache takes a reference on the folio. */
export function add_to_swap_cache(s: KState, pfn: number, slot: number): void {
  folio_get(s, pfn);
  page_set(s, pfn, PGF_SWAPCACHE);
  page_set_private(s, pfn, slot);
  swap_set_cache(s, slot, pfn);
}

/** swap_cache_del_folio() / delete_from_swap_cache(): drop the swap cache and its reference. */
export function delete_from_swap_cache(s: KState, pfn: number): void {
  const slot = page_private(s, pfn);
  page_clear(s, pfn, PGF_SWAPCACHE);
  page_set_private(s, pfn, 0);
  swap_set_cache(s, slot, 0);
  if (swap_count(s, slot) === 0) swap_slot_free(s, slot);
  folio_put(s, pfn);
}

/** folio_swapped(): some swap PTE still names the folio's slot. */
export function folio_swapped(s: KState, pfn: number): boolean {
  return swap_count(s, page_private(s, pfn)) > 0;
}

/**
 * folio_free_swap(): give up the swap cache of a folio whose slot no swap
 * PTE names any more; the folio becomes the only copy, hence dirty.
 * Writeback is synchronous in the model once the pageout step returns.
 */
export function folio_free_swap(s: KState, ctx: KCtx, pfn: number): boolean {
  if (!page_test(s, pfn, PGF_SWAPCACHE)) return false;
  if (folio_swapped(s, pfn)) return false;
  trace(ctx, 'folio_free_swap', `page ${pfn} leaves the swap cache`);
  delete_from_swap_cache(s, pfn);
  page_set(s, pfn, PGF_DIRTY);
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
 * reclaim the swap cache too (__try_to_reclaim_swap with TTRS_UNMAPPED).
 */
export function free_swap_and_cache(s: KState, ctx: KCtx, slot: number, mapcountOf: (pfn: number) => number): void {
  swap_count_add(s, slot, -1);
  if (swap_count(s, slot) > 0) return;
  const pfn = swap_cache_pfn(s, slot);
  if (pfn === 0) {
    swap_slot_free(s, slot);
    return;
  }
  if (mapcountOf(pfn) === 0) {
    trace(ctx, 'free_swap_and_cache', `last swap user gone: page ${pfn} leaves the swap cache`);
    delete_from_swap_cache(s, pfn);
  }
}

/** swap_writepage(): the content reaches the slot on the device. */
export function swap_writepage(s: KState, pfn: number): void {
  swap_set_data(s, page_private(s, pfn), page_data(s, pfn));
  page_clear(s, pfn, PGF_DIRTY);
}
