// SPDX-License-Identifier: MIT
/*
 * Unit tests: the VMBus channel-management server (vmbus/server.c,
 * channel.c). Replays Linux hv_vmbus's message sequence against a fake
 * SynIC, plus malformed, truncated, out-of-order and replayed messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>

#include "test_vmbus_guest.h"
#include "test_stats_find.h"

#define VB_STAT(t, path) STAT_FIND(vmbus_server_stats_foreach, (t)->srv, path)

/* Instance GUIDs of the echo devices. */
#define ECHO_A "11111111-2222-3333-4444-555555555555"
#define ECHO_B "11111111-2222-3333-4444-666666666666"
#define ECHO_C "11111111-2222-3333-4444-777777777777"

/* An echo VSP: answers every inband packet with a COMP of the same data. */
struct echo {
	unsigned int opens, closes, packets, readies;
	unsigned int eagain; /* packet() answers -EAGAIN this many times */
	int open_rc;
	int subchannels; /* offer this many on first open */
	struct vmbus_device *dev;
	struct vmbus_channel *ch; /* last opened */
	bool destroyed;
};

static int echo_open(struct vmbus_channel *ch, const uint8_t *ud)
{
	struct echo *e = vmbus_device_priv(vmbus_channel_device(ch));

	e->opens++;
	e->ch = ch;
	return e->open_rc;
}

static void echo_ready(struct vmbus_channel *ch)
{
	struct echo *e = vmbus_device_priv(vmbus_channel_device(ch));

	e->readies++;
	if (e->subchannels && !vmbus_channel_subidx(ch))
		assert_int_equal(vmbus_device_offer_subchannels(e->dev,
								e->subchannels),
				 0);
}

static int echo_packet(struct vmbus_channel *ch, const struct vmbus_packet *pkt)
{
	struct echo *e = vmbus_device_priv(vmbus_channel_device(ch));

	e->packets++;
	if (e->eagain) {
		e->eagain--;
		return -EAGAIN;
	}
	return vmbus_channel_send(ch, VMBUS_PKT_COMP, 0, pkt->trans_id,
				  pkt->data, pkt->data_len);
}

static void echo_close(struct vmbus_channel *ch)
{
	struct echo *e = vmbus_device_priv(vmbus_channel_device(ch));

	e->closes++;
}

static void echo_destroy(struct vmbus_device *dev)
{
	struct echo *e = vmbus_device_priv(dev);

	e->destroyed = true;
}

static const struct vmbus_device_ops echo_ops = {
	.open = echo_open,
	.ready = echo_ready,
	.packet = echo_packet,
	.close = echo_close,
	.destroy = echo_destroy,
};

static void echo_add(struct tg *t, struct echo *e, const char *instance)
{
	struct vmbus_device_params p = { 0 };

	p.name = "echo";
	assert_int_equal(
		vmbus_guid_parse("ba6163d9-04a1-4d29-b605-72e2ffb1dc7f",
				 p.class_id),
		0);
	assert_int_equal(vmbus_guid_parse(instance, p.instance_id), 0);
	p.ops = &echo_ops;
	p.priv = e;
	assert_int_equal(vmbus_device_add(t->srv, &p, &e->dev), 0);
}

/*
 * The fixture most tests start from, on a server from tg_init*(): echo
 * device @e (ECHO_A) as relid 1, Linux connected (tg_connect()), and relid
 * 1 open as @c with one-page rings.
 */
static void echo_up(struct tg *t, struct echo *e, struct tg_chan *c)
{
	echo_add(t, e, ECHO_A);
	tg_connect(t);
	tg_open(t, c, 1, 2, 2);
}

static void roundtrip(struct tg *t, struct tg_chan *c, uint64_t tid)
{
	struct vmbus_pkt_desc d;
	uint8_t buf[64] = "hello vmbus", out[64];
	unsigned int sigs = t->nsigs;

	assert_int_equal(tg_write(&c->out, VMBUS_PKT_DATA_INBAND, tid, buf, 40),
			 0);
	tg_signal_conn(t, VMBUS_CHANNEL_CONN_BASE + c->relid);
	assert_int_equal(tg_read(&c->in, &d, out, sizeof(out)), 40);
	assert_int_equal(d.type, VMBUS_PKT_COMP);
	assert_int_equal(d.trans_id, tid);
	assert_memory_equal(out, buf, 40);
	/* The host signalled the guest: relid bit on the channel's VP. */
	assert_int_equal(t->nsigs, sigs + 1);
	assert_int_equal(t->sigs[sigs].flag, c->relid);
	/* The host consumed the guest's packet. */
	assert_int_equal(c->out.ctrl->read_index, c->out.ctrl->write_index);
}

static void test_server_version_negotiation(void **state)
{
	static const uint32_t good[] = {
		VMBUS_VERSION_WS2008,	  VMBUS_VERSION_WIN7,
		VMBUS_VERSION_WIN8,	  VMBUS_VERSION_WIN8_1,
		VMBUS_VERSION_WIN10,	  VMBUS_VERSION_WIN10_V4_1,
		VMBUS_VERSION_WIN10_V5,	  VMBUS_VERSION_WIN10_V5_1,
		VMBUS_VERSION_WIN10_V5_2, VMBUS_VERSION_WIN10_V5_3,
	};
	struct tg t;
	unsigned int i;

	tg_init(&t, 2);
	/* Unknown versions are refused; Linux then tries the next one. */
	tg_contact(&t, VMBUS_MAKE_VERSION(6, 0), 2, false);
	tg_contact(&t, VMBUS_MAKE_VERSION(5, 4), 2, false);
	tg_contact(&t, VMBUS_MAKE_VERSION(0, 12), 2, false);
	assert_int_equal(vmbus_server_version(t.srv), 0);
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		tg_contact(&t, good[i], 5, true);
		assert_int_equal(vmbus_server_version(t.srv), good[i]);
		tg_simple(&t, VMBUS_MSG_UNLOAD);
		tg_expect(&t, VMBUS_MSG_UNLOAD_RESPONSE);
		assert_int_equal(vmbus_server_version(t.srv), 0);
	}
	/* v5 uses the SINT from the message; older ones SINT 2. */
	tg_contact(&t, VMBUS_VERSION_WIN10_V5_3, 7, true);
	assert_int_equal(t.msgs[t.msg_rd - 1].sint, 7);
	tg_simple(&t, VMBUS_MSG_UNLOAD);
	assert_int_equal(t.msgs[t.msg_rd].sint, 7);
	tg_expect(&t, VMBUS_MSG_UNLOAD_RESPONSE);
	tg_contact(&t, VMBUS_VERSION_WIN8, 7, true);
	assert_int_equal(t.msgs[t.msg_rd - 1].sint, VMBUS_MESSAGE_SINT);
	tg_fini(&t);
}

