/**
 * Running a scenario in the model: step by step through `apply()`, checking
 * the step's expectations and the properties after each step.
 */
import { KState, makeLayout, TASK_ALIVE } from '../model/layout.js';
import {
  task_set_state,
  pte_lookup,
  task_alive,
  write_step,
  write_writer,
  hugetlb_pool_add,
  hugetlb_pool,
  task_ksm_zero,
  page_gen,
} from '../model/mm_types.js';
import { pte_present, pte_pfn, pte_write, pte_uffd_wp, is_swap_pte } from '../model/pte.js';
import { content_code, MIXED_CODE, mixedText } from '../model/content.js';
import { wid_root, wid_patch } from '../model/writes.js';
import { ksm_merging_pages } from '../kernel/mm/ksm.js';
import {
  newMetrics,
  profileEnv,
  uffdMsgFields,
  UFFD_PAGEFAULT_FLAG_WP,
  UFFD_PAGEFAULT_FLAG_WRITE,
  UFFD_PAGEFAULT_FLAG_MINOR,
  type Metrics,
  type PathEvent,
  type UffdMsg,
} from '../kernel/ctx.js';
import { step, type Kernel, type Effects } from '../ops/step.js';
import { nr_threads } from '../model/threads.js';
import type { StepResult } from '../ops/types.js';
import { file_create } from '../kernel/mm/filemap.js';
import { FF_MEMFD, FF_TMPFILE, FF_HUGETLB, FF_HUGETLB_PUD } from '../model/layout.js';
import { withEnv, type Env } from '../profiles/env.js';
import { pagemap_entry, type PagemapEntry } from '../kernel/fs/proc/task_mmu.js';
import { errnoName } from '../kernel/errno.js';
import { Monitor, type Names, type Violation } from '../properties/monitor.js';
import type { Profile } from '../profiles/types.js';
import type { Resolved, ResolvedStep } from './resolve.js';

/** An expectation of a step that did not hold. */
export interface ExpectationFailure {
  step: number;
  message: string;
}

/** What one step did, as the trace shows it. */
export interface StepRecord {
  index: number;
  proc: string;
  op: string;
  result: StepResult;
  faults: number;
  uffdFaults: number;
  /** the uffd fault messages the step queued, in order */
  uffdMsgs: readonly UffdMsg[];
  path: readonly PathEvent[];
  violations: Violation[];
  failures: ExpectationFailure[];
  /** data read, as step indexes of the original writes (0 = zero-filled) */
  sees: number[];
  state: KState;
  /** the step waited for a lock a stopped operation held, and ran once that step let it go */
  waited?: { after: number; why: string };
}

export interface RunResult {
  scenario: string;
  file: string;
  kernel: string;
  verdict: 'pass' | 'fail';
  violations: Violation[];
  failures: ExpectationFailure[];
  metrics: Metrics;
  records: StepRecord[];
  /** the run stopped early because the model broke (model-invariant violation) */
  aborted: boolean;
}

/** Names for messages, from the scenario's own names. */
export function scenarioNames(r: Resolved): Names {
  const labelOf = new Map<number, string>();
  for (const [l, i] of r.labels) labelOf.set(i, l);
  return {
    task: (t) => r.tasks[t] ?? `task ${t}`,
    page: (va) => pageName(r, va),
    thread: (th) => `thread ${r.slotNames[th] ?? `slot ${th}`}`,
    write: (s, w) => {
      const root = wid_root(s, w);
      if (root === 0) return 'zero-filled data';
      const st = write_step(s, root);
      if (st < 0) return 'initial data';
      const who = r.tasks[write_writer(s, root)] ?? '?';
      const l = labelOf.get(st);
      const p = wid_patch(s, root);
      const bytes = p ? ` of bytes ${p.lo} to ${p.lo + p.len - 1}` : '';
      return `${who}'s write${bytes} at step ${st}${l ? ` (${l})` : ''}`;
    },
  };
}

/** `mem[1]` for a virtual page. */
export function pageName(r: Resolved, va: number): string {
  for (const g of r.regions) if (va >= g.start && va < g.start + g.pages) return g.pages === 1 ? g.name : `${g.name}[${va - g.start}]`;
  return `page ${va}`;
}

