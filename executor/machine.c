/*
 * The machine state a run changes, owned by the server and put back on
 * exit, SIGTERM, SIGINT, SIGHUP or the death of its parent: a swapfile and
 * the machine settings (vm.page-cluster, the THP knobs, later KSM and the
 * hugetlb pools), which go through a journal so that they come back even
 * after a SIGKILL or when runs overlap. Also the output helper every part
 * uses.
 *
 * The settings journal
 * --------------------
 * Every sysfs or procfs setting cowlab changes goes through setting_set().
 * The journal lives in /run/cowlab (tmpfs: it does not outlive the boot
 * whose settings it records), or when that cannot be used in
 * $COWLAB_CACHE/cowlab-machine or <scratch base>/cowlab-machine:
 *
 *   lock      flock()ed around every read-modify-write of the two others
 *   journal   "#boot <boot_id>", then "<path>\t<value>" per setting: the value
 *             the machine had before any cowlab run changed it
 *   users     "<pid> <start time>" per live process that changed settings
 *             (the start time, field 22 of /proc/<pid>/stat, tells a reused
 *             pid from the process that registered)
 *
 * setting_set(path, value): lock; drop dead users; if none is left and a
 * journal exists, restore it first (a killed run's); register this process;
 * if the path is not in the journal, append its current value (the word in
 * brackets for "always [madvise] never" files); write the new value; unlock.
 * Only the first writer of a path records it, so a second run that overlaps
 * the first never takes the first's value for the original. A program's
 * process (a child of the owner) registers nothing and may change a setting
 * only while its owner is a live user: after the owner's release, a late
 * write would outlive the restore (the pool a hugetlb program claims).
 *
 * machine_release() (exit, the fatal signals, the death of cowlab through
 * PR_SET_PDEATHSIG): lock; remove this process and dead ones; if no live user
 * remains, write every journal value back and delete the journal; unlock.
 *
 * machine_recover() (every executor's start): lock; drop dead users; if none
 * is left and a journal exists, restore it (crash recovery of a SIGKILLed
 * run); unlock. A journal of an earlier boot is discarded, not restored.
 *
 * The locked sections block signals, so a fatal signal is handled after the
 * section, and they use only system calls on static buffers, so the signal
 * handler may run them. Children of the server (a scenario's processes)
 * inherit the handlers but own nothing: machine_pid tells them apart. A
 * server that is killed kills its program under way before it restores.
 */
#include "cowlab.h"

char scratch_base[512] = "/tmp";
char swapfile[512];
char swap_area[512];
long swap_mb;
int swap_on;
int cpu = -1;
int want_page_cluster0;
long timeout_ms = 20000;
volatile long *step_progress;
/* the process whose machine state this is (0: it changed nothing yet) */
static pid_t machine_pid;
/* swap.lock, held shared by the program under way in this process (its coordinator); -1: none */
int swap_lock_fd = -1;
/* the server's program under way (its coordinator; 0: none) */
pid_t program_pid;

static void own_machine(void)
{
	if (!machine_pid)
		machine_pid = getpid();
}


/* ---------------- small helpers safe in a signal handler ---------------- */

/* The file's text (NUL-terminated, at most len - 1 bytes), its length, or -errno. */
static ssize_t read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0, r;

	if (fd < 0)
		return -errno;
	while ((size_t)n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return r;
		}
		n += r;
	}
	close(fd);
	buf[n] = 0;
	return n;
}

/* Writes s to an existing file (a sysfs or procfs setting): 0 or -errno. */
static int write_text(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t w;

	if (fd < 0)
		return -errno;
	do
		w = write(fd, s, len);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	close(fd);
	return (size_t)w == len ? 0 : -EIO;
}

/* Replaces a file by s (via a temporary and rename), or removes it when s is empty. */
static void replace_file(const char *path, const char *s)
{
	char tmp[600];
	size_t len = strlen(s), off = 0;
	int fd;

	if (!len) {
		unlink(path);
		return;
	}
	memcpy(tmp, path, strlen(path));
	memcpy(tmp + strlen(path), ".tmp", 5);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	while (off < len) {
		ssize_t w = write(fd, s + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += w;
	}
	if (off == len && !fsync(fd) && !close(fd))
		rename(tmp, path);
	else {
		close(fd);
		unlink(tmp);
	}
}

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	*p = 0;
	return p;
}

static char *put_ull(char *p, unsigned long long v)
{
	char d[24];
	int n = 0;

	do
		d[n++] = '0' + v % 10;
	while ((v /= 10));
	while (n)
		*p++ = d[--n];
	*p = 0;
	return p;
}

static unsigned long long get_ull(const char **s)
{
	unsigned long long v = 0;

	while (**s >= '0' && **s <= '9')
		v = v * 10 + (unsigned)(*(*s)++ - '0');
	return v;
}

static void say(const char *a, const char *b, const char *c)
{
	char line[1024], *p = put_str(line, "cowlab-exec: ");

	if (strlen(a) + strlen(b) + strlen(c) > sizeof(line) - 20)
		return;
	p = put_str(put_str(put_str(p, a), b), c);
	*p++ = '\n';
	if (write(2, line, p - line) < 0) {
		/* nowhere else to say it */
	}
}

/* The start time of a live process (field 22 of /proc/<pid>/stat), 0 when it is gone. */
static unsigned long long proc_start(long pid)
{
	char path[64], buf[1024];
	const char *s;
	int field = 2;

	put_str(put_ull(put_str(path, "/proc/"), pid), "/stat");
	if (read_text(path, buf, sizeof(buf)) <= 0 || !(s = strrchr(buf, ')')))
		return 0;
	for (s++; *s && field < 22; s++)
		if (*s == ' ')
			field++;
	return get_ull(&s);
}