static void test_server_contact_validates(void **state)
{
	struct vmbus_msg_initiate_contact c = { 0 };
	const struct vmbus_msg_version_response *r;
	struct tg t;

	tg_init(&t, 1);
	c.hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT;
	c.version_requested = VMBUS_VERSION_WIN10_V5_3;
	c.target_vcpu = 3; /* no such VP */
	c.msg_sint = 2;
	tg_send(&t, &c, sizeof(c));
	r = (const void *)tg_expect(&t, VMBUS_MSG_VERSION_RESPONSE);
	assert_int_equal(r->version_supported, 0);
	c.target_vcpu = 0;
	c.msg_sint = 16; /* no such SINT */
	tg_send(&t, &c, sizeof(c));
	r = (const void *)tg_expect(&t, VMBUS_MSG_VERSION_RESPONSE);
	assert_int_equal(r->version_supported, 0);
	/* WIN7 needs an interrupt page in RAM. */
	c.version_requested = VMBUS_VERSION_WIN7;
	c.interrupt_page = 1ULL << 40;
	tg_send(&t, &c, sizeof(c));
	r = (const void *)tg_expect(&t, VMBUS_MSG_VERSION_RESPONSE);
	assert_int_equal(r->version_supported, 0);
	assert_int_equal(vmbus_server_version(t.srv), 0);
	tg_fini(&t);
}

static void test_server_linux_sequence(void **state)
{
	struct vmbus_msg_offer_channel offers[4];
	struct echo e1 = { 0 }, e2 = { 0 };
	struct tg_chan c;
	uint8_t guid[16];
	struct tg t;
	const struct vmbus_msg_gpadl_torndown *td;

	tg_init(&t, 2);
	echo_add(&t, &e1, ECHO_A);
	echo_add(&t, &e2, ECHO_B);
	tg_contact(&t, VMBUS_VERSION_WIN10_V5_3, VMBUS_MESSAGE_SINT, true);
	assert_int_equal(tg_request_offers(&t, offers, 4), 2);
	assert_int_equal(offers[0].child_relid, 1);
	assert_int_equal(offers[1].child_relid, 2);
	assert_int_equal(offers[0].connection_id, VMBUS_CHANNEL_CONN_BASE + 1);
	assert_int_equal(offers[0].monitor_allocated, 0);
	assert_int_equal(offers[0].sub_channel_index, 0);
	vmbus_guid_parse("ba6163d9-04a1-4d29-b605-72e2ffb1dc7f", guid);
	assert_memory_equal(offers[0].if_type, guid, 16);
	/* Windows byte order: first field little-endian. */
	assert_int_equal(offers[0].if_type[0], 0xd9);
	assert_int_equal(offers[0].if_type[3], 0xba);
	assert_int_equal(offers[1].if_instance[15], 0x66);

	/* 40 ring pages: a GPADL header and a body message. */
	tg_open(&t, &c, 1, 20, 20);
	assert_int_equal(e1.opens, 1);
	assert_int_equal(e1.readies, 1);
	roundtrip(&t, &c, 0x1001);
	roundtrip(&t, &c, 0x1002);
	assert_int_equal(e1.packets, 2);

	tg_close(&t, 1);
	assert_int_equal(e1.closes, 1);
	tg_teardown(&t, 1, c.gpadl);
	td = (const void *)tg_expect(&t, VMBUS_MSG_GPADL_TORNDOWN);
	assert_int_equal(td->gpadl, c.gpadl);

	/* Reopen after close, then unload (kexec) and reconnect. */
	tg_open(&t, &c, 1, 4, 4);
	roundtrip(&t, &c, 7);
	tg_simple(&t, VMBUS_MSG_UNLOAD);
	tg_expect(&t, VMBUS_MSG_UNLOAD_RESPONSE);
	assert_int_equal(e1.closes, 2);
	assert_int_equal(tg_pending(&t), 0);
	tg_contact(&t, VMBUS_VERSION_WIN10_V5_2, VMBUS_MESSAGE_SINT, true);
	assert_int_equal(tg_request_offers(&t, offers, 4), 2);
	/* The old GPADL is gone with the old connection. */
	assert_int_not_equal(tg_open_msg(&t, 1, c.gpadl, 4, 0), 0);
	tg_open(&t, &c, 1, 4, 4);
	roundtrip(&t, &c, 8);
	tg_fini(&t);
	assert_true(e1.destroyed);
	assert_int_equal(e1.closes, 3);
}

static void test_server_teardown_deferred_while_open(void **state)
{
	struct echo e = { 0 };
	struct tg_chan c;
	struct tg t;

	tg_init(&t, 1);
	echo_add(&t, &e, ECHO_A);
	tg_contact(&t, VMBUS_VERSION_WIN10, 2, true);
	tg_request_offers(&t, NULL, 0);
	tg_open(&t, &c, 1, 2, 2);
	tg_teardown(&t, 1, c.gpadl);
	assert_int_equal(tg_pending(&t), 0); /* still the ring */
	tg_close(&t, 1);
	tg_expect(&t, VMBUS_MSG_GPADL_TORNDOWN);
	tg_fini(&t);
}

