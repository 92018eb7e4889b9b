/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the iommufd selftests share: thin wrappers around the /dev/iommu
 * ioctls and around the IOMMU_TEST_CMD operations of the mock IOMMU (mock
 * domains and devices, pin counts, charges), buffers of a known page size,
 * the /proc values and capabilities the accounting tests need, and the
 * fault injection knobs that fail-nth sweeps save, set and restore.
 *
 * Every ioctl wrapper issues exactly one ioctl and returns its result, 0
 * or -1 with errno set, so that a test can check either with EXPECT_ERRNO().
 * Output arguments are written as each comment says; a pointer documented
 * as optional may be NULL. Nothing here asserts: the tests decide what a
 * result means. Names read as a verb on the object: ioas_map_fixed(),
 * mdev_attach(), charge_read().
 *
 * Fixed IOVA mappings and copies are readable and writable unless the name
 * ends in _prot or the helper takes raw IOMMU_IOAS_MAP_* flags.
 *
 * The tests assume 4 KiB CPU pages; a mock domain's IO page is half that.
 */
#ifndef _IOMMUFD_SELFTEST_H
#define _IOMMUFD_SELFTEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/iommufd.h>

#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "kselftest_harness.h"

/*
 * -Wclobbered (from -Wextra) fires inside the harness's own test wrappers,
 * on a local they keep across setjmp(), not on anything in the tests.
 */
#pragma GCC diagnostic ignored "-Wclobbered"

#define CPU_PAGE	4096UL
#define IO_PAGE		(CPU_PAGE / 2)	/* what a mock domain maps */
#define SZ_2M		(2UL * 1024 * 1024)

#define MAP_R		IOMMU_IOAS_MAP_READABLE
#define MAP_W		IOMMU_IOAS_MAP_WRITEABLE
#define MAP_RW		(MAP_R | MAP_W)

/* No object has this ID in a file that made only a few objects */
#define NO_SUCH_ID	0xfffffff0U

/* Where the mock bus lists its devices; they leave it when removed */
#define MOCK_BUS_DEVICES "/sys/bus/iommufd_mock/devices"

/* The call must fail with exactly @err */
#define EXPECT_ERRNO(err, call)                                                \
	do {                                                                   \
		errno = 0;                                                     \
		EXPECT_EQ(-1, (call));                                         \
		EXPECT_EQ(err, errno);                                         \
	} while (0)

#define ASSERT_ERRNO(err, call)                                                \
	do {                                                                   \
		errno = 0;                                                     \
		ASSERT_EQ(-1, (call));                                         \
		ASSERT_EQ(err, errno);                                         \
	} while (0)

/* ---- Where the tests run ---- */

/*
 * The public-ABI tests also run on pristine upstream 6.12, the arbiter of
 * behaviour (DESIGN.md 6.0). The workbench boots that kernel with
 * "wbkernel=upstream" and the VM's init exports IOMMUFD_UPSTREAM=1.
 *
 * Upstream has an IOMMU_TEST_CMD too, but its ops and structs are not ours
 * (iommufd_test.h), so nothing that needs the mock may run there: a fixture
 * or test that needs it starts with SKIP_IF_UPSTREAM_MOCK(return), and
 * test_cmd() never issues the ioctl there: it ends the test as failed, so
 * that a test that forgot to say so fails loudly instead of sending upstream
 * a command it would misread. A test of behaviour 6.12 does not have says
 * why with SKIP_IF_UPSTREAM(return, why). Like SKIP(), both run @statement
 * after reporting the skip.
 */
static inline bool on_upstream(void)
{
	const char *val = getenv("IOMMUFD_UPSTREAM");

	return val && *val && strcmp(val, "0");
}

#define UPSTREAM_MOCK_REASON \
	"upstream 6.12: needs our IOMMU_TEST_CMD mock, whose ops upstream lacks"

/* In a fixture setup or test, before anything else */
#define SKIP_IF_UPSTREAM_MOCK(statement)                                       \
	do {                                                                   \
		if (on_upstream())                                             \
			SKIP(statement, UPSTREAM_MOCK_REASON);                 \
	} while (0)

/*
 * Pristine upstream newer than 6.12 (IOMMUFD_UPSTREAM_VERSION=7.2), which
 * has the ioctls this project adopted from after 6.12
 */
static inline bool upstream_after_612(void)
{
	const char *val = getenv("IOMMUFD_UPSTREAM_VERSION");

	return on_upstream() && val && *val && strcmp(val, "6.12");
}

