/**
 * Talking to running executors: each is a long-lived process (a fork
 * server) pinned to one CPU; programs go in on stdin, observations come
 * back as lines on stdout. A pool runs programs on all CPUs.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { buildExecutor, cacheDir } from './build.js';
import type { Env } from '../profiles/env.js';

/** What a step did on the kernel. */
export interface KStep {
  ret: number;
  errno: number;
  sig: number;
  /** page faults of the acting task during the step; -1 when not measured (fork) */
  faults: number;
  uffdFaults: number;
  /** the acting process's /proc/PID/ksm_merging_pages after the step; -1 when not reported */
  ksm: number;
  /** the acting process's ksm_zero_pages after the step (Z line: /proc/PID/ksm_stat, 6.5+), for programs that use KSM */
  ksmZero?: number;
  /** the 2 MiB hugetlb pool after the step (H line), for programs that map hugetlb pages */
  hugetlb?: { free: number; resv: number; surplus?: number };
  /** tags read: 0 zero-filled, -(1 + value) a write with a value, MIXED_CODE + hash mixed bytes (src/model/content.ts), else the step that wrote the data */
  data: number[];
  /** the uffd fault messages the step caused (U lines), in order: virtual page and UFFD_PAGEFAULT_FLAG_* bits */
  uffdMsgs: { vpage: number; flags: number }[];
}

/** A pagemap observation: the entry, and kpagecount/kpageflags of its frame when present, and its folio. */
export interface KPage {
  entry: bigint;
  count: number;
  flags: bigint;
  /** a PMD maps the page (PAGEMAP_SCAN PAGE_IS_HUGE): 1 or 0; -1 unknown (no PAGEMAP_SCAN before 6.7, or an older executor) */
  huge: -1 | 0 | 1;
  /** PFN of the folio's head page (the PFN itself for a small page); 0n unknown: not present, no root, or an older executor */
  head: bigint;
  /** pages of the folio (1 a small page, 512 a PMD THP); 0 unknown, as for head */
  nr: number;
}

export interface ExecResult {
  status: 'ok' | 'error' | 'timeout' | 'crash';
  /** set when the machine settings the program was to run with could not be set (it did not run with them) */
  envError?: string;
  steps: Map<number, KStep>;
  /** step -> "task:vpage" -> the page where it changed at that step (M lines are deltas: entry 0 means it became empty; absent: as at the step before) */
  pages: Map<number, Map<string, KPage>>;
  messages: string[];
  /** /proc/vmstat events of the kernel's own reclaim, compaction and migration during the program (B line): name -> delta; absent when none moved */
  background?: Record<string, number>;
  /**
   * a line of the answer that is not what the executor prints (a guest's
   * serial console can drop characters under load): the answer cannot be
   * trusted (status 'error'); a guest runs the program again
   */
  garbled?: string;
}

/** Capabilities of the machine the executor runs on. */
export interface Caps {
  root: boolean;
  kpagecount: boolean;
  gupTest: boolean;
  ioUring: boolean;
  uffd: boolean;
  swap: boolean;
  softDirty: boolean;
  /** /proc/PID/pagemap reports the uffd-wp bit (57; 5.13+) */
  pagemapUffdWp: boolean;
  /**
   * a read fault on private anonymous memory maps the shared zero page (false
   * on kernels that forbid it, such as some vendor hosts with
   * pvm_no_zero_page=1; true when it cannot be told, without root)
   */
  zeroPage: boolean;
  /** /sys/kernel/mm/transparent_hugepage is there and writable (root): the ENV request can set the THP modes */
  thp: boolean;
  /** folio sizes in KiB that have their own mode (hugepages-<kB>kB/enabled; 6.8+), ascending; empty before 6.8 */
  thpSizes: number[];
  /** the PAGEMAP_SCAN ioctl works (6.7+): M lines say whether a PMD maps the page */
  pagemapScan: boolean;
  /** /sys/kernel/mm/ksm/run is writable (CONFIG_KSM, root): ksmd can be driven and its knobs set */
  ksm: boolean;
  /** the 2 MiB hugetlb pool can be set (CONFIG_HUGETLBFS, root) */
  hugetlb: boolean;
  /** vm.unprivileged_userfaultfd is 1 */
  unprivilegedUserfaultfd: boolean;
  /** kernel.yama.ptrace_scope, -1 without Yama */
  ptraceScope: number;
  /** kernel.io_uring_disabled, 0 without the sysctl (before 6.6) */
  ioUringDisabled: number;
}

