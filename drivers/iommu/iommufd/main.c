// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/iommu: the file, its object table and the ioctl entry point.
 *
 * Each open() creates a struct iommufd_ctx. Everything userspace builds
 * through that file descriptor is an object in the ctx's xarray, found by
 * the 32-bit ID the creating ioctl returned. This file owns that table: IDs
 * are reserved when an object is allocated, published when it is complete,
 * and freed when the object is destroyed, either explicitly (IOMMU_DESTROY)
 * or when the file is closed, which tears everything down in dependency
 * order.
 *
 * An ioctl flows through iommufd_file_ioctl(): the command number selects a
 * row of iommufd_cmds[], the user's struct is copied in following the
 * extensible-struct rules (it starts with its own size; a shorter struct
 * than the row's minimum is refused, a longer one must be zero past what the
 * kernel knows), and the row's handler runs on a kernel copy. Numbers below
 * the table are VFIO's: the type1 container ioctls go to vfio_compat.c.
 *
 * With CONFIG_IOMMUFD_VFIO_CONTAINER the same file is also /dev/vfio/vfio,
 * the legacy VFIO container, which differs only in how it charges pins.
 *
 * Locking: the xa_lock of ctx->objects is the only lock here. Lookups take a
 * short-term user under it, and removal checks both counts under it, so an
 * object is never freed under a caller that found it. It also guards the
 * file's compat IOAS ID, which removal of that IOAS clears. The lock is
 * never held across a destroy callback or a user copy. The counters of an
 * object are changed only here, through the helpers below; where this lock
 * sits among the others is the legend in iommufd_private.h.
 *
 * Ioctl handlers are named *_ioctl(), after the command they serve.
 */
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"
#include "iommufd_test.h"

struct iommufd_object_ops {
	void (*destroy)(struct iommufd_object *obj);
};

static const struct iommufd_object_ops iommufd_object_ops[] = {
	[IOMMUFD_OBJ_IOAS] = {
		.destroy = iommufd_ioas_destroy,
	},
	[IOMMUFD_OBJ_DEVICE] = {
		.destroy = iommufd_device_destroy,
	},
	[IOMMUFD_OBJ_HWPT_PAGING] = {
		.destroy = iommufd_hwpt_paging_destroy,
	},
	[IOMMUFD_OBJ_HWPT_NESTED] = {
		.destroy = iommufd_hwpt_nested_destroy,
	},
	[IOMMUFD_OBJ_ACCESS] = {
		.destroy = iommufd_access_destroy_object,
	},
	[IOMMUFD_OBJ_FAULT] = {
		.destroy = iommufd_fault_destroy,
	},
#if IS_ENABLED(CONFIG_IOMMUFD_TEST)
	[IOMMUFD_OBJ_SELFTEST] = {
		.destroy = iommufd_selftest_destroy,
	},
#endif
};

/**
 * __iommufd_object_alloc() - allocate an object and reserve its ID
 * @ictx: the file the object will belong to
 * @size: size of the containing structure (struct iommufd_object leads it)
 * @type: the object's type
 *
 * The ID is reserved but not visible: lookups miss it until
 * iommufd_object_finalize(). The creator must end with finalize or abort.
 *
 * Context: Process context, may sleep.
 * Return: the zeroed object, or ERR_PTR(-ENOMEM), or ERR_PTR(-EBUSY) when
 * every ID is taken.
 */
struct iommufd_object *__iommufd_object_alloc(struct iommufd_ctx *ictx,
					      size_t size,
					      enum iommufd_object_type type)
{
	struct iommufd_object *obj = kzalloc(size, GFP_KERNEL_ACCOUNT);
	int rc;

	if (!obj)
		return ERR_PTR(-ENOMEM);
	*obj = (struct iommufd_object){
		.users = REFCOUNT_INIT(1),
		.refs = REFCOUNT_INIT(1),
		.type = type,
	};
	/*
	 * The slot reads as NULL to lookups until the object is finalized.
	 * As in 6.12 the lowest free ID is taken, so the ID of a destroyed
	 * object is handed out again by the next allocation.
	 */
	rc = xa_alloc(&ictx->objects, &obj->id, XA_ZERO_ENTRY, xa_limit_31b,
		      GFP_KERNEL_ACCOUNT);
	if (!rc)
		return obj;
	kfree(obj);
	return ERR_PTR(rc);
}

