/**
 * What one scenario may hold: the C executor's fixed tables
 * (executor/cowlab.h; the generated executor header asserts the same
 * numbers, so the two cannot drift apart). Scenarios are checked against
 * them when they are resolved, so a scenario the model runs can also run on
 * a real kernel, and an oversized one gets a positioned error instead of a
 * false divergence or a hung reproducer.
 */
export const SCENARIO_LIMITS = {
  /** processes at once, forks included (task slots: MAXT, two spare) */
  processes: 30,
  /** distinct regions (MAXR) */
  regions: 64,
  /** declared files (MAXF) */
  files: 16,
  /** pipes (MAXP) */
  pipes: 16,
  /** threads a process creates with `thread` steps, besides its main thread (MAXTH) */
  threads: 8,
  /** steps (MAXO) */
  steps: 4096,
  /** pages of a region or a file, so of what one step acts on (MAXPAGES: the executor's bounce buffer) */
  pages: 2048,
  /**
   * pages of a 1 GiB hugetlb region or file (two 1 GiB pages): model only, as
   * the executor's per-step tables hold `pages`
   */
  giganticPages: 1 << 19,
  /** pages of address space all regions take together (the executor's 4 GiB window) */
  addressPages: 1 << 20,
} as const;