/* A test of an ioctl from after 6.12: skipped on pristine 6.12 only */
#define SKIP_IF_UPSTREAM_612(statement, why)                                   \
	do {                                                                   \
		if (on_upstream() && !upstream_after_612())                    \
			SKIP(statement, "upstream 6.12: %s", why);             \
	} while (0)

/* A test of behaviour 6.12 does not have; @why says what it lacks */
#define SKIP_IF_UPSTREAM(statement, why)                                       \
	do {                                                                   \
		if (on_upstream())                                             \
			SKIP(statement, "upstream 6.12: %s", why);             \
	} while (0)

/*
 * A page holding a copy of @cmd that the kernel can read but not write,
 * so that an ioctl fails where it reports its results. NULL on failure.
 */
static inline void *read_only_copy(const void *cmd, size_t size)
{
	void *page;

	page = mmap(NULL, CPU_PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return NULL;
	memcpy(page, cmd, size);
	if (mprotect(page, CPU_PAGE, PROT_READ)) {
		munmap(page, CPU_PAGE);
		return NULL;
	}
	return page;
}

/* ---- The file and its objects ---- */

/* A new /dev/iommu file descriptor, or -1 */
static inline int iommufd_open(void)
{
	return open("/dev/iommu", O_RDWR);
}

static inline int object_destroy(int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &cmd);
}

/* ---- IOAS ---- */

/* *id gets whatever the kernel wrote back, also on failure */
static inline int ioas_alloc(int fd, uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);
	*id = cmd.out_ioas_id;
	return rc;
}

/*
 * MAP with the raw IOMMU_IOAS_MAP_* @flags. *iova is the IOVA asked for
 * and, on success, the IOVA the mapping got.
 */
static inline int ioas_map(int fd, uint32_t ioas, uint32_t flags,
			   const void *va, uint64_t length, uint64_t *iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = length,
		.iova = *iova,
	};
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_MAP, &cmd);
	if (!rc)
		*iova = cmd.iova;
	return rc;
}

/* [va, va + length) at @iova with the permissions @prot (MAP_R, MAP_W) */
static inline int ioas_map_fixed_prot(int fd, uint32_t ioas, uint32_t prot,
				      const void *va, uint64_t length,
				      uint64_t iova)
{
	return ioas_map(fd, ioas, prot | IOMMU_IOAS_MAP_FIXED_IOVA, va, length,
			&iova);
}

static inline int ioas_map_fixed(int fd, uint32_t ioas, const void *va,
				 uint64_t length, uint64_t iova)
{
	return ioas_map_fixed_prot(fd, ioas, MAP_RW, va, length, iova);
}

/* At an IOVA the kernel picks, returned in *iova */
static inline int ioas_map_auto(int fd, uint32_t ioas, const void *va,
				uint64_t length, uint64_t *iova)
{
	*iova = 0;
	return ioas_map(fd, ioas, MAP_RW, va, length, iova);
}

/* *unmapped (optional) gets the bytes removed, 0 on failure */
static inline int ioas_unmap(int fd, uint32_t ioas, uint64_t iova,
			     uint64_t length, uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.iova = iova,
		.length = length,
	};
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
	if (unmapped)
		*unmapped = rc ? 0 : cmd.length;
	return rc;
}

static inline int ioas_unmap_all(int fd, uint32_t ioas, uint64_t *unmapped)
{
	return ioas_unmap(fd, ioas, 0, UINT64_MAX, unmapped);
}

/*
 * COPY with the raw IOMMU_IOAS_MAP_* @flags. *dst_iova is the IOVA asked
 * for and, on success, the IOVA the copy got.
 */
static inline int ioas_copy(int fd, uint32_t flags, uint32_t dst,
			    uint64_t *dst_iova, uint32_t src,
			    uint64_t src_iova, uint64_t length)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = length,
		.dst_iova = *dst_iova,
		.src_iova = src_iova,
	};
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_COPY, &cmd);
	if (!rc)
		*dst_iova = cmd.dst_iova;
	return rc;
}

/* To @dst_iova with the permissions @prot (MAP_R, MAP_W) */
static inline int ioas_copy_fixed_prot(int fd, uint32_t prot, uint32_t dst,
				       uint64_t dst_iova, uint32_t src,
				       uint64_t src_iova, uint64_t length)
{
	return ioas_copy(fd, prot | IOMMU_IOAS_MAP_FIXED_IOVA, dst, &dst_iova,
			 src, src_iova, length);
}

