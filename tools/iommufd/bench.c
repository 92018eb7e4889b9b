// SPDX-License-Identifier: GPL-2.0
/*
 * bench: what mapping memory for a real device through /dev/iommu costs,
 * in time and in kernel memory, on the kernel it runs on. "make bench"
 * runs it twice on our kernel and twice on pristine 6.12
 * (scripts/bench.sh) and scripts/bench-table.py sets the results side by
 * side, so this program prints one "key=value" line per measurement for
 * that script rather than a table.
 *
 * Every measurement goes to QEMU's edu device, attached through VFIO to a
 * real VT-d domain. Four sections:
 *  tput   MiB/s of mapping and unmapping one buffer of 4 KiB pages, THP,
 *         hugetlbfs or fragmented 4 KiB pages (faulted in a shuffled order,
 *         so that neighbouring pages are rarely physically adjacent; the
 *         "adj" field of the mem lines says how rarely, from pagemap), by
 *         four paths: IOMMU_IOAS_MAP/UNMAP into the domain's IOAS; VFIO
 *         type1 MAP_DMA/UNMAP_DMA with a /dev/iommu file as the group's
 *         container; MAP into an IOAS without a domain, then attaching the
 *         device (the fill path; its unmap is detach + UNMAP); and
 *         IOMMU_IOAS_COPY from such an IOAS into a second one that has the
 *         domain (unmap: UNMAP of the copy). Best of -r repetitions.
 *  mem    kernel memory that MAP adds, in MiB per GiB mapped: unreclaimable
 *         slab, vmalloc and IOMMU page-table pages (nr_iommu_pages), from
 *         before to after the MAP, with per-CPU counters folded first
 *         (vm.stat_refresh). "peak" is the highest sum from MAP's start
 *         to just after it returned: a second thread reads the counters
 *         over and over while MAP runs ("samples" says how often). It
 *         cannot fold them, which waits for work on every CPU, the MAP's
 *         too, so its readings may lag by the per-CPU batches, and memory
 *         held only between two readings is missed: the peak is a lower
 *         bound. Pages a kernel takes from the page allocator directly are
 *         in none of these. "huge" is the fraction of the buffer in huge
 *         pages.
 *  scale  many small mappings (one 4 KiB page, or 64 KiB, each) into one
 *         IOAS, of 64 MiB of shuffled 4 KiB pages used over and over:
 *         microseconds per MAP, per UNMAP one by one, per
 *         IOMMU_IOAS_IOVA_RANGES with all mapped, and per mapping of one
 *         UNMAP of everything. One pass each.
 *  file   MiB/s of mapping and unmapping a memfd (shmem of 4 KiB pages,
 *         shmem of THPs, hugetlbfs) into the domain's IOAS two ways, in
 *         turn: IOMMU_IOAS_MAP of where the memfd is mmap'ed and
 *         IOMMU_IOAS_MAP_FILE of the same range of the file; UNMAP after
 *         each. Best of -r repetitions. A kernel without MAP_FILE (6.12
 *         answers ENOTTY) gets the MAP figures and "absent" for MAP_FILE.
 *         "huge" is the fraction of the memfd in huge pages.
 * Under emulation absolute times mean little: compare kernels and rows.
 *
 * -p turns tput, scale and file into a profiler: tput runs only the IOAS
 * path and file only MAP, and around each MAP and each UNMAP (scale:
 * around its first round of MAPs and its UNMAPs one by one) the kernel's
 * /proc/profile (boot with "profile=2") is cleared and then added up,
 * printed per row as "prof" lines of nonzero buckets for
 * scripts/profile.py to name.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "edu.h"

#define SZ_4K		0x1000UL
#define SZ_64K		0x10000UL
#define MIB		0x100000UL
#define SZ_2M		0x200000UL
#define SZ_1G		0x40000000UL
#define BENCH_IOVA	0x100000000ULL	/* inside VT-d's 39-bit aperture */
#define SCALE_BUF	(64 * MIB)	/* memory the scale mappings reuse */
#define RANGES_CALLS	1000
#define MAX_LIST	8
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define HUGEPAGES	"/proc/sys/vm/nr_hugepages"
#define SHMEM_THP	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"
#define STAT_REFRESH	"/proc/sys/vm/stat_refresh"

enum section {
	SEC_TPUT = 0x1,
	SEC_MEM = 0x2,
	SEC_SCALE = 0x4,
	SEC_FILE = 0x8,
};

struct options {
	unsigned long sizes[MAX_LIST];		/* MiB */
	int nr_sizes;
	unsigned long counts[MAX_LIST];		/* scale: mappings */
	int nr_counts;
	int reps;
	unsigned int sections;
	bool profile;
};

enum backing {
	BACK_4K,
	BACK_THP,
	BACK_HUGETLB,
	BACK_FRAG,
	BACK_NR_ANON,		/* tput and mem; then the memfds of file */
	BACK_SHMEM = BACK_NR_ANON,
	BACK_SHMEM_THP,
	BACK_MEMFD_HUGETLB,
	BACK_COUNT,
};

