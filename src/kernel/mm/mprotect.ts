/**
 * mm/mprotect.c (6.18, docs/kernel/vm-ops.md 5): do_mprotect_pkey,
 * mprotect_fixup and change_pte_range, including the uffd-wp flavours of
 * change_protection() that userfaultfd uses.
 */
import type { KState } from '../../model/layout.js';
import {
  type Pte,
  pte_present,
  pte_write,
  pte_wrprotect,
  pte_mkwrite,
  pte_mkuffd_wp,
  pte_clear_uffd_wp,
  pte_dirty,
  pte_mkdirty,
  pte_pfn,
  pte_soft_dirty,
  pte_uffd_wp,
  pte_advance_pfn,
  pte_none,
  is_swap_pte,
  pte_swp_mkuffd_wp,
  pte_swp_clear_uffd_wp,
  pte_marker_uffd_wp,
  PTE_MARKER_UFFD_WP,
  PTE_NONE,
} from '../../model/pte.js';
import {
  vmas_of,
  ptep_get,
  set_pte_at,
  VM_READ,
  VM_ACCOUNT,
  VM_NORESERVE,
  VM_HUGETLB,
  VM_WRITE,
  VM_EXEC,
  VM_SHARED,
  VM_UFFD_WP,
  task_uffd,
  is_cow_mapping,
  mm_flags,
  pmdp_get,
  pte_lookup,
  folio_head,
  folio_test_large,
} from '../../model/mm_types.js';
import { pmd_write, pmd_pfn, is_huge_zero_pmd } from '../../model/pmd.js';
import { split_partial_pmds, change_huge_pmd } from './huge_memory.js';
import { hugetlb_change_protection, hugetlb_range_misaligned } from './hugetlb.js';
import { UFFD_FEATURE_WP_UNPOPULATED, MMF_HAS_PINNED } from '../../model/layout.js';
import { type KCtx, trace } from '../ctx.js';
import {
  vm_normal_page,
  pte_needs_soft_dirty_wp,
  userfaultfd_pte_wp,
  vma_wants_writenotify,
  vma_wants_writenotify_by_ops,
  vma_is_anonymous,
} from './memory.js';
import { PageAnon, PageAnonExclusive } from './rmap.js';
import { vma_modify, calc_vm_prot_bits, PROT_READ, PROT_WRITE, PROT_EXEC } from './mmap.js';
import { EINVAL, ENOMEM, EACCES, EBUSY } from '../errno.js';
import { folio_maybe_dma_pinned } from './rmap.js';

/** change_protection() flags. */
export const MM_CP_TRY_CHANGE_WRITABLE = 1 << 0;
export const MM_CP_UFFD_WP = 1 << 1;
export const MM_CP_UFFD_WP_RESOLVE = 1 << 2;
/**
 * Model flag: the new PTEs take vm_get_page_prot(vm_flags), not the VMA's
 * write-notify-reduced vm_page_prot: how mwriteprotect_range() un-protected
 * before uffd_wp_range() relied on vm_page_prot (uffd.unprotectWritable off),
 * so a shared writable mapping's PTEs came back writable.
 */
export const MM_CP_VM_FLAGS_PROT = 1 << 3;

/**
 * can_change_pte_writable() (6.18, 64fe24a3e05e): may a read-only PTE be
 * made writable without a write fault? Private: an exclusive anon page
 * (before 6.0 never); shared: a dirty PTE. Never under soft-dirty or
 * uffd-wp tracking.
 */
export function can_change_pte_writable(s: KState, ctx: KCtx, vflags: number, pte: Pte): boolean {
  if ((vflags & VM_WRITE) === 0) return false;
  if (pte_needs_soft_dirty_wp(ctx, vflags, pte)) return false;
  if (userfaultfd_pte_wp(vflags, pte)) return false;
  if ((vflags & VM_SHARED) === 0) {
    const mode = ctx.prof.mech.wrprotect.mprotectWritable;
    if (mode === 'none') return false;
    if (mode === 'dirty' && !pte_dirty(pte)) return false; // 64fe24a3e05e as merged in 6.0
    const pfn = vm_normal_page(pte);
    return pfn !== 0 && PageAnon(s, pfn) && PageAnonExclusive(s, pfn);
  }
  return pte_dirty(pte);
}

