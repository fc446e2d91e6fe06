/*
 * The step engine: one function per scenario operation (named op_<name>
 * after the operation, the table is in the generated cowlab-ops.h), and
 * do_step(), which runs one in the calling task and measures it.
 */
#include "cowlab.h"

int ksm_program;		/* the program uses KSM: steps report the acting process's ksm_merging_pages */
int hugetlb_program;	/* the program maps hugetlb pages: steps report the 2 MiB pool (H lines) */
char *bounce;			/* scratch user memory for syscalls that copy (page aligned) */
int files[MAXF];		/* buffered fd per file */
int dfiles[MAXF];		/* O_DIRECT fd per tmpfile */
int pipes[MAXP][2];
pid_t *task_pids;		/* pids of all tasks, in memory shared by every process of the run */
uid_t unpriv_uid = 65534;	/* run.c gives each run a user of its own */

/* io_uring, per task process */
int ring_fd = -1;
/* the ring fds this process holds, by the task that created each (fork children inherit them) */
int ring_fds[MAXT] = { [0 ... MAXT - 1] = -1 };
static unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
static struct io_uring_sqe *sqes;
static struct io_uring_cqe *cqes;

/* userfaultfd, per task process */
int uffd = -1;
volatile int uffd_hold;
volatile unsigned long uffd_held;
/*
 * uffd-wp faults resolved by any task's monitor: in the run's shared page (after the pids), so that a
 * fault a task's step causes in another task's mm (process_vm_writev, /proc/PID/mem) counts for that step
 */
#define uffd_faults (*(volatile long *)((char *)task_pids + PAGE - sizeof(long)))
/* and the messages themselves, a ring of UMSG_RING after the pids (a step causes a few) */
#define UMSG_RING 64
#define UMSG_OFF 1024
#define umsg_log ((volatile struct umsg *)((char *)task_pids + UMSG_OFF))
_Static_assert(MAXT * sizeof(pid_t) <= UMSG_OFF, "the pids come before the uffd messages");
/* the count at the current step's start: a step's messages past the ring's size are not logged, so the
 * first ones (the step's result reports MAXUMSG) are never overwritten by a step of many faults */
#define umsg_from (*(volatile long *)((char *)task_pids + PAGE - 2 * sizeof(long)))
_Static_assert(UMSG_OFF + UMSG_RING * sizeof(struct umsg) <= PAGE - 2 * sizeof(long), "the uffd messages and counts share the page");
_Static_assert(MAXUMSG <= UMSG_RING, "a step's reported messages fit the ring");

long uffd_msgs_logged(void)
{
	return __atomic_load_n(&uffd_faults, __ATOMIC_SEQ_CST);
}

/* A step starts: its messages are logged from count `from` on. */
void uffd_msgs_step(long from)
{
	__atomic_store_n(&umsg_from, from, __ATOMIC_SEQ_CST);
}

/* The messages logged since `from` (a step's start), as the step's result shows them. */
void uffd_msgs_since(long from, struct result *res)
{
	long to = uffd_msgs_logged();

	res->nmsg = 0;
	for (long k = from; k < to && res->nmsg < MAXUMSG; k++) {
		res->msgs[res->nmsg].vpage = umsg_log[k % UMSG_RING].vpage;
		res->msgs[res->nmsg].flags = umsg_log[k % UMSG_RING].flags;
		res->nmsg++;
	}
}

/* 64 pages of the executor's own, whose protection each step toggles to flush this mm's TLB */
char *tlbflush_area;

/* per thread: a thread's step may fault while another thread's step runs (a store held by the uffd monitor) */
static __thread sigjmp_buf segv_jmp;
static __thread volatile int segv_armed;
static __thread volatile int segv_sig;

void *addr_of(long vpage)
{
	return (void *)(BASE + vpage * PAGE);
}

