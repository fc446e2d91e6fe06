/**
 * Canonical states and their 64-bit fingerprints, for the explorer's
 * visited set.
 *
 * Two states that differ only in which frame, swap slot or write record
 * holds what, or in which process slot holds which process, behave alike:
 * the canonical form renames all of them. Processes are ordered by a
 * signature of what they map (ties keep slot order: sound, if not always
 * minimal); frames, swap slots and write ids are then numbered in order of
 * first reference along a fixed walk of the renamed state. History that
 * does not influence behaviour (allocation sequence numbers, the step that
 * made a write, a process's parent, the allocator's high-water mark) is
 * left out.
 *
 * The canonical form is a faithful relabelling, so equal forms mean
 * isomorphic states; its fingerprint is two independent 32-bit hashes.
 */
import type { KState } from './layout.js';
import {
  PAGE_WORDS,
  PG_FLAGS,
  PG_REF,
  PG_MAPCOUNT,
  PG_PINCOUNT,
  PG_DATA,
  PG_PRIVATE,
  PG_MAPPING,
  PG_INDEX,
  PGF_ALLOC,
  PGF_SWAPCACHE,
  T_STATE,
  T_MMFLAGS,
  T_CURWID,
  T_UFFD,
  T_UID,
  T_MEMLOCK,
  T_RING_ACCT,
  T_RING,
  TASK_ALIVE,
  TASK_DEAD,
  VMA_WORDS,
  V_START,
  V_END,
  F_FLAGS,
  F_SIZE,
  F_MAPS,
  F_HRESV,
  F_HDR,
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
  G_SEQ,
  G_PFN_HWM,
  G_FREE_HINT,
  PG_GEN,
  T_PARENT,
  W_STEP,
  PB_PFN,
  PB_TAKER,
  PB_VPAGE,
  REF_WORDS,
  R_KIND,
  R_OWNER,
  R_VPAGE,
  R_PFN,
  R_FOLL,
  R_STATE,
  R_HANDLE,
  R_FILE,
  R_INDEX,
  REF_FREE,
  WRITE_WORDS,
  W_VALUE,
  W_FLAGS,
  W_WRITER,
  W_SRC,
  W_BASE,
  W_RANGE,
  W_FROM,
  W_SHIFT,
  WR_USED,
  G_LRU_N,
  G_ACT_N,
  G_SWAP_OFF,
  G_USER_LOCKED,
  PG_HEAD,
  PG_ORDER,
  PG_ENTIRE,
  PG_LARGE,
  PG_MMID0,
  PG_MMID1,
  PG_MMC0,
  PG_MMC1,
  THREAD_WORDS,
  TH_STOP_END,
  TH_TLB_VA,
  TH_TLB_PFN,
  THOP_COW_COPY,
  THOP_USER_FAULT,
  THOP_SWAPIN,
  THOP_GUP_FAST,
  THOP_COLLAPSE,
  TH_I,
  TH_DONE,
  TH_TRIES,
  TH_TASK,
  TH_OP,
  TH_MM,
  TH_VA,
  TH_N,
  THOP_FORK,
} from './layout.js';
import { PMD_HUGE_T } from './pmd.js';

import { PTE_TYPE_MASK as TYPE_MASK, PTE_PRESENT_T as PRESENT, PTE_SWAP_T as SWAP, PTE_PAYLOAD_SHIFT as PAYLOAD } from './pte.js';

/** How the canonical form orders processes (see the Canonicalizer constructor). */
export type Symmetry = 'signature' | 'exact' | 'none';

/** Orders of tied processes tried at most by the 'exact' symmetry (beyond, slot order breaks the ties). */
const MAX_TIE_ORDERS = 120;

/** Reusable scratch buffers for one layout. */
export class Canonicalizer {
  private len = 0;
  private readonly frameMap: Int32Array;
  private readonly frameSeen: Int32Array;
  private readonly slotMap: Int32Array;
  private readonly widMap: Int32Array;
  /** swap slots and write ids by canonical number (preallocated: a walk allocates nothing) */
  private readonly slotOrder: Int32Array;
  private readonly widOrder: Int32Array;
  /** the canonical form being walked (hashed at the end of the walk, in one loop) */
  private form = new Int32Array(64);
  private readonly taskMap: Int32Array;
  private readonly taskOrder: number[] = [];
  /** a task's vis bitset over canonical write ids */
  private readonly vis: Int32Array;
  /** the used references in canonical order */
  private readonly refOrder: Int32Array;
  /** per task: its sort key (rank and signature) */
  private readonly key: Float64Array;
  private nFrames = 0;
  /** folio heads in canonical order (the first nHeads; preallocated, as the rest) */
  private readonly heads: Int32Array;
  private nHeads = 0;
  /** the state being canonicalised */
  private s: KState | null = null;
  private nSlots = 0;
  private nWids = 0;
  private epoch = 0;

