/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/iommu (iommufd) user ABI.
 *
 * Numbers, names and structure layouts are those of Linux 6.12 and must stay
 * that way: VFIO and the Intel, AMD and ARM SMMUv3 drivers include this file,
 * and existing binaries depend on it. The descriptions are this project's own.
 */
#ifndef _UAPI_IOMMUFD_H
#define _UAPI_IOMMUFD_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * DOC: iommufd objects
 *
 * Each open() of /dev/iommu creates a private context. Everything userspace
 * builds through that file descriptor lives in the context as an object, and
 * every object is known to userspace by a 32-bit ID that the kernel picks when
 * the object is created. IDs are local to one context, 0 is never a valid ID,
 * and an ID stays attached to its object until the object is destroyed.
 * Closing the file descriptor tears down every object of the context.
 *
 * The kinds of objects are:
 *
 * IOAS
 *   An I/O address space: the kernel's record of which IOVA ranges lead to
 *   which user memory, kept independently of any IOMMU hardware. Created with
 *   IOMMU_IOAS_ALLOC and filled with IOMMU_IOAS_MAP and IOMMU_IOAS_COPY.
 *
 * DEVICE
 *   A device that a kernel driver (VFIO, through VFIO_DEVICE_BIND_IOMMUFD) has
 *   bound to the context. The driver reports the ID. Userspace cannot destroy
 *   it; it disappears when the driver unbinds.
 *
 * HWPT
 *   A hardware page table, i.e. an IOMMU domain that devices attach to. A
 *   paging HWPT is managed by the kernel and mirrors the mappings of one IOAS;
 *   it is created implicitly when a device is attached to an IOAS, or
 *   explicitly with IOMMU_HWPT_ALLOC. A nested HWPT is a stage-1 table owned
 *   by userspace (typically a guest) that translates through a paging HWPT
 *   allocated with IOMMU_HWPT_ALLOC_NEST_PARENT.
 *
 * ACCESS
 *   An in-kernel user of an IOAS, such as an emulated (mdev) device, which
 *   reads, writes or pins IOAS memory with the CPU instead of going through an
 *   IOMMU. Drivers create and remove it; for such devices the ID that VFIO
 *   reports as the device ID names the ACCESS.
 *
 * FAULT
 *   A queue that hands I/O page faults of HWPTs to userspace over a file
 *   descriptor of its own. Created with IOMMU_FAULT_QUEUE_ALLOC.
 *
 * An object that others depend on cannot be destroyed while they exist: an
 * IOAS used by a HWPT or an ACCESS, a paging HWPT with devices attached or
 * with nested HWPTs on top, a FAULT that a HWPT reports to.
 */

/**
 * DOC: iommufd ioctl conventions
 *
 * Every ioctl takes a pointer to a structure whose first member is a __u32
 * called size, which the caller sets to sizeof() of the structure as it was
 * compiled. This lets the structures grow at their end:
 *
 * - The kernel reads min(size, its own sizeof) bytes and treats any member
 *   beyond the caller's size as zero.
 * - A size larger than the kernel's structure is accepted as long as all the
 *   extra bytes are zero.
 * - Output members are written back only up to the caller's size, and,
 *   unless an ioctl says otherwise, only when the ioctl succeeds.
 *
 * Most ioctls require size to cover their whole structure. Two accept a
 * shorter, older form: IOMMU_HWPT_ALLOC from 24 bytes and IOMMU_GET_HW_INFO
 * from 32 bytes (in both cases up to and including the first member named
 * __reserved).
 *
 * Errors that any of the ioctls can return, with the meaning they always
 * have:
 *
 * - ENOTTY: the command number is not one this kernel implements.
 * - EFAULT: the argument, or memory a user pointer in it refers to, could
 *   not be read or written.
 * - EINVAL: size is below the minimum of that ioctl; or every member was
 *   understood but a value is not acceptable (zero length, misaligned IOVA,
 *   inverted range, ...).
 * - E2BIG: size is larger than the kernel's structure and the bytes the
 *   kernel does not know about are not all zero.
 * - EOPNOTSUPP: a reserved member is not zero, a flag bit, operation, option
 *   or data type is unknown, or the hardware lacks the requested feature.
 * - ENOENT: an ID is unknown, belongs to an object of a different kind than
 *   the member requires, or names an object that is being destroyed; also an
 *   IOVA range that has nothing mapped where something is required.
 * - EBUSY: the object is still in use by another object or by an ioctl
 *   running concurrently.
 * - ENOMEM: the kernel ran out of memory, or pinning user pages would exceed
 *   RLIMIT_MEMLOCK.
 * - EOVERFLOW: an address calculation wrapped, or a value does not fit the
 *   kernel's unsigned long.
 *
 * Errors specific to one ioctl are listed with its structure below.
 */

