/**
 * The operations a scenario (or the explorer) can perform, resolved to
 * model ids: tasks, virtual pages, pipes, files and handles are numbers.
 * `apply()` in ./apply.ts maps each onto its kernel path.
 */
import type { Advice } from '../kernel/mm/madvise.js';

/** Kinds of file a scenario can create. */
export type FileKind = 'memfd' | 'tmpfile';

/** Kinds of transient reference the thread argued about. */
export type TransientKind = 'speculative' | 'lru-batch' | 'swapcache' | 'page-lock';

export type Op =
  | { op: 'mmap'; t: number; start: number; pages: number; prot: number; shared: boolean; file: number; pgoff: number }
  | { op: 'munmap'; t: number; start: number; pages: number }
  | { op: 'mprotect'; t: number; start: number; pages: number; prot: number }
  | { op: 'madvise'; t: number; start: number; pages: number; advice: Advice }
  | { op: 'read'; t: number; start: number; pages: number }
  | { op: 'write'; t: number; start: number; pages: number }
  | { op: 'fork'; t: number; child: number }
  | { op: 'exit'; t: number }
  | { op: 'pipe'; t: number; p: number }
  | { op: 'vmsplice'; t: number; p: number; start: number; pages: number }
  | { op: 'pipe_read'; t: number; p: number; pages: number }
  | { op: 'io_uring_setup'; t: number }
  | { op: 'io_uring_register'; t: number; start: number; pages: number }
  | { op: 'io_uring_unregister'; t: number }
  | { op: 'io_uring_rw'; t: number; write: boolean; file: number; index: number; start: number; pages: number }
  | { op: 'odirect'; t: number; read: boolean; file: number; index: number; start: number; pages: number }
  | { op: 'odirect_start'; t: number; read: boolean; file: number; index: number; start: number; pages: number; handle: number }
  | { op: 'odirect_complete'; t: number; handle: number }
  | { op: 'process_vm'; t: number; target: number; write: boolean; start: number; pages: number }
  | { op: 'proc_mem'; t: number; target: number; write: boolean; start: number; pages: number; raceDontneed?: boolean }
  | { op: 'uffd_open'; t: number; features: number }
  | { op: 'uffd_register'; t: number; start: number; pages: number }
  | { op: 'uffd_wp'; t: number; start: number; pages: number; on: boolean }
  | { op: 'clear_refs'; t: number; value: number }
  | { op: 'gup'; t: number; start: number; pages: number; foll: number; fast: boolean; handle: number; raceForkChild?: number }
  | { op: 'gup_read'; t: number; handle: number }
  | { op: 'gup_write'; t: number; handle: number }
  | { op: 'gup_put'; t: number; handle: number }
  | { op: 'file_create'; file: number; kind: FileKind; pages: number }
  | { op: 'file_write'; t: number; file: number; index: number; pages: number }
  | { op: 'file_read'; t: number; file: number; index: number; pages: number }
  | { op: 'transient'; t: number; start: number; kind: TransientKind; hold: boolean };

export type OpName = Op['op'];
