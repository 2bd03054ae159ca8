// SPDX-License-Identifier: MIT
/*
 * PIIX4 bus-master IDE (PIIX4 datasheet, bus master IDE; SFF-8038i): the
 * command, status and descriptor-table registers of both channels and the
 * PRD walk. A PRD is { base[31:1], count[15:1] (0 = 64 KiB), EOT bit 31 }.
 * Regions are mapped with gmem_map() into one iovec each and handed to the
 * block backend as they are: no bounce copy (unless ATAPI replies from the
 * channel buffer, which are copied out).
 *
 * Status after a transfer, as SFF-8038i tabulates it: interrupt + !active
 * when the table was exactly used up, interrupt + active when it was
 * larger than the transfer. A table that ends (EOT) before the transfer,
 * runs past PRD_MAX_ENTRIES or its 64 KiB page without EOT, points outside
 * guest RAM, or has a region crossing a 64 KiB boundary is a guest error:
 * error + interrupt, !active, and the command ends with ABRT.
 *
 * Not implemented: the direction bit is not checked against the command
 * (the command decides), simplex mode, transfers paused and resumed by the
 * start bit (a transfer, once submitted, completes).
 */
#include <errno.h>
#include <string.h>

#include "hvkvm/block.h"
#include "hvkvm/gmem.h"
#include "hvkvm/util.h"
#include "ide_int.h"

#define PRD_EOT 0x80000000u
#define PRD_COUNT_MASK 0xfffeu
#define PRD_ADDR_MASK 0xfffffffeu
#define PAGE_64K 0x10000u

/* Walk the table for @bytes, filling ch->iov. Returns entries or -EFAULT. */
static int bm_walk(struct ide_channel *ch, uint32_t bytes, bool to_mem)
{
	uint32_t prd = ch->bm_prdt, done = 0;
	uint8_t raw[8];
	int n = 0;

	ch->bm_eot_exact = false;
	while (done < bytes) {
		uint32_t addr, len;
		bool eot;
		void *p;

		if (n >= PRD_MAX_ENTRIES ||
		    (n && (prd & (PAGE_64K - 1)) == 0)) {
			guest_err("ide%u: PRD table without EOT", ch->index);
			return -EFAULT;
		}
		if (gmem_read(ch->ide->gm, prd, raw, sizeof(raw))) {
			guest_err("ide%u: PRD table at %#x outside RAM",
				  ch->index, prd);
			return -EFAULT;
		}
		prd += 8;
		addr = get_le32(raw) & PRD_ADDR_MASK;
		len = get_le32(raw + 4) & PRD_COUNT_MASK;
		eot = get_le32(raw + 4) & PRD_EOT;
		if (!len)
			len = PAGE_64K;
		if ((addr & (PAGE_64K - 1)) + len > PAGE_64K) {
			guest_err("ide%u: PRD region %#x+%#x crosses 64 KiB",
				  ch->index, addr, len);
			return -EFAULT;
		}
		if (len > bytes - done) {
			len = bytes - done;
			eot = false; /* table larger than the transfer */
		}
		p = gmem_map(ch->ide->gm, addr, len, to_mem);
		if (!p) {
			guest_err("ide%u: PRD region %#x+%#x outside RAM",
				  ch->index, addr, len);
			return -EFAULT;
		}
		ch->iov[n].iov_base = p;
		ch->iov[n].iov_len = len;
		n++;
		done += len;
		if (done == bytes) {
			ch->bm_eot_exact = eot;
			break;
		}
		if (eot) {
			guest_err("ide%u: PRD table shorter than the transfer",
				  ch->index);
			return -EFAULT;
		}
	}
	return n;
}

/* Error + interrupt, engine idle; the command ends with the ATA error. */
static void bm_fail(struct ide_channel *ch, int ret)
{
	ide_io_fn done = ch->dma_done;

	ch->bm_status =
		(uint8_t)((ch->bm_status & ~BM_ST_ACTIVE) | BM_ST_ERROR);
	if (done)
		done(ch, ret);
}

static void bm_finish(struct ide_channel *ch, int ret)
{
	ide_io_fn done = ch->dma_done;

	if (ret) {
		bm_fail(ch, ret);
		return;
	}
	if (ch->bm_eot_exact)
		ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
	if (done)
		done(ch, 0);
}

/* Copy an ATAPI reply from the channel buffer into the regions. */
static void bm_copy_out(struct ide_channel *ch, int n)
{
	uint32_t off = 0;
	int i;

	for (i = 0; i < n; i++) {
		memcpy(ch->iov[i].iov_base, ch->buf + off, ch->iov[i].iov_len);
		off += (uint32_t)ch->iov[i].iov_len;
	}
	bm_finish(ch, 0);
}

