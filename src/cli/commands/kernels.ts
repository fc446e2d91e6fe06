/** `cowlab kernels` (docs/cli.md). */
import type { Command } from 'commander';
import { PROFILES } from '../../profiles/index.js';
import { SUITES, fetchKernel, fetchedKernels } from '../../qemu/fetch.js';
import { mechanismChanges, mechanismDocs, mechanismValues, type MechGroup } from '../../profiles/mechanisms.js';
import { profileEnv } from '../../kernel/ctx.js';
import { out, loadProfileFiles } from '../util.js';
import type { Profile } from '../../profiles/types.js';

export function kernelsCommand(program: Command): void {
  const kernels = program
    .command('kernels')
    .description(
      'List the kernel profiles: each is its predecessor plus named mechanisms. `kernels fetch` downloads real kernels for `diff --on`.',
    )
    .option('--json', 'print JSON: id, title, basedOn, commits, summary, changes (mechanisms that differ from basedOn), mechanisms')
    .option('--profile <file...>', 'also list profiles of your own (see docs/profiles.md)')
    .option('--mechanisms', 'list the mechanisms instead: what each decides, its values with their commits, and the profiles choosing each')
    .action(async (opts: { json?: boolean; profile?: string[]; mechanisms?: boolean }) => {
      const list: Profile[] = [...PROFILES, ...(await loadProfileFiles(opts.profile ?? []))];
      if (opts.mechanisms) {
        const docs = mechanismDocs();
        if (opts.json) {
          out(
            JSON.stringify(
              docs.map((d) => ({
                ...d,
                byProfile: Object.fromEntries(list.map((p) => [p.id, (p.mech[d.group] as Record<string, unknown>)[d.name]])),
              })),
              null,
              2,
            ),
          );
          return;
        }
        for (const d of docs) {
          out(`${d.group}.${d.name}: ${d.description}`);
          for (const v of mechanismValues(d) ?? [...new Set(list.map((p) => (p.mech[d.group] as Record<string, unknown>)[d.name]))]) {
            const who = list.filter((p) => (p.mech[d.group] as Record<string, unknown>)[d.name] === v).map((p) => p.id);
            out(`  ${String(v)}${d.values?.[String(v)] ? `: ${d.values[String(v)]}` : ''}`);
            out(`    ${who.length ? who.join(', ') : '(no profile)'}`);
          }
        }
        return;
      }
      const byId = (id: string | null) => (id ? (list.find((x) => x.id === id) ?? null) : null);
      const changes = (p: Profile): Record<string, { from: unknown; to: unknown }> => {
        const base = byId(p.basedOn);
        const out: Record<string, { from: unknown; to: unknown }> = {};
        if (!base) return out;
        for (const [g, c] of Object.entries(mechanismChanges(base.mech, p.mech))) {
          for (const [k, to] of Object.entries(c as Record<string, unknown>)) {
            out[`${g}.${k}`] = { from: (base.mech[g as MechGroup] as Record<string, unknown>)[k], to };
          }
        }
        return out;
      };
      if (opts.json) {
        out(
          JSON.stringify(
            list.map((p) => ({
              id: p.id,
              title: p.title,
              basedOn: p.basedOn,
              commits: p.commits,
              summary: p.summary,
              changes: changes(p),
              mechanisms: p.mech,
              env: profileEnv(p),
            })),
            null,
            2,
          ),
        );
        return;
      }
      for (const p of list) {
        out(`${p.id}: ${p.title}`);
        out(`  based on ${p.basedOn ?? '(none)'}: ${p.summary}`);
        const ch = Object.entries(changes(p)).map(([k, v]) => `${k} ${String(v.from)} -> ${String(v.to)}`);
        if (ch.length) out(`  changes: ${ch.join('; ')}`);
        for (const c of p.commits) out(`  - ${c}`);
      }
    });
  kernels
    .command('fetch')
    .description(
      "Download Debian's newest cloud kernel of each suite (or of the ids given) for `cowlab diff --on`; cached, versions recorded.",
    )
    .argument('[ids...]', `kernel ids (default: all): ${SUITES.map((x) => x.id).join(', ')}`)
    .action((ids: string[]) => {
      const list = ids.length ? ids : SUITES.map((x) => x.id);
      for (const id of list) fetchKernel(id, (m) => process.stderr.write(`${m}\n`));
      for (const k of fetchedKernels()) out(`${k.id.padEnd(12)} ${k.release.padEnd(28)} Debian ${k.debVersion}  ${k.vmlinuz}`);
    });
}
