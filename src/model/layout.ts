/**
 * The packed kernel state.
 *
 * cowlab keeps the whole modelled kernel in one Int32Array, laid out like the
 * kernel's own arrays: a memmap of `struct page` records indexed by PFN, one
 * record per task holding its mm (VMAs and a single-level page table), swap
 * slots, files with their page cache, pipes, GUP references and the write
 * table that makes content traceable. Cloning a state is one `slice()`, and
 * the explorer hashes the same array it steps, so there is a single
 * representation of state (see docs/architecture.md).
 *
 * Sizes come from a {@link Geometry}: a scenario's geometry is computed from
 * what it declares, an explorer configuration's from its bounds.
 */

/** Upper bounds that size every table of the packed state. */
export interface Geometry {
  /** task (process) slots; each task owns one mm */
  readonly tasks: number;
  /** virtual pages per mm (addresses are page numbers 0..vpages-1) */
  readonly vpages: number;
  /** VMA slots per mm */
  readonly vmas: number;
  /** physical frames, including PFN 0 (never used) and the shared zero page */
  readonly frames: number;
  /** file objects (memfd, tmpfile, the shmem object behind MAP_SHARED|MAP_ANONYMOUS) */
  readonly files: number;
  /** page-cache slots per file */
  readonly filePages: number;
  /** swap slots (slot 0 is never used) */
  readonly swapSlots: number;
  /** pipes */
  readonly pipes: number;
  /** buffers per pipe (the kernel's default pipe has 16) */
  readonly pipeBufs: number;
  /** GUP references held outside page tables (pins, O_DIRECT, io_uring, injected references) */
  readonly refs: number;
  /** write records; write id 0 is "zero-filled" */
  readonly writes: number;
  /** capacity of the modelled per-CPU LRU add batch */
  readonly lruBatch: number;
  /**
   * log2 of the pages a PMD maps (9 on x86: 2 MiB), or 0 when the scenario
   * cannot have large folios (no PMD level is kept then). The explorer may
   * use a smaller order to search THP configurations (model only).
   */
  readonly pmdOrder: number;
  /**
   * log2 of the pages a PUD maps (18 on x86: 1 GiB), or 0 when the scenario
   * maps no 1 GiB hugetlb page (no PUD level is kept then). Twice pmdOrder
   * when the explorer or a model-only scenario shrinks the PMD.
   */
  readonly pudOrder?: number;
  /** the scenario can merge pages (MADV_MERGEABLE): keep ksmd's rmap items per task and page */
  readonly ksm?: boolean;
  /**
   * thread slots: records of threads that share a task's mm and of
   * operations stopped in one of the kernel's lock-drop windows (0: the
   * scenario has neither, no table is kept)
   */
  readonly threads?: number;
  /**
   * keep each thread's TLB entry (TH_TLB_*): only where a TLB flush can be
   * deferred while other threads run (`stop: deferred-flush`); elsewhere
   * every page-table change is flushed before anyone runs on, and a cached
   * entry always equals its PTE
   */
  readonly tlb?: boolean;
}

/* ---- struct page (one record per PFN) ---- */
/** page flags word */
export const PG_FLAGS = 0;
/** page refcount (`_refcount`); FOLL_PIN adds GUP_PIN_COUNTING_BIAS on small pages */
export const PG_REF = 1;
/** number of PTEs mapping the page (the kernel stores this minus one in `_mapcount`) */
export const PG_MAPCOUNT = 2;
/** exact pin count kept for large folios (`folio->_pincount`); unused for small pages */
export const PG_PINCOUNT = 3;
/** content: the write id of the last write that filled the page */
export const PG_DATA = 4;
/** swap slot while in the swap cache (`folio->swap`) */
export const PG_PRIVATE = 5;
/** 0 for anonymous pages, file id + 1 for page-cache pages */
export const PG_MAPPING = 6;
/** page index within the file for page-cache pages; virtual page for anon pages */
export const PG_INDEX = 7;
/** allocation sequence number: tells a recycled frame from its previous life (not behaviour, history) */
export const PG_GEN = 8;
/** the head PFN of the large folio this page belongs to (the head names itself); 0 for an order-0 page */
export const PG_HEAD = 9;
/* the rest is folio-wide, kept on the head page only (the kernel keeps it in the first tail pages) */
/** folio order */
export const PG_ORDER = 10;
/** `_entire_mapcount`: PMD mappings of the folio */
export const PG_ENTIRE = 11;
/** `_large_mapcount`: every PTE mapping of any page plus every PMD mapping (6.10+ stores it; computed before, same value) */
export const PG_LARGE = 12;
/** MM-ID slots (6.15+, include/linux/rmap.h): `_mm_id[i]` as task id + 1 (0: MM_ID_DUMMY) */
export const PG_MMID0 = 13;
export const PG_MMID1 = 14;
/** `_mm_id_mapcount[i]` as a count (the kernel stores count - 1) */
export const PG_MMC0 = 15;
export const PG_MMC1 = 16;
export const PAGE_WORDS = 17;

