// SPDX-License-Identifier: MIT
/*
 * server: the VMBus channel-management state machine (host side).
 *
 * The guest posts channel messages with HvPostMessage on connection 1
 * (VMBUS_MESSAGE_CONNECTION_ID) or, from protocol 5.0, on connection 4; the
 * host answers through SynIC messages on the SINT the guest named (2 before
 * 5.0). Sequence: InitiateContact -> VersionResponse; RequestOffers ->
 * OfferChannel x N, AllOffersDelivered; GpadlHeader (+ GpadlBody...) ->
 * GpadlCreated; OpenChannel -> OpenResult; CloseChannel; GpadlTeardown ->
 * GpadlTorndown; RescindOffer -> RelidReleased (hot-unplug); Unload ->
 * UnloadResponse. ModifyChannel (4.1+) retargets the channel interrupt, with
 * a response from 5.3.
 *
 * Channels are offered without monitor pages (monitor_allocated = 0): the
 * guest signals with HvSignalEvent on the channel's connection ID
 * (VMBUS_CHANNEL_CONN_BASE + relid), or for WS2008 on connection 2 after
 * setting the relid bit in the interrupt page. Host -> guest: from WIN8 the
 * relid bit in the target VP's SIEF slot; before, the relid bit in the
 * interrupt page's receive half plus SIEF bit 0.
 *
 * Signal eventfds: with ops.set_signal_fd every channel slot owns an
 * eventfd the VM routes the channel's HvSignalEvent to while the channel
 * is open (a KVM ioeventfd: the signal never leaves the kernel). The slot
 * eventfds and the server's own kick eventfd sit in one epoll set, which
 * is what vmbus_server_fd() returns; vmbus_server_process() drains the
 * ready ones into the pending bitmap. Routing is undone before a channel
 * closes and before an eventfd is closed; unrouted signals (closed
 * channels, connection 2) keep going through server_on_event().
 *
 * Not implemented: hv_sock (TlConnectRequest is ignored), monitor pages,
 * protocol 6.0 feature flags, confidential/redirected channels.
 */
#include "vmbus_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hvkvm/util.h"

static const uint32_t vmbus_versions[] = {
	VMBUS_VERSION_WIN10_V5_3, VMBUS_VERSION_WIN10_V5_2,
	VMBUS_VERSION_WIN10_V5_1, VMBUS_VERSION_WIN10_V5,
	VMBUS_VERSION_WIN10_V4_1, VMBUS_VERSION_WIN10,
	VMBUS_VERSION_WIN8_1,	  VMBUS_VERSION_WIN8,
	VMBUS_VERSION_WIN7,	  VMBUS_VERSION_WS2008,
};

/* ---- outgoing messages and signals ---- */

static int server_post(struct vmbus_server *s, const struct vmbus_wire_msg *m)
{
	return s->ops.post_message(s->ops.opaque, s->msg_vp, s->msg_sint,
				   VMBUS_MESSAGE_TYPE, m->data, m->len);
}

static void server_flush_outbox(struct vmbus_server *s)
{
	while (s->outbox_count) {
		struct vmbus_wire_msg *m = &s->outbox[s->outbox_head];
		int r = server_post(s, m);

		if (r == -EAGAIN)
			return;
		if (r) {
			pr_dbg("vmbus: message %u dropped (%d)",
			       get_le32(m->data), r);
			s->stats.msgs_out_dropped++;
		}
		s->outbox_head = (s->outbox_head + 1) % VMBUS_OUTBOX_LEN;
		s->outbox_count--;
	}
}

void server_send(struct vmbus_server *s, const void *msg, uint32_t len)
{
	struct vmbus_wire_msg *m;

	if (len > VMBUS_MAX_MESSAGE_SIZE)
		return;
	s->stats.msgs_out++;
	if (s->outbox_count == VMBUS_OUTBOX_LEN) {
		pr_warn("vmbus: outbox full, message %u dropped",
			get_le32(msg));
		s->stats.msgs_out_dropped++;
		return;
	}
	m = &s->outbox[(s->outbox_head + s->outbox_count) % VMBUS_OUTBOX_LEN];
	m->len = len;
	memcpy(m->data, msg, len);
	s->outbox_count++;
	server_flush_outbox(s);
}

