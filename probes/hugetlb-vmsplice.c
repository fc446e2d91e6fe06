// SPDX-License-Identifier: MIT
/*
 * hugetlb-vmsplice: replay the four vmsplice cases of the kernel's COW
 * selftest (tools/testing/selftests/mm/cow.c) on one private anonymous
 * hugetlb page of 2 MiB or 1 GiB, and record what happened at each step.
 *
 *   hugetlb-vmsplice SIZE CASE [-q]
 *     SIZE  2M | 1G
 *     CASE  child           vmsplice() + unmap in child; the parent writes
 *           child-mprotect  the same with mprotect(R), mprotect(RW) before the write
 *           before-fork     vmsplice() before fork(), unmap in parent; the child writes
 *           after-fork      vmsplice() after fork(), unmap in parent; the child writes
 *           fork-read       no vmsplice: fork, and the child reads mem[0..3]; says
 *                           whether a fork child sees the parent's data at all
 *           fork-sense      fork-read, but first the child maps and faults a second
 *                           page of the size next to mem and reads its pagemap
 *                           exclusive bit (a sensor, see test_fork_read)
 *     -q    quiet: nothing is read between the test's own steps; only what
 *           can be read after the outcome is decided is recorded
 *
 * Prints exactly one line, "RESULT key=value ...", on stdout. Needs root
 * (PFNs in pagemap, /proc/kpageflags, /proc/kpagecount).
 *
 * The order of the test's own steps (mmap, memset 1, dummy mmap+munmap, the
 * mallocs, memcpy, pipes, vmsplice, fork, munmap, memset 0xff, exit, wait,
 * read, memcmp) follows cow.c. What is added between those steps is reads of
 * /proc and /sys files: reading pagemap, kpageflags or kpagecount never
 * faults a page in or takes a reference that outlives the read. Other
 * additions: the children set PR_SET_PDEATHSIG (see orphan_guard), the
 * writer's page is read through /proc/self/mem once the outcome is decided,
 * and fork-sense maps its own second page. Records are written to a small
 * MAP_SHARED anonymous page set up before the hugetlb mapping, so the child's
 * observations reach the parent without touching the hugetlb page.
 *
 * This is our own code; it only mirrors the selftest's sequence.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

/* /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h). */
#define KPF_LRU		5
#define KPF_MMAP	11
#define KPF_ANON	12
#define KPF_HEAD	15
#define KPF_TAIL	16
#define KPF_HUGE	17
#define KPF_HWPOISON	19
#define KPF_NOPAGE	20
#define KPF_THP		22

/* pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define PM_EXCLUSIVE	(1ULL << 56)
#define PM_FILE		(1ULL << 61)
#define PM_SWAP		(1ULL << 62)
#define PM_PRESENT	(1ULL << 63)

/* One observation of the hugetlb mapping from one process. */
struct obs {
	int valid;
	uint64_t pm;		/* raw pagemap entry of mem[0] */
	uint64_t pfn;
	uint64_t kflags;	/* kpageflags of that pfn */
	uint64_t kcount;	/* kpagecount of that pfn */
	long free_pages;	/* free_hugepages of the size */
	long resv_pages;
	double t_ms;		/* ms since the run started */
};

