// SPDX-License-Identifier: MIT
/*
 * ATAPI CD-ROM (ATA8-APT PACKET protocol, ATA8-ACS IDENTIFY PACKET
 * DEVICE; MMC-5 commands, SPC-3 sense data): a read-only drive with 2048-byte
 * blocks and one data track. PACKET moves data by PIO in pieces no larger
 * than the host's byte count limit, or by bus-master DMA.
 *
 * Commands: TEST UNIT READY, REQUEST SENSE, INQUIRY, START STOP UNIT (tray
 * open/close), PREVENT ALLOW MEDIUM REMOVAL, READ CAPACITY, READ(10),
 * READ(12), SEEK(10), READ TOC/PMA/ATIP formats 0, 1 and 2, GET
 * CONFIGURATION (profile list, core, removable medium, random readable, CD
 * and DVD read), GET EVENT STATUS NOTIFICATION (polled, media class), MODE
 * SENSE(10) pages 01h and 2Ah, READ DISC INFORMATION, MECHANISM STATUS,
 * SET CD SPEED (accepted). A medium change is a unit attention (06/28/00)
 * for the next command other than INQUIRY, REQUEST SENSE, GET
 * CONFIGURATION and GET EVENT STATUS NOTIFICATION; no medium is 02/3A/00.
 *
 * Not implemented: READ CD / READ CD MSF, audio play, MODE SENSE(6),
 * MODE SELECT, writing, changers, asynchronous event notification, DVD
 * structures (READ DVD STRUCTURE), vital product data pages.
 */
#include <errno.h>
#include <string.h>

#include "hvkvm/util.h"
#include "ide_int.h"

/* ATA commands an ATAPI device accepts. */
#define ATA_PACKET 0xa0
#define ATA_IDENTIFY_PACKET 0xa1
#define ATA_IDENTIFY 0xec
#define ATA_SET_FEATURES 0xef
#define ATA_CHECK_POWER 0xe5
#define ATA_STANDBY_IMM 0xe0
#define ATA_IDLE_IMM 0xe1
#define ATA_SLEEP 0xe6
#define ATA_FLUSH 0xe7

/* MMC / SPC operation codes. */
#define GPCMD_TEST_UNIT_READY 0x00
#define GPCMD_REQUEST_SENSE 0x03
#define GPCMD_INQUIRY 0x12
#define GPCMD_START_STOP_UNIT 0x1b
#define GPCMD_PREVENT_ALLOW 0x1e
#define GPCMD_READ_CAPACITY 0x25
#define GPCMD_READ_10 0x28
#define GPCMD_SEEK_10 0x2b
#define GPCMD_READ_TOC 0x43
#define GPCMD_GET_CONFIGURATION 0x46
#define GPCMD_GET_EVENT_STATUS 0x4a
#define GPCMD_READ_DISC_INFO 0x51
#define GPCMD_MODE_SENSE_10 0x5a
#define GPCMD_READ_12 0xa8
#define GPCMD_SET_SPEED 0xbb
#define GPCMD_MECHANISM_STATUS 0xbd

/* Sense keys and additional sense codes. */
#define SK_NOT_READY 0x02
#define SK_MEDIUM_ERROR 0x03
#define SK_ILLEGAL_REQUEST 0x05
#define SK_UNIT_ATTENTION 0x06
#define SK_ABORTED_COMMAND 0x0b
#define ASC_READ_ERROR 0x11
#define ASC_INVALID_OPCODE 0x20
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_INVALID_FIELD 0x24
#define ASC_MEDIUM_CHANGED 0x28
#define ASC_SAVING_NOT_SUPPORTED 0x39
#define ASC_NO_MEDIUM 0x3a
#define ASC_REMOVAL_PREVENTED 0x53

/* GESN media event codes. */
#define MEC_NEW_MEDIA 2
#define MEC_MEDIA_REMOVAL 3

