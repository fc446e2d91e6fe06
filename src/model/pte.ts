/**
 * Page-table entries, packed into one integer as the kernel packs pte_t.
 *
 * A PTE is none, present (maps a PFN), a swap entry (names a swap slot) or a
 * PTE marker (no page, only bits: the uffd-wp marker). The helpers carry the
 * kernel's names so the kernel paths read like their C counterparts.
 */

export type Pte = number;

/** the PTE type bits (none, present, swap, marker) */
export const PTE_TYPE_MASK = 0x3;
const TYPE_MASK = PTE_TYPE_MASK;
export const PTE_NONE_T = 0;
export const PTE_PRESENT_T = 1;
export const PTE_SWAP_T = 2;
export const PTE_MARKER_T = 3;

/** present: _PAGE_RW; swap: the exclusive bit (pte_swp_exclusive) */
const B_WRITE = 1 << 2;
/** present: _PAGE_DIRTY */
const B_DIRTY = 1 << 3;
/** present: _PAGE_UFFD_WP; swap: pte_swp_uffd_wp; marker: PTE_MARKER_UFFD_WP */
const B_UFFD_WP = 1 << 4;
/** present: _PAGE_SOFT_DIRTY; swap: pte_swp_soft_dirty */
const B_SOFT_DIRTY = 1 << 5;
/** the PFN or swap slot sits above the flag byte */
export const PTE_PAYLOAD_SHIFT = 8;
const PAYLOAD_SHIFT = PTE_PAYLOAD_SHIFT;

export const PTE_NONE: Pte = 0;

export function pte_type(p: Pte): number {
  return p & TYPE_MASK;
}
export function pte_none(p: Pte): boolean {
  return p === 0;
}
export function pte_present(p: Pte): boolean {
  return (p & TYPE_MASK) === PTE_PRESENT_T;
}
export function is_swap_pte(p: Pte): boolean {
  return (p & TYPE_MASK) === PTE_SWAP_T;
}
export function is_pte_marker(p: Pte): boolean {
  return (p & TYPE_MASK) === PTE_MARKER_T;
}

/** A present PTE mapping `pfn`. */
export function mk_pte(pfn: number): Pte {
  return (pfn << PAYLOAD_SHIFT) | PTE_PRESENT_T;
}
export function pte_pfn(p: Pte): number {
  return p >>> PAYLOAD_SHIFT;
}
/** pte_advance_pfn(): the same flags, mapping the page `nr` further on. */
export function pte_advance_pfn(p: Pte, nr: number): Pte {
  return p + nr * (1 << PAYLOAD_SHIFT);
}
export function pte_write(p: Pte): boolean {
  return (p & B_WRITE) !== 0;
}
export function pte_mkwrite(p: Pte): Pte {
  return p | B_WRITE;
}
export function pte_wrprotect(p: Pte): Pte {
  return p & ~B_WRITE;
}
export function pte_dirty(p: Pte): boolean {
  return (p & B_DIRTY) !== 0;
}
/** x86 pte_mkdirty(): the kernel marks a PTE dirty and soft-dirty together. */
export function pte_mkdirty(p: Pte): Pte {
  return p | B_DIRTY | B_SOFT_DIRTY;
}
/** What the MMU sets on a store through a writable PTE: _PAGE_DIRTY only. */
export function pte_mkdirty_hw(p: Pte): Pte {
  return p | B_DIRTY;
}
export function pte_mkclean(p: Pte): Pte {
  return p & ~B_DIRTY;
}
export function pte_uffd_wp(p: Pte): boolean {
  return (p & B_UFFD_WP) !== 0;
}
/** x86 pte_mkuffd_wp(): sets the uffd-wp bit and write-protects (arch/x86/include/asm/pgtable.h). */
export function pte_mkuffd_wp(p: Pte): Pte {
  return (p | B_UFFD_WP) & ~B_WRITE;
}
export function pte_clear_uffd_wp(p: Pte): Pte {
  return p & ~B_UFFD_WP;
}
export function pte_soft_dirty(p: Pte): boolean {
  return (p & B_SOFT_DIRTY) !== 0;
}
export function pte_mksoft_dirty(p: Pte): Pte {
  return p | B_SOFT_DIRTY;
}
export function pte_clear_soft_dirty(p: Pte): Pte {
  return p & ~B_SOFT_DIRTY;
}

/** A swap PTE naming swap slot `slot`. */
export function swp_entry_to_pte(slot: number): Pte {
  return (slot << PAYLOAD_SHIFT) | PTE_SWAP_T;
}
export function pte_swp_slot(p: Pte): number {
  return p >>> PAYLOAD_SHIFT;
}
/** pte_move_swp_offset(): the same swap PTE bits, naming slot + `delta` (the slot sits where a PFN does). */
export function pte_move_swp_offset(p: Pte, delta: number): Pte {
  return pte_advance_pfn(p, delta);
}
export function pte_swp_exclusive(p: Pte): boolean {
  return (p & B_WRITE) !== 0;
}
export function pte_swp_mkexclusive(p: Pte): Pte {
  return p | B_WRITE;
}
export function pte_swp_clear_exclusive(p: Pte): Pte {
  return p & ~B_WRITE;
}
export const pte_swp_uffd_wp = pte_uffd_wp;
export function pte_swp_mkuffd_wp(p: Pte): Pte {
  return p | B_UFFD_WP;
}
export const pte_swp_clear_uffd_wp = pte_clear_uffd_wp;
export const pte_swp_soft_dirty = pte_soft_dirty;
export const pte_swp_mksoft_dirty = pte_mksoft_dirty;

/** The uffd-wp PTE marker left on a none PTE (make_pte_marker(PTE_MARKER_UFFD_WP)). */
export const PTE_MARKER_UFFD_WP: Pte = PTE_MARKER_T | B_UFFD_WP;
export function pte_marker_uffd_wp(p: Pte): boolean {
  return is_pte_marker(p) && (p & B_UFFD_WP) !== 0;
}

/** Short human-readable form, for traces. */
export function pteToString(p: Pte): string {
  switch (p & TYPE_MASK) {
    case PTE_NONE_T:
      return 'none';
    case PTE_PRESENT_T: {
      const bits = [pte_write(p) ? 'W' : 'R'];
      if (pte_dirty(p)) bits.push('D');
      if (pte_uffd_wp(p)) bits.push('uffd-wp');
      if (pte_soft_dirty(p)) bits.push('sd');
      return `pfn ${pte_pfn(p)} ${bits.join(',')}`;
    }
    case PTE_SWAP_T: {
      const bits: string[] = [];
      if (pte_swp_exclusive(p)) bits.push('excl');
      if (pte_uffd_wp(p)) bits.push('uffd-wp');
      if (pte_soft_dirty(p)) bits.push('sd');
      return `swap ${pte_swp_slot(p)}${bits.length ? ' ' + bits.join(',') : ''}`;
    }
    default:
      return pte_marker_uffd_wp(p) ? 'marker uffd-wp' : 'marker';
  }
}