/**
 * iommufd_object_finalize() - make a fully built object visible
 * @ictx: the file the object belongs to
 * @obj: an object from iommufd_object_alloc()
 *
 * Context: Process context. Takes and releases the xa_lock.
 */
void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj)
{
	void *old;

	/*
	 * The reserved slot turns into the object, which allocates nothing;
	 * the reservation it replaces reads back as NULL.
	 */
	old = xa_cmpxchg(&ictx->objects, obj->id, XA_ZERO_ENTRY, obj,
			 GFP_KERNEL);
	WARN_ON(old);
}

/**
 * iommufd_object_abort() - free an object that was never finalized
 * @ictx: the file the object belongs to
 * @obj: an object from iommufd_object_alloc() with nothing else set up
 *
 * Context: Process context. Takes and releases the xa_lock.
 */
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	xa_release(&ictx->objects, obj->id);
	kfree(obj);
}

/**
 * iommufd_object_abort_and_destroy() - undo a partly built object
 * @ictx: the file the object belongs to
 * @obj: an object whose type's destroy callback can undo its current state
 *
 * Context: Process context, may sleep.
 */
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj)
{
	const struct iommufd_object_ops *ops = &iommufd_object_ops[obj->type];

	ops->destroy(obj);
	iommufd_object_abort(ictx, obj);
}

/**
 * iommufd_get_object() - find an object and take a short-term user on it
 * @ictx: the file to search
 * @id: the object's ID
 * @type: the expected type, or IOMMUFD_OBJ_ANY
 *
 * Context: Any context. Takes and releases the xa_lock.
 * Return: the object, to be released with iommufd_put_object(), or
 * ERR_PTR(-ENOENT) if no finalized object of that type has that ID.
 */
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type)
{
	struct iommufd_object *obj;

	xa_lock(&ictx->objects);
	obj = __iommufd_get_object(ictx, id, type);
	xa_unlock(&ictx->objects);
	return obj;
}

/**
 * __iommufd_get_object() - iommufd_get_object() with the xa_lock held
 * @ictx: the file to search
 * @id: the object's ID
 * @type: the expected type, or IOMMUFD_OBJ_ANY
 *
 * For a caller that must read @id and find its object in one step, with
 * no destroy in between (see vfio_compat.c).
 *
 * Context: Any context. The caller holds the xa_lock of @ictx->objects.
 * Return: as iommufd_get_object().
 */
struct iommufd_object *__iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					    enum iommufd_object_type type)
{
	struct iommufd_object *obj;

	lockdep_assert_held(&ictx->objects.xa_lock);

	obj = xa_load(&ictx->objects, id);
	if (!obj || (type != IOMMUFD_OBJ_ANY && obj->type != type))
		return ERR_PTR(-ENOENT);
	refcount_inc(&obj->users);
	return obj;
}

/**
 * iommufd_put_object() - release a short-term user
 * @ictx: the file the object belongs to
 * @obj: an object from iommufd_get_object()
 *
 * Context: Any context.
 */
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	refcount_dec(&obj->users);
	/* Pairs with the barrier in wait_event() of a remover */
	if (wq_has_sleeper(&ictx->destroy_wait))
		wake_up_all(&ictx->destroy_wait);
}

/**
 * iommufd_object_get_user() - take a short-term user on an object in hand
 * @ictx: the file the object belongs to
 * @obj: an object the caller reached without a lookup, and knows is still
 *       in the table: e.g. it sits on a list whose lock the object's removal
 *       has to take first (an access on its IOAS's table of accesses)
 *
 * Users are only ever raised under the xa_lock, so that removal, which
 * checks them under it, cannot miss one.
 *
 * Context: Any context. Takes and releases the xa_lock; may be called with
 * the xa_lock of a list of objects held (see the legend in
 * iommufd_private.h). Released with iommufd_put_object().
 */
void iommufd_object_get_user(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj)
{
	xa_lock(&ictx->objects);
	refcount_inc(&obj->users);
	xa_unlock(&ictx->objects);
}

/**
 * iommufd_object_get_ref() - record a long-term dependency on an object
 * @obj: an object the caller holds a user or a ref on, or is creating
 *
 * While a ref is held IOMMU_DESTROY refuses the object (-EBUSY), and
 * closing the file destroys the holder before it.
 *
 * Context: Any context.
 */
void iommufd_object_get_ref(struct iommufd_object *obj)
{
	refcount_inc(&obj->refs);
}

