// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mock IOMMU driver of iommufd's test support (CONFIG_IOMMUFD_TEST): a
 * real driver as far as the core and iommufd can tell, registered for the
 * mock bus only (selftest_bus.c) and named by a firmware node of its own.
 * A paging domain keeps its translations in an xarray of PTEs indexed by IO
 * page, half a CPU page, so that iommufd must handle IOVAs that are not CPU
 * page aligned; a PTE records the physical IO page, the permissions, the
 * page size of the mapping, whether it began a map_pages() call and the
 * dirty bit. What real page tables cannot survive (mapping over a mapping,
 * unmapping a hole or part of a large page, leaving the aperture) warns,
 * because iommufd must never ask for it. A nested domain is an emulated
 * IOTLB tag over its parent's translation. Each device's last domain is
 * recorded; with the per-domain device counts it decides what a domain
 * accepts: one that enforces coherency or tracks dirty pages refuses a
 * device that cannot follow. Devices made with MOCK_DEVICE_IOPF join the
 * IOPF queue when the core enables the feature, and their page responses
 * are logged for the tests to collect.
 *
 * Data flows in from the core's ops and out to the test ioctl only through
 * the mock_*() helpers at the end of the file: the PTE format stays here.
 *
 * Locking: mock_attach_lock protects the device records, the device counts,
 * coherency state and nested IOTLB state; holding it keeps every domain a
 * device is attached to alive. It is taken under the group mutex and
 * iommufd's locks; only xarray locks, and mmap_lock in the checks' GUP, are
 * taken under it. PTEs need only the xarray's lock: map and unmap run
 * under iommufd's domain locks and dirty bits change by cmpxchg.
 * mock_iopf_lock protects the IOPF state and response log of every device;
 * nothing is taken under it.
 */
#include <linux/bitfield.h>
#include <linux/fwnode.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>

#include "iommu-priv.h"
#include "selftest.h"

#define MOCK_HUGE_PGSIZES	(SZ_2M | SZ_1G)

/*
 * A mock PTE is an xarray value entry. From the low bits: the permissions
 * (enum iommu_test_mock_prot), whether this IO page begins a map_pages()
 * call, log2 of the page size it was mapped with, whether a device wrote to
 * the page since the bit was last cleared (kept only in the first IO page
 * of each mapped page, as hardware keeps it in the one PTE of the page),
 * then the physical IO page number.
 */
#define MOCK_PTE_PROT		GENMASK(2, 0)
#define MOCK_PTE_CALL_FIRST	BIT(3)
#define MOCK_PTE_PGSHIFT	GENMASK(9, 4)
#define MOCK_PTE_DIRTY		BIT(10)
#define MOCK_PTE_PFN_SHIFT	11
#define MOCK_PTE_PFN_MAX	(LONG_MAX >> MOCK_PTE_PFN_SHIFT)

static unsigned int mock_pte_prot(unsigned long pte)
{
	return FIELD_GET(MOCK_PTE_PROT, pte);
}

static size_t mock_pte_pgsize(unsigned long pte)
{
	return (size_t)1 << FIELD_GET(MOCK_PTE_PGSHIFT, pte);
}

static phys_addr_t mock_pte_phys(unsigned long pte)
{
	return (phys_addr_t)(pte >> MOCK_PTE_PFN_SHIFT) << MOCK_IO_PAGE_SHIFT;
}

/*
 * Serializes the attachment records of mock devices and what depends on
 * them; see the note at the top of the file.
 */
DEFINE_MUTEX(mock_attach_lock);

/* Last cookie handed to a mock paging or nested domain */
static atomic_t mock_domain_cookies = ATOMIC_INIT(0);

struct mock_domain {
	struct iommu_domain domain;
	/* IO page number -> mock PTE */
	struct xarray ptes;
	u32 cookie;
	bool nest_parent;
	/* Set by the dirty_ops; read with READ_ONCE() */
	bool dirty_tracking;
	/* Under mock_attach_lock */
	bool coherency_enforced;
	unsigned int nr_devs;		/* attached to this very domain */
	/*
	 * Of those and of its nested children's, the devices whose no-snoop
	 * DMA the IOMMU cannot block
	 */
	unsigned int nr_devs_no_enforce;
	/*
	 * Allocated for a MOCK_DEVICE_FINALIZE_AT_ATTACH device: no aperture
	 * and page sizes until a device attaches. Under mock_attach_lock.
	 */
	bool unfinished;
};

/* A nested domain: an IOTLB tag over the translation of its parent */
struct mock_nested {
	struct iommu_domain domain;
	struct mock_domain *parent;
	u32 cookie;
	/* Under mock_attach_lock */
	u32 iotlb;
	u32 nr_invalidations;
	unsigned int nr_devs;
};

/*
 * The I/O page fault queue of the mock IOMMU, and the lock of what mock
 * devices record of their page requests
 */
static struct iopf_queue *mock_iopf_queue;
static DEFINE_MUTEX(mock_iopf_lock);

static const struct iommu_ops mock_iommu_ops;
static const struct iommu_domain_ops mock_domain_ops;
static const struct iommu_domain_ops mock_nested_ops;
static struct iommu_domain mock_blocked_domain;
static struct iommu_domain mock_identity_domain;
static void mock_domain_finish(struct mock_domain *md, u32 flags);

