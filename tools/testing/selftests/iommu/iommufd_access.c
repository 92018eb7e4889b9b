// SPDX-License-Identifier: GPL-2.0-only
/*
 * The in-kernel access API of iommufd, driven from userspace.
 *
 * A VFIO mdev driver has no IOMMU of its own: it reaches the memory of an
 * IOAS through an access (iommufd_access_create() and friends), either by
 * copying bytes by IOVA (iommufd_access_rw()) or by borrowing the pinned
 * pages behind an IOVA range (iommufd_access_pin_pages()). The selftest
 * kernel plays such a driver. IOMMU_TEST_OP_ACCESS_CREATE makes an access
 * object that owns an access; ACCESS_ATTACH, _REPLACE and _DETACH move it
 * between IOASes; ACCESS_PIN and ACCESS_UNPIN borrow and give back ranges;
 * ACCESS_RW copies through a kernel buffer. The object's unmap callback
 * gives back every pin an unmap touches, or, created with
 * MOCK_ACCESS_UNMAP_IGNORE, nothing until the access leaves its IOAS;
 * ACCESS_INFO tells what it did.
 *
 * The suite checks the promises of the API: an attached access holds its
 * IOAS, and one that pins raises the IOAS's alignment to a CPU page; a pin
 * hands out exactly the pages behind the IOVAs without pinning them again;
 * rw moves exactly the requested bytes across page and mapping boundaries;
 * an unmap of borrowed pages asks the accesses first and succeeds once they
 * let go, or fails with EBUSY and keeps the mapping; leaving an IOAS takes
 * every pin back through the same callback; a failed call leaves
 * nothing pinned; closing the file with live accesses releases everything.
 * A short fault injection sweep (the mechanism of iommufd_fail_nth.c) runs
 * ACCESS_CREATE with an attach, ACCESS_PIN and ACCESS_RW through their
 * failure points.
 *
 * Every test runs on an IOAS without a domain (any IOVA alignment) and on
 * one with a mock domain (half-page IO pages). The tests assume 4 KiB CPU
 * pages, as on x86_64.
 */
#include "iommufd_selftest.h"

#define BUF_PAGES 16
#define BUF_SIZE (BUF_PAGES * CPU_PAGE)

/* Where the tests map; far apart, so that nothing touches by accident */
#define IOVA 0x100000ULL
#define IOVA2 0x400000ULL
#define UNMAPPED_IOVA 0x10000000ULL

#define PIN MOCK_ACCESS_PIN_PAGES
#define IGNORE MOCK_ACCESS_UNMAP_IGNORE
#define WRITE MOCK_ACCESS_RW_WRITE
#define KTHREAD MOCK_ACCESS_RW_KTHREAD

/* ---- IOMMU_TEST_CMD: the access object ---- */

static int access_create(int fd, uint32_t ioas, uint32_t flags, uint32_t *obj,
			 uint32_t *access_id)
{
	struct iommu_test_cmd cmd = { .access_create.flags = flags };
	int rc;

	rc = test_cmd(fd, IOMMU_TEST_OP_ACCESS_CREATE, ioas, &cmd);
	if (!rc) {
		*obj = cmd.access_create.out_access_obj_id;
		if (access_id)
			*access_id = cmd.access_create.out_access_id;
	}
	return rc;
}

static int access_attach(int fd, uint32_t obj, uint32_t ioas)
{
	struct iommu_test_cmd cmd = { .access_attach.ioas_id = ioas };

	return test_cmd(fd, IOMMU_TEST_OP_ACCESS_ATTACH, obj, &cmd);
}

static int access_replace(int fd, uint32_t obj, uint32_t ioas)
{
	struct iommu_test_cmd cmd = { .access_attach.ioas_id = ioas };

	return test_cmd(fd, IOMMU_TEST_OP_ACCESS_REPLACE, obj, &cmd);
}

static int access_detach(int fd, uint32_t obj)
{
	struct iommu_test_cmd cmd = {};

	return test_cmd(fd, IOMMU_TEST_OP_ACCESS_DETACH, obj, &cmd);
}

/* Pins [iova, iova + length); with @va, they must be the pages behind it */
static int access_pin(int fd, uint32_t obj, uint64_t iova, uint64_t length,
		      const void *va, uint32_t flags, uint32_t *handle)
{
	struct iommu_test_cmd cmd = {
		.access_pin = {
			.iova = iova,
			.length = length,
			.uptr = (uintptr_t)va,
			.flags = flags,
		},
	};
	int rc;

	rc = test_cmd(fd, IOMMU_TEST_OP_ACCESS_PIN, obj, &cmd);
	if (!rc && handle)
		*handle = cmd.access_pin.out_handle;
	return rc;
}

static int access_unpin(int fd, uint32_t obj, uint32_t handle)
{
	struct iommu_test_cmd cmd = { .access_unpin.handle = handle };

	return test_cmd(fd, IOMMU_TEST_OP_ACCESS_UNPIN, obj, &cmd);
}

static void access_rw_cmd_init(struct iommu_test_cmd *cmd, uint32_t obj,
			       uint64_t iova, void *buf, uint64_t length,
			       uint32_t flags)
{
	*cmd = (struct iommu_test_cmd){
		.size = sizeof(*cmd),
		.op = IOMMU_TEST_OP_ACCESS_RW,
		.id = obj,
		.access_rw = {
			.iova = iova,
			.uptr = (uintptr_t)buf,
			.length = length,
			.flags = flags,
		},
	};
}

/* Reads [iova, iova + length) into @buf, or writes @buf there with WRITE */
static int access_rw(int fd, uint32_t obj, uint64_t iova, void *buf,
		     uint64_t length, uint32_t flags)
{
	struct iommu_test_cmd cmd;

	access_rw_cmd_init(&cmd, obj, iova, buf, length, flags);
	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

struct access_info {
	uint32_t pins;
	uint32_t unmap_calls;
	uint32_t unmap_unpins;
	uint32_t attached;
	uint64_t last_unmap_iova;
	uint64_t last_unmap_length;
};

static int access_info(int fd, uint32_t obj, struct access_info *info)
{
	struct iommu_test_cmd cmd = {};
	int rc;

	rc = test_cmd(fd, IOMMU_TEST_OP_ACCESS_INFO, obj, &cmd);
	*info = (struct access_info){
		.pins = cmd.access_info.out_pins,
		.unmap_calls = cmd.access_info.out_unmap_calls,
		.unmap_unpins = cmd.access_info.out_unmap_unpins,
		.attached = cmd.access_info.out_attached,
		.last_unmap_iova = cmd.access_info.out_last_unmap_iova,
		.last_unmap_length = cmd.access_info.out_last_unmap_length,
	};
	return rc;
}

/* ---- Memory ---- */

/* @len bytes of anonymous memory in 4 KiB pages, filled with a pattern */
static uint8_t *mem_get(size_t len, unsigned int seed)
{
	uint8_t *va;
	size_t i;

	va = small_pages_alloc(len);
	if (!va)
		return NULL;
	for (i = 0; i != len; i++)
		va[i] = seed + i * 31 + (i >> 12);
	return va;
}

/* Fills @p with bytes no test buffer starts out with */
static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i != len; i++)
		p[i] = seed ^ (i * 7 + 0x5b);
}

/*
 * access: one IOAS, with or without a mock domain, and two buffers of 4 KiB
 * pages with different contents, buf of BUF_PAGES pages and buf2 of four.
 */
FIXTURE(access)
{
	int fd;
	uint32_t ioas;
	uint32_t mock;		/* 0 without a mock domain */
	uint64_t base_align;	/* the IOAS's alignment with no access */
	uint8_t *buf;
	uint8_t *buf2;
	struct charge charge0;	/* before anything was mapped */
};

FIXTURE_VARIANT(access)
{
	bool mock_domain;
};

FIXTURE_VARIANT_ADD(access, no_domain)
{
	.mock_domain = false,
};

FIXTURE_VARIANT_ADD(access, mock_domain)
{
	.mock_domain = true,
};

FIXTURE_SETUP(access)
{
	MOCK_FILE_OPEN(self->fd, return);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	if (variant->mock_domain)
		ASSERT_EQ(0, mock_domain_add(self->fd, self->ioas, 0,
					     &self->mock));
	ASSERT_EQ(0, ioas_alignment(self->fd, self->ioas, &self->base_align));
	ASSERT_EQ(variant->mock_domain ? IO_PAGE : 1, self->base_align);
	self->buf = mem_get(BUF_SIZE, 0x11);
	ASSERT_NE(NULL, self->buf);
	self->buf2 = mem_get(4 * CPU_PAGE, 0x77);
	ASSERT_NE(NULL, self->buf2);
	ASSERT_EQ(0, charge_read(self->fd, &self->charge0));
}

