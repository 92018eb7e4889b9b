// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IOAS that VFIO's compatibility paths use.
 *
 * A VFIO group opened the legacy way and handed an iommufd (instead of a
 * container) attaches its devices to one IOAS chosen per file: the
 * "compat" IOAS. VFIO asks for it with iommufd_vfio_compat_ioas_get_id()
 * and has it created with iommufd_vfio_compat_ioas_create(); userspace can
 * read, choose or clear it with IOMMU_VFIO_IOAS.
 *
 * The file remembers the compat IOAS by ID under vfio_lock and looks it up
 * each time, so destroying that IOAS simply makes the compat IOAS unset.
 */
#include <linux/iommufd.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

/* The compat IOAS with a short-term user, or ERR_PTR(-ENODEV) */
static struct iommufd_ioas *vfio_compat_ioas_get(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = ERR_PTR(-ENODEV);

	lockdep_assert_held(&ictx->vfio_lock);
	if (ictx->vfio_ioas_id) {
		ioas = iommufd_get_ioas(ictx, ictx->vfio_ioas_id);
		if (IS_ERR(ioas))
			ioas = ERR_PTR(-ENODEV);
	}
	return ioas;
}

/**
 * iommufd_vfio_compat_ioas_get_id() - the ID of the compat IOAS
 * @ictx: the iommufd file
 * @out_ioas_id: out: the IOAS ID
 *
 * Context: Process context.
 * Return: 0, or -ENODEV if the file has no compat IOAS.
 */
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *out_ioas_id)
{
	struct iommufd_ioas *ioas;

	mutex_lock(&ictx->vfio_lock);
	ioas = vfio_compat_ioas_get(ictx);
	if (!IS_ERR(ioas)) {
		*out_ioas_id = ioas->obj.id;
		iommufd_put_object(ictx, &ioas->obj);
	}
	mutex_unlock(&ictx->vfio_lock);
	return PTR_ERR_OR_ZERO(ioas);
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_get_id, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_ioas_create() - give the file a compat IOAS
 * @ictx: the iommufd file
 *
 * Does nothing if it already has one.
 *
 * Context: Process context.
 * Return: 0 or -ENOMEM.
 */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;
	int rc = 0;

	mutex_lock(&ictx->vfio_lock);
	ioas = vfio_compat_ioas_get(ictx);
	if (!IS_ERR(ioas)) {
		iommufd_put_object(ictx, &ioas->obj);
		goto out_unlock;
	}
	ioas = iommufd_ioas_create(ictx);
	if (IS_ERR(ioas)) {
		rc = PTR_ERR(ioas);
		goto out_unlock;
	}
	ictx->vfio_ioas_id = ioas->obj.id;
	iommufd_object_finalize(ictx, &ioas->obj);
out_unlock:
	mutex_unlock(&ictx->vfio_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_create, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_set_no_iommu() - use the file for no-IOMMU VFIO
 * @ictx: the iommufd file
 *
 * Context: Process context.
 * Return: 0, or -EPERM if the file already serves VFIO through a compat
 * IOAS.
 */
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	int rc = 0;

	mutex_lock(&ictx->vfio_lock);
	if (ictx->vfio_ioas_id)
		rc = -EPERM;
	else
		ictx->no_iommu_mode = true;
	mutex_unlock(&ictx->vfio_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_set_no_iommu, IOMMUFD_VFIO);

int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas;
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	mutex_lock(&ictx->vfio_lock);
	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		ioas = vfio_compat_ioas_get(ictx);
		if (IS_ERR(ioas)) {
			rc = PTR_ERR(ioas);
			break;
		}
		cmd->ioas_id = ioas->obj.id;
		iommufd_put_object(ictx, &ioas->obj);
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
		break;
	case IOMMU_VFIO_IOAS_SET:
		ioas = iommufd_get_ioas(ictx, cmd->ioas_id);
		if (IS_ERR(ioas)) {
			rc = PTR_ERR(ioas);
			break;
		}
		ictx->vfio_ioas_id = ioas->obj.id;
		iommufd_put_object(ictx, &ioas->obj);
		break;
	case IOMMU_VFIO_IOAS_CLEAR:
		ictx->vfio_ioas_id = 0;
		break;
	default:
		rc = -EOPNOTSUPP;
		break;
	}
	mutex_unlock(&ictx->vfio_lock);
	return rc;
}
