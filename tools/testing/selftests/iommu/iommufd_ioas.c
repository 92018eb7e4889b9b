// SPDX-License-Identifier: GPL-2.0-only
/*
 * The data path of an IOAS as userspace sees it, with no IOMMU domain
 * attached: IOMMU_IOAS_MAP, IOMMU_IOAS_COPY, IOMMU_IOAS_UNMAP,
 * IOMMU_IOAS_ALLOW_IOVAS and the per-IOAS HUGE_PAGES option. Every test
 * uses the public uAPI only and passes on pristine 6.12 too.
 *
 * As in 6.12, a MAP or COPY into an IOAS with no domain and no access pins
 * and charges nothing and does not even look at the user memory (that
 * happens when a domain is attached or an access pins): VmPin stays where
 * it was, an unbacked user_va is accepted, RLIMIT_MEMLOCK does not bind.
 * The tests say so after every step. The accounting of pinned memory is
 * tested where a domain exists: iommufd_mock.c and iommufd_vfio_edu.c.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include "iommufd_selftest.h"

/*
 * An empty IOAS in RLIMIT_MODE 1, where a charge would show as VmPin, with a
 * 64 KiB anonymous buffer. vmpin0 is VmPin when the test starts; every test
 * checks that nothing moved it.
 */
#define BUF_SIZE (16 * CPU_PAGE)

FIXTURE(ioas)
{
	int fd;
	uint32_t ioas_id;
	uint8_t *buf;
	long vmpin0;
};

FIXTURE_SETUP(ioas)
{
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, rlimit_mode_set(self->fd, 1));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	self->buf = anon_alloc(BUF_SIZE);
	ASSERT_NE(NULL, self->buf);
	self->vmpin0 = vmpin_kb();
	ASSERT_LE(0, self->vmpin0);
}

FIXTURE_TEARDOWN(ioas)
{
	close(self->fd);
	munmap(self->buf, BUF_SIZE);
}

/* Without a domain or an access nothing is pinned: VmPin has not moved */
#define EXPECT_NOTHING_PINNED() EXPECT_EQ(self->vmpin0, vmpin_kb())

/*
 * Whether @iova is covered by a mapping: a one-byte fixed map there fails
 * with EEXIST exactly when it is. @page is any page-aligned mapped buffer.
 */
static bool iova_in_use(int fd, uint32_t ioas, uint8_t *page, uint64_t iova)
{
	if (ioas_map_fixed(fd, ioas, page + (iova & (CPU_PAGE - 1)), 1, iova))
		return errno == EEXIST;
	ioas_unmap(fd, ioas, iova, 1, NULL);
	return false;
}

TEST_F(ioas, map_fixed_then_unmap_returns_length)
{
	uint64_t len;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    BUF_SIZE, 0x100000));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x100000, BUF_SIZE,
				&len));
	EXPECT_EQ(BUF_SIZE, len);
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, map_rejects_nonzero_reserved)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = MAP_RW,
		.ioas_id = self->ioas_id,
		.__reserved = 1,
		.user_va = (uintptr_t)self->buf,
		.length = CPU_PAGE,
	};

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.__reserved = 0x80000000;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	EXPECT_NOTHING_PINNED();
}

/*
 * A length whose page count would not fit (above SIZE_MAX - PAGE_SIZE) is
 * EINVAL, and that is checked before any wrap of the IOVA or user range.
 */
TEST_F(ioas, map_length_above_size_max_minus_a_page_is_einval)
{
	uint64_t iova;

	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, UINT64_MAX - 1,
					    2 * CPU_PAGE));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, UINT64_MAX - CPU_PAGE + 1,
					    0));
	EXPECT_ERRNO(EINVAL, ioas_map_auto(self->fd, self->ioas_id, self->buf,
					   UINT64_MAX - 1, &iova));
	/* One byte less and the user range wrapping is what is refused */
	EXPECT_ERRNO(EOVERFLOW, ioas_map_fixed(self->fd, self->ioas_id,
					       self->buf, UINT64_MAX - CPU_PAGE,
					       0));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, map_user_range_wrapping_is_eoverflow)
{
	uint64_t iova;

	/* user_va + length wraps although the IOVA range would fit */
	EXPECT_ERRNO(EOVERFLOW, ioas_map_fixed(self->fd, self->ioas_id,
					       self->buf, UINT64_MAX - CPU_PAGE,
					       0));
	EXPECT_ERRNO(EOVERFLOW, ioas_map_auto(self->fd, self->ioas_id,
					      (void *)(UINT64_MAX - CPU_PAGE + 1),
					      2 * CPU_PAGE, &iova));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, map_user_range_ending_at_top_of_address_space_is_accepted)
{
	uint64_t len;

	/*
	 * user_va + length is exactly UINT64_MAX: no wrap. Kernel addresses
	 * could never be pinned, but with no domain nothing is pinned, so
	 * 6.12 takes the MAP; a domain attached later would fail to fill.
	 */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    (void *)(UINT64_MAX - 2 * CPU_PAGE + 2),
				    2 * CPU_PAGE - 2, 0x10001));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x10001,
				2 * CPU_PAGE - 2, &len));
	EXPECT_EQ(2 * CPU_PAGE - 2, len);
}

TEST_F(ioas, map_fixed_may_end_exactly_at_u64_max)
{
	uint64_t top = UINT64_MAX - CPU_PAGE + 1;
	uint64_t len;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    CPU_PAGE, top));
	EXPECT_NOTHING_PINNED();
	EXPECT_TRUE(iova_in_use(self->fd, self->ioas_id, self->buf,
				UINT64_MAX - 1));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, top, CPU_PAGE, &len));
	EXPECT_EQ(CPU_PAGE, len);
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, map_fixed_unaligned_range_ending_at_u64_max)
{
	/* Alignment is 1: the last 0xfff bytes of the space, offset 1 */
	uint64_t len;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf + 1,
				    CPU_PAGE - 1, UINT64_MAX - CPU_PAGE + 2));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, &len));
	EXPECT_EQ(CPU_PAGE - 1, len);
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, map_charges_every_page_the_range_touches)
{
	/* 0x1002 bytes from offset 0xfff: three pages */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf + 0xfff,
				    0x1002, 0x20fff));
	EXPECT_EQ(3, pages_spanned(self->buf + 0xfff, 0x1002));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x20fff, 0x1002,
				NULL));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, map_fixed_right_next_to_a_mapping_works)
{
	uint64_t base = 0x40000;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * CPU_PAGE, base));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * CPU_PAGE, base - 4 * CPU_PAGE));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * CPU_PAGE, base + 4 * CPU_PAGE));
	/* A byte-granular neighbour: ends one byte before the next page */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf + 0xf00,
				    0xff, base + 8 * CPU_PAGE + 0xf00));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf + 0xfff,
				    1, base + 8 * CPU_PAGE + 0xfff));
	EXPECT_NOTHING_PINNED();
}

/*
 * 6.12 does not look at the user memory of a MAP into an IOAS with no
 * domain and no access: unmapped, PROT_NONE or read-only memory is taken
 * (a later domain attach or access pin reports the fault), and each such
 * MAP holds its IOVA like any other.
 */
TEST_F(ioas, map_of_unmapped_user_memory_is_accepted_without_a_domain)
{
	uint8_t *hole = self->buf + 4 * CPU_PAGE;
	uint64_t iova, len;

	ASSERT_EQ(0, munmap(hole, 2 * CPU_PAGE));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, hole, CPU_PAGE,
				    0x10000));
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, hole + 1, 10,
				   &iova));
	/* Starts in good memory and runs into the hole */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * CPU_PAGE, 0x20000));
	EXPECT_ERRNO(EEXIST, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    CPU_PAGE, 0x10000));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, &len));
	EXPECT_EQ(CPU_PAGE + 10 + 8 * CPU_PAGE, len);
}

