// SPDX-License-Identifier: GPL-2.0-only
/*
 * The data path of an IOAS seen through mock IOMMU domains.
 *
 * IOMMU_TEST_OP_MOCK_DOMAIN hangs a software page table on an IOAS; the
 * kernel then treats it like any other domain of that IOAS. Its entries can
 * be read back: MD_CHECK_MAP compares each IO page (half a CPU page) with the
 * physical page behind a user address and reports the IO page sizes and the
 * number of map calls used, MD_CHECK_UNMAPPED proves a range is empty.
 * CHECK_PINS reads the FOLL_PIN count of the user's pages and ACCOUNTING the
 * two counters RLIMIT_MEMLOCK is charged to.
 *
 * With those the suite checks the promises of the data path exactly: every
 * mapping is in every domain of its IOAS, with the right pages and
 * permissions, and in none once it is unmapped; a page is pinned and
 * charged once however many domains, copies and IOASes show it; the usable
 * IOVA ranges and the alignment follow the domains' apertures and IO page
 * size; large folios reach the domains as large IO pages; and whatever
 * fails leaves the domains and the pins as they were.
 *
 * The tests assume 4 KiB CPU pages and 2 MiB huge pages, as on x86_64.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include "iommufd_selftest.h"

#define SZ_1M (1024UL * 1024)
#define PAGES_PER_2M (SZ_2M / CPU_PAGE)

#define PROT_RW (MOCK_PROT_READ | MOCK_PROT_WRITE)

/* The whole IOVA space of an IOAS with nothing that narrows it */
#define IOVA_MAX UINT64_MAX

static int add_reserved(int fd, uint32_t ioas, uint64_t start,
			uint64_t length)
{
	struct iommu_test_cmd cmd = {
		.add_reserved = { .start = start, .length = length },
	};

	return test_cmd(fd, IOMMU_TEST_OP_ADD_RESERVED, ioas, &cmd);
}

/* For fixtures with fd, charge0 and mm_mode */
#define EXPECT_CHARGED(pages)                                                  \
	expect_charge(_metadata, self->fd, &self->charge0, self->mm_mode,      \
		      pages)

/* Opens /dev/iommu in RLIMIT_MODE 0 (user) or 1 (mm) */
static int iommufd_open_in_mode(bool mm_mode)
{
	int fd;

	fd = iommufd_open();
	if (fd < 0)
		return -1;
	if (rlimit_mode_set(fd, mm_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- Memory ---- */

enum mem_kind {
	MEM_4K,		/* anonymous memory in 4 KiB pages */
	MEM_THP,	/* anonymous memory in 2 MiB transparent huge pages */
	MEM_HUGETLB,	/* 2 MiB hugetlbfs pages */
};

/* A mapping made by mem_get(), for mem_put() */
struct mem {
	uint8_t *va;		/* 2 MiB aligned for THP and hugetlb */
	void *region;
	size_t region_len;
};

/* Physical frame behind @va from /proc/self/pagemap, 0 if not known */
static uint64_t va_to_pfn(const void *va)
{
	uint64_t entry = 0;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry),
		  (uintptr_t)va / CPU_PAGE * sizeof(entry)) != sizeof(entry))
		entry = 0;
	close(fd);
	/* Bit 63: present; bits 0-54: the frame, shown only to CAP_SYS_ADMIN */
	if (!(entry >> 63))
		return 0;
	return entry & ((1ULL << 55) - 1);
}

/* Do the 2 MiB at @va (2 MiB aligned) sit in one physical 2 MiB frame? */
static bool backed_by_2m_frame(const uint8_t *va)
{
	uint64_t first = va_to_pfn(va);
	size_t i;

	if (!first || first % PAGES_PER_2M)
		return false;
	for (i = 1; i != PAGES_PER_2M; i++)
		if (va_to_pfn(va + i * CPU_PAGE) != first + i)
			return false;
	return true;
}

/*
 * @len bytes of anonymous memory of @kind, written so that every page is
 * there; for the large kinds @len is a multiple of 2 MiB and the memory is
 * 2 MiB aligned, each 2 MiB in one frame. Returns false if the system
 * cannot provide it.
 */
static bool mem_get(struct mem *mem, enum mem_kind kind, size_t len)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	size_t i;

	mem->region_len = len;
	if (kind == MEM_THP)
		mem->region_len += SZ_2M;
	if (kind == MEM_HUGETLB)
		flags |= MAP_HUGETLB;
	mem->region = mmap(NULL, mem->region_len, PROT_READ | PROT_WRITE,
			   flags, -1, 0);
	if (mem->region == MAP_FAILED) {
		mem->region = NULL;
		return false;
	}
	mem->va = mem->region;
	if (kind == MEM_THP) {
		mem->va = (uint8_t *)(((uintptr_t)mem->region + SZ_2M - 1) &
				      ~(SZ_2M - 1));
		madvise(mem->va, len, MADV_HUGEPAGE);
	} else if (kind == MEM_4K) {
		/* THP is "always" in the test kernel: keep these pages small */
		madvise(mem->region, len, MADV_NOHUGEPAGE);
	}
	memset(mem->va, 0xa5, len);
	if (kind != MEM_4K) {
		for (i = 0; i != len; i += SZ_2M)
			if (!backed_by_2m_frame(mem->va + i))
				return false;
	}
	return true;
}

static void mem_put(struct mem *mem)
{
	if (mem->region)
		munmap(mem->region, mem->region_len);
	mem->region = NULL;
}

/* ---- hugetlbfs pool ---- */

/*
 * Grows the huge page pool by @count pages. Returns the size to restore
 * afterwards, or -1 if the pool could not be grown.
 */
static long hugepages_reserve(long count)
{
	long old = nr_hugepages_read();

	if (old < 0 || nr_hugepages_write(old + count))
		return -1;
	if (nr_hugepages_read() < old + count) {
		nr_hugepages_write(old);
		return -1;
	}
	return old;
}

/*
 * mock: one IOAS with one, two or three mock domains and a 64 KiB buffer of
 * 4 KiB pages, charging either RLIMIT_MODE's counter. The third domain maps
 * only IO pages, so that the domains of one IOAS do not all look alike.
 */
#define MAX_DOMAINS 3
#define BUF_PAGES 16
#define BUF_SIZE (BUF_PAGES * CPU_PAGE)

static const uint32_t nth_domain_flags[MAX_DOMAINS] = {
	0, 0, MOCK_DOMAIN_NO_HUGE_PAGES,
};

FIXTURE(mock)
{
	int fd;
	bool mm_mode;
	uint32_t ioas;
	unsigned int ndomains;
	uint32_t domains[MAX_DOMAINS];
	struct mem buf;
	struct charge charge0;
};

FIXTURE_VARIANT(mock)
{
	unsigned int ndomains;
	bool mm_mode;
};

FIXTURE_VARIANT_ADD(mock, one_domain_locked_vm)
{
	.ndomains = 1,
	.mm_mode = false,
};

FIXTURE_VARIANT_ADD(mock, two_domains_locked_vm)
{
	.ndomains = 2,
	.mm_mode = false,
};

FIXTURE_VARIANT_ADD(mock, three_domains_locked_vm)
{
	.ndomains = 3,
	.mm_mode = false,
};

FIXTURE_VARIANT_ADD(mock, one_domain_pinned_vm)
{
	.ndomains = 1,
	.mm_mode = true,
};

FIXTURE_VARIANT_ADD(mock, two_domains_pinned_vm)
{
	.ndomains = 2,
	.mm_mode = true,
};

FIXTURE_VARIANT_ADD(mock, three_domains_pinned_vm)
{
	.ndomains = 3,
	.mm_mode = true,
};

FIXTURE_SETUP(mock)
{
	unsigned int i;

	SKIP_IF_UPSTREAM_MOCK(return);

	self->mm_mode = variant->mm_mode;
	self->fd = iommufd_open_in_mode(variant->mm_mode);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	self->ndomains = variant->ndomains;
	for (i = 0; i != self->ndomains; i++)
		ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas,
					     nth_domain_flags[i],
					     &self->domains[i]));
	ASSERT_TRUE(mem_get(&self->buf, MEM_4K, BUF_SIZE));
	ASSERT_EQ(0, charge_read(self->fd, &self->charge0));
}

FIXTURE_TEARDOWN(mock)
{
	if (self->fd >= 0)
		close(self->fd);
	mem_put(&self->buf);
}

/* Each of @n domains maps [iova, iova + length) to @va with @prot */
static void expect_mapped(struct __test_metadata *_metadata, int fd,
			  const uint32_t *domains, unsigned int n,
			  uint64_t iova, uint64_t length, const void *va,
			  uint32_t prot)
{
	unsigned int i;

	for (i = 0; i != n; i++)
		EXPECT_EQ(0, mock_check_map(fd, domains[i], iova, length, va,
					    prot, NULL)) {
			TH_LOG("domain %u, iova 0x%llx: errno %d", i,
			       (unsigned long long)iova, errno);
		}
}

/* None of @n domains maps any byte of [iova, iova + length) */
static void expect_unmapped(struct __test_metadata *_metadata, int fd,
			    const uint32_t *domains, unsigned int n,
			    uint64_t iova, uint64_t length)
{
	unsigned int i;

	for (i = 0; i != n; i++)
		EXPECT_EQ(0, mock_check_unmapped(fd, domains[i], iova,
						 length)) {
			TH_LOG("domain %u, iova 0x%llx: errno %d", i,
			       (unsigned long long)iova, errno);
		}
}

#define EXPECT_MAPPED(iova, length, va, prot)                                  \
	expect_mapped(_metadata, self->fd, self->domains, self->ndomains,      \
		      iova, length, va, prot)
#define EXPECT_UNMAPPED(iova, length)                                          \
	expect_unmapped(_metadata, self->fd, self->domains, self->ndomains,    \
			iova, length)

/* A mapping's permissions as IOAS_MAP flags and as the mock domain shows them */
static const struct {
	uint32_t map_flags;
	uint32_t prot;
} perms[] = {
	{ MAP_R, MOCK_PROT_READ },
	{ MAP_W, MOCK_PROT_WRITE },
	{ MAP_RW, PROT_RW },
};

#define NR_PERMS ARRAY_SIZE(perms)

TEST_F(mock, map_reaches_every_domain_with_its_permissions)
{
	const uint64_t len = 4 * CPU_PAGE, stride = 0x10000;
	unsigned int i, j, d;

	for (i = 0; i != NR_PERMS; i++)
		ASSERT_EQ(0, ioas_map_fixed_prot(self->fd, self->ioas,
						 perms[i].map_flags,
						 self->buf.va + i * len, len,
						 SZ_1M + i * stride));
	for (i = 0; i != NR_PERMS; i++) {
		uint64_t iova = SZ_1M + i * stride;
		uint8_t *va = self->buf.va + i * len;

		EXPECT_MAPPED(iova, len, va, perms[i].prot);
		/* Exactly these permissions: any other set is a mismatch */
		for (j = 0; j != NR_PERMS; j++) {
			if (j == i)
				continue;
			for (d = 0; d != self->ndomains; d++)
				EXPECT_ERRNO(EINVAL,
					     mock_check_map(self->fd,
							    self->domains[d],
							    iova, len, va,
							    perms[j].prot,
							    NULL));
		}
		/* Exactly this range */
		EXPECT_UNMAPPED(iova + len, stride - len);
	}
	EXPECT_UNMAPPED(0, SZ_1M);
	EXPECT_UNMAPPED(SZ_1M + NR_PERMS * stride, MOCK_APERTURE_LAST);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, NR_PERMS * len, 1));
	EXPECT_CHARGED(NR_PERMS * len / CPU_PAGE);
}

/* Raw MD_CHECK_MAP: @prot is compared as given, without the cache bit */
static int check_map_raw(int fd, uint32_t id, uint64_t iova, uint64_t length,
			 const void *va, uint32_t prot)
{
	struct iommu_test_cmd cmd = {
		.check_map = {
			.iova = iova,
			.length = length,
			.uptr = (uintptr_t)va,
			.prot = prot,
		},
	};

	return test_cmd(fd, IOMMU_TEST_OP_MD_CHECK_MAP, id, &cmd);
}

/* Drivers map non-coherently unless asked for IOMMU_CACHE (SMMUv3 does) */
TEST_F(mock, map_and_copy_are_cacheable_in_every_domain)
{
	const uint64_t len = 4 * CPU_PAGE;
	uint64_t dst = SZ_2M;
	unsigned int d;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va, len,
				    SZ_1M));
	ASSERT_EQ(0, ioas_copy(self->fd, MAP_R | IOMMU_IOAS_MAP_FIXED_IOVA,
			       self->ioas, &dst, self->ioas, SZ_1M, len));
	for (d = 0; d != self->ndomains; d++) {
		EXPECT_EQ(0, check_map_raw(self->fd, self->domains[d], SZ_1M,
					   len, self->buf.va,
					   PROT_RW | MOCK_PROT_CACHE));
		EXPECT_ERRNO(EINVAL, check_map_raw(self->fd, self->domains[d],
						   SZ_1M, len, self->buf.va,
						   PROT_RW));
		EXPECT_EQ(0, check_map_raw(self->fd, self->domains[d], dst,
					   len, self->buf.va,
					   MOCK_PROT_READ | MOCK_PROT_CACHE));
	}
}

TEST_F(mock, map_to_another_address_of_the_same_page_is_a_mismatch)
{
	unsigned int d;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
				    CPU_PAGE, SZ_1M));
	for (d = 0; d != self->ndomains; d++) {
		EXPECT_ERRNO(EINVAL, mock_check_map(self->fd, self->domains[d],
						    SZ_1M, CPU_PAGE,
						    self->buf.va + CPU_PAGE,
						    PROT_RW, NULL));
		/* The IO page after the mapping is not there at all */
		EXPECT_ERRNO(ENOENT, mock_check_map(self->fd, self->domains[d],
						    SZ_1M, 2 * CPU_PAGE,
						    self->buf.va, PROT_RW,
						    NULL));
	}
}

