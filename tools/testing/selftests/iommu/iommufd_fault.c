// SPDX-License-Identifier: GPL-2.0-only
/*
 * FAULT objects: IOMMU_FAULT_QUEUE_ALLOC, the file it returns, and the
 * I/O page faults of devices attached to HWPTs that name a FAULT.
 *
 * The fault_queue fixture uses the public ABI only (the object and its
 * file, with no device) and also runs on pristine 6.12. The iopf fixture
 * needs the mock IOMMU: a device that can issue page requests
 * (MOCK_DEVICE_IOPF) is attached to a nested HWPT with a FAULT; the test op
 * MOCK_DEVICE_PAGE_REQUEST makes it fault, and MOCK_DEVICE_PAGE_RESPONSE
 * shows what the device was answered, so that each test can check that
 * every group is answered exactly once, by userspace or by the kernel on
 * detach, replace or close.
 */
#include <poll.h>
#include <pthread.h>
#include <stddef.h>

#include "iommufd_selftest.h"

#define PGF_SIZE	sizeof(struct iommu_hwpt_pgfault)
#define RESP_SIZE	sizeof(struct iommu_hwpt_page_response)

/* The core's own "Response Failure" code, as the mock reports it */
#define RESP_CORE_FAILURE	2

static int fault_alloc(int fd, uint32_t flags, uint32_t *id, int *fault_fd)
{
	struct iommu_fault_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
	};
	int rc;

	rc = ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd);
	if (!rc) {
		*id = cmd.out_fault_id;
		*fault_fd = cmd.out_fault_fd;
	}
	return rc;
}

static ssize_t respond(int fault_fd, uint32_t cookie, uint32_t code)
{
	struct iommu_hwpt_page_response resp = {
		.cookie = cookie,
		.code = code,
	};

	return write(fault_fd, &resp, sizeof(resp));
}

static short poll_events(int fault_fd)
{
	struct pollfd pfd = { .fd = fault_fd, .events = POLLIN | POLLOUT };

	if (poll(&pfd, 1, 0) < 0)
		return -1;
	return pfd.revents;
}

/* ---- The object and its file, no device: public ABI ---- */

FIXTURE(fault_queue)
{
	int fd;
	uint32_t id;
	int fault_fd;
};

FIXTURE_SETUP(fault_queue)
{
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, fault_alloc(self->fd, 0, &self->id, &self->fault_fd));
}

FIXTURE_TEARDOWN(fault_queue)
{
	if (self->fault_fd >= 0)
		close(self->fault_fd);
	close(self->fd);
}

TEST_F(fault_queue, alloc_returns_an_object_and_a_close_on_exec_fd)
{
	EXPECT_NE(0, self->id);
	EXPECT_LT(2, self->fault_fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->fault_fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(self->fault_fd, F_GETFL) & O_ACCMODE);
}

TEST_F(fault_queue, alloc_with_any_flag_fails)
{
	uint32_t id;
	int ffd;

	EXPECT_ERRNO(EOPNOTSUPP, fault_alloc(self->fd, 1, &id, &ffd));
	EXPECT_ERRNO(EOPNOTSUPP, fault_alloc(self->fd, 1U << 31, &id, &ffd));
}

TEST_F(fault_queue, alloc_shorter_than_its_outputs_fails)
{
	struct iommu_fault_alloc cmd = {
		.size = offsetof(struct iommu_fault_alloc, out_fault_fd),
	};

	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd));
}

TEST_F(fault_queue, each_alloc_is_a_new_object_and_file)
{
	uint32_t id2;
	int ffd2;

	ASSERT_EQ(0, fault_alloc(self->fd, 0, &id2, &ffd2));
	EXPECT_NE(self->id, id2);
	EXPECT_NE(self->fault_fd, ffd2);
	EXPECT_EQ(0, close(ffd2));
	EXPECT_EQ(0, object_destroy(self->fd, id2));
}

TEST_F(fault_queue, read_of_an_empty_queue_returns_nothing_at_once)
{
	struct iommu_hwpt_pgfault buf[2];

	EXPECT_EQ(0, read(self->fault_fd, buf, sizeof(buf)));
	EXPECT_EQ(0, read(self->fault_fd, buf, PGF_SIZE));
	EXPECT_EQ(0, read(self->fault_fd, buf, 0));
}

TEST_F(fault_queue, read_of_part_of_a_record_fails)
{
	struct iommu_hwpt_pgfault buf[2];

	EXPECT_ERRNO(ESPIPE, read(self->fault_fd, buf, 1));
	EXPECT_ERRNO(ESPIPE, read(self->fault_fd, buf, PGF_SIZE - 1));
	EXPECT_ERRNO(ESPIPE, read(self->fault_fd, buf, PGF_SIZE + 8));
}

