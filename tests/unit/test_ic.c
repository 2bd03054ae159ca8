// SPDX-License-Identifier: MIT
/*
 * Unit tests: integration services (vmbus/ic*.c). The harness guest answers
 * like Linux hv_utils: vmbus_prep_negotiate_resp() for NEGOTIATE, then the
 * per-service handling of heartbeat, shutdown, time sync and KVP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <time.h>

#include "test_vmbus_guest.h"

#define V(maj, min) VMBUS_MAKE_VERSION(maj, min)
#define SEC 1000000000ULL

/* Class GUIDs of the services. */
#define GUID_HB "57164f39-9115-4e78-ab55-382f3bd5422d"
#define GUID_SD "0e0b6031-5213-4934-818b-38d90ced39db"
#define GUID_TS "9527e630-d0ae-497b-adce-e80ab0175caf"
#define GUID_KVP "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6"

/* Windows time now: 100 ns units since 1601. */
static uint64_t wall_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return 116444736000000000ULL + (uint64_t)ts.tv_sec * 10000000 +
	       (uint64_t)ts.tv_nsec / 100;
}

struct gic {
	struct tg t;
	struct tg_chan c;
	const uint32_t *svc; /* guest's service versions */
	unsigned int nsvc;
	uint32_t status;     /* icmsg status to answer with */
	bool mute;	     /* don't answer */
	uint8_t last[16384]; /* last request seen (whole payload) */
	uint32_t last_len;
	uint64_t last_tid;
	uint16_t last_type;
	unsigned int requests;
	uint64_t hb_seq;	  /* heartbeat seq the guest returned */
	unsigned int kvp_records; /* ENUMERATE: records in the pool */
};

static const uint32_t linux_fw[] = { V(3, 0), V(1, 0) };

/* Linux vmbus_prep_negotiate_resp(), on the test's buffer. */
static void gic_negotiate(struct gic *g, uint8_t *buf, uint32_t len)
{
	uint8_t *n = buf + IC_HDR_SIZE;
	uint16_t nfw = get_le16(n), nmsg = get_le16(n + 2);
	uint32_t fw = 0, msg = 0, i, j;
	bool found = false;

	assert_true(len >= IC_HDR_SIZE + 8 + 4 * (nfw + nmsg));
	for (i = 0; i < ARRAY_SIZE(linux_fw) && !found; i++)
		for (j = 0; j < nfw && !found; j++)
			if (V(get_le16(n + 8 + 4 * j),
			      get_le16(n + 10 + 4 * j)) == linux_fw[i])
				fw = linux_fw[i], found = true;
	if (found) {
		found = false;
		for (i = 0; i < g->nsvc && !found; i++)
			for (j = nfw; j < nfw + nmsg && !found; j++)
				if (V(get_le16(n + 8 + 4 * j),
				      get_le16(n + 10 + 4 * j)) == g->svc[i])
					msg = g->svc[i], found = true;
	}
	put_le16(n, found);
	put_le16(n + 2, found);
	put_le16(n + 8, (uint16_t)(fw >> 16));
	put_le16(n + 10, (uint16_t)fw);
	put_le16(n + 12, (uint16_t)(msg >> 16));
	put_le16(n + 14, (uint16_t)msg);
}

