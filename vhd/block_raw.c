// SPDX-License-Identifier: MIT
/*
 * block_raw: the raw driver -- image files and host block devices
 * (pass-through disks, size from BLKGETSIZE64) -- and the raw data path,
 * one io_uring operation per request at the request's own offset, which
 * fixed VHDs (a raw file with a footer after the data) share. O_DIRECT
 * when asked and accepted, else the page cache with a warning.
 */
#include "block_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- data path ---- */

/* One operation of @kind covering @req, or req->ret = -ENOMEM. */
static void block_raw_queue(struct block_dev *bd, struct block_req *req,
			    enum block_io_kind kind)
{
	uint64_t bytes = req->nsec * BLOCK_SECTOR_SIZE;
	struct block_io *io;

	if (kind == IO_FSYNC)
		io = block_io_new(bd, kind, bd->fd, 0, 0);
	else
		io = block_io_new(bd, kind, bd->fd,
				  req->sector * BLOCK_SECTOR_SIZE, bytes);
	if (!io || ((kind == IO_READ || kind == IO_WRITE) &&
		    block_io_set_iov(io, req->iov, req->iovcnt, 0, bytes))) {
		free(io);
		req->ret = -ENOMEM;
		return;
	}
	io->req = req;
	req->pending++;
	block_io_queue(io);
}

void block_raw_rw(struct block_dev *bd, struct block_req *req)
{
	block_raw_queue(bd, req, req->op == REQ_READ ? IO_READ : IO_WRITE);
}

void block_raw_flush(struct block_dev *bd, struct block_req *req)
{
	block_raw_queue(bd, req, IO_FSYNC);
}

void block_raw_discard(struct block_dev *bd, struct block_req *req)
{
	block_raw_queue(bd, req, IO_PUNCH);
}

static void block_raw_close(struct block_dev *bd)
{
	close(bd->fd);
}

static const char *block_raw_name(const struct block_dev *bd)
{
	(void)bd;
	return "raw";
}

static const char *block_hostdev_name(const struct block_dev *bd)
{
	(void)bd;
	return "host_device";
}

static const struct block_ops block_raw_ops = {
	.format_name = block_raw_name,
	.read = block_raw_rw,
	.write = block_raw_rw,
	.flush = block_raw_flush,
	.discard = block_raw_discard,
	.close = block_raw_close,
};

static const struct block_ops block_hostdev_ops = {
	.format_name = block_hostdev_name,
	.read = block_raw_rw,
	.write = block_raw_rw,
	.flush = block_raw_flush,
	.discard = block_raw_discard,
	.close = block_raw_close,
};

/* ---- open ---- */

static int block_raw_size(struct block_dev *bd)
{
	struct stat st;

	if (fstat(bd->fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		uint64_t sz;

		bd->ops = &block_hostdev_ops;
		if (ioctl(bd->fd, BLKGETSIZE64, &sz)) {
			pr_err("%s: BLKGETSIZE64: %s", bd->path,
			       strerror(errno));
			return -errno;
		}
		bd->size = ALIGN_DOWN(sz, BLOCK_SECTOR_SIZE);
		return 0;
	}
	bd->ops = &block_raw_ops;
	bd->size = ALIGN_DOWN((uint64_t)st.st_size, BLOCK_SECTOR_SIZE);
	if (bd->size != (uint64_t)st.st_size)
		pr_warn("%s: size not a multiple of 512; the last %llu "
			"bytes are not visible",
			bd->path,
			(unsigned long long)(st.st_size - (off_t)bd->size));
	return 0;
}

/* Some filesystems accept O_DIRECT but not 512-byte direct reads. */
static int block_raw_check_direct(struct block_dev *bd, int flags)
{
	uint8_t *probe = block_aligned_alloc(BLOCK_SECTOR_SIZE);

	if (probe && bd->size &&
	    pread(bd->fd, probe, BLOCK_SECTOR_SIZE, 0) < 0 && errno == EINVAL) {
		pr_warn("%s: O_DIRECT with 512-byte sectors refused; "
			"using the page cache",
			bd->path);
		close(bd->fd);
		bd->fd = open(bd->path, flags);
		bd->direct = false;
		if (bd->fd < 0) {
			free(probe);
			return -errno;
		}
	}
	free(probe);
	return 0;
}

static int block_raw_open(struct block_dev *bd, bool direct)
{
	int flags = (bd->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int ret;

	bd->fd = open(bd->path, flags | (direct ? O_DIRECT : 0));
	if (bd->fd < 0 && direct && errno == EINVAL) {
		pr_warn("%s: O_DIRECT refused; using the page cache", bd->path);
		direct = false;
		bd->fd = open(bd->path, flags);
	}
	if (bd->fd < 0) {
		ret = -errno;
		pr_err("%s: cannot open: %s", bd->path, strerror(errno));
		return ret;
	}
	bd->direct = direct;
	ret = block_raw_size(bd);
	if (!ret && direct)
		ret = block_raw_check_direct(bd, flags);
	if (ret) {
		if (bd->fd >= 0)
			close(bd->fd);
		bd->fd = -1;
		bd->ops = NULL;
	}
	return ret;
}

const struct block_driver block_driver_raw = {
	.name = "raw",
	.format = BLOCK_FORMAT_RAW,
	.open = block_raw_open,
};
