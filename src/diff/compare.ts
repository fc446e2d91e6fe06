/**
 * Comparing a model run with what the real kernel did, step by step: return
 * values, signals, data read, page faults, uffd-wp faults, and per page the
 * pagemap bits, kpagecount and the kpageflags that are stable, plus which
 * mappings share a frame (frame numbers themselves are never compared:
 * model frames are bound to kernel frames as they are first seen).
 */
import { code_text } from '../model/content.js';
import { PAGEMAP_BITS, KPF_BITS } from '../kernel/fs/proc/bits.js';
import type { KState } from '../model/layout.js';
import { PGF_ALLOC, PGF_KSM } from '../model/layout.js';
import { ksm_merging_pages } from '../kernel/mm/ksm.js';
import { hugetlb_pool, task_alive, task_ksm_zero, page_test, page_gen, page_ref_count, page_mapcount } from '../model/mm_types.js';
import { lru_batch_refs } from '../kernel/mm/swap.js';
import { pagemap_entry } from '../kernel/fs/proc/task_mmu.js';
import { errnoName } from '../kernel/errno.js';
import { actorTask, type Resolved } from '../scenario/resolve.js';
import { pageName, uffdMsgsText, type RunResult, type StepRecord } from '../scenario/run.js';
import { uffdMsgFields } from '../kernel/ctx.js';
import type { ExecResult, KPage, Caps } from '../executor/server.js';
import type { Profile } from '../profiles/types.js';

/** Where model and kernel first disagree. */
export interface Divergence {
  step: number;
  process: string;
  /** region page, or "" for step-level fields */
  address: string;
  field: string;
  model: string;
  kernel: string;
  /**
   * Everything both sides showed at that level, side by side: the step's
   * results (return, signal, data, faults, ...) for a step-level field, or
   * every compared field of the page for a page field.
   */
  rows: DivergenceRow[];
}

/** One observation in a divergence's side-by-side view. */
export interface DivergenceRow {
  field: string;
  model: string;
  kernel: string;
  /** a field the kernel side cannot show here, listed but not compared */
  uncompared?: true;
}

/** The side-by-side view of a divergence as text lines: field, model, kernel, with `<<` where they differ. */
export function divergenceTable(d: Divergence, indent = '        '): string[] {
  if (!d.rows.length) return [];
  const w0 = Math.max(5, ...d.rows.map((x) => x.field.length));
  const w1 = Math.max(5, ...d.rows.map((x) => x.model.length));
  const line = (a: string, b: string, c: string, mark: string) =>
    `${indent}${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}${mark ? `  ${mark}` : ''}`.trimEnd();
  return [
    line('', 'model', 'kernel', ''),
    ...d.rows.map((x) => line(x.field, x.model, x.kernel, x.model === x.kernel || x.uncompared ? '' : '<<')),
  ];
}

/* pagemap and kpageflags bits, as bigint shifts */
const PM_PRESENT = BigInt(PAGEMAP_BITS.PRESENT);
const PM_SWAP = BigInt(PAGEMAP_BITS.SWAP);
const PM_FILE = BigInt(PAGEMAP_BITS.FILE);
const PM_UFFD_WP = BigInt(PAGEMAP_BITS.UFFD_WP);
const PM_SOFT_DIRTY = BigInt(PAGEMAP_BITS.SOFT_DIRTY);
const PM_MMAP_EXCLUSIVE = BigInt(PAGEMAP_BITS.MMAP_EXCLUSIVE);
const PFN_MASK = (1n << BigInt(PAGEMAP_BITS.PFN_BITS)) - 1n;
const KPF_ANON = BigInt(KPF_BITS.ANON);
const KPF_SWAPCACHE = BigInt(KPF_BITS.SWAPCACHE);
const KPF_KSM = BigInt(KPF_BITS.KSM);
const KPF_THP = BigInt(KPF_BITS.THP);
const KPF_HUGE = BigInt(KPF_BITS.HUGE);
const KPF_ZERO_PAGE = BigInt(KPF_BITS.ZERO_PAGE);
const KPF_MAPPEDTODISK = BigInt(KPF_BITS.MAPPEDTODISK);

const bit = (v: bigint, b: bigint) => ((v >> b) & 1n) === 1n;

/** The observable state of one page, as both sides report it. */
interface PageView {
  present: boolean;
  swapped: boolean;
  mappedOnce: boolean;
  uffdWp: boolean;
  /** pagemap bit 55: compared only for scenarios about soft-dirty, on kernels with CONFIG_MEM_SOFT_DIRTY */
  softDirty: boolean;
  file: boolean;
  anon: boolean;
  swapcache: boolean;
  ksm: boolean;
  zero: boolean;
  thp: boolean;
  /** KPF_HUGE: a hugetlb page */
  hugetlb: boolean;
  anonExclusive: boolean;
  mapcount: number;
  /** mapped by a huge PMD; null when the kernel side cannot tell (no PAGEMAP_SCAN) */
  huge: boolean | null;
  /** the folio the page belongs to: its size in pages and the page's place in it; null when unknown or not present */
  folio: string | null;
}

