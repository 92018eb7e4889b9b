// SPDX-License-Identifier: GPL-2.0-only
/*
 * FAULT objects: I/O page faults handed to userspace and its answers.
 *
 * A VMM that owns a device's first-stage page table (a nested HWPT) must
 * resolve the device's page requests (PCIe PRI) itself. It creates a FAULT
 * object with IOMMU_FAULT_QUEUE_ALLOC, which also gives it a file, and
 * names the object when it allocates the HWPT. While a device is attached
 * to such a HWPT, the IOMMU core passes each completed page request group
 * (struct iopf_group) of the device to iommufd_fault_iopf_handler(), which
 * queues it on the object; read() hands queued groups out, a whole group at
 * a time, each under a cookie; write() takes the answers, one per cookie,
 * and passes them to the device.
 *
 * A group lives in exactly one place until it is answered: the handler
 * puts it on @deliver, read moves it into @response under a new cookie, and
 * exactly one of write, the detach of the attachment it came through (or
 * of its device from a group that stays attached), or the release of the
 * file answers it and frees it. A detach answers INVALID what it left
 * behind, so a device never waits on a HWPT it has left, nor gets an
 * answer after its faults were turned off; once the file is closed nobody
 * can answer, so queued groups and groups arriving later are answered
 * INVALID at once. Records name the device that faulted, looked up in the
 * attachment's table of the group's devices.
 *
 * Lifetime: the file holds a long-term ref on the object and a reference
 * on the iommufd file, so the object outlives the descriptor only while
 * HWPTs still name it, and IOMMU_DESTROY fails (EBUSY) while either holds
 * it.
 *
 * Locking: @mutex serializes read, write and the answering of an
 * attachment's or the file's groups, and protects @response. @lock, a
 * spinlock because the handler may run where sleeping is undesirable,
 * protects @deliver and @closed. Order: @mutex, then @lock.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/pci.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommu-priv.h"
#include "iommufd_private.h"

/**
 * iommufd_fault_iopf_enable() - turn on I/O page faults of a device
 * @idev: a device about to use a HWPT that reports faults
 *
 * A PCI virtual function shares PRI with its physical function, which no
 * owner coordinates, so its faults are not enabled (EINVAL), as in 6.12.
 *
 * Context: Process context; the caller holds the device group's lock.
 * Return: 0, or the error of the driver's IOMMU_DEV_FEAT_IOPF.
 */
int iommufd_fault_iopf_enable(struct iommufd_device *idev)
{
	struct device *dev = idev->dev;
	int rc;

	lockdep_assert_held(&idev->igroup->lock);

	if (idev->iopf_enabled)
		return 0;
	if (dev_is_pci(dev) && to_pci_dev(dev)->is_virtfn)
		return -EINVAL;
	rc = iommu_dev_enable_feature(dev, IOMMU_DEV_FEAT_IOPF);
	if (!rc)
		idev->iopf_enabled = true;
	return rc;
}

/**
 * iommufd_fault_iopf_disable() - turn off I/O page faults of a device
 * @idev: a device that stopped using a HWPT that reports faults
 *
 * Context: Process context; the caller holds the device group's lock.
 */
void iommufd_fault_iopf_disable(struct iommufd_device *idev)
{
	lockdep_assert_held(&idev->igroup->lock);

	if (!idev->iopf_enabled)
		return;
	iommu_dev_disable_feature(idev->dev, IOMMU_DEV_FEAT_IOPF);
	idev->iopf_enabled = false;
}

static void iommufd_fault_answer(struct iopf_group *group,
				 enum iommu_page_response_code code)
{
	iopf_group_response(group, code);
	iopf_free_group(group);
}

/* Whether @group came through @handle (any, if NULL) from @dev (any) */
static bool iommufd_fault_group_of(struct iopf_group *group,
				   struct iommu_attach_handle *handle,
				   struct device *dev)
{
	return (!handle || group->attach_handle == handle) &&
	       (!dev || group->fault_param->dev == dev);
}