TEST_F(mock, map_at_a_kernel_chosen_iova_reaches_every_domain)
{
	uint64_t iova = 0;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, MAP_RW, self->buf.va,
			      BUF_SIZE, &iova));
	EXPECT_EQ(0, iova % CPU_PAGE);
	EXPECT_MAPPED(iova, BUF_SIZE, self->buf.va, PROT_RW);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 1));
	EXPECT_CHARGED(BUF_PAGES);
}

TEST_F(mock, unmap_removes_the_mapping_from_every_domain)
{
	const uint64_t half = BUF_SIZE / 2;
	uint8_t *second = self->buf.va + half;
	uint64_t unmapped;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va, half,
				    SZ_1M));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, second, half,
				    SZ_1M + half));
	EXPECT_CHARGED(BUF_PAGES);

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, SZ_1M, half, &unmapped));
	EXPECT_EQ(half, unmapped);
	EXPECT_UNMAPPED(SZ_1M, half);
	EXPECT_MAPPED(SZ_1M + half, half, second, PROT_RW);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, half, 0));
	EXPECT_EQ(0, check_pins(self->fd, second, half, 1));
	EXPECT_CHARGED(BUF_PAGES / 2);

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, SZ_1M + half, half,
				&unmapped));
	EXPECT_EQ(half, unmapped);
	EXPECT_UNMAPPED(0, MOCK_APERTURE_LAST);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 0));
	EXPECT_CHARGED(0);
}

TEST_F(mock, unmap_of_everything_empties_every_domain)
{
	uint64_t unmapped, iova = 0;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
				    CPU_PAGE, 0));
	ASSERT_EQ(0, ioas_map_fixed_prot(self->fd, self->ioas, MAP_R,
					 self->buf.va, BUF_SIZE, 0x40000000));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, MAP_W,
			      self->buf.va + CPU_PAGE, 3 * CPU_PAGE, &iova));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, CPU_PAGE, 2));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va + CPU_PAGE,
				3 * CPU_PAGE, 2));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va + 4 * CPU_PAGE,
				BUF_SIZE - 4 * CPU_PAGE, 1));
	EXPECT_CHARGED(1 + BUF_PAGES + 3);

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(CPU_PAGE + BUF_SIZE + 3 * CPU_PAGE, unmapped);
	EXPECT_UNMAPPED(0, MOCK_APERTURE_LAST + 1);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 0));
	EXPECT_CHARGED(0);
}

TEST_F(mock, unmap_that_would_cut_a_mapping_changes_no_domain)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
				    BUF_SIZE, SZ_1M));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas, SZ_1M,
					BUF_SIZE / 2, NULL));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas,
					SZ_1M + CPU_PAGE, BUF_SIZE, NULL));
	EXPECT_MAPPED(SZ_1M, BUF_SIZE, self->buf.va, PROT_RW);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 1));
	EXPECT_CHARGED(BUF_PAGES);
}

TEST_F(mock, domain_added_to_a_populated_ioas_is_filled)
{
	const uint64_t len = 4 * CPU_PAGE;
	uint32_t late[2];
	uint64_t iova = 0;

	ASSERT_EQ(0, ioas_map_fixed_prot(self->fd, self->ioas, MAP_R,
					 self->buf.va, len, SZ_1M));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, MAP_RW,
			      self->buf.va + len, len, &iova));
	ASSERT_EQ(0, ioas_map_fixed_prot(self->fd, self->ioas, MAP_W,
					 self->buf.va + 2 * len, len,
					 0x80000000));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &late[0]));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas,
				     MOCK_DOMAIN_NO_HUGE_PAGES, &late[1]));

	expect_mapped(_metadata, self->fd, late, 2, SZ_1M, len, self->buf.va,
		      MOCK_PROT_READ);
	expect_mapped(_metadata, self->fd, late, 2, iova, len,
		      self->buf.va + len, PROT_RW);
	expect_mapped(_metadata, self->fd, late, 2, 0x80000000, len,
		      self->buf.va + 2 * len, MOCK_PROT_WRITE);
	/* Filling a domain maps pinned pages: nothing is pinned again */
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, 3 * len, 1));
	EXPECT_CHARGED(3 * len / CPU_PAGE);

	/* And from now on the late domains follow the IOAS like the others */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, SZ_1M, len, NULL));
	expect_unmapped(_metadata, self->fd, late, 2, SZ_1M, len);
	EXPECT_UNMAPPED(SZ_1M, len);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas,
				    self->buf.va + 3 * len, len, SZ_1M));
	expect_mapped(_metadata, self->fd, late, 2, SZ_1M, len,
		      self->buf.va + 3 * len, PROT_RW);
	EXPECT_MAPPED(SZ_1M, len, self->buf.va + 3 * len, PROT_RW);
	EXPECT_CHARGED(3 * len / CPU_PAGE);
}

TEST_F(mock, destroying_a_domain_leaves_the_others_and_the_mappings)
{
	uint32_t *rest = self->domains + 1;
	unsigned int nrest = self->ndomains - 1;
	uint64_t unmapped;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
				    BUF_SIZE, SZ_1M));
	ASSERT_EQ(0, object_destroy(self->fd, self->domains[0]));
	EXPECT_ERRNO(ENOENT, mock_check_map(self->fd, self->domains[0], SZ_1M,
					    BUF_SIZE, self->buf.va, 0, NULL));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, self->domains[0]));
	expect_mapped(_metadata, self->fd, rest, nrest, SZ_1M, BUF_SIZE,
		      self->buf.va, PROT_RW);
	/* The last domain gone, nothing needs the memory pinned */
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE,
				nrest ? 1 : 0));
	EXPECT_CHARGED(nrest ? BUF_PAGES : 0);

	/* The IOAS goes on feeding the remaining domains */
	ASSERT_EQ(0, ioas_map_fixed_prot(self->fd, self->ioas, MAP_R,
					 self->buf.va, CPU_PAGE, 0x40000000));
	expect_mapped(_metadata, self->fd, rest, nrest, 0x40000000, CPU_PAGE,
		      self->buf.va, MOCK_PROT_READ);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(BUF_SIZE + CPU_PAGE, unmapped);
	expect_unmapped(_metadata, self->fd, rest, nrest, 0,
			MOCK_APERTURE_LAST + 1);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 0));
	EXPECT_CHARGED(0);
}

TEST_F(mock, destroying_the_ioas_is_ebusy_until_its_domains_are_gone)
{
	unsigned int i;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
				    BUF_SIZE, SZ_1M));
	for (i = 0; i != self->ndomains; i++) {
		EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->ioas));
		/* The refused destroy took nothing away */
		expect_mapped(_metadata, self->fd, self->domains + i,
			      self->ndomains - i, SZ_1M, BUF_SIZE,
			      self->buf.va, PROT_RW);
		ASSERT_EQ(0, object_destroy(self->fd, self->domains[i]));
	}
	/* With no domain left the mapping stays, unpinned */
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 0));
	EXPECT_CHARGED(0);
	ASSERT_EQ(0, object_destroy(self->fd, self->ioas));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, self->ioas));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 0));
	EXPECT_CHARGED(0);
}

TEST_F(mock, map_pins_each_page_once_whatever_the_number_of_domains)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
				    BUF_SIZE, SZ_1M));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 1));
	/* The count is exact, not a lower bound */
	EXPECT_ERRNO(EINVAL, check_pins(self->fd, self->buf.va, BUF_SIZE, 2));
	EXPECT_ERRNO(EINVAL, check_pins(self->fd, self->buf.va, BUF_SIZE, 0));
	EXPECT_CHARGED(BUF_PAGES);

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, SZ_1M, BUF_SIZE, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 0));
	EXPECT_CHARGED(0);
}

TEST_F(mock, copy_within_the_ioas_reaches_every_domain_and_shares_pins)
{
	uint64_t auto_iova = 0;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
				    BUF_SIZE, SZ_1M));
	ASSERT_EQ(0, ioas_copy_fixed_prot(self->fd, MAP_R, self->ioas,
					  0x40000000, self->ioas, SZ_1M,
					  BUF_SIZE));
	ASSERT_EQ(0, ioas_copy(self->fd, MAP_RW, self->ioas, &auto_iova,
			       self->ioas, SZ_1M + CPU_PAGE, CPU_PAGE));
	EXPECT_MAPPED(0x40000000, BUF_SIZE, self->buf.va, MOCK_PROT_READ);
	EXPECT_MAPPED(auto_iova, CPU_PAGE, self->buf.va + CPU_PAGE, PROT_RW);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 1));
	EXPECT_CHARGED(BUF_PAGES);

	/* The copies keep the pages after the original goes */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, SZ_1M, BUF_SIZE, NULL));
	EXPECT_UNMAPPED(SZ_1M, BUF_SIZE);
	EXPECT_MAPPED(0x40000000, BUF_SIZE, self->buf.va, MOCK_PROT_READ);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 1));
	EXPECT_CHARGED(BUF_PAGES);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0x40000000, BUF_SIZE,
				NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, CPU_PAGE, 0));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va + CPU_PAGE, CPU_PAGE,
				1));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va + 2 * CPU_PAGE,
				BUF_SIZE - 2 * CPU_PAGE, 0));
	EXPECT_CHARGED(1);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, auto_iova, CPU_PAGE,
				NULL));
	EXPECT_UNMAPPED(0, MOCK_APERTURE_LAST + 1);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 0));
	EXPECT_CHARGED(0);
}

TEST_F(mock, close_with_mappings_and_domains_releases_every_pin)
{
	uint64_t iova = 0;
	int fd2;

	fd2 = iommufd_open_in_mode(false);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
				    BUF_SIZE, SZ_1M));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, MAP_R, self->buf.va,
			      2 * CPU_PAGE, &iova));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, self->ioas, 0x40000000,
				     self->ioas, SZ_1M, BUF_SIZE));
	EXPECT_EQ(0, check_pins(fd2, self->buf.va, 2 * CPU_PAGE, 2));
	EXPECT_CHARGED(BUF_PAGES + 2);

	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(0, check_pins(fd2, self->buf.va, BUF_SIZE, 0));
	expect_charge(_metadata, fd2, &self->charge0, self->mm_mode, 0);
	close(fd2);
}

TEST_F(mock, map_of_a_user_range_with_a_hole_is_efault_and_maps_nothing)
{
	uint8_t *hole = self->buf.va + 4 * CPU_PAGE;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
				    CPU_PAGE, 0));
	ASSERT_EQ(0, munmap(hole, CPU_PAGE));
	EXPECT_ERRNO(EFAULT, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
					    8 * CPU_PAGE, SZ_1M));
	/* A hole at the start fails the same way */
	EXPECT_ERRNO(EFAULT, ioas_map_fixed(self->fd, self->ioas, hole,
					    2 * CPU_PAGE, SZ_2M));
	EXPECT_UNMAPPED(SZ_1M, 8 * CPU_PAGE);
	EXPECT_UNMAPPED(SZ_2M, 2 * CPU_PAGE);
	EXPECT_MAPPED(0, CPU_PAGE, self->buf.va, PROT_RW);
	/* What was pinned before the hole went back */
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, CPU_PAGE, 1));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va + CPU_PAGE,
				3 * CPU_PAGE, 0));
	EXPECT_EQ(0, check_pins(self->fd, hole + CPU_PAGE, 3 * CPU_PAGE, 0));
	EXPECT_CHARGED(1);
}

/*
 * The kernel may spend memory only on what it really pinned: 512 GiB asked
 * for over one backed page fails at the first hole without sizing anything
 * by the length (a worst-case array for it would be 2 GiB).
 */
TEST_F(mock, map_of_a_huge_length_over_one_page_fails_at_the_hole)
{
	const uint64_t huge = 512ULL << 30, iova = 1ULL << 30;
	void *hint = (void *)(1ULL << 40);
	uint8_t *page;

	page = mmap(hint, CPU_PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (page == MAP_FAILED)
		SKIP(return, "no room for the buffer at %p", hint);
	memset(page, 0x5a, CPU_PAGE);

	EXPECT_ERRNO(EFAULT, ioas_map_fixed(self->fd, self->ioas, page, huge,
					    iova));
	EXPECT_UNMAPPED(iova, CPU_PAGE);
	EXPECT_EQ(0, check_pins(self->fd, page, CPU_PAGE, 0));
	EXPECT_CHARGED(0);
	munmap(page, CPU_PAGE);
}

TEST_F(mock, map_over_a_mapping_is_eexist_and_changes_nothing)
{
	const uint64_t half = BUF_SIZE / 2;
	uint8_t *second = self->buf.va + half;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va, half,
				    SZ_1M));
	EXPECT_ERRNO(EEXIST, ioas_map_fixed(self->fd, self->ioas, second, half,
					    SZ_1M + half - CPU_PAGE));
	EXPECT_ERRNO(EEXIST, ioas_map_fixed(self->fd, self->ioas, second, half,
					    SZ_1M - half + CPU_PAGE));
	EXPECT_ERRNO(EEXIST, ioas_map_fixed(self->fd, self->ioas, second,
					    CPU_PAGE, SZ_1M + CPU_PAGE));
	EXPECT_MAPPED(SZ_1M, half, self->buf.va, PROT_RW);
	EXPECT_UNMAPPED(SZ_1M + half, half);
	EXPECT_UNMAPPED(SZ_1M - half, half);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, half, 1));
	EXPECT_EQ(0, check_pins(self->fd, second, half, 0));
	EXPECT_CHARGED(BUF_PAGES / 2);
}

TEST_F(mock, map_and_unmap_at_half_page_granularity)
{
	uint8_t *va = self->buf.va + IO_PAGE;
	const uint64_t iova = SZ_2M + IO_PAGE, len = 3 * IO_PAGE;
	struct iommu_iova_range range;
	uint64_t align, unmapped;
	uint32_t nr = 1;

	ASSERT_EQ(0, ioas_iova_ranges(self->fd, self->ioas, &range, &nr,
				      &align));
	EXPECT_EQ(IO_PAGE, align);

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, va, len, iova));
	EXPECT_MAPPED(iova, len, va, PROT_RW);
	EXPECT_UNMAPPED(SZ_2M, IO_PAGE);
	EXPECT_UNMAPPED(iova + len, IO_PAGE);
	/* The CPU pages the half pages lie in are pinned, and only they */
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, 2 * CPU_PAGE, 1));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va + 2 * CPU_PAGE,
				CPU_PAGE, 0));
	EXPECT_CHARGED(2);

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, iova, len, &unmapped));
	EXPECT_EQ(len, unmapped);
	EXPECT_UNMAPPED(SZ_2M, 2 * CPU_PAGE);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, 2 * CPU_PAGE, 0));
	EXPECT_CHARGED(0);
}

