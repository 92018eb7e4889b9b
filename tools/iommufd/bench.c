// SPDX-License-Identifier: GPL-2.0
/*
 * bench: how long IOMMU_IOAS_MAP and IOMMU_IOAS_UNMAP take for one large
 * buffer, by kind of backing memory and by what the IOAS feeds.
 *
 * Usage: bench [MiB]        (default 256)
 *
 * For 4 KiB pages, THP and hugetlbfs backed buffers it maps and unmaps the
 * whole buffer in one call, several times, and prints the best time of
 * each. "no domain" measures pinning and accounting alone; "mock domain"
 * adds the fan-out into a mock IOMMU domain (which can use 2 MiB and 1 GiB
 * IO pages); "VT-d domain" maps into the real Intel IOMMU domain of QEMU's
 * edu device, bound through VFIO (skipped without it); the "4K IO" rows
 * turn IOMMU_OPTION_HUGE_PAGES off. The memfd buffers (shmem of 4 KiB
 * pages or THPs, and hugetlbfs) are measured twice: mapped by address with
 * IOMMU_IOAS_MAP and by file offset with IOMMU_IOAS_MAP_FILE, where the
 * kernel has it. Under emulation absolute times mean little: compare the
 * rows of one run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/iommufd.h>

#include "../../drivers/iommu/iommufd/iommufd_test.h"
#include "edu.h"

#define SZ_2M	(2UL << 20)
#define ROUNDS	3

enum backing {
	BACK_4K,
	BACK_THP,
	BACK_HUGETLB,
	BACK_MEMFD_4K,
	BACK_MEMFD_THP,
	BACK_MEMFD_HUGETLB,
	BACK_COUNT,
};

static const char *const backing_name[] = {
	[BACK_4K] = "4 KiB pages",
	[BACK_THP] = "THP (2 MiB)",
	[BACK_HUGETLB] = "hugetlbfs 2 MiB",
	[BACK_MEMFD_4K] = "memfd 4 KiB",
	[BACK_MEMFD_THP] = "memfd THP",
	[BACK_MEMFD_HUGETLB] = "memfd hugetlb",
};

#define SHMEM_THP "/sys/kernel/mm/transparent_hugepage/shmem_enabled"

/* The memfd behind the buffer of a memfd backing, -1 otherwise */
static int buf_fd = -1;

enum setup {
	SETUP_NONE,
	SETUP_MOCK,
	SETUP_MOCK_SMALL,
	SETUP_VTD,
	SETUP_VTD_SMALL,
	SETUP_COUNT,
};

static const char *const setup_name[] = {
	[SETUP_NONE] = "no domain",
	[SETUP_MOCK] = "mock domain",
	[SETUP_MOCK_SMALL] = "mock, 4K IO",
	[SETUP_VTD] = "VT-d domain",
	[SETUP_VTD_SMALL] = "VT-d, 4K IO",
};

/* The edu device behind the VT-d rows; its cdev fd is -1 when unused */
static struct edu edu = { .fd = -1 };

static bool setup_small(enum setup setup)
{
	return setup == SETUP_MOCK_SMALL || setup == SETUP_VTD_SMALL;
}

/* Binds edu to the file and attaches it to the IOAS: a real VT-d domain */
static int vtd_attach(int fd, uint32_t ioas_id)
{
	uint32_t devid, pt_id = ioas_id;
	char bdf[32];

	if (edu_find(bdf, sizeof(bdf)) || edu_bind_vfio_pci(bdf) ||
	    edu_open(&edu, bdf))
		return -1;
	if (edu_bind_iommufd(&edu, fd, &devid) || edu_attach(&edu, &pt_id)) {
		edu_close(&edu);
		return -1;
	}
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, val, strlen(val)) < 0)
		perror(path);
	close(fd);
}

/* A memfd of @len bytes, mapped shared and filled */
static void *alloc_memfd(enum backing backing, size_t len)
{
	char *p;

	sysfs_write(SHMEM_THP, backing == BACK_MEMFD_THP ? "always" : "never");
	buf_fd = memfd_create("bench", backing == BACK_MEMFD_HUGETLB ?
				       MFD_HUGETLB : 0);
	if (buf_fd < 0)
		return NULL;
	if (ftruncate(buf_fd, len))
		goto err_close;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, buf_fd, 0);
	if (p == MAP_FAILED)
		goto err_close;
	memset(p, 1, len);
	return p;

err_close:
	close(buf_fd);
	buf_fd = -1;
	return NULL;
}

static void free_buffer(void *buf, size_t len)
{
	munmap(buf, len);
	if (buf_fd >= 0)
		close(buf_fd);
	buf_fd = -1;
	sysfs_write(SHMEM_THP, "never");
}

static void *alloc_buffer(enum backing backing, size_t len)
{
	size_t map_len = len + SZ_2M;
	char *p;

	if (backing >= BACK_MEMFD_4K)
		return alloc_memfd(backing, len);
	if (backing == BACK_HUGETLB) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		memset(p, 1, len);
		return p;
	}
	/* Over-allocate so the buffer can start on a 2 MiB boundary */
	p = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)p + SZ_2M - 1) & ~(SZ_2M - 1));
	madvise(p, len, backing == BACK_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(p, 1, len);
	return p;
}

