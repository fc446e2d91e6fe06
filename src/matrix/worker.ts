/** A matrix worker thread (parallel.ts): every `jobs`-th row of the matrix. */
import { parentPort, workerData } from 'node:worker_threads';
import type { MatrixJob } from './parallel.js';
import { matrixRow, type MatrixRow } from './matrix.js';
import { loadScenarios } from '../scenario/load.js';
import { PROFILES, profileById } from '../profiles/index.js';
import { loadProfileFile } from '../profiles/load.js';

const job = workerData as MatrixJob;
try {
  const profiles = job.kernels.map((k) => profileById(k));
  for (const f of job.profileFiles) profiles.push(await loadProfileFile(f));
  const rs = loadScenarios(
    job.paths,
    profiles.map((p) => p.id),
  );
  const rows: [number, MatrixRow][] = [];
  for (let i = job.worker; i < rs.length; i += job.jobs) rows.push([i, matrixRow(rs[i]!, profiles, PROFILES)]);
  parentPort!.postMessage({ kernels: profiles.map((p) => p.id), rows });
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message });
}
