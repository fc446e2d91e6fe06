/**
 * mm/process_vm_access.c (docs/kernel/gup.md 8): process_vm_readv/writev
 * pin the target's pages with pin_user_pages_remote() (FOLL_PIN, FOLL_UNLOCKABLE, plus
 * FOLL_WRITE for writev), copy, and unpin in the same call. A readv is a
 * R/O pin, so it unshares COW-shared anon pages in the target. The
 * caller's local buffer is scratch memory outside the scenario's regions.
 */
import type { KState } from '../../model/layout.js';
import { task_alive, page_data, va_shared } from '../../model/mm_types.js';
import { OpWrites } from '../../model/writes.js';
import { type KCtx, trace } from '../ctx.js';
import { __get_user_pages, unpin_user_page, FOLL_PIN, FOLL_UNLOCKABLE, FOLL_WRITE, FOLL_REMOTE, FOLL_TOUCH } from './gup.js';
import { EFAULT, ESRCH, EPERM } from '../errno.js';
import { ptrace_may_access } from '../kernel/ptrace.js';

/** Result: pages transferred (the wids read, for readv) or a negative errno. */
export interface VmRwResult {
  pages: number;
  wids: number[];
}

export function process_vm_rw(
  s: KState,
  ctx: KCtx,
  t: number,
  target: number,
  va: number,
  n: number,
  write: boolean,
  bytes: { lo: number; len: number } = { lo: 0, len: 0 },
): VmRwResult | number {
  if (!task_alive(s, target)) return -ESRCH;
  // mm_access(PTRACE_MODE_ATTACH_REALCREDS): its -EACCES becomes -EPERM
  if (!ptrace_may_access(s, ctx, t, target)) return -EPERM;
  const foll = FOLL_PIN | FOLL_REMOTE | FOLL_TOUCH | (write ? FOLL_WRITE : 0);
  // pin_user_pages_remote() with a `locked` argument: faults may drop mmap_lock
  const r = __get_user_pages(ctx, s, target, va, n, foll | FOLL_UNLOCKABLE);
  if (r.pfns.length === 0) return -EFAULT;
  const wids: number[] = [];
  const out = new OpWrites(s, target, ctx.step, ctx.freshWrites);
  r.pfns.forEach((pfn, i) => {
    // copy_page_to_iter() of what falls in this page: all of it, or the transfer's bytes there
    if (write) out.store(pfn, va_shared(s, target, va + i), i, bytes.lo, bytes.len);
    else {
      const w = page_data(s, pfn);
      wids.push(w);
      ctx.reads.push({ via: 'process_vm_readv', observer: target, reader: t, vpage: va + i, pfn, wid: w });
    }
    unpin_user_page(ctx, s, pfn, write);
  });
  trace(ctx, write ? 'process_vm_writev' : 'process_vm_readv', `${r.pfns.length} page(s) of task ${target} pinned, copied, unpinned`);
  return { pages: r.pfns.length, wids };
}