/* ---- struct task_struct + mm_struct (one record per task) ---- */
export const T_STATE = 0; // TASK_* below
export const T_PARENT = 1; // parent task id or -1
export const T_MMFLAGS = 2; // MMF_* bits
export const T_CURWID = 3; // write id of the current write epoch (explorer mode), 0 if none
export const T_UFFD = 4; // userfaultfd context: UFFD_CTX_* bits
export const T_RING = 5; // io_uring ring: 0 none, 1 created
export const T_KSM = 6; // KSM mm slot: 0 not registered with ksmd, else the order it was (MMF_VM_MERGEABLE)
export const T_KSM_BASE = 7; // ksm_merging_pages a child inherited from its parent's mm_struct (kernels whose ksm_fork does not reset it)
export const T_HRESV = 8; // hugetlb: PMD slots whose reservation an owner VMA of this mm consumed (bit per PMD index; the private resv_map)
export const T_KSM_ZERO = 9; // mm->ksm_zero_pages: zero pages ksmd mapped here, less those unmapped since (6.5+; dup_mm copies it)
export const T_HRESV_PUD = 10; // T_HRESV for 1 GiB pages: bit per PUD index
export const T_UID = 11; // the task's uid (real, effective and saved): 0 root, else an unprivileged user (setresuid)
export const T_MEMLOCK = 12; // RLIMIT_MEMLOCK in pages (setuid sets it; fork copies it); what io_uring charges an unprivileged user against
export const T_RING_ACCT = 13; // the ring this task owns: bit 0 its creator had no CAP_IPC_LOCK (ctx->user set), bits 1.. the pages its buffer charged
export const T_HDR = 14;

/* ---- struct vm_area_struct ---- */
export const V_START = 0;
export const V_END = 1; // exclusive; start == end marks a free slot
export const V_FLAGS = 2;
export const V_FILE = 3; // file id + 1, 0 for anonymous
export const V_PGOFF = 4; // file page offset of V_START
export const V_ANON = 5; // has an anon_vma (anon_vma_prepare ran or inherited at fork)
export const VMA_WORDS = 6;

/* ---- files ---- */
export const F_FLAGS = 0;
export const F_SIZE = 1; // pages
export const F_MAPS = 2; // VMAs referencing the file (frees the shmem object of MAP_SHARED|MAP_ANONYMOUS)
export const F_HRESV = 3; // hugetlbfs: huge pages reserved for the file (its resv_map) and not yet in its page cache
export const F_HDR = 4;

/* ---- swap slots (swap_info_struct->swap_map + swap cache + "disk") ---- */
export const S_COUNT = 0; // swap_map count: swap PTEs referencing the slot
export const S_CACHE = 1; // PFN of the folio in the swap cache for this slot, 0 if none
export const S_DATA = 2; // content written to the slot, -1 if never written
export const S_USED = 3; // slot allocated
export const SWAP_WORDS = 4;

/* ---- pipes ---- */
export const P_STATE = 0; // 0 free, 1 open
export const P_HOLDERS = 1; // bitmask of tasks holding a pipe fd
export const P_NBUF = 2;
export const P_HDR = 3;
export const PB_PFN = 0;
export const PB_TAKER = 1; // task that vmspliced the page
export const PB_VPAGE = 2; // address it came from, for messages
export const PIPEBUF_WORDS = 3;

/* ---- references held outside page tables ---- */
export const R_KIND = 0; // REF_* below, 0 = free slot
export const R_OWNER = 1; // task that took the reference
export const R_VPAGE = 2; // user address it was taken on
export const R_PFN = 3;
export const R_FOLL = 4; // FOLL_* flags used
export const R_STATE = 5; // REFST_* bits
export const R_HANDLE = 6; // user-visible handle (io_uring buffer index, GUP handle id)
export const R_FILE = 7; // O_DIRECT in flight: file id of the transfer
export const R_INDEX = 8; // O_DIRECT in flight: file page of the transfer
export const REF_WORDS = 9;

