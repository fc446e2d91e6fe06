import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
// the built model (npm test builds first): these tests run it some 40,000 times, about 4.5 times faster as
// plain Node modules than through vitest's module transform (vitest.config.ts)
import { parseScenario } from '../../../dist/scenario/parse.js';
import { resolveScenario } from '../../../dist/scenario/resolve.js';
import { loadScenarios } from '../../../dist/scenario/load.js';
import { buildMatrix } from '../../../dist/matrix/matrix.js';
import { PROFILES, MATRIX_PROFILES, HISTORY, PROPOSALS, profileById } from '../../../dist/profiles/index.js';
import { derive } from '../../../dist/profiles/derive.js';
import { expectedOutcome } from '../../../dist/matrix/expect.js';
import { profileLacks } from '../../../dist/profiles/support.js';

const scenario = (yaml: string) => resolveScenario(parseScenario(yaml, 'inline.yaml'));

// cow.c's 1 GiB instances cost about half a second a cell: here they run on the profiles where their
// verdicts differ most (below: the page_count rule, 6.18, and the split counts); `cowlab matrix` (CI) runs
// them on every profile and fails on an undocumented cell
const gigantic = (r: { sc: { name: string } }) => /@(memfd-)?hugetlb-1g$/.test(r.sc.name);
const documented = loadScenarios(['scenarios/cow-selftest', 'scenarios/cve', 'scenarios/history']).filter((r) => !gigantic(r));
const all = loadScenarios(['scenarios']);

describe('the documented history', () => {
  const m = buildMatrix(
    all.filter((r) => !gigantic(r)),
    MATRIX_PROFILES,
    PROFILES,
  );

  it("cow.c's 1 GiB instances give their 2 MiB twin's verdict, as documented, where the eras part", () => {
    const big = all.filter(gigantic);
    expect(big).toHaveLength(17);
    const some = ['linux-5.9', 'linux-6.18', 'hubbard-split'].map((k) => profileById(k));
    const g = buildMatrix(big, some, PROFILES);
    const twins = buildMatrix(
      all.filter((r) => big.some((b) => b.sc.name.replace(/1g$/, '2m') === r.sc.name)),
      some,
      PROFILES,
    );
    const verdicts = (x: typeof g) =>
      x.scenarios.map((r) => `${r.scenario.replace(/1g$/, '2m')}: ${some.map((p) => r.cells[p.id]!.verdict).join(' ')}`);
    expect(verdicts(g)).toEqual(verdicts(twins));
    for (const p of some) expect(g.totals[p.id]!.unexpected, p.id).toBe(0);
  }, 600_000);

  it('every cell a scenario documents is what the model does', () => {
    const odd = m.scenarios.flatMap((r) =>
      m.kernels
        .filter((k) => r.cells[k]!.unexpected)
        .map(
          (k) =>
            `${r.scenario} on ${k}: ${r.cells[k]!.verdict} ${r.cells[k]!.property ?? ''}@${r.cells[k]!.step ?? ''} ${r.cells[k]!.message ?? ''}`,
        ),
    );
    expect(odd).toEqual([]);
  });

  it('every history, selftest and CVE scenario documents every built-in profile it can run on', () => {
    const missing: string[] = [];
    for (const r of documented) {
      for (const p of MATRIX_PROFILES)
        if (!profileLacks(p, r) && !expectedOutcome(r.sc, p, PROFILES)) missing.push(`${r.sc.name} on ${p.id}`);
    }
    expect(missing).toEqual([]);
  });

  it('reproduces kernel-history.md 4.2 headline cells', () => {
    const cell = (sc: string, k: string) => m.scenarios.find((r) => r.scenario === sc)!.cells[k]!;
    expect(cell('cve-2020-29374-vmsplice-child', 'linux-5.7').verdict).toBe('expected-fail');
    expect(cell('cve-2020-29374-vmsplice-child', 'linux-5.7').property).toBe('no-leak');
    expect(cell('cve-2020-29374-vmsplice-child', 'linux-5.8').verdict).toBe('pass');
    expect(cell('iouring-fork@base', 'linux-5.8').property).toBe('pin-coherent');
    expect(cell('iouring-fork@base', 'linux-5.9').verdict).toBe('pass');
    expect(cell('ro-pin-exclusive@base', 'linux-5.18').verdict).toBe('expected-fail');
    expect(cell('ro-pin-exclusive@base', 'linux-5.19').verdict).toBe('pass');
    expect(cell('ro-longterm-pin@memfd', 'linux-6.0').verdict).toBe('expected-fail');
    expect(cell('ro-longterm-pin@memfd', 'linux-6.2').verdict).toBe('pass');
    expect(cell('dirty-cow', 'linux-4.8').property).toBe('private-file-integrity');
    expect(cell('gup-fast-fork-race', 'linux-5.9').verdict).toBe('expected-fail');
    expect(cell('gup-fast-fork-race', 'linux-5.11').verdict).toBe('pass');
  });

  it('counts needless copies where transient references meet the page_count rule (base pages)', () => {
    // large folios copy pages nobody observes by design (below), and so does KSM (a merged page is
    // copied on a write, and ksmd undoes a half-made merge with a copy); here only base pages without KSM
    const t = buildMatrix(
      all.filter(
        (r) =>
          !/@(?!base)/.test(r.sc.name) &&
          !r.sc.env.thp &&
          !r.sc.env.thpSizes &&
          !r.needs.includes('ksm') &&
          !r.needs.includes('hugetlb-1g'),
      ),
      MATRIX_PROFILES,
      PROFILES,
    ).totals;
    expect(t['linux-5.7']!.needless).toBe(0);
    expect(t['linux-5.9']!.needless).toBeGreaterThan(0);
    expect(t['linux-5.9']!.needless).toBeGreaterThan(t['linux-6.18']!.needless);
    expect(t['aa-full-accuracy']!.needless).toBe(0);
  });

  it("counts Andrea's false COWs: copies of pages of a THP nobody else observes", () => {
    const cell = (sc: string, k: string) => m.scenarios.find((r) => r.scenario === sc)!.cells[k]!;
    // 16 pages in the pipe, the other 496 of the PTE-mapped THP copied anyway under the refcount rule
    expect(cell('vmsplice-unmap-in-child@pte-2m', 'linux-5.9').needless).toBe(496);
    // the max-subpage mapcount of 5.7 copies only what a partial mremap() left shared
    expect(cell('vmsplice-unmap-in-child@pte-2m', 'linux-5.7').needless).toBe(0);
    expect(cell('vmsplice-unmap-in-child@partial-mremap-2m', 'linux-5.7').needless).toBeGreaterThan(0);
  });
});

