/**
 * End-to-end: plain user mistakes (issue 12) end in one clear message on
 * stderr naming the file, and exit status 2: no "internal error", no stack
 * trace, no hang, and nothing half-written left behind.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CVE = 'scenarios/cve/cve-2020-29374-vmsplice-child.yaml';
const PROFILE = 'examples/profiles/aa-fork-copies-all-gup.mjs';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cowlab-bad-input-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs the built cowlab; a hang is cut short by `timeout` (and then seen as `signal`). */
function cowlab(args: string[], o: { env?: Record<string, string>; timeout?: number } = {}) {
  const r = spawnSync(process.execPath, ['bin/cowlab.js', ...args], {
    encoding: 'utf8',
    timeout: o.timeout ?? 30_000,
    env: { ...process.env, ...o.env },
  });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

/** Exit 2 with one message that names every `mention`; neither a bug report nor a stack trace, and not killed by the timeout. */
function expectUsage(r: ReturnType<typeof cowlab>, ...mentions: string[]): void {
  expect(r.signal, 'killed by the timeout: it hung').toBeNull();
  expect(r.err).not.toContain('internal error');
  expect(r.err).not.toMatch(/\n\s+at /);
  expect(r.code, r.err).toBe(2);
  for (const m of mentions) expect(r.err).toContain(m);
}

/** A fresh directory inside the test's temporary one. */
function sub(name: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** Files under `d` whose names say a temporary file was left behind. */
const leftovers = (d: string) => readdirSync(d, { recursive: true, encoding: 'utf8' }).filter((n) => /\.tmp/.test(n));

describe('links in a scenario directory (1)', () => {
  it('a link loop is walked once: each scenario runs once', () => {
    const loop = sub('loop');
    writeFileSync(join(loop, 'a.yaml'), 'steps:\n  - p: {mmap: mem}\n  - p: {write: mem}\n');
    symlinkSync('../loop', join(loop, 'self'));
    const r = cowlab(['run', loop]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('1 scenario(s): 1 passed');
  });

  it('a *.yaml link to itself is named as a link loop (exit 2)', () => {
    const d = sub('selflink');
    symlinkSync('x.yaml', join(d, 'x.yaml'));
    expectUsage(cowlab(['run', d]), join(d, 'x.yaml'), 'symbolic link loop');
  });

  it('a dangling *.yaml link is named, with where it points (exit 2)', () => {
    const d = sub('dangling');
    symlinkSync('/nonexistent', join(d, 'x.yaml'));
    expectUsage(cowlab(['run', d]), join(d, 'x.yaml'), 'dangling symbolic link', '/nonexistent');
  });
});

describe('a FIFO named *.yaml is not opened (2)', () => {
  const fifo = (d: string, name: string) => {
    const f = join(d, name);
    execFileSync('mkfifo', [f]);
    return f;
  };

  it('given as a file', () => {
    const f = fifo(sub('fifo1'), 'f.yaml');
    expectUsage(cowlab(['run', f], { timeout: 10_000 }), f, 'not a regular file');
  });

  it('given as FILE#INSTANCE', () => {
    const f = fifo(sub('fifo2'), 'f.yaml');
    expectUsage(cowlab(['run', `${f}#x`], { timeout: 10_000 }), f, 'not a regular file');
  });

  it('inside a directory', () => {
    const d = sub('fifo3');
    const f = fifo(d, 'g.yaml');
    expectUsage(cowlab(['run', d], { timeout: 10_000 }), f, 'not a regular file');
  });
});

describe('output files (3)', () => {
  it('emit-c -o DIR: refused, and no temporary file left', () => {
    const d = sub('emit-dir');
    const out = sub('emit-dir/out');
    expectUsage(cowlab(['emit-c', CVE, '-o', out]), out, 'is a directory');
    expect(leftovers(d)).toEqual([]);
  });

  it('emit-c -o MISSING/x.c: the missing directory is named', () => {
    const d = sub('emit-missing');
    const out = join(d, 'missing', 'x.c');
    expectUsage(cowlab(['emit-c', CVE, '-o', out]), out, 'no such directory');
    expect(leftovers(d)).toEqual([]);
  });

  it('fuzz --out FILE: refused before the run', () => {
    const d = sub('fuzz-out');
    const f = join(d, 'file');
    writeFileSync(f, '');
    expectUsage(cowlab(['fuzz', '--seed', '1', '--count', '2', '--out', f]), f, 'not a directory');
    expect(leftovers(d)).toEqual([]);
  });
});

describe('numeric options (4)', () => {
  for (const [args, opt] of [
    [['fuzz', '--count', '1', '--steps', '0'], '--steps'],
    [['fuzz', '--count', '0'], '--count'],
    [['fuzz', '--count', '1', '--seed', 'abc'], '--seed'],
    [['fuzz', '--count', '1', '-j', '0'], '--jobs'],
    [['diff', '-j', 'abc', CVE], '--jobs'],
    [['fidelity', '-j', 'abc', CVE], '--jobs'],
    [['matrix', '-j', '0', '--kernels', 'linux-6.18', '--scenarios', 'scenarios/cve'], '--jobs'],
  ] as const) {
    it(`${args.join(' ')}`, () => {
      const r = cowlab([...args]);
      expectUsage(r, `${opt}: expected an integer`);
    });
  }
});

describe('profile modules (5, 8)', () => {
  for (const [name, body, shown] of [
    ['throws-42.mjs', 'throw 42;\n', 'it threw 42'],
    ['throws-object.mjs', 'throw { a: 1 };\n', 'it threw {"a":1}'],
  ] as const) {
    it(`a module that throws a non-Error value (${body.trim()})`, () => {
      const f = join(sub('profiles'), name);
      writeFileSync(f, body);
      expectUsage(cowlab(['run', '--profile', f, CVE]), f, shown);
    });
  }

  it("a module with a built-in profile's id is refused, by matrix and by run", () => {
    const f = join(sub('profiles'), 'clash.mjs');
    writeFileSync(
      f,
      "import { derive, profileById } from 'cowlab';\n" +
        "export default derive(profileById('linux-6.18'), { id: 'linux-6.18', title: 'mine', summary: 'mine', mech: {} });\n",
    );
    expectUsage(cowlab(['matrix', '--kernels', 'linux-6.18', '--profile', f, '--scenarios', 'scenarios/cve']), f, '"linux-6.18"');
    expectUsage(cowlab(['run', '--profile', f, CVE]), f, '"linux-6.18"');
  });
});

describe('scenario text (6, 10)', () => {
  it('an alias bomb: exit 2 at file:line:col', () => {
    const f = join(sub('yaml'), 'bomb.yaml');
    const names = 'abcdefg';
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < names.length; i++)
      lines.push(
        `${names[i]}: &${names[i]} [${Array(10)
          .fill(`*${names[i - 1]}`)
          .join(', ')}]`,
      );
    writeFileSync(f, `${lines.join('\n')}\nsteps: *g\n`);
    const r = cowlab(['run', f]);
    expectUsage(r, 'alias');
    expect(r.err).toMatch(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
  });

  // none of these may be quoted back: the message says what a scenario is instead
  const SECRET = 'root:$6$s3cr3t$hash:19000:0:99999:7:::';
  for (const [name, content] of [
    ['shadow.yaml', `${SECRET}\n`],
    ['one-line.yaml', 'the s3cr3t plan, in plain words\n'],
    ['mapping-line.yaml', `${SECRET}: x\n`],
    ['empty.yaml', ''],
    ['binary.yaml', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x73, 0x33, 0x63, 0x72, 0x33, 0x74, 0xff, 0xfe, 0x0a])],
    ['latin1.yaml', Buffer.from('steps: caf\xe9 s3cr3t\n', 'latin1')],
  ] as const) {
    it(`${name}: what was expected, at a position, none of the content`, () => {
      const f = join(sub('text'), name);
      writeFileSync(f, content);
      const r = cowlab(['run', f]);
      expectUsage(r, `${f}:1:`, 'expected a scenario');
      expect(r.err).not.toContain('s3cr3t');
      expect(r.err).not.toMatch(/[^\n -~]/); // printable ASCII only
    });
  }
});

function cacheMissing(): string | null {
  if (process.getuid?.() !== 0) return 'not root: cowlab diff runs the executor on the host only as root';
  if (spawnSync('cc', ['--version']).status !== 0) return 'no C compiler (cc)';
  return null;
}
const cacheWhy = cacheMissing();
if (cacheWhy) console.log(`SKIP COWLAB_CACHE tests: ${cacheWhy}`);

describe('COWLAB_CACHE that cannot be a directory (7)', () => {
  it.skipIf(cacheWhy !== null)('a regular file', () => {
    const f = join(sub('cache'), 'file');
    writeFileSync(f, '');
    expectUsage(cowlab(['diff', CVE], { env: { COWLAB_CACHE: f } }), 'COWLAB_CACHE', f);
  });

  it.skipIf(cacheWhy !== null)('a path procfs refuses (/proc/nope): no busy loop', () => {
    expectUsage(cowlab(['diff', CVE], { env: { COWLAB_CACHE: '/proc/nope' }, timeout: 20_000 }), 'COWLAB_CACHE', '/proc/nope');
  });
});

describe('--kernel and --profile together (9)', () => {
  for (const cmd of [
    ['run', CVE],
    ['diff', CVE],
    ['fuzz', '--count', '1'],
    ['fuzz', '--diff', '--count', '1'],
  ]) {
    it(cmd.join(' '), () => {
      const d = sub('both');
      expectUsage(
        cowlab([...cmd, '--kernel', 'linux-6.18', '--profile', PROFILE, ...(cmd[0] === 'fuzz' ? ['--out', d] : [])]),
        'use --kernel or --profile, not both',
      );
    });
  }

  it('--profile alone still runs', () => {
    const r = cowlab(['run', '--profile', PROFILE, CVE]);
    expect(r.err).toBe('');
    expect(r.out).toContain('aa-fork-copies-all-gup');
  });
});
