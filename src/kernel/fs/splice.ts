/**
 * fs/splice.c vmsplice() to a pipe (6.18): iter_to_pipe() takes the user
 * pages with iov_iter_get_pages2() -> get_user_pages_fast() without
 * FOLL_WRITE, i.e. plain FOLL_GET references: no pin, no unsharing. The
 * executor passes SPLICE_F_NONBLOCK, so a full pipe gives -EAGAIN.
 */
import type { KState } from '../../model/layout.js';
import { pipe_open, pipe_holders, pipe_nbuf, pipe_push } from '../../model/mm_types.js';
import { type KCtx, trace } from '../ctx.js';
import { get_user_pages_fast, gup_put_folio, FOLL_GET } from '../mm/gup.js';
import { EBADF, EAGAIN } from '../errno.js';

/** vmsplice() of pages [start, start+n) of task t into pipe p: pages queued, or a negative errno. */
export function vmsplice_to_pipe(s: KState, ctx: KCtx, t: number, p: number, start: number, n: number): number {
  if (!pipe_open(s, p) || (pipe_holders(s, p) & (1 << t)) === 0) return -EBADF;
  const room = s.L.geo.pipeBufs - pipe_nbuf(s, p);
  if (room === 0) return -EAGAIN;
  const want = Math.min(n, room);
  const r = get_user_pages_fast(ctx, s, t, start, want, FOLL_GET);
  if (r.pfns.length === 0) return r.err;
  let queued = 0;
  for (const pfn of r.pfns) {
    if (!pipe_push(s, p, { pfn, taker: t, vpage: start + queued })) {
      gup_put_folio(ctx, s, pfn, FOLL_GET);
      continue;
    }
    queued++;
  }
  trace(ctx, 'vmsplice_to_pipe', `${queued} page(s) referenced by pipe ${p} (FOLL_GET)`);
  return queued;
}
