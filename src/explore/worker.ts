/**
 * An explorer worker thread: rebuilds the system from the configuration
 * file and profile it is given, then expands the slices of BFS levels it is
 * sent, posting the candidates back in chunks (buffers transferred).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { buildSystem } from './system.js';
import { Expander } from './expand.js';
import { expandSlice, type SliceResult, type WorkerInit } from './bfs.js';
import type { LevelView } from './frontier.js';
import { profileById } from '../profiles/index.js';
import { loadProfileFile } from '../profiles/load.js';
import { walk } from './swarm.js';

const init = workerData as WorkerInit;
const port = parentPort!;

try {
  const profile = 'builtin' in init.profile ? profileById(init.profile.builtin) : await loadProfileFile(init.profile.file);
  const sys = buildSystem(init.config, profile);
  const ex = new Expander(sys, init.properties);
  port.on('message', (m: { level: LevelView; lo: number; hi: number; depth: number; visited: { hi: Uint32Array; lo: Uint32Array }; swarm?: { seed: number; from: number; to: number; stride: number; depth: number } }) => {
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
      expandSlice(ex, m.level, m.lo, m.hi, m.depth, m.visited, (r: SliceResult) => {
        port.postMessage({ result: r }, [r.fps.buffer, r.parents.buffer, r.actions.buffer, r.bytes.buffer, r.offs.buffer] as ArrayBuffer[]);
      });
      port.postMessage({ done: true });
    } catch (e) {
      port.postMessage({ error: (e as Error).stack ?? String(e) });
    }
  });
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ error: (e as Error).message });
}
