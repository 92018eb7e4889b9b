// SPDX-License-Identifier: GPL-2.0-only
/*
 * Access objects of iommufd's test support: an emulated VFIO mdev driver,
 * the kind of in-kernel user the access API (access.c) exists for. Built
 * only with CONFIG_IOMMUFD_TEST.
 *
 * An access object owns an in-kernel access to the file whose ioctl made
 * it, attaches it to an IOAS, and through it pins ranges of IOVA
 * (IOMMU_TEST_OP_ACCESS_PIN) or reads and writes them
 * (IOMMU_TEST_OP_ACCESS_RW), as an mdev driver emulating DMA would. It
 * keeps the ranges it pinned, by handle, and gives them back when the
 * access's unmap callback asks, unless it was told to ignore the request
 * or to pin again at once: the misbehaving drivers iommufd must survive.
 * What the callback did is counted so that tests can check that every
 * unmap of a pinned range reached the driver, and exactly once.
 *
 * Data flows from the ioctl (selftest.c dispatches the ACCESS operations
 * here) into the access API, and from the API back through the unmap
 * callback. The access holds no reference on the file, unlike a VFIO
 * device's: the object is itself one of the file's objects, so a
 * reference would keep the file open forever (iommufd_test_is_own_access).
 *
 * Locking: an access object's attach_lock serializes attach, replace and
 * detach and is held across them; its lock covers the pins and the unmap
 * statistics and is held across calls into the access API that pin; the
 * unmap callback takes it too, which is safe because the API calls it with
 * no iommufd lock held, and because no attach change runs under it.
 */
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "selftest.h"

/* A range an access object pinned with IOMMU_TEST_OP_ACCESS_PIN */
struct selftest_pin {
	unsigned long iova;
	unsigned long length;
	struct page **pages;
};

static void selftest_pin_free(struct selftest_pin *pin)
{
	kvfree(pin->pages);
	kfree(pin);
}

/* Gives back and forgets every pin; the access stays attached */
static void selftest_access_release_pins(struct selftest_obj *sobj)
{
	struct selftest_pin *pin;
	unsigned long handle;

	mutex_lock(&sobj->access.lock);
	xa_for_each(&sobj->access.pins, handle, pin) {
		xa_erase(&sobj->access.pins, handle);
		iommufd_access_unpin_pages(sobj->access.access, pin->iova,
					   pin->length);
		selftest_pin_free(pin);
	}
	mutex_unlock(&sobj->access.lock);
}

/*
 * The unmap callback: gives back, synchronously, every pin that overlaps
 * [iova, iova + length), unless the object was told to ignore unmaps. It is
 * called with no iommufd lock held.
 */
static void selftest_access_unmap(void *data, unsigned long iova,
				  unsigned long length)
{
	struct selftest_obj *sobj = data;
	unsigned long last = iova + length - 1;
	struct selftest_pin *pin;
	unsigned long handle;

	mutex_lock(&sobj->access.lock);
	sobj->access.unmap.calls++;
	sobj->access.unmap.last_iova = iova;
	sobj->access.unmap.last_length = length;
	/* Even a driver slow to let go must when its access leaves */
	if (sobj->access.ignore_unmap && !sobj->access.leaving)
		goto out_unlock;
	xa_for_each(&sobj->access.pins, handle, pin) {
		if (pin->iova > last || pin->iova + pin->length - 1 < iova)
			continue;
		iommufd_access_unpin_pages(sobj->access.access, pin->iova,
					   pin->length);
		sobj->access.unmap.unpins++;
		if (sobj->access.repin && !sobj->access.leaving &&
		    !iommufd_access_pin_pages(sobj->access.access, pin->iova,
					      pin->length, pin->pages, 0))
			continue;
		xa_erase(&sobj->access.pins, handle);
		selftest_pin_free(pin);
	}
out_unlock:
	mutex_unlock(&sobj->access.lock);
}

static const struct iommufd_access_ops selftest_access_ops = {
	.unmap = selftest_access_unmap,
};

static const struct iommufd_access_ops selftest_access_pin_ops = {
	.needs_pin_pages = 1,
	.unmap = selftest_access_unmap,
};

/**
 * iommufd_test_is_own_access() - was an access created by the selftest?
 * @ops: the access's ops
 *
 * Return: true for the ops of the selftest's access objects.
 */
bool iommufd_test_is_own_access(const struct iommufd_access_ops *ops)
{
	return ops == &selftest_access_ops || ops == &selftest_access_pin_ops;
}