/* Shared record: written by whichever process observed the step. */
struct record {
	struct obs after_memset;	/* parent, after memset(mem, 1) */
	struct obs child_start;		/* child, first thing after fork */
	struct obs after_vmsplice;	/* the vmsplicing process, right after vmsplice */
	struct obs before_write;	/* the writer, just before its write */
	struct obs after_write;		/* the writer, right after its write */
	struct obs after_wait;		/* parent, after wait() (case child: its own mapping) */
	long vmsplice_ret;
	int vmsplice_errno;
	double write_ms;		/* how long the writer's memset took */
	double copy_ms;			/* how long memcpy(old, mem) took */
	unsigned char pipe_head[4];	/* first bytes read back from the pipe */
	unsigned char old_head[4];	/* first bytes of the saved original */
	int pipe_eq_old;		/* -1 unknown, 0/1 */
	long pipe_bytes;
	int child_ret;			/* what the child passes to exit() (case child) */
	int child_stage;		/* how far the child got */
	unsigned char kview_head[4];	/* writer's mem via /proc/self/mem after the run */
	unsigned char uview_head[4];	/* writer's mem via its own mapping after the run */
	int kview_ok;
	unsigned char child_saw[4];	/* fork-read: what the child read at mem[0] */
	struct obs sensor;		/* fork-sense: the child's second page */
	uint64_t sensor_addr, mem_addr;
	int sensor_errno;
	int child_pid;
};

static struct record *rec;
static size_t hsize;
static bool quiet;
static struct timespec t0;
static int kflags_fd = -1, kcount_fd = -1;
static char pool_dir[128];

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0.tv_sec) * 1e3 + (t.tv_nsec - t0.tv_nsec) / 1e6;
}

static long read_long_file(const char *path)
{
	char buf[64];
	long v = -1;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		v = (long)strtoull(buf, NULL, 10); /* an underflowed counter shows as -1 */
	}
	close(fd);
	return v;
}

static long pool_value(const char *name)
{
	char path[200];

	snprintf(path, sizeof(path), "%s/%s", pool_dir, name);
	return read_long_file(path);
}

static uint64_t pread_u64(int fd, uint64_t index)
{
	uint64_t v = 0;

	if (fd < 0 || pread(fd, &v, sizeof(v), index * sizeof(v)) != sizeof(v))
		return UINT64_MAX;
	return v;
}

/*
 * Read where mem[0] is mapped in the calling process. /proc/self/pagemap is
 * opened here, not inherited, because an fd opened by the parent keeps
 * reporting the parent's mm in the child.
 */
static void observe(struct obs *o, const void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);

	o->pm = fd < 0 ? 0 : pread_u64(fd, (uintptr_t)addr / 4096);
	if (fd >= 0)
		close(fd);
	o->pfn = (o->pm & PM_PRESENT) ? (o->pm & PM_PFN_MASK) : 0;
	o->kflags = o->pfn ? pread_u64(kflags_fd, o->pfn) : 0;
	o->kcount = o->pfn ? pread_u64(kcount_fd, o->pfn) : 0;
	o->free_pages = pool_value("free_hugepages");
	o->resv_pages = pool_value("resv_hugepages");
	o->t_ms = now_ms();
	o->valid = 1;
}

/* The in-between observations are skipped in quiet mode. */
static void step(struct obs *o, const void *addr)
{
	if (!quiet)
		observe(o, addr);
}

static void print_obs(const char *name, const struct obs *o)
{
	if (!o->valid) {
		printf(" %s=-", name);
		return;
	}
	printf(" %s.present=%d %s.excl=%d %s.pfn=0x%" PRIx64,
	       name, !!(o->pm & PM_PRESENT), name, !!(o->pm & PM_EXCLUSIVE),
	       name, o->pfn);
	if (o->pfn)
		printf(" %s.huge=%d %s.anon=%d %s.head=%d %s.thp=%d %s.kflags=0x%" PRIx64
		       " %s.kcount=%" PRIu64,
		       name, !!(o->kflags & (1ULL << KPF_HUGE)),
		       name, !!(o->kflags & (1ULL << KPF_ANON)),
		       name, !!(o->kflags & (1ULL << KPF_HEAD)),
		       name, !!(o->kflags & (1ULL << KPF_THP)),
		       name, o->kflags, name, o->kcount);
	printf(" %s.free=%ld %s.resv=%ld %s.t=%.1f", name, o->free_pages,
	       name, o->resv_pages, name, o->t_ms);
}

/* /proc/vmstat counters whose change could mean migration, compaction or
 * memory pressure during the run. */