/*
 * Answers INVALID every group @fault holds that came through @handle from
 * @dev; NULL for either means any.
 */
static void iommufd_fault_answer_all(struct iommufd_fault *fault,
				     struct iommu_attach_handle *handle,
				     struct device *dev)
{
	struct iopf_group *group, *next;
	unsigned long cookie;
	LIST_HEAD(answer);

	lockdep_assert_held(&fault->mutex);

	spin_lock(&fault->lock);
	list_for_each_entry_safe(group, next, &fault->deliver, node)
		if (iommufd_fault_group_of(group, handle, dev))
			list_move_tail(&group->node, &answer);
	spin_unlock(&fault->lock);

	list_for_each_entry_safe(group, next, &answer, node) {
		list_del(&group->node);
		iommufd_fault_answer(group, IOMMU_PAGE_RESP_INVALID);
	}
	xa_for_each(&fault->response, cookie, group) {
		if (!iommufd_fault_group_of(group, handle, dev))
			continue;
		xa_erase(&fault->response, cookie);
		iommufd_fault_answer(group, IOMMU_PAGE_RESP_INVALID);
	}
}

/**
 * iommufd_fault_detached() - answer what an ended attachment left behind
 * @hwpt: the HWPT the attachment was to
 * @handle: the attachment, no longer installed in the core
 *
 * Groups that came through @handle can no longer be resolved through it:
 * they are answered INVALID, whether still queued or read and unanswered.
 * The caller frees @handle afterwards.
 *
 * Context: Process context.
 */
void iommufd_fault_detached(struct iommufd_hw_pagetable *hwpt,
			    struct iommufd_attach_handle *handle)
{
	struct iommufd_fault *fault = hwpt->fault;

	mutex_lock(&fault->mutex);
	iommufd_fault_answer_all(fault, &handle->handle, NULL);
	mutex_unlock(&fault->mutex);
}

/**
 * iommufd_fault_device_left() - answer what a leaving device left behind
 * @hwpt: the HWPT its group stays attached to
 * @handle: the group's attachment
 * @dev: a device of the group that no longer uses the attachment
 *
 * Its faults are about to be turned off, after which the core cannot take
 * an answer for it: what it asked is answered INVALID now.
 *
 * Context: Process context.
 */
void iommufd_fault_device_left(struct iommufd_hw_pagetable *hwpt,
			       struct iommufd_attach_handle *handle,
			       struct device *dev)
{
	struct iommufd_fault *fault = hwpt->fault;

	mutex_lock(&fault->mutex);
	iommufd_fault_answer_all(fault, &handle->handle, dev);
	mutex_unlock(&fault->mutex);
}

/**
 * iommufd_fault_iopf_handler() - take a page request group from the core
 * @group: a completed group of a device attached to a HWPT with a FAULT
 *
 * The iopf_handler of every domain a FAULT object is given to.
 *
 * Context: Process context, as the core reports faults.
 * Return: 0; the group is answered later, or now if the file is closed.
 */
int iommufd_fault_iopf_handler(struct iopf_group *group)
{
	struct iommufd_fault *fault = group->attach_handle->domain->fault_data;
	bool closed;

	/* From now on the group is ours alone to answer */
	iopf_group_dequeue(group);

	spin_lock(&fault->lock);
	closed = fault->closed;
	if (!closed)
		list_add_tail(&group->node, &fault->deliver);
	spin_unlock(&fault->lock);

	if (closed)
		iommufd_fault_answer(group, IOMMU_PAGE_RESP_INVALID);
	else
		wake_up_interruptible(&fault->wait_queue);
	return 0;
}

static struct iopf_group *iommufd_fault_first(struct iommufd_fault *fault)
{
	struct iopf_group *group;

