/**
 * The cowlab viewer: cowlab's own core (parser, profiles, model) run in the
 * browser, a scenario stepped through on one kernel or two side by side.
 */
import { scenariosFromText, splitSpec } from '../src/scenario/text.js';
import { checkExpectKeys } from '../src/matrix/expect.js';
import { InputError } from '../src/scenario/errors.js';
import { PROFILES, MATRIX_PROFILES, profileById } from '../src/profiles/index.js';
import { viewRun, firstDifference, type ViewRun } from '../src/view/snapshot.js';
import type { Resolved } from '../src/scenario/resolve.js';
import { SHIPPED } from './scenarios.js';
import { parseLink, formatLink, encodeText, decodeText, type ViewLink } from './url.js';
import { renderPane, drawArrows } from './render.js';
import type { MatrixCellMsg } from './matrix-worker.js';
import type { EditorView } from '@codemirror/view';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const DEFAULT_KERNEL = 'linux-6.18';

/** Where the scenario's text came from, as the link says it. */
type Source = { kind: 's' | 'y' | 'f'; spec: string; text: string };

const app = {
  source: null as Source | null,
  kernels: [] as string[],
  step: 0,
  runs: [] as ViewRun[],
  diffAt: null as number | null,
  matrixDir: undefined as string | undefined,
};

/** Parses and resolves the source's scenario (one instance of a template); throws InputError. */
function resolveSource(src: Source): Resolved {
  const [file, only] = src.kind === 's' ? splitSpec(src.spec) : [src.spec, undefined];
  const rs = scenariosFromText(src.text, file, only);
  for (const r of rs) checkExpectKeys(r.sc, []);
  // a template opened whole shows its first instance (the picker lists each one as FILE#ID)
  return rs[0]!;
}

function showError(msg: string | null): void {
  const e = $('error');
  e.hidden = msg === null;
  e.textContent = msg ?? '';
}

function errorText(e: unknown): string {
  return e instanceof InputError ? e.format() : e instanceof Error ? `cowlab bug: ${e.message}` : String(e);
}

/** Runs the current source on the chosen kernels and draws the step. */
function rerun(): void {
  if (!app.source) return;
  let r: Resolved;
  try {
    r = resolveSource(app.source);
  } catch (e) {
    app.runs = [];
    showError(errorText(e));
    $('panes').replaceChildren();
    return;
  }
  showError(null);
  if (!app.kernels.length) app.kernels = [r.sc.kernel ?? DEFAULT_KERNEL];
  try {
    app.runs = app.kernels.map((k) => viewRun(r, profileById(k)));
  } catch (e) {
    showError(errorText(e));
    return;
  }
  app.diffAt = app.runs.length === 2 ? firstDifference(app.runs[0]!, app.runs[1]!) : null;
  $<HTMLSelectElement>('kernel-a').value = app.kernels[0]!;
  $<HTMLSelectElement>('kernel-b').value = app.kernels[1] ?? '';
  draw();
}

function maxStep(): number {
  return Math.max(0, ...app.runs.map((r) => r.steps.length - 1));
}

function draw(): void {
  app.step = Math.max(0, Math.min(app.step, maxStep()));
  const slider = $<HTMLInputElement>('slider');
  slider.max = String(maxStep());
  slider.value = String(app.step);
  const panes = $('panes');
  while (panes.children.length > app.runs.length) panes.lastElementChild!.remove();
  while (panes.children.length < app.runs.length) panes.append(document.createElement('div'));
  const first = app.runs.find((r) => r.steps.length);
  const line = first?.steps[Math.min(app.step, first.steps.length - 1)];
  // (a step that waited for a stopped thread is shown where it ran, under its own number)
  $('where').textContent = `step ${line?.index ?? app.step} of ${maxStep()}${line && line.index ? `: ${line.line}` : ''}`;
  const differs = app.diffAt !== null && app.step === app.diffAt;
  app.runs.forEach((run, i) => renderPane(panes.children[i] as HTMLElement, run, app.step, differs));
  const gd = $<HTMLButtonElement>('goto-diff');
  gd.hidden = app.runs.length !== 2;
  gd.textContent = app.diffAt === null ? 'the kernels agree at every step' : `first difference: step ${app.diffAt}`;
  gd.dataset.step = app.diffAt === null ? '' : String(app.diffAt);
  const bad = app.runs.map((r) => r.firstBad).filter((x): x is number => x !== undefined);
  const gb = $<HTMLButtonElement>('goto-bad');
  gb.hidden = !bad.length;
  gb.textContent = `first problem: step ${Math.min(...bad)}`;
  gb.dataset.step = String(Math.min(...bad));
  updateLink();
  requestAnimationFrame(() => drawArrows(panes));
}