/* Let the host run, then answer every request in the inbound ring. */
static unsigned int gic_serve(struct gic *g)
{
	static uint8_t buf[16384];
	struct vmbus_pkt_desc d;
	unsigned int n = 0;
	int len;

	while ((len = tg_read(&g->c.in, &d, buf, sizeof(buf))) >= 0) {
		struct icmsg_hdr *h = (void *)(buf + 8);

		assert_int_equal(d.type, VMBUS_PKT_DATA_INBAND);
		assert_true((uint32_t)len >= IC_HDR_SIZE);
		assert_true(h->icflags & ICMSGHDRFLAG_REQUEST);
		memcpy(g->last, buf, (size_t)len);
		g->last_len = (uint32_t)len;
		g->last_tid = d.trans_id;
		g->last_type = h->icmsgtype;
		g->requests++;
		n++;
		if (g->mute)
			continue;
		if (h->icmsgtype == ICMSGTYPE_NEGOTIATE) {
			gic_negotiate(g, buf, (uint32_t)len);
		} else if (h->icmsgtype == ICMSGTYPE_HEARTBEAT) {
			uint64_t s = get_le64(buf + IC_HDR_SIZE) + 1;

			put_le64(buf + IC_HDR_SIZE, s);
			g->hb_seq = s;
		} else if (h->icmsgtype == ICMSGTYPE_KVPEXCHANGE) {
			struct kvp_msg *m = (void *)(buf + IC_HDR_SIZE);

			if (m->operation == KVP_OP_ENUMERATE) {
				uint32_t idx = m->enumerate.index;

				if (idx >= g->kvp_records) {
					put_le32(&h->status, IC_STATUS_S_CONT);
				} else {
					char k[16];
					unsigned int i;

					snprintf(k, sizeof(k), "Key%u", idx);
					for (i = 0; k[i]; i++)
						put_le16(m->enumerate.data.key +
								 2 * i,
							 k[i]);
					m->enumerate.data.key_size = 2 * i + 2;
					m->enumerate.data.value_type =
						idx ? KVP_REG_U32 : KVP_REG_SZ;
					if (idx) {
						put_le32(
							m->enumerate.data.value,
							42 + idx);
						m->enumerate.data.value_size =
							4;
					} else {
						/* "é" as UTF-16 */
						put_le16(
							m->enumerate.data.value,
							0xe9);
						m->enumerate.data.value_size =
							4;
					}
				}
			}
		}
		if (h->icmsgtype != ICMSGTYPE_NEGOTIATE &&
		    h->icmsgtype != ICMSGTYPE_KVPEXCHANGE)
			put_le32(&h->status, g->status);
		if (h->icmsgtype == ICMSGTYPE_KVPEXCHANGE && g->status)
			put_le32(&h->status, g->status);
		h->icflags = ICMSGHDRFLAG_TRANSACTION | ICMSGHDRFLAG_RESPONSE;
		assert_int_equal(tg_write(&g->c.out, VMBUS_PKT_DATA_INBAND,
					  d.trans_id, buf, (uint32_t)len),
				 0);
		tg_signal_conn(&g->t, VMBUS_CHANNEL_CONN_BASE + g->c.relid);
	}
	return n;
}

static void gic_up(struct gic *g, const uint32_t *svc, unsigned int nsvc,
		   bool ref_time)
{
	memset(g, 0, sizeof(*g));
	tg_init_ref(&g->t, 1, ref_time);
	g->svc = svc;
	g->nsvc = nsvc;
}

/* Connect, take the single offer, open with a 3-page inbound ring. */
static void gic_open(struct gic *g, const char *class_id)
{
	struct vmbus_msg_offer_channel o;
	uint8_t guid[16];

	tg_contact(&g->t, VMBUS_VERSION_WIN10_V5_3, 2, true);
	assert_int_equal(tg_request_offers(&g->t, &o, 1), 1);
	assert_int_equal(vmbus_guid_parse(class_id, guid), 0);
	assert_memory_equal(o.if_type, guid, 16);
	tg_open(&g->t, &g->c, o.child_relid, 4, 4);
}

