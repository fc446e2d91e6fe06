/**
 * mm/ksm.c: kernel samepage merging, as far as it meets COW and GUP
 * (docs/kernel/ksm.md; read in Debian 5.10.223, 6.1.176, 6.12.117 and
 * 7.2.13). ksm_madvise() registers VMAs, ksmd's passes merge equal anon
 * pages into write-protected KSM pages, break_ksm() unshares them.
 *
 * ksmd is modelled as `ksm_scan_until_stable()`: passes over the registered
 * mms until one changes none of ksmd's counters, which is how the executor
 * drives the real ksmd (docs/scenario-format.md `ksm-scan`). The mms are
 * visited in registration order; the kernel inserts a new mm just behind
 * its scanning cursor, which the executor does not control, so which of
 * two merged frames survives may differ between model and kernel (`cowlab
 * diff` does not compare the frames of KSM pages).
 *
 * cmp_and_merge_page() has two orders (mechanism ksm.checksumFirst): from
 * 6.11 (read in 6.12.117 and 7.2.13) a page that is not KSM leaves the stable
 * tree and needs an unchanged checksum before any tree is searched; up to
 * 6.10 (read in 5.10.223 and 6.1.176) the stable tree is searched first, so a
 * page equal to an existing KSM page merges one pass earlier, and a page whose
 * own rmap item is the last one on a KSM page still finds that node a merge
 * target (scenarios/ksm/ksm-orphan-node-takes-no-sharer.yaml).
 */
import type { KState } from '../../model/layout.js';
import {
  ZERO_PFN,
  PGF_ALLOC,
  PGF_ANON,
  PGF_KSM,
  PGF_KSM_STABLE,
  PGF_LOCKED,
  PGF_DIRTY,
  PGF_SWAPBACKED,
  PGF_SWAPCACHE,
  PGF_ANON_EXCLUSIVE,
  KI_STABLE,
  UFFD_FEATURE_WP_ASYNC,
} from '../../model/layout.js';
import {
  VM_MERGEABLE,
  VM_SHARED,
  VM_MAYSHARE,
  VM_PFNMAP,
  VM_IO,
  VM_HUGETLB,
  vmas_of,
  ptep_get,
  set_pte_at,
  page_test,
  page_set,
  page_clear,
  page_ref_count,
  page_mapcount,
  page_data,
  page_set_data,
  folio_test_large,
  folio_head,
  folio_mapped,
  task_alive,
  task_ksm,
  task_set_ksm,
  task_ksm_base,
  task_set_ksm_base,
  task_ksm_zero,
  task_set_ksm_zero,
  task_uffd,
  ksm_item_checksum,
  ksm_item_set_checksum,
  ksm_item_flags,
  ksm_item_set_flags,
  ksm_next_slot,
  pte_lookup,
  vma_lookup_idx,
  vma_flags_at,
  frames,
  pmd_mapped_huge,
} from '../../model/mm_types.js';
import { pte_present, pte_pfn, pte_write, pte_dirty, mk_pte, pte_mkdirty, pte_mkclean, pte_wrprotect, type Pte } from '../../model/pte.js';
import { content_key, vis_grant } from '../../model/writes.js';
import { memcmp_contents } from '../../model/content.js';
import { RbTree, type RbNode } from '../lib/rbtree.js';
import { type KCtx, trace } from '../ctx.js';
import { ENOMEM } from '../errno.js';
import {
  handle_mm_fault,
  vm_normal_page,
  userfaultfd_pte_wp,
  FAULT_FLAG_WRITE,
  FAULT_FLAG_UNSHARE,
  FAULT_FLAG_REMOTE,
  VM_FAULT_WRITE,
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
  VM_FAULT_OOM,
} from './memory.js';
import { vma_modify } from './mmap.js';
import { lru_add_drain, folio_get, folio_put, folio_add_lru } from './swap.js';
import { alloc_page } from './page_alloc.js';
import { folio_try_share_anon_rmap_pte, folio_add_anon_rmap_pte, folio_remove_rmap_pte } from './rmap.js';
import { folio_free_swap } from './swapfile.js';
import { split_folio } from './huge_memory.js';
import { follow_page_refuses_protnone } from './gup.js';
import { keepsAnonExclusive } from '../../profiles/types.js';

