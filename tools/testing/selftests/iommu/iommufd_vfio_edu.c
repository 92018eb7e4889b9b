// SPDX-License-Identifier: GPL-2.0-only
/*
 * Real DMA through /dev/iommu: QEMU's edu PCI device, handed to vfio-pci
 * and used through its VFIO cdev, copies memory through the IOVAs this
 * test maps, while an Intel VT-d IOMMU (QEMU's model) translates.
 *
 * What is shown: binding a VFIO device to an iommufd, attaching it to an
 * IOAS (the kernel picks a HWPT) or to an explicit HWPT, replacing one by
 * the other, detaching, unbinding by close and binding again, the IOVA
 * ranges an attach leaves, the hardware information of the IOMMU, and that
 * the device reaches exactly what is mapped with the permissions it was
 * mapped with: a write to an unmapped or read-only IOVA faults in the
 * IOMMU (the kernel logs a DMAR fault on its console) and leaves memory
 * alone.
 *
 * Every test skips if there is no edu device or no vfio-pci driver. The
 * device only drives 28 address bits, so every IOVA here is below 2^28.
 * Each DMA prints its duration as a TAP comment; QEMU runs edu transfers
 * from a 100 ms timer, so that is what they take.
 */
#include <assert.h>
#include <sys/wait.h>

#include "../../../iommufd/edu.h"
#include "iommufd_selftest.h"

#define DMA_LEN		2048		/* shorter than EDU_BUF_SIZE */

/* Where the fixture maps its buffers; all below EDU_DMA_LIMIT */
#define SRC_IOVA	0x100000ULL
#define DST_IOVA	0x200000ULL
#define RO_IOVA		0x300000ULL
static_assert(RO_IOVA + CPU_PAGE <= EDU_DMA_LIMIT, "IOVAs the device can reach");
static_assert(DMA_LEN < EDU_BUF_SIZE, "QEMU 7.2 aborts on a full buffer");

/* What VT-d leaves of the IOVA space: a 39-bit aperture minus MSIs */
#define VTD_MSI_FIRST	0xfee00000ULL
#define VTD_MSI_LAST	0xfeefffffULL
#define VTD_IOVA_LAST	((1ULL << 39) - 1)