/* ---- write records ---- */
export const W_FLAGS = 0; // WR_* bits
export const W_WRITER = 1; // task the write is attributed to, -1 for none
export const W_STEP = 2; // scenario step that made it, -1 if unknown
export const W_SRC = 3; // for a copy of data into a file: the write id copied, else -1
export const W_VALUE = 4; // the value a write stored (KSM compares content): 0 for content no other write has
export const W_BASE = 5; // a transfer smaller than a page: the content it was written over (its wid), else -1
export const W_RANGE = 6; // a transfer smaller than a page: first byte | bytes << 13 within the page, else 0
export const W_FROM = 7; // a transfer smaller than a page: the content its bytes come from (O_DIRECT), -1 for the writing step's own
export const W_SHIFT = 8; // with W_FROM: byte j of the page is byte j - W_SHIFT of that content
export const WRITE_WORDS = 9;

/* ---- threads (one record per thread slot, when the geometry has them) ---- */
export const TH_TASK = 0; // the task (thread group and mm) the thread belongs to, + 1; 0: free slot
export const TH_OP = 1; // the operation stopped in a window: THOP_* below, 0 none
export const TH_MM = 2; // the task whose mm the stopped operation walks (it holds that mmap_lock for read)
export const TH_VA = 3; // the stopped operation's first page
export const TH_N = 4; // its pages
export const TH_I = 5; // the page it stopped at
export const TH_FOLL = 6; // the FOLL_* flags GUP retries that page with
export const TH_TRIES = 7; // faults taken on that page so far
export const TH_DONE = 8; // pages done before it
/** the thread's CPU's TLB entry (geometry `tlb`): the page of the last store it made through a writable PTE, + 1; 0: none */
export const TH_TLB_VA = 9;
/** the frame that entry translates to (writable, dirty) */
export const TH_TLB_PFN = 10;
export const THREAD_WORDS = 11;
/** the end of a stopped operation's record (TH_OP .. TH_DONE): what finishing it clears, the TLB entry stays */
export const TH_STOP_END = TH_TLB_VA;
/** no operation stopped */
export const THOP_NONE = 0;
/** a /proc/PID/mem write (mem_rw), stopped in __get_user_pages between faultin_page() and the retried lookup */
export const THOP_MEM_WRITE = 1;
/**
 * a fork() stopped in copy_present_pte() at page TH_VA of VMA TH_I, for
 * child TH_N: TH_FOLL says where (FORK_STOP_SHARE: it decided to share the
 * page and has not write-protected the parent's PTE; FORK_STOP_COPY: it gave
 * the child a copy of the page, which may be pinned, and has not reached the
 * next). TH_DONE holds FORK_PASSED_STORE once another thread stored to a page
 * the fork had passed (the fork-snapshot property). It holds TH_MM's
 * mmap_lock for write, and the child does not run yet
 */
export const THOP_FORK = 2;
/** TH_FOLL of THOP_FORK: stopped between sharing a writable anon page and write-protecting the parent's PTE */
export const FORK_STOP_SHARE = 1;
/** TH_FOLL of THOP_FORK: stopped after copy_present_page() gave the child its copy, before the next page */
export const FORK_STOP_COPY = 2;
/** TH_DONE bit of THOP_FORK: a store reached a page the fork had already copied (the child does not get it) */
export const FORK_PASSED_STORE = 1;
/**
 * a user store waiting in handle_userfault() for its monitor (`write` with
 * stop: uffd): the fault dropped mmap_lock, so the thread holds no lock.
 * TH_MM is the task, TH_VA/TH_N the store's pages, TH_I the page held,
 * TH_FOLL the value it stores, TH_TRIES the step that started it, TH_DONE
 * its wake bit (UF_WOKEN) and the faults it has taken so far (above it)
 */
export const THOP_USER_FAULT = 3;
/**
 * an O_DIRECT transfer of one page whose GUP fault waits in
 * handle_userfault() (`odirect-read`/`odirect-write` with stop: uffd): no
 * page taken yet, no lock held. TH_MM the task, TH_VA the page (TH_I 0),
 * TH_N the file, TH_FOLL its page index, TH_TRIES 1 for a read, TH_DONE as
 * for THOP_USER_FAULT
 */
