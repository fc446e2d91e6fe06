/**
 * Swarm shards (`cowlab explore --swarm --shard i/n`) and their merge into
 * the report of one run of all the walks (`cowlab merge`). Shard i runs the
 * i-th contiguous part of the walks, in the whole run's batches, and stops
 * at the end of the batch with its first violation, as a single run does.
 * A single run would have stopped at the first shard's finding: the merge
 * takes it, with the walks and steps of the shards before it added.
 */
import { checkShardSet, type Shard } from '../util/shard.js';
import type { ExploreReport } from './explore.js';

/** What `cowlab explore --swarm --shard i/n` prints. */
export interface SwarmShard {
  cowlab: 'swarm-shard';
  shard: Shard;
  /** the walks of the whole run */
  walks: number;
  report: ExploreReport;
}

/** The report of the whole swarm run. `seconds`: the longest shard's (they run side by side). */
export function mergeSwarm(parts: readonly SwarmShard[], files: readonly string[]): ExploreReport {
  const first = parts[0]!;
  checkShardSet(parts, files, (p) => `${p.report.config} on ${p.report.kernel}, seed ${p.report.seed}, ${p.walks} walks in ${p.shard.count} shards`);
  const ordered = [...parts].sort((a, b) => a.shard.index - b.shard.index);
  const seconds = Math.max(...parts.map((p) => p.report.seconds));
  let walks = 0;
  let steps = 0;
  for (const p of ordered) {
    const r = p.report;
    const { shard: _shard, ...rest } = r;
    walks += r.walks ?? 0;
    steps += r.states;
    if (r.verdict === 'violation' || r.stoppedBy) {
      // a single run stops here: with this shard's counterexample, or interrupted
      return { ...rest, walks, states: steps, seconds, statesPerSecond: steps / Math.max(seconds, 1e-9), complete: walks === first.walks };
    }
  }
  const { shard: _shard, ...rest } = ordered.at(-1)!.report;
  return { ...rest, walks, states: steps, seconds, statesPerSecond: steps / Math.max(seconds, 1e-9), complete: true };
}