FIXTURE_TEARDOWN(access)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->buf)
		munmap(self->buf, BUF_SIZE);
	if (self->buf2)
		munmap(self->buf2, 4 * CPU_PAGE);
}

/* @pages more pages than at setup are pinned, and charged */
#define EXPECT_LOCKED(pages)                                                   \
	expect_charge(_metadata, self->fd, &self->charge0, false, pages)

#define INFO(obj, info) ASSERT_EQ(0, access_info(self->fd, obj, info))

/* ---- Creation, attachment and destruction ---- */

TEST_F(access, created_without_an_ioas_is_detached)
{
	struct access_info info;
	uint32_t obj, id;
	uint8_t byte;

	ASSERT_EQ(0, access_create(self->fd, 0, PIN, &obj, &id));
	EXPECT_NE(obj, id);
	INFO(obj, &info);
	EXPECT_EQ(0, info.attached);
	EXPECT_EQ(0, info.pins);
	EXPECT_ERRNO(EINVAL, access_detach(self->fd, obj));
	EXPECT_ERRNO(EINVAL, access_rw(self->fd, obj, IOVA, &byte, 1, 0));
	EXPECT_ERRNO(EINVAL, access_pin(self->fd, obj, IOVA, CPU_PAGE, NULL, 0,
					NULL));
	EXPECT_EQ(0, object_destroy(self->fd, obj));
}

TEST_F(access, attach_holds_the_ioas_until_detach)
{
	struct access_info info;
	uint32_t ioas, obj;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	ASSERT_EQ(0, access_create(self->fd, 0, PIN, &obj, NULL));
	ASSERT_EQ(0, access_attach(self->fd, obj, ioas));
	INFO(obj, &info);
	EXPECT_EQ(1, info.attached);
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, ioas));

	/* Attach is for an unattached access, whatever the target */
	EXPECT_ERRNO(EINVAL, access_attach(self->fd, obj, ioas));
	EXPECT_ERRNO(EINVAL, access_attach(self->fd, obj, self->ioas));

	ASSERT_EQ(0, access_detach(self->fd, obj));
	INFO(obj, &info);
	EXPECT_EQ(0, info.attached);
	EXPECT_ERRNO(EINVAL, access_detach(self->fd, obj));
	EXPECT_EQ(0, object_destroy(self->fd, ioas));
	EXPECT_ERRNO(ENOENT, access_attach(self->fd, obj, ioas));
}

TEST_F(access, create_with_an_ioas_attaches_to_it)
{
	struct access_info info;
	uint32_t ioas, obj;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	ASSERT_EQ(0, access_create(self->fd, ioas, 0, &obj, NULL));
	INFO(obj, &info);
	EXPECT_EQ(1, info.attached);
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, ioas));
	EXPECT_EQ(0, object_destroy(self->fd, obj));
	EXPECT_EQ(0, object_destroy(self->fd, ioas));
}

TEST_F(access, create_refuses_unknown_flags_and_non_ioas_ids)
{
	struct iommu_test_cmd cmd = {};
	uint32_t obj, id, other;

	EXPECT_ERRNO(EOPNOTSUPP, access_create(self->fd, 0, 0x80000000U,
					       &other, NULL));
	cmd.access_create.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, test_cmd(self->fd, IOMMU_TEST_OP_ACCESS_CREATE,
					  0, &cmd));
	EXPECT_ERRNO(ENOENT, access_create(self->fd, 0xdead, 0, &other, NULL));

	ASSERT_EQ(0, access_create(self->fd, 0, 0, &obj, &id));
	EXPECT_ERRNO(ENOENT, access_create(self->fd, id, 0, &other, NULL));
	EXPECT_ERRNO(ENOENT, access_create(self->fd, obj, 0, &other, NULL));
	EXPECT_ERRNO(ENOENT, access_attach(self->fd, obj, id));
	EXPECT_ERRNO(ENOENT, access_attach(self->fd, obj, obj));
}

TEST_F(access, access_ops_want_an_access_object)
{
	struct access_info info;
	struct iommu_test_cmd cmd;
	uint32_t obj, id;

	ASSERT_EQ(0, access_create(self->fd, self->ioas, 0, &obj, &id));
	EXPECT_ERRNO(ENOENT, access_info(self->fd, id, &info));
	EXPECT_ERRNO(ENOENT, access_info(self->fd, self->ioas, &info));
	EXPECT_ERRNO(ENOENT, access_detach(self->fd, id));
	if (self->mock) {
		EXPECT_ERRNO(ENOENT, access_info(self->fd, self->mock, &info));
		EXPECT_ERRNO(ENOENT, access_detach(self->fd, self->mock));
	}
	/* Nor do the mock domain ops take an access object */
	memset(&cmd, 0, sizeof(cmd));
	EXPECT_ERRNO(ENOENT, test_cmd(self->fd,
				      IOMMU_TEST_OP_MOCK_DEVICE_DOMAIN, obj,
				      &cmd));
	EXPECT_ERRNO(ENOENT, mock_check_map(self->fd, obj, IOVA, CPU_PAGE,
					    self->buf, 0, NULL));
}

TEST_F(access, access_id_cannot_be_destroyed_by_userspace)
{
	uint8_t out[16];
	uint32_t obj, id;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, CPU_PAGE,
				    IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, 0, &obj, &id));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, id));

	/* ... and the access still works */
	ASSERT_EQ(0, access_rw(self->fd, obj, IOVA, out, sizeof(out), 0));
	EXPECT_EQ(0, memcmp(out, self->buf, sizeof(out)));

	/* Destroying the access object takes the ACCESS object along */
	EXPECT_EQ(0, object_destroy(self->fd, obj));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, id));
	EXPECT_ERRNO(ENOENT, access_rw(self->fd, obj, IOVA, out, 1, 0));
}

TEST_F(access, replace_moves_the_access_to_another_ioas)
{
	struct access_info info;
	uint32_t a, b, obj;
	uint8_t out[64];

	ASSERT_EQ(0, ioas_alloc(self->fd, &a));
	ASSERT_EQ(0, ioas_alloc(self->fd, &b));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, a, self->buf, CPU_PAGE, IOVA));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, b, self->buf2, CPU_PAGE, IOVA));
	ASSERT_EQ(0, access_create(self->fd, a, PIN, &obj, NULL));
	ASSERT_EQ(0, access_rw(self->fd, obj, IOVA, out, sizeof(out), 0));
	EXPECT_EQ(0, memcmp(out, self->buf, sizeof(out)));

	ASSERT_EQ(0, access_replace(self->fd, obj, b));
	ASSERT_EQ(0, access_rw(self->fd, obj, IOVA, out, sizeof(out), 0));
	EXPECT_EQ(0, memcmp(out, self->buf2, sizeof(out)));
	/* The old IOAS is free, the new one held */
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, b));
	EXPECT_EQ(0, object_destroy(self->fd, a));

	/* Onto the same IOAS, nothing changes */
	EXPECT_EQ(0, access_replace(self->fd, obj, b));
	/* A failed replace leaves the access where it was */
	EXPECT_ERRNO(ENOENT, access_replace(self->fd, obj, a));
	EXPECT_ERRNO(ENOENT, access_replace(self->fd, obj, obj));
	ASSERT_EQ(0, access_rw(self->fd, obj, IOVA, out, sizeof(out), 0));
	EXPECT_EQ(0, memcmp(out, self->buf2, sizeof(out)));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, b));

	/* Replace also attaches a detached access */
	ASSERT_EQ(0, access_detach(self->fd, obj));
	EXPECT_EQ(0, access_replace(self->fd, obj, self->ioas));
	INFO(obj, &info);
	EXPECT_EQ(1, info.attached);
	EXPECT_EQ(0, object_destroy(self->fd, b));
}

TEST_F(access, replace_keeps_the_alignment_rules_of_the_target)
{
	uint32_t a, obj;
	uint64_t align;

	/* A sub-page mapping in the target refuses a pinning access */
	ASSERT_EQ(0, ioas_alloc(self->fd, &a));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf + IO_PAGE,
				    IO_PAGE, IOVA + IO_PAGE));
	ASSERT_EQ(0, access_create(self->fd, a, PIN, &obj, NULL));
	EXPECT_ERRNO(EADDRINUSE, access_replace(self->fd, obj, self->ioas));
	ASSERT_EQ(0, ioas_alignment(self->fd, a, &align));
	EXPECT_EQ(CPU_PAGE, align);
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, a));

	/* After a successful replace the old IOAS drops the requirement */
	ASSERT_EQ(0, ioas_unmap_all(self->fd, self->ioas, NULL));
	ASSERT_EQ(0, access_replace(self->fd, obj, self->ioas));
	ASSERT_EQ(0, ioas_alignment(self->fd, a, &align));
	EXPECT_EQ(1, align);
	ASSERT_EQ(0, ioas_alignment(self->fd, self->ioas, &align));
	EXPECT_EQ(CPU_PAGE, align);
}