	spin_lock(&fault->lock);
	group = list_first_entry_or_null(&fault->deliver, struct iopf_group,
					 node);
	if (group)
		list_del(&group->node);
	spin_unlock(&fault->lock);
	return group;
}

static void iommufd_fault_requeue(struct iommufd_fault *fault,
				  struct iopf_group *group)
{
	spin_lock(&fault->lock);
	list_add(&group->node, &fault->deliver);
	spin_unlock(&fault->lock);
}

/* Writes the faults of @group, @cookie attached, at @buf */
static int iommufd_fault_copy_group(struct iopf_group *group, u32 cookie,
				    char __user *buf)
{
	struct iommufd_attach_handle *handle =
		container_of(group->attach_handle,
			     struct iommufd_attach_handle, handle);
	void *dev_id = xa_load(&handle->devices,
			       (unsigned long)group->fault_param->dev);
	struct iopf_fault *iopf;

	list_for_each_entry(iopf, &group->faults, list) {
		const struct iommu_fault_page_request *prm = &iopf->fault.prm;
		struct iommu_hwpt_pgfault out = {
			.flags = prm->flags,
			.dev_id = xa_to_value(dev_id),
			.pasid = prm->pasid,
			.grpid = prm->grpid,
			.perm = prm->perm,
			.addr = prm->addr,
			.cookie = cookie,
		};

		if (copy_to_user(buf, &out, sizeof(out)))
			return -EFAULT;
		buf += sizeof(out);
	}
	return 0;
}

/*
 * Hands out whole groups while they fit in @count. Reads do not wait; poll
 * says when there is something. As in 6.12, a byte count that is not a
 * multiple of the record size is ESPIPE, and a buffer too small for the
 * first group is EINVAL.
 */
static ssize_t iommufd_fault_fops_read(struct file *filep, char __user *buf,
				       size_t count, loff_t *ppos)
{
	const size_t rec = sizeof(struct iommu_hwpt_pgfault);
	struct iommufd_fault *fault = filep->private_data;
	struct iopf_group *group;
	size_t done = 0;
	int rc = 0;
	u32 cookie;

	if (*ppos || count % rec)
		return -ESPIPE;

	mutex_lock(&fault->mutex);
	while ((group = iommufd_fault_first(fault))) {
		size_t len = group->fault_count * rec;

		if (len > count - done) {
			iommufd_fault_requeue(fault, group);
			if (!done)
				rc = -EINVAL;
			break;
		}
		rc = xa_alloc(&fault->response, &cookie, group, xa_limit_32b,
			      GFP_KERNEL_ACCOUNT);
		if (!rc) {
			rc = iommufd_fault_copy_group(group, cookie,
						      buf + done);
			if (rc)
				xa_erase(&fault->response, cookie);
		}
		if (rc) {
			iommufd_fault_requeue(fault, group);
			break;
		}
		done += len;
	}
	mutex_unlock(&fault->mutex);
	return done ? done : rc;
}

/*
 * Answers groups in the order given; stops at the first bad answer, which
 * fails the call only if it is the first one.
 */
static ssize_t iommufd_fault_fops_write(struct file *filep,
					const char __user *buf, size_t count,
					loff_t *ppos)
{
	const size_t rec = sizeof(struct iommu_hwpt_page_response);
	struct iommufd_fault *fault = filep->private_data;
	struct iommu_hwpt_page_response answer;
	struct iopf_group *group;
	size_t done = 0;
	int rc = 0;

	static_assert((int)IOMMUFD_PAGE_RESP_SUCCESS ==
		      (int)IOMMU_PAGE_RESP_SUCCESS);
	static_assert((int)IOMMUFD_PAGE_RESP_INVALID ==
		      (int)IOMMU_PAGE_RESP_INVALID);

	if (*ppos || count % rec)
		return -ESPIPE;

	mutex_lock(&fault->mutex);
	for (; done < count; done += rec) {
		if (copy_from_user(&answer, buf + done, rec)) {
			rc = -EFAULT;
			break;
		}
		if (answer.code != IOMMUFD_PAGE_RESP_SUCCESS &&
		    answer.code != IOMMUFD_PAGE_RESP_INVALID) {
			rc = -EINVAL;
			break;
		}
		/* Erasing index 0 would free the slot ALLOC1 reserves */
		group = answer.cookie ? xa_erase(&fault->response,
						 answer.cookie) : NULL;
		if (!group) {
			rc = -EINVAL;
			break;
		}
		iommufd_fault_answer(group, answer.code);
	}
	mutex_unlock(&fault->mutex);
	return done ? done : rc;
}

