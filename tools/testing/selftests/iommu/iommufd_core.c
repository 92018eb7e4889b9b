// SPDX-License-Identifier: GPL-2.0-only
/*
 * The core of /dev/iommu as userspace sees it: the extensible-struct rules
 * every ioctl follows, the object table (IDs, destroy, close), IOAS
 * allocation, IOVA range reporting of an empty IOAS and the file-wide
 * options. Needs no device: everything here is pure software state.
 */
#include <sys/wait.h>

#include "iommufd_selftest.h"

FIXTURE(iommufd)
{
	int fd;
};

FIXTURE_SETUP(iommufd)
{
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(iommufd)
{
	close(self->fd);
}

TEST_F(iommufd, destroy_of_unknown_id_is_enoent)
{
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, 0));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, 1));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, UINT32_MAX));
}

TEST_F(iommufd, ioas_ids_are_distinct_and_nonzero)
{
	uint32_t a, b, c;

	ASSERT_EQ(0, ioas_alloc(self->fd, &a));
	ASSERT_EQ(0, ioas_alloc(self->fd, &b));
	ASSERT_EQ(0, ioas_alloc(self->fd, &c));
	EXPECT_NE(0, a);
	EXPECT_NE(a, b);
	EXPECT_NE(b, c);
	EXPECT_NE(a, c);
}

TEST_F(iommufd, destroy_twice_is_enoent)
{
	uint32_t id;

	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	EXPECT_EQ(0, object_destroy(self->fd, id));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, id));
}

/*
 * As in 6.12 an object gets the lowest free ID (IDs start at 1), so the ID
 * of a destroyed object is handed out again by the next allocation.
 */
TEST_F(iommufd, ids_are_the_lowest_free_ones)
{
	uint32_t a, b, c, again;

	ASSERT_EQ(0, ioas_alloc(self->fd, &a));
	ASSERT_EQ(0, ioas_alloc(self->fd, &b));
	ASSERT_EQ(0, ioas_alloc(self->fd, &c));
	EXPECT_EQ(1, a);
	EXPECT_EQ(a + 1, b);
	EXPECT_EQ(b + 1, c);
	ASSERT_EQ(0, object_destroy(self->fd, b));
	ASSERT_EQ(0, object_destroy(self->fd, a));
	ASSERT_EQ(0, ioas_alloc(self->fd, &again));
	EXPECT_EQ(a, again);
	ASSERT_EQ(0, ioas_alloc(self->fd, &again));
	EXPECT_EQ(b, again);
	ASSERT_EQ(0, ioas_alloc(self->fd, &again));
	EXPECT_EQ(c + 1, again);
}

TEST_F(iommufd, ids_are_private_to_their_file)
{
	int other = iommufd_open();
	uint64_t val = 0;
	uint32_t id;

	ASSERT_LE(0, other);
	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	EXPECT_ERRNO(ENOENT, object_destroy(other, id));
	/* The other file is still empty, so its mode can change */
	EXPECT_EQ(0, rlimit_mode_set(other, val));
	close(other);
	EXPECT_EQ(0, object_destroy(self->fd, id));
}

TEST_F(iommufd, ioas_alloc_rejects_flags)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd), .flags = 1 };

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_ALLOC, &cmd));
	cmd.flags = 1u << 31;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_ALLOC, &cmd));
}

TEST_F(iommufd, close_with_live_objects_frees_them)
{
	int fd = iommufd_open();
	uint32_t id;
	int i;

	ASSERT_LE(0, fd);
	for (i = 0; i != 100; i++)
		ASSERT_EQ(0, ioas_alloc(fd, &id));
	/* Leaks would show in kmemleak in the debug kernel run */
	EXPECT_EQ(0, close(fd));
}

