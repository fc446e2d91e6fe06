/**
 * fs/pipe.c: pipes whose buffers hold page references (from vmsplice).
 * A read copies the page's content at read time and drops the reference
 * (pipe_read -> copy_page_to_iter, pipe_buf_release -> put_page).
 */
import type { KState } from '../../model/layout.js';
import { pipe_open, pipe_set_state, pipe_set_holders, pipe_holders, pipe_shift, page_data, pipe_nbuf } from '../../model/mm_types.js';
import { pio } from '../../model/mm_types.js';
import { type KCtx, trace, ModelBug } from '../ctx.js';
import { folio_put } from '../mm/swap.js';
import { EBADF, EAGAIN } from '../errno.js';
import { fill_words } from '../../model/layout.js';

/** pipe(): a new pipe in slot `p` (the scenario's name for it) whose both ends `t` holds. */
export function do_pipe_at(s: KState, ctx: KCtx, t: number, p: number): void {
  if (p < 0 || p >= s.L.geo.pipes) throw new ModelBug(`pipe slot ${p} out of range`);
  fill_words(s, 0, pio(s, p), pio(s, p) + s.L.pipeWords);
  pipe_set_state(s, p, true);
  pipe_set_holders(s, p, 1 << t);
  trace(ctx, 'do_pipe2', `pipe ${p}`);
}

/** Content read from one pipe buffer. */
export interface PipeRead {
  pfn: number;
  wid: number;
  taker: number;
  vpage: number;
}

/** pipe_read() of up to `n` buffers (one page each); the executor's pipes are O_NONBLOCK. */
export function pipe_read(s: KState, ctx: KCtx, t: number, p: number, n: number): PipeRead[] | number {
  if (!pipe_open(s, p) || (pipe_holders(s, p) & (1 << t)) === 0) return -EBADF;
  if (pipe_nbuf(s, p) === 0) return -EAGAIN; // writers exist: the reader holds the write end too
  const out: PipeRead[] = [];
  for (let i = 0; i < n; i++) {
    const b = pipe_shift(s, p);
    if (!b) break;
    const wid = page_data(s, b.pfn);
    out.push({ pfn: b.pfn, wid, taker: b.taker, vpage: b.vpage });
    ctx.reads.push({ via: 'pipe', observer: b.taker, reader: t, vpage: b.vpage, pfn: b.pfn, wid });
    folio_put(s, b.pfn);
  }
  trace(ctx, 'pipe_read', `${out.length} buffer(s) read from pipe ${p}`);
  return out;
}

/** free_pipe_info(): the last file reference is gone; buffers drop their pages. */
export function pipe_release(s: KState, ctx: KCtx, p: number): void {
  let b;
  while ((b = pipe_shift(s, p))) folio_put(s, b.pfn);
  pipe_set_state(s, p, false);
  pipe_set_holders(s, p, 0);
  trace(ctx, 'free_pipe_info', `pipe ${p} released`);
}