TEST_F(access, pinning_access_raises_the_alignment_to_a_cpu_page)
{
	uint32_t obj, plain;
	uint64_t align;

	ASSERT_EQ(0, access_create(self->fd, 0, PIN, &obj, NULL));
	ASSERT_EQ(0, access_attach(self->fd, obj, self->ioas));
	ASSERT_EQ(0, ioas_alignment(self->fd, self->ioas, &align));
	EXPECT_EQ(CPU_PAGE, align);
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas,
					    self->buf + IO_PAGE, IO_PAGE,
					    IOVA + IO_PAGE));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas, self->buf,
					    CPU_PAGE + IO_PAGE, IOVA));
	EXPECT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, CPU_PAGE,
				    IOVA));

	ASSERT_EQ(0, access_detach(self->fd, obj));
	ASSERT_EQ(0, ioas_alignment(self->fd, self->ioas, &align));
	EXPECT_EQ(self->base_align, align);
	EXPECT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf + IO_PAGE,
				    IO_PAGE, IOVA2 + IO_PAGE));

	/* An access that only copies leaves the alignment alone */
	ASSERT_EQ(0, access_create(self->fd, self->ioas, 0, &plain, NULL));
	ASSERT_EQ(0, ioas_alignment(self->fd, self->ioas, &align));
	EXPECT_EQ(self->base_align, align);
}

TEST_F(access, pinning_attach_is_eaddrinuse_while_a_mapping_is_not_page_aligned)
{
	struct access_info info;
	uint32_t obj, other;
	uint64_t align;

	/* Page aligned IOVA, length half a page longer than a page */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    CPU_PAGE + IO_PAGE, IOVA));
	ASSERT_EQ(0, access_create(self->fd, 0, PIN, &obj, NULL));
	EXPECT_ERRNO(EADDRINUSE, access_attach(self->fd, obj, self->ioas));
	ASSERT_EQ(0, ioas_unmap_all(self->fd, self->ioas, NULL));

	/* Sub-page IOVA */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf + IO_PAGE,
				    IO_PAGE, IOVA + IO_PAGE));
	EXPECT_ERRNO(EADDRINUSE, access_attach(self->fd, obj, self->ioas));
	INFO(obj, &info);
	EXPECT_EQ(0, info.attached);
	ASSERT_EQ(0, ioas_alignment(self->fd, self->ioas, &align));
	EXPECT_EQ(self->base_align, align);
	EXPECT_ERRNO(EADDRINUSE, access_create(self->fd, self->ioas, PIN,
					       &other, NULL));

	/* Only pinning needs whole pages */
	EXPECT_EQ(0, access_create(self->fd, self->ioas, 0, &other, NULL));

	ASSERT_EQ(0, ioas_unmap_all(self->fd, self->ioas, NULL));
	EXPECT_EQ(0, access_attach(self->fd, obj, self->ioas));
}

TEST_F(access, destroying_the_access_object_gives_back_its_pins)
{
	uint32_t ioas, obj, id;
	uint64_t unmapped;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas, self->buf, 4 * CPU_PAGE,
				    IOVA));
	ASSERT_EQ(0, access_create(self->fd, ioas, PIN, &obj, &id));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA, 2 * CPU_PAGE, self->buf,
				0, NULL));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA + CPU_PAGE, 3 * CPU_PAGE,
				self->buf + CPU_PAGE, WRITE, NULL));

	ASSERT_EQ(0, object_destroy(self->fd, obj));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, id));
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas, IOVA, 4 * CPU_PAGE, &unmapped));
	EXPECT_EQ(4 * CPU_PAGE, unmapped);
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 4 * CPU_PAGE, 0));
	EXPECT_EQ(0, object_destroy(self->fd, ioas));
}

/* ---- Pinning ---- */

TEST_F(access, pin_borrows_the_pages_behind_the_iova)
{
	uint32_t obj, h1, h2, h3;
	struct access_info info;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    8 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN, &obj, NULL));

	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA + 2 * CPU_PAGE,
				3 * CPU_PAGE, self->buf + 2 * CPU_PAGE, 0,
				&h1));
	EXPECT_NE(0, h1);
	/* The check itself tells pages apart */
	EXPECT_ERRNO(EINVAL, access_pin(self->fd, obj, IOVA + 2 * CPU_PAGE,
					3 * CPU_PAGE, self->buf + 3 * CPU_PAGE,
					0, NULL));
	INFO(obj, &info);
	EXPECT_EQ(1, info.pins);

	/*
	 * Pinned once: with a domain the mapping pinned them all already,
	 * without one the access pinned just its pages
	 */
	if (variant->mock_domain) {
		EXPECT_EQ(0, check_pins(self->fd, self->buf, 8 * CPU_PAGE, 1));
		EXPECT_LOCKED(8);
	} else {
		EXPECT_EQ(0, check_pins(self->fd, self->buf + 2 * CPU_PAGE,
					3 * CPU_PAGE, 1));
		EXPECT_EQ(0, check_pins(self->fd, self->buf, 2 * CPU_PAGE, 0));
		EXPECT_LOCKED(3);
	}

	/* Pins may overlap, for reading and for writing */
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA, 8 * CPU_PAGE, self->buf,
				WRITE, &h2));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA, 8 * CPU_PAGE, self->buf,
				0, &h3));
	EXPECT_NE(h1, h2);
	EXPECT_NE(h2, h3);
	INFO(obj, &info);
	EXPECT_EQ(3, info.pins);

	EXPECT_EQ(0, access_unpin(self->fd, obj, h1));
	EXPECT_ERRNO(ENOENT, access_unpin(self->fd, obj, h1));
	EXPECT_ERRNO(ENOENT, access_unpin(self->fd, obj, 0));
	EXPECT_EQ(0, access_unpin(self->fd, obj, h3));
	EXPECT_EQ(0, access_unpin(self->fd, obj, h2));
	INFO(obj, &info);
	EXPECT_EQ(0, info.pins);

	/* Nothing is left pinned: the unmap does not need the callback */
	ASSERT_EQ(0, ioas_unmap_all(self->fd, self->ioas, NULL));
	INFO(obj, &info);
	EXPECT_EQ(0, info.unmap_calls);
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 8 * CPU_PAGE, 0));
	EXPECT_LOCKED(0);
}

TEST_F(access, pin_spans_adjacent_mappings)
{
	uint32_t obj;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    4 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas,
				    self->buf + 4 * CPU_PAGE, 4 * CPU_PAGE,
				    IOVA + 4 * CPU_PAGE));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf2,
				    2 * CPU_PAGE, IOVA + 8 * CPU_PAGE));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN, &obj, NULL));

	/* Two mappings of one buffer, checked as one range */
	EXPECT_EQ(0, access_pin(self->fd, obj, IOVA + 2 * CPU_PAGE,
				4 * CPU_PAGE, self->buf + 2 * CPU_PAGE, WRITE,
				NULL));
	/* Two buffers: one pin, checked piece by piece */
	EXPECT_EQ(0, access_pin(self->fd, obj, IOVA + 6 * CPU_PAGE,
				4 * CPU_PAGE, NULL, WRITE, NULL));
	EXPECT_EQ(0, access_pin(self->fd, obj, IOVA + 6 * CPU_PAGE,
				2 * CPU_PAGE, self->buf + 6 * CPU_PAGE, 0,
				NULL));
	EXPECT_EQ(0, access_pin(self->fd, obj, IOVA + 8 * CPU_PAGE,
				2 * CPU_PAGE, self->buf2, 0, NULL));
	EXPECT_ERRNO(EINVAL, access_pin(self->fd, obj, IOVA + 6 * CPU_PAGE,
					4 * CPU_PAGE, self->buf + 6 * CPU_PAGE,
					0, NULL));
}