/* Run the pending DMA data phase if both sides are ready. Lock held. */
void ide_dma_begin(struct ide_channel *ch)
{
	struct ide_drive *d = ch->xdrv;
	uint64_t sector;
	int n, r;

	if (ch->xfer != XFER_DMA || ch->io_busy || !d ||
	    !(ch->bm_cmd & BM_CMD_START) || !(ch->bm_status & BM_ST_ACTIVE))
		return;
	ch->xfer = XFER_NONE; /* the walk runs once */
	if (!pci_bus_master_enabled(&ch->ide->pci)) {
		guest_err("ide%u: DMA with bus mastering disabled", ch->index);
		bm_fail(ch, -EFAULT);
		return;
	}
	n = bm_walk(ch, ch->dma_bytes, !ch->write);
	if (n < 0) {
		bm_fail(ch, n);
		return;
	}
	if (ch->dma_from_buf) {
		bm_copy_out(ch, n);
		return;
	}
	sector = ch->cdrom ? ch->lba * (CD_SECTOR / IDE_SECTOR) : ch->lba;
	r = ide_submit(ch, d, ch->write, sector, ch->iov, n, bm_finish);
	if (r)
		bm_fail(ch, r);
}

/*
 * The command wants a DMA data phase of @bytes: from the disk at ch->lba
 * (toward it if @write), or out of ch->buf if @from_buf. @done ends the
 * command (0, or -errno; -EFAULT for a bus-master error).
 */
void ide_dma_start(struct ide_channel *ch, uint32_t bytes, bool write,
		   bool from_buf, ide_io_fn done)
{
	struct ide_drive *d = ch->xdrv;

	ch->xfer = XFER_DMA;
	ch->dma_bytes = bytes;
	ch->write = write;
	ch->dma_from_buf = from_buf;
	ch->dma_done = done;
	d->status = ide_ready_status(d) | ATA_SR_DRQ;
	ide_dma_begin(ch);
}

void ide_bm_reset(struct ide_channel *ch)
{
	ch->bm_cmd = 0;
	ch->bm_status = 0;
	ch->bm_prdt = 0;
	ch->bm_eot_exact = false;
}

/* ---- register handlers: BAR4, channel n at 8 * n ---------------------- */

static uint8_t bm_reg_read(struct ide_channel *ch, unsigned int off)
{
	switch (off) {
	case BM_CMD:
		return ch->bm_cmd;
	case BM_STATUS:
		return ch->bm_status;
	case BM_PRDT:
	case BM_PRDT + 1:
	case BM_PRDT + 2:
	case BM_PRDT + 3:
		return (uint8_t)(ch->bm_prdt >> (8 * (off - BM_PRDT)));
	}
	return 0;
}

static void bm_cmd_write(struct ide_channel *ch, uint8_t v)
{
	bool was = ch->bm_cmd & BM_CMD_START, now = v & BM_CMD_START;

	ch->bm_cmd = v & (BM_CMD_START | BM_CMD_WRITE);
	if (!was && now) {
		ch->bm_status |= BM_ST_ACTIVE;
		ide_dma_begin(ch);
	} else if (was && !now) {
		ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
	}
}

static void bm_reg_write(struct ide_channel *ch, unsigned int off, uint8_t v)
{
	unsigned int shift;

	switch (off) {
	case BM_CMD:
		bm_cmd_write(ch, v);
		break;
	case BM_STATUS:
		ch->bm_status = (uint8_t)((ch->bm_status & BM_ST_ACTIVE) |
					  (ch->bm_status & ~v &
					   (BM_ST_ERROR | BM_ST_INTR)) |
					  (v & (BM_ST_DMA0 | BM_ST_DMA1)));
		break;
	case BM_PRDT:
	case BM_PRDT + 1:
	case BM_PRDT + 2:
	case BM_PRDT + 3:
		shift = 8 * (off - BM_PRDT);
		ch->bm_prdt &= ~(0xffu << shift);
		ch->bm_prdt |= (uint32_t)v << shift;
		ch->bm_prdt &= ~3u; /* dword aligned */
		break;
	}
}

static uint64_t bm_read(void *opaque, uint64_t off, unsigned int size)
{
	struct ide *ide = opaque;
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < size && off + i < BM_SIZE; i++) {
		unsigned int o = (unsigned int)off + i;
		struct ide_channel *ch = &ide->ch[o / 8];

		pthread_mutex_lock(&ch->lock);
		v |= (uint64_t)bm_reg_read(ch, o % 8) << (8 * i);
		pthread_mutex_unlock(&ch->lock);
	}
	return v;
}

static void bm_write(void *opaque, uint64_t off, unsigned int size,
		     uint64_t value)
{
	struct ide *ide = opaque;
	unsigned int i;

	for (i = 0; i < size && off + i < BM_SIZE; i++) {
		unsigned int o = (unsigned int)off + i;
		struct ide_channel *ch = &ide->ch[o / 8];

		pthread_mutex_lock(&ch->lock);
		bm_reg_write(ch, o % 8, (uint8_t)(value >> (8 * i)));
		pthread_mutex_unlock(&ch->lock);
	}
}

const struct bus_ops ide_bm_ops = {
	.read = bm_read,
	.write = bm_write,
};
