/**
 * fs/proc/base.c mem_rw() -> mm/memory.c __access_remote_vm(): reads and
 * writes through /proc/PID/mem. Each page is taken with
 * get_user_pages_remote() (FOLL_GET | FOLL_TOUCH | FOLL_REMOTE, plus
 * FOLL_FORCE under CONFIG_PROC_MEM_ALWAYS_FORCE, plus FOLL_WRITE for a
 * write), copied, and released. Nothing transferred gives -EIO.
 * mem_rw() moves PAGE_SIZE bytes at a time from the start address, so a
 * transfer that does not start on a page boundary takes each page it
 * crosses twice: once for the tail of one chunk, once for the head of the
 * next (segments()).
 */
import type { KState } from '../../../model/layout.js';
import { PGF_DIRTY } from '../../../model/layout.js';
import { task_alive, page_data, page_set, va_shared } from '../../../model/mm_types.js';
import { OpWrites, PAGE_BYTES } from '../../../model/writes.js';
import { type KCtx, trace } from '../../ctx.js';
import {
  gup_page_begin,
  gup_page_retry,
  gup_put_folio,
  follToString,
  GUP_STOPPED,
  type GupCursor,
  FOLL_GET,
  FOLL_FORCE,
  FOLL_WRITE,
  FOLL_REMOTE,
  FOLL_TOUCH,
} from '../../mm/gup.js';
import { EIO, ENOENT, EACCES } from '../../errno.js';
import { ptrace_may_access } from '../../kernel/ptrace.js';

export interface MemRwResult {
  pages: number;
  wids: number[];
}

/** Where a /proc/PID/mem write stopped in GUP's window, to go on from (a thread record's fields). */
export interface MemRwStop {
  target: number;
  va: number;
  n: number;
  /** the page it stopped at, and GUP's cursor there */
  i: number;
  cur: GupCursor;
  /** pages written before it */
  done: number;
}

/**
 * `stop`: the write stops in __get_user_pages()'s window after a fault
 * (gup_page_retry) and returns where (the caller keeps it in the thread's
 * record); `from`: it goes on from such a stop.
 */
export function mem_rw(
  s: KState,
  ctx: KCtx,
  t: number,
  target: number,
  va: number,
  n: number,
  write: boolean,
  stop = false,
  from?: MemRwStop,
  bytes: { lo: number; len: number } = { lo: 0, len: 0 },
): MemRwResult | MemRwStop | number {
  if (!from) {
    // a process that is gone (exited and reaped, or never forked) has no /proc/PID: the open fails
    if (!task_alive(s, target)) return -ENOENT;
    // mem_open() -> proc_mem_open() -> mm_access(PTRACE_MODE_ATTACH): the open fails with -EACCES
    if (!ptrace_may_access(s, ctx, t, target)) return -EACCES;
  }
  // proc_mem_foll_force(): FOLL_FORCE unless the kernel grants it only to the target's ptracer (no scenario ptraces)
  const force = ctx.prof.mech.config.procMemForce === 'always' ? FOLL_FORCE : 0;
  const foll = FOLL_GET | FOLL_TOUCH | FOLL_REMOTE | force | (write ? FOLL_WRITE : 0);
  const wids: number[] = [];
  const out = new OpWrites(s, target, ctx.step, ctx.freshWrites);
  let done = from?.done ?? 0;
  const segs = segments(n, bytes.lo, bytes.len);
  let moved = 0;
  for (let i = from?.i ?? 0; i < segs.length; i++) {
    // __access_remote_vm(): get_user_pages_remote() of one page at a time
    const seg = segs[i]!;
    const pva = va + seg.page;
    let cur: GupCursor | number;
    if (from && i === from.i) {
      cur = from.cur;
      trace(ctx, '__get_user_pages', `goes on at page ${pva} after cond_resched() (${follToString(cur.foll)})`);
    } else {
      trace(ctx, '__get_user_pages', `1 page(s) from page ${pva}, ${follToString(foll)}`);
      cur = gup_page_begin(ctx, s, target, pva, foll);
    }
    const pfn = typeof cur === 'number' ? cur : gup_page_retry(ctx, s, target, pva, cur, stop);
    if (pfn === GUP_STOPPED && typeof cur !== 'number') return { target, va, n, i, cur, done };
    if (pfn <= 0) break;
    moved += seg.b - seg.a;
    if (write) {
      // copy_to_user_page() of the bytes of the chunk that fall in this page
      out.storeBytes(pfn, va_shared(s, target, pva), seg.a, seg.b);
      page_set(s, pfn, PGF_DIRTY);
    } else {
      const w = page_data(s, pfn);
      wids.push(w);
      ctx.reads.push({ via: 'proc_mem', observer: target, reader: t, vpage: va + i, pfn, wid: w });
    }
    gup_put_folio(ctx, s, pfn, FOLL_GET);
    done++;
  }
  trace(ctx, 'mem_rw', `${write ? 'wrote' : 'read'} ${done} page(s) of task ${target} (${force ? 'FOLL_FORCE' : 'no FOLL_FORCE'})`);
  if (done === 0) return -EIO;
  // whole pages: the pages moved; a byte range: the pages the bytes moved reach
  return { pages: bytes.len ? Math.ceil((bytes.lo + moved) / PAGE_BYTES) : done, wids };
}

/**
 * The pages in the order mem_rw() takes them, with the bytes [a, b) of each
 * take: PAGE_SIZE-byte chunks from byte `lo` of the first page (`len` bytes;
 * 0: `n` whole pages, one take each).
 */
export function segments(n: number, lo: number, len: number): { page: number; a: number; b: number }[] {
  if (len === 0) return Array.from({ length: n }, (_, page) => ({ page, a: 0, b: PAGE_BYTES }));
  const out: { page: number; a: number; b: number }[] = [];
  for (let c = lo; c < lo + len; c += PAGE_BYTES) {
    const e = Math.min(c + PAGE_BYTES, lo + len);
    for (let page = Math.floor(c / PAGE_BYTES); page * PAGE_BYTES < e; page++) {
      out.push({
        page,
        a: Math.max(c, page * PAGE_BYTES) - page * PAGE_BYTES,
        b: Math.min(e, (page + 1) * PAGE_BYTES) - page * PAGE_BYTES,
      });
    }
  }
  return out;
}
