/* SPDX-License-Identifier: MIT */
/*
 * storvsp: the Hyper-V synthetic SCSI controller (VMBus class
 * ba6163d9-04a1-4d29-b605-72e2ffb1dc7f) that Linux hv_storvsc and Windows
 * storvsc.sys drive. One controller per storvsp_create(); its disks are
 * LUNs 0..STORVSP_MAX_LUNS-1 of path 0, targets 0..STORVSP_MAX_TARGETS-1,
 * each on a block backend (docs/storage.md).
 *
 * The same code offers the Gen1 IDE accelerator (params.ide): a channel of
 * the IDE class 32412632-86cb-44a2-9b5c-50d1417354f5 carrying one IDE disk
 * whose backend the emulated controller shares. Its instance GUID names
 * the IDE channel and drive (storvsp_ide_instance()); requests for LUN 0
 * reach the disk whatever path and target they carry.
 *
 * Threading: everything runs on the VMBus processing thread, and the
 * block completions of the LUNs must be processed on that same thread
 * (register each storvsp_completion_fd() with storvsp_evloop_ready on the
 * evloop that runs vmbus_server_process()).
 *
 * Lifetime: the controller is freed with its VMBus device (server
 * destroy). Block devices stay the caller's: close them (block_close()
 * runs their last completions) before destroying the server.
 */
#ifndef HVKVM_STORVSP_H
#define HVKVM_STORVSP_H

#include <stdbool.h>
#include <stdint.h>

#include "hvkvm/block.h"
#include "hvkvm/vmbus.h"

#define STORVSP_CLASS_ID "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f"
#define STORVSP_IDE_CLASS_ID "32412632-86cb-44a2-9b5c-50d1417354f5"
#define STORVSP_MAX_LUNS 64
/* Targets per controller: what Linux storvsc scans (STORVSC_MAX_TARGETS). */
#define STORVSP_MAX_TARGETS 2
/* Largest request (QUERY_PROPERTIES max_transfer_bytes), bytes. */
#define STORVSP_MAX_TRANSFER (1u << 20)

struct storvsp;

struct storvsp_lun_config {
	struct block_dev *bd; /* not owned */
	unsigned int target;  /* < STORVSP_MAX_TARGETS */
	unsigned int lun;     /* < STORVSP_MAX_LUNS, unique per target */
	bool readonly;	      /* WRITE gets DATA PROTECT */
	const char *serial;   /* VPD 0x80, NULL = derived from the LUN */
	bool cdrom;	      /* a CD/DVD drive; @bd NULL = empty */
};

struct storvsp_params {
	const char *name;	      /* for logs and stats ("scsi0") */
	const char *instance_id;      /* VMBus instance GUID string */
	unsigned int max_subchannels; /* CREATE_SUB_CHANNELS limit; 0 = no
				       * multi-channel (nr_vcpus - 1) */
	uint32_t max_transfer;	      /* bytes; 0 = STORVSP_MAX_TRANSFER */
	bool ide;		      /* the IDE accelerator: one LUN, no
				       * sub-channels */
	unsigned int controller;      /* unique per VM: in the LUNs' NAA IDs */
	const struct storvsp_lun_config *luns;
	unsigned int nr_luns;
};

int storvsp_create(struct vmbus_server *s, const struct storvsp_params *p,
		   struct storvsp **out);

/*
 * The instance GUID Hyper-V gives the accelerator of IDE channel @channel
 * (0, 1), drive @drive (0 master, 1 slave): data1 = channel, data2 =
 * drive, data3 = 0x8899 (Linux storvsc adds the disk as target data2).
 */
void storvsp_ide_instance(unsigned int channel, unsigned int drive,
			  char out[37]);

/*
 * The completion fd of LUN config @i and the evloop callback for it (-1 /
 * NULL once that LUN was removed). An IDE accelerator's backend belongs to
 * the IDE controller, whose completion handler serves both.
 */
int storvsp_completion_fd(struct storvsp *sv, unsigned int i);
void *storvsp_lun_opaque(struct storvsp *sv, unsigned int i);
void storvsp_evloop_ready(void *lun_opaque, uint32_t events);

/*
 * Hot-add: a LUN on the running controller. The caller registers
 * block_completion_fd(lc->bd) with storvsp_evloop_ready(*opaque) and then
 * tells the guest with storvsp_rescan(). 0, -EINVAL (address out of
 * range), -EEXIST (taken), -EOPNOTSUPP (IDE accelerator), -ENOMEM.
 */
int storvsp_add_lun(struct storvsp *sv, const struct storvsp_lun_config *lc,
		    void **opaque);
/*
 * Hot-remove: from now on the LUN answers SRB_STATUS_INVALID_LUN (storvsc
 * then removes its device; storvsp_rescan() makes it look). Requests
 * already in flight complete normally: the caller removes the completion
 * fd from its loop and block_close()s *bd, which runs their completions.
 * 0 or -ENOENT.
 */
int storvsp_remove_lun(struct storvsp *sv, unsigned int target,
		       unsigned int lun, struct block_dev **bd);
/* Is there a LUN at @target/@lun? */
bool storvsp_has_lun(struct storvsp *sv, unsigned int target, unsigned int lun);

/*
 * Tell the guest to rescan the bus (VSTOR ENUMERATE_BUS). 0, -ENOTCONN
 * (not initialised yet), -EAGAIN (ring full).
 */
int storvsp_rescan(struct storvsp *sv);

/*
 * Counters, on the processing thread, as storvsp.<name>.<counter>:
 *   requests, requests_<read|write|flush|unmap|other>, bytes_read,
 *   bytes_written, in_flight, in_flight_max, completions,
 *   completion_batches (backend completion passes that completed
 *   requests: completions / completion_batches = requests answered per
 *   wake-up), completions_deferred (ring full: sent on writable()),
 *   errors (SRB status not SUCCESS), bad_packets, subchannels.
 */
void storvsp_stats_foreach(struct storvsp *sv, vmbus_stats_fn fn, void *opaque);

#endif /* HVKVM_STORVSP_H */
