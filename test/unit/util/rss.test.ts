import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { peakRssMb } from '../../../src/util/rss.js';

const hwm = existsSync('/proc/self/status') && /^VmHWM:/m.test(readFileSync('/proc/self/status', 'utf8'));

describe('peakRssMb', () => {
  it("is the process's own peak, not its parent's (getrusage keeps the size before exec)", (ctx) => {
    if (!hwm) {
      console.log('skipped: no VmHWM in /proc/self/status (not Linux)');
      ctx.skip();
    }
    // this process holds 300 MiB more than a fresh node when it starts the child
    const big = new Uint8Array(300 << 20).fill(1);
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { peakRssMb } from './dist/util/rss.js'; console.log(JSON.stringify([peakRssMb(), process.resourceUsage().maxRSS / 1024]));",
      ],
      { encoding: 'utf8' },
    );
    expect(big[big.length - 1]).toBe(1);
    const [own, rusage] = JSON.parse(child.stdout) as [number, number];
    expect(rusage).toBeGreaterThan(300);
    expect(own).toBeLessThan(200);
    expect(own).toBeGreaterThan(10);
    expect(peakRssMb()).toBeGreaterThan(300);
  });
});