static __poll_t iommufd_fault_fops_poll(struct file *filep,
					struct poll_table_struct *wait)
{
	struct iommufd_fault *fault = filep->private_data;
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(filep, &fault->wait_queue, wait);
	spin_lock(&fault->lock);
	if (!list_empty(&fault->deliver))
		mask |= EPOLLIN | EPOLLRDNORM;
	spin_unlock(&fault->lock);
	return mask;
}

/* Nobody can answer any more: answer everything now and from now on */
static int iommufd_fault_fops_release(struct inode *inode,
				      struct file *filep)
{
	struct iommufd_fault *fault = filep->private_data;
	struct iommufd_ctx *ictx = fault->ictx;

	mutex_lock(&fault->mutex);
	spin_lock(&fault->lock);
	fault->closed = true;
	spin_unlock(&fault->lock);
	iommufd_fault_answer_all(fault, NULL, NULL);
	mutex_unlock(&fault->mutex);

	/* The object may be destroyed from here on */
	iommufd_object_put_ref(&fault->obj);
	iommufd_ctx_put(ictx);
	return 0;
}

static const struct file_operations iommufd_fault_fops = {
	.owner = THIS_MODULE,
	.read = iommufd_fault_fops_read,
	.write = iommufd_fault_fops_write,
	.poll = iommufd_fault_fops_poll,
	.release = iommufd_fault_fops_release,
};

void iommufd_fault_destroy(struct iommufd_object *obj)
{
	struct iommufd_fault *fault =
		container_of(obj, struct iommufd_fault, obj);

	/* No HWPT and no file left: every group was answered */
	WARN_ON(!list_empty(&fault->deliver));
	WARN_ON(!xa_empty(&fault->response));
	xa_destroy(&fault->response);
	mutex_destroy(&fault->mutex);
}

int iommufd_fault_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_fault_alloc *cmd = ucmd->cmd;
	struct iommufd_fault *fault;
	struct file *filep;
	int fd, rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	fault = iommufd_object_alloc(ucmd->ictx, struct iommufd_fault,
				     IOMMUFD_OBJ_FAULT);
	if (IS_ERR(fault))
		return PTR_ERR(fault);
	fault->ictx = ucmd->ictx;
	mutex_init(&fault->mutex);
	spin_lock_init(&fault->lock);
	INIT_LIST_HEAD(&fault->deliver);
	xa_init_flags(&fault->response, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	init_waitqueue_head(&fault->wait_queue);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		rc = fd;
		goto err_abort;
	}
	cmd->out_fault_id = fault->obj.id;
	cmd->out_fault_fd = fd;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto err_put_fd;

	/* Last, so that no error path has a file to tear down */
	filep = anon_inode_getfile("[iommufd-pgfault]", &iommufd_fault_fops,
				   fault, O_RDWR);
	if (IS_ERR(filep)) {
		rc = PTR_ERR(filep);
		goto err_put_fd;
	}
	iommufd_object_get_ref(&fault->obj);
	iommufd_ctx_get(fault->ictx);
	iommufd_object_finalize(ucmd->ictx, &fault->obj);
	fd_install(fd, filep);
	return 0;

err_put_fd:
	put_unused_fd(fd);
err_abort:
	iommufd_object_abort_and_destroy(ucmd->ictx, &fault->obj);
	return rc;
}
