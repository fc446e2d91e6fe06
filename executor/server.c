/*
 * The server: reads programs on stdin (or /batch in a qemu guest), runs
 * each one in its own process group under a time limit per step (--timeout-ms:
 * a step that takes longer ends the program with END timeout), and writes
 * observations on stdout.
 *
 * Usage: cowlab-exec [--scratch DIR] [--swapfile PATH --swap-mb N] [--swap-area PATH]
 *                    [--page-cluster0] [--cpu N] [--timeout-ms N]
 * --swap-area names the pool's swapfile (another executor's --swapfile) for swapoff steps.
 * Only one executor of a pool should be given --swapfile and --page-cluster0;
 * --page-cluster0 makes it the owner of the machine settings (vm.page-cluster
 * = 0 while it runs, and the ENV request), changed through the journal of
 * machine.c and put back when the last cowlab process that changed them ends.
 *
 * Input, one request at a time:
 *   PROG <nlines>     followed by <nlines> program lines
 *   CAPS              report capabilities (a C line)
 *   ENV <key>=<value> ...
 *                     set machine settings for the programs that follow:
 *                     thp (transparent_hugepage/enabled), thp_<kB>
 *                     (hugepages-<kB>kB/enabled), use_zero_page (0|1),
 *                     khugepaged_sleep (khugepaged/scan_sleep_millisecs),
 *                     ksm_<knob> (/sys/kernel/mm/ksm/<knob>; knobs a kernel lacks
 *                     are skipped, run must exist; the value keep records the
 *                     knob in the settings journal without changing it);
 *                     END ok, or X <why> and END error (unknown key, a size
 *                     this machine does not have, a value the kernel
 *                     rejects, not root, not the machine's owner)
 *   QUIT
 * Program lines (all numbers decimal):
 *   T <ntasks> <ninitial>          task slots; the first ninitial exist at start
 *   R <vpage> <pages>              a region to observe after every step
 *   F <kind> <pages>               a file: kind 0 memfd, 1 tmpfile (ext4, O_DIRECT capable)
 *   O <task> <op> <a0> ... <a6>    a step (opcodes and arguments: cowlab-ops.h), run by
 *                                  the task's main thread
 *   W <thread> [<stop>]            the next line's step (an O line) runs on thread <thread>
 *                                  (1..MAXTH) of its task's process: the <thread>-th thread
 *                                  the process created, by an earlier step `thread <thread>`
 *                                  (OP_THREAD) of the same task; <stop> 1: the uffd monitor
 *                                  holds the step's first fault, and the step is reported
 *                                  while its thread sleeps there until a resume step
 *                                  (OP_RESUME, on the same thread) wakes it and reports it
 * Output for a program:
 *   I <task> <pid>                 a task started
 *   P <step> <ret> <errno> <sig> <faults> <uffd_faults> <ksm> <n> <d1> ... <dn>
 *                                  a step: return value, errno, signal, page faults
 *                                  of the acting task (min+maj), uffd-wp faults,
 *                                  its /proc/self/ksm_merging_pages (-1: not a KSM
 *                                  program, or no such file before 5.19),
 *                                  and the data it read: one tag per page
 *                                  (0 zero-filled, N > 0 every word is step N's, -(1 + v) a
 *                                  write of value v, 2^52 + h mixed bytes with FNV-1a hash h)
 *   M <step> <task> <vpage> <pagemap> <kpagecount> <kpageflags> <huge> <head> <nr>
 *                                  pagemap entry (hex) of a page whose observation changed
 *                                  at the step (entry 0: it became empty; a page not
 *                                  listed is as it was after the step before; the first
 *                                  step lists every non-empty page; a task that exited
 *                                  is not listed again), with the frame's kpagecount and
 *                                  kpageflags (hex), and
 *                                  its folio: huge 1/0 a PMD maps it (PAGEMAP_SCAN
 *                                  PAGE_IS_HUGE; -1 unknown, before 6.7), head the PFN
 *                                  of its head page (hex; 0: not present, or no root),
 *                                  nr its pages (1 a small page; 0 unknown)
 *   X <message>                    a problem with the program or the environment
 *   Z <step> <ksm_zero_pages>      the acting process's ksm_zero_pages (/proc/self/ksm_stat,
 *                                  6.5+) after a step of a KSM program
 *   H <step> <free> <resv> <surplus> the 2 MiB hugetlb pool (free_hugepages, resv_hugepages, surplus_hugepages)
 *                                  after the step, for programs that map hugetlb pages
 *   B <name>=<delta> ...           /proc/vmstat events of the kernel's own reclaim,
 *                                  compaction and migration that moved while the
 *                                  program ran (absent: none did)
 *   END <status>                   ok | error | timeout | crash
 *
 * Everything a scenario touches lives in its scratch directory or in
 * anonymous memory; programs name no paths.
 */
