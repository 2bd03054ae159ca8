// SPDX-License-Identifier: MIT
/*
 * block_vhd: the VHD block driver. Fixed disks take the raw data path
 * (data at offset 0, the footer after it is never in range); this file is
 * otherwise the asynchronous data path of dynamic and differencing VHDs.
 *
 * Reads resolve each sector run through the chain (in-memory BAT and
 * bitmaps, see vhd_resolve) and become one io_uring read per run, or zeros.
 * Writes to allocated blocks are plain data writes; the sector bitmap bits
 * they set are written lazily at the next flush.
 *
 * Allocation of a new block (several may run in parallel; reads and
 * writes to allocated blocks never wait for them):
 *   1. the file is grown a few blocks at a time by writing the footer past
 *      the new space (one such write at a time; blocks are placed only
 *      below a footer whose write completed), so the file always ends in a
 *      valid footer;
 *   2. the block's bitmap (all ones for dynamic disks, whose fresh space
 *      reads as zeros; all zeros for differencing disks) and the data are
 *      written;
 *   3. only then is the BAT entry marked dirty in memory.
 * Flush: fdatasync (data and bitmaps of new blocks are durable), write the
 * dirty bitmap sectors and BAT sectors, fdatasync again. So a BAT entry is
 * never durable before the block it points to, and everything acknowledged
 * before a completed flush survives a crash at any point. Flushes run one
 * at a time in submission order. On close the unused grown space is cut.
 */
#include "block_int.h"

#include "hvkvm/vhd.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#define BAT_PER_SECTOR (VHD_SECTOR / 4)
#define META_BAT_FLAG (1ULL << 63)

/* A write to a sparse VHD waiting for a block allocation to finish. */
struct vhd_wait {
	struct block_req *req;
	uint64_t sector;
	uint32_t nsec;
	size_t byte_off; /* into req->iov */
	STAILQ_ENTRY(vhd_wait) link;
};

STAILQ_HEAD(vhd_wait_list, vhd_wait);

/* The driver's state (bd->priv), under bd->lock. */
struct vhd_bdev {
	struct vhd *vhd;      /* the chain, top first */
	uint8_t *allocating;  /* per block: allocation in flight */
	uint64_t reserve_end; /* file extended (footer written) to */
	bool extending;	      /* a footer write extending it in flight */
	uint32_t ext_blocks;  /* blocks added per extension (grows) */
	struct vhd_wait_list waiters; /* writes waiting for room or a block */
	struct block_req_list flushq; /* head = running flush */
	bool flush_busy;
	int flush_pending; /* ios of the current phase */
	int flush_ret;
};

struct vhd_alloc {
	struct block_req *req; /* the write that needed the block */
	uint64_t sector;       /* its segment inside the block */
	uint32_t nsec;
	size_t byte_off; /* into req->iov */
	uint32_t blk;	 /* block being allocated */
	int pending;	 /* bitmap + data writes outstanding */
	int ret;
};

static void vhd_write_seg(struct block_dev *bd, struct block_req *req,
			  uint64_t sector, uint32_t nsec, size_t byte_off);

/* ---- reads ---- */

static void vhd_dispatch_read(struct block_dev *bd, struct block_req *req)
{
	struct vhd_bdev *vb = bd->priv;
	struct vhd *v = vb->vhd;
	uint64_t s = req->sector, end = req->sector + req->nsec;
	size_t off = 0;

	while (s < end) {
		uint32_t max = (uint32_t)MIN(end - s, 1u << 20);
		struct block_io *io;
		uint64_t foff = 0;
		size_t bytes;
		uint32_t run;
		int fd;

		run = vhd_resolve(v, s, max, &fd, &foff);
		bytes = (size_t)run * VHD_SECTOR;
		if (fd < 0) {
			block_iov_zero(req->iov, req->iovcnt, off, bytes);
		} else {
			io = block_io_new(bd, IO_READ, fd, foff, bytes);
			if (!io || block_io_set_iov(io, req->iov, req->iovcnt,
						    off, bytes)) {
				free(io);
				req->ret = -ENOMEM;
				return;
			}
			io->req = req;
			req->pending++;
			block_io_queue(io);
		}
		s += run;
		off += bytes;
	}
}

