/* SPDX-License-Identifier: MIT */
/*
 * ide_int.h: state shared by the IDE files. ide_core.c owns the taskfile
 * and the PIO data path, ide_ata.c the ATA command set, ide_atapi.c the
 * ATAPI/MMC packet commands, ide_bmdma.c the bus-master engine and
 * piix4_ide.c the PCI function and the lifecycle.
 *
 * Locking: every field of a channel (its drives included) is guarded by
 * ch->lock. Handlers take it on entry; block callbacks take it too. No
 * function here is ever called with it held across a wait for I/O.
 */
#ifndef HVKVM_IDE_INT_H
#define HVKVM_IDE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hvkvm/bus.h"
#include "hvkvm/ide.h"
#include "hvkvm/pci.h"

/* Command block offsets (ATA8-ACS, ATA8-APT). */
#define ATA_REG_DATA 0
#define ATA_REG_ERROR 1	  /* read */
#define ATA_REG_FEATURE 1 /* write */
#define ATA_REG_NSECT 2	  /* ATAPI: interrupt reason */
#define ATA_REG_LBAL 3
#define ATA_REG_LBAM 4 /* ATAPI: byte count low */
#define ATA_REG_LBAH 5 /* ATAPI: byte count high */
#define ATA_REG_DEVICE 6
#define ATA_REG_STATUS 7  /* read */
#define ATA_REG_COMMAND 7 /* write */

#define ATA_SR_BSY 0x80
#define ATA_SR_DRDY 0x40
#define ATA_SR_DF 0x20
#define ATA_SR_DSC 0x10 /* obsolete "seek complete" */
#define ATA_SR_DRQ 0x08
#define ATA_SR_ERR 0x01

#define ATA_ER_ICRC 0x80
#define ATA_ER_UNC 0x40
#define ATA_ER_IDNF 0x10
#define ATA_ER_ABRT 0x04

#define ATA_DEV_LBA 0x40
#define ATA_DEV_DEV 0x10 /* 1 = device 1 (slave) */

#define ATA_CTL_HOB 0x80
#define ATA_CTL_SRST 0x04
#define ATA_CTL_NIEN 0x02

/* ATAPI interrupt reason (sector count register). */
#define ATAPI_IR_COD 0x01
#define ATAPI_IR_IO 0x02

/* Bus-master registers (PIIX4 datasheet), per channel at base + 8*ch. */
#define BM_CMD 0
#define BM_STATUS 2
#define BM_PRDT 4
#define BM_CMD_START 0x01
#define BM_CMD_WRITE 0x08 /* 1 = bus master writes memory */
#define BM_ST_ACTIVE 0x01
#define BM_ST_ERROR 0x02 /* write 1 to clear */
#define BM_ST_INTR 0x04	 /* write 1 to clear */
#define BM_ST_DMA0 0x20	 /* drive 0 DMA capable (storage) */
#define BM_ST_DMA1 0x40
#define BM_BAR 4
#define BM_SIZE 16

#define IDE_SECTOR 512u
#define CD_SECTOR 2048u
#define IDE_BUF_SIZE (128u * 1024) /* PIO staging buffer per channel */
#define IDE_MAX_MULT 16		   /* READ/WRITE MULTIPLE block cap */
#define PRD_MAX_ENTRIES 8192	   /* a table may not cross 64 KiB */

enum ide_xfer {
	XFER_NONE,    /* no data phase */
	XFER_PIO_IN,  /* device -> host through the data port */
	XFER_PIO_OUT, /* host -> device */
	XFER_DMA,     /* waiting for / running bus master */
};

struct ide_channel;

/* What to do when the guest consumed / filled the current DRQ block. */
typedef void (*ide_pio_fn)(struct ide_channel *ch);
/* A backend request finished (channel locked). */
typedef void (*ide_io_fn)(struct ide_channel *ch, int ret);

struct ide_drive {
	struct ide_channel *ch; /* the channel it sits on */
	/* Taskfile as this device latched it (writes go to both devices). */
	uint8_t feature;	  /* features */
	uint8_t nsect;		  /* sector count */
	uint8_t lbal, lbam, lbah; /* LBA low/mid/high */
	uint8_t hob_feature;	  /* previous contents, read with HOB */
	uint8_t hob_nsect;
	uint8_t hob_lbal, hob_lbam, hob_lbah;
	uint8_t device; /* device/head register */
	uint8_t status; /* status register */
	uint8_t error;	/* error register */
	bool intrq;	/* INTRQ pending (cleared by status read) */
	/* Identity and configuration. */
	enum ide_media media;	   /* what sits here */
	unsigned int unit;	   /* 0 master, 1 slave */
	char serial[21];	   /* IDENTIFY words 10-19 */
	struct block_dev *bd;	   /* backend, NULL = absent / empty */
	uint64_t nsectors;	   /* disk: 512-byte sectors */
	uint16_t cyls, heads, spt; /* disk: default CHS translation */
	uint16_t cur_cyls, cur_heads, cur_spt; /* after INITIALIZE DEV PARAMS */
	uint8_t mult;	   /* READ/WRITE MULTIPLE block, 0 = off */
	uint8_t xfer_mode; /* SET FEATURES 03h value */
	bool wcache;	   /* volatile write cache enabled */
	bool standby;	   /* CHECK POWER MODE: 00h */
	bool sleeping;	   /* SLEEP: only a reset wakes it */
	/* ATAPI. */
	uint8_t sense_key, asc, ascq; /* REQUEST SENSE */
	bool unit_attention;	      /* medium may have changed */
	bool locked;		      /* PREVENT MEDIUM REMOVAL */
	bool tray_open;		      /* guest ejected the medium */
	uint8_t media_event;	      /* GESN media event code pending */
	uint64_t cd_blocks;	      /* 2048-byte blocks on the medium */
	uint8_t cdb[12];	      /* the current packet */
	uint16_t bcl;		      /* byte count limit of the packet */
	bool packet_dma;	      /* the packet asked for DMA */
};