/* ---------------- the settings journal ---------------- */

#define JMAX 64		/* settings */
#define UMAX 64		/* users */
#define JPATH 256
#define JVAL 128

struct jent { char path[JPATH]; char val[JVAL]; };
struct juser { long pid; unsigned long long start; };

static char jdir[512];
static struct jent jents[JMAX];
static int njents;
static struct juser jusers[UMAX];
static int njusers;
static int registered;
static char jbuf[JMAX * (JPATH + JVAL + 2) + 128];

static void jpath(char *out, const char *name)
{
	put_str(put_str(put_str(out, jdir), "/"), name);
}

/* The journal's directory: /run/cowlab, else $COWLAB_CACHE/cowlab-machine, else <scratch base>/cowlab-machine. */
static int journal_dir(void)
{
	char cands[3][sizeof(jdir)];
	int n = 0;
	const char *cache = getenv("COWLAB_CACHE");

	if (jdir[0])
		return 0;
	snprintf(cands[n++], sizeof(cands[0]), "/run/cowlab");
	if (cache && cache[0] && strlen(cache) < 400)
		snprintf(cands[n++], sizeof(cands[0]), "%s/cowlab-machine", cache);
	if (strlen(scratch_base) < 400)
		snprintf(cands[n++], sizeof(cands[0]), "%s/cowlab-machine", scratch_base);
	for (int i = 0; i < n; i++) {
		struct stat st;

		if (mkdir(cands[i], 0700) && errno != EEXIST)
			continue;
		if (stat(cands[i], &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || access(cands[i], W_OK | X_OK))
			continue;
		memcpy(jdir, cands[i], strlen(cands[i]) + 1);
		return 0;
	}
	return -EACCES;
}

/*
 * ksmd is one for the whole machine: a program that drives it holds this
 * lock (an flock() on <journal dir>/ksm.lock) from its start to its end, so
 * that two cowlab runs never let ksmd merge each other's pages; an ENV
 * request that sets ksmd's knobs holds it while it writes them. The locked
 * fd, or -errno; the lock goes with its last copy (a program's: at its end).
 */
int ksm_lock(void)
{
	return machine_lock("ksm.lock");
}

/*
 * The same for the hugetlb pool (hugetlb.lock): a program that maps hugetlb
 * pages holds it throughout, and an ENV request that sets a pool holds it
 * while it writes, so no other cowlab run changes the pool or takes its
 * pages while a program counts on them.
 */
int hugetlb_lock(void)
{
	return machine_lock("hugetlb.lock");
}

/* flock() on <journal dir>/<name>: the locked fd, or -errno */
int machine_lock(const char *name)
{
	return machine_lock_mode(name, LOCK_EX);
}

/* The same with a mode (LOCK_SH or LOCK_EX) */
int machine_lock_mode(const char *name, int mode)
{
	char path[600];
	int fd;

	if (journal_dir())
		return -EACCES;
	jpath(path, name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, mode)) {
		if (errno != EINTR) {
			int e = -errno;

			close(fd);
			return e;
		}
	}
	return fd;
}

/* The current boot's id, or "" */
static void boot_id(char *out, size_t len)
{
	ssize_t n = read_text("/proc/sys/kernel/random/boot_id", out, len);

	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = 0;
	if (n < 0)
		out[0] = 0;
}

static void jload(void)
{
	char path[600], boot[64], *s, *nl;

	njents = njusers = 0;
	boot_id(boot, sizeof(boot));
	jpath(path, "journal");
	if (read_text(path, jbuf, sizeof(jbuf)) > 0) {
		for (s = jbuf; *s; s = nl + 1) {
			char *tab;

			if (!(nl = strchr(s, '\n')))
				break;
			*nl = 0;
			if (!strncmp(s, "#boot ", 6)) {
				if (boot[0] && strcmp(s + 6, boot)) {
					say("discarding the settings journal of an earlier boot in ", jdir, "");
					njents = 0;
					break;
				}
				continue;
			}
			if (s[0] != '/' || !(tab = strchr(s, '\t')) || tab - s >= JPATH || strlen(tab + 1) >= JVAL || njents >= JMAX)
				continue;
			memcpy(jents[njents].path, s, tab - s);
			jents[njents].path[tab - s] = 0;
			put_str(jents[njents].val, tab + 1);
			njents++;
		}
	}
	jpath(path, "users");
	if (read_text(path, jbuf, sizeof(jbuf)) > 0) {
		for (const char *u = jbuf; *u && njusers < UMAX;) {
			long pid = (long)get_ull(&u);
			unsigned long long start;

			if (*u == ' ')
				u++;
			start = get_ull(&u);
			if (pid > 0)
				jusers[njusers++] = (struct juser){ pid, start };
			while (*u && *u != '\n')
				u++;
			if (*u)
				u++;
		}
	}
}

static void jsave(void)
{
	char path[600], boot[64], *p = jbuf;

	*p = 0;
	if (njents) {
		boot_id(boot, sizeof(boot));
		p = put_str(put_str(put_str(p, "#boot "), boot), "\n");
		for (int i = 0; i < njents; i++)
			p = put_str(put_str(put_str(put_str(p, jents[i].path), "\t"), jents[i].val), "\n");
	}
	jpath(path, "journal");
	replace_file(path, jbuf);
	p = jbuf;
	*p = 0;
	for (int i = 0; i < njusers; i++)
		p = put_str(put_ull(put_str(put_ull(p, jusers[i].pid), " "), jusers[i].start), "\n");
	jpath(path, "users");
	replace_file(path, jbuf);
}