static void server_send_type(struct vmbus_server *s, uint32_t type)
{
	struct vmbus_msg_hdr h = { .msgtype = type };

	server_send(s, &h, sizeof(h));
}

void server_signal_guest(struct vmbus_channel *ch)
{
	struct vmbus_server *s = ch->srv;
	uint64_t *bits;

	if (!s->connected)
		return;
	ch->signals_out++;
	if (s->version >= VMBUS_VERSION_WIN8) {
		if (ch->target_vp == VMBUS_VP_NO_INTERRUPT)
			return; /* the guest polls this channel */
		s->stats.interrupts_out++;
		s->ops.signal_event(s->ops.opaque, ch->target_vp, s->msg_sint,
				    ch->relid);
		return;
	}
	bits = gmem_map(s->gm, s->int_page, VMBUS_PAGE_SIZE / 2, true);
	if (!bits)
		return;
	__atomic_fetch_or(&bits[ch->relid / 64], 1ULL << (ch->relid % 64),
			  __ATOMIC_SEQ_CST);
	s->stats.interrupts_out++;
	s->ops.signal_event(s->ops.opaque, s->msg_vp, s->msg_sint, 0);
}

void server_kick(struct vmbus_server *s)
{
	uint64_t one = 1;

	if (write(s->efd, &one, sizeof(one)) < 0)
		return; /* counter saturated: a wakeup is pending anyway */
}

static void server_set_pending(struct vmbus_server *s, uint32_t relid)
{
	__atomic_fetch_or(&s->pending[relid / 64], 1ULL << (relid % 64),
			  __ATOMIC_SEQ_CST);
}

void server_mark_pending(struct vmbus_server *s, uint32_t relid)
{
	if (relid >= VMBUS_MAX_RELID)
		return;
	server_set_pending(s, relid);
	server_kick(s);
}

/* ---- vCPU-thread entry points: queue and kick, nothing else ---- */

static uint16_t server_on_message(void *opaque, unsigned int vp,
				  uint32_t msg_type, const void *payload,
				  uint32_t len)
{
	struct vmbus_server *s = opaque;
	struct vmbus_wire_msg *m;

	if (len > VMBUS_MAX_MESSAGE_SIZE || (len && !payload))
		return VMBUS_HV_STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&s->inbox_lock);
	if (s->inbox_count == VMBUS_INBOX_LEN) {
		pthread_mutex_unlock(&s->inbox_lock);
		__atomic_fetch_add(&s->stats.inbox_full, 1, __ATOMIC_RELAXED);
		return VMBUS_HV_STATUS_INSUFFICIENT_BUFFERS;
	}
	m = &s->inbox[(s->inbox_head + s->inbox_count) % VMBUS_INBOX_LEN];
	m->len = len;
	memcpy(m->data, payload, len);
	s->inbox_count++;
	pthread_mutex_unlock(&s->inbox_lock);
	server_kick(s);
	return VMBUS_HV_STATUS_SUCCESS;
}

void server_on_event(void *opaque, unsigned int vp, uint16_t flag)
{
	struct vmbus_sig_slot *slot = opaque;

	__atomic_fetch_add(&slot->srv->stats.signals_in, 1, __ATOMIC_RELAXED);
	if (slot->relid) {
		server_mark_pending(slot->srv, slot->relid);
		return;
	}
	__atomic_store_n(&slot->srv->scan_int_page, 1, __ATOMIC_SEQ_CST);
	server_kick(slot->srv);
}

/* ---- channel signal slots ---- */

/*
 * Set up @relid's connection (VMBUS_CHANNEL_CONN_BASE + relid) once per
 * server lifetime: the HvSignalEvent handler and, with set_signal_fd, the
 * slot's eventfd in the epoll set. Without that eventfd (no op, or no fd
 * to spare) the channel's signals simply stay on the handler path.
 */