static inline int ioas_copy_fixed(int fd, uint32_t dst, uint64_t dst_iova,
				  uint32_t src, uint64_t src_iova,
				  uint64_t length)
{
	return ioas_copy_fixed_prot(fd, MAP_RW, dst, dst_iova, src, src_iova,
				    length);
}

/* To an IOVA the kernel picks, returned in *dst_iova */
static inline int ioas_copy_auto(int fd, uint32_t dst, uint64_t *dst_iova,
				 uint32_t src, uint64_t src_iova,
				 uint64_t length)
{
	*dst_iova = 0;
	return ioas_copy(fd, MAP_RW, dst, dst_iova, src, src_iova, length);
}

static inline int ioas_allow_iovas(int fd, uint32_t ioas,
				   const struct iommu_iova_range *ranges,
				   uint32_t num)
{
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = num,
		.allowed_iovas = (uintptr_t)ranges,
	};

	return ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

/*
 * IOVA_RANGES into room for *num ranges. *num gets the kernel's count, also
 * on failure (EMSGSIZE says how many there would be); *align (optional)
 * gets the IOVA alignment.
 */
static inline int ioas_iova_ranges(int fd, uint32_t ioas,
				   struct iommu_iova_range *ranges,
				   uint32_t *num, uint64_t *align)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = *num,
		.allowed_iovas = (uintptr_t)ranges,
	};
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);
	*num = cmd.num_iovas;
	if (align)
		*align = cmd.out_iova_alignment;
	return rc;
}

#define IOAS_RANGES_MAX 8

/* IOVA_RANGES of an IOAS, zero-filled around it so that it compares whole */
struct ioas_ranges {
	uint32_t num;
	uint64_t align;
	struct iommu_iova_range range[IOAS_RANGES_MAX];
};

static inline int ioas_ranges_get(int fd, uint32_t ioas,
				  struct ioas_ranges *out)
{
	memset(out, 0, sizeof(*out));
	out->num = IOAS_RANGES_MAX;
	return ioas_iova_ranges(fd, ioas, out->range, &out->num, &out->align);
}

/* The IOVA alignment IOVA_RANGES reports for @ioas */
static inline int ioas_alignment(int fd, uint32_t ioas, uint64_t *align)
{
	struct ioas_ranges ranges;
	int rc;

	rc = ioas_ranges_get(fd, ioas, &ranges);
	*align = ranges.align;
	return rc;
}

/* ---- IOMMU_OPTION ---- */

/*
 * *val goes in as it is, so that a kernel that does not write the value
 * back shows; it is written only on success.
 */
static inline int option_get(int fd, uint32_t option, uint32_t object,
			     uint64_t *val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option,
		.op = IOMMU_OPTION_OP_GET,
		.object_id = object,
		.val64 = *val,
	};
	int rc;

	rc = ioctl(fd, IOMMU_OPTION, &cmd);
	if (!rc)
		*val = cmd.val64;
	return rc;
}

static inline int option_set(int fd, uint32_t option, uint32_t object,
			     uint64_t val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option,
		.op = IOMMU_OPTION_OP_SET,
		.object_id = object,
		.val64 = val,
	};

	return ioctl(fd, IOMMU_OPTION, &cmd);
}

/* 0: pins are charged to the user's locked_vm, 1: to the mm's pinned_vm */
static inline int rlimit_mode_set(int fd, uint64_t mode)
{
	return option_set(fd, IOMMU_OPTION_RLIMIT_MODE, 0, mode);
}

static inline int rlimit_mode_get(int fd, uint64_t *mode)
{
	return option_get(fd, IOMMU_OPTION_RLIMIT_MODE, 0, mode);
}

static inline int ioas_huge_pages_set(int fd, uint32_t ioas, uint64_t on)
{
	return option_set(fd, IOMMU_OPTION_HUGE_PAGES, ioas, on);
}

/* ---- HWPT ---- */

/*
 * HWPT_ALLOC with the driver data @data_type, @data and @data_len passed as
 * they are. *hwpt (optional) is written only on success.
 */
static inline int hwpt_alloc_data(int fd, uint32_t flags, uint32_t dev,
				  uint32_t pt, uint32_t data_type,
				  const void *data, uint32_t data_len,
				  uint32_t *hwpt)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = dev,
		.pt_id = pt,
		.data_type = data_type,
		.data_len = data_len,
		.data_uptr = (uintptr_t)data,
	};
	int rc;

	rc = ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);
	if (!rc && hwpt)
		*hwpt = cmd.out_hwpt_id;
	return rc;
}

