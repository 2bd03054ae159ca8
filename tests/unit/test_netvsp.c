// SPDX-License-Identifier: MIT
/*
 * Unit tests for netvsp (vmbus/vsp/netvsp.c): Linux 6.1 hv_netvsc's init
 * sequence replayed by a simulated guest (NVSP INIT, NDIS version and
 * config, receive and send buffer GPADLs, RNDIS INITIALIZE, QUERY, SET),
 * frames both ways through the fake network backend, receive-buffer
 * back-pressure, link indications, and hostile packets.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "../../vmbus/vsp/netvsp_proto.h"
#include "hvkvm/channel.h"
#include "hvkvm/netvsp.h"
#include "test_vmbus_guest.h"

#define INSTANCE "5620e0c7-8062-4dce-aeb7-520c7ef76200"
#define RX_PAGES 16 /* 64 KiB: 37 sections of 1728 */
#define TX_PAGES 4

static const uint8_t our_mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

struct gnv {
	struct tg t;
	struct tg_chan c;
	struct netvsp *nv;
	struct net_backend *nb;
	uint64_t rx_gpa, tx_gpa, tid;
	uint32_t nsec, sec_size;
};

/* One host packet, whole: descriptor, extra header, payload. */
struct hpkt {
	struct vmbus_pkt_desc d;
	uint8_t raw[512];
	const uint8_t *data; /* payload */
	uint32_t len;	     /* payload bytes */
};

/* Packets read ahead while looking for another kind. */
static struct hpkt stash[8];
static unsigned int nstash;

static bool gnv_read_ring(struct gnv *g, struct hpkt *p);

/* The next host packet of @type (0 = any), keeping others for later. */
static bool gnv_read_type(struct gnv *g, struct hpkt *p, uint16_t type)
{
	unsigned int i;

	for (i = 0; i < nstash; i++) {
		if (type && stash[i].d.type != type)
			continue;
		*p = stash[i];
		p->data = p->raw + p->d.offset8 * 8u;
		memmove(&stash[i], &stash[i + 1],
			(nstash - i - 1) * sizeof(stash[0]));
		nstash--;
		return true;
	}
	while (gnv_read_ring(g, p)) {
		if (!type || p->d.type == type)
			return true;
		assert_true(nstash < ARRAY_SIZE(stash));
		stash[nstash++] = *p;
	}
	return false;
}

static bool gnv_read(struct gnv *g, struct hpkt *p)
{
	return gnv_read_type(g, p, 0);
}

static bool gnv_read_ring(struct gnv *g, struct hpkt *p)
{
	struct tg_ring *r = &g->c.in;
	uint32_t rd = r->ctrl->read_index, len;

	if (rd == r->ctrl->write_index)
		return false;
	tg_ring_get(r, rd, &p->d, sizeof(p->d));
	len = p->d.len8 * 8u;
	assert_true(len <= sizeof(p->raw));
	tg_ring_get(r, rd, p->raw, len);
	p->data = p->raw + p->d.offset8 * 8u;
	p->len = len - p->d.offset8 * 8u;
	r->ctrl->read_index = (rd + len + 8) % r->size;
	return true;
}

/* tg_write() with COMPLETION_REQUESTED, as hv_netvsc sends. */
static void gnv_write(struct gnv *g, uint16_t type, uint64_t tid, const void *m,
		      uint32_t len)
{
	uint32_t w = g->c.out.ctrl->write_index;
	uint16_t flags = VMBUS_PKT_FLAG_COMPLETION_REQUESTED;

	assert_int_equal(tg_write(&g->c.out, type, tid, m, len), 0);
	tg_ring_put(&g->c.out, w + 6, &flags, 2);
}

static void gnv_kick(struct gnv *g)
{
	tg_signal_conn(&g->t, VMBUS_CHANNEL_CONN_BASE + g->c.relid);
}

/* An inband NVSP message of the usual 40 bytes. */
static void gnv_nvsp(struct gnv *g, uint32_t type, uint32_t a, uint32_t b,
		     uint32_t c)
{
	uint8_t m[NVSP_MSG_SIZE] = { 0 };

	put_le32(m, type);
	put_le32(m + 4, a);
	put_le32(m + 8, b);
	put_le32(m + 12, c);
	gnv_write(g, VMBUS_PKT_DATA_INBAND, ++g->tid, m, sizeof(m));
	gnv_kick(g);
}

