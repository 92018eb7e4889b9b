// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault injection sweeps over the error paths of iommufd.
 *
 * /proc/self/task/<tid>/fail-nth makes the n-th fault site the task reaches
 * fail: a slab or page allocation, or a step iommufd lets its tests fail
 * (fail_iommufd: a GUP batch, a run buffer's growth, a charge, an
 * iommu_map()). A sweep runs one ioctl with n = 1, 2, 3, ... on a freshly
 * built state (fail-nth armed only around it) until it reaches no site n.
 * It then does so again with fail_iommufd's sites alone (failslab's cache
 * filter and fail_page_alloc's min-order leave allocations out), whose
 * numbers do not shift between rounds: each GUP batch fails for certain.
 *
 * Pinning is lazy, as in 6.12: only the areas of an IOAS with a domain
 * (pinned by the MAP/COPY, or by the attach, HWPT_ALLOC or replace giving
 * it its first domain; unpinned with its last) and access pins hold pages.
 * A page is pinned once per pages object (COPY shares the source's), and
 * moves VmPin and, without CAP_IPC_LOCK (which some variants drop), the
 * user's locked_vm (RLIMIT_MODE 0) or VmLck (1). A sweep says whether its
 * call pins: only then may it fail with EFAULT (a GUP batch), and must in
 * the second pass; every other site fails it with ENOMEM.
 *
 * After a failure everything must be as it was (IOVA ranges, mock domain
 * translations, each page's pin count, the three charges) and a retry must
 * succeed; each round ends by closing everything, which must bring pins and
 * charges back to the start. A success despite an injected failure is
 * "absorbed" (a retry of an allocation, a run buffer left untrimmed) and
 * checked like any success; one changes a result: get_resv_regions() cannot
 * report a failed allocation, so an attach may then not reserve the mock
 * MSI window, and a sweep that sees exactly that says so instead of failing.
 */
#include <sys/resource.h>
#include <linux/vfio.h>

#include "iommufd_selftest.h"

#define UNMAP_ALL	UINT64_MAX

/* CPU pages in the 4 KiB-backed buffer; a prime pin batch splits it unevenly */
#define SMALL_PAGES	32
#define PIN_BATCH	7

/* A sweep that still injects failures at this site is broken */
#define SWEEP_BOUND	2000

/*
 * Some fault sites come and go between rounds (a slab cache needing a new
 * page, for one). A round that ends having reached fewer sites than the
 * previous round proved to exist is run again, up to this many times,
 * before the sweep believes it is over.
 */
#define SWEEP_SHORT_ROUNDS	4

/* IOVAs the tests place mappings at; 2 MiB aligned for the THP */
#define IOVA_A		0x1000000ULL
#define IOVA_B		0x2000000ULL
#define IOVA_DST	0x8000000ULL

/* RLIMIT_MEMLOCK of a sweep without CAP_IPC_LOCK; far above what it pins */
#define SWEEP_MEMLOCK	(32ULL * SZ_2M)

/* ---- The commands a sweep builds, for the ioctl under test ---- */

static void map_cmd_init(struct iommu_ioas_map *cmd, uint32_t ioas, void *va,
			 uint64_t length, bool fixed, uint64_t iova)
{
	*cmd = (struct iommu_ioas_map){
		.size = sizeof(*cmd),
		.flags = MAP_RW | (fixed ? IOMMU_IOAS_MAP_FIXED_IOVA : 0),
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = length,
		.iova = fixed ? iova : 0,
	};
}

static void copy_cmd_init(struct iommu_ioas_copy *cmd, uint32_t dst,
			  uint32_t src, uint64_t src_iova, uint64_t length,
			  bool fixed, uint64_t dst_iova)
{
	*cmd = (struct iommu_ioas_copy){
		.size = sizeof(*cmd),
		.flags = MAP_RW | (fixed ? IOMMU_IOAS_MAP_FIXED_IOVA : 0),
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = length,
		.dst_iova = fixed ? dst_iova : 0,
		.src_iova = src_iova,
	};
}

static void unmap_cmd_init(struct iommu_ioas_unmap *cmd, uint32_t ioas,
			   uint64_t iova, uint64_t length)
{
	*cmd = (struct iommu_ioas_unmap){
		.size = sizeof(*cmd),
		.ioas_id = ioas,
		.iova = length == UNMAP_ALL ? 0 : iova,
		.length = length,
	};
}

static void allow_cmd_init(struct iommu_ioas_allow_iovas *cmd, uint32_t ioas,
			   const struct iommu_iova_range *ranges, uint32_t num)
{
	*cmd = (struct iommu_ioas_allow_iovas){
		.size = sizeof(*cmd),
		.ioas_id = ioas,
		.num_iovas = num,
		.allowed_iovas = (uintptr_t)ranges,
	};
}

static void ranges_cmd_init(struct iommu_ioas_iova_ranges *cmd, uint32_t ioas,
			    struct ioas_ranges *out)
{
	memset(out, 0, sizeof(*out));
	*cmd = (struct iommu_ioas_iova_ranges){
		.size = sizeof(*cmd),
		.ioas_id = ioas,
		.num_iovas = IOAS_RANGES_MAX,
		.allowed_iovas = (uintptr_t)out->range,
	};
}

static void ranges_from_cmd(struct ioas_ranges *out,
			    const struct iommu_ioas_iova_ranges *cmd)
{
	out->num = cmd->num_iovas;
	out->align = cmd->out_iova_alignment;
}

static bool ranges_equal(const struct ioas_ranges *a,
			 const struct ioas_ranges *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static void mock_domain_cmd_init(struct iommu_test_cmd *cmd, uint32_t ioas)
{
	*cmd = (struct iommu_test_cmd){
		.size = sizeof(*cmd),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = ioas,
	};
}

/* ---- Mock devices and HWPTs ---- */

static void mock_dev_cmd_init(struct iommu_test_cmd *cmd, uint32_t flags)
{
	*cmd = (struct iommu_test_cmd){
		.size = sizeof(*cmd),
		.op = IOMMU_TEST_OP_MOCK_DEVICE_ADD,
		.mock_device.flags = flags,
	};
}

/* MOCK_DEVICE_ATTACH or _REPLACE of the mock device @dev to @pt */
static void mock_attach_cmd_init(struct iommu_test_cmd *cmd, uint32_t op,
				 uint32_t dev, uint32_t pt)
{
	*cmd = (struct iommu_test_cmd){
		.size = sizeof(*cmd),
		.op = op,
		.id = dev,
		.mock_attach.pt_id = pt,
	};
}

/* HWPT_ALLOC on @pt; a nested one (on a paging HWPT) if @iotlb is not 0 */
static void hwpt_cmd_init(struct iommu_hwpt_alloc *cmd,
			  struct iommu_hwpt_mock_nested *data, uint32_t flags,
			  uint32_t dev, uint32_t pt, uint32_t iotlb)
{
	*data = (struct iommu_hwpt_mock_nested){ .iotlb = iotlb };
	*cmd = (struct iommu_hwpt_alloc){
		.size = sizeof(*cmd),
		.flags = flags,
		.dev_id = dev,
		.pt_id = pt,
	};
	if (iotlb) {
		cmd->data_type = IOMMU_HWPT_DATA_SELFTEST;
		cmd->data_len = sizeof(*data);
		cmd->data_uptr = (uintptr_t)data;
	}
}

static void hw_info_cmd_init(struct iommu_hw_info *cmd, uint32_t dev,
			     struct iommu_hw_info_mock *data)
{
	memset(data, 0, sizeof(*data));
	*cmd = (struct iommu_hw_info){
		.size = sizeof(*cmd),
		.dev_id = dev,
		.data_len = sizeof(*data),
		.data_uptr = (uintptr_t)data,
	};
}

/* ---- What every sweep starts from ---- */

/*
 * With these set, no slab allocation (no cache is marked for failslab) and
 * no page allocation (no order is that high) is a fault site any more: only
 * fail_iommufd's steps are, and their numbers do not move between rounds.
 */
#define FAILSLAB_CACHE_FILTER	"/sys/kernel/debug/failslab/cache-filter"
#define FAIL_PAGE_MIN_ORDER	"/sys/kernel/debug/fail_page_alloc/min-order"
#define KNOB_MAX		16

static int knob_read(const char *path, char *val)
{
	ssize_t len;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	len = read(fd, val, KNOB_MAX - 1);
	close(fd);
	if (len <= 0)
		return -1;
	val[len] = 0;
	val[strcspn(val, "\n")] = 0;
	return 0;
}

static int knob_write(const char *path, const char *val)
{
	ssize_t done;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	done = write(fd, val, strlen(val));
	close(fd);
	return done == (ssize_t)strlen(val) ? 0 : -1;
}

/* Only fail_iommufd's sites count, or (@on false) every site as set up */
static int only_iommufd_sites(bool on)
{
	if (knob_write(FAILSLAB_CACHE_FILTER, on ? "Y" : "N"))
		return -1;
	return knob_write(FAIL_PAGE_MIN_ORDER, on ? "64" : "0");
}

/* Who pays for the pins of the pages objects a sweep makes */
enum nth_payer {
	PAYER_IPC_LOCK,	/* root as it runs: VmPin only */
	PAYER_USER,	/* no CAP_IPC_LOCK, RLIMIT_MODE 0: the user's locked_vm */
	PAYER_MM,	/* no CAP_IPC_LOCK, RLIMIT_MODE 1: VmLck */
};

static const char *const payer_names[] = {
	[PAYER_IPC_LOCK] = "",
	[PAYER_USER] = ", user locked_vm",
	[PAYER_MM] = ", VmLck",
};

struct nth_env {
	int probe_fd;		/* /dev/iommu holding no object, for checks */
	int nth_fd;		/* this thread's fail-nth */
	size_t page;
	uint8_t *small;		/* SMALL_PAGES pages, never THP */
	size_t small_len;
	uint8_t *thp;		/* SZ_2M, 2 MiB aligned, THP if thp_ok */
	void *thp_region;
	size_t thp_region_len;
	bool thp_ok;
	struct charge charge0;	/* before anything was pinned */
	bool mm_mode;		/* files are opened in RLIMIT_MODE 1 */
	bool limited;		/* no CAP_IPC_LOCK: locked_vm or VmLck move */
	int mock_devs_base;	/* devices on the mock bus, -1: not shown */
	bool knobs_set;
	struct fault_knobs knobs;
	char cache_filter[KNOB_MAX];	/* failslab's, as it was */
};

/* Does a transparent huge page back the 2 MiB at @addr? */
static bool thp_backs(void *addr)
{
	unsigned long want = (uintptr_t)addr, start, end;
	bool inside = false;
	char line[256];
	long kb = 0;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			inside = start <= want && want < end;
			continue;
		}
		if (inside && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb >= (long)(SZ_2M / 1024);
}

/*
 * Builds the 4 KiB buffer out of every other page of one twice its size,
 * moved into place with mremap(). Pages that were neighbours in memory
 * thus end up apart, and each page of the buffer is almost always a run
 * of its own: every domain gets one iommu_map() per page, and a failure
 * can strike an area that is already partly mapped. Without this the
 * number of runs, and of fault sites, would depend on where the page
 * allocator happened to put the buffer.
 */
static uint8_t *alloc_scattered_pages(size_t page, unsigned int npages)
{
	size_t len = (size_t)npages * page;
	uint8_t *src, *dst;
	unsigned int i;

	dst = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (dst == MAP_FAILED)
		return NULL;
	src = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED)
		goto err_dst;
	madvise(src, 2 * len, MADV_NOHUGEPAGE);
	memset(src, 0xa5, 2 * len);
	for (i = 0; i != npages; i++) {
		if (mremap(src + 2 * i * page, page, page,
			   MREMAP_MAYMOVE | MREMAP_FIXED,
			   dst + i * page) == MAP_FAILED)
			goto err_src;
	}
	munmap(src, 2 * len);
	return dst;

err_src:
	munmap(src, 2 * len);
err_dst:
	munmap(dst, len);
	return NULL;
}

static int env_alloc_buffers(struct nth_env *env)
{
	env->small_len = SMALL_PAGES * env->page;
	env->small = alloc_scattered_pages(env->page, SMALL_PAGES);
	if (!env->small)
		return -1;

	env->thp = thp_alloc(&env->thp_region, &env->thp_region_len);
	if (!env->thp)
		return -1;
	env->thp_ok = thp_backs(env->thp);
	return 0;
}

/* Drops CAP_IPC_LOCK (this test's process only) under a known limit */
static int env_pay_without_ipc_lock(void)
{
	struct rlimit lim = {
		.rlim_cur = SWEEP_MEMLOCK,
		.rlim_max = SWEEP_MEMLOCK,
	};

	if (setrlimit(RLIMIT_MEMLOCK, &lim))
		return -1;
	return cap_drop(CAP_IPC_LOCK);
}

static void env_setup(struct __test_metadata *_metadata, struct nth_env *env,
		      unsigned int pin_batch, enum nth_payer payer)
{
	char path[64];

	memset(env, 0, sizeof(*env));
	env->nth_fd = -1;
	env->page = sysconf(_SC_PAGESIZE);

	MOCK_FILE_OPEN(env->probe_fd, return);

	env->nth_fd = fail_nth_open(path, sizeof(path));
	if (env->nth_fd < 0)
		SKIP(return, "no %s (CONFIG_FAULT_INJECTION)", path);
	if (fault_knobs_save(&env->knobs))
		SKIP(return, "cannot read %s", env->knobs.failed);
	if (knob_read(FAILSLAB_CACHE_FILTER, env->cache_filter))
		SKIP(return, "cannot read %s", FAILSLAB_CACHE_FILTER);

	ASSERT_EQ(0, env_alloc_buffers(env));
	if (payer != PAYER_IPC_LOCK)
		ASSERT_EQ(0, env_pay_without_ipc_lock())
			TH_LOG("cannot drop CAP_IPC_LOCK: %s", strerror(errno));
	env->mm_mode = payer == PAYER_MM;
	env->limited = !cap_ipc_lock();
	ASSERT_TRUE(env->limited || payer == PAYER_IPC_LOCK);
	ASSERT_EQ(0, charge_read(env->probe_fd, &env->charge0));
	env->mock_devs_base = mock_bus_devices();
	ASSERT_EQ(0, pin_batch_set(env->probe_fd, pin_batch));

	/*
	 * Last, so that a failure above cannot leave the knobs changed: the
	 * teardown does not run for a setup that did not complete, and
	 * fault_knobs_set() puts them back itself when it fails.
	 */
	if (fault_knobs_set(&env->knobs)) {
		pin_batch_set(env->probe_fd, 0);
		ASSERT_TRUE(false)
			TH_LOG("cannot set %s", env->knobs.failed);
	}
	env->knobs_set = true;
}

static void env_teardown(struct __test_metadata *_metadata,
			 struct nth_env *env)
{
	if (env->nth_fd >= 0) {
		EXPECT_EQ(1, pwrite(env->nth_fd, "0", 1, 0));
		close(env->nth_fd);
	}
	if (env->knobs_set) {
		EXPECT_EQ(0, knob_write(FAILSLAB_CACHE_FILTER,
					env->cache_filter));
		EXPECT_EQ(0, fault_knobs_restore(&env->knobs));
	}
	if (env->probe_fd >= 0) {
		EXPECT_EQ(0, pin_batch_set(env->probe_fd, 0));
		close(env->probe_fd);
	}
	if (env->small)
		munmap(env->small, env->small_len);
	if (env->thp_region)
		munmap(env->thp_region, env->thp_region_len);
}

static void expect_counter(struct __test_metadata *_metadata,
			   const char *name, uint64_t start, uint64_t pages,
			   uint64_t now, const char *when)
{
	EXPECT_EQ(start + pages, now)
		TH_LOG("%s: %s is %llu pages, expected %llu", when, name,
		       (unsigned long long)now,
		       (unsigned long long)(start + pages));
}

/*
 * @pages pinned pages are charged, as 6.12 charges them: all in VmPin and,
 * without CAP_IPC_LOCK, in the user's locked_vm or (RLIMIT_MODE 1) VmLck.
 */
static void env_expect_charged(struct __test_metadata *_metadata,
			       struct nth_env *env, uint64_t pages,
			       const char *when)
{
	uint64_t limited = env->limited ? pages : 0;
	struct charge now;

	ASSERT_EQ(0, charge_read(env->probe_fd, &now));
	expect_counter(_metadata, "pinned_vm", env->charge0.pinned_vm, pages,
		       now.pinned_vm, when);
	expect_counter(_metadata, "locked_vm", env->charge0.locked_vm,
		       env->mm_mode ? 0 : limited, now.locked_vm, when);
	expect_counter(_metadata, "VmLck", env->charge0.mm_locked_vm,
		       env->mm_mode ? limited : 0, now.mm_locked_vm, when);
}

/* No page of either buffer pinned, nothing charged beyond the start */
static void env_expect_released(struct __test_metadata *_metadata,
				struct nth_env *env, const char *when)
{
	EXPECT_EQ(0, check_pins(env->probe_fd, env->small, env->small_len, 0))
		TH_LOG("%s: pages of the 4 KiB buffer stay pinned", when);
	EXPECT_EQ(0, check_pins(env->probe_fd, env->thp, SZ_2M, 0))
		TH_LOG("%s: pages of the THP buffer stay pinned", when);
	env_expect_charged(_metadata, env, 0, when);
}

/* No mock device is left on the bus beyond those there at the start */
static void env_expect_no_new_device(struct __test_metadata *_metadata,
				     struct nth_env *env, int more,
				     const char *when)
{
	if (env->mock_devs_base < 0)
		return;
	EXPECT_EQ(env->mock_devs_base + more, mock_bus_devices())
		TH_LOG("%s: %d mock devices, expected %d", when,
		       mock_bus_devices(), env->mock_devs_base + more);
}

/* ---- Sweeps ---- */

/* Sums over every sweep of the run, shared with the forked tests */
struct nth_totals {
	unsigned int sweeps;
	unsigned int points;
	unsigned int absorbed;
};

static struct nth_totals *totals;
static pid_t harness_pid;

static void __attribute__((constructor)) totals_map(void)
{
	totals = mmap(NULL, sizeof(*totals), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (totals == MAP_FAILED)
		totals = NULL;
	harness_pid = getpid();
}

static void __attribute__((destructor)) totals_print(void)
{
	if (!totals || getpid() != harness_pid || !totals->sweeps)
		return;
	ksft_print_msg("fail_nth: total: %u sweeps exercised %u injection points, %u absorbed\n",
		       totals->sweeps, totals->points, totals->absorbed);
}

struct sweep {
	char label[80];
	char when[128];		/* label and site, for messages */
	int nth_fd;
	bool pins;		/* the call pins pages: its GUP site can fail */
	bool iommufd_only;	/* second pass: fail_iommufd's sites alone */
	unsigned int n;		/* the fault site armed in this round */
	unsigned int points;	/* sites of the first pass */
	unsigned int absorbed;	/* injected failures the call survived */
	unsigned int iommufd_points;	/* the same, in the second pass */
	unsigned int iommufd_absorbed;
	unsigned int iommufd_efaults;	/* its failures that were EFAULT */
	bool done;		/* the call ran to its end without site n */
	bool again;		/* run site n once more: the round was short */
	unsigned int short_rounds;
	bool absorbed_at[SWEEP_BOUND];
};

enum nth_outcome {
	NTH_FAILED,	/* site n failed and so did the call */
	NTH_ABSORBED,	/* site n failed, the call succeeded all the same */
	NTH_COMPLETED,	/* the call succeeded before reaching site n */
};

/*
 * A sweep makes two passes over the call: every fault site, then
 * fail_iommufd's alone, whose numbers are certain to reach each GUP batch.
 * @pins: the call pins pages (of an IOAS that has or gets a domain, not
 * pinned before), so a failed GUP batch fails it with EFAULT.
 */
static void sweep_start(struct sweep *s, struct nth_env *env,
			const char *label, bool pins)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->label, sizeof(s->label), "%s", label);
	s->nth_fd = env->nth_fd;
	s->pins = pins;
	s->n = 1;
	snprintf(s->when, sizeof(s->when), "%s, site %u", s->label, s->n);
}

/* The call has no site n: on to the second pass, or the end */
static void sweep_end_pass(struct __test_metadata *_metadata, struct sweep *s)
{
	if (s->iommufd_only) {
		s->iommufd_points = s->n - 1;
		s->done = true;
		ASSERT_EQ(0, only_iommufd_sites(false));
		return;
	}
	s->points = s->n - 1;
	s->iommufd_only = true;
	s->n = 0;
	ASSERT_EQ(0, only_iommufd_sites(true));
}

static void sweep_next(struct __test_metadata *_metadata, struct sweep *s)
{
	if (s->done)
		return;
	if (s->again)
		s->again = false;
	else
		s->n++;
	snprintf(s->when, sizeof(s->when), "%s, %ssite %u", s->label,
		 s->iommufd_only ? "fail_iommufd " : "", s->n);
	ASSERT_GT(SWEEP_BOUND, s->n)
		TH_LOG("%s: calls still fail at fault site %u, giving up",
		       s->label, s->n);
}

/*
 * Runs one ioctl with fault site s->n armed. Nothing between arming and
 * disarming may enter a fault site other than the ioctl itself: no output,
 * no memory the kernel has not seen yet, no assertion.
 */
static enum nth_outcome sweep_ioctl(struct __test_metadata *_metadata,
				    struct sweep *s, int fd,
				    unsigned long request, void *arg)
{
	char arm[16], left[16] = {};
	unsigned long unreached;
	bool armed, disarmed;
	int arm_len, rc, err;
	ssize_t got;

	arm_len = snprintf(arm, sizeof(arm), "%u", s->n);
	armed = pwrite(s->nth_fd, arm, arm_len, 0) == arm_len;
	rc = ioctl(fd, request, arg);
	err = errno;
	got = pread(s->nth_fd, left, sizeof(left) - 1, 0);
	disarmed = pwrite(s->nth_fd, "0", 1, 0) == 1;

	ASSERT_TRUE(armed && disarmed && got > 0)
		TH_LOG("%s: cannot use fail-nth: %s", s->label, strerror(errno));

	unreached = strtoul(left, NULL, 10);
	if (unreached) {
		ASSERT_EQ(0, rc)
			TH_LOG("%s: fails with errno %d and nothing injected",
			       s->label, err);
		/* Round n - 1 reached site n - 1: this one should have too */
		if (unreached > 1 && s->short_rounds < SWEEP_SHORT_ROUNDS) {
			s->short_rounds++;
			s->again = true;
		} else {
			sweep_end_pass(_metadata, s);
		}
		return NTH_COMPLETED;
	}
	if (!rc) {
		if (s->iommufd_only) {
			s->iommufd_absorbed++;
		} else if (!s->absorbed_at[s->n]) {
			s->absorbed++;
			s->absorbed_at[s->n] = true;
		}
		return NTH_ABSORBED;
	}
	ASSERT_EQ(-1, rc);
	/* Allocations, run buffers, charges, iommu_map: ENOMEM; GUP: EFAULT */
	if (err == EFAULT && s->pins)
		s->iommufd_efaults += s->iommufd_only;
	else
		EXPECT_EQ(ENOMEM, err)
			TH_LOG("%s: a failure at site %u comes back as errno %d (%s)%s",
			       s->label, s->n, err, strerror(err),
			       s->pins ? "" : " in a call that pins nothing");
	return NTH_FAILED;
}

/* Lists the absorbing sites of the first pass as ranges, "3, 10-28, 45" */
static void sweep_list_absorbed(struct sweep *s, char *buf, size_t size)
{
	unsigned int i, last, end = s->points + 1;
	size_t used = 0;

	buf[0] = 0;
	for (i = 1; i < end && used < size; i++) {
		if (!s->absorbed_at[i])
			continue;
		for (last = i; last + 1 < end && s->absorbed_at[last + 1];)
			last++;
		if (last == i)
			used += snprintf(buf + used, size - used, "%s%u",
					 used ? ", " : "", i);
		else
			used += snprintf(buf + used, size - used, "%s%u-%u",
					 used ? ", " : "", i, last);
		i = last;
	}
}

/* Checks what the whole sweep saw and reports it */
static void sweep_report(struct __test_metadata *_metadata, struct sweep *s)
{
	unsigned int points = s->points + s->iommufd_points;
	char sites[256];

	/* Every GUP batch was failed in the second pass */
	EXPECT_TRUE(s->pins == (s->iommufd_efaults != 0))
		TH_LOG("%s: %u GUP failures (EFAULT), but the call %s",
		       s->label, s->iommufd_efaults,
		       s->pins ? "should pin pages" : "pins nothing");
	/* Nothing retries a GUP batch, a charge or an iommu_map() */
	EXPECT_EQ(0, s->iommufd_absorbed)
		TH_LOG("%s: %u fail_iommufd failures did not fail the call",
		       s->label, s->iommufd_absorbed);
	ksft_print_msg("fail_nth: %-50s exercised %4u injection points, %3u absorbed%s\n",
		       s->label, s->points, s->absorbed,
		       s->short_rounds ? " (a short round was run again)" : "");
	ksft_print_msg("fail_nth:   fail_iommufd alone: %u sites, %u EFAULT, %u absorbed\n",
		       s->iommufd_points, s->iommufd_efaults,
		       s->iommufd_absorbed);
	if (s->absorbed) {
		sweep_list_absorbed(s, sites, sizeof(sites));
		ksft_print_msg("fail_nth:   absorbed at sites %s\n", sites);
	}
	if (!totals)
		return;
	__atomic_add_fetch(&totals->sweeps, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&totals->points, points, __ATOMIC_RELAXED);
	__atomic_add_fetch(&totals->absorbed, s->absorbed, __ATOMIC_RELAXED);
}

/* ---- A world: one /dev/iommu file and the objects built in it ---- */

#define WORLD_MAX_IOAS	3
#define WORLD_MAX_MOCKS	4
#define WORLD_MAX_MAPS	4
#define WORLD_MAX_DEVS	3
#define WORLD_MAX_HWPTS	3

struct world_mock {
	unsigned int ioas;	/* index into world.ioas */
	uint32_t id;
};

struct world_map {
	unsigned int ioas;
	uint64_t iova;
	void *va;
	uint64_t length;
};

/* A bound mock device; it translates IOAS @ioas's mappings if @attached */
struct world_dev {
	uint32_t id;		/* the mock device object */
	uint32_t idev;		/* its DEVICE object */
	bool attached;
	unsigned int ioas;
	uint32_t hwpt;		/* what MOCK_DEVICE_ATTACH returned */
};

/* An explicit HWPT showing the mappings of IOAS @ioas */
struct world_hwpt {
	unsigned int ioas;
	uint32_t id;
};

struct world {
	int fd;
	unsigned int nioas;
	uint32_t ioas[WORLD_MAX_IOAS];
	unsigned int nmocks;
	struct world_mock mocks[WORLD_MAX_MOCKS];
	unsigned int nmaps;
	struct world_map maps[WORLD_MAX_MAPS];
	unsigned int ndevs;
	struct world_dev devs[WORLD_MAX_DEVS];
	unsigned int nhwpts;	/* nested ones after their parents */
	struct world_hwpt hwpts[WORLD_MAX_HWPTS];
};

static unsigned int world_add_ioas(struct __test_metadata *_metadata,
				   struct world *w)
{
	ASSERT_GT(WORLD_MAX_IOAS, w->nioas);
	ASSERT_EQ(0, ioas_alloc(w->fd, &w->ioas[w->nioas]));
	return w->nioas++;
}

/* Opens a file with no object in it, in the sweep's RLIMIT_MODE */
static void world_open_file(struct __test_metadata *_metadata,
			    struct nth_env *env, struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = iommufd_open();
	ASSERT_LE(0, w->fd);
	if (env->mm_mode)
		ASSERT_EQ(0, rlimit_mode_set(w->fd, 1));
}

/* Opens a file with one empty IOAS, index 0 */
static void world_open(struct __test_metadata *_metadata, struct nth_env *env,
		       struct world *w)
{
	world_open_file(_metadata, env, w);
	world_add_ioas(_metadata, w);
}

static void world_note_mock(struct __test_metadata *_metadata,
			    struct world *w, unsigned int ioas, uint32_t id)
{
	ASSERT_GT(WORLD_MAX_MOCKS, w->nmocks);
	w->mocks[w->nmocks++] = (struct world_mock){ .ioas = ioas, .id = id };
}

static void world_forget_mock(struct world *w, uint32_t id)
{
	unsigned int i;

	for (i = 0; i != w->nmocks; i++) {
		if (w->mocks[i].id == id) {
			w->mocks[i] = w->mocks[--w->nmocks];
			return;
		}
	}
}

static void world_attach(struct __test_metadata *_metadata, struct world *w,
			 unsigned int ioas)
{
	uint32_t id;

	ASSERT_EQ(0, mock_domain_add(w->fd, w->ioas[ioas], 0, &id));
	world_note_mock(_metadata, w, ioas, id);
}

static void world_note_map(struct __test_metadata *_metadata, struct world *w,
			   unsigned int ioas, uint64_t iova, void *va,
			   uint64_t length)
{
	ASSERT_GT(WORLD_MAX_MAPS, w->nmaps);
	w->maps[w->nmaps++] = (struct world_map){
		.ioas = ioas, .iova = iova, .va = va, .length = length,
	};
}

static void world_forget_map(struct world *w, unsigned int ioas,
			     uint64_t iova)
{
	unsigned int i;

	for (i = 0; i != w->nmaps; i++) {
		if (w->maps[i].ioas == ioas && w->maps[i].iova == iova) {
			w->maps[i] = w->maps[--w->nmaps];
			return;
		}
	}
}

static void world_map(struct __test_metadata *_metadata, struct world *w,
		      unsigned int ioas, void *va, uint64_t length,
		      uint64_t iova)
{
	ASSERT_EQ(0, ioas_map_fixed(w->fd, w->ioas[ioas], va, length, iova));
	world_note_map(_metadata, w, ioas, iova, va, length);
}

static unsigned int world_note_dev(struct __test_metadata *_metadata,
				   struct world *w, uint32_t id,
				   uint32_t idev)
{
	ASSERT_GT(WORLD_MAX_DEVS, w->ndevs);
	w->devs[w->ndevs] = (struct world_dev){ .id = id, .idev = idev };
	return w->ndevs++;
}

/* Binds a new mock device with @flags; returns its index */
static unsigned int world_add_dev(struct __test_metadata *_metadata,
				  struct world *w, uint32_t flags)
{
	struct iommu_test_cmd cmd;

	mock_dev_cmd_init(&cmd, flags);
	ASSERT_EQ(0, ioctl(w->fd, IOMMU_TEST_CMD, &cmd));
	return world_note_dev(_metadata, w, cmd.mock_device.out_mock_dev_id,
			      cmd.mock_device.out_idev_id);
}

static void world_forget_dev(struct world *w, uint32_t id)
{
	unsigned int i;

	for (i = 0; i != w->ndevs; i++) {
		if (w->devs[i].id == id) {
			w->devs[i] = w->devs[--w->ndevs];
			return;
		}
	}
}

/*
 * Attaches device @dev to @pt, an IOAS or HWPT whose mappings are those of
 * IOAS index @ioas.
 */
static void world_attach_dev_to(struct __test_metadata *_metadata,
				struct world *w, unsigned int dev, uint32_t pt,
				unsigned int ioas)
{
	struct iommu_test_cmd cmd;

	mock_attach_cmd_init(&cmd, IOMMU_TEST_OP_MOCK_DEVICE_ATTACH,
			     w->devs[dev].id, pt);
	ASSERT_EQ(0, ioctl(w->fd, IOMMU_TEST_CMD, &cmd));
	w->devs[dev].attached = true;
	w->devs[dev].ioas = ioas;
	w->devs[dev].hwpt = cmd.mock_attach.out_hwpt_id;
}

static void world_attach_dev(struct __test_metadata *_metadata,
			     struct world *w, unsigned int dev,
			     unsigned int ioas)
{
	world_attach_dev_to(_metadata, w, dev, w->ioas[ioas], ioas);
}

static void world_note_hwpt(struct __test_metadata *_metadata,
			    struct world *w, unsigned int ioas, uint32_t id)
{
	ASSERT_GT(WORLD_MAX_HWPTS, w->nhwpts);
	w->hwpts[w->nhwpts++] = (struct world_hwpt){ .ioas = ioas, .id = id };
}

/*
 * Allocates a HWPT with @flags for device @dev on IOAS index @ioas, or
 * nested on the HWPT @parent of that IOAS if @parent is not 0; returns
 * its ID.
 */
static uint32_t world_add_hwpt(struct __test_metadata *_metadata,
			       struct world *w, uint32_t flags,
			       unsigned int dev, unsigned int ioas,
			       uint32_t parent)
{
	struct iommu_hwpt_mock_nested data;
	struct iommu_hwpt_alloc cmd;

	hwpt_cmd_init(&cmd, &data, flags, w->devs[dev].idev,
		      parent ? parent : w->ioas[ioas], parent ? 1 : 0);
	ASSERT_EQ(0, ioctl(w->fd, IOMMU_HWPT_ALLOC, &cmd));
	world_note_hwpt(_metadata, w, ioas, cmd.out_hwpt_id);
	return cmd.out_hwpt_id;
}

/* @id (a mock domain, device or HWPT) translates the mappings of @ioas */
static void world_expect_translates(struct __test_metadata *_metadata,
				    struct world *w, uint32_t id,
				    unsigned int ioas, const char *when)
{
	unsigned int j;

	for (j = 0; j != w->nmaps; j++) {
		const struct world_map *m = &w->maps[j];

		if (m->ioas != ioas)
			continue;
		EXPECT_EQ(0, mock_check_map(w->fd, id, m->iova, m->length,
					    m->va,
					    MOCK_PROT_READ | MOCK_PROT_WRITE,
					    NULL))
			TH_LOG("%s: object %u lost IOVA 0x%llx: %s", when, id,
			       (unsigned long long)m->iova, strerror(errno));
	}
}

/*
 * Every mock domain, attached device and explicit HWPT translates every
 * mapping of its IOAS
 */
static void world_expect_mapped(struct __test_metadata *_metadata,
				struct world *w, const char *when)
{
	unsigned int i;

	for (i = 0; i != w->nmocks; i++)
		world_expect_translates(_metadata, w, w->mocks[i].id,
					w->mocks[i].ioas, when);
	for (i = 0; i != w->ndevs; i++)
		if (w->devs[i].attached)
			world_expect_translates(_metadata, w, w->devs[i].id,
						w->devs[i].ioas, when);
	for (i = 0; i != w->nhwpts; i++)
		world_expect_translates(_metadata, w, w->hwpts[i].id,
					w->hwpts[i].ioas, when);
}

/* The mock domains of @ioas translate nothing in [iova, iova + length) */
static void world_expect_unmapped(struct __test_metadata *_metadata,
				  struct world *w, unsigned int ioas,
				  uint64_t iova, uint64_t length,
				  const char *when)
{
	unsigned int i;

	for (i = 0; i != w->nmocks; i++) {
		if (w->mocks[i].ioas != ioas)
			continue;
		EXPECT_EQ(0, mock_check_unmapped(w->fd, w->mocks[i].id, iova,
						 length))
			TH_LOG("%s: mock domain %u keeps a translation: %s",
			       when, w->mocks[i].id, strerror(errno));
	}
}

static uint64_t world_mapped_bytes(struct world *w, unsigned int ioas)
{
	uint64_t bytes = 0;
	unsigned int i;

	for (i = 0; i != w->nmaps; i++)
		if (w->maps[i].ioas == ioas)
			bytes += w->maps[i].length;
	return bytes;
}

/*
 * Unmaps everything (each IOAS must give back exactly what the world
 * mapped into it), destroys every object, closes the file and checks that
 * nothing stays pinned or charged.
 */
static void world_close(struct __test_metadata *_metadata,
			struct nth_env *env, struct world *w, const char *when)
{
	uint64_t unmapped;
	unsigned int i;

	for (i = 0; i != w->nioas; i++) {
		ASSERT_EQ(0, ioas_unmap(w->fd, w->ioas[i], 0, UNMAP_ALL,
					&unmapped));
		EXPECT_EQ(world_mapped_bytes(w, i), unmapped)
			TH_LOG("%s: unmapping all of IOAS %u", when,
			       w->ioas[i]);
	}
	for (i = 0; i != w->ndevs; i++)
		EXPECT_EQ(0, object_destroy(w->fd, w->devs[i].id))
			TH_LOG("%s: destroying mock device %u: %s", when,
			       w->devs[i].id, strerror(errno));
	/* Newest first: a nested HWPT holds its parent */
	for (i = 0; i != w->nhwpts; i++) {
		uint32_t id = w->hwpts[w->nhwpts - 1 - i].id;

		EXPECT_EQ(0, object_destroy(w->fd, id))
			TH_LOG("%s: destroying HWPT %u: %s", when, id,
			       strerror(errno));
	}
	for (i = 0; i != w->nmocks; i++)
		EXPECT_EQ(0, object_destroy(w->fd, w->mocks[i].id))
			TH_LOG("%s: destroying mock domain %u: %s", when,
			       w->mocks[i].id, strerror(errno));
	for (i = 0; i != w->nioas; i++)
		EXPECT_EQ(0, object_destroy(w->fd, w->ioas[i]))
			TH_LOG("%s: destroying IOAS %u: %s", when, w->ioas[i],
			       strerror(errno));
	EXPECT_EQ(0, close(w->fd));
	w->fd = -1;
	env_expect_released(_metadata, env, when);
	env_expect_no_new_device(_metadata, env, 0, when);
}

/* @ioas still reports the IOVA ranges it reported in @before */
static void world_expect_ranges(struct __test_metadata *_metadata,
				struct world *w, unsigned int ioas,
				const struct ioas_ranges *before, const char *when)
{
	struct ioas_ranges now;

	ASSERT_EQ(0, ioas_ranges_get(w->fd, w->ioas[ioas], &now));
	EXPECT_TRUE(ranges_equal(before, &now))
		TH_LOG("%s: IOVA ranges of IOAS %u changed (%u ranges, alignment %llu)",
		       when, w->ioas[ioas], now.num,
		       (unsigned long long)now.align);
}

/*
 * @r with the gap of the mock MSI window closed, as the IOAS would show
 * without a device's reserved region. Returns false if @r has no such gap.
 */
static bool ranges_without_msi_window(const struct ioas_ranges *r,
				      struct ioas_ranges *out)
{
	unsigned int i;

	for (i = 0; i + 1 < r->num; i++) {
		if (r->range[i].last != MOCK_RESV_START - 1 ||
		    r->range[i + 1].start != MOCK_RESV_LAST + 1)
			continue;
		memset(out, 0, sizeof(*out));
		out->num = r->num - 1;
		out->align = r->align;
		memcpy(out->range, r->range, (i + 1) * sizeof(r->range[0]));
		out->range[i].last = r->range[i + 1].last;
		memcpy(&out->range[i + 1], &r->range[i + 2],
		       (r->num - i - 2) * sizeof(r->range[0]));
		return true;
	}
	return false;
}

/*
 * After a device was attached to IOAS @ioas: the ranges are @want, or,
 * when the call absorbed an injected failure, @want without the MSI
 * window (see the top of the file).
 */
static void world_expect_attached_ranges(struct __test_metadata *_metadata,
					 struct world *w, unsigned int ioas,
					 const struct ioas_ranges *want,
					 enum nth_outcome outcome,
					 const char *when)
{
	struct ioas_ranges now, lost;

	ASSERT_EQ(0, ioas_ranges_get(w->fd, w->ioas[ioas], &now));
	if (outcome == NTH_ABSORBED && !ranges_equal(want, &now) &&
	    ranges_without_msi_window(want, &lost) &&
	    ranges_equal(&lost, &now)) {
		ksft_print_msg("fail_nth:   %s: absorbed, the MSI window was lost\n",
			       when);
		return;
	}
	world_expect_ranges(_metadata, w, ioas, want, when);
}

static void expect_pins(struct __test_metadata *_metadata, struct nth_env *env,
			void *va, uint64_t length, unsigned int pins,
			const char *when)
{
	EXPECT_EQ(0, check_pins(env->probe_fd, va, length, pins))
		TH_LOG("%s: pages are not pinned %u times", when, pins);
}

/* ---- IOMMU_IOAS_MAP ---- */

FIXTURE(map_sweep)
{
	struct nth_env env;
};

FIXTURE_VARIANT(map_sweep)
{
	bool fixed_iova;
	bool thp;
	unsigned int domains;
	unsigned int pin_batch;	/* 0: the kernel's default */
	enum nth_payer payer;
};

FIXTURE_VARIANT_ADD(map_sweep, fixed_iova_4k_no_domain)
{
	.fixed_iova = true,
	.thp = false,
	.domains = 0,
	.pin_batch = PIN_BATCH,
};

FIXTURE_VARIANT_ADD(map_sweep, fixed_iova_4k_one_domain)
{
	.fixed_iova = true,
	.thp = false,
	.domains = 1,
	.pin_batch = PIN_BATCH,
};

FIXTURE_VARIANT_ADD(map_sweep, fixed_iova_4k_two_domains)
{
	.fixed_iova = true,
	.thp = false,
	.domains = 2,
	.pin_batch = PIN_BATCH,
};

FIXTURE_VARIANT_ADD(map_sweep, fixed_iova_thp_no_domain)
{
	.fixed_iova = true,
	.thp = true,
	.domains = 0,
	.pin_batch = PIN_BATCH,
};

FIXTURE_VARIANT_ADD(map_sweep, fixed_iova_thp_one_domain)
{
	.fixed_iova = true,
	.thp = true,
	.domains = 1,
	.pin_batch = PIN_BATCH,
};

FIXTURE_VARIANT_ADD(map_sweep, fixed_iova_thp_two_domains)
{
	.fixed_iova = true,
	.thp = true,
	.domains = 2,
	.pin_batch = PIN_BATCH,
};

FIXTURE_VARIANT_ADD(map_sweep, auto_iova_4k_no_domain)
{
	.fixed_iova = false,
	.thp = false,
	.domains = 0,
	.pin_batch = PIN_BATCH,
};

FIXTURE_VARIANT_ADD(map_sweep, auto_iova_4k_one_domain)
{
	.fixed_iova = false,
	.thp = false,
	.domains = 1,
	.pin_batch = PIN_BATCH,
};

FIXTURE_VARIANT_ADD(map_sweep, auto_iova_4k_two_domains)
{
	.fixed_iova = false,
	.thp = false,
	.domains = 2,
	.pin_batch = PIN_BATCH,
};

FIXTURE_VARIANT_ADD(map_sweep, auto_iova_thp_no_domain)
{
	.fixed_iova = false,
	.thp = true,
	.domains = 0,
	.pin_batch = PIN_BATCH,
};

FIXTURE_VARIANT_ADD(map_sweep, auto_iova_thp_one_domain)
{
	.fixed_iova = false,
	.thp = true,
	.domains = 1,
	.pin_batch = PIN_BATCH,
};

FIXTURE_VARIANT_ADD(map_sweep, auto_iova_thp_two_domains)
{
	.fixed_iova = false,
	.thp = true,
	.domains = 2,
	.pin_batch = PIN_BATCH,
};

FIXTURE_VARIANT_ADD(map_sweep, fixed_iova_thp_two_domains_default_batch)
{
	.fixed_iova = true,
	.thp = true,
	.domains = 2,
	.pin_batch = 0,
};

FIXTURE_VARIANT_ADD(map_sweep, fixed_iova_4k_one_domain_user_locked_vm)
{
	.fixed_iova = true,
	.thp = false,
	.domains = 1,
	.pin_batch = PIN_BATCH,
	.payer = PAYER_USER,
};

FIXTURE_VARIANT_ADD(map_sweep, fixed_iova_4k_one_domain_mm_locked_vm)
{
	.fixed_iova = true,
	.thp = false,
	.domains = 1,
	.pin_batch = PIN_BATCH,
	.payer = PAYER_MM,
};

FIXTURE_VARIANT_ADD(map_sweep, fixed_iova_4k_no_domain_mm_locked_vm)
{
	.fixed_iova = true,
	.thp = false,
	.domains = 0,
	.pin_batch = PIN_BATCH,
	.payer = PAYER_MM,
};

FIXTURE_SETUP(map_sweep)
{
	SKIP_IF_UPSTREAM_MOCK(return);

	env_setup(_metadata, &self->env, variant->pin_batch, variant->payer);
}

FIXTURE_TEARDOWN(map_sweep)
{
	env_teardown(_metadata, &self->env);
}

/* IOAS 0 with @domains mock domains and nothing mapped */
static void empty_world_open(struct __test_metadata *_metadata,
			     struct nth_env *env, struct world *w,
			     unsigned int domains)
{
	unsigned int i;

	world_open(_metadata, env, w);
	for (i = 0; i != domains; i++)
		world_attach(_metadata, w, 0);
}

TEST_F_TIMEOUT(map_sweep, failed_map_leaves_the_ioas_as_it_was, 600)
{
	struct nth_env *env = &self->env;
	void *va = variant->thp ? env->thp : env->small;
	uint64_t length = variant->thp ? SZ_2M : env->small_len;
	uint64_t want_iova = IOVA_A;
	/* Only an IOAS with a domain pins, and so charges, what it maps */
	unsigned int pins = variant->domains ? 1 : 0;
	uint64_t pages = pins * length / env->page;
	struct iommu_ioas_map cmd;
	struct ioas_ranges before;
	char label[80], batch[24];
	struct sweep s;
	struct world w;

	if (variant->thp && !env->thp_ok)
		SKIP(return, "no transparent huge page backs the buffer");
	if (variant->pin_batch)
		snprintf(batch, sizeof(batch), "batch %u", variant->pin_batch);
	else
		snprintf(batch, sizeof(batch), "one batch");
	snprintf(label, sizeof(label), "IOAS_MAP (%s IOVA, %s, %u domain%s, %s%s)",
		 variant->fixed_iova ? "fixed" : "auto",
		 variant->thp ? "THP" : "4 KiB", variant->domains,
		 variant->domains == 1 ? "" : "s", batch,
		 payer_names[variant->payer]);

	/* A round without injection shows where the mapping belongs */
	empty_world_open(_metadata, env, &w, variant->domains);
	ASSERT_EQ(0, variant->fixed_iova ?
		  ioas_map_fixed(w.fd, w.ioas[0], va, length, want_iova) :
		  ioas_map_auto(w.fd, w.ioas[0], va, length, &want_iova));
	world_note_map(_metadata, &w, 0, want_iova, va, length);
	expect_pins(_metadata, env, va, length, pins, label);
	env_expect_charged(_metadata, env, pages, label);
	world_close(_metadata, env, &w, label);

	for (sweep_start(&s, env, label, pins); !s.done;
	     sweep_next(_metadata, &s)) {
		empty_world_open(_metadata, env, &w, variant->domains);
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &before));
		map_cmd_init(&cmd, w.ioas[0], va, length, variant->fixed_iova,
			     IOVA_A);
		if (sweep_ioctl(_metadata, &s, w.fd, IOMMU_IOAS_MAP, &cmd) ==
		    NTH_FAILED) {
			world_expect_ranges(_metadata, &w, 0, &before, s.when);
			world_expect_unmapped(_metadata, &w, 0, 0,
					      MOCK_APERTURE_LAST + 1, s.when);
			env_expect_released(_metadata, env, s.when);
			map_cmd_init(&cmd, w.ioas[0], va, length,
				     variant->fixed_iova, IOVA_A);
			ASSERT_EQ(0, ioctl(w.fd, IOMMU_IOAS_MAP, &cmd))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		EXPECT_EQ(want_iova, cmd.iova)
			TH_LOG("%s: mapped at 0x%llx", s.when,
			       (unsigned long long)cmd.iova);
		world_note_map(_metadata, &w, 0, cmd.iova, va, length);
		world_expect_mapped(_metadata, &w, s.when);
		expect_pins(_metadata, env, va, length, pins, s.when);
		env_expect_charged(_metadata, env, pages, s.when);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

/* ---- IOMMU_IOAS_COPY ---- */

FIXTURE(copy_sweep)
{
	struct nth_env env;
};

/*
 * The destination has a mock domain, so the copy pins the source's pages,
 * unless the source has one too and they are pinned already; a copy into
 * an IOAS without a domain pins nothing.
 */
FIXTURE_VARIANT(copy_sweep)
{
	bool fixed_iova;
	bool thp;
	bool src_domain;
	bool no_dst_domain;
	enum nth_payer payer;
};

FIXTURE_VARIANT_ADD(copy_sweep, fixed_iova_4k)
{
	.fixed_iova = true,
};

FIXTURE_VARIANT_ADD(copy_sweep, fixed_iova_thp)
{
	.fixed_iova = true,
	.thp = true,
};

FIXTURE_VARIANT_ADD(copy_sweep, auto_iova_4k)
{
	.fixed_iova = false,
};

FIXTURE_VARIANT_ADD(copy_sweep, auto_iova_thp)
{
	.fixed_iova = false,
	.thp = true,
};

FIXTURE_VARIANT_ADD(copy_sweep, fixed_iova_4k_pinned_source)
{
	.fixed_iova = true,
	.src_domain = true,
};

FIXTURE_VARIANT_ADD(copy_sweep, fixed_iova_4k_no_domain)
{
	.fixed_iova = true,
	.no_dst_domain = true,
};

FIXTURE_VARIANT_ADD(copy_sweep, fixed_iova_4k_user_locked_vm)
{
	.fixed_iova = true,
	.payer = PAYER_USER,
};

FIXTURE_SETUP(copy_sweep)
{
	SKIP_IF_UPSTREAM_MOCK(return);

	env_setup(_metadata, &self->env, PIN_BATCH, variant->payer);
}

FIXTURE_TEARDOWN(copy_sweep)
{
	env_teardown(_metadata, &self->env);
}

/*
 * IOAS 0, the source, maps the buffer as two areas back to back at IOVA_A,
 * so that a copy of all of it builds two areas in the destination, IOAS 1.
 * Each may have a mock domain.
 */
static void copy_world_open(struct __test_metadata *_metadata,
			    struct nth_env *env, struct world *w, uint8_t *va,
			    uint64_t length, bool src_domain, bool dst_domain)
{
	world_open(_metadata, env, w);
	if (src_domain)
		world_attach(_metadata, w, 0);
	world_map(_metadata, w, 0, va, length / 2, IOVA_A);
	world_map(_metadata, w, 0, va + length / 2, length / 2,
		  IOVA_A + length / 2);
	world_add_ioas(_metadata, w);
	if (dst_domain)
		world_attach(_metadata, w, 1);
}

TEST_F_TIMEOUT(copy_sweep, failed_copy_leaves_both_ioas_as_they_were, 600)
{
	struct nth_env *env = &self->env;
	uint8_t *va = variant->thp ? env->thp : env->small;
	uint64_t length = variant->thp ? SZ_2M : env->small_len;
	bool dst_domain = !variant->no_dst_domain;
	/* Pinned once per pages object, by the source or by the copy */
	unsigned int pins_before = variant->src_domain ? 1 : 0;
	unsigned int pins = variant->src_domain || dst_domain ? 1 : 0;
	uint64_t pages = length / env->page;
	struct iommu_ioas_copy cmd;
	struct ioas_ranges before;
	uint64_t want_iova;
	struct sweep s;
	struct world w;
	char label[80];

	if (variant->thp && !env->thp_ok)
		SKIP(return, "no transparent huge page backs the buffer");
	snprintf(label, sizeof(label), "IOAS_COPY (%s IOVA, %s, 2 areas, %s%s)",
		 variant->fixed_iova ? "fixed" : "auto",
		 variant->thp ? "THP" : "4 KiB",
		 variant->src_domain ? "domains on both" :
		 dst_domain ? "domain on dst" : "no domain",
		 payer_names[variant->payer]);

	copy_world_open(_metadata, env, &w, va, length, variant->src_domain,
			dst_domain);
	copy_cmd_init(&cmd, w.ioas[1], w.ioas[0], IOVA_A, length,
		      variant->fixed_iova, IOVA_DST);
	ASSERT_EQ(0, ioctl(w.fd, IOMMU_IOAS_COPY, &cmd));
	want_iova = cmd.dst_iova;
	world_note_map(_metadata, &w, 1, want_iova, va, length);
	expect_pins(_metadata, env, va, length, pins, label);
	env_expect_charged(_metadata, env, pins * pages, label);
	world_close(_metadata, env, &w, label);

	for (sweep_start(&s, env, label, pins != pins_before); !s.done;
	     sweep_next(_metadata, &s)) {
		copy_world_open(_metadata, env, &w, va, length,
				variant->src_domain, dst_domain);
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[1], &before));
		copy_cmd_init(&cmd, w.ioas[1], w.ioas[0], IOVA_A, length,
			      variant->fixed_iova, IOVA_DST);
		if (sweep_ioctl(_metadata, &s, w.fd, IOMMU_IOAS_COPY, &cmd) ==
		    NTH_FAILED) {
			world_expect_ranges(_metadata, &w, 1, &before, s.when);
			world_expect_unmapped(_metadata, &w, 1, 0,
					      MOCK_APERTURE_LAST + 1, s.when);
			world_expect_mapped(_metadata, &w, s.when);
			expect_pins(_metadata, env, va, length, pins_before,
				    s.when);
			env_expect_charged(_metadata, env, pins_before * pages,
					   s.when);
			copy_cmd_init(&cmd, w.ioas[1], w.ioas[0], IOVA_A,
				      length, variant->fixed_iova, IOVA_DST);
			ASSERT_EQ(0, ioctl(w.fd, IOMMU_IOAS_COPY, &cmd))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		EXPECT_EQ(want_iova, cmd.dst_iova)
			TH_LOG("%s: copied to 0x%llx", s.when,
			       (unsigned long long)cmd.dst_iova);
		world_note_map(_metadata, &w, 1, cmd.dst_iova, va, length);
		world_expect_mapped(_metadata, &w, s.when);
		/* A copy shares the source's pages: one pin, one charge */
		expect_pins(_metadata, env, va, length, pins, s.when);
		env_expect_charged(_metadata, env, pins * pages, s.when);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

/* ---- IOMMU_TEST_OP_MOCK_DOMAIN: attaching a domain to a mapped IOAS ---- */

FIXTURE(attach_sweep)
{
	struct nth_env env;
};

/* The first domain pins what the IOAS maps, a second one finds it pinned */
FIXTURE_VARIANT(attach_sweep)
{
	unsigned int domains_before;
	enum nth_payer payer;
};

FIXTURE_VARIANT_ADD(attach_sweep, first_domain)
{
	.domains_before = 0,
};

FIXTURE_VARIANT_ADD(attach_sweep, second_domain)
{
	.domains_before = 1,
};

FIXTURE_VARIANT_ADD(attach_sweep, first_domain_user_locked_vm)
{
	.domains_before = 0,
	.payer = PAYER_USER,
};

FIXTURE_VARIANT_ADD(attach_sweep, first_domain_mm_locked_vm)
{
	.domains_before = 0,
	.payer = PAYER_MM,
};

FIXTURE_SETUP(attach_sweep)
{
	SKIP_IF_UPSTREAM_MOCK(return);

	env_setup(_metadata, &self->env, PIN_BATCH, variant->payer);
}

FIXTURE_TEARDOWN(attach_sweep)
{
	env_teardown(_metadata, &self->env);
}

/*
 * IOAS 0 maps the 4 KiB buffer at IOVA_A and the THP at IOVA_B; returns the
 * pages mapped, which are pinned and charged only if @domains is not 0.
 */
static uint64_t mapped_world_open(struct __test_metadata *_metadata,
				  struct nth_env *env, struct world *w,
				  unsigned int domains)
{
	uint64_t pages = env->small_len / env->page;
	unsigned int i;

	world_open(_metadata, env, w);
	for (i = 0; i != domains; i++)
		world_attach(_metadata, w, 0);
	world_map(_metadata, w, 0, env->small, env->small_len, IOVA_A);
	if (env->thp_ok) {
		world_map(_metadata, w, 0, env->thp, SZ_2M, IOVA_B);
		pages += SZ_2M / env->page;
	}
	return pages;
}

/*
 * Both buffers of the mapped world are pinned @pins times: once while IOAS 0
 * has a domain, else not at all; and @pages pages are charged.
 */
static void expect_mapped_world_pins(struct __test_metadata *_metadata,
				     struct nth_env *env, unsigned int pins,
				     uint64_t pages, const char *when)
{
	expect_pins(_metadata, env, env->small, env->small_len, pins, when);
	if (env->thp_ok)
		expect_pins(_metadata, env, env->thp, SZ_2M, pins, when);
	env_expect_charged(_metadata, env, pins ? pages : 0, when);
}

TEST_F_TIMEOUT(attach_sweep, failed_attach_leaves_the_ioas_as_it_was, 600)
{
	struct nth_env *env = &self->env;
	unsigned int pins_before = variant->domains_before ? 1 : 0;
	struct ioas_ranges before, after, want;
	struct iommu_test_cmd cmd;
	uint64_t pages;
	struct sweep s;
	struct world w;
	char label[80];

	snprintf(label, sizeof(label), "MOCK_DOMAIN attach (%u domain%s before, %u areas%s)",
		 variant->domains_before,
		 variant->domains_before == 1 ? "" : "s", env->thp_ok ? 2 : 1,
		 payer_names[variant->payer]);

	pages = mapped_world_open(_metadata, env, &w, variant->domains_before);
	expect_mapped_world_pins(_metadata, env, pins_before, pages, label);
	world_attach(_metadata, &w, 0);
	world_expect_mapped(_metadata, &w, label);
	expect_mapped_world_pins(_metadata, env, 1, pages, label);
	ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &want));
	world_close(_metadata, env, &w, label);

	for (sweep_start(&s, env, label, !pins_before); !s.done;
	     sweep_next(_metadata, &s)) {
		mapped_world_open(_metadata, env, &w, variant->domains_before);
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &before));
		mock_domain_cmd_init(&cmd, w.ioas[0]);
		if (sweep_ioctl(_metadata, &s, w.fd, IOMMU_TEST_CMD, &cmd) ==
		    NTH_FAILED) {
			world_expect_ranges(_metadata, &w, 0, &before, s.when);
			world_expect_mapped(_metadata, &w, s.when);
			expect_mapped_world_pins(_metadata, env, pins_before,
						 pages, s.when);
			mock_domain_cmd_init(&cmd, w.ioas[0]);
			ASSERT_EQ(0, ioctl(w.fd, IOMMU_TEST_CMD, &cmd))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		world_note_mock(_metadata, &w, 0, cmd.mock_domain.out_mock_id);
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &after));
		EXPECT_TRUE(ranges_equal(&want, &after))
			TH_LOG("%s: IOVA ranges differ from a clean attach",
			       s.when);
		world_expect_mapped(_metadata, &w, s.when);
		expect_mapped_world_pins(_metadata, env, 1, pages, s.when);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

