// SPDX-License-Identifier: MIT
/*
 * IDE channel core: the ATA command and control block registers (ATA8-ACS,
 * ATA8-APT: taskfile, HOB, device control with SRST and nIEN), the INTRQ
 * line, device selection, software reset with the ATA/ATAPI signatures
 * (ATA8-ACS), the PIO data port and the asynchronous
 * backend requests shared by the ATA and ATAPI layers.
 *
 * Both devices latch taskfile writes; reads come from the selected one. An
 * absent device reads 0 in every register, which is how libata's
 * ata_devchk()/ata_sff_dev_classify() and SeaBIOS see an empty position.
 * Commands are ignored while BSY or DRQ (DEVICE RESET to ATAPI excepted).
 *
 * Not implemented: 8-bit data transfers (a 1-byte data port access moves
 * one byte), the drive address register (0x3f7 belongs to the FDC), the
 * IDE decode enable bits of IDETIM (the legacy ports always decode).
 */
#include <errno.h>
#include <string.h>

#include "hvkvm/block.h"
#include "hvkvm/irq.h"
#include "hvkvm/util.h"
#include "ide_int.h"

#define CMD_EXEC_DIAG 0x90
#define CMD_DEVICE_RESET 0x08

/* ---- helpers ---------------------------------------------------------- */

static struct ide_drive *ide_cur(struct ide_channel *ch)
{
	return &ch->drives[ch->cur];
}

static bool ide_present(const struct ide_drive *d)
{
	return d->media != IDE_MEDIA_NONE;
}

/* The line follows the selected device's INTRQ unless nIEN masks it. */
void ide_update_irq(struct ide_channel *ch)
{
	struct ide_drive *d = ide_cur(ch);
	bool level = ide_present(d) && d->intrq && !(ch->devctl & ATA_CTL_NIEN);

	if (level == ch->irq_level)
		return;
	ch->irq_level = level;
	irq_set_line(ch->ide->irq, ch->irq, level);
}

/* Assert INTRQ; the bus master's interrupt bit latches it (PIIX4). */
void ide_raise(struct ide_drive *d)
{
	struct ide_channel *ch = d->ch;

	d->intrq = true;
	ch->bm_status |= BM_ST_INTR;
	ide_update_irq(ch);
}

uint8_t ide_ready_status(const struct ide_drive *d)
{
	return d->media == IDE_MEDIA_DISK ? ATA_SR_DRDY | ATA_SR_DSC :
					    ATA_SR_DRDY;
}

/* The command is over: no data phase left on the channel. */
void ide_end_xfer(struct ide_channel *ch)
{
	ch->xfer = XFER_NONE;
	ch->pio_done = NULL;
	ch->io_done = NULL;
	ch->dma_done = NULL;
	ch->buf_pos = ch->drq_start = ch->drq_end = 0;
	ch->xdrv = NULL;
}

void ide_cmd_ok(struct ide_channel *ch, struct ide_drive *d)
{
	ide_end_xfer(ch);
	d->status = ide_ready_status(d);
	d->error = 0;
	ide_raise(d);
}

void ide_cmd_error(struct ide_channel *ch, struct ide_drive *d, uint8_t err)
{
	ide_end_xfer(ch);
	d->status = ide_ready_status(d) | ATA_SR_ERR;
	d->error = err;
	ide_raise(d);
}

void ide_cmd_abort(struct ide_channel *ch, struct ide_drive *d)
{
	ide_cmd_error(ch, d, ATA_ER_ABRT);
}

/* ATA8-ACS: the signature after reset / DIAGNOSTIC. */
void ide_set_signature(struct ide_drive *d)
{
	d->nsect = d->lbal = 1;
	d->hob_nsect = d->hob_lbal = d->hob_lbam = d->hob_lbah = 0;
	if (d->media == IDE_MEDIA_CDROM) {
		d->lbam = 0x14;
		d->lbah = 0xeb;
	} else {
		d->lbam = d->lbah = 0;
	}
	d->device &= ATA_DEV_DEV;
	d->error = 0x01; /* diagnostic passed */
}

/* Device state after SRST / DEVICE RESET (settings survive, ATA8-ACS). */
void ide_drive_reset(struct ide_drive *d)
{
	ide_set_signature(d);
	d->sleeping = false;
	d->standby = false;
	d->intrq = false;
	if (d->media == IDE_MEDIA_DISK)
		d->status = ATA_SR_DRDY | ATA_SR_DSC;
	else
		d->status = 0; /* ATAPI: DRDY clear after reset */
	if (d->media == IDE_MEDIA_NONE)
		d->status = 0;
}

