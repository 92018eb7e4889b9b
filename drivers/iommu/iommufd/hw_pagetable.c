// SPDX-License-Identifier: GPL-2.0-only
/*
 * HWPT objects: the iommu_domains that devices attach to.
 *
 * A paging HWPT wraps a domain that the kernel fills from one IOAS: on
 * creation the domain joins the IOAS's io_pagetable, which maps every area
 * into it and keeps it in step from then on, and limits the IOAS to the
 * domain's aperture and page size. A nested HWPT wraps a domain whose first
 * stage belongs to userspace (driver data passed through HWPT_ALLOC) and
 * whose second stage is a NEST_PARENT paging HWPT; it has no IOAS of its
 * own.
 *
 * HWPTs come from two places. IOMMU_HWPT_ALLOC creates them explicitly and
 * userspace destroys them. An attach of a device to an IOAS creates an
 * "auto" paging HWPT when no existing auto HWPT of that IOAS accepts the
 * device; it goes away with the last device detached from it.
 *
 * This file alone owns that lifetime. Each IOAS lists its paging HWPTs,
 * and the list changes only under the IOAS mutex. Every attach and replace
 * runs under the mutex of the IOAS behind its target (device.c supplies the
 * steps in struct iommufd_attach), and counts the devices it put on a HWPT
 * with iommufd_hwpt_attach_get(); a detach counts one out with
 * iommufd_hwpt_attach_put(). The put that counts an auto HWPT's last device
 * out unlists it in the same critical section and destroys it after the
 * mutex is dropped, so an attach finds it alive or does not find it, and an
 * attach by ID to it in between is refused (ENOENT). Paths that build a
 * HWPT under the mutex undo it with iommufd_hwpt_paging_unwind(), never
 * through the destroy callback, which takes the mutex.
 *
 * What a HWPT can do is read from the domain and the driver's ops, never
 * from the domain type: dirty tracking needs domain->dirty_ops, enforced
 * cache coherency needs ops->enforce_cache_coherency to agree.
 *
 * A nested HWPT may be given a FAULT object (IOMMU_HWPT_FAULT_ID_VALID):
 * its domain's I/O page faults then go to userspace through that object
 * (fault.c) instead of being resolved in the kernel. As in 6.12 a paging
 * HWPT takes no FAULT.
 *
 * References: a HWPT holds a long-term ref on its IOAS (paging) or parent
 * (nested), and on its FAULT; each attached device group holds one on the
 * HWPT.
 */
#include <linux/iommu.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommu-priv.h"
#include "iommufd_private.h"

static void iommufd_hwpt_free_domain(struct iommufd_hw_pagetable *hwpt)
{
	if (hwpt->domain)
		iommu_domain_free(hwpt->domain);
}

/*
 * Undoes a paging HWPT that was never published, for the paths that build
 * one under the IOAS mutex (whose destroy callback would take it again).
 */
static void iommufd_hwpt_paging_unwind(struct iommufd_ctx *ictx,
				       struct iommufd_hwpt_paging *hwpt_paging)
{
	struct iommufd_ioas *ioas = hwpt_paging->ioas;

	lockdep_assert_held(&ioas->mutex);

	list_del_init(&hwpt_paging->hwpt_item);
	if (hwpt_paging->in_iopt)
		iopt_table_remove_domain(&ioas->iopt, hwpt_paging->common.domain);
	iommufd_hwpt_free_domain(&hwpt_paging->common);
	iommufd_object_put_ref(&ioas->obj);
	iommufd_object_abort(ictx, &hwpt_paging->common.obj);
}

/* Context: Process context; the IOAS mutex is not held, this takes it. */
void iommufd_hwpt_paging_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *hwpt_paging =
		container_of(obj, struct iommufd_hwpt_paging, common.obj);
	struct iommufd_ioas *ioas = hwpt_paging->ioas;

	/* An automatic HWPT left the list with its last device already */
	mutex_lock(&ioas->mutex);
	list_del_init(&hwpt_paging->hwpt_item);
	mutex_unlock(&ioas->mutex);
	if (hwpt_paging->in_iopt)
		iopt_table_remove_domain(&ioas->iopt, hwpt_paging->common.domain);
	iommufd_hwpt_free_domain(&hwpt_paging->common);
	iommufd_object_put_ref(&ioas->obj);
}

