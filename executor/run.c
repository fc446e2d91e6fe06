/*
 * One scenario: the coordinator starts its tasks (one process each,
 * connected by a socketpair), sends each step to its task, and after every
 * step drains the LRU batches and observes every region of every task
 * (pagemap, kpagecount, kpageflags, the folio: PMD-mapped, head, size).
 */
#include "cowlab.h"

struct prog P;
char scratch[600];
/* the server, whose run's scratch directory goes with it on a fatal signal */
pid_t scratch_owner;
static int chan[MAXT][2];	/* socketpair per task slot: [0] coordinator side, [1] task side */

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

/*
 * Waits up to ms milliseconds in a long step of task me; nonzero when the
 * coordinator is gone (its end of the channel hung up: cowlab was killed).
 * It sends nothing while a step runs, so any event on the task's end means that.
 */
int task_orphaned(int me, int ms)
{
	struct pollfd p = { .fd = chan[me][1], .events = POLLIN };

	return poll(&p, 1, ms) > 0;
}

/*
 * The threads of a task process. Its `thread` steps (OP_THREAD) create them,
 * numbered 1, 2, ... in that order (0 is the main thread, the one that talks
 * to the coordinator); each waits for the steps the program gives it. The
 * main thread hands a step of thread k over and waits for it to end: thread k
 * runs do_step() itself, so that the step's page faults (RUSAGE_THREAD), its
 * SIGSEGV recovery and the kernel's acting task are thread k's, as the model
 * has them. A fork() by a thread leaves the child with that thread alone
 * (task_loop starts it with none); the process's _exit ends them all.
 */
struct thread {
	int exists;
	int me;				/* the task whose step it runs */
	const struct step *st;		/* the step handed over, NULL once done */
	struct result *res;
};
static struct thread threads[MAXTH + 1];
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t threads_cond = PTHREAD_COND_INITIALIZER;
/* a thread's stack: mapped and populated by its creator (small folios), so that no step of it faults on its own stack */
#define THREAD_STACK (1L << 20)

static void *thread_main(void *arg)
{
	struct thread *w = arg;

	pthread_mutex_lock(&threads_lock);
	for (;;) {
		const struct step *st;

		while (!w->st)
			pthread_cond_wait(&threads_cond, &threads_lock);
		st = w->st;
		pthread_mutex_unlock(&threads_lock);
		/* a fork() in here may return in a child, which goes on in task_loop() without this table */
		do_step(w->me, st, w->res);
		pthread_mutex_lock(&threads_lock);
		w->st = NULL;
		pthread_cond_broadcast(&threads_cond);
	}
	return NULL;
}

/* A new thread k of this process (OP_THREAD): 0, or -errno. */
int thread_start(int k)
{
	struct thread *w = &threads[k];
	pthread_attr_t attr;
	pthread_t id;
	char *stack;
	int e;

	if (k < 1 || k > MAXTH || w->exists)
		return -EINVAL;
	stack = mmap(NULL, THREAD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	madvise(stack, THREAD_STACK, MADV_NOHUGEPAGE);
	memset(stack, 0, THREAD_STACK);
	w->st = NULL;
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, THREAD_STACK);
	e = pthread_create(&id, &attr, thread_main, w);
	pthread_attr_destroy(&attr);
	if (e) {
		munmap(stack, THREAD_STACK);
		return -e;
	}
	pthread_detach(id);
	w->exists = 1;
	return 0;
}

/* A step of a thread whose pthread_create() failed (the thread step said so): nothing runs, ESRCH. */
static void no_thread(struct result *res)
{
	memset(res, 0, offsetof(struct result, data));
	res->ret = -ESRCH;
	res->err = ESRCH;
	res->ksm = -1;
	res->kzp = -1;
}

/* Hands step st of task me over to thread w, its result to go to res (under threads_lock). */
static void hand_over(struct thread *w, int me, const struct step *st, struct result *res)
{
	w->me = me;
	w->res = res;
	w->st = st;
	pthread_cond_broadcast(&threads_cond);
}

void held_notify(void)
{
	pthread_mutex_lock(&threads_lock);
	pthread_cond_broadcast(&threads_cond);
	pthread_mutex_unlock(&threads_lock);
}

/* the result of each thread's step, which outlives the step when the monitor holds its fault (stop: uffd) */
static struct result thread_res[MAXTH + 1];

