/**
 * Comparing a model run with what the real kernel did, step by step: return
 * values, signals, data read, page faults, uffd-wp faults, and per page the
 * pagemap bits, kpagecount and the kpageflags that are stable, plus which
 * mappings share a frame (frame numbers themselves are never compared:
 * model frames are bound to kernel frames as they are first seen).
 */
import { PAGEMAP_BITS, KPF_BITS } from '../kernel/fs/proc/bits.js';
import type { KState } from '../model/layout.js';
import { PGF_ALLOC, PGF_KSM } from '../model/layout.js';
import { ksm_merging_pages } from '../kernel/mm/ksm.js';
import { hugetlb_pool, task_alive, task_ksm_zero, page_test, page_gen, page_ref_count, page_mapcount } from '../model/mm_types.js';
import { lru_batch_refs } from '../kernel/mm/swap.js';
import { pagemap_entry } from '../kernel/fs/proc/task_mmu.js';
import { errnoName } from '../kernel/errno.js';
import type { Resolved } from '../scenario/resolve.js';
import { pageName, type RunResult, type StepRecord } from '../scenario/run.js';
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
}

/* pagemap and kpageflags bits, as bigint shifts */
const PM_PRESENT = BigInt(PAGEMAP_BITS.PRESENT);
const PM_SWAP = BigInt(PAGEMAP_BITS.SWAP);
const PM_FILE = BigInt(PAGEMAP_BITS.FILE);
const PM_UFFD_WP = BigInt(PAGEMAP_BITS.UFFD_WP);
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

function show(v: unknown): string {
  return typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v);
}

function retText(ret: number): string {
  return ret < 0 ? errnoName(ret) : String(ret);
}

function dataText(r: Resolved, d: number): string {
  if (d === 0) return 'zero';
  if (d < -1) return `value ${-d - 1}`;
  if (d < 0) return 'unrecognised data';
  for (const [l, i] of r.labels) if (i === d) return `step ${d} (${l})`;
  return `step ${d}`;
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
  const fields = FIELDS.filter((f) => f !== 'uffdWp' || !opts.caps || opts.caps.pagemapUffdWp);
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
    const div = (field: string, mv: string, kv: string, address = '', process = proc): Divergence => ({
      step: rec.index,
      process,
      address,
      field,
      model: mv,
      kernel: kv,
    });
    if (!ks) return div('step', 'ran', `did not run (${kernel.status}${kernel.messages.length ? `: ${kernel.messages.join('; ')}` : ''})`);
    // the executor reports the pages that changed at each step (entry 0: emptied), so every step's lines are applied,
    // compared or not
    for (const [k, kp] of kernel.pages.get(rec.index) ?? []) {
      if (kp.entry === 0n) kpages.delete(k);
      else kpages.set(k, kp);
    }
    if (either.has(rec.index)) return null;
    const kret = ks.errno ? -ks.errno : ks.ret;
    if (kret !== rec.result.ret) return div('return', retText(rec.result.ret), retText(kret));
    const msig = rec.result.signal === 'SIGSEGV' ? 11 : rec.result.signal === 'SIGBUS' ? 7 : 0;
    if (msig !== ks.sig)
      return div(
        'signal',
        msig ? String(rec.result.signal) : 'none',
        ks.sig === 11 ? 'SIGSEGV' : ks.sig === 7 ? 'SIGBUS' : ks.sig ? `signal ${ks.sig}` : 'none',
      );
    const mdata = rec.sees.map((x) => dataText(r, x)).join(', ');
    const kdata = ks.data.map((x) => dataText(r, x)).join(', ');
    if (mdata !== kdata) return div('data', mdata || 'nothing', kdata || 'nothing');
    if (ks.faults >= 0 && ks.faults !== rec.faults) return div('faults', String(rec.faults), String(ks.faults));
    if (ks.uffdFaults !== rec.uffdFaults) return div('uffd-faults', String(rec.uffdFaults), String(ks.uffdFaults));
    // ksmd's per-process count (5.19+), for programs that use KSM
    if (ks.ksm >= 0 && rec.state.L.geo.ksm) {
      const t = r.tasks.indexOf(proc);
      const mk = task_alive(rec.state, t) ? ksm_merging_pages(rec.state, t) : 0;
      if (mk !== ks.ksm) return div('ksm-merging-pages', String(mk), String(ks.ksm));
    }
    // ksm_zero_pages (6.5+), where the kernel shows it and the profile marks KSM zero pages
    if (ks.ksmZero !== undefined && ks.ksmZero >= 0 && rec.state.L.geo.ksm && opts.prof.mech.ksm.zeroPages === 'marked') {
      const t = r.tasks.indexOf(proc);
      const mz = task_alive(rec.state, t) ? task_ksm_zero(rec.state, t) : 0;
      if (mz !== ks.ksmZero) return div('ksm-zero-pages', String(mz), String(ks.ksmZero));
    }
    // the hugetlb pool, for programs that map hugetlb pages: what reservations and copies took
    if (ks.hugetlb && ks.hugetlb.free >= 0) {
      const p = hugetlb_pool(rec.state);
      const ksur = ks.hugetlb.surplus ?? 0;
      // surplus pages (nr_overcommit_hugepages) are named where either side has some
      const sur = (n: number) => (p.surplus || ksur ? `, ${n} surplus` : '');
      const mp = `${p.free} free, ${p.resv} reserved${sur(p.surplus)}`;
      const kp = `${ks.hugetlb.free} free, ${ks.hugetlb.resv} reserved${sur(ksur)}`;
      if (mp !== kp) return div('hugetlb-pool', mp, kp);
    }

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
            if (mv[f] !== kv[f]) return div(f, show(mv[f]), show(kv[f]), pageName(r, va), r.tasks[t]);
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
            return div('frame', `the page it mapped before (model page ${mv.pfn})`, 'a different frame', pageName(r, va), r.tasks[t]);
          }
          if (owner !== undefined && owner !== mk && !gone(s, owner)) {
            return div(
              'frame',
              `model page ${mv.pfn}, not page ${owner.split(':')[0]}`,
              'the frame of another page the model keeps apart',
              pageName(r, va),
              r.tasks[t],
            );
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
    };
  };
  return { step, end };
}
