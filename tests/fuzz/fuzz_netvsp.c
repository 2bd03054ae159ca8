// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: netvsp (vmbus/vsp/netvsp.c) driven by a hostile
 * hv_netvsc. Every run builds a VMBus server with one synthetic NIC on the
 * fake network backend, connects, creates a receive-buffer and a
 * send-buffer GPADL and opens the channel like Linux, then interprets the
 * input as records [op][len][len bytes]:
 *   op % 6 == 0: the bytes as one guest packet (type INBAND, GPA_DIRECT
 *                or COMP from the first byte, offset8 from the second)
 *   op % 6 == 1: hv_netvsc's init: NVSP INIT (version range from the
 *                bytes), NDIS version and config, both buffers, RNDIS
 *                INITIALIZE and a packet filter
 *   op % 6 == 2: the bytes as RNDIS messages in send section d[0] (or, if
 *                d[0] is 0xff, in GPA-direct pages), announced with a
 *                SEND_RNDIS_PKT of channel type d[1] and size d[2..3]
 *   op % 6 == 3: a frame from the network (the bytes)
 *   op % 6 == 4: completions for receive sections (tids from the bytes,
 *                most of them plausible)
 *   op % 6 == 5: the guest drains its ring and signals; link flips
 * The host must never crash, leak or touch memory outside guest RAM.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmbus/vsp/netvsp_proto.h"
#include "hvkvm/net.h"
#include "hvkvm/netvsp.h"
#include "hvkvm/ring.h"
#include "hvkvm/util.h"
#include "hvkvm/vmbus.h"

#define RAM_SIZE (1u << 20)
#define RING_GPA 0x10000u
#define RING_PAGES 8 /* 4 out + 4 in */
#define RECV_GPA 0x40000u
#define RECV_PAGES 16
#define SEND_GPA 0x60000u
#define SEND_PAGES 4
#define BUF_GPA 0x80000u
#define OUT_SIZE ((RING_PAGES / 2 - 1) * 4096u)

struct fz {
	struct gmem gm;
	uint8_t *ram;
	struct vmbus_server *srv;
	struct netvsp *nv;
	struct net_backend *nb;
	vmbus_post_message_fn msg_fn;
	void *msg_arg;
	vmbus_signal_event_fn ev_fn;
	void *ev_arg;
	uint64_t tid;
	bool link;
};

static int fz_post(void *o, unsigned int vp, unsigned int sint, uint32_t type,
		   const void *p, uint32_t len)
{
	return 0;
}

static int fz_signal(void *o, unsigned int vp, unsigned int sint,
		     unsigned int flag)
{
	return 0;
}

static int fz_reg_msg(void *o, uint32_t conn, vmbus_post_message_fn fn,
		      void *arg)
{
	struct fz *f = o;

	f->msg_fn = fn;
	f->msg_arg = arg;
	return 0;
}

static int fz_reg_ev(void *o, uint32_t conn, vmbus_signal_event_fn fn,
		     void *arg)
{
	struct fz *f = o;

	if (conn == VMBUS_CHANNEL_CONN_BASE + 1) {
		f->ev_fn = fn;
		f->ev_arg = arg;
	}
	return 0;
}

static void fz_send(struct fz *f, const void *msg, uint32_t len)
{
	f->msg_fn(f->msg_arg, 0, VMBUS_MESSAGE_TYPE, msg, len);
	vmbus_server_process(f->srv);
}

static void fz_kick(struct fz *f)
{
	if (f->ev_fn)
		f->ev_fn(f->ev_arg, 0, 0);
	vmbus_server_process(f->srv);
}

/* Guest -> host packet: @hdr_extra bytes after the descriptor, @body. */
static void fz_packet(struct fz *f, uint16_t type, uint16_t off8,
		      const uint8_t *body, uint32_t len)
{
	struct vmbus_ring_ctrl *ctrl = (void *)(f->ram + RING_GPA);
	uint8_t *data = f->ram + RING_GPA + 4096;
	uint32_t w = ctrl->write_index % OUT_SIZE, r = ctrl->read_index;
	uint32_t total = ring_pkt_size(len), i, avail;
	uint8_t pkt[512];

	avail = w >= r ? OUT_SIZE - (w - r) : r - w;
	if (total > sizeof(pkt) || avail <= total)
		return;
	memset(pkt, 0, sizeof(pkt));
	put_le16(pkt, type);
	put_le16(pkt + 2, off8);
	put_le16(pkt + 4, (uint16_t)((total - 8) / 8));
	put_le16(pkt + 6, VMBUS_PKT_FLAG_COMPLETION_REQUESTED);
	put_le64(pkt + 8, ++f->tid);
	memcpy(pkt + 16, body, len);
	put_le64(pkt + total - 8, (uint64_t)w << 32);
	for (i = 0; i < total; i++)
		data[(w + i) % OUT_SIZE] = pkt[i];
	ctrl->write_index = (w + total) % OUT_SIZE;
	fz_kick(f);
}