TEST_F(mock, map_finer_than_half_a_page_is_einval)
{
	const uint64_t quarter = IO_PAGE / 2;

	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas,
					    self->buf.va + quarter, IO_PAGE,
					    SZ_2M + quarter));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
					    IO_PAGE + quarter, SZ_2M));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
					    1, SZ_2M));
	EXPECT_UNMAPPED(SZ_2M, CPU_PAGE);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, CPU_PAGE, 0));
	EXPECT_CHARGED(0);
}

TEST_F(mock, two_halves_of_one_page_mapped_apart_pin_it_twice)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va, IO_PAGE,
				    SZ_2M));
	ASSERT_EQ(0, ioas_map_fixed_prot(self->fd, self->ioas, MAP_R,
					 self->buf.va + IO_PAGE, IO_PAGE,
					 SZ_2M + IO_PAGE));
	EXPECT_MAPPED(SZ_2M, IO_PAGE, self->buf.va, PROT_RW);
	EXPECT_MAPPED(SZ_2M + IO_PAGE, IO_PAGE, self->buf.va + IO_PAGE,
		      MOCK_PROT_READ);
	EXPECT_MAPPED(SZ_2M, CPU_PAGE, self->buf.va, 0);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, CPU_PAGE, 2));
	EXPECT_CHARGED(2);

	/* Each half is a mapping of its own */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas, SZ_2M,
					IO_PAGE / 2, NULL));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, SZ_2M, IO_PAGE, NULL));
	EXPECT_UNMAPPED(SZ_2M, IO_PAGE);
	EXPECT_MAPPED(SZ_2M + IO_PAGE, IO_PAGE, self->buf.va + IO_PAGE,
		      MOCK_PROT_READ);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, CPU_PAGE, 1));
	EXPECT_CHARGED(1);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, SZ_2M + IO_PAGE,
				IO_PAGE, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, CPU_PAGE, 0));
	EXPECT_CHARGED(0);
}

TEST_F(mock, mock_domain_needs_a_known_flag_and_an_ioas)
{
	uint32_t mock;

	EXPECT_ERRNO(EOPNOTSUPP, mock_domain_add(self->fd, self->ioas, 1 << 2,
						 &mock));
	EXPECT_ERRNO(ENOENT, mock_domain_add(self->fd, self->ioas + 1000, 0,
					     &mock));
	EXPECT_ERRNO(ENOENT, mock_domain_add(self->fd, self->domains[0], 0,
					     &mock));
	/* The checks only take mock domains, and whole IO pages */
	EXPECT_ERRNO(ENOENT, mock_check_map(self->fd, self->ioas, 0, IO_PAGE,
					    self->buf.va, 0, NULL));
	EXPECT_ERRNO(ENOENT, mock_check_unmapped(self->fd, self->ioas, 0,
						 IO_PAGE));
	EXPECT_ERRNO(EINVAL, mock_check_map(self->fd, self->domains[0],
					    IO_PAGE / 2, IO_PAGE, self->buf.va,
					    0, NULL));
	EXPECT_ERRNO(EINVAL, mock_check_map(self->fd, self->domains[0], 0,
					    IO_PAGE + 1, self->buf.va, 0,
					    NULL));
}

/*
 * ranges: the usable IOVA ranges and the alignment of an IOAS as mock
 * domains with different apertures come and go, and how they meet the
 * allowed list, test reservations and existing mappings.
 */
#define SMALL_START MOCK_SMALL_APERTURE_START
#define SMALL_LAST MOCK_SMALL_APERTURE_LAST
#define SZ_4G (SMALL_LAST + 1)

FIXTURE(ranges)
{
	int fd;
	bool mm_mode;
	uint32_t ioas;
	struct mem buf;
	struct charge charge0;
};

FIXTURE_SETUP(ranges)
{
	SKIP_IF_UPSTREAM_MOCK(return);

	self->mm_mode = false;
	self->fd = iommufd_open_in_mode(self->mm_mode);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_TRUE(mem_get(&self->buf, MEM_4K, BUF_SIZE));
	ASSERT_EQ(0, charge_read(self->fd, &self->charge0));
}

FIXTURE_TEARDOWN(ranges)
{
	close(self->fd);
	mem_put(&self->buf);
}

static void expect_ranges(struct __test_metadata *_metadata, int fd,
			  uint32_t ioas, uint64_t want_align,
			  const struct iommu_iova_range *want, uint32_t nwant)
{
	struct iommu_iova_range got[8];
	uint32_t i, nr = 8;
	uint64_t align;

	ASSERT_EQ(0, ioas_iova_ranges(fd, ioas, got, &nr, &align));
	EXPECT_EQ(want_align, align);
	ASSERT_EQ(nwant, nr);
	for (i = 0; i != nr; i++) {
		EXPECT_EQ(want[i].start, got[i].start);
		EXPECT_EQ(want[i].last, got[i].last);
	}
}

/* EXPECT_RANGES(alignment, { start, last }, ...) for the fixture's IOAS */
#define EXPECT_RANGES(align, ...)                                              \
	do {                                                                   \
		const struct iommu_iova_range want_[] = { __VA_ARGS__ };       \
		expect_ranges(_metadata, self->fd, self->ioas, align, want_,   \
			      ARRAY_SIZE(want_));                              \
	} while (0)

TEST_F(ranges, small_aperture_domain_narrows_the_ranges_until_destroyed)
{
	uint32_t mock;

	EXPECT_RANGES(1, { 0, IOVA_MAX });
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas,
				     MOCK_DOMAIN_SMALL_APERTURE, &mock));
	EXPECT_RANGES(IO_PAGE, { SMALL_START, SMALL_LAST });
	ASSERT_EQ(0, object_destroy(self->fd, mock));
	EXPECT_RANGES(1, { 0, IOVA_MAX });
}

TEST_F(ranges, ranges_are_the_intersection_of_every_domains_aperture)
{
	uint32_t wide, narrow;

	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &wide));
	EXPECT_RANGES(IO_PAGE, { 0, MOCK_APERTURE_LAST });
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas,
				     MOCK_DOMAIN_SMALL_APERTURE |
				     MOCK_DOMAIN_NO_HUGE_PAGES,
				     &narrow));
	EXPECT_RANGES(IO_PAGE, { SMALL_START, SMALL_LAST });
	ASSERT_EQ(0, object_destroy(self->fd, narrow));
	EXPECT_RANGES(IO_PAGE, { 0, MOCK_APERTURE_LAST });
	ASSERT_EQ(0, object_destroy(self->fd, wide));
	EXPECT_RANGES(1, { 0, IOVA_MAX });
}

TEST_F(ranges, huge_pages_off_raises_the_alignment_to_a_cpu_page)
{
	uint32_t mock;

	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, self->ioas,
				0));
	EXPECT_RANGES(CPU_PAGE, { 0, MOCK_APERTURE_LAST });
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas,
					    self->buf.va + IO_PAGE, IO_PAGE,
					    SZ_1M + IO_PAGE));
	ASSERT_EQ(0, option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, self->ioas,
				1));
	EXPECT_RANGES(IO_PAGE, { 0, MOCK_APERTURE_LAST });
	ASSERT_EQ(0, object_destroy(self->fd, mock));
	EXPECT_RANGES(1, { 0, IOVA_MAX });
}

TEST_F(ranges, map_outside_a_domains_aperture_is_einval)
{
	uint64_t iova = 0;
	uint32_t mock;

	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas,
				     MOCK_DOMAIN_SMALL_APERTURE, &mock));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
					    CPU_PAGE, 0));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
					    2 * CPU_PAGE,
					    SMALL_START - CPU_PAGE));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
					    2 * CPU_PAGE, SZ_4G - CPU_PAGE));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
					    CPU_PAGE, SZ_4G));
	EXPECT_CHARGED(0);

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, MAP_RW, self->buf.va,
			      BUF_SIZE, &iova));
	EXPECT_EQ(SMALL_START, iova);
	EXPECT_EQ(0, mock_check_map(self->fd, mock, iova, BUF_SIZE,
				    self->buf.va, PROT_RW, NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
				    CPU_PAGE, SZ_4G - CPU_PAGE));
	EXPECT_EQ(0, mock_check_map(self->fd, mock, SZ_4G - CPU_PAGE,
				    CPU_PAGE, self->buf.va, PROT_RW, NULL));
}

TEST_F(ranges, small_aperture_domain_is_refused_while_a_mapping_lies_outside)
{
	const uint64_t inside = SZ_2M;
	uint32_t wide, narrow;
	unsigned int i;
	/* One mapping below the aperture, one above it */
	const uint64_t outside[] = { CPU_PAGE, SZ_4G + SZ_2M };

	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &wide));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
				    CPU_PAGE, inside));
	for (i = 0; i != 2; i++) {
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas,
					    self->buf.va + CPU_PAGE, CPU_PAGE,
					    outside[i]));
		EXPECT_ERRNO(EADDRINUSE,
			     mock_domain_add(self->fd, self->ioas,
					     MOCK_DOMAIN_SMALL_APERTURE,
					     &narrow));
		/* Nothing changed: ranges, alignment, domain, pins */
		EXPECT_RANGES(IO_PAGE, { 0, MOCK_APERTURE_LAST });
		EXPECT_EQ(0, mock_check_map(self->fd, wide, inside, CPU_PAGE,
					    self->buf.va, PROT_RW, NULL));
		EXPECT_EQ(0, mock_check_map(self->fd, wide, outside[i],
					    CPU_PAGE, self->buf.va + CPU_PAGE,
					    PROT_RW, NULL));
		EXPECT_EQ(0, check_pins(self->fd, self->buf.va, 2 * CPU_PAGE,
					1));
		EXPECT_CHARGED(2);
		ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, outside[i],
					CPU_PAGE, NULL));
	}

	/* With the offending mappings gone the same domain fits */
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas,
				     MOCK_DOMAIN_SMALL_APERTURE, &narrow));
	EXPECT_RANGES(IO_PAGE, { SMALL_START, SMALL_LAST });
	EXPECT_EQ(0, mock_check_map(self->fd, narrow, inside, CPU_PAGE,
				    self->buf.va, PROT_RW, NULL));
	EXPECT_CHARGED(1);
}

TEST_F(ranges, domain_is_refused_while_a_mapping_is_finer_than_its_io_page)
{
	uint32_t mock;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va + 0x10,
				    0x100, SZ_1M + 0x10));
	EXPECT_ERRNO(EADDRINUSE, mock_domain_add(self->fd, self->ioas, 0,
						 &mock));
	EXPECT_RANGES(1, { 0, IOVA_MAX });
	/* Without a domain nothing is pinned, also not by the refused one */
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, CPU_PAGE, 0));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, SZ_1M + 0x10, 0x100,
				NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas,
				    self->buf.va + IO_PAGE, IO_PAGE,
				    SZ_1M + IO_PAGE));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	EXPECT_EQ(0, mock_check_map(self->fd, mock, SZ_1M + IO_PAGE, IO_PAGE,
				    self->buf.va + IO_PAGE, PROT_RW, NULL));
}

TEST_F(ranges, allowed_range_outside_the_aperture_refuses_the_domain)
{
	const struct iommu_iova_range below[] = { { 0, SZ_2M - 1 } };
	const struct iommu_iova_range above[] = {
		{ SZ_2M, 2 * SZ_2M - 1 },
		{ SZ_4G, SZ_4G + SZ_2M - 1 },
	};
	uint32_t mock;

	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, below, 1));
	EXPECT_ERRNO(EADDRINUSE, mock_domain_add(self->fd, self->ioas,
						 MOCK_DOMAIN_SMALL_APERTURE,
						 &mock));
	/* IOVA_RANGES shows what is not reserved, not the allowed list */
	EXPECT_RANGES(1, { 0, IOVA_MAX });

	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, above, 2));
	EXPECT_ERRNO(EADDRINUSE, mock_domain_add(self->fd, self->ioas,
						 MOCK_DOMAIN_SMALL_APERTURE,
						 &mock));
	EXPECT_RANGES(1, { 0, IOVA_MAX });

	/* Inside the aperture the allowed list keeps its promise */
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, above, 1));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas,
				     MOCK_DOMAIN_SMALL_APERTURE, &mock));
	EXPECT_RANGES(IO_PAGE, { SMALL_START, SMALL_LAST });
	ASSERT_EQ(0, object_destroy(self->fd, mock));
	EXPECT_RANGES(1, { 0, IOVA_MAX });
}

TEST_F(ranges, allowing_iovas_a_domain_cannot_translate_is_eaddrinuse)
{
	const struct iommu_iova_range bad[][1] = {
		{ { 0, CPU_PAGE - 1 } },
		{ { SMALL_START - 1, SZ_2M } },
		{ { SZ_2M, SZ_4G } },
		{ { SZ_4G + SZ_2M, SZ_4G + 2 * SZ_2M - 1 } },
	};
	const struct iommu_iova_range good[] = {
		{ 4 * SZ_2M, 5 * SZ_2M - 1 },
		{ SZ_2M, 2 * SZ_2M - 1 },
	};
	const struct iommu_iova_range whole[] = { { SMALL_START, SMALL_LAST } };
	uint32_t mock;
	unsigned int i;

	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas,
				     MOCK_DOMAIN_SMALL_APERTURE, &mock));
	for (i = 0; i != ARRAY_SIZE(bad); i++) {
		EXPECT_ERRNO(EADDRINUSE, ioas_allow_iovas(self->fd, self->ioas,
							  bad[i], 1));
		EXPECT_RANGES(IO_PAGE, { SMALL_START, SMALL_LAST });
	}
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, whole, 1));
	EXPECT_RANGES(IO_PAGE, { SMALL_START, SMALL_LAST });
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, good, 2));
	EXPECT_RANGES(IO_PAGE, { SMALL_START, SMALL_LAST });
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, NULL, 0));
	EXPECT_RANGES(IO_PAGE, { SMALL_START, SMALL_LAST });
}

