/**
 * Page content as the executor reads it back (src/model/content.ts): the
 * model renders a page from the writes over it and codes it the way
 * tag_of() in executor/ops.c does, so the two compare byte for byte.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  fill_tag,
  code_of_bytes,
  content_code,
  patched_code,
  render_content,
  MIXED_CODE,
  TAG_PREFIX_HI,
  VALUE_TAG,
} from '../../../src/model/content.js';
import {
  new_patch_write,
  new_private_write,
  wid_visible,
  writes_gc,
  PAGE_BYTES,
  transfer_bytes,
  transfer_pages,
} from '../../../src/model/writes.js';
import { parseScenario } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { initialState, runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';
import { ptep_get, page_data } from '../../../src/model/mm_types.js';
import { pte_pfn } from '../../../src/model/pte.js';

const page = () => new Uint8Array(PAGE_BYTES);
const state = () => initialState(resolveScenario(parseScenario('processes: [a, b]\nsteps:\n  - a: {mmap: mem, pages: 1}\n', 't.yaml')));

describe('page content', () => {
  it("a write's word: its step in the low half, COWL above, little-endian as the executor stores it", () => {
    const p = page();
    fill_tag(p, 5);
    const dv = new DataView(p.buffer);
    expect(dv.getUint32(0, true)).toBe(5);
    expect(dv.getUint32(4, true)).toBe(TAG_PREFIX_HI);
    expect(dv.getUint32(PAGE_BYTES - 4, true)).toBe(TAG_PREFIX_HI);
    expect(code_of_bytes(p)).toBe(5);
    fill_tag(p, -8); // value 7
    expect(dv.getUint32(8, true)).toBe(VALUE_TAG + 7);
    expect(code_of_bytes(p)).toBe(-8);
    fill_tag(p, 0);
    expect(code_of_bytes(p)).toBe(0);
  });

  it('bytes of another write make a page of mixed bytes; a byte equal to what was there changes nothing', () => {
    const mixed = patched_code(3, [{ code: 9, lo: 16, hi: 32 }]);
    expect(mixed).toBeGreaterThanOrEqual(MIXED_CODE);
    expect(patched_code(3, [{ code: 9, lo: 16, hi: 32 }])).toBe(mixed);
    expect(patched_code(3, [{ code: 9, lo: 16, hi: 33 }])).not.toBe(mixed);
    // byte 7 of a word is the top of "COWL" for every write
    expect(patched_code(3, [{ code: 9, lo: 7, hi: 8 }])).toBe(3);
    expect(patched_code(3, [{ code: 9, lo: 0, hi: PAGE_BYTES }])).toBe(9);
  });

  it('the model renders a patch record as the bytes the resolver predicts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: PAGE_BYTES - 1 }),
        fc.integer({ min: 1, max: PAGE_BYTES }),
        fc.integer({ min: 1, max: 4000 }),
        (lo, len, step) => {
          const n = Math.min(len, PAGE_BYTES - lo);
          const s = state();
          const base = new_private_write(s, 0, 2, true);
          const w = new_patch_write(s, 0, step, base, lo, n, false);
          expect(content_code(s, w)).toBe(patched_code(2, [{ code: step, lo, hi: lo + n }]));
          const p = page();
          render_content(s, w, p);
          expect(code_of_bytes(p)).toBe(content_code(s, w));
        },
      ),
      { seed: 7, numRuns: 200 },
    );
  });

  it('a reader may see patched content only if it may see what is under it too', () => {
    const s = state();
    const base = new_private_write(s, 0, 2, true);
    const w = new_patch_write(s, 1, 3, base, 0, 16, false);
    expect(wid_visible(s, 1, w)).toBe(false); // b wrote the bytes, a's data is under them
    expect(wid_visible(s, 0, w)).toBe(false); // a did not write the bytes
    const own = new_private_write(s, 1, 4, true);
    expect(wid_visible(s, 1, new_patch_write(s, 1, 5, own, 0, 16, false))).toBe(true);
  });

  it('what a patch was written over stays alive as long as the patch', () => {
    const r = resolveScenario(
      parseScenario(
        'processes: [a]\nsteps:\n  - a: {mmap: mem, pages: 1}\n  - a: {write: mem}\n  - a: {fork: b}\n' +
          '  - a: {process-vm-writev: mem, target: b, offset: 8, bytes: 8}\n  - a: {write: mem}\n  - b: {read: mem}\n',
        't.yaml',
      ),
    );
    const rec = runScenario(r, profileById('linux-6.18'), { keepStates: true }).records;
    const s = rec.at(-1)!.state;
    const before = rec.at(-1)!.sees[0]!;
    expect(before).toBeGreaterThanOrEqual(MIXED_CODE);
    // the page's record is the patch; step 2's record is only under it
    expect(writes_gc(s)).toBeGreaterThanOrEqual(0);
    const pfn = pte_pfn(ptep_get(s, 1, r.regions[0]!.start));
    expect(content_code(s, page_data(s, pfn))).toBe(before);
  });

  it('the bytes a transfer reaches, page by page', () => {
    expect(transfer_bytes(0, 16, 16)).toEqual([16, 32]);
    expect(transfer_bytes(0, 4088, 16)).toEqual([4088, 4096]);
    expect(transfer_bytes(1, 4088, 16)).toEqual([0, 8]);
    expect(transfer_bytes(3, 0, 0)).toEqual([0, 4096]);
    expect(transfer_pages(2, 4088, 16)).toBe(2);
    expect(transfer_pages(2, 0, 0)).toBe(2);
    expect(transfer_pages(1, 3000, 1)).toBe(1);
  });
});