/* The call must succeed; on failure say which call and its errno */
#define ASSERT_OK(call)                                                        \
	do {                                                                   \
		int __rc = (call), __err = errno;                              \
		ASSERT_EQ(0, __rc)                                             \
			TH_LOG("%s: %s", #call, strerror(__err));              \
	} while (0)

/* A byte pattern that differs from one call to the next */
static void fill_pattern(uint8_t *buf, size_t len)
{
	static unsigned int calls;
	unsigned int seed = getpid() * 31 + ++calls * 7;
	size_t i;

	for (i = 0; i != len; i++)
		buf[i] = (uint8_t)(seed + i * 13 + (i >> 8));
}

static bool all_bytes_are(const uint8_t *buf, size_t len, uint8_t val)
{
	size_t i;

	for (i = 0; i != len; i++)
		if (buf[i] != val)
			return false;
	return true;
}

/* The device found, handed to vfio-pci and bound to an iommufd */
struct bound_edu {
	char bdf[32];
	int iommufd;
	struct edu edu;
	uint32_t devid;
	uint32_t ioas_id;	/* an IOAS, empty and unattached at first */
};

/* Also returns through SKIP when the platform has no edu or no vfio-pci */
static void bind_edu(struct __test_metadata *_metadata, struct bound_edu *dev)
{
	int err;

	dev->iommufd = -1;
	dev->edu.fd = -1;
	if (edu_find(dev->bdf, sizeof(dev->bdf)))
		SKIP(return, "no edu PCI device (1234:11e8)");
	if (edu_bind_vfio_pci(dev->bdf)) {
		err = errno;
		if (err == ENOENT)
			SKIP(return, "no vfio-pci driver in this kernel");
		ASSERT_EQ(0, err)
			TH_LOG("handing %s to vfio-pci: %s", dev->bdf,
			       strerror(err));
	}

	dev->iommufd = iommufd_open();
	ASSERT_LE(0, dev->iommufd);
	ASSERT_OK(edu_open(&dev->edu, dev->bdf));
	/* EPERM here: no MSI isolation and no iommufd.allow_unsafe_interrupts */
	ASSERT_OK(edu_bind_iommufd(&dev->edu, dev->iommufd, &dev->devid));
	ASSERT_OK(ioas_alloc(dev->iommufd, &dev->ioas_id));
}

static void unbind_edu(struct bound_edu *dev)
{
	edu_close(&dev->edu);
	if (dev->iommufd >= 0)
		close(dev->iommufd);
}

/* DMA_LEN bytes from @iova into the device's buffer, timed */
static void dma_in(struct __test_metadata *_metadata, struct edu *edu,
		   uint64_t iova, const char *what)
{
	uint64_t ns;

	ASSERT_OK(edu_dma_from_iova(edu, iova, DMA_LEN, &ns));
	ksft_print_msg("%s: DMA RAM -> edu, %u bytes from IOVA 0x%llx: %llu us\n",
		       what, DMA_LEN, (unsigned long long)iova,
		       (unsigned long long)ns / 1000);
}

/* DMA_LEN bytes from the device's buffer to @iova, timed */
static void dma_out(struct __test_metadata *_metadata, struct edu *edu,
		    uint64_t iova, const char *what)
{
	uint64_t ns;

	ASSERT_OK(edu_dma_to_iova(edu, iova, DMA_LEN, &ns));
	ksft_print_msg("%s: DMA edu -> RAM, %u bytes to IOVA 0x%llx: %llu us\n",
		       what, DMA_LEN, (unsigned long long)iova,
		       (unsigned long long)ns / 1000);
}

/*
 * A fresh pattern in @src (mapped at SRC_IOVA) goes through the device's
 * buffer to @dst (mapped at DST_IOVA) intact.
 */
static void check_round_trip(struct __test_metadata *_metadata,
			     struct edu *edu, uint8_t *src, uint8_t *dst,
			     const char *what)
{
	fill_pattern(src, CPU_PAGE);
	memset(dst, 0, CPU_PAGE);
	dma_in(_metadata, edu, SRC_IOVA, what);
	dma_out(_metadata, edu, DST_IOVA, what);
	ASSERT_EQ(0, memcmp(src, dst, DMA_LEN));
	/* The device wrote DMA_LEN bytes and not one more */
	ASSERT_TRUE(all_bytes_are(dst + DMA_LEN, CPU_PAGE - DMA_LEN, 0));
}

/* Bound, with an empty IOAS, not attached */
FIXTURE(edu_bound)
{
	struct bound_edu dev;
};

FIXTURE_SETUP(edu_bound)
{
	bind_edu(_metadata, &self->dev);
}

FIXTURE_TEARDOWN(edu_bound)
{
	unbind_edu(&self->dev);
}

TEST_F(edu_bound, bind_returns_a_nonzero_device_id)
{
	EXPECT_NE(0, self->dev.devid);
	EXPECT_NE(self->dev.ioas_id, self->dev.devid);
}

TEST_F(edu_bound, hw_info_describes_the_intel_vtd_iommu)
{
	struct iommu_hw_info_vtd vtd = {};
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = self->dev.devid,
		.data_len = sizeof(vtd),
		.data_uptr = (uintptr_t)&vtd,
	};

	ASSERT_OK(ioctl(self->dev.iommufd, IOMMU_GET_HW_INFO, &cmd));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_INTEL_VTD, cmd.out_data_type);
	EXPECT_EQ(sizeof(vtd), cmd.data_len);
	EXPECT_NE(0, vtd.cap_reg);
	ksft_print_msg("VT-d cap_reg 0x%016llx ecap_reg 0x%016llx\n",
		       (unsigned long long)vtd.cap_reg,
		       (unsigned long long)vtd.ecap_reg);
}

TEST_F(edu_bound, unattached_ioas_offers_the_whole_iova_space)
{
	struct iommu_iova_range r[4];
	uint32_t num = 4;
	uint64_t alignment;

	ASSERT_OK(ioas_iova_ranges(self->dev.iommufd, self->dev.ioas_id, r,
				   &num, &alignment));
	ASSERT_EQ(1, num);
	EXPECT_EQ(0, r[0].start);
	EXPECT_EQ(UINT64_MAX, r[0].last);
}

TEST_F(edu_bound, attach_to_ioas_returns_an_automatic_hwpt)
{
	uint32_t pt_id = self->dev.ioas_id;

	ASSERT_OK(edu_attach(&self->dev.edu, &pt_id));
	EXPECT_NE(0, pt_id);
	EXPECT_NE(self->dev.ioas_id, pt_id);
	EXPECT_NE(self->dev.devid, pt_id);
}

