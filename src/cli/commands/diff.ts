/** `cowlab diff` (docs/cli.md). */
import { checkJunitTarget, writeJunit } from '../junit.js';
import type { Command } from 'commander';
import { InputError, EXIT_OK, EXIT_FAIL, EXIT_SKIP } from '../../scenario/errors.js';
import type { DiffResult } from '../../diff/run.js';
import { loadScenarios } from '../../scenario/load.js';
import { out, pickProfile, intOption } from '../util.js';
import { readRegularFile } from '../../util/files.js';
import { parse as parseYaml } from 'yaml';
import { compareTap, formatTap, parseTap, type LoggedTest } from '../../diff/tap.js';
import { planSize } from '../../scenario/cowc.js';

/** The documented differences from a TAP log: a YAML map of TAP number to the reason. */
function readKnown(file: string): Map<number, string> {
  let doc: unknown;
  try {
    doc = parseYaml(readRegularFile(file, 'a YAML map of TAP numbers to reasons').toString('utf8'));
  } catch (e) {
    throw new InputError(`--tap-known: ${e instanceof InputError ? e.message : `cannot read ${file}: ${(e as Error).message}`}`);
  }
  const out = new Map<number, string>();
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new InputError(`${file}: expected a map of TAP numbers to reasons`);
  for (const [k, v] of Object.entries(doc)) {
    if (!/^\d+$/.test(k) || typeof v !== 'string') throw new InputError(`${file}: ${k}: expected a TAP number and a reason (text)`);
    out.set(Number(k), v.trim());
  }
  return out;
}

/** A selftest TAP log named on the command line; a usage error when it is unreadable or holds no test. */
function readTapLog(file: string): { file: string; tests: Map<number, LoggedTest> } {
  let text: string;
  try {
    text = readRegularFile(file, 'a TAP log of the selftest').toString('utf8');
  } catch (e) {
    throw new InputError(`--tap-compare: ${e instanceof InputError ? e.message : `cannot read ${file}: ${(e as Error).message}`}`);
  }
  const tests = parseTap(text);
  if (tests.size === 0) throw new InputError(`${file}: not a TAP log (expected lines "ok N ..." / "not ok N ...")`);
  return { file, tests };
}