TEST_F(access, failed_pins_leave_nothing_pinned)
{
	struct access_info info;
	uint64_t unmapped;
	uint32_t obj, h;

	/* RW [0, 4), read-only [4, 8), hole [8, 16), RW [16, 18) in pages */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    4 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, ioas_map_fixed_prot(self->fd, self->ioas, MAP_R,
					 self->buf + 4 * CPU_PAGE, 4 * CPU_PAGE,
					 IOVA + 4 * CPU_PAGE));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf2,
				    2 * CPU_PAGE, IOVA + 16 * CPU_PAGE));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN, &obj, NULL));

	/* Not (fully) mapped */
	EXPECT_ERRNO(ENOENT, access_pin(self->fd, obj, UNMAPPED_IOVA,
					CPU_PAGE, NULL, 0, NULL));
	EXPECT_ERRNO(ENOENT, access_pin(self->fd, obj, IOVA - CPU_PAGE,
					2 * CPU_PAGE, NULL, 0, NULL));
	EXPECT_ERRNO(ENOENT, access_pin(self->fd, obj, IOVA + 6 * CPU_PAGE,
					4 * CPU_PAGE, NULL, 0, NULL));
	EXPECT_ERRNO(ENOENT, access_pin(self->fd, obj, IOVA + 15 * CPU_PAGE,
					2 * CPU_PAGE, NULL, 0, NULL));
	EXPECT_ERRNO(ENOENT, access_pin(self->fd, obj, IOVA,
					18 * CPU_PAGE, NULL, 0, NULL));

	/* Writing needs every page writable, reading does not */
	EXPECT_ERRNO(EPERM, access_pin(self->fd, obj, IOVA + 2 * CPU_PAGE,
				       4 * CPU_PAGE, NULL, WRITE, NULL));
	EXPECT_ERRNO(EPERM, access_pin(self->fd, obj, IOVA + 4 * CPU_PAGE,
				       CPU_PAGE, NULL, WRITE, NULL));

	/* Whole CPU pages only */
	EXPECT_ERRNO(EINVAL, access_pin(self->fd, obj, IOVA + 1, CPU_PAGE,
					NULL, 0, NULL));
	EXPECT_ERRNO(EINVAL, access_pin(self->fd, obj, IOVA + IO_PAGE,
					CPU_PAGE, NULL, 0, NULL));
	EXPECT_ERRNO(EINVAL, access_pin(self->fd, obj, IOVA, CPU_PAGE + 1,
					NULL, 0, NULL));
	EXPECT_ERRNO(EINVAL, access_pin(self->fd, obj, IOVA, IO_PAGE, NULL, 0,
					NULL));
	EXPECT_ERRNO(EINVAL, access_pin(self->fd, obj, IOVA, 0, NULL, 0,
					NULL));

	/* What the test op refuses before calling the API */
	EXPECT_ERRNO(E2BIG, access_pin(self->fd, obj, IOVA,
				       MOCK_ACCESS_PIN_MAX + CPU_PAGE, NULL, 0,
				       NULL));
	EXPECT_ERRNO(EOPNOTSUPP, access_pin(self->fd, obj, IOVA, CPU_PAGE,
					    NULL, KTHREAD, NULL));
	EXPECT_ERRNO(EOVERFLOW, access_pin(self->fd, obj, -CPU_PAGE,
					   2 * CPU_PAGE, NULL, 0, NULL));

	INFO(obj, &info);
	EXPECT_EQ(0, info.pins);

	/* A read pin of the read-only mapping is fine */
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA + 2 * CPU_PAGE,
				4 * CPU_PAGE, self->buf + 2 * CPU_PAGE, 0, &h));
	ASSERT_EQ(0, access_unpin(self->fd, obj, h));

	/* No area kept a pin count: nothing asks the access to let go */
	ASSERT_EQ(0, ioas_unmap_all(self->fd, self->ioas, &unmapped));
	EXPECT_EQ(10 * CPU_PAGE, unmapped);
	INFO(obj, &info);
	EXPECT_EQ(0, info.unmap_calls);
}

TEST_F(access, pin_needs_an_attached_pinning_access)
{
	uint32_t plain, pinning;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, CPU_PAGE,
				    IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, 0, &plain, NULL));
	EXPECT_ERRNO(EINVAL, access_pin(self->fd, plain, IOVA, CPU_PAGE, NULL,
					0, NULL));

	ASSERT_EQ(0, access_create(self->fd, 0, PIN, &pinning, NULL));
	EXPECT_ERRNO(EINVAL, access_pin(self->fd, pinning, IOVA, CPU_PAGE,
					NULL, 0, NULL));
	ASSERT_EQ(0, access_attach(self->fd, pinning, self->ioas));
	EXPECT_EQ(0, access_pin(self->fd, pinning, IOVA, CPU_PAGE, self->buf,
				0, NULL));
}

/* A driver gives its pins back when asked as its access leaves the IOAS */
TEST_F(access, detach_and_replace_take_the_pins_back_first)
{
	struct access_info info;
	uint32_t obj, h, other;

	ASSERT_EQ(0, ioas_alloc(self->fd, &other));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, CPU_PAGE,
				    IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN, &obj, NULL));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA, CPU_PAGE, NULL, 0, &h));

	ASSERT_EQ(0, access_replace(self->fd, obj, other));
	INFO(obj, &info);
	EXPECT_EQ(1, info.attached);
	EXPECT_EQ(0, info.pins);
	EXPECT_EQ(1, info.unmap_calls);
	EXPECT_EQ(1, info.unmap_unpins);
	/* The whole IOVA space of the old IOAS was asked for */
	EXPECT_EQ(0, info.last_unmap_iova);
	EXPECT_EQ(UINT64_MAX, info.last_unmap_length);
	EXPECT_ERRNO(ENOENT, access_unpin(self->fd, obj, h));
	/* Nothing of the old IOAS is borrowed any more */
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, CPU_PAGE, NULL));

	ASSERT_EQ(0, ioas_map_fixed(self->fd, other, self->buf2, CPU_PAGE,
				    IOVA));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA, CPU_PAGE, self->buf2, 0,
				&h));
	ASSERT_EQ(0, access_detach(self->fd, obj));
	INFO(obj, &info);
	EXPECT_EQ(0, info.attached);
	EXPECT_EQ(0, info.pins);
	EXPECT_EQ(2, info.unmap_unpins);
	EXPECT_EQ(0, object_destroy(self->fd, other));
}

/* Even a driver that ignores unmap requests lets go when it leaves */
TEST_F(access, detach_takes_back_pins_the_access_kept_through_unmap)
{
	struct access_info info;
	uint32_t obj;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, CPU_PAGE,
				    IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN | IGNORE, &obj,
				   NULL));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA, CPU_PAGE, NULL, 0, NULL));
	EXPECT_ERRNO(EBUSY, ioas_unmap(self->fd, self->ioas, IOVA, CPU_PAGE,
				       NULL));
	ASSERT_EQ(0, access_detach(self->fd, obj));
	INFO(obj, &info);
	EXPECT_EQ(0, info.pins);
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, CPU_PAGE, NULL));
}

/*
 * Each IOAS knows its accesses by its own index: leaving one IOAS for
 * another that already has accesses must remove the entry of the IOAS that
 * is left, not the one that index names in the new IOAS.
 */
TEST_F(access, replace_leaves_no_entry_behind_in_the_old_ioas)
{
	uint32_t a, b, on_b, moving, third;

	ASSERT_EQ(0, ioas_alloc(self->fd, &a));
	ASSERT_EQ(0, ioas_alloc(self->fd, &b));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, a, self->buf, CPU_PAGE, IOVA));
	ASSERT_EQ(0, access_create(self->fd, b, PIN, &on_b, NULL));
	ASSERT_EQ(0, access_create(self->fd, a, PIN, &moving, NULL));
	ASSERT_EQ(0, access_create(self->fd, a, PIN, &third, NULL));

	ASSERT_EQ(0, access_replace(self->fd, moving, b));
	EXPECT_EQ(0, object_destroy(self->fd, moving));
	/* An unmap of A asks only the access still there */
	ASSERT_EQ(0, access_pin(self->fd, third, IOVA, CPU_PAGE, NULL, 0,
				NULL));
	EXPECT_EQ(0, ioas_unmap(self->fd, a, IOVA, CPU_PAGE, NULL));
	EXPECT_EQ(0, object_destroy(self->fd, third));
	/* With no access left, A goes without complaint */
	EXPECT_EQ(0, object_destroy(self->fd, a));
	EXPECT_EQ(0, object_destroy(self->fd, on_b));
	EXPECT_EQ(0, object_destroy(self->fd, b));
}

/*
 * A copy made of pieces that were fine in their own IOAS (no alignment
 * there) must not slip sub-page pieces into an IOAS whose pinning access
 * needs whole pages: the access would be handed pages of the wrong piece.
 */
