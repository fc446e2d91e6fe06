/** User stores filling each page (write faults, do_wp_page). */
import { z } from 'zod';
import { defineOp } from './types.js';
import { region } from './args.js';
import { memAccess, ZERO_WRITE } from './access.js';
import { always, perPage } from './explore.js';

/** The largest value a write may carry. */
export const VALUE_MAX = 1_000_000;
/** The executor's tag of a value write: this bit plus the value (a step tag never has it; tag_of() in executor/ops.c). */
export const VALUE_TAG = 0x40000000;

export const write = defineOp({
  name: 'write',
  hugetlb: true,
  doc: 'user stores filling each page (write faults, do_wp_page); with `value: N` every page gets the same content N, so that KSM can merge pages written with equal values; `value: 0` stores zero bytes (the page is written, its content is zero-filled)',
  primary: 'at',
  args: { at: region, value: z.number().int().min(0).max(VALUE_MAX).optional() },
  resolve: (a, cx) => ({ ...cx.range(a.at), value: a.value === 0 ? ZERO_WRITE : (a.value ?? 0) }),
  print: (m, cx) => (m.value ? { write: cx.range(m), value: m.value === ZERO_WRITE ? 0 : m.value } : { write: cx.range(m) }),
  range: (m) => m,
  apply: (s, ctx, t, m) => memAccess(s, ctx, t, m.start, m.pages, true, m.value),
  exec: {
    args: ['start', 'pages', 'tag'],
    encode: (m, step) => [m.start, m.pages, m.value === ZERO_WRITE ? 0 : m.value ? VALUE_TAG + m.value : step],
  },
  fuzz: {
    weight: 6,
    host: true,
    onRegion: true,
    // one write in four carries a value from a small set (0: zero bytes), so that equal pages exist for KSM
    gen: (c, x) => (c.c % 4 === 3 ? { write: x.at, value: c.b % 3 } : { write: x.at }),
  },
  explore: [perPage('write', 20, 'a store filling one page', (t, pg) => [{ t, args: () => ({ write: pg.ref }), enabled: always }])],
});
