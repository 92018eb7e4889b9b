// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guard for the iommufd user ABI in include/uapi/linux/iommufd.h.
 *
 * This project writes that header itself, and VFIO, the IOMMU drivers and
 * existing binaries all rely on it matching Linux 6.12 to the byte. The
 * numbers below are the Linux 6.12 values: they were produced once by a
 * throwaway program that printed sizeof, __alignof__, offsetof and member
 * sizes of every structure, every enumerator and every ioctl number from the
 * 6.12 header, and are written here as plain literals on purpose. Nothing is
 * computed from another copy of the header, so any edit that moves a member,
 * changes its type, renumbers a command or alters a flag fails here, on any
 * machine, without iommufd in the running kernel.
 */
#include <linux/iommufd.h>

/*
 * The 6.12 harness generates functions with parameters that a plain TEST()
 * never uses; keep -Wextra quiet about that and about nothing else.
 */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

/*
 * One check: the 6.12 literal against what the header under test gives, both
 * widened to unsigned long long so that int literals and size_t compare
 * without sign warnings. On a mismatch the item is named in the log and the
 * test stops.
 */
static void abi_check(struct __test_metadata *_metadata, const char *what,
		      unsigned long long expected, unsigned long long actual)
{
	ASSERT_EQ(expected, actual)
		TH_LOG("ABI mismatch: %s", what);
}

/* Size and alignment of struct @type. */
#define ABI_STRUCT(type, size, align)					\
	do {								\
		abi_check(_metadata, "sizeof(struct " #type ")",	\
			  size, sizeof(struct type));			\
		abi_check(_metadata, "alignment of struct " #type,	\
			  align, __alignof__(struct type));		\
	} while (0)

/*
 * Offset and width of @member in struct @type. A zeroed probe object lets one
 * reference to the member yield both numbers; the offset is the distance
 * from the start of the probe, which is what offsetof() reports.
 */
#define ABI_FIELD(type, member, offset, width)				\
	do {								\
		static const struct type abi_probe;			\
		__auto_type abi_at = &abi_probe.member;			\
									\
		abi_check(_metadata, "offset of " #type "." #member,	\
			  offset,					\
			  (const char *)abi_at - (const char *)&abi_probe); \
		abi_check(_metadata, "width of " #type "." #member,	\
			  width, sizeof(*abi_at));			\
	} while (0)

/* Value of an enumerator, flag, command number or ioctl request. */
#define ABI_VALUE(name, value) abi_check(_metadata, #name, value, name)

TEST(abi_ioctl_numbers)
{
	ABI_VALUE(IOMMUFD_TYPE, 0x3b);

	ABI_VALUE(IOMMUFD_CMD_BASE, 0x80);
	ABI_VALUE(IOMMUFD_CMD_DESTROY, 0x80);
	ABI_VALUE(IOMMUFD_CMD_IOAS_ALLOC, 0x81);
	ABI_VALUE(IOMMUFD_CMD_IOAS_ALLOW_IOVAS, 0x82);
	ABI_VALUE(IOMMUFD_CMD_IOAS_COPY, 0x83);
	ABI_VALUE(IOMMUFD_CMD_IOAS_IOVA_RANGES, 0x84);
	ABI_VALUE(IOMMUFD_CMD_IOAS_MAP, 0x85);
	ABI_VALUE(IOMMUFD_CMD_IOAS_UNMAP, 0x86);
	ABI_VALUE(IOMMUFD_CMD_OPTION, 0x87);
	ABI_VALUE(IOMMUFD_CMD_VFIO_IOAS, 0x88);
	ABI_VALUE(IOMMUFD_CMD_HWPT_ALLOC, 0x89);
	ABI_VALUE(IOMMUFD_CMD_GET_HW_INFO, 0x8a);
	ABI_VALUE(IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING, 0x8b);
	ABI_VALUE(IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP, 0x8c);
	ABI_VALUE(IOMMUFD_CMD_HWPT_INVALIDATE, 0x8d);
	ABI_VALUE(IOMMUFD_CMD_FAULT_QUEUE_ALLOC, 0x8e);

	ABI_VALUE(IOMMU_DESTROY, 0x3b80);
	ABI_VALUE(IOMMU_IOAS_ALLOC, 0x3b81);
	ABI_VALUE(IOMMU_IOAS_ALLOW_IOVAS, 0x3b82);
	ABI_VALUE(IOMMU_IOAS_COPY, 0x3b83);
	ABI_VALUE(IOMMU_IOAS_IOVA_RANGES, 0x3b84);
	ABI_VALUE(IOMMU_IOAS_MAP, 0x3b85);
	ABI_VALUE(IOMMU_IOAS_UNMAP, 0x3b86);
	ABI_VALUE(IOMMU_OPTION, 0x3b87);
	ABI_VALUE(IOMMU_VFIO_IOAS, 0x3b88);
	ABI_VALUE(IOMMU_HWPT_ALLOC, 0x3b89);
	ABI_VALUE(IOMMU_GET_HW_INFO, 0x3b8a);
	ABI_VALUE(IOMMU_HWPT_SET_DIRTY_TRACKING, 0x3b8b);
	ABI_VALUE(IOMMU_HWPT_GET_DIRTY_BITMAP, 0x3b8c);
	ABI_VALUE(IOMMU_HWPT_INVALIDATE, 0x3b8d);
	ABI_VALUE(IOMMU_FAULT_QUEUE_ALLOC, 0x3b8e);
}

