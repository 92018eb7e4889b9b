// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dirty tracking and nested cache invalidation of HWPTs, seen through the
 * mock IOMMU.
 *
 * A paging HWPT allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING records the
 * DMA writes of its devices once IOMMU_HWPT_SET_DIRTY_TRACKING turns that
 * on; IOMMU_HWPT_GET_DIRTY_BITMAP copies the record into a user bitmap, one
 * bit per page_size block of IOVA, and clears it unless told not to. The
 * mock IOMMU lets a device write with IOMMU_TEST_OP_MOCK_DMA_WRITE and
 * marks, like a real IOMMU with one dirty bit per PTE, the whole IO page
 * the write went through: half a CPU page normally, 2 MiB where a THP was
 * mapped. So the tests know exactly which bits must come back.
 *
 * The kernel fills the user bitmap a window of pinned pages at a time
 * (iova_bitmap.c), which is where the tricky cases are: dirty pages on
 * both sides of a window's edge, an IO page that straddles the edge, and
 * bitmaps that do not start on a page. Small page_size values give large
 * bitmaps for little IOVA, so those tests need no more than a few MiB.
 *
 * IOMMU_HWPT_INVALIDATE is checked on a mock nested HWPT, whose emulated
 * IOTLB tag and invalidation count MOCK_DEVICE_DOMAIN reports.
 *
 * The tests assume 4 KiB CPU pages; the mock's IO page is half of that.
 */
#include <stddef.h>

#include "iommufd_selftest.h"

#define SZ_64K		0x10000ULL
#define SZ_1G		0x40000000ULL

/* Where the tests map: 8 GiB, far from the MSI window, 1 GiB aligned */
#define BASE		0x200000000ULL

#define ALIGN_DOWN_TO(x, a)	((x) & ~((uint64_t)(a) - 1))

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The errno of a call that failed, 0 for one that succeeded */
static int fail_errno(int rc)
{
	return rc ? errno : 0;
}

/* ---- Dirty tracking ---- */

static int set_tracking(int fd, uint32_t hwpt, uint32_t flags)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.hwpt_id = hwpt,
	};

	return ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

static int tracking_on(int fd, uint32_t hwpt)
{
	return set_tracking(fd, hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
}

static int tracking_off(int fd, uint32_t hwpt)
{
	return set_tracking(fd, hwpt, 0);
}

static int get_bitmap(int fd, uint32_t hwpt, uint32_t flags, uint64_t iova,
		      uint64_t length, uint64_t page_size, void *data)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt,
		.flags = flags,
		.iova = iova,
		.length = length,
		.page_size = page_size,
		.data = (uintptr_t)data,
	};

	return ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

/* ---- What the mock domain maps ---- */

/* The largest IO page [iova, iova + length) of @id is mapped with; 0 if none */
static uint64_t max_io_page(int fd, uint32_t id, uint64_t iova,
			    uint64_t length, const void *va)
{
	struct map_shape shape;

	if (mock_check_map(fd, id, iova, length, va, 0, &shape))
		return 0;
	return shape.max_pgsize;
}

/* ---- The environment every dirty tracking test starts from ---- */

/*
 * A device that can track dirty pages, attached to a paging HWPT of @ioas
 * allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING. Tracking starts off.
 */
struct env {
	int fd;
	uint32_t ioas;
	struct mdev dev;
	uint32_t hwpt;
};

static void env_setup(struct __test_metadata *_metadata, struct env *env)
{
	env->fd = iommufd_open();
	ASSERT_LE(0, env->fd);
	ASSERT_EQ(0, ioas_alloc(env->fd, &env->ioas));
	ASSERT_EQ(0, mdev_add(env->fd, MOCK_DEVICE_DIRTY_TRACKING, &env->dev));
	ASSERT_EQ(0, hwpt_alloc(env->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				env->dev.idev, env->ioas, &env->hwpt));
	ASSERT_EQ(0, mdev_attach(env->fd, env->dev.id, env->hwpt, NULL));
}

static void env_teardown(struct env *env)
{
	if (env->fd >= 0)
		close(env->fd);
}

/* ---- Expected bitmaps ---- */

/*
 * A bitmap as IOMMU_HWPT_GET_DIRTY_BITMAP lays it out for [iova, iova +
 * length) at @page_size per bit: what the tests expect, or (with @region)
 * the buffer the kernel writes, placed @offset bytes into an mmap()ed
 * region and followed by a canary word the kernel must leave alone.
 */
struct bits {
	uint64_t iova;
	uint64_t length;
	uint64_t page_size;
	uint64_t nbits;
	size_t nwords;
	uint64_t *word;
	void *region;
	size_t region_len;
};

#define CANARY 0x5ca1ab1e0ddba11ULL

static int bits_init(struct bits *b, uint64_t iova, uint64_t length,
		     uint64_t page_size, size_t offset)
{
	memset(b, 0, sizeof(*b));
	b->iova = iova;
	b->length = length;
	b->page_size = page_size;
	b->nbits = (length + page_size - 1) / page_size;
	b->nwords = (b->nbits + 63) / 64;
	b->region_len = (offset + (b->nwords + 1) * sizeof(uint64_t) +
			 CPU_PAGE - 1) & ~(CPU_PAGE - 1);
	b->region = mmap(NULL, b->region_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->region == MAP_FAILED) {
		b->region = NULL;
		return -1;
	}
	b->word = (uint64_t *)((uint8_t *)b->region + offset);
	b->word[b->nwords] = CANARY;
	return 0;
}

static void bits_free(struct bits *b)
{
	if (b->region)
		munmap(b->region, b->region_len);
	b->region = NULL;
}

static void bits_zero(struct bits *b)
{
	memset(b->word, 0, b->nwords * sizeof(uint64_t));
}

static bool bit_test(const struct bits *b, uint64_t n)
{
	return b->word[n / 64] & (1ULL << (n % 64));
}

/* Set the bit of every block that [iova, iova + length) touches */
static void bits_mark(struct bits *b, uint64_t iova, uint64_t length)
{
	uint64_t first, last, n;

	if (iova + length <= b->iova || iova >= b->iova + b->length)
		return;
	first = iova < b->iova ? 0 : (iova - b->iova) / b->page_size;
	last = (iova + length - 1 - b->iova) / b->page_size;
	if (last >= b->nbits)
		last = b->nbits - 1;
	for (n = first; n <= last; n++)
		b->word[n / 64] |= 1ULL << (n % 64);
}

static bool bits_empty(const struct bits *b)
{
	size_t i;

	for (i = 0; i != b->nwords; i++)
		if (b->word[i])
			return false;
	return true;
}

/* Index of the first bit in which @got and @want differ, -1 if none */
static int64_t bits_first_difference(const struct bits *got,
				     const struct bits *want)
{
	size_t i;

	for (i = 0; i != want->nwords; i++) {
		uint64_t diff = got->word[i] ^ want->word[i];

		if (diff)
			return i * 64 + __builtin_ctzll(diff);
	}
	return -1;
}

