/**
 * mm/hugetlb.c in the model (src/kernel/mm/hugetlb.ts): the pool's
 * accounting under any sequence of operations, the mapcount reuse rule,
 * the owner's reservation and its stealing, the early copy at fork per era,
 * and what a scenario may not do on a hugetlb area. The shipped scenarios
 * (scenarios/hugetlb/, cow.c's hugetlb backing) run on every profile in
 * the matrix tests.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { scenarioFromObject } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';
import { PGF_HUGETLB } from '../../../src/model/layout.js';
import {
  hugetlb_pool,
  page_test,
  page_allocated,
  frames,
  folio_head,
  pmdp_get,
  vma_lookup_idx,
  vma_flags_at,
  VM_HRESV_UNMAPPED,
} from '../../../src/model/mm_types.js';
import { pmd_pfn, pmd_none } from '../../../src/model/pmd.js';
import { InputError } from '../../../src/scenario/errors.js';

const scenario = (steps: unknown[], pool: number, procs = ['P0'], overcommit = 0) =>
  resolveScenario(
    scenarioFromObject(
      { name: 't', env: { 'hugetlb-pages': pool, 'hugetlb-overcommit': overcommit }, processes: procs, steps },
      'hugetlb.test.yaml',
    ),
  );

function run(steps: unknown[], pool: number, kernel = 'linux-6.18') {
  const r = scenario(steps, pool);
  const res = runScenario(r, profileById(kernel), { keepStates: true, lenient: true });
  return { r, res, last: res.records.at(-1)!.state };
}

/** Hugetlb folios allocated in a state (heads with PGF_HUGETLB). */
function hugetlbFolios(s: Parameters<typeof hugetlb_pool>[0]): number {
  let n = 0;
  for (let pfn = 2; pfn < frames(s); pfn++) if (page_allocated(s, pfn) && folio_head(s, pfn) === pfn && page_test(s, pfn, PGF_HUGETLB)) n++;
  return n;
}

const PROCS = ['P0', 'P1', 'P2'];
/** A random step on two hugetlb areas `x` and `y` (one 2 MiB page each, private or shared), by one of three processes. */
const stepArb = fc
  .record({ op: fc.nat({ max: 10 }), p: fc.nat({ max: 2 }), area: fc.constantFrom('x', 'y'), flag: fc.boolean(), shared: fc.boolean() })
  .map(({ op, p, area, flag, shared }) => {
    const proc = PROCS[p]!;
    switch (op) {
      case 0:
        return {
          [proc]: { mmap: area, pages: 512, hugetlb: '2m', ...(flag ? { noreserve: true } : {}), ...(shared ? { shared: true } : {}) },
        };
      case 1:
      case 2:
        return { [proc]: { write: flag ? `${area}[0]` : area } };
      case 3:
        return { [proc]: { read: `${area}[1]` } };
      case 4:
        return { [proc]: { munmap: area } };
      case 5:
        return { [proc]: { mprotect: area, prot: flag ? 'r' : 'rw' } };
      case 6:
        return { [proc]: { vmsplice: `${area}[0:2]`, pipe: 'p' } };
      case 7:
        return { [proc]: { 'read-pipe': 'p' } };
      case 8:
        return { [proc]: { fork: 'CHILD' } };
      case 9:
        return { [proc]: { madvise: flag ? `${area}[0]` : area, advice: 'dontneed' } };
      default:
        return { [proc]: 'exit' };
    }
  });