/**
 * iommufd_object_put_ref() - drop a ref from iommufd_object_get_ref()
 * @obj: the object, which stays in the table with at least its own ref
 *
 * Context: Any context.
 */
void iommufd_object_put_ref(struct iommufd_object *obj)
{
	refcount_dec(&obj->refs);
}

/*
 * Takes @obj out of the table if the table's own count is all that is left
 * on both counters. Called with the xa_lock held.
 */
static bool iommufd_object_unpublish(struct iommufd_ctx *ictx,
				     struct iommufd_object *obj)
{
	lockdep_assert_held(&ictx->objects.xa_lock);

	/* Once users is 0 no holder can exist to raise refs */
	if (!refcount_dec_if_one(&obj->users))
		return false;
	if (refcount_read(&obj->refs) != 1) {
		refcount_set(&obj->users, 1);
		return false;
	}
	__xa_erase(&ictx->objects, obj->id);
	/*
	 * The ID is free for the next object from here on: a new IOAS that
	 * gets it must not inherit the compat role.
	 */
	if (obj->type == IOMMUFD_OBJ_IOAS && obj->id == ictx->vfio_ioas_id)
		ictx->vfio_ioas_id = 0;
	return true;
}

/**
 * iommufd_object_destroy_kernel() - destroy an object on the kernel's behalf
 * @ictx: the file the object belongs to
 * @obj: the object
 * @held_refs: long-term refs the caller holds and gives up with it
 *
 * For objects whose lifetime the kernel controls (a bound device, an
 * automatic HWPT): waits for ioctls still using the object, then removes
 * and destroys it. Nothing but the caller may depend on it any more.
 *
 * Context: Process context, sleeps.
 */
void iommufd_object_destroy_kernel(struct iommufd_ctx *ictx,
				   struct iommufd_object *obj,
				   unsigned int held_refs)
{
	bool removed;

	for (;;) {
		xa_lock(&ictx->objects);
		if (WARN_ON(refcount_read(&obj->refs) != 1 + held_refs)) {
			/* Someone else still depends on it: leak, don't free */
			xa_unlock(&ictx->objects);
			return;
		}
		removed = refcount_dec_if_one(&obj->users);
		if (removed)
			__xa_erase(&ictx->objects, obj->id);
		xa_unlock(&ictx->objects);
		if (removed)
			break;
		wait_event(ictx->destroy_wait,
			   refcount_read(&obj->users) == 1);
	}
	iommufd_object_ops[obj->type].destroy(obj);
	kfree(obj);
}

static int iommufd_destroy_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_object *obj;
	int rc = 0;

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, cmd->id);
	if (!obj)
		rc = -ENOENT;
	else if (!iommufd_object_unpublish(ictx, obj))
		rc = -EBUSY;
	xa_unlock(&ictx->objects);
	if (rc)
		return rc;

	iommufd_object_ops[obj->type].destroy(obj);
	kfree(obj);
	return 0;
}

static int iommufd_option_rlimit_mode(struct iommu_option *cmd,
				      struct iommufd_ctx *ictx)
{
	int rc = 0;

	/* A property of the whole file, not of an object */
	if (cmd->object_id)
		return -EOPNOTSUPP;

	switch (cmd->op) {
	case IOMMU_OPTION_OP_GET:
		cmd->val64 = ictx->account_mode == IOMMUFD_ACCOUNT_MM;
		return 0;
	case IOMMU_OPTION_OP_SET:
		break;
	default:
		return -EOPNOTSUPP;
	}

	if (!capable(CAP_SYS_RESOURCE))
		return -EPERM;
	if (cmd->val64 > 1)
		return -EINVAL;

	/* Pages already charged one way must be returned the same way */
	xa_lock(&ictx->objects);
	if (!xa_empty(&ictx->objects))
		rc = -EBUSY;
	else
		ictx->account_mode = cmd->val64 ? IOMMUFD_ACCOUNT_MM :
						  IOMMUFD_ACCOUNT_USER;
	xa_unlock(&ictx->objects);
	return rc;
}

typedef int (*iommufd_option_fn_t)(struct iommu_option *cmd,
				   struct iommufd_ctx *ictx);

/* IOMMU_OPTION handlers, indexed by option_id */
static const iommufd_option_fn_t iommufd_option_handlers[] = {
	[IOMMU_OPTION_RLIMIT_MODE] = iommufd_option_rlimit_mode,
	[IOMMU_OPTION_HUGE_PAGES] = iommufd_ioas_option_huge_pages,
};

