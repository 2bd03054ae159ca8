/* SPDX-License-Identifier: MIT */
/*
 * scsi_cdrom: a SCSI CD/DVD LUN (peripheral device type 05h, removable,
 * read-only, 2048-byte blocks) for storvsp, behind scsi_disk_execute()
 * when scsi_disk_params.cdrom is set. The MMC command set is hvkvm/mmc.h;
 * this file is its SCSI transport: CDB length checks, writes refused with
 * DATA PROTECT, autosense, and the medium reads on the block backend.
 */
#ifndef HVKVM_SCSI_CDROM_H
#define HVKVM_SCSI_CDROM_H

#include <stdbool.h>

#include "hvkvm/block.h"
#include "scsi_disk.h"

struct scsi_cdrom;

/* @bd: the medium (not owned), or NULL for an empty drive. */
int scsi_cdrom_create(struct block_dev *bd, struct scsi_cdrom **out);
void scsi_cdrom_destroy(struct scsi_cdrom *c);
/* As scsi_disk_execute(). */
bool scsi_cdrom_execute(struct scsi_cdrom *c, struct scsi_req *r);
/*
 * The host changes the medium: @bd (not owned) or NULL to eject. The
 * guest sees a unit attention (06/28/00) and a GESN media event. The
 * caller keeps the old medium open until its reads in flight complete.
 * -EINVAL: @bd is smaller than one 2048-byte block.
 */
int scsi_cdrom_change(struct scsi_cdrom *c, struct block_dev *bd);
struct block_dev *scsi_cdrom_block(struct scsi_cdrom *c);

#endif /* HVKVM_SCSI_CDROM_H */
