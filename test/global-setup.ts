/**
 * Stops a test run on a stale build: the explorer's worker threads, the
 * plain Node processes some tests start, and the tests that run the model
 * at length all use the built JavaScript (dist/), which must be the source's.
 * `npm test` builds first; running vitest alone after an edit would test the
 * old code.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

export default function setup(): void {
  const stale = sources('src').filter((ts) => {
    const js = join('dist', relative('src', ts)).replace(/\.ts$/, '.js');
    return !existsSync(js) || statSync(js).mtimeMs < statSync(ts).mtimeMs;
  });
  if (stale.length)
    throw new Error(
      `dist/ is older than ${stale[0]}${stale.length > 1 ? ` and ${stale.length - 1} more source files` : ''}: run \`npm run build\` first (\`npm test\` does)`,
    );
}
