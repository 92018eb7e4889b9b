// SPDX-License-Identifier: GPL-2.0-only
/*
 * io_pagetable: the IOVA space of one IOAS and its fan-out to domains.
 *
 * Three interval trees describe the space. The area tree holds the mappings
 * (struct iopt_area), each showing a byte range of a struct
 * iopt_pages. The reserved tree holds ranges no mapping may cover, each
 * tagged with its owner: what lies outside an attached domain's aperture, a
 * device's reserved regions, a test's reservation. A mapping must avoid
 * them and every other mapping. The allowed tree is the user's own list
 * (IOMMU_IOAS_ALLOW_IOVAS): as in 6.12 it only steers automatic IOVA
 * allocation (empty: the whole space), and nothing may be reserved inside
 * it.
 *
 * Every attached iommu_domain holds every area: adding an area maps it into
 * all domains (or, on failure, into none), adding a domain maps every area
 * into it, and removing either unmaps. While the IOAS has a domain each
 * area is a holder of its pages (pages.c), which keeps them pinned; an
 * IOAS without one pins nothing but what accesses pin. The IOAS's
 * alignment is the largest smallest-IO-page-size of its domains (PAGE_SIZE
 * with huge pages turned off), so any area fits every domain.
 *
 * Locking: domains_rwsem, then iova_rwsem. Changing the domain set takes
 * both for write. Adding or removing areas takes domains_rwsem for read
 * (the domain set stays put while areas are mapped into it) and iova_rwsem
 * for write. Reports take iova_rwsem for read. Pinning happens under these
 * locks, when an area meets its IOAS's first domain or arrives in an IOAS
 * that has one; unmapped areas are unpinned after the locks are dropped.
 * The pages mutex nests inside iova_rwsem.
 */
#include <linux/interval_tree.h>
#include <linux/iommu.h>
#include <linux/iova_bitmap.h>
#include <linux/lockdep.h>
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

/* A node of the allowed or reserved tree */
struct iopt_range_node {
	struct interval_tree_node node;
	void *owner;
};

static struct iopt_range_node *
iopt_range_node_alloc(unsigned long start, unsigned long last, void *owner)
{
	struct iopt_range_node *range;

	range = kzalloc(sizeof(*range), GFP_KERNEL_ACCOUNT);
	if (range) {
		range->node.start = start;
		range->node.last = last;
		range->owner = owner;
	}
	return range;
}

static struct iopt_area *area_of(struct interval_tree_node *node)
{
	return node ? container_of(node, struct iopt_area, node) : NULL;
}

static unsigned long area_length(struct iopt_area *area)
{
	return area->node.last - area->node.start + 1;
}

/* Makes the area a holder of its pages: they are pinned from now on */
static int iopt_area_pin(struct iopt_area *area)
{
	int rc;

	rc = iopt_pages_pin(area->pages, &area->pages_node);
	if (!rc)
		area->pinned = true;
	return rc;
}

static void iopt_area_unpin(struct iopt_area *area)
{
	if (!area->pinned)
		return;
	iopt_pages_unpin(area->pages, &area->pages_node);
	area->pinned = false;
}

static void iopt_area_free(struct iopt_area *area)
{
	iopt_area_unpin(area);
	iopt_pages_put(area->pages);
	kfree(area);
}

static bool iopt_tree_overlaps(struct rb_root_cached *tree,
			       unsigned long start, unsigned long last)
{
	return interval_tree_iter_first(tree, start, last);
}

void iopt_init_table(struct io_pagetable *iopt)
{
	init_rwsem(&iopt->domains_rwsem);
	xa_init_flags(&iopt->domains, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	init_rwsem(&iopt->iova_rwsem);
	xa_init_flags(&iopt->accesses, XA_FLAGS_ALLOC);
	iopt->area_itree = RB_ROOT_CACHED;
	iopt->allowed_itree = RB_ROOT_CACHED;
	iopt->reserved_itree = RB_ROOT_CACHED;
	/* With no domain attached the IOAS is software only: any IOVA goes */
	iopt->iova_alignment = 1;
}

static void iopt_free_range_tree(struct rb_root_cached *tree)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(tree, 0, ULONG_MAX))) {
		interval_tree_remove(node, tree);
		kfree(container_of(node, struct iopt_range_node, node));
	}
}

/* The IOAS is going away: nothing can reach it and no domain is left */
void iopt_destroy_table(struct io_pagetable *iopt)
{
	struct interval_tree_node *node;

	WARN_ON(!xa_empty(&iopt->domains));
	WARN_ON(!xa_empty(&iopt->accesses));
	xa_destroy(&iopt->accesses);
	while ((node = interval_tree_iter_first(&iopt->area_itree, 0,
						ULONG_MAX))) {
		struct iopt_area *area = area_of(node);

		interval_tree_remove(node, &iopt->area_itree);
		iopt_area_free(area);
	}
	iopt_free_range_tree(&iopt->allowed_itree);
	iopt_free_range_tree(&iopt->reserved_itree);
	xa_destroy(&iopt->domains);
}

/* Mapping an area into one domain, chunk by physically contiguous chunk */
struct area_fill {
	struct iopt_area *area;
	struct iommu_domain *domain;
	bool large_pages;
	unsigned long mapped;	/* bytes mapped so far, from the area start */
};

static int area_fill_chunks(const struct iopt_chunk *chunks, unsigned int n,
			    void *arg)
{
	struct area_fill *fill = arg;
	unsigned long iova = fill->area->node.start + fill->mapped;
	unsigned int i;
	int rc;

	for (i = 0; i != n; i++) {
		phys_addr_t phys = chunks[i].phys;
		unsigned long length = chunks[i].length;

		while (length) {
			unsigned long len = length;

			/* Without large pages no mapping crosses a CPU page */
			if (!fill->large_pages)
				len = min(len, PAGE_SIZE -
					       (iova & (PAGE_SIZE - 1)));
			rc = iommu_map(fill->domain, iova, phys, len,
				       fill->area->iommu_prot,
				       GFP_KERNEL_ACCOUNT);
			if (rc)
				return rc;
			fill->mapped += len;
			iova += len;
			phys += len;
			length -= len;
		}
	}
	/* Fragmented memory is a chunk per page: a GiB of it takes long */
	cond_resched();
	return 0;
}

static void iopt_area_unmap_domain(struct iopt_area *area,
				   struct iommu_domain *domain,
				   unsigned long length)
{
	size_t unmapped;

	if (!length)
		return;
	unmapped = iommu_unmap(domain, area->node.start, length);
	WARN_ON(unmapped != length);
}

/* Maps all of @area into @domain, or nothing of it */
static int iopt_area_map_domain(struct io_pagetable *iopt,
				struct iopt_area *area,
				struct iommu_domain *domain)
{
	struct area_fill fill = {
		.area = area,
		.domain = domain,
		.large_pages = !iopt->disable_large_pages,
	};
	int rc;

	rc = iopt_pages_walk_chunks(area->pages, area->pages_offset,
				    area_length(area), area_fill_chunks, &fill);
	if (rc)
		iopt_area_unmap_domain(area, domain, fill.mapped);
	return rc;
}

