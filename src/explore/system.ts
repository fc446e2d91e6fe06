/**
 * An explorer configuration: the bounded system to search (processes,
 * mappings, the alphabet of operations, depth, properties) and what comes
 * out of it: the initial state after the setup steps, and every action as a
 * model operation plus the scenario step that writes it down.
 *
 * Actions are instantiated over processes, pages and arguments once; each
 * says when it is enabled in a state. Process slots are never reused: the
 * k-th fork creates process Pk, as in cowlab's SPIN reference model.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import { stringify } from 'yaml';
import { loadYaml, parseStep, parseScenario, zodFail } from '../scenario/parse.js';
import { resolveScenario, type Resolved } from '../scenario/resolve.js';
import type { Scenario, Step } from '../scenario/types.js';
import { InputError } from '../scenario/errors.js';
import { type Geometry, type KState, makeLayout, KState as KStateClass, TASK_ALIVE, TASK_FREE, P_STATE, P_HOLDERS, P_NBUF, REF_WORDS, R_KIND, R_OWNER, R_HANDLE, REF_GUP_PIN, REF_GUP_GET, REF_TRANSIENT, R_VPAGE, R_STATE, REFST_LRU_BATCH, PGF_LOCKED, PGF_SWAPCACHE } from '../model/layout.js';
import { task_set_state, task_state, ptep_get, page_test } from '../model/mm_types.js';
import { pte_present, pte_pfn } from '../model/pte.js';
import type { Op } from '../syscalls/ops.js';
import { apply } from '../syscalls/apply.js';
import { newCtx } from '../kernel/ctx.js';
import { quiesce } from '../scenario/run.js';
import type { Profile } from '../profiles/types.js';
import { FOLL_PIN, FOLL_GET, FOLL_WRITE, FOLL_LONGTERM } from '../kernel/mm/gup.js';
import { PROT_READ, PROT_WRITE } from '../kernel/mm/mmap.js';
import type { PropertyName } from '../properties/monitor.js';

/** Operations an alphabet may contain. */
export const EXPLORE_OPS = [
  'read', 'write', 'fork', 'exit', 'munmap', 'vmsplice', 'read-pipe', 'mprotect', 'dontneed', 'pageout', 'dontfork',
  'wipeonfork', 'pin', 'pin-rw', 'get', 'unpin', 'pin-read', 'pin-write', 'clear-refs',
  'transient-speculative', 'transient-lru-batch', 'transient-swapcache', 'transient-page-lock',
] as const;
export type ExploreOp = (typeof EXPLORE_OPS)[number];

const PROPS = ['no-leak', 'pin-coherent', 'private-file-integrity', 'model-invariant'] as const;

const name = z.string().regex(/^[A-Za-z_][\w-]*$/, 'a name (letters, digits, _ and -)');
const expectValue = z.union([
  z.literal('none'),
  z.object({ violation: z.enum(PROPS), depth: z.number().int().min(1).optional(), because: z.string().optional() }).strict(),
  z.object({ none: z.string() }).strict(),
]);

const configSchema = z.object({
  name: z.string().optional(),
  description: z.string().optional(),
  source: z.union([z.string(), z.array(z.string())]).optional(),
  kernel: z.string().optional(),
  processes: z.number().int().min(1).max(8).default(2),
  regions: z.record(name, z.object({
    pages: z.number().int().min(1).max(4).default(1),
    shared: z.boolean().default(false),
    file: name.optional(),
    prot: z.enum(['r', 'rw']).default('rw'),
  }).strict()).default({ mem: { pages: 1, shared: false, prot: 'rw' } }),
  files: z.record(name, z.object({ kind: z.enum(['memfd', 'tmpfile']), pages: z.number().int().min(1).max(4).default(1) }).strict()).optional(),
  setup: z.array(z.unknown()).default([]),
  ops: z.array(z.enum(EXPLORE_OPS)).min(1),
  depth: z.number().int().min(1).max(64).default(8),
  /** bound: buffers a pipe may hold before vmsplice stops being explored (the kernel's pipe holds 16) */
  pipeBuffers: z.number().int().min(1).max(16).default(16),
  properties: z.array(z.enum(PROPS)).optional(),
  expect: z.record(z.string(), expectValue).optional(),
  swarm: z.object({ walks: z.number().int().min(1).default(10000), depth: z.number().int().min(1).optional() }).strict().optional(),
}).strict();

