/**
 * The bits of /proc/PID/pagemap entries and /proc/kpageflags words
 * (Documentation/admin-guide/mm/pagemap.rst, include/uapi/linux/kernel-page-flags.h):
 * defined once, for the comparison with the kernel and for the C executor
 * (the generated cowlab-ops.h carries them as PM_* and KPF_*).
 */

/** pagemap entry bits */
export const PAGEMAP_BITS = {
  PRESENT: 63,
  SWAP: 62,
  FILE: 61,
  UFFD_WP: 57,
  MMAP_EXCLUSIVE: 56,
  SOFT_DIRTY: 55,
  /** the PFN occupies bits 0..54 */
  PFN_BITS: 55,
} as const;

/** /proc/kpageflags bits */
export const KPF_BITS = {
  ANON: 12,
  SWAPCACHE: 13,
  COMPOUND_HEAD: 15,
  COMPOUND_TAIL: 16,
  HUGE: 17,
  KSM: 21,
  THP: 22,
  ZERO_PAGE: 24,
  /** PG_mappedtodisk, which is PG_anon_exclusive on anonymous pages (78fbe906cc90) */
  MAPPEDTODISK: 34,
} as const;