export const THOP_DIO_FAULT = 4;
/**
 * a GUP-fast (`pin`/`get` with fast: true, stop: gup-fast) that read its
 * PTE with interrupts off and has not grabbed the page yet: TH_MM the task,
 * TH_VA the page, TH_N the handle, TH_FOLL its FOLL_* flags, TH_TRIES the
 * PTE it read, TH_DONE the PMD over it. It holds no lock
 */
export const THOP_GUP_FAST = 5;
/**
 * a khugepaged collapse (`khugepaged` with stop: collapse) after
 * pmdp_collapse_flush() cleared the PMD and __collapse_huge_page_isolate()
 * checked the pages, before the copy: TH_MM the task, TH_VA the PMD range,
 * TH_N the new folio, TH_I the VMA. It holds the mmap_lock for write (the
 * PMD is none meanwhile; the detached page table keeps its PTEs)
 */
export const THOP_COLLAPSE = 6;
/**
 * UFFDIO_WRITEPROTECT (`uffd-wp`/`uffd-unwp` with stop: deferred-flush)
 * after change_protection() rewrote the PTEs of its first VMA, before the
 * flush_tlb_range() that ends it: mm_tlb_flush_pending() is true, other
 * CPUs may still hold writable TLB entries of PTEs it write-protected. TH_MM
 * the task, TH_VA/TH_N the pages to flush, TH_I 1 to protect (0 to
 * unprotect), TH_FOLL the first page of the range left to do, TH_TRIES its
 * end. It holds mmap_lock for read
 */
export const THOP_DEFERRED_FLUSH = 7;
/**
 * a write fault in wp_page_copy() that copied the old page to a new one
 * and has not retaken the PTE lock (`write` of one page with stop:
 * cow-copy): TH_MM the task, TH_VA the page, TH_N the new page, TH_I the
 * PTE the fault read (the old page holds do_wp_page()'s reference),
 * TH_FOLL the value the store writes, TH_TRIES the step that started it,
 * TH_DONE the faults taken so far. It holds mmap_lock for read
 */
export const THOP_COW_COPY = 8;
/**
 * a fault that read its page from a SWP_SYNCHRONOUS_IO swap device into a
 * new page, skipping the swap cache (swap count 1), and has not retaken the
 * PTE lock (`read`/`write` of one page with stop: swapin): TH_MM the task,
 * TH_VA the page, TH_N the new page, TH_I the swap PTE it read, TH_FOLL the
 * value a store writes, TH_TRIES the step that started it, TH_DONE bit 0 a
 * store, bit 1 it holds the entry's SWAP_HAS_CACHE (swapcache_prepare(),
 * 13ddaf26be32), the faults taken before it from bit 2. It holds mmap_lock
 * for read
 */
export const THOP_SWAPIN = 9;
/**
 * MADV_DONTNEED of one page (`madvise` with stop: zap-flush) after
 * zap_pte_range() cleared the PTE of page TH_VA of task TH_MM, before
 * tlb_finish_mmu() flushes the CPUs' TLBs and frees what it gathered: TH_N
 * the page it holds (0: none), TH_I 1 if that page is anon (its swap cache
 * goes with it). It holds mmap_lock for read
 */
export const THOP_ZAP_FLUSH = 10;
/** TH_DONE bit of THOP_USER_FAULT and THOP_DIO_FAULT: a UFFDIO_WRITEPROTECT(mode 0) over the held page woke the thread */
export const UF_WOKEN = 1;

