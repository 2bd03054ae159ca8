/* SPDX-License-Identifier: MIT */
/*
 * Test harness for the VMBus server: fake SynIC host ops that record what
 * the server posts and signals, and a tiny "Linux guest" that sends the
 * channel messages hv_vmbus sends, builds GPADLs the way
 * __vmbus_establish_gpadl() splits them, and reads/writes its side of the
 * rings. Everything runs on the test thread: the harness calls the
 * registered vCPU-side handlers and then vmbus_server_process().
 */
#ifndef HVKVM_TEST_VMBUS_GUEST_H
#define HVKVM_TEST_VMBUS_GUEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_gmem.h"
#include "hvkvm/ring.h"
#include "hvkvm/util.h"
#include "hvkvm/vmbus.h"

#define TG_RAM (16u << 20)
#define TG_MAX_MSGS 512
#define TG_MAX_HANDLERS 1100

struct tg_msg {
	unsigned int vp, sint;
	uint32_t type;
	uint32_t len;
	uint8_t data[VMBUS_MAX_MESSAGE_SIZE];
};

struct tg_sig {
	unsigned int vp, sint, flag;
};

struct tg_handler {
	uint32_t conn;
	vmbus_post_message_fn msg;
	vmbus_signal_event_fn ev;
	void *arg;
};

/* One guest-side ring: flat control page + data in fake RAM. */
struct tg_ring {
	struct vmbus_ring_ctrl *ctrl;
	uint8_t *data;
	uint32_t size;
};

struct tg {
	struct fake_gmem fg;
	struct vmbus_server *srv;
	struct vmbus_host_ops ops;
	struct tg_msg msgs[TG_MAX_MSGS];
	unsigned int nmsgs, msg_rd;
	struct tg_sig sigs[TG_MAX_MSGS];
	unsigned int nsigs;
	struct tg_handler h[TG_MAX_HANDLERS];
	unsigned int nh;
	int post_eagain;    /* fail this many posts with -EAGAIN */
	uint64_t next_page; /* bump allocator (GPA) */
	uint32_t next_gpadl;
	uint32_t conn_id; /* guest's message connection */
	bool memfd;	  /* RAM from gmem_create_ram() */
	/*
	 * Fake set_signal_fd (tg_init_sigfd), KVM's view: the eventfd each
	 * channel connection is routed to, -1 = none.
	 */
	int sigfd[VMBUS_MAX_RELID];
	unsigned int sigfd_assigns, sigfd_deassigns;
	int sigfd_fail; /* fail this many calls with -ENOSPC */
};

static int tg_post(void *o, unsigned int vp, unsigned int sint, uint32_t type,
		   const void *payload, uint32_t len)
{
	struct tg *t = o;
	struct tg_msg *m;

	if (t->post_eagain > 0) {
		t->post_eagain--;
		return -EAGAIN;
	}
	assert_true(len <= VMBUS_MAX_MESSAGE_SIZE);
	assert_true(t->nmsgs < TG_MAX_MSGS);
	m = &t->msgs[t->nmsgs++];
	m->vp = vp;
	m->sint = sint;
	m->type = type;
	m->len = len;
	memcpy(m->data, payload, len);
	return 0;
}

static int tg_signal(void *o, unsigned int vp, unsigned int sint,
		     unsigned int flag)
{
	struct tg *t = o;

	assert_true(t->nsigs < TG_MAX_MSGS);
	t->sigs[t->nsigs++] = (struct tg_sig){ vp, sint, flag };
	return 0;
}

static int tg_reg_msg(void *o, uint32_t conn, vmbus_post_message_fn fn,
		      void *arg)
{
	struct tg *t = o;

	assert_true(t->nh < TG_MAX_HANDLERS);
	t->h[t->nh++] =
		(struct tg_handler){ .conn = conn, .msg = fn, .arg = arg };
	return 0;
}

static int tg_reg_ev(void *o, uint32_t conn, vmbus_signal_event_fn fn,
		     void *arg)
{
	struct tg *t = o;

	assert_true(t->nh < TG_MAX_HANDLERS);
	t->h[t->nh++] =
		(struct tg_handler){ .conn = conn, .ev = fn, .arg = arg };
	return 0;
}

