/**
 * Accessors over the packed state (the counterpart of include/linux/mm_types.h
 * and the small inline helpers of include/linux/mm.h).
 *
 * Every kernel path reads and writes state through these functions, never
 * through raw offsets, so the layout can change without touching them.
 */
import {
  type KState,
  PAGE_WORDS,
  PG_FLAGS,
  PG_REF,
  PG_MAPCOUNT,
  PG_DATA,
  PG_PRIVATE,
  PG_MAPPING,
  PG_INDEX,
  PG_GEN,
  PG_HEAD,
  PG_ORDER,
  PG_ENTIRE,
  PG_LARGE,
  PG_MMID0,
  PG_MMID1,
  PG_MMC0,
  PG_MMC1,
  PGF_PER_PAGE,
  PGF_HEAD,
  T_STATE,
  T_PARENT,
  T_MMFLAGS,
  T_CURWID,
  T_UFFD,
  T_UID,
  T_MEMLOCK,
  T_RING_ACCT,
  T_RING,
  TASK_ALIVE,
  V_START,
  V_END,
  V_FLAGS,
  V_FILE,
  V_PGOFF,
  V_ANON,
  VMA_WORDS,
  F_FLAGS,
  F_SIZE,
  F_HDR,
  F_MAPS,
  F_HRESV,
  SWAP_WORDS,
  S_COUNT,
  S_CACHE,
  S_DATA,
  S_USED,
  P_STATE,
  P_HOLDERS,
  P_NBUF,
  P_HDR,
  PIPEBUF_WORDS,
  PB_PFN,
  PB_TAKER,
  PB_VPAGE,
  REF_WORDS,
  R_KIND,
  R_OWNER,
  R_HANDLE,
  R_VPAGE,
  R_STATE,
  W_FLAGS,
  W_WRITER,
  W_STEP,
  WRITE_WORDS,
  PGF_ALLOC,
  PG_PINCOUNT,
  G_LRU_N,
  G_ACT_N,
  G_SEQ,
  G_PFN_HWM,
  G_FREE_HINT,
  G_SWAP_OFF,
  G_USER_LOCKED,
  ZERO_PFN,
  T_KSM,
  T_KSM_BASE,
  T_KSM_ZERO,
  KSM_WORDS,
  K_CHECKSUM,
  K_FLAGS,
  G_KSM_SEQ,
  G_HP_NR,
  G_HP_FREE,
  G_HP_RESV,
  G_HP_FILES,
  G_HP_SURPLUS,
  G_HP_OVERCOMMIT,
  G_GP_NR,
  G_GP_FREE,
  G_GP_RESV,
  G_GP_SURPLUS,
  G_GP_OVERCOMMIT,
  T_HRESV,
  T_HRESV_PUD,
} from './layout.js';
import { type Pte, mk_pte } from './pte.js';
import { type Pmd, PMD_NONE_T, PMD_TABLE_T, pmd_trans_huge, is_huge_zero_pmd, pmd_pfn, pmd_pte_bits } from './pmd.js';
import { ld, st, fill_words, move_words } from './layout.js';

/* ---- VMA flags (kernel names, our bit values) ---- */
export const VM_READ = 1 << 0;
export const VM_WRITE = 1 << 1;
export const VM_EXEC = 1 << 2;
export const VM_SHARED = 1 << 3;
export const VM_MAYREAD = 1 << 4;
export const VM_MAYWRITE = 1 << 5;
export const VM_MAYEXEC = 1 << 6;
export const VM_MAYSHARE = 1 << 7;
export const VM_UFFD_WP = 1 << 8;
export const VM_DONTCOPY = 1 << 9;
export const VM_WIPEONFORK = 1 << 10;
export const VM_SOFTDIRTY = 1 << 11;
export const VM_LOCKED = 1 << 12;
export const VM_IO = 1 << 13;
export const VM_PFNMAP = 1 << 14;
export const VM_NOHUGEPAGE = 1 << 15;
export const VM_HUGEPAGE = 1 << 16;
export const VM_ACCOUNT = 1 << 17;
export const VM_MERGEABLE = 1 << 18; // MADV_MERGEABLE: ksmd scans it
export const VM_HUGETLB = 1 << 19; // a hugetlbfs mapping (MAP_HUGETLB or a MFD_HUGETLB memfd)
export const VM_NORESERVE = 1 << 20; // MAP_NORESERVE: no hugetlb reservation at mmap
/** hugetlb private mappings: the VMA owns the reservation of its pages (HPAGE_RESV_OWNER in vm_private_data) */
export const VM_HRESV_OWNER = 1 << 21;
/** the owner stole a page from this VMA (unmap_ref_private): its next no-page fault is SIGBUS (HPAGE_RESV_UNMAPPED) */
export const VM_HRESV_UNMAPPED = 1 << 22;
/** with VM_HUGETLB: the mapping's hstate is the PUD size, 1 GiB (hstate_vma(); the kernel keeps it in the hugetlbfs inode) */
export const VM_HUGE_PUD = 1 << 23;

/* ---- FOLL_* flags (include/linux/mm_types.h): kept here because GUP references in the state record them ---- */
export const FOLL_WRITE = 1 << 0;
export const FOLL_GET = 1 << 1;
export const FOLL_PIN = 1 << 2;
export const FOLL_LONGTERM = 1 << 3;
export const FOLL_FORCE = 1 << 4;
export const FOLL_REMOTE = 1 << 5;
export const FOLL_TOUCH = 1 << 6;
/** FOLL_COW (internal, 4.9 .. 5.19): GUP already broke COW for this address */
export const FOLL_COW = 1 << 7;
/** internal (6.x FOLL_UNLOCKABLE; a `locked` argument before): faults may drop mmap_lock and ask for a retry */
export const FOLL_UNLOCKABLE = 1 << 8;

/** is_cow_mapping(): private and may become writable. */
export function is_cow_mapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/* ---------------- struct page ---------------- */

export function pgo(s: KState, pfn: number): number {
  return s.L.memmap + pfn * PAGE_WORDS;
}

/**
 * page_folio(): the head page of the folio `pfn` belongs to (itself for an
 * order-0 page). Counts and most flags are the folio's and live on its head.
 */
