// SPDX-License-Identifier: MIT
/*
 * ATA disk command set (ATA8-ACS): IDENTIFY DEVICE (its word table) with
 * LBA28/LBA48 capacity, CHS for old BIOSes and the PIO/MWDMA/UDMA modes;
 * READ/WRITE SECTORS, MULTIPLE and DMA (+EXT), READ VERIFY (+EXT), FLUSH
 * CACHE (+EXT), SET FEATURES (03h transfer mode, 02h/82h write cache),
 * SET MULTIPLE MODE, INITIALIZE DEVICE PARAMETERS, the power commands and
 * RECALIBRATE/SEEK as no-ops. Everything else ends in ABRT.
 *
 * PIO reads are read ahead into the channel buffer (up to IDE_BUF_SIZE per
 * backend request) and handed out one DRQ block at a time; PIO writes are
 * collected the same way. A disabled write cache turns every write command
 * into write + flush before the final status.
 *
 * Not implemented: SMART, security, HPA (READ NATIVE MAX), TRIM/DSM, NCQ,
 * the log and streaming commands, READ/WRITE LONG; CHS translations beyond
 * what INITIALIZE DEVICE PARAMETERS sets; the device never reports a
 * standby timer expiring on its own.
 */
#include <errno.h>
#include <string.h>

#include "hvkvm/block.h"
#include "hvkvm/util.h"
#include "ide_int.h"

/* ATA8-ACS command codes. */
#define ATA_NOP 0x00
#define ATA_RECALIBRATE 0x10 /* 10h-1Fh */
#define ATA_READ 0x20
#define ATA_READ_NORETRY 0x21
#define ATA_READ_EXT 0x24
#define ATA_READ_DMA_EXT 0x25
#define ATA_READ_MULTI_EXT 0x29
#define ATA_WRITE 0x30
#define ATA_WRITE_NORETRY 0x31
#define ATA_WRITE_EXT 0x34
#define ATA_WRITE_DMA_EXT 0x35
#define ATA_WRITE_MULTI_EXT 0x39
#define ATA_VERIFY 0x40
#define ATA_VERIFY_NORETRY 0x41
#define ATA_VERIFY_EXT 0x42
#define ATA_SEEK 0x70
#define ATA_INIT_DEV_PARAMS 0x91
#define ATA_READ_MULTI 0xc4
#define ATA_WRITE_MULTI 0xc5
#define ATA_SET_MULTI 0xc6
#define ATA_READ_DMA 0xc8
#define ATA_READ_DMA_NORETRY 0xc9
#define ATA_WRITE_DMA 0xca
#define ATA_WRITE_DMA_NORETRY 0xcb
#define ATA_STANDBY_IMM 0xe0
#define ATA_IDLE_IMM 0xe1
#define ATA_STANDBY 0xe2
#define ATA_IDLE 0xe3
#define ATA_CHECK_POWER 0xe5
#define ATA_SLEEP 0xe6
#define ATA_FLUSH 0xe7
#define ATA_FLUSH_EXT 0xea
#define ATA_IDENTIFY 0xec
#define ATA_SET_FEATURES 0xef

/* SET FEATURES subcommands. */
#define SETF_WCACHE_ON 0x02
#define SETF_XFER 0x03
#define SETF_REVERT_OFF 0x66
#define SETF_WCACHE_OFF 0x82
#define SETF_REVERT_ON 0xcc

#define ATA_MODEL "Virtual HD"
#define ATA_FIRMWARE "1.1.0"
#define CHS_MAX_CYLS 16383u
#define LBA28_MAX 0x0fffffffULL

/* ---- IDENTIFY --------------------------------------------------------- */

void ide_ata_geometry(struct ide_drive *d)
{
	uint64_t cyls;

	d->heads = 16;
	d->spt = 63;
	cyls = d->nsectors / (16 * 63);
	if (cyls > CHS_MAX_CYLS)
		cyls = CHS_MAX_CYLS;
	if (!cyls)
		cyls = 1;
	d->cyls = (uint16_t)cyls;
	d->cur_cyls = d->cyls;
	d->cur_heads = d->heads;
	d->cur_spt = d->spt;
}

