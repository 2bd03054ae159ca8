// SPDX-License-Identifier: MIT
/*
 * block: the asynchronous block backend core. One io_uring per open disk
 * with an eventfd for completions, requests split into io_uring operations,
 * O_DIRECT bouncing, the data path of raw files, host block devices and
 * VHD fixed disks (a raw file with a footer), and the synchronous helpers
 * used by tools. Sparse VHD (dynamic/differencing) I/O is in block_vhd.c,
 * opening and closing in block_open.c.
 */
#include "block_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_IOV 1024

void *block_aligned_alloc(size_t len)
{
	void *p;

	if (posix_memalign(&p, 4096, ALIGN_UP(len ? len : 1, 512)))
		return NULL;
	return p;
}

/* ---- iovec helpers ---- */

static size_t block_iov_total(const struct iovec *iov, int iovcnt)
{
	size_t t = 0;
	int i;

	for (i = 0; i < iovcnt; i++)
		t += iov[i].iov_len;
	return t;
}

static bool block_iov_aligned(const struct iovec *iov, int iovcnt)
{
	int i;

	for (i = 0; i < iovcnt; i++)
		if (!IS_ALIGNED((uintptr_t)iov[i].iov_base, 512) ||
		    !IS_ALIGNED(iov[i].iov_len, 512))
			return false;
	return true;
}

/* Copy between a flat buffer and iovecs; @to_iov picks the direction. */
static void block_iov_copy(const struct iovec *iov, int iovcnt, uint8_t *flat,
			   bool to_iov)
{
	int i;

	for (i = 0; i < iovcnt; i++) {
		if (to_iov)
			memcpy(iov[i].iov_base, flat, iov[i].iov_len);
		else
			memcpy(flat, iov[i].iov_base, iov[i].iov_len);
		flat += iov[i].iov_len;
	}
}

void block_iov_zero(const struct iovec *iov, int iovcnt, size_t off, size_t len)
{
	int i;

	for (i = 0; i < iovcnt && len; i++) {
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = MIN(len, iov[i].iov_len - off);
		memset((uint8_t *)iov[i].iov_base + off, 0, n);
		len -= n;
		off = 0;
	}
}

/* ---- io_uring operations ---- */

struct block_io *block_io_new(struct block_dev *bd, enum block_io_kind kind,
			      int fd, uint64_t off, uint64_t len)
{
	struct block_io *io = calloc(1, sizeof(*io));

	if (!io)
		return NULL;
	io->bd = bd;
	io->kind = kind;
	io->fd = fd;
	io->off = off;
	io->len = len;
	io->done = block_io_done_req;
	return io;
}

/* Point @io at bytes [off, off+len) of @iov. */
int block_io_set_iov(struct block_io *io, const struct iovec *iov, int iovcnt,
		     size_t off, size_t len)
{
	struct iovec *out = io->iov_inline;
	int i, n = 0;

	if (iovcnt > IO_INLINE_IOV) {
		out = calloc((size_t)iovcnt, sizeof(*out));
		if (!out)
			return -ENOMEM;
	}
	for (i = 0; i < iovcnt && len; i++) {
		size_t take;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = MIN(len, iov[i].iov_len - off);
		out[n].iov_base = (uint8_t *)iov[i].iov_base + off;
		out[n].iov_len = take;
		n++;
		len -= take;
		off = 0;
	}
	io->iov = out;
	io->iovcnt = n;
	return 0;
}

static void block_io_free(struct block_io *io)
{
	if (io->iov && io->iov != io->iov_inline)
		free(io->iov);
	free(io->buf);
	free(io);
}

static void block_io_fake_complete(struct block_io *io, int res)
{
	struct block_dev *bd = io->bd;
	uint64_t one = 1;

	io->res = res;
	io->next = NULL;
	if (bd->fake_tail)
		bd->fake_tail->next = io;
	else
		bd->fake = io;
	bd->fake_tail = io;
	if (write(bd->efd, &one, sizeof(one)) < 0) {
		/* The counter is already non-zero. */
	}
}