static void test_ic_negotiate_heartbeat(void **state)
{
	static const uint32_t hb_v[] = { V(3, 0), V(1, 0) };
	struct ic_heartbeat_state st;
	struct ic_heartbeat *hb;
	struct gic g;
	uint8_t *n;
	uint64_t seq;

	gic_up(&g, hb_v, 2, false);
	assert_int_equal(ic_heartbeat_create(g.t.srv, &hb), 0);
	ic_heartbeat_get(hb, &st);
	assert_int_equal(st.status, IC_HEARTBEAT_NO_CONTACT);
	gic_open(&g, GUID_HB);
	/* The host speaks first: NEGOTIATE with fw {3.0, 1.0}. */
	assert_int_equal(gic_serve(&g), 2); /* negotiate, 1st heartbeat */
	n = g.last + IC_HDR_SIZE;
	assert_int_equal(g.last_type, ICMSGTYPE_HEARTBEAT);
	vmbus_server_tick(g.t.srv, 1 * SEC);
	gic_serve(&g);
	ic_heartbeat_get(hb, &st);
	assert_int_equal(st.status, IC_HEARTBEAT_OK);
	assert_true(st.answers >= 1);
	seq = st.seq;
	vmbus_server_tick(g.t.srv, 2 * SEC);
	gic_serve(&g);
	vmbus_server_tick(g.t.srv, 3 * SEC);
	gic_serve(&g);
	ic_heartbeat_get(hb, &st);
	assert_true(st.seq > seq); /* sequence increases */
	assert_int_equal(st.seq, g.hb_seq);
	(void)n;
	/* The guest hangs: LOST after three periods, request abandoned. */
	g.mute = true;
	vmbus_server_tick(g.t.srv, 4 * SEC);
	gic_serve(&g);
	vmbus_server_tick(g.t.srv, 8 * SEC);
	ic_heartbeat_get(hb, &st);
	assert_int_equal(st.status, IC_HEARTBEAT_LOST);
	vmbus_server_tick(g.t.srv, 70 * SEC); /* timeout, resend */
	assert_int_equal(gic_serve(&g), 1);
	tg_fini(&g.t);
}

static void test_ic_negotiate_no_common_version(void **state)
{
	static const uint32_t none[] = { V(9, 9) };
	struct ic_heartbeat_state st;
	struct ic_heartbeat *hb;
	struct gic g;

	gic_up(&g, none, 1, false);
	assert_int_equal(ic_heartbeat_create(g.t.srv, &hb), 0);
	gic_open(&g, GUID_HB);
	assert_int_equal(gic_serve(&g), 1);
	assert_int_equal(g.last_type, ICMSGTYPE_NEGOTIATE);
	/* Host offered fw 3.0 and 1.0, heartbeat 3.0 and 1.0. */
	assert_int_equal(get_le16(g.last + IC_HDR_SIZE), 2);
	assert_int_equal(get_le16(g.last + IC_HDR_SIZE + 2), 2);
	vmbus_server_tick(g.t.srv, 1 * SEC);
	assert_int_equal(gic_serve(&g), 0); /* nothing more */
	ic_heartbeat_get(hb, &st);
	assert_int_equal(st.status, IC_HEARTBEAT_NO_CONTACT);
	tg_fini(&g.t);
}

static void test_ic_negotiate_answered_late(void **state)
{
	static const uint32_t kvp_v[] = { V(4, 0) };
	struct ic_kvp *kvp;
	struct gic g;

	gic_up(&g, kvp_v, 1, false);
	assert_int_equal(ic_kvp_create(g.t.srv, &kvp), 0);
	assert_int_equal(ic_kvp_set(kvp, KVP_POOL_EXTERNAL, "k", "v"), 0);
	gic_open(&g, GUID_KVP);
	/* Linux without hv_kvp_daemon leaves NEGOTIATE unanswered. */
	g.mute = true;
	assert_int_equal(gic_serve(&g), 1);
	vmbus_server_tick(g.t.srv, 100 * SEC);
	vmbus_server_tick(g.t.srv, 300 * SEC);
	assert_int_equal(gic_serve(&g), 0); /* not resent, not dropped */
	/* The daemon starts: the guest answers the old NEGOTIATE. */
	g.mute = false;
	{
		uint8_t *buf = g.last;
		struct icmsg_hdr *h = (void *)(buf + 8);

		gic_negotiate(&g, buf, g.last_len);
		h->icflags = ICMSGHDRFLAG_TRANSACTION | ICMSGHDRFLAG_RESPONSE;
		assert_int_equal(tg_write(&g.c.out, VMBUS_PKT_DATA_INBAND,
					  g.last_tid, buf, g.last_len),
				 0);
		tg_signal_conn(&g.t, VMBUS_CHANNEL_CONN_BASE + g.c.relid);
	}
	/* Negotiated: the remembered host value goes out. */
	assert_int_equal(gic_serve(&g), 1);
	assert_int_equal(g.last_type, ICMSGTYPE_KVPEXCHANGE);
	tg_fini(&g.t);
}