static const char *const backing_name[] = {
	[BACK_4K] = "4k",
	[BACK_THP] = "thp",
	[BACK_HUGETLB] = "hugetlb",
	[BACK_FRAG] = "4k-frag",
	[BACK_SHMEM] = "shmem-4k",
	[BACK_SHMEM_THP] = "shmem-thp",
	[BACK_MEMFD_HUGETLB] = "hugetlbfs",
};

struct buffer {
	enum backing backing;
	char *p;		/* the buffer, 2 MiB aligned */
	size_t len;
	void *map;		/* what mmap returned, and its length */
	size_t map_len;
	int fd;			/* the memfd mapped at p, or -1 */
};

/* Best times of one path over the repetitions, in nanoseconds */
struct timing {
	uint64_t map_ns;
	uint64_t unmap_ns;
};

/* The counters the mem section reads, in bytes */
struct counters {
	uint64_t slab;
	uint64_t vmalloc;
	uint64_t iommu;
};

/* PCI address of the edu device, found at start */
static char edu_bdf[32];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t len = strlen(val);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != len)
		rc = -errno;
	close(fd);
	return rc;
}

/* Reads @path whole into @buf (NUL-terminated) */
static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t len;

	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	return 0;
}

/* The number after @key in @text, 0 if the key is missing */
static uint64_t field(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static int read_counters(struct counters *c)
{
	char buf[8192];
	int rc;

	rc = read_file("/proc/meminfo", buf, sizeof(buf));
	if (rc)
		return rc;
	c->slab = field(buf, "\nSUnreclaim:") << 10;
	c->vmalloc = field(buf, "\nVmallocUsed:") << 10;
	rc = read_file("/proc/vmstat", buf, sizeof(buf));
	if (rc)
		return rc;
	c->iommu = field(buf, "\nnr_iommu_pages ") * SZ_4K;
	return 0;
}

/* Folds the per-CPU counter batches into the totals, then reads them */
static int read_counters_exact(struct counters *c)
{
	int rc = write_file(STAT_REFRESH, "1");

	return rc ? rc : read_counters(c);
}

/* ---- Memory to map ---- */

static int set_hugepages(unsigned long nr)
{
	char val[32];

	snprintf(val, sizeof(val), "%lu\n", nr);
	return write_file(HUGEPAGES, val);
}

/* A small PRNG with a fixed seed: every run shuffles the same way */
static uint64_t xorshift(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/*
 * Faults the pages of @p in a random order: the page allocator hands out
 * physical pages in sequence, so the buffer's neighbours end up apart.
 */
static int fault_shuffled(char *p, size_t len)
{
	size_t i, j, nr = len / SZ_4K;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	uint32_t *order, tmp;

	order = malloc(nr * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		order[i] = i;
	for (i = nr - 1; i > 0; i--) {
		j = xorshift(&seed) % (i + 1);
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (i = 0; i < nr; i++)
		p[(size_t)order[i] * SZ_4K] = 1;
	free(order);
	return 0;
}

static void buffer_free(struct buffer *buf)
{
	munmap(buf->map, buf->map_len);
	if (buf->fd >= 0)
		close(buf->fd);
	if (buf->backing == BACK_HUGETLB ||
	    buf->backing == BACK_MEMFD_HUGETLB)
		set_hugepages(0);
}

static int buffer_alloc(struct buffer *buf, enum backing backing, size_t len)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS, rc;

	buf->backing = backing;
	buf->len = len;
	buf->map_len = len;
	buf->fd = -1;
	if (backing == BACK_HUGETLB) {
		rc = set_hugepages(len / SZ_2M);
		if (rc)
			return rc;
		flags |= MAP_HUGETLB;
	} else {
		/* Room to start on a 2 MiB boundary */
		buf->map_len += SZ_2M;
	}
	buf->map = mmap(NULL, buf->map_len, PROT_READ | PROT_WRITE, flags,
			-1, 0);
	if (buf->map == MAP_FAILED) {
		rc = -errno;
		if (backing == BACK_HUGETLB)
			set_hugepages(0);
		return rc;
	}
	buf->p = (char *)(((uintptr_t)buf->map + SZ_2M - 1) & ~(SZ_2M - 1));
	if (backing != BACK_HUGETLB &&
	    madvise(buf->p, len, backing == BACK_THP ? MADV_HUGEPAGE :
						      MADV_NOHUGEPAGE)) {
		rc = -errno;
		goto err_unmap;
	}
	if (backing == BACK_FRAG) {
		rc = fault_shuffled(buf->p, len);
		if (rc)
			goto err_unmap;
	} else {
		memset(buf->p, 1, len);
	}
	return 0;

err_unmap:
	buffer_free(buf);
	return rc;
}

/* The choice in brackets of @path ("always [never] ..."), "" if none */
static void read_choice(const char *path, char *word, size_t size)
{
	char text[256], *start, *end;

	word[0] = '\0';
	if (read_file(path, text, sizeof(text)))
		return;
	start = strchr(text, '[');
	end = start ? strchr(start, ']') : NULL;
	if (end) {
		*end = '\0';
		snprintf(word, size, "%s", start + 1);
	}
}

/*
 * A memfd of @len bytes, mapped shared at buf->p and filled. shmem asks
 * shmem_enabled whether to use THPs both when it places the mmap (on a
 * 2 MiB boundary, where a THP can be mapped whole) and when a touch
 * allocates a page, so mmap and fill run with "always" for BACK_SHMEM_THP
 * and "never" for BACK_SHMEM; the setting is put back after them.
 */
static int memfd_alloc(struct buffer *buf, enum backing backing, size_t len)
{
	unsigned int flags = 0;
	char was[32] = "";
	int rc = 0;

	buf->backing = backing;
	buf->len = len;
	buf->map_len = len;
	buf->map = MAP_FAILED;
	if (backing == BACK_MEMFD_HUGETLB) {
		rc = set_hugepages(len / SZ_2M);
		if (rc)
			return rc;
		flags = MFD_HUGETLB;
	} else {
		read_choice(SHMEM_THP, was, sizeof(was));
		rc = write_file(SHMEM_THP, backing == BACK_SHMEM_THP ?
					   "always" : "never");
	}
	buf->fd = rc ? -1 : memfd_create("bench", flags);
	if (!rc && (buf->fd < 0 || ftruncate(buf->fd, len)))
		rc = -errno;
	if (!rc)
		buf->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
				buf->fd, 0);
	if (!rc && buf->map == MAP_FAILED)
		rc = -errno;
	if (!rc) {
		buf->p = buf->map;
		memset(buf->p, 1, len);
	}
	if (was[0])
		write_file(SHMEM_THP, was);
	if (rc) {
		if (buf->map != MAP_FAILED)
			munmap(buf->map, len);
		if (buf->fd >= 0)
			close(buf->fd);
		if (backing == BACK_MEMFD_HUGETLB)
			set_hugepages(0);
	}
	return rc;
}

/*
 * The fraction of @buf backed by huge pages: hugetlbfs by construction,
 * THPs from AnonHugePages (which counts the whole process; the buffer is
 * its only memory that may have them) or for a memfd from ShmemHugePages
 * (which counts the whole system; the memfd is the only shmem that may
 * have them).
 */
static double buffer_huge(const struct buffer *buf)
{
	char text[8192];

	if (buf->backing == BACK_HUGETLB ||
	    buf->backing == BACK_MEMFD_HUGETLB)
		return 1;
	if (buf->fd >= 0) {
		if (read_file("/proc/meminfo", text, sizeof(text)))
			return -1;
		return (double)(field(text, "\nShmemHugePages:") << 10) /
		       buf->len;
	}
	if (read_file("/proc/self/smaps_rollup", text, sizeof(text)))
		return -1;
	return (double)(field(text, "\nAnonHugePages:") << 10) / buf->len;
}

/*
 * The fraction of neighbouring pages of @buf that are also neighbours in
 * physical memory, from /proc/self/pagemap (PFNs need root); -1 if it
 * cannot be read.
 */
static double buffer_adjacency(const struct buffer *buf)
{
	size_t i, nr = buf->len / SZ_4K, adjacent = 0;
	uint64_t *pm, mask = (1ULL << 55) - 1;
	off_t pos = (uintptr_t)buf->p / SZ_4K * sizeof(*pm);
	ssize_t want = nr * sizeof(*pm);
	int fd;

	pm = malloc(want);
	if (!pm)
		return -1;
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0 || pread(fd, pm, want, pos) != want ||
	    !(pm[0] & mask)) {
		if (fd >= 0)
			close(fd);
		free(pm);
		return -1;
	}
	close(fd);
	for (i = 1; i < nr; i++)
		adjacent += (pm[i] & mask) == (pm[i - 1] & mask) + 1;
	free(pm);
	return nr > 1 ? (double)adjacent / (nr - 1) : 0;
}

/* ---- /dev/iommu, the edu device and VFIO ---- */

static int ioas_alloc(int fd, uint32_t *ioas_id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	if (ioctl(fd, IOMMU_IOAS_ALLOC, &cmd))
		return -errno;
	*ioas_id = cmd.out_ioas_id;
	return 0;
}

static int ioas_map(int fd, uint32_t ioas_id, void *va, size_t len,
		    uint64_t iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 IOMMU_IOAS_MAP_FIXED_IOVA,
		.ioas_id = ioas_id,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	return ioctl(fd, IOMMU_IOAS_MAP, &cmd) ? -errno : 0;
}

/* The whole memfd of @buf, from offset 0, at BENCH_IOVA */
static int ioas_map_file(int fd, uint32_t ioas_id, const struct buffer *buf)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 IOMMU_IOAS_MAP_FIXED_IOVA,
		.ioas_id = ioas_id,
		.fd = buf->fd,
		.start = 0,
		.length = buf->len,
		.iova = BENCH_IOVA,
	};

	return ioctl(fd, IOMMU_IOAS_MAP_FILE, &cmd) ? -errno : 0;
}