void on_segv(int sig)
{
	if (segv_armed) {
		segv_sig = sig;
		siglongjmp(segv_jmp, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Maps every page of the executor's own memory (text, libraries, data, stack,
 * buffers) and breaks COW on its writable parts, so that no fault of the
 * executor itself is counted inside a measured step: after fork() the child
 * has no PTEs for file mappings (vma_needs_copy) and both sides have their
 * private pages write-protected. The scenario's regions are left alone.
 */
void __attribute__((noinline)) prefault_self(void)
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

			/*
			 * Small folios only: with a THP size set to always, a large folio of the
			 * executor's own, COWed at a scenario's fork, is split later by the
			 * deferred-split shrinker, which maps its zero-filled pages to the shared
			 * zero page (6.12+), so the executor's next write there faults inside a
			 * measured step (seen on 7.2 under TCG: one extra fault in read-pipe).
			 */
			madvise((void *)lo, hi - lo, MADV_NOHUGEPAGE);

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

long faults_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

void fill_page(char *p, unsigned long long tag)
{
	volatile unsigned long long *w = (volatile unsigned long long *)p;

	for (size_t i = 0; i < PAGE / 8; i++)
		w[i] = tag;
}

/* Mixed bytes: MIXED_CODE plus the FNV-1a (32-bit) hash of the page (content_code() in src/model/content.ts). */
static long mixed_code(const char *p)
{
	uint32_t h = 0x811c9dc5u;

	for (size_t i = 0; i < PAGE; i++)
		h = (h ^ (unsigned char)p[i]) * 0x01000193u;
	return MIXED_CODE + (long)h;
}

/*
 * The code of a page's content: 0 zero-filled, the writing step, -(1 + value) for a write with a value,
 * or for anything else (a transfer smaller than a page wrote part of it) mixed_code().
 */
long tag_of(const char *p)
{
	const unsigned long long *w = (const unsigned long long *)p;
	unsigned long long first = w[0];

	for (size_t i = 1; i < PAGE / 8; i++)
		if (w[i] != first)
			return mixed_code(p);
	if (first == 0)
		return 0;
	if ((first & 0xffffffff00000000ULL) != TAG_PREFIX)
		return mixed_code(p);
	/* a write with a value (VALUE_TAG in src/ops/write.ts): the same bytes whoever wrote it */
	if (first & VALUE_TAG)
		return -(long)(first & (VALUE_TAG - 1)) - 1;
	return (long)(first & 0xffffffffULL);
}

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
			long k = uffd_msgs_logged();

			/* the message first, then the count that publishes it, then the answer that lets the fault go on
			 * (only a step's first UMSG_RING messages: later ones would overwrite those it reports) */
			if (k - __atomic_load_n(&umsg_from, __ATOMIC_SEQ_CST) < UMSG_RING) {
				umsg_log[k % UMSG_RING].vpage = (long)((msg.arg.pagefault.address - BASE) / PAGE);
				umsg_log[k % UMSG_RING].flags = (long)msg.arg.pagefault.flags;
			}
			__atomic_add_fetch(&uffd_faults, 1, __ATOMIC_SEQ_CST);
			/* stop: uffd: no answer; the faulting thread sleeps in handle_userfault() until a resume step wakes it */
			if (__atomic_exchange_n(&uffd_hold, 0, __ATOMIC_SEQ_CST)) {
				uffd_held = wp.range.start;
				held_notify();
				continue;
			}
			ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
		}
	}
	return NULL;
}

static long rc(long r)
{
	return r < 0 ? -errno : r;
}

/* ---------------- the operations (arguments: cowlab-ops.h) ---------------- */

