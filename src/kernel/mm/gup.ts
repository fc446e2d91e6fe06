/**
 * mm/gup.c: get_user_pages / pin_user_pages, the slow path and GUP-fast.
 *
 * Follows the 6.x code described in docs/kernel/gup.md: check_vma_flags,
 * follow_page_pte with can_follow_write_pte and gup_must_unshare,
 * faultin_page, try_grab_folio with the pin bias, and GUP-fast's fallback
 * conditions. Older mechanisms (FOLL_COW, the 5.8 forced COW break, no
 * unsharing) are selected by the profile.
 */
import type { KState } from '../../model/layout.js';
import { ZERO_PFN, MMF_HAS_PINNED, PGF_DIRTY, PGF_REFERENCED, PGF_ANON_EXCLUSIVE } from '../../model/layout.js';
import { type Pte, pte_present, pte_write, pte_pfn, pte_dirty, pte_soft_dirty } from '../../model/pte.js';
import {
  ptep_get,
  vma_lookup_idx,
  vma_flags_at,
  is_cow_mapping,
  mm_flags,
  mm_set_flags,
  page_ref_add,
  page_ref_count,
  page_set,
  VM_IO,
  VM_HUGETLB,
  VM_PFNMAP,
  VM_WRITE,
  VM_READ,
  VM_EXEC,
  VM_MAYREAD,
  VM_MAYWRITE,
  VM_SHARED,
  VM_MAYSHARE,
  VM_UFFD_WP,
  vma_file_at,
  file_flags,
  pte_lookup,
  pmdp_get,
  pudp_get,
  set_pmd_at,
  pmd_nr,
  folio_test_large,
  folio_pincount_add,
  folio_head,
} from '../../model/mm_types.js';
import {
  type Pmd,
  pmd_trans_huge,
  pmd_none,
  is_huge_zero_pmd,
  pmd_pfn,
  pmd_write,
  pmd_dirty,
  pmd_mkdirty,
  pmd_soft_dirty,
  pmd_uffd_wp,
} from '../../model/pmd.js';
import { FF_TMPFILE } from '../../model/layout.js';
import { type KCtx, trace } from '../ctx.js';
import { nr_threads, mmap_write_holder, thread_stopped, WouldBlock } from '../../model/threads.js';
import { THOP_FORK } from '../../model/layout.js';
import {
  handle_mm_fault,
  FAULT_FLAG_WRITE,
  FAULT_FLAG_UNSHARE,
  FAULT_FLAG_REMOTE,
  FAULT_FLAG_TRIED,
  FAULT_FLAG_ALLOW_RETRY,
  VM_FAULT_ERROR,
  VM_FAULT_WRITE,
  VM_FAULT_RETRY,
  VM_FAULT_OOM,
  vm_normal_page,
  vma_soft_dirty_enabled,
  userfaultfd_pte_wp,
  vma_is_anonymous,
} from './memory.js';
import { PageAnon, PageAnonExclusive, GUP_PIN_COUNTING_BIAS, gup_holders, gup_holders_all } from './rmap.js';
import { folio_put_refs, folio_mark_accessed } from './swap.js';
import { EFAULT, ENOMEM, EAGAIN } from '../errno.js';

export {
  FOLL_WRITE,
  FOLL_GET,
  FOLL_PIN,
  FOLL_LONGTERM,
  FOLL_FORCE,
  FOLL_REMOTE,
  FOLL_TOUCH,
  FOLL_COW,
  FOLL_UNLOCKABLE,
} from '../../model/mm_types.js';
import {
  FOLL_WRITE,
  FOLL_GET,
  FOLL_PIN,
  FOLL_LONGTERM,
  FOLL_FORCE,
  FOLL_REMOTE,
  FOLL_TOUCH,
  FOLL_COW,
  FOLL_UNLOCKABLE,
} from '../../model/mm_types.js';
import { is_vm_hugetlb_page, hstate_vma, huge_ptep_get, pages_per_huge_page } from './hugetlb.js';

export function follToString(f: number): string {
  const n: string[] = [];
  if (f & FOLL_GET) n.push('FOLL_GET');
  if (f & FOLL_PIN) n.push('FOLL_PIN');
  if (f & FOLL_WRITE) n.push('FOLL_WRITE');
  if (f & FOLL_LONGTERM) n.push('FOLL_LONGTERM');
  if (f & FOLL_FORCE) n.push('FOLL_FORCE');
  if (f & FOLL_REMOTE) n.push('FOLL_REMOTE');
  return n.join('|');
}