/* Marks @sobj as leaving its IOAS, or as staying again */
static void selftest_access_set_leaving(struct selftest_obj *sobj,
					bool leaving)
{
	mutex_lock(&sobj->access.lock);
	sobj->access.leaving = leaving;
	mutex_unlock(&sobj->access.lock);
}

static int iommufd_test_access_create(struct iommufd_ucmd *ucmd,
				      struct iommu_test_cmd *cmd)
{
	const u32 known = MOCK_ACCESS_PIN_PAGES | MOCK_ACCESS_UNMAP_IGNORE |
			  MOCK_ACCESS_UNMAP_REPIN;
	u32 flags = cmd->access_create.flags;
	struct iommufd_access *access;
	struct selftest_obj *sobj;
	u32 access_id;
	int rc;

	if ((flags & ~known) || cmd->access_create.__reserved)
		return -EOPNOTSUPP;

	sobj = iommufd_object_alloc(ucmd->ictx, struct selftest_obj,
				    IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	sobj->kind = SELFTEST_OBJ_ACCESS;
	sobj->access.pin_pages = flags & MOCK_ACCESS_PIN_PAGES;
	sobj->access.ignore_unmap = flags & MOCK_ACCESS_UNMAP_IGNORE;
	sobj->access.repin = flags & MOCK_ACCESS_UNMAP_REPIN;
	mutex_init(&sobj->access.attach_lock);
	mutex_init(&sobj->access.lock);
	xa_init_flags(&sobj->access.pins, XA_FLAGS_ALLOC1);

	access = iommufd_access_create(ucmd->ictx,
				       flags & MOCK_ACCESS_PIN_PAGES ?
					       &selftest_access_pin_ops :
					       &selftest_access_ops,
				       sobj, &access_id);
	if (IS_ERR(access)) {
		rc = PTR_ERR(access);
		goto err_abort;
	}

	/* From here on iommufd_selftest_destroy() undoes everything */
	sobj->access.access = access;
	if (cmd->id) {
		rc = iommufd_access_attach(access, cmd->id);
		if (rc)
			goto err_destroy;
		sobj->access.attached = true;
	}

	cmd->access_create.out_access_obj_id = sobj->obj.id;
	cmd->access_create.out_access_id = access_id;
	return selftest_obj_respond(ucmd, sobj);

err_destroy:
	iommufd_object_abort_and_destroy(ucmd->ictx, &sobj->obj);
	return rc;

err_abort:
	xa_destroy(&sobj->access.pins);
	mutex_destroy(&sobj->access.lock);
	mutex_destroy(&sobj->access.attach_lock);
	iommufd_object_abort(ucmd->ictx, &sobj->obj);
	return rc;
}

static int iommufd_test_access_attach(struct iommufd_ucmd *ucmd,
				      struct iommu_test_cmd *cmd, bool replace)
{
	struct selftest_obj *sobj;
	int rc;

	if (cmd->access_attach.__reserved)
		return -EOPNOTSUPP;
	sobj = selftest_obj_lock_get(ucmd, cmd->id, SELFTEST_OBJ_ACCESS);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	if (!replace) {
		rc = iommufd_access_attach(sobj->access.access,
					   cmd->access_attach.ioas_id);
	} else {
		/* Pins from the old IOAS are asked back by the replace */
		selftest_access_set_leaving(sobj, true);
		rc = iommufd_access_replace(sobj->access.access,
					    cmd->access_attach.ioas_id);
		selftest_access_set_leaving(sobj, false);
	}
	if (!rc)
		sobj->access.attached = true;
	selftest_obj_unlock_put(ucmd, sobj);
	return rc;
}

static int iommufd_test_access_detach(struct iommufd_ucmd *ucmd,
				      struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj;
	int rc = 0;

	sobj = selftest_obj_lock_get(ucmd, cmd->id, SELFTEST_OBJ_ACCESS);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	if (!sobj->access.attached) {
		rc = -EINVAL;
	} else {
		/* The detach asks for every pin back through the callback */
		selftest_access_set_leaving(sobj, true);
		iommufd_access_detach(sobj->access.access);
		selftest_access_set_leaving(sobj, false);
		sobj->access.attached = false;
	}
	selftest_obj_unlock_put(ucmd, sobj);
	return rc;
}

/* Are @pages those that back @npages pages of the current mm from @uptr? */
static int selftest_pages_match(struct page **pages, unsigned long npages,
				unsigned long uptr)
{
	unsigned long i;
	int rc = 0;

	for (i = 0; i != npages && !rc; i++) {
		struct page *page;

		rc = get_user_pages_fast(uptr + i * PAGE_SIZE, 1, 0, &page);
		if (rc != 1)
			return rc < 0 ? rc : -EFAULT;
		rc = page == pages[i] ? 0 : -EINVAL;
		put_page(page);
		cond_resched();
	}
	return rc;
}

/*
 * Pins through the access, checks the pages against @uptr if asked and
 * stores the pin. Called with the object's lock held, so that neither the
 * unmap callback nor a detach sees a pin half made.
 */
static int selftest_access_pin(struct selftest_obj *sobj,
			       struct iommu_test_cmd *cmd, u32 *handle)
{
	unsigned long npages = DIV_ROUND_UP(cmd->access_pin.length, PAGE_SIZE);
	struct selftest_pin *pin;
	int rc;

