/** A matrix worker thread (parallel.ts): every `jobs`-th row of the matrix. */
import { parentPort, workerData } from 'node:worker_threads';
import type { MatrixJob } from './parallel.js';
import { matrixRow, type MatrixRow } from './matrix.js';
import { loadScenarios } from '../scenario/load.js';
import { PROFILES, profileById } from '../profiles/index.js';
import { loadProfileFile } from '../profiles/load.js';
import { inShard } from '../util/shard.js';

const job = workerData as MatrixJob;
try {
  const profiles = job.kernels.map((k) => profileById(k));
  for (const f of job.profileFiles) profiles.push(await loadProfileFile(f));
  const rs = loadScenarios(
    job.paths,
    profiles.map((p) => p.id),
  );
  const rows: [number, MatrixRow][] = [];
  // the rows of the shard (all without one), every `jobs`-th of them
  const mine = rs.map((_, i) => i).filter((i) => inShard(job.shard, i));
  for (let k = job.worker; k < mine.length; k += job.jobs) rows.push([mine[k]!, matrixRow(rs[mine[k]!]!, profiles, PROFILES)]);
  parentPort!.postMessage({ kernels: profiles.map((p) => p.id), rows });
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message });
}
