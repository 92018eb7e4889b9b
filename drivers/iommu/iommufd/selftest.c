// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test support for iommufd: a mock IOMMU, its devices, the test ioctl and
 * the subsystem's fault-injection point. Built only with
 * CONFIG_IOMMUFD_TEST.
 *
 * The mock IOMMU is a real IOMMU driver as far as the core and iommufd can
 * tell: an iommu_device registered on a bus of its own ("iommufd_mock"),
 * named by a firmware node of its own so that it never claims devices of
 * other buses. A mock paging domain keeps its translations in an xarray
 * indexed by IO page number; an IO page is half a CPU page, so iommufd has
 * to handle IOVAs that are not CPU page aligned. Each entry remembers the
 * physical IO page, the permissions, the page size it was mapped with,
 * whether it was the first IO page of a map_pages() call and, on the first
 * IO page of each mapped page, the dirty bit. The driver checks what real
 * page tables cannot survive (mapping over a mapping, unmapping what is not
 * mapped, splitting a large page, mapping outside the aperture) and warns,
 * because iommufd must never ask for it.
 *
 * Mock devices are what the driver translates for. A device gets a new
 * iommu_group at probe, or joins the group of earlier mock devices; mock
 * groups are known by a global number, so that the tests can put devices of
 * one group under different drivers and files and watch the core's DMA
 * ownership rules at work. A group sits on its default domain, the static
 * identity one, unless iommufd owns its DMA; then it is on the static
 * blocking domain or a HWPT's. The capabilities of a device (enforceable
 * coherency, dirty tracking) are those of its group, so that the core moves
 * a group between domains all or nothing; a reserved MSI window is per
 * device. The driver records which domain each device was last attached to;
 * that record, and the per-domain device counts it implies, decide what the
 * driver accepts: a domain that enforces coherency or tracks dirty pages
 * refuses devices that cannot follow, as hardware drivers do. A nested
 * domain has no first stage beyond an emulated IOTLB tag and translates
 * through its parent.
 *
 * A device made with MOCK_DEVICE_IOPF can issue page requests: the driver
 * turns on I/O page faults for it by adding it to the mock IOMMU's IOPF
 * queue, reports its page requests to the core as a PRI-capable IOMMU
 * would, and logs the page responses it gets so that tests can check that
 * each group is answered once. A page request is issued under the device
 * object's mutex, which also covers its attach changes: like a real driver
 * that drains its request queue before it changes a device's domain, no
 * request is in flight while the attachment changes.
 *
 * IOMMU_TEST_CMD lets the selftests create mock domains on an IOAS, add
 * mock devices bound to the file, used by a pretend DMA-API driver or left
 * without a driver, move bound ones between IOASes and HWPTs, compare
 * translations with the memory of the process, let a device write through
 * its translation, count pins and read the memory accounting. All test
 * objects share one object type with a kind: a mock domain holds a
 * long-term ref on its IOAS and is one of the IOAS's domains until it is
 * destroyed; a mock device object owns the device and its driver's hold on
 * it, and its destruction detaches and unbinds, or stops the DMA-API use,
 * then removes the device. A mock group lives as long as its mock devices
 * and keeps the iommu_group that long. An access object plays a VFIO mdev
 * driver: it owns an in-kernel access (access.c), keeps the ranges it
 * pinned through it and gives them back when the access's unmap callback
 * asks, unless told to ignore the request.
 *
 * Locking: mock_attach_lock protects each device's record of its domain,
 * the device counts and coherency state of mock domains and the IOTLB state
 * of nested ones; holding it keeps every domain reachable from a device
 * alive, because the core frees no domain a device is attached to. It is
 * taken under the core's group mutex (attach_dev) and under iommufd's
 * locks, and nothing but the xarray locks is taken under it, except that
 * the check operations hold it across GUP (mmap_lock). mock_groups_lock
 * protects the table of mock groups and their device counts; nothing is
 * taken under it but the xarray lock. The PTE xarray of a domain needs no
 * lock beyond its own; the map/unmap callbacks run under whatever locks
 * iommufd holds for its domains, and dirty bits change only by cmpxchg, so
 * a racing unmap is never undone. A mock device object's mutex serializes
 * its attach, replace, detach and page requests. mock_iopf_lock protects
 * the IOPF state and response log of every mock device; the core calls
 * page_response with its fault lock held, and nothing is taken under
 * mock_iopf_lock. An access object's mutex covers its pins
 * and its attachment and is held across calls into the access API; the
 * unmap callback takes it too, which is safe because the API calls it with
 * no iommufd lock held.
 */