/* Drops users that are gone (or whose pid now names another process). */
static void jprune(void)
{
	int n = 0;

	for (int i = 0; i < njusers; i++) {
		unsigned long long st = proc_start(jusers[i].pid);

		if (st && st == jusers[i].start)
			jusers[n++] = jusers[i];
	}
	njusers = n;
}

/*
 * A hugetlb pool written back while the last program's pages are still in use
 * (its processes are being killed) turns them into surplus pages, freed when
 * released. But set_max_huge_pages() drops hugetlb_lock between freeing free
 * pages and making the rest surplus: a page released in that window goes to
 * the free list, where it stays, free, or is then made surplus, a free
 * surplus page nothing frees (nr_hugepages stays above the value written;
 * both seen on 6.18). So the value is written again until the pool reads it,
 * for up to 2 s. Signal-safe.
 */
static void pool_settle(const char *path, const char *val)
{
	static const struct timespec tick = { 0, 10 * 1000 * 1000 };
	const char *v = val;
	unsigned long long want = get_ull(&v);

	for (int i = 0; i < 200; i++) {
		char got[32];
		const char *g = got;

		if (read_text(path, got, sizeof(got)) <= 0 || get_ull(&g) == want)
			return;
		nanosleep(&tick, NULL);
		/* writing 0 again leaves a free surplus page alone: the current size first takes the
		 * surplus pages back into the pool (count > persistent), then the value frees the free ones */
		got[strcspn(got, "\n")] = 0;
		if (write_text(path, got) || write_text(path, val))
			return;
	}
	say("the hugetlb pool ", path, " still has pages in use: they are freed when released");
}

static int is_pool(const char *path)
{
	size_t n = strlen(path), k = strlen("/nr_hugepages");

	return n > k && !strcmp(path + n - k, "/nr_hugepages");
}

/* Writes back every journalled value, newest first, and empties the journal. */
static void jrestore_all(int crashed)
{
	for (int i = njents - 1; i >= 0; i--) {
		int r = write_text(jents[i].path, jents[i].val);

		if (!r && is_pool(jents[i].path))
			pool_settle(jents[i].path, jents[i].val);
		if (r)
			say("cannot restore ", jents[i].path, r == -EINVAL ? ": the kernel rejects the saved value" : ": cannot write it");
		else if (crashed)
			say("restored ", jents[i].path, " (left changed by a run that was killed)");
	}
	njents = 0;
}

/* Locks the journal with every signal blocked and loads it; returns the lock's fd or -errno. */
static int jlock(sigset_t *old)
{
	sigset_t all;
	char path[600];
	int fd;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, old);
	if (journal_dir()) {
		sigprocmask(SIG_SETMASK, old, NULL);
		return -EACCES;
	}
	jpath(path, "lock");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = -errno;
		sigprocmask(SIG_SETMASK, old, NULL);
		return e;
	}
	while (flock(fd, LOCK_EX) && errno == EINTR)
		;
	jload();
	jprune();
	return fd;
}

static void junlock(int fd, const sigset_t *old)
{
	jsave();
	close(fd);	/* releases the flock */
	sigprocmask(SIG_SETMASK, old, NULL);
}

void machine_recover(void)
{
	sigset_t old;
	int fd;

	if (geteuid() != 0)
		return;	/* nothing could have been changed */
	fd = jlock(&old);
	if (fd < 0)
		return;
	if (!njusers && njents)
		jrestore_all(1);
	junlock(fd, &old);
}

