/**
 * The system-call layer: each scenario operation mapped onto the kernel
 * paths it runs, with the errno a real kernel returns for bad arguments.
 *
 * `apply()` mutates the state it is given (clone first to keep the old
 * one) and returns what the step did; it is the single step function the
 * runner, the explorer, the property tests and the browser all drive.
 */
import type { KState } from '../model/layout.js';
import {
  FF_MEMFD, FF_TMPFILE, REF_TRANSIENT, REFST_LRU_BATCH, PGF_LRU, PGF_LOCKED, PGF_SWAPCACHE, PGF_ANON, UFFD_CTX_OPEN,
} from '../model/layout.js';
import {
  task_alive, page_data, page_set_data, page_test, page_set, page_clear, ptep_get, pipe_open, task_uffd, va_shared,
  page_ref_count,
} from '../model/mm_types.js';
import { pte_present, pte_pfn } from '../model/pte.js';
import { new_shared_write, OpWrites } from '../model/writes.js';
import { ref_add, refs_where, ref_free } from '../model/refs.js';
import { type KCtx, ModelBug, trace } from '../kernel/ctx.js';
import { user_access, type Signal } from '../kernel/arch/x86/mm/fault.js';
import { do_mmap, do_munmap } from '../kernel/mm/mmap.js';
import { do_mprotect } from '../kernel/mm/mprotect.js';
import { do_madvise } from '../kernel/mm/madvise.js';
import { do_fork } from '../kernel/kernel/fork.js';
import { do_exit } from '../kernel/kernel/exit.js';
import { do_pipe_at, pipe_read } from '../kernel/fs/pipe.js';
import { vmsplice_to_pipe } from '../kernel/fs/splice.js';
import { io_uring_setup, io_sqe_buffers_register, io_sqe_buffers_unregister, io_read_fixed, io_write_fixed } from '../kernel/io_uring/rsrc.js';
import { dio_rw, dio_start, dio_complete } from '../kernel/fs/direct-io.js';
import { process_vm_rw } from '../kernel/mm/process_vm_access.js';
import { mem_rw } from '../kernel/fs/proc/base.js';
import { userfaultfd_open, userfaultfd_register, mwriteprotect_range } from '../kernel/mm/userfaultfd.js';
import { clear_refs_write } from '../kernel/fs/proc/task_mmu.js';
import { gup_test_start, gup_test_read, gup_test_write, gup_test_stop } from '../kernel/drivers/gup_test.js';
import { file_create, file_read_page, file_write_page } from '../kernel/mm/filemap.js';
import { folio_get, folio_put } from '../kernel/mm/swap.js';
import { get_swap_slot, add_to_swap_cache, folio_free_swap } from '../kernel/mm/swapfile.js';
import { EINVAL, ESRCH, EBADF, EBUSY, EFAULT } from '../kernel/errno.js';
import type { Op } from './ops.js';

/** What one operation did. */
export interface StepResult {
  /** return value: >= 0 on success, a negative errno on failure */
  ret: number;
  /** signal delivered to the acting task by a memory access, if any */
  signal: Signal | null;
  /** data returned to the caller, in order: one write id per page read */
  data: number[];
  /** pages the access got to before a signal */
  done: number;
}

function ok(ret = 0, data: number[] = []): StepResult {
  return { ret, signal: null, data, done: 0 };
}

