// SPDX-License-Identifier: GPL-2.0-only
/*
 * ACCESS objects: in-kernel users of an IOAS's memory.
 *
 * Some devices have no IOMMU of their own: a VFIO mdev driver emulates DMA
 * by reading and writing guest memory from the CPU. Such a driver creates
 * an access, attaches it to an IOAS, and then either copies through it
 * (iommufd_access_rw()) or borrows the pinned pages behind an IOVA range
 * (iommufd_access_pin_pages()). The pages are the ones the IOAS's mappings
 * already hold pinned; an access only counts what it borrowed, per area.
 *
 * Before a mapping an access borrowed from goes away, the io_pagetable
 * calls the access's unmap callback (iommufd_access_notify_unmap()), which
 * must give the pages back synchronously; the unmap then goes on. Leaving
 * an IOAS (detach, replace, destroy) asks for the whole IOVA space back the
 * same way, so no pin ever outlives the mappings it came from.
 *
 * The driver owns the access: userspace sees its ID but cannot destroy it.
 * The access holds a reference on the file, as the driver may drop its own
 * first (VFIO_GROUP_UNSET_CONTAINER with devices open).
 * ioas_lock orders attach, replace and detach against pin, rw and each
 * other; it is taken before any io_pagetable lock and dropped around the
 * unmap callback, which calls back into iommufd_access_unpin_pages().
 */
#include <linux/iommufd.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "iommufd_private.h"

void iommufd_access_destroy_object(struct iommufd_object *obj)
{
	struct iommufd_access *access =
		container_of(obj, struct iommufd_access, obj);

	WARN_ON(access->ioas_unpin);
	mutex_destroy(&access->ioas_lock);
}

/**
 * iommufd_access_create() - create an in-kernel access
 * @ictx: the iommufd file
 * @ops: callbacks; an access that pins pages must have ops->unmap, which is
 *       called before pinned pages go away
 * @data: passed to the callbacks
 * @id: out: the ID of the ACCESS object
 *
 * The access holds a reference on @ictx until iommufd_access_destroy().
 *
 * Context: Process context.
 * Return: the access, to be released with iommufd_access_destroy(), or
 * ERR_PTR: -EINVAL for ops that pin pages without an unmap callback,
 * -ENOMEM.
 */
struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id)
{
	struct iommufd_access *access;

	/* Pins nobody can take back would outlive their IOAS */
	if (WARN_ON_ONCE(ops->needs_pin_pages && !ops->unmap))
		return ERR_PTR(-EINVAL);

	access = iommufd_object_alloc(ictx, struct iommufd_access,
				      IOMMUFD_OBJ_ACCESS);
	if (IS_ERR(access))
		return access;
	access->ictx = ictx;
	access->ops = ops;
	access->data = data;
	mutex_init(&access->ioas_lock);
	/* The driver's hold: IOMMU_DESTROY sees the object as busy */
	iommufd_object_get_ref(&access->obj);
	/*
	 * The driver may keep the access after it dropped its own reference
	 * on the file, so the access holds one. The selftest's accesses are
	 * objects of the file itself and would keep it open forever.
	 */
	if (!iommufd_test_is_own_access(ops))
		iommufd_ctx_get(ictx);

	*id = access->obj.id;
	iommufd_object_finalize(ictx, &access->obj);
	return access;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_create, IOMMUFD);

/**
 * iommufd_access_destroy() - undo iommufd_access_create()
 * @access: the access; detached first if still attached
 *
 * Context: Process context; waits for unmap callbacks in progress. May
 * release the file, and with it every object of the file.
 */
void iommufd_access_destroy(struct iommufd_access *access)
{
	struct iommufd_ctx *ictx = access->ictx;
	bool ctx_ref = !iommufd_test_is_own_access(access->ops);

	iommufd_access_detach(access);
	iommufd_object_destroy_kernel(ictx, &access->obj, 1);
	if (ctx_ref)
		iommufd_ctx_put(ictx);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_destroy, IOMMUFD);

