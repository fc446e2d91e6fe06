/**
 * mm/swap_state.c: finding a swapped-out folio in the swap cache, and
 * reading it into the swap cache (swapin_readahead with vm.page-cluster = 0,
 * as the executor sets it: one page).
 */
import type { KState } from '../../model/layout.js';
import { PGF_SWAPBACKED } from '../../model/layout.js';
import { swap_cache_pfn, swap_data, page_set_data } from '../../model/mm_types.js';
import { type KCtx, trace } from '../ctx.js';
import { alloc_page } from './page_alloc.js';
import { folio_get, folio_add_lru } from './swap.js';
import { add_to_swap_cache } from './swapfile.js';

/** swap_cache_get_folio(): the folio in the swap cache for `slot`, with a reference, or 0. */
export function swap_cache_get_folio(s: KState, ctx: KCtx, slot: number, caller = 'do_swap_page'): number {
  const pfn = swap_cache_pfn(s, slot);
  if (pfn === 0) return 0;
  folio_get(s, pfn);
  trace(ctx, caller, `swap cache hit: page pfn#${pfn}`);
  return pfn;
}

/**
 * swapin_readahead() -> __read_swap_cache_async() + swap_read_folio(): a new
 * folio in the swap cache, read from the device, on the LRU add batch.
 * `caller` names the path in the trace (do_swap_page, unuse_pte_range).
 */
export function swapin_readahead(s: KState, ctx: KCtx, slot: number, caller = 'do_swap_page'): number {
  const pfn = alloc_page(s, PGF_SWAPBACKED);
  add_to_swap_cache(s, pfn, slot);
  page_set_data(s, pfn, swap_data(s, slot));
  folio_add_lru(s, ctx, pfn);
  trace(ctx, caller, `slot ${slot} read from the swap device into page pfn#${pfn} (swap cache)`);
  return pfn;
}
