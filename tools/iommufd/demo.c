// SPDX-License-Identifier: GPL-2.0
/*
 * demo: the steps a VMM takes with /dev/iommu, one readable line each.
 *
 * Usage: demo
 *
 * Opens /dev/iommu, creates an I/O address space (IOAS), shows the IOVA
 * ranges it offers and the file's options, maps a buffer of its memory
 * (the kernel pins and charges it), unmaps it, then destroys the IOAS.
 *
 * Then, if the machine has QEMU's edu PCI device, what a VMM does to give
 * a device to a guest: hands it to vfio-pci, binds its VFIO cdev to the
 * iommufd, attaches it to a new IOAS (which narrows the IOAS's ranges),
 * maps two buffers and has the device copy one into the other by DMA,
 * unmaps the destination and shows that the device can no longer write
 * there, then tears everything down and closes.
 *
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

#include "edu.h"

/* The device flow's buffers; the edu device reaches only 28 address bits */
#define DEMO_SRC_IOVA	0x100000ULL
#define DEMO_DST_IOVA	0x200000ULL
#define DEMO_DMA_LEN	2048		/* shorter than its 4 KiB buffer */
#define DEMO_PAGE	4096UL

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

/* @when, if not NULL, says what state the IOAS is in */
static void show_ranges(int fd, uint32_t ioas_id, const char *when)
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
	step("IOAS %u%s%s offers %u IOVA range(s), alignment %llu byte(s):",
	     ioas_id, when ? " " : "", when ? when : "", cmd.num_iovas,
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
	step("mapped 2 MiB at IOVA 0x%llx: no domain needs it, nothing pinned: VmPin %ld kB",
	     (unsigned long long)map.iova, vmpin_kb());

	unmap.iova = map.iova;
	unmap.length = map.length;
	if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
		die("IOMMU_IOAS_UNMAP");
	step("unmapped %llu bytes at IOVA 0x%llx: VmPin %ld kB",
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

	/* Charge pins to this process's VmLck, as VFIO type1 does */
	if (ioctl(fd, IOMMU_OPTION, &opt))
		die("IOMMU_OPTION(RLIMIT_MODE, SET)");
	opt.op = IOMMU_OPTION_OP_GET;
	if (ioctl(fd, IOMMU_OPTION, &opt))
		die("IOMMU_OPTION(RLIMIT_MODE, GET)");
	step("option RLIMIT_MODE = %llu: pinned memory is charged to %s",
	     (unsigned long long)opt.val64,
	     opt.val64 ? "this process (VmLck, as VFIO type1 does)" :
			 "this user (locked_vm)");
	step("pins show in VmPin; with CAP_IPC_LOCK RLIMIT_MEMLOCK does not limit them");
}

static void map_fixed(int fd, uint32_t ioas_id, void *buf, uint64_t iova)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 IOMMU_IOAS_MAP_FIXED_IOVA,
		.ioas_id = ioas_id,
		.user_va = (uintptr_t)buf,
		.length = DEMO_PAGE,
		.iova = iova,
	};

	if (ioctl(fd, IOMMU_IOAS_MAP, &map))
		die("IOMMU_IOAS_MAP");
}

/* The device copies src to its buffer and on to dst; both must match */
static void dma_copy(struct edu *edu, uint8_t *src, uint8_t *dst)
{
	uint64_t in_ns, out_ns;
	unsigned int i;

	for (i = 0; i < DEMO_PAGE; i++)
		src[i] = (uint8_t)(i * 7 + 1);
	memset(dst, 0, DEMO_PAGE);
	if (edu_dma_from_iova(edu, DEMO_SRC_IOVA, DEMO_DMA_LEN, &in_ns))
		die("edu DMA from the source IOVA");
	if (edu_dma_to_iova(edu, DEMO_DST_IOVA, DEMO_DMA_LEN, &out_ns))
		die("edu DMA to the destination IOVA");
	if (memcmp(src, dst, DEMO_DMA_LEN)) {
		errno = EIO;
		die("the destination does not hold what the device copied");
	}
	step("DMA: edu copied %u bytes IOVA 0x%llx -> edu -> 0x%llx: %llu + %llu us, verified",
	     DEMO_DMA_LEN, DEMO_SRC_IOVA, DEMO_DST_IOVA,
	     (unsigned long long)in_ns / 1000,
	     (unsigned long long)out_ns / 1000);
}

/* The device writes to an IOVA that is no longer mapped: nothing changes */
static void dma_blocked(struct edu *edu, uint8_t *dst)
{
	unsigned int i;

	memset(dst, 0x5a, DEMO_PAGE);
	if (edu_dma_to_iova(edu, DEMO_DST_IOVA, DEMO_DMA_LEN, NULL))
		die("edu DMA to the unmapped IOVA");
	for (i = 0; i < DEMO_PAGE; i++) {
		if (dst[i] != 0x5a) {
			errno = EIO;
			die("the device wrote through an unmapped IOVA");
		}
	}
	step("DMA: edu wrote %u bytes to unmapped IOVA 0x%llx: IOMMU blocked it, memory unchanged",
	     DEMO_DMA_LEN, DEMO_DST_IOVA);
}

