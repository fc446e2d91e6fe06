/*
 * cowlab-exec: shared declarations of the C executor (docs/architecture.md).
 *
 *   machine.c  the machine state a run changes (swapfile; the settings journal:
 *              vm.page-cluster, THP knobs) and its restoration; output
 *   ops.c      the step engine: one function per scenario operation
 *   run.c      one scenario: its task processes, steps, observations
 *   server.c   the protocol (programs in, observations out) and main()
 *   guest.c    process 1 of a qemu guest
 *
 * cowlab-ops.h is generated from the operation registry (src/ops/) when the
 * executor is built: the opcodes, their argument kinds and the table of the
 * functions of ops.c. An emitted reproducer (cowlab emit-c) is this header,
 * the generated one, machine.c, ops.c and run.c in one file.
 */
#ifndef COWLAB_H
#define COWLAB_H
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/userfaultfd.h>
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1 /* 5.11 */
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00) /* /dev/userfaultfd, 6.1 */
#endif
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
#include <sys/file.h>
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
#include <grp.h>
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
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

/*
 * PAGEMAP_SCAN (6.7+, include/uapi/linux/fs.h), defined here because the
 * build host's headers may predate it: an ioctl on /proc/<pid>/pagemap that
 * reports ranges of pages by category; PAGE_IS_HUGE marks pages mapped by a
 * PMD (or hugetlb).
 */
#define COWLAB_PAGE_IS_HUGE (1 << 6)
struct cowlab_page_region {
	uint64_t start, end, categories;
};
struct cowlab_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define COWLAB_PAGEMAP_SCAN _IOWR('f', 16, struct cowlab_pm_scan_arg)

#define PAGE 4096UL
#define BASE 0x200000000000UL /* virtual page 0 of every scenario */
#define MAXT 32
#define MAXR 64
#define MAXF 16
#define MAXO 4096
#define MAXP 16
#define MAXPAGES 2048
#define MAXTH 8 /* threads a process creates (its `thread` steps), besides its main thread */
#define KSM_DIR "/sys/kernel/mm/ksm"
#define HUGETLB_DIR "/sys/kernel/mm/hugepages"
#define VALUE_TAG 0x40000000ULL
#define TAG_PREFIX 0x434f574c00000000ULL /* "COWL" */
/* tag_of() of a page of mixed bytes: this plus a 32-bit hash of them (2^52: exact as a JavaScript number) */
#define MIXED_CODE (1L << 52)

/*
 * One step of a program: the acting task, the opcode, its arguments, and the
 * thread of the task's process that runs it: 0 its main thread, k the k-th
 * thread the process created (OP_THREAD, 1..MAXTH; a fork child has none).
 */
/* stop: a thread's step the uffd monitor holds at its first fault (W <thread> 1) */
struct step { int task, op; long a[7]; int thread; int stop; };

/* What a step did, sent from its task to the coordinator. */
/* ksm: /proc/self/ksm_merging_pages after the step, -1 when the program does not use KSM or the kernel has no such file;
 * kzp: ksm_zero_pages of /proc/self/ksm_stat (6.5+), -1 likewise */
/* hfree, hresv, hsurplus: the 2 MiB hugetlb pool after the step, for programs that map hugetlb pages (resv as the signed number it stands for) */
/* umsgs: the uffd fault messages the step caused (any task's monitor), the first MAXUMSG: virtual page and UFFD_PAGEFAULT_FLAG_* */
#define MAXUMSG 8
struct umsg { long vpage; long flags; };
struct result { long ret; int err; int sig; long faults; long ufaults; long ksm; long kzp; long hfree; long hresv; long hsurplus; int nmsg; struct umsg msgs[MAXUMSG]; int n; long data[MAXPAGES]; };
/* the log of uffd fault messages every task's monitor writes, in the run's shared page (ops.c) */
long uffd_msgs_logged(void);
void uffd_msgs_since(long from, struct result *res);
void uffd_msgs_step(long from);

/* A program: task slots, the regions observed after each step, files, steps. */
struct prog {
	int ntasks, ninitial, nregions, nfiles, nsteps;
	long rstart[MAXR], rpages[MAXR];
	int fkind[MAXF];
	long fpages[MAXF];
	struct step steps[MAXO];
};

/*
 * The step being run, as an operation's function sees it: the acting task,
 * the result to fill (data and n for reads), and whether the step's page
 * faults can be told from the executor's own (fork and soft-dirty clearing
 * fault the executor's pages too: not measured).
 */