  /**
   * `whole`: also keep what only words messages (who made a write, where a
   * pipe buffer's page was mapped): the unreduced form the exactness test
   * compares the explorer's reduction with. `symmetry`: how processes are
   * ordered. 'signature' (the explorer's default): by signature, ties in
   * slot order, so two states that differ only in which slot holds which
   * process may still get two forms. 'exact': tied processes in every order,
   * the least fingerprint kept, so such states always get one form (what
   * the explorer's sleep sets need: src/explore/sleep.ts); more work where
   * processes tie. 'none': slot order.
   */
  constructor(
    L: KState['L'],
    private readonly whole = false,
    private readonly symmetry: Symmetry = 'signature',
  ) {
    this.frameMap = new Int32Array(L.geo.frames);
    this.frameSeen = new Int32Array(L.geo.frames);
    this.heads = new Int32Array(L.geo.frames);
    this.slotMap = new Int32Array(L.geo.swapSlots);
    this.widMap = new Int32Array(L.geo.writes);
    this.slotOrder = new Int32Array(L.geo.swapSlots);
    this.widOrder = new Int32Array(L.geo.writes);
    this.taskMap = new Int32Array(L.geo.tasks);
    this.key = new Float64Array(L.geo.tasks);
    this.refOrder = new Int32Array(L.geo.refs);
    this.vis = new Int32Array((L.geo.writes >>> 5) + 2);
    for (let t = 0; t < L.geo.tasks; t++) this.taskOrder.push(t);
  }

  /** the form's two hashes (hashForm()) */
  private h1 = 0;
  private h2 = 0;

  /**
   * Walks `s` and hashes its form, in one loop (cheaper than hashing word by
   * word as it is made).
   */
  private hashForm(s: KState): void {
    this.walk(s);
    if (this.len > this.form.length) {
      this.form = new Int32Array(this.len * 2);
      this.walk(s);
    }
    const f = this.form;
    const n = this.len;
    let h1 = 0x811c9dc5;
    let h2 = 0x27d4eb2f;
    for (let i = 0; i < n; i++) {
      const v = f[i]!;
      h1 = Math.imul(h1 ^ v, 0x01000193) ^ (h1 >>> 15);
      h2 = Math.imul(h2 + v, 0x9e3779b1) ^ (h2 >>> 13);
    }
    this.h1 = h1;
    this.h2 = h2;
  }

  /**
   * The words the canonical form never reads (1 in the result): the history
   * it leaves out (allocation numbers, the allocator's high-water mark and
   * free hint, a process's parent, the step that made a write) and, unless
   * `whole`, what only names things in messages (who made a write, where a
   * pipe buffer's page was mapped). States that differ only in them have
   * one form (src/explore/rawseen.ts hashes the rest; test/unit/model/canon.test.ts
   * checks that no walk reads them).
   */
  unread(L: KState['L']): Uint8Array {
    const u = new Uint8Array(L.size);
    const geo = L.geo;
    u[G_SEQ] = u[G_PFN_HWM] = u[G_FREE_HINT] = 1;
    for (let f = 0; f < geo.frames; f++) u[L.memmap + f * PAGE_WORDS + PG_GEN] = 1;
    for (let t = 0; t < geo.tasks; t++) u[L.tasks + t * L.taskWords + T_PARENT] = 1;
    for (let w = 0; w < geo.writes; w++) {
      u[L.writes + w * WRITE_WORDS + W_STEP] = 1;
      if (!this.whole) u[L.writes + w * WRITE_WORDS + W_WRITER] = 1;
    }
    if (!this.whole)
      for (let p = 0; p < geo.pipes; p++)
        for (let b = 0; b < geo.pipeBufs; b++) u[L.pipes + p * L.pipeWords + P_HDR + b * PIPEBUF_WORDS + PB_VPAGE] = 1;
    return u;
  }

