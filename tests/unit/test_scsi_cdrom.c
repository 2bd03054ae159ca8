// SPDX-License-Identifier: MIT
/*
 * The storvsp SCSI CD/DVD (vmbus/vsp/scsi_cdrom.c through scsi_disk, with
 * the MMC command set of devices/mmc.c) on a real raw image: every
 * command, the empty drive, tray and unit-attention sequences, host medium
 * changes, and malformed CDBs.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hvkvm/block.h"
#include "hvkvm/mmc.h"
#include "hvkvm/util.h"
#include "../../vmbus/vsp/scsi_cdrom.h"
#include "../../vmbus/vsp/scsi_disk.h"

#define CD_BLOCKS 64u
#define DVD_BYTES (1ull << 30) /* sparse: more than a CD holds */

struct fx {
	char path[2][64];
	struct block_dev *bd[2];
	struct scsi_disk *disk;
	struct scsi_req r;
	uint8_t buf[64 * 2048];
	bool done;
};

static uint32_t pattern(uint32_t lba, uint32_t word)
{
	return (lba * 0x9e3779b1u) ^ (word * 0x85ebca6bu) ^ 0xcd00cd00u;
}

/* A raw image of @bytes; the first CD_BLOCKS blocks carry the pattern. */
static struct block_dev *fx_image(struct fx *f, unsigned int i, uint64_t bytes)
{
	struct block_opts o;
	uint32_t blk[512];
	unsigned int lba, w;
	int fd;

	snprintf(f->path[i], sizeof(f->path[i]), "/tmp/test_scsi_cd.XXXXXX");
	fd = mkstemp(f->path[i]);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)bytes), 0);
	for (lba = 0; lba < CD_BLOCKS && (uint64_t)(lba + 1) * 2048 <= bytes;
	     lba++) {
		for (w = 0; w < 512; w++)
			blk[w] = pattern(lba, w);
		assert_int_equal(pwrite(fd, blk, sizeof(blk), lba * 2048),
				 (ssize_t)sizeof(blk));
	}
	close(fd);
	o = (struct block_opts){ .format = BLOCK_FORMAT_RAW,
				 .cache = BLOCK_CACHE_WRITEBACK,
				 .readonly = true };
	assert_int_equal(block_open(f->path[i], &o, &f->bd[i]), 0);
	return f->bd[i];
}

static int fx_setup_bd(void **state, struct block_dev *bd_or_null,
		       bool with_image)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct scsi_disk_params p = { .cdrom = true, .readonly = true };

	assert_non_null(f);
	if (with_image)
		p.bd = fx_image(f, 0, CD_BLOCKS * 2048);
	(void)bd_or_null;
	assert_int_equal(scsi_disk_create(&p, &f->disk), 0);
	*state = f;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_setup_bd(state, NULL, true);
}

static int fx_setup_empty(void **state)
{
	return fx_setup_bd(state, NULL, false);
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	unsigned int i;

	scsi_disk_destroy(f->disk);
	for (i = 0; i < 2; i++) {
		if (f->bd[i])
			block_close(f->bd[i]);
		if (f->path[i][0])
			unlink(f->path[i]);
	}
	free(f);
	return 0;
}

static void fx_done(struct scsi_req *r)
{
	struct fx *f = (struct fx *)((char *)r - offsetof(struct fx, r));

	f->done = true;
}

/* Run @cdb (@len bytes) with a data-in buffer of @buflen; wait for it. */
static struct scsi_req *fx_cmd_dir(struct fx *f, const uint8_t *cdb,
				   unsigned int len, enum scsi_dir dir,
				   uint32_t buflen)
{
	static struct iovec iov;
	struct block_dev *bd;
	unsigned int k;

	memset(&f->r, 0, sizeof(f->r));
	memset(f->buf, 0xee, sizeof(f->buf));
	memcpy(f->r.cdb, cdb, MIN(len, (unsigned int)SCSI_CDB_MAX));
	f->r.cdb_len = (uint8_t)len;
	f->r.dir = dir;
	iov.iov_base = f->buf;
	iov.iov_len = buflen;
	f->r.iov = &iov;
	f->r.iovcnt = 1;
	f->r.len = buflen;
	f->r.done = fx_done;
	f->done = false;
	if (scsi_disk_execute(f->disk, &f->r))
		return &f->r;
	bd = scsi_disk_block(f->disk);
	assert_non_null(bd);
	for (k = 0; k < 1000 && !f->done; k++) {
		struct pollfd pf = { .fd = block_completion_fd(bd),
				     .events = POLLIN };

		if (poll(&pf, 1, 10) > 0)
			block_process_completions(bd);
	}
	assert_true(f->done);
	return &f->r;
}

