// SPDX-License-Identifier: MIT
/*
 * scsi_disk: a SCSI direct-access block device (SPC-3 / SBC-3 subset) for
 * storvsp, on the async block backend. Commands: TEST UNIT READY, REQUEST
 * SENSE, INQUIRY (standard data; VPD 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2),
 * READ CAPACITY (10/16), READ/WRITE (6/10/12/16), SYNCHRONIZE CACHE
 * (10/16), UNMAP, WRITE SAME (10/16, with or without UNMAP), MODE SENSE
 * (6/10: caching page with WCE, control page, all pages), START STOP
 * UNIT, PREVENT ALLOW MEDIUM REMOVAL, VERIFY (10/16, no data check).
 * REPORT LUNS belongs to the controller (storvsp.c). Sense data is
 * fixed format, reported through autosense (nothing is left pending for
 * REQUEST SENSE). 512-byte logical blocks; the write cache is reported
 * enabled (WCE) since a write is durable only after a flush.
 *
 * Not implemented: MODE SELECT, FUA (DPOFUA is not advertised, so Linux
 * never sets it), persistent reservations, COMPARE AND WRITE, protection
 * information, descriptor-format sense.
 */
#include "scsi_disk.h"
#include "scsi_cdrom.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/util.h"

#define SD_BLOCK 512u
#define SD_MAX_UNMAP_DESC 64	     /* VPD 0xb0 MAXIMUM UNMAP DESCRIPTORS */
#define SD_MAX_UNMAP_BLOCKS 0x400000 /* per command: 2 GiB */
#define SD_MAX_WS_BLOCKS 0x10000     /* WRITE SAME: 32 MiB per command */
#define SD_WS_CHUNK 2048	     /* blocks per WRITE SAME backend write */

struct scsi_disk {
	struct block_dev *bd; /* backend (not owned) */
	uint64_t blocks;      /* capacity in 512-byte blocks */
	bool readonly;	      /* WRITE etc. get DATA PROTECT */
	bool can_discard;     /* thin provisioning reported (LBPME) */
	char serial[21];      /* VPD 0x80 */
	uint64_t naa_id;      /* VPD 0x83 */

	/* A CD/DVD drive: scsi_cdrom.c runs the commands. */
	struct scsi_cdrom *cd;
};

/* ---- results ---- */

void scsi_req_sense(struct scsi_req *r, uint8_t key, uint16_t asc)
{
	r->status = SCSI_STATUS_CHECK_CONDITION;
	memset(r->sense, 0, sizeof(r->sense));
	r->sense[0] = 0x70; /* current error, fixed format */
	r->sense[2] = key;
	r->sense[7] = SCSI_SENSE_LEN - 8;
	r->sense[12] = (uint8_t)(asc >> 8);
	r->sense[13] = (uint8_t)asc;
	r->xfer = 0;
}

/* GOOD with @len bytes of @data copied into the data-in buffer. */
void scsi_req_good(struct scsi_req *r, const void *data, uint32_t len)
{
	const uint8_t *src = data;
	uint32_t done = 0;
	int i;

	r->status = SCSI_STATUS_GOOD;
	r->xfer = 0;
	if (!len)
		return;
	if (r->dir != SCSI_DIR_IN) {
		scsi_req_sense(r, SCSI_SENSE_ILLEGAL_REQUEST,
			       SCSI_ASC_INVALID_FIELD_CDB);
		return;
	}
	len = MIN(len, r->len);
	for (i = 0; i < r->iovcnt && done < len; i++) {
		size_t n = MIN(r->iov[i].iov_len, (size_t)(len - done));

		memcpy(r->iov[i].iov_base, src + done, n);
		done += (uint32_t)n;
	}
	r->xfer = done;
}

/* Copy up to @max bytes of the data-out buffer; returns the count. */
static uint32_t sd_copy_out(const struct scsi_req *r, void *dst, uint32_t max)
{
	uint8_t *d = dst;
	uint32_t done = 0;
	int i;

	if (r->dir != SCSI_DIR_OUT)
		return 0;
	max = MIN(max, r->len);
	for (i = 0; i < r->iovcnt && done < max; i++) {
		size_t n = MIN(r->iov[i].iov_len, (size_t)(max - done));

		memcpy(d + done, r->iov[i].iov_base, n);
		done += (uint32_t)n;
	}
	return done;
}