/* A paging HWPT on the IOAS @pt for the DEVICE @dev */
static inline int hwpt_alloc(int fd, uint32_t flags, uint32_t dev,
			     uint32_t pt, uint32_t *hwpt)
{
	return hwpt_alloc_data(fd, flags, dev, pt, IOMMU_HWPT_DATA_NONE, NULL,
			       0, hwpt);
}

/* A mock nested HWPT on the paging HWPT @parent, IOTLB tag @iotlb */
static inline int hwpt_alloc_nested(int fd, uint32_t flags, uint32_t dev,
				    uint32_t parent, uint32_t iotlb,
				    uint32_t *hwpt)
{
	struct iommu_hwpt_mock_nested data = { .iotlb = iotlb };

	return hwpt_alloc_data(fd, flags, dev, parent, IOMMU_HWPT_DATA_SELFTEST,
			       &data, sizeof(data), hwpt);
}

/* ---- IOMMU_TEST_CMD: mock domains, pins and charges ---- */

/* @cmd carries the operation's arguments; the header is filled in here */
static inline int test_cmd(int fd, uint32_t op, uint32_t id,
			   struct iommu_test_cmd *cmd)
{
	if (on_upstream()) {
		fprintf(stderr,
			"# IOMMU_TEST_CMD op %u not issued on upstream 6.12: the test lacks SKIP_IF_UPSTREAM_MOCK(return)\n",
			op);
		_exit(KSFT_FAIL);
	}
	cmd->size = sizeof(*cmd);
	cmd->op = op;
	cmd->id = id;
	return ioctl(fd, IOMMU_TEST_CMD, cmd);
}

/* A mock domain with @flags on @ioas; *mock is written only on success */
static inline int mock_domain_add(int fd, uint32_t ioas, uint32_t flags,
				  uint32_t *mock)
{
	struct iommu_test_cmd cmd = { .mock_domain.flags = flags };
	int rc;

	rc = test_cmd(fd, IOMMU_TEST_OP_MOCK_DOMAIN, ioas, &cmd);
	if (!rc)
		*mock = cmd.mock_domain.out_mock_id;
	return rc;
}

/*
 * Touches the CPU pages of [va, va + length) in a shuffled order of small
 * groups (1 to 3 pages, touched in order), so that the memory behind them
 * is mostly not physically contiguous, with some short runs in between:
 * the shape that costs the kernel's bookkeeping the most.
 */
static inline void touch_scattered(void *va, size_t length, unsigned int seed)
{
	size_t npages = length / CPU_PAGE, ngroups = 0, i, g;
	size_t *start = calloc(npages + 1, sizeof(*start));
	size_t *order = calloc(npages, sizeof(*order));

	if (!start || !order)
		abort();
	srand(seed);
	for (i = 0; i < npages; i += 1 + rand() % 3)
		start[ngroups++] = i;
	start[ngroups] = npages;
	for (g = 0; g != ngroups; g++)
		order[g] = g;
	for (g = ngroups - 1; g > 0; g--) {
		size_t k = rand() % (g + 1), tmp = order[g];

		order[g] = order[k];
		order[k] = tmp;
	}
	for (g = 0; g != ngroups; g++)
		for (i = start[order[g]]; i != start[order[g] + 1]; i++)
			((uint8_t *)va)[i * CPU_PAGE] = (uint8_t)i;
	free(order);
	free(start);
}

/* What MD_CHECK_MAP says about how a checked range was mapped */
struct map_shape {
	uint64_t max_pgsize;
	uint64_t map_calls;
};

/*
 * [iova, iova + length) of the domain @id (a mock domain, HWPT or mock
 * device) leads to the memory at @va with exactly the MOCK_PROT_* @prot
 * plus MOCK_PROT_CACHE (iommufd maps everything cacheable), or with any
 * permissions if @prot is 0. @shape (optional) gets the page sizes on
 * success.
 */
static inline int mock_check_map(int fd, uint32_t id, uint64_t iova,
				 uint64_t length, const void *va,
				 uint32_t prot, struct map_shape *shape)
{
	struct iommu_test_cmd cmd = {
		.check_map = {
			.iova = iova,
			.length = length,
			.uptr = (uintptr_t)va,
			.prot = prot ? prot | MOCK_PROT_CACHE : 0,
		},
	};
	int rc;

	rc = test_cmd(fd, IOMMU_TEST_OP_MD_CHECK_MAP, id, &cmd);
	if (!rc && shape) {
		shape->max_pgsize = cmd.check_map.out_max_pgsize;
		shape->map_calls = cmd.check_map.out_map_calls;
	}
	return rc;
}