TEST(abi_destroy_struct)
{
	ABI_STRUCT(iommu_destroy, 8, 4);
	ABI_FIELD(iommu_destroy, size, 0, 4);
	ABI_FIELD(iommu_destroy, id, 4, 4);
}

TEST(abi_ioas_structs)
{
	ABI_STRUCT(iommu_ioas_alloc, 12, 4);
	ABI_FIELD(iommu_ioas_alloc, size, 0, 4);
	ABI_FIELD(iommu_ioas_alloc, flags, 4, 4);
	ABI_FIELD(iommu_ioas_alloc, out_ioas_id, 8, 4);

	ABI_STRUCT(iommu_iova_range, 16, 8);
	ABI_FIELD(iommu_iova_range, start, 0, 8);
	ABI_FIELD(iommu_iova_range, last, 8, 8);

	ABI_STRUCT(iommu_ioas_iova_ranges, 32, 8);
	ABI_FIELD(iommu_ioas_iova_ranges, size, 0, 4);
	ABI_FIELD(iommu_ioas_iova_ranges, ioas_id, 4, 4);
	ABI_FIELD(iommu_ioas_iova_ranges, num_iovas, 8, 4);
	ABI_FIELD(iommu_ioas_iova_ranges, __reserved, 12, 4);
	ABI_FIELD(iommu_ioas_iova_ranges, allowed_iovas, 16, 8);
	ABI_FIELD(iommu_ioas_iova_ranges, out_iova_alignment, 24, 8);

	ABI_STRUCT(iommu_ioas_allow_iovas, 24, 8);
	ABI_FIELD(iommu_ioas_allow_iovas, size, 0, 4);
	ABI_FIELD(iommu_ioas_allow_iovas, ioas_id, 4, 4);
	ABI_FIELD(iommu_ioas_allow_iovas, num_iovas, 8, 4);
	ABI_FIELD(iommu_ioas_allow_iovas, __reserved, 12, 4);
	ABI_FIELD(iommu_ioas_allow_iovas, allowed_iovas, 16, 8);

	ABI_STRUCT(iommu_ioas_map, 40, 8);
	ABI_FIELD(iommu_ioas_map, size, 0, 4);
	ABI_FIELD(iommu_ioas_map, flags, 4, 4);
	ABI_FIELD(iommu_ioas_map, ioas_id, 8, 4);
	ABI_FIELD(iommu_ioas_map, __reserved, 12, 4);
	ABI_FIELD(iommu_ioas_map, user_va, 16, 8);
	ABI_FIELD(iommu_ioas_map, length, 24, 8);
	ABI_FIELD(iommu_ioas_map, iova, 32, 8);

	ABI_STRUCT(iommu_ioas_copy, 40, 8);
	ABI_FIELD(iommu_ioas_copy, size, 0, 4);
	ABI_FIELD(iommu_ioas_copy, flags, 4, 4);
	ABI_FIELD(iommu_ioas_copy, dst_ioas_id, 8, 4);
	ABI_FIELD(iommu_ioas_copy, src_ioas_id, 12, 4);
	ABI_FIELD(iommu_ioas_copy, length, 16, 8);
	ABI_FIELD(iommu_ioas_copy, dst_iova, 24, 8);
	ABI_FIELD(iommu_ioas_copy, src_iova, 32, 8);

	ABI_STRUCT(iommu_ioas_unmap, 24, 8);
	ABI_FIELD(iommu_ioas_unmap, size, 0, 4);
	ABI_FIELD(iommu_ioas_unmap, ioas_id, 4, 4);
	ABI_FIELD(iommu_ioas_unmap, iova, 8, 8);
	ABI_FIELD(iommu_ioas_unmap, length, 16, 8);
}