static void test_server_rejects_malformed(void **state)
{
	static const uint32_t types[] = {
		VMBUS_MSG_OPENCHANNEL,	    VMBUS_MSG_CLOSECHANNEL,
		VMBUS_MSG_GPADL_HEADER,	    VMBUS_MSG_GPADL_BODY,
		VMBUS_MSG_GPADL_TEARDOWN,   VMBUS_MSG_RELID_RELEASED,
		VMBUS_MSG_INITIATE_CONTACT, VMBUS_MSG_MODIFYCHANNEL,
	};
	uint8_t msg[VMBUS_MAX_MESSAGE_SIZE] = { 0 };
	struct echo e = { 0 };
	struct tg_chan c;
	struct tg t;
	unsigned int i;
	uint64_t pfns[4];
	uint32_t h;

	tg_init(&t, 1);
	echo_add(&t, &e, ECHO_A);
	/* Before InitiateContact nothing but contact/unload is accepted. */
	tg_simple(&t, VMBUS_MSG_REQUESTOFFERS);
	assert_int_equal(tg_pending(&t), 0);
	/* Oversized and empty messages. */
	assert_int_equal(tg_post_raw(&t, 1, msg, 241),
			 VMBUS_HV_STATUS_INVALID_PARAMETER);
	assert_int_equal(tg_post_raw(&t, 1, msg, 0), 0);
	assert_int_equal(tg_post_raw(&t, 1, msg, 3), 0);
	tg_connect(&t);
	/* Replayed RequestOffers: no duplicate offers. */
	tg_simple(&t, VMBUS_MSG_REQUESTOFFERS);
	assert_int_equal(tg_pending(&t), 0);
	/* Every type truncated by one byte: ignored. */
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		uint32_t full = types[i] == VMBUS_MSG_OPENCHANNEL ? 148 : 12;

		memset(msg, 0, sizeof(msg));
		put_le32(msg, types[i]);
		if (types[i] == VMBUS_MSG_GPADL_HEADER)
			full = 20;
		if (types[i] == VMBUS_MSG_GPADL_BODY ||
		    types[i] == VMBUS_MSG_GPADL_TEARDOWN ||
		    types[i] == VMBUS_MSG_MODIFYCHANNEL)
			full = 16;
		if (types[i] == VMBUS_MSG_INITIATE_CONTACT)
			full = 40;
		tg_send(&t, msg, full - 1);
		assert_int_equal(tg_pending(&t), 0);
	}
	/* Unknown and host-only message types. */
	put_le32(msg, 99);
	tg_send(&t, msg, 16);
	put_le32(msg, VMBUS_MSG_OFFERCHANNEL);
	tg_send(&t, msg, 196);
	put_le32(msg, VMBUS_MSG_VERSION_RESPONSE);
	tg_send(&t, msg, 16);
	assert_int_equal(tg_pending(&t), 0);
	/* OpenChannel / CloseChannel for relids never offered. */
	assert_int_equal(tg_pending(&t), 0);
	{
		struct vmbus_msg_open_channel o = { 0 };

		o.hdr.msgtype = VMBUS_MSG_OPENCHANNEL;
		o.child_relid = 77;
		tg_send(&t, &o, sizeof(o));
		o.child_relid = 0xffffffff;
		tg_send(&t, &o, sizeof(o));
		assert_int_equal(tg_pending(&t), 0);
	}
	tg_close(&t, 5000);
	/* GPADL pages outside RAM: creation fails. */
	pfns[0] = 0x100;
	pfns[1] = (TG_RAM >> 12); /* one past the end */
	h = tg_gpadl_pfns(&t, 1, pfns, 2, 8192);
	assert_int_not_equal(tg_expect_gpadl_created(&t, h), 0);
	pfns[1] = ~0ULL;
	h = tg_gpadl_pfns(&t, 1, pfns, 2, 8192);
	assert_int_not_equal(tg_expect_gpadl_created(&t, h), 0);
	/* Byte count that needs more pfns than supplied. */
	pfns[1] = 0x101;
	h = tg_gpadl_pfns(&t, 1, pfns, 2, 3 * 4096);
	assert_int_not_equal(tg_expect_gpadl_created(&t, h), 0);
	/* More ranges than the range buffer can hold. */
	memset(msg, 0, sizeof(msg));
	put_le32(msg, VMBUS_MSG_GPADL_HEADER);
	put_le32(msg + 8, 1);
	put_le32(msg + 12, 0x7777);
	put_le16(msg + 16, 16);
	put_le16(msg + 18, 2);
	tg_send(&t, msg, 36);
	assert_int_not_equal(tg_expect_gpadl_created(&t, 0x7777), 0);
	/* GPADL for a relid that does not exist. */
	h = tg_gpadl_pfns(&t, 99, pfns, 2, 8192);
	assert_int_not_equal(tg_expect_gpadl_created(&t, h), 0);
	/* Body for an unknown GPADL, teardown of an unknown GPADL. */
	memset(msg, 0, sizeof(msg));
	put_le32(msg, VMBUS_MSG_GPADL_BODY);
	put_le32(msg + 12, 0xdead);
	tg_send(&t, msg, 24);
	tg_teardown(&t, 1, 0xdead);
	assert_int_equal(tg_pending(&t), 0);
	/* Duplicate handle: the second header is refused. */
	h = tg_gpadl(&t, 1, tg_alloc_pages(&t, 4), 4);
	assert_int_equal(tg_expect_gpadl_created(&t, h), 0);
	t.next_gpadl = h;
	assert_int_not_equal(
		tg_expect_gpadl_created(&t, tg_gpadl(&t, 1, 0x1000, 4)), 0);
	/* Open with bad ring layouts, unknown GPADL: OpenResult failure. */
	assert_int_not_equal(tg_open_msg(&t, 1, 0x4242, 2, 0), 0);
	assert_int_not_equal(tg_open_msg(&t, 1, h, 1, 0), 0);
	assert_int_not_equal(tg_open_msg(&t, 1, h, 3, 0), 0);
	assert_int_not_equal(tg_open_msg(&t, 1, h, 0xffffffff, 0), 0);
	assert_int_not_equal(tg_open_msg(&t, 1, h, 2, 9), 0); /* bad VP */
	assert_int_equal(e.opens, 0);
	/* A VSP that refuses the open. */
	e.open_rc = -EIO;
	assert_int_not_equal(tg_open_msg(&t, 1, h, 2, 0), 0);
	e.open_rc = 0;
	/* The server still works: a proper open and round trip. */
	tg_open(&t, &c, 1, 2, 2);
	roundtrip(&t, &c, 1);
	/* Opened twice: refused, the open channel keeps working. */
	assert_int_not_equal(tg_open_msg(&t, 1, c.gpadl, 2, 0), 0);
	roundtrip(&t, &c, 2);
	tg_fini(&t);
}

static void test_server_replayed_contact_resets(void **state)
{
	struct echo e = { 0 };
	struct tg_chan c;
	struct tg t;

	tg_init(&t, 1);
	echo_up(&t, &e, &c);
	/* Guest rebooted without Unload: a new InitiateContact. */
	tg_contact(&t, VMBUS_VERSION_WIN10_V5_3, 2, true);
	assert_int_equal(e.closes, 1);
	assert_int_equal(tg_request_offers(&t, NULL, 0), 1);
	tg_open(&t, &c, 1, 2, 2);
	roundtrip(&t, &c, 3);
	tg_fini(&t);
}

