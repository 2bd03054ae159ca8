// SPDX-License-Identifier: MIT
/*
 * block_uring: the block layer's I/O engine. One io_uring per open disk
 * with an eventfd registered for completions; operations (struct block_io)
 * go to the ring, or to a backlog while the ring is full, and their done
 * hooks run under bd->lock when they end. The test hooks (crash after N
 * operations, fail the Nth) sit here, where every operation passes: a
 * failed or "crashed" operation never reaches the file and completes
 * through a side list that signals the same eventfd.
 */
#include "block_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* ---- operations ---- */

static void block_io_free(struct block_io *io)
{
	if (io->iov && io->iov != io->iov_inline)
		free(io->iov);
	free(io->buf);
	free(io);
}

void block_uring_signal(struct block_dev *bd)
{
	uint64_t one = 1;

	if (write(bd->efd, &one, sizeof(one)) < 0) {
		/* The counter is already non-zero. */
	}
}

static void block_io_fake_complete(struct block_io *io, int res)
{
	struct block_dev *bd = io->bd;

	io->res = res;
	STAILQ_INSERT_TAIL(&bd->fake, io, link);
	block_uring_signal(bd);
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
	if (STAILQ_EMPTY(&bd->backlog) && block_io_to_ring(io))
		return;
	STAILQ_INSERT_TAIL(&bd->backlog, io, link);
}

void block_io_kick(struct block_dev *bd)
{
	struct block_io *io;

	while ((io = STAILQ_FIRST(&bd->backlog)) && block_io_to_ring(io))
		STAILQ_REMOVE_HEAD(&bd->backlog, link);
	if (bd->queued) {
		io_uring_submit(&bd->ring);
		bd->queued = 0;
	}
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

/* Done hooks may queue more operations: loop until nothing ends. */
void block_uring_reap(struct block_dev *bd)
{
	struct io_uring_cqe *cqe;
	struct block_io *io;
	bool any;

	do {
		any = false;
		while (io_uring_peek_cqe(&bd->ring, &cqe) == 0) {
			int res = cqe->res;

			io = io_uring_cqe_get_data(cqe);
			io_uring_cqe_seen(&bd->ring, cqe);
			bd->inflight--;
			block_io_complete(io, res);
			any = true;
		}
		while ((io = STAILQ_FIRST(&bd->fake))) {
			STAILQ_REMOVE_HEAD(&bd->fake, link);
			block_io_complete(io, io->res);
			any = true;
		}
		block_io_kick(bd);
	} while (any);
}

/* ---- the ring ---- */

int block_uring_init(struct block_dev *bd, unsigned int entries)
{
	int ret;

	STAILQ_INIT(&bd->backlog);
	STAILQ_INIT(&bd->fake);
	bd->ring_entries = entries;
	ret = io_uring_queue_init(entries, &bd->ring, 0);
	if (ret) {
		pr_err("%s: io_uring_queue_init: %s", bd->path, strerror(-ret));
		return ret;
	}
	bd->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (bd->efd < 0) {
		ret = -errno;
		goto err_ring;
	}
	ret = io_uring_register_eventfd(&bd->ring, bd->efd);
	if (ret) {
		pr_err("%s: io_uring_register_eventfd: %s", bd->path,
		       strerror(-ret));
		goto err_efd;
	}
	return 0;
err_efd:
	close(bd->efd);
	bd->efd = -1;
err_ring:
	io_uring_queue_exit(&bd->ring);
	return ret;
}

void block_uring_exit(struct block_dev *bd)
{
	io_uring_queue_exit(&bd->ring);
	close(bd->efd);
}

/* ---- test hooks ---- */

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
