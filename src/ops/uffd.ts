/** userfaultfd write-protection (fs/userfaultfd.c, mm/userfaultfd.c). */
import { z } from 'zod';
import { defineOp, ok } from './types.js';
import { region } from './args.js';
import {
  userfaultfd_open,
  userfaultfd_register,
  userfaultfd_writeprotect,
  userfaultfd_writeprotect_resume,
  type DeferredWriteprotect,
} from '../kernel/mm/userfaultfd.js';
import { perPage, always } from './explore.js';
import { thread_stop, thread_take, DF_WRITE_LOCK } from '../model/threads.js';
import { ModelBug } from '../model/bug.js';
import type { KState } from '../model/layout.js';
import type { KCtx } from '../kernel/ctx.js';
import type { StepResult } from './types.js';
import { task_uffd } from '../model/mm_types.js';
import { UFFD_CTX_OPEN, UFFD_FEATURE_WP_ASYNC, UFFD_FEATURE_WP_UNPOPULATED, THOP_DEFERRED_FLUSH } from '../model/layout.js';
import { EBADF } from '../kernel/errno.js';
import type { Profile } from '../profiles/types.js';
import type { FuzzSpec } from './types.js';

const lacks = (p: Profile): string | null => (p.mech.uffd.wp ? null : `${p.id} has no uffd-wp for anonymous memory (5.7)`);

const FEATURES = { 'wp-unpopulated': UFFD_FEATURE_WP_UNPOPULATED, 'wp-async': UFFD_FEATURE_WP_ASYNC } as const;

export const uffd = defineOp({
  name: 'uffd',
  doc: 'userfaultfd() + UFFDIO_API (features: wp-unpopulated, wp-async); a monitor thread resolves write-protect faults. `user-mode-only: true` opens it with UFFD_USER_MODE_ONLY (5.11: faults the kernel takes for the process, as GUP does, are not delivered: SIGBUS to the fault, EFAULT to the caller); `via: dev` opens it through /dev/userfaultfd (USERFAULTFD_IOC_NEW, 6.1) instead of the syscall',
  primary: 'features',
  args: {
    features: z.array(z.enum(['wp-unpopulated', 'wp-async'])).default([]),
    'user-mode-only': z.boolean().default(false),
    via: z.enum(['syscall', 'dev']).default('syscall'),
  },
  requires: ['uffd'],
  resolve: (a) => ({
    features: a.features.reduce((f, n) => f | FEATURES[n], 0),
    userModeOnly: a['user-mode-only'],
    dev: a.via === 'dev',
  }),
  print: (m) => ({
    uffd: (Object.keys(FEATURES) as (keyof typeof FEATURES)[]).filter((n) => m.features & FEATURES[n]),
    ...(m.userModeOnly ? { 'user-mode-only': true } : {}),
    ...(m.dev ? { via: 'dev' } : {}),
  }),
  apply: (s, ctx, t, m) => ok(userfaultfd_open(s, ctx, t, m.features, { userModeOnly: m.userModeOnly, dev: m.dev })),
  lacks,
  exec: {
    // bits: 1 WP_UNPOPULATED, 2 WP_ASYNC, 4 UFFD_USER_MODE_ONLY, 8 through /dev/userfaultfd
    args: ['features'],
    encode: (m) => [
      (m.features & UFFD_FEATURE_WP_UNPOPULATED ? 1 : 0) |
        (m.features & UFFD_FEATURE_WP_ASYNC ? 2 : 0) |
        (m.userModeOnly ? 4 : 0) |
        (m.dev ? 8 : 0),
    ],
  },
  fuzz: {
    host: true,
    onRegion: false,
    gen: (c, x) => (x.hasUffd(true) ? null : { uffd: x.pick([[], ['wp-unpopulated'], ['wp-async']], c.c) }),
  },
});

const fuzzUffd = (op: string, weight = 1): FuzzSpec => ({
  weight,
  host: true,
  onRegion: true,
  gen: (_c, x) => (!x.hasUffd(false) || x.region.kind === 'memfd' ? null : { [op]: x.at }),
});

export const uffdRegister = defineOp({
  name: 'uffd-register',
  doc: 'UFFDIO_REGISTER with UFFDIO_REGISTER_MODE_WP',
  primary: 'at',
  args: { at: region },
  requires: ['uffd'],
  resolve: (a, cx) => cx.range(a.at),
  print: (m, cx) => ({ 'uffd-register': cx.range(m) }),
  range: (m) => m,
  apply: (s, ctx, t, m) => ok(userfaultfd_register(s, ctx, t, m.start, m.start + m.pages)),
  mmapWrite: true,
  lacks,
  exec: { args: ['start', 'pages'], encode: (m) => [m.start, m.pages] },
  fuzz: fuzzUffd('uffd-register'),
});

