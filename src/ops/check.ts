/** No operation: the step only checks the pages against its expectations. */
import { defineOp, ok } from './types.js';
import { region } from './args.js';

export const check = defineOp({
  name: 'check',
  hugetlb: true,
  doc: 'no operation: check the page state against the expectations',
  primary: 'at',
  args: { at: region },
  resolve: (a, cx) => cx.range(a.at),
  print: (m, cx) => ({ check: cx.range(m) }),
  range: (m) => m,
  apply: () => ok(),
  exec: { args: [], encode: () => [] },
  fuzz: { host: true, onRegion: true, gen: (_c, x) => ({ check: x.at }) },
});
