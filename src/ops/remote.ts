/** Access to another process's memory: process_vm_readv/writev (mm/process_vm_access.c) and /proc/PID/mem (fs/proc/base.c). */
import { z } from 'zod';
import { defineOp, ok } from './types.js';
import { region, name } from './args.js';
import { process_vm_rw } from '../kernel/mm/process_vm_access.js';
import { mem_rw } from '../kernel/fs/proc/base.js';
import { do_madvise } from '../kernel/mm/madvise.js';
import { pmd_nr } from '../model/mm_types.js';
import { __get_user_pages, gup_put_folio, FOLL_GET, FOLL_FORCE, FOLL_TOUCH, FOLL_REMOTE } from '../kernel/mm/gup.js';

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
  doc: "process_vm_writev(): FOLL_PIN|FOLL_WRITE of the target's pages",
  primary: 'at',
  hugetlb: true,
  args: { at: region, target: name },
  resolve: (a, cx) => ({ ...cx.range(a.at), target: cx.task(a.target, 'target') }),
  print: (m, cx) => ({ 'process-vm-writev': cx.range(m), target: cx.task(m.target) }),
  range: (m) => m,
  apply(s, ctx, t, m) {
    const r = process_vm_rw(s, ctx, t, m.target, m.start, m.pages, true);
    return typeof r === 'number' ? ok(r) : ok(r.pages, r.wids);
  },
  exec: { args: ['target', 'start', 'pages', 'tag'], encode: (m, step) => [m.target, m.start, m.pages, step] },
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
    return typeof r === 'number' ? ok(r) : ok(r.pages, r.wids);
  },
  exec: { args: ['target', 'start', 'pages'], encode: (m) => [m.target, m.start, m.pages] },
  fuzz: fuzzRemote('proc-mem-read'),
});

export const procMemWrite = defineOp({
  name: 'proc-mem-write',
  doc: "write of /proc/PID/mem: FOLL_GET|FOLL_FORCE|FOLL_WRITE; race: dontneed puts a MADV_DONTNEED of the target's page inside GUP's fault/retry window (Dirty COW), huge-dirty-cow a MADV_DONTNEED of the whole PMD range and a read of the page through GUP (FOLL_TOUCH), as the Huge Dirty COW exploit's threads do (model only)",
  primary: 'at',
  hugetlb: true,
  args: { at: region, target: name, race: z.enum(['dontneed', 'huge-dirty-cow']).optional() },
  resolve(a, cx) {
    const m = {
      ...cx.range(a.at),
      target: cx.task(a.target, 'target'),
      raceDontneed: a.race === 'dontneed' || a.race === 'huge-dirty-cow',
      raceHuge: a.race === 'huge-dirty-cow',
    };
    if (m.raceDontneed) cx.need('model-only');
    return m;
  },
  print: (m, cx) => ({
    'proc-mem-write': cx.range(m),
    target: cx.task(m.target),
    ...(m.raceDontneed ? { race: m.raceHuge ? 'huge-dirty-cow' : 'dontneed' } : {}),
  }),
  range: (m) => m,
  apply(s, ctx, t, m) {
    // a thread of the target doing MADV_DONTNEED inside GUP's fault/retry window (Dirty COW)
    const race = m.raceDontneed
      ? (va: number) => {
          const n = m.raceHuge && pmd_nr(s) > 0 ? pmd_nr(s) : 1;
          const lo = va - (va % n);
          do_madvise(s, ctx, m.target, lo, lo + n, 'MADV_DONTNEED');
          if (m.raceHuge) {
            // another thread reads the page through /proc/PID/mem: a read fault maps the huge zero page, touch_pmd() marks it
            const rd = __get_user_pages(ctx, s, m.target, va, 1, FOLL_GET | FOLL_FORCE | FOLL_TOUCH | FOLL_REMOTE);
            for (const p of rd.pfns) gup_put_folio(ctx, s, p, FOLL_GET);
          }
        }
      : undefined;
    const r = mem_rw(s, ctx, t, m.target, m.start, m.pages, true, race);
    return typeof r === 'number' ? ok(r) : ok(r.pages, r.wids);
  },
  exec: {
    args: ['target', 'start', 'pages', 'tag'],
    encode: (m, step) => [m.target, m.start, m.pages, step],
    blocker: (m) => (m.raceDontneed ? 'races MADV_DONTNEED inside GUP (model only)' : null),
  },
  fuzz: fuzzRemote('proc-mem-write'),
});
