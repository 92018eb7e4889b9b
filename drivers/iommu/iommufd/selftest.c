// SPDX-License-Identifier: GPL-2.0-only
/*
 * The test objects of iommufd and IOMMU_TEST_CMD, the test-only ioctl that
 * drives the rest of the test support (CONFIG_IOMMUFD_TEST only; selftest.h
 * says which file owns which piece).
 *
 * The ioctl lets the selftests create mock domains on an IOAS, add mock
 * devices bound to the file, used by a pretend DMA-API driver or left
 * without a driver, move bound ones between IOASes and HWPTs, compare
 * translations with the memory of the process, let a device write through
 * its translation, count pins and read the memory accounting. All test
 * objects share one object type with a kind. A mock domain is made by the
 * mock IOMMU (selftest_iommu.c) without a device and filled by
 * iopt_table_add_domain(); it holds a long-term ref on its IOAS and is one
 * of the IOAS's domains until it is destroyed. A mock device object owns a
 * device of the mock bus (selftest_bus.c) and plays its driver: its
 * destruction detaches and unbinds it, or stops its DMA-API use, then
 * removes it. Access objects are handled by selftest_access.c.
 *
 * Data flows from the ioctl into iommufd's own API, as a driver would call
 * it, and back out through the mock_*() helpers of the driver, which report
 * what a translation or a device's domain looks like.
 *
 * Locking: a mock device object's mutex serializes its attach, replace,
 * detach and page requests. The operations on a translation hold
 * mock_attach_lock from the lookup of the domain until they are done with
 * it, so that the domain a device is attached to cannot be freed meanwhile.
 */
#include <linux/cred.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "selftest.h"

/**
 * iommufd_selftest_destroy() - destroy callback of IOMMUFD_OBJ_SELFTEST
 * @obj: the object, out of the table
 *
 * A mock domain leaves its IOAS, is freed and lets the IOAS go. A mock
 * device is detached if it is attached and unbound, or its DMA-API use
 * ends, and it is removed. An access object gives back its pins, then
 * detaches and destroys the access, which waits for unmap callbacks still
 * running; only then is its state freed.
 *
 * Context: Process context, may sleep.
 */
void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct selftest_obj *sobj = container_of(obj, struct selftest_obj, obj);

	switch (sobj->kind) {
	case SELFTEST_OBJ_MOCK_DOMAIN:
		iopt_table_remove_domain(&sobj->domain.ioas->iopt,
					 sobj->domain.paging);
		iommu_domain_free(sobj->domain.paging);
		iommufd_object_put_ref(&sobj->domain.ioas->obj);
		break;
	case SELFTEST_OBJ_MOCK_DEVICE:
		if (sobj->device.driver == MOCK_DRIVER_IOMMUFD) {
			if (sobj->device.attached)
				iommufd_device_detach(sobj->device.idev);
			iommufd_device_unbind(sobj->device.idev);
		} else if (sobj->device.driver == MOCK_DRIVER_DMA_API) {
			iommu_device_unuse_default_domain(&sobj->device.mdev->dev);
		}
		mock_dev_destroy(sobj->device.mdev);
		mutex_destroy(&sobj->device.lock);
		break;
	case SELFTEST_OBJ_ACCESS:
		selftest_access_destroy(sobj);
		break;
	}
}

struct selftest_obj *selftest_obj_get(struct iommufd_ucmd *ucmd, u32 id,
				      enum selftest_obj_kind kind)
{
	struct iommufd_object *obj;
	struct selftest_obj *sobj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	sobj = container_of(obj, struct selftest_obj, obj);
	if (sobj->kind != kind) {
		iommufd_put_object(ucmd->ictx, obj);
		return ERR_PTR(-ENOENT);
	}
	return sobj;
}

/* The mutex of a mock device or access object that serializes its changes */
static struct mutex *selftest_obj_lock(struct selftest_obj *sobj)
{
	if (sobj->kind == SELFTEST_OBJ_ACCESS)
		return &sobj->access.attach_lock;
	return &sobj->device.lock;
}

/*
 * selftest_obj_get() of a mock device or access object that also takes its
 * lock; selftest_obj_unlock_put() undoes both.
 */
