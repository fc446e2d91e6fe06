/**
 * Running executor programs inside a qemu guest: the statically linked
 * executor is the guest's /init, the programs of a batch go in the
 * initramfs, observations come back over the serial console in the same
 * line format as on the host (one boot per batch, guests in parallel).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, copyFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { buildExecutor, cacheDir } from '../executor/build.js';
import { parseOutput, parseCaps, type Caps, type ExecResult } from '../executor/server.js';
import { InputError } from '../scenario/errors.js';

/** A kernel image to boot, with its brd module if brd is not built in. */
export interface GuestKernel {
  /** display name */
  name: string;
  vmlinuz: string;
  brd: string | null;
}

export interface GuestOptions {
  /** guests booted in parallel (default 2) */
  jobs?: number;
  /** programs per boot (default: all of a guest's share) */
  batch?: number;
  /** per-program time limit inside the guest */
  timeoutMs?: number;
  /**
   * the ENV request (envRequest) each program runs under, or null to leave
   * the guest's settings alone; sent before a batch's first program and
   * whenever it changes within a batch (order programs by it to share boots)
   */
  envs?: readonly (string | null)[];
  /** how a batch is booted (tests give their own; default boot()) */
  boot?: (k: GuestKernel, requests: string[], opts: { progTimeoutMs?: number }) => Promise<BootOutput>;
}

/** What one boot printed, split up. */
export interface BootOutput {
  guest: Record<string, string>;
  caps: Caps | null;
  results: ExecResult[];
  /** seconds from qemu start to exit */
  seconds: number;
  /** the tail of the console, for errors */
  tail: string[];
}

/** size of the ext4 image that becomes /scratch (the RAM disk it goes on is 64 MiB) */
const SCRATCH_MB = 12;

/** The ext4 image that becomes /scratch in the guest (O_DIRECT needs a real file system). */
function scratchImage(): string | null {
  const img = join(cacheDir(), `guest-scratch-ext4-${SCRATCH_MB}M.img`);
  if (existsSync(img)) return img;
  const tmp = `${img}.tmp${process.pid}`;
  writeFileSync(tmp, '');
  spawnSync('truncate', ['-s', `${SCRATCH_MB}M`, tmp]);
  const r = spawnSync('mkfs.ext4', ['-F', '-q', '-b', '4096', '-N', '64', '-O', '^has_journal', '-m', '0', tmp], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    return null; // no e2fsprogs: the guest uses tmpfs, and O_DIRECT scenarios will fail there
  }
  spawnSync('mv', [tmp, img]);
  return img;
}

/** Checks the host tools a guest needs; InputError naming the missing one. */
export function checkGuestTools(): void {
  for (const [tool, pkg] of [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['cpio', 'cpio'],
  ] as const) {
    const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
    if (r.error)
      throw new InputError(`${tool} is not installed (apt-get install -y --no-install-recommends ${pkg}; see docs/real-kernels.md)`);
  }
}

/** Builds a gzip'd newc initramfs holding /init, /brd.ko, /scratch.img and /batch. */
function initramfs(dir: string, k: GuestKernel, batch: string): string {
  const root = join(dir, 'root');
  mkdirSync(root);
  copyFileSync(buildExecutor({ static: true }), join(root, 'init'));
  if (k.brd) copyFileSync(k.brd, join(root, 'brd.ko'));
  const img = scratchImage();
  if (img) copyFileSync(img, join(root, 'scratch.img'));
  writeFileSync(join(root, 'batch'), batch);
  const names = ['.', 'init', 'batch', ...(k.brd ? ['brd.ko'] : []), ...(img ? ['scratch.img'] : [])].join('\n');
  const r = spawnSync('cpio', ['-o', '-H', 'newc', '--owner=0:0', '--quiet'], { cwd: root, input: `${names}\n`, maxBuffer: 256 << 20 });
  if (r.error || r.status !== 0) throw new InputError(`cpio failed: ${r.error?.message ?? r.stderr.toString()}`);
  const out = join(dir, 'initrd.gz');
  writeFileSync(out, gzipSync(r.stdout, { level: 1 }));
  return out;
}