static int iommufd_option_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	unsigned int nr = ARRAY_SIZE(iommufd_option_handlers);
	iommufd_option_fn_t handler;
	int rc;

	if (cmd->__reserved || cmd->option_id >= nr)
		return -EOPNOTSUPP;
	handler = iommufd_option_handlers[array_index_nospec(cmd->option_id, nr)];
	rc = handler(cmd, ucmd->ictx);
	return rc ?: iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}

/* Large enough for the kernel copy of any command struct */
union iommufd_cmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_ioas_alloc ioas_alloc;
	struct iommu_ioas_iova_ranges ioas_iova_ranges;
	struct iommu_ioas_allow_iovas ioas_allow_iovas;
	struct iommu_ioas_map ioas_map;
	struct iommu_ioas_copy ioas_copy;
	struct iommu_ioas_unmap ioas_unmap;
	struct iommu_hwpt_alloc hwpt_alloc;
	struct iommu_hw_info hw_info;
	struct iommu_vfio_ioas vfio_ioas;
	struct iommu_hwpt_set_dirty_tracking set_dirty_tracking;
	struct iommu_hwpt_get_dirty_bitmap get_dirty_bitmap;
	struct iommu_hwpt_invalidate hwpt_invalidate;
	struct iommu_option option;
	struct iommu_fault_alloc fault_alloc;
	struct iommu_ioas_map_file ioas_map_file;
	struct iommu_ioas_change_process change_process;
#if IS_ENABLED(CONFIG_IOMMUFD_TEST)
	struct iommu_test_cmd test;
#endif
};

struct iommufd_cmd {
	unsigned int ioctl_num;
	/* The struct as this kernel knows it, and its oldest accepted size */
	unsigned int size;
	unsigned int min_size;
	int (*handler)(struct iommufd_ucmd *ucmd);
};

/*
 * @last is the last member of the first version of the struct; fields added
 * later are optional for userspace and read as zero when it omits them.
 */
#define IOMMUFD_CMD(name, fn, type, last)                                      \
	[IOMMUFD_CMD_##name - IOMMUFD_CMD_BASE] = {                            \
		.ioctl_num = IOMMU_##name,                                     \
		.size = sizeof(type) +                                         \
			BUILD_BUG_ON_ZERO(sizeof(union iommufd_cmd_buffer) <   \
					  sizeof(type)),                       \
		.min_size = offsetofend(type, last),                           \
		.handler = fn,                                                 \
	}

static const struct iommufd_cmd iommufd_cmds[] = {
	IOMMUFD_CMD(DESTROY, iommufd_destroy_ioctl, struct iommu_destroy, id),
	IOMMUFD_CMD(IOAS_ALLOC, iommufd_ioas_alloc_ioctl,
		    struct iommu_ioas_alloc, out_ioas_id),
	IOMMUFD_CMD(IOAS_IOVA_RANGES, iommufd_ioas_iova_ranges_ioctl,
		    struct iommu_ioas_iova_ranges, out_iova_alignment),
	IOMMUFD_CMD(IOAS_ALLOW_IOVAS, iommufd_ioas_allow_iovas_ioctl,
		    struct iommu_ioas_allow_iovas, allowed_iovas),
	IOMMUFD_CMD(IOAS_MAP, iommufd_ioas_map_ioctl, struct iommu_ioas_map, iova),
	IOMMUFD_CMD(IOAS_COPY, iommufd_ioas_copy_ioctl, struct iommu_ioas_copy,
		    src_iova),
	IOMMUFD_CMD(IOAS_UNMAP, iommufd_ioas_unmap_ioctl, struct iommu_ioas_unmap,
		    length),
	IOMMUFD_CMD(VFIO_IOAS, iommufd_vfio_ioas_ioctl, struct iommu_vfio_ioas,
		    __reserved),
	IOMMUFD_CMD(HWPT_ALLOC, iommufd_hwpt_alloc_ioctl, struct iommu_hwpt_alloc,
		    __reserved),
	IOMMUFD_CMD(GET_HW_INFO, iommufd_get_hw_info_ioctl, struct iommu_hw_info,
		    __reserved),
	IOMMUFD_CMD(HWPT_SET_DIRTY_TRACKING, iommufd_hwpt_set_dirty_tracking_ioctl,
		    struct iommu_hwpt_set_dirty_tracking, __reserved),
	IOMMUFD_CMD(HWPT_GET_DIRTY_BITMAP, iommufd_hwpt_get_dirty_bitmap_ioctl,
		    struct iommu_hwpt_get_dirty_bitmap, data),
	IOMMUFD_CMD(HWPT_INVALIDATE, iommufd_hwpt_invalidate_ioctl,
		    struct iommu_hwpt_invalidate, __reserved),
	IOMMUFD_CMD(OPTION, iommufd_option_ioctl, struct iommu_option, val64),
	IOMMUFD_CMD(FAULT_QUEUE_ALLOC, iommufd_fault_alloc_ioctl,
		    struct iommu_fault_alloc, out_fault_fd),
	/* Beyond 6.12, with the numbers of the kernels that added them */
	IOMMUFD_CMD(IOAS_MAP_FILE, iommufd_ioas_map_file_ioctl,
		    struct iommu_ioas_map_file, iova),
	IOMMUFD_CMD(IOAS_CHANGE_PROCESS, iommufd_ioas_change_process_ioctl,
		    struct iommu_ioas_change_process, __reserved),
#if IS_ENABLED(CONFIG_IOMMUFD_TEST)
	/* The payload after the header is optional, read as zero if short */
	IOMMUFD_CMD(TEST_CMD, iommufd_test, struct iommu_test_cmd, __reserved),
#endif
};