TEST(abi_ioas_map_flags)
{
	ABI_VALUE(IOMMU_IOAS_MAP_FIXED_IOVA, 0x1);
	ABI_VALUE(IOMMU_IOAS_MAP_WRITEABLE, 0x2);
	ABI_VALUE(IOMMU_IOAS_MAP_READABLE, 0x4);
}

TEST(abi_option_struct)
{
	ABI_STRUCT(iommu_option, 24, 8);
	ABI_FIELD(iommu_option, size, 0, 4);
	ABI_FIELD(iommu_option, option_id, 4, 4);
	ABI_FIELD(iommu_option, op, 8, 2);
	ABI_FIELD(iommu_option, __reserved, 10, 2);
	ABI_FIELD(iommu_option, object_id, 12, 4);
	ABI_FIELD(iommu_option, val64, 16, 8);
}

TEST(abi_option_values)
{
	ABI_VALUE(IOMMU_OPTION_RLIMIT_MODE, 0x0);
	ABI_VALUE(IOMMU_OPTION_HUGE_PAGES, 0x1);
	ABI_VALUE(IOMMU_OPTION_OP_SET, 0x0);
	ABI_VALUE(IOMMU_OPTION_OP_GET, 0x1);
}

TEST(abi_vfio_compat_struct)
{
	ABI_STRUCT(iommu_vfio_ioas, 12, 4);
	ABI_FIELD(iommu_vfio_ioas, size, 0, 4);
	ABI_FIELD(iommu_vfio_ioas, ioas_id, 4, 4);
	ABI_FIELD(iommu_vfio_ioas, op, 8, 2);
	ABI_FIELD(iommu_vfio_ioas, __reserved, 10, 2);
}

TEST(abi_vfio_compat_values)
{
	ABI_VALUE(IOMMU_VFIO_IOAS_GET, 0x0);
	ABI_VALUE(IOMMU_VFIO_IOAS_SET, 0x1);
	ABI_VALUE(IOMMU_VFIO_IOAS_CLEAR, 0x2);
}

TEST(abi_hwpt_structs)
{
	ABI_STRUCT(iommu_hwpt_alloc, 48, 8);
	ABI_FIELD(iommu_hwpt_alloc, size, 0, 4);
	ABI_FIELD(iommu_hwpt_alloc, flags, 4, 4);
	ABI_FIELD(iommu_hwpt_alloc, dev_id, 8, 4);
	ABI_FIELD(iommu_hwpt_alloc, pt_id, 12, 4);
	ABI_FIELD(iommu_hwpt_alloc, out_hwpt_id, 16, 4);
	ABI_FIELD(iommu_hwpt_alloc, __reserved, 20, 4);
	ABI_FIELD(iommu_hwpt_alloc, data_type, 24, 4);
	ABI_FIELD(iommu_hwpt_alloc, data_len, 28, 4);
	ABI_FIELD(iommu_hwpt_alloc, data_uptr, 32, 8);
	ABI_FIELD(iommu_hwpt_alloc, fault_id, 40, 4);
	ABI_FIELD(iommu_hwpt_alloc, __reserved2, 44, 4);

	ABI_STRUCT(iommu_hwpt_vtd_s1, 24, 8);
	ABI_FIELD(iommu_hwpt_vtd_s1, flags, 0, 8);
	ABI_FIELD(iommu_hwpt_vtd_s1, pgtbl_addr, 8, 8);
	ABI_FIELD(iommu_hwpt_vtd_s1, addr_width, 16, 4);
	ABI_FIELD(iommu_hwpt_vtd_s1, __reserved, 20, 4);
}

TEST(abi_hwpt_values)
{
	ABI_VALUE(IOMMU_HWPT_ALLOC_NEST_PARENT, 0x1);
	ABI_VALUE(IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 0x2);
	ABI_VALUE(IOMMU_HWPT_FAULT_ID_VALID, 0x4);

	ABI_VALUE(IOMMU_HWPT_DATA_NONE, 0x0);
	ABI_VALUE(IOMMU_HWPT_DATA_VTD_S1, 0x1);

	ABI_VALUE(IOMMU_VTD_S1_SRE, 0x1);
	ABI_VALUE(IOMMU_VTD_S1_EAFE, 0x2);
	ABI_VALUE(IOMMU_VTD_S1_WPE, 0x4);
}