struct selftest_obj *selftest_obj_lock_get(struct iommufd_ucmd *ucmd, u32 id,
					   enum selftest_obj_kind kind)
{
	struct selftest_obj *sobj = selftest_obj_get(ucmd, id, kind);

	if (!IS_ERR(sobj))
		mutex_lock(selftest_obj_lock(sobj));
	return sobj;
}

void selftest_obj_unlock_put(struct iommufd_ucmd *ucmd,
			     struct selftest_obj *sobj)
{
	mutex_unlock(selftest_obj_lock(sobj));
	iommufd_put_object(ucmd->ictx, &sobj->obj);
}

/*
 * Tells the user about the new @sobj, whose IDs are in the command, and
 * makes it visible; destroys it if the user cannot learn about it.
 */
int selftest_obj_respond(struct iommufd_ucmd *ucmd, struct selftest_obj *sobj)
{
	int rc;

	rc = iommufd_ucmd_respond(ucmd, sizeof(struct iommu_test_cmd));
	if (rc) {
		iommufd_object_abort_and_destroy(ucmd->ictx, &sobj->obj);
		return rc;
	}
	iommufd_object_finalize(ucmd->ictx, &sobj->obj);
	return 0;
}

/*
 * What an operation on a "translation" @id works on: the domain of a mock
 * domain object or a HWPT, or the domain a mock device is attached to. The
 * object keeps a user and mock_attach_lock is held until
 * mock_target_put(), so the domain cannot go away in between.
 */
struct mock_target {
	struct iommufd_object *obj;
	struct iommu_domain *domain;
};

static int mock_target_get(struct iommufd_ucmd *ucmd, u32 id,
			   struct mock_target *target)
{
	struct iommufd_object *obj;
	struct selftest_obj *sobj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(obj))
		return PTR_ERR(obj);

	mutex_lock(&mock_attach_lock);
	switch (obj->type) {
	case IOMMUFD_OBJ_SELFTEST:
		sobj = container_of(obj, struct selftest_obj, obj);
		if (sobj->kind == SELFTEST_OBJ_MOCK_DOMAIN) {
			target->domain = sobj->domain.paging;
		} else if (sobj->kind == SELFTEST_OBJ_MOCK_DEVICE) {
			target->domain = sobj->device.mdev->domain;
		} else {
			mutex_unlock(&mock_attach_lock);
			iommufd_put_object(ucmd->ictx, obj);
			return -ENOENT;
		}
		break;
	case IOMMUFD_OBJ_HWPT_PAGING:
	case IOMMUFD_OBJ_HWPT_NESTED:
		target->domain = container_of(obj, struct iommufd_hw_pagetable,
					      obj)->domain;
		break;
	default:
		mutex_unlock(&mock_attach_lock);
		iommufd_put_object(ucmd->ictx, obj);
		return -ENOENT;
	}
	target->obj = obj;
	return 0;
}

static void mock_target_put(struct iommufd_ucmd *ucmd,
			    struct mock_target *target)
{
	mutex_unlock(&mock_attach_lock);
	iommufd_put_object(ucmd->ictx, target->obj);
}

/* The last byte of a non-empty [start, start + length) as unsigned long */
int selftest_range_last(u64 start, u64 length, unsigned long *last)
{
	u64 end;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(start, length - 1, &end) || end > ULONG_MAX)
		return -EOVERFLOW;
	*last = end;
	return 0;
}

static int iommufd_test_mock_domain(struct iommufd_ucmd *ucmd,
				    struct iommu_test_cmd *cmd)
{
	struct iommu_domain *domain;
	struct selftest_obj *sobj;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->mock_domain.flags &
	    ~(MOCK_DOMAIN_NO_HUGE_PAGES | MOCK_DOMAIN_SMALL_APERTURE))
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	sobj = iommufd_object_alloc(ucmd->ictx, struct selftest_obj,
				    IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(sobj)) {
		rc = PTR_ERR(sobj);
		goto out_put_ioas;
	}

	sobj->kind = SELFTEST_OBJ_MOCK_DOMAIN;

	domain = mock_domain_create(cmd->mock_domain.flags);
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto err_abort;
	}

	rc = iopt_table_add_domain(&ioas->iopt, domain);
	if (rc)
		goto err_free_domain;

	/* From here on iommufd_selftest_destroy() undoes everything */
	iommufd_object_get_ref(&ioas->obj);
	sobj->domain.ioas = ioas;
	sobj->domain.paging = domain;

	cmd->mock_domain.out_mock_id = sobj->obj.id;
	rc = selftest_obj_respond(ucmd, sobj);
	goto out_put_ioas;

