// SPDX-License-Identifier: GPL-2.0-only
/*
 * Devices and the HWPTs they attach to, seen through the mock IOMMU.
 *
 * IOMMU_TEST_OP_MOCK_DEVICE_ADD creates a device behind the mock IOMMU and
 * binds it to the file as VFIO would; the other MOCK_DEVICE operations call
 * iommufd_device_attach(), _replace() and _detach() on it. The mock IOMMU
 * lets every step be read back: MOCK_DEVICE_DOMAIN names the domain a
 * device or HWPT translates with (a cookie per domain, its properties, and
 * for a nested domain its parent and IOTLB tag), MD_CHECK_MAP shows what
 * the domain maps and MOCK_DMA_WRITE lets the device write through it.
 *
 * The suite checks, as userspace can observe them, the promises of the
 * DEVICE and HWPT objects: a bound device is held by its driver; attaching
 * to an IOAS picks or creates an automatic HWPT that goes away with its
 * last device; explicit and nested HWPTs live until IOMMU_DESTROY and
 * cannot be destroyed while used; replace moves a device in one step; the
 * IOAS's usable ranges follow apertures and reserved regions and never
 * shrink silently; devices that need coherency enforced only share domains
 * that enforce it; IOMMU_GET_HW_INFO reports the driver's data as its
 * kernel-doc says. A failed operation changes nothing.
 *
 * The tests assume 4 KiB CPU pages; the mock's IO page is half of that.
 */
#include <pthread.h>
#include <stddef.h>

#include "iommufd_selftest.h"

#define BUF_PAGES	16
#define BUF_SIZE	(BUF_PAGES * CPU_PAGE)

/* Where the tests map; far from the MSI window and 2 MiB aligned */
#define IOVA_A		0x1000000ULL
#define IOVA_B		0x2000000ULL

static int hw_info(int fd, uint32_t dev, void *buf, uint32_t len,
		   struct iommu_hw_info *out)
{
	*out = (struct iommu_hw_info){
		.size = sizeof(*out),
		.dev_id = dev,
		.data_len = len,
		.data_uptr = (uintptr_t)buf,
	};
	return ioctl(fd, IOMMU_GET_HW_INFO, out);
}

/* Does an object with @id still exist as something MOCK_DEVICE_DOMAIN knows? */
static bool dom_exists(int fd, uint32_t id)
{
	struct dom dom;

	return !dom_get(fd, id, &dom);
}

/* ---- Expected IOVA ranges ---- */

/*
 * The usable ranges an IOAS can show in these tests: untouched; limited to
 * a mock domain's aperture; and that with a mock device's MSI window cut
 * out.
 */
enum shape {
	SHAPE_OPEN,
	SHAPE_APERTURE,
	SHAPE_APERTURE_MSI,
};

static const char *const shape_names[] = {
	[SHAPE_OPEN] = "the whole space",
	[SHAPE_APERTURE] = "the aperture",
	[SHAPE_APERTURE_MSI] = "the aperture without the MSI window",
};

static void shape_ranges(enum shape shape, struct ioas_ranges *want)
{
	memset(want, 0, sizeof(*want));
	switch (shape) {
	case SHAPE_OPEN:
		want->num = 1;
		want->align = 1;
		want->range[0].last = UINT64_MAX;
		break;
	case SHAPE_APERTURE:
		want->num = 1;
		want->align = IO_PAGE;
		want->range[0].last = MOCK_APERTURE_LAST;
		break;
	case SHAPE_APERTURE_MSI:
		want->num = 2;
		want->align = IO_PAGE;
		want->range[0].last = MOCK_RESV_START - 1;
		want->range[1].start = MOCK_RESV_LAST + 1;
		want->range[1].last = MOCK_APERTURE_LAST;
		break;
	}
}

static void expect_ranges(struct __test_metadata *_metadata, int fd,
			  uint32_t ioas, enum shape shape)
{
	struct ioas_ranges want, got;
	unsigned int i;

	shape_ranges(shape, &want);
	ASSERT_EQ(0, ioas_ranges_get(fd, ioas, &got));
	EXPECT_EQ(want.num, got.num)
		TH_LOG("IOAS %u: expected %s", ioas, shape_names[shape]);
	EXPECT_EQ(want.align, got.align)
		TH_LOG("IOAS %u: expected %s", ioas, shape_names[shape]);
	for (i = 0; i != want.num && i != got.num; i++) {
		EXPECT_EQ(want.range[i].start, got.range[i].start)
			TH_LOG("IOAS %u range %u: expected %s", ioas, i,
			       shape_names[shape]);
		EXPECT_EQ(want.range[i].last, got.range[i].last)
			TH_LOG("IOAS %u range %u: expected %s", ioas, i,
			       shape_names[shape]);
	}
}

#define EXPECT_RANGES(ioas, shape)                                             \
	expect_ranges(_metadata, self->fd, ioas, shape)

/* The IOAS is not held by any HWPT: IOMMU_DESTROY takes it */
#define EXPECT_IOAS_FREE(ioas) EXPECT_EQ(0, object_destroy(self->fd, ioas))

/* An address no memory is mapped at; NULL on failure */
static void *hole_get(void)
{
	void *hole;

	hole = mmap(NULL, CPU_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	return hole == MAP_FAILED ? NULL : hole;
}

/* A device flag set as one variant of a device fixture sees it */
struct dev_kind {
	uint32_t flags;
	bool msi;	/* reports the MSI window */
};

static enum shape attached_shape(bool msi)
{
	return msi ? SHAPE_APERTURE_MSI : SHAPE_APERTURE;
}

/* ---- Binding ---- */

FIXTURE(bind)
{
	int fd;
	uint32_t ioas;
};

FIXTURE_SETUP(bind)
{
	MOCK_FILE_OPEN(self->fd, return);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
}

FIXTURE_TEARDOWN(bind)
{
	close(self->fd);
}

TEST_F(bind, device_add_returns_a_bound_device_object)
{
	struct iommu_hw_info info;
	struct mdev dev;
	struct dom dom;

	ASSERT_EQ(0, mdev_add(self->fd, 0, &dev));
	EXPECT_NE(0, dev.id);
	EXPECT_NE(0, dev.idev);
	EXPECT_NE(dev.id, dev.idev);
	EXPECT_NE(self->ioas, dev.idev);

	/* The DEVICE is what the regular uAPI takes, the mock object is not */
	EXPECT_EQ(0, hw_info(self->fd, dev.idev, NULL, 0, &info));
	EXPECT_ERRNO(ENOENT, hw_info(self->fd, dev.id, NULL, 0, &info));

	/* Bound and not attached: the core parks it on the blocking domain */
	ASSERT_EQ(0, dom_get(self->fd, dev.id, &dom));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom.attached);
	EXPECT_EQ(0, dom.cookie);
	EXPECT_ERRNO(EFAULT, mock_dma_write(self->fd, dev.id, IOVA_A,
					    CPU_PAGE));
	/* and there is no page table to check */
	EXPECT_ERRNO(ENXIO, mock_check_map(self->fd, dev.id, IOVA_A, CPU_PAGE,
					   &dom, 0, NULL));
	EXPECT_ERRNO(ENXIO, mock_check_unmapped(self->fd, dev.id, IOVA_A,
						CPU_PAGE));

	/* Binding alone does not touch any IOAS */
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
}

TEST_F(bind, device_object_cannot_be_destroyed_by_userspace)
{
	struct iommu_hw_info info;
	struct mdev dev;

	ASSERT_EQ(0, mdev_add(self->fd, 0, &dev));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, dev.idev));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, dev.idev));
	/* Still there and usable */
	EXPECT_EQ(0, hw_info(self->fd, dev.idev, NULL, 0, &info));
	EXPECT_EQ(0, hwpt_alloc(self->fd, 0, dev.idev, self->ioas, NULL));
}

TEST_F(bind, destroying_the_mock_device_unbinds_it)
{
	struct iommu_hw_info info;
	struct mdev dev;
	uint32_t hwpt;
	int before;

	before = mock_bus_devices();
	ASSERT_EQ(0, mdev_add(self->fd, 0, &dev));
	if (before >= 0)
		EXPECT_EQ(before + 1, mock_bus_devices());
	ASSERT_EQ(0, object_destroy(self->fd, dev.id));

	EXPECT_ERRNO(ENOENT, hw_info(self->fd, dev.idev, NULL, 0, &info));
	EXPECT_ERRNO(ENOENT, hwpt_alloc(self->fd, 0, dev.idev, self->ioas,
					&hwpt));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, dev.idev));
	EXPECT_ERRNO(ENOENT, mdev_attach(self->fd, dev.id, self->ioas, &hwpt));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, dev.id));
	if (before >= 0)
		EXPECT_EQ(before, mock_bus_devices());
	/* The failed HWPT_ALLOC did not leave a HWPT on the IOAS */
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
	EXPECT_IOAS_FREE(self->ioas);
}

TEST_F(bind, device_add_rejects_unknown_flags_and_reserved)
{
	struct iommu_test_cmd cmd = {
		.mock_device.flags = MOCK_DEVICE_IOPF << 1,
	};
	int before = mock_bus_devices();
	struct mdev dev;

	EXPECT_ERRNO(EOPNOTSUPP, test_cmd(self->fd,
					  IOMMU_TEST_OP_MOCK_DEVICE_ADD, 0,
					  &cmd));
	cmd = (struct iommu_test_cmd){ .mock_device.flags = 1U << 31 };
	EXPECT_ERRNO(EOPNOTSUPP, test_cmd(self->fd,
					  IOMMU_TEST_OP_MOCK_DEVICE_ADD, 0,
					  &cmd));
	cmd = (struct iommu_test_cmd){ .mock_device.__reserved = 1 };
	EXPECT_ERRNO(EOPNOTSUPP, test_cmd(self->fd,
					  IOMMU_TEST_OP_MOCK_DEVICE_ADD, 0,
					  &cmd));
	if (before >= 0)
		EXPECT_EQ(before, mock_bus_devices());
	/* Every known flag at once is fine */
	EXPECT_EQ(0, mdev_add(self->fd, MOCK_DEVICE_ENFORCE_COHERENCY |
					MOCK_DEVICE_DIRTY_TRACKING |
					MOCK_DEVICE_NO_RESV_REGION |
					MOCK_DEVICE_IOPF, &dev));
}

TEST_F(bind, devices_bind_and_unbind_independently)
{
	struct iommu_hw_info info;
	struct mdev dev[3];
	unsigned int i;

	for (i = 0; i != 3; i++)
		ASSERT_EQ(0, mdev_add(self->fd, 0, &dev[i]));
	EXPECT_NE(dev[0].idev, dev[1].idev);
	EXPECT_NE(dev[1].idev, dev[2].idev);
	EXPECT_NE(dev[0].id, dev[2].id);

	ASSERT_EQ(0, object_destroy(self->fd, dev[1].id));
	EXPECT_ERRNO(ENOENT, hw_info(self->fd, dev[1].idev, NULL, 0, &info));
	EXPECT_EQ(0, hw_info(self->fd, dev[0].idev, NULL, 0, &info));
	EXPECT_EQ(0, hw_info(self->fd, dev[2].idev, NULL, 0, &info));
	EXPECT_EQ(0, mdev_attach(self->fd, dev[2].id, self->ioas, NULL));
}

TEST_F(bind, ioas_and_hwpt_stay_busy_until_the_device_goes)
{
	struct mdev dev;
	uint32_t hwpt;

	ASSERT_EQ(0, mdev_add(self->fd, 0, &dev));
	ASSERT_EQ(0, mdev_attach(self->fd, dev.id, self->ioas, &hwpt));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->ioas));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, hwpt));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, dev.idev));

	/* Destroying the mock device detaches and unbinds it on the way */
	ASSERT_EQ(0, object_destroy(self->fd, dev.id));
	EXPECT_FALSE(dom_exists(self->fd, hwpt));
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
	EXPECT_IOAS_FREE(self->ioas);
}

/*
 * Closing a file tears down attached and bound devices with everything
 * they use; the debug kernel's kmemleak scan at the end of the run sees
 * whatever would leak. Pins, charge and the mock bus are checked here.
 */
