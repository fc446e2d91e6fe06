/**
 * Drawing one run at one step: the step (its kernel path and decisions, as
 * --trace prints them), then processes with their VMAs and page-table
 * entries, the frames and folios, and who else holds them, with arrows.
 */
import type { ViewRun, ViewState, ViewStep, ViewPte, ViewFrame } from '../src/view/snapshot.js';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...kids: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of kids) e.append(c);
  return e;
}

/** The frame box (a frame, a folio or a run of frames alike) that holds frame `pfn`. */
function frameOf(st: ViewState): (pfn: number) => ViewFrame | undefined {
  const sorted = [...st.frames].sort((a, b) => a.pfn - b.pfn);
  return (pfn) => {
    let lo = 0;
    let hi = sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const f = sorted[mid]!;
      if (pfn < f.pfn) hi = mid - 1;
      else if (pfn >= f.pfn + f.nr) lo = mid + 1;
      else return f;
    }
    return undefined;
  };
}

function pteText(p: ViewPte): string {
  const at = p.count > 1 ? `${p.name} ×${p.count}` : p.name;
  switch (p.kind) {
    case 'pte':
      return `${at} → pfn#${p.pfn}${p.count > 1 ? `..${p.pfn! + p.count - 1}` : ''} ${p.bits}`;
    case 'zero':
      return `${at} → zero page ${p.bits}`;
    case 'pmd':
      return `${at} PMD → pfn#${p.pfn} ${p.bits}`;
    case 'pud':
      return `${at} PUD → pfn#${p.pfn} ${p.bits}`;
    case 'huge-zero':
      return `${at} PMD → huge zero page ${p.bits}`;
    case 'swap':
      return `${at} swap ${p.bits}`;
    case 'marker':
      return `${at} ${p.bits}`;
  }
}

function stepInfo(run: ViewRun, st: ViewStep): HTMLElement {
  const box = el('div', { class: 'step-info' });
  const head = st.index === 0 ? 'initial state' : `step ${st.index}  ${st.line}`;
  box.append(el('div', {}, el('b', {}, head)));
  if (st.index > 0) {
    const extra = [
      `ret ${st.ret}`,
      `faults ${st.faults}`,
      st.uffdFaults ? `uffd-wp faults ${st.uffdFaults}` : '',
      st.signal ? `signal ${st.signal}` : '',
      st.sees.length ? `read ${st.sees.join(', ')}` : '',
    ].filter(Boolean);
    box.append(el('div', {}, extra.join(', ')));
  }
  if (st.path.length) {
    const ol = el('ol', { class: 'path' });
    for (const p of st.path) ol.append(el('li', {}, p.note ? `${p.fn}: ${p.note}` : p.fn));
    box.append(ol);
  }
  for (const v of st.violations)
    box.append(el('div', { class: 'problem' }, `!! ${v.property}: ${v.message}${v.since !== st.index ? ` (since step ${v.since})` : ''}`));
  for (const f of st.failures) box.append(el('div', { class: 'problem' }, `!! expectation: ${f}`));
  if (run.firstBad !== undefined && run.firstBad !== st.index && !st.violations.length && !st.failures.length)
    box.append(el('div', {}, `(first problem at step ${run.firstBad})`));
  return box;
}

/** Renders `run` at step index `i` (into the steps array) into `pane`; `differs`: this step differs from the other pane's. */
export function renderPane(pane: HTMLElement, run: ViewRun, i: number, differs: boolean): void {
  pane.replaceChildren();
  pane.className = `pane${differs ? ' differs' : ''}`;
  pane.dataset.kernel = run.kernel;
  const h = el('h2', {}, `${run.kernel} `, el('span', { class: `word ${run.result}`, 'data-testid': 'result' }, run.result));
  pane.append(h, el('div', { class: 'title' }, run.title));
  if (run.because) pane.append(el('div', {}, `documented: ${run.because}`));
  if (!run.steps.length) {
    pane.append(el('div', { class: 'problem' }, `SKIP: ${run.message ?? 'not run'}`));
    return;
  }
  const at = Math.min(i, run.steps.length - 1);
  const st = run.steps[at]!;
  if (st.violations.length || st.failures.length) pane.classList.add('has-problem');
  pane.append(stepInfo(run, st));
  pane.append(picture(run.state(at)));
}

