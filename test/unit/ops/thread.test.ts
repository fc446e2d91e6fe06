import { describe, it, expect } from 'vitest';
import { parseScenario } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';
import { InputError } from '../../../src/scenario/errors.js';

const head = `processes: [p]
files: {passwd: {kind: tmpfile, pages: 1}}
steps:
  - p: {mmap: map, prot: r, file: passwd}
  - p: {thread: w}
`;

/** The positioned error resolving a scenario gives. */
function refused(yaml: string): string {
  try {
    resolveScenario(parseScenario(yaml, 't.yaml'));
  } catch (e) {
    if (e instanceof InputError) return e.format();
    throw e;
  }
  return 'accepted';
}

const run = (yaml: string, kernel: string) => runScenario(resolveScenario(parseScenario(yaml, 't.yaml')), profileById(kernel));

describe('threads in scenarios', () => {
  it('a stopped thread takes no other step until it resumes', () => {
    expect(refused(`${head}  - w: {proc-mem-write: map, target: p, stop: gup-retry}\n  - w: {read: map}\n`)).toBe(
      't.yaml:7:5: w is stopped in gup-retry since step 3: only resume may follow for it (another thread acts meanwhile)',
    );
  });
  it('an mmap_lock writer of the mm a stopped GUP holds for read waits until it goes on', () => {
    const r = run(
      `${head}  - w: {proc-mem-write: map, target: p, stop: gup-retry}\n  - p: {fork: c}\n  - p: {madvise: map, advice: dontneed}\n  - w: resume\n  - c: {read: map}\n`,
      'linux-6.18',
    );
    // the fork (step 4) runs after the resume (step 6) that lets the lock go; MADV_DONTNEED (read) did not wait, but p's
    // own later step waits behind its fork
    expect(r.records.map((x) => [x.index, x.waited?.after ?? null])).toEqual([
      [1, null],
      [2, null],
      [3, null],
      [6, null],
      [4, 6],
      [5, 6],
      [7, null],
    ]);
    expect(r.failures).toEqual([]);
    // nothing lets it go: it waits for ever, which the run reports
    const stuck = run(`${head}  - w: {proc-mem-write: map, target: p, stop: gup-retry}\n  - p: {mprotect: map, prot: rw}\n`, 'linux-6.18');
    expect(stuck.failures.map((f) => [f.step, f.message])).toEqual([
      [
        4,
        "the step waits for ever: mprotect waits for task 0's mmap_lock, held for read by a thread stopped in a window (no later step lets it go)",
      ],
    ]);
  });
  it('names: a thread name is new, a thread does not exit on its own, resume follows a stop', () => {
    expect(refused(`${head}  - p: {thread: p}\n`)).toBe('t.yaml:6:5: thread: "p" already names a process or a thread');
    expect(refused(`${head}  - w: exit\n`)).toBe("t.yaml:6:5: exit: w is a thread; the process's own steps end it (exit_group)");
    expect(refused(`${head}  - w: resume\n`)).toBe(
      't.yaml:6:5: resume: w has no operation stopped in a window (no earlier step of it says stop:)',
    );
    // the process exiting ends its stopped thread's operation
    expect(refused(`${head}  - w: {proc-mem-write: map, target: p, stop: gup-retry}\n  - p: exit\n`)).toBe('accepted');
  });
  it("a thread's steps act on its process's mm", () => {
    const r = run(`${head}  - w: {mmap: mem}\n  - w: {write: mem, label: x}\n  - p: {read: mem, expect: {sees: x}}\n`, 'linux-6.18');
    expect(r.records.flatMap((x) => x.failures.map((f) => f.message))).toEqual([]);
  });

  const dirty = `${head}  - w: {proc-mem-write: map, target: p, stop: gup-retry}
  - w: {resume, stop: gup-retry}
  - p: {madvise: map, advice: dontneed}
  - w: resume
  - p: {file-read: passwd, expect: {sees: zero}}
`;
  it('Dirty COW: the write stops after each fault; MADV_DONTNEED in the second window reaches the file on linux-4.8 only', () => {
    const r48 = run(dirty, 'linux-4.8');
    expect(r48.violations.map((v) => [v.property, v.step])).toEqual([['private-file-integrity', 6]]);
    for (const k of ['linux-4.14', 'linux-5.9', 'linux-6.18']) expect(run(dirty, k).violations).toEqual([]);
  });
  it('a resume finds nothing stopped where the kernel needed no second fault (linux-6.18: FOLL_FORCE follows the exclusive copy)', () => {
    const r = run(dirty, 'linux-6.18');
    // step 4 ran to its end: the write returned 1 page there, and step 6 has nothing to go on with
    expect(r.records[3]!.result.ret).toBe(1);
    expect(r.records[5]!.result.ret).toBe(0);
  });
});