long op_mmap(struct stepcx *cx, const long *a)
{
	int prot = (int)a[2], flags = MAP_FIXED | (a[3] ? MAP_SHARED : MAP_PRIVATE);
	int fd = -1;
	char *p;

	(void)cx;
	if (a[4] >= 0)
		fd = files[a[4]];
	else
		flags |= MAP_ANONYMOUS;
	/* a[6] (mflags): 2 hugetlb pages of 2 MiB, 4 MAP_NORESERVE */
	if (a[6] & 2)
		flags |= MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
	if (a[6] & 4)
		flags |= MAP_NORESERVE;
	p = mmap(addr_of(a[0]), a[1] * PAGE, prot, flags, fd, a[5] * PAGE);
	if (p == MAP_FAILED)
		return -errno;
	/* a[6] bit 1 (thp): clear: MADV_NOHUGEPAGE, as cow.c does for base pages; set: inherit the THP modes */
	if (!(a[6] & 3))
		madvise(p, a[1] * PAGE, MADV_NOHUGEPAGE);
	return 0;
}

long op_munmap(struct stepcx *cx, const long *a)
{
	(void)cx;
	return rc(munmap(addr_of(a[0]), a[1] * PAGE));
}

long op_mprotect(struct stepcx *cx, const long *a)
{
	(void)cx;
	return rc(mprotect(addr_of(a[0]), a[1] * PAGE, (int)a[2]));
}

long op_madvise(struct stepcx *cx, const long *a)
{
	static const int adv[] = { 0, MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK,
				   MADV_KEEPONFORK, MADV_PAGEOUT, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
				   MADV_COLLAPSE, MADV_COLD, MADV_MERGEABLE, MADV_UNMERGEABLE };
	long r = rc(madvise(addr_of(a[0]), a[1] * PAGE, adv[a[2]]));

	(void)cx;
	if (a[2] == ADV_PAGEOUT)
		wait_writeback();
	return r;
}

long op_read(struct stepcx *cx, const long *a)
{
	for (long i = 0; i < a[1]; i++) {
		cx->res->data[i] = tag_of(addr_of(a[0] + i));
		/* stored before the next access: a SIGSEGV there longjmps out */
		*(volatile int *)&cx->res->n = i + 1;
	}
	return 0;
}

long op_write(struct stepcx *cx, const long *a)
{
	(void)cx;
	for (long i = 0; i < a[1]; i++)
		/* tag 0: a store of zero bytes (value 0 in the scenario) */
		fill_page(addr_of(a[0] + i), a[2] ? TAG_PREFIX | (unsigned long long)a[2] : 0);
	return 0;
}

long op_fork(struct stepcx *cx, const long *a)
{
	int child = (int)a[0];
	pid_t pid = fork();

	/* a fork that fails in dup_mmap() (a pinned hugetlb page and no page for the child's copy)
	 * has write-protected the executor's own pages of the VMAs it copied before: unmeasured too */
	cx->unmeasured = 1;
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		segv_armed = 0;
		/* the ring, and the uffd monitor thread (and the fault it may hold), stay with the parent */
		ring_fd = -1;
		uffd = -1;
		uffd_hold = 0;
		uffd_held = 0;
		prefault_self();
		task_loop(child);
		_exit(0);
	}
	/* fork() itself takes no fault in the parent; the parent's own pages it write-protected
	 * are re-faulted by do_step, outside what is reported */
	cx->unmeasured = 1;
	return pid;
}

long op_thread(struct stepcx *cx, const long *a)
{
	/* the thread's stack and descriptor are the executor's, not the step's (run.c thread_start) */
	long t0 = faults_now(), r = thread_start((int)a[0]);

	cx->own_faults += faults_now() - t0;
	return r;
}

long op_mremap(struct stepcx *cx, const long *a)
{
	void *p = mremap(addr_of(a[0]), a[1] * PAGE, a[1] * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, addr_of(a[2]));

	(void)cx;
	return p == MAP_FAILED ? -errno : 0;
}

long op_exit(struct stepcx *cx, const long *a)
{
	(void)cx;
	/* the rings this process holds the last fd of: their buffers go now, not in io_ring_exit_work later */
	for (int o = 0; o < MAXT; o++)
		if ((a[0] & (1L << o)) && ring_fds[o] >= 0)
			syscall(__NR_io_uring_register, ring_fds[o], IORING_UNREGISTER_BUFFERS, NULL, 0);
	return 0;
}

