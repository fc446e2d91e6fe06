#!/usr/bin/env node
// Runs every shipped configuration (explore/*.yaml) on every profile and records what the explorer
// finds: verdict, property, depth, whether the search was complete, the counterexample's steps,
// whether it replays with `cowlab run`, and what the configuration documents for the profile.
// test/unit/explore/golden.test.ts compares that with test/data/explore-golden.json, so a reduction
// of the state space (issue 14) must keep every verdict, depth and counterexample.
//   npm run build && node scripts/explore-golden.mjs           add configurations not recorded yet to
//                                                              test/data/explore-golden.json (the rows
//                                                              recorded stay: they are the baseline)
//   node scripts/explore-golden.mjs --json                     print today's results (JSON) instead
//   node scripts/explore-golden.mjs --json --shard i/n         only every n-th (configuration, profile) pair,
//                                                              from the i-th (the test runs shards side by side)
// (A plain node process: under vitest's module runner the same searches take about 4x as long.)
import { readdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../dist/explore/system.js';
import { explore } from '../dist/explore/explore.js';
import { exploreExpectation } from '../dist/explore/expect.js';
import { PROFILES } from '../dist/profiles/index.js';
import { parseShard, inShard } from '../dist/util/shard.js';

const OUT = 'test/data/explore-golden.json';
const json = process.argv.includes('--json');
const at = process.argv.indexOf('--shard');
const shard = at < 0 ? undefined : parseShard(process.argv[at + 1]);
if (shard && !json) throw new Error('--shard only with --json: the golden file is written whole');
let pair = 0;
const dir = mkdtempSync(join(tmpdir(), 'cowlab-golden-'));
const rows = [];
// the recorded rows are the baseline a reduction is checked against: only new configurations are added
const kept = json || !existsSync(OUT) ? [] : JSON.parse(readFileSync(OUT, 'utf8'));
const recorded = new Set(kept.map((r) => r.config));
try {
  for (const f of readdirSync('explore')
    .filter((x) => x.endsWith('.yaml') && !recorded.has(x))
    .sort()) {
    const config = loadConfig(join('explore', f));
    for (const p of PROFILES) {
      if (!inShard(shard, pair++)) continue;
      const t0 = Date.now();
      let r;
      try {
        r = await explore({ config, profile: p, profileSource: { builtin: p.id }, workers: 1, out: join(dir, 'cex.yaml') });
      } catch (e) {
        // a configuration whose setup needs what the kernel lacks (uffd-wp before 5.7) has no result there
        if (!e?.notApplicable) throw e;
        process.stderr.write(`${f} ${p.id}: n/a (${e.message})\n`);
        continue;
      }
      const row = {
        config: f,
        kernel: p.id,
        verdict: r.verdict,
        property: r.property,
        depth: r.depth,
        complete: r.complete,
        trace: r.trace,
        distinct: r.distinct,
        transitions: r.states,
      };
      rows.push(json ? { ...row, replayed: r.replayed, documented: exploreExpectation(config, p) } : row);
      process.stderr.write(
        `${f} ${p.id}: ${r.verdict} ${r.property ?? ''} depth ${r.depth} distinct ${r.distinct} ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (json) process.stdout.write(`${JSON.stringify(rows)}\n`);
else {
  const all = [...kept, ...rows].sort((a, b) => (a.config < b.config ? -1 : a.config > b.config ? 1 : 0));
  writeFileSync(OUT, `${JSON.stringify(all, null, 1)}\n`);
}
