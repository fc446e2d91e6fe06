/** `cowlab run` (docs/cli.md). */
import { checkJunitTarget, writeJunit } from '../junit.js';
import type { Command } from 'commander';
import { EXIT_OK, EXIT_FAIL, EXIT_USAGE, InputError } from '../../scenario/errors.js';
import { loadScenariosEach } from '../../scenario/load.js';
import { runScenario, type RunResult } from '../../scenario/run.js';
import type { Resolved } from '../../scenario/resolve.js';
import { judgeRun, kselftestResult, type Cell, type KselftestResult } from '../../matrix/matrix.js';
import { profileLacks } from '../../profiles/support.js';
import { PROFILES, profileById } from '../../profiles/index.js';
import { runJson, runText, traceText } from '../format.js';
import { out, pickProfile, envOption } from '../util.js';

export function runCommand(program: Command): void {
  program
    .command('run')
    .description('Run scenario files (or directories of them) in the model and print a verdict per scenario.')
    .argument('<path...>', 'scenario files or directories')
    .option('--kernel <id>', "kernel profile to run (see `cowlab kernels`; default: the scenario's kernel:, else linux-6.18)")
    .option('--profile <file>', 'a profile module of your own (see docs/profiles.md)')
    .option('--trace', "print every step: the kernel path taken, every page's counts and flags, what changed")
    .option('--json', 'print a JSON array, one object per scenario')
    .option('--tap', 'print TAP as kselftest does (ok / not ok, # SKIP, # XFAIL, # XPASS, and a # Totals line)')
    .option('--junit <file>', 'also write the results as JUnit XML (XFAIL as passed, XPASS as failed) to this file, for CI')
    .option('--grep <regexp>', 'run only the scenarios whose name matches (a JavaScript regular expression)')
    .option('--bail', 'stop after the first FAIL or XPASS')
    .option(
      '--env <list>',
      "the machine, where it differs from the profile's: KEY=VALUE,... (docs/profiles.md, e.g. zeroPage=false,swap=sync-io)",
    )
    .addHelpText(
      'after',
      '\nEach scenario is judged against what its expect: block documents for the kernel, in kselftest words: PASS, FAIL, XFAIL (fails as documented), XPASS (passes where a failure is documented), SKIP (the kernel lacks what it needs).\nScenario format: docs/scenario-format.md (examples in scenarios/).\nExit status: 0 no FAIL and no XPASS, 1 otherwise, 2 bad input.',
    )
    .action(async (paths: string[], opts: RunOpts) => {
      const given = await pickProfile(opts);
      const explicit = opts.kernel !== undefined || opts.profile !== undefined;
      if (opts.json && opts.tap) throw new InputError('use --json or --tap, not both');
      const grep = opts.grep === undefined ? null : regexpOption('--grep', opts.grep);
      if (opts.junit !== undefined) checkJunitTarget(opts.junit);
      // a malformed file is reported and the others run (exit 2 at the end)
      const loaded = loadScenariosEach(paths, [given.id]);
      for (const e of loaded.errors) process.stderr.write(`cowlab: ${e.format()}\n`);
      if (loaded.errors.length && !loaded.scenarios.length) {
        process.exitCode = EXIT_USAGE;
        return;
      }
      const scenarios = loaded.scenarios.filter((r) => !grep || grep.test(r.sc.name));
      // judged as the matrix judges a cell: against what the scenario's expect: documents for this kernel
      const results: { r: Resolved; res: RunResult | null; cell: Cell; word: KselftestResult; kernel: string }[] = [];
      for (const r of scenarios) {
        // a finding's file names the kernel it was found on (kernel:); --kernel or --profile overrides it
        const prof = explicit || r.sc.kernel === undefined || r.sc.kernel === given.id ? given : profileById(r.sc.kernel);
        const env = envOption(prof, opts.env);
        const res = profileLacks(prof, r) ? null : runScenario(r, prof, { trace: opts.trace ?? false, env });
        const cell = judgeRun(r, prof, PROFILES, res);
        const word = kselftestResult(cell);
        results.push({ r, res, cell, word, kernel: prof.id });
        if (opts.bail && (word === 'FAIL' || word === 'XPASS')) break;
      }
      if (opts.junit !== undefined)
        writeJunit(
          opts.junit,
          `cowlab run (${[...new Set(results.map((x) => x.kernel))].join(', ') || given.id})`,
          results.map(({ r, res, cell, word, kernel }) => ({
            name: `${r.sc.name} (${kernel})`,
            classname: r.sc.file,
            outcome: word === 'PASS' || word === 'XFAIL' ? 'pass' : word === 'SKIP' ? 'skip' : 'fail',
            ...(word === 'SKIP' && cell.message ? { message: cell.message } : {}),
            ...(word === 'FAIL' || word === 'XPASS'
              ? { message: `${word}${cell.because ? `: documented: ${cell.because}` : ''}`, detail: runText(r, kernel, res, cell, word) }
              : {}),
            ...(word === 'XFAIL' ? { note: `XFAIL: fails as documented${cell.because ? `: ${cell.because}` : ''}` } : {}),
          })),
        );
      if (opts.tap) out(tapText(results, scenarios.length));
      else if (opts.json)
        out(
          JSON.stringify(
            results.map(({ r, res, cell, word, kernel }) =>
              res ? { ...runJson(r, res), result: word, ...judgement(cell) } : skippedJson(r, kernel, cell),
            ),
            null,
            2,
          ),
        );
      else {
        for (const { r, res, cell, word, kernel } of results) {
          if (opts.trace && res) out(`== ${res.scenario} (${res.file}) on ${res.kernel}\n${traceText(r, res)}`);
          out(runText(r, kernel, res, cell, word));
        }
        const n = (w: string) => results.filter((x) => x.word === w).length;
        out(
          `${results.length} scenario(s): ${n('PASS')} passed, ${n('FAIL')} failed, ${n('XFAIL')} failed as documented (XFAIL), ` +
            `${n('XPASS')} passed where a failure is documented (XPASS), ${n('SKIP')} skipped` +
            (results.length < scenarios.length
              ? `; stopped at the first failure (--bail): ${scenarios.length - results.length} not run`
              : ''),
        );
      }
      process.exitCode = loaded.errors.length
        ? EXIT_USAGE
        : results.some((x) => x.word === 'FAIL' || x.word === 'XPASS')
          ? EXIT_FAIL
          : EXIT_OK;
      if (loaded.errors.length)
        process.stderr.write(`cowlab: ${loaded.errors.length} file(s) could not be loaded (above); the others ran\n`);
    });
}

