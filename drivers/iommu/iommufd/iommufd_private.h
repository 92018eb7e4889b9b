/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal interfaces shared by the files of the iommufd subsystem.
 *
 * Everything userspace creates through /dev/iommu is an object: a struct
 * that embeds struct iommufd_object as its first member and lives in the
 * object table of the file (struct iommufd_ctx) under a 32-bit ID. An object
 * goes through three states:
 *
 *   reserved:  iommufd_object_alloc() took an ID but the table holds no
 *              pointer yet, so lookups miss it. The creator fills it in and
 *              either publishes it with iommufd_object_finalize() or throws
 *              it away with iommufd_object_abort*().
 *   live:      lookups find it; ioctls take short-term users on it and other
 *              objects take long-term refs on it.
 *   removed:   taken out of the table once no user and no ref is left, then
 *              destroyed through its type's ops.
 *
 * Layering, top down; each layer calls only the ones below it:
 *
 *   main.c          the object table, its users and refs (the helpers
 *                   below; nobody else touches the counters) and dispatch
 *   ioas.c, hw_pagetable.c, device.c, access.c, fault.c, vfio_compat.c
 *                   one kind of object each. Automatic HWPTs, the IOAS's
 *                   HWPT list and the IOAS mutex belong to hw_pagetable.c:
 *                   device.c attaches through struct iommufd_attach.
 *   io_pagetable.h  the IOVA space of one IOAS and the memory behind it
 *                   (io_pagetable.c, pages.c), reached only through the
 *                   iopt_*() functions and accessors declared there
 *
 * Lock order legend. Each lock may be taken while holding those it is
 * indented under, never the reverse; what each protects is said where it
 * is declared. Lockdep checks the order, this explains it.
 *
 *   ctx->change_process_lock        IOMMU_IOAS_CHANGE_PROCESS freezes
 *     iopt->iova_rwsem (write)      every IOAS, nested in ID order
 *   ctx->vfio_lock                  creating the VFIO compat IOAS, whose
 *     objects xa_lock               ID is then set under the table's lock
 *   ctx->groups_lock                the file's iommufd_groups (leaf)
 *   mock device mutex               held by the mock driver (selftest.c)
 *     ioas->mutex                   around its calls; then attach,
 *       igroup->lock                replace, the HWPT list, a new paging
 *         core's group mutex        HWPT; then the group's state, the
 *           mock_attach_lock        IOMMU core's attach and under it the
 *         fault->mutex              mock driver's; answering what a
 *           fault->lock             leaving attachment left unanswered
 *         iopt->iova_rwsem          (fault.c); reserving a device's
 *       iopt->domains_rwsem         regions; filling or removing a domain
 *   mock access mutex               a mock access, held across the access
 *     access->ioas_lock             API (selftest.c); then the access's
 *       iopt->domains_rwsem         attachment and its pins, which reach
 *         iopt->iova_rwsem          the io_pagetable: the domains, then
 *           iopt->accesses xa_lock  the IOVA space, then what hangs off
 *           pages->mutex            it: the accesses' table, and the
 *             mm's mmap_lock        pinning of an area's pages (pages.c)
 *   iopt->accesses xa_lock          an unmap takes a user on each access
 *     objects xa_lock               to notify: the only two xa_locks nested
 *   objects xa_lock                 otherwise innermost: nothing under it
 *
 * No lock of the core (the files but selftest.c) is held across an
 * access's unmap callback, a destroy callback or the wait for an object's
 * last user: the last detach of an automatic HWPT counts it out under the
 * IOAS mutex and destroys it after dropping it.
 * The mock driver's mock_groups_lock and mock_iopf_lock are leaves.
 */
#ifndef __IOMMUFD_PRIVATE_H
#define __IOMMUFD_PRIVATE_H

#include <linux/err.h>
#include <linux/iommufd.h>
#include <linux/interval_tree.h>
#include <linux/iommu.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "io_pagetable.h"