TEST_F(edu_bound, attach_narrows_ioas_to_aperture_minus_msi_window)
{
	uint32_t pt_id = self->dev.ioas_id, num = 4;
	struct iommu_iova_range r[4];
	uint64_t alignment;

	ASSERT_OK(edu_attach(&self->dev.edu, &pt_id));
	ASSERT_OK(ioas_iova_ranges(self->dev.iommufd, self->dev.ioas_id, r,
				   &num, &alignment));
	ASSERT_EQ(2, num);
	EXPECT_EQ(0, r[0].start);
	EXPECT_EQ(VTD_MSI_FIRST - 1, r[0].last);
	EXPECT_EQ(VTD_MSI_LAST + 1, r[1].start);
	EXPECT_EQ(VTD_IOVA_LAST, r[1].last);
	EXPECT_EQ(4096, alignment);
}

TEST_F(edu_bound, detach_lets_the_ioas_be_destroyed)
{
	uint32_t pt_id = self->dev.ioas_id;

	ASSERT_OK(edu_attach(&self->dev.edu, &pt_id));
	ASSERT_OK(edu_detach(&self->dev.edu));
	EXPECT_EQ(0, object_destroy(self->dev.iommufd, self->dev.ioas_id));
	/* The automatic HWPT went with the detach */
	EXPECT_ERRNO(ENOENT, object_destroy(self->dev.iommufd, pt_id));
}

/*
 * Ready for DMA: attached to the IOAS through its automatic HWPT, BAR0
 * mapped, bus mastering on. Two read-write pages are mapped at SRC_IOVA
 * and DST_IOVA; a third page is kept for tests that map it themselves.
 */
FIXTURE(edu_dma)
{
	struct bound_edu dev;
	uint32_t auto_hwpt_id;
	uint8_t *mem;
	uint8_t *src;
	uint8_t *dst;
	uint8_t *spare;
};

