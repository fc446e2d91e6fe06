/**
 * The threads' TLB entries (src/kernel/arch/x86/mm/tlb.ts), the deferred
 * flush of UFFDIO_WRITEPROTECT and the COW copy window, through scenarios.
 */
import { describe, it, expect } from 'vitest';
import { parseScenario } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';
import { checkInvariants } from '../../../src/model/invariants.js';

const run = (yaml: string, kernel: string) =>
  runScenario(resolveScenario(parseScenario(yaml, 't.yaml')), profileById(kernel), { trace: true });

/** One page registered for uffd-wp, threads T1 and T2; T2 has stored to it (its CPU caches the entry). */
const head = `processes: [P]
steps:
  - P: {mmap: buf, pages: 1}
  - P: uffd
  - P: {uffd-register: buf}
  - P: {thread: T1}
  - P: {thread: T2}
  - T2: {write: buf, label: first}
`;

const fails = (r: ReturnType<typeof run>) => [
  ...r.violations.map((v) => `${v.property}@${v.step}`),
  ...r.failures.map((f) => `expect@${f.step}`),
];
const rec = (r: ReturnType<typeof run>, step: number) => r.records.find((x) => x.index === step)!;

describe('TLB entries and deferred flushes', () => {
  it('a store through an entry the deferred flush has not dropped yet takes no fault, even on a write-protected page', () => {
    const r = run(
      `${head}  - P: {uffd-wp: buf, stop: deferred-flush}
  - T2: {write: buf, expect: {faults: 0, uffd-faults: 0}}
  - P: resume
  - T2: {write: buf, expect: {faults: 1, uffd-faults: 1}}
`,
      'linux-6.18',
    );
    expect(r.failures).toEqual([]);
    expect(fails(r)).toEqual([]);
    expect(rec(r, 8).path.some((e) => e.fn === 'tlb')).toBe(true);
  });

  it('a flush the operation does not defer drops the entry at once', () => {
    const r = run(
      `${head}  - P: {uffd-wp: buf}
  - T2: {write: buf, expect: {faults: 1, uffd-faults: 1}}
  - P: {uffd-unwp: buf, stop: deferred-flush}
  - P: resume
`,
      'linux-6.18',
    );
    expect(r.failures).toEqual([]);
  });

  it("Nadav Amit's race: lost on 5.9, flushed before the copy from 5.12 (linux-5.18 stands for it)", () => {
    const race = `${head}  - P: {pipe: p}
  - P: {vmsplice: buf, pipe: p}
  - P: {uffd-unwp: buf, stop: deferred-flush}
  - T1: {write: buf, label: t1, stop: cow-copy}
  - T2: {write: buf, label: second}
  - T1: resume
  - P: resume
`;
    const old = run(race, 'linux-5.9');
    expect(fails(old)).toEqual(['no-lost-write@12']);
    // on 5.18 do_wp_page() flushed T2's entry before copying: its store faults, copies and maps its page;
    // T1's copy finds the PTE changed and is dropped, and its store faults again
    const fixed = run(race, 'linux-5.18');
    expect(fails(fixed)).toEqual([]);
    expect(rec(fixed, 10).path.map((e) => e.note)).toContain('uffd-wp VMA with a TLB flush pending: flush_tlb_page() before copying');
    expect(rec(fixed, 11).faults).toBe(1);
    expect(
      rec(fixed, 12)
        .path.map((e) => e.note)
        .join('\n'),
    ).toMatch(/the PTE changed since the fault read it/);
  });

  it('clear_refs under mmap_lock for read loses the store on 5.9; from 5.11 the fault waits for its flush', () => {
    const race = `processes: [P]
steps:
  - P: {mmap: buf, pages: 1}
  - P: {thread: T1}
  - P: {thread: T2}
  - T2: {write: buf}
  - P: {pipe: p}
  - P: {vmsplice: buf, pipe: p}
  - P: {clear-refs: 4, stop: deferred-flush}
  - T1: {write: buf, stop: cow-copy}
  - T2: {write: buf}
  - T1: resume
  - P: resume
`;
    expect(fails(run(race, 'linux-5.9'))).toEqual(['no-lost-write@10']);
    const fixed = run(race, 'linux-5.11');
    expect(fails(fixed)).toEqual([]);
    // T1's fault waits for the write lock clear_refs holds, and runs after its resume (step 11)
    expect(rec(fixed, 8).waited?.after).toBe(11);
  });

  it('the swap-cache-skip race: the stale page maps on 5.9 and debian-5.10; from 6.8 the second fault waits for the first', () => {
    const race = `processes: [P]
env: {swap: sync-io}
steps:
  - P: {mmap: buf, pages: 1}
  - P: {write: buf}
  - P: {thread: T0}
  - P: {thread: T1}
  - P: {madvise: buf, advice: pageout}
  - T0: {write: buf, stop: swapin}
  - T1: {write: buf}
  - P: {madvise: buf, advice: pageout}
  - T0: resume
`;
    for (const k of ['linux-5.9', 'debian-5.10']) expect(fails(run(race, k))).toEqual(['no-lost-write@9']);
    for (const k of ['linux-6.8', 'debian-6.1']) {
      const fixed = run(race, k);
      expect(fails(fixed)).toEqual([]);
      // swapcache_prepare() fails for T1 until T0 has mapped its page
      expect(rec(fixed, 7).waited?.after).toBe(9);
    }
    // before 0bcac06f27d7 (4.15) every swap-in goes through the swap cache: nothing to race
    expect(fails(run(race, 'linux-4.8'))).toEqual([]);
  });

  it('exit ends a COW copy and a UFFDIO_WRITEPROTECT its threads stopped in, holding nothing after', () => {
    const r = run(
      `${head}  - P: {pipe: p}
  - P: {vmsplice: buf, pipe: p}
  - T2: {uffd-unwp: buf, stop: deferred-flush}
  - T1: {write: buf, stop: cow-copy}
  - P: exit
`,
      'linux-5.9',
    );
    expect(r.failures).toEqual([]);
    const s = r.records.at(-1)!.state;
    expect(checkInvariants(s, { exclusiveMarker: false, pinRefs: 1, largePinCount: false })).toEqual([]);
  });

  it('stop: cow-copy is for a store of one page', () => {
    expect(() =>
      resolveScenario(parseScenario(`processes: [P]\nsteps:\n  - P: {mmap: b, pages: 2}\n  - P: {write: b, stop: cow-copy}\n`, 't.yaml')),
    ).toThrow(/one page/);
  });
});