TEST_F(fault_queue, the_file_has_no_position)
{
	struct iommu_hwpt_pgfault buf;

	EXPECT_ERRNO(ESPIPE, pread(self->fault_fd, &buf, sizeof(buf), 0));
	EXPECT_ERRNO(ESPIPE, lseek(self->fault_fd, 0, SEEK_SET));
}

TEST_F(fault_queue, write_of_an_unknown_cookie_fails)
{
	EXPECT_ERRNO(EINVAL, respond(self->fault_fd, 0,
				     IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_ERRNO(EINVAL, respond(self->fault_fd, 1,
				     IOMMUFD_PAGE_RESP_INVALID));
	EXPECT_ERRNO(EINVAL, respond(self->fault_fd, ~0U,
				     IOMMUFD_PAGE_RESP_SUCCESS));
}

TEST_F(fault_queue, write_of_an_unknown_code_fails)
{
	EXPECT_ERRNO(EINVAL, respond(self->fault_fd, 1, 2));
	EXPECT_ERRNO(EINVAL, respond(self->fault_fd, 1, ~0U));
}

TEST_F(fault_queue, write_of_part_of_a_record_fails)
{
	struct iommu_hwpt_page_response resp[2] = {};

	EXPECT_ERRNO(ESPIPE, write(self->fault_fd, resp, 1));
	EXPECT_ERRNO(ESPIPE, write(self->fault_fd, resp, RESP_SIZE + 4));
	EXPECT_EQ(0, write(self->fault_fd, resp, 0));
}

TEST_F(fault_queue, write_of_an_unreadable_buffer_fails)
{
	void *none = mmap(NULL, CPU_PAGE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, none);
	EXPECT_ERRNO(EFAULT, write(self->fault_fd, none, RESP_SIZE));
	munmap(none, CPU_PAGE);
}

TEST_F(fault_queue, an_empty_queue_polls_writable_only)
{
	short ev = poll_events(self->fault_fd);

	EXPECT_EQ(POLLOUT, ev & (POLLIN | POLLOUT));
}

TEST_F(fault_queue, destroy_waits_for_the_file_to_close)
{
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->id));
	EXPECT_EQ(0, close(self->fault_fd));
	self->fault_fd = -1;
	EXPECT_EQ(0, object_destroy(self->fd, self->id));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, self->id));
}

TEST_F(fault_queue, the_file_outlives_its_iommufd)
{
	struct iommu_hwpt_pgfault buf;

	EXPECT_EQ(0, close(self->fd));
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(0, read(self->fault_fd, &buf, sizeof(buf)));
	EXPECT_ERRNO(EINVAL, respond(self->fault_fd, 1,
				     IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_EQ(POLLOUT, poll_events(self->fault_fd) & (POLLIN | POLLOUT));
}

TEST_F(fault_queue, is_no_ioas)
{
	uint64_t iova = 0x100000;

	EXPECT_ERRNO(ENOENT, ioas_map(self->fd, self->id, MAP_RW, &iova,
				      CPU_PAGE, &iova));
	EXPECT_ERRNO(ENOENT, ioas_unmap_all(self->fd, self->id, NULL));
}

/* ---- Page requests of a mock device (mock IOMMU only) ---- */

#define IOVA_FAULT	0x40000ULL

/* What MOCK_DEVICE_PAGE_RESPONSE reported */
struct mock_resp {
	uint32_t iopf_enabled;
	uint32_t responses;
	uint32_t lost;
	uint32_t grpid;
	uint32_t pasid;
	uint32_t code;
};

static int page_request_pasid(int fd, uint32_t dev, uint32_t flags,
			      uint32_t pasid, uint32_t grpid, uint64_t addr)
{
	struct iommu_test_cmd cmd = {
		.page_request = {
			.flags = flags,
			.pasid = pasid,
			.grpid = grpid,
			.perm = IOMMU_PGFAULT_PERM_READ |
				IOMMU_PGFAULT_PERM_WRITE,
			.addr = addr,
		},
	};

	return test_cmd(fd, IOMMU_TEST_OP_MOCK_DEVICE_PAGE_REQUEST, dev, &cmd);
}

static int page_request(int fd, uint32_t dev, uint32_t flags, uint32_t grpid,
			uint64_t addr)
{
	return page_request_pasid(fd, dev, flags, 0, grpid, addr);
}

/* A whole group of one request */
static int page_request_last(int fd, uint32_t dev, uint32_t grpid)
{
	return page_request(fd, dev, MOCK_PAGE_REQUEST_LAST, grpid,
			    IOVA_FAULT + grpid * CPU_PAGE);
}

static int page_response(int fd, uint32_t dev, struct mock_resp *out)
{
	struct iommu_test_cmd cmd = {};
	int rc;

	rc = test_cmd(fd, IOMMU_TEST_OP_MOCK_DEVICE_PAGE_RESPONSE, dev, &cmd);
	if (!rc) {
		out->iopf_enabled = cmd.page_response.out_iopf_enabled;
		out->responses = cmd.page_response.out_responses;
		out->lost = cmd.page_response.out_lost;
		out->grpid = cmd.page_response.out_grpid;
		out->pasid = cmd.page_response.out_pasid;
		out->code = cmd.page_response.out_code;
	}
	return rc;
}

/* A mock nested HWPT on @parent whose faults go to @fault (0: nowhere) */
static int nested_alloc(int fd, uint32_t idev, uint32_t parent,
			uint32_t fault, uint32_t *hwpt)
{
	struct iommu_hwpt_mock_nested data = { .iotlb = 1 };
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = fault ? IOMMU_HWPT_FAULT_ID_VALID : 0,
		.dev_id = idev,
		.pt_id = parent,
		.data_type = IOMMU_HWPT_DATA_SELFTEST,
		.data_len = sizeof(data),
		.data_uptr = (uintptr_t)&data,
		.fault_id = fault,
	};
	int rc;

	rc = ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);
	if (!rc)
		*hwpt = cmd.out_hwpt_id;
	return rc;
}