/* The value of a setting: the word in brackets ("always [madvise] never"), else the text without its newline. */
static int setting_read(const char *path, char *out, size_t len)
{
	char buf[512], *s = buf, *e;
	ssize_t n = read_text(path, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	if ((s = strchr(buf, '[')) && (e = strchr(s, ']'))) {
		s++;
		*e = 0;
	} else {
		s = buf;
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
			buf[--n] = 0;
	}
	if (strlen(s) >= len || strchr(s, '\n') || strchr(s, '\t'))
		return -EINVAL;
	put_str(out, s);
	return 0;
}

/*
 * Whether this process may change a setting now: the owner itself, or a
 * program's process while its owner is a live user. Once the owner has
 * released the machine (its end: everything written back), a late write from
 * one of its programs would outlive the restore; it is refused. Under jlock.
 */
static int owner_live(void)
{
	/* no owner: a program of its own (a reproducer's process before any setting); nothing is journalled for it */
	if (!machine_pid || getpid() == machine_pid)
		return 1;
	for (int i = 0; i < njusers; i++)
		if (jusers[i].pid == (long)machine_pid)
			return 1;
	return 0;
}

/*
 * Writes a setting that is already journalled (ksmd's run, recorded by the
 * ENV request) without recording it, only while this process may change
 * settings (owner_live). 0, or -errno (-ESRCH: the owner has released them).
 */
int machine_write(const char *path, const char *value)
{
	sigset_t old;
	int fd, r = -ESRCH;

	fd = jlock(&old);
	if (fd < 0)
		return fd;
	if (owner_live())
		r = write_text(path, value);
	junlock(fd, &old);
	return r;
}

int setting_set(const char *path, const char *value)
{
	sigset_t old;
	int fd, i, r = 0;

	if (strlen(path) >= JPATH || strlen(value) >= JVAL || path[0] != '/')
		return -EINVAL;
	fd = jlock(&old);
	if (fd < 0)
		return fd;
	own_machine();
	if (!owner_live()) {
		junlock(fd, &old);
		return -ESRCH;
	}
	if (getpid() == machine_pid && !registered) {
		/* a journal nobody lives for any more is a killed run's: restore it before taking over */
		if (!njusers && njents)
			jrestore_all(1);
		if (njusers >= UMAX) {
			junlock(fd, &old);
			return -EUSERS;
		}
		jusers[njusers++] = (struct juser){ getpid(), proc_start(getpid()) };
		registered = 1;
	}
	for (i = 0; i < njents && strcmp(jents[i].path, path); i++)
		;
	if (i == njents) {
		if (njents >= JMAX)
			r = -ENOSPC;
		else if (!(r = setting_read(path, jents[njents].val, JVAL)))
			put_str(jents[njents++].path, path);
	}
	if (!r) {
		jsave();	/* the original is on record before the setting changes */
		r = write_text(path, value);
	}
	junlock(fd, &old);
	return r;
}

/*
 * Makes this process the owner of the machine state and registers it as a
 * user (a server, at its start, after machine_recover): every executor of
 * a pool is a user, also those that never change a setting, so the settings
 * stay until the last one leaves and their programs' processes may drive
 * ksmd (machine_write) while their own server lives. Its children never own.
 */
void machine_own(void)
{
	sigset_t old;
	int fd;

	machine_pid = getpid();
	if (geteuid() != 0)
		return;	/* nothing can be changed */
	fd = jlock(&old);
	if (fd < 0)
		return;
	if (!registered && njusers < UMAX) {
		jusers[njusers++] = (struct juser){ getpid(), proc_start(getpid()) };
		registered = 1;
	}
	junlock(fd, &old);
}

void machine_release(void)
{
	sigset_t old;
	int fd;

	if (!registered || getpid() != machine_pid)
		return;
	fd = jlock(&old);
	if (fd < 0)
		return;
	for (int i = 0; i < njusers; i++) {
		if (jusers[i].pid == (long)getpid()) {
			jusers[i] = jusers[--njusers];
			break;
		}
	}
	if (!njusers)
		jrestore_all(0);
	registered = 0;
	junlock(fd, &old);
}

/* ---------------- THP settings (the ENV request) ---------------- */

#define THP_DIR "/sys/kernel/mm/transparent_hugepage"

int thp_sizes(long *kb, int max)
{
	DIR *d = opendir(THP_DIR);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)) && n < max) {
		char path[600];
		long v;
		char tail[8];

		if (sscanf(de->d_name, "hugepages-%ld%7s", &v, tail) != 2 || strcmp(tail, "kB") || v <= 0)
			continue;
		snprintf(path, sizeof(path), THP_DIR "/%s/enabled", de->d_name);
		if (access(path, F_OK))
			continue;	/* 8kB: shmem only */
		kb[n++] = v;
	}
	if (d)
		closedir(d);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && kb[j - 1] > kb[j]; j--) {
			long t = kb[j];
			kb[j] = kb[j - 1];
			kb[j - 1] = t;
		}
	return n;
}

/*
 * The 2 MiB pool the last ENV or WANT request asked for (-1: none), and the
 * other hugetlb settings with it (the overcommit). Another cowlab run may set
 * them between that request and a program's start, and an executor of a pool
 * that does not own the machine only gets WANT, so a hugetlb program sets
 * them again once it holds hugetlb.lock (hugetlb_pool_claim).
 */
static long hugetlb_want = -1;
#define HWANT 8
static char hugetlb_want_path[HWANT][JPATH], hugetlb_want_val[HWANT][JVAL];
static int hugetlb_nwant;

/* The pool is exactly `want` pages, all free: 0, or -1 with the reason in err */
static int hugetlb_pool_check(long want, char *err, size_t errlen)
{
	char got[JVAL] = "?";

	if (setting_read(HUGETLB_DIR "/hugepages-2048kB/free_hugepages", got, sizeof(got)) || strtol(got, NULL, 10) != want) {
		snprintf(err, errlen, "the 2 MiB hugetlb pool has %s free huge page(s), not %ld (memory too fragmented, or pages in use)", got, want);
		return -1;
	}
	return 0;
}

/*
 * Sets the pool to `want` and checks it; when fewer pages came out than asked
 * (free memory too fragmented: a small guest after many programs), compacts
 * memory once (/proc/sys/vm/compact_memory is a trigger, not a setting) and
 * asks again. 0, or -1 with the reason in err.
 */
static int hugetlb_pool_fill(long want, char *err, size_t errlen)
{
	char v[32];
	int fd, r;

	snprintf(v, sizeof(v), "%ld", want);
	r = setting_set(HUGETLB_DIR "/hugepages-2048kB/nr_hugepages", v);
	if (r) {
		snprintf(err, errlen, "the 2 MiB hugetlb pool cannot be set to %ld: %s", want, strerror(-r));
		return -1;
	}
	if (!hugetlb_pool_check(want, err, errlen))
		return 0;
	fd = open("/proc/sys/vm/compact_memory", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0) {
			/* no compaction here: the check below reports the pool as it is */
		}
		close(fd);
	}
	r = setting_set(HUGETLB_DIR "/hugepages-2048kB/nr_hugepages", v);
	if (r) {
		snprintf(err, errlen, "the 2 MiB hugetlb pool cannot be set to %ld: %s", want, strerror(-r));
		return -1;
	}
	return hugetlb_pool_check(want, err, errlen);
}

