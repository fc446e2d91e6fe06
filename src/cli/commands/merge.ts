/** `cowlab merge` (docs/cli.md, docs/sharding.md). */
import type { Command } from 'commander';
import { Option } from 'commander';
import { z } from 'zod';
import { InputError, EXIT_OK, EXIT_FAIL, EXIT_LIMIT } from '../../scenario/errors.js';
import { readRegularFile } from '../../util/files.js';
import { out } from '../util.js';
import type { MatrixShard } from '../../matrix/merge.js';
import type { FuzzDiffShard, FuzzModelShard } from '../../fuzz/merge.js';
import type { SwarmShard } from '../../explore/merge.js';

const shard = z.object({ index: z.number().int().min(1), count: z.number().int().min(1) }).strict();
// what the merges read; the rest of each report is printed as the shard gave it
const envelope = z.discriminatedUnion('cowlab', [
  z.object({
    cowlab: z.literal('matrix-shard'),
    shard,
    total: z.number().int().min(0),
    kernels: z.array(z.string()),
    rows: z.array(
      z.object({
        index: z.number().int().min(0),
        row: z.object({ scenario: z.string(), cells: z.record(z.string(), z.object({ verdict: z.string() }).passthrough()) }).passthrough(),
      }),
    ),
  }),
  z.object({
    cowlab: z.literal('fuzz-diff-shard'),
    shard,
    from: z.number().int().min(0),
    count: z.number().int().min(0),
    shrink: z.boolean(),
    report: z
      .object({
        seed: z.number(),
        ran: z.number(),
        skipped: z.number(),
        agreed: z.number(),
        unstable: z.array(z.object({ index: z.number() }).passthrough()),
        findings: z.array(z.object({ kind: z.string(), index: z.number(), count: z.number() }).passthrough()),
        seconds: z.number(),
      })
      .passthrough(),
  }),
  z.object({
    cowlab: z.literal('fuzz-model-shard'),
    shard,
    from: z.number().int().min(0),
    count: z.number().int().min(0),
    report: z
      .object({
        seed: z.number(),
        kernel: z.string(),
        ran: z.number(),
        clean: z.number(),
        findings: z.array(z.object({ property: z.string(), index: z.number(), count: z.number() }).passthrough()),
        seconds: z.number(),
      })
      .passthrough(),
  }),
  z.object({
    cowlab: z.literal('swarm-shard'),
    shard,
    walks: z.number().int().min(1),
    report: z
      .object({
        config: z.string(),
        kernel: z.string(),
        seed: z.number().nullable(),
        verdict: z.enum(['violation', 'none']),
        walks: z.number().nullable(),
        states: z.number(),
        seconds: z.number(),
      })
      .passthrough(),
  }),
]);

/** Reads a shard file: JSON of one of the kinds above, or an InputError naming the file (and line and column). */
function readShard(file: string): z.infer<typeof envelope> {
  const text = readRegularFile(file, 'the output of a --shard run').toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message);
    const pos = at ? Number(at[1]) : 0;
    const before = text.slice(0, pos).split('\n');
    throw new InputError(`not JSON (${(e as Error).message}); expected the output of cowlab matrix, fuzz or explore --swarm with --shard`, {
      file,
      line: before.length,
      col: before.at(-1)!.length + 1,
    });
  }
  const r = envelope.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new InputError(
      `${file}: not a cowlab shard (${i.path.join('.') || 'the top level'}: ${i.message}); expected the output of cowlab matrix, fuzz or explore --swarm with --shard`,
    );
  }
  return r.data;
}

export function mergeCommand(program: Command): void {
  program
    .command('merge')
    .description(
      'Join the outputs of `--shard i/n` runs (matrix, fuzz, fuzz --diff, explore --swarm) into the report one run of the whole prints.',
    )
    .argument('<files...>', 'the n shard outputs of one run, in any order')
    .addOption(
      new Option('--format <fmt>', 'output format (json: as --json; markdown and html for a matrix)')
        .choices(['text', 'markdown', 'json', 'html'])
        .default('text'),
    )
    .addHelpText(
      'after',
      '\nExit status: the one the unsharded command would give (matrix, fuzz, explore), 2 when the files are not the n shards of one run.',
    )
    .action(async (files: string[], opts: { format: string }) => {
      const parts = files.map(readShard);
      const kind = parts[0]!.cowlab;
      const other = parts.findIndex((p) => p.cowlab !== kind);
      if (other >= 0) throw new InputError(`${files[other]}: a ${parts[other]!.cowlab}, not a ${kind} like ${files[0]}`);
      if (kind !== 'matrix-shard' && (opts.format === 'markdown' || opts.format === 'html'))
        throw new InputError(`--format ${opts.format} is for matrix shards`);
      if (kind === 'matrix-shard') {
        const { mergeMatrixShards } = await import('../../matrix/merge.js');
        const { printMatrix } = await import('./matrix.js');
        await printMatrix(mergeMatrixShards(parts as unknown as MatrixShard[], files), opts.format);
      } else if (kind === 'fuzz-diff-shard') {
        const { mergeFuzzDiff } = await import('../../fuzz/merge.js');
        const { printFuzzDiff } = await import('./fuzz.js');
        const ps = parts as unknown as FuzzDiffShard[];
        const report = mergeFuzzDiff(ps, files);
        if (opts.format === 'json') out(JSON.stringify(report, null, 2));
        else printFuzzDiff(report, ps[0]!.count, ps[0]!.shrink);
        process.exitCode = report.findings.length ? EXIT_FAIL : report.interrupted ? EXIT_LIMIT : EXIT_OK;
      } else if (kind === 'fuzz-model-shard') {
        const { mergeFuzzModel } = await import('../../fuzz/merge.js');
        const { printModelFuzz } = await import('./fuzz.js');
        const report = mergeFuzzModel(parts as unknown as FuzzModelShard[], files);
        if (opts.format === 'json') out(JSON.stringify(report, null, 2));
        else printModelFuzz(report);
        process.exitCode = report.findings.length ? EXIT_FAIL : EXIT_OK;
      } else {
        const { mergeSwarm } = await import('../../explore/merge.js');
        const { formatExplore } = await import('../format.js');
        const report = mergeSwarm(parts as unknown as SwarmShard[], files);
        out(opts.format === 'json' ? JSON.stringify(report, null, 2) : formatExplore(report));
        process.exitCode = report.verdict === 'violation' ? EXIT_FAIL : report.stoppedBy ? EXIT_LIMIT : EXIT_OK;
      }
    });
}