static int bits_read(int fd, uint32_t hwpt, uint32_t flags, struct bits *b)
{
	return get_bitmap(fd, hwpt, flags, b->iova, b->length, b->page_size,
			  b->word);
}

/*
 * The bitmap the kernel wrote equals the expected one, and the word after
 * it is untouched. Names the first wrong bit and its IOVA.
 */
static void expect_bits(struct __test_metadata *_metadata,
			const struct bits *got, const struct bits *want)
{
	int64_t n = bits_first_difference(got, want);

	EXPECT_EQ(-1, n)
		TH_LOG("bit %lld (IOVA 0x%llx, page_size 0x%llx): kernel %d, expected %d",
		       (long long)n,
		       (unsigned long long)(want->iova + n * want->page_size),
		       (unsigned long long)want->page_size,
		       bit_test(got, n), bit_test(want, n));
	EXPECT_EQ(CANARY, got->word[got->nwords])
		TH_LOG("the word after the bitmap was written");
}

#define EXPECT_BITS(got, want) expect_bits(_metadata, got, want)

/* ---- IOMMU_HWPT_SET_DIRTY_TRACKING ---- */

FIXTURE(set_tracking)
{
	struct env env;
};

FIXTURE_SETUP(set_tracking)
{
	SKIP_IF_UPSTREAM_MOCK(return);

	env_setup(_metadata, &self->env);
}

FIXTURE_TEARDOWN(set_tracking)
{
	env_teardown(&self->env);
}

TEST_F(set_tracking, enable_and_disable_show_in_the_domain)
{
	int fd = self->env.fd;
	uint32_t hwpt = self->env.hwpt;

	EXPECT_EQ(MOCK_PROP_DIRTY_TRACKING, dom_props(fd, hwpt));
	ASSERT_EQ(0, tracking_on(fd, hwpt));
	EXPECT_EQ(MOCK_PROP_DIRTY_TRACKING | MOCK_PROP_DIRTY_ENABLED,
		  dom_props(fd, hwpt));
	/* The device translates with the same domain */
	EXPECT_EQ(MOCK_PROP_DIRTY_TRACKING | MOCK_PROP_DIRTY_ENABLED,
		  dom_props(fd, self->env.dev.id));
	ASSERT_EQ(0, tracking_off(fd, hwpt));
	EXPECT_EQ(MOCK_PROP_DIRTY_TRACKING, dom_props(fd, hwpt));
}

TEST_F(set_tracking, enabling_or_disabling_twice_is_harmless)
{
	int fd = self->env.fd;
	uint32_t hwpt = self->env.hwpt;

	ASSERT_EQ(0, tracking_off(fd, hwpt));
	EXPECT_EQ(MOCK_PROP_DIRTY_TRACKING, dom_props(fd, hwpt));
	ASSERT_EQ(0, tracking_on(fd, hwpt));
	ASSERT_EQ(0, tracking_on(fd, hwpt));
	EXPECT_EQ(MOCK_PROP_DIRTY_TRACKING | MOCK_PROP_DIRTY_ENABLED,
		  dom_props(fd, hwpt));
	ASSERT_EQ(0, tracking_off(fd, hwpt));
	ASSERT_EQ(0, tracking_off(fd, hwpt));
	EXPECT_EQ(MOCK_PROP_DIRTY_TRACKING, dom_props(fd, hwpt));
}

TEST_F(set_tracking, unknown_flags_are_eopnotsupp_and_change_nothing)
{
	static const uint32_t bad[] = {
		1U << 1,
		IOMMU_HWPT_DIRTY_TRACKING_ENABLE | 1U << 1,
		1U << 31,
	};
	int fd = self->env.fd;
	uint32_t hwpt = self->env.hwpt;
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(bad); i++) {
		EXPECT_ERRNO(EOPNOTSUPP, set_tracking(fd, hwpt, bad[i]));
		EXPECT_EQ(MOCK_PROP_DIRTY_TRACKING, dom_props(fd, hwpt));
	}
	ASSERT_EQ(0, tracking_on(fd, hwpt));
	EXPECT_ERRNO(EOPNOTSUPP, set_tracking(fd, hwpt, 1U << 1));
	EXPECT_EQ(MOCK_PROP_DIRTY_TRACKING | MOCK_PROP_DIRTY_ENABLED,
		  dom_props(fd, hwpt));
}

TEST_F(set_tracking, nonzero_reserved_is_eopnotsupp)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
		.hwpt_id = self->env.hwpt,
		.__reserved = 1,
	};

	EXPECT_ERRNO(EOPNOTSUPP,
		     ioctl(self->env.fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd));
	EXPECT_EQ(MOCK_PROP_DIRTY_TRACKING, dom_props(self->env.fd,
						      self->env.hwpt));
}

TEST_F(set_tracking, hwpt_without_dirty_tracking_is_eopnotsupp)
{
	int fd = self->env.fd;
	uint32_t plain;

	ASSERT_EQ(0, hwpt_alloc(fd, 0, self->env.dev.idev, self->env.ioas,
				&plain));
	EXPECT_ERRNO(EOPNOTSUPP, tracking_on(fd, plain));
	EXPECT_ERRNO(EOPNOTSUPP, tracking_off(fd, plain));
	EXPECT_EQ(0, dom_props(fd, plain));
}

TEST_F(set_tracking, ids_of_other_objects_are_enoent)
{
	int fd = self->env.fd;
	uint32_t parent, nested;

	EXPECT_ERRNO(ENOENT, tracking_on(fd, NO_SUCH_ID));
	EXPECT_ERRNO(ENOENT, tracking_on(fd, 0));
	EXPECT_ERRNO(ENOENT, tracking_on(fd, self->env.ioas));
	EXPECT_ERRNO(ENOENT, tracking_on(fd, self->env.dev.idev));
	EXPECT_ERRNO(ENOENT, tracking_on(fd, self->env.dev.id));

	/* A nested HWPT is no paging HWPT, even on a tracking parent */
	ASSERT_EQ(0, hwpt_alloc(fd,
				IOMMU_HWPT_ALLOC_NEST_PARENT |
				IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				self->env.dev.idev, self->env.ioas, &parent));
	ASSERT_EQ(0, hwpt_alloc_nested(fd, 0, self->env.dev.idev, parent, 1,
				       &nested));
	EXPECT_ERRNO(ENOENT, tracking_on(fd, nested));
	EXPECT_EQ(MOCK_PROP_NEST_PARENT | MOCK_PROP_DIRTY_TRACKING,
		  dom_props(fd, parent));
}