/**
 * DOC: iommufd IOVA space rules
 *
 * Where an IOAS can map is decided by three things.
 *
 * The allowed list
 *   Ranges that userspace has asked to keep usable, set only by
 *   IOMMU_IOAS_ALLOW_IOVAS. An empty list, the state of a new IOAS, means
 *   "no constraint": the whole 64-bit space counts as allowed.
 *
 * The reserved list
 *   Ranges the kernel refuses to map. Every paging HWPT built on the IOAS
 *   reserves everything outside the aperture its domain can translate, and
 *   every device attached to the IOAS reserves its reserved regions (for
 *   example an MSI doorbell window, or firmware-owned ranges).
 *
 * The alignment
 *   The largest of: 1; the smallest page size of each paging HWPT of the
 *   IOAS; PAGE_SIZE while IOMMU_OPTION_HUGE_PAGES is 0; PAGE_SIZE while an
 *   ACCESS that pins pages is attached. It never exceeds PAGE_SIZE.
 *
 * The usable ranges are the whole space with the aperture limits and
 * reserved regions cut out; the allowed list does not narrow them.
 * IOMMU_IOAS_IOVA_RANGES reports exactly these ranges and the alignment. Each operation changes
 * them as follows:
 *
 * - IOMMU_IOAS_ALLOC: one usable range, 0 to U64_MAX, alignment 1.
 * - Creating a paging HWPT on the IOAS (implicitly by the first attach of a
 *   device that cannot share an existing one, or with IOMMU_HWPT_ALLOC and
 *   an IOAS @pt_id): cuts out everything outside the domain's aperture and
 *   raises the alignment to the domain's smallest page size. Fails with
 *   EADDRINUSE if an allowed range or an existing mapping lies outside the
 *   aperture, or if an existing mapping is not aligned to the new alignment.
 * - Attaching a device: cuts out the device's reserved regions. Fails with
 *   EADDRINUSE, and changes nothing, if one of them overlaps an allowed range
 *   or an existing mapping; nothing is narrowed silently.
 * - Detaching a device: gives its reserved regions back. Destroying a paging
 *   HWPT (an implicit one goes with its last device, an explicit one with
 *   IOMMU_DESTROY) removes its aperture limit and may lower the alignment.
 *   Usable ranges can therefore widen; query them again after a detach.
 * - IOMMU_IOAS_ALLOW_IOVAS: replaces the allowed list; the reserved list
 *   and the alignment are untouched.
 * - IOMMU_OPTION_HUGE_PAGES: setting 0 raises the alignment to PAGE_SIZE,
 *   setting 1 lets it fall back.
 * - IOMMU_IOAS_MAP, IOMMU_IOAS_COPY and IOMMU_IOAS_UNMAP use the usable
 *   ranges but never change them.
 *
 * Once an allowed list is set, automatic IOVA selection only picks from
 * it; a MAP or COPY with a fixed IOVA outside it is still accepted. The
 * kernel never shrinks an allowed range: the attach or HWPT creation that
 * would do so is refused instead.
 */

#define IOMMUFD_TYPE (';')

/**
 * enum - iommufd command numbers
 * @IOMMUFD_CMD_BASE: first number used by iommufd
 * @IOMMUFD_CMD_DESTROY: IOMMU_DESTROY
 * @IOMMUFD_CMD_IOAS_ALLOC: IOMMU_IOAS_ALLOC
 * @IOMMUFD_CMD_IOAS_ALLOW_IOVAS: IOMMU_IOAS_ALLOW_IOVAS
 * @IOMMUFD_CMD_IOAS_COPY: IOMMU_IOAS_COPY
 * @IOMMUFD_CMD_IOAS_IOVA_RANGES: IOMMU_IOAS_IOVA_RANGES
 * @IOMMUFD_CMD_IOAS_MAP: IOMMU_IOAS_MAP
 * @IOMMUFD_CMD_IOAS_UNMAP: IOMMU_IOAS_UNMAP
 * @IOMMUFD_CMD_OPTION: IOMMU_OPTION
 * @IOMMUFD_CMD_VFIO_IOAS: IOMMU_VFIO_IOAS
 * @IOMMUFD_CMD_HWPT_ALLOC: IOMMU_HWPT_ALLOC
 * @IOMMUFD_CMD_GET_HW_INFO: IOMMU_GET_HW_INFO
 * @IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING: IOMMU_HWPT_SET_DIRTY_TRACKING
 * @IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP: IOMMU_HWPT_GET_DIRTY_BITMAP
 * @IOMMUFD_CMD_HWPT_INVALIDATE: IOMMU_HWPT_INVALIDATE
 * @IOMMUFD_CMD_FAULT_QUEUE_ALLOC: IOMMU_FAULT_QUEUE_ALLOC
 * @IOMMUFD_CMD_IOAS_MAP_FILE: IOMMU_IOAS_MAP_FILE, added after 6.12
 * @IOMMUFD_CMD_IOAS_CHANGE_PROCESS: IOMMU_IOAS_CHANGE_PROCESS, added after
 *	6.12. 0x90 and 0x91 belong to later upstream ioctls this kernel does
 *	not provide (ENOTTY).
 *
 * The _IOC_NR() values of the iommufd ioctls, all of type IOMMUFD_TYPE. They
 * are plain _IO() numbers: the argument size is carried in the structure
 * itself, not encoded in the ioctl number.
 */
enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
	IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
	IOMMUFD_CMD_IOAS_COPY = 0x83,
	IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	IOMMUFD_CMD_IOAS_MAP = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	IOMMUFD_CMD_OPTION = 0x87,
	IOMMUFD_CMD_VFIO_IOAS = 0x88,
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
	IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e,
	IOMMUFD_CMD_IOAS_MAP_FILE = 0x8f,
	IOMMUFD_CMD_IOAS_CHANGE_PROCESS = 0x92,
};

/*
 * The ioctl requests. Each takes the structure named like it in lower case
 * (IOMMU_IOAS_MAP takes struct iommu_ioas_map), except IOMMU_GET_HW_INFO,
 * which takes struct iommu_hw_info, and IOMMU_FAULT_QUEUE_ALLOC, which takes
 * struct iommu_fault_alloc.
 */
#define IOMMU_DESTROY		_IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)
#define IOMMU_IOAS_ALLOC	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)
#define IOMMU_IOAS_ALLOW_IOVAS	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)
#define IOMMU_IOAS_COPY		_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)
#define IOMMU_IOAS_IOVA_RANGES	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)
#define IOMMU_IOAS_MAP		_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)
#define IOMMU_IOAS_UNMAP	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)
#define IOMMU_OPTION		_IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)
#define IOMMU_VFIO_IOAS		_IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)
#define IOMMU_HWPT_ALLOC	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)
#define IOMMU_GET_HW_INFO	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)
#define IOMMU_HWPT_SET_DIRTY_TRACKING \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)
#define IOMMU_HWPT_GET_DIRTY_BITMAP \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)
#define IOMMU_HWPT_INVALIDATE	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)
#define IOMMU_FAULT_QUEUE_ALLOC	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)
#define IOMMU_IOAS_MAP_FILE	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE)
#define IOMMU_IOAS_CHANGE_PROCESS \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_CHANGE_PROCESS)

