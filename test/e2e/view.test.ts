/**
 * End-to-end: the browser viewer in a real Chromium (playwright-core driving
 * the Debian chromium package; nothing downloads a browser). Skipped, with
 * the reason printed, where no Chromium is installed or the viewer is not
 * built.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';
import { viewServer, WEB_DIR } from '../../src/cli/commands/view.js';

/** The Chromium to drive: $COWLAB_CHROMIUM, else the distribution's. */
function findChromium(): string | null {
  const c = [process.env.COWLAB_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return c.find((p): p is string => !!p && existsSync(p)) ?? null;
}

const exe = findChromium();
const built = existsSync(join(WEB_DIR, 'index.html'));
const skip = !exe
  ? 'no Chromium installed (apt-get install chromium, or set COWLAB_CHROMIUM)'
  : !built
    ? `the viewer is not built (${WEB_DIR}): npm run build`
    : null;
if (skip) console.log(`SKIP browser tests of cowlab view: ${skip}`);

const CVE = 'scenarios/cve/cve-2020-29374-vmsplice-child.yaml';

describe.skipIf(skip !== null)('cowlab view in Chromium', () => {
  let browser: Browser;
  let server: Server;
  let base: string;
  let dir: string;
  const page = async (hash: string): Promise<{ p: Page; errors: string[] }> => {
    const p = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    p.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await p.goto(`${base}/${hash}`);
    await p.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
    return { p, errors };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cowlab-e2e-view-'));
    browser = await chromium.launch({ executablePath: exe!, args: ['--no-sandbox'] });
    server = viewServer(WEB_DIR, join(dir, 'mine.yaml'));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => server?.close(ok));
    rmSync(dir, { recursive: true, force: true });
  });

  it('steps to the leaking step of the vmsplice CVE on linux-5.7 and shows the violation there', async () => {
    const { p, errors } = await page(`#s=${encodeURIComponent(CVE)}&k=linux-5.7`);
    await expect.poll(() => p.locator('[data-testid=result]').textContent()).toBe('XFAIL');
    // nothing marked before the leak
    expect(await p.locator('.problem').count()).toBe(0);
    // the picture after the child's vmsplice: both processes, the frame they share, the pipe holding it, arrows drawn
    await p.locator('#slider').fill('5');
    expect(await p.locator('#where').textContent()).toMatch(/^step 5 of 8: child: vmsplice/);
    expect(await p.locator('.task').count()).toBe(2);
    expect(await p.locator('.holder').first().textContent()).toMatch(/^pipe p/);
    expect(Number(await p.locator('svg.arrows').getAttribute('data-arrows'))).toBe(3);
    await p.keyboard.press('End');
    expect(await p.locator('#where').textContent()).toMatch(/^step 8 of 8: child: read-pipe/);
    expect(await p.locator('.problem').first().textContent()).toMatch(/^!! no-leak: /);
    // the link names scenario, kernel and step
    expect(decodeURIComponent((await p.locator('#permalink').getAttribute('href')) ?? '')).toBe(`#s=${CVE}&k=linux-5.7&step=8`);
    // and back with the keyboard
    await p.keyboard.press('ArrowLeft');
    expect(await p.locator('#where').textContent()).toMatch(/^step 7 of 8/);
    expect(errors).toEqual([]);
    await p.close();
  });

  it("draws a process's threads, and a thread stopped in a window with the lock it holds (Dirty COW on linux-4.8)", async () => {
    const { p, errors } = await page(`#s=${encodeURIComponent('scenarios/history/dirty-cow.yaml')}&k=linux-4.8`);
    await expect.poll(() => p.locator('[data-testid=result]').textContent()).toBe('XFAIL');
    await p.locator('#slider').fill('4');
    expect(await p.locator('#where').textContent()).toMatch(/^step 4 of 8: procselfmem: proc-mem-write/);
    expect(await p.locator('.task').first().textContent()).toContain('threads: dirtyc0w, procselfmem, madvise');
    const stopped = p.locator('.task .stopped');
    expect(await stopped.textContent()).toMatch(
      /^procselfmem: stopped in gup-retry: .* retries with FOLL_GET\|FOLL_WRITE\|FOLL_FORCE\|FOLL_REMOTE; holds dirtyc0w's mmap_lock for read$/,
    );
    // after the second fault GUP retries without FOLL_WRITE: the Dirty COW bug, marked as changed
    await p.keyboard.press('ArrowRight');
    expect(await stopped.textContent()).toMatch(/retries with FOLL_GET\|FOLL_FORCE\|FOLL_REMOTE;/);
    expect(await stopped.getAttribute('class')).toContain('changed');
    expect(errors).toEqual([]);
    await p.close();
    // a step that waited for a stopped fork is shown where it ran, under its own number (GUP-fast vs fork on 6.18)
    const g = await page(`#s=${encodeURIComponent('scenarios/history/gup-fast-fork-race.yaml')}&k=linux-6.18`);
    await g.p.locator('#slider').fill('5');
    expect(await g.p.locator('#where').textContent()).toMatch(/^step 6 of 11: parent: resume/);
    await g.p.keyboard.press('ArrowRight');
    expect(await g.p.locator('#where').textContent()).toMatch(/^step 5 of 11: rdma: pin .*\(waited; ran after step 6\)$/);
    expect(g.errors).toEqual([]);
    await g.p.close();
  });

  it('draws swap entries to their slot and a slot to its page in the swap cache', async () => {
    const { p, errors } = await page(`#s=${encodeURIComponent('scenarios/swap/swapoff-brings-pages-back.yaml')}&k=linux-6.18`);
    const n = Number(/of (\d+)/.exec((await p.locator('#where').textContent()) ?? '')![1]);
    let swapArrows = 0;
    for (let i = 0; i <= n && !swapArrows; i++) {
      await p.locator('svg.arrows').waitFor({ state: 'attached' });
      swapArrows = await p.locator('svg.arrows path.swap').count();
      if (!swapArrows) await p.keyboard.press('ArrowRight');
    }
    expect(swapArrows).toBeGreaterThan(0);
    expect(await p.locator('.pte.swap').count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await p.close();
  });

  it('puts linux-5.7 and linux-6.18 side by side and finds the first step where they differ', async () => {
    const { p, errors } = await page(`#s=${encodeURIComponent(CVE)}&k=linux-5.7,linux-6.18`);
    expect(await p.locator('.pane').count()).toBe(2);
    const words = await p.locator('[data-testid=result]').allTextContents();
    expect(words).toEqual(['XFAIL', 'PASS']);
    const diff = p.locator('#goto-diff');
    const m = /first difference: step (\d+)/.exec((await diff.textContent()) ?? '');
    expect(m).not.toBeNull();
    await diff.click();
    expect(await p.locator('#where').textContent()).toMatch(new RegExp(`^step ${m![1]} of`));
    expect(await p.locator('.pane.differs').count()).toBe(2);
    // one step before, they agreed
    await p.keyboard.press('ArrowLeft');
    expect(await p.locator('.pane.differs').count()).toBe(0);
    expect(errors).toEqual([]);
    await p.close();
  });

  it('opens a matrix cell as that scenario on that kernel at its failing step', async () => {
    const { p, errors } = await page('#m=scenarios/cve');
    await p.waitForSelector('#matrix-status:has-text("cells")', { timeout: 120_000 });
    const cell = p.locator('#matrix td.XFAIL[data-kernel="linux-5.7"]').first();
    const title = (await cell.getAttribute('title')) ?? '';
    const step = /at step (\d+)/.exec(title)![1];
    await cell.click();
    expect(await p.locator('#matrix-pane').isHidden()).toBe(true);
    expect(await p.locator('.pane').getAttribute('data-kernel')).toBe('linux-5.7');
    expect(await p.locator('#where').textContent()).toMatch(new RegExp(`^step ${step} of`));
    expect(await p.locator('.problem').count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await p.close();
  }, 180_000);

  it('opens an explorer counterexample on the kernel it was found on', async () => {
    const cx = join(dir, 'cx.yaml');
    const r = spawnSync(
      process.execPath,
      ['bin/cowlab.js', 'explore', 'explore/vmsplice-leak.yaml', '--kernel', 'linux-5.7', '--out', cx],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(1);
    const { p, errors } = await page('');
    await p.locator('#open').setInputFiles(cx);
    await expect.poll(() => p.locator('.pane').getAttribute('data-kernel')).toBe('linux-5.7');
    await p.locator('#goto-bad').click();
    expect(await p.locator('.problem').first().textContent()).toMatch(/no-leak/);
    // its own text travels in the link
    expect(await p.locator('#permalink').getAttribute('href')).toMatch(/^#y=/);
    expect(errors).toEqual([]);
    await p.close();
  }, 60_000);

  it('shows a malformed scenario’s error at its line, in the editor and above the picture', async () => {
    const { p } = await page(`#s=${encodeURIComponent(CVE)}`);
    await p.locator('#edit-toggle').click();
    await p.waitForSelector('#editor-pane[data-ready=true] .cm-content');
    const text = 'processes: [p]\nsteps:\n  - p: {mmap: mem}\n  - p: {wrte: mem}\n';
    // typed over the shipped text, as a user would
    await p.locator('.cm-content').click();
    await p.keyboard.press('Control+A');
    await p.keyboard.insertText(text);
    await expect
      .poll(() => p.locator('#editor-status').textContent(), { timeout: 10_000 })
      .toMatch(/cve-2020-29374-vmsplice-child\.yaml:4:\d+: /);
    await expect.poll(() => p.locator('#error').textContent()).toMatch(/:4:\d+: .*wrte/);
    // the lint marker sits on line 4
    const marked = await p
      .locator('.cm-line', { has: p.locator('.cm-lintRange-error') })
      .first()
      .textContent();
    expect(marked).toContain('wrte');
    await p.close();
  });

  it('works as static files from a plain file server (python3 -m http.server), the published site', async () => {
    const py = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p));
    if (!py) {
      console.log('SKIP static-site check: no python3 for a plain file server');
      return;
    }
    const srv = spawn(py, ['-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', WEB_DIR], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let log = '';
      srv.stdout.on('data', (d: Buffer) => (log += d.toString()));
      await expect.poll(() => log, { timeout: 15_000 }).toMatch(/port (\d+)/);
      const port = /port (\d+)/.exec(log)![1]!;
      const p = await browser.newPage();
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push(e.message));
      await p.goto(`http://127.0.0.1:${port}/index.html#s=${encodeURIComponent(CVE)}&k=linux-5.7&step=8`);
      await p.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
      expect(await p.locator('.problem').first().textContent()).toMatch(/no-leak/);
      // the matrix's worker loads from the static files too
      await p.locator('#matrix-toggle').click();
      await p.waitForSelector('#matrix td', { timeout: 60_000 });
      expect(errors).toEqual([]);
      await p.close();
    } finally {
      srv.kill();
    }
  }, 90_000);

  it('serves the file given to cowlab view, read again at each load', async () => {
    const file = join(dir, 'mine.yaml');
    writeFileSync(file, readFileSync(CVE, 'utf8').replace(/^name: .*$/m, 'name: my-copy'));
    const { p, errors } = await page('#f=file/mine.yaml&k=linux-6.18');
    expect(await p.locator('[data-testid=result]').textContent()).toBe('PASS');
    expect(await p.locator('#permalink').getAttribute('href')).toMatch(/^#f=file%2Fmine\.yaml/);
    expect(errors).toEqual([]);
    await p.close();
  });
});

describe('cowlab view (command)', () => {
  it('prints the address of the side-by-side view and serves it until SIGTERM', async () => {
    const child = spawn(process.execPath, ['bin/cowlab.js', 'view', CVE, '--kernel', 'linux-5.7', '--kernel', 'linux-6.18'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let outText = '';
    child.stdout.on('data', (d: Buffer) => (outText += d.toString()));
    await expect.poll(() => outText, { timeout: 15_000 }).toMatch(/cowlab view: http:\/\/127\.0\.0\.1:\d+\//);
    const url = /(http:\S+)/.exec(outText)![1]!;
    expect(decodeURIComponent(url)).toMatch(new RegExp(`#s=${CVE}&k=linux-5.7,linux-6.18$`));
    if (built) expect((await fetch(url)).status).toBe(200);
    const code = new Promise<number | null>((ok) => child.on('exit', ok));
    child.kill('SIGTERM');
    expect(await code).toBe(0);
  });

  it('refuses a malformed scenario, an unknown kernel and three kernels with exit 2 and a positioned message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cowlab-e2e-view-'));
    try {
      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, 'steps:\n  - p: {mmap: mem}\n  - p: {wrte: mem}\n');
      const run = (...a: string[]) => spawnSync(process.execPath, ['bin/cowlab.js', 'view', ...a], { encoding: 'utf8', timeout: 15_000 });
      const r1 = run(bad);
      expect(r1.status).toBe(2);
      expect(r1.stderr).toMatch(/bad\.yaml:3:\d+: /);
      const r2 = run(CVE, '--kernel', 'linux-5.10');
      expect(r2.status).toBe(2);
      expect(r2.stderr).toMatch(/unknown kernel "linux-5.10"/);
      const r3 = run(CVE, '--kernel', 'linux-5.7', '--kernel', 'linux-6.1', '--kernel', 'linux-6.18');
      expect(r3.status).toBe(2);
      expect(r3.stderr).toMatch(/at most two/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