TEST_F(bind, close_with_attached_devices_frees_everything)
{
	uint32_t ioas, parent, hwpt, nested, got;
	struct charge charge0, charge;
	struct mdev dev[4];
	unsigned int i;
	uint8_t *buf;
	int before, fd;

	buf = small_pages_alloc(BUF_SIZE);
	ASSERT_NE(NULL, buf);
	before = mock_bus_devices();
	ASSERT_EQ(0, charge_read(self->fd, &charge0));

	fd = iommufd_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, buf, BUF_SIZE, IOVA_A));
	/* Pinned once the first domain arrives, not before */
	ASSERT_EQ(0, check_pins(fd, buf, BUF_SIZE, 0));

	/* One device each on an auto, an explicit and a nested HWPT */
	for (i = 0; i != 4; i++)
		ASSERT_EQ(0, mdev_add(fd, 0, &dev[i]));
	ASSERT_EQ(0, mdev_attach(fd, dev[0].id, ioas, &got));
	ASSERT_EQ(0, hwpt_alloc(fd, 0, dev[1].idev, ioas, &hwpt));
	ASSERT_EQ(0, mdev_attach(fd, dev[1].id, hwpt, &got));
	ASSERT_EQ(0, hwpt_alloc(fd, IOMMU_HWPT_ALLOC_NEST_PARENT, dev[2].idev,
				ioas, &parent));
	ASSERT_EQ(0, hwpt_alloc_nested(fd, 0, dev[2].idev, parent, 1, &nested));
	ASSERT_EQ(0, mdev_attach(fd, dev[2].id, nested, &got));
	/* and one only bound */
	ASSERT_EQ(0, check_pins(fd, buf, BUF_SIZE, 1));
	expect_charge(_metadata, fd, &charge0, false, BUF_PAGES);
	ASSERT_EQ(0, close(fd));

	EXPECT_EQ(0, check_pins(self->fd, buf, BUF_SIZE, 0));
	ASSERT_EQ(0, charge_read(self->fd, &charge));
	EXPECT_EQ(charge0.locked_vm, charge.locked_vm);
	EXPECT_EQ(charge0.pinned_vm, charge.pinned_vm);
	if (before >= 0)
		EXPECT_EQ(before, mock_bus_devices());

	/* A new file starts from scratch and can bind and attach again */
	fd = iommufd_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, buf, BUF_SIZE, IOVA_A));
	ASSERT_EQ(0, mdev_add(fd, 0, &dev[0]));
	ASSERT_EQ(0, mdev_attach(fd, dev[0].id, ioas, &got));
	EXPECT_EQ(0, mock_check_map(fd, dev[0].id, IOVA_A, BUF_SIZE, buf, 0,
				    NULL));
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(0, check_pins(self->fd, buf, BUF_SIZE, 0));
	munmap(buf, BUF_SIZE);
}

/* ---- Attaching to an IOAS: automatic HWPTs ---- */

FIXTURE(attach)
{
	int fd;
	uint32_t ioas;
	struct mdev dev;
	uint8_t *buf;
};

FIXTURE_VARIANT(attach)
{
	struct dev_kind kind;
};

FIXTURE_VARIANT_ADD(attach, plain)
{
	.kind = { .flags = 0, .msi = true },
};

FIXTURE_VARIANT_ADD(attach, enforce_coherency)
{
	.kind = { .flags = MOCK_DEVICE_ENFORCE_COHERENCY, .msi = true },
};

FIXTURE_VARIANT_ADD(attach, dirty_tracking)
{
	.kind = { .flags = MOCK_DEVICE_DIRTY_TRACKING, .msi = true },
};

FIXTURE_VARIANT_ADD(attach, no_msi_window)
{
	.kind = { .flags = MOCK_DEVICE_NO_RESV_REGION, .msi = false },
};

FIXTURE_SETUP(attach)
{
	MOCK_FILE_OPEN(self->fd, return);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mdev_add(self->fd, variant->kind.flags, &self->dev));
	self->buf = small_pages_alloc(BUF_SIZE);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(attach)
{
	close(self->fd);
	if (self->buf)
		munmap(self->buf, BUF_SIZE);
}

TEST_F(attach, attach_to_ioas_creates_an_automatic_hwpt)
{
	struct dom dev_dom, hwpt_dom;
	uint32_t hwpt;

	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, &hwpt));
	EXPECT_NE(0, hwpt);
	EXPECT_NE(self->ioas, hwpt);
	EXPECT_NE(self->dev.id, hwpt);
	EXPECT_NE(self->dev.idev, hwpt);

	ASSERT_EQ(0, dom_get(self->fd, self->dev.id, &dev_dom));
	ASSERT_EQ(0, dom_get(self->fd, hwpt, &hwpt_dom));
	EXPECT_EQ(MOCK_ATTACHED_PAGING, dev_dom.attached);
	EXPECT_EQ(MOCK_ATTACHED_PAGING, hwpt_dom.attached);
	EXPECT_NE(0, dev_dom.cookie);
	EXPECT_EQ(hwpt_dom.cookie, dev_dom.cookie);
	/* An automatic domain is plain, except for what the device needs */
	EXPECT_EQ(variant->kind.flags & MOCK_DEVICE_ENFORCE_COHERENCY ?
		  MOCK_PROP_COHERENCY_ENFORCED : 0, dev_dom.props);
}

TEST_F(attach, attach_narrows_the_ranges_to_aperture_and_msi_window)
{
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, NULL));
	EXPECT_RANGES(self->ioas, attached_shape(variant->kind.msi));
}

TEST_F(attach, detach_of_the_last_device_frees_the_automatic_hwpt)
{
	struct dom dom;
	uint32_t hwpt;

	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, &hwpt));
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	EXPECT_ERRNO(ENOENT, dom_get(self->fd, hwpt, &dom));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, hwpt));
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
	ASSERT_EQ(0, dom_get(self->fd, self->dev.id, &dom));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom.attached);
	EXPECT_IOAS_FREE(self->ioas);
}

TEST_F(attach, attach_again_after_detach_gets_a_new_hwpt)
{
	uint32_t first, second, cookie;

	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, &first));
	cookie = dom_cookie(self->fd, first);
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, &second));
	/* A new domain; its ID may be the freed one, as 6.12 reuses IDs */
	EXPECT_NE(cookie, dom_cookie(self->fd, second));
	EXPECT_RANGES(self->ioas, attached_shape(variant->kind.msi));
}

TEST_F(attach, attach_when_attached_is_einval_and_changes_nothing)
{
	uint32_t hwpt, other, cookie;

	ASSERT_EQ(0, ioas_alloc(self->fd, &other));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, &hwpt));
	cookie = dom_cookie(self->fd, self->dev.id);

	EXPECT_ERRNO(EINVAL, mdev_attach(self->fd, self->dev.id, self->ioas,
					 NULL));
	EXPECT_ERRNO(EINVAL, mdev_attach(self->fd, self->dev.id, hwpt, NULL));
	EXPECT_ERRNO(EINVAL, mdev_attach(self->fd, self->dev.id, other, NULL));

	EXPECT_EQ(cookie, dom_cookie(self->fd, self->dev.id));
	EXPECT_EQ(cookie, dom_cookie(self->fd, hwpt));
	EXPECT_RANGES(self->ioas, attached_shape(variant->kind.msi));
	/* No HWPT was left behind on the other IOAS */
	EXPECT_RANGES(other, SHAPE_OPEN);
	EXPECT_IOAS_FREE(other);
}

TEST_F(attach, detach_when_not_attached_is_einval)
{
	EXPECT_ERRNO(EINVAL, mdev_detach(self->fd, self->dev.id));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, NULL));
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	EXPECT_ERRNO(EINVAL, mdev_detach(self->fd, self->dev.id));
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
}

TEST_F(attach, replace_when_not_attached_is_einval)
{
	struct dom dom;

	EXPECT_ERRNO(EINVAL, mdev_replace(self->fd, self->dev.id, self->ioas,
					  NULL));
	ASSERT_EQ(0, dom_get(self->fd, self->dev.id, &dom));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom.attached);
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
	EXPECT_IOAS_FREE(self->ioas);
}

TEST_F(attach, attach_to_something_that_is_no_page_table_fails)
{
	struct mdev other;

	ASSERT_EQ(0, mdev_add(self->fd, 0, &other));
	EXPECT_ERRNO(ENOENT, mdev_attach(self->fd, self->dev.id, 0, NULL));
	EXPECT_ERRNO(ENOENT, mdev_attach(self->fd, self->dev.id, NO_SUCH_ID,
					 NULL));
	EXPECT_ERRNO(EINVAL, mdev_attach(self->fd, self->dev.id,
					 self->dev.idev, NULL));
	EXPECT_ERRNO(EINVAL, mdev_attach(self->fd, self->dev.id, other.id,
					 NULL));
	/* The mock operations want a mock device, not its DEVICE object */
	EXPECT_ERRNO(ENOENT, mdev_attach(self->fd, self->dev.idev, self->ioas,
					 NULL));
	EXPECT_ERRNO(ENOENT, mdev_attach(self->fd, self->ioas, self->ioas,
					 NULL));
	EXPECT_ERRNO(ENOENT, mdev_detach(self->fd, NO_SUCH_ID));
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
}

TEST_F(attach, second_device_shares_the_automatic_hwpt)
{
	uint32_t first, second, cookie;
	struct mdev dev2;

	ASSERT_EQ(0, mdev_add(self->fd, variant->kind.flags, &dev2));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, &first));
	ASSERT_EQ(0, mdev_attach(self->fd, dev2.id, self->ioas, &second));
	EXPECT_EQ(first, second);
	cookie = dom_cookie(self->fd, first);
	EXPECT_EQ(cookie, dom_cookie(self->fd, self->dev.id));
	EXPECT_EQ(cookie, dom_cookie(self->fd, dev2.id));
	EXPECT_RANGES(self->ioas, attached_shape(variant->kind.msi));

	/* The HWPT and the narrowing last while one device is left */
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	EXPECT_EQ(cookie, dom_cookie(self->fd, first));
	EXPECT_EQ(cookie, dom_cookie(self->fd, dev2.id));
	EXPECT_RANGES(self->ioas, attached_shape(variant->kind.msi));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, first));

	ASSERT_EQ(0, mdev_detach(self->fd, dev2.id));
	EXPECT_FALSE(dom_exists(self->fd, first));
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
}

TEST_F(attach, destroying_an_attached_device_keeps_the_others)
{
	uint32_t first, second, cookie;
	struct mdev dev2;

	ASSERT_EQ(0, mdev_add(self->fd, variant->kind.flags, &dev2));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, &first));
	ASSERT_EQ(0, mdev_attach(self->fd, dev2.id, self->ioas, &second));
	ASSERT_EQ(first, second);
	cookie = dom_cookie(self->fd, first);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, BUF_SIZE,
				    IOVA_A));

	ASSERT_EQ(0, object_destroy(self->fd, self->dev.id));
	EXPECT_EQ(cookie, dom_cookie(self->fd, dev2.id));
	EXPECT_EQ(0, mock_check_map(self->fd, dev2.id, IOVA_A, BUF_SIZE,
				    self->buf, 0, NULL));
	EXPECT_RANGES(self->ioas, attached_shape(variant->kind.msi));
	ASSERT_EQ(0, object_destroy(self->fd, dev2.id));
	EXPECT_FALSE(dom_exists(self->fd, first));
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
	/* The mapping stays; with no domain left it is no longer pinned */
	EXPECT_EQ(0, check_pins(self->fd, self->buf, BUF_SIZE, 0));
}

TEST_F(attach, devices_on_different_ioas_get_different_hwpts)
{
	uint32_t other, first, second;
	struct mdev dev2;

	ASSERT_EQ(0, ioas_alloc(self->fd, &other));
	ASSERT_EQ(0, mdev_add(self->fd, variant->kind.flags, &dev2));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, &first));
	ASSERT_EQ(0, mdev_attach(self->fd, dev2.id, other, &second));
	EXPECT_NE(first, second);
	EXPECT_NE(dom_cookie(self->fd, self->dev.id),
		  dom_cookie(self->fd, dev2.id));
	EXPECT_RANGES(self->ioas, attached_shape(variant->kind.msi));
	EXPECT_RANGES(other, attached_shape(variant->kind.msi));
}

TEST_F(attach, mappings_reach_the_device_before_and_after_attach)
{
	uint32_t hwpt;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    BUF_SIZE / 2, IOVA_A));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, &hwpt));
	EXPECT_EQ(0, mock_check_map(self->fd, self->dev.id, IOVA_A,
				    BUF_SIZE / 2, self->buf, 0, NULL));
	EXPECT_EQ(0, mock_check_map(self->fd, hwpt, IOVA_A, BUF_SIZE / 2,
				    self->buf, 0, NULL));

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas,
				    self->buf + BUF_SIZE / 2, BUF_SIZE / 2,
				    IOVA_B));
	EXPECT_EQ(0, mock_check_map(self->fd, self->dev.id, IOVA_B,
				    BUF_SIZE / 2, self->buf + BUF_SIZE / 2, 0,
				    NULL));
	EXPECT_EQ(0, mock_check_unmapped(self->fd, self->dev.id, 0, IOVA_A));

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA_A, BUF_SIZE / 2,
				NULL));
	EXPECT_EQ(0, mock_check_unmapped(self->fd, self->dev.id, IOVA_A,
					 BUF_SIZE / 2));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, BUF_SIZE / 2, 0));
	EXPECT_EQ(0, check_pins(self->fd, self->buf + BUF_SIZE / 2,
				BUF_SIZE / 2, 1));
}

