/** A write to /proc/PID/clear_refs (fs/proc/task_mmu.c clear_refs_write). */
import { z } from 'zod';
import { defineOp, ok } from './types.js';
import { clear_refs_write } from '../kernel/fs/proc/task_mmu.js';
import { always, perProcess } from './explore.js';
import { deferredFlushStopped } from './uffd.js';

export const clearRefs = defineOp({
  name: 'clear-refs',
  doc: 'write to /proc/PID/clear_refs (4: soft-dirty, write-protects PTEs). `stop: deferred-flush` (model only): the soft-dirty walk stops after it write-protected the PTEs, before its flush_tlb_mm(), holding mmap_lock for read (before 5.11: faults run meanwhile) or for write (from 29a951dfb3c3); its `resume` flushes',
  primary: 'value',
  args: { value: z.number().int(), stop: z.literal('deferred-flush').optional() },
  resolve(a, cx) {
    if (a.stop !== undefined) cx.stop('deferred-flush');
    return { value: a.value, stop: a.stop !== undefined };
  },
  print: (m) => (m.stop ? { 'clear-refs': m.value, stop: 'deferred-flush' } : { 'clear-refs': m.value }),
  apply(s, ctx, t, m) {
    if (!m.stop) return ok(clear_refs_write(s, ctx, t, m.value));
    ctx.flushHold = true;
    const r = clear_refs_write(s, ctx, t, m.value);
    ctx.flushHold = false;
    return ctx.deferredFlush ? deferredFlushStopped(s, ctx, t, ctx.deferredFlush) : ok(r);
  },
  exec: {
    args: ['value'],
    encode: (m) => [m.value],
    blocker: (m) =>
      m.stop
        ? "stops inside the kernel before a TLB flush: user space cannot hold that window, nor see another CPU's TLB (model only)"
        : null,
  },
  fuzz: { weight: 2, host: true, onRegion: false, gen: (c, x) => ({ 'clear-refs': x.pick([4, 4, 1, 5], c.c) }) },
  explore: [
    perProcess(
      'clear-refs',
      240,
      'clear soft-dirty bits (echo 4 > /proc/PID/clear_refs); with threads, it stops before its TLB flush',
      (t, x) => [{ t, args: () => ({ 'clear-refs': 4, ...(x.threads > 1 ? { stop: 'deferred-flush' } : {}) }), enabled: always }],
    ),
  ],
});