static void test_server_ring_corruption_closes_channel(void **state)
{
	struct echo e = { 0 };
	struct tg_chan c;
	struct tg t;

	tg_init(&t, 1);
	echo_up(&t, &e, &c);
	c.out.ctrl->write_index = 0x10000; /* beyond the 4 KiB ring */
	tg_signal_conn(&t, VMBUS_CHANNEL_CONN_BASE + 1);
	assert_int_equal(e.closes, 1);
	assert_int_equal(e.packets, 0);
	/* More signals are ignored; the guest's close is accepted. */
	tg_signal_conn(&t, VMBUS_CHANNEL_CONN_BASE + 1);
	tg_close(&t, 1);
	assert_int_equal(e.closes, 1);
	tg_teardown(&t, 1, c.gpadl);
	tg_expect(&t, VMBUS_MSG_GPADL_TORNDOWN);
	/* Packet length beyond the written data. */
	tg_open(&t, &c, 1, 2, 2);
	{
		uint8_t b[16] = { 0 };
		struct vmbus_pkt_desc *d = (void *)c.out.data;

		assert_int_equal(
			tg_write(&c.out, VMBUS_PKT_DATA_INBAND, 1, b, 16), 0);
		d->len8 = 100;
	}
	tg_signal_conn(&t, VMBUS_CHANNEL_CONN_BASE + 1);
	assert_int_equal(e.closes, 2);
	assert_int_equal(e.packets, 0);
	tg_fini(&t);
}

/* A VSP's -EAGAIN leaves the packet in the ring until it kicks. */
static void test_server_backpressure_kick(void **state)
{
	const uint32_t conn1 = VMBUS_CHANNEL_CONN_BASE + 1;
	struct vmbus_pkt_desc d;
	struct echo e = { 0 };
	uint8_t out[64];
	struct tg_chan c;
	struct tg t;

	tg_init(&t, 1);
	echo_up(&t, &e, &c);
	e.eagain = 1;
	assert_int_equal(
		tg_write(&c.out, VMBUS_PKT_DATA_INBAND, 1, "stalled!", 8), 0);
	tg_signal_conn(&t, conn1);
	assert_int_equal(e.packets, 1);
	assert_int_not_equal(c.out.ctrl->read_index, c.out.ctrl->write_index);
	/* Stalled: more signals do not hand it over again. */
	tg_signal_conn(&t, conn1);
	assert_int_equal(e.packets, 1);
	/* Still open: a second OpenChannel is refused. */
	assert_int_not_equal(tg_open_msg(&t, 1, c.gpadl, 2, 0), 0);
	/* The kick: handed over again and answered. */
	vmbus_channel_kick(e.ch);
	vmbus_server_process(t.srv);
	assert_int_equal(e.packets, 2);
	assert_int_equal(tg_read(&c.in, &d, out, sizeof(out)), 8);
	assert_int_equal(d.trans_id, 1);
	assert_int_equal(c.out.ctrl->read_index, c.out.ctrl->write_index);
	/* A stalled channel closes like an open one and reopens unstalled. */
	e.eagain = 1;
	assert_int_equal(
		tg_write(&c.out, VMBUS_PKT_DATA_INBAND, 2, "stalled!", 8), 0);
	tg_signal_conn(&t, conn1);
	assert_int_equal(e.packets, 3);
	tg_close(&t, 1);
	assert_int_equal(e.closes, 1);
	tg_teardown(&t, 1, c.gpadl);
	tg_expect(&t, VMBUS_MSG_GPADL_TORNDOWN);
	tg_open(&t, &c, 1, 2, 2);
	roundtrip(&t, &c, 3);
	tg_fini(&t);
}

static void test_server_rescind_and_release(void **state)
{
	struct vmbus_msg_offer_channel o[2];
	struct vmbus_msg_relid_released rel = { 0 };
	const struct vmbus_msg_rescind_offer *r;
	struct echo e1 = { 0 }, e2 = { 0 };
	struct tg_chan c;
	struct tg t;

	tg_init(&t, 1);
	echo_up(&t, &e1, &c);
	vmbus_device_remove(e1.dev);
	assert_int_equal(e1.closes, 1);
	r = (const void *)tg_expect(&t, VMBUS_MSG_RESCIND_CHANNELOFFER);
	assert_int_equal(r->child_relid, 1);
	assert_false(e1.destroyed);
	/* Messages for the rescinded relid are ignored. */
	{
		struct vmbus_msg_open_channel op = { 0 };

		op.hdr.msgtype = VMBUS_MSG_OPENCHANNEL;
		op.child_relid = 1;
		op.ringbuffer_gpadl = c.gpadl;
		op.downstream_page_offset = 2;
		tg_send(&t, &op, sizeof(op));
		assert_int_equal(tg_pending(&t), 0);
		assert_int_equal(e1.opens, 1);
	}
	rel.hdr.msgtype = VMBUS_MSG_RELID_RELEASED;
	rel.child_relid = 1;
	tg_send(&t, &rel, sizeof(rel));
	assert_true(e1.destroyed);
	/* Releasing again is harmless. */
	tg_send(&t, &rel, sizeof(rel));
	/* Hot-add: offered at once, reusing relid 1. */
	echo_add(&t, &e2, ECHO_C);
	memcpy(&o[0], tg_expect(&t, VMBUS_MSG_OFFERCHANNEL), sizeof(o[0]));
	assert_int_equal(o[0].child_relid, 1);
	tg_open(&t, &c, 1, 2, 2);
	roundtrip(&t, &c, 5);
	tg_fini(&t);
}

static void test_server_subchannels(void **state)
{
	struct vmbus_msg_offer_channel o[3];
	struct echo e = { .subchannels = 2 };
	struct tg_chan c, s1;
	struct tg t;

	tg_init(&t, 4);
	echo_add(&t, &e, ECHO_A);
	tg_contact(&t, VMBUS_VERSION_WIN10_V5_3, 2, true);
	assert_int_equal(tg_request_offers(&t, o, 1), 1);
	tg_open(&t, &c, 1, 2, 2);
	/* The VSP offered two sub-channels with the same GUIDs. */
	memcpy(&o[1], tg_expect(&t, VMBUS_MSG_OFFERCHANNEL), sizeof(o[1]));
	memcpy(&o[2], tg_expect(&t, VMBUS_MSG_OFFERCHANNEL), sizeof(o[2]));
	assert_int_equal(o[1].sub_channel_index, 1);
	assert_int_equal(o[2].sub_channel_index, 2);
	assert_memory_equal(o[1].if_type, o[0].if_type, 16);
	assert_memory_equal(o[2].if_instance, o[0].if_instance, 16);
	memset(&s1, 0, sizeof(s1));
	s1.relid = o[1].child_relid;
	s1.gpa = tg_alloc_pages(&t, 4);
	s1.gpadl = tg_gpadl(&t, s1.relid, s1.gpa, 4);
	assert_int_equal(tg_expect_gpadl_created(&t, s1.gpadl), 0);
	s1.out.ctrl = (void *)(t.fg.ram + s1.gpa);
	s1.out.data = t.fg.ram + s1.gpa + 4096;
	s1.out.size = 4096;
	s1.in.ctrl = (void *)(t.fg.ram + s1.gpa + 8192);
	s1.in.data = t.fg.ram + s1.gpa + 12288;
	s1.in.size = 4096;
	assert_int_equal(tg_open_msg(&t, s1.relid, s1.gpadl, 2, 3), 0);
	roundtrip(&t, &s1, 9);
	assert_int_equal(t.sigs[t.nsigs - 1].vp, 3); /* target VP */
	/* Unload forgets the sub-channels; reconnect offers the primary. */
	tg_simple(&t, VMBUS_MSG_UNLOAD);
	tg_expect(&t, VMBUS_MSG_UNLOAD_RESPONSE);
	assert_int_equal(tg_connect(&t), 1);
	tg_fini(&t);
}