#include "cowlab.h"

void report_step(int step, const struct result *res)
{
	char line[MAXPAGES * 20 + 128];
	int n = snprintf(line, sizeof(line), "P %d %ld %d %d %ld %ld %ld %d", step, res->ret, res->err, res->sig,
			 res->faults, res->ufaults, res->ksm, res->n);

	for (int k = 0; k < res->n && n < (int)sizeof(line) - 24; k++)
		n += snprintf(line + n, sizeof(line) - n, " %ld", res->data[k]);
	out("%s", line);
	/* H <step> <free> <resv>: the 2 MiB hugetlb pool after a step of a program that maps hugetlb pages */
	if (hugetlb_program)
		out("H %d %ld %ld %ld", step, res->hfree, res->hresv, res->hsurplus);
	/* Z <step> <ksm_zero_pages>: the acting process's count, for KSM programs on kernels that show it */
	if (ksm_program && res->kzp >= 0)
		out("Z %d %ld", step, res->kzp);
	/* U <step> <vpage> <flags>: a uffd fault message the step caused (UFFD_PAGEFAULT_FLAG_*), in order */
	for (int k = 0; k < res->nmsg; k++)
		out("U %d %ld %ld", step, res->msgs[k].vpage, res->msgs[k].flags);
}

void report_page(int step, int task, long vpage, uint64_t entry, uint64_t count, uint64_t flags, const struct kfolio *f)
{
	out("M %d %d %ld %llx %llu %llx %d %llx %ld", step, task, vpage, (unsigned long long)entry,
	    (unsigned long long)count, (unsigned long long)flags, f->huge, (unsigned long long)f->head, f->nr);
}

static int validate_prog(void);
static int parse_lines(FILE *in, int nlines, int *read);

/*
 * Reads a program of nlines lines. A malformed line ends the parse; the
 * program's remaining lines are read and dropped, so that the next request
 * starts where it should.
 */
static int parse_prog(FILE *in, int nlines)
{
	char line[1024];
	int read = 0;
	int r = parse_lines(in, nlines, &read);

	for (; r && read < nlines && fgets(line, sizeof(line), in); read++)
		;
	return r;
}

static int parse_lines(FILE *in, int nlines, int *read)
{
	char line[1024];
	int thread = 0;	/* the thread of the next step (W line) */
	int stop = 0;	/* and whether the monitor holds its first fault */

	memset(&P, 0, sizeof(P));
	for (int ln = 1; ln <= nlines; ln++) {
		long v[10];
		int n = 0;
		char *s, *end;

		if (!fgets(line, sizeof(line), in)) {
			out("X program ended after %d of %d lines", ln - 1, nlines);
			return -1;
		}
		*read = ln;
		if (thread && line[0] != 'O') {
			out("X program line %d: a W line is followed by its step (an O line)", ln);
			return -1;
		}
		s = line + 1;
		while (n < 10) {
			long x = strtol(s, &end, 10);
			if (end == s)
				break;
			v[n++] = x;
			s = end;
		}
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '\n' && *s != 0) {
			out("X program line %d: expected numbers, found \"%.20s\"", ln, s);
			return -1;
		}
		switch (line[0]) {
		case 'T':
			if (n != 2 || v[0] < 1 || v[0] > MAXT || v[1] < 1 || v[1] > v[0]) {
				out("X program line %d: T needs task slots (1..%d) and initial tasks", ln, MAXT);
				return -1;
			}
			P.ntasks = v[0];
			P.ninitial = v[1];
			break;
		case 'R':
			if (n != 2 || P.nregions >= MAXR || v[0] < 0 || v[1] < 1 || v[0] + v[1] > (1L << 20)) {
				out("X program line %d: bad region", ln);
				return -1;
			}
			P.rstart[P.nregions] = v[0];
			P.rpages[P.nregions++] = v[1];
			break;
		case 'F':
			if (n != 2 || P.nfiles >= MAXF || (v[0] < 0 || v[0] > 2) || v[1] < 1 || v[1] > MAXPAGES) {
				out("X program line %d: bad file", ln);
				return -1;
			}
			P.fkind[P.nfiles] = v[0];
			P.fpages[P.nfiles++] = v[1];
			break;
		case 'O': {
			struct step *st = &P.steps[P.nsteps];

			if (n < 2 || P.nsteps >= MAXO || v[0] < 0 || v[0] >= P.ntasks || v[1] < 1 || v[1] >= OP_MAX) {
				out("X program line %d: bad step", ln);
				return -1;
			}
			st->task = v[0];
			st->op = v[1];
			st->thread = thread;
			st->stop = stop;
			thread = 0;
			stop = 0;
			for (int k = 0; k < 7; k++)
				st->a[k] = k + 2 < n ? v[k + 2] : 0;
			P.nsteps++;
			break;
		}
		case 'W':
			if (n < 1 || n > 2 || v[0] < 1 || v[0] > MAXTH || (n == 2 && v[1] != 0 && v[1] != 1)) {
				out("X program line %d: W needs a thread (1..%d) and may say 1 (stop: uffd)", ln, MAXTH);
				return -1;
			}
			thread = v[0];
			stop = n == 2 ? (int)v[1] : 0;
			break;
		default:
			out("X program line %d: unknown line type '%c'", ln, line[0]);
			return -1;
		}
	}
	if (thread) {
		out("X program ends with a W line (no step follows it)");
		return -1;
	}
	if (!P.ntasks) {
		out("X program has no T line");
		return -1;
	}
	return validate_prog();
}


