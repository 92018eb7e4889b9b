// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz: a seeded, bounded random-ioctl fuzzer of /dev/iommu.
 *
 * Usage: fuzz [-t SECONDS] [-n OPS] [-j THREADS] [-S SESSION] [-v]
 *             [--no-length-cap] SEED...
 *
 * A run is a list of seeds that share the time budget, one TAP test each,
 * and a last test that replays a known-good sequence. A seed is a series of
 * sessions. Session N of seed S draws its choices from a generator seeded
 * with (S, N), so "fuzz -S N -v S" replays that session alone, printing
 * every call. A session opens /dev/iommu, runs a bounded number of random
 * operations and closes the file with whatever objects are still alive.
 *
 * An operation is one ioctl (every command of iommufd's dispatch table,
 * every IOMMU_TEST_CMD op of the mock driver, and unknown numbers), one
 * call on the file of a FAULT object (read, write and poll with any length
 * and buffer, close at any moment, from any thread), or one change of the
 * memory those ioctls point at (mmap of anonymous, THP, hugetlbfs or
 * shared memory, munmap, mremap, madvise, mprotect, all while the memory
 * may be mapped). Arguments are mostly valid: IDs, IOVAs, addresses and
 * cookies come from what the session created, sometimes stale or random;
 * lengths reach 2^64; a few calls get a wrong size, a non-zero reserved
 * member or an argument pointer that cannot be read or written back. Now
 * and then 2-4 threads race on the file, or a forked child works on it.
 *
 * Invariants checked: every ioctl and FAULT file call fails only with an
 * errno the uAPI kernel-doc (and the kernel code where the doc is silent)
 * allows for it; read() of a FAULT file returns whole groups of records,
 * each under a non-zero cookie, and poll() always says writable; after
 * every close (of /dev/iommu and of the FAULT files, in either order)
 * VmPin and VmLck of the process and locked_vm of the user are back at
 * their starting values and no mock device is left on the bus; at the
 * end the known-good sequence still works. Kernel reports (WARN, KASAN,
 * lockdep) end up on the console, where the VM runner looks for them;
 * each session start is written to /dev/kmsg so that a report can be tied
 * to its session. On a violation the seed, the op number and a
 * reproducing command are printed and the exit status is 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/iommufd.h>

#include "../../drivers/iommu/iommufd/iommufd_test.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define PAGE		4096ULL
#define SZ_2M		(2ULL << 20)
#define SZ_1G		(1024 * SZ_2M / 2)

/*
 * MAP of a user range that is not backed by memory makes the kernel build a
 * worst-case table sized by the length (a known defect being fixed), so
 * such lengths stay below this unless --no-length-cap is given.
 */
#define UNBACKED_MAP_LENGTH_CAP	(64ULL << 30)

/* The memory the ioctls point at: slots of a fixed arena, far from libc's */
#define ARENA_BASE	0x100000000000ULL
#define ARENA_SLOTS	24
#define SLOT_SIZE	(16ULL << 20)
#define REGION_MAX	(8ULL << 20)

#define POOL_SIZE	16	/* IDs remembered per kind; older ones go stale */
#define MAPS_SIZE	64	/* mappings remembered for IOVA choices */
#define PINS_SIZE	32
/* Per thread: data buffers, then the last pages for mangled arguments */
#define SCRATCH_SIZE	(MOCK_ACCESS_RW_MAX + 4 * PAGE)
#define ARG_AREA	(3 * PAGE)
#define BITMAP_SIZE	(64 * 1024)
#define MAX_THREADS	4
#define FAULT_FILES	8	/* FAULT files a session keeps open */
#define COOKIES_SIZE	32	/* cookies remembered for answers */
#define PGF_SIZE	sizeof(struct iommu_hwpt_pgfault)
#define RESP_SIZE	sizeof(struct iommu_hwpt_page_response)
#define MOCK_BUS_DEVICES "/sys/bus/iommufd_mock/devices"

/* A set of errno values, all below 128 */
#define errset		__uint128_t
#define E(e)		((errset)1 << (e))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Kinds of IDs the session remembers */
enum kind {
	K_IOAS,
	K_HWPT_PAGING,
	K_HWPT_NESTED,
	K_MOCK_DOMAIN,	/* selftest object of IOMMU_TEST_OP_MOCK_DOMAIN */
	K_MOCK_DEV,	/* selftest object of IOMMU_TEST_OP_MOCK_DEVICE_ADD */
	K_IDEV,		/* DEVICE object of a bound mock device */
	K_ACCESS_OBJ,	/* selftest object of IOMMU_TEST_OP_ACCESS_CREATE */
	K_ACCESS,	/* ACCESS object of an access */
	K_FAULT,
	K_HWPT_PARENT,	/* paging HWPT allocated with NEST_PARENT */
	K_HWPT_FAULT,	/* nested HWPT that reports to a FAULT */
	K_IOPF_DEV,	/* mock device with MOCK_DEVICE_IOPF */
	K_GROUP,	/* mock group numbers, not IDs */
	K_COUNT,
};

struct pool {
	uint32_t id[POOL_SIZE];
	uint32_t ioas[POOL_SIZE];	/* the IOAS it works on, if known */
	unsigned int n;		/* ever added; the ring holds the last ones */
};

enum region_kind { R_ANON, R_THP, R_HUGETLB, R_SHARED, R_KINDS };

static const char *const region_name[] = {
	[R_ANON] = "anon", [R_THP] = "thp", [R_HUGETLB] = "hugetlb",
	[R_SHARED] = "shared",
};

struct region {
	uint64_t addr;
	uint64_t len;		/* 0: slot never used */
	enum region_kind kind;
	bool live;		/* false: unmapped, addr stays as a stale VA */
};

struct mapping {
	uint32_t ioas;
	uint64_t iova;
	uint64_t len;
	uint64_t uva;
};

struct pin {
	uint32_t access_obj;
	uint32_t handle;
};

struct options {
	double seconds;		/* per seed */
	uint64_t max_ops;	/* per seed, 0: unbounded */
	unsigned int threads;	/* most racing threads, 0: run them in turn */
	long only_session;	/* -S, or -1 */
	bool verbose;
	bool length_cap;
};

static struct options opt = {
	.seconds = 60, .threads = MAX_THREADS, .only_session = -1,
	.length_cap = true,
};

/* One open of /dev/iommu and everything the fuzzer knows about it */
struct session {
	uint64_t seed;
	unsigned long number;
	uint64_t first_op;	/* seed-wide number of its first op */
	int fd;
	pthread_mutex_t lock;	/* protects everything below */
	struct pool pools[K_COUNT];
	struct region regions[ARENA_SLOTS];
	struct mapping maps[MAPS_SIZE];
	unsigned int nmaps;
	struct pin pins[PINS_SIZE];
	unsigned int npins;
	/* FAULT files; a slot with fd -1 is free */
	struct {
		int fd;
		uint32_t id;
	} faults[FAULT_FILES];
	/* Cookies read from a FAULT file, answered or not */
	struct {
		int fd;
		uint32_t cookie;
	} cookies[COOKIES_SIZE];
	unsigned int ncookies;
	/*
	 * Held for reading around a use of a FAULT file's descriptor and
	 * for writing around its close, so that a racing thread never uses
	 * a number that was closed and given to another file meanwhile
	 */
	pthread_rwlock_t fault_lock;
	/* A memfd for IOMMU_IOAS_MAP_FILE, mapped at mfd_va; -1 if none */
	int mfd;
	uint8_t *mfd_va;
	atomic_ulong ops;
	atomic_bool failed;
	bool in_child;
	/*
	 * Half the sessions map only live memory, so that domains and
	 * accesses can be filled and the deeper paths run.
	 */
	bool tidy;
};

/* A thread of operations, with its own generator and buffers */
struct worker {
	struct session *s;
	uint64_t rng;
	int tid;
	int kind;		/* index in ops[] of its current op, or -1 */
	unsigned long op;	/* session-wide number of its current op */
	char desc[320];
	uint8_t *scratch;	/* SCRATCH_SIZE, then a PROT_NONE guard page */
	uint8_t *guard;
	uint8_t *bitmap;	/* BITMAP_SIZE, then the guard of its own */
	uint8_t *rw_view;	/* one page, also mapped read-only at ro_view */
	uint8_t *ro_view;
};

static struct timespec run_start;
static int kmsg_fd = -1;
static int observer_fd = -1;	/* a file with no objects, for ACCOUNTING */

/* Accounting of the process and its user when no file holds anything */
static struct {
	unsigned long vm_pin_kb, vm_lck_kb;
	uint64_t user_locked;
	int mock_devices;	/* on the mock bus; -1 if it cannot be read */
} baseline;

static uint64_t splitmix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct worker *w)
{
	return splitmix(&w->rng);
}

static uint64_t below(struct worker *w, uint64_t n)
{
	return n ? rnd(w) % n : 0;
}

static bool chance(struct worker *w, unsigned int percent)
{
	return below(w, 100) < percent;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec - run_start.tv_sec +
	       (ts.tv_nsec - run_start.tv_nsec) / 1e9;
}

static void describe(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->desc, sizeof(w->desc), fmt, ap);
	va_end(ap);
}

static void describe_more(struct worker *w, const char *fmt, ...)
{
	size_t n = strlen(w->desc);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->desc + n, sizeof(w->desc) - n, fmt, ap);
	va_end(ap);
}

static void errset_print(errset set, char *buf, size_t len)
{
	size_t off = 0;
	int e;

	buf[0] = 0;
	for (e = 1; e < 128 && off < len; e++)
		if (set & E(e))
			off += snprintf(buf + off, len - off, " %s",
					strerrorname_np(e) ?: "?");
}

static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

/* Reports the first violation of a session; the session then winds down */
static void violation(struct worker *w, const char *fmt, ...)
{
	struct session *s = w->s;
	unsigned long op = w->op;
	va_list ap;

	if (atomic_exchange(&s->failed, true))
		return;
	pthread_mutex_lock(&print_lock);
	printf("# VIOLATION seed %llu op %llu (session %lu, op %lu of it, %s %d)\n",
	       (unsigned long long)s->seed,
	       (unsigned long long)(s->first_op + op), s->number, op,
	       s->in_child ? "forked child of thread" : "thread", w->tid);
	printf("#   ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n#   reproduce: fuzz -S %lu -v %llu   (-j 0: threads in turn)\n",
	       s->number, (unsigned long long)s->seed);
	fflush(stdout);
	pthread_mutex_unlock(&print_lock);
}

/* Pools of IDs */

static uint32_t pick_id(struct worker *w, enum kind k);

static void pool_add(struct session *s, enum kind k, uint32_t id,
		     uint32_t ioas)
{
	struct pool *p = &s->pools[k];

	pthread_mutex_lock(&s->lock);
	p->ioas[p->n % POOL_SIZE] = ioas;
	p->id[p->n++ % POOL_SIZE] = id;
	pthread_mutex_unlock(&s->lock);
}

/*
 * Mostly an object of kind @k that works on @ioas, so that calls about a
 * mapping reach something that has it; else as pick_id().
 */
static uint32_t pick_id_on(struct worker *w, enum kind k, uint32_t ioas)
{
	struct session *s = w->s;
	struct pool *p = &s->pools[k];
	unsigned int i, n, start;
	uint32_t id = 0;

	if (chance(w, 25))
		return pick_id(w, k);
	pthread_mutex_lock(&s->lock);
	n = p->n < POOL_SIZE ? p->n : POOL_SIZE;
	start = below(w, n);
	for (i = 0; i < n && !id; i++)
		if (p->ioas[(start + i) % n] == ioas)
			id = p->id[(start + i) % n];
	pthread_mutex_unlock(&s->lock);
	return id ?: pick_id(w, k);
}

/* Mostly an ID of kind @k; sometimes another kind's, a stale, 0 or random */
static uint32_t pick_id(struct worker *w, enum kind k)
{
	struct session *s = w->s;
	unsigned int r = below(w, 100);
	struct pool *p;
	uint32_t id = 0;

	if (r >= 92)
		return r >= 97 ? (uint32_t)rnd(w) : r >= 94 ? 0 : 1 + below(w, 64);
	if (r >= 80)
		k = below(w, K_GROUP);
	pthread_mutex_lock(&s->lock);
	p = &s->pools[k];
	if (p->n)
		id = p->id[below(w, p->n < POOL_SIZE ? p->n : POOL_SIZE)];
	pthread_mutex_unlock(&s->lock);
	return id;
}

static void map_add(struct session *s, uint32_t ioas, uint64_t iova,
		    uint64_t len, uint64_t uva)
{
	pthread_mutex_lock(&s->lock);
	s->maps[s->nmaps++ % MAPS_SIZE] = (struct mapping){
		.ioas = ioas, .iova = iova, .len = len, .uva = uva,
	};
	pthread_mutex_unlock(&s->lock);
}

