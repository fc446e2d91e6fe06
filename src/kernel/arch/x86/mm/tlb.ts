/**
 * arch/x86/mm/tlb.c and include/linux/mm_types.h: each thread's CPU caches
 * translations, and a page-table change reaches the other CPUs only through
 * a flush (flush_tlb_mm_range(), every era).
 *
 * cowlab keeps one entry per thread (layout.ts TH_TLB_*), the page of the
 * last store the thread made through a writable small-page PTE, and only in
 * states whose geometry has `tlb`: where a flush may be deferred while other
 * threads run (UFFDIO_WRITEPROTECT under mmap_read_lock: `stop:
 * deferred-flush`). Everywhere else the kernel flushes a changed PTE before
 * anything else runs, so an entry would always equal its PTE and tell
 * nothing. An entry is dirty (it was filled by a store), so a store through
 * it needs no page walk: the CPU writes the frame even after the PTE was
 * write-protected, until a flush drops it.
 */
import type { KState } from '../../../../model/layout.js';
import { TH_TASK, TH_TLB_VA, TH_TLB_PFN, THOP_DEFERRED_FLUSH, THOP_ZAP_FLUSH } from '../../../../model/layout.js';
import { nr_threads, thread_base, thread_stopped_on } from '../../../../model/threads.js';
import { pte_lookup } from '../../../../model/mm_types.js';
import { type KCtx, trace } from '../../../ctx.js';
import { ld, st } from '../../../../model/layout.js';

/** The state keeps TLB entries (geometry `tlb`). */
export function tlb_kept(s: KState): boolean {
  return s.L.geo.tlb === true && nr_threads(s) > 0;
}

/** A store by thread slot `th` of task `t` went through a writable PTE of page `va` to frame `pfn`: its CPU caches it. */
export function tlb_fill(s: KState, th: number, t: number, va: number, pfn: number): void {
  const o = thread_base(s, th);
  // (a main thread gets its slot from its first cached store)
  if (ld(s, o + TH_TASK) === 0) st(s, o + TH_TASK, t + 1);
  st(s, o + TH_TLB_VA, va + 1);
  st(s, o + TH_TLB_PFN, pfn);
}

/** The frame thread slot `th`'s CPU translates page `va` to for a store, or 0 when it has no entry for it. */
export function tlb_lookup(s: KState, th: number, va: number): number {
  const o = thread_base(s, th);
  return ld(s, o + TH_TLB_VA) === va + 1 ? ld(s, o + TH_TLB_PFN) : 0;
}

/** flush_tlb_range(): every CPU running task `mm`'s threads drops its entries of pages [start, end). */
export function flush_tlb_range(s: KState, ctx: KCtx | null, mm: number, start: number, end: number): void {
  if (!tlb_kept(s)) return;
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    const va = ld(s, o + TH_TLB_VA) - 1;
    if (ld(s, o + TH_TASK) !== mm + 1 || va < start || va >= end) continue;
    if (ctx) trace(ctx, 'flush_tlb_range', `thread slot ${th}'s TLB entry of page ${va} (pfn#${ld(s, o + TH_TLB_PFN)}) dropped`);
    st(s, o + TH_TLB_VA, 0);
    st(s, o + TH_TLB_PFN, 0);
  }
}

/**
 * mm_tlb_flush_pending() (include/linux/mm_types.h, 3.15+): a page-table
 * change of task `mm` has not been flushed yet (a UFFDIO_WRITEPROTECT
 * stopped before its flush_tlb_range()).
 */
export function mm_tlb_flush_pending(s: KState, mm: number): boolean {
  return thread_stopped_on(s, THOP_DEFERRED_FLUSH, mm) >= 0;
}

/**
 * mm_tlb_flush_nested() (4.13+, 99baac21e458) as a MADV_DONTNEED sees it:
 * another thread's zap of task `mm` gathered pages and has not flushed yet
 * (a MADV_DONTNEED stopped at zap-flush).
 */
export function mm_tlb_flush_nested(s: KState, mm: number): boolean {
  return thread_stopped_on(s, THOP_ZAP_FLUSH, mm) >= 0;
}

/** Thread slots whose CPU still translates a page of task `mm` in [start, end), with the page. */
export function tlb_entries_in(s: KState, mm: number, start: number, end: number): { th: number; va: number; pfn: number }[] {
  const out: { th: number; va: number; pfn: number }[] = [];
  if (!tlb_kept(s)) return out;
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    const va = ld(s, o + TH_TLB_VA) - 1;
    if (ld(s, o + TH_TASK) === mm + 1 && va >= start && va < end) out.push({ th, va, pfn: ld(s, o + TH_TLB_PFN) });
  }
  return out;
}

/** The TLB entries before a step and the PTEs they were filled from, two words per thread (tlb_flush_changed() compares). */
export function tlb_snapshot(s: KState): Int32Array | null {
  if (!tlb_kept(s)) return null;
  const n = nr_threads(s);
  const out = new Int32Array(2 * n);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    const va = ld(s, o + TH_TLB_VA) - 1;
    out[2 * th] = va + 1;
    out[2 * th + 1] = va >= 0 ? pte_lookup(s, ld(s, o + TH_TASK) - 1, va) : 0;
  }
  return out;
}

/** A change of PTEs that the step made and did not flush (a UFFDIO_WRITEPROTECT stopped before its flush). */
export interface DeferredFlush {
  mm: number;
  start: number;
  end: number;
}

/**
 * After a step: a PTE the step changed was flushed by whoever changed it
 * (ptep_clear_flush(), a flush_tlb_range() after the walk, a zap's
 * tlb_finish_mmu()), except the changes of a UFFDIO_WRITEPROTECT that
 * stopped before its flush in this step (`deferred`). Entries of flushed
 * PTEs are dropped; an entry whose PTE did not change keeps what the CPU
 * caches, stale or not.
 */
export function tlb_flush_changed(s: KState, before: Int32Array | null, deferred: DeferredFlush | undefined): void {
  if (!before) return;
  const n = nr_threads(s);
  for (let th = 0; th < n; th++) {
    const o = thread_base(s, th);
    const va = ld(s, o + TH_TLB_VA) - 1;
    if (va < 0) continue;
    const mm = ld(s, o + TH_TASK) - 1;
    // (an entry the step filled is as fresh as the PTE it came from)
    if (before[2 * th] !== va + 1 || pte_lookup(s, mm, va) === before[2 * th + 1]) continue;
    if (deferred && deferred.mm === mm && va >= deferred.start && va < deferred.end) continue;
    st(s, o + TH_TLB_VA, 0);
    st(s, o + TH_TLB_PFN, 0);
  }
}