/** Boots a kernel once with a batch of requests (CAPS / ENV / PROG ...); QUIT is appended. */
export async function boot(
  k: GuestKernel,
  requests: string[],
  opts: { timeoutMs?: number; progTimeoutMs?: number } = {},
): Promise<BootOutput> {
  if (!existsSync(k.vmlinuz)) throw new InputError(`${k.vmlinuz}: no such kernel image`);
  reapStaleGuestDirs();
  const dir = mkdtempSync(join(cacheDir(), `guest-${process.pid}-`));
  const guest: LiveGuest = { p: null, dir };
  liveGuests.add(guest);
  leaveWithGuests();
  try {
    const initrd = initramfs(dir, k, `${requests.join('')}QUIT\n`);
    const progTimeout = opts.progTimeoutMs ?? 30000;
    const append = `console=ttyS0 panic=-1 quiet loglevel=1 -- --page-cluster0 --cpu 0 --timeout-ms ${progTimeout}`;
    const args = [
      // the guest's RAM is not MADV_MERGEABLE: the host's ksmd, driven by a host scenario's ksm-scan,
      // would otherwise merge that scenario's pages with equal pages of the guest's executor
      '-machine',
      'mem-merge=off',
      '-accel',
      'tcg',
      '-kernel',
      k.vmlinuz,
      '-initrd',
      initrd,
      '-append',
      append,
      '-nographic',
      '-m',
      '1024',
      '-smp',
      '2',
      '-no-reboot',
      '-net',
      'none',
    ];
    const t0 = Date.now();
    // the executor's limit is per step (a long program is not a slow one), so the guest's is too: a guest
    // is stopped after a silence longer than boot plus one step's limit (it prints as each step ends), or
    // past a budget for the whole batch. A whole-boot limit of 30 s per program stopped 1000-step fuzz
    // programs that were working (debian-5.10 seed 2026 scenario 60: 746 steps, about 0.12 s each in TCG).
    const idle = 60000 + progTimeout;
    const steps = requests.reduce((n, r) => n + r.split('\n').length, 0);
    const limit = opts.timeoutMs ?? 60000 + requests.length * progTimeout + steps * 1000;
    // qemu dies with cowlab even when cowlab is SIGKILLed (the parent-death signal)
    const [cmd, argv] = PDEATHSIG
      ? ['setpriv', ['--pdeathsig', 'KILL', '--', 'qemu-system-x86_64', ...args]]
      : ['qemu-system-x86_64', args];
    const text = await watched(cmd, argv, { idleMs: idle, limitMs: limit }, (p) => (guest.p = p));
    return splitOutput(text.replace(/\r/g, '').split('\n'), (Date.now() - t0) / 1000);
  } finally {
    liveGuests.delete(guest);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs a command and gives back everything it printed (stdout and stderr in
 * arrival order), killing it after `idleMs` without output or `limitMs` in all.
 */
export function watched(
  cmd: string,
  argv: readonly string[],
  o: { idleMs: number; limitMs: number },
  started: (p: ChildProcess) => void = () => {},
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    // its own process group (as the executors): a Ctrl-C is cowlab's to handle; qemu dies with cowlab
    // through its parent-death signal and killGuests()
    const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    started(p);
    let buf = '';
    const stop = () => p.kill('SIGKILL');
    let quiet = setTimeout(stop, o.idleMs);
    const heard = (d: string) => {
      buf += d;
      clearTimeout(quiet);
      quiet = setTimeout(stop, o.idleMs);
    };
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', heard);
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', heard);
    const timer = setTimeout(stop, o.limitMs);
    const done = () => {
      clearTimeout(timer);
      clearTimeout(quiet);
    };
    p.on('error', (e) => {
      done();
      reject(new InputError(`cannot start ${cmd}: ${e.message}`));
    });
    p.on('exit', () => {
      done();
      resolve(buf);
    });
  });
}

/** A guest that is booting or running, and its directory (initramfs: about 14 MB). */
interface LiveGuest {
  p: ChildProcess | null;
  dir: string;
}
const liveGuests = new Set<LiveGuest>();

/** setpriv (util-linux) can give qemu a parent-death signal; without it a SIGKILLed cowlab leaves qemu to its timeout. */
const PDEATHSIG = spawnSync('setpriv', ['--help'], { encoding: 'utf8' }).stdout?.includes('--pdeathsig') ?? false;

/** Kills the running guests and removes their directories (synchronous: it runs on exit). */
export function killGuests(): void {
  for (const g of liveGuests) {
    g.p?.kill('SIGKILL');
    rmSync(g.dir, { recursive: true, force: true });
  }
  liveGuests.clear();
}

let leaving = false;
/**
 * Guests go with cowlab: on exit, and on a signal that would end cowlab (no
 * command handles it: `fuzz` does, stops after its batch and exits, which
 * runs the exit hook).
 */
function leaveWithGuests(): void {
  if (leaving) return;
  leaving = true;
  process.on('exit', killGuests);
  for (const [sig, no] of [
    ['SIGINT', 2],
    ['SIGTERM', 15],
    ['SIGHUP', 1],
  ] as const) {
    if (process.listenerCount(sig) > 0) continue;
    process.once(sig, () => {
      killGuests();
      process.exit(128 + no);
    });
  }
}

