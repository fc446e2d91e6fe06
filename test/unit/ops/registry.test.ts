/**
 * Contract tests of the operation registry (src/ops/): every operation is
 * complete (documented, with an executor encoding or a stated reason), the
 * C executor implements exactly the executable ones, and every operation
 * round-trips: parse, resolve, print, parse, resolve gives the same model
 * operation.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { OPS, OP_NAMES } from '../../../src/ops/index.js';
import type { OpDef } from '../../../src/ops/types.js';
import { EXEC_OPS, opsHeader, cName } from '../../../src/executor/program.js';
import { loadScenarios } from '../../../src/scenario/load.js';
import { parseScenario, scenarioFromObject } from '../../../src/scenario/parse.js';
import { resolveScenario, printStep, type Resolved } from '../../../src/scenario/resolve.js';
import { randomScenarios } from '../../../src/fuzz/generate.js';

const defs = OPS as readonly OpDef[];

describe('every operation is defined completely', () => {
  it('has a name, a documentation line, and an executor encoding or the reason it is model-only', () => {
    for (const d of defs) {
      expect(d.doc.length, d.name).toBeGreaterThan(10);
      if ('modelOnly' in d.exec) {
        const why = typeof d.exec.modelOnly === 'string' ? d.exec.modelOnly : 'a function';
        expect(why.length, `${d.name}: model-only reason`).toBeGreaterThan(5);
      } else {
        expect(d.exec.args.length, `${d.name}: at most 7 executor arguments`).toBeLessThanOrEqual(7);
      }
    }
    expect(new Set(OP_NAMES).size).toBe(OP_NAMES.length);
  });

  it('the C executor implements exactly the executable operations, with the generated opcodes', () => {
    const c = readFileSync('executor/ops.c', 'utf8');
    const implemented = [...c.matchAll(/^long op_(\w+)\(struct stepcx \*cx, const long \*a\)$/gm)].map((m) => m[1]);
    expect(implemented.sort()).toEqual(EXEC_OPS.map((d) => cName(d.name)).sort());
    const h = opsHeader();
    EXEC_OPS.forEach((d, i) => expect(h).toContain(`OP_${cName(d.name).toUpperCase()} = ${i + 1},`));
  });
});

/** The scenario again, every step replaced by what its definition prints. */
function reprinted(r: Resolved): Resolved {
  const steps = r.steps.map((rs) => ({ [rs.step.proc]: printStep(r, rs) }));
  const obj = {
    processes: r.sc.processes,
    // the model's own geometry, where the scenario sets one
    ...(r.sc.pmdOrder !== undefined ? { 'pmd-order': r.sc.pmdOrder } : {}),
    // the hugetlb pools the files need
    env: {
      ...(r.sc.env.hugetlbPages ? { 'hugetlb-pages': r.sc.env.hugetlbPages } : {}),
      ...(r.sc.env.hugetlb1gPages ? { 'hugetlb-1g-pages': r.sc.env.hugetlb1gPages } : {}),
    },
    files: Object.fromEntries(
      r.files.map((f) => [f.name, { kind: f.kind, pages: f.pages, ...(f.hugetlb ? { hugetlb: f.gigantic ? '1g' : '2m' } : {}) }]),
    ),
    steps,
  };
  return resolveScenario(scenarioFromObject(obj, r.sc.file));
}

const EXTRA = `
processes: [P0]
files: {t: {kind: tmpfile, pages: 2}}
steps:
  - P0: {mmap: mem, pages: 2}
  - P0: {write: mem}
  - P0: {thread: T1}
  - P0: {odirect-write-start: "mem[1]", file: t, offset: 1, handle: w}
  - P0: {odirect-read-start: "mem[0]", file: t, handle: r}
  - P0: {odirect-complete: w}
  - P0: {odirect-complete: r}
  - P0: {fork: P1, stop: copy-present-pte}
  - T1: {pin: mem, handle: h, write: true, longterm: false, fast: true}
  - P0: {resume, stop: copy-present-pte}
  - P0: resume
  - P0: {get: "mem[0:1]", handle: g, write: true}
  - P0: {pin-write: h}
  - P0: {madvise: mem, advice: keeponfork}
  - T1: {proc-mem-write: mem, target: P1, stop: gup-retry}
  - P0: {madvise: mem, advice: dontneed}
  - T1: {resume, stop: gup-retry}
  - T1: resume
  - P0: {read-pipe: p, pages: 3}
  - P0: {mmap: mem, pages: 2, prot: rx, file: t, offset: 0}
  - P0: {file-read: t, offset: 1}
  - P0: {transient: "mem[1]", kind: lru-batch, release: true}
  - P0: {mmap: big, pages: 8, align: pmd, thp: inherit}
  - P0: {mmap: other, pages: 4, prot: none}
  - P0: {mremap: "big[4:8]", to: other}
  - P0: {madvise: big, advice: hugepage}
`;

describe('every operation round-trips', () => {
  it('parse, resolve, print, parse, resolve: the same model operations, over the shipped, random and extra scenarios', () => {
    const corpus: Resolved[] = [
      ...loadScenarios(['scenarios']),
      ...randomScenarios({ seed: 11, count: 200 }).map((t, i) => resolveScenario(parseScenario(t, `fuzz-${i}.yaml`))),
    ];
    // the extra scenario names a pipe it never creates: add one so it resolves
    corpus.push(
      resolveScenario(
        parseScenario(
          EXTRA.replace('  - P0: {read-pipe: p, pages: 3}', '  - P0: {pipe: p}\n  - P0: {read-pipe: p, pages: 3}'),
          'extra.yaml',
        ),
      ),
    );
    const seen = new Set<string>();
    for (const r of corpus) {
      const again = reprinted(r);
      expect(
        again.steps.map((s) => s.op),
        r.sc.file,
      ).toEqual(r.steps.map((s) => s.op));
      for (const s of r.steps) seen.add(s.op.op);
    }
    expect(OP_NAMES.filter((n) => !seen.has(n))).toEqual([]);
  });
});
