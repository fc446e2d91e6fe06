/**
 * A scenario as read from its file: named processes, regions, pipes, files
 * and handles, ordered steps, and expectations. docs/scenario-format.md is
 * the reference.
 */
import type { Pos } from './errors.js';
import type { Env } from '../profiles/env.js';

/** A page range of a named region: `mem`, `mem[1]`, `mem[0:2]`. */
export interface RegionRef {
  region: string;
  /** first page within the region */
  from: number;
  /** number of pages, or null for "to the end of the region" */
  count: number | null;
  text: string;
}

/** What a step expects. Every field is optional. */
export interface StepExpect {
  /** the data read: a write label, a step number, "zero"; one per page or one for all */
  sees?: (string | number)[];
  /** the call fails with this errno name */
  errno?: string;
  /** the return value (pages transferred, ...) */
  ret?: number;
  /** the access is killed by this signal */
  signal?: 'SIGSEGV' | 'SIGBUS';
  /** page faults taken by the step (minor + major) */
  faults?: number;
  /** userfaultfd write-protect faults delivered during the step */
  uffdFaults?: number;
  /** the messages the monitor read during the step, in order: the page (one page) and the fault's flags */
  uffdMsgs?: { at: RegionRef; flags: ('wp' | 'write')[] }[];
  /** /proc/PID/ksm_merging_pages of the acting process after the step (ksmd's count, updated by its scans) */
  ksmMergingPages?: number;
  /** ksm_zero_pages of /proc/PID/ksm_stat of the acting process after the step (6.5+; the kernel's count, copied at fork) */
  ksmZeroPages?: number;
  /** the 2 MiB hugetlb pool after the step: free_hugepages and resv_hugepages (signed: the kernel can take resv below zero) */
  hugetlbFree?: number;
  hugetlbResv?: number;
  /** surplus_hugepages of the 2 MiB pool after the step */
  hugetlbSurplus?: number;
  /** kernel functions that must appear in the step's path */
  path?: string[];
  /** for `check`: the page(s) are / are not the same frames as another process's */
  sharedWith?: { proc: string; at: RegionRef }[];
  notSharedWith?: { proc: string; at: RegionRef }[];
  /** for `check`: pagemap bits */
  present?: boolean;
  swapped?: boolean;
  /** pagemap bit 56 (mapped by exactly one process) */
  mappedOnce?: boolean;
  /** PG_anon_exclusive (model only: the kernel does not export it) */
  anonExclusive?: boolean;
  writable?: boolean;
  uffdWp?: boolean;
  swapcache?: boolean;
  /** /proc/kpageflags KPF_KSM of the page's frame */
  ksm?: boolean;
  /** /proc/kpageflags KPF_THP: a page of a large anon folio (or the huge zero page) */
  thp?: boolean;
  /** a huge PMD maps the page (PAGEMAP_SCAN PAGE_IS_HUGE) */
  pmdMapped?: boolean;
  /** the page is the huge zero page */
  hugeZero?: boolean;
  /** the page is the shared (small) zero page: KPF_ZERO_PAGE without KPF_THP */
  zeroPage?: boolean;
  /** pagemap PM_FILE */
  file?: boolean;
  /** /proc/kpageflags KPF_ANON of the page's frame */
  anon?: boolean;
  /** pagemap bit 55 (CONFIG_MEM_SOFT_DIRTY: the page was written since the last clear_refs 4) */
  softDirty?: boolean;
  /** each page is the frame the same page of this process had after that step (a label or a step number) */
  sameFrameAs?: string | number;
  /** each page is a frame other than the one the same page had after that step (or it had none then) */
  newFrameSince?: string | number;
  /** the page's folio has this many pages (kpageflags head/tail walk) */
  folioPages?: number;
}

/** One step: a process performs an operation. */
export interface Step {
  /** 1-based index in the file */
  index: number;
  proc: string;
  op: string;
  /** the op's arguments after validation (see scenario/ops.ts) */
  args: Record<string, unknown>;
  label?: string;
  expect: StepExpect;
  pos: Pos;
}

/** What a scenario expects of a kernel profile as a whole. */
export interface Outcome {
  verdict: 'pass' | 'fail';
  /** for fail: the property or "expectation" that is expected to fire */
  property?: string;
  /** why: commit, thread message, selftest result */
  because?: string;
  /** documented number of anonymous pages copied in the run */
  copies?: number;
  /** documented number of copies nobody else could have observed */
  needless?: number;
}

export interface Scenario {
  /** display name: the `name` field or the file's base name */
  name: string;
  file: string;
  description?: string;
  /** `kernel:`: the profile `cowlab run` uses for it when no --kernel is given (an explorer or fuzz finding's) */
  kernel?: string;
  /** where `kernel:` stands in the file */
  kernelPos?: Pos;
  /** model only: the geometry's PMD order when it is not the real 9 (`pmd-order:`) */
  pmdOrder?: number;
  /**
   * the cow.c test it mirrors, exactly as the selftest prints it, and its TAP number on the host's plan;
   * `setup`: how many first steps are the backing's set-up, whose failed expectation cow.c reports as SKIP
   */
  /** `xfail`: cow.c reports a failure of this instance as an expected failure (XFAIL), not as `not ok` */
  selftest?: { case: string; backing?: string; tap?: number; setup?: number; xfail?: boolean | string[] };
  /** where its expected history is documented */
  source: string[];
  /** capabilities the executor needs (root, swap, io_uring, uffd, gup-test, ...) */
  requires: string[];
  processes: string[];
  /** `hugetlb`: a MFD_HUGETLB memfd of 2 MiB pages, fallocated whole from the pool */
  files: { name: string; kind: 'memfd' | 'tmpfile'; pages: number; hugetlb?: boolean; gigantic?: boolean }[];
  /** expected outcome per kernel id; "default" applies to the rest */
  expect: Record<string, Outcome>;
  /** where each key of `expect:` stands in the file (for unknown kernel names) */
  expectPos?: Record<string, Pos>;
  /** differential testing: steps whose data may legitimately differ on a real kernel */
  diff: { either: string[]; skip?: string };
  /** the machine settings the scenario runs with (THP modes, ...): the model's environment and the executor's set-up */
  env: Partial<Env>;
  steps: Step[];
}
