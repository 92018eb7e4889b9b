// SPDX-License-Identifier: GPL-2.0-only
/*
 * DMA ownership of iommu groups, as userspace can observe it.
 *
 * The IOMMU isolates groups, not devices, so the core hands a group's DMA
 * to one owner at a time: either the kernel's DMA API, shared by every
 * DMA-API driver of the group, or one iommufd file, shared by every device
 * of the group bound to that file. Binding claims the group for the file
 * and parks it on the blocking domain; unbinding the file's last device of
 * the group gives it back to its default domain.
 *
 * The mock IOMMU lets the tests build multi-device groups:
 * IOMMU_TEST_OP_MOCK_DEVICE_ADD returns the number of the device's mock
 * group and can put a new device into an existing group by that number,
 * from any file. A device can be bound to the calling file, left without a
 * driver, or handed to a pretend DMA-API driver; for a device without a
 * driver, MOCK_DEVICE_TRY_DMA_API asks the core whether a DMA-API driver
 * could start on it now, and MOCK_DEVICE_DOMAIN shows what its group
 * translates with.
 *
 * The suite checks: devices of one group bind to one file and share the
 * group's attachment; a group used by the DMA API refuses iommufd and a
 * group bound to iommufd refuses the DMA API, both with EBUSY, until the
 * other side lets go; a second file cannot bind a group the first one
 * owns; and the group returns to its identity domain when its last bound
 * device goes. A refused operation leaves no device behind.
 */
#include "iommufd_selftest.h"

#define BUF_SIZE	(4 * CPU_PAGE)
/* Where the tests map; far from the mock MSI window */
#define IOVA_A		0x1000000ULL

/* ---- IOMMU_TEST_CMD: devices of a mock group ---- */

static int bound_add(int fd, uint32_t group, struct mdev *dev)
{
	return mdev_add_to_group(fd, 0, MOCK_DRIVER_IOMMUFD, group, dev);
}

static int driverless_add(int fd, uint32_t group, struct mdev *dev)
{
	return mdev_add_to_group(fd, 0, MOCK_DRIVER_NONE, group, dev);
}

static int dma_api_add(int fd, uint32_t group, struct mdev *dev)
{
	return mdev_add_to_group(fd, 0, MOCK_DRIVER_DMA_API, group, dev);
}

/* Could a DMA-API driver start on the driverless device @dev now? */
static int try_dma_api(int fd, uint32_t dev)
{
	struct iommu_test_cmd cmd = {};

	return test_cmd(fd, IOMMU_TEST_OP_MOCK_DEVICE_TRY_DMA_API, dev, &cmd);
}

/* The mock bus holds @delta devices more than the @before it once had */
static void expect_bus_devices(struct __test_metadata *_metadata, int before,
			       int delta)
{
	if (before >= 0)
		EXPECT_EQ(before + delta, mock_bus_devices());
}

#define EXPECT_BUS_DEVICES(before, delta)                                      \
	expect_bus_devices(_metadata, before, delta)

/* ---- One file ---- */

FIXTURE(group)
{
	int fd;
	uint32_t ioas;
	int bus_before;
	void *buf;
};

FIXTURE_SETUP(group)
{
	MOCK_FILE_OPEN(self->fd, return);
	self->bus_before = mock_bus_devices();
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, BUF_SIZE,
				    IOVA_A));
}

FIXTURE_TEARDOWN(group)
{
	close(self->fd);
	munmap(self->buf, BUF_SIZE);
	/* Closing the file removed every device the test made */
	EXPECT_BUS_DEVICES(self->bus_before, 0);
}

/* -- Group numbers and the arguments of MOCK_DEVICE_ADD -- */

TEST_F(group, device_add_reports_the_group_number)
{
	struct mdev a, b, c;

	ASSERT_EQ(0, bound_add(self->fd, 0, &a));
	EXPECT_NE(0, a.group);
	ASSERT_EQ(0, bound_add(self->fd, a.group, &b));
	EXPECT_EQ(a.group, b.group);
	ASSERT_EQ(0, bound_add(self->fd, 0, &c));
	EXPECT_NE(0, c.group);
	EXPECT_NE(a.group, c.group);
}

