/**
 * Whether a kernel profile has what a scenario uses at all (io_uring before
 * 5.1 does not exist): such cells are "n/a", not failures.
 */
import type { Profile } from './types.js';
import type { Resolved } from '../scenario/resolve.js';

/** Why the profile cannot run the scenario, or null. */
export function profileLacks(prof: Profile, r: Resolved): string | null {
  const m = prof.mech;
  if (r.needs.includes('soft-dirty') && !m.softDirty) return `${prof.id} is built without CONFIG_MEM_SOFT_DIRTY`;
  for (const rs of r.steps) {
    const op = rs.op;
    if (!op) continue;
    if (op.op.startsWith('io_uring') && !m.ioUring) return `${prof.id} has no io_uring (5.1)`;
    if ((op.op === 'uffd_open' || op.op === 'uffd_register' || op.op === 'uffd_wp') && !m.uffdWp) return `${prof.id} has no uffd-wp for anonymous memory (5.7)`;
    if (op.op === 'gup' && (op.foll & 4) && !m.pinUserPages) return `${prof.id} has no pin_user_pages (5.6)`;
  }
  return null;
}
