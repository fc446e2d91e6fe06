import { describe, it, expect } from 'vitest';
import { scenariosFromText } from '../../../src/scenario/text.js';
import { runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';
import { folio_likely_mapped_shared, folio_maybe_mapped_shared } from '../../../src/kernel/mm/rmap.js';
import { ptep_get } from '../../../src/model/mm_types.js';
import { pte_pfn } from '../../../src/model/pte.js';

/** The state after `steps` on linux-6.18 (the MM-ID slots are kept whatever the profile uses). */
function after(steps: string) {
  const r = scenariosFromText(`env: {thp-sizes: {'64': always}}\nprocesses: [p]\nsteps:\n${steps}`, 't.yaml')[0]!;
  const res = runScenario(r, profileById('linux-6.18'), { keepStates: true });
  const s = res.records.at(-1)!.state;
  const u = r.regions.find((g) => g.name === 'u')!;
  const t = (name: string) => r.tasks.indexOf(name);
  return { s, pfn: (task: string, i: number) => pte_pfn(ptep_get(s, t(task), u.start + i)) };
}

const MTHP = '  - p: {mmap: u, pages: 16, align: pmd, thp: inherit}\n  - p: {write: u}\n';

describe('the "mapped shared" estimates of MADV_PAGEOUT/COLD', () => {
  it('a third mm without an MM-ID slot: 6.15+ says shared after the others left, 6.9-6.14 guess exclusive from the first page', () => {
    const { s, pfn } = after(`${MTHP}  - p: {fork: c1}\n  - p: {fork: c2}\n  - p: exit\n  - c1: exit\n`);
    expect(folio_maybe_mapped_shared(s, pfn('c2', 0))).toBe(true);
    expect(folio_likely_mapped_shared(s, pfn('c2', 0))).toBe(false);
  });

  it('mapped by two mms: both say shared, except the old guess where each maps half and the first page once', () => {
    const two = after(`${MTHP}  - p: {fork: c}\n`);
    expect(folio_maybe_mapped_shared(two.s, two.pfn('p', 3))).toBe(true);
    expect(folio_likely_mapped_shared(two.s, two.pfn('p', 3))).toBe(true);
    // 16 mappings of 16 pages, the first page mapped once: guessed exclusive, though two mms map it
    const halves = after(`${MTHP}  - p: {fork: c}\n  - p: {munmap: "u[8:16]"}\n  - c: {munmap: "u[0:8]"}\n`);
    expect(folio_maybe_mapped_shared(halves.s, halves.pfn('p', 0))).toBe(true);
    expect(folio_likely_mapped_shared(halves.s, halves.pfn('p', 0))).toBe(false);
  });
});
