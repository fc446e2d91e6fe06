/**
 * Reading scenario files: YAML (the `yaml` package, which keeps source
 * positions) validated with zod; every error is reported as one line with
 * file:line:col and what was expected.
 */
import { SCENARIO_LIMITS } from '../ops/limits.js';
import { parseDocument, LineCounter, isMap, isScalar, type Document, type Node as YNode } from 'yaml';
import { z } from 'zod';
import { InputError, type Pos } from './errors.js';
import { type expectSchema, commonStepKeys } from './ops.js';
import type { Scenario, Step, StepExpect, Outcome } from './types.js';
import { findOp, OP_NAMES } from '../ops/index.js';
import { scenarioEnvSchema, scenarioEnv } from '../profiles/env.js';
import { parseRegionRef } from '../ops/args.js';

export { parseRegionRef } from '../ops/args.js';

/** A file's name without its directories and .yaml (no node:path: the parser runs in the browser too). */
export function baseName(file: string): string {
  return file.replace(/^.*[\\/]/, '').replace(/\.ya?ml$/, '');
}

/** documented COW metrics of a run: anonymous pages copied, and copies nobody else could have observed */
const metricKeys = { copies: z.number().int().min(0).optional(), needless: z.number().int().min(0).optional() };

const outcomeSchema = z.union([
  z.enum(['pass', 'fail']),
  z.object({ fail: z.string(), because: z.string().optional(), ...metricKeys }).strict(),
  z.object({ pass: z.string(), because: z.string().optional(), ...metricKeys }).strict(),
]);

const topSchema = z
  .object({
    name: z.string().optional(),
    description: z.string().optional(),
    selftest: z
      .object({
        case: z.string(),
        backing: z.string().optional(),
        tap: z.number().int().min(1).optional(),
        setup: z.number().int().min(0).optional(),
        /** backing classes (templates) on which cow.c reports this test's failure as XFAIL; true on an instance */
        xfail: z.union([z.boolean(), z.array(z.string())]).optional(),
      })
      .strict()
      .optional(),
    source: z.union([z.string(), z.array(z.string())]).optional(),
    requires: z
      .array(z.enum(['root', 'swap', 'io_uring', 'uffd', 'odirect', 'gup-test', 'soft-dirty', 'ksm', 'hugetlb', 'model-only']))
      .optional(),
    processes: z
      .array(z.string().regex(/^[A-Za-z_][\w-]*$/))
      .min(1)
      .optional(),
    files: z
      .record(
        z.string().regex(/^[A-Za-z_][\w-]*$/),
        z
          .object({
            kind: z.enum(['memfd', 'tmpfile']),
            pages: z.number().int().min(1).max(SCENARIO_LIMITS.pages).default(1),
            /** MFD_HUGETLB|MFD_HUGE_2MB (memfd only): 2 MiB pages from the hugetlb pool */
            hugetlb: z.literal('2m').optional(),
          })
          .strict()
          .refine((f) => !f.hugetlb || (f.kind === 'memfd' && f.pages % 512 === 0), {
            message: 'hugetlb: 2m is for memfd files of a whole number of huge pages (512 pages each)',
          }),
      )
      .optional(),
    expect: z.record(z.string(), outcomeSchema).optional(),
    diff: z
      .object({ either: z.array(z.string()).default([]), skip: z.string().optional() })
      .strict()
      .optional(),
    env: scenarioEnvSchema.optional(),
    /** model only: PMD order of the geometry (pages per PMD = 2^order; the real one is 9), small so the explorer can search THPs */
    'pmd-order': z.number().int().min(2).max(9).optional(),
    steps: z.array(z.unknown()).min(1),
  })
  .strict();

/** Where the parts of an input are: a YAML document's nodes, or one fixed place for input built in memory. */
export interface PosSource {
  at(path: readonly (string | number)[]): Pos;
  /** position of a map key (for "unknown key" errors) */
  key(path: readonly (string | number)[], key: string): Pos;
}

/** Input built in memory (the explorer's and the fuzzer's steps): every position is its first line. */
export function fixedPos(file: string): PosSource {
  const p = { file, line: 1, col: 1 };
  return { at: () => p, key: () => p };
}

/** Source positions of a parsed YAML document's nodes. */
export class Positions implements PosSource {
  constructor(
    readonly file: string,
    readonly doc: Document,
    readonly lc: LineCounter,
  ) {}

  at(path: readonly (string | number)[]): Pos {
    // walk up until a node with a range is found
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true) as YNode | undefined;
      const range = node && (node as { range?: [number, number, number] }).range;
      if (range) {
        const p = this.lc.linePos(range[0]);
        return { file: this.file, line: p.line, col: p.col };
      }
    }
    return { file: this.file, line: 1, col: 1 };
  }

  /** Position of a map key (for "unknown key" errors). */
  key(path: readonly (string | number)[], key: string): Pos {
    const node = this.doc.getIn(path, true);
    if (isMap(node)) {
      for (const it of node.items) {
        if (isScalar(it.key) && it.key.value === key && it.key.range) {
          const p = this.lc.linePos(it.key.range[0]);
          return { file: this.file, line: p.line, col: p.col };
        }
      }
    }
    return this.at(path);
  }
}