long op_pipe(struct stepcx *cx, const long *a)
{
	(void)cx;
	return rc(pipe2(pipes[a[0]], O_NONBLOCK));
}

long op_vmsplice(struct stepcx *cx, const long *a)
{
	struct iovec iov = { .iov_base = addr_of(a[1]), .iov_len = a[2] * PAGE };
	long r;

	(void)cx;
	if (pipes[a[0]][1] < 0)
		return -EBADF;	/* this process does not hold that pipe */
	r = vmsplice(pipes[a[0]][1], &iov, 1, SPLICE_F_NONBLOCK);
	return r < 0 ? -errno : r / (long)PAGE;
}

long op_read_pipe(struct stepcx *cx, const long *a)
{
	long got;

	if (pipes[a[0]][0] < 0)
		return -EBADF;
	got = read(pipes[a[0]][0], bounce, a[1] * PAGE);
	if (got < 0)
		return -errno;
	for (long i = 0; i < got / (long)PAGE; i++)
		cx->res->data[i] = tag_of(bounce + i * PAGE);
	cx->res->n = got / PAGE;
	return got / PAGE;
}

long op_io_uring_setup(struct stepcx *cx, const long *a)
{
	long r = uring_setup();

	(void)a;
	if (!r)
		ring_fds[cx->me] = ring_fd;
	return r;
}

long op_io_uring_register(struct stepcx *cx, const long *a)
{
	struct iovec iov = { .iov_base = addr_of(a[0]), .iov_len = a[1] * PAGE };
	long r;

	(void)cx;
	if (ring_fd < 0)
		return -EBADF;	/* no ring: the process has no io_uring fd to pass */
	r = syscall(__NR_io_uring_register, ring_fd, IORING_REGISTER_BUFFERS, &iov, 1);
	return r < 0 ? -errno : 0;
}

long op_io_uring_unregister(struct stepcx *cx, const long *a)
{
	long r;

	(void)cx;
	(void)a;
	if (ring_fd < 0)
		return -EBADF;
	r = syscall(__NR_io_uring_register, ring_fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
	return r < 0 ? -errno : 0;
}

static long uring_fixed(int write, const long *a)
{
	long r;

	if (ring_fd < 0)
		return -EBADF;
	r = uring_rw(write, files[a[0]], a[1] * PAGE, addr_of(a[2]), a[3] * PAGE);
	return r > 0 ? r / (long)PAGE : r;
}

long op_io_uring_write_fixed(struct stepcx *cx, const long *a)
{
	(void)cx;
	return uring_fixed(1, a);
}

long op_io_uring_read_fixed(struct stepcx *cx, const long *a)
{
	(void)cx;
	return uring_fixed(0, a);
}

/* a[3] file pages from file page a[1], the buffer a[4] bytes (a multiple of 512) into page a[2] */
long op_odirect_read(struct stepcx *cx, const long *a)
{
	long r = pread(dfiles[a[0]], (char *)addr_of(a[2]) + a[4], a[3] * PAGE, a[1] * PAGE);

	(void)cx;
	return r < 0 ? -errno : r / (long)PAGE;
}

long op_odirect_write(struct stepcx *cx, const long *a)
{
	long r = pwrite(dfiles[a[0]], (char *)addr_of(a[2]) + a[4], a[3] * PAGE, a[1] * PAGE);

	(void)cx;
	return r < 0 ? -errno : r / (long)PAGE;
}

/* Data read into the bounce buffer, as tags, into the result. */
static void bounce_data(struct stepcx *cx, long pages)
{
	for (long i = 0; i < pages; i++)
		cx->res->data[i] = tag_of(bounce + i * PAGE);
	cx->res->n = pages;
}

long op_process_vm_readv(struct stepcx *cx, const long *a)
{
	struct iovec local = { .iov_base = bounce, .iov_len = a[2] * PAGE };
	struct iovec remote = { .iov_base = addr_of(a[1]), .iov_len = a[2] * PAGE };
	long r = process_vm_readv(task_pids[a[0]], &local, 1, &remote, 1, 0);

	if (r < 0)
		return -errno;
	bounce_data(cx, r / PAGE);
	return r / PAGE;
}

/*
 * Pages a transfer reached: a[4] (offset in the first page) and a[5] (bytes, 0: a[2] whole pages) of
 * a write's arguments; r the bytes the call moved.
 */
static long pages_moved(const long *a, long r)
{
	if (r < 0)
		return -errno;
	if (a[5] == 0)
		return r / (long)PAGE;
	return r == 0 ? 0 : (a[4] + r + (long)PAGE - 1) / (long)PAGE;
}

long op_process_vm_writev(struct stepcx *cx, const long *a)
{
	/* the bounce pages hold the tag's bytes at the same offsets as the target's pages */
	long off = a[5] ? a[4] : 0, len = a[5] ? a[5] : a[2] * (long)PAGE;
	struct iovec local = { .iov_base = bounce + off, .iov_len = len };
	struct iovec remote = { .iov_base = (char *)addr_of(a[1]) + off, .iov_len = len };
	long r;

	(void)cx;
	for (long i = 0; i < a[2]; i++)
		fill_page(bounce + i * PAGE, TAG_PREFIX | (unsigned long long)a[3]);
	r = process_vm_writev(task_pids[a[0]], &local, 1, &remote, 1, 0);
	return pages_moved(a, r);
}

static int open_proc_mem(long task)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", task_pids[task]);
	return open(path, O_RDWR);
}