static void old_protocol_signalling(bool sigfd)
{
	struct vmbus_msg_initiate_contact ic = { 0 };
	struct echo e = { 0 };
	struct tg_chan c;
	struct tg t;
	uint64_t *recv_bits, *send_bits, intpage;

	tg_init_opts(&t, 1, false, false, sigfd);
	echo_add(&t, &e, ECHO_A);
	intpage = tg_alloc_pages(&t, 1);
	ic.hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT;
	ic.version_requested = VMBUS_VERSION_WS2008;
	ic.interrupt_page = intpage;
	tg_send(&t, &ic, sizeof(ic));
	assert_int_equal(((const struct vmbus_msg_version_response *)tg_expect(
				  &t, VMBUS_MSG_VERSION_RESPONSE))
				 ->version_supported,
			 1);
	tg_request_offers(&t, NULL, 0);
	tg_open(&t, &c, 1, 2, 2);
	recv_bits = (uint64_t *)(t.fg.ram + intpage);
	send_bits = (uint64_t *)(t.fg.ram + intpage + 2048);
	/* WS2008: relid bit in the send half, signal on connection 2. */
	assert_int_equal(
		tg_write(&c.out, VMBUS_PKT_DATA_INBAND, 1, "abcdefgh", 8), 0);
	send_bits[0] |= 1ULL << 1;
	tg_signal_conn(&t, VMBUS_EVENT_CONNECTION_ID);
	assert_int_equal(e.packets, 1);
	assert_int_equal(send_bits[0], 0);
	/* Host -> guest: relid bit in the receive half, SIEF flag 0. */
	assert_int_equal(recv_bits[0], 1ULL << 1);
	assert_int_equal(t.sigs[t.nsigs - 1].flag, 0);
	/* Sub-channels need WIN8. */
	assert_int_equal(vmbus_device_offer_subchannels(e.dev, 1), -EOPNOTSUPP);
	/* A channel signal in the old protocol (per-channel connections). */
	assert_int_equal(
		tg_write(&c.out, VMBUS_PKT_DATA_INBAND, 2, "abcdefgh", 8), 0);
	tg_signal_port(&t, VMBUS_CHANNEL_CONN_BASE + 1);
	assert_int_equal(e.packets, 2);
	assert_int_equal(VB_STAT(&t, "vmbus.signals_in_fd"), sigfd ? 1 : 0);
	tg_fini(&t);
}

static void test_server_old_protocol_signalling(void **state)
{
	old_protocol_signalling(false);
	/* The routed eventfds change nothing for connection 2. */
	old_protocol_signalling(true);
}

static void test_server_modify_channel(void **state)
{
	struct vmbus_msg_modify_channel m = { 0 };
	const struct vmbus_msg_modify_channel_response *r;
	struct echo e = { 0 };
	struct tg_chan c;
	struct tg t;

	tg_init(&t, 2);
	echo_up(&t, &e, &c);
	m.hdr.msgtype = VMBUS_MSG_MODIFYCHANNEL;
	m.child_relid = 1;
	m.target_vp = 1;
	tg_send(&t, &m, sizeof(m));
	r = (const void *)tg_expect(&t, VMBUS_MSG_MODIFYCHANNEL_RESPONSE);
	assert_int_equal(r->status, 0);
	roundtrip(&t, &c, 1);
	assert_int_equal(t.sigs[t.nsigs - 1].vp, 1);
	m.target_vp = 9;
	tg_send(&t, &m, sizeof(m));
	r = (const void *)tg_expect(&t, VMBUS_MSG_MODIFYCHANNEL_RESPONSE);
	assert_int_not_equal(r->status, 0);
	/* "No interrupt": the guest polls, the host never signals. */
	m.target_vp = VMBUS_VP_NO_INTERRUPT;
	tg_send(&t, &m, sizeof(m));
	r = (const void *)tg_expect(&t, VMBUS_MSG_MODIFYCHANNEL_RESPONSE);
	assert_int_equal(r->status, 0);
	{
		struct vmbus_pkt_desc d;
		uint8_t out[64];
		unsigned int sigs = t.nsigs;

		assert_int_equal(tg_write(&c.out, VMBUS_PKT_DATA_INBAND, 2,
					  "12345678", 8),
				 0);
		tg_signal_conn(&t, VMBUS_CHANNEL_CONN_BASE + 1);
		assert_int_equal(tg_read(&c.in, &d, out, sizeof(out)), 8);
		assert_int_equal(t.nsigs, sigs);
	}
	tg_fini(&t);
}

static void test_server_inbox_full_and_outbox_retry(void **state)
{
	struct vmbus_msg_hdr h = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
	struct tg t;
	unsigned int i;
	uint16_t st = 0;

	tg_init(&t, 1);
	tg_contact(&t, VMBUS_VERSION_WIN10_V5_3, 2, true);
	/* Post without the processing thread running: the inbox fills. */
	for (i = 0; i < 100 && !st; i++)
		st = t.h[0].msg(t.h[0].arg, 0, 1, &h, sizeof(h));
	assert_int_equal(st, VMBUS_HV_STATUS_INSUFFICIENT_BUFFERS);
	assert_int_equal(i, 65);
	/* SynIC slot busy: the server retries on the next pass. */
	t.post_eagain = 3;
	vmbus_server_process(t.srv);
	assert_int_equal(tg_pending(&t), 0);
	vmbus_server_process(t.srv);
	vmbus_server_process(t.srv);
	vmbus_server_process(t.srv);
	tg_expect(&t, VMBUS_MSG_ALLOFFERS_DELIVERED);
	tg_fini(&t);
}

