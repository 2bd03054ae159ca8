// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: storvsp (vmbus/vsp/storvsp.c, scsi_disk.c) driven by
 * a hostile storvsc. Every run builds a VMBus server with one storvsp
 * controller (LUN 0 on a 1 MiB raw file, LUN 1 read-only on the same
 * file), connects and opens its channel like Linux, then interprets the
 * input as records [op][len][len bytes]:
 *   op % 4 == 0: the bytes as one guest packet: type (INBAND or
 *                GPA_DIRECT) from the first byte, offset8 from the
 *                second, the rest from the descriptor's end on (ranges,
 *                vstor packet: all hostile)
 *   op % 4 == 1: storvsc's init sequence, version picked by the first byte
 *   op % 4 == 2: a well-formed GPA-direct SRB around hostile fields: LUN,
 *                CDB length, direction, transfer length, CDB, page offset
 *   op % 4 == 3: the guest drains its ring and signals; backend
 *                completions run
 * The host must never crash, leak or touch memory outside guest RAM.
 */
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../vmbus/vsp/storvsp_proto.h"
#include "hvkvm/ring.h"
#include "hvkvm/storvsp.h"
#include "hvkvm/util.h"
#include "hvkvm/vmbus.h"

#define RAM_SIZE (1u << 20)
#define RING_GPA 0x10000u
#define RING_PAGES 8 /* 4 out + 4 in */
#define BUF_GPA 0x40000u
#define OUT_SIZE ((RING_PAGES / 2 - 1) * 4096u)

struct fz {
	struct gmem gm;
	uint8_t *ram;
	struct vmbus_server *srv;
	struct storvsp *sv;
	vmbus_post_message_fn msg_fn;
	void *msg_arg;
	vmbus_signal_event_fn ev_fn;
	void *ev_arg;
	uint64_t tid;
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

static void fz_completions(struct fz *f, int wait_ms)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct pollfd p = { .fd = storvsp_completion_fd(f->sv, i),
				    .events = POLLIN };

		if (poll(&p, 1, wait_ms) > 0)
			storvsp_evloop_ready(storvsp_lun_opaque(f->sv, i), 0);
	}
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

static void fz_op(struct fz *f, uint32_t op, uint16_t arg)
{
	struct vstor_packet vp = { .operation = op };

	vp.version.major_minor = arg;
	fz_packet(f, VMBUS_PKT_DATA_INBAND, 2, (const uint8_t *)&vp,
		  sizeof(vp));
}

static void fz_init(struct fz *f, uint8_t sel)
{
	static const uint16_t v[] = { VSTOR_VERSION_WIN10, VSTOR_VERSION_WIN8_1,
				      VSTOR_VERSION_WIN8, VSTOR_VERSION_WIN7,
				      VSTOR_VERSION_WIN6 };

	fz_op(f, VSTOR_OP_BEGIN_INITIALIZATION, 0);
	fz_op(f, VSTOR_OP_QUERY_PROTOCOL_VERSION, v[sel % ARRAY_SIZE(v)]);
	fz_op(f, VSTOR_OP_QUERY_PROPERTIES, 0);
	fz_op(f, VSTOR_OP_END_INITIALIZATION, 0);
	if (sel & 0x80)
		fz_op(f, VSTOR_OP_CREATE_SUB_CHANNELS, 1);
}

/* d: [lun][cdb_len][data_in][len lo][len hi][off lo][off hi][cdb...] */
static void fz_srb(struct fz *f, const uint8_t *d, uint32_t len)
{
	uint8_t body[8 + 8 + 8 * 8 + sizeof(struct vstor_packet)];
	struct vstor_packet vp = { .operation = VSTOR_OP_EXECUTE_SRB };
	uint32_t xfer, off, np, i, pos = 8;

	if (len < 7)
		return;
	xfer = get_le16(d + 3) * 8u % (7 * 4096);
	off = get_le16(d + 5) % 4096;
	np = (off + xfer + 4095) / 4096;
	vp.srb.lun = d[0];
	vp.srb.cdb_length = d[1];
	vp.srb.data_in = d[2] % 3;
	vp.srb.data_transfer_length = xfer;
	vp.srb.sense_info_length = 20;
	memcpy(vp.srb.cdb_sense, d + 7, MIN(len - 7, 16u));
	memset(body, 0, sizeof(body));
	put_le32(body + 4, xfer ? 1 : 0);
	if (xfer) {
		put_le32(body + pos, xfer);
		put_le32(body + pos + 4, off);
		pos += 8;
		for (i = 0; i < np; i++, pos += 8)
			put_le64(body + pos, BUF_GPA / 4096 + i);
	}
	memcpy(body + pos, &vp, sizeof(vp));
	fz_packet(f, VMBUS_PKT_DATA_USING_GPA_DIRECT,
		  (uint16_t)((16 + pos) / 8), body, pos + (uint32_t)sizeof(vp));
}

