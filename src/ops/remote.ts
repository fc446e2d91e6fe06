/** Access to another process's memory: process_vm_readv/writev (mm/process_vm_access.c) and /proc/PID/mem (fs/proc/base.c). */
import { z } from 'zod';
import { defineOp, ok, type StepResult, type ResolveCx } from './types.js';
import { PAGE_BYTES, transfer_pages } from '../model/writes.js';
import { region, name } from './args.js';
import type { RegionRef } from '../scenario/types.js';
import { perPage } from './explore.js';
import { process_vm_rw } from '../kernel/mm/process_vm_access.js';
import { mem_rw, type MemRwStop } from '../kernel/fs/proc/base.js';
import type { KCtx } from '../kernel/ctx.js';
import { ModelBug } from '../model/bug.js';
import { task_alive } from '../model/mm_types.js';
import {
  type KState,
  TH_STOP_END,
  TH_TASK,
  TH_OP,
  TH_MM,
  TH_VA,
  TH_N,
  TH_I,
  TH_FOLL,
  TH_TRIES,
  TH_DONE,
  THOP_MEM_WRITE,
} from '../model/layout.js';
import { thread_get, thread_set, thread_base } from '../model/threads.js';
import { fill_words } from '../model/layout.js';

/** `offset` and `bytes`: a write of part of the range, from its first byte (both in bytes). */
const byteArgs = { offset: z.number().int().min(0).optional(), bytes: z.number().int().min(1).optional() };

/**
 * The pages a write of `bytes` bytes from byte `offset` of the range reaches,
 * and where in the first of them it starts (`lo`; `len` 0: whole pages).
 */
function byteRange(
  a: { at: RegionRef; offset?: number; bytes?: number },
  cx: ResolveCx,
): { start: number; pages: number; lo: number; len: number } {
  const r = cx.range(a.at);
  if (a.offset === undefined && a.bytes === undefined) return { ...r, lo: 0, len: 0 };
  const total = r.pages * PAGE_BYTES;
  const off = a.offset ?? 0;
  const len = a.bytes ?? total - off;
  if (off + len > total || len < 1)
    cx.fail(
      `offset ${off} and bytes ${len} reach past the ${r.pages} page(s) of the range (${total} bytes): expected offset + bytes <= ${total}`,
    );
  const first = Math.floor(off / PAGE_BYTES);
  const lo = off % PAGE_BYTES;
  // whole pages after all: the plain transfer
  if (lo === 0 && len % PAGE_BYTES === 0) return { start: r.start + first, pages: len / PAGE_BYTES, lo: 0, len: 0 };
  return { start: r.start + first, pages: transfer_pages(0, lo, len), lo, len };
}

/** The offset and bytes a step is written with (relative to its first page). */
const printBytes = (m: { lo: number; len: number }) => (m.len ? { offset: m.lo, bytes: m.len } : {});

const fuzzRemote = (op: string) => ({
  host: true,
  onRegion: true,
  gen: (c: { c: number }, x: { others: readonly string[]; at: string; pick<T>(xs: readonly T[], i: number): T }) =>
    x.others.length ? { [op]: x.at, target: x.pick(x.others, c.c) } : null,
});

export const processVmReadv = defineOp({
  name: 'process-vm-readv',
  doc: "process_vm_readv(): R/O FOLL_PIN of the target's pages, copied, unpinned",
  primary: 'at',
  hugetlb: true,
  args: { at: region, target: name },
  resolve: (a, cx) => ({ ...cx.range(a.at), target: cx.task(a.target, 'target') }),
  print: (m, cx) => ({ 'process-vm-readv': cx.range(m), target: cx.task(m.target) }),
  range: (m) => m,
  apply(s, ctx, t, m) {
    const r = process_vm_rw(s, ctx, t, m.target, m.start, m.pages, false);
    return typeof r === 'number' ? ok(r) : ok(r.pages, r.wids);
  },
  exec: { args: ['target', 'start', 'pages'], encode: (m) => [m.target, m.start, m.pages] },
  fuzz: fuzzRemote('process-vm-readv'),
});

export const processVmWritev = defineOp({
  name: 'process-vm-writev',
  doc: "process_vm_writev(): FOLL_PIN|FOLL_WRITE of the target's pages; `offset` and `bytes` write part of the range (a transfer smaller than a page, or across a page boundary): the pages it reaches are pinned, and only its bytes change; a later read sees `sees: A+B` (docs: Expectations)",
  primary: 'at',
  hugetlb: true,
  args: { at: region, target: name, ...byteArgs },
  resolve: (a, cx) => ({ ...byteRange(a, cx), target: cx.task(a.target, 'target') }),
  print: (m, cx) => ({ 'process-vm-writev': cx.range(m), target: cx.task(m.target), ...printBytes(m) }),
  range: (m) => m,
  apply(s, ctx, t, m) {
    const r = process_vm_rw(s, ctx, t, m.target, m.start, m.pages, true, m);
    return typeof r === 'number' ? ok(r) : ok(r.pages, r.wids);
  },
  exec: {
    args: ['target', 'start', 'pages', 'tag', 'offset', 'bytes'],
    encode: (m, step) => [m.target, m.start, m.pages, step, m.lo, m.len],
  },
  fuzz: fuzzRemote('process-vm-writev'),
});