TEST_F(ioas, map_of_prot_none_memory_is_accepted_without_a_domain)
{
	uint64_t iova = 0;

	ASSERT_EQ(0, mprotect(self->buf, 2 * CPU_PAGE, PROT_NONE));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, IOMMU_IOAS_MAP_READABLE,
			      self->buf, CPU_PAGE, &iova));
	EXPECT_NE(0, iova);
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, map_writeable_of_read_only_memory_is_accepted_without_a_domain)
{
	uint64_t iova = 0x10000;

	ASSERT_EQ(0, mprotect(self->buf, 4 * CPU_PAGE, PROT_READ));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id,
			      IOMMU_IOAS_MAP_FIXED_IOVA |
			      IOMMU_IOAS_MAP_WRITEABLE,
			      self->buf, CPU_PAGE, &iova));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 2 * CPU_PAGE, 4 * CPU_PAGE,
				    0x20000));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, map_readable_of_read_only_memory_works)
{
	uint64_t iova = 0x10000;

	ASSERT_EQ(0, mprotect(self->buf, 4 * CPU_PAGE, PROT_READ));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id,
			      IOMMU_IOAS_MAP_FIXED_IOVA |
			      IOMMU_IOAS_MAP_READABLE,
			      self->buf, 4 * CPU_PAGE, &iova));
	EXPECT_NOTHING_PINNED();
}

/*
 * 6.12's automatic IOVA search starts at PAGE_SIZE (IOVA 0 is never
 * chosen) and aligns the IOVA to the length rounded up to a power of two,
 * but not beyond the alignment of the user address.
 */
TEST_F(ioas, map_auto_in_empty_ioas_never_takes_iova_zero)
{
	uint64_t iova = 0xdead000, align;

	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf,
				   CPU_PAGE, &iova));
	EXPECT_EQ(CPU_PAGE, iova);
	/* 16 KiB long: 16 KiB aligned if the buffer is, else as the buffer */
	align = (uintptr_t)self->buf & -(uintptr_t)self->buf;
	if (align > 4 * CPU_PAGE)
		align = 4 * CPU_PAGE;
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf,
				   4 * CPU_PAGE, &iova));
	EXPECT_EQ(0, iova % align);
	EXPECT_EQ(2 * CPU_PAGE + align - 1 - (2 * CPU_PAGE + align - 1) % align,
		  iova);
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, map_auto_takes_the_lowest_free_hole)
{
	uint64_t iova;

	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf, CPU_PAGE,
				   &iova));
	EXPECT_EQ(CPU_PAGE, iova);
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf, CPU_PAGE,
				   &iova));
	EXPECT_EQ(2 * CPU_PAGE, iova);
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf, CPU_PAGE,
				   &iova));
	EXPECT_EQ(3 * CPU_PAGE, iova);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 2 * CPU_PAGE,
				CPU_PAGE, NULL));
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf, CPU_PAGE,
				   &iova));
	EXPECT_EQ(2 * CPU_PAGE, iova);
	/* A free IOVA 0 is still not taken */
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf, CPU_PAGE,
				   &iova));
	EXPECT_EQ(4 * CPU_PAGE, iova);
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, map_auto_skips_holes_that_are_too_small)
{
	uint64_t iova;

	/* Free: [0x1000, 0x3000), then everything from 0x4000 on */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    CPU_PAGE, 0));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    CPU_PAGE, 3 * CPU_PAGE));
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf + 0x10,
				   2 * CPU_PAGE, &iova));
	EXPECT_EQ(4 * CPU_PAGE + 0x10, iova);
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf + 0x10,
				   CPU_PAGE - 0x10, &iova));
	EXPECT_EQ(CPU_PAGE + 0x10, iova);
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, map_auto_results_never_overlap)
{
	uint64_t start[12], end[12];
	int i, j;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 3 * CPU_PAGE));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    CPU_PAGE, 9 * CPU_PAGE));
	start[0] = 3 * CPU_PAGE;
	end[0] = 5 * CPU_PAGE;
	start[1] = 9 * CPU_PAGE;
	end[1] = 10 * CPU_PAGE;
	for (i = 2; i != 12; i++) {
		uint64_t off = (i * 0x155) & (CPU_PAGE - 1);
		uint64_t len = (i % 3 + 1) * CPU_PAGE - off / 2;

		ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id,
					   self->buf + off, len, &start[i]));
		/*
		 * The page offset is ORed into a hole start that need not be
		 * page aligned, so it is not always kept; IOVA 0 never comes.
		 */
		EXPECT_LE(CPU_PAGE, start[i]);
		end[i] = start[i] + len;
	}
	for (i = 0; i != 12; i++)
		for (j = i + 1; j != 12; j++)
			EXPECT_TRUE(end[i] <= start[j] || end[j] <= start[i]);
}

TEST_F(ioas, map_auto_of_2m_aligned_buffer_gets_2m_aligned_iova)
{
	size_t len = 4 * SZ_2M;
	uint8_t *mem, *aligned;
	uint64_t iova;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	aligned = (uint8_t *)(((uintptr_t)mem + SZ_2M - 1) & ~(SZ_2M - 1));

	/* Make the lowest free IOVA a 4 KiB aligned one */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    CPU_PAGE, 0));
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, aligned, SZ_2M,
				   &iova));
	EXPECT_EQ(0, iova % SZ_2M);
	EXPECT_NE(0, iova);
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, aligned,
				   SZ_2M + 3 * CPU_PAGE, &iova));
	EXPECT_EQ(0, iova % SZ_2M);
	EXPECT_NOTHING_PINNED();
	/* A smaller buffer may go into the low hole */
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, aligned, CPU_PAGE,
				   &iova));
	EXPECT_EQ(CPU_PAGE, iova);
	close(self->fd);
	self->fd = -1;
	EXPECT_NOTHING_PINNED();
	munmap(mem, len);
}

TEST_F(ioas, unmap_all_of_an_empty_ioas_returns_zero)
{
	uint64_t len = 1234;

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, &len));
	EXPECT_EQ(0, len);
}

TEST_F(ioas, unmap_all_removes_every_mapping_and_sums_them)
{
	uint64_t len;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    CPU_PAGE, 0));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf + 5, 100,
				    0x7000005));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    3 * CPU_PAGE,
				    UINT64_MAX - 3 * CPU_PAGE + 1));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, &len));
	EXPECT_EQ(CPU_PAGE + 100 + 3 * CPU_PAGE, len);
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, &len));
	EXPECT_EQ(0, len);
}

TEST_F(ioas, unmap_zero_length_is_einval)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    CPU_PAGE, 0x10000));
	EXPECT_ERRNO(EINVAL, ioas_unmap(self->fd, self->ioas_id, 0x10000, 0,
					NULL));
	EXPECT_ERRNO(EINVAL, ioas_unmap(self->fd, self->ioas_id, 0, 0, NULL));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, unmap_of_u64_max_values_is_eoverflow)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    CPU_PAGE, 0x10000));
	/* Only iova 0 with length UINT64_MAX means "everything" */
	EXPECT_ERRNO(EOVERFLOW, ioas_unmap(self->fd, self->ioas_id, CPU_PAGE,
					   UINT64_MAX, NULL));
	EXPECT_ERRNO(EOVERFLOW, ioas_unmap(self->fd, self->ioas_id, 1,
					   UINT64_MAX, NULL));
	EXPECT_ERRNO(EOVERFLOW, ioas_unmap(self->fd, self->ioas_id, UINT64_MAX,
					   1, NULL));
	EXPECT_ERRNO(EOVERFLOW, ioas_unmap(self->fd, self->ioas_id, UINT64_MAX,
					   UINT64_MAX, NULL));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, unmap_range_wrapping_past_u64_max_is_eoverflow)
{
	EXPECT_ERRNO(EOVERFLOW, ioas_unmap(self->fd, self->ioas_id,
					   UINT64_MAX - CPU_PAGE + 1,
					   2 * CPU_PAGE, NULL));
	EXPECT_ERRNO(EOVERFLOW, ioas_unmap(self->fd, self->ioas_id, 3,
					   UINT64_MAX - 1, NULL));
}

TEST_F(ioas, unmap_where_nothing_is_mapped_is_enoent)
{
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, 0x10000,
					CPU_PAGE, NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 0x10000));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, 0x20000,
					0x10000, NULL));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, 0, 0x10000,
					NULL));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, 0x12000,
					UINT64_MAX - 0x12000, NULL));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, unmap_unknown_ioas_is_enoent)
{
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, 0, 0, UINT64_MAX, NULL));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id + 100, 0x1000,
					0x1000, NULL));
}

