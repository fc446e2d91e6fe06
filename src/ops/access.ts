/**
 * User-mode loads and stores, as the read and write operations perform
 * them: one access per page, faulting through arch/x86/mm/fault.c.
 */
import type { KState } from '../model/layout.js';
import type { KCtx, ReadObs } from '../kernel/ctx.js';
import { page_data, page_set_data, va_shared, huge_leaf_at } from '../model/mm_types.js';
import { ZERO_PFN } from '../model/layout.js';
import { OpWrites } from '../model/writes.js';
import { user_access, do_user_addr_fault, ACCESS_HELD } from '../kernel/arch/x86/mm/fault.js';
import type { StepResult } from './types.js';
import { nr_threads } from '../model/threads.js';
import { fork_user_store } from '../kernel/kernel/fork.js';

/** The `value` of a store of zero bytes (`write` with `value: 0`): the page's content stays zero-filled, as KSM's use_zero_pages looks for. */
export const ZERO_WRITE = -1;

/**
 * A user-mode load or store over pages [start, start+n): one write id for
 * the whole store (`value`: its content, 0 its own, -1 zero bytes). `from`:
 * a store going on from page `i` after its fault waited for the uffd
 * monitor, its writes counted to step `step` (`again`: the access runs
 * again without a retried fault first, as after a fault that completed).
 * `held`: the page whose fault
 * the monitor holds now (the store stops there).
 */
export function memAccess(
  s: KState,
  ctx: KCtx,
  t: number,
  start: number,
  n: number,
  write: boolean,
  value = 0,
  from?: { i: number; step: number; again?: boolean },
): StepResult & { held?: number } {
  const data: number[] = [];
  const wids = new OpWrites(s, t, from ? from.step : ctx.step, ctx.freshWrites, Math.max(value, 0));
  for (let i = from?.i ?? 0; i < n;) {
    const va = start + i;
    if (from && i === from.i && !from.again) {
      // woken in handle_userfault(): do_user_addr_fault() retries the fault with FAULT_FLAG_TRIED first
      const sig = do_user_addr_fault(s, ctx, t, va, write, true);
      if (sig === 'held') return { ret: 0, signal: null, data, done: i, held: i };
      if (sig) return { ret: 0, signal: sig, data, done: i };
    }
    const r = user_access(s, ctx, t, va, write);
    if (r === ACCESS_HELD) return { ret: 0, signal: null, data, done: i, held: i };
    if (typeof r === 'string') return { ret: 0, signal: r, data, done: i };
    // the rest of a huge leaf the access went through takes the same access without a fault (the
    // leaf now allows it, and a store has set its dirty bit): the CPU uses the TLB entry
    const leaf = huge_leaf_at(s, t, va);
    const end = leaf ? Math.min(n, i + leaf[0] + leaf[1] - va) : i + 1;
    const step = r === ZERO_PFN ? 0 : 1; // the huge zero page maps ZERO_PFN at every index
    // zero bytes leave zero-filled content, which is no write of anyone's
    const wid = write ? (value === ZERO_WRITE ? 0 : wids.forMapping(va_shared(s, t, va))) : 0;
    let run: ReadObs | null = null; // consecutive pages of the leaf that read the same write: one record
    for (let j = i; j < end; j++) {
      const pfn = r + (j - i) * step;
      if (write) {
        page_set_data(s, pfn, wid);
        // a store while a fork of the process is stopped in a window (it needed no fault)
        if (nr_threads(s)) fork_user_store(s, ctx, t, start + j, wid);
      } else {
        const w = page_data(s, pfn);
        data.push(w);
        if (run && run.wid === w) run.n!++;
        else ctx.reads.push((run = { via: 'mem', observer: t, reader: t, vpage: start + j, pfn, wid: w, n: 1 }));
      }
    }
    i = end;
  }
  return { ret: 0, signal: null, data, done: n };
}