/* Reads up to @max records; returns how many, or -1 */
static int read_faults(int fault_fd, struct iommu_hwpt_pgfault *buf,
		       unsigned int max)
{
	ssize_t got = read(fault_fd, buf, max * PGF_SIZE);

	if (got < 0)
		return -1;
	return got / PGF_SIZE;
}

FIXTURE(iopf)
{
	int fd;
	uint32_t ioas;
	uint32_t parent;	/* NEST_PARENT paging HWPT on ioas */
	struct mdev dev;	/* MOCK_DEVICE_IOPF, attached to nested */
	uint32_t fault;
	int fault_fd;
	uint32_t nested;	/* nested HWPT reporting to fault */
};

FIXTURE_SETUP(iopf)
{
	uint32_t got;

	MOCK_FILE_OPEN(self->fd, return);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mdev_add(self->fd, MOCK_DEVICE_IOPF, &self->dev));
	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_NEST_PARENT,
				self->dev.idev, self->ioas, &self->parent));
	ASSERT_EQ(0, fault_alloc(self->fd, 0, &self->fault, &self->fault_fd));
	ASSERT_EQ(0, nested_alloc(self->fd, self->dev.idev, self->parent,
				  self->fault, &self->nested));
	ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->nested, &got));
	ASSERT_EQ(self->nested, got);
}

FIXTURE_TEARDOWN(iopf)
{
	if (on_upstream())
		return;
	if (self->fault_fd >= 0)
		close(self->fault_fd);
	close(self->fd);
}

/* The oldest response @dev got that was not taken must answer @grpid */
static void expect_answer(struct __test_metadata *_metadata, int fd,
			  uint32_t dev, uint32_t grpid, uint32_t code)
{
	struct mock_resp r;

	ASSERT_EQ(0, page_response(fd, dev, &r));
	EXPECT_NE(0, r.responses) TH_LOG("no answer for group %u", grpid);
	EXPECT_EQ(grpid, r.grpid);
	EXPECT_EQ(code, r.code);
}

/* @dev got no answer that was not taken yet */
static void expect_no_answer(struct __test_metadata *_metadata, int fd,
			     uint32_t dev)
{
	struct mock_resp r;

	ASSERT_EQ(0, page_response(fd, dev, &r));
	EXPECT_EQ(0, r.responses);
}

TEST_F(iopf, attach_turns_faults_on_and_detach_off)
{
	struct mock_resp r;

	ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
	EXPECT_EQ(1, r.iopf_enabled);
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
	EXPECT_EQ(0, r.iopf_enabled);
	EXPECT_EQ(0, r.responses);
}

TEST_F(iopf, a_request_is_read_with_every_field)
{
	struct iommu_hwpt_pgfault pgf[2];
	struct mock_resp r;

	EXPECT_EQ(POLLOUT, poll_events(self->fault_fd) & (POLLIN | POLLOUT));
	ASSERT_EQ(0, page_request(self->fd, self->dev.id,
				  MOCK_PAGE_REQUEST_LAST, 7, 0xabc123));
	EXPECT_EQ(POLLIN | POLLOUT,
		  poll_events(self->fault_fd) & (POLLIN | POLLOUT));
	expect_no_answer(_metadata, self->fd, self->dev.id);

	memset(pgf, 0xff, sizeof(pgf));
	ASSERT_EQ(1, read_faults(self->fault_fd, pgf, 2));
	EXPECT_EQ(IOMMU_PGFAULT_FLAGS_LAST_PAGE, pgf[0].flags);
	EXPECT_EQ(self->dev.idev, pgf[0].dev_id);
	EXPECT_EQ(0, pgf[0].pasid);
	EXPECT_EQ(7, pgf[0].grpid);
	EXPECT_EQ(IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE,
		  pgf[0].perm);
	EXPECT_EQ(0xabc123, pgf[0].addr);
	EXPECT_EQ(0, pgf[0].length);
	EXPECT_NE(0, pgf[0].cookie);
	EXPECT_EQ(POLLOUT, poll_events(self->fault_fd) & (POLLIN | POLLOUT));
	EXPECT_EQ(0, read_faults(self->fault_fd, pgf, 2));

	ASSERT_EQ(RESP_SIZE, respond(self->fault_fd, pgf[0].cookie,
				     IOMMUFD_PAGE_RESP_SUCCESS));
	ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
	EXPECT_EQ(1, r.responses);
	EXPECT_EQ(7, r.grpid);
	EXPECT_EQ(0, r.pasid);
	EXPECT_EQ(IOMMUFD_PAGE_RESP_SUCCESS, r.code);
	expect_no_answer(_metadata, self->fd, self->dev.id);
}

