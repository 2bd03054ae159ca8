// SPDX-License-Identifier: MIT
/*
 * block_vhd: the asynchronous data path of dynamic and differencing VHDs.
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

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#define BAT_PER_SECTOR (VHD_SECTOR / 4)
#define META_BAT_FLAG (1ULL << 63)

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

void vhd_dispatch_read(struct block_dev *bd, struct block_req *req)
{
	struct vhd *v = bd->vhd;
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
	struct vhd *v = bd->vhd;
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
	struct block_wait *w = calloc(1, sizeof(*w));

	if (!w) {
		block_req_put(req, -ENOMEM);
		return;
	}
	w->req = req;
	w->sector = sector;
	w->nsec = nsec;
	w->byte_off = byte_off;
	if (bd->waiters_tail)
		bd->waiters_tail->next = w;
	else
		bd->waiters = w;
	bd->waiters_tail = w;
}

static void vhd_wake(struct block_dev *bd, int err)
{
	struct block_wait *w = bd->waiters, *next;

	bd->waiters = bd->waiters_tail = NULL;
	for (; w; w = next) {
		next = w->next;
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
	struct vhd *v = bd->vhd;

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
	bd->allocating[a->blk] = 0;
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
	struct vhd *v = bd->vhd;
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
	bd->allocating[blk] = 1;
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
	int ret = res < 0 ? res : ((uint64_t)res != io->len ? -EIO : 0);

	bd->extending = false;
	if (!ret) {
		bd->reserve_end = io->off;
		if (bd->ext_blocks < 32)
			bd->ext_blocks *= 2;
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
	struct vhd *v = bd->vhd;
	uint64_t total = (uint64_t)v->bitmap_bytes + v->header.block_size;
	uint8_t footer[VHD_FOOTER_SIZE];
	uint64_t end = v->next_free;
	struct block_io *io;
	uint32_t i;

	for (i = 0; i < bd->ext_blocks; i++)
		end = vhd_slot(v, end) + total;
	vhd_footer_build(&v->footer, footer);
	io = vhd_meta_io(bd, footer, sizeof(footer), end);
	if (!io) {
		vhd_wake(bd, -ENOMEM);
		return;
	}
	bd->extending = true;
	io->done = vhd_extend_done;
	block_io_queue(io);
}

/* One write segment inside one block; owns one reference on @req. */
static void vhd_write_seg(struct block_dev *bd, struct block_req *req,
			  uint64_t sector, uint32_t nsec, size_t byte_off)
{
	struct vhd *v = bd->vhd;
	uint32_t blk = (uint32_t)(sector / v->block_sectors);
	uint64_t in = sector % v->block_sectors;
	struct block_io *io;

	if (bd->allocating[blk]) {
		vhd_wait(bd, req, sector, nsec, byte_off);
		return;
	}
	if (v->bat[blk] == VHD_BAT_UNUSED) {
		uint64_t total =
		    (uint64_t)v->bitmap_bytes + v->header.block_size;

		if (vhd_slot(v, v->next_free) + total <= bd->reserve_end) {
			vhd_alloc_start(bd, req, sector, nsec, byte_off);
			return;
		}
		vhd_wait(bd, req, sector, nsec, byte_off);
		if (!bd->extending)
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

void vhd_dispatch_write(struct block_dev *bd, struct block_req *req)
{
	struct vhd *v = bd->vhd;
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
	struct block_req *req = bd->flushq;

	bd->flushq = req->next;
	if (!bd->flushq)
		bd->flushq_tail = NULL;
	bd->flush_busy = false;
	block_req_put(req, ret);
	if (bd->flushq)
		vhd_flush_start(bd);
}

static void vhd_flush_sync2_done(struct block_io *io, int res)
{
	vhd_flush_end(io->bd, res < 0 ? res : 0);
}

static void vhd_flush_meta_done(struct block_io *io, int res)
{
	struct block_dev *bd = io->bd;
	struct vhd *v = bd->vhd;
	struct block_io *sync;

	if (res < 0 || (uint64_t)res != io->len) {
		if (!bd->flush_ret)
			bd->flush_ret = res < 0 ? res : -EIO;
		/* Try again at the next flush. */
		if (io->arg & META_BAT_FLAG)
			v->bat_dirty[io->arg & ~META_BAT_FLAG] = 1;
		else
			v->bm_dirty[io->arg] = 1;
	}
	if (--bd->flush_pending)
		return;
	if (bd->flush_ret) {
		vhd_flush_end(bd, bd->flush_ret);
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
	struct vhd *v = bd->vhd;
	uint32_t i;

	for (i = 0; i < BAT_PER_SECTOR; i++) {
		uint64_t e = (uint64_t)s * BAT_PER_SECTOR + i;
		uint32_t val = VHD_BAT_UNUSED;

		if (e < v->header.max_entries && !bd->allocating[e])
			val = v->bat[e];
		put_be32(buf + 4 * i, val);
	}
}

static int vhd_flush_queue_meta(struct block_dev *bd, const void *src,
				size_t len, uint64_t off, uint64_t arg)
{
	struct block_io *io = vhd_meta_io(bd, src, len, off);

	if (!io)
		return -ENOMEM;
	io->done = vhd_flush_meta_done;
	io->arg = arg;
	bd->flush_pending++;
	block_io_queue(io);
	return 0;
}

static void vhd_flush_sync1_done(struct block_io *io, int res)
{
	struct block_dev *bd = io->bd;
	struct vhd *v = bd->vhd;
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
	bd->flush_pending = 1; /* held while queueing */
	for (i = 0; i < v->header.max_entries; i++) {
		if (!v->bm_dirty[i])
			continue;
		v->bm_dirty[i] = 0;
		if (vhd_flush_queue_meta(bd, v->bitmaps[i], v->bitmap_bytes,
					 (uint64_t)v->bat[i] * VHD_SECTOR, i)) {
			v->bm_dirty[i] = 1;
			bd->flush_ret = -ENOMEM;
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
			bd->flush_ret = -ENOMEM;
		}
	}
	if (bd->flush_pending == 1) {
		/* Nothing was dirty: one fdatasync was enough. */
		bd->flush_pending = 0;
		vhd_flush_end(bd, bd->flush_ret);
		return;
	}
	/* Drop the queueing reference like a completed metadata write. */
	io->len = 0;
	vhd_flush_meta_done(io, 0);
}

static void vhd_flush_start(struct block_dev *bd)
{
	struct block_io *io = block_io_new(bd, IO_FSYNC, bd->fd, 0, 0);

	bd->flush_busy = true;
	bd->flush_ret = 0;
	if (!io) {
		vhd_flush_end(bd, -ENOMEM);
		return;
	}
	io->done = vhd_flush_sync1_done;
	block_io_queue(io);
}

void vhd_dispatch_flush(struct block_dev *bd, struct block_req *req)
{
	if (bd->readonly)
		return;
	req->pending++;
	req->next = NULL;
	if (bd->flushq_tail)
		bd->flushq_tail->next = req;
	else
		bd->flushq = req;
	bd->flushq_tail = req;
	if (!bd->flush_busy)
		vhd_flush_start(bd);
}

/* ---- lifecycle ---- */

int vhd_block_init(struct block_dev *bd)
{
	struct vhd *v = bd->vhd;

	bd->allocating =
	    calloc(v->header.max_entries ? v->header.max_entries : 1, 1);
	if (!bd->allocating)
		return -ENOMEM;
	/* The footer sits at next_free: no room until the first extension. */
	bd->reserve_end = v->next_free;
	bd->ext_blocks = 2;
	return 0;
}

/* After the final flush: cut unused reserve so the file ends at its data. */
void vhd_block_fini(struct block_dev *bd)
{
	struct vhd *v = bd->vhd;
	struct stat st;
	int ret;

	if (!bd->readonly && !bd->crashed && fstat(bd->fd, &st) == 0 &&
	    (uint64_t)st.st_size != v->next_free + VHD_FOOTER_SIZE) {
		ret = vhd_write_footer(v);
		if (ret)
			pr_err("%s: trimming the file: %s", bd->path,
			       strerror(-ret));
	}
	free(bd->allocating);
	bd->allocating = NULL;
}