/** Makes random steps a valid scenario: P0 maps both areas and forks P1 and P2 first, each fork names a new child, nobody acts after its exit. */
function assemble(raw: Record<string, unknown>[]): unknown[] {
  const steps: unknown[] = [
    { P0: { mmap: 'x', pages: 512, hugetlb: '2m' } },
    { P0: { mmap: 'y', pages: 512, hugetlb: '2m', noreserve: true } },
    { P0: { pipe: 'p' } },
    { P0: { fork: 'P1' } },
    { P0: { fork: 'P2' } },
  ];
  const alive = new Set(PROCS);
  let forks = 0;
  for (const st of raw) {
    const [proc, body] = Object.entries(st)[0]!;
    if (!alive.has(proc)) continue;
    if (body === 'exit') {
      if (proc === 'P0') continue;
      alive.delete(proc);
    }
    if (typeof body === 'object' && body && 'fork' in body) {
      const child = `C${forks++}`;
      alive.add(child);
      steps.push({ [proc]: { fork: child } });
      continue;
    }
    steps.push({ [proc]: body });
  }
  // everyone but P0 exits, P0 empties the pipe and unmaps both areas: the pool must be whole again
  for (const p of alive) if (p !== 'P0') steps.push({ [p]: 'exit' });
  steps.push({ P0: { 'read-pipe': 'p' } }, { P0: { 'read-pipe': 'p' } }, { P0: { munmap: 'x' } }, { P0: { munmap: 'y' } });
  return steps;
}

describe('the hugetlb pool', () => {
  it('accounts for every page under any sequence: free + in use = nr, surplus within the overcommit, never below zero, all back at the end', () => {
    for (const kernel of ['linux-5.11', 'linux-5.18', 'linux-6.1', 'linux-6.18']) {
      fc.assert(
        fc.property(
          fc.array(stepArb, { maxLength: 14 }),
          fc.integer({ min: 0, max: 3 }),
          fc.integer({ min: 0, max: 2 }),
          (raw, pool, overcommit) => {
            const steps = assemble(raw);
            const r = scenario(steps, pool, ['P0'], overcommit);
            const res = runScenario(r, profileById(kernel), { keepStates: true, lenient: true });
            expect(res.violations.filter((v) => v.property === 'model-invariant')).toEqual([]);
            for (const rec of res.records) {
              const p = hugetlb_pool(rec.state);
              // the pool is what the machine was given plus its surplus pages, never more than allowed
              expect(p.nr).toBe(pool + p.surplus);
              expect(p.surplus).toBeGreaterThanOrEqual(0);
              expect(p.surplus).toBeLessThanOrEqual(overcommit);
              expect(p.free).toBeGreaterThanOrEqual(0);
              expect(p.free + hugetlbFolios(rec.state)).toBe(p.nr);
              // a reservation holds a free page; only df7a6d1f6405's restore lends one ahead of the free
              if (!profileById(kernel).mech.hugetlb.restoreReserve) expect(p.resv).toBeGreaterThanOrEqual(0);
              expect(p.resv).toBeLessThanOrEqual(p.free);
            }
            expect(hugetlb_pool(res.records.at(-1)!.state)).toEqual({ nr: pool, free: pool, resv: 0, surplus: 0, overcommit });
          },
        ),
        { seed: 3, numRuns: 25 },
      );
    }
  });
});

describe('hugetlb_wp', () => {
  const leak = [
    { P0: { mmap: 'mem', pages: 512, hugetlb: '2m' } },
    { P0: { write: 'mem', label: 'init' } },
    { P0: { fork: 'C' } },
    { C: { pipe: 'p' } },
    { C: { vmsplice: 'mem[0]', pipe: 'p' } },
    { C: { munmap: 'mem' } },
    { P0: { write: 'mem[0]', label: 'mod' } },
    { C: { 'read-pipe': 'p', expect: { sees: 'init' } } },
  ];
  it('reuses a page mapped once whatever references a pipe holds, in every era but 5.8', () => {
    for (const kernel of ['linux-4.8', 'linux-5.7', 'linux-5.9', 'linux-5.19', 'linux-6.18', 'hubbard-split']) {
      const { res } = run(leak, 2, kernel);
      expect(
        res.violations.some((v) => v.property === 'no-leak'),
        kernel,
      ).toBe(true);
    }
    // 5.8: the child's vmsplice (a GUP) breaks COW first, so the pipe holds the child's own copy
    expect(run(leak, 2, 'linux-5.8').res.violations).toEqual([]);
  });

  it('lets the owner take its page back from a child when the pool is empty', () => {
    const { r, last, res } = run(
      [{ P0: { mmap: 'mem', pages: 512, hugetlb: '2m' } }, { P0: { write: 'mem' } }, { P0: { fork: 'C' } }, { P0: { write: 'mem[0]' } }],
      1,
    );
    expect(res.failures).toEqual([]);
    const start = r.regions[0]!.start;
    const child = r.tasks.indexOf('C');
    expect(pmd_none(pmdp_get(last, child, start))).toBe(true);
    expect(vma_flags_at(last, child, vma_lookup_idx(last, child, start)) & VM_HRESV_UNMAPPED).not.toBe(0);
    expect(hugetlb_pool(last)).toEqual({ nr: 1, free: 0, resv: 0, surplus: 0, overcommit: 0 });
  });
});

