/* SPDX-License-Identifier: MIT */
/*
 * mmc: the MMC-5 command set of a read-only CD/DVD drive (SPC-3 sense),
 * shared by the ATAPI drive (devices/ide_atapi.c) and the SCSI CD/DVD of
 * storvsp (vmbus/vsp/scsi_cdrom.c). Pure logic over a small state struct:
 * mmc_execute() decodes a CDB, answers from the state into a buffer, and
 * tells the transport what to do next (send data, report GOOD or CHECK
 * CONDITION, or read blocks from the medium). The transport owns the
 * data phases and the medium I/O.
 */
#ifndef HVKVM_MMC_H
#define HVKVM_MMC_H

#include <stdbool.h>
#include <stdint.h>

#define MMC_BLOCK 2048u	  /* bytes per logical block */
#define MMC_BUF_SIZE 256u /* reply buffer mmc_execute() needs */
#define MMC_CDB_SIZE 16u  /* bytes of @cdb mmc_execute() may read */
#define MMC_SENSE_LEN 18u /* fixed-format sense data */

/* GESN media event codes. */
#define MMC_EVENT_NEW_MEDIA 2
#define MMC_EVENT_MEDIA_REMOVAL 3

/* Sense keys and additional sense codes the drive reports. */
#define MMC_SK_NOT_READY 0x02
#define MMC_SK_MEDIUM_ERROR 0x03
#define MMC_SK_ILLEGAL_REQUEST 0x05
#define MMC_SK_UNIT_ATTENTION 0x06
#define MMC_SK_DATA_PROTECT 0x07
#define MMC_SK_ABORTED_COMMAND 0x0b
#define MMC_ASC_READ_ERROR 0x11
#define MMC_ASC_INVALID_OPCODE 0x20
#define MMC_ASC_LBA_OUT_OF_RANGE 0x21
#define MMC_ASC_INVALID_FIELD 0x24
#define MMC_ASC_WRITE_PROTECTED 0x27
#define MMC_ASC_MEDIUM_CHANGED 0x28
#define MMC_ASC_SAVING_NOT_SUPPORTED 0x39
#define MMC_ASC_NO_MEDIUM 0x3a
#define MMC_ASC_REMOVAL_PREVENTED 0x53

struct mmc_state {
	uint64_t blocks;	      /* 2048-byte blocks on the medium */
	bool loaded;		      /* an image is in the drive */
	bool tray_open;		      /* the guest ejected the medium */
	bool locked;		      /* PREVENT ALLOW MEDIUM REMOVAL */
	bool unit_attention;	      /* medium may have changed */
	uint8_t media_event;	      /* GESN media event code pending */
	uint8_t sense_key, asc, ascq; /* the last CHECK CONDITION */
	bool scsi; /* SPC-3 INQUIRY, READ(16), MODE SENSE(6); else ATAPI */
};

enum mmc_action {
	MMC_GOOD,  /* done, no data */
	MMC_DATA,  /* done, send @len bytes of the buffer */
	MMC_CHECK, /* CHECK CONDITION: the sense is in the state */
	MMC_READ,  /* read @count (> 0) blocks at @lba from the medium */
};

struct mmc_result {
	enum mmc_action action;
	uint32_t len;	/* MMC_DATA: bytes, cut to the allocation length */
	uint64_t lba;	/* MMC_READ: inside the medium */
	uint32_t count; /* MMC_READ */
};

/*
 * Run the command in @cdb (MMC_CDB_SIZE bytes, zero-padded; the transport
 * checks the CDB length) against @s; replies go to @buf (MMC_BUF_SIZE).
 */
void mmc_execute(struct mmc_state *s, const uint8_t *cdb, uint8_t *buf,
		 struct mmc_result *res);
/* Record a CHECK CONDITION (for REQUEST SENSE and the transport). */
void mmc_check(struct mmc_state *s, uint8_t key, uint8_t asc, uint8_t ascq);
/* Fixed-format sense data of @s into @b (MMC_SENSE_LEN bytes). */
uint32_t mmc_sense(const struct mmc_state *s, uint8_t *b);
/* A new medium (or none): unit attention and a GESN event. */
void mmc_medium_changed(struct mmc_state *s);
/* The drive takes a DVD profile for media larger than a CD. */
bool mmc_is_dvd(const struct mmc_state *s);

#endif /* HVKVM_MMC_H */