#include <linux/bitfield.h>
#include <linux/cred.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/fault-inject.h>
#include <linux/fwnode.h>
#include <linux/idr.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/sched/user.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>

#include "iommu-priv.h"
#include "iommufd_private.h"
#include "iommufd_test.h"

static DECLARE_FAULT_ATTR(fail_iommufd);
static struct dentry *fail_iommufd_dir;

/*
 * Pages per pin batch of the data path when not 0; set by
 * IOMMU_TEST_OP_SET_PIN_BATCH. Read without a lock, with READ_ONCE().
 */
unsigned int iommufd_test_pin_batch;

/**
 * iommufd_should_fail() - the fault-injection point of iommufd
 *
 * Lets the tests fail a step that cannot fail through an allocation, such
 * as pinning user pages. It is driven by /sys/kernel/debug/fail_iommufd/
 * and, like failslab, by the calling task's /proc/self/task/<tid>/fail-nth.
 *
 * Context: Any context.
 * Return: true if the caller must fail the step as if it had run out of
 * resources.
 */
bool iommufd_should_fail(void)
{
	return should_fail(&fail_iommufd, 1);
}

#define MOCK_IO_PAGE_SHIFT	(PAGE_SHIFT - 1)
#define MOCK_IO_PAGE_SIZE	BIT(MOCK_IO_PAGE_SHIFT)
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
static DEFINE_MUTEX(mock_attach_lock);

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

/* The capabilities every device of a group has alike */
#define MOCK_GROUP_CAPS	(MOCK_DEVICE_ENFORCE_COHERENCY | \
			 MOCK_DEVICE_DIRTY_TRACKING)

/*
 * An iommu_group of mock devices, entered in mock_groups under its number
 * from the first device's probe until its last device is removed.
 */
struct mock_group {
	struct iommu_group *group;	/* a reference */
	u32 number;
	u32 caps;			/* MOCK_GROUP_CAPS of its devices */
	/* Devices in it or on their way in; under mock_groups_lock */
	unsigned int nr_devs;
};

/* Number -> struct mock_group; numbers start at 1 */
static DEFINE_XARRAY_ALLOC1(mock_groups);
/* Protects mock_groups against lookups racing with the removal of entries */
static DEFINE_MUTEX(mock_groups_lock);

/* A device of the mock bus */
struct mock_dev {
	struct device dev;
	u32 flags;		/* enum iommu_test_mock_device_flags */
	int index;		/* in mock_dev_ida; names the device */
	/*
	 * Its group; set before device_add() for a device joining a group,
	 * after it for the first device of a new one
	 */
	struct mock_group *mgroup;
	/* The domain last attached by the core; under mock_attach_lock */
	struct iommu_domain *domain;
	/* The members below are under mock_iopf_lock */
	bool iopf_enabled;
	/* Page responses received, oldest at @response_first */
	struct iommu_page_response responses[MOCK_PAGE_RESPONSES];
	unsigned int response_first;
	unsigned int nr_responses;
	unsigned int nr_lost;
};

static DEFINE_IDA(mock_dev_ida);

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

static struct mock_dev *to_mock_dev(struct device *dev)
{
	return container_of(dev, struct mock_dev, dev);
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

/* The mock IOMMU, its bus and the firmware node its devices point at */
static struct {
	struct iommu_device iommu_dev;
	struct notifier_block bus_nb;
	struct fwnode_handle fwnode;
} mock_iommu;

static const struct bus_type iommufd_mock_bus_type = {
	.name = "iommufd_mock",
};

/* Only devices whose fwspec names mock_iommu.fwnode get here */
static struct iommu_device *mock_probe_device(struct device *dev)
{
	if (dev->bus != &iommufd_mock_bus_type)
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

static void mock_dev_release(struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	ida_free(&mock_dev_ida, mdev->index);
	kfree(mdev);
}

/*
 * Frees the fwspec of a device that never reached the bus notifier, which
 * would otherwise have freed it on removal. Needs iommufd built in: the
 * probe lock and dev_iommu_free() are not exported.
 */
static void mock_dev_free_iommu(struct device *dev)
{
	mutex_lock(&iommu_probe_device_lock);
	if (dev->iommu)
		dev_iommu_free(dev);
	mutex_unlock(&iommu_probe_device_lock);
}

/*
 * Takes a device's place in the mock group @number, for a device with the
 * capabilities @caps that is about to join it.
 */
static struct mock_group *mock_group_join(u32 number, u32 caps)
{
	struct mock_group *mgroup;

