// SPDX-License-Identifier: MIT
/*
 * Unit tests: storvsp (vmbus/vsp/storvsp.c, scsi_disk.c). The harness guest
 * speaks like Linux 6.1 hv_storvsc: storvsc_channel_init()'s sequence
 * (BEGIN_INITIALIZATION, QUERY_PROTOCOL_VERSION for 6.2/6.0/5.1,
 * QUERY_PROPERTIES, END_INITIALIZATION), then storvsc_do_io()'s
 * EXECUTE_SRB packets: inband without data, GPA-direct with one page
 * range otherwise. Disks are temporary raw files on the real block
 * backend; completions are driven on the test thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <stdio.h>

#include "../../vmbus/vsp/storvsp_proto.h"
#include "hvkvm/channel.h"
#include "hvkvm/storvsp.h"
#include "test_vmbus_guest.h"

#define DISK_SIZE (4u << 20)
#define INSTANCE "f8b3781b-1e82-4818-a1c3-63d806ec15bb"

struct gsv {
	struct tg t;
	struct tg_chan c;
	struct storvsp *sv;
	struct block_dev *bd[2];
	char path[2][64];
	unsigned int nr_luns;
	uint64_t tid;
	uint16_t version;	  /* negotiated: packet sizes */
	uint8_t target;		  /* SRB target_id */
	uint8_t path_id;	  /* SRB path_id */
	struct block_dev *hot_bd; /* hot-added LUN */
	void *hot_opaque;
	struct vmbus_msg_offer_channel offer;
};

static void gsv_disk(struct gsv *g, unsigned int i, bool readonly)
{
	struct block_opts o;
	int fd;

	snprintf(g->path[i], sizeof(g->path[i]), "/tmp/test_storvsp.XXXXXX");
	fd = mkstemp(g->path[i]);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DISK_SIZE), 0);
	close(fd);
	block_opts_init(&o);
	o.format = BLOCK_FORMAT_RAW;
	o.cache = BLOCK_CACHE_WRITEBACK;
	o.readonly = readonly;
	assert_int_equal(block_open(g->path[i], &o, &g->bd[i]), 0);
}

/*
 * Controller with @nr LUNs (LUN 0 and 1; with @lun1_t1 the second is
 * target 1, LUN 0), guest connected and opened; @ide: the IDE class.
 */
static void gsv_up_ex(struct gsv *g, unsigned int nr, bool readonly,
		      unsigned int max_sub, unsigned int in_pages, bool ide,
		      bool lun1_t1)
{
	struct storvsp_lun_config l[2];
	struct vmbus_msg_offer_channel o = { 0 };
	struct storvsp_params p = {
		.name = "scsi0",
		.instance_id = INSTANCE,
		.max_subchannels = max_sub,
		.luns = l,
		.nr_luns = nr,
		.ide = ide,
	};
	unsigned int i;

	memset(g, 0, sizeof(*g));
	memset(l, 0, sizeof(l));
	g->nr_luns = nr;
	for (i = 0; i < nr; i++) {
		gsv_disk(g, i, readonly);
		l[i].bd = g->bd[i];
		l[i].lun = i;
		l[i].readonly = readonly;
	}
	if (lun1_t1 && nr > 1) {
		l[1].target = 1;
		l[1].lun = 0;
	}
	tg_init(&g->t, 4);
	assert_int_equal(storvsp_create(g->t.srv, &p, &g->sv), 0);
	tg_contact(&g->t, VMBUS_VERSION_WIN10_V5_3, 2, true);
	assert_int_equal(tg_request_offers(&g->t, &o, 1), 1);
	g->offer = o;
	tg_open(&g->t, &g->c, o.child_relid, 8, in_pages);
	g->tid = 100;
}

static void gsv_up(struct gsv *g, unsigned int nr, bool readonly,
		   unsigned int max_sub, unsigned int in_pages)
{
	gsv_up_ex(g, nr, readonly, max_sub, in_pages, false, false);
}

static void gsv_down(struct gsv *g)
{
	unsigned int i;

	/* Backends first: their last completions reach a live server. */
	for (i = 0; i < g->nr_luns; i++) {
		block_close(g->bd[i]);
		unlink(g->path[i]);
	}
	if (g->hot_bd)
		block_close(g->hot_bd);
	tg_fini(&g->t);
}

static void gsv_kick(struct gsv *g)
{
	tg_signal_conn(&g->t, VMBUS_CHANNEL_CONN_BASE + g->c.relid);
}

/* Run backend completions until @n requests ended (or time out). */
static void gsv_complete(struct gsv *g)
{
	unsigned int i, k;

	for (k = 0; k < 400; k++) {
		bool any = false;

		for (i = 0; i < g->nr_luns; i++) {
			struct pollfd pf = {
				.fd = storvsp_completion_fd(g->sv, i),
				.events = POLLIN,
			};

			if (poll(&pf, 1, 5) > 0) {
				storvsp_evloop_ready(
					storvsp_lun_opaque(g->sv, i), 0);
				any = true;
			}
		}
		if (g->hot_bd) {
			struct pollfd pf = {
				.fd = block_completion_fd(g->hot_bd),
				.events = POLLIN,
			};

			if (poll(&pf, 1, 5) > 0) {
				storvsp_evloop_ready(g->hot_opaque, 0);
				any = true;
			}
		}
		/* Done once idle with an answer waiting (or after ~2 s). */
		if (!any && k > 2 &&
		    g->c.in.ctrl->read_index != g->c.in.ctrl->write_index)
			return;
	}
}

/* Read the next host packet; fails if none. Returns payload bytes. */
static int gsv_recv(struct gsv *g, struct vmbus_pkt_desc *d,
		    struct vstor_packet *vp)
{
	uint8_t buf[256];
	int n;

	gsv_complete(g);
	n = tg_read(&g->c.in, d, buf, sizeof(buf));
	assert_true(n >= 0);
	memset(vp, 0, sizeof(*vp));
	memcpy(vp, buf, MIN((size_t)n, sizeof(*vp)));
	return n;
}