static void test_ic_ignores_unsolicited(void **state)
{
	static const uint32_t hb_v[] = { V(3, 0) };
	struct ic_heartbeat_state st;
	struct ic_heartbeat *hb;
	uint8_t junk[64];
	struct icmsg_hdr *h = (void *)(junk + 8);
	struct gic g;

	gic_up(&g, hb_v, 1, false);
	assert_int_equal(ic_heartbeat_create(g.t.srv, &hb), 0);
	gic_open(&g, GUID_HB);
	g.mute = true;
	gic_serve(&g);
	/* Wrong transaction ID, not a response, too short: ignored. */
	memset(junk, 0, sizeof(junk));
	h->icflags = ICMSGHDRFLAG_RESPONSE;
	tg_write(&g.c.out, VMBUS_PKT_DATA_INBAND, 999, junk, sizeof(junk));
	h->icflags = ICMSGHDRFLAG_REQUEST;
	tg_write(&g.c.out, VMBUS_PKT_DATA_INBAND, g.last_tid, junk,
		 sizeof(junk));
	tg_write(&g.c.out, VMBUS_PKT_DATA_INBAND, g.last_tid, junk, 10);
	tg_write(&g.c.out, VMBUS_PKT_COMP, g.last_tid, junk, sizeof(junk));
	tg_signal_conn(&g.t, VMBUS_CHANNEL_CONN_BASE + g.c.relid);
	ic_heartbeat_get(hb, &st);
	assert_int_equal(st.status, IC_HEARTBEAT_NO_CONTACT);
	assert_int_equal(g.c.out.ctrl->read_index, g.c.out.ctrl->write_index);
	tg_fini(&g.t);
}

struct done {
	int calls;
	int status;
};

static void done_cb(void *o, int status)
{
	struct done *d = o;

	d->calls++;
	d->status = status;
}

static void test_ic_shutdown(void **state)
{
	static const uint32_t sd_v[] = { V(3, 2), V(3, 0), V(1, 0) };
	struct ic_shutdown *sd;
	struct done d = { 0 };
	struct gic g;
	const struct ic_shutdown_msg *m;

	gic_up(&g, sd_v, 3, false);
	assert_int_equal(ic_shutdown_create(g.t.srv, &sd), 0);
	/* Requested before the guest is there: queued. */
	assert_int_equal(ic_shutdown_request(sd, IC_SHUTDOWN_POWEROFF, false,
					     "bye", done_cb, &d),
			 0);
	assert_int_equal(ic_shutdown_request(sd, IC_SHUTDOWN_POWEROFF, false,
					     NULL, done_cb, &d),
			 -EBUSY);
	gic_open(&g, GUID_SD);
	assert_int_equal(gic_serve(&g), 2);
	assert_int_equal(g.last_type, ICMSGTYPE_SHUTDOWN);
	/* Linux requires the whole struct shutdown_msg_data. */
	assert_int_equal(g.last_len, ALIGN_UP(IC_HDR_SIZE + sizeof(*m), 8));
	m = (const void *)(g.last + IC_HDR_SIZE);
	assert_int_equal(m->flags, 0);
	assert_int_equal(m->display_message[0], 'b');
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.status, 0);
	/* Reboot (3.2), forced. */
	assert_int_equal(ic_shutdown_request(sd, IC_SHUTDOWN_REBOOT, true, NULL,
					     done_cb, &d),
			 0);
	gic_serve(&g);
	m = (const void *)(g.last + IC_HDR_SIZE);
	assert_int_equal(m->flags, 3);
	assert_int_equal(d.calls, 2);
	/* The guest refuses. */
	g.status = IC_STATUS_E_FAIL;
	assert_int_equal(ic_shutdown_request(sd, IC_SHUTDOWN_POWEROFF, false,
					     NULL, done_cb, &d),
			 0);
	gic_serve(&g);
	assert_int_equal(d.status, -EIO);
	/* The channel closes with a request outstanding. */
	g.mute = true;
	assert_int_equal(ic_shutdown_request(sd, IC_SHUTDOWN_POWEROFF, false,
					     NULL, done_cb, &d),
			 0);
	tg_close(&g.t, g.c.relid);
	assert_int_equal(d.calls, 4);
	assert_int_equal(d.status, -ENOTCONN);
	tg_fini(&g.t);
}