describe('copy_hugetlb_page_range', () => {
  const pinned = [
    { P0: { mmap: 'mem', pages: 512, hugetlb: '2m' } },
    { P0: { write: 'mem' } },
    { P0: 'io-uring-setup' },
    { P0: { 'io-uring-register': 'mem' } },
    { P0: { fork: 'C' } },
  ];
  it('shares a pinned page up to 5.11 and copies it for the child from 5.12 (the 5.18 profile on)', () => {
    for (const [kernel, copies] of [
      ['linux-5.11', false],
      ['debian-5.10', false],
      ['linux-5.18', true],
      ['linux-5.19', true],
      ['linux-6.18', true],
    ] as const) {
      const { r, last } = run(pinned, 2, kernel);
      const start = r.regions[0]!.start;
      const same = pmd_pfn(pmdp_get(last, 0, start)) === pmd_pfn(pmdp_get(last, r.tasks.indexOf('C'), start));
      expect(same, kernel).toBe(!copies);
    }
  });

  it('fails fork with ENOMEM when the copy finds no page', () => {
    const { res } = run([...pinned.slice(0, 4), { P0: { fork: 'C', expect: { errno: 'ENOMEM' } } }], 1);
    expect(res.failures).toEqual([]);
  });
});

describe('MADV_DONTNEED on hugetlb (hugetlb.madvDontneed)', () => {
  const base = [{ P0: { mmap: 'mem', pages: 512, hugetlb: '2m' } }, { P0: { write: 'mem' } }];
  it('is EINVAL before 5.18 and off a huge page; rounds the end up in 5.18 and down from 6.1', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 511 }),
        fc.integer({ min: 1, max: 512 }),
        fc.constantFrom('linux-5.11', 'linux-5.18', 'linux-6.1', 'linux-6.18'),
        (from, len, kernel) => {
          const n = Math.min(len, 512 - from);
          const mode = profileById(kernel).mech.hugetlb.madvDontneed;
          const einval = mode === 'einval' || from !== 0;
          const zaps = !einval && (mode === 'align-up' || n === 512);
          const { res } = run(
            [
              ...base,
              { P0: { madvise: `mem[${from}:${from + n}]`, advice: 'dontneed', expect: einval ? { errno: 'EINVAL' } : { ret: 0 } } },
              { P0: { read: 'mem[0]', expect: { faults: zaps ? 1 : 0 } } },
            ],
            1,
            kernel,
          );
          expect(res.failures, JSON.stringify({ from, n, kernel })).toEqual([]);
        },
      ),
      { seed: 8, numRuns: 60 },
    );
  });
});

