/* SPDX-License-Identifier: MIT */
/*
 * channel: what a VMBus device (a VSP: storvsp, netvsp, the integration
 * services) sees of VMBus, and all it sees: VSPs live in vmbus/vsp/, build
 * as their own library and cannot include the server's internals
 * (docs/vmbus.md, "Writing a VSP"). A device is registered with the server
 * (vmbus_device_add()) and offered to the guest; each time the guest opens
 * one of its channels the device's ops run on the VMBus processing thread:
 *
 *   open(ch, user_data)  guest opened the channel; return 0 or fail it
 *   ready(ch)            the guest has been told the open succeeded: a
 *                        VSP that speaks first (the ICs) sends from here
 *   packet(ch, pkt)      one packet from the guest; 0 = consumed,
 *                        -EAGAIN = leave it in the ring until
 *                        vmbus_channel_kick() (back-pressure)
 *   writable(ch)         a send that returned -EAGAIN may now fit
 *   close(ch)            guest closed it, or rescind/unload/reset/broken
 *   tick(dev, now_ns)    periodic timer (vmbus_server_tick())
 *   destroy(dev)         the device is being freed (after remove or at
 *                        server destroy): free the VSP's state
 *
 * All vmbus_channel_* calls are made on the processing thread.
 */
#ifndef HVKVM_CHANNEL_H
#define HVKVM_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hvkvm/gmem.h"
#include "hvkvm/vmbus_proto.h"

struct vmbus_channel;
struct vmbus_device;
struct vmbus_server;

/*
 * A packet received from the guest; valid during the packet() call. It is a
 * private copy (the guest cannot change it under the VSP); buffers it points
 * to by GPA are still shared guest memory.
 */
struct vmbus_packet {
	uint16_t type;	/* enum vmbus_pkt_type */
	uint16_t flags; /* VMBUS_PKT_FLAG_* */
	uint64_t trans_id;
	const uint8_t *raw;  /* whole packet from the descriptor on */
	uint32_t raw_len;    /* bytes at @raw (len8 * 8) */
	const uint8_t *data; /* payload: raw + offset8 * 8 */
	uint32_t data_len;
};

struct vmbus_device_ops {
	int (*open)(struct vmbus_channel *ch, const uint8_t *user_data);
	void (*ready)(struct vmbus_channel *ch);
	int (*packet)(struct vmbus_channel *ch, const struct vmbus_packet *pkt);
	void (*writable)(struct vmbus_channel *ch);
	void (*close)(struct vmbus_channel *ch);
	void (*tick)(struct vmbus_device *dev, uint64_t now_ns);
	void (*destroy)(struct vmbus_device *dev);
};

/* ---- registration ---- */

struct vmbus_device_params {
	const char *name;     /* for logs ("heartbeat", "scsi0") */
	uint8_t class_id[16]; /* wire (Windows) byte order */
	uint8_t instance_id[16];
	uint16_t offer_flags; /* VMBUS_OFFER_FLAG_* */
	uint16_t mmio_megabytes;
	uint8_t user_def[VMBUS_MAX_USER_DEFINED_BYTES];
	const struct vmbus_device_ops *ops;
	void *priv;
};

/* Register and offer (now, or when the guest asks for offers). */
int vmbus_device_add(struct vmbus_server *s,
		     const struct vmbus_device_params *p,
		     struct vmbus_device **out);
/* Hot-unplug: close, rescind the offers, free once the guest released. */
void vmbus_device_remove(struct vmbus_device *dev);

/* "xxxxxxxx-xxxx-..." -> wire byte order. 0 or -EINVAL. */
int vmbus_guid_parse(const char *str, uint8_t out[16]);

/* ---- sending ---- */

/*
 * Send an inband packet (VMBUS_PKT_DATA_INBAND or VMBUS_PKT_COMP) carrying
 * @len bytes. 0; -EAGAIN if the ring is full (writable() follows once the
 * guest makes room); -ENOTCONN if the channel is not open; -EMSGSIZE;
 * -EIO if the ring is broken (the channel is then closed).
 */