TEST_F(group, device_add_into_an_unknown_group_fails_with_enoent)
{
	struct mdev dev;

	EXPECT_ERRNO(ENOENT, bound_add(self->fd, NO_SUCH_ID, &dev));
	EXPECT_ERRNO(ENOENT, driverless_add(self->fd, NO_SUCH_ID, &dev));
	EXPECT_ERRNO(ENOENT, dma_api_add(self->fd, NO_SUCH_ID, &dev));
	EXPECT_BUS_DEVICES(self->bus_before, 0);
}

TEST_F(group, device_add_rejects_an_unknown_driver_and_reserved2)
{
	struct iommu_test_cmd cmd = {
		.mock_device.driver = MOCK_DRIVER_DMA_API + 1,
	};

	EXPECT_ERRNO(EOPNOTSUPP, test_cmd(self->fd,
					  IOMMU_TEST_OP_MOCK_DEVICE_ADD, 0,
					  &cmd));
	cmd = (struct iommu_test_cmd){ .mock_device.__reserved2 = 1 };
	EXPECT_ERRNO(EOPNOTSUPP, test_cmd(self->fd,
					  IOMMU_TEST_OP_MOCK_DEVICE_ADD, 0,
					  &cmd));
	EXPECT_BUS_DEVICES(self->bus_before, 0);
}

TEST_F(group, devices_of_a_group_share_its_iommu_capabilities)
{
	struct mdev a, b;

	ASSERT_EQ(0, mdev_add_to_group(self->fd, MOCK_DEVICE_ENFORCE_COHERENCY,
				       MOCK_DRIVER_IOMMUFD, 0, &a));
	EXPECT_ERRNO(EINVAL, mdev_add_to_group(self->fd, 0, MOCK_DRIVER_IOMMUFD,
					       a.group, &b));
	EXPECT_ERRNO(EINVAL, mdev_add_to_group(self->fd,
					       MOCK_DEVICE_ENFORCE_COHERENCY |
					       MOCK_DEVICE_DIRTY_TRACKING,
					       MOCK_DRIVER_NONE, a.group, &b));
	EXPECT_BUS_DEVICES(self->bus_before, 1);
	/* The MSI window is the device's own business */
	EXPECT_EQ(0, mdev_add_to_group(self->fd,
				       MOCK_DEVICE_ENFORCE_COHERENCY |
				       MOCK_DEVICE_NO_RESV_REGION,
				       MOCK_DRIVER_IOMMUFD, a.group, &b));
}

TEST_F(group, group_number_lives_as_long_as_a_device_of_the_group)
{
	struct mdev a, b, c;

	ASSERT_EQ(0, driverless_add(self->fd, 0, &a));
	ASSERT_EQ(0, driverless_add(self->fd, a.group, &b));
	/* The group outlives the device that created it */
	ASSERT_EQ(0, object_destroy(self->fd, a.id));
	ASSERT_EQ(0, driverless_add(self->fd, a.group, &c));
	EXPECT_EQ(a.group, c.group);
	ASSERT_EQ(0, object_destroy(self->fd, b.id));
	ASSERT_EQ(0, object_destroy(self->fd, c.id));
	EXPECT_ERRNO(ENOENT, driverless_add(self->fd, a.group, &c));
	EXPECT_BUS_DEVICES(self->bus_before, 0);
}

TEST_F(group, devices_without_iommufd_binding_cannot_attach)
{
	struct mdev none, dma;

	ASSERT_EQ(0, driverless_add(self->fd, 0, &none));
	ASSERT_EQ(0, dma_api_add(self->fd, 0, &dma));
	EXPECT_EQ(0, none.idev);
	EXPECT_EQ(0, dma.idev);

	EXPECT_ERRNO(EINVAL, mdev_attach(self->fd, none.id, self->ioas, NULL));
	EXPECT_ERRNO(EINVAL, mdev_replace(self->fd, none.id, self->ioas,
					  NULL));
	EXPECT_ERRNO(EINVAL, mdev_detach(self->fd, none.id));
	EXPECT_ERRNO(EINVAL, mdev_attach(self->fd, dma.id, self->ioas, NULL));
	EXPECT_ERRNO(EINVAL, mdev_detach(self->fd, dma.id));
	/* Nothing was attached: the IOAS is free */
	EXPECT_EQ(0, object_destroy(self->fd, self->ioas));
}