static struct mock_domain *to_mock_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_domain, domain);
}

static struct mock_nested *to_mock_nested(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_nested, domain);
}

static u32 mock_domain_new_cookie(void)
{
	u32 cookie;

	do {
		cookie = atomic_inc_return(&mock_domain_cookies);
	} while (!cookie);
	return cookie;
}

/*
 * The mock paging domain that translates DMA through @domain: the domain
 * itself, the parent of a nested one, or NULL for the blocking and
 * identity domains and for domains of other drivers.
 */
static struct mock_domain *mock_translation_of(struct iommu_domain *domain)
{
	if (!domain)
		return NULL;
	if (domain->ops == &mock_domain_ops)
		return to_mock_domain(domain);
	if (domain->ops == &mock_nested_ops)
		return to_mock_nested(domain)->parent;
	return NULL;
}

/* Stores the IO pages of one page of @pgsize; all of them or none */
static int mock_domain_map_one(struct mock_domain *md, unsigned long iova,
			       phys_addr_t paddr, size_t pgsize,
			       unsigned long pte_bits, gfp_t gfp)
{
	unsigned long index = iova >> MOCK_IO_PAGE_SHIFT;
	unsigned long pfn = paddr >> MOCK_IO_PAGE_SHIFT;
	unsigned long count = pgsize >> MOCK_IO_PAGE_SHIFT;
	unsigned long i;
	int rc;

	for (i = 0; i != count; i++) {
		unsigned long pte = pte_bits | (pfn + i) << MOCK_PTE_PFN_SHIFT;

		if (i)
			pte &= ~MOCK_PTE_CALL_FIRST;
		rc = xa_insert(&md->ptes, index + i, xa_mk_value(pte), gfp);
		if (rc)
			goto err_erase;
	}
	return 0;

err_erase:
	while (i--)
		xa_erase(&md->ptes, index + i);
	/* iommufd never maps over a mapping of its own domain */
	WARN_ON_ONCE(rc == -EBUSY);
	return rc;
}

static int mock_domain_map_pages(struct iommu_domain *domain,
				 unsigned long iova, phys_addr_t paddr,
				 size_t pgsize, size_t pgcount, int prot,
				 gfp_t gfp, size_t *mapped)
{
	struct mock_domain *md = to_mock_domain(domain);
	unsigned long pte_bits = MOCK_PTE_CALL_FIRST;
	unsigned long last_iova;
	phys_addr_t last_paddr;
	size_t length;
	int rc;

	if (!is_power_of_2(pgsize) || !(pgsize & domain->pgsize_bitmap) ||
	    !IS_ALIGNED(iova | paddr, pgsize) || !pgcount)
		return -EINVAL;
	if (check_mul_overflow(pgsize, pgcount, &length) ||
	    check_add_overflow(iova, length - 1, &last_iova) ||
	    check_add_overflow(paddr, length - 1, &last_paddr) ||
	    last_paddr >> MOCK_IO_PAGE_SHIFT > MOCK_PTE_PFN_MAX)
		return -EINVAL;
	/* iommufd reserves everything outside the aperture of its domains */
	if (WARN_ON_ONCE(iova < domain->geometry.aperture_start ||
			 last_iova > domain->geometry.aperture_end))
		return -EINVAL;
	/* A real driver fails here when it runs out of page-table memory */
	if (iommufd_should_fail())
		return -ENOMEM;

	if (prot & IOMMU_READ)
		pte_bits |= FIELD_PREP(MOCK_PTE_PROT, MOCK_PROT_READ);
	if (prot & IOMMU_WRITE)
		pte_bits |= FIELD_PREP(MOCK_PTE_PROT, MOCK_PROT_WRITE);
	if (prot & IOMMU_CACHE)
		pte_bits |= FIELD_PREP(MOCK_PTE_PROT, MOCK_PROT_CACHE);
	pte_bits |= FIELD_PREP(MOCK_PTE_PGSHIFT, ilog2(pgsize));

	for (; pgcount; pgcount--) {
		rc = mock_domain_map_one(md, iova, paddr, pgsize, pte_bits, gfp);
		if (rc)
			return rc;
		pte_bits &= ~MOCK_PTE_CALL_FIRST;
		iova += pgsize;
		paddr += pgsize;
		*mapped += pgsize;
	}
	return 0;
}

static size_t mock_domain_unmap_pages(struct iommu_domain *domain,
				      unsigned long iova, size_t pgsize,
				      size_t pgcount,
				      struct iommu_iotlb_gather *gather)
{
	struct mock_domain *md = to_mock_domain(domain);
	unsigned long index = iova >> MOCK_IO_PAGE_SHIFT;
	size_t length = pgsize * pgcount;
	unsigned long count = length >> MOCK_IO_PAGE_SHIFT;
	void *head, *tail;
	unsigned long i;

	if (!IS_ALIGNED(iova | length, MOCK_IO_PAGE_SIZE) || !count)
		return 0;

	/*
	 * A page table cannot unmap part of a large page; real drivers drop
	 * the whole page, behind the caller's back. iommufd only ever unmaps
	 * whole mappings, so both ends must lie on page boundaries.
	 */
	head = xa_load(&md->ptes, index);
	tail = xa_load(&md->ptes, index + count - 1);
	if (WARN_ON_ONCE(!head || !tail))
		return 0;
	if (WARN_ON_ONCE(!IS_ALIGNED(iova, mock_pte_pgsize(xa_to_value(head))) ||
			 !IS_ALIGNED(iova + length,
				     mock_pte_pgsize(xa_to_value(tail)))))
		return 0;

