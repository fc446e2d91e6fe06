/**
 * What the browser viewer draws, as plain data: a scenario run step by step
 * on one profile, each state as processes (VMAs, page-table entries in runs),
 * frames and folios (the --trace text of each), and who else holds them
 * (pipes, GUP references and pins, io_uring buffers, O_DIRECT). Pure: the
 * viewer runs it in the browser, the tests in Node.
 */
import { code_text } from '../model/content.js';
import { KState, ZERO_PFN } from '../model/layout.js';
import {
  task_alive,
  ptep_get,
  pmd_nr,
  pud_nr,
  pmd_mapped_huge,
  pmdp_get,
  pudp_get,
  vmas_of,
  pipe_open,
  pipe_nbuf,
  pipe_buf,
  folio_test_large,
  folio_head,
  VM_READ,
  VM_WRITE,
  VM_SHARED,
  VM_UFFD_WP,
  VM_DONTCOPY,
  VM_WIPEONFORK,
  VM_LOCKED,
  VM_HUGEPAGE,
  VM_NOHUGEPAGE,
  VM_MERGEABLE,
  VM_HUGETLB,
  VM_ACCOUNT,
} from '../model/mm_types.js';
import { is_huge_zero_pmd, pmd_pfn, pmd_write, pmd_dirty, pmd_uffd_wp, pmd_trans_huge } from '../model/pmd.js';
import {
  pte_present,
  pte_pfn,
  pte_write,
  pte_dirty,
  pte_uffd_wp,
  is_swap_pte,
  pte_swp_slot,
  pte_swp_exclusive,
  is_pte_marker,
} from '../model/pte.js';
import { refs_where, ref_get } from '../model/refs.js';
import { errnoName } from '../kernel/errno.js';
import { withEnv, type Env } from '../profiles/env.js';
import { profileEnv } from '../kernel/ctx.js';
import { profileLacks } from '../profiles/support.js';
import { PROFILES } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';
import { judgeRun, kselftestResult, type KselftestResult } from '../matrix/matrix.js';
import type { Resolved } from '../scenario/resolve.js';
import { thread_task } from '../model/threads.js';
import { describeState, stepLine, refKindName } from '../scenario/describe.js';
import { runScenario, initialState, pageName } from '../scenario/run.js';

/** A run of page-table entries of one kind that map consecutive frames (or none) with the same bits. */
export interface ViewPte {
  /** first virtual page, its name (mem[0]) and how many */
  va: number;
  name: string;
  count: number;
  kind: 'pte' | 'zero' | 'pmd' | 'huge-zero' | 'pud' | 'swap' | 'marker';
  /** first frame mapped (pte, pmd, pud) */
  pfn?: number;
  /** W/R, D, uffd-wp; for swap: the slot and excl */
  bits: string;
  /** not in the step before's page tables */
  changed?: boolean;
}

/** A VMA: its pages and its flags by kernel name. */
export interface ViewVma {
  start: number;
  end: number;
  /** the region(s) it covers, as named in the scenario */
  name: string;
  flags: string[];
  anon: boolean;
  /** not in the step before's VMAs */
  changed?: boolean;
}

export interface ViewTask {
  name: string;
  /** the threads `thread` steps created in it so far (its own name is its first thread) */
  threads: string[];
  vmas: ViewVma[];
  ptes: ViewPte[];
}

/** A frame or a large folio, with its --trace text. */
export interface ViewFrame {
  /** the --trace key: "pfn#N" or "folio pfn#N" */
  key: string;
  pfn: number;
  nr: number;
  /** the --trace text, split where it lists parts (a folio's runs of pages, holders) */
  parts: string[];
}

/** Something other than a page table that holds frames. */
export interface ViewHolder {
  key: string;
  label: string;
  /** how many references, and the frames they hold as ascending [first, last] ranges */
  refs: number;
  ranges: [number, number][];
}

export interface ViewState {
  tasks: ViewTask[];
  frames: ViewFrame[];
  holders: ViewHolder[];
  /** the other --trace lines: per-task flags and swap entries, swap slots, files */
  other: { key: string; text: string }[];
  /** --trace keys new or changed since the previous step, and those gone */
  changed: Record<string, 'new' | 'changed'>;
  gone: string[];
  /** the previous step's text of changed keys */
  was: Record<string, string>;
}

