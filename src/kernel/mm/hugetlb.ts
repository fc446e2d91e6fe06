/**
 * mm/hugetlb.c: anonymous hugetlb mappings of the PMD size (2 MiB;
 * MAP_PRIVATE or MAP_SHARED with MAP_ANONYMOUS|MAP_HUGETLB) and MFD_HUGETLB
 * memfds, their pool and reservations,
 * faults and COW (hugetlb_wp, reuse by mapcount in every era), fork
 * (copy_hugetlb_page_range and the early copy of pinned pages), unmapping,
 * mprotect and GUP. Reading notes with line numbers: docs/kernel/hugetlb.md
 * (Debian 5.10.223, 6.1.176, 6.12.117 and 7.2.13 read; 6.18 interpolated
 * between the last two, which agree on everything modelled here).
 *
 * A hugetlb page is a folio of the PMD order mapped by a huge PMD entry
 * (the x86 hugetlb PMD leaf), marked PGF_HUGETLB. It is never split, never
 * PTE-mapped, never swapped and never on the LRU; its mapcount is the
 * entire mapcount (the number of mappings); PG_anon_exclusive lives on the
 * head (5.19+). Free pool pages are only counted: a page becomes frames
 * when it is allocated and goes back to the count when its last reference
 * is dropped (free_huge_folio in folio_put_refs()).
 *
 * A shared mapping's pages live in the page cache of its unlinked
 * hugetlbfs file, whose reservations (the file's resv_map) are taken at
 * mmap and given back, less the pages it instantiated, when the file goes
 * with its last mapping (hugetlbfs_evict_inode).
 *
 * Surplus pages (env hugetlb-overcommit: nr_overcommit_hugepages) grow the
 * pool when a reservation or a fault finds no page, and go back to the buddy
 * allocator when freed while the pool has any (gather_surplus_pages,
 * return_unused_surplus_pages, alloc_hugetlb_folio, free_huge_folio and the
 * surplus test of __unmap_hugepage_range read in a 6.1x mm/hugetlb.c through
 * the search tool; the same structure in the 5.x patches it shows; checked on
 * 5.10, 6.1, 6.12, 6.18 and 7.2 by the hugetlb-surplus scenarios).
 *
 * 1 GiB pages (MAP_HUGE_1GB, MFD_HUGE_1GB) are a second hstate: PUD leaves,
 * their own pool, no surplus pages (alloc_surplus_hugetlb_folio() returns NULL
 * for a gigantic hstate up to 6.18; from 6.19, 8bc45f1aa144, it may allocate
 * one at run time, but the model has no 1 GiB overcommit setting, so the
 * limit is 0 in every era); every other path is the PMD one at the PUD
 * level, as in the kernel (huge_pte_offset()/huge_ptep_get() pick the level).
 *
 * Not modelled (refused when a scenario asks): PMD sharing
 * (huge_pmd_share needs a whole PUD-aligned gigabyte), uffd-wp,
 * MADV_* other than on whole mappings by munmap, mremap and KSM (which never
 * touches hugetlb).
 */
import type { KState } from '../../model/layout.js';
import {
  PGF_ANON,
  PGF_ANON_EXCLUSIVE,
  PGF_HUGETLB,
  PGF_DIRTY,
  PGF_RESTORE_RESERVE,
  MMF_HAS_PINNED,
  FORK_STOP_COPY,
} from '../../model/layout.js';
import type { ForkStopKind, CopyRangeResult } from '../kernel/fork.js';
import {
  type Pmd,
  PMD_NONE,
  mk_huge_pmd,
  pmd_none,
  pmd_pfn,
  pmd_write,
  pmd_mkwrite,
  pmd_wrprotect,
  pmd_dirty,
  pmd_mkdirty,
} from '../../model/pmd.js';
import {
  pmdp_get,
  set_pmd_at,
  pmd_nr,
  pudp_get,
  set_pud_at,
  pud_nr,
  file_flags,
  type Hstate,
  page_set,
  page_clear,
  page_test,
  page_data,
  page_set_data,
  page_set_mapping,
  folio_entire_mapcount,
  folio_entire_mapcount_add,
  folio_large_mapcount_add,
  folio_nr_pages,
  page_pincount,
  vmas_of,
  vma_flags_at,
  vma_set_flags_at,
  vma_lookup_idx,
  vma_pgoff_of,
  vma_file_at,
  filemap_get,
  filemap_set,
  folio_head,
  anon_vma_prepare,
  task_alive,
  mm_flags,
  is_cow_mapping,
  hugetlb_pool,
  hugetlb_pool_add,
  hugetlb_resv_consumed,
  hugetlb_set_resv_consumed,
  file_hresv,
  file_hresv_add,
  file_size,
  VM_SHARED,
  VM_WRITE,
  VM_HUGETLB,
  VM_NORESERVE,
  VM_HRESV_OWNER,
  VM_HRESV_UNMAPPED,
  VM_HUGE_PUD,
  folio_mapped,
} from '../../model/mm_types.js';
import { FF_HUGETLB_PUD } from '../../model/layout.js';
import { type KCtx, trace } from '../ctx.js';
import { keepsAnonExclusive } from '../../profiles/types.js';
import { folio_move_anon_rmap } from './rmap.js';
import { folio_alloc_large } from './page_alloc.js';
import { folio_get, folio_put } from './swap.js';
import { type Vmf, FAULT_FLAG_WRITE, FAULT_FLAG_UNSHARE, VM_FAULT_SIGBUS, VM_FAULT_WRITE } from './memory.js';
import { ENOMEM, ENOSPC } from '../errno.js';