TEST_F(set_tracking, writes_through_a_nested_hwpt_dirty_its_parent)
{
	int fd = self->env.fd;
	struct bits got, want;
	uint32_t parent, nested;
	uint8_t *buf;

	buf = small_pages_alloc(SZ_64K);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, ioas_map_fixed(fd, self->env.ioas, buf, SZ_64K, BASE));
	ASSERT_EQ(0, hwpt_alloc(fd,
				IOMMU_HWPT_ALLOC_NEST_PARENT |
				IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				self->env.dev.idev, self->env.ioas, &parent));
	ASSERT_EQ(0, hwpt_alloc_nested(fd, 0, self->env.dev.idev, parent, 1,
				       &nested));
	ASSERT_EQ(0, mdev_replace(fd, self->env.dev.id, nested, NULL));
	ASSERT_EQ(0, bits_init(&got, BASE, SZ_64K, IO_PAGE, 0));
	ASSERT_EQ(0, bits_init(&want, BASE, SZ_64K, IO_PAGE, 0));

	ASSERT_EQ(0, tracking_on(fd, parent));
	ASSERT_EQ(0, mock_dma_write(fd, self->env.dev.id, BASE + 5 * IO_PAGE,
				    1));
	bits_mark(&want, BASE + 5 * IO_PAGE, IO_PAGE);
	ASSERT_EQ(0, bits_read(fd, parent, 0, &got));
	EXPECT_BITS(&got, &want);

	bits_free(&got);
	bits_free(&want);
	munmap(buf, SZ_64K);
}

/* ---- IOMMU_HWPT_GET_DIRTY_BITMAP: which bits come back ---- */

/*
 * A 256 KiB buffer of CPU pages mapped across a 2 MiB boundary of IOVA, so
 * that page sizes of 2 MiB see it in two blocks. The bitmaps cover at least
 * 4 MiB from BASE and start 24 bytes before the end of a page, so that all
 * but the smallest ones span two pages of user memory.
 */
#define BUF_SIZE	(64 * CPU_PAGE)
#define BUF_IOVA	(BASE + SZ_2M - BUF_SIZE / 2)
#define BITS_OFFSET	(CPU_PAGE - 24)

FIXTURE(bitmap)
{
	struct env env;
	uint8_t *buf;
	struct bits got;
	struct bits want;
};

FIXTURE_VARIANT(bitmap)
{
	uint64_t page_size;
};

/* A quarter of an IO page: each dirty IO page sets four bits */
FIXTURE_VARIANT_ADD(bitmap, page_512)
{
	.page_size = 512,
};

FIXTURE_VARIANT_ADD(bitmap, page_io)
{
	.page_size = IO_PAGE,
};

FIXTURE_VARIANT_ADD(bitmap, page_4k)
{
	.page_size = CPU_PAGE,
};

FIXTURE_VARIANT_ADD(bitmap, page_64k)
{
	.page_size = SZ_64K,
};

FIXTURE_VARIANT_ADD(bitmap, page_2m)
{
	.page_size = SZ_2M,
};

FIXTURE_VARIANT_ADD(bitmap, page_1g)
{
	.page_size = SZ_1G,
};

/* Bytes of IOVA the bitmaps of a variant cover */
static uint64_t bitmap_span(uint64_t page_size)
{
	return max_u64(page_size, 4 * SZ_2M);
}

FIXTURE_SETUP(bitmap)
{
	uint64_t span = bitmap_span(variant->page_size);

	SKIP_IF_UPSTREAM_MOCK(return);

	self->buf = NULL;
	env_setup(_metadata, &self->env);
	self->buf = small_pages_alloc(BUF_SIZE);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, ioas_map_fixed(self->env.fd, self->env.ioas, self->buf,
				    BUF_SIZE, BUF_IOVA));
	ASSERT_EQ(0, bits_init(&self->got, BASE, span, variant->page_size,
			       BITS_OFFSET));
	ASSERT_EQ(0, bits_init(&self->want, BASE, span, variant->page_size,
			       0));
}

FIXTURE_TEARDOWN(bitmap)
{
	bits_free(&self->got);
	bits_free(&self->want);
	env_teardown(&self->env);
	if (self->buf)
		munmap(self->buf, BUF_SIZE);
}

/* The device writes [iova, iova + length); each IO page it touches is dirty */
static void write_small(struct __test_metadata *_metadata, struct env *env,
			struct bits *want, uint64_t iova, uint64_t length)
{
	uint64_t first = ALIGN_DOWN_TO(iova, IO_PAGE);
	uint64_t end = ALIGN_DOWN_TO(iova + length + IO_PAGE - 1, IO_PAGE);

	ASSERT_EQ(0, mock_dma_write(env->fd, env->dev.id, iova, length));
	if (want)
		bits_mark(want, first, end - first);
}

#define WRITE(iova, length)                                                    \
	write_small(_metadata, &self->env, &self->want, iova, length)
/* A write the bitmap must not show */
#define WRITE_UNSEEN(iova, length)                                             \
	write_small(_metadata, &self->env, NULL, iova, length)

#define READ_BITS(flags)                                                       \
	bits_read(self->env.fd, self->env.hwpt, flags, &self->got)

/* A spread of writes into the buffer: single bytes, a run of pages, both ends */
static const struct {
	uint64_t offset;
	uint64_t length;
} pattern[] = {
	{ 0, 1 },
	{ 3 * IO_PAGE + 5, 1 },
	{ 20 * IO_PAGE + 100, 5000 },
	{ BUF_SIZE / 2 - 1, 1 },
	{ BUF_SIZE / 2, 1 },
	{ BUF_SIZE - 1, 1 },
};

/* Mark in @want the IO pages the pattern writes */
static void pattern_mark(struct bits *want)
{
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(pattern); i++) {
		uint64_t iova = BUF_IOVA + pattern[i].offset;
		uint64_t first = ALIGN_DOWN_TO(iova, IO_PAGE);
		uint64_t end = ALIGN_DOWN_TO(iova + pattern[i].length +
					     IO_PAGE - 1, IO_PAGE);

		bits_mark(want, first, end - first);
	}
}

static void write_pattern(struct __test_metadata *_metadata, struct env *env,
			  struct bits *want)
{
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(pattern); i++)
		write_small(_metadata, env, NULL, BUF_IOVA + pattern[i].offset,
			    pattern[i].length);
	if (want)
		pattern_mark(want);
}

TEST_F(bitmap, writes_set_the_bits_of_exactly_their_pages)
{
	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	write_pattern(_metadata, &self->env, &self->want);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_BITS(&self->got, &self->want);
}

TEST_F(bitmap, a_second_read_reports_nothing)
{
	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	write_pattern(_metadata, &self->env, &self->want);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_BITS(&self->got, &self->want);

	bits_zero(&self->got);
	bits_zero(&self->want);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_BITS(&self->got, &self->want);

	/* New writes show up again, and only they */
	WRITE(BUF_IOVA + 7 * IO_PAGE, 1);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_BITS(&self->got, &self->want);
}