static void fz_nvsp(struct fz *f, uint32_t type, uint32_t a, uint32_t b,
		    uint32_t c)
{
	uint8_t m[NVSP_MSG_SIZE] = { 0 };

	put_le32(m, type);
	put_le32(m + 4, a);
	put_le32(m + 8, b);
	put_le32(m + 12, c);
	fz_packet(f, VMBUS_PKT_DATA_INBAND, 2, m, sizeof(m));
}

/* RNDIS bytes in send section @sec (0xff: GPA-direct pages). */
static void fz_rndis(struct fz *f, uint8_t sec, uint32_t chan,
		     const uint8_t *msg, uint32_t len, uint32_t size)
{
	if (sec == 0xff) {
		uint8_t body[8 + 8 + 8 * 2 + NVSP_MSG_SIZE] = { 0 };

		memcpy(f->ram + BUF_GPA + 100, msg, MIN(len, 8000u));
		put_le32(body + 4, 1);
		put_le32(body + 8, size % 8192);
		put_le32(body + 12, 100);
		put_le64(body + 16, BUF_GPA / 4096);
		put_le64(body + 24, BUF_GPA / 4096 + 1);
		put_le32(body + 32, NVSP_MSG1_SEND_RNDIS_PKT);
		put_le32(body + 36, chan);
		put_le32(body + 40, NVSP_INVALID_SECTION);
		fz_packet(f, VMBUS_PKT_DATA_USING_GPA_DIRECT, 6, body,
			  sizeof(body));
		return;
	}
	if ((uint32_t)(sec % 3) * 6144 + len <= SEND_PAGES * 4096u)
		memcpy(f->ram + SEND_GPA + (sec % 3) * 6144, msg, len);
	fz_nvsp(f, NVSP_MSG1_SEND_RNDIS_PKT, chan, sec, size);
}

static void fz_init(struct fz *f, const uint8_t *d, uint32_t len)
{
	static const uint32_t v[] = { NVSP_VERSION_61, NVSP_VERSION_6,
				      NVSP_VERSION_5,  NVSP_VERSION_4,
				      NVSP_VERSION_2,  NVSP_VERSION_1 };
	uint8_t m[32] = { 0 };
	uint32_t lo = v[(len ? d[0] : 0) % ARRAY_SIZE(v)];

	fz_nvsp(f, NVSP_MSG_INIT, lo, len > 1 ? v[d[1] % ARRAY_SIZE(v)] : lo,
		0);
	fz_nvsp(f, NVSP_MSG2_SEND_NDIS_CONFIG, 1514, 0, 0);
	fz_nvsp(f, NVSP_MSG1_SEND_NDIS_VER, 6, 30, 0);
	fz_nvsp(f, NVSP_MSG1_SEND_RECV_BUF, 0x200, NVSP_RECV_BUF_ID, 0);
	fz_nvsp(f, NVSP_MSG1_SEND_SEND_BUF, 0x300, 0, 0);
	put_le32(m, RNDIS_MSG_INIT);
	put_le32(m + 4, 24);
	put_le32(m + 12, 1);
	fz_rndis(f, 0, NVSP_RNDIS_CHANNEL_CONTROL, m, 24, 24);
	memset(m, 0, sizeof(m));
	put_le32(m, RNDIS_MSG_SET);
	put_le32(m + 4, 32);
	put_le32(m + 12, RNDIS_OID_GEN_CURRENT_PACKET_FILTER);
	put_le32(m + 16, 4);
	put_le32(m + 20, 20);
	put_le32(m + 28, len > 2 ? d[2] : 0x2f);
	fz_rndis(f, 1, NVSP_RNDIS_CHANNEL_CONTROL, m, 32, 32);
}

static void fz_drain(struct fz *f)
{
	struct vmbus_ring_ctrl *in =
		(void *)(f->ram + RING_GPA + RING_PAGES / 2 * 4096);

	in->read_index = in->write_index;
	fz_kick(f);
	net_poll(f->nb);
}

