/**
 * The plan of the kernel's COW selftest (tools/testing/selftests/mm/cow.c,
 * David Hildenbrand), as cowlab generates it: each test case is one
 * template file (`matrix: cow-anon`, `cow-non-anon` or `cow-collapse`),
 * and every backing cow.c runs it on becomes one scenario, with the
 * backing's setup steps in front of the test's steps, the selftest's own
 * case and backing text, and the TAP number cow.c gives it on a machine
 * with this plan (the host: 8 THP sizes from 16 kB to 2048 kB, hugetlb
 * 2048 kB and 1048576 kB, 778 tests).
 *
 * Nothing here runs anything: it turns a template (the parsed YAML) into
 * scenario objects that parse.ts validates like any file.
 */
import { InputError } from './errors.js';
import { quoteName } from './parse.js';
import { keyProfiles } from '../matrix/expect.js';
import { PROFILES } from '../profiles/index.js';

/** THP sizes (kB) cow.c finds on the host, ascending; the last is the PMD size. */
export const THP_SIZES_KB = [16, 32, 64, 128, 256, 512, 1024, 2048] as const;
/** hugetlb sizes (kB) cow.c finds on the host. */
export const HUGETLB_SIZES_KB = [2048, 1048576] as const;
const PMD_KB = 2048;

/** cow.c's anon_test_cases, in order (their index fixes the TAP numbers). */
export const ANON_CASES = [
  'Basic COW after fork()',
  'Basic COW after fork() with mprotect() optimization',
  'vmsplice() + unmap in child',
  'vmsplice() + unmap in child with mprotect() optimization',
  'vmsplice() before fork(), unmap in parent after fork()',
  'vmsplice() + unmap in parent after fork()',
  'R/O-mapping a page registered as iouring fixed buffer',
  'fork() with an iouring fixed buffer',
  'R/O GUP pin on R/O-mapped shared page',
  'R/O GUP-fast pin on R/O-mapped shared page',
  'R/O GUP pin on R/O-mapped previously-shared page',
  'R/O GUP-fast pin on R/O-mapped previously-shared page',
  'R/O GUP pin on R/O-mapped exclusive page',
  'R/O GUP-fast pin on R/O-mapped exclusive page',
] as const;

/** cow.c's anon_thp_test_cases (PMD-sized THP only). */
export const COLLAPSE_CASES = [
  'Basic COW after fork() when collapsing before fork()',
  'Basic COW after fork() when collapsing after fork() (fully shared)',
  'Basic COW after fork() when collapsing after fork() (lower shared)',
  'Basic COW after fork() when collapsing after fork() (upper shared)',
] as const;

/** cow.c's non_anon_test_cases. */
export const NON_ANON_CASES = ['Basic COW', 'R/O longterm GUP pin', 'R/O longterm GUP-fast pin'] as const;

/** How an anon backing is built (cow.c's run_with_* and enum thp_run). */
export type AnonKind =
  | 'base'
  | 'base-swap'
  | 'pmd'
  | 'pmd-swap'
  | 'pte'
  | 'pte-swap'
  | 'single-pte'
  | 'single-pte-swap'
  | 'partial-mremap'
  | 'partial-shared'
  | 'hugetlb';

/** One backing of an anon test case. */
export interface AnonBacking {
  kind: AnonKind;
  /** folio or huge page size in kB (THP and hugetlb kinds) */
  kb: number;
}

/** The non-anon backings, in cow.c's order. */
export type NonAnonKind = 'zeropage' | 'memfd' | 'tmpfile' | 'huge-zeropage' | 'memfd-hugetlb';
export interface NonAnonBacking {
  kind: NonAnonKind;
  kb: number;
}

/** The 54 backings of each anon case, in the order cow.c runs them on this plan. */
export function anonBackings(): AnonBacking[] {
  const out: AnonBacking[] = [
    { kind: 'base', kb: 4 },
    { kind: 'base-swap', kb: 4 },
  ];
  for (const kb of THP_SIZES_KB) {
    if (kb === PMD_KB) out.push({ kind: 'pmd', kb }, { kind: 'pmd-swap', kb });
    for (const kind of ['pte', 'pte-swap', 'single-pte', 'single-pte-swap', 'partial-mremap', 'partial-shared'] as const)
      out.push({ kind, kb });
  }
  for (const kb of HUGETLB_SIZES_KB) out.push({ kind: 'hugetlb', kb });
  return out;
}