/* ---- writes ---- */

/* Set bitmap bits after data landed; the bitmap goes out at flush. */
static void vhd_mark_bits(struct block_dev *bd, uint64_t sector, uint32_t nsec)
{
	struct vhd_bdev *vb = bd->priv;
	struct vhd *v = vb->vhd;
	uint32_t blk = (uint32_t)(sector / v->block_sectors);
	uint32_t in = (uint32_t)(sector % v->block_sectors), i;
	uint8_t *bm = v->bitmaps[blk];
	bool changed = false;

	if (!bm || v->full[blk])
		return;
	for (i = in; i < in + nsec; i++) {
		if (!vhd_bit(bm, i)) {
			vhd_set_bit(bm, i);
			changed = true;
		}
	}
	if (changed) {
		v->bm_dirty[blk] = 1;
		vhd_update_full(v, blk);
	}
}

static void vhd_seg_done(struct block_io *io, int res)
{
	int ret = res < 0 ? res : ((uint64_t)res != io->len ? -EIO : 0);

	if (!ret)
		vhd_mark_bits(io->bd, io->arg,
			      (uint32_t)(io->len / VHD_SECTOR));
	block_req_put(io->req, ret);
}

static void vhd_wait(struct block_dev *bd, struct block_req *req,
		     uint64_t sector, uint32_t nsec, size_t byte_off)
{
	struct vhd_bdev *vb = bd->priv;
	struct vhd_wait *w = calloc(1, sizeof(*w));

	if (!w) {
		block_req_put(req, -ENOMEM);
		return;
	}
	w->req = req;
	w->sector = sector;
	w->nsec = nsec;
	w->byte_off = byte_off;
	STAILQ_INSERT_TAIL(&vb->waiters, w, link);
}

static void vhd_wake(struct block_dev *bd, int err)
{
	struct vhd_wait_list woken = STAILQ_HEAD_INITIALIZER(woken);
	struct vhd_bdev *vb = bd->priv;
	struct vhd_wait *w;

	/* Segments that must wait again queue themselves anew. */
	STAILQ_CONCAT(&woken, &vb->waiters);
	while ((w = STAILQ_FIRST(&woken))) {
		STAILQ_REMOVE_HEAD(&woken, link);
		if (err)
			block_req_put(w->req, err);
		else
			vhd_write_seg(bd, w->req, w->sector, w->nsec,
				      w->byte_off);
		free(w);
	}
}

static void vhd_alloc_finish(struct block_dev *bd, struct vhd_alloc *a, int ret)
{
	struct vhd_bdev *vb = bd->priv;
	struct vhd *v = vb->vhd;

	if (ret) {
		/* Forget the block; its space stays unused (orphaned). */
		free(v->bitmaps[a->blk]);
		v->bitmaps[a->blk] = NULL;
		v->bat[a->blk] = VHD_BAT_UNUSED;
		v->full[a->blk] = 0;
	} else {
		vhd_mark_bits(bd, a->sector, a->nsec);
		v->bat_dirty[a->blk / BAT_PER_SECTOR] = 1;
	}
	vb->allocating[a->blk] = 0;
	block_req_put(a->req, ret);
	free(a);
	vhd_wake(bd, 0);
}

static void vhd_alloc_step_done(struct block_io *io, int res)
{
	struct vhd_alloc *a = io->ctx;

	if (res < 0 && !a->ret)
		a->ret = res;
	else if (res >= 0 && (uint64_t)res != io->len && !a->ret)
		a->ret = -EIO;
	if (--a->pending == 0)
		vhd_alloc_finish(io->bd, a, a->ret);
}

