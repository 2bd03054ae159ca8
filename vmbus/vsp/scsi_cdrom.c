// SPDX-License-Identifier: MIT
/*
 * scsi_cdrom: a SCSI CD/DVD drive (SPC-3, MMC-5) on the synthetic SCSI
 * controller, as Hyper-V's "Msft Virtual DVD-ROM": peripheral device type
 * 05h, removable, read-only, 2048-byte blocks, one data track. The MMC
 * commands (INQUIRY, TEST UNIT READY, REQUEST SENSE, READ CAPACITY,
 * READ(10/12/16), READ TOC, GET CONFIGURATION, GET EVENT STATUS
 * NOTIFICATION, MODE SENSE(6/10), READ DISC INFORMATION, MECHANISM STATUS,
 * START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, SET CD SPEED) and the
 * unit-attention and tray logic are devices/mmc.c, shared with the ATAPI
 * drive. Here: CDB length checks, WRITE/UNMAP/WRITE SAME refused with DATA
 * PROTECT (27/00), SYNCHRONIZE CACHE accepted, sense through autosense
 * (and kept for REQUEST SENSE), reads on the block backend, and host
 * medium changes.
 *
 * Not implemented: as devices/mmc.c (no READ CD, no audio, no DVD
 * structures, no VPD pages).
 */
#include "scsi_cdrom.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/mmc.h"
#include "hvkvm/util.h"

#define CD_SECTORS_PER_BLOCK (MMC_BLOCK / 512u) /* backend sectors */

struct scsi_cdrom {
	struct block_dev *bd;	   /* the medium (not owned), NULL if empty */
	struct mmc_state st;	   /* tray, lock, sense, unit attention */
	uint8_t buf[MMC_BUF_SIZE]; /* replies (one request at a time) */
};

/* Minimum CDB length by opcode group (3, 6, 7: reserved, vendor). */
static const uint8_t cd_cdb_len[8] = { 6, 10, 10, 6, 16, 12, 6, 6 };

static void cd_sense(struct scsi_cdrom *c, struct scsi_req *r, uint8_t key,
		     uint8_t asc, uint8_t ascq)
{
	mmc_check(&c->st, key, asc, ascq);
	scsi_req_sense(r, key, (uint16_t)(asc << 8 | ascq));
}

static void cd_read_done(void *opaque, int ret)
{
	struct scsi_req *r = opaque;
	struct scsi_cdrom *c = r->bounce;

	r->bounce = NULL;
	r->pending = 0;
	if (ret == -ENOMEDIUM)
		cd_sense(c, r, MMC_SK_NOT_READY, MMC_ASC_NO_MEDIUM, 0);
	else if (ret)
		cd_sense(c, r, MMC_SK_MEDIUM_ERROR, MMC_ASC_READ_ERROR, 0);
	else
		r->status = SCSI_STATUS_GOOD;
	r->done(r);
}

/* Blocks [lba, lba+n) of the medium, n > 0 and in range (mmc.c). */
static bool cd_read(struct scsi_cdrom *c, struct scsi_req *r, uint64_t lba,
		    uint32_t n)
{
	uint64_t bytes = (uint64_t)n * MMC_BLOCK;
	struct iovec iov[SCSI_IOV_MAX];
	int cnt, ret;

	if (r->dir != SCSI_DIR_IN || r->len < bytes ||
	    r->iovcnt > SCSI_IOV_MAX) {
		/* The buffer does not cover the transfer. */
		cd_sense(c, r, MMC_SK_ILLEGAL_REQUEST, MMC_ASC_INVALID_FIELD,
			 0);
		return true;
	}
	cnt = scsi_req_iov(r, bytes, iov);
	r->write = false;
	r->pending = 1;
	r->bounce = c; /* for the completion; no memory of ours */
	r->xfer = (uint32_t)bytes;
	ret = block_readv(c->bd, lba * CD_SECTORS_PER_BLOCK, iov, cnt,
			  cd_read_done, r);
	if (!ret)
		return false;
	r->pending = 0;
	r->bounce = NULL;
	if (ret == -ENOMEDIUM)
		cd_sense(c, r, MMC_SK_NOT_READY, MMC_ASC_NO_MEDIUM, 0);
	else
		cd_sense(c, r, SCSI_SENSE_HARDWARE_ERROR, 0x44, 0);
	return true;
}