TEST_F(ioas, unmap_of_part_of_a_mapping_is_enoent)
{
	uint64_t base = 0x10000;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * CPU_PAGE, base));
	/* Head, tail, middle, one byte short at either end */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, base, CPU_PAGE,
					NULL));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id,
					base + 3 * CPU_PAGE, CPU_PAGE, NULL));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id,
					base + CPU_PAGE, 2 * CPU_PAGE, NULL));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, base,
					4 * CPU_PAGE - 1, NULL));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, base + 1,
					4 * CPU_PAGE - 1, NULL));
	/* Sticking out of one end only */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id,
					base - CPU_PAGE, 2 * CPU_PAGE, NULL));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id,
					base + 2 * CPU_PAGE, 0x100000, NULL));
	EXPECT_NOTHING_PINNED();
	EXPECT_TRUE(iova_in_use(self->fd, self->ioas_id, self->buf, base));
	EXPECT_TRUE(iova_in_use(self->fd, self->ioas_id, self->buf,
				base + 4 * CPU_PAGE - 1));
}

/*
 * 6.12 takes the mappings of the range in IOVA order: the whole ones it
 * meets before one that sticks out are removed, and that one fails the
 * call with ENOENT (reporting no length). A cut first mapping removes
 * nothing.
 */
TEST_F(ioas, unmap_that_cuts_a_mapping_removes_the_whole_ones_before_it)
{
	uint64_t len;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 0x20000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 0x30000));
	/* Covers the first two whole, cuts the third */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, 0x10000,
					0x21000, NULL));
	EXPECT_FALSE(iova_in_use(self->fd, self->ioas_id, self->buf, 0x10000));
	EXPECT_FALSE(iova_in_use(self->fd, self->ioas_id, self->buf, 0x20000));
	EXPECT_TRUE(iova_in_use(self->fd, self->ioas_id, self->buf, 0x31000));

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 0x20000));
	/* Cuts the first, which stops it before the two whole ones */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, 0x11000,
					0x30000, NULL));
	EXPECT_NOTHING_PINNED();
	EXPECT_TRUE(iova_in_use(self->fd, self->ioas_id, self->buf, 0x10000));
	EXPECT_TRUE(iova_in_use(self->fd, self->ioas_id, self->buf, 0x20000));
	EXPECT_TRUE(iova_in_use(self->fd, self->ioas_id, self->buf, 0x30000));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, &len));
	EXPECT_EQ(6 * CPU_PAGE, len);
}

TEST_F(ioas, unmap_of_several_whole_mappings_returns_their_sum)
{
	uint64_t len;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    CPU_PAGE, 0x12000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf + 0x10,
				    0x20, 0x18010));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    CPU_PAGE, 0x40000));
	EXPECT_NOTHING_PINNED();
	/* The range starts in a hole and ends in a hole */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x8000, 0x20000,
				&len));
	EXPECT_EQ(3 * CPU_PAGE + 0x20, len);
	EXPECT_NOTHING_PINNED();
	EXPECT_TRUE(iova_in_use(self->fd, self->ioas_id, self->buf, 0x40000));
	EXPECT_FALSE(iova_in_use(self->fd, self->ioas_id, self->buf, 0x10000));
	EXPECT_FALSE(iova_in_use(self->fd, self->ioas_id, self->buf, 0x18010));
}

TEST_F(ioas, unmap_of_exact_range_frees_the_iova_for_reuse)
{
	int i;

	for (i = 0; i != 4; i++) {
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    BUF_SIZE, 0x10000));
		EXPECT_NOTHING_PINNED();
		ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x10000,
					BUF_SIZE, NULL));
		EXPECT_NOTHING_PINNED();
	}
}

TEST_F(ioas, copy_shares_the_source_pages_without_a_new_charge)
{
	uint64_t len;
	uint32_t dst;

	ASSERT_EQ(0, ioas_alloc(self->fd, &dst));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, dst, 0x80000, self->ioas_id,
				     0x10000, 4 * CPU_PAGE));
	EXPECT_NOTHING_PINNED();
	EXPECT_TRUE(iova_in_use(self->fd, dst, self->buf, 0x80000));
	EXPECT_TRUE(iova_in_use(self->fd, dst, self->buf, 0x83fff));
	EXPECT_FALSE(iova_in_use(self->fd, dst, self->buf, 0x84000));
	/* The copy outlives its source and keeps the pages pinned */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x10000, 4 * CPU_PAGE,
				NULL));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, dst, 0x80000, 4 * CPU_PAGE, &len));
	EXPECT_EQ(4 * CPU_PAGE, len);
	EXPECT_NOTHING_PINNED();
}

/*
 * A MAP or COPY whose result cannot be written back fails with EFAULT but
 * keeps its mapping (6.12 does not take it back: another thread may have
 * replaced it by then).
 */
TEST_F(ioas, map_and_copy_keep_the_mapping_when_the_result_is_unwritable)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = self->ioas_id,
		.user_va = (uintptr_t)self->buf,
		.length = CPU_PAGE,
		.iova = 0x10000,
	};
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
		.dst_ioas_id = self->ioas_id,
		.src_ioas_id = self->ioas_id,
		.length = CPU_PAGE,
		.dst_iova = 0x20000,
		.src_iova = 0x10000,
	};
	uint64_t unmapped;
	void *ro;

	ro = read_only_copy(&map, sizeof(map));
	ASSERT_NE(NULL, ro);
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_MAP, ro));
	munmap(ro, CPU_PAGE);
	ro = read_only_copy(&copy, sizeof(copy));
	ASSERT_NE(NULL, ro);
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_COPY, ro));
	munmap(ro, CPU_PAGE);

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x10000, CPU_PAGE,
				&unmapped));
	EXPECT_EQ(CPU_PAGE, unmapped);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x20000, CPU_PAGE,
				&unmapped));
	EXPECT_EQ(CPU_PAGE, unmapped);
}

