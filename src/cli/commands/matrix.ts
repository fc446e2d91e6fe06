/** `cowlab matrix` (docs/cli.md). */
import type { Command } from 'commander';
import { Option } from 'commander';
import { InputError, EXIT_OK, EXIT_FAIL } from '../../scenario/errors.js';
import { loadScenarios } from '../../scenario/load.js';
import { PROFILES, MATRIX_PROFILES, profileById } from '../../profiles/index.js';
import { out, intOption, loadProfileFiles } from '../util.js';
import type { Profile } from '../../profiles/types.js';
import { versionString } from '../version.js';
import { parseShard, inShard } from '../../util/shard.js';
import type { Matrix } from '../../matrix/matrix.js';
import type { MatrixShard } from '../../matrix/merge.js';

/** When the page was produced: now, or SOURCE_DATE_EPOCH's time for a reproducible page. */
function producedAt(): string {
  const epoch = Number(process.env.SOURCE_DATE_EPOCH);
  return new Date(Number.isFinite(epoch) && process.env.SOURCE_DATE_EPOCH ? epoch * 1000 : Date.now()).toISOString();
}

export function matrixCommand(program: Command): void {
  program
    .command('matrix')
    .description(
      'Every scenario on every kernel profile: pass, FAIL (property@step), expected-fail, n/a; totals of failures, copies and needless copies.',
    )
    .option('--kernels <ids>', 'comma-separated profile ids (default: all)')
    .option('--profile <file...>', 'add profiles of your own (see docs/profiles.md)')
    .option('--scenarios <dir>', 'scenario directory or file', 'scenarios')
    .option('-j, --jobs <n>', 'worker threads (default: number of CPUs)')
    .addOption(new Option('--format <fmt>', 'output format').choices(['text', 'markdown', 'json', 'html']).default('text'))
    .option(
      '--shard <i/n>',
      'only every n-th scenario, starting with the i-th; prints the shard as JSON for `cowlab merge` (docs/sharding.md)',
    )
    .addHelpText(
      'after',
      '\nExit status: 0 when every cell (of the shard) matches the history the scenarios document, 1 otherwise, 2 bad input.',
    )
    .action(async (opts: { kernels?: string; profile?: string[]; scenarios: string; format: string; jobs?: string; shard?: string }) => {
      const { matrixRow, matrixTotals } = await import('../../matrix/matrix.js');
      const { availableParallelism } = await import('node:os');
      const wanted = intOption(opts.jobs, '--jobs', 1) ?? availableParallelism();
      const shard = parseShard(opts.shard);
      const profiles: Profile[] = opts.kernels ? opts.kernels.split(',').map((k) => profileById(k.trim())) : [...MATRIX_PROFILES];
      profiles.push(...(await loadProfileFiles(opts.profile ?? [])));
      if (profiles.length === 0) throw new InputError('--kernels: no kernel named');
      const rs = loadScenarios(
        [opts.scenarios],
        profiles.map((p) => p.id),
      );
      const mine = rs.flatMap((r, i) => (inShard(shard, i) ? [r] : []));
      const jobs = Math.min(wanted, Math.max(1, Math.ceil(mine.length / 20)));
      const { kernels, rows } =
        jobs === 1
          ? {
              kernels: profiles.map((p) => p.id),
              rows: rs.flatMap((r, i) => (inShard(shard, i) ? [[i, matrixRow(r, profiles, PROFILES)] as const] : [])),
            }
          : await (
              await import('../../matrix/parallel.js')
            ).buildRowsParallel({
              paths: [opts.scenarios],
              kernels: profiles.slice(0, profiles.length - (opts.profile?.length ?? 0)).map((p) => p.id),
              profileFiles: opts.profile ?? [],
              jobs,
              ...(shard ? { shard } : {}),
            });
      if (shard) {
        const part: MatrixShard = {
          cowlab: 'matrix-shard',
          shard,
          total: rs.length,
          kernels,
          rows: rows.map(([index, row]) => ({ index, row })),
        };
        out(JSON.stringify(part));
        process.exitCode = rows.some(([, r]) => Object.values(r.cells).some((c) => c.unexpected)) ? EXIT_FAIL : EXIT_OK;
        return;
      }
      const list = rows.map(([, r]) => r);
      const m = { kernels, scenarios: list, totals: matrixTotals(list, kernels) };
      await printMatrix(m, opts.format);
    });
}

/** Prints a matrix in a format and sets the exit status: matrix's, and merge's for matrix shards. */
export async function printMatrix(m: Matrix, format: string): Promise<void> {
  const render = await import('../../matrix/render.js');
  const text =
    format === 'json'
      ? render.matrixJson(m)
      : format === 'markdown'
        ? render.matrixMarkdown(m)
        : format === 'html'
          ? render.matrixHtml(m, { version: versionString(), date: producedAt() })
          : render.matrixText(m);
  out(text);
  process.exitCode = Object.values(m.totals).some((t) => t.unexpected > 0) ? EXIT_FAIL : EXIT_OK;
}
