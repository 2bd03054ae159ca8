/* SPDX-License-Identifier: MIT */
/*
 * block: the one asynchronous block backend interface used by the emulated
 * IDE controller and the synthetic SCSI controller (storvsp) alike.
 *
 * Backends: raw image files, host block devices (pass-through disks) and
 * VHD images (fixed, dynamic, differencing; see vhd.h). All I/O is in
 * 512-byte sectors and goes through io_uring.
 *
 * Threading: submission functions may be called from any thread (a vCPU
 * thread included: they never block on the disk). Completion callbacks run
 * only inside block_process_completions(), i.e. on whichever thread drives
 * the device -- normally an I/O thread's event loop:
 *
 *	evloop_add_fd(loop, block_completion_fd(bd), EPOLLIN,
 *		      block_evloop_ready, bd);
 *
 * A callback is never called from inside the submit call that queued it.
 * The sync helpers (block_*_sync) submit and then drive completions
 * themselves; they are for tools and start-up, not for the vCPU thread.
 *
 * Memory: the iovec array passed to a submit call is copied; the buffers it
 * points to must stay valid until the callback. With cache=none (O_DIRECT)
 * unaligned buffers work but are bounced through an aligned copy; for speed
 * keep buffers and lengths 512-byte aligned.
 *
 * Durability: a write is acknowledged when the data reached the backend; it
 * survives a crash once a later flush has completed. VHD metadata (BAT,
 * bitmaps) is ordered so that a crash at any moment leaves a consistent
 * image (docs/vhd.md).
 */
#ifndef HVKVM_BLOCK_H
#define HVKVM_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define BLOCK_SECTOR_SIZE 512u

struct block_dev;
struct vhd;

enum block_format {
	BLOCK_FORMAT_AUTO, /* VHD if the file has a valid footer, else raw */
	BLOCK_FORMAT_RAW,
	BLOCK_FORMAT_VHD,
};

enum block_cache {
	BLOCK_CACHE_NONE,      /* O_DIRECT (default for VMs); falls back with
				* a warning if the filesystem refuses it */
	BLOCK_CACHE_WRITEBACK, /* through the host page cache */
};

struct block_opts {
	enum block_format format;
	bool readonly;
	enum block_cache cache;
	unsigned int queue_depth; /* io_uring entries; 0 = 128 */
};

/* Defaults: auto-probe, read-write, cache=none. */
void block_opts_init(struct block_opts *o);
/* "raw" / "vhd" / "auto" -> enum; 0 or -EINVAL. */
int block_parse_format(const char *s, enum block_format *out);

/* Open @path; logs one line naming the file on failure. 0 or -errno. */
int block_open(const char *path, const struct block_opts *o,
	       struct block_dev **out);
/* Wait for in-flight requests, flush, release everything. */
void block_close(struct block_dev *bd);

uint64_t block_size(const struct block_dev *bd); /* bytes */
static inline uint32_t block_sector_size(const struct block_dev *bd)
{
	(void)bd;
	return BLOCK_SECTOR_SIZE;
}
/* "raw", "host_device", "vhd-fixed", "vhd-dynamic", "vhd-differencing". */
const char *block_format_name(const struct block_dev *bd);
/* The VHD behind @bd, or NULL (for `hvkvm img`). */
struct vhd *block_vhd(const struct block_dev *bd);

/* @ret: 0 or -errno (-EIO, -EINVAL out of range, -EROFS, -ENOSPC...). */
typedef void (*block_done_fn)(void *opaque, int ret);

/*
 * Queue a request. Returns 0 (the callback will run exactly once, later) or
 * -errno (not queued, no callback). The byte count of @iov must be a
 * multiple of 512 and the range must lie inside the disk.
 */
int block_readv(struct block_dev *bd, uint64_t sector, const struct iovec *iov,
		int iovcnt, block_done_fn cb, void *opaque);
int block_writev(struct block_dev *bd, uint64_t sector, const struct iovec *iov,
		 int iovcnt, block_done_fn cb, void *opaque);
/* Completes once every write completed before this call is durable. */
int block_flush(struct block_dev *bd, block_done_fn cb, void *opaque);
/* Advisory: the range may read back as zeros or as its old contents. */
int block_discard(struct block_dev *bd, uint64_t sector, uint64_t nsec,
		  block_done_fn cb, void *opaque);

/* Readable (EPOLLIN) when completions are waiting. */
int block_completion_fd(const struct block_dev *bd);
/* Reap completions and run callbacks; returns how many requests ended. */
int block_process_completions(struct block_dev *bd);

/*
 * Ready-made evloop_fd_cb (evloop.h) for the completion fd:
 *	evloop_add_fd(loop, block_completion_fd(bd), EPOLLIN,
 *		      block_evloop_ready, bd);
 */
void block_evloop_ready(void *bd, uint32_t events);

/* Synchronous helpers for tools: 0 or -errno. */
int block_read_sync(struct block_dev *bd, uint64_t sector, void *buf,
		    size_t nsec);
int block_write_sync(struct block_dev *bd, uint64_t sector, const void *buf,
		     size_t nsec);
int block_flush_sync(struct block_dev *bd);
int block_discard_sync(struct block_dev *bd, uint64_t sector, uint64_t nsec);

/*
 * Test hook: after @n more backend operations, "crash": every later
 * operation fails with -EIO without reaching the file, so the file is left
 * exactly as a process killed at that point would leave it. -1 disables.
 */
void block_debug_crash_after(struct block_dev *bd, long n);
/* Test hook: only the @n-th next backend operation fails with -EIO. */
void block_debug_fail_nth(struct block_dev *bd, long n);

#endif /* HVKVM_BLOCK_H */
