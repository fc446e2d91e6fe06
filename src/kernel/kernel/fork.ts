/**
 * kernel/fork.c (copy_process -> dup_mm) and mm/mmap.c dup_mmap (6.18).
 *
 * The child gets a copy of the parent's VMAs except VM_DONTCOPY ones;
 * VM_WIPEONFORK VMAs come back empty; uffd-wp registration is not inherited
 * without UFFD_FEATURE_EVENT_FORK (dup_userfaultfd), nor is VM_LOCKED.
 * Page tables are copied by copy_page_range() only where vma_needs_copy().
 * MMF_HAS_PINNED is not inherited (it is not in MMF_INIT_MASK).
 */
import type { KState } from '../../model/layout.js';
import {
  TASK_ALIVE,
  TASK_FREE,
  TASK_DEAD,
  FORK_STOP_SHARE,
  FORK_STOP_COPY,
  FORK_PASSED_STORE,
  THOP_FORK,
  TH_VA,
  TH_N,
  TH_FOLL,
  TH_DONE,
} from '../../model/layout.js';
import { thread_get, thread_set, thread_stopped_on } from '../../model/threads.js';
import { vis_grant } from '../../model/writes.js';
import {
  type Vma,
  vmas_of,
  vmas_store,
  task_state,
  task_set_state,
  task_set_parent,
  vis_copy,
  task_set_curwid,
  mm_set_flags,
  pipe_open,
  pipe_holders,
  pipe_set_holders,
  task_ring,
  task_set_ring,
  task_set_uffd,
  task_uid,
  task_memlock,
  task_set_memlock,
  task_set_uid,
  VM_DONTCOPY,
  VM_WIPEONFORK,
  VM_UFFD_WP,
  VM_LOCKED,
  VM_HRESV_OWNER,
  VM_HRESV_UNMAPPED,
  vma_lookup_idx,
  vma_flags_at,
  is_cow_mapping,
} from '../../model/mm_types.js';
import { type KCtx, trace, ModelBug } from '../ctx.js';
import { copy_page_range, copy_present_finish, vma_needs_copy } from '../mm/memory.js';
import { mm_file_ref } from '../mm/mmap.js';
import { ksm_fork } from '../mm/ksm.js';
import { exit_mmap } from './exit.js';
import { ENOMEM } from '../errno.js';

/**
 * Where a fork stopped: in copy_present_pte() of page `va` of the parent's
 * VMA `vi`, before write-protecting it (`kind` FORK_STOP_SHARE) or after
 * giving the child its copy (FORK_STOP_COPY).
 */
export interface ForkStop {
  child: number;
  vi: number;
  va: number;
  kind: ForkStopKind;
}

/** The window a fork stops in: 0 none, or FORK_STOP_SHARE / FORK_STOP_COPY (layout.ts). */
export type ForkStopKind = 0 | typeof FORK_STOP_SHARE | typeof FORK_STOP_COPY;

/** What copy_page_range() of one VMA returns: 0 or a negative errno, or the page whose copy stopped in a window. */
export type CopyRangeResult = number | { at: number; kind: ForkStopKind };

/**
 * fork() by `parent`, creating task `child` (the scenario's name for it).
 * Returns 0 or a negative errno; with `stop`, where it stopped in that
 * window of copy_present_pte() (the caller keeps it in the thread's record,
 * and fork_resume() goes on from it).
 */
export function do_fork(s: KState, ctx: KCtx, parent: number, child: number, stop: ForkStopKind = 0): number | ForkStop {
  if (task_state(s, child) !== TASK_FREE) throw new ModelBug(`task slot ${child} is in use`);
  task_set_state(s, child, TASK_ALIVE);
  task_set_parent(s, child, parent);
  mm_set_flags(s, child, 0);
  task_set_uffd(s, child, 0);
  task_set_uid(s, child, task_uid(s, parent)); // copy_creds(): the child runs as its parent
  task_set_memlock(s, child, task_memlock(s, parent)); // the rlimits are the signal struct's: copied
  ksm_fork(s, ctx, parent, child);
  // lineage: the child may observe what the parent could observe until now
  vis_copy(s, parent, child);
  task_set_curwid(s, parent, 0);
  task_set_curwid(s, child, 0);

  const childVmas: Vma[] = [];
  const src = vmas_of(s, parent);
  src.forEach((v, vi) => {
    if (v.flags & VM_DONTCOPY) return;
    let flags = v.flags & ~VM_LOCKED;
    flags &= ~VM_UFFD_WP; // dup_userfaultfd() without UFFD_FEATURE_EVENT_FORK
    // hugetlb_dup_vma_private(): a child's private hugetlb VMA owns no reservation
    flags &= ~(VM_HRESV_OWNER | VM_HRESV_UNMAPPED);
    if (v.flags & VM_WIPEONFORK) childVmas.push({ ...v, flags, anon: false });
    // anon_vma_fork(): each VMA its own new anon_vma, chained to the parent's (so never reused or merged
    // with a neighbour that has none: vma_had_uncowed_parents())
    else childVmas.push({ ...v, flags, av: v.anon ? ((vi + 1) << 1) | 1 : 0 });
  });
  // dup_mmap() copies the VMAs as they are: no merging, even where the child's flags now match
  if (!vmas_store(s, child, childVmas)) throw new ModelBug(`mm of task ${child} needs more than ${s.L.geo.vmas} VMAs`);
  for (const f of new Set(childVmas.filter((v) => v.file >= 0).map((v) => v.file))) mm_file_ref(s, ctx, f, 1);
  return dup_mmap_copy(s, ctx, parent, child, 0, -1, stop);
}

