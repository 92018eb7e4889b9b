// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault injection over every ioctl of iommufd, derived from the uAPI.
 *
 * iommufd_fail_nth sweeps the paths someone chose; this suite sweeps a
 * table with a row for every command the uAPI header defines (6.12's and
 * those adopted later, listed in uapi_cmds[]), plus one row per
 * IOMMU_TEST_CMD operation that allocates, and rows for the read and
 * write of the file IOMMU_FAULT_QUEUE_ALLOC returns (a world's fd_call
 * issues them instead of an ioctl). The first test checks the table
 * (every command of uapi_cmds[] has a row, every row a test) and the
 * kernel (ENOTTY for every other command number), so a new ioctl without
 * a row fails the suite instead of going unswept. A row of a command the
 * kernel does not implement (ENOTTY) is skipped, saying so.
 *
 * A row is a setup, which builds the world the call needs in a fresh
 * /dev/iommu file, and the valid call itself. Its sweep runs rounds with
 * n = 1, 2, ...: each round builds the world, arms fail-nth of this thread
 * so that the n-th fault site (failslab, fail_page_alloc or fail_iommufd)
 * fails, issues the call and disarms. When the call fails, the errno must
 * be one an injected site produces (ENOMEM; EFAULT too where pages are
 * pinned) and the world must be as it was: the IOVA ranges, the
 * translations of every mock domain, device and HWPT, the pin count of
 * every page, the charges, and no object past the ones the setup made.
 * Every round ends by closing the file, which must bring pins, charges
 * and mock devices back to where the sweep started. The sweep ends at the
 * first round whose call succeeds without reaching site n; a call that
 * succeeds although site n failed was "absorbed" (an allocation retried
 * another way) and is checked like any success.
 *
 * Buffers are a few 4 KiB pages and the pin batch is two pages, so that
 * pinning crosses a batch boundary in a handful of fault sites.
 */
#include "iommufd_selftest.h"

/* A sweep still failing at this site is broken */
#define SWEEP_BOUND		2000
/* A round that reached fewer sites than the previous one is run again */
#define SWEEP_SHORT_ROUNDS	4

#define BUF_PAGES	4
#define BUF_LEN		(BUF_PAGES * CPU_PAGE)
#define PIN_BATCH	2

#define IOVA_A		0x1000000ULL
#define IOVA_B		0x2000000ULL
#define IOVA_DST	0x8000000ULL

/* Object IDs past the setup's that must not exist after a failed call */
#define IDS_PAST	4

/* Records a fault row's read has room for: more than it queues */
#define FAULT_RECS	4

/* Pin counts probed per page; more is reported as PINS_UNKNOWN */
#define PINS_PROBED	4
#define PINS_UNKNOWN	(-1)

struct nth_env {
	int probe_fd;		/* /dev/iommu with no object, for checks */
	int nth_fd;		/* this thread's fail-nth */
	uint8_t *buf;		/* BUF_PAGES pages, mapped by the setups */
	uint8_t *dst;		/* BUF_PAGES pages ACCESS_RW copies into */
	int mfd;		/* a memfd of BUF_LEN, for MAP_FILE */
	uint8_t *mfd_va;	/* it, mapped shared */
	struct charge charge0;
	int mock_devs0;
	bool knobs_set;
	struct fault_knobs knobs;
};

/* What a row's setup built; 0 for what it did not */
struct world {
	int fd;
	uint32_t max_id;	/* highest object ID the setup made */
	uint32_t ioas, ioas2;
	uint32_t mock, mock2;	/* mock domains on ioas and ioas2 */
	struct mdev dev;
	uint32_t dev_hwpt;	/* what dev is attached to */
	uint32_t hwpt, nested;
	uint32_t access, access_id;
	bool mapped, mapped2;	/* buf at IOVA_A of ioas, of ioas2 */
	uint32_t fault;		/* FAULT object; its file is fault_fd */
	int fault_fd;		/* -1: none, or closed by a check */
	uint32_t nested2;	/* where a replace moves dev */
	uint32_t cookie;	/* of a group read and not answered */

	/*
	 * Instead of the ioctl: a call on a file the setup made (read or
	 * write of fault_fd). Returns 0 or -1 with errno, like ioctl().
	 */
	int (*fd_call)(struct world *w);
	ssize_t fd_got;		/* what fd_call's read or write returned */

	/* The call under test and the memory it points at */
	unsigned long request;
	void *arg;
	union {
		struct iommu_destroy destroy;
		struct iommu_ioas_alloc ioas_alloc;
		struct iommu_ioas_iova_ranges ranges;
		struct iommu_ioas_allow_iovas allow;
		struct iommu_ioas_map map;
		struct iommu_ioas_copy copy;
		struct iommu_ioas_unmap unmap;
		struct iommu_option option;
		struct iommu_vfio_ioas vfio;
		struct iommu_hwpt_alloc hwpt_alloc;
		struct iommu_hw_info hw_info;
		struct iommu_hwpt_set_dirty_tracking dirty;
		struct iommu_hwpt_get_dirty_bitmap bitmap;
		struct iommu_hwpt_invalidate inv;
		struct iommu_fault_alloc fault;
		struct iommu_ioas_map_file map_file;
		struct iommu_ioas_change_process change_process;
		struct iommu_test_cmd test;
	} cmd;
	union {
		struct iommu_iova_range ranges[IOAS_RANGES_MAX];
		struct iommu_hwpt_mock_nested nested;
		struct iommu_hw_info_mock info;
		struct iommu_hwpt_mock_invalidate inv;
		uint64_t bitmap[2];
		struct iommu_hwpt_pgfault pgf[FAULT_RECS];
		struct iommu_hwpt_page_response resp;
	} data;
};

/* The world just before the call, to compare with after a failure */
struct snapshot {
	struct ioas_ranges ranges, ranges2;
	int pins[BUF_PAGES];
	struct charge charge;
	struct dom dev_dom;
	struct dom nested_dom;
	uint64_t option;
};

struct row {
	const char *name;
	unsigned int nr;	/* IOMMUFD_CMD_* */
	unsigned int test_op;	/* enum iommu_test_op for IOMMUFD_CMD_TEST_CMD */
	bool pins;		/* the call pins pages: EFAULT is expected too */
	bool may_be_absent;	/* skip, saying so, if the kernel lacks it */
	void (*setup)(struct __test_metadata *_metadata, struct nth_env *env,
		      struct world *w);
	/* Row-specific checks after a failed call, optional */
	void (*failed)(struct __test_metadata *_metadata, struct nth_env *env,
		       struct world *w, const struct snapshot *snap,
		       const char *when);
	/* Row-specific checks after a successful call, optional */
	void (*done)(struct __test_metadata *_metadata, struct nth_env *env,
		     struct world *w, const char *when);
};

/* ---- Building worlds ---- */

static void note_id(struct world *w, uint32_t id)
{
	if (id > w->max_id)
		w->max_id = id;
}

static void world_open(struct __test_metadata *_metadata, struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->fault_fd = -1;
	w->fd = iommufd_open();
	ASSERT_LE(0, w->fd);
}

static uint32_t world_ioas(struct __test_metadata *_metadata, struct world *w)
{
	uint32_t id;

	ASSERT_EQ(0, ioas_alloc(w->fd, &id));
	note_id(w, id);
	return id;
}

/* An IOAS with buf at IOVA_A */
static void world_mapped_ioas(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w)
{
	w->ioas = world_ioas(_metadata, w);
	ASSERT_EQ(0, ioas_map_fixed(w->fd, w->ioas, env->buf, BUF_LEN,
				    IOVA_A));
	w->mapped = true;
}

static uint32_t world_mock(struct __test_metadata *_metadata, struct world *w,
			   uint32_t ioas)
{
	uint32_t id;

	ASSERT_EQ(0, mock_domain_add(w->fd, ioas, 0, &id));
	note_id(w, id);
	return id;
}

static void world_dev(struct __test_metadata *_metadata, struct world *w,
		      uint32_t flags)
{
	ASSERT_EQ(0, mdev_add(w->fd, flags, &w->dev));
	note_id(w, w->dev.id);
	note_id(w, w->dev.idev);
}

static void world_dev_attach(struct __test_metadata *_metadata,
			     struct world *w, uint32_t pt)
{
	ASSERT_EQ(0, mdev_attach(w->fd, w->dev.id, pt, &w->dev_hwpt));
	note_id(w, w->dev_hwpt);
}

static uint32_t world_hwpt(struct __test_metadata *_metadata, struct world *w,
			   uint32_t flags, uint32_t pt)
{
	uint32_t id;

	ASSERT_EQ(0, hwpt_alloc(w->fd, flags, w->dev.idev, pt, &id));
	note_id(w, id);
	return id;
}

static void world_access(struct __test_metadata *_metadata, struct world *w,
			 uint32_t flags, uint32_t ioas)
{
	struct iommu_test_cmd cmd = { .access_create.flags = flags };

	ASSERT_EQ(0, test_cmd(w->fd, IOMMU_TEST_OP_ACCESS_CREATE, ioas, &cmd));
	w->access = cmd.access_create.out_access_obj_id;
	w->access_id = cmd.access_create.out_access_id;
	note_id(w, w->access);
	note_id(w, w->access_id);
}

static void world_call(struct world *w, unsigned long request, void *arg,
		       uint32_t size)
{
	w->request = request;
	w->arg = arg;
	*(uint32_t *)arg = size;
}

static void world_test_call(struct world *w, uint32_t op, uint32_t id)
{
	w->cmd.test.op = op;
	w->cmd.test.id = id;
	world_call(w, IOMMU_TEST_CMD, &w->cmd.test, sizeof(w->cmd.test));
}

/* ---- What every round checks ---- */

static int access_info(int fd, uint32_t access, struct iommu_test_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	return test_cmd(fd, IOMMU_TEST_OP_ACCESS_INFO, access, cmd);
}

/* The pin count of each page of buf, probed with CHECK_PINS */
static void pins_read(struct nth_env *env, int pins[BUF_PAGES])
{
	unsigned int i;
	int p;

	for (i = 0; i != BUF_PAGES; i++) {
		pins[i] = PINS_UNKNOWN;
		for (p = 0; p != PINS_PROBED; p++) {
			if (!check_pins(env->probe_fd, env->buf + i * CPU_PAGE,
					CPU_PAGE, p)) {
				pins[i] = p;
				break;
			}
		}
	}
}

static void snapshot_take(struct __test_metadata *_metadata,
			  struct nth_env *env, struct world *w,
			  struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	if (w->ioas)
		ASSERT_EQ(0, ioas_ranges_get(w->fd, w->ioas, &s->ranges));
	if (w->ioas2)
		ASSERT_EQ(0, ioas_ranges_get(w->fd, w->ioas2, &s->ranges2));
	pins_read(env, s->pins);
	ASSERT_EQ(0, charge_read(env->probe_fd, &s->charge));
	if (w->dev.id)
		ASSERT_EQ(0, dom_get(w->fd, w->dev.id, &s->dev_dom));
	if (w->nested)
		ASSERT_EQ(0, dom_get(w->fd, w->nested, &s->nested_dom));
}

static void expect_ranges(struct __test_metadata *_metadata, struct world *w,
			  uint32_t ioas, const struct ioas_ranges *before,
			  const char *when)
{
	struct ioas_ranges now;

	if (!ioas)
		return;
	EXPECT_EQ(0, ioas_ranges_get(w->fd, ioas, &now))
		TH_LOG("%s: IOVA_RANGES of IOAS %u: %s", when, ioas,
		       strerror(errno));
	EXPECT_EQ(0, memcmp(before, &now, sizeof(now)))
		TH_LOG("%s: IOVA ranges of IOAS %u changed (%u ranges)", when,
		       ioas, now.num);
}

/* @id (mock domain, device or HWPT) still translates buf at IOVA_A */
static void expect_translates(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w,
			      uint32_t id, const char *when)
{
	if (!id)
		return;
	EXPECT_EQ(0, mock_check_map(w->fd, id, IOVA_A, BUF_LEN, env->buf,
				    MOCK_PROT_READ | MOCK_PROT_WRITE, NULL))
		TH_LOG("%s: object %u lost its translation of IOVA_A: %s",
		       when, id, strerror(errno));
}

static void expect_charge_equal(struct __test_metadata *_metadata,
				struct nth_env *env, const struct charge *want,
				const char *when)
{
	struct charge now;

	ASSERT_EQ(0, charge_read(env->probe_fd, &now));
	EXPECT_EQ(want->pinned_vm, now.pinned_vm)
		TH_LOG("%s: pinned_vm (VmPin) is %llu pages, expected %llu",
		       when, (unsigned long long)now.pinned_vm,
		       (unsigned long long)want->pinned_vm);
	EXPECT_EQ(want->locked_vm, now.locked_vm)
		TH_LOG("%s: locked_vm is %llu pages, expected %llu", when,
		       (unsigned long long)now.locked_vm,
		       (unsigned long long)want->locked_vm);
	EXPECT_EQ(want->mm_locked_vm, now.mm_locked_vm)
		TH_LOG("%s: VmLck is %llu pages, expected %llu", when,
		       (unsigned long long)now.mm_locked_vm,
		       (unsigned long long)want->mm_locked_vm);
}