function picture(s: ViewState): HTMLElement {
  const mark = (e: HTMLElement, key: string) => {
    const c = s.changed[key];
    if (c) e.classList.add(c);
    if (s.was[key]) e.title = `was: ${s.was[key]}`;
  };
  const pic = el('div', { class: 'picture' });
  const find = frameOf(s);
  const colTasks = el('div', { class: 'col tasks' }, el('h3', {}, 'processes: VMAs and page tables'));
  for (const t of s.tasks) {
    const box = el('div', { class: 'box task', 'data-task': t.name }, el('b', {}, t.name));
    const other = s.other.find((o) => o.key === `task ${t.name}`);
    if (other) {
      const d = el('div', { class: 'vma' }, other.text);
      mark(d, other.key);
      box.append(d);
    }
    if (t.threads.length) box.append(el('div', { class: 'vma' }, `threads: ${[t.name, ...t.threads].join(', ')}`));
    // a thread stopped in one of the kernel's windows: where, and the lock it holds
    // and its CPU's TLB entry, where the scenario keeps them (a stale one is drawn as stopped threads are)
    for (const name of [t.name, ...t.threads]) {
      for (const key of [`thread ${name}`, `tlb ${name}`]) {
        const st = s.other.find((o) => o.key === key);
        if (!st) continue;
        const stale = key.startsWith('tlb ') && st.text.includes('stale');
        const d = el(
          'div',
          { class: key.startsWith('tlb ') && !stale ? 'vma' : 'vma stopped', 'data-key': st.key },
          `${key.startsWith('tlb ') ? `${name}'s TLB` : name}: ${st.text}`,
        );
        mark(d, st.key);
        box.append(d);
      }
    }
    for (const v of t.vmas)
      box.append(
        el(
          'div',
          { class: `vma${v.changed ? ' changed' : ''}` },
          `VMA ${v.name} [${v.start}..${v.end}) ${v.anon ? 'anon' : 'file'} ${v.flags.join(' ')}`,
        ),
      );
    for (const p of t.ptes) {
      const row = el('div', { class: `pte ${p.kind}${p.changed ? ' changed' : ''}` }, pteText(p));
      // a present entry points at its frame, a swap entry at its swap slot
      const slot = p.kind === 'swap' ? /^slot (\d+)/.exec(p.bits)?.[1] : undefined;
      const to = slot !== undefined ? `swap ${slot}` : p.pfn !== undefined && p.kind !== 'zero' ? find(p.pfn)?.key : undefined;
      if (to) row.dataset.to = to;
      row.dataset.arrow = slot !== undefined ? 'swap' : 'map';
      box.append(row);
    }
    colTasks.append(box);
  }
  const colFrames = el('div', { class: 'col frames' }, el('h3', {}, 'frames and folios'));
  for (const f of s.frames) {
    const box = el('div', { class: `box frame${f.nr > 1 ? ' folio' : ''}`, 'data-key': f.key });
    mark(box, f.key);
    if (f.nr > 1 || f.parts.length > 3) {
      // a large folio: its summary, the per-page runs and holders folded
      box.append(el('div', {}, el('b', {}, f.key), ` (${f.nr} pages) ${f.parts[0]!}`));
      const det = el('details', {}, el('summary', {}, `${f.parts.length - 1} more line(s): pages and holders`));
      for (const p of f.parts.slice(1)) det.append(el('div', {}, p));
      box.append(det);
    } else box.append(el('div', {}, el('b', {}, f.key), ` ${f.parts.join('; ')}`));
    colFrames.append(box);
  }
  for (const k of s.gone) colFrames.append(el('div', { class: 'box gone' }, `${k}: gone`));
  const colHolders = el('div', { class: 'col holders' }, el('h3', {}, 'other holders, swap, files'));
  for (const hd of s.holders) {
    const box = el('div', { class: 'box holder' }, hd.label);
    // the boxes its ranges fall in, walked box by box (a 1 GiB buffer is one range, one box)
    const targets = new Set<string>();
    for (const [a, b] of hd.ranges)
      for (let p = a; p <= b;) {
        const f = find(p);
        if (f) targets.add(f.key);
        p = f ? f.pfn + f.nr : p + 1;
      }
    box.dataset.to = [...targets].join(' ');
    box.dataset.arrow = hd.label.startsWith('pipe') ? 'pipe' : 'ref';
    box.append(
      el(
        'div',
        { class: 'vma' },
        `${hd.refs} reference(s) to ${hd.ranges.map(([a, b]) => (b > a ? `pfn#${a}..${b}` : `pfn#${a}`)).join(', ')}`,
      ),
    );
    colHolders.append(box);
  }
  for (const o of s.other) {
    if (o.key.startsWith('task ') || o.key.startsWith('thread ') || o.key.startsWith('tlb ')) continue;
    const box = el('div', { class: 'box other', 'data-key': o.key }, el('b', {}, o.key), ` ${o.text}`);
    mark(box, o.key);
    // a swap slot whose page is in the swap cache points at that frame
    const cached = o.key.startsWith('swap ') ? /cached in pfn#(\d+)/.exec(o.text)?.[1] : undefined;
    const f = cached !== undefined ? find(Number(cached)) : undefined;
    if (f) {
      box.dataset.to = f.key;
      box.dataset.arrow = 'swap';
      box.classList.add('holder');
    }
    colHolders.append(box);
  }
  pic.append(colTasks, colFrames, colHolders);
  return pic;
}

const SVG = 'http://www.w3.org/2000/svg';

/** Draws the arrows of every picture in `root` (after layout: positions are measured). */
export function drawArrows(root: HTMLElement): void {
  for (const pic of root.querySelectorAll<HTMLElement>('.picture')) {
    pic.querySelector('svg.arrows')?.remove();
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'arrows');
    const base = pic.getBoundingClientRect();
    const frames = new Map<string, DOMRect>();
    for (const f of pic.querySelectorAll<HTMLElement>('.frame, .other')) frames.set(f.dataset.key!, f.getBoundingClientRect());
    let n = 0;
    for (const src of pic.querySelectorAll<HTMLElement>('[data-to]')) {
      const a = src.getBoundingClientRect();
      const holder = src.classList.contains('holder');
      for (const key of (src.dataset.to ?? '').split(' ')) {
        const b = frames.get(key);
        if (!b) continue;
        // page tables point right into a box's left side; holders point left into its right side
        const x1 = (holder ? a.left : a.right) - base.left;
        const y1 = a.top + a.height / 2 - base.top;
        const x2 = (holder || b.left < a.left ? b.right : b.left) - base.left;
        const y2 = b.top + Math.min(b.height / 2, 10) - base.top;
        const dx = (x2 - x1) / 2;
        const path = document.createElementNS(SVG, 'path');
        path.setAttribute('d', `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`);
        path.setAttribute('class', src.dataset.arrow ?? 'map');
        svg.append(path);
        n++;
      }
    }
    svg.dataset.arrows = String(n);
    pic.append(svg);
  }
}