TEST_F(iopf, a_group_is_read_whole_or_not_at_all)
{
	struct iommu_hwpt_pgfault pgf[4];
	int i;

	ASSERT_EQ(0, page_request(self->fd, self->dev.id, 0, 3, 0x1000));
	ASSERT_EQ(0, page_request(self->fd, self->dev.id, 0, 3, 0x2000));
	/* Until its last request the group is not complete */
	EXPECT_EQ(0, read_faults(self->fault_fd, pgf, 4));
	ASSERT_EQ(0, page_request(self->fd, self->dev.id,
				  MOCK_PAGE_REQUEST_LAST, 3, 0x3000));

	EXPECT_ERRNO(EINVAL, read(self->fault_fd, pgf, 2 * PGF_SIZE));
	ASSERT_EQ(3, read_faults(self->fault_fd, pgf, 4));
	for (i = 0; i != 3; i++) {
		EXPECT_EQ(3, pgf[i].grpid);
		EXPECT_EQ(pgf[0].cookie, pgf[i].cookie);
		EXPECT_EQ(i == 2 ? IOMMU_PGFAULT_FLAGS_LAST_PAGE : 0,
			  pgf[i].flags);
	}
	EXPECT_EQ(0x3000, pgf[2].addr);
	ASSERT_EQ(RESP_SIZE, respond(self->fault_fd, pgf[0].cookie,
				     IOMMUFD_PAGE_RESP_INVALID));
	expect_answer(_metadata, self->fd, self->dev.id, 3, IOMMUFD_PAGE_RESP_INVALID);
	expect_no_answer(_metadata, self->fd, self->dev.id);
}

TEST_F(iopf, a_read_takes_the_groups_that_fit)
{
	struct iommu_hwpt_pgfault pgf[3];

	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 1));
	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 2));
	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 3));

	ASSERT_EQ(1, read_faults(self->fault_fd, pgf, 1));
	EXPECT_EQ(1, pgf[0].grpid);
	ASSERT_EQ(2, read_faults(self->fault_fd, pgf + 1, 2));
	EXPECT_EQ(2, pgf[1].grpid);
	EXPECT_EQ(3, pgf[2].grpid);
	EXPECT_NE(pgf[0].cookie, pgf[1].cookie);
	EXPECT_NE(pgf[1].cookie, pgf[2].cookie);
	EXPECT_NE(pgf[0].cookie, pgf[2].cookie);
}

TEST_F(iopf, a_group_is_answered_once)
{
	struct iommu_hwpt_pgfault pgf;

	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 5));
	ASSERT_EQ(1, read_faults(self->fault_fd, &pgf, 1));
	ASSERT_EQ(RESP_SIZE, respond(self->fault_fd, pgf.cookie,
				     IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_ERRNO(EINVAL, respond(self->fault_fd, pgf.cookie,
				     IOMMUFD_PAGE_RESP_SUCCESS));
	expect_answer(_metadata, self->fd, self->dev.id, 5, IOMMUFD_PAGE_RESP_SUCCESS);
	expect_no_answer(_metadata, self->fd, self->dev.id);
}

TEST_F(iopf, a_group_not_read_cannot_be_answered)
{
	struct iommu_hwpt_pgfault pgf;

	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 5));
	/* Cookies are handed out by read; the first would be 1 */
	EXPECT_ERRNO(EINVAL, respond(self->fault_fd, 1,
				     IOMMUFD_PAGE_RESP_SUCCESS));
	expect_no_answer(_metadata, self->fd, self->dev.id);
	ASSERT_EQ(1, read_faults(self->fault_fd, &pgf, 1));
	EXPECT_EQ(5, pgf.grpid);
}

