/**
 * User-mode loads and stores, as the read and write operations perform
 * them: one access per page, faulting through arch/x86/mm/fault.c.
 */
import type { KState } from '../model/layout.js';
import type { KCtx } from '../kernel/ctx.js';
import { page_data, page_set_data, va_shared } from '../model/mm_types.js';
import { OpWrites } from '../model/writes.js';
import { user_access } from '../kernel/arch/x86/mm/fault.js';
import type { StepResult } from './types.js';

/** The `value` of a store of zero bytes (`write` with `value: 0`): the page's content stays zero-filled, as KSM's use_zero_pages looks for. */
export const ZERO_WRITE = -1;

/** A user-mode load or store over pages [start, start+n): one write id for the whole store (`value`: its content, 0 its own, -1 zero bytes). */
export function memAccess(s: KState, ctx: KCtx, t: number, start: number, n: number, write: boolean, value = 0): StepResult {
  const data: number[] = [];
  const wids = new OpWrites(s, t, ctx.step, ctx.freshWrites, Math.max(value, 0));
  for (let i = 0; i < n; i++) {
    const va = start + i;
    const r = user_access(s, ctx, t, va, write);
    if (typeof r === 'string') return { ret: 0, signal: r, data, done: i };
    if (write) {
      // zero bytes leave zero-filled content, which is no write of anyone's
      page_set_data(s, r, value === ZERO_WRITE ? 0 : wids.forMapping(va_shared(s, t, va)));
    } else {
      const w = page_data(s, r);
      data.push(w);
      ctx.reads.push({ via: 'mem', observer: t, reader: t, vpage: va, pfn: r, wid: w });
    }
  }
  return { ret: 0, signal: null, data, done: n };
}
