/**
 * The operation registry: every scenario operation, each defined once in
 * its own module of this folder. The parser, the resolver, the step
 * function, the fuzzer, the explorer, the C executor's opcodes (a header
 * generated from this list), emit-c, the profile support checks and the
 * operation table of docs/scenario-format.md all derive from it.
 *
 * The order is the fuzzer's (it draws from this list, so reordering changes
 * which scenarios a seed gives) and the executor's opcode numbering.
 */
import type { OpDef } from './types.js';
import { mmap } from './mmap.js';
import { munmap } from './munmap.js';
import { mprotect } from './mprotect.js';
import { madvise } from './madvise.js';
import { read } from './read.js';
import { write } from './write.js';
import { fork } from './fork.js';
import { exit } from './exit.js';
import { pipe } from './pipe.js';
import { vmsplice } from './vmsplice.js';
import { readPipe } from './read-pipe.js';
import { ioUringSetup, ioUringRegister, ioUringUnregister, ioUringWriteFixed, ioUringReadFixed } from './io-uring.js';
import { odirectRead, odirectWrite, odirectReadStart, odirectWriteStart, odirectComplete } from './odirect.js';
import { processVmReadv, processVmWritev, procMemRead, procMemWrite } from './remote.js';
import { uffd, uffdRegister, uffdWp, uffdUnwp } from './uffd.js';
import { clearRefs } from './clear-refs.js';
import { pin, get, pinRead, pinWrite, unpin } from './gup-test.js';
import { fileWrite, fileRead } from './file.js';
import { transientRef } from './transient.js';
import { check } from './check.js';
import { mremap } from './mremap.js';
import { ksmScan } from './ksm.js';
import { swapoff } from './swapoff.js';
import { setuid } from './setuid.js';
import { thread, resume } from './thread.js';
import { khugepaged } from './khugepaged.js';

/** Every operation, in registry order. */
export const OPS = [
  mmap,
  munmap,
  mprotect,
  madvise,
  read,
  write,
  fork,
  exit,
  pipe,
  vmsplice,
  readPipe,
  ioUringSetup,
  ioUringRegister,
  ioUringUnregister,
  ioUringWriteFixed,
  ioUringReadFixed,
  odirectRead,
  odirectWrite,
  odirectReadStart,
  odirectWriteStart,
  odirectComplete,
  processVmReadv,
  processVmWritev,
  procMemRead,
  procMemWrite,
  uffd,
  uffdRegister,
  uffdWp,
  uffdUnwp,
  clearRefs,
  pin,
  get,
  pinRead,
  pinWrite,
  unpin,
  fileWrite,
  fileRead,
  transientRef,
  check,
  mremap,
  ksmScan,
  swapoff,
  setuid,
  thread,
  resume,
  khugepaged,
] as const;

type AnyDef = (typeof OPS)[number];

/** The name of an operation, as scenarios write it. */
export type OpName = AnyDef['name'];

/** A model operation: its name, the acting task, and what the name's definition resolves to. */
export type Op = AnyDef extends infer D ? (D extends OpDef<infer N, infer _S, infer M> ? { op: N; t: number } & M : never) : never;

/** The model operation of one name. */
export type OpOf<N extends OpName> = Extract<Op, { op: N }>;

const BY_NAME = new Map<string, OpDef>(OPS.map((d) => [d.name, d as unknown as OpDef]));

/** The definition of an operation by name, or undefined. */
export function findOp(name: string): OpDef | undefined {
  return BY_NAME.get(name);
}

/** The definition of an operation by name (the name is known to exist). */
export function opDef(name: OpName): OpDef {
  return BY_NAME.get(name)!;
}

/** Every operation name, in registry order. */
export const OP_NAMES: readonly OpName[] = OPS.map((d) => d.name);

/** Each operation's arguments, made once: the explorer steps the same operation objects millions of times. */
const ARGS = new WeakMap<Op, object>();

/**
 * The model-level arguments of an operation (everything but its name and
 * acting task): one frozen object per operation object, so nothing that
 * takes them can change them for the next step.
 */
export function opArgs(op: Op): object {
  let a = ARGS.get(op);
  if (a === undefined) {
    const { op: _n, t: _t, ...rest } = op as { op: string; t: number } & Record<string, unknown>;
    a = Object.freeze(rest);
    ARGS.set(op, a);
  }
  return a;
}

export type { OpDef } from './types.js';