long op_proc_mem_read(struct stepcx *cx, const long *a)
{
	int fd = open_proc_mem(a[0]);
	long r;

	if (fd < 0)
		return -errno;
	r = pread(fd, bounce, a[2] * PAGE, (off_t)(unsigned long)addr_of(a[1]));
	r = r < 0 ? -errno : r / (long)PAGE;
	if (r > 0)
		bounce_data(cx, r);
	close(fd);
	return r;
}

long op_proc_mem_write(struct stepcx *cx, const long *a)
{
	int fd = open_proc_mem(a[0]);
	long off = a[5] ? a[4] : 0, len = a[5] ? a[5] : a[2] * (long)PAGE;
	long r;

	(void)cx;
	if (fd < 0)
		return -errno;

	for (long i = 0; i < a[2]; i++)
		fill_page(bounce + i * PAGE, TAG_PREFIX | (unsigned long long)a[3]);
	r = pages_moved(a, pwrite(fd, bounce + off, len, (off_t)((unsigned long)addr_of(a[1]) + off)));
	close(fd);
	return r;
}

long op_uffd(struct stepcx *cx, const long *a)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	pthread_t th;
	long t0;
	int flags, e;

	/* one userfaultfd per process in a scenario (the model's rule too) */
	if (uffd >= 0)
		return -EBUSY;
	if (a[0] & 1)
		api.features |= UFFD_FEATURE_WP_UNPOPULATED;
	if (a[0] & 2)
		api.features |= UFFD_FEATURE_WP_ASYNC;
	flags = O_CLOEXEC | O_NONBLOCK | (a[0] & 4 ? UFFD_USER_MODE_ONLY : 0);
	if (a[0] & 8) {
		/* /dev/userfaultfd (6.1): the same context, from the device's ioctl */
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		if (dev < 0)
			return -errno;
		uffd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
		e = errno;
		close(dev);
	} else {
		uffd = syscall(__NR_userfaultfd, flags);
		e = errno;
	}
	if (uffd < 0) {
		uffd = -1;
		return -e;
	}
	if (ioctl(uffd, UFFDIO_API, &api))
		return -errno;
	/* the monitor thread's stack and descriptor are the executor's, not the step's */
	t0 = faults_now();
	if (pthread_create(&th, NULL, uffd_monitor, NULL))
		return -EAGAIN;
	cx->own_faults += faults_now() - t0;
	return 0;
}