/* The counters behind ctl "stats" follow a Linux session. */
static void test_server_stats_foreach(void **state)
{
	struct vmbus_msg_hdr h = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
	uint8_t junk[16] = { 99 };
	struct echo e = { 0 };
	struct tg_chan c;
	struct tg t;
	unsigned int i;

	tg_init(&t, 1);
	echo_add(&t, &e, ECHO_A);
	assert_int_equal(VB_STAT(&t, "vmbus.messages_in.InitiateContact"), 0);
	tg_connect(&t);
	tg_open(&t, &c, 1, 2, 2);
	roundtrip(&t, &c, 1);
	roundtrip(&t, &c, 2);
	assert_int_equal(VB_STAT(&t, "vmbus.messages_in.InitiateContact"), 1);
	assert_int_equal(VB_STAT(&t, "vmbus.messages_in.RequestOffers"), 1);
	assert_int_equal(VB_STAT(&t, "vmbus.messages_in.GpadlHeader"), 1);
	assert_int_equal(VB_STAT(&t, "vmbus.messages_in.OpenChannel"), 1);
	assert_int_equal(VB_STAT(&t, "vmbus.messages_in.Unload"), 0);
	/* VersionResponse, offer, AllOffersDelivered, GpadlCreated, Open. */
	assert_int_equal(VB_STAT(&t, "vmbus.messages_out"), 5);
	assert_int_equal(VB_STAT(&t, "vmbus.messages_out_dropped"), 0);
	assert_int_equal(VB_STAT(&t, "vmbus.packets_in"), 2);
	assert_int_equal(VB_STAT(&t, "vmbus.packets_out"), 2);
	assert_int_equal(VB_STAT(&t, "vmbus.signals_in"), 2);
	assert_int_equal(VB_STAT(&t, "vmbus.interrupts_out"), t.nsigs);
	assert_int_equal(VB_STAT(&t, "vmbus.messages_rejected"), 0);

	/* Short, unknown type, truncated OpenChannel: rejected. */
	tg_post_raw(&t, t.conn_id, junk, 2);
	tg_post_raw(&t, t.conn_id, junk, sizeof(junk));
	junk[0] = VMBUS_MSG_OPENCHANNEL;
	tg_post_raw(&t, t.conn_id, junk, sizeof(junk));
	assert_int_equal(VB_STAT(&t, "vmbus.messages_in.other"), 2);
	assert_int_equal(VB_STAT(&t, "vmbus.messages_in.OpenChannel"), 2);
	assert_int_equal(VB_STAT(&t, "vmbus.messages_rejected"), 3);

	/* Ring corruption closes the channel. */
	c.out.ctrl->write_index = 0x10000;
	tg_signal_conn(&t, VMBUS_CHANNEL_CONN_BASE + 1);
	assert_int_equal(VB_STAT(&t, "vmbus.channels_broken"), 1);
	assert_int_equal(VB_STAT(&t, "vmbus.signals_in"), 3);

	/* Inbox full: the guest is told to retry. */
	for (i = 0; i < 64 + 2; i++) /* VMBUS_INBOX_LEN + 2 */
		t.h[0].msg(t.h[0].arg, 0, 1, &h, sizeof(h));
	assert_int_equal(VB_STAT(&t, "vmbus.messages_inbox_full"), 2);
	tg_fini(&t);
}

/* Guest packet on @c, signalled through the signal port; echo answers. */
static void port_roundtrip(struct tg *t, struct tg_chan *c, uint64_t tid)
{
	struct vmbus_pkt_desc d;
	uint8_t out[64];

	assert_int_equal(tg_write(&c->out, VMBUS_PKT_DATA_INBAND, tid,
				  "port signal 16 b", 16),
			 0);
	tg_signal_port(t, VMBUS_CHANNEL_CONN_BASE + c->relid);
	assert_int_equal(tg_read(&c->in, &d, out, sizeof(out)), 16);
	assert_int_equal(d.trans_id, tid);
	assert_int_equal(c->out.ctrl->read_index, c->out.ctrl->write_index);
}

/*
 * set_signal_fd: a channel's connection is routed to its eventfd exactly
 * while it is open (open/close, broken ring, Unload, reset, destroy), a
 * write to that eventfd makes the channel process its ring, and signals
 * that are not routed still arrive through the handler.
 */