err_free_domain:
	iommu_domain_free(domain);
err_abort:
	iommufd_object_abort(ucmd->ictx, &sobj->obj);
out_put_ioas:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

static int iommufd_test_md_check_map(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	struct mock_map_summary sum = {};
	unsigned long last_iova, last_va;
	struct mock_target target;
	int rc;

	if (cmd->check_map.__reserved ||
	    cmd->check_map.prot & ~(MOCK_PROT_READ | MOCK_PROT_WRITE |
				     MOCK_PROT_CACHE))
		return -EOPNOTSUPP;
	rc = selftest_range_last(cmd->check_map.iova, cmd->check_map.length,
				 &last_iova);
	if (rc)
		return rc;
	rc = selftest_range_last(cmd->check_map.uptr, cmd->check_map.length,
				 &last_va);
	if (rc)
		return rc;
	if (!IS_ALIGNED(cmd->check_map.iova | cmd->check_map.length,
			MOCK_IO_PAGE_SIZE))
		return -EINVAL;

	rc = mock_target_get(ucmd, cmd->id, &target);
	if (rc)
		return rc;
	rc = mock_check_map(target.domain, cmd->check_map.iova,
			    cmd->check_map.length, cmd->check_map.uptr,
			    cmd->check_map.prot, &sum);
	mock_target_put(ucmd, &target);
	if (rc)
		return rc;

	cmd->check_map.out_max_pgsize = sum.max_pgsize;
	cmd->check_map.out_map_calls = sum.map_calls;
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}

static int iommufd_test_md_check_unmapped(struct iommufd_ucmd *ucmd,
					  struct iommu_test_cmd *cmd)
{
	struct mock_target target;
	unsigned long last;
	int rc;

	rc = selftest_range_last(cmd->check_unmapped.iova,
				 cmd->check_unmapped.length, &last);
	if (rc)
		return rc;

	rc = mock_target_get(ucmd, cmd->id, &target);
	if (rc)
		return rc;
	rc = mock_check_unmapped(target.domain, cmd->check_unmapped.iova,
				 last);
	mock_target_put(ucmd, &target);
	return rc;
}

/*
 * Whether @folio, of which @npages consecutive pages were in the checked
 * range, shows @pins pins for each of them. A large folio counts pins for
 * all its pages together; a small one in units of GUP_PIN_COUNTING_BIAS in
 * its reference count, where our own reference and those of the page
 * tables stay below one unit.
 */
static bool folio_pins_match(struct folio *folio, unsigned long npages,
			     unsigned int pins)
{
	if (is_zero_folio(folio))
		return pins == 0;
	if (folio_test_large(folio))
		return atomic_read(&folio->_pincount) == (u64)pins * npages;
	return folio_ref_count(folio) / GUP_PIN_COUNTING_BIAS == pins;
}

static int iommufd_test_check_pins(struct iommu_test_cmd *cmd)
{
	struct folio *run = NULL;
	unsigned long run_pages = 0;
	unsigned long va, last;
	int rc;

	if (cmd->check_pins.__reserved)
		return -EOPNOTSUPP;
	rc = selftest_range_last(cmd->check_pins.uptr, cmd->check_pins.length,
				 &last);
	if (rc)
		return rc;

	/* Consecutive pages of one folio are checked together, as a run */
	for (va = cmd->check_pins.uptr & PAGE_MASK;; va += PAGE_SIZE) {
		struct page *page;

		rc = get_user_pages_fast(va, 1, 0, &page);
		if (rc != 1) {
			rc = rc < 0 ? rc : -EFAULT;
			break;
		}
		rc = 0;

		if (page_folio(page) == run) {
			run_pages++;
			put_page(page);
		} else {
			if (run && !folio_pins_match(run, run_pages,
						     cmd->check_pins.pins))
				rc = -EINVAL;
			if (run)
				folio_put(run);
			/* Keeps the reference GUP took on the page */
			run = page_folio(page);
			run_pages = 1;
			if (rc)
				break;
		}
		if ((va & PAGE_MASK) == (last & PAGE_MASK))
			break;
		cond_resched();
	}

	if (run) {
		if (!rc && !folio_pins_match(run, run_pages,
					     cmd->check_pins.pins))
			rc = -EINVAL;
		folio_put(run);
	}
	return rc;
}

