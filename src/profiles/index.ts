/**
 * The built-in kernel profiles, in history order, and lookup by id.
 */
import type { Profile } from './types.js';
import { linux_4_8 } from './history/linux-4.8.js';
import { linux_4_14 } from './history/linux-4.14.js';
import { linux_5_7 } from './history/linux-5.7.js';
import { linux_5_8 } from './history/linux-5.8.js';
import { linux_5_9 } from './history/linux-5.9.js';
import { linux_5_11 } from './history/linux-5.11.js';
import { linux_5_18 } from './history/linux-5.18.js';
import { linux_5_19 } from './history/linux-5.19.js';
import { linux_6_0 } from './history/linux-6.0.js';
import { linux_6_2 } from './history/linux-6.2.js';
import { linux_6_3 } from './history/linux-6.3.js';
import { linux_6_1 } from './history/linux-6.1.js';
import { linux_6_8 } from './history/linux-6.8.js';
import { linux_6_9 } from './history/linux-6.9.js';
import { linux_6_12 } from './history/linux-6.12.js';
import { linux_6_13 } from './history/linux-6.13.js';
import { linux_6_15 } from './history/linux-6.15.js';
import { linux_6_18 } from './linux-6.18.js';
import { aa_full_accuracy } from './proposals/aa-full-accuracy.js';
import { linus_rules } from './proposals/linus-rules.js';
import { hubbard_split } from './proposals/hubbard-split.js';
import { linus_exclusive_bit } from './proposals/linus-exclusive-bit.js';
import { andy_private_bit } from './proposals/andy-private-bit.js';
import { debian_5_10 } from './debian/debian-5.10.js';
import { debian_6_1 } from './debian/debian-6.1.js';
import { debian_6_12 } from './debian/debian-6.12.js';
import { debian_7_x } from './debian/debian-7.x.js';
import { InputError } from '../scenario/errors.js';

/** The merged kernels, in history order, ending with the host. */
export const HISTORY: readonly Profile[] = [
  linux_4_8,
  linux_4_14,
  linux_5_7,
  linux_5_8,
  linux_5_9,
  linux_5_11,
  linux_5_18,
  linux_5_19,
  linux_6_0,
  linux_6_1,
  linux_6_2,
  linux_6_3,
  linux_6_8,
  linux_6_9,
  linux_6_12,
  linux_6_13,
  linux_6_15,
  linux_6_18,
];

/** The designs proposed in the January 2021 thread (all based on 5.11-rc). */
export const PROPOSALS: readonly Profile[] = [aa_full_accuracy, linus_rules, hubbard_split, linus_exclusive_bit, andy_private_bit];

/** Debian's packaged kernels, judged in qemu (`cowlab diff --on debian-6.1`). */
export const DEBIAN: readonly Profile[] = [debian_5_10, debian_6_1, debian_6_12, debian_7_x];

/** The matrix's columns by default: history, then the proposals. */
export const MATRIX_PROFILES: readonly Profile[] = [...HISTORY, ...PROPOSALS];

/** Every built-in profile. */
export const PROFILES: readonly Profile[] = [...HISTORY, ...PROPOSALS, ...DEBIAN];

/** The profile cowlab's machines run, and `cowlab diff` checks against. */
export const HOST_PROFILE = linux_6_18;

/** A built-in profile by id; InputError listing the ids otherwise. */
export function profileById(id: string): Profile {
  const p = PROFILES.find((x) => x.id === id);
  if (!p) throw new InputError(`unknown kernel "${id}"; known: ${PROFILES.map((x) => x.id).join(', ')}`);
  return p;
}