TEST_F(iommufd, unknown_ioctls_are_enotty)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd) };

	/*
	 * Numbers neither kernel assigns (6.12 with CONFIG_IOMMUFD_TEST has
	 * its IOMMU_TEST_CMD at 0xa0, ours is at 0xc0)
	 */
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(IOMMUFD_TYPE, 0x7f), &cmd));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(IOMMUFD_TYPE, 0xff), &cmd));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(IOMMUFD_TYPE, 0x9f), &cmd));
	/* The right number with a different type or direction is not ours */
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO('x', IOMMUFD_CMD_DESTROY),
				   &cmd));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IOW(IOMMUFD_TYPE,
						  IOMMUFD_CMD_DESTROY,
						  struct iommu_destroy),
				   &cmd));
}

TEST_F(iommufd, bad_user_pointer_is_efault)
{
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_DESTROY, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_ALLOC, (void *)8));
}

/*
 * The extensible-struct rules, for every ioctl of the uAPI: a size below
 * the first version of the struct is EINVAL; any larger size is accepted
 * as long as the bytes past the kernel's struct are zero, E2BIG if one is
 * not; a size that runs past readable memory is EFAULT. Each variant fills
 * a well-formed request that may be repeated, whose result (success, or
 * the errno its handler gives a request naming no object) shows that the
 * size checks let it through; only the size field and the bytes past the
 * struct vary. No variant needs a device, so all of them run on pristine
 * 6.12 too, except the two ioctls adopted from after 6.12.
 */
#define SIZE_SRC_IOVA 0x10000UL

/* What a request may name */
struct size_env {
	uint32_t ioas_id;	/* an IOAS, 0 if the variant needs none */
	uint8_t *mem;		/* a page, mapped at SIZE_SRC_IOVA in it */
	int memfd;		/* a memfd of one page */
};

static void fill_nothing(void *cmd, const struct size_env *env)
{
}

static void fill_iova_ranges(void *cmd, const struct size_env *env)
{
	struct iommu_ioas_iova_ranges *ranges = cmd;

	ranges->ioas_id = env->ioas_id;
}

static void fill_allow_iovas(void *cmd, const struct size_env *env)
{
	struct iommu_ioas_allow_iovas *allow = cmd;

	allow->ioas_id = env->ioas_id;
}

static void fill_map(void *cmd, const struct size_env *env)
{
	struct iommu_ioas_map *map = cmd;

	map->flags = MAP_RW;
	map->ioas_id = env->ioas_id;
	map->user_va = (uintptr_t)env->mem;
	map->length = CPU_PAGE;
}

static void fill_copy(void *cmd, const struct size_env *env)
{
	struct iommu_ioas_copy *copy = cmd;

	copy->flags = MAP_RW;
	copy->dst_ioas_id = env->ioas_id;
	copy->src_ioas_id = env->ioas_id;
	copy->length = CPU_PAGE;
	copy->src_iova = SIZE_SRC_IOVA;
}

static void fill_unmap_all(void *cmd, const struct size_env *env)
{
	struct iommu_ioas_unmap *unmap = cmd;

	unmap->ioas_id = env->ioas_id;
	unmap->length = UINT64_MAX;
}

/* A range and page size it accepts, so that only the HWPT ID is wrong */
static void fill_dirty_bitmap(void *cmd, const struct size_env *env)
{
	struct iommu_hwpt_get_dirty_bitmap *get = cmd;

	get->length = CPU_PAGE;
	get->page_size = CPU_PAGE;
}

static void fill_map_file(void *cmd, const struct size_env *env)
{
	struct iommu_ioas_map_file *map = cmd;

	map->flags = MAP_RW;
	map->ioas_id = env->ioas_id;
	map->fd = env->memfd;
	map->length = CPU_PAGE;
}

FIXTURE(struct_size)
{
	int fd;
	struct size_env env;
	uint8_t *cmd;		/* two pages */
};

FIXTURE_VARIANT(struct_size)
{
	unsigned long ioctl_num;
	uint32_t min_size;	/* offsetofend of the last mandatory field */
	uint32_t size;		/* sizeof the struct */
	bool ioas;		/* the request names the fixture's IOAS */
	bool after_612;		/* adopted from a later kernel */
	void (*fill)(void *cmd, const struct size_env *env);
	int expect_errno;	/* result of a well-formed call, 0 = success */
};