	for (i = 0; i != count; i++)
		if (WARN_ON_ONCE(!xa_erase(&md->ptes, index + i)))
			break;
	return i << MOCK_IO_PAGE_SHIFT;
}

static phys_addr_t mock_domain_iova_to_phys(struct iommu_domain *domain,
					    dma_addr_t iova)
{
	struct mock_domain *md = to_mock_domain(domain);
	void *entry;

	entry = xa_load(&md->ptes, iova >> MOCK_IO_PAGE_SHIFT);
	if (!entry)
		return 0;
	return mock_pte_phys(xa_to_value(entry)) +
	       (iova & (MOCK_IO_PAGE_SIZE - 1));
}

/*
 * Whether @md may translate for @mdev: a domain that tracks dirty pages or
 * enforces coherency cannot take a device whose IOMMU cannot do the same.
 */
static bool mock_domain_accepts(struct mock_domain *md, struct mock_dev *mdev)
{
	lockdep_assert_held(&mock_attach_lock);

	if (md->domain.dirty_ops && !(mdev->flags & MOCK_DEVICE_DIRTY_TRACKING))
		return false;
	if (md->coherency_enforced &&
	    !(mdev->flags & MOCK_DEVICE_ENFORCE_COHERENCY))
		return false;
	return true;
}

/* Adds @delta (+1 or -1) devices like @mdev to the counts of @domain */
static void mock_domain_count_dev(struct iommu_domain *domain,
				  struct mock_dev *mdev, int delta)
{
	struct mock_domain *md = mock_translation_of(domain);

	lockdep_assert_held(&mock_attach_lock);

	if (!md)
		return;
	if (domain->ops == &mock_nested_ops)
		to_mock_nested(domain)->nr_devs += delta;
	else
		md->nr_devs += delta;
	if (!(mdev->flags & MOCK_DEVICE_ENFORCE_COHERENCY))
		md->nr_devs_no_enforce += delta;
}

/*
 * attach_dev of every mock domain, static ones included. The core calls it
 * under the group mutex; it must not fail for the blocking and identity
 * domains, and fails with -EINVAL, without a message, for a translating
 * domain that cannot take the device, so that iommufd can try another.
 */
static int mock_attach_dev(struct iommu_domain *domain, struct device *dev)
{
	struct mock_domain *md = mock_translation_of(domain);
	struct mock_dev *mdev = to_mock_dev(dev);

	mutex_lock(&mock_attach_lock);
	if (md && !mock_domain_accepts(md, mdev)) {
		mutex_unlock(&mock_attach_lock);
		return -EINVAL;
	}
	/* Like drivers that learn the device's IOMMU only now */
	if (md && md->unfinished) {
		mock_domain_finish(md, 0);
		md->unfinished = false;
	}
	if (mdev->domain)
		mock_domain_count_dev(mdev->domain, mdev, -1);
	mock_domain_count_dev(domain, mdev, 1);
	mdev->domain = domain;
	mutex_unlock(&mock_attach_lock);
	return 0;
}

/*
 * Blocking no-snoop DMA needs every translated device to support it; once
 * blocked it stays so, and mock_domain_accepts() keeps other devices out.
 */
static bool mock_domain_enforce_cache_coherency(struct iommu_domain *domain)
{
	struct mock_domain *md = to_mock_domain(domain);
	bool enforced;

	mutex_lock(&mock_attach_lock);
	if (!md->nr_devs_no_enforce)
		md->coherency_enforced = true;
	enforced = md->coherency_enforced;
	mutex_unlock(&mock_attach_lock);
	return enforced;
}

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_domain *md = to_mock_domain(domain);

	/* The core never frees a domain a device is attached to */
	mutex_lock(&mock_attach_lock);
	WARN_ON(md->nr_devs);
	mutex_unlock(&mock_attach_lock);
	/* iommufd unmaps everything before it lets a domain go */
	WARN_ON(!xa_empty(&md->ptes));
	xa_destroy(&md->ptes);
	kfree(md);
}

static const struct iommu_domain_ops mock_domain_ops = {
	.attach_dev = mock_attach_dev,
	.map_pages = mock_domain_map_pages,
	.unmap_pages = mock_domain_unmap_pages,
	.iova_to_phys = mock_domain_iova_to_phys,
	.enforce_cache_coherency = mock_domain_enforce_cache_coherency,
	.free = mock_domain_free,
};

static int mock_domain_set_dirty_tracking(struct iommu_domain *domain,
					  bool enable)
{
	WRITE_ONCE(to_mock_domain(domain)->dirty_tracking, enable);
	return 0;
}

/*
 * Reports the page mapped at @head_iova, @pgsize long, if it is dirty, and
 * clears its dirty bit unless @flags has IOMMU_DIRTY_NO_CLEAR.
 */
static void mock_domain_take_dirty(struct mock_domain *md,
				   unsigned long head_iova, size_t pgsize,
				   unsigned long flags,
				   struct iommu_dirty_bitmap *dirty)
{
	unsigned long index = head_iova >> MOCK_IO_PAGE_SHIFT;
	unsigned long pte;
	void *entry;