export type ExpectValue = z.infer<typeof expectValue>;

/** A parsed configuration. */
export interface ExploreConfig {
  name: string;
  file: string;
  description?: string;
  source: string[];
  kernel?: string;
  processes: number;
  regions: { name: string; pages: number; shared: boolean; file?: string; prot: 'r' | 'rw' }[];
  files: { name: string; kind: 'memfd' | 'tmpfile'; pages: number }[];
  /** raw setup steps (written into counterexamples as they are) */
  setupRaw: unknown[];
  setup: Step[];
  ops: ExploreOp[];
  depth: number;
  pipeBuffers: number;
  properties: PropertyName[];
  expect: Record<string, ExpectValue>;
  swarm: { walks: number; depth?: number };
}

/** Reads and validates a configuration file; InputError with file:line:col otherwise. */
export function loadConfig(file: string): ExploreConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file: string): ExploreConfig {
  const { raw, pos } = loadYaml(text, file);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError('expected a mapping with at least "ops"', { file, line: 1, col: 1 });
  const r = configSchema.safeParse(raw);
  if (!r.success) zodFail(pos, [], r.error);
  const c = r.data!;
  const files = Object.entries(c.files ?? {}).map(([n, f]) => ({ name: n, kind: f.kind, pages: f.pages }));
  const regions = Object.entries(c.regions).map(([n, g]) => ({ name: n, pages: g.pages, shared: g.shared, prot: g.prot, ...(g.file ? { file: g.file } : {}) }));
  for (const g of regions) {
    if (g.file && !files.some((f) => f.name === g.file)) throw new InputError(`regions.${g.name}.file: no file "${g.file}" is declared`, pos.at(['regions', g.name, 'file']));
  }
  const setup = c.setup.map((s, i) => parseStep(s, i, pos, ['setup']));
  for (const st of setup) {
    if (st.proc !== 'P0') throw new InputError(`setup steps are P0's (the only process at the start), not ${st.proc}`, st.pos);
  }
  return {
    name: c.name ?? basename(file).replace(/\.ya?ml$/, ''), file,
    ...(c.description ? { description: c.description } : {}),
    source: c.source === undefined ? [] : Array.isArray(c.source) ? c.source : [c.source],
    ...(c.kernel ? { kernel: c.kernel } : {}),
    processes: c.processes, regions, files, setupRaw: c.setup, setup, ops: [...new Set(c.ops)], depth: c.depth, pipeBuffers: c.pipeBuffers,
    properties: (c.properties ?? ['no-leak', 'pin-coherent', 'private-file-integrity']) as PropertyName[],
    expect: c.expect ?? {}, swarm: { walks: c.swarm?.walks ?? 10000, ...(c.swarm?.depth ? { depth: c.swarm.depth } : {}) },
  };
}

/** A configuration with bounds given on the command line instead (validated like the file's). */
export function overrideConfig(c: ExploreConfig, o: { processes?: string; ops?: string; properties?: string }): ExploreConfig {
  const out = { ...c };
  if (o.processes !== undefined) {
    const n = Number(o.processes);
    if (!Number.isInteger(n) || n < 1 || n > 8) throw new InputError('--processes: expected an integer from 1 to 8');
    out.processes = n;
  }
  if (o.ops !== undefined) {
    const ops = o.ops.split(',').map((x) => x.trim()).filter(Boolean);
    const bad = ops.find((x) => !(EXPLORE_OPS as readonly string[]).includes(x));
    if (bad || ops.length === 0) throw new InputError(`--ops: ${bad ? `unknown operation "${bad}"` : 'empty'}; expected some of: ${EXPLORE_OPS.join(', ')}`);
    out.ops = ops as ExploreOp[];
  }
  if (o.properties !== undefined) {
    const ps = o.properties.split(',').map((x) => x.trim()).filter(Boolean);
    const bad = ps.find((x) => !(PROPS as readonly string[]).includes(x));
    if (bad || ps.length === 0) throw new InputError(`--properties: ${bad ? `unknown property "${bad}"` : 'empty'}; expected some of: ${PROPS.join(', ')}`);
    out.properties = ps as PropertyName[];
  }
  return out;
}