export function folio_head(s: KState, pfn: number): number {
  const h = ld(s, s.L.memmap + pfn * PAGE_WORDS + PG_HEAD);
  return h === 0 ? pfn : h;
}
/** Where a flag lives: per page (PG_anon_exclusive, ...), or on the folio's head. */
function flagRec(s: KState, pfn: number, flag: number): number {
  const o = s.L.memmap + pfn * PAGE_WORDS;
  if ((flag & PGF_PER_PAGE) !== 0) return o;
  const h = ld(s, o + PG_HEAD);
  return h === 0 ? o : s.L.memmap + h * PAGE_WORDS;
}
/** The flags of a page: its folio's, with its own per-page flags (PGF_PER_PAGE). */
export function page_flags(s: KState, pfn: number): number {
  const o = s.L.memmap + pfn * PAGE_WORDS;
  const h = ld(s, o + PG_HEAD);
  const own = ld(s, o + PG_FLAGS);
  if (h === 0 || h === pfn) return own;
  return (ld(s, s.L.memmap + h * PAGE_WORDS + PG_FLAGS) & ~PGF_PER_PAGE) | (own & PGF_PER_PAGE);
}
export function page_test(s: KState, pfn: number, flag: number): boolean {
  return (ld(s, flagRec(s, pfn, flag) + PG_FLAGS) & flag) !== 0;
}
export function page_set(s: KState, pfn: number, flag: number): void {
  st(s, flagRec(s, pfn, flag) + PG_FLAGS, ld(s, flagRec(s, pfn, flag) + PG_FLAGS) | flag);
}
export function page_clear(s: KState, pfn: number, flag: number): void {
  st(s, flagRec(s, pfn, flag) + PG_FLAGS, ld(s, flagRec(s, pfn, flag) + PG_FLAGS) & ~flag);
}
/** page_ref_count(): the folio's refcount (tail pages have none of their own). */
export function page_ref_count(s: KState, pfn: number): number {
  return ld(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + PG_REF);
}
export function page_ref_add(s: KState, pfn: number, n: number): void {
  st(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + PG_REF, ld(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + PG_REF) + n);
}
/**
 * page_mapcount(): the mappings of this page, its PTEs (page->_mapcount + 1)
 * plus, in a large folio, the PMDs that map the whole folio (the entire
 * mapcount), as every era computes it (the precise per-page count of 6.15+).
 */
export function page_mapcount(s: KState, pfn: number): number {
  const o = s.L.memmap + pfn * PAGE_WORDS;
  const h = ld(s, o + PG_HEAD);
  const own = ld(s, o + PG_MAPCOUNT);
  return h === 0 ? own : own + ld(s, s.L.memmap + h * PAGE_WORDS + PG_ENTIRE);
}
/** The PTEs that map this page (page->_mapcount + 1, without the PMD mappings). */
export function page_pte_mapcount(s: KState, pfn: number): number {
  return ld(s, s.L.memmap + pfn * PAGE_WORDS + PG_MAPCOUNT);
}
export function page_mapcount_add(s: KState, pfn: number, n: number): void {
  st(s, s.L.memmap + pfn * PAGE_WORDS + PG_MAPCOUNT, ld(s, s.L.memmap + pfn * PAGE_WORDS + PG_MAPCOUNT) + n);
}
/** folio->_pincount (large folios; small ones count pins in the refcount bias) */
export function page_pincount(s: KState, pfn: number): number {
  return ld(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + PG_PINCOUNT);
}
export function folio_pincount_add(s: KState, pfn: number, n: number): void {
  st(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + PG_PINCOUNT, ld(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + PG_PINCOUNT) + n);
}

/* ---------------- large folios (folio-wide fields, on the head) ---------------- */

/** folio_order() of the folio `pfn` belongs to */
export function folio_order(s: KState, pfn: number): number {
  return ld(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + PG_ORDER);
}
export function folio_nr_pages(s: KState, pfn: number): number {
  return 1 << folio_order(s, pfn);
}
export function folio_test_large(s: KState, pfn: number): boolean {
  return ld(s, s.L.memmap + pfn * PAGE_WORDS + PG_HEAD) !== 0;
}
/** `_entire_mapcount` (PMD mappings) */
export function folio_entire_mapcount(s: KState, pfn: number): number {
  return ld(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + PG_ENTIRE);
}
export function folio_entire_mapcount_add(s: KState, pfn: number, n: number): void {
  st(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + PG_ENTIRE, ld(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + PG_ENTIRE) + n);
}
/** `_large_mapcount`: all PTE and PMD mappings of a large folio */
export function folio_large_mapcount(s: KState, pfn: number): number {
  return ld(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + PG_LARGE);
}
/** folio_mapped(): some PTE or PMD maps a page of the folio. */
export function folio_mapped(s: KState, pfn: number): boolean {
  if (!folio_test_large(s, pfn)) return page_mapcount(s, pfn) > 0;
  return folio_large_mapcount(s, pfn) > 0;
}
export function folio_large_mapcount_add(s: KState, pfn: number, n: number): void {
  st(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + PG_LARGE, ld(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + PG_LARGE) + n);
}
/** MM-ID slot i (0, 1) of a large folio: the mm (task id) it tracks or -1, and its mapcount */
export function folio_mm_id(s: KState, pfn: number, i: 0 | 1): number {
  return ld(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + (i === 0 ? PG_MMID0 : PG_MMID1)) - 1;
}
export function folio_mm_id_mapcount(s: KState, pfn: number, i: 0 | 1): number {
  return ld(s, s.L.memmap + folio_head(s, pfn) * PAGE_WORDS + (i === 0 ? PG_MMC0 : PG_MMC1));
}
export function folio_set_mm_id_slot(s: KState, pfn: number, i: 0 | 1, task: number, count: number): void {
  const o = s.L.memmap + folio_head(s, pfn) * PAGE_WORDS;
  st(s, o + (i === 0 ? PG_MMID0 : PG_MMID1), task + 1);
  st(s, o + (i === 0 ? PG_MMC0 : PG_MMC1), count);
}