TEST(abi_hw_info_structs)
{
	ABI_STRUCT(iommu_hw_info, 40, 8);
	ABI_FIELD(iommu_hw_info, size, 0, 4);
	ABI_FIELD(iommu_hw_info, flags, 4, 4);
	ABI_FIELD(iommu_hw_info, dev_id, 8, 4);
	ABI_FIELD(iommu_hw_info, data_len, 12, 4);
	ABI_FIELD(iommu_hw_info, data_uptr, 16, 8);
	ABI_FIELD(iommu_hw_info, out_data_type, 24, 4);
	ABI_FIELD(iommu_hw_info, out_max_pasid_log2, 28, 1);
	ABI_FIELD(iommu_hw_info, __reserved, 29, 3);
	ABI_FIELD(iommu_hw_info, out_capabilities, 32, 8);

	ABI_STRUCT(iommu_hw_info_vtd, 24, 8);
	ABI_FIELD(iommu_hw_info_vtd, flags, 0, 4);
	ABI_FIELD(iommu_hw_info_vtd, __reserved, 4, 4);
	ABI_FIELD(iommu_hw_info_vtd, cap_reg, 8, 8);
	ABI_FIELD(iommu_hw_info_vtd, ecap_reg, 16, 8);
}

TEST(abi_hw_info_values)
{
	ABI_VALUE(IOMMU_HW_INFO_TYPE_NONE, 0x0);
	ABI_VALUE(IOMMU_HW_INFO_TYPE_INTEL_VTD, 0x1);

	ABI_VALUE(IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, 0x1);

	ABI_VALUE(IOMMU_HW_CAP_DIRTY_TRACKING, 0x1);
	ABI_VALUE(IOMMU_HW_CAP_PCI_PASID_EXEC, 0x2);
	ABI_VALUE(IOMMU_HW_CAP_PCI_PASID_PRIV, 0x4);
}

TEST(abi_dirty_tracking_structs)
{
	ABI_STRUCT(iommu_hwpt_set_dirty_tracking, 16, 4);
	ABI_FIELD(iommu_hwpt_set_dirty_tracking, size, 0, 4);
	ABI_FIELD(iommu_hwpt_set_dirty_tracking, flags, 4, 4);
	ABI_FIELD(iommu_hwpt_set_dirty_tracking, hwpt_id, 8, 4);
	ABI_FIELD(iommu_hwpt_set_dirty_tracking, __reserved, 12, 4);

	ABI_STRUCT(iommu_hwpt_get_dirty_bitmap, 48, 8);
	ABI_FIELD(iommu_hwpt_get_dirty_bitmap, size, 0, 4);
	ABI_FIELD(iommu_hwpt_get_dirty_bitmap, hwpt_id, 4, 4);
	ABI_FIELD(iommu_hwpt_get_dirty_bitmap, flags, 8, 4);
	ABI_FIELD(iommu_hwpt_get_dirty_bitmap, __reserved, 12, 4);
	ABI_FIELD(iommu_hwpt_get_dirty_bitmap, iova, 16, 8);
	ABI_FIELD(iommu_hwpt_get_dirty_bitmap, length, 24, 8);
	ABI_FIELD(iommu_hwpt_get_dirty_bitmap, page_size, 32, 8);
	ABI_FIELD(iommu_hwpt_get_dirty_bitmap, data, 40, 8);
}

TEST(abi_dirty_tracking_values)
{
	ABI_VALUE(IOMMU_HWPT_DIRTY_TRACKING_ENABLE, 0x1);
	ABI_VALUE(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 0x1);
}

TEST(abi_invalidate_structs)
{
	ABI_STRUCT(iommu_hwpt_invalidate, 32, 8);
	ABI_FIELD(iommu_hwpt_invalidate, size, 0, 4);
	ABI_FIELD(iommu_hwpt_invalidate, hwpt_id, 4, 4);
	ABI_FIELD(iommu_hwpt_invalidate, data_uptr, 8, 8);
	ABI_FIELD(iommu_hwpt_invalidate, data_type, 16, 4);
	ABI_FIELD(iommu_hwpt_invalidate, entry_len, 20, 4);
	ABI_FIELD(iommu_hwpt_invalidate, entry_num, 24, 4);
	ABI_FIELD(iommu_hwpt_invalidate, __reserved, 28, 4);

	ABI_STRUCT(iommu_hwpt_vtd_s1_invalidate, 24, 8);
	ABI_FIELD(iommu_hwpt_vtd_s1_invalidate, addr, 0, 8);
	ABI_FIELD(iommu_hwpt_vtd_s1_invalidate, npages, 8, 8);
	ABI_FIELD(iommu_hwpt_vtd_s1_invalidate, flags, 16, 4);
	ABI_FIELD(iommu_hwpt_vtd_s1_invalidate, __reserved, 20, 4);
}