/** The capabilities an executor reports on its `C` line. */
export function parseCaps(line: string): Caps {
  const v = (k: string) => new RegExp(`\\b${k}=1\\b`).test(line);
  const sizes = /\bthp_sizes=([\d,]*)/.exec(line)?.[1] ?? '';
  return {
    root: v('root'),
    kpagecount: v('kpagecount'),
    gupTest: v('gup_test'),
    ioUring: v('io_uring'),
    uffd: v('uffd'),
    swap: v('swap'),
    softDirty: v('soft_dirty'),
    pagemapUffdWp: v('pagemap_uffd_wp'),
    zeroPage: !/\bzero_page=0\b/.test(line),
    thp: v('thp'),
    thpSizes: sizes
      .split(',')
      .filter(Boolean)
      .map(Number)
      .sort((a, b) => a - b),
    pagemapScan: v('pagemap_scan'),
    ksm: v('ksm'),
    hugetlb: v('hugetlb'),
    unprivilegedUserfaultfd: v('unpriv_uffd'),
    ptraceScope: Number(/\byama=(-?\d)\b/.exec(line)?.[1] ?? -1),
    ioUringDisabled: Math.max(0, Number(/\buring_disabled=(-?\d)\b/.exec(line)?.[1] ?? 0)),
  };
}

/**
 * Why the machine cannot run with `env`'s THP settings, or null: a size it
 * does not have set to anything but never, or (before 6.8, no per-size
 * modes) the PMD size set apart from transparent_hugepage/enabled.
 */
export function envBlocker(env: Readonly<Env>, caps: Caps): string | null {
  // the executors run on x86, whose TLB shootdowns the model takes as IPIs (a fact, not a setting)
  if (env.tlbFlush !== 'ipi') return `tlb-flush: ${env.tlbFlush}: the machine's TLB flushes are IPIs (x86); another kind is model only`;
  if (!caps.thp) return 'no writable /sys/kernel/mm/transparent_hugepage: the THP settings cannot be set';
  const have = new Set(caps.thpSizes.map(String));
  for (const [kb, mode] of Object.entries(env.thpSizes)) {
    if (have.has(kb)) continue;
    const eff = mode === 'inherit' ? env.thp : mode;
    if (kb === '2048' && caps.thpSizes.length === 0) {
      if (eff !== env.thp) return `THP size 2048 kB ${mode}: before 6.8 the PMD size follows transparent_hugepage/enabled (${env.thp})`;
    } else if (eff !== 'never') {
      return `THP size ${kb} kB ${mode}: this machine has no hugepages-${kb}kB (sizes: ${caps.thpSizes.join(', ') || 'none before 6.8'})`;
    }
  }
  return null;
}

/**
 * The executor's ENV request that gives the machine exactly `env`'s THP
 * settings: the global mode, every size the machine has (a size `env` does
 * not name is never), the huge zero page, the 2 MiB hugetlb pool (all
 * free; under a lock no other cowlab run takes while a hugetlb program runs);
 * and khugepaged asleep for an hour,
 * because the model has no background collapse (in a slow qemu guest with
 * THP `always` khugepaged collapsed the pages of running scenarios). Throws
 * when it cannot (envBlocker).
 */