export function page_data(s: KState, pfn: number): number {
  return ld(s, s.L.memmap + pfn * PAGE_WORDS + PG_DATA);
}
export function page_set_data(s: KState, pfn: number, wid: number): void {
  st(s, s.L.memmap + pfn * PAGE_WORDS + PG_DATA, wid);
}
export function page_private(s: KState, pfn: number): number {
  return ld(s, s.L.memmap + pfn * PAGE_WORDS + PG_PRIVATE);
}
export function page_set_private(s: KState, pfn: number, v: number): void {
  st(s, s.L.memmap + pfn * PAGE_WORDS + PG_PRIVATE, v);
}
/** file id of a page-cache page, or -1 for anonymous / free pages */
export function page_file(s: KState, pfn: number): number {
  return ld(s, s.L.memmap + pfn * PAGE_WORDS + PG_MAPPING) - 1;
}
export function page_index(s: KState, pfn: number): number {
  return ld(s, s.L.memmap + pfn * PAGE_WORDS + PG_INDEX);
}
export function page_set_mapping(s: KState, pfn: number, file: number, index: number): void {
  const o = s.L.memmap + pfn * PAGE_WORDS;
  st(s, o + PG_MAPPING, file + 1);
  st(s, o + PG_INDEX, index);
}
/** allocation sequence number of the page in frame `pfn` */
export function page_gen(s: KState, pfn: number): number {
  return ld(s, s.L.memmap + pfn * PAGE_WORDS + PG_GEN);
}
export function page_allocated(s: KState, pfn: number): boolean {
  return (ld(s, s.L.memmap + pfn * PAGE_WORDS + PG_FLAGS) & PGF_ALLOC) !== 0;
}
export function frames(s: KState): number {
  return s.L.geo.frames;
}

/* ---------------- tasks and their mm ---------------- */

export function tso(s: KState, t: number): number {
  return s.L.tasks + t * s.L.taskWords;
}
export function task_alive(s: KState, t: number): boolean {
  return ld(s, s.L.tasks + t * s.L.taskWords + T_STATE) === TASK_ALIVE;
}
export function task_state(s: KState, t: number): number {
  return ld(s, s.L.tasks + t * s.L.taskWords + T_STATE);
}
export function task_set_state(s: KState, t: number, v: number): void {
  st(s, s.L.tasks + t * s.L.taskWords + T_STATE, v);
}
export function task_parent(s: KState, t: number): number {
  return ld(s, s.L.tasks + t * s.L.taskWords + T_PARENT);
}
export function task_set_parent(s: KState, t: number, p: number): void {
  st(s, s.L.tasks + t * s.L.taskWords + T_PARENT, p);
}
export function mm_flags(s: KState, t: number): number {
  return ld(s, s.L.tasks + t * s.L.taskWords + T_MMFLAGS);
}
export function mm_set_flags(s: KState, t: number, v: number): void {
  st(s, s.L.tasks + t * s.L.taskWords + T_MMFLAGS, v);
}
export function task_curwid(s: KState, t: number): number {
  return ld(s, s.L.tasks + t * s.L.taskWords + T_CURWID);
}
export function task_set_curwid(s: KState, t: number, w: number): void {
  st(s, s.L.tasks + t * s.L.taskWords + T_CURWID, w);
}
export function task_uffd(s: KState, t: number): number {
  return ld(s, s.L.tasks + t * s.L.taskWords + T_UFFD);
}
export function task_set_uffd(s: KState, t: number, v: number): void {
  st(s, s.L.tasks + t * s.L.taskWords + T_UFFD, v);
}
/** The task's uid: 0 (root, every capability) or an unprivileged user's. */
export function task_uid(s: KState, t: number): number {
  return ld(s, s.L.tasks + t * s.L.taskWords + T_UID);
}
export function task_set_uid(s: KState, t: number, uid: number): void {
  st(s, s.L.tasks + t * s.L.taskWords + T_UID, uid);
}
/** RLIMIT_MEMLOCK of the task, in pages. */
export function task_memlock(s: KState, t: number): number {
  return ld(s, s.L.tasks + t * s.L.taskWords + T_MEMLOCK);
}
export function task_set_memlock(s: KState, t: number, pages: number): void {
  st(s, s.L.tasks + t * s.L.taskWords + T_MEMLOCK, pages);
}
/** The accounting of the ring `t` owns: bit 0 set when it charges its user, the pages its buffer charged above it. */
export function task_ring_acct(s: KState, t: number): number {
  return ld(s, s.L.tasks + t * s.L.taskWords + T_RING_ACCT);
}
export function task_set_ring_acct(s: KState, t: number, v: number): void {
  st(s, s.L.tasks + t * s.L.taskWords + T_RING_ACCT, v);
}
/** user_struct->locked_vm of the unprivileged user, in pages. */
export function user_locked_vm(s: KState): number {
  return ld(s, G_USER_LOCKED);
}
export function user_set_locked_vm(s: KState, pages: number): void {
  st(s, G_USER_LOCKED, pages);
}
export function task_ring(s: KState, t: number): number {
  return ld(s, s.L.tasks + t * s.L.taskWords + T_RING);
}
export function task_set_ring(s: KState, t: number, v: number): void {
  st(s, s.L.tasks + t * s.L.taskWords + T_RING, v);
}
/** The task's mm slot with ksmd (0: not registered, MMF_VM_MERGEABLE clear), ordered by registration. */
export function task_ksm(s: KState, t: number): number {
  return ld(s, s.L.tasks + t * s.L.taskWords + T_KSM);
}
export function task_set_ksm(s: KState, t: number, v: number): void {
  st(s, s.L.tasks + t * s.L.taskWords + T_KSM, v);
}
/** The ksm_merging_pages a task inherited at fork (dup_mm copies the counter; later ksm_fork resets it). */
export function task_ksm_base(s: KState, t: number): number {
  return ld(s, s.L.tasks + t * s.L.taskWords + T_KSM_BASE);
}
export function task_set_ksm_base(s: KState, t: number, v: number): void {
  st(s, s.L.tasks + t * s.L.taskWords + T_KSM_BASE, v);
}
/** mm->ksm_zero_pages (6.5+): KSM-placed zero pages this mm mapped, as the kernel counts them (a copy of the parent's at fork). */
export function task_ksm_zero(s: KState, t: number): number {
  return ld(s, s.L.tasks + t * s.L.taskWords + T_KSM_ZERO);
}
export function task_set_ksm_zero(s: KState, t: number, v: number): void {
  st(s, s.L.tasks + t * s.L.taskWords + T_KSM_ZERO, v);
}
/* ---- the hugetlb pool of the PMD size (struct hstate) and the private reservation maps ---- */

