/** `cowlab run` (docs/cli.md). */
import type { Command } from 'commander';
import { EXIT_OK, EXIT_FAIL } from '../../scenario/errors.js';
import { loadScenarios } from '../../scenario/load.js';
import { runScenario } from '../../scenario/run.js';
import { runJson, runText, traceText } from '../format.js';
import { out, pickProfile, envOption } from '../util.js';

export function runCommand(program: Command): void {
  program
    .command('run')
    .description('Run scenario files (or directories of them) in the model and print a verdict per scenario.')
    .argument('<path...>', 'scenario files or directories')
    .option('--kernel <id>', 'kernel profile to run (see `cowlab kernels`; default: linux-6.18)')
    .option('--profile <file>', 'a profile module of your own (see docs/profiles.md)')
    .option('--trace', "print every step: the kernel path taken, every page's counts and flags, what changed")
    .option('--json', 'print a JSON array, one object per scenario')
    .option(
      '--env <list>',
      "the machine, where it differs from the profile's: KEY=VALUE,... (docs/profiles.md, e.g. zeroPage=false,swap=sync-io)",
    )
    .addHelpText(
      'after',
      '\nScenario format: docs/scenario-format.md (examples in scenarios/).\nExit status: 0 all pass, 1 a scenario failed, 2 bad input.',
    )
    .action(async (paths: string[], opts: { kernel?: string; profile?: string; trace?: boolean; json?: boolean; env?: string }) => {
      const prof = await pickProfile(opts);
      const env = envOption(prof, opts.env);
      const scenarios = loadScenarios(paths);
      const results = scenarios.map((r) => ({ r, res: runScenario(r, prof, { trace: opts.trace ?? false, env }) }));
      if (opts.json)
        out(
          JSON.stringify(
            results.map(({ r, res }) => runJson(r, res)),
            null,
            2,
          ),
        );
      else {
        for (const { r, res } of results) {
          if (opts.trace) out(`== ${res.scenario} (${res.file}) on ${res.kernel}\n${traceText(r, res)}`);
          out(runText(res));
        }
        const failed = results.filter((x) => x.res.verdict === 'fail').length;
        out(`${results.length} scenario(s): ${results.length - failed} passed, ${failed} failed`);
      }
      process.exitCode = results.some((x) => x.res.verdict === 'fail') ? EXIT_FAIL : EXIT_OK;
    });
}