static void test_ic_shutdown_reboot_needs_3_2(void **state)
{
	static const uint32_t sd_v[] = { V(3, 0) };
	struct ic_shutdown *sd;
	struct done d = { 0 };
	struct gic g;

	gic_up(&g, sd_v, 1, false);
	assert_int_equal(ic_shutdown_create(g.t.srv, &sd), 0);
	gic_open(&g, GUID_SD);
	gic_serve(&g);
	assert_int_equal(ic_shutdown_request(sd, IC_SHUTDOWN_REBOOT, false,
					     NULL, done_cb, &d),
			 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.status, -EOPNOTSUPP);
	assert_int_equal(gic_serve(&g), 0);
	tg_fini(&g.t);
}

static void test_ic_timesync_v4(void **state)
{
	static const uint32_t ts_v[] = { V(4, 0), V(3, 0), V(1, 0) };
	const struct ic_timesync_ref_msg *m;
	struct ic_timesync *ts;
	struct gic g;
	uint64_t now;

	gic_up(&g, ts_v, 3, true);
	assert_int_equal(ic_timesync_create(g.t.srv, &ts), 0);
	gic_open(&g, GUID_TS);
	now = wall_time();
	assert_int_equal(gic_serve(&g), 2);
	assert_int_equal(g.last_type, ICMSGTYPE_TIMESYNC);
	m = (const void *)(g.last + IC_HDR_SIZE);
	assert_int_equal(m->flags, ICTIMESYNCFLAG_SYNC);
	assert_int_equal(m->vmreferencetime, 123456789);
	assert_true(m->parenttime >= now - 10000000 &&
		    m->parenttime <= now + 10000000);
	assert_int_equal(ic_timesync_samples(ts), 1);
	/* Periodic samples. */
	vmbus_server_tick(g.t.srv, 1 * SEC);
	assert_int_equal(gic_serve(&g), 0);
	vmbus_server_tick(g.t.srv, 6 * SEC);
	assert_int_equal(gic_serve(&g), 1);
	assert_int_equal(m->flags, ICTIMESYNCFLAG_SAMPLE);
	/* Resume: SYNC again at once. */
	ic_timesync_resume(ts);
	assert_int_equal(gic_serve(&g), 1);
	assert_int_equal(m->flags, ICTIMESYNCFLAG_SYNC);
	assert_int_equal(ic_timesync_samples(ts), 3);
	tg_fini(&g.t);
}

static void test_ic_timesync_without_ref_time(void **state)
{
	static const uint32_t ts_v[] = { V(4, 0), V(3, 0), V(1, 0) };
	const struct ic_timesync_msg *m;
	struct ic_timesync *ts;
	struct gic g;

	gic_up(&g, ts_v, 3, false);
	assert_int_equal(ic_timesync_create(g.t.srv, &ts), 0);
	gic_open(&g, GUID_TS);
	assert_int_equal(gic_serve(&g), 2);
	/* 4.0 not offered: the older sample format. */
	assert_int_equal(g.last_len, ALIGN_UP(IC_HDR_SIZE + sizeof(*m), 8));
	m = (const void *)(g.last + IC_HDR_SIZE);
	assert_int_equal(m->flags, ICTIMESYNCFLAG_SYNC);
	assert_int_equal(get_le16(g.last + 8 + 6), 3); /* icvermsg major */
	tg_fini(&g.t);
}

static void kvp_each(void *o, const char *k, const char *v)
{
	(*(int *)o)++;
}