/*
 * A step stop: uffd: thread k's step runs until the monitor holds its first fault, and the step is
 * reported then (nothing counted yet: a fault is counted when it completes); or to its end if it
 * does not fault there. A resume step (OP_RESUME) wakes the held fault and reports the whole step
 * when the thread has finished it: its faults (the thread's own), the uffd faults since the resume.
 */
static void run_held(int me, const struct step *st, struct result *res)
{
	struct thread *w = &threads[st->thread];

	if (st->op == OP_RESUME) {
		long u0 = uffd_msgs_logged();

		do_step(me, st, res);
		if (res->ret < 0 || !w->exists)
			return;
		pthread_mutex_lock(&threads_lock);
		while (w->st)
			pthread_cond_wait(&threads_cond, &threads_lock);
		pthread_mutex_unlock(&threads_lock);
		if (w->res != &thread_res[st->thread])
			return;	/* nothing was held: the resume did nothing */
		memcpy(res, &thread_res[st->thread], offsetof(struct result, data) + thread_res[st->thread].n * sizeof(long));
		res->ufaults = uffd_msgs_logged() - u0;
		w->res = NULL;
		return;
	}
	if (!w->exists) {
		no_thread(res);
		return;
	}
	long u0 = uffd_msgs_logged();

	uffd_hold = 1;
	pthread_mutex_lock(&threads_lock);
	hand_over(w, me, st, &thread_res[st->thread]);
	while (w->st && !uffd_held)
		pthread_cond_wait(&threads_cond, &threads_lock);
	pthread_mutex_unlock(&threads_lock);
	uffd_hold = 0;
	if (!w->st) {
		/* it ended without a uffd fault: reported whole, nothing left for a resume */
		memcpy(res, &thread_res[st->thread], offsetof(struct result, data) + thread_res[st->thread].n * sizeof(long));
		w->res = NULL;
		return;
	}
	memset(res, 0, offsetof(struct result, data));
	res->ufaults = uffd_msgs_logged() - u0;
	res->ksm = ksm_program ? ksm_merging_pages() : -1;
	res->kzp = ksm_program ? ksm_zero_pages() : -1;
}

/* Runs a step on thread st->thread of this process and waits for it. */
static void run_on_thread(int me, const struct step *st, struct result *res)
{
	struct thread *w = &threads[st->thread];

	if (!w->exists) {
		no_thread(res);
		return;
	}
	pthread_mutex_lock(&threads_lock);
	hand_over(w, me, st, res);
	while (w->st)
		pthread_cond_wait(&threads_cond, &threads_lock);
	pthread_mutex_unlock(&threads_lock);
}

void task_loop(int me)
{
	pid_t pid = getpid();

	/* a child forked by a thread has that thread alone: no threads of its own yet (its parent's lock and condition are not its) */
	memset(threads, 0, sizeof(threads));
	pthread_mutex_init(&threads_lock, NULL);
	pthread_cond_init(&threads_cond, NULL);

	/*
	 * No PR_SET_PDEATHSIG: a child outlives its parent; the run's process group is killed at its end.
	 * Only the coordinator keeps the coordinator's ends of the channels, so that if it dies without
	 * killing the group (its server was killed), every task reads EOF and exits instead of waiting
	 * for ever under init. A task forked by a task finds them closed already.
	 */
	for (int u = 0; u < MAXT; u++) {
		if (chan[u][0] > 0) {
			close(chan[u][0]);
			chan[u][0] = -1;
		}
	}
	if (send_all(chan[me][1], &pid, sizeof(pid)))
		_exit(2);
	for (;;) {
		struct step st;
		struct result res;

		if (recv_all(chan[me][1], &st, sizeof(st)))
			_exit(0);
		if (st.stop || st.op == OP_RESUME)
			run_held(me, &st, &res);
		else if (st.thread)
			run_on_thread(me, &st, &res);
		else
			do_step(me, &st, &res);
		if (send_all(chan[me][1], &res, offsetof(struct result, data) + res.n * sizeof(long)))
			_exit(2);
		if (st.op == OP_EXIT)
			_exit(0);
	}
}

/* ---------------- the coordinator of one scenario ---------------- */

