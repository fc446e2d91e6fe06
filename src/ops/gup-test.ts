/**
 * GUP references held by a driver, as gup_test's PIN_LONGTERM_TEST_* takes
 * them (mm/gup_test.c): pins and gets, the device reading or writing
 * through them, and their release. This host has no CONFIG_GUP_TEST, so
 * these are model-only.
 */
import { z } from 'zod';
import { defineOp, ok, type ExploreFamily, type ExplorePage, type ExploreCx, type ActionSpec } from './types.js';
import { region, name } from './args.js';
import { gup_test_start, gup_test_fast_resume, gup_test_read, gup_test_write, gup_test_stop } from '../kernel/drivers/gup_test.js';
import { GUP_FAST_STOPPED } from '../kernel/mm/gup.js';
import { THOP_GUP_FAST } from '../model/layout.js';
import { thread_stop, thread_take } from '../model/threads.js';
import { ModelBug } from '../model/bug.js';
import type { ResolveCx } from './types.js';
import type { RegionRef } from '../scenario/types.js';
import { FOLL_PIN, FOLL_GET, FOLL_WRITE, FOLL_LONGTERM } from '../model/mm_types.js';
import { hasHandle } from './explore.js';
import type { Profile } from '../profiles/types.js';
import type { KState } from '../model/layout.js';
import type { KCtx } from '../kernel/ctx.js';

/** `stop: gup-fast`: one page by GUP-fast, on a thread; the window exists where TLB flushes are not IPIs (env tlb-flush). */
function fastStop(a: { stop?: 'gup-fast' | undefined; fast: boolean; at: unknown }, cx: ResolveCx): boolean {
  if (a.stop === undefined) return false;
  if (!a.fast) cx.fail('stop: gup-fast needs fast: true (the slow path takes mmap_lock: no such window)');
  const r = cx.range(a.at as RegionRef);
  if (r.pages !== 1) cx.fail(`stop: gup-fast takes one page (this range has ${r.pages})`);
  cx.stop('gup-fast');
  return true;
}

/**
 * A pin or get: GUP, and the references under the handle; with stop:
 * gup-fast, GUP-fast may stop between its PTE read and its grab (the
 * acting thread's record keeps what it read; src/model/threads.ts).
 */
function gupApply(
  s: KState,
  ctx: KCtx,
  t: number,
  m: { start: number; pages: number; foll: number; fast: boolean; handle: number; stop: boolean },
) {
  ctx.fastStop = m.stop;
  const r = gup_test_start(s, ctx, t, m.start, m.pages, m.foll, m.fast, m.handle);
  ctx.fastStop = false;
  if (r !== GUP_FAST_STOPPED) return ok(r);
  const read = ctx.fastRead!;
  if (ctx.thread < 0) throw new ModelBug('a GUP-fast stopped in a state without thread records');
  thread_stop(s, ctx.thread, t, {
    op: THOP_GUP_FAST,
    mm: t,
    va: read.va,
    n: m.handle,
    i: 0,
    foll: m.foll,
    tries: read.pte,
    done: read.pmd,
  });
  ctx.stopped = true;
  return ok(0);
}

/** The GUP-fast thread slot `th` stopped goes on (`resume`): the grab and the recheck, or the slow path. */
export function gup_fast_resume_thread(s: KState, ctx: KCtx, t: number, th: number) {
  const r = thread_take(s, th);
  return ok(gup_test_fast_resume(s, ctx, t, r.foll, { va: r.va, pte: r.tries, pmd: r.done }, r.n));
}

const NO_GUP_TEST = "takes GUP references directly (needs CONFIG_GUP_TEST's gup_test, which this kernel lacks)";
const noPins = (p: Profile): boolean => !p.mech.features.pinUserPages;

/**
 * An explorer family taking references with `foll` on a page under the
 * handle the explorer names after (process, page, write), followed by the
 * actions on that handle the alphabet has (unpin, pin-read, pin-write).
 */
function gupFamily(
  family: string,
  rank: number,
  doc: string,
  write: boolean,
  step: (ref: string, h: string, x: ExploreCx) => Record<string, unknown>,
  lacks?: (p: Profile) => boolean,
): ExploreFamily {
  return {
    name: family,
    rank,
    doc,
    ...(lacks ? { lacks } : {}),
    perPage(t: number, pg: ExplorePage, x: ExploreCx): ActionSpec[] {
      const hn = x.handle(t, pg, write);
      const h = x.handleId(hn);
      const out: ActionSpec[] = [{ t, args: () => step(pg.ref, hn, x), enabled: (s) => !hasHandle(s, t, h) }];
      for (const then of ['unpin', 'pin-read', 'pin-write']) {
        if (x.has(then)) out.push({ t, args: () => ({ [then]: hn }), enabled: (s) => hasHandle(s, t, h) });
      }
      return out;
    },
  };
}

