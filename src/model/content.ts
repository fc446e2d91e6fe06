/**
 * A page's content as the executor reads it back: every write fills its
 * bytes with one 8-byte word repeated, "COWL" above the writing step's
 * number (or above VALUE_TAG + a value), zero bytes for zero-filled
 * content. A transfer smaller than a page replaces only its bytes, with the
 * bytes its own word has at those offsets. tag_of() in executor/ops.c and
 * content_code() here turn a page into the same number, so the model and
 * the kernel are compared byte for byte:
 *   0        zero-filled
 *   N > 0    every word is step N's
 *   -(v+1)   every word is a write of value v's
 *   MIXED_CODE + h   anything else: h is the FNV-1a (32-bit) hash of the 4096 bytes
 */
import type { KState } from './layout.js';
import { PAGE_BYTES, wid_patch, wid_root, write_value } from './writes.js';
import { write_step } from './mm_types.js';

/** The high half of every tag word ("COWL"). */
export const TAG_PREFIX_HI = 0x434f574c;
/** The executor's tag of a value write: this bit plus the value (a step tag never has it). */
export const VALUE_TAG = 0x40000000;
/** Content codes from here up are pages of mixed bytes (2^52: exact as a JavaScript number). */
export const MIXED_CODE = 2 ** 52;

/** The code of content whose bytes are all one write's (no transfer smaller than a page in it). */
function plainCode(s: KState, root: number): number {
  if (root === 0) return 0;
  const v = write_value(s, root);
  if (v > 0) return -(v + 1); // content, not a write: any write of this value reads the same
  const st = write_step(s, root);
  return st < 0 ? 0 : st;
}

/** The low half of the word a code's writes fill a page with (null: zero bytes). */
function tagLow(code: number): number | null {
  if (code === 0) return null;
  return code > 0 ? code : VALUE_TAG + (-code - 1);
}

/** Byte `i` (0..7) of the word a page of whole-page code `code` repeats. */
function wordByte(code: number, i: number): number {
  const low = tagLow(code);
  if (low === null) return 0;
  return i < 4 ? (low >>> (8 * i)) & 0xff : (TAG_PREFIX_HI >>> (8 * (i - 4))) & 0xff;
}

/** Writes the bytes of `tag` (a code of whole-page content) at offsets [lo, hi) of `page`. */
export function fill_tag(page: Uint8Array, code: number, lo = 0, hi = PAGE_BYTES): void {
  const word = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => wordByte(code, k));
  for (let i = lo; i < hi; i++) page[i] = word[i & 7]!;
}

/** The bytes of content `w` (a wid), into `page`. */
export function render_content(s: KState, w: number, page: Uint8Array): void {
  const root = wid_root(s, w);
  const p = root === 0 ? null : wid_patch(s, root);
  if (p === null) {
    fill_tag(page, plainCode(s, root));
    return;
  }
  render_content(s, p.base, page);
  if (p.from < 0) {
    fill_tag(page, write_step(s, root), p.lo, p.lo + p.len);
    return;
  }
  // bytes copied from other content (O_DIRECT): that content's bytes, shifted
  const src = new Uint8Array(PAGE_BYTES);
  render_content(s, p.from, src);
  page.set(src.subarray(p.lo - p.shift, p.lo + p.len - p.shift), p.lo);
}

/** The code of a page's bytes (the same function as tag_of() in executor/ops.c). */
export function code_of_bytes(page: Uint8Array): number {
  const dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const lo0 = dv.getUint32(0, true);
  const hi0 = dv.getUint32(4, true);
  let uniform = true;
  for (let i = 8; i < PAGE_BYTES && uniform; i += 8) uniform = dv.getUint32(i, true) === lo0 && dv.getUint32(i + 4, true) === hi0;
  if (uniform && lo0 === 0 && hi0 === 0) return 0;
  if (uniform && hi0 === TAG_PREFIX_HI) return lo0 & VALUE_TAG ? -(lo0 & (VALUE_TAG - 1)) - 1 : lo0;
  let h = 0x811c9dc5;
  for (let i = 0; i < PAGE_BYTES; i++) h = Math.imul(h ^ page[i]!, 0x01000193) >>> 0;
  return MIXED_CODE + h;
}

/** Whether content `w` (following copies) has a transfer smaller than a page in it. */
function patched(s: KState, w: number): boolean {
  const root = wid_root(s, w);
  return root !== 0 && wid_patch(s, root) !== null;
}

const scratch = new Uint8Array(PAGE_BYTES);

/** The code the executor reads for a page of content `w`. */
export function content_code(s: KState, w: number): number {
  if (!patched(s, w)) return plainCode(s, wid_root(s, w));
  render_content(s, w, scratch);
  return code_of_bytes(scratch);
}

const scratch2 = new Uint8Array(PAGE_BYTES);

/**
 * memcmp_pages() of two pages holding contents `a` and `b` (wids): the sign
 * of the first differing byte. A page of one write repeats one 8-byte word,
 * so two such pages compare as their words; pages with a transfer smaller
 * than a page in them are compared byte for byte.
 */
export function memcmp_contents(s: KState, a: number, b: number): number {
  if (!patched(s, a) && !patched(s, b)) {
    const ca = plainCode(s, wid_root(s, a));
    const cb = plainCode(s, wid_root(s, b));
    for (let i = 0; i < 8; i++) {
      const d = wordByte(ca, i) - wordByte(cb, i);
      if (d !== 0) return d;
    }
    return 0;
  }
  render_content(s, a, scratch);
  render_content(s, b, scratch2);
  for (let i = 0; i < PAGE_BYTES; i++) {
    const d = scratch[i]! - scratch2[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Content code of whole-page content written by step `step` (0: zero-filled), with byte ranges of later steps over it. */
export function patched_code(base: number, patches: readonly { code: number; lo: number; hi: number }[]): number {
  fill_tag(scratch, base);
  for (const p of patches) fill_tag(scratch, p.code, p.lo, p.hi);
  return code_of_bytes(scratch);
}

/**
 * How a content code reads in traces and reports: zero, value N, mixed
 * bytes (hash), step N with its label when `labels` (the scenario's) has one.
 */
export function code_text(code: number, labels?: ReadonlyMap<string, number>): string {
  if (code === 0) return 'zero';
  if (code >= MIXED_CODE) return mixedText(code);
  if (code < -1) return `value ${-code - 1}`;
  if (code < 0) return 'unrecognised data';
  for (const [l, i] of labels ?? []) if (i === code) return `step ${code} (${l})`;
  return `step ${code}`;
}

/** How a code of mixed bytes reads in messages. */
export function mixedText(code: number): string {
  return `mixed bytes (hash ${(code - MIXED_CODE).toString(16).padStart(8, '0')})`;
}