/**
 * check_vma_flags() (6.x): the errno GUP gives for a VMA that does not allow
 * the access, 0 if it does. A FOLL_FORCE write into a read-only hugetlb VMA
 * is refused from 6.2 (stable 6.1.2) to 6.13 (hugetlb.forceWrite).
 */
export function check_vma_flags(ctx: KCtx, s: KState, t: number, vi: number, foll: number): number {
  const vflags = vma_flags_at(s, t, vi);
  if (vflags & (VM_IO | VM_PFNMAP)) return -EFAULT;
  if (foll & FOLL_WRITE) {
    // writable_file_mapping_allowed(): no long-term writable pins on file mappings that need dirty tracking
    if (
      !vma_is_anonymous(s, t, vi) &&
      (foll & (FOLL_PIN | FOLL_LONGTERM)) === (FOLL_PIN | FOLL_LONGTERM) &&
      vflags & VM_SHARED &&
      file_flags(s, vma_file_at(s, t, vi)) & FF_TMPFILE
    )
      return -EFAULT;
    if ((vflags & VM_WRITE) === 0) {
      if ((foll & FOLL_FORCE) === 0) return -EFAULT;
      if (vflags & VM_HUGETLB && ctx.prof.mech.hugetlb.forceWrite === 'refused') return -EFAULT;
      if (!is_cow_mapping(vflags)) return -EFAULT;
    }
  } else if ((vflags & VM_READ) === 0) {
    if ((foll & FOLL_FORCE) === 0) return -EFAULT;
    if ((vflags & VM_MAYREAD) === 0) return -EFAULT;
  }
  return 0;
}

/**
 * can_follow_write_pte(): may a FOLL_WRITE lookup use this PTE without a
 * write fault? 6.0+ (5535be309971): only a writable PTE, or FOLL_FORCE on
 * an exclusive anon page of a private !VM_WRITE mapping. Before: FOLL_COW
 * with a dirty PTE (Dirty COW fix 19be0eaffa3a; 5.8 dropped FOLL_FORCE).
 */
export function can_follow_write_pte(ctx: KCtx, s: KState, pte: Pte, pfn: number, vflags: number, foll: number): boolean {
  if (pte_write(pte)) return true;
  switch (ctx.prof.mech.gup.forceWrite) {
    case 'foll-write-games':
      // GUP drops FOLL_WRITE after the COW fault instead (see __get_user_pages)
      return false;
    case 'foll-cow':
      return (foll & FOLL_FORCE) !== 0 && (foll & FOLL_COW) !== 0 && pte_dirty(pte);
    case 'foll-cow-dirty':
      return (foll & FOLL_COW) !== 0 && pte_dirty(pte);
    case 'anon-exclusive':
      if ((foll & FOLL_FORCE) === 0) return false;
      if (vflags & (VM_MAYSHARE | VM_SHARED)) return false;
      if ((vflags & VM_MAYWRITE) === 0) return false;
      if (vflags & VM_WRITE) return false;
      if (pfn === 0 || !PageAnon(s, pfn) || !PageAnonExclusive(s, pfn)) return false;
      if (vma_soft_dirty_enabled(ctx, vflags) && !pte_soft_dirty(pte)) return false;
      return !userfaultfd_pte_wp(vflags, pte);
  }
}

/**
 * follow_page() without FOLL_FORCE (6.1 .. 6.4, gup.followPageProtnone):
 * pte_protnone() is true for every PTE of an inaccessible VMA on x86, and
 * gup_can_follow_protnone() lets only FOLL_FORCE past it, so ksmd's and
 * break_ksm()'s lookups find no page there (only KSM calls follow_page() in
 * the model).
 */
export function follow_page_refuses_protnone(s: KState, ctx: KCtx, t: number, va: number): boolean {
  if (!ctx.prof.mech.gup.followPageProtnone) return false;
  const vi = vma_lookup_idx(s, t, va);
  return vi >= 0 && (vma_flags_at(s, t, vi) & (VM_READ | VM_WRITE | VM_EXEC)) === 0;
}

/**
 * gup_must_unshare() (mm/internal.h): a R/O pin of a possibly shared anon
 * page (5.19, a7f226604170), and from 6.2 (8d6a0ac09a16) a R/O long-term
 * pin of anything else in a COW mapping. `vflags` is null for GUP-fast.
 */