/* Like KVM_IOEVENTFD: no double assign, deassign only what is there. */
static int tg_set_signal_fd(void *o, uint32_t conn, int efd, bool assign)
{
	struct tg *t = o;
	uint32_t relid = conn - VMBUS_CHANNEL_CONN_BASE;

	assert_true(conn > VMBUS_CHANNEL_CONN_BASE && relid < VMBUS_MAX_RELID);
	/* The fd is open: nobody closes it while it is routed. */
	assert_true(fcntl(efd, F_GETFD) >= 0);
	if (t->sigfd_fail > 0) {
		t->sigfd_fail--;
		return -ENOSPC;
	}
	if (assign) {
		assert_int_equal(t->sigfd[relid], -1);
		t->sigfd[relid] = efd;
		t->sigfd_assigns++;
	} else {
		assert_int_equal(t->sigfd[relid], efd);
		t->sigfd[relid] = -1;
		t->sigfd_deassigns++;
	}
	return 0;
}

static UNUSED uint64_t tg_ref_time(void *o)
{
	return 123456789;
}

static UNUSED void tg_init_opts(struct tg *t, unsigned int nr_vcpus,
				bool ref_time, bool memfd, bool sigfd)
{
	struct vmbus_server_params p = { 0 };
	unsigned int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < VMBUS_MAX_RELID; i++)
		t->sigfd[i] = -1;
	if (memfd) {
		/* Real memfd RAM: the server double-maps the rings. */
		assert_int_equal(gmem_create_ram(&t->fg.gm, TG_RAM, 0), 0);
		t->fg.ram = t->fg.gm.base;
		t->fg.size = TG_RAM;
		t->memfd = true;
	} else {
		assert_int_equal(fake_gmem_init(&t->fg, TG_RAM), 0);
	}
	t->ops = (struct vmbus_host_ops){
		.post_message = tg_post,
		.signal_event = tg_signal,
		.register_message = tg_reg_msg,
		.register_event = tg_reg_ev,
		.set_signal_fd = sigfd ? tg_set_signal_fd : NULL,
		.ref_time = ref_time ? tg_ref_time : NULL,
		.opaque = t,
	};
	p.gm = &t->fg.gm;
	p.nr_vcpus = nr_vcpus;
	p.ops = &t->ops;
	assert_int_equal(vmbus_server_create(&p, &t->srv), 0);
	t->next_page = 1 << 20;
	t->next_gpadl = 0xe1e10;
	t->conn_id = VMBUS_MESSAGE_CONNECTION_ID;
}

static UNUSED void tg_init_full(struct tg *t, unsigned int nr_vcpus,
				bool ref_time, bool memfd)
{
	tg_init_opts(t, nr_vcpus, ref_time, memfd, false);
}

/* With the set_signal_fd op (per-channel eventfds). */
static UNUSED void tg_init_sigfd(struct tg *t, unsigned int nr_vcpus)
{
	tg_init_opts(t, nr_vcpus, false, false, true);
}

static UNUSED void tg_init_ref(struct tg *t, unsigned int nr_vcpus,
			       bool ref_time)
{
	tg_init_full(t, nr_vcpus, ref_time, false);
}

static UNUSED void tg_init(struct tg *t, unsigned int nr_vcpus)
{
	tg_init_full(t, nr_vcpus, false, false);
}

static UNUSED void tg_fini(struct tg *t)
{
	vmbus_server_destroy(t->srv);
	if (t->memfd)
		gmem_destroy(&t->fg.gm);
	else
		fake_gmem_destroy(&t->fg);
}

static UNUSED uint16_t tg_post_raw(struct tg *t, uint32_t conn, const void *msg,
				   uint32_t len)
{
	unsigned int i;
	uint16_t st;

	for (i = 0; i < t->nh; i++) {
		if (t->h[i].conn == conn && t->h[i].msg) {
			st = t->h[i].msg(t->h[i].arg, 0, VMBUS_MESSAGE_TYPE,
					 msg, len);
			vmbus_server_process(t->srv);
			return st;
		}
	}
	fail_msg("no message handler for connection %u", conn);
	return 0xffff;
}

static UNUSED void tg_send(struct tg *t, const void *msg, uint32_t len)
{
	assert_int_equal(tg_post_raw(t, t->conn_id, msg, len), 0);
}