static void expect_pins(struct __test_metadata *_metadata, struct nth_env *env,
			const int want[BUF_PAGES], const char *when)
{
	int now[BUF_PAGES];
	unsigned int i;

	pins_read(env, now);
	for (i = 0; i + 1 < BUF_PAGES && now[i] == want[i];)
		i++;
	EXPECT_EQ(want[i], now[i])
		TH_LOG("%s: page %u of buf has %d pins, expected %d", when, i,
		       now[i], want[i]);
}

/* After a failed call: everything the setup made, and nothing more */
static void expect_unchanged(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w,
			     const struct snapshot *s, const char *when)
{
	struct dom dom;
	uint32_t id;

	expect_ranges(_metadata, w, w->ioas, &s->ranges, when);
	expect_ranges(_metadata, w, w->ioas2, &s->ranges2, when);
	if (w->mapped) {
		expect_translates(_metadata, env, w, w->mock, when);
		expect_translates(_metadata, env, w, w->hwpt, when);
		expect_translates(_metadata, env, w, w->nested, when);
		if (w->dev_hwpt)
			expect_translates(_metadata, env, w, w->dev.id, when);
	}
	if (w->mapped2)
		expect_translates(_metadata, env, w, w->mock2, when);
	expect_pins(_metadata, env, s->pins, when);
	expect_charge_equal(_metadata, env, &s->charge, when);
	if (w->dev.id) {
		EXPECT_EQ(0, dom_get(w->fd, w->dev.id, &dom));
		EXPECT_EQ(s->dev_dom.attached, dom.attached)
			TH_LOG("%s: the device moved from domain kind %u to %u",
			       when, s->dev_dom.attached, dom.attached);
		EXPECT_EQ(s->dev_dom.cookie, dom.cookie)
			TH_LOG("%s: the device changed domains", when);
	}
	if (w->nested) {
		EXPECT_EQ(0, dom_get(w->fd, w->nested, &dom));
		EXPECT_EQ(s->nested_dom.iotlb, dom.iotlb)
			TH_LOG("%s: the nested IOTLB tag changed", when);
	}
	for (id = w->max_id + 1; id <= w->max_id + IDS_PAST; id++) {
		errno = 0;
		EXPECT_EQ(-1, object_destroy(w->fd, id));
		EXPECT_EQ(ENOENT, errno)
			TH_LOG("%s: object %u exists after the failed call (%s)",
			       when, id, strerror(errno));
	}
}

/* Closes the file: pins, charges and mock devices are back at the start */
static void world_close(struct __test_metadata *_metadata,
			struct nth_env *env, struct world *w, const char *when)
{
	static const int no_pins[BUF_PAGES];

	/* The FAULT file holds the iommufd open: it goes first */
	if (w->fault_fd >= 0)
		EXPECT_EQ(0, close(w->fault_fd));
	w->fault_fd = -1;
	EXPECT_EQ(0, close(w->fd));
	w->fd = -1;
	expect_pins(_metadata, env, no_pins, when);
	expect_charge_equal(_metadata, env, &env->charge0, when);
	if (env->mock_devs0 >= 0)
		EXPECT_EQ(env->mock_devs0, mock_bus_devices())
			TH_LOG("%s: %d mock devices left, expected %d", when,
			       mock_bus_devices(), env->mock_devs0);
}

/* ---- IOMMU_DESTROY ---- */

static void setup_destroy_mock_domain(struct __test_metadata *_metadata,
				      struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	w->mock = world_mock(_metadata, w, w->ioas);
	w->cmd.destroy.id = w->mock;
	world_call(w, IOMMU_DESTROY, &w->cmd.destroy,
		   sizeof(w->cmd.destroy));
}

static void setup_destroy_ioas(struct __test_metadata *_metadata,
			       struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	w->cmd.destroy.id = w->ioas;
	world_call(w, IOMMU_DESTROY, &w->cmd.destroy,
		   sizeof(w->cmd.destroy));
}

static void done_destroy(struct __test_metadata *_metadata,
			 struct nth_env *env, struct world *w,
			 const char *when)
{
	EXPECT_ERRNO(ENOENT, object_destroy(w->fd, w->cmd.destroy.id));
}

/* ---- IOAS_ALLOC, IOVA_RANGES, ALLOW_IOVAS ---- */

static void setup_ioas_alloc(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	world_call(w, IOMMU_IOAS_ALLOC, &w->cmd.ioas_alloc,
		   sizeof(w->cmd.ioas_alloc));
}

static void done_ioas_alloc(struct __test_metadata *_metadata,
			    struct nth_env *env, struct world *w,
			    const char *when)
{
	EXPECT_EQ(w->max_id + 1, w->cmd.ioas_alloc.out_ioas_id);
	EXPECT_EQ(0, object_destroy(w->fd, w->cmd.ioas_alloc.out_ioas_id));
}

static void setup_iova_ranges(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	w->mock = world_mock(_metadata, w, w->ioas);
	world_dev(_metadata, w, 0);
	world_dev_attach(_metadata, w, w->ioas);
	w->cmd.ranges.ioas_id = w->ioas;
	w->cmd.ranges.num_iovas = IOAS_RANGES_MAX;
	w->cmd.ranges.allowed_iovas = (uintptr_t)w->data.ranges;
	world_call(w, IOMMU_IOAS_IOVA_RANGES, &w->cmd.ranges,
		   sizeof(w->cmd.ranges));
}

static void setup_allow_iovas(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	w->mock = world_mock(_metadata, w, w->ioas);
	w->data.ranges[0] = (struct iommu_iova_range){
		.start = IOVA_A, .last = IOVA_B - 1,
	};
	w->data.ranges[1] = (struct iommu_iova_range){
		.start = IOVA_DST, .last = 2 * IOVA_DST - 1,
	};
	w->cmd.allow.ioas_id = w->ioas;
	w->cmd.allow.num_iovas = 2;
	w->cmd.allow.allowed_iovas = (uintptr_t)w->data.ranges;
	world_call(w, IOMMU_IOAS_ALLOW_IOVAS, &w->cmd.allow,
		   sizeof(w->cmd.allow));
}

/* ---- IOAS_MAP, IOAS_COPY, IOAS_UNMAP ---- */

static void map_call(struct nth_env *env, struct world *w, uint32_t ioas)
{
	w->cmd.map = (struct iommu_ioas_map){
		.flags = MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
		.ioas_id = ioas,
		.user_va = (uintptr_t)env->buf,
		.length = BUF_LEN,
		.iova = IOVA_B,
	};
	world_call(w, IOMMU_IOAS_MAP, &w->cmd.map, sizeof(w->cmd.map));
}

static void setup_map(struct __test_metadata *_metadata, struct nth_env *env,
		      struct world *w)
{
	w->ioas = world_ioas(_metadata, w);
	map_call(env, w, w->ioas);
}

static void setup_map_domain(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	w->mock = world_mock(_metadata, w, w->ioas);
	map_call(env, w, w->ioas);
}

/* Nothing is left at IOVA_B of @ioas, in the IOAS or its mock domain */
static void expect_nothing_at_b(struct __test_metadata *_metadata,
				struct world *w, uint32_t ioas, uint32_t mock,
				const char *when)
{
	if (mock)
		EXPECT_EQ(0, mock_check_unmapped(w->fd, mock, IOVA_B,
						 BUF_LEN))
			TH_LOG("%s: the mock domain translates IOVA_B", when);
	errno = 0;
	EXPECT_EQ(-1, ioas_unmap(w->fd, ioas, IOVA_B, BUF_LEN, NULL));
	EXPECT_EQ(ENOENT, errno)
		TH_LOG("%s: the IOAS has a mapping at IOVA_B (%s)", when,
		       strerror(errno));
}

static void failed_map(struct __test_metadata *_metadata, struct nth_env *env,
		       struct world *w, const struct snapshot *snap,
		       const char *when)
{
	expect_nothing_at_b(_metadata, w, w->ioas, w->mock, when);
}

static void done_map(struct __test_metadata *_metadata, struct nth_env *env,
		     struct world *w, const char *when)
{
	if (w->mock)
		EXPECT_EQ(0, mock_check_map(w->fd, w->mock, IOVA_B, BUF_LEN,
					    env->buf, 0, NULL))
			TH_LOG("%s: IOVA_B is not translated", when);
}

/* ---- IOMMU_IOAS_MAP_FILE and IOMMU_IOAS_CHANGE_PROCESS ---- */

static void map_file_call(struct nth_env *env, struct world *w, uint32_t ioas,
			  uint64_t iova)
{
	w->cmd.map_file = (struct iommu_ioas_map_file){
		.flags = MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
		.ioas_id = ioas,
		.fd = env->mfd,
		.length = BUF_LEN,
		.iova = iova,
	};
	world_call(w, IOMMU_IOAS_MAP_FILE, &w->cmd.map_file,
		   sizeof(w->cmd.map_file));
}

static void setup_map_file(struct __test_metadata *_metadata,
			   struct nth_env *env, struct world *w)
{
	w->ioas = world_ioas(_metadata, w);
	map_file_call(env, w, w->ioas, IOVA_B);
}

static void setup_map_file_domain(struct __test_metadata *_metadata,
				  struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	w->mock = world_mock(_metadata, w, w->ioas);
	map_file_call(env, w, w->ioas, IOVA_B);
}

static void done_map_file(struct __test_metadata *_metadata,
			  struct nth_env *env, struct world *w,
			  const char *when)
{
	if (w->mock)
		EXPECT_EQ(0, mock_check_map(w->fd, w->mock, IOVA_B, BUF_LEN,
					    env->mfd_va, 0, NULL))
			TH_LOG("%s: IOVA_B is not the memfd", when);
}

/* Two IOASes with the memfd mapped and pinned; the call takes them over */
static void setup_change_process(struct __test_metadata *_metadata,
				 struct nth_env *env, struct world *w)
{
	uint64_t iova = IOVA_B;
	struct iommu_ioas_map_file map = {
		.size = sizeof(map),
		.flags = MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
		.fd = env->mfd,
		.length = BUF_LEN,
	};

	w->ioas = world_ioas(_metadata, w);
	w->mock = world_mock(_metadata, w, w->ioas);
	w->ioas2 = world_ioas(_metadata, w);
	w->mock2 = world_mock(_metadata, w, w->ioas2);
	map.ioas_id = w->ioas;
	map.iova = iova;
	ASSERT_EQ(0, ioctl(w->fd, IOMMU_IOAS_MAP_FILE, &map));
	map.ioas_id = w->ioas2;
	ASSERT_EQ(0, ioctl(w->fd, IOMMU_IOAS_MAP_FILE, &map));
	w->cmd.change_process = (struct iommu_ioas_change_process){};
	world_call(w, IOMMU_IOAS_CHANGE_PROCESS, &w->cmd.change_process,
		   sizeof(w->cmd.change_process));
}

/* ioas holds buf at IOVA_A; the copy goes to IOVA_B of ioas2 */
static void setup_copy(struct __test_metadata *_metadata, struct nth_env *env,
		       struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	w->ioas2 = world_ioas(_metadata, w);
	w->cmd.copy = (struct iommu_ioas_copy){
		.flags = MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
		.dst_ioas_id = w->ioas2,
		.src_ioas_id = w->ioas,
		.length = BUF_LEN,
		.dst_iova = IOVA_B,
		.src_iova = IOVA_A,
	};
	world_call(w, IOMMU_IOAS_COPY, &w->cmd.copy, sizeof(w->cmd.copy));
}

static void setup_copy_domain(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w)
{
	setup_copy(_metadata, env, w);
	w->mock2 = world_mock(_metadata, w, w->ioas2);
}

static void failed_copy(struct __test_metadata *_metadata,
			struct nth_env *env, struct world *w,
			const struct snapshot *snap, const char *when)
{
	expect_nothing_at_b(_metadata, w, w->ioas2, w->mock2, when);
}

static void done_copy(struct __test_metadata *_metadata, struct nth_env *env,
		      struct world *w, const char *when)
{
	if (w->mock2)
		EXPECT_EQ(0, mock_check_map(w->fd, w->mock2, IOVA_B, BUF_LEN,
					    env->buf, 0, NULL))
			TH_LOG("%s: IOVA_B of the copy is not translated",
			       when);
}

/* Two mappings of buf in an IOAS with a mock domain; IOVA_B goes */
static void setup_unmap(struct __test_metadata *_metadata,
			struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	w->mock = world_mock(_metadata, w, w->ioas);
	ASSERT_EQ(0, ioas_map_fixed(w->fd, w->ioas, env->buf, BUF_LEN,
				    IOVA_B));
	w->cmd.unmap = (struct iommu_ioas_unmap){
		.ioas_id = w->ioas,
		.iova = IOVA_B,
		.length = BUF_LEN,
	};
	world_call(w, IOMMU_IOAS_UNMAP, &w->cmd.unmap, sizeof(w->cmd.unmap));
}