/* The host's completion of our last request: its NVSP payload. */
static void gnv_expect_comp(struct gnv *g, uint32_t type, struct hpkt *p)
{
	assert_true(gnv_read_type(g, p, VMBUS_PKT_COMP));
	assert_int_equal(p->d.trans_id, g->tid);
	assert_true(p->len >= 8);
	assert_int_equal(get_le32(p->data), type);
}

/*
 * The next receive-section packet: the RNDIS message copied out, the
 * section completed back (unless @keep). Returns the message length.
 */
static uint32_t gnv_expect_rx(struct gnv *g, uint32_t chan, uint8_t *msg,
			      bool keep)
{
	struct hpkt p;
	uint32_t off, len;

	assert_true(gnv_read_type(g, &p, VMBUS_PKT_DATA_USING_XFER_PAGES));
	assert_int_equal(get_le16(p.raw + 16), NVSP_RECV_BUF_ID);
	assert_int_equal(get_le32(p.raw + 20), 1);
	len = get_le32(p.raw + 24);
	off = get_le32(p.raw + 28);
	assert_int_equal(off % g->sec_size, 0);
	assert_true(len <= g->sec_size);
	assert_int_equal(get_le32(p.data), NVSP_MSG1_SEND_RNDIS_PKT);
	assert_int_equal(get_le32(p.data + 4), chan);
	memcpy(msg, g->t.fg.ram + g->rx_gpa + off, len);
	if (!keep) {
		uint8_t m[8];

		put_le32(m, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE);
		put_le32(m + 4, NVSP_STAT_SUCCESS);
		assert_int_equal(tg_write(&g->c.out, VMBUS_PKT_COMP,
					  p.d.trans_id, m, sizeof(m)),
				 0);
		gnv_kick(g);
	}
	return len;
}

/* An RNDIS message through send-buffer section @sec. */
static void gnv_rndis(struct gnv *g, uint32_t chan, uint32_t sec,
		      const void *msg, uint32_t len)
{
	struct hpkt p;

	memcpy(g->t.fg.ram + g->tx_gpa + sec * 6144, msg, len);
	{
		uint8_t m[NVSP_MSG_SIZE] = { 0 };

		put_le32(m, NVSP_MSG1_SEND_RNDIS_PKT);
		put_le32(m + 4, chan);
		put_le32(m + 8, sec);
		put_le32(m + 12, len);
		gnv_write(g, VMBUS_PKT_DATA_INBAND, ++g->tid, m, sizeof(m));
		gnv_kick(g);
	}
	gnv_expect_comp(g, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE, &p);
	assert_int_equal(get_le32(p.data + 4), NVSP_STAT_SUCCESS);
}

static void gnv_query(struct gnv *g, uint32_t oid, uint8_t *ans)
{
	uint8_t q[28 + 128] = { 0 };
	uint32_t len = 28;

	put_le32(q, RNDIS_MSG_QUERY);
	put_le32(q + 8, 0x1234);
	put_le32(q + 12, oid);
	put_le32(q + 20, 20); /* info_buf_offset, from req_id */
	if (oid == RNDIS_OID_TCP_OFFLOAD_HW_CAPS) {
		put_le32(q + 16, 128);
		q[28] = NDIS_OBJECT_TYPE_OFFLOAD;
		q[29] = 3;
		put_le16(q + 30, 128);
		len += 128;
	}
	put_le32(q + 4, len);
	gnv_rndis(g, NVSP_RNDIS_CHANNEL_CONTROL, 1, q, len);
	gnv_expect_rx(g, NVSP_RNDIS_CHANNEL_CONTROL, ans, false);
	assert_int_equal(get_le32(ans), RNDIS_MSG_QUERY | RNDIS_MSG_COMPLETION);
	assert_int_equal(get_le32(ans + 8), 0x1234);
}