export function diffCommand(program: Command): void {
  program
    .command('diff')
    .description(
      "Run each scenario in the model and on a real kernel (this machine's, or one booted in qemu with --on), and report where they disagree.",
    )
    .argument('<path...>', 'scenario files or directories')
    .option(
      '--on <kernel>',
      'host (default), a fetched kernel id (see `cowlab kernels fetch`), or the path of a kernel image (bzImage/vmlinuz, x86_64) of your own',
    )
    .option('--kernel <id>', "profile that judges the kernel (default: linux-6.18 on the host, the kernel's own id for a fetched one)")
    .option('--profile <file>', 'a profile module of your own to judge the kernel (see docs/profiles.md)')
    .option('--brd <file>', 'brd.ko matching a kernel image of your own, when brd is a module (swap in the guest needs it)')
    .option('--json', 'print one JSON object per scenario: scenario, kernel, verdict, reason, divergence')
    .option('-j, --jobs <n>', 'executors (or guests) in parallel (default: number of CPUs)')
    .option('--tap', "print the kernel's result of each scenario that mirrors a cow.c test as the selftest's TAP line, in its numbering")
    .option(
      '--tap-compare <log>',
      "compare those results, test by test, with a TAP log of the selftest itself (e.g. test/data/cow-tap-6.18.txt, this host's); exit 1 where one differs",
    )
    .option('--tap-known <file>', 'YAML: TAP number -> why the log records another result (test/data/cow-tap-6.18.known.yaml)')
    .option(
      '--junit <file>',
      'also write the results as JUnit XML (a divergence as a failure, a skip with its reason) to this file, for CI',
    )
    .addHelpText(
      'after',
      '\nNeeds root for frame numbers and kpageflags; on the host it creates (and removes) a swapfile when a scenario pages out.\nIn qemu: docs/real-kernels.md.\nExit status: 0 all agree (some may skip), 1 a divergence, 2 bad input, 4 nothing compared (every scenario skipped).',
    )
    .action(
      async (
        paths: string[],
        opts: {
          json?: boolean;
          jobs?: string;
          on?: string;
          kernel?: string;
          profile?: string;
          brd?: string;
          tap?: boolean;
          tapCompare?: string;
          tapKnown?: string;
          junit?: string;
        },
      ) => {
        if (opts.junit !== undefined) checkJunitTarget(opts.junit);
        const { diffScenarios } = await import('../../diff/run.js');
        const { divergenceTable } = await import('../../diff/compare.js');
        const { resolveOn } = await import('../../qemu/target.js');
        const { availableParallelism } = await import('node:os');
        const jobs = intOption(opts.jobs, '--jobs', 1) ?? availableParallelism();
        const explicit = opts.profile !== undefined || opts.kernel !== undefined ? await pickProfile(opts) : undefined;
        const target = resolveOn(opts.on, explicit, opts.brd);
        const scenarios = loadScenarios(paths, [target.profile.id]);
        const tapLog = opts.tapCompare !== undefined ? readTapLog(opts.tapCompare) : null;
        const known = opts.tapKnown !== undefined ? readKnown(opts.tapKnown) : new Map<number, string>();
        const quiet = opts.json || opts.tap || tapLog !== null;
        // results come as programs finish; they are printed in the order of the input, each as soon as all before it are
        const ready = new Map<number, DiffResult>();
        let next = 0;
        const results = await diffScenarios(scenarios, {
          jobs,
          profile: target.profile,
          on: target.guest,
          kernelName: target.name,
          onResult: quiet
            ? undefined
            : (r, i) => {
                ready.set(i, r);
                for (let x = ready.get(next); x; x = ready.get(next)) {
                  ready.delete(next++);
                  out(
                    `${x.verdict.toUpperCase().padEnd(7)} ${x.scenario}  (${x.file})${x.reason ? `\n        ${x.reason}` : ''}${x.unstable ? `\n        unstable: ${x.unstable}` : ''}`,
                  );
                  // both sides' observations at the diverging step (or page), side by side
                  if (x.divergence) for (const l of divergenceTable(x.divergence)) out(l);
                }
              },
        });
        const taps = results.flatMap((r) => (r.tap ? [r.tap] : [])).sort((a, b) => a.number - b.number);
        if (opts.tap) {
          out(`TAP version 13\n# cowlab: ${taps.length} of cow.c's ${planSize()} tests on ${target.name}, as the kernel ran them`);
          out(`1..${planSize()}`);
          for (const t of taps) out(formatTap(t));
        }
        if (tapLog) {
          const c = compareTap(taps, tapLog.tests);
          const same = Object.values(c.same).reduce((a, b) => a + b, 0);
          const unexplained = c.differ.filter((d) => !known.has(d.number));
          out(
            `cow.c TAP log ${tapLog.file}: ${tapLog.tests.size} tests, ${taps.length} mirrored by cowlab, ${c.notMirrored} not mirrored` +
              `\nsame result on ${same}: ${c.same.ok} ok, ${c.same['not ok']} not ok, ${c.same.skip} skip, ${c.same.xfail} xfail` +
              `${c.sameModel ? ` (${c.sameModel} of them the model's prediction: no executor runs them)` : ''}; ` +
              `different on ${c.differ.length} (${c.differ.length - unexplained.length} known, ${unexplained.length} unexplained)`,
          );
          for (const d of c.differ) {
            const why = known.get(d.number);
            out(
              `  ${why ? 'KNOWN ' : 'DIFFER'} ${d.number}\n    cowlab: ${d.ours}\n    log:    ${d.theirs}${why ? `\n    why:    ${why}` : ''}`,
            );
          }
          for (const n of known.keys())
            if (!c.differ.some((d) => d.number === n)) out(`  note: ${n} is listed as a known difference but agrees now`);
          if (unexplained.length) process.exitCode = EXIT_FAIL;
        }
        if (opts.junit !== undefined)
          writeJunit(
            opts.junit,
            `cowlab diff on ${target.name} (judged by ${target.profile.id})`,
            results.map((r) => ({
              name: r.scenario,
              classname: r.file,
              outcome: r.verdict === 'agree' ? 'pass' : r.verdict === 'skip' ? 'skip' : 'fail',
              ...(r.verdict !== 'agree' ? { message: r.reason } : {}),
              ...(r.divergence
                ? {
                    detail:
                      `${r.reason}\nstep ${r.divergence.step} (${r.divergence.process})${r.divergence.address ? ` ${r.divergence.address}` : ''}: ` +
                      `${r.divergence.field}\n  model:  ${r.divergence.model}\n  kernel: ${r.divergence.kernel}` +
                      divergenceTable(r.divergence, '  ')
                        .map((l) => `\n${l}`)
                        .join(''),
                  }
                : {}),
              ...(r.unstable ? { note: `unstable: ${r.unstable}` } : {}),
            })),
          );
        if (opts.json) out(JSON.stringify(results, null, 2));
        else if (!quiet) {
          const n = (v: string) => results.filter((r) => r.verdict === v).length;
          out(
            `${results.length} scenario(s) on ${target.name} (judged by ${target.profile.id}): ${n('agree')} agree, ${n('diverge')} diverge, ${n('skip')} skipped` +
              unstableNote(results),
          );
        }
        if (results.some((r) => r.verdict === 'diverge')) process.exitCode = EXIT_FAIL;
        else if (results.length && results.every((r) => r.verdict === 'skip')) {
          // nothing was compared (not root, no capability): not a success
          process.stderr.write(
            `cowlab: nothing was compared on ${target.name}: all ${results.length} scenario(s) skipped (the first: ${results[0]!.reason})\n`,
          );
          process.exitCode ??= EXIT_SKIP;
        } else process.exitCode ??= EXIT_OK;
      },
    );
}

/**
 * ` (N of the agreeing diverged on a first run ...)`: how many agreed only when run again, and of those how
 * many diverged while the kernel reclaimed or compacted on its own (the rest had nothing recorded: each
 * result's `unstable` says what its first run saw).
 */
export function unstableNote(results: readonly { unstable?: string }[]): string {
  const un = results.filter((r) => r.unstable);
  if (!un.length) return '';
  const bg = un.filter((r) => r.unstable!.includes('while the kernel reclaimed or compacted')).length;
  return ` (${un.length} of the agreeing diverged on a first run and agreed when run again, ${bg} of them while the kernel reclaimed or compacted on its own)`;
}