static void fz_drain(struct fz *f)
{
	struct vmbus_ring_ctrl *in =
		(void *)(f->ram + RING_GPA + RING_PAGES / 2 * 4096);

	fz_completions(f, 0);
	in->read_index = in->write_index;
	fz_kick(f);
}

static struct block_dev *fz_disk(bool ro)
{
	static char path[64];
	struct block_opts o;
	struct block_dev *bd;
	int fd;

	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/fuzz_storvsp.XXXXXX");
		fd = mkstemp(path);
		if (fd < 0 || ftruncate(fd, 1 << 20))
			abort();
		close(fd);
	}
	block_opts_init(&o);
	o.format = BLOCK_FORMAT_RAW;
	o.cache = BLOCK_CACHE_WRITEBACK;
	o.readonly = ro;
	if (block_open(path, &o, &bd))
		abort();
	return bd;
}

static void fz_setup(struct fz *f, struct block_dev **bd)
{
	static const struct vmbus_host_ops ops = {
		.post_message = fz_post,
		.signal_event = fz_signal,
		.register_message = fz_reg_msg,
		.register_event = fz_reg_ev,
	};
	struct vmbus_host_ops o = ops;
	struct vmbus_server_params p = { 0 };
	struct storvsp_lun_config l[2] = {
		{ .bd = bd[0], .lun = 0 },
		{ .bd = bd[1], .lun = 1, .readonly = true }
	};
	struct storvsp_params sp = {
		.name = "scsi0",
		.instance_id = "f8b3781b-1e82-4818-a1c3-63d806ec15bb",
		.max_subchannels = 1,
		.luns = l,
		.nr_luns = 2
	};
	struct vmbus_msg_initiate_contact c = { 0 };
	struct vmbus_msg_hdr h = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
	uint8_t m[VMBUS_MAX_MESSAGE_SIZE];
	struct vmbus_msg_open_channel oc;
	unsigned int i;

	o.opaque = f;
	gmem_init(&f->gm);
	gmem_add_region(&f->gm, 0, RAM_SIZE, f->ram, false);
	p.gm = &f->gm;
	p.nr_vcpus = 2;
	p.ops = &o;
	if (vmbus_server_create(&p, &f->srv) ||
	    storvsp_create(f->srv, &sp, &f->sv))
		abort();
	c.hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT;
	c.version_requested = VMBUS_VERSION_WIN10_V5_3;
	c.msg_sint = 2;
	fz_send(f, &c, sizeof(c));
	fz_send(f, &h, sizeof(h));
	memset(m, 0, sizeof(m));
	put_le32(m, VMBUS_MSG_GPADL_HEADER);
	put_le32(m + 8, 1);
	put_le32(m + 12, 0x100);
	put_le16(m + 16, (uint16_t)(8 + 8 * RING_PAGES));
	put_le16(m + 18, 1);
	put_le32(m + 20, RING_PAGES * 4096);
	for (i = 0; i < RING_PAGES; i++)
		put_le64(m + 28 + 8 * i, RING_GPA / 4096 + i);
	fz_send(f, m, 28 + 8 * RING_PAGES);
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
	struct block_dev *bd[2];
	struct fz *f = calloc(1, sizeof(*f));
	size_t pos = 0;

	if (!ram)
		ram = malloc(RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	f->ram = ram;
	log_set_level(LOG_ERR);
	bd[0] = fz_disk(false);
	bd[1] = fz_disk(true);
	fz_setup(f, bd);
	while (pos + 2 <= size) {
		uint8_t op = data[pos], len = data[pos + 1];
		const uint8_t *d = data + pos + 2;

		if (len > size - pos - 2)
			len = (uint8_t)(size - pos - 2);
		pos += 2u + len;
		switch (op % 4) {
		case 0:
			if (len >= 2)
				fz_packet(
					f,
					d[0] & 1 ?
						VMBUS_PKT_DATA_USING_GPA_DIRECT :
						VMBUS_PKT_DATA_INBAND,
					(uint16_t)(2 + d[1] % 40), d + 2,
					len - 2u);
			break;
		case 1:
			fz_init(f, len ? d[0] : 0);
			break;
		case 2:
			fz_srb(f, d, len);
			break;
		case 3:
			fz_drain(f);
			break;
		}
	}
	fz_completions(f, 0);
	fz_drain(f);
	/* Backends first: their last completions reach a live server. */
	block_close(bd[0]);
	block_close(bd[1]);
	vmbus_server_destroy(f->srv);
	free(f);
	return 0;
}
