/**
 * Injected transient references (the January 2021 thread's argument
 * against page_count): a speculative page-cache lookup
 * (get_page_unless_zero on a recycled page), the LRU-batch reference of a
 * freshly faulted page on another CPU, a swap-cache entry left behind, or a
 * page lock held elsewhere so that trylock fails. `release: true` drops
 * what an earlier step took. Model only.
 */
import { z } from 'zod';
import { defineOp, ok } from './types.js';
import { region } from './args.js';
import type { KState } from '../model/layout.js';
import { REF_TRANSIENT, REFST_LRU_BATCH, PGF_LRU, PGF_LOCKED, PGF_SWAPCACHE, PGF_ANON } from '../model/layout.js';
import { pte_lookup, page_test, page_set, page_clear, page_ref_count, folio_test_large } from '../model/mm_types.js';
import { pte_present, pte_pfn } from '../model/pte.js';
import { ref_add, refs_where, ref_free } from '../model/refs.js';
import { type KCtx, trace } from '../kernel/ctx.js';
import { folio_get, folio_put } from '../kernel/mm/swap.js';
import { get_swap_slot, add_to_swap_cache, folio_free_swap } from '../kernel/mm/swapfile.js';
import { EINVAL, EBUSY, EFAULT } from '../kernel/errno.js';
import { hasTransient, mapped, mappedHas, perPage } from './explore.js';

const KINDS = ['speculative', 'lru-batch', 'swapcache', 'page-lock'] as const;
export type TransientKind = (typeof KINDS)[number];

function transient(s: KState, ctx: KCtx, t: number, va: number, kind: TransientKind, hold: boolean): number {
  const pte = pte_lookup(s, t, va);
  if (!pte_present(pte)) return -EFAULT;
  const pfn = pte_pfn(pte);
  if (pfn <= 1) return -EFAULT;
  switch (kind) {
    case 'speculative': {
      if (hold) {
        folio_get(s, pfn);
        ref_add(s, { kind: REF_TRANSIENT, owner: t, vpage: va, pfn, foll: 0, state: 0, handle: 0 });
        trace(ctx, 'get_page_unless_zero', `speculative reference on page ${pfn}`);
        return 0;
      }
      const r = refs_where(s, (x) => x.kind === REF_TRANSIENT && x.pfn === pfn && (x.state & REFST_LRU_BATCH) === 0);
      if (!r.length) return -EINVAL;
      ref_free(s, r[0]!);
      folio_put(s, pfn);
      return 0;
    }
    case 'lru-batch': {
      // a batch reference on another CPU: the local lru_add_drain() cannot drop it
      // (a large folio never waits in a batch: folio_may_be_lru_cached())
      if (hold && folio_test_large(s, pfn)) return -EINVAL;
      if (hold) {
        if (!page_test(s, pfn, PGF_LRU)) return -EBUSY;
        page_clear(s, pfn, PGF_LRU);
        folio_get(s, pfn);
        ref_add(s, { kind: REF_TRANSIENT, owner: t, vpage: va, pfn, foll: 0, state: REFST_LRU_BATCH, handle: 0 });
        trace(ctx, 'folio_add_lru', `page ${pfn} parked in another CPU's LRU batch`);
        return 0;
      }
      const r = refs_where(s, (x) => x.kind === REF_TRANSIENT && x.pfn === pfn && (x.state & REFST_LRU_BATCH) !== 0);
      if (!r.length) return -EINVAL;
      ref_free(s, r[0]!);
      if (page_ref_count(s, pfn) > 1) page_set(s, pfn, PGF_LRU);
      folio_put(s, pfn);
      return 0;
    }
    case 'swapcache': {
      // a large folio enters the swap cache whole, and only on devices with large swap entries (not modelled)
      if (!page_test(s, pfn, PGF_ANON) || folio_test_large(s, pfn)) return -EINVAL;
      if (hold) {
        if (page_test(s, pfn, PGF_SWAPCACHE)) return -EBUSY;
        const slot = get_swap_slot(s);
        if (!slot) return -EBUSY;
        add_to_swap_cache(s, pfn, slot);
        trace(ctx, 'add_to_swap_cache', `page ${pfn} left in the swap cache (slot ${slot})`);
        return 0;
      }
      return folio_free_swap(s, ctx, pfn) ? 0 : -EBUSY;
    }
    case 'page-lock':
      if (hold) {
        if (page_test(s, pfn, PGF_LOCKED)) return -EBUSY;
        page_set(s, pfn, PGF_LOCKED);
        return 0;
      }
      page_clear(s, pfn, PGF_LOCKED);
      return 0;
  }
}

/** The explorer family injecting (and releasing) one kind of transient reference on a mapped page. */
const family = (kind: TransientKind, i: number) =>
  perPage(`transient-${kind}`, 130 + 10 * i, `inject or release a ${kind} transient reference on one mapped page`, (t, pg) => {
    const held = (s: KState): boolean =>
      kind === 'speculative' || kind === 'lru-batch'
        ? hasTransient(s, t, pg.va, kind === 'lru-batch')
        : mappedHas(s, t, pg.va, kind === 'page-lock' ? PGF_LOCKED : PGF_SWAPCACHE);
    return [
      { t, args: () => ({ transient: pg.ref, kind }), enabled: (s) => mapped(s, t, pg.va) && !held(s) },
      { t, args: () => ({ transient: pg.ref, kind, release: true }), enabled: (s) => mapped(s, t, pg.va) && held(s) },
    ];
  });

export const transientRef = defineOp({
  name: 'transient',
  doc: 'inject (or release) a transient reference on the mapped page: speculative, lru-batch, swapcache, page-lock (model only)',
  primary: 'at',
  args: { at: region, kind: z.enum(KINDS), release: z.boolean().default(false) },
  requires: ['model-only'],
  resolve: (a, cx) => ({ start: cx.range(a.at).start, kind: a.kind, hold: !a.release }),
  print: (m, cx) => ({ transient: cx.range({ start: m.start, pages: 1 }), kind: m.kind, ...(m.hold ? {} : { release: true }) }),
  refs: (m) => (m.hold ? 1 : 0),
  apply: (s, ctx, t, m) => ok(transient(s, ctx, t, m.start, m.kind, m.hold)),
  exec: { modelOnly: 'injects a transient reference (model only)' },
  fuzz: {
    host: false,
    onRegion: true,
    gen: (c, x) => ({ transient: x.at, kind: x.pick(KINDS, c.c), release: c.b % 2 === 1 }),
  },
  explore: KINDS.map(family),
});