/**
 * A fork stopped in copy_present_pte() goes on: that page's PTEs (when it
 * stopped before the write-protect), then the rest of dup_mmap() (`stop`: to
 * the next window of the same kind).
 */
export function fork_resume(s: KState, ctx: KCtx, parent: number, at: ForkStop, stop: boolean): number | ForkStop {
  if (at.kind === FORK_STOP_SHARE) {
    const v = vmas_of(s, parent)[at.vi]!;
    copy_present_finish(s, parent, at.child, at.va, v.flags, childFlags(v.flags), true);
    trace(ctx, 'copy_present_pte', `fork goes on: page ${at.va} write-protected in the parent, mapped in the child`);
  } else trace(ctx, 'copy_pte_range', `fork goes on after page ${at.va}`);
  return dup_mmap_copy(s, ctx, parent, at.child, at.vi, at.va + 1, stop ? at.kind : 0);
}

/** A child VMA's flags (what dup_mmap() does not inherit). */
const childFlags = (f: number) => f & ~VM_LOCKED & ~VM_UFFD_WP;

/** dup_mmap()'s copy_page_range() per VMA, in address order, from VMA `fromVi` (page `fromVa` of it, or -1: all), then the rest of the fork. */
function dup_mmap_copy(
  s: KState,
  ctx: KCtx,
  parent: number,
  child: number,
  fromVi: number,
  fromVa: number,
  stop: ForkStopKind,
): number | ForkStop {
  const src = vmas_of(s, parent);
  let err = 0;
  for (let vi = fromVi; vi < src.length && !err; vi++) {
    const v = src[vi]!;
    if (v.flags & (VM_DONTCOPY | VM_WIPEONFORK)) continue;
    const dflags = childFlags(v.flags);
    const within = vi === fromVi && fromVa >= 0;
    if (!within && !vma_needs_copy(s, ctx, parent, vi, dflags)) {
      trace(ctx, 'copy_page_range', `pages ${v.start}..${v.end - 1}: no anon_vma, child will fault them`);
      continue;
    }
    const r = copy_page_range(s, ctx, parent, child, vi, within ? fromVa : v.start, v.end, dflags, stop);
    if (typeof r === 'object') return { child, vi, va: r.at, kind: r.kind };
    err = r;
  }
  if (err) {
    // dup_mmap() failed: the half-built mm goes (exit_mmap) and copy_mm() returns -ENOMEM
    exit_mmap(s, ctx, child);
    task_set_state(s, child, TASK_DEAD);
    trace(ctx, 'copy_process', `fork fails: dup_mmap() returned ${err}, -ENOMEM`);
    return -ENOMEM;
  }

  // file descriptors: pipes and the io_uring ring are shared with the child
  for (let p = 0; p < s.L.geo.pipes; p++) {
    if (pipe_open(s, p) && pipe_holders(s, p) & (1 << parent)) pipe_set_holders(s, p, pipe_holders(s, p) | (1 << child));
  }
  for (let t = 0; t < s.L.geo.tasks; t++) {
    const ring = task_ring(s, t);
    if (ring & (1 << parent)) task_set_ring(s, t, ring | (1 << child));
  }
  trace(ctx, 'copy_process', `task ${child} forked from ${parent}`);
  return 0;
}

/**
 * What a store by another thread of task `t` means while a fork of `t` is
 * stopped in a window (no kernel state: the properties' bookkeeping). The
 * store needed no fault, so it went through a writable PTE. A page of a
 * private mapping the fork has not reached goes to the child with the
 * store in it: the child may observe write `wid`. A page it passed was
 * copied (the parent's PTE of a shared page is write-protected, and a store
 * to it faults and waits): the child does not get the store. A store to an
 * unreached page after one to a passed page makes the child's memory a
 * state the parent's never was (torn, docs/kernel/large-folios.md I2: no
 * kernel write-protects a maybe-pinned page while fork copies it).
 */
export function fork_user_store(s: KState, ctx: KCtx, t: number, va: number, wid: number): void {
  const th = thread_stopped_on(s, THOP_FORK, t);
  if (th < 0) return;
  const vi = vma_lookup_idx(s, t, va);
  const flags = vi >= 0 ? vma_flags_at(s, t, vi) : 0;
  if (!is_cow_mapping(flags) || flags & (VM_DONTCOPY | VM_WIPEONFORK)) return;
  // the fork walks the VMAs in address order: pages below where it stopped are done
  const at = thread_get(s, th, TH_VA);
  if (va < at || (va === at && thread_get(s, th, TH_FOLL) === FORK_STOP_COPY)) {
    thread_set(s, th, TH_DONE, thread_get(s, th, TH_DONE) | FORK_PASSED_STORE);
    return;
  }
  const child = thread_get(s, th, TH_N);
  if (wid !== 0) vis_grant(s, child, wid);
  if (thread_get(s, th, TH_DONE) & FORK_PASSED_STORE) ctx.torn.push({ t, child, vpage: va, wid });
}