TEST_F(ioas, copy_of_an_unmapped_source_is_enoent)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 0x13000));
	/* Nothing there; starts before; runs past the end; spans a hole */
	EXPECT_ERRNO(ENOENT, ioas_copy_fixed(self->fd, self->ioas_id, 0x80000,
					     self->ioas_id, 0x20000, CPU_PAGE));
	EXPECT_ERRNO(ENOENT, ioas_copy_fixed(self->fd, self->ioas_id, 0x80000,
					     self->ioas_id, 0xf000,
					     2 * CPU_PAGE));
	EXPECT_ERRNO(ENOENT, ioas_copy_fixed(self->fd, self->ioas_id, 0x80000,
					     self->ioas_id, 0x14000,
					     2 * CPU_PAGE));
	EXPECT_ERRNO(ENOENT, ioas_copy_fixed(self->fd, self->ioas_id, 0x80000,
					     self->ioas_id, 0x11000,
					     3 * CPU_PAGE));
	EXPECT_ERRNO(ENOENT, ioas_copy_fixed(self->fd, self->ioas_id, 0x80000,
					     self->ioas_id, 0x10000,
					     5 * CPU_PAGE));
	/* Running a single byte past the end of a mapping is enough */
	EXPECT_ERRNO(ENOENT, ioas_copy_fixed(self->fd, self->ioas_id, 0x80001,
					     self->ioas_id, 0x11001, CPU_PAGE));
	EXPECT_FALSE(iova_in_use(self->fd, self->ioas_id, self->buf, 0x80000));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, copy_of_part_of_a_mapping_works)
{
	uint64_t len;
	uint32_t dst;

	ASSERT_EQ(0, ioas_alloc(self->fd, &dst));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, dst, 0x50000, self->ioas_id,
				     0x11000, 2 * CPU_PAGE));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, dst, 0x60123, self->ioas_id,
				     0x13123, 0x10));
	EXPECT_NOTHING_PINNED();
	/* The source stays one mapping */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, 0x11000,
					2 * CPU_PAGE, NULL));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x10000, 4 * CPU_PAGE,
				NULL));
	/* The sub-range pages stay pinned, the others are released */
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, dst, 0x50000, 2 * CPU_PAGE, &len));
	EXPECT_EQ(2 * CPU_PAGE, len);
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, dst, 0, UINT64_MAX, &len));
	EXPECT_EQ(0x10, len);
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, copy_across_two_source_mappings_unmaps_only_as_a_whole_range)
{
	uint64_t len;
	uint32_t dst;

	ASSERT_EQ(0, ioas_alloc(self->fd, &dst));
	/* Adjacent in IOVA, unrelated in memory */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 8 * CPU_PAGE, 2 * CPU_PAGE,
				    0x12000));
	/* One page of the first, both pages of the second */
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, dst, 0x60000, self->ioas_id,
				     0x11000, 3 * CPU_PAGE));
	EXPECT_NOTHING_PINNED();
	/* The copy is two mappings: [0x60000, 0x61000) and [0x61000, 0x63000) */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, dst, 0x61000, CPU_PAGE,
					NULL));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, dst, 0x60800, 0x2800, NULL));
	EXPECT_TRUE(iova_in_use(self->fd, dst, self->buf, 0x60000));
	/* The first is whole, the second cut: only the first goes */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, dst, 0x60000, 2 * CPU_PAGE,
					NULL));
	EXPECT_FALSE(iova_in_use(self->fd, dst, self->buf, 0x60000));
	EXPECT_TRUE(iova_in_use(self->fd, dst, self->buf, 0x61000));
	ASSERT_EQ(0, ioas_unmap(self->fd, dst, 0x60000, 3 * CPU_PAGE, &len));
	EXPECT_EQ(2 * CPU_PAGE, len);
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, copy_across_two_source_mappings_gives_two_back_to_back)
{
	uint64_t len;
	uint32_t dst;

	ASSERT_EQ(0, ioas_alloc(self->fd, &dst));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 8 * CPU_PAGE, 2 * CPU_PAGE,
				    0x12000));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, dst, 0x60000, self->ioas_id,
				     0x11000, 3 * CPU_PAGE));
	/* Each piece is a whole mapping of its own */
	ASSERT_EQ(0, ioas_unmap(self->fd, dst, 0x61000, 2 * CPU_PAGE, &len));
	EXPECT_EQ(2 * CPU_PAGE, len);
	ASSERT_EQ(0, ioas_unmap(self->fd, dst, 0x60000, CPU_PAGE, &len));
	EXPECT_EQ(CPU_PAGE, len);
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, copy_writeable_from_a_read_only_mapping_is_eperm)
{
	uint64_t iova = 0x10000;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id,
			      IOMMU_IOAS_MAP_FIXED_IOVA |
			      IOMMU_IOAS_MAP_READABLE,
			      self->buf, 2 * CPU_PAGE, &iova));
	EXPECT_ERRNO(EPERM, ioas_copy_fixed(self->fd, self->ioas_id, 0x80000,
					    self->ioas_id, 0x10000,
					    2 * CPU_PAGE));
	iova = 0x80000;
	EXPECT_ERRNO(EPERM, ioas_copy(self->fd,
				      IOMMU_IOAS_MAP_FIXED_IOVA |
				      IOMMU_IOAS_MAP_WRITEABLE,
				      self->ioas_id, &iova, self->ioas_id,
				      0x10000, CPU_PAGE));
	EXPECT_FALSE(iova_in_use(self->fd, self->ioas_id, self->buf, 0x80000));
	ASSERT_EQ(0, ioas_copy(self->fd,
			       IOMMU_IOAS_MAP_FIXED_IOVA |
			       IOMMU_IOAS_MAP_READABLE,
			       self->ioas_id, &iova, self->ioas_id, 0x10000,
			       2 * CPU_PAGE));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, copy_writeable_is_eperm_if_any_source_piece_is_read_only)
{
	uint64_t iova = 0x12000;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id,
			      IOMMU_IOAS_MAP_FIXED_IOVA |
			      IOMMU_IOAS_MAP_READABLE,
			      self->buf + 4 * CPU_PAGE, 2 * CPU_PAGE, &iova));
	EXPECT_ERRNO(EPERM, ioas_copy_fixed(self->fd, self->ioas_id, 0x80000,
					    self->ioas_id, 0x10000,
					    4 * CPU_PAGE));
	EXPECT_FALSE(iova_in_use(self->fd, self->ioas_id, self->buf, 0x80000));
	/* The writeable piece alone may be copied writeable */
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, self->ioas_id, 0x80000,
				     self->ioas_id, 0x10000, 2 * CPU_PAGE));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, copy_within_one_ioas_works)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, self->ioas_id, 0x90000,
				     self->ioas_id, 0x10000, 4 * CPU_PAGE));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x10000, 4 * CPU_PAGE,
				NULL));
	EXPECT_NOTHING_PINNED();
	EXPECT_TRUE(iova_in_use(self->fd, self->ioas_id, self->buf, 0x90000));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x90000, 4 * CPU_PAGE,
				NULL));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, copy_of_a_copy_keeps_the_pages_until_the_last_goes)
{
	uint32_t b, c;

	ASSERT_EQ(0, ioas_alloc(self->fd, &b));
	ASSERT_EQ(0, ioas_alloc(self->fd, &c));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, b, 0x20000, self->ioas_id,
				     0x10000, 8 * CPU_PAGE));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, c, 0x30000, b, 0x22000,
				     2 * CPU_PAGE));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, b, 0, UINT64_MAX, NULL));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, c, 0x30000, 2 * CPU_PAGE, NULL));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, allow_iovas_rejects_nonzero_reserved)
{
	struct iommu_iova_range range = { .start = 0x10000, .last = 0x1ffff };
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 1,
		.__reserved = 1,
		.allowed_iovas = (uintptr_t)&range,
	};

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS,
				       &cmd));
}

TEST_F(ioas, allow_iovas_unknown_ioas_is_enoent)
{
	struct iommu_iova_range range = { .start = 0x10000, .last = 0x1ffff };

	EXPECT_ERRNO(ENOENT, ioas_allow_iovas(self->fd, 0, &range, 1));
	EXPECT_ERRNO(ENOENT, ioas_allow_iovas(self->fd, self->ioas_id + 100,
					      &range, 1));
}

/* Expects the usable ranges to be exactly @want, in order */
static void expect_ranges(struct __test_metadata *_metadata, int fd,
			  uint32_t ioas, const struct iommu_iova_range *want,
			  uint32_t nwant)
{
	struct iommu_iova_range got[8] = {};
	uint32_t num = 8, i;

	ASSERT_EQ(0, ioas_iova_ranges(fd, ioas, got, &num, NULL));
	ASSERT_EQ(nwant, num);
	for (i = 0; i != nwant; i++) {
		EXPECT_EQ(want[i].start, got[i].start);
		EXPECT_EQ(want[i].last, got[i].last);
	}
}

TEST_F(ioas, allow_iovas_with_start_above_last_is_einval)
{
	struct iommu_iova_range ranges[] = {
		{ .start = 0x10000, .last = 0x1ffff },
		{ .start = 0x40000, .last = 0x3ffff },
	};
	struct iommu_iova_range whole = { .start = 0, .last = UINT64_MAX };

	EXPECT_ERRNO(EINVAL, ioas_allow_iovas(self->fd, self->ioas_id, ranges,
					      2));
	EXPECT_ERRNO(EINVAL, ioas_allow_iovas(self->fd, self->ioas_id,
					      &ranges[1], 1));
	/* A failed call leaves the IOAS as it was */
	expect_ranges(_metadata, self->fd, self->ioas_id, &whole, 1);
}