int scsi_req_iov(const struct scsi_req *r, uint64_t bytes, struct iovec *iov)
{
	uint64_t left = bytes;
	int i, cnt = 0;

	for (i = 0; i < r->iovcnt && i < SCSI_IOV_MAX && left; i++, cnt++) {
		iov[cnt] = r->iov[i];
		if (iov[cnt].iov_len > left)
			iov[cnt].iov_len = (size_t)left;
		left -= iov[cnt].iov_len;
	}
	return cnt;
}

static void sd_invalid_cdb(struct scsi_req *r)
{
	scsi_req_sense(r, SCSI_SENSE_ILLEGAL_REQUEST,
		       SCSI_ASC_INVALID_FIELD_CDB);
}

/* ---- INQUIRY ---- */

static void sd_std_inquiry(uint8_t *b, uint8_t pq_type)
{
	memset(b, 0, 36);
	b[0] = pq_type;
	b[2] = 0x05;		      /* SPC-3 */
	b[3] = 0x02 | 0x10;	      /* response data format 2, HISUP */
	b[4] = 36 - 5;		      /* additional length */
	b[7] = 0x02;		      /* CMDQUE */
	memcpy(b + 8, "Msft    ", 8); /* storvsc keys quirks on "Msft" */
	memcpy(b + 16, "Virtual Disk    ", 16);
	memcpy(b + 32, "1.0 ", 4);
}

void scsi_inquiry_no_lun(struct scsi_req *r)
{
	uint8_t b[36];

	if (r->cdb[1] & 1) {
		/* VPD of a LUN that is not there: not supported. */
		sd_invalid_cdb(r);
		return;
	}
	sd_std_inquiry(b, 0x7f); /* qualifier 3, type 0x1f: no LUN here */
	scsi_req_good(r, b, MIN((uint32_t)get_be16(r->cdb + 3), 36u));
}

static uint32_t sd_vpd(struct scsi_disk *d, uint8_t page, uint8_t *b)
{
	static const uint8_t pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };
	uint32_t n;

	memset(b, 0, 256);
	b[1] = page;
	switch (page) {
	case 0x00:
		memcpy(b + 4, pages, sizeof(pages));
		n = sizeof(pages);
		break;
	case 0x80:
		n = (uint32_t)strlen(d->serial);
		memcpy(b + 4, d->serial, n);
		break;
	case 0x83:
		/* NAA (binary, LUN association), then a T10 vendor ID. */
		b[4] = 0x01;
		b[5] = 0x03;
		b[7] = 8;
		put_be64(b + 8,
			 (0x6ULL << 60) | (d->naa_id & ((1ULL << 60) - 1)));
		b[16] = 0x02; /* ASCII */
		b[17] = 0x01; /* T10 vendor identification */
		b[19] = (uint8_t)(8 + strlen(d->serial));
		memcpy(b + 20, "Msft    ", 8);
		memcpy(b + 28, d->serial, strlen(d->serial));
		n = 16 + 4 + b[19];
		break;
	case 0xb0: /* block limits */
		n = 0x3c;
		b[4] = 0x01;	    /* WSNZ */
		put_be16(b + 6, 8); /* optimal granularity: 4 KiB */
		put_be32(b + 8, 0); /* max transfer: the transport's */
		put_be32(b + 12, 0);
		if (d->can_discard) {
			put_be32(b + 20, SD_MAX_UNMAP_BLOCKS);
			put_be32(b + 24, SD_MAX_UNMAP_DESC);
			put_be32(b + 28, 8); /* unmap granularity 4 KiB */
		}
		put_be64(b + 36, SD_MAX_WS_BLOCKS);
		break;
	case 0xb1: /* block device characteristics */
		n = 0x3c;
		put_be16(b + 4, 1); /* non-rotating medium */
		break;
	case 0xb2: /* logical block provisioning */
		n = 4;
		if (d->can_discard) {
			b[5] = 0x80 | 0x40 | 0x20; /* LBPU, LBPWS, LBPWS10 */
			b[6] = 0x02;		   /* thin provisioned */
		}
		break;
	default:
		return 0;
	}
	put_be16(b + 2, (uint16_t)n);
	return n + 4;
}

static void sd_inquiry(struct scsi_disk *d, struct scsi_req *r)
{
	uint32_t alloc = get_be16(r->cdb + 3), n;
	uint8_t b[256];

	if (r->cdb[1] & 0x02) { /* CMDDT */
		sd_invalid_cdb(r);
		return;
	}
	if (!(r->cdb[1] & 1)) {
		if (r->cdb[2]) {
			sd_invalid_cdb(r);
			return;
		}
		sd_std_inquiry(b, 0x00);
		scsi_req_good(r, b, MIN(alloc, 36u));
		return;
	}
	n = sd_vpd(d, r->cdb[2], b);
	if (!n)
		sd_invalid_cdb(r);
	else
		scsi_req_good(r, b, MIN(alloc, n));
}

