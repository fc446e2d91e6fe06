/**
 * From a resolved scenario to the executor's program (executor/server.c
 * documents the format), or the reason it cannot run on a real kernel; and
 * the C header the executor is built with (executor/cowlab-ops.h), generated
 * from the operation registry so that the opcodes cannot disagree.
 */
import type { Resolved, ResolvedStep } from '../scenario/resolve.js';
import { OPS, findOp, opArgs, type Op } from '../ops/index.js';
import type { ExecEncoding, OpDef } from '../ops/types.js';
import { ADVICE_CODES } from '../ops/madvise.js';
import { PAGEMAP_BITS, KPF_BITS } from '../kernel/fs/proc/bits.js';
import { SCENARIO_LIMITS } from '../ops/limits.js';

/** The operations the executor implements, in opcode order (opcode = index + 1). */
export const EXEC_OPS: readonly OpDef[] = (OPS as readonly OpDef[]).filter((d) => 'encode' in d.exec);

const OPCODE = new Map(EXEC_OPS.map((d, i) => [d.name, i + 1]));

/** The executor's opcode of an operation, or undefined for a model-only one. */
export function opcode(name: string): number | undefined {
  return OPCODE.get(name);
}

/** The C name of an operation: `read-pipe` is OP_READ_PIPE and op_read_pipe(). */
export function cName(name: string): string {
  return name.replace(/-/g, '_');
}

/** Why a step cannot run on a real kernel, or null. */
export function unsupported(op: Op): string | null {
  const def = findOp(op.op)!;
  const m = opArgs(op);
  if ('modelOnly' in def.exec) return typeof def.exec.modelOnly === 'string' ? def.exec.modelOnly : def.exec.modelOnly(m);
  return def.exec.blocker?.(m) ?? null;
}

/**
 * The executor's number of each thread `thread` steps create, by name: its
 * place among its process's threads, 1, 2, ... in the order they are created
 * (0, absent here, is a process's main thread, which a process's own name
 * names). The model's thread slots are scenario-wide instead.
 */
export function threadNumbers(r: Pick<Resolved, 'threads'>): Map<string, number> {
  const made = new Map<number, number>();
  const num = new Map<string, number>();
  // r.threads is in creation order
  for (const x of r.threads) {
    const k = (made.get(x.task) ?? 0) + 1;
    made.set(x.task, k);
    num.set(x.name, k);
  }
  return num;
}

/**
 * The executor lines of a step: `O <task> <opcode> <args>`, after `W <thread>`
 * when a thread of the process other than its main one runs it. `threads`:
 * threadNumbers().
 */
function stepLines(s: ResolvedStep, threads: Map<string, number>): string[] {
  const op = s.op;
  const def = findOp(op.op)!;
  const enc = def.exec as ExecEncoding<object>;
  // the 1-based step index is the data tag of writes
  const args = enc.encode(opArgs(op), s.step.index);
  const th = threads.get(s.step.proc);
  // W <thread> 1: the monitor holds the step's first uffd fault (stop: uffd)
  const hold = enc.holds?.(opArgs(op)) ? ' 1' : '';
  return [...(th ? [`W ${th}${hold}`] : []), `O ${op.t} ${opcode(op.op)!}${args.map((a) => ` ${a}`).join('')}`];
}

/**
 * The program for a scenario (executor/server.c documents the lines); throws
 * if a step is unsupported (check `programBlocker` first). A step of a
 * thread a `thread` step created comes with a `W` line naming that thread by
 * its number in its process (threadNumbers); the thread step's argument is
 * that number too (its model operation holds it).
 */
export function toProgram(r: Resolved): string[] {
  const lines = [`T ${r.tasks.length} ${r.initial.length}`];
  for (const g of r.regions) lines.push(`R ${g.start} ${g.pages}`);
  // file kinds: 0 memfd, 1 tmpfile, 2 MFD_HUGETLB memfd (2 MiB pages)
  for (const f of r.files) lines.push(`F ${f.kind === 'memfd' ? (f.hugetlb ? 2 : 0) : 1} ${f.pages}`);
  const threads = threadNumbers(r);
  for (const s of r.steps) lines.push(...stepLines(s, threads));
  return lines;
}

/** Why no executor runs 1 GiB hugetlb pages. */
export const GIGANTIC_BLOCKER =
  "1 GiB hugetlb pages are model only: the executor's per-step tables hold 2048 pages (and this host's CPU has no pdpe1gb)";

/**
 * The first reason the scenario cannot run on a real kernel, or null
 * (`besides1g`: leaving out that it has 1 GiB pages: could it run if it had none?).
 */