TEST_F(bitmap, no_clear_leaves_the_bits_for_the_next_read)
{
	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	write_pattern(_metadata, &self->env, &self->want);

	ASSERT_EQ(0, READ_BITS(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	EXPECT_BITS(&self->got, &self->want);
	bits_zero(&self->got);
	ASSERT_EQ(0, READ_BITS(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	EXPECT_BITS(&self->got, &self->want);
	bits_zero(&self->got);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_BITS(&self->got, &self->want);

	bits_zero(&self->got);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_TRUE(bits_empty(&self->got));
}

TEST_F(bitmap, the_whole_buffer_written_sets_every_bit_it_covers)
{
	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	WRITE(BUF_IOVA, BUF_SIZE);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_BITS(&self->got, &self->want);
}

TEST_F(bitmap, writes_while_tracking_is_off_are_not_reported)
{
	WRITE_UNSEEN(BUF_IOVA, BUF_SIZE);
	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_BITS(&self->got, &self->want);

	/* Off again: new writes leave no trace for the next tracking */
	ASSERT_EQ(0, tracking_off(self->env.fd, self->env.hwpt));
	WRITE_UNSEEN(BUF_IOVA + 9 * IO_PAGE, 1);
	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	WRITE(BUF_IOVA + 40 * IO_PAGE, 1);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_BITS(&self->got, &self->want);
}

TEST_F(bitmap, enabling_discards_what_was_recorded_before)
{
	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	write_pattern(_metadata, &self->env, NULL);
	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	WRITE(BUF_IOVA + 11 * IO_PAGE, 1);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_BITS(&self->got, &self->want);

	/* Through an off and on as well */
	write_pattern(_metadata, &self->env, NULL);
	ASSERT_EQ(0, tracking_off(self->env.fd, self->env.hwpt));
	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	bits_zero(&self->got);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_TRUE(bits_empty(&self->got));
}

TEST_F(bitmap, bits_already_set_in_the_bitmap_stay_set)
{
	size_t i;

	/* Every third bit, and the unused bits of the last word */
	for (i = 0; i != self->want.nwords; i++)
		self->want.word[i] = 0x9249249249249249ULL;
	memcpy(self->got.word, self->want.word,
	       self->want.nwords * sizeof(uint64_t));

	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	write_pattern(_metadata, &self->env, &self->want);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_BITS(&self->got, &self->want);
}

TEST_F(bitmap, unmapped_iova_reports_nothing)
{
	uint64_t far = BASE + 3 * SZ_2M;
	uint8_t *other;

	other = small_pages_alloc(SZ_64K);
	ASSERT_NE(NULL, other);
	ASSERT_EQ(0, ioas_map_fixed(self->env.fd, self->env.ioas, other, SZ_64K,
				    far));
	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));

	/* The hole between the two mappings stays clear */
	WRITE(BUF_IOVA + BUF_SIZE - IO_PAGE, IO_PAGE);
	WRITE(far, 1);
	ASSERT_EQ(0, READ_BITS(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	EXPECT_BITS(&self->got, &self->want);

	/* A dirty mapping that is gone reports nothing at all */
	ASSERT_EQ(0, ioas_unmap(self->env.fd, self->env.ioas, far, SZ_64K,
				NULL));
	bits_zero(&self->got);
	bits_zero(&self->want);
	bits_mark(&self->want, BUF_IOVA + BUF_SIZE - IO_PAGE, IO_PAGE);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_BITS(&self->got, &self->want);
	munmap(other, SZ_64K);
}

TEST_F(bitmap, a_read_of_part_of_the_range_leaves_the_rest_dirty)
{
	uint64_t half = max_u64(variant->page_size, SZ_2M);
	struct bits got_lo, got_hi, want_lo, want_hi;

	ASSERT_EQ(0, bits_init(&got_lo, BASE, half, variant->page_size, 8));
	ASSERT_EQ(0, bits_init(&want_lo, BASE, half, variant->page_size, 0));
	ASSERT_EQ(0, bits_init(&got_hi, BASE + half, half, variant->page_size,
			       8));
	ASSERT_EQ(0, bits_init(&want_hi, BASE + half, half, variant->page_size,
			       0));

	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	write_pattern(_metadata, &self->env, &want_lo);
	pattern_mark(&want_hi);

	/* The upper half first: the lower half must keep its dirty pages */
	ASSERT_EQ(0, bits_read(self->env.fd, self->env.hwpt, 0, &got_hi));
	EXPECT_BITS(&got_hi, &want_hi);
	ASSERT_EQ(0, bits_read(self->env.fd, self->env.hwpt, 0, &got_lo));
	EXPECT_BITS(&got_lo, &want_lo);

	bits_free(&got_lo);
	bits_free(&want_lo);
	bits_free(&got_hi);
	bits_free(&want_hi);
}

/*
 * A THP mapped with one 2 MiB IO page has one dirty bit: a write of one
 * byte reports all 2 MiB of it.
 */
TEST_F(bitmap, a_write_into_a_huge_io_page_reports_all_of_it)
{
	uint64_t iova = BASE + 2 * SZ_2M;
	void *region = NULL;
	size_t region_len;
	uint8_t *thp;

	thp = thp_alloc(&region, &region_len);
	ASSERT_NE(NULL, thp);
	ASSERT_EQ(0, ioas_map_fixed(self->env.fd, self->env.ioas, thp, SZ_2M,
				    iova));
	if (max_io_page(self->env.fd, self->env.hwpt, iova, SZ_2M, thp) !=
	    SZ_2M) {
		munmap(region, region_len);
		SKIP(return, "no THP backs the buffer, so no 2 MiB IO page");
	}

	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	ASSERT_EQ(0, mock_dma_write(self->env.fd, self->env.dev.id,
				    iova + 3 * CPU_PAGE + 17, 1));
	bits_mark(&self->want, iova, SZ_2M);
	WRITE(BUF_IOVA + IO_PAGE, 1);
	ASSERT_EQ(0, READ_BITS(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	EXPECT_BITS(&self->got, &self->want);

	/* A bitmap over part of the page gets only its own bits */
	if (variant->page_size < SZ_2M) {
		struct bits part, part_want;
		uint64_t len = SZ_2M / 2;

		ASSERT_EQ(0, bits_init(&part, iova + len / 2, len,
				       variant->page_size, 8));
		ASSERT_EQ(0, bits_init(&part_want, iova + len / 2, len,
				       variant->page_size, 0));
		bits_mark(&part_want, iova, SZ_2M);
		ASSERT_EQ(0, bits_read(self->env.fd, self->env.hwpt, 0,
				       &part));
		EXPECT_BITS(&part, &part_want);
		bits_free(&part);
		bits_free(&part_want);
	}
	munmap(region, region_len);
}

/* ---- IOMMU_HWPT_GET_DIRTY_BITMAP: bitmaps of many pages ---- */

/*
 * The kernel pins the user bitmap 512 pages (2 MiB, WINDOW_BITS bits) at a
 * time, the first window ending where the page after 2 MiB from the
 * bitmap's page starts. The bitmaps here have two full windows and a small
 * third one (yet big enough that its edge and its end are more than a
 * spot apart); dirty pages sit right at both edges and at both ends.
 */
#define WINDOW_BITS	(512 * CPU_PAGE * 8)
#define WINDOW_NBITS	(2 * WINDOW_BITS + 65536)
#define SPOT_SIZE	SZ_64K

FIXTURE(window)
{
	struct env env;
	uint8_t *spot;
	struct bits got;
	struct bits want;
	uint64_t length;
	uint64_t edge[2];	/* the IOVAs where windows 2 and 3 start */
};

FIXTURE_VARIANT(window)
{
	uint64_t page_size;
	size_t offset;		/* of the bitmap in its first page */
};

FIXTURE_VARIANT_ADD(window, page_16_aligned)
{
	.page_size = 16,
	.offset = 0,
};

/* The first edge falls in the middle of an IO page */
FIXTURE_VARIANT_ADD(window, page_16_offset_8)
{
	.page_size = 16,
	.offset = 8,
};

/* The first edge falls in the middle of a 2 MiB page */
FIXTURE_VARIANT_ADD(window, page_64_offset_8)
{
	.page_size = 64,
	.offset = 8,
};

FIXTURE_VARIANT_ADD(window, page_4k_offset_8)
{
	.page_size = CPU_PAGE,
	.offset = 8,
};

FIXTURE_VARIANT_ADD(window, page_4k_offset_4088)
{
	.page_size = CPU_PAGE,
	.offset = CPU_PAGE - 8,
};

FIXTURE_SETUP(window)
{
	uint64_t first_bits = WINDOW_BITS - variant->offset * 8;

	SKIP_IF_UPSTREAM_MOCK(return);

	self->spot = NULL;
	env_setup(_metadata, &self->env);
	self->length = WINDOW_NBITS * variant->page_size;
	self->edge[0] = BASE + first_bits * variant->page_size;
	self->edge[1] = self->edge[0] + WINDOW_BITS * variant->page_size;
	self->spot = small_pages_alloc(SPOT_SIZE);
	ASSERT_NE(NULL, self->spot);
	ASSERT_EQ(0, bits_init(&self->got, BASE, self->length,
			       variant->page_size, variant->offset));
	ASSERT_EQ(0, bits_init(&self->want, BASE, self->length,
			       variant->page_size, 0));
}

FIXTURE_TEARDOWN(window)
{
	bits_free(&self->got);
	bits_free(&self->want);
	env_teardown(&self->env);
	if (self->spot)
		munmap(self->spot, SPOT_SIZE);
}

/* Map the spot buffer at @iova, rounded down to a CPU page */
static void map_spot(struct __test_metadata *_metadata, int fd, uint32_t ioas,
		     const void *spot, uint64_t iova)
{
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, spot, SPOT_SIZE,
				    ALIGN_DOWN_TO(iova, CPU_PAGE)));
}

/*
 * Spots at both ends of the range and around both edges, written at the
 * first and last byte of the range and in the IO pages nearest each edge.
 */
static void window_write_edges(struct __test_metadata *_metadata, int fd,
			       uint32_t ioas, uint32_t dev,
			       const uint8_t *spot, const uint64_t *edge,
			       uint64_t length, struct bits *want)
{
	const uint64_t end = BASE + length;
	uint64_t iova[10];
	unsigned int i, n = 0;

	map_spot(_metadata, fd, ioas, spot, BASE);
	map_spot(_metadata, fd, ioas, spot, end - SPOT_SIZE);
	iova[n++] = BASE;
	iova[n++] = end - 1;
	for (i = 0; i != 2; i++) {
		map_spot(_metadata, fd, ioas, spot, edge[i] - SPOT_SIZE / 2);
		iova[n++] = edge[i] - IO_PAGE - 1;
		iova[n++] = edge[i] - 1;
		iova[n++] = edge[i];
		iova[n++] = edge[i] + IO_PAGE;
	}
	for (i = 0; i != n; i++) {
		ASSERT_EQ(0, mock_dma_write(fd, dev, iova[i], 1))
			TH_LOG("write at IOVA 0x%llx",
			       (unsigned long long)iova[i]);
		bits_mark(want, ALIGN_DOWN_TO(iova[i], IO_PAGE), IO_PAGE);
	}
}

#define WINDOW_WRITE_EDGES()                                                   \
	window_write_edges(_metadata, self->env.fd, self->env.ioas,            \
			   self->env.dev.id, self->spot, self->edge,           \
			   self->length, &self->want)

TEST_F(window, dirty_pages_at_the_window_edges_are_all_reported)
{
	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	WINDOW_WRITE_EDGES();
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_BITS(&self->got, &self->want);
}

TEST_F(window, a_second_read_reports_nothing)
{
	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	WINDOW_WRITE_EDGES();
	ASSERT_EQ(0, READ_BITS(0));
	bits_zero(&self->got);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_TRUE(bits_empty(&self->got));
}

TEST_F(window, no_clear_reports_the_same_bits_again)
{
	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	WINDOW_WRITE_EDGES();
	ASSERT_EQ(0, READ_BITS(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	EXPECT_BITS(&self->got, &self->want);
	bits_zero(&self->got);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_BITS(&self->got, &self->want);
}

/*
 * A dirty 2 MiB IO page that ends past the first window is reported while
 * the first window is pinned and cleared then; the bits beyond the edge
 * must still reach the second window.
 */
TEST_F(window, a_huge_io_page_across_an_edge_is_reported_whole)
{
	uint64_t iova = ALIGN_DOWN_TO(self->edge[0] - 1, SZ_2M);
	void *region = NULL;
	size_t region_len;
	uint8_t *thp;

	thp = thp_alloc(&region, &region_len);
	ASSERT_NE(NULL, thp);
	ASSERT_EQ(0, ioas_map_fixed(self->env.fd, self->env.ioas, thp, SZ_2M,
				    iova));
	if (max_io_page(self->env.fd, self->env.hwpt, iova, SZ_2M, thp) !=
	    SZ_2M) {
		munmap(region, region_len);
		SKIP(return, "no THP backs the buffer, so no 2 MiB IO page");
	}

	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	ASSERT_EQ(0, mock_dma_write(self->env.fd, self->env.dev.id, iova, 1));
	bits_mark(&self->want, iova, SZ_2M);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_BITS(&self->got, &self->want);

	bits_zero(&self->got);
	ASSERT_EQ(0, READ_BITS(0));
	EXPECT_TRUE(bits_empty(&self->got));
	munmap(region, region_len);
}

TEST_F(window, a_bitmap_with_an_unmapped_page_inside_is_efault)
{
	/* Past the first window, so that the first one pins fine */
	uint8_t *hole = (uint8_t *)self->got.region + 600 * CPU_PAGE;

	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	WINDOW_WRITE_EDGES();
	ASSERT_EQ(0, munmap(hole, CPU_PAGE));
	EXPECT_ERRNO(EFAULT, READ_BITS(0));
}

/* ---- IOMMU_HWPT_GET_DIRTY_BITMAP: arguments ---- */

/*
 * One dirty IO page at BASE, so that every test can also check that the
 * failed calls left it dirty.
 */
FIXTURE(bitmap_args)
{
	struct env env;
	uint8_t *buf;
	uint64_t data[4];
};

FIXTURE_SETUP(bitmap_args)
{
	SKIP_IF_UPSTREAM_MOCK(return);

	self->buf = NULL;
	env_setup(_metadata, &self->env);
	self->buf = small_pages_alloc(SZ_64K);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, ioas_map_fixed(self->env.fd, self->env.ioas, self->buf,
				    SZ_64K, BASE));
	ASSERT_EQ(0, tracking_on(self->env.fd, self->env.hwpt));
	ASSERT_EQ(0, mock_dma_write(self->env.fd, self->env.dev.id, BASE, 1));
	memset(self->data, 0, sizeof(self->data));
}

FIXTURE_TEARDOWN(bitmap_args)
{
	uint64_t data = 0;

	/* Whatever failed, the write at BASE is still to be reported */
	if (self->buf) {
		EXPECT_EQ(0, get_bitmap(self->env.fd, self->env.hwpt, 0, BASE,
					CPU_PAGE, CPU_PAGE, &data));
		EXPECT_EQ(1, data);
	}
	env_teardown(&self->env);
	if (self->buf)
		munmap(self->buf, SZ_64K);
}

/* GET_DIRTY_BITMAP of the fixture's HWPT into its small bitmap */
#define GET(iova, length, page_size)                                           \
	get_bitmap(self->env.fd, self->env.hwpt, 0, iova, length, page_size,  \
		   self->data)

TEST_F(bitmap_args, the_ioas_alignment_is_the_io_page)
{
	uint64_t align;

	/* The other tests rely on it */
	ASSERT_EQ(0, ioas_alignment(self->env.fd, self->env.ioas, &align));
	EXPECT_EQ(IO_PAGE, align);
}

TEST_F(bitmap_args, unknown_flags_and_reserved_are_eopnotsupp)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = self->env.hwpt,
		.iova = BASE,
		.length = CPU_PAGE,
		.page_size = CPU_PAGE,
		.data = (uintptr_t)self->data,
	};
	int fd = self->env.fd;

	cmd.flags = 1U << 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd));
	cmd.flags = IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR | 1U << 31;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd));
	cmd.flags = 0;
	cmd.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd));
	EXPECT_EQ(0, self->data[0]);
}

