/**
 * fs/proc/task_mmu.c: clear_refs_write() and what /proc/PID/pagemap shows,
 * with fs/proc/page.c's /proc/kpagecount and /proc/kpageflags
 * (docs/kernel/vm-ops.md 7).
 */
import type { KState } from '../../../model/layout.js';
import {
  MMF_HAS_PINNED,
  ZERO_PFN,
  PGF_ANON,
  PGF_SWAPCACHE,
  PGF_KSM,
  PGF_LRU,
  PGF_DIRTY,
  PGF_ANON_EXCLUSIVE,
  PGF_HUGETLB,
} from '../../../model/layout.js';
import {
  type Pte,
  pte_present,
  pte_write,
  pte_wrprotect,
  pte_clear_soft_dirty,
  is_swap_pte,
  is_pte_marker,
  pte_pfn,
  pte_uffd_wp,
  pte_soft_dirty,
  pte_none,
} from '../../../model/pte.js';
import {
  vmas_of,
  ptep_get,
  set_pte_at,
  mm_flags,
  is_cow_mapping,
  page_mapcount,
  page_test,
  VM_SOFTDIRTY,
  VM_PFNMAP,
  VM_HUGETLB,
  pmd_nr,
  pmd_mapped_huge,
  pmdp_get,
  pudp_get,
  pud_nr,
  folio_head,
  folio_nr_pages,
  folio_test_large,
} from '../../../model/mm_types.js';
import { pmd_uffd_wp, pmd_soft_dirty, is_huge_zero_pmd, pmd_pfn, pmd_trans_huge } from '../../../model/pmd.js';
import { clear_soft_dirty_pmd } from '../../mm/huge_memory.js';
import { flush_tlb_range } from '../../arch/x86/mm/tlb.js';
import { type KCtx, trace } from '../../ctx.js';
import { vm_normal_page } from '../../mm/memory.js';
import { folio_maybe_dma_pinned } from '../../mm/rmap.js';
import { vma_modify } from '../../mm/mmap.js';
import { EINVAL } from '../../errno.js';
import type { Profile } from '../../../profiles/types.js';

/**
 * pte_is_pinned() (9348b73c2e1b, 5.11+): clear_refs leaves writable PTEs of
 * maybe-pinned pages alone.
 */
function pte_is_pinned(s: KState, ctx: KCtx, t: number, vflags: number, pte: Pte): boolean {
  if (!pte_write(pte) || !is_cow_mapping(vflags)) return false;
  if ((mm_flags(s, t) & MMF_HAS_PINNED) === 0) return false;
  const pfn = vm_normal_page(pte);
  return pfn !== 0 && folio_maybe_dma_pinned(s, ctx, pfn);
}

/**
 * clear_refs_write(): values 1..5. Only 4 (soft-dirty) changes PTEs, and
 * only on kernels with CONFIG_MEM_SOFT_DIRTY: every PTE is write-protected
 * and its soft-dirty bit cleared (pinned ones skipped from 5.11).
 */
