/**
 * Property: whatever a user points `cowlab run` at (mangled scenario text,
 * binary bytes, alias bombs, deep nesting; symbolic link loops, dangling
 * links, FIFOs, directories named *.yaml, deep trees), loading, resolving
 * and running it either works or throws InputError (exit 2), never any
 * other exception (exit 70), and never hangs. Plus a few spawned CLI runs
 * on generated layouts: exit 0, 1 or 2, and no stack trace.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// the built code (npm test builds first): as plain Node modules it runs about 4.5 times faster than through
// vitest's module transform (vitest.config.ts), and each mangled scenario is run
import { loadScenarios } from '../../dist/scenario/load.js';
import { runScenario } from '../../dist/scenario/run.js';
import { InputError } from '../../dist/scenario/errors.js';
import { linux_6_18 } from '../../dist/profiles/linux-6.18.js';
import { envOption } from '../../dist/cli/util.js';

/** What one case may take in-process (the machine may be busy): a hang is far longer. */
const CASE_MS = 20_000;

let root = '';
let corpus: Buffer[] = [];
/** A small scenario (no template) for the entries of layouts that are not mangled. */
let small = Buffer.alloc(0);
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'cowlab-hostile-'));
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.yaml')) files.push(join(d, e.name));
    }
  };
  walk('scenarios');
  corpus = files.map((f) => readFileSync(f));
  small = readFileSync('scenarios/cve/cve-2020-29374-vmsplice-child.yaml');
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

let serial = 0;
/** A fresh directory for one case. */
function caseDir(): string {
  const d = join(root, `case-${serial++}`);
  mkdirSync(d);
  return d;
}

/** What `cowlab run PATH...` does in-process: load, resolve, run on the default profile. */
function runLikeCli(paths: string[]): void {
  const prof = linux_6_18;
  const env = envOption(prof, undefined);
  for (const r of loadScenarios(paths)) runScenario(r, prof, { trace: false, env });
}

/** Passes when `f` returns or throws InputError within CASE_MS; anything else is a bug. */
function onlyInputErrors(f: () => void): void {
  const t0 = Date.now();
  try {
    f();
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    // the message of a user's mistake is one line
    expect(e.format()).not.toContain('\n    at ');
  }
  expect(Date.now() - t0).toBeLessThan(CASE_MS);
}

