/** io_uring: the ring, registered (pinned) fixed buffers, and fixed reads and writes (io_uring/rsrc.c). */
import { defineOp, ok } from './types.js';
import { region, fileArgs } from './args.js';
import {
  io_uring_setup,
  io_sqe_buffers_register,
  io_sqe_buffers_unregister,
  io_read_fixed,
  io_write_fixed,
} from '../kernel/io_uring/rsrc.js';
import type { Profile } from '../profiles/types.js';

const lacks = (p: Profile): string | null => (p.mech.features.ioUring ? null : `${p.id} has no io_uring (5.1)`);

export const ioUringSetup = defineOp({
  name: 'io-uring-setup',
  doc: 'io_uring_setup() (one ring per process); in an unprivileged process (after setuid) the ring charges its user against RLIMIT_MEMLOCK',
  primary: null,
  args: {},
  requires: ['io_uring'],
  resolve(_a, cx) {
    cx.newRing();
    return {};
  },
  print: () => 'io-uring-setup',
  apply: (s, ctx, t) => ok(io_uring_setup(s, ctx, t)),
  lacks,
  exec: { args: [], encode: () => [] },
  fuzz: { host: true, onRegion: false, gen: (_c, x) => (x.hasRing(true) ? null : 'io-uring-setup') },
});

export const ioUringRegister = defineOp({
  name: 'io-uring-register',
  hugetlb: true,
  doc: 'IORING_REGISTER_BUFFERS: FOLL_PIN|FOLL_WRITE|FOLL_LONGTERM of the range (io_sqe_buffers_register)',
  primary: 'at',
  args: { at: region },
  requires: ['io_uring'],
  resolve: (a, cx) => cx.range(a.at),
  print: (m, cx) => ({ 'io-uring-register': cx.range(m) }),
  range: (m) => m,
  refs: (m) => m.pages,
  apply: (s, ctx, t, m) => ok(io_sqe_buffers_register(s, ctx, t, m.start, m.pages)),
  lacks,
  exec: { args: ['start', 'pages'], encode: (m) => [m.start, m.pages] },
  fuzz: { weight: 2, host: true, onRegion: true, gen: (_c, x) => ({ 'io-uring-register': x.at }) },
});

export const ioUringUnregister = defineOp({
  name: 'io-uring-unregister',
  doc: 'IORING_UNREGISTER_BUFFERS: unpin',
  primary: null,
  args: {},
  requires: ['io_uring'],
  resolve: () => ({}),
  print: () => 'io-uring-unregister',
  apply: (s, ctx, t) => ok(io_sqe_buffers_unregister(s, ctx, t)),
  lacks,
  exec: { args: [], encode: () => [] },
  fuzz: { host: true, onRegion: false, gen: () => 'io-uring-unregister' },
});

const fixed = <const N extends 'io-uring-read-fixed' | 'io-uring-write-fixed'>(opName: N, write: boolean, doc: string) =>
  defineOp({
    name: opName,
    doc,
    hugetlb: true,
    primary: 'at',
    args: { at: region, ...fileArgs },
    requires: ['io_uring'],
    resolve: (a, cx) => ({ ...cx.range(a.at), file: cx.file(a.file).id, index: a.offset }),
    print: (m, cx) => ({ [opName]: cx.range(m), file: cx.file(m.file), ...(m.index ? { offset: m.index } : {}) }),
    range: (m) => m,
    apply: (s, ctx, t, m) =>
      ok(
        write ? io_write_fixed(s, ctx, t, m.file, m.index, m.start, m.pages) : io_read_fixed(s, ctx, t, m.file, m.index, m.start, m.pages),
      ),
    lacks,
    exec: { args: ['file', 'index', 'start', 'pages'], encode: (m) => [m.file, m.index, m.start, m.pages] },
    fuzz: { weight: write ? 2 : 1, host: true, onRegion: true, gen: (_c, x) => ({ [opName]: x.at, file: 'ft' }) },
  });

export const ioUringReadFixed = fixed('io-uring-read-fixed', false, 'IORING_OP_READ_FIXED: file data into the pinned pages');
export const ioUringWriteFixed = fixed('io-uring-write-fixed', true, 'IORING_OP_WRITE_FIXED: the pinned pages to the file');
