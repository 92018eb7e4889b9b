/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The io_pagetable layer: the IOVA space of one IOAS (io_pagetable.c), the
 * mappings in it (struct iopt_area) and the user or file memory they show
 * (struct iopt_pages, pages.c).
 *
 * Only ioas.c, hw_pagetable.c, device.c, access.c, vfio_compat.c and the
 * selftest call in here, through the iopt_*() functions and accessors
 * below; they never take the io_pagetable's locks or read its members
 * directly. Below this layer are only the IOMMU core (iommu_map() and
 * friends) and mm (pinning). The one call back up is
 * iommufd_access_notify_unmap(), made with no io_pagetable lock held.
 *
 * Which lock protects what is said where each lock is declared; the order
 * in which they nest is the legend in iommufd_private.h.
 */
#ifndef __IOMMUFD_IO_PAGETABLE_H
#define __IOMMUFD_IO_PAGETABLE_H

#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/xarray.h>

struct file;
struct iommu_domain;
struct iommufd_access;
struct mm_struct;
struct page;
struct task_struct;
struct user_struct;

/*
 * struct io_pagetable - the IOVA space of one IOAS
 *
 * Usable IOVA is the allowed set (everything when the user set none) minus
 * the reserved set. Mappings are areas (struct iopt_area) in area_itree;
 * every area is mapped into every domain in @domains.
 *
 * Lock order: see the legend in iommufd_private.h.
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

/**
 * iopt_read_ranges() - report the IOVA ranges that are not reserved
 * @iopt: the table
 * @fn: called once per maximal range, in ascending order
 * @arg: passed to @fn
 * @alignment: out: the alignment mappings need, as of the same moment
 *
 * These are what IOMMU_IOAS_IOVA_RANGES reports: the whole unsigned long
 * space minus the reserved ranges. The allowed list does not narrow them;
 * it only steers automatic allocation. The ranges and the alignment are
 * one consistent view: no domain or reservation changes in between.
 * Inline, so that each caller's @fn is a direct call.
 *
 * Context: Process context. Takes iova_rwsem for read; @fn may fault.
 * Return: 0, or the first non-zero value @fn returned.
 */
static inline int iopt_read_ranges(struct io_pagetable *iopt,
				   iopt_range_fn_t fn, void *arg,
				   unsigned long *alignment)
{
	struct interval_tree_span_iter span;
	int rc = 0;

	down_read(&iopt->iova_rwsem);
	interval_tree_for_each_span(&span, &iopt->reserved_itree, 0,
				    ULONG_MAX) {
		if (!span.is_hole)
			continue;
		rc = fn(span.start_hole, span.last_hole, arg);
		if (rc)
			break;
	}
	*alignment = iopt->iova_alignment;
	up_read(&iopt->iova_rwsem);
	return rc;
}

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

/*
 * Accessors for the layers above, which never touch the locks or the
 * members of struct io_pagetable themselves.
 */

/**
 * iopt_iova_alignment() - the alignment every mapping of @iopt needs now
 * @iopt: the table
 *
 * A snapshot: attaching a domain or an access can raise it at any time.
 *
 * Context: Any context; takes no lock.
 * Return: the alignment in bytes, a power of two.
 */
static inline unsigned long iopt_iova_alignment(struct io_pagetable *iopt)
{
	return READ_ONCE(iopt->iova_alignment);
}

/**
 * iopt_large_pages_enabled() - may domains be mapped in large pages?
 * @iopt: the table
 *
 * Context: Any context; takes no lock.
 * Return: false once IOMMU_OPTION_HUGE_PAGES turned them off.
 */
static inline bool iopt_large_pages_enabled(struct io_pagetable *iopt)
{
	return !READ_ONCE(iopt->disable_large_pages);
}

/**
 * iopt_freeze_areas() - hold off every change to the areas of @iopt
 * @iopt: the table
 * @nest_lock: the mutex under which the caller freezes several tables
 *
 * For IOMMU_IOAS_CHANGE_PROCESS, which must see the mappings of every IOAS
 * of a file at once; undone by iopt_thaw_areas().
 *
 * Context: Process context, sleeps. Takes iova_rwsem for write.
 */
static inline void iopt_freeze_areas(struct io_pagetable *iopt,
				     struct mutex *nest_lock)
{
	down_write_nest_lock(&iopt->iova_rwsem, nest_lock);
}

/**
 * iopt_thaw_areas() - undo iopt_freeze_areas()
 * @iopt: the table
 *
 * Context: Process context. Releases iova_rwsem.
 */
static inline void iopt_thaw_areas(struct io_pagetable *iopt)
{
	up_write(&iopt->iova_rwsem);
}

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

/* Physically contiguous pinned bytes, as iopt_pages_walk_chunks() hands them */
struct iopt_chunk {
	phys_addr_t phys;
	unsigned long length;
};

typedef int (*iopt_chunk_fn_t)(const struct iopt_chunk *chunks,
			       unsigned int n, void *arg);
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

#endif