/**
 * vma_wants_manual_pte_write_upgrade() as its callers meet it (mprotect_fixup()
 * and uffd_wp_range(), every era that has them): for a shared mapping it asks
 * vma_wants_writenotify(vma, vma->vm_page_prot), and that vm_page_prot is the
 * one of the old flags (mprotect_fixup() calls it before vma_set_page_prot())
 * or already write-notify-reduced (a uffd-wp VMA), so it never equals
 * vm_pgprot_modify() of the current flags: vma_wants_writenotify() returns
 * false at that check, before it looks at soft-dirty or uffd-wp, unless the
 * backer has ->page_mkwrite, which it tests first. So shmem PTEs are never
 * upgraded there (host fuzz seed 9002: shmem uffd-wp un-protect left the PTE
 * read-only and the next write faulted).
 */
export function vma_wants_manual_pte_write_upgrade(s: KState, t: number, vi: number, vflags: number): boolean {
  if (vflags & VM_SHARED) return (vflags & VM_WRITE) !== 0 && vma_wants_writenotify_by_ops(s, t, vi);
  return (vflags & VM_WRITE) !== 0;
}

/**
 * Proposals only (Linus' rule (c), John Hubbard's point 2): is this a
 * writable PTE of a maybe-pinned page in a COW mapping, which the profile
 * will not write-protect?
 */
export function pte_is_pinned_writable(s: KState, ctx: KCtx, t: number, vflags: number, pte: Pte): boolean {
  if (!pte_present(pte) || !pte_write(pte) || !is_cow_mapping(vflags)) return false;
  if ((mm_flags(s, t) & MMF_HAS_PINNED) === 0) return false;
  const pfn = vm_normal_page(pte);
  return pfn !== 0 && folio_maybe_dma_pinned(s, ctx, pfn);
}

/** Whether [start, end) of task t holds a writable PTE of a maybe-pinned page (VMA flags from the table). */
export function range_has_pinned_writable(s: KState, ctx: KCtx, t: number, start: number, end: number): boolean {
  for (const v of vmas_of(s, t)) {
    for (let va = Math.max(v.start, start); va < Math.min(v.end, end); va++) {
      if (pte_is_pinned_writable(s, ctx, t, v.flags, pte_lookup(s, t, va))) return true;
    }
  }
  return false;
}

/**
 * change_pte_range() over [start, end) of VMA `vi`, whose flags are already
 * the new ones. `skipPinned` (proposals): leave writable PTEs of
 * maybe-pinned pages alone, as clear_refs does since 9348b73c2e1b.
 */
export function change_pte_range(
  s: KState,
  ctx: KCtx,
  t: number,
  vi: number,
  start: number,
  end: number,
  vflags: number,
  cp: number,
  skipPinned = false,
): void {
  const anon = vma_is_anonymous(s, t, vi);
  const markers = (vflags & VM_UFFD_WP) !== 0 && (!anon || (task_uffd(s, t) & UFFD_FEATURE_WP_UNPOPULATED) !== 0);
  let changed = 0;
  // private anon only: a large folio of a shared mapping is not modelled
  const batching = ctx.prof.mech.wrprotect.mprotectBatch && !skipPinned && anon && (vflags & VM_SHARED) === 0;
  for (let va = start; va < end; va++) {
    const old = ptep_get(s, t, va);
    let p = old;
    if (skipPinned && pte_is_pinned_writable(s, ctx, t, vflags, old)) {
      trace(ctx, 'change_pte_range', `page ${va}: maybe pinned, left writable`);
      continue;
    }
    if (batching && pte_present(old)) {
      const n = mprotect_folio_pte_batch(s, t, va, end, old);
      if (n > 1) {
        changed += change_present_ptes_batch(s, ctx, t, vflags, cp, va, n);
        va += n - 1;
        continue;
      }
    }
    if (pte_present(p)) {
      // pte_modify(): the PTE takes vm_page_prot's write bit; it is set only for a shared
      // writable mapping that needs no write-notify (private ones get PAGE_COPY, read-only)
      const protWritable =
        (vflags & (VM_SHARED | VM_WRITE)) === (VM_SHARED | VM_WRITE) &&
        ((cp & MM_CP_VM_FLAGS_PROT) !== 0 || !vma_wants_writenotify(s, ctx, t, vi, vflags));
      p = protWritable ? pte_mkwrite(p) : pte_wrprotect(p);
      if (cp & MM_CP_UFFD_WP) p = pte_mkuffd_wp(p);
      else if (cp & MM_CP_UFFD_WP_RESOLVE) p = pte_clear_uffd_wp(p);
      if (cp & MM_CP_TRY_CHANGE_WRITABLE && !pte_write(p) && can_change_pte_writable(s, ctx, vflags, p)) {
        p = pte_mkwrite(p);
      }
    } else if (pte_none(p)) {
      if (cp & MM_CP_UFFD_WP && markers) p = PTE_MARKER_UFFD_WP;
    } else if (is_swap_pte(p)) {
      if (cp & MM_CP_UFFD_WP) p = pte_swp_mkuffd_wp(p);
      else if (cp & MM_CP_UFFD_WP_RESOLVE) p = pte_swp_clear_uffd_wp(p);
    } else if (pte_marker_uffd_wp(p) && cp & MM_CP_UFFD_WP_RESOLVE) {
      p = PTE_NONE;
    }
    if (p !== old) {
      set_pte_at(s, t, va, p);
      changed++;
    }
  }
  if (changed) trace(ctx, 'change_pte_range', `${changed} PTE(s) changed`);
}

