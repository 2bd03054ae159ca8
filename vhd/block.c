// SPDX-License-Identifier: MIT
/*
 * block: the generic block layer. Requests (validation, O_DIRECT bounce
 * buffers, reference counting), submission through the disk's data path
 * (struct block_ops, set by its driver), callbacks run from
 * block_process_completions(), and the synchronous helpers used by tools.
 * No format is named here: the engine is block_uring.c, the drivers are
 * listed in block_drivers.c, opening and closing is block_open.c.
 */
#include "block_int.h"

#include <errno.h>
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

/* ---- requests ---- */

/* Drop one reference; the last queues the request for its callback. */
void block_req_put(struct block_req *req, int ret)
{
	struct block_dev *bd = req->bd;

	if (ret && !req->ret)
		req->ret = ret;
	if (--req->pending)
		return;
	if (req->bounce && req->op == REQ_READ && !req->ret)
		block_iov_copy(req->uiov, req->uiovcnt, req->bounce, true);
	STAILQ_INSERT_TAIL(&bd->done, req, link);
}

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

static int block_submit(struct block_dev *bd, struct block_req *req)
{
	const struct block_ops *ops = bd->ops;

	pthread_mutex_lock(&bd->lock);
	bd->reqs++;
	switch (req->op) {
	case REQ_READ:
		if (req->nsec)
			ops->read(bd, req);
		break;
	case REQ_WRITE:
		if (req->nsec)
			ops->write(bd, req);
		break;
	case REQ_FLUSH:
		if (!bd->readonly)
			ops->flush(bd, req);
		break;
	case REQ_DISCARD:
		if (req->nsec && ops->discard)
			ops->discard(bd, req);
		break;
	}
	/* Drop the dispatch reference; a finished request is called back
	 * from block_process_completions(), never from here. */
	block_req_put(req, 0);
	block_io_kick(bd);
	if (!STAILQ_EMPTY(&bd->done))
		block_uring_signal(bd);
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

uint64_t block_size(const struct block_dev *bd)
{
	return bd->size;
}

const char *block_format_name(const struct block_dev *bd)
{
	return bd->ops->format_name(bd);
}

int block_completion_fd(const struct block_dev *bd)
{
	return bd->efd;
}

int block_process_completions(struct block_dev *bd)
{
	struct block_req_list done = STAILQ_HEAD_INITIALIZER(done);
	struct block_req *req;
	uint64_t cnt;
	int n = 0;

	if (read(bd->efd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: nothing signalled; still look at the ring. */
	}
	pthread_mutex_lock(&bd->lock);
	block_uring_reap(bd);
	STAILQ_CONCAT(&done, &bd->done);
	pthread_mutex_unlock(&bd->lock);

	while ((req = STAILQ_FIRST(&done))) {
		STAILQ_REMOVE_HEAD(&done, link);
		req->cb(req->opaque, req->ret);
		block_req_free(req);
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
	struct pollfd pfd = { .fd = bd->efd, .events = POLLIN };

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
	struct iovec iov = { buf, nsec * BLOCK_SECTOR_SIZE };
	struct block_waiter w = { 0, 0 };
	int ret = block_readv(bd, sector, &iov, 1, block_sync_done, &w);

	return ret ? ret : block_sync_wait(bd, &w);
}

int block_write_sync(struct block_dev *bd, uint64_t sector, const void *buf,
		     size_t nsec)
{
	struct iovec iov = { (void *)buf, nsec * BLOCK_SECTOR_SIZE };
	struct block_waiter w = { 0, 0 };
	int ret = block_writev(bd, sector, &iov, 1, block_sync_done, &w);

	return ret ? ret : block_sync_wait(bd, &w);
}

int block_flush_sync(struct block_dev *bd)
{
	struct block_waiter w = { 0, 0 };
	int ret = block_flush(bd, block_sync_done, &w);

	return ret ? ret : block_sync_wait(bd, &w);
}

int block_discard_sync(struct block_dev *bd, uint64_t sector, uint64_t nsec)
{
	struct block_waiter w = { 0, 0 };
	int ret = block_discard(bd, sector, nsec, block_sync_done, &w);

	return ret ? ret : block_sync_wait(bd, &w);
}