/* Guest writes a GPA-direct packet: one range per @pfns list. */
static void gsv_write_gpa(struct tg_ring *r, uint64_t tid, uint32_t nranges,
			  const uint32_t *counts, const uint32_t *offsets,
			  const uint64_t *const *pfns, const void *payload,
			  uint32_t len)
{
	uint8_t hdr[4096];
	uint32_t hl = 24, i, total, w = r->ctrl->write_index;
	struct vmbus_pkt_desc *d = (void *)hdr;
	uint64_t trailer = (uint64_t)w << 32;
	uint8_t zero[8] = { 0 };

	memset(hdr, 0, sizeof(hdr));
	put_le32(hdr + 20, nranges);
	for (i = 0; i < nranges; i++) {
		uint32_t np = (offsets[i] + counts[i] + 4095) / 4096;

		put_le32(hdr + hl, counts[i]);
		put_le32(hdr + hl + 4, offsets[i]);
		memcpy(hdr + hl + 8, pfns[i], np * 8);
		hl += 8 + np * 8;
	}
	total = ring_pkt_size(hl - 16 + len);
	d->type = VMBUS_PKT_DATA_USING_GPA_DIRECT;
	d->flags = VMBUS_PKT_FLAG_COMPLETION_REQUESTED;
	d->offset8 = (uint16_t)(hl / 8);
	d->len8 = (uint16_t)((total - 8) / 8);
	d->trans_id = tid;
	tg_ring_put(r, w, hdr, hl);
	tg_ring_put(r, w + hl, payload, len);
	for (i = hl + len; i < total - 8; i += 8)
		tg_ring_put(r, w + i, zero, MIN(8u, total - 8 - i));
	tg_ring_put(r, w + total - 8, &trailer, 8);
	r->ctrl->write_index = (w + total) % r->size;
}

/* One control operation; returns the answer's NT status. */
static uint32_t gsv_op(struct gsv *g, uint32_t op, uint16_t arg)
{
	struct vstor_packet vp = { .operation = op,
				   .flags = VSTOR_FLAG_REQUEST_COMPLETION };
	struct vmbus_pkt_desc d;
	uint64_t tid = ++g->tid;
	int n;

	if (op == VSTOR_OP_QUERY_PROTOCOL_VERSION)
		vp.version.major_minor = arg;
	if (op == VSTOR_OP_CREATE_SUB_CHANNELS)
		vp.sub_channel_count = arg;
	assert_int_equal(tg_write(&g->c.out, VMBUS_PKT_DATA_INBAND, tid, &vp,
				  sizeof(vp)),
			 0);
	gsv_kick(g);
	n = gsv_recv(g, &d, &vp);
	assert_int_equal(d.type, VMBUS_PKT_COMP);
	assert_int_equal(d.trans_id, tid);
	assert_int_equal(n, VSTOR_PACKET_SIZE); /* as long as the request */
	assert_int_equal(vp.operation, VSTOR_OP_COMPLETE_IO);
	if (op == VSTOR_OP_QUERY_PROPERTIES) {
		assert_int_equal(vp.props.max_transfer_bytes,
				 STORVSP_MAX_TRANSFER);
	}
	return vp.status;
}

/* storvsc_channel_init() as Linux 6.1 runs it. */
static void gsv_init(struct gsv *g, uint16_t version)
{
	assert_int_equal(gsv_op(g, VSTOR_OP_BEGIN_INITIALIZATION, 0), 0);
	assert_int_equal(gsv_op(g, VSTOR_OP_QUERY_PROTOCOL_VERSION, version),
			 0);
	assert_int_equal(gsv_op(g, VSTOR_OP_QUERY_PROPERTIES, 0), 0);
	assert_int_equal(gsv_op(g, VSTOR_OP_END_INITIALIZATION, 0), 0);
	g->version = version;
}

struct srb_result {
	uint8_t srb_status, scsi_status, sense_len;
	uint8_t sense[20];
	uint32_t xfer;
	uint32_t status;
};

/*
 * One SRB for @lun: @len bytes of guest memory at @gpa (0 = inband),
 * @dir VSTOR_*_TYPE. @raw_len overrides the packet size when nonzero.
 */
static void gsv_srb_full(struct gsv *g, uint8_t lun, const uint8_t *cdb,
			 uint8_t cdb_len, uint8_t dir, uint64_t gpa,
			 uint32_t len, uint32_t want, uint32_t raw_len,
			 struct srb_result *res)
{
	uint32_t plen = g->version >= VSTOR_VERSION_WIN8 ?
				VSTOR_PACKET_SIZE :
				VSTOR_PACKET_SIZE_PRE_WIN8;
	struct vstor_packet vp = { .operation = VSTOR_OP_EXECUTE_SRB,
				   .flags = VSTOR_FLAG_REQUEST_COMPLETION };
	struct vmbus_pkt_desc d;
	uint64_t tid = ++g->tid;
	int n;

	vp.srb.length = (uint16_t)(plen - VSTOR_HDR_SIZE);
	vp.srb.lun = lun;
	vp.srb.target_id = g->target;
	vp.srb.path_id = g->path_id;
	vp.srb.cdb_length = cdb_len;
	vp.srb.sense_info_length = g->version >= VSTOR_VERSION_WIN8 ? 20 : 18;
	vp.srb.data_in = dir;
	vp.srb.data_transfer_length = want;
	memcpy(vp.srb.cdb_sense, cdb, MIN(cdb_len, 16));
	if (raw_len)
		plen = raw_len;
	if (!gpa) {
		assert_int_equal(tg_write(&g->c.out, VMBUS_PKT_DATA_INBAND, tid,
					  &vp, plen),
				 0);
	} else {
		uint32_t off = gpa & 4095, np = (off + len + 4095) / 4096, i;
		uint64_t pfns[300];
		const uint64_t *pl = pfns;

		for (i = 0; i < np; i++)
			pfns[i] = (gpa >> 12) + i;
		gsv_write_gpa(&g->c.out, tid, 1, &len, &off, &pl, &vp, plen);
	}
	gsv_kick(g);
	n = gsv_recv(g, &d, &vp);
	assert_int_equal(d.trans_id, tid);
	assert_int_equal(d.type, VMBUS_PKT_COMP);
	assert_int_equal(n, g->version >= VSTOR_VERSION_WIN8 ?
				    VSTOR_PACKET_SIZE :
				    VSTOR_PACKET_SIZE_PRE_WIN8);
	assert_int_equal(vp.operation, VSTOR_OP_COMPLETE_IO);
	res->status = vp.status;
	res->srb_status = vp.srb.srb_status;
	res->scsi_status = vp.srb.scsi_status;
	res->sense_len = vp.srb.sense_info_length;
	memcpy(res->sense, vp.srb.cdb_sense, 20);
	res->xfer = vp.srb.data_transfer_length;
}

static void gsv_srb(struct gsv *g, uint8_t lun, const uint8_t *cdb,
		    uint8_t cdb_len, uint8_t dir, uint64_t gpa, uint32_t len,
		    struct srb_result *res)
{
	gsv_srb_full(g, lun, cdb, cdb_len, dir, gpa, len, gpa ? len : 0, 0,
		     res);
}

static unsigned int stats_seen;