/** max_page_sharing (sysfs default): rmap items one KSM page takes before a duplicate is made. */
export const KSM_MAX_PAGE_SHARING = 256;
/** Passes after which ksm_scan_until_stable() gives up waiting for the counters to settle. */
export const KSM_MAX_PASSES = 16;

/** ksm_madvise() for MADV_MERGEABLE or MADV_UNMERGEABLE over [a, b) of one VMA. */
export function ksm_madvise(s: KState, ctx: KCtx, t: number, vflags: number, anon: boolean, a: number, b: number, merge: boolean): number {
  if (merge) {
    // vma_ksm_compatible(): shared, special and hugetlb VMAs are ignored, not refused
    if (vflags & (VM_MERGEABLE | VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO | VM_HUGETLB)) return 0;
    if (task_ksm(s, t) === 0) __ksm_enter(s, ctx, t);
    vma_modify(s, t, a, b, (v) => ({ ...v, flags: v.flags | VM_MERGEABLE }), ctx);
    return 0;
  }
  if ((vflags & VM_MERGEABLE) === 0) return 0;
  if (anon) {
    const err = unmerge_ksm_pages(s, ctx, t, a, b);
    if (err) return err;
  }
  vma_modify(s, t, a, b, (v) => ({ ...v, flags: v.flags & ~VM_MERGEABLE }), ctx);
  return 0;
}

/** __ksm_enter(): the mm joins ksmd's list (MMF_VM_MERGEABLE). */
export function __ksm_enter(s: KState, ctx: KCtx, t: number): void {
  task_set_ksm(s, t, ksm_next_slot(s));
  trace(ctx, '__ksm_enter', `task ${t} registered with ksmd`);
}

/**
 * ksm_fork(): a child of a registered mm is registered too (its rmap items
 * start empty). dup_mm() copied the parent's counters; ksm_fork() resets
 * ksm_merging_pages only where the kernel has that fix (ksm.forkResetsCounters).
 */
export function ksm_fork(s: KState, ctx: KCtx, parent: number, child: number): void {
  task_set_ksm_base(s, child, ctx.prof.mech.ksm.forkResetsCounters ? 0 : ksm_merging_pages(s, parent));
  // ksm_zero_pages is copied in every era (the 6.15 fix keeps it and adds it to the global count): it counts the
  // parent's KSM zero PTEs, including those of VMAs the child does not get (VM_DONTCOPY, VM_WIPEONFORK)
  task_set_ksm_zero(s, child, task_ksm_zero(s, parent));
  if (task_ksm(s, parent) !== 0) __ksm_enter(s, ctx, child);
  else task_set_ksm(s, child, 0);
}

/** unmerge_ksm_pages(): break_ksm() on every page of [a, b). */
function unmerge_ksm_pages(s: KState, ctx: KCtx, t: number, a: number, b: number): number {
  for (let va = a; va < b; va++) {
    const err = break_ksm(s, ctx, t, va);
    if (err) return err;
  }
  return 0;
}

/** is_ksm_zero_pte() (6.5+): the shared zero page mapped by ksmd, marked with the dirty bit. */
function is_ksm_zero_pte(ctx: KCtx, pte: Pte): boolean {
  return ctx.prof.mech.ksm.zeroPages === 'marked' && pte_present(pte) && pte_pfn(pte) === ZERO_PFN && pte_dirty(pte);
}

/**
 * ksm_might_unmap_zero_page() (6.5+): the mm's count drops when a KSM zero
 * PTE goes (zap_present_pte, wp_page_copy, khugepaged's collapse).
 */
export function ksm_might_unmap_zero_page(s: KState, ctx: KCtx, t: number, pte: Pte): void {
  if (is_ksm_zero_pte(ctx, pte)) task_set_ksm_zero(s, t, task_ksm_zero(s, t) - 1);
}

/** A KSM page, or (6.5+) a zero page KSM placed and marked with the dirty bit, at a present PTE. */
function is_ksm_pte(s: KState, ctx: KCtx, pte: Pte): boolean {
  if (!pte_present(pte)) return false;
  const pfn = pte_pfn(pte);
  if (pfn === ZERO_PFN) return is_ksm_zero_pte(ctx, pte);
  return page_test(s, pfn, PGF_KSM) && !folio_test_large(s, pfn);
}

/**
 * break_ksm(): unshare the KSM page at `va`, if there is one. Up to 6.1 a
 * fake write fault (that leaves the copy writable and dirty); from 6.2 an
 * unshare fault (the copy stays read-only). Faults are charged to the
 * calling task, as mm_account_fault() charges `current`.
 */
