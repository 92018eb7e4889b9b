// SPDX-License-Identifier: GPL-2.0
/*
 * nested_edu: the init of the nested guest that QEMU 10 runs inside the
 * test VM, with the test VM's edu device passed through to it by VFIO.
 *
 * Usage: nested_edu [-w SECONDS]
 *
 * Makes the edu device copy a buffer RAM -> device -> RAM by DMA and checks
 * the bytes, then prints one line "nested_edu: PASS ..." or
 * "nested_edu: FAIL ...". The nested guest has no IOMMU, so the address a
 * device is given is the guest-physical address of the memory: the buffers
 * are locked in memory and their physical addresses read from
 * /proc/self/pagemap. Under VFIO those addresses are IOVAs of the VMM's
 * I/O address space one level down, which is what the test is about: the
 * VMM mapped all of the nested guest's RAM there, through /dev/iommu or
 * the VFIO container, and the bytes only arrive if that mapping is right.
 *
 * The device is found in sysfs, its bus mastering turned on through its
 * config space file and its BAR0 mapped from "resource0": there is no
 * driver for it in the kernel, and none is needed.
 *
 * -w SECONDS: after the result, wait up to SECONDS for a line on standard
 * input before finishing, so that the host of the nested guest can look at
 * the VMM while the device is in use (its pinned memory), then tell it to
 * go on, or kill the VMM instead.
 *
 * As process 1 (the kernel runs it as /init; "-- -w 60" on the kernel
 * command line passes the option) it first mounts /proc, /sys and /dev and
 * prints how long the kernel took to reach it, and at the end powers the
 * machine off (or, without ACPI, resets it) instead of exiting.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edu.h"

#define PAGE		4096UL
#define DMA_LEN		2048	/* shorter than the device's 4 KiB buffer */
#define PFN_PRESENT	0x8000000000000000ULL	/* bit 63: page present */
#define PFN_MASK	0x007fffffffffffffULL	/* bits 0-54: the PFN */

static char failure[256];

/* Records the first failure, with errno's text if @err is not 0 */
static int fail(int err, const char *what, const char *bdf)
{
	if (!failure[0])
		snprintf(failure, sizeof(failure), "%s%s%s%s%s", what,
			 bdf ? " " : "", bdf ? bdf : "", err ? ": " : "",
			 err ? strerror(err) : "");
	return -1;
}

static double seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Mounts what init needs and makes the console its standard streams */
static void init_setup(void)
{
	int fd;

	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* Turns on memory decoding and bus mastering in the command register */
static int enable_device(const char *bdf)
{
	char path[PATH_MAX];
	uint16_t cmd;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return fail(errno, "open config space of", bdf);
	if (pread(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd))
		rc = fail(errno, "read PCI_COMMAND of", bdf);
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (!rc && pwrite(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd))
		rc = fail(errno, "write PCI_COMMAND of", bdf);
	close(fd);
	return rc;
}

/* Maps BAR0 from sysfs into @edu and checks that it is an edu device */
static int map_bar0(struct edu *edu)
{
	char path[PATH_MAX];
	struct stat st;
	uint32_t id;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0",
		 edu->bdf);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		return fail(errno, "open BAR0 of", edu->bdf);
	if (fstat(fd, &st)) {
		close(fd);
		return fail(errno, "stat BAR0 of", edu->bdf);
	}
	edu->bar0 = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
	close(fd);
	if (edu->bar0 == MAP_FAILED) {
		edu->bar0 = NULL;
		return fail(errno, "mmap BAR0 of", edu->bdf);
	}
	edu->bar0_size = st.st_size;

	id = __atomic_load_n((uint32_t *)(edu->bar0 + EDU_REG_ID),
			     __ATOMIC_RELAXED);
	if ((id & 0xff) != EDU_ID_MAGIC)
		return fail(0, "BAR0 does not identify as edu:", edu->bdf);
	return 0;
}

/* The physical address of the locked page at @va, from /proc/self/pagemap */
static int phys_addr(void *va, uint64_t *pa)
{
	uint64_t entry;
	off_t pos = (uintptr_t)va / PAGE * sizeof(entry);
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return fail(errno, "open /proc/self/pagemap", NULL);
	if (pread(fd, &entry, sizeof(entry), pos) != sizeof(entry)) {
		close(fd);
		return fail(errno, "read /proc/self/pagemap", NULL);
	}
	close(fd);
	/* Without CAP_SYS_ADMIN the PFN reads as 0 */
	if (!(entry & PFN_PRESENT) || !(entry & PFN_MASK))
		return fail(0, "no PFN in /proc/self/pagemap", NULL);
	*pa = (entry & PFN_MASK) * PAGE + (uintptr_t)va % PAGE;
	if (*pa + DMA_LEN > EDU_DMA_LIMIT)
		return fail(0, "buffer above the device's 28-bit DMA limit",
			    NULL);
	return 0;
}