TEST_F(iopf, a_write_stops_at_the_first_bad_answer)
{
	struct iommu_hwpt_page_response resp[3];
	struct iommu_hwpt_pgfault pgf[2];

	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 1));
	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 2));
	ASSERT_EQ(2, read_faults(self->fault_fd, pgf, 2));

	resp[0] = (struct iommu_hwpt_page_response){ pgf[0].cookie, 0 };
	resp[1] = (struct iommu_hwpt_page_response){ pgf[1].cookie, 5 };
	resp[2] = (struct iommu_hwpt_page_response){ pgf[1].cookie, 0 };
	EXPECT_EQ(RESP_SIZE, write(self->fault_fd, resp, sizeof(resp)));
	expect_answer(_metadata, self->fd, self->dev.id, 1, IOMMUFD_PAGE_RESP_SUCCESS);
	expect_no_answer(_metadata, self->fd, self->dev.id);
	/* The rest is answered by a write of its own */
	EXPECT_EQ(RESP_SIZE, write(self->fault_fd, &resp[2], RESP_SIZE));
	expect_answer(_metadata, self->fd, self->dev.id, 2, IOMMUFD_PAGE_RESP_SUCCESS);
}

TEST_F(iopf, many_answers_in_one_write)
{
	struct iommu_hwpt_page_response resp[8];
	struct iommu_hwpt_pgfault pgf[8];
	int i;

	for (i = 0; i != 8; i++)
		ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, i));
	ASSERT_EQ(8, read_faults(self->fault_fd, pgf, 8));
	for (i = 0; i != 8; i++)
		resp[7 - i] = (struct iommu_hwpt_page_response){
			pgf[i].cookie, i & 1
		};
	EXPECT_EQ(sizeof(resp), write(self->fault_fd, resp, sizeof(resp)));
	for (i = 7; i >= 0; i--)
		expect_answer(_metadata, self->fd, self->dev.id, i, i & 1);
	expect_no_answer(_metadata, self->fd, self->dev.id);
}

TEST_F(iopf, a_read_into_an_unwritable_buffer_keeps_the_group)
{
	struct iommu_hwpt_pgfault pgf;
	void *ro;

	ro = mmap(NULL, CPU_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		  0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 4));
	EXPECT_ERRNO(EFAULT, read(self->fault_fd, ro, PGF_SIZE));
	ASSERT_EQ(1, read_faults(self->fault_fd, &pgf, 1));
	EXPECT_EQ(4, pgf.grpid);
	/* The failed read gave its cookie back */
	EXPECT_EQ(1, pgf.cookie);
	munmap(ro, CPU_PAGE);
}

TEST_F(iopf, detach_answers_what_is_left_invalid)
{
	struct iommu_hwpt_pgfault pgf;
	struct mock_resp r;

	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 1));
	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 2));
	/* One read and not answered, one still queued */
	ASSERT_EQ(1, read_faults(self->fault_fd, &pgf, 1));
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));

	ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
	EXPECT_EQ(2, r.responses);
	EXPECT_EQ(IOMMUFD_PAGE_RESP_INVALID, r.code);
	ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
	EXPECT_EQ(1, r.responses);
	EXPECT_EQ(IOMMUFD_PAGE_RESP_INVALID, r.code);
	expect_no_answer(_metadata, self->fd, self->dev.id);

	EXPECT_EQ(0, read_faults(self->fault_fd, &pgf, 1));
	EXPECT_ERRNO(EINVAL, respond(self->fault_fd, pgf.cookie,
				     IOMMUFD_PAGE_RESP_SUCCESS));
	/* With faults off the device cannot ask */
	EXPECT_ERRNO(EINVAL, page_request_last(self->fd, self->dev.id, 3));
	expect_no_answer(_metadata, self->fd, self->dev.id);
}

TEST_F(iopf, replace_answers_the_old_attachments_faults)
{
	uint32_t nested2, got;
	struct iommu_hwpt_pgfault pgf[2];
	struct mock_resp r;

	ASSERT_EQ(0, nested_alloc(self->fd, self->dev.idev, self->parent,
				  self->fault, &nested2));
	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 1));
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, nested2, &got));
	expect_answer(_metadata, self->fd, self->dev.id, 1, IOMMUFD_PAGE_RESP_INVALID);
	EXPECT_EQ(0, read_faults(self->fault_fd, pgf, 2));

	/* Faults stay on and now come through the new HWPT */
	ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
	EXPECT_EQ(1, r.iopf_enabled);
	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 2));
	ASSERT_EQ(1, read_faults(self->fault_fd, pgf, 2));
	EXPECT_EQ(2, pgf[0].grpid);
	ASSERT_EQ(RESP_SIZE, respond(self->fault_fd, pgf[0].cookie,
				     IOMMUFD_PAGE_RESP_SUCCESS));
	expect_answer(_metadata, self->fd, self->dev.id, 2, IOMMUFD_PAGE_RESP_SUCCESS);
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, nested2));
	EXPECT_EQ(0, object_destroy(self->fd, self->nested));
}