TEST_F(bitmap_args, page_size_zero_or_not_a_power_of_two_is_einval)
{
	static const uint64_t bad[] = {
		0, 3, 3 * CPU_PAGE, CPU_PAGE + IO_PAGE, (1ULL << 63) + 1,
	};
	unsigned int i;

	/* Braces: the harness's TH_LOG hook must stay inside the loop */
	for (i = 0; i != ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(EINVAL, fail_errno(GET(BASE, 0x30000, bad[i])))
			TH_LOG("page_size 0x%llx", (unsigned long long)bad[i]);
	}
	EXPECT_EQ(0, self->data[0]);
}

TEST_F(bitmap_args, zero_length_is_einval)
{
	EXPECT_ERRNO(EINVAL, GET(BASE, 0, CPU_PAGE));
	EXPECT_ERRNO(EINVAL, GET(BASE, 0, 512));
	EXPECT_EQ(0, self->data[0]);
}

TEST_F(bitmap_args, a_range_with_nothing_mapped_reports_nothing)
{
	/* 128 blocks of 2 MiB, none of them mapped */
	EXPECT_EQ(0, GET(BASE + SZ_1G, 128 * SZ_2M, SZ_2M));
	EXPECT_EQ(0, self->data[0]);
	EXPECT_EQ(0, self->data[1]);
	/* The last IOVA the mock translates, aligned */
	EXPECT_EQ(0, GET((MOCK_APERTURE_LAST + 1) - SZ_1G, SZ_1G, SZ_1G));
	EXPECT_EQ(0, self->data[0]);
}

