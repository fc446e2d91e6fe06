/**
 * mm/gup_test.c (PIN_LONGTERM_TEST_START / _READ / _STOP, 6.1+) and, more
 * generally, any driver holding GUP references: the way the kernel's cow.c
 * selftest takes R/O long-term pins, which this host cannot do (no
 * CONFIG_GUP_TEST) but the model can. A handle names the references one
 * call took; the device can read or write through them.
 */
import type { KState } from '../../model/layout.js';
import { REF_GUP_GET, REF_GUP_PIN, REFST_SHARED } from '../../model/layout.js';
import { page_data, page_set_data, va_shared } from '../../model/mm_types.js';
import { ref_add, refs_where, ref_get, ref_free } from '../../model/refs.js';
import { OpWrites } from '../../model/writes.js';
import { type KCtx, trace, ModelBug } from '../ctx.js';
import {
  __get_user_pages,
  get_user_pages_fast,
  gup_fast_resume,
  gup_put_folio,
  GUP_FAST_STOPPED,
  type GupResult,
  FOLL_PIN,
  FOLL_WRITE,
  follToString,
} from '../mm/gup.js';
import { EFAULT, EBUSY, EINVAL } from '../errno.js';

/** Take references on [va, va+n) with `foll` (slow path, or GUP-fast), under `handle`. */
export function gup_test_start(
  s: KState,
  ctx: KCtx,
  t: number,
  va: number,
  n: number,
  foll: number,
  fast: boolean,
  handle: number,
): number {
  if (refs_where(s, (r) => r.owner === t && r.handle === handle && (r.kind === REF_GUP_GET || r.kind === REF_GUP_PIN)).length)
    return -EBUSY;
  const r = fast ? get_user_pages_fast(ctx, s, t, va, n, foll) : __get_user_pages(ctx, s, t, va, n, foll);
  // GUP-fast stopped between its PTE read and the grab (`stop: gup-fast`): nothing taken yet
  if (r.err === GUP_FAST_STOPPED) return GUP_FAST_STOPPED;
  return gup_test_take(s, ctx, t, va, n, foll, fast, handle, r);
}

/** GUP-fast goes on from what it read (`resume` of a pin stopped with stop: gup-fast): 0 or an errno. */
export function gup_test_fast_resume(
  s: KState,
  ctx: KCtx,
  t: number,
  foll: number,
  read: { va: number; pte: number; pmd: number },
  handle: number,
): number {
  return gup_test_take(s, ctx, t, read.va, 1, foll, true, handle, gup_fast_resume(ctx, s, t, foll, read));
}

/** The pages GUP took become the handle's references (all of them, or none and an errno). */
function gup_test_take(
  s: KState,
  ctx: KCtx,
  t: number,
  va: number,
  n: number,
  foll: number,
  fast: boolean,
  handle: number,
  r: GupResult,
): number {
  if (r.pfns.length < n) {
    for (const pfn of r.pfns) gup_put_folio(ctx, s, pfn, foll);
    return r.err || -EFAULT;
  }
  const kind = foll & FOLL_PIN ? REF_GUP_PIN : REF_GUP_GET;
  let slot = 0;
  r.pfns.forEach((pfn, i) => {
    const state = va_shared(s, t, va + i) ? REFST_SHARED : 0;
    slot = ref_add(s, { kind, owner: t, vpage: va + i, pfn, foll, state, handle }, slot) + 1;
    if (slot === 0) throw new ModelBug('reference table full');
  });
  trace(ctx, 'gup_test', `handle ${handle}: ${n} page(s) taken ${follToString(foll)}${fast ? ' (fast)' : ''}`);
  return 0;
}

function handleRefs(s: KState, t: number, handle: number): number[] {
  return refs_where(s, (r) => r.owner === t && r.handle === handle && (r.kind === REF_GUP_GET || r.kind === REF_GUP_PIN));
}

/** The device reads through the references (PIN_LONGTERM_TEST_READ): the wids seen, per page. */
export function gup_test_read(s: KState, ctx: KCtx, t: number, handle: number): number[] | number {
  const refs = handleRefs(s, t, handle);
  if (!refs.length) return -EINVAL;
  return refs.map((ri) => {
    const r = ref_get(s, ri);
    const wid = page_data(s, r.pfn);
    ctx.reads.push({ via: 'pin', observer: t, reader: t, vpage: r.vpage, pfn: r.pfn, wid });
    return wid;
  });
}

/** The device writes through the references (only sensible for FOLL_WRITE references). */
export function gup_test_write(s: KState, ctx: KCtx, t: number, handle: number): number {
  const refs = handleRefs(s, t, handle);
  if (!refs.length) return -EINVAL;
  if (refs.some((ri) => (ref_get(s, ri).foll & FOLL_WRITE) === 0)) return -EINVAL;
  const wids = new OpWrites(s, t, ctx.step, ctx.freshWrites);
  for (const ri of refs) {
    const r = ref_get(s, ri);
    page_set_data(s, r.pfn, wids.forMapping((r.state & REFST_SHARED) !== 0));
  }
  trace(ctx, 'gup_test', `device wrote through handle ${handle}`);
  return 0;
}

/** Drop the references (PIN_LONGTERM_TEST_STOP / unpin_user_pages / put_page). */
export function gup_test_stop(s: KState, ctx: KCtx, t: number, handle: number): number {
  const refs = handleRefs(s, t, handle);
  if (!refs.length) return -EINVAL;
  for (const ri of refs) {
    const r = ref_get(s, ri);
    gup_put_folio(ctx, s, r.pfn, r.foll);
    ref_free(s, ri);
  }
  trace(ctx, 'gup_test', `handle ${handle} released`);
  return 0;
}