/* The DMA test: RAM -> device -> RAM; 0 if the bytes came back intact */
static int dma_round_trip(struct edu *edu, char *report, size_t size)
{
	uint64_t src_pa, dst_pa, ns_in, ns_out;
	uint8_t *buf, *src, *dst;
	unsigned int i, bad = 0;

	buf = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		return fail(errno, "mmap buffers", NULL);
	/* Locked pages stay where pagemap says they are */
	if (mlock(buf, 2 * PAGE))
		return fail(errno, "mlock buffers", NULL);
	src = buf;
	dst = buf + PAGE;
	for (i = 0; i < DMA_LEN; i++) {
		src[i] = (uint8_t)(i * 7 + 0x5a) ^ (uint8_t)(i >> 8);
		dst[i] = 0;
	}
	if (phys_addr(src, &src_pa) || phys_addr(dst, &dst_pa))
		return -1;

	if (edu_dma_from_iova(edu, src_pa, DMA_LEN, &ns_in))
		return fail(errno, "DMA RAM -> device", NULL);
	if (edu_dma_to_iova(edu, dst_pa, DMA_LEN, &ns_out))
		return fail(errno, "DMA device -> RAM", NULL);

	for (i = 0; i < DMA_LEN; i++)
		bad += src[i] != dst[i];
	snprintf(report, size,
		 "%u bytes RAM 0x%llx -> edu %s -> RAM 0x%llx (%.1f + %.1f ms)",
		 DMA_LEN, (unsigned long long)src_pa, edu->bdf,
		 (unsigned long long)dst_pa, ns_in / 1e6, ns_out / 1e6);
	if (bad) {
		snprintf(failure, sizeof(failure), "%u of %u bytes differ: %s",
			 bad, DMA_LEN, report);
		return -1;
	}
	return 0;
}

/* Waits up to @secs for a line on standard input */
static void wait_for_go(int secs)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	char line[64];

	printf("nested_edu: waiting up to %d s for a line on the console\n",
	       secs);
	if (poll(&pfd, 1, secs * 1000) == 1 && read(0, line, sizeof(line)) > 0)
		printf("nested_edu: told to go on\n");
	else
		printf("nested_edu: no word after %d s, going on\n", secs);
}

int main(int argc, char **argv)
{
	struct edu edu = { .fd = -1 };
	bool init = getpid() == 1;
	char report[192] = "";
	int opt, wait_secs = 0, rc;

	while ((opt = getopt(argc, argv, "w:")) != -1) {
		if (opt != 'w')
			goto usage;
		wait_secs = atoi(optarg);
	}
	if (optind != argc)
		goto usage;

	if (init) {
		init_setup();
		printf("nested_edu: init reached %.2f s after the kernel started\n",
		       seconds(CLOCK_BOOTTIME));
	}

	rc = edu_find(edu.bdf, sizeof(edu.bdf));
	if (rc)
		fail(errno, "find edu (PCI 1234:11e8) in sysfs", NULL);
	if (!rc)
		rc = enable_device(edu.bdf);
	if (!rc)
		rc = map_bar0(&edu);
	if (!rc)
		rc = dma_round_trip(&edu, report, sizeof(report));
	if (rc)
		printf("nested_edu: FAIL: %s\n", failure);
	else
		printf("nested_edu: PASS: %s verified\n", report);

	if (wait_secs > 0)
		wait_for_go(wait_secs);
	if (!init)
		return rc ? 1 : 0;

	printf("nested_edu: powering off at %.2f s\n", seconds(CLOCK_BOOTTIME));
	sync();
	/*
	 * Powering off needs ACPI; without it (acpi=off) only a reset ends
	 * the machine, which under QEMU's "-no-reboot" stops QEMU as well.
	 */
	if (!access("/sys/firmware/acpi", F_OK))
		reboot(RB_POWER_OFF);
	reboot(RB_AUTOBOOT);
	/* Process 1 must not exit */
	for (;;)
		pause();

usage:
	fprintf(stderr, "usage: %s [-w SECONDS]\n", argv[0]);
	return 2;
}
