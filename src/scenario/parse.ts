/**
 * Reading scenario files: YAML (the `yaml` package, which keeps source
 * positions) validated with zod; every error is reported as one line with
 * file:line:col and what was expected.
 */
import { PROPERTIES } from '../properties/monitor.js';
import { didYouMean } from '../util/nearest.js';
import { CAPABILITIES } from '../ops/types.js';
import { SCENARIO_LIMITS } from '../ops/limits.js';
import {
  parseDocument,
  LineCounter,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  visit,
  type Alias,
  type Document,
  type Node as YNode,
} from 'yaml';
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

/**
 * A key or value of the input as a message may show it: quoted when it
 * looks like a name (a misspelt key, an unknown operation), else not at all
 * (`otherwise`), so that an error never echoes arbitrary file content (a
 * line of a file that is not a scenario, a binary's bytes).
 */
export function quoteName(v: unknown, otherwise: string): string {
  return typeof v === 'string' && NAME_LIKE.test(v) ? `"${v}"` : otherwise;
}
const NAME_LIKE = /^[A-Za-z_][\w.-]{0,39}$/;

/** A path of keys for a message: keys that do not look like names are not shown. */
function showPath(path: readonly (string | number)[]): string {
  const keys = (ps: readonly (string | number)[]) =>
    ps.map((p) => (typeof p === 'number' || NAME_LIKE.test(p) ? String(p) : '(key)')).join('.');
  // steps are numbered from 1, as in every other message and in traces
  if (path[0] === 'steps' && typeof path[1] === 'number') return `step ${path[1] + 1}${path.length > 2 ? ` ${keys(path.slice(2))}` : ''}`;
  return keys(path);
}

/** What a scenario file holds, for the messages of input that is not one. */
const EXPECTED = 'expected a scenario: a YAML mapping with "steps:" (docs/scenario-format.md)';

/** documented COW metrics of a run: anonymous pages copied, and copies nobody else could have observed */
const metricKeys = { copies: z.number().int().min(0).optional(), needless: z.number().int().min(0).optional() };

const outcomeSchema = z.union([
  z.enum(['pass', 'fail']),
  z.object({ fail: z.string(), because: z.string().optional(), ...metricKeys }).strict(),
  z.object({ pass: z.string(), because: z.string().optional(), ...metricKeys }).strict(),
]);

/** What an `expect:` value may say fails: a property, or `expectation` (a step's expectation). */
const FAIL_NAMES: readonly string[] = [...PROPERTIES, 'expectation'];
const OUTCOME_KEYS = ['fail', 'pass', 'because', 'copies', 'needless'];
const OUTCOME_FORMS = 'pass, fail, {fail: PROPERTY, because: WHY} or {pass: WHY}';

/**
 * Checks one `expect:` value where it stands, so that a misspelt key or
 * property is an error with its position and the nearest valid name, not
 * a silent XPASS (zod's union would only say "Invalid input").
 */
function checkOutcome(v: unknown, pos: PosSource, path: (string | number)[]): void {
  if (typeof v === 'string') {
    if (v !== 'pass' && v !== 'fail') throw new InputError(`expected ${OUTCOME_FORMS}${didYouMean(v, ['pass', 'fail'])}`, pos.at(path));
    return;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InputError(`expected ${OUTCOME_FORMS}`, pos.at(path));
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!OUTCOME_KEYS.includes(k))
      throw new InputError(`unknown key "${k}"${didYouMean(k, OUTCOME_KEYS)}; expected ${OUTCOME_KEYS.join(', ')}`, pos.key(path, k));
  }
  if (('fail' in o ? 1 : 0) + ('pass' in o ? 1 : 0) !== 1)
    throw new InputError(`expected exactly one of fail: or pass: (${OUTCOME_FORMS})`, pos.at(path));
  if (typeof o.fail === 'string' && !FAIL_NAMES.includes(o.fail))
    throw new InputError(
      `fail: unknown property "${o.fail}"${didYouMean(o.fail, FAIL_NAMES)}; expected one of: ${FAIL_NAMES.join(', ')}`,
      pos.at([...path, 'fail']),
    );
}

