import { describe, it, expect } from 'vitest';
import { PROFILES, HISTORY, PROPOSALS, profileById } from '../../../src/profiles/index.js';
import { validateProfile } from '../../../src/profiles/derive.js';
// the loader registers Node module hooks, which only the built JavaScript has (npm test builds first)
import { loadProfileFile } from '../../../dist/profiles/load.js';

describe('built-in profiles', () => {
  it('are complete, valid and uniquely named', () => {
    for (const p of PROFILES) expect(validateProfile(p, p.id)).toEqual(p);
    expect(new Set(PROFILES.map((p) => p.id)).size).toBe(PROFILES.length);
  });
  it('each merged kernel is its predecessor plus named commits', () => {
    expect(HISTORY[0]!.basedOn).toBeNull();
    for (let i = 1; i < HISTORY.length; i++) {
      expect(HISTORY[i]!.basedOn).toBe(HISTORY[i - 1]!.id);
      expect(HISTORY[i]!.commits.length).toBeGreaterThan(0);
      // a profile that changes no mechanism would be a copy
      const prev = HISTORY[i - 1]!.mech as unknown as Record<string, unknown>;
      const cur = HISTORY[i]!.mech as unknown as Record<string, unknown>;
      expect(Object.keys(cur).some((k) => cur[k] !== prev[k])).toBe(true);
    }
  });
  it('the proposals start from the kernel of the thread (5.11-rc)', () => {
    for (const p of PROPOSALS) expect(p.basedOn).toBe('linux-5.11');
  });
});

describe("profiles of one's own", () => {
  it('loads a JavaScript module that imports cowlab', async () => {
    const p = await loadProfileFile('examples/profiles/aa-fork-copies-all-gup.mjs');
    expect(p.id).toBe('aa-fork-copies-all-gup');
    expect(p.basedOn).toBe('aa-full-accuracy');
    expect(p.mech.fork.copyReferenced).toBe('any');
    expect(p.mech.cow).toEqual(profileById('aa-full-accuracy').mech.cow);
  });
  it('loads a TypeScript module', async () => {
    const p = await loadProfileFile('examples/profiles/linus-rules-mprotect-skip.ts');
    expect(p.mech.wrprotect.mprotectPinned).toBe('skip');
  });
  it('rejects a module that is not a profile, naming the field', async () => {
    await expect(loadProfileFile('package.json')).rejects.toThrow(/package\.json/);
    await expect(loadProfileFile('no/such/file.mjs')).rejects.toThrow(/no such profile file/);
  });
});
