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
 * Layering: main.c owns the table and ioctl dispatch, ioas.c turns IOAS
 * ioctls into calls on the io_pagetable (io_pagetable.c), which owns the
 * IOVA space of one IOAS.
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

/*
 * struct io_pagetable - the IOVA space of one IOAS
 *
 * Usable IOVA is the allowed set (everything when the user set none) minus
 * the reserved set. Mappings are areas (struct iopt_area) in area_itree;
 * every area is mapped into every domain in @domains.
 *
 * Lock order: domains_rwsem, then iova_rwsem.
 */
struct io_pagetable {
	/* Protects @domains; held for read while areas are mapped into them */
	struct rw_semaphore domains_rwsem;
	struct xarray domains;
	/* Protects the three trees, iova_alignment and disable_large_pages */
	struct rw_semaphore iova_rwsem;
	struct rb_root_cached area_itree;
	struct rb_root_cached allowed_itree;
	struct rb_root_cached reserved_itree;
	/* Every IOVA and length mapped must be a multiple of this */
	unsigned long iova_alignment;
	/* IOMMU_OPTION_HUGE_PAGES == 0: map domains in PAGE_SIZE steps */
	bool disable_large_pages;
	/* Attached accesses that pin pages; they need PAGE_SIZE alignment */
	unsigned int num_pinning_accesses;
	/* struct iommufd_access attached to the IOAS, told about unmaps */
	struct xarray accesses;
};

void iopt_init_table(struct io_pagetable *iopt);
void iopt_destroy_table(struct io_pagetable *iopt);

typedef int (*iopt_range_fn_t)(unsigned long start, unsigned long last,
			       void *arg);
int iopt_walk_usable_ranges(struct io_pagetable *iopt, iopt_range_fn_t fn,
			    void *arg);

int iopt_map_user_pages(struct io_pagetable *iopt, unsigned long *iova,
			unsigned long uptr, unsigned long length,
			int iommu_prot, bool fixed, bool mm_mode);
int iopt_map_file_pages(struct io_pagetable *iopt, unsigned long *iova,
			struct file *file, unsigned long start,
			unsigned long length, int iommu_prot, bool fixed,
			bool mm_mode);
int iopt_collect_file_pages(struct io_pagetable *iopt, struct xarray *set);
int iopt_copy_iova(struct io_pagetable *dst, unsigned long *dst_iova,
		   struct io_pagetable *src, unsigned long src_iova,
		   unsigned long length, int iommu_prot, bool fixed);
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long start,
		    unsigned long last, unsigned long *unmapped);
int iopt_allowed_add(struct rb_root_cached *list, unsigned long start,
		     unsigned long last);
void iopt_allowed_free(struct rb_root_cached *list);
int iopt_set_allowed_iovas(struct io_pagetable *iopt,
			   struct rb_root_cached *list);
int iopt_set_large_pages(struct io_pagetable *iopt, bool enable);
int iopt_cut_after(struct io_pagetable *iopt, const unsigned long *iovas,
		   unsigned int niovas);
unsigned long iopt_domains_pgsizes(struct io_pagetable *iopt);
int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access,
		    bool pins_pages, u32 *index);
void iopt_remove_access(struct io_pagetable *iopt, bool pins_pages, u32 index);
int iopt_access_pin_pages(struct io_pagetable *iopt, unsigned long iova,
			  unsigned long length, struct page **out, bool write);
void iopt_access_unpin_pages(struct io_pagetable *iopt, unsigned long iova,
			     unsigned long length);
int iopt_access_rw(struct io_pagetable *iopt, unsigned long iova, void *data,
		   size_t len, bool write);
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable);
int iopt_read_and_clear_dirty(struct io_pagetable *iopt,
			      struct iommu_domain *domain, unsigned long flags,
			      unsigned long iova, unsigned long length,
			      unsigned long page_size, u64 __user *data);
int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain);
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain);
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last, void *owner);
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner);

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

/* How a struct iopt_pages charges what it pins; see pages.c */
enum iopt_pages_account {
	IOPT_ACCOUNT_NONE,	/* pinned_vm only: the caller had CAP_IPC_LOCK */
	IOPT_ACCOUNT_USER,	/* also the user's locked_vm */
	IOPT_ACCOUNT_MM,	/* also the mm's locked_vm, as VFIO type1 */
};

