// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO type1 compatibility: an iommufd file that acts as a VFIO container.
 *
 * Legacy VFIO userspace opens a container (/dev/vfio/vfio), adds groups to
 * it and maps memory with the type1 ioctls, none of which names an address
 * space. An iommufd file serves them on one IOAS of its own, the "compat"
 * IOAS: the one userspace chose with IOMMU_VFIO_IOAS, or the one VFIO had
 * created (iommufd_vfio_compat_ioas_create()) when a group was given this
 * file as its container; VFIO then attaches the group's devices to it.
 *
 * This file owns that choice and turns each type1 ioctl into calls on the
 * compat IOAS's io_pagetable: MAP_DMA is a fixed-IOVA map, UNMAP_DMA an
 * unmap (type1v2 never cuts a mapping; plain type1, which may unmap part of
 * one, runs with huge IO pages off and cuts mappings first), GET_INFO
 * reports page sizes and the usable IOVA ranges as type1 capabilities.
 * Answers, errnos and accounting are those of 6.12's iommufd: the file keeps
 * its own accounting mode (a file opened as /dev/vfio/vfio charges the mm's
 * locked_vm like type1, see main.c). Not provided, as in 6.12: the dirty
 * bitmap of type1 (dirty tracking is on HWPTs), VFIO_DMA_MAP_FLAG_VADDR and
 * the SPAPR ioctls.
 *
 * Locking: the compat IOAS ID is written and looked up under the xa_lock
 * of the object table, and removing that IOAS clears it (main.c). The
 * vfio_lock serializes creating the compat IOAS against choosing no-IOMMU
 * mode. Handlers hold a short-term user on the compat IOAS, never a lock,
 * while they call into the io_pagetable.
 */
#include <linux/capability.h>
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/overflow.h>
#include <uapi/linux/iommufd.h>
#include <uapi/linux/vfio.h>

#include "iommufd_private.h"

/*
 * The compat IOAS with a short-term user, or ERR_PTR(-ENODEV). The ID is
 * read and looked up under one hold of the xa_lock: removing the IOAS
 * clears the ID under that lock too, so a new IOAS that reuses the ID is
 * never taken for it.
 */
static struct iommufd_ioas *vfio_compat_ioas_get(struct iommufd_ctx *ictx)
{
	struct iommufd_object *obj = ERR_PTR(-ENODEV);

	xa_lock(&ictx->objects);
	if (ictx->vfio_ioas_id)
		obj = __iommufd_get_object(ictx, ictx->vfio_ioas_id,
					   IOMMUFD_OBJ_IOAS);
	xa_unlock(&ictx->objects);
	if (IS_ERR(obj))
		return ERR_PTR(-ENODEV);
	return container_of(obj, struct iommufd_ioas, obj);
}

static void vfio_compat_ioas_set_id(struct iommufd_ctx *ictx, u32 id)
{
	xa_lock(&ictx->objects);
	ictx->vfio_ioas_id = id;
	xa_unlock(&ictx->objects);
}