/** The non-anon backings, in cow.c's order. */
export function nonAnonBackings(): NonAnonBacking[] {
  return [
    { kind: 'zeropage', kb: 4 },
    { kind: 'memfd', kb: 4 },
    { kind: 'tmpfile', kb: 4 },
    { kind: 'huge-zeropage', kb: PMD_KB },
    ...HUGETLB_SIZES_KB.map((kb) => ({ kind: 'memfd-hugetlb' as const, kb })),
  ];
}

/** The backing as the selftest prints it after "... with ". */
export function anonBackingText(b: AnonBacking): string {
  switch (b.kind) {
    case 'base':
      return 'base page';
    case 'base-swap':
      return 'swapped out base page';
    case 'pmd':
      return `THP (${b.kb} kB)`;
    case 'pmd-swap':
      return `swapped-out THP (${b.kb} kB)`;
    case 'pte':
      return `PTE-mapped THP (${b.kb} kB)`;
    case 'pte-swap':
      return `swapped-out, PTE-mapped THP (${b.kb} kB)`;
    case 'single-pte':
      return `single PTE of THP (${b.kb} kB)`;
    case 'single-pte-swap':
      return `single PTE of swapped-out THP (${b.kb} kB)`;
    case 'partial-mremap':
      return `partially mremap()'ed THP (${b.kb} kB)`;
    case 'partial-shared':
      return `partially shared THP (${b.kb} kB)`;
    case 'hugetlb':
      return `hugetlb (${b.kb} kB)`;
  }
}

export function nonAnonBackingText(b: NonAnonBacking): string {
  switch (b.kind) {
    case 'zeropage':
      return 'shared zeropage';
    case 'memfd':
      return 'memfd';
    case 'tmpfile':
      return 'tmpfile';
    case 'huge-zeropage':
      return 'huge zeropage';
    case 'memfd-hugetlb':
      return `memfd hugetlb (${b.kb} kB)`;
  }
}

/** A short id for scenario names: `pte-16k`, `base-swap`, `pmd`. */
export function backingId(b: { kind: string; kb: number }): string {
  if (b.kind === 'base' || b.kind === 'base-swap' || b.kind === 'pmd' || b.kind === 'pmd-swap') return b.kind;
  if (b.kind === 'zeropage' || b.kind === 'memfd' || b.kind === 'tmpfile' || b.kind === 'huge-zeropage') return b.kind;
  return `${b.kind}-${b.kb >= 1024 * 1024 ? `${b.kb / (1024 * 1024)}g` : b.kb >= 1024 ? `${b.kb / 1024}m` : `${b.kb}k`}`;
}

/**
 * The class of a backing for expectations: what decides the kernel's path.
 * A template's `backing-expect` keys are these.
 */
export function anonBackingClass(b: AnonBacking): string {
  if (b.kind === 'base' || b.kind === 'base-swap' || b.kind === 'hugetlb') return b.kind;
  if (b.kind === 'pmd' || b.kind === 'pmd-swap') return b.kind;
  return `${b.kb === PMD_KB ? 'thp' : 'mthp'}-${b.kind}`;
}

/** The TAP numbers cow.c gives on this plan. */
export function anonTap(caseIndex: number, backingIndex: number): number {
  return caseIndex * anonBackings().length + backingIndex + 1;
}
export function collapseTap(i: number): number {
  return ANON_CASES.length * anonBackings().length + i + 1;
}
export function nonAnonTap(caseIndex: number, backingIndex: number): number {
  return ANON_CASES.length * anonBackings().length + COLLAPSE_CASES.length + caseIndex * nonAnonBackings().length + backingIndex + 1;
}
/** Every test of the plan. */
export function planSize(): number {
  return ANON_CASES.length * anonBackings().length + COLLAPSE_CASES.length + NON_ANON_CASES.length * nonAnonBackings().length;
}

/** The TAP line text of a test: "<case> ... with <backing>", or the collapse case alone. */
export function tapText(c: string, backing: string | null): string {
  return backing === null ? c : `${c} ... with ${backing}`;
}

/** hugepages-<kB>kB/enabled as cow.c sets them around the THP backings of size `kb`. */
function thpEnv(kb: number): Record<string, unknown> {
  const sizes: Record<string, string> = {};
  for (const s of THP_SIZES_KB) sizes[String(s)] = 'never';
  sizes[String(kb)] = 'always';
  return { 'thp-sizes': sizes };
}