/* ---- global header ---- */
export const G_LRU_N = 0; // folios in the per-CPU LRU add batch
export const G_SEQ = 1; // allocations so far (PG_GEN of the next page)
export const G_ACT_N = 2; // folios in the per-CPU activate batch (cpu_fbatches.lru_activate)
export const G_PFN_HWM = 3; // highest PFN ever allocated (the allocator takes the lowest free one)
export const G_KSM_SEQ = 4; // mms registered with ksmd so far (the order of T_KSM)
export const G_HP_NR = 5; // hugetlb pool of the PMD size: nr_hugepages
export const G_HP_FREE = 6; // free_hugepages
export const G_HP_RESV = 7; // resv_hugepages
export const G_HP_FILES = 8; // hugetlbfs files MAP_HUGETLB created so far (the identity of an anonymous hugetlb mapping)
export const G_HP_SURPLUS = 9; // surplus_hugepages (in nr_hugepages, freed to the buddy allocator when released)
export const G_HP_OVERCOMMIT = 10; // nr_overcommit_hugepages: the most surplus pages the pool may have
/* the hugetlb pool of the PUD size (1 GiB, a gigantic hstate): the same counters */
export const G_GP_NR = 11;
export const G_GP_FREE = 12;
export const G_GP_RESV = 13;
export const G_GP_SURPLUS = 14;
export const G_GP_OVERCOMMIT = 15;
/** no order-0 frame below it is free (0: none known): where frame_take starts looking; speed only, not behaviour */
export const G_FREE_HINT = 16;
/** 1 after swapoff(): the swap area is gone, reclaim finds no swap slot (0: swap on, as the executor sets it up) */
export const G_SWAP_OFF = 17;
/** user_struct->locked_vm of the unprivileged user (nobody): pages io_uring charged to it (io_account_mem) */
export const G_USER_LOCKED = 18;
export const G_HDR = 19;

/* ---- ksmd's rmap items (one per task and virtual page, when the geometry has KSM) ---- */
export const K_CHECKSUM = 0; // oldchecksum: the content key of the last visit (shifted off 0), 0 never visited
export const K_FLAGS = 1; // KI_* bits
export const KSM_WORDS = 2;
/** the item is in the stable tree (counted in pages_shared / pages_sharing and ksm_merging_pages) */
export const KI_STABLE = 1 << 0;

/** Offsets of every table in the packed array, derived from a geometry. */
export interface Layout {
  readonly geo: Geometry;
  /** words of the vis bitset per task */
  readonly visWords: number;
  readonly lru: number; // lruBatch words of PFNs
  readonly act: number; // lruBatch words of PFNs: the activate batch
  readonly memmap: number;
  readonly tasks: number;
  readonly taskWords: number;
  /** offset of the vis bitset inside a task record */
  readonly tVis: number;
  /** offset of the VMA array inside a task record */
  readonly tVma: number;
  /** offset of the page table inside a task record */
  readonly tPte: number;
  /** offset of the PMD entries inside a task record (one per 1 << pmdOrder pages; none when pmdOrder is 0) */
  readonly tPmd: number;
  /** PMD entries per task */
  readonly pmds: number;
  /** offset of the PUD entries inside a task record (one per 1 << pudOrder pages; none without 1 GiB hugetlb pages) */
  readonly tPud: number;
  /** PUD entries per task */
  readonly puds: number;
  /** offset of ksmd's rmap items inside a task record (KSM_WORDS per virtual page; none without KSM) */
  readonly tKsm: number;
  readonly files: number;
  readonly fileWords: number;
  readonly swap: number;
  readonly pipes: number;
  readonly pipeWords: number;
  readonly refs: number;
  readonly writes: number;
  /** thread records (THREAD_WORDS each) */
  readonly threads: number;
  readonly size: number;
}

/** Computes the offsets of a geometry's tables. */
export function makeLayout(geo: Geometry): Layout {
  const visWords = Math.max(1, Math.ceil(geo.writes / 32));
  let off = G_HDR;
  const lru = off;
  off += geo.lruBatch;
  const act = off;
  off += geo.lruBatch;
  const memmap = off;
  off += geo.frames * PAGE_WORDS;
  const tVis = T_HDR;
  const tVma = tVis + visWords;
  const tPte = tVma + geo.vmas * VMA_WORDS;
  const tPmd = tPte + geo.vpages;
  const pmds = geo.pmdOrder > 0 ? Math.ceil(geo.vpages / (1 << geo.pmdOrder)) : 0;
  const tPud = tPmd + pmds;
  const puds = geo.pudOrder ? Math.ceil(geo.vpages / (1 << geo.pudOrder)) : 0;
  const tKsm = tPud + puds;
  const taskWords = tKsm + (geo.ksm ? geo.vpages * KSM_WORDS : 0);
  const tasks = off;
  off += geo.tasks * taskWords;
  const fileWords = F_HDR + geo.filePages;
  const files = off;
  off += geo.files * fileWords;
  const swap = off;
  off += geo.swapSlots * SWAP_WORDS;
  const pipeWords = P_HDR + geo.pipeBufs * PIPEBUF_WORDS;
  const pipes = off;
  off += geo.pipes * pipeWords;
  const refs = off;
  off += geo.refs * REF_WORDS;
  const writes = off;
  off += geo.writes * WRITE_WORDS;
  const threads = off;
  off += (geo.threads ?? 0) * THREAD_WORDS;
  return {
    geo,
    visWords,
    lru,
    act,
    memmap,
    tasks,
    taskWords,
    tVis,
    tVma,
    tPte,
    tPmd,
    pmds,
    tPud,
    puds,
    tKsm,
    files,
    fileWords,
    swap,
    pipes,
    pipeWords,
    refs,
    writes,
    threads,
    size: off,
  };
}