/* -- Devices of one group in one file -- */

TEST_F(group, two_devices_of_one_group_bind_to_the_same_file)
{
	struct mdev a, b;

	ASSERT_EQ(0, bound_add(self->fd, 0, &a));
	ASSERT_EQ(0, bound_add(self->fd, a.group, &b));
	EXPECT_NE(0, a.idev);
	EXPECT_NE(0, b.idev);
	EXPECT_NE(a.idev, b.idev);
	/* Bound and not attached: the whole group is blocked */
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(self->fd, a.id));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(self->fd, b.id));
	EXPECT_BUS_DEVICES(self->bus_before, 2);
}

TEST_F(group, devices_of_one_group_share_the_attachment)
{
	uint32_t hwpt_a, hwpt_b;
	struct mdev a, b;

	ASSERT_EQ(0, bound_add(self->fd, 0, &a));
	ASSERT_EQ(0, bound_add(self->fd, a.group, &b));
	ASSERT_EQ(0, mdev_attach(self->fd, a.id, self->ioas, &hwpt_a));

	/* The IOMMU translates the group: b uses the domain before attaching */
	EXPECT_EQ(MOCK_ATTACHED_PAGING, dom_attached(self->fd, b.id));
	EXPECT_EQ(dom_cookie(self->fd, hwpt_a), dom_cookie(self->fd, b.id));
	EXPECT_EQ(0, mock_dma_write(self->fd, b.id, IOVA_A, CPU_PAGE));

	/* and attaching it to the same IOAS picks the same HWPT */
	ASSERT_EQ(0, mdev_attach(self->fd, b.id, self->ioas, &hwpt_b));
	EXPECT_EQ(hwpt_a, hwpt_b);
	EXPECT_EQ(dom_cookie(self->fd, a.id), dom_cookie(self->fd, b.id));
}

TEST_F(group, sibling_cannot_attach_elsewhere_without_replace)
{
	uint32_t hwpt, other_hwpt, other_ioas, got;
	struct mdev a, b;

	ASSERT_EQ(0, bound_add(self->fd, 0, &a));
	ASSERT_EQ(0, bound_add(self->fd, a.group, &b));
	ASSERT_EQ(0, mdev_attach(self->fd, a.id, self->ioas, &hwpt));
	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, b.idev, self->ioas, &other_hwpt));
	ASSERT_EQ(0, ioas_alloc(self->fd, &other_ioas));

	EXPECT_ERRNO(EINVAL, mdev_attach(self->fd, b.id, other_hwpt, &got));
	EXPECT_ERRNO(EINVAL, mdev_attach(self->fd, b.id, other_ioas, &got));
	/* The failed automatic attach left no HWPT on the other IOAS */
	EXPECT_EQ(0, object_destroy(self->fd, other_ioas));
	/* Nothing moved */
	EXPECT_EQ(dom_cookie(self->fd, hwpt), dom_cookie(self->fd, a.id));
	EXPECT_EQ(dom_cookie(self->fd, hwpt), dom_cookie(self->fd, b.id));
	EXPECT_ERRNO(EINVAL, mdev_detach(self->fd, b.id));
	/* The group's own HWPT is fine */
	EXPECT_EQ(0, mdev_attach(self->fd, b.id, hwpt, &got));
	EXPECT_EQ(hwpt, got);
}

