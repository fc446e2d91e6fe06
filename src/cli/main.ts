/**
 * The `cowlab` command line: one module per command under ./commands/.
 * Options are declared once with commander, which drives parsing and
 * --help. Exit codes: 0 success / all pass, 1 a scenario failed, 2 bad
 * input, 3 stopped at a limit, 4 nothing compared (diff), 70 internal error
 * (docs/cli.md).
 */
import { Command, CommanderError } from 'commander';
import { InputError, EXIT_OK, EXIT_USAGE, EXIT_INTERNAL } from '../scenario/errors.js';
import { runCommand } from './commands/run.js';
import { matrixCommand } from './commands/matrix.js';
import { diffCommand } from './commands/diff.js';
import { fidelityCommand } from './commands/fidelity.js';
import { exploreCommand } from './commands/explore.js';
import { fuzzCommand } from './commands/fuzz.js';
import { emitCCommand } from './commands/emit-c.js';
import { kernelsCommand } from './commands/kernels.js';
import { viewCommand } from './commands/view.js';
import { mergeCommand } from './commands/merge.js';
import { versionString } from './version.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('cowlab')
    .description('An executable model of Linux anonymous-memory COW and GUP pinning, checked against real kernels.')
    .version(versionString(), '-V, --version', 'print the version (and the commit of a git checkout)')
    .showHelpAfterError()
    .exitOverride();

  runCommand(program);
  matrixCommand(program);
  diffCommand(program);
  fidelityCommand(program);
  exploreCommand(program);
  fuzzCommand(program);
  emitCCommand(program);
  kernelsCommand(program);
  viewCommand(program);
  mergeCommand(program);
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