static const char *const vm_keys[] = {
	"pgmigrate_success", "pgmigrate_fail", "compact_stall",
	"compact_daemon_wake", "compact_isolated", "compact_success",
	"compact_fail", "thp_fault_alloc", "thp_fault_fallback",
	"thp_migration_success", "thp_split_pud", "thp_split_pmd",
	"nr_anon_transparent_hugepages", "nr_hugetlb", "pgmajfault",
	"allocstall_normal", "allocstall_movable", "pgsteal_kswapd",
	"pgsteal_direct", "pgscan_kswapd", "pgscan_direct",
	"numa_pages_migrated", "balloon_inflate", "balloon_deflate",
	"balloon_migrate", "nr_balloon_pages", "pswpout", "pgdemote_kswapd",
};
#define NR_VM_KEYS (sizeof(vm_keys) / sizeof(vm_keys[0]))

static void read_vmstat(long long *vals)
{
	char line[256], key[128];
	long long v;
	FILE *f = fopen("/proc/vmstat", "r");

	for (size_t i = 0; i < NR_VM_KEYS; i++)
		vals[i] = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %lld", key, &v) != 2)
			continue;
		for (size_t i = 0; i < NR_VM_KEYS; i++)
			if (!strcmp(key, vm_keys[i]))
				vals[i] = v;
	}
	fclose(f);
}

/*
 * Not in the selftest: if the runner kills the probe, its child would wait
 * for the parent forever (it holds the pipe's write end itself) and keep the
 * huge page out of the pool. Dying with the parent avoids that.
 */
static void orphan_guard(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(121);
}

struct comm {
	int child_ready[2];
	int parent_ready[2];
};

static void signal_and_wait(int wfd, int rfd)
{
	char c;

	if (write(wfd, "0", 1) != 1)
		_exit(120);
	while (read(rfd, &c, 1) != 1)
		;
}

static void wait_for(int rfd)
{
	char c;

	while (read(rfd, &c, 1) != 1)
		;
}

/*
 * Child side of "vmsplice() + unmap in child": save the content, vmsplice it
 * into a pipe (a read-only GUP reference), unmap, let the parent write, then
 * read the pipe back and compare. The return value goes to exit(), as in the
 * selftest.
 */
static int child_vmsplice(char *mem, struct comm *c)
{
	struct iovec iov = { .iov_base = mem, .iov_len = hsize };
	char *old, *new;
	ssize_t got, total;
	long transferred;
	int fds[2];
	double t;

	step(&rec->child_start, mem);
	rec->child_stage = 1;
	old = malloc(hsize);
	new = malloc(hsize);
	t = now_ms();
	memcpy(old, mem, hsize);
	rec->copy_ms = now_ms() - t;
	memcpy(rec->old_head, old, 4);
	rec->child_stage = 2;
	if (pipe(fds) < 0)
		return -errno;
	transferred = vmsplice(fds[1], &iov, 1, 0);
	rec->vmsplice_ret = transferred;
	rec->vmsplice_errno = transferred < 0 ? errno : 0;
	if (transferred < 0)
		return -errno;
	if (transferred == 0)
		return -EINVAL;
	step(&rec->after_vmsplice, mem);
	rec->child_stage = 3;
	if (munmap(mem, hsize) < 0)
		return -errno;
	rec->child_stage = 4;
	signal_and_wait(c->child_ready[1], c->parent_ready[0]);
	rec->child_stage = 5;
	for (total = 0; total < transferred; total += got) {
		got = read(fds[0], new + total, transferred - total);
		if (got < 0)
			return -errno;
	}
	rec->pipe_bytes = total;
	memcpy(rec->pipe_head, new, 4);
	int r = memcmp(old, new, transferred);
	rec->pipe_eq_old = r == 0;
	rec->child_ret = r;
	rec->child_stage = 6;
	return r;
}

