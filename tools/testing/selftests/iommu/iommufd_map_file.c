// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOMMU_IOAS_MAP_FILE and IOMMU_IOAS_CHANGE_PROCESS, the two ioctls this
 * kernel adopts from after 6.12.
 *
 * A memfd is mapped by file offset; with a mock domain on the IOAS the
 * pages are pinned at once, and MD_CHECK_MAP compares the translation with
 * a mapping of the same memfd in this process. CHANGE_PROCESS is called
 * from a forked child, which shares the iommufd but has an mm of its own,
 * so that the pins visibly move from one process's VmPin to the other's.
 * Pristine 6.12 has neither ioctl: there every test but the one checking
 * that it answers ENOTTY is skipped. Pristine 7.2, which has both, runs the
 * tests that need no mock (make check-upstream72).
 */
#include <sys/wait.h>

#include "iommufd_selftest.h"

#define NPAGES		16
#define FILE_LEN	(NPAGES * CPU_PAGE)
#define IOVA		0x1000000ULL

static int map_file(int fd, uint32_t ioas, uint32_t flags, int mfd,
		    uint64_t start, uint64_t length, uint64_t *iova)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas,
		.fd = mfd,
		.start = start,
		.length = length,
		.iova = *iova,
	};
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_MAP_FILE, &cmd);
	if (!rc)
		*iova = cmd.iova;
	return rc;
}

static int map_file_fixed(int fd, uint32_t ioas, int mfd, uint64_t start,
			  uint64_t length, uint64_t iova)
{
	return map_file(fd, ioas, IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW, mfd,
			start, length, &iova);
}

static int change_process(int fd)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };

	return ioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd);
}

/* A memfd of @len bytes, each page filled with its index */
static int memfd_make(size_t len)
{
	int mfd = memfd_create("iommufd-test", 0);
	uint8_t *p;

	if (mfd < 0 || ftruncate(mfd, len))
		return -1;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (p == MAP_FAILED)
		return -1;
	for (size_t i = 0; i < len; i += CPU_PAGE)
		memset(p + i, i / CPU_PAGE, CPU_PAGE);
	munmap(p, len);
	return mfd;
}

/*
 * Runs @fn in a forked child and returns its exit status (0 is success),
 * or -1 if it could not run or died.
 */
static int in_child(int (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST(map_file_is_a_later_ioctl)
{
	uint64_t iova = 0;
	int fd = iommufd_open();

	ASSERT_LE(0, fd);
	if (!on_upstream() || upstream_after_612()) {
		close(fd);
		SKIP(return, "this kernel has MAP_FILE; see the fixture");
	}
	EXPECT_ERRNO(ENOTTY, map_file(fd, 1, MAP_RW, 0, 0, CPU_PAGE, &iova));
	EXPECT_ERRNO(ENOTTY, change_process(fd));
	close(fd);
}

FIXTURE(map_file)
{
	int fd;
	uint32_t ioas;
	int mfd;
	uint8_t *va;		/* the memfd, mapped shared */
};

FIXTURE_SETUP(map_file)
{
	SKIP_IF_UPSTREAM_612(return, "IOMMU_IOAS_MAP_FILE came after 6.12");
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	self->mfd = memfd_make(FILE_LEN);
	ASSERT_LE(0, self->mfd);
	self->va = mmap(NULL, FILE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			self->mfd, 0);
	ASSERT_NE(MAP_FAILED, self->va);
}

FIXTURE_TEARDOWN(map_file)
{
	if (on_upstream() && !upstream_after_612())
		return;
	munmap(self->va, FILE_LEN);
	close(self->mfd);
	close(self->fd);
}

TEST_F(map_file, maps_without_a_domain_and_unmaps)
{
	uint64_t iova = 0, unmapped;

	ASSERT_EQ(0, map_file(self->fd, self->ioas, MAP_RW, self->mfd, 0,
			      FILE_LEN, &iova));
	EXPECT_NE(0, iova);
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, iova, FILE_LEN,
				&unmapped));
	EXPECT_EQ(FILE_LEN, unmapped);
}

