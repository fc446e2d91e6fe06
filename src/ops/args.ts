/**
 * Argument schemas shared by operations: regions (`mem`, `mem[1]`,
 * `mem[0:2]`), names, protections, file offsets.
 */
import { z } from 'zod';
import type { RegionRef } from '../scenario/types.js';
import { PROT_READ, PROT_WRITE, PROT_EXEC } from '../kernel/mm/mmap.js';

const REGION_RE = /^([A-Za-z_][\w-]*)(?:\[(\d+)(?::(\d+))?\])?$/;

/** Parses `mem`, `mem[1]`, `mem[0:2]` (pages 0 and 1). */
export function parseRegionRef(text: string): RegionRef | null {
  const m = REGION_RE.exec(text);
  if (!m) return null;
  if (m[2] === undefined) return { region: m[1]!, from: 0, count: null, text };
  const from = Number(m[2]);
  if (m[3] === undefined) return { region: m[1]!, from, count: 1, text };
  const to = Number(m[3]);
  if (to <= from) return null;
  return { region: m[1]!, from, count: to - from, text };
}

/** A page range of a named region, parsed. */
export const region = z.string({ message: 'a region like mem, mem[1] or mem[0:2]' }).transform((text, c) => {
  const r = parseRegionRef(text);
  if (!r) {
    c.addIssue({ code: 'custom', message: 'a region like mem, mem[1] or mem[0:2]' });
    return z.NEVER;
  }
  return r;
});

/** A name of a process, region, pipe, file or handle. */
export const name = z.string().regex(/^[A-Za-z_][\w-]*$/, 'a name (letters, digits, _ and -)');

/** A protection, as mmap() and mprotect() take it. */
export const prot = z.enum(['none', 'r', 'w', 'rw', 'rx', 'rwx', 'x', 'wx'], { message: 'a protection: none, r, w, rw, rx, rwx' });
export type Prot = z.infer<typeof prot>;

export function protBits(p: string): number {
  let v = 0;
  if (p.includes('r')) v |= PROT_READ;
  if (p.includes('w')) v |= PROT_WRITE;
  if (p.includes('x')) v |= PROT_EXEC;
  return v;
}

/** The text of PROT_* bits (the shortest of the accepted spellings). */
export function protText(bits: number): Prot {
  const r = bits & PROT_READ ? 'r' : '';
  const w = bits & PROT_WRITE ? 'w' : '';
  const x = bits & PROT_EXEC ? 'x' : '';
  return (r + w + x || 'none') as Prot;
}

/** A file and the page it starts at. */
export const fileArgs = { file: name, offset: z.number().int().min(0).default(0) };