FIXTURE_VARIANT_ADD(struct_size, destroy)
{
	.ioctl_num = IOMMU_DESTROY,
	.min_size = 8,
	.size = sizeof(struct iommu_destroy),
	.fill = fill_nothing,
	.expect_errno = ENOENT,	/* of ID 0 */
};

FIXTURE_VARIANT_ADD(struct_size, ioas_alloc)
{
	.ioctl_num = IOMMU_IOAS_ALLOC,
	.min_size = 12,
	.size = sizeof(struct iommu_ioas_alloc),
	.fill = fill_nothing,
};

FIXTURE_VARIANT_ADD(struct_size, ioas_iova_ranges)
{
	.ioctl_num = IOMMU_IOAS_IOVA_RANGES,
	.min_size = 32,
	.size = sizeof(struct iommu_ioas_iova_ranges),
	.ioas = true,
	.fill = fill_iova_ranges,
	.expect_errno = EMSGSIZE,	/* num_iovas is 0 */
};

FIXTURE_VARIANT_ADD(struct_size, ioas_allow_iovas)
{
	.ioctl_num = IOMMU_IOAS_ALLOW_IOVAS,
	.min_size = 24,
	.size = sizeof(struct iommu_ioas_allow_iovas),
	.ioas = true,
	.fill = fill_allow_iovas,
};

FIXTURE_VARIANT_ADD(struct_size, ioas_map)
{
	.ioctl_num = IOMMU_IOAS_MAP,
	.min_size = 40,
	.size = sizeof(struct iommu_ioas_map),
	.ioas = true,
	.fill = fill_map,
};

FIXTURE_VARIANT_ADD(struct_size, ioas_copy)
{
	.ioctl_num = IOMMU_IOAS_COPY,
	.min_size = 40,
	.size = sizeof(struct iommu_ioas_copy),
	.ioas = true,
	.fill = fill_copy,
};

FIXTURE_VARIANT_ADD(struct_size, ioas_unmap)
{
	.ioctl_num = IOMMU_IOAS_UNMAP,
	.min_size = 24,
	.size = sizeof(struct iommu_ioas_unmap),
	.ioas = true,
	.fill = fill_unmap_all,
};

FIXTURE_VARIANT_ADD(struct_size, option)
{
	.ioctl_num = IOMMU_OPTION,
	.min_size = 24,
	.size = sizeof(struct iommu_option),
	.fill = fill_nothing,	/* SET RLIMIT_MODE to 0 on an empty file */
};

FIXTURE_VARIANT_ADD(struct_size, vfio_ioas)
{
	.ioctl_num = IOMMU_VFIO_IOAS,
	.min_size = 12,
	.size = sizeof(struct iommu_vfio_ioas),
	.fill = fill_nothing,
	.expect_errno = ENODEV,	/* GET with no compat IOAS set */
};

FIXTURE_VARIANT_ADD(struct_size, hwpt_alloc)
{
	.ioctl_num = IOMMU_HWPT_ALLOC,
	.min_size = 24,
	.size = sizeof(struct iommu_hwpt_alloc),
	.fill = fill_nothing,
	.expect_errno = ENOENT,	/* of device 0 */
};

FIXTURE_VARIANT_ADD(struct_size, get_hw_info)
{
	.ioctl_num = IOMMU_GET_HW_INFO,
	.min_size = 32,
	.size = sizeof(struct iommu_hw_info),
	.fill = fill_nothing,
	.expect_errno = ENOENT,	/* of device 0 */
};

FIXTURE_VARIANT_ADD(struct_size, hwpt_set_dirty_tracking)
{
	.ioctl_num = IOMMU_HWPT_SET_DIRTY_TRACKING,
	.min_size = 16,
	.size = sizeof(struct iommu_hwpt_set_dirty_tracking),
	.fill = fill_nothing,
	.expect_errno = ENOENT,	/* of HWPT 0 */
};