/** Performs one operation on the state. */
export function apply(s: KState, ctx: KCtx, op: Op): StepResult {
  if ('t' in op && !task_alive(s, op.t)) return ok(-ESRCH);
  switch (op.op) {
    case 'mmap':
      return ok(do_mmap(s, ctx, op.t, { start: op.start, pages: op.pages, prot: op.prot, shared: op.shared, file: op.file, pgoff: op.pgoff }));
    case 'munmap':
      return ok(do_munmap(s, ctx, op.t, op.start, op.start + op.pages));
    case 'mprotect':
      return ok(do_mprotect(s, ctx, op.t, op.start, op.start + op.pages, op.prot));
    case 'madvise':
      return ok(do_madvise(s, ctx, op.t, op.start, op.start + op.pages, op.advice));
    case 'read':
      return memAccess(s, ctx, op.t, op.start, op.pages, false);
    case 'write':
      return memAccess(s, ctx, op.t, op.start, op.pages, true);
    case 'fork':
      return ok(do_fork(s, ctx, op.t, op.child));
    case 'exit':
      do_exit(s, ctx, op.t);
      return ok();
    case 'pipe':
      if (pipe_open(s, op.p)) return ok(-EBUSY);
      do_pipe_at(s, ctx, op.t, op.p);
      return ok();
    case 'vmsplice':
      return ok(vmsplice_to_pipe(s, ctx, op.t, op.p, op.start, op.pages));
    case 'pipe_read': {
      const r = pipe_read(s, ctx, op.t, op.p, op.pages);
      if (typeof r === 'number') return ok(r);
      return ok(r.length, r.map((x) => x.wid));
    }
    case 'io_uring_setup':
      return ok(io_uring_setup(s, ctx, op.t));
    case 'io_uring_register':
      return ok(io_sqe_buffers_register(s, ctx, op.t, op.start, op.pages));
    case 'io_uring_unregister':
      return ok(io_sqe_buffers_unregister(s, ctx, op.t));
    case 'io_uring_rw':
      return ok(op.write
        ? io_write_fixed(s, ctx, op.t, op.file, op.index, op.start, op.pages)
        : io_read_fixed(s, ctx, op.t, op.file, op.index, op.start, op.pages));
    case 'odirect':
      return ok(dio_rw(s, ctx, op.t, op.read, op.file, op.index, op.start, op.pages));
    case 'odirect_start':
      if (refs_where(s, (r) => r.owner === op.t && r.handle === op.handle && r.kind !== REF_TRANSIENT).length) return ok(-EBUSY);
      return ok(dio_start(s, ctx, op.t, op.read, op.file, op.index, op.start, op.pages, op.handle));
    case 'odirect_complete': {
      const n = dio_complete(s, ctx, op.t, op.handle);
      return ok(n === 0 ? -EINVAL : n);
    }
    case 'process_vm': {
      const r = process_vm_rw(s, ctx, op.t, op.target, op.start, op.pages, op.write);
      return typeof r === 'number' ? ok(r) : ok(r.pages, r.wids);
    }
    case 'proc_mem': {
      // a thread of the target doing MADV_DONTNEED inside GUP's fault/retry window (Dirty COW)
      const race = op.raceDontneed ? (va: number) => { do_madvise(s, ctx, op.target, va, va + 1, 'MADV_DONTNEED'); } : undefined;
      const r = mem_rw(s, ctx, op.t, op.target, op.start, op.pages, op.write, race);
      return typeof r === 'number' ? ok(r) : ok(r.pages, r.wids);
    }
    case 'uffd_open':
      return ok(userfaultfd_open(s, ctx, op.t, op.features));
    case 'uffd_register':
      return ok(userfaultfd_register(s, ctx, op.t, op.start, op.start + op.pages));
    case 'uffd_wp':
      if ((task_uffd(s, op.t) & UFFD_CTX_OPEN) === 0) return ok(-EBADF);
      return ok(mwriteprotect_range(s, ctx, op.t, op.start, op.start + op.pages, op.on));
    case 'clear_refs':
      return ok(clear_refs_write(s, ctx, op.t, op.value));
    case 'gup': {
      const child = op.raceForkChild;
      const race = child === undefined ? undefined : () => { do_fork(s, ctx, op.t, child); };
      return ok(gup_test_start(s, ctx, op.t, op.start, op.pages, op.foll, op.fast, op.handle, race));
    }
    case 'gup_read': {
      const r = gup_test_read(s, ctx, op.t, op.handle);
      return typeof r === 'number' ? ok(r) : ok(r.length, r);
    }
    case 'gup_write':
      return ok(gup_test_write(s, ctx, op.t, op.handle));
    case 'gup_put':
      return ok(gup_test_stop(s, ctx, op.t, op.handle));
    case 'file_create': {
      const f = file_create(s, op.kind === 'memfd' ? FF_MEMFD : FF_TMPFILE, op.pages);
      if (f !== op.file) throw new ModelBug(`file ${op.file} created as ${f}`);
      return ok();
    }
    case 'file_write': {
      const w = new_shared_write(s, op.t, ctx.step, -1);
      for (let i = 0; i < op.pages; i++) if (!file_write_page(s, op.file, op.index + i, w)) return ok(i === 0 ? -EINVAL : i);
      trace(ctx, 'generic_perform_write', `${op.pages} page(s) of file ${op.file} written`);
      return ok(op.pages);
    }
    case 'file_read': {
      const data: number[] = [];
      for (let i = 0; i < op.pages; i++) {
        const w = file_read_page(s, op.file, op.index + i);
        if (w < 0) break;
        data.push(w);
      }
      trace(ctx, 'filemap_read', `${data.length} page(s) of file ${op.file} read`);
      return ok(data.length, data);
    }
    case 'transient':
      return ok(transient(s, ctx, op.t, op.start, op.kind, op.hold));
  }
}