/** is_vm_hugetlb_page() */
export function is_vm_hugetlb_page(vflags: number): boolean {
  return (vflags & VM_HUGETLB) !== 0;
}

/* ---------------- hstates: 2 MiB (PMD leaf) and 1 GiB (PUD leaf) ---------------- */

/** hstate_vma(): the hstate of a hugetlb VMA with flags `vflags`. */
export function hstate_vma(vflags: number): Hstate {
  return vflags & VM_HUGE_PUD ? 1 : 0;
}
/** hstate_inode() of hugetlbfs file `f`. */
function hstate_file(s: KState, f: number): Hstate {
  return file_flags(s, f) & FF_HUGETLB_PUD ? 1 : 0;
}
/** pages_per_huge_page(): the base pages of a huge page of hstate `h`. */
export function pages_per_huge_page(s: KState, h: Hstate): number {
  return h ? pud_nr(s) : pmd_nr(s);
}
/** huge_page_order() */
function huge_page_order(s: KState, h: Hstate): number {
  return h ? s.L.geo.pudOrder! : s.L.geo.pmdOrder;
}
/** huge_ptep_get(): the leaf entry (a huge PMD, or a huge PUD for 1 GiB) covering `va`. */
export function huge_ptep_get(s: KState, t: number, va: number, h: Hstate): Pmd {
  return h ? pudp_get(s, t, va) : pmdp_get(s, t, va);
}
/** set_huge_pte_at() */
export function set_huge_pte_at(s: KState, t: number, va: number, e: Pmd, h: Hstate): void {
  if (h) set_pud_at(s, t, va, e);
  else set_pmd_at(s, t, va, e);
}

/** The huge page index of `va` in the address space (PMD or PUD index). */
function slot_of(s: KState, va: number, h: Hstate): number {
  return Math.floor(va / pages_per_huge_page(s, h));
}

/** The first page of the huge page `va` lies in. */
function haddr_of(s: KState, va: number, h: Hstate): number {
  return va - (va % pages_per_huge_page(s, h));
}

/**
 * The hugetlbfs file and huge-page offset a private mapping maps at `va`:
 * MAP_HUGETLB creates an unlinked file per mmap (hugetlb_file_setup), whose
 * identity the model keeps in the VMA's pgoff word (file << 20 | offset: room
 * for offsets of two 1 GiB pages).
 */
function file_offset(s: KState, t: number, vi: number, va: number): number {
  return vma_pgoff_of(s, t, vi, va);
}

const HUGETLB_FILE_SHIFT = 20;

/** The pgoff word of a new MAP_HUGETLB mapping of hugetlbfs file `file`. */
export function hugetlb_file_pgoff(file: number): number {
  return file << HUGETLB_FILE_SHIFT;
}

/* ---------------- reservations ---------------- */

/**
 * hugetlb_reserve_pages() for a private mapping of `pages` pages: without
 * MAP_NORESERVE the VMA becomes the owner of a reservation of every huge
 * page it covers (HPAGE_RESV_OWNER), which hugetlb_acct_memory() takes from
 * the pool's free pages not already reserved; -ENOMEM (mmap fails) when
 * they are not enough. Returns the VMA flags to add, or -ENOMEM.
 */
export function hugetlb_reserve_pages(s: KState, ctx: KCtx, pages: number, vflags: number): number {
  if (vflags & VM_NORESERVE) {
    trace(ctx, 'hugetlb_reserve_pages', 'MAP_NORESERVE: no reservation, the VMA owns none');
    return 0;
  }
  const h = hstate_vma(vflags);
  const chg = Math.ceil(pages / pages_per_huge_page(s, h));
  if (!hugetlb_acct_memory(s, ctx, chg, h)) return -ENOMEM;
  trace(ctx, 'hugetlb_reserve_pages', `${chg} huge page(s) reserved for this private mapping (HPAGE_RESV_OWNER)`);
  return VM_HRESV_OWNER;
}

/**
 * hugetlb_reserve_pages() for a shared mapping of pages [pgoff, pgoff +
 * pages) of hugetlbfs file `f`: the huge pages of the range not yet in the
 * file's resv_map (region_chg) are reserved for the file, whoever faults
 * them; MAP_NORESERVE reserves nothing. The resv_map covers every page in
 * the page cache (alloc_hugetlb_folio commits an entry for each, fallocate
 * included) and the reservations not consumed yet. 0 or -ENOMEM.
 */