static void test_server_signal_fd(void **state)
{
	const uint32_t conn1 = VMBUS_CHANNEL_CONN_BASE + 1;
	struct echo e1 = { 0 }, e2 = { 0 };
	struct vmbus_pkt_desc d;
	struct tg_chan c, c2;
	uint8_t buf[64];
	uint64_t one = 1;
	struct tg t;
	int efd;

	tg_init_sigfd(&t, 2);
	echo_add(&t, &e1, ECHO_A);
	echo_add(&t, &e2, ECHO_B);
	tg_connect(&t);
	/* Offered is not open: nothing routed. */
	assert_int_equal(t.sigfd_assigns, 0);
	tg_open(&t, &c, 1, 4, 4);
	efd = t.sigfd[1];
	assert_true(efd >= 0);
	assert_int_equal(t.sigfd_assigns, 1);
	assert_int_equal(t.sigfd[2], -1);
	port_roundtrip(&t, &c, 1);
	assert_int_equal(e1.packets, 1);
	assert_int_equal(VB_STAT(&t, "vmbus.signals_in"), 1);
	assert_int_equal(VB_STAT(&t, "vmbus.signals_in_fd"), 1);
	/* Several signals before the thread runs: one pass, all counted. */
	assert_int_equal(tg_write(&c.out, VMBUS_PKT_DATA_INBAND, 2, "x", 1), 0);
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_true(poll(&(struct pollfd){ .fd = vmbus_server_fd(t.srv),
					   .events = POLLIN },
			 1, 0) == 1);
	vmbus_server_process(t.srv);
	assert_int_equal(e1.packets, 2);
	assert_int_equal(tg_read(&c.in, &d, buf, sizeof(buf)), 8);
	assert_int_equal(VB_STAT(&t, "vmbus.signals_in_fd"), 4);
	assert_int_equal(poll(&(struct pollfd){ .fd = vmbus_server_fd(t.srv),
						.events = POLLIN },
			      1, 0),
			 0);
	/* The handler path still works while routed (a guest's own OUT). */
	roundtrip(&t, &c, 3);
	assert_int_equal(VB_STAT(&t, "vmbus.signals_in"), 5);
	assert_int_equal(VB_STAT(&t, "vmbus.signals_in_fd"), 4);

	/* Close: unrouted; a signal now takes the handler and is ignored. */
	tg_close(&t, 1);
	assert_int_equal(t.sigfd[1], -1);
	assert_int_equal(t.sigfd_deassigns, 1);
	tg_signal_port(&t, conn1);
	assert_int_equal(e1.packets, 3);
	/* Reopen: the same eventfd routed again. */
	tg_open(&t, &c, 1, 4, 4);
	assert_int_equal(t.sigfd[1], efd);
	port_roundtrip(&t, &c, 4);
	tg_open(&t, &c2, 2, 4, 4);
	assert_true(t.sigfd[2] >= 0 && t.sigfd[2] != efd);
	port_roundtrip(&t, &c2, 5);
	assert_int_equal(e2.packets, 1);

	/* Unload closes everything: everything unrouted. */
	tg_simple(&t, VMBUS_MSG_UNLOAD);
	tg_expect(&t, VMBUS_MSG_UNLOAD_RESPONSE);
	assert_int_equal(t.sigfd[1], -1);
	assert_int_equal(t.sigfd[2], -1);
	assert_int_equal(t.sigfd_assigns, t.sigfd_deassigns);

	/* A broken ring closes the host side: unrouted too. */
	tg_connect(&t);
	tg_open(&t, &c, 1, 4, 4);
	c.out.ctrl->write_index = 0x10000;
	tg_signal_port(&t, conn1);
	assert_int_equal(VB_STAT(&t, "vmbus.channels_broken"), 1);
	assert_int_equal(t.sigfd[1], -1);
	tg_close(&t, 1);

	/* Routing refused: the handler path carries the channel. */
	t.sigfd_fail = 1;
	tg_open(&t, &c, 1, 4, 4);
	assert_int_equal(t.sigfd[1], -1);
	port_roundtrip(&t, &c, 6);
	tg_close(&t, 1);
	assert_int_equal(t.sigfd_assigns, t.sigfd_deassigns);

	/* Reset, then destroy with a channel open: unrouted before close. */
	tg_open(&t, &c, 1, 4, 4);
	assert_true(t.sigfd[1] >= 0);
	vmbus_server_reset(t.srv);
	assert_int_equal(t.sigfd[1], -1);
	tg_connect(&t);
	tg_open(&t, &c, 1, 4, 4);
	tg_open(&t, &c2, 2, 4, 4);
	tg_fini(&t);
	assert_int_equal(t.sigfd[1], -1);
	assert_int_equal(t.sigfd[2], -1);
	assert_int_equal(t.sigfd_assigns, t.sigfd_deassigns);
	/* The server closed its eventfds after unrouting them. */
	assert_true(fcntl(efd, F_GETFD) < 0);
}

static void test_server_reset(void **state)
{
	struct echo e = { 0 };
	struct tg_chan c;
	struct tg t;

	tg_init(&t, 1);
	echo_up(&t, &e, &c);
	vmbus_server_reset(t.srv);
	assert_int_equal(e.closes, 1);
	assert_int_equal(vmbus_server_version(t.srv), 0);
	assert_int_equal(tg_connect(&t), 1);
	tg_fini(&t);
}

static void test_server_gpa_direct_parse(void **state)
{
	uint8_t raw[64];
	struct vmbus_packet pkt = { 0 };
	struct vmbus_range r[2];
	struct echo e = { 0 };
	struct tg_chan c;
	struct tg t;

	tg_init(&t, 1);
	echo_up(&t, &e, &c);
	memset(raw, 0, sizeof(raw));
	put_le32(raw + 20, 1);	  /* rangecount */
	put_le32(raw + 24, 5000); /* byte_count: 2 pages */
	put_le32(raw + 28, 100);  /* byte_offset */
	put_le64(raw + 32, 0x10);
	put_le64(raw + 40, 0x11);
	pkt.type = VMBUS_PKT_DATA_USING_GPA_DIRECT;
	pkt.raw = raw;
	pkt.raw_len = 56;
	pkt.data = raw + 48;
	assert_int_equal(vmbus_packet_gpa_ranges(e.ch, &pkt, r, 2), 1);
	assert_int_equal(r[0].nr_pfns, 2);
	assert_int_equal(r[0].byte_offset, 100);
	assert_int_equal(r[0].pfns[1], 0x11);
	/* Too many ranges for the caller, range past the header. */
	assert_int_equal(vmbus_packet_gpa_ranges(e.ch, &pkt, r, 0), -EINVAL);
	put_le32(raw + 20, 2);
	assert_int_equal(vmbus_packet_gpa_ranges(e.ch, &pkt, r, 2), -EINVAL);
	/* Byte count needing a third pfn the header doesn't hold. */
	put_le32(raw + 20, 1);
	put_le32(raw + 24, 8192);
	assert_int_equal(vmbus_packet_gpa_ranges(e.ch, &pkt, r, 2), -EINVAL);
	/* Page outside RAM. */
	put_le32(raw + 24, 5000);
	put_le64(raw + 40, TG_RAM >> 12);
	assert_int_equal(vmbus_packet_gpa_ranges(e.ch, &pkt, r, 2), -EFAULT);
	/* Offset beyond a page, wrong type. */
	put_le64(raw + 40, 0x11);
	put_le32(raw + 28, 4096);
	assert_int_equal(vmbus_packet_gpa_ranges(e.ch, &pkt, r, 2), -EINVAL);
	pkt.type = VMBUS_PKT_DATA_INBAND;
	assert_int_equal(vmbus_packet_gpa_ranges(e.ch, &pkt, r, 2), -EINVAL);
	tg_fini(&t);
}

/* ---- threaded stream: no lost wakeups between the two sides ---- */

struct stream {
	struct tg *t;
	struct tg_chan *c;
	unsigned int n;
	vmbus_signal_event_fn ev;
	void *ev_arg;
	int efd; /* routed eventfd (KVM ioeventfd), or -1: the handler */
	unsigned int received;
	volatile int abort; /* host gave up: stop spinning */
};

static struct stream *stream_ctx;

static int sink_packet(struct vmbus_channel *ch, const struct vmbus_packet *pkt)
{
	stream_ctx->received++;
	return 0;
}

static const struct vmbus_device_ops sink_ops = { .packet = sink_packet };

static void stream_put(struct tg_ring *r, uint32_t pos, const void *src,
		       uint32_t len)
{
	uint32_t first = MIN(len, r->size - pos % r->size);

	memcpy(r->data + pos % r->size, src, first);
	memcpy(r->data, (const uint8_t *)src + first, len - first);
}