static int alive[MAXT];
/*
 * The tasks that hold each task's io_uring ring (its creator, and fork
 * children, which inherit the fd), as the model's task_ring() has them.
 * The kernel tears a ring down, and unpins its buffers, in a workqueue
 * (io_ring_exit_work) after its last holder has exited, so an observation
 * right after the exit could still see the pins (the hugetlb pool one page
 * short). The last holder therefore unregisters the buffers itself before
 * it exits (OP_EXIT's a[0]: the rings it holds last), which is synchronous
 * when no request is in flight; the state after the step is the same.
 */
static unsigned long ring_holders[MAXT];
/*
 * The live tasks whose mm is on ksmd's list (MMF_VM_MERGEABLE): a
 * MADV_MERGEABLE that registered it, or a fork child of such a task
 * (ksm_fork). An exit takes it off, and so does a ksm-scan for an mm left
 * without a VM_MERGEABLE area (ksmd's pass drops it from the list). When
 * none is left ksmd has nothing to scan and sleeps, so a ksm-scan returns
 * at once instead of waiting 2 s for a pass that never comes.
 */
static unsigned long ksm_registered;

/*
 * Whether task t has a VM_MERGEABLE area, which only an mm on ksmd's list
 * has: "ksm_mergeable" in its ksm_stat (6.18 shows it). Where the kernel
 * does not show it, 1: the task is taken to be on the list (a scan may then
 * wait out the 2 s for nothing, as before).
 */
static int ksm_mergeable(int t)
{
	char buf[512];
	const char *v = ksm_stat((int)task_pids[t], "ksm_mergeable: ", buf, sizeof(buf));

	return v ? !strncmp(v, "yes", 3) : 1;
}

/*
 * What a ksm-scan has to wait for: 0 nothing (no mm of the program on
 * ksmd's list), 2 one full pass (every listed mm has lost its VM_MERGEABLE
 * areas: that pass drops their rmap items and takes them off the list, and
 * ksmd then sleeps), 1 passes until nothing changes.
 */
static long ksm_scan_kind(void)
{
	int listed = 0, idle = 1;

	for (int t = 0; t < P.ntasks; t++) {
		if (!alive[t] || !(ksm_registered & (1UL << t)))
			continue;
		listed = 1;
		if (ksm_mergeable(t))
			idle = 0;
	}
	return !listed ? 0 : idle ? 2 : 1;
}

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

/*
 * The folio of each observed page, for the M lines: whether a PMD maps it
 * (PAGEMAP_SCAN's PAGE_IS_HUGE, one scan per region), and its head PFN and
 * size from /proc/kpageflags (KPF_COMPOUND_TAIL back to KPF_COMPOUND_HEAD,
 * then the tails after it), remembered for the step so that the 512 pages
 * of a THP cost one walk.
 */
static int pagemap_scan_ok = 1;	/* cleared when the kernel has no PAGEMAP_SCAN (before 6.7) */

#define MAXHUGE 1024
static long huge_lo[MAXHUGE], huge_hi[MAXHUGE];	/* PMD-mapped vpage ranges [lo, hi) of one region */
static int nhuge;

/* Finds the PMD-mapped ranges of [start, start + pages) in a task's mm: 0, or -1 when that cannot be told. */
static int scan_huge(int pagemap_fd, long start, long pages)
{
	struct cowlab_page_region vec[64];
	uint64_t lo = BASE + start * PAGE, hi = BASE + (start + pages) * PAGE;

	nhuge = 0;
	if (!pagemap_scan_ok)
		return -1;
	while (lo < hi) {
		struct cowlab_pm_scan_arg arg = {
			.size = sizeof(arg), .start = lo, .end = hi, .vec = (uintptr_t)vec, .vec_len = 64,
			.category_mask = COWLAB_PAGE_IS_HUGE, .return_mask = COWLAB_PAGE_IS_HUGE,
		};
		long n = ioctl(pagemap_fd, COWLAB_PAGEMAP_SCAN, &arg);

		if (n < 0) {
			if (errno == ENOTTY || errno == EINVAL)
				pagemap_scan_ok = 0;
			return -1;
		}
		for (long i = 0; i < n && nhuge < MAXHUGE; i++) {
			huge_lo[nhuge] = (long)((vec[i].start - BASE) / PAGE);
			huge_hi[nhuge++] = (long)((vec[i].end - BASE) / PAGE);
		}
		if (arg.walk_end <= lo)
			break;
		lo = arg.walk_end;
	}
	return 0;
}

