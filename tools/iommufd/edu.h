/* SPDX-License-Identifier: GPL-2.0 */
/*
 * edu.h: QEMU's "edu" PCI device (1234:11e8) as a VFIO device bound to
 * /dev/iommu, for the demo and the real-device selftest.
 *
 * The device copies between the IOVAs it is given and a 4 KiB buffer of
 * its own, which it calls device address 0x40000. Its registers are in
 * BAR0; DMA is started by writing the command register and is finished
 * when the start bit reads back as 0 (QEMU runs it from a timer, about
 * 100 ms later). The device drives only 28 address bits, so every IOVA it
 * is given must be below 2^28. QEMU 7.2 aborts the whole VM on a transfer
 * that ends exactly at the end of the buffer: keep transfers shorter than
 * EDU_BUF_SIZE.
 *
 * The path to the device, in the order the helpers are used: find it in
 * sysfs, hand it to vfio-pci, open its VFIO cdev, bind the cdev to an
 * iommufd, attach it to an IOAS or HWPT, map BAR0 and turn on bus
 * mastering, then DMA.
 *
 * Every helper returns 0 on success and -1 with errno set on failure, as
 * a system call does, so that callers can report strerror(errno).
 */
#ifndef IOMMUFD_EDU_H
#define IOMMUFD_EDU_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#define EDU_VENDOR_ID		0x1234
#define EDU_DEVICE_ID		0x11e8

#define EDU_BUF_ADDR		0x40000ULL	/* the buffer, device side */
#define EDU_BUF_SIZE		4096
#define EDU_DMA_LIMIT		0x10000000ULL	/* 2^28: IOVAs must be below */

/* BAR0 registers; the DMA registers take 32- or 64-bit accesses */
#define EDU_REG_ID		0x00	/* 0xRRrr00ed: major, minor, magic */
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_CMD_START	0x1	/* reads 1 while the transfer runs */
#define EDU_DMA_CMD_TO_RAM	0x2	/* direction: buffer -> IOVA */

#define EDU_ID_MAGIC		0xed

/* How long edu_dma() waits for a transfer that QEMU starts after 100 ms */
#define EDU_DMA_TIMEOUT_MS	10000

struct edu {
	char bdf[32];		/* PCI address, "0000:00:03.0" */
	int fd;			/* the VFIO device cdev, -1 when closed */
	uint8_t *bar0;		/* BAR0 mapped through the cdev, or NULL */
	size_t bar0_size;
};

/* Copies @src to @dst of @size bytes; ENAMETOOLONG if it does not fit */
static inline int edu_copy_name(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dst, src, len + 1);
	return 0;
}

static inline int edu_sysfs_write(const char *path, const char *val)
{
	ssize_t len = strlen(val);
	int fd, rc = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	if (write(fd, val, len) != len)
		rc = -1;
	close(fd);
	return rc;
}

static inline int edu_sysfs_read_hex(const char *path, unsigned long *val)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (!f)
		return -1;
	rc = fscanf(f, "%lx", val) == 1 ? 0 : -1;
	fclose(f);
	if (rc)
		errno = EINVAL;
	return rc;
}

/* Copies the PCI address of the first edu device to @bdf; ENODEV if none */
static inline int edu_find(char *bdf, size_t size)
{
	const char *dir_path = "/sys/bus/pci/devices";
	unsigned long vendor, device;
	char path[PATH_MAX];
	struct dirent *ent;
	DIR *dir;
	int rc;

	dir = opendir(dir_path);
	if (!dir)
		return -1;
	while ((ent = readdir(dir))) {
		if (ent->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/vendor", dir_path,
			 ent->d_name);
		if (edu_sysfs_read_hex(path, &vendor) || vendor != EDU_VENDOR_ID)
			continue;
		snprintf(path, sizeof(path), "%s/%s/device", dir_path,
			 ent->d_name);
		if (edu_sysfs_read_hex(path, &device) || device != EDU_DEVICE_ID)
			continue;
		rc = edu_copy_name(bdf, size, ent->d_name);
		closedir(dir);
		return rc;
	}
	closedir(dir);
	errno = ENODEV;
	return -1;
}

