/**
 * mm/vmscan.c shrink_folio_list() for one isolated anon folio, as
 * MADV_PAGEOUT drives it (reclaim_pages -> reclaim_folio_list), 6.18
 * (docs/kernel/vm-ops.md 3.4).
 */
import type { KState } from '../../model/layout.js';
import { PGF_SWAPCACHE, PGF_LOCKED, PGF_DIRTY, PGF_LRU } from '../../model/layout.js';
import {
  page_test,
  page_set,
  page_clear,
  page_ref_count,
  page_data,
  page_private,
  folio_test_large,
  folio_mapped,
  folio_head,
  folio_nr_pages,
  folio_order,
  folio_entire_mapcount,
} from '../../model/mm_types.js';
import { PGF_PARTIALLY_MAPPED } from '../../model/layout.js';
import { type KCtx, trace } from '../ctx.js';
import { folio_get, folio_put } from './swap.js';
import { folio_maybe_dma_pinned, try_to_unmap } from './rmap.js';
import { split_folio, split_folio_pmds, folio_expected_ref_count } from './huge_memory.js';
import {
  get_swap_slot,
  get_swap_slots,
  add_to_swap_cache,
  delete_from_swap_cache,
  swap_writepage,
  folio_swapped,
  folio_free_swap,
} from './swapfile.js';

/** folio_isolate_lru(): off the LRU, one reference for the isolating caller. */
export function folio_isolate_lru(s: KState, pfn: number): boolean {
  if (!page_test(s, pfn, PGF_LRU)) return false;
  page_clear(s, pfn, PGF_LRU);
  folio_get(s, pfn);
  return true;
}

/** folio_putback_lru(): back on the LRU, dropping the isolation reference. */
function folio_putback_lru(s: KState, pfn: number): void {
  page_set(s, pfn, PGF_LRU);
  folio_put(s, pfn);
}

/**
 * Why shrink_folio_list() splits a large folio before add_to_swap(), or ''
 * when the folio goes to swap whole (mech.swap.largeSwapout). Large swap
 * entries exist only on a block device (SWP_BLKDEV with clusters: the
 * guests' brd); folio_alloc_swap() fails for order > 0 on a swapfile, and
 * the kernel splits and retries, which ends as a split here.
 */
function swapout_split_reason(s: KState, ctx: KCtx, pfn: number): string {
  const mode = ctx.prof.mech.swap.largeSwapout;
  if (ctx.env.swap !== 'sync-io') return 'the swapfile takes no large swap entries';
  if (mode === 'split') return 'no THP_SWAP in this era';
  if (mode === 'pmd-mapped') {
    if (folio_order(s, pfn) !== s.L.geo.pmdOrder) return 'only PMD-sized folios go to swap whole (THP_SWAP)';
    if (folio_entire_mapcount(s, pfn) === 0) return 'no PMD maps it (a PTE-mapped THP is split right away)';
    return '';
  }
  return page_test(s, pfn, PGF_PARTIALLY_MAPPED) ? 'partially mapped: its unmapped pages are freed without I/O' : '';
}

/** is_folio_zero_filled(): every page of the folio is still all zeroes. */
function folio_zero_filled(s: KState, pfn: number): boolean {
  const head = folio_head(s, pfn);
  for (let i = 0; i < folio_nr_pages(s, head); i++) if (page_data(s, head + i) !== 0) return false;
  return true;
}

/**
 * reclaim_pages() -> shrink_folio_list(): every isolated folio of `list` in
 * order, including the pages a split of a large folio appends to it.
 */
export function reclaim_pages(s: KState, ctx: KCtx, list: number[]): void {
  for (let i = 0; i < list.length; i++) shrink_folio(s, ctx, list[i]!, list);
}

/**
 * shrink_folio_list() for one isolated anon folio. Returns true if the folio
 * was freed.
 */