TEST_F(group, replace_moves_every_device_of_the_group)
{
	uint32_t hwpt, other_hwpt;
	struct mdev a, b, c;

	ASSERT_EQ(0, bound_add(self->fd, 0, &a));
	ASSERT_EQ(0, bound_add(self->fd, a.group, &b));
	ASSERT_EQ(0, driverless_add(self->fd, a.group, &c));
	ASSERT_EQ(0, mdev_attach(self->fd, a.id, self->ioas, &hwpt));
	ASSERT_EQ(0, mdev_attach(self->fd, b.id, self->ioas, &hwpt));
	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, a.idev, self->ioas, &other_hwpt));

	ASSERT_EQ(0, mdev_replace(self->fd, b.id, other_hwpt, NULL));
	EXPECT_EQ(dom_cookie(self->fd, other_hwpt), dom_cookie(self->fd, a.id));
	EXPECT_EQ(dom_cookie(self->fd, other_hwpt), dom_cookie(self->fd, b.id));
	EXPECT_EQ(dom_cookie(self->fd, other_hwpt), dom_cookie(self->fd, c.id));
	/* The automatic HWPT lost its last device and went away */
	EXPECT_EQ(-1, dom_attached(self->fd, hwpt));
}

TEST_F(group, destroying_one_device_keeps_the_group_attached)
{
	struct mdev a, b;
	uint32_t hwpt;

	ASSERT_EQ(0, bound_add(self->fd, 0, &a));
	ASSERT_EQ(0, bound_add(self->fd, a.group, &b));
	ASSERT_EQ(0, mdev_attach(self->fd, a.id, self->ioas, &hwpt));
	ASSERT_EQ(0, mdev_attach(self->fd, b.id, self->ioas, &hwpt));

	ASSERT_EQ(0, object_destroy(self->fd, a.id));
	EXPECT_EQ(dom_cookie(self->fd, hwpt), dom_cookie(self->fd, b.id));
	EXPECT_EQ(0, mock_dma_write(self->fd, b.id, IOVA_A, CPU_PAGE));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, hwpt));
}

/* -- The DMA API against iommufd -- */

TEST_F(group, bind_fails_with_ebusy_while_a_sibling_uses_the_dma_api)
{
	struct mdev anchor, dma, dev;

	/* A driverless device keeps the group while the others come and go */
	ASSERT_EQ(0, driverless_add(self->fd, 0, &anchor));
	ASSERT_EQ(0, dma_api_add(self->fd, anchor.group, &dma));

	EXPECT_ERRNO(EBUSY, bound_add(self->fd, anchor.group, &dev));
	EXPECT_BUS_DEVICES(self->bus_before, 2);
	/* The group stays with the DMA API, on its default domain */
	EXPECT_EQ(MOCK_ATTACHED_IDENTITY, dom_attached(self->fd, anchor.id));
	EXPECT_EQ(0, try_dma_api(self->fd, anchor.id));

	ASSERT_EQ(0, object_destroy(self->fd, dma.id));
	ASSERT_EQ(0, bound_add(self->fd, anchor.group, &dev));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(self->fd, anchor.id));
}

TEST_F(group, dma_api_users_of_one_group_coexist)
{
	struct mdev first, second, idle;

	ASSERT_EQ(0, dma_api_add(self->fd, 0, &first));
	ASSERT_EQ(0, dma_api_add(self->fd, first.group, &second));
	ASSERT_EQ(0, driverless_add(self->fd, first.group, &idle));
	EXPECT_EQ(0, try_dma_api(self->fd, idle.id));
	EXPECT_EQ(MOCK_ATTACHED_IDENTITY, dom_attached(self->fd, first.id));
}

TEST_F(group, dma_api_cannot_start_in_a_group_bound_to_iommufd)
{
	struct mdev bound, idle, dma;

	ASSERT_EQ(0, bound_add(self->fd, 0, &bound));
	ASSERT_EQ(0, driverless_add(self->fd, bound.group, &idle));

	EXPECT_ERRNO(EBUSY, try_dma_api(self->fd, idle.id));
	EXPECT_ERRNO(EBUSY, dma_api_add(self->fd, bound.group, &dma));
	EXPECT_BUS_DEVICES(self->bus_before, 2);

	/* Attached or not makes no difference */
	ASSERT_EQ(0, mdev_attach(self->fd, bound.id, self->ioas, NULL));
	EXPECT_ERRNO(EBUSY, try_dma_api(self->fd, idle.id));
	ASSERT_EQ(0, mdev_detach(self->fd, bound.id));
	EXPECT_ERRNO(EBUSY, try_dma_api(self->fd, idle.id));

	/* Unbinding gives the group back */
	ASSERT_EQ(0, object_destroy(self->fd, bound.id));
	EXPECT_EQ(0, try_dma_api(self->fd, idle.id));
	EXPECT_EQ(0, dma_api_add(self->fd, bound.group, &dma));
}

