/** ksmd, run until it settles (mm/ksm.c ksm_do_scan): see src/kernel/mm/ksm.ts. */
import { defineOp, ok } from './types.js';
import { ksm_scan_until_stable } from '../kernel/mm/ksm.js';
import { task_uid } from '../model/mm_types.js';
import { EACCES } from '../kernel/errno.js';

export const ksmScan = defineOp({
  name: 'ksm-scan',
  doc: 'ksmd runs full scans until one changes none of its counters (at least two; on a real kernel: run=1 until then, run=0 after; merged pages stay)',
  primary: null,
  args: {},
  resolve(_a, cx) {
    cx.need('ksm');
    return {};
  },
  print: () => 'ksm-scan',
  apply(s, ctx, t) {
    // ksmd is driven through /sys/kernel/mm/ksm/run, which only root may write
    if (task_uid(s, t) !== 0) return ok(-EACCES);
    ksm_scan_until_stable(s, ctx);
    return ok();
  },
  exec: { args: [], encode: () => [] },
  fuzz: { weight: 2, host: true, onRegion: false, gen: () => 'ksm-scan' },
});