	mutex_lock(&mock_groups_lock);
	mgroup = xa_load(&mock_groups, number);
	if (!mgroup)
		mgroup = ERR_PTR(-ENOENT);
	else if (mgroup->caps != caps)
		mgroup = ERR_PTR(-EINVAL);
	else
		mgroup->nr_devs++;
	mutex_unlock(&mock_groups_lock);
	return mgroup;
}

/* Gives up a device's place in @mgroup; the last one ends the group */
static void mock_group_leave(struct mock_group *mgroup)
{
	bool last;

	mutex_lock(&mock_groups_lock);
	last = !--mgroup->nr_devs;
	if (last)
		xa_erase(&mock_groups, mgroup->number);
	mutex_unlock(&mock_groups_lock);
	if (last) {
		iommu_group_put(mgroup->group);
		kfree(mgroup);
	}
}

/* Enters the new group @dev was probed into as a mock group */
static struct mock_group *mock_group_create(struct device *dev, u32 caps)
{
	struct mock_group *mgroup;
	int rc;

	mgroup = kzalloc(sizeof(*mgroup), GFP_KERNEL_ACCOUNT);
	if (!mgroup)
		return ERR_PTR(-ENOMEM);
	mgroup->group = iommu_group_get(dev);
	mgroup->caps = caps;
	mgroup->nr_devs = 1;

	mutex_lock(&mock_groups_lock);
	rc = xa_alloc(&mock_groups, &mgroup->number, mgroup, xa_limit_32b,
		      GFP_KERNEL_ACCOUNT);
	mutex_unlock(&mock_groups_lock);
	if (rc) {
		iommu_group_put(mgroup->group);
		kfree(mgroup);
		return ERR_PTR(rc);
	}
	return mgroup;
}

/*
 * Creates a device on the mock bus. Adding it makes the core probe it, via
 * the bus notifier, into the mock group @group_nr or, if that is 0, into a
 * new group on the identity domain.
 */
static struct mock_dev *mock_dev_create(u32 flags, u32 group_nr)
{
	struct mock_group *mgroup = NULL;
	struct mock_dev *mdev;
	int rc;

	if (group_nr) {
		mgroup = mock_group_join(group_nr, flags & MOCK_GROUP_CAPS);
		if (IS_ERR(mgroup))
			return ERR_CAST(mgroup);
	}

	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL_ACCOUNT);
	if (!mdev) {
		rc = -ENOMEM;
		goto err_leave;
	}
	rc = ida_alloc(&mock_dev_ida, GFP_KERNEL);
	if (rc < 0) {
		kfree(mdev);
		goto err_leave;
	}
	mdev->index = rc;
	mdev->flags = flags;
	mdev->mgroup = mgroup;

	/* From here on the release callback frees mdev and its index */
	device_initialize(&mdev->dev);
	mdev->dev.release = mock_dev_release;
	mdev->dev.bus = &iommufd_mock_bus_type;
	rc = dev_set_name(&mdev->dev, "iommufd_mock%d", mdev->index);
	if (rc)
		goto err_put;

	/* dev->iommu is only ever changed under the probe lock */
	mutex_lock(&iommu_probe_device_lock);
	rc = iommu_fwspec_init(&mdev->dev, &mock_iommu.fwnode);
	mutex_unlock(&iommu_probe_device_lock);
	if (rc)
		goto err_free_iommu;