TEST_F(group, try_dma_api_needs_a_device_without_driver)
{
	struct mdev bound, dma;

	ASSERT_EQ(0, bound_add(self->fd, 0, &bound));
	ASSERT_EQ(0, dma_api_add(self->fd, 0, &dma));
	EXPECT_ERRNO(EINVAL, try_dma_api(self->fd, bound.id));
	EXPECT_ERRNO(EINVAL, try_dma_api(self->fd, dma.id));
	EXPECT_ERRNO(ENOENT, try_dma_api(self->fd, bound.idev));
	EXPECT_ERRNO(ENOENT, try_dma_api(self->fd, self->ioas));
	EXPECT_ERRNO(ENOENT, try_dma_api(self->fd, NO_SUCH_ID));
}

TEST_F(group, try_dma_api_gives_the_group_back_after_asking)
{
	struct mdev idle, dev;
	unsigned int i;

	ASSERT_EQ(0, driverless_add(self->fd, 0, &idle));
	for (i = 0; i != 3; i++)
		ASSERT_EQ(0, try_dma_api(self->fd, idle.id));
	/* No DMA-API use is left over to refuse iommufd */
	ASSERT_EQ(0, bound_add(self->fd, idle.group, &dev));
}

/* -- Where an owned and a released group translates -- */

TEST_F(group, driverless_device_follows_its_group_domain)
{
	struct mdev idle, bound;
	uint32_t hwpt;

	ASSERT_EQ(0, driverless_add(self->fd, 0, &idle));
	/* Nobody owns the group: identity, DMA is not translated */
	EXPECT_EQ(MOCK_ATTACHED_IDENTITY, dom_attached(self->fd, idle.id));
	EXPECT_EQ(0, mock_dma_write(self->fd, idle.id, IOVA_A, CPU_PAGE));

	/* Claimed by the file: blocked */
	ASSERT_EQ(0, bound_add(self->fd, idle.group, &bound));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(self->fd, idle.id));
	EXPECT_ERRNO(EFAULT, mock_dma_write(self->fd, idle.id, IOVA_A,
					    CPU_PAGE));

	/* Attached: the HWPT's translation, for every device of the group */
	ASSERT_EQ(0, mdev_attach(self->fd, bound.id, self->ioas, &hwpt));
	EXPECT_EQ(dom_cookie(self->fd, hwpt), dom_cookie(self->fd, idle.id));
	EXPECT_EQ(0, mock_dma_write(self->fd, idle.id, IOVA_A, CPU_PAGE));
	EXPECT_ERRNO(EFAULT, mock_dma_write(self->fd, idle.id,
					    IOVA_A + BUF_SIZE, CPU_PAGE));

	ASSERT_EQ(0, mdev_detach(self->fd, bound.id));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(self->fd, idle.id));
}

TEST_F(group, unbinding_the_last_device_returns_the_group_to_identity)
{
	struct mdev a, b, idle;

	ASSERT_EQ(0, bound_add(self->fd, 0, &a));
	ASSERT_EQ(0, bound_add(self->fd, a.group, &b));
	ASSERT_EQ(0, driverless_add(self->fd, a.group, &idle));
	ASSERT_EQ(0, mdev_attach(self->fd, a.id, self->ioas, NULL));

	/* b still holds the group for the file */
	ASSERT_EQ(0, object_destroy(self->fd, a.id));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(self->fd, idle.id));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(self->fd, b.id));

	ASSERT_EQ(0, object_destroy(self->fd, b.id));
	EXPECT_EQ(MOCK_ATTACHED_IDENTITY, dom_attached(self->fd, idle.id));
	EXPECT_EQ(0, mock_dma_write(self->fd, idle.id, IOVA_A, CPU_PAGE));
}