void iommufd_hwpt_nested_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_nested *hwpt_nested =
		container_of(obj, struct iommufd_hwpt_nested, common.obj);

	iommufd_hwpt_free_domain(&hwpt_nested->common);
	if (hwpt_nested->common.fault)
		iommufd_object_put_ref(&hwpt_nested->common.fault->obj);
	iommufd_object_put_ref(&hwpt_nested->parent->common.obj);
}

/**
 * iommufd_hwpt_enforce_cc() - make a paging HWPT block no-snoop DMA
 * @hwpt_paging: the HWPT
 *
 * Once enforced it stays enforced. Devices that must have it attach only to
 * HWPTs where this succeeded.
 *
 * Context: Process context; the caller holds the IOAS mutex, as an attach
 * callback (struct iommufd_attach) or while creating the HWPT.
 * Return: 0, or -EINVAL if the domain cannot enforce coherency.
 */
int iommufd_hwpt_enforce_cc(struct iommufd_hwpt_paging *hwpt_paging)
{
	struct iommu_domain *domain = hwpt_paging->common.domain;

	lockdep_assert_held(&hwpt_paging->ioas->mutex);

	if (hwpt_paging->enforce_cache_coherency)
		return 0;
	if (!domain->ops->enforce_cache_coherency ||
	    !domain->ops->enforce_cache_coherency(domain))
		return -EINVAL;
	hwpt_paging->enforce_cache_coherency = true;
	return 0;
}

/**
 * iommufd_hwpt_setup_sw_msi() - let the IRQ layer map MSI doorbells
 * @hwpt_paging: the HWPT a group is about to use (the parent, for nesting)
 * @sw_msi_start: IOVA of the group's IOMMU_RESV_SW_MSI window, or
 *	PHYS_ADDR_MAX if its IOMMU translates MSIs itself
 *
 * An IOMMU that leaves MSI translation to software has the doorbells mapped
 * by the IRQ layer into the window its reserved region names, which needs an
 * MSI cookie on the domain. A domain takes one cookie for its lifetime.
 *
 * Context: Process context; the caller holds the IOAS mutex, as an attach
 * callback (struct iommufd_attach).
 * Return: 0 or the error of iommu_get_msi_cookie().
 */
int iommufd_hwpt_setup_sw_msi(struct iommufd_hwpt_paging *hwpt_paging,
			      phys_addr_t sw_msi_start)
{
	int rc;

	lockdep_assert_held(&hwpt_paging->ioas->mutex);

	if (sw_msi_start == PHYS_ADDR_MAX || hwpt_paging->msi_cookie)
		return 0;
	rc = iommu_get_msi_cookie(hwpt_paging->common.domain, sw_msi_start);
	if (rc)
		return rc;
	hwpt_paging->msi_cookie = true;
	return 0;
}

/*
 * iommufd_hwpt_paging_alloc() - create a paging HWPT fed by an IOAS
 * @ictx: the file the HWPT belongs to
 * @ioas: the IOAS whose mappings fill the domain
 * @idev: the device whose IOMMU allocates the domain
 * @flags: IOMMU_HWPT_ALLOC_* flags for the driver
 * @auto_domain: created by an attach, to be destroyed with its last device
 * @user_data: driver data from IOMMU_HWPT_ALLOC, or NULL; as in 6.12 the
 *             driver decides whether a paging domain takes any
 *
 * The HWPT is not finalized, and its domain does not mirror the IOAS yet:
 * the caller adds it with iommufd_hwpt_paging_fill(), which some drivers
 * allow only once a device is attached, and then publishes it, or undoes
 * it with iommufd_hwpt_paging_unwind() before dropping the IOAS mutex.
 *
 * Context: Process context; the caller holds @ioas->mutex.
 * Return: the HWPT or an ERR_PTR.
 */
static struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  struct iommufd_device *idev, u32 flags,
			  bool auto_domain,
			  const struct iommu_user_data *user_data)
{
	const u32 known = IOMMU_HWPT_ALLOC_NEST_PARENT |
			  IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	const struct iommu_ops *ops = dev_iommu_ops(idev->dev);
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommu_domain *domain;
	int rc;

	lockdep_assert_held(&ioas->mutex);

	if ((flags || user_data) && !ops->domain_alloc_user)
		return ERR_PTR(-EOPNOTSUPP);
	if (flags & ~known)
		return ERR_PTR(-EOPNOTSUPP);

	hwpt_paging = iommufd_object_alloc_at(ictx, struct iommufd_hwpt_paging,
					      common.obj,
					      IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(hwpt_paging))
		return hwpt_paging;
	INIT_LIST_HEAD(&hwpt_paging->hwpt_item);
	hwpt_paging->ioas = ioas;
	hwpt_paging->auto_domain = auto_domain;
	hwpt_paging->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
	iommufd_object_get_ref(&ioas->obj);

	if (ops->domain_alloc_user) {
		domain = ops->domain_alloc_user(idev->dev, flags, NULL,
						user_data);
		if (!IS_ERR(domain))
			domain->owner = ops;
	} else {
		domain = iommu_paging_domain_alloc(idev->dev);
	}
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto err_abort;
	}
	hwpt_paging->common.domain = domain;

	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !domain->dirty_ops) {
		rc = -EOPNOTSUPP;
		goto err_abort;
	}
	/* A device that needs no-snoop blocked can only use such a domain */
	if (idev->enforce_cache_coherency) {
		rc = iommufd_hwpt_enforce_cc(hwpt_paging);
		if (rc)
			goto err_abort;
	}

	return hwpt_paging;

err_abort:
	iommufd_hwpt_paging_unwind(ictx, hwpt_paging);
	return ERR_PTR(rc);
}

/*
 * iommufd_hwpt_paging_fill() - make a new paging HWPT mirror its IOAS
 * @hwpt_paging: a HWPT from iommufd_hwpt_paging_alloc()
 *
 * Maps every area of the IOAS into the domain, which from then on follows
 * the IOAS, and lists the HWPT on the IOAS for attaches to find. The domain
 * must know its aperture and page sizes by now.
 *
 * Context: Process context; the caller holds the IOAS mutex.
 * Return: 0 or the error of iopt_table_add_domain(); on error nothing
 * changed.
 */
static int iommufd_hwpt_paging_fill(struct iommufd_hwpt_paging *hwpt_paging)
{
	struct iommufd_ioas *ioas = hwpt_paging->ioas;
	int rc;

	lockdep_assert_held(&ioas->mutex);

	rc = iopt_table_add_domain(&ioas->iopt, hwpt_paging->common.domain);
	if (rc)
		return rc;
	hwpt_paging->in_iopt = true;
	list_add_tail(&hwpt_paging->hwpt_item, &ioas->hwpt_list);
	return 0;
}

/* An automatic HWPT lives exactly as long as devices are attached to it */
static bool iommufd_hwpt_is_auto(struct iommufd_hw_pagetable *hwpt)
{
	return hwpt->obj.type == IOMMUFD_OBJ_HWPT_PAGING &&
	       container_of(hwpt, struct iommufd_hwpt_paging,
			    common)->auto_domain;
}

/**
 * iommufd_hwpt_attach_get() - count one more device attached to a HWPT
 * @hwpt: the HWPT, on which the device now translates
 *
 * Called by an attach callback (struct iommufd_attach) once its device
 * uses @hwpt; each call is matched by one iommufd_hwpt_attach_put().
 *
 * Context: Process context; the caller holds the IOAS mutex of @hwpt (of
 * its parent for a nested HWPT), which iommufd_hwpt_attach() and
 * iommufd_hwpt_auto_attach() take around the callback.
 */
void iommufd_hwpt_attach_get(struct iommufd_hw_pagetable *hwpt)
{
	lockdep_assert_held(&iommufd_hwpt_paging_of(hwpt)->ioas->mutex);

	hwpt->attached++;
	iommufd_object_get_ref(&hwpt->obj);
}

/**
 * iommufd_hwpt_attach_put() - count one device fewer attached to a HWPT
 * @ictx: the file the HWPT belongs to
 * @hwpt: the HWPT the device no longer translates on
 *
 * An automatic HWPT is destroyed with its last device. It leaves the IOAS's
 * list in the same critical section that counts its last device out, so an
 * attach either found it before, and counted itself in first, or does not
 * find it at all.
 *
 * Context: Process context, no IOAS mutex held: this takes the one of
 * @hwpt and may destroy @hwpt, waiting for ioctls that still use it.
 */