TEST_F(map_file, bad_arguments_fail_as_map_does)
{
	uint64_t iova = IOVA;

	EXPECT_ERRNO(EOPNOTSUPP, map_file(self->fd, self->ioas, MAP_RW | 8,
					  self->mfd, 0, CPU_PAGE, &iova));
	EXPECT_ERRNO(EINVAL, map_file(self->fd, self->ioas, 0, self->mfd, 0,
				      CPU_PAGE, &iova));
	EXPECT_ERRNO(ENOENT, map_file(self->fd, NO_SUCH_ID, MAP_RW,
				      self->mfd, 0, CPU_PAGE, &iova));
	EXPECT_ERRNO(EINVAL, map_file(self->fd, self->ioas, MAP_RW,
				      self->mfd, 0, 0, &iova));
	EXPECT_ERRNO(EOVERFLOW, map_file(self->fd, self->ioas, MAP_RW,
					 self->mfd, ~0ULL - CPU_PAGE,
					 2 * CPU_PAGE, &iova));
	EXPECT_ERRNO(EBADF, map_file(self->fd, self->ioas, MAP_RW, -1, 0,
				     CPU_PAGE, &iova));
	EXPECT_ERRNO(EBADF, map_file(self->fd, self->ioas, MAP_RW, 999, 0,
				     CPU_PAGE, &iova));
}

/* A mapping holds its file: one that holds the iommufd would never go */
TEST_F(map_file, only_memory_files_can_be_mapped)
{
	int other = open("/proc/self/status", O_RDONLY);
	uint64_t iova = 0;

	SKIP_IF_UPSTREAM(return, "7.2 refuses other files only when pinning");
	ASSERT_LE(0, other);
	EXPECT_ERRNO(EINVAL, map_file(self->fd, self->ioas, MAP_RW, self->fd,
				      0, CPU_PAGE, &iova));
	EXPECT_ERRNO(EINVAL, map_file(self->fd, self->ioas, MAP_RW, other, 0,
				      CPU_PAGE, &iova));
	close(other);
}

TEST_F(map_file, a_domain_sees_the_file_pages)
{
	struct charge base;
	uint32_t mock;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_EQ(0, charge_read(self->fd, &base));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, map_file_fixed(self->fd, self->ioas, self->mfd, 0,
				    FILE_LEN, IOVA));
	EXPECT_EQ(0, mock_check_map(self->fd, mock, IOVA, FILE_LEN, self->va,
				    MOCK_PROT_READ | MOCK_PROT_WRITE, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->va, FILE_LEN, 1));
	expect_charge(_metadata, self->fd, &base, false, NPAGES);

	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, FILE_LEN, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->va, FILE_LEN, 0));
	expect_charge(_metadata, self->fd, &base, false, 0);
}

TEST_F(map_file, an_offset_maps_from_inside_the_file)
{
	uint32_t mock;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, map_file_fixed(self->fd, self->ioas, self->mfd,
				    3 * CPU_PAGE, 5 * CPU_PAGE, IOVA));
	EXPECT_EQ(0, mock_check_map(self->fd, mock, IOVA, 5 * CPU_PAGE,
				    self->va + 3 * CPU_PAGE, 0, NULL));
	/* Only what is mapped is pinned */
	EXPECT_EQ(0, check_pins(self->fd, self->va, 3 * CPU_PAGE, 0));
	EXPECT_EQ(0, check_pins(self->fd, self->va + 3 * CPU_PAGE,
				5 * CPU_PAGE, 1));
	EXPECT_EQ(0, check_pins(self->fd, self->va + 8 * CPU_PAGE,
				8 * CPU_PAGE, 0));
}