	lockdep_assert_held(&sobj->access.lock);

	pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	if (!pin)
		return -ENOMEM;
	pin->iova = cmd->access_pin.iova;
	pin->length = cmd->access_pin.length;
	pin->pages = kvcalloc(npages, sizeof(*pin->pages), GFP_KERNEL_ACCOUNT);
	if (!pin->pages) {
		rc = -ENOMEM;
		goto err_free;
	}

	rc = iommufd_access_pin_pages(sobj->access.access, pin->iova,
				      pin->length, pin->pages,
				      cmd->access_pin.flags &
					      MOCK_ACCESS_RW_WRITE ?
					      IOMMUFD_ACCESS_RW_WRITE : 0);
	if (rc)
		goto err_free;
	if (cmd->access_pin.uptr) {
		rc = selftest_pages_match(pin->pages, npages,
					  cmd->access_pin.uptr);
		if (rc)
			goto err_unpin;
	}
	rc = xa_alloc(&sobj->access.pins, handle, pin, xa_limit_32b,
		      GFP_KERNEL_ACCOUNT);
	if (rc)
		goto err_unpin;
	return 0;

err_unpin:
	iommufd_access_unpin_pages(sobj->access.access, pin->iova,
				   pin->length);
err_free:
	selftest_pin_free(pin);
	return rc;
}

/* Drops the pin @handle if the object still holds it */
static int selftest_access_unpin(struct selftest_obj *sobj, u32 handle)
{
	struct selftest_pin *pin;

	mutex_lock(&sobj->access.lock);
	pin = xa_erase(&sobj->access.pins, handle);
	if (pin)
		iommufd_access_unpin_pages(sobj->access.access, pin->iova,
					   pin->length);
	mutex_unlock(&sobj->access.lock);
	if (!pin)
		return -ENOENT;
	selftest_pin_free(pin);
	return 0;
}

static int iommufd_test_access_pin(struct iommufd_ucmd *ucmd,
				   struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj;
	unsigned long last;
	u32 handle;
	int rc;

	if (cmd->access_pin.flags & ~MOCK_ACCESS_RW_WRITE)
		return -EOPNOTSUPP;
	rc = selftest_range_last(cmd->access_pin.iova, cmd->access_pin.length,
				 &last);
	if (rc)
		return rc;
	if (cmd->access_pin.length > MOCK_ACCESS_PIN_MAX)
		return -E2BIG;
	if (cmd->access_pin.uptr) {
		rc = selftest_range_last(cmd->access_pin.uptr,
					 cmd->access_pin.length, &last);
		if (rc)
			return rc;
	}

	sobj = selftest_obj_get(ucmd, cmd->id, SELFTEST_OBJ_ACCESS);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);

	/* The API warns about this caller bug; report it instead */
	if (!sobj->access.pin_pages) {
		rc = -EINVAL;
		goto out_put;
	}
	mutex_lock(&sobj->access.lock);
	rc = selftest_access_pin(sobj, cmd, &handle);
	mutex_unlock(&sobj->access.lock);
	if (rc)
		goto out_put;

	cmd->access_pin.out_handle = handle;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	/* Nobody learnt the handle; the callback may have dropped it already */
	if (rc)
		selftest_access_unpin(sobj, handle);
out_put:
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return rc;
}

static int iommufd_test_access_unpin(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj;
	int rc;

	if (cmd->access_unpin.__reserved)
		return -EOPNOTSUPP;
	sobj = selftest_obj_get(ucmd, cmd->id, SELFTEST_OBJ_ACCESS);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	rc = selftest_access_unpin(sobj, cmd->access_unpin.handle);
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return rc;
}