struct device;
struct iommu_domain;
struct iommu_group;
struct iommu_iova_range;
struct iommu_option;
struct iommu_user_data;
struct iommufd_access;
struct page;

/*
 * Which RLIMIT_MEMLOCK counter a file's pins are charged to besides the
 * mm's pinned_vm (IOMMU_OPTION_RLIMIT_MODE); see pages.c
 */
enum iommufd_account_mode {
	IOMMUFD_ACCOUNT_USER,	/* the user's locked_vm */
	IOMMUFD_ACCOUNT_MM,	/* the mm's locked_vm, as VFIO type1 does */
};

struct iommufd_ctx {
	struct file *file;
	/*
	 * ID -> struct iommufd_object *. The xa_lock orders lookups against
	 * removal: an object is only found, and only gains a user, under it.
	 */
	struct xarray objects;
	/* Woken when an object's last short-term user goes away */
	wait_queue_head_t destroy_wait;
	/* enum iommufd_account_mode; only changes while the table is empty */
	u8 account_mode;
	/* iommu_group ID -> struct iommufd_group of this file's devices */
	struct xarray groups;
	/* Protects @groups and the refcount drop to 0 of its entries */
	struct mutex groups_lock;
	/*
	 * Serializes the decisions about the VFIO role of the file: creating
	 * the compat IOAS and choosing no-IOMMU mode.
	 */
	struct mutex vfio_lock;
	/*
	 * The IOAS the VFIO compatibility paths use, 0 for none. Written and
	 * looked up under the xa_lock of @objects, so that removing that IOAS
	 * (which clears it) and reusing its ID cannot slip in between.
	 */
	u32 vfio_ioas_id;
	/*
	 * Serializes IOMMU_IOAS_CHANGE_PROCESS, which holds the iova_rwsem
	 * of every IOAS at once, taken in ID order under this lock
	 */
	struct mutex change_process_lock;
	/* Set under @vfio_lock, once; read with READ_ONCE() */
	bool no_iommu_mode;
};

enum iommufd_object_type {
	IOMMUFD_OBJ_ANY,	/* lookup wildcard, never an object's type */
	IOMMUFD_OBJ_IOAS,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_HWPT_PAGING,
	IOMMUFD_OBJ_HWPT_NESTED,
	IOMMUFD_OBJ_ACCESS,
	IOMMUFD_OBJ_FAULT,
#if IS_ENABLED(CONFIG_IOMMUFD_TEST)
	IOMMUFD_OBJ_SELFTEST,	/* selftest.c: mock domains and mock devices */
#endif
	IOMMUFD_OBJ_MAX,
};

/**
 * struct iommufd_object - header of everything stored in the object table
 * @users: short-term holders plus one for the table itself. An ioctl or
 *         in-kernel caller holds a user while it works on the object.
 * @refs: long-term holders plus one for the table itself. Another object
 *        that depends on this one keeps a ref for as long as it does.
 * @type: enum iommufd_object_type
 * @id: the ID userspace knows the object by
 *
 * An object is removed only when both counts are down to the table's own,
 * and both are raised only while the object is reachable (a lookup under the
 * xa_lock, or a user already held).
 */
struct iommufd_object {
	refcount_t users;
	refcount_t refs;
	enum iommufd_object_type type;
	u32 id;
};

struct iommufd_object *__iommufd_object_alloc(struct iommufd_ctx *ictx,
					      size_t size,
					      enum iommufd_object_type type);

/*
 * Allocates a zeroed @stype object whose struct iommufd_object is @member,
 * which must sit at offset 0 so that an ERR_PTR passes through the cast.
 */
#define iommufd_object_alloc_at(ictx, stype, member, type)                     \
	((typeof(stype) *)__iommufd_object_alloc(                              \
		ictx,                                                          \
		sizeof(stype) + BUILD_BUG_ON_ZERO(offsetof(stype, member)),    \
		type))