/** The pool's counters: nr_hugepages, free_hugepages, resv_hugepages, surplus_hugepages, and nr_overcommit_hugepages. */
/** The hstates the model has: 0 the PMD size (2 MiB), 1 the PUD size (1 GiB). */
export type Hstate = 0 | 1;
const HP_WORDS = [
  [G_HP_NR, G_HP_FREE, G_HP_RESV, G_HP_SURPLUS, G_HP_OVERCOMMIT],
  [G_GP_NR, G_GP_FREE, G_GP_RESV, G_GP_SURPLUS, G_GP_OVERCOMMIT],
] as const;
/** The hugetlb pool of hstate `h` (struct hstate's counters). */
export function hugetlb_pool(s: KState, h: Hstate = 0): { nr: number; free: number; resv: number; surplus: number; overcommit: number } {
  const w = HP_WORDS[h];
  return { nr: ld(s, w[0]), free: ld(s, w[1]), resv: ld(s, w[2]), surplus: ld(s, w[3]), overcommit: ld(s, w[4]) };
}
/** Adds to the counters of the pool of hstate `h`. */
export function hugetlb_pool_add(
  s: KState,
  d: { nr?: number; free?: number; resv?: number; surplus?: number; overcommit?: number },
  h: Hstate = 0,
): void {
  const w = HP_WORDS[h];
  st(s, w[0], ld(s, w[0]) + (d.nr ?? 0));
  st(s, w[1], ld(s, w[1]) + (d.free ?? 0));
  st(s, w[2], ld(s, w[2]) + (d.resv ?? 0));
  st(s, w[3], ld(s, w[3]) + (d.surplus ?? 0));
  st(s, w[4], ld(s, w[4]) + (d.overcommit ?? 0));
}
/** A new hugetlbfs file for a MAP_HUGETLB mapping: its identity (1, 2, ...). */
export function hugetlb_new_file(s: KState): number {
  return st(s, G_HP_FILES, ld(s, G_HP_FILES) + 1);
}
/**
 * The owner of a private mapping consumed the reservation of huge page
 * `slot` of hstate `h` (an entry in its resv_map): a bit per PMD (or PUD)
 * index, so slots stay below 32 (resolve.ts keeps hugetlb regions there).
 */
export function hugetlb_resv_consumed(s: KState, t: number, slot: number, h: Hstate = 0): boolean {
  return ((ld(s, s.L.tasks + t * s.L.taskWords + (h ? T_HRESV_PUD : T_HRESV)) >>> slot) & 1) !== 0;
}
export function hugetlb_set_resv_consumed(s: KState, t: number, slot: number, on: boolean, h: Hstate = 0): void {
  if (slot >= 32) throw new Error(`cowlab: hugetlb reservation slot ${slot} is beyond the model's 32`);
  const o = s.L.tasks + t * s.L.taskWords + (h ? T_HRESV_PUD : T_HRESV);
  if (on) st(s, o, ld(s, o) | (1 << slot));
  else st(s, o, ld(s, o) & ~(1 << slot));
}

/** Offset of ksmd's rmap item for (t, va): KSM_WORDS words (the geometry must have KSM). */
function ksm_item(s: KState, t: number, va: number): number {
  return s.L.tasks + t * s.L.taskWords + s.L.tKsm + va * KSM_WORDS;
}
/** The rmap item's oldchecksum (content key + 1 at the last visit; 0: never visited). */
export function ksm_item_checksum(s: KState, t: number, va: number): number {
  return ld(s, ksm_item(s, t, va) + K_CHECKSUM);
}
export function ksm_item_set_checksum(s: KState, t: number, va: number, ck: number): void {
  st(s, ksm_item(s, t, va) + K_CHECKSUM, ck);
}
/** The rmap item's KI_* bits. */
export function ksm_item_flags(s: KState, t: number, va: number): number {
  return ld(s, ksm_item(s, t, va) + K_FLAGS);
}
export function ksm_item_set_flags(s: KState, t: number, va: number, f: number): void {
  st(s, ksm_item(s, t, va) + K_FLAGS, f);
}
/** Registers one more mm with ksmd: its place in ksmd's list. */
export function ksm_next_slot(s: KState): number {
  st(s, G_KSM_SEQ, ld(s, G_KSM_SEQ) + 1);
  return ld(s, G_KSM_SEQ);
}

/* ---- page table: one level, indexed by virtual page ---- */

export function ptep_get(s: KState, t: number, va: number): Pte {
  return ld(s, s.L.tasks + t * s.L.taskWords + s.L.tPte + va);
}
/** set_pte_at(); a PTE in a range without a page table allocates one (pte_alloc): the PMD becomes a table. */
export function set_pte_at(s: KState, t: number, va: number, pte: Pte): void {
  const base = s.L.tasks + t * s.L.taskWords;
  st(s, base + s.L.tPte + va, pte);
  if (pte !== 0 && s.L.pmds > 0) {
    const i = base + s.L.tPmd + (va >>> s.L.geo.pmdOrder);
    if (ld(s, i) === PMD_NONE_T) st(s, i, PMD_TABLE_T);
  }
}

/* ---- the PMD level (kept only when the geometry allows large folios) ---- */

/**
 * The entry the MMU uses for `va`: the PTE, or, under a huge PMD, the PTE
 * its page would have (the folio's page at that offset, or the shared zero
 * page for the huge zero page; the PMD's write, dirty, uffd-wp and
 * soft-dirty bits).
 */
export function pte_lookup(s: KState, t: number, va: number): Pte {
  const base = s.L.tasks + t * s.L.taskWords;
  const pte = ld(s, base + s.L.tPte + va);
  if (pte !== 0 || s.L.pmds === 0) return pte;
  if (s.L.puds > 0) {
    const pud = ld(s, base + s.L.tPud + (va >>> s.L.geo.pudOrder!));
    if (pmd_trans_huge(pud)) return mk_pte(pmd_pfn(pud) + (va & ((1 << s.L.geo.pudOrder!) - 1))) | pmd_pte_bits(pud);
  }
  const pmd = ld(s, base + s.L.tPmd + (va >>> s.L.geo.pmdOrder));
  if (!pmd_trans_huge(pmd)) return pte;
  const pfn = is_huge_zero_pmd(pmd) ? ZERO_PFN : pmd_pfn(pmd) + (va & ((1 << s.L.geo.pmdOrder) - 1));
  return mk_pte(pfn) | pmd_pte_bits(pmd);
}
/**
 * The huge leaf (a PUD for 1 GiB hugetlb, else a PMD: THP, 2 MiB hugetlb, the huge zero page) that
 * maps `va`, as [the first virtual page it maps, how many]; null where a PTE table (or nothing) does.
 * One leaf maps its pages alike, so code that walks pages may take a whole leaf at once.
 */