	entry = xa_load(&md->ptes, index);
	if (!entry)
		return;
	pte = xa_to_value(entry);
	if (!(pte & MOCK_PTE_DIRTY))
		return;
	/* Replacing a present entry allocates nothing */
	if (!(flags & IOMMU_DIRTY_NO_CLEAR))
		xa_cmpxchg(&md->ptes, index, entry,
			   xa_mk_value(pte & ~MOCK_PTE_DIRTY), GFP_NOWAIT);
	iommu_dirty_bitmap_record(dirty, head_iova, pgsize);
}

/*
 * Reports every dirty page that intersects [iova, iova + size), as a whole
 * page of the size it was mapped with, like a walk of hardware PTEs.
 */
static int mock_domain_read_and_clear_dirty(struct iommu_domain *domain,
					    unsigned long iova, size_t size,
					    unsigned long flags,
					    struct iommu_dirty_bitmap *dirty)
{
	struct mock_domain *md = to_mock_domain(domain);
	unsigned long index, last_index, last;
	void *entry;

	/* Hardware only sets dirty bits while tracking is on */
	if (!READ_ONCE(md->dirty_tracking) && dirty->bitmap)
		return -EINVAL;
	if (!size || check_add_overflow(iova, size - 1, &last))
		return -EINVAL;

	index = iova >> MOCK_IO_PAGE_SHIFT;
	last_index = last >> MOCK_IO_PAGE_SHIFT;
	while ((entry = xa_find(&md->ptes, &index, last_index, XA_PRESENT))) {
		size_t pgsize = mock_pte_pgsize(xa_to_value(entry));
		unsigned long head = ALIGN_DOWN(index << MOCK_IO_PAGE_SHIFT,
						pgsize);

		mock_domain_take_dirty(md, head, pgsize, flags, dirty);
		/* The next page, unless this one ends the range or the space */
		if (head + pgsize - 1 >= last)
			break;
		index = (head + pgsize) >> MOCK_IO_PAGE_SHIFT;
	}
	return 0;
}

static const struct iommu_dirty_ops mock_dirty_ops = {
	.set_dirty_tracking = mock_domain_set_dirty_tracking,
	.read_and_clear_dirty = mock_domain_read_and_clear_dirty,
};

/*
 * A device writes [iova, last] through @md: each IO page must be mapped
 * writable, and the page it belongs to turns dirty if @md tracks dirty
 * pages. Stops at the first IO page that would fault.
 */
static int mock_domain_dma_write(struct mock_domain *md, unsigned long iova,
				 unsigned long last)
{
	bool track = md->domain.dirty_ops && READ_ONCE(md->dirty_tracking);

	for (;;) {
		unsigned long pte, head, index;
		size_t pgsize;
		void *entry;

		entry = xa_load(&md->ptes, iova >> MOCK_IO_PAGE_SHIFT);
		if (!entry)
			return -EFAULT;
		pte = xa_to_value(entry);
		if (!(mock_pte_prot(pte) & MOCK_PROT_WRITE))
			return -EFAULT;
		pgsize = mock_pte_pgsize(pte);
		head = ALIGN_DOWN(iova, pgsize);

		index = head >> MOCK_IO_PAGE_SHIFT;
		entry = xa_load(&md->ptes, index);
		/* An unmap that wins the race takes the dirty bit with it */
		if (track && entry && !(xa_to_value(entry) & MOCK_PTE_DIRTY))
			xa_cmpxchg(&md->ptes, index, entry,
				   xa_mk_value(xa_to_value(entry) |
					       MOCK_PTE_DIRTY),
				   GFP_NOWAIT);

		if (head + pgsize - 1 >= last)
			return 0;
		iova = head + pgsize;
		cond_resched();
	}
}

/* A paging domain of the mock IOMMU in the variant @flags asks for */
static struct mock_domain *mock_domain_alloc(u32 flags)
{
	struct mock_domain *md;

	md = kzalloc(sizeof(*md), GFP_KERNEL_ACCOUNT);
	if (!md)
		return ERR_PTR(-ENOMEM);
	xa_init(&md->ptes);
	md->cookie = mock_domain_new_cookie();

	md->domain.type = IOMMU_DOMAIN_UNMANAGED;
	md->domain.owner = &mock_iommu_ops;
	md->domain.ops = &mock_domain_ops;
	mock_domain_finish(md, flags);
	return md;
}

/* Sets what a domain translates: its page sizes and its aperture */
static void mock_domain_finish(struct mock_domain *md, u32 flags)
{
	md->domain.pgsize_bitmap = MOCK_IO_PAGE_SIZE;
	if (!(flags & MOCK_DOMAIN_NO_HUGE_PAGES))
		md->domain.pgsize_bitmap |= MOCK_HUGE_PGSIZES;
	if (flags & MOCK_DOMAIN_SMALL_APERTURE) {
		md->domain.geometry.aperture_start = MOCK_SMALL_APERTURE_START;
		md->domain.geometry.aperture_end = MOCK_SMALL_APERTURE_LAST;
	} else {
		md->domain.geometry.aperture_start = 0;
		md->domain.geometry.aperture_end = MOCK_APERTURE_LAST;
	}
	md->domain.geometry.force_aperture = true;
}

