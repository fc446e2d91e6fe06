/**
 * Random scenarios, for property tests and the differential fuzzer.
 *
 * A random scenario is a list of abstract commands (fast-check generates
 * and shrinks the list); `materialize()` turns it into scenario steps,
 * asking each operation's definition (src/ops/, `fuzz`) for its step and
 * dropping commands that make no sense at that point (a process that does
 * not exist, a pipe nobody created), so every shrunk list is still a valid
 * scenario that can be saved as a file.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { OPS } from '../ops/index.js';
import type { FuzzCmd, FuzzCx, FuzzSpec, OpDef } from '../ops/types.js';
import { scenarioFromObject } from '../scenario/parse.js';
import { resolveScenario, type Resolved } from '../scenario/resolve.js';

const FUZZED = (OPS as readonly OpDef[]).filter((d): d is OpDef & { fuzz: FuzzSpec } => d.fuzz !== undefined);

/** Operations the generator can use, in registry order. */
export const GEN_OPS: readonly string[] = FUZZED.map((d) => d.name);
export type GenOp = string;

/** Operations a host without GUP_TEST can run on the real kernel. */
export const HOST_OPS: readonly string[] = FUZZED.filter((d) => d.fuzz.host).map((d) => d.name);

const SPEC = new Map(FUZZED.map((d) => [d.name, d.fuzz]));
/** Operations whose kernel path is modelled on hugetlb areas (OpDef.hugetlb). */
const ON_HUGETLB = new Set(FUZZED.filter((d) => d.hugetlb === true).map((d) => d.name));

/** One abstract command: an op and three small choices. */
export type Cmd = FuzzCmd;

export interface GenOptions {
  ops?: readonly string[];
  /**
   * threads: P0 starts with a second thread, P0t1, and every command may be
   * run by a thread of its process as well as by the process (a fork by a
   * thread gives a child of one thread, as fork() does)
   */
  threads?: boolean;
  /**
   * with threads, model only: a thread's step may stop in one of the
   * kernel's windows (cow-copy, swapin, deferred-flush, gup-retry,
   * copy-present-pte), and the thread's next command is its resume (the
   * scenario ends with a resume of every thread still stopped)
   */
  windows?: boolean;
  maxSteps?: number;
  /** processes ever created, the first included */
  maxProcs?: number;
  /** allow MADV_PAGEOUT (needs swap on a real kernel) */
  swap?: boolean;
  /**
   * large folios: a PMD-sized THP area `t` (MADV_HUGEPAGE, 512 pages) and,
   * with `mthp`, a 64 kB mTHP area `u` (hugepages-64kB/enabled=always), plus
   * a PROT_NONE `spare` area that mremap() moves parts of them to
   */
  thp?: boolean;
  /**
   * KSM: in half of the scenarios (those whose first command has an even
   * `c`) the anonymous areas `a` and `b` are written with the same value and
   * made MADV_MERGEABLE, so that a `ksm-scan` has pages to merge
   */
  ksm?: boolean;
  mthp?: boolean;
  /**
   * hugetlb: in half of the scenarios (those whose first command has an
   * even `b`) a private hugetlb area `h` of one 2 MiB page, written, with a
   * pool of one to three huge pages; operations whose kernel path is not
   * modelled on hugetlb areas are not drawn on it
   */
  hugetlb?: boolean;
}

/** The environment of random scenarios with large folios (as the executor sets it). */
export function fuzzEnv(
  opts: GenOptions,
  hugetlbPages = 0,
  ksmZeroPages = false,
  hugetlbOvercommit = 0,
): Record<string, unknown> | undefined {
  if (!opts.thp && !hugetlbPages && !ksmZeroPages) return undefined;
  return {
    ...(opts.thp ? { 'thp-sizes': { '2048': 'inherit', ...(opts.mthp ? { '64': 'always' } : {}) } } : {}),
    ...(hugetlbPages ? { 'hugetlb-pages': hugetlbPages } : {}),
    ...(hugetlbOvercommit ? { 'hugetlb-overcommit': hugetlbOvercommit } : {}),
    ...(ksmZeroPages ? { 'ksm-zero-pages': true } : {}),
  };
}