static void failed_unmap(struct __test_metadata *_metadata,
			 struct nth_env *env, struct world *w,
			 const struct snapshot *snap, const char *when)
{
	EXPECT_EQ(0, mock_check_map(w->fd, w->mock, IOVA_B, BUF_LEN, env->buf,
				    0, NULL))
		TH_LOG("%s: IOVA_B lost its translation", when);
}

static void done_unmap(struct __test_metadata *_metadata, struct nth_env *env,
		       struct world *w, const char *when)
{
	EXPECT_EQ(BUF_LEN, w->cmd.unmap.length);
	expect_nothing_at_b(_metadata, w, w->ioas, w->mock, when);
}

/* ---- IOMMU_OPTION ---- */

static void option_call(struct world *w, uint32_t option, uint16_t op,
			uint32_t object, uint64_t val)
{
	w->cmd.option = (struct iommu_option){
		.option_id = option,
		.op = op,
		.object_id = object,
		.val64 = val,
	};
	world_call(w, IOMMU_OPTION, &w->cmd.option, sizeof(w->cmd.option));
}

/* RLIMIT_MODE can change only while the file holds no object */
static void setup_rlimit_get(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w)
{
	option_call(w, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 7);
}

static void setup_rlimit_set(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w)
{
	option_call(w, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 1);
}

static void failed_rlimit_set(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w,
			      const struct snapshot *snap, const char *when)
{
	uint64_t mode = 7;

	EXPECT_EQ(0, rlimit_mode_get(w->fd, &mode));
	EXPECT_EQ(0, mode) TH_LOG("%s: RLIMIT_MODE changed", when);
}

static void done_rlimit_set(struct __test_metadata *_metadata,
			    struct nth_env *env, struct world *w,
			    const char *when)
{
	uint64_t mode = 7;

	EXPECT_EQ(0, rlimit_mode_get(w->fd, &mode));
	EXPECT_EQ(1, mode);
}

static void setup_huge_get(struct __test_metadata *_metadata,
			   struct nth_env *env, struct world *w)
{
	w->ioas = world_ioas(_metadata, w);
	w->mock = world_mock(_metadata, w, w->ioas);
	option_call(w, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, w->ioas,
		    7);
}

/* Allowed only while the IOAS maps nothing, its domains then refilled */
static void setup_huge_set(struct __test_metadata *_metadata,
			   struct nth_env *env, struct world *w)
{
	w->ioas = world_ioas(_metadata, w);
	w->mock = world_mock(_metadata, w, w->ioas);
	option_call(w, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, w->ioas,
		    0);
}

static void failed_huge_set(struct __test_metadata *_metadata,
			    struct nth_env *env, struct world *w,
			    const struct snapshot *snap, const char *when)
{
	uint64_t on = 7;

	EXPECT_EQ(0, option_get(w->fd, IOMMU_OPTION_HUGE_PAGES, w->ioas,
				&on));
	EXPECT_EQ(1, on) TH_LOG("%s: HUGE_PAGES changed", when);
}

static void done_huge_set(struct __test_metadata *_metadata,
			  struct nth_env *env, struct world *w,
			  const char *when)
{
	uint64_t on = 7;

	EXPECT_EQ(0, option_get(w->fd, IOMMU_OPTION_HUGE_PAGES, w->ioas,
				&on));
	EXPECT_EQ(0, on);
}

/* ---- IOMMU_VFIO_IOAS ---- */

static void vfio_call(struct world *w, uint16_t op, uint32_t ioas)
{
	w->cmd.vfio = (struct iommu_vfio_ioas){ .op = op, .ioas_id = ioas };
	world_call(w, IOMMU_VFIO_IOAS, &w->cmd.vfio, sizeof(w->cmd.vfio));
}

static int vfio_ioas_get(int fd, uint32_t *ioas)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_VFIO_IOAS_GET,
	};
	int rc;

	rc = ioctl(fd, IOMMU_VFIO_IOAS, &cmd);
	*ioas = cmd.ioas_id;
	return rc;
}

static void setup_vfio_set(struct __test_metadata *_metadata,
			   struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	vfio_call(w, IOMMU_VFIO_IOAS_SET, w->ioas);
}

static void failed_vfio_set(struct __test_metadata *_metadata,
			    struct nth_env *env, struct world *w,
			    const struct snapshot *snap, const char *when)
{
	uint32_t ioas;

	errno = 0;
	EXPECT_EQ(-1, vfio_ioas_get(w->fd, &ioas));
	EXPECT_EQ(ENOENT, errno)
		TH_LOG("%s: a compat IOAS is set after the failed SET", when);
}

static void done_vfio_set(struct __test_metadata *_metadata,
			  struct nth_env *env, struct world *w,
			  const char *when)
{
	uint32_t ioas = 0;

	EXPECT_EQ(0, vfio_ioas_get(w->fd, &ioas));
	EXPECT_EQ(w->ioas, ioas);
}

static void setup_vfio_get(struct __test_metadata *_metadata,
			   struct nth_env *env, struct world *w)
{
	struct iommu_vfio_ioas set = {
		.size = sizeof(set),
		.op = IOMMU_VFIO_IOAS_SET,
	};

	world_mapped_ioas(_metadata, env, w);
	set.ioas_id = w->ioas;
	ASSERT_EQ(0, ioctl(w->fd, IOMMU_VFIO_IOAS, &set));
	vfio_call(w, IOMMU_VFIO_IOAS_GET, 0);
}

/* ---- HWPT_ALLOC, GET_HW_INFO, dirty tracking, invalidation ---- */

static void hwpt_call(struct world *w, uint32_t flags, uint32_t pt,
		      bool nested)
{
	w->cmd.hwpt_alloc = (struct iommu_hwpt_alloc){
		.flags = flags,
		.dev_id = w->dev.idev,
		.pt_id = pt,
	};
	if (nested) {
		w->data.nested = (struct iommu_hwpt_mock_nested){ .iotlb = 3 };
		w->cmd.hwpt_alloc.data_type = IOMMU_HWPT_DATA_SELFTEST;
		w->cmd.hwpt_alloc.data_len = sizeof(w->data.nested);
		w->cmd.hwpt_alloc.data_uptr = (uintptr_t)&w->data.nested;
	}
	world_call(w, IOMMU_HWPT_ALLOC, &w->cmd.hwpt_alloc,
		   sizeof(w->cmd.hwpt_alloc));
}

static void setup_hwpt_paging(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	world_dev(_metadata, w, 0);
	hwpt_call(w, 0, w->ioas, false);
}

static void setup_hwpt_parent(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	world_dev(_metadata, w, 0);
	hwpt_call(w, IOMMU_HWPT_ALLOC_NEST_PARENT, w->ioas, false);
}

static void setup_hwpt_nested(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	world_dev(_metadata, w, 0);
	w->hwpt = world_hwpt(_metadata, w, IOMMU_HWPT_ALLOC_NEST_PARENT,
			     w->ioas);
	hwpt_call(w, 0, w->hwpt, true);
}

static void done_hwpt(struct __test_metadata *_metadata, struct nth_env *env,
		      struct world *w, const char *when)
{
	expect_translates(_metadata, env, w, w->cmd.hwpt_alloc.out_hwpt_id,
			  when);
}

static void setup_hw_info(struct __test_metadata *_metadata,
			  struct nth_env *env, struct world *w)
{
	world_dev(_metadata, w, 0);
	w->cmd.hw_info = (struct iommu_hw_info){
		.dev_id = w->dev.idev,
		.data_len = sizeof(w->data.info),
		.data_uptr = (uintptr_t)&w->data.info,
	};
	world_call(w, IOMMU_GET_HW_INFO, &w->cmd.hw_info,
		   sizeof(w->cmd.hw_info));
}

static void done_hw_info(struct __test_metadata *_metadata,
			 struct nth_env *env, struct world *w,
			 const char *when)
{
	EXPECT_EQ(MOCK_HW_INFO_SIGNATURE, w->data.info.signature);
}

/* A dirty-tracking HWPT on an IOAS that maps buf, its device attached */
static void world_dirty_hwpt(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	world_dev(_metadata, w, MOCK_DEVICE_DIRTY_TRACKING);
	w->hwpt = world_hwpt(_metadata, w, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
			     w->ioas);
	world_dev_attach(_metadata, w, w->hwpt);
}

static void dirty_call(struct world *w, uint32_t flags)
{
	w->cmd.dirty = (struct iommu_hwpt_set_dirty_tracking){
		.flags = flags,
		.hwpt_id = w->hwpt,
	};
	world_call(w, IOMMU_HWPT_SET_DIRTY_TRACKING, &w->cmd.dirty,
		   sizeof(w->cmd.dirty));
}

static void setup_set_dirty(struct __test_metadata *_metadata,
			    struct nth_env *env, struct world *w)
{
	world_dirty_hwpt(_metadata, env, w);
	dirty_call(w, IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
}

static void failed_set_dirty(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w,
			     const struct snapshot *snap, const char *when)
{
	EXPECT_EQ(0, dom_props(w->fd, w->hwpt) & MOCK_PROP_DIRTY_ENABLED)
		TH_LOG("%s: dirty tracking is on", when);
}

static void done_set_dirty(struct __test_metadata *_metadata,
			   struct nth_env *env, struct world *w,
			   const char *when)
{
	EXPECT_NE(0, dom_props(w->fd, w->hwpt) & MOCK_PROP_DIRTY_ENABLED);
}

static void setup_get_dirty(struct __test_metadata *_metadata,
			    struct nth_env *env, struct world *w)
{
	struct iommu_hwpt_set_dirty_tracking on = {
		.size = sizeof(on),
		.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
	};

	world_dirty_hwpt(_metadata, env, w);
	on.hwpt_id = w->hwpt;
	ASSERT_EQ(0, ioctl(w->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &on));
	ASSERT_EQ(0, mock_dma_write(w->fd, w->dev.id, IOVA_A + CPU_PAGE,
				    CPU_PAGE));
	w->cmd.bitmap = (struct iommu_hwpt_get_dirty_bitmap){
		.hwpt_id = w->hwpt,
		.iova = IOVA_A,
		.length = BUF_LEN,
		.page_size = CPU_PAGE,
		.data = (uintptr_t)w->data.bitmap,
	};
	world_call(w, IOMMU_HWPT_GET_DIRTY_BITMAP, &w->cmd.bitmap,
		   sizeof(w->cmd.bitmap));
}

static void done_get_dirty(struct __test_metadata *_metadata,
			   struct nth_env *env, struct world *w,
			   const char *when)
{
	EXPECT_EQ(2, w->data.bitmap[0]) TH_LOG("%s: wrong dirty bitmap", when);
}

static void setup_invalidate(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w)
{
	struct iommu_hwpt_mock_nested data = { .iotlb = 3 };

	world_mapped_ioas(_metadata, env, w);
	world_dev(_metadata, w, 0);
	w->hwpt = world_hwpt(_metadata, w, IOMMU_HWPT_ALLOC_NEST_PARENT,
			     w->ioas);
	ASSERT_EQ(0, hwpt_alloc_data(w->fd, 0, w->dev.idev, w->hwpt,
				     IOMMU_HWPT_DATA_SELFTEST, &data,
				     sizeof(data), &w->nested));
	note_id(w, w->nested);
	w->data.inv = (struct iommu_hwpt_mock_invalidate){ .iotlb = 9 };
	w->cmd.inv = (struct iommu_hwpt_invalidate){
		.hwpt_id = w->nested,
		.data_uptr = (uintptr_t)&w->data.inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		.entry_len = sizeof(w->data.inv),
		.entry_num = 1,
	};
	world_call(w, IOMMU_HWPT_INVALIDATE, &w->cmd.inv, sizeof(w->cmd.inv));
}

static void done_invalidate(struct __test_metadata *_metadata,
			    struct nth_env *env, struct world *w,
			    const char *when)
{
	struct dom dom;

	EXPECT_EQ(0, dom_get(w->fd, w->nested, &dom));
	EXPECT_EQ(9, dom.iotlb);
}

/* ---- IOMMU_FAULT_QUEUE_ALLOC ---- */

static void setup_fault_alloc(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w)
{
	world_call(w, IOMMU_FAULT_QUEUE_ALLOC, &w->cmd.fault,
		   sizeof(w->cmd.fault));
}

static void done_fault_alloc(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w,
			     const char *when)
{
	EXPECT_EQ(0, close(w->cmd.fault.out_fault_fd));
	EXPECT_EQ(0, object_destroy(w->fd, w->cmd.fault.out_fault_id));
}

/* ---- FAULT objects: HWPTs, attachments, page requests, the file ---- */

/* The IOTLB tags of the nested HWPTs a device moves between */
#define IOTLB_FROM	5
#define IOTLB_TO	6

#define PGF_SIZE	sizeof(struct iommu_hwpt_pgfault)
#define RESP_SIZE	sizeof(struct iommu_hwpt_page_response)
/* The core's own answer when it cannot pass a group on */
#define RESP_CORE_FAILURE	2

#define GRPID_A		3
#define GRPID_B		4

/* A mock nested HWPT on @parent reporting to @fault (0: no FAULT) */
static uint32_t world_nested(struct __test_metadata *_metadata,
			     struct world *w, uint32_t parent, uint32_t fault,
			     uint32_t iotlb)
{
	struct iommu_hwpt_mock_nested data = { .iotlb = iotlb };
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = fault ? IOMMU_HWPT_FAULT_ID_VALID : 0,
		.dev_id = w->dev.idev,
		.pt_id = parent,
		.data_type = IOMMU_HWPT_DATA_SELFTEST,
		.data_len = sizeof(data),
		.data_uptr = (uintptr_t)&data,
		.fault_id = fault,
	};