/** Throws the first zod issue as an InputError at its position. */
export function zodFail(pos: PosSource, base: readonly (string | number)[], err: z.ZodError): never {
  // an unknown key usually explains the other issues (a misspelt required key)
  const issue = err.issues.find((i) => i.code === 'unrecognized_keys') ?? err.issues[0]!;
  const path = [...base, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
  if (issue.code === 'unrecognized_keys') {
    const k = issue.keys[0]!;
    throw new InputError(`unknown key "${k}"`, pos.key(path, k));
  }
  let msg = issue.message.replace(/^Invalid input: /, '');
  if (issue.code === 'invalid_value' && 'values' in issue) msg = `expected one of: ${issue.values.join(', ')}`;
  const where = path.length ? `${path.join('.')}: ` : '';
  throw new InputError(`${where}${msg}`, pos.at(path));
}

function toExpect(e: z.infer<typeof expectSchema> | undefined, pos: PosSource, path: (string | number)[]): StepExpect {
  const out: StepExpect = {};
  if (!e) return out;
  if (e.sees !== undefined) out.sees = Array.isArray(e.sees) ? e.sees : [e.sees];
  if (e.errno !== undefined) out.errno = e.errno;
  if (e.ret !== undefined) out.ret = e.ret;
  if (e.signal !== undefined) out.signal = e.signal;
  if (e.faults !== undefined) out.faults = e.faults;
  if (e['uffd-faults'] !== undefined) out.uffdFaults = e['uffd-faults'];
  if (e['ksm-merging-pages'] !== undefined) out.ksmMergingPages = e['ksm-merging-pages'];
  if (e['hugetlb-free'] !== undefined) out.hugetlbFree = e['hugetlb-free'];
  if (e['hugetlb-resv'] !== undefined) out.hugetlbResv = e['hugetlb-resv'];
  if (e.path !== undefined) out.path = Array.isArray(e.path) ? e.path : [e.path];
  const shares = (rec: Record<string, string> | undefined, key: string) =>
    rec &&
    Object.entries(rec).map(([proc, r]) => {
      const at = parseRegionRef(r);
      if (!at) throw new InputError(`${key}: expected a region like mem or mem[1]`, pos.at([...path, 'expect', key, proc]));
      return { proc, at };
    });
  const sw = shares(e['shared-with'], 'shared-with');
  if (sw) out.sharedWith = sw;
  const nsw = shares(e['not-shared-with'], 'not-shared-with');
  if (nsw) out.notSharedWith = nsw;
  if (e.present !== undefined) out.present = e.present;
  if (e.swapped !== undefined) out.swapped = e.swapped;
  if (e['mapped-once'] !== undefined) out.mappedOnce = e['mapped-once'];
  if (e['anon-exclusive'] !== undefined) out.anonExclusive = e['anon-exclusive'];
  if (e.writable !== undefined) out.writable = e.writable;
  if (e['uffd-wp'] !== undefined) out.uffdWp = e['uffd-wp'];
  if (e.swapcache !== undefined) out.swapcache = e.swapcache;
  if (e.ksm !== undefined) out.ksm = e.ksm;
  if (e.thp !== undefined) out.thp = e.thp;
  if (e['pmd-mapped'] !== undefined) out.pmdMapped = e['pmd-mapped'];
  if (e['huge-zero'] !== undefined) out.hugeZero = e['huge-zero'];
  if (e['zero-page'] !== undefined) out.zeroPage = e['zero-page'];
  if (e.file !== undefined) out.file = e.file;
  if (e['folio-pages'] !== undefined) out.folioPages = e['folio-pages'];
  return out;
}

/** One step of a step list at `base` (default: the scenario's `steps`). */
export function parseStep(raw: unknown, i: number, pos: PosSource, base: readonly (string | number)[] = ['steps']): Step {
  const path: (string | number)[] = [...base, i];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError('expected a step like "- parent: {write: mem}"', pos.at(path));
  }
  const keys = Object.keys(raw);
  if (keys.length !== 1) throw new InputError(`a step names exactly one process, found ${keys.length} keys`, pos.at(path));
  const proc = keys[0]!;
  if (!/^[A-Za-z_][\w-]*$/.test(proc)) throw new InputError(`"${proc}" is not a process name`, pos.key(path, proc));
  const body = (raw as Record<string, unknown>)[proc];
  const bpath = [...path, proc];
  const names = OP_NAMES.join(', ');
  let opName: string;
  let fields: Record<string, unknown>;
  if (typeof body === 'string') {
    opName = body;
    fields = {};
    if (!findOp(opName)) throw new InputError(`unknown operation "${opName}"; expected one of: ${names}`, pos.at(bpath));
  } else if (body && typeof body === 'object' && !Array.isArray(body)) {
    // the first key names the operation: {vmsplice: mem, pipe: p}
    const first = Object.keys(body)[0];
    if (first === undefined || !findOp(first)) {
      throw new InputError(
        `${first === undefined ? 'empty step' : `unknown operation "${first}"`}; a step starts with one of: ${names}`,
        first ? pos.key(bpath, first) : pos.at(bpath),
      );
    }
    opName = first;
    fields = { ...(body as Record<string, unknown>) };
  } else {
    throw new InputError('expected an operation, e.g. {write: mem} or exit', pos.at(bpath));
  }
  const def = findOp(opName)!;
  const primary = fields[opName];
  delete fields[opName];
  const shape = def.args;
  if (def.primary) {
    // an op whose value has a default may be written bare (`- p: uffd`)
    const pr = z.safeParse(shape[def.primary]!, primary ?? undefined);
    if (!pr.success && (primary === undefined || primary === null))
      throw new InputError(`${opName}: expected a ${def.primary}`, pos.at([...bpath, opName]));
    if (!pr.success) zodFail(pos, [...bpath, opName], pr.error);
    fields[def.primary] = pr.data;
  } else if (primary !== undefined && primary !== null && primary !== true) {
    throw new InputError(`${opName} takes no value (write "${proc}: ${opName}")`, pos.at([...bpath, opName]));
  }
  const rest = Object.fromEntries(Object.entries(shape).filter(([k]) => k !== def.primary));
  const schema = z.object({ ...rest, ...commonStepKeys, ...(def.primary ? { [def.primary]: z.unknown() } : {}) }).strict();
  const r = schema.safeParse(fields);
  if (!r.success) zodFail(pos, bpath, r.error);
  const args = { ...r.data };
  const label = args.label;
  const expect = toExpect(args.expect, pos, bpath);
  delete args.label;
  delete args.expect;
  const step: Step = { index: i + 1, proc, op: opName, args, expect, pos: pos.at(path) };
  if (label !== undefined) step.label = label;
  return step;
}