/** Creates the initial state of a resolved scenario: its first processes and its files. */
export function initialState(r: Pick<Resolved, 'geo' | 'initial' | 'files'>, env?: Readonly<Env>): KState {
  const s = KState.empty(makeLayout(r.geo));
  // the hugetlb pool the machine was given, all free
  if (env?.hugetlbPages) hugetlb_pool_add(s, { nr: env.hugetlbPages, free: env.hugetlbPages });
  if (env?.hugetlbOvercommit) hugetlb_pool_add(s, { overcommit: env.hugetlbOvercommit });
  if (env?.hugetlb1gPages) hugetlb_pool_add(s, { nr: env.hugetlb1gPages, free: env.hugetlb1gPages }, 1);
  for (const t of r.initial) task_set_state(s, t, TASK_ALIVE);
  r.files.forEach((f, i) => {
    const kind = (f.kind === 'memfd' ? FF_MEMFD : FF_TMPFILE) | (f.hugetlb ? FF_HUGETLB : 0) | (f.gigantic ? FF_HUGETLB_PUD : 0);
    if (file_create(s, kind, f.pages) !== i) throw new Error(`file ${i} not created in its slot`);
  });
  return s;
}

export interface RunOptions {
  trace?: boolean;
  /** a failing call is a failure only when the step expects success explicitly (random scenarios) */
  lenient?: boolean;
  /** keep a copy of the state after every step (default: with trace; false: records hold the live state, for onStep) */
  keepStates?: boolean;
  /** the machine (default: the profile's, see profileEnv) */
  env?: Readonly<Env>;
  /**
   * called with each step's record as it is made, its state the live one
   * (valid until the next step): lets a caller compare step by step
   * without keepStates' copy of every state
   */
  onStep?: (rec: StepRecord) => void;
}

/** Runs a resolved scenario on a profile. */
export function runScenario(r: Resolved, prof: Profile, opts: RunOptions = {}): RunResult {
  const names = scenarioNames(r);
  const monitor = new Monitor(names);
  const metrics = newMetrics();
  const kernel: Kernel = { prof, env: withEnv(opts.env ?? profileEnv(prof), r.sc.env) };
  const s = initialState(r, kernel.env);
  const records: StepRecord[] = [];
  const violations: Violation[] = [];
  const failures: ExpectationFailure[] = [];
  let aborted = false;
  // the frames later `same-frame-as` / `new-frame-since` expectations compare with, taken after their step
  const snapWanted = new Map<number, ResolvedStep[]>();
  for (const rs of r.steps) if (rs.frameRef) snapWanted.set(rs.frameRef.step, [...(snapWanted.get(rs.frameRef.step) ?? []), rs]);
  const frames = new Map<string, string>();
  // steps waiting for a lock a thread stopped in a window holds: they run, in order, once it is let go
  const waiting: { rs: ResolvedStep; why: string }[] = [];
  const runOne = (rs: ResolvedStep, after: number): boolean => {
    // a step by a thread that waits runs after it (threads run their steps in order)
    const snap = nr_threads(s) ? s.m.slice() : null;
    const eff = step(s, kernel, rs.op, { trace: opts.trace ?? false, step: rs.step.index, freshWrites: true, metrics, thread: rs.th });
    if (eff.blocked !== null) {
      // it changed nothing the kernel would keep: it waits (the lock is taken before anything is done)
      s.m.set(snap!);
      waiting.push({ rs, why: eff.blocked });
      return false;
    }
    for (const later of snapWanted.get(rs.step.index) ?? []) {
      const { start, pages } = later.range!;
      for (let va = start; va < start + pages; va++) frames.set(`${rs.step.index}:${later.t}:${va}`, frameId(s, later.t, va));
    }
    const result = eff.result;
    let vs: Violation[];
    if (eff.broken === null) {
      vs = monitor.check(s, eff, prof, rs.step.index);
    } else {
      vs = [{ property: 'model-invariant', step: rs.step.index, since: rs.step.index, message: `cowlab bug: ${eff.broken}` }];
      aborted = true;
    }
    const sees = result.data.map((w) => seenStep(s, w));
    const fs = aborted ? [] : checkExpectations(r, rs, s, prof, eff, result, sees, opts.lenient ?? false, opts.trace ?? false, frames);
    // (a loop: a 1 GiB page can fail on 262144 pages, past what a spread call may pass)
    for (const v of vs) violations.push(v);
    for (const x of fs) failures.push(x);
    const w = after >= 0 ? waitedFor.get(rs.step.index) : undefined;
    records.push({
      index: rs.step.index,
      proc: rs.step.proc,
      op: rs.step.op,
      result,
      faults: eff.faults,
      uffdFaults: eff.uffdFaults,
      uffdMsgs: eff.uffdMsgs,
      path: eff.path,
      violations: vs,
      failures: fs,
      sees,
      state: (opts.keepStates ?? opts.trace) ? s.clone() : s,
      ...(w !== undefined ? { waited: { after, why: w } } : {}),
    });
    opts.onStep?.(records.at(-1)!);
    return true;
  };
  const waitedFor = new Map<number, string>();
  for (const rs of r.steps) {
    if (waiting.some((x) => x.rs.step.proc === rs.step.proc)) {
      waiting.push({ rs, why: `${rs.step.proc} waits in an earlier step` });
      continue;
    }
    const done = runOne(rs, -1);
    if (!done) waitedFor.set(rs.step.index, waiting.at(-1)!.why);
    if (aborted) break;
    // what waits goes on, in order, once nothing holds the lock it needs
    for (let i = 0; done && i < waiting.length && !aborted;) {
      const x = waiting[i]!;
      // behind an earlier step of its thread that still waits
      if (waiting.slice(0, i).some((y) => y.rs.step.proc === x.rs.step.proc)) {
        i++;
        continue;
      }
      waiting.splice(i, 1);
      if (!waitedFor.has(x.rs.step.index)) waitedFor.set(x.rs.step.index, x.why);
      if (!runOne(x.rs, rs.step.index)) {
        // still waiting: back in its place
        waiting.splice(i, 0, waiting.pop()!);
        i++;
      } else i = 0;
    }
  }
  for (const x of waiting)
    failures.push({ step: x.rs.step.index, message: `the step waits for ever: ${x.why} (no later step lets it go)` });
  return {
    scenario: r.sc.name,
    file: r.sc.file,
    kernel: prof.id,
    verdict: violations.length || failures.length ? 'fail' : 'pass',
    violations,
    failures,
    metrics,
    records,
    aborted,
  };
}