static struct block_io *vhd_meta_io(struct block_dev *bd, const void *src,
				    size_t len, uint64_t off)
{
	struct block_io *io = block_io_new(bd, IO_WRITE, bd->fd, off, len);

	if (!io)
		return NULL;
	io->buf = block_aligned_alloc(len);
	if (!io->buf) {
		free(io);
		return NULL;
	}
	memcpy(io->buf, src, len);
	io->iov_inline[0].iov_base = io->buf;
	io->iov_inline[0].iov_len = len;
	io->iov = io->iov_inline;
	io->iovcnt = 1;
	return io;
}

/* Write the new block's bitmap and the data, in parallel. */
static void vhd_alloc_start(struct block_dev *bd, struct block_req *req,
			    uint64_t sector, uint32_t nsec, size_t byte_off)
{
	struct vhd_bdev *vb = bd->priv;
	struct vhd *v = vb->vhd;
	uint32_t blk = (uint32_t)(sector / v->block_sectors);
	uint64_t in = sector % v->block_sectors;
	struct block_io *bm = NULL, *data = NULL;
	struct vhd_alloc *a;
	int ret;

	a = calloc(1, sizeof(*a));
	if (!a) {
		block_req_put(req, -ENOMEM);
		return;
	}
	a->req = req;
	a->sector = sector;
	a->nsec = nsec;
	a->byte_off = byte_off;
	a->blk = blk;
	ret = vhd_alloc_block(v, blk, v->footer.disk_type == VHD_TYPE_DYNAMIC);
	if (ret) {
		free(a);
		block_req_put(req, ret);
		return;
	}
	vb->allocating[blk] = 1;
	bm = vhd_meta_io(bd, v->bitmaps[blk], v->bitmap_bytes,
			 (uint64_t)v->bat[blk] * VHD_SECTOR);
	data = block_io_new(bd, IO_WRITE, bd->fd,
			    vhd_block_data(v, blk) + in * VHD_SECTOR,
			    (uint64_t)nsec * VHD_SECTOR);
	if (!bm || !data ||
	    block_io_set_iov(data, req->iov, req->iovcnt, byte_off,
			     (size_t)nsec * VHD_SECTOR)) {
		if (bm) {
			free(bm->buf);
			free(bm);
		}
		free(data);
		vhd_alloc_finish(bd, a, -ENOMEM);
		return;
	}
	a->pending = 2;
	bm->done = vhd_alloc_step_done;
	bm->ctx = a;
	data->done = vhd_alloc_step_done;
	data->ctx = a;
	block_io_queue(bm);
	block_io_queue(data);
}

static void vhd_extend_done(struct block_io *io, int res)
{
	struct block_dev *bd = io->bd;
	struct vhd_bdev *vb = bd->priv;
	int ret = res < 0 ? res : ((uint64_t)res != io->len ? -EIO : 0);

	vb->extending = false;
	if (!ret) {
		vb->reserve_end = io->off;
		if (vb->ext_blocks < 32)
			vb->ext_blocks *= 2;
	}
	vhd_wake(bd, ret);
}

/*
 * Grow the file by a few blocks by writing the footer past them. Blocks
 * are only placed below a footer whose write has completed, so the file
 * always ends in a valid footer and an old footer write can never land on
 * a new block's bitmap.
 */
static void vhd_extend(struct block_dev *bd)
{
	struct vhd_bdev *vb = bd->priv;
	struct vhd *v = vb->vhd;
	uint64_t total = (uint64_t)v->bitmap_bytes + v->header.block_size;
	uint8_t footer[VHD_FOOTER_SIZE];
	uint64_t end = v->next_free;
	struct block_io *io;
	uint32_t i;

	for (i = 0; i < vb->ext_blocks; i++)
		end = vhd_slot(v, end) + total;
	vhd_footer_build(&v->footer, footer);
	io = vhd_meta_io(bd, footer, sizeof(footer), end);
	if (!io) {
		vhd_wake(bd, -ENOMEM);
		return;
	}
	vb->extending = true;
	io->done = vhd_extend_done;
	block_io_queue(io);
}