TEST_F(ioas, allow_iovas_with_overlapping_ranges_is_einval)
{
	struct iommu_iova_range ranges[] = {
		{ .start = 0x40000, .last = 0x4ffff },
		{ .start = 0x10000, .last = 0x1ffff },
		{ .start = 0x1f000, .last = 0x2ffff },
	};
	struct iommu_iova_range same[] = {
		{ .start = 0x10000, .last = 0x10000 },
		{ .start = 0x10000, .last = 0x10000 },
	};
	struct iommu_iova_range inside[] = {
		{ .start = 0x10000, .last = 0x8ffff },
		{ .start = 0x20000, .last = 0x2ffff },
	};
	struct iommu_iova_range first = { .start = 0x1000, .last = 0x1fff };
	struct iommu_iova_range whole = { .start = 0, .last = UINT64_MAX };
	uint64_t iova;

	same[0].last = 0x10fff;
	same[1].last = 0x10fff;
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, &first, 1));
	EXPECT_ERRNO(EINVAL, ioas_allow_iovas(self->fd, self->ioas_id, ranges,
					      3));
	EXPECT_ERRNO(EINVAL, ioas_allow_iovas(self->fd, self->ioas_id, same,
					      2));
	EXPECT_ERRNO(EINVAL, ioas_allow_iovas(self->fd, self->ioas_id, inside,
					      2));
	/* IOVA_RANGES never shows the allowed list */
	expect_ranges(_metadata, self->fd, self->ioas_id, &whole, 1);
	/* The first list still steers: one page fits, a second does not */
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf,
				   CPU_PAGE, &iova));
	EXPECT_EQ(first.start, iova);
	EXPECT_ERRNO(ENOSPC, ioas_map_auto(self->fd, self->ioas_id, self->buf,
					   CPU_PAGE, &iova));
}

/* 6.12 wants start below last: a range of one byte is refused too */
TEST_F(ioas, allow_iovas_of_a_one_byte_range_is_einval)
{
	struct iommu_iova_range ranges[] = {
		{ .start = 0x10000, .last = 0x1ffff },
		{ .start = 0, .last = 0 },
	};
	struct iommu_iova_range two = { .start = 0x5, .last = 0x6 };

	EXPECT_ERRNO(EINVAL, ioas_allow_iovas(self->fd, self->ioas_id, ranges,
					      2));
	EXPECT_ERRNO(EINVAL, ioas_allow_iovas(self->fd, self->ioas_id,
					      &ranges[1], 1));
	EXPECT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, &two, 1));
}

/*
 * IOVA_RANGES reports what is not reserved, whatever the allowed list
 * says; a short array still gets the count and the alignment.
 */
TEST_F(ioas, allow_iovas_do_not_show_in_iova_ranges)
{
	struct iommu_iova_range ranges[] = {
		{ .start = 0x900000, .last = 0x9fffff },
		{ .start = UINT64_MAX - 0xfff, .last = UINT64_MAX },
		{ .start = 0, .last = 0xfff },
		{ .start = 0x10000, .last = 0x1ffff },
	};
	struct iommu_iova_range whole = { .start = 0, .last = UINT64_MAX };
	struct iommu_iova_range got[2];
	uint64_t align = 0;
	uint32_t num = 0;

	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, ranges, 4));
	expect_ranges(_metadata, self->fd, self->ioas_id, &whole, 1);
	memset(got, 0x5a, sizeof(got));
	EXPECT_ERRNO(EMSGSIZE, ioas_iova_ranges(self->fd, self->ioas_id, got,
						&num, &align));
	EXPECT_EQ(1, num);
	EXPECT_EQ(1, align);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, got[0].start);
}

TEST_F(ioas, allow_iovas_replaces_the_previous_list)
{
	struct iommu_iova_range a[] = {
		{ .start = 0x10000, .last = 0x1ffff },
		{ .start = 0x30000, .last = 0x3ffff },
	};
	struct iommu_iova_range b = { .start = 0x100000, .last = 0x1fffff };
	uint64_t iova;

	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, a, 2));
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, &b, 1));
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf,
				   CPU_PAGE, &iova));
	EXPECT_EQ(b.start, iova);
	/* A fixed IOVA in the old list (or in none) is still accepted */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    CPU_PAGE, 0x10000));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, allow_iovas_of_zero_ranges_lifts_the_constraint)
{
	struct iommu_iova_range window = { .start = 0x10000, .last = 0x1ffff };
	struct iommu_iova_range whole = { .start = 0, .last = UINT64_MAX };
	uint64_t iova;

	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, &window, 1));
	EXPECT_ERRNO(ENOSPC, ioas_map_auto(self->fd, self->ioas_id, self->buf,
					   0x10001, &iova));
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, NULL, 0));
	expect_ranges(_metadata, self->fd, self->ioas_id, &whole, 1);
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf,
				   0x10001, &iova));
	EXPECT_LE(CPU_PAGE, iova);
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, map_auto_stays_inside_the_allowed_ranges)
{
	struct iommu_iova_range ranges[] = {
		{ .start = 0x11000, .last = 0x12fff },
		{ .start = 0x80000, .last = 0x8ffff },
	};
	uint64_t iova;

	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, ranges, 2));
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf,
				   4 * CPU_PAGE, &iova));
	EXPECT_EQ(0x80000, iova);
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf + 0x40,
				   0x100, &iova));
	EXPECT_EQ(0x11040, iova);
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf, CPU_PAGE,
				   &iova));
	EXPECT_EQ(0x12000, iova);
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf, CPU_PAGE,
				   &iova));
	EXPECT_EQ(0x84000, iova);
	EXPECT_NOTHING_PINNED();
}

/*
 * The automatic search stops at ULONG_MAX - PAGE_SIZE, and a place must
 * start strictly below the end of its hole: of an allowed range covering
 * the last two pages only the lower page can be given out. A fixed MAP
 * may still use the last page.
 */
TEST_F(ioas, map_auto_never_reaches_the_last_page_of_the_space)
{
	struct iommu_iova_range top = {
		.start = UINT64_MAX - 2 * CPU_PAGE + 1,
		.last = UINT64_MAX,
	};
	uint64_t iova, len;

	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, &top, 1));
	EXPECT_ERRNO(ENOSPC, ioas_map_auto(self->fd, self->ioas_id, self->buf,
					   2 * CPU_PAGE, &iova));
	ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas_id, self->buf,
				   CPU_PAGE, &iova));
	EXPECT_EQ(top.start, iova);
	EXPECT_ERRNO(ENOSPC, ioas_map_auto(self->fd, self->ioas_id, self->buf,
					   1, &iova));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, top.start, CPU_PAGE,
				&len));
	/* The last byte of the searchable space alone is not offered */
	EXPECT_ERRNO(ENOSPC, ioas_map_auto(self->fd, self->ioas_id,
					   self->buf + 0xfff, 1, &iova));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    CPU_PAGE, top.start + CPU_PAGE));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, allow_iovas_does_not_check_existing_mappings)
{
	struct iommu_iova_range window = { .start = 0x100000, .last = 0x1fffff };
	struct iommu_iova_range whole = { .start = 0, .last = UINT64_MAX };
	uint64_t len;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, &window, 1));
	expect_ranges(_metadata, self->fd, self->ioas_id, &whole, 1);
	/* The old mapping is still there and can still be removed */
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x10000, 2 * CPU_PAGE,
				&len));
	EXPECT_EQ(2 * CPU_PAGE, len);
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, huge_pages_option_defaults_to_one)
{
	uint64_t val = 5;

	ASSERT_EQ(0, option_get(self->fd, IOMMU_OPTION_HUGE_PAGES,
				self->ioas_id, &val));
	EXPECT_EQ(1, val);
}

TEST_F(ioas, huge_pages_option_of_unknown_ioas_is_enoent)
{
	uint64_t val = 0;

	EXPECT_ERRNO(ENOENT, option_get(self->fd, IOMMU_OPTION_HUGE_PAGES, 0,
					&val));
	EXPECT_ERRNO(ENOENT, option_set(self->fd, IOMMU_OPTION_HUGE_PAGES,
					self->ioas_id + 100, val));
}

TEST_F(ioas, huge_pages_option_accepts_only_zero_or_one)
{
	uint64_t val = 1;

	EXPECT_ERRNO(EINVAL, ioas_huge_pages_set(self->fd, self->ioas_id, 2));
	EXPECT_ERRNO(EINVAL, ioas_huge_pages_set(self->fd, self->ioas_id,
						 UINT64_MAX));
	ASSERT_EQ(0, option_get(self->fd, IOMMU_OPTION_HUGE_PAGES,
				self->ioas_id, &val));
	EXPECT_EQ(1, val);
	ASSERT_EQ(0, ioas_huge_pages_set(self->fd, self->ioas_id, 0));
	ASSERT_EQ(0, option_get(self->fd, IOMMU_OPTION_HUGE_PAGES,
				self->ioas_id, &val));
	EXPECT_EQ(0, val);
}