/*
 * For a hugetlb program that holds hugetlb.lock: the pool the program's ENV
 * asked for, set again if another run changed it meanwhile, and checked.
 */
int hugetlb_pool_claim(char *err, size_t errlen)
{
	for (int i = 0; i < hugetlb_nwant; i++) {
		char cur[JVAL];
		int r;

		if (!strcmp(hugetlb_want_path[i], HUGETLB_DIR "/hugepages-2048kB/nr_hugepages") ||
		    (!setting_read(hugetlb_want_path[i], cur, sizeof(cur)) && !strcmp(cur, hugetlb_want_val[i])))
			continue;
		r = setting_set(hugetlb_want_path[i], hugetlb_want_val[i]);
		if (r) {
			snprintf(err, errlen, "%s = %s: %s", hugetlb_want_path[i], hugetlb_want_val[i], strerror(-r));
			return -1;
		}
	}
	if (hugetlb_want < 0)
		return 0;
	return hugetlb_pool_fill(hugetlb_want, err, errlen);
}

/*
 * The THP settings (paths under THP_DIR) the last ENV or WANT request asked
 * for. Every cowlab run sets them machine-wide, so two runs that want
 * different ones would change them under each other's programs: a program
 * holds thp.lock shared from its start to its end, after it has found the
 * settings as it wants them or set them again; a change takes the lock
 * exclusively, so it waits until no program of any run is under way.
 */
#define TWANT 32
static char thp_want_path[TWANT][JPATH], thp_want_val[TWANT][JVAL];
static int thp_nwant;

static int thp_matches(void)
{
	for (int i = 0; i < thp_nwant; i++) {
		char cur[JVAL];

		if (setting_read(thp_want_path[i], cur, sizeof(cur)) || strcmp(cur, thp_want_val[i]))
			return 0;
	}
	return 1;
}

/*
 * For a program's process, at its start, before any other machine lock
 * (the order is thp, ksm, hugetlb): thp.lock held shared, with the THP
 * settings this server's runs want. The fd to keep open for the program's
 * life (its processes inherit it), -2 when nothing is wanted (no ENV), or
 * -1 with the reason in err.
 */
int thp_claim(char *err, size_t errlen)
{
	int fd;

	if (!thp_nwant)
		return -2;
	fd = machine_lock_mode("thp.lock", LOCK_SH);
	if (fd < 0) {
		snprintf(err, errlen, "cannot take thp.lock: %s", strerror(-fd));
		return -1;
	}
	while (!thp_matches()) {
		/* another run's settings: wait until its programs are gone (flock drops the shared lock first) */
		while (flock(fd, LOCK_EX) && errno == EINTR)
			;
		for (int i = 0; i < thp_nwant; i++) {
			int r = setting_set(thp_want_path[i], thp_want_val[i]);

			if (r) {
				snprintf(err, errlen, "%s = %s: %s", thp_want_path[i], thp_want_val[i], strerror(-r));
				close(fd);
				return -1;
			}
		}
		while (flock(fd, LOCK_SH) && errno == EINTR)
			;
	}
	return fd;
}

/*
 * ENV key=value ...: thp (enabled), thp_<kB> (hugepages-<kB>kB/enabled),
 * use_zero_page. Every key is checked before any is set; values are the
 * kernel's to judge. 0, or -1 with the reason in err.
 */
static int env_request(const char *spec, int apply, char *err, size_t errlen);

int machine_env(const char *spec, char *err, size_t errlen)
{
	return env_request(spec, 1, err, errlen);
}

/*
 * WANT key=value ...: the same keys, only recorded: the THP settings this
 * server's programs claim (thp_claim), for an executor of a pool whose
 * machine owner makes the ENV request.
 */
int machine_want(const char *spec, char *err, size_t errlen)
{
	return env_request(spec, 0, err, errlen);
}

