/**
 * `cowlab kernels fetch`: Debian's packaged kernels of other eras, as
 * oracles for the history profiles. Each suite's newest cloud kernel is
 * looked up with a private apt configuration under the cache directory (the
 * system's package state is never touched), downloaded, and reduced to what
 * a guest needs: vmlinuz, brd.ko and the config. Versions are recorded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { InputError } from '../scenario/errors.js';

/** A Debian suite whose kernel cowlab knows how to use. */
export interface Suite {
  /** kernel id: the profile of the same name describes it */
  id: string;
  suite: string;
  /** the upstream version the profile was read from */
  readFrom: string;
}

export const SUITES: readonly Suite[] = [
  { id: 'debian-5.10', suite: 'bullseye', readFrom: '5.10.223' },
  { id: 'debian-6.1', suite: 'bookworm', readFrom: '6.1.176' },
  { id: 'debian-6.12', suite: 'trixie', readFrom: '6.12.117' },
  { id: 'debian-7.x', suite: 'sid', readFrom: '7.2.13' },
];

/** What was fetched for one kernel (manifest.json). */
export interface FetchedKernel {
  id: string;
  suite: string;
  /** Debian package(s) and version */
  packages: string[];
  debVersion: string;
  /** uname -r */
  release: string;
  /** upstream version (e.g. 5.10.223) */
  upstream: string;
  vmlinuz: string;
  /** the brd module, or null when brd is built in */
  brd: string | null;
  /** the kernel's .config when the package ships it */
  config: string | null;
  fetchedAt: string;
}

/** Where fetched kernels live: $COWLAB_KERNELS, else $XDG_CACHE_HOME/cowlab/kernels (kept across clones). */
export function kernelsDir(): string {
  const d = process.env.COWLAB_KERNELS ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'cowlab', 'kernels');
  mkdirSync(d, { recursive: true });
  return d;
}

function run(cmd: string, args: string[], what: string, cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd, maxBuffer: 256 << 20, timeout: 600_000 });
  if (r.error) throw new InputError(`${what}: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0)
    throw new InputError(
      `${what}: ${cmd} ${args.slice(-2).join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`,
    );
  return r.stdout;
}

/** apt options for a private configuration of one suite. */
function aptOptions(dir: string, suite: string): string[] {
  for (const d of ['lists/partial', 'cache/archives/partial']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'sources.list'), `deb http://deb.debian.org/debian ${suite} main\n`);
  writeFileSync(join(dir, 'status'), '');
  return [
    '-o',
    `Dir::Etc::SourceList=${join(dir, 'sources.list')}`,
    '-o',
    'Dir::Etc::SourceParts=/dev/null',
    '-o',
    `Dir::State::Lists=${join(dir, 'lists')}`,
    '-o',
    `Dir::Cache=${join(dir, 'cache')}`,
    '-o',
    `Dir::State::status=${join(dir, 'status')}`,
    '-o',
    'APT::Architecture=amd64',
    '-o',
    'Debug::NoLocking=1',
    '-o',
    'APT::Get::List-Cleanup=0',
    '-q',
  ];
}

/** Debian version comparison, by dpkg itself. */
function debNewer(a: string, b: string): boolean {
  return spawnSync('dpkg', ['--compare-versions', a, 'gt', b]).status === 0;
}

/** The newest cloud kernel package of a suite (image, and modules when they are split out). */
function newestKernel(opts: string[], suite: string): { image: string; modules: string | null; version: string } {
  const names = run('apt-cache', [...opts, 'pkgnames', 'linux-'], `looking up ${suite}`).split('\n');
  let best: { image: string; modules: string | null; version: string } | null = null;
  for (const n of names) {
    let modules: string | null = null;
    let m = /^linux-image-(.+)-cloud-amd64-unsigned$/.exec(n);
    if (!m) {
      m = /^linux-binary-unsigned-(.+)-cloud-amd64$/.exec(n);
      if (m) modules = `linux-modules-${m[1]}-cloud-amd64`;
    }
    if (!m) continue;
    const show = run('apt-cache', [...opts, 'show', n], `looking up ${n}`);
    const v = /^Version: (\S+)/m.exec(show)?.[1];
    if (!v) continue;
    if (!best || debNewer(v, best.version)) best = { image: n, modules: modules && names.includes(modules) ? modules : null, version: v };
  }
  if (!best) throw new InputError(`no cloud-amd64 kernel package found in Debian ${suite}`);
  return best;
}

function findFiles(dir: string, pred: (name: string) => boolean, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) findFiles(p, pred, out);
    else if (pred(e.name)) out.push(p);
  }
  return out;
}

/** A fetched kernel's manifest, or null when it has not been fetched. */
export function fetchedKernel(id: string): FetchedKernel | null {
  const f = join(kernelsDir(), id, 'manifest.json');
  if (!existsSync(f)) return null;
  const k = JSON.parse(readFileSync(f, 'utf8')) as FetchedKernel;
  return existsSync(k.vmlinuz) ? k : null;
}

