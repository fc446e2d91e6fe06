/**
 * Test files that change or check the machine's settings (vm.page-cluster,
 * the THP knobs) hold this lock, so that vitest running files in parallel
 * does not let one see the other's changes. A directory made atomically,
 * with the holder's pid; a holder that is gone does not keep it.
 */
import { beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOCK = join(tmpdir(), 'cowlab-e2e-machine.lock');

function holderGone(): boolean {
  try {
    process.kill(Number(readFileSync(join(LOCK, 'pid'), 'utf8')), 0);
    return false;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return true;
    // no pid yet: the holder is between mkdir and writing it, unless that was long ago
    if (code === 'ENOENT') {
      try {
        return Date.now() - statSync(LOCK).mtimeMs > 10_000;
      } catch {
        return false;
      }
    }
    return false;
  }
}

/** Waits for the lock (up to `timeoutMs`); returns its release. */
export async function lockMachine(timeoutMs = 30 * 60_000): Promise<() => void> {
  for (const t0 = Date.now(); ;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (holderGone()) rmSync(LOCK, { recursive: true, force: true });
    else if (Date.now() - t0 > timeoutMs) throw new Error(`${LOCK}: still held after ${timeoutMs} ms`);
    else await new Promise((r) => setTimeout(r, 200));
  }
}

/** Why the differential suites (cowlab diff on this machine's kernel) cannot run here, or null. */
export function differentialBlocker(): string | null {
  if (process.getuid?.() !== 0) return 'not root: the differential suite needs frame numbers, kpageflags and swapon';
  if (spawnSync('cc', ['--version']).status !== 0) return 'no C compiler (cc)';
  return null;
}

/** Why the qemu guests cannot run here (docs/real-kernels.md), or null. */
export function qemuMissing(): string | null {
  if (spawnSync('qemu-system-x86_64', ['--version']).status !== 0) return 'qemu-system-x86_64 not installed (docs/real-kernels.md)';
  if (spawnSync('cpio', ['--version']).status !== 0) return 'cpio not installed';
  return null;
}

/** The Debian kernels the qemu suites run on, where `cowlab kernels fetch` fetched them. */
export const guestKernels = ['debian-5.10', 'debian-6.1', 'debian-6.12', 'debian-7.x'];

/** `cowlab kernels fetch ID` has fetched that kernel. */
export function fetched(id: string): boolean {
  try {
    return readdirSync(join(process.env.COWLAB_KERNELS ?? join(process.env.HOME ?? '/root', '.cache', 'cowlab', 'kernels'), id)).includes(
      'vmlinuz',
    );
  } catch {
    return false;
  }
}

/** Holds the lock for the whole test file (unless `why` says the file's differential tests skip). */
export function holdMachineLock(why: string | null): void {
  let release: () => void = () => undefined;
  beforeAll(async () => {
    if (!why) release = await lockMachine();
  }, 30 * 60_000);
  afterAll(() => release());
}