/* Object lifetime */

/**
 * struct iommu_destroy - argument of IOMMU_DESTROY
 * @size: sizeof(struct iommu_destroy)
 * @id: the object to destroy, of any kind userspace may destroy
 *
 * Removes one object from the context and frees its ID.
 *
 * Errors: ENOENT if @id names no object. EBUSY if the object is still needed:
 * another object depends on it (see the object model), an ioctl is using it
 * at that moment, or it is a DEVICE or ACCESS owned by a kernel driver.
 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};

/* I/O address spaces */

/**
 * struct iommu_ioas_alloc - argument of IOMMU_IOAS_ALLOC
 * @size: sizeof(struct iommu_ioas_alloc)
 * @flags: no flags are defined; must be 0
 * @out_ioas_id: returns the ID of the new IOAS
 *
 * Creates an empty IOAS: nothing mapped, no allowed list, no reserved ranges
 * and an alignment of 1.
 *
 * Errors: EOPNOTSUPP if @flags is not 0.
 */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};

/**
 * struct iommu_iova_range - a closed interval of IOVAs
 * @start: lowest IOVA of the interval
 * @last: highest IOVA of the interval, included in it
 *
 * Element of the arrays exchanged by IOMMU_IOAS_IOVA_RANGES and
 * IOMMU_IOAS_ALLOW_IOVAS. Using the last address rather than a length lets a
 * range reach U64_MAX.
 */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/**
 * struct iommu_ioas_iova_ranges - argument of IOMMU_IOAS_IOVA_RANGES
 * @size: sizeof(struct iommu_ioas_iova_ranges)
 * @ioas_id: the IOAS to query
 * @num_iovas: in: capacity of the @allowed_iovas array, in elements;
 *             out: number of usable ranges the IOAS has right now
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range that
 *                 receives the usable ranges, in ascending order
 * @out_iova_alignment: returns the alignment that IOVAs and lengths given
 *                      to IOMMU_IOAS_MAP and IOMMU_IOAS_COPY must have
 *
 * Reports where the IOAS can map at this moment: the whole space minus the
 * apertures and reserved regions of the attached HWPTs and devices (the
 * allowed list is not shown), as described in "iommufd IOVA space rules". The answer
 * is only a snapshot; attaching or detaching devices changes it.
 *
 * A MAP or COPY at @iova of @length bytes is acceptable only when both @iova
 * and @iova + @length are multiples of @out_iova_alignment. An alignment of 1
 * means any byte address.
 *
 * If the array is too small, as many ranges as fit are stored, @num_iovas
 * and @out_iova_alignment are still written back, and the ioctl fails with
 * EMSGSIZE; call it again with an array of at least @num_iovas elements.
 * Passing @num_iovas = 0 is the usual way to learn the count.
 *
 * Errors: ENOENT if @ioas_id is not an IOAS. EOPNOTSUPP if @__reserved is not
 * 0. EMSGSIZE as above. EFAULT if the array cannot be written.
 */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};

/**
 * struct iommu_ioas_allow_iovas - argument of IOMMU_IOAS_ALLOW_IOVAS
 * @size: sizeof(struct iommu_ioas_allow_iovas)
 * @ioas_id: the IOAS to constrain
 * @num_iovas: number of elements in @allowed_iovas; 0 removes the constraint
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range
 *
 * Sets the IOAS's allowed list, replacing any previous one as a whole. The
 * list steers automatic IOVA selection of IOMMU_IOAS_MAP and
 * IOMMU_IOAS_COPY, which only picks from it; a fixed IOVA outside it is
 * still accepted. The kernel promises to keep it usable: a later device
 * attach or HWPT creation that would reserve part of an allowed range fails
 * with EADDRINUSE rather than narrowing it.
 *
 * With @num_iovas = 0 the list becomes empty and the IOAS is unconstrained
 * again, as a new one is.
 *
 * The ranges may be given in any order but must not overlap each other.
 * Nothing changes when the ioctl fails.
 *
 * Errors: ENOENT if @ioas_id is not an IOAS. EOPNOTSUPP if @__reserved is not
 * 0. EINVAL if a range has @start >= @last (a one-byte range is refused)
 * or overlaps another range of the array. EADDRINUSE if a range overlaps
 * what is already reserved (an aperture limit or a device reserved region).
 * EFAULT if the array cannot be read. Existing mappings are not checked
 * against the new list, as in 6.12.
 */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};