export function huge_leaf_at(s: KState, t: number, va: number): [first: number, nr: number] | null {
  if (s.L.pmds === 0) return null;
  const base = s.L.tasks + t * s.L.taskWords;
  if (s.L.puds > 0 && pmd_trans_huge(ld(s, base + s.L.tPud + (va >>> s.L.geo.pudOrder!)))) {
    const nr = 1 << s.L.geo.pudOrder!;
    return [va - (va & (nr - 1)), nr];
  }
  if (!pmd_trans_huge(ld(s, base + s.L.tPmd + (va >>> s.L.geo.pmdOrder)))) return null;
  const nr = 1 << s.L.geo.pmdOrder;
  return [va - (va & (nr - 1)), nr];
}

/** Whether `va` is mapped by a huge PMD (a THP or the huge zero page). */
export function pmd_mapped_huge(s: KState, t: number, va: number): boolean {
  return s.L.pmds > 0 && pmd_trans_huge(ld(s, s.L.tasks + t * s.L.taskWords + s.L.tPmd + (va >>> s.L.geo.pmdOrder)));
}

/** The pages one PMD maps (1 << pmdOrder), or 0 when the geometry has no PMD level. */
export function pmd_nr(s: KState): number {
  return s.L.pmds > 0 ? 1 << s.L.geo.pmdOrder : 0;
}
/** The PMD covering `va` (a table, implicitly, without a PMD level). */
export function pmdp_get(s: KState, t: number, va: number): Pmd {
  if (s.L.pmds === 0) return PMD_TABLE_T;
  return ld(s, s.L.tasks + t * s.L.taskWords + s.L.tPmd + (va >>> s.L.geo.pmdOrder));
}
export function set_pmd_at(s: KState, t: number, va: number, pmd: Pmd): void {
  st(s, s.L.tasks + t * s.L.taskWords + s.L.tPmd + (va >>> s.L.geo.pmdOrder), pmd);
}

/** folio_hstate(): the hugetlb pool the folio at `head` belongs to. */
export function folio_hstate(s: KState, head: number): Hstate {
  return s.L.puds > 0 && folio_nr_pages(s, head) === pud_nr(s) ? 1 : 0;
}

/* ---- the PUD level (kept only for 1 GiB hugetlb pages: a huge PUD is encoded like a huge PMD) ---- */

/** The pages one PUD maps (1 << pudOrder), or 0 when the geometry has no PUD level. */
export function pud_nr(s: KState): number {
  return s.L.puds > 0 ? 1 << s.L.geo.pudOrder! : 0;
}
/** The PUD covering `va`: a hugetlb leaf or none (PMD_NONE). */
export function pudp_get(s: KState, t: number, va: number): Pmd {
  if (s.L.puds === 0) return PMD_NONE_T;
  return ld(s, s.L.tasks + t * s.L.taskWords + s.L.tPud + (va >>> s.L.geo.pudOrder!));
}
export function set_pud_at(s: KState, t: number, va: number, pud: Pmd): void {
  st(s, s.L.tasks + t * s.L.taskWords + s.L.tPud + (va >>> s.L.geo.pudOrder!), pud);
}

/* ---- VMAs: a small sorted array per mm (the kernel's maple tree) ---- */

export function vmo(s: KState, t: number, i: number): number {
  return s.L.tasks + t * s.L.taskWords + s.L.tVma + i * VMA_WORDS;
}

/** A VMA as a plain record, for code that edits VMAs (mmap, mprotect, madvise). */
export interface Vma {
  start: number;
  end: number;
  flags: number;
  /** file id, or -1 for anonymous memory */
  file: number;
  pgoff: number;
  /** has an anon_vma */
  anon: boolean;
  /**
   * which anon_vma (mm-local, canonical: numbered in address order by
   * vmas_store) shifted left by one, with bit 0 set when the anon_vma chain
   * also holds a parent's (a fork child's VMA: vma_had_uncowed_parents());
   * 0 or absent with `anon` false. Absent with `anon` true: a new one.
   */
  av?: number;
}

export function vma_count(s: KState, t: number): number {
  const n = s.L.geo.vmas;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const o = vmo(s, t, i);
    if (ld(s, o + V_END) > ld(s, o + V_START)) c++;
    else break;
  }
  return c;
}

export function vma_get(s: KState, t: number, i: number): Vma {
  const o = vmo(s, t, i);
  return {
    start: ld(s, o + V_START),
    end: ld(s, o + V_END),
    flags: ld(s, o + V_FLAGS),
    file: ld(s, o + V_FILE) - 1,
    pgoff: ld(s, o + V_PGOFF),
    anon: ld(s, o + V_ANON) !== 0,
    av: ld(s, o + V_ANON),
  };
}

/** All VMAs of an mm, in address order. */
export function vmas_of(s: KState, t: number): Vma[] {
  const out: Vma[] = [];
  const n = vma_count(s, t);
  for (let i = 0; i < n; i++) out.push(vma_get(s, t, i));
  return out;
}

/** Replaces an mm's VMAs (kept sorted and adjacent-compatible ones merged by the caller). */
export function vmas_store(s: KState, t: number, vmas: readonly Vma[]): boolean {
  if (vmas.length > s.L.geo.vmas) return false;
  // anon_vma identities renumbered by first appearance, so equal layouts are equal states
  const ids = new Map<number, number>();
  let fresh = 1 << 20;
  const av = vmas.map((v) => {
    if (!v.anon) return 0;
    const raw = v.av ? v.av >>> 1 : fresh++;
    let id = ids.get(raw);
    if (id === undefined) ids.set(raw, (id = ids.size + 1));
    return (id << 1) | ((v.av ?? 0) & 1);
  });
  for (let i = 0; i < s.L.geo.vmas; i++) {
    const o = vmo(s, t, i);
    const v = vmas[i];
    if (v) {
      st(s, o + V_START, v.start);
      st(s, o + V_END, v.end);
      st(s, o + V_FLAGS, v.flags);
      st(s, o + V_FILE, v.file + 1);
      st(s, o + V_PGOFF, v.pgoff);
      st(s, o + V_ANON, av[i]!);
    } else {
      for (let k = 0; k < VMA_WORDS; k++) st(s, o + k, 0);
    }
  }
  return true;
}

