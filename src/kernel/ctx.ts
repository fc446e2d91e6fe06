/**
 * What a kernel path needs besides the state: the profile it runs under, and
 * sinks for what it did (the functions taken, faults, content observations,
 * copy metrics). A step fills a fresh (or reset) context; nothing here is state.
 */
import type { Profile } from '../profiles/types.js';
import { DEFAULT_ENV, withEnv, type Env } from '../profiles/env.js';
import type { DeferredWriteprotect } from './mm/userfaultfd.js';

/** One observation of page content, checked by the no-leak property. */
export interface ReadObs {
  /** how the content was read */
  via: 'mem' | 'pipe' | 'pin' | 'iouring' | 'odirect' | 'process_vm_readv' | 'proc_mem';
  /** the task whose view the content must belong to (the reader, or who took the reference) */
  observer: number;
  /** the task that performed the read (differs from observer for pipes and remote reads) */
  reader: number;
  /** address (virtual page) in the observer's mm the data came from */
  vpage: number;
  /** the frame read (the first of a run) */
  pfn: number;
  /** the write id read */
  wid: number;
  /** pages read, from `vpage` on, all holding `wid` (1 when absent): one record for a run through a huge leaf */
  n?: number;
}

/** Copy accounting, the thread's "needless COW" argument made countable. */
export interface Metrics {
  /** anonymous pages copied in a write or unshare fault (wp_page_copy) */
  copies: number;
  /** of those, copies of a page nobody else could observe (no other mapping, no GUP/pipe reference) */
  needless: number;
  /** pages copied for the child at fork (copy_present_page) */
  forkCopies: number;
  /** pages reused in a write fault (wp_page_reuse on an anon page), and THPs reused by do_huge_pmd_wp_page */
  reuses: number;
  /** huge PMDs split into PTEs (vmstat thp_split_pmd) */
  pmdSplits: number;
  /** large folios split into small ones (vmstat thp_split_page and the mTHP split counters) */
  folioSplits: number;
  /** PMD ranges collapsed into a new THP (vmstat thp_collapse_alloc) */
  collapses: number;
}

export function newMetrics(): Metrics {
  return { copies: 0, needless: 0, forkCopies: 0, reuses: 0, pmdSplits: 0, folioSplits: 0, collapses: 0 };
}

/** A kernel function taken, with a short note on the decision made there. */
export interface PathEvent {
  fn: string;
  note: string;
}