export function hugetlb_reserve_file_pages(s: KState, ctx: KCtx, f: number, pgoff: number, pages: number, vflags: number): number {
  if (vflags & VM_NORESERVE) {
    trace(ctx, 'hugetlb_reserve_pages', 'MAP_NORESERVE: no reservation for the file');
    return 0;
  }
  const h = hstate_file(s, f);
  const n = pages_per_huge_page(s, h);
  let uncovered = 0;
  for (let i = pgoff - (pgoff % n); i < pgoff + pages; i += n) if (filemap_get(s, f, i) === 0) uncovered++;
  const chg = uncovered - file_hresv(s, f);
  if (chg <= 0) return 0;
  if (!hugetlb_acct_memory(s, ctx, chg, h)) return -ENOMEM;
  file_hresv_add(s, f, chg);
  trace(ctx, 'hugetlb_reserve_pages', `${chg} huge page(s) reserved for the shared file (its resv_map)`);
  return 0;
}

/**
 * hugetlb_acct_memory(): +chg reserves through gather_surplus_pages(), then
 * checks that the free pages themselves cover it (allowed_mems_nr(), which
 * matters once a restored reservation has taken resv below zero), undoing
 * the reservation when they do not; -chg gives reservations back
 * (return_unused_surplus_pages()). False: -ENOMEM.
 */
function hugetlb_acct_memory(s: KState, ctx: KCtx, chg: number, h: Hstate): boolean {
  if (chg < 0) {
    return_unused_surplus_pages(s, ctx, -chg, h);
    return true;
  }
  const before = hugetlb_pool(s, h);
  if (!gather_surplus_pages(s, ctx, chg, h)) {
    trace(
      ctx,
      'hugetlb_acct_memory',
      `${chg} huge page(s) to reserve, ${before.free} free, ${before.resv} reserved, ${before.surplus} of ${before.overcommit} surplus page(s): -ENOMEM`,
    );
    return false;
  }
  if (chg > hugetlb_pool(s, h).free) {
    return_unused_surplus_pages(s, ctx, chg, h);
    trace(ctx, 'hugetlb_acct_memory', `${chg} huge page(s) to reserve, only ${hugetlb_pool(s, h).free} free: -ENOMEM`);
    return false;
  }
  return true;
}

/**
 * gather_surplus_pages(): reserve `delta` pages; when the free pages not
 * reserved fall short, allocate the missing ones as surplus pages into the
 * free lists first (alloc_surplus_hugetlb_folio(), at most
 * nr_overcommit_hugepages surplus pages in all). All or nothing.
 */
function gather_surplus_pages(s: KState, ctx: KCtx, delta: number, h: Hstate): boolean {
  const p = hugetlb_pool(s, h);
  const needed = p.resv + delta - p.free;
  if (needed <= 0) {
    hugetlb_pool_add(s, { resv: delta }, h);
    return true;
  }
  // the allocation loop stops at the overcommit limit, and what it got goes back to the buddy allocator;
  // no gigantic surplus page: alloc_surplus_hugetlb_folio() up to 6.18 (the model's 1 GiB overcommit is 0 anyway)
  if (h === 1 || p.overcommit - p.surplus < needed) return false;
  hugetlb_pool_add(s, { nr: needed, free: needed, surplus: needed, resv: delta }, h);
  trace(ctx, 'gather_surplus_pages', `${needed} surplus huge page(s) allocated into the pool for the reservation`);
  return true;
}

/**
 * return_unused_surplus_pages(): `unused` reservations given back, and as
 * many free surplus pages as that, at most, freed to the buddy allocator.
 */
function return_unused_surplus_pages(s: KState, ctx: KCtx, unused: number, h: Hstate): void {
  hugetlb_pool_add(s, { resv: -unused }, h);
  const p = hugetlb_pool(s, h);
  const n = Math.min(unused, p.surplus, p.free);
  if (n <= 0) return;
  hugetlb_pool_add(s, { nr: -n, free: -n, surplus: -n }, h);
  trace(ctx, 'return_unused_surplus_pages', `${n} free surplus huge page(s) freed`);
}

/**
 * alloc_surplus_hugetlb_folio(): one page beyond the pool, when the pool
 * may still grow (surplus_hugepages below nr_overcommit_hugepages), never a
 * gigantic (1 GiB) one. True when the counters took it.
 */
function alloc_surplus_hugetlb_folio(s: KState, h: Hstate): boolean {
  const p = hugetlb_pool(s, h);
  if (h === 1 || p.surplus >= p.overcommit) return false;
  hugetlb_pool_add(s, { nr: 1, surplus: 1 }, h);
  return true;
}

/**
 * hugetlbfs_evict_inode() of an unlinked hugetlbfs file whose last mapping
 * went (MAP_SHARED|MAP_HUGETLB): remove_inode_hugepages() drops the page
 * cache's reference of every folio (a folio a pipe or a pin still holds is
 * freed later), and hugetlb_unreserve_pages() gives back the reservations
 * no page consumed.
 */
export function hugetlbfs_evict_inode(s: KState, ctx: KCtx, f: number): void {
  const h = hstate_file(s, f);
  const n = pages_per_huge_page(s, h);
  for (let i = 0; i < file_size(s, f); i += n) {
    const pfn = filemap_get(s, f, i);
    if (pfn === 0) continue;
    const head = folio_head(s, pfn);
    for (let j = 0; j < n; j++) {
      filemap_set(s, f, i + j, 0);
      page_set_mapping(s, head + j, -1, 0);
    }
    folio_put(s, head);
  }
  const unused = file_hresv(s, f);
  if (unused) {
    hugetlb_acct_memory(s, ctx, -unused, h);
    file_hresv_add(s, f, -unused);
  }
  trace(ctx, 'hugetlbfs_evict_inode', `hugetlbfs file ${f} gone${unused ? `: ${unused} unused reservation(s) returned` : ''}`);
}