export interface ViewStep {
  /** 0 for the initial state, then the scenario's step numbers */
  index: number;
  line: string;
  ret: string;
  faults: number;
  uffdFaults: number;
  signal?: string;
  sees: string[];
  path: { fn: string; note?: string }[];
  violations: { property: string; message: string; since: number }[];
  failures: string[];
}

/**
 * Every state of a run in little memory: the first whole, then each step as
 * the words it changed, replayed forward to the state asked for (a 1 GiB
 * hugetlb scenario's state is 113 MB: fifteen copies would not fit a tab).
 */
export class StateLog {
  private readonly first: Int32Array;
  private readonly diffs: Int32Array[] = [];
  /** the state replayed to step curI (while logging: the last one, the base of the next diff) */
  private readonly cur: KState;
  private curI = 0;

  constructor(initial: KState) {
    this.first = initial.m.slice();
    this.cur = new KState(initial.L, initial.m.slice());
  }

  get length(): number {
    return this.diffs.length + 1;
  }

  /** Records the state after the next step (`s` may be the live state: it is read now). */
  push(s: KState): void {
    const changed: number[] = [];
    const m = s.m;
    const last = this.at(this.diffs.length).m;
    for (let k = 0; k < m.length; k++)
      if (m[k] !== last[k]) {
        changed.push(k, m[k]!);
        last[k] = m[k]!;
      }
    this.diffs.push(Int32Array.from(changed));
    this.curI = this.diffs.length;
  }

  /** State `i` (0: the initial one); valid until the next call. */
  at(i: number): KState {
    if (i < this.curI) {
      this.cur.m.set(this.first);
      this.curI = 0;
    }
    const m = this.cur.m;
    for (; this.curI < i; this.curI++) {
      const d = this.diffs[this.curI]!;
      for (let k = 0; k < d.length; k += 2) m[d[k]!] = d[k + 1]!;
    }
    return this.cur;
  }
}

/**
 * A scenario run on one profile for the viewer: each step's record at
 * once; the picture of a step's state when first asked for (a 1 GiB
 * hugetlb scenario has 262144 frames per state: drawn per step, not all).
 */
export class ViewRun {
  readonly scenario: string;
  readonly file: string;
  readonly kernel: string;
  readonly title: string;
  readonly result: KselftestResult;
  /** why the kernel cannot run it (SKIP), or the judgement's note */
  readonly message?: string;
  /** what the scenario documents for this kernel */
  readonly because?: string;
  /** the first step with a violation or failed expectation */
  readonly firstBad?: number;
  readonly steps: readonly ViewStep[];
  private readonly states: StateLog;
  private readonly cache = new Map<number, { view: ViewState; lines: Map<string, string> }>();

  constructor(
    private readonly r: Resolved,
    fields: Pick<ViewRun, 'scenario' | 'file' | 'kernel' | 'title' | 'result' | 'message' | 'because' | 'firstBad' | 'steps'>,
    states: StateLog,
  ) {
    this.scenario = fields.scenario;
    this.file = fields.file;
    this.kernel = fields.kernel;
    this.title = fields.title;
    this.result = fields.result;
    if (fields.message !== undefined) this.message = fields.message;
    if (fields.because !== undefined) this.because = fields.because;
    if (fields.firstBad !== undefined) this.firstBad = fields.firstBad;
    this.steps = fields.steps;
    this.states = states;
  }

  /** The picture after step `i` (an index into `steps`), with what changed since the step before. */
  state(i: number): ViewState {
    return this.described(i).view;
  }

  /** Whether step `i`'s state is `other`'s, word for word (then the pictures are too). */
  sameState(i: number, other: ViewRun): boolean {
    if (i >= this.states.length || i >= other.states.length) return false;
    const x = this.states.at(i).m;
    const y = other.states.at(i).m;
    if (x.length !== y.length) return false;
    for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return false;
    return true;
  }