describe('FOLL_FORCE writes into a read-only private hugetlb VMA (hugetlb.forceWrite)', () => {
  // whatever the page's sharing (a fork child alive or gone, a pipe reference): the era decides
  it('are refused (6.2 to 6.13), leave the entry read-only (6.14+), or leave it writable (before 6.2)', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom('linux-5.11', 'linux-6.1', 'linux-6.2', 'linux-6.13', 'linux-6.15', 'linux-6.18', 'debian-6.1'),
        (childLives, spliced, kernel) => {
          const mode = profileById(kernel).mech.hugetlb.forceWrite;
          const { res } = run(
            [
              { P0: { mmap: 'mem', pages: 512, hugetlb: '2m' } },
              { P0: { write: 'mem', label: 'init' } },
              { P0: { fork: 'C' } },
              ...(childLives ? [] : [{ C: 'exit' }]),
              ...(spliced ? [{ P0: { pipe: 'p' } }, { P0: { vmsplice: 'mem[1]', pipe: 'p' } }] : []),
              { P0: { mprotect: 'mem', prot: 'r' } },
              { P0: { 'proc-mem-write': 'mem[1]', target: 'P0', label: 'poke', expect: mode === 'refused' ? { errno: 'EIO' } : {} } },
              { P0: { read: 'mem[1]', expect: { sees: mode === 'refused' ? 'init' : 'poke' } } },
              { P0: { write: 'mem[2]', expect: mode === 'fake-write' ? {} : { signal: 'SIGSEGV' } } },
            ],
            2,
            kernel,
          );
          expect(res.failures, JSON.stringify({ childLives, spliced, kernel })).toEqual([]);
        },
      ),
      { seed: 14, numRuns: 40 },
    );
  });
});