TEST_F(attach, device_dma_goes_through_its_domain)
{
	uint8_t *snap;

	snap = malloc(BUF_SIZE);
	ASSERT_NE(NULL, snap);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    BUF_SIZE / 2, IOVA_A));
	ASSERT_EQ(0, ioas_map_fixed_prot(self->fd, self->ioas, MAP_R,
					 self->buf + BUF_SIZE / 2, BUF_SIZE / 2,
					 IOVA_B));
	memcpy(snap, self->buf, BUF_SIZE);

	/* Not attached yet: the blocking domain faults every DMA */
	EXPECT_ERRNO(EFAULT, mock_dma_write(self->fd, self->dev.id, IOVA_A,
					    CPU_PAGE));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, NULL));

	EXPECT_EQ(0, mock_dma_write(self->fd, self->dev.id, IOVA_A,
				    BUF_SIZE / 2));
	EXPECT_EQ(0, mock_dma_write(self->fd, self->dev.id, IOVA_A + IO_PAGE,
				    1));
	/* Read-only, unmapped, and running from mapped into unmapped */
	EXPECT_ERRNO(EFAULT, mock_dma_write(self->fd, self->dev.id, IOVA_B,
					    CPU_PAGE));
	EXPECT_ERRNO(EFAULT, mock_dma_write(self->fd, self->dev.id,
					    IOVA_A + BUF_SIZE, CPU_PAGE));
	EXPECT_ERRNO(EFAULT, mock_dma_write(self->fd, self->dev.id,
					    IOVA_A + BUF_SIZE / 2 - CPU_PAGE,
					    2 * CPU_PAGE));
	EXPECT_ERRNO(EFAULT, mock_dma_write(self->fd, self->dev.id,
					    MOCK_RESV_START, CPU_PAGE));
	EXPECT_ERRNO(EINVAL, mock_dma_write(self->fd, self->dev.id, IOVA_A, 0));
	EXPECT_EQ(0, memcmp(snap, self->buf + 0, BUF_SIZE));

	/* After detach the device is blocked again */
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	EXPECT_ERRNO(EFAULT, mock_dma_write(self->fd, self->dev.id, IOVA_A,
					    CPU_PAGE));
	free(snap);
}

/*
 * A mapping inside the device's MSI window blocks the attach, whole or
 * partly overlapping; a device without the window attaches anyway.
 */
TEST_F(attach, attach_over_a_mapping_in_the_msi_window)
{
	static const uint64_t at[] = {
		MOCK_RESV_START,
		MOCK_RESV_START - CPU_PAGE,
		MOCK_RESV_LAST + 1 - CPU_PAGE,
	};
	struct dom dom;
	uint32_t hwpt;
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(at); i++) {
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
					    2 * CPU_PAGE, at[i]));
		if (!variant->kind.msi) {
			ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id,
						 self->ioas, &hwpt));
			EXPECT_EQ(0, mock_check_map(self->fd, self->dev.id,
						    at[i], 2 * CPU_PAGE,
						    self->buf, 0, NULL));
			ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
		} else {
			EXPECT_ERRNO(EADDRINUSE,
				     mdev_attach(self->fd, self->dev.id,
						 self->ioas, &hwpt));
			ASSERT_EQ(0, dom_get(self->fd, self->dev.id, &dom));
			EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom.attached);
		}
		EXPECT_RANGES(self->ioas, SHAPE_OPEN);
		ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, at[i],
					2 * CPU_PAGE, NULL));
	}
	/* Nothing holds the IOAS: no HWPT was left behind */
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 2 * CPU_PAGE, 0));
	EXPECT_IOAS_FREE(self->ioas);
}

TEST_F(attach, attach_when_allowed_ranges_cover_the_msi_window)
{
	const struct iommu_iova_range low4g = { .start = 0, .last = 0xffffffff };
	const struct iommu_iova_range below = {
		.start = 0, .last = MOCK_RESV_START - 1,
	};

	/* IOVA_RANGES shows what is not reserved, not the allowed list */
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, &low4g, 1));
	if (variant->kind.msi) {
		EXPECT_ERRNO(EADDRINUSE, mdev_attach(self->fd, self->dev.id,
						     self->ioas, NULL));
		EXPECT_RANGES(self->ioas, SHAPE_OPEN);
		ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas, &below, 1));
	}
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, NULL));
	EXPECT_RANGES(self->ioas, attached_shape(variant->kind.msi));
	/* Allowing the window while the device reserves it is refused */
	if (variant->kind.msi)
		EXPECT_ERRNO(EADDRINUSE, ioas_allow_iovas(self->fd, self->ioas,
							  &low4g, 1));
}

TEST_F(attach, msi_window_cannot_be_mapped_while_attached)
{
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, NULL));
	if (variant->kind.msi) {
		EXPECT_NE(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
					    CPU_PAGE, MOCK_RESV_START));
	} else {
		EXPECT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
					    CPU_PAGE, MOCK_RESV_START));
	}
	/* Beyond the aperture of the domain nothing can be mapped */
	EXPECT_NE(0, ioas_map_fixed(self->fd, self->ioas, self->buf, CPU_PAGE,
				    MOCK_APERTURE_LAST + 1));
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	if (variant->kind.msi)
		EXPECT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
					    CPU_PAGE, MOCK_RESV_START));
	EXPECT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, CPU_PAGE,
				    MOCK_APERTURE_LAST + 1));
}

/* Results that cannot be written back undo the operation */
TEST_F(attach, attach_whose_result_cannot_be_written_is_undone)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MOCK_DEVICE_ATTACH,
		.id = self->dev.id,
		.mock_attach.pt_id = self->ioas,
	};
	struct iommu_test_cmd *ro;
	struct dom dom;

	ro = read_only_copy(&cmd, sizeof(cmd));
	ASSERT_NE(NULL, ro);
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_TEST_CMD, ro));
	ASSERT_EQ(0, dom_get(self->fd, self->dev.id, &dom));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom.attached);
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
	EXPECT_ERRNO(EINVAL, mdev_detach(self->fd, self->dev.id));
	EXPECT_IOAS_FREE(self->ioas);
	munmap(ro, CPU_PAGE);
}

TEST_F(attach, replace_whose_result_cannot_be_written_detaches)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MOCK_DEVICE_REPLACE,
		.id = self->dev.id,
	};
	struct iommu_test_cmd *ro;
	uint32_t other, hwpt;
	struct dom dom;

	ASSERT_EQ(0, ioas_alloc(self->fd, &other));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, &hwpt));
	cmd.mock_attach.pt_id = other;
	ro = read_only_copy(&cmd, sizeof(cmd));
	ASSERT_NE(NULL, ro);
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_TEST_CMD, ro));
	/* As iommufd_test.h says: the device is left detached */
	ASSERT_EQ(0, dom_get(self->fd, self->dev.id, &dom));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom.attached);
	EXPECT_FALSE(dom_exists(self->fd, hwpt));
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
	EXPECT_RANGES(other, SHAPE_OPEN);
	EXPECT_IOAS_FREE(other);
	EXPECT_IOAS_FREE(self->ioas);
	munmap(ro, CPU_PAGE);
}

/* ---- Explicit paging HWPTs ---- */

FIXTURE(hwpt)
{
	int fd;
	uint32_t ioas;
	struct mdev dev;
	uint32_t hwpt;
	uint8_t *buf;
};

/* HWPT_ALLOC flags, a device that can use them, the properties shown */
FIXTURE_VARIANT(hwpt)
{
	uint32_t alloc_flags;
	uint32_t dev_flags;
	uint32_t props;
};

FIXTURE_VARIANT_ADD(hwpt, plain)
{
	.alloc_flags = 0,
	.dev_flags = 0,
	.props = 0,
};

FIXTURE_VARIANT_ADD(hwpt, nest_parent)
{
	.alloc_flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
	.dev_flags = 0,
	.props = MOCK_PROP_NEST_PARENT,
};

FIXTURE_VARIANT_ADD(hwpt, dirty_tracking)
{
	.alloc_flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
	.dev_flags = MOCK_DEVICE_DIRTY_TRACKING,
	.props = MOCK_PROP_DIRTY_TRACKING,
};

FIXTURE_VARIANT_ADD(hwpt, nest_parent_dirty_tracking)
{
	.alloc_flags = IOMMU_HWPT_ALLOC_NEST_PARENT |
		       IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
	.dev_flags = MOCK_DEVICE_DIRTY_TRACKING,
	.props = MOCK_PROP_NEST_PARENT | MOCK_PROP_DIRTY_TRACKING,
};

FIXTURE_SETUP(hwpt)
{
	MOCK_FILE_OPEN(self->fd, return);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mdev_add(self->fd, variant->dev_flags, &self->dev));
	self->buf = small_pages_alloc(BUF_SIZE);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(hwpt)
{
	close(self->fd);
	if (self->buf)
		munmap(self->buf, BUF_SIZE);
}

#define HWPT_ALLOC(out)                                                        \
	hwpt_alloc(self->fd, variant->alloc_flags, self->dev.idev, self->ioas, out)

TEST_F(hwpt, alloc_limits_the_ranges_before_any_attach)
{
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
	ASSERT_EQ(0, HWPT_ALLOC(&self->hwpt));
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE);
	ASSERT_EQ(0, object_destroy(self->fd, self->hwpt));
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
	EXPECT_IOAS_FREE(self->ioas);
}

TEST_F(hwpt, alloc_shows_the_requested_properties)
{
	struct dom dom;
	uint32_t second;

	ASSERT_EQ(0, HWPT_ALLOC(&self->hwpt));
	EXPECT_NE(0, self->hwpt);
	EXPECT_NE(self->ioas, self->hwpt);
	ASSERT_EQ(0, dom_get(self->fd, self->hwpt, &dom));
	EXPECT_EQ(MOCK_ATTACHED_PAGING, dom.attached);
	EXPECT_EQ(variant->props, dom.props);
	EXPECT_NE(0, dom.cookie);
	EXPECT_EQ(0, dom.parent_cookie);

	/* Each allocation is a domain of its own */
	ASSERT_EQ(0, HWPT_ALLOC(&second));
	EXPECT_NE(self->hwpt, second);
	EXPECT_NE(dom.cookie, dom_cookie(self->fd, second));
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE);
}

TEST_F(hwpt, alloc_mirrors_old_and_new_mappings)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf,
				    BUF_SIZE / 2, IOVA_A));
	ASSERT_EQ(0, HWPT_ALLOC(&self->hwpt));
	EXPECT_EQ(0, mock_check_map(self->fd, self->hwpt, IOVA_A, BUF_SIZE / 2,
				    self->buf, 0, NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas,
				    self->buf + BUF_SIZE / 2, BUF_SIZE / 2,
				    IOVA_B));
	EXPECT_EQ(0, mock_check_map(self->fd, self->hwpt, IOVA_B, BUF_SIZE / 2,
				    self->buf + BUF_SIZE / 2, 0, NULL));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA_A, BUF_SIZE / 2,
				NULL));
	EXPECT_EQ(0, mock_check_unmapped(self->fd, self->hwpt, IOVA_A,
					 BUF_SIZE / 2));
	/* One pin per page however many domains show it */
	EXPECT_EQ(0, check_pins(self->fd, self->buf + BUF_SIZE / 2,
				BUF_SIZE / 2, 1));
}

TEST_F(hwpt, device_attaches_to_it_by_id)
{
	uint32_t got;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, BUF_SIZE,
				    IOVA_A));
	ASSERT_EQ(0, HWPT_ALLOC(&self->hwpt));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->hwpt, &got));
	EXPECT_EQ(self->hwpt, got);
	EXPECT_EQ(dom_cookie(self->fd, self->hwpt),
		  dom_cookie(self->fd, self->dev.id));
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE_MSI);
	EXPECT_EQ(0, mock_check_map(self->fd, self->dev.id, IOVA_A, BUF_SIZE,
				    self->buf, 0, NULL));
	EXPECT_EQ(0, mock_dma_write(self->fd, self->dev.id, IOVA_A, BUF_SIZE));

	/* The HWPT outlives the attachment; only the MSI window goes */
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	EXPECT_TRUE(dom_exists(self->fd, self->hwpt));
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE);
}

/* A dirty-tracking HWPT takes only devices that can track dirty pages */
TEST_F(hwpt, other_devices_attach_if_capable)
{
	bool dirty = variant->alloc_flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	struct mdev plain, capable;

	ASSERT_EQ(0, mdev_add(self->fd, 0, &plain));
	ASSERT_EQ(0, mdev_add(self->fd, MOCK_DEVICE_DIRTY_TRACKING, &capable));
	ASSERT_EQ(0, HWPT_ALLOC(&self->hwpt));
	EXPECT_EQ(0, mdev_attach(self->fd, capable.id, self->hwpt, NULL));
	if (dirty) {
		EXPECT_ERRNO(EINVAL, mdev_attach(self->fd, plain.id,
						 self->hwpt, NULL));
		EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(self->fd,
							      plain.id));
	} else {
		EXPECT_EQ(0, mdev_attach(self->fd, plain.id, self->hwpt,
					 NULL));
		EXPECT_EQ(dom_cookie(self->fd, self->hwpt),
			  dom_cookie(self->fd, plain.id));
	}
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE_MSI);
}

