/**
 * The browser viewer: the size of its static files (raw and gzip), and the
 * time to show the largest shipped scenario (the largest state, then the
 * most steps), in Node (viewRun, a step's picture) and, where Chromium is
 * installed, in the page (open to first picture, then the last step).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { loadScenarios } from '../scenario/load.js';
import { makeLayout } from '../model/layout.js';
import { profileById } from '../profiles/index.js';
import { viewRun } from '../view/snapshot.js';
import { viewServer, WEB_DIR } from '../cli/commands/view.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
}

export async function viewBench(): Promise<void> {
  if (!existsSync(join(WEB_DIR, 'index.html'))) {
    console.log(`view: skipped: the viewer is not built (${WEB_DIR}; npm run build)`);
    return;
  }
  let raw = 0;
  let gz = 0;
  for (const f of files(WEB_DIR)) {
    const b = readFileSync(f);
    raw += b.length;
    gz += gzipSync(b).length;
  }
  console.log(`view: static files ${(raw / 1024).toFixed(0)} KiB (${(gz / 1024).toFixed(0)} KiB gzipped), ${files(WEB_DIR).length} files`);
  // the largest shipped scenario: the largest state, then the most steps
  const all = loadScenarios(['scenarios']);
  const size = (r: (typeof all)[number]) => makeLayout(r.geo).size;
  const big = all.reduce((a, b) => (size(b) > size(a) || (size(b) === size(a) && b.steps.length > a.steps.length) ? b : a));
  const spec = big.sc.file;
  const prof = profileById('linux-6.18');
  const t0 = performance.now();
  const run = viewRun(big, prof);
  const t1 = performance.now();
  run.state(run.steps.length - 1);
  const t2 = performance.now();
  console.log(
    `view: largest shipped scenario ${big.sc.name} (${spec}, ${((size(big) * 4) / 1048576).toFixed(0)} MiB of state, ${run.steps.length - 1} steps) on ${prof.id}: ` +
      `in Node, run ${((t1 - t0) / 1000).toFixed(2)} s, last step's picture ${((t2 - t1) / 1000).toFixed(2)} s; RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`,
  );
  const exe = [process.env.COWLAB_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
  if (!exe) {
    console.log('view: in the browser: skipped: no Chromium (apt-get install chromium, or set COWLAB_CHROMIUM)');
    return;
  }
  const { chromium } = await import('playwright-core');
  const server = viewServer(WEB_DIR);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const browser = await chromium.launch({ executablePath: exe, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/#s=${encodeURIComponent(spec)}&k=${prof.id}`;
    const b0 = performance.now();
    await page.goto(url);
    await page.waitForSelector('body[data-ready=true]', { timeout: 600_000 });
    const b1 = performance.now();
    const last = run.steps.length - 1;
    await page.keyboard.press('End');
    await page
      .locator('#where')
      .filter({ hasText: new RegExp(`^step ${last} of`) })
      .waitFor({ timeout: 600_000 });
    const b2 = performance.now();
    const heap = await page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0);
    const boxes = await page.locator('.box').count();
    console.log(
      `view: in Chromium, open to first picture ${((b1 - b0) / 1000).toFixed(2)} s, to the last step ${((b2 - b1) / 1000).toFixed(2)} s ` +
        `(${boxes} boxes drawn; JS heap ${(heap / 1048576).toFixed(0)} MiB)`,
    );
  } finally {
    await browser.close();
    await new Promise((ok) => server.close(ok));
  }
}
