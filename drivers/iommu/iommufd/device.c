// SPDX-License-Identifier: GPL-2.0-only
/*
 * DEVICE objects: devices a driver (VFIO) binds to an iommufd, and their
 * attachment to HWPTs.
 *
 * Binding claims DMA ownership of the device's iommu_group for the iommufd
 * file through the core's owner count: from then on no DMA-API driver can
 * bind in that group, and the group sits on the blocking domain until it is
 * attached. Unbinding gives the group back to its default domain once the
 * last device of the file in that group is gone.
 *
 * Attachment is per group, since the IOMMU translates per group: all bound
 * devices of a group that are attached share one HWPT. A struct
 * iommufd_group, one per iommu_group per file, records that HWPT and the
 * attached devices under its lock. Attaching to an IOAS picks an automatic
 * paging HWPT of that IOAS that accepts the device (the core answers
 * -EINVAL for an incompatible domain) or creates one. Replacing moves the
 * whole group to another HWPT with iommu_group_replace_domain(), so DMA is
 * never blocked in between.
 *
 * Each attached device reserves its reserved regions (e.g. the MSI window)
 * in the IOAS behind its HWPT, tagged with the device; a region that would
 * overlap a mapping or an allowed range makes the attach fail instead of
 * narrowing what userspace relies on.
 *
 * A HWPT with a FAULT object (fault.c) needs more: each device that uses it
 * has I/O page faults enabled (IOMMU_DEV_FEAT_IOPF) while it does, and the
 * group is attached with an attach handle, the core's record through which
 * it finds the domain's fault handler. Leaving such a HWPT (detach, or
 * replace to another HWPT) answers what the old handle's faults left
 * unanswered before the handle is freed.
 *
 * Attaching and replacing run under the IOAS mutex of the target HWPT,
 * taken by hw_pagetable.c, which owns the HWPTs' lifetime: device.c says
 * how a group moves (struct iommufd_attach) and counts each attached device
 * on its HWPT with iommufd_hwpt_attach_get() and _put(). The group's lock
 * nests inside the IOAS mutex (the legend is in iommufd_private.h).
 */
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/pci-ats.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommu-priv.h"
#include "iommufd_private.h"

static bool allow_unsafe_interrupts;
module_param(allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Bind devices whose MSIs the platform cannot isolate (no interrupt remapping); a device could then raise interrupts it does not own");

/* Called by kref_put_mutex() with the file's groups_lock held */
static void iommufd_group_release(struct kref *kref)
{
	struct iommufd_group *igroup =
		container_of(kref, struct iommufd_group, ref);
	struct iommufd_ctx *ictx = igroup->ictx;

	xa_erase(&ictx->groups, iommu_group_id(igroup->group));
	mutex_unlock(&ictx->groups_lock);

	WARN_ON(igroup->hwpt || !list_empty(&igroup->device_list));
	iommu_group_put(igroup->group);
	mutex_destroy(&igroup->lock);
	kfree(igroup);
}

static void iommufd_group_put(struct iommufd_group *igroup)
{
	kref_put_mutex(&igroup->ref, iommufd_group_release,
		       &igroup->ictx->groups_lock);
}

/* The file's iommufd_group for @dev's iommu_group, created on first use */
static struct iommufd_group *iommufd_group_get(struct iommufd_ctx *ictx,
					       struct device *dev)
{
	struct iommufd_group *igroup, *new;
	struct iommu_group *group;
	int rc;

	group = iommu_group_get(dev);
	if (!group)
		return ERR_PTR(-ENODEV);

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new) {
		iommu_group_put(group);
		return ERR_PTR(-ENOMEM);
	}
	kref_init(&new->ref);
	mutex_init(&new->lock);
	INIT_LIST_HEAD(&new->device_list);
	new->sw_msi_start = PHYS_ADDR_MAX;
	new->ictx = ictx;
	new->group = group;

	mutex_lock(&ictx->groups_lock);
	igroup = xa_load(&ictx->groups, iommu_group_id(group));
	if (igroup) {
		kref_get(&igroup->ref);
	} else {
		rc = xa_err(xa_store(&ictx->groups, iommu_group_id(group), new,
				     GFP_KERNEL_ACCOUNT));
		igroup = rc ? ERR_PTR(rc) : new;
	}
	mutex_unlock(&ictx->groups_lock);

	if (igroup != new) {
		mutex_destroy(&new->lock);
		kfree(new);
		iommu_group_put(group);
	}
	return igroup;
}