/**
 * iommufd_vfio_compat_ioas_get_id() - the ID of the compat IOAS
 * @ictx: the iommufd file
 * @out_ioas_id: out: the IOAS ID
 *
 * Context: Process context. Takes and releases the xa_lock.
 * Return: 0, or -ENODEV if the file has no compat IOAS.
 */
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *out_ioas_id)
{
	struct iommufd_ioas *ioas;

	ioas = vfio_compat_ioas_get(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	*out_ioas_id = ioas->obj.id;
	iommufd_put_object(ictx, &ioas->obj);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_get_id, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_ioas_create() - give the file a compat IOAS
 * @ictx: the iommufd file
 *
 * Called when a VFIO group is given the file as its container. Does
 * nothing if the file already has one. The new IOAS is an ordinary object
 * of the file: userspace can learn its ID with IOMMU_VFIO_IOAS and destroy
 * it; otherwise it goes when the file is closed.
 *
 * Context: Process context. Takes vfio_lock.
 * Return: 0, -EINVAL if the file is in no-IOMMU mode, or -ENOMEM.
 */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;
	int rc = 0;

	mutex_lock(&ictx->vfio_lock);
	/* VFIO does not mix no-IOMMU and translated groups in a container */
	if (ictx->no_iommu_mode) {
		rc = -EINVAL;
		goto out_unlock;
	}
	ioas = vfio_compat_ioas_get(ictx);
	if (!IS_ERR(ioas)) {
		iommufd_put_object(ictx, &ioas->obj);
		goto out_unlock;
	}
	ioas = iommufd_ioas_create(ictx);
	if (IS_ERR(ioas)) {
		rc = PTR_ERR(ioas);
		goto out_unlock;
	}
	/*
	 * The ID is taken before the IOAS is published: until then lookups
	 * miss it, and once published only its removal clears the ID.
	 */
	vfio_compat_ioas_set_id(ictx, ioas->obj.id);
	iommufd_object_finalize(ictx, &ioas->obj);
out_unlock:
	mutex_unlock(&ictx->vfio_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_create, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_set_no_iommu() - use the file for no-IOMMU VFIO
 * @ictx: the iommufd file
 *
 * Context: Process context. Takes vfio_lock.
 * Return: 0, or -EINVAL if the file already has a compat IOAS.
 */
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	int rc = 0;

	mutex_lock(&ictx->vfio_lock);
	xa_lock(&ictx->objects);
	if (ictx->vfio_ioas_id)
		rc = -EINVAL;
	else
		WRITE_ONCE(ictx->no_iommu_mode, true);
	xa_unlock(&ictx->objects);
	mutex_unlock(&ictx->vfio_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_set_no_iommu, IOMMUFD_VFIO);

int iommufd_vfio_ioas_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		ioas = vfio_compat_ioas_get(ictx);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		cmd->ioas_id = ioas->obj.id;
		iommufd_put_object(ictx, &ioas->obj);
		return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = iommufd_get_ioas(ictx, cmd->ioas_id);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		/* Our user keeps it from being removed meanwhile */
		vfio_compat_ioas_set_id(ictx, ioas->obj.id);
		iommufd_put_object(ictx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		vfio_compat_ioas_set_id(ictx, 0);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* ---- The type1 container ioctls ---- */

/* Are all domains of the compat IOAS blocking no-snoop DMA? */
static int vfio_compat_dma_coherent(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;
	int coherent;

	ioas = vfio_compat_ioas_get(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	coherent = iommufd_ioas_enforces_cc(ioas);
	iommufd_put_object(ictx, &ioas->obj);
	return coherent;
}

/* VFIO_CHECK_EXTENSION: 1 if offered, 0 if not, or a negative errno */
static int vfio_compat_check_extension(struct iommufd_ctx *ictx,
				       unsigned long extension)
{
	switch (extension) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return !READ_ONCE(ictx->no_iommu_mode);
	case VFIO_NOIOMMU_IOMMU:
		return IS_ENABLED(CONFIG_VFIO_NOIOMMU);
	case VFIO_DMA_CC_IOMMU:
		return vfio_compat_dma_coherent(ictx);
	default:
		/*
		 * Not offered: the SPAPR IOMMUs and EEH belong to other
		 * platforms, TYPE1_NESTING is retired from VFIO, and
		 * UPDATE_VADDR would let a mapping's memory change under a
		 * domain that has it pinned.
		 */
		return 0;
	}
}

/*
 * VFIO_SET_IOMMU. Both type1 flavours work on the compat IOAS that a group
 * (or IOMMU_VFIO_IOAS) gave the file, and may be set again; plain TYPE1
 * turns huge IO pages off so that any mapping can be cut later.
 */
static int vfio_compat_set_iommu(struct iommufd_ctx *ictx, unsigned long type)
{
	bool no_iommu = READ_ONCE(ictx->no_iommu_mode);
	struct iommufd_ioas *ioas;
	int rc = 0;

	if (IS_ENABLED(CONFIG_VFIO_NOIOMMU) && type == VFIO_NOIOMMU_IOMMU &&
	    no_iommu)
		return capable(CAP_SYS_RAWIO) ? 0 : -EPERM;
	if (no_iommu || (type != VFIO_TYPE1_IOMMU &&
			 type != VFIO_TYPE1v2_IOMMU))
		return -EINVAL;

	ioas = vfio_compat_ioas_get(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (type == VFIO_TYPE1_IOMMU)
		rc = iopt_set_large_pages(&ioas->iopt, false);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/*
 * What GET_INFO reports as iova_pgsizes: the IO page sizes every domain
 * maps, where sizes below a CPU page count as one CPU page (memory is
 * mapped by CPU pages), and never less than the IOAS's alignment.
 */
static unsigned long vfio_compat_pgsizes(struct io_pagetable *iopt)
{
	unsigned long pgsizes = iopt_domains_pgsizes(iopt);

	if (pgsizes & ~PAGE_MASK)
		pgsizes = (pgsizes & PAGE_MASK) | PAGE_SIZE;
	return pgsizes;
}

/*
 * The capability chain of GET_INFO, written into the user's buffer behind
 * struct vfio_iommu_type1_info. Each capability starts 8-byte aligned
 * where the previous one ends, and the previous one's next points at it
 * whenever the buffer reaches that far. A capability is written only if
 * it fits whole; @end grows by every capability anyway, so that it ends up
 * as the argsz that holds them all.
 */
struct vfio_caps {
	void __user *info;	/* the user's struct vfio_iommu_type1_info */
	u32 argsz;		/* bytes the user gave */
	u32 end;		/* bytes all capabilities so far need */
	u32 last;		/* offset of the latest capability, 0: none */
};

/* Starts a capability of @size bytes; returns its offset */
static int vfio_caps_begin(struct vfio_caps *caps, size_t size, u32 *offset)
{
	struct vfio_info_cap_header __user *prev = caps->info + caps->last;

	*offset = caps->end;
	if (caps->last && caps->argsz >= *offset &&
	    put_user(*offset, &prev->next))
		return -EFAULT;
	caps->last = *offset;
	caps->end += ALIGN(size, sizeof(u64));
	return 0;
}

/* Bytes of the user's buffer from @offset on */
static size_t vfio_caps_room(struct vfio_caps *caps, u32 offset)
{
	return caps->argsz > offset ? caps->argsz - offset : 0;
}

static int vfio_caps_add_dma_avail(struct vfio_caps *caps)
{
	/*
	 * iommufd does not count mappings, memory is what limits them:
	 * report the largest value (type1's default is 65535, and s390
	 * userspace needs more than that).
	 */
	struct vfio_iommu_type1_info_dma_avail cap = {
		.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
		.header.version = 1,
		.avail = U32_MAX,
	};
	u32 offset;
	int rc;

	rc = vfio_caps_begin(caps, sizeof(cap), &offset);
	if (rc)
		return rc;
	if (vfio_caps_room(caps, offset) >= sizeof(cap) &&
	    copy_to_user(caps->info + offset, &cap, sizeof(cap)))
		return -EFAULT;
	return 0;
}

/* The usable IOVA ranges, each written where it fits */
struct vfio_iova_ranges {
	struct vfio_iova_range __user *ranges;
	size_t room;		/* bytes the user gave from @ranges on */
	u32 count;
};

static int vfio_iova_range_emit(unsigned long start, unsigned long last,
				void *arg)
{
	struct vfio_iova_ranges *out = arg;
	struct vfio_iova_range range = { .start = start, .end = last };

	if (out->room >= (out->count + 1) * sizeof(range) &&
	    copy_to_user(&out->ranges[out->count], &range, sizeof(range)))
		return -EFAULT;
	out->count++;
	return 0;
}

/*
 * The ranges are counted and written in one consistent view, which also
 * gives the alignment they go with (*alignment).
 */
static int vfio_caps_add_iova_ranges(struct vfio_caps *caps,
				     struct io_pagetable *iopt,
				     unsigned long *alignment)
{
	struct vfio_iommu_type1_info_cap_iova_range cap = {
		.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
		.header.version = 1,
	};
	struct vfio_iommu_type1_info_cap_iova_range __user *ucap;
	struct vfio_iova_ranges out = {};
	u32 offset = caps->end;
	size_t room, size;
	int rc;

	/* Count and write the ranges first: they size the capability */
	ucap = caps->info + offset;
	room = vfio_caps_room(caps, offset);
	out.ranges = ucap->iova_ranges;
	out.room = room > sizeof(cap) ? room - sizeof(cap) : 0;
	rc = iopt_read_ranges(iopt, vfio_iova_range_emit, &out, alignment);
	if (rc)
		return rc;
	cap.nr_iovas = out.count;
	size = struct_size(&cap, iova_ranges, out.count);

	rc = vfio_caps_begin(caps, size, &offset);
	if (rc)
		return rc;
	if (room >= size && copy_to_user(ucap, &cap, sizeof(cap)))
		return -EFAULT;
	return 0;
}

static int vfio_compat_get_info(struct iommufd_ctx *ictx, void __user *arg)
{
	const size_t need = offsetofend(struct vfio_iommu_type1_info,
					iova_pgsizes);
	struct vfio_iommu_type1_info info = {};
	struct vfio_caps caps = { .info = arg, .end = sizeof(info) };
	struct iommufd_ioas *ioas;
	unsigned long align;
	size_t reply;
	int rc;

	if (copy_from_user(&info, arg, need))
		return -EFAULT;
	if (info.argsz < need)
		return -EINVAL;
	/* An older, shorter struct gets only what it has room for */
	reply = min_t(size_t, info.argsz, sizeof(info));
	caps.argsz = info.argsz;

	ioas = vfio_compat_ioas_get(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	info.flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
	info.iova_pgsizes = vfio_compat_pgsizes(&ioas->iopt);
	info.cap_offset = 0;

	rc = vfio_caps_add_dma_avail(&caps);
	if (!rc)
		rc = vfio_caps_add_iova_ranges(&caps, &ioas->iopt, &align);
	if (rc)
		goto out_put;
	info.iova_pgsizes = max_t(u64, info.iova_pgsizes, align);

	/* Without room for all, no chain is offered: argsz says what fits */
	if (info.argsz >= caps.end)
		info.cap_offset = sizeof(info);
	info.argsz = caps.end;
	if (copy_to_user(arg, &info, reply))
		rc = -EFAULT;
out_put:
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static int vfio_compat_map_dma(struct iommufd_ctx *ictx, void __user *arg)
{
	const size_t need = offsetofend(struct vfio_iommu_type1_dma_map, size);
	const u32 known = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	struct vfio_iommu_type1_dma_map map;
	int prot = IOMMU_CACHE;
	struct iommufd_ioas *ioas;
	unsigned long iova;
	int rc;

	if (copy_from_user(&map, arg, need))
		return -EFAULT;
	/* VFIO_DMA_MAP_FLAG_VADDR is refused, see check_extension */
	if (map.argsz < need || map.flags & ~known)
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;

	ioas = vfio_compat_ioas_get(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	iova = map.iova;
	rc = iopt_map_user_pages(&ioas->iopt, &iova, map.vaddr, map.size, prot,
				 true,
				 ictx->account_mode == IOMMUFD_ACCOUNT_MM);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/*
 * Type1 may unmap part of a mapping: with huge IO pages off (plain TYPE1)
 * the mappings are cut at both ends of the range first. The cuts stay even
 * if the unmap then fails.
 */
static int vfio_compat_cut_range(struct io_pagetable *iopt, u64 iova,
				 u64 size)
{
	/* The last byte, and the byte before, unless the range starts at 0 */
	unsigned long ends[] = { iova + size - 1, iova - 1 };

	if (iopt_large_pages_enabled(iopt))
		return 0;
	return iopt_cut_after(iopt, ends, iova ? 2 : 1);
}

static int vfio_compat_unmap_range(struct io_pagetable *iopt, u64 iova,
				   u64 size, unsigned long *unmapped)
{
	unsigned long last;

	if (!size)
		return -EINVAL;
	if (check_add_overflow((unsigned long)iova, (unsigned long)size - 1,
			       &last))
		return -EOVERFLOW;
	return iopt_unmap_iova(iopt, iova, last, unmapped);
}

static int vfio_compat_unmap_dma(struct iommufd_ctx *ictx, void __user *arg)
{
	const size_t need = offsetofend(struct vfio_iommu_type1_dma_unmap,
					size);
	struct vfio_iommu_type1_dma_unmap unmap;
	unsigned long unmapped = 0;
	struct iommufd_ioas *ioas;
	int rc;

	if (copy_from_user(&unmap, arg, need))
		return -EFAULT;
	/*
	 * Only UNMAP_ALL: the dirty bitmap of type1 is replaced by dirty
	 * tracking on HWPTs, and VADDR goes with UPDATE_VADDR.
	 */
	if (unmap.argsz < need || unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;

	ioas = vfio_compat_ioas_get(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size) {
			rc = -EINVAL;
			goto out_put;
		}
		rc = iopt_unmap_iova(&ioas->iopt, 0, ULONG_MAX, &unmapped);
	} else {
		rc = vfio_compat_cut_range(&ioas->iopt, unmap.iova, unmap.size);
		if (rc)
			goto out_put;
		rc = vfio_compat_unmap_range(&ioas->iopt, unmap.iova,
					     unmap.size, &unmapped);
	}
	/*
	 * What was unmapped is written back whatever the outcome: an unmap
	 * stopped by a mapping it would cut (ENOENT) still removed the whole
	 * mappings before it.
	 */
	unmap.size = unmapped;
	if (copy_to_user(arg, &unmap, need))
		rc = -EFAULT;
out_put:
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/**
 * iommufd_vfio_ioctl() - serve a VFIO container ioctl on an iommufd file
 * @ictx: the file
 * @cmd: the ioctl number, outside iommufd's own range
 * @arg: its argument
 *
 * Context: Process context.
 * Return: the ioctl's result, or -ENOTTY for a number that is no type1
 * container ioctl (VFIO_IOMMU_DIRTY_PAGES and SPAPR's included).
 */
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return vfio_compat_check_extension(ictx, arg);
	case VFIO_SET_IOMMU:
		return vfio_compat_set_iommu(ictx, arg);
	case VFIO_IOMMU_GET_INFO:
		return vfio_compat_get_info(ictx, uarg);
	case VFIO_IOMMU_MAP_DMA:
		return vfio_compat_map_dma(ictx, uarg);
	case VFIO_IOMMU_UNMAP_DMA:
		return vfio_compat_unmap_dma(ictx, uarg);
	default:
		return -ENOTTY;
	}
}