/* ---- capacity, mode pages ---- */

static void sd_read_capacity10(struct scsi_disk *d, struct scsi_req *r)
{
	uint8_t b[8];

	put_be32(b, d->blocks - 1 > 0xffffffffULL ? 0xffffffffu :
						    (uint32_t)(d->blocks - 1));
	put_be32(b + 4, SD_BLOCK);
	scsi_req_good(r, b, sizeof(b));
}

static void sd_read_capacity16(struct scsi_disk *d, struct scsi_req *r)
{
	uint8_t b[32];

	if ((r->cdb[1] & 0x1f) != 0x10) { /* SERVICE ACTION IN: RC16 only */
		scsi_req_sense(r, SCSI_SENSE_ILLEGAL_REQUEST,
			       SCSI_ASC_INVALID_OPCODE);
		return;
	}
	memset(b, 0, sizeof(b));
	put_be64(b, d->blocks - 1);
	put_be32(b + 8, SD_BLOCK);
	if (d->can_discard)
		b[14] = 0x80; /* LBPME */
	scsi_req_good(r, b, MIN(get_be32(r->cdb + 10), (uint32_t)sizeof(b)));
}

/* Mode pages @page (0x3f = all) at @b; 0 if unknown. */
static uint32_t sd_mode_pages(uint8_t page, bool changeable, uint8_t *b)
{
	uint32_t n = 0;

	if (page == 0x08 || page == 0x3f) { /* caching */
		memset(b + n, 0, 20);
		b[n] = 0x08;
		b[n + 1] = 0x12;
		if (!changeable)
			b[n + 2] = 0x04; /* WCE */
		n += 20;
	}
	if (page == 0x0a || page == 0x3f) { /* control */
		memset(b + n, 0, 12);
		b[n] = 0x0a;
		b[n + 1] = 0x0a;
		if (!changeable)
			b[n + 3] = 0x10; /* unrestricted reordering: QERR 0 */
		n += 12;
	}
	return n;
}

static void sd_mode_sense(struct scsi_disk *d, struct scsi_req *r, bool ten)
{
	uint8_t b[128], page = r->cdb[2] & 0x3f, pc = r->cdb[2] >> 6;
	uint32_t hdr = ten ? 8 : 4, bdl = (r->cdb[1] & 0x08) ? 0 : 8, n;
	uint32_t alloc = ten ? get_be16(r->cdb + 7) : r->cdb[4];

	if (pc == 3) {
		scsi_req_sense(r, SCSI_SENSE_ILLEGAL_REQUEST,
			       SCSI_ASC_SAVING_NOT_SUPPORTED);
		return;
	}
	if (r->cdb[3] && r->cdb[3] != 0xff) { /* subpages: none */
		sd_invalid_cdb(r);
		return;
	}
	memset(b, 0, sizeof(b));
	n = sd_mode_pages(page, pc == 1, b + hdr + bdl);
	if (!n) {
		sd_invalid_cdb(r);
		return;
	}
	if (bdl) {
		uint8_t *bd = b + hdr;

		put_be32(bd, d->blocks > 0xffffffULL ? 0xffffffu :
						       (uint32_t)d->blocks);
		bd[0] = 0; /* density code */
		put_be32(bd + 4, SD_BLOCK);
	}
	n += hdr + bdl;
	if (ten) {
		put_be16(b, (uint16_t)(n - 2));
		b[3] = d->readonly ? 0x80 : 0;
		put_be16(b + 6, (uint16_t)bdl);
	} else {
		b[0] = (uint8_t)(n - 1);
		b[2] = d->readonly ? 0x80 : 0;
		b[3] = (uint8_t)bdl;
	}
	scsi_req_good(r, b, MIN(alloc, n));
}

/* ---- the data path ---- */