type Step = Record<string, unknown>;
const p = (op: Record<string, unknown> | string): Step => ({ parent: op });

/** The setup of one anon backing: its steps, the test range, and what it needs. */
interface Setup {
  steps: Step[];
  /** the range the test function gets (cow.c's mem and size) */
  mem: string;
  pages: number;
  env?: Record<string, unknown>;
  requires: string[];
}

/** The pool cow.c needs: two free huge pages of the size (one for the test, one for a COW copy). */
function hugetlbEnv(kb: number): Record<string, unknown> {
  return kb === PMD_KB ? { 'hugetlb-pages': 2 } : { 'hugetlb-1g-pages': 2 };
}

function anonSetup(b: AnonBacking): Setup {
  if (b.kind === 'base' || b.kind === 'base-swap') {
    // do_run_with_base_page(): mmap one page, MADV_NOHUGEPAGE, memset(1)
    const steps = [p({ mmap: 'mem', pages: 1, prot: 'rw' }), p({ write: 'mem', label: 'init' })];
    if (b.kind === 'base-swap') steps.push(p({ madvise: 'mem', advice: 'pageout', expect: { swapped: true } }));
    return { steps, mem: 'mem', pages: 1, requires: b.kind === 'base-swap' ? ['swap'] : [] };
  }
  if (b.kind === 'hugetlb') {
    // run_with_hugetlb(): a private hugetlb area, memset(1), then a dummy area of the same size mapped
    // and unmapped at once: its reservation proves one more page is free for a COW copy ("otherwise
    // we might get zapped by a SIGBUS"); each mmap failing is cow.c's SKIP
    const n = b.kb / 4;
    const size = b.kb === PMD_KB ? '2m' : '1g';
    return {
      steps: [
        p({ mmap: 'mem', pages: n, prot: 'rw', hugetlb: size }),
        p({ write: 'mem', label: 'init' }),
        p({ mmap: 'dummy', pages: n, prot: 'rw', hugetlb: size }),
        p({ munmap: 'dummy' }),
      ],
      mem: 'mem',
      pages: n,
      env: hugetlbEnv(b.kb),
      requires: [],
    };
  }
  // do_run_with_thp(): a THP-aligned area of the size, MADV_HUGEPAGE, touch the first page and
  // insist on the last one being populated (else cow.c skips), then memset(1)
  const n = b.kb / 4;
  const last = `mem[${n - 1}]`;
  const steps: Step[] = [
    p({ mmap: 'mem', pages: n, prot: 'rw', align: 'pmd', thp: 'inherit' }),
    p({ madvise: 'mem', advice: 'hugepage' }),
    p({ write: 'mem[0]', label: 'first' }),
    p({ check: last, expect: { present: true } }),
    p({ write: 'mem', label: 'init' }),
  ];
  let mem = 'mem';
  let pages = n;
  switch (b.kind) {
    case 'pmd':
    case 'pmd-swap':
      break;
    case 'pte':
    case 'pte-swap':
      // PTE-map it by mapping one page R/O for a moment (a no-op below the PMD size)
      steps.push(p({ mprotect: 'mem[1]', prot: 'r' }), p({ mprotect: 'mem[1]', prot: 'rw' }));
      break;
    case 'single-pte':
    case 'single-pte-swap':
      steps.push(p({ madvise: `mem[1:${n}]`, advice: 'dontneed' }));
      mem = 'mem[0]';
      pages = 1;
      break;
    case 'partial-mremap':
      // move the upper half to a new PROT_NONE area
      steps.splice(1, 0, p({ mmap: 'remap', pages: n / 2, prot: 'none' }));
      steps.push(p({ mremap: `mem[${n / 2}:${n}]`, to: 'remap' }));
      mem = `mem[0:${n / 2}]`;
      pages = n / 2;
      break;
    case 'partial-shared':
      // share the first page with a child that exits at once
      steps.push(
        p({ madvise: `mem[1:${n}]`, advice: 'dontfork' }),
        p({ fork: 'sharer' }),
        { sharer: 'exit' },
        p({ madvise: `mem[1:${n}]`, advice: 'dofork' }),
      );
      break;
  }
  const swap = b.kind === 'pmd-swap' || b.kind === 'pte-swap' || b.kind === 'single-pte-swap';
  if (swap) steps.push(p({ madvise: mem, advice: 'pageout', expect: { swapped: true } }));
  return { steps, mem, pages, env: thpEnv(b.kb), requires: swap ? ['swap'] : [] };
}