TEST_F(hwpt, destroy_is_ebusy_while_a_device_is_attached)
{
	ASSERT_EQ(0, HWPT_ALLOC(&self->hwpt));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->hwpt, NULL));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->hwpt));
	EXPECT_EQ(dom_cookie(self->fd, self->hwpt),
		  dom_cookie(self->fd, self->dev.id));
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	EXPECT_EQ(0, object_destroy(self->fd, self->hwpt));
	EXPECT_FALSE(dom_exists(self->fd, self->hwpt));
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
	EXPECT_IOAS_FREE(self->ioas);
}

TEST_F(hwpt, ioas_is_ebusy_while_the_hwpt_exists)
{
	ASSERT_EQ(0, HWPT_ALLOC(&self->hwpt));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->ioas));
	ASSERT_EQ(0, object_destroy(self->fd, self->hwpt));
	EXPECT_IOAS_FREE(self->ioas);
}

TEST_F(hwpt, attach_to_the_ioas_does_not_pick_the_explicit_hwpt)
{
	uint32_t got;

	ASSERT_EQ(0, HWPT_ALLOC(&self->hwpt));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, &got));
	EXPECT_NE(self->hwpt, got);
	EXPECT_NE(dom_cookie(self->fd, self->hwpt),
		  dom_cookie(self->fd, self->dev.id));
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE_MSI);
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	EXPECT_FALSE(dom_exists(self->fd, got));
	EXPECT_TRUE(dom_exists(self->fd, self->hwpt));
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE);
}

TEST_F(hwpt, alloc_with_a_mapping_beyond_the_aperture_is_eaddrinuse)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, CPU_PAGE,
				    MOCK_APERTURE_LAST + 1));
	EXPECT_ERRNO(EADDRINUSE, HWPT_ALLOC(&self->hwpt));
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, MOCK_APERTURE_LAST + 1,
				CPU_PAGE, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, CPU_PAGE, 0));
	EXPECT_IOAS_FREE(self->ioas);
}

TEST_F(hwpt, alloc_whose_result_cannot_be_written_leaves_nothing)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = variant->alloc_flags,
		.dev_id = self->dev.idev,
		.pt_id = self->ioas,
	};
	void *ro;

	ro = read_only_copy(&cmd, sizeof(cmd));
	ASSERT_NE(NULL, ro);
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_HWPT_ALLOC, ro));
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
	EXPECT_IOAS_FREE(self->ioas);
	munmap(ro, CPU_PAGE);
}

TEST_F(hwpt, alloc_accepts_the_short_struct)
{
	struct iommu_hwpt_alloc cmd = {
		.size = offsetof(struct iommu_hwpt_alloc, data_type),
		.flags = variant->alloc_flags,
		.dev_id = self->dev.idev,
		.pt_id = self->ioas,
	};

	ASSERT_EQ(24, cmd.size);
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	EXPECT_NE(0, cmd.out_hwpt_id);
	EXPECT_TRUE(dom_exists(self->fd, cmd.out_hwpt_id));
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE);
}

/* ---- HWPT_ALLOC requests that must fail and change nothing ---- */

FIXTURE(hwpt_bad)
{
	int fd;
	uint32_t ioas;
	struct mdev dev;
};

FIXTURE_SETUP(hwpt_bad)
{
	MOCK_FILE_OPEN(self->fd, return);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mdev_add(self->fd, 0, &self->dev));
}

/* Whatever failed, no HWPT was left on the IOAS */
FIXTURE_TEARDOWN(hwpt_bad)
{
	struct ioas_ranges got;

	if (!ioas_ranges_get(self->fd, self->ioas, &got)) {
		EXPECT_EQ(1, got.num);
		EXPECT_EQ(1, got.align);
		EXPECT_EQ(0, object_destroy(self->fd, self->ioas));
	}
	close(self->fd);
}

TEST_F(hwpt_bad, dirty_tracking_needs_a_capable_device)
{
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc(self->fd,
					    IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
					    self->dev.idev, self->ioas, NULL));
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc(self->fd,
					    IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
					    IOMMU_HWPT_ALLOC_NEST_PARENT,
					    self->dev.idev, self->ioas, NULL));
}

TEST_F(hwpt_bad, unknown_flags_are_eopnotsupp)
{
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc(self->fd, 1U << 3, self->dev.idev,
					    self->ioas, NULL));
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc(self->fd, 1U << 31, self->dev.idev,
					    self->ioas, NULL));
}

TEST_F(hwpt_bad, reserved_members_must_be_zero)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.dev_id = self->dev.idev,
		.pt_id = self->ioas,
		.__reserved = 1,
	};

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	/* 6.12 never looks at __reserved2 */
	cmd.__reserved = 0;
	cmd.__reserved2 = 1;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	EXPECT_EQ(0, object_destroy(self->fd, cmd.out_hwpt_id));
}

TEST_F(hwpt_bad, driver_data_must_agree_with_the_data_type)
{
	struct iommu_hwpt_mock_nested data = { .iotlb = 1 };

	uint32_t id;

	/* No type: no length; 6.12 ignores the pointer then */
	EXPECT_ERRNO(EINVAL, hwpt_alloc_data(self->fd, 0, self->dev.idev,
					     self->ioas, IOMMU_HWPT_DATA_NONE,
					     NULL, sizeof(data), NULL));
	EXPECT_ERRNO(EINVAL, hwpt_alloc_data(self->fd, 0, self->dev.idev,
					     self->ioas, IOMMU_HWPT_DATA_NONE,
					     &data, sizeof(data), NULL));
	ASSERT_EQ(0, hwpt_alloc_data(self->fd, 0, self->dev.idev, self->ioas,
				     IOMMU_HWPT_DATA_NONE, &data, 0, &id));
	EXPECT_EQ(0, object_destroy(self->fd, id));
	/* A type: a length */
	EXPECT_ERRNO(EINVAL, hwpt_alloc_data(self->fd, 0, self->dev.idev,
					     self->ioas,
					     IOMMU_HWPT_DATA_SELFTEST, &data, 0,
					     NULL));
	/*
	 * The driver decides what a paging domain takes: the mock, like
	 * VT-d, takes no driver data for one (EOPNOTSUPP)
	 */
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc_data(self->fd, 0, self->dev.idev,
						 self->ioas,
						 IOMMU_HWPT_DATA_SELFTEST,
						 NULL, sizeof(data), NULL));
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc_data(self->fd, 0, self->dev.idev,
						 self->ioas,
						 IOMMU_HWPT_DATA_SELFTEST,
						 &data, sizeof(data), NULL));
}

TEST_F(hwpt_bad, dev_id_must_name_a_device)
{
	EXPECT_ERRNO(ENOENT, hwpt_alloc(self->fd, 0, 0, self->ioas, NULL));
	EXPECT_ERRNO(ENOENT, hwpt_alloc(self->fd, 0, NO_SUCH_ID, self->ioas,
					NULL));
	EXPECT_ERRNO(ENOENT, hwpt_alloc(self->fd, 0, self->ioas, self->ioas,
					NULL));
	EXPECT_ERRNO(ENOENT, hwpt_alloc(self->fd, 0, self->dev.id, self->ioas,
					NULL));
}

TEST_F(hwpt_bad, pt_id_must_name_an_ioas_or_a_paging_hwpt)
{
	struct mdev other;

	ASSERT_EQ(0, mdev_add(self->fd, 0, &other));
	/* 6.12: a pt_id that names nothing is EINVAL too */
	EXPECT_ERRNO(EINVAL, hwpt_alloc(self->fd, 0, self->dev.idev, 0, NULL));
	EXPECT_ERRNO(EINVAL, hwpt_alloc(self->fd, 0, self->dev.idev, NO_SUCH_ID,
					NULL));
	EXPECT_ERRNO(EINVAL, hwpt_alloc(self->fd, 0, self->dev.idev,
					self->dev.idev, NULL));
	EXPECT_ERRNO(EINVAL, hwpt_alloc(self->fd, 0, self->dev.idev, other.idev,
					NULL));
	EXPECT_ERRNO(EINVAL, hwpt_alloc(self->fd, 0, self->dev.idev,
					self->dev.id, NULL));
}

/*
 * No FAULT object exists in this file, so a HWPT that asks to report its
 * faults to one cannot be made; the uAPI allows EOPNOTSUPP (a flag that
 * does not apply) or ENOENT (fault_id is not a FAULT).
 */
TEST_F(hwpt_bad, fault_id_valid_without_a_fault_object_fails)
{
	uint32_t fault_ids[] = { 0, NO_SUCH_ID, self->ioas };
	struct iommu_hwpt_alloc cmd;
	unsigned int i;
	int rc;

	for (i = 0; i != ARRAY_SIZE(fault_ids); i++) {
		cmd = (struct iommu_hwpt_alloc){
			.size = sizeof(cmd),
			.flags = IOMMU_HWPT_FAULT_ID_VALID,
			.dev_id = self->dev.idev,
			.pt_id = self->ioas,
			.fault_id = fault_ids[i],
		};
		errno = 0;
		rc = ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd);
		EXPECT_EQ(-1, rc);
		EXPECT_TRUE(errno == EOPNOTSUPP || errno == ENOENT)
			TH_LOG("fault_id %u: errno %d", fault_ids[i], errno);
	}
}

/* ---- Nested HWPTs ---- */

FIXTURE(nested)
{
	int fd;
	uint32_t ioas;
	struct mdev dev;
	uint32_t parent;
	uint8_t *buf;
};

FIXTURE_SETUP(nested)
{
	MOCK_FILE_OPEN(self->fd, return);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mdev_add(self->fd, 0, &self->dev));
	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_NEST_PARENT,
				self->dev.idev, self->ioas, &self->parent));
	self->buf = small_pages_alloc(BUF_SIZE);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(nested)
{
	close(self->fd);
	if (self->buf)
		munmap(self->buf, BUF_SIZE);
}

TEST_F(nested, alloc_on_a_nest_parent_makes_a_nested_hwpt)
{
	struct dom dom;
	uint32_t nested;

	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, 0, self->dev.idev,
				       self->parent, 0x1234, &nested));
	EXPECT_NE(self->parent, nested);
	ASSERT_EQ(0, dom_get(self->fd, nested, &dom));
	EXPECT_EQ(MOCK_ATTACHED_NESTED, dom.attached);
	EXPECT_NE(0, dom.cookie);
	EXPECT_NE(dom_cookie(self->fd, self->parent), dom.cookie);
	EXPECT_EQ(dom_cookie(self->fd, self->parent), dom.parent_cookie);
	EXPECT_EQ(0x1234, dom.iotlb);
	EXPECT_EQ(0, dom.invalidations);
	/* The properties are those of the parent that translates */
	EXPECT_EQ(MOCK_PROP_NEST_PARENT, dom.props);
	/* A nested HWPT has no aperture of its own */
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE);
}

TEST_F(nested, nested_hwpts_on_one_parent_are_distinct)
{
	uint32_t first, second;
	struct dom a, b;

	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, 0, self->dev.idev,
				       self->parent, 1, &first));
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, 0, self->dev.idev,
				       self->parent, 2, &second));
	ASSERT_EQ(0, dom_get(self->fd, first, &a));
	ASSERT_EQ(0, dom_get(self->fd, second, &b));
	EXPECT_NE(a.cookie, b.cookie);
	EXPECT_EQ(a.parent_cookie, b.parent_cookie);
	EXPECT_EQ(1, a.iotlb);
	EXPECT_EQ(2, b.iotlb);
}

TEST_F(nested, driver_data_may_be_short_but_not_longer)
{
	struct {
		struct iommu_hwpt_mock_nested data;
		uint64_t tail;
	} big = { .data.iotlb = 7 };
	uint32_t nested;
	struct dom dom;

	/* Only the first member: the rest reads as zero */
	ASSERT_EQ(0, hwpt_alloc_data(self->fd, 0, self->dev.idev, self->parent,
				     IOMMU_HWPT_DATA_SELFTEST, &big.data,
				     sizeof(big.data.iotlb), &nested));
	ASSERT_EQ(0, dom_get(self->fd, nested, &dom));
	EXPECT_EQ(7, dom.iotlb);

	/*
	 * Longer than the driver's struct is refused even with a zero tail:
	 * the IOMMU core's iommu_copy_struct_from_user() takes no more than
	 * the driver knows.
	 */
	EXPECT_ERRNO(EINVAL, hwpt_alloc_data(self->fd, 0, self->dev.idev,
					     self->parent,
					     IOMMU_HWPT_DATA_SELFTEST, &big,
					     sizeof(big), NULL));
	big.tail = 1;
	EXPECT_ERRNO(EINVAL, hwpt_alloc_data(self->fd, 0, self->dev.idev,
					     self->parent,
					     IOMMU_HWPT_DATA_SELFTEST, &big,
					     sizeof(big), NULL));
	EXPECT_EQ(0, object_destroy(self->fd, nested));
	EXPECT_EQ(0, object_destroy(self->fd, self->parent));
}

