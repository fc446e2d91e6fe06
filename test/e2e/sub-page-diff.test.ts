/**
 * Transfers smaller than a page and O_DIRECT buffers inside a page, checked
 * against this machine's kernel byte for byte: random scenarios (fast-check,
 * seed printed) of process_vm_writev and /proc/PID/mem writes at random
 * offsets and lengths, misaligned O_DIRECT reads and writes, forks, stores
 * and mprotect, then reads of every page and of the file; `cowlab diff`
 * must agree on each. Needs root and a C compiler, skipped with the reason
 * otherwise.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseScenario } from '../../src/scenario/parse.js';
import { resolveScenario } from '../../src/scenario/resolve.js';
import { diffScenarios } from '../../src/diff/run.js';
import { holdMachineLock, differentialBlocker, qemuMissing, fetched, guestKernels } from './machine-lock.js';
import { resolveOn } from '../../src/qemu/target.js';

const why = differentialBlocker();
if (why) console.log(`SKIP sub-page differential tests: ${why}`);
const d = why ? describe.skip : describe;

holdMachineLock(why);

const PAGES = 3;
const who = fc.constantFrom('parent', 'child');
const step = fc.oneof(
  fc.record({
    by: who,
    at: fc.nat(PAGES * 4096 - 1),
    len: fc.integer({ min: 1, max: 6000 }),
    op: fc.constantFrom('process-vm-writev', 'proc-mem-write'),
  }),
  fc.record({ by: who, shift: fc.integer({ min: 1, max: 7 }), first: fc.nat(1), read: fc.boolean(), op: fc.constant('odirect') }),
  fc.record({ by: who, page: fc.nat(PAGES - 1), op: fc.constantFrom('write', 'mprotect-r', 'mprotect-rw') }),
);

/** A scenario of random steps after a fork over a written region and a 2-page O_DIRECT file. */
function scenario(i: number, steps: readonly object[]): string {
  const out: Record<string, unknown>[] = [
    { parent: { mmap: 'mem', pages: PAGES } },
    { parent: { write: 'mem' } },
    { parent: { 'odirect-write': 'mem[0:2]', file: 'ft' } },
    { parent: { fork: 'child' } },
  ];
  for (const raw of steps) {
    const s = raw as Record<string, number | string | boolean>;
    const by = s.by as string;
    const other = by === 'parent' ? 'child' : 'parent';
    if (s.op === 'process-vm-writev' || s.op === 'proc-mem-write') {
      const at = s.at as number;
      out.push({ [by]: { [s.op]: 'mem', target: other, offset: at, bytes: Math.min(s.len as number, PAGES * 4096 - at) } });
    } else if (s.op === 'odirect') {
      const f = s.first as number;
      out.push({
        [by]: { [s.read ? 'odirect-read' : 'odirect-write']: `mem[${f}:${f + 2}]`, file: 'ft', shift: 512 * (s.shift as number) },
      });
    } else if (s.op === 'write') out.push({ [by]: { write: `mem[${s.page as number}]` } });
    else out.push({ [by]: { mprotect: 'mem', prot: s.op === 'mprotect-r' ? 'r' : 'rw' } });
  }
  out.push({ parent: { read: 'mem' } }, { child: { read: 'mem' } }, { parent: { 'file-read': 'ft', pages: 2 } });
  return stringify({ name: `sub-page-${i}`, files: { ft: { kind: 'tmpfile', pages: 2 } }, processes: ['parent'], steps: out });
}

const seed = 2026;
const texts = fc.sample(fc.array(step, { minLength: 2, maxLength: 8 }), { seed, numRuns: 300 }).map((st, i) => scenario(i, st));
const resolved = () => texts.map((t, i) => resolveScenario(parseScenario(t, `sub-page-${i}.yaml`)));

d('transfers smaller than a page against this kernel', () => {
  it('agree byte for byte on random scenarios', async () => {
    console.log(`sub-page differential: fast-check seed ${seed}, ${texts.length} scenarios`);
    const rs = resolved();
    const res = await diffScenarios(rs);
    const bad = res
      .filter((r) => r.verdict !== 'agree')
      .map((r) => `${r.scenario} ${r.verdict}: ${r.reason}\n${texts[rs.findIndex((x) => x.sc.name === r.scenario)]}`);
    expect(bad).toEqual([]);
  }, 600_000);
});

// the first 60 on each Debian kernel in qemu
for (const id of guestKernels) {
  const reason = why ?? qemuMissing() ?? (fetched(id) ? null : `${id} not fetched (npx cowlab kernels fetch ${id})`);
  if (reason) console.log(`SKIP sub-page differential test on ${id}: ${reason}`);
  (reason ? describe.skip : describe)(`transfers smaller than a page on ${id}`, () => {
    it('agree byte for byte on random scenarios', async () => {
      const rs = resolved().slice(0, 60);
      const target = resolveOn(id, undefined, undefined);
      const res = await diffScenarios(rs, { on: target.guest, profile: target.profile, kernelName: target.name, jobs: 1 });
      expect(res.filter((r) => r.verdict !== 'agree').map((r) => `${r.scenario} ${r.verdict}: ${r.reason}`)).toEqual([]);
    }, 600_000);
  });
}
