/**
 * The properties checked after every step. They watch the state and the
 * step's observations; they do not trust the profile, so a wrong mechanism
 * shows up as a violation.
 *
 * - no-leak: data read through a private mapping or a reference one took
 *   (pipe, pin) is never another process's write made after they diverged;
 * - pin-coherent: while a long-term pin (or a DMA-to-memory reference still
 *   in flight) is held and its owner has not replaced the range itself,
 *   the pinned page is the page its owner maps there;
 * - private-file-integrity: no page-cache page holds data written through
 *   a private mapping;
 * - no-lost-write: when a fault replaces the anonymous page a process maps
 *   by a copy, the copy holds what the old page holds at that moment (a store that
 *   reached the old page after the copy was taken, through a stale TLB
 *   entry, is lost to the process);
 * - fork-snapshot: what a fork's child gets of the parent's private memory
 *   is the parent's memory at one instant, though other threads of the
 *   parent store while the fork runs;
 * - no-stale-tlb: when a MADV_DONTNEED returns, no CPU still translates a
 *   page of its range;
 * - model-invariant: a bug in cowlab itself.
 */
import type { KState } from '../model/layout.js';
import { REF_IOURING, REF_GUP_PIN, REF_ODIRECT, REFST_DETACHED, REFST_DMA_TO_MEMORY, FF_OPEN } from '../model/layout.js';
import { ref_owner, ref_vpage, ref_pfn, ref_foll, ref_state } from '../model/refs.js';
import {
  ref_kind,
  task_alive,
  pte_lookup,
  swap_cache_pfn,
  page_data,
  file_flags,
  file_size,
  filemap_get,
  write_writer,
  write_step,
} from '../model/mm_types.js';
import { pte_present, pte_pfn, is_swap_pte, pte_swp_slot, pte_none } from '../model/pte.js';
import { wid_is_shared, wid_visible } from '../model/writes.js';
import type { ReadObs, LostWrite, TornFork, StaleTlb } from '../kernel/ctx.js';
import type { Profile } from '../profiles/types.js';
import { FOLL_LONGTERM } from '../kernel/mm/gup.js';
import { checkInvariants } from '../model/invariants.js';
import { keepsAnonExclusive } from '../profiles/types.js';
import { GUP_PIN_COUNTING_BIAS } from '../kernel/mm/rmap.js';

export type PropertyName =
  'no-leak' | 'pin-coherent' | 'private-file-integrity' | 'no-lost-write' | 'fork-snapshot' | 'no-stale-tlb' | 'model-invariant';

export const PROPERTIES: readonly PropertyName[] = [
  'no-leak',
  'pin-coherent',
  'private-file-integrity',
  'no-lost-write',
  'fork-snapshot',
  'no-stale-tlb',
  'model-invariant',
];

/** A property that failed. */
export interface Violation {
  property: PropertyName;
  /** step at which it was detected */
  step: number;
  /** step since which it holds (the write that leaked, the step that broke the pin), or the detection step */
  since: number;
  message: string;
}

/** How to name things in messages. */
export interface Names {
  task(t: number): string;
  page(va: number): string;
  /** "P0's write at step 6 (secret)" */
  write(s: KState, wid: number): string;
  /** a thread by its slot ("thread T1"); default "thread slot N" */
  thread?(th: number): string;
}

/** Default names for runs without a scenario (the explorer, property tests). */
export const plainNames: Names = {
  task: (t) => `task ${t}`,
  page: (va) => `page ${va}`,
  write: (s, w) => {
    const st = write_step(s, w);
    return `task ${write_writer(s, w)}'s write${st >= 0 ? ` at step ${st}` : ''}`;
  },
};

const VIA: Record<string, string> = {
  mem: 'its mapping',
  pipe: 'a pipe',
  pin: 'a pin',
  iouring: 'an io_uring fixed buffer',
  odirect: 'O_DIRECT',
  process_vm_readv: 'process_vm_readv',
  proc_mem: '/proc/PID/mem',
};

/** Pins found broken alike on consecutive pages, reported as one violation. */
interface PinRun {
  owner: number;
  kind: number;
  what: string;
  /** 0: nothing mapped there, 1: another page, 2: swapped out without the pinned page */
  nowKind: number;
  /** what the pinned page holds (nowKind 1) */
  wid: number;
  vpage: number;
  pfn: number;
  n: number;
}

/** Checks the properties step after step; remembers what was already reported. */
export class Monitor {
  private readonly reported = new Set<string>();
  /** broken pins already reported: per owner and page, 1 + the first frame (a 1 GiB page has 262144 pins) */
  private readonly pinFirst = new Map<number, Int32Array>();
  /** and any later frame reported at the same owner and page */
  private readonly pinMore = new Map<number, number[]>();

  /**
   * `only`: the properties to check (the explorer's; null: all). Checking
   * none of the others changes nothing of these: each is computed alone.
   */
  constructor(
    readonly names: Names = plainNames,
    readonly invariants = true,
    readonly only: ReadonlySet<PropertyName> | null = null,
  ) {}