/*
 * Every page number, file, pipe and task a step names must be in range (argument kinds: cowlab-ops.h),
 * and every thread must exist: a task's threads are created by its OP_THREAD steps, 1, 2, ... in order;
 * a fork child starts with none (fork() copies only the calling thread).
 */
static int validate_prog(void)
{
	int nthreads[MAXT] = { 0 };	/* the threads each task's process has created so far */

	for (int i = 0; i < P.nsteps; i++) {
		const struct step *st = &P.steps[i];
		long start = -1, pages = 0;
		int bad = 0;

		for (int k = 0; k < 7; k++) {
			long v = st->a[k];

			switch (op_arg_kinds[st->op][k]) {
			case ARG_START: start = v; break;
			case ARG_PAGES: pages = v; break;
			case ARG_FILE: bad |= v < 0 || v >= P.nfiles; break;
			case ARG_FILE_OR_ANON: bad |= v != -1 && (v < 0 || v >= P.nfiles); break;
			case ARG_DFILE: bad |= v < 0 || v >= P.nfiles || P.fkind[v] != 1; break;
			case ARG_PIPE: bad |= v < 0 || v >= MAXP; break;
			case ARG_TASK: bad |= v < 0 || v >= P.ntasks; break;
			case ARG_ADVICE: bad |= v < 1 || v > ADV_UNMERGEABLE; break;
			case ARG_THREAD: bad |= v < 1 || v > MAXTH; break;
			case ARG_OTHER: break;
			}
		}
		if (bad || pages < 0 || pages > MAXPAGES || (start != -1 && (start < 0 || start + pages > (1L << 20)))) {
			out("X step %d: argument out of range", i + 1);
			return -1;
		}
		if (st->thread < 0 || st->thread > nthreads[st->task]) {
			out("X step %d: task %d has no thread %d (its process created %d)", i + 1, st->task, st->thread,
			    nthreads[st->task]);
			return -1;
		}
		if ((st->stop || st->op == OP_RESUME) && !st->thread) {
			out("X step %d: a held step and its resume run on a thread (W line)", i + 1);
			return -1;
		}
		if (st->op == OP_THREAD) {
			if (st->a[0] != nthreads[st->task] + 1) {
				out("X step %d: task %d's next thread is %d, not %ld", i + 1, st->task, nthreads[st->task] + 1,
				    st->a[0]);
				return -1;
			}
			nthreads[st->task]++;
		}
		if (st->op == OP_FORK)
			nthreads[st->a[0]] = 0;
	}
	return 0;
}