int server_slot_init(struct vmbus_server *s, uint32_t relid)
{
	struct vmbus_sig_slot *slot = &s->slots[relid];
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = slot };
	int r;

	if (slot->registered)
		return 0;
	slot->srv = s;
	slot->relid = relid;
	r = s->ops.register_event(s->ops.opaque,
				  VMBUS_CHANNEL_CONN_BASE + relid,
				  server_on_event, slot);
	if (r)
		return r;
	slot->registered = true;
	if (!s->ops.set_signal_fd)
		return 0;
	slot->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (slot->efd >= 0 &&
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, slot->efd, &ev) < 0) {
		close(slot->efd);
		slot->efd = -1;
	}
	if (slot->efd < 0)
		pr_warn("vmbus: relid %u: no signal eventfd: %s", relid,
			strerror(errno));
	return 0;
}

/*
 * Route @relid's signals to its eventfd (@assign) or back to the handler.
 * A failed assign leaves the handler path; a failed deassign keeps the
 * slot marked assigned so that its eventfd stays polled (and is not routed
 * twice).
 */
void server_slot_route(struct vmbus_server *s, uint32_t relid, bool assign)
{
	struct vmbus_sig_slot *slot = &s->slots[relid];
	int r;

	if (slot->efd < 0 || slot->assigned == assign)
		return;
	r = s->ops.set_signal_fd(s->ops.opaque, VMBUS_CHANNEL_CONN_BASE + relid,
				 slot->efd, assign);
	if (r) {
		pr_warn("vmbus: relid %u: %s the signal eventfd: %s", relid,
			assign ? "cannot route" : "cannot unroute",
			strerror(-r));
		return;
	}
	slot->assigned = assign;
}

/*
 * Everything ready in the epoll set: the kick eventfd (data NULL) and the
 * slot eventfds, whose counts are signals the kernel took for us.
 */
static void server_drain_fds(struct vmbus_server *s)
{
	struct epoll_event evs[32];
	unsigned int rounds = VMBUS_MAX_RELID / ARRAY_SIZE(evs) + 1;
	uint64_t v;
	int i, n;

	do {
		n = epoll_wait(s->epfd, evs, ARRAY_SIZE(evs), 0);
		for (i = 0; i < n; i++) {
			struct vmbus_sig_slot *slot = evs[i].data.ptr;

			if (!slot) {
				if (read(s->efd, &v, sizeof(v)) < 0)
					v = 0; /* EAGAIN: raced, harmless */
				continue;
			}
			if (read(slot->efd, &v, sizeof(v)) != sizeof(v))
				continue;
			__atomic_fetch_add(&s->stats.signals_in, v,
					   __ATOMIC_RELAXED);
			s->stats.signals_in_fd += v;
			server_set_pending(s, slot->relid);
		}
	} while (n == (int)ARRAY_SIZE(evs) && --rounds);
}

/* WS2008 signals: relid bits in the interrupt page's send half. */
static void server_scan_int_page(struct vmbus_server *s)
{
	uint64_t *bits;
	unsigned int i;

	if (!s->connected || s->version >= VMBUS_VERSION_WIN8)
		return;
	bits = gmem_map(s->gm, s->int_page + VMBUS_PAGE_SIZE / 2,
			VMBUS_MAX_RELID / 8, true);
	if (!bits)
		return;
	for (i = 0; i < VMBUS_MAX_RELID / 64; i++) {
		uint64_t w = __atomic_exchange_n(&bits[i], 0, __ATOMIC_SEQ_CST);

		if (w) {
			__atomic_fetch_or(&s->pending[i], w, __ATOMIC_SEQ_CST);
		}
	}
}

/*
 * Drop the connection: close every channel, forget GPADLs, sub-channels and
 * rescinded channels. Devices stay and are offered again on reconnect.
 */
