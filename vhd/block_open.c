// SPDX-License-Identifier: MIT
/*
 * block_open: opening and closing block devices -- choosing the driver
 * (the format asked for, or the first whose probe recognises the file),
 * the io_uring engine, and on close waiting for every request, the final
 * flush and the driver's release.
 */
#include "block_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
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
	const struct block_driver *const *d;

	if (!strcmp(s, "auto")) {
		*out = BLOCK_FORMAT_AUTO;
		return 0;
	}
	for (d = block_drivers; *d; d++) {
		if (!strcmp(s, (*d)->name) ||
		    ((*d)->alias && !strcmp(s, (*d)->alias))) {
			*out = (*d)->format;
			return 0;
		}
	}
	return -EINVAL;
}

/* The driver for @fmt; for AUTO the first that recognises @path. */
static const struct block_driver *block_driver_pick(const char *path,
						    enum block_format fmt)
{
	const struct block_driver *const *d, *fallback = NULL;
	struct stat st;
	int fd = -1;

	if (fmt == BLOCK_FORMAT_AUTO) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode))) {
			close(fd);
			fd = -1;
		}
	}
	for (d = block_drivers; *d; d++) {
		if (fmt != BLOCK_FORMAT_AUTO) {
			if ((*d)->format == fmt)
				break;
			continue;
		}
		if (!(*d)->probe) {
			if (!fallback)
				fallback = *d;
		} else if (fd >= 0 && (*d)->probe(fd)) {
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	return *d ? *d : fallback;
}

int block_open(const char *path, const struct block_opts *o,
	       struct block_dev **out)
{
	struct block_opts def;
	struct block_dev *bd;
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
	STAILQ_INIT(&bd->done);
	bd->driver = block_driver_pick(path, o->format);
	if (!bd->driver) {
		ret = -EINVAL;
		goto err_free;
	}
	ret = bd->driver->open(bd, direct);
	if (ret)
		goto err_free;
	ret = block_uring_init(bd, o->queue_depth ? o->queue_depth :
						    DEFAULT_QUEUE_DEPTH);
	if (ret)
		goto err_close;
	*out = bd;
	return 0;
err_close:
	bd->ops->close(bd);
err_free:
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
	bd->ops->close(bd);
	block_uring_exit(bd);
	pthread_mutex_destroy(&bd->lock);
	free(bd->path);
	free(bd);
}