#define iommufd_object_alloc(ictx, stype, type)                                \
	iommufd_object_alloc_at(ictx, stype, obj, type)

void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj);
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj);

struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type);
struct iommufd_object *__iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					    enum iommufd_object_type type);
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_get_user(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj);
void iommufd_object_get_ref(struct iommufd_object *obj);
void iommufd_object_put_ref(struct iommufd_object *obj);
void iommufd_object_destroy_kernel(struct iommufd_ctx *ictx,
				   struct iommufd_object *obj,
				   unsigned int held_refs);

/**
 * struct iommufd_ucmd - one ioctl call in flight
 * @ictx: the file it was issued on
 * @ubuffer: the user's struct
 * @user_size: the size userspace declared in the struct's first word
 * @cmd: kernel copy of the struct, zero-extended to the size we know
 */
struct iommufd_ucmd {
	struct iommufd_ctx *ictx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

/* Copies the (possibly updated) command struct back to userspace */
static inline int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd,
				       size_t cmd_len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}

/*
 * Ends the ioctl that built @obj: the user learns its ID (in the command
 * struct) and the object becomes visible, or, if the copy-out fails, the
 * object is destroyed and the user gets the error.
 */
static inline int iommufd_ucmd_publish(struct iommufd_ucmd *ucmd,
				       struct iommufd_object *obj,
				       size_t cmd_len)
{
	int rc = iommufd_ucmd_respond(ucmd, cmd_len);

	if (rc)
		iommufd_object_abort_and_destroy(ucmd->ictx, obj);
	else
		iommufd_object_finalize(ucmd->ictx, obj);
	return rc;
}

#if IS_ENABLED(CONFIG_IOMMUFD_TEST)
bool iommufd_should_fail(void);
/* Pages per pin batch when not 0; set by the test ioctl */
extern unsigned int iommufd_test_pin_batch;
int iommufd_test_init(void);
void iommufd_test_exit(void);
int iommufd_test(struct iommufd_ucmd *ucmd);
void iommufd_selftest_destroy(struct iommufd_object *obj);
bool iommufd_test_is_mock_dev(struct device *dev);
bool iommufd_test_is_own_access(const struct iommufd_access_ops *ops);
#else
static inline bool iommufd_should_fail(void)
{
	return false;
}

static inline int iommufd_test_init(void)
{
	return 0;
}

static inline void iommufd_test_exit(void)
{
}

static inline bool iommufd_test_is_mock_dev(struct device *dev)
{
	return false;
}

static inline bool
iommufd_test_is_own_access(const struct iommufd_access_ops *ops)
{
	return false;
}
#endif

struct iommufd_ioas {
	struct iommufd_object obj;
	struct io_pagetable iopt;
	/* Protects @hwpt_list; orders automatic HWPT reuse and removal */
	struct mutex mutex;
	struct list_head hwpt_list;	/* struct iommufd_hwpt_paging */
};

static inline struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx,
						    u32 id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id,
							IOMMUFD_OBJ_IOAS);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_ioas, obj);
}

/* A domain a device can attach to; see hw_pagetable.c */
struct iommufd_hw_pagetable {
	struct iommufd_object obj;
	struct iommu_domain *domain;
	/* Where the domain's I/O page faults go (a long-term ref), or NULL */
	struct iommufd_fault *fault;
	/*
	 * Devices attached, each with a ref; under the IOAS mutex of the
	 * paging HWPT below (the parent's, for a nested one)
	 */
	unsigned int attached;
};

/* A kernel-filled domain fed by an IOAS */
struct iommufd_hwpt_paging {
	struct iommufd_hw_pagetable common;
	struct iommufd_ioas *ioas;
	struct list_head hwpt_item;	/* in ioas->hwpt_list, under its mutex */
	bool auto_domain : 1;		/* made by an attach, dies with it */
	bool enforce_cache_coherency : 1;
	bool nest_parent : 1;
	bool in_iopt : 1;		/* added to ioas->iopt */
	bool msi_cookie : 1;		/* iommu_get_msi_cookie() done */
};