FIXTURE_SETUP(edu_dma)
{
	bind_edu(_metadata, &self->dev);
	if (_metadata->exit_code)	/* skipped */
		return;

	self->mem = mmap(NULL, 3 * CPU_PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->src = self->mem;
	self->dst = self->mem + CPU_PAGE;
	self->spare = self->mem + 2 * CPU_PAGE;

	self->auto_hwpt_id = self->dev.ioas_id;
	ASSERT_OK(edu_attach(&self->dev.edu, &self->auto_hwpt_id));
	ASSERT_OK(ioas_map_fixed(self->dev.iommufd, self->dev.ioas_id,
				 self->src, CPU_PAGE, SRC_IOVA));
	ASSERT_OK(ioas_map_fixed(self->dev.iommufd, self->dev.ioas_id,
				 self->dst, CPU_PAGE, DST_IOVA));
	ASSERT_OK(edu_enable(&self->dev.edu));
}

FIXTURE_TEARDOWN(edu_dma)
{
	unbind_edu(&self->dev);
	munmap(self->mem, 3 * CPU_PAGE);
}

TEST_F(edu_dma, round_trip_through_the_device_copies_the_bytes)
{
	check_round_trip(_metadata, &self->dev.edu, self->src, self->dst,
			 "round trip");
}

TEST_F(edu_dma, dma_write_to_unmapped_iova_leaves_memory_untouched)
{
	/* Give the device's buffer something other than the sentinel */
	fill_pattern(self->src, CPU_PAGE);
	dma_in(_metadata, &self->dev.edu, SRC_IOVA, "load");

	ASSERT_OK(ioas_unmap(self->dev.iommufd, self->dev.ioas_id, DST_IOVA,
			     CPU_PAGE, NULL));
	memset(self->dst, 0x5a, CPU_PAGE);
	/* Expected to log a DMAR fault on the kernel console */
	dma_out(_metadata, &self->dev.edu, DST_IOVA, "unmapped");
	EXPECT_TRUE(all_bytes_are(self->dst, CPU_PAGE, 0x5a));
}

TEST_F(edu_dma, device_keeps_working_after_a_blocked_dma)
{
	ASSERT_OK(ioas_unmap(self->dev.iommufd, self->dev.ioas_id, DST_IOVA,
			     CPU_PAGE, NULL));
	dma_out(_metadata, &self->dev.edu, DST_IOVA, "unmapped");
	ASSERT_OK(ioas_map_fixed(self->dev.iommufd, self->dev.ioas_id,
				 self->dst, CPU_PAGE, DST_IOVA));
	check_round_trip(_metadata, &self->dev.edu, self->src, self->dst,
			 "after fault");
}

TEST_F(edu_dma, dma_write_to_read_only_mapping_leaves_memory_untouched)
{
	fill_pattern(self->src, CPU_PAGE);
	dma_in(_metadata, &self->dev.edu, SRC_IOVA, "load");

	memset(self->spare, 0x5a, CPU_PAGE);
	ASSERT_OK(ioas_map_fixed_prot(self->dev.iommufd, self->dev.ioas_id,
				      IOMMU_IOAS_MAP_READABLE, self->spare,
				      CPU_PAGE, RO_IOVA));
	dma_out(_metadata, &self->dev.edu, RO_IOVA, "read-only");
	EXPECT_TRUE(all_bytes_are(self->spare, CPU_PAGE, 0x5a));
}

TEST_F(edu_dma, dma_read_from_read_only_mapping_works)
{
	fill_pattern(self->spare, CPU_PAGE);
	memset(self->dst, 0, CPU_PAGE);
	ASSERT_OK(ioas_map_fixed_prot(self->dev.iommufd, self->dev.ioas_id,
				      IOMMU_IOAS_MAP_READABLE, self->spare,
				      CPU_PAGE, RO_IOVA));
	dma_in(_metadata, &self->dev.edu, RO_IOVA, "read-only");
	dma_out(_metadata, &self->dev.edu, DST_IOVA, "read-only");
	EXPECT_EQ(0, memcmp(self->spare, self->dst, DMA_LEN));
}

TEST_F(edu_dma, dma_after_detach_is_blocked)
{
	fill_pattern(self->src, CPU_PAGE);
	dma_in(_metadata, &self->dev.edu, SRC_IOVA, "load");

	ASSERT_OK(edu_detach(&self->dev.edu));
	memset(self->dst, 0x5a, CPU_PAGE);
	dma_out(_metadata, &self->dev.edu, DST_IOVA, "detached");
	EXPECT_TRUE(all_bytes_are(self->dst, CPU_PAGE, 0x5a));
}

TEST_F(edu_dma, destroy_of_attached_auto_hwpt_is_ebusy)
{
	EXPECT_ERRNO(EBUSY, object_destroy(self->dev.iommufd,
					   self->auto_hwpt_id));
	check_round_trip(_metadata, &self->dev.edu, self->src, self->dst,
			 "after EBUSY");
}

TEST_F(edu_dma, destroy_of_attached_ioas_is_ebusy)
{
	EXPECT_ERRNO(EBUSY, object_destroy(self->dev.iommufd,
					   self->dev.ioas_id));
	check_round_trip(_metadata, &self->dev.edu, self->src, self->dst,
			 "after EBUSY");
}

TEST_F(edu_dma, replace_with_explicit_hwpt_keeps_dma_working)
{
	uint32_t hwpt_id, pt_id;

	ASSERT_OK(hwpt_alloc(self->dev.iommufd, 0, self->dev.devid,
			     self->dev.ioas_id, &hwpt_id));
	EXPECT_NE(self->auto_hwpt_id, hwpt_id);
	pt_id = hwpt_id;
	ASSERT_OK(edu_attach(&self->dev.edu, &pt_id));
	EXPECT_EQ(hwpt_id, pt_id);
	check_round_trip(_metadata, &self->dev.edu, self->src, self->dst,
			 "explicit HWPT");
}

TEST_F(edu_dma, replace_frees_the_automatic_hwpt_left_behind)
{
	uint32_t hwpt_id, pt_id;

	ASSERT_OK(hwpt_alloc(self->dev.iommufd, 0, self->dev.devid,
			     self->dev.ioas_id, &hwpt_id));
	pt_id = hwpt_id;
	ASSERT_OK(edu_attach(&self->dev.edu, &pt_id));
	EXPECT_ERRNO(ENOENT, object_destroy(self->dev.iommufd,
					    self->auto_hwpt_id));
}

TEST_F(edu_dma, replace_back_to_the_ioas_keeps_dma_working)
{
	uint32_t hwpt_id, pt_id;

	ASSERT_OK(hwpt_alloc(self->dev.iommufd, 0, self->dev.devid,
			     self->dev.ioas_id, &hwpt_id));
	pt_id = hwpt_id;
	ASSERT_OK(edu_attach(&self->dev.edu, &pt_id));
	check_round_trip(_metadata, &self->dev.edu, self->src, self->dst,
			 "explicit HWPT");

	pt_id = self->dev.ioas_id;
	ASSERT_OK(edu_attach(&self->dev.edu, &pt_id));
	EXPECT_NE(self->dev.ioas_id, pt_id);
	EXPECT_NE(0, pt_id);
	check_round_trip(_metadata, &self->dev.edu, self->src, self->dst,
			 "back to IOAS");
}

TEST_F(edu_dma, rebind_after_close_dmas_through_the_same_ioas)
{
	uint32_t devid, pt_id = self->dev.ioas_id;

	ASSERT_OK(edu_detach(&self->dev.edu));
	edu_close(&self->dev.edu);

	ASSERT_OK(edu_open(&self->dev.edu, self->dev.bdf));
	ASSERT_OK(edu_bind_iommufd(&self->dev.edu, self->dev.iommufd, &devid));
	EXPECT_NE(0, devid);
	ASSERT_OK(edu_attach(&self->dev.edu, &pt_id));
	EXPECT_NE(self->dev.ioas_id, pt_id);
	ASSERT_OK(edu_enable(&self->dev.edu));
	check_round_trip(_metadata, &self->dev.edu, self->src, self->dst,
			 "second bind");
}

/* ---- Pinning and its accounting, with a real IOMMU domain ---- */

#define PIN_IOVA	0x1000000ULL
#define PIN_LEN		(2UL << 20)

/*
 * Memory mapped into an IOAS is pinned only while a domain needs it, and
 * every pinned page shows in VmPin (here as root, with CAP_IPC_LOCK, in
 * VmPin only).
 */
TEST_F(edu_bound, memory_is_pinned_while_the_domain_needs_it)
{
	long pin0 = vmpin_kb(), lck0 = vmlck_kb();
	uint32_t pt_id = self->dev.ioas_id;
	void *buf;

	buf = mmap(NULL, PIN_LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 0x3c, PIN_LEN);

	ASSERT_OK(ioas_map_fixed(self->dev.iommufd, self->dev.ioas_id, buf,
				 PIN_LEN, PIN_IOVA));
	EXPECT_EQ(pin0, vmpin_kb());
	ASSERT_OK(edu_attach(&self->dev.edu, &pt_id));
	EXPECT_EQ(pin0 + (long)(PIN_LEN >> 10), vmpin_kb());
	EXPECT_EQ(lck0, vmlck_kb());
	ASSERT_OK(edu_detach(&self->dev.edu));
	EXPECT_EQ(pin0, vmpin_kb());

	pt_id = self->dev.ioas_id;
	ASSERT_OK(edu_attach(&self->dev.edu, &pt_id));
	EXPECT_EQ(pin0 + (long)(PIN_LEN >> 10), vmpin_kb());
	ASSERT_OK(ioas_unmap(self->dev.iommufd, self->dev.ioas_id, PIN_IOVA,
			     PIN_LEN, NULL));
	EXPECT_EQ(pin0, vmpin_kb());
	munmap(buf, PIN_LEN);
}

#define LIMIT_PAGES 16

/*
 * In a child without CAP_IPC_LOCK and a 16-page RLIMIT_MEMLOCK: a MAP
 * into the unattached IOAS costs nothing, so 32 pages go in; attaching
 * then has to pin them and is refused; with 8 pages it works. Returns 0
 * or the number of the step that went wrong.
 */
static int memlock_child(struct bound_edu *dev, uint8_t *buf)
{
	uint32_t pt_id = dev->ioas_id;
	long pin0 = vmpin_kb();

	if (cap_drop(CAP_IPC_LOCK) || set_memlock_limit(LIMIT_PAGES * CPU_PAGE))
		return 1;
	if (ioas_map_fixed(dev->iommufd, dev->ioas_id, buf,
			   2 * LIMIT_PAGES * CPU_PAGE, PIN_IOVA))
		return 2;
	if (vmpin_kb() != pin0)
		return 3;
	if (!edu_attach(&dev->edu, &pt_id) || errno != ENOMEM)
		return 4;
	if (vmpin_kb() != pin0)
		return 5;
	if (ioas_unmap(dev->iommufd, dev->ioas_id, PIN_IOVA,
		       2 * LIMIT_PAGES * CPU_PAGE, NULL) ||
	    ioas_map_fixed(dev->iommufd, dev->ioas_id, buf,
			   LIMIT_PAGES / 2 * CPU_PAGE, PIN_IOVA))
		return 6;
	pt_id = dev->ioas_id;
	if (edu_attach(&dev->edu, &pt_id))
		return 7;
	if (vmpin_kb() != pin0 + LIMIT_PAGES / 2 * CPU_PAGE / 1024)
		return 8;
	if (edu_detach(&dev->edu))
		return 9;
	if (vmpin_kb() != pin0)
		return 10;
	return 0;
}

TEST_F(edu_bound, memlock_limit_binds_when_the_domain_pins)
{
	uint8_t *buf;
	int status;
	pid_t pid;

	buf = mmap(NULL, 2 * LIMIT_PAGES * CPU_PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(memlock_child(&self->dev, buf));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	munmap(buf, 2 * LIMIT_PAGES * CPU_PAGE);
}

/* Opens /dev/vfio/N, the VFIO group of the device at @bdf */
static int edu_open_group(const char *bdf)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t len;
	long nr;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 bdf);
	len = readlink(path, target, sizeof(target) - 1);
	if (len < 0)
		return -1;
	target[len] = '\0';
	base = strrchr(target, '/');
	nr = strtol(base ? base + 1 : target, NULL, 10);
	snprintf(path, sizeof(path), "/dev/vfio/%ld", nr);
	return open(path, O_RDWR);
}

