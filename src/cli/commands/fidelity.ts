/** `cowlab fidelity` (docs/cli.md). */
import type { Command } from 'commander';
import { EXIT_OK, EXIT_FAIL } from '../../scenario/errors.js';
import { loadScenarios } from '../../scenario/load.js';
import { fetchedKernels } from '../../qemu/fetch.js';
import { out, intOption } from '../util.js';

/** Scenarios named per skip reason in the text report. */
const SKIP_NAMES = 4;

export function fidelityCommand(program: Command): void {
  program
    .command('fidelity')
    .description(
      'The model against every real kernel at hand: the host, and each fetched kernel in qemu, judged by its own profile. Per kernel: agree, diverge, skip, and the divergences.',
    )
    .argument('[path...]', 'scenario files or directories', ['scenarios'])
    .option('--json', 'print JSON: one object per kernel with its counts and divergences')
    .option('-j, --jobs <n>', 'executors (or guests) in parallel (default: number of CPUs)')
    .option(
      '--sample',
      "of the cow.c matrix instances, only the sample the tests use (each backing class at 64 kB, the PMD and single-PTE 2 MB ones; every other scenario runs): CI's set, a third of the time",
    )
    .action(async (paths: string[], opts: { json?: boolean; jobs?: string; sample?: boolean }) => {
      const { diffScenarios } = await import('../../diff/run.js');
      const { resolveOn } = await import('../../qemu/target.js');
      const { availableParallelism } = await import('node:os');
      const { sampledInstance } = await import('../../scenario/cowc.js');
      const jobs = intOption(opts.jobs, '--jobs', 1) ?? availableParallelism();
      const scenarios = loadScenarios(paths).filter((r) => !opts.sample || sampledInstance(r.sc.name));
      const kernels = ['host', ...fetchedKernels().map((k) => k.id)];
      const report = [];
      for (const k of kernels) {
        const target = resolveOn(k, undefined, undefined);
        const t0 = Date.now();
        const results = await diffScenarios(scenarios, { jobs, profile: target.profile, on: target.guest, kernelName: target.name });
        const n = (v: string) => results.filter((r) => r.verdict === v).length;
        const entry = {
          kernel: k,
          profile: target.profile.id,
          release: k === 'host' ? (await import('node:os')).release() : fetchedKernels().find((x) => x.id === k)!.release,
          agree: n('agree'),
          diverge: n('diverge'),
          skip: n('skip'),
          seconds: (Date.now() - t0) / 1000,
          unstable: results.filter((r) => r.unstable).map((r) => ({ scenario: r.scenario, file: r.file, note: r.unstable! })),
          divergences: results
            .filter((r) => r.verdict === 'diverge')
            .map((r) => ({ scenario: r.scenario, file: r.file, reason: r.reason })),
          // the scenarios each reason leaves unchecked on this kernel, by name
          skips: [
            ...results
              .filter((r) => r.verdict === 'skip')
              .reduce((a, r) => {
                const why = r.reason.replace(/^step \d+ /, '');
                a.set(why, [...(a.get(why) ?? []), r.scenario]);
                return a;
              }, new Map<string, string[]>()),
          ].map(([reason, scenarios]) => ({ reason, count: scenarios.length, scenarios })),
        };
        report.push(entry);
        if (!opts.json) {
          out(
            `${k.padEnd(12)} ${entry.release.padEnd(28)} judged by ${entry.profile.padEnd(12)} ${String(entry.agree).padStart(3)} agree ${String(entry.diverge).padStart(3)} diverge ${String(entry.skip).padStart(3)} skip  (${entry.seconds.toFixed(1)} s)`,
          );
          for (const d of entry.divergences) out(`    DIVERGE ${d.scenario}: ${d.reason}`);
          for (const u of entry.unstable) out(`    UNSTABLE ${u.scenario}: ${u.note}`);
          // which scenarios this kernel does not check, and why (model-only, a capability, a THP size it lacks)
          for (const sk of [...entry.skips].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))) {
            out(`    skip ${String(sk.count).padStart(3)}: ${sk.reason}`);
            const named = sk.scenarios.slice(0, SKIP_NAMES).join(', ');
            out(`              ${named}${sk.count > SKIP_NAMES ? `, and ${sk.count - SKIP_NAMES} more (--json lists all)` : ''}`);
          }
        }
      }
      if (opts.json) out(JSON.stringify(report, null, 2));
      else if (kernels.length === 1) out('(no fetched kernels: cowlab kernels fetch)');
      process.exitCode = report.some((e) => e.diverge > 0) ? EXIT_FAIL : EXIT_OK;
    });
}