const FIELDS: (keyof PageView)[] = [
  'present',
  'swapped',
  'zero',
  'anon',
  'file',
  'mappedOnce',
  'mapcount',
  'anonExclusive',
  'swapcache',
  'ksm',
  'thp',
  'hugetlb',
  'uffdWp',
  'softDirty',
  'huge',
  'folio',
];

function kernelView(p: KPage | undefined): PageView {
  if (!p) {
    return {
      present: false,
      swapped: false,
      mappedOnce: false,
      uffdWp: false,
      softDirty: false,
      file: false,
      anon: false,
      swapcache: false,
      ksm: false,
      zero: false,
      thp: false,
      hugetlb: false,
      anonExclusive: false,
      mapcount: 0,
      huge: false,
      folio: null,
    };
  }
  const present = bit(p.entry, PM_PRESENT);
  const zero = present && bit(p.flags, KPF_ZERO_PAGE);
  const anon = present && bit(p.flags, KPF_ANON);
  return {
    present,
    swapped: bit(p.entry, PM_SWAP),
    mappedOnce: bit(p.entry, PM_MMAP_EXCLUSIVE),
    uffdWp: bit(p.entry, PM_UFFD_WP),
    softDirty: bit(p.entry, PM_SOFT_DIRTY),
    file: bit(p.entry, PM_FILE),
    anon,
    swapcache: present && bit(p.flags, KPF_SWAPCACHE),
    ksm: present && bit(p.flags, KPF_KSM),
    zero,
    thp: present && bit(p.flags, KPF_THP),
    hugetlb: present && bit(p.flags, KPF_HUGE),
    anonExclusive: anon && bit(p.flags, KPF_MAPPEDTODISK),
    mapcount: present ? p.count : 0,
    huge: p.huge < 0 ? null : present && p.huge === 1,
    folio: present && !zero && p.nr > 0 ? folioText(p.nr, Number((p.entry & PFN_MASK) - p.head)) : null,
  };
}

/** A page's folio as compared: its size and the page's index in it. */
function folioText(nr: number, offset: number): string {
  return nr === 1 ? 'small' : `page ${offset} of ${nr}`;
}

function modelView(s: KState, t: number, va: number, prof: Profile): PageView & { pfn: number } {
  const e = pagemap_entry(s, t, va, prof);
  const pae = e.present && !e.zero && e.anonExclusive;
  return {
    present: e.present,
    swapped: e.swapped,
    mappedOnce: e.exclusive,
    uffdWp: e.uffdWp,
    softDirty: e.softDirty,
    file: e.present && e.file, // the huge zero page reports PM_FILE from 6.10, the small one never (pagemap_entry)
    anon: e.anon,
    swapcache: e.swapcache,
    ksm: e.ksm,
    zero: e.zero,
    thp: e.thp,
    hugetlb: e.present && e.hugetlb,
    anonExclusive: pae,
    mapcount: e.mapcount,
    huge: e.huge,
    folio: e.present && !e.zero ? folioText(e.nr, e.pfn - e.head) : null,
    pfn: e.pfn,
  };
}

/** Every compared field of one page on both sides ("unknown" where the kernel side cannot tell). */
function pageRows(fields: readonly (keyof PageView)[], mv: PageView, kv: PageView): DivergenceRow[] {
  return fields.map((f) => {
    const uncompared = kv[f] === null || (f === 'folio' && mv.folio === null);
    const row: DivergenceRow = { field: f, model: show(mv[f] ?? '-'), kernel: kv[f] === null ? 'unknown' : show(kv[f]) };
    if (uncompared) row.uncompared = true;
    return row;
  });
}

function show(v: unknown): string {
  return typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v);
}

function retText(ret: number): string {
  return ret < 0 ? errnoName(ret) : String(ret);
}

function dataText(r: Resolved, d: number): string {
  return code_text(d, r.labels);
}

/** What the kernel side can show: fields it cannot report are not compared. */
export interface CompareOptions {
  /** the profile the model ran (how its /proc files would show the pages) */
  prof: Profile;
  caps?: Caps;
}

/**
 * Compares a model run with the kernel's observations step by step, as the
 * model runs: `step` takes each step's record while its state is the
 * model's state after that step (so no state need be kept), `end` the
 * number of steps run. Both return the first divergence, or null.
 */