	ASSERT_EQ(0, ioctl(w->fd, IOMMU_HWPT_ALLOC, &cmd));
	note_id(w, cmd.out_hwpt_id);
	return cmd.out_hwpt_id;
}

/*
 * A device that issues page requests, a NEST_PARENT HWPT (w->hwpt) on an
 * IOAS that maps buf, and a FAULT object with its file
 */
static void world_iopf(struct __test_metadata *_metadata, struct nth_env *env,
		       struct world *w)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };

	world_mapped_ioas(_metadata, env, w);
	world_dev(_metadata, w, MOCK_DEVICE_IOPF);
	w->hwpt = world_hwpt(_metadata, w, IOMMU_HWPT_ALLOC_NEST_PARENT,
			     w->ioas);
	ASSERT_EQ(0, ioctl(w->fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd));
	w->fault = cmd.out_fault_id;
	w->fault_fd = cmd.out_fault_fd;
	note_id(w, w->fault);
}

/* world_iopf() with the device on a nested HWPT (w->nested) reporting */
static void world_iopf_attached(struct __test_metadata *_metadata,
				struct nth_env *env, struct world *w)
{
	world_iopf(_metadata, env, w);
	w->nested = world_nested(_metadata, w, w->hwpt, w->fault, IOTLB_FROM);
	world_dev_attach(_metadata, w, w->nested);
}

static int page_request(int fd, uint32_t dev, uint32_t flags, uint32_t grpid)
{
	struct iommu_test_cmd cmd = {
		.page_request = {
			.flags = flags,
			.grpid = grpid,
			.perm = IOMMU_PGFAULT_PERM_READ,
			.addr = IOVA_A + grpid * CPU_PAGE,
		},
	};

	return test_cmd(fd, IOMMU_TEST_OP_MOCK_DEVICE_PAGE_REQUEST, dev, &cmd);
}

/* What MOCK_DEVICE_PAGE_RESPONSE says; takes the oldest response */
static int page_response(int fd, uint32_t dev, struct iommu_test_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	return test_cmd(fd, IOMMU_TEST_OP_MOCK_DEVICE_PAGE_RESPONSE, dev, cmd);
}

/* Whether the device's faults are on; only while no answer waits */
static uint32_t iopf_enabled(struct __test_metadata *_metadata,
			     struct world *w)
{
	struct iommu_test_cmd cmd;

	EXPECT_EQ(0, page_response(w->fd, w->dev.id, &cmd));
	EXPECT_EQ(0, cmd.page_response.out_responses);
	return cmd.page_response.out_iopf_enabled;
}

/*
 * The device holds exactly one answer, @code for @grpid (@code -1: none
 * at all). Taking it empties the log, so a second answer would show.
 */
static void expect_answers(struct __test_metadata *_metadata, struct world *w,
			   uint32_t grpid, int code, const char *when)
{
	struct iommu_test_cmd cmd;

	ASSERT_EQ(0, page_response(w->fd, w->dev.id, &cmd));
	EXPECT_EQ(code < 0 ? 0 : 1, cmd.page_response.out_responses)
		TH_LOG("%s: the device got %u answers, expected %d", when,
		       cmd.page_response.out_responses, code < 0 ? 0 : 1);
	EXPECT_EQ(0, cmd.page_response.out_lost);
	if (code < 0 || !cmd.page_response.out_responses)
		return;
	EXPECT_EQ(grpid, cmd.page_response.out_grpid)
		TH_LOG("%s: the answer is for group %u, expected %u", when,
		       cmd.page_response.out_grpid, grpid);
	EXPECT_EQ((uint32_t)code, cmd.page_response.out_code)
		TH_LOG("%s: group %u answered %u, expected %d", when, grpid,
		       cmd.page_response.out_code, code);
}

/* Reads what the queue holds; returns the records or -1 */
static int read_all(int fault_fd, struct iommu_hwpt_pgfault *pgf)
{
	ssize_t got;

	memset(pgf, 0, FAULT_RECS * PGF_SIZE);
	got = read(fault_fd, pgf, FAULT_RECS * PGF_SIZE);
	return got < 0 ? -1 : (int)(got / PGF_SIZE);
}

static ssize_t answer(int fault_fd, uint32_t cookie, uint32_t code)
{
	struct iommu_hwpt_page_response resp = {
		.cookie = cookie,
		.code = code,
	};

	return write(fault_fd, &resp, sizeof(resp));
}

/*
 * The queue holds one group, @grpid of @nr requests, the last one last;
 * answering it reaches the device once
 */
static void expect_group_queued(struct __test_metadata *_metadata,
				struct world *w, uint32_t grpid,
				unsigned int nr, const char *when)
{
	struct iommu_hwpt_pgfault pgf[FAULT_RECS];
	int i;

	ASSERT_EQ(nr, read_all(w->fault_fd, pgf))
		TH_LOG("%s: the queue does not hold a group of %u", when, nr);
	for (i = 0; i != nr; i++) {
		EXPECT_EQ(grpid, pgf[i].grpid);
		EXPECT_EQ(pgf[0].cookie, pgf[i].cookie);
		EXPECT_EQ(i == nr - 1 ? IOMMU_PGFAULT_FLAGS_LAST_PAGE : 0,
			  pgf[i].flags);
	}
	EXPECT_EQ(RESP_SIZE, answer(w->fault_fd, pgf[0].cookie,
				    IOMMUFD_PAGE_RESP_SUCCESS));
	expect_answers(_metadata, w, grpid, IOMMUFD_PAGE_RESP_SUCCESS, when);
}

/* IOMMU_HWPT_ALLOC of a nested HWPT that names a FAULT */

static void setup_hwpt_nested_fault(struct __test_metadata *_metadata,
				    struct nth_env *env, struct world *w)
{
	world_iopf(_metadata, env, w);
	hwpt_call(w, IOMMU_HWPT_FAULT_ID_VALID, w->hwpt, true);
	w->cmd.hwpt_alloc.fault_id = w->fault;
}

/* The FAULT object is as free as before: no ref was left on it */
static void failed_hwpt_nested_fault(struct __test_metadata *_metadata,
				     struct nth_env *env, struct world *w,
				     const struct snapshot *snap,
				     const char *when)
{
	EXPECT_EQ(0, close(w->fault_fd));
	w->fault_fd = -1;
	EXPECT_EQ(0, object_destroy(w->fd, w->fault))
		TH_LOG("%s: the FAULT object cannot be destroyed: %s", when,
		       strerror(errno));
}

/* The new HWPT holds the FAULT until it goes */
static void done_hwpt_nested_fault(struct __test_metadata *_metadata,
				   struct nth_env *env, struct world *w,
				   const char *when)
{
	uint32_t hwpt = w->cmd.hwpt_alloc.out_hwpt_id;

	expect_translates(_metadata, env, w, hwpt, when);
	EXPECT_EQ(0, close(w->fault_fd));
	w->fault_fd = -1;
	EXPECT_ERRNO(EBUSY, object_destroy(w->fd, w->fault));
	EXPECT_EQ(0, object_destroy(w->fd, hwpt));
	EXPECT_EQ(0, object_destroy(w->fd, w->fault));
}

/* MOCK_DEVICE_ATTACH to a HWPT with a FAULT: a handle, IOPF turned on */

static void setup_attach_fault(struct __test_metadata *_metadata,
			       struct nth_env *env, struct world *w)
{
	world_iopf(_metadata, env, w);
	w->nested = world_nested(_metadata, w, w->hwpt, w->fault, IOTLB_FROM);
	w->cmd.test.mock_attach.pt_id = w->nested;
	world_test_call(w, IOMMU_TEST_OP_MOCK_DEVICE_ATTACH, w->dev.id);
}

static void failed_attach_fault(struct __test_metadata *_metadata,
				struct nth_env *env, struct world *w,
				const struct snapshot *snap, const char *when)
{
	EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(w->fd, w->dev.id))
		TH_LOG("%s: the device left the blocking domain", when);
	EXPECT_EQ(0, iopf_enabled(_metadata, w))
		TH_LOG("%s: I/O page faults stayed on", when);
	EXPECT_ERRNO(EINVAL, page_request(w->fd, w->dev.id,
					  MOCK_PAGE_REQUEST_LAST, GRPID_A));
	expect_answers(_metadata, w, 0, -1, when);
}

static void done_attach_fault(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w,
			      const char *when)
{
	expect_translates(_metadata, env, w, w->dev.id, when);
	EXPECT_EQ(1, iopf_enabled(_metadata, w));
	ASSERT_EQ(0, page_request(w->fd, w->dev.id, MOCK_PAGE_REQUEST_LAST,
				  GRPID_A));
	expect_group_queued(_metadata, w, GRPID_A, 1, when);
}

/*
 * MOCK_DEVICE_REPLACE away from a HWPT with a FAULT while a group the
 * device sent through it is read and not answered
 */

static void world_pending_group(struct __test_metadata *_metadata,
				struct world *w)
{
	struct iommu_hwpt_pgfault pgf[FAULT_RECS];

	ASSERT_EQ(0, page_request(w->fd, w->dev.id, MOCK_PAGE_REQUEST_LAST,
				  GRPID_A));
	ASSERT_EQ(1, read_all(w->fault_fd, pgf));
	w->cookie = pgf[0].cookie;
}

static void setup_replace_fault(struct __test_metadata *_metadata,
				struct nth_env *env, struct world *w)
{
	world_iopf_attached(_metadata, env, w);
	w->nested2 = world_nested(_metadata, w, w->hwpt, w->fault, IOTLB_TO);
	world_pending_group(_metadata, w);
	w->cmd.test.mock_attach.pt_id = w->nested2;
	world_test_call(w, IOMMU_TEST_OP_MOCK_DEVICE_REPLACE, w->dev.id);
}

static void setup_replace_fault_plain(struct __test_metadata *_metadata,
				      struct nth_env *env, struct world *w)
{
	world_iopf_attached(_metadata, env, w);
	w->nested2 = world_nested(_metadata, w, w->hwpt, 0, IOTLB_TO);
	world_pending_group(_metadata, w);
	w->cmd.test.mock_attach.pt_id = w->nested2;
	world_test_call(w, IOMMU_TEST_OP_MOCK_DEVICE_REPLACE, w->dev.id);
}

/* Still on the old HWPT, faults on, the pending group still answerable */
static void failed_replace_fault(struct __test_metadata *_metadata,
				 struct nth_env *env, struct world *w,
				 const struct snapshot *snap, const char *when)
{
	struct dom dom;

	EXPECT_EQ(0, dom_get(w->fd, w->dev.id, &dom));
	EXPECT_EQ(IOTLB_FROM, dom.iotlb)
		TH_LOG("%s: the device left its nested HWPT", when);
	expect_answers(_metadata, w, 0, -1, when);
	EXPECT_EQ(1, iopf_enabled(_metadata, w))
		TH_LOG("%s: I/O page faults went off", when);
	EXPECT_EQ(RESP_SIZE, answer(w->fault_fd, w->cookie,
				    IOMMUFD_PAGE_RESP_SUCCESS))
		TH_LOG("%s: the pending group cannot be answered: %s", when,
		       strerror(errno));
	expect_answers(_metadata, w, GRPID_A, IOMMUFD_PAGE_RESP_SUCCESS,
		       when);
}

/* The pending group was answered INVALID, once, and its cookie is gone */
static void done_replace_fault(struct __test_metadata *_metadata,
			       struct nth_env *env, struct world *w,
			       const char *when)
{
	struct dom dom;

	EXPECT_EQ(w->nested2, w->cmd.test.mock_attach.out_hwpt_id);
	EXPECT_EQ(0, dom_get(w->fd, w->dev.id, &dom));
	EXPECT_EQ(IOTLB_TO, dom.iotlb)
		TH_LOG("%s: the device is not on the new HWPT", when);
	expect_answers(_metadata, w, GRPID_A, IOMMUFD_PAGE_RESP_INVALID, when);
	expect_answers(_metadata, w, 0, -1, when);
	EXPECT_ERRNO(EINVAL, answer(w->fault_fd, w->cookie,
				    IOMMUFD_PAGE_RESP_SUCCESS));
}

