// SPDX-License-Identifier: GPL-2.0
/*
 * demo: the steps a VMM takes with /dev/iommu, one readable line each.
 *
 * Usage: demo
 *
 * Opens /dev/iommu, creates an I/O address space (IOAS), shows the IOVA
 * ranges it offers and the file's options, maps a buffer of its memory
 * (the kernel pins and charges it), unmaps it, then destroys the IOAS and
 * closes.
 * Exits non-zero at the first step that fails, saying which and why.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/iommufd.h>

static int step_no;

static void step(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("[%d] ", ++step_no);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static void die(const char *what)
{
	printf("[%d] FAILED: %s: %s\n", ++step_no, what, strerror(errno));
	exit(1);
}

static void show_ranges(int fd, uint32_t ioas_id)
{
	struct iommu_iova_range ranges[16];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = 16,
		.allowed_iovas = (uintptr_t)ranges,
	};
	unsigned int i;

	if (ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd))
		die("IOMMU_IOAS_IOVA_RANGES");
	step("IOAS %u offers %u IOVA range(s), alignment %llu byte(s):",
	     ioas_id, cmd.num_iovas,
	     (unsigned long long)cmd.out_iova_alignment);
	for (i = 0; i < cmd.num_iovas && i < 16; i++)
		printf("      [0x%016llx - 0x%016llx]\n",
		       (unsigned long long)ranges[i].start,
		       (unsigned long long)ranges[i].last);
}

/* VmPin of this process in KiB: what RLIMIT_MODE 1 charges pins to */
static long vmpin_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void map_and_unmap(int fd, uint32_t ioas_id)
{
	const size_t len = 2 << 20;
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas_id,
		.length = len,
	};
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.ioas_id = ioas_id,
	};
	void *buf;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	map.user_va = (uintptr_t)buf;
	if (ioctl(fd, IOMMU_IOAS_MAP, &map))
		die("IOMMU_IOAS_MAP");
	step("mapped 2 MiB of this process at IOVA 0x%llx: pages pinned, VmPin %ld kB",
	     (unsigned long long)map.iova, vmpin_kb());

	unmap.iova = map.iova;
	unmap.length = map.length;
	if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
		die("IOMMU_IOAS_UNMAP");
	step("unmapped %llu bytes at IOVA 0x%llx: pages unpinned, VmPin %ld kB",
	     (unsigned long long)unmap.length, (unsigned long long)map.iova,
	     vmpin_kb());
	munmap(buf, len);
}

static void show_options(int fd)
{
	struct iommu_option opt = {
		.size = sizeof(opt),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_SET,
		.val64 = 1,
	};

	/* Charge pins to this process so that VmPin shows them */
	if (ioctl(fd, IOMMU_OPTION, &opt))
		die("IOMMU_OPTION(RLIMIT_MODE, SET)");
	opt.op = IOMMU_OPTION_OP_GET;
	if (ioctl(fd, IOMMU_OPTION, &opt))
		die("IOMMU_OPTION(RLIMIT_MODE, GET)");
	step("option RLIMIT_MODE = %llu: pinned memory is charged to %s",
	     (unsigned long long)opt.val64,
	     opt.val64 ? "this process (pinned_vm)" :
			 "this user (locked_vm, as VFIO type1 does)");
}

int main(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	int fd;

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		die("open /dev/iommu");
	step("opened /dev/iommu as fd %d: a private table of iommufd objects",
	     fd);

	show_options(fd);

	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		die("IOMMU_IOAS_ALLOC");
	step("allocated IOAS %u: an empty I/O address space",
	     alloc.out_ioas_id);

	show_ranges(fd, alloc.out_ioas_id);
	map_and_unmap(fd, alloc.out_ioas_id);

	destroy.id = alloc.out_ioas_id;
	if (ioctl(fd, IOMMU_DESTROY, &destroy))
		die("IOMMU_DESTROY");
	step("destroyed IOAS %u", alloc.out_ioas_id);

	if (ioctl(fd, IOMMU_DESTROY, &destroy) == 0 || errno != ENOENT)
		die("IOMMU_DESTROY of a destroyed IOAS should fail with ENOENT");
	step("IOAS %u is gone: destroying it again fails with ENOENT",
	     alloc.out_ioas_id);

	close(fd);
	step("closed /dev/iommu: the kernel frees whatever the file still held");
	return 0;
}
