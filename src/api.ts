/**
 * cowlab's public API for profile modules of one's own (`--profile FILE`):
 * start from a built-in profile and change mechanisms.
 *
 * @example
 * ```ts
 * import { derive, profileById } from 'cowlab';
 * export default derive(profileById('linux-5.11'), { id: 'mine', title: '...', summary: '...', mech: { cow: { reuse: 'mapcount' } } });
 * ```
 */
export { derive, validateProfile } from './profiles/derive.js';
export { PROFILES, HISTORY, PROPOSALS, HOST_PROFILE, profileById } from './profiles/index.js';
export { mechanismsSchema, mechanismDocs } from './profiles/mechanisms.js';
export { envSchema, DEFAULT_ENV } from './profiles/env.js';
export type { Profile } from './profiles/types.js';
export type { Mechanisms, MechChanges, MechGroup, MechDoc } from './profiles/mechanisms.js';
export type { Env } from './profiles/env.js';