TEST_F(iopf, replace_to_a_hwpt_without_fault_turns_faults_off)
{
	uint32_t plain, got;
	struct iommu_hwpt_pgfault pgf;
	struct mock_resp r;

	ASSERT_EQ(0, nested_alloc(self->fd, self->dev.idev, self->parent, 0,
				  &plain));
	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 1));
	ASSERT_EQ(1, read_faults(self->fault_fd, &pgf, 1));
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, plain, &got));
	ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
	EXPECT_EQ(0, r.iopf_enabled);
	EXPECT_EQ(1, r.responses);
	EXPECT_EQ(IOMMUFD_PAGE_RESP_INVALID, r.code);
	EXPECT_ERRNO(EINVAL, respond(self->fault_fd, pgf.cookie,
				     IOMMUFD_PAGE_RESP_SUCCESS));

	/* And back on when the device returns */
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, self->nested, &got));
	ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
	EXPECT_EQ(1, r.iopf_enabled);
	ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, self->ioas, &got));
	ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
	EXPECT_EQ(0, r.iopf_enabled);
}

TEST_F(iopf, closing_the_file_answers_now_and_later)
{
	struct mock_resp r;

	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 1));
	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 2));
	expect_no_answer(_metadata, self->fd, self->dev.id);
	ASSERT_EQ(0, close(self->fault_fd));
	self->fault_fd = -1;
	expect_answer(_metadata, self->fd, self->dev.id, 1, IOMMUFD_PAGE_RESP_INVALID);
	expect_answer(_metadata, self->fd, self->dev.id, 2, IOMMUFD_PAGE_RESP_INVALID);

	/* Nobody can read any more: a new group is answered at once */
	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 3));
	expect_answer(_metadata, self->fd, self->dev.id, 3, IOMMUFD_PAGE_RESP_INVALID);
	ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
	EXPECT_EQ(1, r.iopf_enabled);
	EXPECT_EQ(0, r.responses);

	/* The HWPT still holds the object */
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->fault));
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	ASSERT_EQ(0, object_destroy(self->fd, self->nested));
	EXPECT_EQ(0, object_destroy(self->fd, self->fault));
}

TEST_F(iopf, closing_both_files_tears_everything_down)
{
	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 1));
	ASSERT_EQ(0, close(self->fd));
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	/* The FAULT file kept the old iommufd alive: nothing was closed */
	ASSERT_EQ(0, close(self->fault_fd));
	self->fault_fd = -1;
	EXPECT_EQ(0, mock_bus_devices());
}

TEST_F(iopf, a_hwpt_holds_its_fault)
{
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->fault));
	ASSERT_EQ(0, close(self->fault_fd));
	self->fault_fd = -1;
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->fault));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->nested));
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	ASSERT_EQ(0, object_destroy(self->fd, self->nested));
	EXPECT_EQ(0, object_destroy(self->fd, self->fault));
}

TEST_F(iopf, a_fault_id_must_name_a_fault)
{
	uint32_t hwpt;

	EXPECT_ERRNO(ENOENT, nested_alloc(self->fd, self->dev.idev,
					  self->parent, self->ioas, &hwpt));
	EXPECT_ERRNO(ENOENT, nested_alloc(self->fd, self->dev.idev,
					  self->parent, NO_SUCH_ID, &hwpt));
	EXPECT_ERRNO(ENOENT, nested_alloc(self->fd, self->dev.idev,
					  self->parent, self->nested, &hwpt));
}

TEST_F(iopf, a_paging_hwpt_takes_no_fault)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.dev_id = self->dev.idev,
		.pt_id = self->ioas,
		.fault_id = self->fault,
	};

	cmd.flags = IOMMU_HWPT_FAULT_ID_VALID;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	cmd.flags |= IOMMU_HWPT_ALLOC_NEST_PARENT;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
}

TEST_F(iopf, a_device_without_page_requests_cannot_attach)
{
	struct mdev plain;
	struct mock_resp r;
	struct dom dom;
	uint32_t got;

	ASSERT_EQ(0, mdev_add(self->fd, 0, &plain));
	EXPECT_ERRNO(ENODEV, mdev_attach(self->fd, plain.id, self->nested,
					 &got));
	ASSERT_EQ(0, dom_get(self->fd, plain.id, &dom));
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom.attached);
	ASSERT_EQ(0, mdev_attach(self->fd, plain.id, self->ioas, &got));
	EXPECT_ERRNO(ENODEV, mdev_replace(self->fd, plain.id, self->nested,
					  &got));
	ASSERT_EQ(0, dom_get(self->fd, plain.id, &dom));
	EXPECT_EQ(MOCK_ATTACHED_PAGING, dom.attached);
	ASSERT_EQ(0, page_response(self->fd, plain.id, &r));
	EXPECT_EQ(0, r.iopf_enabled);
	EXPECT_ERRNO(EINVAL, page_request_last(self->fd, plain.id, 1));
}

