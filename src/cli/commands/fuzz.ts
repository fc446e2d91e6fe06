/** `cowlab fuzz` (docs/cli.md). */
import type { Command } from 'commander';
import { InputError, EXIT_OK, EXIT_FAIL, EXIT_LIMIT } from '../../scenario/errors.js';
import { out, pickProfile, intOption, checkKernelOrProfile, onStopSignals, progressGate } from '../util.js';
import { checkDirCreatable } from '../../util/files.js';
import { SCENARIO_LIMITS } from '../../ops/limits.js';
import { parseShard, shardRange } from '../../util/shard.js';
import { divergenceTable } from '../../diff/compare.js';
import type { FuzzReport } from '../../fuzz/fuzz.js';
import type { ModelFuzzReport } from '../../fuzz/model.js';
import type { FuzzDiffShard, FuzzModelShard } from '../../fuzz/merge.js';

/** Without a terminal, the longest time between two progress lines. */
const PROGRESS_MS = 5 * 60_000;

export function fuzzCommand(program: Command): void {
  program
    .command('fuzz')
    .description(
      'Random scenarios over every operation, in the model with every property checked (the first of each kind of violation shrunk and saved); ' +
        'with --diff, over what a real kernel can run, each in the model and on this kernel, and every divergence shrunk to a minimal scenario file.',
    )
    .option('--diff', 'compare with the real kernel')
    .option('--seed <n>', 'seed of the random sequence (printed; the same seed gives the same scenarios)')
    .option('--count <n>', 'number of random scenarios', '1000')
    .option('--from <n>', 'start at random scenario n of the seeded sequence (a long run split by hand)', '0')
    .option('--steps <n>', 'maximum steps per scenario', '24')
    .option('-j, --jobs <n>', 'executors in parallel (default: number of CPUs)')
    .option('--out <dir>', 'where shrunk divergences are saved', 'fuzz-findings')
    .option('--on <kernel>', 'host (default), a fetched kernel id, or a kernel image of your own (as for diff)')
    .option('--kernel <id>', 'profile that judges the kernel (as for diff)')
    .option('--profile <file>', 'a profile module of your own to judge the kernel')
    .option('--brd <file>', 'brd.ko for a kernel image of your own')
    .option('--save <dir>', 'model only: also save every random scenario in this directory')
    .option('--no-thp', 'leave out the large-folio areas (a PMD-sized THP, a 64 kB mTHP) and their operations')
    .option('--no-ksm', 'with --diff: leave out the equal pages in MADV_MERGEABLE areas half of the scenarios start with')
    .option('--no-hugetlb', 'with --diff: leave out the hugetlb area half of the scenarios have')
    .option(
      '--threads',
      "P0 starts with a second thread, and commands run on threads too (other seeds than without); in the model (without --diff) a thread also stops in the kernel's windows (cow-copy, swapin, deferred-flush, gup-retry, copy-present-pte, copy-present-page) and resumes",
    )
    .option('--no-shrink', 'with --diff: save divergences as they ran (shrinking runs the kernel per candidate, up to 5 minutes per kind)')
    .option('--json', 'print the report as JSON')
    .option(
      '--shard <i/n>',
      'run the i-th of n contiguous parts of the scenarios; prints the shard as JSON for `cowlab merge` (docs/sharding.md)',
    )
    .addHelpText(
      'after',
      '\nWith --diff, SIGINT or SIGTERM stops it after the scenarios under way and reports what ran (a second one quits at once); ' +
        'without a terminal it prints a progress line per tenth of the run, and at least one every 5 minutes; each divergence is printed on stderr when found.\n' +
        'Exit status: 0 no divergence (no violation in the model mode), 1 some, 2 bad input, 3 interrupted before the count with none found.',
    )
    .action(
      async (opts: {
        diff?: boolean;
        seed?: string;
        count: string;
        from: string;
        steps: string;
        jobs?: string;
        out: string;
        json?: boolean;
        on?: string;
        kernel?: string;
        profile?: string;
        brd?: string;
        save?: string;
        thp: boolean;
        ksm: boolean;
        hugetlb: boolean;
        shrink: boolean;
        threads?: boolean;
        shard?: string;
      }) => {
        const { availableParallelism } = await import('node:os');
        const seed = intOption(opts.seed, '--seed') ?? Math.floor(Math.random() * 2 ** 31);
        const count0 = intOption(opts.count, '--count', 1)!;
        const from0 = intOption(opts.from, '--from', 0)!;
        const shard = parseShard(opts.shard);
        // a shard runs its contiguous part of [from, from + count)
        const { lo: from, hi } = shardRange(shard, from0, count0);
        const count = hi - from;
        const jobs = intOption(opts.jobs, '--jobs', 1) ?? availableParallelism();
        const maxSteps = intOption(opts.steps, '--steps', 1, SCENARIO_LIMITS.steps, " (the executor's step table)")!;
        checkKernelOrProfile(opts);
        // the findings are written at the end of a long run: a bad directory is found now
        checkDirCreatable(opts.out, '--out');
        if (opts.save !== undefined) checkDirCreatable(opts.save, '--save');
        if (!opts.diff) {
          if (opts.on) throw new InputError('--on needs --diff');
          const prof = await pickProfile(opts);
          const { fuzzModel } = await import('../../fuzz/model.js');
          process.stderr.write(`cowlab fuzz: seed ${seed}, ${count} scenarios in the model on ${prof.id}\n`);
          const report = fuzzModel({
            seed,
            count,
            from,
            maxSteps,
            profile: prof,
            outDir: opts.out,
            thp: opts.thp,
            ...(opts.threads ? { threads: true } : {}),
            ...(opts.save ? { saveDir: opts.save } : {}),
          });
          if (shard)
            out(JSON.stringify({ cowlab: 'fuzz-model-shard', shard, from: from0, count: count0, report } satisfies FuzzModelShard));
          else if (opts.json) out(JSON.stringify(report, null, 2));
          else printModelFuzz(report);
          process.exitCode = report.findings.length ? EXIT_FAIL : EXIT_OK;
          return;
        }
        if (opts.save) throw new InputError('--save is for the model-only mode (without --diff)');
        const { fuzzDiff } = await import('../../fuzz/fuzz.js');
        const { resolveOn } = await import('../../qemu/target.js');
        const explicit = opts.profile !== undefined || opts.kernel !== undefined ? await pickProfile(opts) : undefined;
        const target = resolveOn(opts.on, explicit, opts.brd);
        process.stderr.write(
          `cowlab fuzz: seed ${seed}, ${count} scenarios${from ? ` from scenario ${from}` : ''} on ${target.name} (judged by ${target.profile.id}), ${jobs} ${target.guest ? 'guest' : 'executor'}(s)\n`,
        );
        const { SingleBar, Presets } = await import('cli-progress');
        const bar =
          process.stderr.isTTY && !opts.json
            ? new SingleBar(
                { format: ' {bar} {value}/{total} scenarios, {diverged} diverged, {skipped} skipped', stream: process.stderr },
                Presets.shades_classic,
              )
            : null;
        bar?.start(count, 0, { diverged: 0, skipped: 0 });
        // without a terminal, a line per tenth of the run, and at least one every 5 minutes (a tenth of a long
        // run in qemu takes hours), so a log shows how far it got
        const due = progressGate(count, PROGRESS_MS);
        const progress = (done: number, diverged: number, skipped: number) => {
          if (bar) return bar.update(done, { diverged, skipped });
          if (opts.json || !due(done)) return;
          process.stderr.write(`cowlab fuzz: ${done}/${count} scenarios, ${diverged} diverged, ${skipped} skipped\n`);
        };
        // SIGINT or SIGTERM: stop after the scenarios under way and report what ran; a second one quits at once
        const stop = { requested: false };
        onStopSignals(stop, EXIT_LIMIT, (sig) => {
          bar?.stop();
          process.stderr.write(`cowlab fuzz: ${sig}: stopping after the scenarios under way (again to quit at once)\n`);
        });
        const report = await fuzzDiff({
          seed,
          count,
          from,
          jobs,
          outDir: opts.out,
          maxSteps,
          profile: target.profile,
          on: target.guest,
          thp: opts.thp,
          ksm: opts.ksm,
          hugetlb: opts.hugetlb,
          ...(opts.threads ? { threads: true } : {}),
          shrink: opts.shrink,
          onProgress: progress,
          // at once, above the bar when there is one (it is drawn again at the next update)
          onDivergence: (index, d) =>
            process.stderr.write(
              `${bar ? '\n' : ''}cowlab fuzz: scenario ${index} diverged at step ${d.step} ${d.process}${d.address ? ` ${d.address}` : ''}: ${d.field}: model ${d.model}, kernel ${d.kernel}\n`,
            ),
          stop,
        });
        bar?.stop();
        if (shard)
          out(
            JSON.stringify({
              cowlab: 'fuzz-diff-shard',
              shard,
              from: from0,
              count: count0,
              shrink: opts.shrink,
              report,
            } satisfies FuzzDiffShard),
          );
        else if (opts.json) out(JSON.stringify(report, null, 2));
        else printFuzzDiff(report, count, opts.shrink);
        process.exitCode = report.findings.length ? EXIT_FAIL : report.interrupted ? EXIT_LIMIT : EXIT_OK;
      },
    );
}