TEST_F(nested, malformed_driver_data_is_refused)
{
	struct iommu_hwpt_mock_nested data = { .iotlb = 1 };
	struct iommu_hwpt_vtd_s1 vtd = {};
	void *hole;

	hole = hole_get();
	ASSERT_NE(NULL, hole);
	/* Shorter than the first member */
	EXPECT_ERRNO(EINVAL, hwpt_alloc_data(self->fd, 0, self->dev.idev,
					     self->parent,
					     IOMMU_HWPT_DATA_SELFTEST, &data,
					     sizeof(data.iotlb) - 1, NULL));
	/* Unreadable */
	EXPECT_ERRNO(EFAULT, hwpt_alloc_data(self->fd, 0, self->dev.idev,
					     self->parent,
					     IOMMU_HWPT_DATA_SELFTEST, hole,
					     sizeof(data), NULL));
	/* A type the mock driver does not handle */
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc_data(self->fd, 0, self->dev.idev,
						 self->parent,
						 IOMMU_HWPT_DATA_VTD_S1, &vtd,
						 sizeof(vtd), NULL));
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc_data(self->fd, 0, self->dev.idev,
						 self->parent, 0xbeef, &data,
						 sizeof(data), NULL));
	/* No data at all */
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc_data(self->fd, 0, self->dev.idev,
						 self->parent,
						 IOMMU_HWPT_DATA_NONE, NULL, 0,
						 NULL));
	/* A reserved member set */
	data.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc_data(self->fd, 0, self->dev.idev,
						 self->parent,
						 IOMMU_HWPT_DATA_SELFTEST,
						 &data, sizeof(data), NULL));
	munmap(hole, CPU_PAGE);

	/* None of it left a child: the parent goes */
	EXPECT_EQ(0, object_destroy(self->fd, self->parent));
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
}

TEST_F(nested, paging_flags_do_not_apply_to_a_nested_hwpt)
{
	struct iommu_hwpt_mock_nested data = { .iotlb = 1 };
	static const uint32_t flags[] = {
		IOMMU_HWPT_ALLOC_NEST_PARENT,
		IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		1U << 3,
	};
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(flags); i++)
		EXPECT_ERRNO(EOPNOTSUPP,
			     hwpt_alloc_data(self->fd, flags[i], self->dev.idev,
					     self->parent,
					     IOMMU_HWPT_DATA_SELFTEST, &data,
					     sizeof(data), NULL));
	EXPECT_EQ(0, object_destroy(self->fd, self->parent));
}

TEST_F(nested, fault_id_valid_without_a_fault_object_fails)
{
	struct iommu_hwpt_mock_nested data = { .iotlb = 1 };
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_HWPT_FAULT_ID_VALID,
		.dev_id = self->dev.idev,
		.pt_id = self->parent,
		.data_type = IOMMU_HWPT_DATA_SELFTEST,
		.data_len = sizeof(data),
		.data_uptr = (uintptr_t)&data,
		.fault_id = NO_SUCH_ID,
	};

	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	EXPECT_EQ(0, object_destroy(self->fd, self->parent));
}

TEST_F(nested, parent_must_be_a_nest_parent)
{
	uint32_t plain, automatic, nested;

	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, self->dev.idev, self->ioas,
				&plain));
	EXPECT_ERRNO(EINVAL, hwpt_alloc_nested(self->fd, 0, self->dev.idev,
					       plain, 1, NULL));

	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas,
				 &automatic));
	EXPECT_ERRNO(EINVAL, hwpt_alloc_nested(self->fd, 0, self->dev.idev,
					       automatic, 1, NULL));

	/* A nested HWPT cannot be the parent of another */
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, 0, self->dev.idev,
				       self->parent, 1, &nested));
	EXPECT_ERRNO(EINVAL, hwpt_alloc_nested(self->fd, 0, self->dev.idev,
					       nested, 1, NULL));

	/* The refused requests took no reference on the would-be parents */
	EXPECT_EQ(0, object_destroy(self->fd, plain));
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	EXPECT_FALSE(dom_exists(self->fd, automatic));
}

TEST_F(nested, device_attaches_to_a_nested_hwpt)
{
	uint32_t nested, got;
	struct dom dom;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, BUF_SIZE,
				    IOVA_A));
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, 0, self->dev.idev,
				       self->parent, 9, &nested));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, nested, &got));
	EXPECT_EQ(nested, got);

	ASSERT_EQ(0, dom_get(self->fd, self->dev.id, &dom));
	EXPECT_EQ(MOCK_ATTACHED_NESTED, dom.attached);
	EXPECT_EQ(dom_cookie(self->fd, nested), dom.cookie);
	EXPECT_EQ(dom_cookie(self->fd, self->parent), dom.parent_cookie);
	EXPECT_EQ(9, dom.iotlb);

	/* The device's MSI window is cut from the parent's IOAS */
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE_MSI);
	/* It translates through the parent */
	EXPECT_EQ(0, mock_check_map(self->fd, self->dev.id, IOVA_A, BUF_SIZE,
				    self->buf, 0, NULL));
	EXPECT_EQ(0, mock_dma_write(self->fd, self->dev.id, IOVA_A, BUF_SIZE));
	EXPECT_ERRNO(EFAULT, mock_dma_write(self->fd, self->dev.id, IOVA_B,
					    CPU_PAGE));

	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE);
	EXPECT_TRUE(dom_exists(self->fd, nested));
}

TEST_F(nested, nested_and_parent_are_busy_while_used)
{
	uint32_t nested;

	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, 0, self->dev.idev,
				       self->parent, 1, &nested));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, nested, NULL));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->parent));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, nested));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->ioas));

	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->parent));
	EXPECT_EQ(0, object_destroy(self->fd, nested));
	EXPECT_EQ(0, object_destroy(self->fd, self->parent));
	EXPECT_RANGES(self->ioas, SHAPE_OPEN);
	EXPECT_IOAS_FREE(self->ioas);
}

TEST_F(nested, another_device_can_use_the_nested_hwpt)
{
	uint32_t nested;
	struct mdev dev2;

	ASSERT_EQ(0, mdev_add(self->fd, 0, &dev2));
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, 0, self->dev.idev,
				       self->parent, 1, &nested));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, nested, NULL));
	ASSERT_EQ(0, mdev_attach(self->fd, dev2.id, nested, NULL));
	EXPECT_EQ(dom_cookie(self->fd, self->dev.id),
		  dom_cookie(self->fd, dev2.id));
	/* A device can also sit on the parent itself next to the nested one */
	ASSERT_EQ(0, mdev_detach(self->fd, dev2.id));
	ASSERT_EQ(0, mdev_attach(self->fd, dev2.id, self->parent, NULL));
	EXPECT_EQ(dom_cookie(self->fd, self->parent),
		  dom_cookie(self->fd, dev2.id));
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE_MSI);
}

/* ---- Replacing the HWPT of an attached device ---- */

FIXTURE(replace)
{
	int fd;
	uint32_t ioas_a, ioas_b;
	struct mdev dev;
	uint32_t hwpt_a;	/* the automatic HWPT the device starts on */
	uint8_t *buf;
};

FIXTURE_VARIANT(replace)
{
	uint32_t dev_flags;
};

FIXTURE_VARIANT_ADD(replace, plain)
{
	.dev_flags = 0,
};

FIXTURE_VARIANT_ADD(replace, enforce_coherency)
{
	.dev_flags = MOCK_DEVICE_ENFORCE_COHERENCY,
};

FIXTURE_VARIANT_ADD(replace, dirty_tracking)
{
	.dev_flags = MOCK_DEVICE_DIRTY_TRACKING,
};

/*
 * IOAS A maps the first half of the buffer at IOVA_A, IOAS B the second
 * half at IOVA_B; the device starts on an automatic HWPT of A.
 */
FIXTURE_SETUP(replace)
{
	MOCK_FILE_OPEN(self->fd, return);
	self->buf = small_pages_alloc(BUF_SIZE);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_a));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_b));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_a, self->buf,
				    BUF_SIZE / 2, IOVA_A));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_b,
				    self->buf + BUF_SIZE / 2, BUF_SIZE / 2,
				    IOVA_B));
	ASSERT_EQ(0, mdev_add(self->fd, variant->dev_flags, &self->dev));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas_a,
				 &self->hwpt_a));
}

FIXTURE_TEARDOWN(replace)
{
	close(self->fd);
	if (self->buf)
		munmap(self->buf, BUF_SIZE);
}

/* The device translates IOAS A's mapping and not B's, or the reverse */
static void expect_device_on(struct __test_metadata *_metadata, int fd,
			     uint32_t dev, bool on_a, const uint8_t *buf)
{
	uint64_t here = on_a ? IOVA_A : IOVA_B;
	uint64_t there = on_a ? IOVA_B : IOVA_A;

	EXPECT_EQ(0, mock_check_map(fd, dev, here, BUF_SIZE / 2,
				    on_a ? buf : buf + BUF_SIZE / 2, 0, NULL))
		TH_LOG("the device does not map IOVA 0x%llx",
		       (unsigned long long)here);
	EXPECT_EQ(0, mock_check_unmapped(fd, dev, there, BUF_SIZE / 2))
		TH_LOG("the device maps IOVA 0x%llx",
		       (unsigned long long)there);
	EXPECT_EQ(0, mock_dma_write(fd, dev, here, BUF_SIZE / 2));
	EXPECT_ERRNO(EFAULT, mock_dma_write(fd, dev, there, CPU_PAGE));
}

#define EXPECT_DEVICE_ON_A(on_a)                                               \
	expect_device_on(_metadata, self->fd, self->dev.id, on_a, self->buf)

TEST_F(replace, replace_with_what_it_is_on_is_a_noop)
{
	uint32_t cookie = dom_cookie(self->fd, self->dev.id);
	uint32_t got;

	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, self->ioas_a, &got));
	EXPECT_EQ(self->hwpt_a, got);
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, self->hwpt_a, &got));
	EXPECT_EQ(self->hwpt_a, got);
	EXPECT_EQ(cookie, dom_cookie(self->fd, self->dev.id));
	EXPECT_EQ(cookie, dom_cookie(self->fd, self->hwpt_a));
	EXPECT_RANGES(self->ioas_a, SHAPE_APERTURE_MSI);
	EXPECT_DEVICE_ON_A(true);
}

TEST_F(replace, replace_with_another_ioas_moves_the_device)
{
	uint32_t cookie = dom_cookie(self->fd, self->dev.id);
	uint32_t hwpt_b;

	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, self->ioas_b,
				  &hwpt_b));
	EXPECT_NE(self->hwpt_a, hwpt_b);
	EXPECT_NE(cookie, dom_cookie(self->fd, self->dev.id));
	EXPECT_EQ(dom_cookie(self->fd, hwpt_b),
		  dom_cookie(self->fd, self->dev.id));
	/* The automatic HWPT of A had no other user */
	EXPECT_FALSE(dom_exists(self->fd, self->hwpt_a));
	EXPECT_RANGES(self->ioas_a, SHAPE_OPEN);
	EXPECT_RANGES(self->ioas_b, SHAPE_APERTURE_MSI);
	EXPECT_DEVICE_ON_A(false);
	EXPECT_IOAS_FREE(self->ioas_a);

	/* Back again: a new automatic HWPT */
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_a));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_a, self->buf,
				    BUF_SIZE / 2, IOVA_A));
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, self->ioas_a,
				  &self->hwpt_a));
	EXPECT_FALSE(dom_exists(self->fd, hwpt_b));
	EXPECT_RANGES(self->ioas_b, SHAPE_OPEN);
	EXPECT_RANGES(self->ioas_a, SHAPE_APERTURE_MSI);
	EXPECT_DEVICE_ON_A(true);
	/* Only what the device's IOAS maps is pinned */
	EXPECT_EQ(0, check_pins(self->fd, self->buf, BUF_SIZE / 2, 1));
	EXPECT_EQ(0, check_pins(self->fd, self->buf + BUF_SIZE / 2,
				BUF_SIZE / 2, 0));
}

TEST_F(replace, replace_with_an_explicit_hwpt_of_the_same_ioas)
{
	uint32_t hwpt, got;

	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, self->dev.idev, self->ioas_a,
				&hwpt));
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, hwpt, &got));
	EXPECT_EQ(hwpt, got);
	EXPECT_EQ(dom_cookie(self->fd, hwpt),
		  dom_cookie(self->fd, self->dev.id));
	EXPECT_FALSE(dom_exists(self->fd, self->hwpt_a));
	EXPECT_RANGES(self->ioas_a, SHAPE_APERTURE_MSI);
	EXPECT_DEVICE_ON_A(true);
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, hwpt));

	/* And from the explicit HWPT to IOAS B: the explicit one stays */
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, self->ioas_b, &got));
	EXPECT_NE(hwpt, got);
	EXPECT_TRUE(dom_exists(self->fd, hwpt));
	EXPECT_RANGES(self->ioas_a, SHAPE_APERTURE);
	EXPECT_RANGES(self->ioas_b, SHAPE_APERTURE_MSI);
	EXPECT_DEVICE_ON_A(false);
	EXPECT_EQ(0, object_destroy(self->fd, hwpt));
	EXPECT_RANGES(self->ioas_a, SHAPE_OPEN);
}