FIXTURE_VARIANT_ADD(struct_size, hwpt_get_dirty_bitmap)
{
	.ioctl_num = IOMMU_HWPT_GET_DIRTY_BITMAP,
	.min_size = 48,
	.size = sizeof(struct iommu_hwpt_get_dirty_bitmap),
	.fill = fill_dirty_bitmap,
	.expect_errno = ENOENT,	/* of HWPT 0 */
};

FIXTURE_VARIANT_ADD(struct_size, hwpt_invalidate)
{
	.ioctl_num = IOMMU_HWPT_INVALIDATE,
	.min_size = 32,
	.size = sizeof(struct iommu_hwpt_invalidate),
	.fill = fill_nothing,
	.expect_errno = ENOENT,	/* of HWPT 0 */
};

FIXTURE_VARIANT_ADD(struct_size, fault_queue_alloc)
{
	.ioctl_num = IOMMU_FAULT_QUEUE_ALLOC,
	.min_size = 16,
	.size = sizeof(struct iommu_fault_alloc),
	.fill = fill_nothing,
};

FIXTURE_VARIANT_ADD(struct_size, ioas_map_file)
{
	.ioctl_num = IOMMU_IOAS_MAP_FILE,
	.min_size = 40,
	.size = sizeof(struct iommu_ioas_map_file),
	.ioas = true,
	.after_612 = true,
	.fill = fill_map_file,
};

FIXTURE_VARIANT_ADD(struct_size, ioas_change_process)
{
	.ioctl_num = IOMMU_IOAS_CHANGE_PROCESS,
	.min_size = 8,
	.size = sizeof(struct iommu_ioas_change_process),
	.after_612 = true,
	.fill = fill_nothing,	/* nothing is pinned: nothing to move */
};

FIXTURE_SETUP(struct_size)
{
	if (variant->after_612)
		SKIP_IF_UPSTREAM_612(return, "no such ioctl");
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	self->cmd = anon_alloc(2 * CPU_PAGE);
	ASSERT_NE(NULL, self->cmd);
	self->env.mem = anon_alloc(CPU_PAGE);
	ASSERT_NE(NULL, self->env.mem);
	self->env.memfd = memfd_create("struct_size", 0);
	ASSERT_LE(0, self->env.memfd);
	ASSERT_EQ(0, ftruncate(self->env.memfd, CPU_PAGE));
	/* An object would make the SET of the option variant EBUSY */
	if (variant->ioas) {
		ASSERT_EQ(0, ioas_alloc(self->fd, &self->env.ioas_id));
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->env.ioas_id,
					    self->env.mem, CPU_PAGE,
					    SIZE_SRC_IOVA));
	}
}

FIXTURE_TEARDOWN(struct_size)
{
	close(self->fd);
	close(self->env.memfd);
	munmap(self->env.mem, CPU_PAGE);
	munmap(self->cmd, 2 * CPU_PAGE);
}

/*
 * Issues the variant's request at @cmd with @size in its size field and,
 * unless @tail is 0, byte @tail set to 1. The request is filled in first,
 * so a size cut below a field of it leaves that field out.
 */
static int call_sized(int fd, const struct size_env *env, uint8_t *cmd,
		      unsigned long ioctl_num,
		      void (*fill)(void *cmd, const struct size_env *env),
		      uint32_t size, uint32_t tail)
{
	memset(cmd, 0, 64);
	fill(cmd, env);
	memcpy(cmd, &size, sizeof(size));
	if (tail)
		cmd[tail] = 1;
	return ioctl(fd, ioctl_num, cmd);
}

#define CALL_SIZED(cmd, size, tail)                                            \
	call_sized(self->fd, &self->env, cmd, variant->ioctl_num,             \
		   variant->fill, size, tail)