/** One action of the alphabet, instantiated. */
export interface Action {
  /** the scenario step it writes, e.g. {P1: {vmsplice: mem, pipe: p1}} */
  step(s: KState): Record<string, unknown>;
  /** enabled in this state? (cheap checks; an action whose call fails is dropped after applying it) */
  enabled(s: KState): boolean;
  op(s: KState): Op;
}

/** The bounded system: initial state, actions, and how to write a trace down. */
export interface ExploreSystem {
  config: ExploreConfig;
  profile: Profile;
  resolved: Resolved;
  initial: KState;
  actions: Action[];
  /** the scenario steps that build the initial state (mmaps, then the config's setup) */
  prefix: Record<string, unknown>[];
}

const procName = (t: number) => `P${t}`;
const PIPE_OF = (t: number) => `p${t}`;
/** handle ids: per owner, one per page and kind */
const handleId = (t: number, va: number, write: boolean) => t * 4096 + 1 + va * 2 + (write ? 1 : 0);

function pipeHeld(s: KState, p: number, t: number): boolean {
  const o = s.L.pipes + p * s.L.pipeWords;
  return s.m[o + P_STATE] !== 0 && (s.m[o + P_HOLDERS]! & (1 << t)) !== 0;
}

function hasHandle(s: KState, t: number, h: number): boolean {
  const { L, m } = s;
  for (let r = 0; r < L.geo.refs; r++) {
    const o = L.refs + r * REF_WORDS;
    const k = m[o + R_KIND]!;
    if ((k === REF_GUP_PIN || k === REF_GUP_GET) && m[o + R_OWNER] === t && m[o + R_HANDLE] === h) return true;
  }
  return false;
}

function hasTransient(s: KState, t: number, va: number, lru: boolean): boolean {
  const { L, m } = s;
  for (let r = 0; r < L.geo.refs; r++) {
    const o = L.refs + r * REF_WORDS;
    if (m[o + R_KIND] === REF_TRANSIENT && m[o + R_OWNER] === t && m[o + R_VPAGE] === va && ((m[o + R_STATE]! & REFST_LRU_BATCH) !== 0) === lru) return true;
  }
  return false;
}

/** The scenario steps of mmaps and setup, as a scenario P0 starts with. */
function prefixScenario(c: ExploreConfig): { sc: Scenario; prefix: Record<string, unknown>[] } {
  const prefix: Record<string, unknown>[] = c.regions.map((g) => ({
    P0: { mmap: g.name, pages: g.pages, prot: g.prot, ...(g.shared ? { shared: true } : {}), ...(g.file ? { file: g.file } : {}) },
  }));
  // the mmaps go through the scenario parser (they are cowlab's own text); the setup keeps its file positions
  const text = stringify({ processes: ['P0'], files: Object.fromEntries(c.files.map((f) => [f.name, { kind: f.kind, pages: f.pages }])), steps: prefix.length ? prefix : [{ P0: { check: c.regions[0]?.name ?? 'mem' } }] });
  const base = parseScenario(text, c.file);
  const mm = prefix.length ? base.steps : [];
  const steps = [...mm, ...c.setup].map((s, i) => ({ ...s, index: i + 1 }));
  return { sc: { ...base, name: c.name, file: c.file, steps }, prefix: [...prefix, ...(c.setupRaw as Record<string, unknown>[])] };
}

/** Builds the system of a configuration on a profile. */
export function buildSystem(c: ExploreConfig, profile: Profile): ExploreSystem {
  const { sc, prefix } = prefixScenario(c);
  const r0 = resolveScenario(sc);
  const n = c.processes;
  const vp = r0.geo.vpages;
  const filePages = c.files.reduce((a, f) => a + f.pages, 0) + c.regions.filter((g) => g.shared && !g.file).reduce((a, g) => a + g.pages, 0);
  const geo: Geometry = {
    ...r0.geo,
    tasks: n,
    pipes: n,
    pipeBufs: 16,
    refs: n * vp * 2 + 4,
    swapSlots: n * vp + 2,
    frames: 2 + filePages + n * vp * 3 + 8,
    writes: Math.max(r0.geo.writes, 4 * n + 2 * filePages + 8),
    lruBatch: Math.min(r0.geo.lruBatch, 32),
  };
  const resolved: Resolved = { ...r0, geo, tasks: Array.from({ length: n }, (_, i) => procName(i)) };
  // the initial state: P0, the files, the mmaps and setup steps (each step quiesced, as in a scenario run)
  const s = KStateClass.empty(makeLayout(geo));
  task_set_state(s, 0, TASK_ALIVE);
  const ctx0 = newCtx(profile);
  r0.files.forEach((f, i) => apply(s, ctx0, { op: 'file_create', file: i, kind: f.kind, pages: f.pages }));
  for (const rs of r0.steps) {
    if (!rs.op) continue;
    const ctx = newCtx(profile, { step: rs.step.index, freshWrites: true });
    const res = apply(s, ctx, rs.op);
    if (res.ret < 0 || res.signal) throw new InputError(`setup step ${rs.step.index} (${rs.step.op}) fails on ${profile.id}`, rs.step.pos);
    quiesce(s, ctx);
  }
  return { config: c, profile, resolved, initial: s, actions: buildActions(c, r0, n, profile), prefix };
}

