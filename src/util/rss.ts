/** Peak resident memory, as a user pays it. */
import { readFileSync } from 'node:fs';

/**
 * Peak resident memory of this process in MiB: on Linux its address
 * space's high-water mark (VmHWM in /proc/self/status, worker threads
 * included), which starts at exec. getrusage()'s maxrss also keeps the
 * high-water mark of the address space the process had before its exec,
 * the copy of its parent's that fork made, so a search started by a large
 * process (the bench, a test runner) would report at least that process's
 * size. Elsewhere, maxrss.
 */
export function peakRssMb(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // no /proc: not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}