/* After the outcome is decided: look at the writer's page through the
 * kernel (/proc/self/mem, a GUP + kernel mapping) and through the user
 * mapping, to see whether both views of the frame agree. */
static void views_after(char *mem)
{
	int fd = open("/proc/self/mem", O_RDONLY);

	rec->kview_ok = fd >= 0 &&
		pread(fd, rec->kview_head, 4, (off_t)(uintptr_t)mem) == 4;
	if (fd >= 0)
		close(fd);
	memcpy(rec->uview_head, mem, 4);
}

/* Cases "child" and "child-mprotect": the parent is the writer. */
static const char *test_cow_in_parent(char *mem, bool do_mprotect, int *status)
{
	struct comm c;
	pid_t pid;
	double t;

	if (pipe(c.child_ready) || pipe(c.parent_ready))
		return "FAIL:pipe";
	pid = fork();
	if (pid < 0)
		return "FAIL:fork";
	if (pid == 0) {
		orphan_guard();
		exit(child_vmsplice(mem, &c));
	}
	rec->child_pid = pid;

	wait_for(c.child_ready[0]);
	if (do_mprotect) {
		/* The selftest's mprotect pair: a chance to map the page
		 * writable without a write fault. */
		int r = mprotect(mem, hsize, PROT_READ);

		r |= mprotect(mem, hsize, PROT_READ | PROT_WRITE);
		if (r) {
			if (write(c.parent_ready[1], "0", 1) != 1)
				return "FAIL:write";
			wait(status);
			return "FAIL:mprotect";
		}
	}
	step(&rec->before_write, mem);
	t = now_ms();
	memset(mem, 0xff, hsize);
	rec->write_ms = now_ms() - t;
	step(&rec->after_write, mem);
	if (write(c.parent_ready[1], "0", 1) != 1)
		return "FAIL:write";
	if (waitpid(pid, status, 0) != pid)
		return "FAIL:wait";

	/* Post-hoc (both modes): what the parent now maps. */
	observe(&rec->after_wait, mem);
	views_after(mem);

	/* cow.c: a normal exit with status 0 is PASS, anything else is the
	 * expected "Leak" for hugetlb. */
	if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
		return "PASS";
	return "XFAIL";
}

/* Cases "before-fork" and "after-fork": the parent vmsplices and unmaps,
 * the child is the writer. */
static const char *test_vmsplice_in_parent(char *mem, bool before_fork, int *status)
{
	struct iovec iov = { .iov_base = mem, .iov_len = hsize };
	long transferred = 0;
	ssize_t got, total;
	struct comm c;
	char *old, *new;
	int fds[2];
	pid_t pid;
	double t;

	old = malloc(hsize);
	new = malloc(hsize);
	t = now_ms();
	memcpy(old, mem, hsize);
	rec->copy_ms = now_ms() - t;
	memcpy(rec->old_head, old, 4);

	if (pipe(c.child_ready) || pipe(c.parent_ready))
		return "FAIL:pipe";
	if (pipe(fds) < 0)
		return "FAIL:pipe";
	if (before_fork) {
		transferred = vmsplice(fds[1], &iov, 1, 0);
		rec->vmsplice_ret = transferred;
		rec->vmsplice_errno = transferred < 0 ? errno : 0;
		if (transferred <= 0)
			return "FAIL:vmsplice";
		step(&rec->after_vmsplice, mem);
	}
	pid = fork();
	if (pid < 0)
		return "FAIL:fork";
	if (pid == 0) {
		orphan_guard();
		step(&rec->child_start, mem);
		rec->child_stage = 1;
		signal_and_wait(c.child_ready[1], c.parent_ready[0]);
		rec->child_stage = 2;
		step(&rec->before_write, mem);
		t = now_ms();
		memset(mem, 0xff, hsize);
		rec->write_ms = now_ms() - t;
		rec->child_stage = 3;
		/* The write is done, so reading here cannot change it; the
		 * writer's PFN is only visible from the writer. Kept even in
		 * quiet mode, since the outcome (the pipe's data) is fixed. */
		observe(&rec->after_write, mem);
		views_after(mem);
		exit(0);
	}
	rec->child_pid = pid;
	if (!before_fork) {
		transferred = vmsplice(fds[1], &iov, 1, 0);
		rec->vmsplice_ret = transferred;
		rec->vmsplice_errno = transferred < 0 ? errno : 0;
		if (transferred <= 0) {
			wait(status);
			return "FAIL:vmsplice";
		}
		step(&rec->after_vmsplice, mem);
	}
	wait_for(c.child_ready[0]);
	if (munmap(mem, hsize) < 0)
		return "FAIL:munmap";
	if (write(c.parent_ready[1], "0", 1) != 1)
		return "FAIL:write";
	if (waitpid(pid, status, 0) != pid)
		return "FAIL:wait";
	if (!WIFEXITED(*status))
		return "FAIL:child-killed";
	for (total = 0; total < transferred; total += got) {
		got = read(fds[0], new + total, transferred - total);
		if (got < 0)
			return "FAIL:read";
	}
	rec->pipe_bytes = total;
	memcpy(rec->pipe_head, new, 4);
	rec->pipe_eq_old = !memcmp(old, new, transferred);
	return rec->pipe_eq_old ? "PASS" : "XFAIL";
}