static void server_disconnect(struct vmbus_server *s)
{
	struct vmbus_device *dev, *next;
	unsigned int i;

	for (dev = s->devices; dev; dev = next) {
		next = dev->next;
		for (i = 0; i < ARRAY_SIZE(dev->chans); i++) {
			struct vmbus_channel *ch = dev->chans[i];

			if (!ch)
				continue;
			chan_close(ch);
			if (i || ch->state == CHAN_RESCINDED || dev->removed) {
				device_free_channel(ch);
				continue;
			}
			chan_transition(ch, CHAN_EV_DISCONNECT);
		}
		if (dev->removed)
			device_free(dev);
	}
	chan_gpadl_drop(s, 0);
	s->connected = false;
	s->offers_requested = false;
	s->version = 0;
	s->int_page = 0;
}

/* ---- message handlers ---- */

static bool server_version_known(struct vmbus_server *s, uint32_t v)
{
	unsigned int i;

	if (v > s->max_version)
		return false;
	for (i = 0; i < ARRAY_SIZE(vmbus_versions); i++)
		if (vmbus_versions[i] == v)
			return true;
	return false;
}

static void server_initiate_contact(struct vmbus_server *s, const uint8_t *msg)
{
	const struct vmbus_msg_initiate_contact *c = (const void *)msg;
	struct vmbus_msg_version_response rsp = { 0 };
	uint32_t v = get_le32(&c->version_requested);
	uint32_t vp = get_le32(&c->target_vcpu);
	uint8_t sint = VMBUS_MESSAGE_SINT;
	uint64_t int_page = get_le64(&c->interrupt_page);
	bool ok = server_version_known(s, v);

	if (s->connected) {
		guest_err("vmbus: InitiateContact while connected, resetting "
			  "the connection");
		server_disconnect(s);
	}
	if (v >= VMBUS_VERSION_WIN10_V5)
		sint = c->msg_sint;
	if (vp >= s->nr_vcpus || sint >= 16) {
		guest_err("vmbus: InitiateContact to VP %u SINT %u", vp, sint);
		vp = 0;
		sint = VMBUS_MESSAGE_SINT;
		ok = false;
	}
	if (ok && v < VMBUS_VERSION_WIN8 &&
	    (!IS_ALIGNED(int_page, VMBUS_PAGE_SIZE) ||
	     !gmem_is_ram(s->gm, int_page, VMBUS_PAGE_SIZE))) {
		guest_err("vmbus: interrupt page %#llx not in RAM",
			  (unsigned long long)int_page);
		ok = false;
	}
	s->msg_vp = vp;
	s->msg_sint = sint;
	rsp.hdr.msgtype = VMBUS_MSG_VERSION_RESPONSE;
	rsp.version_supported = ok;
	if (ok && v >= VMBUS_VERSION_WIN10_V5)
		rsp.msg_conn_id = VMBUS_MESSAGE_CONNECTION_ID_4;
	if (ok) {
		s->connected = true;
		s->version = v;
		s->int_page = v < VMBUS_VERSION_WIN8 ? int_page : 0;
		pr_info("vmbus: guest connected, protocol %u.%u", v >> 16,
			v & 0xffff);
	}
	server_send(s, &rsp, sizeof(rsp));
}

static void server_request_offers(struct vmbus_server *s)
{
	struct vmbus_device *dev;
	unsigned int i;

	if (s->offers_requested) {
		guest_err("vmbus: repeated RequestOffers ignored");
		return;
	}
	s->offers_requested = true;
	for (dev = s->devices; dev; dev = dev->next) {
		if (dev->removed)
			continue;
		for (i = 0; i < ARRAY_SIZE(dev->chans); i++)
			if (dev->chans[i] &&
			    dev->chans[i]->state != CHAN_RESCINDED)
				device_send_offer(s, dev->chans[i]);
	}
	server_send_type(s, VMBUS_MSG_ALLOFFERS_DELIVERED);
}

/* The channel the guest names, if it has been offered and not rescinded. */
static struct vmbus_channel *server_channel(struct vmbus_server *s,
					    uint32_t relid, const char *what)
{
	struct vmbus_channel *ch = NULL;

	if (relid < VMBUS_MAX_RELID)
		ch = s->chans[relid];
	if (!ch || !chan_is_offered(ch)) {
		guest_err("vmbus: %s for unknown relid %u", what, relid);
		return NULL;
	}
	return ch;
}

