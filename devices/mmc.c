// SPDX-License-Identifier: MIT
/*
 * MMC-5 command set of a read-only CD/DVD drive with 2048-byte blocks and
 * one data track, for the ATAPI drive and the storvsp SCSI CD/DVD alike.
 *
 * Commands: TEST UNIT READY, REQUEST SENSE, INQUIRY (standard data),
 * START STOP UNIT (tray open/close), PREVENT ALLOW MEDIUM REMOVAL, READ
 * CAPACITY, READ(10), READ(12), READ(16) (SCSI), SEEK(10), READ
 * TOC/PMA/ATIP formats 0, 1 and 2, GET CONFIGURATION (profile list, core,
 * removable medium, random readable, CD and DVD read), GET EVENT STATUS
 * NOTIFICATION (polled, media class), MODE SENSE(10) (and (6) on SCSI)
 * pages 01h and 2Ah, READ DISC INFORMATION, MECHANISM STATUS, SET CD
 * SPEED (accepted). A medium change is a unit attention (06/28/00) for the
 * next command other than INQUIRY, REQUEST SENSE, GET CONFIGURATION and
 * GET EVENT STATUS NOTIFICATION; no medium is 02/3A/00 (02/3A/02 with the
 * tray open).
 *
 * Not implemented: READ CD / READ CD MSF, audio play, MODE SELECT,
 * writing, changers, asynchronous event notification, DVD structures
 * (READ DVD STRUCTURE), vital product data pages.
 */
#include "hvkvm/mmc.h"

#include <string.h>

#include "hvkvm/util.h"

/* MMC / SPC operation codes. */
#define GPCMD_TEST_UNIT_READY 0x00
#define GPCMD_REQUEST_SENSE 0x03
#define GPCMD_INQUIRY 0x12
#define GPCMD_MODE_SENSE_6 0x1a
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
#define GPCMD_READ_16 0x88
#define GPCMD_READ_12 0xa8
#define GPCMD_SET_SPEED 0xbb
#define GPCMD_MECHANISM_STATUS 0xbd

#define PROFILE_CD_ROM 0x0008
#define PROFILE_DVD_ROM 0x0010
#define CD_MAX_BLOCKS 360000u /* 80 minutes; larger = DVD */
#define TOC_CTL_DATA 0x14     /* ADR 1, data track */

/* ---- helpers ---------------------------------------------------------- */

void mmc_medium_changed(struct mmc_state *s)
{
	s->unit_attention = true;
	s->media_event = MMC_EVENT_NEW_MEDIA;
}

bool mmc_is_dvd(const struct mmc_state *s)
{
	return s->blocks > CD_MAX_BLOCKS;
}

static bool mmc_has_medium(const struct mmc_state *s)
{
	return s->loaded && !s->tray_open;
}

void mmc_check(struct mmc_state *s, uint8_t key, uint8_t asc, uint8_t ascq)
{
	s->sense_key = key;
	s->asc = asc;
	s->ascq = ascq;
}

uint32_t mmc_sense(const struct mmc_state *s, uint8_t *b)
{
	memset(b, 0, MMC_SENSE_LEN);
	b[0] = 0x70; /* current, fixed format */
	b[2] = s->sense_key;
	b[7] = 10; /* additional length */
	b[12] = s->asc;
	b[13] = s->ascq;
	return MMC_SENSE_LEN;
}

static void mmc_fail(struct mmc_state *s, struct mmc_result *res, uint8_t key,
		     uint8_t asc, uint8_t ascq)
{
	mmc_check(s, key, asc, ascq);
	res->action = MMC_CHECK;
}

static void mmc_invalid_field(struct mmc_state *s, struct mmc_result *res)
{
	mmc_fail(s, res, MMC_SK_ILLEGAL_REQUEST, MMC_ASC_INVALID_FIELD, 0);
}