function link(): ViewLink {
  const l: ViewLink = { k: app.kernels, step: app.step };
  if (app.source?.kind === 's') l.s = app.source.spec;
  else if (app.source?.kind === 'f') l.f = app.source.spec;
  else if (app.source) l.y = encodeText(app.source.text);
  if (app.matrixDir && !$('matrix-pane').hidden) l.m = app.matrixDir;
  return l;
}

function updateLink(): void {
  const h = formatLink(link());
  $<HTMLAnchorElement>('permalink').href = h;
  if (location.hash !== h) history.replaceState(null, '', h);
}

function go(step: number): void {
  app.step = step;
  draw();
}

/* ---- the scenario picker ---- */

function fillPickers(): void {
  const sel = $<HTMLSelectElement>('scenario');
  const groups = new Map<string, HTMLOptGroupElement>();
  for (const f of SHIPPED) {
    const dir = f.path.split('/').slice(0, -1).join('/');
    let g = groups.get(dir);
    if (!g) {
      g = document.createElement('optgroup');
      g.label = dir;
      groups.set(dir, g);
      sel.append(g);
    }
    // a template's instances each get an entry (matrix: at the top level of the file)
    let specs = [f.path];
    if (/^matrix:/m.test(f.text)) {
      try {
        specs = scenariosFromText(f.text, f.path).map((r) => r.sc.file);
      } catch {
        // a shipped file always parses; the entry opens it and shows the error if not
      }
    }
    for (const spec of specs) g.append(new Option(spec.replace(/^scenarios\//, ''), spec));
  }
  const other = new Option('(your own scenario)', '');
  other.disabled = true;
  sel.prepend(other);
  for (const id of ['kernel-a', 'kernel-b']) {
    const k = $<HTMLSelectElement>(id);
    if (id === 'kernel-b') k.append(new Option('(none)', ''));
    for (const p of PROFILES) k.append(new Option(p.id, p.id));
  }
  const dirs = $<HTMLSelectElement>('matrix-dir');
  for (const d of groups.keys()) dirs.append(new Option(d, d));
}

function shipped(spec: string): Source | null {
  const [file] = splitSpec(spec);
  const f = SHIPPED.find((x) => x.path === file);
  return f ? { kind: 's', spec, text: f.text } : null;
}

function setSource(src: Source, resetKernels: boolean): void {
  app.source = src;
  if (resetKernels) app.kernels = [];
  $<HTMLSelectElement>('scenario').value = src.kind === 's' ? src.spec : '';
  if (editor) setEditorText(src.text);
  rerun();
}

/* ---- the editor (CodeMirror, loaded when first opened) ---- */

let editor: EditorView | null = null;
let editorTimer: ReturnType<typeof setTimeout> | undefined;

function setEditorText(text: string): void {
  if (!editor || editor.state.doc.toString() === text) return;
  editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: text } });
}

