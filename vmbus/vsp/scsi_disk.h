/* SPDX-License-Identifier: MIT */
/*
 * scsi_disk: one SCSI direct-access LUN (SBC-3/SPC-3 subset) over the
 * block backend, used by storvsp. The transport hands in a CDB and the
 * data buffer as an iovec over guest memory; the disk answers with a SCSI
 * status, fixed-format sense data and the bytes it transferred. Commands
 * that touch the disk complete asynchronously on the block backend's
 * completion thread (req->done); the rest complete inside
 * scsi_disk_execute().
 */
#ifndef HVKVM_SCSI_DISK_H
#define HVKVM_SCSI_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hvkvm/block.h"

#define SCSI_CDB_MAX 16
#define SCSI_SENSE_LEN 18 /* fixed format */
#define SCSI_IOV_MAX 512  /* iovec entries per request */

/* SCSI status */
#define SCSI_STATUS_GOOD 0x00
#define SCSI_STATUS_CHECK_CONDITION 0x02

/* Sense keys */
#define SCSI_SENSE_NO_SENSE 0x0
#define SCSI_SENSE_NOT_READY 0x2
#define SCSI_SENSE_MEDIUM_ERROR 0x3
#define SCSI_SENSE_HARDWARE_ERROR 0x4
#define SCSI_SENSE_ILLEGAL_REQUEST 0x5
#define SCSI_SENSE_DATA_PROTECT 0x7
#define SCSI_SENSE_ABORTED_COMMAND 0xb

/* ASC/ASCQ pairs, as (asc << 8 | ascq) */
#define SCSI_ASC_NONE 0x0000
#define SCSI_ASC_WRITE_ERROR 0x0c00
#define SCSI_ASC_READ_ERROR 0x1100
#define SCSI_ASC_PARAM_LIST_LENGTH 0x1a00
#define SCSI_ASC_INVALID_OPCODE 0x2000
#define SCSI_ASC_LBA_OUT_OF_RANGE 0x2100
#define SCSI_ASC_INVALID_FIELD_CDB 0x2400
#define SCSI_ASC_INVALID_FIELD_PARAM 0x2600
#define SCSI_ASC_WRITE_PROTECTED 0x2700
#define SCSI_ASC_SAVING_NOT_SUPPORTED 0x3900
#define SCSI_ASC_INTERNAL_FAILURE 0x4400
#define SCSI_ASC_NO_SPACE 0x2707 /* space allocation failed write protect */

enum scsi_dir {
	SCSI_DIR_NONE,
	SCSI_DIR_IN,  /* device to guest: the iovec may be written */
	SCSI_DIR_OUT, /* guest to device */
};

struct scsi_disk;
struct scsi_req;

typedef void (*scsi_done_fn)(struct scsi_req *r);

struct scsi_req {
	/* In: set by the transport. */
	uint8_t cdb[SCSI_CDB_MAX];
	uint8_t cdb_len;
	enum scsi_dir dir;
	const struct iovec *iov; /* the data buffer (guest memory) */
	int iovcnt;
	uint32_t len;	   /* bytes in @iov */
	scsi_done_fn done; /* async completion */
	/* Out: the result. */
	uint8_t status;		       /* SCSI_STATUS_* */
	uint8_t sense[SCSI_SENSE_LEN]; /* valid if CHECK CONDITION */
	uint32_t xfer;		       /* bytes transferred */
	/* Private to scsi_disk. */
	struct scsi_disk *disk;
	unsigned int pending; /* backend requests outstanding */
	int err;	      /* first backend error */
	bool write;	      /* what the backend requests were */
	void *bounce;	      /* UNMAP list / WRITE SAME pattern */
	struct iovec biov;    /* WRITE SAME: the pattern buffer */
};

struct scsi_disk_params {
	struct block_dev *bd;
	bool readonly;	    /* also when the backend is */
	const char *serial; /* VPD 0x80; up to 20 characters */
	uint64_t naa_id;    /* VPD 0x83 NAA identifier (low 60 bits) */
	bool cdrom;	    /* a CD/DVD drive (scsi_cdrom.h); @bd may be NULL */
};

int scsi_disk_create(const struct scsi_disk_params *p, struct scsi_disk **out);
void scsi_disk_destroy(struct scsi_disk *d);
struct block_dev *scsi_disk_block(struct scsi_disk *d);
/* The CD/DVD drive of a cdrom LUN (scsi_cdrom_change()), else NULL. */
struct scsi_cdrom *scsi_disk_cdrom(struct scsi_disk *d);

/*
 * Run @r. true: it completed here (result in @r, done not called);
 * false: it is in flight and r->done runs from the backend's completion
 * processing. Never fails otherwise: errors are a CHECK CONDITION.
 */
bool scsi_disk_execute(struct scsi_disk *d, struct scsi_req *r);

/* Helpers for the transport (INQUIRY for an absent LUN, errors). */
void scsi_req_sense(struct scsi_req *r, uint8_t key, uint16_t asc);
void scsi_req_good(struct scsi_req *r, const void *data, uint32_t len);
/* The first @bytes of @r's buffer (r->len >= @bytes) into @iov
 * (SCSI_IOV_MAX entries); returns the entries used. */
int scsi_req_iov(const struct scsi_req *r, uint64_t bytes, struct iovec *iov);
/* Standard INQUIRY data for "no device at this LUN" (qualifier 3). */
void scsi_inquiry_no_lun(struct scsi_req *r);

#endif /* HVKVM_SCSI_DISK_H */