struct ide_channel {
	pthread_mutex_t lock;	    /* everything below */
	struct ide *ide;	    /* the controller */
	unsigned int index;	    /* 0 primary, 1 secondary */
	unsigned int irq;	    /* ISA IRQ 14 / 15 */
	struct ide_drive drives[2]; /* master, slave */
	unsigned int cur;	    /* selected unit (DEV bit) */
	uint8_t devctl;		    /* device control register */
	bool irq_level;		    /* line as last driven */
	/* The command in progress (one per channel). */
	struct ide_drive *xdrv; /* its device, NULL when idle */
	enum ide_xfer xfer;	/* data phase */
	uint8_t *buf;		/* IDE_BUF_SIZE, 4 KiB aligned */
	uint32_t buf_pos;	/* PIO cursor */
	uint32_t buf_len;	/* valid bytes in buf */
	uint32_t drq_start;	/* start of the current DRQ block */
	uint32_t drq_end;	/* ... and its end */
	ide_pio_fn pio_done;	/* at drq_end */
	uint64_t lba;		/* next sector (512 or 2048 units) */
	uint32_t left;		/* sectors / blocks still to move */
	uint32_t block;		/* sectors per DRQ block (ATA PIO) */
	uint32_t chunk;		/* sectors in buf for this I/O (PIO) */
	bool write;		/* data toward the disk */
	bool cdrom;		/* units of 2048 bytes */
	uint32_t dma_bytes;	/* DMA: bytes to move */
	bool dma_from_buf;	/* DMA: copy buf out, no backend I/O */
	ide_io_fn dma_done;	/* DMA: the command's end handler */
	ide_io_fn io_done;	/* backend completion handler */
	bool io_busy;		/* a backend request is in flight */
	uint8_t reset_mask;	/* units to reset once io_busy clears */
	/* Bus master. */
	uint8_t bm_cmd;	   /* command register */
	uint8_t bm_status; /* status register */
	uint32_t bm_prdt;  /* descriptor table pointer */
	bool bm_eot_exact; /* last transfer used the whole table */
	struct iovec *iov; /* PRD_MAX_ENTRIES */
};

struct ide {
	struct ide_channel ch[IDE_NR_CHANNELS];
	struct pci_device pci; /* 00:01.1 */
	struct bus *pio;
	struct irq_sink *irq;
	struct gmem *gm;
	struct evloop *loop;
	bool bm_mapped;	  /* BAR4 registered on @pio */
	uint64_t bm_base; /* ... at this port */
	bool legacy_registered[IDE_NR_CHANNELS][2]; /* cmd, ctl ranges */
};

/* ide_core.c */
void ide_update_irq(struct ide_channel *ch);
void ide_raise(struct ide_drive *d);
void ide_cmd_ok(struct ide_channel *ch, struct ide_drive *d);
void ide_cmd_abort(struct ide_channel *ch, struct ide_drive *d);
void ide_cmd_error(struct ide_channel *ch, struct ide_drive *d, uint8_t err);
void ide_set_signature(struct ide_drive *d);
void ide_drive_reset(struct ide_drive *d);
void ide_channel_reset(struct ide_channel *ch);
uint8_t ide_ready_status(const struct ide_drive *d);
void ide_pio_in(struct ide_channel *ch, uint32_t start, uint32_t len,
		ide_pio_fn done, bool irq);
void ide_pio_out(struct ide_channel *ch, uint32_t start, uint32_t len,
		 ide_pio_fn done, bool irq);
int ide_submit(struct ide_channel *ch, struct ide_drive *d, bool write,
	       uint64_t sector, const struct iovec *iov, int n, ide_io_fn done);
int ide_submit_flush(struct ide_channel *ch, struct ide_drive *d,
		     ide_io_fn done);
void ide_end_xfer(struct ide_channel *ch);
extern const struct bus_ops ide_cmd_ops; /* 8 ports, opaque = channel */
extern const struct bus_ops ide_ctl_ops; /* 1 port, opaque = channel */
void ide_padstr(uint16_t *words, unsigned int nwords, const char *s);
void ide_id_checksum(uint16_t *id);

/* ide_ata.c */
void ide_ata_exec(struct ide_channel *ch, struct ide_drive *d, uint8_t cmd);
void ide_ata_geometry(struct ide_drive *d);
void ide_id_xfer_modes(const struct ide_drive *d, uint16_t *id);
int ide_set_xfer_mode(struct ide_drive *d);

/* ide_atapi.c */
void ide_atapi_exec(struct ide_channel *ch, struct ide_drive *d, uint8_t cmd);
void ide_atapi_media_changed(struct ide_drive *d);

/* ide_bmdma.c */
void ide_dma_start(struct ide_channel *ch, uint32_t bytes, bool write,
		   bool from_buf, ide_io_fn done);
void ide_dma_begin(struct ide_channel *ch);
extern const struct bus_ops ide_bm_ops; /* 16 ports, opaque = ide */
void ide_bm_reset(struct ide_channel *ch);

#endif /* HVKVM_IDE_INT_H */