describe('scenarios on hugetlb areas', () => {
  it('refuses an operation whose path is not modelled there, naming the area', () => {
    expect(() =>
      scenario(
        [{ P0: { mmap: 'mem', pages: 512, hugetlb: '2m' } }, { P0: { mprotect: 'mem', prot: 'r' } }, { P0: { 'uffd-register': 'mem' } }],
        1,
      ),
    ).toThrow(/not modelled on hugetlb areas \(mem/);
    // every madvise advice is modelled there (most of it as the kernel's EINVAL)
    expect(() =>
      scenario([{ P0: { mmap: 'mem', pages: 512, hugetlb: '2m' } }, { P0: { madvise: 'mem', advice: 'dontfork' } }], 1),
    ).not.toThrow();
  });

  it('answers madvise() there as madvise_vma_behavior() does: EINVAL, ignored, or a flag change on whole huge pages', () => {
    const ret = (advice: string, at = 'mem') =>
      run([{ P0: { mmap: 'mem', pages: 512, hugetlb: '2m' } }, { P0: { madvise: at, advice } }], 1).res.records[1]!.result.ret;
    const EINVAL = -22;
    // can_madv_lru_vma(), the hugetlbfs file behind MAP_HUGETLB, and no THP order on hugetlbfs
    for (const a of ['pageout', 'cold', 'wipeonfork', 'collapse']) expect(ret(a), a).toBe(EINVAL);
    // vma_ksm_compatible() leaves the VMA alone
    expect(ret('mergeable')).toBe(0);
    // a flag change splits the VMA: on a huge-page boundary only (hugetlb_vm_op_split())
    expect(ret('dontfork')).toBe(0);
    expect(ret('dontfork', 'mem[0:100]')).toBe(EINVAL);
    // no change, no split: accepted anywhere
    expect(ret('dofork', 'mem[0:100]')).toBe(0);
  });

  it('refuses an area that is not a whole number of huge pages', () => {
    expect(() => scenario([{ P0: { mmap: 'mem', pages: 100, hugetlb: '2m' } }], 1)).toThrow(InputError);
  });
});

describe('1 GiB pages (the PUD level)', () => {
  // a model-only geometry: pmd-order 2 makes a "2 MiB" page 4 pages and a "1 GiB" page 16 (512 PMDs become 4)
  const scaled = (raw: Record<string, unknown>[], gigantic: boolean, pool: number) => {
    const nr = gigantic ? 16 : 4;
    const steps = assemble(raw).map((st) => {
      const [proc, body] = Object.entries(st as Record<string, unknown>)[0]!;
      if (typeof body !== 'object' || body === null || !('hugetlb' in body)) return st;
      return { [proc]: { ...body, pages: nr, hugetlb: gigantic ? '1g' : '2m' } };
    });
    const env = gigantic ? { 'hugetlb-1g-pages': pool } : { 'hugetlb-pages': pool };
    return resolveScenario(scenarioFromObject({ name: 't', 'pmd-order': 2, env, processes: ['P0'], steps }, 'hugetlb-1g.test.yaml'));
  };

  it('decide as 2 MiB pages do, step for step, with their own pool (any sequence, four eras)', () => {
    for (const kernel of ['linux-5.11', 'linux-5.18', 'linux-6.1', 'linux-6.18']) {
      fc.assert(
        fc.property(fc.array(stepArb, { maxLength: 14 }), fc.integer({ min: 0, max: 3 }), (raw, pool) => {
          const small = runScenario(scaled(raw, false, pool), profileById(kernel), { keepStates: true, lenient: true });
          const big = runScenario(scaled(raw, true, pool), profileById(kernel), { keepStates: true, lenient: true });
          expect(big.violations.filter((v) => v.property === 'model-invariant')).toEqual([]);
          expect(big.records.length).toBe(small.records.length);
          small.records.forEach((a, i) => {
            const b = big.records[i]!;
            // (pages done differ: a whole area is 16 pages against 4)
            const verdict = (x: typeof a) => [x.op, x.result.ret, x.result.signal, x.faults];
            expect(verdict(b), `step ${i + 1}`).toEqual(verdict(a));
            // the 1 GiB run uses the PUD pool only, and it moves as the 2 MiB run's pool does
            expect(hugetlb_pool(b.state, 1), `step ${i + 1}`).toEqual(hugetlb_pool(a.state, 0));
            expect(hugetlb_pool(b.state, 0).nr).toBe(0);
          });
        }),
        { numRuns: 40, seed: 1103 },
      );
    }
  });

  it('are whole, aligned, and only where the model can keep their reservations; more than 2048 pages only for them', () => {
    const resolve = (steps: unknown[], env: Record<string, number> = { 'hugetlb-1g-pages': 1 }) =>
      resolveScenario(scenarioFromObject({ name: 't', env, processes: ['P0'], steps }, 'g.yaml'));
    expect(() => resolve([{ P0: { mmap: 'x', pages: 1000, hugetlb: '1g' } }])).toThrow(
      /not a whole number of huge pages \(262144 pages each\)/,
    );
    const r = resolve([{ P0: { mmap: 'a', pages: 3 } }, { P0: { mmap: 'x', pages: 262144, hugetlb: '1g' } }]);
    expect(r.regions.find((g) => g.name === 'x')!.start % 262144).toBe(0);
    expect(r.needs).toContain('hugetlb-1g');
    expect(() => resolve([{ P0: { mmap: 'a', pages: 4096 } }])).toThrow(
      /pages: Too big: expected number to be <=2048 \(the executor's limit; more only for hugetlb: 1g\)/,
    );
    // a 2 MiB area after a 1 GiB one would sit past the 32 huge pages whose reservations the model keeps
    expect(() =>
      resolve([{ P0: { mmap: 'x', pages: 262144, hugetlb: '1g' } }, { P0: { mmap: 'h', pages: 512, hugetlb: '2m' } }], {
        'hugetlb-1g-pages': 1,
        'hugetlb-pages': 1,
      }),
    ).toThrow(/hugetlb region h ends at page \d+: the model tracks hugetlb reservations for the first 32 huge pages/);
  });

  it('never get a surplus page: a gigantic hstate cannot grow beyond its pool', () => {
    // the child's copy needs a second page; with 2 MiB pages an overcommit of 1 gives it one
    const steps = [
      { P0: { mmap: 'x', pages: 16, hugetlb: '1g' } },
      { P0: { write: 'x' } },
      { P0: { fork: 'P1' } },
      { P1: { write: 'x[0]' } },
    ];
    const r = resolveScenario(
      scenarioFromObject({ name: 't', 'pmd-order': 2, env: { 'hugetlb-1g-pages': 1 }, processes: ['P0'], steps }, 'g.yaml'),
    );
    const res = runScenario(r, profileById('linux-6.18'), { keepStates: true, lenient: true });
    expect(res.records[3]!.result).toMatchObject({ signal: 'SIGBUS' });
    expect(hugetlb_pool(res.records[3]!.state, 1)).toMatchObject({ nr: 1, free: 0, surplus: 0 });
  });
});