/**
 * hugetlb_vm_op_close() for [lo, hi) of VMA `vi` leaving task `t` (munmap,
 * exit): an owner gives back the reservations of the huge pages it never
 * consumed; its resv_map entries for the range go.
 */
export function hugetlb_vm_op_close(s: KState, ctx: KCtx, t: number, vi: number, lo: number, hi: number): void {
  const vflags = vma_flags_at(s, t, vi);
  if ((vflags & VM_HRESV_OWNER) === 0) return;
  const h = hstate_vma(vflags);
  let unused = 0;
  for (let va = haddr_of(s, lo, h); va < hi; va += pages_per_huge_page(s, h)) {
    const slot = slot_of(s, va, h);
    if (!hugetlb_resv_consumed(s, t, slot, h)) unused++;
    hugetlb_set_resv_consumed(s, t, slot, false, h);
  }
  if (unused) {
    trace(ctx, 'hugetlb_vm_op_close', `${unused} unused reservation(s) returned`);
    hugetlb_acct_memory(s, ctx, -unused, h);
  }
}

/**
 * alloc_hugetlb_folio() (alloc_huge_page up to 6.6): a page from the pool
 * for (`t`, `vi`, `va`). The owner of a private mapping uses the
 * reservation of that huge page if it has not consumed it yet; everyone
 * else (a fork child, MAP_NORESERVE, the owner copying a page it shares:
 * `cowFromOwner`, the avoid_reserve of hugetlb_wp) needs a free page that
 * no reservation holds. Without a page from the pool
 * (dequeue_hugetlb_folio_vma()), a surplus page if the pool may grow
 * (alloc_buddy_hugetlb_folio_with_mpol()), else -ENOSPC. The head PFN.
 */
export function alloc_hugetlb_folio(s: KState, ctx: KCtx, t: number, vi: number, va: number, cowFromOwner: boolean): number {
  const vflags = vma_flags_at(s, t, vi);
  const h = hstate_vma(vflags);
  const slot = slot_of(s, va, h);
  // a shared mapping's page uses a reservation of its file (every offset the resv_map covers is reserved)
  const shared = (vflags & VM_SHARED) !== 0 ? vma_file_at(s, t, vi) : -1;
  const useResv =
    shared >= 0 ? file_hresv(s, shared) > 0 : !cowFromOwner && (vflags & VM_HRESV_OWNER) !== 0 && !hugetlb_resv_consumed(s, t, slot, h);
  const p = hugetlb_pool(s, h);
  // dequeue_hugetlb_folio_vma(): an actual free page in any case (a restored reservation can take resv below zero)
  let surplus = false;
  if (p.free < 1 || (!useResv && p.free - p.resv < 1)) {
    surplus = alloc_surplus_hugetlb_folio(s, h);
    if (!surplus) {
      trace(
        ctx,
        'alloc_hugetlb_folio',
        `no huge page: ${p.free} free, ${p.resv} reserved${useResv ? '' : ', none of them for this fault'}, ${p.surplus} of ${p.overcommit} surplus page(s): -ENOSPC`,
      );
      return -ENOSPC;
    }
  }
  const head = folio_alloc_large(s, 0, huge_page_order(s, h));
  if (head === 0) throw new Error('cowlab: no frames for a hugetlb folio (geometry too small)');
  page_set(s, head, PGF_HUGETLB);
  hugetlb_pool_add(s, { free: surplus ? 0 : -1, resv: useResv ? -1 : 0 }, h);
  if (useResv && shared >= 0) file_hresv_add(s, shared, -1);
  else if (useResv) hugetlb_set_resv_consumed(s, t, slot, true, h);
  const from = surplus ? `beyond the pool (surplus page ${hugetlb_pool(s, h).surplus} of ${p.overcommit})` : 'from the pool';
  trace(
    ctx,
    'alloc_hugetlb_folio',
    `huge page pfn#${head} ${from}${useResv ? (shared >= 0 ? " (the file's reservation)" : ' (the VMA reservation)') : ''}`,
  );
  return head;
}

/**
 * hugetlbfs_fallocate() of a whole MFD_HUGETLB memfd at its creation: a page
 * from the pool per huge page of the file, zeroed, in the page cache (which
 * holds one reference); allocated through a shared pseudo-VMA, so each
 * needs a free page no reservation holds. -ENOSPC when the pool runs out.
 */
