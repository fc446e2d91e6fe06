import { describe, it, expect } from 'vitest';
import { parseScenario } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { InputError } from '../../../src/scenario/errors.js';
import { checkExpectKeys } from '../../../src/matrix/expect.js';

function err(yaml: string): string {
  try {
    resolveScenario(parseScenario(yaml, 'bad.yaml'));
  } catch (e) {
    if (e instanceof InputError) return e.format();
    throw e;
  }
  throw new Error('no error');
}

describe('scenario errors carry file:line:col and what was expected', () => {
  it('YAML syntax', () => {
    expect(err('steps:\n  - p: {mmap: mem\n')).toMatch(/^bad\.yaml:3:1: YAML: /);
  });
  it('unknown top-level key', () => {
    expect(err('stepz: []\n')).toBe('bad.yaml:1:1: unknown key "stepz"');
  });
  it('unknown operation', () => {
    expect(err('steps:\n  - p: {mmapp: mem}\n')).toMatch(
      /^bad\.yaml:2:9: unknown operation "mmapp"; a step starts with one of: mmap, munmap/,
    );
  });
  it('operation given as a bare word that does not exist', () => {
    expect(err('steps:\n  - p: leave\n')).toMatch(/^bad\.yaml:2:8: unknown operation "leave"/);
  });
  it('wrong type, at the value', () => {
    expect(err('steps:\n  - p: {mmap: mem, pages: many}\n')).toBe('bad.yaml:2:27: step 1 p.pages: expected number, received string');
  });
  it('bad enum value', () => {
    expect(err('steps:\n  - p: {mmap: mem}\n  - p: {madvise: mem, advice: free}\n')).toMatch(
      /^bad\.yaml:3:31: step 2 p\.advice: expected one of: dontneed, dontfork/,
    );
  });
  it('unknown argument', () => {
    expect(err('steps:\n  - p: {mmap: mem, size: 2}\n')).toBe('bad.yaml:2:20: unknown key "size"');
  });
  it('bad region reference', () => {
    expect(err('steps:\n  - p: {mmap: mem}\n  - p: {write: "mem[x]"}\n')).toMatch(/^bad\.yaml:3:16: step 2 p\.write: a region like mem/);
  });
  it('region never mapped', () => {
    expect(err('steps:\n  - p: {write: mem}\n')).toBe('bad.yaml:2:5: region "mem" is never mapped (no mmap step names it)');
  });
  it('page outside the region', () => {
    expect(err('steps:\n  - p: {mmap: mem, pages: 2}\n  - p: {write: "mem[2]"}\n')).toBe(
      'bad.yaml:3:5: mem[2] is outside region mem (2 page(s))',
    );
  });
  it('process that does not exist', () => {
    expect(err('processes: [p]\nsteps:\n  - p: {mmap: mem}\n  - q: {write: mem}\n')).toBe(
      'bad.yaml:4:5: process "q" does not exist at step 2',
    );
  });
  it('process that has exited', () => {
    expect(err('processes: [p]\nsteps:\n  - p: {mmap: mem}\n  - p: {fork: c}\n  - c: exit\n  - c: {read: mem}\n')).toBe(
      'bad.yaml:6:5: process "c" does not exist at step 4',
    );
  });
  it('unknown label in sees', () => {
    expect(err('steps:\n  - p: {mmap: mem}\n  - p: {read: mem, expect: {sees: w9}}\n')).toBe(
      'bad.yaml:3:5: sees: no step is labelled "w9" (use a label, a step number or zero)',
    );
  });
  it('one process per step', () => {
    expect(err('steps:\n  - {p: exit, q: exit}\n')).toBe('bad.yaml:2:5: a step names exactly one process, found 2 keys');
  });
  it('steps must not be empty', () => {
    expect(err('steps: []\n')).toMatch(/^bad\.yaml:1:8: steps: /);
  });
  it('a valid scenario resolves', () => {
    const r = resolveScenario(
      parseScenario(
        'steps:\n  - p: {mmap: mem, pages: 2}\n  - p: {write: "mem[1]", label: w}\n  - p: {read: mem, expect: {sees: [zero, w]}}\n',
        'ok.yaml',
      ),
    );
    expect(r.regions).toEqual([{ name: 'mem', start: 1, pages: 2, aligned: false }]);
    expect(r.steps[2]!.sees).toEqual([0, 2]);
  });
});