/* Unmaps @area from every domain that precedes @stop (all if NULL) */
static void iopt_area_unmap_domains(struct io_pagetable *iopt,
				    struct iopt_area *area,
				    struct iommu_domain *stop)
{
	struct iommu_domain *domain;
	unsigned long index;

	xa_for_each(&iopt->domains, index, domain) {
		if (domain == stop)
			return;
		iopt_area_unmap_domain(area, domain, area_length(area));
	}
}

/*
 * Pins a new area and maps it into every domain, if there are domains;
 * on failure nothing is mapped and the caller's freeing unpins.
 */
static int iopt_area_map_domains(struct io_pagetable *iopt,
				 struct iopt_area *area)
{
	struct iommu_domain *domain;
	unsigned long index;
	int rc;

	if (xa_empty(&iopt->domains))
		return 0;
	rc = iopt_area_pin(area);
	if (rc)
		return rc;
	xa_for_each(&iopt->domains, index, domain) {
		rc = iopt_area_map_domain(iopt, area, domain);
		if (rc) {
			iopt_area_unmap_domains(iopt, area, domain);
			return rc;
		}
	}
	return 0;
}

/*
 * Checks a user-chosen IOVA range, in the order 6.12 does: the length and
 * the IOVA must fit the alignment, the range must not wrap, touch a
 * reserved range or overlap a mapping. The allowed list is not consulted:
 * it only steers automatic allocation. Nothing ties the IOVA's offset in a
 * CPU page to the user VA's; only the page offset of @ref, the user address
 * of the first byte, must fit the alignment (0 leaves that to the caller).
 */
static int iopt_check_fixed_iova(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length, unsigned long ref)
{
	unsigned long align_mask = iopt->iova_alignment - 1;
	unsigned long last;

	lockdep_assert_held(&iopt->iova_rwsem);

	if ((length | iova) & align_mask)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (iopt_tree_overlaps(&iopt->reserved_itree, iova, last))
		return -EINVAL;
	if (iopt_tree_overlaps(&iopt->area_itree, iova, last))
		return -EEXIST;
	if (offset_in_page(ref) & align_mask)
		return -EINVAL;
	return 0;
}

/*
 * Automatic placement follows 6.12 to the byte, so that a VMM sees the same
 * IOVAs on either kernel. The search covers [PAGE_SIZE, ULONG_MAX -
 * PAGE_SIZE] (so never IOVA 0), or the allowed ranges clipped to it. The
 * alignment asked of the IOVA is the length rounded up to a power of two,
 * lowered to the lowest set bit of the user address and capped at the
 * largest folio THP can give (PAGE_SIZE without THP): a large, well aligned
 * buffer keeps its alignment in IOVA, so domains can use large IO pages.
 * The user address's offset in its CPU page is then ORed into the aligned
 * hole start, and the result must lie strictly below the hole's last byte.
 */
struct iova_search {
	unsigned long length;
	unsigned long align;		/* power of two */
	unsigned long page_offset;	/* of the user address */
};

/* On success *@start becomes the IOVA the search offers in [*start, last] */
static bool iova_search_fits(const struct iova_search *s,
			     unsigned long *start, unsigned long last)
{
	unsigned long iova;

	if (check_add_overflow(*start, s->align - 1, &iova))
		return false;
	iova = (iova & ~(s->align - 1)) | s->page_offset;
	if (iova >= last || last - iova < s->length - 1)
		return false;
	*start = iova;
	return true;
}

/*
 * Searches one window (an allowed range, or the whole searchable space).
 * The window itself must offer a place first; the holes between reserved
 * ranges and mappings are then tried from that place on.
 */
static bool iova_search_window(struct io_pagetable *iopt,
			       const struct iova_search *s,
			       unsigned long start, unsigned long last,
			       unsigned long *iova)
{
	struct interval_tree_span_iter free, unused;

	if (!iova_search_fits(s, &start, last))
		return false;
	interval_tree_for_each_span(&free, &iopt->reserved_itree, start, last) {
		if (!free.is_hole)
			continue;
		interval_tree_for_each_span(&unused, &iopt->area_itree,
					    free.start_hole, free.last_hole) {
			unsigned long place = unused.start_hole;

			if (unused.is_hole &&
			    iova_search_fits(s, &place, unused.last_hole)) {
				*iova = place;
				return true;
			}
		}
	}
	return false;
}

static unsigned long iova_search_max_align(void)
{
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	return HPAGE_PMD_SIZE;
#else
	return PAGE_SIZE;
#endif
}

/* Picks an IOVA for @length bytes whose first byte is at user address @ref */
static int iopt_alloc_iova(struct io_pagetable *iopt, unsigned long *iova,
			   unsigned long length, unsigned long ref)
{
	const unsigned long lowest = PAGE_SIZE, highest = ULONG_MAX - PAGE_SIZE;
	struct iova_search s = {
		.length = length,
		.page_offset = offset_in_page(ref),
	};
	struct interval_tree_span_iter allowed;

	lockdep_assert_held(&iopt->iova_rwsem);

	if (length & (iopt->iova_alignment - 1))
		return -EINVAL;
	/* Keeps roundup_pow_of_two() from overflowing */
	if (length >= ULONG_MAX / 2)
		return -EOVERFLOW;

	s.align = roundup_pow_of_two(length);
	if (ref)
		s.align = min(s.align, 1UL << __ffs(ref));
	s.align = min(s.align, iova_search_max_align());
	if (s.align < iopt->iova_alignment)
		return -EINVAL;

	if (RB_EMPTY_ROOT(&iopt->allowed_itree.rb_root))
		return iova_search_window(iopt, &s, lowest, highest, iova) ?
			       0 : -ENOSPC;
	interval_tree_for_each_span(&allowed, &iopt->allowed_itree, lowest,
				    highest) {
		if (!allowed.is_hole &&
		    iova_search_window(iopt, &s, allowed.start_used,
				       allowed.last_used, iova))
			return 0;
	}
	return -ENOSPC;
}

static void iopt_free_area_list(struct list_head *areas)
{
	struct iopt_area *area, *next;

	list_for_each_entry_safe(area, next, areas, list)
		iopt_area_free(area);
	INIT_LIST_HEAD(areas);
}

/**
 * iopt_insert_areas() - place built areas at one IOVA and map them
 * @iopt: the table
 * @areas: list of areas whose pages, pages_offset and iommu_prot are set;
 *         they are laid out back to back in list order. Their node.start
 *         holds their byte length on entry.
 * @iova: in: the IOVA if @fixed; out: where the areas start
 * @length: total bytes of all areas
 * @ref: user address of the first byte, see iopt_check_fixed_iova()
 * @fixed: use *@iova as given instead of choosing one
 *
 * On success the areas belong to the table and @areas is empty; on failure
 * nothing changed and the caller still owns the list.
 *
 * Context: Process context; takes domains_rwsem and iova_rwsem.
 * Return: 0 or a negative errno (EINVAL, EEXIST, EOVERFLOW, ENOSPC, or the
 * error of a domain's map).
 */
