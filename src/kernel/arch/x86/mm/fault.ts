/**
 * arch/x86/mm/fault.c do_user_addr_fault(), and the user access that
 * triggers it: the CPU uses the PTE if it allows the access, else it faults;
 * access_error() turns accesses the VMA does not allow into SIGSEGV; a
 * VM_FAULT_RETRY (a userfault) is retried with FAULT_FLAG_TRIED.
 */
import type { KState } from '../../../../model/layout.js';
import { pte_present, pte_write, pte_pfn, pte_mkdirty_hw, pte_dirty } from '../../../../model/pte.js';
import {
  pte_lookup,
  set_pte_at,
  vma_lookup_idx,
  vma_flags_at,
  pmd_mapped_huge,
  pmdp_get,
  pudp_get,
  set_pud_at,
  set_pmd_at,
  VM_READ,
  VM_WRITE,
} from '../../../../model/mm_types.js';
import { pmd_dirty, pmd_mkdirty_hw, pmd_trans_huge } from '../../../../model/pmd.js';
import { type KCtx, ModelBug, trace } from '../../../ctx.js';
import { tlb_kept, tlb_lookup, tlb_fill } from './tlb.js';
import { nr_threads, mmap_write_holder, WouldBlock } from '../../../../model/threads.js';
import {
  handle_mm_fault,
  FAULT_FLAG_WRITE,
  FAULT_FLAG_USER,
  FAULT_FLAG_TRIED,
  FAULT_FLAG_ALLOW_RETRY,
  VM_FAULT_RETRY,
  VM_FAULT_SIGSEGV,
  VM_FAULT_SIGBUS,
  VM_FAULT_OOM,
} from '../../../mm/memory.js';

export type Signal = 'SIGSEGV' | 'SIGBUS';

/** user_access(): the store waits in handle_userfault() for a monitor that holds its fault (no PFN is -1). */
export const ACCESS_HELD = -1;

/** do_user_addr_fault(): null when the fault was handled, else the signal delivered ('held': it waits for its uffd monitor). */
export function do_user_addr_fault(s: KState, ctx: KCtx, t: number, va: number, write: boolean, tried = false): Signal | 'held' | null {
  const vi = vma_lookup_idx(s, t, va);
  if (vi < 0) return 'SIGSEGV';
  const vflags = vma_flags_at(s, t, vi);
  // access_error()
  if (write ? (vflags & VM_WRITE) === 0 : (vflags & VM_READ) === 0) return 'SIGSEGV';
  // FAULT_FLAG_DEFAULT: a user fault may drop mmap_lock and be retried (a userfault waits for its monitor)
  // (`tried`: the retry after handle_userfault() woke: the VMA is looked up again, as at the retry label)
  let flags = FAULT_FLAG_USER | FAULT_FLAG_ALLOW_RETRY | (write ? FAULT_FLAG_WRITE : 0) | (tried ? FAULT_FLAG_TRIED : 0);
  for (let i = 0; i < 4; i++) {
    const ret = handle_mm_fault(s, ctx, t, va, flags);
    if (ret & VM_FAULT_RETRY) {
      // handle_userfault() sleeps until the monitor wakes it; the retry comes at the thread's resume
      // (or the fault stopped in wp_page_copy() after its copy: it completes at the thread's resume)
      if (ctx.uffdHeld !== undefined || ctx.cowHeld !== undefined || ctx.swapinHeld !== undefined) return 'held';
      flags |= FAULT_FLAG_TRIED;
      continue;
    }
    if (ret & VM_FAULT_SIGSEGV) return 'SIGSEGV';
    if (ret & (VM_FAULT_SIGBUS | VM_FAULT_OOM)) return 'SIGBUS';
    return null;
  }
  throw new ModelBug(`fault at page ${va} retried without progress`);
}

/**
 * A user-mode load or store of one page: the PFN accessed, or the signal
 * (ACCESS_HELD: the fault waits for its uffd monitor).
 * A store through a writable PTE (or huge PMD) sets its dirty bit, as the
 * MMU does.
 */
export function user_access(s: KState, ctx: KCtx, t: number, va: number, write: boolean): number | Signal {
  const tlb = write && ctx.thread >= 0 && tlb_kept(s);
  if (tlb) {
    // the CPU's (dirty, writable) TLB entry takes the store without a page walk, whatever the PTE says now
    const cached = tlb_lookup(s, ctx.thread, va);
    if (cached) {
      if (pte_pfn(pte_lookup(s, t, va)) !== cached || !pte_write(pte_lookup(s, t, va)))
        trace(ctx, 'tlb', `store to page ${va} through a stale writable TLB entry: pfn#${cached}, not what the PTE maps now`);
      return cached;
    }
  }
  for (let i = 0; i < 8; i++) {
    const vi = vma_lookup_idx(s, t, va);
    const pte = pte_lookup(s, t, va);
    const allowed = vi >= 0 && (vma_flags_at(s, t, vi) & (write ? VM_WRITE : VM_READ)) !== 0;
    // the MMU looks at the PTE only: a writable PTE takes a store even where the VMA
    // forbids it (only proposals that skip write-protecting pinned pages create one)
    if (pte_present(pte) && (write ? pte_write(pte) : allowed)) {
      if (write && !pte_dirty(pte)) {
        if (pmd_trans_huge(pudp_get(s, t, va))) {
          // a 1 GiB hugetlb page: the PUD leaf takes the dirty bit
          const pud = pudp_get(s, t, va);
          if (!pmd_dirty(pud)) set_pud_at(s, t, va, pmd_mkdirty_hw(pud));
        } else if (pmd_mapped_huge(s, t, va)) {
          const pmd = pmdp_get(s, t, va);
          if (!pmd_dirty(pmd)) set_pmd_at(s, t, va, pmd_mkdirty_hw(pmd));
        } else set_pte_at(s, t, va, pte_mkdirty_hw(pte));
      }
      if (tlb && !pmd_mapped_huge(s, t, va) && !pmd_trans_huge(pudp_get(s, t, va))) tlb_fill(s, ctx.thread, t, va, pte_pfn(pte));
      return pte_pfn(pte);
    }
    // the fault takes the mmap_lock (or, from 6.4, the VMA lock) that a stopped fork holds for write: it waits
    if (nr_threads(s) && mmap_write_holder(s, t) >= 0 && mmap_write_holder(s, t) !== ctx.thread)
      throw new WouldBlock(
        `the ${write ? 'store' : 'load'} faults on page ${va} and waits for task ${t}'s mmap_lock, held for write by a fork stopped in a window`,
      );
    const sig = do_user_addr_fault(s, ctx, t, va, write);
    if (sig === 'held') return ACCESS_HELD;
    if (sig) return sig;
  }
  throw new ModelBug(`access to page ${va} keeps faulting`);
}