static struct iommu_domain *mock_domain_alloc_paging(struct device *dev)
{
	struct mock_domain *md = mock_domain_alloc(0);

	return IS_ERR(md) ? ERR_CAST(md) : &md->domain;
}

static int mock_nested_invalidate(struct iommu_domain *domain,
				  struct iommu_user_data_array *array)
{
	struct mock_nested *mn = to_mock_nested(domain);
	struct iommu_hwpt_mock_invalidate inv;
	u32 done;
	int rc = 0;

	if (array->type != IOMMU_HWPT_INVALIDATE_DATA_SELFTEST) {
		array->entry_num = 0;
		return -EOPNOTSUPP;
	}

	for (done = 0; done != array->entry_num; done++) {
		rc = iommu_copy_struct_from_user_array(&inv, array,
						       IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
						       done, iotlb);
		if (rc)
			break;
		if (inv.flags) {
			rc = -EOPNOTSUPP;
			break;
		}
		if (!inv.iotlb) {
			rc = -EINVAL;
			break;
		}
		mutex_lock(&mock_attach_lock);
		mn->iotlb = inv.iotlb;
		mn->nr_invalidations++;
		mutex_unlock(&mock_attach_lock);
		cond_resched();
	}
	array->entry_num = done;
	return rc;
}

static void mock_nested_free(struct iommu_domain *domain)
{
	struct mock_nested *mn = to_mock_nested(domain);

	/* The core never frees a domain a device is attached to */
	mutex_lock(&mock_attach_lock);
	WARN_ON(mn->nr_devs);
	mutex_unlock(&mock_attach_lock);
	kfree(mn);
}

static const struct iommu_domain_ops mock_nested_ops = {
	.attach_dev = mock_attach_dev,
	.cache_invalidate_user = mock_nested_invalidate,
	.free = mock_nested_free,
};

/* A nested domain on the mock NEST_PARENT domain @parent */
static struct iommu_domain *
mock_nested_alloc(struct iommu_domain *parent, u32 flags,
		  const struct iommu_user_data *user_data)
{
	struct iommu_hwpt_mock_nested data;
	struct mock_nested *mn;
	int rc;

	/* The allocation flags describe paging domains only */
	if (flags)
		return ERR_PTR(-EOPNOTSUPP);
	if (parent->ops != &mock_domain_ops ||
	    !to_mock_domain(parent)->nest_parent || !user_data)
		return ERR_PTR(-EINVAL);
	if (user_data->type != IOMMU_HWPT_DATA_SELFTEST)
		return ERR_PTR(-EOPNOTSUPP);
	rc = iommu_copy_struct_from_user(&data, user_data,
					 IOMMU_HWPT_DATA_SELFTEST, iotlb);
	if (rc)
		return ERR_PTR(rc);
	if (data.__reserved)
		return ERR_PTR(-EOPNOTSUPP);

	mn = kzalloc(sizeof(*mn), GFP_KERNEL_ACCOUNT);
	if (!mn)
		return ERR_PTR(-ENOMEM);
	mn->parent = to_mock_domain(parent);
	mn->cookie = mock_domain_new_cookie();
	mn->iotlb = data.iotlb;
	mn->domain.type = IOMMU_DOMAIN_NESTED;
	mn->domain.owner = &mock_iommu_ops;
	mn->domain.ops = &mock_nested_ops;
	return &mn->domain;
}

/*
 * IOMMU_HWPT_ALLOC's driver half: a paging domain, with the capabilities
 * @flags asks for and the device has, or a nested domain on @parent.
 */
static struct iommu_domain *
mock_domain_alloc_user(struct device *dev, u32 flags,
		       struct iommu_domain *parent,
		       const struct iommu_user_data *user_data)
{
	const u32 paging_flags = IOMMU_HWPT_ALLOC_NEST_PARENT |
				 IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	struct mock_domain *md;

	if (parent)
		return mock_nested_alloc(parent, flags, user_data);

	if ((flags & ~paging_flags) || user_data)
		return ERR_PTR(-EOPNOTSUPP);
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    !(to_mock_dev(dev)->flags & MOCK_DEVICE_DIRTY_TRACKING))
		return ERR_PTR(-EOPNOTSUPP);

	md = mock_domain_alloc(0);
	if (IS_ERR(md))
		return ERR_CAST(md);
	if (to_mock_dev(dev)->flags & MOCK_DEVICE_FINALIZE_AT_ATTACH) {
		md->domain.pgsize_bitmap = 0;
		md->domain.geometry = (struct iommu_domain_geometry){};
		md->unfinished = true;
	}
	md->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
	if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
		md->domain.dirty_ops = &mock_dirty_ops;
	return &md->domain;
}

/* The blocking and identity domains: nothing to set up, attach only */
static const struct iommu_domain_ops mock_static_domain_ops = {
	.attach_dev = mock_attach_dev,
};

static struct iommu_domain mock_blocked_domain = {
	.type = IOMMU_DOMAIN_BLOCKED,
	.ops = &mock_static_domain_ops,
};

static struct iommu_domain mock_identity_domain = {
	.type = IOMMU_DOMAIN_IDENTITY,
	.ops = &mock_static_domain_ops,
};

