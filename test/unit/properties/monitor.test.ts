import { describe, it, expect } from 'vitest';
import { run, mapcountReuse, pageCountSoftDirty, follWriteGames } from '../../helpers.js';
import { readFileSync } from 'node:fs';
import { scenario } from '../../helpers.js';
import { initialState } from '../../../src/scenario/run.js';
import { linux_6_18 } from '../../../src/profiles/linux-6.18.js';
import { Monitor } from '../../../src/properties/monitor.js';
import { step } from '../../../src/ops/step.js';
import { DEFAULT_ENV } from '../../../src/profiles/env.js';
import { page_ref_add } from '../../../src/model/mm_types.js';
import { runScenario } from '../../../src/scenario/run.js';

const cve = readFileSync('scenarios/cve/cve-2020-29374-vmsplice-child.yaml', 'utf8');

describe('no-leak', () => {
  it('holds on linux-6.18 for the CVE-2020-29374 scenario', () => {
    expect(run(cve).violations).toEqual([]);
  });
  it('fires when the parent reuses a page the child pipe still references (mapcount rule)', () => {
    const r = run(cve, mapcountReuse);
    const v = r.violations.find((x) => x.property === 'no-leak');
    expect(v).toBeDefined();
    expect(v!.step).toBe(8);
    expect(v!.since).toBe(7);
    expect(v!.message).toContain("parent's write at step 7 (secret)");
    expect(v!.message).toContain('through a pipe');
  });
});

const iouringRo = `
processes: [p]
files: {f: {kind: tmpfile, pages: 1}}
steps:
  - p: {mmap: mem}
  - p: {write: mem}
  - p: io-uring-setup
  - p: {io-uring-register: mem}
  - p: {mprotect: mem, prot: r}
  - p: {clear-refs: 4}
  - p: {mprotect: mem, prot: rw}
  - p: {write: mem, label: w}
  - p: {io-uring-write-fixed: mem, file: f}
  - p: {file-read: f, expect: {sees: w}}
`;

describe('pin-coherent', () => {
  it('holds on linux-6.18', () => {
    expect(run(iouringRo).verdict).toBe('pass');
  });
  it('fires when a write fault copies a page pinned by io_uring (page_count rule + soft-dirty)', () => {
    const r = run(iouringRo, pageCountSoftDirty);
    const v = r.violations.find((x) => x.property === 'pin-coherent');
    expect(v).toBeDefined();
    expect(v!.step).toBe(8);
    expect(v!.message).toContain('io_uring fixed buffer');
    // and the data written lost to the device shows up as a failed expectation
    expect(r.failures.map((f) => f.step)).toContain(10);
  });
  it('names the run of pages whose pins broke alike in one violation, once', () => {
    const three = iouringRo.replace('{mmap: mem}', '{mmap: mem, pages: 3}').replace('pages: 1}}', 'pages: 3}}');
    const r = run(three, pageCountSoftDirty);
    const v = r.violations.filter((x) => x.property === 'pin-coherent');
    expect(v.map((x) => [x.step, x.message.replace(/: p maps another.*/, '')])).toEqual([
      [8, "p's io_uring fixed buffer on mem[0] to mem[2] (3 pages) no longer refers to the page it maps"],
    ]);
  });
});

const dirtyCow = `
processes: [victim, attacker]
files: {passwd: {kind: tmpfile, pages: 1}}
steps:
  - victim: {mmap: map, prot: r, file: passwd}
  - victim: {read: map}
  - victim: {thread: zapper}
  - attacker: {proc-mem-write: map, target: victim, stop: gup-retry}
  - zapper: {madvise: map, advice: dontneed}
  - attacker: resume
  - victim: {file-read: passwd, expect: {sees: zero}}
`;

describe('private-file-integrity', () => {
  it('holds on linux-6.18 even with MADV_DONTNEED racing the FOLL_FORCE write', () => {
    expect(run(dirtyCow).verdict).toBe('pass');
  });
  it('fires with the pre-4.9 FOLL_WRITE games (Dirty COW)', () => {
    const r = run(dirtyCow, follWriteGames);
    const v = r.violations.find((x) => x.property === 'private-file-integrity');
    expect(v).toBeDefined();
    expect(v!.step).toBe(6);
    expect(v!.message).toContain('written through a private mapping');
  });
});