TEST_F(iopf, a_pasid_request_without_a_pasid_attachment_is_refused)
{
	struct iommu_hwpt_pgfault pgf;
	struct mock_resp r;

	/* The core answers it, as nothing is attached to that PASID */
	EXPECT_ERRNO(EINVAL, page_request_pasid(self->fd, self->dev.id,
						MOCK_PAGE_REQUEST_LAST |
						MOCK_PAGE_REQUEST_PASID, 5, 1,
						0x1000));
	ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
	EXPECT_EQ(1, r.responses);
	EXPECT_EQ(5, r.pasid);
	EXPECT_EQ(IOMMUFD_PAGE_RESP_INVALID, r.code);
	EXPECT_EQ(0, read_faults(self->fault_fd, &pgf, 1));
}

TEST_F(iopf, a_bad_request_flag_is_refused)
{
	EXPECT_ERRNO(EOPNOTSUPP, page_request(self->fd, self->dev.id, 1U << 7,
					      1, 0x1000));
}

TEST_F(iopf, a_long_queue_is_read_in_one_call)
{
	enum { N = 600 };
	struct iommu_hwpt_page_response *resp;
	struct iommu_hwpt_pgfault *pgf;
	struct mock_resp r;
	int i;

	pgf = calloc(N, sizeof(*pgf));
	resp = calloc(N, sizeof(*resp));
	ASSERT_NE(NULL, pgf);
	ASSERT_NE(NULL, resp);
	for (i = 0; i != N; i++)
		ASSERT_EQ(0, page_request_last(self->fd, self->dev.id,
					       i % 512));
	ASSERT_EQ(N, read_faults(self->fault_fd, pgf, N));
	for (i = 0; i != N; i++) {
		EXPECT_EQ(i % 512, pgf[i].grpid);
		EXPECT_EQ(i + 1, pgf[i].cookie);
		resp[i].cookie = pgf[i].cookie;
	}
	EXPECT_EQ(N * RESP_SIZE, write(self->fault_fd, resp, N * RESP_SIZE));
	ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
	EXPECT_EQ(MOCK_PAGE_RESPONSES, r.responses);
	EXPECT_EQ(N - MOCK_PAGE_RESPONSES, r.lost);
	free(pgf);
	free(resp);
}

/*
 * Two devices of one iommu group share the attachment, but each has its
 * own I/O page faults: when one leaves while the other stays, what it sent
 * and nobody answered must be answered before its faults are turned off,
 * as the core forgets a device whose faults are off.
 */