export function envRequest(env: Readonly<Env>, caps: Caps): string {
  const why = envBlocker(env, caps);
  if (why) throw new Error(why);
  const parts = [`thp=${env.thp}`];
  for (const kb of caps.thpSizes) parts.push(`thp_${kb}=${env.thpSizes[String(kb)] ?? 'never'}`);
  parts.push(`use_zero_page=${env.hugeZeroPage ? 1 : 0}`);
  parts.push('khugepaged_sleep=3600000');
  if (caps.ksm) parts.push(...ksmEnvParts(env));
  if (caps.hugetlb) parts.push(`hugetlb_2048=${env.hugetlbPages}`, `hugetlb_overcommit_2048=${env.hugetlbOvercommit}`);
  return `ENV ${parts.join(' ')}`;
}

/**
 * ksmd's knobs for an ENV request: run recorded as it is (a ksm-scan step
 * starts ksmd and stops it again), no sleep between batches, no smart-scan
 * skipping, use_zero_pages from the environment.
 */
export function ksmEnvParts(env: Readonly<Env>): string[] {
  return [
    'ksm_run=keep',
    'ksm_advisor_mode=none',
    'ksm_pages_to_scan=4096',
    'ksm_sleep_millisecs=0',
    'ksm_smart_scan=0',
    `ksm_use_zero_pages=${env.ksmZeroPages ? 1 : 0}`,
  ];
}

export interface ExecutorOptions {
  cpu?: number;
  /** create and enable a swapfile of this many MiB (removed again on exit) */
  swapMb?: number;
  /** own the machine settings: vm.page-cluster = 0 while it runs, and the ENV request (one executor of a pool) */
  machine?: boolean;
  timeoutMs?: number;
  /** the pool's swapfile (the machine owner's), which a swapoff step of this executor turns off */
  swapArea?: string;
}

/** The swapfile of this process's executor pool with its owner on `cpu`. */
export function poolSwapfile(cpu = 0): string {
  return join(cacheDir(), `cowlab-swap-${process.pid}-${cpu}`);
}

/** One executor process. */
export class Executor {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();
  readonly ready: Promise<string[]>;

  constructor(opts: ExecutorOptions = {}) {
    const bin = buildExecutor();
    const args = ['--scratch', cacheDir(), '--timeout-ms', String(opts.timeoutMs ?? 20000)];
    if (opts.cpu !== undefined) args.push('--cpu', String(opts.cpu));
    if (opts.machine) args.push('--page-cluster0');
    if (opts.swapMb) args.push('--swapfile', poolSwapfile(opts.cpu), '--swap-mb', String(opts.swapMb));
    else if (opts.swapArea) args.push('--swap-area', opts.swapArea);
    // its own process group: a Ctrl-C (SIGINT to the terminal's group) is cowlab's to handle, by finishing
    // the scenarios under way; the executor still dies with cowlab (its parent-death signal)
    this.proc = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    // an executor that died under a write: its exit ends the request (`until` throws), not an EPIPE
    this.proc.stdin.on('error', () => undefined);
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d: string) => process.stderr.write(d));
    const rl = createInterface({ input: this.proc.stdout });
    rl.on('line', (l) => {
      this.lines.push(l);
      this.waiter?.();
    });
    this.proc.on('exit', () => {
      this.closed = true;
      this.waiter?.();
    });
    this.ready = this.until('READY');
  }

  /** Lines up to and including one starting with `end`. */
  private async until(end: string): Promise<string[]> {
    const got: string[] = [];
    for (;;) {
      while (this.lines.length) {
        const l = this.lines.shift()!;
        got.push(l);
        if (l.startsWith(end)) return got;
      }
      if (this.closed) throw new Error(`the executor exited (last output: ${got.slice(-3).join(' | ')})`);
      await new Promise<void>((res) => (this.waiter = res));
      this.waiter = null;
    }
  }

  private request(text: string, end: string): Promise<string[]> {
    const p = this.queue.then(async () => {
      await this.ready;
      this.proc.stdin.write(text);
      return this.until(end);
    });
    this.queue = p.catch(() => undefined);
    return p;
  }

  async caps(): Promise<Caps> {
    const lines = await this.request('CAPS\n', 'END');
    return parseCaps(lines.find((l) => l.startsWith('C ')) ?? '');
  }

  /**
   * Sends an ENV request (envRequest), or with `wantOnly` the same as WANT:
   * the executor only records the THP settings its programs claim (an
   * executor of a pool that does not own the machine). Throws with the
   * executor's message when it is refused.
   */
  async setEnv(request: string, wantOnly = false): Promise<void> {
    if (wantOnly) request = request.replace(/^ENV\b/, 'WANT');
    const lines = await this.request(`${request}\n`, 'END');
    if (lines.at(-1) !== 'END ok') {
      const why = lines.filter((l) => l.startsWith('X ')).map((l) => l.slice(2));
      throw new Error(why.join('; ') || `${request}: ${lines.at(-1) ?? 'no answer'}`);
    }
  }

  /** Runs a program; returns what the kernel did. */
  async run(program: string[]): Promise<ExecResult> {
    const lines = await this.request(`PROG ${program.length}\n${program.join('\n')}\n`, 'END');
    return parseOutput(lines);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.proc.stdin.end('QUIT\n');
    await new Promise<void>((res) => {
      if (this.closed) res();
      else this.proc.on('exit', () => res());
    });
  }
}