void iommufd_hwpt_attach_put(struct iommufd_ctx *ictx,
			     struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *paging = iommufd_hwpt_paging_of(hwpt);
	struct iommufd_ioas *ioas = paging->ioas;
	bool last;

	mutex_lock(&ioas->mutex);
	if (WARN_ON(!hwpt->attached)) {
		mutex_unlock(&ioas->mutex);
		return;
	}
	last = !--hwpt->attached && iommufd_hwpt_is_auto(hwpt);
	if (last)
		list_del_init(&paging->hwpt_item);
	else
		iommufd_object_put_ref(&hwpt->obj);
	mutex_unlock(&ioas->mutex);
	/* The ref of the last device goes with the object */
	if (last)
		iommufd_object_destroy_kernel(ictx, &hwpt->obj, 1);
}

/**
 * iommufd_hwpt_attach() - run an attach to a HWPT named by the user
 * @hwpt: the HWPT, with a short-term user held by the caller
 * @att: what to do, for which device
 *
 * Runs @att->attach under the IOAS mutex of @hwpt. An automatic HWPT whose
 * last device is gone is on its way out and is refused.
 *
 * Context: Process context. Takes the IOAS mutex.
 * Return: 0, -ENOENT for an automatic HWPT being destroyed, or what
 * @att->attach returned.
 */
int iommufd_hwpt_attach(struct iommufd_hw_pagetable *hwpt,
			struct iommufd_attach *att)
{
	struct iommufd_ioas *ioas = iommufd_hwpt_paging_of(hwpt)->ioas;
	int rc;

	mutex_lock(&ioas->mutex);
	if (iommufd_hwpt_is_auto(hwpt) && !hwpt->attached)
		rc = -ENOENT;
	else
		rc = att->attach(att, hwpt);
	mutex_unlock(&ioas->mutex);
	return rc;
}

/**
 * iommufd_hwpt_auto_attach() - run an attach to an IOAS
 * @ioas: the IOAS, with a short-term user held by the caller
 * @att: what to do, for which device
 * @pt_id: out: the ID of the automatic HWPT used
 *
 * Tries @att->attach on each automatic HWPT of @ioas, going on while it
 * answers -EINVAL (not compatible); if none takes the device, creates one
 * for it. A new domain is attached before it is filled (some drivers learn
 * its aperture only then), or filled first with @att->fill_first, for a
 * replace, whose group must not see it empty.
 *
 * Context: Process context. Takes the IOAS mutex.
 * Return: 0 or a negative errno; on error no HWPT was created.
 */
int iommufd_hwpt_auto_attach(struct iommufd_ioas *ioas,
			     struct iommufd_attach *att, u32 *pt_id)
{
	struct iommufd_ctx *ictx = att->idev->ictx;
	struct iommufd_hwpt_paging *hwpt_paging;
	int rc;

	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt_paging, &ioas->hwpt_list, hwpt_item) {
		if (!hwpt_paging->auto_domain)
			continue;
		rc = att->attach(att, &hwpt_paging->common);
		if (rc == -EINVAL)
			continue;
		if (!rc)
			*pt_id = hwpt_paging->common.obj.id;
		goto out_unlock;
	}

	hwpt_paging = iommufd_hwpt_paging_alloc(ictx, ioas, att->idev, 0, true,
						NULL);
	if (IS_ERR(hwpt_paging)) {
		rc = PTR_ERR(hwpt_paging);
		goto out_unlock;
	}
	if (att->fill_first) {
		rc = iommufd_hwpt_paging_fill(hwpt_paging);
		if (!rc)
			rc = att->attach(att, &hwpt_paging->common);
	} else {
		rc = att->attach(att, &hwpt_paging->common);
		if (!rc) {
			rc = iommufd_hwpt_paging_fill(hwpt_paging);
			if (rc)
				att->undo(att, &hwpt_paging->common);
		}
	}
	if (rc) {
		iommufd_hwpt_paging_unwind(ictx, hwpt_paging);
		goto out_unlock;
	}
	*pt_id = hwpt_paging->common.obj.id;
	iommufd_object_finalize(ictx, &hwpt_paging->common.obj);
out_unlock:
	mutex_unlock(&ioas->mutex);
	return rc;
}

/**
 * iommufd_ioas_enforces_cc() - do all paging HWPTs of an IOAS block no-snoop?
 * @ioas: the IOAS
 *
 * Context: Process context. Takes the IOAS mutex.
 * Return: true if every paging HWPT of @ioas enforces cache coherency.
 */
