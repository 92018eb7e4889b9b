/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The test-only ioctl of iommufd, IOMMU_TEST_CMD.
 *
 * Shared by the kernel (selftest.c, built only with CONFIG_IOMMUFD_TEST) and
 * the kselftests in tools/testing/selftests/iommu, which include it by its
 * path in the source tree. It is not part of the user ABI: a kernel without
 * CONFIG_IOMMUFD_TEST answers the ioctl with ENOTTY, and the layout may
 * change together with the selftests at any time.
 *
 * One ioctl number carries several operations. Each call names its
 * operation in iommu_test_cmd.op and its arguments in the matching member of
 * the union. The struct follows the usual iommufd rules: size first,
 * __reserved must be zero, and a size shorter than the whole struct is
 * accepted (from the end of the header on) with the missing bytes read as
 * zero.
 */
#ifndef _IOMMUFD_TEST_H
#define _IOMMUFD_TEST_H

#ifdef __KERNEL__
#include <uapi/linux/iommufd.h>
#else
#include <linux/iommufd.h>
#endif
#include <linux/types.h>

/* Far above the real commands, so that 6.12's numbers never run into it */
#define IOMMUFD_CMD_TEST_CMD	(IOMMUFD_CMD_BASE + 0x40)
#define IOMMU_TEST_CMD		_IO(IOMMUFD_TYPE, IOMMUFD_CMD_TEST_CMD)

/**
 * enum iommu_test_op - operations of IOMMU_TEST_CMD
 * @IOMMU_TEST_OP_MOCK_DOMAIN: create a mock paging domain on the IOAS @id
 *	and fill it with every mapping of that IOAS. Returns the ID of a mock
 *	domain object, which holds the IOAS (IOMMU_DESTROY of the IOAS fails
 *	with EBUSY) until it is itself destroyed with IOMMU_DESTROY. Whatever
 *	the IOAS maps afterwards is mapped into the mock domain as well.
 *	Errors: ENOENT (no such IOAS), EOPNOTSUPP (unknown flag), and any
 *	error of adding a domain to an IOAS, e.g. EADDRINUSE when a mapping
 *	lies outside the aperture of the new domain.
 * @IOMMU_TEST_OP_MD_CHECK_MAP: check that the mock domain @id translates
 *	each IO page of [iova, iova + length) to the physical address that
 *	backs the same offset of the user range starting at uptr. Errors:
 *	ENOENT (no such mock domain, or an IO page is not mapped), EINVAL
 *	(zero length, iova or length not a multiple of the IO page size, a
 *	translation differs, or the permissions differ from a non-zero prot),
 *	EFAULT (the user range cannot be faulted in), EOVERFLOW.
 * @IOMMU_TEST_OP_MD_CHECK_UNMAPPED: check that the mock domain @id has no
 *	translation for any byte of [iova, iova + length). Errors: ENOENT (no
 *	such mock domain), EEXIST (something is mapped there), EINVAL (zero
 *	length), EOVERFLOW.
 * @IOMMU_TEST_OP_CHECK_PINS: check that every CPU page touched by
 *	[uptr, uptr + length) is pinned (FOLL_PIN) exactly @pins times. @id is
 *	ignored. Pages are counted as the mm counts them: a page of a small
 *	folio by its reference count in units of GUP_PIN_COUNTING_BIAS; a large
 *	folio (THP, hugetlb) only keeps one pin count for all its pages, so its
 *	count must equal pins times the number of its pages inside the range,
 *	which means its pages outside the range must hold no pins and the pages
 *	of one folio must be consecutive in the range. The shared zero page is
 *	never pinned by the kernel and counts as zero pins. Errors: EINVAL
 *	(zero length or a count differs), EFAULT, EOVERFLOW.
 * @IOMMU_TEST_OP_ADD_RESERVED: reserve [start, start + length) in the IOAS
 *	@id, as a device's reserved region would. The reservation lasts until
 *	the IOAS is destroyed. Errors: ENOENT (no such IOAS), EINVAL (zero
 *	length), EOVERFLOW, EADDRINUSE (the range overlaps a mapping or an
 *	allowed range).
 * @IOMMU_TEST_OP_ACCOUNTING: report, in pages, the locked_vm of the calling
 *	user and the pinned_vm of the calling process. @id is ignored.
 * @IOMMU_TEST_OP_SET_PIN_BATCH: set the largest number of pages the kernel
 *	pins in one step, for every iommufd user of the system; 0 restores the
 *	default. Small batches make the tests cross batch boundaries with
 *	little memory. @id is ignored.
 *
 * Any other value fails with EOPNOTSUPP.
 */
enum iommu_test_op {
	IOMMU_TEST_OP_MOCK_DOMAIN = 1,
	IOMMU_TEST_OP_MD_CHECK_MAP,
	IOMMU_TEST_OP_MD_CHECK_UNMAPPED,
	IOMMU_TEST_OP_CHECK_PINS,
	IOMMU_TEST_OP_ADD_RESERVED,
	IOMMU_TEST_OP_ACCOUNTING,
	IOMMU_TEST_OP_SET_PIN_BATCH,
};

