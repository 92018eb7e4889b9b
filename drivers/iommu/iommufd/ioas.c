// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOAS objects: the ioctl side of an I/O address space.
 *
 * An IOAS is the object userspace names when it builds an address space;
 * the address space itself is the struct io_pagetable embedded in it. The
 * handlers here only check arguments, look up the IOAS, call into the
 * io_pagetable and copy results back: they keep no state of their own.
 * Each handler holds a short-term user on the IOAS for the whole call, so
 * the IOAS cannot be destroyed underneath it.
 */
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);

	iopt_destroy_table(&ioas->iopt);
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	ioas = iommufd_object_alloc(ucmd->ictx, struct iommufd_ioas,
				    IOMMUFD_OBJ_IOAS);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	iopt_init_table(&ioas->iopt);

	cmd->out_ioas_id = ioas->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		iommufd_object_abort_and_destroy(ucmd->ictx, &ioas->obj);
		return rc;
	}
	iommufd_object_finalize(ucmd->ictx, &ioas->obj);
	return 0;
}

struct iova_ranges_out {
	struct iommu_iova_range __user *ranges;
	u32 capacity;
	u32 count;
};

static int iova_ranges_emit(unsigned long start, unsigned long last,
			    void *arg)
{
	struct iova_ranges_out *out = arg;
	struct iommu_iova_range range = { .start = start, .last = last };

	/* Past the user's array only the count goes on */
	if (out->count < out->capacity &&
	    copy_to_user(&out->ranges[out->count], &range, sizeof(range)))
		return -EFAULT;
	out->count++;
	return 0;
}

int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iova_ranges_out out = {
		.ranges = u64_to_user_ptr(cmd->allowed_iovas),
		.capacity = cmd->num_iovas,
	};
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	down_read(&ioas->iopt.iova_rwsem);
	rc = iopt_walk_usable_ranges(&ioas->iopt, iova_ranges_emit, &out);
	cmd->out_iova_alignment = ioas->iopt.iova_alignment;
	up_read(&ioas->iopt.iova_rwsem);
	if (rc)
		goto out_put;

	cmd->num_iovas = out.count;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (!rc && out.count > out.capacity)
		rc = -EMSGSIZE;
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}
