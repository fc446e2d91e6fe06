/** `cowlab explore` (docs/cli.md). */
import type { Command } from 'commander';
import { EXIT_OK, EXIT_FAIL, EXIT_LIMIT, InputError } from '../../scenario/errors.js';
import { parseShard } from '../../util/shard.js';
import type { SwarmShard } from '../../explore/merge.js';
import type { Progress } from '../../explore/bfs.js';
import { profileById } from '../../profiles/index.js';
import { formatExplore } from '../format.js';
import { out, pickProfile, intOption, checkKernelOrProfile, onStopSignals } from '../util.js';
import { defaultMemoryLimitMb, maxWorkers, DEFAULT_LEVEL_MEMORY_MB } from '../../explore/limits.js';
import { cacheDir } from '../../executor/build.js';

export function exploreCommand(program: Command): void {
  program
    .command('explore')
    .description(
      "Search every sequence of the configuration's operations up to its depth (breadth-first: the first counterexample is a shortest one), or random walks with --swarm.",
    )
    .argument('<config>', 'an explorer configuration (see docs/explore.md; examples in explore/)')
    .option('--kernel <id>', "profile to explore (default: the configuration's kernel, else linux-6.18)")
    .option('--profile <file>', 'a profile module of your own (see docs/profiles.md)')
    .option('--depth <n>', "depth bound, at most 1024 (default: the configuration's)")
    .option('--processes <n>', "process bound (default: the configuration's)")
    .option('--threads <n>', "P0's threads; more than one stops operations in the kernel's windows (default: the configuration's)")
    .option('--ops <list>', "comma-separated operation alphabet (default: the configuration's; see docs/explore.md)")
    .option('--properties <list>', "comma-separated properties to check (default: the configuration's)")
    .option('-w, --workers <n>', 'worker threads, at most one per CPU (default: 1)')
    .option('--swarm', 'random walks instead of breadth-first search')
    .option(
      '--por',
      'partial-order reduction by sleep sets: fewer transitions, tied processes ordered exactly in fingerprints (docs/explore.md)',
    )
    .option('--seed <n>', 'seed of the random walks (printed; the same seed repeats the walks)')
    .option('--walks <n>', "number of random walks (default: the configuration's, else 10000)")
    .option('--max-states <n>', 'stop after this many distinct states (exit 3)')
    .option('--max-memory <mb>', 'stop when resident memory passes this many MiB (exit 3; default: 3/4 of the memory available at start)')
    .option(
      '--level-memory <mb>',
      `memory the breadth-first levels (encoded states) may hold, in MiB; blocks past it go to an unlinked file in the cache directory (default: ${DEFAULT_LEVEL_MEMORY_MB})`,
    )
    .option('--shrink', 'reduce the counterexample to a 1-minimal scenario')
    .option('--out <file>', 'where the counterexample scenario goes (default: explore-findings/CONFIG-KERNEL.yaml)')
    .option('--json', 'print the report as JSON')
    .option(
      '--progress-every <s>',
      'without a terminal on stderr (a log, a batch job): a progress line every this many seconds, 0 for none (default: 10)',
    )
    .option(
      '--shard <i/n>',
      'with --swarm: run the i-th of n parts of the walks; prints the shard as JSON for `cowlab merge` (docs/sharding.md)',
    )
    .addHelpText('after', '\nExit status: 0 none found, 1 violation found, 2 bad input, 3 stopped at a limit (states, memory, Ctrl-C).')
    .action(
      async (
        configFile: string,
        opts: {
          kernel?: string;
          profile?: string;
          depth?: string;
          processes?: string;
          threads?: string;
          ops?: string;
          properties?: string;
          workers?: string;
          swarm?: boolean;
          por?: boolean;
          seed?: string;
          walks?: string;
          maxStates?: string;
          maxMemory?: string;
          levelMemory?: string;
          shrink?: boolean;
          out?: string;
          json?: boolean;
          progressEvery?: string;
          shard?: string;
        },
      ) => {
        const { loadConfig, overrideConfig, MAX_DEPTH } = await import('../../explore/system.js');
        const { explore } = await import('../../explore/explore.js');
        const config = overrideConfig(loadConfig(configFile), {
          processes: opts.processes,
          threads: opts.threads,
          ops: opts.ops,
          properties: opts.properties,
        });
        const num = intOption;
        checkKernelOrProfile(opts);
        const profileId = opts.kernel ?? (opts.profile ? undefined : (config.kernel ?? 'linux-6.18'));
        const profile = opts.profile ? await pickProfile({ profile: opts.profile }) : profileById(profileId!);
        const profileSource = opts.profile ? { file: opts.profile } : { builtin: profile.id };
        const workers = num(opts.workers, '--workers', 1, maxWorkers(), ' (one per CPU)') ?? 1;
        const depth = num(opts.depth, '--depth', 1, MAX_DEPTH, ' (a counterexample must run as a scenario)');
        const maxMemoryMb = num(opts.maxMemory, '--max-memory', 64) ?? defaultMemoryLimitMb();
        const shard = parseShard(opts.shard);
        if (shard && !opts.swarm) throw new InputError('--shard needs --swarm (a breadth-first search is one piece of work)');
        if (opts.por && opts.swarm) throw new InputError('--por reduces the breadth-first search, not random walks (--swarm)');
        const seed = opts.swarm ? (num(opts.seed, '--seed') ?? Math.floor(Math.random() * 2 ** 31)) : undefined;
        const walks = num(opts.walks, '--walks', 1) ?? config.swarm.walks;
        const stop = { requested: false };
        // Ctrl-C or SIGTERM: stop with the report so far (exit 3); a second one quits at once
        onStopSignals(stop, EXIT_LIMIT);
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
        // without a terminal (a log, a batch job): one line saying the search is under way and can be stopped
        else if (!bar) process.stderr.write(`cowlab explore: searching; SIGINT or SIGTERM stops it with the summary so far\n`);
        bar?.start(0, 0, { depth: 0, states: 0, distinct: 0, queue: 0, rate: 0, mem: 0 });
        // no bar (stderr is a log): a line now and then, so a long search in a batch job shows it is alive
        const every = bar ? 0 : (num(opts.progressEvery, '--progress-every', 0) ?? 10);
        let lastLine = 0;
        const logLine = (p: Progress, rate: number, mem: number) => {
          if (every === 0 || p.seconds - lastLine < every) return;
          lastLine = p.seconds;
          process.stderr.write(
            `cowlab explore: ${p.seconds.toFixed(0)} s: depth ${p.depth}, ${p.states} transitions, ${p.distinct} distinct, ${p.queue} in the level, ${rate} states/s, ${mem} MiB\n`,
          );
        };
        const report = await explore({
          config,
          profile,
          profileSource,
          workers,
          depth,
          maxStates: num(opts.maxStates, '--max-states', 1),
          maxMemoryMb,
          levelMemoryMb: num(opts.levelMemory, '--level-memory', 0) ?? DEFAULT_LEVEL_MEMORY_MB,
          spillDir: cacheDir(),
          por: opts.por ?? false,
          ...(seed !== undefined ? { swarm: { seed, walks, ...(shard ? { shard } : {}) } } : {}),
          shrink: opts.shrink ?? false,
          ...(opts.out ? { out: opts.out } : {}),
          stop,
          onProgress: (p) => {
            const rate = Math.round(p.distinct / Math.max(p.seconds, 1e-3));
            const mem = Math.round(p.memoryMb);
            logLine(p, rate, mem);
            bar?.update(0, { depth: p.depth, states: p.states, distinct: p.distinct, queue: p.queue, rate, mem });
          },
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
        if (shard) out(JSON.stringify({ cowlab: 'swarm-shard', shard, walks, report } satisfies SwarmShard));
        else if (opts.json) out(JSON.stringify(report, null, 2));
        else out(formatExplore(report));
        process.exitCode = report.verdict === 'violation' ? EXIT_FAIL : report.stoppedBy ? EXIT_LIMIT : EXIT_OK;
        // stopped by a signal: exit now (the report is written: stdout is synchronous on Linux). Leaving it to
        // Node's teardown, which removes the signal handlers first, let a second signal of the same request
        // (`timeout` signals again to the group) kill the process without its exit status
        if (stop.requested) process.exit(process.exitCode);
      },
    );
}
