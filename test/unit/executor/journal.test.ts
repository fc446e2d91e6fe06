/**
 * The executor's settings journal (executor/machine.c), compiled with a
 * small C driver that points it at a temporary directory and a temporary
 * "setting" file, so no machine setting is touched and root is not needed.
 * Needs a C compiler; skipped with the reason printed otherwise.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CFLAGS, executorCoreText } from '../../../src/executor/build.js';

const cc = process.env.CC ?? 'cc';
const why = spawnSync(cc, ['--version']).status === 0 ? null : `no C compiler (${cc})`;
if (why) console.log(`SKIP settings-journal tests: ${why}`);

const dir = mkdtempSync(join(tmpdir(), 'cowlab-journal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/*
 * The owner (the server) sets the "setting" to 1, forks a program process,
 * releases the machine (its end: the original 0 is written back), and only
 * then lets the program process try to set 2 and to write 3 (ksmd's run
 * start); what the child got and the file's final text are printed.
 */
const DRIVER = String.raw`
/* what the server or a reproducer reports: nothing here */
void report_step(int step, const struct result *res) { (void)step; (void)res; }
void report_page(int step, int task, long vpage, uint64_t entry, uint64_t count, uint64_t flags, const struct kfolio *f)
{
	(void)step; (void)task; (void)vpage; (void)entry; (void)count; (void)flags; (void)f;
}

int main(int argc, char **argv)
{
	int go[2], r;
	pid_t c;
	char buf[32] = "";

	if (argc != 3 || pipe(go))
		return 9;
	snprintf(jdir, sizeof(jdir), "%s", argv[1]);
	machine_own();
	if ((r = setting_set(argv[2], "1")))
		return printf("owner set: %d\n", r), 8;
	c = fork();
	if (c == 0) {
		char b;

		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(7);
		printf("child set: %d\n", setting_set(argv[2], "2"));
		printf("child write: %d\n", machine_write(argv[2], "3"));
		fflush(stdout);
		_exit(0);
	}
	close(go[0]);
	machine_release();
	if (write(go[1], "x", 1) != 1)
		return 6;
	waitpid(c, NULL, 0);
	{
		int fd = open(argv[2], O_RDONLY);

		if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0)
			return 5;
		close(fd);
	}
	buf[strcspn(buf, "\n")] = 0;
	printf("final: %s\n", buf);
	return 0;
}
`;

(why ? describe.skip : describe)('settings journal', () => {
  it("refuses a program process's change once its server has released the machine (nothing outlives the restore)", () => {
    const src = join(dir, 'driver.c');
    const bin = join(dir, 'driver');
    writeFileSync(src, `${executorCoreText()}\n${DRIVER}`);
    const b = spawnSync(cc, [...CFLAGS, '-o', bin, src], { encoding: 'utf8' });
    expect(b.stderr).toBe('');
    expect(b.status).toBe(0);
    const jdir = join(dir, 'journal');
    const setting = join(dir, 'setting');
    mkdirSync(jdir);
    writeFileSync(setting, '0\n');
    const r = spawnSync(bin, [jdir, setting], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    // -3 is -ESRCH: the owner is no user any more
    expect(r.stdout).toBe('child set: -3\nchild write: -3\nfinal: 0\n');
    // and no journal is left for a later run to restore
    const journal = join(jdir, 'journal');
    expect(existsSync(journal) ? readFileSync(journal, 'utf8') : '').toBe('');
  });
});
