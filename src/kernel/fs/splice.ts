/**
 * fs/splice.c vmsplice() to a pipe. The user pages are taken with
 * get_user_pages_fast() without FOLL_WRITE, i.e. plain FOLL_GET references:
 * no pin, no unsharing. The executor passes SPLICE_F_NONBLOCK, so a full
 * pipe gives -EAGAIN.
 */
import type { KState } from '../../model/layout.js';
import { pipe_open, pipe_holders, pipe_nbuf, pipe_push } from '../../model/mm_types.js';
import { type KCtx, trace } from '../ctx.js';
import { get_user_pages_fast, gup_put_folio, FOLL_GET } from '../mm/gup.js';
import { EBADF, EAGAIN } from '../errno.js';

/** The page array iter_to_pipe() fills per iov_iter_get_pages2() call. */
const ITER_BATCH = 16;

/** vmsplice() of pages [start, start+n) of task t into pipe p: pages queued, or a negative errno. */
export function vmsplice_to_pipe(s: KState, ctx: KCtx, t: number, p: number, start: number, n: number): number {
  if (!pipe_open(s, p) || (pipe_holders(s, p) & (1 << t)) === 0) return -EBADF;
  const r = ctx.prof.mech.gup.vmspliceIter ? iter_to_pipe(s, ctx, t, p, start, n) : get_iovec_page_array(s, ctx, t, p, start, n);
  if (r > 0) trace(ctx, 'vmsplice_to_pipe', `${r} page(s) referenced by pipe ${p} (FOLL_GET)`);
  return r;
}

/**
 * Pushes the GUP'd pages into the pipe in order; once one does not fit,
 * add_to_pipe() drops it and the caller puts the rest. Pages queued, and
 * whether every page fitted.
 */
function add_batch(s: KState, ctx: KCtx, t: number, p: number, vstart: number, pfns: readonly number[]): { queued: number; all: boolean } {
  let queued = 0;
  for (const pfn of pfns) {
    if (!pipe_push(s, p, { pfn, taker: t, vpage: vstart + queued })) {
      for (const rest of pfns.slice(queued)) gup_put_folio(ctx, s, rest, FOLL_GET);
      return { queued, all: false };
    }
    queued++;
  }
  return { queued, all: true };
}

/**
 * iter_to_pipe() (4.10+): wait_for_space() refuses a full pipe first; then
 * batches of up to 16 pages, each taken whole by GUP-fast (faulting them in)
 * and added while the pipe has room, until a batch does not fit or the
 * range ends. The pages of the batch that did not fit are put again.
 */
function iter_to_pipe(s: KState, ctx: KCtx, t: number, p: number, start: number, n: number): number {
  if (pipe_nbuf(s, p) >= s.L.geo.pipeBufs) return -EAGAIN;
  let total = 0;
  while (total < n) {
    const want = Math.min(ITER_BATCH, n - total);
    const r = get_user_pages_fast(ctx, s, t, start + total, want, FOLL_GET);
    if (r.pfns.length === 0) return total > 0 ? total : r.err;
    const b = add_batch(s, ctx, t, p, start + total, r.pfns);
    total += b.queued;
    if (!b.all) {
      trace(ctx, 'iter_to_pipe', `pipe ${p} full: ${r.pfns.length - b.queued} page(s) of the last batch put again`);
      break;
    }
  }
  return total;
}

/**
 * get_iovec_page_array() + splice_to_pipe() (<= 4.9): one GUP of up to
 * pipe->buffers pages, whatever room the pipe has; splice_to_pipe() adds
 * what fits (-EAGAIN if nothing did) and releases the rest.
 */
function get_iovec_page_array(s: KState, ctx: KCtx, t: number, p: number, start: number, n: number): number {
  const r = get_user_pages_fast(ctx, s, t, start, Math.min(n, s.L.geo.pipeBufs), FOLL_GET);
  if (r.pfns.length === 0) return r.err;
  const b = add_batch(s, ctx, t, p, start, r.pfns);
  return b.queued > 0 ? b.queued : -EAGAIN;
}
