/**
 * The scenario operations: one table that drives validation, the
 * documentation and the C emitter. Each entry names the argument that the
 * op key itself carries (`{write: mem}` is `write` with `at: mem`) and the
 * schema of the other arguments.
 */
import { z } from 'zod';

const region = z.string().regex(/^[A-Za-z_][\w-]*(\[\d+(:\d+)?\])?$/, 'a region like mem, mem[1] or mem[0:2]');
const name = z.string().regex(/^[A-Za-z_][\w-]*$/, 'a name (letters, digits, _ and -)');
const prot = z.enum(['none', 'r', 'w', 'rw', 'rx', 'rwx', 'x', 'wx'], { message: 'a protection: none, r, w, rw, rx, rwx' });

/** One scenario operation. */
export interface OpSpec {
  /** what the op key's value is called */
  primary: string | null;
  /** schema of the primary value */
  primarySchema: z.ZodType | null;
  /** other arguments */
  args: z.ZodRawShape;
  /** capabilities the real-kernel executor needs */
  needs: string[];
  /** the kernel path it runs, for the documentation */
  doc: string;
}

function op(primary: string | null, primarySchema: z.ZodType | null, args: z.ZodRawShape, doc: string, needs: string[] = []): OpSpec {
  return { primary, primarySchema, args, needs, doc };
}

const fileArgs = { file: name, offset: z.number().int().min(0).default(0) };

