// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VMM's live update with a real device: memory mapped by file, the
 * process re-executed, its successor taking the pins over.
 *
 * A child of the test binds QEMU's edu device to an iommufd, maps two pages
 * of a memfd with IOMMU_IOAS_MAP_FILE, attaches the device and checks a DMA
 * round trip. It then execs this binary again, keeping the iommufd, the
 * device and the memfd open: the new image (the "successor", entered from a
 * constructor before the test harness runs) has a new mm with nothing
 * charged to it, calls IOMMU_IOAS_CHANGE_PROCESS, checks that the pinned
 * pages now show in its own VmPin, and runs the DMA again through the same
 * mapping, which was never torn down. Its exit code tells the test which
 * step failed. Needs MAP_FILE (not in 6.12), edu and vfio-pci.
 */
#include <sys/wait.h>

#include "../../../iommufd/edu.h"
#include "iommufd_selftest.h"

#define SRC_IOVA	0x100000ULL
#define DST_IOVA	0x200000ULL
#define DMA_LEN		2048
#define CPR_ENV		"IOMMUFD_CPR_FDS"

/* Exit codes of the successor, for the test's log */
enum cpr_step {
	CPR_OK,
	CPR_ENV_BAD,
	CPR_PINS_CARRIED,	/* the new mm was charged before asking */
	CPR_CHANGE,
	CPR_PINS_MOVED,
	CPR_ENABLE,
	CPR_MMAP,
	CPR_DMA,
	CPR_BYTES,
};

static int map_file_at(int fd, uint32_t ioas, int mfd, uint64_t start,
		       uint64_t iova)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW,
		.ioas_id = ioas,
		.fd = mfd,
		.start = start,
		.length = CPU_PAGE,
		.iova = iova,
	};

	return ioctl(fd, IOMMU_IOAS_MAP_FILE, &cmd);
}

/* Source page at SRC_IOVA -> edu -> destination page at DST_IOVA */
static int round_trip(struct edu *edu, uint8_t *pages, uint8_t seed)
{
	uint64_t ns;
	int i;

	for (i = 0; i != DMA_LEN; i++)
		pages[i] = (uint8_t)(seed + i * 7);
	memset(pages + CPU_PAGE, 0, CPU_PAGE);
	if (edu_dma_from_iova(edu, SRC_IOVA, DMA_LEN, &ns) ||
	    edu_dma_to_iova(edu, DST_IOVA, DMA_LEN, &ns))
		return CPR_DMA;
	return memcmp(pages, pages + CPU_PAGE, DMA_LEN) ? CPR_BYTES : CPR_OK;
}

/*
 * What CHANGE_PROCESS moves to the successor's VmPin: the two pages. The
 * test runs with CAP_IPC_LOCK, and pristine 7.2 moves nothing of such a
 * mapping: it leaves the pages in the predecessor's VmPin, though it
 * takes them out of the successor's when they are unpinned. We move them.
 */
static long cpr_moved_kb(void)
{
	if (upstream_after_612() && cap_ipc_lock())
		return 0;
	return 2 * CPU_PAGE / 1024;
}

/* The new image: take the pins over and use the device again */
static int cpr_successor(const char *fds)
{
	struct iommu_ioas_change_process cp = { .size = sizeof(cp) };
	int iommufd, devfd, mfd, rc;
	struct edu edu = {};
	uint8_t *pages;

	if (sscanf(fds, "%d,%d,%d", &iommufd, &devfd, &mfd) != 3)
		return CPR_ENV_BAD;
	if (vmpin_kb() != 0)
		return CPR_PINS_CARRIED;
	if (ioctl(iommufd, IOMMU_IOAS_CHANGE_PROCESS, &cp))
		return CPR_CHANGE;
	if (vmpin_kb() != cpr_moved_kb())
		return CPR_PINS_MOVED;

	edu.fd = devfd;
	if (edu_enable(&edu))
		return CPR_ENABLE;
	pages = mmap(NULL, 2 * CPU_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		     mfd, 0);
	if (pages == MAP_FAILED)
		return CPR_MMAP;
	rc = round_trip(&edu, pages, 0x77);
	munmap(pages, 2 * CPU_PAGE);
	edu_close(&edu);
	close(iommufd);
	return rc;
}

__attribute__((constructor)) static void cpr_entry(void)
{
	const char *fds = getenv(CPR_ENV);

	if (fds)
		_exit(cpr_successor(fds));
}

/*
 * In the child: the VMM before its update. Returns a failure as a
 * negative line number, or execs and never returns.
 */
static int cpr_predecessor(const char *bdf)
{
	uint32_t devid, ioas, pt;
	struct edu edu;
	char env[64];
	uint8_t *pages;
	int iommufd, mfd;

	iommufd = iommufd_open();
	if (iommufd < 0 || edu_open(&edu, bdf) ||
	    edu_bind_iommufd(&edu, iommufd, &devid) ||
	    ioas_alloc(iommufd, &ioas))
		return -__LINE__;
	mfd = memfd_create("guest-ram", 0);
	if (mfd < 0 || ftruncate(mfd, 2 * CPU_PAGE))
		return -__LINE__;
	if (map_file_at(iommufd, ioas, mfd, 0, SRC_IOVA) ||
	    map_file_at(iommufd, ioas, mfd, CPU_PAGE, DST_IOVA))
		return -__LINE__;
	pt = ioas;
	if (edu_attach(&edu, &pt) || edu_enable(&edu))
		return -__LINE__;
	pages = mmap(NULL, 2 * CPU_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		     mfd, 0);
	if (pages == MAP_FAILED || round_trip(&edu, pages, 0x11))
		return -__LINE__;
	if (vmpin_kb() != 2 * CPU_PAGE / 1024)
		return -__LINE__;

	/* What survives the exec: the three descriptors, nothing mapped */
	if (fcntl(iommufd, F_SETFD, 0) || fcntl(edu.fd, F_SETFD, 0) ||
	    fcntl(mfd, F_SETFD, 0))
		return -__LINE__;
	snprintf(env, sizeof(env), "%d,%d,%d", iommufd, edu.fd, mfd);
	setenv(CPR_ENV, env, 1);
	execl("/proc/self/exe", "iommufd_edu_cpr", (char *)NULL);
	return -__LINE__;
}

TEST(map_file_dma_survives_exec_and_change_process)
{
	char bdf[32];
	int status;
	pid_t pid;

	SKIP_IF_UPSTREAM_612(return, "IOMMU_IOAS_MAP_FILE came after 6.12");
	if (edu_find(bdf, sizeof(bdf)))
		SKIP(return, "no edu PCI device (1234:11e8)");
	if (edu_bind_vfio_pci(bdf)) {
		if (errno == ENOENT)
			SKIP(return, "no vfio-pci driver in this kernel");
		ASSERT_EQ(0, errno) TH_LOG("handing %s to vfio-pci", bdf);
	}

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(-cpr_predecessor(bdf) & 0xff);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	/* Low numbers are the successor's steps; others the child's lines */
	EXPECT_EQ(CPR_OK, WEXITSTATUS(status))
		TH_LOG("failed at step or line (mod 256) %d",
		       WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