/* A remembered mapping, or false if there is none */
static bool pick_map(struct worker *w, struct mapping *m)
{
	struct session *s = w->s;
	bool found = false;

	pthread_mutex_lock(&s->lock);
	if (s->nmaps) {
		*m = s->maps[below(w, s->nmaps < MAPS_SIZE ? s->nmaps :
							      MAPS_SIZE)];
		found = true;
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* Lengths: mostly small page multiples, sometimes odd or up to 2^64 */
static uint64_t pick_length(struct worker *w)
{
	switch (below(w, 12)) {
	case 0:
		return chance(w, 20) ? 0 : 1 + below(w, 3 * PAGE);
	case 1:
	case 2:
	case 3:
		return PAGE * (1 + below(w, 64));
	case 4:
		return SZ_2M * (1 + below(w, 4));
	case 5:
		return PAGE / 2 * (1 + below(w, 16));
	case 6:
		return 1ULL << below(w, 64);
	case 7:
		return chance(w, 50) ? UINT64_MAX : (1ULL << below(w, 64)) - 1;
	case 8:
		return rnd(w);
	case 9:
		return SZ_1G;
	default:
		return PAGE * (1 + below(w, 8));
	}
}

/* IOVAs: near remembered mappings, or aligned, special or random values */
static uint64_t pick_iova(struct worker *w)
{
	static const uint64_t special[] = {
		0, MOCK_RESV_START, MOCK_RESV_LAST + 1, MOCK_RESV_START - PAGE,
		MOCK_SMALL_APERTURE_START, MOCK_SMALL_APERTURE_START - PAGE,
		MOCK_SMALL_APERTURE_LAST + 1, MOCK_APERTURE_LAST + 1 - PAGE,
		MOCK_APERTURE_LAST + 1, 1ULL << 63, UINT64_MAX,
		UINT64_MAX - PAGE + 1, UINT64_MAX - 1, 0xfef00000ULL,
	};
	struct mapping m;

	switch (below(w, 10)) {
	case 0:
	case 1:
	case 2:
	case 3:
		if (!pick_map(w, &m))
			break;
		switch (below(w, 4)) {
		case 0:
			return m.iova + m.len;
		case 1:
			return m.iova + (below(w, m.len / PAGE + 1) * PAGE);
		case 2:
			return m.iova - PAGE * below(w, 2);
		default:
			return m.iova;
		}
	case 4:
		return special[below(w, ARRAY_SIZE(special))];
	case 5:
		return rnd(w) & (chance(w, 50) ? ~(PAGE - 1) : ~0ULL);
	case 6:
		return SZ_2M * below(w, 2048);
	case 7:
		return PAGE / 2 * below(w, 8192);
	}
	return PAGE * below(w, 4096);
}

/*
 * A user address for MAP and friends. *backed returns how many bytes from
 * it are live memory of the arena (0 when it is not in a live region).
 */
static uint64_t pick_uva(struct worker *w, uint64_t *backed)
{
	static const uint64_t odd[] = {
		0, PAGE, 0xffff888000000000ULL, 0x0000800000000000ULL,
		0xfffffffffffff000ULL, ARENA_BASE + ARENA_SLOTS * SLOT_SIZE,
	};
	struct session *s = w->s;
	struct region *r;
	uint64_t uva, off;

	unsigned int i, slot;

	*backed = 0;
	if (chance(w, s->tidy ? 1 : 8)) {
		if (chance(w, 50))
			return rnd(w) & 0x7ffffffff000ULL;
		return odd[below(w, ARRAY_SIZE(odd))];
	}
	pthread_mutex_lock(&s->lock);
	slot = below(w, ARENA_SLOTS);
	for (i = 0; s->tidy && i < ARENA_SLOTS; i++)
		if (s->regions[(slot + i) % ARENA_SLOTS].live)
			break;
	r = &s->regions[(slot + i) % ARENA_SLOTS];
	if (!r->len) {
		pthread_mutex_unlock(&s->lock);
		return ARENA_BASE + below(w, ARENA_SLOTS) * SLOT_SIZE;
	}
	switch (below(w, 4)) {
	case 0:
		off = 0;
		break;
	case 1:
		off = below(w, r->len / SZ_2M + 1) * SZ_2M;
		break;
	default:
		off = below(w, r->len / PAGE + 1) * PAGE;
		break;
	}
	if (chance(w, 3))
		off += below(w, PAGE);
	uva = r->addr + off;
	if (r->live && off < r->len)
		*backed = r->len - off;
	pthread_mutex_unlock(&s->lock);
	return uva;
}

/* Per entry of ops[]: how often it ran, succeeded, and which errnos */
static struct op_stats {
	atomic_ulong calls, ok;
	atomic_ullong errnos[2];	/* bit e % 64 of word e / 64 */
} stats[64];

/* The worker of this thread, for the report of a fatal signal */
static __thread struct worker *current_worker;

/* Numbers the operation described in w->desc, and prints it with -v */
static void count_op(struct worker *w)
{
	current_worker = w;
	w->op = atomic_fetch_add(&w->s->ops, 1) + 1;
	if (w->kind >= 0)
		atomic_fetch_add(&stats[w->kind].calls, 1);
	if (!opt.verbose)
		return;
	pthread_mutex_lock(&print_lock);
	printf("op %lu t%d: %s\n", w->op, w->tid, w->desc);
	fflush(stdout);
	pthread_mutex_unlock(&print_lock);
}

/*
 * Prints and counts the outcome of the call w->desc describes, and
 * reports an errno outside @allowed (0: it succeeded)
 */
static void fz_result(struct worker *w, const char *name, int err,
		      errset allowed)
{
	char set[256];

	if (opt.verbose)
		printf("op %lu t%d: -> %s\n", w->op, w->tid,
		       err ? strerrorname_np(err) ?: "?" : "0");
	if (w->kind >= 0 && !err)
		atomic_fetch_add(&stats[w->kind].ok, 1);
	else if (w->kind >= 0 && err < 128)
		atomic_fetch_or(&stats[w->kind].errnos[err / 64],
				(uint64_t)1 << (err % 64));
	if (err && !(err < 128 && (allowed & E(err)))) {
		errset_print(allowed, set, sizeof(set));
		violation(w, "%s %s -> %s; allowed:%s", name, w->desc,
			  strerrorname_np(err) ?: "?", set);
	}
}

/*
 * The ioctl. Besides the call the op intends, a few get a wrong size, an
 * argument pointer that faults on reading, or one that can be read but
 * not written back; @allowed grows by what each of these may answer.
 * Returns 0 or the errno, and whether the output members can be trusted.
 */
static int fz_ioctl(struct worker *w, const char *name, unsigned long req,
		    void *arg, uint32_t size, uint32_t min_size,
		    errset allowed, bool *outputs)
{
	struct session *s = w->s;
	unsigned int mode = below(w, 200);
	uint8_t *ptr = arg;
	int rc, err;

	*outputs = false;
	memcpy(arg, &size, sizeof(size));
	allowed |= E(ENOMEM);
	if (mode < 3) {
		/* The struct sits in the argument area, before the guard */
		static const uint32_t extra[] = { 8, 64, 4096 };
		uint32_t usize;

		ptr = w->guard - ARG_AREA;
		memset(ptr, 0, ARG_AREA);
		memcpy(ptr, arg, size);
		switch (below(w, 5)) {
		case 0:
			usize = below(w, min_size);
			break;
		case 1:
			usize = min_size + below(w, size - min_size + 1);
			break;
		case 2:
			usize = size + extra[below(w, 3)];
			ptr[usize - 1] = 1 + below(w, 255);
			break;
		case 3:
			usize = size + extra[below(w, 3)];
			break;
		default:
			usize = (uint32_t)rnd(w);
			/* Beyond scratch the guard page answers EFAULT */
			ptr = w->guard - size - 8;
			memcpy(ptr, arg, size);
			memset(ptr + size, 0, 8);
			allowed |= E(EFAULT);
			break;
		}
		memcpy(ptr, &usize, sizeof(usize));
		allowed |= E(EINVAL) | E(E2BIG);
		describe_more(w, "  [size %u]", usize);
	} else if (mode < 5) {
		switch (below(w, 3)) {
		case 0:
			ptr = chance(w, 50) ? NULL : (uint8_t *)0xffffffff81000000ULL;
			break;
		case 1:
			/* Reading runs into the guard page */
			ptr = w->guard - 4 - below(w, size - 4);
			memcpy(ptr, arg, w->guard - ptr);
			break;
		default:
			/* Readable, so the call runs, but not writable back */
			memcpy(w->rw_view, arg, size);
			ptr = w->ro_view;
			break;
		}
		allowed |= E(EFAULT);
		describe_more(w, "  [arg %p]", (void *)ptr);
	}

	count_op(w);
	rc = ioctl(s->fd, req, ptr);
	err = rc ? errno : 0;
	fz_result(w, name, err, allowed);
	if (!err && rc != 0)
		violation(w, "%s %s -> returned %d", name, w->desc, rc);
	*outputs = !err && ptr == arg;
	return err;
}

/*
 * The structs' oldest accepted sizes: the whole struct, except for these
 * (up to and including their first __reserved member)
 */
#define HWPT_ALLOC_MIN_SIZE	24
#define HW_INFO_MIN_SIZE	32
#define TEST_CMD_MIN_SIZE	16

#define IOCTL(w, cmd, req, allowed, outputs)                                   \
	fz_ioctl(w, #req, req, &(cmd), sizeof(cmd), sizeof(cmd), allowed,      \
		 outputs)

/* Mostly 0; in a few calls a non-zero __reserved, answered by EOPNOTSUPP */
static uint8_t reserved_value(struct worker *w, errset *allowed)
{
	if (!chance(w, 2))
		return 0;
	*allowed |= E(EOPNOTSUPP);
	return 1 + below(w, 255);
}

static uint32_t pick_flags(struct worker *w, uint32_t known, errset *allowed)
{
	uint32_t flags = rnd(w) & known;

	if (chance(w, 2)) {
		flags |= 1U << below(w, 32);
		*allowed |= E(EOPNOTSUPP);
	}
	return flags;
}

/* The ioctls of iommufd */

static void op_destroy(struct worker *w)
{
	struct iommu_destroy cmd = { .id = pick_id(w, below(w, K_GROUP)) };
	bool out;

	describe(w, "id=%u", cmd.id);
	IOCTL(w, cmd, IOMMU_DESTROY, E(ENOENT) | E(EBUSY), &out);
}

static void op_ioas_alloc(struct worker *w)
{
	struct iommu_ioas_alloc cmd = {};
	errset allowed = 0;
	bool out;

	cmd.flags = pick_flags(w, 0, &allowed);
	describe(w, "flags=%#x", cmd.flags);
	if (!IOCTL(w, cmd, IOMMU_IOAS_ALLOC, allowed, &out) &&
	    out)
		pool_add(w->s, K_IOAS, cmd.out_ioas_id, cmd.out_ioas_id);
}

static void op_iova_ranges(struct worker *w)
{
	struct iommu_ioas_iova_ranges cmd = {
		.ioas_id = pick_id(w, K_IOAS),
		.num_iovas = below(w, 5),
		.allowed_iovas = (uintptr_t)w->scratch,
	};
	errset allowed = E(ENOENT) | E(EMSGSIZE);
	bool out;

	if (chance(w, 3)) {
		cmd.num_iovas = rnd(w);
		cmd.allowed_iovas = chance(w, 50) ? 0 : (uintptr_t)w->guard;
		allowed |= E(EFAULT);
	}
	cmd.__reserved = reserved_value(w, &allowed);
	describe(w, "ioas=%u num_iovas=%u allowed_iovas=%#llx", cmd.ioas_id,
		 cmd.num_iovas, (unsigned long long)cmd.allowed_iovas);
	IOCTL(w, cmd, IOMMU_IOAS_IOVA_RANGES, allowed,
	      &out);
}

static void op_allow_iovas(struct worker *w)
{
	struct iommu_iova_range *ranges = (void *)w->scratch;
	struct iommu_ioas_allow_iovas cmd = {
		.ioas_id = pick_id(w, K_IOAS),
		.num_iovas = chance(w, 25) ? 0 : 1 + below(w, 4),
		.allowed_iovas = (uintptr_t)w->scratch,
	};
	errset allowed = E(ENOENT) | E(EINVAL) | E(EADDRINUSE) | E(EOVERFLOW);
	unsigned int i;
	bool out;

	for (i = 0; i < cmd.num_iovas; i++) {
		ranges[i].start = pick_iova(w);
		ranges[i].last = chance(w, 10) ? UINT64_MAX :
			ranges[i].start + pick_length(w) - 1;
	}
	if (chance(w, 3)) {
		cmd.num_iovas = rnd(w);
		cmd.allowed_iovas = (uintptr_t)w->guard - PAGE;
		allowed |= E(EFAULT);
	}
	cmd.__reserved = reserved_value(w, &allowed);
	describe(w, "ioas=%u num_iovas=%u [%#llx, %#llx]...", cmd.ioas_id,
		 cmd.num_iovas, (unsigned long long)ranges[0].start,
		 (unsigned long long)ranges[0].last);
	IOCTL(w, cmd, IOMMU_IOAS_ALLOW_IOVAS, allowed, &out);
}

static const errset map_errors = E(ENOENT) | E(EINVAL) | E(EEXIST) |
	E(ENOSPC) | E(EOVERFLOW) | E(EFAULT);

static uint32_t pick_map_flags(struct worker *w, errset *allowed)
{
	uint32_t flags = (below(w, 4) << 1) | (chance(w, 50) ?
					       IOMMU_IOAS_MAP_FIXED_IOVA : 0);

	if (chance(w, 2)) {
		flags |= 1U << below(w, 32);
		*allowed |= E(EOPNOTSUPP);
	}
	return flags;
}

static void op_map(struct worker *w)
{
	struct iommu_ioas_map cmd = { .ioas_id = pick_id(w, K_IOAS) };
	errset allowed = map_errors;
	uint64_t backed;
	bool out;

	cmd.user_va = pick_uva(w, &backed);
	if (backed && chance(w, w->s->tidy ? 98 : 85))
		cmd.length = PAGE * (1 + below(w, backed / PAGE));
	else
		cmd.length = pick_length(w);
	if (opt.length_cap && cmd.length >= UNBACKED_MAP_LENGTH_CAP &&
	    cmd.length > backed)
		cmd.length = (cmd.length % UNBACKED_MAP_LENGTH_CAP) ?: PAGE;
	cmd.flags = pick_map_flags(w, &allowed);
	cmd.iova = chance(w, 70) ? (cmd.user_va & (PAGE - 1)) |
					   (pick_iova(w) & ~(PAGE - 1)) :
				   pick_iova(w);
	cmd.__reserved = reserved_value(w, &allowed);
	describe(w, "ioas=%u flags=%#x user_va=%#llx length=%#llx iova=%#llx",
		 cmd.ioas_id, cmd.flags, (unsigned long long)cmd.user_va,
		 (unsigned long long)cmd.length, (unsigned long long)cmd.iova);
	if (!IOCTL(w, cmd, IOMMU_IOAS_MAP, allowed, &out) && out)
		map_add(w->s, cmd.ioas_id, cmd.iova, cmd.length, cmd.user_va);
}

/* Pages of the session's memfd; ops also map past its end */
#define MFD_PAGES	64

static void op_map_file(struct worker *w)
{
	struct iommu_ioas_map_file cmd = { .ioas_id = pick_id(w, K_IOAS) };
	errset allowed = map_errors | E(EBADF);
	struct session *s = w->s;
	uint64_t first;
	bool out;

	if (chance(w, 92)) {
		cmd.fd = s->mfd;
	} else {
		/* Anything else: nothing, iommufd itself, a file no memfd */
		cmd.fd = chance(w, 50) ? -1 : (int)below(w, 64);
	}
	first = below(w, MFD_PAGES);
	cmd.start = first * PAGE;
	if (chance(w, 5))
		cmd.start = chance(w, 50) ? rnd(w) : cmd.start + below(w, PAGE);
	cmd.length = chance(w, 90) ? PAGE * (1 + below(w, MFD_PAGES - first)) :
				     pick_length(w);
	cmd.flags = pick_map_flags(w, &allowed);
	cmd.iova = chance(w, 70) ? (cmd.start & (PAGE - 1)) |
					   (pick_iova(w) & ~(PAGE - 1)) :
				   pick_iova(w);
	describe(w, "ioas=%u flags=%#x fd=%d start=%#llx length=%#llx iova=%#llx",
		 cmd.ioas_id, cmd.flags, cmd.fd,
		 (unsigned long long)cmd.start,
		 (unsigned long long)cmd.length,
		 (unsigned long long)cmd.iova);
	if (!IOCTL(w, cmd, IOMMU_IOAS_MAP_FILE, allowed, &out) && out &&
	    cmd.fd == s->mfd && cmd.start < MFD_PAGES * PAGE)
		map_add(s, cmd.ioas_id, cmd.iova, cmd.length,
			(uintptr_t)s->mfd_va + cmd.start);
}

/*
 * Pins move to the caller: this process (where nothing changes when it
 * owns them already) or, now and then, a forked child that exits at once
 */
static void op_change_process(struct worker *w)
{
	struct iommu_ioas_change_process cmd = {};
	errset allowed = E(EINVAL) | E(ENOMEM);
	bool out;
	pid_t pid;

	cmd.__reserved = reserved_value(w, &allowed);
	if (!chance(w, 10)) {
		describe(w, "in this process");
		IOCTL(w, cmd, IOMMU_IOAS_CHANGE_PROCESS, allowed, &out);
		return;
	}
	describe(w, "in a child");
	cmd.size = sizeof(cmd);
	pid = fork();
	if (!pid) {
		int rc = ioctl(w->s->fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd);

		_exit(rc && !(allowed & E(errno)) ? 1 : 0);
	}
	if (pid > 0) {
		int status;

		if (waitpid(pid, &status, 0) == pid &&
		    (!WIFEXITED(status) || WEXITSTATUS(status)))
			violation(w, "%s in a child: an errno it may not return",
				  "IOMMU_IOAS_CHANGE_PROCESS");
	}
}

/* Truncates the memfd under its mappings and grows it back */
static void op_truncate_memfd(struct worker *w)
{
	off_t len = PAGE * below(w, MFD_PAGES);

	describe(w, "memfd to %#llx bytes and back", (unsigned long long)len);
	if (ftruncate(w->s->mfd, len) || ftruncate(w->s->mfd, MFD_PAGES * PAGE))
		violation(w, "ftruncate: %s", strerror(errno));
}

static void op_copy(struct worker *w)
{
	struct iommu_ioas_copy cmd = { .dst_ioas_id = pick_id(w, K_IOAS) };
	errset allowed = map_errors | E(EPERM);
	struct mapping m = {};
	bool out;

	if (pick_map(w, &m) && chance(w, 85)) {
		uint64_t skip = below(w, m.len / PAGE + 1) * PAGE;

		cmd.src_ioas_id = m.ioas;
		cmd.src_iova = m.iova + (chance(w, 60) ? 0 : skip);
		m.uva += cmd.src_iova - m.iova;
		cmd.length = chance(w, 60) ? m.len : m.len - skip;
		if (chance(w, 10))
			cmd.length += PAGE;
	} else {
		cmd.src_ioas_id = pick_id(w, K_IOAS);
		cmd.src_iova = pick_iova(w);
		cmd.length = pick_length(w);
	}
	cmd.flags = pick_map_flags(w, &allowed);
	cmd.dst_iova = pick_iova(w);
	describe(w,
		 "dst=%u src=%u flags=%#x length=%#llx dst_iova=%#llx src_iova=%#llx",
		 cmd.dst_ioas_id, cmd.src_ioas_id, cmd.flags,
		 (unsigned long long)cmd.length,
		 (unsigned long long)cmd.dst_iova,
		 (unsigned long long)cmd.src_iova);
	if (!IOCTL(w, cmd, IOMMU_IOAS_COPY, allowed, &out) && out)
		map_add(w->s, cmd.dst_ioas_id, cmd.dst_iova, cmd.length,
			m.uva);
}

static void op_unmap(struct worker *w)
{
	struct iommu_ioas_unmap cmd = { .ioas_id = pick_id(w, K_IOAS) };
	struct mapping m;
	bool out;

	if (chance(w, 50) && pick_map(w, &m)) {
		cmd.ioas_id = chance(w, 90) ? m.ioas : cmd.ioas_id;
		cmd.iova = m.iova;
		cmd.length = m.len + (chance(w, 20) ? PAGE * below(w, 3) : 0);
	} else if (chance(w, 15)) {
		cmd.length = UINT64_MAX;
	} else {
		cmd.iova = pick_iova(w);
		cmd.length = pick_length(w);
	}
	describe(w, "ioas=%u iova=%#llx length=%#llx", cmd.ioas_id,
		 (unsigned long long)cmd.iova, (unsigned long long)cmd.length);
	IOCTL(w, cmd, IOMMU_IOAS_UNMAP,
	      E(ENOENT) | E(EINVAL) | E(EOVERFLOW) | E(EBUSY), &out);
}

static void op_option(struct worker *w)
{
	static const uint64_t vals[] = { 0, 1, 2, UINT64_MAX };
	struct iommu_option cmd = {};
	errset allowed = E(EOPNOTSUPP) | E(ENOENT) | E(EPERM) | E(EBUSY) |
			   E(EINVAL) | E(EADDRINUSE);
	bool out;

	cmd.option_id = chance(w, 95) ? below(w, 2) : rnd(w);
	cmd.op = chance(w, 95) ? below(w, 2) : rnd(w);
	cmd.object_id = cmd.option_id == IOMMU_OPTION_RLIMIT_MODE &&
			chance(w, 90) ? 0 : pick_id(w, K_IOAS);
	cmd.val64 = chance(w, 90) ? below(w, 2) : vals[below(w, 4)];
	cmd.__reserved = reserved_value(w, &allowed);
	describe(w, "option=%u op=%u object=%u val64=%#llx", cmd.option_id,
		 cmd.op, cmd.object_id, (unsigned long long)cmd.val64);
	IOCTL(w, cmd, IOMMU_OPTION, allowed, &out);
}

static void op_vfio_ioas(struct worker *w)
{
	struct iommu_vfio_ioas cmd = { .ioas_id = pick_id(w, K_IOAS) };
	errset allowed = E(EOPNOTSUPP) | E(ENOENT) | E(ENODEV);
	bool out;

	cmd.op = chance(w, 95) ? below(w, 3) : rnd(w);
	cmd.__reserved = reserved_value(w, &allowed);
	describe(w, "op=%u ioas=%u", cmd.op, cmd.ioas_id);
	IOCTL(w, cmd, IOMMU_VFIO_IOAS, allowed, &out);
}

static void op_hwpt_alloc(struct worker *w)
{
	struct iommu_hwpt_mock_nested *data = (void *)w->scratch;
	struct iommu_hwpt_alloc cmd = { .dev_id = pick_id(w, K_IDEV) };
	/* A first domain pins what the IOAS maps: GUP's errors too */
	errset allowed = E(ENOENT) | E(EINVAL) | E(EOPNOTSUPP) | E(EFAULT) |
			   E(EADDRINUSE) | E(EBUSY) | E(EOVERFLOW);
	bool nested = chance(w, 40);
	bool out;

	cmd.pt_id = pick_id(w, !nested ? K_IOAS :
			    chance(w, 70) ? K_HWPT_PARENT : K_HWPT_PAGING);
	cmd.flags = pick_flags(w, IOMMU_HWPT_ALLOC_NEST_PARENT |
			       IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &allowed);
	/* Only a nested HWPT takes a FAULT; the others say EOPNOTSUPP */
	if (chance(w, nested ? 50 : 5))
		cmd.flags |= IOMMU_HWPT_FAULT_ID_VALID;
	cmd.fault_id = pick_id(w, K_FAULT);
	memset(data, 0, 64);
	if (nested || chance(w, 5)) {
		cmd.data_type = chance(w, 90) ? IOMMU_HWPT_DATA_SELFTEST :
			chance(w, 50) ? IOMMU_HWPT_DATA_VTD_S1 : rnd(w);
		data->iotlb = rnd(w);
		data->__reserved = reserved_value(w, &allowed);
		cmd.data_len = sizeof(*data);
		cmd.data_uptr = (uintptr_t)data;
		if (chance(w, 5)) {
			cmd.data_len = below(w, 64);
			w->scratch[32] = chance(w, 50);
			allowed |= E(E2BIG);
		}
		if (chance(w, 3))
			cmd.data_uptr = chance(w, 50) ? 0 : (uintptr_t)w->guard;
	}
	cmd.__reserved = reserved_value(w, &allowed);
	describe(w,
		 "flags=%#x dev=%u pt=%u data_type=%#x data_len=%u data_uptr=%#llx fault=%u",
		 cmd.flags, cmd.dev_id, cmd.pt_id,
		 cmd.data_type, cmd.data_len,
		 (unsigned long long)cmd.data_uptr, cmd.fault_id);
	if (fz_ioctl(w, "IOMMU_HWPT_ALLOC", IOMMU_HWPT_ALLOC, &cmd,
		     sizeof(cmd), HWPT_ALLOC_MIN_SIZE, allowed, &out) || !out)
		return;
	pool_add(w->s, nested ? K_HWPT_NESTED : K_HWPT_PAGING,
		 cmd.out_hwpt_id, nested ? 0 : cmd.pt_id);
	if (!nested && (cmd.flags & IOMMU_HWPT_ALLOC_NEST_PARENT))
		pool_add(w->s, K_HWPT_PARENT, cmd.out_hwpt_id, cmd.pt_id);
	if (nested && (cmd.flags & IOMMU_HWPT_FAULT_ID_VALID))
		pool_add(w->s, K_HWPT_FAULT, cmd.out_hwpt_id, 0);
}

static void op_get_hw_info(struct worker *w)
{
	struct iommu_hw_info cmd = {
		.dev_id = pick_id(w, K_IDEV),
		.data_len = chance(w, 20) ? 0 : below(w, 64),
		.data_uptr = (uintptr_t)w->scratch,
	};
	errset allowed = E(ENOENT) | E(EOPNOTSUPP);
	bool out;

	if (chance(w, 3)) {
		cmd.data_len = rnd(w);
		cmd.data_uptr = chance(w, 50) ? 0 : (uintptr_t)w->guard - 8;
		allowed |= E(EFAULT);
	}
	cmd.flags = pick_flags(w, 0, &allowed);
	cmd.__reserved[below(w, 3)] = reserved_value(w, &allowed);
	describe(w, "dev=%u flags=%#x data_len=%u data_uptr=%#llx", cmd.dev_id,
		 cmd.flags, cmd.data_len, (unsigned long long)cmd.data_uptr);
	fz_ioctl(w, "IOMMU_GET_HW_INFO", IOMMU_GET_HW_INFO, &cmd, sizeof(cmd),
		 HW_INFO_MIN_SIZE, allowed, &out);
}

static void op_set_dirty_tracking(struct worker *w)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.hwpt_id = pick_id(w, K_HWPT_PAGING),
	};
	errset allowed = E(ENOENT) | E(EOPNOTSUPP) | E(EINVAL);
	bool out;

	cmd.flags = pick_flags(w, IOMMU_HWPT_DIRTY_TRACKING_ENABLE, &allowed);
	cmd.__reserved = reserved_value(w, &allowed);
	describe(w, "hwpt=%u flags=%#x", cmd.hwpt_id, cmd.flags);
	IOCTL(w, cmd, IOMMU_HWPT_SET_DIRTY_TRACKING, allowed, &out);
}