/* Commands a read-only drive refuses with DATA PROTECT. */
static bool cd_is_write(uint8_t op)
{
	switch (op) {
	case 0x0a: /* WRITE (6) */
	case 0x2a: /* WRITE (10) */
	case 0x2e: /* WRITE AND VERIFY (10) */
	case 0x41: /* WRITE SAME (10) */
	case 0x42: /* UNMAP */
	case 0x8a: /* WRITE (16) */
	case 0x8e: /* WRITE AND VERIFY (16) */
	case 0x93: /* WRITE SAME (16) */
	case 0xaa: /* WRITE (12) */
		return true;
	}
	return false;
}

bool scsi_cdrom_execute(struct scsi_cdrom *c, struct scsi_req *r)
{
	uint8_t cdb[MMC_CDB_SIZE] = { 0 }, op = r->cdb[0];
	struct mmc_result res;

	r->err = 0;
	r->pending = 0;
	r->bounce = NULL;
	r->xfer = 0;
	if (!r->cdb_len || r->cdb_len > SCSI_CDB_MAX ||
	    r->cdb_len < cd_cdb_len[op >> 5]) {
		cd_sense(c, r, MMC_SK_ILLEGAL_REQUEST, MMC_ASC_INVALID_FIELD,
			 0);
		return true;
	}
	memcpy(cdb, r->cdb, r->cdb_len);
	if (!c->st.unit_attention) {
		if (cd_is_write(op)) {
			cd_sense(c, r, MMC_SK_DATA_PROTECT,
				 MMC_ASC_WRITE_PROTECTED, 0);
			return true;
		}
		if (op == 0x35 || op == 0x91) { /* SYNCHRONIZE CACHE */
			mmc_check(&c->st, 0, 0, 0);
			scsi_req_good(r, NULL, 0);
			return true;
		}
	}
	mmc_execute(&c->st, cdb, c->buf, &res);
	switch (res.action) {
	case MMC_GOOD:
		scsi_req_good(r, NULL, 0);
		return true;
	case MMC_DATA:
		scsi_req_good(r, c->buf, res.len);
		return true;
	case MMC_CHECK:
		scsi_req_sense(r, c->st.sense_key,
			       (uint16_t)(c->st.asc << 8 | c->st.ascq));
		return true;
	case MMC_READ:
		return cd_read(c, r, res.lba, res.count);
	}
	return true;
}

int scsi_cdrom_change(struct scsi_cdrom *c, struct block_dev *bd)
{
	if (bd && block_size(bd) < MMC_BLOCK)
		return -EINVAL;
	c->bd = bd;
	c->st.loaded = bd != NULL;
	c->st.blocks = bd ? block_size(bd) / MMC_BLOCK : 0;
	c->st.tray_open = false;
	if (bd) {
		mmc_medium_changed(&c->st);
	} else {
		c->st.unit_attention = true;
		c->st.media_event = MMC_EVENT_MEDIA_REMOVAL;
	}
	return 0;
}

int scsi_cdrom_create(struct block_dev *bd, struct scsi_cdrom **out)
{
	struct scsi_cdrom *c;

	if (bd && block_size(bd) < MMC_BLOCK)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->st.scsi = true;
	c->bd = bd;
	c->st.loaded = bd != NULL;
	c->st.blocks = bd ? block_size(bd) / MMC_BLOCK : 0;
	*out = c;
	return 0;
}

void scsi_cdrom_destroy(struct scsi_cdrom *c)
{
	free(c);
}

struct block_dev *scsi_cdrom_block(struct scsi_cdrom *c)
{
	return c->bd;
}