/** What the judgement adds to a run's JSON: the documented outcome and why, and what did not match. */
function judgement(cell: Cell): Record<string, unknown> {
  return {
    ...(cell.expected ? { documented: cell.expected } : {}),
    ...(cell.because ? { because: cell.because } : {}),
    ...(cell.message && (cell.verdict === 'pass' || cell.verdict === 'n/a' || cell.unexpected) ? { note: cell.message } : {}),
  };
}

function skippedJson(r: Resolved, kernel: string, cell: Cell): Record<string, unknown> {
  return { scenario: r.sc.name, file: r.sc.file, kernel, verdict: 'skip', result: 'SKIP', reason: cell.message, ...judgement(cell) };
}

interface RunOpts {
  kernel?: string;
  profile?: string;
  trace?: boolean;
  json?: boolean;
  tap?: boolean;
  junit?: string;
  grep?: string;
  bail?: boolean;
  env?: string;
}

/** A --grep style option as a regular expression (a bad one is the user's error). */
function regexpOption(name: string, v: string): RegExp {
  try {
    return new RegExp(v);
  } catch (e) {
    throw new InputError(`${name}: not a regular expression: ${(e as Error).message}`);
  }
}

/**
 * kselftest's TAP (tools/testing/selftests/kselftest.h): "ok N name",
 * "not ok N name", "ok N # SKIP|XFAIL|XPASS name: why", diagnostics as
 * "# " lines, and the "# Totals:" line; scenarios --bail left out are not
 * in the plan's count of results but in a closing comment.
 */
function tapText(
  results: readonly { r: Resolved; res: RunResult | null; cell: Cell; word: KselftestResult; kernel: string }[],
  planned: number,
): string {
  const lines = ['TAP version 13', `1..${planned}`];
  results.forEach(({ r, res, cell, word, kernel }, i) => {
    const name = `${r.sc.name} (${kernel})`;
    const why = word === 'SKIP' ? cell.message : word === 'XFAIL' || word === 'XPASS' ? cell.because : undefined;
    if (word === 'PASS') lines.push(`ok ${i + 1} ${name}`);
    else if (word === 'FAIL') lines.push(`not ok ${i + 1} ${name}`);
    else lines.push(`ok ${i + 1} # ${word} ${name}${why ? `: ${why}` : ''}`);
    if (word === 'FAIL' || word === 'XPASS')
      for (const l of runText(r, kernel, res, cell, word).split('\n').slice(1)) lines.push(`# ${l.trim()}`);
  });
  if (results.length < planned) lines.push(`# --bail: stopped after the first failure; ${planned - results.length} not run`);
  const n = (w: string) => results.filter((x) => x.word === w).length;
  lines.push(`# Totals: pass:${n('PASS')} fail:${n('FAIL')} xfail:${n('XFAIL')} xpass:${n('XPASS')} skip:${n('SKIP')} error:0`);
  return lines.join('\n');
}