const wp = <const N extends 'uffd-wp' | 'uffd-unwp'>(opName: N, on: boolean, doc: string, weight: number) =>
  defineOp({
    name: opName,
    doc: `${doc}. \`stop: deferred-flush\` (model only): the ioctl stops after change_protection() rewrote the PTEs of its first VMA, before the TLB flush, holding mmap_lock for read: mm_tlb_flush_pending() is true and another thread's CPU may still store through a writable TLB entry (the threads' TLBs are modelled in such a scenario); its \`resume\` flushes and finishes`,
    primary: 'at',
    args: { at: region, stop: z.literal('deferred-flush').optional() },
    requires: ['uffd'],
    resolve(a, cx) {
      if (a.stop !== undefined) cx.stop('deferred-flush');
      return { ...cx.range(a.at), stop: a.stop !== undefined };
    },
    print: (m, cx) => ({ [opName]: cx.range(m), ...(m.stop ? { stop: 'deferred-flush' } : {}) }),
    range: (m) => m,
    apply(s, ctx, t, m) {
      if ((task_uffd(s, t) & UFFD_CTX_OPEN) === 0) return ok(-EBADF);
      if (!m.stop) return ok(userfaultfd_writeprotect(s, ctx, t, m.start, m.start + m.pages, on));
      ctx.flushHold = true;
      const r = userfaultfd_writeprotect(s, ctx, t, m.start, m.start + m.pages, on);
      ctx.flushHold = false;
      const d = ctx.deferredFlush;
      return d ? deferredFlushStopped(s, ctx, t, d) : ok(r);
    },
    lacks,
    exec: { args: ['start', 'pages'], encode: (m) => [m.start, m.pages], blocker: (m) => (m.stop ? DEFERRED_FLUSH_MODEL_ONLY : null) },
    fuzz: fuzzUffd(opName, weight),
    explore: [
      perPage(opName, on ? 130 : 131, `${doc} of one page; with threads, it stops before its TLB flush`, (t, pg, x) => [
        { t, args: () => ({ [opName]: pg.ref, ...(x.threads > 1 ? { stop: 'deferred-flush' } : {}) }), enabled: always },
      ]),
    ],
  });

const DEFERRED_FLUSH_MODEL_ONLY =
  "stops inside the kernel before a TLB flush: user space cannot hold that window, nor see another CPU's TLB (model only)";

/** TH_I of THOP_DEFERRED_FLUSH: a clear_refs soft-dirty walk (0 and 1: UFFDIO_WRITEPROTECT un-protect, protect) */
const DF_CLEAR_REFS = 2;
/** TH_DONE bits of THOP_DEFERRED_FLUSH */
const DF_ENOENT = 1;

/** UFFDIO_WRITEPROTECT or clear_refs stopped before its TLB flush: the acting thread's record keeps what is left. */
export function deferredFlushStopped(s: KState, ctx: KCtx, t: number, d: DeferredWriteprotect): StepResult {
  if (ctx.thread < 0) throw new ModelBug('a page-table walk stopped before its flush in a state without thread records');
  thread_stop(s, ctx.thread, t, {
    op: THOP_DEFERRED_FLUSH,
    mm: t,
    va: d.start,
    n: d.end - d.start,
    i: d.clearRefs ? DF_CLEAR_REFS : d.wp ? 1 : 0,
    foll: d.rest,
    tries: d.restEnd,
    done: (d.enoent ? DF_ENOENT : 0) | (d.writeLock ? DF_WRITE_LOCK : 0),
  });
  ctx.stopped = true;
  return ok(0);
}

/** The UFFDIO_WRITEPROTECT (or clear_refs) thread slot `th` stopped before its flush goes on (`resume`). */
export function writeprotect_resume_thread(s: KState, ctx: KCtx, t: number, th: number): StepResult {
  const r = thread_take(s, th);
  return ok(
    userfaultfd_writeprotect_resume(s, ctx, {
      mm: r.mm,
      start: r.va,
      end: r.va + r.n,
      wp: r.i !== 0,
      rest: r.foll,
      restEnd: r.tries,
      enoent: (r.done & DF_ENOENT) !== 0,
      clearRefs: r.i === DF_CLEAR_REFS,
      writeLock: (r.done & DF_WRITE_LOCK) !== 0,
    }),
  );
}

export const uffdWp = wp('uffd-wp', true, 'UFFDIO_WRITEPROTECT mode WP', 2);
export const uffdUnwp = wp(
  'uffd-unwp',
  false,
  'UFFDIO_WRITEPROTECT mode 0: unprotects, and wakes the faults waiting there (a `write` stopped with stop: uffd goes on at its `resume`)',
  1,
);