static void stats_cb(void *opaque, const char *path, uint64_t v)
{
	if (!strcmp(path, "storvsp.scsi0.requests") ||
	    !strcmp(path, "storvsp.scsi0.requests_read") ||
	    !strcmp(path, "storvsp.scsi0.completions") ||
	    !strcmp(path, "storvsp.scsi0.completion_batches"))
		assert_int_equal(v, 1);
	if (!strcmp(path, "storvsp.scsi0.bytes_read"))
		assert_int_equal(v, 1024);
	if (!strcmp(path, "storvsp.scsi0.in_flight"))
		assert_int_equal(v, 0);
	if (!strncmp(path, "storvsp.scsi0.", 14))
		stats_seen++;
}

static void assert_good(const struct srb_result *r)
{
	assert_int_equal(r->status, 0);
	assert_int_equal(r->srb_status, SRB_STATUS_SUCCESS);
	assert_int_equal(r->scsi_status, 0);
}

static void assert_sense(const struct srb_result *r, uint8_t key, uint8_t asc)
{
	assert_int_equal(r->srb_status,
			 SRB_STATUS_ERROR | SRB_STATUS_AUTOSENSE_VALID);
	assert_int_equal(r->scsi_status, 2);
	assert_true(r->sense_len >= 14);
	assert_int_equal(r->sense[0], 0x70);
	assert_int_equal(r->sense[2] & 0xf, key);
	assert_int_equal(r->sense[12], asc);
}

/* ---- init ---- */

static void test_storvsp_init_linux(void **state)
{
	struct gsv g;

	gsv_up(&g, 1, false, 0, 8);
	gsv_init(&g, VSTOR_VERSION_WIN10);
	gsv_down(&g);
}

