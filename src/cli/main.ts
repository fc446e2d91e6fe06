/**
 * The `cowlab` command line. Options are declared once with commander,
 * which drives parsing and --help. Exit codes: 0 success / all pass, 1 a
 * scenario failed, 2 bad input, 70 internal error (docs/cli.md).
 */
import { Command, CommanderError, Option } from 'commander';
import { InputError, EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERNAL, EXIT_LIMIT } from '../scenario/errors.js';
import { loadScenarios } from '../scenario/load.js';
import { runScenario } from '../scenario/run.js';
import { PROFILES, MATRIX_PROFILES, profileById } from '../profiles/index.js';
import { SUITES, fetchKernel, fetchedKernels } from '../qemu/fetch.js';
import type { Profile } from '../profiles/types.js';
import { mechanismChanges, type MechGroup } from '../profiles/mechanisms.js';
import { formatExplore, runJson, runText, traceText } from './format.js';

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}

/** Resolves --kernel / --profile to the profiles to run. */
async function pickProfile(opts: { kernel?: string; profile?: string }): Promise<Profile> {
  if (opts.profile) {
    const { loadProfileFile } = await import('../profiles/load.js');
    return loadProfileFile(opts.profile);
  }
  return profileById(opts.kernel ?? 'linux-6.18');
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('cowlab')
    .description('An executable model of Linux anonymous-memory COW and GUP pinning, checked against real kernels.')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('run')
    .description('Run scenario files (or directories of them) in the model and print a verdict per scenario.')
    .argument('<path...>', 'scenario files or directories')
    .addOption(new Option('--kernel <id>', 'kernel profile to run (see `cowlab kernels`)').default('linux-6.18'))
    .option('--profile <file>', 'a profile module of your own (see docs/profiles.md)')
    .option('--trace', "print every step: the kernel path taken, every page's counts and flags, what changed")
    .option('--json', 'print a JSON array, one object per scenario')
    .addHelpText(
      'after',
      '\nScenario format: docs/scenario-format.md (examples in scenarios/).\nExit status: 0 all pass, 1 a scenario failed, 2 bad input.',
    )
    .action(async (paths: string[], opts: { kernel?: string; profile?: string; trace?: boolean; json?: boolean }) => {
      const prof = await pickProfile(opts);
      const scenarios = loadScenarios(paths);
      const results = scenarios.map((r) => ({ r, res: runScenario(r, prof, { trace: opts.trace ?? false }) }));
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

  program
    .command('matrix')
    .description(
      'Every scenario on every kernel profile: pass, FAIL (property@step), expected-fail, n/a; totals of failures, copies and needless copies.',
    )
    .option('--kernels <ids>', 'comma-separated profile ids (default: all)')
    .option('--profile <file...>', 'add profiles of your own (see docs/profiles.md)')
    .option('--scenarios <dir>', 'scenario directory or file', 'scenarios')
    .addOption(new Option('--format <fmt>', 'output format').choices(['text', 'markdown', 'json', 'html']).default('text'))
    .addHelpText('after', '\nExit status: 0 when every cell matches the history the scenarios document, 1 otherwise, 2 bad input.')
    .action(async (opts: { kernels?: string; profile?: string[]; scenarios: string; format: string }) => {
      const { buildMatrix } = await import('../matrix/matrix.js');
      const render = await import('../matrix/render.js');
      const { loadProfileFile } = await import('../profiles/load.js');
      const profiles: Profile[] = opts.kernels ? opts.kernels.split(',').map((k) => profileById(k.trim())) : [...MATRIX_PROFILES];
      for (const f of opts.profile ?? []) profiles.push(await loadProfileFile(f));
      if (profiles.length === 0) throw new InputError('--kernels: no kernel named');
      const rs = loadScenarios([opts.scenarios]);
      const m = buildMatrix(rs, profiles, PROFILES);
      const text =
        opts.format === 'json'
          ? render.matrixJson(m)
          : opts.format === 'markdown'
            ? render.matrixMarkdown(m)
            : opts.format === 'html'
              ? render.matrixHtml(m)
              : render.matrixText(m);
      out(text);
      process.exitCode = Object.values(m.totals).some((t) => t.unexpected > 0) ? EXIT_FAIL : EXIT_OK;
    });

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
        const { diffScenarios } = await import('../diff/run.js');
        const { resolveOn } = await import('../qemu/target.js');
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

  program
    .command('fidelity')
    .description(
      'The model against every real kernel at hand: the host, and each fetched kernel in qemu, judged by its own profile. Per kernel: agree, diverge, skip, and the divergences.',
    )
    .argument('[path...]', 'scenario files or directories', ['scenarios'])
    .option('--json', 'print JSON: one object per kernel with its counts and divergences')
    .option('-j, --jobs <n>', 'executors (or guests) in parallel (default: number of CPUs)')
    .action(async (paths: string[], opts: { json?: boolean; jobs?: string }) => {
      const { diffScenarios } = await import('../diff/run.js');
      const { resolveOn } = await import('../qemu/target.js');
      const { availableParallelism } = await import('node:os');
      const scenarios = loadScenarios(paths);
      const jobs = opts.jobs ? Number(opts.jobs) : availableParallelism();
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
          divergences: results
            .filter((r) => r.verdict === 'diverge')
            .map((r) => ({ scenario: r.scenario, file: r.file, reason: r.reason })),
          skips: Object.entries(
            results
              .filter((r) => r.verdict === 'skip')
              .map((r) => r.reason.replace(/^step \d+ /, ''))
              .reduce<Record<string, number>>((a, why) => ({ ...a, [why]: (a[why] ?? 0) + 1 }), {}),
          ).map(([reason, count]) => ({ reason, count })),
        };
        report.push(entry);
        if (!opts.json) {
          out(
            `${k.padEnd(12)} ${entry.release.padEnd(28)} judged by ${entry.profile.padEnd(12)} ${String(entry.agree).padStart(3)} agree ${String(entry.diverge).padStart(3)} diverge ${String(entry.skip).padStart(3)} skip  (${entry.seconds.toFixed(1)} s)`,
          );
          for (const d of entry.divergences) out(`    DIVERGE ${d.scenario}: ${d.reason}`);
        }
      }
      if (opts.json) out(JSON.stringify(report, null, 2));
      else if (kernels.length === 1) out('(no fetched kernels: cowlab kernels fetch)');
      process.exitCode = report.some((e) => e.diverge > 0) ? EXIT_FAIL : EXIT_OK;
    });

  program
    .command('explore')
    .description(
      "Search every sequence of the configuration's operations up to its depth (breadth-first: the first counterexample is a shortest one), or random walks with --swarm.",
    )
    .argument('<config>', 'an explorer configuration (see docs/explore.md; examples in explore/)')
    .option('--kernel <id>', "profile to explore (default: the configuration's kernel, else linux-6.18)")
    .option('--profile <file>', 'a profile module of your own (see docs/profiles.md)')
    .option('--depth <n>', "depth bound (default: the configuration's)")
    .option('--processes <n>', "process bound (default: the configuration's)")
    .option('--ops <list>', "comma-separated operation alphabet (default: the configuration's; see docs/explore.md)")
    .option('--properties <list>', "comma-separated properties to check (default: the configuration's)")
    .option('-w, --workers <n>', 'worker threads (default: 1)')
    .option('--swarm', 'random walks instead of breadth-first search')
    .option('--seed <n>', 'seed of the random walks (printed; the same seed repeats the walks)')
    .option('--walks <n>', "number of random walks (default: the configuration's, else 10000)")
    .option('--max-states <n>', 'stop after this many distinct states (exit 3)')
    .option('--max-memory <mb>', 'stop when resident memory passes this many MiB (exit 3)')
    .option('--shrink', 'reduce the counterexample to a 1-minimal scenario')
    .option('--out <file>', 'where the counterexample scenario goes (default: explore-findings/CONFIG-KERNEL.yaml)')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExit status: 0 none found, 1 violation found, 2 bad input, 3 stopped at a limit (states, memory, Ctrl-C).')
    .action(
      async (
        configFile: string,
        opts: {
          kernel?: string;
          profile?: string;
          depth?: string;
          processes?: string;
          ops?: string;
          properties?: string;
          workers?: string;
          swarm?: boolean;
          seed?: string;
          walks?: string;
          maxStates?: string;
          maxMemory?: string;
          shrink?: boolean;
          out?: string;
          json?: boolean;
        },
      ) => {
        const { loadConfig, overrideConfig } = await import('../explore/system.js');
        const { explore } = await import('../explore/explore.js');
        const config = overrideConfig(loadConfig(configFile), { processes: opts.processes, ops: opts.ops, properties: opts.properties });
        const num = (v: string | undefined, what: string, min = 0) => {
          if (v === undefined) return undefined;
          const n = Number(v);
          if (!Number.isInteger(n) || n < min) throw new InputError(`${what}: expected an integer >= ${min}`);
          return n;
        };
        const profileId = opts.kernel ?? (opts.profile ? undefined : (config.kernel ?? 'linux-6.18'));
        const profile = opts.profile ? await pickProfile({ profile: opts.profile }) : profileById(profileId!);
        const profileSource = opts.profile ? { file: opts.profile } : { builtin: profile.id };
        const workers = num(opts.workers, '--workers', 1) ?? 1;
        const seed = opts.swarm ? (num(opts.seed, '--seed') ?? Math.floor(Math.random() * 2 ** 31)) : undefined;
        const stop = { requested: false };
        process.on('SIGINT', () => {
          if (stop.requested) process.exit(EXIT_LIMIT);
          stop.requested = true;
        });
        const { SingleBar } = await import('cli-progress');
        const bar =
          process.stderr.isTTY && !opts.json
            ? new SingleBar({
                format: ' depth {depth}  states {states}  distinct {distinct}  queue {queue}  {rate}/s  {mem} MiB',
                stream: process.stderr,
                hideCursor: true,
              })
            : null;
        if (seed !== undefined) process.stderr.write(`cowlab explore: swarm seed ${seed}\n`);
        bar?.start(0, 0, { depth: 0, states: 0, distinct: 0, queue: 0, rate: 0, mem: 0 });
        const report = await explore({
          config,
          profile,
          profileSource,
          workers,
          depth: num(opts.depth, '--depth', 1),
          maxStates: num(opts.maxStates, '--max-states', 1),
          maxMemoryMb: num(opts.maxMemory, '--max-memory', 64),
          ...(seed !== undefined ? { swarm: { seed, walks: num(opts.walks, '--walks', 1) ?? config.swarm.walks } } : {}),
          shrink: opts.shrink ?? false,
          ...(opts.out ? { out: opts.out } : {}),
          stop,
          onProgress: (p) =>
            bar?.update(0, {
              depth: p.depth,
              states: p.states,
              distinct: p.distinct,
              queue: p.queue,
              rate: Math.round(p.distinct / Math.max(p.seconds, 1e-3)),
              mem: Math.round(p.memoryMb),
            }),
          onSwarmProgress: (w, st) =>
            bar?.update(0, {
              depth: '-',
              states: st,
              distinct: `${w} walks`,
              queue: '-',
              rate: 0,
              mem: Math.round(process.memoryUsage().rss / 1048576),
            }),
        });
        bar?.stop();
        if (opts.json) out(JSON.stringify(report, null, 2));
        else out(formatExplore(report));
        process.exitCode = report.verdict === 'violation' ? EXIT_FAIL : report.stoppedBy ? EXIT_LIMIT : EXIT_OK;
      },
    );

  program
    .command('fuzz')
    .description(
      'Random scenarios; with --diff, run each in the model and on this kernel, and shrink every divergence to a minimal scenario file.',
    )
    .option('--diff', 'compare with the real kernel (the only mode so far)')
    .option('--seed <n>', 'seed of the random sequence (printed; the same seed gives the same scenarios)')
    .option('--count <n>', 'number of random scenarios', '1000')
    .option('--steps <n>', 'maximum steps per scenario', '24')
    .option('-j, --jobs <n>', 'executors in parallel (default: number of CPUs)')
    .option('--out <dir>', 'where shrunk divergences are saved', 'fuzz-findings')
    .option('--on <kernel>', 'host (default), a fetched kernel id, or a kernel image of your own (as for diff)')
    .option('--kernel <id>', 'profile that judges the kernel (as for diff)')
    .option('--profile <file>', 'a profile module of your own to judge the kernel')
    .option('--brd <file>', 'brd.ko for a kernel image of your own')
    .option('--json', 'print the report as JSON')
    .action(
      async (opts: {
        diff?: boolean;
        seed?: string;
        count: string;
        steps: string;
        jobs?: string;
        out: string;
        json?: boolean;
        on?: string;
        kernel?: string;
        profile?: string;
        brd?: string;
      }) => {
        if (!opts.diff) throw new InputError('fuzz: only --diff is implemented (model-only random checking runs in npm test)');
        const { fuzzDiff } = await import('../fuzz/fuzz.js');
        const { availableParallelism } = await import('node:os');
        const seed = opts.seed !== undefined ? Number(opts.seed) : Math.floor(Math.random() * 2 ** 31);
        const count = Number(opts.count);
        const jobs = opts.jobs ? Number(opts.jobs) : availableParallelism();
        for (const [k, v] of [
          ['--seed', seed],
          ['--count', count],
          ['--jobs', jobs],
          ['--steps', Number(opts.steps)],
        ] as const) {
          if (!Number.isInteger(v) || v < 0) throw new InputError(`${k}: expected a non-negative integer`);
        }
        const { resolveOn } = await import('../qemu/target.js');
        const explicit = opts.profile || opts.kernel ? await pickProfile(opts) : undefined;
        const target = resolveOn(opts.on, explicit, opts.brd);
        process.stderr.write(
          `cowlab fuzz: seed ${seed}, ${count} scenarios on ${target.name} (judged by ${target.profile.id}), ${jobs} ${target.guest ? 'guest' : 'executor'}(s)\n`,
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
        const report = await fuzzDiff({
          seed,
          count,
          jobs,
          outDir: opts.out,
          maxSteps: Number(opts.steps),
          profile: target.profile,
          on: target.guest,
          onProgress: (done, diverged, skipped) => bar?.update(done, { diverged, skipped }),
        });
        bar?.stop();
        if (opts.json) out(JSON.stringify(report, null, 2));
        else {
          const diverged = report.findings.reduce((a, f) => a + f.count, 0);
          out(
            `seed ${report.seed}: ${report.ran} random scenarios in ${report.seconds.toFixed(1)} s: ${report.agreed} agree, ${diverged} diverge (${report.findings.length} kind(s)), ${report.skipped} skipped`,
          );
          for (const f of report.findings) {
            out(`  ${f.count} x ${f.kind}`);
            out(
              `    first: scenario ${f.index}, shrunk to ${f.steps} steps: ${f.file}${f.reproduced ? '' : ' (did not reproduce while shrinking)'}`,
            );
          }
        }
        process.exitCode = report.findings.length ? EXIT_FAIL : EXIT_OK;
      },
    );

  program
    .command('emit-c')
    .description('Write a standalone C reproducer of one scenario (kselftest TAP output) to stdout or a file.')
    .argument('<file>', 'a scenario file')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .addHelpText(
      'after',
      '\nThe reproducer embeds the executor core; build it with: cc -O2 -Wall -Wextra -Werror -pthread -Wl,-z,now -o repro repro.c',
    )
    .action(async (file: string, opts: { output?: string }) => {
      const { emitC } = await import('../executor/emit.js');
      const { loadScenario } = await import('../scenario/load.js');
      const text = emitC(loadScenario(file));
      if (opts.output) {
        const { writeFileSync, renameSync } = await import('node:fs');
        const tmp = `${opts.output}.tmp${process.pid}`;
        writeFileSync(tmp, text);
        renameSync(tmp, opts.output); // never leave a half-written reproducer behind
      } else out(text);
    });

  const kernels = program
    .command('kernels')
    .description(
      'List the kernel profiles: each is its predecessor plus named mechanisms. `kernels fetch` downloads real kernels for `diff --on`.',
    )
    .option('--json', 'print JSON: id, title, basedOn, commits, summary, changes (mechanisms that differ from basedOn), mechanisms')
    .option('--profile <file...>', 'also list profiles of your own (see docs/profiles.md)')
    .action(async (opts: { json?: boolean; profile?: string[] }) => {
      const { loadProfileFile } = await import('../profiles/load.js');
      const list: Profile[] = [...PROFILES];
      for (const f of opts.profile ?? []) list.push(await loadProfileFile(f));
      const byId = (id: string | null) => (id ? (list.find((x) => x.id === id) ?? null) : null);
      const changes = (p: Profile): Record<string, { from: unknown; to: unknown }> => {
        const base = byId(p.basedOn);
        const out: Record<string, { from: unknown; to: unknown }> = {};
        if (!base) return out;
        for (const [g, c] of Object.entries(mechanismChanges(base.mech, p.mech))) {
          for (const [k, to] of Object.entries(c as Record<string, unknown>)) {
            out[`${g}.${k}`] = { from: (base.mech[g as MechGroup] as Record<string, unknown>)[k], to };
          }
        }
        return out;
      };
      if (opts.json) {
        out(
          JSON.stringify(
            list.map((p) => ({
              id: p.id,
              title: p.title,
              basedOn: p.basedOn,
              commits: p.commits,
              summary: p.summary,
              changes: changes(p),
              mechanisms: p.mech,
            })),
            null,
            2,
          ),
        );
        return;
      }
      for (const p of list) {
        out(`${p.id}: ${p.title}`);
        out(`  based on ${p.basedOn ?? '(none)'}: ${p.summary}`);
        const ch = Object.entries(changes(p)).map(([k, v]) => `${k} ${String(v.from)} -> ${String(v.to)}`);
        if (ch.length) out(`  changes: ${ch.join('; ')}`);
        for (const c of p.commits) out(`  - ${c}`);
      }
    });
  kernels
    .command('fetch')
    .description(
      "Download Debian's newest cloud kernel of each suite (or of the ids given) for `cowlab diff --on`; cached, versions recorded.",
    )
    .argument('[ids...]', `kernel ids (default: all): ${SUITES.map((x) => x.id).join(', ')}`)
    .action((ids: string[]) => {
      const list = ids.length ? ids : SUITES.map((x) => x.id);
      for (const id of list) fetchKernel(id, (m) => process.stderr.write(`${m}\n`));
      for (const k of fetchedKernels()) out(`${k.id.padEnd(12)} ${k.release.padEnd(28)} Debian ${k.debVersion}  ${k.vmlinuz}`);
    });
  return program;
}

/** Entry point: runs the command line, maps errors to exit codes. */
export async function main(argv: string[]): Promise<void> {
  // a closed pipe (cowlab run ... | head) is not an error
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
      return;
    }
    if (e instanceof InputError) {
      process.stderr.write(`cowlab: ${e.format()}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    process.stderr.write(`cowlab: internal error (a bug in cowlab): ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = EXIT_INTERNAL;
  }
}
