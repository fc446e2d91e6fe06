// Run by mechanisms.test.ts in a plain Node process on the built JavaScript
// (npm test builds first): it runs the model some 100,000 times, several
// times faster than through vitest's module transform. Prints JSON:
// { taken: ["group.name=value", ...], dead: [...], exempt: [...], exemptChanged: [...] }.
// Arguments: the mechanisms exempted (JSON list), the coupled values (JSON map), and optionally a
// directory of claims: the test runs one process per core side by side, and each takes the values it
// claims first (a file per value, created exclusively), so none waits on a fixed share.
import { loadScenarios } from '../../../dist/scenario/load.js';
import { sampledInstance } from '../../../dist/scenario/cowc.js';
import { runScenario } from '../../../dist/scenario/run.js';
import { PROFILES } from '../../../dist/profiles/index.js';
import { mechanismDocs, mechanismValues } from '../../../dist/profiles/mechanisms.js';
import { derive } from '../../../dist/profiles/derive.js';
import { profileLacks } from '../../../dist/profiles/support.js';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';

const notYet = new Set(JSON.parse(process.argv[2] ?? '[]'));
// (not the 1 GiB hugetlb scenarios: seconds each on every variant, and their paths are the 2 MiB ones,
// which the unit test "1 GiB pages" checks step for step)
const rs = loadScenarios(['scenarios']).filter((r) => sampledInstance(r.sc.name) && !r.needs.includes('hugetlb-1g'));

/**
 * What a scenario shows on a profile: verdict, first property and step, copy
 * and split metrics, and each step's page faults (which `cowlab diff`
 * compares with a kernel: a mechanism may show only there).
 */
function cell(r, p) {
  if (profileLacks(p, r)) return 'n/a';
  const x = runScenario(r, p);
  const v = x.violations[0];
  const f = x.failures[0];
  const m = x.metrics;
  const faults = x.records.map((s) => s.faults).join(',');
  return `${x.verdict}|${v?.property ?? (f ? 'expectation' : '')}|${v?.step ?? f?.step ?? ''}|${m.copies}|${m.needless}|${m.forkCopies}|${m.reuses}|${m.pmdSplits}|${m.folioSplits}|${faults}`;
}

const base = new Map();
const cells = (p) => {
  let b = base.get(p.id);
  if (!b) base.set(p.id, (b = rs.map((r) => cell(r, p))));
  return b;
};
const taken = [];
const dead = [];
const exempt = [];
const exemptChanged = [];
// newest first: they have every feature a value could show in; then, for a value that shows on none
// of them, the same profiles on the other swap device (a mechanism may act on a block device only)
const order = [...PROFILES].reverse();
const onOtherDevice = order.map((p) =>
  derive(p, {
    id: `${p.id}+swap`,
    title: 'variant',
    summary: 'variant',
    mech: {},
    env: { ...p.env, swap: p.env?.swap === 'sync-io' ? 'file' : 'sync-io' },
  }),
);
// "group.name=value" -> { group: { name: value } }: what that value needs of another mechanism to act
const needs = JSON.parse(process.argv[3] ?? '{}');
const claims = process.argv[4];
/** Whether this process takes value `i` (every value, without a directory of claims). */
const mine = (i) => {
  if (!claims) return true;
  try {
    closeSync(openSync(join(claims, String(i)), 'wx'));
    return true;
  } catch (e) {
    if (e.code === 'EEXIST') return false;
    throw e;
  }
};
let value = 0;
const with_ = (p, id, mech) => derive(p, { id, title: 'variant', summary: 'variant', mech });
const shows = (d, v, profiles) =>
  profiles.some((p) => {
    if (p.mech[d.group][d.name] === v) return false;
    const need = needs[`${d.group}.${d.name}=${String(v)}`];
    // with a coupled value, the baseline has what the value needs, and only the value itself differs
    const base = need ? with_(p, `${p.id}+${JSON.stringify(need)}`, need) : p;
    const q = with_(base, p.id, { [d.group]: { [d.name]: v } });
    const b = cells(base);
    return rs.some((r, i) => cell(r, q) !== b[i]);
  });
for (const d of mechanismDocs()) {
  const key = `${d.group}.${d.name}`;
  // a count: setting it to 1 must change something
  for (const v of mechanismValues(d) ?? [1]) {
    if (!mine(value++)) continue;
    const changes = shows(d, v, order) || shows(d, v, onOtherDevice);
    const name = `${key}=${String(v)}`;
    taken.push(name);
    if (notYet.has(key)) (changes ? exemptChanged : exempt).push(name);
    else if (!changes) dead.push(name);
  }
}
process.stdout.write(JSON.stringify({ taken, dead, exempt, exemptChanged }));