TEST_F(replace, replace_through_nested_parent_and_back)
{
	uint32_t parent, nested, got;
	struct dom dom;

	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_NEST_PARENT,
				self->dev.idev, self->ioas_a, &parent));
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, 0, self->dev.idev, parent, 5,
				       &nested));

	/* Automatic HWPT -> nested */
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, nested, &got));
	EXPECT_EQ(nested, got);
	ASSERT_EQ(0, dom_get(self->fd, self->dev.id, &dom));
	EXPECT_EQ(MOCK_ATTACHED_NESTED, dom.attached);
	EXPECT_EQ(dom_cookie(self->fd, nested), dom.cookie);
	EXPECT_EQ(dom_cookie(self->fd, parent), dom.parent_cookie);
	EXPECT_FALSE(dom_exists(self->fd, self->hwpt_a));
	EXPECT_RANGES(self->ioas_a, SHAPE_APERTURE_MSI);
	EXPECT_DEVICE_ON_A(true);

	/* Nested -> its parent */
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, parent, &got));
	EXPECT_EQ(parent, got);
	ASSERT_EQ(0, dom_get(self->fd, self->dev.id, &dom));
	EXPECT_EQ(MOCK_ATTACHED_PAGING, dom.attached);
	EXPECT_EQ(dom_cookie(self->fd, parent), dom.cookie);
	EXPECT_EQ(0, object_destroy(self->fd, nested));

	/* Parent -> nested again -> IOAS B */
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, 0, self->dev.idev, parent, 6,
				       &nested));
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, nested, NULL));
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, self->ioas_b, &got));
	ASSERT_EQ(0, dom_get(self->fd, self->dev.id, &dom));
	EXPECT_EQ(MOCK_ATTACHED_PAGING, dom.attached);
	EXPECT_EQ(dom_cookie(self->fd, got), dom.cookie);
	EXPECT_RANGES(self->ioas_a, SHAPE_APERTURE);
	EXPECT_RANGES(self->ioas_b, SHAPE_APERTURE_MSI);
	EXPECT_DEVICE_ON_A(false);

	/* IOAS B -> nested on A */
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, nested, NULL));
	EXPECT_FALSE(dom_exists(self->fd, got));
	EXPECT_RANGES(self->ioas_b, SHAPE_OPEN);
	EXPECT_RANGES(self->ioas_a, SHAPE_APERTURE_MSI);
	EXPECT_DEVICE_ON_A(true);
}

TEST_F(replace, shared_automatic_hwpt_stays_with_the_other_device)
{
	struct mdev dev2;
	uint32_t got;

	ASSERT_EQ(0, mdev_add(self->fd, variant->dev_flags, &dev2));
	ASSERT_EQ(0, mdev_attach(self->fd, dev2.id, self->ioas_a, &got));
	ASSERT_EQ(self->hwpt_a, got);

	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, self->ioas_b, &got));
	EXPECT_NE(self->hwpt_a, got);
	EXPECT_TRUE(dom_exists(self->fd, self->hwpt_a));
	EXPECT_EQ(dom_cookie(self->fd, self->hwpt_a),
		  dom_cookie(self->fd, dev2.id));
	EXPECT_RANGES(self->ioas_a, SHAPE_APERTURE_MSI);
	EXPECT_RANGES(self->ioas_b, SHAPE_APERTURE_MSI);
	EXPECT_DEVICE_ON_A(false);

	/* Coming back, the device joins the other's automatic HWPT again */
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, self->ioas_a, &got));
	EXPECT_EQ(self->hwpt_a, got);
	EXPECT_RANGES(self->ioas_b, SHAPE_OPEN);
}

TEST_F(replace, replace_when_not_attached_is_einval)
{
	struct dom dom;

	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	EXPECT_ERRNO(EINVAL, mdev_replace(self->fd, self->dev.id, self->ioas_b,
					  NULL));
	EXPECT_ERRNO(EINVAL, mdev_replace(self->fd, self->dev.id, self->ioas_a,
					  NULL));
	ASSERT_EQ(0, dom_get(self->fd, self->dev.id, &dom));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom.attached);
	EXPECT_RANGES(self->ioas_a, SHAPE_OPEN);
	EXPECT_RANGES(self->ioas_b, SHAPE_OPEN);
	EXPECT_IOAS_FREE(self->ioas_b);
}

/* On any failure the device stays on hwpt_a, which stays as it was */
static void expect_unmoved(struct __test_metadata *_metadata, int fd,
			   uint32_t dev, uint32_t hwpt_a, uint32_t cookie)
{
	EXPECT_EQ(cookie, dom_cookie(fd, dev));
	EXPECT_EQ(cookie, dom_cookie(fd, hwpt_a));
}

#define EXPECT_UNMOVED(cookie)                                                 \
	do {                                                                   \
		expect_unmoved(_metadata, self->fd, self->dev.id,              \
			       self->hwpt_a, cookie);                          \
		EXPECT_RANGES(self->ioas_a, SHAPE_APERTURE_MSI);               \
		EXPECT_DEVICE_ON_A(true);                                      \
	} while (0)

TEST_F(replace, replace_into_a_mapping_in_the_msi_window_is_eaddrinuse)
{
	uint32_t cookie = dom_cookie(self->fd, self->dev.id);

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_b, self->buf, CPU_PAGE,
				    MOCK_RESV_START + CPU_PAGE));
	EXPECT_ERRNO(EADDRINUSE, mdev_replace(self->fd, self->dev.id,
					      self->ioas_b, NULL));
	EXPECT_UNMOVED(cookie);
	EXPECT_RANGES(self->ioas_b, SHAPE_OPEN);
	/* No HWPT was left on B */
	EXPECT_IOAS_FREE(self->ioas_b);
}

TEST_F(replace, replace_into_allowed_msi_window_is_eaddrinuse)
{
	const struct iommu_iova_range low4g = { .start = 0, .last = 0xffffffff };
	uint32_t cookie = dom_cookie(self->fd, self->dev.id);
	uint32_t hwpt_b;

	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_b, &low4g, 1));
	EXPECT_ERRNO(EADDRINUSE, mdev_replace(self->fd, self->dev.id,
					      self->ioas_b, NULL));
	EXPECT_UNMOVED(cookie);

	/* The same with an explicit HWPT of B as the target */
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_b, NULL, 0));
	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, self->dev.idev, self->ioas_b,
				&hwpt_b));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_b, self->buf, CPU_PAGE,
				    MOCK_RESV_START));
	EXPECT_ERRNO(EADDRINUSE, mdev_replace(self->fd, self->dev.id, hwpt_b,
					      NULL));
	EXPECT_UNMOVED(cookie);
	EXPECT_RANGES(self->ioas_b, SHAPE_APERTURE);
	EXPECT_EQ(0, object_destroy(self->fd, hwpt_b));
	EXPECT_IOAS_FREE(self->ioas_b);
}

TEST_F(replace, replace_with_no_page_table_keeps_the_device)
{
	uint32_t cookie = dom_cookie(self->fd, self->dev.id);

	EXPECT_ERRNO(ENOENT, mdev_replace(self->fd, self->dev.id, NO_SUCH_ID,
					  NULL));
	EXPECT_ERRNO(EINVAL, mdev_replace(self->fd, self->dev.id,
					  self->dev.idev, NULL));
	EXPECT_ERRNO(EINVAL, mdev_replace(self->fd, self->dev.id,
					  self->dev.id, NULL));
	EXPECT_UNMOVED(cookie);
}

/*
 * A HWPT tracking dirty pages takes only devices that can do that too: a
 * dirty-tracking device moves onto it, any other device stays where it is.
 */
TEST_F(replace, replace_with_a_hwpt_the_device_cannot_use)
{
	uint32_t cookie = dom_cookie(self->fd, self->dev.id);
	bool dirty = variant->dev_flags & MOCK_DEVICE_DIRTY_TRACKING;
	struct mdev owner;
	uint32_t hwpt_b;

	ASSERT_EQ(0, mdev_add(self->fd, MOCK_DEVICE_DIRTY_TRACKING, &owner));
	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				owner.idev, self->ioas_b, &hwpt_b));
	if (dirty) {
		ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, hwpt_b,
					  NULL));
		EXPECT_EQ(dom_cookie(self->fd, hwpt_b),
			  dom_cookie(self->fd, self->dev.id));
		EXPECT_FALSE(dom_exists(self->fd, self->hwpt_a));
		EXPECT_RANGES(self->ioas_b, SHAPE_APERTURE_MSI);
		EXPECT_DEVICE_ON_A(false);
	} else {
		EXPECT_ERRNO(EINVAL, mdev_replace(self->fd, self->dev.id,
						  hwpt_b, NULL));
		EXPECT_UNMOVED(cookie);
		EXPECT_RANGES(self->ioas_b, SHAPE_APERTURE);
	}
}

/* ---- Cache coherency: who may share a domain ---- */

FIXTURE(coherency)
{
	int fd;
	uint32_t ioas;
	struct mdev plain;	/* no-snoop DMA cannot be blocked */
	struct mdev strict;	/* MOCK_DEVICE_ENFORCE_COHERENCY */
	struct mdev strict2;
	uint8_t *buf;
};

FIXTURE_SETUP(coherency)
{
	MOCK_FILE_OPEN(self->fd, return);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mdev_add(self->fd, 0, &self->plain));
	ASSERT_EQ(0, mdev_add(self->fd, MOCK_DEVICE_ENFORCE_COHERENCY,
			      &self->strict));
	ASSERT_EQ(0, mdev_add(self->fd, MOCK_DEVICE_ENFORCE_COHERENCY,
			      &self->strict2));
	self->buf = small_pages_alloc(BUF_SIZE);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(coherency)
{
	close(self->fd);
	if (self->buf)
		munmap(self->buf, BUF_SIZE);
}

static bool enforcing(int fd, uint32_t id)
{
	struct dom dom;

	if (dom_get(fd, id, &dom))
		return false;
	return dom.props & MOCK_PROP_COHERENCY_ENFORCED;
}

TEST_F(coherency, enforcing_devices_share_an_enforcing_automatic_hwpt)
{
	uint32_t first, second;

	ASSERT_EQ(0, mdev_attach(self->fd, self->strict.id, self->ioas,
				 &first));
	EXPECT_TRUE(enforcing(self->fd, first));
	ASSERT_EQ(0, mdev_attach(self->fd, self->strict2.id, self->ioas,
				 &second));
	EXPECT_EQ(first, second);
}

TEST_F(coherency, plain_device_does_not_join_an_enforcing_hwpt)
{
	uint32_t strict_hwpt, plain_hwpt;

	ASSERT_EQ(0, mdev_attach(self->fd, self->strict.id, self->ioas,
				 &strict_hwpt));
	ASSERT_EQ(0, mdev_attach(self->fd, self->plain.id, self->ioas,
				 &plain_hwpt));
	EXPECT_NE(strict_hwpt, plain_hwpt);
	EXPECT_NE(dom_cookie(self->fd, self->strict.id),
		  dom_cookie(self->fd, self->plain.id));
	EXPECT_TRUE(enforcing(self->fd, strict_hwpt));
	EXPECT_FALSE(enforcing(self->fd, plain_hwpt));
	/* Both mirror the IOAS */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, BUF_SIZE,
				    IOVA_A));
	EXPECT_EQ(0, mock_check_map(self->fd, self->strict.id, IOVA_A, BUF_SIZE,
				    self->buf, 0, NULL));
	EXPECT_EQ(0, mock_check_map(self->fd, self->plain.id, IOVA_A, BUF_SIZE,
				    self->buf, 0, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, BUF_SIZE, 1));
}

TEST_F(coherency, enforcing_device_does_not_join_a_plain_users_hwpt)
{
	uint32_t strict_hwpt, plain_hwpt;

	ASSERT_EQ(0, mdev_attach(self->fd, self->plain.id, self->ioas,
				 &plain_hwpt));
	ASSERT_EQ(0, mdev_attach(self->fd, self->strict.id, self->ioas,
				 &strict_hwpt));
	EXPECT_NE(strict_hwpt, plain_hwpt);
	EXPECT_FALSE(enforcing(self->fd, plain_hwpt));
	EXPECT_TRUE(enforcing(self->fd, strict_hwpt));
	/* The third joins the one that fits it */
	ASSERT_EQ(0, mdev_attach(self->fd, self->strict2.id, self->ioas,
				 &strict_hwpt));
	EXPECT_EQ(dom_cookie(self->fd, self->strict.id),
		  dom_cookie(self->fd, self->strict2.id));
}