TEST_F(map_file, a_page_offset_follows_the_alignment_rule)
{
	uint64_t iova = 0;
	uint32_t mock;

	SKIP_IF_UPSTREAM_MOCK(return);
	/* The mock maps IO pages of half a CPU page */
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, map_file(self->fd, self->ioas, MAP_RW, self->mfd,
			      IO_PAGE, 3 * IO_PAGE, &iova));
	EXPECT_EQ(IO_PAGE, iova % CPU_PAGE);
	EXPECT_EQ(0, mock_check_map(self->fd, mock, iova, 3 * IO_PAGE,
				    self->va + IO_PAGE, 0, NULL));
	EXPECT_ERRNO(EINVAL, map_file_fixed(self->fd, self->ioas, self->mfd,
					    100, IO_PAGE, IOVA));
}

TEST_F(map_file, past_the_end_of_the_file_fails_when_pinned)
{
	uint32_t mock;

	SKIP_IF_UPSTREAM_MOCK(return);
	/* Nothing is looked at until a domain needs the pages */
	ASSERT_EQ(0, map_file_fixed(self->fd, self->ioas, self->mfd, 0,
				    2 * FILE_LEN, IOVA));
	EXPECT_ERRNO(EINVAL, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, 2 * FILE_LEN,
				NULL));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	EXPECT_ERRNO(EINVAL, map_file_fixed(self->fd, self->ioas, self->mfd,
					    FILE_LEN - CPU_PAGE,
					    2 * CPU_PAGE, IOVA));
	EXPECT_EQ(0, check_pins(self->fd, self->va, FILE_LEN, 0));
}

TEST_F(map_file, a_file_that_is_no_memfd_fails_when_pinned)
{
	int other = open("/proc/self/status", O_RDONLY);
	uint32_t mock;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	EXPECT_ERRNO(EINVAL, map_file_fixed(self->fd, self->ioas, other, 0,
					    CPU_PAGE, IOVA));
	close(other);
}

TEST_F(map_file, copy_shares_the_file_pins)
{
	struct charge base;
	uint32_t ioas2, mock, mock2;
	uint64_t dst = IOVA;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_EQ(0, charge_read(self->fd, &base));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, mock_domain_add(self->fd, ioas2, 0, &mock2));
	ASSERT_EQ(0, map_file_fixed(self->fd, self->ioas, self->mfd, 0,
				    FILE_LEN, IOVA));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, ioas2, dst, self->ioas, IOVA,
				     FILE_LEN));
	EXPECT_EQ(0, mock_check_map(self->fd, mock2, dst, FILE_LEN, self->va,
				    0, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->va, FILE_LEN, 1));
	expect_charge(_metadata, self->fd, &base, false, NPAGES);

	/* Half of the copy goes: the pages stay pinned for the source */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, FILE_LEN, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->va, FILE_LEN, 1));
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, dst, FILE_LEN, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->va, FILE_LEN, 0));
	expect_charge(_metadata, self->fd, &base, false, 0);
}

TEST_F(map_file, truncating_a_pinned_file_keeps_the_pins)
{
	struct charge base;
	uint32_t mock;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_EQ(0, charge_read(self->fd, &base));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, map_file_fixed(self->fd, self->ioas, self->mfd, 0,
				    FILE_LEN, IOVA));
	munmap(self->va, FILE_LEN);
	ASSERT_EQ(0, ftruncate(self->mfd, 0));
	ASSERT_EQ(0, ftruncate(self->mfd, FILE_LEN));
	self->va = mmap(NULL, FILE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			self->mfd, 0);
	ASSERT_NE(MAP_FAILED, self->va);
	/* The device keeps the old pages; the file has new, empty ones */
	EXPECT_NE(0, mock_check_map(self->fd, mock, IOVA, FILE_LEN, self->va,
				    0, NULL));
	expect_charge(_metadata, self->fd, &base, false, NPAGES);
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, FILE_LEN, NULL));
	expect_charge(_metadata, self->fd, &base, false, 0);
}

TEST_F(map_file, a_sealed_memfd_maps_read_only)
{
	int mfd = memfd_create("sealed", MFD_ALLOW_SEALING);
	uint32_t mock;
	uint64_t iova = 0;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, FILE_LEN));
	ASSERT_EQ(0, fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
					     F_SEAL_WRITE));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	EXPECT_EQ(0, map_file(self->fd, self->ioas, MAP_R, mfd, 0, FILE_LEN,
			      &iova));
	close(mfd);
}