static int iopt_insert_areas(struct io_pagetable *iopt,
			     struct list_head *areas, unsigned long *iova,
			     unsigned long length, unsigned long ref,
			     bool fixed)
{
	struct iopt_area *area, *failed = NULL;
	unsigned long next;
	int rc;

	down_read(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	/* Each piece's page offset is checked below, after its permission */
	if (fixed)
		rc = iopt_check_fixed_iova(iopt, *iova, length, 0);
	else
		rc = iopt_alloc_iova(iopt, iova, length, ref);
	if (rc)
		goto out_unlock;

	next = *iova;
	list_for_each_entry(area, areas, list) {
		unsigned long len = area->node.start;

		area->node.start = next;
		area->node.last = next + len - 1;
		next += len;
	}
	/*
	 * A copy joins pieces of other mappings, which only had to fit their
	 * own IOAS's alignment: each piece must fit this one's. As in 6.12 a
	 * piece's memory must be writable for a writable copy (EPERM), and
	 * its offset in a CPU page must fit the alignment (EINVAL); pieces
	 * are checked in order, each for both. Its IOVA must fit too.
	 */
	list_for_each_entry(area, areas, list) {
		if ((area->iommu_prot & IOMMU_WRITE) &&
		    !area->pages->writable) {
			rc = -EPERM;
			goto out_restore;
		}
		if ((offset_in_page(area->pages_offset) | area->node.start) &
		    (iopt->iova_alignment - 1)) {
			rc = -EINVAL;
			goto out_restore;
		}
	}
	list_for_each_entry(area, areas, list) {
		rc = iopt_area_map_domains(iopt, area);
		if (rc) {
			failed = area;
			break;
		}
	}
	if (failed) {
		list_for_each_entry(area, areas, list) {
			if (area == failed)
				break;
			iopt_area_unmap_domains(iopt, area, NULL);
		}
		goto out_restore;
	}
	list_for_each_entry(area, areas, list)
		interval_tree_insert(&area->node, &iopt->area_itree);
	INIT_LIST_HEAD(areas);
	goto out_unlock;

out_restore:
	/* Give the caller back its byte lengths */
	list_for_each_entry(area, areas, list)
		area->node.start = area_length(area);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	return rc;
}

/*
 * Allocates an area showing @length bytes of @pages from @pages_offset on;
 * the area holds a reference on @pages.
 */
static struct iopt_area *iopt_area_alloc(struct iopt_pages *pages,
					 unsigned long pages_offset,
					 unsigned long length, int iommu_prot)
{
	struct iopt_area *area;

	area = kzalloc(sizeof(*area), GFP_KERNEL_ACCOUNT);
	if (!area)
		return NULL;
	area->pages_offset = pages_offset;
	area->iommu_prot = iommu_prot;
	area->access_pins = RB_ROOT_CACHED;
	/* Until iopt_insert_areas() places it, node.start is the length */
	area->node.start = length;
	area->pages = pages;
	area->pages_node.start = pages_offset >> PAGE_SHIFT;
	area->pages_node.last = (pages_offset + length - 1) >> PAGE_SHIFT;
	iopt_pages_get(pages);
	return area;
}

/**
 * iopt_map_user_pages() - map user memory at an IOVA
 * @iopt: the table
 * @iova: in: the IOVA if @fixed; out: where the mapping was placed
 * @uptr: user address of the first byte
 * @length: bytes to map, not 0
 * @iommu_prot: IOMMU_READ and/or IOMMU_WRITE, and IOMMU_CACHE
 * @fixed: map at *@iova rather than at an IOVA of the kernel's choice
 * @mm_mode: charge pins as VFIO type1 does (to the mm's locked_vm)
 *
 * The memory is pinned now only if the table has a domain to map it into;
 * otherwise when a domain arrives or an access pins it.
 *
 * Context: Process context; takes the table's locks, may pin current's
 * memory.
 * Return: 0 or a negative errno; on error nothing is pinned or mapped.
 */
int iopt_map_user_pages(struct io_pagetable *iopt, unsigned long *iova,
			unsigned long uptr, unsigned long length,
			int iommu_prot, bool fixed, bool mm_mode)
{
	return iopt_map_file_pages(iopt, iova, NULL, uptr, length, iommu_prot,
				   fixed, mm_mode);
}

/**
 * iopt_collect_file_pages() - the pages objects of every mapping
 * @iopt: the table, its iova_rwsem held for write
 * @set: receives each pages object, indexed by its address
 *
 * Context: Process context.
 * Return: 0, -EINVAL if a mapping is of user memory rather than a file, or
 * -ENOMEM.
 */
int iopt_collect_file_pages(struct io_pagetable *iopt, struct xarray *set)
{
	struct interval_tree_node *node;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	for (node = interval_tree_iter_first(&iopt->area_itree, 0, ULONG_MAX);
	     node; node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		struct iopt_pages *pages = area_of(node)->pages;
		int rc;

		if (!pages->file)
			return -EINVAL;
		rc = xa_err(xa_store(set, (unsigned long)pages, pages,
				     GFP_KERNEL));
		if (rc)
			return rc;
	}
	return 0;
}

/**
 * iopt_map_file_pages() - map a range of a memfd at an IOVA
 * @iopt: the table
 * @iova: in: the IOVA if @fixed; out: where the mapping was placed
 * @file: the memfd, or NULL to map user memory (iopt_map_user_pages())
 * @start: byte offset of the range in @file; without @file, its user
 *	address
 * @length: bytes to map, not 0
 * @iommu_prot: IOMMU_READ and/or IOMMU_WRITE, and IOMMU_CACHE
 * @fixed: map at *@iova rather than at an IOVA of the kernel's choice
 * @mm_mode: charge pins as VFIO type1 does (to the mm's locked_vm)
 *
 * As iopt_map_user_pages(), with the file offset in the place of the user
 * address: its page offset must fit the alignment and guides the choice
 * of an IOVA. The mapping holds @file.
 *
 * Context: Process context; takes the table's locks.
 * Return: as iopt_map_user_pages(); EINVAL too if the table has a domain
 * and the file is not a memfd or shorter than the range.
 */
int iopt_map_file_pages(struct io_pagetable *iopt, unsigned long *iova,
			struct file *file, unsigned long start,
			unsigned long length, int iommu_prot, bool fixed,
			bool mm_mode)
{
	struct iopt_pages *pages;
	struct iopt_area *area;
	LIST_HEAD(areas);
	int rc;

	pages = iopt_pages_alloc_file(file, start, length,
				      iommu_prot & IOMMU_WRITE, mm_mode);
	if (IS_ERR(pages))
		return PTR_ERR(pages);
	area = iopt_area_alloc(pages, offset_in_page(start), length,
			       iommu_prot);
	/* The area holds the pages from here on */
	iopt_pages_put(pages);
	if (!area)
		return -ENOMEM;
	list_add(&area->list, &areas);

	rc = iopt_insert_areas(iopt, &areas, iova, length, start, fixed);
	if (rc)
		iopt_free_area_list(&areas);
	return rc;
}

/*
 * Builds, in @areas, new areas that show the same pinned bytes as
 * [iova, iova + length) of @iopt. That range must be fully covered by
 * areas; each of them contributes one new area sharing its pages.
 */
static int iopt_clone_range(struct io_pagetable *iopt, unsigned long iova,
			    unsigned long length, int iommu_prot,
			    struct list_head *areas, unsigned long *ref)
{
	struct interval_tree_node *node;
	unsigned long last, next = iova;
	int rc = 0;

	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	down_read(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(&iopt->area_itree, iova, last);
	     node; node = interval_tree_iter_next(node, iova, last)) {
		struct iopt_area *src = area_of(node), *area;
		unsigned long start = max(iova, node->start);
		unsigned long end = min(last, node->last);

		if (node->start > next) {
			rc = -ENOENT;
			goto out_unlock;
		}
		if (start == iova)
			*ref = src->pages->uptr + src->pages_offset +
			       (start - node->start);
		area = iopt_area_alloc(src->pages,
				       src->pages_offset + (start - node->start),
				       end - start + 1, iommu_prot);
		if (!area) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		list_add_tail(&area->list, areas);
		next = end + 1;
		if (end == last)
			goto out_unlock;
	}
	rc = -ENOENT;
out_unlock:
	up_read(&iopt->iova_rwsem);
	if (rc)
		iopt_free_area_list(areas);
	return rc;
}

/**
 * iopt_copy_iova() - map what one IOVA range shows at another IOVA
 * @dst: the table to map into
 * @dst_iova: in: the IOVA if @fixed; out: where the copy was placed
 * @src: the table to copy from; may be @dst
 * @src_iova: start of the source range
 * @length: bytes, not 0
 * @iommu_prot: permissions of the copy, at most the source's
 * @fixed: map at *@dst_iova rather than at an IOVA of the kernel's choice
 *
 * The copy shares the source's pinned pages: nothing is pinned or charged
 * again, and the pages stay pinned while either mapping exists.
 *
 * Context: Process context; takes each table's locks in turn.
 * Return: 0 or a negative errno: ENOENT if the source range is not fully
 * mapped, EPERM if it is not writable but @iommu_prot asks for it, or the
 * errors of a fixed or automatic placement.
 */
int iopt_copy_iova(struct io_pagetable *dst, unsigned long *dst_iova,
		   struct io_pagetable *src, unsigned long src_iova,
		   unsigned long length, int iommu_prot, bool fixed)
{
	unsigned long ref = 0;
	LIST_HEAD(areas);
	int rc;

	rc = iopt_clone_range(src, src_iova, length, iommu_prot, &areas, &ref);
	if (rc)
		return rc;
	rc = iopt_insert_areas(dst, &areas, dst_iova, length, ref, fixed);
	if (rc)
		iopt_free_area_list(&areas);
	return rc;
}

/* Sets or clears prevent_access on every area of [start, last] */
static void iopt_prevent_access(struct io_pagetable *iopt, unsigned long start,
				unsigned long last, bool prevent)
{
	struct interval_tree_node *node;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	for (node = interval_tree_iter_first(&iopt->area_itree, start, last);
	     node; node = interval_tree_iter_next(node, start, last))
		area_of(node)->prevent_access = prevent;
}

/**
 * iopt_unmap_iova() - remove every mapping inside an IOVA range
 * @iopt: the table
 * @start: first IOVA of the range
 * @last: last IOVA of the range, inclusive
 * @unmapped: out: bytes unmapped
 *
 * Mappings are never split here (see iopt_cut_after()). As in 6.12, the
 * mappings are taken in IOVA order: the whole ones met before the first
 * mapping that crosses an end of the range are removed, and that one stops
 * the call with -ENOENT, so a failed call may still have unmapped something
 * (@unmapped says how much). A range with no mapping in it is not an
 * error here: @unmapped is 0 and the caller decides.
 * Accesses that borrowed pages of the mappings to remove are asked once to
 * give them back; meanwhile no pin or copy through those mappings can
 * start.
 *
 * Context: Process context; takes the table's locks, and calls the unmap
 * callbacks of accesses with none held.
 * Return: 0, -ENOENT if the range cuts a mapping, or -EBUSY if an access
 * kept its pages although asked (then nothing is unmapped).
 */
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long start,
		    unsigned long last, unsigned long *unmapped)
{
	unsigned long pinned_start, pinned_last, total = 0;
	struct interval_tree_node *node, *next, *cut;
	bool access_pinned, notified = false;
	LIST_HEAD(areas);
	int rc;

again:
	rc = 0;
	cut = NULL;
	access_pinned = false;
	down_read(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(&iopt->area_itree, start, last);
	     node; node = interval_tree_iter_next(node, start, last)) {
		if (node->start < start || node->last > last) {
			/* The whole mappings before this one still go */
			cut = node;
			break;
		}
		if (RB_EMPTY_ROOT(&area_of(node)->access_pins.rb_root))
			continue;
		/* The span of the pinned areas, which never wraps */
		if (!access_pinned)
			pinned_start = node->start;
		pinned_last = node->last;
		access_pinned = true;
	}
	if (access_pinned && notified) {
		/* An access kept its pins although asked: give up */
		iopt_prevent_access(iopt, start, last, false);
		rc = -EBUSY;
		goto out_unlock;
	}
	if (access_pinned) {
		/*
		 * No pin may start between asking and unmapping, or an
		 * access that pins again from its callback would make the
		 * unmap fail. Only the mappings to remove are fenced.
		 */
		iopt_prevent_access(iopt, start, pinned_last, true);
		up_write(&iopt->iova_rwsem);
		up_read(&iopt->domains_rwsem);
		iommufd_access_notify_unmap(iopt, pinned_start, pinned_last);
		notified = true;
		goto again;
	}
	for (node = interval_tree_iter_first(&iopt->area_itree, start, last);
	     node && node != cut; node = next) {
		struct iopt_area *area = area_of(node);

		next = interval_tree_iter_next(node, start, last);
		iopt_area_unmap_domains(iopt, area, NULL);
		interval_tree_remove(node, &iopt->area_itree);
		total += area_length(area);
		list_add(&area->list, &areas);
	}
	if (cut)
		rc = -ENOENT;
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	/* Unpinning can take long: do it with no lock held */
	iopt_free_area_list(&areas);
	*unmapped = total;
	return rc;
}