TEST_F(access, copy_of_sub_page_pieces_into_a_pinning_ioas_fails)
{
	uint32_t src, obj;
	uint64_t iova;

	ASSERT_EQ(0, ioas_alloc(self->fd, &src));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, src, self->buf, CPU_PAGE / 2,
				    IOVA));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, src, self->buf2 + CPU_PAGE / 2,
				    CPU_PAGE + CPU_PAGE / 2,
				    IOVA + CPU_PAGE / 2));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN, &obj, NULL));

	EXPECT_ERRNO(EINVAL, ioas_copy_fixed(self->fd, self->ioas, IOVA2, src,
					     IOVA, 2 * CPU_PAGE));
	iova = 0;
	EXPECT_ERRNO(EINVAL, ioas_copy(self->fd, MAP_RW, self->ioas, &iova, src,
				       IOVA, 2 * CPU_PAGE));
	EXPECT_ERRNO(ENOENT, access_pin(self->fd, obj, IOVA2, 2 * CPU_PAGE,
					NULL, 0, NULL));
	EXPECT_EQ(0, object_destroy(self->fd, obj));
	EXPECT_EQ(0, object_destroy(self->fd, src));
}

/* ---- Unmapping what an access pinned ---- */

TEST_F(access, unmap_of_a_pinned_range_asks_the_access_first)
{
	struct access_info info;
	uint64_t unmapped;
	uint32_t obj, h;
	uint8_t byte;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    4 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN, &obj, NULL));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA + CPU_PAGE, 2 * CPU_PAGE,
				self->buf + CPU_PAGE, WRITE, &h));

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, 4 * CPU_PAGE,
				&unmapped));
	EXPECT_EQ(4 * CPU_PAGE, unmapped);
	INFO(obj, &info);
	EXPECT_EQ(1, info.unmap_calls);
	EXPECT_EQ(1, info.unmap_unpins);
	EXPECT_EQ(0, info.pins);
	EXPECT_EQ(IOVA, info.last_unmap_iova);
	EXPECT_EQ(4 * CPU_PAGE, info.last_unmap_length);

	EXPECT_ERRNO(ENOENT, access_unpin(self->fd, obj, h));
	EXPECT_ERRNO(ENOENT, access_rw(self->fd, obj, IOVA, &byte, 1, 0));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 4 * CPU_PAGE, 0));
	EXPECT_LOCKED(0);
}

/*
 * A driver whose DMA still runs may pin again as soon as it gave a pin
 * back. Once an unmap has asked, no pin of the range can start, so the
 * unmap goes through instead of finding the pages borrowed again.
 */
TEST_F(access, unmap_refuses_pins_that_start_after_it_asked)
{
	struct access_info info;
	uint64_t unmapped;
	uint32_t obj;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    2 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas,
				   PIN | MOCK_ACCESS_UNMAP_REPIN, &obj, NULL));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA, CPU_PAGE, NULL, 0, NULL));

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, 2 * CPU_PAGE,
				&unmapped));
	EXPECT_EQ(2 * CPU_PAGE, unmapped);
	INFO(obj, &info);
	EXPECT_EQ(1, info.unmap_calls);
	EXPECT_EQ(0, info.pins);
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 2 * CPU_PAGE, 0));
	EXPECT_LOCKED(0);

	/* A refused unmap lets pins and copies start again */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, CPU_PAGE,
				    IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN | IGNORE, &obj,
				   NULL));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA, CPU_PAGE, NULL, 0, NULL));
	EXPECT_ERRNO(EBUSY, ioas_unmap(self->fd, self->ioas, IOVA, CPU_PAGE,
				       NULL));
	EXPECT_EQ(0, access_pin(self->fd, obj, IOVA, CPU_PAGE, NULL, 0, NULL));
}

TEST_F(access, unmap_callback_gives_back_only_overlapping_pins)
{
	uint32_t obj, first, second, both;
	struct access_info info;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    4 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas,
				    self->buf + 4 * CPU_PAGE, 4 * CPU_PAGE,
				    IOVA + 4 * CPU_PAGE));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN, &obj, NULL));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA, CPU_PAGE, NULL, 0,
				&first));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA + 6 * CPU_PAGE, CPU_PAGE,
				NULL, 0, &second));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA + 3 * CPU_PAGE,
				2 * CPU_PAGE, NULL, 0, &both));

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, 4 * CPU_PAGE,
				NULL));
	INFO(obj, &info);
	EXPECT_EQ(1, info.unmap_calls);
	EXPECT_EQ(2, info.unmap_unpins);
	EXPECT_EQ(1, info.pins);
	EXPECT_ERRNO(ENOENT, access_unpin(self->fd, obj, first));
	EXPECT_ERRNO(ENOENT, access_unpin(self->fd, obj, both));
	EXPECT_EQ(0, access_unpin(self->fd, obj, second));

	/* With the last pin given back, the next unmap asks nobody */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA + 4 * CPU_PAGE,
				4 * CPU_PAGE, NULL));
	INFO(obj, &info);
	EXPECT_EQ(1, info.unmap_calls);
}

TEST_F(access, unmap_of_an_unpinned_mapping_does_not_call_back)
{
	struct access_info info;
	uint32_t obj;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    4 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf2,
				    4 * CPU_PAGE, IOVA2));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN, &obj, NULL));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA2, CPU_PAGE, self->buf2, 0,
				NULL));

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, 4 * CPU_PAGE,
				NULL));
	INFO(obj, &info);
	EXPECT_EQ(0, info.unmap_calls);
	EXPECT_EQ(1, info.pins);
}

TEST_F(access, unmap_all_tells_the_access_a_range_covering_its_pins)
{
	struct access_info info;
	uint64_t unmapped;
	uint32_t obj;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    4 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf2,
				    4 * CPU_PAGE, IOVA2));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN, &obj, NULL));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA, CPU_PAGE, NULL, 0, NULL));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA2 + CPU_PAGE, CPU_PAGE,
				NULL, 0, NULL));

	ASSERT_EQ(0, ioas_unmap_all(self->fd, self->ioas, &unmapped));
	EXPECT_EQ(8 * CPU_PAGE, unmapped);
	INFO(obj, &info);
	EXPECT_EQ(0, info.pins);
	EXPECT_LE(1, info.unmap_calls);
	/*
	 * The callback's (iova, length) is all a driver learns. Each call
	 * must be a real range; the last one covers at least the last pin.
	 */
	EXPECT_NE(0, info.last_unmap_length)
		TH_LOG("unmap callback got iova 0x%llx and length 0",
		       (unsigned long long)info.last_unmap_iova);
	EXPECT_GE(IOVA2 + CPU_PAGE, info.last_unmap_iova);
	EXPECT_LE(IOVA2 + 2 * CPU_PAGE - 1,
		  info.last_unmap_iova + info.last_unmap_length - 1);
}

TEST_F(access, ignored_unmap_fails_ebusy_and_keeps_the_mapping)
{
	struct access_info info;
	uint8_t out[CPU_PAGE];
	uint64_t unmapped;
	uint32_t obj, h;
	uint32_t calls;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    4 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN | IGNORE, &obj,
				   NULL));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA + CPU_PAGE, CPU_PAGE,
				self->buf + CPU_PAGE, 0, &h));

	EXPECT_ERRNO(EBUSY, ioas_unmap(self->fd, self->ioas, IOVA, 4 * CPU_PAGE,
				       &unmapped));
	EXPECT_ERRNO(EBUSY, ioas_unmap_all(self->fd, self->ioas, &unmapped));
	INFO(obj, &info);
	EXPECT_LE(2, info.unmap_calls);
	EXPECT_EQ(0, info.unmap_unpins);
	EXPECT_EQ(1, info.pins);
	calls = info.unmap_calls;

	/* Still mapped, in the IOAS and in its domain, and still pinned */
	ASSERT_EQ(0, access_rw(self->fd, obj, IOVA + CPU_PAGE, out,
			       sizeof(out), 0));
	EXPECT_EQ(0, memcmp(out, self->buf + CPU_PAGE, sizeof(out)));
	if (self->mock)
		EXPECT_EQ(0, mock_check_map(self->fd, self->mock, IOVA,
					    4 * CPU_PAGE, self->buf, 0, NULL));
	if (variant->mock_domain) {
		EXPECT_EQ(0, check_pins(self->fd, self->buf, 4 * CPU_PAGE, 1));
		EXPECT_LOCKED(4);
	} else {
		EXPECT_EQ(0, check_pins(self->fd, self->buf + CPU_PAGE,
					CPU_PAGE, 1));
		EXPECT_LOCKED(1);
	}

	/* Once the driver lets go on its own the unmap goes through */
	ASSERT_EQ(0, access_unpin(self->fd, obj, h));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, 4 * CPU_PAGE,
				&unmapped));
	EXPECT_EQ(4 * CPU_PAGE, unmapped);
	INFO(obj, &info);
	EXPECT_EQ(calls, info.unmap_calls);
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 4 * CPU_PAGE, 0));
}

