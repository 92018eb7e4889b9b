// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mock bus of iommufd's test support: the devices the mock IOMMU
 * translates for, and their iommu_groups.
 *
 * A mock device is a struct device on a bus of its own, iommufd_mock,
 * whose fwspec names the mock IOMMU (selftest_iommu.c); adding it makes
 * the core probe it, through the bus notifier the mock IOMMU registered,
 * into that IOMMU and into a group. A device gets a new iommu_group at
 * probe, or joins the group of earlier mock devices; mock groups are known
 * by a global number, so that the tests can put devices of one group under
 * different drivers and files and watch the core's DMA ownership rules at
 * work. The capabilities of a device that decide which domains may take it
 * (enforceable coherency, dirty tracking) must be those of its group, so
 * that the core moves a group between domains all or nothing.
 *
 * The test ioctl (selftest.c) creates and destroys the devices; a mock
 * group lives as long as its mock devices and keeps the iommu_group that
 * long. A device's memory and its index go with its last reference, in the
 * release callback.
 *
 * Locking: mock_groups_lock protects the table of mock groups and their
 * device counts; nothing is taken under it but the xarray lock. A device
 * joining a group is counted before it is added, so the group cannot end
 * while its probe looks it up.
 */
#include <linux/device.h>
#include <linux/idr.h>
#include <linux/iommu.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "selftest.h"

/* The capabilities every device of a group has alike */
#define MOCK_GROUP_CAPS	(MOCK_DEVICE_ENFORCE_COHERENCY | \
			 MOCK_DEVICE_DIRTY_TRACKING)

/* Number -> struct mock_group; numbers start at 1 */
static DEFINE_XARRAY_ALLOC1(mock_groups);
/* Protects mock_groups against lookups racing with the removal of entries */
static DEFINE_MUTEX(mock_groups_lock);

static DEFINE_IDA(mock_dev_ida);

const struct bus_type iommufd_mock_bus_type = {
	.name = "iommufd_mock",
};

static void mock_dev_release(struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	ida_free(&mock_dev_ida, mdev->index);
	kfree(mdev);
}

/*
 * Takes a device's place in the mock group @number, for a device with the
 * capabilities @caps that is about to join it.
 */
static struct mock_group *mock_group_join(u32 number, u32 caps)
{
	struct mock_group *mgroup;

	mutex_lock(&mock_groups_lock);
	mgroup = xa_load(&mock_groups, number);
	if (!mgroup)
		mgroup = ERR_PTR(-ENOENT);
	else if (mgroup->caps != caps)
		mgroup = ERR_PTR(-EINVAL);
	else
		mgroup->nr_devs++;
	mutex_unlock(&mock_groups_lock);
	return mgroup;
}

/* Gives up a device's place in @mgroup; the last one ends the group */
static void mock_group_leave(struct mock_group *mgroup)
{
	bool last;

	mutex_lock(&mock_groups_lock);
	last = !--mgroup->nr_devs;
	if (last)
		xa_erase(&mock_groups, mgroup->number);
	mutex_unlock(&mock_groups_lock);
	if (last) {
		iommu_group_put(mgroup->group);
		kfree(mgroup);
	}
}

/* Enters the new group @dev was probed into as a mock group */
static struct mock_group *mock_group_create(struct device *dev, u32 caps)
{
	struct mock_group *mgroup;
	int rc;

	mgroup = kzalloc(sizeof(*mgroup), GFP_KERNEL_ACCOUNT);
	if (!mgroup)
		return ERR_PTR(-ENOMEM);
	mgroup->group = iommu_group_get(dev);
	mgroup->caps = caps;
	mgroup->nr_devs = 1;

	mutex_lock(&mock_groups_lock);
	rc = xa_alloc(&mock_groups, &mgroup->number, mgroup, xa_limit_32b,
		      GFP_KERNEL_ACCOUNT);
	mutex_unlock(&mock_groups_lock);
	if (rc) {
		iommu_group_put(mgroup->group);
		kfree(mgroup);
		return ERR_PTR(rc);
	}
	return mgroup;
}

/*
 * Creates a device on the mock bus. Adding it makes the core probe it, via
 * the bus notifier, into the mock group @group_nr or, if that is 0, into a
 * new group on the identity domain.
 */
struct mock_dev *mock_dev_create(u32 flags, u32 group_nr)
{
	struct mock_group *mgroup = NULL;
	struct mock_dev *mdev;
	int rc;

	if (group_nr) {
		mgroup = mock_group_join(group_nr, flags & MOCK_GROUP_CAPS);
		if (IS_ERR(mgroup))
			return ERR_CAST(mgroup);
	}

	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL_ACCOUNT);
	if (!mdev) {
		rc = -ENOMEM;
		goto err_leave;
	}
	rc = ida_alloc(&mock_dev_ida, GFP_KERNEL);
	if (rc < 0) {
		kfree(mdev);
		goto err_leave;
	}
	mdev->index = rc;
	mdev->flags = flags;
	mdev->mgroup = mgroup;

	/* From here on the release callback frees mdev and its index */
	device_initialize(&mdev->dev);
	mdev->dev.release = mock_dev_release;
	mdev->dev.bus = &iommufd_mock_bus_type;
	rc = dev_set_name(&mdev->dev, "iommufd_mock%d", mdev->index);
	if (rc)
		goto err_put;

	rc = mock_iommu_add_fwspec(&mdev->dev);
	if (rc)
		goto err_free_iommu;

	rc = device_add(&mdev->dev);
	if (rc)
		goto err_free_iommu;
	/*
	 * A failed probe does not fail device_add(); for a mock device only
	 * an allocation can make it fail: a group's current domain takes a
	 * new device because it took the others, whose capabilities are the
	 * same.
	 */
	if (!device_iommu_mapped(&mdev->dev)) {
		rc = -ENOMEM;
		goto err_del;
	}
	if (!mgroup) {
		mgroup = mock_group_create(&mdev->dev, flags & MOCK_GROUP_CAPS);
		if (IS_ERR(mgroup)) {
			rc = PTR_ERR(mgroup);
			mgroup = NULL;
			goto err_del;
		}
		mdev->mgroup = mgroup;
	}
	return mdev;

err_del:
	device_del(&mdev->dev);
	goto err_put;
err_free_iommu:
	mock_iommu_free_fwspec(&mdev->dev);
err_put:
	put_device(&mdev->dev);
err_leave:
	if (mgroup)
		mock_group_leave(mgroup);
	return ERR_PTR(rc);
}

/* Removes the device; the core takes it out of its group on the way */
void mock_dev_destroy(struct mock_dev *mdev)
{
	struct mock_group *mgroup = mdev->mgroup;

	device_unregister(&mdev->dev);
	mock_group_leave(mgroup);
}

/**
 * iommufd_test_is_mock_dev() - is this a device of the mock IOMMU's bus?
 * @dev: any device
 *
 * A mock device has no MSIs to isolate, and it is bound to the very file
 * whose ioctl created it, so a binding must not hold a reference on that
 * file.
 *
 * Context: Any context.
 * Return: true for a mock device.
 */
bool iommufd_test_is_mock_dev(struct device *dev)
{
	return dev->bus == &iommufd_mock_bus_type;
}

int __init mock_bus_init(void)
{
	return bus_register(&iommufd_mock_bus_type);
}

void mock_bus_exit(void)
{
	bus_unregister(&iommufd_mock_bus_type);
}
