/**
 * mm/swap.c: page references and the per-CPU LRU add batch.
 *
 * A freshly faulted folio is not put on the LRU at once: folio_add_lru()
 * takes a reference and parks it in a per-CPU folio batch, which is moved to
 * the LRU when it fills up or when someone calls lru_add_drain(). While
 * parked, the folio is !PageLRU and its refcount is one higher, which is what
 * the 5.9 page_count rule tripped over (see d4c470970d45). The model has one
 * CPU: the executor pins every scenario process to CPU 0.
 */
import type { KState } from '../../model/layout.js';
import { PGF_LRU, PGF_ALLOC, PGF_REFERENCED, PGF_ACTIVE, PGF_HUGETLB, PGF_RESTORE_RESERVE, ZERO_PFN } from '../../model/layout.js';
import {
  page_ref_add,
  page_ref_count,
  page_set,
  page_clear,
  page_test,
  fbatch_len,
  fbatch_at,
  fbatch_push,
  fbatch_take_all,
  folio_test_large,
  folio_head,
  hugetlb_pool_add,
  hugetlb_pool,
  folio_hstate,
} from '../../model/mm_types.js';
import { free_page } from './page_alloc.js';
import { type KCtx, ModelBug, trace } from '../ctx.js';

/** folio_get(). */
export function folio_get(s: KState, pfn: number): void {
  if (pfn === ZERO_PFN) return;
  page_ref_add(s, pfn, 1);
}

/** folio_put(): drops a reference and frees the page when it was the last. */
export function folio_put(s: KState, pfn: number): void {
  folio_put_refs(s, pfn, 1);
}

/** folio_put_refs(). */
export function folio_put_refs(s: KState, pfn: number, n: number): void {
  if (pfn === ZERO_PFN) return;
  if (!page_test(s, pfn, PGF_ALLOC)) throw new ModelBug(`put on free page pfn#${pfn}`);
  page_ref_add(s, pfn, -n);
  const c = page_ref_count(s, pfn);
  if (c < 0) throw new ModelBug(`refcount of page pfn#${pfn} went negative`);
  if (c === 0) {
    // __folio_put(): off the LRU, back to the allocator; a hugetlb folio back to its pool (free_huge_folio)
    page_clear(s, pfn, PGF_LRU);
    if (page_test(s, pfn, PGF_HUGETLB)) {
      // free_huge_folio(): to the buddy allocator while the pool has surplus pages, else to the free list
      const resv = page_test(s, pfn, PGF_RESTORE_RESERVE) ? 1 : 0;
      const h = folio_hstate(s, pfn);
      if (hugetlb_pool(s, h).surplus > 0) hugetlb_pool_add(s, { nr: -1, surplus: -1, resv }, h);
      else hugetlb_pool_add(s, { free: 1, resv }, h);
    }
    free_page(s, folio_head(s, pfn));
  }
}

/**
 * folio_add_lru(): park a new folio in the per-CPU batch with an extra
 * reference; move the batch to the LRU once it is full.
 */
export function folio_add_lru(s: KState, ctx: KCtx, pfn: number): void {
  const cap = Math.min(ctx.prof.mech.lru.batchSize, s.L.geo.lruBatch);
  folio_get(s, pfn);
  const n = fbatch_push(s, 'add', pfn);
  if (folio_test_large(s, pfn)) {
    // a large folio is never left in a batch (folio_may_be_lru_cached(); PageCompound() in older
    // kernels): the add batch is moved to the LRU at once, with the folios parked before it
    trace(ctx, 'folio_batch_move_lru', `large folio ${pfn}: the add batch (${n} folio(s)) moved to the LRU at once`);
    for (const p of fbatch_take_all(s, 'add')) {
      if (page_ref_count(s, p) > 1) page_set(s, p, PGF_LRU);
      folio_put(s, p);
    }
  } else if (n >= cap) lru_add_drain(s, ctx);
}

/**
 * lru_add_drain() -> lru_add_drain_cpu(): move this CPU's batches: the add
 * batch puts its folios on the LRU, the activate batch marks its (still
 * PG_lru) folios active; both drop their references.
 */
export function lru_add_drain(s: KState, ctx: KCtx): void {
  const n = fbatch_len(s, 'add');
  const a = fbatch_len(s, 'activate');
  if (n === 0 && a === 0) return;
  trace(ctx, 'lru_add_drain', `${n} folio(s) moved to the LRU${a ? `, ${a} activated` : ''}`);
  for (const pfn of fbatch_take_all(s, 'add')) {
    // a folio freed by everyone else while parked dies here, never reaching the LRU
    if (page_ref_count(s, pfn) > 1) page_set(s, pfn, PGF_LRU);
    folio_put(s, pfn);
  }
  for (const pfn of fbatch_take_all(s, 'activate')) {
    // lru_activate(), only for a folio still on the LRU (folio_test_clear_lru in folio_batch_move_lru)
    if (page_test(s, pfn, PGF_LRU)) page_set(s, pfn, PGF_ACTIVE);
    folio_put(s, pfn);
  }
}

/** Number of references this CPU's batches (add and activate) hold on a page. */
export function lru_batch_refs(s: KState, pfn: number): number {
  let c = 0;
  for (let i = 0, n = fbatch_len(s, 'add'); i < n; i++) if (fbatch_at(s, 'add', i) === pfn) c++;
  for (let i = 0, n = fbatch_len(s, 'activate'); i < n; i++) if (fbatch_at(s, 'activate', i) === pfn) c++;
  return c;
}

/**
 * folio_activate() (6.18 without MGLRU): queue an LRU folio for activation
 * in the per-CPU activate batch. The batch takes a reference and the folio
 * keeps PG_lru until the batch is processed, so a write fault's
 * wp_can_reuse_anon_folio() neither drains it nor sees a refcount of 1.
 */
export function folio_activate(s: KState, ctx: KCtx, pfn: number): void {
  if (page_test(s, pfn, PGF_ACTIVE) || !page_test(s, pfn, PGF_LRU)) return;
  const cap = Math.min(ctx.prof.mech.lru.batchSize, s.L.geo.lruBatch);
  folio_get(s, pfn);
  const n = fbatch_push(s, 'activate', pfn);
  trace(ctx, 'folio_activate', `page pfn#${pfn} queued for activation`);
  if (folio_test_large(s, pfn)) {
    // never cached: the activate batch is processed at once
    for (const p of fbatch_take_all(s, 'activate')) {
      if (page_test(s, p, PGF_LRU)) page_set(s, p, PGF_ACTIVE);
      folio_put(s, p);
    }
  } else if (n >= cap) lru_add_drain(s, ctx);
}

/**
 * folio_mark_accessed() (6.18 without MGLRU, as on the host): the first
 * access sets PG_referenced, the second activates the folio.
 */
export function folio_mark_accessed(s: KState, ctx: KCtx, pfn: number): void {
  if (pfn === ZERO_PFN) return;
  if (!page_test(s, pfn, PGF_REFERENCED)) {
    page_set(s, pfn, PGF_REFERENCED);
  } else if (!page_test(s, pfn, PGF_ACTIVE)) {
    if (page_test(s, pfn, PGF_LRU)) folio_activate(s, ctx, pfn);
    else page_set(s, pfn, PGF_ACTIVE); // __lru_cache_activate_folio(): still in the add batch
    page_clear(s, pfn, PGF_REFERENCED);
  }
}