TEST_F(ranges, reserved_range_is_cut_out_and_cannot_be_mapped)
{
	const uint64_t start = 0x8000, len = 0x10000;
	uint64_t iova = 0;
	uint32_t mock;

	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas, start, len));
	EXPECT_RANGES(IO_PAGE, { 0, start - 1 },
		      { start + len, MOCK_APERTURE_LAST });

	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
					    CPU_PAGE, start));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
					    2 * CPU_PAGE, start - CPU_PAGE));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas,
					    self->buf.va + IO_PAGE, IO_PAGE,
					    start + len - IO_PAGE));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
					    BUF_SIZE, 0));
	EXPECT_EQ(0, mock_check_unmapped(self->fd, mock, 0, 4 * len));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 0));
	EXPECT_CHARGED(0);

	/*
	 * A kernel-chosen IOVA goes around it: the hole below is too small.
	 * Where above it depends on the alignment of the buffer's address.
	 */
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, MAP_RW, self->buf.va,
			      BUF_SIZE, &iova));
	EXPECT_LE(start + len, iova);
	EXPECT_EQ(0, mock_check_map(self->fd, mock, iova, BUF_SIZE,
				    self->buf.va, PROT_RW, NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va, start,
				    0));

	/* The reservation belongs to the IOAS, not to the domain */
	ASSERT_EQ(0, object_destroy(self->fd, mock));
	EXPECT_RANGES(1, { 0, start - 1 }, { start + len, IOVA_MAX });
}

TEST_F(ranges, reserving_over_a_mapping_is_eaddrinuse)
{
	const uint64_t len = 4 * CPU_PAGE;
	uint32_t mock;

	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va, len,
				    SZ_1M));
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas,
					      SZ_1M + CPU_PAGE, 1));
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas,
					      SZ_1M - CPU_PAGE,
					      2 * CPU_PAGE));
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas,
					      SZ_1M + len - 1, CPU_PAGE));
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas, 0,
					      IOVA_MAX));
	EXPECT_RANGES(IO_PAGE, { 0, MOCK_APERTURE_LAST });
	EXPECT_EQ(0, mock_check_map(self->fd, mock, SZ_1M, len, self->buf.va,
				    PROT_RW, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, len, 1));

	/* Right next to the mapping is fine */
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas, SZ_1M + len,
				  CPU_PAGE));
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas, SZ_1M - CPU_PAGE,
				  CPU_PAGE));
	EXPECT_RANGES(IO_PAGE, { 0, SZ_1M - CPU_PAGE - 1 },
		      { SZ_1M, SZ_1M + len - 1 },
		      { SZ_1M + len + CPU_PAGE, MOCK_APERTURE_LAST });
}

TEST_F(ranges, reserving_over_an_allowed_range_is_eaddrinuse)
{
	const struct iommu_iova_range allowed[] = { { SZ_1M, SZ_2M - 1 } };

	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, allowed, 1));
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas,
					      SZ_1M + SZ_1M / 2, CPU_PAGE));
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas,
					      SZ_2M - 1, 2));
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas, 0,
					      SZ_1M + 1));
	EXPECT_RANGES(1, { 0, IOVA_MAX });
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas, SZ_2M, CPU_PAGE));
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas, 0, SZ_1M));
	EXPECT_RANGES(1, { SZ_1M, SZ_2M - 1 }, { SZ_2M + CPU_PAGE, IOVA_MAX });

	/* And once reserved, the range cannot be allowed */
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, NULL, 0));
	EXPECT_RANGES(1, { SZ_1M, SZ_2M - 1 }, { SZ_2M + CPU_PAGE, IOVA_MAX });
	EXPECT_ERRNO(EADDRINUSE, ioas_allow_iovas(self->fd, self->ioas,
						  (const struct iommu_iova_range[]){
							  { SZ_1M, SZ_2M } },
						  1));
}

TEST_F(ranges, reserving_checks_its_arguments)
{
	EXPECT_ERRNO(EINVAL, add_reserved(self->fd, self->ioas, SZ_1M, 0));
	EXPECT_ERRNO(EOVERFLOW, add_reserved(self->fd, self->ioas, IOVA_MAX,
					     2));
	EXPECT_ERRNO(ENOENT, add_reserved(self->fd, self->ioas + 1000, 0,
					  CPU_PAGE));
	EXPECT_RANGES(1, { 0, IOVA_MAX });
}

TEST_F(ranges, huge_pages_off_is_einval_while_a_domain_holds_mappings)
{
	struct map_shape shape;
	uint32_t mock;

	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf.va,
				    BUF_SIZE, SZ_1M));
	EXPECT_ERRNO(EINVAL, option_set(self->fd, IOMMU_OPTION_HUGE_PAGES,
					self->ioas, 0));
	EXPECT_RANGES(IO_PAGE, { 0, MOCK_APERTURE_LAST });
	EXPECT_EQ(0, mock_check_map(self->fd, mock, SZ_1M, BUF_SIZE,
				    self->buf.va, PROT_RW, &shape));

	/* Without the mappings, or without the domain, it may be turned off */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, SZ_1M, BUF_SIZE, NULL));
	ASSERT_EQ(0, option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, self->ioas,
				0));
	EXPECT_RANGES(CPU_PAGE, { 0, MOCK_APERTURE_LAST });
}

/*
 * large: 4 MiB of 4 KiB pages, of THP or of hugetlbfs pages, mapped into a
 * mock domain that may use 2 MiB IO pages, into one that may not, or
 * through an IOAS whose HUGE_PAGES option is 0. The expected IO page sizes
 * follow from the physical frames, read from /proc/self/pagemap: a 2 MiB
 * IO page needs 2 MiB of contiguous, aligned memory at an aligned IOVA,
 * and never more is mapped at once than is physically contiguous.
 */
#define LARGE_SIZE (2 * SZ_2M)
/* Seconds: reading pagemap and pinning page by page under KASAN and TCG */
#define SLOW_TEST_TIMEOUT 120
#define LARGE_PAGES (LARGE_SIZE / CPU_PAGE)
#define LARGE_IOVA (4 * SZ_2M)

/* How a domain of an IOAS may map physically contiguous memory */
enum io_page_rule {
	IO_PAGES_AND_2M,	/* a default mock domain */
	IO_PAGES_ONLY,		/* a MOCK_DOMAIN_NO_HUGE_PAGES domain */
	ONE_CPU_PAGE_PER_CALL,	/* any domain of an IOAS with HUGE_PAGES 0 */
};

static enum io_page_rule io_page_rule_of(bool huge_pages_off,
					 uint32_t domain_flags)
{
	if (huge_pages_off)
		return ONE_CPU_PAGE_PER_CALL;
	if (domain_flags & MOCK_DOMAIN_NO_HUGE_PAGES)
		return IO_PAGES_ONLY;
	return IO_PAGES_AND_2M;
}

FIXTURE(large)
{
	int fd;
	bool mm_mode;
	uint32_t ioas;
	uint32_t mock;
	enum io_page_rule rule;	/* how the variant's domains map */
	struct mem mem;
	long old_nr_hugepages;
	struct charge charge0;
};

FIXTURE_VARIANT(large)
{
	enum mem_kind kind;
	uint32_t domain_flags;
	bool huge_pages_off;
	bool mm_mode;
};

FIXTURE_VARIANT_ADD(large, small_pages_in_default_domain)
{
	.kind = MEM_4K,
};

FIXTURE_VARIANT_ADD(large, small_pages_in_no_huge_pages_domain)
{
	.kind = MEM_4K,
	.domain_flags = MOCK_DOMAIN_NO_HUGE_PAGES,
	.mm_mode = true,
};

FIXTURE_VARIANT_ADD(large, small_pages_with_huge_pages_option_off)
{
	.kind = MEM_4K,
	.huge_pages_off = true,
	.mm_mode = true,
};

FIXTURE_VARIANT_ADD(large, thp_in_default_domain)
{
	.kind = MEM_THP,
};

FIXTURE_VARIANT_ADD(large, thp_in_no_huge_pages_domain)
{
	.kind = MEM_THP,
	.domain_flags = MOCK_DOMAIN_NO_HUGE_PAGES,
	.mm_mode = true,
};

FIXTURE_VARIANT_ADD(large, thp_with_huge_pages_option_off)
{
	.kind = MEM_THP,
	.huge_pages_off = true,
	.mm_mode = true,
};

FIXTURE_VARIANT_ADD(large, hugetlb_in_default_domain)
{
	.kind = MEM_HUGETLB,
};

FIXTURE_VARIANT_ADD(large, hugetlb_in_no_huge_pages_domain)
{
	.kind = MEM_HUGETLB,
	.domain_flags = MOCK_DOMAIN_NO_HUGE_PAGES,
	.mm_mode = true,
};

FIXTURE_VARIANT_ADD(large, hugetlb_with_huge_pages_option_off)
{
	.kind = MEM_HUGETLB,
	.huge_pages_off = true,
	.mm_mode = true,
};

/* An IOAS set up as the variant says, with one mock domain */
static int large_ioas_new(int fd, bool huge_pages_off, uint32_t domain_flags,
			  uint32_t *ioas, uint32_t *mock)
{
	if (ioas_alloc(fd, ioas))
		return -1;
	if (huge_pages_off && option_set(fd, IOMMU_OPTION_HUGE_PAGES, *ioas, 0))
		return -1;
	return mock_domain_add(fd, *ioas, domain_flags, mock);
}

FIXTURE_SETUP(large)
{
	SKIP_IF_UPSTREAM_MOCK(return);

	self->old_nr_hugepages = -1;
	self->mm_mode = variant->mm_mode;
	self->fd = iommufd_open_in_mode(self->mm_mode);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, large_ioas_new(self->fd, variant->huge_pages_off,
				    variant->domain_flags, &self->ioas,
				    &self->mock));
	self->rule = io_page_rule_of(variant->huge_pages_off,
				     variant->domain_flags);
	ASSERT_EQ(0, charge_read(self->fd, &self->charge0));

	if (variant->kind == MEM_HUGETLB) {
		self->old_nr_hugepages =
			hugepages_reserve(LARGE_SIZE / SZ_2M);
		if (self->old_nr_hugepages < 0)
			SKIP(return, "cannot grow the 2 MiB huge page pool");
	}
	if (!mem_get(&self->mem, variant->kind, LARGE_SIZE)) {
		mem_put(&self->mem);
		if (self->old_nr_hugepages >= 0)
			nr_hugepages_write(self->old_nr_hugepages);
		SKIP(return, "no %s memory backed by 2 MiB frames",
		     variant->kind == MEM_THP ? "THP" :
		     variant->kind == MEM_HUGETLB ? "hugetlbfs" : "4 KiB");
	}
}

FIXTURE_TEARDOWN(large)
{
	close(self->fd);
	mem_put(&self->mem);
	if (self->old_nr_hugepages >= 0)
		nr_hugepages_write(self->old_nr_hugepages);
}

/*
 * The largest IO page a domain under @rule should use for a mapping of
 * [va, va + len) at @iova: 2 MiB where a 2 MiB aligned IOVA inside the
 * mapping meets 2 MiB of memory in one aligned frame, else the IO page.
 */
static uint64_t expected_max_pgsize(enum io_page_rule rule, uint64_t iova,
				    const uint8_t *va, size_t len)
{
	uint64_t at = (iova + SZ_2M - 1) & ~(SZ_2M - 1);

	if (rule != IO_PAGES_AND_2M)
		return IO_PAGE;
	for (; at + SZ_2M <= iova + len; at += SZ_2M)
		if (backed_by_2m_frame(va + (at - iova)))
			return SZ_2M;
	return IO_PAGE;
}

/*
 * map_pages() calls for one physically contiguous run of @len bytes at
 * @iova from @paddr. iommufd hands the run to iommu_map() whole; the core
 * makes one call per stretch of equally sized pages: IO pages up to the
 * first 2 MiB boundary, 2 MiB pages, IO pages after the last one. 2 MiB
 * pages are possible only if IOVA and memory are equally far from a 2 MiB
 * boundary and a whole aligned 2 MiB fits.
 */
static uint64_t run_map_calls(enum io_page_rule rule, uint64_t iova,
			      uint64_t paddr, uint64_t len)
{
	uint64_t first = (iova + SZ_2M - 1) & ~(SZ_2M - 1);
	uint64_t last = (iova + len) & ~(SZ_2M - 1);

	if (rule == ONE_CPU_PAGE_PER_CALL)
		return len / CPU_PAGE;
	if (rule == IO_PAGES_ONLY || (iova ^ paddr) % SZ_2M || first >= last)
		return 1;
	return (first != iova) + 1 + (iova + len != last);
}

/*
 * map_pages() calls for a mapping of [va, va + len) (whole CPU pages) at
 * @iova, run by physically contiguous run as /proc/self/pagemap shows them.
 */
static uint64_t expected_map_calls(enum io_page_rule rule, uint64_t iova,
				   const uint8_t *va, size_t len)
{
	uint64_t calls = 0, run_pfn = va_to_pfn(va);
	size_t run = 0, off;

	for (off = CPU_PAGE;; off += CPU_PAGE) {
		if (off < len &&
		    va_to_pfn(va + off) == run_pfn + (off - run) / CPU_PAGE)
			continue;
		calls += run_map_calls(rule, iova + run, run_pfn * CPU_PAGE,
				       off - run);
		if (off >= len)
			return calls;
		run = off;
		run_pfn = va_to_pfn(va + off);
	}
}

/*
 * The domain @mock maps all of a mapping of [va, va + len) at @iova, with
 * the IO page sizes and the number of map calls that @rule gives.
 */
