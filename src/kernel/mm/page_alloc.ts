/**
 * mm/page_alloc.c: handing out and freeing frames.
 *
 * The model allocates the lowest free PFN, which keeps runs deterministic.
 * A page is freed when its last reference is dropped (free_unref_page via
 * folio_put), as in the kernel.
 */
import type { KState } from '../../model/layout.js';
import { PAGE_WORDS, PG_FLAGS, PG_REF, PG_GEN, PGF_ALLOC, ZERO_PFN, G_SEQ, G_PFN_HWM } from '../../model/layout.js';
import { ModelBug } from '../ctx.js';

/** Allocates a free page with refcount 1 and the given flags (alloc_pages + folio_ref). */
export function alloc_page(s: KState, flags: number): number {
  const m = s.m;
  const n = s.L.geo.frames;
  for (let pfn = ZERO_PFN + 1; pfn < n; pfn++) {
    const o = s.L.memmap + pfn * PAGE_WORDS;
    if ((m[o + PG_FLAGS]! & PGF_ALLOC) === 0) {
      m.fill(0, o, o + PAGE_WORDS);
      m[o + PG_FLAGS] = PGF_ALLOC | flags;
      m[o + PG_REF] = 1;
      m[o + PG_GEN] = ++m[G_SEQ]!;
      if (pfn > m[G_PFN_HWM]!) m[G_PFN_HWM] = pfn;
      return pfn;
    }
  }
  throw new ModelBug(`out of page frames (geometry has ${n}): the scenario's geometry is too small`);
}

/** Returns a page whose refcount dropped to zero to the allocator (free_unref_page). */
export function free_page(s: KState, pfn: number): void {
  const o = s.L.memmap + pfn * PAGE_WORDS;
  s.m.fill(0, o, o + PAGE_WORDS);
}
