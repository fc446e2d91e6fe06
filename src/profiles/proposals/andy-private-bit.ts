/**
 * Andy Lutomirski's "this PTE points to a page that is private to the
 * owning VMA" (12 Jan 2021, CALCETrWEAOj28Y6...): exclusivity tracked
 * separately from the write bit. Readings: docs/history/proposals.md (D.2).
 */
import { derive } from '../derive.js';
import { linux_5_11 } from '../history/linux-5.11.js';

export const andy_private_bit = derive(linux_5_11, {
  id: 'andy-private-bit',
  title: 'Proposal: Andy Lutomirski, a "private to this mm" bit kept apart from the write bit (Jan 2021)',
  commits: [
    'the bit is kept on every exclusive anon page (new page, COW copy, reuse), cleared when fork shares the page (derived)',
    'a write fault reuses a private page; else the 5.9 page_count rule, which sets the bit',
    'mprotect only changes the write permission and never fails',
    'choice: reclaim clears the bit, no swap-entry bit (unspecified); R/O GUP unchanged (his "COW waits for a short R/O GUP" idea: "too big a can of worms", not modelled)',
  ],
  summary:
    'Exclusivity survives write-protection (mprotect, clear_refs, uffd-wp): the next write reuses the page, so pins and O_DIRECT stay coherent; ' +
    'fork and R/O GUP are as in 5.11.',
  mech: { cow: { exclusive: 'anon-exclusive' } },
});