/**
 * iommufd_ctx_has_group() - is any device of this group bound to the file?
 * @ictx: the iommufd file
 * @group: the iommu_group
 *
 * Context: Process context. Takes the file's groups_lock.
 * Return: true if a device of @group is bound to @ictx.
 */
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, struct iommu_group *group)
{
	struct iommufd_group *igroup;
	bool found;

	if (!ictx || !group)
		return false;
	mutex_lock(&ictx->groups_lock);
	igroup = xa_load(&ictx->groups, iommu_group_id(group));
	found = igroup && igroup->group == group;
	mutex_unlock(&ictx->groups_lock);
	return found;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_has_group, IOMMUFD);

void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev =
		container_of(obj, struct iommufd_device, obj);

	/* The group entry needs the file; the device keeps its own group */
	iommufd_group_put(idev->igroup);
	iommu_device_release_dma_owner(idev->dev);
}

/*
 * A bound device holds a reference on its file: VFIO's group path drops
 * its own (VFIO_GROUP_UNSET_CONTAINER) while devices stay open. The
 * selftest's mock devices are objects of the file itself, which such a
 * reference would keep open forever.
 */
static bool iommufd_device_holds_ctx(struct device *dev)
{
	return !iommufd_test_is_mock_dev(dev);
}

/*
 * Whether DMA of @dev may be handed to userspace: mappings are always
 * cacheable, so the IOMMU must keep DMA coherent, and a DMA write must not
 * be able to raise another device's interrupt.
 */
static int iommufd_device_check_safe(struct device *dev,
				     struct iommu_group *group)
{
	if (!device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY))
		return -EINVAL;
	if (iommufd_test_is_mock_dev(dev) || iommu_group_has_isolated_msi(group))
		return 0;
	if (!allow_unsafe_interrupts)
		return -EPERM;
	dev_warn(dev, "MSIs are not isolated; bound anyway (allow_unsafe_interrupts)\n");
	return 0;
}

/**
 * iommufd_device_bind() - bind a device to an iommufd file
 * @ictx: the iommufd file
 * @dev: a device with an IOMMU group, whose driver manages its DMA itself
 * @id: out: the ID of the new DEVICE object
 *
 * Claims DMA ownership of the device's group for @ictx. The caller owns the
 * returned device until iommufd_device_unbind(); userspace cannot destroy
 * it. The device holds a reference on @ictx until it is unbound.
 *
 * Context: Process context.
 * Return: the device, or ERR_PTR: -ENODEV without an IOMMU group, -EINVAL
 * if the IOMMU cannot keep DMA cache coherent, -EPERM if MSIs cannot be
 * isolated (see the allow_unsafe_interrupts parameter), -EBUSY if the group
 * is used by a DMA-API driver or another owner, -ENOMEM.
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id)
{
	struct iommufd_group *igroup = iommufd_group_get(ictx, dev);
	struct iommufd_device *idev;
	int rc;

	if (IS_ERR(igroup))
		return ERR_CAST(igroup);
	rc = iommufd_device_check_safe(dev, igroup->group);
	if (rc)
		goto out_put_group;
	rc = iommu_device_claim_dma_owner(dev, ictx);
	if (rc) {
		/* EPERM there means: someone else owns the group's DMA */
		rc = rc == -EPERM ? -EBUSY : rc;
		goto out_put_group;
	}

	idev = iommufd_object_alloc(ictx, struct iommufd_device,
				    IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(idev)) {
		iommu_device_release_dma_owner(dev);
		rc = PTR_ERR(idev);
		goto out_put_group;
	}
	*idev = (struct iommufd_device){
		.obj = idev->obj,
		.ictx = ictx,
		.igroup = igroup,
		.dev = dev,
		.group_item = LIST_HEAD_INIT(idev->group_item),
		.enforce_cache_coherency = device_iommu_capable(dev,
				IOMMU_CAP_ENFORCE_CACHE_COHERENCY),
	};
	/* The binder's hold: IOMMU_DESTROY sees the object as busy */
	iommufd_object_get_ref(&idev->obj);
	if (iommufd_device_holds_ctx(dev))
		iommufd_ctx_get(ictx);
	*id = idev->obj.id;
	iommufd_object_finalize(ictx, &idev->obj);
	return idev;