/**
 * iopt_allowed_add() - add a range to a list being built for ALLOW_IOVAS
 * @list: the list, an rb_root_cached initialized to RB_ROOT_CACHED
 * @start: first IOVA of the range
 * @last: last IOVA of the range, inclusive
 *
 * The list is private to the caller until iopt_set_allowed_iovas(); free it
 * with iopt_allowed_free() in any case.
 *
 * Context: Process context.
 * Return: 0, -EINVAL if @start is not below @last (6.12 refuses a one-byte
 * range too) or the range overlaps one already in @list, or -ENOMEM.
 */
int iopt_allowed_add(struct rb_root_cached *list, unsigned long start,
		     unsigned long last)
{
	struct iopt_range_node *allowed;

	if (start >= last || iopt_tree_overlaps(list, start, last))
		return -EINVAL;
	allowed = iopt_range_node_alloc(start, last, NULL);
	if (!allowed)
		return -ENOMEM;
	interval_tree_insert(&allowed->node, list);
	return 0;
}

/**
 * iopt_allowed_free() - free a list built with iopt_allowed_add()
 * @list: the list; empty afterwards
 *
 * Context: Process context.
 */
void iopt_allowed_free(struct rb_root_cached *list)
{
	iopt_free_range_tree(list);
}

/**
 * iopt_set_allowed_iovas() - replace the user's allowed ranges
 * @iopt: the table
 * @list: the new ranges, built with iopt_allowed_add(); an empty list
 *        removes the constraint. On success it holds the old ranges, on
 *        failure the new ones: the caller frees it either way.
 *
 * The allowed ranges only steer automatic IOVA allocation; fixed IOVAs and
 * existing mappings are not checked against them.
 *
 * Context: Process context; takes iova_rwsem for write.
 * Return: 0, or -EADDRINUSE if a range overlaps a reserved range; on error
 * the old ranges stay.
 */
