/**
 * Sharding: `--shard i/n` runs the i-th of n parts of an independent piece
 * of work (matrix rows, fuzz scenarios, random walks), as vitest and
 * Playwright spell it, so a CI matrix, a Kubernetes Indexed Job or a Slurm
 * array spreads it over machines; `cowlab merge` joins the parts into the
 * report a single run prints (docs/sharding.md).
 */
import { InputError } from '../scenario/errors.js';

/** Part `index` (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `i/n` (1 <= i <= n); undefined when the option was not given. */
export function parseShard(v: string | undefined, what = '--shard'): Shard | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(v);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(count) || count < 1 || index < 1 || index > count || count > 100_000)
    throw new InputError(`${what}: expected i/n with 1 <= i <= n (for example 2/4), not ${JSON.stringify(v)}`);
  return { index, count };
}

/** Whether item `i` of a list belongs to the shard: every n-th item, so heavy neighbours spread over shards. */
export function inShard(s: Shard | undefined, i: number): boolean {
  return s === undefined || i % s.count === s.index - 1;
}

/**
 * The shard's contiguous part of [from, from + count), in units of `align`
 * (a batch that must not be split): [lo, hi).
 */
export function shardRange(s: Shard | undefined, from: number, count: number, align = 1): { lo: number; hi: number } {
  if (s === undefined) return { lo: from, hi: from + count };
  const units = Math.ceil(count / align);
  const u0 = Math.floor((units * (s.index - 1)) / s.count);
  const u1 = Math.floor((units * s.index) / s.count);
  return { lo: from + Math.min(count, u0 * align), hi: from + Math.min(count, u1 * align) };
}

/**
 * Checks that `parts` (read from `files`) are the n shards of one run: each
 * described alike by `what` (its count included), each index once, none
 * missing; an InputError naming the file otherwise. `kind`: what differs
 * ("run", "matrix").
 */
export function checkShardSet<P extends { shard: Shard }>(
  parts: readonly P[],
  files: readonly string[],
  what: (p: P) => string,
  kind = 'run',
): void {
  const first = parts[0]!;
  const seen = new Set<number>();
  parts.forEach((p, k) => {
    const f = files[k]!;
    if (what(p) !== what(first)) throw new InputError(`${f}: another ${kind} (${what(p)}) than ${files[0]}'s (${what(first)})`);
    if (seen.has(p.shard.index)) throw new InputError(`${f}: shard ${p.shard.index}/${p.shard.count} is given twice`);
    seen.add(p.shard.index);
  });
  const missing = Array.from({ length: first.shard.count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length) throw new InputError(`shard(s) ${missing.map((i) => `${i}/${first.shard.count}`).join(', ')} missing`);
}
