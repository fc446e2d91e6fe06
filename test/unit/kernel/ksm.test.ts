/**
 * mm/ksm.c in the model (src/kernel/mm/ksm.ts): what merges, what does
 * not, and what COW and unmerging do to a KSM page, per era. The shipped
 * scenarios in scenarios/ksm/ run on every profile in the matrix tests;
 * these check the decisions one by one, with fast-check where the property
 * is about any content.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { scenarioFromObject } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';
import { PGF_KSM } from '../../../src/model/layout.js';
import { ptep_get, page_test, task_ksm_zero } from '../../../src/model/mm_types.js';
import { pte_pfn, pte_present, pte_dirty } from '../../../src/model/pte.js';
import { ZERO_PFN } from '../../../src/model/layout.js';

function run(steps: unknown[], kernel = 'linux-6.18', env?: Record<string, unknown>) {
  const sc = scenarioFromObject({ name: 't', processes: ['P0'], steps, ...(env ? { env } : {}) }, 'ksm.test.yaml');
  const r = resolveScenario(sc);
  const res = runScenario(r, profileById(kernel), { keepStates: true });
  const last = res.records.at(-1)!.state;
  const start = r.regions[0]!.start;
  const pfn = (i: number) => pte_pfn(ptep_get(last, 0, start + i));
  return { res, pfn, ksm: (i: number) => page_test(last, pfn(i), PGF_KSM) };
}

const setup = (values: (number | null)[]) => [
  { P0: { mmap: 'mem', pages: values.length, prot: 'rw' } },
  { P0: { madvise: 'mem', advice: 'mergeable' } },
  ...values.map((v, i) => ({ P0: v === null ? { write: `mem[${i}]` } : { write: `mem[${i}]`, value: v } })),
];

describe('ksmd (ksm-scan)', () => {
  it('merges pages of equal content into one KSM page, and only those', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }), { minLength: 1, maxLength: 6 }), (values) => {
        const { res, pfn, ksm } = run([...setup(values), 'ksm-scan'].map((x) => (x === 'ksm-scan' ? { P0: 'ksm-scan' } : x)));
        expect(res.violations).toEqual([]);
        for (let i = 0; i < values.length; i++) {
          for (let j = 0; j < values.length; j++) {
            if (i === j) continue;
            const equal = values[i] !== null && values[i] === values[j];
            expect(pfn(i) === pfn(j), `pages ${i} and ${j}: ${String(values[i])} ${String(values[j])}`).toBe(equal);
          }
          const twin = values.some((v, j) => j !== i && v !== null && v === values[i]);
          expect(ksm(i)).toBe(twin);
        }
      }),
      { seed: 11, numRuns: 60 },
    );
  });

  it('does not merge a page a pipe holds, and leaves the pipe its data', () => {
    const { res, pfn } = run([
      ...setup([4, 4]),
      { P0: { pipe: 'p' } },
      { P0: { vmsplice: 'mem[0]', pipe: 'p' } },
      { P0: 'ksm-scan' },
      { P0: { 'read-pipe': 'p', expect: { sees: 3 } } },
    ]);
    expect(res.failures).toEqual([]);
    expect(pfn(0)).not.toBe(pfn(1));
  });
});

describe('COW of a KSM page', () => {
  const steps = [...setup([5, 5]), { P0: 'ksm-scan' }, { P0: { munmap: 'mem[1]' } }, { P0: { write: 'mem[0]' } }];
  it('copies from 5.9 on, though nothing else maps or holds the page', () => {
    const { res } = run(steps, 'linux-6.18');
    expect(res.metrics.copies).toBe(1);
  });
  it('reuses it in 5.1 .. 5.8 (reuse_ksm_page), which ends its KSM life', () => {
    const { res, ksm } = run(steps, 'linux-5.8');
    expect(res.metrics.copies).toBe(0);
    expect(ksm(0)).toBe(false);
  });
});

describe('MADV_UNMERGEABLE', () => {
  const steps = [...setup([6, 6]), { P0: 'ksm-scan' }, { P0: { madvise: 'mem', advice: 'unmergeable' } }, { P0: { write: 'mem' } }];
  it('up to 6.1 takes write faults: the copies are writable, so the next write takes none', () => {
    const { res, pfn } = run(steps, 'linux-6.1');
    expect(res.records.at(-1)!.faults).toBe(0);
    expect(pfn(0)).not.toBe(pfn(1));
  });
  it('from 6.2 takes unshare faults: the copies stay read-only', () => {
    const { res } = run(steps, 'linux-6.2');
    expect(res.records.at(-1)!.faults).toBe(2);
  });
});

describe('a KSM page left without a stable node', () => {
  // try_to_merge_two_pages() made it KSM in place while a fork child mapped it too, then break_cow() moved only
  // the scanning mm away: the child keeps it, no later page merges into it, and ksmd cannot merge it again
  it('stays KSM in the fork child, merged with nothing, whatever the number of equal pages', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5 }), fc.boolean(), (n, release) => {
        const steps = [
          ...setup(Array.from({ length: n }, () => 6)),
          { P0: { pipe: 'p' } },
          { P0: { vmsplice: 'mem[0]', pipe: 'p' } },
          { P0: { fork: 'P1' } },
          { P0: 'ksm-scan' },
          ...(release ? [{ P0: { 'read-pipe': 'p' } }, { P0: 'ksm-scan' }] : []),
        ];
        const sc = scenarioFromObject({ name: 't', processes: ['P0'], steps }, 'ksm.test.yaml');
        const r = resolveScenario(sc);
        const res = runScenario(r, profileById('linux-6.18'), { keepStates: true });
        expect(res.violations).toEqual([]);
        const last = res.records.at(-1)!.state;
        const start = r.regions[0]!.start;
        const at = (t: number, i: number) => pte_pfn(ptep_get(last, t, start + i));
        const parent = Array.from({ length: n }, (_, i) => at(0, i));
        const child = Array.from({ length: n }, (_, i) => at(1, i));
        if (!release) {
          // nothing merged: every parent page is a frame of its own, the child's (but the vmspliced one) are KSM
          expect(new Set(parent).size).toBe(n);
          for (let i = 1; i < n; i++) {
            expect(page_test(last, child[i]!, PGF_KSM), `child page ${i}`).toBe(true);
            expect(page_test(last, parent[i]!, PGF_KSM), `parent page ${i}`).toBe(false);
            expect(child[i]).not.toBe(parent[i]);
          }
        } else {
          // once the pipe lets go, the parent's pages merge among themselves; the child's orphans stay apart
          expect(new Set(parent).size).toBe(1);
          for (let i = 1; i < n; i++) expect(child[i]).not.toBe(parent[0]);
        }
      }),
      { seed: 5, numRuns: 20 },
    );
  });
});

describe('ksm_zero_pages of an mm (use_zero_pages, 6.5+)', () => {
  it('counts the dirty-marked zero PTEs ksmd left, whatever writes and unmaps follow', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(fc.constantFrom('write', 'munmap', 'unmergeable'), fc.nat(5)), { maxLength: 4 }),
        (values, after) => {
          const n = values.length;
          const later = after.map(([op, i]) => {
            const at = `mem[${i % n}]`;
            return { P0: op === 'write' ? { write: at } : op === 'munmap' ? { munmap: at } : { madvise: at, advice: 'unmergeable' } };
          });
          const steps = [...setup(values), { P0: 'ksm-scan' }, ...later];
          const { res } = run(steps, 'linux-6.18', { 'ksm-zero-pages': true });
          const scanned = res.records[steps.length - later.length - 1]!.state;
          const last = res.records.at(-1)!.state;
          const marked = (st: typeof last) => {
            let k = 0;
            for (let va = 0; va < st.L.geo.vpages; va++) {
              const pte = ptep_get(st, 0, va);
              if (pte_present(pte) && pte_pfn(pte) === ZERO_PFN && pte_dirty(pte)) k++;
            }
            return k;
          };
          expect(task_ksm_zero(scanned, 0)).toBe(values.filter((v) => v === 0).length);
          expect(task_ksm_zero(last, 0)).toBe(marked(last));
        },
      ),
      { seed: 12, numRuns: 80 },
    );
  });

  it('is not kept where KSM zero pages are not marked (up to 6.4)', () => {
    const { res } = run([...setup([0, 0]), { P0: 'ksm-scan' }], 'linux-6.3', { 'ksm-zero-pages': true });
    expect(task_ksm_zero(res.records.at(-1)!.state, 0)).toBe(0);
  });
});