/* Copies the name of the driver bound to @bdf, "" if there is none */
static inline void edu_driver_name(const char *bdf, char *name, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t len;
	char *base;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	len = readlink(path, target, sizeof(target) - 1);
	if (len < 0)
		len = 0;
	target[len] = '\0';
	base = strrchr(target, '/');
	if (edu_copy_name(name, size, base ? base + 1 : target))
		name[0] = '\0';
}

/*
 * Hands the device at @bdf to vfio-pci: overrides the driver match, unbinds
 * the current driver if any, and asks the PCI core to probe again. Does
 * nothing if vfio-pci already has it. ENOENT if vfio-pci is not in the
 * kernel; ENXIO if vfio-pci did not take the device.
 */
static inline int edu_bind_vfio_pci(const char *bdf)
{
	char path[PATH_MAX], driver[64];

	if (access("/sys/bus/pci/drivers/vfio-pci", F_OK))
		return -1;
	edu_driver_name(bdf, driver, sizeof(driver));
	if (!strcmp(driver, "vfio-pci"))
		return 0;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
		 bdf);
	if (edu_sysfs_write(path, "vfio-pci"))
		return -1;
	if (driver[0]) {
		snprintf(path, sizeof(path),
			 "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		if (edu_sysfs_write(path, bdf))
			return -1;
	}
	/* A failed probe is seen below: the driver link is missing */
	edu_sysfs_write("/sys/bus/pci/drivers_probe", bdf);

	edu_driver_name(bdf, driver, sizeof(driver));
	if (strcmp(driver, "vfio-pci")) {
		errno = ENXIO;
		return -1;
	}
	return 0;
}

/*
 * Copies "/dev/vfio/devices/vfioN", the VFIO cdev of the device at @bdf,
 * to @path; ENOENT if the device has none (not bound to a VFIO driver, or
 * CONFIG_VFIO_DEVICE_CDEV is off).
 */
static inline int edu_cdev_path(const char *bdf, char *path, size_t size)
{
	char dir_path[PATH_MAX];
	struct dirent *ent;
	DIR *dir;

	snprintf(dir_path, sizeof(dir_path),
		 "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	dir = opendir(dir_path);
	if (!dir)
		return -1;
	while ((ent = readdir(dir))) {
		if (strncmp(ent->d_name, "vfio", 4))
			continue;
		snprintf(path, size, "/dev/vfio/devices/%s", ent->d_name);
		closedir(dir);
		return 0;
	}
	closedir(dir);
	errno = ENOENT;
	return -1;
}

/* Opens the VFIO cdev of the device at @bdf (which vfio-pci must own) */
static inline int edu_open(struct edu *edu, const char *bdf)
{
	char path[PATH_MAX];

	memset(edu, 0, sizeof(*edu));
	edu->fd = -1;
	if (edu_copy_name(edu->bdf, sizeof(edu->bdf), bdf))
		return -1;
	if (edu_cdev_path(bdf, path, sizeof(path)))
		return -1;
	edu->fd = open(path, O_RDWR);
	return edu->fd < 0 ? -1 : 0;
}

/* Unmaps BAR0 and closes the cdev: the last close unbinds from iommufd */
static inline void edu_close(struct edu *edu)
{
	/* The mapping holds the file open: without munmap no unbind */
	if (edu->bar0)
		munmap(edu->bar0, edu->bar0_size);
	edu->bar0 = NULL;
	if (edu->fd >= 0)
		close(edu->fd);
	edu->fd = -1;
}

/* VFIO_DEVICE_BIND_IOMMUFD: @devid returns the DEVICE object's ID */
static inline int edu_bind_iommufd(struct edu *edu, int iommufd,
				   uint32_t *devid)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};

	if (ioctl(edu->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return -1;
	*devid = bind.out_devid;
	return 0;
}

/*
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT: @pt_id names an IOAS or a HWPT and returns
 * the HWPT the device is now attached to. A device that is attached already
 * is moved (replace).
 */
static inline int edu_attach(struct edu *edu, uint32_t *pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = *pt_id,
	};

	if (ioctl(edu->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return -1;
	*pt_id = attach.pt_id;
	return 0;
}

/* VFIO_DEVICE_DETACH_IOMMUFD_PT: afterwards the device's DMA is blocked */
static inline int edu_detach(struct edu *edu)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	return ioctl(edu->fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
}

static inline int edu_region_info(struct edu *edu, uint32_t index,
				  struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(edu->fd, VFIO_DEVICE_GET_REGION_INFO, info);
}

/*
 * Makes the device usable once bound: turns on memory decoding and bus
 * mastering in its command register (through VFIO's config space region),
 * maps BAR0 and checks that the device identifies itself as edu.
 */
static inline int edu_enable(struct edu *edu)
{
	struct vfio_region_info cfg, bar;
	off_t cmd_pos;
	uint16_t cmd;
	uint32_t id;

	if (edu_region_info(edu, VFIO_PCI_CONFIG_REGION_INDEX, &cfg))
		return -1;
	cmd_pos = cfg.offset + PCI_COMMAND;
	if (pread(edu->fd, &cmd, sizeof(cmd), cmd_pos) != sizeof(cmd))
		return -1;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(edu->fd, &cmd, sizeof(cmd), cmd_pos) != sizeof(cmd))
		return -1;

	if (edu_region_info(edu, VFIO_PCI_BAR0_REGION_INDEX, &bar))
		return -1;
	if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP) ||
	    bar.size <= EDU_REG_DMA_CMD) {
		errno = ENODEV;
		return -1;
	}
	edu->bar0 = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 edu->fd, bar.offset);
	if (edu->bar0 == MAP_FAILED) {
		edu->bar0 = NULL;
		return -1;
	}
	edu->bar0_size = bar.size;

	/*
	 * Relaxed atomics compile to exactly one load or store of their
	 * width, never merged, split or left out: what MMIO needs.
	 */
	id = __atomic_load_n((uint32_t *)(edu->bar0 + EDU_REG_ID),
			     __ATOMIC_RELAXED);
	if ((id & 0xff) != EDU_ID_MAGIC) {
		errno = ENODEV;
		return -1;
	}
	return 0;
}