TEST_F(struct_size, below_the_minimum_is_einval)
{
	uint32_t size;

	for (size = 0; size != variant->min_size; size++)
		EXPECT_ERRNO(EINVAL, CALL_SIZED(self->cmd, size, 0));
}

TEST_F(struct_size, minimum_exact_and_zero_extended_sizes_work)
{
	uint32_t sizes[] = { variant->min_size, variant->size,
			     variant->size + 1, variant->size + 8, CPU_PAGE };
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(sizes); i++) {
		memset(self->cmd, 0, CPU_PAGE);
		errno = 0;
		if (variant->expect_errno)
			EXPECT_ERRNO(variant->expect_errno,
				     CALL_SIZED(self->cmd, sizes[i], 0));
		else
			EXPECT_EQ(0, CALL_SIZED(self->cmd, sizes[i], 0));
	}
}

TEST_F(struct_size, nonzero_tail_is_e2big)
{
	uint32_t tail;

	for (tail = 0; tail != 16; tail++)
		EXPECT_ERRNO(E2BIG, CALL_SIZED(self->cmd, variant->size + 16,
					       variant->size + tail));
	memset(self->cmd, 0, CPU_PAGE);
	EXPECT_ERRNO(E2BIG, CALL_SIZED(self->cmd, CPU_PAGE, CPU_PAGE - 1));
}

TEST_F(struct_size, size_past_readable_memory_is_efault)
{
	uint8_t *end = self->cmd + CPU_PAGE;

	ASSERT_EQ(0, munmap(end, CPU_PAGE));
	/* The struct fits in the mapped page, its declared tail does not */
	EXPECT_ERRNO(EFAULT, CALL_SIZED(end - 64, 128, 0));
	ASSERT_EQ(end, mmap(end, CPU_PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
}

FIXTURE(iova_ranges)
{
	int fd;
	uint32_t ioas_id;
};

FIXTURE_SETUP(iova_ranges)
{
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
}

FIXTURE_TEARDOWN(iova_ranges)
{
	close(self->fd);
}

TEST_F(iova_ranges, empty_ioas_offers_the_whole_space)
{
	struct iommu_iova_range ranges[2] = {};
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 2,
		.allowed_iovas = (uintptr_t)ranges,
	};

	ASSERT_EQ(0, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	EXPECT_EQ(1, cmd.num_iovas);
	EXPECT_EQ(0, ranges[0].start);
	EXPECT_EQ(UINT64_MAX, ranges[0].last);
	EXPECT_EQ(1, cmd.out_iova_alignment);
	/* Entries past the count are left alone */
	EXPECT_EQ(0, ranges[1].start);
	EXPECT_EQ(0, ranges[1].last);
}

TEST_F(iova_ranges, short_range_array_is_emsgsize_with_count)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
	};

	/* No array at all: only the count comes back */
	EXPECT_ERRNO(EMSGSIZE, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	EXPECT_EQ(1, cmd.num_iovas);
	EXPECT_EQ(1, cmd.out_iova_alignment);
}

TEST_F(iova_ranges, range_array_pointer_is_checked)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 1,
		.allowed_iovas = 8,
	};

	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
}

TEST_F(iova_ranges, iova_ranges_rejects_reserved_and_unknown_ids)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.__reserved = 1,
	};

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES,
				       &cmd));
	cmd.__reserved = 0;
	cmd.ioas_id = self->ioas_id + 1000;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	cmd.ioas_id = 0;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
}

TEST_F(iova_ranges, destroyed_ioas_is_gone_for_every_ioctl)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
	};

	ASSERT_EQ(0, object_destroy(self->fd, self->ioas_id));
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, self->ioas_id));
}

FIXTURE(option)
{
	int fd;
};