/* A domain whose first stage userspace owns, on a NEST_PARENT parent */
struct iommufd_hwpt_nested {
	struct iommufd_hw_pagetable common;
	struct iommufd_hwpt_paging *parent;
};

/* The paging HWPT whose IOAS a HWPT's translations come from */
static inline struct iommufd_hwpt_paging *
iommufd_hwpt_paging_of(struct iommufd_hw_pagetable *hwpt)
{
	if (hwpt->obj.type == IOMMUFD_OBJ_HWPT_NESTED)
		return container_of(hwpt, struct iommufd_hwpt_nested,
				    common)->parent;
	return container_of(hwpt, struct iommufd_hwpt_paging, common);
}

/* One iommu_group with devices bound to a file; see device.c */
struct iommufd_group {
	struct kref ref;
	/* Protects @hwpt, @device_list and @sw_msi_start */
	struct mutex lock;
	struct iommufd_ctx *ictx;
	struct iommu_group *group;
	struct iommufd_hw_pagetable *hwpt;	/* NULL while unattached */
	struct list_head device_list;	/* attached struct iommufd_device */
	/* IOVA of the IOMMU_RESV_SW_MSI window, PHYS_ADDR_MAX if none */
	phys_addr_t sw_msi_start;
	/* The core's record of the attachment to a @hwpt with a FAULT */
	struct iommufd_attach_handle *handle;
};

struct iommufd_device {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_group *igroup;
	struct list_head group_item;	/* in igroup->device_list if attached */
	struct device *dev;
	/* The device can issue no-snoop DMA, which its HWPT must block */
	bool enforce_cache_coherency;
	/* IOMMU_DEV_FEAT_IOPF is on; under igroup->lock */
	bool iopf_enabled;
};

static inline struct iommufd_device *
iommufd_get_device(struct iommufd_ctx *ictx, u32 id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id,
							IOMMUFD_OBJ_DEVICE);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_device, obj);
}

void iommufd_device_destroy(struct iommufd_object *obj);
int iommufd_get_hw_info_ioctl(struct iommufd_ucmd *ucmd);

void iommufd_hwpt_paging_destroy(struct iommufd_object *obj);
void iommufd_hwpt_nested_destroy(struct iommufd_object *obj);
int iommufd_hwpt_enforce_cc(struct iommufd_hwpt_paging *hwpt_paging);
int iommufd_hwpt_setup_sw_msi(struct iommufd_hwpt_paging *hwpt_paging,
			      phys_addr_t sw_msi_start);
bool iommufd_ioas_enforces_cc(struct iommufd_ioas *ioas);
int iommufd_hwpt_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_set_dirty_tracking_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_get_dirty_bitmap_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_invalidate_ioctl(struct iommufd_ucmd *ucmd);

/**
 * struct iommufd_attach - one attach or replace of a device, as device.c
 *	does it and hw_pagetable.c runs it, under the IOAS mutex that orders
 *	it against the HWPT's last detach
 * @idev: the device
 * @attach: puts @idev (for a replace, its group) on @hwpt and counts each
 *	device now on it with iommufd_hwpt_attach_get(); -EINVAL means "not
 *	compatible", and iommufd_hwpt_auto_attach() tries the next HWPT
 * @undo: takes @idev off a new automatic HWPT that @attach succeeded on
 *	but that could not be filled; the HWPT is then unwound with the
 *	attachment counted on it. Not called with @fill_first.
 * @fill_first: a new automatic HWPT mirrors the IOAS before @attach (a
 *	replace must not move a group onto an empty domain)
 * @old: set by a replace: the HWPT the group left
 * @old_attached: the attachments of @old the group's devices gave up, put
 *	with iommufd_hwpt_attach_put() once no IOAS mutex is held
 */
