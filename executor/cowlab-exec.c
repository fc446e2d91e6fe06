/*
 * cowlab-exec: runs cowlab scenario programs on the real kernel.
 *
 * A long-lived server: it reads programs on stdin, runs each one in its own
 * process group under a time limit, and writes observations on stdout in
 * the line format below. It also owns the machine state a run changes (a
 * swapfile, vm.page-cluster) and puts it back on exit, SIGTERM, SIGINT,
 * SIGHUP or the death of its parent.
 *
 * Usage: cowlab-exec [--scratch DIR] [--swapfile PATH --swap-mb N] [--page-cluster0]
 *                    [--cpu N] [--timeout-ms N]
 * Only one executor of a pool should be given --swapfile and --page-cluster0.
 *
 * Input, one request at a time:
 *   PROG <nlines>     followed by <nlines> program lines
 *   CAPS              report capabilities
 *   QUIT
 * Program lines (all numbers decimal):
 *   T <ntasks> <ninitial>          task slots; the first ninitial exist at start
 *   R <vpage> <pages>              a region to observe after every step
 *   F <kind> <pages>               a file: kind 0 memfd, 1 tmpfile (ext4, O_DIRECT capable)
 *   O <task> <op> <a0> ... <a6>    a step (see enum op below)
 * Output for a program:
 *   I <task> <pid>                 a task started
 *   P <step> <ret> <errno> <sig> <faults> <uffd_faults> <n> <d1> ... <dn>
 *                                  a step: return value, errno, signal, page faults
 *                                  of the acting task (min+maj), uffd-wp faults,
 *                                  and the data it read: one tag per page
 *                                  (0 zero-filled, -1 unrecognised, else the step that wrote it)
 *   M <step> <task> <vpage> <pagemap> <kpagecount> <kpageflags>
 *                                  pagemap entry (hex) of a non-empty page after the step,
 *                                  with the frame's kpagecount and kpageflags (hex)
 *   X <message>                    a problem with the program or the environment
 *   END <status>                   ok | error | timeout | crash
 *
 * Everything a scenario touches lives in its scratch directory or in
 * anonymous memory; programs name no paths.
 *
 * As /init of a qemu guest (process 1, linked statically), it first sets up
 * the machine: /proc, /sys and /dev, the brd RAM disks from /brd.ko (ram0 is
 * swap, ram1 receives /scratch.img, an ext4 image, mounted on /scratch for
 * O_DIRECT), then reads its requests from /batch instead of stdin, writes
 * to the serial console, and powers the machine off after QUIT:
 *   G <key>=<value> ...            what the guest set up (kernel release, swap, scratch)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <termios.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE 4096UL
#define BASE 0x200000000000UL /* virtual page 0 of every scenario */
#define MAXT 32
#define MAXR 64
#define MAXF 16
#define MAXO 4096
#define MAXP 16
#define MAXPAGES 512
#define TAG_PREFIX 0x434f574c00000000ULL /* "COWL" */

enum op {
	OP_MMAP = 1,	/* start pages prot shared file pgoff */
	OP_MUNMAP,	/* start pages */
	OP_MPROTECT,	/* start pages prot */
	OP_MADVISE,	/* start pages advice */
	OP_READ,	/* start pages */
	OP_WRITE,	/* start pages tag */
	OP_FORK,	/* child */
	OP_EXIT,
	OP_PIPE,	/* p */
	OP_VMSPLICE,	/* p start pages */
	OP_READPIPE,	/* p pages */
	OP_URING_SETUP,
	OP_URING_REGISTER, /* start pages */
	OP_URING_UNREGISTER,
	OP_URING_RW,	/* write file index start pages */
	OP_ODIRECT,	/* read file index start pages */
	OP_PVM,		/* target write start pages tag */
	OP_PROCMEM,	/* target write start pages tag */
	OP_UFFD,	/* features */
	OP_UFFD_REGISTER, /* start pages */
	OP_UFFD_WP,	/* start pages on */
	OP_CLEAR_REFS,	/* value */
	OP_FILE_WRITE,	/* file index pages tag */
	OP_FILE_READ,	/* file index pages */
	OP_CHECK,
	OP_MAX
};

enum advice { ADV_DONTNEED = 1, ADV_DONTFORK, ADV_DOFORK, ADV_WIPEONFORK, ADV_KEEPONFORK, ADV_PAGEOUT };

struct step { int task, op; long a[7]; };

struct prog {
	int ntasks, ninitial, nregions, nfiles, nsteps;
	long rstart[MAXR], rpages[MAXR];
	int fkind[MAXF];
	long fpages[MAXF];
	struct step steps[MAXO];
};

/* ---------------- server-wide settings and restorable state ---------------- */

static char scratch_base[512] = "/tmp";
static char swapfile[512];
static long swap_mb;
static int swap_on;
static int cpu = -1;
static int want_page_cluster0;
static long timeout_ms = 20000;
static char saved_page_cluster[32];
static int page_cluster_saved;

static void restore_machine(void)
{
	if (swap_on & 1) {
		if (swapoff(swapfile))
			fprintf(stderr, "cowlab-exec: swapoff %s: %s\n", swapfile, strerror(errno));
		swap_on &= ~1;
	}
	if (swapfile[0])
		unlink(swapfile);
	if (page_cluster_saved) {
		int fd = open("/proc/sys/vm/page-cluster", O_WRONLY);
		if (fd >= 0) {
			if (write(fd, saved_page_cluster, strlen(saved_page_cluster)) < 0)
				fprintf(stderr, "cowlab-exec: restoring vm.page-cluster: %s\n", strerror(errno));
			close(fd);
		}
		page_cluster_saved = 0;
	}
}