export function gup_must_unshare(ctx: KCtx, s: KState, vflags: number | null, foll: number, pfn: number): boolean {
  const mode = ctx.prof.mech.gup.unshare;
  if (mode === 'none') return false;
  if ((foll & (FOLL_WRITE | FOLL_PIN)) !== FOLL_PIN) return false;
  const anon = pfn !== ZERO_PFN && PageAnon(s, pfn);
  if (!anon) {
    if (mode !== 'anon-and-cow-longterm') return false;
    if ((foll & FOLL_LONGTERM) === 0) return false;
    if (vflags === null) return true;
    return is_cow_mapping(vflags);
  }
  return !PageAnonExclusive(s, pfn);
}

/**
 * try_grab_folio(): FOLL_GET takes one reference; FOLL_PIN adds
 * GUP_PIN_COUNTING_BIAS on a small folio (3faa52c03f44; before 5.7 a pin
 * counted like a get) and is never taken on the zero page.
 */
export function try_grab_folio(ctx: KCtx, s: KState, pfn: number, foll: number): number {
  if (ctx.prof.mech.gup.pinCounting === 'split' && pfn !== ZERO_PFN && foll & (FOLL_PIN | FOLL_GET)) {
    // a 4-bit field per kind: the 16th pin (or get) of one page fails
    const pins = (foll & FOLL_PIN) !== 0;
    let held: number;
    if (ctx.inGup) {
      ctx.gupHolders ??= gup_holders_all(s);
      held = (pins ? ctx.gupHolders.pins : ctx.gupHolders.gets).get(pfn) ?? 0;
    } else held = gup_holders(s, pfn, pins);
    if (held >= GUP_FIELD_MAX) {
      trace(ctx, 'try_grab_folio', `page pfn#${pfn}: ${pins ? 'FOLL_PIN' : 'FOLL_GET'} field full (${GUP_FIELD_MAX}): -EAGAIN`);
      return -EAGAIN;
    }
  }
  if (foll & FOLL_PIN) {
    if (pfn === ZERO_PFN) return 0;
    if (folio_has_pincount(ctx, s, pfn)) {
      // a large folio counts pins exactly: one reference and one _pincount per page
      page_ref_add(s, pfn, 1);
      folio_pincount_add(s, pfn, 1);
    } else page_ref_add(s, pfn, pin_refs(ctx));
  } else if (foll & FOLL_GET) {
    if (pfn === ZERO_PFN) return 0; // the zero page's refcount is not modelled
    page_ref_add(s, pfn, 1);
  }
  return 0;
}

/** References one FOLL_PIN adds to a small folio: GUP_PIN_COUNTING_BIAS (5.7+), else one like FOLL_GET. */
export function pin_refs(ctx: KCtx): number {
  return ctx.prof.mech.gup.pinCounting === 'get' ? 1 : GUP_PIN_COUNTING_BIAS;
}

/** Capacity of a GUP field in John Hubbard's split (4 bits). */
export const GUP_FIELD_MAX = 15;

/** folio_has_pincount() (every large folio on 64-bit, 5.7+: 3faa52c03f44 for THPs), for the bias-counting profiles. */
function folio_has_pincount(ctx: KCtx, s: KState, pfn: number): boolean {
  return ctx.prof.mech.gup.pinCounting === 'bias' && folio_test_large(s, pfn);
}

/** gup_put_folio(): drop what try_grab_folio took. */
export function gup_put_folio(ctx: KCtx, s: KState, pfn: number, foll: number): void {
  if (pfn === ZERO_PFN) return;
  if (foll & FOLL_PIN && folio_has_pincount(ctx, s, pfn)) {
    folio_pincount_add(s, pfn, -1);
    folio_put_refs(s, pfn, 1);
  } else if (foll & FOLL_PIN) folio_put_refs(s, pfn, pin_refs(ctx));
  else folio_put_refs(s, pfn, 1);
}

/** unpin_user_page(s)_dirty_lock(): drop a pin, marking the page dirty if asked. */
export function unpin_user_page(ctx: KCtx, s: KState, pfn: number, dirty: boolean): void {
  if (dirty && pfn !== ZERO_PFN) page_set(s, pfn, PGF_DIRTY);
  gup_put_folio(ctx, s, pfn, FOLL_PIN);
}

/** Result of one follow_page_pte(). */
const FOLLOW_FAULT = -1000;
const FOLLOW_UNSHARE = -1001;

/**
 * Linus' exclusive bit (proposal, 10 Jan 2021): a GUP that writes or pins
 * an anon page mapped writable (so exclusive, by the page_count rule)
 * marks it "already made exclusive".
 */