/* One write segment inside one block; owns one reference on @req. */
static void vhd_write_seg(struct block_dev *bd, struct block_req *req,
			  uint64_t sector, uint32_t nsec, size_t byte_off)
{
	struct vhd_bdev *vb = bd->priv;
	struct vhd *v = vb->vhd;
	uint32_t blk = (uint32_t)(sector / v->block_sectors);
	uint64_t in = sector % v->block_sectors;
	struct block_io *io;

	if (vb->allocating[blk]) {
		vhd_wait(bd, req, sector, nsec, byte_off);
		return;
	}
	if (v->bat[blk] == VHD_BAT_UNUSED) {
		uint64_t total =
			(uint64_t)v->bitmap_bytes + v->header.block_size;

		if (vhd_slot(v, v->next_free) + total <= vb->reserve_end) {
			vhd_alloc_start(bd, req, sector, nsec, byte_off);
			return;
		}
		vhd_wait(bd, req, sector, nsec, byte_off);
		if (!vb->extending)
			vhd_extend(bd);
		return;
	}
	io = block_io_new(bd, IO_WRITE, bd->fd,
			  vhd_block_data(v, blk) + in * VHD_SECTOR,
			  (uint64_t)nsec * VHD_SECTOR);
	if (!io || block_io_set_iov(io, req->iov, req->iovcnt, byte_off,
				    (size_t)nsec * VHD_SECTOR)) {
		free(io);
		block_req_put(req, -ENOMEM);
		return;
	}
	io->req = req;
	io->arg = sector;
	io->done = vhd_seg_done;
	block_io_queue(io);
}

static void vhd_dispatch_write(struct block_dev *bd, struct block_req *req)
{
	struct vhd_bdev *vb = bd->priv;
	struct vhd *v = vb->vhd;
	uint64_t s = req->sector, end = req->sector + req->nsec;
	size_t off = 0;

	while (s < end) {
		uint64_t left = v->block_sectors - s % v->block_sectors;
		uint32_t n = (uint32_t)MIN(left, end - s);

		req->pending++;
		vhd_write_seg(bd, req, s, n, off);
		s += n;
		off += (size_t)n * VHD_SECTOR;
	}
}

/* ---- flush ---- */

static void vhd_flush_start(struct block_dev *bd);

static void vhd_flush_end(struct block_dev *bd, int ret)
{
	struct vhd_bdev *vb = bd->priv;
	struct block_req *req = STAILQ_FIRST(&vb->flushq);

	STAILQ_REMOVE_HEAD(&vb->flushq, link);
	vb->flush_busy = false;
	block_req_put(req, ret);
	if (!STAILQ_EMPTY(&vb->flushq))
		vhd_flush_start(bd);
}

static void vhd_flush_sync2_done(struct block_io *io, int res)
{
	vhd_flush_end(io->bd, res < 0 ? res : 0);
}

static void vhd_flush_meta_done(struct block_io *io, int res)
{
	struct block_dev *bd = io->bd;
	struct vhd_bdev *vb = bd->priv;
	struct vhd *v = vb->vhd;
	struct block_io *sync;

	if (res < 0 || (uint64_t)res != io->len) {
		if (!vb->flush_ret)
			vb->flush_ret = res < 0 ? res : -EIO;
		/* Try again at the next flush. */
		if (io->arg & META_BAT_FLAG)
			v->bat_dirty[io->arg & ~META_BAT_FLAG] = 1;
		else
			v->bm_dirty[io->arg] = 1;
	}
	if (--vb->flush_pending)
		return;
	if (vb->flush_ret) {
		vhd_flush_end(bd, vb->flush_ret);
		return;
	}
	sync = block_io_new(bd, IO_FSYNC, bd->fd, 0, 0);
	if (!sync) {
		vhd_flush_end(bd, -ENOMEM);
		return;
	}
	sync->done = vhd_flush_sync2_done;
	block_io_queue(sync);
}

