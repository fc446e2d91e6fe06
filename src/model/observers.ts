/**
 * Who holds a page besides page tables: pipe buffers and GUP references.
 * Used for the "needless copy" metric and the model invariants.
 */
import type { KState } from './layout.js';
import { REF_WORDS, R_KIND, R_PFN, REF_FREE, REF_TRANSIENT, P_STATE, P_NBUF, P_HDR, PIPEBUF_WORDS, PB_PFN } from './layout.js';
import { ld } from './layout.js';

/** Pipe buffers and non-transient GUP references on `pfn`: parties that can observe its content. */
export function page_observers(s: KState, pfn: number): number {
  let c = 0;
  for (let r = 0; r < s.L.geo.refs; r++) {
    const o = s.L.refs + r * REF_WORDS;
    const k = ld(s, o + R_KIND);
    if (k !== REF_FREE && k !== REF_TRANSIENT && ld(s, o + R_PFN) === pfn) c++;
  }
  return c + pipe_buffers_of(s, pfn);
}

/** Calls `fn` with the page of every pipe buffer of every open pipe. */
export function for_each_pipe_buffer_pfn(s: KState, fn: (pfn: number) => void): void {
  for (let p = 0; p < s.L.geo.pipes; p++) {
    const o = s.L.pipes + p * s.L.pipeWords;
    if (ld(s, o + P_STATE) === 0) continue;
    const n = ld(s, o + P_NBUF);
    for (let i = 0; i < n; i++) fn(ld(s, o + P_HDR + i * PIPEBUF_WORDS + PB_PFN));
  }
}

/** Pipe buffers holding a page (each took a FOLL_GET reference in vmsplice). */
export function pipe_buffers_of(s: KState, pfn: number): number {
  let c = 0;
  for_each_pipe_buffer_pfn(s, (p) => {
    if (p === pfn) c++;
  });
  return c;
}