static bool block_io_to_ring(struct block_io *io)
{
	struct block_dev *bd = io->bd;
	struct io_uring_sqe *sqe;

	if (bd->inflight >= bd->ring_entries)
		return false;
	sqe = io_uring_get_sqe(&bd->ring);
	if (!sqe) {
		io_uring_submit(&bd->ring);
		bd->queued = 0;
		sqe = io_uring_get_sqe(&bd->ring);
		if (!sqe)
			return false;
	}
	switch (io->kind) {
	case IO_READ:
		io_uring_prep_readv(sqe, io->fd, io->iov, (unsigned)io->iovcnt,
				    io->off);
		break;
	case IO_WRITE:
		io_uring_prep_writev(sqe, io->fd, io->iov, (unsigned)io->iovcnt,
				     io->off);
		break;
	case IO_FSYNC:
		io_uring_prep_fsync(sqe, io->fd, IORING_FSYNC_DATASYNC);
		break;
	case IO_PUNCH:
		io_uring_prep_fallocate(
		    sqe, io->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		    (off_t)io->off, (off_t)io->len);
		break;
	}
	io_uring_sqe_set_data(sqe, io);
	bd->inflight++;
	bd->queued++;
	return true;
}

/* Hand an operation to the ring (or the backlog when it is full). */
void block_io_queue(struct block_io *io)
{
	struct block_dev *bd = io->bd;

	if (bd->crash_after >= 0 && !bd->crashed && bd->crash_after-- == 0)
		bd->crashed = true;
	if (bd->crashed || (bd->fail_nth >= 0 && bd->fail_nth-- == 0)) {
		block_io_fake_complete(io, -EIO);
		return;
	}
	if (!bd->backlog && block_io_to_ring(io))
		return;
	io->next = NULL;
	if (bd->backlog_tail)
		bd->backlog_tail->next = io;
	else
		bd->backlog = io;
	bd->backlog_tail = io;
}

static void block_io_kick(struct block_dev *bd)
{
	while (bd->backlog && block_io_to_ring(bd->backlog)) {
		bd->backlog = bd->backlog->next;
		if (!bd->backlog)
			bd->backlog_tail = NULL;
	}
	if (bd->queued) {
		io_uring_submit(&bd->ring);
		bd->queued = 0;
	}
}

void block_req_put(struct block_req *req, int ret)
{
	struct block_dev *bd = req->bd;

	if (ret && !req->ret)
		req->ret = ret;
	if (--req->pending)
		return;
	if (req->bounce && req->op == REQ_READ && !req->ret)
		block_iov_copy(req->uiov, req->uiovcnt, req->bounce, true);
	req->next = NULL;
	if (bd->done_tail)
		bd->done_tail->next = req;
	else
		bd->done = req;
	bd->done_tail = req;
}

/* Default completion: account the result to the request. */
void block_io_done_req(struct block_io *io, int res)
{
	int ret = 0;

	if (res < 0)
		ret = res;
	else if (io->kind != IO_FSYNC && io->kind != IO_PUNCH &&
		 (uint64_t)res != io->len)
		ret = -EIO;
	if (io->kind == IO_PUNCH && (res == -EOPNOTSUPP || res == -ENOTTY))
		ret = 0;
	if (io->req)
		block_req_put(io->req, ret);
}

static void block_io_complete(struct block_io *io, int res)
{
	io->done(io, res);
	block_io_free(io);
}

/* ---- requests ---- */

static struct block_req *block_req_new(struct block_dev *bd,
				       enum block_req_op op, uint64_t sector,
				       const struct iovec *iov, int iovcnt,
				       block_done_fn cb, void *opaque)
{
	size_t bytes = iov ? block_iov_total(iov, iovcnt) : 0;
	struct block_req *req;
	size_t isz = (size_t)(iovcnt > 0 ? iovcnt : 1) * sizeof(*iov);

	req = calloc(1, sizeof(*req));
	if (!req)
		return NULL;
	req->bd = bd;
	req->op = op;
	req->sector = sector;
	req->nsec = bytes / BLOCK_SECTOR_SIZE;
	req->cb = cb;
	req->opaque = opaque;
	req->pending = 1;
	if (!iov)
		return req;
	req->iov = malloc(isz);
	if (!req->iov)
		goto err_free;
	memcpy(req->iov, iov, (size_t)iovcnt * sizeof(*iov));
	req->iovcnt = iovcnt;
	if ((bd->direct && !block_iov_aligned(iov, iovcnt)) ||
	    iovcnt > MAX_IOV) {
		req->bounce = block_aligned_alloc(bytes);
		if (!req->bounce)
			goto err_free;
		req->uiov = req->iov;
		req->uiovcnt = iovcnt;
		req->iov = malloc(sizeof(*req->iov));
		if (!req->iov)
			goto err_free;
		req->iov[0].iov_base = req->bounce;
		req->iov[0].iov_len = bytes;
		req->iovcnt = 1;
		if (op == REQ_WRITE)
			block_iov_copy(req->uiov, req->uiovcnt, req->bounce,
				       false);
	}
	return req;
err_free:
	free(req->bounce);
	free(req->uiov);
	free(req->iov);
	free(req);
	return NULL;
}