/* Finish the resets asked for while a request was in flight. */
static void ide_finish_resets(struct ide_channel *ch)
{
	unsigned int u;

	for (u = 0; u < 2; u++)
		if (ch->reset_mask & (1u << u))
			ide_drive_reset(&ch->drives[u]);
	ch->reset_mask = 0;
	ide_update_irq(ch);
}

/* Power-on: registers, settings and transfer state. Lock held. */
void ide_channel_reset(struct ide_channel *ch)
{
	unsigned int u;

	ide_end_xfer(ch);
	ch->cur = 0;
	ch->devctl = 0;
	for (u = 0; u < 2; u++) {
		struct ide_drive *d = &ch->drives[u];

		d->feature = d->hob_feature = 0;
		d->device = 0;
		d->mult = 0;
		d->xfer_mode = 0;
		d->wcache = true;
		d->locked = false;
		d->tray_open = false;
		d->unit_attention = false;
		d->media_event = 0;
		d->sense_key = d->asc = d->ascq = 0;
		if (d->media == IDE_MEDIA_DISK)
			ide_ata_geometry(d);
		if (ch->io_busy) {
			ch->reset_mask |= 1u << u;
			d->status = ATA_SR_BSY;
		} else {
			ide_drive_reset(d);
		}
	}
	ide_bm_reset(ch);
	ide_update_irq(ch);
}

/* ATA strings: space padded, two characters per word, first one high. */
void ide_padstr(uint16_t *words, unsigned int nwords, const char *s)
{
	size_t len = strlen(s);
	unsigned int i;

	for (i = 0; i < nwords * 2; i++) {
		uint8_t c = i < len ? (uint8_t)s[i] : ' ';

		if (i & 1)
			words[i / 2] |= c;
		else
			words[i / 2] = (uint16_t)(c << 8);
	}
}

/* Word 255: signature A5h and a checksum making all 512 bytes sum to 0. */
void ide_id_checksum(uint16_t *id)
{
	uint8_t sum = 0xa5;
	unsigned int i;

	for (i = 0; i < 255; i++)
		sum = (uint8_t)(sum + (id[i] & 0xff) + (id[i] >> 8));
	id[255] = (uint16_t)(((uint8_t)-sum) << 8 | 0xa5);
}

/* ---- data phases ------------------------------------------------------ */

static void ide_pio_setup(struct ide_channel *ch, enum ide_xfer x,
			  uint32_t start, uint32_t len, ide_pio_fn done)
{
	struct ide_drive *d = ch->xdrv;

	ch->xfer = x;
	ch->drq_start = ch->buf_pos = start;
	ch->drq_end = start + len;
	ch->pio_done = done;
	d->status = ide_ready_status(d) | ATA_SR_DRQ;
}

/* Offer buf[start, start+len) on the data port; @done when drained. */
void ide_pio_in(struct ide_channel *ch, uint32_t start, uint32_t len,
		ide_pio_fn done, bool irq)
{
	ide_pio_setup(ch, XFER_PIO_IN, start, len, done);
	if (irq)
		ide_raise(ch->xdrv);
}

/* Take buf[start, start+len) from the data port; @done when filled. */
void ide_pio_out(struct ide_channel *ch, uint32_t start, uint32_t len,
		 ide_pio_fn done, bool irq)
{
	ide_pio_setup(ch, XFER_PIO_OUT, start, len, done);
	if (irq)
		ide_raise(ch->xdrv);
}

static uint64_t ide_data_read(struct ide_channel *ch, unsigned int size)
{
	uint64_t v = 0;
	unsigned int i;

	if (ch->xfer != XFER_PIO_IN || ch->buf_pos >= ch->drq_end)
		return (1ULL << (8 * size)) - 1;
	for (i = 0; i < size && ch->buf_pos < ch->drq_end; i++)
		v |= (uint64_t)ch->buf[ch->buf_pos++] << (8 * i);
	if (ch->buf_pos >= ch->drq_end && ch->pio_done)
		ch->pio_done(ch);
	return v;
}

static void ide_data_write(struct ide_channel *ch, unsigned int size,
			   uint64_t v)
{
	unsigned int i;

	if (ch->xfer != XFER_PIO_OUT || ch->buf_pos >= ch->drq_end)
		return;
	for (i = 0; i < size && ch->buf_pos < ch->drq_end; i++)
		ch->buf[ch->buf_pos++] = (uint8_t)(v >> (8 * i));
	if (ch->buf_pos >= ch->drq_end && ch->pio_done)
		ch->pio_done(ch);
}

/* ---- backend requests ------------------------------------------------- */