/** Replaces the string `mem` anywhere in a template step's values by the test range. */
function rewrite(v: unknown, mem: string, pages: number, op?: string): unknown {
  if (v === 'mem') return mem;
  if (Array.isArray(v)) return v.map((x) => rewrite(x, mem, pages));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    const opName = op ?? Object.keys(o)[0];
    for (const [k, x] of Object.entries(o)) out[k] = rewrite(x, mem, pages, k === 'expect' ? opName : op);
    // transfer sizes follow the range: vmsplice fills at most the pipe's 16 buffers
    if (op === 'vmsplice' && typeof out.ret === 'number') out.ret = Math.min(pages, 16);
    if ((op === 'io-uring-write-fixed' || op === 'io-uring-read-fixed') && typeof out.ret === 'number') out.ret = pages;
    return out;
  }
  return v;
}

/** A template's steps with `mem` standing for the test range. */
function templateSteps(tpl: Record<string, unknown>, mem: string, pages: number): Step[] {
  const steps = tpl.steps;
  if (!Array.isArray(steps)) throw new InputError('a template needs steps');
  return steps.map((s) => {
    if (!s || typeof s !== 'object') return s as Step;
    const [proc, body] = Object.entries(s as Record<string, unknown>)[0]!;
    if (!body || typeof body !== 'object') return { [proc]: body };
    const b = body as Record<string, unknown>;
    const op = Object.keys(b)[0];
    return { [proc]: rewrite(b, mem, pages, op) };
  });
}

/** The files of a template, sized to the test range (the io_uring tests write `size` bytes). */
function templateFiles(tpl: Record<string, unknown>, pages: number): Record<string, unknown> | undefined {
  const f = tpl.files as Record<string, Record<string, unknown>> | undefined;
  if (!f) return undefined;
  return Object.fromEntries(Object.entries(f).map(([k, v]) => [k, { ...v, pages: Math.max(Number(v.pages ?? 1), pages) }]));
}

/**
 * The template's expectations with the overrides for one backing class
 * (`backing-expect:` keys list classes, ./cowc.ts anonBackingClass). An
 * override names its kernels one by one, so it wins over any key of the
 * template's own block.
 */
function expectFor(tpl: Record<string, unknown>, cls: string): Record<string, unknown> {
  const base = { ...((tpl.expect as Record<string, unknown>) ?? {}) };
  const by = (tpl['backing-expect'] as Record<string, Record<string, unknown>> | undefined) ?? {};
  for (const [k, v] of Object.entries(by)) {
    if (!k.split(/\s*,\s*/).includes(cls)) continue;
    for (const [key, outcome] of Object.entries(v)) {
      if (key === 'default') {
        base.default = outcome;
        continue;
      }
      for (const id of keyProfiles(key, PROFILES, 'backing-expect')) base[id] = outcome;
    }
  }
  return base;
}

const TEMPLATE_KEYS = new Set(['matrix', 'backing-expect', 'backings']);

/** The template's keys that pass through to every instance. */
function common(tpl: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(tpl).filter(([k]) => !TEMPLATE_KEYS.has(k) && k !== 'steps' && k !== 'files'));
}

/**
 * One instance: the backing's set-up steps, then the test's; `selftest.setup`
 * counts the set-up steps (a failure there is cow.c's SKIP).
 */
function instance(
  tpl: Record<string, unknown>,
  name: string,
  id: string,
  setup: Step[],
  test: Step[],
  fields: { selftest: Record<string, unknown> } & Record<string, unknown>,
): { id: string; raw: Record<string, unknown> } {
  return {
    id,
    raw: {
      ...common(tpl),
      name: `${name}@${id}`,
      ...fields,
      selftest: { ...fields.selftest, setup: setup.length },
      processes: ['parent'],
      steps: [...setup, ...test],
    },
  };
}

