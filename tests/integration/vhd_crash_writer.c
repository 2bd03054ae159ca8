// SPDX-License-Identifier: MIT
/*
 * vhd_crash_writer: the two halves of the crash-consistency test
 * (tests/integration/vhd_crash.sh).
 *
 *   vhd_crash_writer write IMAGE LOG ITER
 *	Forever: a round of 32 random 4 KiB writes (distinct slots, queue
 *	depth 8) through the block layer, all acknowledged, then a flush.
 *	Before a round its writes are appended to LOG; after its flush
 *	completes an "F" line is. The script SIGKILLs it at a random moment.
 *   vhd_crash_writer verify IMAGE LOG
 *	Replays LOG: a flushed round fixes the content of its slots; an
 *	unflushed one adds its data as a possibility. Every sector must
 *	hold one of the allowed contents. Exit 0 when it does.
 */
#include "hvkvm/block.h"
#include "hvkvm/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLOT_SECTORS 8
#define ROUND 32
#define QD 8
#define MAX_ALLOWED 16
/* 4 MiB: two 2 MiB VHD blocks. */
#define WINDOW_SLOTS (4u * 1024 * 1024 / 4096)

static void sector_fill(uint8_t *b, uint32_t tag, uint64_t sector)
{
	uint64_t x = (uint64_t)tag * 0x9e3779b97f4a7c15ULL ^
		     (sector + 1) * 0xbf58476d1ce4e5b9ULL;
	int i;

	if (!tag) {
		memset(b, 0, 512);
		return;
	}
	for (i = 0; i < 512; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		put_le64(b + i, x);
	}
	put_le32(b, tag);
}

struct wr {
	int done;
	int ret;
};

static void wr_done(void *opaque, int ret)
{
	struct wr *w = opaque;

	w->done = 1;
	w->ret = ret;
}

static void pump(struct block_dev *bd)
{
	struct pollfd pfd = { .fd = block_completion_fd(bd), .events = POLLIN };

	poll(&pfd, 1, 100);
	block_process_completions(bd);
}

static int do_write(const char *image, const char *log, unsigned iter)
{
	struct block_opts o;
	struct block_dev *bd;
	uint64_t slots;
	uint8_t *buf;
	int lfd;
	unsigned round;

	block_opts_init(&o);
	if (block_open(image, &o, &bd))
		return 1;
	slots = block_size(bd) / (SLOT_SECTORS * 512);
	lfd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
	buf = aligned_alloc(4096, ROUND * 4096);
	if (lfd < 0 || !buf)
		return 1;
	srand(iter * 7919 + (unsigned)getpid());
	for (round = 0;; round++) {
		uint64_t slot[ROUND];
		struct wr w[ROUND];
		char rec[ROUND * 40 + 64];
		int n = 0, i, j, next = 0, inflight = 0, done = 0;
		struct wr fw = { 0, 0 };

		n += snprintf(rec + n, sizeof(rec) - (size_t)n, "R %u %u %d\n",
			      iter, round, ROUND);
		for (i = 0; i < ROUND; i++) {
			uint32_t tag =
				iter * 1000000u + round * 64u + (unsigned)i + 1;
			uint64_t s;

again:
			/* Half the writes go to a window of fresh blocks
			 * that moves each run: allocation gets hit. */
			if (rand() % 2 && slots > 2 * WINDOW_SLOTS)
				slot[i] = (iter * WINDOW_SLOTS +
					   (uint64_t)rand() % WINDOW_SLOTS) %
					  slots;
			else
				slot[i] = (uint64_t)rand() %
					  MIN(slots, (uint64_t)(iter + 1) *
							     WINDOW_SLOTS);
			for (j = 0; j < i; j++)
				if (slot[j] == slot[i])
					goto again;
			s = slot[i] * SLOT_SECTORS;
			for (j = 0; j < SLOT_SECTORS; j++)
				sector_fill(buf + i * 4096 + j * 512, tag,
					    s + (uint64_t)j);
			n += snprintf(rec + n, sizeof(rec) - (size_t)n,
				      "%llu %u\n", (unsigned long long)slot[i],
				      tag);
		}
		if (write(lfd, rec, (size_t)n) != n)
			return 1;
		memset(w, 0, sizeof(w));
		while (done < ROUND) {
			while (next < ROUND && inflight < QD) {
				struct iovec iov = { buf + next * 4096, 4096 };

				if (block_writev(bd, slot[next] * SLOT_SECTORS,
						 &iov, 1, wr_done, &w[next]))
					return 1;
				next++;
				inflight++;
			}
			pump(bd);
			for (i = 0, done = 0, inflight = 0; i < next; i++) {
				if (w[i].done && w[i].ret)
					return 1;
				done += w[i].done;
				inflight += !w[i].done;
			}
		}
		if (block_flush(bd, wr_done, &fw))
			return 1;
		while (!fw.done)
			pump(bd);
		if (fw.ret || write(lfd, "F\n", 2) != 2)
			return 1;
	}
	return 0;
}