static inline int mock_check_unmapped(int fd, uint32_t id, uint64_t iova,
				      uint64_t length)
{
	struct iommu_test_cmd cmd = {
		.check_unmapped = { .iova = iova, .length = length },
	};

	return test_cmd(fd, IOMMU_TEST_OP_MD_CHECK_UNMAPPED, id, &cmd);
}

/* Every CPU page of [va, va + length) holds exactly @pins FOLL_PIN pins */
static inline int check_pins(int fd, const void *va, uint64_t length,
			     uint32_t pins)
{
	struct iommu_test_cmd cmd = {
		.check_pins = {
			.uptr = (uintptr_t)va,
			.length = length,
			.pins = pins,
		},
	};

	return test_cmd(fd, IOMMU_TEST_OP_CHECK_PINS, 0, &cmd);
}

/* The counters pinned memory is charged to, in pages */
struct charge {
	uint64_t locked_vm;	/* the user's: RLIMIT_MODE 0 */
	uint64_t pinned_vm;	/* the process's VmPin: every pinned page */
	uint64_t mm_locked_vm;	/* the process's VmLck: RLIMIT_MODE 1 */
};

static inline long proc_value(const char *path, const char *key);

/* *charge gets whatever the kernel wrote back, also on failure */
static inline int charge_read(int fd, struct charge *charge)
{
	struct iommu_test_cmd cmd = {};
	int rc;

	rc = test_cmd(fd, IOMMU_TEST_OP_ACCOUNTING, 0, &cmd);
	charge->locked_vm = cmd.accounting.out_locked_vm;
	charge->pinned_vm = cmd.accounting.out_pinned_vm;
	charge->mm_locked_vm = proc_value("/proc/self/status", "VmLck") / 4;
	return rc;
}

/*
 * The shared prologue of every fixture or test that needs the mock driver:
 * a new /dev/iommu file in *@fd and NULL, or why the test cannot run on
 * this kernel: pristine upstream, no /dev/iommu, or no CONFIG_IOMMUFD_TEST.
 * Call it through MOCK_FILE_OPEN(), which skips with that reason.
 */
static inline const char *mock_file_open(int *fd)
{
	struct iommu_test_cmd probe = {};

	*fd = -1;
	if (on_upstream())
		return UPSTREAM_MOCK_REASON;
	*fd = iommufd_open();
	if (*fd < 0)
		return "no /dev/iommu";
	if (test_cmd(*fd, IOMMU_TEST_OP_ACCOUNTING, 0, &probe) &&
	    errno == ENOTTY)
		return "kernel built without CONFIG_IOMMUFD_TEST";
	return NULL;
}

/* In a fixture setup or test, first; like SKIP(), runs @statement */
#define MOCK_FILE_OPEN(fd, statement)                                          \
	do {                                                                   \
		const char *__why = mock_file_open(&(fd));                     \
									       \
		if (__why)                                                     \
			SKIP(statement, "%s", __why);                          \
	} while (0)

/* Does the calling thread have CAP_IPC_LOCK in its effective set? */
static inline bool cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &
	       CAP_TO_MASK(CAP_IPC_LOCK);
}

/*
 * @pages more pages than at @base are pinned, charged as 6.12 charges
 * them: all in VmPin; in the user's locked_vm (RLIMIT_MODE 0) or in VmLck
 * (RLIMIT_MODE 1, @mm_mode) as well, unless the caller has CAP_IPC_LOCK.
 */
static inline void expect_charge(struct __test_metadata *_metadata, int fd,
				 const struct charge *base, bool mm_mode,
				 uint64_t pages)
{
	uint64_t extra = cap_ipc_lock() ? 0 : pages;
	struct charge now;

	ASSERT_EQ(0, charge_read(fd, &now));
	EXPECT_EQ(base->pinned_vm + pages, now.pinned_vm);
	EXPECT_EQ(base->locked_vm + (mm_mode ? 0 : extra), now.locked_vm);
	EXPECT_EQ(base->mm_locked_vm + (mm_mode ? extra : 0),
		  now.mm_locked_vm);
}

/* The kernel pins at most @pages pages at a time, system-wide; 0: default */
static inline int pin_batch_set(int fd, uint32_t pages)
{
	struct iommu_test_cmd cmd = { .pin_batch.pages = pages };

	return test_cmd(fd, IOMMU_TEST_OP_SET_PIN_BATCH, 0, &cmd);
}

/* ---- IOMMU_TEST_CMD: mock devices ---- */