const topSchema = z
  .object({
    name: z.string().optional(),
    description: z.string().optional(),
    /** the kernel profile `cowlab run` uses when no --kernel is given (findings record the one they were found on) */
    kernel: z.string().optional(),
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
    requires: z.array(z.enum(CAPABILITIES)).optional(),
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
            pages: z.number().int().min(1).max(SCENARIO_LIMITS.giganticPages).default(1),
            /** MFD_HUGETLB|MFD_HUGE_2MB or MFD_HUGE_1GB (memfd only): 2 MiB or 1 GiB pages from the hugetlb pool */
            hugetlb: z.enum(['2m', '1g']).optional(),
          })
          .strict()
          .refine((f) => !f.hugetlb || (f.kind === 'memfd' && f.pages % (f.hugetlb === '1g' ? 262144 : 512) === 0), {
            message: 'hugetlb: for memfd files of a whole number of huge pages (512 pages each for 2m, 262144 for 1g)',
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
    // a top-level key that is no name: most likely not a scenario file at all
    const hint = path.length === 0 && !NAME_LIKE.test(k) ? `; ${EXPECTED}` : '';
    throw new InputError(`unknown key ${quoteName(k, '(not a name)')}${hint}`, pos.key(path, k));
  }
  let msg = issue.message.replace(/^Invalid input: /, '');
  if (issue.code === 'invalid_value' && 'values' in issue) msg = `expected one of: ${issue.values.join(', ')}`;
  const where = path.length ? `${showPath(path)}: ` : '';
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
  if (e['uffd-msgs'] !== undefined)
    out.uffdMsgs = e['uffd-msgs'].map((m, k) => {
      const at = parseRegionRef(m.at);
      if (!at || (at.count ?? 1) !== 1)
        throw new InputError('uffd-msgs: at: expected one page, like mem or mem[1]', pos.at([...path, 'expect', 'uffd-msgs', k, 'at']));
      return { at, flags: m.flags };
    });
  if (e['ksm-merging-pages'] !== undefined) out.ksmMergingPages = e['ksm-merging-pages'];
  if (e['ksm-zero-pages'] !== undefined) out.ksmZeroPages = e['ksm-zero-pages'];
  if (e['hugetlb-free'] !== undefined) out.hugetlbFree = e['hugetlb-free'];
  if (e['hugetlb-resv'] !== undefined) out.hugetlbResv = e['hugetlb-resv'];
  if (e['hugetlb-surplus'] !== undefined) out.hugetlbSurplus = e['hugetlb-surplus'];
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
  if (e.anon !== undefined) out.anon = e.anon;
  if (e['soft-dirty'] !== undefined) out.softDirty = e['soft-dirty'];
  if (e['same-frame-as'] !== undefined) out.sameFrameAs = e['same-frame-as'];
  if (e['new-frame-since'] !== undefined) out.newFrameSince = e['new-frame-since'];
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
  if (!/^[A-Za-z_][\w-]*$/.test(proc))
    throw new InputError(
      `${quoteName(proc, 'the key')} is not a process name (expected a step like "- parent: {write: mem}")`,
      pos.key(path, proc),
    );
  const body = (raw as Record<string, unknown>)[proc];
  const bpath = [...path, proc];
  const names = OP_NAMES.join(', ');
  let opName: string;
  let fields: Record<string, unknown>;
  if (typeof body === 'string') {
    opName = body;
    fields = {};
    if (!findOp(opName))
      throw new InputError(`unknown operation ${quoteName(opName, '(not a name)')}; expected one of: ${names}`, pos.at(bpath));
  } else if (body && typeof body === 'object' && !Array.isArray(body)) {
    // the first key names the operation: {vmsplice: mem, pipe: p}
    const first = Object.keys(body)[0];
    if (first === undefined || !findOp(first)) {
      throw new InputError(
        `${first === undefined ? 'empty step' : `unknown operation ${quoteName(first, '(not a name)')}`}; a step starts with one of: ${names}`,
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
  // the executor's per-step limit, where the value is (resolve checks an mmap of a 1 GiB memfd)
  const seen = r.data as Record<string, unknown>;
  if (
    opName === 'mmap' &&
    typeof seen.pages === 'number' &&
    seen.pages > SCENARIO_LIMITS.pages &&
    seen.hugetlb !== '1g' &&
    seen.file === undefined
  )
    throw new InputError(
      `pages: Too big: expected number to be <=${SCENARIO_LIMITS.pages} (the executor's limit; more only for hugetlb: 1g)`,
      pos.at([...bpath, 'pages']),
    );
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

/** How deep collections may nest (aliases included): scenarios need a handful of levels. */
export const MAX_YAML_DEPTH = 64;
/** How many values aliases (`*name`) may expand to in all: a billion-laughs document expands to billions. */
export const MAX_ALIAS_VALUES = 100_000;

/**
 * The text of a scenario file's bytes: UTF-8 (a BOM is kept for the YAML
 * parser, which skips it). Bytes that are not UTF-8 make it a binary file:
 * InputError at the first of them, which shows none of the content.
 */
export function scenarioText(bytes: Uint8Array, file: string): string {
  const bad = invalidUtf8(bytes);
  if (bad < 0) return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  const before = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(0, bad));
  const nl = before.lastIndexOf('\n');
  throw new InputError(`not UTF-8 text (a binary file?); ${EXPECTED}`, {
    file,
    line: (before.match(/\n/g)?.length ?? 0) + 1,
    col: before.length - nl,
  });
}

/** Offset of the first byte that is not part of a valid UTF-8 sequence, or -1. */
function invalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n === 0 || i + n > b.length) return i;
    // the second byte's range excludes overlong forms, surrogates and code points above U+10FFFF
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    if (b[i + 1]! < lo || b[i + 1]! > hi) return i;
    for (let k = 2; k < n; k++) if (b[i + k]! < 0x80 || b[i + k]! > 0xbf) return i;
    i += n;
  }
  return -1;
}

