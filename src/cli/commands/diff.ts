/** `cowlab diff` (docs/cli.md). */
import type { Command } from 'commander';
import { InputError, EXIT_OK, EXIT_FAIL } from '../../scenario/errors.js';
import { loadScenarios } from '../../scenario/load.js';
import { out, pickProfile } from '../util.js';

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
    .addHelpText(
      'after',
      '\nNeeds root for frame numbers and kpageflags; on the host it creates (and removes) a swapfile when a scenario pages out.\nIn qemu: docs/real-kernels.md.\nExit status: 0 all agree or skip, 1 a divergence, 2 bad input.',
    )
    .action(
      async (paths: string[], opts: { json?: boolean; jobs?: string; on?: string; kernel?: string; profile?: string; brd?: string }) => {
        const { diffScenarios } = await import('../../diff/run.js');
        const { resolveOn } = await import('../../qemu/target.js');
        const { availableParallelism } = await import('node:os');
        const explicit = opts.profile || opts.kernel ? await pickProfile(opts) : undefined;
        const target = resolveOn(opts.on, explicit, opts.brd);
        const scenarios = loadScenarios(paths);
        const jobs = opts.jobs ? Number(opts.jobs) : availableParallelism();
        if (!Number.isInteger(jobs) || jobs < 1) throw new InputError('--jobs: expected a positive integer');
        const results = await diffScenarios(scenarios, {
          jobs,
          profile: target.profile,
          on: target.guest,
          kernelName: target.name,
          onResult: opts.json
            ? undefined
            : (r) => {
                if (r.verdict !== 'skip')
                  out(`${r.verdict.toUpperCase().padEnd(7)} ${r.scenario}  (${r.file})${r.reason ? `\n        ${r.reason}` : ''}`);
              },
        });
        for (const r of results) if (r.verdict === 'skip' && !opts.json) out(`SKIP    ${r.scenario}  (${r.file})\n        ${r.reason}`);
        if (opts.json) out(JSON.stringify(results, null, 2));
        else {
          const n = (v: string) => results.filter((r) => r.verdict === v).length;
          out(
            `${results.length} scenario(s) on ${target.name} (judged by ${target.profile.id}): ${n('agree')} agree, ${n('diverge')} diverge, ${n('skip')} skipped`,
          );
        }
        process.exitCode = results.some((r) => r.verdict === 'diverge') ? EXIT_FAIL : EXIT_OK;
      },
    );
}