TEST_F(map_file, an_access_reads_file_pages_nobody_pinned)
{
	struct iommu_test_cmd cmd = {};
	uint8_t buf[64];
	uint32_t access;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_EQ(0, map_file_fixed(self->fd, self->ioas, self->mfd, 0,
				    FILE_LEN, IOVA));
	ASSERT_EQ(0, test_cmd(self->fd, IOMMU_TEST_OP_ACCESS_CREATE,
			      self->ioas, &cmd));
	access = cmd.access_create.out_access_obj_id;
	cmd = (struct iommu_test_cmd){
		.access_rw = {
			.iova = IOVA + 5 * CPU_PAGE + 10,
			.uptr = (uintptr_t)buf,
			.length = sizeof(buf),
		},
	};
	memset(buf, 0xee, sizeof(buf));
	ASSERT_EQ(0, test_cmd(self->fd, IOMMU_TEST_OP_ACCESS_RW, access, &cmd));
	EXPECT_EQ(5, buf[0]);
	EXPECT_EQ(5, buf[63]);
	EXPECT_EQ(0, check_pins(self->fd, self->va, FILE_LEN, 0));
}

/* ---- Memfds of large folios: shmem THP and hugetlbfs ---- */

#define HUGE_LEN	(2 * SZ_2M)

FIXTURE(huge_file)
{
	int fd;
	uint32_t ioas, ioas2;
	uint32_t mock, mock2;
	int mfd;
	uint8_t *va;
	long old_nr_hugepages;
	char old_shmem[32];
};

FIXTURE_VARIANT(huge_file)
{
	bool hugetlb;
};

FIXTURE_VARIANT_ADD(huge_file, shmem_thp)
{
	.hugetlb = false,
};

FIXTURE_VARIANT_ADD(huge_file, hugetlbfs)
{
	.hugetlb = true,
};

#define SHMEM_THP "/sys/kernel/mm/transparent_hugepage/shmem_enabled"

static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	int rc;

	if (fd < 0)
		return -1;
	rc = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return rc;
}

/* The selected word of a sysfs choice like "always [never] advise" */
static int sysfs_choice(const char *path, char *val, size_t size)
{
	char buf[128], *l, *r;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	l = strchr(buf, '[');
	r = l ? strchr(l, ']') : NULL;
	if (!r || (size_t)(r - l) > size)
		return -1;
	*r = 0;
	snprintf(val, size, "%s", l + 1);
	return 0;
}

FIXTURE_SETUP(huge_file)
{
	SKIP_IF_UPSTREAM_MOCK(return);
	self->old_nr_hugepages = -1;
	self->old_shmem[0] = 0;
	if (variant->hugetlb) {
		long old = nr_hugepages_read();

		if (old < 0 || nr_hugepages_write(old + 2) ||
		    nr_hugepages_read() < old + 2) {
			if (old >= 0)
				nr_hugepages_write(old);
			SKIP(return, "no 2 free huge pages");
		}
		self->old_nr_hugepages = old;
		self->mfd = memfd_create("iommufd-huge", MFD_HUGETLB);
	} else {
		if (sysfs_choice(SHMEM_THP, self->old_shmem,
				 sizeof(self->old_shmem)) ||
		    sysfs_write(SHMEM_THP, "always"))
			SKIP(return, "shmem THP cannot be enabled");
		self->mfd = memfd_create("iommufd-thp", 0);
	}
	ASSERT_LE(0, self->mfd);
	ASSERT_EQ(0, ftruncate(self->mfd, HUGE_LEN));
	self->va = mmap(NULL, HUGE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			self->mfd, 0);
	ASSERT_NE(MAP_FAILED, self->va);
	memset(self->va, 0x3c, HUGE_LEN);

	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas2));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &self->mock));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas2, 0, &self->mock2));
}