describe('model-invariant', () => {
  it('reports a refcount nobody accounts for as a cowlab bug', () => {
    const r = scenario(`
processes: [p]
steps:
  - p: {mmap: mem}
  - p: {write: mem}
`);
    const s = initialState(r);
    for (const st of r.steps) step(s, { prof: linux_6_18, env: DEFAULT_ENV }, st.op);
    const m = new Monitor();
    const none = { reads: [], bugs: [] };
    expect(m.check(s, none, linux_6_18, 3)).toEqual([]);
    page_ref_add(s, 2, 1);
    const v = m.check(s, none, linux_6_18, 4);
    expect(v).toHaveLength(1);
    expect(v[0]!.property).toBe('model-invariant');
    expect(v[0]!.message).toMatch(/^cowlab bug: page 2: refcount 2 but its holders account for 1/);
  });
  it('holds for every shipped scenario on linux-6.18', () => {
    const res = runScenario(scenario(cve), linux_6_18);
    expect(res.violations.filter((v) => v.property === 'model-invariant')).toEqual([]);
  });
});

describe('pages of one huge leaf are judged page by page and reported as one run', () => {
  // a 2 MiB hugetlb page in a geometry of 4 pages per PMD: 4 pages through one leaf
  const huge = (tail: string) =>
    scenario(`
pmd-order: 2
env: {hugetlb-pages: 2}
processes: [p]
steps:
  - p: {mmap: mem, pages: 4, hugetlb: 2m}
  - p: {write: mem, label: a}
${tail}`);

  it('a load through a huge leaf is one observation of its pages, and returns each page', () => {
    const r = huge('  - p: {read: mem}\n');
    const s = initialState(r, { ...DEFAULT_ENV, hugetlbPages: 2 });
    const effs = r.steps.map((st) => step(s, { prof: linux_6_18, env: { ...DEFAULT_ENV, hugetlbPages: 2 } }, st.op));
    const read = effs.at(-1)!;
    expect(read.result.data).toHaveLength(4);
    expect(read.reads).toHaveLength(1);
    expect(read.reads[0]).toMatchObject({ via: 'mem', vpage: r.regions[0]!.start, n: 4 });
  });

  it('no-leak names the run of pages a leaked write was read from', () => {
    const r = huge('  - p: {fork: c}\n  - p: {write: mem, label: b}\n  - p: {read: mem}\n');
    const env = { ...DEFAULT_ENV, hugetlbPages: 2 };
    const s = initialState(r, env);
    const effs = r.steps.map((st) => step(s, { prof: linux_6_18, env }, st.op));
    const read = effs.at(-1)!;
    expect(read.reads).toHaveLength(1);
    // the parent's load made on the child's behalf: the child may not see b, on any of the four pages
    const leak = { reads: read.reads.map((o) => ({ ...o, observer: 1 })), bugs: [] };
    const v = new Monitor(undefined, false).check(s, leak, linux_6_18, 6).filter((x) => x.property === 'no-leak');
    expect(v.map((x) => x.message)).toEqual([
      `task 0 (on behalf of task 1) read page ${r.regions[0]!.start} to page ${r.regions[0]!.start + 3} (4 pages) through its mapping and got task 0's write, which task 1 must not see: it was written after they diverged`,
    ]);
  });

  it("checks only the properties it is given (the explorer's), each as it would alone", () => {
    const r = huge('  - p: {fork: c}\n  - p: {write: mem, label: b}\n  - p: {read: mem}\n');
    const env = { ...DEFAULT_ENV, hugetlbPages: 2 };
    const s = initialState(r, env);
    const effs = r.steps.map((st) => step(s, { prof: linux_6_18, env }, st.op));
    const leak = { reads: effs.at(-1)!.reads.map((o) => ({ ...o, observer: 1 })), bugs: [] };
    const all = new Monitor(undefined, false).check(s, leak, linux_6_18, 6);
    expect(all.map((v) => v.property)).toEqual(['no-leak']);
    expect(new Monitor(undefined, false, new Set(['no-leak'])).check(s, leak, linux_6_18, 6)).toEqual(all);
    expect(new Monitor(undefined, false, new Set(['pin-coherent', 'private-file-integrity'])).check(s, leak, linux_6_18, 6)).toEqual([]);
  });

  it('a failed expectation on consecutive pages is one message naming them', () => {
    const res = runScenario(huge('  - p: {read: mem, expect: {sees: zero, writable: false}}\n'), linux_6_18);
    expect(res.failures.map((f) => f.message)).toEqual([
      'pages 0 to 3: expected zero-filled data, read the data written at step 2 (a)',
      'mem[0] to mem[3]: expected not mapped writable, it is mapped writable',
    ]);
  });
});