  /** Step `i`'s --trace lines (the picture's source), from the cache or described anew. */
  lines(i: number): Map<string, string> {
    return this.cache.get(i)?.lines ?? describeState(this.r, this.states.at(i));
  }

  private described(i: number): { view: ViewState; lines: Map<string, string> } {
    let d = this.cache.get(i);
    if (!d) {
      // the step before only as text: what changed needs its lines, not its picture
      const prev = i > 0 ? this.lines(i - 1) : null;
      const prevRows = i > 0 ? rowKeys(viewTasks(this.r, this.states.at(i - 1))) : null;
      d = viewState(this.r, this.states.at(i), prev);
      if (prevRows)
        for (const t of d.view.tasks) for (const row of [...t.vmas, ...t.ptes]) if (!prevRows.has(rowKey(t.name, row))) row.changed = true;
      // keep a few: stepping back and forth redraws from the cache, a long scenario does not hold every picture
      if (this.cache.size >= 8) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(i, d);
    }
    return d;
  }
}

const VMA_FLAGS: [number, string][] = [
  [VM_READ, 'READ'],
  [VM_WRITE, 'WRITE'],
  [VM_SHARED, 'SHARED'],
  [VM_UFFD_WP, 'UFFD_WP'],
  [VM_DONTCOPY, 'DONTCOPY'],
  [VM_WIPEONFORK, 'WIPEONFORK'],
  [VM_LOCKED, 'LOCKED'],
  [VM_HUGEPAGE, 'HUGEPAGE'],
  [VM_NOHUGEPAGE, 'NOHUGEPAGE'],
  [VM_MERGEABLE, 'MERGEABLE'],
  [VM_HUGETLB, 'HUGETLB'],
  [VM_ACCOUNT, 'ACCOUNT'],
];

function regionNames(r: Resolved, start: number, end: number): string {
  const names = r.regions.filter((g) => g.start < end && g.start + g.pages > start).map((g) => g.name);
  return names.join(', ') || `pages ${start}..${end - 1}`;
}

/** The page-table entries of task t, consecutive ones of one kind merged. */
function taskPtes(r: Resolved, s: KState, t: number): ViewPte[] {
  const out: ViewPte[] = [];
  const nrPmd = pmd_nr(s);
  const nrPud = pud_nr(s);
  const push = (e: ViewPte) => {
    const last = out[out.length - 1];
    const next = last && last.pfn !== undefined && e.pfn !== undefined ? last.pfn + (last.kind === 'zero' ? 0 : last.count) : undefined;
    if (
      last &&
      last.kind === e.kind &&
      (e.kind === 'pte' || e.kind === 'zero' || e.kind === 'marker') &&
      last.va + last.count === e.va &&
      last.bits === e.bits &&
      next === e.pfn &&
      // a run stays within one folio or one region's name
      (e.kind !== 'pte' || folio_head(s, e.pfn!) === folio_head(s, last.pfn!)) &&
      pageName(r, e.va).split('[')[0] === last.name.split('[')[0]
    ) {
      last.count++;
      return;
    }
    out.push(e);
  };
  for (let va = 0; va < s.L.geo.vpages; va++) {
    if (nrPud > 0 && (va & (nrPud - 1)) === 0 && pmd_trans_huge(pudp_get(s, t, va))) {
      const pud = pudp_get(s, t, va);
      out.push({
        va,
        name: pageName(r, va),
        count: nrPud,
        kind: 'pud',
        pfn: pmd_pfn(pud),
        bits: `${pmd_write(pud) ? 'W' : 'R'}${pmd_dirty(pud) ? 'D' : ''}`,
      });
      va += nrPud - 1;
      continue;
    }
    if (nrPmd > 0 && (va & (nrPmd - 1)) === 0 && pmd_mapped_huge(s, t, va)) {
      const pmd = pmdp_get(s, t, va);
      const zero = is_huge_zero_pmd(pmd);
      out.push({
        va,
        name: pageName(r, va),
        count: nrPmd,
        kind: zero ? 'huge-zero' : 'pmd',
        ...(zero ? {} : { pfn: pmd_pfn(pmd) }),
        bits: `${pmd_write(pmd) ? 'W' : 'R'}${pmd_dirty(pmd) ? 'D' : ''}${pmd_uffd_wp(pmd) ? ' uffd-wp' : ''}`,
      });
      va += nrPmd - 1;
      continue;
    }
    const pte = ptep_get(s, t, va);
    if (pte_present(pte)) {
      const bits = `${pte_write(pte) ? 'W' : 'R'}${pte_dirty(pte) ? 'D' : ''}${pte_uffd_wp(pte) ? ' uffd-wp' : ''}`;
      if (pte_pfn(pte) === ZERO_PFN) push({ va, name: pageName(r, va), count: 1, kind: 'zero', pfn: ZERO_PFN, bits });
      else push({ va, name: pageName(r, va), count: 1, kind: 'pte', pfn: pte_pfn(pte), bits });
    } else if (is_swap_pte(pte))
      push({
        va,
        name: pageName(r, va),
        count: 1,
        kind: 'swap',
        bits: `slot ${pte_swp_slot(pte)}${pte_swp_exclusive(pte) ? ' excl' : ''}${pte_uffd_wp(pte) ? ' uffd-wp' : ''}`,
      });
    else if (is_pte_marker(pte)) push({ va, name: pageName(r, va), count: 1, kind: 'marker', bits: 'uffd-wp marker' });
  }
  return out;
}