/** The fixed environment random scenarios use. */
const REGIONS = [
  { name: 'a', pages: 2, kind: 'anon' },
  { name: 'b', pages: 1, kind: 'anon' },
  { name: 's', pages: 1, kind: 'shared' },
  { name: 'm', pages: 1, kind: 'memfd' },
] as const;

const THP_REGIONS = [
  { name: 't', pages: 512, kind: 'thp' },
  { name: 'u', pages: 16, kind: 'mthp' },
] as const;

const HUGETLB_REGION = { name: 'h', pages: 512, kind: 'hugetlb' } as const;

/** fast-check arbitrary of command lists. */
export function cmdsArb(opts: GenOptions = {}): fc.Arbitrary<Cmd[]> {
  const ops = opts.ops ?? GEN_OPS;
  const op = fc.oneof(...ops.map((o) => ({ arbitrary: fc.constant(o), weight: SPEC.get(o)?.weight ?? 1 })));
  const cmd = fc.record({ op, a: fc.nat({ max: 7 }), b: fc.nat({ max: 7 }), c: fc.nat({ max: 7 }) });
  return fc.array(cmd, { minLength: 1, maxLength: opts.maxSteps ?? 24, size: 'max' });
}

type Step = Record<string, Record<string, unknown> | string>;

/** Turns commands into a scenario object (the YAML file's content). */
export function materialize(cmds: readonly Cmd[], opts: GenOptions = {}, name = 'random'): Record<string, unknown> {
  const maxProcs = opts.maxProcs ?? 3;
  const alive: string[] = ['P0'];
  let created = 1;
  const pipes: string[] = [];
  const handles = new Map<string, string[]>(); // proc -> handles
  const mapped = new Set<string>(); // regions declared by an mmap step
  const uffd = new Set<string>();
  const rings = new Set<string>();
  // every region starts mapped and populated by P0, so that commands have something to act on
  const ksm = opts.ksm === true && (cmds[0]?.c ?? 1) % 2 === 0;
  // half of those let ksmd map zero-filled pages (writes of value 0) to the shared zero page
  const ksmZeroPages = ksm && Math.floor((cmds[0]?.c ?? 0) / 2) % 2 === 1;
  const steps: Step[] = [
    { P0: { mmap: 'a', pages: 2 } },
    { P0: ksm ? { write: 'a', value: 1 } : { write: 'a' } },
    { P0: { mmap: 'b', pages: 1 } },
    { P0: ksm ? { write: 'b', value: 1 } : { write: 'b' } },
    ...(ksm ? [{ P0: { madvise: 'a', advice: 'mergeable' } }, { P0: { madvise: 'b', advice: 'mergeable' } }] : []),
    { P0: { mmap: 's', pages: 1, shared: true } },
    { P0: { mmap: 'm', pages: 1, file: 'fd' } },
    { P0: { read: 'm' } },
  ];
  // an eighth of the scenarios with swap may turn it off, once
  let swapoffLeft = opts.swap !== false && cmds[0]?.a === 7 ? 1 : 0;
  const hugetlbPages = opts.hugetlb === true && (cmds[0]?.b ?? 1) % 2 === 0 ? 1 + ((cmds[0]?.a ?? 0) % 3) : 0;
  // a third of them may grow the pool by a surplus page (nr_overcommit_hugepages)
  const hugetlbOvercommit = hugetlbPages && Math.floor((cmds[0]?.a ?? 0) / 3) % 3 === 0 ? 1 : 0;
  const regions: readonly { name: string; pages: number; kind: FuzzCx['region']['kind'] }[] = [
    ...REGIONS,
    ...(opts.thp ? THP_REGIONS.filter((r) => r.kind === 'thp' || opts.mthp) : []),
    ...(hugetlbPages ? [HUGETLB_REGION] : []),
  ];
  if (hugetlbPages) steps.push({ P0: { mmap: 'h', pages: 512, hugetlb: '2m' } }, { P0: { write: 'h' } });
  if (opts.thp) {
    // a THP-aligned area with MADV_HUGEPAGE, filled (one PMD-mapped THP), and the mTHP area
    steps.push(
      { P0: { mmap: 't', pages: 512, align: 'pmd', thp: 'inherit' } },
      { P0: { madvise: 't', advice: 'hugepage' } },
      { P0: { write: 't' } },
    );
    if (opts.mthp) steps.push({ P0: { mmap: 'u', pages: 16, align: 'pmd', thp: 'inherit' } }, { P0: { write: 'u' } });
    steps.push({ P0: { mmap: 'spare', pages: 256, prot: 'none' } });
  }
  for (const r of regions) mapped.add(r.name);
  // the actors: each live process and the threads it created (thread -> its process)
  const threadOf = new Map<string, string>();
  if (opts.threads) {
    steps.push({ P0: { thread: 'P0t1' } });
    threadOf.set('P0t1', 'P0');
  }
  const actors = () => [...alive, ...[...threadOf].filter(([, p]) => alive.includes(p)).map(([t]) => t)];
  const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length]!;
  // large areas: whole, edges, halves and single pages around their middle
  const pageRef = (r: (typeof regions)[number], i: number) => {
    if (r.kind === 'thp' || r.kind === 'mthp' || r.kind === 'hugetlb') {
      const n = r.pages;
      return pick(
        [
          r.name,
          `${r.name}[0]`,
          `${r.name}[1]`,
          `${r.name}[${n - 1}]`,
          `${r.name}[0:${n / 2}]`,
          `${r.name}[${n / 2}:${n}]`,
          `${r.name}[1:${n}]`,
          `${r.name}[${n / 2 - 1}]`,
        ],
        i,
      );
    }
    return r.pages > 1 && i % 3 !== 2 ? `${r.name}[${i % r.pages}]` : r.name;
  };
  // threads stopped in a window (opts.windows): their next step is their resume
  const stopped = new Set<string>();
  for (const c of cmds) {
    // without threads the actors are the live processes, as before threads existed (the same seed, the same scenarios)
    const actor = pick(threadOf.size ? actors() : alive, c.a);
    const proc = threadOf.get(actor) ?? actor;
    if (stopped.delete(actor)) {
      steps.push({ [actor]: 'resume' });
      continue;
    }
    const region = pick(regions, c.b);
    const spec = SPEC.get(c.op);
    if (!spec) continue;
    if (spec.onRegion && !mapped.has(region.name)) continue;
    if (spec.onRegion && region.kind === 'hugetlb' && !ON_HUGETLB.has(c.op)) continue;
    const x: FuzzCx = {
      proc,
      others: alive.filter((p) => p !== proc),
      region,
      at: pageRef(region, c.c),
      pipes,
      swap: opts.swap !== false,
      pick,
      newProc() {
        if (created >= maxProcs) return null;
        const child = `P${created++}`;
        alive.push(child);
        return child;
      },
      endProc() {
        // a thread does not exit on its own
        if (alive.length === 1 || actor !== proc) return false;
        alive.splice(alive.indexOf(proc), 1);
        handles.delete(proc);
        // (exit_group(): its threads stopped in a window give up)
        for (const [t, p] of threadOf) if (p === proc) stopped.delete(t);
        return true;
      },
      newPipe() {
        if (pipes.length >= 3) return null;
        const p = `p${pipes.length}`;
        pipes.push(p);
        return p;
      },
      handles: () => handles.get(proc) ?? [],
      newHandle() {
        const hs = handles.get(proc) ?? [];
        const h = `h${hs.length}`;
        hs.push(h);
        handles.set(proc, hs);
        return h;
      },
      hasUffd(create) {
        const had = uffd.has(proc);
        if (create) uffd.add(proc);
        return had;
      },
      hasRing(create) {
        const had = rings.has(proc);
        if (create) rings.add(proc);
        return had;
      },
      mapRegion: () => void mapped.add(region.name),
      swapoff: () => swapoffLeft-- > 0,
      thp: opts.thp === true,
    };
    const step = spec.gen(c, x);
    if (step === null) continue;
    const window = opts.windows && actor !== proc ? windowOf(c, step, region.pages) : null;
    if (window) stopped.add(actor);
    steps.push({ [actor]: window ? { ...(step as Record<string, unknown>), stop: window } : step });
  }
  for (const t of stopped) steps.push({ [t]: 'resume' });
  return {
    name,
    description: 'generated by cowlab fuzz',
    files: { fd: { kind: 'memfd', pages: 1 }, ft: { kind: 'tmpfile', pages: 2 } },
    ...(fuzzEnv(opts, hugetlbPages, ksmZeroPages, hugetlbOvercommit)
      ? { env: fuzzEnv(opts, hugetlbPages, ksmZeroPages, hugetlbOvercommit) }
      : {}),
    processes: ['P0'],
    steps,
  };
}