static int env_request(const char *spec, int apply, char *err, size_t errlen)
{
	char buf[2048], *save = NULL, *tok;
	static char paths[JMAX][JPATH], vals[JMAX][JVAL];
	int n = 0, lockfd = -1, hlockfd = -1, tlockfd = -1;

	if (apply && geteuid() != 0) {
		snprintf(err, errlen, "ENV: not root: machine settings cannot be changed");
		return -1;
	}
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "ENV: request too long");
		return -1;
	}
	memcpy(buf, spec, strlen(spec) + 1);
	for (tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		char *eq = strchr(tok, '='), *key = tok, *val;
		char *end;
		long kb;

		if (!eq || eq == tok || !eq[1]) {
			snprintf(err, errlen, "ENV: \"%.40s\": expected key=value", tok);
			return -1;
		}
		*eq = 0;
		val = eq + 1;
		if (strlen(val) >= JVAL || strspn(val, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(val)) {
			snprintf(err, errlen, "ENV: %s: bad value \"%.40s\"", key, val);
			return -1;
		}
		if (n >= JMAX) {
			snprintf(err, errlen, "ENV: too many settings");
			return -1;
		}
		if (!strcmp(key, "thp"))
			snprintf(paths[n], JPATH, THP_DIR "/enabled");
		else if (!strcmp(key, "use_zero_page"))
			snprintf(paths[n], JPATH, THP_DIR "/use_zero_page");
		else if (!strcmp(key, "khugepaged_sleep"))
			snprintf(paths[n], JPATH, THP_DIR "/khugepaged/scan_sleep_millisecs");
		else if (!strncmp(key, "ksm_", 4) && strspn(key + 4, "abcdefghijklmnopqrstuvwxyz_") == strlen(key + 4)) {
			snprintf(paths[n], JPATH, KSM_DIR "/%s", key + 4);
			/* knobs of later kernels (smart_scan 6.7, advisor_mode 6.8) are left out where absent */
			if (access(paths[n], F_OK) && strcmp(key, "ksm_run"))
				continue;
		}
		else if (!strncmp(key, "thp_", 4) && (kb = strtol(key + 4, &end, 10)) > 0 && !*end)
			snprintf(paths[n], JPATH, THP_DIR "/hugepages-%ldkB/enabled", kb);
		else if (!strncmp(key, "hugetlb_overcommit_", 19) && (kb = strtol(key + 19, &end, 10)) > 0 && !*end)
			snprintf(paths[n], JPATH, HUGETLB_DIR "/hugepages-%ldkB/nr_overcommit_hugepages", kb);
		else if (!strncmp(key, "hugetlb_", 8) && (kb = strtol(key + 8, &end, 10)) > 0 && !*end)
			snprintf(paths[n], JPATH, HUGETLB_DIR "/hugepages-%ldkB/nr_hugepages", kb);
		else {
			snprintf(err, errlen, "ENV: unknown key \"%.40s\" (keys: thp, thp_<kB>, use_zero_page, khugepaged_sleep, ksm_<knob>, hugetlb_<kB>, hugetlb_overcommit_<kB>)", key);
			return -1;
		}
		if (access(paths[n], F_OK)) {
			if (!strncmp(key, "thp_", 4))
				snprintf(err, errlen, "ENV: %s: this machine has no %s kB THP size (no %s)", key, key + 4, paths[n]);
			else if (!strncmp(key, "hugetlb_", 8))
				snprintf(err, errlen, "ENV: %s: this machine has no %s kB hugetlb pages (no %s)", key, key + 8, paths[n]);
			else
				snprintf(err, errlen, "ENV: %s: no %s (a kernel without CONFIG_%s?)", key, paths[n],
					 strncmp(key, "ksm_", 4) ? "TRANSPARENT_HUGEPAGE" : "KSM");
			return -1;
		}
		snprintf(vals[n++], JVAL, "%s", val);
	}
	thp_nwant = 0;
	for (int i = 0; i < n && thp_nwant < TWANT; i++) {
		if (strncmp(paths[i], THP_DIR "/", strlen(THP_DIR) + 1))
			continue;
		memcpy(thp_want_path[thp_nwant], paths[i], JPATH);
		memcpy(thp_want_val[thp_nwant++], vals[i], JVAL);
	}
	hugetlb_nwant = 0;
	hugetlb_want = -1;
	for (int i = 0; i < n && hugetlb_nwant < HWANT; i++) {
		if (strncmp(paths[i], HUGETLB_DIR "/", strlen(HUGETLB_DIR) + 1))
			continue;
		memcpy(hugetlb_want_path[hugetlb_nwant], paths[i], JPATH);
		memcpy(hugetlb_want_val[hugetlb_nwant++], vals[i], JVAL);
		if (!strcmp(paths[i], HUGETLB_DIR "/hugepages-2048kB/nr_hugepages"))
			hugetlb_want = strtol(vals[i], NULL, 10);
	}
	if (!apply)
		return 0;
	/* the lock order of thp_claim: thp, ksm, hugetlb */
	for (int i = 0; i < n && tlockfd < 0; i++)
		if (!strncmp(paths[i], THP_DIR "/", strlen(THP_DIR) + 1))
			tlockfd = machine_lock("thp.lock");
	for (int i = 0; i < n && lockfd < 0; i++)
		if (!strncmp(paths[i], KSM_DIR "/", strlen(KSM_DIR) + 1))
			lockfd = ksm_lock();
	for (int i = 0; i < n && hlockfd < 0; i++)
		if (!strncmp(paths[i], HUGETLB_DIR "/", strlen(HUGETLB_DIR) + 1))
			hlockfd = hugetlb_lock();
	for (int i = 0; i < n; i++) {
		int r;

		/* ksmd's run is recorded and left as it is: a ksm-scan step starts and stops ksmd */
		if (!strcmp(vals[i], "keep")) {
			char cur[JVAL];

			if (setting_read(paths[i], cur, sizeof(cur)))
				continue;
			snprintf(vals[i], JVAL, "%s", cur);
		}
		r = setting_set(paths[i], vals[i]);

		/* a pool must come out exactly that size and all free: the model starts from it */
		if (!r && !strcmp(paths[i], HUGETLB_DIR "/hugepages-2048kB/nr_hugepages")) {
			if (hugetlb_pool_fill(hugetlb_want, err, errlen))
				r = 1;
		}
		if (r) {
			if (r < 0)
				snprintf(err, errlen, "ENV: %s = %s: %s", paths[i], vals[i],
					 r == -EINVAL ? "the kernel rejects the value" : strerror(-r));
			if (lockfd >= 0)
				close(lockfd);
			if (hlockfd >= 0)
				close(hlockfd);
			if (tlockfd >= 0)
				close(tlockfd);
			return -1;
		}
	}
	if (lockfd >= 0)
		close(lockfd);
	if (hlockfd >= 0)
		close(hlockfd);
	if (tlockfd >= 0)
		close(tlockfd);
	return 0;
}

/*
 * The same, but exactly: every THP size of the machine the spec does not
 * name is set to never, and a size the machine lacks may be named only as
 * never (or, before 6.8, 2048 as inherit: the PMD size then follows
 * enabled). For reproducers, which do not know the machine's sizes.
 */