int iopt_set_allowed_iovas(struct io_pagetable *iopt,
			   struct rb_root_cached *list)
{
	struct interval_tree_node *node;
	int rc = 0;

	down_write(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(list, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		if (iopt_tree_overlaps(&iopt->reserved_itree, node->start,
				       node->last)) {
			rc = -EADDRINUSE;
			break;
		}
	}
	if (!rc)
		swap(*list, iopt->allowed_itree);
	up_write(&iopt->iova_rwsem);
	return rc;
}

/* The alignment every area must have for the current domains and options */
static unsigned long iopt_required_alignment(struct io_pagetable *iopt,
					     struct iommu_domain *extra)
{
	unsigned long align = iopt->disable_large_pages ||
			      iopt->num_pinning_accesses ? PAGE_SIZE : 1;
	struct iommu_domain *domain;
	unsigned long index;

	lockdep_assert_held(&iopt->domains_rwsem);

	xa_for_each(&iopt->domains, index, domain)
		align = max(align, 1UL << __ffs(domain->pgsize_bitmap));
	if (extra)
		align = max(align, 1UL << __ffs(extra->pgsize_bitmap));
	return align;
}

/* Do all areas start and end on multiples of @align, in IOVA and memory? */
static bool iopt_areas_aligned(struct io_pagetable *iopt, unsigned long align)
{
	struct interval_tree_node *node;

	lockdep_assert_held(&iopt->iova_rwsem);

	/* The memory's offset in its CPU page counts too, as in 6.12 */
	for (node = interval_tree_iter_first(&iopt->area_itree, 0, ULONG_MAX);
	     node; node = interval_tree_iter_next(node, 0, ULONG_MAX))
		if ((node->start | (node->last + 1) |
		     area_of(node)->pages_offset) & (align - 1))
			return false;
	return true;
}

/**
 * iopt_set_large_pages() - the IOMMU_OPTION_HUGE_PAGES setting
 * @iopt: the table
 * @enable: false to map domains only in PAGE_SIZE steps
 *
 * Turning large pages off raises the alignment to PAGE_SIZE. It is refused
 * while domains hold mappings, which may already use large IO pages; turning
 * them back on only affects mappings made from then on.
 *
 * Context: Process context; takes the table's locks.
 * Return: 0, -EINVAL to turn them off while a domain holds mappings, or
 * -EADDRINUSE if an existing mapping is not PAGE_SIZE aligned.
 */
int iopt_set_large_pages(struct io_pagetable *iopt, bool enable)
{
	bool mapped;
	int rc = 0;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	mapped = !RB_EMPTY_ROOT(&iopt->area_itree.rb_root);
	if (!enable && !iopt->disable_large_pages) {
		if (mapped && !xa_empty(&iopt->domains))
			rc = -EINVAL;
		else if (!iopt_areas_aligned(iopt, PAGE_SIZE))
			rc = -EADDRINUSE;
	}
	if (!rc) {
		iopt->disable_large_pages = !enable;
		iopt->iova_alignment = iopt_required_alignment(iopt, NULL);
	}
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/*
 * Cuts @area in two after @iova: @area keeps [start, iova], a new area
 * takes the rest. Both show the same pages; a pinned area's holder span is
 * split the same way, so nothing is pinned or unpinned, and the domains
 * keep their mappings, which were made in CPU pages that both halves can
 * later unmap on their own.
 */
static int iopt_area_split_after(struct io_pagetable *iopt,
				 struct iopt_area *area, unsigned long iova)
{
	unsigned long start = iova + 1, offset;
	struct iopt_area *tail;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	/* 6.12 leaves an area alone at both of its ends */
	if (iova == area->node.start || iova == area->node.last)
		return 0;
	if (area->prevent_access)
		return -EBUSY;
	offset = area->pages_offset + (start - area->node.start);
	if ((start | offset) & (iopt->iova_alignment - 1) ||
	    offset_in_page(offset))
		return -EINVAL;
	/*
	 * The pins of accesses are kept per area, and a domain filled with
	 * large IO pages may have one that straddles the cut.
	 */
	if (!RB_EMPTY_ROOT(&area->access_pins.rb_root) ||
	    (!iopt->disable_large_pages && !xa_empty(&iopt->domains)))
		return -EINVAL;

	tail = iopt_area_alloc(area->pages, offset, area->node.last - iova,
			       area->iommu_prot);
	if (!tail)
		return -ENOMEM;
	interval_tree_remove(&area->node, &iopt->area_itree);
	tail->node.start = start;
	tail->node.last = area->node.last;
	area->node.last = iova;
	if (area->pinned) {
		iopt_pages_split_holder(area->pages, &area->pages_node,
					&tail->pages_node);
		tail->pinned = true;
	} else {
		area->pages_node.last = tail->pages_node.start - 1;
	}
	interval_tree_insert(&area->node, &iopt->area_itree);
	interval_tree_insert(&tail->node, &iopt->area_itree);
	return 0;
}

/**
 * iopt_cut_after() - end mappings at given IOVAs, as VFIO type1 unmap needs
 * @iopt: the table
 * @iovas: for each, the mapping that holds it is cut in two after it
 * @niovas: entries in @iovas
 *
 * Type1 may unmap part of a mapping; iopt_unmap_iova() never cuts one, so
 * the caller first cuts at the ends of its range. The cuts are made in
 * order and stay made if a later one fails. An IOVA that is the first or
 * last byte of its mapping, or in none, needs no cut.
 *
 * Context: Process context; takes iova_rwsem for write.
 * Return: 0, -EINVAL if a cut is not aligned, would split the pins of an
 * access or a mapping that may use large IO pages, -EBUSY if an unmap is
 * waiting for the accesses of that mapping, or -ENOMEM.
 */
int iopt_cut_after(struct io_pagetable *iopt, const unsigned long *iovas,
		   unsigned int niovas)
{
	struct interval_tree_node *node;
	unsigned int i;
	int rc = 0;

	down_write(&iopt->iova_rwsem);
	for (i = 0; i != niovas && !rc; i++) {
		node = interval_tree_iter_first(&iopt->area_itree, iovas[i],
						iovas[i]);
		if (node)
			rc = iopt_area_split_after(iopt, area_of(node),
						   iovas[i]);
	}
	up_write(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_domains_pgsizes() - the IO page sizes all domains of a table share
 * @iopt: the table
 *
 * Context: Process context; takes domains_rwsem for read.
 * Return: the AND of the domains' pgsize_bitmap, ULONG_MAX without domains.
 */
unsigned long iopt_domains_pgsizes(struct io_pagetable *iopt)
{
	unsigned long pgsizes = ULONG_MAX;
	struct iommu_domain *domain;
	unsigned long index;

	down_read(&iopt->domains_rwsem);
	xa_for_each(&iopt->domains, index, domain)
		pgsizes &= domain->pgsize_bitmap;
	up_read(&iopt->domains_rwsem);
	return pgsizes;
}

static int __iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
			       unsigned long last, void *owner)
{
	struct iopt_range_node *reserved;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	/* Reserving must never take IOVA from a mapping or the user's list */
	if (iopt_tree_overlaps(&iopt->area_itree, start, last) ||
	    iopt_tree_overlaps(&iopt->allowed_itree, start, last))
		return -EADDRINUSE;
	reserved = iopt_range_node_alloc(start, last, owner);
	if (!reserved)
		return -ENOMEM;
	interval_tree_insert(&reserved->node, &iopt->reserved_itree);
	return 0;
}

static void __iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner)
{
	struct interval_tree_node *node, *next;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	for (node = interval_tree_iter_first(&iopt->reserved_itree, 0,
					     ULONG_MAX);
	     node; node = next) {
		struct iopt_range_node *reserved =
			container_of(node, struct iopt_range_node, node);

		next = interval_tree_iter_next(node, 0, ULONG_MAX);
		if (reserved->owner != owner)
			continue;
		interval_tree_remove(node, &iopt->reserved_itree);
		kfree(reserved);
	}
}

/**
 * iopt_reserve_iova() - keep mappings out of an IOVA range
 * @iopt: the table
 * @start: first IOVA
 * @last: last IOVA, inclusive
 * @owner: tag for iopt_remove_reserved_iova()
 *
 * Context: Process context; takes iova_rwsem for write.
 * Return: 0, -EADDRINUSE if the range overlaps a mapping or an allowed
 * range, -ENOMEM.
 */
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last, void *owner)
{
	int rc;

	down_write(&iopt->iova_rwsem);
	rc = __iopt_reserve_iova(iopt, start, last, owner);
	up_write(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_remove_reserved_iova() - drop every reserved range of an owner
 * @iopt: the table
 * @owner: the tag given to iopt_reserve_iova()
 *
 * Context: Process context; takes iova_rwsem for write.
 */
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner)
{
	down_write(&iopt->iova_rwsem);
	__iopt_remove_reserved_iova(iopt, owner);
	up_write(&iopt->iova_rwsem);
}

/* Reserves what lies outside the domain's aperture, owned by the domain */
static int iopt_reserve_aperture(struct io_pagetable *iopt,
				 struct iommu_domain *domain)
{
	struct iommu_domain_geometry *geo = &domain->geometry;
	int rc;

	if (!geo->force_aperture)
		return 0;
	if (geo->aperture_start > geo->aperture_end)
		return -EINVAL;
	if (geo->aperture_start) {
		rc = __iopt_reserve_iova(iopt, 0, geo->aperture_start - 1,
					 domain);
		if (rc)
			return rc;
	}
	if (geo->aperture_end != ULONG_MAX) {
		rc = __iopt_reserve_iova(iopt, geo->aperture_end + 1,
					 ULONG_MAX, domain);
		if (rc) {
			__iopt_remove_reserved_iova(iopt, domain);
			return rc;
		}
	}
	return 0;
}

/**
 * iopt_table_add_domain() - make a domain mirror the table
 * @iopt: the table
 * @domain: a paging domain not yet in any table
 *
 * Reserves what lies outside the domain's aperture, raises the alignment
 * to its smallest IO page size and maps every area into it.
 *
 * Context: Process context; takes the table's locks for write.
 * Return: 0, or -EADDRINUSE if an area or an allowed range lies outside the
 * aperture or an area does not fit the domain's page size, -EINVAL for a
 * domain whose smallest IO page is larger than PAGE_SIZE, or the error of a
 * map. On error nothing changed.
 */
int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain)
{
	struct interval_tree_node *node, *failed = NULL;
	bool first_domain;
	unsigned long align;
	u32 index;
	int rc;

	if (!domain->pgsize_bitmap ||
	    (1UL << __ffs(domain->pgsize_bitmap)) > PAGE_SIZE)
		return -EINVAL;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);