/**
 * mprotect_folio_pte_batch() (6.17+): how many PTEs from `va` map
 * consecutive pages of one large folio with the same write, soft-dirty and
 * uffd-wp bits (dirty may differ).
 */
function mprotect_folio_pte_batch(s: KState, t: number, va: number, end: number, first: Pte): number {
  const pfn = pte_pfn(first);
  if (pfn === 0 || !folio_test_large(s, pfn)) return 1;
  const head = folio_head(s, pfn);
  let n = 1;
  for (; va + n < end; n++) {
    const q = ptep_get(s, t, va + n);
    if (!pte_present(q) || pte_pfn(q) !== pfn + n || folio_head(s, pfn + n) !== head) break;
    if (pte_write(q) !== pte_write(first) || pte_soft_dirty(q) !== pte_soft_dirty(first) || pte_uffd_wp(q) !== pte_uffd_wp(first)) break;
  }
  return n;
}

/**
 * change_present_ptes() over a batch of `n` (6.17+, "mm: optimize mprotect()
 * by PTE batching"): modify_prot_start_ptes() gathers the batch's dirty bits
 * into the first PTE with pte_mkdirty(), which on x86 also sets soft-dirty,
 * and every PTE of the batch is committed with the first one's bits; the
 * writable upgrade is still decided page by page (commit_anon_folio_batch).
 * Returns the PTEs changed.
 */
function change_present_ptes_batch(s: KState, ctx: KCtx, t: number, vflags: number, cp: number, va: number, n: number): number {
  let merged = ptep_get(s, t, va);
  for (let k = 1; k < n; k++) if (pte_dirty(ptep_get(s, t, va + k))) merged = pte_mkdirty(merged);
  let changed = 0;
  for (let k = 0; k < n; k++) {
    let p = pte_wrprotect(pte_advance_pfn(merged, k));
    if (cp & MM_CP_UFFD_WP) p = pte_mkuffd_wp(p);
    else if (cp & MM_CP_UFFD_WP_RESOLVE) p = pte_clear_uffd_wp(p);
    if (cp & MM_CP_TRY_CHANGE_WRITABLE && can_change_pte_writable(s, ctx, vflags, p)) p = pte_mkwrite(p);
    if (p !== ptep_get(s, t, va + k)) {
      set_pte_at(s, t, va + k, p);
      changed++;
    }
  }
  return changed;
}

/**
 * change_protection() over [start, end) of VMA `vi` (change_pmd_range then
 * change_pte_range): a huge PMD the range covers whole is changed by
 * change_huge_pmd(), one it covers in part is split first.
 */
export function change_protection(
  s: KState,
  ctx: KCtx,
  t: number,
  vi: number,
  start: number,
  end: number,
  vflags: number,
  cp: number,
  skipPinned = false,
): void {
  for (const h of split_partial_pmds(s, ctx, t, start, end)) {
    const pmd = pmdp_get(s, t, h);
    if (
      skipPinned &&
      pmd_write(pmd) &&
      !is_huge_zero_pmd(pmd) &&
      is_cow_mapping(vflags) &&
      mm_flags(s, t) & MMF_HAS_PINNED &&
      folio_maybe_dma_pinned(s, ctx, pmd_pfn(pmd))
    ) {
      trace(ctx, 'change_huge_pmd', `PMD at page ${h}: maybe pinned, left writable`);
      continue;
    }
    change_huge_pmd(s, ctx, t, h, vflags, {
      uffdWp: (cp & MM_CP_UFFD_WP) !== 0,
      uffdResolve: (cp & MM_CP_UFFD_WP_RESOLVE) !== 0,
      tryWritable: (cp & MM_CP_TRY_CHANGE_WRITABLE) !== 0,
    });
  }
  change_pte_range(s, ctx, t, vi, start, end, vflags, cp, skipPinned);
}