static void op_get_dirty_bitmap(struct worker *w)
{
	static const uint64_t page_sizes[] = { PAGE, PAGE / 2, SZ_2M, 0, 3 };
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.hwpt_id = pick_id(w, K_HWPT_PAGING),
		.data = (uintptr_t)w->bitmap,
	};
	errset allowed = E(ENOENT) | E(EOPNOTSUPP) | E(EINVAL) |
			   E(EOVERFLOW) | E(EFAULT);
	struct mapping m;
	bool out;

	if (chance(w, 70) && pick_map(w, &m)) {
		cmd.hwpt_id = pick_id_on(w, K_HWPT_PAGING, m.ioas);
		cmd.iova = m.iova;
		cmd.length = m.len;
	} else {
		cmd.iova = pick_iova(w);
		cmd.length = pick_length(w);
	}
	cmd.page_size = chance(w, 90) ? page_sizes[below(w, 5)] : rnd(w);
	if (chance(w, 3))
		cmd.data = chance(w, 50) ? 0 : rnd(w);
	cmd.flags = pick_flags(w, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR,
			       &allowed);
	cmd.__reserved = reserved_value(w, &allowed);
	describe(w,
		 "hwpt=%u flags=%#x iova=%#llx length=%#llx page_size=%#llx data=%#llx",
		 cmd.hwpt_id, cmd.flags,
		 (unsigned long long)cmd.iova, (unsigned long long)cmd.length,
		 (unsigned long long)cmd.page_size,
		 (unsigned long long)cmd.data);
	IOCTL(w, cmd, IOMMU_HWPT_GET_DIRTY_BITMAP, allowed, &out);
}

