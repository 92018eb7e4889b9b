// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO type1 container interface as a /dev/iommu file answers it.
 *
 * Legacy VFIO userspace talks to a container with the ioctls of
 * <linux/vfio.h> (API version, extensions, SET_IOMMU, GET_INFO, MAP_DMA,
 * UNMAP_DMA). An iommufd file answers them on its "compat" IOAS: the one
 * IOMMU_VFIO_IOAS chose, or the one a VFIO group created when it was given
 * the file as its container. Nothing here needs a device: the compat IOAS
 * is chosen with IOMMU_VFIO_IOAS, and what the ioctls did is looked at
 * through the IOAS ioctls on the same IOAS.
 *
 * Every errno and every value checked is what pristine 6.12 returns, and
 * this suite runs there too; the few tests that need a mock domain (to see
 * memory pinned and charged, or a reserved range) skip there. The kernel's
 * /dev/vfio/vfio is looked at last: it is either VFIO's native container
 * or, with CONFIG_IOMMUFD_VFIO_CONTAINER, an iommufd file that charges pins
 * the way type1 does.
 */
#include <stddef.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <linux/vfio.h>

#include "iommufd_selftest.h"

#define NPAGES		16
#define BUF_LEN		(NPAGES * CPU_PAGE)
#define IOVA_A		0x100000ULL
#define IOVA_B		0x200000ULL

/*
 * The sizes of the structs up to their last u64 field, the oldest layout
 * the kernel accepts; a GET_INFO struct is INFO_LEN before its capabilities.
 */
#define INFO_LEN	sizeof(struct vfio_iommu_type1_info)
#define INFO_MIN_LEN	(offsetof(struct vfio_iommu_type1_info, iova_pgsizes) + 8)
#define MAP_MIN_LEN	(offsetof(struct vfio_iommu_type1_dma_map, size) + 8)
#define UNMAP_MIN_LEN	(offsetof(struct vfio_iommu_type1_dma_unmap, size) + 8)

/* The iova_pgsizes of an IOAS without a domain: every size from a page */
#define PGSIZES_NO_DOMAIN	(~(CPU_PAGE - 1))

static int vfio_extension(int fd, unsigned long ext)
{
	return ioctl(fd, VFIO_CHECK_EXTENSION, ext);
}

static int vfio_set_iommu(int fd, unsigned long type)
{
	return ioctl(fd, VFIO_SET_IOMMU, type);
}

static int vfio_map(int fd, uint32_t flags, const void *va, uint64_t size,
		    uint64_t iova)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = size,
	};

	return ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
}

static int vfio_map_rw(int fd, const void *va, uint64_t size, uint64_t iova)
{
	return vfio_map(fd, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			va, size, iova);
}

/* *size (optional) gets what the kernel wrote back, also on failure */
static int vfio_unmap(int fd, uint32_t flags, uint64_t iova, uint64_t *size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = size ? *size : 0,
	};
	int rc;

	rc = ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap);
	if (size)
		*size = unmap.size;
	return rc;
}

static int vfio_ioas(int fd, uint32_t op, uint32_t *id)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = op,
		.ioas_id = *id,
	};
	int rc;

	rc = ioctl(fd, IOMMU_VFIO_IOAS, &cmd);
	if (!rc)
		*id = cmd.ioas_id;
	return rc;
}

/* ---- A file with no compat IOAS ---- */

FIXTURE(bare)
{
	int fd;
	uint8_t *buf;
};

