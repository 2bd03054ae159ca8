// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the VMBus channel-management message handler and the
 * ring readers, driven by a hostile guest.
 *
 * Every run builds a server with an echo device and the four ICs, connects
 * and opens the echo and heartbeat channels the way Linux does (so the
 * fuzzer starts past the handshake), then interprets the input as records
 *   [op][len][len bytes]
 *   op % 5 == 0: post the bytes as a channel message (connection 1)
 *   op % 5 == 1: copy the bytes into guest RAM at the ring area, at the
 *                offset given by the first two bytes (scribble on rings)
 *   op % 5 == 2: signal the channel whose relid is the first byte
 *   op % 5 == 3: tick the ICs (time advances by the first byte, seconds)
 *   op % 5 == 4: append a well-formed inband packet to the echo ring
 * The host must never crash, leak or touch memory outside guest RAM.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/ring.h"
#include "hvkvm/util.h"
#include "hvkvm/vmbus.h"

#define RAM_SIZE (1u << 20)
#define RING_GPA 0x10000u
#define RING_PAGES 8 /* echo: 4 out + 4 in */
#define HB_GPA 0x18000u

struct fz {
	struct gmem gm;
	uint8_t *ram;
	struct vmbus_server *srv;
	vmbus_post_message_fn msg_fn;
	void *msg_arg;
	vmbus_signal_event_fn ev_fn[VMBUS_MAX_RELID];
	void *ev_arg[VMBUS_MAX_RELID];
	uint64_t now;
};

static int fz_post(void *o, unsigned int vp, unsigned int sint, uint32_t type,
		   const void *p, uint32_t len)
{
	return len <= VMBUS_MAX_MESSAGE_SIZE ? 0 : -1;
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
	uint32_t relid = conn >= VMBUS_CHANNEL_CONN_BASE ?
				 conn - VMBUS_CHANNEL_CONN_BASE :
				 0;

	if (relid < VMBUS_MAX_RELID) {
		f->ev_fn[relid] = fn;
		f->ev_arg[relid] = arg;
	}
	return 0;
}

static void fz_send(struct fz *f, const void *msg, uint32_t len)
{
	f->msg_fn(f->msg_arg, 0, VMBUS_MESSAGE_TYPE, msg, len);
	vmbus_server_process(f->srv);
}

static int echo_packet(struct vmbus_channel *ch, const struct vmbus_packet *p)
{
	struct vmbus_range r[4];

	if (p->type == VMBUS_PKT_DATA_USING_GPA_DIRECT)
		vmbus_packet_gpa_ranges(ch, p, r, 4);
	return vmbus_channel_send(ch, VMBUS_PKT_COMP, 0, p->trans_id, p->data,
				  MIN(p->data_len, 64u));
}

static const struct vmbus_device_ops echo_ops = { .packet = echo_packet };