static void server_open_channel(struct vmbus_server *s, const uint8_t *msg)
{
	const struct vmbus_msg_open_channel *o = (const void *)msg;
	struct vmbus_msg_open_result rsp = { 0 };
	struct vmbus_channel *ch;
	uint32_t vp = get_le32(&o->target_vp);

	ch = server_channel(s, get_le32(&o->child_relid), "OpenChannel");
	if (!ch)
		return;
	rsp.hdr.msgtype = VMBUS_MSG_OPENCHANNEL_RESULT;
	rsp.child_relid = ch->relid;
	rsp.openid = get_le32(&o->openid);
	if (chan_is_open(ch)) {
		guest_err("vmbus: relid %u opened twice", ch->relid);
		rsp.status = VMBUS_STATUS_UNSUCCESSFUL;
	} else if (s->version >= VMBUS_VERSION_WIN8 && vp >= s->nr_vcpus &&
		   vp != VMBUS_VP_NO_INTERRUPT) {
		guest_err("vmbus: relid %u target VP %u", ch->relid, vp);
		rsp.status = VMBUS_STATUS_UNSUCCESSFUL;
	} else {
		ch->openid = rsp.openid;
		ch->target_vp = s->version >= VMBUS_VERSION_WIN8 ? vp :
								   s->msg_vp;
		rsp.status = chan_open(ch, get_le32(&o->ringbuffer_gpadl),
				       get_le32(&o->downstream_page_offset),
				       o->user_data);
	}
	server_send(s, &rsp, sizeof(rsp));
	if (chan_is_open(ch) && ch->dev->p.ops->ready)
		ch->dev->p.ops->ready(ch);
	if (chan_is_open(ch))
		server_mark_pending(s, ch->relid);
}

static void server_close_channel(struct vmbus_server *s, const uint8_t *msg)
{
	const struct vmbus_msg_close_channel *c = (const void *)msg;
	struct vmbus_channel *ch;

	ch = server_channel(s, get_le32(&c->child_relid), "CloseChannel");
	if (!ch)
		return;
	if (!chan_is_open(ch) && ch->state != CHAN_BROKEN)
		guest_err("vmbus: close of closed relid %u", ch->relid);
	chan_close(ch); /* a broken channel is closed for good now */
}

static void server_modify_channel(struct vmbus_server *s, const uint8_t *msg)
{
	const struct vmbus_msg_modify_channel *m = (const void *)msg;
	struct vmbus_msg_modify_channel_response rsp = { 0 };
	struct vmbus_channel *ch;
	uint32_t vp = get_le32(&m->target_vp);

	if (s->version < VMBUS_VERSION_WIN10_V4_1) {
		guest_err("vmbus: ModifyChannel needs protocol 4.1");
		return;
	}
	ch = server_channel(s, get_le32(&m->child_relid), "ModifyChannel");
	if (!ch)
		return;
	rsp.hdr.msgtype = VMBUS_MSG_MODIFYCHANNEL_RESPONSE;
	rsp.child_relid = ch->relid;
	if (vp < s->nr_vcpus || vp == VMBUS_VP_NO_INTERRUPT)
		ch->target_vp = vp;
	else
		rsp.status = VMBUS_STATUS_UNSUCCESSFUL;
	if (s->version >= VMBUS_VERSION_WIN10_V5_3)
		server_send(s, &rsp, sizeof(rsp));
}

static void server_relid_released(struct vmbus_server *s, const uint8_t *msg)
{
	const struct vmbus_msg_relid_released *m = (const void *)msg;
	uint32_t relid = get_le32(&m->child_relid);
	struct vmbus_channel *ch = NULL;
	struct vmbus_device *dev;

	if (relid < VMBUS_MAX_RELID)
		ch = s->chans[relid];
	if (!ch || ch->state != CHAN_RESCINDED) {
		guest_err("vmbus: RelidReleased for relid %u not rescinded",
			  relid);
		return;
	}
	dev = ch->dev;
	device_free_channel(ch);
	if (dev->removed && !device_has_channels(dev))
		device_free(dev);
}