static void expect_shape(struct __test_metadata *_metadata, int fd,
			 enum io_page_rule rule, uint32_t mock, uint64_t iova,
			 const uint8_t *va, size_t len)
{
	struct map_shape shape;

	ASSERT_NE(0, va_to_pfn(va)) {
		TH_LOG("/proc/self/pagemap shows no frames");
	}
	ASSERT_EQ(0, mock_check_map(fd, mock, iova, len, va, PROT_RW, &shape));
	EXPECT_EQ(expected_max_pgsize(rule, iova, va, len), shape.max_pgsize);
	EXPECT_EQ(expected_map_calls(rule, iova, va, len), shape.map_calls);
}

/* The largest IO page of [iova, iova + len) in @mock */
static uint64_t max_pgsize(int fd, uint32_t mock, uint64_t iova,
			   const uint8_t *va, size_t len)
{
	struct map_shape shape = {};

	if (mock_check_map(fd, mock, iova, len, va, PROT_RW, &shape))
		return 0;
	return shape.max_pgsize;
}

TEST_F_TIMEOUT(large, map_at_2m_aligned_iova_uses_the_largest_io_page, SLOW_TEST_TIMEOUT)
{
	const uint8_t *va = self->mem.va;
	uint64_t folio_pgsize = self->rule == IO_PAGES_AND_2M ? SZ_2M : IO_PAGE;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, va, LARGE_SIZE,
				    LARGE_IOVA));
	expect_shape(_metadata, self->fd, self->rule, self->mock, LARGE_IOVA,
		     va, LARGE_SIZE);
	/* Whatever pagemap says: a large folio is 2 MiB of one frame */
	if (variant->kind != MEM_4K) {
		EXPECT_EQ(folio_pgsize, max_pgsize(self->fd, self->mock,
						   LARGE_IOVA, va, SZ_2M));
		EXPECT_EQ(folio_pgsize,
			  max_pgsize(self->fd, self->mock, LARGE_IOVA + SZ_2M,
				     va + SZ_2M, SZ_2M));
	}
}

TEST_F_TIMEOUT(large, map_off_the_2m_grid_uses_2m_pages_only_where_both_line_up, SLOW_TEST_TIMEOUT)
{
	/* A CPU page into the first folio at a CPU page past a boundary */
	const uint8_t *va = self->mem.va + CPU_PAGE;
	const uint64_t iova = LARGE_IOVA + CPU_PAGE;
	const size_t len = LARGE_SIZE - CPU_PAGE;
	/* The whole buffer half way between two boundaries */
	const uint64_t iova_mid = 2 * LARGE_IOVA + SZ_1M;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, va, len, iova));
	expect_shape(_metadata, self->fd, self->rule, self->mock, iova, va,
		     len);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->mem.va,
				    LARGE_SIZE, iova_mid));
	expect_shape(_metadata, self->fd, self->rule, self->mock, iova_mid,
		     self->mem.va, LARGE_SIZE);

	if (variant->kind != MEM_4K) {
		/* The second folio lines up in the first mapping only */
		EXPECT_EQ(self->rule == IO_PAGES_AND_2M ? SZ_2M : IO_PAGE,
			  max_pgsize(self->fd, self->mock, LARGE_IOVA + SZ_2M,
				     self->mem.va + SZ_2M, SZ_2M));
		EXPECT_EQ(IO_PAGE, max_pgsize(self->fd, self->mock, iova_mid,
					      self->mem.va, LARGE_SIZE));
		EXPECT_EQ(IO_PAGE, max_pgsize(self->fd, self->mock, iova,
					      va, SZ_2M - CPU_PAGE));
	}
}

TEST_F_TIMEOUT(large, domain_added_after_the_map_gets_the_same_io_pages, SLOW_TEST_TIMEOUT)
{
	uint32_t late;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->mem.va,
				    LARGE_SIZE, LARGE_IOVA));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas,
				     variant->domain_flags, &late));
	expect_shape(_metadata, self->fd, self->rule, late, LARGE_IOVA,
		     self->mem.va, LARGE_SIZE);
	expect_shape(_metadata, self->fd, self->rule, self->mock, LARGE_IOVA,
		     self->mem.va, LARGE_SIZE);
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, LARGE_SIZE, 1));
	EXPECT_CHARGED(LARGE_PAGES);
}

TEST_F_TIMEOUT(large, map_pins_and_charges_each_page_once, SLOW_TEST_TIMEOUT)
{
	uint64_t unmapped;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->mem.va,
				    LARGE_SIZE, LARGE_IOVA));
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, LARGE_SIZE, 1));
	EXPECT_ERRNO(EINVAL, check_pins(self->fd, self->mem.va, LARGE_SIZE,
					2));
	EXPECT_CHARGED(LARGE_PAGES);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, LARGE_IOVA, LARGE_SIZE,
				&unmapped));
	EXPECT_EQ(LARGE_SIZE, unmapped);
	EXPECT_EQ(0, mock_check_unmapped(self->fd, self->mock, 0,
					 MOCK_APERTURE_LAST + 1));
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, LARGE_SIZE, 0));
	EXPECT_CHARGED(0);
}

TEST_F_TIMEOUT(large, map_of_part_of_a_folio_pins_only_that_part, SLOW_TEST_TIMEOUT)
{
	const size_t off = 16 * CPU_PAGE, len = 16 * CPU_PAGE;
	uint8_t *va = self->mem.va + SZ_2M + off;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, va, len,
				    SZ_2M + off));
	EXPECT_EQ(0, mock_check_map(self->fd, self->mock, SZ_2M + off, len, va,
				    PROT_RW, NULL));
	/* A large folio counts its pins together: only [va, va + len) has them */
	EXPECT_EQ(0, check_pins(self->fd, va, len, 1));
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, SZ_2M, 0));
	if (variant->kind == MEM_4K) {
		EXPECT_EQ(0, check_pins(self->fd, self->mem.va + SZ_2M, off,
					0));
		EXPECT_EQ(0, check_pins(self->fd, va + len,
					SZ_2M - off - len, 0));
	} else {
		/* The pins of the folio are all inside the mapped part */
		EXPECT_ERRNO(EINVAL, check_pins(self->fd, self->mem.va + SZ_2M,
						SZ_2M, 0));
	}
	EXPECT_CHARGED(len / CPU_PAGE);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, SZ_2M + off, len, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, LARGE_SIZE, 0));
	EXPECT_CHARGED(0);
}

TEST_F_TIMEOUT(large, copy_to_an_ioas_with_its_own_domain_shares_the_pins, SLOW_TEST_TIMEOUT)
{
	uint32_t ioas2, mock2;

	ASSERT_EQ(0, large_ioas_new(self->fd, variant->huge_pages_off,
				    variant->domain_flags, &ioas2, &mock2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->mem.va,
				    LARGE_SIZE, LARGE_IOVA));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, ioas2, 2 * LARGE_IOVA,
				     self->ioas, LARGE_IOVA, LARGE_SIZE));
	expect_shape(_metadata, self->fd, self->rule, mock2, 2 * LARGE_IOVA,
		     self->mem.va, LARGE_SIZE);
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, LARGE_SIZE, 1));
	EXPECT_CHARGED(LARGE_PAGES);

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, LARGE_IOVA, LARGE_SIZE,
				NULL));
	EXPECT_EQ(0, mock_check_unmapped(self->fd, self->mock, LARGE_IOVA,
					 LARGE_SIZE));
	expect_shape(_metadata, self->fd, self->rule, mock2, 2 * LARGE_IOVA,
		     self->mem.va, LARGE_SIZE);
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, LARGE_SIZE, 1));
	EXPECT_CHARGED(LARGE_PAGES);

	ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, 0, UINT64_MAX, NULL));
	EXPECT_EQ(0, mock_check_unmapped(self->fd, mock2, 0,
					 MOCK_APERTURE_LAST + 1));
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, LARGE_SIZE, 0));
	EXPECT_CHARGED(0);
}

TEST_F_TIMEOUT(large, close_with_mappings_copies_and_domains_unpins_all, SLOW_TEST_TIMEOUT)
{
	uint32_t ioas2, mock2;

	ASSERT_EQ(0, large_ioas_new(self->fd, variant->huge_pages_off,
				    variant->domain_flags, &ioas2, &mock2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->mem.va,
				    LARGE_SIZE, LARGE_IOVA));
	ASSERT_EQ(0, ioas_map_fixed_prot(self->fd, ioas2, MAP_R,
					 self->mem.va + SZ_2M, SZ_2M,
					 LARGE_IOVA));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, ioas2, 2 * LARGE_IOVA,
				     self->ioas, LARGE_IOVA, SZ_2M));
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, SZ_2M, 1));
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va + SZ_2M, SZ_2M, 2));
	EXPECT_CHARGED(LARGE_PAGES + PAGES_PER_2M);

	/* Checked again through a fresh open once everything is gone */
	ASSERT_EQ(0, close(self->fd));
	self->fd = iommufd_open_in_mode(false);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, LARGE_SIZE, 0));
	EXPECT_CHARGED(0);
}

/*
 * batch: the kernel pins a mapping a few pages at a time (SET_PIN_BATCH),
 * so that maps of a handful of pages cross batch boundaries in every way:
 * just below, on and just past a multiple of the batch. Memory is 4 KiB
 * pages or THP; the IOAS has a default mock domain and one without large
 * IO pages. The batch size is global, so the teardown restores it.
 */
#define BATCH_IOVA (16 * SZ_2M)

FIXTURE(batch)
{
	int fd;
	bool mm_mode;
	uint32_t ioas;
	uint32_t domains[2];
	struct mem mem;
	struct charge charge0;
};

FIXTURE_VARIANT(batch)
{
	uint32_t pages;
	enum mem_kind kind;
};

FIXTURE_VARIANT_ADD(batch, one_page_batches_of_small_pages)
{
	.pages = 1,
	.kind = MEM_4K,
};

FIXTURE_VARIANT_ADD(batch, two_page_batches_of_small_pages)
{
	.pages = 2,
	.kind = MEM_4K,
};

FIXTURE_VARIANT_ADD(batch, three_page_batches_of_small_pages)
{
	.pages = 3,
	.kind = MEM_4K,
};

FIXTURE_VARIANT_ADD(batch, seven_page_batches_of_small_pages)
{
	.pages = 7,
	.kind = MEM_4K,
};

FIXTURE_VARIANT_ADD(batch, one_page_batches_of_thp)
{
	.pages = 1,
	.kind = MEM_THP,
};

FIXTURE_VARIANT_ADD(batch, two_page_batches_of_thp)
{
	.pages = 2,
	.kind = MEM_THP,
};

FIXTURE_VARIANT_ADD(batch, three_page_batches_of_thp)
{
	.pages = 3,
	.kind = MEM_THP,
};

FIXTURE_VARIANT_ADD(batch, seven_page_batches_of_thp)
{
	.pages = 7,
	.kind = MEM_THP,
};

FIXTURE_SETUP(batch)
{
	SKIP_IF_UPSTREAM_MOCK(return);

	self->mm_mode = variant->kind == MEM_THP;
	self->fd = iommufd_open_in_mode(self->mm_mode);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0,
				     &self->domains[0]));
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas,
				     MOCK_DOMAIN_NO_HUGE_PAGES,
				     &self->domains[1]));
	ASSERT_EQ(0, charge_read(self->fd, &self->charge0));
	if (!mem_get(&self->mem, variant->kind, LARGE_SIZE)) {
		mem_put(&self->mem);
		SKIP(return, "no memory of the kind asked for");
	}
	/* Last, so that a setup that gives up leaves the default in place */
	ASSERT_EQ(0, pin_batch_set(self->fd, variant->pages));
}

FIXTURE_TEARDOWN(batch)
{
	pin_batch_set(self->fd, 0);
	close(self->fd);
	mem_put(&self->mem);
}

/* Page counts around the first few multiples of a batch of @b pages */
static unsigned int straddling_counts(uint32_t b, uint64_t *counts)
{
	unsigned int n = 0;

	counts[n++] = 1;
	if (b > 1)
		counts[n++] = b - 1;
	counts[n++] = b;
	counts[n++] = b + 1;
	counts[n++] = 2 * b - 1;
	counts[n++] = 2 * b;
	counts[n++] = 2 * b + 1;
	counts[n++] = 3 * b + 2;
	counts[n++] = 7 * b + 5;
	return n;
}

#define MAX_COUNTS 9

TEST_F_TIMEOUT(batch, maps_of_every_length_around_a_batch_reach_both_domains, SLOW_TEST_TIMEOUT)
{
	uint64_t counts[MAX_COUNTS], off = 0, total;
	unsigned int i, n, d;

	n = straddling_counts(variant->pages, counts);
	/* Back to back: each map has its own pages and IOVAs */
	for (i = 0; i != n; i++) {
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas,
					    self->mem.va + off,
					    counts[i] * CPU_PAGE,
					    BATCH_IOVA + off));
		off += counts[i] * CPU_PAGE;
	}
	total = off;
	for (i = 0, off = 0; i != n; i++) {
		expect_mapped(_metadata, self->fd, self->domains, 2,
			      BATCH_IOVA + off, counts[i] * CPU_PAGE,
			      self->mem.va + off, PROT_RW);
		off += counts[i] * CPU_PAGE;
	}
	expect_mapped(_metadata, self->fd, self->domains, 2, BATCH_IOVA, total,
		      self->mem.va, PROT_RW);
	expect_unmapped(_metadata, self->fd, self->domains, 2,
			BATCH_IOVA + total, SZ_2M);
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, total, 1));
	if (variant->kind == MEM_4K)
		EXPECT_EQ(0, check_pins(self->fd, self->mem.va + total,
					CPU_PAGE, 0));
	EXPECT_CHARGED(total / CPU_PAGE);

	for (i = 0, off = 0; i != n; i++) {
		ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BATCH_IOVA + off,
					counts[i] * CPU_PAGE, NULL));
		for (d = 0; d != 2; d++)
			EXPECT_EQ(0, mock_check_unmapped(self->fd,
							 self->domains[d],
							 BATCH_IOVA + off,
							 counts[i] * CPU_PAGE));
		off += counts[i] * CPU_PAGE;
	}
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, total, 0));
	EXPECT_CHARGED(0);
}