bool iommufd_ioas_enforces_cc(struct iommufd_ioas *ioas)
{
	struct iommufd_hwpt_paging *hwpt_paging;
	bool coherent = true;

	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt_paging, &ioas->hwpt_list, hwpt_item) {
		if (!hwpt_paging->enforce_cache_coherency) {
			coherent = false;
			break;
		}
	}
	mutex_unlock(&ioas->mutex);
	return coherent;
}

/*
 * A nested HWPT needs driver data and a NEST_PARENT parent of the same
 * IOMMU driver that is not an automatic one; the nesting flags describe
 * the parent, not the child.
 */
static int iommufd_hwpt_nested_check(struct iommufd_hwpt_paging *parent,
				     const struct iommu_ops *ops, u32 flags,
				     const struct iommu_user_data *user_data)
{
	if (user_data->type == IOMMU_HWPT_DATA_NONE)
		return -EOPNOTSUPP;
	if (flags & ~IOMMU_HWPT_FAULT_ID_VALID)
		return -EOPNOTSUPP;
	if (!ops->domain_alloc_user)
		return -EOPNOTSUPP;
	if (parent->auto_domain || !parent->nest_parent ||
	    parent->common.domain->owner != ops)
		return -EINVAL;
	return 0;
}

static struct iommufd_hwpt_nested *
iommufd_hwpt_nested_alloc(struct iommufd_ctx *ictx,
			  struct iommufd_hwpt_paging *parent,
			  struct iommufd_device *idev, u32 flags,
			  const struct iommu_user_data *user_data)
{
	const struct iommu_ops *ops = dev_iommu_ops(idev->dev);
	struct iommufd_hwpt_nested *hwpt_nested;
	struct iommu_domain *domain;
	int rc;

	rc = iommufd_hwpt_nested_check(parent, ops, flags, user_data);
	if (rc)
		return ERR_PTR(rc);

	hwpt_nested = iommufd_object_alloc_at(ictx, struct iommufd_hwpt_nested,
					      common.obj,
					      IOMMUFD_OBJ_HWPT_NESTED);
	if (IS_ERR(hwpt_nested))
		return hwpt_nested;
	hwpt_nested->parent = parent;
	iommufd_object_get_ref(&parent->common.obj);

	domain = ops->domain_alloc_user(idev->dev, 0, parent->common.domain,
					user_data);
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto err_abort;
	}
	hwpt_nested->common.domain = domain;
	domain->owner = ops;
	if (WARN_ON_ONCE(domain->type != IOMMU_DOMAIN_NESTED)) {
		rc = -EINVAL;
		goto err_abort;
	}
	return hwpt_nested;

err_abort:
	iommufd_object_abort_and_destroy(ictx, &hwpt_nested->common.obj);
	return ERR_PTR(rc);
}

/* The driver-specific part of HWPT_ALLOC, as the driver reads it */
static struct iommu_user_data
hwpt_alloc_user_data(const struct iommu_hwpt_alloc *cmd)
{
	return (struct iommu_user_data) {
		.type = cmd->data_type,
		.uptr = u64_to_user_ptr(cmd->data_uptr),
		.len = cmd->data_len,
	};
}

static int iommufd_hwpt_alloc_from_ioas(struct iommufd_ucmd *ucmd,
					struct iommufd_ioas *ioas,
					struct iommufd_device *idev,
					struct iommu_hwpt_alloc *cmd)
{
	const struct iommu_user_data user_data = hwpt_alloc_user_data(cmd);
	struct iommufd_hwpt_paging *hwpt_paging;
	int rc;

	/*
	 * Driver data goes to the driver, which refuses a type it cannot
	 * take (EOPNOTSUPP); so does the FAULT_ID_VALID flag here, which
	 * 6.12 does not accept for a paging HWPT.
	 */
	mutex_lock(&ioas->mutex);
	hwpt_paging = iommufd_hwpt_paging_alloc(ucmd->ictx, ioas, idev,
						cmd->flags, false,
						user_data.len ? &user_data :
								NULL);
	if (IS_ERR(hwpt_paging)) {
		mutex_unlock(&ioas->mutex);
		return PTR_ERR(hwpt_paging);
	}
	rc = iommufd_hwpt_paging_fill(hwpt_paging);
	if (rc)
		iommufd_hwpt_paging_unwind(ucmd->ictx, hwpt_paging);
	mutex_unlock(&ioas->mutex);
	if (rc)
		return rc;
	/*
	 * Listed but not yet visible: automatic attaches pass it over and
	 * nothing can name it, so it is published without the IOAS mutex,
	 * which its destroy takes if the copy-out fails.
	 */
	cmd->out_hwpt_id = hwpt_paging->common.obj.id;
	return iommufd_ucmd_publish(ucmd, &hwpt_paging->common.obj,
				    sizeof(*cmd));
}