FIXTURE_SETUP(bare)
{
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	self->buf = anon_alloc(BUF_LEN);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(bare)
{
	munmap(self->buf, BUF_LEN);
	close(self->fd);
}

TEST_F(bare, api_version_is_vfio_api_version)
{
	EXPECT_EQ(VFIO_API_VERSION, ioctl(self->fd, VFIO_GET_API_VERSION));
}

TEST_F(bare, type1_extensions_are_offered)
{
	EXPECT_EQ(1, vfio_extension(self->fd, VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1, vfio_extension(self->fd, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1, vfio_extension(self->fd, VFIO_UNMAP_ALL));
}

TEST_F(bare, other_extensions_are_not_offered)
{
	EXPECT_EQ(0, vfio_extension(self->fd, VFIO_SPAPR_TCE_IOMMU));
	EXPECT_EQ(0, vfio_extension(self->fd, VFIO_EEH));
	EXPECT_EQ(0, vfio_extension(self->fd, VFIO_TYPE1_NESTING_IOMMU));
	EXPECT_EQ(0, vfio_extension(self->fd, VFIO_SPAPR_TCE_v2_IOMMU));
	EXPECT_EQ(0, vfio_extension(self->fd, VFIO_UPDATE_VADDR));
	EXPECT_EQ(0, vfio_extension(self->fd, 0));
	EXPECT_EQ(0, vfio_extension(self->fd, 11));
	EXPECT_EQ(0, vfio_extension(self->fd, ~0UL));
}

/* Offered exactly when VFIO is built with its no-IOMMU mode */
TEST_F(bare, noiommu_extension_follows_vfio_noiommu)
{
	const char *param =
		"/sys/module/vfio/parameters/enable_unsafe_noiommu_mode";
	bool noiommu = !access(param, F_OK);

	EXPECT_EQ(noiommu, vfio_extension(self->fd, VFIO_NOIOMMU_IOMMU));
}

TEST_F(bare, dma_cc_extension_needs_a_compat_ioas)
{
	EXPECT_ERRNO(ENODEV, vfio_extension(self->fd, VFIO_DMA_CC_IOMMU));
}

TEST_F(bare, set_iommu_type1_needs_a_compat_ioas)
{
	uint32_t id = 0;

	EXPECT_ERRNO(ENODEV, vfio_set_iommu(self->fd, VFIO_TYPE1v2_IOMMU));
	EXPECT_ERRNO(ENODEV, vfio_set_iommu(self->fd, VFIO_TYPE1_IOMMU));
	/* Only a VFIO group creates one; SET_IOMMU does not */
	EXPECT_ERRNO(ENODEV, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &id));
}

TEST_F(bare, set_iommu_of_another_type_is_einval)
{
	EXPECT_ERRNO(EINVAL, vfio_set_iommu(self->fd, 0));
	EXPECT_ERRNO(EINVAL, vfio_set_iommu(self->fd, VFIO_SPAPR_TCE_IOMMU));
	EXPECT_ERRNO(EINVAL, vfio_set_iommu(self->fd, VFIO_DMA_CC_IOMMU));
	EXPECT_ERRNO(EINVAL,
		     vfio_set_iommu(self->fd, VFIO_TYPE1_NESTING_IOMMU));
	EXPECT_ERRNO(EINVAL, vfio_set_iommu(self->fd, VFIO_SPAPR_TCE_v2_IOMMU));
	EXPECT_ERRNO(EINVAL, vfio_set_iommu(self->fd, 11));
}

TEST_F(bare, dma_ioctls_need_a_compat_ioas)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	uint64_t size = CPU_PAGE;

	EXPECT_ERRNO(ENODEV, ioctl(self->fd, VFIO_IOMMU_GET_INFO, &info));
	EXPECT_ERRNO(ENODEV, vfio_map_rw(self->fd, self->buf, CPU_PAGE,
					 IOVA_A));
	EXPECT_ERRNO(ENODEV, vfio_unmap(self->fd, 0, IOVA_A, &size));
	EXPECT_ERRNO(ENODEV, vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0,
					NULL));
}

/* Arguments are judged before the compat IOAS is looked for */
TEST_F(bare, bad_arguments_fail_before_the_missing_compat_ioas)
{
	struct vfio_iommu_type1_info info = { .argsz = INFO_MIN_LEN - 1 };
	struct vfio_iommu_type1_dma_map map = { .argsz = MAP_MIN_LEN - 1 };
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
	};

	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_GET_INFO, &info));
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
}

TEST_F(bare, unserved_vfio_ioctls_are_enotty)
{
	struct vfio_iommu_type1_dirty_bitmap dirty = {
		.argsz = sizeof(dirty),
		.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
	};

	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &dirty));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, VFIO_IOMMU_ENABLE));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, VFIO_IOMMU_DISABLE));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, VFIO_GROUP_GET_STATUS, NULL));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(VFIO_TYPE, VFIO_BASE + 27)));
}

/* ---- IOMMU_VFIO_IOAS picks the IOAS the VFIO ioctls act on ---- */

TEST_F(bare, dma_ioctls_act_on_the_ioas_vfio_ioas_set_chose)
{
	uint32_t first, second, id;
	uint64_t unmapped;

	ASSERT_EQ(0, ioas_alloc(self->fd, &first));
	ASSERT_EQ(0, ioas_alloc(self->fd, &second));
	id = first;
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, CPU_PAGE, IOVA_A));
	id = second;
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, 2 * CPU_PAGE, IOVA_A));

	ASSERT_EQ(0, ioas_unmap(self->fd, first, IOVA_A, CPU_PAGE,
				&unmapped));
	EXPECT_EQ(CPU_PAGE, unmapped);
	ASSERT_EQ(0, ioas_unmap(self->fd, second, IOVA_A, 2 * CPU_PAGE,
				&unmapped));
	EXPECT_EQ(2 * CPU_PAGE, unmapped);
}