int machine_env_exact(const char *spec, char *err, size_t errlen)
{
	char full[2048], buf[2048], *save = NULL, *tok;
	long kb[32];
	int n = thp_sizes(kb, 32), len = 0;

	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "ENV: request too long");
		return -1;
	}
	memcpy(buf, spec, strlen(spec) + 1);
	full[0] = 0;
	for (tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		long size;
		char *end;
		int have = 0;

		if (!strncmp(tok, "thp_", 4) && (size = strtol(tok + 4, &end, 10)) > 0 && *end == '=') {
			for (int i = 0; i < n; i++)
				have |= kb[i] == size;
			if (!have && (!strcmp(end + 1, "never") || (size == 2048 && !n && !strcmp(end + 1, "inherit"))))
				continue;
		}
		len += snprintf(full + len, sizeof(full) - len, " %s", tok);
	}
	for (int i = 0; i < n; i++) {
		char key[40];

		snprintf(key, sizeof(key), "thp_%ld=", kb[i]);
		if (!strstr(spec, key) && len < (int)sizeof(full))
			len += snprintf(full + len, sizeof(full) - len, " %snever", key);
	}
	if (len >= (int)sizeof(full)) {
		snprintf(err, errlen, "ENV: request too long");
		return -1;
	}
	return machine_env(full, err, errlen);
}

/* ---------------- restoring everything ---------------- */

/*
 * Before this run's swap area goes off: wait until no program of any run is
 * under way (they hold swap.lock shared), as another run's program may have
 * pages in this area that swapoff would bring back in under it. Bounded (a
 * run whose programs follow each other without a gap could hold it for
 * long): past 60 s the area goes off anyway. The locked fd (to close once
 * the area is off), or -errno. Signal-safe.
 */
static int swap_quiesce(void)
{
	static const struct timespec tick = { 0, 10 * 1000 * 1000 };
	int fd = -1;

	/* a reproducer runs its program in this process: its own shared lock goes first (its tasks share it) */
	if (swap_lock_fd >= 0) {
		flock(swap_lock_fd, LOCK_UN);
		close(swap_lock_fd);
		swap_lock_fd = -1;
	}

	for (int i = 0; i < 6000; i++) {
		fd = machine_lock_mode("swap.lock", LOCK_EX | LOCK_NB);
		if (fd != -EWOULDBLOCK)
			break;
		nanosleep(&tick, NULL);
	}
	return fd;
}

void restore_machine(void)
{
	sigset_t all, old;

	/* a scenario's process inherits the handlers, not the machine */
	if (!machine_pid || getpid() != machine_pid)
		return;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	/* the settings first: the swap area may wait for another run's program (swap_quiesce) */
	machine_release();
	if (swap_on & 1) {
		int lockfd = swap_quiesce();

		/* EINVAL: a swapoff step of the last program already turned it off */
		if (swapoff(swapfile) && errno != EINVAL)
			fprintf(stderr, "cowlab-exec: swapoff %s: %s\n", swapfile, strerror(errno));
		swap_on &= ~1;
		if (lockfd >= 0)
			close(lockfd);
	}
	if (swapfile[0])
		unlink(swapfile);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* The server's last act when cowlab is gone: the machine back, and the run's scratch directory
 * (empty: its files are O_TMPFILE) removed. Signal-safe; a no-op in a scenario's processes. */
static void server_leaves(void)
{
	/* the program under way first: a process of it must not change a setting after the restore */
	if (program_pid > 0 && machine_pid && getpid() == machine_pid) {
		kill(-program_pid, SIGKILL);
		kill(program_pid, SIGKILL);
		while (waitpid(program_pid, NULL, 0) < 0 && errno == EINTR)
			;
		program_pid = 0;
	}
	restore_machine();
	if (scratch_owner && getpid() == scratch_owner && scratch[0])
		rmdir(scratch);
}

void on_fatal_signal(int sig)
{
	server_leaves();
	signal(sig, SIG_DFL);
	raise(sig);
}

void out(const char *fmt, ...)
{
	char buf[MAXPAGES * 24 + 256]; /* a P line: up to MAXPAGES data tags */
	va_list ap;
	int n;

#ifdef COWLAB_EMBED
	/*
	 * In a reproducer what the executor says is a TAP comment, without the protocol: a task's start
	 * (I) is nobody's business there, and an error (X) is said as itself.
	 */
	const char *say = fmt;

	if (say[0] == 'I' && say[1] == ' ')
		return;
	if (say[0] == 'X' && say[1] == ' ')
		say += 2;
	va_start(ap, fmt);
	buf[0] = '#';
	buf[1] = ' ';
	n = 2 + vsnprintf(buf + 2, sizeof(buf) - 2, say, ap);
#else
	va_start(ap, fmt);
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
			/* cowlab is gone (its end closes the pipe before PR_SET_PDEATHSIG is sent) */
			server_leaves();
			_exit(3);
		}
		off += w;
	}
}

/* Writes a swap header (version 1) on the first page of the file. */
int write_swap_header(int fd, long pages)
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

