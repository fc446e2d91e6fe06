/**
 * What every step may carry besides its operation's arguments: a label and
 * expectations. The operations themselves are defined in src/ops/.
 */
import { z } from 'zod';

const region = z.string().regex(/^[A-Za-z_][\w-]*(\[\d+(:\d+)?\])?$/, 'a region like mem, mem[1] or mem[0:2]');
const name = z.string().regex(/^[A-Za-z_][\w-]*$/, 'a name (letters, digits, _ and -)');

/** The expectation keys a step may carry. */
export const expectSchema = z
  .object({
    sees: z.union([z.string(), z.number().int(), z.array(z.union([z.string(), z.number().int()])).min(1)]).optional(),
    errno: z
      .string()
      .regex(/^E[A-Z]+$/, 'an errno name such as EFAULT')
      .optional(),
    ret: z.number().int().optional(),
    signal: z.enum(['SIGSEGV', 'SIGBUS']).optional(),
    faults: z.number().int().min(0).optional(),
    'uffd-faults': z.number().int().min(0).optional(),
    'uffd-msgs': z.array(z.object({ at: region, flags: z.array(z.enum(['wp', 'write'])).default(['wp']) }).strict()).optional(),
    path: z.union([z.string(), z.array(z.string())]).optional(),
    'shared-with': z.record(z.string(), region).optional(),
    'not-shared-with': z.record(z.string(), region).optional(),
    present: z.boolean().optional(),
    swapped: z.boolean().optional(),
    'mapped-once': z.boolean().optional(),
    'anon-exclusive': z.boolean().optional(),
    writable: z.boolean().optional(),
    'uffd-wp': z.boolean().optional(),
    swapcache: z.boolean().optional(),
    ksm: z.boolean().optional(),
    thp: z.boolean().optional(),
    'pmd-mapped': z.boolean().optional(),
    'huge-zero': z.boolean().optional(),
    'zero-page': z.boolean().optional(),
    file: z.boolean().optional(),
    anon: z.boolean().optional(),
    'soft-dirty': z.boolean().optional(),
    'same-frame-as': z.union([z.string(), z.number().int().min(1)]).optional(),
    'new-frame-since': z.union([z.string(), z.number().int().min(1)]).optional(),
    'folio-pages': z.number().int().min(1).optional(),
    'ksm-merging-pages': z.number().int().min(0).optional(),
    'ksm-zero-pages': z.number().int().optional(),
    'hugetlb-free': z.number().int().min(0).optional(),
    'hugetlb-resv': z.number().int().optional(),
    'hugetlb-surplus': z.number().int().min(0).optional(),
  })
  .strict();

/** Keys every step may carry besides its op's arguments. */
export const commonStepKeys = { label: name.optional(), expect: expectSchema.optional() };
