/*
 * Process 1 of a qemu guest (the executor linked statically as /init): it
 * sets up the machine (/proc, /sys and /dev, the brd RAM disks from
 * /brd.ko: ram0 is swap, ram1 receives /scratch.img, an ext4 image mounted
 * on /scratch for O_DIRECT), then the server reads its requests from
 * /batch instead of stdin, writes to the serial console, and powers the
 * machine off after QUIT:
 *   G <key>=<value> ...            what the guest set up (kernel release, swap, scratch)
 */
#include "cowlab.h"

#define RD_SIZE_KB 65536	/* swap stays far from vm_swap_full() (half full) */

void guest_init(void)
{
	struct utsname u;
	const char *swap = "none", *fs = "tmpfs";
	int fd;

	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mkdir("/tmp", 01777);
	mkdir("/run", 0755);	/* the settings journal (machine.c) */
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
			snprintf(swap_area, sizeof(swap_area), "/dev/ram0");
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