static void test_ic_kvp(void **state)
{
	static const uint32_t kvp_v[] = { V(4, 0), V(3, 0), V(1, 0) };
	const struct kvp_msg *m;
	struct ic_kvp *kvp;
	struct done d = { 0 };
	struct gic g;
	char val[64];
	int count = 0;

	gic_up(&g, kvp_v, 3, false);
	assert_int_equal(ic_kvp_create(g.t.srv, &kvp), 0);
	assert_int_equal(ic_kvp_refresh(kvp, KVP_POOL_AUTO, done_cb, &d),
			 -ENOTCONN);
	assert_int_equal(
		ic_kvp_set(kvp, KVP_POOL_EXTERNAL, "VmName", "t\xc3\xa9st"), 0);
	assert_int_equal(ic_kvp_set(kvp, 9, "a", "b"), -EINVAL);
	assert_int_equal(ic_kvp_set(kvp, 0, "bad\xff", "b"), -EINVAL);
	gic_open(&g, GUID_KVP);
	/* Negotiate, then the remembered value is pushed. */
	assert_int_equal(gic_serve(&g), 2);
	assert_int_equal(g.last_type, ICMSGTYPE_KVPEXCHANGE);
	assert_int_equal(g.last_len,
			 ALIGN_UP(IC_HDR_SIZE + KVP_MSG_WIRE_SIZE, 8));
	m = (const void *)(g.last + IC_HDR_SIZE);
	assert_int_equal(m->operation, KVP_OP_SET);
	assert_int_equal(m->pool, KVP_POOL_EXTERNAL);
	assert_int_equal(m->get_set.key_size, 14); /* 6 chars + NUL */
	assert_int_equal(get_le16(m->get_set.key), 'V');
	assert_int_equal(m->get_set.value_size, 10);
	assert_int_equal(get_le16(m->get_set.value + 2), 0xe9);
	/* Enumerate the guest's auto pool: 2 records then S_CONT. */
	g.kvp_records = 2;
	assert_int_equal(ic_kvp_refresh(kvp, KVP_POOL_AUTO, done_cb, &d), 0);
	assert_int_equal(gic_serve(&g), 3);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.status, 0);
	assert_int_equal(
		ic_kvp_lookup(kvp, KVP_POOL_AUTO, "Key0", val, sizeof(val)), 0);
	assert_string_equal(val, "\xc3\xa9");
	assert_int_equal(
		ic_kvp_lookup(kvp, KVP_POOL_AUTO, "Key1", val, sizeof(val)), 0);
	assert_string_equal(val, "43");
	assert_int_equal(ic_kvp_lookup(kvp, KVP_POOL_AUTO, "Key2", val,
				       sizeof(val)),
			 -ENOENT);
	assert_int_equal(ic_kvp_lookup(kvp, KVP_POOL_AUTO, "Key1", val, 2),
			 -ENOSPC);
	ic_kvp_foreach(kvp, KVP_POOL_AUTO, kvp_each, &count);
	assert_int_equal(count, 2);
	/* Delete, then a failing guest (no daemon): E_FAIL -> -EIO. */
	assert_int_equal(ic_kvp_delete(kvp, KVP_POOL_EXTERNAL, "VmName"), 0);
	assert_int_equal(gic_serve(&g), 1);
	assert_int_equal(m->operation, KVP_OP_DELETE);
	assert_int_equal(m->delete.key_size, 14);
	g.status = IC_STATUS_E_FAIL;
	assert_int_equal(ic_kvp_refresh(kvp, KVP_POOL_GUEST, done_cb, &d), 0);
	gic_serve(&g);
	assert_int_equal(d.calls, 2);
	assert_int_equal(d.status, -EIO);
	tg_fini(&g.t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ic_negotiate_heartbeat),
		cmocka_unit_test(test_ic_negotiate_no_common_version),
		cmocka_unit_test(test_ic_negotiate_answered_late),
		cmocka_unit_test(test_ic_ignores_unsolicited),
		cmocka_unit_test(test_ic_shutdown),
		cmocka_unit_test(test_ic_shutdown_reboot_needs_3_2),
		cmocka_unit_test(test_ic_timesync_v4),
		cmocka_unit_test(test_ic_timesync_without_ref_time),
		cmocka_unit_test(test_ic_kvp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
