import { describe, it, expect } from 'vitest';
import { splitOutput, runInGuests, watched, type BootOutput } from '../../../src/qemu/guest.js';
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

describe('runInGuests', () => {
  const k = { id: 'test', vmlinuz: '/nonexistent' } as unknown as Parameters<typeof runInGuests>[0];
  const answer = (n: number): BootOutput => ({
    guest: {},
    caps: null,
    results: Array.from({ length: n }, () => ({ status: 'ok', steps: new Map(), pages: new Map(), messages: [] })),
    seconds: 0,
    tail: [],
  });
  it('runs the batch a failed boot pushes after the other guest found the queue empty', async () => {
    let calls = 0;
    // guest 1 answers its batch at once; guest 2's first boot answers nothing, later, after guest 1 has
    // looked for more work: its program must still get its own boot
    const fake = async (_k: unknown, reqs: string[]): Promise<BootOutput> => {
      const call = calls++;
      if (call === 1) {
        await new Promise((r) => setTimeout(r, 30));
        return answer(0);
      }
      return answer(reqs.length);
    };
    const r = await runInGuests(k, [['a'], ['b']], { jobs: 2, batch: 1, boot: fake });
    expect(r.results.map((x) => x?.status)).toEqual(['ok', 'ok']);
    expect(calls).toBe(3);
  });
});

describe('watched: a guest is stopped by silence, not by the length of its work', () => {
  // a guest prints a line as each step ends; a long program that keeps printing is working (a whole-boot
  // limit of 30 s per program stopped 1000-step fuzz programs on debian-5.10 that were working)
  it('runs on while output keeps coming, past the silence limit many times over', async () => {
    const t0 = Date.now();
    const out = await watched('sh', ['-c', 'for i in $(seq 1 12); do echo P $i; sleep 0.1; done; echo END ok'], {
      idleMs: 400,
      limitMs: 30_000,
    });
    expect(out.trim().split('\n')).toHaveLength(13);
    expect(out).toContain('END ok');
    expect(Date.now() - t0).toBeGreaterThan(1000);
  });
  it('stops a silent one after the silence limit', async () => {
    const t0 = Date.now();
    const out = await watched('sh', ['-c', 'echo READY; sleep 20; echo late'], { idleMs: 300, limitMs: 30_000 });
    expect(out).toBe('READY\n');
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
  it('stops one that talks forever at the whole limit', async () => {
    const out = await watched('sh', ['-c', 'while :; do echo P; sleep 0.05; done'], { idleMs: 1000, limitMs: 500 });
    expect(out.length).toBeGreaterThan(0);
  });
  it('a command that cannot start is an input error', async () => {
    await expect(watched('/nonexistent/qemu', [], { idleMs: 100, limitMs: 100 })).rejects.toThrow(/cannot start \/nonexistent\/qemu/);
  });
});