#define MAXFOLIOS 256
#define MAXFOLIO_PAGES (1L << 18)
static uint64_t folio_head[MAXFOLIOS];
static long folio_nr[MAXFOLIOS];
static int nfolios;

/* Head PFN and pages of the folio holding pfn (flags: its kpageflags); 0 and 0 when that cannot be told. */
static void folio_of(uint64_t pfn, uint64_t flags, struct kfolio *f)
{
	static uint64_t chunk[512];
	const uint64_t head_bit = 1ULL << KPF_COMPOUND_HEAD, tail_bit = 1ULL << KPF_COMPOUND_TAIL;
	uint64_t h = pfn, at;
	long nr = 1;
	int found;

	f->head = 0;
	f->nr = 0;
	if (kpageflags_fd < 0 || !pfn)
		return;
	if (!(flags & (head_bit | tail_bit))) {
		f->head = pfn;
		f->nr = 1;
		return;
	}
	for (int i = 0; i < nfolios; i++) {
		if (pfn >= folio_head[i] && pfn < folio_head[i] + (uint64_t)folio_nr[i]) {
			f->head = folio_head[i];
			f->nr = folio_nr[i];
			return;
		}
	}
	/* a tail: back to the head */
	found = !!(flags & head_bit);
	for (at = pfn; !found && at > 0 && pfn - at < (uint64_t)MAXFOLIO_PAGES;) {
		uint64_t from = at > 512 ? at - 512 : 0;
		size_t cnt = at - from;

		if (pread(kpageflags_fd, chunk, cnt * 8, (off_t)(from * 8)) != (ssize_t)(cnt * 8))
			return;
		for (size_t k = cnt; k-- > 0;) {
			if (chunk[k] & head_bit) {
				h = from + k;
				found = 1;
				break;
			}
			if (!(chunk[k] & tail_bit))
				return;	/* a tail without a head: it changed under us */
		}
		at = from;
	}
	if (!found)
		return;
	/* the tails after the head */
	for (at = h + 1; nr < MAXFOLIO_PAGES;) {
		ssize_t got = pread(kpageflags_fd, chunk, sizeof(chunk), (off_t)(at * 8));
		size_t k = 0;

		if (got <= 0)
			break;
		for (; k < (size_t)got / 8 && (chunk[k] & tail_bit) && !(chunk[k] & head_bit); k++)
			nr++;
		if (k < (size_t)got / 8 || got < (ssize_t)sizeof(chunk))
			break;
		at += k;
	}
	if (nfolios < MAXFOLIOS) {
		folio_head[nfolios] = h;
		folio_nr[nfolios++] = nr;
	}
	f->head = h;
	f->nr = nr;
}

/*
 * What each observed page showed at the last report, per task and region
 * page, so that only changes go out (the M lines are deltas: a long
 * program on a THP would otherwise print its 512 pages after every step).
 */
struct pageobs { uint64_t entry, count, flags, head; long nr; int huge; };
static struct pageobs *last_obs;	/* [task][sum of the regions' pages] */
static long obs_pages;			/* the regions' pages together */
static long obs_base[MAXR];		/* index of a region's first page in a task's row */

/* kpagecount or kpageflags of n consecutive frames from pfn into out; zeros where they cannot be read */
static void read_frames(int fd, uint64_t *out, uint64_t pfn, long n)
{
	ssize_t got = fd >= 0 ? pread(fd, out, n * 8, (off_t)(pfn * 8)) : -1;

	if (got < 0)
		got = 0;
	memset((char *)out + got, 0, n * 8 - got);
}