TEST_F(access, unmap_asks_every_access_and_fails_if_one_keeps_its_pins)
{
	struct access_info info;
	uint32_t giver, keeper, h;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    2 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN, &giver, NULL));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN | IGNORE, &keeper,
				   NULL));
	ASSERT_EQ(0, access_pin(self->fd, giver, IOVA, 2 * CPU_PAGE, NULL, 0,
				NULL));
	ASSERT_EQ(0, access_pin(self->fd, keeper, IOVA + CPU_PAGE, CPU_PAGE,
				NULL, 0, &h));

	EXPECT_ERRNO(EBUSY, ioas_unmap(self->fd, self->ioas, IOVA, 2 * CPU_PAGE,
				       NULL));
	INFO(giver, &info);
	EXPECT_EQ(0, info.pins);
	EXPECT_EQ(1, info.unmap_unpins);
	INFO(keeper, &info);
	EXPECT_EQ(1, info.pins);
	EXPECT_LE(1, info.unmap_calls);

	ASSERT_EQ(0, access_unpin(self->fd, keeper, h));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, 2 * CPU_PAGE,
				NULL));
}

/* ---- Copying through an access ---- */

/* Offsets and lengths of the rw tests, within 8 pages */
static const struct {
	uint64_t offset;
	uint64_t length;
} rw_cases[] = {
	{ 0, 1 },
	{ 1, 1 },
	{ CPU_PAGE - 1, 1 },
	{ CPU_PAGE - 1, 2 },
	{ 5, CPU_PAGE },
	{ CPU_PAGE, CPU_PAGE },
	{ 3, 3 * CPU_PAGE + 7 },
	{ 0, 8 * CPU_PAGE },
	{ 8 * CPU_PAGE - 1, 1 },
};

TEST_F(access, rw_reads_exactly_the_mapped_bytes)
{
	static uint8_t out[8 * CPU_PAGE + 1];
	const uint32_t flags[] = { 0, KTHREAD };
	unsigned int i, f;
	uint32_t obj;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    8 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, 0, &obj, NULL));

	for (f = 0; f != ARRAY_SIZE(flags); f++) {
		for (i = 0; i != ARRAY_SIZE(rw_cases); i++) {
			uint64_t off = rw_cases[i].offset;
			uint64_t len = rw_cases[i].length;

			memset(out, 0xee, len + 1);
			ASSERT_EQ(0, access_rw(self->fd, obj, IOVA + off, out,
					       len, flags[f]));
			EXPECT_EQ(0, memcmp(out, self->buf + off, len))
				TH_LOG("offset %llu, length %llu",
				       (unsigned long long)off,
				       (unsigned long long)len);
			EXPECT_EQ(0xee, out[len]);
		}
	}
}

TEST_F(access, rw_writes_reach_the_user_pages)
{
	static uint8_t src[8 * CPU_PAGE], expect[8 * CPU_PAGE];
	const uint32_t flags[] = { WRITE, WRITE | KTHREAD };
	unsigned int i, f;
	uint32_t obj;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    8 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN, &obj, NULL));

	for (f = 0; f != ARRAY_SIZE(flags); f++) {
		for (i = 0; i != ARRAY_SIZE(rw_cases); i++) {
			uint64_t off = rw_cases[i].offset;
			uint64_t len = rw_cases[i].length;

			memcpy(expect, self->buf, sizeof(expect));
			fill(src, len, i + 16 * f);
			memcpy(expect + off, src, len);
			ASSERT_EQ(0, access_rw(self->fd, obj, IOVA + off, src,
					       len, flags[f]));
			EXPECT_EQ(0, memcmp(expect, self->buf, sizeof(expect)))
				TH_LOG("offset %llu, length %llu",
				       (unsigned long long)off,
				       (unsigned long long)len);
		}
	}
}

TEST_F(access, rw_crosses_from_one_mapping_into_the_next)
{
	uint8_t out[2 * CPU_PAGE], src[6];
	const uint64_t seam = IOVA + 2 * CPU_PAGE;
	uint32_t obj;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    2 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf2,
				    2 * CPU_PAGE, seam));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, 0, &obj, NULL));

	ASSERT_EQ(0, access_rw(self->fd, obj, seam - 5, out, 10, 0));
	EXPECT_EQ(0, memcmp(out, self->buf + 2 * CPU_PAGE - 5, 5));
	EXPECT_EQ(0, memcmp(out + 5, self->buf2, 5));

	ASSERT_EQ(0, access_rw(self->fd, obj, seam - CPU_PAGE + 3, out,
			       sizeof(out), 0));
	EXPECT_EQ(0, memcmp(out, self->buf + CPU_PAGE + 3, CPU_PAGE - 3));
	EXPECT_EQ(0, memcmp(out + CPU_PAGE - 3, self->buf2, CPU_PAGE + 3));

	fill(src, sizeof(src), 1);
	ASSERT_EQ(0, access_rw(self->fd, obj, seam - 3, src, sizeof(src),
			       WRITE));
	EXPECT_EQ(0, memcmp(self->buf + 2 * CPU_PAGE - 3, src, 3));
	EXPECT_EQ(0, memcmp(self->buf2, src + 3, 3));
}

TEST_F(access, rw_through_a_mapping_that_starts_mid_page)
{
	uint8_t out[CPU_PAGE], src[40];
	uint32_t obj;

	/* A page of IOVA over the second half of a page and the first of the next */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf + IO_PAGE,
				    CPU_PAGE, IOVA + IO_PAGE));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, 0, &obj, NULL));

	ASSERT_EQ(0, access_rw(self->fd, obj, IOVA + IO_PAGE, out, CPU_PAGE,
			       0));
	EXPECT_EQ(0, memcmp(out, self->buf + IO_PAGE, CPU_PAGE));
	ASSERT_EQ(0, access_rw(self->fd, obj, IOVA + CPU_PAGE - 20, out, 40,
			       0));
	EXPECT_EQ(0, memcmp(out, self->buf + CPU_PAGE - 20, 40));

	fill(src, sizeof(src), 2);
	ASSERT_EQ(0, access_rw(self->fd, obj, IOVA + CPU_PAGE - 20, src,
			       sizeof(src), WRITE));
	EXPECT_EQ(0, memcmp(self->buf + CPU_PAGE - 20, src, sizeof(src)));

	/* Without a domain, a mapping may start and end on any byte */
	if (self->base_align != 1)
		return;
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf2 + 3, 5,
				    IOVA2 + 3));
	ASSERT_EQ(0, access_rw(self->fd, obj, IOVA2 + 3, out, 5, 0));
	EXPECT_EQ(0, memcmp(out, self->buf2 + 3, 5));
	EXPECT_ERRNO(ENOENT, access_rw(self->fd, obj, IOVA2 + 3, out, 6, 0));
	EXPECT_ERRNO(ENOENT, access_rw(self->fd, obj, IOVA2 + 2, out, 2, 0));
}

TEST_F(access, rw_may_read_but_not_write_a_read_only_mapping)
{
	uint8_t out[64], src[8];
	uint32_t obj;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf2,
				    2 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, ioas_map_fixed_prot(self->fd, self->ioas, MAP_R, self->buf,
					 2 * CPU_PAGE, IOVA + 2 * CPU_PAGE));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, 0, &obj, NULL));

	ASSERT_EQ(0, access_rw(self->fd, obj, IOVA + 2 * CPU_PAGE + 9, out,
			       sizeof(out), 0));
	EXPECT_EQ(0, memcmp(out, self->buf + 9, sizeof(out)));

	fill(src, sizeof(src), 3);
	EXPECT_ERRNO(EPERM, access_rw(self->fd, obj, IOVA + 2 * CPU_PAGE + 9,
				      src, sizeof(src), WRITE));
	/* Across the seam: the read-only side is never written */
	EXPECT_ERRNO(EPERM, access_rw(self->fd, obj, IOVA + 2 * CPU_PAGE - 4,
				      src, sizeof(src), WRITE));
	ASSERT_EQ(0, access_rw(self->fd, obj, IOVA + 2 * CPU_PAGE, out,
			       sizeof(out), 0));
	EXPECT_EQ(0, memcmp(out, self->buf, sizeof(out)));
}