TEST_F(coherency, unused_explicit_hwpt_starts_enforcing_for_a_strict_device)
{
	uint32_t hwpt;

	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, self->plain.idev, self->ioas,
				&hwpt));
	EXPECT_FALSE(enforcing(self->fd, hwpt));
	ASSERT_EQ(0, mdev_attach(self->fd, self->strict.id, hwpt, NULL));
	EXPECT_TRUE(enforcing(self->fd, hwpt));
	/* From now on it refuses devices that cannot block no-snoop */
	EXPECT_ERRNO(EINVAL, mdev_attach(self->fd, self->plain.id, hwpt,
					 NULL));
	ASSERT_EQ(0, mdev_detach(self->fd, self->strict.id));
	EXPECT_ERRNO(EINVAL, mdev_attach(self->fd, self->plain.id, hwpt,
					 NULL));
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE);
}

TEST_F(coherency, explicit_hwpt_in_use_by_a_plain_device_refuses_strict)
{
	uint32_t hwpt;

	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, self->plain.idev, self->ioas,
				&hwpt));
	ASSERT_EQ(0, mdev_attach(self->fd, self->plain.id, hwpt, NULL));
	EXPECT_ERRNO(EINVAL, mdev_attach(self->fd, self->strict.id, hwpt,
					 NULL));
	EXPECT_FALSE(enforcing(self->fd, hwpt));
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE_MSI);
	/* The strict device can still get a domain of its own */
	EXPECT_EQ(0, mdev_attach(self->fd, self->strict.id, self->ioas, NULL));
	EXPECT_NE(dom_cookie(self->fd, hwpt),
		  dom_cookie(self->fd, self->strict.id));
}

TEST_F(coherency, hwpt_allocated_for_a_strict_device_enforces_at_once)
{
	uint32_t hwpt;

	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, self->strict.idev, self->ioas,
				&hwpt));
	EXPECT_TRUE(enforcing(self->fd, hwpt));
	EXPECT_ERRNO(EINVAL, mdev_attach(self->fd, self->plain.id, hwpt,
					 NULL));
	EXPECT_EQ(0, mdev_attach(self->fd, self->strict2.id, hwpt, NULL));
}

TEST_F(coherency, strict_device_replaces_only_onto_enforcing_domains)
{
	uint32_t plain_hwpt, strict_hwpt, got;

	ASSERT_EQ(0, mdev_attach(self->fd, self->plain.id, self->ioas,
				 &plain_hwpt));
	ASSERT_EQ(0, mdev_attach(self->fd, self->strict.id, self->ioas,
				 &strict_hwpt));
	EXPECT_ERRNO(EINVAL, mdev_replace(self->fd, self->strict.id,
					  plain_hwpt, NULL));
	EXPECT_EQ(dom_cookie(self->fd, strict_hwpt),
		  dom_cookie(self->fd, self->strict.id));
	/* The plain device may not move onto the strict one's either */
	EXPECT_ERRNO(EINVAL, mdev_replace(self->fd, self->plain.id,
					  strict_hwpt, NULL));
	EXPECT_EQ(dom_cookie(self->fd, plain_hwpt),
		  dom_cookie(self->fd, self->plain.id));
	/* Replacing with the IOAS keeps each on the HWPT that suits it */
	ASSERT_EQ(0, mdev_replace(self->fd, self->strict.id, self->ioas,
				  &got));
	EXPECT_EQ(strict_hwpt, got);
	ASSERT_EQ(0, mdev_replace(self->fd, self->plain.id, self->ioas, &got));
	EXPECT_EQ(plain_hwpt, got);
}

/*
 * An attach that fails leaves the HWPT as it found it; in particular a
 * HWPT nobody uses does not start enforcing coherency on behalf of a
 * strict device that was then refused.
 */
TEST_F(coherency, failed_attach_does_not_make_the_hwpt_enforce)
{
	uint32_t hwpt;

	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, self->plain.idev, self->ioas,
				&hwpt));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, CPU_PAGE,
				    MOCK_RESV_START));
	EXPECT_ERRNO(EADDRINUSE, mdev_attach(self->fd, self->strict.id, hwpt,
					     NULL));
	EXPECT_FALSE(enforcing(self->fd, hwpt));
	EXPECT_RANGES(self->ioas, SHAPE_APERTURE);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, MOCK_RESV_START, CPU_PAGE,
				NULL));
	EXPECT_EQ(0, mdev_attach(self->fd, self->plain.id, hwpt, NULL));
}

/* ---- IOMMU_GET_HW_INFO ---- */

FIXTURE(hw_info)
{
	int fd;
	struct mdev dev;
};

FIXTURE_VARIANT(hw_info)
{
	uint32_t dev_flags;
};

FIXTURE_VARIANT_ADD(hw_info, plain)
{
	.dev_flags = 0,
};

FIXTURE_VARIANT_ADD(hw_info, enforce_coherency)
{
	.dev_flags = MOCK_DEVICE_ENFORCE_COHERENCY,
};

FIXTURE_VARIANT_ADD(hw_info, dirty_tracking)
{
	.dev_flags = MOCK_DEVICE_DIRTY_TRACKING,
};

FIXTURE_VARIANT_ADD(hw_info, every_flag)
{
	.dev_flags = MOCK_DEVICE_ENFORCE_COHERENCY |
		     MOCK_DEVICE_DIRTY_TRACKING | MOCK_DEVICE_NO_RESV_REGION,
};

FIXTURE_SETUP(hw_info)
{
	MOCK_FILE_OPEN(self->fd, return);
	ASSERT_EQ(0, mdev_add(self->fd, variant->dev_flags, &self->dev));
}

FIXTURE_TEARDOWN(hw_info)
{
	close(self->fd);
}

#define HW_INFO_LEN ((uint32_t)sizeof(struct iommu_hw_info_mock))

static uint64_t caps_of(uint32_t dev_flags)
{
	return dev_flags & MOCK_DEVICE_DIRTY_TRACKING ?
	       IOMMU_HW_CAP_DIRTY_TRACKING : 0;
}

TEST_F(hw_info, reports_the_mock_iommu_data)
{
	struct iommu_hw_info_mock data;
	struct iommu_hw_info info;

	memset(&data, 0xff, sizeof(data));
	ASSERT_EQ(0, hw_info(self->fd, self->dev.idev, &data, sizeof(data),
			     &info));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, info.out_data_type);
	EXPECT_EQ(HW_INFO_LEN, info.data_len);
	EXPECT_EQ(caps_of(variant->dev_flags), info.out_capabilities);
	EXPECT_EQ(0, info.out_max_pasid_log2);
	EXPECT_EQ(variant->dev_flags, data.dev_flags);
	EXPECT_EQ(MOCK_HW_INFO_SIGNATURE, data.signature);
	EXPECT_EQ(MOCK_APERTURE_LAST, data.aperture_last);
}

TEST_F(hw_info, short_buffer_gets_the_start_of_the_data)
{
	uint8_t buf[HW_INFO_LEN + 8];
	struct iommu_hw_info info;
	uint32_t len, i;

	for (len = 1; len < HW_INFO_LEN; len++) {
		memset(buf, 0xee, sizeof(buf));
		ASSERT_EQ(0, hw_info(self->fd, self->dev.idev, buf, len,
				     &info));
		/* The driver's size comes back: the caller sees the cut */
		EXPECT_EQ(HW_INFO_LEN, info.data_len);
		EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, info.out_data_type);
		EXPECT_EQ(0, memcmp(buf, &variant->dev_flags,
				    len < 4 ? len : 4));
		for (i = len; i != sizeof(buf); i++)
			EXPECT_EQ(0xee, buf[i])
				TH_LOG("len %u: byte %u written", len, i);
	}
}

TEST_F(hw_info, longer_buffer_gets_its_tail_zeroed)
{
	uint8_t buf[HW_INFO_LEN + 64 + 8];
	struct iommu_hw_info_mock data;
	struct iommu_hw_info info;
	uint32_t i;

	memset(buf, 0xee, sizeof(buf));
	ASSERT_EQ(0, hw_info(self->fd, self->dev.idev, buf, HW_INFO_LEN + 64,
			     &info));
	EXPECT_EQ(HW_INFO_LEN, info.data_len);
	memcpy(&data, buf, sizeof(data));
	EXPECT_EQ(MOCK_HW_INFO_SIGNATURE, data.signature);
	EXPECT_EQ(variant->dev_flags, data.dev_flags);
	for (i = HW_INFO_LEN; i != HW_INFO_LEN + 64; i++)
		EXPECT_EQ(0, buf[i]) TH_LOG("byte %u not zeroed", i);
	/* Not a byte past the buffer the caller named */
	for (; i != sizeof(buf); i++)
		EXPECT_EQ(0xee, buf[i]) TH_LOG("byte %u written", i);
}

TEST_F(hw_info, zero_length_only_reports_the_size)
{
	struct iommu_hw_info info;
	uint8_t canary = 0xee;

	ASSERT_EQ(0, hw_info(self->fd, self->dev.idev, NULL, 0, &info));
	EXPECT_EQ(HW_INFO_LEN, info.data_len);
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, info.out_data_type);
	EXPECT_EQ(caps_of(variant->dev_flags), info.out_capabilities);

	ASSERT_EQ(0, hw_info(self->fd, self->dev.idev, &canary, 0, &info));
	EXPECT_EQ(0xee, canary);
	EXPECT_EQ(HW_INFO_LEN, info.data_len);
}

TEST_F(hw_info, flags_and_reserved_must_be_zero)
{
	struct iommu_hw_info info;
	unsigned int i;

	info = (struct iommu_hw_info){
		.size = sizeof(info),
		.flags = 1,
		.dev_id = self->dev.idev,
	};
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_GET_HW_INFO, &info));
	for (i = 0; i != sizeof(info.__reserved); i++) {
		info = (struct iommu_hw_info){
			.size = sizeof(info),
			.dev_id = self->dev.idev,
		};
		info.__reserved[i] = 1;
		EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_GET_HW_INFO,
					       &info));
	}
}

TEST_F(hw_info, dev_id_must_name_a_device)
{
	struct iommu_hw_info info;
	uint32_t ioas;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	EXPECT_ERRNO(ENOENT, hw_info(self->fd, 0, NULL, 0, &info));
	EXPECT_ERRNO(ENOENT, hw_info(self->fd, NO_SUCH_ID, NULL, 0, &info));
	EXPECT_ERRNO(ENOENT, hw_info(self->fd, ioas, NULL, 0, &info));
	EXPECT_ERRNO(ENOENT, hw_info(self->fd, self->dev.id, NULL, 0, &info));
}

TEST_F(hw_info, unwritable_buffer_is_efault)
{
	struct iommu_hw_info info;
	void *hole, *ro;

	hole = hole_get();
	ASSERT_NE(NULL, hole);
	EXPECT_ERRNO(EFAULT, hw_info(self->fd, self->dev.idev, hole,
				     HW_INFO_LEN, &info));
	/* Also when only the zeroed tail would fall into the hole */
	EXPECT_ERRNO(EFAULT, hw_info(self->fd, self->dev.idev,
				     (uint8_t *)hole - HW_INFO_LEN,
				     2 * HW_INFO_LEN, &info));
	munmap(hole, CPU_PAGE);

	/* And when the results cannot be written back */
	info = (struct iommu_hw_info){
		.size = sizeof(info),
		.dev_id = self->dev.idev,
	};
	ro = read_only_copy(&info, sizeof(info));
	ASSERT_NE(NULL, ro);
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_GET_HW_INFO, ro));
	munmap(ro, CPU_PAGE);
}

TEST_F(hw_info, short_struct_leaves_the_capabilities_unwritten)
{
	struct iommu_hw_info info = {
		.size = offsetof(struct iommu_hw_info, out_capabilities),
		.dev_id = self->dev.idev,
		.out_capabilities = 0xeeee,
	};

	ASSERT_EQ(32, info.size);
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_GET_HW_INFO, &info));
	EXPECT_EQ(HW_INFO_LEN, info.data_len);
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, info.out_data_type);
	EXPECT_EQ(0xeeee, info.out_capabilities);
}

TEST_F(hw_info, works_whatever_the_device_is_attached_to)
{
	struct iommu_hw_info_mock data;
	struct iommu_hw_info info;
	uint32_t ioas;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, ioas, NULL));
	ASSERT_EQ(0, hw_info(self->fd, self->dev.idev, &data, sizeof(data),
			     &info));
	EXPECT_EQ(MOCK_HW_INFO_SIGNATURE, data.signature);
	EXPECT_EQ(caps_of(variant->dev_flags), info.out_capabilities);
}

/* ---- Drivers that differ from the common case ---- */

FIXTURE(driver_quirks)
{
	int fd;
	uint32_t ioas;
	uint8_t *buf;
};

