/** `cowlab emit-c` (docs/cli.md). */
import type { Command } from 'commander';
import { out } from '../util.js';
import { writeFileAtomic } from '../../util/files.js';
import type { Resolved } from '../../scenario/resolve.js';

/** Why the reproducer would skip on this machine (what `cowlab diff` would skip it for), or null. */
async function skipsHere(r: Resolved): Promise<string | null> {
  const { programBlocker } = await import('../../executor/program.js');
  const blocker = programBlocker(r);
  if (blocker) return blocker;
  if (process.geteuid?.() !== 0) return 'not root: frame numbers and kpageflags are not readable';
  const { hostTarget, capabilityBlocker } = await import('../../diff/run.js');
  const target = hostTarget([r], 1);
  try {
    return capabilityBlocker(r, await target.caps());
  } finally {
    await target.close();
  }
}

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
      const r = loadScenario(file);
      const text = emitC(r);
      // never leave a half-written reproducer behind
      if (opts.output !== undefined) writeFileAtomic(opts.output, text, { what: '-o' });
      else out(text);
      const why = await skipsHere(r);
      if (why) process.stderr.write(`cowlab emit-c: warning: on this machine the reproducer will only SKIP: ${why}\n`);
    });
}