function gup_mark_exclusive(ctx: KCtx, s: KState, pte: Pte, page: number, foll: number, huge = false): void {
  if (ctx.prof.mech.cow.exclusive !== 'gup-marked') return;
  // a PMD mapping carries the marker on its head, as PG_anon_exclusive does
  const pfn = huge && page !== ZERO_PFN ? folio_head(s, page) : page;
  if ((foll & (FOLL_WRITE | FOLL_PIN)) === 0 || !pte_write(pte) || pfn === ZERO_PFN || !PageAnon(s, pfn)) return;
  if (!PageAnonExclusive(s, pfn)) trace(ctx, 'follow_page_pte', `page pfn#${pfn} marked exclusive by GUP`);
  page_set(s, pfn, PGF_ANON_EXCLUSIVE);
}

/**
 * follow_page_pte(): the page to hand out, or "fault first" (not present,
 * write not allowed) or "unshare first" (-EMLINK).
 */
function follow_page_pte(ctx: KCtx, s: KState, t: number, va: number, vflags: number, foll: number): number {
  const pte = ptep_get(s, t, va);
  if (!pte_present(pte)) return FOLLOW_FAULT;
  const page = vm_normal_page(pte);
  if (foll & FOLL_WRITE && !can_follow_write_pte(ctx, s, pte, page, vflags, foll)) return FOLLOW_FAULT;
  const pfn = page !== 0 ? page : pte_pfn(pte); // the zero page is handed out for reads
  if (!pte_write(pte) && gup_must_unshare(ctx, s, vflags, foll, pfn)) return FOLLOW_UNSHARE;
  const e = try_grab_folio(ctx, s, pfn, foll);
  if (e) return e;
  gup_mark_exclusive(ctx, s, pte, pfn, foll);
  if (foll & FOLL_TOUCH && pfn !== ZERO_PFN) {
    if (foll & FOLL_WRITE && !pte_dirty(pte)) page_set(s, pfn, PGF_DIRTY);
    folio_mark_accessed(s, ctx, pfn);
  }
  return pfn;
}

/**
 * can_follow_write_pmd(): the PMD counterpart of can_follow_write_pte().
 * Before 6.0 a FOLL_FORCE write follows a dirty read-only PMD once GUP has
 * broken COW (FOLL_COW, 8310d48b125d), which is what touch_pmd() dirtying
 * it on a read made exploitable (Huge Dirty COW, CVE-2017-1000405). 6.0+:
 * an exclusive head in a private !VM_WRITE mapping, as for PTEs.
 */
function can_follow_write_pmd(ctx: KCtx, s: KState, pmd: Pmd, head: number, vflags: number, foll: number): boolean {
  if (pmd_write(pmd)) return true;
  switch (ctx.prof.mech.gup.forceWrite) {
    case 'foll-write-games':
      return false;
    case 'foll-cow':
    case 'foll-cow-dirty':
      return (foll & FOLL_FORCE) !== 0 && (foll & FOLL_COW) !== 0 && pmd_dirty(pmd);
    case 'anon-exclusive':
      if ((foll & FOLL_FORCE) === 0) return false;
      if (vflags & (VM_MAYSHARE | VM_SHARED)) return false;
      if ((vflags & VM_MAYWRITE) === 0) return false;
      if (vflags & VM_WRITE) return false;
      if (head === ZERO_PFN || !PageAnon(s, head) || !PageAnonExclusive(s, head)) return false;
      if (vma_soft_dirty_enabled(ctx, vflags) && !pmd_soft_dirty(pmd)) return false;
      return !(vflags & VM_UFFD_WP && pmd_uffd_wp(pmd));
  }
}

/**
 * follow_huge_pmd() (follow_trans_huge_pmd up to 6.8): the page at `va` of
 * a huge PMD. gup_must_unshare() looks at the head page, which carries
 * PG_anon_exclusive for a PMD mapping. touch_pmd() marks the PMD dirty on a
 * FOLL_WRITE, and on any FOLL_TOUCH before 4.15 (gup.touchPmdDirty).
 */
function follow_huge_pmd(ctx: KCtx, s: KState, t: number, va: number, vflags: number, foll: number, pmd: Pmd): number {
  const zero = is_huge_zero_pmd(pmd);
  const head = zero ? ZERO_PFN : pmd_pfn(pmd);
  if (foll & FOLL_WRITE && !can_follow_write_pmd(ctx, s, pmd, head, vflags, foll)) return FOLLOW_FAULT;
  if (!pmd_write(pmd) && gup_must_unshare(ctx, s, vflags, foll, head)) return FOLLOW_UNSHARE;
  const pfn = zero ? ZERO_PFN : head + (va & (pmd_nr(s) - 1));
  const e = try_grab_folio(ctx, s, pfn, foll);
  if (e) return e;
  gup_mark_exclusive(ctx, s, pmd, pfn, foll, true);
  if (foll & FOLL_TOUCH && (foll & FOLL_WRITE || ctx.prof.mech.gup.touchPmdDirty) && !pmd_dirty(pmd)) {
    set_pmd_at(s, t, va, pmd_mkdirty(pmd));
  }
  return pfn;
}