static long iommufd_file_ioctl(struct file *filp, unsigned int num,
			       unsigned long arg)
{
	union iommufd_cmd_buffer buf;
	const struct iommufd_cmd *cmd;
	struct iommufd_ucmd ucmd = {
		.ictx = filp->private_data,
		.ubuffer = (void __user *)arg,
		.cmd = &buf,
	};
	unsigned int nr = _IOC_NR(num);
	int rc;

	/* Numbers outside our table are VFIO's container ioctls, or nothing */
	if (nr < IOMMUFD_CMD_BASE ||
	    nr - IOMMUFD_CMD_BASE >= ARRAY_SIZE(iommufd_cmds))
		return iommufd_vfio_ioctl(ucmd.ictx, num, arg);
	cmd = &iommufd_cmds[nr - IOMMUFD_CMD_BASE];
	if (!cmd->handler || cmd->ioctl_num != num)
		return -ENOTTY;

	if (get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer))
		return -EFAULT;
	if (ucmd.user_size < cmd->min_size)
		return -EINVAL;
	rc = copy_struct_from_user(&buf, cmd->size, ucmd.ubuffer,
				   ucmd.user_size);
	if (rc)
		return rc;
	return cmd->handler(&ucmd);
}

static int iommufd_file_open(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx;

	ictx = kzalloc(sizeof(*ictx), GFP_KERNEL_ACCOUNT);
	if (!ictx)
		return -ENOMEM;

	xa_init_flags(&ictx->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	init_waitqueue_head(&ictx->destroy_wait);
	xa_init(&ictx->groups);
	mutex_init(&ictx->groups_lock);
	mutex_init(&ictx->vfio_lock);
	mutex_init(&ictx->change_process_lock);
	ictx->account_mode = IOMMUFD_ACCOUNT_USER;
	/*
	 * Opened as /dev/vfio/vfio: legacy VFIO userspace sized
	 * RLIMIT_MEMLOCK for type1, which charges the mm's locked_vm, so the
	 * file charges that way from the start.
	 */
	if (IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER) &&
	    imajor(inode) == MISC_MAJOR && iminor(inode) == VFIO_MINOR) {
		ictx->account_mode = IOMMUFD_ACCOUNT_MM;
		pr_info_once("iommufd: /dev/vfio/vfio is served by iommufd, not by VFIO's container\n");
	}
	ictx->file = filp;
	filp->private_data = ictx;
	return 0;
}

/*
 * Last reference to the file: nobody can look objects up any more, so only
 * long-term refs between objects order the teardown. Each pass destroys the
 * objects nothing depends on, which frees the refs they held on others.
 */
static int iommufd_file_release(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx = filp->private_data;
	struct iommufd_object *obj;
	unsigned long index;
	bool progress;

	do {
		progress = false;
		xa_for_each(&ictx->objects, index, obj) {
			xa_lock(&ictx->objects);
			if (!iommufd_object_unpublish(ictx, obj)) {
				xa_unlock(&ictx->objects);
				continue;
			}
			xa_unlock(&ictx->objects);
			iommufd_object_ops[obj->type].destroy(obj);
			kfree(obj);
			progress = true;
		}
	} while (progress);

	/* Whatever is left is a reference cycle, which is a kernel bug */
	WARN_ON(!xa_empty(&ictx->objects));
	xa_destroy(&ictx->objects);
	WARN_ON(!xa_empty(&ictx->groups));
	xa_destroy(&ictx->groups);
	mutex_destroy(&ictx->groups_lock);
	mutex_destroy(&ictx->vfio_lock);
	mutex_destroy(&ictx->change_process_lock);
	kfree(ictx);
	return 0;
}

