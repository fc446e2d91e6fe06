/**
 * Linus Torvalds' "already exclusive" page bit (10 Jan 2021,
 * CAHk-=wgi31FKc9AL6m8...): "I already made this exclusive, and fork() will
 * keep it so". Readings: docs/history/proposals.md section 5 (D.1).
 */
import { derive } from '../derive.js';
import { linux_5_11 } from '../history/linux-5.11.js';

export const linus_exclusive_bit = derive(linux_5_11, {
  id: 'linus-exclusive-bit',
  title: 'Proposal: Linus Torvalds, a page bit "already made exclusive, fork keeps it so" (Jan 2021)',
  commits: [
    'set by GUP that writes or pins an anon page mapped writable ("a regular non-pinning write-GUP just always set it"; pins derived)',
    'a write fault reuses a page with the bit whatever its refcount; else the 5.9 page_count rule',
    'fork copies a page with the bit for the child ("fork() will keep it so", derived)',
    'choice: reclaim clears the bit (unspecified; conservative as 5.19)',
  ],
  summary:
    'A page GUP made exclusive stays exclusive: write-protecting it (mprotect, clear_refs, uffd-wp) no longer forces a copy, and fork copies it for the child; ' +
    'pages GUP never touched keep the page_count rule. R/O pins are not covered.',
  mech: { cow: { exclusive: 'gup-marked' }, fork: { copyMarked: true } },
});