/**
 * The window a thread's step stops in (GenOptions.windows), for one command
 * in four of the operations that have one, or null.
 */
function windowOf(c: Cmd, step: Record<string, unknown> | string, regionPages: number): string | null {
  if (typeof step !== 'object' || (c.c >> 2) % 4 !== 0) return null;
  const op = Object.keys(step)[0];
  // a store of one page may stop between its COW copy and its PTE update, or its swap read and its PTE update
  // (c.c is below 8 and its bits 2-3 are 0 here: bit 0 chooses)
  if (op === 'write') return regionPages === 1 || /\[\d+\]$/.test(String(step.write)) ? (c.c & 1 ? 'swapin' : 'cow-copy') : null;
  if (op === 'uffd-wp' || op === 'uffd-unwp') return 'deferred-flush';
  if (op === 'clear-refs') return step['clear-refs'] === 4 ? 'deferred-flush' : null;
  if (op === 'proc-mem-write') return 'gup-retry';
  // fork stops before write-protecting a page it shares, or after a page it copies (one of each in two)
  if (op === 'fork') return c.c & 1 ? 'copy-present-page' : 'copy-present-pte';
  return null;
}

/** A random scenario, validated and resolved from its data (no YAML text in between). */
export function resolveCmds(cmds: readonly Cmd[], name: string, opts: GenOptions = {}): Resolved {
  return resolveScenario(scenarioFromObject(materialize(cmds, opts, name), `${name}.yaml`));
}

/** The scenario object as YAML text, flow style per step for readability. */
export function scenarioYaml(obj: Record<string, unknown>): string {
  const { steps, ...head } = obj as { steps: Step[] };
  const lines = [stringify(head).trimEnd(), 'steps:'];
  for (const st of steps) {
    const [proc, body] = Object.entries(st)[0]!;
    lines.push(`  - ${proc}: ${typeof body === 'string' ? body : stringify(body, { collectionStyle: 'flow' }).trim()}`);
  }
  return lines.join('\n') + '\n';
}

/** The `count` random scenarios of `seed` over the given operations (every one by default), as YAML files' text. */
export function randomScenarios(o: { seed: number; count: number; maxSteps?: number; ops?: readonly string[] }): string[] {
  const arb = cmdsArb({ ops: o.ops ?? GEN_OPS, maxSteps: o.maxSteps ?? 24 });
  return fc.sample(arb, { seed: o.seed, numRuns: o.count }).map((cmds, i) => {
    const name = `fuzz-${o.seed}-${String(i).padStart(3, '0')}`;
    return scenarioYaml(materialize(cmds, {}, name));
  });
}
