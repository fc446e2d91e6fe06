/**
 * Files named by the user: reading inputs that must be regular files,
 * writing outputs atomically, creating directories. Every failure a user
 * can cause (a missing directory, a directory or a FIFO where a file is
 * expected, a link loop, no permission, a full disk) is an InputError that
 * names the path; anything else is left to propagate as a bug.
 */
import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../scenario/errors.js';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links (a link loop)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'file name too long',
  EEXIST: 'file exists',
  ENXIO: 'no such device or address',
  ERR_FS_EISDIR: 'is a directory',
};

/**
 * What a file-system error means to a user, or null when it is not one a
 * user's input can cause (those stay bugs: exit 70).
 */
export function fsReason(e: unknown): string | null {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return (code && REASONS[code]) ?? null;
}

/** Rethrows `e` as an InputError `PREFIX: reason` when a user can cause it. */
function asInput(e: unknown, prefix: string): never {
  const why = fsReason(e);
  if (why) throw new InputError(`${prefix}: ${why}`);
  throw e;
}

/** "a FIFO", "a directory", ...: what a non-regular file is. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return st.isFile() ? 'a regular file' : 'not a regular file';
}

/**
 * stat(2) through links, with a user-facing error: a dangling link or a
 * link loop is named as such (with where the link points).
 */
export function statPath(path: string, what = ''): Stats {
  const label = what ? `${what}: ` : '';
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') {
      let link: string | null = null;
      try {
        if (lstatSync(path).isSymbolicLink()) link = readlinkSync(path);
      } catch {
        // not there at all: the plain message below
      }
      if (link !== null)
        throw new InputError(
          code === 'ELOOP'
            ? `${label}${path}: a symbolic link loop (it points to ${link}; too many levels of symbolic links)`
            : `${label}${path}: a dangling symbolic link (to ${link}, which does not exist)`,
        );
    }
    return asInput(e, `${label}${path}`);
  }
}

/**
 * Reads a file that must be a regular one. A FIFO, socket or device is
 * refused before it is opened (reading a FIFO blocks until someone writes),
 * and the open is non-blocking and re-checked, in case the path changed
 * in between. `expected` says what the file should be, for the messages.
 */
export function readRegularFile(file: string, expected = 'a file'): Buffer {
  const st = statPath(file);
  if (!st.isFile()) throw new InputError(`${file}: ${fileKind(st)}, not a regular file; expected ${expected}`);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return asInput(e, `${file}: cannot read`);
  }
  try {
    const now = fstatSync(fd);
    if (!now.isFile()) throw new InputError(`${file}: ${fileKind(now)}, not a regular file; expected ${expected}`);
    return readFileSync(fd);
  } catch (e) {
    if (e instanceof InputError) throw e;
    return asInput(e, `${file}: cannot read`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates a directory and its missing parents, one level at a time: Node's
 * `mkdirSync(dir, {recursive: true})` spins forever where mkdir(2) answers
 * ENOENT under an existing parent (/proc/x, a dangling link on the way).
 * Returns the directories it created, outermost first.
 */
export function ensureDir(dir: string, what = ''): string[] {
  const label = `${what ? `${what}: ` : ''}${dir}`;
  const abs = resolve(dir);
  const chain: string[] = [];
  for (let p = abs; ; p = dirname(p)) {
    chain.unshift(p);
    if (dirname(p) === p) break;
  }
  const made: string[] = [];
  for (const p of chain) {
    let st: Stats | null = null;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw new InputError(`${label}: ${p} is a symbolic link loop`);
      if (code !== 'ENOENT') asInput(e, `${label}: ${p}`);
    }
    if (st) {
      if (!st.isDirectory()) throw new InputError(`${label}: ${p === abs ? 'it' : p} is ${fileKind(st)}, not a directory`);
      continue;
    }
    try {
      mkdirSync(p);
      made.push(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // stat saw nothing, mkdir sees something: a dangling link
      if (code === 'EEXIST') {
        if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) continue; // made meanwhile by someone else
        throw new InputError(`${label}: cannot create the directory ${p}: it is a dangling symbolic link`);
      }
      // ENOENT under an existing directory: the file system (procfs, sysfs) holds no new directories
      if (code === 'ENOENT') throw new InputError(`${label}: cannot create the directory ${p}: this file system does not allow it`);
      asInput(e, `${label}: cannot create the directory ${p}`);
    }
  }
  return made;
}

/**
 * Checks, before a long run, that a directory exists or can be created
 * (creating it and removing what it created), so that results are not lost
 * at the end to a bad path.
 */
export function checkDirCreatable(dir: string, what = ''): void {
  for (const d of ensureDir(dir, what).reverse()) {
    try {
      rmdirSync(d);
    } catch {
      // another run has put something in it meanwhile: it stays
      return;
    }
  }
}

/**
 * Writes `data` to `file` atomically: into a temporary file in the same
 * directory, then renamed over the target, so a reader never sees a
 * half-written file and a failure leaves nothing behind (the temporary file
 * is removed on any error). The target must be a regular file or not exist
 * (a directory, FIFO or device is refused: renaming over /dev/null would
 * replace the device); a symbolic link to a file is written through. Its
 * directory must exist, unless `mkdir` (then it is created). `what` (e.g.
 * `-o`) prefixes the messages.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, opts: { what?: string; mkdir?: boolean } = {}): void {
  const label = `${opts.what ? `${opts.what}: ` : ''}${file}`;
  let target = file;
  let st: Stats | null = null;
  try {
    st = statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') asInput(e, label);
  }
  if (st) {
    if (st.isDirectory()) throw new InputError(`${label}: is a directory; expected the name of a file to write`);
    if (!st.isFile()) throw new InputError(`${label}: ${fileKind(st)}, not a regular file; cowlab replaces the file it writes`);
    target = realpathSync(file);
  }
  const dir = dirname(resolve(target));
  if (opts.mkdir) ensureDir(dir, opts.what);
  else {
    const d = statSync(dir, { throwIfNoEntry: false });
    if (!d) throw new InputError(`${label}: no such directory ${dir}`);
    if (!d.isDirectory()) throw new InputError(`${label}: ${dir} is ${fileKind(d)}, not a directory`);
  }
  const tmp = `${target}.tmp${process.pid}`;
  try {
    rmSync(tmp, { force: true }); // a stale one of a killed run with this pid; never write through what is there
    writeFileSync(tmp, data, { flag: 'wx' });
    if (st) chmodSync(tmp, st.mode & 0o7777);
    renameSync(tmp, target);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the error that matters is the first one
    }
    asInput(e, `${label}: cannot write`);
  }
}