/** An alias bomb: `levels` anchors, each a list of `width` aliases of the one before. */
function bomb(levels: number, width: number): string {
  const lines = [`l0: &l0 [${Array(width).fill('x').join(', ')}]`];
  for (let i = 1; i < levels; i++)
    lines.push(
      `l${i}: &l${i} [${Array(width)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  return `${lines.join('\n')}\nsteps: *l${levels - 1}\n`;
}

type Mut = (b: Buffer) => Buffer;
const at = (b: Buffer, pos: number) => (b.length ? pos % (b.length + 1) : 0);
const splice = (b: Buffer, pos: number, del: number, ins: Buffer | string) => {
  const i = at(b, pos);
  return Buffer.concat([b.subarray(0, i), Buffer.from(ins), b.subarray(Math.min(b.length, i + del))]);
};
/** Offsets of line starts, to put whole lines in. */
const lineStart = (b: Buffer, pos: number) => {
  const i = at(b, pos);
  const nl = b.lastIndexOf(0x0a, i - 1);
  return nl + 1;
};

const mutation: fc.Arbitrary<Mut> = fc.oneof(
  fc.nat().map(
    (p): Mut =>
      (b) =>
        b.subarray(0, at(b, p)),
  ),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([p, v]): Mut => (b) => {
    if (!b.length) return b;
    const c = Buffer.from(b);
    c[p % c.length] = v;
    return c;
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 3000 }), fc.boolean()).map(
    ([p, n, flow]): Mut =>
      (b) =>
        flow
          ? splice(b, p, 0, `${'['.repeat(n)}x${']'.repeat(n)}`)
          : Buffer.concat([
              b,
              Buffer.from(`\ndeep:\n${Array.from({ length: Math.min(n, 400) }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}x\n`),
            ]),
  ),
  fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('a', 'steps', 'mem', 'x1')).map(
    ([p, q, name]): Mut =>
      (b) =>
        splice(splice(b, p, 0, `&${name} `), q, 0, ` *${name}`),
  ),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 12 }), fc.boolean()).map(
    ([l, w, front]): Mut =>
      (b) =>
        front ? Buffer.concat([Buffer.from(bomb(l, w)), b]) : Buffer.from(bomb(l, w)),
  ),
  fc
    .tuple(
      fc.nat(),
      fc.constantFrom('1e400', '-0', '99999999999999999999999', '0x7fffffff', '.nan', '-.inf', '1_000', '-1', '4097', '1.5', '0o777'),
    )
    .map(([p, v]): Mut => (b) => {
      const s = b.toString('latin1');
      const m = [...s.matchAll(/\b\d+\b/g)];
      if (!m.length) return splice(b, p, 0, v);
      const hit = m[p % m.length]!;
      return splice(b, hit.index, hit[0].length, v);
    }),
  fc
    .tuple(fc.nat(), fc.constantFrom('[]', '{}', '~', 'true', '"str"', '[1, [2]]', '{a: {b: c}}', '!!binary aGVsbG8=', '|\n  text'))
    .map(([p, v]): Mut => (b) => {
      const s = b.toString('latin1');
      const m = [...s.matchAll(/: /g)];
      if (!m.length) return splice(b, p, 0, `: ${v}`);
      const hit = m[p % m.length]!;
      const end = s.indexOf('\n', hit.index);
      return splice(b, hit.index + 2, (end < 0 ? s.length : end) - hit.index - 2, v);
    }),
  fc
    .tuple(fc.nat(), fc.constantFrom('bogus', '__proto__', 'constructor', 'toString', 'steps', 'matrix', 'expect', '<<', 'env', 'files'))
    .map(
      ([p, k]): Mut =>
        (b) =>
          splice(b, lineStart(b, p), 0, `${k}: x\n`),
    ),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 })).map(
    ([p, bytes]): Mut =>
      (b) =>
        splice(b, p, 0, Buffer.from(bytes)),
  ),
  fc.constant<Mut>((b) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b])),
  fc.tuple(fc.nat(), fc.integer({ min: 1000, max: 200_000 })).map(
    ([p, n]): Mut =>
      (b) =>
        splice(b, p, 0, 'x'.repeat(n)),
  ),
  fc.constant<Mut>((b) =>
    Buffer.from(
      b.toString('latin1').replace(/^( {2})+/gm, (m) => '\t'.repeat(m.length / 2)),
      'latin1',
    ),
  ),
  fc.nat().map((p): Mut => (b) => {
    const s = lineStart(b, p);
    const e = b.indexOf(0x0a, s);
    return splice(b, s, 0, b.subarray(s, e < 0 ? b.length : e + 1));
  }),
);

/** Scenario-like bytes: lines of one or two shipped scenarios, then mutations. */
const hostileText: fc.Arbitrary<Buffer> = fc
  .tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat(), fc.boolean(), fc.array(mutation, { maxLength: 4 }))
  .map(([i, j, from, len, mix, muts]) => {
    const a = corpus[i % corpus.length]!.toString('latin1').split('\n');
    let lines = a;
    if (mix) {
      // a fragment of another scenario spliced in
      const b = corpus[j % corpus.length]!.toString('latin1').split('\n');
      const s = from % (b.length || 1);
      lines = [...a.slice(0, s), ...b.slice(s, s + 1 + (len % 20)), ...a.slice(s)];
    }
    return muts.reduce<Buffer>((buf, m) => m(buf), Buffer.from(lines.join('\n'), 'latin1'));
  });

/** One entry of a generated directory tree. */
type Entry =
  | { t: 'file'; name: string; body: Buffer }
  | { t: 'dir' | 'empty-dir' | 'fifo' | 'dangling' | 'self-link' | 'loop' | 'unreadable'; name: string }
  | { t: 'deep'; name: string; depth: number };

const entryName = fc.constantFrom('a.yaml', 'b.yml', 'c.yaml', 'notes.txt', 'd', 'sub.yaml', 'z.YAML', '.hidden.yaml', 'x y.yaml');
const entry: fc.Arbitrary<Entry> = fc.oneof(
  fc.record({ t: fc.constant('file' as const), name: entryName, body: hostileText }),
  fc.record({
    t: fc.constantFrom('dir', 'empty-dir', 'fifo', 'dangling', 'self-link', 'loop', 'unreadable') as fc.Arbitrary<'dir'>,
    name: entryName,
  }),
  fc.record({ t: fc.constant('deep' as const), name: entryName, depth: fc.integer({ min: 1, max: 60 }) }),
);

/** Builds the entries under `d` (a 'dir' entry holds a copy of a shipped scenario and a loop back up). */
function build(d: string, entries: readonly Entry[]): void {
  const names = new Set<string>();
  for (const e of entries) {
    // two entries of one name: the first one stands
    if (names.has(e.name)) continue;
    names.add(e.name);
    const p = join(d, e.name);
    {
      switch (e.t) {
        case 'file':
          writeFileSync(p, e.body);
          break;
        case 'dir':
          mkdirSync(p);
          writeFileSync(join(p, 'ok.yaml'), small);
          symlinkSync('..', join(p, 'up'));
          break;
        case 'empty-dir':
          mkdirSync(p);
          break;
        case 'fifo':
          execFileSync('mkfifo', [p]);
          break;
        case 'dangling':
          symlinkSync(join(d, 'no', 'such', 'target'), p);
          break;
        case 'self-link':
          symlinkSync(e.name, p);
          break;
        case 'loop':
          symlinkSync('.', p);
          break;
        case 'unreadable':
          writeFileSync(p, small);
          chmodSync(p, 0o000); // as root this stops nothing: the file is read anyway
          break;
        case 'deep': {
          let q = p;
          for (let i = 0; i < e.depth; i++) q = join(q, 'n');
          mkdirSync(q, { recursive: true });
          writeFileSync(join(q, 'leaf.yaml'), small);
          break;
        }
      }
    }
  }
}

const layout = fc.array(entry, { minLength: 0, maxLength: 6 });

describe('hostile input to the scenario loader', () => {
  it('mangled scenario text: loads and runs, or InputError', () => {
    fc.assert(
      fc.property(hostileText, (bytes) => {
        const f = join(caseDir(), 'case.yaml');
        writeFileSync(f, bytes);
        onlyInputErrors(() => runLikeCli([f]));
      }),
      { numRuns: 300, seed: 20261204 },
    );
  }, 120_000);

  it('hostile directory layouts: loads and runs, or InputError, and never blocks on a FIFO', () => {
    fc.assert(
      fc.property(layout, fc.nat(), (entries, pick) => {
        const d = caseDir();
        build(d, entries);
        onlyInputErrors(() => runLikeCli([d]));
        // each entry named on its own, as a file, a directory or FILE#INSTANCE
        if (entries.length) {
          const p = join(d, entries[pick % entries.length]!.name);
          onlyInputErrors(() => runLikeCli([p]));
          onlyInputErrors(() => runLikeCli([`${p}#base`]));
        }
      }),
      { numRuns: 120, seed: 20261205 },
    );
  }, 120_000);

  it('the cowlab command on generated layouts: exit 0, 1 or 2, no stack trace, no hang', () => {
    for (const entries of fc.sample(layout, { numRuns: 6, seed: 20261206 })) {
      const d = caseDir();
      build(d, entries);
      const r = spawnSync(process.execPath, ['bin/cowlab.js', 'run', d], { encoding: 'utf8', timeout: 30_000 });
      expect(r.signal, `cowlab run ${d} hung`).toBeNull();
      expect([0, 1, 2]).toContain(r.status);
      expect(r.stderr).not.toContain('internal error');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  }, 240_000);
});
