/**
 * Building the C executor: compiled on first use with the system's cc into
 * a cache directory, named after the hash of its source so an edit rebuilds
 * it. No native dependency beyond libc.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, readdirSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { InputError } from '../scenario/errors.js';

/** The repository's root (two levels above dist/executor or src/executor). */
export function repoRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** Where cowlab caches builds and downloads: $COWLAB_CACHE, else <repo>/.cache. */
export function cacheDir(): string {
  const d = process.env.COWLAB_CACHE ?? join(repoRoot(), '.cache');
  mkdirSync(d, { recursive: true });
  return d;
}

export const EXECUTOR_SOURCE = 'executor/cowlab-exec.c';

/** Compiler flags for the executor and for emitted reproducers. */
export const CFLAGS = ['-O2', '-Wall', '-Wextra', '-Werror', '-pthread', '-Wl,-z,now'];

/** Path of the executor binary, compiling it if needed. `static` links it statically (for qemu guests). */
export function buildExecutor(opts: { static?: boolean } = {}): string {
  const src = join(repoRoot(), EXECUTOR_SOURCE);
  const text = readFileSync(src);
  const hash = createHash('sha256').update(text).update(opts.static ? 'static' : 'dynamic').digest('hex').slice(0, 12);
  const out = join(cacheDir(), `cowlab-exec-${hash}${opts.static ? '-static' : ''}`);
  if (existsSync(out)) return out;
  const cc = process.env.CC ?? 'cc';
  const tmp = `${out}.tmp${process.pid}`;
  const args = [...CFLAGS, ...(opts.static ? ['-static'] : []), '-o', tmp, src];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.error) throw new InputError(`cannot run the C compiler "${cc}": ${r.error.message} (install gcc, or set CC)`);
  if (r.status !== 0) throw new InputError(`compiling ${EXECUTOR_SOURCE} failed:\n${r.stderr}`);
  renameSync(tmp, out);
  // older builds of an edited source are of no use any more
  for (const f of readdirSync(cacheDir())) {
    if (/^cowlab-exec-[0-9a-f]{12}(-static)?$/.test(f) && join(cacheDir(), f) !== out && f.endsWith('-static') === !!opts.static) rmSync(join(cacheDir(), f), { force: true });
  }
  return out;
}