TEST_F(access, rw_errors)
{
	uint8_t out[16] = {};
	uint32_t obj;
	void *ro;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    2 * CPU_PAGE, IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, 0, &obj, NULL));

	/* Not fully mapped */
	EXPECT_ERRNO(ENOENT, access_rw(self->fd, obj, UNMAPPED_IOVA, out, 1,
				       0));
	EXPECT_ERRNO(ENOENT, access_rw(self->fd, obj, IOVA + 2 * CPU_PAGE - 1,
				       out, 2, 0));
	EXPECT_ERRNO(ENOENT, access_rw(self->fd, obj, IOVA - 1, out, 2,
				       WRITE));

	EXPECT_ERRNO(EINVAL, access_rw(self->fd, obj, IOVA, out, 0, 0));
	EXPECT_ERRNO(EOVERFLOW, access_rw(self->fd, obj, UINT64_MAX, out, 2,
					  0));
	EXPECT_ERRNO(E2BIG, access_rw(self->fd, obj, IOVA, out,
				      MOCK_ACCESS_RW_MAX + 1, 0));
	EXPECT_ERRNO(EOPNOTSUPP, access_rw(self->fd, obj, IOVA, out, 1,
					   0x100));

	/* The user buffer: unreadable for a write, unwritable for a read */
	EXPECT_ERRNO(EFAULT, access_rw(self->fd, obj, IOVA, (void *)8, 1, 0));
	EXPECT_ERRNO(EFAULT, access_rw(self->fd, obj, IOVA, (void *)8, 1,
				       WRITE));
	ro = mmap(NULL, CPU_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		  0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_ERRNO(EFAULT, access_rw(self->fd, obj, IOVA, ro, 16, 0));
	EXPECT_EQ(0, access_rw(self->fd, obj, IOVA, ro, 16, WRITE));
	munmap(ro, CPU_PAGE);

	ASSERT_EQ(0, access_detach(self->fd, obj));
	EXPECT_ERRNO(EINVAL, access_rw(self->fd, obj, IOVA, out, 1, 0));
}

TEST_F(access, rw_of_the_largest_length)
{
	const size_t len = MOCK_ACCESS_RW_MAX;
	uint8_t *big, *out;
	uint32_t obj;

	big = mem_get(len, 0x33);
	ASSERT_NE(NULL, big);
	out = malloc(len);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, big, len, IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, 0, &obj, NULL));
	ASSERT_EQ(0, access_rw(self->fd, obj, IOVA, out, len, 0));
	EXPECT_EQ(0, memcmp(out, big, len));
	free(out);
	munmap(big, len);
}

/* ---- IOAS_COPY and accesses ---- */

TEST_F(access, copy_shares_its_pages_with_an_access)
{
	const uint64_t len = 4 * CPU_PAGE;
	struct access_info info;
	uint8_t out[64], src[8];
	uint32_t dst, obj;

	ASSERT_EQ(0, ioas_alloc(self->fd, &dst));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, len,
				    IOVA));
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, dst, IOVA2, self->ioas, IOVA,
				     len));
	ASSERT_EQ(0, access_create(self->fd, dst, PIN, &obj, NULL));

	/* Through the copy's IOVA, the source's pages */
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA2 + CPU_PAGE, 2 * CPU_PAGE,
				self->buf + CPU_PAGE, WRITE, NULL));
	ASSERT_EQ(0, access_rw(self->fd, obj, IOVA2 + 7, out, sizeof(out), 0));
	EXPECT_EQ(0, memcmp(out, self->buf + 7, sizeof(out)));

	/*
	 * The source goes without asking: the pin is on the copy, and only
	 * the pages it covers stay pinned
	 */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA, len, NULL));
	INFO(obj, &info);
	EXPECT_EQ(0, info.unmap_calls);
	EXPECT_EQ(1, info.pins);
	EXPECT_EQ(0, check_pins(self->fd, self->buf + CPU_PAGE, 2 * CPU_PAGE,
				1));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, CPU_PAGE, 0));
	EXPECT_EQ(0, check_pins(self->fd, self->buf + 3 * CPU_PAGE, CPU_PAGE,
				0));
	EXPECT_LOCKED(2);

	fill(src, sizeof(src), 4);
	ASSERT_EQ(0, access_rw(self->fd, obj, IOVA2 + CPU_PAGE, src,
			       sizeof(src), WRITE));
	EXPECT_EQ(0, memcmp(self->buf + CPU_PAGE, src, sizeof(src)));

	/* The copy goes once the access let go */
	ASSERT_EQ(0, ioas_unmap(self->fd, dst, IOVA2, len, NULL));
	INFO(obj, &info);
	EXPECT_EQ(1, info.unmap_calls);
	EXPECT_EQ(0, info.pins);
	EXPECT_EQ(0, check_pins(self->fd, self->buf, len, 0));
	EXPECT_LOCKED(0);
}

TEST_F(access, unmapping_a_copy_leaves_the_pins_of_the_source)
{
	const uint64_t len = 4 * CPU_PAGE;
	struct access_info info;
	uint32_t dst, obj;

	ASSERT_EQ(0, ioas_alloc(self->fd, &dst));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, len,
				    IOVA));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, PIN | IGNORE, &obj,
				   NULL));
	ASSERT_EQ(0, access_pin(self->fd, obj, IOVA, len, self->buf, 0,
				NULL));
	/* A copy of pinned pages is a new area with no pin of its own */
	ASSERT_EQ(0, ioas_copy_fixed(self->fd, dst, IOVA2, self->ioas, IOVA,
				     len));
	ASSERT_EQ(0, ioas_unmap(self->fd, dst, IOVA2, len, NULL));
	INFO(obj, &info);
	EXPECT_EQ(0, info.unmap_calls);
	EXPECT_ERRNO(EBUSY, ioas_unmap(self->fd, self->ioas, IOVA, len, NULL));
}

/* ---- Closing the file ---- */

TEST_F(access, close_with_live_accesses_releases_everything)
{
	const uint64_t len = 8 * CPU_PAGE;
	uint32_t a, b, giver, keeper, copier, idle;
	int fd;

	fd = iommufd_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &a));
	ASSERT_EQ(0, ioas_alloc(fd, &b));
	ASSERT_EQ(0, ioas_map_fixed(fd, a, self->buf, len, IOVA));
	ASSERT_EQ(0, ioas_copy_fixed(fd, b, IOVA, a, IOVA, len));
	ASSERT_EQ(0, access_create(fd, a, PIN, &giver, NULL));
	ASSERT_EQ(0, access_create(fd, b, PIN | IGNORE, &keeper, NULL));
	ASSERT_EQ(0, access_create(fd, b, 0, &copier, NULL));
	ASSERT_EQ(0, access_create(fd, 0, PIN, &idle, NULL));
	ASSERT_EQ(0, access_pin(fd, giver, IOVA, len, self->buf, WRITE, NULL));
	ASSERT_EQ(0, access_pin(fd, keeper, IOVA + CPU_PAGE, CPU_PAGE,
				self->buf + CPU_PAGE, 0, NULL));
	ASSERT_EQ(0, access_pin(fd, keeper, IOVA, len, NULL, 0, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, len, 1));
	EXPECT_LOCKED(8);

	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, len, 0));
	EXPECT_LOCKED(0);
}

/* ---- Fault injection ---- */

#define SWEEP_BOUND 500
#define NTH_PAGES 8

FIXTURE(nth)
{
	int probe_fd;
	int nth_fd;
	uint8_t *buf;
	bool knobs_set;
	struct fault_knobs knobs;
};

FIXTURE_SETUP(nth)
{
	char path[64];

	self->nth_fd = -1;
	MOCK_FILE_OPEN(self->probe_fd, return);
	self->nth_fd = fail_nth_open(path, sizeof(path));
	if (self->nth_fd < 0)
		SKIP(return, "no %s (CONFIG_FAULT_INJECTION)", path);
	if (fault_knobs_save(&self->knobs))
		SKIP(return, "cannot read %s", self->knobs.failed);
	self->buf = mem_get(NTH_PAGES * CPU_PAGE, 0x42);
	ASSERT_NE(NULL, self->buf);

	/*
	 * Last, and undone by fault_knobs_set() itself on failure: the
	 * teardown does not run after a setup that did not complete.
	 */
	ASSERT_EQ(0, fault_knobs_set(&self->knobs))
		TH_LOG("cannot set %s", self->knobs.failed);
	self->knobs_set = true;
}