/* Up to RNDIS initialized with packet filter @filter. */
static void gnv_up(struct gnv *g, uint32_t filter)
{
	struct vmbus_msg_offer_channel o = { 0 };
	struct netvsp_params p = {
		.name = "net0",
		.instance_id = INSTANCE,
	};
	uint8_t m[64], a[256];
	struct hpkt h;

	memset(g, 0, sizeof(*g));
	nstash = 0;
	tg_init(&g->t, 2);
	assert_int_equal(net_fake_create(&g->nb), 0);
	memcpy(p.mac, our_mac, 6);
	p.nb = g->nb;
	assert_int_equal(netvsp_create(g->t.srv, &p, &g->nv), 0);
	tg_contact(&g->t, VMBUS_VERSION_WIN10_V5_3, 2, true);
	assert_int_equal(tg_request_offers(&g->t, &o, 1), 1);
	tg_open(&g->t, &g->c, o.child_relid, 8, 8);
	/* Linux tries 6.1 first. */
	gnv_nvsp(g, NVSP_MSG_INIT, NVSP_VERSION_61, NVSP_VERSION_61, 0);
	gnv_expect_comp(g, NVSP_MSG_INIT_COMPLETE, &h);
	assert_int_equal(get_le32(h.data + 4), NVSP_VERSION_61);
	assert_int_equal(get_le32(h.data + 12), NVSP_STAT_SUCCESS);
	gnv_nvsp(g, NVSP_MSG2_SEND_NDIS_CONFIG, 1514, 0, 0);
	gnv_nvsp(g, NVSP_MSG1_SEND_NDIS_VER, 6, 0x1e, 0);
	assert_false(gnv_read(g, &h)); /* neither is answered */
	g->rx_gpa = tg_alloc_pages(&g->t, RX_PAGES);
	g->tx_gpa = tg_alloc_pages(&g->t, TX_PAGES);
	gnv_nvsp(g, NVSP_MSG1_SEND_RECV_BUF,
		 tg_gpadl(&g->t, g->c.relid, g->rx_gpa, RX_PAGES),
		 NVSP_RECV_BUF_ID, 0);
	gnv_expect_comp(g, NVSP_MSG1_SEND_RECV_BUF_COMPLETE, &h);
	assert_int_equal(get_le32(h.data + 4), NVSP_STAT_SUCCESS);
	assert_int_equal(get_le32(h.data + 8), 1);
	assert_int_equal(get_le32(h.data + 12), 0);
	g->sec_size = get_le32(h.data + 16);
	g->nsec = get_le32(h.data + 20);
	assert_int_equal(g->sec_size, 1728);
	assert_int_equal(g->nsec, RX_PAGES * 4096 / 1728);
	gnv_nvsp(g, NVSP_MSG1_SEND_SEND_BUF,
		 tg_gpadl(&g->t, g->c.relid, g->tx_gpa, TX_PAGES), 0, 0);
	gnv_expect_comp(g, NVSP_MSG1_SEND_SEND_BUF_COMPLETE, &h);
	assert_int_equal(get_le32(h.data + 4), NVSP_STAT_SUCCESS);
	assert_int_equal(get_le32(h.data + 8), 6144);
	/* RNDIS INITIALIZE. */
	memset(m, 0, sizeof(m));
	put_le32(m, RNDIS_MSG_INIT);
	put_le32(m + 4, 24);
	put_le32(m + 8, 7);
	put_le32(m + 12, 1);
	put_le32(m + 20, 0x4000);
	gnv_rndis(g, NVSP_RNDIS_CHANNEL_CONTROL, 0, m, 24);
	assert_int_equal(gnv_expect_rx(g, NVSP_RNDIS_CHANNEL_CONTROL, a, false),
			 52);
	assert_int_equal(get_le32(a), RNDIS_MSG_INIT | RNDIS_MSG_COMPLETION);
	assert_int_equal(get_le32(a + 8), 7);
	assert_int_equal(get_le32(a + 12), RNDIS_STATUS_SUCCESS);
	assert_int_equal(get_le32(a + 16), 1); /* major */
	if (filter) {
		memset(m, 0, sizeof(m));
		put_le32(m, RNDIS_MSG_SET);
		put_le32(m + 4, 32);
		put_le32(m + 8, 8);
		put_le32(m + 12, RNDIS_OID_GEN_CURRENT_PACKET_FILTER);
		put_le32(m + 16, 4);
		put_le32(m + 20, 20);
		put_le32(m + 28, filter);
		gnv_rndis(g, NVSP_RNDIS_CHANNEL_CONTROL, 0, m, 32);
		gnv_expect_rx(g, NVSP_RNDIS_CHANNEL_CONTROL, a, false);
		assert_int_equal(get_le32(a),
				 RNDIS_MSG_SET | RNDIS_MSG_COMPLETION);
		assert_int_equal(get_le32(a + 12), RNDIS_STATUS_SUCCESS);
	}
}