/*
 * Sends the I/O page faults of @hwpt's domain to the FAULT object @fault_id,
 * which the HWPT holds from now on.
 */
static int iommufd_hwpt_set_fault(struct iommufd_ctx *ictx,
				  struct iommufd_hw_pagetable *hwpt,
				  u32 fault_id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ictx, fault_id, IOMMUFD_OBJ_FAULT);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	hwpt->fault = container_of(obj, struct iommufd_fault, obj);
	iommufd_object_get_ref(obj);
	iommufd_put_object(ictx, obj);
	hwpt->domain->iopf_handler = iommufd_fault_iopf_handler;
	hwpt->domain->fault_data = hwpt->fault;
	return 0;
}

static int iommufd_hwpt_alloc_nested(struct iommufd_ucmd *ucmd,
				     struct iommufd_hwpt_paging *parent,
				     struct iommufd_device *idev,
				     struct iommu_hwpt_alloc *cmd)
{
	const struct iommu_user_data user_data = hwpt_alloc_user_data(cmd);
	struct iommufd_hwpt_nested *hwpt_nested;
	int rc;

	hwpt_nested = iommufd_hwpt_nested_alloc(ucmd->ictx, parent, idev,
						cmd->flags, &user_data);
	if (IS_ERR(hwpt_nested))
		return PTR_ERR(hwpt_nested);
	/* As in 6.12 the fault_id is looked up once the domain exists */
	if (cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) {
		rc = iommufd_hwpt_set_fault(ucmd->ictx, &hwpt_nested->common,
					    cmd->fault_id);
		if (rc) {
			iommufd_object_abort_and_destroy(ucmd->ictx,
							 &hwpt_nested->common.obj);
			return rc;
		}
	}
	cmd->out_hwpt_id = hwpt_nested->common.obj.id;
	return iommufd_ucmd_publish(ucmd, &hwpt_nested->common.obj,
				    sizeof(*cmd));
}

int iommufd_hwpt_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct iommufd_object *pt_obj;
	struct iommufd_device *idev;
	bool has_data;
	int rc;

	/* 6.12 checks __reserved only; __reserved2 is ignored */
	if (cmd->__reserved)
		return -EOPNOTSUPP;
	/*
	 * Driver data comes with a type and a length, or with neither. The
	 * pointer is not checked here: without data it is ignored, and a bad
	 * one is the driver's EFAULT.
	 */
	has_data = cmd->data_type != IOMMU_HWPT_DATA_NONE;
	if (has_data != !!cmd->data_len)
		return -EINVAL;

	idev = iommufd_get_device(ucmd->ictx, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	/* A pt_id that names nothing is EINVAL, like one of another kind */
	pt_obj = iommufd_get_object(ucmd->ictx, cmd->pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj)) {
		rc = -EINVAL;
		goto out_put_idev;
	}

	switch (pt_obj->type) {
	case IOMMUFD_OBJ_IOAS: {
		struct iommufd_ioas *ioas =
			container_of(pt_obj, struct iommufd_ioas, obj);

		rc = iommufd_hwpt_alloc_from_ioas(ucmd, ioas, idev, cmd);
		break;
	}
	case IOMMUFD_OBJ_HWPT_PAGING: {
		struct iommufd_hwpt_paging *parent =
			container_of(pt_obj, struct iommufd_hwpt_paging,
				     common.obj);

		rc = iommufd_hwpt_alloc_nested(ucmd, parent, idev, cmd);
		break;
	}
	default:
		rc = -EINVAL;
		break;
	}
	iommufd_put_object(ucmd->ictx, pt_obj);
out_put_idev:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/* A paging HWPT, with a short-term user */
static struct iommufd_hwpt_paging *
iommufd_get_paging_hwpt(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_hwpt_paging, common.obj);
}