export interface KCtx {
  readonly prof: Profile;
  /** the machine the kernel runs on */
  readonly env: Readonly<Env>;
  /** kernel functions taken during the step, or null when not traced (the explorer) */
  log: PathEvent[] | null;
  /** page faults counted to the acting task (min_flt + maj_flt) during the step */
  faults: number;
  /** major faults (swap-in read from the device) among them */
  majfaults: number;
  /** content observations of the step */
  reads: ReadObs[];
  /** user-visible data returned by reads, in order (write ids), for expectations */
  metrics: Metrics;
  /** scenario step number recorded in new write records (-1 in the explorer) */
  step: number;
  /** a fresh write id for every write (scenarios) rather than one per task epoch (explorer) */
  freshWrites: boolean;
  /** uffd-wp faults delivered to the userfaultfd handler during the step */
  uffdFaults: number;
  /** the messages those faults queued (userfault_msg()): the faulting page and whether the fault was a write */
  uffdMsgs: UffdMsg[];
  /** model bugs detected inside kernel paths (capacity exhausted, impossible states) */
  bugs: string[];
  /**
   * GUP holders per page, counted once per GUP call (John Hubbard's split asks for each page it grabs):
   * while GUP walks a range nothing adds or drops a pin, a get or a pipe buffer, so one count serves
   * the whole walk (a 1 GiB page is 262144 grabs). Null outside a walk or before the first question.
   */
  gupHolders?: { pins: Map<number, number>; gets: Map<number, number> } | null;
  /** inside a GUP walk (get_user_pages_fast() or __get_user_pages()) */
  inGup?: boolean;
  /** the acting thread's slot in the thread records (src/model/threads.ts), or -1 when the state keeps none */
  thread: number;
  /** the step stopped the acting thread's operation in a window (it goes on with `resume`) */
  stopped: boolean;
  /** the monitor holds the step's next user-mode uffd fault instead of resolving it (`write` with stop: uffd) */
  uffdHold?: boolean;
  /** the page whose user fault the monitor holds (handle_userfault() waits), once it did */
  uffdHeld?: number;
  /** GUP-fast stops after reading its (one) PTE, before grabbing the page (`stop: gup-fast`) */
  fastStop?: boolean;
  /** what a GUP-fast that stopped read: its page, the PTE and the PMD over it */
  fastRead?: { va: number; pte: number; pmd: number };
  /** a khugepaged collapse that stopped after its isolate: the PMD range, the new folio, the VMA */
  collapseStop?: { h: number; nw: number; vi: number };
  /** UFFDIO_WRITEPROTECT stops before its TLB flush (`stop: deferred-flush`) */
  flushHold?: boolean;
  /** the PTEs it changed without flushing, once it stopped */
  deferredFlush?: DeferredWriteprotect;
  /** a MADV_DONTNEED stopped before tlb_finish_mmu() (`stop: zap-flush`): the range, the page it gathered (0: none), anon or not */
  zapHeld?: { mm: number; start: number; end: number; pfn: number; anon: boolean };
  /** a MADV_DONTNEED that returned: the range no CPU may translate any more (the no-stale-tlb property) */
  zapDone?: { mm: number; start: number; end: number };
  /** wp_page_copy() stops after its copy, before it retakes the PTE lock (`write` with stop: cow-copy) */
  cowHold?: boolean;
  /** the copy that stopped: the new page and the PTE the fault read */
  cowHeld?: { nw: number; orig: number };
  /** pages a COW replaced under a mapping whose old page changed after the copy: the no-lost-write property */
  lost: LostWrite[];
  /** stores during a fork that make the child's copy of memory no snapshot of the parent's: the fork-snapshot property */
  torn: TornFork[];
  /** translations a CPU still holds of a range whose MADV_DONTNEED returned: the no-stale-tlb property */
  staleTlb: StaleTlb[];
  /** do_swap_page() stops after reading a page past the swap cache, before the PTE lock (`stop: swapin`) */
  swapinHold?: boolean;
  /** the read that stopped: the new page, the swap PTE the fault read, the entry's SWAP_HAS_CACHE taken */
  swapinHeld?: { pfn: number; orig: number; prepared: boolean };
}

/** A page replaced by its copy (wp_page_copy()) while the old page holds a newer write than the copy took. */
export interface LostWrite {
  /** the task whose mapping changed, and the page */
  t: number;
  vpage: number;
  /** the old frame and the write it holds now; the write the copy mapped instead */
  pfn: number;
  wid: number;
  copied: number;
  /** a swap-in that mapped a page read before its swap slot was freed and reused (pfn: the stale page; wid: what the slot holds now) */
  swapin?: boolean;
}

/**
 * A store by another thread of a forking process to a page the fork has not
 * reached (the child gets it), after a store to a page the fork had already
 * copied (the child does not get that one): no instant of the parent's memory
 * is what the child gets.
 */
export interface TornFork {
  /** the forking task, its child, the page stored to now, and the write */
  t: number;
  child: number;
  vpage: number;
  wid: number;
}

/** A CPU's translation of a page that a MADV_DONTNEED which returned should have flushed. */
export interface StaleTlb {
  /** the task, the thread slot whose CPU holds it, the page and the frame it still reaches */
  t: number;
  th: number;
  vpage: number;
  pfn: number;
}

/** A uffd fault message as the monitor reads it: UFFD_PAGEFAULT_FLAG_WP always, UFFD_PAGEFAULT_FLAG_WRITE for a write. */
export interface UffdMsg {
  va: number;
  write: boolean;
}

/** UFFD_PAGEFAULT_FLAG_* of include/uapi/linux/userfaultfd.h */
export const UFFD_PAGEFAULT_FLAG_WRITE = 1;
export const UFFD_PAGEFAULT_FLAG_WP = 2;
export const UFFD_PAGEFAULT_FLAG_MINOR = 4;

/** Model messages as the monitor reads them: the page and the UFFD_PAGEFAULT_FLAG_* bits. */
export function uffdMsgFields(msgs: readonly UffdMsg[]): { vpage: number; flags: number }[] {
  return msgs.map((m) => ({ vpage: m.va, flags: UFFD_PAGEFAULT_FLAG_WP | (m.write ? UFFD_PAGEFAULT_FLAG_WRITE : 0) }));
}