static void server_unload(struct vmbus_server *s)
{
	/* A reboot, kexec or panic: the guest may connect again later. */
	pr_info("vmbus: guest unloaded the connection (version %u.%u)",
		s->version >> 16, s->version & 0xffff);
	server_disconnect(s);
	server_send_type(s, VMBUS_MSG_UNLOAD_RESPONSE);
}

/* Minimum payload per message type the guest may send. */
static const uint32_t server_min_len[VMBUS_MSG_COUNT] = {
	[VMBUS_MSG_REQUESTOFFERS] = sizeof(struct vmbus_msg_hdr),
	[VMBUS_MSG_OPENCHANNEL] = sizeof(struct vmbus_msg_open_channel),
	[VMBUS_MSG_CLOSECHANNEL] = sizeof(struct vmbus_msg_close_channel),
	[VMBUS_MSG_GPADL_HEADER] = sizeof(struct vmbus_msg_gpadl_header),
	[VMBUS_MSG_GPADL_BODY] = sizeof(struct vmbus_msg_gpadl_body),
	[VMBUS_MSG_GPADL_TEARDOWN] = sizeof(struct vmbus_msg_gpadl_teardown),
	[VMBUS_MSG_RELID_RELEASED] = sizeof(struct vmbus_msg_relid_released),
	[VMBUS_MSG_INITIATE_CONTACT] =
		sizeof(struct vmbus_msg_initiate_contact),
	[VMBUS_MSG_UNLOAD] = sizeof(struct vmbus_msg_hdr),
	[VMBUS_MSG_TL_CONNECT_REQUEST] = sizeof(struct vmbus_msg_hdr) + 32,
	[VMBUS_MSG_MODIFYCHANNEL] = sizeof(struct vmbus_msg_modify_channel),
};

static void server_dispatch(struct vmbus_server *s, const uint8_t *msg,
			    uint32_t len)
{
	uint32_t type;

	if (len < sizeof(struct vmbus_msg_hdr)) {
		guest_err("vmbus: message of %u bytes", len);
		s->stats.msgs_in_other++;
		goto bad;
	}
	type = get_le32(msg);
	if (type >= VMBUS_MSG_COUNT || !server_min_len[type]) {
		guest_err("vmbus: unexpected message type %u", type);
		s->stats.msgs_in_other++;
		goto bad;
	}
	s->stats.msgs_in[type]++;
	if (len < server_min_len[type]) {
		guest_err("vmbus: message %u truncated (%u < %u bytes)", type,
			  len, server_min_len[type]);
		goto bad;
	}
	if (!s->connected && type != VMBUS_MSG_INITIATE_CONTACT &&
	    type != VMBUS_MSG_UNLOAD) {
		guest_err("vmbus: message %u before InitiateContact", type);
		goto bad;
	}
	switch (type) {
	case VMBUS_MSG_INITIATE_CONTACT:
		server_initiate_contact(s, msg);
		break;
	case VMBUS_MSG_REQUESTOFFERS:
		server_request_offers(s);
		break;
	case VMBUS_MSG_OPENCHANNEL:
		server_open_channel(s, msg);
		break;
	case VMBUS_MSG_CLOSECHANNEL:
		server_close_channel(s, msg);
		break;
	case VMBUS_MSG_GPADL_HEADER:
		chan_gpadl_header(s, msg, len);
		break;
	case VMBUS_MSG_GPADL_BODY:
		chan_gpadl_body(s, msg, len);
		break;
	case VMBUS_MSG_GPADL_TEARDOWN:
		chan_gpadl_teardown(s, msg, len);
		break;
	case VMBUS_MSG_RELID_RELEASED:
		server_relid_released(s, msg);
		break;
	case VMBUS_MSG_UNLOAD:
		server_unload(s);
		break;
	case VMBUS_MSG_MODIFYCHANNEL:
		server_modify_channel(s, msg);
		break;
	case VMBUS_MSG_TL_CONNECT_REQUEST:
		pr_dbg("vmbus: hv_sock connect request ignored");
		break;
	}
	return;
bad:
	s->stats.msgs_rejected++;
}