static int iommufd_test_access_rw(struct iommufd_ucmd *ucmd,
				  struct iommu_test_cmd *cmd)
{
	const u32 known = MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_KTHREAD;
	void __user *uptr = u64_to_user_ptr(cmd->access_rw.uptr);
	size_t length = cmd->access_rw.length;
	unsigned int flags = 0;
	struct selftest_obj *sobj;
	unsigned long last;
	void *buf;
	int rc;

	if ((cmd->access_rw.flags & ~known) || cmd->access_rw.__reserved)
		return -EOPNOTSUPP;
	rc = selftest_range_last(cmd->access_rw.iova, cmd->access_rw.length,
				 &last);
	if (rc)
		return rc;
	if (cmd->access_rw.length > MOCK_ACCESS_RW_MAX)
		return -E2BIG;
	if (cmd->access_rw.flags & MOCK_ACCESS_RW_WRITE)
		flags |= IOMMUFD_ACCESS_RW_WRITE;
	if (cmd->access_rw.flags & MOCK_ACCESS_RW_KTHREAD)
		flags |= IOMMUFD_ACCESS_RW_KTHREAD;

	sobj = selftest_obj_get(ucmd, cmd->id, SELFTEST_OBJ_ACCESS);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);

	buf = kvmalloc(length, GFP_KERNEL_ACCOUNT);
	if (!buf) {
		rc = -ENOMEM;
		goto out_put;
	}
	if (flags & IOMMUFD_ACCESS_RW_WRITE) {
		if (copy_from_user(buf, uptr, length)) {
			rc = -EFAULT;
			goto out_free;
		}
		rc = iommufd_access_rw(sobj->access.access,
				       cmd->access_rw.iova, buf, length, flags);
	} else {
		rc = iommufd_access_rw(sobj->access.access,
				       cmd->access_rw.iova, buf, length, flags);
		/* Only a complete read reaches the user */
		if (!rc && copy_to_user(uptr, buf, length))
			rc = -EFAULT;
	}
out_free:
	kvfree(buf);
out_put:
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return rc;
}

static int iommufd_test_access_info(struct iommufd_ucmd *ucmd,
				    struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj;
	struct selftest_pin *pin;
	unsigned long handle;
	u32 pins = 0;

	sobj = selftest_obj_lock_get(ucmd, cmd->id, SELFTEST_OBJ_ACCESS);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	mutex_lock(&sobj->access.lock);
	xa_for_each(&sobj->access.pins, handle, pin)
		pins++;
	cmd->access_info.out_pins = pins;
	cmd->access_info.out_unmap_calls = sobj->access.unmap.calls;
	cmd->access_info.out_unmap_unpins = sobj->access.unmap.unpins;
	cmd->access_info.out_attached = sobj->access.attached;
	cmd->access_info.out_last_unmap_iova = sobj->access.unmap.last_iova;
	cmd->access_info.out_last_unmap_length =
		sobj->access.unmap.last_length;
	mutex_unlock(&sobj->access.lock);
	selftest_obj_unlock_put(ucmd, sobj);
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}

/* The IOMMU_TEST_CMD operations on access objects */
int selftest_access_cmd(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	switch (cmd->op) {
	case IOMMU_TEST_OP_ACCESS_CREATE:
		return iommufd_test_access_create(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_ATTACH:
		return iommufd_test_access_attach(ucmd, cmd, false);
	case IOMMU_TEST_OP_ACCESS_REPLACE:
		return iommufd_test_access_attach(ucmd, cmd, true);
	case IOMMU_TEST_OP_ACCESS_DETACH:
		return iommufd_test_access_detach(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_PIN:
		return iommufd_test_access_pin(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_UNPIN:
		return iommufd_test_access_unpin(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_RW:
		return iommufd_test_access_rw(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_INFO:
		return iommufd_test_access_info(ucmd, cmd);
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * The access half of iommufd_selftest_destroy(): gives back the pins, then
 * destroys the access, which waits for unmap callbacks still running; only
 * then is the object's state freed.
 */
void selftest_access_destroy(struct selftest_obj *sobj)
{
	selftest_access_release_pins(sobj);
	iommufd_access_destroy(sobj->access.access);
	xa_destroy(&sobj->access.pins);
	mutex_destroy(&sobj->access.lock);
	mutex_destroy(&sobj->access.attach_lock);
}