/* A mock device as MOCK_DEVICE_ADD describes it */
struct mdev {
	uint32_t id;	/* the mock device object, for MOCK_DEVICE_* ops */
	uint32_t idev;	/* the DEVICE, for HWPT_ALLOC; 0 unless bound */
	uint32_t group;	/* the number of its mock group */
};

/*
 * A device with the enum iommu_test_mock_device_flags @flags and the enum
 * iommu_test_mock_driver @driver, in the mock group numbered @group or in
 * a new group if @group is 0. *dev is written only on success.
 */
static inline int mdev_add_to_group(int fd, uint32_t flags, uint32_t driver,
				    uint32_t group, struct mdev *dev)
{
	struct iommu_test_cmd cmd = {
		.mock_device = {
			.flags = flags,
			.driver = driver,
			.group = group,
		},
	};
	int rc;

	rc = test_cmd(fd, IOMMU_TEST_OP_MOCK_DEVICE_ADD, 0, &cmd);
	if (!rc) {
		dev->id = cmd.mock_device.out_mock_dev_id;
		dev->idev = cmd.mock_device.out_idev_id;
		dev->group = cmd.mock_device.out_group;
	}
	return rc;
}

/* A device in a group of its own, bound to this file */
static inline int mdev_add(int fd, uint32_t flags, struct mdev *dev)
{
	return mdev_add_to_group(fd, flags, MOCK_DRIVER_IOMMUFD, 0, dev);
}

/* MOCK_DEVICE_ATTACH or _REPLACE; *hwpt (optional) only on success */
static inline int mdev_attach_op(int fd, uint32_t op, uint32_t dev,
				 uint32_t pt, uint32_t *hwpt)
{
	struct iommu_test_cmd cmd = { .mock_attach.pt_id = pt };
	int rc;

	rc = test_cmd(fd, op, dev, &cmd);
	if (!rc && hwpt)
		*hwpt = cmd.mock_attach.out_hwpt_id;
	return rc;
}

/* The mock device @dev to the IOAS or HWPT @pt; *hwpt gets the HWPT used */
static inline int mdev_attach(int fd, uint32_t dev, uint32_t pt,
			      uint32_t *hwpt)
{
	return mdev_attach_op(fd, IOMMU_TEST_OP_MOCK_DEVICE_ATTACH, dev, pt,
			      hwpt);
}

static inline int mdev_replace(int fd, uint32_t dev, uint32_t pt,
			       uint32_t *hwpt)
{
	return mdev_attach_op(fd, IOMMU_TEST_OP_MOCK_DEVICE_REPLACE, dev, pt,
			      hwpt);
}

static inline int mdev_detach(int fd, uint32_t dev)
{
	struct iommu_test_cmd cmd = {};

	return test_cmd(fd, IOMMU_TEST_OP_MOCK_DEVICE_DETACH, dev, &cmd);
}

/* What MOCK_DEVICE_DOMAIN says about a device, HWPT or mock domain */
struct dom {
	uint32_t attached;	/* enum iommu_test_mock_attached */
	uint32_t props;		/* enum iommu_test_mock_domain_props */
	uint32_t cookie;	/* names a paging domain; 0 otherwise */
	uint32_t parent_cookie;
	uint32_t iotlb;
	uint32_t invalidations;
};

/* *dom is zero-filled on failure */
static inline int dom_get(int fd, uint32_t id, struct dom *dom)
{
	struct iommu_test_cmd cmd = {};
	int rc;

	memset(dom, 0, sizeof(*dom));
	rc = test_cmd(fd, IOMMU_TEST_OP_MOCK_DEVICE_DOMAIN, id, &cmd);
	if (rc)
		return rc;
	dom->attached = cmd.mock_device_domain.out_attached;
	dom->props = cmd.mock_device_domain.out_props;
	dom->cookie = cmd.mock_device_domain.out_cookie;
	dom->parent_cookie = cmd.mock_device_domain.out_parent_cookie;
	dom->iotlb = cmd.mock_device_domain.out_iotlb;
	dom->invalidations = cmd.mock_device_domain.out_invalidations;
	return 0;
}

/* The cookie of the domain @id translates with; 0 for none or no @id */
static inline uint32_t dom_cookie(int fd, uint32_t id)
{
	struct dom dom;

	return dom_get(fd, id, &dom) ? 0 : dom.cookie;
}

/* enum iommu_test_mock_attached of @id; -1 if there is no such object */
static inline int dom_attached(int fd, uint32_t id)
{
	struct dom dom;

	return dom_get(fd, id, &dom) ? -1 : (int)dom.attached;
}