/* ---- IOMMU_IOAS_ALLOC ---- */

FIXTURE(alloc_sweep)
{
	struct nth_env env;
};

/*
 * The new IOAS is the file's first object, or it joins an IOAS with a mock
 * domain and two mappings, which must not notice.
 */
FIXTURE_VARIANT(alloc_sweep)
{
	bool beside_mapped_ioas;
};

FIXTURE_VARIANT_ADD(alloc_sweep, in_an_empty_file)
{
	.beside_mapped_ioas = false,
};

FIXTURE_VARIANT_ADD(alloc_sweep, beside_a_mapped_ioas)
{
	.beside_mapped_ioas = true,
};

FIXTURE_SETUP(alloc_sweep)
{
	SKIP_IF_UPSTREAM_MOCK(return);

	env_setup(_metadata, &self->env, PIN_BATCH, PAYER_IPC_LOCK);
}

FIXTURE_TEARDOWN(alloc_sweep)
{
	env_teardown(_metadata, &self->env);
}

TEST_F_TIMEOUT(alloc_sweep, failed_alloc_leaves_the_file_as_it_was, 600)
{
	struct nth_env *env = &self->env;
	struct iommu_ioas_alloc cmd;
	struct ioas_ranges before, fresh;
	uint64_t pages = 0;
	struct sweep s;
	struct world w;

	sweep_start(&s, env, variant->beside_mapped_ioas ?
			     "IOAS_ALLOC (next to a mapped IOAS)" :
			     "IOAS_ALLOC (in an empty file)", false);
	for (; !s.done; sweep_next(_metadata, &s)) {
		if (variant->beside_mapped_ioas) {
			pages = mapped_world_open(_metadata, env, &w, 1);
			ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &before));
		} else {
			world_open_file(_metadata, env, &w);
		}
		cmd = (struct iommu_ioas_alloc){ .size = sizeof(cmd) };
		if (sweep_ioctl(_metadata, &s, w.fd, IOMMU_IOAS_ALLOC, &cmd) ==
		    NTH_FAILED) {
			if (variant->beside_mapped_ioas) {
				world_expect_ranges(_metadata, &w, 0, &before,
						    s.when);
				world_expect_mapped(_metadata, &w, s.when);
				expect_mapped_world_pins(_metadata, env, 1,
							 pages, s.when);
			} else {
				/* Only a file without objects may do this */
				EXPECT_EQ(0, rlimit_mode_set(w.fd, 0))
					TH_LOG("%s: the file is not empty: %s",
					       s.when, strerror(errno));
				env_expect_charged(_metadata, env, 0, s.when);
			}
			cmd = (struct iommu_ioas_alloc){ .size = sizeof(cmd) };
			ASSERT_EQ(0, ioctl(w.fd, IOMMU_IOAS_ALLOC, &cmd))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		ASSERT_GT(WORLD_MAX_IOAS, w.nioas);
		w.ioas[w.nioas++] = cmd.out_ioas_id;
		/* A new IOAS allows everything, with no alignment */
		ASSERT_EQ(0, ioas_ranges_get(w.fd, cmd.out_ioas_id, &fresh));
		EXPECT_EQ(1, fresh.num);
		EXPECT_EQ(0, fresh.range[0].start);
		EXPECT_EQ(UINT64_MAX, fresh.range[0].last);
		EXPECT_EQ(1, fresh.align);
		if (variant->beside_mapped_ioas) {
			world_expect_ranges(_metadata, &w, 0, &before, s.when);
			expect_mapped_world_pins(_metadata, env, 1, pages,
						 s.when);
		}
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

/* ---- The other IOAS ioctls and destroying a mock domain ---- */

FIXTURE(fail_nth)
{
	struct nth_env env;
};

FIXTURE_SETUP(fail_nth)
{
	SKIP_IF_UPSTREAM_MOCK(return);

	env_setup(_metadata, &self->env, PIN_BATCH, PAYER_IPC_LOCK);
}

FIXTURE_TEARDOWN(fail_nth)
{
	env_teardown(_metadata, &self->env);
}

TEST_F_TIMEOUT(fail_nth, failed_unmap_keeps_every_mapping, 600)
{
	const char *label = "IOAS_UNMAP (one of 2 areas, 2 domains)";
	struct nth_env *env = &self->env;
	uint64_t small_pages = env->small_len / env->page;
	struct iommu_ioas_unmap cmd;
	struct ioas_ranges before;
	uint64_t unmapped, pages;
	struct sweep s;
	struct world w;

	for (sweep_start(&s, env, label, false); !s.done;
	     sweep_next(_metadata, &s)) {
		pages = mapped_world_open(_metadata, env, &w, 2);
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &before));
		unmap_cmd_init(&cmd, w.ioas[0], IOVA_A, env->small_len);
		if (sweep_ioctl(_metadata, &s, w.fd, IOMMU_IOAS_UNMAP, &cmd) ==
		    NTH_FAILED) {
			world_expect_ranges(_metadata, &w, 0, &before, s.when);
			world_expect_mapped(_metadata, &w, s.when);
			expect_mapped_world_pins(_metadata, env, 1, pages,
						 s.when);
			ASSERT_EQ(0, ioas_unmap(w.fd, w.ioas[0], IOVA_A,
						env->small_len, &unmapped))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
			cmd.length = unmapped;
		}
		EXPECT_EQ(env->small_len, cmd.length);
		world_forget_map(&w, 0, IOVA_A);
		world_expect_unmapped(_metadata, &w, 0, IOVA_A, env->small_len,
				      s.when);
		world_expect_mapped(_metadata, &w, s.when);
		expect_pins(_metadata, env, env->small, env->small_len, 0,
			    s.when);
		if (env->thp_ok)
			expect_pins(_metadata, env, env->thp, SZ_2M, 1, s.when);
		env_expect_charged(_metadata, env, pages - small_pages, s.when);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

/*
 * Allowed ranges before the sweep's call, and the ones it asks for: apart,
 * so that an automatic IOVA tells which list is in force
 */
static const struct iommu_iova_range allowed_old[] = {
	{ .start = IOVA_A, .last = IOVA_DST - 1 },
	{ .start = IOVA_DST, .last = IOVA_DST + SZ_2M - 1 },
};

static const struct iommu_iova_range allowed_new[] = {
	{ .start = 0, .last = IOVA_A - 1 },
	{ .start = IOVA_DST + SZ_2M, .last = IOVA_DST + 16 * SZ_2M - 1 },
	{ .start = 1ULL << 40, .last = (1ULL << 40) + (1ULL << 30) - 1 },
};

/*
 * IOVA_RANGES does not show the allowed list (6.12), so a page mapped at
 * an automatic IOVA of IOAS 0, and unmapped again, must land in @allowed
 */
static void world_expect_allowed(struct __test_metadata *_metadata,
				 struct nth_env *env, struct world *w,
				 const struct iommu_iova_range *allowed,
				 unsigned int num, const char *when)
{
	uint64_t iova, unmapped;
	bool inside = false;
	unsigned int i;

	ASSERT_EQ(0, ioas_map_auto(w->fd, w->ioas[0], env->small, env->page,
				   &iova))
		TH_LOG("%s: no automatic IOVA: %s", when, strerror(errno));
	for (i = 0; i != num; i++)
		inside |= allowed[i].start <= iova &&
			  iova + env->page - 1 <= allowed[i].last;
	EXPECT_TRUE(inside)
		TH_LOG("%s: automatic IOVA 0x%llx outside the allowed list",
		       when, (unsigned long long)iova);
	ASSERT_EQ(0, ioas_unmap(w->fd, w->ioas[0], iova, env->page,
				&unmapped));
	EXPECT_EQ(env->page, unmapped);
}

/* The mapped world of IOAS 0 with one domain and allowed_old in force */
static uint64_t allowed_world_open(struct __test_metadata *_metadata,
				   struct nth_env *env, struct world *w)
{
	uint64_t pages = mapped_world_open(_metadata, env, w, 1);

	ASSERT_EQ(0, ioas_allow_iovas(w->fd, w->ioas[0], allowed_old,
				      ARRAY_SIZE(allowed_old)));
	return pages;
}

TEST_F_TIMEOUT(fail_nth, failed_allow_iovas_keeps_the_old_ranges, 600)
{
	const char *label = "IOAS_ALLOW_IOVAS (3 ranges replace 2)";
	struct nth_env *env = &self->env;
	struct iommu_ioas_allow_iovas cmd;
	struct ioas_ranges before, want;
	uint64_t pages;
	struct sweep s;
	struct world w;

	allowed_world_open(_metadata, env, &w);
	world_expect_allowed(_metadata, env, &w, allowed_old,
			     ARRAY_SIZE(allowed_old), label);
	ASSERT_EQ(0, ioas_allow_iovas(w.fd, w.ioas[0], allowed_new,
				      ARRAY_SIZE(allowed_new)));
	ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &want));
	world_expect_allowed(_metadata, env, &w, allowed_new,
			     ARRAY_SIZE(allowed_new), label);
	world_close(_metadata, env, &w, label);

	for (sweep_start(&s, env, label, false); !s.done;
	     sweep_next(_metadata, &s)) {
		pages = allowed_world_open(_metadata, env, &w);
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &before));
		allow_cmd_init(&cmd, w.ioas[0], allowed_new,
			       ARRAY_SIZE(allowed_new));
		if (sweep_ioctl(_metadata, &s, w.fd, IOMMU_IOAS_ALLOW_IOVAS,
				&cmd) == NTH_FAILED) {
			world_expect_ranges(_metadata, &w, 0, &before, s.when);
			world_expect_mapped(_metadata, &w, s.when);
			expect_mapped_world_pins(_metadata, env, 1, pages,
						 s.when);
			world_expect_allowed(_metadata, env, &w, allowed_old,
					     ARRAY_SIZE(allowed_old), s.when);
			ASSERT_EQ(0, ioas_allow_iovas(w.fd, w.ioas[0],
						      allowed_new,
						      ARRAY_SIZE(allowed_new)))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		world_expect_ranges(_metadata, &w, 0, &want, s.when);
		world_expect_allowed(_metadata, env, &w, allowed_new,
				     ARRAY_SIZE(allowed_new), s.when);
		world_expect_mapped(_metadata, &w, s.when);
		expect_mapped_world_pins(_metadata, env, 1, pages, s.when);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

TEST_F_TIMEOUT(fail_nth, failed_iova_ranges_changes_nothing, 600)
{
	const char *label = "IOAS_IOVA_RANGES (1 domain, 2 allowed ranges)";
	struct nth_env *env = &self->env;
	struct iommu_ioas_iova_ranges cmd;
	struct ioas_ranges before, got;
	uint64_t pages;
	struct sweep s;
	struct world w;

	for (sweep_start(&s, env, label, false); !s.done;
	     sweep_next(_metadata, &s)) {
		pages = allowed_world_open(_metadata, env, &w);
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &before));
		ranges_cmd_init(&cmd, w.ioas[0], &got);
		if (sweep_ioctl(_metadata, &s, w.fd, IOMMU_IOAS_IOVA_RANGES,
				&cmd) == NTH_FAILED) {
			world_expect_ranges(_metadata, &w, 0, &before, s.when);
			expect_mapped_world_pins(_metadata, env, 1, pages,
						 s.when);
			ranges_cmd_init(&cmd, w.ioas[0], &got);
			ASSERT_EQ(0, ioctl(w.fd, IOMMU_IOAS_IOVA_RANGES, &cmd))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		ranges_from_cmd(&got, &cmd);
		EXPECT_TRUE(ranges_equal(&before, &got))
			TH_LOG("%s: reports other ranges than before", s.when);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

/*
 * Destroys one of @domains mock domains of the mapped world: the last one
 * takes the pins of IOAS 0 with it.
 */
static void mock_domain_destroy_sweep(struct __test_metadata *_metadata,
				      struct nth_env *env,
				      unsigned int domains)
{
	unsigned int pins_after = domains > 1 ? 1 : 0;
	struct ioas_ranges before, want;
	struct iommu_destroy cmd;
	char label[80];
	uint32_t victim;
	uint64_t pages;
	struct sweep s;
	struct world w;

	snprintf(label, sizeof(label), "DESTROY of a mock domain (1 of %u, %u areas)",
		 domains, env->thp_ok ? 2 : 1);

	mapped_world_open(_metadata, env, &w, domains);
	ASSERT_EQ(0, object_destroy(w.fd, w.mocks[domains - 1].id));
	ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &want));
	world_forget_mock(&w, w.mocks[domains - 1].id);
	world_close(_metadata, env, &w, label);

	for (sweep_start(&s, env, label, false); !s.done;
	     sweep_next(_metadata, &s)) {
		pages = mapped_world_open(_metadata, env, &w, domains);
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &before));
		victim = w.mocks[domains - 1].id;
		cmd = (struct iommu_destroy){ .size = sizeof(cmd), .id = victim };
		if (sweep_ioctl(_metadata, &s, w.fd, IOMMU_DESTROY, &cmd) ==
		    NTH_FAILED) {
			world_expect_ranges(_metadata, &w, 0, &before, s.when);
			world_expect_mapped(_metadata, &w, s.when);
			expect_mapped_world_pins(_metadata, env, 1, pages,
						 s.when);
			ASSERT_EQ(0, object_destroy(w.fd, victim))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		world_forget_mock(&w, victim);
		EXPECT_NE(0, mock_check_unmapped(w.fd, victim, 0, 1));
		world_expect_ranges(_metadata, &w, 0, &want, s.when);
		world_expect_mapped(_metadata, &w, s.when);
		expect_mapped_world_pins(_metadata, env, pins_after, pages,
					 s.when);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

/* ---- The VFIO type1 ioctls of the compat IOAS ---- */

/* Makes IOAS 0 of @w the compat IOAS and sets the container to @type */
static void world_make_compat(struct __test_metadata *_metadata,
			      struct world *w, unsigned long type)
{
	struct iommu_vfio_ioas set = {
		.size = sizeof(set),
		.op = IOMMU_VFIO_IOAS_SET,
		.ioas_id = w->ioas[0],
	};

	ASSERT_EQ(0, ioctl(w->fd, IOMMU_VFIO_IOAS, &set));
	ASSERT_EQ(0, ioctl(w->fd, VFIO_SET_IOMMU, type));
}

TEST_F_TIMEOUT(fail_nth, failed_vfio_map_dma_leaves_the_compat_ioas_as_it_was,
	       600)
{
	const char *label = "VFIO_IOMMU_MAP_DMA (TYPE1v2, 1 domain, 4 KiB)";
	struct nth_env *env = &self->env;
	uint64_t small_pages = env->small_len / env->page;
	struct vfio_iommu_type1_dma_map map;
	struct ioas_ranges before;
	uint64_t pages;
	struct sweep s;
	struct world w;

	/* Only the 4 KiB buffer, mapped once already: rounds stay cheap */
	for (sweep_start(&s, env, label, true); !s.done;
	     sweep_next(_metadata, &s)) {
		world_open(_metadata, env, &w);
		world_make_compat(_metadata, &w, VFIO_TYPE1v2_IOMMU);
		world_attach(_metadata, &w, 0);
		world_map(_metadata, &w, 0, env->small, env->small_len, IOVA_A);
		pages = small_pages;
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &before));
		map = (struct vfio_iommu_type1_dma_map){
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ |
				 VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)env->small,
			.iova = IOVA_DST,
			.size = env->small_len,
		};
		if (sweep_ioctl(_metadata, &s, w.fd, VFIO_IOMMU_MAP_DMA,
				&map) == NTH_FAILED) {
			world_expect_ranges(_metadata, &w, 0, &before, s.when);
			world_expect_mapped(_metadata, &w, s.when);
			world_expect_unmapped(_metadata, &w, 0, IOVA_DST,
					      env->small_len, s.when);
			expect_pins(_metadata, env, env->small, env->small_len,
				    1, s.when);
			env_expect_charged(_metadata, env, pages, s.when);
			ASSERT_EQ(0, ioctl(w.fd, VFIO_IOMMU_MAP_DMA, &map))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		world_note_map(_metadata, &w, 0, IOVA_DST, env->small,
			       env->small_len);
		world_expect_mapped(_metadata, &w, s.when);
		/* A second pages object: pinned and charged once more */
		expect_pins(_metadata, env, env->small, env->small_len, 2,
			    s.when);
		env_expect_charged(_metadata, env, pages + small_pages, s.when);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

TEST_F_TIMEOUT(fail_nth, failed_vfio_get_info_changes_nothing, 600)
{
	const char *label = "VFIO_IOMMU_GET_INFO (1 domain, both caps)";
	struct nth_env *env = &self->env;
	union {
		struct vfio_iommu_type1_info info;
		uint8_t bytes[512];
	} buf;
	uint64_t pages;
	struct sweep s;
	struct world w;

	for (sweep_start(&s, env, label, false); !s.done;
	     sweep_next(_metadata, &s)) {
		pages = mapped_world_open(_metadata, env, &w, 1);
		world_make_compat(_metadata, &w, VFIO_TYPE1v2_IOMMU);
		memset(&buf, 0, sizeof(buf));
		buf.info.argsz = sizeof(buf);
		if (sweep_ioctl(_metadata, &s, w.fd, VFIO_IOMMU_GET_INFO,
				&buf.info) == NTH_FAILED) {
			world_expect_mapped(_metadata, &w, s.when);
			expect_mapped_world_pins(_metadata, env, 1, pages,
						 s.when);
			buf.info.argsz = sizeof(buf);
			ASSERT_EQ(0, ioctl(w.fd, VFIO_IOMMU_GET_INFO,
					   &buf.info))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		EXPECT_EQ(sizeof(buf.info), buf.info.cap_offset);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

/*
 * TYPE1 unmaps the second page of a mapping: the cuts around it allocate.
 * A failed cut may leave the cut before it made; the mapping still
 * translates whole and nothing is unpinned.
 */
TEST_F_TIMEOUT(fail_nth, failed_vfio_unmap_dma_of_a_type1_cut_keeps_the_mapping,
	       600)
{
	const char *label = "VFIO_IOMMU_UNMAP_DMA (TYPE1, a page inside)";
	struct nth_env *env = &self->env;
	uint64_t pages = env->small_len / env->page;
	struct vfio_iommu_type1_dma_unmap unmap;
	uint64_t page = env->page;
	struct sweep s;
	struct world w;

	for (sweep_start(&s, env, label, false); !s.done;
	     sweep_next(_metadata, &s)) {
		world_open(_metadata, env, &w);
		world_make_compat(_metadata, &w, VFIO_TYPE1_IOMMU);
		world_attach(_metadata, &w, 0);
		world_map(_metadata, &w, 0, env->small, env->small_len, IOVA_A);
		unmap = (struct vfio_iommu_type1_dma_unmap){
			.argsz = sizeof(unmap),
			.iova = IOVA_A + page,
			.size = page,
		};
		if (sweep_ioctl(_metadata, &s, w.fd, VFIO_IOMMU_UNMAP_DMA,
				&unmap) == NTH_FAILED) {
			world_expect_mapped(_metadata, &w, s.when);
			expect_pins(_metadata, env, env->small, env->small_len,
				    1, s.when);
			env_expect_charged(_metadata, env, pages, s.when);
			unmap.size = page;
			ASSERT_EQ(0, ioctl(w.fd, VFIO_IOMMU_UNMAP_DMA, &unmap))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		EXPECT_EQ(page, unmap.size);
		world_forget_map(&w, 0, IOVA_A);
		world_note_map(_metadata, &w, 0, IOVA_A, env->small, page);
		world_note_map(_metadata, &w, 0, IOVA_A + 2 * page,
			       env->small + 2 * page,
			       env->small_len - 2 * page);
		world_expect_mapped(_metadata, &w, s.when);
		world_expect_unmapped(_metadata, &w, 0, IOVA_A + page, page,
				      s.when);
		expect_pins(_metadata, env, env->small + page, page, 0,
			    s.when);
		env_expect_charged(_metadata, env, pages - 1, s.when);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

TEST_F_TIMEOUT(fail_nth, failed_mock_domain_destroy_keeps_the_domain, 600)
{
	mock_domain_destroy_sweep(_metadata, &self->env, 2);
}

TEST_F_TIMEOUT(fail_nth, failed_last_mock_domain_destroy_keeps_the_pins, 600)
{
	mock_domain_destroy_sweep(_metadata, &self->env, 1);
}

/* ---- Mock devices: bind, attach, replace, HWPT_ALLOC, unbind ---- */

TEST_F_TIMEOUT(fail_nth, failed_bind_leaves_no_device, 600)
{
	const char *label = "MOCK_DEVICE_ADD (bind, beside a mapped IOAS)";
	struct nth_env *env = &self->env;
	struct iommu_test_cmd cmd;
	struct ioas_ranges before;
	unsigned int dev;
	uint64_t pages;
	struct sweep s;
	struct world w;

	for (sweep_start(&s, env, label, false); !s.done;
	     sweep_next(_metadata, &s)) {
		pages = mapped_world_open(_metadata, env, &w, 0);
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &before));
		mock_dev_cmd_init(&cmd, 0);
		if (sweep_ioctl(_metadata, &s, w.fd, IOMMU_TEST_CMD, &cmd) ==
		    NTH_FAILED) {
			env_expect_no_new_device(_metadata, env, 0, s.when);
			world_expect_ranges(_metadata, &w, 0, &before, s.when);
			world_expect_mapped(_metadata, &w, s.when);
			expect_mapped_world_pins(_metadata, env, 0, pages,
						 s.when);
			mock_dev_cmd_init(&cmd, 0);
			ASSERT_EQ(0, ioctl(w.fd, IOMMU_TEST_CMD, &cmd))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		dev = world_note_dev(_metadata, &w,
				     cmd.mock_device.out_mock_dev_id,
				     cmd.mock_device.out_idev_id);
		env_expect_no_new_device(_metadata, env, 1, s.when);
		/* Bound: on the blocking domain, and able to attach */
		EXPECT_EQ(MOCK_ATTACHED_BLOCKED, dom_attached(w.fd,
							      w.devs[dev].id))
			TH_LOG("%s: the new device is not blocked", s.when);
		world_expect_ranges(_metadata, &w, 0, &before, s.when);
		/* Binding pins nothing; attaching it gives IOAS 0 a domain */
		expect_mapped_world_pins(_metadata, env, 0, pages, s.when);
		world_attach_dev(_metadata, &w, dev, 0);
		world_expect_mapped(_metadata, &w, s.when);
		expect_mapped_world_pins(_metadata, env, 1, pages, s.when);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

/* ---- MOCK_DEVICE_ATTACH to a mapped IOAS ---- */

FIXTURE(dev_attach_sweep)
{
	struct nth_env env;
};

/*
 * The device is the IOAS's first, so the attach builds an automatic HWPT
 * and fills it, or a second device already has one the attach joins. What
 * the IOAS maps is pinned by the attach if it brings the first domain.
 */
FIXTURE_VARIANT(dev_attach_sweep)
{
	unsigned int domains;
	bool joins;
};

FIXTURE_VARIANT_ADD(dev_attach_sweep, new_automatic_hwpt)
{
	.domains = 0,
	.joins = false,
};

FIXTURE_VARIANT_ADD(dev_attach_sweep, new_automatic_hwpt_beside_a_domain)
{
	.domains = 1,
	.joins = false,
};

FIXTURE_VARIANT_ADD(dev_attach_sweep, joins_an_automatic_hwpt)
{
	.domains = 0,
	.joins = true,
};

FIXTURE_SETUP(dev_attach_sweep)
{
	SKIP_IF_UPSTREAM_MOCK(return);

	env_setup(_metadata, &self->env, PIN_BATCH, PAYER_IPC_LOCK);
}

FIXTURE_TEARDOWN(dev_attach_sweep)
{
	env_teardown(_metadata, &self->env);
}

/* The mapped world, a device to attach (index 0) and maybe one attached */
static uint64_t dev_attach_world_open(struct __test_metadata *_metadata,
				      struct nth_env *env, struct world *w,
				      unsigned int domains, bool joins)
{
	uint64_t pages = mapped_world_open(_metadata, env, w, domains);

	world_add_dev(_metadata, w, 0);
	if (joins)
		world_attach_dev(_metadata, w, world_add_dev(_metadata, w, 0),
				 0);
	return pages;
}

TEST_F_TIMEOUT(dev_attach_sweep, failed_attach_leaves_the_device_detached, 600)
{
	struct nth_env *env = &self->env;
	unsigned int pins_before = variant->domains || variant->joins ? 1 : 0;
	enum nth_outcome outcome;
	struct ioas_ranges before, want;
	struct iommu_test_cmd cmd;
	char label[80];
	uint64_t pages;
	struct sweep s;
	struct world w;

	snprintf(label, sizeof(label), "MOCK_DEVICE_ATTACH (%s, %u domain%s, %u areas)",
		 variant->joins ? "joins a HWPT" : "new HWPT",
		 variant->domains, variant->domains == 1 ? "" : "s",
		 env->thp_ok ? 2 : 1);

	pages = dev_attach_world_open(_metadata, env, &w, variant->domains,
				      variant->joins);
	expect_mapped_world_pins(_metadata, env, pins_before, pages, label);
	world_attach_dev(_metadata, &w, 0, 0);
	if (variant->joins)
		EXPECT_EQ(w.devs[1].hwpt, w.devs[0].hwpt);
	expect_mapped_world_pins(_metadata, env, 1, pages, label);
	ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &want));
	world_close(_metadata, env, &w, label);

	for (sweep_start(&s, env, label, !pins_before); !s.done;
	     sweep_next(_metadata, &s)) {
		pages = dev_attach_world_open(_metadata, env, &w,
					      variant->domains, variant->joins);
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &before));
		mock_attach_cmd_init(&cmd, IOMMU_TEST_OP_MOCK_DEVICE_ATTACH,
				     w.devs[0].id, w.ioas[0]);
		outcome = sweep_ioctl(_metadata, &s, w.fd, IOMMU_TEST_CMD,
				      &cmd);
		if (outcome == NTH_FAILED) {
			EXPECT_EQ(MOCK_ATTACHED_BLOCKED,
				  dom_attached(w.fd, w.devs[0].id))
				TH_LOG("%s: the device is not blocked", s.when);
			world_expect_ranges(_metadata, &w, 0, &before, s.when);
			world_expect_mapped(_metadata, &w, s.when);
			expect_mapped_world_pins(_metadata, env, pins_before,
						 pages, s.when);
			mock_attach_cmd_init(&cmd,
					     IOMMU_TEST_OP_MOCK_DEVICE_ATTACH,
					     w.devs[0].id, w.ioas[0]);
			ASSERT_EQ(0, ioctl(w.fd, IOMMU_TEST_CMD, &cmd))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		w.devs[0].attached = true;
		w.devs[0].hwpt = cmd.mock_attach.out_hwpt_id;
		if (variant->joins)
			EXPECT_EQ(w.devs[1].hwpt, w.devs[0].hwpt)
				TH_LOG("%s: a HWPT of its own", s.when);
		world_expect_attached_ranges(_metadata, &w, 0, &want, outcome,
					     s.when);
		world_expect_mapped(_metadata, &w, s.when);
		expect_mapped_world_pins(_metadata, env, 1, pages, s.when);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

/* ---- MOCK_DEVICE_REPLACE between two mapped IOASes ---- */

FIXTURE(replace_sweep)
{
	struct nth_env env;
};

enum replace_target {
	TO_NEW_AUTOMATIC_HWPT,	/* IOAS 1 has no HWPT yet */
	TO_SHARED_AUTOMATIC_HWPT,	/* another device uses IOAS 1 */
	TO_EXPLICIT_HWPT,	/* a HWPT_ALLOC'ed HWPT of IOAS 1 */
};

FIXTURE_VARIANT(replace_sweep)
{
	enum replace_target target;
};

FIXTURE_VARIANT_ADD(replace_sweep, to_new_automatic_hwpt)
{
	.target = TO_NEW_AUTOMATIC_HWPT,
};

FIXTURE_VARIANT_ADD(replace_sweep, to_shared_automatic_hwpt)
{
	.target = TO_SHARED_AUTOMATIC_HWPT,
};

FIXTURE_VARIANT_ADD(replace_sweep, to_explicit_hwpt)
{
	.target = TO_EXPLICIT_HWPT,
};

FIXTURE_SETUP(replace_sweep)
{
	SKIP_IF_UPSTREAM_MOCK(return);

	env_setup(_metadata, &self->env, PIN_BATCH, PAYER_IPC_LOCK);
}

FIXTURE_TEARDOWN(replace_sweep)
{
	env_teardown(_metadata, &self->env);
}

/*
 * IOAS 0 maps the 4 KiB buffer at IOVA_A, IOAS 1 maps it too, and the THP
 * at IOVA_B; device 0 is on an automatic HWPT of IOAS 0. Returns what to
 * replace with.
 */
static uint32_t replace_world_open(struct __test_metadata *_metadata,
				   struct nth_env *env, struct world *w,
				   enum replace_target target)
{
	world_open(_metadata, env, w);
	world_map(_metadata, w, 0, env->small, env->small_len, IOVA_A);
	world_add_ioas(_metadata, w);
	world_map(_metadata, w, 1, env->small, env->small_len, IOVA_A);
	if (env->thp_ok)
		world_map(_metadata, w, 1, env->thp, SZ_2M, IOVA_B);
	world_add_dev(_metadata, w, 0);
	world_attach_dev(_metadata, w, 0, 0);

	switch (target) {
	case TO_NEW_AUTOMATIC_HWPT:
		break;
	case TO_SHARED_AUTOMATIC_HWPT:
		world_attach_dev(_metadata, w, world_add_dev(_metadata, w, 0),
				 1);
		break;
	case TO_EXPLICIT_HWPT:
		return world_add_hwpt(_metadata, w, 0, 0, 1, 0);
	}
	return w->ioas[1];
}

/*
 * Each IOAS pins (with pages objects of its own) what it maps if it has a
 * domain, @pinned[i]; the pins add up for the 4 KiB buffer both map.
 */
static void expect_replace_world_pins(struct __test_metadata *_metadata,
				      struct nth_env *env,
				      const bool pinned[2], const char *when)
{
	unsigned int small = pinned[0] + pinned[1];
	unsigned int thp = env->thp_ok && pinned[1] ? 1 : 0;

	expect_pins(_metadata, env, env->small, env->small_len, small, when);
	if (env->thp_ok)
		expect_pins(_metadata, env, env->thp, SZ_2M, thp, when);
	env_expect_charged(_metadata, env,
			   (small * env->small_len + thp * SZ_2M) / env->page,
			   when);
}

TEST_F_TIMEOUT(replace_sweep, failed_replace_leaves_the_device_in_place, 600)
{
	static const char *const names[] = {
		[TO_NEW_AUTOMATIC_HWPT] = "to a new automatic HWPT",
		[TO_SHARED_AUTOMATIC_HWPT] = "to a shared automatic HWPT",
		[TO_EXPLICIT_HWPT] = "to an explicit HWPT",
	};
	/* IOAS 1 is pinned before if it has a domain; IOAS 0 loses its own */
	const bool pinned_before[2] = {
		true, variant->target != TO_NEW_AUTOMATIC_HWPT,
	};
	const bool pinned_after[2] = { false, true };
	struct nth_env *env = &self->env;
	struct ioas_ranges before[2], want[2];
	uint32_t pt, cookie, old_hwpt;
	enum nth_outcome outcome;
	struct iommu_test_cmd cmd;
	char label[80];
	struct sweep s;
	struct world w;

	snprintf(label, sizeof(label), "MOCK_DEVICE_REPLACE (%s)",
		 names[variant->target]);

	pt = replace_world_open(_metadata, env, &w, variant->target);
	expect_replace_world_pins(_metadata, env, pinned_before, label);
	mock_attach_cmd_init(&cmd, IOMMU_TEST_OP_MOCK_DEVICE_REPLACE,
			     w.devs[0].id, pt);
	ASSERT_EQ(0, ioctl(w.fd, IOMMU_TEST_CMD, &cmd));
	expect_replace_world_pins(_metadata, env, pinned_after, label);
	ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &want[0]));
	ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[1], &want[1]));
	world_close(_metadata, env, &w, label);

	for (sweep_start(&s, env, label, !pinned_before[1]); !s.done;
	     sweep_next(_metadata, &s)) {
		pt = replace_world_open(_metadata, env, &w, variant->target);
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &before[0]));
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[1], &before[1]));
		cookie = dom_cookie(w.fd, w.devs[0].id);
		old_hwpt = w.devs[0].hwpt;
		mock_attach_cmd_init(&cmd, IOMMU_TEST_OP_MOCK_DEVICE_REPLACE,
				     w.devs[0].id, pt);
		outcome = sweep_ioctl(_metadata, &s, w.fd, IOMMU_TEST_CMD,
				      &cmd);
		if (outcome == NTH_FAILED) {
			EXPECT_EQ(cookie, dom_cookie(w.fd, w.devs[0].id))
				TH_LOG("%s: the device moved", s.when);
			world_expect_ranges(_metadata, &w, 0, &before[0],
					    s.when);
			world_expect_ranges(_metadata, &w, 1, &before[1],
					    s.when);
			world_expect_mapped(_metadata, &w, s.when);
			expect_replace_world_pins(_metadata, env,
						  pinned_before, s.when);
			mock_attach_cmd_init(&cmd,
					     IOMMU_TEST_OP_MOCK_DEVICE_REPLACE,
					     w.devs[0].id, pt);
			ASSERT_EQ(0, ioctl(w.fd, IOMMU_TEST_CMD, &cmd))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		w.devs[0].ioas = 1;
		w.devs[0].hwpt = cmd.mock_attach.out_hwpt_id;
		/* The old automatic HWPT had no other user */
		EXPECT_EQ(-1, dom_attached(w.fd, old_hwpt))
			TH_LOG("%s: the old HWPT is still there", s.when);
		EXPECT_EQ(dom_cookie(w.fd, w.devs[0].hwpt),
			  dom_cookie(w.fd, w.devs[0].id));
		world_expect_ranges(_metadata, &w, 0, &want[0], s.when);
		world_expect_attached_ranges(_metadata, &w, 1, &want[1],
					     outcome, s.when);
		world_expect_mapped(_metadata, &w, s.when);
		expect_replace_world_pins(_metadata, env, pinned_after,
					  s.when);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

/* ---- IOMMU_HWPT_ALLOC ---- */

FIXTURE(hwpt_sweep)
{
	struct nth_env env;
};

FIXTURE_VARIANT(hwpt_sweep)
{
	uint32_t flags;
	bool nested;	/* on a NEST_PARENT HWPT instead of the IOAS */
};

FIXTURE_VARIANT_ADD(hwpt_sweep, paging)
{
	.flags = 0,
};

FIXTURE_VARIANT_ADD(hwpt_sweep, nest_parent)
{
	.flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
};

FIXTURE_VARIANT_ADD(hwpt_sweep, nested)
{
	.nested = true,
};

FIXTURE_SETUP(hwpt_sweep)
{
	SKIP_IF_UPSTREAM_MOCK(return);

	env_setup(_metadata, &self->env, PIN_BATCH, PAYER_IPC_LOCK);
}

FIXTURE_TEARDOWN(hwpt_sweep)
{
	env_teardown(_metadata, &self->env);
}

/*
 * The mapped world, a bound device and maybe a parent (whose domain pins
 * what IOAS 0 maps); returns the pt_id
 */
static uint32_t hwpt_world_open(struct __test_metadata *_metadata,
				struct nth_env *env, struct world *w,
				bool nested, uint64_t *pages)
{
	*pages = mapped_world_open(_metadata, env, w, 0);
	world_add_dev(_metadata, w, 0);
	if (!nested)
		return w->ioas[0];
	return world_add_hwpt(_metadata, w, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, 0,
			      0);
}

TEST_F_TIMEOUT(hwpt_sweep, failed_hwpt_alloc_leaves_the_ioas_as_it_was, 600)
{
	struct nth_env *env = &self->env;
	struct iommu_hwpt_mock_nested data;
	uint32_t iotlb = variant->nested ? 5 : 0;
	struct iommu_hwpt_alloc cmd;
	struct ioas_ranges before, want;
	/* A paging HWPT is IOAS 0's first domain; a nested one is not */
	unsigned int pins_before = variant->nested ? 1 : 0;
	uint32_t pt, parent_cookie;
	char label[80];
	uint64_t pages;
	struct sweep s;
	struct world w;

	snprintf(label, sizeof(label), "HWPT_ALLOC (%s, %u areas)",
		 variant->nested ? "nested" :
		 variant->flags ? "NEST_PARENT paging" : "paging",
		 env->thp_ok ? 2 : 1);

	pt = hwpt_world_open(_metadata, env, &w, variant->nested, &pages);
	expect_mapped_world_pins(_metadata, env, pins_before, pages, label);
	hwpt_cmd_init(&cmd, &data, variant->flags, w.devs[0].idev, pt, iotlb);
	ASSERT_EQ(0, ioctl(w.fd, IOMMU_HWPT_ALLOC, &cmd));
	world_note_hwpt(_metadata, &w, 0, cmd.out_hwpt_id);
	expect_mapped_world_pins(_metadata, env, 1, pages, label);
	ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &want));
	world_close(_metadata, env, &w, label);

	for (sweep_start(&s, env, label, !pins_before); !s.done;
	     sweep_next(_metadata, &s)) {
		pt = hwpt_world_open(_metadata, env, &w, variant->nested,
				     &pages);
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &before));
		hwpt_cmd_init(&cmd, &data, variant->flags, w.devs[0].idev, pt,
			      iotlb);
		if (sweep_ioctl(_metadata, &s, w.fd, IOMMU_HWPT_ALLOC, &cmd) ==
		    NTH_FAILED) {
			world_expect_ranges(_metadata, &w, 0, &before, s.when);
			world_expect_mapped(_metadata, &w, s.when);
			expect_mapped_world_pins(_metadata, env, pins_before,
						 pages, s.when);
			hwpt_cmd_init(&cmd, &data, variant->flags,
				      w.devs[0].idev, pt, iotlb);
			ASSERT_EQ(0, ioctl(w.fd, IOMMU_HWPT_ALLOC, &cmd))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		world_note_hwpt(_metadata, &w, 0, cmd.out_hwpt_id);
		world_expect_ranges(_metadata, &w, 0, &want, s.when);
		expect_mapped_world_pins(_metadata, env, 1, pages, s.when);
		if (variant->nested) {
			EXPECT_EQ(MOCK_ATTACHED_NESTED,
				  dom_attached(w.fd, cmd.out_hwpt_id))
				TH_LOG("%s: not a nested HWPT", s.when);
			parent_cookie = dom_cookie(w.fd, pt);
			EXPECT_NE(parent_cookie,
				  dom_cookie(w.fd, cmd.out_hwpt_id));
		}
		/* Whole enough to take a device */
		world_attach_dev_to(_metadata, &w, 0, cmd.out_hwpt_id, 0);
		world_expect_mapped(_metadata, &w, s.when);
		expect_mapped_world_pins(_metadata, env, 1, pages, s.when);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

/* ---- IOMMU_GET_HW_INFO ---- */

TEST_F_TIMEOUT(fail_nth, failed_get_hw_info_changes_nothing, 600)
{
	const char *label = "GET_HW_INFO (mock device)";
	struct nth_env *env = &self->env;
	struct iommu_hw_info_mock data;
	struct iommu_hw_info cmd;
	unsigned int dev;
	struct sweep s;
	struct world w;

	for (sweep_start(&s, env, label, false); !s.done;
	     sweep_next(_metadata, &s)) {
		world_open(_metadata, env, &w);
		dev = world_add_dev(_metadata, &w, MOCK_DEVICE_DIRTY_TRACKING);
		hw_info_cmd_init(&cmd, w.devs[dev].idev, &data);
		if (sweep_ioctl(_metadata, &s, w.fd, IOMMU_GET_HW_INFO, &cmd) ==
		    NTH_FAILED) {
			hw_info_cmd_init(&cmd, w.devs[dev].idev, &data);
			ASSERT_EQ(0, ioctl(w.fd, IOMMU_GET_HW_INFO, &cmd))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, cmd.out_data_type);
		EXPECT_EQ(sizeof(data), cmd.data_len);
		EXPECT_EQ(IOMMU_HW_CAP_DIRTY_TRACKING, cmd.out_capabilities);
		EXPECT_EQ(MOCK_HW_INFO_SIGNATURE, data.signature);
		EXPECT_EQ(MOCK_DEVICE_DIRTY_TRACKING, data.dev_flags);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

/* ---- IOMMU_DESTROY of an attached mock device: detach and unbind ---- */

FIXTURE(unbind_sweep)
{
	struct nth_env env;
};

FIXTURE_VARIANT(unbind_sweep)
{
	bool shared;	/* another device uses the same automatic HWPT */
	bool no_mock;	/* that HWPT is the IOAS's only domain: it pins */
};

FIXTURE_VARIANT_ADD(unbind_sweep, last_user_of_its_hwpt)
{
	.shared = false,
};

FIXTURE_VARIANT_ADD(unbind_sweep, sharing_its_hwpt)
{
	.shared = true,
};

FIXTURE_VARIANT_ADD(unbind_sweep, last_user_of_the_only_domain)
{
	.shared = false,
	.no_mock = true,
};

FIXTURE_SETUP(unbind_sweep)
{
	SKIP_IF_UPSTREAM_MOCK(return);

	env_setup(_metadata, &self->env, PIN_BATCH, PAYER_IPC_LOCK);
}

FIXTURE_TEARDOWN(unbind_sweep)
{
	env_teardown(_metadata, &self->env);
}

/*
 * The mapped world with a mock domain, unless @no_mock, and one or two
 * attached devices; returns the pages mapped (and pinned)
 */
static uint64_t unbind_world_open(struct __test_metadata *_metadata,
				  struct nth_env *env, struct world *w,
				  bool shared, bool no_mock)
{
	uint64_t pages = mapped_world_open(_metadata, env, w, !no_mock);

	world_attach_dev(_metadata, w, world_add_dev(_metadata, w, 0), 0);
	if (shared)
		world_attach_dev(_metadata, w, world_add_dev(_metadata, w, 0),
				 0);
	return pages;
}

TEST_F_TIMEOUT(unbind_sweep, mock_device_destroy_always_completes, 600)
{
	/* With its only domain gone, IOAS 0 unpins what it maps */
	unsigned int pins_after = variant->no_mock && !variant->shared ? 0 : 1;
	struct nth_env *env = &self->env;
	struct ioas_ranges before, want;
	uint32_t victim, hwpt, cookie;
	struct iommu_destroy cmd;
	char label[80];
	uint64_t pages;
	struct sweep s;
	struct world w;

	snprintf(label, sizeof(label), "DESTROY of an attached mock device (%s)",
		 variant->shared ? "HWPT shared" :
		 variant->no_mock ? "last on the only domain" :
		 "last on its HWPT");

	pages = unbind_world_open(_metadata, env, &w, variant->shared,
				  variant->no_mock);
	ASSERT_EQ(0, object_destroy(w.fd, w.devs[0].id));
	ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &want));
	world_forget_dev(&w, w.devs[0].id);
	expect_mapped_world_pins(_metadata, env, pins_after, pages, label);
	world_close(_metadata, env, &w, label);

	for (sweep_start(&s, env, label, false); !s.done;
	     sweep_next(_metadata, &s)) {
		unbind_world_open(_metadata, env, &w, variant->shared,
				  variant->no_mock);
		ASSERT_EQ(0, ioas_ranges_get(w.fd, w.ioas[0], &before));
		victim = w.devs[0].id;
		hwpt = w.devs[0].hwpt;
		cookie = dom_cookie(w.fd, victim);
		cmd = (struct iommu_destroy){ .size = sizeof(cmd), .id = victim };
		if (sweep_ioctl(_metadata, &s, w.fd, IOMMU_DESTROY, &cmd) ==
		    NTH_FAILED) {
			EXPECT_EQ(cookie, dom_cookie(w.fd, victim))
				TH_LOG("%s: the device changed", s.when);
			world_expect_ranges(_metadata, &w, 0, &before, s.when);
			world_expect_mapped(_metadata, &w, s.when);
			expect_mapped_world_pins(_metadata, env, 1, pages,
						 s.when);
			ASSERT_EQ(0, object_destroy(w.fd, victim))
				TH_LOG("%s: retry fails: %s", s.when,
				       strerror(errno));
		}
		world_forget_dev(&w, victim);
		EXPECT_EQ(-1, dom_attached(w.fd, victim));
		EXPECT_EQ(variant->shared ? MOCK_ATTACHED_PAGING : -1,
			  dom_attached(w.fd, hwpt))
			TH_LOG("%s: the automatic HWPT", s.when);
		env_expect_no_new_device(_metadata, env, variant->shared,
					 s.when);
		world_expect_ranges(_metadata, &w, 0, &want, s.when);
		world_expect_mapped(_metadata, &w, s.when);
		expect_mapped_world_pins(_metadata, env, pins_after, pages,
					 s.when);
		world_close(_metadata, env, &w, s.when);
	}
	sweep_report(_metadata, &s);
}

TEST_HARNESS_MAIN
