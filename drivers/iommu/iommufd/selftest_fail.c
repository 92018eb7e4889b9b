// SPDX-License-Identifier: GPL-2.0-only
/*
 * The hooks of iommufd's data path into its test support: the
 * fault-injection point and the pin batch size. Built only with
 * CONFIG_IOMMUFD_TEST; without it iommufd_private.h turns both into
 * constants and the data path is compiled as if they were not there.
 *
 * Allocations fail through failslab and the page allocator's own
 * injection; the steps that do not allocate (pinning user pages; the mock
 * domain's map_pages, standing for a real driver short of page-table
 * memory) ask iommufd_should_fail() instead, so that a test driving
 * /proc/self/task/<tid>/fail-nth reaches every failure of an ioctl in
 * turn. The attribute lives in /sys/kernel/debug/fail_iommufd/, next to
 * failslab's, with the same knobs.
 *
 * The pin batch size is written by IOMMU_TEST_OP_SET_PIN_BATCH (selftest.c)
 * and read by pages.c for every batch, so that tests can make a small
 * mapping take many batches and fail between any two of them. It is a
 * plain word read with READ_ONCE(): a change races with nothing but the
 * size of the batches in flight.
 *
 * Data flows in only: the tests set the knobs, the data path reads them;
 * nothing here calls back into iommufd.
 */
#include <linux/debugfs.h>
#include <linux/fault-inject.h>

#include "selftest.h"

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

/* Creates the debugfs directory; a kernel without debugfs goes on without */
void __init iommufd_fail_init(void)
{
	struct dentry *dir;

	dir = fault_create_debugfs_attr("fail_iommufd", NULL, &fail_iommufd);
	fail_iommufd_dir = IS_ERR(dir) ? NULL : dir;
}

void iommufd_fail_exit(void)
{
	debugfs_remove(fail_iommufd_dir);
	fail_iommufd_dir = NULL;
}