/** Parses an executor's output for one program. */
export function parseOutput(lines: readonly string[]): ExecResult {
  const res: ExecResult = { status: 'error', steps: new Map(), pages: new Map(), messages: [] };
  for (const l of lines) {
    const f = l.split(' ');
    if (!wellFormed(f)) {
      res.garbled ??= l.length > 120 ? `${l.slice(0, 120)}...` : l;
      continue;
    }
    switch (f[0] ?? '') {
      case 'P': {
        const n = Number(f[8]);
        res.steps.set(Number(f[1]), {
          ret: Number(f[2]),
          errno: Number(f[3]),
          sig: Number(f[4]),
          faults: Number(f[5]),
          uffdFaults: Number(f[6]),
          ksm: Number(f[7]),
          data: f.slice(9, 9 + n).map(Number),
          uffdMsgs: [],
        });
        break;
      }
      case 'U': {
        const st = res.steps.get(Number(f[1]));
        if (st) st.uffdMsgs.push({ vpage: Number(f[2]), flags: Number(f[3]) });
        break;
      }
      case 'M': {
        const step = Number(f[1]);
        let m = res.pages.get(step);
        if (!m) res.pages.set(step, (m = new Map<string, KPage>()));
        // huge, head and nr came later: an older executor's line has none of them
        const huge = Number(f[7] ?? -1);
        m.set(`${f[2]}:${f[3]}`, {
          entry: BigInt(`0x${f[4]}`),
          count: Number(f[5]),
          flags: BigInt(`0x${f[6]}`),
          huge: huge === 0 || huge === 1 ? huge : -1,
          head: f[8] !== undefined ? BigInt(`0x${f[8]}`) : 0n,
          nr: f[9] !== undefined ? Number(f[9]) : 0,
        });
        break;
      }
      case 'H': {
        const st = res.steps.get(Number(f[1]));
        if (st) st.hugetlb = { free: Number(f[2]), resv: Number(f[3]), ...(f[4] !== undefined ? { surplus: Number(f[4]) } : {}) };
        break;
      }
      case 'Z': {
        const st = res.steps.get(Number(f[1]));
        if (st) st.ksmZero = Number(f[2]);
        break;
      }
      case 'X': {
        // "X env: ...": the program did not run, as its environment (the hugetlb pool, swap it may turn off) could not be had
        const m = l.slice(2);
        res.messages.push(m);
        if (m.startsWith('env: ')) res.envError = m.slice(5);
        break;
      }
      case 'B': {
        const bg: Record<string, number> = {};
        for (const kv of f.slice(1)) {
          const [k, v] = kv.split('=');
          if (k && v !== undefined) bg[k] = Number(v);
        }
        res.background = bg;
        break;
      }
      case 'END':
        res.status = (f[1] as ExecResult['status']) ?? 'error';
        break;
      default:
        break;
    }
  }
  if (res.garbled !== undefined) {
    res.status = 'error';
    res.messages.push(`garbled line in the executor's answer: ${res.garbled}`);
  }
  return res;
}

