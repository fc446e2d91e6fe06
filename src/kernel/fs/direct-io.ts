/**
 * fs/iomap/direct-io.c + block/bio.c: O_DIRECT reads and writes.
 *
 * Since 6.3 (920756a3306a) the block layer takes user pages with
 * iov_iter_extract_pages() -> pin_user_pages_fast(): FOLL_PIN, plus
 * FOLL_WRITE when the device writes memory (a read). Before, plain
 * references (FOLL_GET). A write is therefore a R/O pin, which unshares
 * COW-shared anon pages (gup_must_unshare). The pages are released at bio
 * completion. A whole operation is one step; `_start`/`_complete` split it
 * so scenarios can act while the DMA is in flight (model only).
 */
import type { KState } from '../../model/layout.js';
import { REF_ODIRECT, REFST_DMA_TO_MEMORY, PGF_DIRTY } from '../../model/layout.js';
import { page_data, page_set_data, page_set, va_shared } from '../../model/mm_types.js';
import { ref_add, refs_where, ref_get, ref_free } from '../../model/refs.js';
import { new_shared_write, new_patch_write, PAGE_BYTES } from '../../model/writes.js';
import { type KCtx, trace, ModelBug } from '../ctx.js';
import {
  get_user_pages_fast,
  __get_user_pages,
  gup_put_folio,
  FOLL_PIN,
  FOLL_GET,
  FOLL_WRITE,
  FOLL_TOUCH,
  FOLL_UNLOCKABLE,
  type GupResult,
} from '../mm/gup.js';
import { file_read_page, file_write_page } from '../mm/filemap.js';
import { EINVAL, EFAULT } from '../errno.js';

function dioFoll(ctx: KCtx, read: boolean): number {
  return (ctx.prof.mech.gup.odirectPins ? FOLL_PIN : FOLL_GET) | (read ? FOLL_WRITE : 0);
}

/** bio_iov_iter_get_pages(): take the user pages; returns the number of pages or an errno. */
export function dio_start(
  s: KState,
  ctx: KCtx,
  t: number,
  read: boolean,
  file: number,
  index: number,
  va: number,
  n: number,
  handle: number,
): number {
  const foll = dioFoll(ctx, read);
  return dio_take(s, ctx, t, read, file, index, va, handle, foll, get_user_pages_fast(ctx, s, t, va, n, foll));
}

/** A transfer whose buffer starts `d` bytes (a multiple of 512) into its first page: `n` file pages from file page `index`. */
export interface DioShift {
  d: number;
  index: number;
  n: number;
}

/** The pages GUP took become the bio's (references the completion drops); their number, or GUP's errno. */
function dio_take(
  s: KState,
  ctx: KCtx,
  t: number,
  read: boolean,
  file: number,
  index: number,
  va: number,
  handle: number,
  foll: number,
  r: GupResult,
): number {
  if (r.pfns.length === 0) return r.err || -EFAULT;
  let slot = 0;
  r.pfns.forEach((pfn, i) => {
    const state = read ? REFST_DMA_TO_MEMORY : 0;
    slot = ref_add(s, { kind: REF_ODIRECT, owner: t, vpage: va + i, pfn, foll, state, handle, file, index: index + i }, slot) + 1;
    if (slot === 0) throw new ModelBug('reference table full');
  });
  trace(
    ctx,
    'bio_iov_iter_get_pages',
    `${r.pfns.length} page(s) taken ${ctx.prof.mech.gup.odirectPins ? 'FOLL_PIN' : 'FOLL_GET'}${read ? '|FOLL_WRITE' : ''}`,
  );
  return r.pfns.length;
}

/**
 * The device transfers and the bio completes (iomap_dio_bio_end_io -> bio_release_pages).
 * `shift`: the buffer starts inside its first page, so each of its pages holds the tail of one
 * file page and the head of the next (bio_add_page() of each page's part).
 */