/**
 * Messages of the yaml package that quote the input (a tag, an escape, a
 * directive, an unexpected token's text): replaced by what was expected,
 * so that an error never echoes arbitrary file content.
 */
const YAML_QUOTING: Record<string, string> = {
  TAG_RESOLVE_FAILED: 'unknown tag (scenarios use no !tags)',
  BAD_COLLECTION_TYPE: 'a tag that does not fit its value (scenarios use no !tags)',
  BAD_DQ_ESCAPE: 'invalid escape sequence in a double-quoted string',
  BAD_DIRECTIVE: 'invalid % directive',
  BAD_PROP_ORDER: 'anchors and tags must come after the - ? or : indicator',
  UNEXPECTED_TOKEN: 'unexpected text here (expected a key: value mapping or a list)',
  IMPOSSIBLE: 'unreadable YAML',
};

/**
 * Parses YAML text, keeping positions; InputError at the first syntax
 * error, at text that is not text (control characters), at collections
 * nested deeper than MAX_YAML_DEPTH, and at aliases that expand to more
 * than MAX_ALIAS_VALUES values or into themselves.
 */
export function loadYaml(text: string, file: string): { raw: unknown; pos: Positions } {
  const lc = new LineCounter();
  const at = (offset: number): Pos => {
    const p = lc.linePos(offset);
    return { file, line: p.line, col: p.col };
  };
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  // YAML allows tab, LF and CR of the C0 controls; others (NUL above all) mean a binary file
  const ctl = text.search(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/);
  if (ctl >= 0) throw new InputError(`a control character, not text (a binary file?); ${EXPECTED}`, at(ctl));
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const first = e.message.split('\n')[0]!;
    // the parser recurses per level: past a few hundred levels it reports the stack overflow
    const msg = /call stack/i.test(first) ? `nested more than ${MAX_YAML_DEPTH} levels deep` : (YAML_QUOTING[e.code] ?? first);
    throw new InputError(`YAML: ${msg}`, at(e.pos[0]));
  }
  checkExpansion(doc, at);
  // checkExpansion bounds what aliases expand to, in the yaml package's place (whose error has no position)
  return { raw: doc.toJS({ maxAliasCount: -1 }), pos: new Positions(file, doc, lc) };
}

/**
 * Walks the document as toJS() will expand it, aliases included, and
 * throws at the first node past the depth bound, the first alias past the
 * expansion bound (the outermost alias being expanded: where the document
 * itself asks for it), and any alias naming no earlier anchor or one that
 * contains it. The walk stops at MAX_ALIAS_VALUES, so it is cheap on an
 * alias bomb.
 */