/**
 * One state of the modelled kernel. `m` is the whole state; `L` only says
 * where things are and is shared between clones.
 */
export class KState {
  /** records the words steps read and store (partial-order reduction), null when nothing records */
  rec: Recorder | null = null;
  /** notes the words steps store (the explorer's successor fingerprints), null when nothing notes them */
  log: StoreLog | null = null;

  constructor(
    readonly L: Layout,
    readonly m: Int32Array,
  ) {}

  /** A new, empty state for a layout (no tasks, only the zero page). */
  static empty(L: Layout): KState {
    const m = spare?.length === L.size ? spare : null;
    if (m) {
      spare = null;
      m.fill(0);
    }
    const s = new KState(L, m ?? new Int32Array(L.size));
    initState(s);
    return s;
  }

  /**
   * Gives this state's memory to the next empty state of the same size. The
   * caller holds no reference to this state any more: a fresh buffer of a
   * 1 GiB scenario's tens of megabytes costs the process page faults on every
   * first touch, several times the cost of clearing one (the matrix runs the
   * same scenario on every profile).
   */
  recycle(): void {
    if (this.m.length >= RECYCLE_MIN_WORDS) spare = this.m;
  }

  /** An independent copy. */
  clone(): KState {
    return new KState(this.L, this.m.slice());
  }
}

/**
 * The words of a state one step read and stored: its footprint, which the
 * explorer's sleep sets compare (src/explore/sleep.ts). The model reaches
 * the state only through ld(), st(), fill_words() and move_words(), so
 * nothing it does escapes the record.
 */
export class Recorder {
  /** words read, in first-read order */
  readonly reads: number[] = [];
  /** words stored, in first-store order */
  readonly stores: number[] = [];
  /** false while reads are not part of the footprint (the explorer's write-record collection) */
  reading = true;
  private readonly readSet: StampSet;
  private readonly storeSet: StampSet;

  constructor(words: number) {
    this.readSet = new StampSet(words);
    this.storeSet = new StampSet(words);
  }

  /** Starts a new footprint. */
  reset(): void {
    this.reads.length = 0;
    this.stores.length = 0;
    this.reading = true;
    this.readSet.clear();
    this.storeSet.clear();
  }

  read(i: number): void {
    if (this.reading && this.readSet.add(i)) this.reads.push(i);
  }

  store(i: number): void {
    if (this.storeSet.add(i)) this.stores.push(i);
  }
}

/**
 * The words one step stored, each once, with none of a Recorder's reads:
 * cheap enough to keep on every step. The explorer compares a successor
 * with its parent, and decides whether to collect write records, through
 * it (src/explore/expand.ts).
 */
export class StoreLog {
  /** the words stored, in first-store order ([0, n)) */
  readonly idx: Int32Array;
  n = 0;
  private readonly storeSet: StampSet;

  constructor(words: number) {
    this.idx = new Int32Array(words);
    this.storeSet = new StampSet(words);
  }

  /** Starts a new step. */
  reset(): void {
    this.n = 0;
    this.storeSet.clear();
  }

  note(i: number): void {
    if (this.storeSet.add(i)) this.idx[this.n++] = i;
  }
}

/** A set of word numbers cleared in constant time: a word is in it when its mark is the current stamp. */
class StampSet {
  private readonly mark: Int32Array;
  private stamp = 1;

  constructor(words: number) {
    this.mark = new Int32Array(words);
  }

  clear(): void {
    if (++this.stamp === 0x7fffffff) {
      this.stamp = 1;
      this.mark.fill(0);
    }
  }

  /** Adds word i; returns whether it was not in the set. */
  add(i: number): boolean {
    if (this.mark[i] === this.stamp) return false;
    this.mark[i] = this.stamp;
    return true;
  }
}

/** Reads word i of a state (every read of the model goes through here or a helper below). */
export function ld(s: KState, i: number): number {
  const r = s.rec;
  if (r !== null) r.read(i);
  return s.m[i]!;
}