/* iova 0 and length UINT64_MAX unmap everything */
static int ioas_unmap(int fd, uint32_t ioas_id, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.iova = iova,
		.length = len,
	};

	return ioctl(fd, IOMMU_IOAS_UNMAP, &cmd) ? -errno : 0;
}

static int ioas_copy(int fd, uint32_t dst_id, uint32_t src_id, size_t len)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 IOMMU_IOAS_MAP_FIXED_IOVA,
		.dst_ioas_id = dst_id,
		.src_ioas_id = src_id,
		.length = len,
		.dst_iova = BENCH_IOVA,
		.src_iova = BENCH_IOVA,
	};

	return ioctl(fd, IOMMU_IOAS_COPY, &cmd) ? -errno : 0;
}

static int ioas_iova_ranges(int fd, uint32_t ioas_id)
{
	struct iommu_iova_range ranges[8];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = 8,
		.allowed_iovas = (uintptr_t)ranges,
	};

	return ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd) ? -errno : 0;
}

/* Opens edu's VFIO cdev and binds it to @fd */
static int edu_connect(struct edu *edu, int fd)
{
	uint32_t devid;

	if (edu_open(edu, edu_bdf) || edu_bind_iommufd(edu, fd, &devid))
		return -errno;
	return 0;
}

static int edu_attach_ioas(struct edu *edu, uint32_t ioas_id)
{
	uint32_t pt_id = ioas_id;

	return edu_attach(edu, &pt_id) ? -errno : 0;
}

