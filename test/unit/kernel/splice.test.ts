/**
 * fs/splice.c vmsplice() in the model (src/kernel/fs/splice.ts): how many
 * user pages it takes, faults in and queues, whatever the pipe already
 * holds, in both forms (gup.vmspliceIter).
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { scenarioFromObject } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';

const PIPE_BUFS = 16;

/** What the kernel's loop does, as its source states it: faults taken and pages queued. */
function expected(n: number, held: number, iter: boolean): { faults: number; ret: number | 'EAGAIN' } {
  let room = PIPE_BUFS - held;
  if (!iter) {
    const got = Math.min(n, PIPE_BUFS); // one GUP, whatever the room
    return { faults: got, ret: room === 0 ? 'EAGAIN' : Math.min(got, room) };
  }
  if (room === 0) return { faults: 0, ret: 'EAGAIN' };
  let done = 0;
  let faults = 0;
  while (done < n) {
    const batch = Math.min(16, n - done);
    faults += batch;
    if (batch > room) {
      done += room;
      break;
    }
    room -= batch;
    done += batch;
  }
  return { faults, ret: done };
}

describe('vmsplice_to_pipe()', () => {
  for (const [kernel, iter] of [
    ['linux-6.18', true],
    ['linux-4.8', false],
  ] as const) {
    it(`faults in the pages ${iter ? 'iter_to_pipe() takes in batches of 16' : 'one GUP of up to pipe->buffers takes'} (${kernel})`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 48 }), fc.integer({ min: 0, max: PIPE_BUFS }), (n, held) => {
          const e = expected(n, held, iter);
          const steps: unknown[] = [
            { P0: { mmap: 'mem', pages: n } },
            { P0: { pipe: 'p' } },
            ...(held > 0
              ? [
                  { P0: { mmap: 'pre', pages: held } },
                  { P0: { write: 'pre' } },
                  { P0: { vmsplice: 'pre', pipe: 'p', expect: { ret: held } } },
                ]
              : []),
            {
              P0: {
                vmsplice: 'mem',
                pipe: 'p',
                expect: e.ret === 'EAGAIN' ? { errno: 'EAGAIN', faults: e.faults } : { ret: e.ret, faults: e.faults },
              },
            },
          ];
          const sc = scenarioFromObject({ name: 't', processes: ['P0'], steps }, 'splice.test.yaml');
          const res = runScenario(resolveScenario(sc), profileById(kernel), {});
          expect(res.failures, JSON.stringify({ n, held, e })).toEqual([]);
          expect(res.violations).toEqual([]);
        }),
        { seed: 3, numRuns: 80 },
      );
    });
  }
});