static void done_replace_fault_fault(struct __test_metadata *_metadata,
				     struct nth_env *env, struct world *w,
				     const char *when)
{
	done_replace_fault(_metadata, env, w, when);
	EXPECT_EQ(1, iopf_enabled(_metadata, w));
	ASSERT_EQ(0, page_request(w->fd, w->dev.id, MOCK_PAGE_REQUEST_LAST,
				  GRPID_B));
	expect_group_queued(_metadata, w, GRPID_B, 1, when);
}

static void done_replace_fault_plain(struct __test_metadata *_metadata,
				     struct nth_env *env, struct world *w,
				     const char *when)
{
	done_replace_fault(_metadata, env, w, when);
	EXPECT_EQ(0, iopf_enabled(_metadata, w));
}

/*
 * MOCK_DEVICE_PAGE_REQUEST: the core keeps a request that is not the last
 * of its group, and makes a group of the last one and those kept. It
 * absorbs a failure to allocate the group by answering the device itself,
 * which the checks accept as long as the device is answered once.
 */

static void page_request_call(struct world *w, uint32_t flags)
{
	w->cmd.test.page_request = (typeof(w->cmd.test.page_request)){
		.flags = flags,
		.grpid = GRPID_A,
		.perm = IOMMU_PGFAULT_PERM_READ,
		.addr = IOVA_A + CPU_PAGE,
	};
	world_test_call(w, IOMMU_TEST_OP_MOCK_DEVICE_PAGE_REQUEST, w->dev.id);
}

static void setup_page_request_partial(struct __test_metadata *_metadata,
				       struct nth_env *env, struct world *w)
{
	world_iopf_attached(_metadata, env, w);
	page_request_call(w, 0);
}

static void setup_page_request_last(struct __test_metadata *_metadata,
				    struct nth_env *env, struct world *w)
{
	world_iopf_attached(_metadata, env, w);
	page_request_call(w, MOCK_PAGE_REQUEST_LAST);
}

static void setup_page_request_group(struct __test_metadata *_metadata,
				     struct nth_env *env, struct world *w)
{
	world_iopf_attached(_metadata, env, w);
	ASSERT_EQ(0, page_request(w->fd, w->dev.id, 0, GRPID_A));
	page_request_call(w, MOCK_PAGE_REQUEST_LAST);
}

/* A lost partial request is not in the group its last one completes */
static void failed_page_request_partial(struct __test_metadata *_metadata,
					struct nth_env *env, struct world *w,
					const struct snapshot *snap,
					const char *when)
{
	expect_answers(_metadata, w, 0, -1, when);
	ASSERT_EQ(0, page_request(w->fd, w->dev.id, MOCK_PAGE_REQUEST_LAST,
				  GRPID_A));
	expect_group_queued(_metadata, w, GRPID_A, 1, when);
}

static void done_page_request_partial(struct __test_metadata *_metadata,
				      struct nth_env *env, struct world *w,
				      const char *when)
{
	expect_answers(_metadata, w, 0, -1, when);
	ASSERT_EQ(0, page_request(w->fd, w->dev.id, MOCK_PAGE_REQUEST_LAST,
				  GRPID_A));
	expect_group_queued(_metadata, w, GRPID_A, 2, when);
}

/*
 * The group of @nr requests either reached the queue, or the core
 * answered it itself and nothing is queued: never both, never neither
 */
static void expect_group_once(struct __test_metadata *_metadata,
			      struct world *w, unsigned int nr,
			      const char *when)
{
	struct iommu_hwpt_pgfault pgf[FAULT_RECS];
	struct iommu_test_cmd cmd;

	ASSERT_EQ(0, page_response(w->fd, w->dev.id, &cmd));
	if (!cmd.page_response.out_responses) {
		expect_group_queued(_metadata, w, GRPID_A, nr, when);
		return;
	}
	EXPECT_EQ(1, cmd.page_response.out_responses);
	EXPECT_EQ(GRPID_A, cmd.page_response.out_grpid);
	EXPECT_EQ(RESP_CORE_FAILURE, cmd.page_response.out_code)
		TH_LOG("%s: the core answered %u", when,
		       cmd.page_response.out_code);
	EXPECT_EQ(0, read_all(w->fault_fd, pgf))
		TH_LOG("%s: a group answered by the core is also queued",
		       when);
	expect_answers(_metadata, w, 0, -1, when);
}

static void done_page_request_last(struct __test_metadata *_metadata,
				   struct nth_env *env, struct world *w,
				   const char *when)
{
	expect_group_once(_metadata, w, 1, when);
}

static void done_page_request_group(struct __test_metadata *_metadata,
				    struct nth_env *env, struct world *w,
				    const char *when)
{
	expect_group_once(_metadata, w, 2, when);
}

/*
 * read() of the FAULT file gives each group a cookie (an xarray entry); a
 * read that cannot puts the group back at the head of the queue. write()
 * only looks cookies up and answers, and allocates nothing: its row shows
 * that with no injection point.
 */

static int fault_read_call(struct world *w)
{
	w->fd_got = read(w->fault_fd, w->data.pgf, sizeof(w->data.pgf));
	return w->fd_got < 0 ? -1 : 0;
}

static int fault_write_call(struct world *w)
{
	w->fd_got = write(w->fault_fd, &w->data.resp, sizeof(w->data.resp));
	return w->fd_got < 0 ? -1 : 0;
}

/* Group A of two requests, then group B of one, queued and not read */
static void setup_fault_read(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w)
{
	world_iopf_attached(_metadata, env, w);
	ASSERT_EQ(0, page_request(w->fd, w->dev.id, 0, GRPID_A));
	ASSERT_EQ(0, page_request(w->fd, w->dev.id, MOCK_PAGE_REQUEST_LAST,
				  GRPID_A));
	ASSERT_EQ(0, page_request(w->fd, w->dev.id, MOCK_PAGE_REQUEST_LAST,
				  GRPID_B));
	memset(w->data.pgf, 0, sizeof(w->data.pgf));
	w->fd_call = fault_read_call;
}

/* Both groups still queued, in order, each answerable once */
static void failed_fault_read(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w,
			      const struct snapshot *snap, const char *when)
{
	struct iommu_hwpt_pgfault pgf[FAULT_RECS];

	expect_answers(_metadata, w, 0, -1, when);
	ASSERT_EQ(3, read_all(w->fault_fd, pgf))
		TH_LOG("%s: the groups are not both queued", when);
	EXPECT_EQ(GRPID_A, pgf[0].grpid);
	EXPECT_EQ(GRPID_B, pgf[2].grpid);
	EXPECT_EQ(RESP_SIZE, answer(w->fault_fd, pgf[2].cookie,
				    IOMMUFD_PAGE_RESP_INVALID));
	expect_answers(_metadata, w, GRPID_B, IOMMUFD_PAGE_RESP_INVALID,
		       when);
	EXPECT_EQ(RESP_SIZE, answer(w->fault_fd, pgf[0].cookie,
				    IOMMUFD_PAGE_RESP_SUCCESS));
	expect_answers(_metadata, w, GRPID_A, IOMMUFD_PAGE_RESP_SUCCESS,
		       when);
}

/*
 * The read took group A, or both: what it did not take is still queued,
 * and every group is answered once through its cookie
 */
static void done_fault_read(struct __test_metadata *_metadata,
			    struct nth_env *env, struct world *w,
			    const char *when)
{
	struct iommu_hwpt_pgfault rest[FAULT_RECS];
	int got = w->fd_got / PGF_SIZE;

	EXPECT_TRUE(got == 2 || got == 3)
		TH_LOG("%s: read %zd bytes", when, w->fd_got);
	EXPECT_EQ(GRPID_A, w->data.pgf[0].grpid);
	EXPECT_EQ(GRPID_A, w->data.pgf[1].grpid);
	EXPECT_EQ(3 - got, read_all(w->fault_fd, rest));
	EXPECT_EQ(GRPID_B, got == 3 ? w->data.pgf[2].grpid : rest[0].grpid);
	EXPECT_EQ(RESP_SIZE, answer(w->fault_fd, w->data.pgf[0].cookie,
				    IOMMUFD_PAGE_RESP_SUCCESS));
	expect_answers(_metadata, w, GRPID_A, IOMMUFD_PAGE_RESP_SUCCESS,
		       when);
	EXPECT_EQ(RESP_SIZE, answer(w->fault_fd, got == 3 ?
				    w->data.pgf[2].cookie : rest[0].cookie,
				    IOMMUFD_PAGE_RESP_SUCCESS));
	expect_answers(_metadata, w, GRPID_B, IOMMUFD_PAGE_RESP_SUCCESS,
		       when);
}

static void setup_fault_write(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w)
{
	world_iopf_attached(_metadata, env, w);
	world_pending_group(_metadata, w);
	w->data.resp = (struct iommu_hwpt_page_response){
		.cookie = w->cookie,
		.code = IOMMUFD_PAGE_RESP_SUCCESS,
	};
	w->fd_call = fault_write_call;
}

static void done_fault_write(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w,
			     const char *when)
{
	EXPECT_EQ(RESP_SIZE, w->fd_got);
	expect_answers(_metadata, w, GRPID_A, IOMMUFD_PAGE_RESP_SUCCESS,
		       when);
	EXPECT_ERRNO(EINVAL, answer(w->fault_fd, w->cookie,
				    IOMMUFD_PAGE_RESP_SUCCESS));
}

/* ---- IOMMU_TEST_CMD: mock domains and devices ---- */

static void setup_mock_domain(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	world_test_call(w, IOMMU_TEST_OP_MOCK_DOMAIN, w->ioas);
}

static void done_mock_domain(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w,
			     const char *when)
{
	expect_translates(_metadata, env, w,
			  w->cmd.test.mock_domain.out_mock_id, when);
}

static void setup_device_add(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	world_test_call(w, IOMMU_TEST_OP_MOCK_DEVICE_ADD, 0);
}

static void failed_device_add(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w,
			      const struct snapshot *snap, const char *when)
{
	if (env->mock_devs0 >= 0)
		EXPECT_EQ(env->mock_devs0, mock_bus_devices())
			TH_LOG("%s: a mock device is left on the bus", when);
}

static void setup_device_attach(struct __test_metadata *_metadata,
				struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	world_dev(_metadata, w, 0);
	w->cmd.test.mock_attach.pt_id = w->ioas;
	world_test_call(w, IOMMU_TEST_OP_MOCK_DEVICE_ATTACH, w->dev.id);
}

/* The device is on ioas; replacing moves it to ioas2, which maps buf too */
static void setup_device_replace(struct __test_metadata *_metadata,
				 struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	world_dev(_metadata, w, 0);
	world_dev_attach(_metadata, w, w->ioas);
	w->ioas2 = world_ioas(_metadata, w);
	ASSERT_EQ(0, ioas_map_fixed(w->fd, w->ioas2, env->buf, BUF_LEN,
				    IOVA_A));
	w->mapped2 = true;
	w->cmd.test.mock_attach.pt_id = w->ioas2;
	world_test_call(w, IOMMU_TEST_OP_MOCK_DEVICE_REPLACE, w->dev.id);
}

static void done_device_attach(struct __test_metadata *_metadata,
			       struct nth_env *env, struct world *w,
			       const char *when)
{
	expect_translates(_metadata, env, w, w->dev.id, when);
}

/* ---- IOMMU_TEST_CMD: accesses ---- */

static void expect_access(struct __test_metadata *_metadata, struct world *w,
			  uint32_t attached, uint32_t pins, const char *when)
{
	struct iommu_test_cmd info;

	EXPECT_EQ(0, access_info(w->fd, w->access, &info));
	EXPECT_EQ(attached, info.access_info.out_attached)
		TH_LOG("%s: the access is %sattached", when,
		       info.access_info.out_attached ? "" : "not ");
	EXPECT_EQ(pins, info.access_info.out_pins)
		TH_LOG("%s: the access holds %u pins, expected %u", when,
		       info.access_info.out_pins, pins);
}

static void setup_access_create(struct __test_metadata *_metadata,
				struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	w->cmd.test.access_create.flags = MOCK_ACCESS_PIN_PAGES;
	world_test_call(w, IOMMU_TEST_OP_ACCESS_CREATE, w->ioas);
}

static void setup_access_attach(struct __test_metadata *_metadata,
				struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	world_access(_metadata, w, MOCK_ACCESS_PIN_PAGES, 0);
	w->cmd.test.access_attach.ioas_id = w->ioas;
	world_test_call(w, IOMMU_TEST_OP_ACCESS_ATTACH, w->access);
}

static void failed_access_attach(struct __test_metadata *_metadata,
				 struct nth_env *env, struct world *w,
				 const struct snapshot *snap, const char *when)
{
	expect_access(_metadata, w, 0, 0, when);
}

static void setup_access_replace(struct __test_metadata *_metadata,
				 struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	world_access(_metadata, w, MOCK_ACCESS_PIN_PAGES, w->ioas);
	w->ioas2 = world_ioas(_metadata, w);
	w->cmd.test.access_attach.ioas_id = w->ioas2;
	world_test_call(w, IOMMU_TEST_OP_ACCESS_REPLACE, w->access);
}