  private wants(p: PropertyName): boolean {
    return this.only === null || this.only.has(p);
  }

  /** Checks the state after step `step` (its observations in `eff`) of a kernel with these mechanisms. */
  check(
    s: KState,
    eff: {
      readonly reads: readonly ReadObs[];
      readonly bugs: readonly string[];
      readonly lost?: readonly LostWrite[];
      readonly torn?: readonly TornFork[];
      readonly staleTlb?: readonly StaleTlb[];
    },
    prof: Profile,
    step: number,
  ): Violation[] {
    const out: Violation[] = [];
    if (this.wants('no-leak')) this.noLeak(s, eff.reads, step, out);
    if (this.wants('pin-coherent')) this.pinCoherent(s, step, out);
    if (this.wants('private-file-integrity')) this.fileIntegrity(s, step, out);
    for (const l of eff.lost ?? []) {
      const since = write_step(s, l.wid);
      const copied = l.copied ? this.names.write(s, l.copied) : 'zero-filled content';
      out.push({
        property: 'no-lost-write',
        step,
        since: since >= 0 ? since : step,
        message: l.swapin
          ? `${this.names.task(l.t)}'s ${this.names.page(l.vpage)} was mapped from swap with pfn#${l.pfn} holding ${copied}, read before its swap slot was freed and used again: ` +
            `the slot, which the PTE names again, holds ${this.names.write(s, l.wid)}, stored since: the store is lost`
          : `${this.names.task(l.t)}'s ${this.names.page(l.vpage)} was replaced by a copy holding ${copied}, ` +
            `while the old page (pfn#${l.pfn}) holds ${this.names.write(s, l.wid)}, stored after the copy was taken: the store is lost`,
      });
    }
    for (const x of eff.torn ?? []) {
      const since = write_step(s, x.wid);
      out.push({
        property: 'fork-snapshot',
        step,
        since: x.wid > 0 && since >= 0 ? since : step,
        message:
          `${this.names.task(x.t)}'s fork of ${this.names.task(x.child)} is torn: ${this.names.task(x.child)} gets ` +
          `${x.wid > 0 ? this.names.write(s, x.wid) : 'the store of zero bytes'} in ${this.names.page(x.vpage)}, which the fork had not reached, ` +
          `but not an earlier store to a page it had already copied: the child's memory is no state the parent's ever was`,
      });
    }
    for (const x of eff.staleTlb ?? []) {
      out.push({
        property: 'no-stale-tlb',
        step,
        since: step,
        message:
          `${this.names.task(x.t)}'s MADV_DONTNEED of ${this.names.page(x.vpage)} returned while ${this.names.thread?.(x.th) ?? `thread slot ${x.th}`}'s CPU still translates it ` +
          `(to pfn#${x.pfn}, which the zap took away): that CPU may go on reading and writing the old page`,
      });
    }
    for (const b of eff.bugs) out.push({ property: 'model-invariant', step, since: step, message: `cowlab bug: ${b}` });
    if (this.invariants) {
      for (const b of checkInvariants(s, {
        exclusiveMarker: keepsAnonExclusive(prof.mech),
        pinRefs: prof.mech.gup.pinCounting === 'get' ? 1 : GUP_PIN_COUNTING_BIAS,
        largePinCount: prof.mech.gup.pinCounting === 'bias',
      })) {
        if (this.once(`inv:${b}`)) out.push({ property: 'model-invariant', step, since: step, message: `cowlab bug: ${b}` });
      }
    }
    return out;
  }

  /** Forgets what was reported (the explorer checks unrelated states with one monitor). */
  reset(): void {
    // (clearing an empty Set still allocates a new table: the explorer resets once per state)
    if (this.reported.size) this.reported.clear();
    if (this.pinFirst.size) this.pinFirst.clear();
    if (this.pinMore.size) this.pinMore.clear();
  }

  private oncePin(owner: number, vpage: number, pfn: number, vpages: number): boolean {
    let first = this.pinFirst.get(owner);
    if (!first || first.length < vpages) {
      const grown = new Int32Array(vpages);
      if (first) grown.set(first);
      this.pinFirst.set(owner, (first = grown));
    }
    const f = first[vpage]!;
    if (f === 0) {
      first[vpage] = pfn + 1;
      return true;
    }
    if (f === pfn + 1) return false;
    const key = owner * vpages + vpage;
    const more = this.pinMore.get(key);
    if (more?.includes(pfn)) return false;
    if (more) more.push(pfn);
    else this.pinMore.set(key, [pfn]);
    return true;
  }

  private once(key: string): boolean {
    if (this.reported.has(key)) return false;
    this.reported.add(key);
    return true;
  }