static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	struct iommufd_ioas *ioas;
	unsigned long last;
	int rc;

	rc = selftest_range_last(cmd->add_reserved.start,
				 cmd->add_reserved.length, &last);
	if (rc)
		return rc;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	/* Owned by the IOAS: iopt_destroy_table() drops it with the IOAS */
	rc = iopt_reserve_iova(&ioas->iopt, cmd->add_reserved.start, last,
			       ioas);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

static int iommufd_test_accounting(struct iommufd_ucmd *ucmd,
				   struct iommu_test_cmd *cmd)
{
	cmd->accounting.out_locked_vm =
		atomic_long_read(&current_user()->locked_vm);
	cmd->accounting.out_pinned_vm =
		current->mm ? atomic64_read(&current->mm->pinned_vm) : 0;
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}

static int iommufd_test_set_pin_batch(struct iommu_test_cmd *cmd)
{
	if (cmd->pin_batch.__reserved)
		return -EOPNOTSUPP;
	WRITE_ONCE(iommufd_test_pin_batch, cmd->pin_batch.pages);
	return 0;
}

static int iommufd_test_mock_device_add(struct iommufd_ucmd *ucmd,
					struct iommu_test_cmd *cmd)
{
	const u32 known = MOCK_DEVICE_ENFORCE_COHERENCY |
			  MOCK_DEVICE_DIRTY_TRACKING |
			  MOCK_DEVICE_NO_RESV_REGION | MOCK_DEVICE_SW_MSI |
			  MOCK_DEVICE_FINALIZE_AT_ATTACH | MOCK_DEVICE_IOPF;
	u32 driver = cmd->mock_device.driver;
	struct iommufd_device *idev = NULL;
	struct selftest_obj *sobj;
	struct mock_dev *mdev;
	u32 idev_id = 0;
	int rc;

	if ((cmd->mock_device.flags & ~known) || cmd->mock_device.__reserved ||
	    cmd->mock_device.__reserved2 || driver > MOCK_DRIVER_DMA_API)
		return -EOPNOTSUPP;

