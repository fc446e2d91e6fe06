// Linus Torvalds' rule (c) read the other way (docs/history/proposals.md
// B.7, choice 1): mprotect(PROT_READ) does not fail on a pinned page, it
// leaves that PTE writable, "the way my clear_refs patch did" (9 Jan 2021).
// A TypeScript profile: cowlab transpiles it when loading.
//
//   cowlab matrix --kernels linus-rules --profile examples/profiles/linus-rules-mprotect-skip.ts
import { derive, profileById, type Profile } from 'cowlab';

const profile: Profile = derive(profileById('linus-rules'), {
  id: 'linus-rules-mprotect-skip',
  title: 'Linus Torvalds, rules (a)-(d), mprotect skips pinned pages instead of failing',
  commits: ['CAHk-=wg3zWaXaKN1N=... (9 Jan 2021): "Do we just ignore the pinned page ... Or do we turn it into -EBUSY?"'],
  summary: 'linus-rules with mprotect(PROT_READ) leaving maybe-pinned writable PTEs writable (no error).',
  mech: { wrprotect: { mprotectPinned: 'skip' } },
});

export default profile;
