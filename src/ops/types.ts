/**
 * What defines a scenario operation, once: its arguments (a zod schema that
 * the types are inferred from), its documentation, how it resolves from a
 * scenario's names to model ids and prints back, the kernel path it runs,
 * its encoding for the C executor (or why it is model-only), what a profile
 * must have for it, and how the fuzzer and the explorer draw it. Every layer
 * (parser, resolver, step, fuzzer, explorer, executor, emit-c, docs)
 * derives from these definitions; ./index.ts lists them.
 *
 * The shape follows fast-check's ICommand (check, run and toString in one
 * object) and vitest's option table (one declaration drives parsing, help
 * and validation).
 */
import type { z } from 'zod';
import type { KState } from '../model/layout.js';
import type { KCtx } from '../kernel/ctx.js';
import type { Profile } from '../profiles/types.js';
import type { Env } from '../profiles/env.js';
import type { RegionRef } from '../scenario/types.js';
import type { Signal } from '../kernel/arch/x86/mm/fault.js';

/** What one operation did. */
export interface StepResult {
  /** return value: >= 0 on success, a negative errno on failure */
  ret: number;
  /** signal delivered to the acting task by a memory access, if any */
  signal: Signal | null;
  /** data returned to the caller, in order: one write id per page read */
  data: number[];
  /** pages the access got to before a signal */
  done: number;
}

/** A successful (or failed, ret < 0) step with no data. */
export function ok(ret = 0, data: number[] = []): StepResult {
  return { ret, signal: null, data, done: 0 };
}

/** A page range in model addresses: virtual pages [start, start + pages). */
export interface Range {
  start: number;
  pages: number;
}