export function programBlocker(r: Resolved, besides1g = false): string | null {
  if (r.sc.diff.skip) return r.sc.diff.skip;
  if (!besides1g && r.needs.includes('hugetlb-1g')) return GIGANTIC_BLOCKER;
  for (const s of r.steps) {
    const why = unsupported(s.op);
    if (why) return `step ${s.step.index} (${s.step.op}) ${why}`;
  }
  for (const s of r.steps) {
    const o = s.op;
    if ((o.op === 'odirect-read' || o.op === 'odirect-write') && r.files[o.file]?.kind !== 'tmpfile') {
      return `step ${s.step.index}: O_DIRECT is modelled on tmpfile (ext4) files only`;
    }
  }
  return null;
}

/** The argument kind the C side validates, from an argument's name in the registry. */
function argKind(name: string): string {
  switch (name) {
    case 'start':
      return 'ARG_START';
    case 'pages':
      return 'ARG_PAGES';
    case 'file':
      return 'ARG_FILE';
    case 'file_or_anon':
      return 'ARG_FILE_OR_ANON';
    case 'dfile':
      return 'ARG_DFILE';
    case 'p':
      return 'ARG_PIPE';
    case 'target':
    case 'child':
      return 'ARG_TASK';
    case 'advice':
      return 'ARG_ADVICE';
    case 'thread':
      return 'ARG_THREAD';
    default:
      return 'ARG_OTHER';
  }
}

/** executor/cowlab-ops.h: opcodes, argument kinds and the function table, from the registry. */
export function opsHeader(): string {
  const L: string[] = [];
  L.push('/* Generated from the operation registry (src/ops/) by src/executor/program.ts: do not edit. */');
  L.push('#ifndef COWLAB_OPS_H');
  L.push('#define COWLAB_OPS_H');
  L.push('');
  L.push('/* the limits scenarios are checked against (src/scenario/limits.ts) are these tables */');
  const lim: [string, string, number][] = [
    ['MAXT', '>=', SCENARIO_LIMITS.processes],
    ['MAXR', '==', SCENARIO_LIMITS.regions],
    ['MAXF', '==', SCENARIO_LIMITS.files],
    ['MAXP', '==', SCENARIO_LIMITS.pipes],
    ['MAXO', '==', SCENARIO_LIMITS.steps],
    ['MAXTH', '==', SCENARIO_LIMITS.threads],
    ['MAXPAGES', '==', SCENARIO_LIMITS.pages],
  ];
  for (const [c, rel, v] of lim) L.push(`_Static_assert(${c} ${rel} ${v}, "${c}: src/scenario/limits.ts says ${v}");`);
  L.push('');
  L.push('enum op {');
  EXEC_OPS.forEach((d, i) => {
    const enc = d.exec as ExecEncoding<object>;
    L.push(`\tOP_${cName(d.name).toUpperCase()} = ${i + 1},\t/* ${d.name}: ${enc.args.join(' ') || '(no arguments)'} */`);
  });
  L.push('\tOP_MAX');
  L.push('};');
  L.push('');
  L.push(
    `enum advice { ${Object.entries(ADVICE_CODES)
      .map(([a, v]) => `ADV_${a.replace(/^MADV_/, '')} = ${v}`)
      .join(', ')} };`,
  );
  L.push('');
  L.push('/* pagemap and kpageflags bits (src/kernel/fs/proc/bits.ts) */');
  for (const [k, v] of Object.entries(PAGEMAP_BITS)) L.push(`#define PM_${k} ${v}`);
  for (const [k, v] of Object.entries(KPF_BITS)) L.push(`#define KPF_${k} ${v}`);
  L.push('');
  L.push('static const char *const op_names[OP_MAX] __attribute__((unused)) = {');
  for (const d of EXEC_OPS) L.push(`\t[OP_${cName(d.name).toUpperCase()}] = "${d.name}",`);
  L.push('};');
  L.push('');
  L.push('static const unsigned char op_arg_kinds[OP_MAX][7] __attribute__((unused)) = {');
  for (const d of EXEC_OPS) {
    const enc = d.exec as ExecEncoding<object>;
    L.push(`\t[OP_${cName(d.name).toUpperCase()}] = { ${enc.args.map(argKind).join(', ') || '0'} },`);
  }
  L.push('};');
  L.push('');
  for (const d of EXEC_OPS) L.push(`long op_${cName(d.name)}(struct stepcx *cx, const long *a);`);
  L.push('');
  L.push('static op_fn *const op_table[OP_MAX] __attribute__((unused)) = {');
  for (const d of EXEC_OPS) L.push(`\t[OP_${cName(d.name).toUpperCase()}] = op_${cName(d.name)},`);
  L.push('};');
  L.push('');
  L.push('#endif /* COWLAB_OPS_H */');
  return L.join('\n') + '\n';
}