static void gnv_down(struct gnv *g)
{
	tg_fini(&g->t);
	net_close(g->nb);
}

static void test_netvsp_init_queries(void **state)
{
	uint8_t a[512];
	struct hpkt h;
	struct gnv g;

	gnv_up(&g, 0);
	gnv_query(&g, RNDIS_OID_802_3_PERMANENT_ADDRESS, a);
	assert_int_equal(get_le32(a + 12), RNDIS_STATUS_SUCCESS);
	assert_int_equal(get_le32(a + 16), 6);
	assert_memory_equal(a + 8 + get_le32(a + 20), our_mac, 6);
	gnv_query(&g, RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, a);
	assert_int_equal(get_le32(a + 8 + get_le32(a + 20)), 1500);
	gnv_query(&g, RNDIS_OID_GEN_MEDIA_CONNECT_STATUS, a);
	assert_int_equal(get_le32(a + 8 + get_le32(a + 20)), 0); /* up */
	gnv_query(&g, RNDIS_OID_TCP_OFFLOAD_HW_CAPS, a);
	assert_int_equal(get_le32(a + 12), RNDIS_STATUS_SUCCESS);
	assert_int_equal(a[24], NDIS_OBJECT_TYPE_OFFLOAD);
	assert_true(get_le16(a + 26) >= NDIS_OFFLOAD_SIZE_6_0);
	assert_true(get_le32(a + 16) >= get_le16(a + 26));
	gnv_query(&g, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, a);
	assert_int_equal(get_le32(a + 24 + 12), 1); /* one queue */
	gnv_query(&g, RNDIS_OID_GEN_FRIENDLY_NAME, a);
	assert_int_equal(get_le32(a + 12), RNDIS_STATUS_NOT_SUPPORTED);
	assert_int_equal(get_le32(a + 16), 0);
	/* Old versions: 1 refused, a range gets the highest. */
	gnv_nvsp(&g, NVSP_MSG_INIT, NVSP_VERSION_1, NVSP_VERSION_1, 0);
	gnv_expect_comp(&g, NVSP_MSG_INIT_COMPLETE, &h);
	assert_int_equal(get_le32(h.data + 12), NVSP_STAT_FAIL);
	gnv_nvsp(&g, NVSP_MSG_INIT, NVSP_VERSION_2, NVSP_VERSION_5, 0);
	gnv_expect_comp(&g, NVSP_MSG_INIT_COMPLETE, &h);
	assert_int_equal(get_le32(h.data + 4), NVSP_VERSION_5);
	/* No sub-channels: one queue. */
	gnv_nvsp(&g, NVSP_MSG5_SUBCHANNEL, NVSP_SUBCHANNEL_ALLOCATE, 1, 0);
	gnv_expect_comp(&g, NVSP_MSG5_SUBCHANNEL, &h);
	assert_int_equal(get_le32(h.data + 4), NVSP_STAT_FAIL);
	gnv_down(&g);
}

static void frame(uint8_t *f, size_t len, const uint8_t *dst, uint8_t tag)
{
	size_t i;

	memcpy(f, dst, 6);
	memcpy(f + 6, "\x02\x99\x99\x99\x99\x99", 6);
	put_be16(f + 12, 0x0800);
	for (i = 14; i < len; i++)
		f[i] = (uint8_t)(tag * 3 + i);
}