static struct scsi_req *fx_cmd(struct fx *f, const uint8_t *cdb,
			       unsigned int len, uint32_t buflen)
{
	return fx_cmd_dir(f, cdb, len, buflen ? SCSI_DIR_IN : SCSI_DIR_NONE,
			  buflen);
}

/* Each argument once: @r is often the command itself. */
static void check_sense(const struct scsi_req *r, int key, int asc, int ascq,
			int line)
{
	if (r->status != SCSI_STATUS_CHECK_CONDITION || r->sense[0] != 0x70 ||
	    r->sense[2] != key || r->sense[12] != asc || r->sense[13] != ascq ||
	    r->xfer)
		fail_msg("line %d: status %#x sense %02x/%02x/%02x xfer %u, "
			 "want %02x/%02x/%02x",
			 line, r->status, r->sense[2], r->sense[12],
			 r->sense[13], r->xfer, key, asc, ascq);
}

#define assert_sense(r, key, asc, ascq) \
	check_sense((r), (key), (asc), (ascq), __LINE__)
#define assert_good(r) assert_int_equal((r)->status, SCSI_STATUS_GOOD)

static const uint8_t tur[6] = { 0x00 };

static void tur_expect(struct fx *f, int key, int asc, int ascq)
{
	struct scsi_req *r = fx_cmd(f, tur, 6, 0);

	if (key < 0)
		assert_good(r);
	else
		assert_sense(r, key, asc, ascq);
}

/* ---- INQUIRY, TEST UNIT READY, REQUEST SENSE ---- */

static void test_cdrom_inquiry(void **state)
{
	struct fx *f = *state;
	uint8_t c[6] = { 0x12, 0, 0, 0, 96, 0 };
	struct scsi_req *r = fx_cmd(f, c, 6, 96);

	assert_good(r);
	assert_int_equal(r->xfer, 36);
	assert_int_equal(f->buf[0], 0x05); /* CD/DVD */
	assert_int_equal(f->buf[1], 0x80); /* removable */
	assert_int_equal(f->buf[2], 0x05); /* SPC-3 */
	assert_int_equal(f->buf[3] & 0x0f, 0x02);
	assert_memory_equal(f->buf + 8, "Msft    ", 8);
	assert_memory_equal(f->buf + 16, "Virtual DVD-ROM ", 16);
	/* Allocation length cuts the data. */
	c[4] = 5;
	r = fx_cmd(f, c, 6, 96);
	assert_good(r);
	assert_int_equal(r->xfer, 5);
	c[4] = 0;
	r = fx_cmd(f, c, 6, 96);
	assert_good(r);
	assert_int_equal(r->xfer, 0);
	/* VPD pages: none. */
	c[1] = 1;
	c[4] = 96;
	r = fx_cmd(f, c, 6, 96);
	assert_sense(r, 0x05, 0x24, 0);
	/* REQUEST SENSE returns that, then nothing. */
	{
		uint8_t rs[6] = { 0x03, 0, 0, 0, 18, 0 };

		r = fx_cmd(f, rs, 6, 18);
		assert_good(r);
		assert_int_equal(r->xfer, 18);
		assert_int_equal(f->buf[2], 0x05);
		assert_int_equal(f->buf[12], 0x24);
		r = fx_cmd(f, rs, 6, 18);
		assert_good(r);
		assert_int_equal(f->buf[2], 0);
		assert_int_equal(f->buf[12], 0);
		/* Allocation length 0 and 4. */
		rs[4] = 0;
		assert_int_equal(fx_cmd(f, rs, 6, 18)->xfer, 0);
		rs[4] = 4;
		assert_int_equal(fx_cmd(f, rs, 6, 18)->xfer, 4);
	}
	tur_expect(f, -1, 0, 0);
}