TEST_F(bare, vfio_ioas_clear_leaves_the_dma_ioctls_enodev)
{
	uint32_t id;

	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	ASSERT_EQ(0, vfio_set_iommu(self->fd, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_CLEAR, &id));
	EXPECT_ERRNO(ENODEV, vfio_map_rw(self->fd, self->buf, CPU_PAGE,
					 IOVA_A));
	EXPECT_ERRNO(ENODEV, vfio_extension(self->fd, VFIO_DMA_CC_IOMMU));
	/* The IOAS itself stays */
	EXPECT_EQ(0, object_destroy(self->fd, id));
}

TEST_F(bare, compat_ioas_with_mappings_can_be_destroyed)
{
	uint32_t id, got = 0;

	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, BUF_LEN, IOVA_A));
	ASSERT_EQ(0, object_destroy(self->fd, id));
	EXPECT_ERRNO(ENODEV, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &got));
	EXPECT_ERRNO(ENODEV, vfio_map_rw(self->fd, self->buf, CPU_PAGE,
					 IOVA_A));
}

/*
 * IDs are reused: the next IOAS may get the ID of the destroyed compat
 * IOAS, and must not become the compat IOAS by that.
 */
TEST_F(bare, new_ioas_with_the_id_of_a_destroyed_compat_ioas_is_not_compat)
{
	uint32_t id, again, got = 0;

	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	ASSERT_EQ(0, object_destroy(self->fd, id));
	ASSERT_EQ(0, ioas_alloc(self->fd, &again));
	ASSERT_EQ(id, again);
	EXPECT_ERRNO(ENODEV, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &got));
	EXPECT_ERRNO(ENODEV, vfio_map_rw(self->fd, self->buf, CPU_PAGE,
					 IOVA_A));
}

/* ---- A compat IOAS, set to one of the type1 flavours ---- */

FIXTURE(compat)
{
	int fd;
	uint32_t ioas;
	uint8_t *buf;
};

FIXTURE_VARIANT(compat)
{
	unsigned long type;
};

FIXTURE_VARIANT_ADD(compat, type1v2)
{
	.type = VFIO_TYPE1v2_IOMMU,
};

FIXTURE_VARIANT_ADD(compat, type1)
{
	.type = VFIO_TYPE1_IOMMU,
};

FIXTURE_SETUP(compat)
{
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	self->buf = anon_alloc(BUF_LEN);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &self->ioas));
	ASSERT_EQ(0, vfio_set_iommu(self->fd, variant->type));
}

FIXTURE_TEARDOWN(compat)
{
	munmap(self->buf, BUF_LEN);
	close(self->fd);
}

TEST_F(compat, set_iommu_can_be_repeated)
{
	EXPECT_EQ(0, vfio_set_iommu(self->fd, variant->type));
	EXPECT_EQ(0, vfio_set_iommu(self->fd, VFIO_TYPE1v2_IOMMU));
	EXPECT_ERRNO(EINVAL, vfio_set_iommu(self->fd, VFIO_SPAPR_TCE_IOMMU));
}

/* TYPE1 may unmap inside a mapping, so its IOAS maps no huge IO pages */
TEST_F(compat, type1_turns_off_huge_pages_of_the_compat_ioas)
{
	uint64_t huge = 2;

	ASSERT_EQ(0, option_get(self->fd, IOMMU_OPTION_HUGE_PAGES, self->ioas,
				&huge));
	EXPECT_EQ(variant->type == VFIO_TYPE1_IOMMU ? 0 : 1, huge);
}

TEST_F(compat, dma_cc_extension_is_offered_without_a_domain)
{
	EXPECT_EQ(1, vfio_extension(self->fd, VFIO_DMA_CC_IOMMU));
}

/* Coherent only while every domain of the compat IOAS blocks no-snoop */
TEST_F(compat, dma_cc_extension_follows_the_domains_of_the_compat_ioas)
{
	struct mdev strict, plain;
	uint32_t hwpt;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_EQ(0, mdev_add(self->fd, MOCK_DEVICE_ENFORCE_COHERENCY,
			      &strict));
	ASSERT_EQ(0, mdev_add(self->fd, 0, &plain));
	ASSERT_EQ(0, mdev_attach(self->fd, strict.id, self->ioas, &hwpt));
	EXPECT_EQ(1, vfio_extension(self->fd, VFIO_DMA_CC_IOMMU));
	ASSERT_EQ(0, mdev_attach(self->fd, plain.id, self->ioas, &hwpt));
	EXPECT_EQ(0, vfio_extension(self->fd, VFIO_DMA_CC_IOMMU));
	ASSERT_EQ(0, mdev_detach(self->fd, plain.id));
	EXPECT_EQ(1, vfio_extension(self->fd, VFIO_DMA_CC_IOMMU));
}

/* ---- GET_INFO ---- */