static void sd_backend_done(void *opaque, int ret)
{
	struct scsi_req *r = opaque;

	if (ret && !r->err)
		r->err = ret;
	if (--r->pending)
		return;
	free(r->bounce);
	r->bounce = NULL;
	if (r->err == -EROFS)
		scsi_req_sense(r, SCSI_SENSE_DATA_PROTECT,
			       SCSI_ASC_WRITE_PROTECTED);
	else if (r->err == -ENOSPC)
		scsi_req_sense(r, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_NO_SPACE);
	else if (r->err)
		scsi_req_sense(r, SCSI_SENSE_MEDIUM_ERROR,
			       r->write ? SCSI_ASC_WRITE_ERROR :
					  SCSI_ASC_READ_ERROR);
	else
		r->status = SCSI_STATUS_GOOD;
	r->done(r);
}

/* A backend submission failed: -errno to a sense code, synchronously. */
static bool sd_submit_failed(struct scsi_req *r, int ret)
{
	r->pending = 0;
	free(r->bounce);
	r->bounce = NULL;
	if (ret == -EROFS)
		scsi_req_sense(r, SCSI_SENSE_DATA_PROTECT,
			       SCSI_ASC_WRITE_PROTECTED);
	else if (ret == -EINVAL)
		scsi_req_sense(r, SCSI_SENSE_ILLEGAL_REQUEST,
			       SCSI_ASC_LBA_OUT_OF_RANGE);
	else
		scsi_req_sense(r, SCSI_SENSE_HARDWARE_ERROR,
			       SCSI_ASC_INTERNAL_FAILURE);
	return true;
}

static bool sd_check_range(struct scsi_disk *d, struct scsi_req *r,
			   uint64_t lba, uint64_t n)
{
	if (lba > d->blocks || n > d->blocks - lba) {
		scsi_req_sense(r, SCSI_SENSE_ILLEGAL_REQUEST,
			       SCSI_ASC_LBA_OUT_OF_RANGE);
		return false;
	}
	return true;
}