/*
 * Moves @access from its IOAS (if any) to @new (if not NULL). Before the
 * old IOAS is left, the driver is asked through ops->unmap to give back
 * every page it pinned from it; pins cannot start meanwhile, because
 * @access->ioas is NULL while the callback runs with ioas_lock dropped.
 */
static int iommufd_access_change_ioas(struct iommufd_access *access,
				      struct iommufd_ioas *new)
{
	struct iommufd_ioas *old = access->ioas;
	bool pins = access->ops->needs_pin_pages;
	u32 old_index = access->iopt_index;
	u32 new_index;
	int rc;

	lockdep_assert_held(&access->ioas_lock);

	/* Another change is running the unmap callback */
	if (old != access->ioas_unpin)
		return -EBUSY;
	if (old == new)
		return 0;

	if (new) {
		rc = iopt_add_access(&new->iopt, access, pins, &new_index);
		if (rc)
			return rc;
		iommufd_object_get_ref(&new->obj);
	}
	if (old) {
		access->ioas = NULL;
		if (access->ops->unmap) {
			mutex_unlock(&access->ioas_lock);
			access->ops->unmap(access->data, 0, ULONG_MAX);
			mutex_lock(&access->ioas_lock);
		}
		iopt_remove_access(&old->iopt, pins, old_index);
		iommufd_object_put_ref(&old->obj);
	}
	access->ioas = new;
	access->ioas_unpin = new;
	if (new)
		access->iopt_index = new_index;
	return 0;
}

/* Looks up @ioas_id and moves @access there; attached only if @replace */
static int iommufd_access_move(struct iommufd_access *access, u32 ioas_id,
			       bool replace)
{
	struct iommufd_ioas *new;
	int rc;

	new = iommufd_get_ioas(access->ictx, ioas_id);
	if (IS_ERR(new))
		return PTR_ERR(new);

	mutex_lock(&access->ioas_lock);
	if (!replace && access->ioas_unpin)
		rc = -EINVAL;
	else
		rc = iommufd_access_change_ioas(access, new);
	mutex_unlock(&access->ioas_lock);
	iommufd_put_object(access->ictx, &new->obj);
	return rc;
}

/**
 * iommufd_access_attach() - attach an access to an IOAS
 * @access: an unattached access
 * @ioas_id: the IOAS
 *
 * Context: Process context.
 * Return: 0, -ENOENT if @ioas_id is not an IOAS, -EINVAL if already
 * attached, -EADDRINUSE if the access pins pages and a mapping of the IOAS
 * is not PAGE_SIZE aligned, -ENOMEM.
 */
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id)
{
	return iommufd_access_move(access, ioas_id, false);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_attach, IOMMUFD);

/**
 * iommufd_access_replace() - move an access to another IOAS
 * @access: the access, attached or not
 * @ioas_id: the new IOAS
 *
 * Pages pinned from the old IOAS are asked back through ops->unmap, for
 * the whole IOVA space, before the old IOAS is left.
 *
 * Context: Process context; calls ops->unmap with no iommufd lock held.
 * Return: as iommufd_access_attach(), or -EBUSY while another attach change
 * of the access is in progress; on error the access stays where it was.
 */
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id)
{
	return iommufd_access_move(access, ioas_id, true);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_replace, IOMMUFD);

/**
 * iommufd_access_detach() - detach an access from its IOAS
 * @access: the access; nothing happens if it is not attached
 *
 * Pages still pinned are asked back through ops->unmap first.
 *
 * Context: Process context; calls ops->unmap with no iommufd lock held.
 */
void iommufd_access_detach(struct iommufd_access *access)
{
	mutex_lock(&access->ioas_lock);
	/* Drivers serialize the attach changes of one access */
	WARN_ON(iommufd_access_change_ioas(access, NULL));
	mutex_unlock(&access->ioas_lock);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_detach, IOMMUFD);