TEST_F(compat, get_info_with_argsz_below_its_fields_is_einval)
{
	struct vfio_iommu_type1_info info = { .argsz = INFO_MIN_LEN - 1 };

	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_GET_INFO, &info));
}

/* Room for the struct only: no capability, argsz says what they need */
TEST_F(compat, get_info_without_room_for_caps_asks_for_more)
{
	struct vfio_iommu_type1_info info = {
		.argsz = INFO_LEN,
		.cap_offset = 0xdead,
	};

	ASSERT_EQ(0, ioctl(self->fd, VFIO_IOMMU_GET_INFO, &info));
	EXPECT_EQ(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, info.flags);
	EXPECT_EQ(0, info.cap_offset);
	EXPECT_LT(INFO_LEN, info.argsz);
	EXPECT_EQ(0, info.argsz % 8);
	EXPECT_EQ(PGSIZES_NO_DOMAIN, info.iova_pgsizes);
}

/* An old struct without cap_offset: that field is left alone */
TEST_F(compat, get_info_writes_no_more_than_argsz)
{
	struct vfio_iommu_type1_info info = {
		.argsz = INFO_MIN_LEN,
		.cap_offset = 0xdead,
	};

	ASSERT_EQ(0, ioctl(self->fd, VFIO_IOMMU_GET_INFO, &info));
	EXPECT_EQ(0xdead, info.cap_offset);
	EXPECT_LT(INFO_LEN, info.argsz);
	EXPECT_EQ(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, info.flags);
}

/* The full chain, fetched with the argsz the kernel asked for */
struct info_caps {
	union {
		struct vfio_iommu_type1_info info;
		uint8_t bytes[4096];
	};
	struct vfio_iommu_type1_info_cap_iova_range *iova;
	struct vfio_iommu_type1_info_dma_avail *dma_avail;
	unsigned int ncaps;
};

static void get_info_caps(struct __test_metadata *_metadata, int fd,
			  struct info_caps *out)
{
	uint32_t offset;

	memset(out, 0, sizeof(*out));
	out->info.argsz = INFO_LEN;
	ASSERT_EQ(0, ioctl(fd, VFIO_IOMMU_GET_INFO, &out->info));
	ASSERT_GE(sizeof(out->bytes), out->info.argsz);
	ASSERT_EQ(0, ioctl(fd, VFIO_IOMMU_GET_INFO, &out->info));
	ASSERT_EQ(INFO_LEN, out->info.cap_offset);

	for (offset = out->info.cap_offset; offset; ) {
		struct vfio_info_cap_header *hdr = (void *)&out->bytes[offset];

		ASSERT_EQ(0, offset % 8);
		ASSERT_GE(out->info.argsz, offset + sizeof(*hdr));
		ASSERT_GT(8, out->ncaps);
		out->ncaps++;
		EXPECT_EQ(1, hdr->version);
		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			ASSERT_EQ(NULL, out->iova);
			out->iova = (void *)hdr;
		} else if (hdr->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
			ASSERT_EQ(NULL, out->dma_avail);
			out->dma_avail = (void *)hdr;
		}
		/* A later capability always sits after an earlier one */
		if (hdr->next)
			ASSERT_LT(offset, hdr->next);
		offset = hdr->next;
	}
}

TEST_F(compat, get_info_caps_are_iova_ranges_and_dma_avail)
{
	struct info_caps caps;

	get_info_caps(_metadata, self->fd, &caps);
	EXPECT_EQ(2, caps.ncaps);
	ASSERT_NE(NULL, caps.iova);
	ASSERT_NE(NULL, caps.dma_avail);
	EXPECT_EQ(UINT32_MAX, caps.dma_avail->avail);
	/* Nothing is reserved yet: the whole space */
	ASSERT_EQ(1, caps.iova->nr_iovas);
	EXPECT_EQ(0, caps.iova->iova_ranges[0].start);
	EXPECT_EQ(UINT64_MAX, caps.iova->iova_ranges[0].end);
	EXPECT_EQ(caps.info.argsz,
		  (uint8_t *)&caps.iova->iova_ranges[1] - caps.bytes);
}

/*
 * Room for the first capability but not the second: the first is written,
 * its next already says where the second would be, cap_offset stays 0.
 */
TEST_F(compat, get_info_fills_the_caps_that_fit)
{
	struct info_caps full;
	union {
		struct vfio_iommu_type1_info info;
		uint8_t bytes[4096];
	} part;
	struct vfio_info_cap_header *first;

	get_info_caps(_metadata, self->fd, &full);
	first = (void *)&full.bytes[INFO_LEN];
	ASSERT_NE(0, first->next);

	memset(&part, 0, sizeof(part));
	part.info.argsz = first->next;
	ASSERT_EQ(0, ioctl(self->fd, VFIO_IOMMU_GET_INFO, &part.info));
	EXPECT_EQ(full.info.argsz, part.info.argsz);
	EXPECT_EQ(0, part.info.cap_offset);
	EXPECT_EQ(0, memcmp(&full.bytes[INFO_LEN], &part.bytes[INFO_LEN],
			    first->next - INFO_LEN));
}