/* enum iommu_test_mock_domain_props of @id; -1 if there is no such object */
static inline int64_t dom_props(int fd, uint32_t id)
{
	struct dom dom;

	return dom_get(fd, id, &dom) ? -1 : (int64_t)dom.props;
}

/* The device @id (or a HWPT, or a mock domain) writes [iova, iova + length) */
static inline int mock_dma_write(int fd, uint32_t id, uint64_t iova,
				 uint64_t length)
{
	struct iommu_test_cmd cmd = {
		.dma_write = { .iova = iova, .length = length },
	};

	return test_cmd(fd, IOMMU_TEST_OP_MOCK_DMA_WRITE, id, &cmd);
}

/* Devices on the mock bus, -1 if sysfs does not list the bus */
static inline int mock_bus_devices(void)
{
	struct dirent *de;
	int count = 0;
	DIR *dir;

	dir = opendir(MOCK_BUS_DEVICES);
	if (!dir)
		return -1;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			count++;
	closedir(dir);
	return count;
}

/* ---- Memory ---- */

/* Anonymous memory in CPU pages only (never THP), filled; NULL on failure */
static inline uint8_t *small_pages_alloc(size_t len)
{
	uint8_t *buf;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return NULL;
	madvise(buf, len, MADV_NOHUGEPAGE);
	memset(buf, 0xa5, len);
	return buf;
}

/*
 * 2 MiB, 2 MiB aligned, that the kernel hopefully backs with one THP: the
 * caller checks. The mapping to munmap() is *region, *region_len long;
 * neither is written on failure (NULL).
 */
static inline uint8_t *thp_alloc(void **region, size_t *region_len)
{
	size_t len = 2 * SZ_2M;
	uint8_t *p, *aligned;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	aligned = (uint8_t *)(((uintptr_t)p + SZ_2M - 1) & ~(SZ_2M - 1));
	madvise(aligned, SZ_2M, MADV_HUGEPAGE);
	memset(aligned, 0x5a, SZ_2M);
	*region = p;
	*region_len = len;
	return aligned;
}

/* The size of the default hugetlbfs pool, -1 if it cannot be read */
static inline long nr_hugepages_read(void)
{
	long val = -1;
	FILE *f;

	f = fopen("/proc/sys/vm/nr_hugepages", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &val) != 1)
		val = -1;
	fclose(f);
	return val;
}

static inline int nr_hugepages_write(long val)
{
	FILE *f;
	int rc;

	f = fopen("/proc/sys/vm/nr_hugepages", "w");
	if (!f)
		return -1;
	rc = fprintf(f, "%ld\n", val) < 0;
	rc |= fclose(f);
	return rc ? -1 : 0;
}

/* ---- What /proc shows, and capabilities ---- */

/*
 * The number on the line "@key: <number>" of the file @path, as /proc's
 * status and meminfo files show them; -1 if it cannot be read.
 */