static UNUSED void tg_signal_conn(struct tg *t, uint32_t conn)
{
	unsigned int i;

	for (i = 0; i < t->nh; i++) {
		if (t->h[i].conn == conn && t->h[i].ev) {
			t->h[i].ev(t->h[i].arg, 0, 0);
			vmbus_server_process(t->srv);
			return;
		}
	}
	fail_msg("no event handler for connection %u", conn);
}

/*
 * The guest's fast HvSignalEvent through the hypercall page's signal port:
 * the routed eventfd if the connection has one (KVM's ioeventfd), else the
 * handler (the vCPU loop's fallback); then the processing thread runs.
 */
static UNUSED void tg_signal_port(struct tg *t, uint32_t conn)
{
	uint32_t relid = conn - VMBUS_CHANNEL_CONN_BASE;
	uint64_t one = 1;

	if (conn > VMBUS_CHANNEL_CONN_BASE && relid < VMBUS_MAX_RELID &&
	    t->sigfd[relid] >= 0) {
		assert_int_equal(write(t->sigfd[relid], &one, sizeof(one)),
				 sizeof(one));
		vmbus_server_process(t->srv);
		return;
	}
	tg_signal_conn(t, conn);
}

static UNUSED unsigned int tg_pending(struct tg *t)
{
	return t->nmsgs - t->msg_rd;
}

/* Pop the next host message; it must be of @type. */
static UNUSED const uint8_t *tg_expect(struct tg *t, uint32_t type)
{
	struct tg_msg *m;

	if (t->msg_rd == t->nmsgs)
		fail_msg("expected message %u, got none", type);
	m = &t->msgs[t->msg_rd++];
	assert_int_equal(m->type, VMBUS_MESSAGE_TYPE);
	if (get_le32(m->data) != type)
		fail_msg("expected message %u, got %u", type,
			 get_le32(m->data));
	return m->data;
}

static UNUSED uint64_t tg_alloc_pages(struct tg *t, unsigned int n)
{
	uint64_t gpa = t->next_page;

	t->next_page += (uint64_t)n * 4096;
	assert_true(t->next_page <= TG_RAM);
	memset(t->fg.ram + gpa, 0, (size_t)n * 4096);
	return gpa;
}

static UNUSED void tg_contact(struct tg *t, uint32_t version, uint8_t sint,
			      bool expect_ok)
{
	struct vmbus_msg_initiate_contact c = { 0 };
	const struct vmbus_msg_version_response *r;

	c.hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT;
	c.version_requested = version;
	c.target_vcpu = 0;
	if (version >= VMBUS_VERSION_WIN10_V5) {
		c.msg_sint = sint;
		t->conn_id = VMBUS_MESSAGE_CONNECTION_ID_4;
	} else {
		c.interrupt_page = tg_alloc_pages(t, 1);
		t->conn_id = VMBUS_MESSAGE_CONNECTION_ID;
	}
	c.monitor_page1 = tg_alloc_pages(t, 1);
	c.monitor_page2 = tg_alloc_pages(t, 1);
	tg_send(t, &c, sizeof(c));
	r = (const void *)tg_expect(t, VMBUS_MSG_VERSION_RESPONSE);
	assert_int_equal(r->version_supported, expect_ok);
	if (expect_ok && version >= VMBUS_VERSION_WIN10_V5) {
		assert_int_equal(r->msg_conn_id, VMBUS_MESSAGE_CONNECTION_ID_4);
		t->conn_id = r->msg_conn_id;
		assert_int_equal(t->msgs[t->msg_rd - 1].sint, sint);
	}
}

static UNUSED void tg_simple(struct tg *t, uint32_t type)
{
	struct vmbus_msg_hdr h = { .msgtype = type };

	tg_send(t, &h, sizeof(h));
}

/*
 * Create a GPADL for @relid over @n pages at @gpa (or the pfn list @pfns),
 * split into a header and bodies like Linux does. Returns the handle.
 */