/** A process protects its page with uffd-wp and makes a thread; the thread's store is held by the monitor. */
const held = `processes: [p]
files: {f: {kind: tmpfile, pages: 2}}
steps:
  - p: {mmap: mem, pages: 2}
  - p: {write: mem, label: old}
  - p: uffd
  - p: {uffd-register: mem}
  - p: {uffd-wp: "mem[1]"}
  - p: {thread: w}
`;

describe('a fault the uffd monitor holds (stop: uffd)', () => {
  it('the store waits in handle_userfault() with mmap_lock dropped: the process reads the old data and forks meanwhile', () => {
    const r = run(
      `${held}  - w: {write: mem, label: new, stop: uffd}\n  - p: {read: mem}\n  - p: {fork: c}\n  - p: {uffd-unwp: mem}\n  - w: resume\n  - p: {read: mem}\n  - c: {read: mem}\n`,
      'linux-6.18',
    );
    expect(r.failures).toEqual([]);
    const at = (i: number) => r.records.find((x) => x.index === i)!;
    // the store wrote page 0, then its fault on page 1 was delivered and held: nothing counted yet
    expect([at(7).uffdFaults, at(7).faults, at(7).uffdMsgs]).toEqual([1, 0, [{ va: 2, write: true }]]);
    expect(at(8).sees).toEqual([7, 2]);
    // the fork did not wait (no lock is held) and ran as step 9
    expect(at(9).waited).toBeUndefined();
    // the wake: the retried fault (FAULT_FLAG_TRIED) copies away from the child and is counted then
    expect([at(11).uffdFaults, at(11).faults]).toEqual([0, 1]);
    expect(at(12).sees).toEqual([7, 7]);
    expect(at(13).sees).toEqual([7, 2]);
  });
  it('the held store waits for the wake: a resume before a uffd-unwp is refused, a thread of its own is needed', () => {
    expect(refused(`${held}  - w: {write: mem, stop: uffd}\n  - w: resume\n`)).toBe(
      't.yaml:11:5: resume: w waits in handle_userfault() since step 7 until its monitor wakes it: a uffd-unwp of the page by p (or one of its threads) comes first',
    );
    expect(refused(`${held}  - p: {write: mem, stop: uffd}\n`)).toMatch(/stop: uffd: p is a process's main thread/);
    expect(refused(`${held}  - w: {odirect-read: mem, file: f, stop: uffd}\n`)).toMatch(
      /odirect-read with stop: uffd transfers one page \(this one has 2\)/,
    );
  });
  it('an unprotect that misses the held page does not wake it: the resume waits for ever', () => {
    const r = run(`${held}  - w: {write: mem, stop: uffd}\n  - p: {uffd-unwp: "mem[0]"}\n  - w: resume\n`, 'linux-6.18');
    expect(r.failures.map((f) => f.message)).toEqual([
      'the step waits for ever: the thread sleeps in handle_userfault() until a uffd-unwp of page 2 wakes it (no later step lets it go)',
    ]);
  });
  it('a GUP fault held open: O_DIRECT retries the page with FOLL_TRIED after the wake, in the world it finds then', () => {
    const r = run(
      `${held}  - p: {file-write: f, label: disk}\n  - w: {odirect-read: "mem[1]", file: f, stop: uffd}\n  - p: {fork: c}\n  - p: {uffd-unwp: mem}\n  - w: resume\n  - p: {read: mem}\n  - c: {read: mem}\n`,
      'linux-6.18',
    );
    expect(r.failures).toEqual([]);
    const at = (i: number) => r.records.find((x) => x.index === i)!;
    expect([at(8).result.ret, at(8).uffdFaults]).toEqual([0, 1]);
    expect([at(11).result.ret, at(11).faults]).toEqual([1, 1]);
    expect(at(12).sees).toEqual([2, 7]);
    expect(at(13).sees).toEqual([2, 2]);
  });
});