#define PROFILE_CD_ROM 0x0008
#define PROFILE_DVD_ROM 0x0010
#define CD_MAX_BLOCKS 360000u /* 80 minutes; larger = DVD */
#define ATAPI_DMA_MAX_BLOCKS (PRD_MAX_ENTRIES * 32u) /* 64 KiB PRDs */
#define TOC_CTL_DATA 0x14			     /* ADR 1, data track */

#define ATAPI_MODEL "Virtual CD"
#define ATAPI_FIRMWARE "1.1.0"

/* ---- helpers ---------------------------------------------------------- */

void ide_atapi_media_changed(struct ide_drive *d)
{
	d->unit_attention = true;
	d->media_event = MEC_NEW_MEDIA;
}

static bool atapi_is_dvd(const struct ide_drive *d)
{
	return d->cd_blocks > CD_MAX_BLOCKS;
}

static bool atapi_has_medium(const struct ide_drive *d)
{
	return d->bd && !d->tray_open;
}

static void atapi_ok(struct ide_channel *ch, struct ide_drive *d)
{
	d->sense_key = d->asc = d->ascq = 0;
	d->nsect = ATAPI_IR_IO | ATAPI_IR_COD;
	ide_cmd_ok(ch, d);
}

/* CHECK CONDITION: the sense goes to REQUEST SENSE, the key to ERROR. */
static void atapi_check(struct ide_channel *ch, struct ide_drive *d,
			uint8_t key, uint8_t asc, uint8_t ascq)
{
	d->sense_key = key;
	d->asc = asc;
	d->ascq = ascq;
	d->nsect = ATAPI_IR_IO | ATAPI_IR_COD;
	ide_cmd_error(ch, d, (uint8_t)(key << 4 | ATA_ER_ABRT));
}

