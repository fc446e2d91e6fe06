/**
 * JUnit XML, the report CI systems (GitLab, Jenkins, GitHub test reporters)
 * read: one <testsuite> of <testcase>s, a <failure> for a case that failed
 * and <skipped> for one that did not run. `run` and `diff` write it with
 * `--junit FILE`; XFAIL counts as passed (the failure is the documented one)
 * and says so in <system-out>, XPASS as a failure, as kselftest counts them.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../scenario/errors.js';
import { writeFileAtomic } from '../util/files.js';

/** One test case of the report. */
export interface JunitCase {
  /** the scenario's name */
  name: string;
  /** the scenario's file (with `#backing` for a generated cow.c instance) */
  classname: string;
  outcome: 'pass' | 'fail' | 'skip';
  /** the failure's or skip's one-line reason */
  message?: string;
  /** the full text of a failure */
  detail?: string;
  /** said about a passing case (an XFAIL's documented failure) */
  note?: string;
}

/** Text made safe for an XML attribute or element (and without characters XML 1.0 forbids). */
export function xmlEscape(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** The JUnit XML report of `cases` as the test suite `suite` (e.g. "cowlab run on linux-6.18"). */
export function junitXml(suite: string, cases: readonly JunitCase[]): string {
  const n = (o: JunitCase['outcome']) => cases.filter((c) => c.outcome === o).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${cases.length}" failures="${n('fail')}" skipped="${n('skip')}" errors="0">`,
    `  <testsuite name="${xmlEscape(suite)}" tests="${cases.length}" failures="${n('fail')}" skipped="${n('skip')}" errors="0">`,
  ];
  for (const c of cases) {
    const head = `    <testcase name="${xmlEscape(c.name)}" classname="${xmlEscape(c.classname)}"`;
    if (c.outcome === 'pass' && !c.note) {
      lines.push(`${head}/>`);
      continue;
    }
    lines.push(`${head}>`);
    if (c.outcome === 'fail')
      lines.push(`      <failure message="${xmlEscape(c.message ?? 'failed')}">${xmlEscape(c.detail ?? c.message ?? '')}</failure>`);
    if (c.outcome === 'skip') lines.push(`      <skipped message="${xmlEscape(c.message ?? 'skipped')}"/>`);
    if (c.note) lines.push(`      <system-out>${xmlEscape(c.note)}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

/**
 * Checks, before a long run, that `--junit FILE` can be written at its end:
 * FILE is not a directory and its directory exists (writeFileAtomic then
 * replaces it whole, or leaves nothing on failure).
 */
export function checkJunitTarget(file: string): void {
  const st = statSync(file, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new InputError(`--junit: ${file}: is a directory; expected the name of a file to write`);
  const dir = dirname(resolve(file));
  const d = statSync(dir, { throwIfNoEntry: false });
  if (!d?.isDirectory()) throw new InputError(`--junit: ${file}: no such directory ${dir}`);
}

/** Writes the report (atomically: a reader never sees half of it). */
export function writeJunit(file: string, suite: string, cases: readonly JunitCase[]): void {
  writeFileAtomic(file, junitXml(suite, cases), { what: '--junit' });
}