static UNUSED uint32_t tg_gpadl_pfns(struct tg *t, uint32_t relid,
				     const uint64_t *pfns, unsigned int n,
				     uint32_t byte_count)
{
	uint8_t msg[VMBUS_MAX_MESSAGE_SIZE];
	struct vmbus_msg_gpadl_header *h = (void *)msg;
	struct vmbus_msg_gpadl_body *b = (void *)msg;
	const unsigned int hdr_pfns = (240 - 20 - 8) / 8;
	const unsigned int body_pfns = (240 - 16) / 8;
	unsigned int done, k;
	uint32_t handle = t->next_gpadl++;

	memset(msg, 0, sizeof(msg));
	h->hdr.msgtype = VMBUS_MSG_GPADL_HEADER;
	h->child_relid = relid;
	h->gpadl = handle;
	h->range_buflen = (uint16_t)(8 + 8 * n);
	h->rangecount = 1;
	put_le32(msg + 20, byte_count);
	put_le32(msg + 24, 0);
	done = MIN(n, hdr_pfns);
	memcpy(msg + 28, pfns, done * 8);
	tg_send(t, msg, 28 + done * 8);
	while (done < n) {
		k = MIN(n - done, body_pfns);
		memset(msg, 0, sizeof(msg));
		b->hdr.msgtype = VMBUS_MSG_GPADL_BODY;
		b->gpadl = handle;
		memcpy(msg + 16, pfns + done, k * 8);
		tg_send(t, msg, 16 + k * 8);
		done += k;
	}
	return handle;
}

static UNUSED uint32_t tg_gpadl(struct tg *t, uint32_t relid, uint64_t gpa,
				unsigned int n)
{
	uint64_t *pfns = calloc(n, 8);
	unsigned int i;
	uint32_t h;

	for (i = 0; i < n; i++)
		pfns[i] = (gpa >> 12) + i;
	h = tg_gpadl_pfns(t, relid, pfns, n, n * 4096);
	free(pfns);
	return h;
}

static UNUSED uint32_t tg_expect_gpadl_created(struct tg *t, uint32_t handle)
{
	const struct vmbus_msg_gpadl_created *c =
		(const void *)tg_expect(t, VMBUS_MSG_GPADL_CREATED);

	assert_int_equal(c->gpadl, handle);
	return c->creation_status;
}

struct tg_chan {
	uint32_t relid;
	uint32_t gpadl;
	uint64_t gpa;
	unsigned int send_pages, recv_pages;
	struct tg_ring out; /* guest -> host */
	struct tg_ring in;  /* host -> guest */
};

static UNUSED uint32_t tg_open_msg(struct tg *t, uint32_t relid, uint32_t gpadl,
				   uint32_t offset, uint32_t vp)
{
	struct vmbus_msg_open_channel o = { 0 };
	const struct vmbus_msg_open_result *r;

	o.hdr.msgtype = VMBUS_MSG_OPENCHANNEL;
	o.child_relid = relid;
	o.openid = relid;
	o.ringbuffer_gpadl = gpadl;
	o.target_vp = vp;
	o.downstream_page_offset = offset;
	tg_send(t, &o, sizeof(o));
	r = (const void *)tg_expect(t, VMBUS_MSG_OPENCHANNEL_RESULT);
	assert_int_equal(r->child_relid, relid);
	assert_int_equal(r->openid, relid);
	return r->status;
}

/* Linux vmbus_open(): ring GPADL, then OpenChannel. */
static UNUSED void tg_open(struct tg *t, struct tg_chan *c, uint32_t relid,
			   unsigned int send_pages, unsigned int recv_pages)
{
	unsigned int n = send_pages + recv_pages;

	memset(c, 0, sizeof(*c));
	c->relid = relid;
	c->send_pages = send_pages;
	c->recv_pages = recv_pages;
	c->gpa = tg_alloc_pages(t, n);
	c->gpadl = tg_gpadl(t, relid, c->gpa, n);
	assert_int_equal(tg_expect_gpadl_created(t, c->gpadl), 0);
	c->out.ctrl = (void *)(t->fg.ram + c->gpa);
	c->out.data = t->fg.ram + c->gpa + 4096;
	c->out.size = (send_pages - 1) * 4096;
	c->in.ctrl = (void *)(t->fg.ram + c->gpa + send_pages * 4096ull);
	c->in.data = (uint8_t *)c->in.ctrl + 4096;
	c->in.size = (recv_pages - 1) * 4096;
	c->out.ctrl->feature_bits = 1;
	c->in.ctrl->feature_bits = 1;
	assert_int_equal(tg_open_msg(t, relid, c->gpadl, send_pages, 0), 0);
}