FIXTURE_SETUP(option)
{
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(option)
{
	close(self->fd);
}

TEST_F(option, rlimit_mode_defaults_to_user)
{
	uint64_t val = 7;

	ASSERT_EQ(0, rlimit_mode_get(self->fd, &val));
	EXPECT_EQ(0, val);
}

TEST_F(option, rlimit_mode_set_and_get_back)
{
	uint64_t val = 1;

	ASSERT_EQ(0, rlimit_mode_set(self->fd, val));
	val = 0;
	ASSERT_EQ(0, rlimit_mode_get(self->fd, &val));
	EXPECT_EQ(1, val);
	val = 0;
	ASSERT_EQ(0, rlimit_mode_set(self->fd, val));
	val = 1;
	ASSERT_EQ(0, rlimit_mode_get(self->fd, &val));
	EXPECT_EQ(0, val);
}

TEST_F(option, rlimit_mode_rejects_values_above_one)
{
	uint64_t val = 2;

	EXPECT_ERRNO(EINVAL, rlimit_mode_set(self->fd, val));
	val = UINT64_MAX;
	EXPECT_ERRNO(EINVAL, rlimit_mode_set(self->fd, val));
}

TEST_F(option, rlimit_mode_is_fixed_once_objects_exist)
{
	uint64_t val = 1;
	uint32_t id;

	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	EXPECT_ERRNO(EBUSY, rlimit_mode_set(self->fd, val));
	ASSERT_EQ(0, rlimit_mode_get(self->fd, &val));
	EXPECT_EQ(0, val);
	/* Empty again: the mode may change again */
	ASSERT_EQ(0, object_destroy(self->fd, id));
	val = 1;
	EXPECT_EQ(0, rlimit_mode_set(self->fd, val));
}

TEST_F(option, rlimit_mode_is_a_file_option)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET,
		.object_id = 1,
	};

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_OPTION, &cmd));
}

TEST_F(option, malformed_requests_are_eopnotsupp)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET,
		.__reserved = 1,
	};

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_OPTION, &cmd));
	cmd.__reserved = 0;
	cmd.op = 2;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_OPTION, &cmd));
	cmd.op = IOMMU_OPTION_OP_GET;
	cmd.option_id = 1000;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_OPTION, &cmd));
}

TEST_F(option, rlimit_mode_set_needs_cap_sys_resource)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t val = 1;

		if (cap_drop(CAP_SYS_RESOURCE))
			_exit(2);
		/* Reading stays allowed, changing is not */
		if (rlimit_mode_get(self->fd, &val) || val)
			_exit(3);
		val = 1;
		if (rlimit_mode_set(self->fd, val) != -1 || errno != EPERM)
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

static int vfio_ioas(int fd, uint16_t op, uint32_t *ioas_id)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = op,
		.ioas_id = *ioas_id,
	};
	int rc = ioctl(fd, IOMMU_VFIO_IOAS, &cmd);

	*ioas_id = cmd.ioas_id;
	return rc;
}

TEST_F(iommufd, vfio_ioas_is_unset_in_a_new_file)
{
	uint32_t id = 0;

	EXPECT_ERRNO(ENODEV, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &id));
}

TEST_F(iommufd, vfio_ioas_set_get_clear)
{
	uint32_t ioas, id;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	id = ioas;
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	id = 0;
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_EQ(ioas, id);
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_CLEAR, &id));
	EXPECT_ERRNO(ENODEV, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &id));
}

TEST_F(iommufd, vfio_ioas_goes_with_its_ioas)
{
	uint32_t ioas, id;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	id = ioas;
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	/* Being the compat IOAS does not keep an IOAS alive */
	ASSERT_EQ(0, object_destroy(self->fd, ioas));
	EXPECT_ERRNO(ENODEV, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &id));
}

TEST_F(iommufd, vfio_ioas_rejects_bad_requests)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_VFIO_IOAS_GET,
		.__reserved = 1,
	};
	uint32_t id = 12345;

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));
	cmd.__reserved = 0;
	cmd.op = 3;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));
	EXPECT_ERRNO(ENOENT, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
}

TEST_HARNESS_MAIN