/* Block completion (I/O thread): one request per channel at most. */
static void ide_block_done(void *opaque, int ret)
{
	struct ide_channel *ch = opaque;
	ide_io_fn fn;

	pthread_mutex_lock(&ch->lock);
	ch->io_busy = false;
	fn = ch->io_done;
	ch->io_done = NULL;
	/* A reset or a new command since the submit cleared io_done. */
	if (fn)
		fn(ch, ret);
	if (ch->reset_mask && !ch->io_busy && !(ch->devctl & ATA_CTL_SRST))
		ide_finish_resets(ch);
	pthread_mutex_unlock(&ch->lock);
}

enum ide_op {
	IDE_OP_READ,
	IDE_OP_WRITE,
	IDE_OP_FLUSH,
};

/* Queue one backend request for the channel; BSY until @done runs. */
static int ide_submit_op(struct ide_channel *ch, struct ide_drive *d,
			 enum ide_op op, uint64_t sector,
			 const struct iovec *iov, int n, ide_io_fn done)
{
	int r;

	if (!d->bd)
		return -ENOMEDIUM;
	if (ch->io_busy)
		return -EBUSY;
	ch->io_done = done;
	ch->io_busy = true;
	d->status = ide_ready_status(d) | ATA_SR_BSY;
	switch (op) {
	case IDE_OP_READ:
		r = block_readv(d->bd, sector, iov, n, ide_block_done, ch);
		break;
	case IDE_OP_WRITE:
		r = block_writev(d->bd, sector, iov, n, ide_block_done, ch);
		break;
	default:
		r = block_flush(d->bd, ide_block_done, ch);
		break;
	}
	if (r) {
		ch->io_busy = false;
		ch->io_done = NULL;
	}
	return r;
}

int ide_submit(struct ide_channel *ch, struct ide_drive *d, bool write,
	       uint64_t sector, const struct iovec *iov, int n, ide_io_fn done)
{
	return ide_submit_op(ch, d, write ? IDE_OP_WRITE : IDE_OP_READ, sector,
			     iov, n, done);
}

int ide_submit_flush(struct ide_channel *ch, struct ide_drive *d,
		     ide_io_fn done)
{
	return ide_submit_op(ch, d, IDE_OP_FLUSH, 0, NULL, 0, done);
}

/* ---- commands --------------------------------------------------------- */

/* EXECUTE DEVICE DIAGNOSTIC: both devices, the master answers. */
static void ide_exec_diag(struct ide_channel *ch)
{
	unsigned int u;

	for (u = 0; u < 2; u++) {
		struct ide_drive *d = &ch->drives[u];

		if (!ide_present(d))
			continue;
		ide_drive_reset(d);
		if (d->media == IDE_MEDIA_DISK)
			d->status = ATA_SR_DRDY | ATA_SR_DSC;
	}
	ide_end_xfer(ch);
	if (ide_present(&ch->drives[0]))
		ide_raise(&ch->drives[0]);
	else if (ide_present(&ch->drives[1]))
		ide_raise(&ch->drives[1]);
}

static void ide_exec(struct ide_channel *ch, uint8_t cmd)
{
	struct ide_drive *d = ide_cur(ch);

	bool busy = ch->io_busy || ch->reset_mask ||
		    (ch->devctl & ATA_CTL_SRST);

	if (cmd == CMD_EXEC_DIAG && !(d->status & ATA_SR_BSY) && !busy) {
		ide_exec_diag(ch);
		return;
	}
	if (!ide_present(d))
		return; /* nobody answers */
	if (cmd == CMD_DEVICE_RESET && d->media == IDE_MEDIA_CDROM) {
		if (ch->xdrv == d || !ch->xdrv)
			ide_end_xfer(ch);
		if (ch->io_busy) {
			ch->reset_mask |= 1u << d->unit;
			d->status = ATA_SR_BSY;
		} else {
			ide_drive_reset(d);
		}
		ide_update_irq(ch);
		return;
	}
	if ((d->status & (ATA_SR_BSY | ATA_SR_DRQ)) || busy) {
		guest_err("ide%u: command %#x while busy", ch->index, cmd);
		return;
	}
	/* Writing the command register clears INTRQ (ATA8-APT). */
	d->intrq = false;
	ide_update_irq(ch);
	ide_end_xfer(ch);
	ch->xdrv = d;
	d->error = 0;
	if (d->media == IDE_MEDIA_CDROM)
		ide_atapi_exec(ch, d, cmd);
	else
		ide_ata_exec(ch, d, cmd);
}

/* ---- register handlers ------------------------------------------------ */