/* An IOAS of a new /dev/iommu file with edu attached: its VT-d domain */
static int vtd_ioas_open(struct edu *edu, uint32_t *ioas_id)
{
	int fd, rc;

	edu->fd = -1;
	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		return -errno;
	rc = ioas_alloc(fd, ioas_id);
	if (!rc)
		rc = edu_connect(edu, fd);
	if (!rc)
		rc = edu_attach_ioas(edu, *ioas_id);
	if (rc) {
		edu_close(edu);
		close(fd);
		return rc;
	}
	return fd;
}

/* The device goes first: its unbind needs the file */
static void vtd_ioas_close(struct edu *edu, int fd)
{
	edu_close(edu);
	close(fd);
}

/* Opens /dev/vfio/N, the VFIO group of edu */
static int edu_group_open(void)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 edu_bdf);
	len = readlink(path, target, sizeof(target) - 1);
	if (len < 0)
		return -errno;
	target[len] = '\0';
	base = strrchr(target, '/');
	snprintf(path, sizeof(path), "/dev/vfio/%ld",
		 strtol(base ? base + 1 : target, NULL, 10));
	fd = open(path, O_RDWR);
	return fd < 0 ? -errno : fd;
}

static void timing_add(struct timing *t, uint64_t map_ns, uint64_t unmap_ns)
{
	if (!t->map_ns || map_ns < t->map_ns)
		t->map_ns = map_ns;
	if (!t->unmap_ns || unmap_ns < t->unmap_ns)
		t->unmap_ns = unmap_ns;
}

/* ---- tput: the four paths ---- */

/*
 * /proc/profile: a word with the bucket size in bytes, then one 32-bit
 * counter of timer ticks per bucket of kernel text. Writing clears it.
 */
#define PROFILE		"/proc/profile"

struct profile {
	uint32_t *now, *map, *unmap;
	size_t nr;		/* buckets */
	uint32_t step;
};

static struct profile *prof;

static int profile_init(void)
{
	int fd = open(PROFILE, O_RDONLY);
	off_t size;

	if (fd < 0)
		return -errno;
	size = lseek(fd, 0, SEEK_END);
	close(fd);
	if (size < 8)
		return -ENODATA;
	prof = calloc(1, sizeof(*prof));
	if (!prof)
		return -ENOMEM;
	prof->nr = size / 4 - 1;
	prof->now = malloc(size);
	prof->map = calloc(prof->nr, 4);
	prof->unmap = calloc(prof->nr, 4);
	return prof->now && prof->map && prof->unmap ? 0 : -ENOMEM;
}

static void profile_clear(void)
{
	if (prof)
		write_file(PROFILE, "0");
}

static void profile_add(uint32_t *sum)
{
	size_t want = (prof ? prof->nr + 1 : 0) * 4, got = 0, i;
	int fd;
	ssize_t n;

	if (!prof)
		return;
	fd = open(PROFILE, O_RDONLY);
	if (fd < 0)
		return;
	while (got < want &&
	       (n = read(fd, (char *)prof->now + got, want - got)) > 0)
		got += n;
	close(fd);
	if (got != want)
		return;
	prof->step = prof->now[0];
	for (i = 0; i < prof->nr; i++)
		sum[i] += prof->now[i + 1];
}

/* Prints and clears the sums of one row: @what @size, e.g. "thp 256" */
static void profile_print(const char *what, size_t size)
{
	size_t i;

	printf("profstep %u\n", prof->step);
	for (i = 0; i < prof->nr; i++) {
		if (prof->map[i])
			printf("prof map %s %zu %zu %u\n", what, size, i,
			       prof->map[i]);
		if (prof->unmap[i])
			printf("prof unmap %s %zu %zu %u\n", what, size, i,
			       prof->unmap[i]);
	}
	memset(prof->map, 0, prof->nr * 4);
	memset(prof->unmap, 0, prof->nr * 4);
}

