/**
 * ptrace_may_access() in the model (src/kernel/kernel/ptrace.ts): who may
 * read another process's memory, by uid and Yama's ptrace_scope, through
 * process_vm_readv (EPERM) and /proc/PID/mem (EACCES).
 */
import { describe, it, expect } from 'vitest';
import { scenarioFromObject } from '../../../src/scenario/parse.js';
import { resolveScenario } from '../../../src/scenario/resolve.js';
import { runScenario } from '../../../src/scenario/run.js';
import { profileById } from '../../../src/profiles/index.js';
import { profileEnv } from '../../../src/kernel/ctx.js';
import { withEnv } from '../../../src/profiles/env.js';

/** root R forks child U1 that drops root and forks U2; then each reads the others' memory. */
function outcomes(scope: number): Record<string, string> {
  const pairs: [string, string][] = [
    ['R', 'U1'],
    ['U1', 'R'],
    ['U1', 'U2'],
    ['U2', 'U1'],
  ];
  const steps: unknown[] = [
    { R: { mmap: 'a', pages: 1 } },
    { R: { write: 'a' } },
    { R: { fork: 'U1' } },
    { U1: 'setuid' },
    { U1: { fork: 'U2' } },
  ];
  for (const [from, to] of pairs) {
    steps.push({ [from]: { 'process-vm-readv': 'a', target: to } });
    steps.push({ [from]: { 'proc-mem-read': 'a', target: to } });
  }
  const r = resolveScenario(scenarioFromObject({ name: 'ptrace', processes: ['R'], steps }, 'ptrace.yaml'));
  const prof = profileById('linux-6.18');
  const res = runScenario(r, prof, { env: withEnv(profileEnv(prof), { ptraceScope: scope }) });
  const out: Record<string, string> = {};
  pairs.forEach(([from, to], i) => {
    const ret = (k: number) => {
      const v = res.records[5 + 2 * i + k]!.result.ret;
      return v >= 0 ? 'ok' : v === -1 ? 'EPERM' : v === -13 ? 'EACCES' : String(v);
    };
    out[`${from}->${to}`] = `${ret(0)}/${ret(1)}`;
  });
  return out;
}

describe('ptrace_may_access()', () => {
  it('lets root reach everyone and a user reach only its own processes, without Yama', () => {
    expect(outcomes(-1)).toEqual({ 'R->U1': 'ok/ok', 'U1->R': 'EPERM/EACCES', 'U1->U2': 'ok/ok', 'U2->U1': 'ok/ok' });
  });
  it('keeps Yama scope 0 the same and limits scope 1 to descendants', () => {
    expect(outcomes(0)).toEqual(outcomes(-1));
    expect(outcomes(1)).toEqual({ 'R->U1': 'ok/ok', 'U1->R': 'EPERM/EACCES', 'U1->U2': 'ok/ok', 'U2->U1': 'EPERM/EACCES' });
  });
  it('allows only root at scope 2 and nobody at scope 3', () => {
    expect(outcomes(2)).toEqual({ 'R->U1': 'ok/ok', 'U1->R': 'EPERM/EACCES', 'U1->U2': 'EPERM/EACCES', 'U2->U1': 'EPERM/EACCES' });
    expect(outcomes(3)).toEqual({ 'R->U1': 'EPERM/EACCES', 'U1->R': 'EPERM/EACCES', 'U1->U2': 'EPERM/EACCES', 'U2->U1': 'EPERM/EACCES' });
  });
});