/* Build BAT sector @s as it may go to disk now. */
static void vhd_bat_sector(struct block_dev *bd, uint32_t s, uint8_t *buf)
{
	struct vhd_bdev *vb = bd->priv;
	struct vhd *v = vb->vhd;
	uint32_t i;

	for (i = 0; i < BAT_PER_SECTOR; i++) {
		uint64_t e = (uint64_t)s * BAT_PER_SECTOR + i;
		uint32_t val = VHD_BAT_UNUSED;

		if (e < v->header.max_entries && !vb->allocating[e])
			val = v->bat[e];
		put_be32(buf + 4 * i, val);
	}
}

static int vhd_flush_queue_meta(struct block_dev *bd, const void *src,
				size_t len, uint64_t off, uint64_t arg)
{
	struct vhd_bdev *vb = bd->priv;
	struct block_io *io = vhd_meta_io(bd, src, len, off);

	if (!io)
		return -ENOMEM;
	io->done = vhd_flush_meta_done;
	io->arg = arg;
	vb->flush_pending++;
	block_io_queue(io);
	return 0;
}

static void vhd_flush_sync1_done(struct block_io *io, int res)
{
	struct block_dev *bd = io->bd;
	struct vhd_bdev *vb = bd->priv;
	struct vhd *v = vb->vhd;
	uint32_t nsect =
		(uint32_t)(ALIGN_UP((uint64_t)v->header.max_entries * 4,
				    VHD_SECTOR) /
			   VHD_SECTOR);
	uint8_t buf[VHD_SECTOR];
	uint32_t i;

	if (res < 0) {
		vhd_flush_end(bd, res);
		return;
	}
	vb->flush_pending = 1; /* held while queueing */
	for (i = 0; i < v->header.max_entries; i++) {
		if (!v->bm_dirty[i])
			continue;
		v->bm_dirty[i] = 0;
		if (vhd_flush_queue_meta(bd, v->bitmaps[i], v->bitmap_bytes,
					 (uint64_t)v->bat[i] * VHD_SECTOR, i)) {
			v->bm_dirty[i] = 1;
			vb->flush_ret = -ENOMEM;
		}
	}
	for (i = 0; i < nsect; i++) {
		if (!v->bat_dirty[i])
			continue;
		v->bat_dirty[i] = 0;
		vhd_bat_sector(bd, i, buf);
		if (vhd_flush_queue_meta(bd, buf, sizeof(buf),
					 v->header.table_offset +
						 (uint64_t)i * VHD_SECTOR,
					 META_BAT_FLAG | i)) {
			v->bat_dirty[i] = 1;
			vb->flush_ret = -ENOMEM;
		}
	}
	if (vb->flush_pending == 1) {
		/* Nothing was dirty: one fdatasync was enough. */
		vb->flush_pending = 0;
		vhd_flush_end(bd, vb->flush_ret);
		return;
	}
	/* Drop the queueing reference like a completed metadata write. */
	io->len = 0;
	vhd_flush_meta_done(io, 0);
}

static void vhd_flush_start(struct block_dev *bd)
{
	struct vhd_bdev *vb = bd->priv;
	struct block_io *io = block_io_new(bd, IO_FSYNC, bd->fd, 0, 0);

	vb->flush_busy = true;
	vb->flush_ret = 0;
	if (!io) {
		vhd_flush_end(bd, -ENOMEM);
		return;
	}
	io->done = vhd_flush_sync1_done;
	block_io_queue(io);
}

static void vhd_dispatch_flush(struct block_dev *bd, struct block_req *req)
{
	struct vhd_bdev *vb = bd->priv;

	req->pending++;
	STAILQ_INSERT_TAIL(&vb->flushq, req, link);
	if (!vb->flush_busy)
		vhd_flush_start(bd);
}

/* ---- the driver ---- */