static void test_cdrom_read_capacity(void **state)
{
	struct fx *f = *state;
	uint8_t c[10] = { 0x25 };
	struct scsi_req *r = fx_cmd(f, c, 10, 8);

	assert_good(r);
	assert_int_equal(r->xfer, 8);
	assert_int_equal(get_be32(f->buf), CD_BLOCKS - 1);
	assert_int_equal(get_be32(f->buf + 4), 2048);
	/* A buffer shorter than the data: cut. */
	r = fx_cmd(f, c, 10, 4);
	assert_good(r);
	assert_int_equal(r->xfer, 4);
}

/* ---- reads ---- */

static void check_blocks(struct fx *f, uint32_t lba, uint32_t n)
{
	uint32_t i, w;

	for (i = 0; i < n; i++)
		for (w = 0; w < 512; w++) {
			uint32_t v;

			memcpy(&v, f->buf + i * 2048 + w * 4, 4);
			assert_int_equal(v, pattern(lba + i, w));
		}
}

static void test_cdrom_read(void **state)
{
	struct fx *f = *state;
	uint8_t r10[10] = { 0x28 }, r12[12] = { 0xa8 }, r16[16] = { 0x88 };
	struct scsi_req *r;

	put_be32(r10 + 2, 3);
	put_be16(r10 + 7, 5);
	r = fx_cmd(f, r10, 10, 5 * 2048);
	assert_good(r);
	assert_int_equal(r->xfer, 5 * 2048);
	check_blocks(f, 3, 5);

	put_be32(r12 + 2, CD_BLOCKS - 2);
	put_be32(r12 + 6, 2);
	r = fx_cmd(f, r12, 12, 2 * 2048);
	assert_good(r);
	check_blocks(f, CD_BLOCKS - 2, 2);

	put_be64(r16 + 2, 0);
	put_be32(r16 + 10, 32);
	r = fx_cmd(f, r16, 16, 32 * 2048);
	assert_good(r);
	check_blocks(f, 0, 32);

	/* Zero blocks: nothing moves. */
	put_be16(r10 + 7, 0);
	r = fx_cmd(f, r10, 10, 2048);
	assert_good(r);
	assert_int_equal(r->xfer, 0);

	/* Past the end, straddling it, and far beyond. */
	put_be32(r10 + 2, CD_BLOCKS);
	put_be16(r10 + 7, 1);
	assert_sense(fx_cmd(f, r10, 10, 2048), 0x05, 0x21, 0);
	put_be32(r10 + 2, CD_BLOCKS - 1);
	put_be16(r10 + 7, 2);
	assert_sense(fx_cmd(f, r10, 10, 2 * 2048), 0x05, 0x21, 0);
	put_be32(r12 + 2, 0xffffffffu);
	put_be32(r12 + 6, 0xffffffffu);
	assert_sense(fx_cmd(f, r12, 12, 2048), 0x05, 0x21, 0);
	put_be64(r16 + 2, ~0ull);
	put_be32(r16 + 10, 2);
	assert_sense(fx_cmd(f, r16, 16, 2048), 0x05, 0x21, 0);
	/* The LBA at the end, 0 blocks: in range. */
	put_be32(r10 + 2, CD_BLOCKS);
	put_be16(r10 + 7, 0);
	assert_good(fx_cmd(f, r10, 10, 0));

	/* A buffer that does not cover the transfer, or a data-out one. */
	put_be32(r10 + 2, 0);
	put_be16(r10 + 7, 2);
	assert_sense(fx_cmd(f, r10, 10, 2048), 0x05, 0x24, 0);
	assert_sense(fx_cmd_dir(f, r10, 10, SCSI_DIR_OUT, 2 * 2048), 0x05, 0x24,
		     0);
}

