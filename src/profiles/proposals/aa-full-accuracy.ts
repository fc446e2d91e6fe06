/**
 * Andrea Arcangeli's "mm: restore full accuracy in COW page reuse" (9 Jan
 * 2021) with the next step his cover letter announced: re-apply the 5.8
 * COW break on read GUP. Readings: docs/history/proposals.md section 2.
 */
import { derive } from '../derive.js';
import { linux_5_11 } from '../history/linux-5.11.js';

export const aa_full_accuracy = derive(linux_5_11, {
  id: 'aa-full-accuracy',
  title: 'Proposal: Andrea Arcangeli, full-accuracy mapcount reuse + COW break on read GUP (Jan 2021)',
  commits: [
    '[PATCH 1/1] mm: restore full accuracy in COW page reuse, 20210110004435.26382-2-aarcange@redhat.com (reverts 09854ba94c6a, be068f29034f, 1a0cf26323c8)',
    'cover letter 20210110004435.26382-1: "the next step is to re-apply 17839856fd58"',
    'choice: fork unchanged (copies maybe-FOLL_PIN pages only); the announced "extend the copy to all GUP pins" has no detector: see examples/profiles/aa-fork-copies-all-gup.mjs',
    'choice: clear_refs and reclaim keep 5.11-rc4 behaviour (the patch leaves them alone)',
  ],
  summary:
    'do_wp_page goes back to reuse_swap_page (mapcount + swapcount, lock_page sleeps): GUP references never force a copy, so write-protecting a pinned page is harmless; ' +
    'every GUP on a COW mapping is made a write (17839856fd58 re-applied) so a reader owns what it references.',
  mech: { cow: { reuse: 'mapcount' }, gup: { readBreaksCow: true } },
});