TEST_F(bitmap_args, iova_or_length_off_the_page_size_is_einval)
{
	/* Multiples of the IO page, but not of page_size */
	EXPECT_ERRNO(EINVAL, GET(BASE + IO_PAGE, CPU_PAGE, CPU_PAGE));
	EXPECT_ERRNO(EINVAL, GET(BASE, CPU_PAGE + IO_PAGE, CPU_PAGE));
	EXPECT_ERRNO(EINVAL, GET(BASE + SZ_64K, SZ_2M, SZ_2M));
	EXPECT_ERRNO(EINVAL, GET(BASE, SZ_2M + SZ_64K, SZ_2M));
	EXPECT_EQ(0, self->data[0]);
}

TEST_F(bitmap_args, iova_or_length_off_the_ioas_alignment_is_einval)
{
	/* Multiples of page_size, but not of the IO page */
	EXPECT_ERRNO(EINVAL, GET(BASE + 512, IO_PAGE, 512));
	EXPECT_ERRNO(EINVAL, GET(BASE, IO_PAGE + 512, 512));
	EXPECT_ERRNO(EINVAL, GET(BASE, 512, 512));
	EXPECT_ERRNO(EINVAL, GET(BASE + 8, IO_PAGE, 8));
	EXPECT_EQ(0, self->data[0]);
}

TEST_F(bitmap_args, a_range_that_wraps_is_eoverflow)
{
	EXPECT_ERRNO(EOVERFLOW, GET(-(uint64_t)CPU_PAGE, 2 * CPU_PAGE,
				    CPU_PAGE));
	EXPECT_ERRNO(EOVERFLOW, GET(BASE, -(uint64_t)CPU_PAGE, CPU_PAGE));
	EXPECT_ERRNO(EOVERFLOW, GET(-(uint64_t)SZ_1G, 2 * SZ_1G, SZ_1G));
	EXPECT_EQ(0, self->data[0]);
}