export const pin = defineOp({
  name: 'pin',
  hugetlb: true,
  doc: 'pin_user_pages(_fast) by a driver, as gup_test PIN_LONGTERM_TEST_START does (fast: GUP-fast runs without mmap_lock, even while a fork of the process is stopped in its window)',
  primary: 'at',
  args: {
    at: region,
    handle: name,
    write: z.boolean().default(false),
    longterm: z.boolean().default(true),
    fast: z.boolean().default(false),
    stop: z.literal('gup-fast').optional(),
  },
  requires: ['gup-test'],
  resolve(a, cx) {
    const foll = FOLL_PIN | (a.write ? FOLL_WRITE : 0) | (a.longterm ? FOLL_LONGTERM : 0);
    return { ...cx.range(a.at), foll, fast: a.fast, handle: cx.handle(a.handle, true), stop: fastStop(a, cx) };
  },
  print: (m, cx) => ({
    pin: cx.range(m),
    handle: cx.handle(m.handle),
    ...(m.foll & FOLL_WRITE ? { write: true } : {}),
    ...(m.foll & FOLL_LONGTERM ? {} : { longterm: false }),
    ...(m.fast ? { fast: true } : {}),
    ...(m.stop ? { stop: 'gup-fast' } : {}),
  }),
  range: (m) => m,
  refs: (m) => m.pages,
  apply: (s, ctx, t, m) => gupApply(s, ctx, t, m),
  lockless: (m) => m.fast,
  lacks: (p) => (noPins(p) ? `${p.id} has no pin_user_pages (5.6)` : null),
  exec: { modelOnly: NO_GUP_TEST },
  fuzz: {
    weight: 2,
    host: false,
    onRegion: true,
    gen: (c, x) => ({ pin: x.at, handle: x.newHandle(), write: c.c % 3 === 0, longterm: c.c % 4 !== 1, fast: c.c % 2 === 1 }),
  },
  explore: [
    gupFamily(
      'pin',
      100,
      'a R/O long-term pin of one page (gup_test), with unpin / pin-read / pin-write of it',
      false,
      (ref, h) => ({ pin: ref, handle: h }),
      noPins,
    ),
    gupFamily('pin-rw', 110, 'a R/W long-term pin of one page', true, (ref, h) => ({ pin: ref, write: true, handle: h }), noPins),
    gupFamily(
      'pin-fast',
      115,
      'a R/W long-term pin of one page by pin_user_pages_fast() (GUP-fast first, as RDMA and io_uring take them)',
      true,
      // where TLB flushes are not IPIs, GUP-fast stops between its PTE read and its grab
      (ref, h, x) => ({
        pin: ref,
        write: true,
        fast: true,
        handle: h,
        ...(x.threads > 1 && x.env.tlbFlush === 'broadcast' ? { stop: 'gup-fast' } : {}),
      }),
      noPins,
    ),
  ],
});

export const get = defineOp({
  name: 'get',
  hugetlb: true,
  doc: 'get_user_pages(_fast) (FOLL_GET) held by a driver',
  primary: 'at',
  args: {
    at: region,
    handle: name,
    write: z.boolean().default(false),
    fast: z.boolean().default(false),
    stop: z.literal('gup-fast').optional(),
  },
  requires: ['gup-test'],
  resolve: (a, cx) => ({
    ...cx.range(a.at),
    foll: FOLL_GET | (a.write ? FOLL_WRITE : 0),
    fast: a.fast,
    handle: cx.handle(a.handle, true),
    stop: fastStop(a, cx),
  }),
  print: (m, cx) => ({
    get: cx.range(m),
    handle: cx.handle(m.handle),
    ...(m.foll & FOLL_WRITE ? { write: true } : {}),
    ...(m.fast ? { fast: true } : {}),
    ...(m.stop ? { stop: 'gup-fast' } : {}),
  }),
  range: (m) => m,
  refs: (m) => m.pages,
  apply: (s, ctx, t, m) => gupApply(s, ctx, t, m),
  lockless: (m) => m.fast,
  exec: { modelOnly: NO_GUP_TEST },
  fuzz: {
    host: false,
    onRegion: true,
    // a long-lived FOLL_GET|FOLL_WRITE reference that a device writes through after fork leaks by design
    // (why FOLL_PIN exists); no 6.18 user-space interface holds one, so the generator takes read ones only
    gen: (c, x) => ({ get: x.at, handle: x.newHandle(), fast: c.c % 2 === 1 }),
  },
  explore: [gupFamily('get', 120, 'a FOLL_GET reference on one page held by a driver', false, (ref, h) => ({ get: ref, handle: h }))],
});

type HandleFn = (s: KState, ctx: KCtx, t: number, handle: number) => number | number[];

const onHandle = <const N extends 'pin-read' | 'pin-write' | 'unpin'>(opName: N, doc: string, weight: number, fn: HandleFn) =>
  defineOp({
    name: opName,
    doc,
    primary: 'handle',
    args: { handle: name },
    requires: ['gup-test'],
    resolve: (a, cx) => ({ handle: cx.handle(a.handle, false) }),
    print: (m, cx) => ({ [opName]: cx.handle(m.handle) }),
    apply(s, ctx, t, m) {
      const r = fn(s, ctx, t, m.handle);
      return typeof r === 'number' ? ok(r) : ok(r.length, r);
    },
    exec: { modelOnly: NO_GUP_TEST },
    fuzz: {
      weight,
      host: false,
      onRegion: false,
      gen: (c, x) => (x.handles().length ? { [opName]: x.pick(x.handles(), c.c) } : null),
    },
    explore: [{ name: opName, rank: 0, doc: `${doc} (with pin, pin-rw or get)`, companion: true }],
  });

export const pinRead = onHandle('pin-read', 'the device reads through the pin (PIN_LONGTERM_TEST_READ)', 2, gup_test_read);
export const pinWrite = onHandle('pin-write', 'the device writes through a FOLL_WRITE pin', 1, gup_test_write);
export const unpin = onHandle('unpin', 'unpin_user_pages / put_page (PIN_LONGTERM_TEST_STOP)', 1, gup_test_stop);