static uint64_t iova_alignment(struct __test_metadata *_metadata, int fd,
			       uint32_t ioas)
{
	uint64_t align = 0;
	uint32_t num = 0;

	EXPECT_ERRNO(EMSGSIZE, ioas_iova_ranges(fd, ioas, NULL, &num, &align));
	return align;
}

TEST_F(ioas, huge_pages_off_raises_the_alignment_to_4k_and_on_lowers_it)
{
	EXPECT_EQ(1, iova_alignment(_metadata, self->fd, self->ioas_id));
	ASSERT_EQ(0, ioas_huge_pages_set(self->fd, self->ioas_id, 0));
	EXPECT_EQ(CPU_PAGE, iova_alignment(_metadata, self->fd, self->ioas_id));
	/* Setting the same value again changes nothing */
	ASSERT_EQ(0, ioas_huge_pages_set(self->fd, self->ioas_id, 0));
	EXPECT_EQ(CPU_PAGE, iova_alignment(_metadata, self->fd, self->ioas_id));
	ASSERT_EQ(0, ioas_huge_pages_set(self->fd, self->ioas_id, 1));
	EXPECT_EQ(1, iova_alignment(_metadata, self->fd, self->ioas_id));
}

TEST_F(ioas, huge_pages_off_is_per_ioas)
{
	uint32_t other;

	ASSERT_EQ(0, ioas_alloc(self->fd, &other));
	ASSERT_EQ(0, ioas_huge_pages_set(self->fd, self->ioas_id, 0));
	EXPECT_EQ(1, iova_alignment(_metadata, self->fd, other));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, other, self->buf + 1, 2,
				    0x10001));
}

TEST_F(ioas, huge_pages_off_needs_4k_aligned_mappings)
{
	uint64_t val = 1;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, 0x800,
				    0x20000));
	EXPECT_ERRNO(EADDRINUSE, ioas_huge_pages_set(self->fd, self->ioas_id,
						     0));
	ASSERT_EQ(0, option_get(self->fd, IOMMU_OPTION_HUGE_PAGES,
				self->ioas_id, &val));
	EXPECT_EQ(1, val);
	EXPECT_EQ(1, iova_alignment(_metadata, self->fd, self->ioas_id));

	/* Unaligned start rather than end */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x20000, 0x800, NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf + 0x800,
				    0x800, 0x20800));
	EXPECT_ERRNO(EADDRINUSE, ioas_huge_pages_set(self->fd, self->ioas_id,
						     0));

	/* Only aligned mappings left */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x20800, 0x800, NULL));
	ASSERT_EQ(0, ioas_huge_pages_set(self->fd, self->ioas_id, 0));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, map_copy_unmap_interleaved_across_two_ioas)
{
	uint8_t *a = self->buf, *b = self->buf + 8 * CPU_PAGE;
	uint64_t len;
	uint32_t y;

	ASSERT_EQ(0, ioas_alloc(self->fd, &y));
	/* X: a at 0x10000. Y: b at 0x10000, the same IOVA in another space */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, a, 4 * CPU_PAGE,
				    0x10000));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_map_fixed(self->fd, y, b, 2 * CPU_PAGE, 0x10000));
	EXPECT_NOTHING_PINNED();
	/* a into Y and b into X, each next to the other's original */
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, y, 0x20000, self->ioas_id,
				     0x10000, 4 * CPU_PAGE));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, self->ioas_id, 0x20000, y,
				     0x10000, 2 * CPU_PAGE));
	EXPECT_NOTHING_PINNED();
	/* A copy of a copy back into X */
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, self->ioas_id, 0x30000, y,
				     0x21000, CPU_PAGE));
	EXPECT_NOTHING_PINNED();
	/* a's original goes; its copies keep all of a pinned */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x10000, 4 * CPU_PAGE,
				NULL));
	EXPECT_NOTHING_PINNED();
	/* The copy of a in Y goes; only its page copied into X stays */
	ASSERT_EQ(0, ioas_unmap(self->fd, y, 0x20000, 4 * CPU_PAGE, NULL));
	EXPECT_NOTHING_PINNED();
	/* b's original goes; its copy in X keeps it */
	ASSERT_EQ(0, ioas_unmap(self->fd, y, 0, UINT64_MAX, &len));
	EXPECT_EQ(2 * CPU_PAGE, len);
	EXPECT_NOTHING_PINNED();
	/* Y is empty, X holds b's copy and one page of a */
	ASSERT_EQ(0, ioas_unmap(self->fd, y, 0, UINT64_MAX, &len));
	EXPECT_EQ(0, len);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, &len));
	EXPECT_EQ(3 * CPU_PAGE, len);
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, unmap_all_of_one_ioas_leaves_the_other_alone)
{
	uint64_t len;
	uint32_t y;

	ASSERT_EQ(0, ioas_alloc(self->fd, &y));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, y, self->buf, 2 * CPU_PAGE,
				    0x10000));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, y, 0x40000, self->ioas_id,
				     0x10000, 2 * CPU_PAGE));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, &len));
	EXPECT_EQ(2 * CPU_PAGE, len);
	EXPECT_NOTHING_PINNED();
	EXPECT_TRUE(iova_in_use(self->fd, y, self->buf, 0x10000));
	EXPECT_TRUE(iova_in_use(self->fd, y, self->buf, 0x40000));
	ASSERT_EQ(0, ioas_unmap(self->fd, y, 0, UINT64_MAX, &len));
	EXPECT_EQ(4 * CPU_PAGE, len);
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, mapping_the_same_memory_twice_charges_twice)
{
	uint32_t y;

	ASSERT_EQ(0, ioas_alloc(self->fd, &y));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * CPU_PAGE, 0x10000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * CPU_PAGE, 0x20000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, y, self->buf + CPU_PAGE, CPU_PAGE,
				    0x10000));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x20000, 4 * CPU_PAGE,
				NULL));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, failed_map_and_copy_charge_nothing)
{
	uint64_t iova = 0;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * CPU_PAGE, 0x10000));
	EXPECT_ERRNO(EEXIST, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    4 * CPU_PAGE, 0x12000));
	/* No page offset rule without a domain: the overlap is what counts */
	EXPECT_ERRNO(EEXIST, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    4 * CPU_PAGE, 0x12001));
	EXPECT_ERRNO(EEXIST, ioas_copy_fixed(self->fd, self->ioas_id, 0x13000,
					     self->ioas_id, 0x10000, CPU_PAGE));
	EXPECT_ERRNO(ENOENT, ioas_copy_fixed(self->fd, self->ioas_id, 0x40000,
					     self->ioas_id, 0x13000,
					     2 * CPU_PAGE));
	EXPECT_ERRNO(EOVERFLOW, ioas_map_fixed(self->fd, self->ioas_id,
					       (void *)(UINT64_MAX - CPU_PAGE + 1),
					       2 * CPU_PAGE, 0x40000));
	iova = 0x30000;
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id,
			      IOMMU_IOAS_MAP_FIXED_IOVA |
			      IOMMU_IOAS_MAP_READABLE,
			      self->buf, CPU_PAGE, &iova));
	EXPECT_ERRNO(EPERM, ioas_copy_fixed(self->fd, self->ioas_id, 0x40000,
					    self->ioas_id, 0x30000, CPU_PAGE));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, destroying_an_ioas_releases_its_mappings)
{
	uint32_t y;

	ASSERT_EQ(0, ioas_alloc(self->fd, &y));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, y, self->buf, 4 * CPU_PAGE,
				    0x10000));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, self->ioas_id, 0x10000, y,
				     0x10000, 2 * CPU_PAGE));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, object_destroy(self->fd, y));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, object_destroy(self->fd, self->ioas_id));
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, close_with_live_mappings_releases_every_charge)
{
	uint32_t y, z;
	uint64_t iova;

	ASSERT_EQ(0, ioas_alloc(self->fd, &y));
	ASSERT_EQ(0, ioas_alloc(self->fd, &z));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    BUF_SIZE, 0x100000));
	ASSERT_EQ(0, ioas_map_auto(self->fd, y, self->buf + 0x10, 0x3000,
				   &iova));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, z, 0x100000, self->ioas_id,
				     0x100000, BUF_SIZE));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, self->ioas_id, 0x900010, y, iova,
				     0x3000));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_NOTHING_PINNED();
}