TEST_F(bitmap_args, a_bitmap_the_kernel_cannot_write_is_efault)
{
	void *hole, *ro;
	int fd = self->env.fd;
	uint32_t hwpt = self->env.hwpt;

	hole = mmap(NULL, CPU_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	ro = mmap(NULL, CPU_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		  0);
	ASSERT_NE(MAP_FAILED, ro);

	EXPECT_ERRNO(EFAULT, get_bitmap(fd, hwpt, 0, BASE, CPU_PAGE, CPU_PAGE,
					NULL));
	EXPECT_ERRNO(EFAULT, get_bitmap(fd, hwpt, 0, BASE, CPU_PAGE, CPU_PAGE,
					hole));
	EXPECT_ERRNO(EFAULT, get_bitmap(fd, hwpt, 0, BASE, CPU_PAGE, CPU_PAGE,
					ro));
	/* An address in the kernel's half */
	EXPECT_ERRNO(EFAULT, get_bitmap(fd, hwpt, 0, BASE, CPU_PAGE, CPU_PAGE,
					(void *)0xffff888000000000ULL));
	munmap(hole, CPU_PAGE);
	munmap(ro, CPU_PAGE);
}

TEST_F(bitmap_args, hwpt_without_dirty_tracking_is_eopnotsupp)
{
	uint32_t plain;

	ASSERT_EQ(0, hwpt_alloc(self->env.fd, 0, self->env.dev.idev,
				self->env.ioas, &plain));
	EXPECT_ERRNO(EOPNOTSUPP, get_bitmap(self->env.fd, plain, 0, BASE,
					    CPU_PAGE, CPU_PAGE, self->data));
}

TEST_F(bitmap_args, ids_of_other_objects_are_enoent)
{
	const uint32_t ids[] = {
		NO_SUCH_ID, 0, self->env.ioas, self->env.dev.idev,
		self->env.dev.id,
	};
	int fd = self->env.fd;
	uint32_t parent, nested;
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(ids); i++) {
		EXPECT_EQ(ENOENT, fail_errno(get_bitmap(fd, ids[i], 0, BASE,
							CPU_PAGE, CPU_PAGE,
							self->data)))
			TH_LOG("id %u", ids[i]);
	}

	ASSERT_EQ(0, hwpt_alloc(fd,
				IOMMU_HWPT_ALLOC_NEST_PARENT |
				IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				self->env.dev.idev, self->env.ioas, &parent));
	ASSERT_EQ(0, hwpt_alloc_nested(fd, 0, self->env.dev.idev, parent, 1,
				       &nested));
	EXPECT_ERRNO(ENOENT, get_bitmap(fd, nested, 0, BASE, CPU_PAGE,
					CPU_PAGE, self->data));
	EXPECT_EQ(0, self->data[0]);
}

/* ---- IOMMU_HWPT_INVALIDATE ---- */

/* The IOTLB tag a nested HWPT starts with */
#define FIRST_IOTLB	0x100

FIXTURE(invalidate)
{
	int fd;
	uint32_t ioas;
	struct mdev dev;
	uint32_t parent;
	uint32_t nested;
};

FIXTURE_SETUP(invalidate)
{
	MOCK_FILE_OPEN(self->fd, return);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mdev_add(self->fd, 0, &self->dev));
	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_NEST_PARENT,
				self->dev.idev, self->ioas, &self->parent));
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, 0, self->dev.idev,
				       self->parent, FIRST_IOTLB,
				       &self->nested));
}

FIXTURE_TEARDOWN(invalidate)
{
	close(self->fd);
}

/*
 * IOMMU_HWPT_INVALIDATE; *entry_num goes in and comes back as the kernel
 * wrote it, failure or not.
 */
static int invalidate(int fd, uint32_t hwpt, uint32_t data_type,
		      const void *entries, uint32_t entry_len,
		      uint32_t *entry_num)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt,
		.data_uptr = (uintptr_t)entries,
		.data_type = data_type,
		.entry_len = entry_len,
		.entry_num = *entry_num,
	};
	int rc;

	rc = ioctl(fd, IOMMU_HWPT_INVALIDATE, &cmd);
	*entry_num = cmd.entry_num;
	return rc;
}

/* Selftest entries of the usual length */
#define INVALIDATE(entries, num)                                               \
	invalidate(self->fd, self->nested,                                     \
		   IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, entries,               \
		   sizeof(struct iommu_hwpt_mock_invalidate), num)

/* The nested HWPT's IOTLB tag and invalidation count are these */
static void expect_iotlb(struct __test_metadata *_metadata, int fd,
			 uint32_t id, uint32_t iotlb, uint32_t invalidations)
{
	struct dom dom;

	ASSERT_EQ(0, dom_get(fd, id, &dom));
	EXPECT_EQ(iotlb, dom.iotlb);
	EXPECT_EQ(invalidations, dom.invalidations);
}

#define EXPECT_IOTLB(iotlb, invalidations)                                     \
	expect_iotlb(_metadata, self->fd, self->nested, iotlb, invalidations)

TEST_F(invalidate, a_new_nested_hwpt_has_its_first_tag)
{
	EXPECT_IOTLB(FIRST_IOTLB, 0);
}

TEST_F(invalidate, entries_are_applied_in_order)
{
	struct iommu_hwpt_mock_invalidate inv[] = {
		{ .iotlb = 11 }, { .iotlb = 22 }, { .iotlb = 33 },
	};
	uint32_t num = 3;

	ASSERT_EQ(0, INVALIDATE(inv, &num));
	EXPECT_EQ(3, num);
	EXPECT_IOTLB(33, 3);

	/* Counts add up over calls; the last entry decides the tag */
	num = 2;
	ASSERT_EQ(0, INVALIDATE(inv, &num));
	EXPECT_EQ(2, num);
	EXPECT_IOTLB(22, 5);
}

TEST_F(invalidate, the_attached_device_sees_the_invalidated_domain)
{
	struct iommu_hwpt_mock_invalidate inv = { .iotlb = 0x77 };
	uint32_t num = 1;

	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->nested, NULL));
	ASSERT_EQ(0, INVALIDATE(&inv, &num));
	EXPECT_EQ(1, num);
	expect_iotlb(_metadata, self->fd, self->dev.id, 0x77, 1);
}

TEST_F(invalidate, a_refused_entry_stops_the_batch_and_reports_how_far)
{
	struct iommu_hwpt_mock_invalidate inv[] = {
		{ .iotlb = 11 }, { .iotlb = 0 }, { .iotlb = 33 },
	};
	uint32_t num = 3;

	EXPECT_ERRNO(EINVAL, INVALIDATE(inv, &num));
	EXPECT_EQ(1, num);
	EXPECT_IOTLB(11, 1);
}

TEST_F(invalidate, a_refused_first_entry_reports_zero_done)
{
	struct iommu_hwpt_mock_invalidate inv[] = {
		{ .iotlb = 0 }, { .iotlb = 22 },
	};
	uint32_t num = 2;

	EXPECT_ERRNO(EINVAL, INVALIDATE(inv, &num));
	EXPECT_EQ(0, num);
	EXPECT_IOTLB(FIRST_IOTLB, 0);
}

TEST_F(invalidate, an_entry_with_unknown_flags_stops_the_batch_and_reports_how_far)
{
	struct iommu_hwpt_mock_invalidate inv[] = {
		{ .iotlb = 11 }, { .iotlb = 22 }, { .flags = 1, .iotlb = 33 },
		{ .iotlb = 44 },
	};
	uint32_t num = 4;

	EXPECT_ERRNO(EOPNOTSUPP, INVALIDATE(inv, &num));
	EXPECT_EQ(2, num);
	EXPECT_IOTLB(22, 2);
}