/** Executor capabilities a scenario may need on the real kernel. */
export const CAPABILITIES = [
  'root',
  'swap',
  'swapoff',
  'io_uring',
  'uffd',
  'odirect',
  'gup-test',
  'soft-dirty',
  'ksm',
  'hugetlb',
  'hugetlb-1g',
  'model-only',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** Names to model ids while a scenario is resolved; every failure is positioned at the step. */
export interface ResolveCx {
  /** the acting process's name */
  readonly proc: string;
  /** a page range of a region; fails if the region is never mapped or the range lies outside it */
  range(ref: RegionRef): Range;
  /** the first page and size of a region that an mmap declares */
  region(name: string): Range;
  /** an existing process by name (`what` names the role in messages) */
  task(name: string, what?: string): number;
  /** a new process created by this step (fork): its id */
  newTask(name: string, what?: string): number;
  /** the acting process ends with this step */
  endTask(): void;
  /** a new thread of the acting process, created by this step: its thread slot, and its number in the process (1, 2, ...) */
  newThread(name: string): { slot: number; index: number };
  /** the acting thread's operation stops in `window`: only `resume` may follow for it */
  stop(window: string): void;
  /** pages of a PMD range in this scenario's geometry (1 << pmd-order) */
  pmdPages(): number;
  /**
   * the acting thread goes on with its stopped operation (an earlier step
   * must have stopped it); `again`: it may stop once more. Returns the
   * window it was stopped in, or null when it may have ended already
   */
  resume(again: boolean): string | null;
  /** a declared file: id and size in pages */
  file(name: string): { id: number; pages: number; gigantic?: boolean };
  /** an existing pipe, or a new one created by this step */
  pipe(name: string): number;
  newPipe(name: string): number;
  /** a handle of the acting process: taken by this step (`create`) or an earlier one */
  handle(name: string, create: boolean): number;
  /** the acting process sets up its io_uring (one per process) */
  newRing(): void;
  /** the step needs this executor capability */
  need(c: Capability): void;
  fail(message: string): never;
}

/** Model ids back to a scenario's names. */
export interface PrintCx {
  task(t: number): string;
  /** `mem`, `mem[1]` or `mem[0:2]` */
  range(r: Range): string;
  region(start: number): string;
  /** the region starting here is placed PMD-aligned (`align: pmd`) */
  aligned(start: number): boolean;
  file(id: number): string;
  pipe(p: number): string;
  /** a handle of the acting process */
  handle(h: number): string;
}

/** How the C executor runs an operation: its arguments as numbers. */
export interface ExecEncoding<M> {
  /** names of the arguments, for the generated header and reproducers */
  readonly args: readonly string[];
  /** the numbers passed (at most 7); `step` is the 1-based step index (the data tag of writes) */
  encode(m: M, step: number): number[];
  /** why this instance cannot run on a real kernel (a model-only variant), or null */
  blocker?(m: M): string | null;
  /**
   * the step may stop its thread in handle_userfault() (stop: uffd): the
   * executor's monitor holds the step's first uffd fault, and the step's
   * thread is left waiting there until its `resume`
   */
  holds?(m: M): boolean;
}

/** A random command: an operation and three small choices (the fuzzer's alphabet). */
export interface FuzzCmd {
  op: string;
  a: number;
  b: number;
  c: number;
}

/** The random scenario being built, as the fuzzer's generators see it. */
export interface FuzzCx {
  readonly proc: string;
  readonly others: readonly string[];
  readonly region: {
    readonly name: string;
    readonly pages: number;
    readonly kind: 'anon' | 'shared' | 'memfd' | 'thp' | 'mthp' | 'hugetlb';
  };
  /** `region` or one of its pages */
  readonly at: string;
  readonly pipes: readonly string[];
  readonly swap: boolean;
  pick<T>(xs: readonly T[], i: number): T;
  /** a new process name, or null when no more may be created */
  newProc(): string | null;
  endProc(): boolean;
  newPipe(): string | null;
  handles(): readonly string[];
  newHandle(): string;
  /** the process's userfaultfd or io_uring exists (set by this step when `create`) */
  hasUffd(create: boolean): boolean;
  hasRing(create: boolean): boolean;
  mapRegion(): void;
  /** a swapoff may be drawn now: in an eighth of the scenarios with swap, once (it turns swap off for good) */
  swapoff(): boolean;
  /** the scenario has the large-folio regions (a PMD-sized THP area and an mTHP area) */
  readonly thp: boolean;
}

/** How the fuzzer draws an operation. */
export interface FuzzSpec {
  /** relative weight (default 1) */
  readonly weight?: number;
  /** the host can run it (false: needs gup_test, or injects model-only state) */
  readonly host: boolean;
  /** the operation acts on a region (skipped when the region is not mapped) */
  readonly onRegion: boolean;
  /** the step's arguments, or null when the command makes no sense here */
  gen(c: FuzzCmd, x: FuzzCx): Record<string, unknown> | string | null;
}

/** The bounded system an explorer family instantiates actions over. */
export interface ExploreCx {
  readonly processes: number;
  /** threads per process (1: no thread records, no operation stops in a window) */
  readonly threads: number;
  /** the machine explored on (tlbFlush decides whether GUP-fast has a window) */
  readonly env: Readonly<Env>;
  /** buffers a pipe may hold before vmsplice stops being explored */
  readonly pipeBuffers: number;
  /** the configuration's alphabet contains this family (and the profile has it) */
  has(family: string): boolean;
  proc(t: number): string;
  pipe(p: number): string;
  /** the handle name the explorer gives a GUP of kind `write` on (t, page) */
  handle(t: number, pg: ExplorePage, write: boolean): string;
  /** the model id of a handle name given by handle() */
  handleId(name: string): number;
  /** the thread slot of process t's thread j (0: its first thread) */
  slot(t: number, j: number): number;
  /**
   * the threads' TLB entries are kept (several threads and a UFFDIO_WRITEPROTECT in the alphabet, which
   * stops before its flush): which thread stores matters
   */
  readonly tlb: boolean;
  /** pages of a PMD range in the configuration's geometry (1 << pmd-order) */
  readonly pmdPages: number;
}

/** A page of an explorer configuration's regions. */
export interface ExplorePage {
  /** scenario reference: `mem` or `mem[1]` */
  readonly ref: string;
  /** model address */
  readonly va: number;
  readonly region: string;
  /** index within its region */
  readonly index: number;
  /** pages of its region */
  readonly regionPages: number;
}

/** One action an explorer family contributes: a process, its step's arguments and when it is enabled. */
export interface ActionSpec {
  t: number;
  /** the thread slot that acts (an operation that stops in a window, `resume`); else any thread of t not stopped */
  th?: number;
  /** scenario arguments of the step (may depend on the state: fork names the next free process) */
  args(s: KState): Record<string, unknown> | string;
  /** enabled in this state (cheap checks; an action whose call fails is dropped after applying it) */
  enabled(s: KState): boolean;
  /** the arguments depend on the state (fork names the next free process) */
  dynamic?: boolean;
}

/**
 * A family of explorer actions (an entry of a configuration's `ops:`
 * alphabet). Actions are instantiated per process, first every per-page
 * family over every page, then the per-process ones, in registry order.
 */
export interface ExploreFamily {
  readonly name: string;
  readonly doc: string;
  /** the profile lacks the family (it is left out of the alphabet, as scenarios using it are n/a) */
  lacks?(prof: Profile): boolean;
  /** only part of another family's actions (unpin comes with pin): not instantiated on its own */
  readonly companion?: boolean;
  /** not named in alphabets: present when any of these families is (pipe comes with vmsplice and read-pipe) */
  readonly impliedBy?: readonly string[];
  /**
   * order among families: breadth-first search tries actions in this order,
   * which decides which of several shortest counterexamples it reports
   */
  readonly rank: number;
  perPage?(t: number, pg: ExplorePage, x: ExploreCx): ActionSpec[];
  perProcess?(t: number, x: ExploreCx): ActionSpec[];
}

/**
 * One scenario operation. `S` is the shape of its arguments (the primary
 * value included); `M` is what it resolves to besides the acting task.
 */
export interface OpDef<N extends string = string, S extends z.ZodRawShape = z.ZodRawShape, M extends object = object> {
  readonly name: N;
  /** one line for docs/scenario-format.md: the call and the kernel path it runs */
  readonly doc: string;
  /** the argument the op key itself carries (`{write: mem}`), or null (`exit`) */
  readonly primary: (keyof S & string) | null;
  readonly args: S;
  /** executor capabilities every instance needs */
  readonly requires?: readonly Capability[];
  /**
   * its kernel path is modelled on hugetlb areas (src/kernel/mm/hugetlb.ts);
   * a step of any other operation on a hugetlb area is refused when the
   * scenario is resolved
   */
  readonly hugetlb?: boolean;
  /** from validated arguments to the model operation */
  resolve(a: z.output<z.ZodObject<S>>, cx: ResolveCx): M;
  /** from the model operation back to the step's arguments (op key first) */
  print(m: M, cx: PrintCx): Record<string, unknown> | string;
  /** the pages the step is about, for observations and page expectations */
  range?(m: M): Range | null;
  /**
   * most entries of the model's reference table the step can leave taken
   * (a pin, an O_DIRECT or io_uring buffer, a transient reference per page):
   * the table is sized from it when a scenario is resolved
   */
  refs?(m: M): number;
  /** the kernel path */
  apply(s: KState, ctx: KCtx, t: number, m: M): StepResult;
  /**
   * it takes the acting process's mmap_lock for write (or, for exit, tears
   * down its mm): it cannot run while another thread, stopped in a window,
   * holds that lock for read
   */
  mmapWrite?: boolean | ((m: M) => boolean);
  /**
   * it starts without mmap_lock (GUP-fast): it may run while a fork stopped
   * in a window holds the lock for write, up to where it would take it
   */
  lockless?: boolean | ((m: M) => boolean);
  /**
   * a user-mode load or store: the CPU needs no lock until it faults, so it
   * runs while a fork stopped in a window holds the mmap_lock for write, up
   * to its first fault (which waits: user_access() throws WouldBlock)
   */
  userAccess?: boolean;
  /** why a profile cannot run it (the feature does not exist in that kernel), or null */
  lacks?(prof: Profile, m: M): string | null;
  /** the C executor's encoding, or why the operation is model-only */
  readonly exec: ExecEncoding<M> | { readonly modelOnly: string | ((m: M) => string) };
  readonly fuzz?: FuzzSpec;
  readonly explore?: readonly ExploreFamily[];
}

/** Declares an operation (keeps its types tied together). */
export function defineOp<const N extends string, S extends z.ZodRawShape, M extends object>(d: OpDef<N, S, M>): OpDef<N, S, M> {
  return d;
}