int vmbus_channel_send(struct vmbus_channel *ch, uint16_t type, uint16_t flags,
		       uint64_t trans_id, const void *buf, uint32_t len);
/* Same with a header-extra part (see struct ring_pkt_out) and an iovec. */
int vmbus_channel_sendv(struct vmbus_channel *ch, uint16_t type, uint16_t flags,
			uint64_t trans_id, uint32_t hdr_extra,
			const struct iovec *iov, unsigned int iovcnt);
/* Reprocess the guest->host ring (after packet() returned -EAGAIN). */
void vmbus_channel_kick(struct vmbus_channel *ch);

/* ---- identity and state ---- */

struct vmbus_device *vmbus_channel_device(struct vmbus_channel *ch);
void *vmbus_device_priv(struct vmbus_device *dev);
const char *vmbus_device_name(struct vmbus_device *dev);
/* 0 for the primary channel, 1.. for sub-channels. */
unsigned int vmbus_channel_subidx(struct vmbus_channel *ch);
uint32_t vmbus_channel_relid(struct vmbus_channel *ch);
/* Per-channel VSP state. */
void vmbus_channel_set_priv(struct vmbus_channel *ch, void *priv);
void *vmbus_channel_get_priv(struct vmbus_channel *ch);
/* Negotiated VMBus protocol version (VMBUS_VERSION_*). */
uint32_t vmbus_channel_version(struct vmbus_channel *ch);
/* Guest memory, for GPA-direct and GPADL data buffers (gmem_map()). */
struct gmem *vmbus_channel_gmem(struct vmbus_channel *ch);
/*
 * Offer @count sub-channels of @dev (e.g. after storvsc's/netvsc's
 * sub-channel request); they get sub_channel_index 1..count. 0 or -errno.
 */
int vmbus_device_offer_subchannels(struct vmbus_device *dev,
				   unsigned int count);

/* ---- time ---- */

/*
 * The VM's reference time (TIME_REF_COUNT, 100 ns units) now: from
 * vmbus_host_ops.ref_time, or derived from CLOCK_MONOTONIC without one.
 */
uint64_t vmbus_channel_ref_time(struct vmbus_channel *ch);
/* True if the reference time is the guest's own clock (ops.ref_time). */
bool vmbus_server_has_ref_time(struct vmbus_server *s);
/* The now_ns of the last vmbus_server_tick(), 0 before the first. */
uint64_t vmbus_server_last_tick(struct vmbus_server *s);

/* ---- buffers the guest describes ---- */

/* One page range of a GPA-direct packet or GPADL (pfns validated as RAM). */
struct vmbus_range {
	uint32_t byte_count;
	uint32_t byte_offset; /* < 4096, into pfn[0] */
	uint32_t nr_pfns;
	const uint64_t *pfns; /* wire data (little-endian on x86 = host) */
};

/*
 * Parse a VMBUS_PKT_DATA_USING_GPA_DIRECT packet: up to @max ranges into
 * @out, each bounded by the packet and every pfn checked against guest RAM.
 * Returns the range count, or -EINVAL (malformed) / -EFAULT (not RAM).
 * The pfn arrays point into @pkt->raw.
 */
int vmbus_packet_gpa_ranges(struct vmbus_channel *ch,
			    const struct vmbus_packet *pkt,
			    struct vmbus_range *out, unsigned int max);

/*
 * A GPADL the guest created for this channel (e.g. netvsc's receive
 * buffer), by handle; NULL if unknown or not complete. The returned range
 * array stays valid until the guest tears the GPADL down, which the server
 * defers while the GPADL is held.
 */
const struct vmbus_range *vmbus_channel_gpadl(struct vmbus_channel *ch,
					      uint32_t handle,
					      unsigned int *nr_ranges);
int vmbus_channel_gpadl_hold(struct vmbus_channel *ch, uint32_t handle);
void vmbus_channel_gpadl_release(struct vmbus_channel *ch, uint32_t handle);

#endif /* HVKVM_CHANNEL_H */