TEST_F_TIMEOUT(batch, map_starting_mid_page_pins_the_pages_at_both_ends, SLOW_TEST_TIMEOUT)
{
	uint64_t counts[MAX_COUNTS], iova = BATCH_IOVA;
	unsigned int i, n;

	n = straddling_counts(variant->pages, counts);
	for (i = 0; i != n; i++) {
		uint8_t *va = self->mem.va + IO_PAGE;
		uint64_t len = counts[i] * CPU_PAGE;

		/* len bytes from half way into a page touch one page more */
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, va, len,
					    iova + IO_PAGE));
		expect_mapped(_metadata, self->fd, self->domains, 2,
			      iova + IO_PAGE, len, va, PROT_RW);
		expect_unmapped(_metadata, self->fd, self->domains, 2, iova,
				IO_PAGE);
		EXPECT_EQ(0, check_pins(self->fd, self->mem.va,
					len + CPU_PAGE, 1));
		EXPECT_CHARGED(counts[i] + 1);
		ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, iova + IO_PAGE,
					len, NULL));
		EXPECT_EQ(0, check_pins(self->fd, self->mem.va,
					len + CPU_PAGE, 0));
		EXPECT_CHARGED(0);
		iova += SZ_2M;
	}
}

TEST_F_TIMEOUT(batch, whole_buffer_is_mapped_run_by_contiguous_run, SLOW_TEST_TIMEOUT)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->mem.va,
				    LARGE_SIZE, BATCH_IOVA));
	/* Runs merge across batches: THP still gets its 2 MiB IO pages */
	expect_shape(_metadata, self->fd, IO_PAGES_AND_2M, self->domains[0],
		     BATCH_IOVA, self->mem.va, LARGE_SIZE);
	expect_shape(_metadata, self->fd, IO_PAGES_ONLY, self->domains[1],
		     BATCH_IOVA, self->mem.va, LARGE_SIZE);
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, LARGE_SIZE, 1));
	EXPECT_CHARGED(LARGE_PAGES);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BATCH_IOVA, LARGE_SIZE,
				NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, LARGE_SIZE, 0));
	EXPECT_CHARGED(0);
}

TEST_F_TIMEOUT(batch, hole_after_a_few_batches_unpins_what_was_pinned, SLOW_TEST_TIMEOUT)
{
	uint64_t hole_page = 2 * variant->pages + 1;
	uint8_t *hole = self->mem.va + hole_page * CPU_PAGE;
	uint64_t len = (hole_page + variant->pages + 2) * CPU_PAGE;

	ASSERT_EQ(0, munmap(hole, CPU_PAGE));
	EXPECT_ERRNO(EFAULT, ioas_map_fixed(self->fd, self->ioas, self->mem.va,
					    len, BATCH_IOVA));
	expect_unmapped(_metadata, self->fd, self->domains, 2, BATCH_IOVA,
			len);
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, hole_page * CPU_PAGE,
				0));
	EXPECT_EQ(0, check_pins(self->fd, hole + CPU_PAGE,
				len - (hole_page + 1) * CPU_PAGE, 0));
	EXPECT_CHARGED(0);

	/* The memory in front of the hole still maps */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->mem.va,
				    hole_page * CPU_PAGE, BATCH_IOVA));
	expect_mapped(_metadata, self->fd, self->domains, 2, BATCH_IOVA,
		      hole_page * CPU_PAGE, self->mem.va, PROT_RW);
	EXPECT_EQ(0, check_pins(self->fd, self->mem.va, hole_page * CPU_PAGE,
				1));
	EXPECT_CHARGED(hole_page);
}

/*
 * two_ioas: a source IOAS with one mock domain and a destination IOAS with
 * one or two, sharing a 64 KiB buffer of 4 KiB pages through MAP and COPY.
 */
FIXTURE(two_ioas)
{
	int fd;
	bool mm_mode;
	uint32_t ioas[2];		/* source, destination */
	uint32_t domains[2][2];		/* per IOAS */
	unsigned int ndomains[2];
	struct mem buf;
	struct charge charge0;
};

FIXTURE_VARIANT(two_ioas)
{
	unsigned int dst_domains;
	bool mm_mode;
};

FIXTURE_VARIANT_ADD(two_ioas, one_domain_each_locked_vm)
{
	.dst_domains = 1,
	.mm_mode = false,
};

FIXTURE_VARIANT_ADD(two_ioas, two_domains_in_the_destination_pinned_vm)
{
	.dst_domains = 2,
	.mm_mode = true,
};

FIXTURE_SETUP(two_ioas)
{
	unsigned int i, d;

	SKIP_IF_UPSTREAM_MOCK(return);

	self->mm_mode = variant->mm_mode;
	self->fd = iommufd_open_in_mode(self->mm_mode);
	ASSERT_LE(0, self->fd);
	self->ndomains[0] = 1;
	self->ndomains[1] = variant->dst_domains;
	for (i = 0; i != 2; i++) {
		ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas[i]));
		for (d = 0; d != self->ndomains[i]; d++)
			ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas[i],
						     nth_domain_flags[d + 1],
						     &self->domains[i][d]));
	}
	ASSERT_TRUE(mem_get(&self->buf, MEM_4K, BUF_SIZE));
	ASSERT_EQ(0, charge_read(self->fd, &self->charge0));
}

FIXTURE_TEARDOWN(two_ioas)
{
	close(self->fd);
	mem_put(&self->buf);
}

/* The domains of IOAS @i (0: source, 1: destination) map or do not map */
#define EXPECT_MAPPED_IN(i, iova, length, va, prot)                            \
	do {                                                                   \
		unsigned int in_ = (i);                                        \
		expect_mapped(_metadata, self->fd, self->domains[in_],         \
			      self->ndomains[in_], iova, length, va, prot);    \
	} while (0)
#define EXPECT_UNMAPPED_IN(i, iova, length)                                    \
	do {                                                                   \
		unsigned int in_ = (i);                                        \
		expect_unmapped(_metadata, self->fd, self->domains[in_],       \
				self->ndomains[in_], iova, length);            \
	} while (0)

TEST_F(two_ioas, copy_reaches_only_the_destination_domains_and_shares_pins)
{
	const uint64_t src = SZ_1M, dst = 64 * SZ_1M;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas[0], self->buf.va,
				    BUF_SIZE, src));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, self->ioas[1], dst,
				     self->ioas[0], src, BUF_SIZE));
	EXPECT_MAPPED_IN(0, src, BUF_SIZE, self->buf.va, PROT_RW);
	EXPECT_MAPPED_IN(1, dst, BUF_SIZE, self->buf.va, PROT_RW);
	EXPECT_UNMAPPED_IN(0, dst, BUF_SIZE);
	EXPECT_UNMAPPED_IN(1, src, BUF_SIZE);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 1));
	EXPECT_CHARGED(BUF_PAGES);

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas[0], src, BUF_SIZE, NULL));
	EXPECT_UNMAPPED_IN(0, 0, MOCK_APERTURE_LAST + 1);
	EXPECT_MAPPED_IN(1, dst, BUF_SIZE, self->buf.va, PROT_RW);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 1));
	EXPECT_CHARGED(BUF_PAGES);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas[1], dst, BUF_SIZE, NULL));
	EXPECT_UNMAPPED_IN(1, 0, MOCK_APERTURE_LAST + 1);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 0));
	EXPECT_CHARGED(0);
}

TEST_F(two_ioas, copy_carries_its_own_permissions)
{
	const uint64_t len = 4 * CPU_PAGE;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas[0], self->buf.va, len,
				    SZ_1M));
	ASSERT_EQ(0, ioas_map_fixed_prot(self->fd, self->ioas[0], MAP_R,
					 self->buf.va + len, len, SZ_2M));
	ASSERT_EQ(0, ioas_copy_fixed_prot(self->fd, MAP_R, self->ioas[1], SZ_1M,
					  self->ioas[0], SZ_1M, len));
	ASSERT_EQ(0, ioas_copy_fixed_prot(self->fd, MAP_W, self->ioas[1],
					  SZ_1M + len, self->ioas[0], SZ_1M,
					  len));
	EXPECT_ERRNO(EPERM, ioas_copy_fixed(self->fd, self->ioas[1], SZ_2M,
					    self->ioas[0], SZ_2M, len));
	EXPECT_ERRNO(EPERM, ioas_copy_fixed_prot(self->fd, MAP_W, self->ioas[1],
						 SZ_2M, self->ioas[0], SZ_2M,
						 len));
	ASSERT_EQ(0, ioas_copy_fixed_prot(self->fd, MAP_R, self->ioas[1],
					  2 * SZ_2M, self->ioas[0], SZ_2M,
					  len));

	EXPECT_MAPPED_IN(0, SZ_1M, len, self->buf.va, PROT_RW);
	EXPECT_MAPPED_IN(1, SZ_1M, len, self->buf.va, MOCK_PROT_READ);
	EXPECT_MAPPED_IN(1, SZ_1M + len, len, self->buf.va, MOCK_PROT_WRITE);
	EXPECT_UNMAPPED_IN(1, SZ_2M, len);
	EXPECT_MAPPED_IN(1, 2 * SZ_2M, len, self->buf.va + len,
			 MOCK_PROT_READ);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, 2 * len, 1));
	EXPECT_CHARGED(2 * len / CPU_PAGE);
}

TEST_F(two_ioas, copy_onto_a_mapping_is_eexist_and_changes_nothing)
{
	const uint64_t len = 4 * CPU_PAGE;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas[0], self->buf.va, len,
				    SZ_1M));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas[1], self->buf.va + len,
				    len, SZ_1M));
	EXPECT_ERRNO(EEXIST, ioas_copy_fixed(self->fd, self->ioas[1],
					     SZ_1M + len - CPU_PAGE,
					     self->ioas[0], SZ_1M, len));
	EXPECT_ERRNO(ENOENT, ioas_copy_fixed(self->fd, self->ioas[1], SZ_2M,
					     self->ioas[0], SZ_1M, 2 * len));
	EXPECT_MAPPED_IN(1, SZ_1M, len, self->buf.va + len, PROT_RW);
	EXPECT_UNMAPPED_IN(1, SZ_1M + len, SZ_2M);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, 2 * len, 1));
	EXPECT_CHARGED(2 * len / CPU_PAGE);
}

TEST_F(two_ioas, destroying_the_source_ioas_leaves_the_copy)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas[0], self->buf.va,
				    BUF_SIZE, SZ_1M));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, self->ioas[1], SZ_2M,
				     self->ioas[0], SZ_1M, BUF_SIZE));
	ASSERT_EQ(0, object_destroy(self->fd, self->domains[0][0]));
	ASSERT_EQ(0, object_destroy(self->fd, self->ioas[0]));
	EXPECT_MAPPED_IN(1, SZ_2M, BUF_SIZE, self->buf.va, PROT_RW);
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 1));
	EXPECT_CHARGED(BUF_PAGES);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas[1], SZ_2M, BUF_SIZE,
				NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->buf.va, BUF_SIZE, 0));
	EXPECT_CHARGED(0);
}

/*
 * A script of maps, copies and unmaps across the two IOASes, and a model of
 * what they must hold after each step: the live mappings, each with the MAP
 * its pages came from. A page is pinned, and charged, once for every MAP
 * that still has a live mapping (its own or a copy of it) covering the page.
 */
enum step_op { DO_MAP, DO_COPY, DO_UNMAP, DO_UNMAP_ALL };

struct step {
	enum step_op op;
	unsigned int ioas;	/* 0: source IOAS, 1: destination IOAS */
	uint64_t iova;
	unsigned int npages;
	uint32_t flags;		/* DO_MAP and DO_COPY: the permissions */
	unsigned int page;	/* DO_MAP: first page of the buffer */
	unsigned int src_ioas;	/* DO_COPY: from this IOAS's ... */
	uint64_t src_iova;	/* ... IOVA, inside one of its mappings */
};

#define PG(n) ((uint64_t)(n) * CPU_PAGE)

static const struct step interleaving[] = {
	{ .op = DO_MAP, .ioas = 0, .iova = SZ_1M, .npages = 8,
	  .flags = MAP_RW, .page = 0 },
	{ .op = DO_COPY, .ioas = 1, .iova = SZ_2M, .npages = 4,
	  .flags = MAP_RW, .src_ioas = 0, .src_iova = SZ_1M + PG(2) },
	{ .op = DO_MAP, .ioas = 1, .iova = 3 * SZ_1M, .npages = 6,
	  .flags = MAP_R, .page = 6 },
	{ .op = DO_COPY, .ioas = 0, .iova = 4 * SZ_1M, .npages = 6,
	  .flags = MAP_R, .src_ioas = 1, .src_iova = 3 * SZ_1M },
	{ .op = DO_UNMAP, .ioas = 0, .iova = SZ_1M, .npages = 8 },
	{ .op = DO_MAP, .ioas = 0, .iova = SZ_1M, .npages = 4,
	  .flags = MAP_W, .page = 0 },
	{ .op = DO_COPY, .ioas = 1, .iova = 5 * SZ_1M, .npages = 2,
	  .flags = MAP_R, .src_ioas = 0, .src_iova = 4 * SZ_1M + PG(1) },
	{ .op = DO_COPY, .ioas = 1, .iova = 6 * SZ_1M, .npages = 3,
	  .flags = MAP_W, .src_ioas = 0, .src_iova = SZ_1M + PG(1) },
	{ .op = DO_UNMAP, .ioas = 1, .iova = 3 * SZ_1M, .npages = 6 },
	{ .op = DO_UNMAP, .ioas = 0, .iova = 4 * SZ_1M, .npages = 6 },
	{ .op = DO_MAP, .ioas = 1, .iova = 7 * SZ_1M, .npages = 16,
	  .flags = MAP_RW, .page = 0 },
	{ .op = DO_UNMAP, .ioas = 1, .iova = SZ_2M, .npages = 4 },
	{ .op = DO_UNMAP, .ioas = 0, .iova = SZ_1M, .npages = 4 },
	{ .op = DO_UNMAP_ALL, .ioas = 1 },
	{ .op = DO_UNMAP_ALL, .ioas = 0 },
};