export function dio_complete(s: KState, ctx: KCtx, t: number, handle: number, shift?: DioShift): number {
  const refs = refs_where(s, (r) => r.kind === REF_ODIRECT && r.owner === t && r.handle === handle);
  let n = 0;
  for (const ri of refs) {
    const r = ref_get(s, ri);
    const file = r.file!;
    const index = r.index!;
    // (the bio's page i is the reference of file page index + i)
    if (shift) dio_copy_shifted(s, ctx, t, (r.state & REFST_DMA_TO_MEMORY) !== 0, file, r.vpage, r.pfn, index - shift.index, shift);
    else if (r.state & REFST_DMA_TO_MEMORY) {
      const wid = file_read_page(s, file, index);
      if (wid >= 0) page_set_data(s, r.pfn, wid);
      page_set(s, r.pfn, PGF_DIRTY);
    } else {
      const wid = page_data(s, r.pfn);
      ctx.reads.push({ via: 'odirect', observer: t, reader: t, vpage: r.vpage, pfn: r.pfn, wid });
      file_write_page(s, file, index, new_shared_write(s, t, ctx.step, wid));
    }
    gup_put_folio(ctx, s, r.pfn, r.foll);
    ref_free(s, ri);
    n++;
  }
  trace(ctx, 'iomap_dio_bio_end_io', `${n} page(s) transferred and released`);
  return n;
}

/**
 * The bytes of memory page i of a shifted transfer: [0, d) is the tail of file page
 * index + i - 1, [d, 4096) the head of file page index + i (where those are in the transfer).
 */
function dio_copy_shifted(
  s: KState,
  ctx: KCtx,
  t: number,
  read: boolean,
  file: number,
  vpage: number,
  pfn: number,
  i: number,
  sh: DioShift,
): void {
  const segs = [
    { fp: sh.index + i - 1, lo: 0, hi: sh.d, delta: sh.d - PAGE_BYTES },
    { fp: sh.index + i, lo: sh.d, hi: PAGE_BYTES, delta: sh.d },
  ].filter((g) => g.fp >= sh.index && g.fp < sh.index + sh.n);
  if (read) {
    for (const g of segs) {
      const from = Math.max(0, file_read_page(s, file, g.fp));
      page_set_data(s, pfn, new_patch_write(s, t, ctx.step, page_data(s, pfn), g.lo, g.hi - g.lo, va_shared(s, t, vpage), from, g.delta));
    }
    page_set(s, pfn, PGF_DIRTY);
    return;
  }
  const wid = page_data(s, pfn);
  ctx.reads.push({ via: 'odirect', observer: t, reader: t, vpage, pfn, wid });
  // the file page's bytes [lo - delta, hi - delta) come from this page's [lo, hi)
  for (const g of segs) {
    const old = Math.max(0, file_read_page(s, file, g.fp));
    file_write_page(s, file, g.fp, new_patch_write(s, t, ctx.step, old, g.lo - g.delta, g.hi - g.lo, true, wid, -g.delta));
  }
}

/**
 * A complete O_DIRECT pread (read=true) or pwrite of n pages. When only
 * some pages can be taken, the bios for those are submitted and complete,
 * and the call fails with -EFAULT (iomap_dio_bio_iter() gets no pages for the
 * rest). `tried`: a one-page transfer whose GUP fault waited in
 * handle_userfault() (GUP_HELD) goes on once woken: __get_user_pages_locked()
 * retries the page on its slow path with FOLL_TRIED, then the bio runs.
 */
export function dio_rw(
  s: KState,
  ctx: KCtx,
  t: number,
  read: boolean,
  file: number,
  index: number,
  va: number,
  n: number,
  tried = false,
  /** the buffer starts this many bytes (a multiple of 512) into page va: n file pages reach n + 1 pages */
  d = 0,
): number {
  if (n <= 0) return -EINVAL;
  const handle = -1; // not visible to the scenario
  const foll = dioFoll(ctx, read);
  if (d) {
    const got = dio_start(s, ctx, t, read, file, index, va, n + 1, handle);
    if (got < 0) return got;
    dio_complete(s, ctx, t, handle, { d, index, n });
    return got < n + 1 ? -EFAULT : n;
  }
  const got = tried
    ? dio_take(
        s,
        ctx,
        t,
        read,
        file,
        index,
        va,
        handle,
        foll,
        __get_user_pages(ctx, s, t, va, n, foll | FOLL_TOUCH | FOLL_UNLOCKABLE, true),
      )
    : dio_start(s, ctx, t, read, file, index, va, n, handle);
  if (got < 0) return got;
  dio_complete(s, ctx, t, handle);
  return got < n ? -EFAULT : got;
}