export function break_ksm(s: KState, ctx: KCtx, t: number, va: number): number {
  const mode = ctx.prof.mech.ksm.breakKsm;
  for (let tries = 0; tries < 4; tries++) {
    if (pmd_mapped_huge(s, t, va)) return 0; // a large folio is never KSM
    const pte = ptep_get(s, t, va);
    if (!is_ksm_pte(s, ctx, pte)) return 0;
    if (follow_page_refuses_protnone(s, ctx, t, va)) {
      trace(ctx, 'break_ksm', `page ${va}: PROT_NONE: follow_page() finds no page, the KSM page stays`);
      return 0;
    }
    let ret: number;
    if (mode === 'write-fault') {
      const vflags = vma_flags_at(s, t, vma_lookup_idx(s, t, va));
      if (userfaultfd_pte_wp(vflags, pte) && (task_uffd(s, t) & UFFD_FEATURE_WP_ASYNC) === 0) {
        // handle_userfault() without FAULT_FLAG_ALLOW_RETRY gives VM_FAULT_SIGBUS, which break_ksm() accepts
        trace(ctx, 'break_ksm', `page ${va}: uffd-wp protected: the write fault fails (SIGBUS), the page stays merged`);
        return 0;
      }
      // follow_page(FOLL_GET) holds the page across the fault
      const pfn = pte_pfn(pte);
      folio_get(s, pfn);
      trace(ctx, 'break_ksm', `page ${va}: KSM page pfn#${pfn}: write fault`);
      ret = handle_mm_fault(s, ctx, t, va, FAULT_FLAG_WRITE | FAULT_FLAG_REMOTE);
      folio_put(s, pfn);
      if (ret & (VM_FAULT_WRITE | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_OOM)) return ret & VM_FAULT_OOM ? -ENOMEM : 0;
    } else {
      trace(ctx, 'break_ksm', `page ${va}: ${pte_pfn(pte) === ZERO_PFN ? 'KSM zero page' : `KSM page ${pte_pfn(pte)}`}: unshare fault`);
      ret = handle_mm_fault(s, ctx, t, va, FAULT_FLAG_UNSHARE | FAULT_FLAG_REMOTE);
      if (ret & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_OOM)) return ret & VM_FAULT_OOM ? -ENOMEM : 0;
    }
  }
  return 0;
}

/* ---------------- ksmd ---------------- */

/** ksmd's counters after a pass (/sys/kernel/mm/ksm). */
export interface KsmCounters {
  pagesShared: number;
  pagesSharing: number;
  pagesUnshared: number;
}

/** An entry of the unstable tree: an rmap item. */
interface TreeItem {
  t: number;
  va: number;
}

/**
 * One ksmd pass over the registered mms (scan_get_next_rmap_item + cmp_and_merge_page): the unstable tree, emptied at
 * the start of every full scan, ordered by memcmp_pages() of the pages its items map now, and its nodes by item.
 */
interface Pass {
  unstable: RbTree<TreeItem>;
  nodes: Map<number, RbNode<TreeItem>>;
}

function new_pass(): Pass {
  return { unstable: new RbTree(), nodes: new Map() };
}

/**
 * ksm-scan: ksmd runs full passes until one leaves pages_shared,
 * pages_sharing and pages_unshared as they were (at least two passes, so a
 * pair of new equal pages merges). Faults ksmd causes (break_cow) are not
 * the acting task's.
 */
export function ksm_scan_until_stable(s: KState, ctx: KCtx): KsmCounters {
  const faults = ctx.faults;
  const majfaults = ctx.majfaults;
  let prev = ksm_counters(s, 0);
  let cur = prev;
  for (let pass = 1; pass <= KSM_MAX_PASSES; pass++) {
    const p = new_pass();
    ksm_do_pass(s, ctx, p);
    cur = ksm_counters(s, p.unstable.size);
    trace(
      ctx,
      'ksm_do_scan',
      `full scan ${pass}: pages_shared ${cur.pagesShared}, pages_sharing ${cur.pagesSharing}, pages_unshared ${cur.pagesUnshared}`,
    );
    if (
      pass >= 2 &&
      cur.pagesShared === prev.pagesShared &&
      cur.pagesSharing === prev.pagesSharing &&
      cur.pagesUnshared === prev.pagesUnshared
    )
      break;
    prev = cur;
  }
  ctx.faults = faults;
  ctx.majfaults = majfaults;
  return cur;
}