static void op_hwpt_invalidate(struct worker *w)
{
	struct iommu_hwpt_mock_invalidate *inv = (void *)w->scratch;
	struct iommu_hwpt_invalidate cmd = {
		.hwpt_id = pick_id(w, K_HWPT_NESTED),
		.data_uptr = (uintptr_t)w->scratch,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		.entry_len = sizeof(*inv),
		.entry_num = below(w, 5),
	};
	errset allowed = E(ENOENT) | E(EOPNOTSUPP) | E(EINVAL) | E(EFAULT);
	unsigned int i;
	bool out;

	memset(w->scratch, 0, 1024);
	for (i = 0; i < 8; i++) {
		inv[i].iotlb = chance(w, 10) ? 0 : rnd(w);
		inv[i].flags = chance(w, 3) ? rnd(w) : 0;
	}
	if (chance(w, 10)) {
		cmd.data_type = chance(w, 50) ? IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 :
						(uint32_t)rnd(w);
	}
	if (chance(w, 5)) {
		/* Longer entries than the kernel knows: their tail must be 0 */
		cmd.entry_len = below(w, 64);
		w->scratch[12] = chance(w, 50);
		allowed |= E(E2BIG);
	}
	if (chance(w, 3)) {
		cmd.entry_num = rnd(w);
		cmd.data_uptr = chance(w, 30) ? 0 : (uintptr_t)w->guard - 16;
	}
	cmd.__reserved = reserved_value(w, &allowed);
	describe(w,
		 "hwpt=%u data_type=%#x entry_len=%u entry_num=%u data_uptr=%#llx",
		 cmd.hwpt_id, cmd.data_type, cmd.entry_len,
		 cmd.entry_num, (unsigned long long)cmd.data_uptr);
	IOCTL(w, cmd, IOMMU_HWPT_INVALIDATE, allowed, &out);
}

/* FAULT objects and their files */

/* Keeps a new FAULT file for the ops below, or closes it if none is free */
static void fault_file_add(struct session *s, int fd, uint32_t id)
{
	unsigned int i;

	pthread_rwlock_wrlock(&s->fault_lock);
	for (i = 0; i < FAULT_FILES && s->faults[i].fd >= 0; i++)
		;
	if (i < FAULT_FILES) {
		s->faults[i].fd = fd;
		s->faults[i].id = id;
	} else {
		close(fd);
	}
	pthread_rwlock_unlock(&s->fault_lock);
}

/*
 * A FAULT file of the session, with fault_lock held for reading until
 * fault_file_put(); -1 (and no lock) if the session has none
 */
static int fault_file_get(struct worker *w)
{
	struct session *s = w->s;
	unsigned int i, start = below(w, FAULT_FILES);

	pthread_rwlock_rdlock(&s->fault_lock);
	for (i = 0; i < FAULT_FILES; i++)
		if (s->faults[(start + i) % FAULT_FILES].fd >= 0)
			return s->faults[(start + i) % FAULT_FILES].fd;
	pthread_rwlock_unlock(&s->fault_lock);
	return -1;
}

static void fault_file_put(struct worker *w)
{
	pthread_rwlock_unlock(&w->s->fault_lock);
}

static void cookie_add(struct session *s, int fd, uint32_t cookie)
{
	pthread_mutex_lock(&s->lock);
	s->cookies[s->ncookies % COOKIES_SIZE].fd = fd;
	s->cookies[s->ncookies++ % COOKIES_SIZE].cookie = cookie;
	pthread_mutex_unlock(&s->lock);
}

/*
 * Mostly a cookie read from @fd, answered already or not; sometimes one of
 * another file, 0 or random
 */
static uint32_t pick_cookie(struct worker *w, int fd)
{
	struct session *s = w->s;
	unsigned int i, n, start;
	uint32_t cookie = 0;

	if (chance(w, 10))
		return chance(w, 30) ? 0 : (uint32_t)rnd(w);
	pthread_mutex_lock(&s->lock);
	n = s->ncookies < COOKIES_SIZE ? s->ncookies : COOKIES_SIZE;
	start = below(w, n);
	for (i = 0; i < n; i++) {
		cookie = s->cookies[(start + i) % n].cookie;
		if (s->cookies[(start + i) % n].fd == fd || chance(w, 10))
			break;
	}
	pthread_mutex_unlock(&s->lock);
	return cookie;
}

static void op_fault_alloc(struct worker *w)
{
	struct iommu_fault_alloc cmd = {};
	errset allowed = 0;
	bool out;

	cmd.flags = pick_flags(w, 0, &allowed);
	describe(w, "flags=%#x", cmd.flags);
	/*
	 * A file made by a call whose outputs went elsewhere (a mangled
	 * argument) is closed when the session ends
	 */
	if (IOCTL(w, cmd, IOMMU_FAULT_QUEUE_ALLOC, allowed, &out) || !out)
		return;
	if ((int)cmd.out_fault_fd < 0 || !cmd.out_fault_id)
		violation(w, "IOMMU_FAULT_QUEUE_ALLOC %s -> fd %d, id %u",
			  w->desc, cmd.out_fault_fd, cmd.out_fault_id);
	pool_add(w->s, K_FAULT, cmd.out_fault_id, 0);
	fault_file_add(w->s, cmd.out_fault_fd, cmd.out_fault_id);
}

/*
 * What a read returned: whole records, each group's records together
 * under one cookie, only the last of a group flagged LAST_PAGE
 */
static void fault_records_check(struct worker *w, int fd,
				const struct iommu_hwpt_pgfault *pgf,
				unsigned int n)
{
	const uint32_t known = IOMMU_PGFAULT_FLAGS_PASID_VALID |
			       IOMMU_PGFAULT_FLAGS_LAST_PAGE;
	unsigned int i;

	for (i = 0; i < n; i++) {
		bool last = pgf[i].flags & IOMMU_PGFAULT_FLAGS_LAST_PAGE;
		bool ends = i + 1 == n || pgf[i + 1].cookie != pgf[i].cookie;

		if ((pgf[i].flags & ~known) || !pgf[i].cookie ||
		    last != ends ||
		    (!ends && pgf[i + 1].grpid != pgf[i].grpid)) {
			violation(w, "%s -> record %u/%u: flags %#x grpid %u cookie %u",
				  w->desc, i, n, pgf[i].flags, pgf[i].grpid,
				  pgf[i].cookie);
			return;
		}
		if (ends)
			cookie_add(w->s, fd, pgf[i].cookie);
	}
}

/*
 * read() of a FAULT file: whole records, or a length that is not (ESPIPE),
 * 0, too small for the first group (EINVAL), or a buffer that cannot be
 * written (EFAULT); pread has no position to read at (ESPIPE)
 */
static void op_fault_read(struct worker *w)
{
	const unsigned int max = 32;
	errset allowed = E(EINVAL);
	uint8_t *buf = w->scratch;
	bool positioned = false;
	size_t len;
	ssize_t got;
	int fd, err;

	len = PGF_SIZE * (1 + below(w, max));
	switch (below(w, 10)) {
	case 0:
		len = 0;
		break;
	case 1:
		len += 1 + below(w, PGF_SIZE - 1);
		allowed |= E(ESPIPE);
		break;
	case 2:
		len = 1 + below(w, PGF_SIZE - 1);
		allowed |= E(ESPIPE);
		break;
	case 3:
		/* Runs into the guard page after a record or two */
		len = PGF_SIZE * (1 + below(w, 4));
		buf = w->guard - PGF_SIZE * below(w, 3);
		allowed |= E(EFAULT);
		break;
	case 4:
		len = PGF_SIZE * (1 + below(w, 4));
		buf = w->ro_view;
		allowed |= E(EFAULT);
		break;
	case 5:
		positioned = true;
		allowed |= E(ESPIPE);
		break;
	}
	fd = fault_file_get(w);
	if (fd < 0)
		return;
	describe(w, "read(FAULT fd %d, %s, %zu)%s", fd,
		 buf == w->scratch ? "buf" : "unwritable", len,
		 positioned ? " at 0" : "");
	count_op(w);
	got = positioned ? pread(fd, buf, len, 0) : read(fd, buf, len);
	err = got < 0 ? errno : 0;
	fz_result(w, "read", err, allowed);
	if (got > 0 && (got % PGF_SIZE || (size_t)got > len))
		violation(w, "%s -> %zd bytes", w->desc, got);
	else if (got > 0 && buf == w->scratch)
		fault_records_check(w, fd, (void *)buf, got / PGF_SIZE);
	fault_file_put(w);
}

/*
 * write() of answers: cookies read or not, answered or not; codes valid
 * or not (EINVAL for the first bad one); lengths and buffers as for read
 */
static void op_fault_write(struct worker *w)
{
	struct iommu_hwpt_page_response *resp = (void *)w->scratch;
	unsigned int n = below(w, 5), i;
	errset allowed = E(EINVAL);
	uint8_t *buf = w->scratch;
	size_t len = n * RESP_SIZE;
	ssize_t got;
	int fd, err;

	fd = fault_file_get(w);
	if (fd < 0)
		return;
	for (i = 0; i < n; i++) {
		resp[i].cookie = pick_cookie(w, fd);
		resp[i].code = chance(w, 95) ? below(w, 2) : (uint32_t)rnd(w);
	}
	switch (below(w, 10)) {
	case 0:
		len += 1 + below(w, RESP_SIZE - 1);
		allowed |= E(ESPIPE);
		break;
	case 1:
		/* The answers end in the guard page */
		buf = w->guard - RESP_SIZE * below(w, 2) - below(w, 4);
		memmove(buf, resp, w->guard - buf < (long)len ?
			(size_t)(w->guard - buf) : len);
		allowed |= E(EFAULT);
		break;
	}
	describe(w, "write(FAULT fd %d, %u answers, first cookie %u code %u, %zu)",
		 fd, n, n ? resp[0].cookie : 0, n ? resp[0].code : 0, len);
	count_op(w);
	got = write(fd, buf, len);
	err = got < 0 ? errno : 0;
	fz_result(w, "write", err, allowed);
	if (got >= 0 && (got % RESP_SIZE || (size_t)got > len))
		violation(w, "%s -> %zd bytes", w->desc, got);
	fault_file_put(w);
}

/* poll() of every FAULT file: always writable, readable or not */
static void op_fault_poll(struct worker *w)
{
	const short known = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
	struct session *s = w->s;
	struct pollfd pfd[FAULT_FILES];
	unsigned int i, n = 0;
	int rc;

	pthread_rwlock_rdlock(&s->fault_lock);
	for (i = 0; i < FAULT_FILES; i++)
		if (s->faults[i].fd >= 0)
			pfd[n++] = (struct pollfd){
				.fd = s->faults[i].fd,
				.events = POLLIN | POLLOUT,
			};
	describe(w, "poll(%u FAULT files)", n);
	count_op(w);
	rc = poll(pfd, n, 0);
	fz_result(w, "poll", rc < 0 ? errno : 0, 0);
	for (i = 0; rc >= 0 && i < n; i++) {
		if ((pfd[i].revents & ~known) || !(pfd[i].revents & POLLOUT)) {
			violation(w, "poll(FAULT fd %d) -> revents %#x",
				  pfd[i].fd, pfd[i].revents);
			break;
		}
	}
	pthread_rwlock_unlock(&s->fault_lock);
}

/*
 * Closes a FAULT file, maybe while its faults are queued or read and a
 * racing thread attaches, requests or answers; then perhaps destroys the
 * object, which a HWPT may still hold (EBUSY)
 */
static void op_fault_close(struct worker *w)
{
	struct session *s = w->s;
	struct iommu_destroy cmd = {};
	unsigned int i, start = below(w, FAULT_FILES);
	bool out;
	int fd = -1;

	pthread_rwlock_wrlock(&s->fault_lock);
	for (i = 0; i < FAULT_FILES && fd < 0; i++) {
		fd = s->faults[(start + i) % FAULT_FILES].fd;
		cmd.id = s->faults[(start + i) % FAULT_FILES].id;
		s->faults[(start + i) % FAULT_FILES].fd = -1;
	}
	if (fd >= 0) {
		describe(w, "close(FAULT fd %d) of FAULT %u", fd, cmd.id);
		count_op(w);
		fz_result(w, "close", close(fd) ? errno : 0, 0);
	}
	pthread_rwlock_unlock(&s->fault_lock);
	if (fd < 0 || chance(w, 50))
		return;
	describe(w, "id=%u (its file closed)", cmd.id);
	IOCTL(w, cmd, IOMMU_DESTROY, E(ENOENT) | E(EBUSY), &out);
}

/* Command numbers iommufd does not have, or real ones encoded wrongly */
static void op_unknown_ioctl(struct worker *w)
{
	uint64_t arg[8] = { sizeof(arg) };
	unsigned int nr = below(w, 256);
	unsigned long req;
	bool out;

	/* VFIO's container ioctls share the type from 100 on: not unknown */
	if (nr >= 100 && nr < IOMMUFD_CMD_BASE)
		nr -= 100;
	if ((nr >= IOMMUFD_CMD_BASE && nr <= IOMMUFD_CMD_FAULT_QUEUE_ALLOC) ||
	    nr == IOMMUFD_CMD_IOAS_MAP_FILE ||
	    nr == IOMMUFD_CMD_IOAS_CHANGE_PROCESS)
		req = _IOWR(IOMMUFD_TYPE, nr, uint64_t);
	else if (nr == IOMMUFD_CMD_TEST_CMD)
		req = _IOR(IOMMUFD_TYPE, nr, uint32_t);
	else
		req = _IO(IOMMUFD_TYPE, nr);
	describe(w, "request=%#lx", req);
	fz_ioctl(w, "unknown", req, arg, sizeof(arg), 4, E(ENOTTY), &out);
}

/* The operations of the mock driver: IOMMU_TEST_CMD */

static int test_cmd(struct worker *w, const char *name,
		    struct iommu_test_cmd *cmd, errset allowed, bool *out)
{
	char what[sizeof(w->desc)];
	size_t n;