/** The step index of the write whose data `wid` is (0 for zero-filled data). */
export function seenStep(s: KState, wid: number): number {
  return content_code(s, wid);
}

function describeSeen(r: Resolved, st: number): string {
  if (st === 0) return 'zero-filled data';
  if (st >= MIXED_CODE) return mixedText(st);
  if (st < -1) return `the value ${-st - 1}`;
  for (const [l, i] of r.labels) if (i === st) return `the data written at step ${st} (${l})`;
  return `the data written at step ${st}`;
}

function checkExpectations(
  r: Resolved,
  rs: ResolvedStep,
  s: KState,
  prof: Profile,
  eff: Effects,
  res: StepResult,
  sees: number[],
  lenient: boolean,
  traced: boolean,
  frames: ReadonlyMap<string, string>,
): ExpectationFailure[] {
  const e = rs.step.expect;
  const out: ExpectationFailure[] = [];
  const step = rs.step.index;
  const f = (message: string) => out.push({ step, message });
  if (e.errno !== undefined) {
    if (res.ret >= 0) f(`expected ${e.errno}, the call succeeded (returned ${res.ret})`);
    else if (errnoName(res.ret) !== e.errno) f(`expected ${e.errno}, got ${errnoName(res.ret)}`);
  } else if (res.ret < 0 && !lenient) {
    f(`failed with ${errnoName(res.ret)}`);
  }
  if (e.ret !== undefined && res.ret !== e.ret) f(`expected return value ${e.ret}, got ${res.ret}`);
  if (e.signal !== undefined) {
    if (res.signal !== e.signal) f(`expected ${e.signal}, ${res.signal ? `got ${res.signal}` : 'the access completed'}`);
  } else if (res.signal && !lenient) {
    f(`killed by ${res.signal}`);
  }
  if (rs.sees) {
    if (sees.length === 0) f(`expected to read ${describeSeen(r, rs.sees[0]!)}, but nothing was read`);
    else if (rs.sees.length > 1 && sees.length < rs.sees.length) f(`expected to read ${rs.sees.length} pages, read ${sees.length}`);
    // one failure per run of pages that read the same where the same was expected (a huge page reads alike)
    const want1 = rs.sees;
    const wantAt = (i: number) => (want1.length === 1 ? want1[0]! : want1[i]);
    for (let i = 0; i < sees.length;) {
      const want = wantAt(i);
      const got = sees[i]!;
      let j = i + 1;
      while (j < sees.length && sees[j] === got && wantAt(j) === want) j++;
      if (want !== undefined && got !== want)
        f(`${j - i === 1 ? `page ${i}` : `pages ${i} to ${j - 1}`}: expected ${describeSeen(r, want)}, read ${describeSeen(r, got)}`);
      i = j;
    }
  }
  if (e.faults !== undefined && eff.faults !== e.faults) f(`expected ${e.faults} page fault(s), took ${eff.faults}`);
  if (e.uffdFaults !== undefined && eff.uffdFaults !== e.uffdFaults) f(`expected ${e.uffdFaults} uffd-wp fault(s), got ${eff.uffdFaults}`);
  if (rs.uffdMsgs) {
    const got = uffdMsgsText(r, uffdMsgFields(eff.uffdMsgs));
    const want = uffdMsgsText(r, rs.uffdMsgs);
    if (got !== want) f(`expected the uffd messages ${want}, got ${got}`);
  }
  if (e.hugetlbFree !== undefined || e.hugetlbResv !== undefined || e.hugetlbSurplus !== undefined) {
    const p = hugetlb_pool(s);
    if (e.hugetlbFree !== undefined && p.free !== e.hugetlbFree) f(`expected ${e.hugetlbFree} free huge page(s), there are ${p.free}`);
    if (e.hugetlbResv !== undefined && p.resv !== e.hugetlbResv) f(`expected resv_hugepages ${e.hugetlbResv}, it is ${p.resv}`);
    if (e.hugetlbSurplus !== undefined && p.surplus !== e.hugetlbSurplus)
      f(`expected ${e.hugetlbSurplus} surplus huge page(s), there are ${p.surplus}`);
  }
  if (e.ksmMergingPages !== undefined) {
    const got = task_alive(s, rs.t) ? ksm_merging_pages(s, rs.t) : 0;
    if (got !== e.ksmMergingPages) f(`expected ksm_merging_pages ${e.ksmMergingPages}, it is ${got}`);
  }
  if (e.ksmZeroPages !== undefined) {
    const got = task_alive(s, rs.t) ? task_ksm_zero(s, rs.t) : 0;
    if (got !== e.ksmZeroPages) f(`expected ksm_zero_pages ${e.ksmZeroPages}, it is ${got}`);
  }
  if (e.path) {
    const taken = new Set(eff.path.map((p) => p.fn));
    for (const fn of e.path) if (traced && !taken.has(fn)) f(`expected the path to go through ${fn}`);
  }
  if (rs.range) pageExpectations(r, rs, s, prof, f, frames);
  return out;
}