export function hugetlbfs_fallocate(s: KState, f: number, pages: number): number {
  const h = hstate_file(s, f);
  const n = pages_per_huge_page(s, h);
  for (let i = 0; i < pages; i += n) {
    const p = hugetlb_pool(s, h);
    const surplus = p.free - p.resv < 1;
    if (surplus && !alloc_surplus_hugetlb_folio(s, h)) return -ENOSPC;
    const head = folio_alloc_large(s, 0, huge_page_order(s, h));
    if (head === 0) throw new Error('cowlab: no frames for a hugetlb folio (geometry too small)');
    page_set(s, head, PGF_HUGETLB);
    if (!surplus) hugetlb_pool_add(s, { free: -1 }, h);
    for (let j = 0; j < n; j++) {
      page_set_mapping(s, head + j, f, i + j);
      page_set_data(s, head + j, 0);
      filemap_set(s, f, i + j, head + j);
    }
  }
  return 0;
}

/* ---------------- rmap (include/linux/rmap.h hugetlb_*_rmap) ---------------- */

/** hugetlb_add_new_anon_rmap(): a new anon hugetlb folio of task `t`, mapped once, exclusive (5.19+). */
function hugetlb_add_new_anon_rmap(s: KState, ctx: KCtx, head: number, va: number): void {
  page_set(s, head, PGF_ANON);
  page_clear(s, head, PGF_RESTORE_RESERVE);
  for (let i = 0; i < folio_nr_pages(s, head); i++) page_set_mapping(s, head + i, -1, va + i);
  folio_entire_mapcount_add(s, head, 1);
  folio_large_mapcount_add(s, head, 1);
  if (keepsAnonExclusive(ctx.prof.mech)) page_set(s, head, PGF_ANON_EXCLUSIVE);
}

/** hugetlb_remove_rmap() */
function hugetlb_remove_rmap(s: KState, head: number): void {
  folio_entire_mapcount_add(s, head, -1);
  folio_large_mapcount_add(s, head, -1);
}

/** hugetlb_add_file_rmap(): a page-cache folio mapped once more. */
function hugetlb_add_file_rmap(s: KState, head: number): void {
  folio_entire_mapcount_add(s, head, 1);
  folio_large_mapcount_add(s, head, 1);
}

/** hugetlb_dup_rmap(): one more mapping (fork). */
function hugetlb_dup_rmap(s: KState, head: number): void {
  folio_entire_mapcount_add(s, head, 1);
  folio_large_mapcount_add(s, head, 1);
}

/* ---------------- faults ---------------- */

/**
 * hugetlb_fault(): the entry covering the address is none (hugetlb_no_page)
 * or present: a write or unshare fault on a read-only entry goes to
 * hugetlb_wp(), anything else only marks it dirty on a write.
 */
export function hugetlb_fault(s: KState, ctx: KCtx, vmf: Vmf): number {
  const h = hstate_vma(vmf.vflags);
  const haddr = haddr_of(s, vmf.va, h);
  const pmd = huge_ptep_get(s, vmf.t, haddr, h);
  if (pmd_none(pmd)) return hugetlb_no_page(s, ctx, vmf, haddr);
  if (vmf.flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE) && !pmd_write(pmd)) return hugetlb_wp(s, ctx, vmf, haddr, pmd);
  if (vmf.flags & FAULT_FLAG_WRITE) set_huge_pte_at(s, vmf.t, haddr, pmd_mkdirty(pmd), h);
  trace(ctx, 'hugetlb_fault', 'entry already suitable: young only');
  return 0;
}

/**
 * hugetlb_no_page(): a VMA the owner stole a page from SIGBUSes; otherwise
 * a zeroed page from the pool (SIGBUS without one), a new exclusive anon
 * page mapped read-only (a private entry always starts read-only), and a
 * write fault goes straight on to hugetlb_wp(), which reuses it.
 */
function hugetlb_no_page(s: KState, ctx: KCtx, vmf: Vmf, haddr: number): number {
  if (vmf.vflags & VM_HRESV_UNMAPPED) {
    trace(ctx, 'hugetlb_no_page', `"PID ${vmf.t} killed due to inadequate hugepage pool": the owner stole this VMA's page`);
    return VM_FAULT_SIGBUS;
  }
  const h = hstate_vma(vmf.vflags);
  const nr = pages_per_huge_page(s, h);
  const file = vma_file_at(s, vmf.t, vmf.vi);
  const index = file >= 0 ? vma_pgoff_of(s, vmf.t, vmf.vi, haddr) : 0;
  let cached = file >= 0 ? filemap_get(s, file, index) : 0;
  if (!cached && file >= 0 && vmf.vflags & VM_SHARED) {
    // a shared mapping's new page goes into the file's page cache (hugetlb_add_to_page_cache), which
    // keeps the allocation's reference
    const head = alloc_hugetlb_folio(s, ctx, vmf.t, vmf.vi, haddr, false);
    if (head < 0) return VM_FAULT_SIGBUS;
    for (let j = 0; j < nr; j++) {
      page_set_data(s, head + j, 0);
      page_set_mapping(s, head + j, file, index + j);
      filemap_set(s, file, index + j, head + j);
    }
    trace(ctx, 'hugetlb_no_page', `new huge page pfn#${head} added to the page cache of hugetlbfs file ${file}`);
    cached = head;
  }
  if (cached) {
    // the page cache's folio (a fallocated MFD_HUGETLB memfd): mapped as a file page, read-only
    // unless the mapping is shared and writable; a private write goes on to hugetlb_wp(), which copies it
    const head = folio_head(s, cached);
    folio_get(s, head);
    hugetlb_add_file_rmap(s, head);
    let entry = mk_huge_pmd(head);
    if (vmf.vflags & VM_SHARED && vmf.vflags & VM_WRITE) entry = pmd_mkwrite(pmd_mkdirty(entry));
    set_huge_pte_at(s, vmf.t, haddr, entry, h);
    trace(ctx, 'hugetlb_no_page', `page-cache huge page pfn#${head} mapped at pages ${haddr}..${haddr + nr - 1}`);
    if (vmf.flags & FAULT_FLAG_WRITE && (vmf.vflags & VM_SHARED) === 0) return hugetlb_wp(s, ctx, vmf, haddr, entry);
    return 0;
  }
  anon_vma_prepare(s, vmf.t, vmf.vi);
  const head = alloc_hugetlb_folio(s, ctx, vmf.t, vmf.vi, haddr, false);
  if (head < 0) return VM_FAULT_SIGBUS;
  for (let i = 0; i < folio_nr_pages(s, head); i++) page_set_data(s, head + i, 0);
  hugetlb_add_new_anon_rmap(s, ctx, head, haddr);
  const entry = mk_huge_pmd(head);
  set_huge_pte_at(s, vmf.t, haddr, entry, h);
  trace(ctx, 'hugetlb_no_page', `new anon huge page pfn#${head} mapped read-only at pages ${haddr}..${haddr + nr - 1}`);
  if (vmf.flags & FAULT_FLAG_WRITE && (vmf.vflags & VM_SHARED) === 0) return hugetlb_wp(s, ctx, vmf, haddr, entry, true);
  return 0;
}

