/**
 * An explorer configuration: the bounded system to search (processes,
 * mappings, the alphabet of operations, depth, properties) and what comes
 * out of it: the initial state after the setup steps, and every action as a
 * model operation plus the scenario step that writes it down.
 *
 * The alphabet's entries are the operations' explorer families (src/ops/):
 * each instantiates its actions over processes, pages and arguments once,
 * and says when each is enabled in a state. Process slots are never reused:
 * the k-th fork creates process Pk, as in cowlab's SPIN reference model.
 */
import { readRegularFile } from '../util/files.js';
import { z } from 'zod';
import { loadYaml, parseStep, scenarioFromObject, zodFail, baseName, fixedPos, scenarioText } from '../scenario/parse.js';
import { resolveScenario, type Resolved } from '../scenario/resolve.js';
import type { Step } from '../scenario/types.js';
import { InputError, NotApplicable } from '../scenario/errors.js';
import { type Geometry, type KState, TASK_ALIVE, TH_TASK, THOP_NONE } from '../model/layout.js';
import { task_set_state, task_state } from '../model/mm_types.js';
import { OPS, findOp, opArgs, type Op } from '../ops/index.js';
import type { ActionSpec, ExploreCx, ExploreFamily, ExplorePage, ResolveCx } from '../ops/types.js';
import { thread_set, thread_task, thread_stopped } from '../model/threads.js';
import { step } from '../ops/step.js';
import { profileEnv } from '../kernel/ctx.js';
import { scenarioEnvSchema, scenarioEnv, withEnv, type Env } from '../profiles/env.js';
import { initialState } from '../scenario/run.js';
import type { Profile } from '../profiles/types.js';
import { PROPERTIES, type PropertyName } from '../properties/monitor.js';

/** Every explorer family of every operation, in the order their actions are tried (rank). */
export const FAMILIES: readonly ExploreFamily[] = OPS.flatMap((d) => d.explore ?? []).sort((a, b) => a.rank - b.rank);

/** Operations an alphabet may contain (families that are not implied by others). */
export const EXPLORE_OPS = FAMILIES.filter((f) => !f.impliedBy).map((f) => f.name) as [string, ...string[]];
export type ExploreOp = string;

const PROPS = PROPERTIES as [PropertyName, ...PropertyName[]];

const name = z.string().regex(/^[A-Za-z_][\w-]*$/, 'a name (letters, digits, _ and -)');
const expectValue = z.union([
  z.literal('none'),
  z.object({ violation: z.enum(PROPS), depth: z.number().int().min(1).optional(), because: z.string().optional() }).strict(),
  z.object({ none: z.string() }).strict(),
]);


/**
 * Deepest search or walk: a counterexample becomes a scenario that must run
 * on the executor (at most 4096 steps, the setup included), and no search
 * level this deep fits in memory anyway.
 */
