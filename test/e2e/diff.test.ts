/**
 * Differential tests against the real kernel of this machine. They need
 * root (frame numbers, kpageflags, swapon) and a C compiler; without them
 * they are skipped with the reason printed.
 */
import { describe, it, expect } from 'vitest';
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { release as osRelease } from 'node:os';
import { Executor, type ExecResult, type KStep } from '../../src/executor/server.js';
import { diffScenarios, hostTarget, DIVERGENCE_RERUNS, type Target } from '../../src/diff/run.js';
import { divergenceTable } from '../../src/diff/compare.js';
import { cacheDir } from '../../src/executor/build.js';
import { loadScenario, loadScenarios } from '../../src/scenario/load.js';
import { emitC } from '../../src/executor/emit.js';
import { fuzzDiff } from '../../src/fuzz/fuzz.js';
import { sampledInstance } from '../helpers.js';
import { holdMachineLock, differentialBlocker, qemuMissing, fetched, guestKernels } from './machine-lock.js';

const why = differentialBlocker();
if (why) console.log(`SKIP differential tests: ${why}`);
const d = why ? describe.skip : describe;

// these runs change the machine's settings and check they come back: not while machine.test.ts runs
holdMachineLock(why);

function cowlab(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/cowlab.js', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The shipped scenarios as run/diff/emit-c specs (FILE or FILE#ID), the cow.c templates sampled. */
const shipped = () =>
  loadScenarios(['scenarios/'])
    .filter((r) => sampledInstance(r.sc.name))
    .map((r) => r.sc.file);

const pageCluster = () => readFileSync('/proc/sys/vm/page-cluster', 'utf8');
const swaps = () =>
  readFileSync('/proc/swaps', 'utf8')
    .split('\n')
    .filter((l) => l.includes('cowlab-swap')).length;

d('cowlab diff against this kernel', () => {
  it('agrees on every shipped scenario (the cow.c templates sampled), or skips it with a reason', () => {
    const before = pageCluster();
    const r = cowlab('diff', '--json', ...shipped());
    expect(r.err).toBe('');
    const res = JSON.parse(r.out) as { scenario: string; verdict: string; reason: string; divergence: unknown }[];
    const bad = res.filter((x) => x.verdict === 'diverge');
    expect(bad.map((x) => `${x.scenario}: ${x.reason}`)).toEqual([]);
    for (const x of res.filter((y) => y.verdict === 'skip')) expect(x.reason).not.toBe('');
    expect(res.filter((x) => x.verdict === 'agree').length).toBeGreaterThan(20);
    expect(r.code).toBe(0);
    // the machine is as it was: no swapfile of ours, vm.page-cluster restored
    expect(swaps()).toBe(0);
    expect(pageCluster()).toBe(before);
  }, 1_800_000);

  it("reproduces the selftest's own TAP log test by test where it mirrors a test (--tap-compare)", () => {
    const r = cowlab(
      'diff',
      '--tap-compare',
      'test/data/cow-tap-6.18.txt',
      '--tap-known',
      'test/data/cow-tap-6.18.known.yaml',
      'scenarios/cow-selftest',
    );
    expect(r.err).toBe('');
    if (!/^6\.18\./.test(osRelease())) {
      console.log(`SKIP the TAP log comparison: the log is 6.18's, this kernel is ${osRelease()}`);
      return;
    }
    expect(r.out).toMatch(/778 tests, 778 mirrored by cowlab, 0 not mirrored/);
    // the 1 GiB tests no executor runs are the model's prediction, compared with the log all the same
    expect(r.out).toMatch(/\(8 of them the model's prediction: no executor runs them\)/);
    expect(r.out).toMatch(/\(2 known, 0 unexplained\)/);
    expect(r.code).toBe(0);
  }, 1_800_000);

  it('prints its verdicts in the order of its input, skips included, whatever order the executors finish in', () => {
    const files = [
      'scenarios/ksm/ksm-ro-pin.yaml',
      'scenarios/cve/',
      'scenarios/ksm/ksm-cow.yaml',
      'scenarios/regress/uffd-wp-mremap.yaml',
    ];
    const r = cowlab('diff', '-j', '2', ...files);
    const order = [...r.out.matchAll(/^(?:AGREE|DIVERGE|SKIP) +(\S+)/gm)].map((m) => m[1]);
    const json = cowlab('diff', '--json', '-j', '2', ...files);
    const expected = (JSON.parse(json.out) as { scenario: string }[]).map((x) => x.scenario);
    expect(order).toEqual(expected);
    expect(order[0]).toBe('ksm-ro-pin');
    expect(order.at(-1)).toBe('uffd-wp-mremap');
  }, 300_000);

  it('writes JUnit XML with --junit: an agreement passes, a model-only scenario is skipped with its reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cowlab-junit-'));
    try {
      const xml = join(dir, 'diff.xml');
      const r = cowlab('diff', '--junit', xml, 'scenarios/cve/cve-2020-29374-vmsplice-child.yaml', 'scenarios/hugetlb/hugetlb-1g-cow.yaml');
      expect(r.code).toBe(0);
      const report = readFileSync(xml, 'utf8');
      expect(report).toMatch(
        /<testsuite name="cowlab diff on host \(judged by linux-6\.18\)" tests="2" failures="0" skipped="1" errors="0">/,
      );
      expect(report).toMatch(/<testcase name="cve-2020-29374-vmsplice-child" classname="scenarios\/cve\/[^"]+"\/>/);
      expect(report).toMatch(/<testcase name="hugetlb-1g-cow"[^>]*>\s*<skipped message="1 GiB hugetlb pages are model only/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('exits 4 and says so when nothing could be compared (every scenario skipped)', () => {
    const r = cowlab('diff', 'scenarios/ksm/ksm-ro-pin.yaml');
    if (!/SKIP {4}ksm-ro-pin/.test(r.out)) return console.log('SKIP the all-skipped exit: this kernel has gup_test, ksm-ro-pin ran');
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/^cowlab: nothing was compared on host: all 1 scenario\(s\) skipped \(the first: .*gup_test/);
  });

  it('random scenarios agree (fuzz --diff, fixed seed)', () => {
    const out = mkdtempSync(join(tmpdir(), 'cowlab-fuzz-'));
    try {
      const r = cowlab('fuzz', '--diff', '--seed', '7', '--count', '300', '--out', out);
      const m = /seed 7: 300 random scenarios .*: (\d+) agree, 0 diverge \(0 kind\(s\)\), (\d+) skipped/.exec(r.out);
      expect(m, r.out).not.toBeNull();
      // alone, all 300 run; beside the other test files' runs the machine may not give one its
      // environment (a hugetlb pool it cannot fill, another process's mergeable memory): such a skip
      // says why, and stays rare
      const skips = [...r.out.matchAll(/^ {2}skipped: scenario \d+: (.*)$/gm)].map((x) => x[1]!);
      expect(skips.length).toBe(Number(m![2]));
      for (const why of skips) expect(why).toMatch(/^the machine could not give it its environment: /);
      expect(skips.length).toBeLessThanOrEqual(3);
      expect(Number(m![1]) + skips.length).toBe(300);
      expect(r.code).toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 1_800_000);
});

d('fuzz --diff under a signal', () => {
  // twice: a second SIGINT 100 ms after the first, as `timeout -s INT` sends it (to the command and again to its
  // process group): one request (before, the second quit at once, with no report). group: to the whole process
  // group, as Ctrl-C at a terminal sends it (before, the executors got it too and died under a request: EPIPE,
  // exit 1 with a stack trace)
  for (const [sig, twice, group] of [
    ['SIGINT', false, false],
    ['SIGTERM', false, false],
    ['SIGINT', true, false],
    ['SIGINT', false, true],
  ] as const) {
    it(`${sig}${twice ? ' twice at once' : ''}${group ? ' to the process group' : ''} stops it after the scenarios under way, with a report of what ran (exit 3)`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'cowlab-fuzz-'));
      try {
        const orphansBefore = orphans();
        const child = spawn(
          process.execPath,
          ['bin/cowlab.js', 'fuzz', '--diff', '--seed', '11', '--count', '400', '-j', '1', '--out', out],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
            detached: group,
          },
        );
        const send = () => (group ? process.kill(-child.pid!, sig) : child.kill(sig));
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        // the first progress line (after the first batch of 64 on the host) is the moment to interrupt
        let signalled = false;
        const sent = new Promise<void>((res) =>
          child.stderr.on('data', (b: Buffer) => {
            stderr += b.toString();
            if (/\d+\/400 scenarios/.test(stderr) && !signalled) {
              signalled = true;
              send();
              if (twice) setTimeout(send, 100);
              res();
            }
          }),
        );
        const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
        await sent;
        expect(stderr).toMatch(new RegExp(`${sig}: stopping after the scenarios under way`));
        const m = /interrupted: (\d+) of 400 scenarios ran/.exec(stdout);
        expect(m, stdout + stderr).not.toBeNull();
        const ran = Number(m![1]);
        expect(ran).toBeGreaterThanOrEqual(40);
        expect(ran).toBeLessThan(400);
        expect(stdout).toMatch(
          new RegExp(`seed 11: ${ran} random scenarios .*: ${ran - Number(/(\d+) skipped/.exec(stdout)![1])} agree, 0 diverge`),
        );
        expect(code).toBe(3);
        // nothing of the run is left behind
        expect(orphans().filter((p) => !orphansBefore.includes(p))).toEqual([]);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }, 600_000);
  }
});

d('divergences that do not come back', () => {
  // The host's executors, with the first run of each program (or every run) given one fault
  // too many at step 1; `background` says whether that run also reports kswapd work.
  function tampered(rs: Parameters<typeof hostTarget>[0], background: boolean, always = false) {
    const inner = hostTarget(rs, 1);
    let calls = 0;
    const target: Target = {
      caps: () => inner.caps(),
      close: () => inner.close(),
      runMany: (jobs, each) => {
        const first = calls++ === 0 || always;
        return inner.runMany(jobs, (i, r: ExecResult) => {
          if (first) {
            const s1 = r.steps.get(1)!;
            r.steps.set(1, { ...s1, faults: s1.faults + 1 });
            if (background) r.background = { pgscan_kswapd: 7 };
          }
          each(i, r);
        });
      },
    };
    return { target, calls: () => calls };
  }
  const scenario = () => [loadScenario('scenarios/cve/cve-2020-29374-vmsplice-child.yaml')];

  it('are run again, and one that then agrees is reported as agreeing with the first divergence noted', async () => {
    const rs = scenario();
    const t = tampered(rs, true);
    const [res] = await diffScenarios(rs, { target: t.target });
    expect(res!.verdict).toBe('agree');
    expect(res!.unstable).toMatch(/pgscan_kswapd \+7\): step 1 .*faults: model \d+, kernel \d+ \(the step: \w+: \w+.*\); agreed on run 2/);
    expect(t.calls()).toBe(2);
  });

  it('without background work a divergence that goes away is unstable too; one that stays, stands', async () => {
    const rs = scenario();
    const once = tampered(rs, false);
    const [a] = await diffScenarios(rs, { target: once.target });
    expect(a!.verdict).toBe('agree');
    expect(a!.unstable).toMatch(/with no reclaim or compaction recorded: step 1 .*agreed on run 2/);
    // tampered on every run: it stands after the reruns
    const always = tampered(rs, false, true);
    const [b] = await diffScenarios(rs, { target: always.target });
    expect(b!.verdict).toBe('diverge');
    expect(b!.reason).toMatch(/diverged on 3 runs/);
    expect(always.calls()).toBe(1 + DIVERGENCE_RERUNS);
    // both sides' results of the step, side by side, the differing one marked
    const rows = b!.divergence!.rows;
    expect(rows.map((x) => x.field)).toEqual(expect.arrayContaining(['return', 'signal', 'data', 'faults', 'uffd-faults']));
    expect(rows.filter((x) => x.model !== x.kernel).map((x) => x.field)).toEqual(['faults']);
    const table = divergenceTable(b!.divergence!, '');
    expect(table[0]).toMatch(/^\s+model\s+kernel$/);
    expect(table.filter((l) => l.endsWith('<<'))).toEqual([expect.stringMatching(/^faults\s+\d+\s+\d+\s+<<$/)]);
  });

  it('a page that differs shows every compared field of that page on both sides', async () => {
    const rs = scenario();
    const inner = hostTarget(rs, 1);
    // the kernel's first page report at step 1, with one mapping more
    const target: Target = {
      caps: () => inner.caps(),
      close: () => inner.close(),
      runMany: (jobs, each) =>
        inner.runMany(jobs, (i, r: ExecResult) => {
          for (const [step, pages] of [...r.pages].sort((a, b) => a[0] - b[0])) {
            const present = [...pages].find(([, p]) => p.entry !== 0n);
            if (!present) continue;
            pages.set(present[0], { ...present[1], count: present[1].count + 5 });
            r.pages.set(step, pages);
            break;
          }
          each(i, r);
        }),
    };
    const [res] = await diffScenarios(rs, { target });
    expect(res!.verdict).toBe('diverge');
    const d = res!.divergence!;
    expect(d.field).toBe('mapcount');
    expect(d.rows.map((x) => x.field)).toEqual(expect.arrayContaining(['present', 'anon', 'mapcount', 'anonExclusive', 'folio']));
    expect(d.rows.filter((x) => x.model !== x.kernel && !x.uncompared).map((x) => x.field)).toEqual(['mapcount']);
  });

  it('in fuzz --diff too: a random scenario that diverges once and then agrees is unstable, not a finding', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cowlab-fuzz-'));
    try {
      // one fault too many at step 1 of the first scenario of the first batch only
      let batches = 0;
      const told: number[] = [];
      const once = await fuzzDiff({
        seed: 7,
        count: 8,
        jobs: 1,
        outDir: out,
        maxSteps: 8,
        onDivergence: (i) => told.push(i),
        onKernelResults: (rs) => {
          if (batches++ === 0) {
            const s1 = rs[0]!.steps.get(1)!;
            rs[0]!.steps.set(1, { ...s1, faults: s1.faults + 1 });
          }
        },
      });
      expect(once.findings).toEqual([]);
      expect(once.unstable).toHaveLength(1);
      expect(once.unstable[0]).toMatchObject({ agreedOnRun: 2, divergence: { step: 1, field: 'faults' } });
      expect(once.agreed + once.skipped).toBe(8);
      expect(told).toEqual([]);
      // on every run: it stands, is told as it is found (before the shrinking), and is shrunk like any other
      let toldFirst: { index: number; field: string; findingsDir: string[] } | null = null;
      const always = await fuzzDiff({
        seed: 7,
        count: 1,
        jobs: 1,
        outDir: out,
        maxSteps: 8,
        onDivergence: (index, d) => (toldFirst = { index, field: d.field, findingsDir: readdirSync(out) }),
        onKernelResults: (rs) => {
          for (const r of rs) {
            const s1 = r.steps.get(1);
            if (s1) r.steps.set(1, { ...s1, faults: s1.faults + 1 });
          }
        },
      });
      expect(always.unstable).toEqual([]);
      expect(always.findings).toHaveLength(1);
      expect(always.findings[0]!.shrunk).toBe(true);
      expect(toldFirst).toEqual({ index: 0, field: 'faults', findingsDir: [] });
      // --no-shrink: saved as it ran, and said so
      const asRan = await fuzzDiff({
        seed: 7,
        count: 1,
        jobs: 1,
        outDir: out,
        maxSteps: 8,
        shrink: false,
        onKernelResults: (rs) => {
          for (const r of rs) {
            const s1 = r.steps.get(1);
            if (s1) r.steps.set(1, { ...s1, faults: s1.faults + 1 });
          }
        },
      });
      expect(asRan.findings).toMatchObject([{ shrunk: false }]);
      expect(readFileSync(asRan.findings[0]!.file, 'utf8').replace(/\s+/g, ' ')).toContain('not shrunk (--no-shrink)');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);
});

d('the hugetlb pool', () => {
  it('is compared after every step: a kernel that shows other counts diverges', async () => {
    if (hugePool() === null) return console.log('SKIP hugetlb pool: no /sys/kernel/mm/hugepages/hugepages-2048kB');
    const rs = [loadScenario('scenarios/hugetlb/hugetlb-cow.yaml')];
    const target = poolTampered(rs, 1, { free: 2, resv: 1, surplus: 0 }, { free: 2, resv: 0 });
    const [res] = await diffScenarios(rs, { target });
    expect(res!.verdict).toBe('diverge');
    expect(res!.reason).toMatch(/step 1 parent: hugetlb-pool: model 2 free, 1 reserved, kernel 2 free, 0 reserved/);
  });

  it('compares surplus pages too (nr_overcommit_hugepages)', async () => {
    if (hugePool() === null) return console.log('SKIP hugetlb pool: no /sys/kernel/mm/hugepages/hugepages-2048kB');
    const rs = [loadScenario('scenarios/hugetlb/hugetlb-surplus-cow.yaml')];
    // the child's write took a page beyond the pool
    const target = poolTampered(rs, 4, { free: 0, resv: 0, surplus: 1 }, { free: 0, resv: 0, surplus: 0 });
    const [res] = await diffScenarios(rs, { target });
    expect(res!.verdict).toBe('diverge');
    expect(res!.reason).toMatch(/step 4 child: hugetlb-pool: model 0 free, 0 reserved, 1 surplus, kernel 0 free, 0 reserved, 0 surplus/);
  });
});

d('ksmd and other processes', () => {
  // a process outside cowlab with MADV_MERGEABLE memory (qemu without -machine mem-merge=off does this): ksmd
  // merges a scenario's zero-filled page into that process's equal pages, so the kernel counts a merge the
  // model (which sees only the scenario) does not; the run is skipped with the reason instead of diverging
  const ksmWhy = existsSync('/sys/kernel/mm/ksm/run') ? null : 'no /sys/kernel/mm/ksm (CONFIG_KSM)';
  if (ksmWhy) console.log(`SKIP ksmd and other processes: ${ksmWhy}`);
  (ksmWhy ? it.skip : it)(
    'a scenario whose pages ksmd could merge with another process is skipped, with the reason',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cowlab-e2e-'));
      try {
        const sc = join(dir, 'ksm-lone-zero.yaml');
        writeFileSync(
          sc,
          'name: ksm-lone-zero\nprocesses: [P0]\nsteps:\n  - P0: {mmap: a, pages: 1}\n  - P0: {write: a, value: 0}\n' +
            '  - P0: {madvise: a, advice: mergeable}\n  - P0: ksm-scan\n  - P0: {read: a}\n',
        );
        // 64 zero-filled pages of its own, mergeable, until its stdin closes (fewer than max_page_sharing, 256: a full KSM page takes no more)
        const src = join(dir, 'mergeable.c');
        writeFileSync(
          src,
          '#include <unistd.h>\n#include <sys/mman.h>\nint main(void) {\n' +
            '  size_t len = 64 * 4096; char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);\n' +
            '  char c;\n  if (p == MAP_FAILED) return 1;\n  for (size_t i = 0; i < len; i += 4096) p[i] = 0;\n' +
            '  if (madvise(p, len, MADV_MERGEABLE)) return 2;\n  write(1, "ready\\n", 6);\n  read(0, &c, 1);\n  return 0;\n}\n',
        );
        const bin = join(dir, 'mergeable');
        expect(spawnSync('cc', ['-O2', '-o', bin, src], { encoding: 'utf8' }).status).toBe(0);
        const alone = JSON.parse(cowlab('diff', '--json', sc).out) as { verdict: string; reason: string }[];
        // a machine that already runs such a process (a VM) skips it here too: said, not failed
        if (alone[0]!.verdict === 'skip' && /outside this program/.test(alone[0]!.reason))
          console.log(`NOTE ksmd and other processes: ${alone[0]!.reason}`);
        else expect(alone[0]!.verdict).toBe('agree');
        const other = spawn(bin, { stdio: ['pipe', 'pipe', 'inherit'] });
        try {
          await new Promise<void>((res) => other.stdout.once('data', () => res()));
          const beside = JSON.parse(cowlab('diff', '--json', sc).out) as { verdict: string; reason: string }[];
          expect(beside[0]!.verdict).toBe('skip');
          expect(beside[0]!.reason).toMatch(/ksmd also tracks \d+ page\(s\) of MADV_MERGEABLE memory of processes outside this program/);
        } finally {
          other.stdin.end();
          await new Promise((res) => other.on('exit', res));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

d('cowlab emit-c', () => {
  it('every shipped scenario gives a reproducer that compiles with -Wall -Werror and passes, or skips with a reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cowlab-emit-'));
    // every plain scenario, and each cow.c case on four backings (base swap, PMD THP, mTHP swapped and mremap()ed)
    const specs = loadScenarios(['scenarios/'])
      .filter((r) => !r.sc.name.includes('@') || /@(base-swap|pmd|pte-swap-64k|partial-mremap-64k|huge-zeropage|memfd)$/.test(r.sc.name))
      .map((r) => r.sc.file);
    try {
      expect(cowlab('emit-c', '--help').code).toBe(0);
      const bins = specs.map((f, i) => {
        writeFileSync(join(dir, `r${i}.c`), emitC(loadScenario(f)));
        return join(dir, `r${i}`);
      });
      // compile two at a time (the slow part), run one at a time (they set the machine up)
      const compile = (i: number) =>
        new Promise<string>((res) => {
          const cc = spawn('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-pthread', '-Wl,-z,now', '-o', bins[i]!, `${bins[i]!}.c`]);
          let err = '';
          cc.stderr.on('data', (b: Buffer) => (err += b.toString()));
          cc.on('close', () => res(err));
        });
      let next = 0;
      const errs: string[] = new Array<string>(specs.length);
      await Promise.all(
        [0, 1].map(async () => {
          for (let i = next++; i < specs.length; i = next++) errs[i] = await compile(i);
        }),
      );
      specs.forEach((f, i) => {
        expect(errs[i], f).toBe('');
        const run = spawnSync(bins[i]!, { encoding: 'utf8' });
        const plan = /^1\.\.(\d+)/m.exec(run.stdout);
        expect(plan, `${f}: ${run.stdout}`).not.toBeNull();
        if (plan![1] === '0') {
          expect(run.stdout, f).toMatch(/# SKIP \S/);
          expect(run.status).toBe(4);
          return;
        }
        expect(run.stdout, f).not.toMatch(/^not ok/m);
        expect((run.stdout.match(/^ok /gm) ?? []).length, f).toBe(Number(plan![1]));
        expect(run.status, f).toBe(0);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 1_800_000);

  it('is readable (named processes and operations, no protocol lines in its TAP) and warns when it can only skip here', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cowlab-emit-'));
    try {
      const c = join(dir, 'cve.c');
      const r = cowlab('emit-c', 'scenarios/cve/cve-2020-29374-vmsplice-child.yaml', '-o', c);
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      const text = readFileSync(c, 'utf8');
      expect(text).toContain('enum task { T_parent = 0, T_child = 1 };');
      expect(text).toContain('STEP(T_parent, OP_FORK, /* child */ T_child);');
      expect(text).toContain('STEP(T_parent, OP_MMAP, /* start */ 1, /* pages */ 1, /* prot */ PROT_READ | PROT_WRITE,');
      expect(text).not.toMatch(/\(struct step\)\{ \d/);
      const cc = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-pthread', '-o', join(dir, 'cve'), c], { encoding: 'utf8' });
      expect(cc.stderr).toBe('');
      const run = spawnSync(join(dir, 'cve'), { encoding: 'utf8' });
      expect(run.status).toBe(0);
      // only TAP: the version, the plan, results and comments that are not the executor's protocol
      for (const l of run.stdout.trim().split('\n')) expect(l).toMatch(/^(TAP version 13|1\.\.\d+|ok \d+ |not ok \d+ |# (?![A-Z] )\S)/);
      const skip = cowlab('emit-c', 'scenarios/hugetlb/hugetlb-1g-cow.yaml', '-o', join(dir, 'g.c'));
      expect(skip.code).toBe(0);
      expect(skip.err).toMatch(
        /^cowlab emit-c: warning: on this machine the reproducer will only SKIP: 1 GiB hugetlb pages are model only/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

d('the executor', () => {
  it('reports bad input with a message, not a crash', async () => {
    const e = new Executor();
    try {
      const r = await e.run(['T 1 1', 'O 0 99']);
      expect(r.status).toBe('error');
      expect(r.messages.join()).toMatch(/program line 2: bad step/);
      const r2 = await e.run(['T 1 1', 'R 1 1', 'O 0 5 1 99999999']);
      expect(r2.status).toBe('error');
      expect(r2.messages.join()).toMatch(/step 1: argument out of range/);
      const r3 = await e.run(['T 1 1', 'R 1 1', 'Q 1 2']);
      expect(r3.messages.join()).toMatch(/unknown line type 'Q'/);
      // and it still runs programs afterwards
      const ok = await e.run(['T 1 1', 'R 1 1', 'O 0 1 1 1 3 0 -1 0', 'O 0 6 1 1 2', 'O 0 5 1 1']);
      expect(ok.status).toBe('ok');
      expect(ok.steps.get(3)!.data).toEqual([2]);
    } finally {
      await e.close();
    }
  });

  it('fails a step of a task that does not exist with ESRCH, as the model does, and runs on', async () => {
    const e = new Executor();
    try {
      // two task slots, one started: the second is a child whose fork never happened (or failed)
      const r = await e.run(['T 2 1', 'R 1 1', 'O 1 6 1 1 2', 'O 0 1 1 1 3 0 -1 0', 'O 0 6 1 1 2']);
      expect(r.status).toBe('ok');
      expect(r.steps.get(1)).toMatchObject({ ret: -3, errno: 3, faults: 0 });
      expect(r.steps.get(3)!.errno).toBe(0);
    } finally {
      await e.close();
    }
  });

  it('kills a run that exceeds its time limit and leaves nothing behind', async () => {
    const before = scratchDirs();
    const e = new Executor({ timeoutMs: 1 });
    try {
      const steps = Array.from({ length: 200 }, () => 'O 0 6 1 1 2');
      const r = await e.run(['T 1 1', 'R 1 1', 'O 0 1 1 1 3 0 -1 0', ...steps]);
      expect(r.status).toBe('timeout');
    } finally {
      await e.close();
    }
    expect(scratchDirs()).toEqual(before);
  });

  it('times a program out per step, so a long program of quick steps runs to its end', async () => {
    // (4000 steps take 80 to 650 ms: 0.02 to 0.16 ms a step, by the machine's load)
    const e = new Executor({ timeoutMs: 40 });
    try {
      const steps = Array.from({ length: 4000 }, () => 'O 0 6 1 1 2');
      const t0 = Date.now();
      const r = await e.run(['T 1 1', 'R 1 1', 'O 0 1 1 1 3 0 -1 0', ...steps]);
      // longer than the limit in all, every step well within it
      expect(Date.now() - t0).toBeGreaterThan(40);
      expect(r.status).toBe('ok');
      expect(r.steps.size).toBe(4001);
    } finally {
      await e.close();
    }
  });

  it('removes the scratch directory a SIGKILLed executor left, and only that', async () => {
    const dead = spawnSync('true').pid; // a pid that is gone
    const stray = join(cacheDir(), `cowlab-run.${dead}-zzzzzz`);
    const live = join(cacheDir(), `cowlab-run.${process.pid}-zzzzzz`);
    mkdirSync(stray);
    mkdirSync(live);
    try {
      const e = new Executor();
      try {
        expect((await e.run(['T 1 1', 'R 1 1'])).status).toBe('ok');
      } finally {
        await e.close();
      }
      expect(existsSync(stray)).toBe(false);
      expect(existsSync(live)).toBe(true);
    } finally {
      rmSync(stray, { recursive: true, force: true });
      rmSync(live, { recursive: true, force: true });
    }
  });

  it('puts the machine back even when cowlab is killed', async () => {
    const before = pageCluster();
    const runsBefore = strayScratchDirs();
    const child = spawn(process.execPath, ['bin/cowlab.js', 'diff', 'scenarios/cow-selftest/anon'], { stdio: 'ignore' });
    // wait until the swapfile is on, then kill cowlab without warning
    for (let i = 0; i < 200 && swaps() === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(swaps()).toBe(1);
    child.kill('SIGKILL');
    // up to 30 s: the swap area goes off once no program of another run (another test file's) is under way
    for (let i = 0; i < 600 && (swaps() !== 0 || pageCluster() !== before); i++) await new Promise((r) => setTimeout(r, 50));
    expect(swaps()).toBe(0);
    expect(pageCluster()).toBe(before);
    // and the scratch directory of the program under way is gone with its server
    for (let i = 0; i < 40 && strayScratchDirs().some((f) => !runsBefore.includes(f)); i++) await new Promise((r) => setTimeout(r, 50));
    expect(strayScratchDirs().filter((f) => !runsBefore.includes(f))).toEqual([]);
  }, 120_000);

  it('turns swap off only for the program with a swapoff step: the area is on again for the next, and off at the end', () => {
    // the two swapoff programs run alone, one after the other: the second pages out (swapped: true) only if the
    // area came back after the first
    const r = cowlab(
      'diff',
      '--json',
      '-j',
      '2',
      'scenarios/swap/swapoff-brings-pages-back.yaml',
      'scenarios/swap/swapoff-uffd-wp.yaml',
      'scenarios/history/transient/swap-in-then-write.yaml',
    );
    const res = JSON.parse(r.out) as { scenario: string; verdict: string }[];
    expect(res.map((x) => `${x.scenario}: ${x.verdict}`)).toEqual([
      'swapoff-brings-pages-back: agree',
      'swapoff-uffd-wp: agree',
      'swap-in-then-write: agree',
    ]);
    expect(swaps()).toBe(0);
  });

  it('leaves a swap area that is not its own alone: a swapoff scenario is skipped with the reason', () => {
    const other = join(mkdtempSync(join(tmpdir(), 'cowlab-e2e-swap-')), 'other');
    writeFileSync(other, Buffer.alloc(16 << 20), { mode: 0o600 });
    if (spawnSync('mkswap', [other]).status !== 0 || spawnSync('swapon', [other]).status !== 0) {
      rmSync(join(other, '..'), { recursive: true, force: true });
      return console.log('SKIP foreign swap area: mkswap/swapon failed');
    }
    try {
      const r = cowlab('diff', '--json', 'scenarios/swap/swapoff-uffd-wp.yaml', 'scenarios/history/transient/swap-in-then-write.yaml');
      const res = JSON.parse(r.out) as { scenario: string; verdict: string; reason?: string }[];
      expect(res[0]!.verdict).toBe('skip');
      expect(res[0]!.reason).toContain('another swap area is active');
      expect(res[1]!.verdict).toBe('agree');
      expect(readFileSync('/proc/swaps', 'utf8')).toContain(other);
    } finally {
      spawnSync('swapoff', [other]);
      rmSync(join(other, '..'), { recursive: true, force: true });
    }
    expect(swaps()).toBe(0);
  });

  it('puts the hugetlb pool and its overcommit back even when cowlab is killed while a hugetlb program runs', async () => {
    const before = hugePool();
    if (before === null) return console.log('SKIP hugetlb pool: no /sys/kernel/mm/hugepages/hugepages-2048kB');
    const overcommit = () => readFileSync('/sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages', 'utf8').trim();
    const overBefore = overcommit();
    // the pools of the two scenarios (1 and 2) cannot both be the machine's own; the first allows a surplus page
    const child = spawn(
      process.execPath,
      ['bin/cowlab.js', 'diff', 'scenarios/hugetlb/hugetlb-surplus-cow.yaml', 'scenarios/hugetlb/hugetlb-cow.yaml', '-j', '1'],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 400 && (hugePool() === before || overcommit() === overBefore); i++) await new Promise((r) => setTimeout(r, 25));
    expect(hugePool()).not.toBe(before);
    expect(overcommit()).not.toBe(overBefore);
    child.kill('SIGKILL');
    for (let i = 0; i < 100 && (hugePool() !== before || overcommit() !== overBefore); i++) await new Promise((r) => setTimeout(r, 50));
    expect(hugePool()).toBe(before);
    expect(overcommit()).toBe(overBefore);
  });

  it("puts ksmd's knobs back even when cowlab is killed while ksmd runs", async () => {
    const knobs = () => Object.fromEntries(KSM_KNOBS.filter(ksmKnob).map((k) => [k, ksmKnob(k)]));
    if (!ksmKnob('run')) return console.log('SKIP ksm knobs: no /sys/kernel/mm/ksm');
    const before = knobs();
    const runsBefore = strayScratchDirs();
    const child = spawn(process.execPath, ['bin/cowlab.js', 'diff', 'scenarios/ksm/'], { stdio: 'ignore' });
    // wait until the knobs are set, then until a ksm-scan step has started ksmd (it runs for milliseconds), then kill cowlab without warning
    for (let i = 0; i < 400 && ksmKnob('sleep_millisecs') !== '0'; i++) await new Promise((r) => setTimeout(r, 25));
    expect(ksmKnob('sleep_millisecs')).toBe('0');
    const t0 = Date.now();
    while (ksmKnob('run') !== '1' && Date.now() - t0 < 10_000) await new Promise((r) => setImmediate(r));
    expect(ksmKnob('run')).toBe('1');
    // stop ksmd here, as a loaded machine may leave it unscheduled: the step's task is then still waiting
    // for scans when cowlab goes (the executor's journal puts run back to what the machine had)
    writeFileSync('/sys/kernel/mm/ksm/run', '0');
    const orphansBefore = orphans();
    const servers = childrenOf(child.pid!);
    child.kill('SIGKILL');
    for (let i = 0; i < 100 && JSON.stringify(knobs()) !== JSON.stringify(before); i++) await new Promise((r) => setTimeout(r, 50));
    expect(knobs()).toEqual(before);
    // and no process of the run is left behind under init: a scenario's tasks read EOF and exit, and the one
    // waiting for ksmd's scans leaves its wait at once (it used to poll full_scans for 2 to 12 s: a CI failure)
    const left = () => orphans().filter((p) => !orphansBefore.includes(p));
    for (let i = 0; i < 30 && left().some((p) => !servers.includes(p)); i++) await new Promise((r) => setTimeout(r, 50));
    expect(left().filter((p) => !servers.includes(p))).toEqual([]);
    // the executors themselves: one with a swap area turns it off once no program of another run (another
    // test file's) is under way (swap.lock), up to 30 s here
    for (let i = 0; i < 600 && left().length; i++) await new Promise((r) => setTimeout(r, 50));
    expect(left()).toEqual([]);
    // nor the scratch directory of the program it was killed in
    expect(strayScratchDirs().filter((f) => !runsBefore.includes(f))).toEqual([]);
  }, 120_000);
});

/**
 * The host as a target whose report of the pool after step `step` is checked
 * to be `seen` and then replaced by `shown`: a kernel that shows other counts.
 */
function poolTampered(rs: ReturnType<typeof loadScenario>[], step: number, seen: KStep['hugetlb'], shown: KStep['hugetlb']): Target {
  const inner = hostTarget(rs, 1);
  return {
    caps: () => inner.caps(),
    close: () => inner.close(),
    runMany: (jobs, each) =>
      inner.runMany(jobs, (i, r: ExecResult) => {
        const st = r.steps.get(step)!;
        expect(st.hugetlb).toEqual(seen);
        r.steps.set(step, { ...st, hugetlb: shown });
        each(i, r);
      }),
  };
}

/** nr_hugepages of the 2 MiB pool, or null without one. */
function hugePool(): string | null {
  try {
    return readFileSync('/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages', 'utf8').trim();
  } catch {
    return null;
  }
}

/** The executor's scratch directories (one per program under way). */
function scratchDirs(): string[] {
  return readdirSync(cacheDir()).filter((f) => f.startsWith('cowlab-run.'));
}

/** Scratch directories whose server (cowlab-run.<pid>-XXXXXX) is gone: left behind, not in use by another run. */
function strayScratchDirs(): string[] {
  return scratchDirs().filter((f) => {
    const pid = /^cowlab-run\.(\d+)-/.exec(f)?.[1];
    return pid !== undefined && !existsSync(`/proc/${pid}`);
  });
}

/** Executor processes of this checkout that init has adopted. */
/** The processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function orphans(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === 1 && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(join(cacheDir(), 'cowlab-exec'))) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const KSM_KNOBS = ['run', 'pages_to_scan', 'sleep_millisecs', 'smart_scan', 'use_zero_pages', 'advisor_mode'];
function ksmKnob(k: string): string | null {
  try {
    return readFileSync(`/sys/kernel/mm/ksm/${k}`, 'utf8').trim();
  } catch {
    return null;
  }
}

/* ---------------- kernels of other eras in qemu ---------------- */

const qwhy = why ?? qemuMissing();
for (const id of guestKernels) {
  const reason = qwhy ?? (fetched(id) ? null : `${id} not fetched (npx cowlab kernels fetch ${id})`);
  if (reason) console.log(`SKIP qemu differential test on ${id}: ${reason}`);
  (reason ? describe.skip : describe)(`cowlab diff --on ${id}`, () => {
    it('agrees with its profile on the CVE, a swap and a uffd-wp scenario', () => {
      const r = cowlab(
        'diff',
        '--json',
        '--on',
        id,
        'scenarios/cve/',
        'scenarios/history/vmsplice-then-swap.yaml',
        'scenarios/history/iouring-uffd-wp.yaml',
        'scenarios/regress/proc-mem-force-write-after-clear-refs.yaml',
      );
      expect(r.err).toBe('');
      const res = JSON.parse(r.out) as { scenario: string; kernel: string; verdict: string; reason: string }[];
      expect(res.map((x) => `${x.scenario}: ${x.verdict} ${x.reason}`).filter((x) => !/: agree $/.test(x))).toEqual([]);
      expect(res.every((x) => x.kernel === id)).toBe(true);
    }, 120_000);
  });
}

/* cowlab killed while a guest runs: the guest and its directory go with it */
{
  const id = guestKernels.find(fetched);
  const reason = qwhy ?? (id ? null : 'no kernel fetched (npx cowlab kernels fetch)');
  if (reason) console.log(`SKIP qemu kill test: ${reason}`);
  (reason ? describe.skip : describe)('cowlab diff --on KERNEL under a signal', () => {
    const guestsOf = (pid: number) => spawnSync('pgrep', ['-f', `guest-${pid}-`], { encoding: 'utf8' }).stdout.trim();
    const dirsOf = (pid: number) => readdirSync(cacheDir()).filter((n) => n.startsWith(`guest-${pid}-`));
    // group: to cowlab's process group, as Ctrl-C at a terminal sends it (qemu has its own group: cowlab stops it)
    for (const [sig, group] of [
      ['SIGINT', false],
      ['SIGTERM', false],
      ['SIGKILL', false],
      ['SIGINT', true],
    ] as const) {
      it(`${sig}${group ? ' to the process group' : ''}: no qemu left, and no guest directory once a later run starts`, async () => {
        const child = spawn(process.execPath, ['bin/cowlab.js', 'diff', '--on', id!, '-j', '1', 'scenarios/ksm/', 'scenarios/cve/'], {
          stdio: 'ignore',
          detached: group,
        });
        const pid = child.pid!;
        const exited = new Promise<void>((res) => child.on('exit', () => res()));
        // wait until the guest is up
        for (let i = 0; i < 100 && !guestsOf(pid); i++) await new Promise((r) => setTimeout(r, 100));
        expect(guestsOf(pid)).not.toBe('');
        if (group) process.kill(-pid, sig);
        else child.kill(sig);
        await exited;
        await new Promise((r) => setTimeout(r, 500));
        expect(guestsOf(pid)).toBe('');
        // a SIGKILLed cowlab cannot clean up: the next run that boots a guest removes what it left
        if (sig === 'SIGKILL') cowlab('diff', '--on', id!, 'scenarios/cve/cve-2020-29374-vmsplice-child.yaml');
        expect(dirsOf(pid)).toEqual([]);
      }, 180_000);
    }
  });
}

d('fuzz --diff in shards', () => {
  it('two shards merged give the counts of one run on this kernel (docs/sharding.md)', () => {
    const out = mkdtempSync(join(tmpdir(), 'cowlab-fuzz-shard-'));
    try {
      const args = ['fuzz', '--diff', '--seed', '4', '--count', '10', '-j', '2', '--out', out];
      const one = cowlab(...args, '--json');
      expect(one.code, one.err).toBe(0);
      const files = [1, 2].map((i) => {
        const r = cowlab(...args, '--shard', `${i}/2`);
        expect(r.code, r.err).toBe(0);
        const f = join(out, `part-${i}.json`);
        writeFileSync(f, r.out);
        return f;
      });
      const merged = cowlab('merge', ...files, '--format', 'json');
      expect(merged.code, merged.err).toBe(0);
      const strip = (s: string) => ({ ...(JSON.parse(s) as Record<string, unknown>), seconds: 0 });
      expect(strip(merged.out)).toEqual(strip(one.out));
      expect(strip(one.out)).toMatchObject({ seed: 4, ran: 10 });
      // and as text, the report fuzz --diff prints
      expect(cowlab('merge', ...files).out).toMatch(
        /^seed 4: 10 random scenarios in [\d.]+ s: \d+ agree, 0 diverge \(0 kind\(s\)\), \d+ skipped/,
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