static void test_netvsp_rx_tx(void **state)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t other[6] = { 0x02, 1, 2, 3, 4, 5 };
	uint8_t f[1514], a[2048], pkt[64 + 1514];
	struct net_stats st;
	struct hpkt h;
	struct gnv g;
	long n;

	/* Before a packet filter nothing is delivered. */
	gnv_up(&g, 0);
	frame(f, 100, bcast, 1);
	assert_int_equal(net_fake_inject(g.nb, f, 100), 0);
	assert_false(gnv_read(&g, &h));
	gnv_down(&g);

	gnv_up(&g, NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST);
	/* RX: broadcast and our MAC pass, another MAC does not. */
	frame(f, 100, bcast, 1);
	assert_int_equal(net_fake_inject(g.nb, f, 100), 0);
	assert_int_equal(gnv_expect_rx(&g, NVSP_RNDIS_CHANNEL_DATA, a, false),
			 44 + 100);
	assert_int_equal(get_le32(a), RNDIS_MSG_PACKET);
	assert_int_equal(get_le32(a + 4), 144);
	assert_int_equal(get_le32(a + 12), 100);
	assert_memory_equal(a + 8 + get_le32(a + 8), f, 100);
	frame(f, 1514, our_mac, 2);
	assert_int_equal(net_fake_inject(g.nb, f, 1514), 0);
	assert_int_equal(gnv_expect_rx(&g, NVSP_RNDIS_CHANNEL_DATA, a, false),
			 44 + 1514);
	assert_memory_equal(a + 44, f, 1514);
	frame(f, 100, other, 3);
	assert_int_equal(net_fake_inject(g.nb, f, 100), 0);
	assert_false(gnv_read(&g, &h));
	/* TX: two RNDIS packets batched in one send section. */
	memset(pkt, 0, sizeof(pkt));
	frame(f, 60, other, 4);
	put_le32(pkt, RNDIS_MSG_PACKET);
	put_le32(pkt + 4, 44 + 60 + 4); /* padded to 8 */
	put_le32(pkt + 8, 36);
	put_le32(pkt + 12, 60);
	memcpy(pkt + 44, f, 60);
	memcpy(pkt + 108, pkt, 108);
	gnv_rndis(&g, NVSP_RNDIS_CHANNEL_DATA, 1, pkt, 216);
	n = net_fake_collect(g.nb, a, sizeof(a));
	assert_int_equal(n, 60);
	assert_memory_equal(a, f, 60);
	assert_int_equal(net_fake_collect(g.nb, a, sizeof(a)), 60);
	assert_int_equal(net_fake_collect(g.nb, a, sizeof(a)), -ENOENT);
	/* RX back-pressure: sections not given back stop the backend. */
	frame(f, 1000, bcast, 5);
	for (n = 0; n < (long)g.nsec; n++) {
		assert_int_equal(net_fake_inject(g.nb, f, 1000), 0);
		gnv_expect_rx(&g, NVSP_RNDIS_CHANNEL_DATA, a, true);
	}
	assert_int_equal(net_fake_inject(g.nb, f, 1000), 0);
	assert_false(gnv_read(&g, &h));
	assert_true(net_fake_rx_paused(g.nb));
	net_get_stats(g.nb, &st);
	assert_int_equal(st.rx_pause, 1);
	gnv_down(&g);
}

static void test_netvsp_link(void **state)
{
	uint8_t a[256], f[100];
	struct hpkt h;
	struct gnv g;

	gnv_up(&g, NDIS_PACKET_TYPE_BROADCAST);
	netvsp_set_link(g.nv, false);
	assert_int_equal(
		gnv_expect_rx(&g, NVSP_RNDIS_CHANNEL_CONTROL, a, false), 20);
	assert_int_equal(get_le32(a), RNDIS_MSG_INDICATE);
	assert_int_equal(get_le32(a + 8), RNDIS_STATUS_MEDIA_DISCONNECT);
	netvsp_set_link(g.nv, false); /* no change, no message */
	assert_false(gnv_read(&g, &h));
	frame(f, 100, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 1);
	assert_int_equal(net_fake_inject(g.nb, f, 100), 0);
	assert_false(gnv_read(&g, &h)); /* no carrier */
	gnv_query(&g, RNDIS_OID_GEN_MEDIA_CONNECT_STATUS, a);
	assert_int_equal(get_le32(a + 8 + get_le32(a + 20)), 1);
	netvsp_set_link(g.nv, true);
	gnv_expect_rx(&g, NVSP_RNDIS_CHANNEL_CONTROL, a, false);
	assert_int_equal(get_le32(a + 8), RNDIS_STATUS_MEDIA_CONNECT);
	gnv_down(&g);
}

