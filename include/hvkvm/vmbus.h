/* SPDX-License-Identifier: MIT */
/*
 * vmbus: the host side of VMBus — the channel-management server (versions,
 * offers, GPADLs, open/close, rescind, unload) and the host API of the
 * integration-service devices built on it (heartbeat, shutdown, time sync,
 * KVP). Devices register through channel.h (included here), the one
 * header the VSPs themselves see.
 *
 * Wiring (done by the VM):
 *   - struct vmbus_host_ops maps to the hyperv module: post_message ->
 *     hv_synic_post_message, signal_event -> hv_synic_signal_event,
 *     register_message -> hv_register_message_handler, register_event ->
 *     hv_register_event_handler, set_signal_fd (optional) -> a KVM
 *     ioeventfd on HV_SIGNAL_PORT.
 *   - vmbus_server_fd() is pollable (an epoll set of the server's eventfds):
 *     add it to an evloop (EPOLLIN) and call vmbus_server_process() from
 *     the callback.
 *   - call vmbus_server_tick() about once a second (timerfd) for the ICs.
 *   - vmbus_server_reset() on VM reset (before vCPUs run again).
 *
 * Threading: the handlers registered through register_message /
 * register_event run on vCPU threads; they only queue work (a bounded
 * inbox and an atomic pending bitmap) and write the eventfd. Everything
 * else — vmbus_server_process(), tick, device add/remove, set_signal_fd
 * calls and the IC host API — runs on the one processing thread.
 */
#ifndef HVKVM_VMBUS_H
#define HVKVM_VMBUS_H

#include <stdbool.h>
#include <stdint.h>

#include "hvkvm/channel.h"
#include "hvkvm/gmem.h"

struct vmbus_server;

/* Same shapes as hv_post_message_fn / hv_signal_event_fn in hyperv.h. */
typedef uint16_t (*vmbus_post_message_fn)(void *opaque, unsigned int vp,
					  uint32_t msg_type,
					  const void *payload, uint32_t len);
typedef void (*vmbus_signal_event_fn)(void *opaque, unsigned int vp,
				      uint16_t flag);

/* HV_STATUS codes the message handler returns. */
#define VMBUS_HV_STATUS_SUCCESS 0x0000
#define VMBUS_HV_STATUS_INVALID_PARAMETER 0x0005
#define VMBUS_HV_STATUS_INSUFFICIENT_BUFFERS 0x0013

struct vmbus_host_ops {
	/* Post a SynIC message to @vp's @sint. 0, -EAGAIN (retry), -errno. */
	int (*post_message)(void *opaque, unsigned int vp, unsigned int sint,
			    uint32_t msg_type, const void *payload,
			    uint32_t len);
	/* Set event flag @flag of @vp's SIEF slot @sint and interrupt. */
	int (*signal_event)(void *opaque, unsigned int vp, unsigned int sint,
			    unsigned int flag);
	int (*register_message)(void *opaque, uint32_t conn_id,
				vmbus_post_message_fn fn, void *arg);
	int (*register_event)(void *opaque, uint32_t conn_id,
			      vmbus_signal_event_fn fn, void *arg);
	/*
	 * Optional: route HvSignalEvent on @conn_id straight to eventfd @efd
	 * (@assign), or stop doing so (!@assign), e.g. with a KVM ioeventfd
	 * on HV_SIGNAL_PORT matching @conn_id. The server assigns a channel's
	 * connection while the channel is open and deassigns it before it
	 * closes @efd; signals not routed keep coming through the handler
	 * registered with register_event. 0 or -errno (then the handler path
	 * stays in use). NULL = every signal goes through the handler.
	 */
	int (*set_signal_fd)(void *opaque, uint32_t conn_id, int efd,
			     bool assign);
	/*
	 * Optional: the partition reference time (TIME_REF_COUNT, 100 ns) for
	 * time sync v4; NULL = derived from CLOCK_MONOTONIC.
	 */
	uint64_t (*ref_time)(void *opaque);
	void *opaque;
};

struct vmbus_server_params {
	struct gmem *gm;       /* guest RAM */
	unsigned int nr_vcpus; /* valid VP indices are < this */
	const struct vmbus_host_ops *ops;
	/* Highest protocol to accept (0 = VMBUS_VERSION_WIN10_V5_3). */
	uint32_t max_version;
};

/* Channel connection IDs: VMBUS_CHANNEL_CONN_BASE + relid. */
#define VMBUS_CHANNEL_CONN_BASE 0x2000
/* Relids are 1 .. VMBUS_MAX_RELID - 1. */
#define VMBUS_MAX_RELID 1024

int vmbus_server_create(const struct vmbus_server_params *p,
			struct vmbus_server **out);
