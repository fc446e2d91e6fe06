/**
 * The environment a kernel runs in: facts about the machine (its swap
 * device, whether read faults may map the shared zero page) rather than
 * about the kernel's algorithms. The model takes it as input; the executor
 * reports the machine's own (`cowlab diff` runs the model with it), and a
 * profile may name the machine its kernel is checked on.
 */
import { z } from 'zod';

export const envSchema = z
  .object({
    swap: z.enum(['file', 'sync-io']).meta({
      description:
        'the swap device: a swapfile on a filesystem (asynchronous writeback, the host) or a SWP_SYNCHRONOUS_IO block device (brd, zram: the qemu guests)',
    }),
    zeroPage: z.boolean().meta({
      description:
        'read faults on private anonymous memory map the shared zero page; false on kernels that forbid it (mm_forbids_zeropage(), or a vendor option such as pvm_no_zero_page=1 on some hosts), where a read fault allocates an exclusive page',
    }),
  })
  .strict();

/** The environment of a model run. */
export type Env = z.infer<typeof envSchema>;

/** A typical machine: a swapfile, the shared zero page in use. */
export const DEFAULT_ENV: Readonly<Env> = Object.freeze({ swap: 'file', zeroPage: true });

/** `base` with some fields changed. */
export function withEnv(base: Readonly<Env>, changes: Partial<Env> | undefined): Env {
  return { ...base, ...(changes ?? {}) };
}

/** `swap=sync-io,zeroPage=false` as environment changes; throws a message naming the bad part. */
export function parseEnvSpec(spec: string): Partial<Env> {
  const out: Record<string, unknown> = {};
  for (const part of spec
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const [k, v] = part.split('=');
    if (!k || v === undefined) throw new Error(`"${part}": expected KEY=VALUE`);
    out[k] = v === 'true' ? true : v === 'false' ? false : v;
  }
  const r = envSchema.partial().strict().safeParse(out);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${i.path.join('.') || Object.keys(out).join(',')}: ${i.message}; keys: ${Object.keys(envSchema.shape).join(', ')}`);
  }
  return r.data;
}
