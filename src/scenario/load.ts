/**
 * Finding and loading scenario files: a file, or every *.yaml under a
 * directory, in sorted order.
 */
import { checkExpectKeys } from '../matrix/expect.js';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { InputError } from './errors.js';
import { scenarioText } from './parse.js';
import type { Resolved } from './resolve.js';
import { scenariosFromText, splitSpec } from './text.js';
import { fileKind, fsReason, readRegularFile, statPath } from '../util/files.js';

const SCENARIO_FILE = 'a scenario file (*.yaml)';

/**
 * Expands paths into scenario files (directories recursively, sorted).
 * Links are followed; a directory reached again (a link loop, or two links
 * to one directory) is walked once. A *.yaml that is a dangling link, a link
 * loop or not a regular file (a FIFO would block the read) is an error; any
 * other entry that is neither a directory nor *.yaml is not a scenario and
 * is passed over, even when it is a broken link.
 */
export function findScenarioFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walked = new Set<string>();
  const walk = (p: string, st: ReturnType<typeof statPath>) => {
    const id = `${st.dev}:${st.ino}`;
    if (walked.has(id)) return;
    walked.add(id);
    let names: string[];
    try {
      names = readdirSync(p);
    } catch (e) {
      const why = fsReason(e);
      if (why) throw new InputError(`${p}: cannot read the directory: ${why}`);
      throw e;
    }
    for (const e of names.sort()) {
      const q = join(p, e);
      const yaml = /\.ya?ml$/.test(e);
      let sq;
      try {
        sq = statPath(q);
      } catch (err) {
        if (yaml) throw err;
        continue;
      }
      if (sq.isDirectory()) walk(q, sq);
      else if (yaml) {
        if (!sq.isFile()) throw new InputError(`${q}: ${fileKind(sq)}, not a regular file; expected ${SCENARIO_FILE}`);
        out.push(q);
      }
    }
  };
  for (const p of paths) {
    const st = statPath(p);
    if (st.isDirectory()) walk(p, st);
    else if (st.isFile()) out.push(p);
    else throw new InputError(`${p}: ${fileKind(st)}, not a regular file; expected ${SCENARIO_FILE} or a directory of them`);
  }
  if (out.length === 0) throw new InputError(`no scenario files (*.yaml) in ${paths.join(' ')}`);
  return out;
}

/**
 * Reads, validates and resolves the scenarios of one file: one, or every
 * instance of a template (`matrix:`, ./cowc.ts), each named FILE#ID.
 * `only` picks one instance of a template.
 */
export function loadScenarioFile(file: string, only?: string): Resolved[] {
  const bytes = readRegularFile(file, SCENARIO_FILE);
  const rel = relative(process.cwd(), file) || file;
  const shown = rel.startsWith('..') ? file : rel;
  return scenariosFromText(scenarioText(bytes, shown), shown, only);
}

/** One scenario file (`FILE` or `FILE#INSTANCE` of a template). */
export function loadScenario(spec: string): Resolved {
  const [file, only] = splitSpec(spec);
  const rs = loadScenarioFile(file, only);
  if (rs.length !== 1) throw new InputError(`${file} is a template of ${rs.length} scenarios; name one as ${file}#ID`);
  return rs[0]!;
}

/** Loads every scenario under the given paths (a path may be FILE#INSTANCE). */
export function loadScenarios(paths: readonly string[], profileIds: readonly string[] = []): Resolved[] {
  const out: Resolved[] = [];
  for (const spec of paths) {
    const [file, only] = splitSpec(spec);
    if (only !== undefined) out.push(...loadScenarioFile(file, only));
    else for (const f of findScenarioFiles([spec])) out.push(...loadScenarioFile(f));
  }
  // expect: keys may name the built-in profiles and `profileIds` (the user's own, from --profile)
  for (const r of out) checkExpectKeys(r.sc, profileIds);
  return out;
}

/**
 * loadScenarios() that goes on past a malformed file: each file's error is
 * collected (positioned) and the others load. A path that does not exist or
 * cannot be read as a directory still throws.
 */
export function loadScenariosEach(
  paths: readonly string[],
  profileIds: readonly string[] = [],
): { scenarios: Resolved[]; errors: InputError[] } {
  const scenarios: Resolved[] = [];
  const errors: InputError[] = [];
  const files: [string, string | undefined][] = [];
  for (const spec of paths) {
    const [file, only] = splitSpec(spec);
    if (only !== undefined) files.push([file, only]);
    else for (const f of findScenarioFiles([spec])) files.push([f, undefined]);
  }
  for (const [file, only] of files) {
    try {
      const rs = loadScenarioFile(file, only);
      for (const r of rs) checkExpectKeys(r.sc, profileIds);
      scenarios.push(...rs);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      errors.push(e);
    }
  }
  return { scenarios, errors };
}