struct stepcx {
	int me;
	struct result *res;
	int unmeasured;
	/* faults of the executor itself during the step, not charged to it */
	long own_faults;
};

/* The kinds of operation arguments, for validating a program. */
enum arg_kind { ARG_OTHER, ARG_START, ARG_PAGES, ARG_FILE, ARG_FILE_OR_ANON, ARG_DFILE, ARG_PIPE, ARG_TASK, ARG_ADVICE, ARG_THREAD };

typedef long op_fn(struct stepcx *cx, const long *a);

#include "cowlab-ops.h"

#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

/* machine.c */
extern char scratch_base[512];
extern char swapfile[512];
/* the swap area a swapoff step turns off: this run's (--swapfile or --swap-area), the guest's /dev/ram0 */
extern char swap_area[512];
extern long swap_mb;
extern int swap_on;
extern int cpu;
extern int want_page_cluster0;
extern long timeout_ms;
/* steps a program has completed, shared with the server so its time limit is per step (NULL: no server) */
extern volatile long *step_progress;
void restore_machine(void);
void on_fatal_signal(int sig);
void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int write_swap_header(int fd, long pages);
int setup_swap(void);
int zero_page_on_read(void);
int soft_dirty_tracked(void);
void reap_stale_swapfiles(void);
int program_uses_op(int op);
const char *our_swap_area(void);
int swap_area_alone(char *err, size_t len);
void swap_area_back(void);
void setup_page_cluster(void);
void machine_recover(void);
void machine_release(void);
void machine_own(void);
int machine_write(const char *path, const char *value);
extern pid_t program_pid;
int setting_set(const char *path, const char *value);
int thp_sizes(long *kb, int max);
int machine_env(const char *spec, char *err, size_t errlen);
int machine_want(const char *spec, char *err, size_t errlen);
int thp_claim(char *err, size_t errlen);
int machine_lock_mode(const char *name, int mode);
extern int swap_lock_fd;
int machine_env_exact(const char *spec, char *err, size_t errlen);
long nr_writeback(void);
#define NBACKGROUND 5
extern const char *const background_names[NBACKGROUND];
void vmstat_background(long *v);
int ksm_lock(void);
long read_number(const char *path);
unsigned long read_unsigned(const char *path);
int hugetlb_lock(void);
int hugetlb_pool_claim(char *err, size_t errlen);
int machine_lock(const char *name);
void read_hugetlb_pool(struct result *res);
long ksm_merging_pages(void);
long ksm_zero_pages(void);
const char *ksm_stat(int pid, const char *key, char *buf, size_t len);
long ksm_foreign_items(const pid_t *pids, int n);
int ksm_run(const char *v);
void wait_writeback(void);

/* ops.c */
extern char *bounce;
extern int ksm_program;
extern int hugetlb_program;
extern int files[MAXF], dfiles[MAXF], pipes[MAXP][2];
extern pid_t *task_pids;
/* the uid setuid gives this run's tasks (run.c): a user of its own, so that no other run shares its locked_vm */
extern uid_t unpriv_uid;
extern int ring_fd, uffd;
extern char *tlbflush_area;
#define TLBFLUSH_PAGES 64
void *addr_of(long vpage);
void on_segv(int sig);
void prefault_self(void);
long faults_now(void);
void fill_page(char *p, unsigned long long tag);
long tag_of(const char *p);
void do_step(int me, const struct step *st, struct result *res);
/* stop: uffd: the monitor holds the next write-protect fault instead of answering it (set before the step is handed over) */
extern volatile int uffd_hold;
/* the address of the fault the monitor holds, 0 when none */
extern volatile unsigned long uffd_held;

/* run.c */
extern struct prog P;
extern char scratch[600];
extern pid_t scratch_owner;
void reap_stale_scratch(void);
void task_loop(int me);
int thread_start(int k);
/* the monitor held a fault: the task's main thread waiting for it goes on */
void held_notify(void);
int task_orphaned(int me, int ms);
int coordinator(void);
/* where results go: printed by the server, recorded by an emitted reproducer */
void report_step(int step, const struct result *res);
/* a page after a step: pagemap entry, kpagecount, kpageflags, and its folio:
 * huge (PAGEMAP_SCAN PAGE_IS_HUGE: 1/0, -1 unknown), head PFN (0 unknown), pages (0 unknown) */
struct kfolio { int huge; uint64_t head; long nr; };
void report_page(int step, int task, long vpage, uint64_t entry, uint64_t count, uint64_t flags, const struct kfolio *f);

/* guest.c */
void guest_init(void);

#endif /* COWLAB_H */