/** The scenarios a template expands to, as scenario objects with `#id` names. */
export function expandTemplate(tpl: Record<string, unknown>, where: string): { id: string; raw: Record<string, unknown> }[] {
  const kind = tpl.matrix;
  const sel = tpl.selftest as { case?: string; xfail?: unknown } | undefined;
  const name = typeof tpl.name === 'string' ? tpl.name : where;
  const filter = tpl.backings as string[] | undefined;
  const out: { id: string; raw: Record<string, unknown> }[] = [];
  const keep = (id: string) => !filter || filter.includes(id);
  if (kind === 'cow-anon') {
    const ci = ANON_CASES.indexOf(sel?.case as (typeof ANON_CASES)[number]);
    if (ci < 0) throw new InputError(`selftest.case: not one of cow.c's anon test cases: ${ANON_CASES.join(' | ')}`);
    anonBackings().forEach((b, bi) => {
      const id = backingId(b);
      if (!keep(id)) return;
      const st = anonSetup(b);
      const files = templateFiles(tpl, st.pages);
      out.push(
        instance(tpl, name, id, st.steps, templateSteps(tpl, st.mem, st.pages), {
          selftest: {
            case: ANON_CASES[ci],
            backing: anonBackingText(b),
            tap: anonTap(ci, bi),
            ...(Array.isArray(sel?.xfail) && sel.xfail.includes(anonBackingClass(b)) ? { xfail: true } : {}),
          },
          requires: [...new Set([...((tpl.requires as string[]) ?? []), ...st.requires])],
          ...(files ? { files } : {}),
          expect: expectFor(tpl, anonBackingClass(b)),
          ...(st.env ? { env: st.env } : {}),
        }),
      );
    });
    return out;
  }
  if (kind === 'cow-non-anon') {
    const ci = NON_ANON_CASES.indexOf(sel?.case as (typeof NON_ANON_CASES)[number]);
    if (ci < 0) throw new InputError(`selftest.case: not one of cow.c's non-anon test cases: ${NON_ANON_CASES.join(' | ')}`);
    nonAnonBackings().forEach((b, bi) => {
      const id = backingId(b);
      if (!keep(id)) return;
      const st = nonAnonSetup(b);
      out.push(
        instance(tpl, name, id, st.steps, templateSteps(tpl, 'mem', st.pages), {
          selftest: { case: NON_ANON_CASES[ci], backing: nonAnonBackingText(b), tap: nonAnonTap(ci, bi) },
          requires: tpl.requires ?? [],
          ...(st.files ? { files: st.files } : {}),
          expect: expectFor(tpl, b.kind),
          ...(st.env ? { env: st.env } : {}),
        }),
      );
    });
    return out;
  }
  if (kind === 'cow-collapse') {
    COLLAPSE_CASES.forEach((c, i) => {
      const id = ['before-fork', 'fully-shared', 'lower-shared', 'upper-shared'][i]!;
      if (!keep(id)) return;
      out.push({
        id,
        raw: {
          ...common(tpl),
          name: `${name}@${id}`,
          selftest: { case: c, tap: collapseTap(i), setup: anonSetup({ kind: 'pmd', kb: PMD_KB }).steps.length },
          expect: expectFor(tpl, id),
          env: { 'thp-sizes': { '2048': 'inherit' } },
          processes: ['parent'],
          steps: collapseSteps(i),
        },
      });
    });
    return out;
  }
  throw new InputError(
    `matrix: unknown template kind ${quoteName(kind, '(not a name)')} (expected cow-anon, cow-non-anon or cow-collapse)`,
  );
}

/**
 * run_with_zeropage / _huge_zeropage / _memfd / _tmpfile: a private R/W
 * mapping `mem` and a second R/O mapping `smem` of the same source, both
 * read-faulted.
 */
