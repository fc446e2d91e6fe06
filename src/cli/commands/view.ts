/** `cowlab view` (docs/cli.md): the browser viewer, served on 127.0.0.1. */
import type { Command } from 'commander';
import { createServer, type Server } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../scenario/errors.js';
import { loadScenario } from '../../scenario/load.js';
import { splitSpec } from '../../scenario/text.js';
import { checkExpectKeys } from '../../matrix/expect.js';
import { profileById } from '../../profiles/index.js';
import { out, intOption } from '../util.js';

/** The package's root (dist/cli/commands/ is three levels below it). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where `npm run build` puts the viewer. */
export const WEB_DIR = join(ROOT, 'dist', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.yaml': 'text/yaml; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** The link's fragment for a scenario file and kernels (web/url.ts reads it). */
export function viewFragment(file: string | undefined, kernels: readonly string[]): string {
  const p = new URLSearchParams();
  if (file !== undefined) {
    const [path, only] = splitSpec(file);
    const rel = relative(ROOT, resolve(path));
    // a shipped scenario, unchanged, is named by its path: the link works on the published site too
    const shipped =
      rel.startsWith(`scenarios${sep}`) && readFileSync(path, 'utf8') === readFileSync(join(ROOT, rel), 'utf8')
        ? rel.split(sep).join('/')
        : null;
    if (shipped) p.set('s', only ? `${shipped}#${only}` : shipped);
    else p.set('f', `file/${encodeURIComponent(basename(path))}`);
  }
  if (kernels.length) p.set('k', kernels.join(','));
  return `#${p.toString()}`;
}

/**
 * A static file server for the viewer, and the user's scenario file at
 * /file/NAME (read at each request: edit the file, reload the page).
 */
export function viewServer(webDir: string, file?: string): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (code: number, type: string, body: string | Buffer) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
    let path = decodeURIComponent(url.pathname);
    if (file !== undefined && path === `/file/${basename(splitSpec(file)[0])}`) {
      try {
        return send(200, TYPES['.yaml']!, readFileSync(splitSpec(file)[0]));
      } catch (e) {
        return send(404, 'text/plain', `${(e as Error).message}\n`);
      }
    }
    if (path.endsWith('/')) path += 'index.html';
    const full = resolve(webDir, `.${path}`);
    // nothing outside the viewer's directory
    if (full !== webDir && !full.startsWith(webDir + sep)) return send(403, 'text/plain', 'forbidden\n');
    try {
      send(200, TYPES[extname(full)] ?? 'application/octet-stream', readFileSync(full));
    } catch {
      send(404, 'text/plain', 'not found\n');
    }
  });
}

export function viewCommand(program: Command): void {
  program
    .command('view')
    .description('Serve the browser viewer on 127.0.0.1 and print its address: step through a scenario on one kernel or two side by side.')
    .argument('[file]', 'a scenario file (FILE#ID for an instance of a template); default: the vmsplice CVE')
    .option('--kernel <id>', 'a kernel profile to show (twice: side by side)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--port <n>', 'port (default: any free one)', '0')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .addHelpText(
      'after',
      '\nThe viewer is static files (dist/web, built by npm run build): the same files can be published on any web server.\nStops on Ctrl-C. Exit status: 0, 2 bad input.',
    )
    .action(async (file: string | undefined, opts: { kernel: string[]; port: string; host: string }) => {
      if (opts.kernel.length > 2) throw new InputError('--kernel: at most two kernels side by side');
      for (const k of opts.kernel) profileById(k);
      const port = intOption(opts.port, '--port', 0, 65535)!;
      if (file !== undefined) {
        // the same positioned error as run gives, before anything is served
        const r = loadScenario(file);
        checkExpectKeys(r.sc, []);
      }
      if (!existsSync(join(WEB_DIR, 'index.html')))
        throw new InputError(`the viewer is not built (${WEB_DIR} has no index.html): run npm run build`);
      const server = viewServer(WEB_DIR, file);
      await new Promise<void>((ok, fail) => {
        server.once('error', (e: NodeJS.ErrnoException) =>
          fail(
            e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL'
              ? new InputError(`--port/--host: cannot listen on ${opts.host}:${port}: ${e.code}`)
              : e,
          ),
        );
        server.listen(port, opts.host, ok);
      });
      const addr = server.address();
      const p = typeof addr === 'object' && addr ? addr.port : port;
      const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
      out(`cowlab view: http://${host}:${p}/${viewFragment(file, opts.kernel)}`);
      out('(Ctrl-C to stop)');
      await new Promise<void>((done) => {
        const stop = () => server.close(() => done());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