function toOutcome(o: z.infer<typeof outcomeSchema>): Outcome {
  if (o === 'pass') return { verdict: 'pass' };
  if (o === 'fail') return { verdict: 'fail' };
  const metrics = {
    ...(o.copies !== undefined ? { copies: o.copies } : {}),
    ...(o.needless !== undefined ? { needless: o.needless } : {}),
  };
  if ('fail' in o) return { verdict: 'fail', property: o.fail, ...(o.because ? { because: o.because } : {}), ...metrics };
  return { verdict: 'pass', because: o.because ?? o.pass, ...metrics };
}

/** Parses YAML text, keeping positions; InputError at the first syntax error. */
export function loadYaml(text: string, file: string): { raw: unknown; pos: Positions } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const p = lc.linePos(e.pos[0]);
    throw new InputError(`YAML: ${e.message.split('\n')[0]}`, { file, line: p.line, col: p.col });
  }
  return { raw: doc.toJS(), pos: new Positions(file, doc, lc) };
}

/** Parses and validates one scenario file's text. Throws InputError. */
export function parseScenario(text: string, file: string): Scenario {
  const { raw, pos } = loadYaml(text, file);
  return scenarioFromObject(raw, file, pos);
}

/** Validates a scenario given as data (the YAML file's content; built in memory by the fuzzer and the explorer). */
export function scenarioFromObject(raw: unknown, file: string, pos: PosSource = fixedPos(file)): Scenario {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError('expected a mapping with at least "steps"', { file, line: 1, col: 1 });
  }
  const r = topSchema.safeParse(raw);
  if (!r.success) zodFail(pos, [], r.error);
  const top = r.data;
  const steps = top.steps.map((s, i) => parseStep(s, i, pos));
  const sc: Scenario = {
    name: top.name ?? baseName(file),
    file,
    source: top.source === undefined ? [] : Array.isArray(top.source) ? top.source : [top.source],
    requires: top.requires ?? [],
    processes: top.processes ?? [steps[0]!.proc],
    files: Object.entries(top.files ?? {}).map(([name, f]) => ({
      name,
      kind: f.kind,
      pages: f.pages,
      ...(f.hugetlb ? { hugetlb: true } : {}),
    })),
    expect: Object.fromEntries(Object.entries(top.expect ?? {}).map(([k, v]) => [k, toOutcome(v)])),
    diff: { either: top.diff?.either ?? [], ...(top.diff?.skip ? { skip: top.diff.skip } : {}) },
    env: scenarioEnv(top.env),
    steps,
  };
  if (top.description !== undefined) sc.description = top.description;
  if (top['pmd-order'] !== undefined) sc.pmdOrder = top['pmd-order'];
  if (top.selftest !== undefined) sc.selftest = top.selftest;
  return sc;
}
