#!/usr/bin/env node
/**
 * Behaviour identity across a refactor: records what cowlab prints for a
 * fixed body of work, and compares two recordings.
 *
 *   node scripts/identity.mjs record DIR [--root R] [--cwd TREE] [--no-explore] [--diff]
 *   node scripts/identity.mjs compare A B [--allow FILE]
 *   node scripts/identity.mjs --base COMMIT [--diff] [--allow FILE]   # build COMMIT in a worktree, record both, compare
 *
 * --allow names a file of expected differences, each with its reason
 * (scripts/identity-allow.tsv for the registry refactor).
 *
 * What is recorded, per built-in profile of the recording's own build:
 * `run --json` and `run --trace` on every scenario; `matrix --format json`;
 * `explore --json` of every shipped configuration on every kernel its
 * expectations name (times, rates and memory left out); the 300 random
 * scenarios of seed 5 over every operation (model-only fuzz) as YAML, with
 * `run --json` and `--trace` on linux-6.18; and with --diff, `diff --json`
 * on this machine's kernel. With --base, both sides run the base's
 * scenarios and configurations, so work added since does not count as a
 * difference.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, symlinkSync, cpSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';

const here = resolve(new URL('..', import.meta.url).pathname);

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  if (r.error) throw r.error;
  return r;
}

function cowlab(root, args, cwd) {
  return sh(process.execPath, [join(root, 'bin', 'cowlab.js'), ...args], { cwd });
}

/** Profile ids of a build, from `cowlab kernels --json`. */
function profiles(root) {
  const r = cowlab(root, ['kernels', '--json'], root);
  return JSON.parse(r.stdout).map((p) => p.id);
}

/** The kernels an explorer configuration's expectations name, expanded like the explorer does. */
async function exploreKernels(root, file, ids) {
  const text = readFileSync(file, 'utf8');
  const keys = [];
  let inExpect = false;
  let kernel = null;
  for (const line of text.split('\n')) {
    const k = /^kernel:\s*(\S+)/.exec(line);
    if (k) kernel = k[1];
    if (/^expect:/.test(line)) {
      inExpect = true;
      continue;
    }
    if (inExpect && /^\S/.test(line)) inExpect = false;
    const m = inExpect && /^\s+([^:]+):/.exec(line);
    if (m) keys.push(m[1].trim());
  }
  const hist = ids.filter((i) => i.startsWith('linux-'));
  const out = new Set(kernel ? [kernel] : []);
  for (const key of keys) {
    if (key === 'default') {
      hist.forEach((h) => out.add(h));
      continue;
    }
    for (const part of key.split(',').map((x) => x.trim())) {
      const [a, b] = part.split('..');
      if (b === undefined) {
        if (ids.includes(a)) out.add(a);
        continue;
      }
      const i = ids.indexOf(a.trim());
      const j = ids.indexOf(b.trim());
      ids.slice(i, j + 1).forEach((x) => out.add(x));
    }
  }
  return [...out];
}

const VOLATILE = new Set(['seconds', 'statesPerSecond', 'bytesPerState', 'scenarioFile', 'peakRssBytes', 'rssBytesPerState']);
function scrub(v) {
  if (Array.isArray(v)) return v.map(scrub);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !VOLATILE.has(k))
        .map(([k, x]) => [k, scrub(x)]),
    );
  return v;
}

/** Seed 5, 300 random scenarios over every operation, written with the build's own generator. */
async function fuzzScenarios(root, dir) {
  mkdirSync(dir, { recursive: true });
  const gen = await import(pathToFileURL(join(root, 'dist', 'fuzz', 'generate.js')).href);
  const fc = (await import(pathToFileURL(join(root, 'node_modules', 'fast-check', 'lib', 'fast-check.js')).href)).default;
  if (gen.randomScenarios) {
    gen
      .randomScenarios({ seed: 5, count: 300 })
      .forEach((text, i) => writeFileSync(join(dir, `fuzz-5-${String(i).padStart(3, '0')}.yaml`), text));
    return;
  }
  const arb = gen.cmdsArb({ ops: gen.GEN_OPS, maxSteps: 24 });
  fc.sample(arb, { seed: 5, numRuns: 300 }).forEach((cmds, i) => {
    const name = `fuzz-5-${String(i).padStart(3, '0')}`;
    writeFileSync(join(dir, `${name}.yaml`), gen.scenarioYaml(gen.materialize(cmds, {}, name)));
  });
}