/** The model-only fuzz report as text (fuzz, and merge of its shards). */
export function printModelFuzz(report: ModelFuzzReport): void {
  out(
    `seed ${report.seed}: ${report.ran} random scenarios on ${report.kernel} in ${report.seconds.toFixed(1)} s: ${report.clean} without a violation`,
  );
  for (const f of report.findings)
    out(`  ${f.count} x ${f.property}: first scenario ${f.index}, shrunk to ${f.steps} steps: ${f.file}\n    ${f.message}`);
}

/** The fuzz --diff report as text (fuzz, and merge of its shards); `count`: scenarios asked for. */
export function printFuzzDiff(report: FuzzReport, count: number, shrink: boolean): void {
  const diverged = report.findings.reduce((a, f) => a + f.count, 0);
  out(
    `seed ${report.seed}: ${report.ran} random scenarios in ${report.seconds.toFixed(1)} s: ${report.agreed} agree, ${diverged} diverge (${report.findings.length} kind(s)), ${report.skipped} skipped`,
  );
  if (report.interrupted) out(`interrupted: ${report.ran} of ${count} scenarios ran`);
  for (const k of report.skips) out(`  skipped: scenario ${k.index}: ${k.reason}`);
  for (const u of report.unstable) {
    const d = u.divergence;
    out(
      `  unstable: scenario ${u.index} diverged at step ${d.step} ${d.process}: ${d.field}: model ${d.model}, kernel ${d.kernel}; agreed on run ${u.agreedOnRun}`,
    );
  }
  for (const f of report.findings) {
    out(`  ${f.count} x ${f.kind}`);
    const how = f.shrunk ? `shrunk to ${f.steps} steps` : `not shrunk (${shrink ? 'interrupted' : '--no-shrink'}), ${f.steps} steps`;
    out(`    first: scenario ${f.index}, ${how}: ${f.file}${f.reproduced ? '' : ' (did not reproduce while shrinking)'}`);
    const d = f.divergence;
    out(`    step ${d.step} ${d.process}${d.address ? ` ${d.address}` : ''}: ${d.field}`);
    for (const l of divergenceTable(d, '      ')) out(l);
  }
}
