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