/** Every operation a scenario step can perform. */
export const OPS: Record<string, OpSpec> = {
  mmap: op('region', name, {
    pages: z.number().int().min(0).max(512).default(1),
    prot: prot.default('rw'),
    shared: z.boolean().default(false),
    file: name.optional(),
    offset: z.number().int().min(0).default(0),
  }, 'mmap(MAP_FIXED) of a region: private or shared, anonymous or a file'),
  munmap: op('at', region, {}, 'munmap(): zap and remove the VMAs'),
  mprotect: op('at', region, { prot }, 'mprotect(): change_protection, may map exclusive anon pages writable'),
  madvise: op('at', region, {
    advice: z.enum(['dontneed', 'dontfork', 'dofork', 'wipeonfork', 'keeponfork', 'pageout']),
  }, 'madvise(): MADV_DONTNEED, MADV_DONTFORK/DOFORK, MADV_WIPEONFORK/KEEPONFORK, MADV_PAGEOUT', []),
  read: op('at', region, {}, 'user loads, one per page (read faults)'),
  write: op('at', region, {}, 'user stores filling each page (write faults, do_wp_page)'),
  fork: op('child', name, {}, 'fork(): dup_mmap, copy_page_range'),
  exit: op(null, null, {}, 'exit(): exit_mmap, close files'),
  pipe: op('pipe', name, {}, 'pipe()'),
  vmsplice: op('at', region, { pipe: name }, 'vmsplice() into a pipe: FOLL_GET references held by pipe buffers'),
  'read-pipe': op('pipe', name, { pages: z.number().int().min(1).max(16).optional() }, 'read() from the pipe: copies the pages at read time'),
  'io-uring-setup': op(null, null, {}, 'io_uring_setup()', ['io_uring']),
  'io-uring-register': op('at', region, {}, 'IORING_REGISTER_BUFFERS: FOLL_PIN|FOLL_WRITE|FOLL_LONGTERM', ['io_uring']),
  'io-uring-unregister': op(null, null, {}, 'IORING_UNREGISTER_BUFFERS: unpin', ['io_uring']),
  'io-uring-read-fixed': op('at', region, fileArgs, 'IORING_OP_READ_FIXED: file data into the pinned pages', ['io_uring']),
  'io-uring-write-fixed': op('at', region, fileArgs, 'IORING_OP_WRITE_FIXED: the pinned pages to the file', ['io_uring']),
  'odirect-read': op('at', region, fileArgs, 'pread(O_DIRECT): the device writes memory (FOLL_PIN|FOLL_WRITE on 6.18)', ['odirect']),
  'odirect-write': op('at', region, fileArgs, 'pwrite(O_DIRECT): the device reads memory (FOLL_PIN, unshares on 6.18)', ['odirect']),
  'odirect-read-start': op('at', region, { ...fileArgs, handle: name }, 'an O_DIRECT read whose DMA is still in flight (model only)', ['model-only']),
  'odirect-write-start': op('at', region, { ...fileArgs, handle: name }, 'an O_DIRECT write whose DMA is still in flight (model only)', ['model-only']),
  'odirect-complete': op('handle', name, {}, 'the in-flight O_DIRECT completes and releases its pages (model only)', ['model-only']),
  'process-vm-readv': op('at', region, { target: name }, 'process_vm_readv(): R/O FOLL_PIN of the target\'s pages'),
  'process-vm-writev': op('at', region, { target: name }, 'process_vm_writev(): FOLL_PIN|FOLL_WRITE of the target\'s pages'),
  'proc-mem-read': op('at', region, { target: name }, 'read of /proc/PID/mem: FOLL_GET|FOLL_FORCE'),
  'proc-mem-write': op('at', region, { target: name, race: z.enum(['dontneed']).optional() },
    'write of /proc/PID/mem: FOLL_GET|FOLL_FORCE|FOLL_WRITE; race: dontneed puts a MADV_DONTNEED of the target inside GUP\'s fault/retry window (model only)'),
  uffd: op('features', z.array(z.enum(['wp-unpopulated', 'wp-async'])).default([]), {}, 'userfaultfd() + UFFDIO_API', ['uffd']),
  'uffd-register': op('at', region, {}, 'UFFDIO_REGISTER with UFFDIO_REGISTER_MODE_WP', ['uffd']),
  'uffd-wp': op('at', region, {}, 'UFFDIO_WRITEPROTECT mode WP', ['uffd']),
  'uffd-unwp': op('at', region, {}, 'UFFDIO_WRITEPROTECT mode 0', ['uffd']),
  'clear-refs': op('value', z.number().int(), {}, 'write to /proc/PID/clear_refs (4: soft-dirty)'),
  pin: op('at', region, {
    handle: name, write: z.boolean().default(false), longterm: z.boolean().default(true), fast: z.boolean().default(false),
    'race-fork': name.optional(),
  }, 'pin_user_pages(_fast) by a driver, as gup_test PIN_LONGTERM_TEST_START does; race-fork: CHILD forks a child between GUP-fast reading the PTE and taking the pin (model only)', ['gup-test']),
  get: op('at', region, { handle: name, write: z.boolean().default(false), fast: z.boolean().default(false) },
    'get_user_pages(_fast) (FOLL_GET) held by a driver', ['gup-test']),
  'pin-read': op('handle', name, {}, 'the device reads through the pin (PIN_LONGTERM_TEST_READ)', ['gup-test']),
  'pin-write': op('handle', name, {}, 'the device writes through a FOLL_WRITE pin', ['gup-test']),
  unpin: op('handle', name, {}, 'unpin_user_pages / put_page (PIN_LONGTERM_TEST_STOP)', ['gup-test']),
  'file-write': op('file', name, { offset: z.number().int().min(0).default(0), pages: z.number().int().min(1).default(1) }, 'pwrite() to a file'),
  'file-read': op('file', name, { offset: z.number().int().min(0).default(0), pages: z.number().int().min(1).default(1) }, 'pread() from a file'),
  transient: op('at', region, {
    kind: z.enum(['speculative', 'lru-batch', 'swapcache', 'page-lock']), release: z.boolean().default(false),
  }, 'inject (or release) a transient reference on the mapped page (model only)', ['model-only']),
  check: op('at', region, {}, 'no operation: check the page state against the expectations'),
};

/** The expectation keys a step may carry. */
export const expectSchema = z.object({
  sees: z.union([z.string(), z.number().int(), z.array(z.union([z.string(), z.number().int()])).min(1)]).optional(),
  errno: z.string().regex(/^E[A-Z]+$/, 'an errno name such as EFAULT').optional(),
  ret: z.number().int().optional(),
  signal: z.enum(['SIGSEGV', 'SIGBUS']).optional(),
  faults: z.number().int().min(0).optional(),
  'uffd-faults': z.number().int().min(0).optional(),
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
}).strict();

/** Keys every step may carry besides its op's arguments. */
export const commonStepKeys = { label: name.optional(), expect: expectSchema.optional() };