/* The IOVA ranges capability tells what IOMMU_IOAS_IOVA_RANGES tells */
TEST_F(compat, get_info_iova_ranges_follow_reserved_ranges)
{
	struct iommu_test_cmd cmd = {
		.add_reserved = { .start = IOVA_B, .length = CPU_PAGE },
	};
	struct ioas_ranges ranges;
	struct info_caps caps;
	unsigned int i;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_EQ(0, test_cmd(self->fd, IOMMU_TEST_OP_ADD_RESERVED, self->ioas,
			      &cmd));
	ASSERT_EQ(0, ioas_ranges_get(self->fd, self->ioas, &ranges));
	ASSERT_EQ(2, ranges.num);

	get_info_caps(_metadata, self->fd, &caps);
	ASSERT_NE(NULL, caps.iova);
	ASSERT_EQ(ranges.num, caps.iova->nr_iovas);
	for (i = 0; i != ranges.num; i++) {
		EXPECT_EQ(ranges.range[i].start,
			  caps.iova->iova_ranges[i].start);
		EXPECT_EQ(ranges.range[i].last, caps.iova->iova_ranges[i].end);
	}
	EXPECT_ERRNO(EINVAL, vfio_map_rw(self->fd, self->buf, 2 * CPU_PAGE,
					 IOVA_B - CPU_PAGE));
}

TEST_F(compat, get_info_pgsizes_follow_the_domains)
{
	struct vfio_iommu_type1_info info = { .argsz = INFO_LEN };
	uint32_t mock;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas,
				     MOCK_DOMAIN_NO_HUGE_PAGES, &mock));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_IOMMU_GET_INFO, &info));
	/* IO pages below a CPU page are reported as one CPU page */
	EXPECT_EQ(CPU_PAGE, info.iova_pgsizes);
}

/* ---- MAP_DMA ---- */

TEST_F(compat, map_dma_shows_in_the_compat_ioas)
{
	uint64_t unmapped;

	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, 4 * CPU_PAGE, IOVA_A));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA_A, 4 * CPU_PAGE,
				&unmapped));
	EXPECT_EQ(4 * CPU_PAGE, unmapped);
}

TEST_F(compat, map_dma_with_argsz_below_its_fields_is_einval)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = MAP_MIN_LEN - 1,
		.flags = VFIO_DMA_MAP_FLAG_READ,
		.vaddr = (uintptr_t)self->buf,
		.iova = IOVA_A,
		.size = CPU_PAGE,
	};

	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	map.argsz = MAP_MIN_LEN;
	EXPECT_EQ(0, ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
}

TEST_F(compat, map_dma_vaddr_and_unknown_flags_are_einval)
{
	EXPECT_ERRNO(EINVAL, vfio_map(self->fd, VFIO_DMA_MAP_FLAG_READ |
					       VFIO_DMA_MAP_FLAG_VADDR,
				      self->buf, CPU_PAGE, IOVA_A));
	EXPECT_ERRNO(EINVAL, vfio_map(self->fd, 1U << 3, self->buf, CPU_PAGE,
				      IOVA_A));
	EXPECT_ERRNO(EINVAL, vfio_map(self->fd, 1U << 31, self->buf, CPU_PAGE,
				      IOVA_A));
}

TEST_F(compat, map_dma_read_only_write_only_or_neither_is_accepted)
{
	EXPECT_EQ(0, vfio_map(self->fd, VFIO_DMA_MAP_FLAG_READ, self->buf,
			      CPU_PAGE, IOVA_A));
	EXPECT_EQ(0, vfio_map(self->fd, VFIO_DMA_MAP_FLAG_WRITE, self->buf,
			      CPU_PAGE, IOVA_A + CPU_PAGE));
	EXPECT_EQ(0, vfio_map(self->fd, 0, self->buf, CPU_PAGE,
			      IOVA_A + 2 * CPU_PAGE));
}

TEST_F(compat, map_dma_of_zero_bytes_is_einval)
{
	EXPECT_ERRNO(EINVAL, vfio_map_rw(self->fd, self->buf, 0, IOVA_A));
}

TEST_F(compat, map_dma_over_a_mapping_is_eexist)
{
	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, 4 * CPU_PAGE, IOVA_A));
	EXPECT_ERRNO(EEXIST, vfio_map_rw(self->fd, self->buf, CPU_PAGE,
					 IOVA_A + 3 * CPU_PAGE));
	EXPECT_ERRNO(EEXIST, vfio_map_rw(self->fd, self->buf, 2 * CPU_PAGE,
					 IOVA_A - CPU_PAGE));
}