static void test_cdrom_read_only(void **state)
{
	struct fx *f = *state;
	static const uint8_t ops[] = { 0x0a, 0x2a, 0x2e, 0x41, 0x42,
				       0x8a, 0x8e, 0x93, 0xaa };
	uint8_t c[16];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		memset(c, 0, sizeof(c));
		c[0] = ops[i];
		c[8] = 1;
		assert_sense(fx_cmd_dir(f, c, 16, SCSI_DIR_OUT, 2048), 0x07,
			     0x27, 0);
	}
	memset(c, 0, sizeof(c));
	c[0] = 0x35; /* SYNCHRONIZE CACHE (10) */
	assert_good(fx_cmd(f, c, 10, 0));
	c[0] = 0x91;
	assert_good(fx_cmd(f, c, 16, 0));
	/* The data never changed. */
	memset(c, 0, sizeof(c));
	c[0] = 0x28;
	c[8] = 1;
	assert_good(fx_cmd(f, c, 10, 2048));
	check_blocks(f, 0, 1);
}

/* ---- TOC, configuration, events, mode pages, disc info ---- */

static void test_cdrom_toc(void **state)
{
	struct fx *f = *state;
	uint8_t c[10] = { 0x43 };
	struct scsi_req *r;

	put_be16(c + 7, 100);
	r = fx_cmd(f, c, 10, 100); /* format 0, LBA */
	assert_good(r);
	assert_int_equal(r->xfer, 20);
	assert_int_equal(get_be16(f->buf), 18);
	assert_int_equal(f->buf[2], 1);
	assert_int_equal(f->buf[3], 1);
	assert_int_equal(f->buf[6], 1);		   /* track 1 */
	assert_int_equal(get_be32(f->buf + 8), 0); /* at 0 */
	assert_int_equal(f->buf[14], 0xaa);	   /* lead-out */
	assert_int_equal(get_be32(f->buf + 16), CD_BLOCKS);
	c[1] = 0x02; /* MSF */
	r = fx_cmd(f, c, 10, 100);
	assert_good(r);
	assert_int_equal(f->buf[9], 0); /* 00:02:00 */
	assert_int_equal(f->buf[10], 2);
	assert_int_equal(f->buf[11], 0);
	c[1] = 0;
	c[6] = 0xaa; /* from the lead-out */
	r = fx_cmd(f, c, 10, 100);
	assert_good(r);
	assert_int_equal(r->xfer, 12);
	c[6] = 2; /* no track 2 */
	assert_sense(fx_cmd(f, c, 10, 100), 0x05, 0x24, 0);
	c[6] = 0;
	c[2] = 1; /* session info */
	r = fx_cmd(f, c, 10, 100);
	assert_good(r);
	assert_int_equal(r->xfer, 12);
	c[2] = 2; /* raw TOC */
	r = fx_cmd(f, c, 10, 100);
	assert_good(r);
	assert_int_equal(r->xfer, 4 + 4 * 11);
	assert_int_equal(f->buf[4 + 3], 0xa0);
	c[2] = 0;
	c[9] = 0x40; /* SFF-8020 format field: session info */
	assert_int_equal(fx_cmd(f, c, 10, 100)->xfer, 12);
	c[9] = 0;
	c[2] = 5; /* unknown format */
	assert_sense(fx_cmd(f, c, 10, 100), 0x05, 0x24, 0);
	/* Allocation length 2: just the length field. */
	c[2] = 0;
	put_be16(c + 7, 2);
	r = fx_cmd(f, c, 10, 100);
	assert_good(r);
	assert_int_equal(r->xfer, 2);
}