const INT = /^-?\d+$/;
const HEX = /^[0-9a-fA-F]+$/;
const STATUSES = new Set(['ok', 'error', 'timeout', 'crash']);

/** The fields of a P, M, H or END line are numbers (hex where the executor prints hex) and a known status. */
function wellFormed(f: readonly string[]): boolean {
  switch (f[0] ?? '') {
    case 'P':
      return f.length >= 9 && f.length === 9 + Number(f[8]) && f.slice(1).every((x) => INT.test(x));
    case 'M':
      return (
        f.length >= 7 &&
        [1, 2, 3, 5, 7, 9].every((i) => f[i] === undefined || INT.test(f[i])) &&
        [4, 6, 8].every((i) => f[i] === undefined || HEX.test(f[i]))
      );
    case 'Z':
      return f.length === 3 && INT.test(f[1]!) && INT.test(f[2]!);
    case 'U':
      return f.length === 4 && f.slice(1).every((x) => INT.test(x));
    case 'H':
      return f.length >= 4 && f.slice(1, 4).every((x) => INT.test(x));
    case 'END':
      return f.length === 2 && STATUSES.has(f[1]!);
    default:
      return true;
  }
}

/**
 * Executors on several CPUs; programs go round-robin. The first executor owns
 * the machine settings (swapfile, vm.page-cluster, the THP modes of setEnv)
 * and is ready before the others start, so they never see a half-set-up
 * machine.
 */
export class ExecutorPool {
  readonly executors: Executor[] = [];
  private next = 0;
  private readonly started: Promise<void>;
  private capsP: Promise<Caps> | null = null;
  /** programs sent and not yet answered, on all executors */
  private running = 0;
  private idle: (() => void)[] = [];
  /** resolves when no setEnv is under way; programs wait for it */
  private gate: Promise<void> = Promise.resolve();

  constructor(n: number, opts: ExecutorOptions = {}) {
    const first = new Executor({ ...opts, cpu: 0, machine: true });
    this.executors.push(first);
    this.started = first.ready.then(() => {
      const swapArea = opts.swapMb ? poolSwapfile(0) : undefined;
      for (let i = 1; i < n; i++) this.executors.push(new Executor({ ...opts, cpu: i, swapMb: 0, machine: false, swapArea }));
    });
  }

  /** Round-robin; each executor runs its queue in order. */
  async run(program: string[]): Promise<ExecResult> {
    await this.started;
    for (let g = this.gate; ; g = this.gate) {
      await g;
      if (g === this.gate) break;
    }
    this.running++;
    try {
      const e = this.executors[this.next++ % this.executors.length]!;
      return await e.run(program);
    } finally {
      if (--this.running === 0) for (const f of this.idle.splice(0)) f();
    }
  }

  /** The machine's capabilities (asked once). */
  async caps(): Promise<Caps> {
    await this.started;
    return (this.capsP ??= this.executors[0]!.caps());
  }

  /**
   * Gives the machine `env`'s THP settings (envRequest), through the machine
   * owner: waits until no program runs on any executor, and holds new ones
   * back until the settings are made. Throws when the machine cannot have
   * them or the executor refuses.
   */
  async setEnv(env: Readonly<Env>): Promise<void> {
    const request = envRequest(env, await this.caps());
    const prev = this.gate;
    let open!: () => void;
    this.gate = new Promise<void>((res) => (open = res));
    try {
      await prev;
      while (this.running > 0) await new Promise<void>((res) => this.idle.push(res));
      // the others only record what their programs claim (thp.lock: another run may set other values meanwhile)
      await Promise.all(this.executors.map((e, i) => e.setEnv(request, i > 0)));
    } finally {
      open();
    }
  }

  async close(): Promise<void> {
    await this.started.catch(() => undefined);
    // the machine owner last: the others may still be using swap
    await Promise.all(this.executors.slice(1).map((e) => e.close()));
    await this.executors[0]!.close();
  }
}
