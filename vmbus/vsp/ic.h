/* SPDX-License-Identifier: MIT */
/*
 * ic: the integration-services framework shared by heartbeat, shutdown,
 * time sync and KVP. Every IC is host-driven: the host sends a request
 * (first a NEGOTIATE with its framework and message versions), the guest
 * answers in place with ICMSGHDRFLAG_RESPONSE and the same transaction ID.
 * One request is outstanding at a time; a request unanswered for
 * IC_TIMEOUT_NS is abandoned (longer than Linux's own 30 s KVP daemon
 * timeout). NEGOTIATE never times out: Linux's KVP driver leaves it unread
 * in the ring until hv_kvp_daemon starts, possibly minutes later.
 */
#ifndef HVKVM_VMBUS_IC_H
#define HVKVM_VMBUS_IC_H

#include <stdbool.h>
#include <stdint.h>

#include "hvkvm/channel.h"
#include "hvkvm/vmbus.h"

#define IC_TIMEOUT_NS (60ULL * 1000000000)
#define IC_MAX_VERSIONS 4

struct ic_base;

struct ic_desc {
	const char *name;
	const char *class_id; /* GUID string */
	const char *instance_id;
	uint16_t msgtype;		    /* ICMSGTYPE_* of the service */
	uint32_t versions[IC_MAX_VERSIONS]; /* major << 16 | minor, best first */
	unsigned int nr_versions;
	/* Negotiated: a good time to send. */
	void (*ready)(struct ic_base *ic);
	/* Idle and negotiated: send the next request if there is one. */
	void (*pump)(struct ic_base *ic);
	/* The guest answered our request (@body/@len after the headers). */
	void (*response)(struct ic_base *ic, uint32_t status,
			 const uint8_t *body, uint32_t len);
	/* The request was abandoned (timeout or channel closed). */
	void (*abandon)(struct ic_base *ic);
	void (*tick)(struct ic_base *ic, uint64_t now_ns);
	void (*destroy)(struct ic_base *ic);
};

struct ic_base {
	const struct ic_desc *desc;
	struct vmbus_device *dev;
	struct vmbus_channel *ch; /* open channel, or NULL */
	bool negotiated;
	bool busy;	     /* request outstanding */
	uint64_t busy_tid;   /* its VMBus transaction ID */
	uint64_t busy_since; /* tick time it was sent */
	uint64_t next_tid;
	uint64_t now_ns;     /* last tick */
	uint32_t fw_version; /* negotiated, major << 16 | minor */
	uint32_t msg_version;
	uint8_t txid; /* ictransaction_id */
};

/* Register @ic (embedded in the service struct) as a VMBus device. */
int ic_register(struct vmbus_server *s, const struct ic_desc *desc,
		struct ic_base *ic);
/*
 * Send a request of the service's type with @body (padded with zeroes to
 * @wire_len bytes, the size the guest expects). 0 or -errno.
 */
int ic_send(struct ic_base *ic, const void *body, uint32_t len,
	    uint32_t wire_len);
/* Run pump() if negotiated and idle. */
void ic_kick(struct ic_base *ic);
/* Windows time (100 ns since 1601) now; reference time of the VM. */
uint64_t ic_wall_time(void);
uint64_t ic_ref_time(struct ic_base *ic);

#endif /* HVKVM_VMBUS_IC_H */