/*
 * The legacy group path with an iommufd as the container: VFIO drops its
 * own reference on the iommufd at VFIO_GROUP_UNSET_CONTAINER while the
 * device stays open and bound, so the device must keep the iommufd alive
 * until it is closed.
 */
TEST(group_device_outlives_unset_container_and_iommufd_close)
{
	char bdf[32];
	int iommufd, group, devfd;

	if (edu_find(bdf, sizeof(bdf)))
		SKIP(return, "no edu PCI device (1234:11e8)");
	if (edu_bind_vfio_pci(bdf))
		SKIP(return, "no vfio-pci driver in this kernel");
	group = edu_open_group(bdf);
	if (group < 0)
		SKIP(return, "no VFIO group interface: %s", strerror(errno));

	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	ASSERT_OK(ioctl(group, VFIO_GROUP_SET_CONTAINER, &iommufd));
	devfd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	ASSERT_LE(0, devfd) TH_LOG("VFIO_GROUP_GET_DEVICE_FD: %s",
				   strerror(errno));

	ASSERT_OK(ioctl(group, VFIO_GROUP_UNSET_CONTAINER));
	ASSERT_OK(close(iommufd));
	/* The last user of the iommufd: unbinds and releases it */
	ASSERT_OK(close(devfd));
	ASSERT_OK(close(group));

	/* The device is free for the next user */
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	group = edu_open_group(bdf);
	ASSERT_LE(0, group);
	ASSERT_OK(ioctl(group, VFIO_GROUP_SET_CONTAINER, &iommufd));
	devfd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	ASSERT_LE(0, devfd);
	ASSERT_OK(close(devfd));
	ASSERT_OK(close(group));
	ASSERT_OK(close(iommufd));
}

