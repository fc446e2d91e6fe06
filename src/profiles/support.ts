/**
 * Whether a kernel profile has what a scenario uses at all (io_uring before
 * 5.1 does not exist): such cells are "n/a", not failures. Each operation
 * says what it needs (src/ops/, `lacks`).
 */
import type { Profile } from './types.js';
import type { Resolved } from '../scenario/resolve.js';
import { findOp, opArgs } from '../ops/index.js';

/** Why the profile cannot run the scenario, or null. */
export function profileLacks(prof: Profile, r: Resolved): string | null {
  if (r.needs.includes('soft-dirty') && !prof.mech.config.softDirty) return `${prof.id} is built without CONFIG_MEM_SOFT_DIRTY`;
  // a scenario that enables an anonymous folio size below the PMD size needs mTHP (6.8)
  const mthpSize = Object.entries(r.sc.env.thpSizes ?? {}).find(([kb, mode]) => kb !== '2048' && mode !== 'never');
  if (mthpSize && !prof.mech.features.mthp) return `${prof.id} has no mTHP (hugepages-${mthpSize[0]}kB, 6.8)`;
  for (const rs of r.steps) {
    const why = findOp(rs.op.op)!.lacks?.(prof, opArgs(rs.op)) ?? null;
    if (why) return why;
  }
  return null;
}