#define NR_STEPS ARRAY_SIZE(interleaving)

struct model_mapping {
	bool live;
	unsigned int ioas;
	uint64_t iova;
	unsigned int page, npages;
	uint32_t prot;
	unsigned int origin;	/* the step whose MAP pinned the pages */
};

static uint32_t prot_of(uint32_t map_flags)
{
	return (map_flags & MAP_R ? MOCK_PROT_READ : 0) |
	       (map_flags & MAP_W ? MOCK_PROT_WRITE : 0);
}

static bool model_overlaps_live(const struct model_mapping *model,
				unsigned int n, unsigned int ioas,
				uint64_t iova, uint64_t len)
{
	unsigned int i;

	for (i = 0; i != n; i++)
		if (model[i].live && model[i].ioas == ioas &&
		    iova < model[i].iova + PG(model[i].npages) &&
		    model[i].iova < iova + len)
			return true;
	return false;
}

/* Pins the model expects on buffer page @page */
static unsigned int model_pins(const struct model_mapping *model,
			       unsigned int n, unsigned int page)
{
	unsigned int origin, i, pins = 0;

	for (origin = 0; origin != NR_STEPS; origin++) {
		for (i = 0; i != n; i++) {
			if (model[i].live && model[i].origin == origin &&
			    model[i].page <= page &&
			    page < model[i].page + model[i].npages) {
				pins++;
				break;
			}
		}
	}
	return pins;
}

TEST_F(two_ioas, interleaved_maps_copies_and_unmaps_match_the_model)
{
	struct model_mapping model[NR_STEPS] = {};
	unsigned int n = 0, i, j, page;

	for (i = 0; i != NR_STEPS; i++) {
		const struct step *st = &interleaving[i];
		uint64_t len = PG(st->npages), unmapped, want = 0;
		struct model_mapping *m = &model[n];

		switch (st->op) {
		case DO_MAP:
			ASSERT_EQ(0, ioas_map_fixed_prot(self->fd,
							 self->ioas[st->ioas],
							 st->flags,
							 self->buf.va + PG(st->page),
							 len, st->iova));
			*m = (struct model_mapping){
				.live = true, .ioas = st->ioas,
				.iova = st->iova, .page = st->page,
				.npages = st->npages,
				.prot = prot_of(st->flags), .origin = i,
			};
			n++;
			break;
		case DO_COPY:
			ASSERT_EQ(0, ioas_copy_fixed_prot(self->fd, st->flags,
							  self->ioas[st->ioas],
							  st->iova,
							  self->ioas[st->src_ioas],
							  st->src_iova, len));
			for (j = 0; j != n; j++)
				if (model[j].live &&
				    model[j].ioas == st->src_ioas &&
				    model[j].iova <= st->src_iova &&
				    st->src_iova + len <=
				    model[j].iova + PG(model[j].npages))
					break;
			ASSERT_NE(n, j);
			*m = (struct model_mapping){
				.live = true, .ioas = st->ioas,
				.iova = st->iova,
				.page = model[j].page +
					(st->src_iova - model[j].iova) /
					CPU_PAGE,
				.npages = st->npages,
				.prot = prot_of(st->flags),
				.origin = model[j].origin,
			};
			n++;
			break;
		case DO_UNMAP:
		case DO_UNMAP_ALL:
			for (j = 0; j != n; j++) {
				if (!model[j].live || model[j].ioas != st->ioas)
					continue;
				if (st->op == DO_UNMAP &&
				    (model[j].iova != st->iova ||
				     model[j].npages != st->npages))
					continue;
				model[j].live = false;
				want += PG(model[j].npages);
			}
			if (st->op == DO_UNMAP_ALL) {
				ASSERT_EQ(0, ioas_unmap(self->fd,
							self->ioas[st->ioas], 0,
							UINT64_MAX, &unmapped));
			} else {
				ASSERT_EQ(0, ioas_unmap(self->fd,
							self->ioas[st->ioas],
							st->iova, len,
							&unmapped));
			}
			EXPECT_EQ(want, unmapped);
			break;
		}

		for (j = 0; j != n; j++) {
			const struct model_mapping *mm = &model[j];

			if (mm->live) {
				EXPECT_MAPPED_IN(mm->ioas, mm->iova,
						 PG(mm->npages),
						 self->buf.va + PG(mm->page),
						 mm->prot);
			} else if (!model_overlaps_live(model, n, mm->ioas,
							mm->iova,
							PG(mm->npages))) {
				EXPECT_UNMAPPED_IN(mm->ioas, mm->iova,
						   PG(mm->npages));
			}
		}
		want = 0;
		for (page = 0; page != BUF_PAGES; page++) {
			unsigned int pins = model_pins(model, n, page);

			EXPECT_EQ(0, check_pins(self->fd,
						self->buf.va + PG(page),
						CPU_PAGE, pins)) {
				TH_LOG("step %u: page %u should have %u pins",
				       i, page, pins);
			}
			want += pins;
		}
		EXPECT_CHARGED(want);
	}
	EXPECT_UNMAPPED_IN(0, 0, MOCK_APERTURE_LAST + 1);
	EXPECT_UNMAPPED_IN(1, 0, MOCK_APERTURE_LAST + 1);
	EXPECT_CHARGED(0);
}

/*
 * ---- Accounting of pinned memory, where a domain makes 6.12 pin ----
 *
 * The IOAS of the pin fixture has a mock domain, so MAP pins at once. The
 * 6.12 rules: every pinned page moves mm->pinned_vm (VmPin) in every mode,
 * with or without CAP_IPC_LOCK. RLIMIT_MODE 0 also charges user->locked_vm
 * against RLIMIT_MEMLOCK (without CAP_IPC_LOCK; with it the pages are not
 * charged to the user at all); RLIMIT_MODE 1 charges mm->locked_vm
 * (VmLck) against RLIMIT_MEMLOCK unless CAP_IPC_LOCK. A page is pinned
 * once per MAP (pages object), however many areas (COPY) and domains use
 * it; each MAP of the same memory is charged again. The mock domain's
 * alignment is 2 KiB, so offsets here are multiples of 2 KiB. These tests
 * skip on pristine 6.12 (no mock); iommufd_vfio_edu.c checks the same rules
 * with a real domain on both kernels.
 */
/* An IOAS fed into a mock domain, so that its mappings are pinned */
static int pin_ioas_alloc(int fd, uint32_t *ioas)
{
	uint32_t mock;

	if (ioas_alloc(fd, ioas))
		return -1;
	return mock_domain_add(fd, *ioas, 0, &mock);
}

static long hugetlb_reserve_one(void)
{
	long nr;

	if (proc_value("/proc/meminfo", "HugePages_Free") >= 1)
		return -1;
	nr = nr_hugepages_read();
	if (nr < 0 || nr_hugepages_write(nr + 1))
		return -1;
	return nr;
}

FIXTURE(pin)
{
	int fd;
	uint32_t ioas_id;
	uint8_t *mem;	/* SZ_2M bytes, 2 MiB aligned */
	void *region;	/* what to munmap */
	size_t region_len;
	long old_nr_hugepages;
	long vmpin0;
	long vmlck0;
};

FIXTURE_VARIANT(pin)
{
	uint64_t rlimit_mode;
	enum mem_kind kind;
};

FIXTURE_VARIANT_ADD(pin, user_4k)
{
	.rlimit_mode = 0,
	.kind = MEM_4K,
};

FIXTURE_VARIANT_ADD(pin, user_thp)
{
	.rlimit_mode = 0,
	.kind = MEM_THP,
};

FIXTURE_VARIANT_ADD(pin, user_hugetlb)
{
	.rlimit_mode = 0,
	.kind = MEM_HUGETLB,
};

FIXTURE_VARIANT_ADD(pin, mm_4k)
{
	.rlimit_mode = 1,
	.kind = MEM_4K,
};

FIXTURE_VARIANT_ADD(pin, mm_thp)
{
	.rlimit_mode = 1,
	.kind = MEM_THP,
};

FIXTURE_VARIANT_ADD(pin, mm_hugetlb)
{
	.rlimit_mode = 1,
	.kind = MEM_HUGETLB,
};

FIXTURE_SETUP(pin)
{
	self->fd = -1;
	self->region = NULL;
	self->old_nr_hugepages = -1;
	SKIP_IF_UPSTREAM_MOCK(return);
	self->old_nr_hugepages = -1;
	self->region = NULL;
	switch (variant->kind) {
	case MEM_4K:
		self->region_len = SZ_2M;
		self->region = anon_alloc(SZ_2M);
		self->mem = self->region;
		break;
	case MEM_THP:
		self->mem = thp_alloc(&self->region, &self->region_len);
		break;
	case MEM_HUGETLB:
		if (proc_value("/proc/meminfo", "Hugepagesize") != 2048)
			SKIP(return, "default huge page size is not 2 MiB");
		self->old_nr_hugepages = hugetlb_reserve_one();
		self->region_len = SZ_2M;
		/* Shared, so that a forked child does not need a COW copy */
		self->region = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB,
				    -1, 0);
		if (self->region == MAP_FAILED) {
			self->region = NULL;
			if (self->old_nr_hugepages >= 0)
				nr_hugepages_write(self->old_nr_hugepages);
			SKIP(return, "no 2 MiB huge page available");
		}
		self->mem = self->region;
		memset(self->mem, 0x5a, SZ_2M);
		break;
	}
	ASSERT_NE(NULL, self->region);
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, rlimit_mode_set(self->fd, variant->rlimit_mode));
	ASSERT_EQ(0, pin_ioas_alloc(self->fd, &self->ioas_id));
	self->vmpin0 = vmpin_kb();
	ASSERT_LE(0, self->vmpin0);
	self->vmlck0 = vmlck_kb();
	ASSERT_LE(0, self->vmlck0);
}

FIXTURE_TEARDOWN(pin)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->region)
		munmap(self->region, self->region_len);
	if (self->old_nr_hugepages >= 0)
		nr_hugepages_write(self->old_nr_hugepages);
}

/*
 * VmPin always counts @pages; VmLck only in RLIMIT_MODE 1, and only for a
 * process without CAP_IPC_LOCK (whose pins 6.12 charges to nobody)
 */
#define EXPECT_PIN_CHARGED(pages)                                              \
	do {                                                                   \
		long __kb = (long)(pages) * 4;                                 \
		EXPECT_EQ(self->vmpin0 + __kb, vmpin_kb());                    \
		EXPECT_EQ(self->vmlck0 +                                       \
			  (variant->rlimit_mode && !cap_ipc_lock() ? __kb : 0),  \
			  vmlck_kb());                                         \
	} while (0)

TEST_F(pin, map_charges_every_4k_page_it_covers)
{
	uint64_t iova;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->mem + 0x800,
				    0x2000, 0x10800));
	EXPECT_PIN_CHARGED(3);
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id,
				   self->mem + 0x123800, 0x10000, &iova));
	EXPECT_EQ(0x800, iova & (CPU_PAGE - 1));
	EXPECT_PIN_CHARGED(3 + pages_spanned(self->mem + 0x123800, 0x10000));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 0x10000, NULL));
	EXPECT_PIN_CHARGED(3);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x10800, 0x2000,
				NULL));
	EXPECT_PIN_CHARGED(0);
}

TEST_F(pin, map_of_the_whole_buffer_charges_512_pages)
{
	uint64_t iova, len;

	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->mem, SZ_2M,
				   &iova));
	EXPECT_EQ(0, iova % SZ_2M);
	EXPECT_PIN_CHARGED(512);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, &len));
	EXPECT_EQ(SZ_2M, len);
	EXPECT_PIN_CHARGED(0);
}

TEST_F(pin, map_of_half_a_page_charges_one_page)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->mem + 0x1ff800, 0x800, 0xfff800));
	EXPECT_PIN_CHARGED(1);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0xfff800, 0x800,
				NULL));
	EXPECT_PIN_CHARGED(0);
}

TEST_F(pin, each_map_of_the_same_memory_is_charged)
{
	uint64_t iova;
	int i;

	for (i = 0; i != 4; i++) {
		ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->mem,
					   16 * CPU_PAGE, &iova));
		EXPECT_PIN_CHARGED((i + 1) * 16);
	}
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));
	EXPECT_PIN_CHARGED(0);
}

TEST_F(pin, copy_shares_the_charge_of_its_source)
{
	uint32_t dst;

	ASSERT_EQ(0, pin_ioas_alloc(self->fd, &dst));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->mem, SZ_2M,
				    SZ_2M));
	EXPECT_PIN_CHARGED(512);
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, dst, 4 * SZ_2M, self->ioas_id,
				     SZ_2M, SZ_2M));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, self->ioas_id, 8 * SZ_2M,
				     self->ioas_id, SZ_2M, SZ_2M));
	EXPECT_PIN_CHARGED(512);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, SZ_2M, SZ_2M, NULL));
	EXPECT_PIN_CHARGED(512);
	ASSERT_EQ(0, ioas_unmap(self->fd, dst, 4 * SZ_2M, SZ_2M, NULL));
	EXPECT_PIN_CHARGED(512);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 8 * SZ_2M, SZ_2M,
				NULL));
	EXPECT_PIN_CHARGED(0);
}

TEST_F(pin, copy_of_a_sub_range_keeps_only_those_pages_after_the_source)
{
	uint64_t iova;
	uint32_t dst;

	ASSERT_EQ(0, pin_ioas_alloc(self->fd, &dst));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->mem, SZ_2M,
				    SZ_2M));
	ASSERT_EQ(0, ioas_copy_auto(self->fd, dst, &iova, self->ioas_id,
				    SZ_2M + 0x100800, 0x2000));
	EXPECT_EQ(0x800, iova & (CPU_PAGE - 1));
	EXPECT_PIN_CHARGED(512);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, SZ_2M, SZ_2M, NULL));
	EXPECT_PIN_CHARGED(3);
	ASSERT_EQ(0, ioas_unmap(self->fd, dst, iova, 0x2000, NULL));
	EXPECT_PIN_CHARGED(0);
}