/** A fresh context for one step of a kernel with profile `prof`. */
export function newCtx(prof: Profile, opts: CtxOptions = {}): KCtx {
  // every field is there from the start, the optional ones undefined: all contexts share one hidden
  // class, so the kernel paths' accesses to them stay monomorphic
  // (typed so that a field added to KCtx and not here does not compile)
  const ctx: { [K in keyof Required<KCtx>]: KCtx[K] } = {
    prof,
    env: DEFAULT_ENV,
    log: null,
    faults: 0,
    majfaults: 0,
    reads: [],
    metrics: ZERO_METRICS,
    step: -1,
    freshWrites: true,
    uffdFaults: 0,
    uffdMsgs: [],
    bugs: [],
    gupHolders: undefined,
    inGup: undefined,
    thread: -1,
    stopped: false,
    uffdHold: undefined,
    uffdHeld: undefined,
    fastStop: undefined,
    fastRead: undefined,
    collapseStop: undefined,
    flushHold: undefined,
    deferredFlush: undefined,
    zapHeld: undefined,
    zapDone: undefined,
    cowHold: undefined,
    cowHeld: undefined,
    lost: [],
    torn: [],
    staleTlb: [],
    swapinHold: undefined,
    swapinHeld: undefined,
  };
  return resetCtx(ctx, prof, opts);
}

/** What a context is made for: tracing, the scenario step, write ids, where copy metrics go, the machine, the acting thread. */
export interface CtxOptions {
  trace?: boolean;
  step?: number;
  freshWrites?: boolean;
  metrics?: Metrics;
  env?: Readonly<Env>;
  thread?: number;
}

/**
 * Makes `ctx` (one newCtx() made) the context newCtx(prof, opts) makes, in
 * place: its sinks emptied, every decision of the last step forgotten. For
 * a driver that steps millions of times and reads each step's effects
 * before the next (the explorer), so that a step allocates no context.
 * Without `opts.metrics`, the step counts into `own` (zeroed), or new ones.
 */
export function resetCtx(
  ctx: KCtx,
  prof: Profile,
  opts: CtxOptions = {},
  env: Readonly<Env> = opts.env ?? profileEnv(prof),
  own?: Metrics,
): KCtx {
  const c = ctx as { -readonly [K in keyof KCtx]: KCtx[K] };
  c.prof = prof;
  c.env = env;
  c.log = opts.trace ? [] : null;
  c.faults = c.majfaults = c.uffdFaults = 0;
  // (a sink the last step used is replaced, not truncated: setting an array's length is a slow path)
  if (c.reads.length) c.reads = [];
  if (c.uffdMsgs.length) c.uffdMsgs = [];
  if (c.bugs.length) c.bugs = [];
  if (c.lost.length) c.lost = [];
  if (c.torn.length) c.torn = [];
  if (c.staleTlb.length) c.staleTlb = [];
  c.metrics = opts.metrics ?? (own ? zeroMetrics(own) : newMetrics());
  c.step = opts.step ?? -1;
  c.freshWrites = opts.freshWrites ?? true;
  c.thread = opts.thread ?? -1;
  c.stopped = false;
  c.gupHolders = c.inGup = c.uffdHold = c.uffdHeld = c.fastStop = c.fastRead = c.collapseStop = undefined;
  c.flushHold = c.deferredFlush = c.zapHeld = c.zapDone = c.cowHold = c.cowHeld = c.swapinHold = c.swapinHeld = undefined;
  return ctx;
}

/** A blank context's metrics, until resetCtx() gives it its own. */
const ZERO_METRICS: Metrics = Object.freeze(newMetrics());

function zeroMetrics(m: Metrics): Metrics {
  m.copies = m.needless = m.forkCopies = m.reuses = m.pmdSplits = m.folioSplits = m.collapses = 0;
  return m;
}

/** The environment a profile runs in unless told otherwise: the default machine, or the one its kernel is checked on. */
export function profileEnv(prof: Profile): Env {
  return withEnv(DEFAULT_ENV, prof.env);
}

/** Records a kernel function taken (no-op when not tracing). */
export function trace(ctx: KCtx, fn: string, note = ''): void {
  if (ctx.log) ctx.log.push({ fn, note });
}

export { ModelBug } from '../model/bug.js';
