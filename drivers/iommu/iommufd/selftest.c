// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test support for iommufd: a mock IOMMU, the test ioctl and the
 * subsystem's fault-injection point. Built only with CONFIG_IOMMUFD_TEST.
 *
 * The mock IOMMU is a real IOMMU driver as far as the core and iommufd can
 * tell: an iommu_device registered on a bus of its own ("iommufd_mock"),
 * named by a firmware node of its own so that it never claims devices of
 * other buses, whose paging domains implement iommu_domain_ops. A mock
 * domain keeps its translations in an xarray indexed by IO page number; an
 * IO page is half a CPU page, so iommufd has to handle IOVAs that are not
 * CPU page aligned. Each entry remembers the physical IO page, the
 * permissions, the page size it was mapped with and whether it was the first
 * IO page of a map_pages() call. The driver checks what real page tables
 * cannot survive (mapping over a mapping, unmapping what is not mapped,
 * splitting a large page, mapping outside the aperture) and warns, because
 * iommufd must never ask for it.
 *
 * IOMMU_TEST_CMD lets the selftests create mock domains on an IOAS, compare
 * their translations with the memory of the process, count pins and read
 * the memory accounting. A mock domain object holds a long-term ref on its
 * IOAS and the domain is attached to the IOAS until the object is destroyed.
 *
 * Locking: a mock domain has no lock of its own; each xarray operation takes
 * the xarray's spinlock. The map/unmap callbacks run under whatever locks
 * iommufd holds for its domains. The check operations hold only a short-term
 * user on their object while GUP takes mmap_lock.
 */
#include <linux/bitfield.h>
#include <linux/cred.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/fault-inject.h>
#include <linux/fwnode.h>
#include <linux/iommu.h>
#include <linux/mm.h>
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
 * call, log2 of the page size it was mapped with, then the physical IO page
 * number.
 */
#define MOCK_PTE_PROT		GENMASK(1, 0)
#define MOCK_PTE_CALL_FIRST	BIT(2)
#define MOCK_PTE_PGSHIFT	GENMASK(8, 3)
#define MOCK_PTE_PFN_SHIFT	9
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

struct mock_domain {
	struct iommu_domain domain;
	/* IO page number -> mock PTE */
	struct xarray ptes;
};

static struct mock_domain *to_mock_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_domain, domain);
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

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_domain *md = to_mock_domain(domain);

	/* iommufd unmaps everything before it lets a domain go */
	WARN_ON(!xa_empty(&md->ptes));
	xa_destroy(&md->ptes);
	kfree(md);
}

static const struct iommu_domain_ops mock_domain_ops = {
	.map_pages = mock_domain_map_pages,
	.unmap_pages = mock_domain_unmap_pages,
	.iova_to_phys = mock_domain_iova_to_phys,
	.free = mock_domain_free,
};

static const struct iommu_ops mock_iommu_ops;

/* A paging domain of the mock IOMMU in the variant @flags asks for */
static struct iommu_domain *mock_domain_alloc(u32 flags)
{
	struct mock_domain *md;

	md = kzalloc(sizeof(*md), GFP_KERNEL_ACCOUNT);
	if (!md)
		return ERR_PTR(-ENOMEM);
	xa_init(&md->ptes);

	md->domain.type = IOMMU_DOMAIN_UNMANAGED;
	md->domain.owner = &mock_iommu_ops;
	md->domain.ops = &mock_domain_ops;
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
	return &md->domain;
}

static struct iommu_domain *mock_domain_alloc_paging(struct device *dev)
{
	return mock_domain_alloc(0);
}

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
	return &mock_iommu.iommu_dev;
}

static const struct iommu_ops mock_iommu_ops = {
	.owner = THIS_MODULE,
	.pgsize_bitmap = MOCK_IO_PAGE_SIZE | MOCK_HUGE_PGSIZES,
	.domain_alloc_paging = mock_domain_alloc_paging,
	.probe_device = mock_probe_device,
	.device_group = generic_device_group,
	.default_domain_ops = &mock_domain_ops,
};

/*
 * The object behind the ID IOMMU_TEST_OP_MOCK_DOMAIN returns: a mock domain
 * that is one of the domains of @ioas, on which it holds a long-term ref.
 */
struct selftest_obj {
	struct iommufd_object obj;
	struct iommufd_ioas *ioas;
	struct iommu_domain *domain;
};

/**
 * iommufd_selftest_destroy() - destroy callback of IOMMUFD_OBJ_SELFTEST
 * @obj: the object, out of the table
 *
 * Takes the mock domain out of its IOAS, frees it and lets the IOAS go.
 *
 * Context: Process context, may sleep.
 */
void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct selftest_obj *sobj = container_of(obj, struct selftest_obj, obj);

	iopt_table_remove_domain(&sobj->ioas->iopt, sobj->domain);
	iommu_domain_free(sobj->domain);
	refcount_dec(&sobj->ioas->obj.refs);
}

static struct selftest_obj *selftest_obj_get(struct iommufd_ucmd *ucmd,
					     u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct selftest_obj, obj);
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

	domain = mock_domain_alloc(cmd->mock_domain.flags);
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto err_abort;
	}

	rc = iopt_table_add_domain(&ioas->iopt, domain);
	if (rc)
		goto err_free_domain;

	/* From here on iommufd_selftest_destroy() undoes everything */
	refcount_inc(&ioas->obj.refs);
	sobj->ioas = ioas;
	sobj->domain = domain;

	cmd->mock_domain.out_mock_id = sobj->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		iommufd_object_abort_and_destroy(ucmd->ictx, &sobj->obj);
		goto out_put_ioas;
	}
	iommufd_object_finalize(ucmd->ictx, &sobj->obj);
	goto out_put_ioas;

err_free_domain:
	iommu_domain_free(domain);
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
	struct selftest_obj *sobj;
	int rc;

	if (cmd->check_map.__reserved ||
	    cmd->check_map.prot & ~(MOCK_PROT_READ | MOCK_PROT_WRITE))
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

	sobj = selftest_obj_get(ucmd, cmd->id);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	rc = mock_domain_check_map(to_mock_domain(sobj->domain),
				   cmd->check_map.iova, cmd->check_map.length,
				   cmd->check_map.uptr, cmd->check_map.prot,
				   &sum);
	iommufd_put_object(ucmd->ictx, &sobj->obj);
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
	struct selftest_obj *sobj;
	unsigned long last;
	int rc;

	rc = test_range_last(cmd->check_unmapped.iova,
			     cmd->check_unmapped.length, &last);
	if (rc)
		return rc;

	sobj = selftest_obj_get(ucmd, cmd->id);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	if (xa_find(&to_mock_domain(sobj->domain)->ptes, &index,
		    last >> MOCK_IO_PAGE_SHIFT, XA_PRESENT))
		rc = -EEXIST;
	iommufd_put_object(ucmd->ictx, &sobj->obj);
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
	default:
		return -EOPNOTSUPP;
	}
}

/**
 * iommufd_test_is_mock_dev() - is this a device of the mock IOMMU's bus?
 * @dev: any device
 *
 * Mock devices have no MSIs, so the MSI isolation check of bind does not
 * apply to them.
 *
 * Return: true for a mock device.
 */
bool iommufd_test_is_mock_dev(struct device *dev)
{
	return dev->bus == &iommufd_mock_bus_type;
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

	rc = bus_register(&iommufd_mock_bus_type);
	if (rc)
		goto err_debugfs;

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
	debugfs_remove(fail_iommufd_dir);
	fail_iommufd_dir = NULL;
}