static void test_cdrom_get_configuration(void **state)
{
	struct fx *f = *state;
	uint8_t c[10] = { 0x46 };
	struct scsi_req *r;

	put_be16(c + 7, 200);
	r = fx_cmd(f, c, 10, 200);
	assert_good(r);
	assert_int_equal(get_be16(f->buf + 6), 0x0008); /* CD-ROM */
	assert_int_equal(get_be32(f->buf), r->xfer - 4);
	assert_int_equal(get_be16(f->buf + 8), 0x0000); /* profile list */
	c[1] = 2;					/* just one feature */
	put_be16(c + 2, 0x0001);
	r = fx_cmd(f, c, 10, 200);
	assert_good(r);
	assert_int_equal(r->xfer, 8 + 12);
	assert_int_equal(get_be16(f->buf + 8), 0x0001);
	assert_int_equal(get_be32(f->buf + 12), 1); /* SCSI */
	c[1] = 1; /* current ones from 0x1f: DVD read is not */
	put_be16(c + 2, 0x001f);
	r = fx_cmd(f, c, 10, 200);
	assert_good(r);
	assert_int_equal(r->xfer, 8);
	put_be16(c + 7, 0);
	assert_int_equal(fx_cmd(f, c, 10, 200)->xfer, 0);
}

static void test_cdrom_dvd(void **state)
{
	struct fx *f = *state;
	uint8_t c[10] = { 0x46 };
	struct block_dev *bd = fx_image(f, 1, DVD_BYTES);
	struct scsi_req *r;

	assert_int_equal(scsi_cdrom_change(scsi_disk_cdrom(f->disk), bd), 0);
	put_be16(c + 7, 200);
	r = fx_cmd(f, c, 10, 200); /* exempt from the unit attention */
	assert_good(r);
	assert_int_equal(get_be16(f->buf + 6), 0x0010); /* DVD-ROM */
	tur_expect(f, 0x06, 0x28, 0);
	memset(c, 0, sizeof(c));
	c[0] = 0x25;
	r = fx_cmd(f, c, 10, 8);
	assert_good(r);
	assert_int_equal(get_be32(f->buf), DVD_BYTES / 2048 - 1);
	c[0] = 0x28;
	c[8] = 1;
	assert_good(fx_cmd(f, c, 10, 2048));
	check_blocks(f, 0, 1);
}

static void test_cdrom_gesn(void **state)
{
	struct fx *f = *state;
	uint8_t c[10] = { 0x4a, 0x01, 0, 0, 0x10 };
	struct scsi_req *r;

	put_be16(c + 7, 8);
	r = fx_cmd(f, c, 10, 8);
	assert_good(r);
	assert_int_equal(r->xfer, 8);
	assert_int_equal(f->buf[2], 0x04);
	assert_int_equal(f->buf[4], 0);	   /* no event */
	assert_int_equal(f->buf[5], 0x02); /* medium present */
	/* Host ejects: a removal event, then none. */
	assert_int_equal(scsi_cdrom_change(scsi_disk_cdrom(f->disk), NULL), 0);
	r = fx_cmd(f, c, 10, 8);
	assert_good(r);
	assert_int_equal(f->buf[4], 3);
	assert_int_equal(f->buf[5], 0);
	r = fx_cmd(f, c, 10, 8);
	assert_int_equal(f->buf[4], 0);
	/* Other classes: no event available. */
	c[4] = 0x02;
	r = fx_cmd(f, c, 10, 8);
	assert_good(r);
	assert_int_equal(r->xfer, 4);
	assert_int_equal(f->buf[2], 0x80);
	/* Asynchronous: not supported. */
	c[1] = 0;
	assert_sense(fx_cmd(f, c, 10, 8), 0x05, 0x24, 0);
}

