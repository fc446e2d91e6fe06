/**
 * cowlab's public API for profile modules of one's own (`--profile FILE`):
 * start from a built-in profile and change mechanisms.
 *
 * @example
 * ```ts
 * import { derive, profileById } from 'cowlab';
 * export default derive(profileById('linux-5.11'), { id: 'mine', title: '...', summary: '...', mech: { wpReuse: 'mapcount' } });
 * ```
 */
export { derive, validateProfile } from './profiles/derive.js';
export { PROFILES, HISTORY, PROPOSALS, HOST_PROFILE, profileById } from './profiles/index.js';
export type {
  Profile, Mechanisms, WpReuse, SwapinReuse, ForceWrite, GupUnshare, SwapoutPinned, PinnedWriteProtect,
} from './profiles/types.js';