FIXTURE_TEARDOWN(huge_file)
{
	if (on_upstream())
		return;
	if (self->fd > 0)
		close(self->fd);
	if (self->va && self->va != MAP_FAILED)
		munmap(self->va, HUGE_LEN);
	if (self->mfd > 0)
		close(self->mfd);
	if (self->old_nr_hugepages >= 0)
		nr_hugepages_write(self->old_nr_hugepages);
	if (self->old_shmem[0])
		sysfs_write(SHMEM_THP, self->old_shmem);
}

TEST_F(huge_file, maps_with_large_pages_and_unpins_them_all)
{
	struct map_shape shape;
	struct charge base;

	ASSERT_EQ(0, charge_read(self->fd, &base));
	ASSERT_EQ(0, map_file_fixed(self->fd, self->ioas, self->mfd, 0,
				    HUGE_LEN, IOVA));
	ASSERT_EQ(0, mock_check_map(self->fd, self->mock, IOVA, HUGE_LEN,
				    self->va, 0, &shape));
	if (shape.max_pgsize != SZ_2M && !variant->hugetlb)
		SKIP(return, "shmem did not use a THP");
	EXPECT_EQ(SZ_2M, shape.max_pgsize);
	expect_charge(_metadata, self->fd, &base, false, HUGE_LEN / CPU_PAGE);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, HUGE_LEN, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->va, HUGE_LEN, 0));
	expect_charge(_metadata, self->fd, &base, false, 0);
}

TEST_F(huge_file, pieces_of_one_folio_come_and_go_in_any_order)
{
	uint64_t mid = IOVA + SZ_2M / 2;
	struct charge base;

	ASSERT_EQ(0, charge_read(self->fd, &base));
	/* Three holders of parts of the first folio, overlapping */
	ASSERT_EQ(0, map_file_fixed(self->fd, self->ioas, self->mfd, 0,
				    HUGE_LEN, IOVA));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, self->ioas2, IOVA, self->ioas,
				     mid, CPU_PAGE));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, self->ioas2, 2 * IOVA,
				     self->ioas, IOVA + CPU_PAGE,
				     SZ_2M - CPU_PAGE));
	expect_charge(_metadata, self->fd, &base, false, HUGE_LEN / CPU_PAGE);

	/* The whole mapping goes: the copies keep their part pinned */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, HUGE_LEN, NULL));
	expect_charge(_metadata, self->fd, &base, false,
		      SZ_2M / CPU_PAGE - 1);
	EXPECT_EQ(0, mock_check_map(self->fd, self->mock2, IOVA, CPU_PAGE,
				    self->va + SZ_2M / 2, 0, NULL));
	EXPECT_EQ(0, mock_check_map(self->fd, self->mock2, 2 * IOVA,
				    SZ_2M - CPU_PAGE, self->va + CPU_PAGE, 0,
				    NULL));

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas2, 2 * IOVA,
				SZ_2M - CPU_PAGE, NULL));
	expect_charge(_metadata, self->fd, &base, false, 1);
	EXPECT_NE(0, check_pins(self->fd, self->va, SZ_2M, 0))
		TH_LOG("the page the last copy shows must still be pinned");
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas2, IOVA, CPU_PAGE, NULL));
	expect_charge(_metadata, self->fd, &base, false, 0);
	EXPECT_EQ(0, check_pins(self->fd, self->va, HUGE_LEN, 0));
}

/* ---- CHANGE_PROCESS ---- */

struct cp_child {
	int fd;
	uint64_t pages;		/* expected to move */
	rlim_t memlock;		/* RLIMIT_MEMLOCK to set first, 0: none */
	int expect_errno;	/* 0: CHANGE_PROCESS must succeed */
};

/* In the child: exit 0 if CHANGE_PROCESS does what the parent expects */
static int cp_child_run(void *arg)
{
	struct cp_child *c = arg;
	struct charge before, after;

	if (c->memlock && set_memlock_limit(c->memlock))
		return 10;
	if (charge_read(c->fd, &before))
		return 11;
	if (change_process(c->fd) != (c->expect_errno ? -1 : 0))
		return 12;
	if (c->expect_errno && errno != c->expect_errno)
		return 13;
	if (charge_read(c->fd, &after))
		return 14;
	if (after.pinned_vm !=
	    before.pinned_vm + (c->expect_errno ? 0 : c->pages))
		return 15;
	return 0;
}

