// SPDX-License-Identifier: MIT
/*
 * block_open: opening and closing block backends -- format probing, raw
 * files and host block devices (size from BLKGETSIZE64), VHD images,
 * O_DIRECT with a fallback to the page cache when the filesystem refuses
 * it, the io_uring ring and its completion eventfd.
 */
#include "block_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_QUEUE_DEPTH 128

void block_opts_init(struct block_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->format = BLOCK_FORMAT_AUTO;
	o->cache = BLOCK_CACHE_NONE;
}

int block_parse_format(const char *s, enum block_format *out)
{
	if (!strcmp(s, "raw"))
		*out = BLOCK_FORMAT_RAW;
	else if (!strcmp(s, "vhd") || !strcmp(s, "vpc"))
		*out = BLOCK_FORMAT_VHD;
	else if (!strcmp(s, "auto"))
		*out = BLOCK_FORMAT_AUTO;
	else
		return -EINVAL;
	return 0;
}

/* ---- open / close ---- */

uint64_t block_size(const struct block_dev *bd)
{
	return bd->size;
}

bool block_readonly(const struct block_dev *bd)
{
	return bd->readonly;
}

struct vhd *block_vhd(const struct block_dev *bd)
{
	return bd->vhd;
}

const char *block_format_name(const struct block_dev *bd)
{
	switch (bd->kind) {
	case BLOCK_KIND_RAW:
		return "raw";
	case BLOCK_KIND_HOSTDEV:
		return "host_device";
	case BLOCK_KIND_VHD_FIXED:
		return "vhd-fixed";
	case BLOCK_KIND_VHD_SPARSE:
		return bd->vhd->footer.disk_type == VHD_TYPE_DIFF
			   ? "vhd-differencing"
			   : "vhd-dynamic";
	}
	return "?";
}