async function openEditor(): Promise<void> {
  const pane = $('editor-pane');
  pane.hidden = !pane.hidden;
  if (pane.hidden || editor) return;
  const [{ EditorView, basicSetup }, { yaml }, { linter, lintGutter }] = await Promise.all([
    import('codemirror'),
    import('@codemirror/lang-yaml'),
    import('@codemirror/lint'),
  ]);
  const name = () => (app.source?.kind === 's' ? splitSpec(app.source.spec)[0] : (app.source?.spec ?? 'scenario.yaml'));
  // the parser's positioned error, inline as you type
  const check = linter(
    (view) => {
      const text = view.state.doc.toString();
      try {
        resolveSource({ kind: 'y', spec: name(), text });
        $('editor-status').textContent = 'valid';
        return [];
      } catch (e) {
        $('editor-status').textContent = errorText(e);
        if (!(e instanceof InputError) || !e.pos) return [{ from: 0, to: 0, severity: 'error', message: errorText(e) }];
        const line = view.state.doc.line(Math.max(1, Math.min(e.pos.line, view.state.doc.lines)));
        const from = Math.min(line.from + Math.max(0, e.pos.col - 1), line.to);
        return [{ from, to: Math.max(from, line.to), severity: 'error', message: e.message }];
      }
    },
    { delay: 250 },
  );
  editor = new EditorView({
    doc: app.source?.text ?? '',
    parent: $('editor'),
    extensions: [
      basicSetup,
      yaml(),
      lintGutter(),
      check,
      EditorView.updateListener.of((u) => {
        if (!u.docChanged) return;
        clearTimeout(editorTimer);
        editorTimer = setTimeout(() => {
          const text = u.state.doc.toString();
          if (text === app.source?.text) return;
          app.source = { kind: 'y', spec: name(), text };
          $<HTMLSelectElement>('scenario').value = '';
          rerun();
        }, 400);
      }),
    ],
  });
  pane.dataset.ready = 'true';
}

/* ---- the matrix ---- */

let worker: Worker | null = null;