/**
 * iommufd_access_notify_unmap() - ask accesses to drop borrowed pages
 * @iopt: the table about to unmap
 * @start: first IOVA going away
 * @last: last IOVA going away, inclusive
 *
 * Context: Process context, no io_pagetable lock held: the callbacks call
 * iommufd_access_unpin_pages().
 */
void iommufd_access_notify_unmap(struct io_pagetable *iopt,
				 unsigned long start, unsigned long last)
{
	struct iommufd_access *access;
	unsigned long index;

	xa_lock(&iopt->accesses);
	xa_for_each(&iopt->accesses, index, access) {
		if (!access->ops->unmap)
			continue;
		/*
		 * A user keeps the access alive while the lock is dropped: it
		 * is still in the object table, since its destroy detaches it
		 * from this table first.
		 */
		iommufd_object_get_user(access->ictx, &access->obj);
		xa_unlock(&iopt->accesses);
		access->ops->unmap(access->data, start, last - start + 1);
		iommufd_put_object(access->ictx, &access->obj);
		xa_lock(&iopt->accesses);
	}
	xa_unlock(&iopt->accesses);
}

/**
 * iommufd_access_pin_pages() - borrow the pages behind an IOVA range
 * @access: an attached access created with ops->needs_pin_pages
 * @iova: PAGE_SIZE aligned first IOVA
 * @length: PAGE_SIZE aligned length in bytes
 * @out_pages: receives length / PAGE_SIZE page pointers
 * @flags: IOMMUFD_ACCESS_RW_WRITE if the caller will write to them
 *
 * The pages stay valid until iommufd_access_unpin_pages() of the same
 * range, which the access's unmap callback must call when asked.
 *
 * Context: Process context.
 * Return: 0, -EINVAL if not attached or misaligned, -ENOENT if part of the
 * range is not mapped, -EPERM to write to a read-only mapping, -EOVERFLOW
 * if the range wraps.
 */
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags)
{
	int rc = -EINVAL;

	if (WARN_ON_ONCE(!access->ops->needs_pin_pages))
		return -EINVAL;
	mutex_lock(&access->ioas_lock);
	if (access->ioas)
		rc = iopt_access_pin_pages(&access->ioas->iopt, iova, length,
					   out_pages,
					   flags & IOMMUFD_ACCESS_RW_WRITE);
	mutex_unlock(&access->ioas_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_pin_pages, IOMMUFD);

/**
 * iommufd_access_unpin_pages() - give back pages from
 * iommufd_access_pin_pages()
 * @access: the access
 * @iova: the first IOVA of the pinned range
 * @length: its length
 *
 * Context: Process context.
 */
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length)
{
	mutex_lock(&access->ioas_lock);
	if (!WARN_ON(!access->ioas_unpin))
		iopt_access_unpin_pages(&access->ioas_unpin->iopt, iova,
					length);
	mutex_unlock(&access->ioas_lock);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_unpin_pages, IOMMUFD);

/**
 * iommufd_access_rw() - copy to or from the memory behind an IOVA range
 * @access: an attached access
 * @iova: first IOVA
 * @data: kernel buffer
 * @len: bytes to copy
 * @flags: IOMMUFD_ACCESS_RW_WRITE to copy @data into guest memory; the
 *         other flags need no special handling here, since the copy goes
 *         through the pinned pages rather than a user address space
 *
 * Context: Process or kernel thread context.
 * Return: 0, -EINVAL if not attached or @len is 0, -ENOENT if part of the
 * range is not mapped, -EPERM to write to a read-only mapping (nothing is
 * written then), -EOVERFLOW if the range wraps.
 */
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t len, unsigned int flags)
{
	int rc = -EINVAL;

	mutex_lock(&access->ioas_lock);
	if (access->ioas)
		rc = iopt_access_rw(&access->ioas->iopt, iova, data, len,
				    flags & IOMMUFD_ACCESS_RW_WRITE);
	mutex_unlock(&access->ioas_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_rw, IOMMUFD);
