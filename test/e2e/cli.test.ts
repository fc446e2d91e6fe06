/** End-to-end: the built `cowlab` command, as a user runs it. */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function cowlab(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/cowlab.js', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('cowlab run', () => {
  it('passes every shipped scenario on linux-6.18: the eight hugetlb vmsplice leaks cow.c itself expects and the two torn forks (I2) are XFAIL, five n/a ones SKIP', () => {
    const r = cowlab('run', 'scenarios/');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /\d+ scenario\(s\): \d+ passed, 0 failed, 10 failed as documented \(XFAIL\), 0 passed where a failure is documented \(XPASS\), 5 skipped/,
    );
    const xfail = [...r.out.matchAll(/^XFAIL (\S+)/gm)].map((m) => m[1]).sort();
    expect(xfail).toEqual(
      [
        'fork-tearing-pinned',
        'hugetlb-fork-tearing',
        ...['vmsplice-after-fork', 'vmsplice-before-fork', 'vmsplice-unmap-in-child-mprotect', 'vmsplice-unmap-in-child'].flatMap((c) => [
          `${c}@hugetlb-1g`,
          `${c}@hugetlb-2m`,
        ]),
      ].sort(),
    );
    // the matrix's n/a: linux-6.18 has no soft-dirty (clear_refs to pin against, pagemap bit 55)
    expect(r.out).toMatch(/^SKIP {2}pin-clear-refs .*\n {6}\S/m);
    expect(r.out).toMatch(/^SKIP {2}clear-refs-stale-tlb .*\n {6}linux-6.18 is built without CONFIG_MEM_SOFT_DIRTY/m);
    expect(r.out).toMatch(/^SKIP {2}soft-dirty .*\n {6}linux-6.18 is built without CONFIG_MEM_SOFT_DIRTY/m);
    expect(r.out).toMatch(/^SKIP {2}swapoff-soft-dirty .*\n {6}linux-6.18 is built without CONFIG_MEM_SOFT_DIRTY/m);
  });

  it('filters by name (--grep), stops at the first failure (--bail) and prints kselftest TAP (--tap); --version', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cowlab-'));
    try {
      const steps = 'steps:\n  - p: {mmap: mem}\n  - p: {write: mem}\n  - p: {fork: c}\n  - p: {write: mem}\n';
      writeFileSync(join(dir, 'a-pass.yaml'), steps);
      // a leak the scenario does not document: FAIL on linux-5.7
      writeFileSync(
        join(dir, 'b-leak.yaml'),
        'steps:\n  - p: {mmap: mem}\n  - p: {write: mem}\n  - p: {fork: c}\n  - c: {pipe: x}\n  - c: {vmsplice: mem, pipe: x}\n  - c: {munmap: mem}\n  - p: {write: mem}\n  - c: {read-pipe: x}\n',
      );
      writeFileSync(join(dir, 'c-pass.yaml'), steps);
      const bail = cowlab('run', '--kernel', 'linux-5.7', '--bail', dir);
      expect(bail.code).toBe(1);
      expect(bail.out).toMatch(/^PASS {2}a-pass /m);
      expect(bail.out).toMatch(/^FAIL {2}b-leak /m);
      expect(bail.out).not.toContain('c-pass');
      expect(bail.out).toContain(
        '2 scenario(s): 1 passed, 1 failed, 0 failed as documented (XFAIL), 0 passed where a failure is documented (XPASS), 0 skipped; stopped at the first failure (--bail): 1 not run',
      );
      const tap = cowlab('run', '--kernel', 'linux-5.7', '--tap', '--grep', 'leak|c-', dir);
      expect(tap.code).toBe(1);
      expect(tap.out.split('\n')[0]).toBe('TAP version 13');
      expect(tap.out).toContain('1..2\nnot ok 1 b-leak (linux-5.7)\n# step 8: no-leak:');
      expect(tap.out).toContain('ok 2 c-pass (linux-5.7)\n# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:0 error:0');
      expect(cowlab('run', '--grep', '(', dir).err).toContain('--grep: not a regular expression');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(cowlab('--version').out).toMatch(/^cowlab \d+\.\d+\.\d+( \(commit [0-9a-f]{12}\))?\n?$/);
  });

  it('passes or fails as documented every shipped scenario on each Debian kernel (judged as its base profile where no key names it)', () => {
    for (const k of ['debian-5.10', 'debian-6.1', 'debian-6.12', 'debian-7.x']) {
      const r = cowlab('run', '--kernel', k, 'scenarios/');
      expect(r.out, k).toMatch(
        /\d+ scenario\(s\): \d+ passed, 0 failed, \d+ failed as documented \(XFAIL\), 0 passed where a failure is documented \(XPASS\), \d+ skipped/,
      );
      expect(r.code, k).toBe(0);
    }
  }, 300_000);

  it('judges a scenario by its expect: block as the matrix does (XFAIL, XPASS, a wrong copy count), with kselftest words', () => {
    const cve = cowlab('run', '--kernel', 'linux-5.7', 'scenarios/cve/cve-2020-29374-vmsplice-child.yaml');
    expect(cve.code).toBe(0);
    expect(cve.out).toMatch(/^XFAIL cve-2020-29374-vmsplice-child .*linux-5\.7\)$/m);
    expect(cve.out).toContain('documented: mapcount 1');
    const dir = mkdtempSync(join(tmpdir(), 'cowlab-'));
    try {
      const steps = 'steps:\n  - p: {mmap: mem}\n  - p: {write: mem}\n  - p: {fork: c}\n  - p: {write: mem}\n';
      const xpass = join(dir, 'xpass.yaml');
      writeFileSync(xpass, `expect:\n  linux-6.18: {fail: no-leak, because: claimed}\n${steps}`);
      const x = cowlab('run', xpass);
      expect(x.code).toBe(1);
      expect(x.out).toMatch(/^XPASS xpass /m);
      expect(x.out).toContain('documented to fail: claimed');
      const copies = join(dir, 'copies.yaml');
      writeFileSync(copies, `expect:\n  default: {pass: fine, copies: 5}\n${steps}`);
      const c = cowlab('run', copies);
      expect(c.code).toBe(1);
      expect(c.out).toMatch(/^FAIL {2}copies /m);
      expect(c.out).toContain('1 copies (documented: 5)');
      const j = JSON.parse(cowlab('run', '--json', copies, xpass).out) as Record<string, unknown>[];
      expect(j.map((o) => o.result)).toEqual(['FAIL', 'XPASS']);
      // the same verdicts as JUnit XML for CI: XFAIL passes (and says why), FAIL and XPASS fail
      const xml = join(dir, 'out', 'junit.xml');
      expect(cowlab('run', '--junit', xml, copies).err).toMatch(/^cowlab: --junit: .*: no such directory /);
      mkdirSync(join(dir, 'out'));
      const xfail = 'scenarios/cow-selftest/anon/03-vmsplice-unmap-in-child.yaml#hugetlb-2m';
      const u = cowlab('run', '--junit', xml, copies, xpass, xfail);
      expect(u.code).toBe(1);
      const report = readFileSync(xml, 'utf8');
      expect(report).toMatch(/<testsuite name="cowlab run \(linux-6\.18\)" tests="3" failures="2" skipped="0" errors="0">/);
      expect(report).toMatch(
        /<testcase name="vmsplice-unmap-in-child@hugetlb-2m \(linux-6\.18\)"[^>]*>\s*<system-out>XFAIL: fails as documented/,
      );
      expect(report).toMatch(/<failure message="XPASS: documented: claimed">/);
      expect(readdirSync(join(dir, 'out'))).toEqual(['junit.xml']);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('prints the JSON fields the issue asks for', () => {
    const r = cowlab('run', '--json', 'scenarios/cow-selftest/anon/03-vmsplice-unmap-in-child.yaml#base');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as Record<string, unknown>[];
    expect(j).toHaveLength(1);
    expect(j[0]).toMatchObject({
      scenario: 'vmsplice-unmap-in-child@base',
      kernel: 'linux-6.18',
      verdict: 'pass',
      violations: [],
      selftestCase: 'vmsplice() + unmap in child',
      backing: 'base page',
    });
    expect(j[0]!.file).toBe('scenarios/cow-selftest/anon/03-vmsplice-unmap-in-child.yaml#base');
  });

  it('--trace shows the kernel path and the page counts', () => {
    const r = cowlab('run', '--trace', 'scenarios/cve/cve-2020-29374-vmsplice-child.yaml');
    expect(r.code).toBe(0);
    expect(r.out).toContain('wp_can_reuse_anon_folio');
    expect(r.out).toContain('wp_page_copy');
    expect(r.out).toMatch(/pfn#\d+: ref \d+ map \d+ \[anon/);
    expect(r.out).toContain('legend: pfn#N = a physical frame');
    expect(r.out).toContain('held by pipe p');
  });

  it('exits 1 with the property, step and message when a scenario fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cowlab-'));
    try {
      const f = join(dir, 'wrong.yaml');
      writeFileSync(
        f,
        'steps:\n  - p: {mmap: mem}\n  - p: {write: mem, label: a}\n  - p: {write: mem, label: b}\n  - p: {read: mem, expect: {sees: a}}\n',
      );
      const r = cowlab('run', f);
      expect(r.code).toBe(1);
      expect(r.out).toContain('FAIL  wrong');
      expect(r.out).toContain('step 4: expectation: page 0: expected the data written at step 2 (a), read the data written at step 3 (b)');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('a malformed scenario gives one line with its position and exit code 2, no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cowlab-'));
    try {
      const f = join(dir, 'bad.yaml');
      writeFileSync(f, 'steps:\n  - p: {mmap: mem, pages: lots}\n');
      const r = cowlab('run', f);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^cowlab: .*bad\.yaml:2:27: step 1 p\.pages: expected number, received string\n$/);
      expect(r.err).not.toMatch(/\s+at /);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('a malformed file in a directory is reported and the rest still run (exit 2 at the end)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cowlab-'));
    try {
      writeFileSync(join(dir, 'a-bad.yaml'), 'steps:\n  - p: {mmap: mem, pages: lots}\n');
      writeFileSync(join(dir, 'b-good.yaml'), 'steps:\n  - p: {mmap: mem}\n  - p: {write: mem}\n');
      const r = cowlab('run', dir);
      expect(r.code).toBe(2);
      expect(r.out).toMatch(/^PASS {2}b-good /m);
      expect(r.out).toContain('1 scenario(s): 1 passed');
      expect(r.err).toMatch(/a-bad\.yaml:2:27: step 1 p\.pages: expected number/);
      expect(r.err).toContain('1 file(s) could not be loaded (above); the others ran');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('a missing file and an unknown kernel are usage errors (exit 2)', () => {
    expect(cowlab('run', 'no/such/file.yaml').code).toBe(2);
    const r = cowlab('run', '--kernel', 'linux-9.9', 'scenarios/cve');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown kernel "linux-9.9"; known: linux-4.8, .*linux-6.18/);
  });

  it('run --help points to the scenario format reference', () => {
    const r = cowlab('run', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('docs/scenario-format.md');
  });
});