/*
 * Case "fork-read": the smallest check of what fork() gave the child. The
 * child looks at its pagemap entry first (before touching anything), then
 * reads the first bytes through its mapping. The parent wrote 1s; a child
 * that reads 0s got a fresh page instead of the parent's.
 *
 * Case "fork-sense" adds a sensor before the read: the child maps a second
 * private page of the same size right below mem (so, for 1 GiB pages, its
 * entry sits in the same page-table page as mem's), faults it in by reading
 * it, and reads its pagemap entry. A page mapped once reads kpagecount 1; the
 * pagemap exclusive bit (56) is then set unless the kernel takes the table
 * holding the entry for a shared one. Both that bit and fork's decision to
 * skip an entry come from the table page the child got at fork, so the two
 * can be compared run by run. With two pages in the pool (all a 1 GiB pool
 * gets on this host) the sensor takes the second one, so a child without an
 * entry for mem does not touch it (it would fault in a third page, or get
 * SIGBUS): the outcome is then NO-ENTRY rather than LOST.
 */
static const char *test_fork_read(char *mem, bool sense, int *status)
{
	pid_t pid = fork();

	if (pid < 0)
		return "FAIL:fork";
	if (pid == 0) {
		orphan_guard();
		observe(&rec->child_start, mem);
		if (sense) {
			int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
				    (__builtin_ctzll(hsize) << MAP_HUGE_SHIFT);
			char *want = mem - hsize;
			char *p = mmap(want, hsize, PROT_READ | PROT_WRITE,
				       flags | MAP_FIXED_NOREPLACE, -1, 0);

			if (p == MAP_FAILED)
				p = mmap(NULL, hsize, PROT_READ | PROT_WRITE, flags, -1, 0);
			if (p == MAP_FAILED) {
				rec->sensor_errno = errno;
			} else {
				/* a read fault maps a fresh zeroed page */
				(void)*(volatile char *)p;
				observe(&rec->sensor, p);
				rec->sensor_addr = (uintptr_t)p;
			}
		}
		if (!sense || (rec->child_start.pm & PM_PRESENT))
			memcpy(rec->child_saw, mem, 4);
		rec->child_stage = 1;
		exit(0);
	}
	rec->child_pid = pid;
	if (waitpid(pid, status, 0) != pid)
		return "FAIL:wait";
	if (!WIFEXITED(*status))
		return "FAIL:child-killed";
	if (sense && !(rec->child_start.pm & PM_PRESENT))
		return "NO-ENTRY";
	return memcmp(rec->child_saw, "\1\1\1\1", 4) ? "LOST" : "OK";
}