/**
 * do_mprotect_pkey() -> mprotect_fixup() (6.18): errno checks, VMA
 * split/merge, then change_protection() unless the flags are unchanged.
 */
export function do_mprotect(s: KState, ctx: KCtx, t: number, start: number, end: number, prot: number): number {
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) return -EINVAL;
  if (end <= start) return 0;
  const vmas = vmas_of(s, t);
  // every page of the range must be mapped; holes give -ENOMEM after the earlier VMAs changed
  let at = start;
  let err = 0;
  const todo: number[] = [];
  for (let i = 0; i < vmas.length && at < end; i++) {
    const v = vmas[i]!;
    if (v.end <= at) continue;
    if (v.start > at) {
      err = -ENOMEM;
      break;
    }
    const newflags = (v.flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | calc_vm_prot_bits(prot);
    // VM_READ/WRITE/EXEC requested without the matching VM_MAY* bit
    if (newflags & ~(newflags >> 4) & (VM_READ | VM_WRITE | VM_EXEC)) {
      err = -EACCES;
      break;
    }
    todo.push(i);
    at = v.end;
  }
  if (!err && at < end) err = -ENOMEM;
  const pinned = ctx.prof.mech.wrprotect.mprotectPinned;
  const losesWrite = (prot & PROT_WRITE) === 0;
  if (pinned === 'ebusy' && losesWrite && range_has_pinned_writable(s, ctx, t, start, Math.min(end, at))) {
    trace(ctx, 'do_mprotect_pkey', 'a maybe-pinned page would lose its write bit: -EBUSY');
    return -EBUSY;
  }
  const lo = start;
  const hi = Math.min(end, at);
  for (const i of todo) {
    const v = vmas[i]!;
    const a = Math.max(v.start, lo);
    const b = Math.min(v.end, hi);
    let newflags = (v.flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | calc_vm_prot_bits(prot);
    // mprotect_fixup(): a private mapping made writable is charged (VM_ACCOUNT) and stays so when it is
    // made read-only again, unless (6.7+) it is anonymous and was never faulted (no anon_vma)
    if (newflags & VM_WRITE) {
      if ((v.flags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE)) === 0) newflags |= VM_ACCOUNT;
    } else if (ctx.prof.mech.features.mprotectUnaccount && v.flags & VM_ACCOUNT && v.file < 0 && !(v.flags & VM_HUGETLB) && !v.anon)
      newflags &= ~VM_ACCOUNT;
    if (newflags === v.flags) continue; // mprotect_fixup(): nothing to do, no PTE walk
    // the split of a hugetlb VMA off a huge-page boundary fails (hugetlb_vm_op_split)
    if (v.flags & VM_HUGETLB && hugetlb_range_misaligned(s, t, a, b)) {
      trace(ctx, 'hugetlb_vm_op_split', `pages ${a}..${b - 1} split a hugetlb VMA off a huge-page boundary: -EINVAL`);
      return -EINVAL;
    }
    vma_modify(s, t, a, b, (x) => ({ ...x, flags: newflags }), ctx);
    const vi = vmas_of(s, t).findIndex((x) => x.start <= a && a < x.end);
    if (newflags & VM_HUGETLB) {
      hugetlb_change_protection(s, ctx, t, a, b, newflags);
      continue;
    }
    let cp = 0;
    if (vma_wants_manual_pte_write_upgrade(s, t, vi, newflags)) cp |= MM_CP_TRY_CHANGE_WRITABLE;
    // rule (c) keeps a pinned PTE writable when the VMA stays writable (pte_modify would clear the bit), or on 'skip'
    change_protection(s, ctx, t, vi, a, b, newflags, cp, pinned === 'skip' || (pinned === 'ebusy' && !losesWrite));
  }
  trace(ctx, 'do_mprotect_pkey', `pages ${start}..${end - 1} prot ${protString(prot)}${err ? ` -> ${err}` : ''}`);
  return err;
}

export function protString(prot: number): string {
  if (prot === 0) return 'PROT_NONE';
  const p: string[] = [];
  if (prot & PROT_READ) p.push('PROT_READ');
  if (prot & PROT_WRITE) p.push('PROT_WRITE');
  if (prot & PROT_EXEC) p.push('PROT_EXEC');
  return p.join('|');
}