TEST_F(iopf, a_device_leaving_a_shared_group_is_answered_first)
{
	struct iommu_hwpt_pgfault pgf[2];
	struct mock_resp r;
	struct mdev dev2;
	uint32_t got;

	ASSERT_EQ(0, mdev_add_to_group(self->fd, MOCK_DEVICE_IOPF,
				       MOCK_DRIVER_IOMMUFD, self->dev.group,
				       &dev2));
	ASSERT_EQ(0, mdev_attach(self->fd, dev2.id, self->nested, &got));
	/* One read and not answered, one still queued */
	ASSERT_EQ(0, page_request_last(self->fd, dev2.id, 1));
	ASSERT_EQ(1, read_faults(self->fault_fd, pgf, 1));
	ASSERT_EQ(0, page_request_last(self->fd, dev2.id, 2));

	ASSERT_EQ(0, mdev_detach(self->fd, dev2.id));
	ASSERT_EQ(0, page_response(self->fd, dev2.id, &r));
	EXPECT_EQ(0, r.iopf_enabled);
	EXPECT_EQ(2, r.responses);
	EXPECT_EQ(IOMMUFD_PAGE_RESP_INVALID, r.code);
	EXPECT_ERRNO(EINVAL, respond(self->fault_fd, pgf[0].cookie,
				     IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_EQ(0, read_faults(self->fault_fd, pgf, 2));
	/* The device that stays still faults */
	expect_no_answer(_metadata, self->fd, self->dev.id);
	ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
	EXPECT_EQ(1, r.iopf_enabled);
}

TEST_F(iopf, a_record_names_the_device_that_faulted)
{
	struct iommu_hwpt_pgfault pgf[2];
	struct mdev dev2;
	uint32_t got;

	ASSERT_EQ(0, mdev_add_to_group(self->fd, MOCK_DEVICE_IOPF,
				       MOCK_DRIVER_IOMMUFD, self->dev.group,
				       &dev2));
	ASSERT_EQ(0, mdev_attach(self->fd, dev2.id, self->nested, &got));
	ASSERT_EQ(0, page_request_last(self->fd, dev2.id, 1));
	ASSERT_EQ(0, page_request_last(self->fd, self->dev.id, 2));
	ASSERT_EQ(2, read_faults(self->fault_fd, pgf, 2));
	EXPECT_EQ(dev2.idev, pgf[0].dev_id);
	EXPECT_EQ(self->dev.idev, pgf[1].dev_id);

	/* The device that attached the group leaves; the other stays */
	ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
	ASSERT_EQ(0, page_request_last(self->fd, dev2.id, 3));
	ASSERT_EQ(1, read_faults(self->fault_fd, pgf, 2));
	EXPECT_EQ(dev2.idev, pgf[0].dev_id);
}

/*
 * The same when the device goes away altogether: nothing of it may stay
 * queued, or answering it later (here: closing the file) reaches a device
 * the IOMMU core has released.
 */
TEST_F(iopf, a_device_removed_from_a_shared_group_leaves_nothing_queued)
{
	struct iommu_hwpt_pgfault pgf[2];
	struct mdev dev2;
	uint32_t got;

	ASSERT_EQ(0, mdev_add_to_group(self->fd, MOCK_DEVICE_IOPF,
				       MOCK_DRIVER_IOMMUFD, self->dev.group,
				       &dev2));
	ASSERT_EQ(0, mdev_attach(self->fd, dev2.id, self->nested, &got));
	ASSERT_EQ(0, page_request_last(self->fd, dev2.id, 1));
	ASSERT_EQ(1, read_faults(self->fault_fd, pgf, 1));
	ASSERT_EQ(0, page_request_last(self->fd, dev2.id, 2));

	ASSERT_EQ(0, object_destroy(self->fd, dev2.id));
	EXPECT_EQ(0, read_faults(self->fault_fd, pgf + 1, 1));
	EXPECT_ERRNO(EINVAL, respond(self->fault_fd, pgf[0].cookie,
				     IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_EQ(0, close(self->fault_fd));
	self->fault_fd = -1;
	expect_no_answer(_metadata, self->fd, self->dev.id);
}

/* Page requests from one thread while the main thread tears down */
struct racer {
	int fd;
	uint32_t dev;
	bool stop;		/* set by the main thread, read atomically */
	unsigned int issued;
};

static void *race_requests(void *arg)
{
	struct racer *racer = arg;
	unsigned int grpid = 0;

	while (!__atomic_load_n(&racer->stop, __ATOMIC_RELAXED)) {
		if (!page_request_last(racer->fd, racer->dev, grpid++ % 512))
			racer->issued++;
	}
	return NULL;
}

static void *race_reader(void *arg)
{
	struct iommu_hwpt_page_response resp[8];
	struct iommu_hwpt_pgfault pgf[8];
	struct racer *racer = arg;
	int n, i;

	while (!__atomic_load_n(&racer->stop, __ATOMIC_RELAXED)) {
		n = read_faults(racer->fd, pgf, 8);
		for (i = 0; i < n; i++)
			resp[i] = (struct iommu_hwpt_page_response){
				pgf[i].cookie, IOMMUFD_PAGE_RESP_SUCCESS
			};
		if (n > 0)
			write(racer->fd, resp, n * RESP_SIZE);
	}
	return NULL;
}

TEST_F(iopf, every_request_is_answered_once_under_races)
{
	struct racer req = { .fd = self->fd, .dev = self->dev.id };
	struct racer rd = { .fd = self->fault_fd };
	pthread_t t_req, t_rd;
	unsigned int round, lost0;
	struct mock_resp r;
	uint32_t got;

	ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
	lost0 = r.lost;
	for (round = 0; round != 20; round++) {
		req.stop = false;
		rd.stop = false;
		req.issued = 0;
		ASSERT_EQ(0, pthread_create(&t_req, NULL, race_requests, &req));
		ASSERT_EQ(0, pthread_create(&t_rd, NULL, race_reader, &rd));
		usleep(2000);
		/* Leave and come back while requests and answers fly */
		ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id, self->ioas,
					  &got));
		ASSERT_EQ(0, mdev_replace(self->fd, self->dev.id,
					  self->nested, &got));
		usleep(1000);
		__atomic_store_n(&req.stop, true, __ATOMIC_RELAXED);
		pthread_join(t_req, NULL);
		__atomic_store_n(&rd.stop, true, __ATOMIC_RELAXED);
		pthread_join(t_rd, NULL);
		/* Whatever the reader left, the detach answers */
		ASSERT_EQ(0, mdev_detach(self->fd, self->dev.id));
		ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
		EXPECT_EQ(req.issued, r.responses + r.lost - lost0);
		/* Start the next round with an empty log */
		ASSERT_EQ(0, mdev_attach(self->fd, self->dev.id, self->nested,
					 &got));
		while (r.responses > 1)
			ASSERT_EQ(0, page_response(self->fd, self->dev.id, &r));
		lost0 = r.lost;
		if (_metadata->exit_code != KSFT_PASS)
			return;
	}
}

TEST_HARNESS_MAIN