static void on_fatal_signal(int sig)
{
	restore_machine();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---------------- output helpers ---------------- */

static void out(const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
#ifdef COWLAB_EMBED
	/* in a reproducer everything the executor says is a TAP comment */
	buf[0] = '#';
	buf[1] = ' ';
	n = 2 + vsnprintf(buf + 2, sizeof(buf) - 2, fmt, ap);
#else
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
#endif
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	for (int off = 0; off < n;) {
		ssize_t w = write(1, buf + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			_exit(3);
		}
		off += w;
	}
}

/* ---------------- machine setup ---------------- */

/* Writes a swap header (version 1) on the first page of the file. */
static int write_swap_header(int fd, long pages)
{
	static unsigned char hdr[PAGE];
	uint32_t *w = (uint32_t *)(hdr + 1024);

	memset(hdr, 0, sizeof(hdr));
	w[0] = 1;		/* version */
	w[1] = pages - 1;	/* last_page */
	w[2] = 0;		/* nr_badpages */
	memcpy(hdr + PAGE - 10, "SWAPSPACE2", 10);
	return pwrite(fd, hdr, PAGE, 0) == (ssize_t)PAGE ? 0 : -1;
}

static int setup_swap(void)
{
	long pages = swap_mb * 256;
	static char zero[1 << 20];
	int fd = open(swapfile, O_CREAT | O_EXCL | O_WRONLY, 0600);

	if (fd < 0)
		return -errno;
	for (long i = 0; i < swap_mb; i++) {
		if (write(fd, zero, sizeof(zero)) != (ssize_t)sizeof(zero)) {
			int e = errno;
			close(fd);
			unlink(swapfile);
			return -e;
		}
	}
	if (write_swap_header(fd, pages) || fsync(fd)) {
		int e = errno;
		close(fd);
		unlink(swapfile);
		return -e;
	}
	close(fd);
	if (swapon(swapfile, SWAP_FLAG_PREFER | (32767 << SWAP_FLAG_PRIO_SHIFT))) {
		int e = errno;
		unlink(swapfile);
		return -e;
	}
	swap_on |= 1;
	return 0;
}

/* Swapfiles a killed cowlab left active (cowlab-swap-<pid>-<n>, pid gone): swapoff and remove. */
static void reap_stale_swapfiles(void)
{
	FILE *f = fopen("/proc/swaps", "r");
	char l[1024];

	while (f && fgets(l, sizeof(l), f)) {
		char path[1024];
		char *name;
		int pid;

		if (sscanf(l, "%1023s", path) != 1 || !(name = strstr(path, "cowlab-swap-")))
			continue;
		if (sscanf(name, "cowlab-swap-%d-", &pid) != 1 || pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		if (swapoff(path) == 0) {
			unlink(path);
			fprintf(stderr, "cowlab-exec: removed stale swapfile %s\n", path);
		}
	}
	if (f)
		fclose(f);
}

/* vm.page-cluster = 0: no swap readahead, so swap-ins are one page each. */
static void setup_page_cluster(void)
{
	int fd = open("/proc/sys/vm/page-cluster", O_RDWR);
	ssize_t n;

	if (fd < 0)
		return;
	n = read(fd, saved_page_cluster, sizeof(saved_page_cluster) - 1);
	if (n > 0) {
		saved_page_cluster[n] = 0;
		page_cluster_saved = 1;
		if (pwrite(fd, "0\n", 2, 0) != 2)
			page_cluster_saved = 0;
	}
	close(fd);
}

/* ---------------- per-scenario state (in the coordinator and its tasks) ---------------- */

static struct prog P;
static int chan[MAXT][2];	/* socketpair per task slot: [0] coordinator side, [1] task side */
static int files[MAXF];		/* buffered fd per file */
static int dfiles[MAXF];	/* O_DIRECT fd per tmpfile */
static int pipes[MAXP][2];
static char scratch[600];
static char *bounce;		/* scratch user memory for syscalls that copy (page aligned) */

/* io_uring, per task process */
static int ring_fd = -1;
static unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
static struct io_uring_sqe *sqes;
static struct io_uring_cqe *cqes;

/* userfaultfd, per task process */
static int uffd = -1;
static volatile long uffd_faults;

/* 64 pages of the executor's own, whose protection each step toggles to flush this mm's TLB */
#define TLBFLUSH_PAGES 64
static char *tlbflush_area;

static sigjmp_buf segv_jmp;
static volatile int segv_armed;
static volatile int segv_sig;

static void *addr_of(long vpage)
{
	return (void *)(BASE + vpage * PAGE);
}

static void on_segv(int sig)
{
	if (segv_armed) {
		segv_sig = sig;
		siglongjmp(segv_jmp, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Maps every page of the executor's own memory (text, libraries, data, stack,
 * buffers) and breaks COW on its writable parts, so that no fault of the
 * executor itself is counted inside a measured step: after fork() the child
 * has no PTEs for file mappings (vma_needs_copy) and both sides have their
 * private pages write-protected. The scenario's regions are left alone.
 */
static void __attribute__((noinline)) prefault_self(void)
{
	static char maps[64 * 1024];
	int fd = open("/proc/self/maps", O_RDONLY);
	ssize_t n = 0, r;

	if (fd < 0)
		return;
	while (n < (ssize_t)sizeof(maps) - 1 && (r = read(fd, maps + n, sizeof(maps) - 1 - n)) > 0)
		n += r;
	close(fd);
	maps[n] = 0;
	for (char *line = maps; line && *line;) {
		char *next = strchr(line, '\n');
		unsigned long lo, hi;
		char perms[8];

		if (next)
			*next++ = 0;
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 &&
		    !(lo >= BASE && lo < BASE + (1UL << 20) * PAGE) &&
		    !strstr(line, "[vvar") && !strstr(line, "[vsyscall]") && perms[0] == 'r') {
			int wr = perms[1] == 'w';	/* shared ones too: soft-dirty clearing write-protects them */

			/* before 5.14 there is no MADV_POPULATE_*: touch every page instead */
			if (madvise((void *)lo, hi - lo, wr ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) && errno == EINVAL) {
				for (unsigned long a = lo; a < hi; a += PAGE) {
					volatile char *c = (volatile char *)a;
					char v = *c;

					if (wr)
						*c = v;
				}
			}
		}
		line = next;
	}
	errno = 0;
}

/*
 * Pages under writeback on the machine, from /proc/vmstat after folding the
 * per-CPU counters into the totals (a write to /proc/sys/vm/stat_refresh;
 * without it a few pages of writeback can hide in per-CPU deltas), or -1.
 */
static long nr_writeback(void)
{
	char buf[16384];
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	ssize_t n;
	char *p;

	if (fd >= 0) {
		if (write(fd, "1\n", 2) < 0) {
			/* EINVAL reports negative counters; the totals are folded anyway */
		}
		close(fd);
	}
	fd = open("/proc/vmstat", O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "\nnr_writeback ");
	return p ? strtol(p + 14, NULL, 10) : -1;
}

/*
 * MADV_PAGEOUT starts swap writeback asynchronously on a swapfile; whether
 * the page is still under writeback decides what a later swap-in can do with
 * the swap cache. Wait (up to 2 s) until no writeback is in flight, so that a
 * run does not depend on I/O timing; the model assumes finished writeback.
 */
static void wait_writeback(void)
{
	for (int i = 0; i < 4000 && nr_writeback() > 0; i++)
		usleep(500);
}

static long faults_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static void fill_page(char *p, unsigned long long tag)
{
	volatile unsigned long long *w = (volatile unsigned long long *)p;

	for (size_t i = 0; i < PAGE / 8; i++)
		w[i] = tag;
}

/* The tag of a page's content: 0 zero-filled, the writing step, or -1. */
static long tag_of(const char *p)
{
	const unsigned long long *w = (const unsigned long long *)p;
	unsigned long long first = w[0];

	for (size_t i = 1; i < PAGE / 8; i++)
		if (w[i] != first)
			return -1;
	if (first == 0)
		return 0;
	if ((first & 0xffffffff00000000ULL) != TAG_PREFIX)
		return -1;
	return (long)(first & 0xffffffffULL);
}

/* ---------------- io_uring with raw syscalls ---------------- */

static int uring_setup(void)
{
	struct io_uring_params p;
	void *sq, *cq;
	size_t sqsz, cqsz;

	memset(&p, 0, sizeof(p));
	ring_fd = syscall(__NR_io_uring_setup, 4, &p);
	if (ring_fd < 0) {
		ring_fd = -1;
		return -errno;
	}
	sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	sq = mmap(NULL, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return -errno;
	sq_tail = (unsigned *)((char *)sq + p.sq_off.tail);
	sq_mask = (unsigned *)((char *)sq + p.sq_off.ring_mask);
	sq_array = (unsigned *)((char *)sq + p.sq_off.array);
	cq_head = (unsigned *)((char *)cq + p.cq_off.head);
	cq_tail = (unsigned *)((char *)cq + p.cq_off.tail);
	cq_mask = (unsigned *)((char *)cq + p.cq_off.ring_mask);
	cqes = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes);
	return 0;
}

static long __attribute__((noinline)) uring_rw(int write, int fd, long off, void *buf, long len)
{
	unsigned tail = *sq_tail, idx = tail & *sq_mask;
	struct io_uring_sqe *sqe = &sqes[idx];
	struct io_uring_cqe *cqe;
	long res;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = write ? IORING_OP_WRITE_FIXED : IORING_OP_READ_FIXED;
	sqe->fd = fd;
	sqe->off = off;
	sqe->addr = (unsigned long)buf;
	sqe->len = len;
	sqe->buf_index = 0;
	sq_array[idx] = idx;
	__atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ring_fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -errno;
	while (__atomic_load_n(cq_head, __ATOMIC_ACQUIRE) == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE))
		;
	cqe = &cqes[*cq_head & *cq_mask];
	res = cqe->res;
	__atomic_store_n(cq_head, *cq_head + 1, __ATOMIC_RELEASE);
	return res;
}

/* ---------------- userfaultfd monitor thread ---------------- */

static void *uffd_monitor(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd pfd = { .fd = uffd, .events = POLLIN };
		struct uffd_msg msg;

		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (read(uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event == UFFD_EVENT_PAGEFAULT && (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP)) {
			struct uffdio_writeprotect wp = {
				.range = { .start = msg.arg.pagefault.address & ~(PAGE - 1), .len = PAGE },
				.mode = 0,
			};
			__atomic_add_fetch(&uffd_faults, 1, __ATOMIC_SEQ_CST);
			ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
		}
	}
	return NULL;
}

/* ---------------- a task: executes the steps sent to it ---------------- */

struct result { long ret; int err; int sig; long faults; long ufaults; int n; long data[MAXPAGES]; };

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= w;
	}
	return 0;
}

