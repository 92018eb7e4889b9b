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
 * The extensible-struct rules, for every ioctl this file implements: the
 * struct is placed at the end of a page followed by a guard-free page so
 * that sizes past the kernel's struct are readable.
 */
FIXTURE(struct_size)
{
	int fd;
	uint8_t *buf;
	uint32_t ioas_id;
};

FIXTURE_VARIANT(struct_size)
{
	unsigned long ioctl_num;
	uint32_t min_size;	/* offsetofend of the last mandatory field */
	uint32_t size;		/* sizeof the 6.12 struct */
	uint32_t id_offset;	/* where an IOAS ID goes, 0 if none */
	int expect_errno;	/* result of a well-formed call, 0 = success */
};

FIXTURE_VARIANT_ADD(struct_size, destroy)
{
	.ioctl_num = IOMMU_DESTROY,
	.min_size = 8,
	.size = sizeof(struct iommu_destroy),
	.expect_errno = ENOENT,	/* the buffer names ID 0 */
};

FIXTURE_VARIANT_ADD(struct_size, ioas_alloc)
{
	.ioctl_num = IOMMU_IOAS_ALLOC,
	.min_size = 12,
	.size = sizeof(struct iommu_ioas_alloc),
};

FIXTURE_VARIANT_ADD(struct_size, ioas_iova_ranges)
{
	.ioctl_num = IOMMU_IOAS_IOVA_RANGES,
	.min_size = 32,
	.size = sizeof(struct iommu_ioas_iova_ranges),
	.id_offset = 4,
	.expect_errno = EMSGSIZE,	/* num_iovas is 0 in the buffer */
};

FIXTURE_VARIANT_ADD(struct_size, vfio_ioas)
{
	.ioctl_num = IOMMU_VFIO_IOAS,
	.min_size = 12,
	.size = sizeof(struct iommu_vfio_ioas),
	.expect_errno = ENODEV,	/* GET with no compat IOAS set */
};

FIXTURE_VARIANT_ADD(struct_size, option)
{
	.ioctl_num = IOMMU_OPTION,
	.min_size = 24,
	.size = sizeof(struct iommu_option),
	.id_offset = 0,
	.expect_errno = 0,	/* SET RLIMIT_MODE to 0 on an empty file */
};

FIXTURE_SETUP(struct_size)
{
	long page = sysconf(_SC_PAGESIZE);

	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	self->buf = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	if (variant->id_offset)
		ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
}

FIXTURE_TEARDOWN(struct_size)
{
	munmap(self->buf, 2 * sysconf(_SC_PAGESIZE));
	close(self->fd);
}

static int call_with_size(int fd, unsigned long num, uint8_t *buf,
			  uint32_t size, uint32_t id_offset, uint32_t id)
{
	memcpy(buf, &size, sizeof(size));
	if (id_offset)
		memcpy(buf + id_offset, &id, sizeof(id));
	return ioctl(fd, num, buf);
}

static void check_result(struct __test_metadata *_metadata, int rc,
			 int expect_errno)
{
	if (expect_errno) {
		EXPECT_EQ(-1, rc);
		EXPECT_EQ(expect_errno, errno);
	} else {
		EXPECT_EQ(0, rc);
	}
}

TEST_F(struct_size, below_minimum_is_einval)
{
	uint32_t size;

	for (size = 0; size < variant->min_size; size++) {
		memset(self->buf, 0, 64);
		EXPECT_ERRNO(EINVAL, call_with_size(self->fd,
						    variant->ioctl_num,
						    self->buf, size, 0, 0));
	}
}

TEST_F(struct_size, exact_and_zero_extended_sizes_work)
{
	uint32_t sizes[] = { variant->size, variant->size + 8, 4096 };
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(sizes); i++) {
		memset(self->buf, 0, 4096 + 64);
		errno = 0;
		check_result(_metadata,
			     call_with_size(self->fd, variant->ioctl_num,
					    self->buf, sizes[i],
					    variant->id_offset, self->ioas_id),
			     variant->expect_errno);
	}
}

TEST_F(struct_size, nonzero_tail_is_e2big)
{
	uint32_t tail;

	for (tail = 0; tail != 16; tail++) {
		memset(self->buf, 0, 64);
		self->buf[variant->size + tail] = 1;
		EXPECT_ERRNO(E2BIG, call_with_size(self->fd,
						   variant->ioctl_num,
						   self->buf,
						   variant->size + 16,
						   variant->id_offset,
						   self->ioas_id));
	}
}

TEST_F(struct_size, size_past_readable_memory_is_efault)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *end = self->buf + page;

	ASSERT_EQ(0, munmap(end, page));
	/* The struct fits in the mapped page, its declared tail does not */
	memset(end - 64, 0, 64);
	EXPECT_ERRNO(EFAULT, call_with_size(self->fd, variant->ioctl_num,
					    end - 64, 128, variant->id_offset,
					    self->ioas_id));
	ASSERT_EQ(end, mmap(end, page, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
}

FIXTURE(ioas)
{
	int fd;
	uint32_t ioas_id;
};

FIXTURE_SETUP(ioas)
{
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
}

FIXTURE_TEARDOWN(ioas)
{
	close(self->fd);
}

TEST_F(ioas, empty_ioas_offers_the_whole_space)
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

TEST_F(ioas, short_range_array_is_emsgsize_with_count)
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

TEST_F(ioas, range_array_pointer_is_checked)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 1,
		.allowed_iovas = 8,
	};

	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
}

TEST_F(ioas, iova_ranges_rejects_reserved_and_unknown_ids)
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

TEST_F(ioas, destroyed_ioas_is_gone_for_every_ioctl)
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