/* Whether /proc/PID/pagemap reports uffd-wp (bit 57, 5.13+): protect a page and look. */
static int pagemap_shows_uffd_wp(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int pm = open("/proc/self/pagemap", O_RDONLY);
	uint64_t e = 0;
	int ok = 0;

	if (fd >= 0 && p != MAP_FAILED && pm >= 0 && !ioctl(fd, UFFDIO_API, &api)) {
		struct uffdio_register reg = { .range = { (unsigned long)p, PAGE }, .mode = UFFDIO_REGISTER_MODE_WP };
		struct uffdio_writeprotect wp = { .range = { (unsigned long)p, PAGE }, .mode = UFFDIO_WRITEPROTECT_MODE_WP };

		p[0] = 1;
		if (!ioctl(fd, UFFDIO_REGISTER, &reg) && !ioctl(fd, UFFDIO_WRITEPROTECT, &wp) &&
		    pread(pm, &e, 8, ((unsigned long)p / PAGE) * 8) == 8)
			ok = (e >> PM_UFFD_WP) & 1;
	}
	if (pm >= 0)
		close(pm);
	if (p != MAP_FAILED)
		munmap(p, PAGE);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Whether the PAGEMAP_SCAN ioctl works (6.7+): scan one page of our own. */
static int pagemap_scan_works(void)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	struct cowlab_page_region vec[1];
	int ok = 0;

	if (p != MAP_FAILED && fd >= 0) {
		struct cowlab_pm_scan_arg arg = {
			.size = sizeof(arg), .start = (uintptr_t)p, .end = (uintptr_t)p + PAGE, .vec = (uintptr_t)vec,
			.vec_len = 1, .category_mask = COWLAB_PAGE_IS_HUGE, .return_mask = COWLAB_PAGE_IS_HUGE,
		};

		p[0] = 1;
		ok = ioctl(fd, COWLAB_PAGEMAP_SCAN, &arg) >= 0;
	}
	if (fd >= 0)
		close(fd);
	if (p != MAP_FAILED)
		munmap(p, PAGE);
	return ok;
}

static void report_caps(void)
{
	int kpc = access("/proc/kpagecount", R_OK) == 0;
	int gup = access("/sys/kernel/debug/gup_test", R_OK) == 0;
	int ring = syscall(__NR_io_uring_setup, 0, NULL) < 0 && errno != ENOSYS;
	int uf = syscall(__NR_userfaultfd, O_CLOEXEC);
	int softdirty;
	char sizes[256];

	if (uf >= 0)
		close(uf);
	softdirty = soft_dirty_tracked();
	{
		/* any active swap device counts, ours or the machine's */
		FILE *f = fopen("/proc/swaps", "r");
		char l[512];
		int lines = 0;

		while (f && fgets(l, sizeof(l), f))
			lines++;
		if (f)
			fclose(f);
		if (lines > 1)
			swap_on |= 2;
	}
	{
		long kb[32];
		int n = thp_sizes(kb, 32), len = 0;

		sizes[0] = 0;
		for (int i = 0; i < n && len < (int)sizeof(sizes) - 24; i++)
			len += snprintf(sizes + len, sizeof(sizes) - len, "%s%ld", i ? "," : "", kb[i]);
	}
	out("C root=%d kpagecount=%d gup_test=%d io_uring=%d uffd=%d swap=%d soft_dirty=%d pagemap_uffd_wp=%d zero_page=%d"
	    " thp=%d thp_sizes=%s pagemap_scan=%d ksm=%d hugetlb=%d unpriv_uffd=%ld yama=%ld uring_disabled=%ld",
	    geteuid() == 0, kpc, gup, ring, uf >= 0, swap_on != 0, softdirty, pagemap_shows_uffd_wp(), zero_page_on_read(),
	    access("/sys/kernel/mm/transparent_hugepage/enabled", W_OK) == 0, sizes, pagemap_scan_works(),
	    access(KSM_DIR "/run", W_OK) == 0, access(HUGETLB_DIR "/hugepages-2048kB/nr_hugepages", W_OK) == 0,
	    read_number("/proc/sys/vm/unprivileged_userfaultfd"), read_number("/proc/sys/kernel/yama/ptrace_scope"),
	    read_number("/proc/sys/kernel/io_uring_disabled"));
}

/* Whether the request line is the word `name`, alone or followed by its arguments */
static int is_request(const char *line, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(line, name, n) && (line[n] == ' ' || line[n] == '\n' || !line[n]);
}

/* ENV or WANT key=value ...: `fn` applies or records them; the answer is END ok or X <why> and END error */
static void settings_request(char *line, size_t len, FILE *in, const char *name, int (*fn)(const char *, char *, size_t))
{
	char err[512];

	if (!strchr(line, '\n') && !feof(in)) {
		out("X %s: request too long", name);
		out("END error");
		while (fgets(line, (int)len, in) && !strchr(line, '\n'))
			;
	} else if (fn(line + strlen(name), err, sizeof(err))) {
		out("X %s", err);
		out("END error");
	} else {
		out("END ok");
	}
}