TEST_F(compat, map_dma_that_wraps_the_iova_space_is_eoverflow)
{
	EXPECT_ERRNO(EOVERFLOW, vfio_map_rw(self->fd, self->buf, 2 * CPU_PAGE,
					    UINT64_MAX - CPU_PAGE + 1));
}

/* TYPE1's IOAS needs page alignment; TYPE1v2 without a domain does not */
TEST_F(compat, map_dma_alignment_follows_the_type)
{
	int rc = variant->type == VFIO_TYPE1_IOMMU ? -1 : 0;

	EXPECT_EQ(rc, vfio_map_rw(self->fd, self->buf, CPU_PAGE,
				  IOVA_A + 512));
	EXPECT_EQ(rc, vfio_map_rw(self->fd, self->buf, CPU_PAGE / 2,
				  IOVA_B));
	if (rc)
		EXPECT_EQ(EINVAL, errno);
}

/* ---- UNMAP_DMA ---- */

TEST_F(compat, unmap_dma_of_a_whole_mapping_returns_its_size)
{
	uint64_t size = 4 * CPU_PAGE;

	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, 4 * CPU_PAGE, IOVA_A));
	ASSERT_EQ(0, vfio_unmap(self->fd, 0, IOVA_A, &size));
	EXPECT_EQ(4 * CPU_PAGE, size);
	EXPECT_EQ(0, vfio_map_rw(self->fd, self->buf, 4 * CPU_PAGE, IOVA_A));
}

TEST_F(compat, unmap_dma_of_a_superset_removes_every_mapping_inside)
{
	uint64_t size = IOVA_B + 0x100000 - (IOVA_A - CPU_PAGE);

	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, 4 * CPU_PAGE, IOVA_A));
	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, 2 * CPU_PAGE, IOVA_B));
	ASSERT_EQ(0, vfio_unmap(self->fd, 0, IOVA_A - CPU_PAGE, &size));
	EXPECT_EQ(6 * CPU_PAGE, size);
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas, IOVA_A,
					4 * CPU_PAGE, NULL));
}

TEST_F(compat, unmap_dma_of_nothing_succeeds_with_size_zero)
{
	uint64_t size = 4 * CPU_PAGE;

	ASSERT_EQ(0, vfio_unmap(self->fd, 0, IOVA_A, &size));
	EXPECT_EQ(0, size);
}

TEST_F(compat, unmap_dma_of_zero_bytes_is_einval)
{
	uint64_t size = 0;

	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, CPU_PAGE, IOVA_A));
	EXPECT_ERRNO(EINVAL, vfio_unmap(self->fd, 0, IOVA_A, &size));
}

TEST_F(compat, unmap_dma_that_wraps_the_iova_space_is_eoverflow)
{
	uint64_t size = 2 * CPU_PAGE;

	EXPECT_ERRNO(EOVERFLOW, vfio_unmap(self->fd, 0,
					   UINT64_MAX - CPU_PAGE + 1, &size));
}

TEST_F(compat, unmap_dma_all_removes_everything)
{
	uint64_t size = 0;

	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, 4 * CPU_PAGE, IOVA_A));
	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, 2 * CPU_PAGE, IOVA_B));
	ASSERT_EQ(0, vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(6 * CPU_PAGE, size);
	size = 0;
	ASSERT_EQ(0, vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(0, size);
}

TEST_F(compat, unmap_dma_all_with_an_iova_or_a_size_is_einval)
{
	uint64_t size = CPU_PAGE;

	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, CPU_PAGE, IOVA_A));
	EXPECT_ERRNO(EINVAL, vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL,
					IOVA_A, &size));
	size = CPU_PAGE;
	EXPECT_ERRNO(EINVAL, vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0,
					&size));
	EXPECT_ERRNO(EINVAL, vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL,
					IOVA_A, NULL));
}

/* The dirty bitmap of type1 is not provided; dirty tracking is on HWPTs */
TEST_F(compat, unmap_dma_get_dirty_bitmap_and_other_flags_are_einval)
{
	uint64_t size = CPU_PAGE;

	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, CPU_PAGE, IOVA_A));
	EXPECT_ERRNO(EINVAL,
		     vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
				IOVA_A, &size));
	EXPECT_ERRNO(EINVAL, vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_VADDR,
					IOVA_A, &size));
	EXPECT_ERRNO(EINVAL, vfio_unmap(self->fd, 1U << 3, IOVA_A, &size));
	size = CPU_PAGE;
	ASSERT_EQ(0, vfio_unmap(self->fd, 0, IOVA_A, &size));
	EXPECT_EQ(CPU_PAGE, size);
}

