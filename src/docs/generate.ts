/**
 * The parts of the documentation that are generated from the code: the
 * operation table of docs/scenario-format.md (from the operation
 * registry), the mechanism table of docs/profiles.md (from the mechanism
 * schema), and the explorer alphabet of docs/explore.md. Each sits between
 * `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`; `npm run docs`
 * rewrites them, and a test fails when a committed doc is stale.
 */
import { type z } from 'zod';
import { OPS } from '../ops/index.js';
import type { OpDef } from '../ops/types.js';
import { mechanismDocs, mechanismValues, type MechGroup } from '../profiles/mechanisms.js';
import { envSchema } from '../profiles/env.js';
import { PROFILES } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';
import { FAMILIES } from '../explore/system.js';

const PLACEHOLDER: Record<string, string> = {
  at: 'R',
  region: 'NAME',
  child: 'CHILD',
  pipe: 'P',
  handle: 'H',
  file: 'F',
  features: '[FEATURES]',
  value: 'N',
};

/** A short description of an argument schema: its values and default. */
function describeArg(s: z.ZodType): string {
  const def = (s as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  switch (def.type) {
    case 'default': {
      const v = def.defaultValue;
      const inner = describeArg(def.innerType as z.ZodType);
      const shown = Array.isArray(v) ? (v.length ? v.join(',') : 'none') : String(v);
      return `${inner ? `${inner}; ` : ''}default ${shown}`;
    }
    case 'optional':
      return describeArg(def.innerType as z.ZodType);
    case 'enum':
      return Object.values(def.entries as Record<string, string>).join(', ');
    case 'array':
      return describeArg(def.element as z.ZodType);
    default:
      return '';
  }
}

const esc = (s: string) => s.replace(/\|/g, '\\|');

/** The operation table: one row per operation of the registry. */
export function opsTable(): string {
  const rows = ['| operation | arguments | what it does (kernel path) | on a real kernel | on hugetlb areas |', '|---|---|---|---|---|'];
  for (const d of OPS as readonly OpDef[]) {
    const head = d.primary ? `\`${d.name}: ${PLACEHOLDER[d.primary] ?? d.primary.toUpperCase()}\`` : `\`${d.name}\``;
    const args = Object.entries(d.args)
      .filter(([k]) => k !== d.primary)
      .map(([k, s]) => {
        const x = describeArg(s as z.ZodType);
        return `\`${k}\`${x ? ` (${x})` : ''}`;
      })
      .join(', ');
    const real =
      'modelOnly' in d.exec
        ? typeof d.exec.modelOnly === 'string'
          ? `model only: ${d.exec.modelOnly.replace(/ \(model only\)$/, '')}`
          : 'model only'
        : `yes${(d.exec).blocker ? ' (its race variant is model only)' : ''}${d.requires?.length ? `; needs ${d.requires.join(', ')}` : ''}`;
    // only an operation that names a range (R) can meet a hugetlb area; the others act on whole processes
    const onHugetlb = d.hugetlb ? 'yes' : d.primary && PLACEHOLDER[d.primary] === 'R' ? 'refused' : '';
    rows.push(`| ${head} | ${esc(args)} | ${esc(d.doc)} | ${esc(real)} | ${onHugetlb} |`);
  }
  return rows.join('\n');
}

/** Which profiles choose each value of a mechanism. */
function users(group: MechGroup, name: string, profiles: readonly Profile[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const p of profiles) {
    const v = String((p.mech[group] as Record<string, unknown>)[name]);
    const l = m.get(v) ?? [];
    l.push(p.id);
    m.set(v, l);
  }
  return m;
}

/** The mechanism table: every mechanism, its values with their commits, and the profiles choosing each. */
export function mechanismsTable(profiles: readonly Profile[] = PROFILES): string {
  const rows = ['| mechanism | what it decides | values (profiles choosing each) |', '|---|---|---|'];
  for (const d of mechanismDocs()) {
    const u = users(d.group, d.name, profiles);
    const vals = mechanismValues(d);
    const values = (vals ?? [...u.keys()]).map((v) => {
      const who = u.get(String(v)) ?? [];
      const what = d.values?.[String(v)];
      return `\`${String(v)}\`${what ? `: ${what}` : ''}${who.length ? ` (${who.join(', ')})` : ' (no built-in profile)'}`;
    });
    rows.push(`| \`${d.group}.${d.name}\` | ${esc(d.description)} | ${esc(values.join('<br>'))} |`);
  }
  return rows.join('\n');
}

/** The environment table: each field of the machine description. */
export function envTable(): string {
  const rows = ['| field | meaning |', '|---|---|'];
  for (const [k, s] of Object.entries(envSchema.shape)) {
    const meta = (s as z.ZodType).meta() as { description?: string } | undefined;
    const vals = describeArg(s as z.ZodType);
    rows.push(`| \`${k}\`${vals ? ` (${vals})` : ''} | ${esc(meta?.description ?? '')} |`);
  }
  return rows.join('\n');
}

/** The explorer's alphabet: every family, what it does, and which operation it comes from. */
export function exploreTable(): string {
  const rows = ['| alphabet entry | actions |', '|---|---|'];
  for (const f of FAMILIES) {
    if (f.impliedBy) rows.push(`| (\`${f.name}\`, with ${f.impliedBy.map((x) => `\`${x}\``).join(' or ')}) | ${esc(f.doc)} |`);
    else rows.push(`| \`${f.name}\` | ${esc(f.doc)} |`);
  }
  return rows.join('\n');
}

/** The generated sections, by name. */
export function generatedSections(): Record<string, string> {
  return { ops: opsTable(), mechanisms: mechanismsTable(), env: envTable(), explore: exploreTable() };
}

/** The text with every generated section replaced; unknown or unterminated sections throw. */
export function fillSections(text: string, sections: Record<string, string> = generatedSections()): string {
  return text.replace(/<!-- generated:([\w-]+) -->\n[\s\S]*?<!-- \/generated:\1 -->/g, (_all, name: string) => {
    const body = sections[name];
    if (body === undefined) throw new Error(`unknown generated section "${name}"`);
    return `<!-- generated:${name} -->\n${body}\n<!-- /generated:${name} -->`;
  });
}

/** The documents that carry generated sections. */
export const GENERATED_DOCS = ['docs/scenario-format.md', 'docs/profiles.md', 'docs/explore.md'] as const;