/** The counters as ksmd keeps them: stable rmap items per KSM page, unstable tree entries. */
function ksm_counters(s: KState, unshared: number): KsmCounters {
  const perPage = new Map<number, number>();
  for (const t of registered(s)) {
    for (let va = 0; va < s.L.geo.vpages; va++) {
      const node = item_node(s, t, va);
      if (node) perPage.set(node, (perPage.get(node) ?? 0) + 1);
    }
  }
  let shared = 0;
  let sharing = 0;
  for (const n of perPage.values()) {
    shared++;
    sharing += n - 1;
  }
  return { pagesShared: shared, pagesSharing: sharing, pagesUnshared: unshared };
}

/** Registered live tasks in ksmd's list order. */
function registered(s: KState): number[] {
  const ts: number[] = [];
  for (let t = 0; t < s.L.geo.tasks; t++) if (task_alive(s, t) && task_ksm(s, t) !== 0) ts.push(t);
  return ts.sort((x, y) => task_ksm(s, x) - task_ksm(s, y));
}

function ksm_do_pass(s: KState, ctx: KCtx, p: Pass): void {
  // scan_get_next_rmap_item() at the start of a pass: the per-CPU batches are drained (their references would fail write_protect_page)
  lru_add_drain(s, ctx);
  for (const t of registered(s)) {
    const visited = new Uint8Array(s.L.geo.vpages);
    let mergeable = false;
    for (const v of vmas_of(s, t)) {
      if (v.flags & VM_MERGEABLE) mergeable = true;
      if ((v.flags & VM_MERGEABLE) === 0 || !v.anon) continue;
      for (let va = v.start; va < v.end; va++) {
        if (!task_alive(s, t)) break;
        const pfn = ksm_next_page(s, ctx, t, va);
        if (pfn === 0) continue;
        visited[va] = 1;
        folio_get(s, pfn); // the scanner's reference while it compares
        cmp_and_merge_page(s, ctx, p, t, va, pfn);
        folio_put(s, pfn);
      }
    }
    // get_next_rmap_item() and remove_trailing_rmap_items(): the items of addresses the pass found no page at are freed
    for (let va = 0; va < s.L.geo.vpages; va++) {
      if (visited[va]) continue;
      remove_rmap_item_from_tree(s, p, t, va);
      ksm_item_set_checksum(s, t, va, 0);
    }
    // scan_get_next_rmap_item(): an mm whose walk found no VM_MERGEABLE VMA leaves ksmd's list (MMF_VM_MERGEABLE
    // cleared), as at exit; a later MADV_MERGEABLE enters it again at the scan cursor (every era)
    if (!mergeable) {
      task_set_ksm(s, t, 0);
      trace(ctx, 'scan_get_next_rmap_item', `task ${t} has no VM_MERGEABLE area left: its mm leaves ksmd's list`);
    }
  }
}

/** The anon page mapped at (t, va), or 0 (none, swapped, the zero page, page cache); a PMD-mapped THP's subpage too. */
function anon_page_at(s: KState, t: number, va: number): number {
  const pte = pte_lookup(s, t, va);
  const pfn = pte_present(pte) ? vm_normal_page(pte) : 0;
  if (pfn === 0 || !page_test(s, pfn, PGF_ANON)) return 0;
  return pfn;
}

/**
 * The page scan_get_next_rmap_item() takes at (t, va): through follow_page(), which may refuse a PROT_NONE PTE, or
 * (ksm.scanWalk) through a page-table walk, which does not.
 */
function ksm_next_page(s: KState, ctx: KCtx, t: number, va: number): number {
  if (!ctx.prof.mech.ksm.scanWalk && follow_page_refuses_protnone(s, ctx, t, va)) return 0;
  return anon_page_at(s, t, va);
}

/** get_mergeable_page(): the page an unstable tree item maps now, through follow_page() (every era), or 0. */
function get_mergeable_page(s: KState, ctx: KCtx, t: number, va: number): number {
  if (follow_page_refuses_protnone(s, ctx, t, va)) return 0;
  return anon_page_at(s, t, va);
}

/**
 * Hangs the rmap item on the stable node of KSM page `node` (stable_tree_append()), or takes it off (node 0). The
 * item remembers its node: the kernel's item stays on it after the page at its address changed, until ksmd next
 * visits the address, and a node's rmap_hlist_len decides whether it still takes sharers.
 */