describe("the executor's limits are checked when a scenario is resolved, at the step that passes them", () => {
  const steps = (lines: string[]) => `steps:\n${lines.map((l) => `  - ${l}\n`).join('')}`;
  const many = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
  it('pipes', () => {
    expect(err(steps(many(17, (i) => `p: {pipe: q${i}}`)))).toBe(
      "bad.yaml:18:5: pipe: at most 16 pipes per scenario (the executor's limit)",
    );
  });
  it('processes, forks included', () => {
    expect(err(steps(['p: {mmap: mem}', ...many(30, (i) => `p: {fork: c${i}}`)]))).toMatch(/^bad\.yaml:32:5: fork: at most 30 processes/);
  });
  it('steps', () => {
    expect(err(steps(['p: {mmap: mem}', ...many(4096, () => 'p: {write: mem}')]))).toMatch(
      /^bad\.yaml:4098:5: a scenario has at most 4096 steps/,
    );
  });
  it('regions', () => {
    expect(err(steps(many(65, (i) => `p: {mmap: r${i}}`)))).toMatch(/^bad\.yaml:66:5: mmap: at most 64 regions/);
  });
  it('pages of a region or a file', () => {
    expect(err(steps(['p: {mmap: mem, pages: 2049}']))).toMatch(/^bad\.yaml:2:27: .*pages: Too big: expected number to be <=2048/);
    expect(err(`files: {f: {kind: memfd, pages: 4096}}\n${steps(['p: {mmap: mem}'])}`)).toMatch(
      /^bad\.yaml:1:\d+: .*pages: Too big: expected number to be <=2048/,
    );
    // four PMD-sized THPs fit
    expect(() => parseScenario(steps(['p: {mmap: mem, pages: 2048, align: pmd, thp: inherit}']), 'ok.yaml')).not.toThrow();
    // cow.c's io_uring cases write a whole 1 GiB buffer to a file: allowed beside 1 GiB pages only
    const big = `files: {f: {kind: tmpfile, pages: 262144}}\n`;
    expect(() => parseScenario(`${big}${steps(['p: {mmap: mem, pages: 262144, hugetlb: 1g}'])}`, 'g.yaml')).not.toThrow();
    expect(err(`${big}${steps(['p: {mmap: mem, pages: 512, hugetlb: 2m}'])}`)).toMatch(
      /^bad\.yaml:1:\d+: files\.f\.pages: Too big: .*or in a scenario with 1 GiB pages/,
    );
  });
  it('pins of one page do not overflow the reference table (it is sized from the steps)', () => {
    const r = resolveScenario(
      parseScenario(steps(['p: {mmap: mem}', 'p: {write: mem}', ...many(40, (i) => `p: {pin: mem, handle: h${i}}`)]), 'pins.yaml'),
    );
    expect(r.geo.refs).toBeGreaterThanOrEqual(40);
  });
});

describe('expect: typos are errors at their position with the nearest valid name', () => {
  const steps = 'steps:\n  - p: {mmap: mem}\n';
  const keyErr = (yaml: string, ids: string[] = []): string => {
    try {
      checkExpectKeys(parseScenario(yaml, 'bad.yaml'), ids);
    } catch (e) {
      if (e instanceof InputError) return e.format();
      throw e;
    }
    return 'no error';
  };
  it('a kernel no profile has ("linux-5.10" for debian-5.10), unless it is the id of a profile of the user\'s', () => {
    const y = `expect:\n  default: pass\n  linux-5.10: {fail: no-leak}\n${steps}`;
    expect(keyErr(y)).toMatch(
      /^bad\.yaml:3:3: expect: unknown kernel "linux-5\.10" \(did you mean "debian-5\.10"\?\); known: linux-4\.8, /,
    );
    expect(keyErr(y, ['linux-5.10'])).toBe('no error');
    expect(keyErr(`expect:\n  linux-5.9..linux-5.7: fail\n${steps}`)).toMatch(
      /^bad\.yaml:2:3: expect: "linux-5\.9\.\.linux-5\.7" is not a range/,
    );
    expect(keyErr(`expect:\n  history, proposals: pass\n  linux-4.8..linux-5.7, debian-5.10: fail\n${steps}`)).toBe('no error');
  });
  it('a property that does not exist, a misspelt key, a misspelt outcome', () => {
    expect(err(`expect:\n  linux-5.9: {fail: no-leek}\n${steps}`)).toBe(
      'bad.yaml:2:21: fail: unknown property "no-leek" (did you mean "no-leak"?); expected one of: no-leak, pin-coherent, private-file-integrity, no-lost-write, fork-snapshot, no-stale-tlb, model-invariant, expectation',
    );
    expect(err(`expect:\n  linux-5.9: {fail: no-leak, becuase: x}\n${steps}`)).toBe(
      'bad.yaml:2:30: unknown key "becuase" (did you mean "because"?); expected fail, pass, because, copies, needless',
    );
    expect(err(`expect:\n  default: pas\n${steps}`)).toMatch(/^bad\.yaml:2:12: expected pass, fail, .* \(did you mean "pass"\?\)$/);
    expect(err(`expect:\n  default: {because: x}\n${steps}`)).toMatch(/^bad\.yaml:2:12: expected exactly one of fail: or pass:/);
  });
});

