/** A matrix worker thread (parallel.ts): the rows it claims, one at a time, until none is left. */
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
  // the rows of the shard (all without one), each claimed by one thread
  const mine = rs.map((_, i) => i).filter((i) => inShard(job.shard, i));
  for (let k = Atomics.add(job.next, 0, 1); k < mine.length; k = Atomics.add(job.next, 0, 1))
    rows.push([mine[k]!, matrixRow(rs[mine[k]!]!, profiles, PROFILES)]);
  parentPort!.postMessage({ kernels: profiles.map((p) => p.id), rows });
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message });
}