/* False (and the command failed) when there is nothing to read. */
static bool mmc_medium_ok(struct mmc_state *s, struct mmc_result *res)
{
	if (mmc_has_medium(s))
		return true;
	mmc_fail(s, res, MMC_SK_NOT_READY, MMC_ASC_NO_MEDIUM,
		 s->tray_open ? 2 : 0);
	return false;
}

static void mmc_data(struct mmc_result *res, uint32_t len, uint32_t alloc)
{
	res->action = MMC_DATA;
	res->len = MIN(len, alloc);
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

/* ---- response builders ------------------------------------------------ */

static uint32_t mmc_inquiry(const struct mmc_state *s, uint8_t *b)
{
	memset(b, 0, 36);
	b[0] = 0x05; /* CD/DVD device */
	b[1] = 0x80; /* removable */
	b[4] = 31;   /* additional length */
	memcpy(b + 8, "Msft    ", 8);
	if (s->scsi) {
		b[2] = 0x05; /* SPC-3 */
		b[3] = 0x02; /* response data format 2 */
		memcpy(b + 16, "Virtual DVD-ROM ", 16);
	} else {
		b[3] = 0x21; /* ATAPI, response format 1 */
		memcpy(b + 16, "Virtual CD/ROM  ", 16);
	}
	memcpy(b + 32, "1.0 ", 4);
	return 36;
}

static uint32_t mmc_toc(const struct mmc_state *s, uint8_t *b, unsigned int fmt,
			bool msf, unsigned int start)
{
	uint32_t blocks = (uint32_t)MIN(s->blocks, (uint64_t)UINT32_MAX);
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
static uint32_t mmc_feature(const struct mmc_state *s, unsigned int code,
			    uint8_t *b, bool *current)
{
	bool medium = mmc_has_medium(s), dvd = mmc_is_dvd(s);

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
	case 0x0001:	     /* core: ATAPI (SCSI: 1) */
		b[2] = 0x0b; /* version 2, persistent, current */
		b[3] = 8;
		put_be32(b + 4, s->scsi ? 1 : 2);
		return 12;
	case 0x0003: /* removable medium: tray, eject, lock */
		b[2] = 0x03;
		b[3] = 4;
		b[4] = 0x29 | (s->locked ? 0x04 : 0);
		return 8;
	case 0x0010: /* random readable */
		*current = medium;
		b[2] = medium;
		b[3] = 8;
		put_be32(b + 4, MMC_BLOCK);
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

static uint32_t mmc_get_config(const struct mmc_state *s, uint8_t *b,
			       unsigned int rt, unsigned int start)
{
	static const uint16_t codes[] = { 0x0000, 0x0001, 0x0003,
					  0x0010, 0x001e, 0x001f };
	uint32_t p = 8;
	unsigned int i;

	memset(b, 0, 8);
	if (mmc_has_medium(s))
		put_be16(b + 6,
			 mmc_is_dvd(s) ? PROFILE_DVD_ROM : PROFILE_CD_ROM);
	for (i = 0; i < ARRAY_SIZE(codes); i++) {
		bool current;
		uint32_t len;

		if (codes[i] < start || (rt == 2 && codes[i] != start))
			continue;
		len = mmc_feature(s, codes[i], b + p, &current);
		if (rt == 1 && !current)
			continue;
		p += len;
	}
	put_be32(b, p - 4);
	return p;
}

static uint32_t mmc_gesn(struct mmc_state *s, uint8_t *b, uint8_t classes)
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
	b[4] = s->media_event;
	b[5] = (uint8_t)((mmc_has_medium(s) ? 0x02 : 0) |
			 (s->tray_open ? 0x01 : 0));
	s->media_event = 0;
	return 8;
}

static uint32_t mmc_mode_page(const struct mmc_state *s, unsigned int page,
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
		b[6] = (uint8_t)(0x29 | (s->locked ? 0x02 : 0)); /* tray */
		put_be16(b + 8, 706 * 4);  /* max read speed, kB/s */
		put_be16(b + 12, 512);	   /* buffer, KiB */
		put_be16(b + 14, 706 * 4); /* current read speed */
		return 22;
	}
	return 0;
}

static void mmc_mode_sense(struct mmc_state *s, const uint8_t *c, uint8_t *b,
			   bool ten, struct mmc_result *res)
{
	unsigned int page = c[2] & 0x3f, pc = c[2] >> 6;
	uint32_t alloc = ten ? get_be16(&c[7]) : c[4], p = ten ? 8 : 4;

	if (pc == 3) {
		mmc_fail(s, res, MMC_SK_ILLEGAL_REQUEST,
			 MMC_ASC_SAVING_NOT_SUPPORTED, 0);
		return;
	}
	memset(b, 0, 8);
	if (page == 0x3f) {
		p += mmc_mode_page(s, 0x01, b + p);
		p += mmc_mode_page(s, 0x2a, b + p);
	} else {
		uint32_t len = mmc_mode_page(s, page, b + p);

		if (!len) {
			mmc_invalid_field(s, res);
			return;
		}
		p += len;
	}
	if (ten)
		put_be16(b, (uint16_t)(p - 2));
	else
		b[0] = (uint8_t)(p - 1);
	mmc_data(res, p, alloc);
}

static uint32_t mmc_disc_info(uint8_t *b)
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
	return 34;
}

