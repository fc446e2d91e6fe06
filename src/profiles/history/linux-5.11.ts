/** linux-5.11: Linus' answers in the January 2021 thread, and the gup-fast/fork seqcount. */
import { derive } from '../derive.js';
import { linux_5_9 } from './linux-5.9.js';

export const linux_5_11 = derive(linux_5_9, {
  id: 'linux-5.11',
  title: 'Linux 5.11 (clear_refs skips pinned pages, pinned pages kept out of swap, gup-fast vs fork)',
  commits: [
    '57efa1fe5957 mm/gup: prevent gup_fast from racing with COW during fork',
    "9348b73c2e1b mm: don't play games with pinned pages in clear_page_refs",
    "feb889fb40fa mm: don't put pinned pages into the swap cache",
    '29a951dfb3c3 mm: fix clear_refs_write locking: soft-dirty clearing holds mmap_lock for write until its TLB flush',
    '37cd0575b851 userfaultfd: add UFFD_USER_MODE_ONLY',
    'de2939388be5 io_uring: improve registered buffer accounting for huge pages (5.10): a compound folio is charged whole, once',
  ],
  summary:
    'fork holds write_protect_seq so a racing GUP-fast pin falls back to the slow path; clear_refs soft-dirty leaves writable PTEs of maybe-pinned pages alone; ' +
    'reclaim does not add maybe-pinned pages to the swap cache.',
  mech: {
    fork: { writeProtectSeq: true },
    wrprotect: { clearRefsSkipsPinned: true, clearRefsWriteLock: true },
    swap: { swapoutPinned: 'skip-maybe-pinned' },
    uffd: { userModeOnly: true },
    gup: { iouringAcctFolios: true },
  },
});
