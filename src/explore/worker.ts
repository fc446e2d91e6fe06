/**
 * An explorer worker thread: rebuilds the system from the configuration
 * file and profile it is given, then expands the slices of BFS levels it is
 * sent, posting the candidates back in chunks (buffers transferred).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { buildSystem } from './system.js';
import { Expander } from './expand.js';
import { expandSlice, expandSlicePor, type SliceResult, type WorkerInit } from './bfs.js';
import type { SleepView } from './sleep.js';
import type { LevelView } from './frontier.js';
import { profileById } from '../profiles/index.js';
import { loadProfileFile } from '../profiles/load.js';
import { walk } from './swarm.js';

const init = workerData as WorkerInit;
const port = parentPort!;

try {
  const profile = 'builtin' in init.profile ? profileById(init.profile.builtin) : await loadProfileFile(init.profile.file);
  const sys = buildSystem(init.config, profile);
  const ex = new Expander(sys, init.properties, true, init.symmetry ?? 'signature');
  port.on('message', (m: { level: LevelView; sleeping?: SleepView | null; lo: number; hi: number; depth: number; visited: { hi: Uint32Array; lo: Uint32Array }; swarm?: { seed: number; from: number; to: number; stride: number; depth: number } }) => {
    if (m.swarm) {
      try {
        const out = [];
        for (let i = m.swarm.from; i < m.swarm.to; i += m.swarm.stride) out.push(walk(ex, m.swarm.seed, i, m.swarm.depth));
        port.postMessage({ walks: out });
      } catch (e) {
        port.postMessage({ error: (e as Error).stack ?? String(e) });
      }
      return;
    }
    try {
      const post = (r: SliceResult) => {
        const extra = r.sleep ? [r.sleep.buffer, r.dupFps!.buffer, r.dupSleep!.buffer] : [];
        port.postMessage({ result: r }, [r.fps.buffer, r.parents.buffer, r.actions.buffer, r.bytes.buffer, r.offs.buffer, ...extra] as ArrayBuffer[]);
      };
      if (m.sleeping) expandSlicePor(ex, m.level, m.sleeping, m.lo, m.hi, m.depth, m.visited, post);
      else expandSlice(ex, m.level, m.lo, m.hi, m.depth, m.visited, post);
      port.postMessage({ done: true });
    } catch (e) {
      port.postMessage({ error: (e as Error).stack ?? String(e) });
    }
  });
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ error: (e as Error).message });
}