static inline void edu_write64(struct edu *edu, unsigned int reg,
			       uint64_t val)
{
	__atomic_store_n((uint64_t *)(edu->bar0 + reg), val, __ATOMIC_RELAXED);
}

static inline uint64_t edu_read64(struct edu *edu, unsigned int reg)
{
	return __atomic_load_n((uint64_t *)(edu->bar0 + reg), __ATOMIC_RELAXED);
}

static inline uint64_t edu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * One transfer of @len bytes from @src to @dst, waited for. One side is
 * the buffer (EDU_BUF_ADDR + offset), the other an IOVA; @to_ram says the
 * buffer is the source. @ns, if not NULL, returns how long it took from
 * start to done. The device reports no error: a transfer the IOMMU blocked
 * finishes like any other. ETIMEDOUT if it did not finish in
 * EDU_DMA_TIMEOUT_MS.
 */
static inline int edu_dma(struct edu *edu, uint64_t src, uint64_t dst,
			  uint32_t len, bool to_ram, uint64_t *ns)
{
	const struct timespec pause = { .tv_nsec = 20000 };
	uint64_t start, deadline;

	edu_write64(edu, EDU_REG_DMA_SRC, src);
	edu_write64(edu, EDU_REG_DMA_DST, dst);
	edu_write64(edu, EDU_REG_DMA_COUNT, len);
	start = edu_now_ns();
	deadline = start + EDU_DMA_TIMEOUT_MS * 1000000ULL;
	edu_write64(edu, EDU_REG_DMA_CMD, EDU_DMA_CMD_START |
		    (to_ram ? EDU_DMA_CMD_TO_RAM : 0));
	while (edu_read64(edu, EDU_REG_DMA_CMD) & EDU_DMA_CMD_START) {
		if (edu_now_ns() > deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		nanosleep(&pause, NULL);
	}
	/* What the device wrote is read only after it said it was done */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (ns)
		*ns = edu_now_ns() - start;
	return 0;
}

/* DMA read: @len bytes at @iova into the start of the device's buffer */
static inline int edu_dma_from_iova(struct edu *edu, uint64_t iova,
				    uint32_t len, uint64_t *ns)
{
	return edu_dma(edu, iova, EDU_BUF_ADDR, len, false, ns);
}

/* DMA write: the first @len bytes of the device's buffer to @iova */
static inline int edu_dma_to_iova(struct edu *edu, uint64_t iova,
				  uint32_t len, uint64_t *ns)
{
	return edu_dma(edu, EDU_BUF_ADDR, iova, len, true, ns);
}

#endif /* IOMMUFD_EDU_H */