/* Words 62-64 and 88: supported modes and the one SET FEATURES chose. */
void ide_id_xfer_modes(const struct ide_drive *d, uint16_t *id)
{
	unsigned int mode = d->xfer_mode & 7;

	id[62] = 0;
	id[63] = 0x0007; /* MWDMA 0-2 */
	id[64] = 0x0003; /* PIO 3 and 4 */
	id[88] = 0x003f; /* UDMA 0-5 */
	switch (d->xfer_mode >> 3) {
	case 4:
		id[63] |= (uint16_t)(1u << (8 + mode));
		break;
	case 8:
		id[88] |= (uint16_t)(1u << (8 + mode));
		break;
	}
}

/* SET FEATURES 03h: the mode in the sector count (ATA8-ACS). */
int ide_set_xfer_mode(struct ide_drive *d)
{
	uint8_t v = d->nsect;
	unsigned int mode = v & 7;

	switch (v >> 3) {
	case 0: /* PIO default (00h, 01h) */
		if (mode > 1)
			return -EINVAL;
		break;
	case 1: /* PIO flow control mode */
		if (mode > 4)
			return -EINVAL;
		break;
	case 4: /* multiword DMA */
		if (mode > 2)
			return -EINVAL;
		break;
	case 8: /* Ultra DMA */
		if (mode > 5)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	d->xfer_mode = v;
	return 0;
}

static void ata_identify(struct ide_drive *d, uint16_t *id)
{
	uint64_t lba28 = MIN(d->nsectors, LBA28_MAX);
	uint32_t chs = (uint32_t)d->cur_cyls * d->cur_heads * d->cur_spt;

	memset(id, 0, 512);
	id[0] = 0x0040; /* fixed, not removable */
	id[1] = d->cyls;
	id[3] = d->heads;
	id[6] = d->spt;
	ide_padstr(&id[10], 10, d->serial);
	ide_padstr(&id[23], 4, ATA_FIRMWARE);
	ide_padstr(&id[27], 20, ATA_MODEL);
	id[47] = 0x8000 | IDE_MAX_MULT;
	id[49] = (1u << 11) | (1u << 9) | (1u << 8); /* IORDY, LBA, DMA */
	id[50] = 0x4000;
	id[51] = 0x0200; /* PIO timing (obsolete) */
	id[53] = 0x0007; /* words 54-58, 64-70, 88 valid */
	id[54] = d->cur_cyls;
	id[55] = d->cur_heads;
	id[56] = d->cur_spt;
	id[57] = (uint16_t)chs;
	id[58] = (uint16_t)(chs >> 16);
	id[59] = d->mult ? 0x0100 | d->mult : 0;
	id[60] = (uint16_t)lba28;
	id[61] = (uint16_t)(lba28 >> 16);
	ide_id_xfer_modes(d, id);
	id[65] = id[66] = id[67] = id[68] = 120; /* cycle times, ns */
	id[80] = 0x01f0;			 /* ATA/ATAPI-4 .. ATA8-ACS */
	/* 82/85: NOP, write cache, power management supported/enabled. */
	id[82] = (1u << 14) | (1u << 5) | (1u << 3);
	id[85] = (uint16_t)((1u << 14) | (d->wcache ? 1u << 5 : 0) | (1u << 3));
	/* 83/86: FLUSH CACHE EXT, FLUSH CACHE, 48-bit addressing. */
	id[83] = 0x4000 | (1u << 13) | (1u << 12) | (1u << 10);
	id[86] = (1u << 13) | (1u << 12) | (1u << 10);
	id[84] = id[87] = 0x4000;
	id[93] = 0x6001; /* reset results, 80-wire cable */
	id[100] = (uint16_t)d->nsectors;
	id[101] = (uint16_t)(d->nsectors >> 16);
	id[102] = (uint16_t)(d->nsectors >> 32);
	id[103] = (uint16_t)(d->nsectors >> 48);
	id[106] = 0x4000; /* one 512-byte logical per physical */
	ide_id_checksum(id);
}

/* ---- addressing ------------------------------------------------------- */

/* The command's first sector and count; -EINVAL outside the disk. */
static int ata_decode(struct ide_drive *d, bool ext, uint64_t *lba,
		      uint32_t *count)
{
	if (ext) {
		*lba = (uint64_t)d->hob_lbah << 40 |
		       (uint64_t)d->hob_lbam << 32 |
		       (uint64_t)d->hob_lbal << 24 | (uint64_t)d->lbah << 16 |
		       (uint64_t)d->lbam << 8 | d->lbal;
		*count = (uint32_t)d->hob_nsect << 8 | d->nsect;
		if (!*count)
			*count = 65536;
	} else {
		*count = d->nsect ? d->nsect : 256;
		if (d->device & ATA_DEV_LBA) {
			*lba = (uint64_t)(d->device & 0x0f) << 24 |
			       (uint64_t)d->lbah << 16 |
			       (uint64_t)d->lbam << 8 | d->lbal;
		} else {
			uint32_t cyl = (uint32_t)d->lbah << 8 | d->lbam;
			uint32_t head = d->device & 0x0f, sect = d->lbal;

			if (!sect || sect > d->cur_spt || head >= d->cur_heads)
				return -EINVAL;
			*lba = ((uint64_t)cyl * d->cur_heads + head) *
				       d->cur_spt +
			       sect - 1;
		}
	}
	if (*lba > d->nsectors || *count > d->nsectors - *lba)
		return -EINVAL;
	return 0;
}

/* A backend error as the ATA error register says it. */
static void ata_io_error(struct ide_channel *ch, struct ide_drive *d, int r,
			 bool write)
{
	uint8_t err;

	if (r == -EINVAL)
		err = ATA_ER_IDNF;
	else if (r == -EFAULT || r == -EROFS || write)
		err = ATA_ER_ABRT;
	else
		err = ATA_ER_UNC;
	ide_cmd_error(ch, d, err);
}

/* ---- PIO reads -------------------------------------------------------- */

static void ata_read_chunk(struct ide_channel *ch);

/* Final block drained: no interrupt after the last DRQ block. */
static void ata_pio_in_end(struct ide_channel *ch)
{
	struct ide_drive *d = ch->xdrv;

	ide_end_xfer(ch);
	d->status = ide_ready_status(d);
}

static void ata_read_block(struct ide_channel *ch);

static void ata_read_drained(struct ide_channel *ch)
{
	ch->left -= (ch->drq_end - ch->drq_start) / IDE_SECTOR;
	if (!ch->left)
		ata_pio_in_end(ch);
	else if (ch->buf_pos >= ch->buf_len)
		ata_read_chunk(ch);
	else
		ata_read_block(ch);
}

static void ata_read_block(struct ide_channel *ch)
{
	uint32_t n = MIN(ch->block, (ch->buf_len - ch->buf_pos) / IDE_SECTOR);

	ide_pio_in(ch, ch->buf_pos, n * IDE_SECTOR, ata_read_drained, true);
}

static void ata_read_loaded(struct ide_channel *ch, int ret)
{
	if (ret) {
		ata_io_error(ch, ch->xdrv, ret, false);
		return;
	}
	ch->buf_len = ch->chunk * IDE_SECTOR;
	ch->buf_pos = 0;
	ata_read_block(ch);
}

static void ata_read_chunk(struct ide_channel *ch)
{
	struct ide_drive *d = ch->xdrv;
	struct iovec iov;
	int r;

	ch->chunk = MIN(ch->left, IDE_BUF_SIZE / IDE_SECTOR);
	iov.iov_base = ch->buf;
	iov.iov_len = (size_t)ch->chunk * IDE_SECTOR;
	r = ide_submit(ch, d, false, ch->lba, &iov, 1, ata_read_loaded);
	if (r) {
		ata_io_error(ch, d, r, false);
		return;
	}
	ch->lba += ch->chunk;
}

/* ---- PIO writes ------------------------------------------------------- */

static void ata_flush_done(struct ide_channel *ch, int ret)
{
	if (ret)
		ide_cmd_error(ch, ch->xdrv, ATA_ER_ABRT);
	else
		ide_cmd_ok(ch, ch->xdrv);
}

/* All data written: with the write cache off it must be durable first. */
static void ata_write_finish(struct ide_channel *ch, struct ide_drive *d)
{
	int r;

	if (d->wcache) {
		ide_cmd_ok(ch, d);
		return;
	}
	r = ide_submit_flush(ch, d, ata_flush_done);
	if (r)
		ide_cmd_error(ch, d, ATA_ER_ABRT);
}

static void ata_write_block(struct ide_channel *ch, bool irq);

static void ata_write_stored(struct ide_channel *ch, int ret)
{
	if (ret) {
		ata_io_error(ch, ch->xdrv, ret, true);
		return;
	}
	ch->lba += ch->chunk;
	ch->buf_pos = 0;
	if (!ch->left)
		ata_write_finish(ch, ch->xdrv);
	else
		ata_write_block(ch, true);
}

static void ata_write_filled(struct ide_channel *ch)
{
	struct iovec iov;
	int r;

	ch->left -= (ch->drq_end - ch->drq_start) / IDE_SECTOR;
	if (ch->left && ch->buf_pos + ch->block * IDE_SECTOR <= IDE_BUF_SIZE) {
		ata_write_block(ch, true);
		return;
	}
	ch->chunk = ch->buf_pos / IDE_SECTOR;
	ch->xfer = XFER_NONE;
	iov.iov_base = ch->buf;
	iov.iov_len = ch->buf_pos;
	r = ide_submit(ch, ch->xdrv, true, ch->lba, &iov, 1, ata_write_stored);
	if (r)
		ata_io_error(ch, ch->xdrv, r, true);
}

static void ata_write_block(struct ide_channel *ch, bool irq)
{
	uint32_t n = MIN(ch->block, ch->left);

	ide_pio_out(ch, ch->buf_pos, n * IDE_SECTOR, ata_write_filled, irq);
}

/* ---- command entry points --------------------------------------------- */

static void ata_rw_pio(struct ide_channel *ch, struct ide_drive *d, bool ext,
		       bool write, bool multi)
{
	uint64_t lba;
	uint32_t count;

	if (multi && !d->mult) {
		ide_cmd_abort(ch, d);
		return;
	}
	if (ata_decode(d, ext, &lba, &count)) {
		guest_err("ide%u: sectors %llu+%u outside the disk", ch->index,
			  (unsigned long long)lba, count);
		ide_cmd_error(ch, d, ATA_ER_IDNF | ATA_ER_ABRT);
		return;
	}
	d->standby = false; /* media access spins the disk up */
	ch->lba = lba;
	ch->left = count;
	ch->block = multi ? d->mult : 1;
	ch->write = write;
	ch->cdrom = false;
	ch->buf_pos = ch->buf_len = 0;
	if (write)
		ata_write_block(ch, false);
	else
		ata_read_chunk(ch);
}

static void ata_dma_done(struct ide_channel *ch, int ret)
{
	struct ide_drive *d = ch->xdrv;

	if (ret)
		ata_io_error(ch, d, ret, ch->write);
	else if (ch->write)
		ata_write_finish(ch, d);
	else
		ide_cmd_ok(ch, d);
}

static void ata_rw_dma(struct ide_channel *ch, struct ide_drive *d, bool ext,
		       bool write)
{
	uint64_t lba;
	uint32_t count;

	if (ata_decode(d, ext, &lba, &count)) {
		guest_err("ide%u: DMA sectors %llu+%u outside the disk",
			  ch->index, (unsigned long long)lba, count);
		ide_cmd_error(ch, d, ATA_ER_IDNF | ATA_ER_ABRT);
		return;
	}
	d->standby = false;
	ch->lba = lba;
	ch->left = count;
	ch->cdrom = false;
	ide_dma_start(ch, count * IDE_SECTOR, write, false, ata_dma_done);
}

static void ata_verify(struct ide_channel *ch, struct ide_drive *d, bool ext)
{
	uint64_t lba;
	uint32_t count;

	if (ata_decode(d, ext, &lba, &count))
		ide_cmd_error(ch, d, ATA_ER_IDNF | ATA_ER_ABRT);
	else
		ide_cmd_ok(ch, d);
}

static void ata_flush(struct ide_channel *ch, struct ide_drive *d)
{
	if (ide_submit_flush(ch, d, ata_flush_done))
		ide_cmd_abort(ch, d);
}

static void ata_set_features(struct ide_channel *ch, struct ide_drive *d)
{
	switch (d->feature) {
	case SETF_XFER:
		if (ide_set_xfer_mode(d)) {
			ide_cmd_abort(ch, d);
			return;
		}
		break;
	case SETF_WCACHE_ON:
		d->wcache = true;
		break;
	case SETF_WCACHE_OFF:
		d->wcache = false;
		break;
	case SETF_REVERT_OFF:
	case SETF_REVERT_ON:
		break;
	default:
		ide_cmd_abort(ch, d);
		return;
	}
	ide_cmd_ok(ch, d);
}

static void ata_set_multi(struct ide_channel *ch, struct ide_drive *d)
{
	uint8_t n = d->nsect;

	if (n > IDE_MAX_MULT || (n & (n - 1))) {
		ide_cmd_abort(ch, d);
		return;
	}
	d->mult = n;
	ide_cmd_ok(ch, d);
}

/* INITIALIZE DEVICE PARAMETERS: heads from the device register. */
static void ata_init_params(struct ide_channel *ch, struct ide_drive *d)
{
	uint32_t heads = (d->device & 0x0f) + 1u, spt = d->nsect;
	uint64_t cyls;

	if (!spt) {
		ide_cmd_abort(ch, d);
		return;
	}
	cyls = d->nsectors / (heads * spt);
	d->cur_heads = (uint16_t)heads;
	d->cur_spt = (uint16_t)spt;
	d->cur_cyls = (uint16_t)MIN(cyls, 65535u);
	ide_cmd_ok(ch, d);
}

static void ata_identify_cmd(struct ide_channel *ch, struct ide_drive *d)
{
	uint16_t id[256];
	unsigned int i;

	ata_identify(d, id);
	for (i = 0; i < 256; i++)
		put_le16(&ch->buf[2 * i], id[i]);
	ch->buf_len = 512;
	ide_pio_in(ch, 0, 512, ata_pio_in_end, true);
}

void ide_ata_exec(struct ide_channel *ch, struct ide_drive *d, uint8_t cmd)
{
	if (d->sleeping) {
		ide_cmd_abort(ch, d);
		return;
	}
	if (cmd >= ATA_RECALIBRATE && cmd <= ATA_RECALIBRATE + 0x0f) {
		ide_cmd_ok(ch, d);
		return;
	}
	switch (cmd) {
	case ATA_IDENTIFY:
		ata_identify_cmd(ch, d);
		break;
	case ATA_READ:
	case ATA_READ_NORETRY:
		ata_rw_pio(ch, d, false, false, false);
		break;
	case ATA_READ_EXT:
		ata_rw_pio(ch, d, true, false, false);
		break;
	case ATA_READ_MULTI:
		ata_rw_pio(ch, d, false, false, true);
		break;
	case ATA_READ_MULTI_EXT:
		ata_rw_pio(ch, d, true, false, true);
		break;
	case ATA_WRITE:
	case ATA_WRITE_NORETRY:
		ata_rw_pio(ch, d, false, true, false);
		break;
	case ATA_WRITE_EXT:
		ata_rw_pio(ch, d, true, true, false);
		break;
	case ATA_WRITE_MULTI:
		ata_rw_pio(ch, d, false, true, true);
		break;
	case ATA_WRITE_MULTI_EXT:
		ata_rw_pio(ch, d, true, true, true);
		break;
	case ATA_READ_DMA:
	case ATA_READ_DMA_NORETRY:
		ata_rw_dma(ch, d, false, false);
		break;
	case ATA_READ_DMA_EXT:
		ata_rw_dma(ch, d, true, false);
		break;
	case ATA_WRITE_DMA:
	case ATA_WRITE_DMA_NORETRY:
		ata_rw_dma(ch, d, false, true);
		break;
	case ATA_WRITE_DMA_EXT:
		ata_rw_dma(ch, d, true, true);
		break;
	case ATA_VERIFY:
	case ATA_VERIFY_NORETRY:
		ata_verify(ch, d, false);
		break;
	case ATA_VERIFY_EXT:
		ata_verify(ch, d, true);
		break;
	case ATA_FLUSH:
	case ATA_FLUSH_EXT:
		ata_flush(ch, d);
		break;
	case ATA_SET_FEATURES:
		ata_set_features(ch, d);
		break;
	case ATA_SET_MULTI:
		ata_set_multi(ch, d);
		break;
	case ATA_INIT_DEV_PARAMS:
		ata_init_params(ch, d);
		break;
	case ATA_SEEK:
		ide_cmd_ok(ch, d);
		break;
	case ATA_STANDBY_IMM:
	case ATA_STANDBY:
		d->standby = true;
		ide_cmd_ok(ch, d);
		break;
	case ATA_IDLE_IMM:
	case ATA_IDLE:
		d->standby = false;
		ide_cmd_ok(ch, d);
		break;
	case ATA_CHECK_POWER:
		d->nsect = d->standby ? 0x00 : 0xff;
		ide_cmd_ok(ch, d);
		break;
	case ATA_SLEEP:
		ide_cmd_ok(ch, d);
		d->sleeping = true;
		d->standby = true;
		break;
	default:
		/* IDENTIFY PACKET, PACKET, DEVICE RESET, NOP and the rest. */
		dev_dbg("ide", "ATA command %#x aborted", cmd);
		ide_cmd_abort(ch, d);
		break;
	}
}