/* IOMMU_IOAS_MAP and UNMAP with the domain attached */
static int path_ioas(const struct buffer *buf, int reps, struct timing *t)
{
	struct edu edu;
	uint32_t ioas;
	uint64_t t0, t1, map_ns;
	int fd, i, rc = 0;

	fd = vtd_ioas_open(&edu, &ioas);
	if (fd < 0)
		return fd;
	for (i = 0; i < reps && !rc; i++) {
		profile_clear();
		t0 = now_ns();
		rc = ioas_map(fd, ioas, buf->p, buf->len, BENCH_IOVA);
		t1 = now_ns();
		map_ns = t1 - t0;
		if (prof) {
			profile_add(prof->map);
			profile_clear();
			t1 = now_ns();
		}
		if (!rc)
			rc = ioas_unmap(fd, ioas, BENCH_IOVA, buf->len);
		timing_add(t, map_ns, now_ns() - t1);
		if (prof)
			profile_add(prof->unmap);
	}
	vtd_ioas_close(&edu, fd);
	return rc;
}

static int type1_map(int container, const struct buffer *buf)
{
	struct vfio_iommu_type1_dma_map cmd = {
		.argsz = sizeof(cmd),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf->p,
		.iova = BENCH_IOVA,
		.size = buf->len,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &cmd) ? -errno : 0;
}

static int type1_unmap(int container, const struct buffer *buf)
{
	struct vfio_iommu_type1_dma_unmap cmd = {
		.argsz = sizeof(cmd),
		.iova = BENCH_IOVA,
		.size = buf->len,
	};

	return ioctl(container, VFIO_IOMMU_UNMAP_DMA, &cmd) ? -errno : 0;
}

/*
 * VFIO type1: edu's group gets a /dev/iommu file as its container, and
 * opening the device through the group attaches it to the file's compat
 * IOAS, where MAP_DMA maps.
 */
static int path_type1(const struct buffer *buf, int reps, struct timing *t)
{
	int group, container, dev = -1, i, rc;
	uint64_t t0, t1;

	group = edu_group_open();
	if (group < 0)
		return group;
	container = open("/dev/iommu", O_RDWR);
	if (container < 0) {
		rc = -errno;
		goto out_group;
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		rc = -errno;
		goto out_container;
	}
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, edu_bdf);
	rc = dev < 0 ? -errno : 0;
	for (i = 0; i < reps && !rc; i++) {
		t0 = now_ns();
		rc = type1_map(container, buf);
		t1 = now_ns();
		if (!rc)
			rc = type1_unmap(container, buf);
		timing_add(t, t1 - t0, now_ns() - t1);
	}
	if (dev >= 0)
		close(dev);
out_container:
	close(container);
out_group:
	close(group);
	return rc;
}

/*
 * The fill path: MAP into an IOAS without a domain pins nothing; attaching
 * the device then pins and maps everything. Undone by detach and UNMAP.
 */
static int path_fill(const struct buffer *buf, int reps, struct timing *t)
{
	struct edu edu = { .fd = -1 };
	uint64_t t0, t1;
	uint32_t ioas = 0;
	int fd, i, rc;

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		return -errno;
	rc = ioas_alloc(fd, &ioas);
	if (!rc)
		rc = edu_connect(&edu, fd);
	for (i = 0; i < reps && !rc; i++) {
		t0 = now_ns();
		rc = ioas_map(fd, ioas, buf->p, buf->len, BENCH_IOVA);
		if (!rc)
			rc = edu_attach_ioas(&edu, ioas);
		t1 = now_ns();
		if (!rc && edu_detach(&edu))
			rc = -errno;
		if (!rc)
			rc = ioas_unmap(fd, ioas, BENCH_IOVA, buf->len);
		timing_add(t, t1 - t0, now_ns() - t1);
	}
	vtd_ioas_close(&edu, fd);
	return rc;
}

/*
 * IOMMU_IOAS_COPY of the buffer, mapped in an IOAS without a domain, into
 * the IOAS of the domain; undone by UNMAP of the copy.
 */
static int path_copy(const struct buffer *buf, int reps, struct timing *t)
{
	uint32_t src = 0, dst;
	struct edu edu;
	uint64_t t0, t1;
	int fd, i, rc;

	fd = vtd_ioas_open(&edu, &dst);
	if (fd < 0)
		return fd;
	rc = ioas_alloc(fd, &src);
	if (!rc)
		rc = ioas_map(fd, src, buf->p, buf->len, BENCH_IOVA);
	for (i = 0; i < reps && !rc; i++) {
		t0 = now_ns();
		rc = ioas_copy(fd, dst, src, buf->len);
		t1 = now_ns();
		if (!rc)
			rc = ioas_unmap(fd, dst, BENCH_IOVA, buf->len);
		timing_add(t, t1 - t0, now_ns() - t1);
	}
	vtd_ioas_close(&edu, fd);
	return rc;
}

