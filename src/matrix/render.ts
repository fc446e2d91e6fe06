/**
 * Renderings of the matrix: a compact text grid, markdown, JSON and a
 * self-contained HTML page. One result model, several reporters.
 */
import type { Cell, Matrix } from './matrix.js';

const SHORT: Record<string, string> = {
  'no-leak': 'leak',
  'pin-coherent': 'pin',
  'private-file-integrity': 'file',
  'model-invariant': 'BUG',
  expectation: 'exp',
};

function short(k: string): string {
  return k.replace(/^linux-/, '');
}

function cellText(c: Cell): string {
  switch (c.verdict) {
    case 'pass':
      return c.needless ? `pass (${c.needless} needless cop${c.needless === 1 ? 'y' : 'ies'})` : 'pass';
    case 'n/a':
      return 'n/a';
    case 'xpass':
      return 'XPASS';
    case 'expected-fail':
      return `xfail ${SHORT[c.property!] ?? c.property}@${c.step}`;
    case 'fail':
      return `FAIL ${SHORT[c.property!] ?? c.property}@${c.step}`;
  }
}

const GLYPH: Record<string, string> = { pass: '.', fail: 'F', 'expected-fail': 'x', xpass: 'X', 'n/a': '-' };

/** Column labels for the text grid: the version for linux-*, P1, P2, ... for long ids (keyed below the grid). */
function textLabels(kernels: readonly string[]): { labels: string[]; key: string[] } {
  let n = 0;
  const key: string[] = [];
  const labels = kernels.map((k) => {
    const s = short(k);
    if (s.length <= 5) return s;
    const l = `P${++n}`;
    key.push(`${l} = ${k}`);
    return l;
  });
  return { labels, key };
}

/** A count in at most four characters, so the columns stay apart (a 1 GiB page's copies count in hundreds of thousands). */
export function compact(n: number): string {
  if (n < 10000) return String(n);
  if (n < 999500) return `${Math.round(n / 1000)}k`;
  const mm = n / 1e6;
  return mm < 9.95 ? `${mm.toFixed(1)}M` : `${Math.round(mm)}M`;
}

/** A grid of one character per cell, then the totals and every cell that differs from the history. */
export function matrixText(m: Matrix): string {
  const nameW = Math.max(8, ...m.scenarios.map((r) => r.scenario.length));
  const { labels, key } = textLabels(m.kernels);
  const colW = Math.max(5, ...labels.map((l) => l.length + 1));
  const lines: string[] = [];
  lines.push(`${''.padEnd(nameW)} ${labels.map((l) => l.padStart(colW)).join('')}`);
  for (const r of m.scenarios) {
    lines.push(
      `${r.scenario.padEnd(nameW)} ${m.kernels
        .map((k) => {
          const c = r.cells[k]!;
          const g = c.verdict === 'pass' && c.needless ? 'c' : GLYPH[c.verdict];
          return `${g}${c.unexpected ? '!' : ''}`.padStart(colW);
        })
        .join('')}`,
    );
  }
  lines.push('');
  if (key.length) lines.push(`columns: ${key.join(', ')}`);
  lines.push(
    'legend: . pass   c pass with needless copies   F FAIL   x expected fail (documented)   X passes where a failure is documented   - n/a   ! differs from the documented history',
  );
  lines.push('');
  const row = (label: string, f: (k: string) => string) =>
    lines.push(`${label.padEnd(nameW)} ${m.kernels.map((k) => f(k).padStart(colW)).join('')}`);
  row('failures', (k) => String(m.totals[k]!.failures + m.totals[k]!.expectedFailures));
  row('undocumented', (k) => String(m.totals[k]!.unexpected));
  row('copies', (k) => compact(m.totals[k]!.copies));
  row('needless copies', (k) => compact(m.totals[k]!.needless));
  if (m.kernels.some((k) => m.totals[k]!.copies >= 10000)) lines.push('(k thousands, M millions: the exact figures are in --format json)');
  const odd = m.scenarios.flatMap((r) => m.kernels.filter((k) => r.cells[k]!.unexpected).map((k) => ({ r, k, c: r.cells[k]! })));
  if (odd.length) {
    lines.push('');
    lines.push('cells that differ from the documented history:');
    for (const { r, k, c } of odd) {
      lines.push(
        `  ${r.scenario} on ${k}: ${cellText(c)} (documented: ${c.expected}${c.because ? `: ${c.because}` : ''})${c.message ? `\n      ${c.message}` : ''}`,
      );
    }
  }
  return lines.join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\|/g, '\\|');
}