/**
 * hugetlb_wp() (hugetlb_cow up to 5.18): a write or unshare fault on a
 * read-only private entry. Reuse when the folio is anon and mapped once
 * (folio_mapcount() == 1: the refcount, so GUP and pipe references, is never
 * looked at, in every era; b8a2528835b3 documents why); from 5.19 reuse sets
 * PG_anon_exclusive. Otherwise copy into a page from the pool: the owner of
 * the mapping cannot use its reservation for a page it shares, and when no
 * page is free it steals the page back from the other VMAs
 * (unmap_ref_private) and reuses it; anyone else gets SIGBUS.
 * A FOLL_FORCE write into a read-only VMA (hugetlb.forceWrite) maps the page
 * writable anyway up to 6.1 (set_huge_ptep_writable()), and from 6.14 only
 * when the VMA is writable (set_huge_ptep_maybe_writable()).
 */
function hugetlb_wp(s: KState, ctx: KCtx, vmf: Vmf, haddr: number, pmd: Pmd, fresh = false): number {
  const unshare = (vmf.flags & FAULT_FLAG_UNSHARE) !== 0;
  const h = hstate_vma(vmf.vflags);
  const old = pmd_pfn(pmd);
  const mkwrite = !unshare && (vmf.vflags & VM_WRITE || ctx.prof.mech.hugetlb.forceWrite === 'fake-write');
  if (!unshare && !(vmf.vflags & VM_WRITE) && ctx.prof.mech.hugetlb.forceWrite !== 'fake-write')
    trace(ctx, 'hugetlb_wp', 'FOLL_FORCE write into a read-only VMA: the entry stays read-only');
  if (vmf.vflags & VM_SHARED) {
    // a shared mapping writes to the page cache's folio itself
    if (unshare) return 0;
    set_huge_pte_at(s, vmf.t, haddr, pmd_mkwrite(pmd_mkdirty(pmd)), h);
    return VM_FAULT_WRITE;
  }
  for (let tries = 0; tries < 2; tries++) {
    const cur = huge_ptep_get(s, vmf.t, haddr, h);
    if (folio_entire_mapcount(s, old) === 1 && page_test(s, old, PGF_ANON)) {
      // folio_move_anon_rmap() + SetPageAnonExclusive() (5.19+)
      folio_move_anon_rmap(s, ctx, old);
      if (!fresh) {
        trace(ctx, 'hugetlb_wp', `huge page pfn#${old}: anon and mapped once: reuse${unshare ? ' (unshare: entry left read-only)' : ''}`);
        ctx.metrics.reuses++;
      }
      if (unshare) return 0;
      let e = pmd_mkdirty(cur);
      if (mkwrite) e = pmd_mkwrite(e);
      set_huge_pte_at(s, vmf.t, haddr, e, h);
      return VM_FAULT_WRITE;
    }
    const ownerCow = (vmf.vflags & VM_HRESV_OWNER) !== 0 && page_test(s, old, PGF_ANON);
    const nw = alloc_hugetlb_folio(s, ctx, vmf.t, vmf.vi, haddr, ownerCow);
    if (nw >= 0) {
      anon_vma_prepare(s, vmf.t, vmf.vi);
      const nr = folio_nr_pages(s, old);
      for (let i = 0; i < nr; i++) page_set_data(s, nw + i, page_data(s, old + i));
      ctx.metrics.copies += nr;
      hugetlb_add_new_anon_rmap(s, ctx, nw, haddr);
      let e = mk_huge_pmd(nw);
      if (!unshare) e = pmd_mkdirty(e);
      if (mkwrite) e = pmd_mkwrite(e);
      set_huge_pte_at(s, vmf.t, haddr, e, h);
      hugetlb_remove_rmap(s, old);
      folio_put(s, old);
      trace(
        ctx,
        'hugetlb_wp',
        `huge page pfn#${old} (mapcount ${folio_entire_mapcount(s, old) + 1}) copied into ${nw}${unshare ? ', mapped read-only (unshare)' : ''}`,
      );
      return unshare ? 0 : VM_FAULT_WRITE;
    }
    if (!ownerCow) {
      trace(ctx, 'hugetlb_wp', `huge page pfn#${old}: no page for the copy: SIGBUS`);
      return VM_FAULT_SIGBUS;
    }
    // the owner must not fail: take the page away from every other private mapping of it
    unmap_ref_private(s, ctx, vmf.t, vmf.vi, haddr, old);
  }
  return VM_FAULT_SIGBUS;
}