TEST_F(map_file, change_process_moves_the_pins_to_the_caller)
{
	struct cp_child c = { .fd = self->fd, .pages = NPAGES };
	struct charge base, now;
	uint32_t mock;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_EQ(0, charge_read(self->fd, &base));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, map_file_fixed(self->fd, self->ioas, self->mfd, 0,
				    FILE_LEN, IOVA));
	ASSERT_EQ(0, charge_read(self->fd, &now));
	EXPECT_EQ(base.pinned_vm + NPAGES, now.pinned_vm);

	EXPECT_EQ(0, in_child(cp_child_run, &c));
	ASSERT_EQ(0, charge_read(self->fd, &now));
	EXPECT_EQ(base.pinned_vm, now.pinned_vm);
	/* The translation did not change */
	EXPECT_EQ(0, mock_check_map(self->fd, mock, IOVA, FILE_LEN, self->va,
				    0, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->va, FILE_LEN, 1));

	/* Back to this process, and gone with the unmap */
	c.pages = 0;
	EXPECT_EQ(0, change_process(self->fd));
	ASSERT_EQ(0, charge_read(self->fd, &now));
	EXPECT_EQ(base.pinned_vm + NPAGES, now.pinned_vm);
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, FILE_LEN, NULL));
	ASSERT_EQ(0, charge_read(self->fd, &now));
	EXPECT_EQ(base.pinned_vm, now.pinned_vm);
}

TEST_F(map_file, change_process_by_the_owner_changes_nothing)
{
	struct charge base, now;
	uint32_t mock;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, map_file_fixed(self->fd, self->ioas, self->mfd, 0,
				    FILE_LEN, IOVA));
	ASSERT_EQ(0, charge_read(self->fd, &base));
	EXPECT_EQ(0, change_process(self->fd));
	ASSERT_EQ(0, charge_read(self->fd, &now));
	EXPECT_EQ(base.pinned_vm, now.pinned_vm);
	EXPECT_EQ(base.locked_vm, now.locked_vm);
}

TEST_F(map_file, change_process_refuses_user_memory)
{
	struct cp_child c = { .fd = self->fd, .expect_errno = EINVAL };
	uint8_t *buf = anon_alloc(CPU_PAGE);
	uint32_t ioas2, mock;
	struct charge base;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, map_file_fixed(self->fd, self->ioas, self->mfd, 0,
				    FILE_LEN, IOVA));
	/* User memory in another IOAS is just as much in the way */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, buf, CPU_PAGE, IOVA));
	ASSERT_EQ(0, charge_read(self->fd, &base));
	EXPECT_EQ(0, in_child(cp_child_run, &c));
	expect_charge(_metadata, self->fd, &base, false, 0);

	ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, IOVA, CPU_PAGE, NULL));
	c = (struct cp_child){ .fd = self->fd, .pages = NPAGES };
	EXPECT_EQ(0, in_child(cp_child_run, &c));
	munmap(buf, CPU_PAGE);
}

TEST_F(map_file, change_process_refuses_a_va_mapping)
{
	uint8_t *buf = anon_alloc(CPU_PAGE);
	uint64_t iova = 0;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, map_file(self->fd, self->ioas, MAP_RW, self->mfd, 0,
			      FILE_LEN, &iova));
	EXPECT_EQ(0, change_process(self->fd));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, MAP_RW, buf, CPU_PAGE,
			      &iova));
	EXPECT_ERRNO(EINVAL, change_process(self->fd));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, iova, CPU_PAGE, NULL));
	EXPECT_EQ(0, change_process(self->fd));
	munmap(buf, CPU_PAGE);
}

TEST_F(map_file, change_process_with_reserved_bits_fails)
{
	struct iommu_ioas_change_process cmd = {
		.size = sizeof(cmd),
		.__reserved = 1,
	};

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_CHANGE_PROCESS,
				       &cmd));
}

