/**
 * `npm run docs`: rewrites the generated sections of the documentation
 * (./generate.ts). With --check, only reports stale documents (exit 1).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../executor/build.js';
import { fillSections, GENERATED_DOCS } from './generate.js';

const check = process.argv.includes('--check');
let stale = 0;
for (const f of GENERATED_DOCS) {
  const path = join(repoRoot(), f);
  const text = readFileSync(path, 'utf8');
  const next = fillSections(text);
  if (next === text) continue;
  stale++;
  if (check) process.stdout.write(`${f}: generated sections are stale (npm run docs)\n`);
  else {
    writeFileSync(path, next);
    process.stdout.write(`${f}: updated\n`);
  }
}
process.exitCode = check && stale ? 1 : 0;