/**
 * enum iommu_test_mock_domain_flags - variants of IOMMU_TEST_OP_MOCK_DOMAIN
 * @MOCK_DOMAIN_NO_HUGE_PAGES: the domain maps IO pages only (half a CPU
 *	page each), never the large page sizes.
 * @MOCK_DOMAIN_SMALL_APERTURE: the domain translates only
 *	[MOCK_SMALL_APERTURE_START, MOCK_SMALL_APERTURE_LAST] instead of
 *	[0, MOCK_APERTURE_LAST].
 *
 * A mock domain maps in IO pages of half the CPU page size, so that IOVAs
 * and lengths need not be multiples of a CPU page, and, without
 * MOCK_DOMAIN_NO_HUGE_PAGES, also in 2 MiB and 1 GiB pages.
 */
enum iommu_test_mock_domain_flags {
	MOCK_DOMAIN_NO_HUGE_PAGES = 1 << 0,
	MOCK_DOMAIN_SMALL_APERTURE = 1 << 1,
};

/* Apertures of mock domains: 48 bits, or [1 MiB, 4 GiB) */
#define MOCK_APERTURE_LAST		0xffffffffffffULL
#define MOCK_SMALL_APERTURE_START	0x100000ULL
#define MOCK_SMALL_APERTURE_LAST	0xffffffffULL

/**
 * enum iommu_test_mock_prot - IO page permissions seen by MD_CHECK_MAP
 * @MOCK_PROT_READ: the device may read through the IO page
 * @MOCK_PROT_WRITE: the device may write through the IO page
 */
enum iommu_test_mock_prot {
	MOCK_PROT_READ = 1 << 0,
	MOCK_PROT_WRITE = 1 << 1,
};

/**
 * struct iommu_test_cmd - argument of IOMMU_TEST_CMD
 * @size: sizeof(struct iommu_test_cmd)
 * @op: one of enum iommu_test_op
 * @id: the object the operation works on: an IOAS for MOCK_DOMAIN and
 *	ADD_RESERVED, a mock domain for MD_CHECK_MAP and MD_CHECK_UNMAPPED;
 *	ignored by the other operations
 * @__reserved: must be 0
 * @mock_domain: arguments of IOMMU_TEST_OP_MOCK_DOMAIN
 * @mock_domain.flags: enum iommu_test_mock_domain_flags
 * @mock_domain.out_mock_id: ID of the new mock domain object
 * @check_map: arguments of IOMMU_TEST_OP_MD_CHECK_MAP
 * @check_map.iova: first IOVA to check, a multiple of the IO page size
 * @check_map.length: bytes to check, a multiple of the IO page size
 * @check_map.uptr: user address whose memory @check_map.iova must lead to
 * @check_map.prot: 0 to accept any permissions; otherwise every IO page
 *	must carry exactly these enum iommu_test_mock_prot bits
 * @check_map.__reserved: must be 0
 * @check_map.out_max_pgsize: largest page size the checked IO pages were
 *	mapped with (the IO page size, 2 MiB or 1 GiB)
 * @check_map.out_map_calls: number of calls of the driver's map_pages()
 *	that the checked range intersects. The IOMMU core splits one
 *	iommu_map() into one call per run of equally sized pages, so in a
 *	MOCK_DOMAIN_NO_HUGE_PAGES domain this is the number of iommu_map()
 *	calls.
 * @check_unmapped: arguments of IOMMU_TEST_OP_MD_CHECK_UNMAPPED
 * @check_unmapped.iova: first IOVA to check
 * @check_unmapped.length: bytes to check
 * @check_pins: arguments of IOMMU_TEST_OP_CHECK_PINS
 * @check_pins.uptr: start of the user range
 * @check_pins.length: bytes in the user range
 * @check_pins.pins: the pin count every page must have
 * @check_pins.__reserved: must be 0
 * @add_reserved: arguments of IOMMU_TEST_OP_ADD_RESERVED
 * @add_reserved.start: first IOVA to reserve
 * @add_reserved.length: bytes to reserve
 * @accounting: results of IOMMU_TEST_OP_ACCOUNTING
 * @accounting.out_locked_vm: pages charged to RLIMIT_MEMLOCK of the user
 * @accounting.out_pinned_vm: pages counted as pinned in the process's mm
 * @pin_batch: arguments of IOMMU_TEST_OP_SET_PIN_BATCH
 * @pin_batch.pages: largest number of pages to pin at once, 0 for default
 * @pin_batch.__reserved: must be 0
 *
 * Members whose names start with out_ are written back on success only.
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__u32 flags;
			__u32 out_mock_id;
		} mock_domain;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 prot;
			__u32 __reserved;
			__aligned_u64 out_max_pgsize;
			__aligned_u64 out_map_calls;
		} check_map;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
		} check_unmapped;
		struct {
			__aligned_u64 uptr;
			__aligned_u64 length;
			__u32 pins;
			__u32 __reserved;
		} check_pins;
		struct {
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		struct {
			__aligned_u64 out_locked_vm;
			__aligned_u64 out_pinned_vm;
		} accounting;
		struct {
			__u32 pages;
			__u32 __reserved;
		} pin_batch;
	};
};

#endif
