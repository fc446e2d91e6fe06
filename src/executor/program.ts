/**
 * From a resolved scenario to the executor's program (executor/cowlab-exec.c
 * documents the format), or the reason it cannot run on a real kernel.
 */
import type { Resolved } from '../scenario/resolve.js';
import type { Op } from '../syscalls/ops.js';
import { UFFD_FEATURE_WP_UNPOPULATED, UFFD_FEATURE_WP_ASYNC } from '../model/layout.js';

/** Executor opcodes (enum op in executor/cowlab-exec.c). */
export const XOP = {
  MMAP: 1, MUNMAP: 2, MPROTECT: 3, MADVISE: 4, READ: 5, WRITE: 6, FORK: 7, EXIT: 8, PIPE: 9, VMSPLICE: 10,
  READPIPE: 11, URING_SETUP: 12, URING_REGISTER: 13, URING_UNREGISTER: 14, URING_RW: 15, ODIRECT: 16, PVM: 17,
  PROCMEM: 18, UFFD: 19, UFFD_REGISTER: 20, UFFD_WP: 21, CLEAR_REFS: 22, FILE_WRITE: 23, FILE_READ: 24, CHECK: 25,
} as const;

const ADVICE: Record<string, number> = {
  MADV_DONTNEED: 1, MADV_DONTFORK: 2, MADV_DOFORK: 3, MADV_WIPEONFORK: 4, MADV_KEEPONFORK: 5, MADV_PAGEOUT: 6,
};

/** Why a step cannot run on a real kernel, or null. */
export function unsupported(op: Op | null): string | null {
  if (!op) return null;
  switch (op.op) {
    case 'gup':
      if (op.raceForkChild !== undefined) return 'races GUP-fast with fork inside one step (model only)';
      return 'takes GUP references directly (needs CONFIG_GUP_TEST\'s gup_test, which this kernel lacks)';
    case 'gup_read':
    case 'gup_write':
    case 'gup_put':
      return 'takes GUP references directly (needs CONFIG_GUP_TEST\'s gup_test, which this kernel lacks)';
    case 'transient':
      return 'injects a transient reference (model only)';
    case 'odirect_start':
    case 'odirect_complete':
      return 'holds an O_DIRECT transfer in flight across steps (model only)';
    case 'proc_mem':
      return op.raceDontneed ? 'races MADV_DONTNEED inside GUP (model only)' : null;
    default:
      return null;
  }
}

/** One executor line for a step's op. `step` is the 1-based step index (the data tag of writes). */
function opLine(op: Op | null, t: number, step: number): string {
  const o = (code: number, ...args: number[]) => `O ${t} ${code}${args.map((a) => ` ${a}`).join('')}`;
  if (!op) return o(XOP.CHECK);
  switch (op.op) {
    case 'mmap': return o(XOP.MMAP, op.start, op.pages, op.prot, op.shared ? 1 : 0, op.file, op.pgoff);
    case 'munmap': return o(XOP.MUNMAP, op.start, op.pages);
    case 'mprotect': return o(XOP.MPROTECT, op.start, op.pages, op.prot);
    case 'madvise': return o(XOP.MADVISE, op.start, op.pages, ADVICE[op.advice]!);
    case 'read': return o(XOP.READ, op.start, op.pages);
    case 'write': return o(XOP.WRITE, op.start, op.pages, step);
    case 'fork': return o(XOP.FORK, op.child);
    case 'exit': return o(XOP.EXIT);
    case 'pipe': return o(XOP.PIPE, op.p);
    case 'vmsplice': return o(XOP.VMSPLICE, op.p, op.start, op.pages);
    case 'pipe_read': return o(XOP.READPIPE, op.p, op.pages);
    case 'io_uring_setup': return o(XOP.URING_SETUP);
    case 'io_uring_register': return o(XOP.URING_REGISTER, op.start, op.pages);
    case 'io_uring_unregister': return o(XOP.URING_UNREGISTER);
    case 'io_uring_rw': return o(XOP.URING_RW, op.write ? 1 : 0, op.file, op.index, op.start, op.pages);
    case 'odirect': return o(XOP.ODIRECT, op.read ? 1 : 0, op.file, op.index, op.start, op.pages);
    case 'process_vm': return o(XOP.PVM, op.target, op.write ? 1 : 0, op.start, op.pages, step);
    case 'proc_mem': return o(XOP.PROCMEM, op.target, op.write ? 1 : 0, op.start, op.pages, step);
    case 'uffd_open':
      return o(XOP.UFFD, (op.features & UFFD_FEATURE_WP_UNPOPULATED ? 1 : 0) | (op.features & UFFD_FEATURE_WP_ASYNC ? 2 : 0));
    case 'uffd_register': return o(XOP.UFFD_REGISTER, op.start, op.pages);
    case 'uffd_wp': return o(XOP.UFFD_WP, op.start, op.pages, op.on ? 1 : 0);
    case 'clear_refs': return o(XOP.CLEAR_REFS, op.value);
    case 'file_write': return o(XOP.FILE_WRITE, op.file, op.index, op.pages, step);
    case 'file_read': return o(XOP.FILE_READ, op.file, op.index, op.pages);
    default:
      throw new Error(`op ${op.op} has no executor form`);
  }
}

/** The program for a scenario; throws if a step is unsupported (check `programBlocker` first). */
export function toProgram(r: Resolved): string[] {
  const lines = [`T ${r.tasks.length} ${r.initial.length}`];
  for (const g of r.regions) lines.push(`R ${g.start} ${g.pages}`);
  for (const f of r.files) lines.push(`F ${f.kind === 'memfd' ? 0 : 1} ${f.pages}`);
  for (const s of r.steps) lines.push(opLine(s.op, s.t, s.step.index));
  return lines;
}

/** The first reason the scenario cannot run on a real kernel, or null. */
export function programBlocker(r: Resolved): string | null {
  if (r.sc.diff.skip) return r.sc.diff.skip;
  for (const s of r.steps) {
    const why = unsupported(s.op);
    if (why) return `step ${s.step.index} (${s.step.op}) ${why}`;
  }
  for (const s of r.steps) {
    if (s.op?.op === 'odirect' && r.files[s.op.file]?.kind !== 'tmpfile') {
      return `step ${s.step.index}: O_DIRECT is modelled on tmpfile (ext4) files only`;
    }
  }
  return null;
}