static void fz_gpadl(struct fz *f, uint32_t handle, uint64_t gpa,
		     unsigned int pages)
{
	uint8_t m[VMBUS_MAX_MESSAGE_SIZE];
	unsigned int i;

	memset(m, 0, sizeof(m));
	put_le32(m, VMBUS_MSG_GPADL_HEADER);
	put_le32(m + 8, 1);
	put_le32(m + 12, handle);
	put_le16(m + 16, (uint16_t)(8 + 8 * pages));
	put_le16(m + 18, 1);
	put_le32(m + 20, pages * 4096);
	for (i = 0; i < pages; i++)
		put_le64(m + 28 + 8 * i, gpa / 4096 + i);
	fz_send(f, m, 28 + 8 * pages);
}

static void fz_setup(struct fz *f)
{
	static const struct vmbus_host_ops ops = {
		.post_message = fz_post,
		.signal_event = fz_signal,
		.register_message = fz_reg_msg,
		.register_event = fz_reg_ev,
	};
	struct vmbus_host_ops o = ops;
	struct vmbus_server_params p = { 0 };
	struct netvsp_params np = {
		.name = "net0",
		.instance_id = "5620e0c7-8062-4dce-aeb7-520c7ef76200",
		.mac = { 0x02, 1, 2, 3, 4, 5 },
	};
	struct vmbus_msg_initiate_contact c = { 0 };
	struct vmbus_msg_hdr h = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
	struct vmbus_msg_open_channel oc;

	o.opaque = f;
	gmem_init(&f->gm);
	gmem_add_region(&f->gm, 0, RAM_SIZE, f->ram, false);
	p.gm = &f->gm;
	p.nr_vcpus = 2;
	p.ops = &o;
	if (net_fake_create(&f->nb))
		abort();
	np.nb = f->nb;
	if (vmbus_server_create(&p, &f->srv) ||
	    netvsp_create(f->srv, &np, &f->nv))
		abort();
	f->link = true;
	c.hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT;
	c.version_requested = VMBUS_VERSION_WIN10_V5_3;
	c.msg_sint = 2;
	fz_send(f, &c, sizeof(c));
	fz_send(f, &h, sizeof(h));
	fz_gpadl(f, 0x100, RING_GPA, RING_PAGES);
	fz_gpadl(f, 0x200, RECV_GPA, RECV_PAGES);
	fz_gpadl(f, 0x300, SEND_GPA, SEND_PAGES);
	memset(&oc, 0, sizeof(oc));
	oc.hdr.msgtype = VMBUS_MSG_OPENCHANNEL;
	oc.child_relid = 1;
	oc.ringbuffer_gpadl = 0x100;
	oc.downstream_page_offset = RING_PAGES / 2;
	fz_send(f, &oc, sizeof(oc));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	struct fz *f = calloc(1, sizeof(*f));
	size_t pos = 0;
	uint32_t i;

	if (!ram)
		ram = malloc(RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	f->ram = ram;
	log_set_level(LOG_ERR);
	fz_setup(f);
	while (pos + 2 <= size) {
		uint8_t op = data[pos], len = data[pos + 1];
		const uint8_t *d = data + pos + 2;

		if (len > size - pos - 2)
			len = (uint8_t)(size - pos - 2);
		pos += 2u + len;
		switch (op % 6) {
		case 0:
			if (len >= 2)
				fz_packet(
					f,
					d[0] % 3 == 0 ?
						VMBUS_PKT_DATA_INBAND :
					d[0] % 3 == 1 ?
						VMBUS_PKT_DATA_USING_GPA_DIRECT :
						VMBUS_PKT_COMP,
					(uint16_t)(2 + d[1] % 40), d + 2,
					len - 2u);
			break;
		case 1:
			fz_init(f, d, len);
			break;
		case 2:
			if (len >= 4)
				fz_rndis(f, d[0], d[1] & 1, d + 4, len - 4u,
					 get_le16(d + 2));
			break;
		case 3:
			if (len)
				net_fake_inject(f->nb, d, len);
			break;
		case 4:
			for (i = 0; i + 1 < len; i += 2) {
				uint8_t m[8] = { 0 };
				uint64_t tid = d[i] & 0x80 ?
						       ((uint64_t)d[i] << 8 |
							d[i + 1]) :
						       0x4e56000000000000ull |
							       d[i + 1];

				put_le32(m, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE);
				put_le32(m + 4, NVSP_STAT_SUCCESS);
				f->tid = tid - 1; /* fz_packet uses ++tid */
				fz_packet(f, VMBUS_PKT_COMP, 2, m, sizeof(m));
			}
			break;
		case 5:
			fz_drain(f);
			if (len && (d[0] & 1)) {
				f->link = !f->link;
				netvsp_set_link(f->nv, f->link);
			}
			break;
		}
	}
	vmbus_server_destroy(f->srv);
	net_close(f->nb);
	free(f);
	return 0;
}