	sobj = iommufd_object_alloc(ucmd->ictx, struct selftest_obj,
				    IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	sobj->kind = SELFTEST_OBJ_MOCK_DEVICE;
	mutex_init(&sobj->device.lock);

	mdev = mock_dev_create(cmd->mock_device.flags, cmd->mock_device.group);
	if (IS_ERR(mdev)) {
		rc = PTR_ERR(mdev);
		goto err_abort;
	}

	/* What the driver core and a driver would do when the driver binds */
	switch (driver) {
	case MOCK_DRIVER_IOMMUFD:
		idev = iommufd_device_bind(ucmd->ictx, &mdev->dev, &idev_id);
		rc = PTR_ERR_OR_ZERO(idev);
		break;
	case MOCK_DRIVER_DMA_API:
		rc = iommu_device_use_default_domain(&mdev->dev);
		break;
	default:
		rc = 0;
		break;
	}
	if (rc)
		goto err_destroy_dev;

	/* From here on iommufd_selftest_destroy() undoes everything */
	sobj->device.mdev = mdev;
	sobj->device.driver = driver;
	sobj->device.idev = idev;

	cmd->mock_device.out_mock_dev_id = sobj->obj.id;
	cmd->mock_device.out_idev_id = idev_id;
	cmd->mock_device.out_group = mdev->mgroup->number;
	return selftest_obj_respond(ucmd, sobj);

err_destroy_dev:
	mock_dev_destroy(mdev);
err_abort:
	mutex_destroy(&sobj->device.lock);
	iommufd_object_abort(ucmd->ictx, &sobj->obj);
	return rc;
}

static int iommufd_test_mock_device_attach(struct iommufd_ucmd *ucmd,
					   struct iommu_test_cmd *cmd,
					   bool replace)
{
	u32 pt_id = cmd->mock_attach.pt_id;
	struct selftest_obj *sobj;
	int rc;

	sobj = selftest_obj_lock_get(ucmd, cmd->id, SELFTEST_OBJ_MOCK_DEVICE);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	if (sobj->device.driver != MOCK_DRIVER_IOMMUFD) {
		rc = -EINVAL;
		goto out;
	}

	if (replace)
		rc = iommufd_device_replace(sobj->device.idev, &pt_id);
	else
		rc = iommufd_device_attach(sobj->device.idev, &pt_id);
	if (rc)
		goto out;
	sobj->device.attached = true;

	cmd->mock_attach.out_hwpt_id = pt_id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	/* As VFIO does: an attach the caller cannot learn about is undone */
	if (rc) {
		iommufd_device_detach(sobj->device.idev);
		sobj->device.attached = false;
	}
out:
	selftest_obj_unlock_put(ucmd, sobj);
	return rc;
}

static int iommufd_test_mock_device_detach(struct iommufd_ucmd *ucmd,
					   struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj;
	int rc = 0;

	sobj = selftest_obj_lock_get(ucmd, cmd->id, SELFTEST_OBJ_MOCK_DEVICE);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	/* iommufd_device_detach() of an unattached device is a driver bug */
	if (sobj->device.attached) {
		iommufd_device_detach(sobj->device.idev);
		sobj->device.attached = false;
	} else {
		rc = -EINVAL;
	}
	selftest_obj_unlock_put(ucmd, sobj);
	return rc;
}

/*
 * The device issues a page request, which its IOMMU reports to the core.
 * The device's lock keeps attach changes out meanwhile, as a real driver
 * drains its page request queue before it changes the device's domain.
 */
static int iommufd_test_mock_page_request(struct iommufd_ucmd *ucmd,
					  struct iommu_test_cmd *cmd)
{
	const u32 known = MOCK_PAGE_REQUEST_PASID | MOCK_PAGE_REQUEST_LAST;
	struct iopf_fault evt = {
		.fault = {
			.type = IOMMU_FAULT_PAGE_REQ,
			.prm = {
				.pasid = cmd->page_request.pasid,
				.grpid = cmd->page_request.grpid,
				.perm = cmd->page_request.perm,
				.addr = cmd->page_request.addr,
			},
		},
	};
	struct iommu_fault_page_request *prm = &evt.fault.prm;
	struct selftest_obj *sobj;
	int rc;

	if (cmd->page_request.flags & ~known)
		return -EOPNOTSUPP;
	if (cmd->page_request.flags & MOCK_PAGE_REQUEST_PASID)
		prm->flags |= IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
	if (cmd->page_request.flags & MOCK_PAGE_REQUEST_LAST)
		prm->flags |= IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;

	sobj = selftest_obj_lock_get(ucmd, cmd->id, SELFTEST_OBJ_MOCK_DEVICE);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	/* Without PRI enabled the device cannot ask */
	if (mock_dev_iopf_enabled(sobj->device.mdev))
		rc = iommu_report_device_fault(&sobj->device.mdev->dev, &evt);
	else
		rc = -EINVAL;
	selftest_obj_unlock_put(ucmd, sobj);
	return rc;
}

static int iommufd_test_mock_page_response(struct iommufd_ucmd *ucmd,
					   struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj;

	sobj = selftest_obj_get(ucmd, cmd->id, SELFTEST_OBJ_MOCK_DEVICE);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	mock_dev_take_response(sobj->device.mdev, cmd);
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}

/*
 * Whether a DMA-API driver could start using a device without a driver:
 * the question the driver core asks the IOMMU core before it probes one.
 */
static int iommufd_test_mock_device_try_dma_api(struct iommufd_ucmd *ucmd,
						struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj;
	struct device *dev;
	int rc;

	sobj = selftest_obj_get(ucmd, cmd->id, SELFTEST_OBJ_MOCK_DEVICE);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	dev = &sobj->device.mdev->dev;

	if (sobj->device.driver != MOCK_DRIVER_NONE) {
		rc = -EINVAL;
	} else {
		rc = iommu_device_use_default_domain(dev);
		if (!rc)
			iommu_device_unuse_default_domain(dev);
	}
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return rc;
}

static int iommufd_test_mock_device_domain(struct iommufd_ucmd *ucmd,
					   struct iommu_test_cmd *cmd)
{
	struct mock_target target;
	int rc;