export function clear_refs_write(s: KState, ctx: KCtx, t: number, value: number): number {
  if (value < 1 || value > 5) return -EINVAL;
  if (value !== 4 || !ctx.prof.mech.config.softDirty) {
    trace(ctx, 'clear_refs_write', value === 4 ? 'soft-dirty: no CONFIG_MEM_SOFT_DIRTY, no PTE changed' : `type ${value}: young bits only`);
    return 0;
  }
  const vmas = vmas_of(s, t);
  for (const v of vmas)
    if (v.flags & VM_SOFTDIRTY)
      vma_modify(s, t, v.start, v.end, (x) => ({ ...x, flags: x.flags & ~VM_SOFTDIRTY }), ctx, { splitPmds: false });
  let wp = 0;
  let skipped = 0;
  for (const v of vmas_of(s, t)) {
    // clear_refs_walk_ops has no hugetlb_entry: the walk passes hugetlb VMAs by
    if (v.flags & (VM_PFNMAP | VM_HUGETLB)) continue;
    // clear_refs_pte_range(): a huge PMD is write-protected whole, pinned or not (clear_soft_dirty_pmd)
    for (let h = v.start; pmd_nr(s) > 0 && h < v.end; h += pmd_nr(s) - (h & (pmd_nr(s) - 1))) {
      if (pmd_mapped_huge(s, t, h)) {
        clear_soft_dirty_pmd(s, t, h);
        wp++;
      }
    }
    for (let va = v.start; va < v.end; va++) {
      const pte = ptep_get(s, t, va);
      if (pte_present(pte)) {
        if (ctx.prof.mech.wrprotect.clearRefsSkipsPinned && pte_is_pinned(s, ctx, t, v.flags, pte)) {
          skipped++;
          continue;
        }
        set_pte_at(s, t, va, pte_clear_soft_dirty(pte_wrprotect(pte)));
        wp++;
      } else if (is_swap_pte(pte)) {
        set_pte_at(s, t, va, pte_clear_soft_dirty(pte));
      }
    }
  }
  trace(ctx, 'clear_soft_dirty', `${wp} PTE(s) write-protected${skipped ? `, ${skipped} pinned skipped` : ''}`);
  const all = s.L.geo.vpages;
  if (ctx.flushHold) {
    // the walk is done, flush_tlb_mm() not yet (under mmap_lock for read before 29a951dfb3c3, for write since)
    ctx.flushHold = false;
    const writeLock = ctx.prof.mech.wrprotect.clearRefsWriteLock;
    ctx.deferredFlush = { mm: t, start: 0, end: all, wp: true, rest: 0, restEnd: 0, enoent: false, clearRefs: true, writeLock };
    trace(ctx, 'clear_refs_write', `the TLB flush not done yet; mmap_lock held for ${writeLock ? 'write' : 'read'}`);
    return 0;
  }
  flush_tlb_range(s, ctx, t, 0, all);
  return 0;
}

/** What /proc/PID/pagemap (and kpagecount/kpageflags for its frame) shows for one page. */
export interface PagemapEntry {
  present: boolean;
  swapped: boolean;
  /** PM_MMAP_EXCLUSIVE: present and the page is mapped exactly once */
  exclusive: boolean;
  uffdWp: boolean;
  softDirty: boolean;
  file: boolean;
  /** model PFN when present (0 otherwise; the shared zero page for the huge zero page) */
  pfn: number;
  /** /proc/kpagecount: the mapcount (0 for the zero pages) */
  mapcount: number;
  anon: boolean;
  swapcache: boolean;
  ksm: boolean;
  /** the shared zero page or the huge zero page (KPF_ZERO_PAGE) */
  zero: boolean;
  lru: boolean;
  dirty: boolean;
  /** KPF_THP: a page of a large anon folio, or of the huge zero page */
  thp: boolean;
  /** KPF_HUGE: a page of a hugetlb folio */
  hugetlb: boolean;
  /** mapped by a huge PMD (PAGEMAP_SCAN's PAGE_IS_HUGE) */
  huge: boolean;
  /** the huge zero page */
  hugeZero: boolean;
  /** the folio: its first page (the page itself when small) and its number of pages */
  head: number;
  nr: number;
  /** KPF_MAPPEDTODISK: PG_anon_exclusive of the page, or of its folio's head where kpageflags reads the folio (proc.kpageflagsFromFolio) */
  anonExclusive: boolean;
}

function emptyEntry(): PagemapEntry {
  return {
    present: false,
    swapped: false,
    exclusive: false,
    uffdWp: false,
    softDirty: false,
    file: false,
    pfn: 0,
    mapcount: 0,
    anon: false,
    swapcache: false,
    ksm: false,
    zero: false,
    lru: false,
    dirty: false,
    thp: false,
    hugetlb: false,
    huge: false,
    hugeZero: false,
    head: 0,
    nr: 0,
    anonExclusive: false,
  };
}

