/** O_DIRECT reads and writes of a tmpfile on ext4 (fs/direct-io.c, block/bio.c). */
import { defineOp, ok } from './types.js';
import { region, name, fileArgs } from './args.js';
import { z } from 'zod';
import { dio_rw, dio_start, dio_complete } from '../kernel/fs/direct-io.js';
import { GUP_HELD } from '../kernel/mm/gup.js';
import { THOP_DIO_FAULT } from '../model/layout.js';
import { userfault_wait, userfault_woken } from '../model/threads.js';
import { ModelBug } from '../model/bug.js';
import type { KState } from '../model/layout.js';
import type { KCtx } from '../kernel/ctx.js';
import type { StepResult } from './types.js';
import { refs_where } from '../model/refs.js';
import { REF_TRANSIENT } from '../model/layout.js';
import { EBUSY, EINVAL } from '../kernel/errno.js';

const HELD_DOC =
  ' `shift: B` (a multiple of 512 below 4096): the buffer starts B bytes into the range, which reaches one page more than the file pages moved, so each page of it holds the tail of one file page and the head of the next; GUP takes every page it reaches (a misaligned O_DIRECT buffer).' +
  ' `stop: uffd` (one page, a thread created by `thread`): the monitor holds the uffd-wp fault GUP takes on the page, so the thread sleeps in handle_userfault() with mmap_lock dropped, no page taken yet, while other steps run; a `uffd-unwp` of the page wakes it and its `resume` retries the page (FOLL_TRIED) and transfers';

const rw = <const N extends 'odirect-read' | 'odirect-write'>(opName: N, read: boolean, doc: string) =>
  defineOp({
    name: opName,
    doc: doc + HELD_DOC,
    primary: 'at',
    args: {
      at: region,
      ...fileArgs,
      stop: z.literal('uffd').optional(),
      shift: z.number().int().min(0).max(3584).multipleOf(512).optional(),
    },
    requires: ['odirect'],
    resolve: (a, cx) => {
      const r = cx.range(a.at);
      const f = cx.file(a.file);
      const shift = a.shift ?? 0;
      // a buffer that starts inside its first page reaches one page more than the file pages it moves
      const n = r.pages - (shift ? 1 : 0);
      if (shift && r.pages < 2)
        cx.fail(`${opName} with shift: ${shift} needs a range of at least 2 pages (the buffer reaches one page more than it transfers)`);
      if (shift && a.stop !== undefined) cx.fail(`${opName} with stop: uffd transfers one whole page (no shift)`);
      // past EOF the kernel zero-fills a read through the page-cache-free hole path and clips the count: not modelled
      if (a.offset + n > f.pages)
        cx.fail(`${opName} of ${n} page(s) at offset ${a.offset} runs past the end of file ${a.file} (${f.pages} page(s))`);
      if (a.stop !== undefined) {
        // the pages GUP took before a held fault would be the thread's across the window: not modelled
        if (r.pages !== 1) cx.fail(`${opName} with stop: uffd transfers one page (this one has ${r.pages})`);
        cx.stop('uffd');
      }
      return { ...r, file: f.id, index: a.offset, stop: a.stop !== undefined, shift };
    },
    print: (m, cx) => ({
      [opName]: cx.range(m),
      file: cx.file(m.file),
      ...(m.index ? { offset: m.index } : {}),
      ...(m.stop ? { stop: 'uffd' } : {}),
      ...(m.shift ? { shift: m.shift } : {}),
    }),
    range: (m) => m,
    apply(s, ctx, t, m) {
      if (m.shift) return ok(dio_rw(s, ctx, t, read, m.file, m.index, m.start, m.pages - 1, false, m.shift));
      if (!m.stop) return ok(dio_rw(s, ctx, t, read, m.file, m.index, m.start, m.pages));
      ctx.uffdHold = true;
      const r = dio_rw(s, ctx, t, read, m.file, m.index, m.start, m.pages);
      ctx.uffdHold = false;
      if (r !== GUP_HELD) return ok(r);
      if (ctx.thread < 0) throw new ModelBug('an O_DIRECT transfer waits for its uffd monitor in a state without thread records');
      const w = {
        op: THOP_DIO_FAULT,
        va: m.start,
        n: m.file,
        i: 0,
        a: m.index,
        b: read ? 1 : 0,
        faults: ctx.faults,
        majfaults: ctx.majfaults,
      };
      userfault_wait(s, ctx.thread, t, w);
      ctx.faults = 0;
      ctx.majfaults = 0;
      ctx.stopped = true;
      return ok(0);
    },
    // pages: the file pages moved; shift: where in the first page the buffer starts
    exec: {
      args: ['dfile', 'index', 'start', 'pages', 'shift'],
      encode: (m) => [m.file, m.index, m.start, m.pages - (m.shift ? 1 : 0), m.shift],
      holds: (m) => m.stop,
    },
    // the fuzzer's file ft has 2 pages: on a larger region (a THP) the transfer takes its first two
    fuzz: {
      host: true,
      onRegion: true,
      gen: (_c, x) => ({ [opName]: x.region.pages > 2 && !/\[\d+\]$/.test(x.at) ? `${x.region.name}[0:2]` : x.at, file: 'ft' }),
    },
  });