/**
 * The hugetlb lookup: follow_hugetlb_page() up to 6.4, hugetlb_follow_page_mask()
 * to 6.9, follow_huge_pmd() after, with the same decisions: fault on a none
 * entry or a write to a read-only one, unshare a read-only pin of a page
 * that is not PG_anon_exclusive (gup_must_unshare() on the head, 5.19+),
 * else take the subpage at `va`. The entry is never dirtied by the lookup.
 * From 6.14 a FOLL_FORCE write may use the read-only entry of an exclusive
 * anon page (can_follow_write_pmd(), hugetlb.forceWrite 'keep-ro').
 */
function follow_hugetlb_pmd(ctx: KCtx, s: KState, t: number, va: number, vflags: number, foll: number): number {
  // a 1 GiB page: the same decisions on the PUD leaf (follow_huge_pud() from 6.10)
  const h = hstate_vma(vflags);
  const pmd = huge_ptep_get(s, t, va, h);
  if (pmd_none(pmd)) return FOLLOW_FAULT;
  const head = pmd_pfn(pmd);
  const writable = ctx.prof.mech.hugetlb.forceWrite === 'keep-ro' ? can_follow_write_pmd(ctx, s, pmd, head, vflags, foll) : pmd_write(pmd);
  if (foll & FOLL_WRITE && !writable) return FOLLOW_FAULT;
  if (!pmd_write(pmd) && gup_must_unshare(ctx, s, vflags, foll, head)) return FOLLOW_UNSHARE;
  const pfn = head + (va & (pages_per_huge_page(s, h) - 1));
  const e = try_grab_folio(ctx, s, pfn, foll);
  return e ? e : pfn;
}

/** follow_page_mask(): a hugetlb entry, a huge PMD, or the PTE. */
function follow_page_mask(ctx: KCtx, s: KState, t: number, va: number, vflags: number, foll: number): number {
  if (vflags & VM_HUGETLB) return follow_hugetlb_pmd(ctx, s, t, va, vflags, foll);
  if (pmd_nr(s) > 0) {
    const pmd = pmdp_get(s, t, va);
    if (pmd_trans_huge(pmd)) return follow_huge_pmd(ctx, s, t, va, vflags, foll, pmd);
  }
  return follow_page_pte(ctx, s, t, va, vflags, foll);
}

/** The outcome of a GUP call: PFNs taken (one per page) or an errno with the pages done before it. */
export interface GupResult {
  pfns: number[];
  /** 0, or the negative errno that stopped the walk (only reported when no page was taken) */
  err: number;
}

/**
 * __get_user_pages_locked() -> __get_user_pages() (6.x): for each page,
 * check the VMA, follow the PTE, fault (write or unshare) and retry.
 * The 5.8 forced COW break (17839856fd58) turns any GET/PIN on a COW
 * mapping into a write.
 */
export function __get_user_pages(ctx: KCtx, s: KState, t: number, start: number, nr: number, foll: number, tried = false): GupResult {
  return gup_walk(ctx, () => get_user_pages_walk(ctx, s, t, start, nr, foll, tried));
}

/**
 * Runs one GUP walk, marked as such in the context: the holder counts
 * (ctx.gupHolders) taken during it are dropped when it ends (an outer walk,
 * GUP-fast around its slow path, ends them).
 */
function gup_walk<R>(ctx: KCtx, walk: () => R): R {
  if (ctx.inGup) return walk();
  ctx.inGup = true;
  ctx.gupHolders = null;
  try {
    return walk();
  } finally {
    ctx.inGup = false;
    ctx.gupHolders = null;
  }
}

/**
 * Where __get_user_pages() is on one page: the flags its lookups use
 * (faultin_page() may change them) and the faults taken so far. It is all
 * the walk keeps across the window after a fault, so a thread stopped there
 * goes on from it (src/model/threads.ts).
 */
export interface GupCursor {
  foll: number;
  tries: number;
  tried: boolean;
}

/** gup_page_retry() stopped in the window after a fault (no page is held then). */
export const GUP_STOPPED = 0;
/**
 * The walk's fault waits in handle_userfault() for a monitor that holds it
 * (mmap_lock dropped, `*locked = 0`): __get_user_pages_locked() retries the
 * page with FOLL_TRIED once the thread is woken (no errno is this low).
 */