TEST_F(invalidate, entries_running_into_unmapped_memory_stop_there)
{
	struct iommu_hwpt_mock_invalidate *inv;
	uint8_t *pages;
	uint32_t num = 4;

	/* Two entries end the first page; the second page is not mapped */
	pages = mmap(NULL, 2 * CPU_PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_EQ(0, munmap(pages + CPU_PAGE, CPU_PAGE));
	inv = (struct iommu_hwpt_mock_invalidate *)(pages + CPU_PAGE) - 2;
	inv[0] = (struct iommu_hwpt_mock_invalidate){ .iotlb = 11 };
	inv[1] = (struct iommu_hwpt_mock_invalidate){ .iotlb = 22 };

	EXPECT_ERRNO(EFAULT, INVALIDATE(inv, &num));
	EXPECT_EQ(2, num);
	EXPECT_IOTLB(22, 2);
	munmap(pages, CPU_PAGE);
}

TEST_F(invalidate, zero_entries_succeed_and_do_nothing)
{
	struct iommu_hwpt_mock_invalidate inv = { .iotlb = 11 };
	uint32_t num = 0;

	/* Pointer and length are not looked at */
	EXPECT_EQ(0, invalidate(self->fd, self->nested,
				IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, NULL, 0,
				&num));
	EXPECT_EQ(0, num);
	EXPECT_EQ(0, INVALIDATE(&inv, &num));
	EXPECT_EQ(0, num);
	EXPECT_IOTLB(FIRST_IOTLB, 0);
}

/*
 * The uAPI offers entry_num = 0 as the cheap way to learn whether a data
 * type is supported, so it must fail for one that is not.
 */
TEST_F(invalidate, zero_entries_of_an_unknown_data_type_are_eopnotsupp)
{
	uint32_t num = 0;

	EXPECT_ERRNO(EOPNOTSUPP,
		     invalidate(self->fd, self->nested,
				IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, NULL, 0,
				&num));
	EXPECT_EQ(0, num);
	EXPECT_IOTLB(FIRST_IOTLB, 0);
}

TEST_F(invalidate, an_unknown_data_type_is_eopnotsupp_before_any_entry)
{
	struct iommu_hwpt_mock_invalidate inv[] = {
		{ .iotlb = 11 }, { .iotlb = 22 },
	};
	static const uint32_t types[] = {
		IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 0x1234, 0xffffffff,
	};
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(types); i++) {
		uint32_t num = 2;

		EXPECT_EQ(EOPNOTSUPP,
			  fail_errno(invalidate(self->fd, self->nested,
						types[i], inv, sizeof(inv[0]),
						&num)))
			TH_LOG("data_type 0x%x", types[i]);
		EXPECT_EQ(0, num);
	}
	EXPECT_IOTLB(FIRST_IOTLB, 0);
}

TEST_F(invalidate, entries_without_a_pointer_or_a_length_are_einval)
{
	struct iommu_hwpt_mock_invalidate inv = { .iotlb = 11 };
	uint32_t num = 1;

	EXPECT_ERRNO(EINVAL, invalidate(self->fd, self->nested,
					IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
					NULL, sizeof(inv), &num));
	num = 1;
	EXPECT_ERRNO(EINVAL, invalidate(self->fd, self->nested,
					IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
					&inv, 0, &num));
	EXPECT_IOTLB(FIRST_IOTLB, 0);
}

/*
 * The driver copies each entry with iommu_copy_struct_from_user_array(),
 * which in 6.12 takes exactly the entry's size and nothing else: shorter
 * misses a field, longer is a layout the driver does not know.
 */
TEST_F(invalidate, entry_len_other_than_the_entry_size_is_einval)
{
	uint64_t raw[4] = {};
	static const uint32_t lens[] = { 4, 7, 12, 16 };
	struct iommu_hwpt_mock_invalidate *inv = (void *)raw;
	unsigned int i;

	inv->iotlb = 11;
	for (i = 0; i != ARRAY_SIZE(lens); i++) {
		uint32_t num = 1;

		EXPECT_EQ(EINVAL,
			  fail_errno(invalidate(self->fd, self->nested,
						IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
						raw, lens[i], &num)))
			TH_LOG("entry_len %u", lens[i]);
		EXPECT_EQ(0, num);
	}
	EXPECT_IOTLB(FIRST_IOTLB, 0);
}

TEST_F(invalidate, nonzero_reserved_is_eopnotsupp)
{
	struct iommu_hwpt_mock_invalidate inv = { .iotlb = 11 };
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = self->nested,
		.data_uptr = (uintptr_t)&inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		.entry_len = sizeof(inv),
		.entry_num = 1,
		.__reserved = 1,
	};

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_IOTLB(FIRST_IOTLB, 0);
}

TEST_F(invalidate, ids_other_than_a_nested_hwpt_are_enoent)
{
	struct iommu_hwpt_mock_invalidate inv = { .iotlb = 11 };
	const uint32_t ids[] = {
		NO_SUCH_ID, 0, self->parent, self->ioas, self->dev.idev,
		self->dev.id,
	};
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(ids); i++) {
		uint32_t num = 1;

		EXPECT_EQ(ENOENT,
			  fail_errno(invalidate(self->fd, ids[i],
						IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
						&inv, sizeof(inv), &num)))
			TH_LOG("id %u", ids[i]);
	}
	EXPECT_IOTLB(FIRST_IOTLB, 0);
}

/*
 * entry_num comes back even when the ioctl fails: a call refused before
 * any entry was looked at reports 0 done.
 */
TEST_F(invalidate, a_call_refused_up_front_reports_zero_done)
{
	struct iommu_hwpt_mock_invalidate inv = { .iotlb = 11 };
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = self->nested,
		.data_uptr = (uintptr_t)&inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		.entry_len = sizeof(inv),
		.entry_num = 1,
		.__reserved = 1,
	};
	uint32_t num = 1;

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_EQ(0, cmd.entry_num);
	EXPECT_ERRNO(EINVAL, invalidate(self->fd, self->nested,
					IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
					NULL, sizeof(inv), &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_ERRNO(ENOENT, invalidate(self->fd, self->parent,
					IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
					&inv, sizeof(inv), &num));
	EXPECT_EQ(0, num);
}

/*
 * 6.12 looks the HWPT up before it looks at the range: an ID that names no
 * paging HWPT is ENOENT whatever the range, even one that could never be
 * valid. Needs no device, so pristine 6.12 runs it too.
 */
TEST(get_bitmap_looks_up_the_hwpt_before_the_range)
{
	uint64_t bitmap = 0;
	uint32_t ioas;
	int fd;

	fd = iommufd_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	EXPECT_ERRNO(ENOENT, get_bitmap(fd, NO_SUCH_ID, 0, 0, 0, 3, &bitmap));
	EXPECT_ERRNO(ENOENT, get_bitmap(fd, ioas, 0, 1, CPU_PAGE, 0, &bitmap));
	EXPECT_ERRNO(ENOENT, get_bitmap(fd, ioas, 0, UINT64_MAX, CPU_PAGE,
					CPU_PAGE, &bitmap));
	ASSERT_EQ(0, close(fd));
}

TEST_HARNESS_MAIN
