/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The test-only ioctl of iommufd, IOMMU_TEST_CMD.
 *
 * Shared by the kernel (selftest*.c, built only with CONFIG_IOMMUFD_TEST) and
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
 * @IOMMU_TEST_OP_MOCK_DEVICE_ADD: create a device behind the mock IOMMU
 *	with the capabilities of enum iommu_test_mock_device_flags, in a new
 *	iommu_group or, if mock_device.group is not 0, in the existing mock
 *	group of that number, and give it the driver of enum
 *	iommu_test_mock_driver: by default this iommufd binds it, as a VFIO
 *	driver would. Returns the number of the device's mock group and, for
 *	the caller's own use, two IDs: the mock device object, which the other
 *	MOCK_DEVICE operations take as @id and whose IOMMU_DESTROY detaches
 *	(if attached), unbinds or stops the DMA-API use, and removes the
 *	device; and, for a bound device only, the DEVICE object, which
 *	IOMMU_HWPT_ALLOC and IOMMU_GET_HW_INFO take as dev_id and which
 *	userspace cannot destroy. Any iommufd file may put devices into any
 *	mock group: the group number reaches no object of another file, only
 *	the group's DMA ownership, which decides whether the driver can have
 *	the device. @id is ignored. Errors: EOPNOTSUPP (unknown flag or
 *	driver, non-zero __reserved or __reserved2), ENOENT (no mock group has
 *	that number), EINVAL (the device's MOCK_DEVICE_ENFORCE_COHERENCY or
 *	MOCK_DEVICE_DIRTY_TRACKING differs from the group's), EBUSY (the
 *	group's DMA is owned by a DMA-API driver or by another iommufd file,
 *	for MOCK_DRIVER_IOMMUFD; owned by any iommufd file, for
 *	MOCK_DRIVER_DMA_API), any other error of iommufd_device_bind(), ENOMEM.
 * @IOMMU_TEST_OP_MOCK_DEVICE_ATTACH: iommufd_device_attach() of the mock
 *	device @id to the IOAS or HWPT pt_id; returns the HWPT used, which for
 *	an IOAS is the automatic HWPT chosen or created. If the result cannot
 *	be written back the device is detached again. Errors: ENOENT (no such
 *	mock device), EINVAL (the device is not bound to iommufd), EFAULT, and
 *	any error of iommufd_device_attach(); the
 *	mock IOMMU refuses with EINVAL to put a device on a domain that
 *	tracks dirty pages unless it has MOCK_DEVICE_DIRTY_TRACKING, or on a
 *	domain that enforces cache coherency unless it has
 *	MOCK_DEVICE_ENFORCE_COHERENCY.
 * @IOMMU_TEST_OP_MOCK_DEVICE_REPLACE: iommufd_device_replace() of the mock
 *	device @id with pt_id, as MOCK_DEVICE_ATTACH otherwise. On failure the
 *	device stays where it was, except that a failure to write the result
 *	back leaves it detached.
 * @IOMMU_TEST_OP_MOCK_DEVICE_DETACH: iommufd_device_detach() of the mock
 *	device @id. Errors: ENOENT (no such mock device), EINVAL (not bound
 *	to iommufd, or not attached).
 * @IOMMU_TEST_OP_MOCK_DEVICE_DOMAIN: report what the mock IOMMU translates
 *	with. For a mock device @id that is the domain the IOMMU core last
 *	attached to the device; @id may also be a HWPT (its domain) or a mock
 *	domain. See the mock_device_domain member. Errors: ENOENT (@id is none
 *	of those).
 * @IOMMU_TEST_OP_MOCK_DMA_WRITE: let a device write [iova, iova + length)
 *	through the translation of @id: a mock device (the domain it is
 *	attached to), a HWPT or a mock domain. Every IO page written must be
 *	mapped with write permission; the write stops at the first one that is
 *	not, like a DMA that faults, leaving the pages before it written. Where
 *	the translating domain (for a nested one, its parent) was allocated
 *	with IOMMU_HWPT_ALLOC_DIRTY_TRACKING and tracking is enabled, each
 *	written page is marked dirty, the whole page it was mapped with (e.g.
 *	2 MiB). A device on the identity domain writes without translation and
 *	always succeeds. Errors: ENOENT (@id is none of those), EFAULT (the
 *	device is blocked, or an IO page is unmapped or read-only), EINVAL
 *	(zero length), EOVERFLOW.
 * @IOMMU_TEST_OP_ACCESS_CREATE: create an in-kernel access to this file, as
 *	a VFIO mdev driver would (iommufd_access_create()), with the behaviour
 *	of enum iommu_test_access_flags, and, if @id is not 0, attach it to the
 *	IOAS @id. Returns two IDs: the access object, which the other ACCESS_
 *	operations take as @id and whose IOMMU_DESTROY gives back every page
 *	still pinned, detaches and destroys the access; and the ACCESS object,
 *	whose own IOMMU_DESTROY fails with EBUSY. Errors: EOPNOTSUPP (unknown
 *	flag or non-zero __reserved), ENOENT (@id is not 0 and not an IOAS),
 *	the errors of iommufd_access_attach(), ENOMEM.
 * @IOMMU_TEST_OP_ACCESS_ATTACH: iommufd_access_attach() of the access
 *	object @id to the IOAS ioas_id. Errors: ENOENT (no such access object
 *	or IOAS), EOPNOTSUPP (non-zero __reserved), and those of
 *	iommufd_access_attach(): EINVAL (already attached), EADDRINUSE (the
 *	access pins pages and a mapping of the IOAS is not PAGE_SIZE aligned),
 *	ENOMEM.
 * @IOMMU_TEST_OP_ACCESS_REPLACE: iommufd_access_replace() of the access
 *	object @id with the IOAS ioas_id; the access may be attached or not.
 *	Pins from the old IOAS are given back through the unmap callback
 *	(asked for the whole IOVA space) before the old IOAS is left, as a
 *	real driver gives them back. Errors: as ACCESS_ATTACH but never EINVAL
 *	for an attached access. On failure the access stays where it was.
 * @IOMMU_TEST_OP_ACCESS_DETACH: iommufd_access_detach() of the access object
 *	@id; pins are given back through the unmap callback as for
 *	ACCESS_REPLACE. Errors: ENOENT (no such access object), EINVAL (not
 *	attached).
 * @IOMMU_TEST_OP_ACCESS_PIN: iommufd_access_pin_pages() of [iova, iova +
 *	length) through the access object @id. The object keeps the range and
 *	its pages until ACCESS_UNPIN of the returned handle, until the unmap
 *	callback drops them (MOCK_ACCESS_UNMAP_IGNORE not set) or until the
 *	object is destroyed. If uptr is not 0 the pages are first compared with
 *	the pages that back [uptr, uptr + length) in the calling process; a
 *	mismatch gives them back and fails. Errors: ENOENT (no such access
 *	object, or part of the range is not mapped), EINVAL (the access was
 *	created without MOCK_ACCESS_PIN_PAGES, is not attached, the range is
 *	empty or not PAGE_SIZE aligned, or the pages differ from uptr's),
 *	E2BIG (more than MOCK_ACCESS_PIN_MAX bytes), EPERM (a write pin of a
 *	read-only mapping), EOPNOTSUPP (unknown flag), EFAULT (uptr's range
 *	cannot be faulted in), EOVERFLOW, ENOMEM.
 * @IOMMU_TEST_OP_ACCESS_UNPIN: iommufd_access_unpin_pages() of the pin with
 *	the given handle of the access object @id. Errors: ENOENT (no such
 *	access object or handle, including a pin the unmap callback dropped),
 *	EOPNOTSUPP (non-zero __reserved).
 * @IOMMU_TEST_OP_ACCESS_RW: copy length bytes between IOVA iova, read
 *	through the access object @id with iommufd_access_rw(), and the user
 *	buffer at uptr: into the buffer, or out of it with MOCK_ACCESS_RW_WRITE.
 *	The kernel copies through a buffer of its own, so the user buffer need
 *	not be mapped in the IOAS. Errors: ENOENT (no such access object, or
 *	part of the range is not mapped), EINVAL (not attached, zero length),
 *	E2BIG (more than MOCK_ACCESS_RW_MAX bytes), EPERM (a write to a
 *	read-only mapping, which may have written the bytes before it),
 *	EFAULT (the user buffer), EOPNOTSUPP (unknown flag), EOVERFLOW, ENOMEM.
 * @IOMMU_TEST_OP_ACCESS_INFO: report the pins the access object @id holds
 *	and what its unmap callback did so far. Errors: ENOENT (no such access
 *	object).
 * @IOMMU_TEST_OP_MOCK_DEVICE_PAGE_REQUEST: let the mock device @id issue a
 *	page request (PCIe PRI), as its IOMMU would report it: see the
 *	page_request member. A request without MOCK_PAGE_REQUEST_LAST waits in
 *	the core for the last one of its group. The core passes a completed
 *	group to the handler of the domain the device is attached to, or, when
 *	there is none, answers it itself. Errors: ENOENT (no such mock
 *	device), EINVAL (the device's I/O page faults are not enabled, it has
 *	no MOCK_DEVICE_IOPF, or the core found no fault handler and answered
 *	the request INVALID), EOPNOTSUPP (unknown flag), ENOMEM.
 * @IOMMU_TEST_OP_MOCK_DEVICE_PAGE_RESPONSE: take the oldest page response
 *	the mock device @id received, and report whether its I/O page faults
 *	are enabled: see the page_response member. Errors: ENOENT (no such
 *	mock device).
 * @IOMMU_TEST_OP_MOCK_DEVICE_TRY_DMA_API: ask the IOMMU core, as the driver
 *	core does before it probes a driver that uses the DMA API, whether the
 *	mock device @id may start using its group's default domain
 *	(iommu_device_use_default_domain()), and stop using it again at once
 *	if it may. The answer is the result of the call: 0 if a DMA-API driver
 *	could have the device now. The device must have been added with
 *	MOCK_DRIVER_NONE. Errors: ENOENT (no such mock device), EINVAL (the
 *	device has a driver), EBUSY (an iommufd file owns the group's DMA).
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
	IOMMU_TEST_OP_MOCK_DEVICE_ADD,
	IOMMU_TEST_OP_MOCK_DEVICE_ATTACH,
	IOMMU_TEST_OP_MOCK_DEVICE_REPLACE,
	IOMMU_TEST_OP_MOCK_DEVICE_DETACH,
	IOMMU_TEST_OP_MOCK_DEVICE_DOMAIN,
	IOMMU_TEST_OP_MOCK_DMA_WRITE,
	IOMMU_TEST_OP_ACCESS_CREATE,
	IOMMU_TEST_OP_ACCESS_ATTACH,
	IOMMU_TEST_OP_ACCESS_REPLACE,
	IOMMU_TEST_OP_ACCESS_DETACH,
	IOMMU_TEST_OP_ACCESS_PIN,
	IOMMU_TEST_OP_ACCESS_UNPIN,
	IOMMU_TEST_OP_ACCESS_RW,
	IOMMU_TEST_OP_ACCESS_INFO,
	IOMMU_TEST_OP_MOCK_DEVICE_TRY_DMA_API,
	IOMMU_TEST_OP_MOCK_DEVICE_PAGE_REQUEST,
	IOMMU_TEST_OP_MOCK_DEVICE_PAGE_RESPONSE,
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
 * @MOCK_PROT_CACHE: the IO page was mapped cacheable (IOMMU_CACHE), as
 *	iommufd maps everything
 */
enum iommu_test_mock_prot {
	MOCK_PROT_READ = 1 << 0,
	MOCK_PROT_WRITE = 1 << 1,
	MOCK_PROT_CACHE = 1 << 2,
};

/**
 * enum iommu_test_mock_device_flags - variants of IOMMU_TEST_OP_MOCK_DEVICE_ADD
 * @MOCK_DEVICE_ENFORCE_COHERENCY: the IOMMU can block no-snoop DMA of this
 *	device (IOMMU_CAP_ENFORCE_CACHE_COHERENCY). A mock paging domain
 *	agrees to enforce coherency only while every device translated by it
 *	has this flag, and once it enforces, refuses devices without it.
 * @MOCK_DEVICE_DIRTY_TRACKING: the IOMMU can track dirty pages for this
 *	device (IOMMU_CAP_DIRTY_TRACKING): HWPT_ALLOC with
 *	IOMMU_HWPT_ALLOC_DIRTY_TRACKING succeeds for it, and domains allocated
 *	that way accept only devices with this flag.
 * @MOCK_DEVICE_NO_RESV_REGION: the device has no reserved region. Without
 *	this flag it reports [MOCK_RESV_START, MOCK_RESV_LAST] as an MSI
 *	window (IOMMU_RESV_MSI), which attaching it reserves in the IOAS.
 * @MOCK_DEVICE_SW_MSI: the IOMMU leaves MSI translation to software, as ARM
 *	SMMUs do: instead of the x86 window the device reports
 *	[MOCK_SW_MSI_START, MOCK_SW_MSI_LAST] as IOMMU_RESV_SW_MSI, for which
 *	the paging domains it attaches to (the parent, for a nested one) must
 *	get an MSI cookie (MOCK_PROP_MSI_COOKIE).
 * @MOCK_DEVICE_FINALIZE_AT_ATTACH: like drivers that finish a domain only
 *	when a device attaches, the paging domains IOMMU_HWPT_ALLOC (and an
 *	automatic attach) allocates for this device have no aperture and no
 *	page sizes until a device attaches to them. HWPT_ALLOC of such a
 *	domain therefore fails (EINVAL); attaching the device to an IOAS
 *	works, as iommufd attaches before it fills the domain.
 * @MOCK_DEVICE_IOPF: the device can issue page requests (PCIe PRI): its
 *	IOMMU turns on I/O page faults for it (IOMMU_DEV_FEAT_IOPF), which
 *	iommufd needs to attach it to a HWPT with a FAULT object, and takes
 *	the answers. Without this flag that feature is refused (ENODEV).
 *
 * Every mock device keeps DMA cache coherent (IOMMU_CAP_CACHE_COHERENCY) and
 * sits on the mock IOMMU's identity domain while no driver owns it. The
 * IOMMU translates a group as a whole, so MOCK_DEVICE_ENFORCE_COHERENCY and
 * MOCK_DEVICE_DIRTY_TRACKING are the same for all devices of a group;
 * MOCK_DEVICE_NO_RESV_REGION, MOCK_DEVICE_SW_MSI and
 * MOCK_DEVICE_FINALIZE_AT_ATTACH are chosen per device.
 */
enum iommu_test_mock_device_flags {
	MOCK_DEVICE_ENFORCE_COHERENCY = 1 << 0,
	MOCK_DEVICE_DIRTY_TRACKING = 1 << 1,
	MOCK_DEVICE_NO_RESV_REGION = 1 << 2,
	MOCK_DEVICE_SW_MSI = 1 << 3,
	MOCK_DEVICE_FINALIZE_AT_ATTACH = 1 << 4,
	MOCK_DEVICE_IOPF = 1 << 5,
};

/**
 * enum iommu_test_page_request_flags - flags of a MOCK_DEVICE_PAGE_REQUEST
 * @MOCK_PAGE_REQUEST_PASID: the request carries a PASID
 * @MOCK_PAGE_REQUEST_LAST: the request is the last one of its group
 */
enum iommu_test_page_request_flags {
	MOCK_PAGE_REQUEST_PASID = 1 << 0,
	MOCK_PAGE_REQUEST_LAST = 1 << 1,
};

/* Page responses a mock device keeps; older ones are counted as lost */
#define MOCK_PAGE_RESPONSES	16

/**
 * enum iommu_test_mock_driver - the driver of a device MOCK_DEVICE_ADD makes
 * @MOCK_DRIVER_IOMMUFD: the calling iommufd file binds it, claiming DMA
 *	ownership of its group for that file (iommufd_device_bind())
 * @MOCK_DRIVER_NONE: no driver: the device only belongs to its group, so
 *	MOCK_DEVICE_DOMAIN shows what the group translates with, and
 *	MOCK_DEVICE_TRY_DMA_API asks whether a DMA-API driver could have it
 * @MOCK_DRIVER_DMA_API: a kernel driver that does DMA through the DMA API
 *	has it: iommu_device_use_default_domain() is called on it, and
 *	iommu_device_unuse_default_domain() when its mock device object is
 *	destroyed. No iommufd file can bind a device of its group meanwhile.
 */
enum iommu_test_mock_driver {
	MOCK_DRIVER_IOMMUFD = 0,
	MOCK_DRIVER_NONE,
	MOCK_DRIVER_DMA_API,
};

/* The MSI window every mock device reserves, as on x86 */
#define MOCK_RESV_START		0xfee00000ULL
#define MOCK_RESV_LAST		0xfeefffffULL
/* The software MSI window of MOCK_DEVICE_SW_MSI devices, as on ARM */
#define MOCK_SW_MSI_START	0x08000000ULL
#define MOCK_SW_MSI_LAST	0x080fffffULL

/**
 * enum iommu_test_mock_attached - what a device is attached to
 * @MOCK_ATTACHED_NONE: nothing; a device never attached by the IOMMU core
 * @MOCK_ATTACHED_BLOCKED: the blocking domain: all DMA faults
 * @MOCK_ATTACHED_IDENTITY: the identity domain: DMA is not translated
 * @MOCK_ATTACHED_PAGING: a mock paging domain
 * @MOCK_ATTACHED_NESTED: a mock nested domain on a NEST_PARENT paging domain
 */
enum iommu_test_mock_attached {
	MOCK_ATTACHED_NONE = 0,
	MOCK_ATTACHED_BLOCKED,
	MOCK_ATTACHED_IDENTITY,
	MOCK_ATTACHED_PAGING,
	MOCK_ATTACHED_NESTED,
};

/**
 * enum iommu_test_mock_domain_props - properties of a mock paging domain
 * @MOCK_PROP_NEST_PARENT: allocated with IOMMU_HWPT_ALLOC_NEST_PARENT
 * @MOCK_PROP_DIRTY_TRACKING: allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING
 * @MOCK_PROP_DIRTY_ENABLED: dirty tracking is switched on
 * @MOCK_PROP_COHERENCY_ENFORCED: enforce_cache_coherency() succeeded on it
 * @MOCK_PROP_MSI_COOKIE: it carries an MSI cookie, so the IRQ layer can map
 *	MSI doorbells into it
 */
enum iommu_test_mock_domain_props {
	MOCK_PROP_NEST_PARENT = 1 << 0,
	MOCK_PROP_DIRTY_TRACKING = 1 << 1,
	MOCK_PROP_DIRTY_ENABLED = 1 << 2,
	MOCK_PROP_COHERENCY_ENFORCED = 1 << 3,
	MOCK_PROP_MSI_COOKIE = 1 << 4,
};

/**
 * enum iommu_test_access_flags - variants of IOMMU_TEST_OP_ACCESS_CREATE
 * @MOCK_ACCESS_PIN_PAGES: the access is created with needs_pin_pages, so
 *	that ACCESS_PIN works; attaching it makes the IOAS require PAGE_SIZE
 *	alignment.
 * @MOCK_ACCESS_UNMAP_IGNORE: the unmap callback only counts its calls and
 *	keeps every pin, so that an unmap of a pinned range fails with EBUSY;
 *	when the access leaves its IOAS it still gives them back. Without it
 *	the callback gives back every pin that overlaps the range being
 *	unmapped.
 * @MOCK_ACCESS_UNMAP_REPIN: the unmap callback gives a pin back and then
 *	at once tries to pin the same range again, keeping it if that works,
 *	as a driver whose DMA is still running may; iommufd refuses such pins
 *	while the unmap is in progress, so the unmap still succeeds.
 */
enum iommu_test_access_flags {
	MOCK_ACCESS_PIN_PAGES = 1 << 0,
	MOCK_ACCESS_UNMAP_IGNORE = 1 << 1,
	MOCK_ACCESS_UNMAP_REPIN = 1 << 2,
};

/**
 * enum iommu_test_access_rw_flags - flags of ACCESS_PIN and ACCESS_RW
 * @MOCK_ACCESS_RW_WRITE: the pages will be written (ACCESS_PIN), or the
 *	bytes go from the user buffer into the IOAS (ACCESS_RW)
 * @MOCK_ACCESS_RW_KTHREAD: ACCESS_RW only: pass IOMMUFD_ACCESS_RW_KTHREAD,
 *	as a driver calling from a kernel thread would
 */
enum iommu_test_access_rw_flags {
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_KTHREAD = 1 << 1,
};

/* Largest range of one ACCESS_PIN (1 GiB) and of one ACCESS_RW (1 MiB) */
#define MOCK_ACCESS_PIN_MAX	0x40000000ULL
#define MOCK_ACCESS_RW_MAX	0x100000ULL

/* IOMMU_GET_HW_INFO out_data_type of a mock device */
#define IOMMU_HW_INFO_TYPE_SELFTEST	0xfeed
/* iommu_hw_info_mock.signature */
#define MOCK_HW_INFO_SIGNATURE		0x6d6f636b

/**
 * struct iommu_hw_info_mock - IOMMU_GET_HW_INFO data of a mock device
 * @dev_flags: the enum iommu_test_mock_device_flags it was created with
 * @signature: MOCK_HW_INFO_SIGNATURE
 * @aperture_last: last IOVA its paging domains translate
 */
struct iommu_hw_info_mock {
	__u32 dev_flags;
	__u32 signature;
	__aligned_u64 aperture_last;
};

/* IOMMU_HWPT_ALLOC data_type of a mock nested domain */
#define IOMMU_HWPT_DATA_SELFTEST	0xdead

/**
 * struct iommu_hwpt_mock_nested - IOMMU_HWPT_ALLOC data of a nested domain
 * @iotlb: initial value of the domain's emulated IOTLB tag, read back by
 *	IOMMU_TEST_OP_MOCK_DEVICE_DOMAIN
 * @__reserved: must be 0 (EOPNOTSUPP)
 *
 * The parent must be a mock paging domain allocated with
 * IOMMU_HWPT_ALLOC_NEST_PARENT. A mock nested domain translates like its
 * parent; its first stage exists only as the tag.
 */
struct iommu_hwpt_mock_nested {
	__u32 iotlb;
	__u32 __reserved;
};

/* IOMMU_HWPT_INVALIDATE data_type of a mock nested domain */
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST	0xdead

/**
 * struct iommu_hwpt_mock_invalidate - one invalidation of a mock nested domain
 * @flags: must be 0 (EOPNOTSUPP)
 * @iotlb: the tag the IOTLB holds after this entry; 0 is refused (EINVAL)
 *
 * Entries are applied in order until one is refused; each applied entry
 * sets the tag and counts one invalidation. Another data_type fails with
 * EOPNOTSUPP before any entry is read.
 */
struct iommu_hwpt_mock_invalidate {
	__u32 flags;
	__u32 iotlb;
};

/**
 * struct iommu_test_cmd - argument of IOMMU_TEST_CMD
 * @size: sizeof(struct iommu_test_cmd)
 * @op: one of enum iommu_test_op
 * @id: the object the operation works on: an IOAS for MOCK_DOMAIN and
 *	ADD_RESERVED, an IOAS or 0 for ACCESS_CREATE; an access object for the
 *	other ACCESS_ operations; a mock device for MOCK_DEVICE_ATTACH, _REPLACE,
 *	_DETACH and _TRY_DMA_API; for MD_CHECK_MAP, MD_CHECK_UNMAPPED, MOCK_DEVICE_DOMAIN and
 *	MOCK_DMA_WRITE a mock domain, a mock device (the domain it is attached
 *	to) or a HWPT (its domain). MD_CHECK_* check the paging domain that
 *	holds the IOAS's mappings, which for a nested domain is its parent, and
 *	fail with ENXIO for a device on the blocking or identity domain.
 *	Ignored by the other operations.
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
 * @mock_device: arguments of IOMMU_TEST_OP_MOCK_DEVICE_ADD
 * @mock_device.flags: enum iommu_test_mock_device_flags
 * @mock_device.out_mock_dev_id: ID of the new mock device object
 * @mock_device.out_idev_id: ID of the DEVICE object it is bound as; 0 for
 *	a device that is not bound to iommufd
 * @mock_device.__reserved: must be 0
 * @mock_device.driver: enum iommu_test_mock_driver
 * @mock_device.group: 0 for a new group, or the number of the mock group
 *	to put the device in
 * @mock_device.out_group: the number of the device's mock group, never 0.
 *	The number is global: every iommufd file knows a group by it, and it
 *	stays the same while the group has a mock device.
 * @mock_device.__reserved2: must be 0
 * @mock_attach: arguments of MOCK_DEVICE_ATTACH and MOCK_DEVICE_REPLACE
 * @mock_attach.pt_id: the IOAS or HWPT to attach to
 * @mock_attach.out_hwpt_id: the HWPT the device is now attached to
 * @mock_device_domain: results of IOMMU_TEST_OP_MOCK_DEVICE_DOMAIN
 * @mock_device_domain.out_attached: enum iommu_test_mock_attached
 * @mock_device_domain.out_props: enum iommu_test_mock_domain_props of the
 *	paging domain, or of the parent of a nested one; 0 otherwise
 * @mock_device_domain.out_cookie: a number that tells mock paging and nested
 *	domains apart: never 0, and handed out in increasing order, so not
 *	reused before 2^32 mock domains have been allocated; 0 for the
 *	blocking and identity domains. Two devices, or a device and a HWPT,
 *	share a domain exactly when their cookies are equal.
 * @mock_device_domain.out_parent_cookie: the cookie of the parent of a
 *	nested domain; 0 otherwise
 * @mock_device_domain.out_iotlb: IOTLB tag of a nested domain; 0 otherwise
 * @mock_device_domain.out_invalidations: invalidation entries applied to a
 *	nested domain since it was allocated; 0 otherwise
 * @dma_write: arguments of IOMMU_TEST_OP_MOCK_DMA_WRITE
 * @dma_write.iova: first IOVA written
 * @dma_write.length: bytes written
 * @access_create: arguments of IOMMU_TEST_OP_ACCESS_CREATE
 * @access_create.flags: enum iommu_test_access_flags
 * @access_create.out_access_obj_id: ID of the new access object
 * @access_create.out_access_id: ID of the ACCESS object of the access
 * @access_create.__reserved: must be 0
 * @access_attach: arguments of ACCESS_ATTACH and ACCESS_REPLACE
 * @access_attach.ioas_id: the IOAS to attach to
 * @access_attach.__reserved: must be 0
 * @access_pin: arguments of IOMMU_TEST_OP_ACCESS_PIN
 * @access_pin.iova: first IOVA, a multiple of PAGE_SIZE
 * @access_pin.length: bytes, a multiple of PAGE_SIZE
 * @access_pin.uptr: 0, or the user address whose pages the pinned ones
 *	must be
 * @access_pin.flags: enum iommu_test_access_rw_flags, only
 *	MOCK_ACCESS_RW_WRITE
 * @access_pin.out_handle: names the pin for ACCESS_UNPIN; never 0
 * @access_unpin: arguments of IOMMU_TEST_OP_ACCESS_UNPIN
 * @access_unpin.handle: a handle ACCESS_PIN returned
 * @access_unpin.__reserved: must be 0
 * @access_rw: arguments of IOMMU_TEST_OP_ACCESS_RW
 * @access_rw.iova: first IOVA
 * @access_rw.uptr: the user buffer
 * @access_rw.length: bytes to copy
 * @access_rw.flags: enum iommu_test_access_rw_flags
 * @access_rw.__reserved: must be 0
 * @page_request: arguments of IOMMU_TEST_OP_MOCK_DEVICE_PAGE_REQUEST
 * @page_request.flags: enum iommu_test_page_request_flags
 * @page_request.pasid: the PASID, with MOCK_PAGE_REQUEST_PASID
 * @page_request.grpid: the page request group index
 * @page_request.perm: enum iommu_hwpt_pgfault_perm bits
 * @page_request.addr: the faulting address
 * @page_response: results of IOMMU_TEST_OP_MOCK_DEVICE_PAGE_RESPONSE
 * @page_response.out_iopf_enabled: 1 if the device's I/O page faults are
 *	enabled
 * @page_response.out_responses: responses the device held before this
 *	call, the one reported included; 0 if it held none, and then the
 *	members below are 0
 * @page_response.out_lost: responses dropped, since the device was
 *	created, because MOCK_PAGE_RESPONSES were waiting to be taken
 * @page_response.out_grpid: the group index the response answers
 * @page_response.out_pasid: the PASID it answers
 * @page_response.out_code: its enum iommufd_page_response_code, or 2 for
 *	the core's own "Response Failure"
 * @access_info: results of IOMMU_TEST_OP_ACCESS_INFO
 * @access_info.out_pins: pins the object holds
 * @access_info.out_unmap_calls: calls of the unmap callback
 * @access_info.out_unmap_unpins: pins the unmap callback gave back
 * @access_info.out_attached: 1 if the access is attached, 0 if not
 * @access_info.out_last_unmap_iova: first IOVA of the last call of the unmap
 *	callback; 0 if there was none
 * @access_info.out_last_unmap_length: its length
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
		struct {
			__u32 flags;
			__u32 out_mock_dev_id;
			__u32 out_idev_id;
			__u32 __reserved;
			__u32 driver;
			__u32 group;
			__u32 out_group;
			__u32 __reserved2;
		} mock_device;
		struct {
			__u32 pt_id;
			__u32 out_hwpt_id;
		} mock_attach;
		struct {
			__u32 out_attached;
			__u32 out_props;
			__u32 out_cookie;
			__u32 out_parent_cookie;
			__u32 out_iotlb;
			__u32 out_invalidations;
		} mock_device_domain;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
		} dma_write;
		struct {
			__u32 flags;
			__u32 out_access_obj_id;
			__u32 out_access_id;
			__u32 __reserved;
		} access_create;
		struct {
			__u32 ioas_id;
			__u32 __reserved;
		} access_attach;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
			__u32 out_handle;
		} access_pin;
		struct {
			__u32 handle;
			__u32 __reserved;
		} access_unpin;
		struct {
			__aligned_u64 iova;
			__aligned_u64 uptr;
			__aligned_u64 length;
			__u32 flags;
			__u32 __reserved;
		} access_rw;
		struct {
			__u32 flags;
			__u32 pasid;
			__u32 grpid;
			__u32 perm;
			__aligned_u64 addr;
		} page_request;
		struct {
			__u32 out_iopf_enabled;
			__u32 out_responses;
			__u32 out_lost;
			__u32 out_grpid;
			__u32 out_pasid;
			__u32 out_code;
		} page_response;
		struct {
			__u32 out_pins;
			__u32 out_unmap_calls;
			__u32 out_unmap_unpins;
			__u32 out_attached;
			__aligned_u64 out_last_unmap_iova;
			__aligned_u64 out_last_unmap_length;
		} access_info;
	};
};

#endif
