/**
 * What `cowlab --version` prints: the package version and, in a git
 * checkout, the commit (read from .git's files: no git process).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../executor/build.js';

/** "cowlab 0.1.0 (commit 4bb9ce1)", or without the commit outside a checkout. */
export function versionString(): string {
  const root = repoRoot();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const commit = gitCommit(root);
  return `cowlab ${pkg.version}${commit ? ` (commit ${commit.slice(0, 12)})` : ''}`;
}

function gitCommit(root: string): string | null {
  try {
    const head = readFileSync(join(root, '.git', 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head;
    const ref = /^ref: (\S+)$/.exec(head)?.[1];
    if (!ref) return null;
    try {
      return readFileSync(join(root, '.git', ref), 'utf8').trim();
    } catch {
      const packed = readFileSync(join(root, '.git', 'packed-refs'), 'utf8');
      return new RegExp(`^([0-9a-f]{40}) ${ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm').exec(packed)?.[1] ?? null;
    }
  } catch {
    // not a checkout (a worktree's .git is a file: no commit shown), or unreadable
    return null;
  }
}
