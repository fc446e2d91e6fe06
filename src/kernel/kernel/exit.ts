/**
 * kernel/exit.c do_exit(): exit_mm (exit_mmap: zap everything, drop
 * markers, drain the LRU batch) and exit_files (pipes, the io_uring ring,
 * the userfaultfd); references a driver held for the task are released
 * when its file descriptors close.
 */
import { hugetlb_vm_op_close } from '../mm/hugetlb.js';
import { VM_HUGETLB } from '../../model/mm_types.js';
import type { KState } from '../../model/layout.js';
import { TASK_DEAD, REF_GUP_GET, REF_GUP_PIN, REF_ODIRECT } from '../../model/layout.js';
import {
  vmas_of,
  task_set_state,
  task_set_parent,
  vis_clear,
  task_set_curwid,
  mm_set_flags,
  task_set_uffd,
  task_ring,
  task_set_ring,
  pipe_open,
  pipe_holders,
  pipe_set_holders,
} from '../../model/mm_types.js';
import { refs_where, ref_get, ref_free } from '../../model/refs.js';
import { type KCtx, trace } from '../ctx.js';
import { zap_pte_range } from '../mm/memory.js';
import { vmas_commit, mergeHint, mm_files, mm_file_ref } from '../mm/mmap.js';
import { gup_put_folio } from '../mm/gup.js';
import { pipe_release } from '../fs/pipe.js';
import { io_sqe_buffers_unregister, io_ring_ctx_free } from '../io_uring/rsrc.js';

/**
 * exit_mmap(): tear down every mapping of the task's mm. It does not drain
 * the LRU batches (7.2's exit_mmap goes straight to tlb_gather_mmu_fullmm;
 * the host agrees: a folio queued for activation stays queued).
 */
export function exit_mmap(s: KState, ctx: KCtx, t: number): void {
  const vmas = vmas_of(s, t);
  vmas.forEach((v, i) => {
    zap_pte_range(s, ctx, t, i, v.start, v.end, { dropMarker: true });
    if (v.flags & VM_HUGETLB) hugetlb_vm_op_close(s, ctx, t, i, v.start, v.end);
  });
  const files = mm_files(s, t);
  vmas_commit(s, t, [], mergeHint(ctx));
  for (const f of files) mm_file_ref(s, ctx, f, -1);
  mm_set_flags(s, t, 0);
}

/** do_exit() of task `t`. */
export function do_exit(s: KState, ctx: KCtx, t: number): void {
  exit_mmap(s, ctx, t);
  // exit_files(): the last holder of a pipe releases its buffers
  for (let p = 0; p < s.L.geo.pipes; p++) {
    if (!pipe_open(s, p) || (pipe_holders(s, p) & (1 << t)) === 0) continue;
    const h = pipe_holders(s, p) & ~(1 << t);
    pipe_set_holders(s, p, h);
    if (h === 0) pipe_release(s, ctx, p);
  }
  // the ring is torn down with its last file reference, unpinning its buffers
  for (let owner = 0; owner < s.L.geo.tasks; owner++) {
    const ring = task_ring(s, owner);
    if ((ring & (1 << t)) === 0) continue;
    const h = ring & ~(1 << t);
    if (h === 0) {
      io_sqe_buffers_unregister(s, ctx, owner);
      io_ring_ctx_free(s, ctx, owner);
    }
    task_set_ring(s, owner, h);
  }
  // drivers holding GUP references for the task release them on close
  for (const r of refs_where(s, (x) => x.owner === t && (x.kind === REF_GUP_GET || x.kind === REF_GUP_PIN || x.kind === REF_ODIRECT))) {
    const ref = ref_get(s, r);
    gup_put_folio(ctx, s, ref.pfn, ref.foll);
    ref_free(s, r);
  }
  task_set_uffd(s, t, 0);
  vis_clear(s, t);
  task_set_curwid(s, t, 0);
  task_set_parent(s, t, -1);
  task_set_state(s, t, TASK_DEAD);
  trace(ctx, 'do_exit', `task ${t} exited`);
}