function set_item_stable(s: KState, t: number, va: number, node: number): void {
  ksm_item_set_flags(s, t, va, node ? (node << 1) | KI_STABLE : 0);
}

/** The KSM page whose stable node the item hangs on, 0 if it is not in the stable tree. */
function item_node(s: KState, t: number, va: number): number {
  const f = ksm_item_flags(s, t, va);
  return f & KI_STABLE ? f >>> 1 : 0;
}

/** A stable node's rmap_hlist_len: the rmap items hanging on it. */
function rmap_hlist_len(s: KState, node: number): number {
  let n = 0;
  for (const t of registered(s)) for (let va = 0; va < s.L.geo.vpages; va++) if (item_node(s, t, va) === node) n++;
  return n;
}

/** remove_rmap_item_from_tree(): out of the stable tree, or out of this pass's unstable tree. */
function remove_rmap_item_from_tree(s: KState, p: Pass, t: number, va: number): void {
  set_item_stable(s, t, va, 0);
  const k = t * s.L.geo.vpages + va;
  const node = p.nodes.get(k);
  if (node === undefined) return;
  p.unstable.erase(node);
  p.nodes.delete(k);
}

/**
 * unstable_tree_search_insert(): walk down the unstable tree comparing the page with each node's (memcmp_pages(); a
 * node of equal content, by the model's content key, is the match). A node whose page get_mergeable_page() cannot
 * get, or that maps this very page (a forked page), ends the search: no match and no insertion. Otherwise the item
 * goes in as a leaf. The match and its page, or null.
 */
function unstable_tree_search_insert(
  s: KState,
  ctx: KCtx,
  p: Pass,
  t: number,
  va: number,
  pfn: number,
): { tree: TreeItem; tpfn: number } | null {
  const w = page_data(s, pfn);
  const key = content_key(s, w);
  let parent: RbNode<TreeItem> | null = null;
  let left = false;
  for (let n = p.unstable.root; n !== null; n = left ? n.left : n.right) {
    const tpfn = get_mergeable_page(s, ctx, n.value.t, n.value.va);
    if (tpfn === 0) {
      trace(
        ctx,
        'unstable_tree_search_insert',
        `page ${va} of task ${t}: no page behind the tree node of page ${n.value.va} of task ${n.value.t}: search ends`,
      );
      return null;
    }
    if (tpfn === pfn) return null;
    const tw = page_data(s, tpfn);
    if (content_key(s, tw) === key) return { tree: n.value, tpfn };
    // content keys differ only where bytes differ; equal bytes under two keys are kept apart by key
    const d = memcmp_contents(s, w, tw) || key - content_key(s, tw);
    parent = n;
    left = d < 0;
  }
  p.nodes.set(t * s.L.geo.vpages + va, p.unstable.insert({ t, va }, parent, left));
  return null;
}

/** stable_tree_search(): a KSM page with this content that can take another sharer, or 0. */
function stable_tree_search(s: KState, pfn: number): number {
  const key = content_key(s, page_data(s, pfn));
  if (page_test(s, pfn, PGF_KSM_STABLE)) return pfn; // a KSM page forked
  // a KSM page without a stable node (made KSM in place by a try_to_merge_two_pages() whose second half failed,
  // still mapped by a fork child) is not in the tree: it is compared by content like any page
  for (let k = 2; k < frames(s); k++) {
    if (!page_test(s, k, PGF_ALLOC) || !page_test(s, k, PGF_KSM_STABLE)) continue;
    if (content_key(s, page_data(s, k)) !== key) continue;
    // is_page_sharing_candidate(): a node that still has rmap items (one whose last item went, its page held only
    // by someone else's reference such as a pipe's, is found but takes no sharer: its page is about to be freed)
    // and fewer than max_page_sharing of them
    const len = rmap_hlist_len(s, k);
    if (len === 0 || len >= KSM_MAX_PAGE_SHARING) continue;
    return k;
  }
  return 0;
}

