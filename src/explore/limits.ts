/**
 * The explorer's resource limits that depend on the machine: a search with
 * no limit of its own stops cleanly before the machine runs out of memory
 * (the OOM killer would end it without a report), and it starts no more
 * threads than the machine has CPUs (each costs a full model copy).
 */
import { availableParallelism, freemem } from 'node:os';

/** Share of the memory available at start a search may use by default. */
export const DEFAULT_MEMORY_SHARE = 0.75;

/**
 * The default resident memory limit in MiB: 3/4 of what the machine (or its
 * cgroup, which process.availableMemory() accounts for) has available now.
 */
export function defaultMemoryLimitMb(available = availableMemoryBytes()): number {
  return Math.max(256, Math.floor((available * DEFAULT_MEMORY_SHARE) / 1048576));
}

function availableMemoryBytes(): number {
  // Node >= 20.13 knows the cgroup limit; older ones only MemAvailable
  const p = process as NodeJS.Process & { availableMemory?: () => number };
  return typeof p.availableMemory === 'function' ? p.availableMemory() : freemem();
}

/** Most worker threads a search may use: one per CPU. */
export function maxWorkers(): number {
  return availableParallelism();
}

/**
 * MiB of breadth-first levels kept in memory by default; blocks past it go to
 * an unlinked file (src/explore/frontier.ts): on a large search the levels
 * would otherwise be about as big as the visited set.
 */
export const DEFAULT_LEVEL_MEMORY_MB = 256;
