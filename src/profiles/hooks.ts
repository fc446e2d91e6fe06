/**
 * Module hooks for profile files (registered by load.ts with
 * module.register): `import ... from 'cowlab'` resolves to this cowlab, and
 * TypeScript profile files are transpiled (types are erased, not checked).
 */
import { readFile } from 'node:fs/promises';
import ts from 'typescript';

let apiUrl = '';

export function initialize(data: { apiUrl: string }): void {
  apiUrl = data.apiUrl;
}

type Next<C, R> = (spec: string, ctx: C) => Promise<R>;

export async function resolve(
  spec: string,
  ctx: object,
  next: Next<object, { url: string }>,
): Promise<{ url: string; shortCircuit?: boolean }> {
  if (spec === 'cowlab') return { url: apiUrl, shortCircuit: true };
  return next(spec, ctx);
}

export async function load(url: string, ctx: object, next: Next<object, object>): Promise<object> {
  if (!/\.m?ts$/.test(url) || !url.startsWith('file:')) return next(url, ctx);
  const src = await readFile(new URL(url), 'utf8');
  const out = ts.transpileModule(src, {
    fileName: new URL(url).pathname,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
  });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}