/* A paging HWPT with dirty tracking, with a short-term user */
static struct iommufd_hwpt_paging *
iommufd_get_dirty_hwpt(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_hwpt_paging *hwpt_paging;

	hwpt_paging = iommufd_get_paging_hwpt(ucmd, id);
	if (!IS_ERR(hwpt_paging) && !hwpt_paging->common.domain->dirty_ops) {
		iommufd_put_object(ucmd->ictx, &hwpt_paging->common.obj);
		return ERR_PTR(-EOPNOTSUPP);
	}
	return hwpt_paging;
}

int iommufd_hwpt_set_dirty_tracking_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt_paging;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE) || cmd->__reserved)
		return -EOPNOTSUPP;

	hwpt_paging = iommufd_get_dirty_hwpt(ucmd, cmd->hwpt_id);
	if (IS_ERR(hwpt_paging))
		return PTR_ERR(hwpt_paging);
	rc = iopt_set_dirty_tracking(&hwpt_paging->ioas->iopt,
				     hwpt_paging->common.domain,
				     cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
	iommufd_put_object(ucmd->ictx, &hwpt_paging->common.obj);
	return rc;
}

/* The bitmap's range and granule suit the HWPT's IOAS */
static int hwpt_check_dirty_range(struct iommufd_hwpt_paging *hwpt_paging,
				  struct iommu_hwpt_get_dirty_bitmap *cmd)
{
	unsigned long last, align;

	if (!cmd->length || !is_power_of_2(cmd->page_size))
		return -EINVAL;
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX ||
	    check_add_overflow((unsigned long)cmd->iova,
			       (unsigned long)cmd->length - 1, &last))
		return -EOVERFLOW;
	align = max_t(unsigned long, cmd->page_size,
		      iopt_iova_alignment(&hwpt_paging->ioas->iopt));
	if ((cmd->iova | cmd->length) & (align - 1))
		return -EINVAL;
	return 0;
}

int iommufd_hwpt_get_dirty_bitmap_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt_paging;
	unsigned long dirty_flags = 0;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;
	/* As 6.12: the HWPT, then the range, then its dirty tracking */
	hwpt_paging = iommufd_get_paging_hwpt(ucmd, cmd->hwpt_id);
	if (IS_ERR(hwpt_paging))
		return PTR_ERR(hwpt_paging);
	rc = hwpt_check_dirty_range(hwpt_paging, cmd);
	if (!rc && !hwpt_paging->common.domain->dirty_ops)
		rc = -EOPNOTSUPP;
	if (cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)
		dirty_flags |= IOMMU_DIRTY_NO_CLEAR;
	if (!rc)
		rc = iopt_read_and_clear_dirty(&hwpt_paging->ioas->iopt,
					       hwpt_paging->common.domain,
					       dirty_flags, cmd->iova,
					       cmd->length, cmd->page_size,
					       u64_to_user_ptr(cmd->data));
	iommufd_put_object(ucmd->ictx, &hwpt_paging->common.obj);
	return rc;
}

/* Runs the invalidation; entries->entry_num says how many were carried out */
static int iommufd_hwpt_do_invalidate(struct iommufd_ucmd *ucmd,
				      struct iommu_hwpt_invalidate *cmd,
				      struct iommu_user_data_array *entries)
{
	struct iommufd_object *obj;
	struct iommu_domain *domain;
	int rc;

	/* Refused before the driver sees any entry: none was carried out */
	entries->entry_num = 0;
	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->entry_num && (!cmd->data_uptr || !cmd->entry_len))
		return -EINVAL;

	obj = iommufd_get_object(ucmd->ictx, cmd->hwpt_id,
				 IOMMUFD_OBJ_HWPT_NESTED);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	entries->entry_num = cmd->entry_num;
	domain = container_of(obj, struct iommufd_hw_pagetable, obj)->domain;
	/* Even with no entries: the driver answers for the data type */
	if (domain->ops->cache_invalidate_user)
		rc = domain->ops->cache_invalidate_user(domain, entries);
	else
		rc = -EOPNOTSUPP;
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

int iommufd_hwpt_invalidate_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	struct iommu_user_data_array entries = {
		.type = cmd->data_type,
		.uptr = u64_to_user_ptr(cmd->data_uptr),
		.entry_len = cmd->entry_len,
		.entry_num = cmd->entry_num,
	};
	int rc, rc_respond;

	rc = iommufd_hwpt_do_invalidate(ucmd, cmd, &entries);
	/* How far processing got is reported whether or not it failed */
	cmd->entry_num = entries.entry_num;
	rc_respond = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	return rc ?: rc_respond;
}
