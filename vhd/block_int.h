/* SPDX-License-Identifier: MIT */
/*
 * block_int: the block layer's internals shared by block.c (core, io_uring,
 * raw files and devices) and block_vhd.c (sparse VHD data path).
 */
#ifndef HVKVM_BLOCK_INT_H
#define HVKVM_BLOCK_INT_H

#include "hvkvm/block.h"
#include "hvkvm/vhd.h"

#include <liburing.h>
#include <pthread.h>

enum block_kind {
	BLOCK_KIND_RAW,
	BLOCK_KIND_HOSTDEV,
	BLOCK_KIND_VHD_FIXED,
	BLOCK_KIND_VHD_SPARSE,
};

enum block_req_op {
	REQ_READ,
	REQ_WRITE,
	REQ_FLUSH,
	REQ_DISCARD,
};

enum block_io_kind {
	IO_READ,
	IO_WRITE,
	IO_FSYNC,
	IO_PUNCH,
};

#define IO_INLINE_IOV 4

/* A guest-visible request: one callback when all its operations ended. */
struct block_req {
	struct block_dev *bd; /* owner */
	enum block_req_op op; /* what was asked */
	uint64_t sector;      /* first sector */
	uint64_t nsec;	      /* sectors */
	struct iovec *iov;    /* working iovecs (user's or the bounce) */
	int iovcnt;
	struct iovec *uiov; /* user's iovecs when bounced */
	int uiovcnt;
	void *bounce;	  /* aligned copy for O_DIRECT, or NULL */
	block_done_fn cb; /* completion */
	void *opaque;
	int pending;		/* operations outstanding (+1 in dispatch) */
	int ret;		/* first error */
	struct block_req *next; /* done list / flush queue */
};

/* One io_uring operation. */
struct block_io {
	struct block_dev *bd;
	enum block_io_kind kind;
	int fd;
	uint64_t off;	   /* file offset, bytes */
	uint64_t len;	   /* expected bytes */
	struct iovec *iov; /* owned array (maybe iov_inline) */
	int iovcnt;
	void *buf; /* owned aligned buffer, freed with the io */
	/* Runs under bd->lock when the operation ended (@res as io_uring). */
	void (*done)(struct block_io *io, int res);
	struct block_req *req; /* request it belongs to, or NULL */
	void *ctx;	       /* state machine context */
	uint64_t arg;	       /* e.g. BAT sector or block number */
	int res;	       /* for the fake-completion list */
	struct block_io *next; /* backlog / fake list */
	struct iovec iov_inline[IO_INLINE_IOV];
};

/* A write to a sparse VHD waiting for a block allocation to finish. */
struct block_wait {
	struct block_req *req;
	uint64_t sector;
	uint32_t nsec;
	size_t byte_off; /* into req->iov */
	struct block_wait *next;
};

struct block_dev {
	char *path; /* as opened */
	enum block_kind kind;
	int fd; /* data file (top image) */
	bool readonly;
	bool direct;	 /* O_DIRECT in effect */
	uint64_t size;	 /* bytes */
	struct vhd *vhd; /* VHD chain, or NULL */

	pthread_mutex_t lock; /* everything below */
	struct io_uring ring;
	unsigned int ring_entries;
	int efd;				 /* completion eventfd */
	unsigned int inflight;			 /* ios in the ring */
	unsigned int queued;			 /* SQEs not yet submitted */
	struct block_io *backlog, *backlog_tail; /* waiting for ring room */
	struct block_io *fake, *fake_tail;	 /* completed without ring */
	struct block_req *done, *done_tail;	 /* callbacks to run */
	unsigned int reqs; /* requests not yet called back */

	/* sparse VHD */
	uint8_t *allocating;  /* per block: allocation in flight */
	uint64_t reserve_end; /* file extended (footer written) to here */
	bool extending;	      /* a footer write extending it in flight */
	uint32_t ext_blocks;  /* blocks added per extension (grows) */
	struct block_wait *waiters, *waiters_tail;
	struct block_req *flushq, *flushq_tail; /* head = running flush */
	bool flush_busy;
	int flush_pending; /* ios of the current phase */
	int flush_ret;

	long crash_after; /* test hook; -1 = off */
	long fail_nth;	  /* test hook; -1 = off */
	bool crashed;
};

/* Core helpers (block.c), all called with bd->lock held. */
struct block_io *block_io_new(struct block_dev *bd, enum block_io_kind kind,
			      int fd, uint64_t off, uint64_t len);
int block_io_set_iov(struct block_io *io, const struct iovec *iov, int iovcnt,
		     size_t off, size_t len);
void block_io_queue(struct block_io *io);
void block_io_done_req(struct block_io *io, int res);
void block_req_put(struct block_req *req, int ret);
void block_iov_zero(const struct iovec *iov, int iovcnt, size_t off,
		    size_t len);
void *block_aligned_alloc(size_t len);

/* Sparse VHD data path (block_vhd.c), called with bd->lock held. */
void vhd_dispatch_read(struct block_dev *bd, struct block_req *req);
void vhd_dispatch_write(struct block_dev *bd, struct block_req *req);
void vhd_dispatch_flush(struct block_dev *bd, struct block_req *req);
/* Set up / tear down the sparse state (block_open / block_close). */
int vhd_block_init(struct block_dev *bd);
void vhd_block_fini(struct block_dev *bd);

#endif /* HVKVM_BLOCK_INT_H */
