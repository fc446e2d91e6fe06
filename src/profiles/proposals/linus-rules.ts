/**
 * Linus Torvalds' rules (a)-(d) (11 Jan 2021, CAHk-=wje9r3fREBdZcOu=...),
 * as left after his 12 Jan retraction (the pin bias stays, pins are still
 * "maybe"). Readings and open choices: docs/history/proposals.md section 3.
 */
import { derive } from '../derive.js';
import { linux_5_11 } from '../history/linux-5.11.js';

export const linus_rules = derive(linux_5_11, {
  id: 'linus-rules',
  title: 'Proposal: Linus Torvalds, rules (a)-(d): a writable COW page is reachable only from page tables (Jan 2021)',
  commits: [
    '(a) made writable only with page_count() == 1: also on swap-in (derived: the 5.18 form, swap cache dropped first)',
    '(c) never made read-only unless page_count() == 1: clear_refs and uffd-wp skip maybe-pinned PTEs; mprotect(PROT_READ) fails with -EBUSY (choice, B.7: Linus asked "ignore ... or -EBUSY?")',
    '(c) applied to fork (derived): a writable COW page with references beyond its mappings is copied for the child',
    '(d) no swap cache from a writable COW page: reclaim skips maybe-pinned pages (as feb889fb40fa)',
    'retraction 12 Jan (CAHk-=whxDS7DHHN=...): GUP_PIN_COUNTING_BIAS kept, pins detected by page_maybe_dma_pinned()',
  ],
  summary:
    'The 5.9 page_count rule made an invariant: swap-in maps writable only at refcount 1; nothing write-protects a maybe-pinned writable page ' +
    '(clear_refs and uffd-wp skip it, mprotect(PROT_READ) fails with -EBUSY, reclaim leaves it alone); fork copies a writable page that anything but its mappings references.',
  mech: {
    swap: { swapinReuse: 'refcount' },
    wrprotect: { mprotectPinned: 'ebusy' },
    uffd: { wpPinned: 'skip' },
    fork: { copyReferenced: 'writable' },
  },
});