describe('a mechanism change that breaks history fails the suite', () => {
  it('5.9 with the mapcount rule no longer reproduces 5.9', () => {
    const wrong = derive(profileById('linux-5.9'), {
      id: 'linux-5.9',
      title: 'wrong',
      summary: 'wrong',
      mech: { cow: { reuse: 'mapcount' } },
    });
    const order = PROFILES.map((p) => (p.id === 'linux-5.9' ? wrong : p));
    const m = buildMatrix(documented, [wrong], order);
    expect(m.totals['linux-5.9']!.unexpected).toBeGreaterThan(0);
  }, 300_000);
  it('6.18 without the fork-time copy of pinned pages no longer reproduces 6.18', () => {
    const wrong = derive(profileById('linux-6.18'), {
      id: 'linux-6.18',
      title: 'wrong',
      summary: 'wrong',
      mech: { cow: { exclusive: 'none' }, fork: { copyPinned: 'maybe-pinned' }, gup: { unshare: 'none' } },
    });
    const m = buildMatrix(documented, [wrong], PROFILES);
    expect(m.totals['linux-6.18']!.unexpected).toBeGreaterThan(0);
  }, 300_000);
});

describe('expect keys', () => {
  const sc = scenario(`
expect:
  default: pass
  linux-5.9..linux-5.18: fail
  linux-5.11: {pass: "fixed in 5.11", copies: 2}
  proposals: pass
  linus-rules, hubbard-split: {fail: expectation}
processes: [p]
steps:
  - p: {mmap: a}
`).sc;
  it('the most specific key wins', () => {
    expect(expectedOutcome(sc, profileById('linux-5.9'), PROFILES)!.verdict).toBe('fail');
    expect(expectedOutcome(sc, profileById('linux-5.11'), PROFILES)).toMatchObject({ verdict: 'pass', copies: 2 });
    expect(expectedOutcome(sc, profileById('linux-6.18'), PROFILES)!.verdict).toBe('pass');
    expect(expectedOutcome(sc, profileById('linus-rules'), PROFILES)).toMatchObject({ verdict: 'fail', property: 'expectation' });
    expect(expectedOutcome(sc, profileById('aa-full-accuracy'), PROFILES)!.verdict).toBe('pass');
  });
  it('default covers merged kernels only', () => {
    const only = scenario('expect: {default: pass}\nprocesses: [p]\nsteps:\n  - p: {mmap: a}\n').sc;
    for (const p of HISTORY) expect(expectedOutcome(only, p, PROFILES)).not.toBeNull();
    for (const p of PROPOSALS) expect(expectedOutcome(only, p, PROFILES)).toBeNull();
  });
  it('a Debian kernel no key names is documented as the profile it is based on', () => {
    // debian-5.10 is based on linux-5.11, debian-6.1 on linux-6.0, debian-6.12 on linux-6.18
    expect(expectedOutcome(sc, profileById('debian-5.10'), PROFILES)).toMatchObject({ verdict: 'pass', copies: 2 });
    expect(expectedOutcome(sc, profileById('debian-6.1'), PROFILES)).toMatchObject({ verdict: 'pass' });
    const named = scenario('expect:\n  default: pass\n  debian-6.12: {fail: expectation}\nprocesses: [p]\nsteps:\n  - p: {mmap: a}\n').sc;
    expect(expectedOutcome(named, profileById('debian-6.12'), PROFILES)).toMatchObject({ verdict: 'fail', property: 'expectation' });
    expect(expectedOutcome(named, profileById('debian-7.x'), PROFILES)).toMatchObject({ verdict: 'pass' });
    const none = scenario('expect: {linux-5.9: pass}\nprocesses: [p]\nsteps:\n  - p: {mmap: a}\n').sc;
    expect(expectedOutcome(none, profileById('debian-6.1'), PROFILES)).toBeNull();
  });
});

describe('a failure nobody documented', () => {
  it('is undocumented, whether the scenario has an expect: block or not (run says FAIL for both)', () => {
    const leak = readFileSync('scenarios/cve/cve-2020-29374-vmsplice-child.yaml', 'utf8');
    const bare = leak.replace(/^expect:\n(?: {2}.*\n)+/m, '');
    expect(bare).not.toMatch(/^expect:/m);
    const r = resolveScenario(parseScenario(bare, 'bare.yaml'));
    const m = buildMatrix([r], [profileById('linux-5.7'), profileById('linux-6.18')], PROFILES);
    expect(m.scenarios[0]!.cells['linux-5.7']).toMatchObject({ verdict: 'fail', unexpected: true });
    expect(m.scenarios[0]!.cells['linux-6.18']).toMatchObject({ verdict: 'pass', unexpected: false });
    expect(m.totals['linux-5.7']!.unexpected).toBe(1);
  });
});