static const struct {
	const char *name;
	int (*run)(const struct buffer *buf, int reps, struct timing *t);
} paths[] = {
	{ "ioas", path_ioas },
	{ "type1", path_type1 },
	{ "fill", path_fill },
	{ "copy", path_copy },
};

static double mib_per_s(size_t len, uint64_t ns)
{
	return ns ? (double)len / MIB / (ns / 1e9) : 0;
}

static void print_rates(size_t len, const struct timing *t)
{
	printf(" map=%.1f unmap=%.1f total=%.1f", mib_per_s(len, t->map_ns),
	       mib_per_s(len, t->unmap_ns),
	       mib_per_s(len, t->map_ns + t->unmap_ns));
}

static int bench_tput(const struct buffer *buf, int reps)
{
	struct timing t;
	size_t i;
	int rc, failed = 0;

	for (i = 0; i < (prof ? 1 : ARRAY_SIZE(paths)); i++) {
		memset(&t, 0, sizeof(t));
		rc = paths[i].run(buf, reps, &t);
		printf("tput %s %s %zu", paths[i].name,
		       backing_name[buf->backing], buf->len / MIB);
		if (rc) {
			printf(" error=%s\n", strerror(-rc));
			failed = 1;
			continue;
		}
		print_rates(buf->len, &t);
		printf("\n");
	}
	if (prof)
		profile_print(backing_name[buf->backing], buf->len / MIB);
	fflush(stdout);
	return failed;
}

/* ---- mem ---- */

struct sampler {
	atomic_bool stop;
	atomic_int samples;
	uint64_t peak;		/* highest slab + vmalloc + iommu seen */
};

static uint64_t counters_sum(const struct counters *c)
{
	return c->slab + c->vmalloc + c->iommu;
}

static void *sampler_run(void *arg)
{
	struct sampler *s = arg;
	struct counters c;

	while (!atomic_load(&s->stop)) {
		if (read_counters(&c))
			break;
		if (counters_sum(&c) > s->peak)
			s->peak = counters_sum(&c);
		atomic_fetch_add(&s->samples, 1);
	}
	return NULL;
}

/* Bytes per GiB mapped, in MiB; signed: a counter may also go down */
static double per_gib(uint64_t after, uint64_t before, size_t len)
{
	return ((double)after - (double)before) / MIB * ((double)SZ_1G / len);
}

static int bench_mem(const struct buffer *buf)
{
	struct counters before, after;
	struct sampler s = { .peak = 0 };
	pthread_t thread;
	struct edu edu;
	uint32_t ioas;
	int fd, rc;

	printf("mem %s %zu", backing_name[buf->backing], buf->len / MIB);
	fd = vtd_ioas_open(&edu, &ioas);
	if (fd < 0) {
		printf(" error=%s\n", strerror(-fd));
		return 1;
	}
	rc = read_counters_exact(&before);
	if (!rc)
		rc = -pthread_create(&thread, NULL, sampler_run, &s);
	if (rc)
		goto out;
	rc = ioas_map(fd, ioas, buf->p, buf->len, BENCH_IOVA);
	atomic_store(&s.stop, true);
	pthread_join(thread, NULL);
	if (!rc)
		rc = read_counters_exact(&after);
	if (counters_sum(&after) > s.peak)
		s.peak = counters_sum(&after);
	if (!rc)
		rc = ioas_unmap(fd, ioas, BENCH_IOVA, buf->len);
out:
	vtd_ioas_close(&edu, fd);
	if (rc) {
		printf(" error=%s\n", strerror(-rc));
		return 1;
	}
	printf(" slab=%.3f vmalloc=%.3f iommu=%.3f sum=%.3f peak=%.3f",
	       per_gib(after.slab, before.slab, buf->len),
	       per_gib(after.vmalloc, before.vmalloc, buf->len),
	       per_gib(after.iommu, before.iommu, buf->len),
	       per_gib(counters_sum(&after), counters_sum(&before), buf->len),
	       per_gib(s.peak, counters_sum(&before), buf->len));
	printf(" samples=%d adj=%.4f huge=%.4f\n", atomic_load(&s.samples),
	       buffer_adjacency(buf), buffer_huge(buf));
	fflush(stdout);
	return 0;
}

/* ---- scale ---- */

static double us_per(uint64_t ns, unsigned long nr)
{
	return ns / 1e3 / nr;
}

/* Maps @nr pieces of @size bytes of @buf side by side from BENCH_IOVA */
static int scale_map_all(int fd, uint32_t ioas, const struct buffer *buf,
			 size_t size, unsigned long nr)
{
	unsigned long i;
	int rc;

	for (i = 0; i < nr; i++) {
		rc = ioas_map(fd, ioas, buf->p + i * size % buf->len, size,
			      BENCH_IOVA + i * size);
		if (rc)
			return rc;
	}
	return 0;
}