/* ---- processing thread ---- */

void vmbus_server_process(struct vmbus_server *s)
{
	struct vmbus_wire_msg m;
	unsigned int i, budget = 2 * VMBUS_INBOX_LEN;

	server_drain_fds(s);
	for (;;) {
		pthread_mutex_lock(&s->inbox_lock);
		if (!s->inbox_count || !budget--) {
			bool more = s->inbox_count;

			pthread_mutex_unlock(&s->inbox_lock);
			if (more)
				server_kick(s);
			break;
		}
		m = s->inbox[s->inbox_head];
		s->inbox_head = (s->inbox_head + 1) % VMBUS_INBOX_LEN;
		s->inbox_count--;
		pthread_mutex_unlock(&s->inbox_lock);
		server_dispatch(s, m.data, m.len);
	}
	if (__atomic_exchange_n(&s->scan_int_page, 0, __ATOMIC_SEQ_CST))
		server_scan_int_page(s);
	for (i = 0; i < ARRAY_SIZE(s->pending); i++) {
		uint64_t w = __atomic_exchange_n(&s->pending[i], 0,
						 __ATOMIC_SEQ_CST);

		while (w) {
			uint32_t relid = i * 64 + (uint32_t)__builtin_ctzll(w);
			struct vmbus_channel *ch = s->chans[relid];

			w &= w - 1;
			if (ch && chan_is_open(ch)) {
				ch->signals_in++;
				chan_process(ch);
			}
		}
	}
	server_flush_outbox(s);
	if (s->outbox_count)
		server_kick(s);
}

void vmbus_server_tick(struct vmbus_server *s, uint64_t now_ns)
{
	struct vmbus_device *dev, *next;

	s->now_ns = now_ns;
	for (dev = s->devices; dev; dev = next) {
		next = dev->next;
		if (!dev->removed && dev->p.ops->tick)
			dev->p.ops->tick(dev, now_ns);
	}
	server_flush_outbox(s);
}

void vmbus_server_reset(struct vmbus_server *s)
{
	unsigned int i;

	server_disconnect(s);
	pthread_mutex_lock(&s->inbox_lock);
	s->inbox_count = 0;
	pthread_mutex_unlock(&s->inbox_lock);
	s->outbox_count = 0;
	for (i = 0; i < ARRAY_SIZE(s->pending); i++)
		__atomic_store_n(&s->pending[i], 0, __ATOMIC_SEQ_CST);
}

uint32_t vmbus_server_version(struct vmbus_server *s)
{
	return s->connected ? s->version : 0;
}

bool vmbus_server_has_ref_time(struct vmbus_server *s)
{
	return s->ops.ref_time != NULL;
}

uint64_t vmbus_server_last_tick(struct vmbus_server *s)
{
	return s->now_ns;
}

/* Path names of the guest -> host message types (server_min_len). */
static const char *const server_msg_names[VMBUS_MSG_COUNT] = {
	[VMBUS_MSG_REQUESTOFFERS] = "RequestOffers",
	[VMBUS_MSG_OPENCHANNEL] = "OpenChannel",
	[VMBUS_MSG_CLOSECHANNEL] = "CloseChannel",
	[VMBUS_MSG_GPADL_HEADER] = "GpadlHeader",
	[VMBUS_MSG_GPADL_BODY] = "GpadlBody",
	[VMBUS_MSG_GPADL_TEARDOWN] = "GpadlTeardown",
	[VMBUS_MSG_RELID_RELEASED] = "RelidReleased",
	[VMBUS_MSG_INITIATE_CONTACT] = "InitiateContact",
	[VMBUS_MSG_UNLOAD] = "Unload",
	[VMBUS_MSG_TL_CONNECT_REQUEST] = "TlConnectRequest",
	[VMBUS_MSG_MODIFYCHANNEL] = "ModifyChannel",
};

