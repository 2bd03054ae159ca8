// SPDX-License-Identifier: MIT
/*
 * ATAPI CD-ROM (ATA8-APT PACKET protocol, ATA8-ACS IDENTIFY PACKET
 * DEVICE; MMC-5 commands, SPC-3 sense data): a read-only drive with 2048-byte
 * blocks and one data track. PACKET moves data by PIO in pieces no larger
 * than the host's byte count limit, or by bus-master DMA.
 *
 * The MMC commands themselves (decoding, replies, sense, tray and unit
 * attention) are devices/mmc.c, shared with the storvsp SCSI CD/DVD; this
 * file is the ATA side: IDENTIFY PACKET DEVICE, the PACKET protocol, the
 * PIO and DMA data phases and the medium reads.
 */
#include <errno.h>
#include <string.h>

#include "hvkvm/mmc.h"
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

#define ATAPI_DMA_MAX_BLOCKS (PRD_MAX_ENTRIES * 32u) /* 64 KiB PRDs */

#define ATAPI_MODEL "Virtual CD"
#define ATAPI_FIRMWARE "1.1.0"

/* ---- helpers ---------------------------------------------------------- */

void ide_atapi_media_changed(struct ide_drive *d)
{
	d->unit_attention = true;
	d->media_event = MMC_EVENT_NEW_MEDIA;
}

/* The drive's MMC state, and back after a command. */
static void atapi_state_get(const struct ide_drive *d, struct mmc_state *s)
{
	*s = (struct mmc_state){
		.blocks = d->cd_blocks,
		.loaded = d->bd != NULL,
		.tray_open = d->tray_open,
		.locked = d->locked,
		.unit_attention = d->unit_attention,
		.media_event = d->media_event,
		.sense_key = d->sense_key,
		.asc = d->asc,
		.ascq = d->ascq,
	};
}

static void atapi_state_put(struct ide_drive *d, const struct mmc_state *s)
{
	d->tray_open = s->tray_open;
	d->locked = s->locked;
	d->unit_attention = s->unit_attention;
	d->media_event = s->media_event;
	d->sense_key = s->sense_key;
	d->asc = s->asc;
	d->ascq = s->ascq;
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

/* ---- data phases ------------------------------------------------------ */

static void atapi_pio_next(struct ide_channel *ch);

static void atapi_io_error(struct ide_channel *ch, int ret)
{
	if (ret == -EFAULT)
		atapi_check(ch, ch->xdrv, MMC_SK_ABORTED_COMMAND, 0, 0);
	else if (ret == -ENOMEDIUM)
		atapi_check(ch, ch->xdrv, MMC_SK_NOT_READY, MMC_ASC_NO_MEDIUM,
			    0);
	else
		atapi_check(ch, ch->xdrv, MMC_SK_MEDIUM_ERROR,
			    MMC_ASC_READ_ERROR, 0);
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

/* Blocks [lba, lba+n) of the medium, n > 0 (mmc.c checked the range). */
static void atapi_read(struct ide_channel *ch, struct ide_drive *d,
		       uint64_t lba, uint32_t n)
{
	ch->lba = lba;
	ch->left = n;
	ch->cdrom = true;
	if (d->packet_dma) {
		if (n > ATAPI_DMA_MAX_BLOCKS) {
			atapi_check(ch, d, MMC_SK_ILLEGAL_REQUEST,
				    MMC_ASC_INVALID_FIELD, 0);
			return;
		}
		ide_dma_start(ch, n * CD_SECTOR, false, false, atapi_dma_done);
		return;
	}
	ch->buf_len = ch->buf_pos = 0;
	atapi_pio_next(ch);
}

static void atapi_dispatch(struct ide_channel *ch, struct ide_drive *d)
{
	uint8_t cdb[MMC_CDB_SIZE] = { 0 };
	struct mmc_result res;
	struct mmc_state s;

	ch->left = 0;
	memcpy(cdb, d->cdb, sizeof(d->cdb));
	atapi_state_get(d, &s);
	mmc_execute(&s, cdb, ch->buf, &res);
	atapi_state_put(d, &s);
	switch (res.action) {
	case MMC_GOOD:
		atapi_ok(ch, d);
		break;
	case MMC_DATA:
		atapi_reply(ch, d, res.len, res.len);
		break;
	case MMC_CHECK:
		atapi_check(ch, d, s.sense_key, s.asc, s.ascq);
		break;
	case MMC_READ:
		atapi_read(ch, d, res.lba, res.count);
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
