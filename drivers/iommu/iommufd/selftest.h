/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the pieces of iommufd's test support share. All of it is built only
 * with CONFIG_IOMMUFD_TEST, in five files with one concern each:
 *
 *   selftest_fail.c    the hooks the data path consults: the fault-injection
 *                      point and the pin batch size
 *   selftest_iommu.c   the mock IOMMU driver: its domains, their PTEs, its
 *                      IOPF queue
 *   selftest_bus.c     the mock bus, its devices and their iommu_groups
 *   selftest.c         the test objects and the IOMMU_TEST_CMD ioctl, which
 *                      drives the other pieces
 *   selftest_access.c  access objects: an emulated VFIO mdev driver of the
 *                      in-kernel access API (access.c)
 *
 * Data flows one way. The ioctl creates a mock device on the bus; adding it
 * makes the core probe it into the mock IOMMU, whose ops the core and
 * iommufd call from then on. The ioctl reads what the driver did (the
 * translation of a domain, the domain of a device, the page responses)
 * only through the mock_*() helpers below, never through the PTEs, so the
 * PTE format stays private to the driver. struct mock_dev is shared
 * because the bus creates it and the driver keeps its per-device state in
 * it. Access objects are test objects too: they use the lookup helpers of
 * selftest.c.
 */
#ifndef __IOMMUFD_SELFTEST_H
#define __IOMMUFD_SELFTEST_H

#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/mutex.h>
#include <linux/xarray.h>

#include "iommufd_private.h"
#include "iommufd_test.h"

/* An IO page of the mock IOMMU is half a CPU page */
#define MOCK_IO_PAGE_SHIFT	(PAGE_SHIFT - 1)
#define MOCK_IO_PAGE_SIZE	BIT(MOCK_IO_PAGE_SHIFT)

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

static inline struct mock_dev *to_mock_dev(struct device *dev)
{
	return container_of(dev, struct mock_dev, dev);
}

/* selftest_fail.c */
void iommufd_fail_init(void);
void iommufd_fail_exit(void);

/* selftest_bus.c */
extern const struct bus_type iommufd_mock_bus_type;
int mock_bus_init(void);
void mock_bus_exit(void);
struct mock_dev *mock_dev_create(u32 flags, u32 group_nr);
void mock_dev_destroy(struct mock_dev *mdev);

/* selftest_iommu.c */
extern struct mutex mock_attach_lock;
int mock_iommu_init(void);
void mock_iommu_exit(void);
int mock_iommu_add_fwspec(struct device *dev);
void mock_iommu_free_fwspec(struct device *dev);
struct iommu_domain *mock_domain_create(u32 flags);

struct mock_map_summary {
	u64 max_pgsize;
	u64 map_calls;
};

int mock_check_map(struct iommu_domain *domain, unsigned long iova,
		   unsigned long length, unsigned long uptr, unsigned int prot,
		   struct mock_map_summary *sum);
int mock_check_unmapped(struct iommu_domain *domain, unsigned long iova,
			unsigned long last);
int mock_dma_write(struct iommu_domain *domain, unsigned long iova,
		   unsigned long last);
void mock_describe_domain(struct iommu_domain *domain,
			  struct iommu_test_cmd *cmd);
bool mock_dev_iopf_enabled(struct mock_dev *mdev);
void mock_dev_take_response(struct mock_dev *mdev,
			    struct iommu_test_cmd *cmd);

/* selftest.c */
enum selftest_obj_kind {
	SELFTEST_OBJ_MOCK_DOMAIN,
	SELFTEST_OBJ_MOCK_DEVICE,
	SELFTEST_OBJ_ACCESS,
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
		/* @paging is one of the domains of @ioas, which it holds */
		struct {
			struct iommufd_ioas *ioas;
			struct iommu_domain *paging;
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

struct selftest_obj *selftest_obj_get(struct iommufd_ucmd *ucmd, u32 id,
				      enum selftest_obj_kind kind);
struct selftest_obj *selftest_obj_lock_get(struct iommufd_ucmd *ucmd, u32 id,
					   enum selftest_obj_kind kind);
void selftest_obj_unlock_put(struct iommufd_ucmd *ucmd,
			     struct selftest_obj *sobj);
int selftest_obj_respond(struct iommufd_ucmd *ucmd, struct selftest_obj *sobj);
int selftest_range_last(u64 start, u64 length, unsigned long *last);

/* selftest_access.c */
int selftest_access_cmd(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd);
void selftest_access_destroy(struct selftest_obj *sobj);

#endif