/* The mock IOMMU, its bus notifier and the firmware node of its devices */
static struct {
	struct iommu_device iommu_dev;
	struct notifier_block bus_nb;
	struct fwnode_handle fwnode;
} mock_iommu;

/* Only devices whose fwspec names mock_iommu.fwnode get here */
static struct iommu_device *mock_probe_device(struct device *dev)
{
	if (!iommufd_test_is_mock_dev(dev))
		return ERR_PTR(-ENODEV);
	return &mock_iommu.iommu_dev;
}

/* Mock devices have no DMA-API user; they wait on the identity domain */
static int mock_def_domain_type(struct device *dev)
{
	return IOMMU_DOMAIN_IDENTITY;
}

static bool mock_capable(struct device *dev, enum iommu_cap cap)
{
	u32 flags = to_mock_dev(dev)->flags;

	switch (cap) {
	case IOMMU_CAP_CACHE_COHERENCY:
		return true;
	case IOMMU_CAP_ENFORCE_CACHE_COHERENCY:
		return flags & MOCK_DEVICE_ENFORCE_COHERENCY;
	case IOMMU_CAP_DIRTY_TRACKING:
		return flags & MOCK_DEVICE_DIRTY_TRACKING;
	default:
		return false;
	}
}

static void *mock_hw_info(struct device *dev, u32 *length, u32 *type)
{
	struct iommu_hw_info_mock *info;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return ERR_PTR(-ENOMEM);
	info->dev_flags = to_mock_dev(dev)->flags;
	info->signature = MOCK_HW_INFO_SIGNATURE;
	info->aperture_last = MOCK_APERTURE_LAST;
	*length = sizeof(*info);
	*type = IOMMU_HW_INFO_TYPE_SELFTEST;
	return info;
}

/*
 * The MSI window, unless the device was made without it. Like real drivers
 * the mock cannot report an allocation failure here: the region is then
 * missing.
 */
static void mock_get_resv_regions(struct device *dev, struct list_head *head)
{
	u32 flags = to_mock_dev(dev)->flags;
	struct iommu_resv_region *region;

	if (flags & MOCK_DEVICE_NO_RESV_REGION)
		return;
	if (flags & MOCK_DEVICE_SW_MSI)
		region = iommu_alloc_resv_region(MOCK_SW_MSI_START,
						 MOCK_SW_MSI_LAST -
						 MOCK_SW_MSI_START + 1,
						 IOMMU_WRITE | IOMMU_NOEXEC |
						 IOMMU_MMIO,
						 IOMMU_RESV_SW_MSI, GFP_KERNEL);
	else
		region = iommu_alloc_resv_region(MOCK_RESV_START,
						 MOCK_RESV_LAST -
						 MOCK_RESV_START + 1,
						 IOMMU_WRITE | IOMMU_MMIO,
						 IOMMU_RESV_MSI, GFP_KERNEL);
	if (region)
		list_add_tail(&region->list, head);
}

/*
 * A device joining a group is put in that group; the first device of a
 * group gets a new one.
 */
static struct iommu_group *mock_device_group(struct device *dev)
{
	struct mock_group *mgroup = to_mock_dev(dev)->mgroup;

	if (mgroup)
		return iommu_group_ref_get(mgroup->group);
	return generic_device_group(dev);
}

/*
 * The device takes the answer to a page request group; a test collects it
 * with MOCK_DEVICE_PAGE_RESPONSE. Called by the core with the device's
 * fault parameter lock held.
 */
static void mock_page_response(struct device *dev, struct iopf_fault *evt,
			       struct iommu_page_response *msg)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	unsigned int slot;

	mutex_lock(&mock_iopf_lock);
	if (mdev->nr_responses == MOCK_PAGE_RESPONSES) {
		mdev->response_first =
			(mdev->response_first + 1) % MOCK_PAGE_RESPONSES;
		mdev->nr_responses--;
		mdev->nr_lost++;
	}
	slot = (mdev->response_first + mdev->nr_responses) %
	       MOCK_PAGE_RESPONSES;
	mdev->responses[slot] = *msg;
	mdev->nr_responses++;
	mutex_unlock(&mock_iopf_lock);
}

/* Only I/O page faults, and only for devices that can issue page requests */
static int mock_dev_enable_feat(struct device *dev,
				enum iommu_dev_features feat)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	int rc;

	if (feat != IOMMU_DEV_FEAT_IOPF || !(mdev->flags & MOCK_DEVICE_IOPF))
		return -ENODEV;
	rc = iopf_queue_add_device(mock_iopf_queue, dev);
	if (rc)
		return rc;
	mutex_lock(&mock_iopf_lock);
	mdev->iopf_enabled = true;
	mutex_unlock(&mock_iopf_lock);
	return 0;
}

/* The core answers what it still holds for the device, then forgets it */
static int mock_dev_disable_feat(struct device *dev,
				 enum iommu_dev_features feat)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	bool enabled;

	if (feat != IOMMU_DEV_FEAT_IOPF)
		return -EINVAL;
	mutex_lock(&mock_iopf_lock);
	enabled = mdev->iopf_enabled;
	mdev->iopf_enabled = false;
	mutex_unlock(&mock_iopf_lock);
	if (!enabled)
		return -EINVAL;
	iopf_queue_remove_device(mock_iopf_queue, dev);
	return 0;
}