/* Open a raw file or device, O_DIRECT when asked and accepted. */
static int block_open_plain(struct block_dev *bd, bool direct)
{
	int flags = (bd->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;
	uint8_t *probe;

	bd->fd = open(bd->path, flags | (direct ? O_DIRECT : 0));
	if (bd->fd < 0 && direct && errno == EINVAL) {
		pr_warn("%s: O_DIRECT refused; using the page cache", bd->path);
		direct = false;
		bd->fd = open(bd->path, flags);
	}
	if (bd->fd < 0) {
		int ret = -errno;

		pr_err("%s: cannot open: %s", bd->path, strerror(errno));
		return ret;
	}
	if (fstat(bd->fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		uint64_t sz;

		bd->kind = BLOCK_KIND_HOSTDEV;
		if (ioctl(bd->fd, BLKGETSIZE64, &sz)) {
			pr_err("%s: BLKGETSIZE64: %s", bd->path,
			       strerror(errno));
			return -errno;
		}
		bd->size = ALIGN_DOWN(sz, BLOCK_SECTOR_SIZE);
	} else {
		bd->kind = BLOCK_KIND_RAW;
		bd->size = ALIGN_DOWN((uint64_t)st.st_size, BLOCK_SECTOR_SIZE);
		if (bd->size != (uint64_t)st.st_size)
			pr_warn(
			    "%s: size not a multiple of 512; the last %llu "
			    "bytes are not visible",
			    bd->path,
			    (unsigned long long)(st.st_size - (off_t)bd->size));
	}
	if (direct) {
		probe = block_aligned_alloc(BLOCK_SECTOR_SIZE);
		if (probe && bd->size &&
		    pread(bd->fd, probe, BLOCK_SECTOR_SIZE, 0) < 0 &&
		    errno == EINVAL) {
			pr_warn("%s: O_DIRECT with 512-byte sectors refused; "
				"using the page cache",
				bd->path);
			close(bd->fd);
			bd->fd = open(bd->path, flags);
			direct = false;
			if (bd->fd < 0) {
				free(probe);
				return -errno;
			}
		}
		free(probe);
	}
	bd->direct = direct;
	return 0;
}

static int block_open_vhd(struct block_dev *bd, bool direct)
{
	unsigned int flags =
	    (bd->readonly ? 0 : VHD_OPEN_RDWR) | (direct ? VHD_OPEN_DIRECT : 0);
	int ret = vhd_open(bd->path, flags, &bd->vhd);

	if (ret)
		return ret;
	bd->fd = bd->vhd->fd;
	bd->direct = bd->vhd->direct;
	bd->size = bd->vhd->size;
	bd->kind = vhd_is_sparse(bd->vhd) ? BLOCK_KIND_VHD_SPARSE
					  : BLOCK_KIND_VHD_FIXED;
	if (bd->kind == BLOCK_KIND_VHD_SPARSE) {
		ret = vhd_block_init(bd);
		if (ret)
			return ret;
	}
	if (bd->vhd->footer.saved_state)
		pr_warn("%s: image is marked as in a saved state", bd->path);
	return 0;
}

static enum block_format block_probe_format(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	bool vhd = false;

	if (fd < 0)
		return BLOCK_FORMAT_RAW;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		vhd = vhd_probe(fd);
	close(fd);
	return vhd ? BLOCK_FORMAT_VHD : BLOCK_FORMAT_RAW;
}

int block_open(const char *path, const struct block_opts *o,
	       struct block_dev **out)
{
	struct block_opts def;
	struct block_dev *bd;
	enum block_format fmt;
	bool direct;
	int ret;

	if (!o) {
		block_opts_init(&def);
		o = &def;
	}
	bd = calloc(1, sizeof(*bd));
	if (!bd)
		return -ENOMEM;
	bd->fd = -1;
	bd->efd = -1;
	bd->crash_after = -1;
	bd->fail_nth = -1;
	bd->readonly = o->readonly;
	bd->path = strdup(path);
	if (!bd->path) {
		free(bd);
		return -ENOMEM;
	}
	pthread_mutex_init(&bd->lock, NULL);
	direct = o->cache == BLOCK_CACHE_NONE;
	fmt = o->format == BLOCK_FORMAT_AUTO ? block_probe_format(path)
					     : o->format;
	ret = fmt == BLOCK_FORMAT_VHD ? block_open_vhd(bd, direct)
				      : block_open_plain(bd, direct);
	if (ret)
		goto err_close;
	bd->ring_entries =
	    o->queue_depth ? o->queue_depth : DEFAULT_QUEUE_DEPTH;
	ret = io_uring_queue_init(bd->ring_entries, &bd->ring, 0);
	if (ret) {
		pr_err("%s: io_uring_queue_init: %s", path, strerror(-ret));
		goto err_close;
	}
	bd->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (bd->efd < 0) {
		ret = -errno;
		goto err_ring;
	}
	ret = io_uring_register_eventfd(&bd->ring, bd->efd);
	if (ret) {
		pr_err("%s: io_uring_register_eventfd: %s", path,
		       strerror(-ret));
		goto err_ring;
	}
	*out = bd;
	return 0;
err_ring:
	io_uring_queue_exit(&bd->ring);
err_close:
	if (bd->efd >= 0)
		close(bd->efd);
	free(bd->allocating);
	if (bd->vhd)
		vhd_close(bd->vhd);
	else if (bd->fd >= 0)
		close(bd->fd);
	pthread_mutex_destroy(&bd->lock);
	free(bd->path);
	free(bd);
	return ret;
}

void block_close(struct block_dev *bd)
{
	struct pollfd pfd;
	unsigned int busy;

	if (!bd)
		return;
	pfd.fd = bd->efd;
	pfd.events = POLLIN;
	for (;;) {
		block_process_completions(bd);
		pthread_mutex_lock(&bd->lock);
		busy = bd->reqs;
		pthread_mutex_unlock(&bd->lock);
		if (!busy)
			break;
		poll(&pfd, 1, 100);
	}
	if (!bd->readonly && !bd->crashed) {
		int ret = block_flush_sync(bd);

		if (ret)
			pr_err("%s: flush on close: %s", bd->path,
			       strerror(-ret));
	}
	if (bd->kind == BLOCK_KIND_VHD_SPARSE)
		vhd_block_fini(bd);
	io_uring_queue_exit(&bd->ring);
	close(bd->efd);
	if (bd->vhd)
		vhd_close(bd->vhd);
	else
		close(bd->fd);
	pthread_mutex_destroy(&bd->lock);
	free(bd->path);
	free(bd);
}