static void test_cdrom_mode_sense(void **state)
{
	struct fx *f = *state;
	uint8_t c[10] = { 0x5a, 0, 0x2a };
	uint8_t c6[6] = { 0x1a, 0, 0x2a, 0, 255 };
	struct scsi_req *r;

	put_be16(c + 7, 255);
	r = fx_cmd(f, c, 10, 255);
	assert_good(r);
	assert_int_equal(r->xfer, 8 + 22);
	assert_int_equal(get_be16(f->buf), 8 + 22 - 2);
	assert_int_equal(f->buf[8], 0x2a);
	assert_int_equal(f->buf[9], 0x14);
	c[2] = 0x01;
	r = fx_cmd(f, c, 10, 255);
	assert_good(r);
	assert_int_equal(r->xfer, 8 + 12);
	c[2] = 0x3f;
	r = fx_cmd(f, c, 10, 255);
	assert_good(r);
	assert_int_equal(r->xfer, 8 + 12 + 22);
	c[2] = 0x08; /* caching: not on a CD */
	assert_sense(fx_cmd(f, c, 10, 255), 0x05, 0x24, 0);
	c[2] = 0xea; /* saved values */
	assert_sense(fx_cmd(f, c, 10, 255), 0x05, 0x39, 0);
	c[2] = 0x2a;
	put_be16(c + 7, 3);
	assert_int_equal(fx_cmd(f, c, 10, 255)->xfer, 3);
	/* MODE SENSE (6). */
	r = fx_cmd(f, c6, 6, 255);
	assert_good(r);
	assert_int_equal(r->xfer, 4 + 22);
	assert_int_equal(f->buf[0], 4 + 22 - 1);
	assert_int_equal(f->buf[4], 0x2a);
}

static void test_cdrom_disc_info_mechanism(void **state)
{
	struct fx *f = *state;
	uint8_t di[10] = { 0x51 }, ms[12] = { 0xbd }, sp[12] = { 0xbb };
	struct scsi_req *r;

	put_be16(di + 7, 34);
	r = fx_cmd(f, di, 10, 64);
	assert_good(r);
	assert_int_equal(r->xfer, 34);
	assert_int_equal(get_be16(f->buf), 32);
	assert_int_equal(f->buf[2], 0x0e);
	di[1] = 1; /* data type: track resources */
	assert_sense(fx_cmd(f, di, 10, 64), 0x05, 0x24, 0);
	put_be16(ms + 8, 8);
	r = fx_cmd(f, ms, 12, 8);
	assert_good(r);
	assert_int_equal(r->xfer, 8);
	assert_int_equal(f->buf[1], 0);
	assert_good(fx_cmd(f, sp, 12, 0));
	sp[0] = 0x2b; /* SEEK (10) */
	assert_good(fx_cmd(f, sp, 10, 0));
}

/* ---- tray, lock, medium changes ---- */

static void test_cdrom_tray(void **state)
{
	struct fx *f = *state;
	uint8_t ss[6] = { 0x1b, 0, 0, 0, 0x02 }, pa[6] = { 0x1e };
	uint8_t ms[12] = { 0xbd };

	assert_good(fx_cmd(f, ss, 6, 0)); /* eject */
	tur_expect(f, 0x02, 0x3a, 2);	  /* tray open */
	put_be16(ms + 8, 8);
	assert_good(fx_cmd(f, ms, 12, 8));
	assert_int_equal(f->buf[1], 0x10);
	ss[4] = 0x03; /* load */
	assert_good(fx_cmd(f, ss, 6, 0));
	tur_expect(f, -1, 0, 0);
	ss[4] = 0x01; /* start: nothing to do */
	assert_good(fx_cmd(f, ss, 6, 0));
	/* Locked: the guest cannot eject. */
	pa[4] = 1;
	assert_good(fx_cmd(f, pa, 6, 0));
	ss[4] = 0x02;
	assert_sense(fx_cmd(f, ss, 6, 0), 0x05, 0x53, 2);
	tur_expect(f, -1, 0, 0);
	pa[4] = 0;
	assert_good(fx_cmd(f, pa, 6, 0));
	assert_good(fx_cmd(f, ss, 6, 0));
	tur_expect(f, 0x02, 0x3a, 2);
}

