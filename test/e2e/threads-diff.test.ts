/**
 * Threads on the executor: a scenario's `thread` steps create real threads
 * of the task process, and the steps of a thread run on it. The program
 * lines are checked everywhere; the runs against this machine's kernel need
 * root and a C compiler, and are skipped with the reason printed without
 * them (as the differential tests of diff.test.ts).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenario } from '../../src/scenario/parse.js';
import { resolveScenario } from '../../src/scenario/resolve.js';
import { InputError } from '../../src/scenario/errors.js';
import { toProgram, programBlocker, opcode } from '../../src/executor/program.js';
import { Executor } from '../../src/executor/server.js';
import { holdMachineLock, differentialBlocker } from './machine-lock.js';

/** One thread writes, the process reads, forks, the thread writes again: parent and child see what they should. */
const THREAD_STEPS = `name: thread-steps
processes: [p]
steps:
  - p: {mmap: mem, pages: 2}
  - p: {thread: T1}
  - T1: {write: mem, label: w}
  - p: {read: mem, expect: {sees: w}}
  - p: {fork: c}
  - T1: {write: "mem[0]", label: w2}
  - c: {read: mem, expect: {sees: w}}
  - T1: {read: "mem[1]"}
`;

/**
 * A thread creates a thread, which forks: the child has that thread alone and
 * numbers its own threads from 1; a thread killed by SIGSEGV (the page is
 * unmapped) is recovered from on its own thread.
 */
const THREAD_FORK = `name: thread-fork
processes: [p]
steps:
  - p: {mmap: mem, pages: 2}
  - p: {write: mem, label: w}
  - p: {thread: T1}
  - T1: {thread: T2}
  - T2: {fork: c}
  - c: {thread: U1}
  - U1: {write: "mem[1]", label: u}
  - c: {read: mem, expect: {sees: [w, u]}}
  - T1: {read: mem, expect: {sees: w}}
  - T2: {write: "mem[0]", label: t2}
  - p: {read: "mem[0]", expect: {sees: t2}}
  - c: {read: "mem[0]", expect: {sees: w}}
  - p: {munmap: "mem[1]"}
  - T2: {read: "mem[1]", expect: {signal: SIGSEGV}}
  - T1: {write: "mem[0]"}
  - U1: {read: mem}
  - c: {exit}
  - T1: {read: "mem[0]"}
`;

const resolved = (text: string) => resolveScenario(parseScenario(text, 'inline.yaml'));

describe('thread steps in programs', () => {
  it('run on the real kernel: a W line names the thread of the next step, by its number in its process', () => {
    const r = resolved(THREAD_FORK);
    expect(programBlocker(r)).toBeNull();
    const prog = toProgram(r);
    const th = opcode('thread')!;
    const body = prog.filter((l) => l.startsWith('O ') || l.startsWith('W '));
    // p (task 0) creates T1 (1), T1 creates T2 (p's thread 2), T2 forks c (task 1), c creates U1 (c's thread 1)
    expect(body.slice(2, 9)).toEqual([`O 0 ${th} 1`, 'W 1', `O 0 ${th} 2`, 'W 2', `O 0 ${opcode('fork')!} 1`, `O 1 ${th} 1`, 'W 1']);
    // a process's own steps have no W line
    expect(body.filter((l) => l.startsWith('W ')).length).toBe(r.steps.filter((s) => ['T1', 'T2', 'U1'].includes(s.step.proc)).length);
  });

  it('a process creates at most 8 threads (the executor limit), with a positioned error', () => {
    const nine = Array.from({ length: 9 }, (_, i) => `  - p: {thread: T${i + 1}}`).join('\n');
    let err: InputError | undefined;
    try {
      resolved(`name: many\nprocesses: [p]\nsteps:\n  - p: {mmap: mem, pages: 1}\n${nine}\n`);
    } catch (e) {
      err = e as InputError;
    }
    expect(err).toBeInstanceOf(InputError);
    expect(err!.message).toMatch(/^thread: at most 8 threads per process/);
    // the ninth thread step, on line 13
    expect(err!.pos?.line).toBe(13);
  });
});

const why = differentialBlocker();
if (why) console.log(`SKIP thread differential tests: ${why}`);
const d = why ? describe.skip : describe;

// `cowlab diff` changes the machine's settings while it runs: not while machine.test.ts or diff.test.ts runs
holdMachineLock(why);