/**
 * unmap_ref_private(): the owner of a private mapping could not get a page
 * for its copy, so the page is zapped from every other VMA that maps this
 * offset of the same hugetlbfs file, except shared mappings and other
 * owners; each VMA it is zapped from is marked HPAGE_RESV_UNMAPPED, and its
 * next no-page fault anywhere is SIGBUS (read in 6.18 and 5.10).
 */
function unmap_ref_private(s: KState, ctx: KCtx, t: number, vi: number, haddr: number, page: number): void {
  const off = file_offset(s, t, vi, haddr);
  for (let u = 0; u < s.L.geo.tasks; u++) {
    if (!task_alive(s, u)) continue;
    vmas_of(s, u).forEach((v, ui) => {
      if (u === t && ui === vi) return;
      if ((v.flags & VM_HUGETLB) === 0 || v.flags & VM_SHARED || v.flags & VM_HRESV_OWNER) return;
      const at = v.start + (off - v.pgoff);
      if (at < v.start || at >= v.end || v.pgoff >> HUGETLB_FILE_SHIFT !== off >> HUGETLB_FILE_SHIFT) return;
      const h = hstate_vma(v.flags);
      const pmd = huge_ptep_get(s, u, at, h);
      // __unmap_hugepage_range() with the folio given: only a VMA whose entry maps that very page is zapped and
      // marked (a child that has its own copy by now, or none, keeps faulting normally)
      if (pmd_none(pmd) || pmd_pfn(pmd) !== page) return;
      vma_set_flags_at(s, u, ui, v.flags | VM_HRESV_UNMAPPED);
      set_huge_pte_at(s, u, at, PMD_NONE, h);
      hugetlb_remove_rmap(s, page);
      folio_put(s, page);
      trace(ctx, 'unmap_ref_private', `huge page pfn#${page} taken from task ${u} (HPAGE_RESV_UNMAPPED)`);
    });
  }
}

/* ---------------- fork ---------------- */

/**
 * copy_hugetlb_page_range(): every present entry is shared with the child,
 * write-protected in both for a COW mapping, with one more mapping and
 * reference; a page that may be pinned is copied for the child instead
 * (hugetlb.forkCopyPinned), from a free page outside every reservation
 * (the child's VMA owns none): without one fork() fails (the -ENOSPC of
 * the copy becomes ENOMEM in copy_mm()). The child's VMA never owns a
 * reservation (hugetlb_dup_vma_private); the caller clears its flags.
 * Returns 0 or -ENOMEM, or with `stop` FORK_STOP_COPY where it stopped after
 * a copy (the copy_present_page window of copy_present_pte, for huge pages).
 */
export function copy_hugetlb_page_range(
  s: KState,
  ctx: KCtx,
  src: number,
  dst: number,
  vi: number,
  start: number,
  end: number,
  stop: ForkStopKind = 0,
): CopyRangeResult {
  const sflags = vma_flags_at(s, src, vi);
  const cow = is_cow_mapping(sflags);
  const mode = ctx.prof.mech.hugetlb.forkCopyPinned;
  const dvi = vma_lookup_idx(s, dst, start);
  const h = hstate_vma(sflags);
  for (let va = haddr_of(s, start, h); va < end; va += pages_per_huge_page(s, h)) {
    const pmd = huge_ptep_get(s, src, va, h);
    if (pmd_none(pmd)) continue;
    const head = pmd_pfn(pmd);
    const anon = page_test(s, head, PGF_ANON);
    const maybePinned = cow && (mm_flags(s, src) & MMF_HAS_PINNED) !== 0 && page_pincount(s, head) > 0;
    const early =
      (mode === 'maybe-pinned' && maybePinned) ||
      (mode === 'exclusive-maybe-pinned' && anon && page_test(s, head, PGF_ANON_EXCLUSIVE) && maybePinned);
    if (early) {
      const nw = alloc_hugetlb_folio(s, ctx, dst, dvi, va, true);
      if (nw < 0) {
        trace(ctx, 'copy_hugetlb_page_range', `huge page pfn#${head} may be pinned and no page is free for the child's copy: fork fails`);
        return -ENOMEM;
      }
      const nr = folio_nr_pages(s, head);
      for (let i = 0; i < nr; i++) page_set_data(s, nw + i, page_data(s, head + i));
      ctx.metrics.forkCopies += nr;
      hugetlb_add_new_anon_rmap(s, ctx, nw, va);
      set_huge_pte_at(s, dst, va, pmd_mkwrite(pmd_mkdirty(mk_huge_pmd(nw))), h);
      trace(ctx, 'copy_hugetlb_page_range', `huge page pfn#${head} may be pinned: the child gets a copy ${nw}, the parent keeps its entry`);
      // (the stop names the huge page's last page: the fork goes on at the next huge page)
      if (stop === FORK_STOP_COPY) return { at: va + pages_per_huge_page(s, h) - 1, kind: stop };
      continue;
    }
    folio_get(s, head);
    hugetlb_dup_rmap(s, head);
    // hugetlb_try_dup_anon_rmap() (5.19+): a shared page is exclusive to no one (nothing to clear before)
    if (anon) page_clear(s, head, PGF_ANON_EXCLUSIVE);
    let child = pmd;
    if (cow) {
      set_huge_pte_at(s, src, va, pmd_wrprotect(pmd), h);
      child = pmd_wrprotect(child);
    }
    set_huge_pte_at(s, dst, va, child, h);
    trace(ctx, 'copy_hugetlb_page_range', `huge page pfn#${head} shared with the child${cow ? ', write-protected in both' : ''}`);
  }
  return 0;
}