export const GUP_HELD = -(1 << 20);
/** GUP-fast stopped after reading the PTE, before the grab (ctx.fastRead says what it read). */
export const GUP_FAST_STOPPED = -(1 << 20) - 1;

/** The start of __get_user_pages() on one page: its VMA and check_vma_flags(); a cursor, or an errno. */
export function gup_page_begin(ctx: KCtx, s: KState, t: number, va: number, foll: number): GupCursor | number {
  const vi = vma_lookup_idx(s, t, va);
  if (vi < 0) return -EFAULT;
  const vflags = vma_flags_at(s, t, vi);
  let f = foll;
  if (ctx.prof.mech.gup.readBreaksCow && f & (FOLL_GET | FOLL_PIN) && is_cow_mapping(vflags)) f |= FOLL_WRITE;
  const e = check_vma_flags(ctx, s, t, vi, f);
  if (e) return e;
  return { foll: f, tries: 0, tried: false };
}

/**
 * __get_user_pages() on one page from its `retry:` label: follow_page_mask(),
 * and while it finds no page it may take, faultin_page() and again. The
 * kernel calls cond_resched() at the label, with mmap_lock held for read:
 * another thread may run there, after a fault and before the lookup that
 * follows it (the Dirty COW window, 4.x: 19be0eaffa3a). With `stop`, the
 * walk ends there after a fault (GUP_STOPPED, `cur` saved) and goes on when
 * called again with the same cursor. A page (its PFN, held), or an errno.
 */
export function gup_page_retry(ctx: KCtx, s: KState, t: number, va: number, cur: GupCursor, stop: boolean): number {
  return gup_walk(ctx, () => gup_page_loop(ctx, s, t, va, cur, stop));
}

function gup_page_loop(ctx: KCtx, s: KState, t: number, va: number, cur: GupCursor, stop: boolean): number {
  // the VMA cannot change while mmap_lock is held for read, across the window too
  const vflags = vma_flags_at(s, t, vma_lookup_idx(s, t, va));
  for (;;) {
    const f = cur.foll;
    const r = follow_page_mask(ctx, s, t, va, vflags, f);
    if (r > 0) return r;
    if (r !== FOLLOW_FAULT && r !== FOLLOW_UNSHARE) return r;
    if (++cur.tries > 8) return -EFAULT;
    // faultin_page()
    let fl = f & FOLL_REMOTE ? FAULT_FLAG_REMOTE : 0;
    if (r === FOLLOW_UNSHARE) {
      fl |= FAULT_FLAG_UNSHARE;
      trace(ctx, 'faultin_page', `gup_must_unshare: unshare fault on page ${va}`);
    } else if (f & FOLL_WRITE) fl |= FAULT_FLAG_WRITE;
    if (f & FOLL_UNLOCKABLE && !cur.tried) fl |= FAULT_FLAG_ALLOW_RETRY;
    else if (cur.tried) fl |= FAULT_FLAG_TRIED;
    // <= 6.4 follow_hugetlb_page() calls hugetlb_fault() itself: nothing is accounted to the task
    const uncounted = is_vm_hugetlb_page(vflags) && ctx.prof.mech.hugetlb.gupFaultUncounted;
    const counted = [ctx.faults, ctx.majfaults] as const;
    const ret = handle_mm_fault(s, ctx, t, va, fl);
    if (ret & VM_FAULT_RETRY && fl & FAULT_FLAG_ALLOW_RETRY) {
      // the monitor holds the fault: the thread sleeps, the walk goes on at its resume
      if (ctx.uffdHeld !== undefined) return GUP_HELD;
      // mmap_lock was dropped: __get_user_pages_locked() looks the page up again (FOLL_TRIED)
      cur.tried = true;
      continue;
    }
    if (uncounted) [ctx.faults, ctx.majfaults] = counted;
    if (ret & VM_FAULT_ERROR) return ret & VM_FAULT_OOM ? -ENOMEM : -EFAULT;
    // faultin_page(): only a fault that broke COW (VM_FAULT_WRITE) changes the flags
    if (f & FOLL_WRITE && r === FOLLOW_FAULT && ret & VM_FAULT_WRITE) {
      const mode = ctx.prof.mech.gup.forceWrite;
      // before 19be0eaffa3a: a COW fault on a !VM_WRITE VMA made GUP drop FOLL_WRITE for the retry
      if (mode === 'foll-write-games' && (vflags & VM_WRITE) === 0) cur.foll &= ~FOLL_WRITE;
      // 4.9 .. 5.19: GUP remembers that it broke COW with FOLL_COW
      else if (mode !== 'anon-exclusive') cur.foll |= FOLL_COW;
    }
    if (stop) {
      trace(
        ctx,
        'cond_resched',
        `__get_user_pages stops after the fault on page ${va}, before the retried lookup (${follToString(cur.foll)})`,
      );
      return GUP_STOPPED;
    }
  }
}

