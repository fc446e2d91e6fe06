import { describe, it, expect } from 'vitest';
import { parseScenario } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';
import { patched_code } from '../../../src/model/content.js';

const run = (yaml: string, kernel = 'linux-6.18') =>
  runScenario(resolveScenario(parseScenario(yaml, 't.yaml')), profileById(kernel)).records.flatMap((x) => x.failures.map((f) => f.message));

describe('frames over time', () => {
  const fork = 'steps:\n  - p: {mmap: mem, pages: 2}\n  - p: {write: mem, label: w}\n  - p: {fork: c}\n';
  it('a COW copy is a new frame since the fork; the other side keeps its frame', () => {
    expect(
      run(
        `${fork}  - p: {write: "mem[0]"}\n  - p: {check: mem, expect: {new-frame-since: w}}\n  - c: {check: mem, expect: {same-frame-as: w}}\n`,
      ),
    ).toEqual([
      // mem[1] was not written again: still the frame of step 2 in p; c saw no frame at step 2 (it did not exist)
      'mem[1]: expected a new frame since step 2, it is the frame it had then',
      'mem[0] to mem[1]: expected the frame it had after step 2, it is mapped now and was not then',
    ]);
  });
  it('the page is not mapped any more', () => {
    expect(run(`${fork}  - p: {munmap: mem}\n  - p: {check: mem, expect: {same-frame-as: w}}\n`)).toEqual([
      'mem[0] to mem[1]: expected the frame it had after step 2, it is not mapped now',
    ]);
  });
  it('anonymous or not (KPF_ANON)', () => {
    expect(run(`${fork}  - p: {check: "mem[0]", expect: {anon: false}}\n`)).toEqual([
      'mem[0]: expected not an anonymous page (KPF_ANON), it is an anonymous page (KPF_ANON)',
    ]);
  });
});

describe('uffd messages', () => {
  const base =
    'steps:\n  - p: {mmap: mem, pages: 2}\n  - p: {write: mem}\n  - p: {uffd: []}\n  - p: {uffd-register: mem}\n  - p: {uffd-wp: mem}\n';
  it('name the page and the flags of each fault, in order', () => {
    expect(run(`${base}  - p: {write: "mem[1]", expect: {uffd-msgs: [{at: "mem[1]", flags: [wp, write]}]}}\n`)).toEqual([]);
    expect(run(`${base}  - p: {write: mem, expect: {uffd-msgs: [{at: "mem[1]"}]}}\n`)).toEqual([
      'expected the uffd messages mem[1] wp, got mem[0] wp write, mem[1] wp write',
    ]);
  });
});

describe('transfers smaller than a page', () => {
  const fork = 'processes: [p]\nsteps:\n  - p: {mmap: mem, pages: 2}\n  - p: {write: mem, label: init}\n  - p: {fork: c}\n';
  const poke = '  - p: {process-vm-writev: mem, target: c, offset: 16, bytes: 16, label: poke}\n';
  it('the writer sees the old data with its bytes over it; the other process the old data', () => {
    expect(
      run(`${fork}${poke}  - c: {read: "mem[0]", expect: {sees: init+poke}}\n  - p: {read: "mem[0]", expect: {sees: init}}\n`),
    ).toEqual([]);
    expect(run(`${fork}${poke}  - c: {read: "mem[0]", expect: {sees: init}}\n`)).toEqual([
      expect.stringMatching(/^page 0: expected the data written at step 2 \(init\), read mixed bytes \(hash [0-9a-f]{8}\)$/),
    ]);
  });
  it('a transfer across a page boundary writes the bytes of each page it reaches', () => {
    const across = '  - p: {proc-mem-write: mem, target: c, offset: 4090, bytes: 12, label: x, expect: {ret: 2}}\n';
    expect(run(`${fork}${across}  - c: {read: mem, expect: {sees: [init+x, init+x]}}\n`)).toEqual([]);
    expect(run(`${fork}${across}  - c: {read: mem, expect: {sees: [init+x, init]}}\n`)).toHaveLength(1);
  });
  const err = (yaml: string) => {
    try {
      resolveScenario(parseScenario(yaml, 't.yaml'));
      return 'no error';
    } catch (e) {
      return (e as Error).message;
    }
  };
  it('refuses bytes past the range, "+" over a whole-page write, and a stopped write with bytes', () => {
    expect(err(`${fork}  - p: {process-vm-writev: "mem[1]", target: c, offset: 4000, bytes: 100}\n`)).toMatch(
      /offset 4000 and bytes 100 reach past the 1 page\(s\) of the range \(4096 bytes\)/,
    );
    expect(err(`${fork}  - p: {read: mem, expect: {sees: init+init}}\n`)).toMatch(/sees: step 2 wrote whole pages/);
    expect(err(`${fork}  - p: {thread: t}\n  - t: {proc-mem-write: mem, target: c, bytes: 8, stop: gup-retry}\n`)).toMatch(
      /stop: gup-retry writes whole pages/,
    );
  });
});

describe('O_DIRECT from a buffer inside a page (shift)', () => {
  const setup =
    'files:\n  ft: {kind: tmpfile, pages: 2}\nprocesses: [p]\nsteps:\n  - p: {mmap: mem, pages: 3}\n  - p: {write: mem}\n' +
    '  - p: {mmap: src, pages: 2}\n  - p: {write: "src[0]"}\n  - p: {write: "src[1]"}\n  - p: {odirect-write: src, file: ft}\n';
  const sees = (yaml: string) =>
    runScenario(resolveScenario(parseScenario(yaml, 't.yaml')), profileById('linux-6.18')).records.at(-1)!.sees;
  it('each page of the buffer holds the tail of one file page and the head of the next', () => {
    expect(sees(`${setup}  - p: {odirect-read: mem, file: ft, shift: 512, expect: {ret: 2}}\n  - p: {read: mem}\n`)).toEqual([
      patched_code(2, [{ code: 4, lo: 512, hi: 4096 }]),
      patched_code(4, [{ code: 5, lo: 512, hi: 4096 }]),
      patched_code(2, [{ code: 5, lo: 0, hi: 512 }]),
    ]);
  });
  it('a write fills each file page from two pages of memory', () => {
    expect(
      sees(`${setup}  - p: {odirect-write: mem, file: ft, shift: 1024, expect: {ret: 2}}\n  - p: {file-read: ft, pages: 2}\n`),
    ).toEqual([2, 2]);
    expect(sees(`${setup}  - p: {odirect-write: src, file: ft, offset: 1, shift: 2048}\n  - p: {file-read: ft, pages: 2}\n`)).toEqual([
      4,
      patched_code(4, [{ code: 5, lo: 2048, hi: 4096 }]),
    ]);
  });
  it('refuses a shift on one page, a shift with stop: uffd, and a shift not of 512-byte blocks', () => {
    const err = (line: string) => {
      try {
        resolveScenario(parseScenario(`${setup}${line}`, 't.yaml'));
        return 'no error';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(err('  - p: {odirect-read: "mem[0]", file: ft, shift: 512}\n')).toMatch(/needs a range of at least 2 pages/);
    expect(err('  - p: {thread: t}\n  - t: {odirect-read: "mem[0:2]", file: ft, shift: 512, stop: uffd}\n')).toMatch(
      /transfers one whole page/,
    );
    expect(err('  - p: {odirect-read: "mem[0:2]", file: ft, shift: 100}\n')).toMatch(/multiple of 512/);
  });
});
