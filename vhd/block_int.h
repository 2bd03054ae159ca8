/* SPDX-License-Identifier: MIT */
/*
 * block_int: the block layer's internals. Three parts meet here:
 *   - the generic layer (block.c requests and completions, block_open.c
 *     open/close), which knows no format;
 *   - the io_uring engine (block_uring.c): operations, the ring, the
 *     backlog, the completion eventfd and the test hooks;
 *   - the drivers (block_raw.c: raw files and host block devices,
 *     block_vhd.c: VHD), listed in block_drivers.c. A driver recognises
 *     and opens its format and picks the disk's data path, a
 *     struct block_ops, which turns requests into engine operations.
 */
#ifndef HVKVM_BLOCK_INT_H
#define HVKVM_BLOCK_INT_H

#include "hvkvm/block.h"
#include "hvkvm/util.h"

#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/queue.h>

struct block_req;

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
	int pending; /* operations outstanding (+1 in dispatch) */
	int ret;     /* first error */
	STAILQ_ENTRY(block_req) link; /* done list or a driver's queue */
};

STAILQ_HEAD(block_req_list, block_req);

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
	struct block_req *req;	     /* request it belongs to, or NULL */
	void *ctx;		     /* state machine context */
	uint64_t arg;		     /* e.g. BAT sector or block number */
	int res;		     /* for the fake-completion list */
	STAILQ_ENTRY(block_io) link; /* backlog / fake list */
	struct iovec iov_inline[IO_INLINE_IOV];
};

STAILQ_HEAD(block_io_list, block_io);

/*
 * The data path of an open disk, chosen by its driver's open. Called with
 * bd->lock held. A dispatch queues engine operations with io->req set and
 * req->pending raised for each (block_io_done_req drops them), or sets
 * req->ret; the generic layer drops its own reference afterwards.
 */
struct block_ops {
	/* For block_format_name(): "raw", "vhd-fixed"... */
	const char *(*format_name)(const struct block_dev *bd);
	void (*read)(struct block_dev *bd, struct block_req *req);
	void (*write)(struct block_dev *bd, struct block_req *req);
	void (*flush)(struct block_dev *bd, struct block_req *req);
	/* NULL: discard is accepted and does nothing. */
	void (*discard)(struct block_dev *bd, struct block_req *req);
	/* After the final flush: release bd->priv and close the file. */
	void (*close)(struct block_dev *bd);
};

/* A format: how to recognise and open it. */
struct block_driver {
	const char *name;  /* as given in format= */
	const char *alias; /* another accepted name, or NULL */
	enum block_format format;
	/* Does the regular file @fd hold this format? NULL: the fallback. */
	bool (*probe)(int fd);
	/*
	 * Open bd->path (bd->readonly set): fill in fd, size, direct, ops
	 * and priv. 0 or -errno; on failure release what was taken.
	 */
	int (*open)(struct block_dev *bd, bool direct);
};

/* block_drivers.c: every driver, NULL-terminated, probed in this order. */
extern const struct block_driver *const block_drivers[];
extern const struct block_driver block_driver_raw;
extern const struct block_driver block_driver_vhd;

struct block_dev {
	char *path; /* as opened */
	const struct block_driver *driver;
	const struct block_ops *ops; /* data path */
	void *priv;		     /* the driver's state */
	int fd;			     /* data file (top image) */
	bool readonly;
	bool direct;   /* O_DIRECT in effect */
	uint64_t size; /* bytes */

	pthread_mutex_t lock; /* everything below */
	struct io_uring ring;
	unsigned int ring_entries;
	int efd;		      /* completion eventfd */
	unsigned int inflight;	      /* ios in the ring */
	unsigned int queued;	      /* SQEs not yet submitted */
	struct block_io_list backlog; /* waiting for ring room */
	struct block_io_list fake;    /* completed without the ring */
	struct block_req_list done;   /* callbacks to run */
	unsigned int reqs;	      /* requests not yet called back */

	long crash_after; /* test hook; -1 = off */
	long fail_nth;	  /* test hook; -1 = off */
	bool crashed;
};

/* Generic helpers (block.c), called with bd->lock held. */
void block_req_put(struct block_req *req, int ret);
void block_iov_zero(const struct iovec *iov, int iovcnt, size_t off,
		    size_t len);
void *block_aligned_alloc(size_t len);

/* The io_uring engine (block_uring.c). */
int block_uring_init(struct block_dev *bd, unsigned int entries);
void block_uring_exit(struct block_dev *bd);
/* Wake the completion fd's reader. */
void block_uring_signal(struct block_dev *bd);
/* Reap finished operations and run their done hooks (bd->lock held). */
void block_uring_reap(struct block_dev *bd);
/* Submit what was queued and what the backlog can now fit. */
void block_io_kick(struct block_dev *bd);
void block_io_queue(struct block_io *io);
void block_io_done_req(struct block_io *io, int res);

/* Inline: on the data path of every request. */
static inline struct block_io *block_io_new(struct block_dev *bd,
					    enum block_io_kind kind, int fd,
					    uint64_t off, uint64_t len)
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
static inline int block_io_set_iov(struct block_io *io, const struct iovec *iov,
				   int iovcnt, size_t off, size_t len)
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

/* The raw data path (block_raw.c), shared with fixed VHDs. */
void block_raw_rw(struct block_dev *bd, struct block_req *req);
void block_raw_flush(struct block_dev *bd, struct block_req *req);
void block_raw_discard(struct block_dev *bd, struct block_req *req);

#endif /* HVKVM_BLOCK_INT_H */