out_put_group:
	iommufd_group_put(igroup);
	return ERR_PTR(rc);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_bind, IOMMUFD);

/**
 * iommufd_device_unbind() - undo iommufd_device_bind()
 * @idev: the device
 *
 * A device still attached is detached first.
 *
 * Context: Process context; waits for ioctls using the device to finish.
 * May release the file, and with it every object of the file.
 */
void iommufd_device_unbind(struct iommufd_device *idev)
{
	struct iommufd_ctx *ictx = idev->ictx;
	bool holds_ctx = iommufd_device_holds_ctx(idev->dev);

	if (!list_empty(&idev->group_item))
		iommufd_device_detach(idev);
	iommufd_object_destroy_kernel(ictx, &idev->obj, 1);
	if (holds_ctx)
		iommufd_ctx_put(ictx);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_unbind, IOMMUFD);

/**
 * iommufd_device_to_ictx() - the file a device is bound to
 * @idev: the device
 *
 * Return: the iommufd context; valid while the device is bound.
 */
struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev)
{
	return idev->ictx;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_ictx, IOMMUFD);

/**
 * iommufd_device_to_id() - the object ID userspace knows a device by
 * @idev: the device
 *
 * Return: the ID.
 */
u32 iommufd_device_to_id(struct iommufd_device *idev)
{
	return idev->obj.id;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_id, IOMMUFD);

/*
 * Reserves @idev's reserved regions in @ioas, tagged with @idev, and notes
 * where the IOMMU driver wants MSI doorbells mapped if it leaves that to
 * software (IOMMU_RESV_SW_MSI, as on ARM): a window the group's domains
 * must then carry an MSI cookie for.
 */
static int iommufd_device_reserve_regions(struct iommufd_device *idev,
					  struct iommufd_ioas *ioas)
{
	struct iommu_resv_region *resv;
	LIST_HEAD(regions);
	int rc = 0;

	lockdep_assert_held(&idev->igroup->lock);

	iommu_get_resv_regions(idev->dev, &regions);
	list_for_each_entry(resv, &regions, list) {
		/* Firmware may still use these, but they can be mapped over */
		if (resv->type == IOMMU_RESV_DIRECT_RELAXABLE)
			continue;
		if (resv->type == IOMMU_RESV_SW_MSI)
			idev->igroup->sw_msi_start = resv->start;
		rc = iopt_reserve_iova(&ioas->iopt, resv->start,
				       resv->start + resv->length - 1, idev);
		if (rc)
			break;
	}
	iommu_put_resv_regions(idev->dev, &regions);
	if (rc)
		iopt_remove_reserved_iova(&ioas->iopt, idev);
	return rc;
}

/* Reserves the regions of every device in @devices; all or nothing */
static int iommufd_group_reserve_regions(struct list_head *devices,
					 struct iommufd_ioas *ioas)
{
	struct iommufd_device *idev, *failed = NULL;
	int rc = 0;

	list_for_each_entry(idev, devices, group_item) {
		rc = iommufd_device_reserve_regions(idev, ioas);
		if (rc) {
			failed = idev;
			break;
		}
	}
	if (!failed)
		return 0;
	list_for_each_entry(idev, devices, group_item) {
		if (idev == failed)
			break;
		iopt_remove_reserved_iova(&ioas->iopt, idev);
	}
	return rc;
}

static void iommufd_group_unreserve_regions(struct list_head *devices,
					    struct iommufd_ioas *ioas)
{
	struct iommufd_device *idev;

	list_for_each_entry(idev, devices, group_item)
		iopt_remove_reserved_iova(&ioas->iopt, idev);
}