/* After the final flush: cut unused reserve so the file ends at its data. */
static void vhd_sparse_trim(struct block_dev *bd)
{
	struct vhd_bdev *vb = bd->priv;
	struct vhd *v = vb->vhd;
	struct stat st;
	int ret;

	if (!bd->readonly && !bd->crashed && fstat(bd->fd, &st) == 0 &&
	    (uint64_t)st.st_size != v->next_free + VHD_FOOTER_SIZE) {
		ret = vhd_write_footer(v);
		if (ret)
			pr_err("%s: trimming the file: %s", bd->path,
			       strerror(-ret));
	}
}

static void vhd_bdev_free(struct vhd_bdev *vb)
{
	vhd_close(vb->vhd);
	free(vb->allocating);
	free(vb);
}

static void vhd_drv_close(struct block_dev *bd)
{
	struct vhd_bdev *vb = bd->priv;

	if (vhd_is_sparse(vb->vhd))
		vhd_sparse_trim(bd);
	vhd_bdev_free(vb);
	bd->priv = NULL;
}

static const char *vhd_drv_name(const struct block_dev *bd)
{
	const struct vhd_bdev *vb = bd->priv;

	switch (vb->vhd->footer.disk_type) {
	case VHD_TYPE_FIXED:
		return "vhd-fixed";
	case VHD_TYPE_DIFF:
		return "vhd-differencing";
	default:
		return "vhd-dynamic";
	}
}

static const struct block_ops vhd_fixed_ops = {
	.format_name = vhd_drv_name,
	.read = block_raw_rw,
	.write = block_raw_rw,
	.flush = block_raw_flush,
	.discard = block_raw_discard,
	.close = vhd_drv_close,
};

/* Discard on a sparse disk is advisory and does nothing: NULL. */
static const struct block_ops vhd_sparse_ops = {
	.format_name = vhd_drv_name,
	.read = vhd_dispatch_read,
	.write = vhd_dispatch_write,
	.flush = vhd_dispatch_flush,
	.close = vhd_drv_close,
};

static int vhd_sparse_init(struct vhd_bdev *vb)
{
	struct vhd *v = vb->vhd;

	vb->allocating =
		calloc(v->header.max_entries ? v->header.max_entries : 1, 1);
	if (!vb->allocating)
		return -ENOMEM;
	/* The footer sits at next_free: no room until the first extension. */
	vb->reserve_end = v->next_free;
	vb->ext_blocks = 2;
	return 0;
}

static int vhd_drv_open(struct block_dev *bd, bool direct)
{
	unsigned int flags = (bd->readonly ? 0 : VHD_OPEN_RDWR) |
			     (direct ? VHD_OPEN_DIRECT : 0);
	struct vhd_bdev *vb = calloc(1, sizeof(*vb));
	int ret;

	if (!vb)
		return -ENOMEM;
	STAILQ_INIT(&vb->waiters);
	STAILQ_INIT(&vb->flushq);
	ret = vhd_open(bd->path, flags, &vb->vhd);
	if (ret) {
		free(vb);
		return ret;
	}
	if (vhd_is_sparse(vb->vhd)) {
		ret = vhd_sparse_init(vb);
		if (ret) {
			vhd_bdev_free(vb);
			return ret;
		}
	}
	bd->priv = vb;
	bd->fd = vb->vhd->fd;
	bd->direct = vb->vhd->direct;
	bd->size = vb->vhd->size;
	bd->ops = vhd_is_sparse(vb->vhd) ? &vhd_sparse_ops : &vhd_fixed_ops;
	if (vb->vhd->footer.saved_state)
		pr_warn("%s: image is marked as in a saved state", bd->path);
	return 0;
}

const struct block_driver block_driver_vhd = {
	.name = "vhd",
	.alias = "vpc",
	.format = BLOCK_FORMAT_VHD,
	.probe = vhd_probe,
	.open = vhd_drv_open,
};

struct vhd *block_vhd(const struct block_dev *bd)
{
	const struct vhd_bdev *vb = bd->priv;

	return bd->driver == &block_driver_vhd ? vb->vhd : NULL;
}