static const struct iommu_ops mock_iommu_ops = {
	.owner = THIS_MODULE,
	.pgsize_bitmap = MOCK_IO_PAGE_SIZE | MOCK_HUGE_PGSIZES,
	.capable = mock_capable,
	.hw_info = mock_hw_info,
	.domain_alloc_paging = mock_domain_alloc_paging,
	.domain_alloc_user = mock_domain_alloc_user,
	.probe_device = mock_probe_device,
	.device_group = mock_device_group,
	.get_resv_regions = mock_get_resv_regions,
	.page_response = mock_page_response,
	.dev_enable_feat = mock_dev_enable_feat,
	.dev_disable_feat = mock_dev_disable_feat,
	.def_domain_type = mock_def_domain_type,
	.default_domain_ops = &mock_domain_ops,
	.blocked_domain = &mock_blocked_domain,
	.identity_domain = &mock_identity_domain,
	/*
	 * A device leaving a group that stays on a paging domain must stop
	 * counting as one of that domain's devices before the domain is freed
	 */
	.release_domain = &mock_blocked_domain,
};

/* The firmware node of the mock IOMMU names it in the fwspec of @dev */
int mock_iommu_add_fwspec(struct device *dev)
{
	int rc;

	/* dev->iommu is only ever changed under the probe lock */
	mutex_lock(&iommu_probe_device_lock);
	rc = iommu_fwspec_init(dev, &mock_iommu.fwnode);
	mutex_unlock(&iommu_probe_device_lock);
	return rc;
}

/*
 * Frees the fwspec of a device that never reached the bus notifier, which
 * would otherwise have freed it on removal. Needs iommufd built in: the
 * probe lock and dev_iommu_free() are not exported.
 */
void mock_iommu_free_fwspec(struct device *dev)
{
	mutex_lock(&iommu_probe_device_lock);
	if (dev->iommu)
		dev_iommu_free(dev);
	mutex_unlock(&iommu_probe_device_lock);
}

/* A mock paging domain for IOMMU_TEST_OP_MOCK_DOMAIN, without a device */
struct iommu_domain *mock_domain_create(u32 flags)
{
	struct mock_domain *md = mock_domain_alloc(flags);

	return IS_ERR(md) ? ERR_CAST(md) : &md->domain;
}

/*
 * Walks [iova, iova + length) one IO page at a time next to the user range
 * at @uptr, holding a reference on one CPU page of that range at a time.
 */
static int mock_domain_check_map(struct mock_domain *md, unsigned long iova,
				 unsigned long length, unsigned long uptr,
				 unsigned int prot, struct mock_map_summary *sum)
{
	unsigned long offset, page_va = 0;
	struct page *page = NULL;
	int rc = 0;

	for (offset = 0; offset != length; offset += MOCK_IO_PAGE_SIZE) {
		unsigned long va = uptr + offset;
		unsigned long pte;
		void *entry;

		entry = xa_load(&md->ptes, (iova + offset) >> MOCK_IO_PAGE_SHIFT);
		if (!entry) {
			rc = -ENOENT;
			break;
		}
		pte = xa_to_value(entry);

		if (!page || (va & PAGE_MASK) != page_va) {
			if (page)
				put_page(page);
			page = NULL;
			cond_resched();
			page_va = va & PAGE_MASK;
			rc = get_user_pages_fast(page_va, 1, 0, &page);
			if (rc != 1) {
				page = NULL;
				rc = rc < 0 ? rc : -EFAULT;
				break;
			}
			rc = 0;
		}

		if (mock_pte_phys(pte) != page_to_phys(page) + offset_in_page(va) ||
		    (prot && mock_pte_prot(pte) != prot)) {
			rc = -EINVAL;
			break;
		}
		sum->max_pgsize = max_t(u64, sum->max_pgsize,
					mock_pte_pgsize(pte));
		if (!offset || (pte & MOCK_PTE_CALL_FIRST))
			sum->map_calls++;
	}
	if (page)
		put_page(page);
	return rc;
}

/*
 * Checks that @domain translates [iova, iova + length) to the memory of the
 * current process at @uptr, with the permissions @prot if not 0, and sums
 * up how it was mapped. -ENXIO if @domain translates nothing of ours.
 */
int mock_check_map(struct iommu_domain *domain, unsigned long iova,
		   unsigned long length, unsigned long uptr, unsigned int prot,
		   struct mock_map_summary *sum)
{
	struct mock_domain *md = mock_translation_of(domain);

	lockdep_assert_held(&mock_attach_lock);

	if (!md)
		return -ENXIO;
	return mock_domain_check_map(md, iova, length, uptr, prot, sum);
}

/* -EEXIST if @domain translates any IO page of [iova, last] */
int mock_check_unmapped(struct iommu_domain *domain, unsigned long iova,
			unsigned long last)
{
	struct mock_domain *md = mock_translation_of(domain);
	unsigned long index = iova >> MOCK_IO_PAGE_SHIFT;

	lockdep_assert_held(&mock_attach_lock);

	if (!md)
		return -ENXIO;
	if (xa_find(&md->ptes, &index, last >> MOCK_IO_PAGE_SHIFT, XA_PRESENT))
		return -EEXIST;
	return 0;
}