/* Writes latch into both devices; the old value moves to HOB. */
static void ide_tf_write(struct ide_channel *ch, unsigned int off, uint8_t v)
{
	unsigned int u;

	ch->devctl &= (uint8_t)~ATA_CTL_HOB;
	for (u = 0; u < 2; u++) {
		struct ide_drive *d = &ch->drives[u];

		switch (off) {
		case ATA_REG_FEATURE:
			d->hob_feature = d->feature;
			d->feature = v;
			break;
		case ATA_REG_NSECT:
			d->hob_nsect = d->nsect;
			d->nsect = v;
			break;
		case ATA_REG_LBAL:
			d->hob_lbal = d->lbal;
			d->lbal = v;
			break;
		case ATA_REG_LBAM:
			d->hob_lbam = d->lbam;
			d->lbam = v;
			break;
		case ATA_REG_LBAH:
			d->hob_lbah = d->lbah;
			d->lbah = v;
			break;
		case ATA_REG_DEVICE:
			d->device = v;
			break;
		}
	}
	if (off == ATA_REG_DEVICE) {
		ch->cur = (v & ATA_DEV_DEV) ? 1 : 0;
		ide_update_irq(ch);
	}
}

static uint8_t ide_tf_read(struct ide_channel *ch, unsigned int off)
{
	struct ide_drive *d = ide_cur(ch);
	bool hob = ch->devctl & ATA_CTL_HOB;

	if (!ide_present(d))
		return 0;
	switch (off) {
	case ATA_REG_ERROR:
		return d->error;
	case ATA_REG_NSECT:
		return hob ? d->hob_nsect : d->nsect;
	case ATA_REG_LBAL:
		return hob ? d->hob_lbal : d->lbal;
	case ATA_REG_LBAM:
		return hob ? d->hob_lbam : d->lbam;
	case ATA_REG_LBAH:
		return hob ? d->hob_lbah : d->lbah;
	case ATA_REG_DEVICE:
		return d->device;
	case ATA_REG_STATUS:
		d->intrq = false;
		ide_update_irq(ch);
		return d->status;
	}
	return 0;
}

static uint64_t ide_cmd_read(void *opaque, uint64_t off, unsigned int size)
{
	struct ide_channel *ch = opaque;
	uint64_t v = 0;
	unsigned int i;

	pthread_mutex_lock(&ch->lock);
	if (off == ATA_REG_DATA) {
		v = ide_data_read(ch, size);
	} else {
		for (i = 0; i < size && off + i < 8; i++)
			v |= (uint64_t)ide_tf_read(ch, (unsigned int)off + i)
			     << (8 * i);
	}
	pthread_mutex_unlock(&ch->lock);
	return v;
}

static void ide_cmd_write(void *opaque, uint64_t off, unsigned int size,
			  uint64_t value)
{
	struct ide_channel *ch = opaque;
	unsigned int i;

	pthread_mutex_lock(&ch->lock);
	if (off == ATA_REG_DATA) {
		ide_data_write(ch, size, value);
	} else {
		for (i = 0; i < size && off + i < 8; i++) {
			unsigned int o = (unsigned int)off + i;
			uint8_t b = (uint8_t)(value >> (8 * i));

			if (o == ATA_REG_COMMAND)
				ide_exec(ch, b);
			else
				ide_tf_write(ch, o, b);
		}
	}
	pthread_mutex_unlock(&ch->lock);
}

/* SRST 0->1 aborts everything; 1->0 finishes the reset (no INTRQ). */
static void ide_devctl_write(struct ide_channel *ch, uint8_t v)
{
	bool was = ch->devctl & ATA_CTL_SRST, now = v & ATA_CTL_SRST;
	unsigned int u;

	ch->devctl = v;
	if (!was && now) {
		ide_end_xfer(ch);
		for (u = 0; u < 2; u++) {
			struct ide_drive *d = &ch->drives[u];

			d->intrq = false;
			if (ide_present(d))
				d->status = ATA_SR_BSY;
		}
		ch->reset_mask = 3;
	} else if (was && !now && !ch->io_busy) {
		ide_finish_resets(ch);
	}
	ide_update_irq(ch);
}

static uint64_t ide_ctl_read(void *opaque, uint64_t off, unsigned int size)
{
	struct ide_channel *ch = opaque;
	struct ide_drive *d;
	uint64_t v;

	(void)off;
	(void)size;
	pthread_mutex_lock(&ch->lock);
	d = ide_cur(ch);
	v = ide_present(d) ? d->status : 0; /* alternate status */
	pthread_mutex_unlock(&ch->lock);
	return v;
}

static void ide_ctl_write(void *opaque, uint64_t off, unsigned int size,
			  uint64_t value)
{
	struct ide_channel *ch = opaque;

	(void)off;
	(void)size;
	pthread_mutex_lock(&ch->lock);
	ide_devctl_write(ch, (uint8_t)value);
	pthread_mutex_unlock(&ch->lock);
}

const struct bus_ops ide_cmd_ops = {
	.read = ide_cmd_read,
	.write = ide_cmd_write,
};

const struct bus_ops ide_ctl_ops = {
	.read = ide_ctl_read,
	.write = ide_ctl_write,
};
