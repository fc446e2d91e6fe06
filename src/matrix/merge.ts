/**
 * Matrix shards (`cowlab matrix --shard i/n`) and their merge into the
 * matrix a single run gives (`cowlab merge`).
 */
import { InputError } from '../scenario/errors.js';
import { checkShardSet, type Shard } from '../util/shard.js';
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
  checkShardSet(parts, files, (p) => `${p.total} scenarios on ${p.kernels.join(',')} in ${p.shard.count} shards`, 'matrix');
  const first = parts[0]!;
  const rows: MatrixRow[] = new Array<MatrixRow>(first.total);
  parts.forEach((p, k) => {
    for (const { index, row } of p.rows) {
      if (index < 0 || index >= first.total || rows[index])
        throw new InputError(`${files[k]}: row ${index} is out of range or in two shards`);
      rows[index] = row;
    }
  });
  const gap = rows.findIndex((r) => r === undefined);
  if (gap >= 0 || rows.length !== first.total) throw new InputError(`row ${gap} is in no shard`);
  return { kernels: first.kernels, scenarios: rows, totals: matrixTotals(rows, first.kernels) };
}
