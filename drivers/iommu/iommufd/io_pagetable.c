// SPDX-License-Identifier: GPL-2.0-only
/*
 * io_pagetable: the IOVA space of one IOAS.
 *
 * Two interval trees describe which IOVAs may be used. The allowed tree is
 * the user's own constraint (IOMMU_IOAS_ALLOW_IOVAS); when it is empty the
 * whole unsigned long space is allowed. The reserved tree holds ranges no
 * mapping may ever cover, such as a device's MSI window or what lies outside
 * an attached domain's aperture. The usable space is allowed minus reserved,
 * walked in ascending order by iopt_walk_usable_ranges().
 *
 * iova_rwsem protects both trees and the alignment: readers may walk them
 * concurrently, anything that edits them holds it for write.
 */
#include <linux/interval_tree.h>
#include <linux/lockdep.h>

#include "iommufd_private.h"

void iopt_init_table(struct io_pagetable *iopt)
{
	init_rwsem(&iopt->iova_rwsem);
	iopt->allowed_itree = RB_ROOT_CACHED;
	iopt->reserved_itree = RB_ROOT_CACHED;
	/* With no domain attached the IOAS is software only: any IOVA goes */
	iopt->iova_alignment = 1;
}

void iopt_destroy_table(struct io_pagetable *iopt)
{
	WARN_ON(!RB_EMPTY_ROOT(&iopt->allowed_itree.rb_root));
	WARN_ON(!RB_EMPTY_ROOT(&iopt->reserved_itree.rb_root));
}

/* Calls @fn for each hole of the reserved tree within [start, last] */
static int iopt_emit_unreserved(struct io_pagetable *iopt, unsigned long start,
				unsigned long last, iopt_range_fn_t fn,
				void *arg)
{
	struct interval_tree_span_iter span;
	int rc;

	interval_tree_for_each_span(&span, &iopt->reserved_itree, start, last) {
		if (!span.is_hole)
			continue;
		rc = fn(span.start_hole, span.last_hole, arg);
		if (rc)
			return rc;
	}
	return 0;
}

/**
 * iopt_walk_usable_ranges() - walk the IOVA ranges a mapping may use
 * @iopt: the table
 * @fn: called once per maximal usable range, in ascending order
 * @arg: passed to @fn
 *
 * Context: Caller holds iova_rwsem, for read or write.
 * Return: 0, or the first non-zero value @fn returned.
 */
int iopt_walk_usable_ranges(struct io_pagetable *iopt, iopt_range_fn_t fn,
			    void *arg)
{
	struct interval_tree_span_iter allowed;
	int rc;

	lockdep_assert_held(&iopt->iova_rwsem);

	if (RB_EMPTY_ROOT(&iopt->allowed_itree.rb_root))
		return iopt_emit_unreserved(iopt, 0, ULONG_MAX, fn, arg);

	interval_tree_for_each_span(&allowed, &iopt->allowed_itree, 0,
				    ULONG_MAX) {
		if (allowed.is_hole)
			continue;
		rc = iopt_emit_unreserved(iopt, allowed.start_used,
					  allowed.last_used, fn, arg);
		if (rc)
			return rc;
	}
	return 0;
}
