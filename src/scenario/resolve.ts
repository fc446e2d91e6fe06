/**
 * From names to model ids: tasks, regions (laid out at fixed virtual pages
 * with a guard page between them), pipes, files and handles; semantic
 * checks with positions; the geometry the scenario needs; and each step's
 * model operation.
 */
import type { Geometry } from '../model/layout.js';
import type { Op } from '../syscalls/ops.js';
import { PROT_READ, PROT_WRITE, PROT_EXEC } from '../kernel/mm/mmap.js';
import { FOLL_PIN, FOLL_GET, FOLL_WRITE, FOLL_LONGTERM } from '../kernel/mm/gup.js';
import { UFFD_FEATURE_WP_ASYNC, UFFD_FEATURE_WP_UNPOPULATED } from '../model/layout.js';
import type { Advice } from '../kernel/mm/madvise.js';
import { errnoByName } from '../kernel/errno.js';
import { InputError } from './errors.js';
import { OPS } from './ops.js';
import type { Scenario, Step, RegionRef } from './types.js';

/** A region's place in every address space. */
export interface Region {
  name: string;
  start: number;
  pages: number;
}

/** A step with its model operation (null for `check`). */
export interface ResolvedStep {
  step: Step;
  /** the acting task */
  t: number;
  op: Op | null;
  /** pages the step is about (for observations): [start, start+n) */
  range: { start: number; pages: number } | null;
  /** step indexes the `sees` expectation accepts, per page; 0 stands for zero-filled data */
  sees: number[] | null;
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
  needs: string[];
}

function parseProt(p: string): number {
  let v = 0;
  if (p.includes('r')) v |= PROT_READ;
  if (p.includes('w')) v |= PROT_WRITE;
  if (p.includes('x')) v |= PROT_EXEC;
  return v;
}

const ADVICE: Record<string, Advice> = {
  dontneed: 'MADV_DONTNEED', dontfork: 'MADV_DONTFORK', dofork: 'MADV_DOFORK', wipeonfork: 'MADV_WIPEONFORK',
  keeponfork: 'MADV_KEEPONFORK', pageout: 'MADV_PAGEOUT',
};