static bool sd_protected(struct scsi_disk *d, struct scsi_req *r)
{
	if (!d->readonly)
		return false;
	scsi_req_sense(r, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
	return true;
}

static bool sd_rw(struct scsi_disk *d, struct scsi_req *r, uint64_t lba,
		  uint32_t n, bool write)
{
	uint64_t bytes = (uint64_t)n * SD_BLOCK;
	struct iovec iov[SCSI_IOV_MAX];
	int cnt, ret;

	if (!sd_check_range(d, r, lba, n))
		return true;
	if (write && sd_protected(d, r))
		return true;
	if (!n) {
		r->status = SCSI_STATUS_GOOD;
		r->xfer = 0;
		return true;
	}
	if (r->dir != (write ? SCSI_DIR_OUT : SCSI_DIR_IN) || r->len < bytes ||
	    r->iovcnt > SCSI_IOV_MAX) {
		/* The buffer does not cover the transfer. */
		sd_invalid_cdb(r);
		return true;
	}
	cnt = scsi_req_iov(r, bytes, iov);
	r->write = write;
	r->pending = 1;
	r->xfer = (uint32_t)bytes;
	ret = write ? block_writev(d->bd, lba, iov, cnt, sd_backend_done, r) :
		      block_readv(d->bd, lba, iov, cnt, sd_backend_done, r);
	return ret ? sd_submit_failed(r, ret) : false;
}

static bool sd_flush(struct scsi_disk *d, struct scsi_req *r)
{
	int ret;

	r->write = true;
	r->pending = 1;
	r->xfer = 0;
	ret = block_flush(d->bd, sd_backend_done, r);
	return ret ? sd_submit_failed(r, ret) : false;
}

/* Discard [lba, lba+n) as one more pending backend request of @r. */
static int sd_discard_one(struct scsi_disk *d, struct scsi_req *r, uint64_t lba,
			  uint64_t n)
{
	int ret;

	if (!n || !d->can_discard)
		return 0;
	r->pending++;
	ret = block_discard(d->bd, lba, n, sd_backend_done, r);
	if (ret)
		r->pending--;
	return ret;
}

/* Start @r with its first reference held: drop it when all are queued. */
static bool sd_finish_submit(struct scsi_req *r, int ret)
{
	if (ret && !r->err)
		r->err = ret;
	if (r->pending > 1) {
		/* Queued work remains: drop our reference from outside. */
		r->pending--;
		return false;
	}
	r->pending = 0;
	free(r->bounce);
	r->bounce = NULL;
	if (r->err)
		return sd_submit_failed(r, r->err);
	r->status = SCSI_STATUS_GOOD;
	return true;
}

static bool sd_unmap(struct scsi_disk *d, struct scsi_req *r)
{
	uint32_t plen = get_be16(r->cdb + 7), got, ndesc, i;
	uint8_t *list;
	int ret = 0;

	if (sd_protected(d, r))
		return true;
	r->xfer = 0;
	if (!plen) {
		r->status = SCSI_STATUS_GOOD;
		return true;
	}
	if (plen < 8 || r->cdb[1] & 0x01) { /* ANCHOR: not supported */
		scsi_req_sense(r, SCSI_SENSE_ILLEGAL_REQUEST,
			       plen < 8 ? SCSI_ASC_PARAM_LIST_LENGTH :
					  SCSI_ASC_INVALID_FIELD_CDB);
		return true;
	}
	plen = MIN(plen, 8u + 16u * SD_MAX_UNMAP_DESC);
	list = calloc(1, plen);
	if (!list)
		return sd_submit_failed(r, -ENOMEM);
	got = sd_copy_out(r, list, plen);
	ndesc = MIN(get_be16(list + 2), got - MIN(got, 8u)) / 16;
	if (got < 8 || get_be16(list + 2) > plen - 8) {
		free(list);
		scsi_req_sense(r, SCSI_SENSE_ILLEGAL_REQUEST,
			       SCSI_ASC_PARAM_LIST_LENGTH);
		return true;
	}
	for (i = 0; i < ndesc; i++) {
		uint64_t lba = get_be64(list + 8 + 16 * i);
		uint32_t n = get_be32(list + 16 + 16 * i);

		if (lba > d->blocks || n > d->blocks - lba ||
		    n > SD_MAX_UNMAP_BLOCKS) {
			free(list);
			scsi_req_sense(r, SCSI_SENSE_ILLEGAL_REQUEST,
				       SCSI_ASC_LBA_OUT_OF_RANGE);
			return true;
		}
	}
	r->write = true;
	r->pending = 1; /* ours, while submitting */
	r->bounce = list;
	for (i = 0; i < ndesc && !ret; i++)
		ret = sd_discard_one(d, r, get_be64(list + 8 + 16 * i),
				     get_be32(list + 16 + 16 * i));
	return sd_finish_submit(r, ret);
}

static bool sd_write_same(struct scsi_disk *d, struct scsi_req *r, uint64_t lba,
			  uint32_t n)
{
	bool unmap = r->cdb[1] & 0x08;
	uint32_t chunk, i;
	uint8_t *buf;
	int ret = 0;

	if (sd_protected(d, r))
		return true;
	if (!n || n > SD_MAX_WS_BLOCKS || (r->cdb[1] & 0x01)) {
		sd_invalid_cdb(r); /* WSNZ; no NDOB/relative addressing */
		return true;
	}
	if (!sd_check_range(d, r, lba, n))
		return true;
	r->xfer = 0;
	r->write = true;
	if (unmap && d->can_discard) {
		r->pending = 1;
		ret = sd_discard_one(d, r, lba, n);
		return sd_finish_submit(r, ret);
	}
	if (r->dir != SCSI_DIR_OUT || r->len < SD_BLOCK) {
		sd_invalid_cdb(r);
		return true;
	}
	chunk = MIN(n, (uint32_t)SD_WS_CHUNK);
	buf = malloc((size_t)chunk * SD_BLOCK);
	if (!buf)
		return sd_submit_failed(r, -ENOMEM);
	sd_copy_out(r, buf, SD_BLOCK);
	for (i = 1; i < chunk; i++)
		memcpy(buf + (size_t)i * SD_BLOCK, buf, SD_BLOCK);
	r->bounce = buf;
	r->pending = 1;
	for (i = 0; i < n && !ret; i += chunk) {
		uint32_t k = MIN(chunk, n - i);

		r->biov.iov_base = buf;
		r->biov.iov_len = (size_t)k * SD_BLOCK;
		r->pending++;
		ret = block_writev(d->bd, lba + i, &r->biov, 1, sd_backend_done,
				   r);
		if (ret)
			r->pending--;
	}
	return sd_finish_submit(r, ret);
}

/* ---- dispatch ---- */

/* Minimum CDB length by opcode group (3, 6, 7: reserved, vendor). */
static const uint8_t sd_cdb_len[8] = { 6, 10, 10, 6, 16, 12, 6, 6 };

bool scsi_disk_execute(struct scsi_disk *d, struct scsi_req *r)
{
	const uint8_t *c = r->cdb;

	if (d->cd)
		return scsi_cdrom_execute(d->cd, r);
	r->disk = d;
	r->err = 0;
	r->pending = 0;
	r->bounce = NULL;
	r->xfer = 0;
	if (r->cdb_len < sd_cdb_len[c[0] >> 5]) {
		sd_invalid_cdb(r);
		return true;
	}
	switch (c[0]) {
	case 0x00: /* TEST UNIT READY */
	case 0x1b: /* START STOP UNIT */
	case 0x1e: /* PREVENT ALLOW MEDIUM REMOVAL */
	case 0x2f: /* VERIFY (10) */
	case 0x8f: /* VERIFY (16) */
		scsi_req_good(r, NULL, 0);
		return true;
	case 0x03: { /* REQUEST SENSE: autosense leaves nothing pending */
		uint8_t b[SCSI_SENSE_LEN] = { 0x70, 0, 0, 0, 0, 0, 0, 10 };

		scsi_req_good(r, b, MIN((uint32_t)c[4], (uint32_t)sizeof(b)));
		return true;
	}
	case 0x12:
		sd_inquiry(d, r);
		return true;
	case 0x25:
		sd_read_capacity10(d, r);
		return true;
	case 0x9e:
		sd_read_capacity16(d, r);
		return true;
	case 0x1a:
		sd_mode_sense(d, r, false);
		return true;
	case 0x5a:
		sd_mode_sense(d, r, true);
		return true;
	case 0x08: /* READ (6) */
	case 0x0a: /* WRITE (6) */
		return sd_rw(d, r, get_be32(c) & 0x1fffff, c[4] ? c[4] : 256,
			     c[0] == 0x0a);
	case 0x28:
	case 0x2a:
		return sd_rw(d, r, get_be32(c + 2), get_be16(c + 7),
			     c[0] == 0x2a);
	case 0xa8:
	case 0xaa:
		return sd_rw(d, r, get_be32(c + 2), get_be32(c + 6),
			     c[0] == 0xaa);
	case 0x88:
	case 0x8a:
		return sd_rw(d, r, get_be64(c + 2), get_be32(c + 10),
			     c[0] == 0x8a);
	case 0x35: /* SYNCHRONIZE CACHE (10) */
	case 0x91: /* SYNCHRONIZE CACHE (16) */
		if (d->readonly) {
			scsi_req_good(r, NULL, 0);
			return true;
		}
		return sd_flush(d, r);
	case 0x42:
		return sd_unmap(d, r);
	case 0x41: /* WRITE SAME (10) */
		return sd_write_same(d, r, get_be32(c + 2), get_be16(c + 7));
	case 0x93: /* WRITE SAME (16) */
		return sd_write_same(d, r, get_be64(c + 2), get_be32(c + 10));
	default:
		scsi_req_sense(r, SCSI_SENSE_ILLEGAL_REQUEST,
			       SCSI_ASC_INVALID_OPCODE);
		return true;
	}
}

/* ---- lifecycle ---- */

int scsi_disk_create(const struct scsi_disk_params *p, struct scsi_disk **out)
{
	struct scsi_disk *d;
	const char *fmt;
	int r;

	if (p->cdrom) {
		d = calloc(1, sizeof(*d));
		if (!d)
			return -ENOMEM;
		r = scsi_cdrom_create(p->bd, &d->cd);
		if (r) {
			free(d);
			return r;
		}
		*out = d;
		return 0;
	}
	if (!p->bd || block_size(p->bd) < SD_BLOCK)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->bd = p->bd;
	d->blocks = block_size(p->bd) / SD_BLOCK;
	d->readonly = p->readonly;
	fmt = block_format_name(p->bd);
	/* Sparse VHDs ignore discards (block.h: advisory): no LBPME. */
	d->can_discard = !d->readonly &&
			 (!strcmp(fmt, "raw") || !strcmp(fmt, "host_device") ||
			  !strcmp(fmt, "vhd-fixed"));
	snprintf(d->serial, sizeof(d->serial), "%s",
		 p->serial && p->serial[0] ? p->serial : "HVKVM0000");
	d->naa_id = p->naa_id;
	*out = d;
	return 0;
}

void scsi_disk_destroy(struct scsi_disk *d)
{
	if (d && d->cd)
		scsi_cdrom_destroy(d->cd);
	free(d);
}

struct block_dev *scsi_disk_block(struct scsi_disk *d)
{
	return d->cd ? scsi_cdrom_block(d->cd) : d->bd;
}

struct scsi_cdrom *scsi_disk_cdrom(struct scsi_disk *d)
{
	return d->cd;
}