static int ioas_setup(int fd, enum setup setup, uint32_t *ioas_id)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = {
		.size = sizeof(mock),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};
	struct iommu_option opt = {
		.size = sizeof(opt),
		.option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_SET,
		.val64 = 0,
	};

	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		return -1;
	*ioas_id = alloc.out_ioas_id;
	if (setup_small(setup)) {
		opt.object_id = *ioas_id;
		if (ioctl(fd, IOMMU_OPTION, &opt))
			return -1;
	}
	if (setup == SETUP_VTD || setup == SETUP_VTD_SMALL)
		return vtd_attach(fd, *ioas_id);
	if (setup != SETUP_NONE) {
		mock.id = *ioas_id;
		if (ioctl(fd, IOMMU_TEST_CMD, &mock))
			return -1;
	}
	return 0;
}

/*
 * Best map and unmap times over ROUNDS, in milliseconds. With @by_file the
 * buffer is mapped through its memfd (IOMMU_IOAS_MAP_FILE).
 */
static int measure(enum setup setup, void *buf, size_t len, bool by_file,
		   double *map_ms, double *unmap_ms)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 IOMMU_IOAS_MAP_FIXED_IOVA,
		.user_va = (uintptr_t)buf,
		.length = len,
		.iova = 1UL << 32,
	};
	struct iommu_ioas_map_file map_file = {
		.size = sizeof(map_file),
		.flags = map.flags,
		.fd = buf_fd,
		.length = len,
		.iova = map.iova,
	};
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.iova = 1UL << 32,
		.length = len,
	};
	int fd, round, rc = -1;
	double t;

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		return -1;
	if (ioas_setup(fd, setup, &map.ioas_id))
		goto out;
	unmap.ioas_id = map.ioas_id;
	map_file.ioas_id = map.ioas_id;
	*map_ms = *unmap_ms = 1e30;
	for (round = 0; round != ROUNDS; round++) {
		t = now_ms();
		if (by_file ? ioctl(fd, IOMMU_IOAS_MAP_FILE, &map_file) :
			      ioctl(fd, IOMMU_IOAS_MAP, &map))
			goto out;
		t = now_ms() - t;
		if (t < *map_ms)
			*map_ms = t;
		t = now_ms();
		unmap.length = len;
		if (ioctl(fd, IOMMU_IOAS_UNMAP, &unmap))
			goto out;
		t = now_ms() - t;
		if (t < *unmap_ms)
			*unmap_ms = t;
	}
	rc = 0;
out:
	/* The device goes first: its unbind needs the file */
	edu_close(&edu);
	close(fd);
	return rc;
}

static void reserve_hugepages(size_t len)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");

	if (!f)
		return;
	fprintf(f, "%zu\n", len / SZ_2M + 1);
	fclose(f);
}

/*
 * Measures and prints one row. *map_ref is the map time of the MAP row of
 * the same memory and domain, which a MAP_FILE row compares itself with.
 */
static int row(enum backing b, enum setup s, void *buf, size_t len,
	       bool by_file, double *map_ref)
{
	const char *ioctl_name = by_file ? "MAP_FILE" : "MAP";
	double map_ms, unmap_ms;
	char bdf[32];

	if ((s == SETUP_VTD || s == SETUP_VTD_SMALL) &&
	    edu_find(bdf, sizeof(bdf))) {
		printf("%-16s %-12s %-9s (no edu device)\n", backing_name[b],
		       setup_name[s], ioctl_name);
		return 0;
	}
	if (measure(s, buf, len, by_file, &map_ms, &unmap_ms)) {
		if (by_file && errno == ENOTTY) {
			printf("%-16s %-12s %-9s (not in this kernel)\n",
			       backing_name[b], setup_name[s], ioctl_name);
			return 0;
		}
		printf("%-16s %-12s %-9s failed: %s\n", backing_name[b],
		       setup_name[s], ioctl_name, strerror(errno));
		return -1;
	}
	if (!by_file)
		*map_ref = map_ms;
	printf("%-16s %-12s %-9s %10.1f %10.1f %12.2f",
	       backing_name[b], setup_name[s], ioctl_name, map_ms, unmap_ms,
	       len / (double)(1UL << 30) / (map_ms / 1e3));
	if (by_file && *map_ref > 0)
		printf(" %9.2f", map_ms / *map_ref);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
	size_t len = mib << 20;
	double map_ref = 0;
	int b, s;

	if (!mib) {
		fprintf(stderr, "usage: bench [MiB]\n");
		return 2;
	}
	reserve_hugepages(len);
	printf("MAP + UNMAP of %zu MiB, best of %d runs\n", mib, ROUNDS);
	printf("(FILE/MAP: map time of MAP_FILE / map time of MAP, same memory)\n");
	printf("%-16s %-12s %-9s %10s %10s %12s %9s\n", "memory",
	       "IOAS feeds", "ioctl", "map ms", "unmap ms", "map GiB/s",
	       "FILE/MAP");
	for (b = BACK_4K; b != BACK_COUNT; b++) {
		void *buf = alloc_buffer(b, len);

		if (!buf) {
			printf("%-16s (not available: %s)\n", backing_name[b],
			       strerror(errno));
			continue;
		}
		for (s = SETUP_NONE; s != SETUP_COUNT; s++) {
			int by_file;

			for (by_file = 0; by_file <= (buf_fd >= 0); by_file++)
				if (row(b, s, buf, len, by_file, &map_ref)) {
					free_buffer(buf, len);
					return 1;
				}
		}
		free_buffer(buf, len);
	}
	return 0;
}