/**
 * enum iommufd_ioas_map_flags - flags of IOMMU_IOAS_MAP and IOMMU_IOAS_COPY
 * @IOMMU_IOAS_MAP_FIXED_IOVA: place the mapping at the IOVA given by the
 *                             caller; without it the kernel chooses the IOVA
 *                             and returns it
 * @IOMMU_IOAS_MAP_WRITEABLE: devices may write through the mapping
 * @IOMMU_IOAS_MAP_READABLE: devices may read through the mapping
 *
 * At least one of the two permission flags must be given.
 */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/**
 * struct iommu_ioas_map - argument of IOMMU_IOAS_MAP
 * @size: sizeof(struct iommu_ioas_map)
 * @flags: combination of enum iommufd_ioas_map_flags
 * @ioas_id: the IOAS that receives the mapping
 * @__reserved: must be 0
 * @user_va: start of the process memory to map
 * @length: number of bytes to map
 * @iova: with IOMMU_IOAS_MAP_FIXED_IOVA, in: where to map; otherwise out:
 *        where the kernel put the mapping
 *
 * Makes [@user_va, @user_va + @length) reachable by DMA at [@iova,
 * @iova + @length) in every domain the IOAS feeds. Memory is pinned
 * (long-term) and charged only while something needs it: if the IOAS has a
 * domain this call pins it, and fails if it cannot; otherwise nothing is
 * pinned, charged or even checked until a domain is attached (which then
 * fails instead) or an in-kernel access pins part of it. A page is pinned
 * and charged once however many domains, copies and accesses use it.
 *
 * The IOVA range must avoid the reserved ranges, be aligned as reported by
 * IOMMU_IOAS_IOVA_RANGES, and be free: an existing mapping is never
 * replaced. The offset of @user_va inside its CPU page must be a multiple of
 * the alignment; with alignment 1 (no domain) nothing ties @iova's page
 * offset to @user_va's. Without FIXED_IOVA the kernel searches from
 * PAGE_SIZE (never IOVA 0) up to U64_MAX - PAGE_SIZE, inside the allowed
 * list if there is one, for the lowest hole that holds the range at an
 * IOVA aligned to @length rounded up to a power of two, but not beyond the
 * alignment of @user_va nor beyond a PMD-sized page, with the page offset
 * of @user_va ORed in.
 *
 * Each successful call creates one mapping that IOMMU_IOAS_UNMAP can only
 * remove as a whole.
 *
 * Errors: ENOENT if @ioas_id is not an IOAS. EOPNOTSUPP for unknown @flags
 * bits or a non-zero @__reserved. EINVAL if neither WRITEABLE nor READABLE is
 * set, @length is 0 or above SIZE_MAX - PAGE_SIZE, an IOVA, the length or
 * the page offset of @user_va is misaligned, or a fixed range touches a
 * reserved range. EEXIST if a fixed range overlaps an existing mapping.
 * ENOSPC if no suitable hole exists. EOVERFLOW if @iova or @length exceed
 * unsigned long, @user_va + @length or a fixed range wraps, or an automatic
 * @length is ULONG_MAX / 2 or more. EFAULT if the IOAS has a domain and the
 * memory cannot be pinned. ENOMEM if memory runs out or, with a domain,
 * RLIMIT_MEMLOCK would be exceeded.
 */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};

/**
 * struct iommu_ioas_copy - argument of IOMMU_IOAS_COPY
 * @size: sizeof(struct iommu_ioas_copy)
 * @flags: combination of enum iommufd_ioas_map_flags, applying to the new
 *         mapping
 * @dst_ioas_id: the IOAS that receives the new mapping
 * @src_ioas_id: the IOAS whose mappings supply the memory; may equal
 *               @dst_ioas_id
 * @length: number of bytes to copy
 * @dst_iova: with IOMMU_IOAS_MAP_FIXED_IOVA, in: where to map in the
 *            destination; otherwise out: where the kernel put the mapping
 * @src_iova: first IOVA of the source range
 *
 * Creates a mapping in the destination IOAS that points at the same user
 * memory as [@src_iova, @src_iova + @length) of the source IOAS. The memory
 * is never pinned or charged a second time: the new mapping shares the pages
 * of the source (pinned already, or pinned once for both when a domain needs
 * them), which makes COPY cheaper than a second MAP of the same buffer. Only
 * the mapping is copied, not any data.
 *
 * The source range must be completely covered by existing mappings, with no
 * hole. The destination follows the same rules as IOMMU_IOAS_MAP.
 *
 * Errors: ENOENT if an ID is not an IOAS or the source range is not fully
 * mapped. EPERM if WRITEABLE is requested but the source memory was mapped
 * without it. All other errors are those of IOMMU_IOAS_MAP.
 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};

/**
 * struct iommu_ioas_unmap - argument of IOMMU_IOAS_UNMAP
 * @size: sizeof(struct iommu_ioas_unmap)
 * @ioas_id: the IOAS to remove mappings from
 * @iova: first IOVA of the range
 * @length: in: length of the range in bytes; out: number of bytes unmapped
 *
 * Removes every mapping that lies inside [@iova, @iova + @length). Mappings
 * are atomic units: a mapping that sticks out of either end of the range is
 * not split or trimmed. The mappings are taken in IOVA order; the first one
 * that sticks out fails the call with ENOENT, after the whole mappings met
 * before it were removed (as 6.12 does; @length is not written then). The
 * special range @iova = 0, @length = U64_MAX removes everything and succeeds
 * on an empty IOAS.
 *
 * Errors: ENOENT if the IOAS does not exist, if nothing is mapped in the
 * range (other than for the special range), or if a mapping crosses its
 * start or end. EINVAL if @length is 0. EOVERFLOW if @iova or @length exceed
 * unsigned long or the range wraps.
 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};

/* Options */

/**
 * enum iommufd_option - values of struct iommu_option.option_id
 * @IOMMU_OPTION_RLIMIT_MODE: how pinned memory is charged against
 *     RLIMIT_MEMLOCK in this context. Every pinned page counts in the
 *     process's pinned_vm (VmPin). 0, the default, also charges the user
 *     owning the process (user->locked_vm); 1 charges the process's
 *     locked_vm (VmLck) instead, as VFIO type1 does. Memory mapped by a
 *     process with CAP_IPC_LOCK is charged to neither, only counted in
 *     VmPin. The limit is that of the process that mapped the memory, at
 *     the time it is pinned. Applies to the whole context, so @object_id
 *     must be 0. Setting needs CAP_SYS_RESOURCE (EPERM otherwise) and a
 *     context that has no objects yet (EBUSY otherwise); values other than
 *     0 and 1 are rejected with EINVAL. The checks are made in that order.
 * @IOMMU_OPTION_HUGE_PAGES: whether physically contiguous memory may be
 *     mapped with IOMMU pages larger than PAGE_SIZE. 1, the default, allows
 *     it; 0 maps every page separately (useful for measurements) and raises
 *     the IOAS alignment to PAGE_SIZE. Applies to one IOAS, named by
 *     @object_id. Values other than 0 and 1 give EINVAL; so does setting 0
 *     while the IOAS has both a domain and mappings. Setting 0 fails with
 *     EADDRINUSE if an existing mapping is not aligned to PAGE_SIZE.
 */
enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};

/**
 * enum iommufd_option_ops - values of struct iommu_option.op
 * @IOMMU_OPTION_OP_SET: store @val64 as the option's new value
 * @IOMMU_OPTION_OP_GET: return the option's current value in @val64
 */
enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/**
 * struct iommu_option - argument of IOMMU_OPTION
 * @size: sizeof(struct iommu_option)
 * @option_id: one of enum iommufd_option
 * @op: one of enum iommufd_option_ops
 * @__reserved: must be 0
 * @object_id: the object the option belongs to, or 0 for a context option
 * @val64: value to set, or the value read
 *
 * Reads or changes one small setting, either of the context or of one of its
 * objects. @val64 is written back on success for both operations.
 *
 * Errors: EOPNOTSUPP for an unknown @option_id or @op, a non-zero
 * @__reserved, or a non-zero @object_id for a context option. ENOENT if
 * @object_id does not name the kind of object the option needs. Other errors
 * are listed with each option in enum iommufd_option.
 */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};

/* VFIO container compatibility */

/**
 * enum iommufd_vfio_ioas_op - values of struct iommu_vfio_ioas.op
 * @IOMMU_VFIO_IOAS_GET: report the IOAS used for VFIO compatibility
 * @IOMMU_VFIO_IOAS_SET: make @ioas_id the IOAS used for VFIO compatibility
 * @IOMMU_VFIO_IOAS_CLEAR: forget the compatibility IOAS
 */
enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/**
 * struct iommu_vfio_ioas - argument of IOMMU_VFIO_IOAS
 * @size: sizeof(struct iommu_vfio_ioas)
 * @ioas_id: for SET, the IOAS to use; for GET, returns the IOAS in use
 * @op: one of enum iommufd_vfio_ioas_op
 * @__reserved: must be 0
 *
 * The legacy VFIO container ioctls, when issued on an iommufd, have no way to
 * name an IOAS, so the context keeps one designated IOAS for them. If none is
 * designated when VFIO first needs one, an IOAS is created for the purpose.
 * This ioctl inspects or changes that choice. Groups and devices already
 * using the compatibility IOAS keep using it; SET and CLEAR never destroy an
 * IOAS.
 *
 * Errors: EOPNOTSUPP for an unknown @op or a non-zero @__reserved. ENOENT
 * if, for SET, @ioas_id is not an IOAS. ENODEV if, for GET, no compatibility
 * IOAS is set.
 */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};

/* Hardware page tables */

/**
 * enum iommufd_hwpt_alloc_flags - flags of IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_ALLOC_NEST_PARENT: allocate a paging HWPT that nested HWPTs
 *                                can later be built on (used as stage 2)
 * @IOMMU_HWPT_ALLOC_DIRTY_TRACKING: allocate a paging HWPT able to record
 *                                   DMA writes; devices whose IOMMU cannot
 *                                   do so are refused at attach
 * @IOMMU_HWPT_FAULT_ID_VALID: @fault_id names a FAULT object that receives
 *                             the I/O page faults of this HWPT
 */
enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,
};

/**
 * enum iommu_hwpt_data_type - format of the driver data of IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_DATA_NONE: no driver data; a kernel-managed paging HWPT
 * @IOMMU_HWPT_DATA_VTD_S1: struct iommu_hwpt_vtd_s1, an Intel VT-d stage-1
 *                          table
 */
enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
};

/**
 * enum iommu_hwpt_vtd_s1_flags - attributes of a VT-d stage-1 table
 * @IOMMU_VTD_S1_SRE: requests in supervisor mode are allowed
 * @IOMMU_VTD_S1_EAFE: the extended-accessed flag is in use
 * @IOMMU_VTD_S1_WPE: supervisor writes honour read-only entries (write
 *                    protect)
 */
enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE = 1 << 2,
};

/**
 * struct iommu_hwpt_vtd_s1 - driver data for IOMMU_HWPT_DATA_VTD_S1
 * @flags: combination of enum iommu_hwpt_vtd_s1_flags
 * @pgtbl_addr: address of the stage-1 root table, in the IOVA space that the
 *              parent (stage-2) HWPT translates
 * @addr_width: input address width of the stage-1 table, in bits
 * @__reserved: must be 0
 *
 * Describes a guest-owned VT-d first-stage page table that a nested HWPT
 * wraps.
 */
struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags;
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

/**
 * struct iommu_hwpt_alloc - argument of IOMMU_HWPT_ALLOC
 * @size: sizeof(struct iommu_hwpt_alloc); 24 is accepted (up to @__reserved)
 * @flags: combination of enum iommufd_hwpt_alloc_flags
 * @dev_id: the DEVICE whose IOMMU will own the new domain
 * @pt_id: what the HWPT translates through: an IOAS for a paging HWPT, a
 *         NEST_PARENT paging HWPT for a nested one
 * @out_hwpt_id: returns the ID of the new HWPT
 * @__reserved: must be 0
 * @data_type: one of enum iommu_hwpt_data_type
 * @data_len: length in bytes of the driver data at @data_uptr
 * @data_uptr: user pointer to the driver data
 * @fault_id: the FAULT object to use, read only with IOMMU_HWPT_FAULT_ID_VALID
 * @__reserved2: padding up to a multiple of 8 bytes; must be 0
 *
 * Creates a HWPT explicitly instead of letting an attach create one.
 *
 * With an IOAS as @pt_id the result is a paging HWPT filled with, and kept
 * in step with, the IOAS's mappings; @data_type must be IOMMU_HWPT_DATA_NONE.
 * The HWPT joins the IOAS at once, so its aperture and page size apply to
 * the IOAS's usable ranges from now on, not only when a device attaches.
 *
 * With a paging HWPT as @pt_id the result is a nested HWPT whose table is
 * owned by userspace and described by driver data of type @data_type. The
 * parent must have been created with IOMMU_HWPT_ALLOC_NEST_PARENT, by this
 * ioctl, for the same kind of IOMMU.
 *
 * @data_len and @data_uptr are both 0 for IOMMU_HWPT_DATA_NONE and both set
 * otherwise.
 *
 * Errors: ENOENT if @dev_id is not a DEVICE, or @fault_id is not a FAULT.
 * EINVAL if @pt_id is neither an IOAS nor a paging HWPT, if the parent of a
 * nested HWPT is unsuitable, or if @data_len does not agree with
 * @data_type. EOPNOTSUPP for unknown or inapplicable @flags, a non-zero
 * @__reserved, a data type the IOMMU driver does not handle, or dirty
 * tracking on an IOMMU that cannot do it. The driver may reject malformed
 * data with EINVAL or EOPNOTSUPP.
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};

/* Hardware information */