/** Resolves a parsed scenario. Throws InputError with the offending step's position. */
export function resolveScenario(sc: Scenario): Resolved {
  const tasks: string[] = [...sc.processes];
  if (new Set(tasks).size !== tasks.length) throw new InputError('processes: duplicate name', sc.steps[0]!.pos);
  const alive = new Set(tasks);
  const regions = new Map<string, Region>();
  const pipes: string[] = [];
  const files = sc.files;
  const handles = new Map<string, number>();
  const rings = new Set<string>(); // processes that set up their io_uring
  const labels = new Map<string, number>();
  const needs = new Set<string>(sc.requires);
  let cursor = 1; // virtual page 0 stays unmapped
  const fail = (st: Step, msg: string): never => {
    throw new InputError(msg, st.pos);
  };

  // first pass: declare regions (their size is the largest mmap of that name)
  for (const st of sc.steps) {
    if (st.op !== 'mmap') continue;
    const name = st.args.region as string;
    const pages = st.args.pages as number;
    const r = regions.get(name);
    if (!r) regions.set(name, { name, start: 0, pages });
    else r.pages = Math.max(r.pages, pages);
  }
  for (const r of regions.values()) {
    r.start = cursor;
    cursor += Math.max(r.pages, 1) + 1;
  }
  for (const st of sc.steps) if (st.label) {
    if (labels.has(st.label)) fail(st, `label "${st.label}" is used twice`);
    labels.set(st.label, st.index);
  }

  const rangeOf = (st: Step, ref: RegionRef): { start: number; pages: number } => {
    const r = regions.get(ref.region);
    if (!r) return fail(st, `region "${ref.region}" is never mapped (no mmap step names it)`);
    const count = ref.count ?? r.pages - ref.from;
    if (ref.from + count > r.pages || count <= 0) fail(st, `${ref.text} is outside region ${r.name} (${r.pages} page(s))`);
    return { start: r.start + ref.from, pages: count };
  };
  const taskOf = (st: Step, name: string, what = 'process'): number => {
    const i = tasks.indexOf(name);
    if (i < 0 || !alive.has(name)) fail(st, `${what} "${name}" does not exist at step ${st.index}`);
    return i;
  };
  const fileOf = (st: Step, name: string): number => {
    const i = files.findIndex((f) => f.name === name);
    if (i < 0) fail(st, `file "${name}" is not declared under files:`);
    return i;
  };
  const pipeOf = (st: Step, name: string): number => {
    const i = pipes.indexOf(name);
    if (i < 0) fail(st, `pipe "${name}" is not created by an earlier pipe step`);
    return i;
  };
  const handleOf = (st: Step, name: string, create: boolean): number => {
    const key = `${st.proc}/${name}`;
    let h = handles.get(key);
    if (h === undefined) {
      if (!create) fail(st, `handle "${name}" of ${st.proc} is not taken by an earlier step`);
      h = handles.size;
      handles.set(key, h);
    }
    return h;
  };

  const out: ResolvedStep[] = [];
  for (const st of sc.steps) {
    for (const n of OPS[st.op]!.needs) needs.add(n);
    const t = taskOf(st, st.proc);
    const a = st.args;
    const at = a.at ? rangeOf(st, a.at as RegionRef) : null;
    let op: Op | null = null;
    switch (st.op) {
      case 'mmap': {
        const r = regions.get(a.region as string)!;
        const file = a.file === undefined ? -1 : fileOf(st, a.file as string);
        if (file >= 0 && (a.offset as number) + (a.pages as number) > files[file]!.pages) {
          fail(st, `mmap of file ${a.file as string} beyond its ${files[file]!.pages} page(s)`);
        }
        op = { op: 'mmap', t, start: r.start, pages: a.pages as number, prot: parseProt(a.prot as string), shared: a.shared as boolean, file, pgoff: a.offset as number };
        break;
      }
      case 'munmap': op = { op: 'munmap', t, ...at! }; break;
      case 'mprotect': op = { op: 'mprotect', t, ...at!, prot: parseProt(a.prot as string) }; break;
      case 'madvise': op = { op: 'madvise', t, ...at!, advice: ADVICE[a.advice as string]! }; break;
      case 'read': op = { op: 'read', t, ...at! }; break;
      case 'write': op = { op: 'write', t, ...at! }; break;
      case 'fork': {
        const child = a.child as string;
        if (tasks.includes(child)) fail(st, `fork: process "${child}" already exists (each child needs a new name)`);
        tasks.push(child);
        alive.add(child);
        op = { op: 'fork', t, child: tasks.length - 1 };
        break;
      }
      case 'exit': alive.delete(st.proc); op = { op: 'exit', t }; break;
      case 'pipe': {
        const name = a.pipe as string;
        if (pipes.includes(name)) fail(st, `pipe "${name}" already exists`);
        pipes.push(name);
        op = { op: 'pipe', t, p: pipes.length - 1 };
        break;
      }
      case 'vmsplice': op = { op: 'vmsplice', t, p: pipeOf(st, a.pipe as string), ...at! }; break;
      case 'read-pipe': op = { op: 'pipe_read', t, p: pipeOf(st, a.pipe as string), pages: (a.pages as number | undefined) ?? 16 }; break;
      case 'io-uring-setup':
        if (rings.has(st.proc)) fail(st, `io-uring-setup: ${st.proc} already has a ring (cowlab models one ring per process)`);
        rings.add(st.proc);
        op = { op: 'io_uring_setup', t };
        break;
      case 'io-uring-register': op = { op: 'io_uring_register', t, ...at! }; break;
      case 'io-uring-unregister': op = { op: 'io_uring_unregister', t }; break;
      case 'io-uring-read-fixed':
      case 'io-uring-write-fixed':
        op = { op: 'io_uring_rw', t, write: st.op === 'io-uring-write-fixed', file: fileOf(st, a.file as string), index: a.offset as number, ...at! };
        break;
      case 'odirect-read':
      case 'odirect-write':
        op = { op: 'odirect', t, read: st.op === 'odirect-read', file: fileOf(st, a.file as string), index: a.offset as number, ...at! };
        break;
      case 'odirect-read-start':
      case 'odirect-write-start':
        op = { op: 'odirect_start', t, read: st.op === 'odirect-read-start', file: fileOf(st, a.file as string), index: a.offset as number, ...at!, handle: handleOf(st, a.handle as string, true) };
        break;
      case 'odirect-complete': op = { op: 'odirect_complete', t, handle: handleOf(st, a.handle as string, false) }; break;
      case 'process-vm-readv':
      case 'process-vm-writev':
        op = { op: 'process_vm', t, target: taskOf(st, a.target as string, 'target'), write: st.op === 'process-vm-writev', ...at! };
        break;
      case 'proc-mem-read':
      case 'proc-mem-write':
        op = { op: 'proc_mem', t, target: taskOf(st, a.target as string, 'target'), write: st.op === 'proc-mem-write', ...at!, ...(a.race ? { raceDontneed: true } : {}) };
        if (a.race) needs.add('model-only');
        break;
      case 'uffd': {
        const f = a.features as string[];
        op = { op: 'uffd_open', t, features: (f.includes('wp-unpopulated') ? UFFD_FEATURE_WP_UNPOPULATED : 0) | (f.includes('wp-async') ? UFFD_FEATURE_WP_ASYNC : 0) };
        break;
      }
      case 'uffd-register': op = { op: 'uffd_register', t, ...at! }; break;
      case 'uffd-wp': op = { op: 'uffd_wp', t, ...at!, on: true }; break;
      case 'uffd-unwp': op = { op: 'uffd_wp', t, ...at!, on: false }; break;
      case 'clear-refs': op = { op: 'clear_refs', t, value: a.value as number }; break;
      case 'pin':
      case 'get': {
        let foll = st.op === 'pin' ? FOLL_PIN : FOLL_GET;
        if (a.write) foll |= FOLL_WRITE;
        if (st.op === 'pin' && a.longterm) foll |= FOLL_LONGTERM;
        op = { op: 'gup', t, ...at!, foll, fast: a.fast as boolean, handle: handleOf(st, a.handle as string, true) };
        if (a['race-fork'] !== undefined) {
          const child = a['race-fork'] as string;
          if (!a.fast) fail(st, 'race-fork: the race is with GUP-fast (fast: true)');
          if (tasks.includes(child)) fail(st, `race-fork: process "${child}" already exists`);
          tasks.push(child);
          alive.add(child);
          op.raceForkChild = tasks.length - 1;
          needs.add('model-only');
        }
        break;
      }
      case 'pin-read': op = { op: 'gup_read', t, handle: handleOf(st, a.handle as string, false) }; break;
      case 'pin-write': op = { op: 'gup_write', t, handle: handleOf(st, a.handle as string, false) }; break;
      case 'unpin': op = { op: 'gup_put', t, handle: handleOf(st, a.handle as string, false) }; break;
      case 'file-write':
      case 'file-read': {
        const file = fileOf(st, a.file as string);
        const index = a.offset as number;
        const pages = a.pages as number;
        if (index + pages > files[file]!.pages) fail(st, `${st.op} beyond the ${files[file]!.pages} page(s) of file ${a.file as string}`);
        op = { op: st.op === 'file-write' ? 'file_write' : 'file_read', t, file, index, pages };
        break;
      }
      case 'transient': op = { op: 'transient', t, start: at!.start, kind: a.kind as 'speculative', hold: !(a.release as boolean) }; break;
      case 'check': op = null; break;
      default: fail(st, `operation ${st.op} is not implemented`);
    }
    if (st.expect.errno && errnoByName(st.expect.errno) === undefined) fail(st, `unknown errno name ${st.expect.errno}`);
    for (const x of [...(st.expect.sharedWith ?? []), ...(st.expect.notSharedWith ?? [])]) {
      if (!tasks.includes(x.proc)) fail(st, `shared-with: unknown process "${x.proc}"`);
      rangeOf(st, x.at);
    }
    let sees: number[] | null = null;
    if (st.expect.sees) {
      sees = st.expect.sees.map((v) => {
        if (v === 'zero') return 0;
        if (typeof v === 'number') {
          if (v < 1 || v > sc.steps.length) fail(st, `sees: there is no step ${v}`);
          return v;
        }
        const l = labels.get(v);
        if (l === undefined) fail(st, `sees: no step is labelled "${v}" (use a label, a step number or zero)`);
        return l!;
      });
    }
    out.push({ step: st, t, op, range: at, sees });
  }

  const vpages = cursor + 1;
  const nt = tasks.length;
  const filePages = Math.max(1, ...files.map((f) => f.pages), ...[...regions.values()].map((r) => r.pages));
  const nfiles = files.length + sc.steps.filter((s) => s.op === 'mmap' && s.args.shared && s.args.file === undefined).length;
  const refs = nt * vpages * 2 + 16;
  const swapSlots = nt * vpages + 2;
  const pipesN = Math.max(1, pipes.length);
  const geo: Geometry = {
    tasks: nt,
    vpages,
    vmas: Math.max(4, regions.size * 3 + 2),
    frames: 2 + nt * vpages + nfiles * filePages + swapSlots + refs + 32 + pipesN * 16,
    files: Math.max(1, nfiles),
    filePages,
    swapSlots,
    pipes: pipesN,
    pipeBufs: 16,
    refs,
    writes: Math.min(4096, sc.steps.length * 2 + files.reduce((a, f) => a + f.pages, 0) + 16),
    lruBatch: 32,
  };
  if (nt > 30) throw new InputError('at most 30 processes per scenario', sc.steps[0]!.pos);
  return {
    sc, geo, tasks, initial: sc.processes.map((_, i) => i), regions: [...regions.values()], pipes, files,
    steps: out, labels, needs: [...needs].sort(),
  };
}
