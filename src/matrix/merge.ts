/**
 * Matrix shards (`cowlab matrix --shard i/n`) and their merge into the
 * matrix a single run gives (`cowlab merge`).
 */
import { InputError } from '../scenario/errors.js';
import type { Shard } from '../util/shard.js';
import { matrixTotals, type Matrix, type MatrixRow } from './matrix.js';

/** What `cowlab matrix --shard i/n` prints: its rows, each with its index in the whole matrix. */
export interface MatrixShard {
  cowlab: 'matrix-shard';
  shard: Shard;
  /** rows of the whole matrix */
  total: number;
  kernels: string[];
  rows: { index: number; row: MatrixRow }[];
}

/** The whole matrix from all n shards of one run; an InputError (naming `files[k]`) when they do not fit together. */
export function mergeMatrixShards(parts: readonly MatrixShard[], files: readonly string[]): Matrix {
  const first = parts[0]!;
  const seen = new Set<number>();
  const rows: MatrixRow[] = new Array<MatrixRow>(first.total);
  parts.forEach((p, k) => {
    const f = files[k]!;
    if (p.shard.count !== first.shard.count)
      throw new InputError(`${f}: shard ${p.shard.index}/${p.shard.count} is not one of ${first.shard.count} like ${files[0]}'s`);
    if (p.total !== first.total || p.kernels.join(',') !== first.kernels.join(','))
      throw new InputError(
        `${f}: another matrix (${p.total} scenarios on ${p.kernels.join(',')}) than ${files[0]}'s (${first.total} on ${first.kernels.join(',')})`,
      );
    if (seen.has(p.shard.index)) throw new InputError(`${f}: shard ${p.shard.index}/${p.shard.count} is given twice`);
    seen.add(p.shard.index);
    for (const { index, row } of p.rows) {
      if (index < 0 || index >= first.total || rows[index]) throw new InputError(`${f}: row ${index} is out of range or in two shards`);
      rows[index] = row;
    }
  });
  const missing = Array.from({ length: first.shard.count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length) throw new InputError(`shard(s) ${missing.map((i) => `${i}/${first.shard.count}`).join(', ')} missing`);
  const gap = rows.findIndex((r) => r === undefined);
  if (gap >= 0 || rows.length !== first.total) throw new InputError(`row ${gap} is in no shard`);
  return { kernels: first.kernels, scenarios: rows, totals: matrixTotals(rows, first.kernels) };
}