	align = iopt_required_alignment(iopt, domain);
	if (!iopt_areas_aligned(iopt, align)) {
		rc = -EADDRINUSE;
		goto out_unlock;
	}
	rc = iopt_reserve_aperture(iopt, domain);
	if (rc)
		goto out_unlock;

	/* The first domain is what makes the mapped memory get pinned */
	first_domain = xa_empty(&iopt->domains);
	for (node = interval_tree_iter_first(&iopt->area_itree, 0, ULONG_MAX);
	     node; node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		struct iopt_area *area = area_of(node);

		rc = first_domain ? iopt_area_pin(area) : 0;
		if (!rc) {
			rc = iopt_area_map_domain(iopt, area, domain);
			if (rc && first_domain)
				iopt_area_unpin(area);
		}
		if (rc) {
			failed = node;
			goto err_unmap;
		}
	}
	rc = xa_alloc(&iopt->domains, &index, domain, xa_limit_32b,
		      GFP_KERNEL_ACCOUNT);
	if (rc)
		goto err_unmap;
	iopt->iova_alignment = align;
	goto out_unlock;

err_unmap:
	for (node = interval_tree_iter_first(&iopt->area_itree, 0, ULONG_MAX);
	     node != failed; node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		iopt_area_unmap_domain(area_of(node), domain,
				       area_length(area_of(node)));
		if (first_domain)
			iopt_area_unpin(area_of(node));
	}
	__iopt_remove_reserved_iova(iopt, domain);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/**
 * iopt_table_remove_domain() - stop mirroring the table into a domain
 * @iopt: the table
 * @domain: a domain added with iopt_table_add_domain()
 *
 * Unmaps every area from the domain and lifts its aperture and alignment
 * limits, which may widen the usable IOVA ranges.
 *
 * Context: Process context; takes the table's locks for write.
 */
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain)
{
	struct interval_tree_node *node;
	struct iommu_domain *entry;
	unsigned long index;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	xa_for_each(&iopt->domains, index, entry) {
		if (entry == domain) {
			xa_erase(&iopt->domains, index);
			break;
		}
	}
	if (WARN_ON(entry != domain))
		goto out_unlock;

	/* With the last domain gone nothing needs the memory pinned */
	for (node = interval_tree_iter_first(&iopt->area_itree, 0, ULONG_MAX);
	     node; node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		iopt_area_unmap_domain(area_of(node), domain,
				       area_length(area_of(node)));
		if (xa_empty(&iopt->domains))
			iopt_area_unpin(area_of(node));
	}
	__iopt_remove_reserved_iova(iopt, domain);
	iopt->iova_alignment = iopt_required_alignment(iopt, NULL);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/**
 * iopt_add_access() - let an in-kernel access use the table
 * @iopt: the table
 * @access: the access; gets notified before mappings it may have pinned go
 * @pins_pages: the access pins pages, which needs PAGE_SIZE alignment
 * @index: out: the access's slot in this table, for iopt_remove_access()
 *
 * Context: Process context; takes the table's locks.
 * Return: 0, -EADDRINUSE if @pins_pages and a mapping is not PAGE_SIZE
 * aligned, or -ENOMEM.
 */
int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access,
		    bool pins_pages, u32 *index)
{
	int rc;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	if (pins_pages && !iopt_areas_aligned(iopt, PAGE_SIZE)) {
		rc = -EADDRINUSE;
		goto out_unlock;
	}
	rc = xa_alloc(&iopt->accesses, index, access, xa_limit_32b,
		      GFP_KERNEL_ACCOUNT);
	if (rc)
		goto out_unlock;
	if (pins_pages) {
		iopt->num_pinning_accesses++;
		iopt->iova_alignment = iopt_required_alignment(iopt, NULL);
	}
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/**
 * iopt_remove_access() - undo iopt_add_access()
 * @iopt: the table
 * @pins_pages: as given to iopt_add_access()
 * @index: the slot iopt_add_access() returned; an access that moves to
 *         another table holds a slot in each for a while, so the slot and
 *         not the access names the entry
 *
 * The access must hold no pages of the table any more.
 *
 * Context: Process context; takes the table's locks.
 */
void iopt_remove_access(struct io_pagetable *iopt, bool pins_pages, u32 index)
{
	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	xa_erase(&iopt->accesses, index);
	if (pins_pages) {
		iopt->num_pinning_accesses--;
		iopt->iova_alignment = iopt_required_alignment(iopt, NULL);
	}
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/*
 * Calls @fn for each area piece of [iova, last], which must be covered by
 * areas without a hole, with the piece's first IOVA and length.
 */
static int iopt_walk_mapped(struct io_pagetable *iopt, unsigned long iova,
			    unsigned long last,
			    int (*fn)(struct iopt_area *area,
				      unsigned long iova, unsigned long len,
				      void *arg),
			    void *arg)
{
	struct interval_tree_node *node;
	unsigned long next = iova;
	int rc;

	lockdep_assert_held(&iopt->iova_rwsem);

	for (node = interval_tree_iter_first(&iopt->area_itree, iova, last);
	     node; node = interval_tree_iter_next(node, iova, last)) {
		unsigned long end = min(last, node->last);

		if (node->start > next)
			return -ENOENT;
		rc = fn(area_of(node), next, end - next + 1, arg);
		if (rc)
			return rc;
		if (end == last)
			return 0;
		next = end + 1;
	}
	return -ENOENT;
}

/* Byte offset of @iova from the page-aligned start of the area's pages */
static unsigned long area_pages_byte(struct iopt_area *area, unsigned long iova)
{
	return area->pages_offset + (iova - area->node.start);
}

/*
 * What an access pinned of one area: a holder of the area's pages, and the
 * same span in the area's list of access pins.
 */
struct iopt_access_pin {
	struct interval_tree_node holder;	/* in pages->holders */
	struct interval_tree_node node;		/* in area->access_pins */
};

struct access_pin {
	struct page **out;
	bool write;
	unsigned long done;	/* pages filled in so far */
};

static int access_pin_piece(struct iopt_area *area, unsigned long iova,
			    unsigned long len, void *arg)
{
	struct access_pin *pin = arg;
	unsigned long first = area_pages_byte(area, iova) >> PAGE_SHIFT;
	unsigned long n = len >> PAGE_SHIFT;
	struct iopt_access_pin *rec;
	int rc;

	if (area->prevent_access)
		return -EINVAL;
	if (pin->write && !(area->iommu_prot & IOMMU_WRITE))
		return -EPERM;
	rec = kzalloc(sizeof(*rec), GFP_KERNEL_ACCOUNT);
	if (!rec)
		return -ENOMEM;
	rec->holder.start = first;
	rec->holder.last = first + n - 1;
	rec->node = rec->holder;
	rc = iopt_pages_pin(area->pages, &rec->holder);
	if (rc) {
		kfree(rec);
		return rc;
	}
	iopt_pages_fill(area->pages, first, n, pin->out + pin->done);
	mutex_lock(&area->pages->mutex);
	interval_tree_insert(&rec->node, &area->access_pins);
	mutex_unlock(&area->pages->mutex);
	pin->done += n;
	return 0;
}

static int access_unpin_piece(struct iopt_area *area, unsigned long iova,
			      unsigned long len, void *arg)
{
	unsigned long first = area_pages_byte(area, iova) >> PAGE_SHIFT;
	unsigned long last = first + (len >> PAGE_SHIFT) - 1;
	struct iopt_access_pin *rec = NULL;
	struct interval_tree_node *node;

	mutex_lock(&area->pages->mutex);
	for (node = interval_tree_iter_first(&area->access_pins, first, last);
	     node; node = interval_tree_iter_next(node, first, last)) {
		if (node->start == first && node->last == last) {
			rec = container_of(node, struct iopt_access_pin, node);
			interval_tree_remove(node, &area->access_pins);
			break;
		}
	}
	mutex_unlock(&area->pages->mutex);
	/* Unpinning what was not pinned is a bug of the access's driver */
	if (WARN_ON_ONCE(!rec))
		return 0;
	iopt_pages_unpin(area->pages, &rec->holder);
	kfree(rec);
	return 0;
}

/**
 * iopt_access_pin_pages() - hand out the pages behind an IOVA range
 * @iopt: the table
 * @iova: PAGE_SIZE aligned start
 * @length: PAGE_SIZE aligned length, not 0
 * @out: one struct page pointer per page of the range
 * @write: the caller will write to the pages
 *
 * The pages stay valid until iopt_access_unpin_pages() of the same range;
 * unmapping them first asks the access to let go.
 *
 * Context: Process context; takes iova_rwsem for read.
 * Return: 0, -ENOENT if part of the range is not mapped, -EPERM if @write
 * and a mapping is read-only, -EINVAL for a misaligned range or while an
 * unmap of part of it is asking accesses to let go.
 */
int iopt_access_pin_pages(struct io_pagetable *iopt, unsigned long iova,
			  unsigned long length, struct page **out, bool write)
{
	struct access_pin pin = { .out = out, .write = write };
	unsigned long last;
	int rc;

	if (!length || (iova | length) & (PAGE_SIZE - 1))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	down_read(&iopt->iova_rwsem);
	rc = iopt_walk_mapped(iopt, iova, last, access_pin_piece, &pin);
	if (rc && pin.done)
		iopt_walk_mapped(iopt, iova, iova + (pin.done << PAGE_SHIFT) - 1,
				 access_unpin_piece, NULL);
	up_read(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_access_unpin_pages() - release pages from iopt_access_pin_pages()
 * @iopt: the table
 * @iova: start of a range given to iopt_access_pin_pages()
 * @length: its length
 *
 * Context: Process context; takes iova_rwsem for read.
 */
void iopt_access_unpin_pages(struct io_pagetable *iopt, unsigned long iova,
			     unsigned long length)
{
	down_read(&iopt->iova_rwsem);
	WARN_ON(iopt_walk_mapped(iopt, iova, iova + length - 1,
				 access_unpin_piece, NULL));
	up_read(&iopt->iova_rwsem);
}

struct access_rw {
	void *data;
	bool write;
};

/* Refuses areas an unmap is taking away, and read-only ones for a write */
static int access_check_area(struct iopt_area *area, unsigned long iova,
			     unsigned long len, void *arg)
{
	bool write = *(bool *)arg;

	if (area->prevent_access)
		return -EINVAL;
	return !write || area->iommu_prot & IOMMU_WRITE ? 0 : -EPERM;
}

static int access_rw_piece(struct iopt_area *area, unsigned long iova,
			   unsigned long len, void *arg)
{
	struct access_rw *rw = arg;
	int rc;

	rc = iopt_pages_rw(area->pages, area_pages_byte(area, iova), rw->data,
			   len, rw->write);
	rw->data += len;
	return rc;
}

/**
 * iopt_access_rw() - copy between a kernel buffer and mapped memory
 * @iopt: the table
 * @iova: first IOVA
 * @data: the kernel buffer
 * @len: bytes to copy, not 0
 * @write: copy @data into the mapped memory rather than out of it
 *
 * Context: Process context; takes iova_rwsem for read.
 * Return: 0, -ENOENT if part of the range is not mapped, -EPERM for a
 * write to a read-only mapping, -EINVAL while an unmap of part of the range
 * is asking accesses to let go, -EOVERFLOW if the range wraps; on error
 * nothing was copied.
 */
int iopt_access_rw(struct io_pagetable *iopt, unsigned long iova, void *data,
		   size_t len, bool write)
{
	struct access_rw rw = { .data = data, .write = write };
	unsigned long last;
	int rc;

	if (!len)
		return -EINVAL;
	if (check_add_overflow(iova, len - 1, &last))
		return -EOVERFLOW;
	down_read(&iopt->iova_rwsem);
	/* Every piece is checked first, so a refused copy moves nothing */
	rc = iopt_walk_mapped(iopt, iova, last, access_check_area, &write);
	if (!rc)
		rc = iopt_walk_mapped(iopt, iova, last, access_rw_piece, &rw);
	up_read(&iopt->iova_rwsem);
	return rc;
}

struct dirty_walk {
	struct io_pagetable *iopt;
	struct iommu_domain *domain;
	unsigned long flags;
	struct iommu_dirty_bitmap dirty;
	struct iommu_iotlb_gather gather;
};

/* Reads the dirty state of every mapped piece of [iova, last] */
static int dirty_walk_range(struct dirty_walk *walk, unsigned long iova,
			    unsigned long last)
{
	const struct iommu_dirty_ops *ops = walk->domain->dirty_ops;
	struct interval_tree_node *node;
	int rc = 0;

	down_read(&walk->iopt->iova_rwsem);
	for (node = interval_tree_iter_first(&walk->iopt->area_itree, iova,
					     last);
	     node && !rc; node = interval_tree_iter_next(node, iova, last)) {
		unsigned long start = max(iova, node->start);
		unsigned long end = min(last, node->last);

		rc = ops->read_and_clear_dirty(walk->domain, start,
					       end - start + 1, walk->flags,
					       &walk->dirty);
	}
	up_read(&walk->iopt->iova_rwsem);
	/* Cleared dirty bits must reach the IOTLB before they count */
	if (!(walk->flags & IOMMU_DIRTY_NO_CLEAR))
		iommu_iotlb_sync(walk->domain, &walk->gather);
	return rc;
}

static int dirty_walk_window(struct iova_bitmap *bitmap, unsigned long iova,
			     size_t length, void *opaque)
{
	struct dirty_walk *walk = opaque;

	iommu_dirty_bitmap_init(&walk->dirty, bitmap, &walk->gather);
	return dirty_walk_range(walk, iova, iova + length - 1);
}

/**
 * iopt_read_and_clear_dirty() - report DMA writes into a user bitmap
 * @iopt: the table feeding @domain
 * @domain: a domain of @iopt with dirty_ops
 * @flags: IOMMU_DIRTY_NO_CLEAR to leave the state set
 * @iova: first IOVA, a multiple of @page_size
 * @length: bytes, a multiple of @page_size
 * @page_size: IOVA bytes per bit, a power of two
 * @data: the user bitmap
 *
 * Unmapped parts of the range report nothing.
 *
 * Context: Process context; pins the user bitmap a window at a time.
 * Return: 0 or a negative errno (EFAULT for the bitmap, driver errors).
 */
int iopt_read_and_clear_dirty(struct io_pagetable *iopt,
			      struct iommu_domain *domain, unsigned long flags,
			      unsigned long iova, unsigned long length,
			      unsigned long page_size, u64 __user *data)
{
	struct dirty_walk walk = {
		.iopt = iopt,
		.domain = domain,
		.flags = flags,
	};
	struct iova_bitmap *bitmap;
	int rc;

	bitmap = iova_bitmap_alloc(iova, length, page_size, data);
	if (IS_ERR(bitmap))
		return PTR_ERR(bitmap);
	rc = iova_bitmap_for_each(bitmap, &walk, dirty_walk_window);
	iova_bitmap_free(bitmap);
	return rc;
}

/**
 * iopt_set_dirty_tracking() - start or stop dirty tracking in a domain
 * @iopt: the table feeding @domain
 * @domain: a domain of @iopt with dirty_ops
 * @enable: start rather than stop
 *
 * Starting first clears whatever the page table recorded before, so the
 * next report only shows writes made from now on.
 *
 * Context: Process context.
 * Return: 0 or the driver's error.
 */
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable)
{
	struct dirty_walk walk = {
		.iopt = iopt,
		.domain = domain,
	};
	int rc;

	if (enable) {
		/* No bitmap: the reads only clear */
		iommu_dirty_bitmap_init(&walk.dirty, NULL, &walk.gather);
		rc = dirty_walk_range(&walk, 0, ULONG_MAX);
		if (rc)
			return rc;
	}
	return domain->dirty_ops->set_dirty_tracking(domain, enable);
}