FIXTURE_SETUP(driver_quirks)
{
	MOCK_FILE_OPEN(self->fd, return);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	self->buf = small_pages_alloc(BUF_SIZE);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(driver_quirks)
{
	close(self->fd);
	if (self->buf)
		munmap(self->buf, BUF_SIZE);
}

/*
 * A driver that learns a domain's aperture and page sizes only from the
 * first device attached: an automatic attach must attach before it fills.
 */
TEST_F(driver_quirks, domain_finished_at_attach_is_attached_then_filled)
{
	struct ioas_ranges got;
	struct mdev dev;
	uint32_t hwpt;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->buf, BUF_SIZE,
				    IOVA_A));
	ASSERT_EQ(0, mdev_add(self->fd, MOCK_DEVICE_FINALIZE_AT_ATTACH, &dev));
	/* Alone, the domain cannot mirror an IOAS */
	EXPECT_ERRNO(EINVAL, hwpt_alloc(self->fd, 0, dev.idev, self->ioas,
					&hwpt));

	ASSERT_EQ(0, mdev_attach(self->fd, dev.id, self->ioas, &hwpt));
	EXPECT_EQ(0, mock_check_map(self->fd, dev.id, IOVA_A, BUF_SIZE,
				    self->buf, MOCK_PROT_READ |
				    MOCK_PROT_WRITE, NULL));
	ASSERT_EQ(0, ioas_ranges_get(self->fd, self->ioas, &got));
	EXPECT_EQ(IO_PAGE, got.align);
	EXPECT_EQ(MOCK_APERTURE_LAST, got.range[got.num - 1].last);
	ASSERT_EQ(0, mdev_detach(self->fd, dev.id));
	EXPECT_EQ(0, object_destroy(self->fd, self->ioas));
}

/*
 * A nested HWPT keeps the coherency its parent was allocated with: a
 * device that could enforce it does not change the parent under the
 * devices that use the parent directly.
 */
TEST_F(driver_quirks, nested_attach_leaves_the_parent_coherency_alone)
{
	uint32_t parent, nested;
	struct mdev plain, cc;
	struct dom dom;

	ASSERT_EQ(0, mdev_add(self->fd, 0, &plain));
	ASSERT_EQ(0, mdev_add(self->fd, MOCK_DEVICE_ENFORCE_COHERENCY, &cc));
	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_NEST_PARENT,
				plain.idev, self->ioas, &parent));
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, 0, cc.idev, parent, 1,
				       &nested));

	ASSERT_EQ(0, mdev_attach(self->fd, cc.id, nested, NULL));
	ASSERT_EQ(0, dom_get(self->fd, parent, &dom));
	EXPECT_EQ(0, dom.props & MOCK_PROP_COHERENCY_ENFORCED);
	EXPECT_EQ(0, mdev_attach(self->fd, plain.id, parent, NULL));
}

/* ---- Software-managed MSI windows (IOMMU_RESV_SW_MSI, as on ARM) ---- */

FIXTURE(sw_msi)
{
	int fd;
	uint32_t ioas;
	struct mdev dev;
};

FIXTURE_SETUP(sw_msi)
{
	MOCK_FILE_OPEN(self->fd, return);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mdev_add(self->fd, MOCK_DEVICE_SW_MSI, &self->dev));
}

FIXTURE_TEARDOWN(sw_msi)
{
	close(self->fd);
}

static bool has_msi_cookie(int fd, uint32_t id)
{
	struct dom dom;

	return !dom_get(fd, id, &dom) && (dom.props & MOCK_PROP_MSI_COOKIE);
}

TEST_F(sw_msi, attach_reserves_the_window_and_prepares_the_domain)
{
	struct ioas_ranges got;
	uint32_t hwpt;

	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, &hwpt));
	EXPECT_TRUE(has_msi_cookie(self->fd, self->dev.id));
	EXPECT_TRUE(has_msi_cookie(self->fd, hwpt));

	ASSERT_EQ(0, ioas_ranges_get(self->fd, self->ioas, &got));
	ASSERT_EQ(2, got.num);
	EXPECT_EQ(0, got.range[0].start);
	EXPECT_EQ(MOCK_SW_MSI_START - 1, got.range[0].last);
	EXPECT_EQ(MOCK_SW_MSI_LAST + 1, got.range[1].start);
	EXPECT_EQ(MOCK_APERTURE_LAST, got.range[1].last);
}

TEST_F(sw_msi, explicit_hwpt_gets_the_cookie_when_the_device_arrives)
{
	uint32_t hwpt, plain_hwpt;
	struct mdev plain;

	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, self->dev.idev, self->ioas,
				&hwpt));
	EXPECT_FALSE(has_msi_cookie(self->fd, hwpt));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->ioas, NULL));
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, hwpt, NULL));
	EXPECT_TRUE(has_msi_cookie(self->fd, hwpt));

	/* A device whose IOMMU maps MSIs itself needs none */
	ASSERT_EQ(0, mdev_add(self->fd, 0, &plain));
	ASSERT_EQ(0, mdev_attach(self->fd, plain.id, self->ioas, &plain_hwpt));
	EXPECT_NE(hwpt, plain_hwpt);
	EXPECT_FALSE(has_msi_cookie(self->fd, plain_hwpt));
}

TEST_F(sw_msi, nested_attach_prepares_the_parent)
{
	uint32_t parent, nested;

	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_NEST_PARENT,
				self->dev.idev, self->ioas, &parent));
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, 0, self->dev.idev, parent, 1,
				       &nested));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, nested, NULL));
	EXPECT_TRUE(has_msi_cookie(self->fd, parent));
	/* Detach and attach again: the cookie is the domain's for good */
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, parent, NULL));
	EXPECT_TRUE(has_msi_cookie(self->fd, parent));
}

/* ---- Attach, detach and destroy racing on one IOAS ---- */

/*
 * Several threads each move a device of their own between the IOAS (its
 * automatic HWPT), the automatic HWPT another thread last used (named by
 * ID, so possibly on its way out with its last device) and detached, while
 * one thread maps and unmaps and another tries IOMMU_DESTROY on the
 * automatic HWPTs and the IOAS. Whatever the interleaving, every call has
 * a short list of allowed results, no automatic HWPT can be destroyed by
 * userspace, and once every device is detached no HWPT is left to hold
 * the IOAS. On a debug kernel lockdep and KASAN watch the same paths.
 */
#define RACE_DEVICES	4
#define RACE_SECONDS	3

struct race {
	int fd;
	uint32_t ioas;
	/* The automatic HWPT each device used last, maybe gone since */
	uint32_t last_hwpt[RACE_DEVICES];
	bool stop;
	uint8_t *buf;
};

struct race_worker {
	struct race *race;
	unsigned int index;	/* of the device, for a device worker */
	uint32_t dev;
	unsigned int seed;
	unsigned long ops;
	/* The first call that answered what it must not, if any */
	const char *bad_op;
	int bad_rc;
};

static bool race_stopped(struct race *race)
{
	return __atomic_load_n(&race->stop, __ATOMIC_RELAXED);
}

/* Records the first unexpected result; returns false if there is one */
static bool race_check(struct race_worker *w, const char *op, int rc,
		       bool ok)
{
	if (!ok && !w->bad_op) {
		w->bad_op = op;
		w->bad_rc = rc ? errno : 0;
	}
	return ok;
}

static int race_errno(int rc)
{
	return rc ? errno : 0;
}

/* The HWPT some device used last; 0 if none has yet */
static uint32_t race_some_hwpt(struct race_worker *w)
{
	unsigned int i = rand_r(&w->seed) % RACE_DEVICES;

	return __atomic_load_n(&w->race->last_hwpt[i], __ATOMIC_RELAXED);
}

static void *race_device(void *arg)
{
	struct race_worker *w = arg;
	struct race *race = w->race;
	uint32_t hwpt = 0, other;
	int rc;

	while (!race_stopped(race) && !w->bad_op) {
		w->ops++;
		rc = race_errno(mdev_attach(race->fd, w->dev, race->ioas,
					    &hwpt));
		if (!race_check(w, "attach to the IOAS", rc, !rc))
			break;
		__atomic_store_n(&race->last_hwpt[w->index], hwpt,
				 __ATOMIC_RELAXED);
		/* Held by this device: userspace cannot take it away */
		rc = race_errno(object_destroy(race->fd, hwpt));
		race_check(w, "destroy of the HWPT in use", rc, rc == EBUSY);

		switch (rand_r(&w->seed) % 3) {
		case 0:
			/*
			 * The HWPT another device used may be on its way out
			 * or gone (ENOENT), its ID taken by a device (EINVAL)
			 */
			other = race_some_hwpt(w);
			rc = race_errno(mdev_replace(race->fd, w->dev, other,
						     NULL));
			race_check(w, "replace by HWPT ID", rc,
				   !rc || rc == ENOENT || rc == EINVAL);
			break;
		case 1:
			rc = race_errno(mdev_replace(race->fd, w->dev,
						     race->ioas, NULL));
			race_check(w, "replace with the IOAS", rc, !rc);
			break;
		default:
			break;
		}
		rc = race_errno(object_destroy(race->fd, race->ioas));
		race_check(w, "destroy of the IOAS in use", rc, rc == EBUSY);
		rc = race_errno(mdev_detach(race->fd, w->dev));
		race_check(w, "detach", rc, !rc);
	}
	return NULL;
}

/* Destroys what it can: nothing, since every HWPT is in use or gone */
static void *race_destroyer(void *arg)
{
	struct race_worker *w = arg;
	struct race *race = w->race;
	uint32_t hwpt;
	int rc;

	while (!race_stopped(race) && !w->bad_op) {
		w->ops++;
		hwpt = race_some_hwpt(w);
		if (!hwpt)
			continue;
		rc = race_errno(object_destroy(race->fd, hwpt));
		race_check(w, "destroy of an automatic HWPT", rc,
			   rc == EBUSY || rc == ENOENT);
	}
	return NULL;
}

/* Maps and unmaps while domains come and go: each must fill or follow */
static void *race_mapper(void *arg)
{
	struct race_worker *w = arg;
	struct race *race = w->race;
	int rc;

	while (!race_stopped(race) && !w->bad_op) {
		w->ops++;
		rc = race_errno(ioas_map_fixed(race->fd, race->ioas, race->buf,
					       BUF_SIZE, IOVA_A));
		if (!race_check(w, "map", rc, !rc))
			break;
		rc = race_errno(ioas_unmap(race->fd, race->ioas, IOVA_A,
					   BUF_SIZE, NULL));
		race_check(w, "unmap", rc, !rc);
	}
	return NULL;
}

FIXTURE(attach_race)
{
	int fd;
	uint32_t ioas;
	uint32_t keeper;	/* an explicit HWPT: the IOAS is never free */
	struct mdev devs[RACE_DEVICES];
	uint8_t *buf;
};

FIXTURE_SETUP(attach_race)
{
	unsigned int i;

	SKIP_IF_UPSTREAM_MOCK(return);

	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	for (i = 0; i != RACE_DEVICES; i++)
		ASSERT_EQ(0, mdev_add(self->fd, 0, &self->devs[i]));
	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, self->devs[0].idev, self->ioas,
				&self->keeper));
	self->buf = small_pages_alloc(BUF_SIZE);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(attach_race)
{
	close(self->fd);
	if (self->buf)
		munmap(self->buf, BUF_SIZE);
}

TEST_F(attach_race, attach_detach_and_destroy_race_on_one_ioas)
{
	struct race race = {
		.fd = self->fd,
		.ioas = self->ioas,
		.buf = self->buf,
	};
	struct race_worker w[RACE_DEVICES + 2] = {};
	pthread_t t[RACE_DEVICES + 2];
	void *(*fn)(void *arg);
	unsigned int i;

	for (i = 0; i != RACE_DEVICES + 2; i++) {
		w[i].race = &race;
		w[i].index = i;
		w[i].seed = i + 1;
		if (i < RACE_DEVICES) {
			w[i].dev = self->devs[i].id;
			fn = race_device;
		} else {
			fn = i == RACE_DEVICES ? race_destroyer : race_mapper;
		}
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fn, &w[i]));
	}
	sleep(RACE_SECONDS);
	__atomic_store_n(&race.stop, true, __ATOMIC_RELAXED);
	for (i = 0; i != RACE_DEVICES + 2; i++)
		pthread_join(t[i], NULL);

	for (i = 0; i != RACE_DEVICES + 2; i++) {
		ksft_print_msg("attach_race worker %u: %lu rounds\n", i,
			       w[i].ops);
		EXPECT_EQ(NULL, w[i].bad_op)
			TH_LOG("worker %u after %lu calls: %s answered %s",
			       i, w[i].ops, w[i].bad_op,
			       w[i].bad_rc ? strerror(w[i].bad_rc) : "0");
		EXPECT_LT(0, w[i].ops);
	}
	/* Every device is detached (a failed worker may have left one) */
	for (i = 0; i != RACE_DEVICES; i++)
		mdev_detach(self->fd, self->devs[i].id);
	/* No automatic HWPT outlived its devices to hold the IOAS */
	for (i = 0; i != RACE_DEVICES; i++)
		if (race.last_hwpt[i])
			EXPECT_FALSE(dom_exists(self->fd, race.last_hwpt[i]));
	EXPECT_EQ(0, object_destroy(self->fd, self->keeper));
	EXPECT_IOAS_FREE(self->ioas);
}

TEST_HARNESS_MAIN