static int scale_run(const struct buffer *buf, size_t size,
		     unsigned long nr, double *us)
{
	uint64_t t0, t1, t2, t3, t4;
	struct edu edu;
	unsigned long i;
	uint32_t ioas;
	int fd, rc;

	fd = vtd_ioas_open(&edu, &ioas);
	if (fd < 0)
		return fd;
	profile_clear();
	t0 = now_ns();
	rc = scale_map_all(fd, ioas, buf, size, nr);
	t1 = now_ns();
	if (prof)
		profile_add(prof->map);
	for (i = 0; i < RANGES_CALLS && !rc; i++)
		rc = ioas_iova_ranges(fd, ioas);
	t2 = now_ns();
	profile_clear();
	for (i = 0; i < nr && !rc; i++)
		rc = ioas_unmap(fd, ioas, BENCH_IOVA + i * size, size);
	t3 = now_ns();
	if (prof) {
		profile_add(prof->unmap);
		profile_print(size == SZ_4K ? "scale-4k" : "scale-64k", nr);
	}
	if (!rc)
		rc = scale_map_all(fd, ioas, buf, size, nr);
	t4 = now_ns();
	if (!rc)
		rc = ioas_unmap(fd, ioas, 0, UINT64_MAX);
	us[0] = us_per(t1 - t0, nr);
	us[1] = us_per(t3 - t2, nr);
	us[2] = us_per(t2 - t1, RANGES_CALLS);
	us[3] = us_per(now_ns() - t4, nr);
	vtd_ioas_close(&edu, fd);
	return rc;
}

static int bench_scale(const struct options *o)
{
	static const size_t sizes[] = { SZ_4K, SZ_64K };
	struct buffer buf;
	double us[4];
	int j, rc, failed = 0;
	size_t i;

	/*
	 * Shuffled pages: a 64 KiB mapping is 16 separate IO pages whatever
	 * the earlier sections left in the page allocator.
	 */
	rc = buffer_alloc(&buf, BACK_FRAG, SCALE_BUF);
	if (rc) {
		printf("scale error=%s\n", strerror(-rc));
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (j = 0; j < o->nr_counts; j++) {
			rc = scale_run(&buf, sizes[i], o->counts[j], us);
			printf("scale %zuk %lu", sizes[i] >> 10, o->counts[j]);
			if (rc) {
				printf(" error=%s\n", strerror(-rc));
				failed = 1;
				continue;
			}
			printf(" map=%.3f unmap=%.3f ranges=%.3f unmap_all=%.3f adj=%.4f\n",
			       us[0], us[1], us[2], us[3],
			       buffer_adjacency(&buf));
			fflush(stdout);
		}
	}
	buffer_free(&buf);
	return failed;
}

/* ---- file ---- */

/* What the file section measured of one memfd */
struct file_result {
	struct timing map;	/* IOMMU_IOAS_MAP of the mmap'ed memfd */
	struct timing file;	/* IOMMU_IOAS_MAP_FILE of the memfd */
	int map_rc;
	int file_rc;		/* -ENOTTY: the kernel has no MAP_FILE */
};

/*
 * MAP of where the memfd is mapped and MAP_FILE of the memfd, in turn so
 * that both see the same state of the machine, each undone by UNMAP, into
 * the IOAS of edu's domain.
 */
static int file_run(const struct buffer *buf, int reps, struct file_result *r)
{
	uint64_t t0, t1, map_ns;
	struct edu edu;
	uint32_t ioas;
	int fd, i;

	fd = vtd_ioas_open(&edu, &ioas);
	if (fd < 0)
		return fd;
	for (i = 0; i < reps && !r->map_rc; i++) {
		profile_clear();
		t0 = now_ns();
		r->map_rc = ioas_map(fd, ioas, buf->p, buf->len, BENCH_IOVA);
		t1 = now_ns();
		map_ns = t1 - t0;
		if (prof) {
			profile_add(prof->map);
			profile_clear();
			t1 = now_ns();
		}
		if (!r->map_rc)
			r->map_rc = ioas_unmap(fd, ioas, BENCH_IOVA, buf->len);
		timing_add(&r->map, map_ns, now_ns() - t1);
		if (prof) {
			profile_add(prof->unmap);
			continue;
		}
		if (r->file_rc)
			continue;
		t0 = now_ns();
		r->file_rc = ioas_map_file(fd, ioas, buf);
		t1 = now_ns();
		if (r->file_rc)
			continue;
		r->file_rc = ioas_unmap(fd, ioas, BENCH_IOVA, buf->len);
		timing_add(&r->file, t1 - t0, now_ns() - t1);
	}
	vtd_ioas_close(&edu, fd);
	return 0;
}