/** Stores v in word i of a state; returns v. */
export function st(s: KState, i: number, v: number): number {
  const r = s.rec;
  if (r !== null) r.store(i);
  const d = s.log;
  if (d !== null) d.note(i);
  return (s.m[i] = v);
}

/** Stores v in words [from, to) (Int32Array.fill). */
export function fill_words(s: KState, v: number, from: number, to: number): void {
  const r = s.rec;
  if (r !== null) for (let i = from; i < to; i++) r.store(i);
  const d = s.log;
  if (d !== null) for (let i = from; i < to; i++) d.note(i);
  s.m.fill(v, from, to);
}

/** Moves words [from, end) to `to` (Int32Array.copyWithin). */
export function move_words(s: KState, to: number, from: number, end: number): void {
  const r = s.rec;
  if (r !== null) {
    for (let i = from; i < end; i++) r.read(i);
    for (let i = to; i < to + end - from; i++) r.store(i);
  }
  const d = s.log;
  if (d !== null) for (let i = to; i < to + end - from; i++) d.note(i);
  s.m.copyWithin(to, from, end);
}

/** The buffer of the last recycled state, and the size from which a state is worth recycling. */
let spare: Int32Array | null = null;
const RECYCLE_MIN_WORDS = 1 << 20;

/** PFN of the shared zero page. PFN 0 is never a page. */
export const ZERO_PFN = 1;

function initState(s: KState): void {
  const { L, m } = s;
  // The shared zero page exists from boot; its refcount is never touched
  // by mappings (vm_normal_page() returns NULL for it).
  const z = L.memmap + ZERO_PFN * PAGE_WORDS;
  m[z + PG_FLAGS] = PGF_ALLOC | PGF_ZERO | PGF_RESERVED;
  m[z + PG_REF] = 1;
  for (let i = 0; i < L.geo.swapSlots; i++) m[L.swap + i * SWAP_WORDS + S_DATA] = -1;
  for (let t = 0; t < L.geo.tasks; t++) m[L.tasks + t * L.taskWords + T_PARENT] = -1;
  // write id 0: the zero-filled content every new page starts with
  m[L.writes + W_FLAGS] = WR_USED | WR_SHARED | WR_ZERO;
  m[L.writes + W_WRITER] = -1;
  m[L.writes + W_STEP] = -1;
  m[L.writes + W_SRC] = -1;
  m[L.writes + W_BASE] = -1;
  m[L.writes + W_FROM] = -1;
  for (let w = 1; w < L.geo.writes; w++) {
    m[L.writes + w * WRITE_WORDS + W_WRITER] = -1;
    m[L.writes + w * WRITE_WORDS + W_STEP] = -1;
    m[L.writes + w * WRITE_WORDS + W_SRC] = -1;
    m[L.writes + w * WRITE_WORDS + W_BASE] = -1;
    m[L.writes + w * WRITE_WORDS + W_FROM] = -1;
  }
}

/* ---- page flags (our bit assignment, kernel names) ---- */
export const PGF_ALLOC = 1 << 0; // allocated (refcount > 0)
export const PGF_ANON = 1 << 1; // PageAnon
export const PGF_ANON_EXCLUSIVE = 1 << 2; // PG_anon_exclusive
export const PGF_SWAPCACHE = 1 << 3; // PG_swapcache
export const PGF_LRU = 1 << 4; // PG_lru
export const PGF_LOCKED = 1 << 5; // PG_locked (held by someone else: trylock fails)
export const PGF_KSM = 1 << 6; // KSM page
export const PGF_DIRTY = 1 << 7; // PG_dirty
export const PGF_ZERO = 1 << 8; // the shared zero page
export const PGF_RESERVED = 1 << 9; // PG_reserved
export const PGF_SWAPBACKED = 1 << 10; // PG_swapbacked (anon and shmem)
export const PGF_UPTODATE = 1 << 11;
export const PGF_REFERENCED = 1 << 12; // PG_referenced
export const PGF_ACTIVE = 1 << 13; // PG_active
export const PGF_HEAD = 1 << 14; // PG_head: the first page of a large folio
export const PGF_MMIDS_SHARED = 1 << 15; // FOLIO_MM_IDS_SHARED_BIT (6.15+): maybe mapped by more than one mm
export const PGF_PARTIALLY_MAPPED = 1 << 16; // on the deferred split queue (PG_partially_mapped, 6.12)
export const PGF_HUGETLB = 1 << 17;
export const PGF_RESTORE_RESERVE = 1 << 18; // HPG_restore_reserve: freeing the hugetlb folio gives resv_hugepages one back // a hugetlb folio (folio_test_hugetlb): from the hugetlb pool, never split, swapped or on the LRU
export const PGF_KSM_STABLE = 1 << 19; // page_stable_node() set: a KSM page in the stable tree (PGF_KSM alone: made KSM in place, node NULL)
/** flags kept per page; every other flag is the folio's, kept on its head */
export const PGF_PER_PAGE = PGF_ALLOC | PGF_ANON_EXCLUSIVE | PGF_HEAD;

