/**
 * io_uring/rsrc.c (6.18, docs/kernel/gup.md 6): registered ("fixed")
 * buffers. Registration pins every page with pin_user_pages_fast(FOLL_WRITE
 * | FOLL_LONGTERM); fixed reads and writes go through the pinned pages, not
 * the user mapping; unregistering (or tearing the ring down) unpins.
 * One ring per task and one buffer table per ring are modelled.
 */
import type { KState } from '../../model/layout.js';
import { REF_IOURING } from '../../model/layout.js';
import {
  task_ring,
  task_set_ring,
  page_data,
  page_set_data,
  task_uid,
  task_memlock,
  task_ring_acct,
  task_set_ring_acct,
  user_locked_vm,
  user_set_locked_vm,
  folio_test_large,
  folio_head,
  folio_nr_pages,
} from '../../model/mm_types.js';
import { ref_add, refs_where, ref_get, ref_free } from '../../model/refs.js';
import { new_shared_write } from '../../model/writes.js';
import { type KCtx, trace, ModelBug } from '../ctx.js';
import { get_user_pages_fast, unpin_user_page, FOLL_PIN, FOLL_WRITE, FOLL_LONGTERM } from '../mm/gup.js';
import { file_read_page, file_write_page } from '../mm/filemap.js';
import { EBADF, EBUSY, ENXIO, EFAULT, EINVAL, ENOMEM, EPERM } from '../errno.js';

/**
 * The pages cowlab's ring charges (4 SQ entries, 8 CQ entries: the rings, then the SQEs, a page each):
 * not computed from ring_pages() here but measured, on the host's 6.18 (a 4 KiB limit refuses the setup,
 * 8 KiB takes it and refuses a 1-page buffer).
 */
const RING_PAGES = 2;

/**
 * __io_account_mem(): charge `pages` to the unprivileged user's locked_vm,
 * refused (ENOMEM) past the RLIMIT_MEMLOCK of the task asking.
 */
function io_account_mem(s: KState, ctx: KCtx, t: number, pages: number): number {
  const limit = task_memlock(s, t);
  const cur = user_locked_vm(s);
  if (cur + pages > limit) {
    trace(ctx, '__io_account_mem', `locked_vm ${cur} + ${pages} page(s) > RLIMIT_MEMLOCK ${limit}: ENOMEM`);
    return -ENOMEM;
  }
  user_set_locked_vm(s, cur + pages);
  trace(ctx, '__io_account_mem', `locked_vm ${cur} -> ${cur + pages} page(s) (RLIMIT_MEMLOCK ${limit})`);
  return 0;
}

function io_unaccount_mem(s: KState, pages: number): void {
  const left = user_locked_vm(s) - pages;
  if (left < 0) throw new ModelBug(`io_uring gives back ${pages} page(s) it did not charge`);
  user_set_locked_vm(s, left);
}

/**
 * io_uring_setup(): a ring owned by `t`; the holders bitmask tracks who has
 * its fd. A creator without CAP_IPC_LOCK (an unprivileged task) gets
 * ctx->user: the ring charges that user's locked_vm, the ring's own pages
 * too up to 5.11 and from 6.14 (gup.iouringAcctRing). io_uring_allowed()
 * (6.6+) refuses it first: kernel.io_uring_disabled 2 refuses everyone, 1
 * whoever lacks CAP_SYS_ADMIN (io_uring_group is not modelled).
 */
export function io_uring_setup(s: KState, ctx: KCtx, t: number): number {
  if (task_ring(s, t) !== 0) return -EBUSY;
  const limited = task_uid(s, t) !== 0;
  if (ctx.env.ioUringDisabled === 2 || (limited && ctx.env.ioUringDisabled === 1)) {
    trace(ctx, 'io_uring_allowed', `kernel.io_uring_disabled ${ctx.env.ioUringDisabled}: EPERM`);
    return -EPERM;
  }
  if (limited && ctx.prof.mech.gup.iouringAcctRing) {
    const r = io_account_mem(s, ctx, t, RING_PAGES);
    if (r) return r;
  }
  task_set_ring(s, t, 1 << t);
  task_set_ring_acct(s, t, limited ? 1 : 0);
  trace(ctx, 'io_uring_setup', `ring of task ${t}${limited ? ', charged to its user (no CAP_IPC_LOCK)' : ''}`);
  return 0;
}

/** io_ring_ctx_free(): the last file reference went; the ring's own pages are uncharged (gup.iouringAcctRing). */
export function io_ring_ctx_free(s: KState, ctx: KCtx, owner: number): void {
  if (task_ring_acct(s, owner) & 1 && ctx.prof.mech.gup.iouringAcctRing) io_unaccount_mem(s, RING_PAGES);
  task_set_ring_acct(s, owner, 0);
}

/**
 * io_buffer_account_pin(): the pages a buffer charges. From 5.10 a page of
 * a compound folio charges the whole folio, once per folio of the buffer
 * (the last head is remembered; the buffer is one range, so a folio's pages
 * come in a row); before, one per page.
 */
function io_buffer_acct_pages(s: KState, ctx: KCtx, pfns: readonly number[]): number {
  if (!ctx.prof.mech.gup.iouringAcctFolios) return pfns.length;
  let n = 0;
  let last = -1;
  for (const pfn of pfns) {
    if (!folio_test_large(s, pfn)) {
      n++;
      continue;
    }
    const head = folio_head(s, pfn);
    if (head === last) continue;
    last = head;
    n += folio_nr_pages(s, head);
  }
  return n;
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
  const r = get_user_pages_fast(ctx, s, t, start, n, foll, ctx.prof.mech.gup.iouringUnlockable);
  if (r.pfns.length < n) {
    for (const pfn of r.pfns) unpin_user_page(ctx, s, pfn, false);
    return r.err || -EFAULT;
  }
  const acct = task_ring_acct(s, t);
  if (acct & 1) {
    const pages = io_buffer_acct_pages(s, ctx, r.pfns);
    const err = io_account_mem(s, ctx, t, pages);
    if (err) {
      for (const pfn of r.pfns) unpin_user_page(ctx, s, pfn, false);
      return err;
    }
    task_set_ring_acct(s, t, (pages << 1) | 1);
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
  // io_buffer_unmap(): imu->acct_pages go back to the user
  const acct = task_ring_acct(s, owner);
  if (acct > 1) {
    io_unaccount_mem(s, acct >>> 1);
    task_set_ring_acct(s, owner, acct & 1);
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
