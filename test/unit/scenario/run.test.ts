import { describe, it, expect } from 'vitest';
import { parseScenario } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';

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