int main(int argc, char **argv)
{
	char line[2048];
	FILE *in = stdin;
	int guest = getpid() == 1;

	if (guest) {
		guest_init();
		in = fopen("/batch", "r");
		if (!in) {
			out("X guest: no /batch");
			in = stdin;
		}
	}

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--scratch") && i + 1 < argc)
			snprintf(scratch_base, sizeof(scratch_base), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--swapfile") && i + 1 < argc)
			snprintf(swapfile, sizeof(swapfile), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--swap-area") && i + 1 < argc)
			snprintf(swap_area, sizeof(swap_area), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--swap-mb") && i + 1 < argc)
			swap_mb = atol(argv[++i]);
		else if (!strcmp(argv[i], "--page-cluster0"))
			want_page_cluster0 = 1;
		else if (!strcmp(argv[i], "--cpu") && i + 1 < argc)
			cpu = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
			timeout_ms = atol(argv[++i]);
		else {
			fprintf(stderr, "cowlab-exec: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGINT, on_fatal_signal);
	signal(SIGHUP, on_fatal_signal);
	signal(SIGPIPE, SIG_IGN);
	atexit(restore_machine);
	/* settings a SIGKILLed run left changed come back before anything else */
	machine_recover();
	machine_own();
	reap_stale_swapfiles();
	reap_stale_scratch();
	scratch_owner = getpid();
	if (swapfile[0] && swap_mb > 0) {
		int e = setup_swap();
		if (e) {
			out("X swap: cannot use %s: %s", swapfile, strerror(-e));
			swapfile[0] = 0;
		}
	}
	if (want_page_cluster0)
		setup_page_cluster();
	step_progress = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (step_progress == MAP_FAILED) {
		out("X cannot map the step counter: %s", strerror(errno));
		return 1;
	}
	out("READY");
	while (fgets(line, sizeof(line), in)) {
		int n;
		pid_t pid;
		int status;
		struct timespec t0, t1;
		long bg0[NBACKGROUND], bg1[NBACKGROUND];
		char bgline[NBACKGROUND * 48];
		int bglen;

		if (!strncmp(line, "QUIT", 4))
			break;
		if (!strncmp(line, "CAPS", 4)) {
			report_caps();
			out("END ok");
			continue;
		}
		if (is_request(line, "ENV")) {
			if (!want_page_cluster0) {
				out("X ENV: this executor does not own the machine settings (no --page-cluster0)");
				out("END error");
			} else {
				settings_request(line, sizeof(line), in, "ENV", machine_env);
			}
			continue;
		}
		if (is_request(line, "WANT")) {
			settings_request(line, sizeof(line), in, "WANT", machine_want);
			continue;
		}
		if (sscanf(line, "PROG %d", &n) != 1 || n < 1 || n > MAXO + MAXR + MAXF + 8) {
			out("X expected PROG <lines>, CAPS, ENV, WANT or QUIT");
			out("END error");
			continue;
		}
		if (parse_prog(in, n)) {
			out("END error");
			continue;
		}
		fflush(stdout);
		/* the server owns the run's scratch directory, so it goes even if the run is killed */
		/* named after this server, so a later one can remove it if this one is SIGKILLed */
		snprintf(scratch, sizeof(scratch), "%s/cowlab-run.%d-XXXXXX", scratch_base, (int)getpid());
		if (!mkdtemp(scratch)) {
			out("X cannot create a scratch directory in %s: %s", scratch_base, strerror(errno));
			out("END error");
			continue;
		}
		vmstat_background(bg0);
		*step_progress = 0;
		pid = fork();
		if (pid == 0)
			_exit(coordinator());
		program_pid = pid;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (long seen = 0;;) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				break;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			/* the limit is per step: a long program is not a slow one */
			if (*step_progress != seen) {
				seen = *step_progress;
				t0 = t1;
			}
			if ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms) {
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				status = -1;
				break;
			}
			usleep(200);
		}
		/* nothing of the scenario survives it; its files were O_TMPFILE (unnamed) */
		kill(-pid, SIGKILL);
		program_pid = 0;
		/* a swapoff step turned the swap area off for the rest of its program only */
		if (program_uses_op(OP_SWAPOFF))
			swap_area_back();
		rmdir(scratch);
		scratch[0] = 0;
		vmstat_background(bg1);
		bglen = 0;
		for (int i = 0; i < NBACKGROUND; i++)
			if (bg0[i] >= 0 && bg1[i] > bg0[i])
				bglen += snprintf(bgline + bglen, sizeof(bgline) - bglen, " %s=%ld", background_names[i],
						  bg1[i] - bg0[i]);
		if (bglen)
			out("B%s", bgline);
		if (status == -1)
			out("END timeout");
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			out("END ok");
		else if (WIFEXITED(status))
			out("END error");
		else
			out("END crash");
	}
	restore_machine();
	if (guest) {
		out("G done");
		/* write() to the console only queues: wait until the serial line has sent it all */
		tcdrain(1);
		sync();
		reboot(RB_POWER_OFF);
	}
	return 0;
}