  /**
   * The canonical number of a frame. Folios are numbered whole, in order of
   * first reference, so a page keeps its offset from its folio's head and a
   * large folio's pages stay consecutive.
   */
  private frame(pfn: number): number {
    if (pfn <= 1) return pfn; // none, or the shared zero page
    const m = this.s!.m;
    const memmap = this.s!.L.memmap;
    const h0 = m[memmap + pfn * PAGE_WORDS + PG_HEAD]!;
    const head = h0 === 0 ? pfn : h0;
    if (this.frameSeen[head] !== this.epoch) {
      this.frameSeen[head] = this.epoch;
      this.frameMap[head] = 2 + this.nFrames;
      this.nFrames += h0 === 0 ? 1 : 1 << m[memmap + head * PAGE_WORDS + PG_ORDER]!;
      this.heads[this.nHeads++] = head;
    }
    return this.frameMap[head]! + (pfn - head);
  }

  /** A PTE value with its frame or swap slot in canonical numbers (as the page tables are emitted). */
  private pteWord(p: number): number {
    const ty = p & TYPE_MASK;
    if (ty === PRESENT) return (this.frame(p >>> PAYLOAD) << PAYLOAD) | (p & 0xff);
    if (ty === SWAP) return (this.slot(p >>> PAYLOAD) << PAYLOAD) | (p & 0xff);
    return p;
  }

  private slot(sl: number): number {
    if (sl <= 0) return sl;
    if (this.slotMap[sl] === 0) this.slotMap[sl] = ++this.nSlots;
    return this.slotMap[sl]!;
  }

  private wid(w: number): number {
    if (w <= 0) return w;
    if (this.widMap[w] === 0) this.widMap[w] = ++this.nWids;
    return this.widMap[w]!;
  }

  /** A task's signature: what it maps and holds, with no frame, slot or wid number in it. */
  private signature(s: KState, t: number): number {
    const { L, m } = s;
    const base = L.tasks + t * L.taskWords;
    let h = mix(0x9e3779b9, m[base + T_STATE]!);
    if (m[base + T_STATE] !== TASK_ALIVE) return h;
    h = mix(h, m[base + T_MMFLAGS]!);
    h = mix(h, m[base + T_UFFD]!);
    h = mix(h, m[base + T_UID]!);
    h = mix(h, m[base + T_MEMLOCK]!);
    h = mix(h, m[base + T_RING_ACCT]!);
    h = mix(h, m[base + T_RING]!);
    let vis = 0;
    for (let i = 0; i < L.visWords; i++) vis += popcount(m[base + L.tVis + i]!);
    h = mix(h, vis);
    const nv = usedVmas(s, base);
    h = mix(h, nv);
    for (let i = 0; i < nv * VMA_WORDS; i++) h = mix(h, m[base + L.tVma + i]!);
    for (let i = 0; i < L.pmds; i++) h = mix(h, m[base + L.tPmd + i]! & 0xff);
    for (let va = 0; va < L.geo.vpages; va++) {
      const p = m[base + L.tPte + va]!;
      h = mix(h, p & 0xff);
      if ((p & TYPE_MASK) === PRESENT) {
        const pfn = p >>> PAYLOAD;
        const o = L.memmap + pfn * PAGE_WORDS;
        h = mix(h, m[o + PG_FLAGS]!);
        h = mix(h, m[o + PG_REF]!);
        h = mix(h, m[o + PG_MAPCOUNT]!);
      }
    }
    return h;
  }

  /** Orders the processes of `s` (this.taskOrder): rank (alive, dead, never used), then signature, then slot. */
  private orderTasks(s: KState): void {
    const { L, m } = s;
    const geo = L.geo;
    const order = this.taskOrder;
    const key = this.key;
    for (let t = 0; t < geo.tasks; t++) {
      const st = m[L.tasks + t * L.taskWords + T_STATE]!;
      // one number, sorted by insertion (a handful of tasks)
      key[t] = this.symmetry !== 'none' ? (st === TASK_ALIVE ? 0 : st === TASK_DEAD ? 1 : 2) * 2 ** 32 + (this.signature(s, t) >>> 0) : t;
      let i = t;
      while (i > 0 && key[order[i - 1]!]! > key[t]!) {
        order[i] = order[i - 1]!;
        i--;
      }
      order[i] = t;
    }
  }