long op_uffd_register(struct stepcx *cx, const long *a)
{
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)addr_of(a[0]), .len = a[1] * PAGE },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	(void)cx;
	return rc(ioctl(uffd, UFFDIO_REGISTER, &reg));
}

static long uffd_wp(const long *a, int on)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (unsigned long)addr_of(a[0]), .len = a[1] * PAGE },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	/*
	 * While the monitor holds a fault, un-protecting does not wake it: the held thread goes on at its
	 * resume step (op_resume wakes it), where the model has it, not at once beside the next steps
	 */
	if (!on && uffd_held)
		wp.mode |= UFFDIO_WRITEPROTECT_MODE_DONTWAKE;
	return rc(ioctl(uffd, UFFDIO_WRITEPROTECT, &wp));
}

/*
 * resume: wakes the fault the monitor holds (UFFDIO_WAKE of its page), if any; the task's main
 * thread then waits for the thread's step to end and reports it (run.c task_loop)
 */
long op_resume(struct stepcx *cx, const long *a)
{
	struct uffdio_range r = { .start = uffd_held, .len = PAGE };

	(void)cx;
	(void)a;
	if (!uffd_held)
		return 0;
	uffd_held = 0;
	return rc(ioctl(uffd, UFFDIO_WAKE, &r));
}

long op_uffd_wp(struct stepcx *cx, const long *a)
{
	(void)cx;
	return uffd_wp(a, 1);
}

long op_uffd_unwp(struct stepcx *cx, const long *a)
{
	(void)cx;
	return uffd_wp(a, 0);
}

long op_clear_refs(struct stepcx *cx, const long *a)
{
	char buf[16];
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	int len = snprintf(buf, sizeof(buf), "%ld\n", a[0]);
	long r;

	if (fd < 0)
		return -errno;
	r = write(fd, buf, len) == len ? 0 : -errno;
	close(fd);
	/*
	 * Soft-dirty clearing write-protects the executor's own pages too, and
	 * its next stores fault: not something the step's fault count can
	 * separate, so it is not measured; the executor's pages are made
	 * writable again before the next step.
	 */
	if (a[0] == 4)
		cx->unmeasured = 1;
	return r;
}

long op_file_write(struct stepcx *cx, const long *a)
{
	long r;

	(void)cx;
	for (long i = 0; i < a[2]; i++)
		fill_page(bounce + i * PAGE, TAG_PREFIX | (unsigned long long)a[3]);
	r = pwrite(files[a[0]], bounce, a[2] * PAGE, a[1] * PAGE);
	return r < 0 ? -errno : r / (long)PAGE;
}

long op_file_read(struct stepcx *cx, const long *a)
{
	long r = pread(files[a[0]], bounce, a[2] * PAGE, a[1] * PAGE);

	if (r < 0)
		return -errno;
	bounce_data(cx, r / PAGE);
	return r / PAGE;
}

long op_check(struct stepcx *cx, const long *a)
{
	(void)cx;
	(void)a;
	return 0;
}

/* ---------------- one step ---------------- */