static int recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t r = read(fd, p, len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			return -1;
		p += r;
		len -= r;
	}
	return 0;
}

/* pids of all tasks, in memory shared by every process of the run (the coordinator fills it) */
static pid_t *task_pids;

static void task_loop(int me);

static long rc(long r)
{
	return r < 0 ? -errno : r;
}

/* Executes one step in the calling task; fills *res. */
static void do_step(int me, const struct step *st, struct result *res)
{
	const long *a = st->a;
	volatile long before;
	long ubefore;
	char *p;
	volatile long r = 0;	/* read after a siglongjmp */

	memset(res, 0, offsetof(struct result, data));
	/*
	 * Start every step with an empty TLB for this mm: mprotect() of more pages
	 * than tlb_single_page_flush_ceiling flushes the whole mm. A permission
	 * upgrade done by GUP in the kernel (a FOLL_WRITE fault) does not flush, so a
	 * stale read-only entry from an earlier step would otherwise add a spurious
	 * fault to a later write, or not, depending on TLB eviction.
	 */
	if (tlbflush_area) {
		mprotect(tlbflush_area, TLBFLUSH_PAGES * PAGE, PROT_READ);
		mprotect(tlbflush_area, TLBFLUSH_PAGES * PAGE, PROT_READ | PROT_WRITE);
	}
	ubefore = uffd_faults;
	before = faults_now();
	segv_sig = 0;
	segv_armed = 1;
	if (sigsetjmp(segv_jmp, 1)) {
		segv_armed = 0;
		res->sig = segv_sig;
		goto done;
	}
	switch (st->op) {
	case OP_MMAP: {
		int prot = (int)a[2], flags = MAP_FIXED | (a[3] ? MAP_SHARED : MAP_PRIVATE);
		int fd = -1;

		if (a[4] >= 0)
			fd = files[a[4]];
		else
			flags |= MAP_ANONYMOUS;
		p = mmap(addr_of(a[0]), a[1] * PAGE, prot, flags, fd, a[5] * PAGE);
		if (p == MAP_FAILED) {
			r = -errno;
			break;
		}
		madvise(p, a[1] * PAGE, MADV_NOHUGEPAGE);
		r = 0;
		break;
	}
	case OP_MUNMAP:
		r = rc(munmap(addr_of(a[0]), a[1] * PAGE));
		break;
	case OP_MPROTECT:
		r = rc(mprotect(addr_of(a[0]), a[1] * PAGE, (int)a[2]));
		break;
	case OP_MADVISE: {
		static const int adv[] = { 0, MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK,
					   MADV_KEEPONFORK, MADV_PAGEOUT };
		r = rc(madvise(addr_of(a[0]), a[1] * PAGE, adv[a[2]]));
		if (a[2] == ADV_PAGEOUT)
			wait_writeback();
		break;
	}
	case OP_READ:
		for (long i = 0; i < a[1]; i++) {
			res->data[i] = tag_of(addr_of(a[0] + i));
			/* stored before the next access: a SIGSEGV there longjmps out */
			*(volatile int *)&res->n = i + 1;
		}
		break;
	case OP_WRITE:
		for (long i = 0; i < a[1]; i++)
			fill_page(addr_of(a[0] + i), TAG_PREFIX | (unsigned long long)a[2]);
		break;
	case OP_FORK: {
		int child = (int)a[0];
		pid_t pid;

		pid = fork();
		if (pid < 0) {
			r = -errno;
			break;
		}
		if (pid == 0) {
			segv_armed = 0;
			/* the ring, and the uffd monitor thread, stay with the parent */
			ring_fd = -1;
			uffd = -1;
			prefault_self();
			task_loop(child);
			_exit(0);
		}
		r = pid;
		/* fork() itself takes no fault in the parent; the parent's own pages it write-protected
		 * are re-faulted here, outside what is reported */
		segv_armed = 0;
		prefault_self();
		res->faults = -1;
		res->ufaults = 0;
		res->ret = r;
		return;
	}
	case OP_EXIT:
		break;
	case OP_PIPE:
		r = rc(pipe2(pipes[a[0]], O_NONBLOCK));
		break;
	case OP_VMSPLICE: {
		struct iovec iov = { .iov_base = addr_of(a[1]), .iov_len = a[2] * PAGE };

		if (pipes[a[0]][1] < 0) {
			r = -EBADF;	/* this process does not hold that pipe */
			break;
		}
		r = vmsplice(pipes[a[0]][1], &iov, 1, SPLICE_F_NONBLOCK);
		r = r < 0 ? -errno : r / (long)PAGE;
		break;
	}
	case OP_READPIPE: {
		long got;

		if (pipes[a[0]][0] < 0) {
			r = -EBADF;
			break;
		}
		got = read(pipes[a[0]][0], bounce, a[1] * PAGE);
		if (got < 0) {
			r = -errno;
			break;
		}
		for (long i = 0; i < got / (long)PAGE; i++)
			res->data[i] = tag_of(bounce + i * PAGE);
		res->n = got / PAGE;
		r = got / PAGE;
		break;
	}
	case OP_URING_SETUP:
		r = uring_setup();
		break;
	case OP_URING_REGISTER: {
		if (ring_fd < 0) {
			r = -EBADF;	/* no ring: the process has no io_uring fd to pass */
			break;
		}
		struct iovec iov = { .iov_base = addr_of(a[0]), .iov_len = a[1] * PAGE };

		r = syscall(__NR_io_uring_register, ring_fd, IORING_REGISTER_BUFFERS, &iov, 1);
		r = r < 0 ? -errno : 0;
		break;
	}
	case OP_URING_UNREGISTER:
		if (ring_fd < 0) {
			r = -EBADF;
			break;
		}
		r = syscall(__NR_io_uring_register, ring_fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
		r = r < 0 ? -errno : 0;
		break;
	case OP_URING_RW:
		if (ring_fd < 0) {
			r = -EBADF;
			break;
		}
		r = uring_rw((int)a[0], files[a[1]], a[2] * PAGE, addr_of(a[3]), a[4] * PAGE);
		if (r > 0)
			r /= PAGE;
		break;
	case OP_ODIRECT:
		if (a[0])
			r = pread(dfiles[a[1]], addr_of(a[3]), a[4] * PAGE, a[2] * PAGE);
		else
			r = pwrite(dfiles[a[1]], addr_of(a[3]), a[4] * PAGE, a[2] * PAGE);
		r = r < 0 ? -errno : r / (long)PAGE;
		break;
	case OP_PVM: {
		struct iovec local = { .iov_base = bounce, .iov_len = a[3] * PAGE };
		struct iovec remote = { .iov_base = addr_of(a[2]), .iov_len = a[3] * PAGE };

		if (a[1]) {
			for (long i = 0; i < a[3]; i++)
				fill_page(bounce + i * PAGE, TAG_PREFIX | (unsigned long long)a[4]);
			r = process_vm_writev(task_pids[a[0]], &local, 1, &remote, 1, 0);
		} else {
			r = process_vm_readv(task_pids[a[0]], &local, 1, &remote, 1, 0);
		}
		if (r < 0) {
			r = -errno;
			break;
		}
		r /= PAGE;
		if (!a[1]) {
			for (long i = 0; i < r; i++)
				res->data[i] = tag_of(bounce + i * PAGE);
			res->n = r;
		}
		break;
	}
	case OP_PROCMEM: {
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/mem", task_pids[a[0]]);
		fd = open(path, O_RDWR);
		if (fd < 0) {
			r = -errno;
			break;
		}
		if (a[1]) {
			for (long i = 0; i < a[3]; i++)
				fill_page(bounce + i * PAGE, TAG_PREFIX | (unsigned long long)a[4]);
			r = pwrite(fd, bounce, a[3] * PAGE, (off_t)(unsigned long)addr_of(a[2]));
		} else {
			r = pread(fd, bounce, a[3] * PAGE, (off_t)(unsigned long)addr_of(a[2]));
		}
		if (r < 0)
			r = -errno;
		else {
			r /= PAGE;
			if (!a[1]) {
				for (long i = 0; i < r; i++)
					res->data[i] = tag_of(bounce + i * PAGE);
				res->n = r;
			}
		}
		close(fd);
		break;
	}
	case OP_UFFD: {
		struct uffdio_api api = { .api = UFFD_API, .features = 0 };
		pthread_t th;
		long t0;

		/* one userfaultfd per process in a scenario (the model's rule too) */
		if (uffd >= 0) {
			r = -EBUSY;
			break;
		}
		if (a[0] & 1)
			api.features |= UFFD_FEATURE_WP_UNPOPULATED;
		if (a[0] & 2)
			api.features |= UFFD_FEATURE_WP_ASYNC;
		uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (uffd < 0) {
			r = -errno;
			break;
		}
		if (ioctl(uffd, UFFDIO_API, &api)) {
			r = -errno;
			break;
		}
		/* the monitor thread's stack and descriptor are the executor's, not the step's */
		t0 = faults_now();
		if (pthread_create(&th, NULL, uffd_monitor, NULL)) {
			r = -EAGAIN;
			break;
		}
		before += faults_now() - t0;
		r = 0;
		break;
	}
	case OP_UFFD_REGISTER: {
		struct uffdio_register reg = {
			.range = { .start = (unsigned long)addr_of(a[0]), .len = a[1] * PAGE },
			.mode = UFFDIO_REGISTER_MODE_WP,
		};
		r = rc(ioctl(uffd, UFFDIO_REGISTER, &reg));
		break;
	}
	case OP_UFFD_WP: {
		struct uffdio_writeprotect wp = {
			.range = { .start = (unsigned long)addr_of(a[0]), .len = a[1] * PAGE },
			.mode = a[2] ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
		};
		r = rc(ioctl(uffd, UFFDIO_WRITEPROTECT, &wp));
		break;
	}
	case OP_CLEAR_REFS: {
		char buf[16];
		int fd = open("/proc/self/clear_refs", O_WRONLY);
		int len = snprintf(buf, sizeof(buf), "%ld\n", a[0]);

		if (fd < 0) {
			r = -errno;
			break;
		}
		r = write(fd, buf, len) == len ? 0 : -errno;
		close(fd);
		/*
		 * Soft-dirty clearing write-protects the executor's own pages too, and
		 * its next stores fault: not something the step's fault count can
		 * separate, so it is not measured; the executor's pages are made
		 * writable again before the next step.
		 */
		if (a[0] == 4) {
			segv_armed = 0;
			prefault_self();
			res->faults = -1;
			res->ufaults = 0;
			res->ret = r;
			res->err = r < 0 ? (int)-r : 0;
			return;
		}
		break;
	}
	case OP_FILE_WRITE:
		for (long i = 0; i < a[2]; i++)
			fill_page(bounce + i * PAGE, TAG_PREFIX | (unsigned long long)a[3]);
		r = pwrite(files[a[0]], bounce, a[2] * PAGE, a[1] * PAGE);
		r = r < 0 ? -errno : r / (long)PAGE;
		break;
	case OP_FILE_READ:
		r = pread(files[a[0]], bounce, a[2] * PAGE, a[1] * PAGE);
		if (r < 0) {
			r = -errno;
			break;
		}
		r /= PAGE;
		for (long i = 0; i < r; i++)
			res->data[i] = tag_of(bounce + i * PAGE);
		res->n = r;
		break;
	case OP_CHECK:
		break;
	}
	segv_armed = 0;
done:
	res->faults = faults_now() - before;
	res->ufaults = uffd_faults - ubefore;
	res->ret = r;
	res->err = r < 0 ? (int)-r : 0;
	(void)me;
}

static void task_loop(int me)
{
	pid_t pid = getpid();

	/* no PR_SET_PDEATHSIG: a child outlives its parent; the run's process group is killed at its end */
	if (send_all(chan[me][1], &pid, sizeof(pid)))
		_exit(2);
	for (;;) {
		struct step st;
		struct result res;

		if (recv_all(chan[me][1], &st, sizeof(st)))
			_exit(0);
		do_step(me, &st, &res);
		if (send_all(chan[me][1], &res, offsetof(struct result, data) + res.n * sizeof(long)))
			_exit(2);
		if (st.op == OP_EXIT)
			_exit(0);
	}
}

/* ---------------- the coordinator of one scenario ---------------- */

static int alive[MAXT];
static int pidfds[MAXT];
static int pagemap_fds[MAXT];
static int kpagecount_fd = -1, kpageflags_fd = -1;

static int start_task_ack(int t)
{
	pid_t pid;

	if (recv_all(chan[t][0], &pid, sizeof(pid)))
		return -1;
	task_pids[t] = pid;
	alive[t] = 1;
	pidfds[t] = syscall(SYS_pidfd_open, pid, 0);
	{
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
		pagemap_fds[t] = open(path, O_RDONLY);
	}
	out("I %d %d", t, pid);
	return 0;
}

/*
 * lru_add_drain_all(): drain every CPU's LRU batches. What they hold depends
 * on unrelated activity, so every step ends with them empty, in the model
 * and here. posix_fadvise(POSIX_FADV_DONTNEED) calls lru_add_drain_all()
 * when a page of the range cannot be invalidated, which a page we keep
 * mapped guarantees (mm/fadvise.c generic_fadvise).
 */
static int drain_fd = -1;
static char *drain_map;

static int setup_drain(void)
{
	static char page[PAGE] = "cowlab";

	drain_fd = open(scratch, O_TMPFILE | O_RDWR, 0600);
	if (drain_fd < 0 || pwrite(drain_fd, page, PAGE, 0) != (ssize_t)PAGE)
		return -1;
	drain_map = mmap(NULL, PAGE, PROT_READ, MAP_SHARED | MAP_POPULATE, drain_fd, 0);
	if (drain_map == MAP_FAILED)
		return -1;
	return drain_map[0] == 'c' ? 0 : -1;
}

static void drain_all_lru(void)
{
	if (drain_fd >= 0)
		posix_fadvise(drain_fd, 0, PAGE, POSIX_FADV_DONTNEED);
}

/* Where results go: printed by the server, recorded by an emitted reproducer. */
static void report_step(int step, const struct result *res);
static void report_page(int step, int task, long vpage, uint64_t entry, uint64_t count, uint64_t flags);

static void observe(int step)
{
	for (int t = 0; t < P.ntasks; t++) {
		if (!alive[t] || pagemap_fds[t] < 0)
			continue;
		for (int r = 0; r < P.nregions; r++) {
			for (long i = 0; i < P.rpages[r]; i++) {
				long vpage = P.rstart[r] + i;
				uint64_t e = 0, cnt = 0, flags = 0;
				uint64_t pfn;

				if (pread(pagemap_fds[t], &e, 8, (off_t)((BASE / PAGE + vpage) * 8)) != 8)
					continue;
				if (!(e >> 62))
					continue;
				pfn = e & ((1ULL << 55) - 1);
				if ((e >> 63) & 1) {
					if (kpagecount_fd >= 0 && pread(kpagecount_fd, &cnt, 8, pfn * 8) != 8)
						cnt = 0;
					if (kpageflags_fd >= 0 && pread(kpageflags_fd, &flags, 8, pfn * 8) != 8)
						flags = 0;
				}
				report_page(step, t, vpage, e, cnt, flags);
			}
		}
	}
}

static int make_files(void)
{
	static char zero[PAGE];

	for (int f = 0; f < P.nfiles; f++) {
		dfiles[f] = -1;
		if (P.fkind[f] == 0) {
			files[f] = memfd_create("cowlab", 0);
			if (files[f] < 0 || fallocate(files[f], 0, 0, P.fpages[f] * PAGE))
				return -errno;
		} else {
			char path[700];

			files[f] = open(scratch, O_TMPFILE | O_RDWR, 0600);
			if (files[f] < 0)
				return -errno;
			for (long i = 0; i < P.fpages[f]; i++)
				if (pwrite(files[f], zero, PAGE, i * PAGE) != (ssize_t)PAGE)
					return -errno;
			if (fsync(files[f]))
				return -errno;
			snprintf(path, sizeof(path), "/proc/self/fd/%d", files[f]);
			dfiles[f] = open(path, O_RDWR | O_DIRECT);
			if (dfiles[f] < 0)
				return -errno;
		}
	}
	return 0;
}

static int coordinator(void)
{
	int status = 0;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	signal(SIGCHLD, SIG_IGN);
	signal(SIGSEGV, on_segv);
	signal(SIGBUS, on_segv);
	if (!scratch[0]) {
		snprintf(scratch, sizeof(scratch), "%s/cowlab-run.XXXXXX", scratch_base);
		if (!mkdtemp(scratch)) {
			out("X cannot create a scratch directory in %s: %s", scratch_base, strerror(errno));
			return 1;
		}
	}
	bounce = mmap(NULL, MAXPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	tlbflush_area = mmap(NULL, TLBFLUSH_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (tlbflush_area == MAP_FAILED)
		tlbflush_area = NULL;
	if (bounce == MAP_FAILED || make_files()) {
		out("X setting up files: %s", strerror(errno));
		rmdir(scratch);
		return 1;
	}
	task_pids = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (task_pids == MAP_FAILED) {
		out("X mmap: %s", strerror(errno));
		return 1;
	}
	for (int p = 0; p < MAXP; p++)
		pipes[p][0] = pipes[p][1] = -1;
	if (setup_drain()) {
		out("X cannot set up the LRU drain file: %s", strerror(errno));
		return 1;
	}
	kpagecount_fd = open("/proc/kpagecount", O_RDONLY);
	kpageflags_fd = open("/proc/kpageflags", O_RDONLY);
	for (int t = 0; t < P.ntasks; t++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, chan[t])) {
			out("X socketpair: %s", strerror(errno));
			return 1;
		}
		pidfds[t] = pagemap_fds[t] = -1;
	}
	prefault_self();
	for (int t = 0; t < P.ninitial; t++) {
		pid_t pid = fork();
		if (pid == 0) {
			prefault_self();
			task_loop(t);
			_exit(0);
		}
		if (pid < 0 || start_task_ack(t)) {
			out("X starting task %d failed", t);
			return 1;
		}
	}
	for (int i = 0; i < P.nsteps; i++) {
		const struct step *st = &P.steps[i];
		struct result res;
		int t = st->task;

		if (!alive[t]) {
			out("X step %d: task %d is not alive", i + 1, t);
			status = 1;
			break;
		}
		if (send_all(chan[t][0], st, sizeof(*st)) ||
		    recv_all(chan[t][0], &res, offsetof(struct result, data)) ||
		    recv_all(chan[t][0], res.data, res.n * sizeof(long))) {
			out("X step %d: task %d died", i + 1, t);
			status = 1;
			break;
		}
		if (st->op == OP_FORK && res.ret > 0) {
			if (start_task_ack((int)st->a[0])) {
				out("X step %d: the child did not start", i + 1);
				status = 1;
				break;
			}
			res.ret = 0;
		}
		if (st->op == OP_EXIT) {
			struct pollfd pfd = { .fd = pidfds[t], .events = POLLIN };
			poll(&pfd, 1, 5000);	/* the mm is torn down before the task is reported dead */
			alive[t] = 0;
			close(pagemap_fds[t]);
			pagemap_fds[t] = -1;
		}
		report_step(i + 1, &res);
		drain_all_lru();
		observe(i + 1);
	}
	for (int t = 0; t < P.ntasks; t++)
		if (alive[t])
			kill(task_pids[t], SIGKILL);
	for (int f = 0; f < P.nfiles; f++) {
		close(files[f]);
		if (dfiles[f] >= 0)
			close(dfiles[f]);
	}
	rmdir(scratch);
	return status;
}

#ifndef COWLAB_EMBED
/* ---------------- the server: reporting, reading programs, main ---------------- */

static void report_step(int step, const struct result *res)
{
	char line[MAXPAGES * 12 + 128];
	int n = snprintf(line, sizeof(line), "P %d %ld %d %d %ld %ld %d", step, res->ret, res->err, res->sig,
			 res->faults, res->ufaults, res->n);

	for (int k = 0; k < res->n && n < (int)sizeof(line) - 24; k++)
		n += snprintf(line + n, sizeof(line) - n, " %ld", res->data[k]);
	out("%s", line);
}

static void report_page(int step, int task, long vpage, uint64_t entry, uint64_t count, uint64_t flags)
{
	out("M %d %d %ld %llx %llu %llx", step, task, vpage, (unsigned long long)entry,
	    (unsigned long long)count, (unsigned long long)flags);
}

static int validate_prog(void);

static int parse_prog(FILE *in, int nlines)
{
	char line[1024];

	memset(&P, 0, sizeof(P));
	for (int ln = 1; ln <= nlines; ln++) {
		long v[10];
		int n = 0;
		char *s, *end;

		if (!fgets(line, sizeof(line), in)) {
			out("X program ended after %d of %d lines", ln - 1, nlines);
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
			if (n != 2 || P.nfiles >= MAXF || (v[0] != 0 && v[0] != 1) || v[1] < 1 || v[1] > MAXPAGES) {
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
			for (int k = 0; k < 7; k++)
				st->a[k] = k + 2 < n ? v[k + 2] : 0;
			P.nsteps++;
			break;
		}
		default:
			out("X program line %d: unknown line type '%c'", ln, line[0]);
			return -1;
		}
	}
	if (!P.ntasks) {
		out("X program has no T line");
		return -1;
	}
	return validate_prog();
}

/* Every page number, file, pipe and task an op names must be in range. */
static int validate_prog(void)
{
	for (int i = 0; i < P.nsteps; i++) {
		const struct step *st = &P.steps[i];
		const long *a = st->a;
		long start = -1, pages = 0, file = -1, pipe = -1, task = -1;

		switch (st->op) {
		case OP_MMAP: start = a[0]; pages = a[1]; file = a[4]; break;
		case OP_MUNMAP: case OP_MPROTECT: case OP_MADVISE: case OP_READ: case OP_WRITE:
		case OP_URING_REGISTER: case OP_UFFD_REGISTER: case OP_UFFD_WP:
			start = a[0]; pages = a[1]; break;
		case OP_FORK: task = a[0]; break;
		case OP_PIPE: pipe = a[0]; break;
		case OP_VMSPLICE: pipe = a[0]; start = a[1]; pages = a[2]; break;
		case OP_READPIPE: pipe = a[0]; pages = a[1]; break;
		case OP_URING_RW: case OP_ODIRECT: file = a[1]; start = a[3]; pages = a[4]; break;
		case OP_PVM: case OP_PROCMEM: task = a[0]; start = a[2]; pages = a[3]; break;
		case OP_FILE_WRITE: case OP_FILE_READ: file = a[0]; pages = a[2]; break;
		default: break;
		}
		if (pages < 0 || pages > MAXPAGES || (start != -1 && (start < 0 || start + pages > (1L << 20))) ||
		    (file != -1 && (file < 0 || file >= P.nfiles) && !(st->op == OP_MMAP && file == -1)) ||
		    (pipe != -1 && (pipe < 0 || pipe >= MAXP)) || (task != -1 && (task < 0 || task >= P.ntasks)) ||
		    (st->op == OP_MADVISE && (a[2] < 1 || a[2] > ADV_PAGEOUT)) ||
		    (st->op == OP_ODIRECT && P.fkind[file] != 1)) {
			out("X step %d: argument out of range", i + 1);
			return -1;
		}
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
			ok = (e >> 57) & 1;
	}
	if (pm >= 0)
		close(pm);
	if (p != MAP_FAILED)
		munmap(p, PAGE);
	if (fd >= 0)
		close(fd);
	return ok;
}

static void report_caps(void)
{
	int kpc = access("/proc/kpagecount", R_OK) == 0;
	int gup = access("/sys/kernel/debug/gup_test", R_OK) == 0;
	int ring = syscall(__NR_io_uring_setup, 0, NULL) < 0 && errno != ENOSYS;
	int uf = syscall(__NR_userfaultfd, O_CLOEXEC);
	int softdirty;

	if (uf >= 0)
		close(uf);
	{
		/* soft-dirty: bit 55 shows up for a fresh page only when the kernel tracks it */
		char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int fd = open("/proc/self/pagemap", O_RDONLY);
		uint64_t e = 0;

		p[0] = 1;
		if (fd < 0 || pread(fd, &e, 8, ((unsigned long)p / PAGE) * 8) != 8)
			e = 0;
		softdirty = (e >> 55) & 1;
		close(fd);
		munmap(p, PAGE);
	}
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
	out("C root=%d kpagecount=%d gup_test=%d io_uring=%d uffd=%d swap=%d soft_dirty=%d pagemap_uffd_wp=%d",
	    geteuid() == 0, kpc, gup, ring, uf >= 0, swap_on != 0, softdirty, pagemap_shows_uffd_wp());
}

/* ---------------- process 1 of a qemu guest ---------------- */

#define RD_SIZE_KB 65536	/* swap stays far from vm_swap_full() (half full) */

static void guest_init(void)
{
	struct utsname u;
	const char *swap = "none", *fs = "tmpfs";
	int fd;

	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mkdir("/tmp", 01777);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	/* brd: two RAM disks of RD_SIZE_KB */
	fd = open("/brd.ko", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char params[64];

		snprintf(params, sizeof(params), "rd_nr=2 rd_size=%d", RD_SIZE_KB);
		if (syscall(__NR_finit_module, fd, params, 0) && errno != EEXIST)
			out("X guest: loading brd.ko: %s", strerror(errno));
		close(fd);
	}
	fd = open("/dev/ram0", O_RDWR);
	if (fd >= 0) {
		if (!write_swap_header(fd, RD_SIZE_KB / 4) && !fsync(fd) &&
		    !swapon("/dev/ram0", SWAP_FLAG_PREFER | (32767 << SWAP_FLAG_PRIO_SHIFT))) {
			swap = "ram0";
			swap_on |= 2;
		} else {
			out("X guest: swap on /dev/ram0: %s", strerror(errno));
		}
		close(fd);
	}
	fd = open("/scratch.img", O_RDONLY);
	if (fd >= 0) {
		int dev = open("/dev/ram1", O_WRONLY);
		static char buf[1 << 16];
		ssize_t n = 0;

		while (dev >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
			if (write(dev, buf, n) != n)
				break;
		if (dev >= 0) {
			fsync(dev);
			close(dev);
		}
		close(fd);
		unlink("/scratch.img");	/* its copy in the initramfs is no longer needed */
		mkdir("/scratch", 0755);
		if (n == 0 && !mount("/dev/ram1", "/scratch", "ext4", 0, NULL)) {
			fs = "ext4";
			snprintf(scratch_base, sizeof(scratch_base), "/scratch");
		} else {
			out("X guest: mounting the scratch file system: %s", strerror(errno));
			snprintf(scratch_base, sizeof(scratch_base), "/tmp");
		}
	} else {
		snprintf(scratch_base, sizeof(scratch_base), "/tmp");
	}
	uname(&u);
	out("G release=%s swap=%s scratch=%s", u.release, swap, fs);
}

int main(int argc, char **argv)
{
	char line[256];
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
	reap_stale_swapfiles();
	if (swapfile[0] && swap_mb > 0) {
		int e = setup_swap();
		if (e) {
			out("X swap: cannot use %s: %s", swapfile, strerror(-e));
			swapfile[0] = 0;
		}
	}
	if (want_page_cluster0)
		setup_page_cluster();
	out("READY");
	while (fgets(line, sizeof(line), in)) {
		int n;
		pid_t pid;
		int status;
		struct timespec t0, t1;

		if (!strncmp(line, "QUIT", 4))
			break;
		if (!strncmp(line, "CAPS", 4)) {
			report_caps();
			out("END ok");
			continue;
		}
		if (sscanf(line, "PROG %d", &n) != 1 || n < 1 || n > MAXO + MAXR + MAXF + 8) {
			out("X expected PROG <lines>, CAPS or QUIT");
			out("END error");
			continue;
		}
		if (parse_prog(in, n)) {
			out("END error");
			continue;
		}
		fflush(stdout);
		/* the server owns the run's scratch directory, so it goes even if the run is killed */
		snprintf(scratch, sizeof(scratch), "%s/cowlab-run.XXXXXX", scratch_base);
		if (!mkdtemp(scratch)) {
			out("X cannot create a scratch directory in %s: %s", scratch_base, strerror(errno));
			out("END error");
			continue;
		}
		pid = fork();
		if (pid == 0)
			_exit(coordinator());
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				break;
			clock_gettime(CLOCK_MONOTONIC, &t1);
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
		rmdir(scratch);
		scratch[0] = 0;
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
#endif /* !COWLAB_EMBED */
