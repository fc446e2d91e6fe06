/**
 * Renderings of the matrix: a compact text grid, markdown, JSON and a
 * self-contained HTML page. One result model, several reporters.
 */
import type { Cell, Matrix } from './matrix.js';

const SHORT: Record<string, string> = {
  'no-leak': 'leak',
  'pin-coherent': 'pin',
  'private-file-integrity': 'file',
  'no-lost-write': 'lost',
  'fork-snapshot': 'torn',
  'no-stale-tlb': 'tlb',
  'model-invariant': 'BUG',
  expectation: 'exp',
};

/** "leak: no-leak, ..., exp: an expectation" (`of`: what the expectation belongs to) */
function shortLegend(of = ''): string {
  return Object.entries(SHORT)
    .filter(([k]) => k !== 'model-invariant')
    .map(([k, v]) => `${v}: ${k === 'expectation' ? `an expectation${of}` : k}`)
    .join(', ');
}

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

const TOTAL_LABELS = ['failures', 'undocumented', 'copies', 'needless copies'];

/** `leak@5`: a failing cell's first violated property (short name) and its step. */
function failText(c: Cell): string {
  return `${SHORT[c.property!] ?? c.property}@${c.step}`;
}

/**
 * A grid of one character per cell, then the totals, every failing cell's
 * property@step, and every cell that differs from the history.
 */
export function matrixText(m: Matrix): string {
  const nameW = Math.max(...TOTAL_LABELS.map((l) => l.length), ...m.scenarios.map((r) => r.scenario.length));
  const { labels, key } = textLabels(m.kernels);
  // wide enough for every label and every total (compact() keeps those to four characters)
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
  row('failures', (k) => compact(m.totals[k]!.failures + m.totals[k]!.expectedFailures));
  row('undocumented', (k) => compact(m.totals[k]!.unexpected));
  row('copies', (k) => compact(m.totals[k]!.copies));
  row('needless copies', (k) => compact(m.totals[k]!.needless));
  if (m.kernels.some((k) => m.totals[k]!.copies >= 10000)) lines.push('(k thousands, M millions: the exact figures are in --format json)');
  // where each F and x failed: the first violated property and its step, per column
  const failing = m.scenarios.flatMap((r) => {
    const cells = m.kernels.flatMap((k, i) => {
      const c = r.cells[k]!;
      return c.verdict === 'fail' || c.verdict === 'expected-fail'
        ? [`${labels[i]} ${c.verdict === 'fail' ? 'FAIL ' : ''}${failText(c)}`]
        : [];
    });
    return cells.length ? [`  ${r.scenario}: ${cells.join(', ')}`] : [];
  });
  if (failing.length) {
    lines.push('');
    lines.push(`failing cells (column property@step; ${shortLegend()}):`);
    lines.push(...failing);
  }
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
    `\`FAIL p@n\`: property p first violated at step n (${shortLegend(' of the scenario')}); \`xfail\`: a failure the history documents; **bold**: differs from the documented history.`,
  );
  return lines.join('\n');
}

export function matrixJson(m: Matrix): string {
  return JSON.stringify(m, null, 2);
}

/** Cell classes of the HTML page: a pass with needless copies has its own colour, apart from a clean pass. */
const HTML_CLASSES: { cls: string; colour: string; label: string }[] = [
  { cls: 'pass', colour: '#d4edda', label: 'pass' },
  { cls: 'copies', colour: '#d6e4f7', label: 'pass with needless copies' },
  { cls: 'fail', colour: '#f8d7da', label: 'FAIL property@step' },
  { cls: 'expected-fail', colour: '#fff3cd', label: 'expected fail (documented)' },
  { cls: 'xpass', colour: '#f5c6cb', label: 'XPASS: passes where a failure is documented' },
  { cls: 'n/a', colour: '#eeeeee', label: 'n/a: the kernel lacks what the scenario needs' },
];

function htmlClass(c: Cell): string {
  return c.verdict === 'pass' && c.needless ? 'copies' : c.verdict === 'n/a' ? 'na' : c.verdict;
}

/** What produced a matrix page: shown under its title. */
export interface Provenance {
  /** e.g. "cowlab 0.1.0 (commit 554819e1b2c3)" */
  version: string;
  /** when it was produced, ISO 8601 */
  date: string;
}

/** A self-contained HTML page: colour legend, sticky header, totals (undocumented included) and what produced it. */
export function matrixHtml(m: Matrix, made?: Provenance): string {
  const head = m.kernels.map((k) => `<th>${esc(short(k))}</th>`).join('');
  const rows = m.scenarios
    .map((r) => {
      const cells = m.kernels
        .map((k) => {
          const c = r.cells[k]!;
          const title = [c.message, c.expected ? `documented: ${c.expected}${c.because ? `: ${c.because}` : ''}` : '']
            .filter(Boolean)
            .join('\n');
          return `<td class="${htmlClass(c)}${c.unexpected ? ' odd' : ''}" title="${esc(title)}">${esc(cellText(c))}</td>`;
        })
        .join('');
      const label = r.selftestCase
        ? `${esc(r.scenario)}<br><small>${esc(r.selftestCase)} / ${esc(r.backing ?? '')}</small>`
        : esc(r.scenario);
      return `<tr><th class="name">${label}</th>${cells}</tr>`;
    })
    .join('\n');
  const tot = (label: string, f: (k: string) => number) =>
    `<tr class="total"><th class="name">${label}</th>${m.kernels.map((k) => `<td>${f(k)}</td>`).join('')}</tr>`;
  const css = HTML_CLASSES.map((x) => `td.${x.cls === 'n/a' ? 'na' : x.cls}{background:${x.colour}}`).join('');
  const legend = HTML_CLASSES.map(
    (x) => `<span class="key"><span class="swatch" style="background:${x.colour}"></span>${esc(x.label)}</span>`,
  ).join(' ');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>cowlab matrix</title>
<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}
thead th{position:sticky;top:0;background:#fff;z-index:1}th.name{text-align:left}tr.total td{font-weight:bold}
td.odd{outline:2px solid #c00;outline-offset:-2px}.key{margin-right:1em;white-space:nowrap}
.swatch{display:inline-block;width:1em;height:1em;border:1px solid #999;vertical-align:middle;margin-right:.3em}${css}</style></head>
<body><h1>cowlab: scenarios by kernel</h1>
${made ? `<p>Produced by ${esc(made.version)} on ${esc(made.date)}.</p>\n` : ''}<p>${legend} <span class="key"><span class="swatch" style="outline:2px solid #c00"></span>differs from the documented history</span></p>
<table><thead><tr><th>scenario</th>${head}</tr></thead>
<tbody>
${rows}
${tot('failures', (k) => m.totals[k]!.failures + m.totals[k]!.expectedFailures)}
${tot('undocumented', (k) => m.totals[k]!.unexpected)}
${tot('copies', (k) => m.totals[k]!.copies)}
${tot('needless copies', (k) => m.totals[k]!.needless)}
</tbody></table>
<p>Hover a cell for the violation and what the history documents. FAIL p@n: property p first violated at step n (${shortLegend(' of the scenario')}). "undocumented": cells that differ from what the scenarios document.</p>
</body></html>
`;
}