static void usage(void)
{
	fprintf(stderr, "usage: hugetlb-vmsplice 2M|1G child|child-mprotect|before-fork|after-fork|fork-read|fork-sense [-q]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long long vm0[NR_VM_KEYS], vm1[NR_VM_KEYS];
	const char *kase, *outcome;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
	int status = -1;
	char *mem, *dummy;

	if (argc < 3)
		usage();
	if (!strcmp(argv[1], "2M"))
		hsize = 2UL << 20;
	else if (!strcmp(argv[1], "1G"))
		hsize = 1UL << 30;
	else
		usage();
	kase = argv[2];
	if (strcmp(kase, "child") && strcmp(kase, "child-mprotect") &&
	    strcmp(kase, "before-fork") && strcmp(kase, "after-fork") &&
	    strcmp(kase, "fork-read") && strcmp(kase, "fork-sense"))
		usage();
	quiet = argc > 3 && !strcmp(argv[3], "-q");

	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(pool_dir, sizeof(pool_dir), "/sys/kernel/mm/hugepages/hugepages-%zukB",
		 hsize >> 10);
	kflags_fd = open("/proc/kpageflags", O_RDONLY);
	kcount_fd = open("/proc/kpagecount", O_RDONLY);

	/* The record page lives outside the hugetlb mapping, set up first. */
	rec = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rec == MAP_FAILED) {
		printf("RESULT size=%s case=%s outcome=ERROR:record-mmap\n", argv[1], kase);
		return 1;
	}
	rec->pipe_eq_old = -1;
	rec->child_ret = -1000;

	long free0 = pool_value("free_hugepages");
	read_vmstat(vm0);

	/* The selftest's hugetlb backing, step by step. */
	flags |= __builtin_ctzll(hsize) << MAP_HUGE_SHIFT;
	mem = mmap(NULL, hsize, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (mem == MAP_FAILED) {
		printf("RESULT size=%s case=%s outcome=SKIP:mmap errno=%d free0=%ld\n",
		       argv[1], kase, errno, free0);
		return 0;
	}
	memset(mem, 1, hsize);
	step(&rec->after_memset, mem);
	/* Two pages are needed (one for a copy); the selftest checks that a
	 * second reservation succeeds and drops it again. */
	dummy = mmap(NULL, hsize, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (dummy == MAP_FAILED) {
		printf("RESULT size=%s case=%s outcome=SKIP:dummy errno=%d free0=%ld\n",
		       argv[1], kase, errno, free0);
		munmap(mem, hsize);
		return 0;
	}
	munmap(dummy, hsize);

	if (!strcmp(kase, "child"))
		outcome = test_cow_in_parent(mem, false, &status);
	else if (!strcmp(kase, "child-mprotect"))
		outcome = test_cow_in_parent(mem, true, &status);
	else if (!strcmp(kase, "before-fork"))
		outcome = test_vmsplice_in_parent(mem, true, &status);
	else if (!strcmp(kase, "after-fork"))
		outcome = test_vmsplice_in_parent(mem, false, &status);
	else
		outcome = test_fork_read(mem, !strcmp(kase, "fork-sense"), &status);

	read_vmstat(vm1);
	long free_end = pool_value("free_hugepages");

	/*
	 * How the run went, from the frames seen:
	 *   no-entry  the child had no entry for mem right after fork (it was
	 *             never given the parent's page; any later touch faults in
	 *             a fresh one)
	 *   reuse     the writer's page after its write is the frame the pipe
	 *             holds: the write fault reused it (the leak)
	 *   copy      the writer mapped the pipe's frame before the write and a
	 *             different one after: the write fault copied
	 *   absent    the writer had no entry just before its write
	 * Needs the in-between observations, so "?" in quiet mode.
	 */
	const struct obs *wa = rec->after_write.valid ? &rec->after_write : &rec->after_wait;
	const struct obs *wb = &rec->before_write;
	const struct obs *vs = &rec->after_vmsplice;
	const char *writer_page = "?";
	if (!quiet && rec->child_start.valid && !(rec->child_start.pm & PM_PRESENT))
		writer_page = "no-entry";
	else if (!quiet && wa->valid && vs->valid && wa->pfn && vs->pfn && wa->pfn == vs->pfn)
		writer_page = "reuse";
	else if (!quiet && wb->valid && vs->valid && wb->pfn == vs->pfn && wa->valid && wa->pfn != vs->pfn)
		writer_page = "copy";
	else if (!quiet && wb->valid && !(wb->pm & PM_PRESENT))
		writer_page = "absent";

	printf("RESULT size=%s case=%s mode=%s outcome=%s writer_page=%s", argv[1], kase,
	       quiet ? "quiet" : "full", outcome, writer_page);
	printf(" pid=%d child_pid=%d", getpid(), rec->child_pid);
	printf(" status=0x%x exited=%d exit=%d signal=%d child_ret=%d child_stage=%d",
	       status, WIFEXITED(status), WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	       WIFSIGNALED(status) ? WTERMSIG(status) : 0, rec->child_ret, rec->child_stage);
	printf(" vmsplice=%ld vmsplice_errno=%d pipe_bytes=%ld pipe_eq_old=%d"
	       " pipe_head=%02x%02x%02x%02x old_head=%02x%02x%02x%02x",
	       rec->vmsplice_ret, rec->vmsplice_errno, rec->pipe_bytes, rec->pipe_eq_old,
	       rec->pipe_head[0], rec->pipe_head[1], rec->pipe_head[2], rec->pipe_head[3],
	       rec->old_head[0], rec->old_head[1], rec->old_head[2], rec->old_head[3]);
	printf(" kview_ok=%d kview_head=%02x%02x%02x%02x uview_head=%02x%02x%02x%02x",
	       rec->kview_ok, rec->kview_head[0], rec->kview_head[1], rec->kview_head[2],
	       rec->kview_head[3], rec->uview_head[0], rec->uview_head[1],
	       rec->uview_head[2], rec->uview_head[3]);
	printf(" child_saw=%02x%02x%02x%02x", rec->child_saw[0], rec->child_saw[1],
	       rec->child_saw[2], rec->child_saw[3]);
	printf(" copy_ms=%.1f write_ms=%.1f free0=%ld free_end=%ld", rec->copy_ms,
	       rec->write_ms, free0, free_end);
	print_obs("memset", &rec->after_memset);
	print_obs("child", &rec->child_start);
	print_obs("vmsplice", &rec->after_vmsplice);
	print_obs("wbefore", &rec->before_write);
	print_obs("wafter", &rec->after_write);
	print_obs("pwait", &rec->after_wait);
	if (!strcmp(kase, "fork-sense")) {
		/* same_table: both entries in one page-table page (PUD table
		 * for 1 GiB: 512 GiB; PMD table for 2 MiB: 1 GiB) */
		unsigned int shift = hsize == (1UL << 30) ? 39 : 30;

		printf(" sensor_errno=%d sensor_same_table=%d", rec->sensor_errno,
		       rec->sensor_addr && (rec->sensor_addr >> shift) == ((uintptr_t)mem >> shift));
		print_obs("sensor", &rec->sensor);
	}
	for (size_t i = 0; i < NR_VM_KEYS; i++)
		if (vm0[i] >= 0 && vm1[i] >= 0 && vm1[i] != vm0[i])
			printf(" d.%s=%lld", vm_keys[i], vm1[i] - vm0[i]);
	printf(" total_ms=%.1f\n", now_ms());

	munmap(mem, hsize);
	return 0;
}