void vmbus_server_destroy(struct vmbus_server *s);
/* The fd to poll for EPOLLIN (the server's and the channels' eventfds). */
int vmbus_server_fd(struct vmbus_server *s);
/* Run queued messages and channel signals; returns when idle. */
void vmbus_server_process(struct vmbus_server *s);
/* Periodic work (IC heartbeats, time samples). */
void vmbus_server_tick(struct vmbus_server *s, uint64_t now_ns);
/* VM reset: every channel closed, GPADLs dropped, back to disconnected. */
void vmbus_server_reset(struct vmbus_server *s);
/* Negotiated version, 0 when the guest is not connected. */
uint32_t vmbus_server_version(struct vmbus_server *s);

/*
 * Counters since the server was created (a guest reset does not clear
 * them), one callback each, on the processing thread (docs/vmbus.md):
 *   vmbus.messages_in.<Type>    guest channel messages by type
 *       (InitiateContact, RequestOffers, GpadlHeader, ...), and .other
 *       (too short for a header, unknown or host-only type)
 *   vmbus.messages_rejected     malformed or unexpected: not acted on
 *   vmbus.messages_inbox_full   HvPostMessage answered
 *                               INSUFFICIENT_BUFFERS (guest retries)
 *   vmbus.messages_out          host messages sent
 *   vmbus.messages_out_dropped  lost: outbox full or posting failed
 *   vmbus.signals_in            HvSignalEvent from the guest
 *   vmbus.signals_in_fd         of those, through a channel's eventfd
 *                               (set_signal_fd: never left the kernel)
 *   vmbus.interrupts_out        event-flag interrupts to the guest
 *   vmbus.packets_in / packets_out   ring packets over all channels
 *   vmbus.channels_broken       channels closed for ring corruption
 */
typedef void (*vmbus_stats_fn)(void *opaque, const char *path, uint64_t value);
void vmbus_server_stats_foreach(struct vmbus_server *s, vmbus_stats_fn fn,
				void *opaque);

/* ---- integration services ---- */

struct ic_heartbeat;
struct ic_shutdown;
struct ic_timesync;
struct ic_kvp;

int ic_heartbeat_create(struct vmbus_server *s, struct ic_heartbeat **out);
int ic_shutdown_create(struct vmbus_server *s, struct ic_shutdown **out);
int ic_timesync_create(struct vmbus_server *s, struct ic_timesync **out);
int ic_kvp_create(struct vmbus_server *s, struct ic_kvp **out);

enum ic_heartbeat_status {
	IC_HEARTBEAT_NO_CONTACT, /* channel not open / not negotiated */
	IC_HEARTBEAT_OK,	 /* guest answered recently */
	IC_HEARTBEAT_LOST,	 /* no answer for 3 intervals */
};
struct ic_heartbeat_state {
	enum ic_heartbeat_status status;
	uint64_t seq;	  /* last sequence number from the guest */
	uint64_t answers; /* heartbeats answered */
	uint64_t last_ns; /* tick time of the last answer */
};
void ic_heartbeat_get(struct ic_heartbeat *hb, struct ic_heartbeat_state *st);

enum ic_shutdown_kind {
	IC_SHUTDOWN_POWEROFF,
	IC_SHUTDOWN_REBOOT,
};
/* Completion: 0 = guest agreed, -EIO = guest refused, -ENOTCONN = closed. */
typedef void (*ic_done_fn)(void *opaque, int status);
/*
 * Ask the guest to shut down or reboot. 0 = sent (or queued until the
 * service is negotiated); -EBUSY if a request is outstanding.
 */
int ic_shutdown_request(struct ic_shutdown *sd, enum ic_shutdown_kind kind,
			bool force, const char *reason, ic_done_fn done,
			void *opaque);

/* Send a SYNC sample now (after the VM resumes). */
void ic_timesync_resume(struct ic_timesync *ts);
/* Samples answered by the guest. */
uint64_t ic_timesync_samples(struct ic_timesync *ts);

/*
 * KVP. Keys and values are UTF-8 on this side (UTF-16LE on the wire).
 * ic_kvp_set() pushes a host value (pools EXTERNAL / AUTO_EXTERNAL) and
 * remembers it for the next guest connection; ic_kvp_delete() removes it.
 * ic_kvp_refresh() enumerates a guest pool (GUEST / AUTO) into a cache read
 * by ic_kvp_lookup() / ic_kvp_foreach(). All return 0 or -errno.
 */
int ic_kvp_set(struct ic_kvp *kvp, unsigned int pool, const char *key,
	       const char *value);
int ic_kvp_delete(struct ic_kvp *kvp, unsigned int pool, const char *key);
int ic_kvp_refresh(struct ic_kvp *kvp, unsigned int pool, ic_done_fn done,
		   void *opaque);
int ic_kvp_lookup(struct ic_kvp *kvp, unsigned int pool, const char *key,
		  char *value, unsigned int size);
typedef void (*ic_kvp_each_fn)(void *opaque, const char *key,
			       const char *value);
void ic_kvp_foreach(struct ic_kvp *kvp, unsigned int pool, ic_kvp_each_fn fn,
		    void *opaque);

#endif /* HVKVM_VMBUS_H */