/* Executes one step in the calling task; fills *res. */
void do_step(int me, const struct step *st, struct result *res)
{
	struct stepcx cx = { .me = me, .res = res };
	volatile long before;
	long ubefore;
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
	} else {
		r = op_table[st->op](&cx, st->a);
		segv_armed = 0;
		if (cx.unmeasured) {
			prefault_self();
			res->faults = -1;
			res->ufaults = 0;
			res->ksm = ksm_program ? ksm_merging_pages() : -1;
			res->kzp = ksm_program ? ksm_zero_pages() : -1;
			res->ret = r;
			res->err = r < 0 ? (int)-r : 0;
			return;
		}
	}
	res->faults = faults_now() - before - cx.own_faults;
	res->ufaults = uffd_faults - ubefore;
	/* after exit() the process has no count to show (the model's is gone with it) */
	res->ksm = ksm_program && st->op != OP_EXIT ? ksm_merging_pages() : -1;
	res->kzp = ksm_program && st->op != OP_EXIT ? ksm_zero_pages() : -1;
	res->ret = r;
	res->err = r < 0 ? (int)-r : 0;
}

/* ---------------- KSM ---------------- */

/* The 2 MiB hugetlb pool now, into the step's result */
void read_hugetlb_pool(struct result *res)
{
	/* resv_hugepages is an unsigned long the kernel can take below zero for a while (df7a6d1f6405):
	 * kept as the signed number it stands for */
	res->hfree = (long)read_unsigned(HUGETLB_DIR "/hugepages-2048kB/free_hugepages");
	res->hresv = (long)read_unsigned(HUGETLB_DIR "/hugepages-2048kB/resv_hugepages");
	res->hsurplus = (long)read_unsigned(HUGETLB_DIR "/hugepages-2048kB/surplus_hugepages");
}

/* The unsigned number a sysfs file holds, or (unsigned long)-1 when it cannot be read */
unsigned long read_unsigned(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return (unsigned long)-1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return (unsigned long)-1;
	buf[n] = 0;
	return strtoul(buf, NULL, 10);
}

/* The number a sysfs or procfs file holds, or -1 */
long read_number(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

static long ksm_read(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), KSM_DIR "/%s", name);
	return read_number(path);
}

/* /proc/self/ksm_merging_pages (5.19+), or -1 */
long ksm_merging_pages(void)
{
	return read_number("/proc/self/ksm_merging_pages");
}

/*
 * The value after `key` on its line of /proc/PID/ksm_stat (pid 0: this
 * process), read into buf; NULL when the file or the line is missing.
 */
const char *ksm_stat(int pid, const char *key, char *buf, size_t len)
{
	char path[64];
	size_t kl = strlen(key);
	ssize_t n;
	int fd;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ksm_stat", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/ksm_stat");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	for (char *p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl))
			return p + kl;
	return NULL;
}

/* ksm_zero_pages of /proc/self/ksm_stat (6.5+: the KSM zero pages this mm maps, as the kernel counts them), or -1 */
long ksm_zero_pages(void)
{
	char buf[512];
	const char *v = ksm_stat(0, "ksm_zero_pages ", buf, sizeof(buf));

	return v ? strtol(v, NULL, 10) : -1;
}

/*
 * ksmd is one for the whole machine: it scans every MADV_MERGEABLE area,
 * another process's too (a qemu guest's memory unless -machine
 * mem-merge=off, a process under prctl(PR_SET_MEMORY_MERGE)), and merges
 * equal pages across processes. The rmap items ksmd holds (pages_shared +
 * pages_sharing + pages_unshared + pages_volatile: one per page it tracks)
 * beyond those of the processes given (ksm_rmap_items of their ksm_stat,
 * 6.1+) are other processes' pages: their count, or -1 where the kernel
 * does not show ksm_rmap_items.
 */
long ksm_foreign_items(const pid_t *pids, int n)
{
	long all = 0, own = 0;
	const char *names[] = { "pages_shared", "pages_sharing", "pages_unshared", "pages_volatile" };

	for (int i = 0; i < 4; i++) {
		long v = ksm_read(names[i]);

		if (v < 0)
			return -1;
		all += v;
	}
	for (int i = 0; i < n; i++) {
		char buf[512];
		const char *v = ksm_stat((int)pids[i], "ksm_rmap_items ", buf, sizeof(buf));

		if (!v)
			return -1;
		own += strtol(v, NULL, 10);
	}
	return all > own ? all - own : 0;
}

