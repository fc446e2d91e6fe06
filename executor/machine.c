/*
 * The machine state a run changes, owned by the server and put back on
 * exit, SIGTERM, SIGINT, SIGHUP or the death of its parent: a swapfile
 * and vm.page-cluster. Also the output helper every part uses.
 */
#include "cowlab.h"

char scratch_base[512] = "/tmp";
char swapfile[512];
long swap_mb;
int swap_on;
int cpu = -1;
int want_page_cluster0;
long timeout_ms = 20000;
static char saved_page_cluster[32];
static int page_cluster_saved;

void restore_machine(void)
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

void on_fatal_signal(int sig)
{
	restore_machine();
	signal(sig, SIG_DFL);
	raise(sig);
}

void out(const char *fmt, ...)
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
void reap_stale_swapfiles(void)
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
void setup_page_cluster(void)
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

/*
 * Pages under writeback on the machine, from /proc/vmstat after folding the
 * per-CPU counters into the totals (a write to /proc/sys/vm/stat_refresh;
 * without it a few pages of writeback can hide in per-CPU deltas), or -1.
 */
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