export function matrixMarkdown(m: Matrix): string {
  const lines = [`| scenario | ${m.kernels.map(short).join(' | ')} |`, `|---|${m.kernels.map(() => '---').join('|')}|`];
  for (const r of m.scenarios) {
    lines.push(
      `| ${esc(r.scenario)} | ${m.kernels
        .map((k) => {
          const c = r.cells[k]!;
          const t = cellText(c);
          return c.unexpected ? `**${t}**` : t;
        })
        .join(' | ')} |`,
    );
  }
  const tot = (label: string, f: (k: string) => number) => lines.push(`| *${label}* | ${m.kernels.map((k) => String(f(k))).join(' | ')} |`);
  tot('failures', (k) => m.totals[k]!.failures + m.totals[k]!.expectedFailures);
  tot('copies', (k) => m.totals[k]!.copies);
  tot('needless copies', (k) => m.totals[k]!.needless);
  lines.push('');
  lines.push(
    '`FAIL p@n`: property p first violated at step n (leak: no-leak, pin: pin-coherent, file: private-file-integrity, exp: an expectation of the scenario); `xfail`: a failure the history documents; **bold**: differs from the documented history.',
  );
  return lines.join('\n');
}

export function matrixJson(m: Matrix): string {
  return JSON.stringify(m, null, 2);
}

const COLORS: Record<string, string> = { pass: '#d4edda', fail: '#f8d7da', 'expected-fail': '#fff3cd', xpass: '#f5c6cb', 'n/a': '#eeeeee' };

export function matrixHtml(m: Matrix): string {
  const head = m.kernels.map((k) => `<th>${esc(short(k))}</th>`).join('');
  const rows = m.scenarios
    .map((r) => {
      const cells = m.kernels
        .map((k) => {
          const c = r.cells[k]!;
          const title = [c.message, c.expected ? `documented: ${c.expected}${c.because ? `: ${c.because}` : ''}` : '']
            .filter(Boolean)
            .join('\n');
          return `<td style="background:${COLORS[c.verdict]}${c.unexpected ? ';outline:2px solid #c00' : ''}" title="${esc(title)}">${esc(cellText(c))}</td>`;
        })
        .join('');
      const label = r.selftestCase
        ? `${esc(r.scenario)}<br><small>${esc(r.selftestCase)} / ${esc(r.backing ?? '')}</small>`
        : esc(r.scenario);
      return `<tr><th style="text-align:left">${label}</th>${cells}</tr>`;
    })
    .join('\n');
  const tot = (label: string, f: (k: string) => number) =>
    `<tr><th style="text-align:left">${label}</th>${m.kernels.map((k) => `<td>${f(k)}</td>`).join('')}</tr>`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>cowlab matrix</title>
<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}</style></head>
<body><h1>cowlab: scenarios by kernel</h1>
<table><tr><th>scenario</th>${head}</tr>
${rows}
${tot('failures', (k) => m.totals[k]!.failures + m.totals[k]!.expectedFailures)}
${tot('copies', (k) => m.totals[k]!.copies)}
${tot('needless copies', (k) => m.totals[k]!.needless)}
</table>
<p>Hover a cell for the violation and what the history documents. A red outline: the model differs from the documented history.</p>
</body></html>
`;
}