export const procMemRead = defineOp({
  name: 'proc-mem-read',
  doc: 'read of /proc/PID/mem: FOLL_GET|FOLL_FORCE',
  primary: 'at',
  hugetlb: true,
  args: { at: region, target: name },
  resolve: (a, cx) => ({ ...cx.range(a.at), target: cx.task(a.target, 'target') }),
  print: (m, cx) => ({ 'proc-mem-read': cx.range(m), target: cx.task(m.target) }),
  range: (m) => m,
  apply(s, ctx, t, m) {
    const r = mem_rw(s, ctx, t, m.target, m.start, m.pages, false);
    return typeof r === 'number' ? ok(r) : 'pages' in r ? ok(r.pages, r.wids) : ok(0);
  },
  exec: { args: ['target', 'start', 'pages'], encode: (m) => [m.target, m.start, m.pages] },
  fuzz: fuzzRemote('proc-mem-read'),
});

export const procMemWrite = defineOp({
  name: 'proc-mem-write',
  doc: "write of /proc/PID/mem: FOLL_GET|FOLL_FORCE|FOLL_WRITE; `offset` and `bytes` write part of the range (a transfer smaller than a page, or across a page boundary: __access_remote_vm() copies page by page); stop: gup-retry stops the acting thread in __get_user_pages() after its first fault, before the retried lookup (the cond_resched() window of Dirty COW), holding the target's mmap_lock for read, until its `resume` (model only)",
  primary: 'at',
  hugetlb: true,
  args: { at: region, target: name, stop: z.literal('gup-retry').optional(), ...byteArgs },
  resolve(a, cx) {
    const m = { ...byteRange(a, cx), target: cx.task(a.target, 'target'), stop: a.stop !== undefined };
    // (a stopped write keeps its place in the thread's record, which has no room for a byte range)
    if (m.stop && m.len !== 0) cx.fail('stop: gup-retry writes whole pages (no offset or bytes)');
    if (m.stop) cx.stop('gup-retry');
    return m;
  },
  print: (m, cx) => ({
    'proc-mem-write': cx.range(m),
    target: cx.task(m.target),
    ...(m.stop ? { stop: 'gup-retry' } : {}),
    ...printBytes(m),
  }),
  range: (m) => m,
  apply(s, ctx, t, m) {
    return memWriteResult(s, ctx, t, mem_rw(s, ctx, t, m.target, m.start, m.pages, true, m.stop, undefined, m));
  },
  exec: {
    args: ['target', 'start', 'pages', 'tag', 'offset', 'bytes'],
    encode: (m, step) => [m.target, m.start, m.pages, step, m.lo, m.len],
    blocker: (m) =>
      m.stop ? 'stops inside GUP between a fault and its retry: user space cannot hold that window open (model only)' : null,
  },
  fuzz: fuzzRemote('proc-mem-write'),
  explore: [
    perPage(
      'proc-mem-write',
      135,
      "a write of another process's page through /proc/PID/mem (FOLL_FORCE); with threads, it stops after each GUP fault",
      (t, pg, x) =>
        Array.from({ length: x.processes }, (_, target) => ({
          t,
          args: () => ({ 'proc-mem-write': pg.ref, target: x.proc(target), ...(x.threads > 1 ? { stop: 'gup-retry' } : {}) }),
          enabled: (s: KState) => task_alive(s, target),
        })),
    ),
  ],
});

/** A /proc/PID/mem write's result: pages written, an errno, or its stop in a window (kept in the thread's record). */
function memWriteResult(s: KState, ctx: KCtx, t: number, r: ReturnType<typeof mem_rw>): StepResult {
  if (typeof r === 'number') return ok(r);
  if ('pages' in r) return ok(r.pages, r.wids);
  const th = ctx.thread;
  if (th < 0) throw new ModelBug('a /proc/PID/mem write stopped in a state without thread records');
  if (thread_get(s, th, TH_TASK) === 0) thread_set(s, th, TH_TASK, t + 1);
  thread_set(s, th, TH_OP, THOP_MEM_WRITE);
  thread_set(s, th, TH_MM, r.target);
  thread_set(s, th, TH_VA, r.va);
  thread_set(s, th, TH_N, r.n);
  thread_set(s, th, TH_I, r.i);
  thread_set(s, th, TH_FOLL, r.cur.foll);
  thread_set(s, th, TH_TRIES, r.cur.tries | (r.cur.tried ? TRIED : 0));
  thread_set(s, th, TH_DONE, r.done);
  ctx.stopped = true;
  return ok(0);
}

/** TH_TRIES bit: FAULT_FLAG_TRIED is due (the fault dropped mmap_lock once) */
const TRIED = 1 << 16;

/** Goes on with the /proc/PID/mem write thread slot `th` stopped (`resume`); `stop`: at the next window too. */
export function mem_write_resume(s: KState, ctx: KCtx, t: number, th: number, stop: boolean): StepResult {
  const tries = thread_get(s, th, TH_TRIES);
  const from: MemRwStop = {
    target: thread_get(s, th, TH_MM),
    va: thread_get(s, th, TH_VA),
    n: thread_get(s, th, TH_N),
    i: thread_get(s, th, TH_I),
    cur: { foll: thread_get(s, th, TH_FOLL), tries: tries & (TRIED - 1), tried: (tries & TRIED) !== 0 },
    done: thread_get(s, th, TH_DONE),
  };
  fill_words(s, 0, thread_base(s, th) + TH_OP, thread_base(s, th) + TH_STOP_END);
  return memWriteResult(s, ctx, t, mem_rw(s, ctx, t, from.target, from.va, from.n, true, stop, from));
}