TEST_F(map_file, change_process_of_an_empty_file_is_fine)
{
	EXPECT_EQ(0, change_process(self->fd));
}

/* Maps without CAP_IPC_LOCK, so that RLIMIT_MEMLOCK counts, then asks */
static int cp_limited_run(void *arg)
{
	struct cp_child *c = arg;
	struct cp_child limited = {
		.fd = c->fd,
		.memlock = CPU_PAGE,
		.expect_errno = ENOMEM,
	};
	struct charge base, now;

	if (cap_drop(CAP_IPC_LOCK))
		return 20;
	if (charge_read(c->fd, &base))
		return 21;
	if (map_file_fixed(c->fd, 1, c->memlock, 0, FILE_LEN, IOVA))
		return 22;
	/* A child with a limit below what is pinned cannot take it over */
	if (in_child(cp_child_run, &limited))
		return 23;
	if (charge_read(c->fd, &now) ||
	    now.pinned_vm != base.pinned_vm + NPAGES ||
	    now.locked_vm != base.locked_vm + NPAGES)
		return 24;
	return 0;
}

TEST_F(map_file, change_process_is_all_or_nothing)
{
	struct cp_child c = { .fd = self->fd };
	uint32_t mock;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_EQ(1, self->ioas);
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	/* The memfd travels in the memlock field */
	c.memlock = self->mfd;
	EXPECT_EQ(0, in_child(cp_limited_run, &c));
}

/*
 * A memfd whose pages were first touched in a scattered order: thousands
 * of small folios that are mostly not physically contiguous. Each lands in
 * the domain at its file offset, a copy of a part from the middle finds its
 * folios, and unmapping the whole leaves exactly that part pinned.
 */
TEST(scattered_memfd_reaches_the_domain_folio_by_folio)
{
	const size_t len = 24UL << 20;
	const size_t part_at = 1499 * CPU_PAGE, part_len = 3001 * CPU_PAGE;
	uint32_t ioas, mock, copy_ioas, copy_mock;
	uint8_t *va;
	int fd, mfd;

	SKIP_IF_UPSTREAM_MOCK(return);
	fd = iommufd_open();
	ASSERT_LE(0, fd);
	mfd = memfd_create("iommufd-scattered", 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, len));
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, va);
	touch_scattered(va, len, 11);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, mock_domain_add(fd, ioas, 0, &mock));
	ASSERT_EQ(0, ioas_alloc(fd, &copy_ioas));
	ASSERT_EQ(0, mock_domain_add(fd, copy_ioas, 0, &copy_mock));

	ASSERT_EQ(0, map_file_fixed(fd, ioas, mfd, 0, len, IOVA));
	EXPECT_EQ(0, mock_check_map(fd, mock, IOVA, len, va, 0, NULL));
	EXPECT_EQ(0, check_pins(fd, va, len, 1));
	ASSERT_EQ(0, ioas_copy_fixed(fd, copy_ioas, IOVA, ioas, IOVA + part_at,
				     part_len));
	EXPECT_EQ(0, mock_check_map(fd, copy_mock, IOVA, part_len,
				    va + part_at, 0, NULL));
	EXPECT_EQ(0, check_pins(fd, va, len, 1));

	ASSERT_EQ(0, ioas_unmap(fd, ioas, IOVA, len, NULL));
	EXPECT_EQ(0, check_pins(fd, va, part_at, 0));
	EXPECT_EQ(0, check_pins(fd, va + part_at, part_len, 1));
	EXPECT_EQ(0, check_pins(fd, va + part_at + part_len,
				len - part_at - part_len, 0));
	EXPECT_EQ(0, mock_check_map(fd, copy_mock, IOVA, part_len,
				    va + part_at, 0, NULL));
	ASSERT_EQ(0, ioas_unmap(fd, copy_ioas, IOVA, part_len, NULL));
	EXPECT_EQ(0, check_pins(fd, va, len, 0));
	munmap(va, len);
	close(mfd);
	ASSERT_EQ(0, close(fd));
}

TEST_HARNESS_MAIN
