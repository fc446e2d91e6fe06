/**
 * PMD entries, packed into one integer like PTEs (./pte.ts): none (no page
 * table), a page table (the PTEs of the range are in the task's PTE array),
 * a huge mapping of a PMD-order folio (THP), or the huge zero page. The
 * bits have the PTE's meaning and positions, so pte_write() and friends read
 * a huge PMD too; the helpers carry the kernel's pmd_* names.
 */
import type { Pte } from './pte.js';

export type Pmd = number;

const TYPE_MASK = 0x3;
export const PMD_NONE_T = 0;
export const PMD_TABLE_T = 1;
export const PMD_HUGE_T = 2;
export const PMD_HUGE_ZERO_T = 3;

const B_WRITE = 1 << 2;
const B_DIRTY = 1 << 3;
const B_UFFD_WP = 1 << 4;
const B_SOFT_DIRTY = 1 << 5;
const PAYLOAD_SHIFT = 8;

export const PMD_NONE: Pmd = 0;
export const PMD_TABLE: Pmd = PMD_TABLE_T;

export function pmd_none(p: Pmd): boolean {
  return p === PMD_NONE_T;
}
/** A page table: the range is mapped (or not) by PTEs. */
export function pmd_table(p: Pmd): boolean {
  return (p & TYPE_MASK) === PMD_TABLE_T;
}
/** pmd_trans_huge(): a huge mapping, of a THP or the huge zero page. */
export function pmd_trans_huge(p: Pmd): boolean {
  return (p & TYPE_MASK) >= PMD_HUGE_T;
}
/** is_huge_zero_pmd() */
export function is_huge_zero_pmd(p: Pmd): boolean {
  return (p & TYPE_MASK) === PMD_HUGE_ZERO_T;
}
/** A huge PMD mapping the folio whose head is `pfn`. */
export function mk_huge_pmd(pfn: number): Pmd {
  return (pfn << PAYLOAD_SHIFT) | PMD_HUGE_T;
}
/** The huge zero page's PMD (read-only). */
export const HUGE_ZERO_PMD: Pmd = PMD_HUGE_ZERO_T;
/** The head PFN a huge PMD maps (0 for the huge zero page). */
export function pmd_pfn(p: Pmd): number {
  return (p & TYPE_MASK) === PMD_HUGE_T ? p >>> PAYLOAD_SHIFT : 0;
}
export function pmd_write(p: Pmd): boolean {
  return (p & B_WRITE) !== 0;
}
export function pmd_mkwrite(p: Pmd): Pmd {
  return p | B_WRITE;
}
export function pmd_wrprotect(p: Pmd): Pmd {
  return p & ~B_WRITE;
}
export function pmd_dirty(p: Pmd): boolean {
  return (p & B_DIRTY) !== 0;
}
/** x86 pmd_mkdirty(): dirty and soft-dirty together, as for PTEs. */
export function pmd_mkdirty(p: Pmd): Pmd {
  return p | B_DIRTY | B_SOFT_DIRTY;
}
/** What the MMU sets on a store through a writable huge PMD: the dirty bit only. */
export function pmd_mkdirty_hw(p: Pmd): Pmd {
  return p | B_DIRTY;
}
export function pmd_mkclean(p: Pmd): Pmd {
  return p & ~B_DIRTY;
}
export function pmd_uffd_wp(p: Pmd): boolean {
  return (p & B_UFFD_WP) !== 0;
}
export function pmd_mkuffd_wp(p: Pmd): Pmd {
  return (p | B_UFFD_WP) & ~B_WRITE;
}
export function pmd_clear_uffd_wp(p: Pmd): Pmd {
  return p & ~B_UFFD_WP;
}
export function pmd_soft_dirty(p: Pmd): boolean {
  return (p & B_SOFT_DIRTY) !== 0;
}
export function pmd_mksoft_dirty(p: Pmd): Pmd {
  return p | B_SOFT_DIRTY;
}
export function pmd_clear_soft_dirty(p: Pmd): Pmd {
  return p & ~B_SOFT_DIRTY;
}
/** The flag bits of a huge PMD, in PTE positions (what a split gives each PTE). */
export function pmd_pte_bits(p: Pmd): Pte {
  return p & (B_WRITE | B_DIRTY | B_UFFD_WP | B_SOFT_DIRTY);
}

/** Short human-readable form, for traces. */
export function pmdToString(p: Pmd): string {
  const bits = [pmd_write(p) ? 'W' : 'R'];
  if (pmd_dirty(p)) bits.push('D');
  if (pmd_uffd_wp(p)) bits.push('uffd-wp');
  if (pmd_soft_dirty(p)) bits.push('sd');
  switch (p & TYPE_MASK) {
    case PMD_NONE_T:
      return 'none';
    case PMD_TABLE_T:
      return 'table';
    case PMD_HUGE_T:
      return `huge pfn ${pmd_pfn(p)} ${bits.join(',')}`;
    default:
      return `huge zero ${bits.join(',')}`;
  }
}
