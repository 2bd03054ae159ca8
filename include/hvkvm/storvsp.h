/* SPDX-License-Identifier: MIT */
/*
 * storvsp: the Hyper-V synthetic SCSI controller (VMBus class
 * ba6163d9-04a1-4d29-b605-72e2ffb1dc7f) that Linux hv_storvsc and Windows
 * storvsc.sys drive. One controller per storvsp_create(); its disks are
 * LUNs 0..STORVSP_MAX_LUNS-1 of path 0, target 0, each on a block
 * backend (docs/storage.md).
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
#define STORVSP_MAX_LUNS 64
/* Largest request (QUERY_PROPERTIES max_transfer_bytes), bytes. */
#define STORVSP_MAX_TRANSFER (1u << 20)

struct storvsp;

struct storvsp_lun_config {
	struct block_dev *bd; /* not owned */
	unsigned int lun;     /* < STORVSP_MAX_LUNS, unique */
	bool readonly;	      /* WRITE gets DATA PROTECT */
	const char *serial;   /* VPD 0x80, NULL = derived from the LUN */
};

struct storvsp_params {
	const char *name;	      /* for logs and stats ("scsi0") */
	const char *instance_id;      /* VMBus instance GUID string */
	unsigned int max_subchannels; /* CREATE_SUB_CHANNELS limit; 0 = no
				       * multi-channel (nr_vcpus - 1) */
	uint32_t max_transfer;	      /* bytes; 0 = STORVSP_MAX_TRANSFER */
	const struct storvsp_lun_config *luns;
	unsigned int nr_luns;
};

int storvsp_create(struct vmbus_server *s, const struct storvsp_params *p,
		   struct storvsp **out);

/* The completion fd of LUN config @i and the evloop callback for it. */
int storvsp_completion_fd(struct storvsp *sv, unsigned int i);
void *storvsp_lun_opaque(struct storvsp *sv, unsigned int i);
void storvsp_evloop_ready(void *lun_opaque, uint32_t events);

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