/* ---- The legacy type1 container: group, container, MAP_DMA ---- */

/*
 * The device reached the old way: its VFIO group is added to a container
 * set to TYPE1v2, the device fd comes from the group, and memory is mapped
 * with VFIO_IOMMU_MAP_DMA. The container is either /dev/vfio/vfio (VFIO's
 * own type1 on the base and upstream kernels, iommufd's emulation with
 * CONFIG_IOMMUFD_VFIO_CONTAINER on the debug kernel) or an iommufd file,
 * which the kernel serves from the compat IOAS the group gets.
 */
FIXTURE(edu_type1)
{
	char bdf[32];
	int group;
	int container;
	struct edu edu;
	uint8_t *mem;
	uint8_t *src;
	uint8_t *dst;
};

FIXTURE_VARIANT(edu_type1)
{
	bool iommufd;	/* the container is a /dev/iommu file */
};

FIXTURE_VARIANT_ADD(edu_type1, dev_vfio_vfio)
{
	.iommufd = false,
};

FIXTURE_VARIANT_ADD(edu_type1, iommufd)
{
	.iommufd = true,
};

FIXTURE_SETUP(edu_type1)
{
	int devfd;

	self->group = -1;
	self->container = -1;
	self->edu.fd = -1;
	if (edu_find(self->bdf, sizeof(self->bdf)))
		SKIP(return, "no edu PCI device (1234:11e8)");
	if (edu_bind_vfio_pci(self->bdf))
		SKIP(return, "no vfio-pci driver in this kernel");
	self->group = edu_open_group(self->bdf);
	if (self->group < 0)
		SKIP(return, "no VFIO group interface: %s", strerror(errno));
	if (variant->iommufd)
		self->container = iommufd_open();
	else
		self->container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->container);

	ASSERT_OK(ioctl(self->group, VFIO_GROUP_SET_CONTAINER,
			&self->container));
	ASSERT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1v2_IOMMU));
	ASSERT_OK(ioctl(self->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	devfd = ioctl(self->group, VFIO_GROUP_GET_DEVICE_FD, self->bdf);
	ASSERT_LE(0, devfd) TH_LOG("VFIO_GROUP_GET_DEVICE_FD: %s",
				   strerror(errno));
	self->edu.fd = devfd;
	ASSERT_OK(edu_copy_name(self->edu.bdf, sizeof(self->edu.bdf),
				self->bdf));
	ASSERT_OK(edu_enable(&self->edu));

	self->mem = mmap(NULL, 2 * CPU_PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->src = self->mem;
	self->dst = self->mem + CPU_PAGE;
}

FIXTURE_TEARDOWN(edu_type1)
{
	edu_close(&self->edu);
	if (self->group >= 0)
		close(self->group);
	if (self->container >= 0)
		close(self->container);
	if (self->mem && self->mem != MAP_FAILED)
		munmap(self->mem, 2 * CPU_PAGE);
}

static int type1_map(int container, const void *va, uint64_t size,
		     uint64_t iova)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
}

/* *size: in, the bytes to unmap; out, what the kernel says it unmapped */
static int type1_unmap(int container, uint64_t iova, uint64_t *size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = *size,
	};
	int rc;

	rc = ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap);
	*size = unmap.size;
	return rc;
}