TEST_F(ioas, closing_one_file_leaves_the_other_charged)
{
	int other = iommufd_open();
	uint32_t id;

	ASSERT_LE(0, other);
	ASSERT_EQ(0, rlimit_mode_set(other, 1));
	ASSERT_EQ(0, ioas_alloc(other, &id));
	ASSERT_EQ(0, ioas_map_fixed(other, id, self->buf, 2 * CPU_PAGE,
				    0x10000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    3 * CPU_PAGE, 0x10000));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, close(other));
	EXPECT_NOTHING_PINNED();
}

/*
 * What MAP and COPY share: both place a range of memory at an IOVA of an
 * IOAS, fixed or chosen by the kernel, with the same flags, the same range
 * checks and the same IOVA allocator. Each test runs twice: the map
 * variant places part of the fixture's buffer with IOMMU_IOAS_MAP, the copy
 * variant places the same part with IOMMU_IOAS_COPY from a mapping of the
 * whole buffer in a source IOAS of its own (at SRC_BASE, far from every
 * IOVA used here), so that both fill an empty destination IOAS alike. An
 * offset into the buffer names the memory, a user VA offset for MAP and a
 * source IOVA offset for COPY; as the source mapping starts on a page, both
 * carry the same page offset.
 */
#define SRC_BASE 0x10000000UL

FIXTURE(place)
{
	int fd;
	uint32_t ioas;		/* the destination */
	uint32_t src;		/* copy: the IOAS the buffer is mapped in */
	uint8_t *buf;
	long vmpin0;
};

FIXTURE_VARIANT(place)
{
	bool copy;
	uint32_t test_flag;	/* a flag bit a test build of 6.12 knows */
};

FIXTURE_VARIANT_ADD(place, map)
{
	.copy = false,
};

FIXTURE_VARIANT_ADD(place, copy)
{
	.copy = true,
	.test_flag = 1u << 16,
};

FIXTURE_SETUP(place)
{
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, rlimit_mode_set(self->fd, 1));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	self->buf = anon_alloc(BUF_SIZE);
	ASSERT_NE(NULL, self->buf);
	if (variant->copy) {
		ASSERT_EQ(0, ioas_alloc(self->fd, &self->src));
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->src, self->buf,
					    BUF_SIZE, SRC_BASE));
	}
	self->vmpin0 = vmpin_kb();
	ASSERT_LE(0, self->vmpin0);
}

FIXTURE_TEARDOWN(place)
{
	close(self->fd);
	munmap(self->buf, BUF_SIZE);
}

/* Places [off, off + len) of the buffer in @ioas at *iova, as @flags say */
static int place(int fd, bool copy, uint32_t src, uint8_t *buf,
		 uint32_t flags, uint32_t ioas, uint64_t *iova, uint64_t off,
		 uint64_t len)
{
	if (copy)
		return ioas_copy(fd, flags, ioas, iova, src, SRC_BASE + off,
				 len);
	return ioas_map(fd, ioas, flags, buf + off, len, iova);
}

#define PLACE(flags, ioas, iova, off, len)                                     \
	place(self->fd, variant->copy, self->src, self->buf, flags, ioas,     \
	      iova, off, len)

/* Readable and writable at @iova */
static int place_fixed(int fd, bool copy, uint32_t src, uint8_t *buf,
		       uint32_t ioas, uint64_t iova, uint64_t off, uint64_t len)
{
	return place(fd, copy, src, buf, MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
		     ioas, &iova, off, len);
}

/* Readable and writable where the kernel chooses, returned in *@iova */
static int place_auto(int fd, bool copy, uint32_t src, uint8_t *buf,
		      uint32_t ioas, uint64_t *iova, uint64_t off, uint64_t len)
{
	*iova = 0;
	return place(fd, copy, src, buf, MAP_RW, ioas, iova, off, len);
}

/* In the fixture's destination IOAS */
#define PLACE_FIXED(iova, off, len)                                            \
	place_fixed(self->fd, variant->copy, self->src, self->buf,            \
		    self->ioas, iova, off, len)
#define PLACE_AUTO(iova, off, len)                                             \
	place_auto(self->fd, variant->copy, self->src, self->buf,             \
		   self->ioas, iova, off, len)

TEST_F(place, rejects_unknown_flags)
{
	uint64_t iova = 0;
	uint32_t bit;

	for (bit = 3; bit != 32; bit++) {
		if ((1u << bit) == variant->test_flag)
			continue;
		EXPECT_ERRNO(EOPNOTSUPP, PLACE(MAP_RW | (1u << bit), self->ioas,
					       &iova, 0, CPU_PAGE));
	}
	EXPECT_NOTHING_PINNED();
}

TEST_F(place, needs_read_or_write)
{
	uint64_t iova = 0x10000;

	EXPECT_ERRNO(EINVAL, PLACE(0, self->ioas, &iova, 0, CPU_PAGE));
	EXPECT_ERRNO(EINVAL, PLACE(IOMMU_IOAS_MAP_FIXED_IOVA, self->ioas,
				   &iova, 0, CPU_PAGE));
	EXPECT_NOTHING_PINNED();
}

TEST_F(place, with_only_one_permission_works)
{
	uint64_t iova = 0x10000;

	ASSERT_EQ(0, PLACE(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
			   self->ioas, &iova, 0, CPU_PAGE));
	EXPECT_EQ(0x10000, iova);
	iova = 0x20000;
	ASSERT_EQ(0, PLACE(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE,
			   self->ioas, &iova, 0, CPU_PAGE));
	EXPECT_EQ(0x20000, iova);
	EXPECT_NOTHING_PINNED();
}

TEST_F(place, zero_length_is_einval)
{
	uint64_t iova;

	EXPECT_ERRNO(EINVAL, PLACE_FIXED(0x10000, 0, 0));
	EXPECT_ERRNO(EINVAL, PLACE_AUTO(&iova, 0, 0));
	EXPECT_NOTHING_PINNED();
}

TEST_F(place, unknown_ioas_is_enoent)
{
	uint64_t iova = 0x10000;

	EXPECT_ERRNO(ENOENT, PLACE(MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA, 0,
				   &iova, 0, CPU_PAGE));
	iova = 0;
	EXPECT_ERRNO(ENOENT, PLACE(MAP_RW, self->ioas + 100, &iova, 0,
				   CPU_PAGE));
	if (variant->copy)
		EXPECT_ERRNO(ENOENT, ioas_copy_fixed(self->fd, self->ioas,
						     0x10000, 0, SRC_BASE,
						     CPU_PAGE));
	EXPECT_NOTHING_PINNED();
}

TEST_F(place, iova_or_length_of_u64_max_is_eoverflow)
{
	uint64_t iova;

	/* Same page offset, so that only the overflow is wrong */
	EXPECT_ERRNO(EOVERFLOW, PLACE_FIXED(UINT64_MAX, 0xfff, 1));
	EXPECT_ERRNO(EOVERFLOW, PLACE_FIXED(0, 0, UINT64_MAX));
	EXPECT_ERRNO(EOVERFLOW, PLACE_AUTO(&iova, 0, UINT64_MAX));
	if (variant->copy)
		EXPECT_ERRNO(EOVERFLOW, ioas_copy_fixed(self->fd, self->ioas,
							0x80fff, self->src,
							UINT64_MAX, 1));
	EXPECT_NOTHING_PINNED();
}

TEST_F(place, fixed_range_wrapping_past_u64_max_is_eoverflow)
{
	EXPECT_ERRNO(EOVERFLOW, PLACE_FIXED(UINT64_MAX - CPU_PAGE + 1, 0,
					    2 * CPU_PAGE));
	EXPECT_ERRNO(EOVERFLOW, PLACE_FIXED(UINT64_MAX, CPU_PAGE - 1, 2));
	/* Ending exactly at UINT64_MAX is fine */
	ASSERT_EQ(0, PLACE_FIXED(UINT64_MAX - 2 * CPU_PAGE + 1, 0,
				 2 * CPU_PAGE));
	EXPECT_NOTHING_PINNED();
}