static const struct file_operations iommufd_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = iommufd_file_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.open = iommufd_file_open,
	.release = iommufd_file_release,
};

/**
 * iommufd_ctx_from_file() - the iommufd context behind an open file
 * @file: a file that should be an open /dev/iommu
 *
 * Context: Any context.
 * Return: the context, with a reference for iommufd_ctx_put() to drop, or
 * ERR_PTR(-EBADFD) if @file is something else.
 */
struct iommufd_ctx *iommufd_ctx_from_file(struct file *file)
{
	bool is_iommufd = file->f_op == &iommufd_fops;

	if (is_iommufd)
		iommufd_ctx_get(file->private_data);
	return is_iommufd ? file->private_data : ERR_PTR(-EBADFD);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_file, IOMMUFD);

/**
 * iommufd_ctx_from_fd() - the iommufd context behind a file descriptor
 * @fd: a descriptor of the calling process that should be /dev/iommu
 *
 * Context: Process context.
 * Return: the context, with a reference for iommufd_ctx_put() to drop,
 * ERR_PTR(-EBADF) if @fd is not open, or ERR_PTR(-EBADFD) if it is not
 * /dev/iommu.
 */
struct iommufd_ctx *iommufd_ctx_from_fd(int fd)
{
	CLASS(fd, f)(fd);

	return fd_empty(f) ? ERR_PTR(-EBADF) : iommufd_ctx_from_file(fd_file(f));
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_fd, IOMMUFD);

/**
 * iommufd_ctx_get() - take a reference on an iommufd context
 * @ictx: the context, obtained from iommufd_ctx_from_file() or _from_fd()
 *
 * A context is owned by its file, so holding one means holding the file.
 *
 * Context: Any context.
 */
void iommufd_ctx_get(struct iommufd_ctx *ictx)
{
	get_file(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_get, IOMMUFD);

/**
 * iommufd_ctx_put() - drop a reference taken on an iommufd context
 * @ictx: the context
 *
 * Context: Process context; the last put may free every object of @ictx.
 */
void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
	fput(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_put, IOMMUFD);

/*
 * The device nodes that open an iommufd: /dev/iommu, and /dev/vfio/vfio
 * when iommufd stands in for VFIO's own type1 container
 * (CONFIG_IOMMUFD_VFIO_CONTAINER). That one is open to everybody, as
 * VFIO's is: an empty container grants nothing, and each group added to
 * it is guarded by its own node's permissions.
 */
static struct miscdevice iommufd_nodes[] = {
	{
		.minor = MISC_DYNAMIC_MINOR,
		.name = "iommu",
		.nodename = "iommu",
		.mode = 0660,
		.fops = &iommufd_fops,
	},
#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
	{
		.minor = VFIO_MINOR,
		.name = "vfio",
		.nodename = "vfio/vfio",
		.mode = 0666,
		.fops = &iommufd_fops,
	},
#endif
};

/* Takes away the first @n nodes, newest first, then the test support */
static void iommufd_teardown(unsigned int n)
{
	while (n--)
		misc_deregister(&iommufd_nodes[n]);
	iommufd_test_exit();
}

static int __init iommufd_init(void)
{
	unsigned int n;
	int rc;

	rc = iommufd_test_init();
	if (rc)
		return rc;
	for (n = 0; n != ARRAY_SIZE(iommufd_nodes); n++) {
		rc = misc_register(&iommufd_nodes[n]);
		if (rc) {
			iommufd_teardown(n);
			return rc;
		}
	}
	return 0;
}

static void __exit iommufd_exit(void)
{
	iommufd_teardown(ARRAY_SIZE(iommufd_nodes));
}

module_init(iommufd_init);
module_exit(iommufd_exit);

#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
MODULE_ALIAS_MISCDEV(VFIO_MINOR);
MODULE_ALIAS("devname:vfio/vfio");
#endif

MODULE_DESCRIPTION("I/O address space management for userspace (/dev/iommu)");
MODULE_LICENSE("GPL");