/* Turns on I/O page faults for every attached device of @igroup */
static int iommufd_group_iopf_enable(struct iommufd_group *igroup)
{
	struct iommufd_device *cur;
	int rc;

	list_for_each_entry(cur, &igroup->device_list, group_item) {
		rc = iommufd_fault_iopf_enable(cur);
		if (rc)
			goto err_disable;
	}
	return 0;

err_disable:
	list_for_each_entry_continue_reverse(cur, &igroup->device_list,
					     group_item)
		iommufd_fault_iopf_disable(cur);
	return rc;
}

static void iommufd_group_iopf_disable(struct iommufd_group *igroup)
{
	struct iommufd_device *cur;

	list_for_each_entry(cur, &igroup->device_list, group_item)
		iommufd_fault_iopf_disable(cur);
}

/* Records @idev as a user of @handle, for the faults read from it */
static int iommufd_attach_handle_add(struct iommufd_attach_handle *handle,
				     struct iommufd_device *idev)
{
	return xa_err(xa_store(&handle->devices, (unsigned long)idev->dev,
			       xa_mk_value(idev->obj.id), GFP_KERNEL_ACCOUNT));
}

static void iommufd_attach_handle_free(struct iommufd_attach_handle *handle)
{
	if (!handle)
		return;
	xa_destroy(&handle->devices);
	kfree(handle);
}

/*
 * A handle for the attachment of @idev's group to @hwpt, NULL if @hwpt has
 * no FAULT: its users are @idev, or with @replace the group's devices.
 */
static struct iommufd_attach_handle *
iommufd_attach_handle_alloc(struct iommufd_device *idev,
			    struct iommufd_hw_pagetable *hwpt, bool replace)
{
	struct iommufd_attach_handle *handle;
	struct iommufd_device *cur;
	int rc = 0;

	if (!hwpt->fault)
		return NULL;
	handle = kzalloc(sizeof(*handle), GFP_KERNEL_ACCOUNT);
	if (!handle)
		return ERR_PTR(-ENOMEM);
	xa_init(&handle->devices);
	if (!replace)
		rc = iommufd_attach_handle_add(handle, idev);
	else
		list_for_each_entry(cur, &idev->igroup->device_list,
				    group_item) {
			rc = iommufd_attach_handle_add(handle, cur);
			if (rc)
				break;
		}
	if (rc) {
		iommufd_attach_handle_free(handle);
		return ERR_PTR(rc);
	}
	return handle;
}

/*
 * Moves @idev's group from @old (NULL: the blocking domain) to @hwpt. The
 * core finds the fault handler of a domain through the record of the
 * attachment, so a HWPT with a FAULT is attached with a handle; what the
 * old handle's faults left unanswered is answered once the group has left.
 */
static int iommufd_group_set_hwpt(struct iommufd_device *idev,
				  struct iommufd_hw_pagetable *hwpt,
				  struct iommufd_hw_pagetable *old)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_attach_handle *old_handle = igroup->handle;
	struct iommufd_attach_handle *handle;
	int rc;

	lockdep_assert_held(&igroup->lock);

	handle = iommufd_attach_handle_alloc(idev, hwpt, old);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	if (!old && handle)
		rc = iommu_attach_group_handle(hwpt->domain, igroup->group,
					       &handle->handle);
	else if (!old)
		rc = iommu_attach_group(hwpt->domain, igroup->group);
	else if (handle || old_handle)
		rc = iommu_replace_group_handle(igroup->group, hwpt->domain,
						handle ? &handle->handle :
							 NULL);
	else
		rc = iommu_group_replace_domain(igroup->group, hwpt->domain);
	if (rc) {
		iommufd_attach_handle_free(handle);
		return rc;
	}
	igroup->handle = handle;
	if (old_handle) {
		iommufd_fault_detached(old, old_handle);
		iommufd_attach_handle_free(old_handle);
	}
	return 0;
}

/* Puts @igroup, attached to @hwpt, back on the blocking domain */
static void iommufd_group_clear_hwpt(struct iommufd_group *igroup,
				     struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_attach_handle *handle = igroup->handle;

	lockdep_assert_held(&igroup->lock);

	if (!handle) {
		iommu_detach_group(hwpt->domain, igroup->group);
		return;
	}
	iommu_detach_group_handle(hwpt->domain, igroup->group);
	igroup->handle = NULL;
	iommufd_fault_detached(hwpt, handle);
	iommufd_attach_handle_free(handle);
}