static void mmc_start_stop(struct mmc_state *s, const uint8_t *c,
			   struct mmc_result *res)
{
	bool loej = c[4] & 0x02, start = c[4] & 0x01;

	if (loej && !start) {
		if (s->locked) {
			mmc_fail(s, res, MMC_SK_ILLEGAL_REQUEST,
				 MMC_ASC_REMOVAL_PREVENTED, 2);
			return;
		}
		s->tray_open = true;
		s->media_event = MMC_EVENT_MEDIA_REMOVAL;
	} else if (loej && start && s->tray_open) {
		s->tray_open = false;
		if (s->loaded)
			s->media_event = MMC_EVENT_NEW_MEDIA;
	}
	res->action = MMC_GOOD;
}

static void mmc_read(struct mmc_state *s, uint64_t lba, uint32_t n,
		     struct mmc_result *res)
{
	if (!mmc_medium_ok(s, res))
		return;
	if (lba > s->blocks || n > s->blocks - lba) {
		guest_err("cd: blocks %llu+%u outside the medium",
			  (unsigned long long)lba, n);
		mmc_fail(s, res, MMC_SK_ILLEGAL_REQUEST,
			 MMC_ASC_LBA_OUT_OF_RANGE, 0);
		return;
	}
	if (!n) {
		res->action = MMC_GOOD;
		return;
	}
	res->action = MMC_READ;
	res->lba = lba;
	res->count = n;
}

/* Commands a pending unit attention does not stop (MMC). */
static bool mmc_ua_exempt(uint8_t op)
{
	return op == GPCMD_INQUIRY || op == GPCMD_REQUEST_SENSE ||
	       op == GPCMD_GET_CONFIGURATION || op == GPCMD_GET_EVENT_STATUS;
}

/* ---- dispatch --------------------------------------------------------- */

static void mmc_dispatch(struct mmc_state *s, const uint8_t *c, uint8_t *b,
			 struct mmc_result *res)
{
	uint32_t len;