  /** Runs of tied alive or dead processes in this.taskOrder ([start, length] pairs), or null if none or too many orders. */
  private ties(): number[] | null {
    const order = this.taskOrder;
    const key = this.key;
    const out: number[] = [];
    let orders = 1;
    for (let i = 0; i < order.length;) {
      let j = i + 1;
      while (j < order.length && key[order[j]!] === key[order[i]!]) j++;
      // never used slots are named by nothing: their order cannot matter
      if (j - i > 1 && key[order[i]!]! < 2 * 2 ** 32) {
        out.push(i, j - i);
        for (let k = 2; k <= j - i; k++) orders *= k;
      }
      i = j;
    }
    return out.length && orders <= MAX_TIE_ORDERS ? out : null;
  }

  /** A task's canonical number (walk() fills taskMap); negative numbers name none. */
  private task(t: number): number {
    return t < 0 ? t : this.taskMap[t]!;
  }

  /** Reference a sorts before reference b (the refs table at `refs`): by what they name, never by frame numbers. */
  private refBefore(m: Int32Array, refs: number, a: number, b: number): boolean {
    const oa = refs + a * REF_WORDS;
    const ob = refs + b * REF_WORDS;
    return (
      (this.task(m[oa + R_OWNER]!) - this.task(m[ob + R_OWNER]!) ||
        m[oa + R_VPAGE]! - m[ob + R_VPAGE]! ||
        m[oa + R_KIND]! - m[ob + R_KIND]! ||
        m[oa + R_FOLL]! - m[ob + R_FOLL]! ||
        m[oa + R_STATE]! - m[ob + R_STATE]! ||
        m[oa + R_FILE]! - m[ob + R_FILE]! ||
        m[oa + R_INDEX]! - m[ob + R_INDEX]!) < 0
    );
  }

