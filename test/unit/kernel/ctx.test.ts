/**
 * resetCtx() (src/kernel/ctx.ts): a context the explorer reuses from step
 * to step must be, after the reset, the context newCtx() makes: nothing a
 * step decided (a window it stopped in, a range it zapped, what it read)
 * may reach the next step.
 */
import { describe, it, expect } from 'vitest';
import { newCtx, resetCtx, newMetrics, type KCtx } from '../../../src/kernel/ctx.js';
import { profileById } from '../../../src/profiles/index.js';

/** Every field of `ctx` set to something a step could have left there. */
function dirty(ctx: KCtx): void {
  const c = ctx as unknown as Record<string, unknown>;
  for (const k of Object.keys(c)) {
    const v = c[k];
    if (Array.isArray(v)) v.push({ leftover: k });
    else if (k === 'metrics') Object.assign(v as object, { copies: 3, reuses: 2, collapses: 1 });
    else if (k !== 'prof' && k !== 'env')
      c[k] = typeof v === 'number' ? 7 : typeof v === 'boolean' ? !v : v === undefined ? true : { leftover: k };
  }
}

describe('resetCtx', () => {
  const prof = profileById('linux-6.18');

  it('gives the context newCtx gives, whatever the last step left in it', () => {
    for (const opts of [{}, { step: 4, freshWrites: false, thread: 2 }, { trace: true, step: 1 }]) {
      const ctx = newCtx(prof);
      dirty(ctx);
      // (the check would test nothing if dirty() missed a field)
      for (const [k, v] of Object.entries(newCtx(prof))) if (k !== 'prof' && k !== 'env') expect(ctx[k as keyof KCtx], k).not.toEqual(v);
      expect(resetCtx(ctx, prof, opts)).toEqual(newCtx(prof, opts));
    }
  });

  it('counts into the metrics a driver gives, and never zeroes them at a later reset', () => {
    const mine = newMetrics();
    const ctx = newCtx(prof, { metrics: mine });
    ctx.metrics.copies++;
    const own = newMetrics();
    resetCtx(ctx, prof, {}, undefined, own);
    ctx.metrics.reuses++;
    expect(mine).toEqual({ ...newMetrics(), copies: 1 });
    expect(own).toEqual({ ...newMetrics(), reuses: 1 });
    // the context's own metrics start from zero at every reset
    resetCtx(ctx, prof, {}, undefined, own);
    expect(own).toEqual(newMetrics());
  });
});