static UNUSED void tg_ring_put(struct tg_ring *r, uint32_t pos, const void *src,
			       uint32_t len)
{
	const uint8_t *s = src;
	uint32_t i;

	for (i = 0; i < len; i++)
		r->data[(pos + i) % r->size] = s[i];
}

static UNUSED void tg_ring_get(struct tg_ring *r, uint32_t pos, void *dst,
			       uint32_t len)
{
	uint8_t *d = dst;
	uint32_t i;

	for (i = 0; i < len; i++)
		d[i] = r->data[(pos + i) % r->size];
}

/* Guest writes one packet of @type into its outbound ring. */
static UNUSED int tg_write(struct tg_ring *r, uint16_t type, uint64_t tid,
			   const void *buf, uint32_t len)
{
	uint32_t w = r->ctrl->write_index, rd = r->ctrl->read_index;
	uint32_t total = ring_pkt_size(len);
	uint32_t avail = w >= rd ? r->size - (w - rd) : rd - w;
	struct vmbus_pkt_desc d = {
		.type = type,
		.offset8 = 2,
		.len8 = (uint16_t)((total - 8) / 8),
		.trans_id = tid,
	};
	uint64_t trailer = (uint64_t)w << 32;
	uint8_t zero[8] = { 0 };

	if (avail <= total)
		return -EAGAIN;
	tg_ring_put(r, w, &d, sizeof(d));
	tg_ring_put(r, w + 16, buf, len);
	tg_ring_put(r, w + 16 + len, zero, total - 24 - len);
	tg_ring_put(r, w + total - 8, &trailer, 8);
	r->ctrl->write_index = (w + total) % r->size;
	return 0;
}

/* Guest reads one packet; returns payload bytes or -EAGAIN. */
static UNUSED int tg_read(struct tg_ring *r, struct vmbus_pkt_desc *d,
			  void *buf, uint32_t max)
{
	uint32_t rd = r->ctrl->read_index, len, off;

	if (rd == r->ctrl->write_index)
		return -EAGAIN;
	tg_ring_get(r, rd, d, sizeof(*d));
	len = d->len8 * 8u;
	off = d->offset8 * 8u;
	assert_true(len - off <= max);
	tg_ring_get(r, rd + off, buf, len - off);
	r->ctrl->read_index = (rd + len + 8) % r->size;
	return (int)(len - off);
}

static UNUSED void tg_close(struct tg *t, uint32_t relid)
{
	struct vmbus_msg_close_channel c = { 0 };

	c.hdr.msgtype = VMBUS_MSG_CLOSECHANNEL;
	c.child_relid = relid;
	tg_send(t, &c, sizeof(c));
}

static UNUSED void tg_teardown(struct tg *t, uint32_t relid, uint32_t gpadl)
{
	struct vmbus_msg_gpadl_teardown m = { 0 };

	m.hdr.msgtype = VMBUS_MSG_GPADL_TEARDOWN;
	m.child_relid = relid;
	m.gpadl = gpadl;
	tg_send(t, &m, sizeof(m));
}

/* RequestOffers; returns the number of offers before AllOffersDelivered. */
static UNUSED unsigned int tg_request_offers(struct tg *t,
					     struct vmbus_msg_offer_channel *o,
					     unsigned int max)
{
	unsigned int n = 0;

	tg_simple(t, VMBUS_MSG_REQUESTOFFERS);
	while (tg_pending(t) &&
	       get_le32(t->msgs[t->msg_rd].data) == VMBUS_MSG_OFFERCHANNEL) {
		const uint8_t *m = tg_expect(t, VMBUS_MSG_OFFERCHANNEL);

		assert_int_equal(t->msgs[t->msg_rd - 1].len, 196);
		if (n < max)
			memcpy(&o[n], m, sizeof(*o));
		n++;
	}
	tg_expect(t, VMBUS_MSG_ALLOFFERS_DELIVERED);
	return n;
}

/*
 * Linux connects with protocol 5.3 on SINT 2 and reads the offers;
 * returns how many there were.
 */
static UNUSED unsigned int tg_connect(struct tg *t)
{
	tg_contact(t, VMBUS_VERSION_WIN10_V5_3, VMBUS_MESSAGE_SINT, true);
	return tg_request_offers(t, NULL, 0);
}

#endif /* HVKVM_TEST_VMBUS_GUEST_H */