	cmd->__reserved = reserved_value(w, &allowed);
	n = snprintf(what, sizeof(what), "%s id=%u ", name, cmd->id);
	strncat(what, w->desc, sizeof(what) - n - 1);
	memcpy(w->desc, what, sizeof(what));
	return fz_ioctl(w, "IOMMU_TEST_CMD", IOMMU_TEST_CMD, cmd, sizeof(*cmd),
			TEST_CMD_MIN_SIZE, allowed, out);
}

/*
 * Whatever translates for a mock device: its mock domain, device or HWPT;
 * for a mapping of @ioas, mostly one that has it
 */
static uint32_t pick_translation(struct worker *w, uint32_t ioas)
{
	static const enum kind kinds[] = {
		K_MOCK_DOMAIN, K_HWPT_PAGING, K_MOCK_DEV, K_HWPT_NESTED,
	};
	enum kind k = kinds[below(w, 4)];

	return ioas && k <= K_HWPT_PAGING ? pick_id_on(w, k, ioas) :
					    pick_id(w, k);
}

static void op_mock_domain(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pick_id(w, K_IOAS),
	};
	/*
	 * A first domain pins what the IOAS maps; a range that ends at the
	 * top of the address space is EOVERFLOW to GUP, as in 6.12
	 */
	errset allowed = E(ENOENT) | E(EADDRINUSE) | E(EINVAL) | E(EFAULT) |
			 E(EOVERFLOW);
	bool out;

	cmd.mock_domain.flags = pick_flags(w, MOCK_DOMAIN_NO_HUGE_PAGES |
					   MOCK_DOMAIN_SMALL_APERTURE, &allowed);
	describe(w, "flags=%#x", cmd.mock_domain.flags);
	if (!test_cmd(w, "MOCK_DOMAIN", &cmd, allowed, &out) && out)
		pool_add(w->s, K_MOCK_DOMAIN, cmd.mock_domain.out_mock_id,
			 cmd.id);
}

static void op_md_check_map(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_MAP,
	};
	errset allowed = E(ENOENT) | E(EINVAL) | E(EFAULT) | E(EOVERFLOW) |
			   E(ENXIO);
	uint64_t backed;
	struct mapping m;
	bool out;

	if (pick_map(w, &m) && chance(w, 80)) {
		cmd.id = pick_translation(w, m.ioas);
		cmd.check_map.iova = m.iova;
		cmd.check_map.length = chance(w, 80) ? m.len : pick_length(w);
		cmd.check_map.uptr = m.uva;
	} else {
		cmd.id = pick_translation(w, 0);
		cmd.check_map.iova = pick_iova(w);
		cmd.check_map.length = pick_length(w);
		cmd.check_map.uptr = pick_uva(w, &backed);
	}
	cmd.check_map.prot = below(w, 4);
	describe(w, "iova=%#llx length=%#llx uptr=%#llx prot=%u",
		 (unsigned long long)cmd.check_map.iova,
		 (unsigned long long)cmd.check_map.length,
		 (unsigned long long)cmd.check_map.uptr, cmd.check_map.prot);
	test_cmd(w, "MD_CHECK_MAP", &cmd, allowed, &out);
}

static void op_md_check_unmapped(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_UNMAPPED,
		.id = pick_translation(w, 0),
		.check_unmapped = { .iova = pick_iova(w),
				    .length = pick_length(w) },
	};
	bool out;

	describe(w, "iova=%#llx length=%#llx",
		 (unsigned long long)cmd.check_unmapped.iova,
		 (unsigned long long)cmd.check_unmapped.length);
	test_cmd(w, "MD_CHECK_UNMAPPED", &cmd, E(ENOENT) | E(EEXIST) |
		 E(EINVAL) | E(EOVERFLOW) | E(ENXIO), &out);
}

static void op_check_pins(struct worker *w)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_CHECK_PINS };
	errset allowed = E(EINVAL) | E(EFAULT) | E(EOVERFLOW);
	uint64_t backed;
	bool out;

	cmd.check_pins.uptr = pick_uva(w, &backed);
	cmd.check_pins.length = backed && chance(w, 80) ?
		PAGE * (1 + below(w, backed / PAGE)) : pick_length(w);
	cmd.check_pins.pins = below(w, 3);
	cmd.check_pins.__reserved = reserved_value(w, &allowed);
	describe(w, "uptr=%#llx length=%#llx pins=%u",
		 (unsigned long long)cmd.check_pins.uptr,
		 (unsigned long long)cmd.check_pins.length, cmd.check_pins.pins);
	test_cmd(w, "CHECK_PINS", &cmd, allowed, &out);
}

static void op_add_reserved(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ADD_RESERVED, .id = pick_id(w, K_IOAS),
		.add_reserved = { .start = pick_iova(w),
				  .length = pick_length(w) },
	};
	bool out;

	describe(w, "start=%#llx length=%#llx",
		 (unsigned long long)cmd.add_reserved.start,
		 (unsigned long long)cmd.add_reserved.length);
	test_cmd(w, "ADD_RESERVED", &cmd, E(ENOENT) | E(EINVAL) |
		 E(EOVERFLOW) | E(EADDRINUSE), &out);
}

static void op_pin_batch(struct worker *w)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_SET_PIN_BATCH };
	errset allowed = 0;
	bool out;

	cmd.pin_batch.pages = chance(w, 30) ? 0 : 1 + below(w, 64);
	cmd.pin_batch.__reserved = reserved_value(w, &allowed);
	describe(w, "pages=%u", cmd.pin_batch.pages);
	test_cmd(w, "SET_PIN_BATCH", &cmd, allowed, &out);
}

static void op_accounting(struct worker *w)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_ACCOUNTING };
	bool out;

	describe(w, "");
	test_cmd(w, "ACCOUNTING", &cmd, 0, &out);
}

static void op_mock_device_add(struct worker *w)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MOCK_DEVICE_ADD };
	errset allowed = E(ENOENT) | E(EINVAL) | E(EBUSY);
	bool out;

	cmd.mock_device.flags = pick_flags(w, MOCK_DEVICE_ENFORCE_COHERENCY |
					   MOCK_DEVICE_DIRTY_TRACKING |
					   MOCK_DEVICE_NO_RESV_REGION |
					   MOCK_DEVICE_IOPF, &allowed);
	/* Devices that issue page requests are the FAULT ops' material */
	if (chance(w, 30))
		cmd.mock_device.flags |= MOCK_DEVICE_IOPF;
	cmd.mock_device.driver = chance(w, 80) ? MOCK_DRIVER_IOMMUFD :
				 chance(w, 95) ? below(w, 3) : rnd(w);
	if (cmd.mock_device.driver > MOCK_DRIVER_DMA_API)
		allowed |= E(EOPNOTSUPP);
	cmd.mock_device.group = chance(w, 50) ? 0 : pick_id(w, K_GROUP);
	cmd.mock_device.__reserved = reserved_value(w, &allowed);
	cmd.mock_device.__reserved2 = reserved_value(w, &allowed);
	describe(w, "flags=%#x driver=%u group=%u", cmd.mock_device.flags,
		 cmd.mock_device.driver, cmd.mock_device.group);
	if (test_cmd(w, "MOCK_DEVICE_ADD", &cmd, allowed, &out) || !out)
		return;
	pool_add(w->s, K_MOCK_DEV, cmd.mock_device.out_mock_dev_id, 0);
	if (cmd.mock_device.flags & MOCK_DEVICE_IOPF)
		pool_add(w->s, K_IOPF_DEV, cmd.mock_device.out_mock_dev_id, 0);
	pool_add(w->s, K_GROUP, cmd.mock_device.out_group, 0);
	if (cmd.mock_device.out_idev_id)
		pool_add(w->s, K_IDEV, cmd.mock_device.out_idev_id, 0);
}

static void op_mock_device_attach(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = chance(w, 50) ? IOMMU_TEST_OP_MOCK_DEVICE_ATTACH :
				      IOMMU_TEST_OP_MOCK_DEVICE_REPLACE,
		.id = pick_id(w, K_MOCK_DEV),
	};
	bool ioas = chance(w, 50), out;
	static const enum kind kinds[] = { K_HWPT_PAGING, K_HWPT_NESTED,
					   K_HWPT_FAULT };

	cmd.mock_attach.pt_id = pick_id(w, ioas ? K_IOAS : kinds[below(w, 3)]);
	describe(w, "pt=%u", cmd.mock_attach.pt_id);
	if (!test_cmd(w, cmd.op == IOMMU_TEST_OP_MOCK_DEVICE_ATTACH ?
		      "MOCK_DEVICE_ATTACH" : "MOCK_DEVICE_REPLACE", &cmd,
		      E(ENOENT) | E(EINVAL) | E(EFAULT) | E(EADDRINUSE) |
		      E(EBUSY) | E(EOPNOTSUPP) | E(EOVERFLOW) | E(ENODEV),
		      &out) &&
	    out && ioas)
		pool_add(w->s, K_HWPT_PAGING, cmd.mock_attach.out_hwpt_id,
			 cmd.mock_attach.pt_id);
}

static void op_mock_device_detach(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DEVICE_DETACH,
		.id = pick_id(w, K_MOCK_DEV),
	};
	bool out;

	describe(w, "");
	test_cmd(w, "MOCK_DEVICE_DETACH", &cmd, E(ENOENT) | E(EINVAL), &out);
}

static void op_mock_device_domain(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DEVICE_DOMAIN,
		.id = pick_translation(w, 0),
	};
	bool out;

	describe(w, "");
	test_cmd(w, "MOCK_DEVICE_DOMAIN", &cmd, E(ENOENT), &out);
}

static void op_mock_dma_write(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DMA_WRITE,
	};
	struct mapping m = {};
	bool out;

	if (pick_map(w, &m) && chance(w, 80)) {
		cmd.id = pick_translation(w, m.ioas);
		cmd.dma_write.iova = m.iova;
		cmd.dma_write.length = chance(w, 80) ? m.len : pick_length(w);
	} else {
		cmd.id = pick_translation(w, 0);
		cmd.dma_write.iova = pick_iova(w);
		cmd.dma_write.length = pick_length(w);
	}
	describe(w, "iova=%#llx length=%#llx",
		 (unsigned long long)cmd.dma_write.iova,
		 (unsigned long long)cmd.dma_write.length);
	test_cmd(w, "MOCK_DMA_WRITE", &cmd, E(ENOENT) | E(EFAULT) | E(EINVAL) |
		 E(EOVERFLOW), &out);
}

static void op_try_dma_api(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DEVICE_TRY_DMA_API,
		.id = pick_id(w, K_MOCK_DEV),
	};
	bool out;

	describe(w, "");
	test_cmd(w, "MOCK_DEVICE_TRY_DMA_API", &cmd,
		 E(ENOENT) | E(EINVAL) | E(EBUSY), &out);
}

/*
 * A device with MOCK_DEVICE_IOPF (mostly) to a nested HWPT with a FAULT
 * (mostly), or away from it by replace or detach; a device without IOPF
 * is refused such a HWPT (ENODEV)
 */
static void op_iopf_attach(struct worker *w)
{
	static const uint32_t test_ops[] = {
		IOMMU_TEST_OP_MOCK_DEVICE_ATTACH,
		IOMMU_TEST_OP_MOCK_DEVICE_REPLACE,
		IOMMU_TEST_OP_MOCK_DEVICE_DETACH,
	};
	static const char *const names[] = {
		"MOCK_DEVICE_ATTACH", "MOCK_DEVICE_REPLACE",
		"MOCK_DEVICE_DETACH",
	};
	unsigned int which = below(w, 3);
	struct iommu_test_cmd cmd = {
		.op = test_ops[which],
		.id = pick_id(w, chance(w, 85) ? K_IOPF_DEV : K_MOCK_DEV),
	};
	bool out;

	if (which != 2)
		cmd.mock_attach.pt_id = pick_id(w, chance(w, 70) ? K_HWPT_FAULT :
					chance(w, 50) ? K_HWPT_NESTED : K_IOAS);
	describe(w, "pt=%u", cmd.mock_attach.pt_id);
	test_cmd(w, names[which], &cmd, E(ENOENT) | E(EINVAL) | E(EFAULT) |
		 E(EADDRINUSE) | E(EBUSY) | E(EOPNOTSUPP) | E(EOVERFLOW) |
		 E(ENODEV), &out);
}

/*
 * A page request of a mock device: a whole group or part of one, with or
 * without a PASID; refused (EINVAL) while its faults are off or when no
 * handler takes it, EOPNOTSUPP for an unknown flag
 */
static void op_page_request(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DEVICE_PAGE_REQUEST,
		.id = pick_id(w, chance(w, 85) ? K_IOPF_DEV : K_MOCK_DEV),
	};
	errset allowed = E(ENOENT) | E(EINVAL);
	bool out;

	cmd.page_request.flags = chance(w, 60) ? MOCK_PAGE_REQUEST_LAST : 0;
	if (chance(w, 10))
		cmd.page_request.flags |= MOCK_PAGE_REQUEST_PASID;
	cmd.page_request.flags |= pick_flags(w, 0, &allowed);
	cmd.page_request.grpid = chance(w, 90) ? below(w, 4) : (uint32_t)rnd(w);
	cmd.page_request.pasid = chance(w, 80) ? below(w, 3) : (uint32_t)rnd(w);
	cmd.page_request.perm = chance(w, 90) ? below(w, 8) : (uint32_t)rnd(w);
	cmd.page_request.addr = pick_iova(w);
	describe(w, "flags=%#x grpid=%u pasid=%u perm=%#x addr=%#llx",
		 cmd.page_request.flags, cmd.page_request.grpid,
		 cmd.page_request.pasid, cmd.page_request.perm,
		 (unsigned long long)cmd.page_request.addr);
	test_cmd(w, "MOCK_DEVICE_PAGE_REQUEST", &cmd, allowed, &out);
}