TEST_F(place, fixed_overlapping_a_mapping_is_eexist)
{
	uint64_t base = 0x40000;

	ASSERT_EQ(0, PLACE_FIXED(base, 0, 4 * CPU_PAGE));
	/* Inside, across the start, across the end, covering it all */
	EXPECT_ERRNO(EEXIST, PLACE_FIXED(base + CPU_PAGE, 0, CPU_PAGE));
	EXPECT_ERRNO(EEXIST, PLACE_FIXED(base - CPU_PAGE, 0, 2 * CPU_PAGE));
	EXPECT_ERRNO(EEXIST, PLACE_FIXED(base + 3 * CPU_PAGE, 0,
					 2 * CPU_PAGE));
	EXPECT_ERRNO(EEXIST, PLACE_FIXED(base - 2 * CPU_PAGE, 0,
					 8 * CPU_PAGE));
	/* Down to single bytes: the first and the last byte of the mapping */
	EXPECT_ERRNO(EEXIST, PLACE_FIXED(base - 1, 0xfff, 2));
	EXPECT_ERRNO(EEXIST, PLACE_FIXED(base + 4 * CPU_PAGE - 1, 0xfff, 1));
	/* A COPY onto its own source, or overlapping it */
	if (variant->copy) {
		EXPECT_ERRNO(EEXIST, ioas_copy_fixed(self->fd, self->src,
						     SRC_BASE, self->src,
						     SRC_BASE, 4 * CPU_PAGE));
		EXPECT_ERRNO(EEXIST, ioas_copy_fixed(self->fd, self->src,
						     SRC_BASE + 0x2000,
						     self->src, SRC_BASE,
						     4 * CPU_PAGE));
	}
	EXPECT_NOTHING_PINNED();
}

/*
 * With alignment 1 (no domain) nothing ties the IOVA's offset in a page to
 * the memory's; a domain raises the alignment, and then both must fit it
 * (iommufd_mock.c tests that).
 */
TEST_F(place, iova_page_offset_need_not_match_the_memory_without_a_domain)
{
	uint64_t len;

	ASSERT_EQ(0, PLACE_FIXED(0x10001, 0, CPU_PAGE));
	ASSERT_EQ(0, PLACE_FIXED(0x20000, 0x800, CPU_PAGE));
	ASSERT_EQ(0, PLACE_FIXED(0x30801, 0x800, CPU_PAGE));
	EXPECT_TRUE(iova_in_use(self->fd, self->ioas, self->buf, 0x11000));
	EXPECT_TRUE(iova_in_use(self->fd, self->ioas, self->buf, 0x20fff));
	EXPECT_TRUE(iova_in_use(self->fd, self->ioas, self->buf, 0x30801));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0x10000, 0x30000, &len));
	EXPECT_EQ(3 * CPU_PAGE, len);
	/* Same offset, different pages: fine, even off any larger alignment */
	ASSERT_EQ(0, PLACE_FIXED(0x13800, 0x800, CPU_PAGE));
	ASSERT_EQ(0, PLACE_FIXED(0x7123, 0x123, 5));
	EXPECT_NOTHING_PINNED();
}

/*
 * The page offset of the memory is ORed into the aligned start of the
 * hole: with an odd offset the alignment is 1 byte, so a hole that starts
 * on a page boundary gives an IOVA with that same page offset.
 */
TEST_F(place, auto_keeps_the_page_offset_of_the_memory)
{
	uint64_t iova;

	ASSERT_EQ(0, PLACE_AUTO(&iova, 0x123, 0x100));
	EXPECT_EQ(CPU_PAGE + 0x123, iova);
	/* Aligned to 4 bytes, searched from 0x1abc on: right after it */
	ASSERT_EQ(0, PLACE_AUTO(&iova, 0xabc, 2 * CPU_PAGE));
	EXPECT_EQ(CPU_PAGE + 0xabc, iova);
	/* In the IOAS of its source a COPY avoids the source */
	if (variant->copy) {
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->src, self->buf,
					    CPU_PAGE, 0));
		ASSERT_EQ(0, ioas_copy_auto(self->fd, self->src, &iova,
					    self->src, SRC_BASE,
					    4 * CPU_PAGE));
		EXPECT_EQ(0, iova & (CPU_PAGE - 1));
		EXPECT_TRUE(iova + 4 * CPU_PAGE <= SRC_BASE ||
			    iova >= SRC_BASE + BUF_SIZE);
		EXPECT_NE(0, iova);
	}
	EXPECT_NOTHING_PINNED();
}

TEST_F(place, auto_with_no_room_left_is_enospc)
{
	struct iommu_iova_range window = {
		.start = 0x100000,
		.last = 0x100000 + 4 * CPU_PAGE - 1,
	};
	uint64_t iova;

	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, &window, 1));
	EXPECT_ERRNO(ENOSPC, PLACE_AUTO(&iova, 0, 5 * CPU_PAGE));
	ASSERT_EQ(0, PLACE_AUTO(&iova, 0, 3 * CPU_PAGE));
	EXPECT_EQ(window.start, iova);
	/* One page is left: too little for a page starting at offset 0x800 */
	EXPECT_ERRNO(ENOSPC, PLACE_AUTO(&iova, 0x800, CPU_PAGE));
	ASSERT_EQ(0, PLACE_AUTO(&iova, 0, CPU_PAGE));
	EXPECT_EQ(window.start + 3 * CPU_PAGE, iova);
	EXPECT_ERRNO(ENOSPC, PLACE_AUTO(&iova, 0, 1));
	EXPECT_NOTHING_PINNED();
}

/* The allowed ranges only steer automatic allocation, as in 6.12 */
TEST_F(place, fixed_outside_the_allowed_ranges_is_accepted)
{
	struct iommu_iova_range ranges[] = {
		{ .start = 0x10000, .last = 0x13fff },
		{ .start = 0x15000, .last = 0x18fff },
	};
	uint64_t iova, len;

	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, ranges, 2));
	/* Below, between, above, across the start edge */
	ASSERT_EQ(0, PLACE_FIXED(0, 0, CPU_PAGE));
	ASSERT_EQ(0, PLACE_FIXED(0x14000, 0, CPU_PAGE));
	ASSERT_EQ(0, PLACE_FIXED(0x19000, 0, CPU_PAGE));
	ASSERT_EQ(0, PLACE_FIXED(0xf000, 0, 2 * CPU_PAGE));
	EXPECT_ERRNO(EEXIST, PLACE_FIXED(0x14000, 0, CPU_PAGE));
	/* An automatic one still lands inside them */
	ASSERT_EQ(0, PLACE_AUTO(&iova, 0, CPU_PAGE));
	EXPECT_EQ(0x11000, iova);
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, &len));
	EXPECT_EQ(6 * CPU_PAGE, len);
}

TEST_F(place, with_4k_alignment_rejects_unaligned_ranges)
{
	uint64_t iova;

	ASSERT_EQ(0, ioas_huge_pages_set(self->fd, self->ioas, 0));
	EXPECT_ERRNO(EINVAL, PLACE_FIXED(0x10000, 0, 0x800));
	EXPECT_ERRNO(EINVAL, PLACE_FIXED(0x10800, 0x800, 0x800));
	EXPECT_ERRNO(EINVAL, PLACE_FIXED(0x10800, 0x800, CPU_PAGE));
	EXPECT_ERRNO(EINVAL, PLACE_AUTO(&iova, 0, CPU_PAGE + 1));
	EXPECT_ERRNO(EINVAL, PLACE_AUTO(&iova, 0x10, CPU_PAGE));
	EXPECT_NOTHING_PINNED();
	ASSERT_EQ(0, PLACE_FIXED(0x10000, 0, 2 * CPU_PAGE));
	ASSERT_EQ(0, PLACE_AUTO(&iova, 0, CPU_PAGE));
	EXPECT_EQ(0, iova % CPU_PAGE);
	EXPECT_NOTHING_PINNED();
}

TEST_HARNESS_MAIN