  private noLeak(s: KState, reads: readonly ReadObs[], step: number, out: Violation[]): void {
    const n = this.names;
    for (const r of reads) {
      if (r.wid === 0 || wid_is_shared(s, r.wid)) continue;
      if (!task_alive(s, r.observer)) continue;
      if (wid_visible(s, r.observer, r.wid)) continue;
      const who = r.reader === r.observer ? n.task(r.reader) : `${n.task(r.reader)} (on behalf of ${n.task(r.observer)})`;
      const since = write_step(s, r.wid);
      // a run (pages of one huge leaf that held the same write) is one violation naming its pages
      const nr = r.n ?? 1;
      const pages = nr === 1 ? n.page(r.vpage) : `${n.page(r.vpage)} to ${n.page(r.vpage + nr - 1)} (${nr} pages)`;
      out.push({
        property: 'no-leak',
        step,
        since: since >= 0 ? since : step,
        message:
          `${who} read ${pages} through ${VIA[r.via]} and got ${n.write(s, r.wid)}, ` +
          `which ${n.task(r.observer)} must not see: it was written after they diverged`,
      });
    }
  }

  private pinCoherent(s: KState, step: number, out: Violation[]): void {
    const n = this.names;
    const L = s.L;
    const nrefs = L.geo.refs;
    // a run of pins that broke alike (one owner and kind, consecutive pages and frames, one content):
    // one violation naming its pages, as for a 1 GiB page pinned page by page
    let run: PinRun | null = null;
    const emit = (r: PinRun) => {
      const now =
        r.nowKind === 0
          ? 'maps nothing there'
          : r.nowKind === 1
            ? `maps another page there (the pinned one holds ${n.write(s, r.wid)})`
            : 'has it swapped out without the pinned page';
      const pages = r.n === 1 ? n.page(r.vpage) : `${n.page(r.vpage)} to ${n.page(r.vpage + r.n - 1)} (${r.n} pages)`;
      out.push({
        property: 'pin-coherent',
        step,
        since: step,
        message: `${n.task(r.owner)}'s ${r.what} on ${pages} no longer refers to the page it maps: ${n.task(r.owner)} ${now}`,
      });
    };
    for (let ri = 0; ri < nrefs; ri++) {
      const kind = ref_kind(s, ri);
      if (kind !== REF_IOURING && kind !== REF_GUP_PIN && kind !== REF_ODIRECT) continue;
      const foll = ref_foll(s, ri);
      const state = ref_state(s, ri);
      const owner = ref_owner(s, ri);
      if (kind === REF_GUP_PIN && (foll & FOLL_LONGTERM) === 0) continue;
      if (kind === REF_ODIRECT && (state & REFST_DMA_TO_MEMORY) === 0) continue;
      if (state & REFST_DETACHED) continue;
      if (!task_alive(s, owner)) continue;
      const vpage = ref_vpage(s, ri);
      const pfn = ref_pfn(s, ri);
      const pte = pte_lookup(s, owner, vpage);
      let mapped = 0;
      if (pte_present(pte)) mapped = pte_pfn(pte);
      else if (is_swap_pte(pte)) mapped = swap_cache_pfn(s, pte_swp_slot(pte));
      if (mapped === pfn) continue;
      // reported once per owner, page and pinned frame
      if (!this.oncePin(owner, vpage, pfn, L.geo.vpages)) continue;
      const what =
        kind === REF_IOURING
          ? 'io_uring fixed buffer'
          : kind === REF_ODIRECT
            ? 'O_DIRECT read in flight'
            : `${foll & 1 ? 'R/W' : 'R/O'} long-term pin`;
      const nowKind = pte_none(pte) ? 0 : mapped ? 1 : 2;
      const wid = nowKind === 1 ? page_data(s, pfn) : 0;
      if (
        run &&
        run.owner === owner &&
        run.what === what &&
        run.nowKind === nowKind &&
        run.wid === wid &&
        run.vpage + run.n === vpage &&
        run.pfn + run.n === pfn
      )
        run.n++;
      else {
        if (run) emit(run);
        run = { owner, kind, what, nowKind, wid, vpage, pfn, n: 1 };
      }
    }
    if (run) emit(run);
  }

  private fileIntegrity(s: KState, step: number, out: Violation[]): void {
    for (let f = 0; f < s.L.geo.files; f++) {
      if ((file_flags(s, f) & FF_OPEN) === 0) continue;
      for (let i = 0; i < file_size(s, f); i++) {
        const pfn = filemap_get(s, f, i);
        if (!pfn) continue;
        const w = page_data(s, pfn);
        if (w === 0 || wid_is_shared(s, w)) continue;
        if (!this.once(`file:${f}:${i}:${w}`)) continue;
        out.push({
          property: 'private-file-integrity',
          step,
          since: write_step(s, w) >= 0 ? write_step(s, w) : step,
          message: `page ${i} of file ${f} now holds ${this.names.write(s, w)}, written through a private mapping`,
        });
      }
    }
  }
}