/* Takes the oldest answer a mock device got: a code the core knows */
static void op_page_response(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DEVICE_PAGE_RESPONSE,
		.id = pick_id(w, chance(w, 85) ? K_IOPF_DEV : K_MOCK_DEV),
	};
	bool out;

	describe(w, "");
	if (test_cmd(w, "MOCK_DEVICE_PAGE_RESPONSE", &cmd, E(ENOENT), &out) ||
	    !out)
		return;
	/* SUCCESS, INVALID, or the core's own FAILURE */
	if (cmd.page_response.out_responses > MOCK_PAGE_RESPONSES ||
	    cmd.page_response.out_iopf_enabled > 1 ||
	    (cmd.page_response.out_responses && cmd.page_response.out_code > 2))
		violation(w, "MOCK_DEVICE_PAGE_RESPONSE %s -> responses %u, iopf %u, code %u",
			  w->desc, cmd.page_response.out_responses,
			  cmd.page_response.out_iopf_enabled,
			  cmd.page_response.out_code);
}

/*
 * The way a VMM sets up I/O page faults, with valid arguments, so that
 * the ops above find devices that fault: a device with MOCK_DEVICE_IOPF,
 * a NEST_PARENT HWPT on an IOAS, a FAULT (one the session keeps, or a
 * new one), a nested HWPT reporting to it, and the device attached
 */
static void op_iopf_chain(struct worker *w)
{
	struct iommu_hwpt_mock_nested *data = (void *)w->scratch;
	struct iommu_test_cmd dev = {
		.op = IOMMU_TEST_OP_MOCK_DEVICE_ADD,
		.mock_device = {
			.flags = MOCK_DEVICE_IOPF,
			.driver = MOCK_DRIVER_IOMMUFD,
		},
	};
	struct iommu_hwpt_alloc hwpt = {
		.flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
		.pt_id = pick_id(w, K_IOAS),
	};
	struct iommu_test_cmd attach = {
		.op = IOMMU_TEST_OP_MOCK_DEVICE_ATTACH,
	};
	struct iommu_fault_alloc fault = {};
	const errset hwpt_errors = E(ENOENT) | E(EINVAL) | E(EOPNOTSUPP) |
				   E(EFAULT) | E(EADDRINUSE) | E(EBUSY) |
				   E(EOVERFLOW);
	uint32_t fault_id = 0;
	int fd;
	bool out;

	describe(w, "iopf chain: flags=%#x", dev.mock_device.flags);
	if (test_cmd(w, "MOCK_DEVICE_ADD", &dev, E(EBUSY), &out) || !out)
		return;
	pool_add(w->s, K_MOCK_DEV, dev.mock_device.out_mock_dev_id, 0);
	pool_add(w->s, K_IOPF_DEV, dev.mock_device.out_mock_dev_id, 0);

	hwpt.dev_id = dev.mock_device.out_idev_id;
	describe(w, "iopf chain: parent on ioas=%u dev=%u", hwpt.pt_id,
		 hwpt.dev_id);
	if (fz_ioctl(w, "IOMMU_HWPT_ALLOC", IOMMU_HWPT_ALLOC, &hwpt,
		     sizeof(hwpt), HWPT_ALLOC_MIN_SIZE, hwpt_errors, &out) ||
	    !out)
		return;
	pool_add(w->s, K_HWPT_PAGING, hwpt.out_hwpt_id, hwpt.pt_id);
	pool_add(w->s, K_HWPT_PARENT, hwpt.out_hwpt_id, hwpt.pt_id);

	fd = fault_file_get(w);
	if (fd >= 0) {
		fault_id = pick_id(w, K_FAULT);
		fault_file_put(w);
	}
	if (!fault_id || chance(w, 30)) {
		describe(w, "iopf chain: new FAULT");
		if (IOCTL(w, fault, IOMMU_FAULT_QUEUE_ALLOC, 0, &out) || !out)
			return;
		pool_add(w->s, K_FAULT, fault.out_fault_id, 0);
		fault_file_add(w->s, fault.out_fault_fd, fault.out_fault_id);
		fault_id = fault.out_fault_id;
	}

	*data = (struct iommu_hwpt_mock_nested){ .iotlb = rnd(w) };
	hwpt = (struct iommu_hwpt_alloc){
		.flags = IOMMU_HWPT_FAULT_ID_VALID,
		.dev_id = dev.mock_device.out_idev_id,
		.pt_id = hwpt.out_hwpt_id,
		.data_type = IOMMU_HWPT_DATA_SELFTEST,
		.data_len = sizeof(*data),
		.data_uptr = (uintptr_t)data,
		.fault_id = fault_id,
	};
	describe(w, "iopf chain: nested on parent=%u fault=%u", hwpt.pt_id,
		 fault_id);
	/* The FAULT may be one another thread destroyed meanwhile */
	if (fz_ioctl(w, "IOMMU_HWPT_ALLOC", IOMMU_HWPT_ALLOC, &hwpt,
		     sizeof(hwpt), HWPT_ALLOC_MIN_SIZE, hwpt_errors, &out) ||
	    !out)
		return;
	pool_add(w->s, K_HWPT_NESTED, hwpt.out_hwpt_id, 0);
	pool_add(w->s, K_HWPT_FAULT, hwpt.out_hwpt_id, 0);

	attach.id = dev.mock_device.out_mock_dev_id;
	attach.mock_attach.pt_id = hwpt.out_hwpt_id;
	describe(w, "iopf chain: pt=%u", hwpt.out_hwpt_id);
	/*
	 * Its reserved region may clash with what the IOAS maps. And the
	 * device may be gone by now: another thread can destroy it, and a
	 * third add a device without MOCK_DEVICE_IOPF that gets the freed
	 * ID (IDs are reused lowest first), which a FAULT HWPT refuses with
	 * ENODEV.
	 */
	test_cmd(w, "MOCK_DEVICE_ATTACH", &attach, E(ENOENT) | E(EINVAL) |
		 E(EFAULT) | E(EBUSY) | E(EADDRINUSE) | E(ENODEV), &out);
}

static const errset access_attach_errors = E(ENOENT) | E(EINVAL) |
	E(EADDRINUSE) | E(EBUSY) | E(EFAULT);

static void op_access_create(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_CREATE,
		.id = chance(w, 20) ? 0 : pick_id(w, K_IOAS),
	};
	errset allowed = access_attach_errors;
	bool out;

	cmd.access_create.flags = pick_flags(w, MOCK_ACCESS_PIN_PAGES |
					     MOCK_ACCESS_UNMAP_IGNORE, &allowed);
	cmd.access_create.__reserved = reserved_value(w, &allowed);
	describe(w, "flags=%#x", cmd.access_create.flags);
	if (test_cmd(w, "ACCESS_CREATE", &cmd, allowed, &out) || !out)
		return;
	pool_add(w->s, K_ACCESS_OBJ, cmd.access_create.out_access_obj_id,
		 cmd.id);
	pool_add(w->s, K_ACCESS, cmd.access_create.out_access_id, 0);
}

static void op_access_attach(struct worker *w)
{
	static const char *const names[] = {
		"ACCESS_ATTACH", "ACCESS_REPLACE", "ACCESS_DETACH",
	};
	unsigned int which = below(w, 3);
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_ATTACH + which,
		.id = pick_id(w, K_ACCESS_OBJ),
	};
	errset allowed = access_attach_errors;
	bool out;

	if (cmd.op != IOMMU_TEST_OP_ACCESS_DETACH) {
		cmd.access_attach.ioas_id = pick_id(w, K_IOAS);
		cmd.access_attach.__reserved = reserved_value(w, &allowed);
	}
	describe(w, "ioas=%u", cmd.access_attach.ioas_id);
	test_cmd(w, names[which], &cmd, allowed, &out);
}

static void op_access_pin(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_PIN,
	};
	errset allowed = E(ENOENT) | E(EINVAL) | E(E2BIG) | E(EPERM) |
			   E(EFAULT) | E(EOVERFLOW);
	struct session *s = w->s;
	struct mapping m;
	bool out;

	if (pick_map(w, &m) && chance(w, 85)) {
		uint64_t pages = m.len / PAGE ?: 1;

		cmd.id = pick_id_on(w, K_ACCESS_OBJ, m.ioas);
		cmd.access_pin.iova = m.iova + PAGE * below(w, pages);
		cmd.access_pin.length = PAGE * (1 + below(w, pages));
		if (chance(w, 30))
			cmd.access_pin.uptr = m.uva + (cmd.access_pin.iova -
						       m.iova);
	} else {
		cmd.id = pick_id(w, K_ACCESS_OBJ);
		cmd.access_pin.iova = pick_iova(w);
		cmd.access_pin.length = pick_length(w);
	}
	cmd.access_pin.flags = pick_flags(w, MOCK_ACCESS_RW_WRITE, &allowed);
	describe(w, "iova=%#llx length=%#llx uptr=%#llx flags=%#x",
		 (unsigned long long)cmd.access_pin.iova,
		 (unsigned long long)cmd.access_pin.length,
		 (unsigned long long)cmd.access_pin.uptr, cmd.access_pin.flags);
	if (test_cmd(w, "ACCESS_PIN", &cmd, allowed, &out) || !out)
		return;
	pthread_mutex_lock(&s->lock);
	s->pins[s->npins++ % PINS_SIZE] = (struct pin){
		.access_obj = cmd.id, .handle = cmd.access_pin.out_handle,
	};
	pthread_mutex_unlock(&s->lock);
}

static void op_access_unpin(struct worker *w)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_ACCESS_UNPIN };
	errset allowed = E(ENOENT);
	struct session *s = w->s;
	bool out;

	pthread_mutex_lock(&s->lock);
	if (s->npins && chance(w, 90)) {
		struct pin *p = &s->pins[below(w, s->npins < PINS_SIZE ?
						  s->npins : PINS_SIZE)];

		cmd.id = p->access_obj;
		cmd.access_unpin.handle = p->handle;
	}
	pthread_mutex_unlock(&s->lock);
	if (!cmd.id)
		cmd.id = pick_id(w, K_ACCESS_OBJ);
	if (chance(w, 5))
		cmd.access_unpin.handle = rnd(w);
	cmd.access_unpin.__reserved = reserved_value(w, &allowed);
	describe(w, "handle=%u", cmd.access_unpin.handle);
	test_cmd(w, "ACCESS_UNPIN", &cmd, allowed, &out);
}

static void op_access_rw(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_RW,
		.access_rw.uptr = (uintptr_t)w->scratch,
	};
	errset allowed = E(ENOENT) | E(EINVAL) | E(E2BIG) | E(EPERM) |
			   E(EFAULT) | E(EOVERFLOW);
	struct mapping m;
	bool out;

	if (pick_map(w, &m) && chance(w, 85)) {
		cmd.id = pick_id_on(w, K_ACCESS_OBJ, m.ioas);
		cmd.access_rw.iova = m.iova + below(w, m.len);
		cmd.access_rw.length = 1 + below(w, m.len + 16);
	} else {
		cmd.id = pick_id(w, K_ACCESS_OBJ);
		cmd.access_rw.iova = pick_iova(w);
		cmd.access_rw.length = pick_length(w);
	}
	/* The buffer holds MOCK_ACCESS_RW_MAX; longer ones fail with E2BIG */
	if (chance(w, 3))
		cmd.access_rw.uptr = chance(w, 50) ? 0 : (uintptr_t)w->guard - 8;
	cmd.access_rw.flags = pick_flags(w, MOCK_ACCESS_RW_WRITE |
					 MOCK_ACCESS_RW_KTHREAD, &allowed);
	cmd.access_rw.__reserved = reserved_value(w, &allowed);
	describe(w, "iova=%#llx length=%#llx uptr=%#llx flags=%#x",
		 (unsigned long long)cmd.access_rw.iova,
		 (unsigned long long)cmd.access_rw.length,
		 (unsigned long long)cmd.access_rw.uptr, cmd.access_rw.flags);
	test_cmd(w, "ACCESS_RW", &cmd, allowed, &out);
}

static void op_access_info(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_INFO, .id = pick_id(w, K_ACCESS_OBJ),
	};
	bool out;

	describe(w, "");
	test_cmd(w, "ACCESS_INFO", &cmd, E(ENOENT), &out);
}

static void op_unknown_test_op(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.op = chance(w, 50) ? 0 : IOMMU_TEST_OP_MOCK_DEVICE_PAGE_RESPONSE +
				      1 + below(w, 1000),
	};
	bool out;

	describe(w, "op=%u", cmd.op);
	test_cmd(w, "unknown op", &cmd, E(EOPNOTSUPP), &out);
}

/* Memory the ioctls point at, changed while it may be mapped */

/*
 * Faults pages in the way a write would. madvise() says so with an error
 * where a store would die of SIGBUS: a hugetlb pool that ran dry, or a
 * copy-on-write of private hugetlb memory in a forked child.
 */
static void region_fill(struct region *r, uint64_t len)
{
	if (len > r->len)
		len = r->len;
	if (len)
		madvise((void *)(uintptr_t)r->addr, len, MADV_POPULATE_WRITE);
}

static void op_mem_map(struct worker *w)
{
	struct session *s = w->s;
	unsigned int slot = below(w, ARENA_SLOTS);
	struct region *r = &s->regions[slot];
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
	enum region_kind kind = below(w, R_KINDS);
	uint64_t len = PAGE * (1 + below(w, 512));
	void *want = (void *)(uintptr_t)(ARENA_BASE + slot * SLOT_SIZE), *p;

	if (kind == R_THP || kind == R_HUGETLB)
		len = SZ_2M * (1 + below(w, REGION_MAX / SZ_2M));
	if (kind == R_HUGETLB)
		flags |= MAP_HUGETLB;
	if (kind == R_SHARED)
		flags = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;

	pthread_mutex_lock(&s->lock);
	if (r->live)
		goto out;
	describe(w, "mmap %s at %p length %#llx", region_name[kind], want,
		 (unsigned long long)len);
	count_op(w);
	p = mmap(want, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED && kind == R_HUGETLB) {
		/* No huge pages reserved: THP instead */
		kind = R_THP;
		p = mmap(want, len, PROT_READ | PROT_WRITE, flags & ~MAP_HUGETLB,
			 -1, 0);
	}
	if (p == MAP_FAILED)
		goto out;
	*r = (struct region){
		.addr = (uintptr_t)p, .len = len, .kind = kind, .live = true,
	};
	if (kind == R_THP)
		madvise(p, len, MADV_HUGEPAGE);
	if (chance(w, 60))
		region_fill(r, chance(w, 50) ? len : below(w, len));
out:
	pthread_mutex_unlock(&s->lock);
}

