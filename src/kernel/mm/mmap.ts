/**
 * mm/mmap.c and mm/vma.c: creating, splitting, merging and removing VMAs;
 * munmap.
 *
 * The model keeps each mm's VMAs in a small sorted array. Splits and merges
 * are not observable by the executor, but merging keeps the array small.
 */
import type { KState } from '../../model/layout.js';
import { FF_SHMEM_ANON, FF_HUGETLB, FF_HUGETLB_PUD } from '../../model/layout.js';
import {
  type Vma,
  vmas_of,
  vmas_store,
  file_maps_add,
  file_maps,
  file_size,
  filemap_get,
  filemap_set,
  file_flags,
  file_release,
  VM_READ,
  VM_WRITE,
  VM_EXEC,
  VM_SHARED,
  VM_MAYREAD,
  VM_MAYWRITE,
  VM_MAYEXEC,
  VM_MAYSHARE,
  VM_SOFTDIRTY,
  VM_ACCOUNT,
  VM_NOHUGEPAGE,
  VM_HUGETLB,
  VM_HUGE_PUD,
  VM_NORESERVE,
  hugetlb_new_file,
} from '../../model/mm_types.js';
import { refs_detach_range } from '../../model/refs.js';
import { type KCtx, trace, ModelBug } from '../ctx.js';
import { zap_pte_range } from './memory.js';
import { split_huge_pmd_address } from './huge_memory.js';
import { folio_put } from './swap.js';
import { file_create } from './filemap.js';
import { page_set_mapping } from '../../model/mm_types.js';
import { EINVAL, ENOMEM } from '../errno.js';
import {
  hugetlb_reserve_pages,
  hugetlb_reserve_file_pages,
  hugetlb_vm_op_close,
  hugetlb_range_misaligned,
  hugetlb_file_pgoff,
  hugetlbfs_evict_inode,
} from './hugetlb.js';

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