export function shrink_folio(s: KState, ctx: KCtx, pfn: number, list: number[] = []): boolean {
  const mech = ctx.prof.mech;
  const keep = (why: string): boolean => {
    trace(ctx, 'shrink_folio_list', `page pfn#${pfn}: ${why}`);
    folio_putback_lru(s, pfn);
    return false;
  };
  if (page_test(s, pfn, PGF_LOCKED)) return keep('folio_trylock failed: kept');
  if (!page_test(s, pfn, PGF_SWAPCACHE)) {
    // feb889fb40fa (5.11): do not put pinned pages into the swap cache
    if (mech.swap.swapoutPinned !== 'allow' && folio_maybe_dma_pinned(s, ctx, pfn))
      return keep('maybe DMA pinned: not added to the swap cache');
    if (folio_test_large(s, pfn)) {
      // can_split_folio(): a large folio held by more than its mappings is not reclaimed,
      // whether or not it would be split
      if (page_ref_count(s, pfn) - 1 !== folio_expected_ref_count(s, pfn))
        return keep('cannot split the large folio (extra references): activated');
      const why = swapout_split_reason(s, ctx, pfn);
      if (why) {
        trace(ctx, 'shrink_folio_list', `folio ${pfn} is split before swap-out: ${why}`);
        if (split_folio(s, ctx, pfn, 1, list)) return keep('split failed: activated');
      }
    }
    let slot = get_swap_slots(s, folio_nr_pages(s, pfn));
    if (slot === 0 && folio_test_large(s, pfn)) {
      // add_to_swap() failed for the large folio: split, and swap out its pages one by one
      trace(ctx, 'shrink_folio_list', `no ${folio_nr_pages(s, pfn)} aligned free swap slots: folio ${pfn} is split`);
      if (split_folio(s, ctx, pfn, 1, list)) return keep('split failed: activated');
      slot = get_swap_slot(s);
    }
    if (slot === 0) return keep('no swap slot: activated, stays mapped');
    add_to_swap_cache(s, pfn, slot);
    page_set(s, pfn, PGF_DIRTY);
    const nr = folio_nr_pages(s, pfn);
    trace(
      ctx,
      'folio_alloc_swap',
      nr > 1
        ? `folio ${pfn} of ${nr} pages added to the swap cache at slots ${slot}..${slot + nr - 1}`
        : `page pfn#${pfn} added to the swap cache at slot ${slot}`,
    );
  }
  if (folio_mapped(s, pfn)) {
    // TTU_SPLIT_HUGE_PMD: a PMD-mapped folio going whole is unmapped through PTEs
    if (folio_test_large(s, pfn)) split_folio_pmds(s, ctx, pfn);
    if (!try_to_unmap(s, ctx, pfn)) return keep('still mapped: kept in the swap cache');
  }
  if (mech.swap.swapoutPinned !== 'allow' && folio_maybe_dma_pinned(s, ctx, pfn))
    return keep('maybe DMA pinned after unmap: kept in the swap cache');
  if (page_test(s, pfn, PGF_DIRTY)) {
    // pageout(): is_page_cache_freeable() wants only the isolation and swap cache references
    const want = 1 + folio_nr_pages(s, pfn);
    if (page_ref_count(s, pfn) !== want) return keep(`refcount ${page_ref_count(s, pfn)} != ${want}: not written, kept in the swap cache`);
    if (!folio_swapped(s, pfn)) {
      // swap_writeout(): nobody needs the slot any more
      folio_free_swap(s, ctx, pfn);
    } else if (folio_zero_filled(s, pfn)) {
      // a zero-filled folio is recorded in the swap zeromap, no I/O (the same content as a write of it)
      swap_writepage(s, pfn);
      trace(ctx, 'swap_writeout', `page pfn#${pfn} is zero-filled: zeromap, no I/O`);
    } else {
      swap_writepage(s, pfn);
      if (ctx.env.swap !== 'sync-io') {
        trace(
          ctx,
          'swap_writeout',
          `page pfn#${pfn} written to slot ${page_private(s, pfn)} asynchronously: stays in the swap cache under writeback`,
        );
        return keep('under writeback');
      }
      trace(ctx, 'swap_writeout', `page pfn#${pfn} written synchronously`);
    }
  }
  // __remove_mapping(): freeze the refcount at isolation + swap cache
  if (page_test(s, pfn, PGF_SWAPCACHE)) {
    if (page_ref_count(s, pfn) !== 1 + folio_nr_pages(s, pfn)) return keep('extra reference: kept in the swap cache');
    delete_from_swap_cache(s, pfn);
  }
  trace(ctx, 'shrink_folio_list', `page pfn#${pfn} reclaimed`);
  folio_put(s, pfn);
  return true;
}