/** Index of the VMA containing `va`, or -1 (find_vma + range check, i.e. vma_lookup()). */
export function vma_lookup_idx(s: KState, t: number, va: number): number {
  const n = s.L.geo.vmas;
  const base = s.L.tasks + t * s.L.taskWords + s.L.tVma;
  for (let i = 0; i < n; i++) {
    const o = base + i * VMA_WORDS;
    const st = ld(s, o + V_START);
    const en = ld(s, o + V_END);
    if (en <= st) return -1;
    if (va >= st && va < en) return i;
    if (st > va) return -1;
  }
  return -1;
}
export function vma_flags_at(s: KState, t: number, i: number): number {
  return ld(s, vmo(s, t, i) + V_FLAGS);
}
export function vma_set_flags_at(s: KState, t: number, i: number, f: number): void {
  st(s, vmo(s, t, i) + V_FLAGS, f);
}
export function vma_file_at(s: KState, t: number, i: number): number {
  return ld(s, vmo(s, t, i) + V_FILE) - 1;
}
/** file page index that virtual page `va` of VMA `i` maps (linear_page_index) */
export function vma_pgoff_of(s: KState, t: number, i: number, va: number): number {
  const o = vmo(s, t, i);
  return ld(s, o + V_PGOFF) + (va - ld(s, o + V_START));
}
export function vma_anon_at(s: KState, t: number, i: number): boolean {
  return ld(s, vmo(s, t, i) + V_ANON) !== 0;
}
/**
 * anon_vma_prepare() (every era): the VMA gets an anon_vma the first time an
 * anon page is added: find_mergeable_anon_vma() reuses the next or the
 * previous VMA's when the two could merge but for their access flags
 * (anon_vma_compatible()) and that anon_vma is the neighbour's only one
 * (reusable_anon_vma(): not a fork child's); else a new one.
 */
export function anon_vma_prepare(s: KState, t: number, i: number): void {
  if (vma_anon_at(s, t, i)) return;
  const list = vmas_of(s, t);
  const v = list[i]!;
  const compatible = (a: Vma, b: Vma) =>
    a.end === b.start &&
    a.file === b.file &&
    ((a.flags ^ b.flags) & ~(VM_READ | VM_WRITE | VM_EXEC | VM_SOFTDIRTY)) === 0 &&
    (a.file < 0 || b.pgoff === a.pgoff + (a.end - a.start));
  const reusable = (o: Vma | undefined) => (o && o.av && (o.av & 1) === 0 ? o.av : 0);
  const next = list[i + 1];
  const prev = i > 0 ? list[i - 1] : undefined;
  const av = (next && compatible(v, next) && reusable(next)) || (prev && compatible(prev, v) && reusable(prev)) || 0;
  list[i] = { ...v, anon: true, av: av || undefined };
  vmas_store(s, t, list);
}
/** Whether the VMA mapping `va` is VM_SHARED (false if unmapped). */
export function va_shared(s: KState, t: number, va: number): boolean {
  const i = vma_lookup_idx(s, t, va);
  return i >= 0 && (vma_flags_at(s, t, i) & VM_SHARED) !== 0;
}
export function vma_start_at(s: KState, t: number, i: number): number {
  return ld(s, vmo(s, t, i) + V_START);
}
export function vma_end_at(s: KState, t: number, i: number): number {
  return ld(s, vmo(s, t, i) + V_END);
}

/* ---------------- write records and the vis bitsets ---------------- */

export function wro(s: KState, w: number): number {
  return s.L.writes + w * WRITE_WORDS;
}
export function write_flags(s: KState, w: number): number {
  return ld(s, s.L.writes + w * WRITE_WORDS + W_FLAGS);
}
export function write_writer(s: KState, w: number): number {
  return ld(s, s.L.writes + w * WRITE_WORDS + W_WRITER);
}
export function write_step(s: KState, w: number): number {
  return ld(s, s.L.writes + w * WRITE_WORDS + W_STEP);
}
export function vis_test(s: KState, t: number, w: number): boolean {
  const o = s.L.tasks + t * s.L.taskWords + s.L.tVis + (w >>> 5);
  return (ld(s, o) & (1 << (w & 31))) !== 0;
}
export function vis_set(s: KState, t: number, w: number): void {
  const o = s.L.tasks + t * s.L.taskWords + s.L.tVis + (w >>> 5);
  st(s, o, ld(s, o) | (1 << (w & 31)));
}
export function vis_clear_all_of(s: KState, w: number): void {
  for (let t = 0; t < s.L.geo.tasks; t++) {
    const o = s.L.tasks + t * s.L.taskWords + s.L.tVis + (w >>> 5);
    st(s, o, ld(s, o) & ~(1 << (w & 31)));
  }
}
export function vis_copy(s: KState, from: number, to: number): void {
  const a = s.L.tasks + from * s.L.taskWords + s.L.tVis;
  const b = s.L.tasks + to * s.L.taskWords + s.L.tVis;
  for (let i = 0; i < s.L.visWords; i++) st(s, b + i, ld(s, a + i));
}
export function vis_clear(s: KState, t: number): void {
  const b = s.L.tasks + t * s.L.taskWords + s.L.tVis;
  for (let i = 0; i < s.L.visWords; i++) st(s, b + i, 0);
}

/* ---------------- files ---------------- */