/** Which frame (and which allocation of it) maps (t, va) now, or "-" when nothing does. */
function frameId(s: KState, t: number, va: number): string {
  if (!task_alive(s, t)) return '-';
  const pte = pte_lookup(s, t, va);
  if (!pte_present(pte)) return '-';
  const pfn = pte_pfn(pte);
  return `${pfn}:${page_gen(s, pfn)}`;
}

/** The per-page expectation keys judged from pagemap and kpageflags. */
const PAGEMAP_KEYS = [
  'present',
  'swapped',
  'mappedOnce',
  'anonExclusive',
  'uffdWp',
  'swapcache',
  'ksm',
  'thp',
  'pmdMapped',
  'hugeZero',
  'zeroPage',
  'file',
  'anon',
  'softDirty',
] as const;

function pageExpectations(
  r: Resolved,
  rs: ResolvedStep,
  s: KState,
  prof: Profile,
  f: (m: string) => void,
  frames: ReadonlyMap<string, string>,
): void {
  const e = rs.step.expect;
  const range = rs.range!;
  const t = rs.t;
  if (!task_alive(s, t)) return;
  // pagemap is read only for the keys that need it (a 1 GiB range has 262144 pages)
  const wantsPm = PAGEMAP_KEYS.some((k) => e[k] !== undefined) || e.folioPages !== undefined;
  // a failure on consecutive pages is one message naming the pages (a huge page fails alike)
  const runs = new Map<string, { from: number; to: number; seq: number; make: (from: number, to: number) => string }>();
  let seq = 0;
  let touched = 0; // runs failed on the page before (the others ended there)
  const names = (from: number, to: number, off = 0) =>
    from === to ? pageName(r, from + off) : `${pageName(r, from + off)} to ${pageName(r, to + off)}`;
  const flush = (before: number) => {
    const done = [...runs].filter(([, x]) => x.to < before).sort(([, a], [, b]) => a.from - b.from || a.seq - b.seq);
    for (const [k, x] of done) {
      runs.delete(k);
      f(x.make(x.from, x.to));
    }
  };
  const fail = (key: string, va: number, make: (from: number, to: number) => string) => {
    touched++;
    const x = runs.get(key);
    if (x && x.to === va - 1) x.to = va;
    else {
      if (x) {
        runs.delete(key);
        f(x.make(x.from, x.to));
      }
      runs.set(key, { from: va, to: va, seq: seq++, make });
    }
  };
  for (let i = 0; i < range.pages; i++) {
    const va = range.start + i;
    if (runs.size > touched) flush(va - 1);
    touched = 0;
    const pte = pte_lookup(s, t, va);
    const bit = (want: boolean | undefined, got: boolean, what: string) => {
      if (want !== undefined && want !== got)
        fail(`bit:${what}`, va, (a, b) => `${names(a, b)}: expected ${want ? '' : 'not '}${what}, it is ${got ? '' : 'not '}${what}`);
    };
    const pm: PagemapEntry | null = wantsPm ? pagemap_entry(s, t, va, prof) : null;
    if (pm) {
      bit(e.present, pm.present, 'present');
      bit(e.swapped, pm.swapped && is_swap_pte(pte), 'swapped out');
      bit(e.mappedOnce, pm.exclusive, 'mapped exactly once');
      bit(e.anonExclusive, pm.present && pm.anonExclusive, 'PG_anon_exclusive (as /proc/kpageflags shows it)');
    }
    bit(e.writable, pte_present(pte) && pte_write(pte), 'mapped writable');
    if (pm) {
      bit(e.uffdWp, pm.uffdWp || pte_uffd_wp(pte), 'uffd-wp protected');
      bit(e.swapcache, pm.swapcache, 'in the swap cache');
      bit(e.ksm, pm.ksm, 'a KSM page (kpageflags)');
      bit(e.thp, pm.thp, 'a page of a large folio (KPF_THP)');
      bit(e.pmdMapped, pm.huge, 'mapped by a huge PMD');
      bit(e.hugeZero, pm.hugeZero, 'the huge zero page');
      bit(e.zeroPage, pm.zero && !pm.hugeZero, 'the shared zero page');
      bit(e.file, pm.file, 'reported as a file page (PM_FILE)');
      bit(e.anon, pm.present && pm.anon, 'an anonymous page (KPF_ANON)');
      bit(e.softDirty, pm.softDirty, 'soft-dirty (pagemap bit 55)');
      if (e.folioPages !== undefined && pm.present && !pm.zero && pm.nr !== e.folioPages) {
        const nr = pm.nr;
        fail(`folio:${nr}`, va, (a, b) => `${names(a, b)}: expected a folio of ${e.folioPages} page(s), it is in one of ${nr}`);
      }
    }
    const other = (list: { proc: string; at: { region: string; from: number } }[] | undefined, want: boolean) => {
      for (const x of list ?? []) {
        const ot = r.tasks.indexOf(x.proc);
        const g = r.regions.find((q) => q.name === x.at.region)!;
        const off = g.start + x.at.from - range.start;
        const ova = va + off;
        const a = pte_present(pte) ? pte_pfn(pte) : -1;
        const ope = task_alive(s, ot) ? pte_lookup(s, ot, ova) : 0;
        const b = pte_present(ope) ? pte_pfn(ope) : -2;
        if ((a === b) !== want) {
          const k = `other:${want}:${x.proc}:${x.at.region}:${x.at.from}`;
          fail(k, va, (p, q) => `${names(p, q)}: expected ${want ? '' : 'not '}to be the same page as ${x.proc}'s ${names(p, q, off)}`);
        }
      }
    };
    other(e.sharedWith, true);
    other(e.notSharedWith, false);
    if (rs.frameRef) {
      // the same frame as after step N: present then and now, on one frame never freed in between
      const { step: n, same } = rs.frameRef;
      const then = frames.get(`${n}:${t}:${va}`) ?? '-';
      const now = frameId(s, t, va);
      const ok = same ? then !== '-' && then === now : now !== '-' && then !== now;
      if (!ok)
        fail(`frame:${same}`, va, (a, b) =>
          same
            ? `${names(a, b)}: expected the frame it had after step ${n}, it is ${then === '-' ? 'mapped now and was not then' : now === '-' ? 'not mapped now' : 'another frame'}`
            : `${names(a, b)}: expected a new frame since step ${n}, it is ${now === '-' ? 'not mapped now' : 'the frame it had then'}`,
        );
    }
  }
  flush(Infinity);
}

/** uffd fault messages as `mem[0] wp write`, in order (the executor keeps the first 8 of a step: so does this). */
export function uffdMsgsText(r: Resolved, msgs: readonly { vpage: number; flags: number }[]): string {
  if (!msgs.length) return 'none';
  return msgs
    .slice(0, 8)
    .map((m) => {
      const f = [
        m.flags & UFFD_PAGEFAULT_FLAG_WP ? 'wp' : '',
        m.flags & UFFD_PAGEFAULT_FLAG_MINOR ? 'minor' : '',
        m.flags & UFFD_PAGEFAULT_FLAG_WRITE ? 'write' : '',
      ].filter(Boolean);
      return `${pageName(r, m.vpage)} ${f.join(' ') || 'missing'}`;
    })
    .join(', ');
}
