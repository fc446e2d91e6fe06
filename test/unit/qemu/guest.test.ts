import { describe, it, expect } from 'vitest';
import { splitOutput } from '../../../src/qemu/guest.js';
import { resolveOn } from '../../../src/qemu/target.js';
import { profileById } from '../../../src/profiles/index.js';

describe('splitOutput', () => {
  it('splits a console transcript into the answers, ignoring kernel and qemu lines', () => {
    const lines = [
      'SeaBIOS (version 1.16)',
      '[    0.000000] Linux version 6.1.0-50-cloud-amd64',
      'G release=6.1.0 swap=ram0 scratch=ext4',
      'READY',
      'C root=1 kpagecount=1 gup_test=0 io_uring=1 uffd=1 swap=1 soft_dirty=1 pagemap_uffd_wp=1',
      'END ok',
      'I 0 90',
      'P 1 0 0 0 0 0 -1 0',
      '[    1.2] random: crng init done',
      'P 2 0 0 0 1 0 -1 0',
      'M 2 0 1 8180000000002aa5 1 400005828',
      'H 2 1 -1 0',
      'Z 2 3',
      'END ok',
      'I 0 91',
      'P 1 0 0 0 0 0 -1 1 2',
      'END timeout',
      'G done',
      '[    1.79] reboot: Power down',
    ];
    const o = splitOutput(lines, 2.5);
    expect(o.guest).toMatchObject({ release: '6.1.0', swap: 'ram0', scratch: 'ext4', done: '' });
    expect(o.caps).toMatchObject({ root: true, gupTest: false, softDirty: true, pagemapUffdWp: true });
    expect(o.results.length).toBe(3); // CAPS' END, then one per program
    const [, a, b] = o.results;
    expect(a!.status).toBe('ok');
    expect(a!.steps.get(2)!.faults).toBe(1);
    expect(a!.pages.get(2)!.get('0:1')!.count).toBe(1);
    // the hugetlb pool and ksm_zero_pages come from the guests too
    expect(a!.steps.get(2)!.hugetlb).toEqual({ free: 1, resv: -1, surplus: 0 });
    expect(a!.steps.get(2)!.ksmZero).toBe(3);
    expect(b!.status).toBe('timeout');
    expect(b!.steps.get(1)!.data).toEqual([2]);
  });
  it('a transcript cut short answers only what finished', () => {
    const o = splitOutput(['G release=5.10', 'I 0 5', 'P 1 0 0 0 0 0 -1 0', 'Kernel panic - not syncing'], 1);
    expect(o.results.length).toBe(0);
    expect(o.tail.at(-1)).toContain('panic');
  });
});

describe('--on', () => {
  it('defaults to the host and linux-6.18', () => {
    expect(resolveOn(undefined, undefined, undefined)).toMatchObject({ name: 'host', profile: { id: 'linux-6.18' } });
    expect(resolveOn('host', profileById('linux-6.0'), undefined).profile.id).toBe('linux-6.0');
  });
  it("wants a profile for a kernel image of one's own", () => {
    expect(() => resolveOn('package.json', undefined, undefined)).toThrow(/needs --kernel ID or --profile FILE/);
    expect(resolveOn('package.json', profileById('linux-6.18'), undefined).guest!.vmlinuz).toMatch(/package\.json$/);
  });
  it('names what is wrong with an unknown kernel', () => {
    expect(() => resolveOn('no-such-kernel', undefined, undefined)).toThrow(/not a fetched kernel.*debian-5\.10/);
  });
});
