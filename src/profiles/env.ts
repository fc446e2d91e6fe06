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
    thp: z.enum(['always', 'madvise', 'never']).meta({
      description:
        'transparent_hugepage/enabled: which VMAs may get large folios (madvise: those with MADV_HUGEPAGE; this host and cow.c run with madvise, the Debian configs default to always)',
    }),
    thpSizes: z.record(z.string().regex(/^\d+$/), z.enum(['always', 'inherit', 'madvise', 'never'])).meta({
      description:
        'transparent_hugepage/hugepages-<kB>kB/enabled per folio size in KiB (2048 is the PMD size; 16..1024 the mTHP sizes of 6.8+): inherit follows `thp`; a size not named is never (only 2048 inherits by default)',
    }),
    hugeZeroPage: z.boolean().meta({
      description:
        'transparent_hugepage/use_zero_page: a read fault in a THP-eligible range maps the huge zero page (unless the kernel forbids zero pages: `zeroPage`)',
    }),
    ksmZeroPages: z.boolean().meta({
      description:
        '/sys/kernel/mm/ksm/use_zero_pages: ksmd maps zero-filled pages to the shared zero page instead of merging them into a KSM page of zeros (default off)',
    }),
    hugetlbPages: z.number().int().min(0).max(64).meta({
      description:
        '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages: the hugetlb pool of the PMD size, all free at the start (the machines have none by default; cow.c needs 2 free)',
    }),
    hugetlbOvercommit: z.number().int().min(0).max(64).meta({
      description:
        '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages: how many surplus pages the pool may add beyond nr_hugepages when a reservation or a fault finds no free page (default 0)',
    }),
    hugetlb1gPages: z.number().int().min(0).max(4).meta({
      description:
        '/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages: the hugetlb pool of the PUD size (1 GiB, a gigantic hstate: no surplus pages), all free at the start; model only (the host CPU has no pdpe1gb, and the executor runs 2 MiB pages only)',
    }),
    zeroPage: z.boolean().meta({
      description:
        'read faults on private anonymous memory map the shared zero page; false on kernels that forbid it (mm_forbids_zeropage(), or a vendor option such as pvm_no_zero_page=1 on some hosts), where a read fault allocates an exclusive page (the option acts on read faults only: a THP split still maps zero-filled pages to the zero page from 6.12)',
    }),
    unprivilegedUserfaultfd: z.boolean().meta({
      description:
        'vm.unprivileged_userfaultfd: a process without CAP_SYS_PTRACE may open a userfaultfd (the upstream default was 1 from 5.2 and is 0 from 5.11, d0d4730ac2e4; the hosts here have 0)',
    }),
    ptraceScope: z.number().int().min(-1).max(3).meta({
      description:
        'kernel.yama.ptrace_scope, or -1 without Yama (this host): 1 lets an unprivileged process attach only to its descendants, 2 only CAP_SYS_PTRACE, 3 nobody; process_vm_readv/writev and /proc/PID/mem are PTRACE_MODE_ATTACH checks',
    }),
    tlbFlush: z.enum(['ipi', 'broadcast']).meta({
      description:
        "how a TLB shootdown reaches this mm's other CPUs: `ipi` (x86 without paravirt flush, the default) interrupts each and waits, and so waits for a GUP-fast in progress (it runs with interrupts off): no page-table change completes under it, and the model runs GUP-fast as one step; `broadcast` (arm64's TLBI, x86 guests with paravirt TLB flush) does not wait, so GUP-fast may stop between its PTE read and its grab (`stop: gup-fast`, model only), the window of the collapse race 70cbc3cc78a9 closed",
    }),
    ioUringDisabled: z.number().int().min(0).max(2).meta({
      description:
        'kernel.io_uring_disabled (6.6+; 0 where the sysctl is missing): 1 lets only CAP_SYS_ADMIN (and io_uring_group, not modelled) set up a ring, 2 nobody, root included: io_uring_setup() is then EPERM',
    }),
  })
  .strict();

/** The environment of a model run. */
export type Env = z.infer<typeof envSchema>;