function holdersOf(r: Resolved, s: KState): ViewHolder[] {
  const T = (t: number) => r.tasks[t] ?? `task${t}`;
  const byKey = new Map<string, { key: string; label: string; pfns: number[] }>();
  const add = (key: string, label: string, pfn: number) => {
    const h = byKey.get(key);
    if (h) h.pfns.push(pfn);
    else byKey.set(key, { key, label, pfns: [pfn] });
  };
  for (let p = 0; p < s.L.geo.pipes; p++) {
    if (!pipe_open(s, p)) continue;
    for (let i = 0; i < pipe_nbuf(s, p); i++) add(`pipe ${p}`, `pipe ${r.pipes[p] ?? p}`, pipe_buf(s, p, i).pfn);
  }
  for (const ri of refs_where(s, () => true)) {
    const x = ref_get(s, ri);
    const kind = refKindName(x.kind, x.foll);
    add(`${kind} ${x.owner}`, `${kind} of ${T(x.owner)}`, x.pfn);
  }
  return [...byKey.values()].map(({ key, label, pfns }) => {
    const ranges: [number, number][] = [];
    for (const p of [...pfns].sort((a, b) => a - b)) {
      const last = ranges[ranges.length - 1];
      if (last && p <= last[1] + 1) last[1] = Math.max(last[1], p);
      else ranges.push([p, p]);
    }
    return { key, label, refs: pfns.length, ranges };
  });
}

/** Each live process's VMAs and page-table entries. */
function viewTasks(r: Resolved, s: KState): ViewTask[] {
  const tasks: ViewTask[] = [];
  for (let t = 0; t < s.L.geo.tasks; t++) {
    if (!task_alive(s, t)) continue;
    tasks.push({
      name: r.tasks[t] ?? `task${t}`,
      threads: r.threads.filter((x) => x.task === t && thread_task(s, x.slot) === t).map((x) => x.name),
      vmas: vmas_of(s, t).map((v) => ({
        start: v.start,
        end: v.end,
        name: regionNames(r, v.start, v.end),
        flags: VMA_FLAGS.filter(([b]) => v.flags & b).map(([, n]) => n),
        anon: v.file < 0,
      })),
      ptes: taskPtes(r, s, t),
    });
  }
  return tasks;
}

/** A VMA or page-table row of a task as a key (what a row is, not whether it changed). */
function rowKey(task: string, row: ViewVma | ViewPte): string {
  return `${task}|${JSON.stringify({ ...row, changed: undefined })}`;
}

function rowKeys(tasks: readonly ViewTask[]): Set<string> {
  return new Set(tasks.flatMap((t) => [...t.vmas, ...t.ptes].map((row) => rowKey(t.name, row))));
}