function nonAnonSetup(b: NonAnonBacking): { steps: Step[]; pages: number; files?: Record<string, unknown>; env?: Record<string, unknown> } {
  switch (b.kind) {
    case 'zeropage':
      return {
        pages: 1,
        steps: [
          p({ mmap: 'mem', pages: 1, prot: 'rw' }),
          p({ mmap: 'smem', pages: 1, prot: 'r' }),
          p({ read: 'mem', expect: { sees: 'zero' } }),
          p({ read: 'smem', expect: { sees: 'zero' } }),
        ],
      };
    case 'memfd':
    case 'tmpfile':
      return {
        pages: 1,
        files: { f: { kind: b.kind, pages: 1 } },
        steps: [
          p({ mmap: 'mem', pages: 1, prot: 'rw', file: 'f' }),
          p({ mmap: 'smem', pages: 1, prot: 'r', shared: b.kind === 'memfd' || b.kind === 'tmpfile', file: 'f' }),
          p({ read: 'mem', expect: { sees: 'zero' } }),
          p({ read: 'smem', expect: { sees: 'zero' } }),
        ],
      };
    case 'memfd-hugetlb': {
      // run_with_memfd_hugetlb(): a MFD_HUGETLB memfd fallocated whole (ENOSPC: SKIP), mapped private
      // R/W (its reservation: ENOMEM, SKIP) and shared R/O; a pool of 2, as cow.c needs
      const n = b.kb / 4;
      return {
        pages: n,
        files: { f: { kind: 'memfd', pages: n, hugetlb: b.kb === PMD_KB ? '2m' : '1g' } },
        env: hugetlbEnv(b.kb),
        steps: [
          p({ mmap: 'mem', pages: n, prot: 'rw', file: 'f' }),
          p({ mmap: 'smem', pages: n, prot: 'r', shared: true, file: 'f' }),
          p({ read: 'mem', expect: { sees: 'zero' } }),
          p({ read: 'smem', expect: { sees: 'zero' } }),
        ],
      };
    }
    case 'huge-zeropage': {
      // PMD-aligned, MADV_HUGEPAGE on both; a read of the first page must populate the second (else cow.c skips)
      const n = b.kb / 4;
      return {
        pages: n,
        env: { 'thp-sizes': { '2048': 'inherit' }, 'huge-zero-page': true },
        steps: [
          p({ mmap: 'mem', pages: n, prot: 'rw', align: 'pmd', thp: 'inherit' }),
          p({ mmap: 'smem', pages: n, prot: 'r', align: 'pmd', thp: 'inherit' }),
          p({ madvise: 'mem', advice: 'hugepage' }),
          p({ madvise: 'smem', advice: 'hugepage' }),
          p({ read: 'mem[0]', expect: { sees: 'zero' } }),
          p({ read: 'smem[0]', expect: { sees: 'zero' } }),
          p({ check: 'mem[1]', expect: { present: true } }),
          p({ check: 'smem[1]', expect: { present: true } }),
        ],
      };
    }
  }
}

/**
 * do_test_anon_thp_collapse() on a PMD-sized THP: PTE-map it (the mprotect
 * trick), then MADV_COLLAPSE before fork, or after fork with all, the lower
 * or the upper half shared (MADV_DONTFORK on the other half, MADV_DOFORK
 * again before collapsing); the parent writes, the child must still see
 * the old data of what it shares.
 */
function collapseSteps(i: number): Step[] {
  const n = PMD_KB / 4;
  const h = n / 2;
  const steps: Step[] = [...anonSetup({ kind: 'pmd', kb: PMD_KB }).steps];
  steps.push(p({ mprotect: 'mem[1]', prot: 'r' }), p({ mprotect: 'mem[1]', prot: 'rw' }));
  if (i === 0) steps.push(p({ madvise: 'mem', advice: 'collapse', expect: { ret: 0 } }));
  if (i === 2) steps.push(p({ madvise: `mem[${h}:${n}]`, advice: 'dontfork' }));
  if (i === 3) steps.push(p({ madvise: `mem[0:${h}]`, advice: 'dontfork' }));
  const shared = i === 2 ? `mem[0:${h}]` : i === 3 ? `mem[${h}:${n}]` : 'mem';
  steps.push(p({ fork: 'child' }), { child: { read: shared, expect: { sees: 'init' } } });
  if (i >= 2) steps.push(p({ madvise: 'mem', advice: 'dofork' }));
  if (i >= 1) steps.push(p({ madvise: 'mem', advice: 'collapse', expect: { ret: 0 } }));
  steps.push(
    p({ write: 'mem', label: 'modified' }),
    { child: { read: shared, expect: { sees: 'init', 'not-shared-with': { parent: shared } } } },
    { child: 'exit' },
  );
  return steps;
}

/**
 * A sample of the template instances for runs that cannot afford all 778
 * (the tests): every scenario that is not an instance, every backing class
 * at 64 kB (mTHP, PTE-mapped), and the PMD-mapped and single-PTE 2 MB
 * classes, and the 2 MB hugetlb and memfd hugetlb ones. Together they
 * reach every large-folio and hugetlb path the model has;
 * `cowlab diff scenarios/` and `cowlab matrix` run them all.
 */
export function sampledInstance(name: string): boolean {
  const at = name.indexOf('@');
  if (at < 0) return true;
  const backing = name.slice(at + 1);
  return (
    !/-\d+[kmg]$/.test(backing) ||
    backing.endsWith('-64k') ||
    ['single-pte-2m', 'single-pte-swap-2m', 'hugetlb-2m', 'memfd-hugetlb-2m'].includes(backing)
  );
}