/** Threads A, B, C over one page; C has stored to it (its CPU caches the entry); A's MADV_DONTNEED stops before its flush. */
const zapHead = `processes: [P]
steps:
  - P: {mmap: buf, pages: 1}
  - P: {thread: A}
  - P: {thread: B}
  - P: {thread: C}
  - C: {write: buf, label: cached}
  - A: {madvise: buf, advice: dontneed, stop: zap-flush}
`;

describe('MADV_DONTNEED between its zap and its flush (zap-flush)', () => {
  it('4.8: a second MADV_DONTNEED finds the PTE none, flushes nothing and returns while C still translates the page', () => {
    const r = run(`${zapHead}  - B: {madvise: buf, advice: dontneed}\n  - A: resume\n`, 'linux-4.8');
    expect(fails(r)).toEqual(['no-stale-tlb@7']);
    expect(r.violations[0]!.message).toMatch(/MADV_DONTNEED of buf returned while thread C's CPU still translates it/);
  });

  it('from 4.13 its tlb_finish_mmu() sees the other gather and flushes the range anyway', () => {
    const r = run(
      `${zapHead}  - B: {madvise: buf, advice: dontneed}\n  - C: {write: buf, expect: {faults: 1}}\n  - A: resume\n`,
      'linux-4.14',
    );
    expect(fails(r)).toEqual([]);
    expect(rec(r, 7).path.map((p) => p.fn)).toContain('tlb_finish_mmu');
  });

  it('the zap holds the page until its flush: a store through C stale entry reaches it, and the resume frees it', () => {
    const r = run(
      `${zapHead}  - C: {write: buf, label: late, expect: {faults: 0}}\n  - A: resume\n  - C: {read: buf, expect: {sees: zero}}\n`,
      'linux-6.18',
    );
    expect(fails(r)).toEqual([]);
    // the gathered page is counted (the invariants hold at every step) and freed at the resume
    for (const x of r.records) expect(checkInvariants(x.state, { exclusiveMarker: true, pinRefs: 1024, largePinCount: true })).toEqual([]);
    expect(rec(r, 8).path.map((p) => p.fn)).toContain('flush_tlb_range');
  });

  it('an exit while the zap is stopped finishes it first', () => {
    const r = run(`${zapHead}  - P: exit\n`, 'linux-6.18');
    expect(fails(r)).toEqual([]);
  });
});
