/**
 * The state's store hooks (src/model/layout.ts): a StoreLog on a state
 * notes every word st(), fill_words() and move_words() store, once each, in
 * first-store order; nothing is noted without one.
 */
import { describe, it, expect } from 'vitest';
import { KState, StoreLog, makeLayout, st, fill_words, move_words, ld } from '../../../src/model/layout.js';

function state(): KState {
  return KState.empty(
    makeLayout({
      tasks: 1,
      vpages: 1,
      vmas: 1,
      frames: 3,
      files: 0,
      filePages: 0,
      swapSlots: 2,
      pipes: 0,
      pipeBufs: 1,
      refs: 1,
      writes: 2,
      lruBatch: 1,
      pmdOrder: 0,
      ksm: false,
    }),
  );
}

describe('StoreLog', () => {
  it('notes each stored word once, in first-store order, also stores of the value already there', () => {
    const s = state();
    const log = new StoreLog(s.m.length);
    s.log = log;
    st(s, 7, 1);
    st(s, 3, 0);
    st(s, 7, 2);
    fill_words(s, 5, 10, 13);
    move_words(s, 20, 10, 12);
    ld(s, 40);
    expect(Array.from(log.idx.subarray(0, log.n))).toEqual([7, 3, 10, 11, 12, 20, 21]);
    expect(Array.from(s.m.subarray(20, 22))).toEqual([5, 5]);
  });

  it('starts afresh on reset, and notes nothing once taken off the state', () => {
    const s = state();
    const log = new StoreLog(s.m.length);
    s.log = log;
    st(s, 7, 1);
    log.reset();
    expect(log.n).toBe(0);
    st(s, 7, 3);
    st(s, 8, 3);
    expect(Array.from(log.idx.subarray(0, log.n))).toEqual([7, 8]);
    s.log = null;
    st(s, 9, 1);
    fill_words(s, 1, 30, 32);
    expect(log.n).toBe(2);
  });
});
