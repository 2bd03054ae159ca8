/* SPDX-License-Identifier: MIT */
/*
 * vmbus_internal: state shared by server.c (control plane) and channel.c
 * (GPADLs, ring mapping, data path). Not for VSPs: they see channel.h.
 */
#ifndef HVKVM_VMBUS_INTERNAL_H
#define HVKVM_VMBUS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hvkvm/channel.h"
#include "hvkvm/ring.h"
#include "hvkvm/vmbus.h"

#define VMBUS_INBOX_LEN 64    /* guest messages queued (vCPU -> I/O) */
#define VMBUS_OUTBOX_LEN 256  /* host messages awaiting a free slot */
#define VMBUS_MAX_GPADLS 1024 /* per connection */
#define VMBUS_MAX_SUBCHANNELS 64
#define VMBUS_PROCESS_BUDGET 128 /* packets per channel per pass */
#define VMBUS_STATUS_UNSUCCESSFUL 0xC0000001u

struct vmbus_wire_msg {
	uint32_t len;
	uint8_t data[VMBUS_MAX_MESSAGE_SIZE];
};

/* One mapped ring: linear double mapping or a page array. */
struct chan_ringmap {
	uint8_t *va; /* mmap'd reservation, or NULL */
	size_t va_len;
	uint8_t **pages; /* copy mode: data page pointers */
};

struct vmbus_gpadl {
	uint32_t handle;
	uint32_t relid; /* channel it was created for */
	uint16_t rangecount;
	uint32_t buflen;	    /* range_buflen from the header */
	uint32_t received;	    /* range bytes received so far */
	uint8_t *buf;		    /* raw ranges + pfns */
	struct vmbus_range *ranges; /* parsed, once complete */
	uint32_t nr_pfns;	    /* total over all ranges */
	bool complete;		    /* GpadlCreated sent */
	bool teardown_pending;	    /* torndown deferred until unused */
	unsigned int users;	    /* open rings + VSP holds */
	struct vmbus_gpadl *next;
};

/*
 * A channel's state; chan_transition() (channel.c) is the one place it
 * changes, by the table there. Values start at 1: 0 in the table means
 * "not a transition".
 */
enum chan_state {
	CHAN_NEW = 1,	/* not offered (yet, or since the guest left) */
	CHAN_OFFERED,	/* the guest has seen the offer; closed */
	CHAN_OPEN,	/* rings mapped, VSP opened */
	CHAN_STALLED,	/* open; VSP back-pressure, ring unread until kick */
	CHAN_BROKEN,	/* closed by the host after a ring fault */
	CHAN_RESCINDED, /* offer withdrawn, waiting for RelidReleased */
	CHAN_NR_STATES,
};

/* What happens to a channel (the columns of the transition table). */
enum chan_event {
	CHAN_EV_OFFER,	    /* OfferChannel sent */
	CHAN_EV_OPEN,	    /* rings mapped and the VSP accepted */
	CHAN_EV_REFUSE,	    /* rings mapped but the VSP refused the open */
	CHAN_EV_STALL,	    /* packet() returned -EAGAIN */
	CHAN_EV_KICK,	    /* vmbus_channel_kick() */
	CHAN_EV_CLOSE,	    /* closed: CloseChannel, rescind, unload, free */
	CHAN_EV_FAULT,	    /* the guest corrupted a ring */
	CHAN_EV_RESCIND,    /* RescindChannelOffer sent */
	CHAN_EV_DISCONNECT, /* Unload, reconnect or reset: offer forgotten */
	CHAN_NR_EVENTS,
};

struct vmbus_channel {
	struct vmbus_server *srv;
	struct vmbus_device *dev;
	uint32_t relid;
	uint16_t subidx;
	enum chan_state state; /* only through chan_transition() */
	bool want_writable;    /* VSP waits for ring space */
	uint32_t want_bytes;
	uint32_t openid;
	uint32_t target_vp; /* VP for host -> guest signals */
	uint32_t ring_gpadl;
	struct ring in;	 /* guest -> host */
	struct ring out; /* host -> guest */
	struct chan_ringmap map_in, map_out;
	uint8_t *bounce; /* copy mode: wrapped packets */
	void *priv;	 /* VSP per-channel state */
	uint64_t packets_in, packets_out, signals_in, signals_out;
};

struct vmbus_device {
	struct vmbus_server *srv;
	struct vmbus_device_params p;
	char name[32];
	struct vmbus_channel *chans[1 + VMBUS_MAX_SUBCHANNELS];
	unsigned int nr_chans;
	bool removed; /* rescinded; freed when released */
	struct vmbus_device *next;
};

/*
 * Server counters (vmbus_server_stats_foreach). Written on the processing
 * thread, except the two marked vCPU, which are relaxed atomics.
 */
