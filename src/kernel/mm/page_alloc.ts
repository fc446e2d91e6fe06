/**
 * mm/page_alloc.c: handing out and freeing frames.
 *
 * The model allocates the lowest free PFN, which keeps runs deterministic.
 * A page is freed when its last reference is dropped (free_unref_page via
 * folio_put), as in the kernel.
 */
import type { KState } from '../../model/layout.js';
import { frame_take, frame_release } from '../../model/mm_types.js';
import { ModelBug } from '../ctx.js';

/** Allocates a free page with refcount 1 and the given flags (alloc_pages + folio_ref). */
export function alloc_page(s: KState, flags: number): number {
  const pfn = frame_take(s, flags);
  if (pfn === 0) throw new ModelBug(`out of page frames (geometry has ${s.L.geo.frames}): the scenario's geometry is too small`);
  return pfn;
}

/** Returns a page whose refcount dropped to zero to the allocator (free_unref_page). */
export function free_page(s: KState, pfn: number): void {
  frame_release(s, pfn);
}

/**
 * Allocates a large folio of `order` (naturally aligned frames), refcount 1
 * on its head; 0 when no aligned run of free frames is left, where the
 * kernel's callers fall back to smaller folios.
 */
export function folio_alloc_large(s: KState, flags: number, order: number): number {
  return frame_take(s, flags, order);
}