/*
 * The last steps before a group uses @hwpt, neither of which can be undone:
 * the MSI cookie of a software MSI window, and enforced coherency for a
 * device that needs it. A nested HWPT keeps the coherency its parent was
 * allocated with; the parent is not changed under the first stage the user
 * owns.
 */
static int iommufd_group_prepare_hwpt(struct iommufd_device *idev,
				      struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *paging = iommufd_hwpt_paging_of(hwpt);
	int rc;

	rc = iommufd_hwpt_setup_sw_msi(paging, idev->igroup->sw_msi_start);
	if (!rc && idev->enforce_cache_coherency &&
	    hwpt->obj.type == IOMMUFD_OBJ_HWPT_PAGING)
		rc = iommufd_hwpt_enforce_cc(paging);
	return rc;
}

/*
 * Puts @idev, not attached, on @hwpt: its group is unattached, or already
 * on @hwpt with other devices. The attach callback of
 * iommufd_device_attach(), run under the IOAS mutex.
 *
 * Return: 0 or a negative errno; -EINVAL means "not compatible", which an
 * automatic attach takes as a reason to try another HWPT.
 */
static int iommufd_device_do_attach(struct iommufd_device *idev,
				    struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_ioas *ioas = iommufd_hwpt_paging_of(hwpt)->ioas;
	struct iommufd_group *igroup = idev->igroup;
	int rc;

	mutex_lock(&igroup->lock);
	if (!list_empty(&idev->group_item) ||
	    (igroup->hwpt && igroup->hwpt != hwpt)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	rc = iommufd_device_reserve_regions(idev, ioas);
	if (rc)
		goto out_unlock;
	rc = iommufd_group_prepare_hwpt(idev, hwpt);
	if (rc)
		goto err_unreserve;
	/* As in 6.12, faults are on before the HWPT can report one */
	if (hwpt->fault) {
		rc = iommufd_fault_iopf_enable(idev);
		if (rc)
			goto err_unreserve;
	}
	if (!igroup->hwpt)
		rc = iommufd_group_set_hwpt(idev, hwpt, NULL);
	else if (igroup->handle)
		rc = iommufd_attach_handle_add(igroup->handle, idev);
	if (rc)
		goto err_iopf_disable;

	iommufd_hwpt_attach_get(hwpt);
	list_add_tail(&idev->group_item, &igroup->device_list);
	igroup->hwpt = hwpt;
	mutex_unlock(&igroup->lock);
	return 0;

err_iopf_disable:
	if (hwpt->fault)
		iommufd_fault_iopf_disable(idev);
err_unreserve:
	iopt_remove_reserved_iova(&ioas->iopt, idev);
out_unlock:
	mutex_unlock(&igroup->lock);
	return rc;
}

/*
 * Moves the group of @idev, which is attached, from its HWPT to @hwpt in
 * one step. The attachments the group's devices held on the old HWPT are
 * left in @att for iommufd_device_change_pt() to put once no IOAS mutex is
 * held, since the last of them destroys an automatic HWPT. The attach
 * callback of iommufd_device_replace(), run under the IOAS mutex of @hwpt.
 *
 * Return: as iommufd_device_do_attach(); on error the group did not move.
 */
static int iommufd_device_do_replace(struct iommufd_device *idev,
				     struct iommufd_hw_pagetable *hwpt,
				     struct iommufd_attach *att)
{
	struct iommufd_ioas *ioas = iommufd_hwpt_paging_of(hwpt)->ioas;
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *old;
	struct iommufd_ioas *old_ioas;
	struct iommufd_device *cur;
	bool iopf_on;
	int rc = 0;

	mutex_lock(&igroup->lock);
	old = igroup->hwpt;
	if (list_empty(&idev->group_item)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (old == hwpt)
		goto out_unlock;

	/* The group's devices reserve their regions in an IOAS they join */
	old_ioas = iommufd_hwpt_paging_of(old)->ioas;
	if (old_ioas != ioas) {
		rc = iommufd_group_reserve_regions(&igroup->device_list, ioas);
		if (rc)
			goto out_unlock;
	}
	rc = iommufd_group_prepare_hwpt(idev, hwpt);
	iopf_on = hwpt->fault && !old->fault;
	if (!rc && iopf_on)
		rc = iommufd_group_iopf_enable(igroup);
	if (!rc)
		rc = iommufd_group_set_hwpt(idev, hwpt, old);
	if (rc)
		goto err_undo;

	if (old->fault && !hwpt->fault)
		iommufd_group_iopf_disable(igroup);
	att->old = old;
	list_for_each_entry(cur, &igroup->device_list, group_item) {
		iommufd_hwpt_attach_get(hwpt);
		att->old_attached++;
	}
	if (old_ioas != ioas)
		iommufd_group_unreserve_regions(&igroup->device_list,
						old_ioas);
	igroup->hwpt = hwpt;
	mutex_unlock(&igroup->lock);
	return 0;

err_undo:
	if (iopf_on)
		iommufd_group_iopf_disable(igroup);
	if (old_ioas != ioas)
		iommufd_group_unreserve_regions(&igroup->device_list, ioas);
out_unlock:
	mutex_unlock(&igroup->lock);
	return rc;
}

/*
 * Takes @idev out of its group's attachment; the last device puts the
 * group back on the blocking domain. Returns the HWPT it was attached to,
 * whose ref the caller now owns, or NULL if it was not attached.
 */
static struct iommufd_hw_pagetable *
iommufd_group_remove_device(struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *hwpt;

	mutex_lock(&igroup->lock);
	hwpt = igroup->hwpt;
	if (WARN_ON(!hwpt || list_empty(&idev->group_item))) {
		mutex_unlock(&igroup->lock);
		return NULL;
	}
	list_del_init(&idev->group_item);
	if (list_empty(&igroup->device_list)) {
		iommufd_group_clear_hwpt(igroup, hwpt);
		igroup->hwpt = NULL;
	} else if (igroup->handle) {
		/* Before its faults go off: the core forgets it then */
		iommufd_fault_device_left(hwpt, igroup->handle, idev->dev);
		xa_erase(&igroup->handle->devices, (unsigned long)idev->dev);
	}
	if (hwpt->fault)
		iommufd_fault_iopf_disable(idev);
	iopt_remove_reserved_iova(&iommufd_hwpt_paging_of(hwpt)->ioas->iopt, idev);
	mutex_unlock(&igroup->lock);
	return hwpt;
}

static int iommufd_device_attach_cb(struct iommufd_attach *att,
				    struct iommufd_hw_pagetable *hwpt)
{
	return iommufd_device_do_attach(att->idev, hwpt);
}

static int iommufd_device_replace_cb(struct iommufd_attach *att,
				     struct iommufd_hw_pagetable *hwpt)
{
	return iommufd_device_do_replace(att->idev, hwpt, att);
}

/* The attachment taken goes with the HWPT, which is never published */
static void iommufd_device_undo_cb(struct iommufd_attach *att,
				   struct iommufd_hw_pagetable *hwpt)
{
	iommufd_group_remove_device(att->idev);
}

static int iommufd_device_change_pt(struct iommufd_device *idev, u32 *pt_id,
				    bool replace)
{
	struct iommufd_attach att = {
		.idev = idev,
		.attach = replace ? iommufd_device_replace_cb :
				    iommufd_device_attach_cb,
		.undo = iommufd_device_undo_cb,
		.fill_first = replace,
	};
	struct iommufd_object *pt_obj;
	int rc;

	pt_obj = iommufd_get_object(idev->ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return PTR_ERR(pt_obj);

	switch (pt_obj->type) {
	case IOMMUFD_OBJ_HWPT_PAGING:
	case IOMMUFD_OBJ_HWPT_NESTED:
		rc = iommufd_hwpt_attach(container_of(pt_obj,
						      struct iommufd_hw_pagetable,
						      obj),
					 &att);
		break;
	case IOMMUFD_OBJ_IOAS:
		rc = iommufd_hwpt_auto_attach(container_of(pt_obj,
							   struct iommufd_ioas,
							   obj),
					      &att, pt_id);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	iommufd_put_object(idev->ictx, pt_obj);
	/* The group's devices no longer use the HWPT they left */
	for (; att.old_attached; att.old_attached--)
		iommufd_hwpt_attach_put(idev->ictx, att.old);
	return rc;
}

/**
 * iommufd_device_attach() - attach a device to an IOAS or a HWPT
 * @idev: a bound, unattached device
 * @pt_id: in: an IOAS, paging HWPT or nested HWPT ID; out: for an IOAS, the
 *         ID of the automatic HWPT used
 *
 * Context: Process context.
 * Return: 0, or -ENOENT for an unknown ID, -EINVAL if the device is already
 * attached, its group is attached elsewhere, or the HWPT cannot serve it,
 * -EADDRINUSE if a reserved region of the device overlaps a mapping or an
 * allowed range of the IOAS, or an error of the driver.
 */
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id)
{
	return iommufd_device_change_pt(idev, pt_id, false);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_attach, IOMMUFD);

/**
 * iommufd_device_replace() - move an attached device's group to another
 * IOAS or HWPT without blocking DMA in between
 * @idev: an attached device
 * @pt_id: as for iommufd_device_attach()
 *
 * On failure the group stays where it was.
 *
 * Context: Process context.
 * Return: as iommufd_device_attach(); -EINVAL if @idev is not attached.
 */
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id)
{
	return iommufd_device_change_pt(idev, pt_id, true);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_replace, IOMMUFD);

/**
 * iommufd_device_detach() - detach a device from its HWPT
 * @idev: an attached device
 *
 * The last device of a group puts the group back on the blocking domain.
 * The device's reserved regions are released, which may widen the IOAS.
 *
 * Context: Process context.
 */
void iommufd_device_detach(struct iommufd_device *idev)
{
	struct iommufd_hw_pagetable *hwpt = iommufd_group_remove_device(idev);

	if (hwpt)
		iommufd_hwpt_attach_put(idev->ictx, hwpt);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_detach, IOMMUFD);

static u8 iommufd_device_pasid_bits(struct device *dev)
{
	u32 pasids = dev->iommu->max_pasids;

	return pasids ? ilog2(pasids) : 0;
}

/* enum iommufd_hw_capabilities of @dev and its IOMMU */
static u64 iommufd_device_caps(struct device *dev)
{
	u64 caps = 0;
	int pasid;

	if (device_iommu_capable(dev, IOMMU_CAP_DIRTY_TRACKING))
		caps |= IOMMU_HW_CAP_DIRTY_TRACKING;
	if (!iommufd_device_pasid_bits(dev) || !dev_is_pci(dev))
		return caps;
	pasid = pci_pasid_features(to_pci_dev(dev));
	if (pasid > 0) {
		caps |= pasid & PCI_PASID_CAP_EXEC ?
			IOMMU_HW_CAP_PCI_PASID_EXEC : 0;
		caps |= pasid & PCI_PASID_CAP_PRIV ?
			IOMMU_HW_CAP_PCI_PASID_PRIV : 0;
	}
	return caps;
}

int iommufd_get_hw_info_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	void __user *udata = u64_to_user_ptr(cmd->data_uptr);
	u32 len = 0, type = IOMMU_HW_INFO_TYPE_NONE, copied;
	const struct iommu_ops *ops;
	struct iommufd_device *idev;
	void *data = NULL;
	int rc = 0;

	if (cmd->flags || memchr_inv(cmd->__reserved, 0,
				     sizeof(cmd->__reserved)))
		return -EOPNOTSUPP;

	idev = iommufd_get_device(ucmd->ictx, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);

	ops = dev_iommu_ops(idev->dev);
	if (ops->hw_info) {
		data = ops->hw_info(idev->dev, &len, &type);
		if (IS_ERR(data)) {
			rc = PTR_ERR(data);
			goto out_put;
		}
	}

	copied = min(len, cmd->data_len);
	if (copy_to_user(udata, data, copied) ||
	    clear_user(udata + copied, cmd->data_len - copied)) {
		rc = -EFAULT;
		goto out_free;
	}

	cmd->data_len = len;
	cmd->out_data_type = type;
	cmd->out_capabilities = iommufd_device_caps(idev->dev);
	cmd->out_max_pasid_log2 = iommufd_device_pasid_bits(idev->dev);
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	kfree(data);
out_put:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}