/* Every version Linux and Windows ask for is accepted; 2.0 is refused. */
static void test_storvsp_versions(void **state)
{
	static const uint16_t ok[] = { VSTOR_VERSION_WIN10,
				       VSTOR_VERSION_WIN8_1, VSTOR_VERSION_WIN8,
				       VSTOR_VERSION_WIN7 };
	uint8_t rd[10] = { 0x28, [8] = 1 }, bad[6] = { 0xe1 };
	struct srb_result r;
	uint8_t tur[6] = { 0 };
	struct gsv g;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		gsv_up(&g, 1, false, 0, 8);
		assert_int_equal(gsv_op(&g, VSTOR_OP_BEGIN_INITIALIZATION, 0),
				 0);
		assert_int_equal(gsv_op(&g, VSTOR_OP_QUERY_PROTOCOL_VERSION,
					VSTOR_VERSION_WIN6),
				 VSTOR_STATUS_REVISION_MISMATCH);
		assert_int_equal(gsv_op(&g, VSTOR_OP_QUERY_PROTOCOL_VERSION,
					0x0703),
				 VSTOR_STATUS_REVISION_MISMATCH);
		assert_int_equal(
			gsv_op(&g, VSTOR_OP_QUERY_PROTOCOL_VERSION, ok[i]), 0);
		g.version = ok[i];
		/* Pre-Win8: 48-byte SRBs answered with 48 bytes. */
		gsv_srb(&g, 0, tur, 6, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
		assert_good(&r);
		/* Data through a page list, sense within the short union. */
		gsv_srb(&g, 0, rd, 10, VSTOR_READ_TYPE,
			tg_alloc_pages(&g.t, 1) + 8, 512, &r);
		assert_good(&r);
		assert_int_equal(r.xfer, 512);
		gsv_srb(&g, 0, bad, 6, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
		assert_sense(&r, 5, 0x20);
		assert_int_equal(r.sense_len, 18);
		gsv_down(&g);
	}
}

static void test_storvsp_properties_multichannel(void **state)
{
	struct vstor_packet vp = { .operation = VSTOR_OP_QUERY_PROPERTIES };
	struct vmbus_pkt_desc d;
	struct gsv g;

	gsv_up(&g, 1, false, 3, 8);
	gsv_op(&g, VSTOR_OP_BEGIN_INITIALIZATION, 0);
	gsv_op(&g, VSTOR_OP_QUERY_PROTOCOL_VERSION, VSTOR_VERSION_WIN10);
	assert_int_equal(tg_write(&g.c.out, VMBUS_PKT_DATA_INBAND, 7, &vp,
				  sizeof(vp)),
			 0);
	gsv_kick(&g);
	gsv_recv(&g, &d, &vp);
	assert_int_equal(vp.status, 0);
	assert_int_equal(vp.props.max_channel_cnt, 3);
	assert_int_equal(vp.props.flags, VSTOR_PROP_MULTI_CHANNEL);
	/* Sub-channels only after END_INITIALIZATION, at most 3. */
	assert_int_not_equal(gsv_op(&g, VSTOR_OP_CREATE_SUB_CHANNELS, 2), 0);
	gsv_op(&g, VSTOR_OP_END_INITIALIZATION, 0);
	assert_int_not_equal(gsv_op(&g, VSTOR_OP_CREATE_SUB_CHANNELS, 4), 0);
	assert_int_equal(gsv_op(&g, VSTOR_OP_CREATE_SUB_CHANNELS, 2), 0);
	tg_expect(&g.t, VMBUS_MSG_OFFERCHANNEL);
	tg_expect(&g.t, VMBUS_MSG_OFFERCHANNEL);
	gsv_down(&g);
}

/* An SRB on an opened sub-channel is answered there. */
static void test_storvsp_subchannel_io(void **state)
{
	const struct vmbus_msg_offer_channel *o;
	uint8_t tur[6] = { 0 };
	struct srb_result r;
	struct tg_chan prim;
	struct gsv g;

	gsv_up(&g, 1, false, 1, 8);
	gsv_init(&g, VSTOR_VERSION_WIN10);
	assert_int_equal(gsv_op(&g, VSTOR_OP_CREATE_SUB_CHANNELS, 1), 0);
	o = (const void *)tg_expect(&g.t, VMBUS_MSG_OFFERCHANNEL);
	assert_int_equal(o->sub_channel_index, 1);
	prim = g.c;
	tg_open(&g.t, &g.c, o->child_relid, 8, 8);
	gsv_srb(&g, 0, tur, 6, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
	assert_good(&r);
	g.c = prim;
	gsv_srb(&g, 0, tur, 6, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
	assert_good(&r);
	gsv_down(&g);
}

/* ---- SCSI commands ---- */

static void test_storvsp_inquiry(void **state)
{
	uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 };
	uint64_t buf;
	struct srb_result r;
	uint8_t *p;
	struct gsv g;

	gsv_up(&g, 1, false, 0, 8);
	gsv_init(&g, VSTOR_VERSION_WIN10);
	buf = tg_alloc_pages(&g.t, 1);
	p = g.t.fg.ram + buf;
	gsv_srb(&g, 0, inq, 6, VSTOR_READ_TYPE, buf, 96, &r);
	assert_good(&r);
	assert_int_equal(r.xfer, 36);
	assert_int_equal(p[0], 0);
	assert_memory_equal(p + 8, "Msft    Virtual Disk    ", 24);
	/* VPD pages. */
	inq[1] = 1;
	gsv_srb(&g, 0, inq, 6, VSTOR_READ_TYPE, buf, 96, &r);
	assert_good(&r);
	assert_int_equal(p[1], 0);
	assert_int_equal(p[3], 6);
	assert_memory_equal(p + 4, "\x00\x80\x83\xb0\xb1\xb2", 6);
	inq[2] = 0xb2;
	gsv_srb(&g, 0, inq, 6, VSTOR_READ_TYPE, buf, 96, &r);
	assert_good(&r);
	assert_int_equal(p[5] & 0xe0, 0xe0); /* LBPU LBPWS LBPWS10 */
	inq[2] = 0xb0;
	gsv_srb(&g, 0, inq, 6, VSTOR_READ_TYPE, buf, 96, &r);
	assert_good(&r);
	assert_int_equal(get_be32(p + 24), 64); /* unmap descriptors */
	inq[2] = 0x83;
	gsv_srb(&g, 0, inq, 6, VSTOR_READ_TYPE, buf, 96, &r);
	assert_good(&r);
	assert_int_equal(p[5] & 0xf, 3); /* NAA */
	inq[2] = 0x80;
	gsv_srb(&g, 0, inq, 6, VSTOR_READ_TYPE, buf, 96, &r);
	assert_good(&r);
	assert_true(p[3] > 0);
	inq[2] = 0x42; /* no such page */
	gsv_srb(&g, 0, inq, 6, VSTOR_READ_TYPE, buf, 96, &r);
	assert_sense(&r, 5, 0x24);
	gsv_down(&g);
}

static void test_storvsp_capacity_mode_luns(void **state)
{
	uint8_t rc10[10] = { 0x25 };
	uint8_t rc16[16] = { 0x9e, 0x10, [13] = 32 };
	uint8_t ms6[6] = { 0x1a, 0, 0x08, 0, 64, 0 };
	uint8_t ms10[10] = { 0x5a, 0x08, 0x3f, [8] = 128 };
	uint8_t rl[12] = { 0xa0, [9] = 64 };
	struct srb_result r;
	uint64_t buf;
	uint8_t *p;
	struct gsv g;

	gsv_up(&g, 2, false, 0, 8);
	gsv_init(&g, VSTOR_VERSION_WIN10);
	buf = tg_alloc_pages(&g.t, 1);
	p = g.t.fg.ram + buf;
	gsv_srb(&g, 0, rc10, 10, VSTOR_READ_TYPE, buf, 8, &r);
	assert_good(&r);
	assert_int_equal(get_be32(p), DISK_SIZE / 512 - 1);
	assert_int_equal(get_be32(p + 4), 512);
	gsv_srb(&g, 1, rc16, 16, VSTOR_READ_TYPE, buf, 32, &r);
	assert_good(&r);
	assert_int_equal(get_be64(p), DISK_SIZE / 512 - 1);
	assert_int_equal(p[14] & 0x80, 0x80); /* LBPME: raw can discard */
	/* Caching page with WCE, after an 8-byte block descriptor. */
	gsv_srb(&g, 0, ms6, 6, VSTOR_READ_TYPE, buf, 64, &r);
	assert_good(&r);
	assert_int_equal(p[3], 8);
	assert_int_equal(p[12], 0x08);
	assert_int_equal(p[14] & 0x04, 0x04);
	assert_int_equal(r.xfer, 4 + 8 + 20);
	gsv_srb(&g, 0, ms10, 10, VSTOR_READ_TYPE, buf, 128, &r);
	assert_good(&r);
	assert_int_equal(get_be16(p) + 2, 8 + 20 + 12);
	assert_int_equal(p[8], 0x08);
	assert_int_equal(p[28], 0x0a);
	gsv_srb(&g, 0, rl, 12, VSTOR_READ_TYPE, buf, 64, &r);
	assert_good(&r);
	assert_int_equal(get_be32(p), 16);
	assert_int_equal(p[9], 0);
	assert_int_equal(p[17], 1);
	gsv_down(&g);
}

/* WRITE(10) from a page list at an offset, READ(16) back, file checked. */
static void test_storvsp_read_write(void **state)
{
	uint8_t wr[10] = { 0x2a, 0, 0, 0, 0, 16, 0, 0, 24, 0 };
	uint8_t rd[16] = { 0x88, [9] = 16, [13] = 24 };
	uint8_t sync[10] = { 0x35 };
	uint8_t rd6[6] = { 0x08, 0, 0, 16, 1, 0 };
	uint8_t file[24 * 512];
	struct srb_result r;
	uint64_t wbuf, rbuf;
	unsigned int i;
	struct gsv g;
	int fd;

	gsv_up(&g, 1, false, 0, 8);
	gsv_init(&g, VSTOR_VERSION_WIN10);
	wbuf = tg_alloc_pages(&g.t, 5) + 0x200;
	rbuf = tg_alloc_pages(&g.t, 5) + 0x600;
	for (i = 0; i < sizeof(file); i++)
		g.t.fg.ram[wbuf + i] = (uint8_t)(i * 7 + 3);
	gsv_srb(&g, 0, wr, 10, VSTOR_WRITE_TYPE, wbuf, sizeof(file), &r);
	assert_good(&r);
	assert_int_equal(r.xfer, sizeof(file));
	gsv_srb(&g, 0, sync, 10, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
	assert_good(&r);
	gsv_srb(&g, 0, rd, 16, VSTOR_READ_TYPE, rbuf, sizeof(file), &r);
	assert_good(&r);
	assert_memory_equal(g.t.fg.ram + rbuf, g.t.fg.ram + wbuf, sizeof(file));
	fd = open(g.path[0], O_RDONLY);
	assert_int_equal(pread(fd, file, sizeof(file), 16 * 512), sizeof(file));
	close(fd);
	assert_memory_equal(file, g.t.fg.ram + wbuf, sizeof(file));
	/* READ(6), one block into a larger buffer: xfer is the block. */
	memset(g.t.fg.ram + rbuf, 0, 4096);
	gsv_srb(&g, 0, rd6, 6, VSTOR_READ_TYPE, rbuf, 4096, &r);
	assert_good(&r);
	assert_int_equal(r.xfer, 512);
	assert_memory_equal(g.t.fg.ram + rbuf, g.t.fg.ram + wbuf, 512);
	gsv_down(&g);
}

/* UNMAP and WRITE SAME(16) with UNMAP punch the file; WRITE SAME fills. */
static void test_storvsp_unmap_write_same(void **state)
{
	uint8_t wr[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 64, 0 };
	uint8_t unmap[10] = { 0x42, [8] = 24 };
	uint8_t ws[16] = { 0x93, 0x08, [9] = 32, [13] = 8 };
	uint8_t wsfill[16] = { 0x93, 0x00, [9] = 48, [13] = 4 };
	uint8_t blk[512], zero[512];
	struct srb_result r;
	uint64_t buf, list;
	unsigned int i;
	struct gsv g;
	int fd;

	gsv_up(&g, 1, false, 0, 8);
	gsv_init(&g, VSTOR_VERSION_WIN10);
	buf = tg_alloc_pages(&g.t, 8);
	memset(g.t.fg.ram + buf, 0xab, 64 * 512);
	gsv_srb(&g, 0, wr, 10, VSTOR_WRITE_TYPE, buf, 64 * 512, &r);
	assert_good(&r);
	/* UNMAP blocks 8..15. */
	list = tg_alloc_pages(&g.t, 1);
	memset(g.t.fg.ram + list, 0, 24);
	put_be16(g.t.fg.ram + list, 22);
	put_be16(g.t.fg.ram + list + 2, 16);
	put_be64(g.t.fg.ram + list + 8, 8);
	put_be32(g.t.fg.ram + list + 16, 8);
	gsv_srb(&g, 0, unmap, 10, VSTOR_WRITE_TYPE, list, 24, &r);
	assert_good(&r);
	/* WRITE SAME(16) UNMAP of blocks 32..39. */
	gsv_srb(&g, 0, ws, 16, VSTOR_WRITE_TYPE, buf, 512, &r);
	assert_good(&r);
	/* WRITE SAME(16) without UNMAP: 48..51 = one pattern block. */
	memset(g.t.fg.ram + buf, 0x5c, 512);
	gsv_srb(&g, 0, wsfill, 16, VSTOR_WRITE_TYPE, buf, 512, &r);
	assert_good(&r);
	memset(zero, 0, sizeof(zero));
	fd = open(g.path[0], O_RDONLY);
	for (i = 0; i < 64; i++) {
		assert_int_equal(pread(fd, blk, 512, i * 512), 512);
		if ((i >= 8 && i < 16) || (i >= 32 && i < 40))
			assert_memory_equal(blk, zero, 512);
		else
			assert_int_equal(blk[100],
					 i >= 48 && i < 52 ? 0x5c : 0xab);
	}
	close(fd);
	/* A descriptor past the end. */
	put_be64(g.t.fg.ram + list + 8, DISK_SIZE / 512);
	gsv_srb(&g, 0, unmap, 10, VSTOR_WRITE_TYPE, list, 24, &r);
	assert_sense(&r, 5, 0x21);
	gsv_down(&g);
}

static void test_storvsp_readonly(void **state)
{
	uint8_t wr[10] = { 0x2a, [8] = 1 };
	uint8_t ms6[6] = { 0x1a, 0x08, 0x3f, 0, 64, 0 };
	struct srb_result r;
	uint64_t buf;
	struct gsv g;

	gsv_up(&g, 1, true, 0, 8);
	gsv_init(&g, VSTOR_VERSION_WIN10);
	buf = tg_alloc_pages(&g.t, 1);
	gsv_srb(&g, 0, wr, 10, VSTOR_WRITE_TYPE, buf, 512, &r);
	assert_sense(&r, 7, 0x27);
	gsv_srb(&g, 0, ms6, 6, VSTOR_READ_TYPE, buf, 64, &r);
	assert_good(&r);
	assert_int_equal(g.t.fg.ram[buf + 2] & 0x80, 0x80); /* WP */
	gsv_down(&g);
}

/* ---- hostile guests ---- */

static void test_storvsp_invalid_lun(void **state)
{
	uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t rl[12] = { 0xa0, [9] = 64 };
	uint8_t tur[6] = { 0 };
	struct srb_result r;
	uint64_t buf;
	struct gsv g;

	gsv_up(&g, 1, false, 0, 8);
	gsv_init(&g, VSTOR_VERSION_WIN10);
	buf = tg_alloc_pages(&g.t, 1);
	/* INQUIRY: qualifier 3 ends Linux's sequential scan cleanly. */
	gsv_srb(&g, 1, inq, 6, VSTOR_READ_TYPE, buf, 36, &r);
	assert_good(&r);
	assert_int_equal(g.t.fg.ram[buf], 0x7f);
	gsv_srb(&g, 200, tur, 6, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
	assert_int_equal(r.srb_status, SRB_STATUS_INVALID_LUN);
	gsv_srb(&g, 1, tur, 6, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
	assert_int_equal(r.srb_status, SRB_STATUS_INVALID_LUN);
	/* Target 1 exists (storvsc scans two) but is empty. */
	g.target = 1;
	gsv_srb(&g, 0, rl, 12, VSTOR_READ_TYPE, buf, 64, &r);
	assert_good(&r);
	assert_int_equal(get_be32(g.t.fg.ram + buf), 0);
	gsv_srb(&g, 0, tur, 6, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
	assert_int_equal(r.srb_status, SRB_STATUS_INVALID_LUN);
	/*
	 * A target we do not have: REPORT LUNS is an empty list and the rest
	 * never INVALID_LUN (storvsc would remove channel 0's LUN of that
	 * number).
	 */
	g.target = 2;
	gsv_srb(&g, 0, rl, 12, VSTOR_READ_TYPE, buf, 64, &r);
	assert_good(&r);
	assert_int_equal(get_be32(g.t.fg.ram + buf), 0);
	gsv_srb(&g, 0, tur, 6, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
	assert_int_equal(r.srb_status, SRB_STATUS_SELECTION_TIMEOUT);
	gsv_srb(&g, 0, inq, 6, VSTOR_READ_TYPE, buf, 36, &r);
	assert_good(&r);
	assert_int_equal(g.t.fg.ram[buf], 0x7f);
	gsv_down(&g);
}

static void test_storvsp_malformed(void **state)
{
	uint8_t rd[20] = { 0x28, [8] = 8 };
	uint8_t bad[10] = { 0xc7 };
	uint8_t oob[10] = { 0x28, 0, 0xff, 0xff, 0xff, 0xff, [8] = 1 };
	struct vstor_packet vp = { .operation = 99 };
	struct srb_result r;
	struct vmbus_pkt_desc d;
	uint64_t buf, pfn_far = 0x100000, pfns[2];
	const uint64_t *pl[9];
	uint32_t cnt[9], off[9];
	unsigned int i;
	struct gsv g;

	gsv_up(&g, 1, false, 0, 8);
	/* SRB before negotiation. */
	gsv_srb_full(&g, 0, rd, 10, VSTOR_UNKNOWN_TYPE, 0, 0, 0, 0, &r);
	assert_int_equal(r.status, VSTOR_STATUS_INVALID_DEVICE_STATE);
	gsv_init(&g, VSTOR_VERSION_WIN10);
	buf = tg_alloc_pages(&g.t, 2);
	/* CDB lengths 0 and 17. */
	gsv_srb(&g, 0, rd, 0, VSTOR_READ_TYPE, buf, 4096, &r);
	assert_int_equal(r.srb_status, SRB_STATUS_INVALID_REQUEST);
	gsv_srb(&g, 0, rd, 17, VSTOR_READ_TYPE, buf, 4096, &r);
	assert_int_equal(r.srb_status, SRB_STATUS_INVALID_REQUEST);
	/* READ(10) with a CDB length of 6. */
	gsv_srb(&g, 0, rd, 6, VSTOR_READ_TYPE, buf, 4096, &r);
	assert_sense(&r, 5, 0x24);
	/* Packet shorter than an SRB. */
	gsv_srb_full(&g, 0, rd, 10, VSTOR_READ_TYPE, buf, 4096, 4096, 40, &r);
	assert_int_equal(r.srb_status, SRB_STATUS_INVALID_REQUEST);
	/* Transfer length beyond the page list, and beyond the maximum. */
	gsv_srb_full(&g, 0, rd, 10, VSTOR_READ_TYPE, buf, 4096, 8192, 0, &r);
	assert_int_equal(r.srb_status, SRB_STATUS_INVALID_REQUEST);
	gsv_srb_full(&g, 0, rd, 10, VSTOR_READ_TYPE, buf, 4096,
		     STORVSP_MAX_TRANSFER + 512, 0, &r);
	assert_int_equal(r.srb_status, SRB_STATUS_INVALID_REQUEST);
	/* Page list shorter than the CDB's transfer. */
	gsv_srb(&g, 0, rd, 10, VSTOR_READ_TYPE, buf, 2048, &r);
	assert_sense(&r, 5, 0x24);
	/* LBA out of range; unknown opcode. */
	gsv_srb(&g, 0, oob, 10, VSTOR_READ_TYPE, buf, 512, &r);
	assert_sense(&r, 5, 0x21);
	gsv_srb(&g, 0, bad, 10, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
	assert_sense(&r, 5, 0x20);
	/* A PFN outside guest RAM fails this request only. */
	pfns[0] = buf >> 12;
	pfns[1] = pfn_far;
	{
		struct vstor_packet sp = { .operation = VSTOR_OP_EXECUTE_SRB };
		uint32_t n = 8192, o = 0;
		const uint64_t *p = pfns;

		sp.srb.cdb_length = 10;
		sp.srb.data_in = VSTOR_READ_TYPE;
		sp.srb.data_transfer_length = 4096;
		memcpy(sp.srb.cdb_sense, rd, 10);
		gsv_write_gpa(&g.c.out, 555, 1, &n, &o, &p, &sp, sizeof(sp));
		gsv_kick(&g);
		gsv_recv(&g, &d, &sp);
		assert_int_equal(d.trans_id, 555);
		assert_int_equal(sp.srb.srb_status, SRB_STATUS_ERROR);
		/* Nine ranges: more than a request may have. */
		for (i = 0; i < 9; i++) {
			cnt[i] = 512;
			off[i] = 0;
			pl[i] = pfns;
		}
		sp.operation = VSTOR_OP_EXECUTE_SRB;
		sp.srb.srb_status = 0;
		memcpy(sp.srb.cdb_sense, rd, 10);
		gsv_write_gpa(&g.c.out, 556, 9, cnt, off, pl, &sp, sizeof(sp));
		gsv_kick(&g);
		gsv_recv(&g, &d, &sp);
		assert_int_equal(d.trans_id, 556);
		assert_int_equal(sp.srb.srb_status, SRB_STATUS_INVALID_REQUEST);
	}
	/* Unknown operation; a runt packet is dropped, the channel lives. */
	assert_int_equal(tg_write(&g.c.out, VMBUS_PKT_DATA_INBAND, 9, &vp,
				  sizeof(vp)),
			 0);
	gsv_kick(&g);
	gsv_recv(&g, &d, &vp);
	assert_int_equal(vp.status, VSTOR_STATUS_NOT_SUPPORTED);
	assert_int_equal(tg_write(&g.c.out, VMBUS_PKT_DATA_INBAND, 10, &vp, 4),
			 0);
	gsv_kick(&g);
	assert_int_equal(tg_read(&g.c.in, &d, &vp, sizeof(vp)), -EAGAIN);
	gsv_srb(&g, 0, rd, 10, VSTOR_READ_TYPE, buf, 4096, &r);
	assert_good(&r);
	gsv_down(&g);
}

/* ---- back-pressure ---- */

/*
 * A host->guest ring of one page holds ~46 answers: 120 requests in
 * flight must all be answered, in order, once the guest drains it.
 */
static void test_storvsp_ring_full(void **state)
{
	uint8_t rd[10] = { 0x28, [8] = 1 };
	struct vstor_packet vp = { .operation = VSTOR_OP_EXECUTE_SRB };
	struct vmbus_pkt_desc d;
	uint64_t buf, pfn, next = 1000;
	unsigned int sent = 0, got = 0, k;
	struct gsv g;

	gsv_up(&g, 1, false, 0, 2);
	gsv_init(&g, VSTOR_VERSION_WIN10);
	buf = tg_alloc_pages(&g.t, 1);
	pfn = buf >> 12;
	vp.srb.cdb_length = 10;
	vp.srb.data_in = VSTOR_READ_TYPE;
	vp.srb.data_transfer_length = 512;
	memcpy(vp.srb.cdb_sense, rd, 10);
	for (k = 0; k < 400 && got < 120; k++) {
		const uint64_t *p = &pfn;
		uint32_t n = 512, o = 0;
		struct vstor_packet a;

		while (sent < 120 && sent - got < 60) {
			gsv_write_gpa(&g.c.out, 1000 + sent, 1, &n, &o, &p, &vp,
				      sizeof(vp));
			sent++;
		}
		gsv_kick(&g);
		gsv_complete(&g);
		while (tg_read(&g.c.in, &d, &a, sizeof(a)) >= 0) {
			assert_int_equal(d.trans_id, next);
			assert_int_equal(a.srb.srb_status, SRB_STATUS_SUCCESS);
			next++;
			got++;
		}
	}
	assert_int_equal(got, 120);
	gsv_down(&g);
}

/* The guest closes the channel with I/O in flight: answers are dropped. */
static void test_storvsp_close_inflight(void **state)
{
	uint8_t rd[10] = { 0x28, [8] = 8 };
	struct vstor_packet vp = { .operation = VSTOR_OP_EXECUTE_SRB };
	uint64_t buf, pfn;
	const uint64_t *p = &pfn;
	uint32_t n = 4096, o = 0;
	struct gsv g;

	gsv_up(&g, 1, false, 0, 8);
	gsv_init(&g, VSTOR_VERSION_WIN10);
	buf = tg_alloc_pages(&g.t, 1);
	pfn = buf >> 12;
	vp.srb.cdb_length = 10;
	vp.srb.data_in = VSTOR_READ_TYPE;
	vp.srb.data_transfer_length = 4096;
	memcpy(vp.srb.cdb_sense, rd, 10);
	gsv_write_gpa(&g.c.out, 77, 1, &n, &o, &p, &vp, sizeof(vp));
	gsv_kick(&g);
	tg_close(&g.t, g.c.relid);
	gsv_complete(&g);
	/* Reopen: a fresh init works. */
	tg_teardown(&g.t, g.c.relid, g.c.gpadl);
	tg_expect(&g.t, VMBUS_MSG_GPADL_TORNDOWN);
	tg_open(&g.t, &g.c, g.c.relid, 8, 8);
	gsv_init(&g, VSTOR_VERSION_WIN8);
	gsv_down(&g);
}

/* Counters after one READ; ENUMERATE_BUS reaches the guest (tid 0). */
static void test_storvsp_stats_rescan(void **state)
{
	uint8_t rd[10] = { 0x28, [8] = 2 };
	struct vstor_packet vp;
	struct vmbus_pkt_desc d;
	struct srb_result r;
	struct gsv g;

	gsv_up(&g, 1, false, 0, 8);
	assert_int_equal(storvsp_rescan(g.sv), -ENOTCONN);
	gsv_init(&g, VSTOR_VERSION_WIN10);
	gsv_srb(&g, 0, rd, 10, VSTOR_READ_TYPE, tg_alloc_pages(&g.t, 1), 1024,
		&r);
	assert_good(&r);
	stats_seen = 0;
	storvsp_stats_foreach(g.sv, stats_cb, NULL);
	assert_true(stats_seen >= 16);
	assert_int_equal(storvsp_rescan(g.sv), 0);
	assert_true(tg_read(&g.c.in, &d, &vp, sizeof(vp)) >= 48);
	assert_int_equal(d.type, VMBUS_PKT_DATA_INBAND);
	assert_int_equal(d.trans_id, 0);
	assert_int_equal(vp.operation, VSTOR_OP_ENUMERATE_BUS);
	gsv_down(&g);
}

/* The IDE accelerator: IDE class, one disk at LUN 0 of any target. */
static void test_storvsp_ide_accel(void **state)
{
	uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t tur[6] = { 0 };
	uint8_t wr[10] = { 0x2a, [5] = 4, [8] = 2 };
	uint8_t rl[12] = { 0xa0, [9] = 64 };
	struct vstor_packet vp = { .operation = VSTOR_OP_QUERY_PROPERTIES };
	struct storvsp_lun_config lc = { 0 };
	uint8_t cls[16], file[1024];
	struct vmbus_pkt_desc d;
	struct srb_result r;
	char inst[37];
	uint64_t buf;
	void *opaque;
	struct gsv g;
	int fd;

	storvsp_ide_instance(1, 1, inst);
	assert_string_equal(inst, "00000001-0001-8899-0000-000000000000");
	storvsp_ide_instance(0, 1, inst);
	assert_string_equal(inst, "00000000-0001-8899-0000-000000000000");
	gsv_up_ex(&g, 1, false, 3, 8, true, false);
	assert_int_equal(vmbus_guid_parse(STORVSP_IDE_CLASS_ID, cls), 0);
	assert_memory_equal(g.offer.if_type, cls, 16);
	gsv_op(&g, VSTOR_OP_BEGIN_INITIALIZATION, 0);
	gsv_op(&g, VSTOR_OP_QUERY_PROTOCOL_VERSION, VSTOR_VERSION_WIN10);
	assert_int_equal(tg_write(&g.c.out, VMBUS_PKT_DATA_INBAND, 7, &vp,
				  sizeof(vp)),
			 0);
	gsv_kick(&g);
	gsv_recv(&g, &d, &vp);
	assert_int_equal(vp.status, 0);
	assert_int_equal(vp.props.max_channel_cnt, 0); /* no sub-channels */
	assert_int_equal(vp.props.flags, 0);
	gsv_op(&g, VSTOR_OP_END_INITIALIZATION, 0);
	g.version = VSTOR_VERSION_WIN10;
	assert_int_not_equal(gsv_op(&g, VSTOR_OP_CREATE_SUB_CHANNELS, 1), 0);
	/* Linux adds the slave drive as target 1, LUN 0. */
	g.target = 1;
	buf = tg_alloc_pages(&g.t, 1);
	gsv_srb(&g, 0, inq, 6, VSTOR_READ_TYPE, buf, 36, &r);
	assert_good(&r);
	assert_int_equal(g.t.fg.ram[buf], 0x00); /* a disk */
	memset(g.t.fg.ram + buf, 0x5a, 1024);
	gsv_srb(&g, 0, wr, 10, VSTOR_WRITE_TYPE, buf, 1024, &r);
	assert_good(&r);
	fd = open(g.path[0], O_RDONLY);
	assert_int_equal(pread(fd, file, 1024, 4 * 512), 1024);
	close(fd);
	assert_memory_equal(file, g.t.fg.ram + buf, 1024);
	gsv_srb(&g, 0, rl, 12, VSTOR_READ_TYPE, buf, 64, &r);
	assert_good(&r);
	assert_int_equal(get_be32(g.t.fg.ram + buf), 8);
	/* Other LUNs are not there; no hot-add on IDE. */
	gsv_srb(&g, 1, inq, 6, VSTOR_READ_TYPE, buf, 36, &r);
	assert_good(&r);
	assert_int_equal(g.t.fg.ram[buf], 0x7f);
	gsv_srb(&g, 3, tur, 6, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
	assert_int_equal(r.srb_status, SRB_STATUS_INVALID_LUN);
	lc.bd = g.bd[0];
	lc.lun = 2;
	assert_int_equal(storvsp_add_lun(g.sv, &lc, &opaque), -EOPNOTSUPP);
	gsv_down(&g);
}

/* Two targets; a LUN added and removed while the guest runs. */
static void test_storvsp_targets_hotplug(void **state)
{
	uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t tur[6] = { 0 };
	uint8_t rl[12] = { 0xa0, [9] = 64 };
	uint8_t rd[10] = { 0x28, [5] = 1, [8] = 8 };
	struct storvsp_lun_config lc = { 0 };
	struct vstor_packet vp;
	struct vmbus_pkt_desc d;
	struct block_dev *bd;
	struct srb_result r;
	struct block_opts o;
	uint64_t buf;
	struct gsv g;

	gsv_up_ex(&g, 2, false, 0, 8, false, true);
	gsv_init(&g, VSTOR_VERSION_WIN10);
	buf = tg_alloc_pages(&g.t, 2);
	/* Target 1 has LUN 0 only; target 0 has LUN 0 only. */
	g.target = 1;
	gsv_srb(&g, 0, rl, 12, VSTOR_READ_TYPE, buf, 64, &r);
	assert_good(&r);
	assert_int_equal(get_be32(g.t.fg.ram + buf), 8);
	assert_int_equal(g.t.fg.ram[buf + 9], 0);
	gsv_srb(&g, 0, inq, 6, VSTOR_READ_TYPE, buf, 36, &r);
	assert_good(&r);
	assert_int_equal(g.t.fg.ram[buf], 0x00);
	gsv_srb(&g, 1, tur, 6, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
	assert_int_equal(r.srb_status, SRB_STATUS_INVALID_LUN);
	g.target = 0;
	gsv_srb(&g, 0, rl, 12, VSTOR_READ_TYPE, buf, 64, &r);
	assert_good(&r);
	assert_int_equal(get_be32(g.t.fg.ram + buf), 8);
	/* Path 1 is nobody's: never INVALID_LUN there. */
	g.path_id = 1;
	gsv_srb(&g, 0, tur, 6, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
	assert_int_equal(r.srb_status, SRB_STATUS_SELECTION_TIMEOUT);
	g.path_id = 0;

	/* Hot-add LUN 5 of target 0 (bad addresses refused first). */
	block_opts_init(&o); /* LUN 1's file again: only read */
	o.format = BLOCK_FORMAT_RAW;
	o.cache = BLOCK_CACHE_WRITEBACK;
	assert_int_equal(block_open(g.path[1], &o, &g.hot_bd), 0);
	lc.bd = g.hot_bd;
	lc.target = 2;
	assert_int_equal(storvsp_add_lun(g.sv, &lc, &g.hot_opaque), -EINVAL);
	lc.target = 1;
	lc.lun = 0;
	assert_int_equal(storvsp_add_lun(g.sv, &lc, &g.hot_opaque), -EEXIST);
	lc.target = 0;
	lc.lun = 5;
	assert_int_equal(storvsp_add_lun(g.sv, &lc, &g.hot_opaque), 0);
	assert_true(storvsp_has_lun(g.sv, 0, 5));
	assert_int_equal(storvsp_rescan(g.sv), 0);
	assert_true(tg_read(&g.c.in, &d, &vp, sizeof(vp)) >= 48);
	assert_int_equal(vp.operation, VSTOR_OP_ENUMERATE_BUS);
	gsv_srb(&g, 0, rl, 12, VSTOR_READ_TYPE, buf, 64, &r);
	assert_good(&r);
	assert_int_equal(get_be32(g.t.fg.ram + buf), 16);
	assert_int_equal(g.t.fg.ram[buf + 8 + 8 + 1], 5);
	gsv_srb(&g, 5, rd, 10, VSTOR_READ_TYPE, buf, 4096, &r);
	assert_good(&r);
	assert_int_equal(r.xfer, 4096);

	/* Remove it with a read in flight: the read still completes. */
	{
		struct vstor_packet q = {
			.operation = VSTOR_OP_EXECUTE_SRB,
			.flags = VSTOR_FLAG_REQUEST_COMPLETION,
		};
		uint32_t len = 4096, off = 0;
		uint64_t pfn = buf >> 12;
		const uint64_t *pl = &pfn;

		q.srb.length = VSTOR_PACKET_SIZE - VSTOR_HDR_SIZE;
		q.srb.lun = 5;
		q.srb.cdb_length = 10;
		q.srb.data_in = VSTOR_READ_TYPE;
		q.srb.data_transfer_length = len;
		memcpy(q.srb.cdb_sense, rd, 10);
		gsv_write_gpa(&g.c.out, 4242, 1, &len, &off, &pl, &q,
			      VSTOR_PACKET_SIZE);
		gsv_kick(&g);
	}
	assert_int_equal(storvsp_remove_lun(g.sv, 0, 5, &bd), 0);
	assert_ptr_equal(bd, g.hot_bd);
	assert_false(storvsp_has_lun(g.sv, 0, 5));
	assert_int_equal(storvsp_remove_lun(g.sv, 0, 5, &bd), -ENOENT);
	block_close(g.hot_bd); /* runs the read's completion */
	g.hot_bd = NULL;
	assert_true(tg_read(&g.c.in, &d, &vp, sizeof(vp)) >= 48);
	assert_int_equal(d.trans_id, 4242);
	assert_int_equal(vp.srb.srb_status, SRB_STATUS_SUCCESS);
	assert_int_equal(vp.srb.data_transfer_length, 4096);
	/* From now on the LUN is gone: storvsc removes its device. */
	gsv_srb(&g, 5, tur, 6, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
	assert_int_equal(r.srb_status, SRB_STATUS_INVALID_LUN);
	gsv_srb(&g, 0, rl, 12, VSTOR_READ_TYPE, buf, 64, &r);
	assert_good(&r);
	assert_int_equal(get_be32(g.t.fg.ram + buf), 8);
	/* And it can come back. */
	assert_int_equal(block_open(g.path[1], &o, &g.hot_bd), 0);
	lc.bd = g.hot_bd;
	assert_int_equal(storvsp_add_lun(g.sv, &lc, &g.hot_opaque), 0);
	gsv_srb(&g, 5, tur, 6, VSTOR_UNKNOWN_TYPE, 0, 0, &r);
	assert_good(&r);
	gsv_down(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_storvsp_init_linux),
		cmocka_unit_test(test_storvsp_versions),
		cmocka_unit_test(test_storvsp_properties_multichannel),
		cmocka_unit_test(test_storvsp_subchannel_io),
		cmocka_unit_test(test_storvsp_inquiry),
		cmocka_unit_test(test_storvsp_capacity_mode_luns),
		cmocka_unit_test(test_storvsp_read_write),
		cmocka_unit_test(test_storvsp_unmap_write_same),
		cmocka_unit_test(test_storvsp_readonly),
		cmocka_unit_test(test_storvsp_invalid_lun),
		cmocka_unit_test(test_storvsp_malformed),
		cmocka_unit_test(test_storvsp_ring_full),
		cmocka_unit_test(test_storvsp_close_inflight),
		cmocka_unit_test(test_storvsp_stats_rescan),
		cmocka_unit_test(test_storvsp_ide_accel),
		cmocka_unit_test(test_storvsp_targets_hotplug),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