/** Every fetched kernel, in SUITES order. */
export function fetchedKernels(): FetchedKernel[] {
  return SUITES.map((s) => fetchedKernel(s.id)).filter((k): k is FetchedKernel => k !== null);
}

/**
 * Downloads (or refreshes) one kernel. Up to date when the suite's newest
 * package is the one already fetched. `log` reports progress.
 */
export function fetchKernel(id: string, log: (s: string) => void = () => undefined): FetchedKernel {
  const s = SUITES.find((x) => x.id === id);
  if (!s) throw new InputError(`unknown kernel "${id}"; fetchable: ${SUITES.map((x) => x.id).join(', ')}`);
  const root = kernelsDir();
  const aptDir = join(root, 'apt', s.suite);
  const opts = aptOptions(aptDir, s.suite);
  log(`${id}: apt-get update (${s.suite})`);
  run('apt-get', [...opts, 'update'], `apt-get update for ${s.suite}`);
  const pkg = newestKernel(opts, s.suite);
  const have = fetchedKernel(id);
  if (have && have.debVersion === pkg.version && have.packages[0] === pkg.image) {
    log(`${id}: up to date (${pkg.image} ${pkg.version})`);
    return have;
  }
  const work = join(root, `.work-${id}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'x'), { recursive: true });
  try {
    const pkgs = [pkg.image, ...(pkg.modules ? [pkg.modules] : [])];
    log(`${id}: downloading ${pkgs.join(', ')} ${pkg.version}`);
    run('apt-get', [...opts, 'download', ...pkgs.map((p) => `${p}=${pkg.version}`)], `downloading ${pkgs.join(' ')}`, work);
    for (const deb of readdirSync(work).filter((f) => f.endsWith('.deb')))
      run('dpkg-deb', ['-x', join(work, deb), join(work, 'x')], `unpacking ${deb}`);
    const vmlinuz = findFiles(join(work, 'x'), (n) => /^vmlinuz/.test(n))[0];
    if (!vmlinuz) throw new InputError(`${pkg.image}: no vmlinuz in the package`);
    const config = findFiles(join(work, 'x'), (n) => /^config(-.+)?$/.test(n))[0];
    // boot/vmlinuz-RELEASE, or usr/lib/modules/RELEASE/vmlinuz (sid)
    const release = /vmlinuz-(.+)$/.exec(vmlinuz)?.[1] ?? /modules\/([^/]+)\//.exec(vmlinuz)?.[1] ?? '';
    const brdKo = findFiles(join(work, 'x'), (n) => /^brd\.ko(\.xz|\.zst|\.gz)?$/.test(n))[0] ?? null;
    const dest = join(root, id);
    const tmpDest = `${dest}.new-${process.pid}`;
    rmSync(tmpDest, { recursive: true, force: true });
    mkdirSync(tmpDest, { recursive: true });
    copyFileSync(vmlinuz, join(tmpDest, 'vmlinuz'));
    let brd: string | null = null;
    if (brdKo) {
      const out = join(tmpDest, 'brd.ko');
      if (!/\.(xz|zst|gz)$/.test(brdKo)) copyFileSync(brdKo, out);
      else {
        const tool = brdKo.endsWith('.xz') ? 'xz' : brdKo.endsWith('.zst') ? 'zstd' : 'gzip';
        const r = spawnSync(tool, ['-dc', brdKo], { maxBuffer: 64 << 20 });
        if (r.status !== 0) throw new InputError(`decompressing ${brdKo} with ${tool} failed`);
        writeFileSync(out, r.stdout);
      }
      brd = join(dest, 'brd.ko');
    }
    if (config) copyFileSync(config, join(tmpDest, 'config'));
    const upstream = /^(\d+\.\d+(?:\.\d+)?)/.exec(pkg.version.replace(/^\d+:/, ''))?.[1] ?? pkg.version;
    const k: FetchedKernel = {
      id,
      suite: s.suite,
      packages: pkgs,
      debVersion: pkg.version,
      release,
      upstream,
      vmlinuz: join(dest, 'vmlinuz'),
      brd,
      config: config ? join(dest, 'config') : null,
      fetchedAt: new Date().toISOString(),
    };
    writeFileSync(join(tmpDest, 'manifest.json'), `${JSON.stringify(k, null, 2)}\n`);
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmpDest, dest);
    const mb = (statSync(k.vmlinuz).size / 1048576).toFixed(1);
    log(`${id}: ${k.release} (Debian ${k.debVersion}), vmlinuz ${mb} MiB, brd ${brd ? 'module' : 'built in or absent'}`);
    if (upstream !== s.readFrom) log(`${id}: note: the ${id} profile was read from ${s.readFrom}; this is ${upstream}`);
    return k;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