/* ---------------- unmapping and protection ---------------- */

/**
 * __unmap_hugepage_range(): every entry of [lo, hi) goes; a dirty entry
 * dirties the folio; the mapping and its reference are dropped (a page a
 * pipe or a GUP still holds survives, counted neither free nor mapped).
 */
export function __unmap_hugepage_range(s: KState, ctx: KCtx, t: number, vi: number, lo: number, hi: number): void {
  const owner = (vma_flags_at(s, t, vi) & VM_HRESV_OWNER) !== 0;
  const h = hstate_vma(vma_flags_at(s, t, vi));
  for (let va = haddr_of(s, lo, h); va < hi; va += pages_per_huge_page(s, h)) {
    const pmd = huge_ptep_get(s, t, va, h);
    if (pmd_none(pmd)) continue;
    const head = pmd_pfn(pmd);
    set_huge_pte_at(s, t, va, PMD_NONE, h);
    if (pmd_dirty(pmd)) page_set(s, head, PGF_DIRTY);
    hugetlb_remove_rmap(s, head);
    // df7a6d1f6405 (hugetlb.restoreReserve): the owner's anon page gives its reservation back to the
    // VMA's map now (the consumed entry goes) and to the pool when the folio is freed; not while the
    // pool has surplus pages ("if we are freeing a surplus, do not set the restore reservation bit")
    // (hugetlb.restoreLastUnmap, 7.2 and 6.12.y: only when no other process still maps it)
    const lastUnmap = !ctx.prof.mech.hugetlb.restoreLastUnmap || !folio_mapped(s, head);
    if (ctx.prof.mech.hugetlb.restoreReserve && owner && lastUnmap && page_test(s, head, PGF_ANON) && hugetlb_pool(s, h).surplus === 0) {
      page_set(s, head, PGF_RESTORE_RESERVE);
      hugetlb_set_resv_consumed(s, t, slot_of(s, va, h), false, h);
      trace(ctx, '__unmap_hugepage_range', `huge page pfn#${head}: reservation restored to the owner (freed: resv_hugepages + 1)`);
    }
    folio_put(s, head);
    trace(ctx, '__unmap_hugepage_range', `huge page pfn#${head} unmapped at page ${va}`);
  }
}

/**
 * hugetlb_change_protection(): mprotect() rewrites every present entry with
 * the new protection; a private mapping's page protection never includes
 * write (COW), so the entries end up read-only either way.
 */
export function hugetlb_change_protection(s: KState, ctx: KCtx, t: number, lo: number, hi: number, newflags: number): void {
  const h = hstate_vma(newflags);
  for (let va = haddr_of(s, lo, h); va < hi; va += pages_per_huge_page(s, h)) {
    const pmd = huge_ptep_get(s, t, va, h);
    if (pmd_none(pmd)) continue;
    const writable = (newflags & VM_SHARED) !== 0 && (newflags & VM_WRITE) !== 0;
    set_huge_pte_at(s, t, va, writable ? pmd_mkwrite(pmd) : pmd_wrprotect(pmd), h);
  }
  trace(
    ctx,
    'hugetlb_change_protection',
    `pages ${lo}..${hi - 1}: entries rewritten${newflags & VM_WRITE ? ' (private: still read-only)' : ' read-only'}`,
  );
}

/** A range boundary inside a hugetlb VMA must fall on a huge page (hugetlb_vm_op_split: -EINVAL otherwise). */
export function hugetlb_range_misaligned(s: KState, t: number, start: number, end: number): boolean {
  for (const v of vmas_of(s, t)) {
    if ((v.flags & VM_HUGETLB) === 0 || v.end <= start || v.start >= end) continue;
    const n = pages_per_huge_page(s, hstate_vma(v.flags));
    if ((start > v.start && start % n !== 0) || (end < v.end && end % n !== 0)) return true;
  }
  return false;
}
