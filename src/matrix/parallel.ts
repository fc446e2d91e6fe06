/**
 * The matrix on several cores: worker threads each load the scenarios and
 * profiles themselves and compute every `jobs`-th row; the rows come back
 * in scenario order, so the result is the one buildMatrix gives.
 */
import { Worker } from 'node:worker_threads';
import type { Matrix, MatrixRow } from './matrix.js';
import { matrixTotals } from './matrix.js';
import type { Shard } from '../util/shard.js';

/** What a worker needs to rebuild the rows: scenario paths, profile ids and files. */
export interface MatrixJob {
  paths: string[];
  /** profile ids of the columns, in order; files are appended after them */
  kernels: string[];
  profileFiles: string[];
  worker: number;
  jobs: number;
  /** only this shard's rows (every n-th scenario) */
  shard?: Shard;
}

/** Builds the matrix with `jobs` worker threads. */
export async function buildMatrixParallel(job: Omit<MatrixJob, 'worker'>): Promise<Matrix> {
  const { kernels, rows } = await buildRowsParallel(job);
  const list = rows.map(([, r]) => r);
  return { kernels, scenarios: list, totals: matrixTotals(list, kernels) };
}

/** The rows (of the shard, if any) with their index in the whole matrix, in order, on `jobs` threads. */
export async function buildRowsParallel(job: Omit<MatrixJob, 'worker'>): Promise<{ kernels: string[]; rows: [number, MatrixRow][] }> {
  const parts = await Promise.all(
    Array.from(
      { length: job.jobs },
      (_, w) =>
        new Promise<{ kernels: string[]; rows: [number, MatrixRow][] }>((res, rej) => {
          const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { ...job, worker: w } satisfies MatrixJob });
          worker.once('message', (m: { kernels: string[]; rows: [number, MatrixRow][] } | { error: string }) => {
            void worker.terminate();
            if ('error' in m) rej(new Error(m.error));
            else res(m);
          });
          worker.once('error', rej);
        }),
    ),
  );
  const rows = parts.flatMap((p) => p.rows).sort((a, b) => a[0] - b[0]);
  return { kernels: parts[0]!.kernels, rows };
}
