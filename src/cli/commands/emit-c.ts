/** `cowlab emit-c` (docs/cli.md). */
import type { Command } from 'commander';
import { out } from '../util.js';
import { writeFileAtomic } from '../../util/files.js';

export function emitCCommand(program: Command): void {
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
      const { emitC } = await import('../../executor/emit.js');
      const { loadScenario } = await import('../../scenario/load.js');
      const text = emitC(loadScenario(file));
      // never leave a half-written reproducer behind
      if (opts.output !== undefined) writeFileAtomic(opts.output, text, { what: '-o' });
      else out(text);
    });
}