/*
 * struct iopt_pages - a range of user memory shared by the areas that show
 * it, pinned while holders need it; see pages.c.
 */
struct iopt_pages {
	struct kref kref;		/* one per area */
	/* Protects @holders, @segments and @npinned */
	struct mutex mutex;
	struct rb_root_cached holders;	/* page index spans of the holders */
	struct rb_root_cached segments;	/* what is pinned, see pages.c */
	unsigned long npinned;		/* pages the holders cover, charged */
	/* page aligned start: a user address, or an offset in @file */
	unsigned long uptr;
	struct file *file;		/* a memfd, or NULL for user memory */
	/* With @file: folio index -> pinned pages in it (xa_mk_value()) */
	struct xarray file_pins;
	unsigned long npages;
	bool writable;
	u8 account;			/* enum iopt_pages_account */
	struct user_struct *user;
	struct task_struct *task;	/* whose RLIMIT_MEMLOCK applies */
	struct mm_struct *mm;		/* mmgrab()ed */
};

struct iopt_pages *iopt_pages_alloc(unsigned long uptr, unsigned long length,
				    bool writable, bool mm_mode);
struct iopt_pages *iopt_pages_alloc_file(struct file *file,
					 unsigned long uptr,
					 unsigned long length, bool writable,
					 bool mm_mode);
int iopt_pages_change_process(struct xarray *set);
void iopt_pages_get(struct iopt_pages *pages);
void iopt_pages_put(struct iopt_pages *pages);
int iopt_pages_pin(struct iopt_pages *pages, struct interval_tree_node *holder);
void iopt_pages_unpin(struct iopt_pages *pages,
		      struct interval_tree_node *holder);
void iopt_pages_split_holder(struct iopt_pages *pages,
			     struct interval_tree_node *holder,
			     struct interval_tree_node *tail);
void iopt_pages_fill(struct iopt_pages *pages, unsigned long index,
		     unsigned long n, struct page **out);
int iopt_pages_rw(struct iopt_pages *pages, unsigned long offset, void *data,
		  unsigned long length, bool write);

typedef int (*iopt_chunk_fn_t)(unsigned long offset, phys_addr_t phys,
			       unsigned long length, void *arg);
int iopt_pages_walk_chunks(struct iopt_pages *pages, unsigned long offset,
			   unsigned long length, iopt_chunk_fn_t fn, void *arg);

/*
 * struct iopt_area - one mapping: IOVA [node.start, node.last] shows the
 * bytes of @pages that start @pages_offset bytes into its first page.
 */
struct iopt_area {
	struct interval_tree_node node;
	struct iopt_pages *pages;
	/*
	 * The page indices of @pages this area shows; a holder of them
	 * (@pinned) while the IOAS has a domain. Under iova_rwsem.
	 */
	struct interval_tree_node pages_node;
	bool pinned;
	unsigned long pages_offset;
	int iommu_prot;
	/*
	 * struct iopt_access_pin of the accesses that pinned pages of this
	 * area, by page index; unmap waits for them. Changed under iova_rwsem
	 * for read and the pages mutex, or iova_rwsem for write.
	 */
	struct rb_root_cached access_pins;
	/*
	 * An unmap is asking the accesses to let go: no new pin or copy
	 * may start. Under iova_rwsem.
	 */
	bool prevent_access;
	/* Links the areas of one operation while they are built or freed */
	struct list_head list;
};

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
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd);

void iommufd_hwpt_paging_destroy(struct iommufd_object *obj);
void iommufd_hwpt_nested_destroy(struct iommufd_object *obj);
int iommufd_hwpt_enforce_cc(struct iommufd_hwpt_paging *hwpt_paging);
int iommufd_hwpt_setup_sw_msi(struct iommufd_hwpt_paging *hwpt_paging,
			      phys_addr_t sw_msi_start);
struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  struct iommufd_device *idev, u32 flags,
			  bool auto_domain,
			  const struct iommu_user_data *user_data);
int iommufd_hwpt_paging_fill(struct iommufd_hwpt_paging *hwpt_paging);
int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd);

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

int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd);
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

int iommufd_fault_alloc(struct iommufd_ucmd *ucmd);
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
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd);
int iommufd_ioas_change_process(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd);
int iommufd_ioas_option_huge_pages(struct iommu_option *cmd,
				   struct iommufd_ctx *ictx);

#endif