static void test_cdrom_unit_attention(void **state)
{
	struct fx *f = *state;
	struct scsi_cdrom *cd = scsi_disk_cdrom(f->disk);
	uint8_t inq[6] = { 0x12, 0, 0, 0, 36 }, rc[10] = { 0x25 };
	uint8_t rs[6] = { 0x03, 0, 0, 0, 18 },
		w[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct block_dev *bd2 = fx_image(f, 1, 16 * 2048);

	assert_non_null(cd);
	/* A new medium: INQUIRY passes, the next command reports it once. */
	assert_int_equal(scsi_cdrom_change(cd, bd2), 0);
	assert_ptr_equal(scsi_disk_block(f->disk), bd2);
	assert_good(fx_cmd(f, inq, 6, 36));
	assert_sense(fx_cmd(f, rc, 10, 8), 0x06, 0x28, 0);
	assert_good(fx_cmd(f, rc, 10, 8));
	assert_int_equal(get_be32(f->buf), 15);
	/* Even a write gets the unit attention first. */
	assert_int_equal(scsi_cdrom_change(cd, bd2), 0);
	assert_sense(fx_cmd_dir(f, w, 10, SCSI_DIR_OUT, 2048), 0x06, 0x28, 0);
	assert_sense(fx_cmd_dir(f, w, 10, SCSI_DIR_OUT, 2048), 0x07, 0x27, 0);
	/* Ejected: REQUEST SENSE is exempt, the next TUR reports it. */
	assert_int_equal(scsi_cdrom_change(cd, NULL), 0);
	assert_good(fx_cmd(f, rs, 6, 18));
	tur_expect(f, 0x06, 0x28, 0);
	tur_expect(f, 0x02, 0x3a, 0);
	assert_null(scsi_disk_block(f->disk));
	/* A medium smaller than a block is refused, the drive unchanged. */
	{
		struct fx g = { 0 };
		struct block_dev *tiny;

		tiny = fx_image(&g, 0, 1024);
		assert_int_equal(scsi_cdrom_change(cd, tiny), -EINVAL);
		tur_expect(f, 0x02, 0x3a, 0);
		block_close(tiny);
		unlink(g.path[0]);
	}
}

static void test_cdrom_empty(void **state)
{
	struct fx *f = *state;
	uint8_t rc[10] = { 0x25 }, r10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1 };
	uint8_t toc[10] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 100 };
	uint8_t di[10] = { 0x51, 0, 0, 0, 0, 0, 0, 0, 34 };
	uint8_t gc[10] = { 0x46, 0, 0, 0, 0, 0, 0, 0, 200 };
	uint8_t inq[6] = { 0x12, 0, 0, 0, 36 }, rs[6] = { 0x03, 0, 0, 0, 18 };
	struct block_dev *bd;

	assert_null(scsi_disk_block(f->disk));
	assert_good(fx_cmd(f, inq, 6, 36));
	assert_int_equal(f->buf[0], 0x05);
	tur_expect(f, 0x02, 0x3a, 0);
	assert_good(fx_cmd(f, rs, 6, 18));
	assert_int_equal(f->buf[2], 0x02);
	assert_int_equal(f->buf[12], 0x3a);
	assert_sense(fx_cmd(f, rc, 10, 8), 0x02, 0x3a, 0);
	assert_sense(fx_cmd(f, r10, 10, 2048), 0x02, 0x3a, 0);
	assert_sense(fx_cmd(f, toc, 10, 100), 0x02, 0x3a, 0);
	assert_sense(fx_cmd(f, di, 10, 64), 0x02, 0x3a, 0);
	assert_good(fx_cmd(f, gc, 10, 200));
	assert_int_equal(get_be16(f->buf + 6), 0); /* no current profile */
	/* Insert: unit attention, then the medium reads. */
	bd = fx_image(f, 1, CD_BLOCKS * 2048);
	assert_int_equal(scsi_cdrom_change(scsi_disk_cdrom(f->disk), bd), 0);
	tur_expect(f, 0x06, 0x28, 0);
	tur_expect(f, -1, 0, 0);
	assert_good(fx_cmd(f, r10, 10, 2048));
	check_blocks(f, 0, 1);
}

/* ---- malformed requests ---- */

