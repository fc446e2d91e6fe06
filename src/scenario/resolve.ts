/**
 * From names to model ids: tasks, regions (laid out at fixed virtual pages
 * with a guard page between them), pipes, files and handles; semantic
 * checks with positions; the geometry the scenario needs; and each step's
 * model operation.
 */
import { transfer_bytes } from '../model/writes.js';
import { patched_code } from '../model/content.js';
import type { Geometry } from '../model/layout.js';
import { errnoByName } from '../kernel/errno.js';
import { UFFD_PAGEFAULT_FLAG_WP, UFFD_PAGEFAULT_FLAG_WRITE } from '../kernel/ctx.js';
import { InputError } from './errors.js';
import { SCENARIO_LIMITS } from '../ops/limits.js';
import { findOp, type Op } from '../ops/index.js';
import type { Capability, ResolveCx, Range, PrintCx } from '../ops/types.js';
import type { Scenario, Step, RegionRef } from './types.js';

/** A region's place in every address space. */
export interface Region {
  name: string;
  start: number;
  pages: number;
  /** placed at a PMD-aligned address (an mmap of it says `align: pmd`) */
  aligned: boolean;
  /** mapped with hugetlb pages (an mmap of it says `hugetlb: 2m`) */
  hugetlb?: boolean;
  /** mapped with 1 GiB hugetlb pages (`hugetlb: 1g`, or a memfd declared so): placed at a PUD-aligned address */
  gigantic?: boolean;
}

/** log2 of the pages a PMD maps in scenarios: the real x86 geometry (2 MiB), so that scenarios and the executor agree. */
export const PMD_ORDER = 9;

/** A step with its model operation. */
export interface ResolvedStep {
  step: Step;
  /** the acting task */
  t: number;
  /** the acting thread's slot in the thread records, or -1 (it has none: it never stops, and is no `thread`) */
  th: number;
  op: Op;
  /** pages the step is about (for observations): [start, start+n) */
  range: { start: number; pages: number } | null;
  /** step indexes the `sees` expectation accepts, per page; 0 stands for zero-filled data */
  sees: number[] | null;
  /** `same-frame-as` (same) or `new-frame-since`: the earlier step whose frames the pages are compared with */
  frameRef?: { step: number; same: boolean };
  /** `uffd-msgs`: the messages expected, as virtual pages and UFFD_PAGEFAULT_FLAG_* bits */
  uffdMsgs?: { vpage: number; flags: number }[];
}

export interface Resolved {
  sc: Scenario;
  geo: Geometry;
  tasks: string[];
  initial: number[];
  regions: Region[];
  pipes: string[];
  files: Scenario['files'];
  steps: ResolvedStep[];
  /** label -> step index */
  labels: Map<string, number>;
  /** capabilities the executor needs */
  needs: Capability[];
  /** handle names of each process, by model id */
  handles: Map<number, Map<number, string>>;
  /** threads created by `thread` steps: name, task and thread slot */
  threads: { name: string; task: number; slot: number }[];
  /** the actor (thread or process) of each thread slot */
  slotNames: string[];
}