	rc = device_add(&mdev->dev);
	if (rc)
		goto err_free_iommu;
	/*
	 * A failed probe does not fail device_add(); for a mock device only
	 * an allocation can make it fail: a group's current domain takes a
	 * new device because it took the others, whose capabilities are the
	 * same.
	 */
	if (!device_iommu_mapped(&mdev->dev)) {
		rc = -ENOMEM;
		goto err_del;
	}
	if (!mgroup) {
		mgroup = mock_group_create(&mdev->dev, flags & MOCK_GROUP_CAPS);
		if (IS_ERR(mgroup)) {
			rc = PTR_ERR(mgroup);
			mgroup = NULL;
			goto err_del;
		}
		mdev->mgroup = mgroup;
	}
	return mdev;

err_del:
	device_del(&mdev->dev);
	goto err_put;
err_free_iommu:
	mock_dev_free_iommu(&mdev->dev);
err_put:
	put_device(&mdev->dev);
err_leave:
	if (mgroup)
		mock_group_leave(mgroup);
	return ERR_PTR(rc);
}

/* Removes the device; the core takes it out of its group on the way */
static void mock_dev_destroy(struct mock_dev *mdev)
{
	struct mock_group *mgroup = mdev->mgroup;

	device_unregister(&mdev->dev);
	mock_group_leave(mgroup);
}

/**
 * iommufd_test_is_mock_dev() - is this a device of the mock IOMMU's bus?
 * @dev: any device
 *
 * A mock device has no MSIs to isolate, and it is bound to the very file
 * whose ioctl created it, so a binding must not hold a reference on that
 * file.
 *
 * Context: Any context.
 * Return: true for a mock device.
 */
bool iommufd_test_is_mock_dev(struct device *dev)
{
	return dev->bus == &iommufd_mock_bus_type;
}

enum selftest_obj_kind {
	SELFTEST_OBJ_MOCK_DOMAIN,
	SELFTEST_OBJ_MOCK_DEVICE,
	SELFTEST_OBJ_ACCESS,
};

/* A range an access object pinned with IOMMU_TEST_OP_ACCESS_PIN */
struct selftest_pin {
	unsigned long iova;
	unsigned long length;
	struct page **pages;
};

/* What the unmap callback of an access object has done so far */
struct selftest_unmap_stats {
	u32 calls;
	u32 unpins;
	unsigned long last_iova;
	unsigned long last_length;
};

/*
 * The object behind the IDs that IOMMU_TEST_OP_MOCK_DOMAIN,
 * IOMMU_TEST_OP_MOCK_DEVICE_ADD and IOMMU_TEST_OP_ACCESS_CREATE return.
 */
struct selftest_obj {
	struct iommufd_object obj;
	enum selftest_obj_kind kind;
	union {
		/* One of the domains of @ioas, on which it holds a ref */
		struct {
			struct iommufd_ioas *ioas;
			struct mock_domain *md;
		} domain;
		/*
		 * A mock device and its driver: a binding to this file
		 * (@idev), a DMA-API use of its group or nothing
		 */
		struct {
			struct mock_dev *mdev;
			enum iommu_test_mock_driver driver;
			struct iommufd_device *idev;
			/* Serializes attach changes; protects @attached */
			struct mutex lock;
			bool attached;
		} device;
		/*
		 * An in-kernel access to this file, driven as an mdev driver
		 * would drive it. @attach_lock serializes attach changes and
		 * is held across them; @lock is taken before any lock of the
		 * access and never held while calling into an attach change,
		 * since the unmap callback takes it.
		 */
		struct {
			struct iommufd_access *access;
			bool pin_pages;
			/* Unpin on IOAS_UNMAP only when leaving the IOAS */
			bool ignore_unmap;
			/* Pin again right after giving a pin back */
			bool repin;
			/* Protects @attached */
			struct mutex attach_lock;
			bool attached;
			/* Protects the members below */
			struct mutex lock;
			/* Handle -> struct selftest_pin */
			struct xarray pins;
			/* An attach change is asking for every pin back */
			bool leaving;
			struct selftest_unmap_stats unmap;
		} access;
	};
};

static void selftest_access_release_pins(struct selftest_obj *sobj);

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
					 &sobj->domain.md->domain);
		iommu_domain_free(&sobj->domain.md->domain);
		refcount_dec(&sobj->domain.ioas->obj.refs);
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
		selftest_access_release_pins(sobj);
		iommufd_access_destroy(sobj->access.access);
		xa_destroy(&sobj->access.pins);
		mutex_destroy(&sobj->access.lock);
		mutex_destroy(&sobj->access.attach_lock);
		break;
	}
}