struct allowed {
	uint8_t n;
	uint32_t tag[MAX_ALLOWED];
};

static void allow_add(struct allowed *a, uint32_t tag)
{
	if (a->n < MAX_ALLOWED)
		a->tag[a->n++] = tag;
	else
		a->tag[MAX_ALLOWED - 1] = tag; /* unlikely; keeps newest */
}

static int do_verify(const char *image, const char *log)
{
	struct block_opts o;
	struct block_dev *bd;
	struct allowed *al;
	uint64_t slots, s, rs[ROUND];
	uint32_t rt[ROUND];
	FILE *f;
	char line[128];
	int rn = 0, bad = 0;
	uint8_t *buf, want[512];

	block_opts_init(&o);
	o.readonly = true;
	o.cache = BLOCK_CACHE_WRITEBACK;
	if (block_open(image, &o, &bd))
		return 1;
	slots = block_size(bd) / (SLOT_SECTORS * 512);
	al = calloc(slots, sizeof(*al));
	buf = aligned_alloc(4096, 4096);
	f = fopen(log, "r");
	if (!al || !buf)
		return 1;
	for (s = 0; s < slots; s++)
		al[s].n = 1; /* tag 0: never written, zeros */
	/* Pending (unflushed) round: its slots may hold old or new data. */
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long sl;
		unsigned int tag;

		if (line[0] == 'R') {
			for (int i = 0; i < rn; i++)
				allow_add(&al[rs[i]], rt[i]);
			rn = 0;
		} else if (line[0] == 'F') {
			for (int i = 0; i < rn; i++) {
				al[rs[i]].n = 1;
				al[rs[i]].tag[0] = rt[i];
			}
			rn = 0;
		} else if (sscanf(line, "%llu %u", &sl, &tag) == 2 &&
			   sl < slots && rn < ROUND) {
			rs[rn] = sl;
			rt[rn++] = tag;
		}
	}
	for (int i = 0; i < rn; i++)
		allow_add(&al[rs[i]], rt[i]);
	if (f)
		fclose(f);
	for (s = 0; s < slots && bad < 10; s++) {
		if (block_read_sync(bd, s * SLOT_SECTORS, buf, SLOT_SECTORS))
			return 1;
		for (int j = 0; j < SLOT_SECTORS; j++) {
			bool ok = false;

			for (int k = 0; k < al[s].n && !ok; k++) {
				sector_fill(want, al[s].tag[k],
					    s * SLOT_SECTORS + (uint64_t)j);
				ok = !memcmp(want, buf + j * 512, 512);
			}
			if (!ok) {
				fprintf(stderr,
					"verify: sector %llu holds tag "
					"%u, allowed %u (of %u)\n",
					(unsigned long long)(s * SLOT_SECTORS +
							     (uint64_t)j),
					get_le32(buf + j * 512),
					al[s].tag[al[s].n - 1], al[s].n);
				bad++;
				break;
			}
		}
	}
	block_close(bd);
	free(al);
	free(buf);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "write"))
		return do_write(argv[2], argv[3], (unsigned)atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "verify"))
		return do_verify(argv[2], argv[3]);
	fprintf(stderr, "usage: vhd_crash_writer write IMAGE LOG ITER | "
			"verify IMAGE LOG\n");
	return 2;
}
