/**
 * John Hubbard's split of the page refcount into GUP fields (11 Jan 2021,
 * 45806a5a-65c2-67ce-fc92-dc8c2144d766@nvidia.com): FOLL_PIN and FOLL_GET
 * each in a 4-bit field. Readings: docs/history/proposals.md section 4.
 */
import { derive } from '../derive.js';
import { linux_5_11 } from '../history/linux-5.11.js';

export const hubbard_split = derive(linux_5_11, {
  id: 'hubbard-split',
  title: 'Proposal: John Hubbard, separate FOLL_PIN and FOLL_GET fields in the refcount (Jan 2021)',
  commits: [
    'DMA_PIN_COUNTING_BIAS (1 << 23) for FOLL_PIN, GUP_PIN_COUNTING_BIAS (1 << 27) for FOLL_GET, 4 bits each: pin detection is exact',
    'choice: the 16th pin or get of one page fails with -EAGAIN (David Hildenbrand, 15 Jan; John gives no errno)',
    'point 2: "failing mprotect calls if page_likely_dma_pinned() returns true": mprotect(PROT_READ) of a pinned page fails with -EBUSY (choice of errno)',
    "not modelled: David's R/O vs R/W field variant (no rule in the thread uses it)",
  ],
  summary:
    'Reuse is unchanged (page_count() == 1 over all fields); pins are detected exactly (no 1024-reference false positives); ' +
    'a page takes at most 15 pins and 15 gets; mprotect refuses to write-protect a pinned page.',
  mech: { gup: { pinCounting: 'split' }, wrprotect: { mprotectPinned: 'ebusy' } },
});