/** The viewer's picture of a state; `prev` is the previous step's --trace lines (for what changed). */
export function viewState(
  r: Resolved,
  s: KState,
  prev: ReadonlyMap<string, string> | null,
): { view: ViewState; lines: Map<string, string> } {
  const lines = describeState(r, s);
  const tasks = viewTasks(r, s);
  const changed: Record<string, 'new' | 'changed'> = {};
  const was: Record<string, string> = {};
  const goneFrames: number[] = [];
  const gone: string[] = [];
  if (prev) {
    for (const [k, v] of lines) {
      const old = prev.get(k);
      if (old === undefined) changed[k] = 'new';
      else if (old !== v) {
        changed[k] = 'changed';
        was[k] = old;
      }
    }
    for (const k of prev.keys()) {
      if (lines.has(k)) continue;
      const m = /^pfn#(\d+)$/.exec(k);
      if (m) goneFrames.push(Number(m[1]));
      else gone.push(k);
    }
  }
  if (goneFrames.length) gone.unshift(rangesText(goneFrames));
  const groups = new Map<ViewFrame, { norm: string; index: number; changed: boolean }>();
  const frames: ViewFrame[] = [];
  const other: { key: string; text: string }[] = [];
  for (const [key, text] of lines) {
    const m = /^(folio )?pfn#(\d+)$/.exec(key);
    if (!m) {
      other.push({
        key,
        text: key.startsWith('file ') ? text.replace(/pfn#\d+(, pfn#\d+)+/g, (l) => rangesText([...l.matchAll(/\d+/g)].map(Number))) : text,
      });
      continue;
    }
    const pfn = Number(m[2]);
    if (m[1] && folio_test_large(s, pfn)) {
      frames.push({ key, pfn, nr: (lastPfn(text) ?? pfn) - pfn + 1, parts: text.split('; ') });
      continue;
    }
    // consecutive frames alike but for their page-cache index, as one box (a file of 262144 pages)
    const norm = text.replace(PAGECACHE_INDEX, '$1[#]');
    const idx = PAGECACHE_INDEX.exec(text);
    const last = frames[frames.length - 1];
    const g = last ? groups.get(last) : undefined;
    if (last && g && last.pfn + last.nr === pfn && g.norm === norm && (idx ? Number(idx[2]) === g.index + last.nr : g.index < 0)) {
      last.nr++;
      g.changed ||= changed[key] !== undefined;
      continue;
    }
    const f: ViewFrame = { key, pfn, nr: 1, parts: text.split('; ') };
    frames.push(f);
    groups.set(f, { norm, index: idx ? Number(idx[2]) : -1, changed: changed[key] !== undefined });
  }
  // a group is named by its range, and changed when any of its frames is
  for (const f of frames) {
    const g = groups.get(f);
    if (!g || f.nr === 1) continue;
    const key = `pfn#${f.pfn}..${f.pfn + f.nr - 1}`;
    if (g.changed) changed[key] = 'changed';
    f.key = key;
    f.parts = [`${f.nr} frames alike: ${g.norm.replace('[#]', g.index >= 0 ? `[${g.index}..${g.index + f.nr - 1}]` : '')}`];
  }
  return { view: { tasks, frames, holders: holdersOf(r, s), other, changed, gone, was }, lines };
}

/** A page-cache frame's file and index in its --trace flags: pagecache:f[12] */
const PAGECACHE_INDEX = /(pagecache:[^\s[\]]+)\[(\d+)\]/;

/** Frame numbers as pfn#2..9, 12 */
function rangesText(pfns: readonly number[]): string {
  const u = [...new Set(pfns)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < u.length;) {
    let j = i;
    while (j + 1 < u.length && u[j + 1] === u[j]! + 1) j++;
    parts.push(j > i ? `${u[i]}..${u[j]}` : String(u[i]));
    i = j + 1;
  }
  return `pfn#${parts.join(', ')}`;
}

/** The last frame number a folio's --trace text lists (its pages' runs end at its last page). */
function lastPfn(text: string): number | null {
  let last: number | null = null;
  for (const m of text.matchAll(/; pfn#(\d+)(?:\.\.(\d+))?:/g)) last = Number(m[2] ?? m[1]);
  return last;
}

/**
 * Runs a scenario on a profile for the viewer: every step with its kernel
 * path, result, problems and state, judged as `cowlab run` judges it.
 */
export function viewRun(r: Resolved, prof: Profile, env?: Env): ViewRun {
  const base = { scenario: r.sc.name, file: r.sc.file, kernel: prof.id, title: prof.title };
  const lacks = profileLacks(prof, r);
  if (lacks) {
    const cell = judgeRun(r, prof, PROFILES, null);
    return new ViewRun(
      r,
      { ...base, result: kselftestResult(cell), message: lacks, ...(cell.because ? { because: cell.because } : {}), steps: [] },
      new StateLog(initialState(r, withEnv(env ?? profileEnv(prof), r.sc.env))),
    );
  }
  const states = new StateLog(initialState(r, withEnv(env ?? profileEnv(prof), r.sc.env)));
  // each state logged as it is made: no copy of every state
  const res = runScenario(r, prof, { trace: true, keepStates: false, onStep: (rec) => states.push(rec.state), ...(env ? { env } : {}) });
  const cell = judgeRun(r, prof, PROFILES, res);
  const steps: ViewStep[] = [
    { index: 0, line: 'initial state', ret: '', faults: 0, uffdFaults: 0, sees: [], path: [], violations: [], failures: [] },
  ];
  res.records.forEach((rec) => {
    steps.push({
      index: rec.index,
      line: stepLine(r, rec.index - 1) + (rec.waited ? ` (waited; ran after step ${rec.waited.after})` : ''),
      ret: rec.result.ret < 0 ? errnoName(rec.result.ret) : String(rec.result.ret),
      faults: rec.faults,
      uffdFaults: rec.uffdFaults,
      ...(rec.result.signal ? { signal: String(rec.result.signal) } : {}),
      sees: rec.sees.map((x) => code_text(x)),
      path: rec.path.map((p) => ({ fn: p.fn, ...(p.note ? { note: p.note } : {}) })),
      violations: rec.violations.map((v) => ({ property: v.property, message: v.message, since: v.since })),
      failures: rec.failures.map((f) => f.message),
    });
  });
  const bad = steps.find((st) => st.violations.length || st.failures.length);
  return new ViewRun(
    r,
    {
      ...base,
      result: kselftestResult(cell),
      ...(cell.message ? { message: cell.message } : {}),
      ...(cell.because ? { because: cell.because } : {}),
      ...(bad ? { firstBad: bad.index } : {}),
      steps,
    },
    states,
  );
}

/**
 * The first step at which two runs of one scenario differ: in what the step
 * returned or read, its faults, its problems, or the state's --trace lines.
 * null when they agree throughout.
 */
export function firstDifference(a: ViewRun, b: ViewRun): number | null {
  const n = Math.max(a.steps.length, b.steps.length);
  // the steps' records first (cheap), then the pictures up to the first of those: a long run is not drawn whole
  let upTo = n;
  for (let i = 0; i < n; i++) {
    const x = a.steps[i];
    const y = b.steps[i];
    if (!x || !y || stepKey(x) !== stepKey(y)) {
      upTo = i;
      break;
    }
  }
  for (let i = 0; i < Math.min(upTo, n); i++) if (!a.sameState(i, b) && !sameLines(a.lines(i), b.lines(i))) return a.steps[i]!.index;
  if (upTo >= n) return null;
  return (a.steps[upTo] ?? b.steps[upTo])!.index;
}

/** What a step shows besides the state; not its kernel path, which differs between kernels that agree. */
function stepKey(st: ViewStep): string {
  return JSON.stringify([st.ret, st.faults, st.uffdFaults, st.signal ?? '', st.sees, st.violations.map((v) => v.property), st.failures]);
}

function sameLines(x: ReadonlyMap<string, string>, y: ReadonlyMap<string, string>): boolean {
  if (x.size !== y.size) return false;
  for (const [k, v] of x) if (y.get(k) !== v) return false;
  return true;
}