/** __get_user_pages()'s walk over the range. */
function get_user_pages_walk(ctx: KCtx, s: KState, t: number, start: number, nr: number, foll: number, tried: boolean): GupResult {
  if (foll & FOLL_PIN) {
    const f = mm_flags(s, t);
    if ((f & MMF_HAS_PINNED) === 0) mm_set_flags(s, t, f | MMF_HAS_PINNED);
  }
  trace(ctx, '__get_user_pages', `${nr} page(s) from page ${start}, ${follToString(foll)}`);
  const pfns: number[] = [];
  for (let i = 0; i < nr; i++) {
    const cur = gup_page_begin(ctx, s, t, start + i, foll);
    if (typeof cur === 'number') return { pfns, err: cur };
    // (`tried`: the first page is the one retried after handle_userfault() woke, FOLL_TRIED)
    if (tried && i === 0) cur.tried = true;
    const r = gup_page_loop(ctx, s, t, start + i, cur, false);
    if (r < 0) return { pfns, err: r };
    pfns.push(r);
  }
  return { pfns, err: 0 };
}

/**
 * GUP-fast (gup_fast_pte_range): lockless, gives up on a PTE that is not
 * present, a write to a read-only PTE, the zero page (special PTE), or a
 * page gup_must_unshare() would unshare; the rest goes through the slow
 * path. In a sequential model the pages taken are the slow path's.
 */
export function get_user_pages_fast(
  ctx: KCtx,
  s: KState,
  t: number,
  start: number,
  nr: number,
  foll: number,
  unlockable = true,
): GupResult {
  return gup_walk(ctx, () => gup_fast_walk(ctx, s, t, start, nr, foll, unlockable));
}

/** get_user_pages_fast()'s walk: GUP-fast, then the slow path from the first page it could not take. */
function gup_fast_walk(ctx: KCtx, s: KState, t: number, start: number, nr: number, foll: number, unlockable: boolean): GupResult {
  const pfns: number[] = [];
  let i = 0;
  if (foll & FOLL_PIN) {
    const f = mm_flags(s, t);
    if ((f & MMF_HAS_PINNED) === 0) mm_set_flags(s, t, f | MMF_HAS_PINNED);
  }
  const fastForbidden = ctx.prof.mech.gup.readBreaksCow; // 5.8: read-only PTEs never taken on the fast path
  // 57efa1fe5957 (5.11): a pinning GUP-fast reads mm->write_protect_seq first; odd while fork copies
  // the page tables (a fork stopped in its window): nothing is taken locklessly, the slow path waits
  // (a collapse stopped in its window holds the lock too, but leaves write_protect_seq alone)
  const holder = nr_threads(s) > 0 ? mmap_write_holder(s, t) : -1;
  const forking = holder >= 0 && thread_stopped(s, holder) === THOP_FORK;
  const seqOdd = forking && ctx.prof.mech.fork.writeProtectSeq && (foll & FOLL_PIN) !== 0;
  if (seqOdd) trace(ctx, 'gup_fast', 'write_protect_seq is odd: fork is copying the page tables, slow path');
  for (; i < nr && !seqOdd; i++) {
    const va = start + i;
    // a cleared PMD (a collapse stopped after pmdp_collapse_flush()): no page table to walk
    if (pmd_nr(s) > 0 && pmd_none(pmdp_get(s, t, va))) break;
    const pte = pte_lookup(s, t, va);
    if (!pte_present(pte)) break;
    if (foll & FOLL_WRITE && !pte_write(pte)) break;
    if (fastForbidden && !pte_write(pte)) break;
    const pfn = pte_pfn(pte);
    if (pfn === ZERO_PFN) break;
    const vi = vma_lookup_idx(s, t, va);
    if (vi < 0) break;
    // pte_protnone(): the PTEs of a PROT_NONE VMA are not accessible to GUP-fast
    if ((vma_flags_at(s, t, vi) & (VM_READ | VM_WRITE | VM_EXEC)) === 0) break;
    // gup_fast_pmd_leaf() asks about the head page, which carries a PMD mapping's PG_anon_exclusive
    const huge = pmd_nr(s) > 0 && (pmd_trans_huge(pmdp_get(s, t, va)) || pmd_trans_huge(pudp_get(s, t, va)));
    if (!pte_write(pte) && gup_must_unshare(ctx, s, null, foll, huge ? folio_head(s, pfn) : pfn)) break;
    // where TLB shootdowns are not IPIs, another CPU may change the page tables between the PTE read and
    // the grab: a GUP-fast of one page may stop there (where they are, every change waits for it: one step)
    if (ctx.fastStop && nr === 1 && ctx.env.tlbFlush === 'broadcast') {
      ctx.fastRead = { va, pte, pmd: pmdp_get(s, t, va) };
      trace(ctx, 'gup_fast', `read the PTE of page ${va} (pfn#${pfn}) with interrupts off; stops before grabbing it`);
      return { pfns, err: GUP_FAST_STOPPED };
    }
    // (the PTE is read, the folio grabbed and the PTE read again in one step: nothing else changes PTEs meanwhile)
    if (try_grab_folio(ctx, s, pfn, foll)) break; // the slow path reports the error
    gup_mark_exclusive(ctx, s, pte, pfn, foll, huge);
    page_set(s, pfn, PGF_REFERENCED); // folio_set_referenced()
    pfns.push(pfn);
  }
  if (i === nr) {
    trace(ctx, 'gup_fast', `${nr} page(s) from page ${start} taken locklessly${forking ? ' while fork is stopped in its window' : ''}`);
    return { pfns, err: 0 };
  }
  // the slow path takes mmap_lock for read: a stopped fork (or collapse) holds it for write
  if (holder >= 0)
    throw new WouldBlock(`the GUP slow path waits for task ${t}'s mmap_lock, held for write by an operation stopped in a window`);
  trace(ctx, 'gup_fast', `fell back to the slow path at page ${start + i}`);
  // gup_fast_fallback(): the slow path runs with FOLL_TOUCH, unlocked (get_user_pages_unlocked)
  const rest = __get_user_pages(ctx, s, t, start + i, nr - i, foll | FOLL_TOUCH | (unlockable ? FOLL_UNLOCKABLE : 0));
  return { pfns: pfns.concat(rest.pfns), err: rest.err };
}

