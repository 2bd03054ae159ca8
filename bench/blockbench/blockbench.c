// SPDX-License-Identifier: MIT
/*
 * blockbench: a workload generator that drives the hvkvm block backend
 * directly (no guest): COUNT requests of BS bytes at queue depth DEPTH,
 * the offset advancing by STEP and wrapping modulo the image size the way
 * `qemu-img bench` (7.2) does, so both tools can run identical access patterns.
 * A large prime STEP gives a scattered ("random") pattern that touches
 * every slot once per pass. Not a test: see bench/blockbench/run.sh.
 *
 *   blockbench [-f raw|vhd|auto] [-c COUNT] [-d DEPTH] [-s BS] [-S STEP]
 *              [-t none|writeback] [-w] [--flush] FILE
 */
#include "hvkvm/block.h"
#include "hvkvm/util.h"

#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench {
	struct block_dev *bd;
	bool write;
	uint64_t size, bs, step, off;
	uint64_t count, submitted, completed;
	int errors;
};

struct slot {
	struct bench *b;
	uint8_t *buf;
};

static void bench_submit(struct slot *s);

static void bench_done(void *opaque, int ret)
{
	struct slot *s = opaque;
	struct bench *b = s->b;

	if (ret)
		b->errors++;
	b->completed++;
	if (b->submitted < b->count)
		bench_submit(s);
}

static void bench_submit(struct slot *s)
{
	struct bench *b = s->b;
	struct iovec iov = { s->buf, b->bs };
	uint64_t sector = b->off / 512;
	int ret;

	/* The rule of qemu-img 7.2's bench: wrap modulo the image size. */
	b->off = (b->off + b->step) % b->size;
	b->submitted++;
	ret = b->write ? block_writev(b->bd, sector, &iov, 1, bench_done, s) :
			 block_readv(b->bd, sector, &iov, 1, bench_done, s);
	if (ret) {
		fprintf(stderr, "blockbench: submit: %s\n", strerror(-ret));
		exit(1);
	}
}

static void flush_done(void *opaque, int ret)
{
	*(int *)opaque = ret ? ret : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "flush", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct block_opts o;
	struct bench b = { .count = 10000, .bs = 4096 };
	unsigned int depth = 8, i;
	bool flush = false;
	struct slot *slots;
	struct pollfd pfd;
	uint64_t t0, t1, v;
	double secs;
	int c, fdone = 0;

	block_opts_init(&o);
	b.step = 0;
	while ((c = getopt_long(argc, argv, "f:c:d:s:S:t:w", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'f':
			if (block_parse_format(optarg, &o.format))
				return 2;
			break;
		case 'c':
			if (parse_uint(optarg, UINT64_MAX, &b.count))
				return 2;
			break;
		case 'd':
			if (parse_uint(optarg, 1024, &v) || !v)
				return 2;
			depth = (unsigned int)v;
			break;
		case 's':
			if (parse_size(optarg, &b.bs) || !b.bs || b.bs % 512)
				return 2;
			break;
		case 'S':
			if (parse_size(optarg, &b.step))
				return 2;
			break;
		case 't':
			o.cache = strcmp(optarg, "none") ?
					  BLOCK_CACHE_WRITEBACK :
					  BLOCK_CACHE_NONE;
			break;
		case 'w':
			b.write = true;
			break;
		case 'F':
			flush = true;
			break;
		default:
			fprintf(stderr,
				"usage: blockbench [-f raw|vhd|auto] "
				"[-c COUNT] [-d DEPTH] [-s BS] [-S STEP] "
				"[-t none|writeback] [-w] [--flush] "
				"FILE\n");
			return 2;
		}
	}
	if (optind != argc - 1)
		return 2;
	if (!b.step)
		b.step = b.bs;
	if (block_open(argv[optind], &o, &b.bd))
		return 1;
	b.size = block_size(b.bd);
	slots = calloc(depth, sizeof(*slots));
	for (i = 0; i < depth; i++) {
		slots[i].b = &b;
		slots[i].buf = aligned_alloc(4096, ALIGN_UP(b.bs, 4096));
		memset(slots[i].buf, 0xa5 ^ (int)i, b.bs);
	}
	pfd.fd = block_completion_fd(b.bd);
	pfd.events = POLLIN;
	t0 = time_now_ns();
	for (i = 0; i < depth && b.submitted < b.count; i++)
		bench_submit(&slots[i]);
	while (b.completed < b.count) {
		poll(&pfd, 1, 1000);
		block_process_completions(b.bd);
	}
	if (flush && b.write) {
		block_flush(b.bd, flush_done, &fdone);
		while (!fdone) {
			poll(&pfd, 1, 1000);
			block_process_completions(b.bd);
		}
	}
	t1 = time_now_ns();
	secs = (double)(t1 - t0) / 1e9;
	printf("%s ops=%llu bs=%llu depth=%u time=%.3f iops=%.0f MBps=%.1f "
	       "errors=%d\n",
	       block_format_name(b.bd), (unsigned long long)b.count,
	       (unsigned long long)b.bs, depth, secs, (double)b.count / secs,
	       (double)b.count * (double)b.bs / secs / 1e6, b.errors);
	block_close(b.bd);
	for (i = 0; i < depth; i++)
		free(slots[i].buf);
	free(slots);
	return b.errors ? 1 : 0;
}