/**
 * enum iommu_hw_info_type - format of the data returned by IOMMU_GET_HW_INFO
 * @IOMMU_HW_INFO_TYPE_NONE: the IOMMU driver reports no data
 * @IOMMU_HW_INFO_TYPE_INTEL_VTD: struct iommu_hw_info_vtd
 */
enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
};

/**
 * enum iommu_hw_info_vtd_flags - flags of struct iommu_hw_info_vtd
 * @IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17: the hardware is affected by Intel
 *     erratum 772415 (SPR17); read-only mappings are then not permitted in a
 *     NEST_PARENT HWPT
 */
enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/**
 * struct iommu_hw_info_vtd - data for IOMMU_HW_INFO_TYPE_INTEL_VTD
 * @flags: combination of enum iommu_hw_info_vtd_flags
 * @__reserved: 0
 * @cap_reg: raw value of the VT-d Capability Register (VT-d specification,
 *           section 11.4.2)
 * @ecap_reg: raw value of the VT-d Extended Capability Register (section
 *            11.4.3)
 *
 * The register values are passed on unmodified; decoding them is up to the
 * caller, typically a VMM building a virtual VT-d unit that matches the host.
 */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

/**
 * enum iommufd_hw_capabilities - bits of struct iommu_hw_info.out_capabilities
 * @IOMMU_HW_CAP_DIRTY_TRACKING: the IOMMU can record DMA writes, so HWPTs
 *     allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING work with this device
 *     together with IOMMU_HWPT_SET_DIRTY_TRACKING and
 *     IOMMU_HWPT_GET_DIRTY_BITMAP
 * @IOMMU_HW_CAP_PCI_PASID_EXEC: the PCI device can send PASID requests with
 *     the Execute Requested bit; meaningless when out_max_pasid_log2 is 0
 * @IOMMU_HW_CAP_PCI_PASID_PRIV: the PCI device can send PASID requests with
 *     the Privileged Mode Requested bit; meaningless when out_max_pasid_log2
 *     is 0
 */
enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
	IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,
	IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
};

/**
 * struct iommu_hw_info - argument of IOMMU_GET_HW_INFO
 * @size: sizeof(struct iommu_hw_info); 32 is accepted (up to @__reserved)
 * @flags: no flags are defined; must be 0
 * @dev_id: the DEVICE whose IOMMU is described
 * @data_len: in: size of the buffer at @data_uptr in bytes (0 is fine);
 *            out: size of the data the driver has
 * @data_uptr: user pointer to the buffer for the driver data
 * @out_data_type: returns one of enum iommu_hw_info_type, the format of the
 *                 driver data
 * @out_max_pasid_log2: returns the number of PASID bits the device supports;
 *                      0 if it has no PASID support
 * @__reserved: must be 0
 * @out_capabilities: returns a combination of enum iommufd_hw_capabilities
 *
 * Describes the IOMMU that translates for a bound device, so that a VMM can
 * present a compatible virtual IOMMU and build nested page tables the
 * hardware accepts.
 *
 * The driver data is copied into the buffer up to the smaller of the two
 * sizes; if the buffer is larger than the data, the rest of it is zeroed.
 * Comparing the returned @data_len with the buffer size tells whether the
 * data was cut short.
 *
 * Errors: ENOENT if @dev_id is not a DEVICE. EOPNOTSUPP if @flags or
 * @__reserved is not 0. EFAULT if the buffer cannot be written.
 */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 out_data_type;
	__u8 out_max_pasid_log2;
	__u8 __reserved[3];
	__aligned_u64 out_capabilities;
};

/* Dirty tracking */

/**
 * enum iommufd_hwpt_set_dirty_tracking_flags - flags of
 *                                              IOMMU_HWPT_SET_DIRTY_TRACKING
 * @IOMMU_HWPT_DIRTY_TRACKING_ENABLE: turn tracking on; without it, off
 */
enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/**
 * struct iommu_hwpt_set_dirty_tracking - argument of
 *                                        IOMMU_HWPT_SET_DIRTY_TRACKING
 * @size: sizeof(struct iommu_hwpt_set_dirty_tracking)
 * @flags: combination of enum iommufd_hwpt_set_dirty_tracking_flags
 * @hwpt_id: a paging HWPT allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING
 * @__reserved: must be 0
 *
 * Starts or stops the recording of DMA writes in the HWPT's page table.
 * Starting discards whatever dirty state the table held, so the first
 * IOMMU_HWPT_GET_DIRTY_BITMAP afterwards only shows writes made since.
 *
 * Errors: ENOENT if @hwpt_id is not a paging HWPT. EOPNOTSUPP for unknown
 * @flags bits, a non-zero @__reserved, or a HWPT without dirty tracking.
 */
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};

/**
 * enum iommufd_hwpt_get_dirty_bitmap_flags - flags of
 *                                            IOMMU_HWPT_GET_DIRTY_BITMAP
 * @IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR: report the dirty state but leave it
 *     set in the page table; saves work when the range is about to be
 *     unmapped anyway
 */
enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/**
 * struct iommu_hwpt_get_dirty_bitmap - argument of
 *                                      IOMMU_HWPT_GET_DIRTY_BITMAP
 * @size: sizeof(struct iommu_hwpt_get_dirty_bitmap)
 * @hwpt_id: a paging HWPT allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING
 * @flags: combination of enum iommufd_hwpt_get_dirty_bitmap_flags
 * @__reserved: must be 0
 * @iova: first IOVA covered by the bitmap
 * @length: number of bytes of IOVA space covered by the bitmap
 * @page_size: bytes of IOVA space represented by one bit
 * @data: user pointer to the bitmap, an array of __u64
 *
 * Walks the HWPT's page table over [@iova, @iova + @length) and sets a bit
 * for every @page_size block in which a device wrote since the state was
 * last cleared; unless NO_CLEAR is given, the walk clears that state. Bits
 * are counted from @iova: the block starting at address A is bit
 * n = (A - @iova) / @page_size, found in data[n / 64] as 1ULL << (n % 64).
 * Bits are only ever set, never cleared, so the bitmap should be zeroed by
 * the caller first.
 *
 * @iova and @iova + @length must be multiples of both the IOAS alignment and
 * @page_size.
 *
 * Errors: ENOENT if @hwpt_id is not a paging HWPT. EOPNOTSUPP for unknown
 * @flags bits, a non-zero @__reserved, or a HWPT without dirty tracking.
 * EINVAL if @page_size is 0 or an alignment rule is broken. EOVERFLOW if the
 * range wraps or exceeds unsigned long. EFAULT if the bitmap cannot be
 * written.
 */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};

/* Cache invalidation of nested HWPTs */

/**
 * enum iommu_hwpt_invalidate_data_type - format of the entries of
 *                                        IOMMU_HWPT_INVALIDATE
 * @IOMMU_HWPT_INVALIDATE_DATA_VTD_S1: struct iommu_hwpt_vtd_s1_invalidate
 */
enum iommu_hwpt_invalidate_data_type {
	IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
};

/**
 * enum iommu_hwpt_vtd_s1_invalidate_flags - flags of
 *                                           struct iommu_hwpt_vtd_s1_invalidate
 * @IOMMU_VTD_INV_FLAGS_LEAF: only leaf entries changed, so cached
 *                            paging-structure (non-leaf) entries may be kept
 */
enum iommu_hwpt_vtd_s1_invalidate_flags {
	IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

/**
 * struct iommu_hwpt_vtd_s1_invalidate - one VT-d stage-1 invalidation
 * @addr: first address to invalidate, a multiple of 4 KiB
 * @npages: number of 4 KiB pages to invalidate
 * @flags: combination of enum iommu_hwpt_vtd_s1_invalidate_flags
 * @__reserved: must be 0
 *
 * Names a range of the guest's stage-1 address space whose cached
 * translations are stale. @addr = 0 with @npages = U64_MAX means all of
 * them. Device TLBs (ATS) are flushed by the kernel as part of the request.
 */
struct iommu_hwpt_vtd_s1_invalidate {
	__aligned_u64 addr;
	__aligned_u64 npages;
	__u32 flags;
	__u32 __reserved;
};

/**
 * struct iommu_hwpt_invalidate - argument of IOMMU_HWPT_INVALIDATE
 * @size: sizeof(struct iommu_hwpt_invalidate)
 * @hwpt_id: the nested HWPT whose caches are stale
 * @data_uptr: user pointer to an array of invalidation entries
 * @data_type: one of enum iommu_hwpt_invalidate_data_type, the format of all
 *             entries; must be one the HWPT's driver accepts
 * @entry_len: size in bytes of one entry as the caller lays them out
 * @entry_num: in: number of entries; out: number of entries carried out
 * @__reserved: must be 0
 *
 * After userspace edits the table behind a nested HWPT, it must tell the
 * IOMMU which cached translations to drop. The entries are processed in
 * order until one fails; @entry_num is written back even when the ioctl
 * fails, so the caller knows where processing stopped.
 *
 * With @entry_num = 0 nothing is invalidated and @data_uptr and @entry_len
 * are ignored; this is a cheap way to test whether @data_type is supported.
 *
 * Errors: ENOENT if @hwpt_id is not a nested HWPT. EOPNOTSUPP if @__reserved
 * is not 0. EINVAL if @entry_num is non-zero but @data_uptr or @entry_len is
 * 0. The driver reports bad entries or an unsupported @data_type with EINVAL
 * or EOPNOTSUPP.
 */
struct iommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;
	__u32 __reserved;
};

/* I/O page faults */

/**
 * enum iommu_hwpt_pgfault_flags - flags of struct iommu_hwpt_pgfault
 * @IOMMU_PGFAULT_FLAGS_PASID_VALID: @pasid holds the PASID of the request
 * @IOMMU_PGFAULT_FLAGS_LAST_PAGE: this fault closes its page request group
 */
enum iommu_hwpt_pgfault_flags {
	IOMMU_PGFAULT_FLAGS_PASID_VALID = (1 << 0),
	IOMMU_PGFAULT_FLAGS_LAST_PAGE = (1 << 1),
};

/**
 * enum iommu_hwpt_pgfault_perm - access bits of struct iommu_hwpt_pgfault
 * @IOMMU_PGFAULT_PERM_READ: the device wants to read
 * @IOMMU_PGFAULT_PERM_WRITE: the device wants to write
 * @IOMMU_PGFAULT_PERM_EXEC: the request's PASID prefix had Execute Requested
 *                           set (PCIe r6, 10.4.1)
 * @IOMMU_PGFAULT_PERM_PRIV: the request's PASID prefix had Privileged Mode
 *                           Requested set (PCIe r6, 10.4.1)
 */