/**
 * pte_to_pagemap_entry() and pagemap_pmd_range() + stable_page_flags() and
 * kpagecount. PM_MMAP_EXCLUSIVE of a PMD-mapped page follows
 * proc.pagemapPmdExclusive (the head page's mapcount, or the page's own);
 * a huge PMD mapping a non-anon page (the huge zero page) reports PM_FILE
 * from 6.10 (3f9f022e975d; proc.pagemapPmdFile).
 */
export function pagemap_entry(s: KState, t: number, va: number, prof?: Profile): PagemapEntry {
  const e = emptyEntry();
  // a 1 GiB hugetlb page: its PUD leaf, reported as pagemap_hugetlb_range() does a 2 MiB one
  const pud = pudp_get(s, t, va);
  const onPud = pmd_trans_huge(pud);
  if (onPud || pmd_mapped_huge(s, t, va)) {
    const pmd = onPud ? pud : pmdp_get(s, t, va);
    e.present = true;
    e.huge = true;
    e.uffdWp = pmd_uffd_wp(pmd);
    e.softDirty = pmd_soft_dirty(pmd);
    if (is_huge_zero_pmd(pmd)) {
      e.zero = true;
      e.hugeZero = true;
      e.thp = true;
      e.pfn = ZERO_PFN;
      e.file = prof?.mech.proc.pagemapPmdFile === true;
      return e;
    }
    const head = pmd_pfn(pmd);
    const pfn = head + (va & ((onPud ? pud_nr(s) : pmd_nr(s)) - 1));
    pageFlags(s, e, pfn, prof);
    // hugetlb: mapped once in every era (pagemap_hugetlb_range); a THP per proc.pagemapPmdExclusive
    const mcPage = e.hugetlb || prof?.mech.proc.pagemapPmdExclusive !== 'per-page' ? head : pfn;
    e.exclusive = page_mapcount(s, mcPage) === 1;
    return e;
  }
  const pte = ptep_get(s, t, va);
  if (pte_none(pte)) return e;
  if (pte_present(pte)) {
    e.present = true;
    e.uffdWp = pte_uffd_wp(pte);
    e.softDirty = pte_soft_dirty(pte);
    const pfn = pte_pfn(pte);
    if (pfn === ZERO_PFN) {
      e.pfn = pfn;
      e.zero = true;
      return e;
    }
    pageFlags(s, e, pfn, prof);
    e.exclusive = e.mapcount === 1;
    return e;
  }
  // swap entries and PTE markers both report PM_SWAP
  e.swapped = true;
  e.uffdWp = pte_uffd_wp(pte);
  e.softDirty = !is_pte_marker(pte) && pte_soft_dirty(pte);
  return e;
}

/** The kpagecount and kpageflags side of a present page. */
function pageFlags(s: KState, e: PagemapEntry, pfn: number, prof?: Profile): void {
  e.pfn = pfn;
  e.mapcount = page_mapcount(s, pfn);
  e.anon = page_test(s, pfn, PGF_ANON);
  e.file = !e.anon;
  e.swapcache = page_test(s, pfn, PGF_SWAPCACHE);
  // stable_page_flags() of 6.10 .. 6.1x tested `mapping & PAGE_MAPPING_KSM`, true for every anon page
  e.ksm = page_test(s, pfn, PGF_KSM) || (e.anon && prof?.mech.proc.kpageflagsKsmAnyAnon === true);
  e.lru = page_test(s, pfn, PGF_LRU);
  e.dirty = page_test(s, pfn, PGF_DIRTY);
  e.head = folio_head(s, pfn);
  e.nr = folio_nr_pages(s, pfn);
  e.hugetlb = page_test(s, pfn, PGF_HUGETLB);
  e.thp = e.anon && folio_test_large(s, pfn) && !e.hugetlb;
  e.anonExclusive = e.anon && page_test(s, prof?.mech.proc.kpageflagsFromFolio === true ? e.head : pfn, PGF_ANON_EXCLUSIVE);
}