	switch (c[0]) {
	case GPCMD_TEST_UNIT_READY:
	case GPCMD_SEEK_10:
		if (mmc_medium_ok(s, res))
			res->action = MMC_GOOD;
		break;
	case GPCMD_REQUEST_SENSE:
		mmc_data(res, mmc_sense(s, b), c[4]);
		break;
	case GPCMD_INQUIRY:
		if (c[1] & 0x03) { /* EVPD, CMDDT */
			mmc_invalid_field(s, res);
			break;
		}
		mmc_data(res, mmc_inquiry(s, b), get_be16(&c[3]));
		break;
	case GPCMD_START_STOP_UNIT:
		mmc_start_stop(s, c, res);
		break;
	case GPCMD_PREVENT_ALLOW:
		s->locked = c[4] & 0x01;
		res->action = MMC_GOOD;
		break;
	case GPCMD_READ_CAPACITY:
		if (!mmc_medium_ok(s, res))
			break;
		put_be32(b, (uint32_t)MIN(s->blocks - 1, (uint64_t)UINT32_MAX));
		put_be32(b + 4, MMC_BLOCK);
		mmc_data(res, 8, 8);
		break;
	case GPCMD_READ_10:
		mmc_read(s, get_be32(&c[2]), get_be16(&c[7]), res);
		break;
	case GPCMD_READ_12:
		mmc_read(s, get_be32(&c[2]), get_be32(&c[6]), res);
		break;
	case GPCMD_READ_TOC: {
		unsigned int fmt = c[2] & 0x0f;

		if (!mmc_medium_ok(s, res))
			break;
		if (!fmt && (c[9] >> 6))
			fmt = c[9] >> 6; /* SFF-8020 format field */
		len = mmc_toc(s, b, fmt, c[1] & 0x02, c[6]);
		if (!len)
			mmc_invalid_field(s, res);
		else
			mmc_data(res, len, get_be16(&c[7]));
		break;
	}
	case GPCMD_GET_CONFIGURATION:
		len = mmc_get_config(s, b, c[1] & 0x03, get_be16(&c[2]));
		mmc_data(res, len, get_be16(&c[7]));
		break;
	case GPCMD_GET_EVENT_STATUS:
		if (!(c[1] & 0x01)) { /* asynchronous: not supported */
			mmc_invalid_field(s, res);
			break;
		}
		mmc_data(res, mmc_gesn(s, b, c[4]), get_be16(&c[7]));
		break;
	case GPCMD_MODE_SENSE_10:
		mmc_mode_sense(s, c, b, true, res);
		break;
	case GPCMD_READ_DISC_INFO:
		if (!mmc_medium_ok(s, res))
			break;
		if (c[1] & 0x07) {
			mmc_invalid_field(s, res);
			break;
		}
		mmc_data(res, mmc_disc_info(b), get_be16(&c[7]));
		break;
	case GPCMD_MECHANISM_STATUS:
		memset(b, 0, 8);
		b[1] = s->tray_open ? 0x10 : 0;
		mmc_data(res, 8, get_be16(&c[8]));
		break;
	case GPCMD_SET_SPEED:
		res->action = MMC_GOOD;
		break;
	case GPCMD_MODE_SENSE_6:
		if (s->scsi) {
			mmc_mode_sense(s, c, b, false, res);
			break;
		}
		goto invalid;
	case GPCMD_READ_16:
		if (s->scsi) {
			mmc_read(s, get_be64(&c[2]), get_be32(&c[10]), res);
			break;
		}
		goto invalid;
	default:
invalid:
		dev_dbg("mmc", "opcode %#x rejected", c[0]);
		mmc_fail(s, res, MMC_SK_ILLEGAL_REQUEST, MMC_ASC_INVALID_OPCODE,
			 0);
		break;
	}
}

void mmc_execute(struct mmc_state *s, const uint8_t *cdb, uint8_t *buf,
		 struct mmc_result *res)
{
	memset(res, 0, sizeof(*res));
	if (s->unit_attention && !mmc_ua_exempt(cdb[0])) {
		s->unit_attention = false;
		mmc_fail(s, res, MMC_SK_UNIT_ATTENTION, MMC_ASC_MEDIUM_CHANGED,
			 0);
		return;
	}
	mmc_dispatch(s, cdb, buf, res);
	if (res->action == MMC_GOOD || res->action == MMC_DATA)
		mmc_check(s, 0, 0, 0);
}