static void atapi_invalid_field(struct ide_channel *ch, struct ide_drive *d)
{
	atapi_check(ch, d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
}

/* False (and the command ended) when there is nothing to read. */
static bool atapi_medium_ok(struct ide_channel *ch, struct ide_drive *d)
{
	if (atapi_has_medium(d))
		return true;
	atapi_check(ch, d, SK_NOT_READY, ASC_NO_MEDIUM, d->tray_open ? 2 : 0);
	return false;
}

static void lba_to_msf(uint8_t *p, uint32_t lba)
{
	lba += 150;
	p[0] = (uint8_t)(lba / (75 * 60));
	p[1] = (uint8_t)((lba / 75) % 60);
	p[2] = (uint8_t)(lba % 75);
}

/* A TOC address: 0, M, S, F or a big-endian LBA. */
static void toc_addr(uint8_t *p, uint32_t lba, bool msf)
{
	if (msf) {
		p[0] = 0;
		lba_to_msf(p + 1, lba);
	} else {
		put_be32(p, lba);
	}
}

/* ---- data phases ------------------------------------------------------ */

static void atapi_pio_next(struct ide_channel *ch);

static void atapi_io_error(struct ide_channel *ch, int ret)
{
	if (ret == -EFAULT)
		atapi_check(ch, ch->xdrv, SK_ABORTED_COMMAND, 0, 0);
	else if (ret == -ENOMEDIUM)
		atapi_check(ch, ch->xdrv, SK_NOT_READY, ASC_NO_MEDIUM, 0);
	else
		atapi_check(ch, ch->xdrv, SK_MEDIUM_ERROR, ASC_READ_ERROR, 0);
}

static void atapi_loaded(struct ide_channel *ch, int ret)
{
	if (ret) {
		atapi_io_error(ch, ret);
		return;
	}
	ch->buf_len = ch->chunk * CD_SECTOR;
	ch->buf_pos = 0;
	ch->left -= ch->chunk;
	ch->lba += ch->chunk;
	atapi_pio_next(ch);
}

static void atapi_load(struct ide_channel *ch)
{
	struct iovec iov;
	int r;

	ch->chunk = MIN(ch->left, IDE_BUF_SIZE / CD_SECTOR);
	iov.iov_base = ch->buf;
	iov.iov_len = (size_t)ch->chunk * CD_SECTOR;
	ch->xfer = XFER_NONE;
	r = ide_submit(ch, ch->xdrv, false, ch->lba * (CD_SECTOR / IDE_SECTOR),
		       &iov, 1, atapi_loaded);
	if (r)
		atapi_io_error(ch, r);
}

static void atapi_pio_drained(struct ide_channel *ch)
{
	atapi_pio_next(ch);
}

/* Offer the next piece of buf (at most the byte count limit). */
static void atapi_pio_next(struct ide_channel *ch)
{
	struct ide_drive *d = ch->xdrv;
	uint32_t left = ch->buf_len - ch->buf_pos, bcl = d->bcl, n;

	if (!left) {
		if (ch->left)
			atapi_load(ch);
		else
			atapi_ok(ch, d);
		return;
	}
	if (!bcl || bcl == 0xffff)
		bcl = 0xfffe;
	n = left <= bcl ? left : bcl & ~1u;
	d->lbam = (uint8_t)n;
	d->lbah = (uint8_t)(n >> 8);
	d->nsect = ATAPI_IR_IO;
	ide_pio_in(ch, ch->buf_pos, n, atapi_pio_drained, true);
}

static void atapi_dma_done(struct ide_channel *ch, int ret)
{
	if (ret)
		atapi_io_error(ch, ret);
	else
		atapi_ok(ch, ch->xdrv);
}

/* Send buf[0, len) (cut to @alloc), by DMA if the packet asked for it. */
static void atapi_reply(struct ide_channel *ch, struct ide_drive *d,
			uint32_t len, uint32_t alloc)
{
	len = MIN(len, alloc);
	if (!len) {
		atapi_ok(ch, d);
		return;
	}
	ch->left = 0;
	if (d->packet_dma) {
		ide_dma_start(ch, len, false, true, atapi_dma_done);
		return;
	}
	ch->buf_len = len;
	ch->buf_pos = 0;
	atapi_pio_next(ch);
}

static void atapi_read(struct ide_channel *ch, struct ide_drive *d,
		       uint32_t lba, uint32_t n)
{
	if (!atapi_medium_ok(ch, d))
		return;
	if (lba > d->cd_blocks || n > d->cd_blocks - lba) {
		guest_err("ide%u: CD blocks %u+%u outside the medium",
			  ch->index, lba, n);
		atapi_check(ch, d, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
		return;
	}
	if (!n) {
		atapi_ok(ch, d);
		return;
	}
	ch->lba = lba;
	ch->left = n;
	ch->cdrom = true;
	if (d->packet_dma) {
		if (n > ATAPI_DMA_MAX_BLOCKS) {
			atapi_invalid_field(ch, d);
			return;
		}
		ide_dma_start(ch, n * CD_SECTOR, false, false, atapi_dma_done);
		return;
	}
	ch->buf_len = ch->buf_pos = 0;
	atapi_pio_next(ch);
}

/* ---- MMC commands ----------------------------------------------------- */

static uint32_t atapi_inquiry(struct ide_drive *d, uint8_t *b)
{
	(void)d;
	memset(b, 0, 36);
	b[0] = 0x05; /* CD/DVD device */
	b[1] = 0x80; /* removable */
	b[3] = 0x21; /* ATAPI, response format 1 */
	b[4] = 31;   /* additional length */
	memcpy(b + 8, "Msft    ", 8);
	memcpy(b + 16, "Virtual CD/ROM  ", 16);
	memcpy(b + 32, "1.0 ", 4);
	return 36;
}

static uint32_t atapi_sense(struct ide_drive *d, uint8_t *b)
{
	memset(b, 0, 18);
	b[0] = 0x70; /* current, fixed format */
	b[2] = d->sense_key;
	b[7] = 10; /* additional length */
	b[12] = d->asc;
	b[13] = d->ascq;
	return 18;
}

static uint32_t atapi_toc(struct ide_drive *d, uint8_t *b, unsigned int fmt,
			  bool msf, unsigned int start)
{
	uint32_t blocks = (uint32_t)d->cd_blocks;
	uint32_t p = 4;

	memset(b, 0, 64);
	b[2] = b[3] = 1; /* first and last track / session */
	switch (fmt) {
	case 0:
		if (start > 1 && start != 0xaa)
			return 0;
		if (start <= 1) {
			b[p + 1] = TOC_CTL_DATA;
			b[p + 2] = 1;
			toc_addr(b + p + 4, 0, msf);
			p += 8;
		}
		b[p + 1] = TOC_CTL_DATA;
		b[p + 2] = 0xaa; /* lead-out */
		toc_addr(b + p + 4, blocks, msf);
		p += 8;
		break;
	case 1: /* session info: first track at 0 */
		b[p + 1] = TOC_CTL_DATA;
		b[p + 2] = 1;
		toc_addr(b + p + 4, 0, msf);
		p += 8;
		break;
	case 2: { /* raw TOC: A0, A1, A2, track 1 */
		static const uint8_t points[] = { 0xa0, 0xa1, 0xa2, 0x01 };
		unsigned int i;

		for (i = 0; i < ARRAY_SIZE(points); i++, p += 11) {
			b[p] = 1; /* session */
			b[p + 1] = TOC_CTL_DATA;
			b[p + 3] = points[i];
			if (points[i] == 0xa0 || points[i] == 0xa1)
				b[p + 8] = 1; /* first / last track */
			else if (points[i] == 0xa2)
				lba_to_msf(b + p + 8, blocks);
			else
				lba_to_msf(b + p + 8, 0);
		}
		break;
	}
	default:
		return 0;
	}
	put_be16(b, (uint16_t)(p - 2));
	return p;
}

/* One GET CONFIGURATION feature descriptor; returns its length. */
static uint32_t atapi_feature(struct ide_drive *d, unsigned int code,
			      uint8_t *b, bool *current)
{
	bool medium = atapi_has_medium(d), dvd = atapi_is_dvd(d);

	memset(b, 0, 16);
	put_be16(b, (uint16_t)code);
	*current = true;
	switch (code) {
	case 0x0000:	     /* profile list */
		b[2] = 0x03; /* persistent, current */
		b[3] = 8;
		put_be16(b + 4, PROFILE_DVD_ROM);
		b[6] = medium && dvd;
		put_be16(b + 8, PROFILE_CD_ROM);
		b[10] = medium && !dvd;
		return 12;
	case 0x0001:	     /* core: ATAPI */
		b[2] = 0x0b; /* version 2, persistent, current */
		b[3] = 8;
		put_be32(b + 4, 2);
		return 12;
	case 0x0003: /* removable medium: tray, eject, lock */
		b[2] = 0x03;
		b[3] = 4;
		b[4] = 0x29 | (d->locked ? 0x04 : 0);
		return 8;
	case 0x0010: /* random readable */
		*current = medium;
		b[2] = medium;
		b[3] = 8;
		put_be32(b + 4, CD_SECTOR);
		put_be16(b + 8, dvd ? 16 : 1);
		return 12;
	case 0x001e: /* CD read */
		*current = medium && !dvd;
		b[2] = 0x08 | *current;
		b[3] = 4;
		return 8;
	case 0x001f: /* DVD read */
		*current = medium && dvd;
		b[2] = *current;
		b[3] = 4;
		return 8;
	}
	return 0;
}

static uint32_t atapi_get_config(struct ide_drive *d, uint8_t *b,
				 unsigned int rt, unsigned int start)
{
	static const uint16_t codes[] = { 0x0000, 0x0001, 0x0003,
					  0x0010, 0x001e, 0x001f };
	uint32_t p = 8;
	unsigned int i;

	memset(b, 0, 8);
	if (atapi_has_medium(d))
		put_be16(b + 6,
			 atapi_is_dvd(d) ? PROFILE_DVD_ROM : PROFILE_CD_ROM);
	for (i = 0; i < ARRAY_SIZE(codes); i++) {
		bool current;
		uint32_t len;

		if (codes[i] < start || (rt == 2 && codes[i] != start))
			continue;
		len = atapi_feature(d, codes[i], b + p, &current);
		if (rt == 1 && !current)
			continue;
		p += len;
	}
	put_be32(b, p - 4);
	return p;
}

static uint32_t atapi_gesn(struct ide_drive *d, uint8_t *b, uint8_t classes)
{
	memset(b, 0, 8);
	b[3] = 0x10; /* supported: media */
	if (!(classes & 0x10)) {
		b[2] = 0x80; /* no event available */
		put_be16(b, 2);
		return 4;
	}
	put_be16(b, 6);
	b[2] = 0x04; /* media class */
	b[4] = d->media_event;
	b[5] = (uint8_t)((atapi_has_medium(d) ? 0x02 : 0) |
			 (d->tray_open ? 0x01 : 0));
	d->media_event = 0;
	return 8;
}

static uint32_t atapi_mode_page(struct ide_drive *d, unsigned int page,
				uint8_t *b)
{
	switch (page) {
	case 0x01: /* read error recovery */
		memset(b, 0, 12);
		b[0] = 0x01;
		b[1] = 0x0a;
		b[3] = 0x05; /* read retry count */
		return 12;
	case 0x2a: /* CD/DVD capabilities */
		memset(b, 0, 22);
		b[0] = 0x2a;
		b[1] = 0x14;
		b[2] = 0x3b; /* reads CD-R/RW, method 2, DVD-ROM/R */
		b[4] = 0x71; /* audio, mode 2 form 1/2, multisession */
		b[6] = (uint8_t)(0x29 | (d->locked ? 0x02 : 0)); /* tray */
		put_be16(b + 8, 706 * 4);  /* max read speed, kB/s */
		put_be16(b + 12, 512);	   /* buffer, KiB */
		put_be16(b + 14, 706 * 4); /* current read speed */
		return 22;
	}
	return 0;
}

static void atapi_mode_sense(struct ide_channel *ch, struct ide_drive *d)
{
	unsigned int page = d->cdb[2] & 0x3f, pc = d->cdb[2] >> 6;
	uint32_t alloc = get_be16(&d->cdb[7]), p = 8;
	uint8_t *b = ch->buf;

	if (pc == 3) {
		atapi_check(ch, d, SK_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED,
			    0);
		return;
	}
	memset(b, 0, 8);
	if (page == 0x3f) {
		p += atapi_mode_page(d, 0x01, b + p);
		p += atapi_mode_page(d, 0x2a, b + p);
	} else {
		uint32_t len = atapi_mode_page(d, page, b + p);

		if (!len) {
			atapi_invalid_field(ch, d);
			return;
		}
		p += len;
	}
	put_be16(b, (uint16_t)(p - 2));
	atapi_reply(ch, d, p, alloc);
}

static uint32_t atapi_disc_info(struct ide_drive *d, uint8_t *b)
{
	memset(b, 0, 34);
	put_be16(b, 32);
	b[2] = 0x0e;		      /* complete session, finalized disc */
	b[3] = 1;		      /* first track */
	b[4] = 1;		      /* sessions */
	b[5] = 1;		      /* first track in last session */
	b[6] = 1;		      /* last track in last session */
	put_be32(b + 16, 0xffffffff); /* last session lead-in: none */
	put_be32(b + 20, 0xffffffff); /* last possible lead-out: none */
	(void)d;
	return 34;
}

static void atapi_start_stop(struct ide_channel *ch, struct ide_drive *d)
{
	bool loej = d->cdb[4] & 0x02, start = d->cdb[4] & 0x01;

	if (loej && !start) {
		if (d->locked) {
			atapi_check(ch, d, SK_ILLEGAL_REQUEST,
				    ASC_REMOVAL_PREVENTED, 2);
			return;
		}
		d->tray_open = true;
		d->media_event = MEC_MEDIA_REMOVAL;
	} else if (loej && start && d->tray_open) {
		d->tray_open = false;
		if (d->bd)
			d->media_event = MEC_NEW_MEDIA;
	}
	atapi_ok(ch, d);
}

/* Commands a pending unit attention does not stop (MMC). */
static bool atapi_ua_exempt(uint8_t op)
{
	return op == GPCMD_INQUIRY || op == GPCMD_REQUEST_SENSE ||
	       op == GPCMD_GET_CONFIGURATION || op == GPCMD_GET_EVENT_STATUS;
}

static void atapi_dispatch(struct ide_channel *ch, struct ide_drive *d)
{
	const uint8_t *c = d->cdb;
	uint8_t *b = ch->buf;
	uint32_t len;

	ch->left = 0;
	if (d->unit_attention && !atapi_ua_exempt(c[0])) {
		d->unit_attention = false;
		atapi_check(ch, d, SK_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
		return;
	}
	switch (c[0]) {
	case GPCMD_TEST_UNIT_READY:
	case GPCMD_SEEK_10:
		if (atapi_medium_ok(ch, d))
			atapi_ok(ch, d);
		break;
	case GPCMD_REQUEST_SENSE:
		atapi_reply(ch, d, atapi_sense(d, b), c[4]);
		break;
	case GPCMD_INQUIRY:
		if (c[1] & 0x01) { /* EVPD */
			atapi_invalid_field(ch, d);
			break;
		}
		atapi_reply(ch, d, atapi_inquiry(d, b), get_be16(&c[3]));
		break;
	case GPCMD_START_STOP_UNIT:
		atapi_start_stop(ch, d);
		break;
	case GPCMD_PREVENT_ALLOW:
		d->locked = c[4] & 0x01;
		atapi_ok(ch, d);
		break;
	case GPCMD_READ_CAPACITY:
		if (!atapi_medium_ok(ch, d))
			break;
		put_be32(b, (uint32_t)(d->cd_blocks - 1));
		put_be32(b + 4, CD_SECTOR);
		atapi_reply(ch, d, 8, 8);
		break;
	case GPCMD_READ_10:
		atapi_read(ch, d, get_be32(&c[2]), get_be16(&c[7]));
		break;
	case GPCMD_READ_12:
		atapi_read(ch, d, get_be32(&c[2]), get_be32(&c[6]));
		break;
	case GPCMD_READ_TOC: {
		unsigned int fmt = c[2] & 0x0f;

		if (!atapi_medium_ok(ch, d))
			break;
		if (!fmt && (c[9] >> 6))
			fmt = c[9] >> 6; /* SFF-8020 format field */
		len = atapi_toc(d, b, fmt, c[1] & 0x02, c[6]);
		if (!len)
			atapi_invalid_field(ch, d);
		else
			atapi_reply(ch, d, len, get_be16(&c[7]));
		break;
	}
	case GPCMD_GET_CONFIGURATION:
		len = atapi_get_config(d, b, c[1] & 0x03, get_be16(&c[2]));
		atapi_reply(ch, d, len, get_be16(&c[7]));
		break;
	case GPCMD_GET_EVENT_STATUS:
		if (!(c[1] & 0x01)) { /* asynchronous: not supported */
			atapi_invalid_field(ch, d);
			break;
		}
		atapi_reply(ch, d, atapi_gesn(d, b, c[4]), get_be16(&c[7]));
		break;
	case GPCMD_MODE_SENSE_10:
		atapi_mode_sense(ch, d);
		break;
	case GPCMD_READ_DISC_INFO:
		if (!atapi_medium_ok(ch, d))
			break;
		if (c[1] & 0x07) {
			atapi_invalid_field(ch, d);
			break;
		}
		atapi_reply(ch, d, atapi_disc_info(d, b), get_be16(&c[7]));
		break;
	case GPCMD_MECHANISM_STATUS:
		memset(b, 0, 8);
		b[1] = d->tray_open ? 0x10 : 0;
		atapi_reply(ch, d, 8, get_be16(&c[8]));
		break;
	case GPCMD_SET_SPEED:
		atapi_ok(ch, d);
		break;
	default:
		dev_dbg("ide", "ATAPI opcode %#x rejected", c[0]);
		atapi_check(ch, d, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
		break;
	}
}

/* ---- ATA commands ----------------------------------------------------- */

static void atapi_cdb_received(struct ide_channel *ch)
{
	struct ide_drive *d = ch->xdrv;

	memcpy(d->cdb, ch->buf, sizeof(d->cdb));
	ch->xfer = XFER_NONE;
	atapi_dispatch(ch, d);
}

static void atapi_packet(struct ide_channel *ch, struct ide_drive *d)
{
	d->packet_dma = d->feature & 0x01;
	d->bcl = (uint16_t)(d->lbah << 8 | d->lbam);
	d->nsect = ATAPI_IR_COD;
	ide_pio_out(ch, 0, sizeof(d->cdb), atapi_cdb_received, false);
}

static void atapi_identify(struct ide_drive *d, uint16_t *id)
{
	memset(id, 0, 512);
	/* ATAPI, CD-ROM, removable, DRQ within 50 us, 12-byte packets. */
	id[0] = (2u << 14) | (5u << 8) | (1u << 7) | (2u << 5);
	ide_padstr(&id[10], 10, d->serial);
	ide_padstr(&id[23], 4, ATAPI_FIRMWARE);
	ide_padstr(&id[27], 20, ATAPI_MODEL);
	id[49] = (1u << 11) | (1u << 9) | (1u << 8); /* IORDY, LBA, DMA */
	id[53] = 0x0006;			     /* words 64-70, 88 valid */
	ide_id_xfer_modes(d, id);
	id[65] = id[66] = id[67] = id[68] = 120;
	id[80] = 0x00f0;		 /* ATA/ATAPI-4 .. 7 */
	id[82] = (1u << 14) | (1u << 4); /* NOP, PACKET */
	id[83] = id[84] = id[87] = 0x4000;
	id[85] = (1u << 14) | (1u << 4);
	id[93] = 0x6001;
	ide_id_checksum(id);
}

static void atapi_pio_end(struct ide_channel *ch)
{
	struct ide_drive *d = ch->xdrv;

	ide_end_xfer(ch);
	d->status = ide_ready_status(d);
}

void ide_atapi_exec(struct ide_channel *ch, struct ide_drive *d, uint8_t cmd)
{
	uint16_t id[256];
	unsigned int i;

	switch (cmd) {
	case ATA_PACKET:
		atapi_packet(ch, d);
		break;
	case ATA_IDENTIFY_PACKET:
		atapi_identify(d, id);
		for (i = 0; i < 256; i++)
			put_le16(&ch->buf[2 * i], id[i]);
		ide_pio_in(ch, 0, 512, atapi_pio_end, true);
		break;
	case ATA_IDENTIFY:
		/* Abort with the signature so the host knows to use A1h. */
		ide_set_signature(d);
		ide_cmd_abort(ch, d);
		break;
	case ATA_SET_FEATURES:
		if (d->feature == 0x03 && !ide_set_xfer_mode(d))
			ide_cmd_ok(ch, d);
		else
			ide_cmd_abort(ch, d);
		break;
	case ATA_CHECK_POWER:
		d->nsect = 0xff;
		ide_cmd_ok(ch, d);
		break;
	case ATA_STANDBY_IMM:
	case ATA_IDLE_IMM:
	case ATA_SLEEP:
	case ATA_FLUSH:
		ide_cmd_ok(ch, d);
		break;
	default:
		ide_cmd_abort(ch, d);
		break;
	}
}
