/**
 * Random scenarios, for property tests and the differential fuzzer.
 *
 * A random scenario is a list of abstract commands (fast-check generates
 * and shrinks the list); `materialize()` turns it into scenario steps in the
 * file format, dropping commands that make no sense at that point (a process
 * that does not exist, a pipe nobody created), so every shrunk list is still
 * a valid scenario that can be saved as a file.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';

/** Operations the generator can use. */
export const GEN_OPS = [
  'mmap', 'munmap', 'mprotect', 'madvise', 'read', 'write', 'fork', 'exit', 'pipe', 'vmsplice', 'read-pipe',
  'io-uring-setup', 'io-uring-register', 'io-uring-unregister', 'io-uring-write-fixed', 'io-uring-read-fixed',
  'odirect-read', 'odirect-write', 'process-vm-readv', 'process-vm-writev', 'proc-mem-read', 'proc-mem-write',
  'uffd', 'uffd-register', 'uffd-wp', 'uffd-unwp', 'clear-refs', 'pin', 'get', 'pin-read', 'pin-write', 'unpin',
  'file-write', 'file-read', 'transient', 'check',
] as const;
export type GenOp = (typeof GEN_OPS)[number];

/** Operations a host without GUP_TEST can run on the real kernel. */
export const HOST_OPS: readonly GenOp[] = GEN_OPS.filter((o) => !['pin', 'get', 'pin-read', 'pin-write', 'unpin', 'transient'].includes(o));

/** One abstract command: an op and three small choices. */
export interface Cmd {
  op: GenOp;
  a: number;
  b: number;
  c: number;
}

export interface GenOptions {
  ops?: readonly GenOp[];
  maxSteps?: number;
  /** processes ever created, the first included */
  maxProcs?: number;
  /** allow MADV_PAGEOUT (needs swap on a real kernel) */
  swap?: boolean;
}

/** The fixed environment random scenarios use. */
const REGIONS = [
  { name: 'a', pages: 2, kind: 'anon' },
  { name: 'b', pages: 1, kind: 'anon' },
  { name: 's', pages: 1, kind: 'shared' },
  { name: 'm', pages: 1, kind: 'memfd' },
] as const;

/** How often each op is drawn, relative to 1: the COW-relevant ones more. */
const WEIGHT: Partial<Record<GenOp, number>> = {
  write: 6, read: 3, fork: 4, munmap: 2, vmsplice: 3, 'read-pipe': 3, pipe: 2, exit: 2, mprotect: 2, madvise: 3,
  'io-uring-register': 2, pin: 2, 'pin-read': 2, 'io-uring-write-fixed': 2, 'clear-refs': 2, 'uffd-wp': 2,
};