/* A live region, with the session lock held, or NULL without it */
static struct region *lock_live_region(struct worker *w)
{
	struct session *s = w->s;
	struct region *r = &s->regions[below(w, ARENA_SLOTS)];

	pthread_mutex_lock(&s->lock);
	if (r->live)
		return r;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void op_mem_unmap(struct worker *w)
{
	struct region *r = lock_live_region(w);
	uint64_t off = 0;

	if (!r)
		return;
	/* All of it, or a tail; a hugetlb region only at 2 MiB boundaries */
	if (chance(w, 50))
		off = r->kind == R_HUGETLB ? below(w, r->len / SZ_2M) * SZ_2M :
					     below(w, r->len / PAGE) * PAGE;
	describe(w, "munmap %#llx length %#llx",
		 (unsigned long long)(r->addr + off),
		 (unsigned long long)(r->len - off));
	count_op(w);
	if (!munmap((void *)(uintptr_t)(r->addr + off), r->len - off)) {
		if (off)
			r->len = off;
		else
			r->live = false;
	}
	pthread_mutex_unlock(&w->s->lock);
}

static void op_mem_remap(struct worker *w)
{
	struct session *s = w->s;
	struct region *r = lock_live_region(w), *dst;
	unsigned int slot = below(w, ARENA_SLOTS);
	void *to = (void *)(uintptr_t)(ARENA_BASE + slot * SLOT_SIZE), *p;
	uint64_t len;

	if (!r)
		return;
	dst = &s->regions[slot];
	len = r->kind == R_HUGETLB ? SZ_2M * (1 + below(w, REGION_MAX / SZ_2M)) :
				     PAGE * (1 + below(w, REGION_MAX / PAGE));
	if (chance(w, 50) && !dst->live && dst != r) {
		/* Move it to another slot; the old VA becomes stale */
		describe(w, "mremap %#llx length %#llx to %p length %#llx",
			 (unsigned long long)r->addr,
			 (unsigned long long)r->len, to,
			 (unsigned long long)len);
		count_op(w);
		p = mremap((void *)(uintptr_t)r->addr, r->len, len,
			   MREMAP_MAYMOVE | MREMAP_FIXED, to);
		if (p != MAP_FAILED) {
			*dst = *r;
			dst->addr = (uintptr_t)p;
			dst->len = len;
			r->live = false;
		}
	} else {
		describe(w, "mremap %#llx length %#llx in place to %#llx",
			 (unsigned long long)r->addr,
			 (unsigned long long)r->len, (unsigned long long)len);
		count_op(w);
		if (mremap((void *)(uintptr_t)r->addr, r->len, len, 0) !=
		    MAP_FAILED)
			r->len = len;
	}
	pthread_mutex_unlock(&s->lock);
}

static void op_mem_advise(struct worker *w)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_FREE, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
		MADV_REMOVE, MADV_COLD, MADV_PAGEOUT, MADV_DONTFORK,
		MADV_DOFORK, MADV_WIPEONFORK, MADV_COLLAPSE, MADV_POPULATE_WRITE,
	};
	struct region *r = lock_live_region(w);
	uint64_t off, len;
	int advise;

	if (!r)
		return;
	off = below(w, r->len / PAGE) * PAGE;
	len = chance(w, 50) ? r->len - off : PAGE * (1 + below(w, 16));
	if (r->kind == R_HUGETLB) {
		off &= ~(SZ_2M - 1);
		len = r->len - off;
	}
	advise = advice[below(w, ARRAY_SIZE(advice))];
	describe(w, "madvise %#llx length %#llx advice %d",
		 (unsigned long long)(r->addr + off), (unsigned long long)len,
		 advise);
	count_op(w);
	madvise((void *)(uintptr_t)(r->addr + off), len, advise);
	pthread_mutex_unlock(&w->s->lock);
}

/* Read-only memory makes writable pins fail; it turns writable again later */
static void op_mem_protect(struct worker *w)
{
	struct region *r = lock_live_region(w);
	bool writable;

	if (!r)
		return;
	writable = chance(w, 50);
	describe(w, "mprotect %#llx length %#llx %s",
		 (unsigned long long)r->addr, (unsigned long long)r->len,
		 writable ? "read-write" : "read-only");
	count_op(w);
	mprotect((void *)(uintptr_t)r->addr, r->len,
		 writable ? PROT_READ | PROT_WRITE : PROT_READ);
	if (chance(w, 30))
		region_fill(r, r->len);
	pthread_mutex_unlock(&w->s->lock);
}

struct op {
	const char *name;
	void (*fn)(struct worker *w);
	unsigned int weight;
};

static const struct op ops[] = {
	{ "destroy", op_destroy, 6 },
	{ "ioas_alloc", op_ioas_alloc, 5 },
	{ "iova_ranges", op_iova_ranges, 3 },
	{ "allow_iovas", op_allow_iovas, 2 },
	{ "map", op_map, 14 },
	{ "map_file", op_map_file, 6 },
	{ "change_process", op_change_process, 1 },
	{ "truncate_memfd", op_truncate_memfd, 1 },
	{ "copy", op_copy, 5 },
	{ "unmap", op_unmap, 8 },
	{ "option", op_option, 3 },
	{ "vfio_ioas", op_vfio_ioas, 1 },
	{ "hwpt_alloc", op_hwpt_alloc, 4 },
	{ "get_hw_info", op_get_hw_info, 2 },
	{ "set_dirty_tracking", op_set_dirty_tracking, 2 },
	{ "get_dirty_bitmap", op_get_dirty_bitmap, 2 },
	{ "hwpt_invalidate", op_hwpt_invalidate, 2 },
	{ "fault_alloc", op_fault_alloc, 2 },
	{ "fault_read", op_fault_read, 4 },
	{ "fault_write", op_fault_write, 3 },
	{ "fault_poll", op_fault_poll, 1 },
	{ "fault_close", op_fault_close, 1 },
	{ "unknown_ioctl", op_unknown_ioctl, 1 },
	{ "mock_domain", op_mock_domain, 5 },
	{ "md_check_map", op_md_check_map, 2 },
	{ "md_check_unmapped", op_md_check_unmapped, 2 },
	{ "check_pins", op_check_pins, 2 },
	{ "add_reserved", op_add_reserved, 1 },
	{ "pin_batch", op_pin_batch, 1 },
	{ "accounting", op_accounting, 1 },
	{ "mock_device_add", op_mock_device_add, 5 },
	{ "mock_device_attach", op_mock_device_attach, 6 },
	{ "mock_device_detach", op_mock_device_detach, 2 },
	{ "mock_device_domain", op_mock_device_domain, 1 },
	{ "mock_dma_write", op_mock_dma_write, 2 },
	{ "try_dma_api", op_try_dma_api, 1 },
	{ "iopf_chain", op_iopf_chain, 2 },
	{ "iopf_attach", op_iopf_attach, 4 },
	{ "page_request", op_page_request, 5 },
	{ "page_response", op_page_response, 2 },
	{ "access_create", op_access_create, 4 },
	{ "access_attach", op_access_attach, 4 },
	{ "access_pin", op_access_pin, 4 },
	{ "access_unpin", op_access_unpin, 3 },
	{ "access_rw", op_access_rw, 3 },
	{ "access_info", op_access_info, 1 },
	{ "unknown_test_op", op_unknown_test_op, 1 },
	{ "mem_map", op_mem_map, 6 },
	{ "mem_unmap", op_mem_unmap, 2 },
	{ "mem_remap", op_mem_remap, 2 },
	{ "mem_advise", op_mem_advise, 2 },
	{ "mem_protect", op_mem_protect, 1 },
};

static void random_op(struct worker *w)
{
	static unsigned int total;
	unsigned int i, pick;

	if (!total)
		for (i = 0; i < ARRAY_SIZE(ops); i++)
			total += ops[i].weight;
	pick = below(w, total);
	for (i = 0; pick >= ops[i].weight; i++)
		pick -= ops[i].weight;
	w->kind = i;
	ops[i].fn(w);
	w->kind = -1;
}

/* Workers: per-thread buffers */

static int worker_init(struct worker *w, struct session *s, uint64_t seed,
		       int tid)
{
	uint8_t *area;
	int memfd;

	*w = (struct worker){ .s = s, .rng = seed, .tid = tid, .kind = -1 };
	area = mmap(NULL, SCRATCH_SIZE + BITMAP_SIZE + 2 * PAGE,
		    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return -1;
	w->scratch = area;
	w->guard = area + SCRATCH_SIZE;
	w->bitmap = w->guard + PAGE;
	mprotect(w->guard, PAGE, PROT_NONE);
	mprotect(w->bitmap + BITMAP_SIZE, PAGE, PROT_NONE);

	memfd = memfd_create("fuzz-arg", 0);
	if (memfd < 0 || ftruncate(memfd, PAGE))
		goto err_unmap;
	w->rw_view = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			  memfd, 0);
	w->ro_view = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, memfd, 0);
	close(memfd);
	if (w->rw_view == MAP_FAILED || w->ro_view == MAP_FAILED)
		goto err_unmap;
	return 0;

err_unmap:
	if (memfd >= 0)
		close(memfd);
	munmap(area, SCRATCH_SIZE + BITMAP_SIZE + 2 * PAGE);
	return -1;
}

static void worker_fini(struct worker *w)
{
	munmap(w->scratch, SCRATCH_SIZE + BITMAP_SIZE + 2 * PAGE);
	munmap(w->rw_view, PAGE);
	munmap(w->ro_view, PAGE);
}

struct race {
	struct worker w;
	pthread_t thread;
	unsigned int nops;
};

static void *race_thread(void *arg)
{
	struct race *r = arg;

	while (r->nops-- && !atomic_load(&r->w.s->failed))
		random_op(&r->w);
	return NULL;
}

/* 2-4 threads on the file at once (in turn with -j 0) */
static void race_phase(struct worker *w)
{
	unsigned int n = 2 + below(w, 3), i, started = 0;
	bool in_turn = opt.threads < 2;
	struct race race[MAX_THREADS];

	if (!in_turn && n > opt.threads)
		n = opt.threads;
	for (i = 0; i < n; i++) {
		if (worker_init(&race[i].w, w->s, rnd(w), i + 1))
			break;
		race[i].nops = 20 + below(w, 200);
	}
	n = i;
	for (i = 0; i < n; i++) {
		if (in_turn)
			race_thread(&race[i]);
		else if (!pthread_create(&race[i].thread, NULL, race_thread,
					 &race[i]))
			started |= 1U << i;
	}
	for (i = 0; i < n; i++) {
		if (started & (1U << i))
			pthread_join(race[i].thread, NULL);
		worker_fini(&race[i].w);
	}
}

/* A child that inherited the file works on it, maybe racing the parent */
static void fork_phase(struct worker *w)
{
	struct session *s = w->s;
	unsigned int n = below(w, 200), i;
	uint64_t child_seed = rnd(w);
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		s->in_child = true;
		w->rng = child_seed;
		for (i = 0; i < n && !atomic_load(&s->failed); i++)
			random_op(w);
		/* Or let exit close it */
		if (chance(w, 50))
			close(s->fd);
		fflush(stdout);
		_exit(atomic_load(&s->failed) ? 3 : 0);
	}
	if (pid < 0)
		return;
	for (i = below(w, 100); i && !atomic_load(&s->failed); i--)
		random_op(w);
	if (waitpid(pid, &status, 0) == pid &&
	    !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
			atomic_store(&s->failed, true);
		else
			violation(w, "forked child ended with status %#x",
				  status);
	}
}

/* Accounting */

static int status_kb(const char *key, unsigned long *kb)
{
	char line[256];
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");
	int rc = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			*kb = strtoul(line + klen + 1, NULL, 10);
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}

static int user_locked_pages(uint64_t *pages)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCOUNTING,
	};

	if (ioctl(observer_fd, IOMMU_TEST_CMD, &cmd))
		return -1;
	*pages = cmd.accounting.out_locked_vm;
	return 0;
}

static int read_accounting(unsigned long *pin, unsigned long *lck,
			   uint64_t *user)
{
	if (status_kb("VmPin", pin) || status_kb("VmLck", lck) ||
	    user_locked_pages(user))
		return -1;
	return 0;
}

/* Whether the accounting differs from the baseline, and how, in @why */
static bool accounting_differs(char *why, size_t len)
{
	unsigned long pin, lck;
	uint64_t user;

	if (read_accounting(&pin, &lck, &user)) {
		snprintf(why, len, "cannot read the accounting: %s",
			 strerror(errno));
		return true;
	}
	if (pin == baseline.vm_pin_kb && lck == baseline.vm_lck_kb &&
	    user == baseline.user_locked)
		return false;
	snprintf(why, len,
		 "after close: VmPin %lu kB (start %lu), VmLck %lu kB (start %lu), user locked_vm %llu pages (start %llu)",
		 pin, baseline.vm_pin_kb, lck, baseline.vm_lck_kb,
		 (unsigned long long)user,
		 (unsigned long long)baseline.user_locked);
	return true;
}

/* Effective capabilities of this thread; race threads inherit them */
static void set_caps(bool ipc_lock, bool sys_resource)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return;
	data[0].effective = data[0].permitted;
	if (!ipc_lock)
		data[0].effective &= ~(1U << CAP_IPC_LOCK);
	if (!sys_resource)
		data[0].effective &= ~(1U << CAP_SYS_RESOURCE);
	syscall(SYS_capset, &hdr, data);
}