describe('cowlab matrix on several threads', () => {
  it('prints what one thread prints, character for character, a shard too', () => {
    // threads claim rows one at a time (src/matrix/parallel.ts): which thread makes a row depends on timing
    for (const extra of [[], ['--shard', '2/2']]) {
      const one = cowlab('matrix', '--scenarios', 'scenarios/history', '--format', 'json', '-j', '1', ...extra);
      const two = cowlab('matrix', '--scenarios', 'scenarios/history', '--format', 'json', '-j', '2', ...extra);
      expect(one.err).toBe('');
      expect(one.out.length).toBeGreaterThan(1000);
      expect([two.code, two.out, two.err]).toEqual([one.code, one.out, one.err]);
    }
  }, 120_000);
});

describe('cowlab kernels', () => {
  it('--json lists id, title, based-on and commits', () => {
    const r = cowlab('kernels', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { id: string; title: string; basedOn: string | null; commits: string[] }[];
    const host = j.find((p) => p.id === 'linux-6.18');
    expect(host).toBeDefined();
    expect(host!.commits.length).toBeGreaterThan(0);
  });
});

describe('cowlab explore', () => {
  let tmp = '';
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'cowlab-e2e-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  it('finds the vmsplice leak on linux-5.7 (exit 1), writes a scenario cowlab run reproduces, and --json has the fields', () => {
    const out = join(tmp, 'cex.yaml');
    const r = cowlab('explore', 'explore/vmsplice-leak.yaml', '--json', '--out', out);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as Record<string, unknown>;
    for (const k of ['verdict', 'property', 'depth', 'states', 'distinct', 'seconds', 'scenarioFile']) expect(j).toHaveProperty(k);
    expect(j.verdict).toBe('violation');
    expect(j.scenarioFile).toBe(out);
    const run = cowlab('run', '--kernel', 'linux-5.7', out);
    expect(run.code).toBe(1);
    expect(run.out).toContain('no-leak');
  });
  it('exhausts linux-6.18 (exit 0), stops at a limit (exit 3), and rejects bad input (exit 2) with a position', () => {
    expect(cowlab('explore', 'explore/vmsplice-leak.yaml', '--kernel', 'linux-6.18').code).toBe(0);
    expect(cowlab('explore', 'explore/vmsplice-leak.yaml', '--kernel', 'linux-6.18', '--max-states', '100').code).toBe(3);
    const dir = tmp;
    writeFileSync(join(dir, 'bad.yaml'), 'processes: 2\nops: [write, frok]\n');
    const bad = cowlab('explore', join(dir, 'bad.yaml'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/bad\.yaml:2:\d+: .*expected one of/);
    expect(bad.err).not.toContain('    at ');
  });

  it('rejects a depth past 1024 and more workers than CPUs (exit 2) instead of running out of memory', () => {
    const deep = cowlab('explore', 'explore/vmsplice-leak.yaml', '--depth', '1000000000');
    expect(deep.code).toBe(2);
    expect(deep.err).toMatch(/--depth: expected an integer from 1 to 1024/);
    const wide = cowlab('explore', 'explore/vmsplice-leak.yaml', '-w', '1000');
    expect(wide.code).toBe(2);
    expect(wide.err).toMatch(/--workers: expected an integer from 1 to \d+ \(one per CPU\)/);
  });

  it('writes a counterexample that names its kernel, so `cowlab run FILE` replays it there (and --kernel overrides)', () => {
    const file = join(tmp, 'cx.yaml');
    const r = cowlab('explore', 'explore/vmsplice-leak.yaml', '--kernel', 'linux-5.7', '--out', file);
    expect(r.code).toBe(1);
    expect(r.out).toContain('cowlab run reproduces it');
    const run = cowlab('run', file);
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/^FAIL {2}vmsplice-leak-counterexample .*linux-5\.7\)\n {6}step \d+: no-leak:/m);
    expect(cowlab('run', '--kernel', 'linux-6.18', file).code).toBe(0);
    // a kernel that no profile has is an error at its position
    writeFileSync(join(tmp, 'typo.yaml'), 'kernel: linux-5.77\nsteps:\n  - p: {mmap: mem}\n');
    const typo = cowlab('run', join(tmp, 'typo.yaml'));
    expect(typo.code).toBe(2);
    expect(typo.err).toContain('typo.yaml:1:9: kernel: unknown kernel "linux-5.77" (did you mean "linux-5.7"?)');
  });

  it('refuses --out DIR, a FIFO as configuration, and --kernel with --profile (exit 2, nothing left behind)', () => {
    const dir = join(tmp, 'outdir');
    mkdirSync(dir);
    const r = cowlab('explore', 'explore/vmsplice-leak.yaml', '--kernel', 'linux-5.7', '--out', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--out: ${dir}: is a directory`);
    expect(readdirSync(tmp).filter((n) => n.includes('.tmp'))).toEqual([]);
    spawnSync('mkfifo', [join(tmp, 'fifo.yaml')]);
    const f = spawnSync(process.execPath, ['bin/cowlab.js', 'explore', join(tmp, 'fifo.yaml')], { encoding: 'utf8', timeout: 10000 });
    expect(f.signal).toBeNull();
    expect(f.status).toBe(2);
    expect(f.stderr).toMatch(/a FIFO, not a regular file/);
    const both = cowlab('explore', 'explore/vmsplice-leak.yaml', '--kernel', 'linux-5.7', '--profile', 'examples/profiles/none.mjs');
    expect(both.code).toBe(2);
    expect(both.err).toContain('use --kernel or --profile, not both');
  });

  it('stays near --max-memory with two workers and says so (exit 3)', () => {
    // two threads start near 200 MiB; 4 processes grow past 250 MiB in some 200,000 states (results are
    // taken as the chunks come in: 300 MiB took 1.4 million states, over a minute on a loaded machine)
    const r = cowlab(
      'explore',
      'explore/spin-reference.yaml',
      '--kernel',
      'linux-5.9',
      '--processes',
      '4',
      '-w',
      '2',
      '--max-memory',
      '250',
      '--json',
    );
    expect(r.code).toBe(3);
    const j = JSON.parse(r.out) as { stoppedBy: string; memoryLimitMb: number; peakRssMb: number };
    expect(j.stoppedBy).toBe('memory');
    expect(j.memoryLimitMb).toBe(250);
    expect(j.peakRssMb).toBeLessThan(250 * 1.2);
  }, 180_000);

  it('without a terminal, says every --progress-every seconds how far it is (0: never)', () => {
    const search = (every: string) =>
      cowlab(
        'explore',
        'explore/spin-reference.yaml',
        '--kernel',
        'linux-5.9',
        '--processes',
        '3',
        '--max-states',
        '100000',
        '--json',
        '--progress-every',
        every,
      );
    const line = /^cowlab explore: \d+ s: depth \d+, \d+ transitions, \d+ distinct, \d+ in the level, \d+ states\/s, \d+ MiB$/gm;
    // some 3 s of search (150,000 states of 3 x 1)
    const r = search('1');
    expect(r.code).toBe(3);
    expect((JSON.parse(r.out) as { stoppedBy: string }).stoppedBy).toBe('max-states');
    const lines = r.err.match(line) ?? [];
    expect(lines.length, r.err).toBeGreaterThanOrEqual(1);
    // at most one a second
    const secs = lines.map((l) => Number(/: (\d+) s:/.exec(l)![1]));
    secs.slice(1).forEach((s, i) => expect(s).toBeGreaterThan(secs[i]!));
    expect(search('0').err.match(line)).toBeNull();
    const bad = search('-1');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--progress-every');
  }, 60_000);

  /** `cowlab explore` on 4 processes of spin-reference (linux-5.9), running in the background. */
  const startExplore = (extra: readonly string[] = []) => {
    const child = spawn(process.execPath, [
      'bin/cowlab.js',
      'explore',
      'explore/spin-reference.yaml',
      '--kernel',
      'linux-5.9',
      '--processes',
      '4',
      ...extra,
    ]);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    // its first line on stderr comes once the signal handlers are in place: signals sent before then (a loaded
    // machine can take seconds to start node) would kill it the default way
    const ready = new Promise<void>((res) => child.stderr.once('data', () => res()));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    return { child, exited, out: () => stdout, ready };
  };
  /** Waits for the search to be under way, then `ms` more. */
  const running = async (x: { ready: Promise<void> }, ms: number) => {
    await x.ready;
    await new Promise((res) => setTimeout(res, ms));
  };

  // BFS on one thread and on two, and swarm: each must stop within seconds of the signal with what it covered
  for (const [name, extra] of [
    ['breadth-first, one thread', []],
    ['breadth-first, two workers', ['-w', '2']],
    ['swarm, one thread', ['--swarm', '--seed', '1', '--walks', '100000000']],
    ['swarm, two workers', ['--swarm', '--seed', '1', '--walks', '100000000', '-w', '2']],
  ] as const) {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      it(`${sig} stops ${name} with the summary so far (exit 3)`, async () => {
        const x = startExplore(extra);
        const { child, exited, out } = x;
        await running(x, 1500);
        const sent = Date.now();
        child.kill(sig);
        const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
        const code = await exited;
        clearTimeout(timer);
        expect(Date.now() - sent).toBeLessThan(5000);
        expect(code).toBe(3);
        expect(out()).toMatch(/^STOPPED .*stopped \(interrupted\)/m);
      }, 20000);
    }
  }

  // `timeout -s INT` signals the command and then its process group: one request, not "quit at once"
  it('a signal delivered twice at once stops with the summary; a second one later quits at once', async () => {
    const a = startExplore();
    await running(a, 1500);
    a.child.kill('SIGINT');
    await new Promise((res) => setTimeout(res, 50));
    a.child.kill('SIGINT');
    expect(await a.exited).toBe(3);
    expect(a.out()).toMatch(/^STOPPED .*stopped \(interrupted\)/m);
    // a search stops at its next check, within a fraction of a second: it has quit before a later one arrives, or
    // the later one quits it at once (exit 3 either way, never a hang)
    const b = startExplore();
    await running(b, 1500);
    b.child.kill('SIGINT');
    await new Promise((res) => setTimeout(res, 1500));
    b.child.kill('SIGINT');
    expect(await b.exited).toBe(3);
  }, 30000);
});