static void failed_access_replace(struct __test_metadata *_metadata,
				  struct nth_env *env, struct world *w,
				  const struct snapshot *snap,
				  const char *when)
{
	expect_access(_metadata, w, 1, 0, when);
	/* Still on ioas: its IOVA_A can be pinned, ioas2 maps nothing */
	w->cmd.test = (struct iommu_test_cmd){
		.access_pin = { .iova = IOVA_A, .length = CPU_PAGE },
	};
	EXPECT_EQ(0, test_cmd(w->fd, IOMMU_TEST_OP_ACCESS_PIN, w->access,
			      &w->cmd.test))
		TH_LOG("%s: the access left ioas (%s)", when,
		       strerror(errno));
}

static void access_pin_call(struct world *w)
{
	w->cmd.test.access_pin = (typeof(w->cmd.test.access_pin)){
		.iova = IOVA_A,
		.length = BUF_LEN,
		.flags = MOCK_ACCESS_RW_WRITE,
	};
	world_test_call(w, IOMMU_TEST_OP_ACCESS_PIN, w->access);
}

static void setup_access_pin(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	world_access(_metadata, w, MOCK_ACCESS_PIN_PAGES, w->ioas);
	access_pin_call(w);
}

/* With a mock domain the pages are pinned already: no second pin */
static void setup_access_pin_domain(struct __test_metadata *_metadata,
				    struct nth_env *env, struct world *w)
{
	world_mapped_ioas(_metadata, env, w);
	w->mock = world_mock(_metadata, w, w->ioas);
	world_access(_metadata, w, MOCK_ACCESS_PIN_PAGES, w->ioas);
	access_pin_call(w);
}

static void failed_access_pin(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w,
			      const struct snapshot *snap, const char *when)
{
	expect_access(_metadata, w, 1, 0, when);
}

static void done_access_pin(struct __test_metadata *_metadata,
			    struct nth_env *env, struct world *w,
			    const char *when)
{
	expect_access(_metadata, w, 1, 1, when);
	EXPECT_EQ(0, check_pins(env->probe_fd, env->buf, BUF_LEN, 1))
		TH_LOG("%s: buf is not pinned exactly once", when);
}

static void access_rw_setup(struct __test_metadata *_metadata,
			    struct nth_env *env, struct world *w,
			    uint32_t flags)
{
	world_mapped_ioas(_metadata, env, w);
	world_access(_metadata, w, 0, w->ioas);
	w->cmd.test.access_rw = (typeof(w->cmd.test.access_rw)){
		.iova = IOVA_A + CPU_PAGE / 2,
		.uptr = (uintptr_t)env->dst,
		.length = 2 * CPU_PAGE,
		.flags = flags,
	};
	world_test_call(w, IOMMU_TEST_OP_ACCESS_RW, w->access);
}

static void setup_access_read(struct __test_metadata *_metadata,
			      struct nth_env *env, struct world *w)
{
	access_rw_setup(_metadata, env, w, 0);
}

static void setup_access_write(struct __test_metadata *_metadata,
			       struct nth_env *env, struct world *w)
{
	access_rw_setup(_metadata, env, w, MOCK_ACCESS_RW_WRITE);
}

static void setup_access_write_kthread(struct __test_metadata *_metadata,
				       struct nth_env *env, struct world *w)
{
	access_rw_setup(_metadata, env, w,
			MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_KTHREAD);
}

static void done_access_rw(struct __test_metadata *_metadata,
			   struct nth_env *env, struct world *w,
			   const char *when)
{
	EXPECT_EQ(0, memcmp(env->buf + CPU_PAGE / 2, env->dst, 2 * CPU_PAGE))
		TH_LOG("%s: the bytes differ", when);
}

/* ---- The table ---- */

enum {
	ROW_DESTROY_MOCK_DOMAIN,
	ROW_DESTROY_IOAS,
	ROW_IOAS_ALLOC,
	ROW_IOAS_ALLOW_IOVAS,
	ROW_IOAS_COPY,
	ROW_IOAS_COPY_DOMAIN,
	ROW_IOAS_IOVA_RANGES,
	ROW_IOAS_MAP,
	ROW_IOAS_MAP_DOMAIN,
	ROW_IOAS_UNMAP,
	ROW_OPTION_RLIMIT_MODE_GET,
	ROW_OPTION_RLIMIT_MODE_SET,
	ROW_OPTION_HUGE_PAGES_GET,
	ROW_OPTION_HUGE_PAGES_SET,
	ROW_VFIO_IOAS_SET,
	ROW_VFIO_IOAS_GET,
	ROW_HWPT_ALLOC_PAGING,
	ROW_HWPT_ALLOC_NEST_PARENT,
	ROW_HWPT_ALLOC_NESTED,
	ROW_HWPT_ALLOC_NESTED_FAULT,
	ROW_GET_HW_INFO,
	ROW_HWPT_SET_DIRTY_TRACKING,
	ROW_HWPT_GET_DIRTY_BITMAP,
	ROW_HWPT_INVALIDATE,
	ROW_FAULT_QUEUE_ALLOC,
	ROW_IOAS_MAP_FILE,
	ROW_IOAS_MAP_FILE_DOMAIN,
	ROW_IOAS_CHANGE_PROCESS,
	ROW_FAULT_FD_READ,
	ROW_FAULT_FD_WRITE,
	ROW_TEST_MOCK_DOMAIN,
	ROW_TEST_MOCK_DEVICE_ADD,
	ROW_TEST_MOCK_DEVICE_ATTACH,
	ROW_TEST_MOCK_DEVICE_REPLACE,
	ROW_TEST_ATTACH_FAULT,
	ROW_TEST_REPLACE_FAULT_TO_FAULT,
	ROW_TEST_REPLACE_FAULT_TO_PLAIN,
	ROW_TEST_PAGE_REQUEST_PARTIAL,
	ROW_TEST_PAGE_REQUEST_LAST,
	ROW_TEST_PAGE_REQUEST_GROUP,
	ROW_TEST_ACCESS_CREATE,
	ROW_TEST_ACCESS_ATTACH,
	ROW_TEST_ACCESS_REPLACE,
	ROW_TEST_ACCESS_PIN,
	ROW_TEST_ACCESS_PIN_DOMAIN,
	ROW_TEST_ACCESS_READ,
	ROW_TEST_ACCESS_WRITE,
	ROW_TEST_ACCESS_WRITE_KTHREAD,
	ROW_COUNT
};

/* One row per ioctl of the dispatch table and per allocating test op */
static const struct row rows[ROW_COUNT] = {
	[ROW_DESTROY_MOCK_DOMAIN] = {
		.name = "destroy_mock_domain",
		.nr = IOMMUFD_CMD_DESTROY,
		.setup = setup_destroy_mock_domain,
		.done = done_destroy,
	},
	[ROW_DESTROY_IOAS] = {
		.name = "destroy_ioas",
		.nr = IOMMUFD_CMD_DESTROY,
		.setup = setup_destroy_ioas,
		.done = done_destroy,
	},
	[ROW_IOAS_ALLOC] = {
		.name = "ioas_alloc",
		.nr = IOMMUFD_CMD_IOAS_ALLOC,
		.setup = setup_ioas_alloc,
		.done = done_ioas_alloc,
	},
	[ROW_IOAS_ALLOW_IOVAS] = {
		.name = "ioas_allow_iovas",
		.nr = IOMMUFD_CMD_IOAS_ALLOW_IOVAS,
		.setup = setup_allow_iovas,
	},
	[ROW_IOAS_COPY] = {
		.name = "ioas_copy",
		.nr = IOMMUFD_CMD_IOAS_COPY,
		.setup = setup_copy,
		.failed = failed_copy,
		.done = done_copy,
	},
	[ROW_IOAS_COPY_DOMAIN] = {
		.name = "ioas_copy_domain",
		.nr = IOMMUFD_CMD_IOAS_COPY,
		.pins = true,
		.setup = setup_copy_domain,
		.failed = failed_copy,
		.done = done_copy,
	},
	[ROW_IOAS_IOVA_RANGES] = {
		.name = "ioas_iova_ranges",
		.nr = IOMMUFD_CMD_IOAS_IOVA_RANGES,
		.setup = setup_iova_ranges,
	},
	[ROW_IOAS_MAP] = {
		.name = "ioas_map",
		.nr = IOMMUFD_CMD_IOAS_MAP,
		.setup = setup_map,
		.failed = failed_map,
		.done = done_map,
	},
	[ROW_IOAS_MAP_DOMAIN] = {
		.name = "ioas_map_domain",
		.nr = IOMMUFD_CMD_IOAS_MAP,
		.pins = true,
		.setup = setup_map_domain,
		.failed = failed_map,
		.done = done_map,
	},
	[ROW_IOAS_UNMAP] = {
		.name = "ioas_unmap",
		.nr = IOMMUFD_CMD_IOAS_UNMAP,
		.setup = setup_unmap,
		.failed = failed_unmap,
		.done = done_unmap,
	},
	[ROW_OPTION_RLIMIT_MODE_GET] = {
		.name = "option_rlimit_mode_get",
		.nr = IOMMUFD_CMD_OPTION,
		.setup = setup_rlimit_get,
	},
	[ROW_OPTION_RLIMIT_MODE_SET] = {
		.name = "option_rlimit_mode_set",
		.nr = IOMMUFD_CMD_OPTION,
		.setup = setup_rlimit_set,
		.failed = failed_rlimit_set,
		.done = done_rlimit_set,
	},
	[ROW_OPTION_HUGE_PAGES_GET] = {
		.name = "option_huge_pages_get",
		.nr = IOMMUFD_CMD_OPTION,
		.setup = setup_huge_get,
	},
	[ROW_OPTION_HUGE_PAGES_SET] = {
		.name = "option_huge_pages_set",
		.nr = IOMMUFD_CMD_OPTION,
		.setup = setup_huge_set,
		.failed = failed_huge_set,
		.done = done_huge_set,
	},
	[ROW_VFIO_IOAS_SET] = {
		.name = "vfio_ioas_set",
		.nr = IOMMUFD_CMD_VFIO_IOAS,
		.setup = setup_vfio_set,
		.failed = failed_vfio_set,
		.done = done_vfio_set,
	},
	[ROW_VFIO_IOAS_GET] = {
		.name = "vfio_ioas_get",
		.nr = IOMMUFD_CMD_VFIO_IOAS,
		.setup = setup_vfio_get,
	},
	[ROW_HWPT_ALLOC_PAGING] = {
		.name = "hwpt_alloc_paging",
		.nr = IOMMUFD_CMD_HWPT_ALLOC,
		.pins = true,
		.setup = setup_hwpt_paging,
		.done = done_hwpt,
	},
	[ROW_HWPT_ALLOC_NEST_PARENT] = {
		.name = "hwpt_alloc_nest_parent",
		.nr = IOMMUFD_CMD_HWPT_ALLOC,
		.pins = true,
		.setup = setup_hwpt_parent,
		.done = done_hwpt,
	},
	[ROW_HWPT_ALLOC_NESTED] = {
		.name = "hwpt_alloc_nested",
		.nr = IOMMUFD_CMD_HWPT_ALLOC,
		.setup = setup_hwpt_nested,
		.done = done_hwpt,
	},
	[ROW_HWPT_ALLOC_NESTED_FAULT] = {
		.name = "hwpt_alloc_nested_fault",
		.nr = IOMMUFD_CMD_HWPT_ALLOC,
		.setup = setup_hwpt_nested_fault,
		.failed = failed_hwpt_nested_fault,
		.done = done_hwpt_nested_fault,
	},
	[ROW_GET_HW_INFO] = {
		.name = "get_hw_info",
		.nr = IOMMUFD_CMD_GET_HW_INFO,
		.setup = setup_hw_info,
		.done = done_hw_info,
	},
	[ROW_HWPT_SET_DIRTY_TRACKING] = {
		.name = "hwpt_set_dirty_tracking",
		.nr = IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING,
		.setup = setup_set_dirty,
		.failed = failed_set_dirty,
		.done = done_set_dirty,
	},
	[ROW_HWPT_GET_DIRTY_BITMAP] = {
		.name = "hwpt_get_dirty_bitmap",
		.nr = IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP,
		.setup = setup_get_dirty,
		.done = done_get_dirty,
	},
	[ROW_HWPT_INVALIDATE] = {
		.name = "hwpt_invalidate",
		.nr = IOMMUFD_CMD_HWPT_INVALIDATE,
		.setup = setup_invalidate,
		.done = done_invalidate,
	},
	[ROW_IOAS_MAP_FILE] = {
		.name = "ioas_map_file",
		.nr = IOMMUFD_CMD_IOAS_MAP_FILE,
		.setup = setup_map_file,
		.failed = failed_map,
		.done = done_map_file,
	},
	[ROW_IOAS_MAP_FILE_DOMAIN] = {
		.name = "ioas_map_file_domain",
		.nr = IOMMUFD_CMD_IOAS_MAP_FILE,
		.pins = true,
		.setup = setup_map_file_domain,
		.failed = failed_map,
		.done = done_map_file,
	},
	[ROW_IOAS_CHANGE_PROCESS] = {
		.name = "ioas_change_process",
		.nr = IOMMUFD_CMD_IOAS_CHANGE_PROCESS,
		.setup = setup_change_process,
	},
	[ROW_FAULT_QUEUE_ALLOC] = {
		.name = "fault_queue_alloc",
		.nr = IOMMUFD_CMD_FAULT_QUEUE_ALLOC,
		.setup = setup_fault_alloc,
		.done = done_fault_alloc,
	},
	/* The FAULT file's calls, under the command that makes it */
	[ROW_FAULT_FD_READ] = {
		.name = "fault_fd_read",
		.nr = IOMMUFD_CMD_FAULT_QUEUE_ALLOC,
		.setup = setup_fault_read,
		.failed = failed_fault_read,
		.done = done_fault_read,
	},
	[ROW_FAULT_FD_WRITE] = {
		.name = "fault_fd_write",
		.nr = IOMMUFD_CMD_FAULT_QUEUE_ALLOC,
		.setup = setup_fault_write,
		.done = done_fault_write,
	},
	[ROW_TEST_MOCK_DOMAIN] = {
		.name = "test_mock_domain",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.pins = true,
		.setup = setup_mock_domain,
		.done = done_mock_domain,
	},
	[ROW_TEST_MOCK_DEVICE_ADD] = {
		.name = "test_mock_device_add",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_MOCK_DEVICE_ADD,
		.setup = setup_device_add,
		.failed = failed_device_add,
	},
	[ROW_TEST_MOCK_DEVICE_ATTACH] = {
		.name = "test_mock_device_attach",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_MOCK_DEVICE_ATTACH,
		.pins = true,
		.setup = setup_device_attach,
		.done = done_device_attach,
	},
	[ROW_TEST_MOCK_DEVICE_REPLACE] = {
		.name = "test_mock_device_replace",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_MOCK_DEVICE_REPLACE,
		.pins = true,
		.setup = setup_device_replace,
		.done = done_device_attach,
	},
	[ROW_TEST_ATTACH_FAULT] = {
		.name = "test_attach_fault",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_MOCK_DEVICE_ATTACH,
		.setup = setup_attach_fault,
		.failed = failed_attach_fault,
		.done = done_attach_fault,
	},
	[ROW_TEST_REPLACE_FAULT_TO_FAULT] = {
		.name = "test_replace_fault_to_fault",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_MOCK_DEVICE_REPLACE,
		.setup = setup_replace_fault,
		.failed = failed_replace_fault,
		.done = done_replace_fault_fault,
	},
	[ROW_TEST_REPLACE_FAULT_TO_PLAIN] = {
		.name = "test_replace_fault_to_plain",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_MOCK_DEVICE_REPLACE,
		.setup = setup_replace_fault_plain,
		.failed = failed_replace_fault,
		.done = done_replace_fault_plain,
	},
	[ROW_TEST_PAGE_REQUEST_PARTIAL] = {
		.name = "test_page_request_partial",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_MOCK_DEVICE_PAGE_REQUEST,
		.setup = setup_page_request_partial,
		.failed = failed_page_request_partial,
		.done = done_page_request_partial,
	},
	[ROW_TEST_PAGE_REQUEST_LAST] = {
		.name = "test_page_request_last",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_MOCK_DEVICE_PAGE_REQUEST,
		.setup = setup_page_request_last,
		.done = done_page_request_last,
	},
	[ROW_TEST_PAGE_REQUEST_GROUP] = {
		.name = "test_page_request_group",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_MOCK_DEVICE_PAGE_REQUEST,
		.setup = setup_page_request_group,
		.done = done_page_request_group,
	},
	[ROW_TEST_ACCESS_CREATE] = {
		.name = "test_access_create",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_ACCESS_CREATE,
		.setup = setup_access_create,
	},
	[ROW_TEST_ACCESS_ATTACH] = {
		.name = "test_access_attach",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_ACCESS_ATTACH,
		.setup = setup_access_attach,
		.failed = failed_access_attach,
	},
	[ROW_TEST_ACCESS_REPLACE] = {
		.name = "test_access_replace",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_ACCESS_REPLACE,
		.setup = setup_access_replace,
		.failed = failed_access_replace,
	},
	[ROW_TEST_ACCESS_PIN] = {
		.name = "test_access_pin",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_ACCESS_PIN,
		.pins = true,
		.setup = setup_access_pin,
		.failed = failed_access_pin,
		.done = done_access_pin,
	},
	[ROW_TEST_ACCESS_PIN_DOMAIN] = {
		.name = "test_access_pin_domain",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_ACCESS_PIN,
		.pins = true,
		.setup = setup_access_pin_domain,
		.failed = failed_access_pin,
		.done = done_access_pin,
	},
	[ROW_TEST_ACCESS_READ] = {
		.name = "test_access_read",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_ACCESS_RW,
		.pins = true,
		.setup = setup_access_read,
		.done = done_access_rw,
	},
	[ROW_TEST_ACCESS_WRITE] = {
		.name = "test_access_write",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_ACCESS_RW,
		.pins = true,
		.setup = setup_access_write,
		.done = done_access_rw,
	},
	[ROW_TEST_ACCESS_WRITE_KTHREAD] = {
		.name = "test_access_write_kthread",
		.nr = IOMMUFD_CMD_TEST_CMD,
		.test_op = IOMMU_TEST_OP_ACCESS_RW,
		.pins = true,
		.setup = setup_access_write_kthread,
		.done = done_access_rw,
	},
};