TEST_F(compat, unmap_dma_with_argsz_below_its_fields_is_einval)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = UNMAP_MIN_LEN - 1,
		.iova = IOVA_A,
		.size = CPU_PAGE,
	};

	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, CPU_PAGE, IOVA_A));
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	unmap.argsz = UNMAP_MIN_LEN;
	EXPECT_EQ(0, ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(CPU_PAGE, unmap.size);
}

/*
 * TYPE1v2 never cuts a mapping: an unmap range that cuts one fails with
 * ENOENT, after removing the whole mappings before it, and says in size
 * how much that was. TYPE1 cuts the mapping instead.
 */
TEST_F(compat, unmap_dma_inside_a_mapping)
{
	uint64_t size = CPU_PAGE, unmapped;

	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, 4 * CPU_PAGE, IOVA_A));
	if (variant->type == VFIO_TYPE1v2_IOMMU) {
		EXPECT_ERRNO(ENOENT, vfio_unmap(self->fd, 0, IOVA_A + CPU_PAGE,
						&size));
		EXPECT_EQ(0, size);
		ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA_A,
					4 * CPU_PAGE, &unmapped));
		EXPECT_EQ(4 * CPU_PAGE, unmapped);
		return;
	}
	ASSERT_EQ(0, vfio_unmap(self->fd, 0, IOVA_A + CPU_PAGE, &size));
	EXPECT_EQ(CPU_PAGE, size);
	/* Three mappings are left: the hole can be mapped again */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA_A, CPU_PAGE,
				&unmapped));
	EXPECT_EQ(CPU_PAGE, unmapped);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA_A + 2 * CPU_PAGE,
				2 * CPU_PAGE, &unmapped));
	EXPECT_EQ(2 * CPU_PAGE, unmapped);
}

TEST_F(compat, unmap_dma_stops_at_the_first_mapping_it_would_cut)
{
	uint64_t size = IOVA_B + CPU_PAGE - IOVA_A;

	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, 2 * CPU_PAGE, IOVA_A));
	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, 2 * CPU_PAGE, IOVA_B));
	if (variant->type == VFIO_TYPE1_IOMMU) {
		ASSERT_EQ(0, vfio_unmap(self->fd, 0, IOVA_A, &size));
		EXPECT_EQ(3 * CPU_PAGE, size);
		return;
	}
	EXPECT_ERRNO(ENOENT, vfio_unmap(self->fd, 0, IOVA_A, &size));
	EXPECT_EQ(2 * CPU_PAGE, size);
	/* The first is gone, the second whole */
	EXPECT_EQ(0, vfio_map_rw(self->fd, self->buf, 2 * CPU_PAGE, IOVA_A));
	EXPECT_ERRNO(EEXIST, vfio_map_rw(self->fd, self->buf, CPU_PAGE,
					 IOVA_B + CPU_PAGE));
}

/* TYPE1 cuts only where a page starts */
TEST_F(compat, unmap_dma_inside_a_mapping_off_a_page_boundary_is_einval)
{
	uint64_t size = CPU_PAGE;

	if (variant->type != VFIO_TYPE1_IOMMU)
		SKIP(return, "TYPE1v2 does not cut mappings");
	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, 4 * CPU_PAGE, IOVA_A));
	EXPECT_ERRNO(EINVAL, vfio_unmap(self->fd, 0, IOVA_A + 512, &size));
}

/* ---- Pinning and its charges, with a mock domain on the compat IOAS ---- */

/*
 * A /dev/iommu file keeps its own accounting mode through the VFIO ioctls:
 * without CAP_IPC_LOCK the pins of MAP_DMA are charged to the user's
 * locked_vm (RLIMIT_MODE 0), not to VmLck. Runs in a child that dropped
 * CAP_IPC_LOCK; returns 0 or the step that went wrong.
 */
static int charge_child(int fd, uint8_t *buf)
{
	struct charge base, now;
	uint64_t size = BUF_LEN;

	if (cap_drop(CAP_IPC_LOCK) || charge_read(fd, &base))
		return 1;
	if (vfio_map_rw(fd, buf, BUF_LEN, IOVA_A) || charge_read(fd, &now))
		return 2;
	if (now.pinned_vm != base.pinned_vm + NPAGES ||
	    now.locked_vm != base.locked_vm + NPAGES ||
	    now.mm_locked_vm != base.mm_locked_vm)
		return 3;
	if (vfio_unmap(fd, 0, IOVA_A, &size) || size != BUF_LEN ||
	    charge_read(fd, &now))
		return 4;
	if (now.pinned_vm != base.pinned_vm || now.locked_vm != base.locked_vm)
		return 5;
	return 0;
}