/** A user-mode load or store over pages [start, start+n): one write id for the whole store. */
function memAccess(s: KState, ctx: KCtx, t: number, start: number, n: number, write: boolean): StepResult {
  const data: number[] = [];
  const wids = new OpWrites(s, t, ctx.step, ctx.freshWrites);
  for (let i = 0; i < n; i++) {
    const va = start + i;
    const r = user_access(s, ctx, t, va, write);
    if (typeof r === 'string') return { ret: 0, signal: r, data, done: i };
    if (write) {
      page_set_data(s, r, wids.forMapping(va_shared(s, t, va)));
    } else {
      const w = page_data(s, r);
      data.push(w);
      ctx.reads.push({ via: 'mem', observer: t, reader: t, vpage: va, pfn: r, wid: w });
    }
  }
  return { ret: 0, signal: null, data, done: n };
}

/**
 * Injected transient references (the thread's argument against page_count):
 * a speculative page-cache lookup (get_page_unless_zero on a recycled page),
 * the LRU-batch reference of a freshly faulted page, a swap-cache entry
 * left behind, or a page lock held elsewhere so that trylock fails.
 * `hold: false` releases what `hold: true` took.
 */
function transient(s: KState, ctx: KCtx, t: number, va: number, kind: string, hold: boolean): number {
  const pte = ptep_get(s, t, va);
  if (!pte_present(pte)) return -EFAULT;
  const pfn = pte_pfn(pte);
  if (pfn <= 1) return -EFAULT;
  switch (kind) {
    case 'speculative': {
      if (hold) {
        folio_get(s, pfn);
        ref_add(s, { kind: REF_TRANSIENT, owner: t, vpage: va, pfn, foll: 0, state: 0, handle: 0 });
        trace(ctx, 'get_page_unless_zero', `speculative reference on page ${pfn}`);
        return 0;
      }
      const r = refs_where(s, (x) => x.kind === REF_TRANSIENT && x.pfn === pfn && (x.state & REFST_LRU_BATCH) === 0);
      if (!r.length) return -EINVAL;
      ref_free(s, r[0]!);
      folio_put(s, pfn);
      return 0;
    }
    case 'lru-batch': {
      // a batch reference on another CPU: the local lru_add_drain() cannot drop it
      if (hold) {
        if (!page_test(s, pfn, PGF_LRU)) return -EBUSY;
        page_clear(s, pfn, PGF_LRU);
        folio_get(s, pfn);
        ref_add(s, { kind: REF_TRANSIENT, owner: t, vpage: va, pfn, foll: 0, state: REFST_LRU_BATCH, handle: 0 });
        trace(ctx, 'folio_add_lru', `page ${pfn} parked in another CPU's LRU batch`);
        return 0;
      }
      const r = refs_where(s, (x) => x.kind === REF_TRANSIENT && x.pfn === pfn && (x.state & REFST_LRU_BATCH) !== 0);
      if (!r.length) return -EINVAL;
      ref_free(s, r[0]!);
      if (page_ref_count(s, pfn) > 1) page_set(s, pfn, PGF_LRU);
      folio_put(s, pfn);
      return 0;
    }
    case 'swapcache': {
      if (!page_test(s, pfn, PGF_ANON)) return -EINVAL;
      if (hold) {
        if (page_test(s, pfn, PGF_SWAPCACHE)) return -EBUSY;
        const slot = get_swap_slot(s);
        if (!slot) return -EBUSY;
        add_to_swap_cache(s, pfn, slot);
        trace(ctx, 'add_to_swap_cache', `page ${pfn} left in the swap cache (slot ${slot})`);
        return 0;
      }
      return folio_free_swap(s, ctx, pfn) ? 0 : -EBUSY;
    }
    case 'page-lock':
      if (hold) {
        if (page_test(s, pfn, PGF_LOCKED)) return -EBUSY;
        page_set(s, pfn, PGF_LOCKED);
        return 0;
      }
      page_clear(s, pfn, PGF_LOCKED);
      return 0;
  }
  return -EINVAL;
}
