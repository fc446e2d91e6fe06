// Andrea Arcangeli's design with the fork step his patch announced but did
// not specify (docs/history/proposals.md A.3, A.7): "the copy in fork() for
// FOLL_LONGTERM also must be extended to all GUP pins including transient
// pins". The kernel cannot tell a FOLL_GET reference from any other, so the
// detector here is the one KSM uses: a page held by more than its mappings
// and the swap cache is copied for the child, on any PTE.
//
//   cowlab matrix --kernels aa-full-accuracy --profile examples/profiles/aa-fork-copies-all-gup.mjs
import { derive, profileById } from 'cowlab';

export default derive(profileById('aa-full-accuracy'), {
  id: 'aa-fork-copies-all-gup',
  title: 'Andrea Arcangeli, full accuracy + COW break on read GUP + fork copies every referenced page',
  commits: ['cover letter 20210110004435.26382-1-aarcange@redhat.com: extend the fork-time copy to all GUP pins'],
  summary: 'aa-full-accuracy, and fork gives the child a copy of any page with references beyond its mappings and the swap cache.',
  mech: { fork: { copyReferenced: 'any' } },
});