export const odirectRead = rw('odirect-read', true, 'pread(O_DIRECT): the device writes memory (FOLL_PIN|FOLL_WRITE on 6.18)');
export const odirectWrite = rw('odirect-write', false, 'pwrite(O_DIRECT): the device reads memory (FOLL_PIN, unshares on 6.18)');

const inFlight = 'holds an O_DIRECT transfer in flight across steps (model only)';

const start = <const N extends 'odirect-read-start' | 'odirect-write-start'>(opName: N, read: boolean, doc: string) =>
  defineOp({
    name: opName,
    doc,
    primary: 'at',
    args: { at: region, ...fileArgs, handle: name },
    requires: ['model-only'],
    resolve: (a, cx) => ({ ...cx.range(a.at), file: cx.file(a.file).id, index: a.offset, handle: cx.handle(a.handle, true) }),
    print: (m, cx) => ({
      [opName]: cx.range(m),
      file: cx.file(m.file),
      ...(m.index ? { offset: m.index } : {}),
      handle: cx.handle(m.handle),
    }),
    range: (m) => m,
    refs: (m) => m.pages,
    apply(s, ctx, t, m) {
      if (refs_where(s, (r) => r.owner === t && r.handle === m.handle && r.kind !== REF_TRANSIENT).length) return ok(-EBUSY);
      return ok(dio_start(s, ctx, t, read, m.file, m.index, m.start, m.pages, m.handle));
    },
    exec: { modelOnly: inFlight },
  });

export const odirectReadStart = start('odirect-read-start', true, 'an O_DIRECT read whose DMA is still in flight (model only)');
export const odirectWriteStart = start('odirect-write-start', false, 'an O_DIRECT write whose DMA is still in flight (model only)');

export const odirectComplete = defineOp({
  name: 'odirect-complete',
  doc: 'the in-flight O_DIRECT completes and releases its pages (model only)',
  primary: 'handle',
  args: { handle: name },
  requires: ['model-only'],
  resolve: (a, cx) => ({ handle: cx.handle(a.handle, false) }),
  print: (m, cx) => ({ 'odirect-complete': cx.handle(m.handle) }),
  apply(s, ctx, t, m) {
    const n = dio_complete(s, ctx, t, m.handle);
    return ok(n === 0 ? -EINVAL : n);
  },
  exec: { modelOnly: inFlight },
});

/** The O_DIRECT transfer thread slot `th` held in GUP's fault goes on (`resume`, after a wake): the bytes transferred, or an errno. */
export function dio_fault_resume(s: KState, ctx: KCtx, t: number, th: number): StepResult {
  const w = userfault_woken(s, th);
  if (!w) throw new ModelBug(`thread slot ${th}: resumed in handle_userfault() before a wake`);
  ctx.faults += w.faults;
  ctx.majfaults += w.majfaults;
  return ok(dio_rw(s, ctx, t, w.b === 1, w.n, w.a, w.va, 1, true));
}