	rc = mock_target_get(ucmd, cmd->id, &target);
	if (rc)
		return rc;
	mock_describe_domain(target.domain, cmd);
	mock_target_put(ucmd, &target);
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}

static int iommufd_test_mock_dma_write(struct iommufd_ucmd *ucmd,
				       struct iommu_test_cmd *cmd)
{
	struct mock_target target;
	unsigned long last;
	int rc;

	rc = selftest_range_last(cmd->dma_write.iova, cmd->dma_write.length,
				 &last);
	if (rc)
		return rc;

	rc = mock_target_get(ucmd, cmd->id, &target);
	if (rc)
		return rc;
	rc = mock_dma_write(target.domain, cmd->dma_write.iova, last);
	mock_target_put(ucmd, &target);
	return rc;
}

/**
 * iommufd_test() - handler of IOMMU_TEST_CMD
 * @ucmd: the call, with a kernel copy of struct iommu_test_cmd
 *
 * Context: Process context, may sleep.
 * Return: 0 or a negative errno, as enum iommu_test_op documents per op.
 */
int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	switch (cmd->op) {
	case IOMMU_TEST_OP_MOCK_DOMAIN:
		return iommufd_test_mock_domain(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return iommufd_test_md_check_map(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_UNMAPPED:
		return iommufd_test_md_check_unmapped(ucmd, cmd);
	case IOMMU_TEST_OP_CHECK_PINS:
		return iommufd_test_check_pins(cmd);
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd);
	case IOMMU_TEST_OP_ACCOUNTING:
		return iommufd_test_accounting(ucmd, cmd);
	case IOMMU_TEST_OP_SET_PIN_BATCH:
		return iommufd_test_set_pin_batch(cmd);
	case IOMMU_TEST_OP_MOCK_DEVICE_ADD:
		return iommufd_test_mock_device_add(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DEVICE_ATTACH:
		return iommufd_test_mock_device_attach(ucmd, cmd, false);
	case IOMMU_TEST_OP_MOCK_DEVICE_REPLACE:
		return iommufd_test_mock_device_attach(ucmd, cmd, true);
	case IOMMU_TEST_OP_MOCK_DEVICE_DETACH:
		return iommufd_test_mock_device_detach(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DEVICE_DOMAIN:
		return iommufd_test_mock_device_domain(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DMA_WRITE:
		return iommufd_test_mock_dma_write(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_CREATE:
	case IOMMU_TEST_OP_ACCESS_ATTACH:
	case IOMMU_TEST_OP_ACCESS_REPLACE:
	case IOMMU_TEST_OP_ACCESS_DETACH:
	case IOMMU_TEST_OP_ACCESS_PIN:
	case IOMMU_TEST_OP_ACCESS_UNPIN:
	case IOMMU_TEST_OP_ACCESS_RW:
	case IOMMU_TEST_OP_ACCESS_INFO:
		return selftest_access_cmd(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DEVICE_TRY_DMA_API:
		return iommufd_test_mock_device_try_dma_api(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DEVICE_PAGE_REQUEST:
		return iommufd_test_mock_page_request(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DEVICE_PAGE_RESPONSE:
		return iommufd_test_mock_page_response(ucmd, cmd);
	default:
		return -EOPNOTSUPP;
	}
}

/**
 * iommufd_test_init() - set up the test support of iommufd
 *
 * Creates /sys/kernel/debug/fail_iommufd (left out, without failing, when
 * debugfs cannot have it) and registers the mock IOMMU on its bus.
 *
 * Context: Process context, from the init of iommufd.
 * Return: 0 or a negative errno, with nothing left registered.
 */
int __init iommufd_test_init(void)
{
	int rc;

	iommufd_fail_init();

	rc = mock_bus_init();
	if (rc)
		goto err_fail;
	rc = mock_iommu_init();
	if (rc)
		goto err_bus;
	return 0;

err_bus:
	mock_bus_exit();
err_fail:
	iommufd_fail_exit();
	return rc;
}

/**
 * iommufd_test_exit() - undo iommufd_test_init()
 *
 * Context: Process context, once no iommufd file is open.
 */
void iommufd_test_exit(void)
{
	mock_iommu_exit();
	mock_bus_exit();
	iommufd_fail_exit();
}
