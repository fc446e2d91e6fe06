/**
 * Finding and loading scenario files: a file, or every *.yaml under a
 * directory, in sorted order.
 */
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { InputError } from './errors.js';
import { parseScenario } from './parse.js';
import { resolveScenario, type Resolved } from './resolve.js';

/** Expands paths into scenario files (directories recursively, sorted). */
export function findScenarioFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new InputError(`${p}: no such file or directory`);
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) {
        const q = join(p, e);
        if (statSync(q).isDirectory()) walk(q);
        else if (/\.ya?ml$/.test(e)) out.push(q);
      }
    } else out.push(p);
  };
  for (const p of paths) walk(p);
  if (out.length === 0) throw new InputError(`no scenario files (*.yaml) in ${paths.join(' ')}`);
  return out;
}

/** Reads, validates and resolves one scenario file. */
export function loadScenario(file: string): Resolved {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`${file}: ${(e as Error).message}`);
  }
  const shown = relative(process.cwd(), file) || file;
  return resolveScenario(parseScenario(text, shown.startsWith('..') ? file : shown));
}

/** Loads every scenario under the given paths. */
export function loadScenarios(paths: readonly string[]): Resolved[] {
  return findScenarioFiles(paths).map(loadScenario);
}