/* ---- task states ---- */
export const TASK_FREE = 0;
export const TASK_ALIVE = 1;
/** exited and reaped: the slot is never used again (process ids are not reused) */
export const TASK_DEAD = 2;

/* ---- mm flags ---- */
export const MMF_HAS_PINNED = 1 << 0;

/* ---- userfaultfd context bits (per task) ---- */
export const UFFD_CTX_OPEN = 1 << 0;
export const UFFD_FEATURE_WP_UNPOPULATED = 1 << 1;
export const UFFD_FEATURE_EVENT_FORK = 1 << 2;
export const UFFD_FEATURE_WP_ASYNC = 1 << 3;
/** the fd exists but UFFDIO_API failed: every other ioctl gives -EINVAL */
export const UFFD_CTX_NOAPI = 1 << 4;
/** opened with UFFD_USER_MODE_ONLY: faults the kernel takes on the process's behalf (GUP) are not handled */
export const UFFD_CTX_USER_MODE_ONLY = 1 << 5;

/* ---- file flags ---- */
export const FF_OPEN = 1 << 0;
export const FF_MEMFD = 1 << 1;
export const FF_TMPFILE = 1 << 2;
export const FF_SHMEM_ANON = 1 << 3; // the object behind MAP_SHARED|MAP_ANONYMOUS
export const FF_HUGETLB = 1 << 4; // a hugetlbfs file (MFD_HUGETLB memfd): its page cache holds hugetlb folios
export const FF_HUGETLB_PUD = 1 << 5; // with FF_HUGETLB: of the 1 GiB hstate (MFD_HUGE_1GB)
export const FF_SHMEM = FF_MEMFD | FF_SHMEM_ANON; // shmem-backed (swap-backed page cache)

/* ---- reference kinds ---- */
export const REF_FREE = 0;
/** get_user_pages() reference (FOLL_GET) held by a GUP handle */
export const REF_GUP_GET = 1;
/** pin_user_pages() pin (FOLL_PIN) held by a GUP handle */
export const REF_GUP_PIN = 2;
/** io_uring fixed buffer (FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM) */
export const REF_IOURING = 3;
/** O_DIRECT in flight (FOLL_PIN on 6.18; FOLL_GET before the block conversion) */
export const REF_ODIRECT = 4;
/** an injected transient reference (speculative page-cache lookup, GUP-fast in progress, ...) */
export const REF_TRANSIENT = 5;

/* ---- reference state bits ---- */
/** the owner itself unmapped or replaced the range: pin coherence no longer expected */
export const REFST_DETACHED = 1 << 0;
/** an O_DIRECT read (device writes memory) rather than a write */
export const REFST_DMA_TO_MEMORY = 1 << 1;
/** taken on a MAP_SHARED mapping: device writes through it are writes to the shared object */
export const REFST_SHARED = 1 << 2;
/** an injected transient reference that stands for another CPU's LRU batch (the page is off PG_lru) */
export const REFST_LRU_BATCH = 1 << 3;
/** an O_DIRECT transfer whose buffer starts this many 512-byte sectors into its first page (bits 8-10) */
export const REFST_SECTORS_SHIFT = 8;
export const REFST_SECTORS_MASK = 7 << REFST_SECTORS_SHIFT;

/* ---- write record flags ---- */
export const WR_USED = 1 << 0;
/** written to a shared object (file, MAP_SHARED): visible to everyone by design */
export const WR_SHARED = 1 << 1;
/** the zero-filled content */
export const WR_ZERO = 1 << 2;
/** written by a device through a pin or DMA reference (attributed to its owner) */
export const WR_DEVICE = 1 << 3;
/** initial content of a file page */
export const WR_FILE_INIT = 1 << 4;