struct vmbus_server_stats {
	uint64_t msgs_in[VMBUS_MSG_COUNT]; /* guest messages by type */
	uint64_t msgs_in_other;		   /* unknown or host-only type */
	uint64_t msgs_rejected;	   /* malformed / unexpected, not acted on */
	uint64_t inbox_full;	   /* vCPU: INSUFFICIENT_BUFFERS answered */
	uint64_t msgs_out;	   /* host messages sent */
	uint64_t msgs_out_dropped; /* outbox full or post failed */
	uint64_t signals_in;	   /* vCPU: HvSignalEvent on our connections */
	uint64_t signals_in_fd;	   /* of those, drained from a slot's efd */
	uint64_t interrupts_out;   /* signal_event calls to the guest */
	uint64_t packets_in, packets_out; /* ring packets, all channels */
	uint64_t channels_broken; /* closed by the host for ring faults */
};

/*
 * Argument block for one HvSignalEvent connection ID. With
 * ops.set_signal_fd a channel slot also owns an eventfd in the server's
 * epoll set, routed to (assigned) while the channel is open.
 */
struct vmbus_sig_slot {
	struct vmbus_server *srv;
	uint32_t relid;
	bool registered;
	bool assigned; /* set_signal_fd(efd, true) in force */
	int efd;       /* -1: signals only through the handler */
};

struct vmbus_server {
	struct gmem *gm;
	unsigned int nr_vcpus;
	struct vmbus_host_ops ops;
	uint32_t max_version;
	int efd;  /* kicks the processing thread */
	int epfd; /* epoll set: efd + slot eventfds (vmbus_server_fd) */

	/* vCPU -> processing thread */
	pthread_mutex_t inbox_lock;
	struct vmbus_wire_msg inbox[VMBUS_INBOX_LEN];
	unsigned int inbox_head, inbox_count;
	uint64_t pending[VMBUS_MAX_RELID / 64]; /* atomic relid bitmap */
	int scan_int_page;			/* atomic: WS2008 signal */
	struct vmbus_sig_slot slots[VMBUS_MAX_RELID];

	/* connection (processing thread only) */
	bool connected;
	bool offers_requested;
	uint32_t version;
	uint32_t msg_vp;   /* target VP for messages */
	uint8_t msg_sint;  /* SINT for messages and events */
	uint64_t int_page; /* < WIN8: interrupt page GPA */
	struct vmbus_channel *chans[VMBUS_MAX_RELID];
	struct vmbus_device *devices;
	struct vmbus_gpadl *gpadls;
	unsigned int nr_gpadls;
	struct vmbus_wire_msg outbox[VMBUS_OUTBOX_LEN];
	unsigned int outbox_head, outbox_count;
	uint64_t now_ns;
	struct vmbus_server_stats stats;
};

/* server.c */
void server_send(struct vmbus_server *s, const void *msg, uint32_t len);
void server_signal_guest(struct vmbus_channel *ch);
void server_kick(struct vmbus_server *s);
void server_mark_pending(struct vmbus_server *s, uint32_t relid);
void server_on_event(void *opaque, unsigned int vp, uint16_t flag);
int server_slot_init(struct vmbus_server *s, uint32_t relid);
void server_slot_route(struct vmbus_server *s, uint32_t relid, bool assign);

/* device.c */
void device_send_offer(struct vmbus_server *s, struct vmbus_channel *ch);
void device_free_channel(struct vmbus_channel *ch);
void device_free(struct vmbus_device *dev);
bool device_has_channels(struct vmbus_device *dev);

/* channel.c */
void chan_transition(struct vmbus_channel *ch, enum chan_event ev);
/* Rings mapped and the VSP opened (CHAN_OPEN or CHAN_STALLED). */
bool chan_is_open(const struct vmbus_channel *ch);
/* Offered and not rescinded: the guest may name it in messages. */
bool chan_is_offered(const struct vmbus_channel *ch);
void chan_gpadl_header(struct vmbus_server *s, const uint8_t *msg,
		       uint32_t len);
void chan_gpadl_body(struct vmbus_server *s, const uint8_t *msg, uint32_t len);
void chan_gpadl_teardown(struct vmbus_server *s, const uint8_t *msg,
			 uint32_t len);
/* Drop every GPADL of @relid (all if 0) without telling the guest. */
void chan_gpadl_drop(struct vmbus_server *s, uint32_t relid);
uint32_t chan_open(struct vmbus_channel *ch, uint32_t gpadl,
		   uint32_t page_offset, const uint8_t *user_data);
void chan_close(struct vmbus_channel *ch);
void chan_process(struct vmbus_channel *ch);

#endif /* HVKVM_VMBUS_INTERNAL_H */