/* Devices on the mock bus, or -1 */
static int mock_devices(void)
{
	DIR *dir = opendir(MOCK_BUS_DEVICES);
	struct dirent *d;
	int n = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* Closes the FAULT files the session keeps */
static void fault_files_close(struct session *s)
{
	unsigned int i;

	pthread_rwlock_wrlock(&s->fault_lock);
	for (i = 0; i < FAULT_FILES; i++) {
		if (s->faults[i].fd >= 0)
			close(s->faults[i].fd);
		s->faults[i].fd = -1;
	}
	pthread_rwlock_unlock(&s->fault_lock);
}

/*
 * Closes FAULT files nobody kept: made by a call whose outputs went to a
 * mangled argument. Each holds its iommufd file open, with all it has.
 */
static void stray_fault_files_close(void)
{
	DIR *dir = opendir("/proc/self/fd");
	char link[64];
	struct dirent *d;
	ssize_t len;

	if (!dir)
		return;
	while ((d = readdir(dir))) {
		len = readlinkat(dirfd(dir), d->d_name, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = 0;
		if (!strcmp(link, "anon_inode:[iommufd-pgfault]"))
			close(atoi(d->d_name));
	}
	closedir(dir);
}

static void session_reset_memory(struct session *s)
{
	unsigned int i;

	for (i = 0; i < ARENA_SLOTS; i++)
		if (s->regions[i].live)
			munmap((void *)(uintptr_t)s->regions[i].addr,
			       s->regions[i].len);
}

/*
 * One session: open, a bounded number of operations, close with whatever
 * is alive, check that the accounting is back. Returns its op count, and
 * false in *ok on a violation.
 */
static unsigned long run_session(uint64_t seed, unsigned long number,
				 uint64_t first_op, double deadline, bool *ok)
{
	static const struct rlimit limits[] = {
		{ 8 << 20, 8 << 20 }, { 64 << 20, 64 << 20 },
		{ RLIM_INFINITY, RLIM_INFINITY },
	};
	struct session *s;
	struct worker w;
	unsigned long n, i, ops_done;
	char mark[96], why[256];
	bool files_first;
	int devices;

	s = calloc(1, sizeof(*s));
	if (!s)
		return 0;
	pthread_mutex_init(&s->lock, NULL);
	pthread_rwlock_init(&s->fault_lock, NULL);
	for (i = 0; i < FAULT_FILES; i++)
		s->faults[i].fd = -1;
	s->seed = seed;
	s->number = number;
	s->first_op = first_op;
	if (worker_init(&w, s, seed * 0x2545f4914f6cdd1dULL + number, 0)) {
		free(s);
		return 0;
	}
	snprintf(mark, sizeof(mark), "fuzz: seed %llu session %lu\n",
		 (unsigned long long)seed, number);
	if (kmsg_fd >= 0 && write(kmsg_fd, mark, strlen(mark)) < 0)
		kmsg_fd = -1;

	setrlimit(RLIMIT_MEMLOCK, &limits[below(&w, 3)]);
	set_caps(!chance(&w, 30), !chance(&w, 10));
	s->tidy = chance(&w, 50);
	s->mfd = memfd_create("fuzz", 0);
	s->mfd_va = MAP_FAILED;
	if (s->mfd >= 0 && !ftruncate(s->mfd, MFD_PAGES * PAGE))
		s->mfd_va = mmap(NULL, MFD_PAGES * PAGE,
				 PROT_READ | PROT_WRITE, MAP_SHARED, s->mfd, 0);
	if (s->mfd_va == MAP_FAILED) {
		violation(&w, "memfd: %s", strerror(errno));
		goto out;
	}
	s->fd = open("/dev/iommu", O_RDWR);
	if (s->fd < 0) {
		violation(&w, "open /dev/iommu: %s", strerror(errno));
		goto out;
	}
	if (chance(&w, 25)) {
		struct iommu_option cmd = {
			.option_id = IOMMU_OPTION_RLIMIT_MODE,
			.op = IOMMU_OPTION_OP_SET, .val64 = 1,
		};
		bool out;

		describe(&w, "option=RLIMIT_MODE op=SET val64=1");
		IOCTL(&w, cmd, IOMMU_OPTION, E(EPERM), &out);
	}

	n = 50 + below(&w, 1500);
	if (opt.max_ops && first_op + n > opt.max_ops)
		n = opt.max_ops - first_op;
	for (i = 0; atomic_load(&s->ops) < n && !atomic_load(&s->failed); i++) {
		if (!(i % 64) && now() > deadline)
			break;
		if (chance(&w, 1))
			race_phase(&w);
		else if (below(&w, 1000) < 3)
			fork_phase(&w);
		else
			random_op(&w);
	}

	/* A FAULT file keeps the iommufd alive: close them in either order */
	files_first = chance(&w, 50);
	if (files_first)
		fault_files_close(s);
	close(s->fd);
	if (!files_first)
		fault_files_close(s);
	stray_fault_files_close();
	describe(&w, "close");
	count_op(&w);
	if (accounting_differs(why, sizeof(why)))
		violation(&w, "%s", why);
	devices = mock_devices();
	if (devices != baseline.mock_devices)
		violation(&w, "after close: %d mock devices on the bus (start %d)",
			  devices, baseline.mock_devices);
out:
	set_caps(true, true);
	setrlimit(RLIMIT_MEMLOCK, &limits[2]);
	session_reset_memory(s);
	if (s->mfd_va != MAP_FAILED)
		munmap(s->mfd_va, MFD_PAGES * PAGE);
	if (s->mfd >= 0)
		close(s->mfd);
	worker_fini(&w);
	*ok = !atomic_load(&s->failed);
	ops_done = atomic_load(&s->ops);
	pthread_rwlock_destroy(&s->fault_lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return ops_done;
}

/* The sequence every VMM runs must still work after all that */
static int known_good(char *why, size_t len)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_map map = {
		.size = sizeof(map), .length = SZ_2M, .iova = SZ_2M,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
	};
	struct iommu_test_cmd cmd = { .size = sizeof(cmd) };
	uint8_t *buf, pattern[256], back[256];
	int fd, rc = -1, i;
	const char *step;

	buf = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fd = open("/dev/iommu", O_RDWR);
	if (buf == MAP_FAILED || fd < 0) {
		snprintf(why, len, "open or mmap: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < 256; i++)
		pattern[i] = i ^ 0x5a;
	memcpy(buf + PAGE + 100, pattern, sizeof(pattern));

	step = "IOMMU_IOAS_ALLOC";
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		goto err;
	step = "IOMMU_IOAS_MAP";
	map.ioas_id = alloc.out_ioas_id;
	map.user_va = (uintptr_t)buf;
	if (ioctl(fd, IOMMU_IOAS_MAP, &map))
		goto err;
	step = "IOMMU_TEST_OP_MOCK_DOMAIN";
	cmd.op = IOMMU_TEST_OP_MOCK_DOMAIN;
	cmd.id = alloc.out_ioas_id;
	if (ioctl(fd, IOMMU_TEST_CMD, &cmd))
		goto err;
	step = "IOMMU_TEST_OP_MD_CHECK_MAP";
	cmd = (struct iommu_test_cmd){
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = cmd.mock_domain.out_mock_id,
		.check_map = { .iova = SZ_2M, .length = SZ_2M,
			       .uptr = (uintptr_t)buf },
	};
	if (ioctl(fd, IOMMU_TEST_CMD, &cmd))
		goto err;
	step = "IOMMU_TEST_OP_ACCESS_CREATE";
	cmd = (struct iommu_test_cmd){
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_CREATE,
		.id = alloc.out_ioas_id,
	};
	if (ioctl(fd, IOMMU_TEST_CMD, &cmd))
		goto err;
	step = "IOMMU_TEST_OP_ACCESS_RW read";
	cmd = (struct iommu_test_cmd){
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_RW,
		.id = cmd.access_create.out_access_obj_id,
		.access_rw = { .iova = SZ_2M + PAGE + 100,
			       .uptr = (uintptr_t)back, .length = sizeof(back) },
	};
	if (ioctl(fd, IOMMU_TEST_CMD, &cmd))
		goto err;
	if (memcmp(back, pattern, sizeof(back))) {
		snprintf(why, len, "ACCESS_RW read other bytes than mapped");
		goto out;
	}
	step = "IOMMU_TEST_OP_ACCESS_RW write";
	for (i = 0; i < 256; i++)
		back[i] = ~pattern[i];
	cmd.access_rw.flags = MOCK_ACCESS_RW_WRITE;
	if (ioctl(fd, IOMMU_TEST_CMD, &cmd))
		goto err;
	if (memcmp(buf + PAGE + 100, back, sizeof(back))) {
		snprintf(why, len, "ACCESS_RW write did not reach the memory");
		goto out;
	}
	close(fd);
	fd = -1;
	if (!accounting_differs(why, len))
		rc = 0;
	goto out;
err:
	snprintf(why, len, "%s: %s", step, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (buf != MAP_FAILED)
		munmap(buf, SZ_2M);
	return rc;
}

/*
 * The fuzzer itself never faults on purpose: a SIGSEGV or SIGBUS means a
 * bug here or a kernel that wrote where it should not. Say where we were.
 */
static void fatal_signal(int sig)
{
	struct worker *w = current_worker;
	char msg[512];
	int n;

	n = snprintf(msg, sizeof(msg),
		     "# VIOLATION signal %d in seed %llu session %lu op %lu: %s\n",
		     sig, w ? (unsigned long long)w->s->seed : 0,
		     w ? w->s->number : 0, w ? w->op : 0, w ? w->desc : "?");
	if (write(STDOUT_FILENO, msg, n) < 0)
		_exit(4);
	_exit(4);
}

static void print_stats(void)
{
	unsigned int i, n = ARRAY_SIZE(ops);
	unsigned long calls;
	char set[256];

	printf("# %-20s %9s %5s  %s\n", "op", "calls", "ok", "errnos seen");
	for (i = 0; i < n; i++) {
		calls = atomic_load(&stats[i].calls);
		errset_print((errset)atomic_load(&stats[i].errnos[1]) << 64 |
			     atomic_load(&stats[i].errnos[0]), set, sizeof(set));
		printf("# %-20s %9lu %4.0f%% %s\n", ops[i].name, calls,
		       calls ? 100.0 * atomic_load(&stats[i].ok) / calls : 0.0,
		       strncmp(ops[i].name, "mem_", 4) ? set : " (not checked)");
	}
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: fuzz [-t SECONDS] [-n OPS] [-j THREADS] [-S SESSION] [-v]\n"
		"            [--no-length-cap] SEED...\n"
		"  -t  time for all seeds together (default 60 s)\n"
		"  -n  stop each seed after OPS operations\n"
		"  -j  most threads racing on one file, 2-4 (0: run them in turn)\n"
		"  -S  run only session SESSION of the seed (to reproduce)\n"
		"  -v  print every call\n"
		"  --no-length-cap  let MAP lengths of unbacked memory reach 2^64\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "no-length-cap", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	uint64_t total_ops = 0, op_no;
	double total_time = 60, t0, t;
	int c, nseeds, i, failed = 0;
	unsigned long session, sessions;
	char why[256];
	bool ok;

	while ((c = getopt_long(argc, argv, "t:n:j:S:v", long_opts, NULL)) != -1) {
		switch (c) {
		case 't':
			total_time = strtod(optarg, NULL);
			break;
		case 'n':
			opt.max_ops = strtoull(optarg, NULL, 0);
			break;
		case 'j':
			opt.threads = strtoul(optarg, NULL, 0);
			if (opt.threads > MAX_THREADS)
				opt.threads = MAX_THREADS;
			break;
		case 'S':
			opt.only_session = strtol(optarg, NULL, 0);
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'L':
			opt.length_cap = false;
			break;
		default:
			print_usage();
		}
	}
	nseeds = argc - optind;
	if (nseeds < 1)
		print_usage();
	opt.seconds = total_time / nseeds;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGSEGV, fatal_signal);
	signal(SIGBUS, fatal_signal);
	clock_gettime(CLOCK_MONOTONIC, &run_start);
	kmsg_fd = open("/dev/kmsg", O_WRONLY);
	observer_fd = open("/dev/iommu", O_RDWR);
	if (observer_fd < 0 || read_accounting(&baseline.vm_pin_kb,
					       &baseline.vm_lck_kb,
					       &baseline.user_locked)) {
		printf("Bail out! /dev/iommu with IOMMU_TEST_CMD: %s\n",
		       strerror(errno));
		return 1;
	}
	baseline.mock_devices = mock_devices();

	printf("TAP version 13\n1..%d\n", nseeds + 1);
	printf("# fuzz: %d seed(s), %.0f s each, up to %u threads, unbacked MAP %s\n",
	       nseeds, opt.seconds, opt.threads,
	       opt.length_cap ? "below 64 GiB" : "uncapped");
	for (i = 0; i < nseeds; i++) {
		uint64_t seed = strtoull(argv[optind + i], NULL, 0);
		bool seed_ok = true;

		t0 = now();
		op_no = 0;
		sessions = 0;
		session = opt.only_session >= 0 ? opt.only_session : 0;
		while (seed_ok && now() - t0 < opt.seconds &&
		       (!opt.max_ops || op_no < opt.max_ops)) {
			op_no += run_session(seed, session++, op_no,
					     t0 + opt.seconds, &ok);
			sessions++;
			seed_ok = ok;
			if (opt.only_session >= 0)
				break;
		}
		t = now() - t0;
		total_ops += op_no;
		printf("%s %d - seed %llu: %llu ops in %lu sessions, %.1f s, %.0f ops/min\n",
		       seed_ok ? "ok" : "not ok", i + 1,
		       (unsigned long long)seed, (unsigned long long)op_no,
		       sessions, t, t > 0 ? op_no * 60 / t : 0);
		failed |= !seed_ok;
	}
	t = now();
	if (known_good(why, sizeof(why))) {
		printf("not ok %d - known-good sequence: %s\n",
		       nseeds + 1, why);
		failed = 1;
	} else {
		printf("ok %d - known-good sequence: IOAS, map, mock domain, access rw\n",
		       nseeds + 1);
	}
	print_stats();
	printf("# total: %llu ops in %.1f s, %.0f ops/min\n",
	       (unsigned long long)total_ops, t,
	       t > 0 ? total_ops * 60 / t : 0);
	return failed;
}