async function record(root, out, opts) {
  mkdirSync(out, { recursive: true });
  // paths are given relative to the tree that holds the scenarios, so that both builds print the same names
  const cwd = opts.cwd ?? root;
  const scen = 'scenarios';
  const cfgDir = join(cwd, 'explore');
  const ids = profiles(root);
  writeFileSync(join(out, 'profiles.txt'), ids.join('\n') + '\n');
  for (const id of ids) {
    writeFileSync(join(out, `run-${id}.json`), cowlab(root, ['run', scen, '--json', '--kernel', id], cwd).stdout);
    writeFileSync(join(out, `trace-${id}.txt`), cowlab(root, ['run', scen, '--trace', '--kernel', id], cwd).stdout);
  }
  writeFileSync(join(out, 'matrix.json'), cowlab(root, ['matrix', '--scenarios', scen, '--format', 'json'], cwd).stdout);
  if (opts.exploreOn !== false) {
    const tmp = mkdtempSync(join(tmpdir(), 'cowlab-identity-'));
    for (const f of readdirSync(cfgDir)
      .filter((x) => x.endsWith('.yaml'))
      .sort()) {
      for (const k of await exploreKernels(root, join(cfgDir, f), ids)) {
        const r = cowlab(
          root,
          ['explore', join('explore', f), '--kernel', k, '--json', '-w', '2', '--out', join(tmp, `${f}-${k}.yaml`)],
          cwd,
        );
        let body;
        try {
          body = JSON.stringify(scrub(JSON.parse(r.stdout)), null, 2);
        } catch {
          body = `exit ${r.status}\n${r.stdout}${r.stderr}`;
        }
        writeFileSync(join(out, `explore-${f.replace(/\.yaml$/, '')}-${k}.json`), body + '\n');
        if (existsSync(join(tmp, `${f}-${k}.yaml`)))
          cpSync(join(tmp, `${f}-${k}.yaml`), join(out, `explore-${f.replace(/\.yaml$/, '')}-${k}.counterexample.yaml`));
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  }
  const fz = join(out, 'fuzz5');
  await fuzzScenarios(root, fz);
  writeFileSync(join(out, 'fuzz5-run.json'), cowlab(root, ['run', 'fuzz5', '--json', '--kernel', 'linux-6.18'], out).stdout);
  writeFileSync(join(out, 'fuzz5-trace.txt'), cowlab(root, ['run', 'fuzz5', '--trace', '--kernel', 'linux-6.18'], out).stdout);
  if (opts.diff) {
    const r = cowlab(root, ['diff', scen, '--json', '-j', '2'], cwd);
    writeFileSync(join(out, 'diff-host.json'), r.stdout);
  }
}

function walk(dir, base = '') {
  const out = [];
  for (const e of readdirSync(join(dir, base), { withFileTypes: true })) {
    const rel = join(base, e.name);
    if (e.isDirectory()) out.push(...walk(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** Expected differences: `file regex<TAB>line regex<TAB>why`, one per line (# comments): such lines are left out of the comparison. */
function loadAllow(file) {
  if (!file) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const [f, line, why] = l.split('\t');
      return { file: new RegExp(f), line: new RegExp(line), why };
    });
}

function compare(a, b, allow = []) {
  const fa = walk(a);
  const fb = new Set(walk(b));
  let bad = 0;
  for (const f of fa) {
    if (!fb.has(f)) {
      console.log(`only in ${a}: ${f}`);
      bad++;
      continue;
    }
    const x = readFileSync(join(a, f), 'utf8');
    const y = readFileSync(join(b, f), 'utf8');
    if (x !== y) {
      // lines an expected difference names are left out on both sides; the rest must be identical
      const rules = allow.filter((r) => r.file.test(f));
      const keep = (t) => t.split('\n').filter((l) => !rules.some((r) => r.line.test(l)));
      const xl = keep(x);
      const yl = keep(y);
      if (rules.length && xl.join('\n') === yl.join('\n')) {
        console.log(`allowed ${f}: ${[...new Set(rules.map((r) => r.why))].join('; ')}`);
      } else {
        bad++;
        let i = 0;
        while (i < xl.length && xl[i] === yl[i]) i++;
        console.log(`DIFFERS ${f} at line ${i + 1}:\n  - ${xl[i] ?? '(end)'}\n  + ${yl[i] ?? '(end)'}`);
      }
    }
    fb.delete(f);
  }
  for (const f of fb) {
    console.log(`only in ${b}: ${f}`);
    bad++;
  }
  console.log(bad ? `${bad} file(s) differ` : `identical: ${fa.length} file(s)`);
  return bad === 0;
}

async function main() {
  const argv = process.argv.slice(2);
  const flag = (n) => argv.includes(n);
  const val = (n) => {
    const i = argv.indexOf(n);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (argv[0] === 'record') {
    const root = resolve(val('--root') ?? here);
    await record(root, resolve(argv[1]), {
      cwd: val('--cwd') ? resolve(val('--cwd')) : undefined,
      exploreOn: !flag('--no-explore'),
      diff: flag('--diff'),
    });
    return;
  }
  if (argv[0] === 'compare') {
    process.exitCode = compare(resolve(argv[1]), resolve(argv[2]), loadAllow(val('--allow'))) ? 0 : 1;
    return;
  }
  const base = val('--base');
  if (!base) {
    console.error('usage: identity.mjs record DIR | compare A B | --base COMMIT [--diff] [--no-explore] [--keep DIR]');
    process.exitCode = 2;
    return;
  }
  const work = val('--keep') ?? mkdtempSync(join(tmpdir(), 'cowlab-identity-'));
  const wt = join(work, 'base');
  if (!existsSync(wt)) {
    sh('git', ['-C', here, 'worktree', 'add', '--detach', wt, base], { stdio: 'inherit' });
    symlinkSync(join(here, 'node_modules'), join(wt, 'node_modules'));
    const b = sh(process.execPath, [join(here, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: wt });
    if (b.status !== 0) throw new Error(`building ${base}: ${b.stdout}${b.stderr}`);
  }
  const opts = { cwd: wt, exploreOn: !flag('--no-explore'), diff: flag('--diff') };
  if (!existsSync(join(work, 'a'))) await record(wt, join(work, 'a'), opts);
  rmSync(join(work, 'b'), { recursive: true, force: true });
  await record(here, join(work, 'b'), opts);
  const ok = compare(join(work, 'a'), join(work, 'b'), loadAllow(val('--allow')));
  console.log(`recordings in ${work} (a: ${base}, b: this checkout)`);
  process.exitCode = ok ? 0 : 1;
}

await main();