static void test_netvsp_hostile(void **state)
{
	uint8_t m[64], a[256], big[200];
	struct hpkt h;
	struct gnv g;
	uint64_t before;

	gnv_up(&g, NDIS_PACKET_TYPE_BROADCAST);
	/* A section index past the send buffer, a size past a section. */
	gnv_nvsp(&g, NVSP_MSG1_SEND_RNDIS_PKT, 1, 99, 24);
	gnv_expect_comp(&g, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE, &h);
	assert_int_equal(get_le32(h.data + 4), NVSP_STAT_FAIL);
	gnv_nvsp(&g, NVSP_MSG1_SEND_RNDIS_PKT, 1, 0, 7000);
	gnv_expect_comp(&g, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE, &h);
	assert_int_equal(get_le32(h.data + 4), NVSP_STAT_FAIL);
	/* No section and not GPA-direct. */
	gnv_nvsp(&g, NVSP_MSG1_SEND_RNDIS_PKT, 1, NVSP_INVALID_SECTION, 24);
	gnv_expect_comp(&g, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE, &h);
	assert_int_equal(get_le32(h.data + 4), NVSP_STAT_FAIL);
	/* RNDIS lengths: longer than the section data, zero, data past it. */
	memset(m, 0, sizeof(m));
	put_le32(m, RNDIS_MSG_QUERY);
	put_le32(m + 4, 4000);
	memcpy(g.t.fg.ram + g.tx_gpa, m, 32);
	gnv_nvsp(&g, NVSP_MSG1_SEND_RNDIS_PKT, 1, 0, 32);
	gnv_expect_comp(&g, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE, &h);
	assert_int_equal(get_le32(h.data + 4), NVSP_STAT_FAIL);
	put_le32(m + 4, 0);
	memcpy(g.t.fg.ram + g.tx_gpa, m, 32);
	gnv_nvsp(&g, NVSP_MSG1_SEND_RNDIS_PKT, 1, 0, 32);
	gnv_expect_comp(&g, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE, &h);
	assert_int_equal(get_le32(h.data + 4), NVSP_STAT_FAIL);
	memset(big, 0, sizeof(big));
	put_le32(big, RNDIS_MSG_PACKET);
	put_le32(big + 4, 100);
	put_le32(big + 8, 36);
	put_le32(big + 12, 1000); /* data_len past the message */
	memcpy(g.t.fg.ram + g.tx_gpa, big, 100);
	gnv_nvsp(&g, NVSP_MSG1_SEND_RNDIS_PKT, 0, 0, 100);
	gnv_expect_comp(&g, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE, &h);
	assert_int_equal(get_le32(h.data + 4), NVSP_STAT_FAIL);
	assert_int_equal(net_fake_collect(g.nb, a, sizeof(a)), -ENOENT);
	/* QUERY whose info buffer offset points outside the message. */
	memset(m, 0, sizeof(m));
	put_le32(m, RNDIS_MSG_QUERY);
	put_le32(m + 4, 28);
	put_le32(m + 12, RNDIS_OID_TCP_OFFLOAD_HW_CAPS);
	put_le32(m + 16, 0xfffffff0u);
	put_le32(m + 20, 0xfffffff0u);
	gnv_rndis(&g, NVSP_RNDIS_CHANNEL_CONTROL, 0, m, 28);
	gnv_expect_rx(&g, NVSP_RNDIS_CHANNEL_CONTROL, a, false);
	assert_int_equal(get_le16(a + 26), NDIS_OFFLOAD_SIZE_6_0);
	/* A completion for a section never announced; unknown NVSP. */
	put_le32(m, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE);
	assert_int_equal(tg_write(&g.c.out, VMBUS_PKT_COMP,
				  0x4e56000000000005ull, m, 8),
			 0);
	assert_int_equal(tg_write(&g.c.out, VMBUS_PKT_COMP, 77, m, 8), 0);
	gnv_kick(&g);
	gnv_nvsp(&g, 9999, 0, 0, 0);
	assert_false(gnv_read(&g, &h));
	/* A second receive buffer while one is in use is refused. */
	gnv_nvsp(&g, NVSP_MSG1_SEND_RECV_BUF, 12345, NVSP_RECV_BUF_ID, 0);
	gnv_expect_comp(&g, NVSP_MSG1_SEND_RECV_BUF_COMPLETE, &h);
	assert_int_equal(get_le32(h.data + 4), NVSP_STAT_FAIL);
	/* The device still works. */
	before = 0;
	gnv_query(&g, RNDIS_OID_802_3_PERMANENT_ADDRESS, a);
	assert_memory_equal(a + 8 + get_le32(a + 20), our_mac, 6);
	(void)before;
	gnv_down(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netvsp_init_queries),
		cmocka_unit_test(test_netvsp_rx_tx),
		cmocka_unit_test(test_netvsp_link),
		cmocka_unit_test(test_netvsp_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