static void fz_gpadl_open(struct fz *f, uint32_t relid, uint32_t handle,
			  uint64_t gpa, unsigned int pages)
{
	uint8_t m[VMBUS_MAX_MESSAGE_SIZE];
	struct vmbus_msg_open_channel o;
	unsigned int i;

	memset(m, 0, sizeof(m));
	put_le32(m, VMBUS_MSG_GPADL_HEADER);
	put_le32(m + 8, relid);
	put_le32(m + 12, handle);
	put_le16(m + 16, (uint16_t)(8 + 8 * pages));
	put_le16(m + 18, 1);
	put_le32(m + 20, pages * 4096);
	for (i = 0; i < pages; i++)
		put_le64(m + 28 + 8 * i, (gpa >> 12) + i);
	fz_send(f, m, 28 + 8 * pages);
	memset(&o, 0, sizeof(o));
	o.hdr.msgtype = VMBUS_MSG_OPENCHANNEL;
	o.child_relid = relid;
	o.ringbuffer_gpadl = handle;
	o.downstream_page_offset = pages / 2;
	fz_send(f, &o, sizeof(o));
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
	struct vmbus_device_params dp = { 0 };
	struct vmbus_msg_initiate_contact c = { 0 };
	struct vmbus_msg_hdr h = { .msgtype = VMBUS_MSG_REQUESTOFFERS };

	o.opaque = f;
	gmem_init(&f->gm);
	gmem_add_region(&f->gm, 0, RAM_SIZE, f->ram, false);
	p.gm = &f->gm;
	p.nr_vcpus = 2;
	p.ops = &o;
	if (vmbus_server_create(&p, &f->srv))
		abort();
	dp.name = "echo";
	dp.ops = &echo_ops;
	vmbus_device_add(f->srv, &dp, NULL); /* relid 1 */
	ic_heartbeat_create(f->srv, NULL);   /* relid 2 */
	ic_shutdown_create(f->srv, NULL);
	ic_timesync_create(f->srv, NULL);
	ic_kvp_create(f->srv, NULL);
	c.hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT;
	c.version_requested = VMBUS_VERSION_WIN10_V5_3;
	c.msg_sint = 2;
	fz_send(f, &c, sizeof(c));
	fz_send(f, &h, sizeof(h));
	fz_gpadl_open(f, 1, 0x100, RING_GPA, RING_PAGES);
	fz_gpadl_open(f, 2, 0x101, HB_GPA, 8);
}

static void fz_echo_packet(struct fz *f, const uint8_t *d, uint32_t len)
{
	struct vmbus_ring_ctrl *ctrl = (void *)(f->ram + RING_GPA);
	uint8_t *data = f->ram + RING_GPA + 4096;
	const uint32_t size = (RING_PAGES / 2 - 1) * 4096;
	uint32_t w = ctrl->write_index % size, total = ring_pkt_size(len), i;
	uint8_t pkt[300];

	if (total > sizeof(pkt))
		return;
	memset(pkt, 0, sizeof(pkt));
	put_le16(pkt, VMBUS_PKT_DATA_INBAND);
	put_le16(pkt + 2, 2);
	put_le16(pkt + 4, (uint16_t)((total - 8) / 8));
	memcpy(pkt + 16, d, len);
	put_le64(pkt + total - 8, (uint64_t)w << 32);
	for (i = 0; i < total; i++)
		data[(w + i) % size] = pkt[i];
	ctrl->write_index = (w + total) % size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	struct fz *f = calloc(1, sizeof(*f));
	size_t pos = 0;

	if (!ram)
		ram = malloc(RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	f->ram = ram;
	log_set_level(LOG_ERR);
	fz_setup(f);
	while (pos + 2 <= size) {
		uint8_t op = data[pos], len = data[pos + 1];
		const uint8_t *d = data + pos + 2;
		uint32_t off;

		if (len > size - pos - 2)
			len = (uint8_t)(size - pos - 2);
		pos += 2u + len;
		switch (op % 5) {
		case 0:
			fz_send(f, d, len);
			break;
		case 1:
			if (len < 2)
				break;
			off = get_le16(d) % (0x10000 - 256);
			memcpy(ram + RING_GPA + off, d + 2, len - 2u);
			break;
		case 2:
			if (len && f->ev_fn[d[0] % VMBUS_MAX_RELID]) {
				uint32_t r = d[0] % VMBUS_MAX_RELID;

				f->ev_fn[r](f->ev_arg[r], 0, 0);
				vmbus_server_process(f->srv);
			}
			break;
		case 3:
			f->now += (len ? d[0] : 1) * 1000000000ULL;
			vmbus_server_tick(f->srv, f->now);
			vmbus_server_process(f->srv);
			break;
		case 4:
			fz_echo_packet(f, d, len);
			f->ev_fn[1](f->ev_arg[1], 0, 0);
			vmbus_server_process(f->srv);
			break;
		}
	}
	vmbus_server_destroy(f->srv);
	free(f);
	return 0;
}
