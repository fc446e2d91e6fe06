/**
 * Building the C executor: compiled on first use with the system's cc into
 * a cache directory, named after the hash of its source so an edit rebuilds
 * it. No native dependency beyond libc.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { InputError } from '../scenario/errors.js';
import { opsHeader } from './program.js';
import { ensureDir } from '../util/files.js';

/** The repository's root (two levels above dist/executor or src/executor). */
export function repoRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/**
 * Where cowlab caches builds and downloads: $COWLAB_CACHE (when set and not
 * empty), else <repo>/.cache; created if missing. A path that is not a
 * directory or cannot be one is an InputError naming COWLAB_CACHE.
 */
export function cacheDir(): string {
  const env = process.env.COWLAB_CACHE;
  const d = env || join(repoRoot(), '.cache');
  // not mkdirSync(d, {recursive: true}): it spins forever on /proc/x (node 20)
  ensureDir(d, env ? 'COWLAB_CACHE' : 'the cache directory');
  return d;
}

/** The executor's sources (executor/cowlab.h says what each holds); cowlab-ops.h is generated. */
export const EXECUTOR_HEADER = 'executor/cowlab.h';
export const EXECUTOR_SOURCES = [
  'executor/machine.c',
  'executor/ops.c',
  'executor/run.c',
  'executor/server.c',
  'executor/guest.c',
] as const;
/** The part an emitted reproducer embeds: everything but the server and the guest init. */
export const EXECUTOR_CORE = ['executor/machine.c', 'executor/ops.c', 'executor/run.c'] as const;

/** Compiler flags for the executor and for emitted reproducers. */
export const CFLAGS = ['-O2', '-Wall', '-Wextra', '-Werror', '-pthread', '-Wl,-z,now'];

/** Path of the executor binary, compiling it if needed. `static` links it statically (for qemu guests). */
export function buildExecutor(opts: { static?: boolean } = {}): string {
  const root = repoRoot();
  const gen = opsHeader();
  const h = createHash('sha256')
    .update(gen)
    .update(opts.static ? 'static' : 'dynamic');
  for (const f of [EXECUTOR_HEADER, ...EXECUTOR_SOURCES]) h.update(f).update(readFileSync(join(root, f)));
  const hash = h.digest('hex').slice(0, 12);
  const out = join(cacheDir(), `cowlab-exec-${hash}${opts.static ? '-static' : ''}`);
  if (existsSync(out)) return out;
  const cc = process.env.CC ?? 'cc';
  const tmp = `${out}.tmp${process.pid}`;
  // the generated header lives beside the build, never in the repository
  const incDir = `${tmp}.include`;
  mkdirSync(incDir, { recursive: true });
  writeFileSync(join(incDir, 'cowlab-ops.h'), gen);
  const args = [
    ...CFLAGS,
    ...(opts.static ? ['-static'] : []),
    '-I',
    incDir,
    '-I',
    join(root, 'executor'),
    '-o',
    tmp,
    ...EXECUTOR_SOURCES.map((f) => join(root, f)),
  ];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  rmSync(incDir, { recursive: true, force: true });
  if (r.error) throw new InputError(`cannot run the C compiler "${cc}": ${r.error.message} (install gcc, or set CC)`);
  if (r.status !== 0) throw new InputError(`compiling the executor (${EXECUTOR_SOURCES.join(' ')}) failed:\n${r.stderr}`);
  renameSync(tmp, out);
  // older builds of an edited source are of no use any more
  for (const f of readdirSync(cacheDir())) {
    if (/^cowlab-exec-[0-9a-f]{12}(-static)?$/.test(f) && join(cacheDir(), f) !== out && f.endsWith('-static') === !!opts.static)
      rmSync(join(cacheDir(), f), { force: true });
  }
  return out;
}

/** The executor core as one C text (for reproducers): its header, the generated one, and the core sources. */
export function executorCoreText(): string {
  const root = repoRoot();
  const strip = (t: string) => t.replace(/^#include "cowlab(-ops)?\.h"\n/gm, '');
  const header = readFileSync(join(root, EXECUTOR_HEADER), 'utf8').replace('#include "cowlab-ops.h"\n', opsHeader());
  return [header, ...EXECUTOR_CORE.map((f) => `/* ---- ${f} ---- */\n${strip(readFileSync(join(root, f), 'utf8'))}`)].join('\n');
}