TEST_F(pin, close_with_live_mappings_and_copies_drops_every_charge)
{
	uint32_t dst;
	uint64_t iova;

	ASSERT_EQ(0, pin_ioas_alloc(self->fd, &dst));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->mem, SZ_2M,
				    0));
	ASSERT_EQ(0, ioas_map_auto(self->fd, dst, self->mem + 0x1000, 0x3000,
				   &iova));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, dst, 0x40000000, self->ioas_id,
				     0, SZ_2M));
	EXPECT_PIN_CHARGED(512 + 3);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(self->vmpin0, vmpin_kb());
}

/* Runs @child_fn in a forked child and returns its exit status */
static int run_in_child(int (*child_fn)(int fd, uint32_t ioas, uint8_t *mem,
					bool mm_mode),
			int fd, uint32_t ioas, uint8_t *mem, bool mm_mode)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(child_fn(fd, ioas, mem, mm_mode));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#define LIMIT_PAGES 16

/* VmPin is @pin0 plus @pages, in every mode */
static bool child_pinned(bool mm_mode, long pin0, long pages)
{
	return vmpin_kb() == pin0 + pages * 4;
}

static bool map_is_enomem(int fd, uint32_t ioas, uint8_t *mem, uint64_t len,
			  uint64_t iova)
{
	return ioas_map_fixed(fd, ioas, mem, len,
			      iova) == -1 && errno == ENOMEM;
}

/*
 * In the child: a 16-page limit without CAP_IPC_LOCK. Returns 0 or the
 * number of the step that went wrong.
 */
static int memlock_child(int fd, uint32_t ioas, uint8_t *mem, bool mm_mode)
{
	long pin0 = vmpin_kb();

	if (cap_drop(CAP_IPC_LOCK))
		return 1;
	if (set_memlock_limit(LIMIT_PAGES * CPU_PAGE))
		return 2;
	/* More than the whole limit in one go */
	if (!map_is_enomem(fd, ioas, mem, 2 * LIMIT_PAGES * CPU_PAGE, 0x100000))
		return 3;
	if (!child_pinned(mm_mode, pin0, 0))
		return 4;
	if (ioas_map_fixed(fd, ioas, mem, 8 * CPU_PAGE, 0x100000))
		return 5;
	if (!child_pinned(mm_mode, pin0, 8))
		return 6;
	/* 8 + 12 is over the limit, 8 + 4 is not */
	if (!map_is_enomem(fd, ioas, mem, 12 * CPU_PAGE, 0x200000))
		return 7;
	if (!child_pinned(mm_mode, pin0, 8))
		return 8;
	if (ioas_map_fixed(fd, ioas, mem, 4 * CPU_PAGE, 0x200000))
		return 9;
	if (!child_pinned(mm_mode, pin0, 12))
		return 10;
	/* A copy costs nothing */
	if (ioas_copy_fixed(fd, ioas, 0x300000, ioas, 0x100000, 8 * CPU_PAGE))
		return 11;
	if (!child_pinned(mm_mode, pin0, 12))
		return 12;
	/* The copy keeps the charge after the original goes */
	if (ioas_unmap(fd, ioas, 0x100000, 8 * CPU_PAGE, NULL))
		return 13;
	if (!map_is_enomem(fd, ioas, mem, 8 * CPU_PAGE, 0x100000))
		return 14;
	if (!child_pinned(mm_mode, pin0, 12))
		return 15;
	/* Once the copy goes too, there is room again */
	if (ioas_unmap(fd, ioas, 0x300000, 8 * CPU_PAGE, NULL))
		return 16;
	if (!child_pinned(mm_mode, pin0, 4))
		return 17;
	if (ioas_map_fixed(fd, ioas, mem, 8 * CPU_PAGE, 0x100000))
		return 18;
	if (!child_pinned(mm_mode, pin0, 12))
		return 19;
	if (ioas_unmap(fd, ioas, 0, UINT64_MAX, NULL))
		return 20;
	if (!child_pinned(mm_mode, pin0, 0))
		return 21;
	return 0;
}

TEST_F(pin, memlock_limit_is_enforced_without_cap_ipc_lock)
{
	EXPECT_EQ(0, run_in_child(memlock_child, self->fd, self->ioas_id,
				  self->mem, variant->rlimit_mode));
	EXPECT_PIN_CHARGED(0);
}

static int cap_ipc_lock_child(int fd, uint32_t ioas, uint8_t *mem,
			      bool mm_mode)
{
	long pin0 = vmpin_kb();
	uint64_t iova;

	if (set_memlock_limit(LIMIT_PAGES * CPU_PAGE))
		return 1;
	if (ioas_map_auto(fd, ioas, mem, SZ_2M, &iova))
		return 2;
	/* Still in VmPin, only not limited */
	if (vmpin_kb() != pin0 + 2048)
		return 3;
	if (ioas_unmap(fd, ioas, iova, SZ_2M, NULL))
		return 4;
	if (vmpin_kb() != pin0)
		return 5;
	return 0;
}

TEST_F(pin, memlock_limit_does_not_bind_with_cap_ipc_lock)
{
	EXPECT_EQ(0, run_in_child(cap_ipc_lock_child, self->fd, self->ioas_id,
				  self->mem, variant->rlimit_mode));
	EXPECT_PIN_CHARGED(0);
}

/* ---- Lazy pinning: memory is pinned while a domain needs it ---- */

TEST(pinning_follows_the_domains_of_the_ioas)
{
	const size_t len = 4 * CPU_PAGE;
	struct charge charge0;
	uint32_t ioas, copy_ioas, mock, copy_mock;
	uint8_t *buf, *gone;
	int fd;

	MOCK_FILE_OPEN(fd, return);
	ASSERT_EQ(0, charge_read(fd, &charge0));
	buf = small_pages_alloc(len);
	gone = small_pages_alloc(CPU_PAGE);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, gone);
	ASSERT_EQ(0, munmap(gone, CPU_PAGE));
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));

	/* No domain: nothing is looked at, pinned or charged */
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, buf, len, SZ_1M));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, gone, CPU_PAGE, SZ_2M));
	EXPECT_EQ(0, check_pins(fd, buf, len, 0));
	expect_charge(_metadata, fd, &charge0, false, 0);

	/* The first domain pins everything; memory that is gone refuses it */
	EXPECT_ERRNO(EFAULT, mock_domain_add(fd, ioas, 0, &mock));
	EXPECT_EQ(0, check_pins(fd, buf, len, 0));
	expect_charge(_metadata, fd, &charge0, false, 0);
	ASSERT_EQ(0, ioas_unmap(fd, ioas, SZ_2M, CPU_PAGE, NULL));
	ASSERT_EQ(0, mock_domain_add(fd, ioas, 0, &mock));
	EXPECT_EQ(0, check_pins(fd, buf, len, 1));
	expect_charge(_metadata, fd, &charge0, false, len / CPU_PAGE);

	/* A copy into an IOAS with a domain shares the pin and the charge */
	ASSERT_EQ(0, ioas_alloc(fd, &copy_ioas));
	ASSERT_EQ(0, mock_domain_add(fd, copy_ioas, 0, &copy_mock));
	ASSERT_EQ(0, ioas_copy_fixed(fd, copy_ioas, SZ_1M, ioas,
				     SZ_1M + CPU_PAGE, CPU_PAGE));
	EXPECT_EQ(0, mock_check_map(fd, copy_mock, SZ_1M, CPU_PAGE,
				    buf + CPU_PAGE, PROT_RW, NULL));
	EXPECT_EQ(0, check_pins(fd, buf, len, 1));
	expect_charge(_metadata, fd, &charge0, false, len / CPU_PAGE);

	/* The first IOAS loses its domain: only the copy's page stays */
	ASSERT_EQ(0, object_destroy(fd, mock));
	EXPECT_EQ(0, check_pins(fd, buf + CPU_PAGE, CPU_PAGE, 1));
	EXPECT_EQ(0, check_pins(fd, buf, CPU_PAGE, 0));
	EXPECT_EQ(0, check_pins(fd, buf + 2 * CPU_PAGE, 2 * CPU_PAGE, 0));
	expect_charge(_metadata, fd, &charge0, false, 1);

	/* A new domain pins again, and the copy's page is still once */
	ASSERT_EQ(0, mock_domain_add(fd, ioas, 0, &mock));
	EXPECT_EQ(0, check_pins(fd, buf, len, 1));
	expect_charge(_metadata, fd, &charge0, false, len / CPU_PAGE);
	ASSERT_EQ(0, close(fd));
	munmap(buf, len);
}

/*
 * Scattered 4 KiB memory is mostly runs of one page, some thousands of
 * them over several chunks of the kernel's bookkeeping. Every page must
 * reach the domain, a copy from the middle must find its place among them,
 * and dropping the first domain must unpin exactly what the copy does not
 * hold, splitting what is pinned around it.
 */
TEST(scattered_memory_reaches_the_domain_page_by_page)
{
	const size_t len = 24UL << 20;
	const size_t copy_at = 1499 * CPU_PAGE, copy_len = 3001 * CPU_PAGE;
	uint32_t ioas, copy_ioas, mock, copy_mock;
	uint8_t *buf;
	int fd;

	SKIP_IF_UPSTREAM_MOCK(return);
	fd = iommufd_open();
	ASSERT_LE(0, fd);
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, madvise(buf, len, MADV_NOHUGEPAGE));
	touch_scattered(buf, len, 7);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, mock_domain_add(fd, ioas, 0, &mock));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, buf, len, SZ_2M));
	EXPECT_EQ(0, mock_check_map(fd, mock, SZ_2M, len, buf, 0, NULL));
	EXPECT_EQ(0, check_pins(fd, buf, len, 1));

	ASSERT_EQ(0, ioas_alloc(fd, &copy_ioas));
	ASSERT_EQ(0, mock_domain_add(fd, copy_ioas, 0, &copy_mock));
	ASSERT_EQ(0, ioas_copy_fixed(fd, copy_ioas, SZ_2M, ioas,
				     SZ_2M + copy_at, copy_len));
	EXPECT_EQ(0, mock_check_map(fd, copy_mock, SZ_2M, copy_len,
				    buf + copy_at, 0, NULL));

	/* The copy keeps its part pinned; the rest goes with the domain */
	ASSERT_EQ(0, object_destroy(fd, mock));
	EXPECT_EQ(0, check_pins(fd, buf, copy_at, 0));
	EXPECT_EQ(0, check_pins(fd, buf + copy_at, copy_len, 1));
	EXPECT_EQ(0, check_pins(fd, buf + copy_at + copy_len,
				len - copy_at - copy_len, 0));
	EXPECT_EQ(0, mock_check_map(fd, copy_mock, SZ_2M, copy_len,
				    buf + copy_at, 0, NULL));

	/* A new domain pins around the copy's pages and maps them all */
	ASSERT_EQ(0, mock_domain_add(fd, ioas, 0, &mock));
	EXPECT_EQ(0, mock_check_map(fd, mock, SZ_2M, len, buf, 0, NULL));
	EXPECT_EQ(0, check_pins(fd, buf, len, 1));
	ASSERT_EQ(0, ioas_unmap(fd, copy_ioas, SZ_2M, copy_len, NULL));
	EXPECT_EQ(0, check_pins(fd, buf, len, 1));
	ASSERT_EQ(0, ioas_unmap(fd, ioas, SZ_2M, len, NULL));
	EXPECT_EQ(0, check_pins(fd, buf, len, 0));
	ASSERT_EQ(0, close(fd));
	munmap(buf, len);
}

/*
 * A run of physically contiguous memory ends wherever the memory map
 * breaks, even inside a large folio: the tail of one THP moved (mremap)
 * over the tail of another makes 2 MiB of memory that is two runs, split
 * at @cut pages, at every position within a group of eight. The domain
 * must get those two runs and the right frame for every page.
 */
TEST(runs_end_wherever_the_memory_map_breaks)
{
	static const unsigned int cuts[] = {
		1, 2, 7, 8, 9, 12, 15, 16, 17, 24, 100, 255, 256, 503, 511,
	};
	uint32_t ioas, mock;
	unsigned int i;
	int fd;

	SKIP_IF_UPSTREAM_MOCK(return);
	fd = iommufd_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, mock_domain_add(fd, ioas, 0, &mock));
	for (i = 0; i != ARRAY_SIZE(cuts); i++) {
		size_t tail = SZ_2M - cuts[i] * CPU_PAGE, a_len, b_len;
		void *a_region, *b_region;
		uint8_t *a, *b;
		uint64_t b_pfn;

		a = thp_alloc(&a_region, &a_len);
		ASSERT_NE(NULL, a);
		b = thp_alloc(&b_region, &b_len);
		ASSERT_NE(NULL, b);
		if (!backed_by_2m_frame(a) || !backed_by_2m_frame(b)) {
			munmap(a_region, a_len);
			munmap(b_region, b_len);
			SKIP(break, "no transparent huge pages");
		}
		b_pfn = va_to_pfn(b);
		ASSERT_NE(MAP_FAILED, mremap(b + SZ_2M - tail, tail, tail,
					     MREMAP_MAYMOVE | MREMAP_FIXED,
					     a + SZ_2M - tail));
		ASSERT_EQ(b_pfn + cuts[i], va_to_pfn(a + SZ_2M - tail));

		ASSERT_EQ(0, ioas_map_fixed(fd, ioas, a, SZ_2M, LARGE_IOVA));
		expect_shape(_metadata, fd, IO_PAGES_AND_2M, mock, LARGE_IOVA,
			     a, SZ_2M);
		ASSERT_EQ(0, ioas_unmap(fd, ioas, LARGE_IOVA, SZ_2M, NULL));
		EXPECT_EQ(0, check_pins(fd, a, SZ_2M, 0));
		munmap(a_region, a_len);
		munmap(b_region, b_len);
	}
	ASSERT_EQ(0, close(fd));
}

TEST_HARNESS_MAIN