static void block_req_free(struct block_req *req)
{
	free(req->bounce);
	free(req->uiov);
	free(req->iov);
	free(req);
}

static int block_req_check(struct block_dev *bd, uint64_t sector,
			   const struct iovec *iov, int iovcnt, bool write)
{
	size_t bytes;

	if (iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	bytes = block_iov_total(iov, iovcnt);
	if (!IS_ALIGNED(bytes, BLOCK_SECTOR_SIZE))
		return -EINVAL;
	if (sector > bd->size / BLOCK_SECTOR_SIZE ||
	    bytes / BLOCK_SECTOR_SIZE > bd->size / BLOCK_SECTOR_SIZE - sector)
		return -EINVAL;
	if (write && bd->readonly)
		return -EROFS;
	return 0;
}

static void block_dispatch_plain(struct block_dev *bd, struct block_req *req)
{
	struct block_io *io;
	enum block_io_kind kind = req->op == REQ_READ ? IO_READ : IO_WRITE;
	uint64_t bytes = req->nsec * BLOCK_SECTOR_SIZE;

	if (!bytes)
		return;
	io = block_io_new(bd, kind, bd->fd, req->sector * BLOCK_SECTOR_SIZE,
			  bytes);
	if (!io || block_io_set_iov(io, req->iov, req->iovcnt, 0, bytes)) {
		free(io);
		req->ret = -ENOMEM;
		return;
	}
	io->req = req;
	req->pending++;
	block_io_queue(io);
}

static int block_submit(struct block_dev *bd, struct block_req *req)
{
	uint64_t one = 1;

	pthread_mutex_lock(&bd->lock);
	bd->reqs++;
	switch (req->op) {
	case REQ_READ:
		if (bd->kind == BLOCK_KIND_VHD_SPARSE)
			vhd_dispatch_read(bd, req);
		else
			block_dispatch_plain(bd, req);
		break;
	case REQ_WRITE:
		if (bd->kind == BLOCK_KIND_VHD_SPARSE)
			vhd_dispatch_write(bd, req);
		else
			block_dispatch_plain(bd, req);
		break;
	case REQ_FLUSH:
		if (bd->kind == BLOCK_KIND_VHD_SPARSE) {
			vhd_dispatch_flush(bd, req);
		} else if (!bd->readonly) {
			struct block_io *io =
			    block_io_new(bd, IO_FSYNC, bd->fd, 0, 0);

			if (!io) {
				req->ret = -ENOMEM;
				break;
			}
			io->req = req;
			req->pending++;
			block_io_queue(io);
		}
		break;
	case REQ_DISCARD:
		if (bd->kind != BLOCK_KIND_VHD_SPARSE && req->nsec) {
			struct block_io *io =
			    block_io_new(bd, IO_PUNCH, bd->fd,
					 req->sector * BLOCK_SECTOR_SIZE,
					 req->nsec * BLOCK_SECTOR_SIZE);

			if (!io) {
				req->ret = -ENOMEM;
				break;
			}
			io->req = req;
			req->pending++;
			block_io_queue(io);
		}
		break;
	}
	/* Drop the dispatch reference; a finished request is called back
	 * from block_process_completions(), never from here. */
	block_req_put(req, 0);
	block_io_kick(bd);
	if (bd->done && write(bd->efd, &one, sizeof(one)) < 0) {
		/* Already signalled. */
	}
	pthread_mutex_unlock(&bd->lock);
	return 0;
}

int block_readv(struct block_dev *bd, uint64_t sector, const struct iovec *iov,
		int iovcnt, block_done_fn cb, void *opaque)
{
	struct block_req *req;
	int ret = block_req_check(bd, sector, iov, iovcnt, false);

	if (ret)
		return ret;
	req = block_req_new(bd, REQ_READ, sector, iov, iovcnt, cb, opaque);
	if (!req)
		return -ENOMEM;
	return block_submit(bd, req);
}

int block_writev(struct block_dev *bd, uint64_t sector, const struct iovec *iov,
		 int iovcnt, block_done_fn cb, void *opaque)
{
	struct block_req *req;
	int ret = block_req_check(bd, sector, iov, iovcnt, true);

	if (ret)
		return ret;
	req = block_req_new(bd, REQ_WRITE, sector, iov, iovcnt, cb, opaque);
	if (!req)
		return -ENOMEM;
	return block_submit(bd, req);
}

int block_flush(struct block_dev *bd, block_done_fn cb, void *opaque)
{
	struct block_req *req =
	    block_req_new(bd, REQ_FLUSH, 0, NULL, 0, cb, opaque);

	if (!req)
		return -ENOMEM;
	return block_submit(bd, req);
}

int block_discard(struct block_dev *bd, uint64_t sector, uint64_t nsec,
		  block_done_fn cb, void *opaque)
{
	struct block_req *req;

	if (sector > bd->size / BLOCK_SECTOR_SIZE ||
	    nsec > bd->size / BLOCK_SECTOR_SIZE - sector)
		return -EINVAL;
	if (bd->readonly)
		return -EROFS;
	req = block_req_new(bd, REQ_DISCARD, sector, NULL, 0, cb, opaque);
	if (!req)
		return -ENOMEM;
	req->nsec = nsec;
	return block_submit(bd, req);
}

int block_completion_fd(const struct block_dev *bd)
{
	return bd->efd;
}

int block_process_completions(struct block_dev *bd)
{
	struct io_uring_cqe *cqe;
	struct block_req *done, *next;
	uint64_t cnt;
	int n = 0;

	if (read(bd->efd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: nothing signalled; still look at the ring. */
	}
	pthread_mutex_lock(&bd->lock);
	for (;;) {
		bool any = false;

		while (io_uring_peek_cqe(&bd->ring, &cqe) == 0) {
			struct block_io *io = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&bd->ring, cqe);
			bd->inflight--;
			block_io_complete(io, res);
			any = true;
		}
		while (bd->fake) {
			struct block_io *io = bd->fake;

			bd->fake = io->next;
			if (!bd->fake)
				bd->fake_tail = NULL;
			block_io_complete(io, io->res);
			any = true;
		}
		block_io_kick(bd);
		if (!any)
			break;
	}
	done = bd->done;
	bd->done = bd->done_tail = NULL;
	pthread_mutex_unlock(&bd->lock);

	for (; done; done = next) {
		next = done->next;
		done->cb(done->opaque, done->ret);
		block_req_free(done);
		n++;
	}
	if (n) {
		pthread_mutex_lock(&bd->lock);
		bd->reqs -= (unsigned int)n;
		pthread_mutex_unlock(&bd->lock);
	}
	return n;
}

void block_evloop_ready(void *bd, uint32_t events)
{
	(void)events;
	block_process_completions(bd);
}

/* ---- synchronous helpers ---- */

struct block_waiter {
	int done;
	int ret;
};

static void block_sync_done(void *opaque, int ret)
{
	struct block_waiter *w = opaque;

	w->ret = ret;
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
}

static int block_sync_wait(struct block_dev *bd, struct block_waiter *w)
{
	struct pollfd pfd = {.fd = bd->efd, .events = POLLIN};

	while (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
		block_process_completions(bd);
		if (__atomic_load_n(&w->done, __ATOMIC_ACQUIRE))
			break;
		poll(&pfd, 1, 100);
	}
	return w->ret;
}

int block_read_sync(struct block_dev *bd, uint64_t sector, void *buf,
		    size_t nsec)
{
	struct iovec iov = {buf, nsec * BLOCK_SECTOR_SIZE};
	struct block_waiter w = {0, 0};
	int ret = block_readv(bd, sector, &iov, 1, block_sync_done, &w);

	return ret ? ret : block_sync_wait(bd, &w);
}

int block_write_sync(struct block_dev *bd, uint64_t sector, const void *buf,
		     size_t nsec)
{
	struct iovec iov = {(void *)buf, nsec * BLOCK_SECTOR_SIZE};
	struct block_waiter w = {0, 0};
	int ret = block_writev(bd, sector, &iov, 1, block_sync_done, &w);

	return ret ? ret : block_sync_wait(bd, &w);
}

int block_flush_sync(struct block_dev *bd)
{
	struct block_waiter w = {0, 0};
	int ret = block_flush(bd, block_sync_done, &w);

	return ret ? ret : block_sync_wait(bd, &w);
}

int block_discard_sync(struct block_dev *bd, uint64_t sector, uint64_t nsec)
{
	struct block_waiter w = {0, 0};
	int ret = block_discard(bd, sector, nsec, block_sync_done, &w);

	return ret ? ret : block_sync_wait(bd, &w);
}

void block_debug_fail_nth(struct block_dev *bd, long n)
{
	pthread_mutex_lock(&bd->lock);
	bd->fail_nth = n;
	pthread_mutex_unlock(&bd->lock);
}

void block_debug_crash_after(struct block_dev *bd, long n)
{
	pthread_mutex_lock(&bd->lock);
	bd->crash_after = n;
	bd->crashed = false;
	pthread_mutex_unlock(&bd->lock);
}