export const MAX_DEPTH = 1024;
const configSchema = z.object({
  name: z.string().optional(),
  description: z.string().optional(),
  source: z.union([z.string(), z.array(z.string())]).optional(),
  kernel: z.string().optional(),
  processes: z.number().int().min(1).max(8).default(2),
  /** threads of P0 (forked children have one): with more than one, operations stop in the kernel's windows (src/model/threads.ts) */
  threads: z.number().int().min(1).max(4).default(1),
  regions: z.record(name, z.object({
    pages: z.number().int().min(1).max(8).default(1),
    shared: z.boolean().default(false),
    file: name.optional(),
    prot: z.enum(['r', 'rw']).default('rw'),
    /** a THP-eligible area: PMD-aligned, MADV_HUGEPAGE (with a small `pmd-order`, so it is a few pages) */
    thp: z.boolean().default(false),
  }).strict()).default({ mem: { pages: 1, shared: false, prot: 'rw', thp: false } }),
  /** the PMD order of the model's geometry (model only; 9 is the real one): 2 makes a THP of 4 pages */
  'pmd-order': z.number().int().min(2).max(9).optional(),
  /** the machine, as a scenario's env: block says it (THP settings, tlb-flush) */
  env: scenarioEnvSchema.optional(),
  files: z.record(name, z.object({ kind: z.enum(['memfd', 'tmpfile']), pages: z.number().int().min(1).max(4).default(1) }).strict()).optional(),
  setup: z.array(z.unknown()).default([]),
  ops: z.array(z.enum(EXPLORE_OPS)).min(1),
  depth: z.number().int().min(1).max(MAX_DEPTH).default(8),
  /** bound: buffers a pipe may hold before vmsplice stops being explored (the kernel's pipe holds 16) */
  pipeBuffers: z.number().int().min(1).max(16).default(16),
  properties: z.array(z.enum(PROPS)).optional(),
  expect: z.record(z.string(), expectValue).optional(),
  swarm: z.object({ walks: z.number().int().min(1).default(10000), depth: z.number().int().min(1).max(MAX_DEPTH).optional() }).strict().optional(),
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
  /** threads of P0 */
  threads: number;
  regions: { name: string; pages: number; shared: boolean; file?: string; prot: 'r' | 'rw'; thp: boolean }[];
  /** the geometry's PMD order when a region is THP-eligible */
  pmdOrder?: number;
  /** the env: block as written (counterexamples carry it) */
  envRaw?: Record<string, unknown>;
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
  // a FIFO or device is refused before it is opened (reading one would block)
  return parseConfig(scenarioText(readRegularFile(file, 'an explorer configuration'), file), file);
}

export function parseConfig(text: string, file: string): ExploreConfig {
  const { raw, pos } = loadYaml(text, file);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError('expected a mapping with at least "ops"', { file, line: 1, col: 1 });
  const r = configSchema.safeParse(raw);
  if (!r.success) zodFail(pos, [], r.error);
  const c = r.data;
  const files = Object.entries(c.files ?? {}).map(([n, f]) => ({ name: n, kind: f.kind, pages: f.pages }));
  const regions = Object.entries(c.regions).map(([n, g]) => ({ name: n, pages: g.pages, shared: g.shared, prot: g.prot, thp: g.thp, ...(g.file ? { file: g.file } : {}) }));
  if (regions.some((g) => g.thp) && c['pmd-order'] === undefined) throw new InputError('a THP region needs pmd-order (2 makes a THP of 4 pages)', pos.at(['regions']));
  for (const g of regions) {
    if (g.file && !files.some((f) => f.name === g.file)) throw new InputError(`regions.${g.name}.file: no file "${g.file}" is declared`, pos.at(['regions', g.name, 'file']));
  }
  const setup = c.setup.map((s, i) => parseStep(s, i, pos, ['setup']));
  for (const st of setup) {
    if (st.proc !== 'P0') throw new InputError(`setup steps are P0's (the only process at the start), not ${st.proc}`, st.pos);
  }
  return {
    name: c.name ?? baseName(file), file,
    ...(c.description ? { description: c.description } : {}),
    source: c.source === undefined ? [] : Array.isArray(c.source) ? c.source : [c.source],
    ...(c.kernel ? { kernel: c.kernel } : {}),
    processes: c.processes, threads: c.threads, regions, files, setupRaw: c.setup, setup, ops: [...new Set(c.ops)], depth: c.depth, pipeBuffers: c.pipeBuffers,
    ...(c['pmd-order'] !== undefined ? { pmdOrder: c['pmd-order'] } : {}),
    ...(c.env !== undefined ? { envRaw: c.env } : {}),
    properties: (c.properties ?? ['no-leak', 'pin-coherent', 'private-file-integrity']),
    expect: c.expect ?? {}, swarm: { walks: c.swarm?.walks ?? 10000, ...(c.swarm?.depth ? { depth: c.swarm.depth } : {}) },
  };
}

/** A configuration with bounds given on the command line instead (validated like the file's). */
export function overrideConfig(c: ExploreConfig, o: { processes?: string; threads?: string; ops?: string; properties?: string }): ExploreConfig {
  const out = { ...c };
  if (o.processes !== undefined) {
    const n = Number(o.processes);
    if (!Number.isInteger(n) || n < 1 || n > 8) throw new InputError('--processes: expected an integer from 1 to 8');
    out.processes = n;
  }
  if (o.threads !== undefined) {
    const n = Number(o.threads);
    if (!Number.isInteger(n) || n < 1 || n > 4) throw new InputError('--threads: expected an integer from 1 to 4');
    out.threads = n;
  }
  if (o.ops !== undefined) {
    const ops = o.ops.split(',').map((x) => x.trim()).filter(Boolean);
    const bad = ops.find((x) => !(EXPLORE_OPS as readonly string[]).includes(x));
    if (bad || ops.length === 0) throw new InputError(`--ops: ${bad ? `unknown operation "${bad}"` : 'empty'}; expected some of: ${EXPLORE_OPS.join(', ')}`);
    out.ops = ops;
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
  /** the acting thread's slot (-1 without thread records) */
  thread(s: KState): number;
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
/** thread j of process t: the process's own name for its first thread */
const threadName = (t: number, j: number) => (j === 0 ? procName(t) : `${procName(t)}-t${j}`);
const pipeName = (p: number) => `p${p}`;

/** The scenario steps of mmaps and setup, as a scenario P0 starts with. */
function prefixScenario(c: ExploreConfig): { resolved: Resolved; prefix: Record<string, unknown>[] } {
  const mmaps: Record<string, unknown>[] = c.regions.flatMap((g) => [
    {
      P0: {
        mmap: g.name,
        pages: g.pages,
        prot: g.prot,
        ...(g.shared ? { shared: true } : {}),
        ...(g.file ? { file: g.file } : {}),
        ...(g.thp ? { align: 'pmd', thp: 'inherit' } : {}),
      },
    },
    ...(g.thp ? [{ P0: { madvise: g.name, advice: 'hugepage' } }] : []),
  ]);
  const files = Object.fromEntries(c.files.map((f) => [f.name, { kind: f.kind, pages: f.pages }]));
  const base = scenarioFromObject(
    {
      processes: ['P0'],
      files,
      ...(c.pmdOrder !== undefined ? { 'pmd-order': c.pmdOrder } : {}),
      steps: mmaps.length ? mmaps : [{ P0: { check: c.regions[0]?.name ?? 'mem' } }],
    },
    c.file,
    fixedPos(c.file),
  );
  // the setup keeps its own file positions
  const steps = [...(mmaps.length ? base.steps : []), ...c.setup].map((st, i) => ({ ...st, index: i + 1 }));
  return { resolved: resolveScenario({ ...base, name: c.name, file: c.file, steps }), prefix: [...mmaps, ...(c.setupRaw as Record<string, unknown>[])] };
}

/** The machine a configuration is explored on: the profile's, with the configuration's env: block. */
export function systemEnv(c: ExploreConfig, profile: Profile): Env {
  return withEnv(profileEnv(profile), scenarioEnv(c.envRaw));
}

/** Builds the system of a configuration on a profile. */
export function buildSystem(c: ExploreConfig, profile: Profile): ExploreSystem {
  const { resolved: r0, prefix } = prefixScenario(c);
  const n = c.processes;
  const vp = r0.geo.vpages;
  const filePages = c.files.reduce((a, f) => a + f.pages, 0) + c.regions.filter((g) => g.shared && !g.file).reduce((a, g) => a + g.pages, 0);
  // tables sized by the pages a task can map (the regions' pages; a THP region's folio needs its
  // aligned frames, so there the whole address range counts): fewer words to copy and walk per step
  const mapped = c.regions.some((g) => g.thp) ? vp : c.regions.reduce((a, g) => a + g.pages, 0);
  let geo: Geometry = {
    ...r0.geo,
    tasks: n,
    pipes: n,
    // vmsplice is explored only while a pipe holds fewer than the bound: the kernel's 16 are never reached
    pipeBufs: c.pipeBuffers,
    refs: n * mapped * 2 + 4,
    swapSlots: n * mapped + 2,
    frames: 2 + filePages + n * mapped * 3 + 8,
    writes: Math.max(r0.geo.writes, 4 * n + 2 * filePages + 8),
    lruBatch: Math.min(r0.geo.lruBatch, 32),
  };
  // thread slots: process t's thread j is slot t * threads + j
  const nth = c.threads;
  if (nth > 1) geo = { ...geo, threads: n * nth, ...(exploreTlb(c) ? { tlb: true } : {}) };
  const resolved: Resolved = {
    ...r0,
    geo,
    tasks: Array.from({ length: n }, (_, i) => procName(i)),
    slotNames: nth > 1 ? Array.from({ length: n * nth }, (_, k) => threadName(Math.floor(k / nth), k % nth)) : [],
  };
  // the initial state: P0, the files, the mmaps and setup steps, each a step as in a scenario run
  const s = initialState({ geo, initial: [0], files: r0.files });
  task_set_state(s, 0, TASK_ALIVE);
  for (let j = 0; j < nth && nth > 1; j++) thread_set(s, j, TH_TASK, 1);
  const kernel = { prof: profile, env: systemEnv(c, profile) };
  for (const rs of r0.steps) {
    const lacking = findOp(rs.op.op)?.lacks?.(profile, opArgs(rs.op));
    if (lacking) throw new NotApplicable(`setup step ${rs.step.index} (${rs.step.op}): ${lacking}; the configuration does not apply`, rs.step.pos);
  }
  for (const rs of r0.steps) {
    const eff = step(s, kernel, rs.op, { step: rs.step.index, freshWrites: true, thread: rs.th });
    if (eff.result.ret < 0 || eff.result.signal || eff.broken) throw new InputError(`setup step ${rs.step.index} (${rs.step.op}) fails on ${profile.id}`, rs.step.pos);
  }
  // P0's other threads, as a scenario creates them
  for (let j = 1; j < nth; j++) prefix.push({ P0: { thread: threadName(0, j) } });
  return { config: c, profile, resolved, initial: s, actions: buildActions(c, r0, n, profile), prefix };
}

/** The configuration keeps the threads' TLB entries: several threads and a UFFDIO_WRITEPROTECT, clear_refs or MADV_DONTNEED that stops before its flush. */
function exploreTlb(c: ExploreConfig): boolean {
  return c.threads > 1 && c.ops.some((o) => o === 'uffd-wp' || o === 'uffd-unwp' || o === 'clear-refs' || o === 'dontneed-flush');
}

function buildActions(c: ExploreConfig, r: Resolved, n: number, profile: Profile): Action[] {
  const on = new Set(c.ops.filter((o) => !FAMILIES.find((f) => f.name === o)?.lacks?.(profile)));
  const active = FAMILIES.filter((f) => !f.companion && (f.impliedBy ? f.impliedBy.some((x) => on.has(x)) : on.has(f.name)));
  const pages: ExplorePage[] = [];
  for (const g of r.regions) {
    for (let i = 0; i < g.pages; i++) pages.push({ ref: g.pages === 1 ? g.name : `${g.name}[${i}]`, va: g.start + i, region: g.name, index: i, regionPages: g.pages });
  }
  const base = r.regions[0]?.start ?? 0;
  const handles = new Map<string, number>();
  const nth = c.threads;
  const slot = (t: number, j: number) => (nth > 1 ? t * nth + j : -1);
  const x: ExploreCx = {
    processes: n,
    threads: nth,
    env: systemEnv(c, profile),
    slot,
    tlb: exploreTlb(c),
    pmdPages: 1 << r.geo.pmdOrder,
    pipeBuffers: c.pipeBuffers,
    has: (f) => on.has(f),
    proc: procName,
    pipe: pipeName,
    handle(t, pg, write) {
      const name = `h${t}_${pg.va - base}${write ? 'w' : ''}`;
      // one id per (owner, page, kind), as the references record it
      handles.set(`${t}/${name}`, t * 4096 + 1 + pg.va * 2 + (write ? 1 : 0));
      return name;
    },
    handleId: (name) => [...handles.entries()].find(([k]) => k.endsWith(`/${name}`))![1],
  };
  const resolveIn = (t: number, body: Record<string, unknown> | string): Op => {
    const [opName, rest] = typeof body === 'string' ? [body, {}] : [Object.keys(body)[0]!, body];
    const def = findOp(opName)!;
    const { [opName]: primary, ...args } = rest;
    if (def.primary) args[def.primary] = primary;
    const parsed = z.object(def.args).parse(args);
    const cx: ResolveCx = {
      proc: procName(t),
      range: (ref) => {
        const g = r.regions.find((q) => q.name === ref.region)!;
        return { start: g.start + ref.from, pages: ref.count ?? g.pages - ref.from };
      },
      region: (name) => r.regions.find((q) => q.name === name)!,
      task: (name) => Number(name.slice(1)),
      newTask: (name) => Number(name.slice(1)),
      endTask: () => undefined,
      file: (name) => {
        const i = r.files.findIndex((f) => f.name === name);
        return { id: i, pages: r.files[i]!.pages };
      },
      pipe: (name) => Number(name.slice(1)),
      newPipe: (name) => Number(name.slice(1)),
      handle: (name) => handles.get(`${t}/${name}`)!,
      newRing: () => undefined,
      newThread: () => ({ slot: -1, index: 0 }),
      pmdPages: () => 1 << r.geo.pmdOrder,
      stop: () => undefined,
      resume: () => null,
      need: () => undefined,
      fail: (msg) => {
        throw new Error(`explorer action of ${procName(t)}: ${msg}`);
      },
    };
    return { op: def.name, t, ...def.resolve(parsed, cx) } as Op;
  };
  const acts: Action[] = [];
  const alive = (s: KState, t: number) => task_state(s, t) === TASK_ALIVE;
  // thread j of t exists: the first thread while t lives, the others once created (P0's, from the start)
  const exists = (s: KState, t: number, j: number) => j === 0 || thread_task(s, slot(t, j)) === t;
  // the thread that acts: the action's own, or t's first thread not stopped in a window (-1: none is free)
  const actor = (s: KState, t: number, sp: ActionSpec): number => {
    if (nth === 1) return 0;
    if (sp.th !== undefined) return sp.th - t * nth;
    for (let j = 0; j < nth; j++) if (exists(s, t, j) && thread_stopped(s, slot(t, j)) === THOP_NONE) return j;
    return -1;
  };
  for (let t = 0; t < n; t++) {
    const specs = [
      ...pages.flatMap((pg) => active.flatMap((f) => f.perPage?.(t, pg, x) ?? [])),
      ...active.flatMap((f) => f.perProcess?.(t, x) ?? []),
    ];
    for (const sp of specs) {
      let body: Record<string, unknown> | string | null = null;
      let op: Op | null = null;
      // arguments that do not depend on the state are resolved once; the others once per value (fork: per child slot)
      const byArgs = new Map<string, Op>();
      const opOf = (s: KState): Op => {
        if (!sp.dynamic) return (op ??= resolveIn(t, (body ??= sp.args(s))));
        const b = sp.args(s);
        const key = JSON.stringify(b);
        let o = byArgs.get(key);
        if (!o) byArgs.set(key, (o = resolveIn(t, b)));
        return o;
      };
      acts.push({
        step: (s) => ({ [threadName(t, Math.max(0, actor(s, t, sp)))]: sp.dynamic ? sp.args(s) : (body ??= sp.args(s)) }),
        op: opOf,
        thread: (s) => (nth === 1 ? -1 : slot(t, actor(s, t, sp))),
        enabled: (s) => {
          if (!alive(s, t)) return false;
          if (nth > 1) {
            const j = actor(s, t, sp);
            // (what waits for a stopped thread, its own next step included, step() finds: lock_wait in src/ops/step.ts)
            if (j < 0 || !exists(s, t, j)) return false;
          }
          return sp.enabled(s);
        },
      });
    }
  }
  return acts;
}

/** The scenario (as a YAML-ready object) of a trace of actions from the initial state. */
export function traceScenario(sys: ExploreSystem, steps: Record<string, unknown>[], description: string, kernel?: string): Record<string, unknown> {
  const c = sys.config;
  const out: Record<string, unknown> = { name: `${c.name}-counterexample`, description };
  // `cowlab run FILE` replays it on the kernel it was found on
  if (kernel !== undefined) out.kernel = kernel;
  if (c.source.length) out.source = c.source;
  out.processes = ['P0'];
  if (c.pmdOrder !== undefined) out['pmd-order'] = c.pmdOrder;
  if (c.envRaw !== undefined) out.env = c.envRaw;
  if (c.files.length) out.files = Object.fromEntries(c.files.map((f) => [f.name, { kind: f.kind, pages: f.pages }]));
  out.steps = [...sys.prefix, ...steps];
  return out;
}