/** Removes the guest directories of cowlab processes that are gone (a SIGKILL leaves them). */
function reapStaleGuestDirs(): void {
  let names: string[];
  try {
    names = readdirSync(cacheDir());
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^guest-(\d+)-/.exec(n);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    rmSync(join(cacheDir(), n), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Splits a console transcript into the answers to each request (CAPS, ENV, PROG), in order. */
export function splitOutput(lines: readonly string[], seconds: number): BootOutput {
  const out: BootOutput = { guest: {}, caps: null, results: [], seconds, tail: lines.slice(-8) };
  let cur: string[] | null = null;
  for (const l of lines) {
    if (l.startsWith('G ')) {
      for (const kv of l.slice(2).split(' ')) {
        const i = kv.indexOf('=');
        if (i > 0) out.guest[kv.slice(0, i)] = kv.slice(i + 1);
        else out.guest[kv] = '';
      }
      continue;
    }
    if (l.startsWith('C ')) {
      out.caps = parseCaps(l);
      continue;
    }
    // the executor's lines (parseOutput); the rest is kernel messages, qemu, READY
    if (!/^(I|P|M|U|H|Z|X|END)( |$)/.test(l)) continue;
    (cur ??= []).push(l);
    if (l.startsWith('END')) {
      out.results.push(parseOutput(cur));
      cur = null;
    }
  }
  return out;
}

/** The guest's capabilities, cached per kernel image (one boot the first time). */
export async function guestCaps(k: GuestKernel): Promise<{ caps: Caps; guest: Record<string, string> }> {
  const st = statSync(k.vmlinuz);
  const key = createHash('sha256')
    .update(`caps-v2:${k.vmlinuz}:${st.size}:${st.mtimeMs}:${k.brd ?? ''}:${readFileSync(buildExecutor({ static: true })).length}`)
    .digest('hex')
    .slice(0, 16);
  const file = join(cacheDir(), `guest-caps-${key}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as { caps: Caps; guest: Record<string, string> };
  // a boot under TCG can panic by itself (seen once on debian-7.x: "Fatal exception in interrupt" at 1.3 s,
  // the next boot fine): two more tries before the kernel is reported as not answering
  let b = await boot(k, ['CAPS\n']);
  for (let i = 0; i < 2 && !b.caps; i++) b = await boot(k, ['CAPS\n']);
  if (!b.caps) throw new InputError(`${k.name}: the guest did not answer in 3 boots (console of the last: ${b.tail.join(' | ')})`);
  const res = { caps: b.caps, guest: b.guest };
  writeFileSync(file, JSON.stringify(res));
  return res;
}

/**
 * Runs programs in guests: split into batches, `jobs` guests at a time;
 * results in input order. A program the guest never answered (it crashed
 * or hung) gets status "crash" with the console's last lines.
 */
export async function runInGuests(
  k: GuestKernel,
  programs: readonly string[][],
  opts: GuestOptions = {},
): Promise<{ results: ExecResult[]; boots: number; bootSeconds: number[] }> {
  const jobs = Math.max(1, opts.jobs ?? 2);
  const per = Math.max(1, opts.batch ?? Math.ceil(programs.length / jobs));
  const batches: number[][] = [];
  for (let i = 0; i < programs.length; i += per) batches.push(programs.slice(i, i + per).map((_, j) => i + j));
  const results = new Array<ExecResult>(programs.length);
  const bootSeconds: number[] = [];
  const retried = new Set<number>();
  let next = 0;
  const worker = async () => {
    for (;;) {
      // (look before taking: a worker that found the queue empty must not move `next` past a batch
      // that another worker's failed boot pushes afterwards, or that batch never runs)
      if (next >= batches.length) return;
      const b = batches[next++]!;
      // each boot starts from the kernel's defaults: the first program's ENV, then every change
      const reqs: { text: string; prog: number | null }[] = [];
      let env: string | null = null;
      for (const i of b) {
        const want = opts.envs?.[i] ?? null;
        if (want !== null && want !== env) reqs.push({ text: `${want}\n`, prog: null });
        env = want;
        reqs.push({ text: `PROG ${programs[i]!.length}\n${programs[i]!.join('\n')}\n`, prog: i });
      }
      const o = await (opts.boot ?? boot)(
        k,
        reqs.map((q) => q.text),
        { progTimeoutMs: opts.timeoutMs },
      );
      bootSeconds.push(o.seconds);
      let answered = 0;
      let envError: string | undefined;
      reqs.forEach((q, j) => {
        const r = o.results[j];
        if (!r) return;
        if (q.prog === null) {
          envError = r.status === 'ok' ? undefined : r.messages.join('; ') || `the guest answered ENV with ${r.status}`;
          return;
        }
        results[q.prog] = envError !== undefined ? { ...r, envError } : r;
        answered++;
        // a garbled answer: the program gets one more boot of its own, then the answer stands as an error
        if (r.garbled !== undefined && !retried.has(q.prog)) {
          retried.add(q.prog);
          batches.push([q.prog]);
        }
      });
      // the guest stopped answering: the program it was on gets one more boot of its own, then is a crash
      if (answered < b.length) {
        const at = b[answered]!;
        if (retried.has(at)) {
          results[at] = {
            status: 'crash',
            steps: new Map(),
            pages: new Map(),
            messages: [`the guest stopped answering (console: ${o.tail.join(' | ')})`],
          };
        } else {
          retried.add(at);
          batches.push([at]);
        }
        const rest = b.slice(answered + 1);
        if (rest.length) batches.push(rest);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, batches.length) }, worker));
  // every program has an answer: a hole here would be a cowlab bug, reported as the program's own crash
  for (let i = 0; i < programs.length; i++)
    results[i] ??= { status: 'crash', steps: new Map(), pages: new Map(), messages: ['cowlab bug: no guest ran this program'] };
  return { results, boots: batches.length, bootSeconds };
}
