/**
 * The matrix on several cores: worker threads each load the scenarios and
 * profiles themselves and compute the rows they claim from a shared counter,
 * one at a time (a row of cow.c's 1 GiB instances costs some 20 times an
 * ordinary one, so a fixed share could leave one thread working alone); the
 * rows come back in scenario order, so the result is the one buildMatrix
 * gives.
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
  /** the next row to claim (of the shard's), shared by the threads */
  next: Int32Array;
  /** only this shard's rows (every n-th scenario) */
  shard?: Shard;
}

/** What the caller gives: the job, and how many worker threads run it. */
export type MatrixJobs = Omit<MatrixJob, 'next'> & { jobs: number };

/** Builds the matrix with `jobs` worker threads. */
export async function buildMatrixParallel(job: MatrixJobs): Promise<Matrix> {
  const { kernels, rows } = await buildRowsParallel(job);
  const list = rows.map(([, r]) => r);
  return { kernels, scenarios: list, totals: matrixTotals(list, kernels) };
}

/** The rows (of the shard, if any) with their index in the whole matrix, in order, on `jobs` threads. */
export async function buildRowsParallel({ jobs, ...job }: MatrixJobs): Promise<{ kernels: string[]; rows: [number, MatrixRow][] }> {
  const next = new Int32Array(new SharedArrayBuffer(4));
  const parts = await Promise.all(
    Array.from(
      { length: jobs },
      () =>
        new Promise<{ kernels: string[]; rows: [number, MatrixRow][] }>((res, rej) => {
          const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { ...job, next } satisfies MatrixJob });
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