function checkExpansion(doc: Document, at: (offset: number) => Pos): void {
  let expanded = 0;
  const open = new Set<unknown>();
  // each alias's anchor, found in one pass: Alias.resolve(doc) walks the whole document per call, which
  // made a document of n aliases cost n times its size (minutes on the hostile-input property test)
  const targetOf = new Map<Alias, unknown>();
  const latest = new Map<string, unknown>();
  visit(doc, {
    Node: (_k, n) => {
      if (isAlias(n)) targetOf.set(n, latest.get(n.source));
      else if (n.anchor !== undefined) latest.set(n.anchor, n);
    },
  });
  const where = (n: unknown): number => (n as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
  const walk = (n: unknown, depth: number, alias: unknown): void => {
    if (alias !== null && ++expanded > MAX_ALIAS_VALUES)
      throw new InputError(`YAML: aliases expand to more than ${MAX_ALIAS_VALUES} values (an alias bomb?)`, at(where(alias)));
    if (isAlias(n)) {
      const target = targetOf.get(n);
      if (!target) throw new InputError('YAML: an alias (*name) with no anchor (&name) before it', at(where(n)));
      if (open.has(target)) throw new InputError('YAML: an alias (*name) inside the node its anchor names', at(where(n)));
      open.add(target);
      walk(target, depth, alias ?? n);
      open.delete(target);
    } else if (isMap(n) || isSeq(n)) {
      if (depth >= MAX_YAML_DEPTH) throw new InputError(`YAML: nested more than ${MAX_YAML_DEPTH} levels deep`, at(where(alias ?? n)));
      for (const it of n.items as unknown[]) walk(it, depth + 1, alias);
    } else if (isPair(n)) {
      walk(n.key, depth, alias);
      walk(n.value, depth, alias);
    }
  };
  walk(doc.contents, 0, null);
}

/** Parses and validates one scenario file's text. Throws InputError. */
export function parseScenario(text: string, file: string): Scenario {
  const { raw, pos } = loadYaml(text, file);
  return scenarioFromObject(raw, file, pos);
}

/** Validates a scenario given as data (the YAML file's content; built in memory by the fuzzer and the explorer). */
export function scenarioFromObject(raw: unknown, file: string, pos: PosSource = fixedPos(file)): Scenario {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError(EXPECTED, pos.at([]));
  }
  const ex = (raw as { expect?: unknown }).expect;
  if (ex !== null && typeof ex === 'object' && !Array.isArray(ex))
    for (const [k, v] of Object.entries(ex as Record<string, unknown>)) checkOutcome(v, pos, ['expect', k]);
  const r = topSchema.safeParse(raw);
  if (!r.success) zodFail(pos, [], r.error);
  const top = r.data;
  const steps = top.steps.map((s, i) => parseStep(s, i, pos));
  // the executor's limit on a file; past it only where the scenario has 1 GiB pages (model only: cow.c
  // writes a whole 1 GiB buffer to a file, and the executor runs no 1 GiB scenario)
  const gigantic =
    steps.some((s) => s.op === 'mmap' && s.args.hugetlb === '1g') || Object.values(top.files ?? {}).some((f) => f.hugetlb === '1g');
  for (const [name, f] of Object.entries(top.files ?? {}))
    if (f.pages > SCENARIO_LIMITS.pages && f.hugetlb !== '1g' && !gigantic)
      throw new InputError(
        `files.${name}.pages: Too big: expected number to be <=${SCENARIO_LIMITS.pages} (the executor's limit; more only for a hugetlb: 1g memfd or in a scenario with 1 GiB pages)`,
        pos.at(['files', name, 'pages']),
      );
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
      ...(f.hugetlb === '1g' ? { gigantic: true } : {}),
    })),
    expect: Object.fromEntries(Object.entries(top.expect ?? {}).map(([k, v]) => [k, toOutcome(v)])),
    expectPos: Object.fromEntries(Object.keys(top.expect ?? {}).map((k) => [k, pos.key(['expect'], k)])),
    diff: { either: top.diff?.either ?? [], ...(top.diff?.skip ? { skip: top.diff.skip } : {}) },
    env: scenarioEnv(top.env),
    steps,
  };
  if (top.description !== undefined) sc.description = top.description;
  if (top.kernel !== undefined) {
    sc.kernel = top.kernel;
    sc.kernelPos = pos.at(['kernel']);
  }
  if (top['pmd-order'] !== undefined) sc.pmdOrder = top['pmd-order'];
  if (top.selftest !== undefined) sc.selftest = top.selftest;
  return sc;
}