function showMatrix(dir: string): void {
  app.matrixDir = dir;
  $<HTMLSelectElement>('matrix-dir').value = dir;
  worker?.terminate();
  const files = SHIPPED.filter((f) => f.path.startsWith(`${dir}/`) && !f.path.slice(dir.length + 1).includes('/'));
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  const th = document.createElement('th');
  th.className = 'name';
  th.textContent = 'scenario';
  head.append(th);
  for (const p of MATRIX_PROFILES) {
    const c = document.createElement('th');
    c.textContent = p.id;
    head.append(c);
  }
  const body = table.createTBody();
  const rows = new Map<string, HTMLTableRowElement>();
  $('matrix').replaceChildren(table);
  const status = $('matrix-status');
  status.textContent = `running ${files.length} file(s) on ${MATRIX_PROFILES.length} profiles...`;
  let cells = 0;
  worker = new Worker(new URL('./matrix-worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (e: MessageEvent<MatrixCellMsg | { type: 'done' } | { type: 'error'; spec: string; message: string }>) => {
    const m = e.data;
    if (m.type === 'done') {
      status.textContent = `${rows.size} scenario(s), ${cells} cells; a cell opens the scenario on that kernel at its first problem`;
      return;
    }
    if (m.type === 'error') {
      const tr = body.insertRow();
      tr.insertCell().textContent = `${m.spec}: ${m.message}`;
      return;
    }
    let tr = rows.get(m.spec);
    if (!tr) {
      tr = body.insertRow();
      const name = tr.insertCell();
      name.className = 'name';
      name.textContent = m.scenario;
      rows.set(m.spec, tr);
    }
    const td = tr.insertCell();
    cells++;
    td.className = m.word === 'PASS' && m.needless ? 'needless' : m.word;
    td.textContent =
      m.word === 'PASS' ? (m.needless ? `+${m.needless}` : '') : m.word === 'SKIP' ? 'n/a' : `${m.property ?? ''}@${m.step ?? ''}`;
    td.title = `${m.scenario} on ${m.kernel}: ${m.word}${m.property ? ` (${m.property} at step ${m.step})` : ''}${m.needless ? `, ${m.needless} needless copies` : ''}`;
    td.dataset.kernel = m.kernel;
    td.addEventListener('click', () => {
      const src = shipped(m.spec);
      if (!src) return;
      $('matrix-pane').hidden = true;
      app.kernels = [m.kernel];
      app.step = m.step ?? 0;
      setSource(src, false);
    });
  };
  worker.postMessage({ files });
  updateLink();
}

/* ---- start ---- */

async function fromLink(l: ViewLink): Promise<void> {
  app.kernels = l.k.filter((k) => PROFILES.some((p) => p.id === k));
  app.step = l.step ?? 0;
  let src: Source | null = null;
  try {
    if (l.s) src = shipped(l.s);
    else if (l.y) src = { kind: 'y', spec: 'scenario.yaml', text: decodeText(l.y) };
    else if (l.f) {
      const res = await fetch(l.f);
      if (!res.ok) throw new Error(`${l.f}: ${res.status} ${res.statusText}`);
      src = { kind: 'f', spec: l.f, text: await res.text() };
    }
  } catch (e) {
    showError(`cannot open the scenario of the link: ${(e as Error).message}`);
  }
  src ??= shipped('scenarios/cve/cve-2020-29374-vmsplice-child.yaml') ?? { kind: 's', spec: SHIPPED[0]!.path, text: SHIPPED[0]!.text };
  setSource(src, false);
  if (l.m) {
    $('matrix-pane').hidden = false;
    showMatrix(l.m);
  }
}

function wire(): void {
  $<HTMLSelectElement>('scenario').addEventListener('change', (e) => {
    const src = shipped((e.target as HTMLSelectElement).value);
    if (src) {
      app.step = 0;
      setSource(src, true);
    }
  });
  $<HTMLInputElement>('open').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (!f) return;
    void f.text().then((text) => {
      app.step = 0;
      setSource({ kind: 'y', spec: f.name, text }, true);
    });
  });
  for (const [id, at] of [
    ['kernel-a', 0],
    ['kernel-b', 1],
  ] as const)
    $<HTMLSelectElement>(id).addEventListener('change', (e) => {
      const v = (e.target as HTMLSelectElement).value;
      const ks = [...app.kernels];
      if (at === 1) ks.splice(1, 1, ...(v ? [v] : []));
      else ks[0] = v;
      app.kernels = ks.filter(Boolean);
      rerun();
    });
  $('first').addEventListener('click', () => go(0));
  $('prev').addEventListener('click', () => go(app.step - 1));
  $('next').addEventListener('click', () => go(app.step + 1));
  $('last').addEventListener('click', () => go(maxStep()));
  $('slider').addEventListener('input', (e) => go(Number((e.target as HTMLInputElement).value)));
  for (const id of ['goto-diff', 'goto-bad'])
    $(id).addEventListener('click', (e) => {
      const s = (e.target as HTMLElement).dataset.step;
      if (s) go(Number(s));
    });
  $('edit-toggle').addEventListener('click', () => void openEditor());
  $('matrix-toggle').addEventListener('click', () => {
    const pane = $('matrix-pane');
    pane.hidden = !pane.hidden;
    if (!pane.hidden && !app.matrixDir) showMatrix($<HTMLSelectElement>('matrix-dir').value);
    updateLink();
  });
  $<HTMLSelectElement>('matrix-dir').addEventListener('change', (e) => showMatrix((e.target as HTMLSelectElement).value));
  document.addEventListener('keydown', (e) => {
    const t = e.target as HTMLElement;
    if (t.closest('.cm-editor') || t instanceof HTMLInputElement || t instanceof HTMLSelectElement) return;
    if (e.key === 'ArrowRight' || e.key === 'j') go(app.step + 1);
    else if (e.key === 'ArrowLeft' || e.key === 'k') go(app.step - 1);
    else if (e.key === 'Home') go(0);
    else if (e.key === 'End') go(maxStep());
    else return;
    e.preventDefault();
  });
  window.addEventListener('resize', () => drawArrows($('panes')));
  document.addEventListener('toggle', () => drawArrows($('panes')), true);
}

fillPickers();
wire();
void fromLink(parseLink(location.hash)).then(() => {
  document.body.dataset.ready = 'true';
});