static inline long proc_value(const char *path, const char *key)
{
	size_t klen = strlen(key);
	char line[128];
	long val = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			val = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/* Anonymous read-write memory, populated */
static inline void *anon_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* 4 KiB pages, as the kernel counts them, covering [va, va + len) */
static inline uint64_t pages_spanned(const void *va, uint64_t len)
{
	uintptr_t first = (uintptr_t)va & ~(CPU_PAGE - 1);
	uintptr_t end = ((uintptr_t)va + len + CPU_PAGE - 1) & ~(CPU_PAGE - 1);

	return (end - first) / CPU_PAGE;
}

/* VmPin of this process (its pinned_vm) in kB, -1 if it cannot be read */
static inline long vmpin_kb(void)
{
	return proc_value("/proc/self/status", "VmPin");
}

/* VmLck of this process in KiB: what RLIMIT_MODE 1 charges pins to */
static inline long vmlck_kb(void)
{
	return proc_value("/proc/self/status", "VmLck");
}

/* Sets both RLIMIT_MEMLOCK limits of the calling process to @bytes */
static inline int set_memlock_limit(rlim_t bytes)
{
	struct rlimit lim = { .rlim_cur = bytes, .rlim_max = bytes };

	return setrlimit(RLIMIT_MEMLOCK, &lim);
}

/* Drops @cap from the effective and permitted sets of the calling thread */
static inline int cap_drop(unsigned int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
	data[CAP_TO_INDEX(cap)].permitted &= ~CAP_TO_MASK(cap);
	return syscall(SYS_capset, &hdr, data);
}

/* ---- Fault injection ---- */

/*
 * fail-nth overrides probability, interval, space and times, but each
 * attribute's own filters still decide whether a call is a fault site at
 * all. Sleeping allocations, highmem (user page) allocations and order-0
 * pages are filtered out by default; a sweep needs them all. Messages are
 * turned off so the console stays free of expected failures. "times" is
 * only saved: every injected failure counts it down.
 */
struct fault_knob {
	const char *attr;
	const char *file;
	const char *value;	/* NULL: saved and restored only */
};

#define FAULT_KNOBS		16
#define FAULT_KNOB_VALUE_MAX	32

static inline const struct fault_knob *fault_knob(unsigned int i)
{
	static const struct fault_knob knobs[FAULT_KNOBS] = {
		{ "failslab", "probability", "0" },
		{ "failslab", "verbose", "0" },
		{ "failslab", "task-filter", "N" },
		{ "failslab", "ignore-gfp-wait", "N" },
		{ "failslab", "times", NULL },
		{ "fail_page_alloc", "probability", "0" },
		{ "fail_page_alloc", "verbose", "0" },
		{ "fail_page_alloc", "task-filter", "N" },
		{ "fail_page_alloc", "ignore-gfp-wait", "N" },
		{ "fail_page_alloc", "ignore-gfp-highmem", "N" },
		{ "fail_page_alloc", "min-order", "0" },
		{ "fail_page_alloc", "times", NULL },
		{ "fail_iommufd", "probability", "0" },
		{ "fail_iommufd", "verbose", "0" },
		{ "fail_iommufd", "task-filter", "N" },
		{ "fail_iommufd", "times", NULL },
	};

	return &knobs[i];
}

/* The knobs as they were before a sweep, and the one that went wrong */
struct fault_knobs {
	char saved[FAULT_KNOBS][FAULT_KNOB_VALUE_MAX];
	char failed[96];	/* path of the knob that could not be used */
};

static inline void fault_knob_path(unsigned int i, char *path, size_t size)
{
	snprintf(path, size, "/sys/kernel/debug/%s/%s", fault_knob(i)->attr,
		 fault_knob(i)->file);
}

/* Reads knob @i into @val, FAULT_KNOB_VALUE_MAX long, without the newline */
static inline int fault_knob_read(unsigned int i, char *val)
{
	char path[128];
	ssize_t len;
	int fd;

	fault_knob_path(i, path, sizeof(path));
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	len = read(fd, val, FAULT_KNOB_VALUE_MAX - 1);
	close(fd);
	if (len <= 0)
		return -1;
	val[len] = 0;
	val[strcspn(val, "\n")] = 0;
	return 0;
}

static inline int fault_knob_write(unsigned int i, const char *val)
{
	size_t len = strlen(val);
	char path[128];
	ssize_t done;
	int fd;

	fault_knob_path(i, path, sizeof(path));
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	done = write(fd, val, len);
	close(fd);
	return done == (ssize_t)len ? 0 : -1;
}

/* Saves every knob; on failure k->failed names the one that is unreadable */
static inline int fault_knobs_save(struct fault_knobs *k)
{
	unsigned int i;

	for (i = 0; i != FAULT_KNOBS; i++) {
		if (fault_knob_read(i, k->saved[i])) {
			fault_knob_path(i, k->failed, sizeof(k->failed));
			return -1;
		}
	}
	return 0;
}

/* Puts every knob back as saved; returns 0 if all went back */
static inline int fault_knobs_restore(const struct fault_knobs *k)
{
	unsigned int i;
	int rc = 0;

	for (i = 0; i != FAULT_KNOBS; i++)
		rc |= fault_knob_write(i, k->saved[i]);
	return rc;
}

/*
 * Sets the knobs a sweep needs, after fault_knobs_save(). On failure puts
 * them all back and k->failed names the knob that could not be set.
 */
static inline int fault_knobs_set(struct fault_knobs *k)
{
	unsigned int i;

	for (i = 0; i != FAULT_KNOBS; i++) {
		if (fault_knob(i)->value &&
		    fault_knob_write(i, fault_knob(i)->value)) {
			fault_knob_path(i, k->failed, sizeof(k->failed));
			fault_knobs_restore(k);
			return -1;
		}
	}
	return 0;
}

/* The calling thread's fail-nth, opened read-write; @path gets its name */
static inline int fail_nth_open(char *path, size_t size)
{
	snprintf(path, size, "/proc/self/task/%d/fail-nth", gettid());
	return open(path, O_RDWR);
}

#endif /* _IOMMUFD_SELFTEST_H */