static void test_cdrom_malformed(void **state)
{
	struct fx *f = *state;
	uint8_t c[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1 };
	uint8_t inq[6] = { 0x12, 0, 0, 0, 36 };
	unsigned int op;

	/* A CDB of length 1, 0, 9 for a 10-byte command, 17. */
	assert_sense(fx_cmd(f, c, 1, 2048), 0x05, 0x24, 0);
	assert_sense(fx_cmd(f, c, 0, 2048), 0x05, 0x24, 0);
	assert_sense(fx_cmd(f, c, 9, 2048), 0x05, 0x24, 0);
	assert_sense(fx_cmd(f, c, 17, 2048), 0x05, 0x24, 0);
	c[0] = 0x88; /* READ (16) in 12 bytes */
	assert_sense(fx_cmd(f, c, 12, 2048), 0x05, 0x24, 0);
	c[0] = 0xa8; /* READ (12) in 10 bytes */
	assert_sense(fx_cmd(f, c, 10, 2048), 0x05, 0x24, 0);
	/* Unknown opcodes: INVALID COMMAND OPERATION CODE. */
	memset(c, 0, sizeof(c));
	for (op = 0; op < 256; op++) {
		static const uint8_t known[] = {
			0x00, 0x03, 0x12, 0x1a, 0x1b, 0x1e, 0x25, 0x28,
			0x2b, 0x43, 0x46, 0x4a, 0x51, 0x5a, 0x88, 0xa8,
			0xbb, 0xbd, 0x0a, 0x2a, 0x2e, 0x41, 0x42, 0x8a,
			0x8e, 0x93, 0xaa, 0x35, 0x91,
		};
		struct scsi_req *r;

		if (memchr(known, (int)op, sizeof(known)))
			continue;
		c[0] = (uint8_t)op;
		r = fx_cmd(f, c, 16, 256);
		assert_sense(r, 0x05, 0x20, 0);
	}
	/* Data for a request without a data-in buffer. */
	assert_sense(fx_cmd_dir(f, inq, 6, SCSI_DIR_NONE, 0), 0x05, 0x24, 0);
	assert_sense(fx_cmd_dir(f, inq, 6, SCSI_DIR_OUT, 36), 0x05, 0x24, 0);
	/* A short buffer: the data are cut to it. */
	assert_int_equal(fx_cmd(f, inq, 6, 7)->xfer, 7);
	/* Large allocation lengths are harmless. */
	{
		uint8_t gc[10] = { 0x46, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		uint8_t ms[12] = { 0xbd, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		assert_good(fx_cmd(f, gc, 10, 4096));
		assert_true(f->r.xfer < MMC_BUF_SIZE);
		assert_good(fx_cmd(f, ms, 12, 4096));
		assert_int_equal(f->r.xfer, 8);
	}
	tur_expect(f, -1, 0, 0);
}

static void test_cdrom_create(void **state)
{
	struct scsi_disk_params p = { .cdrom = true };
	struct scsi_disk *d;
	struct fx g = { 0 };

	(void)state;
	p.bd = fx_image(&g, 0, 1000);
	assert_int_equal(scsi_disk_create(&p, &d), -EINVAL);
	p.bd = NULL;
	assert_int_equal(scsi_disk_create(&p, &d), 0);
	assert_non_null(scsi_disk_cdrom(d));
	scsi_disk_destroy(d);
	/* A disk LUN has no CD drive and still needs a backend. */
	p.cdrom = false;
	assert_int_equal(scsi_disk_create(&p, &d), -EINVAL);
	block_close(g.bd[0]);
	unlink(g.path[0]);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_cdrom_inquiry),
		T(test_cdrom_read_capacity),
		T(test_cdrom_read),
		T(test_cdrom_read_only),
		T(test_cdrom_toc),
		T(test_cdrom_get_configuration),
		T(test_cdrom_dvd),
		T(test_cdrom_gesn),
		T(test_cdrom_mode_sense),
		T(test_cdrom_disc_info_mechanism),
		T(test_cdrom_tray),
		T(test_cdrom_unit_attention),
		cmocka_unit_test_setup_teardown(test_cdrom_empty,
						fx_setup_empty, fx_teardown),
		T(test_cdrom_malformed),
		cmocka_unit_test(test_cdrom_create),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
