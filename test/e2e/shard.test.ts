/**
 * Sharding (docs/sharding.md): the merge of a run's shards is the report
 * one run of the whole prints, for the matrix, the model fuzzer and the
 * explorer's random walks; and merge refuses what is not the n shards of
 * one run.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function cowlab(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/cowlab.js', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cowlab-shard-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `args` as n shards, writes each output to a file, and returns the merge's result. */
function sharded(n: number, args: string[], mergeArgs: string[] = []) {
  const files = Array.from({ length: n }, (_, i) => {
    const r = cowlab(...args, '--shard', `${i + 1}/${n}`);
    expect(r.err.match(/cowlab: /)?.[0] ?? '').not.toMatch(/error/);
    const f = join(dir, `${args[0]}-${i + 1}.json`);
    writeFileSync(f, r.out);
    return f;
  });
  // in another order than they ran
  return cowlab('merge', ...files.reverse(), ...mergeArgs);
}

describe('cowlab merge', () => {
  it('two matrix shards give the matrix of one run, character for character, and its exit status', () => {
    const one = cowlab('matrix', '--scenarios', 'scenarios/cve', '-j', '1');
    const merged = sharded(2, ['matrix', '--scenarios', 'scenarios/cve', '-j', '1']);
    expect(merged.err).toBe('');
    expect(merged.out).toBe(one.out);
    expect(merged.code).toBe(one.code);
    expect(one.out).toMatch(/cve-2020-29374/);
  }, 120_000);

  it('three shards of random walks give the walk, counterexample, walks and steps of one run', () => {
    const args = ['explore', 'explore/vmsplice-leak.yaml', '--kernel', 'linux-5.7', '--swarm', '--seed', '3', '--walks', '3000'];
    const one = cowlab(...args, '--json', '--out', join(dir, 'one.yaml'));
    const merged = sharded(3, [...args, '--out', join(dir, 'part.yaml')], ['--format', 'json']);
    expect(one.code).toBe(1);
    expect(merged.code).toBe(1);
    const strip = (s: string) => {
      const { seconds: _a, statesPerSecond: _b, peakRssMb: _c, scenarioFile: _d, ...rest } = JSON.parse(s) as Record<string, unknown>;
      return rest;
    };
    expect(strip(merged.out)).toEqual(strip(one.out));
    expect(strip(one.out)).toMatchObject({ verdict: 'violation', property: 'no-leak', walks: 3000 });
  }, 120_000);

  it('model fuzz shards give the counts of one run', () => {
    const args = ['fuzz', '--seed', '5', '--count', '30', '--kernel', 'linux-5.7', '--out', join(dir, 'ff')];
    const one = cowlab(...args, '--json');
    const merged = sharded(2, args, ['--format', 'json']);
    const strip = (s: string) => ({ ...(JSON.parse(s) as Record<string, unknown>), seconds: 0 });
    expect(strip(merged.out)).toEqual(strip(one.out));
    expect(merged.code).toBe(one.code);
  }, 120_000);

  it('refuses a missing shard, a shard given twice, another run, another kind and a file that is not a shard (exit 2)', () => {
    const m1 = join(dir, 'm1.json');
    writeFileSync(m1, cowlab('matrix', '--scenarios', 'scenarios/cve', '--shard', '1/2').out);
    const other = join(dir, 'o.json');
    writeFileSync(other, cowlab('matrix', '--scenarios', 'scenarios/cve', '--kernels', 'linux-5.7', '--shard', '2/2').out);
    const f1 = join(dir, 'f1.json');
    writeFileSync(f1, cowlab('fuzz', '--seed', '1', '--count', '2', '--shard', '1/1', '--out', join(dir, 'ff')).out);
    const text = join(dir, 'text.txt');
    writeFileSync(text, '{"cowlab": "matrix-shard",\n "shard": 3}\n');
    const cases: [string[], RegExp][] = [
      [[m1], /shard\(s\) 2\/2 missing/],
      [[m1, m1], /m1\.json: shard 1\/2 is given twice/],
      [[m1, other], /o\.json: another matrix/],
      [[m1, f1], /f1\.json: a fuzz-model-shard, not a matrix-shard/],
      [[text], /text\.txt: not a cowlab shard \(shard: /],
      [[join(dir, 'nope.json')], /nope\.json/],
    ];
    for (const [files, msg] of cases) {
      const r = cowlab('merge', ...files);
      expect(r.code, files.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err).not.toMatch(/at .*\.js:\d+/);
    }
    const bad = cowlab('explore', 'explore/vmsplice-leak.yaml', '--shard', '1/2');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--shard needs --swarm/);
  }, 120_000);
});