/** Resolves a parsed scenario. Throws InputError with the offending step's position. */
export function resolveScenario(sc: Scenario): Resolved {
  const tasks: string[] = [...sc.processes];
  if (new Set(tasks).size !== tasks.length) throw new InputError('processes: duplicate name', sc.steps[0]!.pos);
  const alive = new Set(tasks);
  const regions = new Map<string, Region>();
  const pipes: string[] = [];
  const files = sc.files;
  const handles = new Map<string, number>();
  const handleNames = new Map<number, Map<number, string>>();
  const rings = new Set<string>(); // processes that set up their io_uring
  const labels = new Map<string, number>();
  const transfers = new Map<number, { start: number; lo: number; len: number }>();
  const needs = new Set<Capability>(sc.requires as Capability[]);
  // threads: `thread` steps create them; a thread slot is given to each of them and to each actor that stops
  const threads = new Map<string, { name: string; task: number; slot: number }>();
  const slots = new Map<string, number>();
  // actors stopped in a window, from their stopping step to their resume (steps that need the locks they hold wait: run.ts)
  const stopped = new Map<string, { window: string; step: number }>();
  // actors whose operation may be stopped (a `resume` with stop: stops again only if the kernel needs one more window)
  const mayStop = new Set<string>();
  // threads held by their uffd monitor (stop: uffd) that a uffd-unwp of their process has woken since
  const woken = new Set<string>();
  // a TLB flush that may be deferred while others run: every thread's TLB is kept, so every actor has a slot
  const tlb = sc.steps.some((st) => ['deferred-flush', 'zap-flush'].includes(String((st.args as { stop?: unknown }).stop)));
  // a geometry of the model's own: no real kernel has it
  if (sc.pmdOrder !== undefined && sc.pmdOrder !== PMD_ORDER) needs.add('model-only');
  // the swap device is the machine's (a swapfile on the host, brd in the guests): one named is model only
  if (sc.env.swap !== undefined) needs.add('model-only');
  let cursor = 1; // virtual page 0 stays unmapped
  const L = SCENARIO_LIMITS;
  if (tasks.length > L.processes) throw new InputError(`processes: at most ${L.processes} (the executor's limit)`, sc.steps[0]!.pos);
  if (sc.steps.length > L.steps)
    throw new InputError(
      `a scenario has at most ${L.steps} steps (the executor's limit); this one has ${sc.steps.length}`,
      sc.steps[L.steps]!.pos,
    );
  if (files.length > L.files)
    throw new InputError(`files: at most ${L.files} files (the executor's limit); ${files.length} are declared`, sc.steps[0]!.pos);

  // first pass: declare regions (their size is the largest mmap of that name)
  for (const st of sc.steps) {
    if (st.op !== 'mmap') continue;
    const name = st.args.region as string;
    const pages = st.args.pages as number;
    const decl = typeof st.args.file === 'string' ? sc.files.find((f) => f.name === st.args.file) : undefined;
    const hfile = decl?.hugetlb === true;
    const hugetlb = st.args.hugetlb !== undefined || hfile;
    const gigantic = st.args.hugetlb === '1g' || decl?.gigantic === true;
    // pages per huge page: a PMD's, or a PUD's (512 PMDs) for 1 GiB pages
    const hnr = 1 << ((sc.pmdOrder ?? PMD_ORDER) * (gigantic ? 2 : 1));
    if (hfile && (st.args.offset as number) % hnr !== 0)
      throw new InputError(`mmap: a hugetlb file is mapped at huge-page offsets (a multiple of ${hnr} pages)`, st.pos);
    const aligned = st.args.align === 'pmd' || hugetlb;
    if (hugetlb && (pages === 0 || pages % hnr !== 0))
      throw new InputError(`mmap: hugetlb: ${pages} page(s) is not a whole number of huge pages (${hnr} pages each)`, st.pos);
    const r = regions.get(name);
    if (!r && regions.size === L.regions)
      throw new InputError(`mmap: at most ${L.regions} regions (the executor's limit); ${name} is one more`, st.pos);
    if (!r) regions.set(name, { name, start: 0, pages, aligned, ...(hugetlb ? { hugetlb } : {}), ...(gigantic ? { gigantic } : {}) });
    else {
      r.pages = Math.max(r.pages, pages);
      r.aligned ||= aligned;
      if (hugetlb) r.hugetlb = true;
      if (gigantic) r.gigantic = true;
    }
  }
  // a MFD_HUGETLB memfd is fallocated whole from the pool when the scenario starts
  const pmdOrder = sc.pmdOrder ?? PMD_ORDER;
  const pmdNr = 1 << pmdOrder;
  const pudNr = 1 << (2 * pmdOrder);
  const filePool = sc.files.reduce((n, f) => n + (f.hugetlb && !f.gigantic ? f.pages / pmdNr : 0), 0);
  const filePool1g = sc.files.reduce((n, f) => n + (f.gigantic ? f.pages / pudNr : 0), 0);
  for (const [need, env, key] of [
    [filePool, sc.env.hugetlbPages ?? 0, 'hugetlb-pages'],
    [filePool1g, sc.env.hugetlb1gPages ?? 0, 'hugetlb-1g-pages'],
  ] as const)
    if (need > env)
      throw new InputError(`files: the hugetlb memfd files need ${need} huge page(s), env ${key} gives ${env}`, sc.steps[0]!.pos);
  if (filePool || filePool1g) needs.add('hugetlb');
  if (filePool1g) needs.add('hugetlb-1g');
  // large folios are possible only where a VMA may follow the THP modes
  const thp = sc.steps.some(
    (st) =>
      (st.op === 'mmap' && (st.args.thp === 'inherit' || st.args.align === 'pmd' || st.args.hugetlb !== undefined)) ||
      sc.files.some((f) => f.hugetlb) ||
      (st.op === 'madvise' && (st.args.advice === 'hugepage' || st.args.advice === 'collapse')),
  );
  const anyGigantic = filePool1g > 0 || [...regions.values()].some((r) => r.gigantic);
  for (const r of regions.values()) {
    if (r.aligned) cursor = Math.ceil(cursor / pmdNr) * pmdNr;
    if (r.gigantic) cursor = Math.ceil(cursor / pudNr) * pudNr;
    r.start = cursor;
    cursor += Math.max(r.pages, 1) + 1;
  }
  // the model keeps an owner's consumed reservations as a bit per huge page index (PMD or PUD index) below 32
  for (const r of regions.values())
    if (r.hugetlb && Math.floor((r.start + r.pages - 1) / (r.gigantic ? pudNr : pmdNr)) >= 32)
      throw new InputError(
        `mmap: hugetlb region ${r.name} ends at page ${r.start + r.pages - 1}: the model tracks hugetlb reservations for the first 32 huge pages of each size of the address space (declare it earlier)`,
        sc.steps.find((st) => st.op === 'mmap' && st.args.region === r.name)!.pos,
      );
  // (the gap after the last region is not address space a region takes; two 1 GiB regions end at 4 GiB)
  if (cursor - (anyGigantic ? 1 : 0) > L.addressPages)
    throw new InputError(`the regions take ${cursor} pages of address space; at most ${L.addressPages} (4 GiB)`, sc.steps[0]!.pos);
  for (const st of sc.steps)
    if (st.label) {
      if (labels.has(st.label)) throw new InputError(`label "${st.label}" is used twice`, st.pos);
      labels.set(st.label, st.index);
    }

  const out: ResolvedStep[] = [];
  // reference-table entries the steps can hold at once (pins, O_DIRECT, io_uring buffers)
  let refsTaken = 0;
  for (const st of sc.steps) {
    const fail = (msg: string): never => {
      throw new InputError(msg, st.pos);
    };
    let onHugetlb = '';
    const rangeOf = (ref: RegionRef): Range => {
      const r = regions.get(ref.region);
      if (!r) return fail(`region "${ref.region}" is never mapped (no mmap step names it)`);
      if (r.hugetlb) onHugetlb = r.name;
      const count = ref.count ?? r.pages - ref.from;
      if (ref.from + count > r.pages || count <= 0) fail(`${ref.text} is outside region ${r.name} (${r.pages} page(s))`);
      return { start: r.start + ref.from, pages: count };
    };
    const taskOf = (name: string, what = 'process'): number => {
      // a thread names its process's task (its mm)
      const thr = threads.get(name);
      if (thr) name = tasks[thr.task]!;
      const i = tasks.indexOf(name);
      if (i < 0 || !alive.has(name)) fail(`${what} "${name}" does not exist at step ${st.index}`);
      return i;
    };
    const def = findOp(st.op)!;
    for (const n of def.requires ?? []) needs.add(n);
    const t = taskOf(st.proc);
    const actor = st.proc;
    const held = stopped.get(actor);
    if (held && def.name !== 'resume')
      fail(`${actor} is stopped in ${held.window} since step ${held.step}: only resume may follow for it (another thread acts meanwhile)`);
    const slotOf = (): number => {
      let sl = slots.get(actor);
      if (sl === undefined) slots.set(actor, (sl = slots.size));
      return sl;
    };
    if (tlb) slotOf();
    const cx: ResolveCx = {
      proc: st.proc,
      range: rangeOf,
      region: (name) => regions.get(name)!,
      task: taskOf,
      newTask(name, what = 'fork') {
        if (tasks.includes(name)) {
          fail(
            what === 'fork'
              ? `fork: process "${name}" already exists (each child needs a new name)`
              : `${what}: process "${name}" already exists`,
          );
        }
        if (tasks.length === L.processes)
          fail(`${what}: at most ${L.processes} processes per scenario, forks included (the executor's limit)`);
        tasks.push(name);
        alive.add(name);
        return tasks.length - 1;
      },
      endTask: () => {
        if (threads.has(actor)) fail(`exit: ${actor} is a thread; the process's own steps end it (exit_group)`);
        // exit_group(): its threads stopped in a window see the fatal signal and give up
        for (const a of [...stopped.keys()]) if (taskOf(a) === t) stopped.delete(a);
        alive.delete(st.proc);
      },
      pmdPages: () => pmdNr,
      newThread(name) {
        if (tasks.includes(name) || threads.has(name)) fail(`thread: "${name}" already names a process or a thread`);
        const index = [...threads.values()].filter((x) => x.task === t).length + 1;
        if (index > L.threads) fail(`thread: at most ${L.threads} threads per process besides its own (the executor's limit)`);
        const th = { name, task: t, slot: slots.size };
        threads.set(name, th);
        slots.set(name, th.slot);
        return { slot: th.slot, index };
      },
      stop(window) {
        if (window === 'uffd') {
          // the executor's main thread of a process talks to the coordinator: it must not sleep in the kernel
          if (!threads.has(actor))
            fail(`stop: uffd: ${actor} is a process's main thread; a thread created by a thread step waits for the monitor`);
          woken.delete(actor);
        } else needs.add('model-only');
        stopped.set(actor, { window, step: st.index });
        mayStop.add(actor);
        slotOf();
      },
      resume(again) {
        if (!held && !mayStop.has(actor)) fail(`resume: ${actor} has no operation stopped in a window (no earlier step of it says stop:)`);
        // a store the monitor holds sleeps until a UFFDIO_WRITEPROTECT(mode 0) of its process wakes it
        if (held?.window === 'uffd' && !woken.has(actor))
          fail(
            `resume: ${actor} waits in handle_userfault() since step ${held.step} until its monitor wakes it: a uffd-unwp of the page by ${tasks[t]} (or one of its threads) comes first`,
          );
        stopped.delete(actor);
        woken.delete(actor);
        if (again) mayStop.add(actor);
        else mayStop.delete(actor);
        return held?.window ?? null;
      },
      file(name) {
        const i = files.findIndex((f) => f.name === name);
        if (i < 0) fail(`file "${name}" is not declared under files:`);
        return { id: i, pages: files[i]!.pages, ...(files[i]!.gigantic ? { gigantic: true } : {}) };
      },
      pipe(name) {
        const i = pipes.indexOf(name);
        if (i < 0) fail(`pipe "${name}" is not created by an earlier pipe step`);
        return i;
      },
      newPipe(name) {
        if (pipes.includes(name)) fail(`pipe "${name}" already exists`);
        if (pipes.length === L.pipes) fail(`pipe: at most ${L.pipes} pipes per scenario (the executor's limit)`);
        pipes.push(name);
        return pipes.length - 1;
      },
      handle(name, create) {
        // handles are the process's (its threads share them)
        const key = `${tasks[t]}/${name}`;
        let h = handles.get(key);
        if (h === undefined) {
          if (!create) fail(`handle "${name}" of ${tasks[t]} is not taken by an earlier step`);
          h = handles.size;
          handles.set(key, h);
          let m = handleNames.get(t);
          if (!m) handleNames.set(t, (m = new Map<number, string>()));
          m.set(h, name);
        }
        return h;
      },
      newRing() {
        if (rings.has(st.proc)) fail(`io-uring-setup: ${st.proc} already has a ring (cowlab models one ring per process)`);
        rings.add(st.proc);
      },
      need: (c) => void needs.add(c),
      fail,
    };
    const a = st.args;
    const at = a.at ? rangeOf(a.at as RegionRef) : null;
    const op = { op: def.name, t, ...def.resolve(a, cx) } as Op;
    // UFFDIO_WRITEPROTECT(mode 0) wakes what waits on its range in the process's mm (the model checks the page)
    if (def.name === 'uffd-unwp') for (const [a2, h] of stopped) if (h.window === 'uffd' && taskOf(a2) === t) woken.add(a2);
    refsTaken += def.refs?.(op) ?? 0;
    if (onHugetlb && !def.hugetlb)
      fail(`${def.name}: not modelled on hugetlb areas (${onHugetlb} is mapped with hugetlb: 2m); src/kernel/mm/hugetlb.ts lists what is`);
    if (st.expect.errno && errnoByName(st.expect.errno) === undefined) fail(`unknown errno name ${st.expect.errno}`);
    for (const x of [...(st.expect.sharedWith ?? []), ...(st.expect.notSharedWith ?? [])]) {
      if (!tasks.includes(x.proc)) fail(`shared-with: unknown process "${x.proc}"`);
      rangeOf(x.at);
    }
    let sees: number[] | null = null;
    // a write with a value is seen as its content (-(1 + value)), whoever wrote it; value 0 as zero-filled data
    const seenOf = (i: number): number => {
      const w = sc.steps[i - 1]!;
      const v = w.op === 'write' ? (w.args as { value?: number }).value : undefined;
      return v === 0 ? 0 : v ? -(v + 1) : i;
    };
    const stepOf = (v: string | number): number => {
      if (v === 'zero') return 0;
      if (typeof v === 'number' || /^\d+$/.test(v)) {
        const n = Number(v);
        if (n < 1 || n > sc.steps.length) fail(`sees: there is no step ${n}`);
        return n;
      }
      const l = labels.get(v);
      if (l === undefined) fail(`sees: no step is labelled "${v}" (use a label, a step number or zero)`);
      return l!;
    };
    // "A+B": A's data with the bytes the smaller-than-a-page transfer B wrote over it, page by page
    const chain = (v: string, va: number): number => {
      const [base, ...over] = v.split('+').map((x) => stepOf(x.trim()));
      const patches = over.map((i) => {
        const tr = transfers.get(i);
        if (!tr) fail(`sees: step ${i} wrote whole pages; "+" names a transfer with offset or bytes`);
        const [lo, hi] = transfer_bytes(va - tr!.start, tr!.lo, tr!.len);
        return { code: i, lo, hi };
      });
      return patched_code(
        base === 0 ? 0 : seenOf(base!),
        patches.filter((p) => p.hi > p.lo),
      );
    };
    if (st.expect.sees) {
      const want = st.expect.sees;
      const chained = want.some((v) => typeof v === 'string' && v.includes('+'));
      if (chained && !at) fail('sees: "A+B" needs the step\'s range');
      sees = chained
        ? Array.from({ length: want.length === 1 ? at!.pages : want.length }, (_, k) => {
            const v = want.length === 1 ? want[0]! : want[k]!;
            return typeof v === 'string' && v.includes('+') ? chain(v, at!.start + k) : stepOf(v) === 0 ? 0 : seenOf(stepOf(v));
          })
        : want.map((v) => (stepOf(v) === 0 ? 0 : seenOf(stepOf(v))));
    }
    const opBytes = op as { start?: number; lo?: number; len?: number };
    if (opBytes.len && opBytes.start !== undefined)
      transfers.set(st.index, { start: opBytes.start, lo: opBytes.lo ?? 0, len: opBytes.len });
    // pagemap's soft-dirty bit exists only on kernels built with CONFIG_MEM_SOFT_DIRTY
    if (st.expect.softDirty !== undefined) needs.add('soft-dirty');
    const rstep: ResolvedStep = { step: st, t, th: slots.get(actor) ?? -1, op, range: at, sees };
    if (st.expect.uffdMsgs)
      rstep.uffdMsgs = st.expect.uffdMsgs.map((m) => ({
        vpage: rangeOf(m.at).start,
        flags: (m.flags.includes('wp') ? UFFD_PAGEFAULT_FLAG_WP : 0) | (m.flags.includes('write') ? UFFD_PAGEFAULT_FLAG_WRITE : 0),
      }));
    for (const [key, ref, same] of [
      ['same-frame-as', st.expect.sameFrameAs, true],
      ['new-frame-since', st.expect.newFrameSince, false],
    ] as const) {
      if (ref === undefined) continue;
      if (rstep.frameRef) fail('same-frame-as and new-frame-since: one or the other');
      if (!at) fail(`${key}: the step names no pages (it needs at:)`);
      const n = typeof ref === 'number' ? ref : labels.get(ref);
      if (n === undefined) fail(`${key}: no step is labelled "${ref}" (use a label or a step number)`);
      if (n! >= st.index) fail(`${key}: step ${n} is not an earlier step`);
      rstep.frameRef = { step: n!, same };
    }
    out.push(rstep);
  }

  const vpages = cursor + 1;
  // 1 GiB hugetlb regions (and the gaps that align them) take address space but never base pages, swap
  // slots or references of their own: size those by the other regions
  const gigantic = anyGigantic;
  const small = gigantic ? [...regions.values()].reduce((n, r) => n + (r.gigantic ? 0 : r.pages + 1), 2) : vpages;
  const nt = tasks.length;
  const filePages = Math.max(1, ...files.map((f) => f.pages), ...[...regions.values()].map((r) => r.pages));
  const nfiles = files.length + sc.steps.filter((s) => s.op === 'mmap' && s.args.shared && s.args.file === undefined).length;
  // steps that copy memory into a file (past its end, the file grows)
  const copiesToFiles = sc.steps.some((s) => s.op === 'io-uring-write-fixed' || s.op === 'odirect-write' || s.op === 'odirect-write-start');
  const refs = nt * small * 2 + 16 + refsTaken;
  const swapSlots = nt * small + 2;
  const pipesN = Math.max(1, pipes.length);
  const geo: Geometry = {
    tasks: nt,
    vpages,
    vmas: Math.max(4, regions.size * 3 + 2),
    // hugetlb pages are PMD-aligned runs of frames: room for the whole pool besides
    frames:
      2 +
      nt * small +
      nfiles *
        Math.max(
          1,
          ...files.filter((f) => !f.hugetlb).map((f) => f.pages),
          ...[...regions.values()].filter((r) => !r.gigantic).map((r) => r.pages),
        ) +
      swapSlots +
      refs +
      32 +
      pipesN * 16 +
      ((sc.env.hugetlbPages ?? 0) + (sc.env.hugetlbOvercommit ?? 0) + 1) * pmdNr +
      (gigantic ? ((sc.env.hugetlb1gPages ?? 0) + 1) * pudNr : 0),
    files: Math.max(1, nfiles),
    filePages,
    swapSlots,
    pipes: pipesN,
    pipeBufs: 16,
    refs,
    // a record per page copied into a file, which a copy from memory may grow to filePages
    // (a scenario with 1 GiB pages may write a 262144-page file)
    writes: Math.min(
      gigantic ? 1 << 20 : 4096,
      sc.steps.length * 2 + files.reduce((a, f) => a + (copiesToFiles ? filePages : f.pages), 0) + 16,
    ),
    lruBatch: 32,
    pmdOrder: thp ? pmdOrder : 0,
    ...(gigantic ? { pudOrder: 2 * pmdOrder } : {}),
    ksm: needs.has('ksm'),
    ...(slots.size ? { threads: slots.size, ...(tlb ? { tlb: true } : {}) } : {}),
  };
  return {
    sc,
    geo,
    tasks,
    initial: sc.processes.map((_, i) => i),
    regions: [...regions.values()],
    pipes,
    files,
    steps: out,
    labels,
    needs: [...needs].sort(),
    handles: handleNames,
    threads: [...threads.values()],
    slotNames: [...slots].sort((a, b) => a[1] - b[1]).map(([n]) => n),
  };
}