/**
 * GUP-fast goes on after it stopped between its PTE read and the grab
 * (`read`): try_grab_folio(), then gup_fast_pte_range()'s recheck: the PTE
 * (in the page table it walked, which a collapse may have detached: its
 * entries stay until the copy clears them) and, from 70cbc3cc78a9 (6.0),
 * the PMD. If either changed the page is put back and the slow path takes
 * it (under mmap_lock, which a stopped fork or collapse holds: it waits).
 */
export function gup_fast_resume(ctx: KCtx, s: KState, t: number, foll: number, read: { va: number; pte: number; pmd: number }): GupResult {
  return gup_walk(ctx, () => {
    const { va, pte, pmd } = read;
    const pfn = pte_pfn(pte);
    // folio_try_get() fails on a freed page; a page freed and allocated again is grabbed and fails the recheck
    let grabbed = page_ref_count(s, pfn) > 0 && !try_grab_folio(ctx, s, pfn, foll);
    if (grabbed) {
      const pmdChanged = ctx.prof.mech.gup.fastRecheckPmd && pmdp_get(s, t, va) !== pmd;
      const pteChanged = ptep_get(s, t, va) !== pte;
      if (pmdChanged || pteChanged) {
        trace(ctx, 'gup_fast', `grabbed pfn#${pfn}, but the ${pmdChanged ? 'PMD' : 'PTE'} changed since it was read: put back`);
        gup_put_folio(ctx, s, pfn, foll);
        grabbed = false;
      }
    }
    if (grabbed) {
      const huge = pmd_nr(s) > 0 && pmd_trans_huge(pmd);
      gup_mark_exclusive(ctx, s, pte, pfn, foll, huge);
      page_set(s, pfn, PGF_REFERENCED);
      trace(
        ctx,
        'gup_fast',
        `grabbed pfn#${pfn}; the ${ctx.prof.mech.gup.fastRecheckPmd ? 'PMD and the PTE are' : 'PTE is'} unchanged: taken`,
      );
      return { pfns: [pfn], err: 0 };
    }
    if (nr_threads(s) > 0 && mmap_write_holder(s, t) >= 0)
      throw new WouldBlock(`the GUP slow path waits for task ${t}'s mmap_lock, held for write by an operation stopped in a window`);
    trace(ctx, 'gup_fast', `fell back to the slow path at page ${va}`);
    return __get_user_pages(ctx, s, t, va, 1, foll | FOLL_TOUCH | FOLL_UNLOCKABLE);
  });
}