export function fio(s: KState, f: number): number {
  return s.L.files + f * s.L.fileWords;
}
export function file_flags(s: KState, f: number): number {
  return ld(s, s.L.files + f * s.L.fileWords + F_FLAGS);
}
export function file_size(s: KState, f: number): number {
  return ld(s, s.L.files + f * s.L.fileWords + F_SIZE);
}
export function file_maps(s: KState, f: number): number {
  return ld(s, s.L.files + f * s.L.fileWords + F_MAPS);
}
export function file_maps_add(s: KState, f: number, n: number): void {
  st(s, s.L.files + f * s.L.fileWords + F_MAPS, ld(s, s.L.files + f * s.L.fileWords + F_MAPS) + n);
}
/** A hugetlbfs file's reservations not yet consumed by a page in its page cache. */
export function file_hresv(s: KState, f: number): number {
  return ld(s, s.L.files + f * s.L.fileWords + F_HRESV);
}
export function file_hresv_add(s: KState, f: number, n: number): void {
  st(s, s.L.files + f * s.L.fileWords + F_HRESV, ld(s, s.L.files + f * s.L.fileWords + F_HRESV) + n);
}
/** PFN of the page-cache page at `index`, 0 if not cached */
export function filemap_get(s: KState, f: number, index: number): number {
  return ld(s, s.L.files + f * s.L.fileWords + F_HDR + index);
}
export function filemap_set(s: KState, f: number, index: number, pfn: number): void {
  st(s, s.L.files + f * s.L.fileWords + F_HDR + index, pfn);
}

/* ---------------- swap ---------------- */

/** swapoff() has run: the swap area is gone */
export function swap_is_off(s: KState): boolean {
  return ld(s, G_SWAP_OFF) !== 0;
}
export function swap_set_off(s: KState): void {
  st(s, G_SWAP_OFF, 1);
}
export function swo(s: KState, slot: number): number {
  return s.L.swap + slot * SWAP_WORDS;
}
export function swap_count(s: KState, slot: number): number {
  return ld(s, s.L.swap + slot * SWAP_WORDS + S_COUNT);
}
export function swap_count_add(s: KState, slot: number, n: number): void {
  st(s, s.L.swap + slot * SWAP_WORDS + S_COUNT, ld(s, s.L.swap + slot * SWAP_WORDS + S_COUNT) + n);
}
export function swap_cache_pfn(s: KState, slot: number): number {
  return ld(s, s.L.swap + slot * SWAP_WORDS + S_CACHE);
}
export function swap_set_cache(s: KState, slot: number, pfn: number): void {
  st(s, s.L.swap + slot * SWAP_WORDS + S_CACHE, pfn);
}
export function swap_data(s: KState, slot: number): number {
  return ld(s, s.L.swap + slot * SWAP_WORDS + S_DATA);
}
export function swap_set_data(s: KState, slot: number, wid: number): void {
  st(s, s.L.swap + slot * SWAP_WORDS + S_DATA, wid);
}
export function swap_used(s: KState, slot: number): boolean {
  return ld(s, s.L.swap + slot * SWAP_WORDS + S_USED) !== 0;
}
export function swap_set_used(s: KState, slot: number, used: boolean): void {
  st(s, s.L.swap + slot * SWAP_WORDS + S_USED, used ? 1 : 0);
}

/* ---------------- pipes ---------------- */

export function pio(s: KState, p: number): number {
  return s.L.pipes + p * s.L.pipeWords;
}
export function pipe_open(s: KState, p: number): boolean {
  return ld(s, s.L.pipes + p * s.L.pipeWords + P_STATE) !== 0;
}
export function pipe_holders(s: KState, p: number): number {
  return ld(s, s.L.pipes + p * s.L.pipeWords + P_HOLDERS);
}
export function pipe_set_holders(s: KState, p: number, v: number): void {
  st(s, s.L.pipes + p * s.L.pipeWords + P_HOLDERS, v);
}
export function pipe_nbuf(s: KState, p: number): number {
  return ld(s, s.L.pipes + p * s.L.pipeWords + P_NBUF);
}
export interface PipeBuf {
  pfn: number;
  taker: number;
  vpage: number;
}
export function pipe_buf(s: KState, p: number, i: number): PipeBuf {
  const o = s.L.pipes + p * s.L.pipeWords + P_HDR + i * PIPEBUF_WORDS;
  return { pfn: ld(s, o + PB_PFN), taker: ld(s, o + PB_TAKER), vpage: ld(s, o + PB_VPAGE) };
}
export function pipe_buf_pfn(s: KState, p: number, i: number): number {
  return ld(s, s.L.pipes + p * s.L.pipeWords + P_HDR + i * PIPEBUF_WORDS + PB_PFN);
}
export function pipe_push(s: KState, p: number, b: PipeBuf): boolean {
  const base = s.L.pipes + p * s.L.pipeWords;
  const n = ld(s, base + P_NBUF);
  if (n >= s.L.geo.pipeBufs) return false;
  const o = base + P_HDR + n * PIPEBUF_WORDS;
  st(s, o + PB_PFN, b.pfn);
  st(s, o + PB_TAKER, b.taker);
  st(s, o + PB_VPAGE, b.vpage);
  st(s, base + P_NBUF, n + 1);
  return true;
}
/** Removes and returns the oldest buffer (pipe reads are FIFO). */
export function pipe_shift(s: KState, p: number): PipeBuf | null {
  const base = s.L.pipes + p * s.L.pipeWords;
  const n = ld(s, base + P_NBUF);
  if (n === 0) return null;
  const first = pipe_buf(s, p, 0);
  const o = base + P_HDR;
  move_words(s, o, o + PIPEBUF_WORDS, o + n * PIPEBUF_WORDS);
  fill_words(s, 0, o + (n - 1) * PIPEBUF_WORDS, o + n * PIPEBUF_WORDS);
  st(s, base + P_NBUF, n - 1);
  return first;
}
export function pipe_set_state(s: KState, p: number, open: boolean): void {
  st(s, s.L.pipes + p * s.L.pipeWords + P_STATE, open ? 1 : 0);
}

/* ---------------- references ---------------- */

export function rfo(s: KState, r: number): number {
  return s.L.refs + r * REF_WORDS;
}
export function ref_kind(s: KState, r: number): number {
  return ld(s, s.L.refs + r * REF_WORDS + R_KIND);
}
export function ref_owner(s: KState, r: number): number {
  return ld(s, s.L.refs + r * REF_WORDS + R_OWNER);
}
export function ref_handle(s: KState, r: number): number {
  return ld(s, s.L.refs + r * REF_WORDS + R_HANDLE);
}
export function ref_vpage(s: KState, r: number): number {
  return ld(s, s.L.refs + r * REF_WORDS + R_VPAGE);
}
export function ref_state(s: KState, r: number): number {
  return ld(s, s.L.refs + r * REF_WORDS + R_STATE);
}