/** cmp_and_merge_page(): the decision ksmd makes for the page at (t, va). */
function cmp_and_merge_page(s: KState, ctx: KCtx, p: Pass, t: number, va: number, pfn: number): void {
  const fn = 'cmp_and_merge_page';
  const hasNode = page_test(s, pfn, PGF_KSM_STABLE); // page_stable_node()
  if (hasNode && ksm_item_flags(s, t, va) & KI_STABLE) return; // already in the stable tree here
  // 6.11+: a page that is not KSM leaves the stable tree and passes the checksum gate before any search;
  // up to 6.10 the stable tree is searched first (its own item still counts on its node) and the gate comes after
  const first = ctx.prof.mech.ksm.checksumFirst;
  if (!hasNode && first) {
    remove_rmap_item_from_tree(s, p, t, va);
    if (!checksum_unchanged(s, ctx, t, va, pfn)) return;
    if (try_to_merge_with_zero_page(s, ctx, t, va, pfn)) return;
  }
  const kpage = stable_tree_search(s, pfn);
  remove_rmap_item_from_tree(s, p, t, va);
  if (kpage !== 0) {
    if (try_to_merge_one_page(s, ctx, t, va, pfn, kpage) === 0) {
      set_item_stable(s, t, va, kpage);
      trace(ctx, fn, `page ${va} of task ${t}: ${kpage === pfn ? `KSM page pfn#${pfn} counted` : `merged into KSM page pfn#${kpage}`}`);
    }
    return;
  }
  if (!hasNode && !first) {
    if (!checksum_unchanged(s, ctx, t, va, pfn)) return;
    if (try_to_merge_with_zero_page(s, ctx, t, va, pfn)) return;
  }
  const found = unstable_tree_search_insert(s, ctx, p, t, va, pfn);
  if (found === null) return;
  const { tree, tpfn } = found;
  folio_get(s, tpfn); // get_mergeable_page()
  const sameFolio = folio_test_large(s, pfn) && folio_head(s, pfn) === folio_head(s, tpfn);
  const merged = try_to_merge_two_pages(s, ctx, p, t, va, pfn, tree, tpfn);
  folio_put(s, tpfn);
  if (merged) {
    page_set(s, pfn, PGF_KSM_STABLE); // stable_tree_insert()
    set_item_stable(s, tree.t, tree.va, pfn);
    set_item_stable(s, t, va, pfn);
    trace(ctx, fn, `page ${tree.va} of task ${tree.t} and page ${va} of task ${t}: merged into new KSM page pfn#${pfn}`);
  } else if (sameFolio && page_test(s, pfn, PGF_ALLOC) && folio_test_large(s, pfn) && !page_test(s, folio_head(s, pfn), PGF_LOCKED)) {
    // both in one large folio: the split failed on ksmd's two references; split now, merge on a later pass
    trace(ctx, fn, `pages ${tree.va} and ${va} are in one large folio: split it, no merge`);
    split_folio(s, ctx, pfn, 1, null, pfn);
  }
}

/** The checksum gate: a page whose content changed since the previous visit is only remembered. */
function checksum_unchanged(s: KState, ctx: KCtx, t: number, va: number, pfn: number): boolean {
  // never 0, which stands for "not visited yet" (content keys: 0 zero-filled, -v values, ids above)
  const key = content_key(s, page_data(s, pfn));
  const ck = key >= 0 ? key + 1 : key;
  if (ksm_item_checksum(s, t, va) !== ck) {
    ksm_item_set_checksum(s, t, va, ck);
    trace(ctx, 'cmp_and_merge_page', `page ${va} of task ${t}: checksum recorded`);
    return false;
  }
  return true;
}

/** try_to_merge_with_zero_page() (use_zero_pages): a zero-filled page is replaced by the shared zero page. */
function try_to_merge_with_zero_page(s: KState, ctx: KCtx, t: number, va: number, pfn: number): boolean {
  if (!ctx.env.ksmZeroPages || content_key(s, page_data(s, pfn)) !== 0) return false;
  const ok = try_to_merge_one_page(s, ctx, t, va, pfn, ZERO_PFN) === 0;
  if (ok) trace(ctx, 'cmp_and_merge_page', `page ${va} of task ${t}: zero-filled: mapped to the shared zero page`);
  return ok;
}

/**
 * try_to_merge_two_pages(): the page being scanned becomes the KSM page in
 * place, then the one found in the unstable tree is replaced by it; if that
 * fails, the first merge is undone with break_cow().
 */
function try_to_merge_two_pages(s: KState, ctx: KCtx, p: Pass, t: number, va: number, pfn: number, tree: TreeItem, tpfn: number): boolean {
  if (try_to_merge_one_page(s, ctx, t, va, pfn, 0) !== 0) return false;
  const kpage = anon_page_at(s, t, va); // the page just made KSM
  if (kpage !== 0 && try_to_merge_one_page(s, ctx, tree.t, tree.va, tpfn, kpage) === 0) {
    remove_rmap_item_from_tree(s, p, tree.t, tree.va);
    return true;
  }
  trace(ctx, 'try_to_merge_two_pages', `page ${tree.va} of task ${tree.t} could not be merged: break_cow on page ${va} of task ${t}`);
  break_ksm(s, ctx, t, va);
  return false;
}

/**
 * try_to_merge_one_page(): write-protect the page at (t, va) and either make
 * it a KSM page (kpage 0) or replace it by `kpage`. A large folio is split
 * first (split_huge_page(page): ksmd's reference stays with the page); a
 * second reference ksmd holds on the same folio makes that split fail. 0 or -1.
 */
function try_to_merge_one_page(s: KState, ctx: KCtx, t: number, va: number, pfn: number, kpage: number): number {
  const fn = 'try_to_merge_one_page';
  if (pfn === kpage) return 0; // a KSM page forked: already merged
  if (!page_test(s, pfn, PGF_ANON)) return -1;
  if (page_test(s, folio_head(s, pfn), PGF_LOCKED)) return -1; // trylock
  if (folio_test_large(s, pfn)) {
    if (split_folio(s, ctx, pfn, 1, null, pfn) !== 0) {
      trace(ctx, fn, `page ${va} of task ${t}: large folio ${folio_head(s, pfn)} cannot be split: no merge`);
      return -1;
    }
  }
  if (!write_protect_page(s, ctx, t, va, pfn)) return -1;
  if (kpage === 0) {
    page_set(s, pfn, PGF_KSM | PGF_DIRTY);
    return 0;
  }
  if (kpage !== ZERO_PFN && content_key(s, page_data(s, kpage)) !== content_key(s, page_data(s, pfn))) return -1;
  return replace_page(s, ctx, t, va, pfn, kpage);
}

/**
 * write_protect_page(): a writable or dirty PTE (or, 5.19+, an exclusive
 * page) is cleared and the page's references checked: the mappings, the
 * swap cache and ksmd's own must be all there is, so a page under GUP or in
 * a pipe is not merged. An exclusive page must also be sharable (not maybe
 * pinned). The PTE ends read-only and clean.
 */
function write_protect_page(s: KState, ctx: KCtx, t: number, va: number, pfn: number): boolean {
  const pte = ptep_get(s, t, va);
  if (!pte_present(pte) || pte_pfn(pte) !== pfn) return false;
  if (page_test(s, pfn, PGF_KSM)) {
    // page_address_in_vma(): a KSM folio has no anon_vma (folio_anon_vma() is NULL), so -EFAULT; this is how a page
    // made KSM in place whose other half failed, left mapped by a fork child, stays KSM (every era)
    trace(ctx, 'write_protect_page', `page ${va} of task ${t}: already a KSM page (no anon_vma): not merged`);
    return false;
  }
  const bit = page_test(s, pfn, PGF_ANON_EXCLUSIVE);
  const exclusive = keepsAnonExclusive(ctx.prof.mech) && bit;
  if (!(pte_write(pte) || pte_dirty(pte) || bit)) return true;
  const swapped = page_test(s, pfn, PGF_SWAPCACHE) ? 1 : 0;
  if (page_mapcount(s, pfn) + 1 + swapped !== page_ref_count(s, pfn)) {
    trace(
      ctx,
      'write_protect_page',
      `page ${va} of task ${t}: refcount ${page_ref_count(s, pfn)} != mapcount ${page_mapcount(s, pfn)} + 1 + swapcache ${swapped}: not merged`,
    );
    return false;
  }
  if (exclusive && !folio_try_share_anon_rmap_pte(s, ctx, pfn)) {
    trace(ctx, 'write_protect_page', `page ${va} of task ${t}: exclusive and maybe pinned: not merged`);
    return false;
  }
  // proposals whose GUP marker stands for "exclusive": a page ksmd is about to share gives it up (conservative, as
  // at swap-out; the proposals predate KSM's own exclusive check of 5.19)
  if (bit && !exclusive) page_clear(s, pfn, PGF_ANON_EXCLUSIVE);
  if (pte_dirty(pte)) page_set(s, pfn, PGF_DIRTY);
  set_pte_at(s, t, va, pte_mkclean(pte_wrprotect(pte)));
  return true;
}

/**
 * replace_page(): map `kpage` read-only in place of `pfn` (the mapping's
 * uffd-wp and soft-dirty bits are not carried over: the new PTE is built
 * from vm_page_prot) and drop the old page.
 */
function replace_page(s: KState, ctx: KCtx, t: number, va: number, pfn: number, kpage: number): number {
  if (kpage !== ZERO_PFN) {
    folio_get(s, kpage);
    folio_add_anon_rmap_pte(s, ctx, t, kpage, false);
    set_pte_at(s, t, va, mk_pte(kpage));
    // the content is the same: what the task sees there is still what it could see
    vis_grant(s, t, page_data(s, kpage));
  } else {
    const marked = ctx.prof.mech.ksm.zeroPages === 'marked';
    set_pte_at(s, t, va, marked ? pte_mkdirty(mk_pte(ZERO_PFN)) : mk_pte(ZERO_PFN));
    if (marked) task_set_ksm_zero(s, t, task_ksm_zero(s, t) + 1); // ksm_map_zero_page()
  }
  trace(
    ctx,
    'replace_page',
    `page ${va} of task ${t}: page pfn#${pfn} replaced by ${kpage === ZERO_PFN ? 'the zero page' : `KSM page pfn#${kpage}`}`,
  );
  folio_remove_rmap_pte(s, t, pfn);
  if (!folio_mapped(s, pfn)) folio_free_swap(s, ctx, pfn);
  folio_put(s, pfn);
  return 0;
}

/**
 * reuse_ksm_page() (5.1 .. 5.8): a KSM page whose only reference is this
 * mapping, not in the swap cache, stops being KSM and is reused.
 */
export function reuse_ksm_page(s: KState, ctx: KCtx, pfn: number): boolean {
  if (page_test(s, pfn, PGF_SWAPCACHE) || page_ref_count(s, pfn) !== 1) {
    trace(
      ctx,
      'do_wp_page',
      `KSM page pfn#${pfn}: refcount ${page_ref_count(s, pfn)}${page_test(s, pfn, PGF_SWAPCACHE) ? ', in the swap cache' : ''}: copy`,
    );
    return false;
  }
  if (page_test(s, pfn, PGF_LOCKED)) return false;
  page_clear(s, pfn, PGF_KSM | PGF_KSM_STABLE);
  trace(ctx, 'reuse_ksm_page', `KSM page pfn#${pfn}: only this mapping holds it: it becomes an ordinary anon page, reuse`);
  return true;
}

/** /proc/PID/ksm_merging_pages: the task's rmap items in the stable tree, as ksmd last counted them, plus what it inherited at fork. */
export function ksm_merging_pages(s: KState, t: number): number {
  if (!s.L.geo.ksm) return 0;
  let n = task_ksm_base(s, t);
  for (let va = 0; va < s.L.geo.vpages; va++) if (ksm_item_flags(s, t, va) & KI_STABLE) n++;
  return n;
}

/**
 * ksm_might_need_to_copy() (every era; 6.18 mm/ksm.c), at swap-in
 * (do_swap_page, unuse_pte): a small KSM folio without a stable node (made
 * KSM in place by a try_to_merge_two_pages() whose second half failed) is
 * not mapped again but copied into a new, dirty page, which the caller maps
 * as its own; the swap-cache folio is left where it is. The lookup's
 * reference on it (`ref`) is dropped. Not modelled: the copy of a non-KSM
 * folio whose anon_vma or index does not match the VMA (the model's swap
 * entries are only shared with fork relatives, at the same index).
 */
export function ksm_might_need_to_copy(s: KState, ctx: KCtx, pfn: number, caller: string, ref: boolean): number {
  if (folio_test_large(s, pfn) || !page_test(s, pfn, PGF_KSM) || page_test(s, pfn, PGF_KSM_STABLE)) return pfn;
  const nw = alloc_page(s, PGF_SWAPBACKED);
  page_set_data(s, nw, page_data(s, pfn));
  page_set(s, nw, PGF_DIRTY);
  folio_add_lru(s, ctx, nw);
  if (ref) folio_put(s, pfn);
  trace(ctx, caller, `ksm_might_need_to_copy: KSM page pfn#${pfn} has no stable node: copied to new page pfn#${nw}`);
  return nw;
}