/** Operations a profile's kernel does not have are not in its alphabet (as scenarios using them are n/a). */
function lacks(profile: Profile, o: ExploreOp): boolean {
  if ((o === 'pin' || o === 'pin-rw') && !profile.mech.pinUserPages) return true;
  return false;
}

function buildActions(c: ExploreConfig, r: Resolved, n: number, profile: Profile): Action[] {
  const acts: Action[] = [];
  const alive = (s: KState, t: number) => task_state(s, t) === TASK_ALIVE;
  const pages: { ref: string; va: number; region: string }[] = [];
  for (const g of r.regions) {
    for (let i = 0; i < g.pages; i++) pages.push({ ref: g.pages === 1 ? g.name : `${g.name}[${i}]`, va: g.start + i, region: g.name });
  }
  const has = (o: ExploreOp) => c.ops.includes(o) && !lacks(profile, o);
  const mapped = (s: KState, t: number, va: number) => pte_present(ptep_get(s, t, va));
  for (let t = 0; t < n; t++) {
    const P = procName(t);
    const add = (step: Record<string, unknown>, op: Op, enabled: (s: KState) => boolean) => {
      acts.push({ step: () => ({ [P]: step }), op: () => op, enabled: (s) => alive(s, t) && enabled(s) });
    };
    const always = () => true;
    for (const pg of pages) {
      const at = { start: pg.va, pages: 1 };
      if (has('read')) add({ read: pg.ref }, { op: 'read', t, ...at }, always);
      if (has('write')) add({ write: pg.ref }, { op: 'write', t, ...at }, always);
      if (has('munmap')) add({ munmap: pg.ref }, { op: 'munmap', t, ...at }, always);
      if (has('dontneed')) add({ madvise: pg.ref, advice: 'dontneed' }, { op: 'madvise', t, ...at, advice: 'MADV_DONTNEED' }, (s) => mapped(s, t, pg.va));
      if (has('pageout')) add({ madvise: pg.ref, advice: 'pageout' }, { op: 'madvise', t, ...at, advice: 'MADV_PAGEOUT' }, (s) => mapped(s, t, pg.va));
      if (has('dontfork')) add({ madvise: pg.ref, advice: 'dontfork' }, { op: 'madvise', t, ...at, advice: 'MADV_DONTFORK' }, always);
      if (has('wipeonfork')) add({ madvise: pg.ref, advice: 'wipeonfork' }, { op: 'madvise', t, ...at, advice: 'MADV_WIPEONFORK' }, always);
      if (has('mprotect')) {
        add({ mprotect: pg.ref, prot: 'r' }, { op: 'mprotect', t, ...at, prot: PROT_READ }, always);
        add({ mprotect: pg.ref, prot: 'rw' }, { op: 'mprotect', t, ...at, prot: PROT_READ | PROT_WRITE }, always);
      }
      if (has('vmsplice')) {
        for (let p = 0; p < n; p++) {
          add({ vmsplice: pg.ref, pipe: PIPE_OF(p) }, { op: 'vmsplice', t, p, ...at }, (s) => pipeHeld(s, p, t) && s.m[s.L.pipes + p * s.L.pipeWords + P_NBUF]! < c.pipeBuffers);
        }
      }
      const gup = (kind: ExploreOp, foll: number, write: boolean, label: Record<string, unknown>) => {
        if (!has(kind)) return;
        const h = handleId(t, pg.va, write);
        const hn = `h${t}_${pg.va - (r.regions[0]?.start ?? 0)}${write ? 'w' : ''}`;
        add({ ...label, handle: hn }, { op: 'gup', t, ...at, foll, fast: false, handle: h }, (s) => !hasHandle(s, t, h));
        if (has('unpin')) add({ unpin: hn }, { op: 'gup_put', t, handle: h }, (s) => hasHandle(s, t, h));
        if (has('pin-read')) add({ 'pin-read': hn }, { op: 'gup_read', t, handle: h }, (s) => hasHandle(s, t, h));
        if (has('pin-write')) add({ 'pin-write': hn }, { op: 'gup_write', t, handle: h }, (s) => hasHandle(s, t, h));
      };
      gup('pin', FOLL_PIN | FOLL_LONGTERM, false, { pin: pg.ref });
      gup('pin-rw', FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE, true, { pin: pg.ref, write: true });
      gup('get', FOLL_GET, false, { get: pg.ref });
      const transient = (kind: 'speculative' | 'lru-batch' | 'swapcache' | 'page-lock') => {
        if (!has(`transient-${kind}` as ExploreOp)) return;
        const lru = kind === 'lru-batch';
        const held = (s: KState) => {
          if (kind === 'speculative' || lru) return hasTransient(s, t, pg.va, lru);
          const pte = ptep_get(s, t, pg.va);
          if (!pte_present(pte)) return false;
          return page_test(s, pte_pfn(pte), kind === 'page-lock' ? PGF_LOCKED : PGF_SWAPCACHE);
        };
        add({ transient: pg.ref, kind }, { op: 'transient', t, start: pg.va, kind, hold: true }, (s) => mapped(s, t, pg.va) && !held(s));
        add({ transient: pg.ref, kind, release: true }, { op: 'transient', t, start: pg.va, kind, hold: false }, (s) => mapped(s, t, pg.va) && held(s));
      };
      transient('speculative');
      transient('lru-batch');
      transient('swapcache');
      transient('page-lock');
    }
    if (has('fork')) {
      acts.push({
        step: (s) => ({ [P]: { fork: procName(freeSlot(s)) } }),
        op: (s) => ({ op: 'fork', t, child: freeSlot(s) }),
        enabled: (s) => alive(s, t) && freeSlot(s) >= 0,
      });
    }
    if (has('exit')) add({ exit: true }, { op: 'exit', t }, always);
    if (has('vmsplice') || has('read-pipe')) {
      add({ pipe: PIPE_OF(t) }, { op: 'pipe', t, p: t }, (s) => s.m[s.L.pipes + t * s.L.pipeWords + P_STATE] === 0);
    }
    if (has('read-pipe')) {
      for (let p = 0; p < n; p++) {
        add({ 'read-pipe': PIPE_OF(p) }, { op: 'pipe_read', t, p, pages: 16 }, (s) => pipeHeld(s, p, t) && s.m[s.L.pipes + p * s.L.pipeWords + P_NBUF]! > 0);
      }
    }
    if (has('clear-refs')) add({ 'clear-refs': 4 }, { op: 'clear_refs', t, value: 4 }, always);
  }
  return acts;
}

/** The lowest process slot never used, or -1. */
function freeSlot(s: KState): number {
  for (let t = 0; t < s.L.geo.tasks; t++) if (task_state(s, t) === TASK_FREE) return t;
  return -1;
}

/** The scenario (as a YAML-ready object) of a trace of actions from the initial state. */
export function traceScenario(sys: ExploreSystem, steps: Record<string, unknown>[], description: string): Record<string, unknown> {
  const c = sys.config;
  const out: Record<string, unknown> = { name: `${c.name}-counterexample`, description };
  if (c.source.length) out.source = c.source;
  out.processes = ['P0'];
  if (c.files.length) out.files = Object.fromEntries(c.files.map((f) => [f.name, { kind: f.kind, pages: f.pages }]));
  out.steps = [...sys.prefix, ...steps].map((st) => {
    // `exit: true` is written as the bare word
    const [[p, body]] = Object.entries(st) as [[string, Record<string, unknown>]];
    return body && typeof body === 'object' && 'exit' in body ? { [p]: 'exit' } : st;
  });
  return out;
}