int setup_swap(void)
{
	long pages = swap_mb * 256;
	static char zero[1 << 20];
	int fd;

	own_machine();
	fd = open(swapfile, O_CREAT | O_EXCL | O_WRONLY, 0600);
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

/* The swap area a swapoff step acts on: the reproducer's own swapfile, else the run's */
const char *our_swap_area(void)
{
	return swap_area[0] ? swap_area : swapfile;
}

/* Whether a /proc/swaps name is `area` (the same file: /proc/swaps shows the path with links resolved) */
static int same_area(const char *name, const char *area)
{
	struct stat a, b;

	if (!strcmp(name, area))
		return 1;
	return !stat(name, &a) && !stat(area, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Whether a program may turn swap off: cowlab's swap area is active and it is
 * the only one (a machine's own swap, or another cowlab run's, is left
 * alone: the program cannot say "swap off" there). 0, or -1 with why in err.
 */
int swap_area_alone(char *err, size_t len)
{
	const char *area = our_swap_area();
	FILE *f = fopen("/proc/swaps", "r");
	char l[1024];
	int ours = 0, other = 0;

	if (!area[0]) {
		snprintf(err, len, "swapoff: cowlab has no swap area here");
		if (f)
			fclose(f);
		return -1;
	}
	while (f && fgets(l, sizeof(l), f)) {
		char path[1024];

		if (sscanf(l, "%1023s", path) != 1 || !strcmp(path, "Filename"))
			continue;
		if (same_area(path, area)) {
			ours = 1;
			continue;
		}
		if (!other)
			snprintf(err, len, "swapoff: another swap area is active (%s); cowlab turns off only its own", path);
		other = 1;
	}
	if (f)
		fclose(f);
	if (other)
		return -1;
	if (!ours) {
		snprintf(err, len, "swapoff: cowlab's swap area %s is not active", area);
		return -1;
	}
	return 0;
}

/* After a program with a swapoff step: cowlab's swap area on again (nothing when it still is). */
void swap_area_back(void)
{
	const char *area = our_swap_area();
	FILE *f;
	char l[1024];

	if (!area[0])
		return;
	f = fopen("/proc/swaps", "r");
	while (f && fgets(l, sizeof(l), f)) {
		char path[1024];

		if (sscanf(l, "%1023s", path) == 1 && same_area(path, area)) {
			fclose(f);
			return;
		}
	}
	if (f)
		fclose(f);
	if (swapon(area, SWAP_FLAG_PREFER | (32767 << SWAP_FLAG_PRIO_SHIFT)))
		fprintf(stderr, "cowlab-exec: swapon %s again: %s\n", area, strerror(errno));
}

/* Swapfiles a killed cowlab or reproducer left active (its pid gone): swapoff and remove. */
void reap_stale_swapfiles(void)
{
	FILE *f = fopen("/proc/swaps", "r");
	char l[1024];

	while (f && fgets(l, sizeof(l), f)) {
		char path[1024];
		char *name;
		int pid;

		if (sscanf(l, "%1023s", path) != 1)
			continue;
		/* a run's (cowlab-swap-<pid>-<n>) or an emit-c reproducer's (cowlab-repro-swap-<pid>) */
		if ((name = strstr(path, "cowlab-swap-")) ? sscanf(name, "cowlab-swap-%d-", &pid) != 1
		    : !(name = strstr(path, "cowlab-repro-swap-")) || sscanf(name, "cowlab-repro-swap-%d", &pid) != 1)
			continue;
		if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		if (swapoff(path) == 0) {
			unlink(path);
			fprintf(stderr, "cowlab-exec: removed stale swapfile %s\n", path);
		}
	}
	if (f)
		fclose(f);
}

/* Scratch directories of servers that were SIGKILLed (cowlab-run.<pid>-XXXXXX, pid gone). */
void reap_stale_scratch(void)
{
	DIR *d = opendir(scratch_base);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char path[1200];
		int pid;

		if (sscanf(de->d_name, "cowlab-run.%d-", &pid) != 1 || pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", scratch_base, de->d_name);
		rmdir(path);
	}
	if (d)
		closedir(d);
}

/* vm.page-cluster = 0: no swap readahead, so swap-ins are one page each (through the journal). */
void setup_page_cluster(void)
{
	int r;

	if (geteuid() != 0)
		return;	/* not ours to change */
	r = setting_set("/proc/sys/vm/page-cluster", "0");
	if (r && r != -ENOENT)
		fprintf(stderr, "cowlab-exec: setting vm.page-cluster: %s\n", strerror(-r));
}

/*
 * Pages under writeback on the machine, from /proc/vmstat after folding the
 * per-CPU counters into the totals (a write to /proc/sys/vm/stat_refresh;
 * without it a few pages of writeback can hide in per-CPU deltas), or -1.
 */
/*
 * Event counters of work the kernel does on its own (reclaim, compaction,
 * migration) rather than because a scenario asked: a scenario run during
 * which one of them moved may have had its folios split or moved behind
 * the model's back (the deferred-split shrinker runs from reclaim).
 */
const char *const background_names[NBACKGROUND] = {
	"pgscan_kswapd", "pgscan_direct", "compact_stall", "compact_daemon_wake", "pgmigrate_success",
};

void vmstat_background(long *v)
{
	static char buf[65536];
	int fd = open("/proc/vmstat", O_RDONLY);
	ssize_t n = 0, r;

	for (int i = 0; i < NBACKGROUND; i++)
		v[i] = -1;
	if (fd < 0)
		return;
	while (n < (ssize_t)sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	for (char *line = buf; line && *line;) {
		char *next = strchr(line, '\n');

		if (next)
			*next++ = 0;
		for (int i = 0; i < NBACKGROUND; i++) {
			size_t l = strlen(background_names[i]);

			if (!strncmp(line, background_names[i], l) && line[l] == ' ')
				v[i] = strtol(line + l + 1, NULL, 10);
		}
		line = next;
	}
}

long nr_writeback(void)
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
void wait_writeback(void)
{
	for (int i = 0; i < 4000 && nr_writeback() > 0; i++)
		usleep(500);
}