/* What a VMM does to give the edu device to a guest, if there is one */
static void device_flow(int fd)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	char bdf[32], cdev[PATH_MAX];
	uint32_t devid, ioas_id, hwpt_id;
	struct edu edu;
	uint8_t *mem;

	if (edu_find(bdf, sizeof(bdf))) {
		step("no edu PCI device (1234:11e8) here: no device steps");
		return;
	}
	if (edu_bind_vfio_pci(bdf)) {
		if (errno == ENOENT) {
			step("edu device %s, but no vfio-pci in this kernel: no device steps",
			     bdf);
			return;
		}
		die("handing the edu device to vfio-pci");
	}
	if (edu_cdev_path(bdf, cdev, sizeof(cdev)) || edu_open(&edu, bdf))
		die("opening the edu device's VFIO cdev");
	step("edu device %s is driven by vfio-pci: opened %s", bdf, cdev);

	if (edu_bind_iommufd(&edu, fd, &devid))
		die(errno == EPERM ?
		    "VFIO_DEVICE_BIND_IOMMUFD (no MSI isolation?)" :
		    "VFIO_DEVICE_BIND_IOMMUFD");
	step("bound the device to /dev/iommu: device ID %u, its DMA now owned by this file",
	     devid);

	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		die("IOMMU_IOAS_ALLOC");
	ioas_id = alloc.out_ioas_id;
	step("allocated IOAS %u for the device's address space", ioas_id);
	show_ranges(fd, ioas_id, "before attach");

	hwpt_id = ioas_id;
	if (edu_attach(&edu, &hwpt_id))
		die("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	step("attached the device to IOAS %u: the kernel made HWPT %u (an IOMMU domain) for it",
	     ioas_id, hwpt_id);
	show_ranges(fd, ioas_id, "after attach");

	mem = mmap(NULL, 2 * DEMO_PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	map_fixed(fd, ioas_id, mem, DEMO_SRC_IOVA);
	map_fixed(fd, ioas_id, mem + DEMO_PAGE, DEMO_DST_IOVA);
	step("mapped 4 KiB at IOVA 0x%llx (source) and 0x%llx (destination), pinned: VmPin %ld kB",
	     DEMO_SRC_IOVA, DEMO_DST_IOVA, vmpin_kb());

	if (edu_enable(&edu))
		die("mapping BAR0 and enabling bus mastering");
	step("mapped the device's BAR0 (%zu KiB) and turned on bus mastering",
	     edu.bar0_size / 1024);

	dma_copy(&edu, mem, mem + DEMO_PAGE);

	unmap.ioas_id = ioas_id;
	unmap.iova = DEMO_DST_IOVA;
	unmap.length = DEMO_PAGE;
	if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
		die("IOMMU_IOAS_UNMAP");
	step("unmapped the destination, IOVA 0x%llx", DEMO_DST_IOVA);

	dma_blocked(&edu, mem + DEMO_PAGE);

	if (edu_detach(&edu))
		die("VFIO_DEVICE_DETACH_IOMMUFD_PT");
	destroy.id = hwpt_id;
	if (ioctl(fd, IOMMU_DESTROY, &destroy) == 0 || errno != ENOENT)
		die("the automatic HWPT should go with the detach");
	step("detached the device: DMA blocked, HWPT %u gone, nothing pinned: VmPin %ld kB",
	     hwpt_id, vmpin_kb());
	edu_close(&edu);
	step("closed the device: unbound from /dev/iommu, vfio-pci keeps it");
	destroy.id = ioas_id;
	if (ioctl(fd, IOMMU_DESTROY, &destroy))
		die("IOMMU_DESTROY of the device's IOAS");
	step("destroyed IOAS %u and the mapping it still held", ioas_id);
	munmap(mem, 2 * DEMO_PAGE);
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

	show_ranges(fd, alloc.out_ioas_id, NULL);
	map_and_unmap(fd, alloc.out_ioas_id);

	destroy.id = alloc.out_ioas_id;
	if (ioctl(fd, IOMMU_DESTROY, &destroy))
		die("IOMMU_DESTROY");
	step("destroyed IOAS %u", alloc.out_ioas_id);

	if (ioctl(fd, IOMMU_DESTROY, &destroy) == 0 || errno != ENOENT)
		die("IOMMU_DESTROY of a destroyed IOAS should fail with ENOENT");
	step("IOAS %u is gone: destroying it again fails with ENOENT",
	     alloc.out_ioas_id);

	device_flow(fd);

	close(fd);
	step("closed /dev/iommu: the kernel frees whatever the file still held");
	return 0;
}