function cowlab(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/cowlab.js', ...args], { encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

d('threads against this kernel', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cowlab-threads-'));
    writeFileSync(join(dir, 'thread-steps.yaml'), THREAD_STEPS);
    writeFileSync(join(dir, 'thread-fork.yaml'), THREAD_FORK);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Compiles an emitted reproducer as its users would (warnings are errors), runs it and checks its totals. */
  function compileAndRun(source: string, name: string, totals: RegExp): void {
    const c = join(dir, `${name}.c`);
    writeFileSync(c, source);
    const bin = join(dir, name);
    const cc = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-pthread', '-Wl,-z,now', '-o', bin, c], { encoding: 'utf8' });
    expect(cc.stderr).toBe('');
    const run = spawnSync(bin, { encoding: 'utf8', timeout: 120_000 });
    expect(run.stdout).toMatch(totals);
    expect(run.status).toBe(0);
  }

  it('cowlab diff agrees with the model on scenarios with threads', () => {
    const r = cowlab('diff', '--json', join(dir, 'thread-steps.yaml'), join(dir, 'thread-fork.yaml'));
    expect(r.err).toBe('');
    const res = JSON.parse(r.out) as { scenario: string; verdict: string; reason: string }[];
    expect(res.map((x) => `${x.scenario}: ${x.verdict} ${x.reason}`.trim())).toEqual(['thread-steps: agree', 'thread-fork: agree']);
    expect(r.code).toBe(0);
  }, 600_000);

  it("an emitted reproducer runs the threads' steps on threads, and its checks pass", () => {
    const r = cowlab('emit-c', join(dir, 'thread-fork.yaml'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/STEPT\(T_p, \/\* thread \*\/ 2, OP_FORK, \/\* child \*\/ T_c\);/);
    compileAndRun(r.out, 'thread-fork', /# Totals: pass:6 fail:0/);
  }, 300_000);

  it('the executor refuses a step on a thread its process has not created', async () => {
    const th = opcode('thread')!;
    const read = opcode('read')!;
    const e = new Executor();
    try {
      const mmap = 'O 0 1 1 1 3 0 -1 0';
      const noThread = await e.run(['T 1 1', 'R 1 1', mmap, 'W 1', `O 0 ${read} 1 1`]);
      expect(noThread.status).toBe('error');
      expect(noThread.messages.join()).toMatch(/step 2: task 0 has no thread 1/);
      const outOfOrder = await e.run(['T 1 1', 'R 1 1', mmap, `O 0 ${th} 2`]);
      expect(outOfOrder.messages.join()).toMatch(/step 2: task 0's next thread is 1, not 2/);
      // a fork child starts with none of its parent's threads
      const child = await e.run(['T 2 1', 'R 1 1', mmap, `O 0 ${th} 1`, `O 0 ${opcode('fork')!} 1`, 'W 1', `O 1 ${read} 1 1`]);
      expect(child.messages.join()).toMatch(/step 4: task 1 has no thread 1/);
      const dangling = await e.run(['T 1 1', 'R 1 1', mmap, 'W 1']);
      expect(dangling.messages.join()).toMatch(/ends with a W line/);
      // and a program with threads runs afterwards
      const ok = await e.run(['T 1 1', 'R 1 1', mmap, `O 0 ${th} 1`, 'W 1', `O 0 ${opcode('write')!} 1 1 3`, 'W 1', `O 0 ${read} 1 1`]);
      expect(ok.status).toBe('ok');
      expect(ok.steps.get(3)).toMatchObject({ ret: 0, errno: 0, faults: 1 });
      expect(ok.steps.get(4)).toMatchObject({ ret: 0, errno: 0, faults: 0, data: [3] });
      // a held step (W <thread> 1) and a resume run on a thread, never on a process's main thread
      const heldMain = await e.run(['T 1 1', 'R 1 1', mmap, 'W 1 2', `O 0 ${read} 1 1`]);
      expect(heldMain.messages.join()).toMatch(/W needs a thread \(1..8\) and may say 1 \(stop: uffd\)/);
      const resumeMain = await e.run(['T 1 1', 'R 1 1', mmap, `O 0 ${opcode('resume')!}`]);
      expect(resumeMain.messages.join()).toMatch(/step 2: a held step and its resume run on a thread/);
    } finally {
      await e.close();
    }
  }, 120_000);

  /** The scenarios that hold a uffd fault open on the kernel (stop: uffd): a store, a GUP fault, a store killed after its wake. */
  const HELD = [
    'scenarios/history/uffd/held-write.yaml',
    'scenarios/history/uffd/held-gup-fault-fork.yaml',
    'scenarios/regress/uffd-held-store-segv.yaml',
  ];

  it('a fault the uffd monitor holds: cowlab diff agrees with the model on each held scenario', () => {
    const r = cowlab('diff', '--json', ...HELD);
    expect(r.err).toBe('');
    const res = JSON.parse(r.out) as { scenario: string; verdict: string; reason: string }[];
    expect(res.map((x) => `${x.scenario}: ${x.verdict} ${x.reason}`.trim())).toEqual([
      'held-write: agree',
      'held-gup-fault-fork: agree',
      'uffd-held-store-segv: agree',
    ]);
    expect(r.code).toBe(0);
  }, 600_000);

  it('an emitted reproducer holds the fault on its thread and wakes it at the resume', () => {
    const r = cowlab('emit-c', HELD[0]!);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/STEPHELD\(T_P, \/\* thread \*\/ 1, OP_WRITE,/);
    compileAndRun(r.out, 'held-write', /# Totals: pass:9 fail:0/);
  }, 300_000);
});
