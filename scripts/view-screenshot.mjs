// The README's picture of the viewer: the vmsplice CVE on linux-5.7 and
// linux-6.18 side by side at the step where they part ways.
// Usage: npm run build && node scripts/view-screenshot.mjs [out.png]
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { viewServer, WEB_DIR } from '../dist/cli/commands/view.js';

const out = process.argv[2] ?? 'docs/img/view-side-by-side.png';
const exe = [process.env.COWLAB_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
if (!exe) {
  console.error('no Chromium: apt-get install chromium, or set COWLAB_CHROMIUM');
  process.exit(4);
}
const server = viewServer(WEB_DIR);
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const browser = await chromium.launch({ executablePath: exe, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 760 } });
  const cve = encodeURIComponent('scenarios/cve/cve-2020-29374-vmsplice-child.yaml');
  await page.goto(`http://127.0.0.1:${server.address().port}/#s=${cve}&k=linux-5.7,linux-6.18&step=8`);
  await page.waitForSelector('body[data-ready=true]');
  await page.waitForTimeout(200);
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  server.close();
}