/** A typical machine: a swapfile, the shared zero page in use. */
export const DEFAULT_ENV: Readonly<Env> = Object.freeze({
  swap: 'file',
  thp: 'madvise',
  thpSizes: Object.freeze({ '2048': 'inherit' }),
  hugeZeroPage: true,
  ksmZeroPages: false,
  hugetlbPages: 0,
  hugetlbOvercommit: 0,
  hugetlb1gPages: 0,
  zeroPage: true,
  unprivilegedUserfaultfd: false,
  ptraceScope: -1,
  tlbFlush: 'ipi',
  ioUringDisabled: 0,
});

/** The size key (KiB) of a folio order: the PMD order is always `2048` (hpage_pmd_size), others 4 KiB << order. */
export function thpSizeKey(order: number, pmdOrder: number): string {
  return order === pmdOrder ? '2048' : String(4 << order);
}

/** The THP mode that applies to folios of `order` (hugepages-<size>/enabled, with inherit resolved). */
export function thpOrderMode(env: Readonly<Env>, order: number, pmdOrder: number): 'always' | 'madvise' | 'never' {
  const m = env.thpSizes[thpSizeKey(order, pmdOrder)] ?? 'never';
  return m === 'inherit' ? env.thp : m;
}

/** `base` with some fields changed (THP sizes merge: a change names only the sizes it sets). */
export function withEnv(base: Readonly<Env>, changes: Partial<Env> | undefined): Env {
  if (!changes) return { ...base };
  return { ...base, ...changes, thpSizes: { ...base.thpSizes, ...(changes.thpSizes ?? {}) } };
}

/** `swap=sync-io,zeroPage=false,thpSizes.64=always` as environment changes; throws a message naming the bad part. */
export function parseEnvSpec(spec: string): Partial<Env> {
  const out: Record<string, unknown> = {};
  for (const part of spec
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const [k, v] = part.split('=');
    if (!k || v === undefined) throw new Error(`"${part}": expected KEY=VALUE`);
    const val = v === 'true' ? true : v === 'false' ? false : v;
    const [key, sub] = k.split('.');
    if (sub !== undefined) out[key!] = { ...(out[key!] ?? {}), [sub]: val };
    else out[k] = val;
  }
  const r = envSchema.partial().strict().safeParse(out);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${i.path.join('.') || Object.keys(out).join(',')}: ${i.message}; keys: ${Object.keys(envSchema.shape).join(', ')}`);
  }
  return r.data;
}

/** What a scenario's `env:` block may set: the machine settings cowlab changes (and puts back), not facts about the machine. */
export const scenarioEnvSchema = z
  .object({
    thp: envSchema.shape.thp.optional(),
    'thp-sizes': envSchema.shape.thpSizes.optional(),
    'huge-zero-page': z.boolean().optional(),
    'ksm-zero-pages': z.boolean().optional(),
    'hugetlb-pages': envSchema.shape.hugetlbPages.optional(),
    'hugetlb-overcommit': envSchema.shape.hugetlbOvercommit.optional(),
    'hugetlb-1g-pages': envSchema.shape.hugetlb1gPages.optional(),
    // facts of the machine, not settings: a scenario that names another one than the machine's is model only
    'tlb-flush': envSchema.shape.tlbFlush.optional(),
    swap: envSchema.shape.swap.optional(),
  })
  .strict();

/** A scenario's `env:` block as environment changes. */
export function scenarioEnv(e: z.infer<typeof scenarioEnvSchema> | undefined): Partial<Env> {
  if (!e) return {};
  return {
    ...(e.thp !== undefined ? { thp: e.thp } : {}),
    ...(e['thp-sizes'] !== undefined ? { thpSizes: e['thp-sizes'] } : {}),
    ...(e['huge-zero-page'] !== undefined ? { hugeZeroPage: e['huge-zero-page'] } : {}),
    ...(e['ksm-zero-pages'] !== undefined ? { ksmZeroPages: e['ksm-zero-pages'] } : {}),
    ...(e['hugetlb-pages'] !== undefined ? { hugetlbPages: e['hugetlb-pages'] } : {}),
    ...(e['hugetlb-overcommit'] !== undefined ? { hugetlbOvercommit: e['hugetlb-overcommit'] } : {}),
    ...(e['hugetlb-1g-pages'] !== undefined ? { hugetlb1gPages: e['hugetlb-1g-pages'] } : {}),
    ...(e['tlb-flush'] !== undefined ? { tlbFlush: e['tlb-flush'] } : {}),
    ...(e.swap !== undefined ? { swap: e.swap } : {}),
  };
}