enum iommu_hwpt_pgfault_perm {
	IOMMU_PGFAULT_PERM_READ = (1 << 0),
	IOMMU_PGFAULT_PERM_WRITE = (1 << 1),
	IOMMU_PGFAULT_PERM_EXEC = (1 << 2),
	IOMMU_PGFAULT_PERM_PRIV = (1 << 3),
};

/**
 * struct iommu_hwpt_pgfault - one I/O page fault, read from a FAULT fd
 * @flags: combination of enum iommu_hwpt_pgfault_flags
 * @dev_id: the DEVICE that faulted
 * @pasid: the PASID of the request, if PASID_VALID is set
 * @grpid: the page request group index given by the device
 * @perm: combination of enum iommu_hwpt_pgfault_perm
 * @__reserved: 0
 * @addr: the faulting address
 * @length: how many bytes the device expects to access from @addr, as a
 *          hint for faulting in more than one page; 0 if unknown
 * @cookie: kernel identifier of the fault group, to be quoted in the
 *          response
 *
 * read() on the FAULT file descriptor returns an array of these. Faults are
 * delivered a whole group at a time, the last one of a group carrying
 * IOMMU_PGFAULT_FLAGS_LAST_PAGE. The byte count of a read must be a multiple
 * of the structure size (ESPIPE otherwise).
 */
struct iommu_hwpt_pgfault {
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 grpid;
	__u32 perm;
	__u32 __reserved;
	__aligned_u64 addr;
	__u32 length;
	__u32 cookie;
};

/**
 * enum iommufd_page_response_code - outcome reported for a fault group
 * @IOMMUFD_PAGE_RESP_SUCCESS: the translation is now present; the device
 *                             retries (PCIe "Success" response)
 * @IOMMUFD_PAGE_RESP_INVALID: the fault cannot be resolved; the device must
 *                             not retry (PCIe "Invalid Request" response)
 */
enum iommufd_page_response_code {
	IOMMUFD_PAGE_RESP_SUCCESS = 0,
	IOMMUFD_PAGE_RESP_INVALID = 1,
};

/**
 * struct iommu_hwpt_page_response - answer to a fault group, written to a
 *                                   FAULT fd
 * @cookie: the @cookie of the group's faults
 * @code: one of enum iommufd_page_response_code
 *
 * write() on the FAULT file descriptor takes an array of these, one per
 * completed group; the byte count must be a multiple of the structure size
 * (ESPIPE otherwise). An unknown @cookie or @code is rejected with EINVAL.
 */
struct iommu_hwpt_page_response {
	__u32 cookie;
	__u32 code;
};

/**
 * struct iommu_fault_alloc - argument of IOMMU_FAULT_QUEUE_ALLOC
 * @size: sizeof(struct iommu_fault_alloc)
 * @flags: no flags are defined; must be 0
 * @out_fault_id: returns the ID of the new FAULT object
 * @out_fault_fd: returns a new file descriptor for reading faults and
 *                writing responses
 *
 * Creates a fault queue. A HWPT allocated with IOMMU_HWPT_FAULT_ID_VALID and
 * this object's ID reports its I/O page faults here instead of having the
 * kernel resolve them. The file descriptor supports read(), write() and
 * poll(); the object lives until it is destroyed and the descriptor closed.
 *
 * Errors: EOPNOTSUPP if @flags is not 0.
 */
struct iommu_fault_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_fault_id;
	__u32 out_fault_fd;
};

/* Beyond 6.12: ioctls adopted from later kernels, with their numbers */

/**
 * struct iommu_ioas_map_file - argument of IOMMU_IOAS_MAP_FILE
 * @size: sizeof(struct iommu_ioas_map_file)
 * @flags: combination of enum iommufd_ioas_map_flags
 * @ioas_id: the IOAS that receives the mapping
 * @fd: a memfd (shmem or hugetlbfs) whose pages are mapped
 * @start: byte offset in the file of the first byte to map
 * @length: number of bytes to map
 * @iova: with IOMMU_IOAS_MAP_FIXED_IOVA, in: where to map; otherwise out:
 *        where the kernel put the mapping
 *
 * Like IOMMU_IOAS_MAP, but the memory is named by a file and an offset
 * instead of a virtual address, so the mapping does not depend on how, or
 * whether, the calling process maps the file. The mapping holds the file
 * open. Pinning follows the rules of IOMMU_IOAS_MAP (only while a domain or
 * an access needs the memory, charged to the process that made the
 * mapping, or moved by IOMMU_IOAS_CHANGE_PROCESS); the offset of @start in
 * its CPU page plays the role of the page offset of user_va.
 *
 * Errors: as IOMMU_IOAS_MAP, and EBADF if @fd is not an open file, EINVAL
 * if it is not a shmem or hugetlbfs file (checked at once, so that no
 * mapping can hold a file that holds the iommufd); when the memory is
 * pinned (at once if the IOAS has a domain), EINVAL if the range reaches
 * past the end of the file.
 */
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};

/**
 * struct iommu_ioas_change_process - argument of IOMMU_IOAS_CHANGE_PROCESS
 * @size: sizeof(struct iommu_ioas_change_process)
 * @__reserved: must be 0
 *
 * Makes the calling process the owner of every mapping of every IOAS of
 * this file: what is pinned for them is charged to the caller (VmPin, and
 * RLIMIT_MEMLOCK as the mapping was charged before) and no longer to the
 * process that made them, for example a VMM before it re-executed itself.
 * All mappings must come from IOMMU_IOAS_MAP_FILE, since a virtual address
 * means nothing in another process. All or nothing: on failure every
 * charge stays where it was.
 *
 * Errors: EOPNOTSUPP if @__reserved is not 0. EINVAL if a mapping was made
 * by IOMMU_IOAS_MAP. ENOMEM if the caller's RLIMIT_MEMLOCK cannot take the
 * charge or memory runs out.
 */
struct iommu_ioas_change_process {
	__u32 size;
	__u32 __reserved;
};

#endif /* _UAPI_IOMMUFD_H */