/** fast-check arbitrary of command lists. */
export function cmdsArb(opts: GenOptions = {}): fc.Arbitrary<Cmd[]> {
  const ops = opts.ops ?? GEN_OPS;
  const op = fc.oneof(...ops.map((o) => ({ arbitrary: fc.constant(o), weight: WEIGHT[o] ?? 1 })));
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
  const steps: Step[] = [
    { P0: { mmap: 'a', pages: 2 } }, { P0: { write: 'a' } }, { P0: { mmap: 'b', pages: 1 } }, { P0: { write: 'b' } },
    { P0: { mmap: 's', pages: 1, shared: true } }, { P0: { mmap: 'm', pages: 1, file: 'fd' } }, { P0: { read: 'm' } },
  ];
  for (const r of REGIONS) mapped.add(r.name);
  const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length]!;
  const pageRef = (r: (typeof REGIONS)[number], i: number) => (r.pages > 1 && i % 3 !== 2 ? `${r.name}[${i % r.pages}]` : r.name);
  for (const c of cmds) {
    const proc = pick(alive, c.a);
    if (!proc) break;
    const region = pick(REGIONS, c.b);
    const at = pageRef(region, c.c);
    const needsRegion = !['mmap', 'fork', 'exit', 'pipe', 'read-pipe', 'io-uring-setup', 'io-uring-unregister', 'uffd', 'clear-refs',
      'pin-read', 'pin-write', 'unpin', 'file-write', 'file-read'].includes(c.op);
    if (needsRegion && !mapped.has(region.name)) continue;
    const other = alive.filter((p) => p !== proc);
    let step: Record<string, unknown> | string | null = null;
    switch (c.op) {
      case 'mmap': {
        mapped.add(region.name);
        const prot = pick(['rw', 'rw', 'r'], c.c);
        step = region.kind === 'anon' ? { mmap: region.name, pages: region.pages, prot }
          : region.kind === 'shared' ? { mmap: region.name, pages: region.pages, prot, shared: true }
            : { mmap: region.name, pages: region.pages, prot, file: 'fd' };
        break;
      }
      case 'munmap': step = { munmap: at }; break;
      case 'mprotect': step = { mprotect: at, prot: pick(['r', 'rw', 'none', 'rw'], c.c) }; break;
      case 'madvise': {
        const advice = pick(['dontneed', 'dontfork', 'dofork', 'wipeonfork', 'keeponfork', 'pageout'], c.c);
        if (advice === 'pageout' && (opts.swap === false || region.kind !== 'anon')) continue;
        step = { madvise: at, advice };
        break;
      }
      case 'read': step = { read: at }; break;
      case 'write': step = { write: at }; break;
      case 'fork': {
        if (created >= maxProcs) continue;
        const child = `P${created++}`;
        alive.push(child);
        step = { fork: child };
        break;
      }
      case 'exit':
        if (alive.length === 1) continue;
        alive.splice(alive.indexOf(proc), 1);
        handles.delete(proc);
        step = 'exit';
        break;
      case 'pipe': {
        if (pipes.length >= 3) continue;
        const p = `p${pipes.length}`;
        pipes.push(p);
        step = { pipe: p };
        break;
      }
      case 'vmsplice':
        if (!pipes.length) continue;
        step = { vmsplice: at, pipe: pick(pipes, c.c) };
        break;
      case 'read-pipe':
        if (!pipes.length) continue;
        step = { 'read-pipe': pick(pipes, c.c) };
        break;
      case 'io-uring-setup':
        if (rings.has(proc)) continue;
        rings.add(proc);
        step = 'io-uring-setup';
        break;
      case 'io-uring-register': step = { 'io-uring-register': at }; break;
      case 'io-uring-unregister': step = 'io-uring-unregister'; break;
      case 'io-uring-write-fixed': step = { 'io-uring-write-fixed': at, file: 'ft' }; break;
      case 'io-uring-read-fixed': step = { 'io-uring-read-fixed': at, file: 'ft' }; break;
      case 'odirect-read': step = { 'odirect-read': at, file: 'ft' }; break;
      case 'odirect-write': step = { 'odirect-write': at, file: 'ft' }; break;
      case 'process-vm-readv':
      case 'process-vm-writev':
      case 'proc-mem-read':
      case 'proc-mem-write':
        if (!other.length) continue;
        step = { [c.op]: at, target: pick(other, c.c) };
        break;
      case 'uffd':
        if (uffd.has(proc)) continue;
        uffd.add(proc);
        step = { uffd: pick([[], ['wp-unpopulated'], ['wp-async']], c.c) };
        break;
      case 'uffd-register':
      case 'uffd-wp':
      case 'uffd-unwp':
        if (!uffd.has(proc) || region.kind === 'memfd') continue;
        step = { [c.op]: at };
        break;
      case 'clear-refs': step = { 'clear-refs': pick([4, 4, 1, 5], c.c) }; break;
      case 'pin':
      case 'get': {
        const hs = handles.get(proc) ?? [];
        const h = `h${hs.length}`;
        hs.push(h);
        handles.set(proc, hs);
        step = c.op === 'pin'
          ? { pin: at, handle: h, write: c.c % 3 === 0, longterm: c.c % 4 !== 1, fast: c.c % 2 === 1 }
          // a long-lived FOLL_GET|FOLL_WRITE reference that a device writes through after fork leaks by design
          // (why FOLL_PIN exists); no 6.18 user-space interface holds one, so the generator takes read ones only
          : { get: at, handle: h, fast: c.c % 2 === 1 };
        break;
      }
      case 'pin-read':
      case 'pin-write':
      case 'unpin': {
        const hs = handles.get(proc);
        if (!hs?.length) continue;
        step = { [c.op]: pick(hs, c.c) };
        break;
      }
      case 'file-write': step = { 'file-write': pick(['fd', 'ft'], c.c) }; break;
      case 'file-read': step = { 'file-read': pick(['fd', 'ft'], c.c) }; break;
      case 'transient':
        step = { transient: at, kind: pick(['speculative', 'lru-batch', 'swapcache', 'page-lock'], c.c), release: c.b % 2 === 1 };
        break;
      case 'check': step = { check: at }; break;
    }
    if (step !== null) steps.push({ [proc]: step });
  }
  return {
    name,
    description: 'generated by cowlab fuzz',
    files: { fd: { kind: 'memfd', pages: 1 }, ft: { kind: 'tmpfile', pages: 2 } },
    processes: ['P0'],
    steps,
  };
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