TEST_F(compat, map_dma_charges_the_files_accounting_mode)
{
	uint32_t mock;
	int status;
	pid_t pid;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(charge_child(self->fd, self->buf));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(compat, map_dma_reaches_the_domain_and_unmap_dma_leaves_it)
{
	uint64_t size = 4 * CPU_PAGE;
	uint32_t mock;

	SKIP_IF_UPSTREAM_MOCK(return);
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, vfio_map(self->fd, VFIO_DMA_MAP_FLAG_READ, self->buf,
			      4 * CPU_PAGE, IOVA_A));
	EXPECT_EQ(0, mock_check_map(self->fd, mock, IOVA_A, 4 * CPU_PAGE,
				    self->buf, MOCK_PROT_READ, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 4 * CPU_PAGE, 1));
	ASSERT_EQ(0, vfio_unmap(self->fd, 0, IOVA_A, &size));
	EXPECT_EQ(0, mock_check_unmapped(self->fd, mock, IOVA_A,
					 4 * CPU_PAGE));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 4 * CPU_PAGE, 0));
}

/* A cut keeps the pages pinned once and unmaps exactly the hole */
TEST_F(compat, type1_cut_of_a_pinned_mapping_unpins_only_the_hole)
{
	uint64_t size = CPU_PAGE;
	uint32_t mock;

	SKIP_IF_UPSTREAM_MOCK(return);
	if (variant->type != VFIO_TYPE1_IOMMU)
		SKIP(return, "TYPE1v2 does not cut mappings");
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, 4 * CPU_PAGE, IOVA_A));
	ASSERT_EQ(0, vfio_unmap(self->fd, 0, IOVA_A + CPU_PAGE, &size));
	EXPECT_EQ(0, mock_check_unmapped(self->fd, mock, IOVA_A + CPU_PAGE,
					 CPU_PAGE));
	EXPECT_EQ(0, mock_check_map(self->fd, mock, IOVA_A, CPU_PAGE,
				    self->buf, 0, NULL));
	EXPECT_EQ(0, mock_check_map(self->fd, mock, IOVA_A + 2 * CPU_PAGE,
				    2 * CPU_PAGE, self->buf + 2 * CPU_PAGE, 0,
				    NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, CPU_PAGE, 1));
	EXPECT_EQ(0, check_pins(self->fd, self->buf + CPU_PAGE, CPU_PAGE, 0));
	EXPECT_EQ(0, check_pins(self->fd, self->buf + 2 * CPU_PAGE,
				2 * CPU_PAGE, 1));
	size = 0;
	ASSERT_EQ(0, vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(3 * CPU_PAGE, size);
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 4 * CPU_PAGE, 0));
}

/* TYPE1 cannot turn huge pages off once a domain holds mappings */
TEST_F(compat, set_iommu_type1_after_mapping_into_a_domain_is_einval)
{
	uint32_t mock;

	SKIP_IF_UPSTREAM_MOCK(return);
	if (variant->type == VFIO_TYPE1_IOMMU)
		SKIP(return, "already TYPE1");
	ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0, &mock));
	ASSERT_EQ(0, vfio_map_rw(self->fd, self->buf, CPU_PAGE, IOVA_A));
	EXPECT_ERRNO(EINVAL, vfio_set_iommu(self->fd, VFIO_TYPE1_IOMMU));
	EXPECT_EQ(0, vfio_set_iommu(self->fd, VFIO_TYPE1v2_IOMMU));
}

/* ---- /dev/vfio/vfio ---- */

TEST(vfio_container_node_is_misc_196_for_everyone)
{
	struct stat st;

	if (stat("/dev/vfio/vfio", &st))
		SKIP(return, "no /dev/vfio/vfio: %s", strerror(errno));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(10, major(st.st_rdev));
	EXPECT_EQ(196, minor(st.st_rdev));
	EXPECT_EQ(0666, st.st_mode & 0777);
}

/*
 * Served by iommufd (CONFIG_IOMMUFD_VFIO_CONTAINER), the container is an
 * iommufd file that charges the mm's locked_vm as type1 does.
 */
TEST(vfio_container_from_iommufd_charges_like_type1)
{
	uint64_t mode = 2;
	int fd;

	fd = open("/dev/vfio/vfio", O_RDWR);
	if (fd < 0)
		SKIP(return, "no /dev/vfio/vfio: %s", strerror(errno));
	EXPECT_EQ(VFIO_API_VERSION, ioctl(fd, VFIO_GET_API_VERSION));
	EXPECT_EQ(1, vfio_extension(fd, VFIO_TYPE1v2_IOMMU));
	/* VFIO's own container knows no iommufd ioctl */
	if (rlimit_mode_get(fd, &mode)) {
		close(fd);
		SKIP(return, "/dev/vfio/vfio is VFIO's own container");
	}
	EXPECT_EQ(1, mode);
	close(fd);
}

TEST_HARNESS_MAIN