static struct selftest_obj *selftest_obj_get(struct iommufd_ucmd *ucmd,
					     u32 id,
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
static struct selftest_obj *selftest_obj_lock_get(struct iommufd_ucmd *ucmd,
						  u32 id,
						  enum selftest_obj_kind kind)
{
	struct selftest_obj *sobj = selftest_obj_get(ucmd, id, kind);

	if (!IS_ERR(sobj))
		mutex_lock(selftest_obj_lock(sobj));
	return sobj;
}

static void selftest_obj_unlock_put(struct iommufd_ucmd *ucmd,
				    struct selftest_obj *sobj)
{
	mutex_unlock(selftest_obj_lock(sobj));
	iommufd_put_object(ucmd->ictx, &sobj->obj);
}

/*
 * Tells the user about the new @sobj, whose IDs are in the command, and
 * makes it visible; destroys it if the user cannot learn about it.
 */
static int selftest_obj_respond(struct iommufd_ucmd *ucmd,
				struct selftest_obj *sobj)
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
			target->domain = &sobj->domain.md->domain;
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
static int test_range_last(u64 start, u64 length, unsigned long *last)
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
	struct selftest_obj *sobj;
	struct mock_domain *md;
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

	md = mock_domain_alloc(cmd->mock_domain.flags);
	if (IS_ERR(md)) {
		rc = PTR_ERR(md);
		goto err_abort;
	}

	rc = iopt_table_add_domain(&ioas->iopt, &md->domain);
	if (rc)
		goto err_free_domain;

	/* From here on iommufd_selftest_destroy() undoes everything */
	refcount_inc(&ioas->obj.refs);
	sobj->domain.ioas = ioas;
	sobj->domain.md = md;

	cmd->mock_domain.out_mock_id = sobj->obj.id;
	rc = selftest_obj_respond(ucmd, sobj);
	goto out_put_ioas;

err_free_domain:
	iommu_domain_free(&md->domain);
err_abort:
	iommufd_object_abort(ucmd->ictx, &sobj->obj);
out_put_ioas:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

struct mock_map_summary {
	u64 max_pgsize;
	u64 map_calls;
};

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

static int iommufd_test_md_check_map(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	struct mock_map_summary sum = {};
	unsigned long last_iova, last_va;
	struct mock_target target;
	struct mock_domain *md;
	int rc;

	if (cmd->check_map.__reserved ||
	    cmd->check_map.prot & ~(MOCK_PROT_READ | MOCK_PROT_WRITE |
				     MOCK_PROT_CACHE))
		return -EOPNOTSUPP;
	rc = test_range_last(cmd->check_map.iova, cmd->check_map.length,
			     &last_iova);
	if (rc)
		return rc;
	rc = test_range_last(cmd->check_map.uptr, cmd->check_map.length,
			     &last_va);
	if (rc)
		return rc;
	if (!IS_ALIGNED(cmd->check_map.iova | cmd->check_map.length,
			MOCK_IO_PAGE_SIZE))
		return -EINVAL;

	rc = mock_target_get(ucmd, cmd->id, &target);
	if (rc)
		return rc;
	md = mock_translation_of(target.domain);
	if (md)
		rc = mock_domain_check_map(md, cmd->check_map.iova,
					   cmd->check_map.length,
					   cmd->check_map.uptr,
					   cmd->check_map.prot, &sum);
	else
		rc = -ENXIO;
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
	unsigned long index = cmd->check_unmapped.iova >> MOCK_IO_PAGE_SHIFT;
	struct mock_target target;
	struct mock_domain *md;
	unsigned long last;
	int rc;

	rc = test_range_last(cmd->check_unmapped.iova,
			     cmd->check_unmapped.length, &last);
	if (rc)
		return rc;

	rc = mock_target_get(ucmd, cmd->id, &target);
	if (rc)
		return rc;
	md = mock_translation_of(target.domain);
	if (!md)
		rc = -ENXIO;
	else if (xa_find(&md->ptes, &index, last >> MOCK_IO_PAGE_SHIFT,
			 XA_PRESENT))
		rc = -EEXIST;
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
	rc = test_range_last(cmd->check_pins.uptr, cmd->check_pins.length,
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

	rc = test_range_last(cmd->add_reserved.start, cmd->add_reserved.length,
			     &last);
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
	struct mock_dev *mdev;
	bool enabled;
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
	mdev = sobj->device.mdev;
	mutex_lock(&mock_iopf_lock);
	enabled = mdev->iopf_enabled;
	mutex_unlock(&mock_iopf_lock);
	/* Without PRI enabled the device cannot ask */
	rc = enabled ? iommu_report_device_fault(&mdev->dev, &evt) : -EINVAL;
	selftest_obj_unlock_put(ucmd, sobj);
	return rc;
}

static int iommufd_test_mock_page_response(struct iommufd_ucmd *ucmd,
					   struct iommu_test_cmd *cmd)
{
	struct iommu_page_response *msg;
	struct selftest_obj *sobj;
	struct mock_dev *mdev;

	sobj = selftest_obj_get(ucmd, cmd->id, SELFTEST_OBJ_MOCK_DEVICE);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	mdev = sobj->device.mdev;
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

/* Describes @domain in the mock_device_domain member of @cmd */
static void mock_describe_domain(struct iommu_domain *domain,
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
	struct mock_domain *md;
	unsigned long last;
	int rc;

	rc = test_range_last(cmd->dma_write.iova, cmd->dma_write.length,
			     &last);
	if (rc)
		return rc;

	rc = mock_target_get(ucmd, cmd->id, &target);
	if (rc)
		return rc;
	md = mock_translation_of(target.domain);
	if (md)
		rc = mock_domain_dma_write(md, cmd->dma_write.iova, last);
	else if (target.domain != &mock_identity_domain)
		rc = -EFAULT;
	mock_target_put(ucmd, &target);
	return rc;
}

/* ---- Access objects: a driver of the in-kernel access API ---- */

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
	rc = test_range_last(cmd->access_pin.iova, cmd->access_pin.length,
			     &last);
	if (rc)
		return rc;
	if (cmd->access_pin.length > MOCK_ACCESS_PIN_MAX)
		return -E2BIG;
	if (cmd->access_pin.uptr) {
		rc = test_range_last(cmd->access_pin.uptr,
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
	rc = test_range_last(cmd->access_rw.iova, cmd->access_rw.length,
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
	struct dentry *dir;
	int rc;

	dir = fault_create_debugfs_attr("fail_iommufd", NULL, &fail_iommufd);
	fail_iommufd_dir = IS_ERR(dir) ? NULL : dir;

	mock_iopf_queue = iopf_queue_alloc("mock-iopfq");
	if (!mock_iopf_queue) {
		rc = -ENOMEM;
		goto err_debugfs;
	}

	rc = bus_register(&iommufd_mock_bus_type);
	if (rc)
		goto err_iopf;

	rc = iommu_device_sysfs_add(&mock_iommu.iommu_dev, NULL, NULL, "%s",
				    "iommufd_mock");
	if (rc)
		goto err_bus;

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
err_bus:
	bus_unregister(&iommufd_mock_bus_type);
err_iopf:
	iopf_queue_free(mock_iopf_queue);
err_debugfs:
	debugfs_remove(fail_iommufd_dir);
	fail_iommufd_dir = NULL;
	return rc;
}

/**
 * iommufd_test_exit() - undo iommufd_test_init()
 *
 * Context: Process context, once no iommufd file is open.
 */
void iommufd_test_exit(void)
{
	iommu_device_unregister_bus(&mock_iommu.iommu_dev,
				    &iommufd_mock_bus_type, &mock_iommu.bus_nb);
	iommu_device_sysfs_remove(&mock_iommu.iommu_dev);
	bus_unregister(&iommufd_mock_bus_type);
	iopf_queue_free(mock_iopf_queue);
	debugfs_remove(fail_iommufd_dir);
	fail_iommufd_dir = NULL;
}
