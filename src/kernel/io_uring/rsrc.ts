/**
 * io_uring/rsrc.c (6.18, docs/kernel/gup.md 6): registered ("fixed")
 * buffers. Registration pins every page with pin_user_pages_fast(FOLL_WRITE
 * | FOLL_LONGTERM); fixed reads and writes go through the pinned pages, not
 * the user mapping; unregistering (or tearing the ring down) unpins.
 * One ring per task and one buffer table per ring are modelled.
 */
import type { KState } from '../../model/layout.js';
import { REF_IOURING } from '../../model/layout.js';
import { task_ring, task_set_ring, page_data, page_set_data } from '../../model/mm_types.js';
import { ref_add, refs_where, ref_get, ref_free } from '../../model/refs.js';
import { new_shared_write } from '../../model/writes.js';
import { type KCtx, trace, ModelBug } from '../ctx.js';
import { get_user_pages_fast, unpin_user_page, FOLL_PIN, FOLL_WRITE, FOLL_LONGTERM } from '../mm/gup.js';
import { file_read_page, file_write_page } from '../mm/filemap.js';
import { EBADF, EBUSY, ENXIO, EFAULT, EINVAL } from '../errno.js';

/** io_uring_setup(): a ring owned by `t`; the holders bitmask tracks who has its fd. */
export function io_uring_setup(s: KState, ctx: KCtx, t: number): number {
  if (task_ring(s, t) !== 0) return -EBUSY;
  task_set_ring(s, t, 1 << t);
  trace(ctx, 'io_uring_setup', `ring of task ${t}`);
  return 0;
}

function bufRefs(s: KState, owner: number): number[] {
  return refs_where(s, (r) => r.kind === REF_IOURING && r.owner === owner);
}

/** IORING_REGISTER_BUFFERS of pages [start, start+n) as buffer 0. */
export function io_sqe_buffers_register(s: KState, ctx: KCtx, t: number, start: number, n: number): number {
  if (task_ring(s, t) === 0) return -EBADF;
  if (bufRefs(s, t).length) return -EBUSY;
  const foll = FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM;
  // io_pin_pages(): pin_user_pages_fast() from 6.5, whose slow path may retry a fault; before, pin_user_pages()
  // under mmap_read_lock without `locked`: no retry, so a userfault there is SIGBUS and the registration EFAULT
  const r = get_user_pages_fast(ctx, s, t, start, n, foll, undefined, ctx.prof.mech.gup.iouringUnlockable);
  if (r.pfns.length < n) {
    for (const pfn of r.pfns) unpin_user_page(ctx, s, pfn, false);
    return r.err || -EFAULT;
  }
  let slot = 0;
  r.pfns.forEach((pfn, i) => {
    slot = ref_add(s, { kind: REF_IOURING, owner: t, vpage: start + i, pfn, foll, state: 0, handle: 0 }, slot) + 1;
    if (slot === 0) throw new ModelBug('reference table full');
  });
  trace(ctx, 'io_sqe_buffers_register', `${n} page(s) pinned FOLL_PIN|FOLL_WRITE|FOLL_LONGTERM`);
  return 0;
}

/** IORING_UNREGISTER_BUFFERS (or ring teardown). */
export function io_sqe_buffers_unregister(s: KState, ctx: KCtx, owner: number): number {
  if (task_ring(s, owner) === 0) return -EBADF;
  const refs = bufRefs(s, owner);
  if (refs.length === 0) return -ENXIO;
  for (const r of refs) {
    unpin_user_page(ctx, s, ref_get(s, r).pfn, false);
    ref_free(s, r);
  }
  trace(ctx, 'io_sqe_buffers_unregister', `${refs.length} page(s) unpinned`);
  return 0;
}

/** The registered pages of the owner's buffer: the first reference per user page (one table walk, not one per page). */
function bufRefMap(s: KState, owner: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of bufRefs(s, owner)) {
    const va = ref_get(s, r).vpage;
    if (!out.has(va)) out.set(va, r);
  }
  return out;
}

/**
 * IORING_OP_READ_FIXED: file pages [index, index+n) are read into the
 * registered pages that back user pages [va, va+n).
 */
export function io_read_fixed(s: KState, ctx: KCtx, owner: number, file: number, index: number, va: number, n: number): number {
  if (task_ring(s, owner) === 0) return -EBADF;
  const buf = bufRefMap(s, owner);
  // io_import_fixed(): the whole range must lie inside the registered buffer
  for (let i = 0; i < n; i++) if (!buf.has(va + i)) return -EFAULT;
  for (let i = 0; i < n; i++) {
    const r = buf.get(va + i)!;
    const wid = file_read_page(s, file, index + i);
    if (wid < 0) return i === 0 ? -EINVAL : i;
    page_set_data(s, ref_get(s, r).pfn, wid);
  }
  trace(ctx, 'io_read', `${n} page(s) of file ${file} read into the fixed buffer (through the pinned pages)`);
  return n;
}

/** IORING_OP_WRITE_FIXED: the registered pages backing [va, va+n) are written to the file. */
export function io_write_fixed(s: KState, ctx: KCtx, owner: number, file: number, index: number, va: number, n: number): number {
  if (task_ring(s, owner) === 0) return -EBADF;
  const buf = bufRefMap(s, owner);
  for (let i = 0; i < n; i++) if (!buf.has(va + i)) return -EFAULT;
  let from = 1; // no write record below it is free: the one this loop took last, + 1
  for (let i = 0; i < n; i++) {
    const r = buf.get(va + i)!;
    const pfn = ref_get(s, r).pfn;
    const wid = page_data(s, pfn);
    ctx.reads.push({ via: 'iouring', observer: owner, reader: owner, vpage: va + i, pfn, wid });
    const w = new_shared_write(s, owner, ctx.step, wid, 0, from);
    if (w !== wid) from = w + 1;
    if (!file_write_page(s, file, index + i, w)) return i === 0 ? -EINVAL : i;
  }
  trace(ctx, 'io_write', `${n} page(s) of the fixed buffer written to file ${file} (through the pinned pages)`);
  return n;
}