TEST(abi_invalidate_values)
{
	ABI_VALUE(IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 0x0);
	ABI_VALUE(IOMMU_VTD_INV_FLAGS_LEAF, 0x1);
}

TEST(abi_fault_structs)
{
	ABI_STRUCT(iommu_fault_alloc, 16, 4);
	ABI_FIELD(iommu_fault_alloc, size, 0, 4);
	ABI_FIELD(iommu_fault_alloc, flags, 4, 4);
	ABI_FIELD(iommu_fault_alloc, out_fault_id, 8, 4);
	ABI_FIELD(iommu_fault_alloc, out_fault_fd, 12, 4);

	ABI_STRUCT(iommu_hwpt_pgfault, 40, 8);
	ABI_FIELD(iommu_hwpt_pgfault, flags, 0, 4);
	ABI_FIELD(iommu_hwpt_pgfault, dev_id, 4, 4);
	ABI_FIELD(iommu_hwpt_pgfault, pasid, 8, 4);
	ABI_FIELD(iommu_hwpt_pgfault, grpid, 12, 4);
	ABI_FIELD(iommu_hwpt_pgfault, perm, 16, 4);
	ABI_FIELD(iommu_hwpt_pgfault, __reserved, 20, 4);
	ABI_FIELD(iommu_hwpt_pgfault, addr, 24, 8);
	ABI_FIELD(iommu_hwpt_pgfault, length, 32, 4);
	ABI_FIELD(iommu_hwpt_pgfault, cookie, 36, 4);

	ABI_STRUCT(iommu_hwpt_page_response, 8, 4);
	ABI_FIELD(iommu_hwpt_page_response, cookie, 0, 4);
	ABI_FIELD(iommu_hwpt_page_response, code, 4, 4);
}

TEST(abi_fault_values)
{
	ABI_VALUE(IOMMU_PGFAULT_FLAGS_PASID_VALID, 0x1);
	ABI_VALUE(IOMMU_PGFAULT_FLAGS_LAST_PAGE, 0x2);

	ABI_VALUE(IOMMU_PGFAULT_PERM_READ, 0x1);
	ABI_VALUE(IOMMU_PGFAULT_PERM_WRITE, 0x2);
	ABI_VALUE(IOMMU_PGFAULT_PERM_EXEC, 0x4);
	ABI_VALUE(IOMMU_PGFAULT_PERM_PRIV, 0x8);

	ABI_VALUE(IOMMUFD_PAGE_RESP_SUCCESS, 0x0);
	ABI_VALUE(IOMMUFD_PAGE_RESP_INVALID, 0x1);
}

/*
 * The ioctls adopted from after 6.12 keep the numbers and layouts of the
 * kernels that added them (7.2 values); 0x90 and 0x91 stay unused here.
 */
TEST(abi_after_612)
{
	ABI_VALUE(IOMMUFD_CMD_IOAS_MAP_FILE, 0x8f);
	ABI_VALUE(IOMMUFD_CMD_IOAS_CHANGE_PROCESS, 0x92);
	ABI_VALUE(IOMMU_IOAS_MAP_FILE, 0x3b8f);
	ABI_VALUE(IOMMU_IOAS_CHANGE_PROCESS, 0x3b92);

	ABI_STRUCT(iommu_ioas_map_file, 40, 8);
	ABI_FIELD(iommu_ioas_map_file, size, 0, 4);
	ABI_FIELD(iommu_ioas_map_file, flags, 4, 4);
	ABI_FIELD(iommu_ioas_map_file, ioas_id, 8, 4);
	ABI_FIELD(iommu_ioas_map_file, fd, 12, 4);
	ABI_FIELD(iommu_ioas_map_file, start, 16, 8);
	ABI_FIELD(iommu_ioas_map_file, length, 24, 8);
	ABI_FIELD(iommu_ioas_map_file, iova, 32, 8);

	ABI_STRUCT(iommu_ioas_change_process, 8, 4);
	ABI_FIELD(iommu_ioas_change_process, size, 0, 4);
	ABI_FIELD(iommu_ioas_change_process, __reserved, 4, 4);
}

TEST_HARNESS_MAIN