static void observe(int step)
{
	static uint64_t ent[MAXPAGES], cnt[MAXPAGES], flg[MAXPAGES];

	if (!last_obs) {
		for (int r = 0; r < P.nregions; r++) {
			obs_base[r] = obs_pages;
			obs_pages += P.rpages[r];
		}
		last_obs = calloc((size_t)(P.ntasks * obs_pages) + 1, sizeof(*last_obs));
	}
	nfolios = 0;
	for (int t = 0; t < P.ntasks; t++) {
		/* a task that is gone is not compared any more: its last lines stand */
		if (!alive[t] || pagemap_fds[t] < 0)
			continue;
		for (int r = 0; r < P.nregions; r++) {
			long n = P.rpages[r];
			int scanned = scan_huge(pagemap_fds[t], P.rstart[r], n);
			int hi = 0;
			ssize_t got = pread(pagemap_fds[t], ent, n * 8, (off_t)((BASE / PAGE + P.rstart[r]) * 8));

			if (got < 0)
				got = 0;
			memset((char *)ent + got, 0, n * 8 - got);
			/* kpagecount and kpageflags of each run of consecutive frames in one read each */
			for (long i = 0, j; i < n; i = j) {
				uint64_t pfn = ent[i] & ((1ULL << PM_PFN_BITS) - 1);

				j = i + 1;
				if (!((ent[i] >> PM_PRESENT) & 1)) {
					cnt[i] = flg[i] = 0;
					continue;
				}
				while (j < n && ((ent[j] >> PM_PRESENT) & 1) &&
				       (ent[j] & ((1ULL << PM_PFN_BITS) - 1)) == pfn + (uint64_t)(j - i))
					j++;
				read_frames(kpagecount_fd, cnt + i, pfn, j - i);
				read_frames(kpageflags_fd, flg + i, pfn, j - i);
			}
			for (long i = 0; i < n; i++) {
				long vpage = P.rstart[r] + i;
				uint64_t e = ent[i];
				struct kfolio f = { -1, 0, 0 };
				struct pageobs now = { 0 };

				if (e >> PM_SWAP) {
					if ((e >> PM_PRESENT) & 1)
						folio_of(e & ((1ULL << PM_PFN_BITS) - 1), flg[i], &f);
					if (scanned == 0) {
						while (hi < nhuge && huge_hi[hi] <= vpage)
							hi++;
						f.huge = hi < nhuge && huge_lo[hi] <= vpage;
					}
					now.entry = e;
					now.count = cnt[i];
					now.flags = flg[i];
					now.head = f.head;
					now.nr = f.nr;
					now.huge = f.huge;
				}
#ifndef COWLAB_EMBED
				if (last_obs) {
					struct pageobs *was = &last_obs[t * obs_pages + obs_base[r] + i];

					if (now.entry == was->entry && now.count == was->count && now.flags == was->flags &&
					    now.head == was->head && now.nr == was->nr && now.huge == was->huge)
						continue;
					*was = now;
					/* entry 0: the page became empty */
					report_page(step, t, vpage, now.entry, now.count, now.flags, &f);
					continue;
				}
#endif
				/* the reproducer keeps whole observations of the steps it checks */
				if (now.entry)
					report_page(step, t, vpage, now.entry, now.count, now.flags, &f);
			}
		}
	}
}

/* The program drives ksmd (a ksm-scan, MADV_MERGEABLE or MADV_UNMERGEABLE step) */
static int uses_ksm(void)
{
	for (int i = 0; i < P.nsteps; i++) {
		const struct step *st = &P.steps[i];

		if (st->op == OP_KSM_SCAN || (st->op == OP_MADVISE && (st->a[2] == ADV_MERGEABLE || st->a[2] == ADV_UNMERGEABLE)))
			return 1;
	}
	return 0;
}

/* The program has a step of operation `op` */
int program_uses_op(int op)
{
	for (int i = 0; i < P.nsteps; i++)
		if (P.steps[i].op == op)
			return 1;
	return 0;
}

/* The program maps hugetlb pages (MAP_HUGETLB, or a MFD_HUGETLB memfd) */
static int uses_hugetlb(void)
{
	for (int i = 0; i < P.nsteps; i++)
		if (P.steps[i].op == OP_MMAP && P.steps[i].a[6] & 2)
			return 1;
	for (int f = 0; f < P.nfiles; f++)
		if (P.fkind[f] == 2)
			return 1;
	return 0;
}

/* Takes the machine-wide lock `name` for the rest of the program and sets *flag; -1 when it cannot */
static int hold_lock(const char *name, int *flag)
{
	int fd = machine_lock(name);

	if (fd < 0) {
		out("X cannot take %s: %s", name, strerror(-fd));
		return -1;
	}
	*flag = 1;
	return 0;
}