static int bench_file(const struct options *o)
{
	struct file_result r;
	struct buffer buf;
	int b, i, rc, failed = 0;
	double huge;

	for (b = BACK_NR_ANON; b < BACK_COUNT; b++) {
		for (i = 0; i < o->nr_sizes; i++) {
			rc = memfd_alloc(&buf, b, o->sizes[i] * MIB);
			if (rc) {
				printf("alloc %s %lu error=%s\n",
				       backing_name[b], o->sizes[i],
				       strerror(-rc));
				failed = 1;
				continue;
			}
			huge = buffer_huge(&buf);
			memset(&r, 0, sizeof(r));
			rc = file_run(&buf, o->reps, &r);
			if (rc) {
				r.map_rc = rc;
				r.file_rc = rc;
			}
			printf("file map %s %lu", backing_name[b], o->sizes[i]);
			if (r.map_rc)
				printf(" error=%s", strerror(-r.map_rc));
			else
				print_rates(buf.len, &r.map);
			printf(" huge=%.4f\n", huge);
			printf("file map_file %s %lu", backing_name[b],
			       o->sizes[i]);
			if (r.file_rc == -ENOTTY)
				printf(" absent=1");
			else if (r.file_rc)
				printf(" error=%s", strerror(-r.file_rc));
			else
				print_rates(buf.len, &r.file);
			printf(" huge=%.4f\n", huge);
			if (prof)
				profile_print(backing_name[b], o->sizes[i]);
			fflush(stdout);
			failed |= r.map_rc || (r.file_rc && r.file_rc != -ENOTTY);
			buffer_free(&buf);
		}
	}
	return failed;
}

/* ---- main ---- */

static int parse_list(const char *arg, unsigned long *list, int *nr)
{
	char *end;

	for (*nr = 0; *nr < MAX_LIST; arg = end + 1) {
		list[(*nr)++] = strtoul(arg, &end, 10);
		if (end == arg || !list[*nr - 1])
			return -1;
		if (!*end)
			return 0;
		if (*end != ',')
			return -1;
	}
	return -1;
}

static int parse_sections(const char *arg, unsigned int *sections)
{
	*sections = 0;
	if (strstr(arg, "tput"))
		*sections |= SEC_TPUT;
	if (strstr(arg, "mem"))
		*sections |= SEC_MEM;
	if (strstr(arg, "scale"))
		*sections |= SEC_SCALE;
	if (strstr(arg, "file"))
		*sections |= SEC_FILE;
	return *sections ? 0 : -1;
}

static void print_help(void)
{
	fprintf(stderr,
		"usage: bench [-q] [-p] [-s MiB,...] [-n N,...] [-r REPS] [-t tput,mem,scale,file]\n"
		"  -s  buffer sizes of tput, mem and file (default 64,256,1024)\n"
		"  -n  numbers of mappings of scale (default 1000,10000,100000)\n"
		"  -r  repetitions of each tput and file row, the best counts (default 5)\n"
		"  -t  sections to run (default all)\n"
		"  -q  quick: -s 64 -n 1000,10000 -r 2\n"
		"  -p  profile the MAPs and UNMAPs of tput (IOAS), scale, file (profile=2)\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int opt;

	*o = (struct options){
		.sizes = { 64, 256, 1024 }, .nr_sizes = 3,
		.counts = { 1000, 10000, 100000 }, .nr_counts = 3,
		.reps = 5,
		.sections = SEC_TPUT | SEC_MEM | SEC_SCALE | SEC_FILE,
	};
	while ((opt = getopt(argc, argv, "pqs:n:r:t:")) != -1) {
		switch (opt) {
		case 'p':
			o->profile = true;
			break;
		case 'q':
			o->sizes[0] = 64;
			o->nr_sizes = 1;
			o->counts[1] = 10000;
			o->nr_counts = 2;
			o->reps = 2;
			break;
		case 's':
			if (parse_list(optarg, o->sizes, &o->nr_sizes))
				return -1;
			break;
		case 'n':
			if (parse_list(optarg, o->counts, &o->nr_counts))
				return -1;
			break;
		case 'r':
			o->reps = atoi(optarg);
			if (o->reps < 1)
				return -1;
			break;
		case 't':
			if (parse_sections(optarg, &o->sections))
				return -1;
			break;
		default:
			return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct utsname uts;
	struct options o;
	struct buffer buf;
	int b, i, rc, failed = 0;

	if (parse_options(argc, argv, &o)) {
		print_help();
		return 2;
	}
	if (edu_find(edu_bdf, sizeof(edu_bdf)) || edu_bind_vfio_pci(edu_bdf)) {
		printf("error: no edu device for vfio-pci: %s\n",
		       strerror(errno));
		return 1;
	}
	if (!uname(&uts))
		printf("kernel %s %s\n", uts.release, uts.version);
	if (o.profile) {
		rc = profile_init();
		if (rc) {
			printf("error: %s: %s\n", PROFILE, strerror(-rc));
			return 1;
		}
	}
	fflush(stdout);
	for (b = 0; b < BACK_NR_ANON && (o.sections & (SEC_TPUT | SEC_MEM));
	     b++) {
		for (i = 0; i < o.nr_sizes; i++) {
			rc = buffer_alloc(&buf, b, o.sizes[i] * MIB);
			if (rc) {
				printf("alloc %s %lu error=%s\n",
				       backing_name[b], o.sizes[i],
				       strerror(-rc));
				failed = 1;
				continue;
			}
			if (o.sections & SEC_TPUT)
				failed |= bench_tput(&buf, o.reps);
			if (o.sections & SEC_MEM)
				failed |= bench_mem(&buf);
			buffer_free(&buf);
		}
	}
	if (o.sections & SEC_FILE)
		failed |= bench_file(&o);
	if (o.sections & SEC_SCALE)
		failed |= bench_scale(&o);
	return failed;
}