export interface Comparer {
  step(rec: StepRecord): Divergence | null;
  end(steps: number): Divergence | null;
}

/**
 * The first divergence between a model run (with states kept) and the
 * kernel's observations, or null when they agree.
 */
export function compareRun(r: Resolved, model: RunResult, kernel: ExecResult, opts: CompareOptions): Divergence | null {
  const c = comparer(r, kernel, opts);
  for (const rec of model.records) {
    const d = c.step(rec);
    if (d) return d;
  }
  return c.end(model.records.length);
}

/** A step-by-step comparison of one model run with the kernel's observations (see Comparer). */
export function comparer(r: Resolved, kernel: ExecResult, opts: CompareOptions): Comparer {
  const fields = FIELDS.filter(
    (f) =>
      (f !== 'uffdWp' || !opts.caps || opts.caps.pagemapUffdWp) &&
      // soft-dirty only where the kernel has it and the scenario is about it (clear_refs 4, soft-dirty expectations)
      (f !== 'softDirty' || (opts.caps?.softDirty === true && r.needs.includes('soft-dirty'))),
  );
  const either = new Set(r.sc.diff.either.map((l) => r.labels.get(l)));
  // model page (frame and allocation number) <-> kernel frame, as first seen together
  const m2k = new Map<string, bigint>();
  const k2m = new Map<bigint, string>();
  /** the kernel's pages after the step being compared: the M lines of the steps so far, applied in order */
  const kpages = new Map<string, KPage>();
  const key = (s: KState, pfn: number) => `${pfn}:${page_gen(s, pfn)}`;
  /**
   * A model page that may already be gone in the kernel: freed, or held only by
   * the per-CPU LRU batch, which the kernel also drains for the executor's own
   * pages (the model only sees the scenario's).
   */
  const gone = (s: KState, k: string) => {
    const [pfn, gen] = k.split(':').map(Number) as [number, number];
    if (!page_test(s, pfn, PGF_ALLOC) || page_gen(s, pfn) !== gen) return true;
    return page_mapcount(s, pfn) === 0 && page_ref_count(s, pfn) === lru_batch_refs(s, pfn);
  };
  const step = (rec: StepRecord): Divergence | null => {
    const st = r.steps[rec.index - 1]!;
    const proc = st.step.proc;
    const ks = kernel.steps.get(rec.index);
    const div = (field: string, mv: string, kv: string, rows: DivergenceRow[] = [], address = '', process = proc): Divergence => ({
      step: rec.index,
      process,
      address,
      field,
      model: mv,
      kernel: kv,
      rows,
    });
    if (!ks) return div('step', 'ran', `did not run (${kernel.status}${kernel.messages.length ? `: ${kernel.messages.join('; ')}` : ''})`);
    // the executor reports the pages that changed at each step (entry 0: emptied), so every step's lines are applied,
    // compared or not
    for (const [k, kp] of kernel.pages.get(rec.index) ?? []) {
      if (kp.entry === 0n) kpages.delete(k);
      else kpages.set(k, kp);
    }
    if (either.has(rec.index)) return null;
    // the step's own results, in the order they are compared; the first that differs is the divergence
    const rows: DivergenceRow[] = [];
    const kret = ks.errno ? -ks.errno : ks.ret;
    rows.push({ field: 'return', model: retText(rec.result.ret), kernel: retText(kret) });
    const msig = rec.result.signal === 'SIGSEGV' ? 11 : rec.result.signal === 'SIGBUS' ? 7 : 0;
    rows.push({
      field: 'signal',
      model: msig ? String(rec.result.signal) : 'none',
      kernel: ks.sig === 11 ? 'SIGSEGV' : ks.sig === 7 ? 'SIGBUS' : ks.sig ? `signal ${ks.sig}` : 'none',
    });
    rows.push({
      field: 'data',
      model: rec.sees.map((x) => dataText(r, x)).join(', ') || 'nothing',
      kernel: ks.data.map((x) => dataText(r, x)).join(', ') || 'nothing',
    });
    if (ks.faults >= 0) rows.push({ field: 'faults', model: String(rec.faults), kernel: String(ks.faults) });
    rows.push({ field: 'uffd-faults', model: String(rec.uffdFaults), kernel: String(ks.uffdFaults) });
    // the messages the monitor read: which page, and the fault's flags
    if (rec.uffdMsgs.length || ks.uffdMsgs.length)
      rows.push({
        field: 'uffd-msgs',
        model: uffdMsgsText(r, uffdMsgFields(rec.uffdMsgs)),
        kernel: uffdMsgsText(r, ks.uffdMsgs),
      });
    // ksmd's per-process count (5.19+), for programs that use KSM
    if (ks.ksm >= 0 && rec.state.L.geo.ksm) {
      const t = actorTask(r, proc);
      const mk = task_alive(rec.state, t) ? ksm_merging_pages(rec.state, t) : 0;
      rows.push({ field: 'ksm-merging-pages', model: String(mk), kernel: String(ks.ksm) });
    }
    // ksm_zero_pages (6.5+), where the kernel shows it and the profile marks KSM zero pages
    if (ks.ksmZero !== undefined && ks.ksmZero >= 0 && rec.state.L.geo.ksm && opts.prof.mech.ksm.zeroPages === 'marked') {
      const t = actorTask(r, proc);
      const mz = task_alive(rec.state, t) ? task_ksm_zero(rec.state, t) : 0;
      rows.push({ field: 'ksm-zero-pages', model: String(mz), kernel: String(ks.ksmZero) });
    }
    // the hugetlb pool, for programs that map hugetlb pages: what reservations and copies took
    if (ks.hugetlb && ks.hugetlb.free >= 0) {
      const p = hugetlb_pool(rec.state);
      const ksur = ks.hugetlb.surplus ?? 0;
      // surplus pages (nr_overcommit_hugepages) are named where either side has some
      const sur = (n: number) => (p.surplus || ksur ? `, ${n} surplus` : '');
      rows.push({
        field: 'hugetlb-pool',
        model: `${p.free} free, ${p.resv} reserved${sur(p.surplus)}`,
        kernel: `${ks.hugetlb.free} free, ${ks.hugetlb.resv} reserved${sur(ksur)}`,
      });
    }
    const differs = rows.find((x) => x.model !== x.kernel);
    if (differs) return div(differs.field, differs.model, differs.kernel, rows);

    // pages of every live process
    const s = rec.state;
    for (let t = 0; t < r.tasks.length; t++) {
      if (!task_alive(s, t)) continue;
      for (const g of r.regions) {
        for (let i = 0; i < g.pages; i++) {
          const va = g.start + i;
          const mv = modelView(s, t, va, opts.prof);
          const kp = kpages.get(`${t}:${va}`);
          const kv = kernelView(kp);
          for (const f of fields) {
            // what the kernel side could not observe (null) is not compared
            if (kv[f] === null || (f === 'folio' && mv.folio === null)) continue;
            if (mv[f] !== kv[f]) return div(f, show(mv[f]), show(kv[f]), pageRows(fields, mv, kv), pageName(r, va), r.tasks[t]);
          }
          if (!mv.present || mv.zero || !kp) continue;
          // frame identity: the same model page must stay the same kernel frame, and vice versa
          const kpfn = kp.entry & PFN_MASK;
          const mk = key(s, mv.pfn);
          if (page_test(s, mv.pfn, PGF_KSM)) {
            // which of two merged frames survives depends on where ksmd's cursor stood when an mm
            // registered (src/kernel/mm/ksm.ts): a KSM page binds to whatever frame the kernel kept
            m2k.set(mk, kpfn);
            k2m.set(kpfn, mk);
            continue;
          }
          const bound = m2k.get(mk);
          const owner = k2m.get(kpfn);
          if (bound !== undefined && bound !== kpfn) {
            const mvf = `the page it mapped before (model pfn#${mv.pfn})`;
            const rows = [...pageRows(fields, mv, kv), { field: 'frame', model: mvf, kernel: 'a different frame' }];
            return div('frame', mvf, 'a different frame', rows, pageName(r, va), r.tasks[t]);
          }
          if (owner !== undefined && owner !== mk && !gone(s, owner)) {
            const mvf = `model pfn#${mv.pfn}, not pfn#${owner.split(':')[0]}`;
            const kvf = 'the frame of another page the model keeps apart';
            const rows = [...pageRows(fields, mv, kv), { field: 'frame', model: mvf, kernel: kvf }];
            return div('frame', mvf, kvf, rows, pageName(r, va), r.tasks[t]);
          }
          m2k.set(mk, kpfn);
          k2m.set(kpfn, mk);
        }
      }
    }
    // frames the model freed may be reused by the kernel for anything
    for (const [mk, kp] of [...m2k]) {
      if (gone(s, mk)) {
        m2k.delete(mk);
        if (k2m.get(kp) === mk) k2m.delete(kp);
      }
    }
    return null;
  };
  const end = (steps: number): Divergence | null => {
    if (kernel.status === 'ok') return null;
    return {
      step: steps,
      process: '',
      address: '',
      field: 'executor',
      model: 'ok',
      kernel: `${kernel.status}${kernel.messages.length ? `: ${kernel.messages.join('; ')}` : ''}`,
      rows: [],
    };
  };
  return { step, end };
}
