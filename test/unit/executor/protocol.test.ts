/** The executor protocol's TypeScript side: CAPS, M lines (old and new), ENV requests, grouping by environment. */
import { describe, it, expect } from 'vitest';
import { parseCaps, parseOutput, envRequest, envBlocker, type Caps } from '../../../src/executor/server.js';
import { DEFAULT_ENV, withEnv } from '../../../src/profiles/env.js';
import { groupByEnv, envKey } from '../../../src/diff/run.js';

const HOST =
  'C root=1 kpagecount=1 gup_test=0 io_uring=1 uffd=1 swap=1 soft_dirty=0 pagemap_uffd_wp=1 zero_page=0 thp=1 thp_sizes=16,32,64,128,256,512,1024,2048 pagemap_scan=1';

describe('CAPS', () => {
  it('reads the THP fields', () => {
    const c = parseCaps(HOST);
    expect(c).toMatchObject({ root: true, zeroPage: false, thp: true, pagemapScan: true });
    expect(c.thpSizes).toEqual([16, 32, 64, 128, 256, 512, 1024, 2048]);
  });
  it('an older executor or kernel: no THP settings, no sizes, no PAGEMAP_SCAN', () => {
    const c = parseCaps('C root=1 kpagecount=1 gup_test=0 io_uring=1 uffd=1 swap=1 soft_dirty=1 pagemap_uffd_wp=1');
    expect(c).toMatchObject({ thp: false, thpSizes: [], pagemapScan: false, zeroPage: true });
    expect(parseCaps('C root=1 thp=1 thp_sizes= pagemap_scan=0')).toMatchObject({ thp: true, thpSizes: [], pagemapScan: false });
  });
});

describe('M lines', () => {
  it('carry huge, head and nr', () => {
    const r = parseOutput(['M 3 0 512 810000000016a201 1 400415828 1 16a200 512', 'END ok']);
    expect(r.pages.get(3)!.get('0:512')).toEqual({
      entry: 0x810000000016a201n,
      count: 1,
      flags: 0x400415828n,
      huge: 1,
      head: 0x16a200n,
      nr: 512,
    });
  });
  it('of an older executor parse with the folio unknown', () => {
    const r = parseOutput(['M 2 0 1 8180000000002aa5 1 400005828', 'END ok']);
    expect(r.pages.get(2)!.get('0:1')).toMatchObject({ huge: -1, head: 0n, nr: 0 });
  });
});

describe('B lines', () => {
  it("carry the kernel's own reclaim and compaction during the program", () => {
    const r = parseOutput(['P 1 0 0 0 1 0 -1 0', 'B pgscan_kswapd=12 compact_stall=1', 'END ok']);
    expect(r.background).toEqual({ pgscan_kswapd: 12, compact_stall: 1 });
    expect(r.steps.get(1)).toMatchObject({ faults: 1, uffdFaults: 0, ksm: -1, data: [] });
    expect(parseOutput(['END ok']).background).toBeUndefined();
  });
});