/* ---------------- LRU add batch ---------------- */

export function lru_batch_count(s: KState): number {
  return ld(s, G_LRU_N);
}

/* ---------------- the allocator's view of the memmap ---------------- */

/**
 * Takes the lowest free frame and gives it refcount 1 and `flags`; 0 when
 * every frame is in use. The allocation sequence number distinguishes a
 * recycled frame from its previous life.
 */
export function frame_take(s: KState, flags: number, order = 0): number {
  const n = s.L.geo.frames;
  const nr = 1 << order;
  // a large folio takes naturally aligned frames, as the buddy allocator gives them; a small page the
  // lowest free frame, looked for from the hint (a 1 GiB file's 262144 page-cache pages stay linear)
  for (let pfn = order === 0 ? Math.max(ZERO_PFN + 1, ld(s, G_FREE_HINT)) : nr; pfn + nr <= n; pfn += order === 0 ? 1 : nr) {
    let free = true;
    for (let i = 0; i < nr && free; i++) if ((ld(s, s.L.memmap + (pfn + i) * PAGE_WORDS + PG_FLAGS) & PGF_ALLOC) !== 0) free = false;
    if (!free || (order > 0 && pfn <= ZERO_PFN)) continue;
    const gen = st(s, G_SEQ, ld(s, G_SEQ) + 1);
    fill_words(s, 0, s.L.memmap + pfn * PAGE_WORDS, s.L.memmap + (pfn + nr) * PAGE_WORDS);
    for (let i = 0; i < nr; i++) {
      const o = s.L.memmap + (pfn + i) * PAGE_WORDS;
      st(s, o + PG_FLAGS, PGF_ALLOC);
      st(s, o + PG_GEN, gen);
      if (order > 0) st(s, o + PG_HEAD, pfn);
    }
    const o = s.L.memmap + pfn * PAGE_WORDS;
    st(s, o + PG_FLAGS, PGF_ALLOC | flags | (order > 0 ? PGF_HEAD : 0));
    st(s, o + PG_REF, 1);
    st(s, o + PG_ORDER, order);
    if (pfn + nr - 1 > ld(s, G_PFN_HWM)) st(s, G_PFN_HWM, pfn + nr - 1);
    if (order === 0) st(s, G_FREE_HINT, pfn + 1);
    return pfn;
  }
  return 0;
}

/** Clears a folio's frames: they are free again. */
export function frame_release(s: KState, pfn: number): void {
  const nr = 1 << ld(s, s.L.memmap + pfn * PAGE_WORDS + PG_ORDER);
  const o = s.L.memmap + pfn * PAGE_WORDS;
  fill_words(s, 0, o, o + nr * PAGE_WORDS);
  if (ld(s, G_FREE_HINT) > pfn) st(s, G_FREE_HINT, pfn);
}

/** One past the highest frame ever allocated (frames above it were never used). */
export function frames_in_use_bound(s: KState): number {
  return Math.min(s.L.geo.frames, Math.max(ld(s, G_PFN_HWM), ZERO_PFN) + 1);
}

/* ---------------- the per-CPU folio batches (add and activate) ---------------- */

/** Which per-CPU batch: the LRU add batch (cpu_fbatches.lru_add) or the activate batch. */
export type LruBatch = 'add' | 'activate';

function batchOff(s: KState, b: LruBatch): { n: number; at: number } {
  return b === 'add' ? { n: G_LRU_N, at: s.L.lru } : { n: G_ACT_N, at: s.L.act };
}
export function fbatch_len(s: KState, b: LruBatch): number {
  return ld(s, batchOff(s, b).n);
}
export function fbatch_at(s: KState, b: LruBatch, i: number): number {
  return ld(s, batchOff(s, b).at + i);
}
export function fbatch_push(s: KState, b: LruBatch, pfn: number): number {
  const o = batchOff(s, b);
  const n = ld(s, o.n);
  st(s, o.at + n, pfn);
  st(s, o.n, n + 1);
  return n + 1;
}
/** Empties a batch, returning its folios in order. */
export function fbatch_take_all(s: KState, b: LruBatch): number[] {
  const o = batchOff(s, b);
  const n = ld(s, o.n);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(ld(s, o.at + i));
    st(s, o.at + i, 0);
  }
  st(s, o.n, 0);
  return out;
}

/* ---------------- file records ---------------- */

/** Opens file slot `f` with `flags` and a size in pages. */
export function file_init(s: KState, f: number, flags: number, pages: number): void {
  const o = s.L.files + f * s.L.fileWords;
  st(s, o + F_FLAGS, flags);
  st(s, o + F_SIZE, pages);
}
/** i_size of file `f`, in pages (a write past EOF grows it). */
export function file_set_size(s: KState, f: number, pages: number): void {
  st(s, s.L.files + f * s.L.fileWords + F_SIZE, pages);
}
/** Clears file slot `f` (the file is gone). */
export function file_release(s: KState, f: number): void {
  const o = s.L.files + f * s.L.fileWords;
  fill_words(s, 0, o, o + s.L.fileWords);
}

/**
 * __split_folio_to_order()'s step for one page of a large folio: it becomes
 * an order-0 folio of its own with the folio's flags `folioFlags` (its own
 * per-page bits, PG_anon_exclusive, kept), no entire or large mapcount, no
 * MM-ID slots, and `ref` references.
 */
export function page_split_off(s: KState, pfn: number, folioFlags: number, ref: number): void {
  const o = pgo(s, pfn);
  const own = ld(s, o + PG_FLAGS);
  st(s, o + PG_FLAGS, (folioFlags & ~PGF_PER_PAGE) | (own & PGF_PER_PAGE & ~PGF_HEAD) | PGF_ALLOC);
  st(s, o + PG_HEAD, 0);
  st(s, o + PG_ORDER, 0);
  st(s, o + PG_ENTIRE, 0);
  st(s, o + PG_LARGE, 0);
  st(s, o + PG_MMID0, 0);
  st(s, o + PG_MMID1, 0);
  st(s, o + PG_MMC0, 0);
  st(s, o + PG_MMC1, 0);
  st(s, o + PG_REF, ref);
}