  /** Writes the canonical form of `s` (processes in this.taskOrder) into this.form[0, len). */
  private walk(s: KState): void {
    const { L, m } = s;
    const geo = L.geo;
    // the form, written through locals (out[len++] = word: a word past the end is dropped, but counted, and hashForm() walks again)
    const out = this.form;
    let len = 0;
    this.nFrames = 0;
    this.nHeads = 0;
    this.s = s;
    this.nSlots = 0;
    this.nWids = 0;
    this.epoch++;
    // (loops: fill() is a call whose cost is more than these few words)
    for (let i = 0; i < this.slotMap.length; i++) this.slotMap[i] = 0;
    for (let i = 0; i < this.widMap.length; i++) this.widMap[i] = 0;

    // processes: alive ones by signature, then dead ones, then never used slots (orderTasks())
    const order = this.taskOrder;
    for (let i = 0; i < geo.tasks; i++) this.taskMap[order[i]!] = i;

    // header: the per-CPU batches (in order)
    out[len++] = m[G_LRU_N]!;
    for (let i = 0; i < m[G_LRU_N]!; i++) out[len++] = this.frame(m[L.lru + i]!);
    out[len++] = m[G_ACT_N]!;
    for (let i = 0; i < m[G_ACT_N]!; i++) out[len++] = this.frame(m[L.act + i]!);
    out[len++] = m[G_SWAP_OFF]!;
    out[len++] = m[G_USER_LOCKED]!;

    // tasks in canonical order; page tables name frames and swap slots first
    for (const t of order) {
      const base = L.tasks + t * L.taskWords;
      const st = m[base + T_STATE]!;
      out[len++] = st;
      if (st !== TASK_ALIVE) continue;
      out[len++] = m[base + T_MMFLAGS]!;
      out[len++] = m[base + T_UFFD]!;
      out[len++] = m[base + T_UID]!;
      out[len++] = m[base + T_MEMLOCK]!;
      out[len++] = m[base + T_RING_ACCT]!;
      out[len++] = m[base + T_RING]!;
      // the VMAs in use (vmas_store() keeps them first, in address order, and zeroes the free slots)
      const nv = usedVmas(s, base);
      out[len++] = nv;
      for (let i = 0; i < nv * VMA_WORDS; i++) out[len++] = m[base + L.tVma + i]!;
      for (let i = 0; i < L.pmds; i++) {
        const p = m[base + L.tPmd + i]!;
        // a huge PMD names its folio's head
        out[len++] = (p & 0x3) === PMD_HUGE_T ? (this.frame(p >>> PAYLOAD) << PAYLOAD) | (p & 0xff) : p;
      }
      for (let va = 0; va < geo.vpages; va++) {
        const p = m[base + L.tPte + va]!;
        const ty = p & TYPE_MASK;
        if (ty === PRESENT) out[len++] = (this.frame(p >>> PAYLOAD) << PAYLOAD) | (p & 0xff);
        else if (ty === SWAP) out[len++] = (this.slot(p >>> PAYLOAD) << PAYLOAD) | (p & 0xff);
        else out[len++] = p;
      }
    }
    // threads (the explorer's: process t's thread j is slot t * per + j), with their stopped operations
    const nth = geo.threads ?? 0;
    if (nth) {
      const per = nth / geo.tasks;
      for (const t of order) {
        for (let j = 0; j < per; j++) {
          const o = L.threads + (t * per + j) * THREAD_WORDS;
          out[len++] = j === 0 || m[o + TH_TASK] !== 0 ? 1 : 0;
          // the CPU's TLB entry (kept only where a flush can be deferred): a page and the frame it names
          if (geo.tlb) {
            out[len++] = m[o + TH_TLB_VA]!;
            out[len++] = this.frame(m[o + TH_TLB_PFN]!);
          }
          const op = m[o + TH_OP]!;
          out[len++] = op;
          if (op === 0) continue;
          out[len++] = this.task(m[o + TH_MM]!);
          // a stopped fork's TH_N names its child, a stopped COW copy's its new page
          for (let f = TH_VA; f < TH_STOP_END; f++) {
            const v = m[o + f]!;
            // (a stopped store's TH_TRIES is the step that started it: it only names its write in messages)
            if (f === TH_TRIES && (op === THOP_COW_COPY || op === THOP_USER_FAULT || op === THOP_SWAPIN) && !this.whole) continue;
            // words that name a task, a frame or a swap slot, or are a PTE or PMD, in canonical numbers
            if (op === THOP_FORK && f === TH_N) out[len++] = this.task(v);
            else if ((op === THOP_COW_COPY || op === THOP_SWAPIN || op === THOP_COLLAPSE) && f === TH_N) out[len++] = this.frame(v);
            else if ((op === THOP_COW_COPY || op === THOP_SWAPIN) && f === TH_I) out[len++] = this.pteWord(v);
            else if (op === THOP_GUP_FAST && f === TH_TRIES) out[len++] = this.pteWord(v);
            else if (op === THOP_GUP_FAST && f === TH_DONE)
              out[len++] = (v & 0x3) === PMD_HUGE_T ? (this.frame(v >>> PAYLOAD) << PAYLOAD) | (v & 0xff) : v;
            else out[len++] = v;
          }
        }
      }
    }
    // pipes, owned by the task that created them (pipe id == creator in the explorer; in order otherwise)
    for (let p = 0; p < geo.pipes; p++) {
      const pp = p < geo.tasks ? order[p]! : p;
      const o = L.pipes + pp * L.pipeWords;
      out[len++] = m[o + P_STATE]!;
      if (!m[o + P_STATE]) continue;
      let holders = 0;
      const hm = m[o + P_HOLDERS]!;
      for (let t = 0; t < geo.tasks; t++) if (hm & (1 << t)) holders |= 1 << this.task(t);
      out[len++] = holders;
      const n = m[o + P_NBUF]!;
      out[len++] = n;
      for (let i = 0; i < n; i++) {
        const b = o + P_HDR + i * PIPEBUF_WORDS;
        out[len++] = this.frame(m[b + PB_PFN]!);
        out[len++] = this.task(m[b + PB_TAKER]!);
        // (PB_VPAGE, where the buffer came from, only names the page in messages)
        if (this.whole) out[len++] = m[b + PB_VPAGE]!;
      }
    }
    // references, in an order that does not depend on frame numbers
    // the used references by insertion (a few; ties keep slot order)
    const refs = this.refOrder;
    let nrefs = 0;
    for (let r = 0; r < geo.refs; r++) {
      if (m[L.refs + r * REF_WORDS + R_KIND] === REF_FREE) continue;
      let i = nrefs++;
      while (i > 0 && this.refBefore(m, L.refs, r, refs[i - 1]!)) {
        refs[i] = refs[i - 1]!;
        i--;
      }
      refs[i] = r;
    }
    out[len++] = nrefs;
    for (let k = 0; k < nrefs; k++) {
      const r = refs[k]!;
      const o = L.refs + r * REF_WORDS;
      out[len++] = m[o + R_KIND]!;
      out[len++] = this.task(m[o + R_OWNER]!);
      out[len++] = m[o + R_VPAGE]!;
      out[len++] = this.frame(m[o + R_PFN]!);
      out[len++] = m[o + R_FOLL]!;
      out[len++] = m[o + R_STATE]!;
      // handles are per owner; only their number within the owner matters
      out[len++] = m[o + R_HANDLE]! % 4096;
      out[len++] = m[o + R_FILE]!;
      out[len++] = m[o + R_INDEX]!;
    }
    // files and their page cache
    for (let f = 0; f < geo.files; f++) {
      const o = L.files + f * L.fileWords;
      out[len++] = m[o + F_FLAGS]!;
      out[len++] = m[o + F_SIZE]!;
      out[len++] = m[o + F_MAPS]!;
      out[len++] = m[o + F_HRESV]!;
      for (let i = 0; i < m[o + F_SIZE]!; i++) out[len++] = this.frame(m[o + F_HDR + i]!);
    }
    // swap slots named so far (a swap cache page names its frame), then any other used slot
    for (let sl = 1; sl < geo.swapSlots; sl++) if (m[L.swap + sl * SWAP_WORDS + S_USED]) this.slot(sl);
    const slots = this.slotOrder;
    const nSlots = this.nSlots;
    for (let sl = 1; sl < geo.swapSlots; sl++) if (this.slotMap[sl]) slots[this.slotMap[sl]! - 1] = sl;
    out[len++] = nSlots;
    for (let k = 0; k < nSlots; k++) {
      const sl = slots[k]!;
      const o = L.swap + sl * SWAP_WORDS;
      out[len++] = m[o + S_COUNT]!;
      out[len++] = this.frame(m[o + S_CACHE]!);
    }
    // frames in canonical order (frames nothing names, e.g. leaked ones, last in PFN order), folio by folio
    for (let pfn = 2; pfn < geo.frames; pfn++) if (m[L.memmap + pfn * PAGE_WORDS + PG_FLAGS]! & PGF_ALLOC) this.frame(pfn);
    out[len++] = this.nFrames;
    for (let k = 0; k < this.nHeads; k++) {
      const head = this.heads[k]!;
      const ho = L.memmap + head * PAGE_WORDS;
      const large = m[ho + PG_HEAD] !== 0;
      const nr = large ? 1 << m[ho + PG_ORDER]! : 1;
      if (large) {
        // the folio-wide fields; MM-ID slots name tasks
        out[len++] = m[ho + PG_ORDER]!;
        out[len++] = m[ho + PG_ENTIRE]!;
        out[len++] = m[ho + PG_LARGE]!;
        out[len++] = this.task(m[ho + PG_MMID0]! - 1);
        out[len++] = m[ho + PG_MMC0]!;
        out[len++] = this.task(m[ho + PG_MMID1]! - 1);
        out[len++] = m[ho + PG_MMC1]!;
      }
      for (let i = 0; i < nr; i++) {
        const o = ho + i * PAGE_WORDS;
        const fl = m[o + PG_FLAGS]!;
        out[len++] = fl;
        if ((fl & PGF_ALLOC) === 0) continue;
        out[len++] = m[o + PG_REF]!;
        out[len++] = m[o + PG_MAPCOUNT]!;
        out[len++] = m[o + PG_PINCOUNT]!;
        out[len++] = this.wid(m[o + PG_DATA]!);
        out[len++] = fl & PGF_SWAPCACHE ? this.slot(m[o + PG_PRIVATE]!) : 0;
        out[len++] = m[o + PG_MAPPING]!;
        out[len++] = m[o + PG_INDEX]!;
      }
    }
    // what the swap slots hold
    for (let k = 0; k < nSlots; k++) out[len++] = this.wid(m[L.swap + slots[k]! * SWAP_WORDS + S_DATA]!);
    // write records: those named so far, then each task's current epoch and what it may observe
    for (const t of order) out[len++] = this.wid(m[L.tasks + t * L.taskWords + T_CURWID]!);
    for (let w = 1; w < geo.writes; w++) {
      const o = L.writes + w * WRITE_WORDS;
      if (m[o + W_FLAGS]! & WR_USED) this.wid(w);
    }
    const wids = this.widOrder;
    const nWids = this.nWids;
    for (let w = 1; w < geo.writes; w++) if (this.widMap[w]) wids[this.widMap[w]! - 1] = w;
    out[len++] = this.nWids;
    for (let k = 0; k < nWids; k++) {
      const w = wids[k]!;
      const o = L.writes + w * WRITE_WORDS;
      // (W_WRITER only names the writer in messages: who may see a write is in the vis bitsets)
      if (this.whole) out[len++] = this.task(m[o + W_WRITER]!);
      out[len++] = m[o + W_FLAGS]!;
      out[len++] = this.wid(m[o + W_SRC]!);
      out[len++] = m[o + W_VALUE]!;
      out[len++] = this.wid(m[o + W_BASE]!);
      out[len++] = m[o + W_RANGE]!;
      out[len++] = this.wid(m[o + W_FROM]!);
      out[len++] = m[o + W_SHIFT]!;
    }
    for (const t of order) {
      const base = L.tasks + t * L.taskWords;
      if (m[base + T_STATE] !== TASK_ALIVE) continue;
      // the vis bitset over canonical write ids (id 0, zero-filled, is visible to all)
      const words = (this.nWids >>> 5) + 1;
      const vis = this.vis;
      for (let i = 0; i < words; i++) vis[i] = 0;
      for (let k = 0; k < nWids; k++) {
        const w = wids[k]!;
        if (m[base + L.tVis + (w >>> 5)]! & (1 << (w & 31))) {
          const c = this.widMap[w]!;
          vis[c >>> 5]! |= 1 << (c & 31);
        }
      }
      for (let i = 0; i < words; i++) out[len++] = vis[i]!;
    }
    this.len = len;
  }