describe('garbled answers (a guest console that dropped characters)', () => {
  it('a line that is not what the executor prints makes the answer an error instead of throwing', () => {
    // what a debian-5.10 guest printed under load: an M line run into the END line after it
    const r = parseOutput(['P 1 0 0 0 1 0 -1 0', 'M 1 0 1 8180000000002aa5 1 400005828 0 411END ok']);
    expect(r.status).toBe('error');
    expect(r.garbled).toBe('M 1 0 1 8180000000002aa5 1 400005828 0 411END ok');
    expect(r.messages[0]).toMatch(/^garbled line in the executor's answer: M 1 0 1/);
    expect(parseOutput(['P 1 0 0 0 1 0 -1 2 5', 'END ok']).garbled).toBe('P 1 0 0 0 1 0 -1 2 5');
    expect(parseOutput(['P 1 0 0 0 1 0 -1 0', 'END okk']).status).toBe('error');
  });
  it('well-formed answers are not garbled', () => {
    const r = parseOutput(['P 1 0 0 0 1 0 -1 1 7', 'M 1 0 1 8180000000002aa5 1 400005828', 'H 1 2 -1', 'END ok']);
    expect(r.garbled).toBeUndefined();
    expect(r.status).toBe('ok');
  });
});

describe('Z lines', () => {
  it("carry the acting process's ksm_zero_pages to its step", () => {
    const r = parseOutput(['P 1 0 0 0 1 0 2 0', 'Z 1 3', 'P 2 0 0 0 0 0 2 0', 'END ok']);
    expect(r.garbled).toBeUndefined();
    expect(r.steps.get(1)!.ksmZero).toBe(3);
    expect(r.steps.get(2)!.ksmZero).toBeUndefined();
    expect(parseOutput(['P 1 0 0 0 1 0 2 0', 'Z 1', 'END ok']).garbled).toBe('Z 1');
  });
});

describe('X lines', () => {
  it('an environment the program could not get makes it an environment failure (diff skips it), any other X line an error', () => {
    const env = parseOutput([
      'X env: the 2 MiB hugetlb pool has 2 free huge page(s), not 3 (memory too fragmented, or pages in use)',
      'END error',
    ]);
    expect(env.envError).toMatch(/^the 2 MiB hugetlb pool has 2 free/);
    const other = parseOutput(['X cannot create a scratch directory in /tmp: No space left on device', 'END error']);
    expect(other.envError).toBeUndefined();
    expect(other.messages).toEqual(['cannot create a scratch directory in /tmp: No space left on device']);
  });
});

describe('ENV requests', () => {
  const host = parseCaps(HOST);
  const old: Caps = { ...host, thpSizes: [] }; // before 6.8: no per-size modes
  it('name the global mode, every size the machine has (never unless set) and the huge zero page', () => {
    expect(envRequest(withEnv(DEFAULT_ENV, { thpSizes: { '64': 'always' } }), host)).toBe(
      'ENV thp=madvise thp_16=never thp_32=never thp_64=always thp_128=never thp_256=never thp_512=never thp_1024=never thp_2048=inherit use_zero_page=1 khugepaged_sleep=3600000',
    );
    expect(envRequest(withEnv(DEFAULT_ENV, { thp: 'always', hugeZeroPage: false }), old)).toBe(
      'ENV thp=always use_zero_page=0 khugepaged_sleep=3600000',
    );
  });
  it('refuse what the machine cannot have', () => {
    expect(envBlocker(withEnv(DEFAULT_ENV, { thpSizes: { '8': 'always' } }), host)).toMatch(/no hugepages-8kB/);
    expect(envBlocker(withEnv(DEFAULT_ENV, { thpSizes: { '64': 'never' } }), old)).toBeNull();
    expect(envBlocker(withEnv(DEFAULT_ENV, { thpSizes: { '2048': 'never' } }), old)).toMatch(/before 6\.8/);
    expect(envBlocker(DEFAULT_ENV, { ...host, thp: false })).toMatch(/cannot be set/);
    expect(() => envRequest(withEnv(DEFAULT_ENV, { thpSizes: { '64': 'always' } }), old)).toThrow(/no hugepages-64kB/);
  });
  it('programs group by environment, in order of first appearance', () => {
    const a = withEnv(DEFAULT_ENV, {});
    const b = withEnv(DEFAULT_ENV, { thpSizes: { '64': 'always' } });
    const g = groupByEnv([a, b, null, { ...a }, b].map((env) => ({ program: [], env })));
    expect(g.map((x) => x.indices)).toEqual([[0, 3], [1, 4], [2]]);
    // the order sizes were named in does not matter
    expect(envKey(withEnv(DEFAULT_ENV, { thpSizes: { '64': 'always', '16': 'never' } }))).toBe(
      envKey(withEnv(DEFAULT_ENV, { thpSizes: { '16': 'never', '64': 'always' } })),
    );
  });
});