static int make_files(void)
{
	static char zero[PAGE];

	for (int f = 0; f < P.nfiles; f++) {
		dfiles[f] = -1;
		if (P.fkind[f] == 0 || P.fkind[f] == 2) {
			/* kind 2: MFD_HUGETLB with 2 MiB pages, fallocated from the pool */
			files[f] = memfd_create("cowlab", P.fkind[f] == 2 ? MFD_HUGETLB | (21 << MFD_HUGE_SHIFT) : 0);
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

int coordinator(void)
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
	/* machine-wide locks, held until this program's processes are gone (the fds stay open) */
	{
		char err[256];

		if (thp_claim(err, sizeof(err)) == -1) {
			out("X env: %s", err);
			return 1;
		}
	}
	if ((uses_ksm() && hold_lock("ksm.lock", &ksm_program)) || (uses_hugetlb() && hold_lock("hugetlb.lock", &hugetlb_program)))
		return 1;
	/*
	 * swap.lock shared, for every program: the kernel spreads swap-outs over all areas of equal
	 * priority, so this program's pages may go to another run's swap area, whose swapoff (at that
	 * run's end) would swap them back in under the program; a swapoff of an area waits for it
	 */
	/* (not root: no journal directory, no lock; such a run has no swap area of its own) */
	swap_lock_fd = machine_lock_mode("swap.lock", LOCK_SH);
	/* ksmd runs only inside a ksm-scan step: a program killed in one (its time limit) left it running */
	if (ksm_program)
		ksm_run("0");
	if (program_uses_op(OP_SWAPOFF)) {
		char err[1200];

		/* "env:": swap cannot be turned off here; the program does not run */
		if (swap_area_alone(err, sizeof(err))) {
			out("X env: %s", err);
			return 1;
		}
	}
	if (hugetlb_program) {
		char err[256];

		if (hugetlb_pool_claim(err, sizeof(err))) {
			/* "env:": the machine could not give the program its environment; it did not run */
			out("X env: %s", err);
			return 1;
		}
	}
	signal(SIGSEGV, on_segv);
	signal(SIGBUS, on_segv);
	if (!scratch[0]) {
		snprintf(scratch, sizeof(scratch), "%s/cowlab-run.%d-XXXXXX", scratch_base, (int)getpid());
		if (!mkdtemp(scratch)) {
			out("X cannot create a scratch directory in %s: %s", scratch_base, strerror(errno));
			return 1;
		}
	}
	/* populated by prefault_self() below, after it has ruled out large folios there */
	bounce = mmap(NULL, MAXPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	tlbflush_area = mmap(NULL, TLBFLUSH_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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
	/*
	 * io_uring charges an unprivileged ring to its user's locked_vm, shared by every process of that uid and
	 * given back only when a ring's deferred teardown ends: runs side by side, or one right after another's
	 * exit, would see each other's charges under one uid such as nobody's
	 */
	unpriv_uid = 1000000 + (uid_t)getpid();
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
		struct step sent;

		/* ksm-scan learns whether any process registered with ksmd: if none did, ksmd will not scan */
		if (st->op == OP_KSM_SCAN) {
			sent = *st;
			sent.a[0] = ksm_scan_kind();
			st = &sent;
		}
		/* an exit learns which rings it holds the last file of (ring_holders above) */
		if (st->op == OP_EXIT && alive[t]) {
			sent = *st;
			sent.a[0] = 0;
			for (int o = 0; o < P.ntasks; o++)
				if (ring_holders[o] == 1UL << t)
					sent.a[0] |= 1L << o;
			st = &sent;
		}
		long umsg0 = uffd_msgs_logged();

		uffd_msgs_step(umsg0);

		if (!alive[t]) {
			/* a task that exited, or whose fork failed: the step fails with ESRCH and does nothing,
			 * as the model's step() has it (nothing in the kernel ran) */
			memset(&res, 0, offsetof(struct result, data));
			res.ret = -ESRCH;
			res.err = ESRCH;
			res.ksm = -1;
			res.kzp = -1;
		} else if (send_all(chan[t][0], st, sizeof(*st)) ||
			   recv_all(chan[t][0], &res, offsetof(struct result, data)) ||
			   recv_all(chan[t][0], res.data, res.n * sizeof(long))) {
			out("X step %d: task %d died", i + 1, t);
			status = 1;
			break;
		}
		/* the uffd messages of the step, whichever task's monitor took them */
		uffd_msgs_since(umsg0, &res);
		if (st->op == OP_MADVISE && st->a[2] == ADV_MERGEABLE && res.ret == 0 && ksm_mergeable(t))
			ksm_registered |= 1UL << t;
		/* the pages ksmd merged must be the program's: another process's mergeable memory merges with them */
		if (st->op == OP_KSM_SCAN && res.ret == 0 && st->a[0]) {
			pid_t pids[MAXT];
			int np = 0;
			long foreign;

			for (int u = 0; u < P.ntasks; u++)
				if (alive[u])
					pids[np++] = task_pids[u];
			foreign = ksm_foreign_items(pids, np);
			if (foreign > 0) {
				out("X env: ksmd also tracks %ld page(s) of MADV_MERGEABLE memory of processes outside this program "
				    "(a qemu guest without -machine mem-merge=off?), and merges equal pages across them: "
				    "its KSM results would not be the program's own", foreign);
				status = 1;
				break;
			}
		}
		/* ksmd's passes took every mm without a VM_MERGEABLE area off its list */
		if (st->op == OP_KSM_SCAN && res.ret == 0)
			for (int u = 0; u < P.ntasks; u++)
				if (alive[u] && (ksm_registered & (1UL << u)) && !ksm_mergeable(u))
					ksm_registered &= ~(1UL << u);
		if (st->op == OP_IO_URING_SETUP && res.ret == 0)
			ring_holders[t] = 1UL << t;
		if (st->op == OP_FORK && res.ret > 0) {
			for (int o = 0; o < P.ntasks; o++)
				if (ring_holders[o] & (1UL << t))
					ring_holders[o] |= 1UL << st->a[0];
			if (start_task_ack((int)st->a[0])) {
				out("X step %d: the child did not start", i + 1);
				status = 1;
				break;
			}
			res.ret = 0;
			if (ksm_registered & (1UL << t))
				ksm_registered |= 1UL << st->a[0];
		}
		if (st->op == OP_EXIT && alive[t]) {
			ksm_registered &= ~(1UL << t);
			for (int o = 0; o < P.ntasks; o++)
				ring_holders[o] &= ~(1UL << t);
			struct pollfd pfd = { .fd = pidfds[t], .events = POLLIN };
			poll(&pfd, 1, 5000);	/* the mm is torn down before the task is reported dead */
			alive[t] = 0;
			close(pagemap_fds[t]);
			pagemap_fds[t] = -1;
		}
		if (hugetlb_program)
			read_hugetlb_pool(&res);
		report_step(i + 1, &res);
		drain_all_lru();
		observe(i + 1);
		if (step_progress)
			(*step_progress)++;
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

/*
 * Whether a read fault on private anonymous memory maps the shared zero page
 * (kpageflags KPF_ZERO_PAGE of the frame it maps): 1, 0 (the kernel forbids it,
 * as some vendor kernels do with pvm_no_zero_page=1), or -1 when it cannot be
 * told (no root: pagemap shows no frame).
 */
/* CONFIG_MEM_SOFT_DIRTY: pagemap bit 55 shows up for a freshly written page only when the kernel tracks it. */
int soft_dirty_tracked(void)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t e = 0;

	if (p != MAP_FAILED) {
		p[0] = 1;
		if (fd < 0 || pread(fd, &e, 8, ((unsigned long)p / PAGE) * 8) != 8)
			e = 0;
		munmap(p, PAGE);
	}
	if (fd >= 0)
		close(fd);
	return (int)((e >> PM_SOFT_DIRTY) & 1);
}

int zero_page_on_read(void)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int pm = open("/proc/self/pagemap", O_RDONLY);
	int kf = open("/proc/kpageflags", O_RDONLY);
	uint64_t e = 0, flags = 0, pfn;
	int r = -1;

	if (p != MAP_FAILED && pm >= 0 && kf >= 0) {
		madvise(p, PAGE, MADV_NOHUGEPAGE);
		(void)*(volatile char *)p;
		if (pread(pm, &e, 8, ((unsigned long)p / PAGE) * 8) == 8 && ((e >> PM_PRESENT) & 1)) {
			pfn = e & ((1ULL << PM_PFN_BITS) - 1);
			if (pfn && pread(kf, &flags, 8, pfn * 8) == 8)
				r = (flags >> KPF_ZERO_PAGE) & 1;
		}
	}
	if (kf >= 0)
		close(kf);
	if (pm >= 0)
		close(pm);
	if (p != MAP_FAILED)
		munmap(p, PAGE);
	return r;
}
