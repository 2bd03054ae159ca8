/* SPDX-License-Identifier: MIT */
/* Helpers shared by test_vhd.c and test_block.c: temp dirs and patterns. */
#ifndef TEST_VHD_UTIL_H
#define TEST_VHD_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvkvm/block.h"
#include "hvkvm/img.h"
#include "hvkvm/vhd.h"

static char tv_dir[256];

static inline int tv_setup(void **state)
{
	(void)state;
	snprintf(tv_dir, sizeof(tv_dir), "/tmp/hvkvm-test-vhd-XXXXXX");
	if (!mkdtemp(tv_dir))
		return -1;
	return 0;
}

static inline int tv_teardown(void **state)
{
	DIR *d = opendir(tv_dir);
	struct dirent *e;
	char p[512];

	(void)state;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tv_dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(tv_dir);
	return 0;
}

static inline const char *tv_path(const char *name)
{
	static char bufs[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(bufs[i], sizeof(bufs[i]), "%s/%s", tv_dir, name);
	return bufs[i];
}

/* Deterministic sector contents: @tag in every byte, sector number mixed. */
static inline void tv_fill(void *buf, uint64_t sector, size_t nsec, uint8_t tag)
{
	uint8_t *b = buf;
	size_t i;

	for (i = 0; i < nsec * 512; i++)
		b[i] = (uint8_t)(tag ^ (uint8_t)((sector + i / 512) * 7) ^
				 (uint8_t)(i & 0x3));
}

static inline int tv_run_img(int n, const char **args)
{
	char *argv[16];
	int i;

	argv[0] = (char *)"img";
	for (i = 0; i < n && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	return img_main(i + 1, argv);
}

static inline struct block_dev *tv_open(const char *path, bool direct)
{
	struct block_opts o;
	struct block_dev *bd = NULL;

	block_opts_init(&o);
	o.cache = direct ? BLOCK_CACHE_NONE : BLOCK_CACHE_WRITEBACK;
	if (block_open(path, &o, &bd))
		return NULL;
	return bd;
}

static inline void *tv_alloc(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len))
		return NULL;
	return p;
}

#endif /* TEST_VHD_UTIL_H */