TEST_F(edu_type1, device_dmas_through_map_dma_and_not_after_unmap_dma)
{
	uint64_t size = CPU_PAGE;

	ASSERT_OK(type1_map(self->container, self->src, CPU_PAGE, SRC_IOVA));
	ASSERT_OK(type1_map(self->container, self->dst, CPU_PAGE, DST_IOVA));
	check_round_trip(_metadata, &self->edu, self->src, self->dst,
			 "type1");

	ASSERT_OK(type1_unmap(self->container, DST_IOVA, &size));
	EXPECT_EQ(CPU_PAGE, size);
	memset(self->dst, 0x5a, CPU_PAGE);
	/* Expected to log a DMAR fault on the kernel console */
	dma_out(_metadata, &self->edu, DST_IOVA, "type1 unmapped");
	EXPECT_TRUE(all_bytes_are(self->dst, CPU_PAGE, 0x5a));
}

/* The IOVA ranges capability of GET_INFO: VT-d's aperture minus MSIs */
TEST_F(edu_type1, get_info_reports_the_vtd_iova_ranges)
{
	union {
		struct vfio_iommu_type1_info info;
		uint8_t bytes[1024];
	} buf = { .info.argsz = sizeof(buf) };
	struct vfio_iommu_type1_info_cap_iova_range *iova = NULL;
	uint32_t offset;

	ASSERT_OK(ioctl(self->container, VFIO_IOMMU_GET_INFO, &buf.info));
	ASSERT_GE(sizeof(buf), buf.info.argsz);
	ASSERT_TRUE(buf.info.flags & VFIO_IOMMU_INFO_CAPS);
	EXPECT_TRUE(buf.info.iova_pgsizes & CPU_PAGE);
	EXPECT_EQ(0, buf.info.iova_pgsizes & (CPU_PAGE - 1));
	for (offset = buf.info.cap_offset; offset;) {
		struct vfio_info_cap_header *hdr = (void *)&buf.bytes[offset];

		ASSERT_GT(buf.info.argsz, offset);
		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
			iova = (void *)hdr;
		offset = hdr->next;
	}
	ASSERT_NE(NULL, iova);
	ASSERT_EQ(2, iova->nr_iovas);
	EXPECT_EQ(0, iova->iova_ranges[0].start);
	EXPECT_EQ(VTD_MSI_FIRST - 1, iova->iova_ranges[0].end);
	EXPECT_EQ(VTD_MSI_LAST + 1, iova->iova_ranges[1].start);
	EXPECT_EQ(VTD_IOVA_LAST, iova->iova_ranges[1].end);
}