/** The task a step's actor acts in: a process, or the process a thread of it belongs to (-1 if neither). */
export function actorTask(r: Pick<Resolved, 'tasks' | 'threads'>, name: string): number {
  const i = r.tasks.indexOf(name);
  return i >= 0 ? i : (r.threads.find((x) => x.name === name)?.task ?? -1);
}

/** `mem`, `mem[1]`, `mem[0:2]` for a range of a resolved scenario's regions. */
export function rangeText(r: Pick<Resolved, 'regions'>, range: Range): string {
  const g = r.regions.find((x) => range.start >= x.start && range.start < x.start + x.pages);
  if (!g) return `page ${range.start}`;
  const from = range.start - g.start;
  if (from === 0 && range.pages === g.pages) return g.name;
  return range.pages === 1 ? `${g.name}[${from}]` : `${g.name}[${from}:${from + range.pages}]`;
}

/** Model ids back to the names of a resolved scenario, for the step of task `t`. */
export function printCx(r: Resolved, t: number): PrintCx {
  return {
    task: (x) => r.tasks[x] ?? `P${x}`,
    range: (x) => rangeText(r, x),
    region: (start) => r.regions.find((g) => g.start === start)?.name ?? `page ${start}`,
    aligned: (start) => r.regions.find((g) => g.start === start)?.aligned ?? false,
    file: (id) => r.files[id]?.name ?? `file${id}`,
    pipe: (p) => r.pipes[p] ?? `p${p}`,
    handle: (h) => r.handles.get(t)?.get(h) ?? `h${h}`,
  };
}

/** The scenario text of a resolved step, as its definition prints it. */
export function printStep(r: Resolved, rs: Pick<ResolvedStep, 't' | 'op'>): Record<string, unknown> | string {
  const def = findOp(rs.op.op)!;
  const { op: _n, t: _t, ...m } = rs.op as { op: string; t: number } & Record<string, unknown>;
  return def.print(m, printCx(r, rs.t));
}