TEST_F(group, rebinding_a_released_group_starts_blocked)
{
	struct mdev a, b, idle;

	ASSERT_EQ(0, bound_add(self->fd, 0, &a));
	ASSERT_EQ(0, driverless_add(self->fd, a.group, &idle));
	ASSERT_EQ(0, mdev_attach(self->fd, a.id, self->ioas, NULL));
	ASSERT_EQ(0, object_destroy(self->fd, a.id));
	EXPECT_EQ(MOCK_ATTACHED_IDENTITY, dom_attached(self->fd, idle.id));

	/* Nothing of the old attachment survives the release */
	ASSERT_EQ(0, bound_add(self->fd, idle.group, &b));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(self->fd, b.id));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(self->fd, idle.id));
}

/* ---- Two files ---- */

FIXTURE(two_files)
{
	int fd1;
	int fd2;
	int bus_before;
};

/* How the first file lets go of its device */
FIXTURE_VARIANT(two_files)
{
	bool close_file;
};

FIXTURE_VARIANT_ADD(two_files, by_destroying_the_device)
{
	.close_file = false,
};

FIXTURE_VARIANT_ADD(two_files, by_closing_the_file)
{
	.close_file = true,
};

FIXTURE_SETUP(two_files)
{
	MOCK_FILE_OPEN(self->fd1, return);
	self->bus_before = mock_bus_devices();
	self->fd2 = iommufd_open();
	ASSERT_LE(0, self->fd2);
}

FIXTURE_TEARDOWN(two_files)
{
	if (self->fd1 >= 0)
		close(self->fd1);
	close(self->fd2);
	EXPECT_BUS_DEVICES(self->bus_before, 0);
}

TEST_F(two_files, second_file_cannot_bind_a_group_the_first_file_owns)
{
	struct mdev first, anchor, dev = {};
	uint32_t ioas;

	ASSERT_EQ(0, bound_add(self->fd1, 0, &first));
	/* The number gives the second file no handle on the first's objects */
	EXPECT_EQ(-1, dom_attached(self->fd2, first.id));
	EXPECT_ERRNO(ENOENT, try_dma_api(self->fd2, first.id));

	/* A driverless device of the second file keeps the group alive */
	ASSERT_EQ(0, driverless_add(self->fd2, first.group, &anchor));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(self->fd2, anchor.id));

	EXPECT_ERRNO(EBUSY, bound_add(self->fd2, first.group, &dev));
	EXPECT_ERRNO(EBUSY, dma_api_add(self->fd2, first.group, &dev));
	EXPECT_BUS_DEVICES(self->bus_before, 2);
	/* The first file keeps its group and can still add to it */
	ASSERT_EQ(0, ioas_alloc(self->fd1, &ioas));
	EXPECT_EQ(0, mdev_attach(self->fd1, first.id, ioas, NULL));
	EXPECT_EQ(0, bound_add(self->fd1, first.group, &dev));
	EXPECT_ERRNO(EBUSY, bound_add(self->fd2, first.group, &dev));

	if (variant->close_file) {
		ASSERT_EQ(0, close(self->fd1));
		self->fd1 = -1;
	} else {
		ASSERT_EQ(0, object_destroy(self->fd1, first.id));
		ASSERT_EQ(0, object_destroy(self->fd1, dev.id));
	}
	EXPECT_EQ(MOCK_ATTACHED_IDENTITY, dom_attached(self->fd2, anchor.id));

	ASSERT_EQ(0, bound_add(self->fd2, first.group, &dev));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(self->fd2, anchor.id));
	/* and now the first file is the one refused */
	if (!variant->close_file)
		EXPECT_ERRNO(EBUSY, bound_add(self->fd1, first.group, &dev));
}

TEST_F(two_files, files_bind_devices_of_different_groups)
{
	struct mdev a, b;

	ASSERT_EQ(0, bound_add(self->fd1, 0, &a));
	ASSERT_EQ(0, bound_add(self->fd2, 0, &b));
	EXPECT_NE(a.group, b.group);
	if (variant->close_file) {
		ASSERT_EQ(0, close(self->fd1));
		self->fd1 = -1;
	} else {
		ASSERT_EQ(0, object_destroy(self->fd1, a.id));
	}
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(self->fd2, b.id));
}

TEST_HARNESS_MAIN