int ksm_run(const char *v)
{
	int fd = open(KSM_DIR "/run", O_WRONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	r = write(fd, v, strlen(v)) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/*
 * setuid: the process becomes nobody (no supplementary groups, gid and uid
 * 65534, real, effective and saved) and stays dumpable, as a process that
 * user started is: /proc/PID files stay its own, and a process of the same
 * user may attach to it. EPERM once it is not root any more.
 */
long op_setuid(struct stepcx *cx, const long *a)
{
	/* a[0]: RLIMIT_MEMLOCK in KiB, what io_uring charges the user against once it has no CAP_IPC_LOCK */
	struct rlimit rl = { .rlim_cur = (rlim_t)a[0] * 1024, .rlim_max = (rlim_t)a[0] * 1024 };

	(void)cx;
	if (geteuid() != 0)
		return -EPERM;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return -errno;
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(unpriv_uid, unpriv_uid, unpriv_uid))
		return -errno;
	prctl(PR_SET_DUMPABLE, 1);
	return 0;
}

/*
 * swapoff: the swap area off (try_to_unuse brings every swapped page back);
 * the coordinator checked that it is cowlab's and the only one
 * (swap_area_alone), and the server turns it on again after the program.
 */
long op_swapoff(struct stepcx *cx, const long *a)
{
	(void)cx;
	(void)a;
	return swapoff(our_swap_area()) ? -errno : 0;
}

/*
 * ksm-scan: ksmd runs until it has completed two full scans and then a
 * full scan that changed none of pages_shared, pages_sharing and
 * pages_unshared; then it is stopped (run=0, merged pages stay). a[0] is
 * what the coordinator knows (ksm_scan_kind): with no mm registered ksmd
 * does not scan at all, nothing to wait for; when every registered mm has
 * lost its mergeable areas one pass takes them off ksmd's list, and ksmd
 * then sleeps. A pass that does not come for 2 s means the same. The ENV
 * request set the other knobs (sleep 0, smart scan off) and put run on
 * the settings journal, so it comes back even if this process is killed.
 */
long op_ksm_scan(struct stepcx *cx, const long *a)
{
	long start = ksm_read("full_scans"), seen, prev, last[3] = { -1, -1, -1 };
	int r, moved = 0;

	/* /sys/kernel/mm/ksm/run is root's: an unprivileged process cannot drive ksmd */
	if (geteuid() != 0)
		return -EACCES;
	if (start < 0)
		return -ENOSYS;
	if (!a[0])
		return 0;	/* no process of the program registered with ksmd: it has nothing to scan */
	/* not once the server has put ksmd back (its end): ksmd would run on after the restore */
	r = machine_write(KSM_DIR "/run", "1");
	if (r)
		return r;
	seen = prev = start;
	for (int i = 0; i < 12000; i++) {
		long fs = ksm_read("full_scans");

		/* no pass for 2 s: ksmd's list is empty (it sleeps then); a[0] 2: it empties in the first pass */
		if (fs != prev) {
			prev = fs;
			moved = i;
		}
		if (i - moved >= 2000 || (a[0] == 2 && fs > start)) {
			ksm_run("0");
			return 0;
		}
		/* a task outlives cowlab only until it sees the channel hang up, not for this loop's 12 s */
		if (task_orphaned(cx->me, 1))
			return -ECANCELED;
		if (fs < start + 2 || fs == seen)
			continue;
		seen = fs;
		{
			long now[3] = { ksm_read("pages_shared"), ksm_read("pages_sharing"), ksm_read("pages_unshared") };

			if (now[0] == last[0] && now[1] == last[1] && now[2] == last[2]) {
				ksm_run("0");
				return 0;
			}
			memcpy(last, now, sizeof(now));
		}
	}
	ksm_run("0");
	return -ETIMEDOUT;
}