void vmbus_server_stats_foreach(struct vmbus_server *s, vmbus_stats_fn fn,
				void *opaque)
{
	const struct vmbus_server_stats *st = &s->stats;
	char path[64];
	unsigned int i;

	for (i = 0; i < VMBUS_MSG_COUNT; i++) {
		if (!server_msg_names[i])
			continue;
		snprintf(path, sizeof(path), "vmbus.messages_in.%s",
			 server_msg_names[i]);
		fn(opaque, path, st->msgs_in[i]);
	}
	fn(opaque, "vmbus.messages_in.other", st->msgs_in_other);
	fn(opaque, "vmbus.messages_rejected", st->msgs_rejected);
	fn(opaque, "vmbus.messages_inbox_full",
	   __atomic_load_n(&st->inbox_full, __ATOMIC_RELAXED));
	fn(opaque, "vmbus.messages_out", st->msgs_out);
	fn(opaque, "vmbus.messages_out_dropped", st->msgs_out_dropped);
	fn(opaque, "vmbus.signals_in",
	   __atomic_load_n(&st->signals_in, __ATOMIC_RELAXED));
	fn(opaque, "vmbus.signals_in_fd", st->signals_in_fd);
	fn(opaque, "vmbus.interrupts_out", st->interrupts_out);
	fn(opaque, "vmbus.packets_in", st->packets_in);
	fn(opaque, "vmbus.packets_out", st->packets_out);
	fn(opaque, "vmbus.channels_broken", st->channels_broken);
}

int vmbus_server_fd(struct vmbus_server *s)
{
	return s->epfd;
}

/* ---- lifecycle ---- */

int vmbus_server_create(const struct vmbus_server_params *p,
			struct vmbus_server **out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct vmbus_server *s;
	unsigned int i;
	int r;

	if (!p->gm || !p->ops || !p->nr_vcpus || !p->ops->post_message ||
	    !p->ops->signal_event || !p->ops->register_message ||
	    !p->ops->register_event)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->gm = p->gm;
	s->nr_vcpus = p->nr_vcpus;
	s->ops = *p->ops;
	s->max_version = p->max_version ? p->max_version :
					  VMBUS_VERSION_WIN10_V5_3;
	s->msg_sint = VMBUS_MESSAGE_SINT;
	pthread_mutex_init(&s->inbox_lock, NULL);
	for (i = 0; i < ARRAY_SIZE(s->slots); i++)
		s->slots[i].efd = -1;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		r = -errno;
		goto err_free;
	}
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->efd, &ev) < 0) {
		r = -errno;
		goto err_close;
	}
	s->slots[0].srv = s;
	r = s->ops.register_message(s->ops.opaque, VMBUS_MESSAGE_CONNECTION_ID,
				    server_on_message, s);
	if (!r)
		r = s->ops.register_message(s->ops.opaque,
					    VMBUS_MESSAGE_CONNECTION_ID_4,
					    server_on_message, s);
	if (!r)
		r = s->ops.register_event(s->ops.opaque,
					  VMBUS_EVENT_CONNECTION_ID,
					  server_on_event, &s->slots[0]);
	if (r)
		goto err_close;
	*out = s;
	return 0;

err_close:
	if (s->efd >= 0)
		close(s->efd);
	close(s->epfd);
err_free:
	pthread_mutex_destroy(&s->inbox_lock);
	free(s);
	return r;
}

void vmbus_server_destroy(struct vmbus_server *s)
{
	unsigned int i;

	if (!s)
		return;
	while (s->devices)
		device_free(s->devices); /* closes: signals unrouted */
	chan_gpadl_drop(s, 0);
	/* Unroute before closing: nothing may still signal a closed fd. */
	for (i = 0; i < ARRAY_SIZE(s->slots); i++) {
		if (s->slots[i].efd < 0)
			continue;
		server_slot_route(s, i, false);
		close(s->slots[i].efd);
	}
	close(s->epfd);
	close(s->efd);
	pthread_mutex_destroy(&s->inbox_lock);
	free(s);
}
