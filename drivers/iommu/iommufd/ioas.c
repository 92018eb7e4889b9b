// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOAS objects: the ioctl side of an I/O address space.
 *
 * An IOAS is the object userspace names when it builds an address space;
 * the address space itself is the struct io_pagetable embedded in it. The
 * handlers here only check arguments, look up the IOAS, call into the
 * io_pagetable and copy results back: they keep no state of their own.
 * Each handler holds a short-term user on the IOAS for the whole call, so
 * the IOAS cannot be destroyed underneath it.
 */
#include <linux/file.h>
#include <linux/hugetlb.h>
#include <linux/iommu.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);

	iopt_destroy_table(&ioas->iopt);
	mutex_destroy(&ioas->mutex);
}

/**
 * iommufd_ioas_create() - allocate an empty IOAS
 * @ictx: the file it belongs to
 *
 * Context: Process context.
 * Return: the IOAS, not yet finalized, or an ERR_PTR.
 */
struct iommufd_ioas *iommufd_ioas_create(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = iommufd_object_alloc(ictx,
							 struct iommufd_ioas,
							 IOMMUFD_OBJ_IOAS);

	if (!IS_ERR(ioas)) {
		/* No HWPT yet, and an io_pagetable that allows every IOVA */
		INIT_LIST_HEAD(&ioas->hwpt_list);
		mutex_init(&ioas->mutex);
		iopt_init_table(&ioas->iopt);
	}
	return ioas;
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;

	/* IOMMU_IOAS_ALLOC defines no flag */
	if (cmd->flags)
		return -EOPNOTSUPP;
	ioas = iommufd_ioas_create(ucmd->ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	cmd->out_ioas_id = ioas->obj.id;
	return iommufd_ucmd_publish(ucmd, &ioas->obj, sizeof(*cmd));
}

struct iova_ranges_out {
	struct iommu_iova_range __user *ranges;
	u32 capacity;
	u32 count;
};

static int iova_ranges_emit(unsigned long start, unsigned long last,
			    void *arg)
{
	struct iova_ranges_out *out = arg;
	struct iommu_iova_range range = { .start = start, .last = last };

	/* Past the user's array only the count goes on */
	if (out->count < out->capacity &&
	    copy_to_user(&out->ranges[out->count], &range, sizeof(range)))
		return -EFAULT;
	out->count++;
	return 0;
}

int iommufd_ioas_iova_ranges_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iova_ranges_out out = {
		.ranges = u64_to_user_ptr(cmd->allowed_iovas),
		.capacity = cmd->num_iovas,
	};
	struct iommufd_ioas *ioas;
	unsigned long align;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	rc = iopt_read_ranges(&ioas->iopt, iova_ranges_emit, &out, &align);
	cmd->out_iova_alignment = align;
	if (rc)
		goto out_put;

	cmd->num_iovas = out.count;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (!rc && out.count > out.capacity)
		rc = -EMSGSIZE;
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

static int iommufd_map_prot(u32 flags)
{
	/*
	 * Userspace cannot ask for non-coherent DMA: devices that could do
	 * no-snoop DMA get a domain that enforces coherency, and the
	 * translations of every domain are cacheable.
	 */
	int prot = IOMMU_CACHE;

	if (flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= IOMMU_WRITE;
	if (flags & IOMMU_IOAS_MAP_READABLE)
		prot |= IOMMU_READ;
	return prot;
}

/*
 * Checks shared by MAP and COPY that come before the IOAS lookup, in 6.12's
 * order: flags, then values that do not fit unsigned long, then the
 * permissions. Returns the IOMMU protection bits.
 */
static int iommufd_check_map_args(u32 flags, u64 iova, u64 length)
{
	const u32 known = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |
			  IOMMU_IOAS_MAP_READABLE;

	if (flags & ~known)
		return -EOPNOTSUPP;
	if (iova >= ULONG_MAX || length >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;
	return iommufd_map_prot(flags);
}

/*
 * The end of MAP and MAP_FILE: if the mapping was made (@rc is 0), @iova
 * goes back to userspace through @cmd_iova, the IOVA field of the command,
 * which is @size bytes. A failed copy-back leaves the mapping in place, as
 * 6.12 does: taking it back could remove what another thread mapped there
 * after an unmap of ours raced in.
 */
static int iommufd_ioas_map_done(struct iommufd_ucmd *ucmd,
				 struct iommufd_ioas *ioas, int rc,
				 unsigned long iova, u64 *cmd_iova,
				 size_t size)
{
	if (!rc) {
		*cmd_iova = iova;
		rc = iommufd_ucmd_respond(ucmd, size);
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* A memory file for MAP_FILE, or an ERR_PTR */
static struct file *iommufd_map_file_get(int fd)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	/*
	 * Only memory files, checked now rather than when pinned (unlike
	 * 7.2): the mapping holds its file, and a file that holds this one
	 * (itself, a FAULT file, a bound VFIO device) would keep both alive
	 * forever.
	 */
	if (!shmem_file(file) && !is_file_hugepages(file)) {
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	return file;
}

int iommufd_ioas_map_file_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map_file *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova, last;
	struct iommufd_ioas *ioas;
	struct file *file;
	int prot, rc;

	prot = iommufd_check_map_args(cmd->flags, cmd->iova, cmd->length);
	if (prot < 0)
		return prot;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	/* Then the file range, in the order of the kernels that have it */
	if (!cmd->length)
		rc = -EINVAL;
	else if (cmd->start > ULONG_MAX ||
		 check_add_overflow((unsigned long)cmd->start,
				    (unsigned long)cmd->length - 1, &last))
		rc = -EOVERFLOW;
	else
		rc = 0;
	file = rc ? ERR_PTR(rc) : iommufd_map_file_get(cmd->fd);
	if (IS_ERR(file))
		return iommufd_ioas_map_done(ucmd, ioas, PTR_ERR(file), 0,
					     &cmd->iova, sizeof(*cmd));
	rc = iopt_map_file_pages(&ioas->iopt, &iova, file, cmd->start,
				 cmd->length, prot,
				 cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA,
				 ucmd->ictx->account_mode == IOMMUFD_ACCOUNT_MM);
	fput(file);
	return iommufd_ioas_map_done(ucmd, ioas, rc, iova, &cmd->iova,
				     sizeof(*cmd));
}

int iommufd_ioas_map_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova, end;
	struct iommufd_ioas *ioas;
	int prot, rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	prot = iommufd_check_map_args(cmd->flags, cmd->iova, cmd->length);
	if (prot < 0)
		return prot;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	/*
	 * The user range is checked after the lookup, as 6.12 does: a length
	 * whose page count would not fit is EINVAL, a range that wraps the
	 * address space (ending exactly at its top is fine) EOVERFLOW.
	 */
	if (!cmd->length || cmd->length > SIZE_MAX - PAGE_SIZE)
		rc = -EINVAL;
	else if (cmd->user_va > ULONG_MAX ||
		 check_add_overflow((unsigned long)cmd->user_va,
				    (unsigned long)cmd->length, &end))
		rc = -EOVERFLOW;
	else
		rc = iopt_map_user_pages(&ioas->iopt, &iova, cmd->user_va,
					 cmd->length, prot,
					 cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA,
					 ucmd->ictx->account_mode ==
						 IOMMUFD_ACCOUNT_MM);
	return iommufd_ioas_map_done(ucmd, ioas, rc, iova, &cmd->iova,
				     sizeof(*cmd));
}

int iommufd_ioas_copy_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	unsigned long dst_iova = cmd->dst_iova, src_last;
	struct iommufd_ioas *src, *dst;
	int prot, rc;

	prot = iommufd_check_map_args(cmd->flags, cmd->dst_iova, cmd->length);
	if (prot < 0)
		return prot;
	if (cmd->src_iova >= ULONG_MAX)
		return -EOVERFLOW;

	src = iommufd_get_ioas(ucmd->ictx, cmd->src_ioas_id);
	if (IS_ERR(src))
		return PTR_ERR(src);
	/* The source range is judged before the destination is looked up */
	if (!cmd->length) {
		rc = -EINVAL;
		goto out_put_src;
	}
	if (check_add_overflow((unsigned long)cmd->src_iova,
			       (unsigned long)cmd->length - 1, &src_last)) {
		rc = -EOVERFLOW;
		goto out_put_src;
	}
	dst = iommufd_get_ioas(ucmd->ictx, cmd->dst_ioas_id);
	if (IS_ERR(dst)) {
		rc = PTR_ERR(dst);
		goto out_put_src;
	}

	rc = iopt_copy_iova(&dst->iopt, &dst_iova, &src->iopt, cmd->src_iova,
			    cmd->length, prot,
			    cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA);
	if (rc)
		goto out_put_dst;

	/* As for MAP, a failed copy-back leaves the copy in place */
	cmd->dst_iova = dst_iova;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put_dst:
	iommufd_put_object(ucmd->ictx, &dst->obj);
out_put_src:
	iommufd_put_object(ucmd->ictx, &src->obj);
	return rc;
}

int iommufd_ioas_unmap_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	unsigned long unmapped = 0, last;
	struct iommufd_ioas *ioas;
	bool all;
	int rc;

	/* 6.12 looks the IOAS up before judging the range */
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	all = cmd->iova == 0 && cmd->length == U64_MAX;
	if (all) {
		last = ULONG_MAX;
	} else if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX) {
		rc = -EOVERFLOW;
		goto out_put;
	} else if (!cmd->length) {
		rc = -EINVAL;
		goto out_put;
	} else if (check_add_overflow((unsigned long)cmd->iova,
				      (unsigned long)cmd->length - 1, &last)) {
		rc = -EOVERFLOW;
		goto out_put;
	}

	/*
	 * A failure can come after whole mappings were removed (see
	 * iopt_unmap_iova()); like 6.12 it reports only the errno.
	 */
	rc = iopt_unmap_iova(&ioas->iopt, cmd->iova, last, &unmapped);
	/* Only unmapping everything may find nothing to unmap */
	if (!rc && !unmapped && !all)
		rc = -ENOENT;
	if (!rc) {
		cmd->length = unmapped;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_allow_iovas_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct iommu_iova_range __user *uranges =
		u64_to_user_ptr(cmd->allowed_iovas);
	struct rb_root_cached list = RB_ROOT_CACHED;
	struct iommufd_ioas *ioas;
	int rc = 0;
	u32 i;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	/*
	 * One range at a time, so that nothing is sized by the user's count
	 * and the first bad range decides the errno, as in 6.12.
	 */
	for (i = 0; i != cmd->num_iovas; i++) {
		struct iommu_iova_range range;

		if (copy_from_user(&range, &uranges[i], sizeof(range))) {
			rc = -EFAULT;
			goto out_free;
		}
		rc = iopt_allowed_add(&list, range.start, range.last);
		if (rc)
			goto out_free;
		cond_resched();
	}
	rc = iopt_set_allowed_iovas(&ioas->iopt, &list);
out_free:
	iopt_allowed_free(&list);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_option_huge_pages(struct iommu_option *cmd,
				   struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;
	int rc = 0;

	if (cmd->op != IOMMU_OPTION_OP_GET && cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_SET && cmd->val64 > 1)
		return -EINVAL;

	ioas = iommufd_get_ioas(ictx, cmd->object_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (cmd->op == IOMMU_OPTION_OP_GET)
		cmd->val64 = iopt_large_pages_enabled(&ioas->iopt);
	else
		rc = iopt_set_large_pages(&ioas->iopt, cmd->val64);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/* Releases what iommufd_ioas_lock_all() took */
static void iommufd_ioas_unlock_all(struct iommufd_ctx *ictx,
				    struct xarray *locked)
{
	struct iommufd_ioas *ioas;
	unsigned long id;

	xa_for_each(locked, id, ioas) {
		iopt_thaw_areas(&ioas->iopt);
		iommufd_put_object(ictx, &ioas->obj);
	}
	xa_destroy(locked);
}

/*
 * Takes a user on every IOAS of @ictx and freezes its areas, in ID order,
 * recording them in @locked. IOASes made meanwhile are left out: nothing
 * they hold can come from the locked ones, since a COPY out of those must
 * wait.
 */
static int iommufd_ioas_lock_all(struct iommufd_ctx *ictx,
				 struct xarray *locked)
{
	struct iommufd_object *obj;
	unsigned long id;
	void *entry;
	int rc;

	lockdep_assert_held(&ictx->change_process_lock);

	xa_for_each(&ictx->objects, id, entry) {
		struct iommufd_ioas *ioas;

		obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_IOAS);
		if (IS_ERR(obj))
			continue;
		ioas = container_of(obj, struct iommufd_ioas, obj);
		rc = xa_err(xa_store(locked, id, ioas, GFP_KERNEL));
		if (rc) {
			iommufd_put_object(ictx, obj);
			iommufd_ioas_unlock_all(ictx, locked);
			return rc;
		}
		iopt_freeze_areas(&ioas->iopt, &ictx->change_process_lock);
	}
	return 0;
}

int iommufd_ioas_change_process_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_change_process *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas;
	struct xarray locked, set;
	unsigned long id;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	xa_init(&locked);
	xa_init(&set);
	mutex_lock(&ictx->change_process_lock);
	rc = iommufd_ioas_lock_all(ictx, &locked);
	if (rc)
		goto out_unlock;
	xa_for_each(&locked, id, ioas) {
		rc = iopt_collect_file_pages(&ioas->iopt, &set);
		if (rc)
			break;
	}
	if (!rc)
		rc = iopt_pages_change_process(&set);
	iommufd_ioas_unlock_all(ictx, &locked);
out_unlock:
	mutex_unlock(&ictx->change_process_lock);
	xa_destroy(&set);
	return rc;
}