/*
 * A device on @domain writes [iova, last]: -EFAULT where a translating
 * domain would fault, and always on the blocking domain.
 */
int mock_dma_write(struct iommu_domain *domain, unsigned long iova,
		   unsigned long last)
{
	struct mock_domain *md = mock_translation_of(domain);

	lockdep_assert_held(&mock_attach_lock);

	if (md)
		return mock_domain_dma_write(md, iova, last);
	if (domain != &mock_identity_domain)
		return -EFAULT;
	return 0;
}

/* Describes @domain in the mock_device_domain member of @cmd */
void mock_describe_domain(struct iommu_domain *domain,
			  struct iommu_test_cmd *cmd)
{
	struct mock_domain *md = mock_translation_of(domain);
	u32 props = 0;

	lockdep_assert_held(&mock_attach_lock);

	memset(&cmd->mock_device_domain, 0, sizeof(cmd->mock_device_domain));
	if (domain == &mock_blocked_domain) {
		cmd->mock_device_domain.out_attached = MOCK_ATTACHED_BLOCKED;
		return;
	}
	if (domain == &mock_identity_domain) {
		cmd->mock_device_domain.out_attached = MOCK_ATTACHED_IDENTITY;
		return;
	}
	if (!md)
		return;

	if (md->nest_parent)
		props |= MOCK_PROP_NEST_PARENT;
	if (md->domain.dirty_ops)
		props |= MOCK_PROP_DIRTY_TRACKING;
	if (READ_ONCE(md->dirty_tracking))
		props |= MOCK_PROP_DIRTY_ENABLED;
	if (md->coherency_enforced)
		props |= MOCK_PROP_COHERENCY_ENFORCED;
	if (md->domain.iova_cookie)
		props |= MOCK_PROP_MSI_COOKIE;
	cmd->mock_device_domain.out_props = props;

	if (domain->ops == &mock_nested_ops) {
		struct mock_nested *mn = to_mock_nested(domain);

		cmd->mock_device_domain.out_attached = MOCK_ATTACHED_NESTED;
		cmd->mock_device_domain.out_cookie = mn->cookie;
		cmd->mock_device_domain.out_parent_cookie = md->cookie;
		cmd->mock_device_domain.out_iotlb = mn->iotlb;
		cmd->mock_device_domain.out_invalidations =
			mn->nr_invalidations;
	} else {
		cmd->mock_device_domain.out_attached = MOCK_ATTACHED_PAGING;
		cmd->mock_device_domain.out_cookie = md->cookie;
	}
}

/* Whether the core has turned on I/O page faults for @mdev */
bool mock_dev_iopf_enabled(struct mock_dev *mdev)
{
	bool enabled;

	mutex_lock(&mock_iopf_lock);
	enabled = mdev->iopf_enabled;
	mutex_unlock(&mock_iopf_lock);
	return enabled;
}

/*
 * Describes in the page_response member of @cmd the oldest page response
 * @mdev received, and forgets it.
 */
void mock_dev_take_response(struct mock_dev *mdev, struct iommu_test_cmd *cmd)
{
	struct iommu_page_response *msg;

	memset(&cmd->page_response, 0, sizeof(cmd->page_response));
	mutex_lock(&mock_iopf_lock);
	cmd->page_response.out_iopf_enabled = mdev->iopf_enabled;
	cmd->page_response.out_responses = mdev->nr_responses;
	cmd->page_response.out_lost = mdev->nr_lost;
	if (mdev->nr_responses) {
		msg = &mdev->responses[mdev->response_first];
		cmd->page_response.out_grpid = msg->grpid;
		cmd->page_response.out_pasid = msg->pasid;
		cmd->page_response.out_code = msg->code;
		mdev->response_first =
			(mdev->response_first + 1) % MOCK_PAGE_RESPONSES;
		mdev->nr_responses--;
	}
	mutex_unlock(&mock_iopf_lock);
}

/*
 * Registers the mock IOMMU for the devices of iommufd_mock_bus_type, which
 * must be registered already.
 */
int __init mock_iommu_init(void)
{
	int rc;

	mock_iopf_queue = iopf_queue_alloc("mock-iopfq");
	if (!mock_iopf_queue)
		return -ENOMEM;

	rc = iommu_device_sysfs_add(&mock_iommu.iommu_dev, NULL, NULL, "%s",
				    "iommufd_mock");
	if (rc)
		goto err_iopf;

	fwnode_init(&mock_iommu.fwnode, NULL);
	mock_iommu.iommu_dev.fwnode = &mock_iommu.fwnode;
	rc = iommu_device_register_bus(&mock_iommu.iommu_dev, &mock_iommu_ops,
				       &iommufd_mock_bus_type,
				       &mock_iommu.bus_nb);
	if (rc)
		goto err_sysfs;
	return 0;

err_sysfs:
	iommu_device_sysfs_remove(&mock_iommu.iommu_dev);
err_iopf:
	iopf_queue_free(mock_iopf_queue);
	return rc;
}

void mock_iommu_exit(void)
{
	iommu_device_unregister_bus(&mock_iommu.iommu_dev,
				    &iommufd_mock_bus_type, &mock_iommu.bus_nb);
	iommu_device_sysfs_remove(&mock_iommu.iommu_dev);
	iopf_queue_free(mock_iopf_queue);
}