FIXTURE_TEARDOWN(nth)
{
	if (self->nth_fd >= 0) {
		EXPECT_EQ(1, pwrite(self->nth_fd, "0", 1, 0));
		close(self->nth_fd);
	}
	if (self->knobs_set)
		EXPECT_EQ(0, fault_knobs_restore(&self->knobs));
	if (self->probe_fd >= 0)
		close(self->probe_fd);
	if (self->buf)
		munmap(self->buf, NTH_PAGES * CPU_PAGE);
}

enum nth_result {
	NTH_FAILED,	/* site n failed and so did the call */
	NTH_ABSORBED,	/* site n failed, the call succeeded all the same */
	NTH_DONE,	/* the call ended before reaching site n */
};

/*
 * IOMMU_TEST_CMD with fault site @n armed. Between arming and disarming
 * nothing but the ioctl may reach a fault site, so nothing is checked or
 * printed there; *err gets the ioctl's errno.
 */
static enum nth_result nth_test_cmd(struct __test_metadata *_metadata,
				    int nth_fd, unsigned int n, int fd,
				    struct iommu_test_cmd *cmd, int *err)
{
	char arm[16], left[16] = {};
	bool armed, disarmed;
	ssize_t got;
	int arm_len;
	int rc;

	arm_len = snprintf(arm, sizeof(arm), "%u", n);
	armed = pwrite(nth_fd, arm, arm_len, 0) == arm_len;
	rc = ioctl(fd, IOMMU_TEST_CMD, cmd);
	*err = errno;
	got = pread(nth_fd, left, sizeof(left) - 1, 0);
	disarmed = pwrite(nth_fd, "0", 1, 0) == 1;

	EXPECT_TRUE(armed && disarmed && got > 0);
	if (strtoul(left, NULL, 10)) {
		EXPECT_EQ(0, rc)
			TH_LOG("site %u: errno %d with nothing injected", n,
			       *err);
		return NTH_DONE;
	}
	if (!rc)
		return NTH_ABSORBED;
	/* Allocations and charges fail with ENOMEM, pinning with EFAULT */
	EXPECT_TRUE(*err == ENOMEM || *err == EFAULT)
		TH_LOG("site %u: a failure comes back as errno %d", n, *err);
	return NTH_FAILED;
}

static void nth_report(const char *what, unsigned int n,
		       unsigned int absorbed)
{
	ksft_print_msg("access fail_nth: %-24s %3u injection points, %u absorbed\n",
		       what, n - 1, absorbed);
}

/* A file with one IOAS mapping the fixture's buffer at IOVA */
static int nth_world(struct __test_metadata *_metadata, uint8_t *buf,
		     uint32_t *ioas)
{
	int fd;

	fd = iommufd_open();
	EXPECT_LE(0, fd);
	if (fd < 0)
		return fd;
	EXPECT_EQ(0, ioas_alloc(fd, ioas));
	EXPECT_EQ(0, ioas_map_fixed(fd, *ioas, buf, NTH_PAGES * CPU_PAGE,
				    IOVA));
	return fd;
}

TEST_F(nth, access_create_with_attach)
{
	unsigned int n, absorbed = 0;
	enum nth_result res;
	uint32_t ioas, obj;
	int fd, err;

	for (n = 1; n != SWEEP_BOUND; n++) {
		struct iommu_test_cmd cmd = {
			.size = sizeof(cmd),
			.op = IOMMU_TEST_OP_ACCESS_CREATE,
			.access_create.flags = PIN,
		};

		fd = nth_world(_metadata, self->buf, &ioas);
		ASSERT_LE(0, fd);
		cmd.id = ioas;
		res = nth_test_cmd(_metadata, self->nth_fd, n, fd, &cmd, &err);
		if (res == NTH_FAILED) {
			/* Nothing attached: the IOAS can go */
			EXPECT_EQ(0, object_destroy(fd, ioas))
				TH_LOG("site %u: the IOAS is still held", n);
		} else {
			obj = cmd.access_create.out_access_obj_id;
			EXPECT_EQ(0, access_pin(fd, obj, IOVA, CPU_PAGE,
						self->buf, 0, NULL));
			EXPECT_ERRNO(EBUSY, object_destroy(fd, ioas));
			absorbed += res == NTH_ABSORBED;
		}
		ASSERT_EQ(0, close(fd));
		EXPECT_EQ(0, check_pins(self->probe_fd, self->buf,
					NTH_PAGES * CPU_PAGE, 0))
			TH_LOG("site %u: pages stay pinned", n);
		if (res == NTH_DONE)
			break;
	}
	ASSERT_NE(SWEEP_BOUND, n);
	EXPECT_LT(1, n);
	nth_report("ACCESS_CREATE + attach", n, absorbed);
}

TEST_F(nth, access_pin)
{
	unsigned int n, absorbed = 0;
	struct access_info info;
	enum nth_result res;
	uint32_t ioas, obj;
	int fd, err;

	for (n = 1; n != SWEEP_BOUND; n++) {
		struct iommu_test_cmd cmd = {
			.size = sizeof(cmd),
			.op = IOMMU_TEST_OP_ACCESS_PIN,
			.access_pin = {
				.iova = IOVA,
				.length = NTH_PAGES * CPU_PAGE,
				.uptr = (uintptr_t)self->buf,
			},
		};

		fd = nth_world(_metadata, self->buf, &ioas);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, access_create(fd, ioas, PIN, &obj, NULL));
		cmd.id = obj;
		res = nth_test_cmd(_metadata, self->nth_fd, n, fd, &cmd, &err);
		ASSERT_EQ(0, access_info(fd, obj, &info));
		EXPECT_EQ(res != NTH_FAILED, info.pins)
			TH_LOG("site %u: %u pins", n, info.pins);
		/* A failed pin left no count behind that would need asking */
		EXPECT_EQ(0, ioas_unmap_all(fd, ioas, NULL));
		ASSERT_EQ(0, access_info(fd, obj, &info));
		EXPECT_EQ(res != NTH_FAILED, info.unmap_calls)
			TH_LOG("site %u: %u unmap calls", n,
			       info.unmap_calls);
		EXPECT_EQ(0, info.pins);
		absorbed += res == NTH_ABSORBED;
		ASSERT_EQ(0, close(fd));
		EXPECT_EQ(0, check_pins(self->probe_fd, self->buf,
					NTH_PAGES * CPU_PAGE, 0))
			TH_LOG("site %u: pages stay pinned", n);
		if (res == NTH_DONE)
			break;
	}
	ASSERT_NE(SWEEP_BOUND, n);
	EXPECT_LT(1, n);
	nth_report("ACCESS_PIN", n, absorbed);
}

/*
 * Reads @len bytes at IOVA + 7 through a copying access, failing each fault
 * site in turn. A failed read must leave the user buffer untouched.
 */
static void nth_rw_sweep(struct __test_metadata *_metadata, int nth_fd,
			 uint8_t *buf, size_t len, const char *what)
{
	static uint8_t out[3 * CPU_PAGE + 5];
	unsigned int n, i, absorbed = 0;
	enum nth_result res;
	uint32_t ioas, obj;
	int fd, err;

	ASSERT_GE(sizeof(out), len);
	for (n = 1; n != SWEEP_BOUND; n++) {
		struct iommu_test_cmd cmd;

		fd = nth_world(_metadata, buf, &ioas);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, access_create(fd, ioas, 0, &obj, NULL));
		memset(out, 0xee, sizeof(out));
		access_rw_cmd_init(&cmd, obj, IOVA + 7, out, len, 0);
		res = nth_test_cmd(_metadata, nth_fd, n, fd, &cmd, &err);
		if (res == NTH_FAILED) {
			for (i = 0; i != len && out[i] == 0xee; i++)
				;
			EXPECT_EQ(len, i)
				TH_LOG("site %u: a failed read wrote byte %u",
				       n, i);
		} else {
			EXPECT_EQ(0, memcmp(out, buf + 7, len));
			absorbed += res == NTH_ABSORBED;
		}
		ASSERT_EQ(0, close(fd));
		if (res == NTH_DONE)
			break;
	}
	ASSERT_NE(SWEEP_BOUND, n);
	EXPECT_LT(1, n);
	nth_report(what, n, absorbed);
}

/* A bounce buffer within a page comes from kmalloc alone */
TEST_F(nth, access_rw_within_a_page)
{
	nth_rw_sweep(_metadata, self->nth_fd, self->buf, 100,
		     "ACCESS_RW, 100 bytes");
}

/* A larger one falls back to vmalloc when kmalloc fails */
TEST_F(nth, access_rw_of_several_pages)
{
	nth_rw_sweep(_metadata, self->nth_fd, self->buf, 3 * CPU_PAGE + 5,
		     "ACCESS_RW, 3 pages + 5");
}

TEST_HARNESS_MAIN
