/**
 * An explorer worker thread: rebuilds the system from the configuration
 * file and profile it is given, then expands the slices of BFS levels it is
 * sent, posting the candidates back in chunks (buffers transferred).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { buildSystem } from './system.js';
import { Expander } from './expand.js';
import { ChunkSeen, chunkStart, expandSlice, expandSlicePor, type SliceResult, type WorkerInit } from './bfs.js';
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
  port.on(
    'message',
    (m: {
      level: LevelView;
      sleeping?: SleepView | null;
      counter: Int32Array;
      chunks: number;
      length: number;
      depth: number;
      visited: { hi: Uint32Array; lo: Uint32Array };
      claims: Int32Array;
      swarm?: { seed: number; from: number; to: number; stride: number; depth: number };
    }) => {
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
        // chunks claimed in increasing order until none is left (src/explore/bfs.ts expandLevel); the
        // successors found in the level so far are in the threads' shared claims
        const local = new ChunkSeen(m.claims);
        for (;;) {
          const c = Atomics.add(m.counter, 0, 1);
          if (c >= m.chunks) break;
          let violation = false;
          const post = (r: SliceResult) => {
            if (r.violation) violation = true;
            const extra = r.sleep ? [r.sleep.buffer, r.dupFps!.buffer, r.dupSleep!.buffer] : [];
            port.postMessage({ result: r, chunk: c }, [r.fps.buffer, r.parents.buffer, r.actions.buffer, r.bytes.buffer, r.offs.buffer, ...extra] as ArrayBuffer[]);
          };
          local.chunk = c;
          const lo = chunkStart(c, m.length);
          const hi = chunkStart(c + 1, m.length);
          if (m.sleeping) expandSlicePor(ex, m.level, m.sleeping, lo, hi, m.depth, m.visited, post, 256, local);
          else expandSlice(ex, m.level, lo, hi, m.depth, m.visited, post, 256, local);
          port.postMessage({ chunkDone: c });
          // the first violation taken is in this chunk or an earlier one: no later chunk is needed
          if (violation) Atomics.store(m.counter, 0, m.chunks);
        }
        port.postMessage({ done: true });
      } catch (e) {
        port.postMessage({ error: (e as Error).stack ?? String(e) });
      }
    },
  );
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ error: (e as Error).message });
}