struct iommufd_attach {
	struct iommufd_device *idev;
	int (*attach)(struct iommufd_attach *att,
		      struct iommufd_hw_pagetable *hwpt);
	void (*undo)(struct iommufd_attach *att,
		     struct iommufd_hw_pagetable *hwpt);
	bool fill_first;
	struct iommufd_hw_pagetable *old;
	unsigned int old_attached;
};

int iommufd_hwpt_attach(struct iommufd_hw_pagetable *hwpt,
			struct iommufd_attach *att);
int iommufd_hwpt_auto_attach(struct iommufd_ioas *ioas,
			     struct iommufd_attach *att, u32 *pt_id);
void iommufd_hwpt_attach_get(struct iommufd_hw_pagetable *hwpt);
void iommufd_hwpt_attach_put(struct iommufd_ctx *ictx,
			     struct iommufd_hw_pagetable *hwpt);

/* An in-kernel user of an IOAS's memory, e.g. a VFIO mdev; see access.c */
struct iommufd_access {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	const struct iommufd_access_ops *ops;
	void *data;
	/*
	 * Protects the members below. Pins and copies go to @ioas; unpins go
	 * to @ioas_unpin, the IOAS the pins came from. The two differ only
	 * while an attach change runs the unmap callback with the lock
	 * dropped: @ioas is NULL then, so nothing new is pinned from an IOAS
	 * that is being left.
	 */
	struct mutex ioas_lock;
	struct iommufd_ioas *ioas;
	struct iommufd_ioas *ioas_unpin;
	u32 iopt_index;		/* in ioas_unpin->iopt.accesses */
};

void iommufd_access_destroy_object(struct iommufd_object *obj);
void iommufd_access_notify_unmap(struct io_pagetable *iopt,
				 unsigned long start, unsigned long last);

int iommufd_vfio_ioas_ioctl(struct iommufd_ucmd *ucmd);
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg);

/* A queue of I/O page faults for userspace to resolve; see fault.c */
struct iommufd_fault {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	/* Serializes read, write and answering; protects @response */
	struct mutex mutex;
	/* Protects @deliver and @closed */
	spinlock_t lock;
	struct list_head deliver;	/* struct iopf_group, not yet read */
	struct xarray response;		/* cookie -> read, unanswered group */
	wait_queue_head_t wait_queue;
	bool closed;			/* the file is released */
};

/*
 * An attachment of a group to a HWPT with a FAULT, as the core records it
 * and hands it back with each fault group.
 */
struct iommufd_attach_handle {
	struct iommu_attach_handle handle;
	/*
	 * struct device * -> DEVICE ID (xa_mk_value()) of the group's devices
	 * that use the attachment, for the faults read from it. Changed under
	 * the group's lock; a device's faults are answered before it leaves.
	 */
	struct xarray devices;
};

int iommufd_fault_alloc_ioctl(struct iommufd_ucmd *ucmd);
void iommufd_fault_destroy(struct iommufd_object *obj);
int iommufd_fault_iopf_handler(struct iopf_group *group);
int iommufd_fault_iopf_enable(struct iommufd_device *idev);
void iommufd_fault_iopf_disable(struct iommufd_device *idev);
void iommufd_fault_detached(struct iommufd_hw_pagetable *hwpt,
			    struct iommufd_attach_handle *handle);
void iommufd_fault_device_left(struct iommufd_hw_pagetable *hwpt,
			       struct iommufd_attach_handle *handle,
			       struct device *dev);

void iommufd_ioas_destroy(struct iommufd_object *obj);
struct iommufd_ioas *iommufd_ioas_create(struct iommufd_ctx *ictx);
int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_iova_ranges_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map_file_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_change_process_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_option_huge_pages(struct iommu_option *cmd,
				   struct iommufd_ctx *ictx);

#endif