  /** The fingerprint of `s`: writes its two 32-bit halves to `fp[0]`, `fp[1]`. */
  fingerprint(s: KState, fp: Uint32Array): void {
    this.orderTasks(s);
    const runs = this.symmetry === 'exact' ? this.ties() : null;
    if (!runs) {
      this.hashForm(s);
      fp[0] = fmix(this.h1 ^ this.len);
      fp[1] = fmix(this.h2 ^ Math.imul(this.len, 0x165667b1) ^ this.h1);
      return;
    }
    // every order of each run of tied processes (Heap's algorithm, run by run); the least fingerprint
    // is the same for two states that differ only in which slot holds which process
    let best0 = 0;
    let best1 = 0;
    let first = true;
    const order = this.taskOrder;
    const visit = (r: number): void => {
      if (r === runs.length) {
        this.hashForm(s);
        const f0 = fmix(this.h1 ^ this.len) >>> 0;
        const f1 = fmix(this.h2 ^ Math.imul(this.len, 0x165667b1) ^ this.h1) >>> 0;
        if (first || f0 < best0 || (f0 === best0 && f1 < best1)) {
          best0 = f0;
          best1 = f1;
          first = false;
        }
        return;
      }
      const start = runs[r]!;
      const n = runs[r + 1]!;
      const c = new Array<number>(n).fill(0);
      visit(r + 2);
      for (let i = 1; i < n;) {
        if (c[i]! < i) {
          const a = start + (i % 2 === 0 ? 0 : c[i]!);
          const b = start + i;
          const x = order[a]!;
          order[a] = order[b]!;
          order[b] = x;
          visit(r + 2);
          c[i]!++;
          i = 1;
        } else {
          c[i] = 0;
          i++;
        }
      }
    };
    visit(0);
    fp[0] = best0;
    fp[1] = best1;
  }
}

/** VMA slots in use in the task record at `base` (the used ones come first). */
function usedVmas(s: KState, base: number): number {
  const { L, m } = s;
  let n = 0;
  for (; n < L.geo.vmas; n++) {
    const o = base + L.tVma + n * VMA_WORDS;
    if (m[o + V_END]! <= m[o + V_START]!) break;
  }
  return n;
}

function mix(h: number, v: number): number {
  return Math.imul((h ^ v) >>> 0, 0x01000193) ^ (h >>> 16);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}