/*
 * The last command number the uAPI defines. An ioctl added to the header
 * moves this to it, and the suite then fails until a row covers it; the
 * kernel is probed for numbers past it.
 */
/* The commands the uAPI header defines, 6.12's and those adopted later */
static const unsigned int uapi_cmds[] = {
	IOMMUFD_CMD_DESTROY,
	IOMMUFD_CMD_IOAS_ALLOC,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS,
	IOMMUFD_CMD_IOAS_COPY,
	IOMMUFD_CMD_IOAS_IOVA_RANGES,
	IOMMUFD_CMD_IOAS_MAP,
	IOMMUFD_CMD_IOAS_UNMAP,
	IOMMUFD_CMD_OPTION,
	IOMMUFD_CMD_VFIO_IOAS,
	IOMMUFD_CMD_HWPT_ALLOC,
	IOMMUFD_CMD_GET_HW_INFO,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP,
	IOMMUFD_CMD_HWPT_INVALIDATE,
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC,
	IOMMUFD_CMD_IOAS_MAP_FILE,
	IOMMUFD_CMD_IOAS_CHANGE_PROCESS,
};

static bool uapi_defines(unsigned int nr)
{
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(uapi_cmds); i++)
		if (uapi_cmds[i] == nr)
			return true;
	return false;
}

/* ---- The sweep ---- */

FIXTURE(nth_all)
{
	struct nth_env env;
};

FIXTURE_VARIANT(nth_all)
{
	const struct row *row;
};

FIXTURE_SETUP(nth_all)
{
	struct nth_env *env = &self->env;
	char path[64];

	memset(env, 0, sizeof(*env));
	env->nth_fd = -1;
	MOCK_FILE_OPEN(env->probe_fd, return);
	ASSERT_EQ(0, charge_read(env->probe_fd, &env->charge0));
	env->nth_fd = fail_nth_open(path, sizeof(path));
	if (env->nth_fd < 0)
		SKIP(return, "no %s (CONFIG_FAULT_INJECTION)", path);
	if (fault_knobs_save(&env->knobs))
		SKIP(return, "cannot read %s", env->knobs.failed);

	env->buf = small_pages_alloc(BUF_LEN);
	ASSERT_NE(NULL, env->buf);
	env->dst = small_pages_alloc(BUF_LEN);
	ASSERT_NE(NULL, env->dst);
	env->mfd = memfd_create("nth-all", 0);
	ASSERT_LE(0, env->mfd);
	ASSERT_EQ(0, ftruncate(env->mfd, BUF_LEN));
	env->mfd_va = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			   env->mfd, 0);
	ASSERT_NE(MAP_FAILED, env->mfd_va);
	memset(env->mfd_va, 0x6d, BUF_LEN);
	ASSERT_EQ(0, charge_read(env->probe_fd, &env->charge0));
	env->mock_devs0 = mock_bus_devices();
	ASSERT_EQ(0, pin_batch_set(env->probe_fd, PIN_BATCH));

	/* Last: the teardown does not run for a setup that did not finish */
	if (fault_knobs_set(&env->knobs)) {
		pin_batch_set(env->probe_fd, 0);
		ASSERT_TRUE(false)
			TH_LOG("cannot set %s", env->knobs.failed);
	}
	env->knobs_set = true;
}

FIXTURE_TEARDOWN(nth_all)
{
	struct nth_env *env = &self->env;

	if (env->nth_fd >= 0) {
		EXPECT_EQ(1, pwrite(env->nth_fd, "0", 1, 0));
		close(env->nth_fd);
	}
	if (env->knobs_set)
		EXPECT_EQ(0, fault_knobs_restore(&env->knobs));
	if (env->probe_fd > 0) {
		EXPECT_EQ(0, pin_batch_set(env->probe_fd, 0));
		close(env->probe_fd);
	}
	if (env->buf)
		munmap(env->buf, BUF_LEN);
	if (env->dst)
		munmap(env->dst, BUF_LEN);
	if (env->mfd_va && env->mfd_va != MAP_FAILED)
		munmap(env->mfd_va, BUF_LEN);
	if (env->mfd > 0)
		close(env->mfd);
}

enum outcome {
	FAILED,		/* site n failed and so did the call */
	ABSORBED,	/* site n failed, the call succeeded all the same */
	COMPLETED,	/* the call succeeded without reaching site n */
};

/*
 * Issues the row's call with site @n armed (0: nothing armed). Nothing
 * between arming and disarming may reach a fault site but the call: no
 * output, no memory the kernel has not seen, no assertion. *unreached
 * gets what fail-nth still counted down to; *err the errno.
 */
static int call_armed(struct __test_metadata *_metadata, struct nth_env *env,
		      struct world *w, unsigned int n, unsigned long *unreached,
		      int *err)
{
	char arm[16], left[16] = {};
	bool armed = true, disarmed = true;
	ssize_t got = 1;
	int arm_len, rc;

	arm_len = snprintf(arm, sizeof(arm), "%u", n);
	if (n)
		armed = pwrite(env->nth_fd, arm, arm_len, 0) == arm_len;
	errno = 0;
	rc = w->fd_call ? w->fd_call(w) : ioctl(w->fd, w->request, w->arg);
	*err = errno;
	if (n) {
		got = pread(env->nth_fd, left, sizeof(left) - 1, 0);
		disarmed = pwrite(env->nth_fd, "0", 1, 0) == 1;
	}
	if (!armed || !disarmed || got <= 0) {
		pwrite(env->nth_fd, "0", 1, 0);
		ASSERT_TRUE(false) TH_LOG("cannot use fail-nth");
	}
	*unreached = n ? strtoul(left, NULL, 10) : 1;
	return rc;
}

static void row_sweep(struct __test_metadata *_metadata, struct nth_env *env,
		      const struct row *row)
{
	unsigned int n = 0, short_rounds = 0, absorbed = 0;
	unsigned long unreached;
	struct snapshot snap;
	struct world w;
	char when[96];
	int rc, err;

	/* n = 0: the call works as the row says, nothing injected */
	for (;;) {
		snprintf(when, sizeof(when), "%s, site %u", row->name, n);
		world_open(_metadata, &w);
		row->setup(_metadata, env, &w);
		snapshot_take(_metadata, env, &w, &snap);
		rc = call_armed(_metadata, env, &w, n, &unreached, &err);
		if (!n && rc && err == ENOTTY && row->may_be_absent) {
			world_close(_metadata, env, &w, when);
			SKIP(return, "%s: ENOTTY, not in this kernel's dispatch table",
			     row->name);
		}
		if (unreached) {
			ASSERT_EQ(0, rc)
				TH_LOG("%s: fails with errno %d (%s) and nothing injected",
				       when, err, strerror(err));
		} else if (!rc) {
			absorbed++;
		} else {
			EXPECT_TRUE(err == ENOMEM || (row->pins && err == EFAULT))
				TH_LOG("%s: an injected failure comes back as errno %d (%s)",
				       when, err, strerror(err));
			expect_unchanged(_metadata, env, &w, &snap, when);
			if (row->failed)
				row->failed(_metadata, env, &w, &snap, when);
		}
		if (!rc && row->done)
			row->done(_metadata, env, &w, when);
		world_close(_metadata, env, &w, when);
		if (_metadata->exit_code != KSFT_PASS)
			return;

		if (n && unreached) {
			/* Round n - 1 reached site n - 1: this one should too */
			if (unreached == 1 || short_rounds == SWEEP_SHORT_ROUNDS)
				break;
			short_rounds++;
			continue;
		}
		n++;
		ASSERT_GT(SWEEP_BOUND, n)
			TH_LOG("%s: calls still fail at site %u, giving up",
			       row->name, n);
	}
	ksft_print_msg("nth_all: %-28s %4u injection points, %3u absorbed%s\n",
		       row->name, n - 1, absorbed,
		       short_rounds ? ", short rounds run again" : "");
}