/** calc_vm_prot_bits(). */
export function calc_vm_prot_bits(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/**
 * Which VMAs an operation changed (the merge sources) and which rule
 * is_mergeable_anon_vma() follows (features.anonVmaMerge).
 */
export interface MergeHint {
  changed: ReadonlySet<Vma>;
  rule: 'target' | 'source';
}

/**
 * Two neighbouring VMAs the kernel would merge (vma_merge's compatibility
 * test, reduced): the same flags and file, and is_mergeable_anon_vma(): the
 * same anon_vma, or only one has one. With the 'source' rule (6.15+,
 * mm/vma.c) the one that has it must not hold a parent's
 * (vma_had_uncowed_parents()), whichever side it is on. With the 'target'
 * rule (up to 6.14) the kernel asks the neighbour being merged into: an
 * existing VMA the operation changed (`hint.changed`; of two, the upper one,
 * as the kernel walks up) merges only into a neighbour that has the anon_vma,
 * its only one. Under either rule two VMAs the operation left alone are not
 * merged (fuzz seed 4096: a fork's uffd reset left two such VMAs equal).
 */
function mergeable(a: Vma, b: Vma, hint: MergeHint): boolean {
  // vma_merge*() only looks at the neighbours of the range it changed: two VMAs left alone stay apart
  if (!hint.changed.has(a) && !hint.changed.has(b)) return false;
  if (a.end !== b.start || a.flags !== b.flags || a.file !== b.file) return false;
  // a MAP_HUGETLB mapping is a file of its own: only its own pieces merge again
  if ((a.file >= 0 || a.flags & VM_HUGETLB) && a.pgoff + (a.end - a.start) !== b.pgoff) return false;
  if (!a.anon && !b.anon) return true;
  if (a.anon && b.anon) return a.av === b.av;
  const withAnon = a.anon ? a : b;
  if ((withAnon.av! & 1) !== 0) return false;
  if (hint.rule !== 'target') return true;
  // the source is the changed one (of two changed ones, the upper): it must be the one without the anon_vma
  const source = hint.changed.has(b) ? b : hint.changed.has(a) ? a : null;
  return source !== null && source !== withAnon;
}

/** The merge hint of an operation that changed `changed` (none: a teardown). */
export function mergeHint(ctx: KCtx, changed: readonly Vma[] = []): MergeHint {
  return { changed: new Set(changed), rule: ctx.prof.mech.features.anonVmaMerge };
}

/** Sorts and merges a VMA list, then stores it. */
export function vmas_commit(s: KState, t: number, list: Vma[], hint: MergeHint): void {
  list.sort((x, y) => x.start - y.start);
  const out: Vma[] = [];
  // each pair is judged by the two VMAs as they were (the source against either neighbour), the merged
  // one only by vma_merge()'s three-way condition: prev and next anon_vmas equal or one of them absent
  let prevOrig: Vma | null = null;
  for (const v of list) {
    const last = out[out.length - 1];
    if (last && v.start < last.end) throw new ModelBug(`mm of task ${t}: VMAs ${last.start}-${last.end} and ${v.start}-${v.end} overlap`);
    if (last && prevOrig && mergeable(prevOrig, v, hint) && (!last.anon || !v.anon || last.av === v.av)) {
      last.end = v.end;
      // the merged VMA keeps the anon_vma one of them had
      if (!last.anon && v.anon) Object.assign(last, { anon: true, av: v.av });
    } else out.push({ ...v });
    prevOrig = v;
  }
  if (!vmas_store(s, t, out)) throw new ModelBug(`mm of task ${t} needs more than ${s.L.geo.vmas} VMAs`);
}

/**
 * Applies `fn` to the parts of the VMAs inside [start, end), splitting at the
 * boundaries (split_vma + vma_modify). `fn` may return null to remove a part.
 */
export function vma_modify(
  s: KState,
  t: number,
  start: number,
  end: number,
  fn: (v: Vma) => Vma | null,
  ctx: KCtx,
  opts: { splitPmds: boolean } = { splitPmds: true },
): void {
  const out: Vma[] = [];
  const changed: Vma[] = [];
  for (const v of vmas_of(s, t)) {
    if (v.end <= start || v.start >= end) {
      out.push(v);
      continue;
    }
    const lo = Math.max(v.start, start);
    const hi = Math.min(v.end, end);
    const mid = fn({ ...v, start: lo, end: hi, pgoff: v.pgoff + (lo - v.start) });
    // mprotect_fixup(), madvise_update_vma(), userfaultfd_register_range(): a VMA whose flags stay is not
    // split (nor merged: vmas_commit() merges only what changed)
    if (mid && mid.flags === v.flags && mid.anon === v.anon) {
      out.push(v);
      continue;
    }
    if (v.start < start) out.push({ ...v, end: start });
    if (mid) {
      out.push(mid);
      changed.push(mid);
    }
    if (v.end > end) out.push({ ...v, start: end, pgoff: v.pgoff + (end - v.start) });
    // __split_vma() -> vma_adjust_trans_huge(): a huge PMD across a new VMA boundary is split
    if (opts.splitPmds) {
      if (v.start < lo) split_huge_pmd_address(s, ctx, t, lo);
      if (hi < v.end) split_huge_pmd_address(s, ctx, t, hi);
    }
  }
  vmas_commit(s, t, out, mergeHint(ctx, changed));
}

/** Whether [start, end) is fully covered by VMAs. */
export function range_mapped(s: KState, t: number, start: number, end: number): boolean {
  let at = start;
  for (const v of vmas_of(s, t)) {
    if (v.end <= at) continue;
    if (v.start > at) return false;
    at = v.end;
    if (at >= end) return true;
  }
  return at >= end;
}

/** A file's VMA count dropped: the shmem object of MAP_SHARED|MAP_ANONYMOUS dies with its last mapping. */
function file_unmapped(s: KState, ctx: KCtx, f: number): void {
  file_maps_add(s, f, -1);
  if (file_maps(s, f) > 0) return;
  if ((file_flags(s, f) & FF_SHMEM_ANON) === 0) return;
  if (file_flags(s, f) & FF_HUGETLB) {
    hugetlbfs_evict_inode(s, ctx, f);
    file_release(s, f);
    return;
  }
  for (let i = 0; i < file_size(s, f); i++) {
    const pfn = filemap_get(s, f, i);
    if (pfn === 0) continue;
    filemap_set(s, f, i, 0);
    page_set_mapping(s, pfn, -1, 0);
    folio_put(s, pfn);
  }
  file_release(s, f);
}

/**
 * do_vmi_munmap() / unmap_region(): zap the range (dropping uffd-wp
 * markers) and remove the VMAs. unmap_region() no longer drains the LRU
 * batches (none in 7.2's mm/vma.c; the host agrees, fuzz seed 4). A file
 * whose last mapping went is released at once, or, with `fputs`, added
 * there for the caller to release when its system call returns.
 */
export function do_munmap(s: KState, ctx: KCtx, t: number, start: number, end: number, fputs?: number[]): number {
  if (end <= start) return -EINVAL;
  if (hugetlb_range_misaligned(s, t, start, end)) return -EINVAL;
  const vmas = vmas_of(s, t);
  let touched = false;
  vmas.forEach((v, i) => {
    const lo = Math.max(v.start, start);
    const hi = Math.min(v.end, end);
    if (lo >= hi) return;
    touched = true;
    zap_pte_range(s, ctx, t, i, lo, hi, { dropMarker: true });
    if (v.flags & VM_HUGETLB) hugetlb_vm_op_close(s, ctx, t, i, lo, hi);
  });
  if (!touched) return 0;
  refs_detach_range(s, t, start, end);
  const before = mm_files(s, t);
  vma_modify(s, t, start, end, () => null, ctx, { splitPmds: false });
  const after = new Set(mm_files(s, t));
  for (const f of before) {
    if (after.has(f)) continue;
    if (fputs) fputs.push(f);
    else file_unmapped(s, ctx, f);
  }
  trace(ctx, 'do_vmi_munmap', `pages ${start}..${end - 1} unmapped`);
  return 0;
}

/** Arguments of an mmap() the scenario asked for. */
export interface MmapArgs {
  start: number;
  pages: number;
  prot: number;
  shared: boolean;
  /** file id, or -1 for anonymous memory */
  file: number;
  pgoff: number;
  /** the VMA follows the THP modes (else MADV_NOHUGEPAGE right after mmap, as cow.c does for base pages) */
  thp?: boolean;
  /** MAP_HUGETLB: huge pages of the PMD size from the hugetlb pool (private anonymous only) */
  hugetlb?: boolean;
  /** with hugetlb: MAP_HUGE_1GB, pages of the PUD size */
  gigantic?: boolean;
  /** MAP_NORESERVE (hugetlb: no reservation) */
  noreserve?: boolean;
}

/**
 * do_mmap() with MAP_FIXED at the scenario's address: replaces whatever
 * was mapped there. MAP_SHARED|MAP_ANONYMOUS gets its own shmem object.
 */
export function do_mmap(s: KState, ctx: KCtx, t: number, a: MmapArgs): number {
  // fput() of the replaced mappings' files is task work, run when the system call returns (every
  // era): a MAP_SHARED|MAP_HUGETLB object's inode, with its reservations and pages, outlives the new
  // mapping's reservation (fuzz seed 12002, scenario 35: ENOMEM on the kernel)
  const fputs: number[] = [];
  const r = mmap_region(s, ctx, t, a, fputs);
  for (const f of fputs) file_unmapped(s, ctx, f);
  return r;
}

function mmap_region(s: KState, ctx: KCtx, t: number, a: MmapArgs, fputs: number[]): number {
  if (a.pages <= 0) return -EINVAL;
  if (a.start + a.pages > s.L.geo.vpages) return -ENOMEM;
  let file = a.file;
  let pgoff = a.pgoff;
  if (a.shared && file < 0) {
    // MAP_SHARED|MAP_ANONYMOUS: a shmem object, or with MAP_HUGETLB an unlinked hugetlbfs file
    file = file_create(s, FF_SHMEM_ANON | (a.hugetlb ? FF_HUGETLB | (a.gigantic ? FF_HUGETLB_PUD : 0) : 0), a.pages);
    if (file < 0) throw new ModelBug('no file slot left for a MAP_SHARED|MAP_ANONYMOUS object');
    pgoff = 0;
  }
  // the old mapping goes first (6.12+ zaps and closes it before the new file mmap too, and cannot
  // put it back when that fails: the range is left empty in every era)
  do_munmap(s, ctx, t, a.start, a.start + a.pages, fputs);
  let flags = calc_vm_prot_bits(a.prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_SOFTDIRTY | (a.thp ? 0 : VM_NOHUGEPAGE);
  if (a.shared) flags |= VM_SHARED | VM_MAYSHARE;
  else if (a.prot & PROT_WRITE && !a.hugetlb) flags |= VM_ACCOUNT;
  if (file >= 0 && file_flags(s, file) & FF_HUGETLB) {
    // hugetlbfs_file_mmap(): a private mapping reserves its pages (for its COW copies), a shared one
    // the file's pages not reserved yet (none for a fallocated MFD_HUGETLB memfd)
    flags = (flags & ~VM_NOHUGEPAGE) | VM_HUGETLB | (a.noreserve ? VM_NORESERVE : 0);
    if (file_flags(s, file) & FF_HUGETLB_PUD) flags |= VM_HUGE_PUD;
    if (!a.shared) {
      const r = hugetlb_reserve_pages(s, ctx, a.pages, flags);
      if (r < 0) return r;
      flags |= r;
    } else if (hugetlb_reserve_file_pages(s, ctx, file, pgoff, a.pages, flags) < 0) {
      if (file !== a.file) file_release(s, file);
      return -ENOMEM;
    }
  } else if (a.hugetlb) {
    // ksys_mmap_pgoff(): MAP_HUGETLB sets up an unlinked hugetlbfs file; hugetlbfs_file_mmap() reserves
    flags = (flags & ~VM_NOHUGEPAGE) | VM_HUGETLB | (a.noreserve ? VM_NORESERVE : 0) | (a.gigantic ? VM_HUGE_PUD : 0);
    const r = hugetlb_reserve_pages(s, ctx, a.pages, flags);
    if (r < 0) return r;
    flags |= r;
    pgoff = hugetlb_file_pgoff(hugetlb_new_file(s));
  }
  const list = vmas_of(s, t);
  const had = file >= 0 && list.some((v) => v.file === file);
  const vma: Vma = { start: a.start, end: a.start + a.pages, flags, file, pgoff, anon: false };
  list.push(vma);
  vmas_commit(s, t, list, mergeHint(ctx, [vma]));
  if (file >= 0 && !had) file_maps_add(s, file, 1);
  trace(
    ctx,
    'do_mmap',
    `pages ${a.start}..${a.start + a.pages - 1} ${a.shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}${a.hugetlb ? '|MAP_HUGETLB' : ''}` +
      `${file >= 0 ? ` file ${file}` : ' anonymous'}`,
  );
  return 0;
}

/** The files an mm maps, in id order (F_MAPS counts mms, not VMAs). */
export function mm_files(s: KState, t: number): number[] {
  const set = new Set<number>();
  for (const v of vmas_of(s, t)) if (v.file >= 0) set.add(v.file);
  return [...set].sort((a, b) => a - b);
}

/** An mm starts or stops mapping a file (fork, exit). */
export function mm_file_ref(s: KState, ctx: KCtx, f: number, delta: 1 | -1): void {
  if (delta > 0) file_maps_add(s, f, 1);
  else file_unmapped(s, ctx, f);
}