static void *stream_guest(void *arg)
{
	struct stream *st = arg;
	struct tg_ring *r = &st->c->out;
	uint8_t buf[1024] = { 0 };
	uint32_t total = ring_pkt_size(sizeof(buf));
	unsigned int i;

	for (i = 0; i < st->n; i++) {
		uint32_t w = r->ctrl->write_index, rd, avail;
		struct vmbus_pkt_desc d = {
			.type = VMBUS_PKT_DATA_INBAND,
			.offset8 = 2,
			.len8 = (uint16_t)((total - 8) / 8),
			.trans_id = i,
		};
		uint64_t trailer = (uint64_t)w << 32;

		for (;;) {
			rd = __atomic_load_n(&r->ctrl->read_index,
					     __ATOMIC_ACQUIRE);
			avail = w >= rd ? r->size - (w - rd) : rd - w;
			if (avail > total)
				break;
			if (st->abort)
				return NULL;
			sched_yield();
		}
		stream_put(r, w, &d, sizeof(d));
		stream_put(r, w + 16, buf, sizeof(buf));
		stream_put(r, w + total - 8, &trailer, 8);
		__atomic_store_n(&r->ctrl->write_index, (w + total) % r->size,
				 __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		/* Linux hv_signal_on_write(): only on empty -> non-empty. */
		if (!__atomic_load_n(&r->ctrl->interrupt_mask,
				     __ATOMIC_ACQUIRE) &&
		    __atomic_load_n(&r->ctrl->read_index, __ATOMIC_ACQUIRE) ==
			    w) {
			uint64_t one = 1;

			if (st->efd < 0)
				st->ev(st->ev_arg, 0, 0);
			else if (write(st->efd, &one, sizeof(one)) < 0)
				return NULL;
		}
	}
	return NULL;
}

static void stream_run(bool memfd, unsigned int n, bool sigfd)
{
	struct vmbus_device_params p = { 0 };
	struct stream st = { 0 };
	struct pollfd pf;
	struct tg_chan c;
	struct tg t;
	pthread_t g;
	unsigned int i, stuck = 0;

	tg_init_opts(&t, 1, false, memfd, sigfd);
	p.name = "sink";
	p.ops = &sink_ops;
	assert_int_equal(vmbus_device_add(t.srv, &p, NULL), 0);
	tg_connect(&t);
	tg_open(&t, &c, 1, 65, 2); /* 256 KiB, like the bench */
	st.t = &t;
	st.c = &c;
	st.n = n;
	for (i = 0; i < t.nh; i++)
		if (t.h[i].conn == VMBUS_CHANNEL_CONN_BASE + 1 && t.h[i].ev)
			st.ev = t.h[i].ev, st.ev_arg = t.h[i].arg;
	assert_non_null(st.ev);
	st.efd = t.sigfd[1];
	assert_true(sigfd == (st.efd >= 0));
	stream_ctx = &st;
	pthread_create(&g, NULL, stream_guest, &st);
	pf.fd = vmbus_server_fd(t.srv);
	pf.events = POLLIN;
	while (st.received < st.n && stuck < 20) {
		if (poll(&pf, 1, 100) > 0) {
			stuck = 0;
			vmbus_server_process(t.srv);
		} else {
			stuck++;
		}
	}
	st.abort = 1;
	pthread_join(g, NULL);
	/* Without a signal for 2 s while packets wait: a lost wakeup. */
	assert_int_equal(st.received, st.n);
	tg_fini(&t);
}

static void test_server_stream_no_lost_wakeup(void **state)
{
	unsigned int i;

	stream_run(false, 20000, false);
	stream_run(false, 20000, true);
	for (i = 0; i < 10; i++)
		stream_run(true, 2000, i & 1);
}

static void test_server_linear_rings(void **state)
{
	struct echo e = { 0 };
	struct tg_chan c;
	struct tg t;
	unsigned int i;

	tg_init_full(&t, 1, false, true);
	echo_up(&t, &e, &c);
	/* Enough round trips to wrap both 4 KiB rings several times. */
	for (i = 0; i < 300; i++)
		roundtrip(&t, &c, i);
	assert_int_equal(e.packets, 300);
	tg_fini(&t);
}

/* ---- the VSP sees a private copy of each packet ---- */

static struct tg_chan *tamper_chan;
static int tamper_ok;

static int tamper_packet(struct vmbus_channel *ch,
			 const struct vmbus_packet *pkt)
{
	uint8_t before[32];

	memcpy(before, pkt->data, sizeof(before));
	/* The guest rewrites the packet while the host looks at it. */
	memset(tamper_chan->out.data, 0xee, 64);
	tamper_ok = !memcmp(before, pkt->data, sizeof(before)) &&
		    pkt->data[0] == 'x';
	return 0;
}

static const struct vmbus_device_ops tamper_ops = { .packet = tamper_packet };

static void test_server_packet_is_private_copy(void **state)
{
	struct vmbus_device_params p = { 0 };
	uint8_t buf[32];
	struct tg_chan c;
	struct tg t;

	tg_init_full(&t, 1, false, true); /* double-mapped rings */
	p.name = "tamper";
	p.ops = &tamper_ops;
	assert_int_equal(vmbus_device_add(t.srv, &p, NULL), 0);
	tg_connect(&t);
	tg_open(&t, &c, 1, 2, 2);
	tamper_chan = &c;
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(tg_write(&c.out, VMBUS_PKT_DATA_INBAND, 1, buf,
				  sizeof(buf)),
			 0);
	tg_signal_conn(&t, VMBUS_CHANNEL_CONN_BASE + 1);
	assert_true(tamper_ok);
	tg_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_version_negotiation),
		cmocka_unit_test(test_server_contact_validates),
		cmocka_unit_test(test_server_linux_sequence),
		cmocka_unit_test(test_server_teardown_deferred_while_open),
		cmocka_unit_test(test_server_rejects_malformed),
		cmocka_unit_test(test_server_replayed_contact_resets),
		cmocka_unit_test(test_server_ring_corruption_closes_channel),
		cmocka_unit_test(test_server_backpressure_kick),
		cmocka_unit_test(test_server_rescind_and_release),
		cmocka_unit_test(test_server_subchannels),
		cmocka_unit_test(test_server_old_protocol_signalling),
		cmocka_unit_test(test_server_modify_channel),
		cmocka_unit_test(test_server_inbox_full_and_outbox_retry),
		cmocka_unit_test(test_server_reset),
		cmocka_unit_test(test_server_signal_fd),
		cmocka_unit_test(test_server_gpa_direct_parse),
		cmocka_unit_test(test_server_stream_no_lost_wakeup),
		cmocka_unit_test(test_server_linear_rings),
		cmocka_unit_test(test_server_packet_is_private_copy),
		cmocka_unit_test(test_server_stats_foreach),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