describe('same-frame-as and new-frame-since name an earlier step of the same process', () => {
  const base = 'steps:\n  - p: {mmap: mem}\n  - p: {write: mem, label: w}\n';
  it('a label or a step number that resolves', () => {
    const r = resolveScenario(
      parseScenario(
        `${base}  - p: {check: mem, expect: {same-frame-as: w}}\n  - p: {check: mem, expect: {new-frame-since: 1}}\n`,
        'ok.yaml',
      ),
    );
    expect(r.steps[2]!.frameRef).toEqual({ step: 2, same: true });
    expect(r.steps[3]!.frameRef).toEqual({ step: 1, same: false });
  });
  it('an unknown label, a later step, a step without pages, both keys at once', () => {
    expect(err(`${base}  - p: {check: mem, expect: {same-frame-as: nope}}\n`)).toMatch(
      /^bad\.yaml:4:5: .*same-frame-as: no step is labelled "nope"/,
    );
    expect(err(`${base}  - p: {check: mem, expect: {same-frame-as: 3}}\n`)).toMatch(/same-frame-as: step 3 is not an earlier step/);
    expect(err(`${base}  - p: {fork: q, expect: {new-frame-since: w}}\n`)).toMatch(/new-frame-since: the step names no pages/);
    expect(err(`${base}  - p: {check: mem, expect: {same-frame-as: w, new-frame-since: w}}\n`)).toMatch(/one or the other/);
  });
});

describe('alias expansion is bounded in time as well as in values', () => {
  // Alias.resolve(doc) walks the whole document per call: with it per expansion, 100,000 expansions in a
  // document of 40,000 nodes took minutes (the hostile-input property test stalled on such a case)
  it('an alias bomb after a large list is refused at once', () => {
    const lines = [`l0: &l0 [${Array(12).fill('x').join(', ')}]`];
    for (let i = 1; i < 9; i++)
      lines.push(
        `l${i}: &l${i} [${Array(12)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    const text = `pad: [${Array(40_000).fill('y').join(', ')}]\n${lines.join('\n')}\nsteps: *l8\n`;
    const t0 = Date.now();
    expect(err(text)).toMatch(/^bad\.yaml:\d+:\d+: YAML: aliases expand to more than 100000 values/);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
  it('an alias names the last anchor of its name before it', () => {
    const r = parseScenario('steps:\n  - p: &a {mmap: mem}\n  - p: &a {munmap: mem}\n  - p: *a\n', 'ok.yaml');
    expect(r.steps.map((s) => s.op)).toEqual(['mmap', 'munmap', 'munmap']);
    expect(err('z: *a\nx: &a [1]\nsteps:\n  - p: {mmap: mem}\n')).toMatch(/^bad\.yaml:1:4: YAML: an alias \(\*name\) with no anchor/);
    expect(err('x: &a [1, *a]\nsteps:\n  - p: {mmap: mem}\n')).toMatch(
      /^bad\.yaml:1:\d+: YAML: an alias \(\*name\) inside the node its anchor names/,
    );
  });
});