/*
 * An iommufd container (a /dev/iommu file, or /dev/vfio/vfio with
 * CONFIG_IOMMUFD_VFIO_CONTAINER) got a compat IOAS from
 * VFIO_GROUP_SET_CONTAINER, and MAP_DMA maps into it.
 */
TEST_F(edu_type1, iommufd_container_maps_into_the_compat_ioas)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_VFIO_IOAS_GET,
	};
	uint64_t unmapped;

	if (ioctl(self->container, IOMMU_VFIO_IOAS, &cmd)) {
		ASSERT_FALSE(variant->iommufd)
			TH_LOG("IOMMU_VFIO_IOAS_GET: %s", strerror(errno));
		SKIP(return, "/dev/vfio/vfio is VFIO's own container");
	}
	ASSERT_OK(type1_map(self->container, self->src, CPU_PAGE, SRC_IOVA));
	ASSERT_OK(ioas_unmap(self->container, cmd.ioas_id, SRC_IOVA, CPU_PAGE,
			     &unmapped));
	EXPECT_EQ(CPU_PAGE, unmapped);
}

#define TYPE1_PIN_LEN	(256 * CPU_PAGE)

/*
 * What a type1 MAP_DMA of TYPE1_PIN_LEN bytes, while the device is
 * attached, adds to VmPin and VmLck, in KiB, as 6.12 charges it. VFIO's
 * own type1 charges the mm's locked_vm (VmLck) only, even with
 * CAP_IPC_LOCK. An iommufd container counts every pin in VmPin and charges
 * locked_vm only without CAP_IPC_LOCK: the mm's (VmLck) when the file was
 * opened as /dev/vfio/vfio (RLIMIT_MODE 1), else the user's, which no
 * /proc field shows.
 */
static void type1_expected_charge(int container, bool cap, long *pin_kb,
				  long *lck_kb)
{
	long len_kb = TYPE1_PIN_LEN >> 10;
	uint64_t mode = 0;

	if (rlimit_mode_get(container, &mode)) {
		*pin_kb = 0;
		*lck_kb = len_kb;
		return;
	}
	*pin_kb = len_kb;
	*lck_kb = mode == 1 && !cap ? len_kb : 0;
}

/* Returns 0, or the number of the step that went wrong */
static int type1_charge_steps(int container, uint8_t *buf, bool cap)
{
	long pin0 = vmpin_kb(), lck0 = vmlck_kb(), pin_kb, lck_kb;
	uint64_t size = TYPE1_PIN_LEN;

	type1_expected_charge(container, cap, &pin_kb, &lck_kb);
	if (type1_map(container, buf, TYPE1_PIN_LEN, PIN_IOVA))
		return 1;
	if (vmpin_kb() != pin0 + pin_kb)
		return 2;
	if (vmlck_kb() != lck0 + lck_kb)
		return 3;
	if (type1_unmap(container, PIN_IOVA, &size) || size != TYPE1_PIN_LEN)
		return 4;
	if (vmpin_kb() != pin0)
		return 5;
	if (vmlck_kb() != lck0)
		return 6;
	return 0;
}

TEST_F(edu_type1, mapped_memory_is_charged_while_mapped)
{
	uint8_t *buf;

	buf = mmap(NULL, TYPE1_PIN_LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	EXPECT_EQ(0, type1_charge_steps(self->container, buf, cap_ipc_lock()));
	munmap(buf, TYPE1_PIN_LEN);
}

/* The same in a child without CAP_IPC_LOCK, where the modes differ */
TEST_F(edu_type1, without_cap_ipc_lock_the_charge_follows_the_container)
{
	uint8_t *buf;
	int status;
	pid_t pid;

	buf = mmap(NULL, TYPE1_PIN_LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (cap_drop(CAP_IPC_LOCK) ||
		    set_memlock_limit(4 * TYPE1_PIN_LEN))
			_exit(100);
		_exit(type1_charge_steps(self->container, buf, false));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	munmap(buf, TYPE1_PIN_LEN);
}

TEST_HARNESS_MAIN