/* Does a variant of the fixture sweep @row? */
static bool row_has_variant(const struct row *row)
{
	const struct __fixture_variant_metadata *v;

	/* The harness lists the variants; each starts with its row */
	for (v = _nth_all_fixture_object.variant; v; v = v->next) {
		const struct row *const *data = v->data;

		if (*data == row)
			return true;
	}
	return false;
}

/*
 * Before any sweep: every command the uAPI defines has a row, every row a
 * test, and the kernel knows no other command below IOMMU_TEST_CMD (one it
 * knew would have no row).
 */
TEST(table_covers_every_command)
{
	uint64_t arg[16] = { sizeof(arg) };
	unsigned int nr, i;
	bool found;
	int fd;

	for (i = 0; i != ARRAY_SIZE(uapi_cmds); i++) {
		unsigned int j;

		found = false;
		for (j = 0; j != ROW_COUNT; j++)
			found |= rows[j].nr == uapi_cmds[i];
		EXPECT_TRUE(found)
			TH_LOG("command 0x%x has no row", uapi_cmds[i]);
	}
	for (i = 0; i != ROW_COUNT; i++) {
		EXPECT_NE(NULL, rows[i].name) TH_LOG("row %u is empty", i);
		EXPECT_TRUE(row_has_variant(&rows[i]))
			TH_LOG("row %s is never swept", rows[i].name);
	}

	SKIP_IF_UPSTREAM(return, "its IOMMU_TEST_CMD is command 0xa0");
	fd = iommufd_open();
	if (fd < 0)
		SKIP(return, "no /dev/iommu");
	for (nr = IOMMUFD_CMD_BASE; nr < IOMMUFD_CMD_TEST_CMD; nr++) {
		if (uapi_defines(nr))
			continue;
		errno = 0;
		EXPECT_EQ(-1, ioctl(fd, _IO(IOMMUFD_TYPE, nr), arg));
		EXPECT_EQ(ENOTTY, errno)
			TH_LOG("the kernel knows command 0x%x, which has no row",
			       nr);
	}
	close(fd);
	ksft_print_msg("nth_all: %u rows cover the %zu commands of the uAPI and the test ops\n",
		       ROW_COUNT, ARRAY_SIZE(uapi_cmds));
}

/*
 * read() of a FAULT file when the cookie cannot be allocated at all. A
 * single injected failure never gets there: the xarray retries the
 * allocation outside its lock, so the fault_fd_read row only sees its
 * failure absorbed. Here every slab allocation of this thread fails for
 * the duration of the read (failslab with task-filter and make-it-fail),
 * so the read must fail with ENOMEM and put both groups back, in order.
 */
static int debugfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t done;

	if (fd < 0)
		return -1;
	done = write(fd, val, strlen(val));
	close(fd);
	return done == (ssize_t)strlen(val) ? 0 : -1;
}

TEST(fault_fd_read_that_cannot_allocate_keeps_its_groups)
{
	struct nth_env env = { .probe_fd = -1, .mock_devs0 = -1 };
	struct iommu_hwpt_pgfault pgf[FAULT_RECS];
	struct fault_knobs knobs;
	struct world w;
	ssize_t got;
	int err, mif;

	SKIP_IF_UPSTREAM_MOCK(return);
	mif = open("/proc/thread-self/make-it-fail", O_WRONLY);
	if (mif < 0)
		SKIP(return, "no make-it-fail (CONFIG_FAULT_INJECTION)");
	if (fault_knobs_save(&knobs))
		SKIP(return, "cannot read %s", knobs.failed);
	env.buf = small_pages_alloc(BUF_LEN);
	ASSERT_NE(NULL, env.buf);
	world_open(_metadata, &w);
	setup_fault_read(_metadata, &env, &w);

	ASSERT_EQ(0, fault_knobs_set(&knobs));
	/* fault_knobs_restore() puts these back too */
	ASSERT_EQ(0, debugfs_write("/sys/kernel/debug/failslab/task-filter",
				   "Y"));
	ASSERT_EQ(0, debugfs_write("/sys/kernel/debug/failslab/probability",
				   "100"));
	ASSERT_EQ(0, debugfs_write("/sys/kernel/debug/failslab/times", "-1"));
	ASSERT_EQ(1, pwrite(mif, "1", 1, 0));
	errno = 0;
	got = read(w.fault_fd, pgf, sizeof(pgf));
	err = errno;
	ASSERT_EQ(1, pwrite(mif, "0", 1, 0));
	close(mif);
	ASSERT_EQ(0, fault_knobs_restore(&knobs));

	EXPECT_EQ(-1, got);
	EXPECT_EQ(ENOMEM, err);
	failed_fault_read(_metadata, &env, &w, NULL, "read without memory");
	EXPECT_EQ(0, close(w.fault_fd));
	EXPECT_EQ(0, close(w.fd));
	munmap(env.buf, BUF_LEN);
}

FIXTURE_VARIANT_ADD(nth_all, destroy_mock_domain)
{
	.row = &rows[ROW_DESTROY_MOCK_DOMAIN],
};

FIXTURE_VARIANT_ADD(nth_all, destroy_ioas)
{
	.row = &rows[ROW_DESTROY_IOAS],
};

FIXTURE_VARIANT_ADD(nth_all, ioas_alloc)
{
	.row = &rows[ROW_IOAS_ALLOC],
};

FIXTURE_VARIANT_ADD(nth_all, ioas_allow_iovas)
{
	.row = &rows[ROW_IOAS_ALLOW_IOVAS],
};

FIXTURE_VARIANT_ADD(nth_all, ioas_copy)
{
	.row = &rows[ROW_IOAS_COPY],
};

FIXTURE_VARIANT_ADD(nth_all, ioas_copy_domain)
{
	.row = &rows[ROW_IOAS_COPY_DOMAIN],
};

FIXTURE_VARIANT_ADD(nth_all, ioas_iova_ranges)
{
	.row = &rows[ROW_IOAS_IOVA_RANGES],
};

FIXTURE_VARIANT_ADD(nth_all, ioas_map)
{
	.row = &rows[ROW_IOAS_MAP],
};

FIXTURE_VARIANT_ADD(nth_all, ioas_map_domain)
{
	.row = &rows[ROW_IOAS_MAP_DOMAIN],
};

FIXTURE_VARIANT_ADD(nth_all, ioas_unmap)
{
	.row = &rows[ROW_IOAS_UNMAP],
};

FIXTURE_VARIANT_ADD(nth_all, option_rlimit_mode_get)
{
	.row = &rows[ROW_OPTION_RLIMIT_MODE_GET],
};

FIXTURE_VARIANT_ADD(nth_all, option_rlimit_mode_set)
{
	.row = &rows[ROW_OPTION_RLIMIT_MODE_SET],
};

FIXTURE_VARIANT_ADD(nth_all, option_huge_pages_get)
{
	.row = &rows[ROW_OPTION_HUGE_PAGES_GET],
};

FIXTURE_VARIANT_ADD(nth_all, option_huge_pages_set)
{
	.row = &rows[ROW_OPTION_HUGE_PAGES_SET],
};

FIXTURE_VARIANT_ADD(nth_all, vfio_ioas_set)
{
	.row = &rows[ROW_VFIO_IOAS_SET],
};

FIXTURE_VARIANT_ADD(nth_all, vfio_ioas_get)
{
	.row = &rows[ROW_VFIO_IOAS_GET],
};

FIXTURE_VARIANT_ADD(nth_all, hwpt_alloc_paging)
{
	.row = &rows[ROW_HWPT_ALLOC_PAGING],
};

FIXTURE_VARIANT_ADD(nth_all, hwpt_alloc_nest_parent)
{
	.row = &rows[ROW_HWPT_ALLOC_NEST_PARENT],
};

FIXTURE_VARIANT_ADD(nth_all, hwpt_alloc_nested)
{
	.row = &rows[ROW_HWPT_ALLOC_NESTED],
};

FIXTURE_VARIANT_ADD(nth_all, hwpt_alloc_nested_fault)
{
	.row = &rows[ROW_HWPT_ALLOC_NESTED_FAULT],
};

FIXTURE_VARIANT_ADD(nth_all, get_hw_info)
{
	.row = &rows[ROW_GET_HW_INFO],
};

FIXTURE_VARIANT_ADD(nth_all, hwpt_set_dirty_tracking)
{
	.row = &rows[ROW_HWPT_SET_DIRTY_TRACKING],
};

FIXTURE_VARIANT_ADD(nth_all, hwpt_get_dirty_bitmap)
{
	.row = &rows[ROW_HWPT_GET_DIRTY_BITMAP],
};

FIXTURE_VARIANT_ADD(nth_all, hwpt_invalidate)
{
	.row = &rows[ROW_HWPT_INVALIDATE],
};

FIXTURE_VARIANT_ADD(nth_all, fault_queue_alloc)
{
	.row = &rows[ROW_FAULT_QUEUE_ALLOC],
};

FIXTURE_VARIANT_ADD(nth_all, ioas_map_file)
{
	.row = &rows[ROW_IOAS_MAP_FILE],
};

FIXTURE_VARIANT_ADD(nth_all, ioas_map_file_domain)
{
	.row = &rows[ROW_IOAS_MAP_FILE_DOMAIN],
};

FIXTURE_VARIANT_ADD(nth_all, ioas_change_process)
{
	.row = &rows[ROW_IOAS_CHANGE_PROCESS],
};

FIXTURE_VARIANT_ADD(nth_all, fault_fd_read)
{
	.row = &rows[ROW_FAULT_FD_READ],
};

FIXTURE_VARIANT_ADD(nth_all, fault_fd_write)
{
	.row = &rows[ROW_FAULT_FD_WRITE],
};

FIXTURE_VARIANT_ADD(nth_all, test_mock_domain)
{
	.row = &rows[ROW_TEST_MOCK_DOMAIN],
};

FIXTURE_VARIANT_ADD(nth_all, test_mock_device_add)
{
	.row = &rows[ROW_TEST_MOCK_DEVICE_ADD],
};

FIXTURE_VARIANT_ADD(nth_all, test_mock_device_attach)
{
	.row = &rows[ROW_TEST_MOCK_DEVICE_ATTACH],
};

FIXTURE_VARIANT_ADD(nth_all, test_mock_device_replace)
{
	.row = &rows[ROW_TEST_MOCK_DEVICE_REPLACE],
};

FIXTURE_VARIANT_ADD(nth_all, test_attach_fault)
{
	.row = &rows[ROW_TEST_ATTACH_FAULT],
};

FIXTURE_VARIANT_ADD(nth_all, test_replace_fault_to_fault)
{
	.row = &rows[ROW_TEST_REPLACE_FAULT_TO_FAULT],
};

FIXTURE_VARIANT_ADD(nth_all, test_replace_fault_to_plain)
{
	.row = &rows[ROW_TEST_REPLACE_FAULT_TO_PLAIN],
};

FIXTURE_VARIANT_ADD(nth_all, test_page_request_partial)
{
	.row = &rows[ROW_TEST_PAGE_REQUEST_PARTIAL],
};

FIXTURE_VARIANT_ADD(nth_all, test_page_request_last)
{
	.row = &rows[ROW_TEST_PAGE_REQUEST_LAST],
};

FIXTURE_VARIANT_ADD(nth_all, test_page_request_group)
{
	.row = &rows[ROW_TEST_PAGE_REQUEST_GROUP],
};

FIXTURE_VARIANT_ADD(nth_all, test_access_create)
{
	.row = &rows[ROW_TEST_ACCESS_CREATE],
};

FIXTURE_VARIANT_ADD(nth_all, test_access_attach)
{
	.row = &rows[ROW_TEST_ACCESS_ATTACH],
};

FIXTURE_VARIANT_ADD(nth_all, test_access_replace)
{
	.row = &rows[ROW_TEST_ACCESS_REPLACE],
};

FIXTURE_VARIANT_ADD(nth_all, test_access_pin)
{
	.row = &rows[ROW_TEST_ACCESS_PIN],
};

FIXTURE_VARIANT_ADD(nth_all, test_access_pin_domain)
{
	.row = &rows[ROW_TEST_ACCESS_PIN_DOMAIN],
};

FIXTURE_VARIANT_ADD(nth_all, test_access_read)
{
	.row = &rows[ROW_TEST_ACCESS_READ],
};

FIXTURE_VARIANT_ADD(nth_all, test_access_write)
{
	.row = &rows[ROW_TEST_ACCESS_WRITE],
};

FIXTURE_VARIANT_ADD(nth_all, test_access_write_kthread)
{
	.row = &rows[ROW_TEST_ACCESS_WRITE_KTHREAD],
};

TEST_F_TIMEOUT(nth_all, sweep, 300)
{
	row_sweep(_metadata, &self->env, variant->row);
}

TEST_HARNESS_MAIN
