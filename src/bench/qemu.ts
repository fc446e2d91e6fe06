/**
 * Guest throughput: boots per minute (an empty batch, guests in parallel)
 * and scenarios per second inside one guest (a batch's time minus an empty
 * boot's), on the first fetched kernel; reported as skipped otherwise.
 */
import { loadScenarios } from '../scenario/load.js';
import { toProgram } from '../executor/program.js';
import { fetchedKernels } from '../qemu/fetch.js';
import { boot, checkGuestTools, runInGuests, type GuestKernel } from '../qemu/guest.js';

export async function qemuBench(): Promise<void> {
  const k = fetchedKernels()[0];
  if (!k) {
    console.log('qemu: skipped (no fetched kernel: npx cowlab kernels fetch)');
    return;
  }
  try {
    checkGuestTools();
  } catch (e) {
    console.log(`qemu: skipped (${(e as Error).message})`);
    return;
  }
  const g: GuestKernel = { name: k.id, vmlinuz: k.vmlinuz, brd: k.brd };
  // boots: 6 empty boots, 2 at a time
  const t0 = Date.now();
  let one = 0;
  for (let i = 0; i < 3; i++) {
    const r = await Promise.all([boot(g, ['CAPS\n']), boot(g, ['CAPS\n'])]);
    one += r[0].seconds + r[1].seconds;
  }
  const sec = (Date.now() - t0) / 1000;
  console.log(
    `qemu: ${k.id}: 6 boots (2 guests in parallel) in ${sec.toFixed(1)} s = ${((6 * 60) / sec).toFixed(0)} boots/min; one boot ${(one / 6).toFixed(2)} s`,
  );
  const base = loadScenarios(['scenarios/cow-selftest/anon', 'scenarios/cve']).filter(
    (r) => r.sc.selftest?.backing !== 'swapped out base page' && !r.needs.includes('gup-test'),
  );
  const programs = Array.from({ length: 20 }, () => base)
    .flat()
    .map(toProgram);
  const t1 = Date.now();
  const res = await runInGuests(g, programs, { jobs: 1 });
  const batch = (Date.now() - t1) / 1000;
  const ok = res.results.filter((r) => r.status === 'ok').length;
  const inside = Math.max(0.001, batch - one / 6);
  console.log(
    `qemu: ${k.id}: ${programs.length} base-page scenarios in one guest: ${batch.toFixed(1)} s with the boot, ` +
      `${(programs.length / inside).toFixed(0)} scenarios/s inside the guest (${ok} ok)`,
  );
}
