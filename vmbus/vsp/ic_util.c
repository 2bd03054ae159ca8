// SPDX-License-Identifier: MIT
/*
 * ic_util: the small integration services.
 *
 * Heartbeat (57164f39-...): every tick the host sends its sequence number,
 * the guest answers with it plus one; the host tracks the last answer.
 * Shutdown (0e0b6031-...): on request the host sends flags 0/1 (power off,
 * forced) or 2/3 (reboot, needs message version 3.2); the guest answers
 * S_OK and starts the shutdown, or E_FAIL.
 * Time sync (9527e630-...): a SYNC sample after negotiation and after
 * resume, then a SAMPLE every IC_TIMESYNC_PERIOD. Version 4.0 carries the
 * partition reference time of the sample (offered only when the VM gave us
 * ref_time, else the guest would mis-correct by the clock difference).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/util.h"
#include "ic.h"

#define IC_HEARTBEAT_PERIOD (1ULL * 1000000000)
#define IC_TIMESYNC_PERIOD (5ULL * 1000000000)
#define IC_SHUTDOWN_REASON_PLANNED 0x80000000u

/* ---- heartbeat ---- */

struct ic_heartbeat {
	struct ic_base ic;
	uint64_t seq; /* last value the guest returned */
	uint64_t answers;
	uint64_t last_ns; /* tick time of the last answer */
	uint64_t last_sent_ns;
	bool due;
};

static void hb_pump(struct ic_base *ic)
{
	struct ic_heartbeat *hb = container_of(ic, struct ic_heartbeat, ic);
	struct ic_heartbeat_msg m;

	if (!hb->due)
		return;
	memset(&m, 0, sizeof(m));
	put_le64(&m.seq_num, hb->seq);
	if (!ic_send(ic, &m, sizeof(m), sizeof(m))) {
		hb->due = false;
		hb->last_sent_ns = ic->now_ns;
	}
}

static void hb_ready(struct ic_base *ic)
{
	struct ic_heartbeat *hb = container_of(ic, struct ic_heartbeat, ic);

	hb->due = true;
	hb->last_ns = ic->now_ns;
}

static void hb_response(struct ic_base *ic, uint32_t status,
			const uint8_t *body, uint32_t len)
{
	struct ic_heartbeat *hb = container_of(ic, struct ic_heartbeat, ic);
	uint64_t seq;

	if (len < sizeof(struct ic_heartbeat_msg)) {
		guest_err("heartbeat: short answer (%u bytes)", len);
		return;
	}
	seq = get_le64(body);
	if (seq != hb->seq + 1)
		guest_err("heartbeat: sequence %llu, expected %llu",
			  (unsigned long long)seq,
			  (unsigned long long)hb->seq + 1);
	hb->seq = seq;
	hb->answers++;
	hb->last_ns = ic->now_ns;
}

static void hb_tick(struct ic_base *ic, uint64_t now_ns)
{
	struct ic_heartbeat *hb = container_of(ic, struct ic_heartbeat, ic);

	if (now_ns - hb->last_sent_ns >= IC_HEARTBEAT_PERIOD)
		hb->due = true;
}

static void ic_free(struct ic_base *ic)
{
	free(ic);
}

static const struct ic_desc hb_desc = {
	.name = "heartbeat",
	.class_id = "57164f39-9115-4e78-ab55-382f3bd5422d",
	.instance_id = "2f9bcc4a-0069-4af3-b76b-6fd0be528cda",
	.msgtype = ICMSGTYPE_HEARTBEAT,
	.versions = { VMBUS_MAKE_VERSION(3, 0), VMBUS_MAKE_VERSION(1, 0) },
	.nr_versions = 2,
	.ready = hb_ready,
	.pump = hb_pump,
	.response = hb_response,
	.tick = hb_tick,
	.destroy = ic_free,
};

int ic_heartbeat_create(struct vmbus_server *s, struct ic_heartbeat **out)
{
	struct ic_heartbeat *hb = calloc(1, sizeof(*hb));
	int r;

	if (!hb)
		return -ENOMEM;
	r = ic_register(s, &hb_desc, &hb->ic);
	if (r) {
		free(hb);
		return r;
	}
	if (out)
		*out = hb;
	return 0;
}

void ic_heartbeat_get(struct ic_heartbeat *hb, struct ic_heartbeat_state *st)
{
	st->seq = hb->seq;
	st->answers = hb->answers;
	st->last_ns = hb->last_ns;
	if (!hb->ic.negotiated || !hb->answers)
		st->status = IC_HEARTBEAT_NO_CONTACT;
	else if (hb->ic.now_ns - hb->last_ns > 3 * IC_HEARTBEAT_PERIOD)
		st->status = IC_HEARTBEAT_LOST;
	else
		st->status = IC_HEARTBEAT_OK;
}

/* ---- shutdown ---- */

struct ic_shutdown {
	struct ic_base ic;
	bool queued; /* request waiting to be sent */
	bool sent;   /* request outstanding */
	uint32_t flags;
	char reason[128];
	ic_done_fn done;
	void *opaque;
};

static void sd_finish(struct ic_shutdown *sd, int status)
{
	ic_done_fn done = sd->done;

	sd->queued = sd->sent = false;
	sd->done = NULL;
	if (done)
		done(sd->opaque, status);
}

static void sd_pump(struct ic_base *ic)
{
	struct ic_shutdown *sd = container_of(ic, struct ic_shutdown, ic);
	struct ic_shutdown_msg *m;
	size_t i;

	if (!sd->queued)
		return;
	if (sd->flags >= 2 && ic->msg_version < VMBUS_MAKE_VERSION(3, 2)) {
		dev_warn(ic->desc->name, "guest cannot reboot on request");
		sd_finish(sd, -EOPNOTSUPP);
		return;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return;
	put_le32(&m->reason_code, IC_SHUTDOWN_REASON_PLANNED);
	put_le32(&m->flags, sd->flags);
	/* The display message is UTF-16LE. */
	for (i = 0; sd->reason[i] && i < sizeof(sd->reason); i++)
		put_le16(&m->display_message[2 * i], (uint8_t)sd->reason[i]);
	if (!ic_send(ic, m, sizeof(*m), sizeof(*m))) {
		sd->queued = false;
		sd->sent = true;
	}
	free(m);
}

static void sd_response(struct ic_base *ic, uint32_t status,
			const uint8_t *body, uint32_t len)
{
	struct ic_shutdown *sd = container_of(ic, struct ic_shutdown, ic);

	if (!sd->sent)
		return;
	dev_info(ic->desc->name, "guest %s the request (status %#x)",
		 status == IC_STATUS_OK ? "accepted" : "refused", status);
	sd_finish(sd, status == IC_STATUS_OK ? 0 : -EIO);
}

static void sd_abandon(struct ic_base *ic)
{
	struct ic_shutdown *sd = container_of(ic, struct ic_shutdown, ic);

	if (sd->sent)
		sd_finish(sd, -ENOTCONN);
}

static const struct ic_desc sd_desc = {
	.name = "shutdown",
	.class_id = "0e0b6031-5213-4934-818b-38d90ced39db",
	.instance_id = "b6650ff7-33bc-4840-8048-e0676786f393",
	.msgtype = ICMSGTYPE_SHUTDOWN,
	.versions = { VMBUS_MAKE_VERSION(3, 2), VMBUS_MAKE_VERSION(3, 0),
		      VMBUS_MAKE_VERSION(1, 0) },
	.nr_versions = 3,
	.pump = sd_pump,
	.response = sd_response,
	.abandon = sd_abandon,
	.destroy = ic_free,
};

int ic_shutdown_create(struct vmbus_server *s, struct ic_shutdown **out)
{
	struct ic_shutdown *sd = calloc(1, sizeof(*sd));
	int r;

	if (!sd)
		return -ENOMEM;
	r = ic_register(s, &sd_desc, &sd->ic);
	if (r) {
		free(sd);
		return r;
	}
	if (out)
		*out = sd;
	return 0;
}

int ic_shutdown_request(struct ic_shutdown *sd, enum ic_shutdown_kind kind,
			bool force, const char *reason, ic_done_fn done,
			void *opaque)
{
	if (sd->queued || sd->sent)
		return -EBUSY;
	sd->flags = (kind == IC_SHUTDOWN_REBOOT ? 2 : 0) | (force ? 1 : 0);
	snprintf(sd->reason, sizeof(sd->reason), "%s", reason ? reason : "");
	sd->done = done;
	sd->opaque = opaque;
	sd->queued = true;
	ic_kick(&sd->ic);
	return 0;
}

/* ---- time sync ---- */

struct ic_timesync {
	struct ic_base ic;
	uint8_t next_flags; /* ICTIMESYNCFLAG_* to send, or 0xff */
	uint64_t last_sent_ns;
	uint64_t samples;
};

static void ts_pump(struct ic_base *ic)
{
	struct ic_timesync *ts = container_of(ic, struct ic_timesync, ic);

	if (ts->next_flags == 0xff)
		return;
	if (ic->msg_version >= VMBUS_MAKE_VERSION(4, 0)) {
		struct ic_timesync_ref_msg m;

		memset(&m, 0, sizeof(m));
		put_le64(&m.vmreferencetime, ic_ref_time(ic));
		put_le64(&m.parenttime, ic_wall_time());
		m.flags = ts->next_flags;
		m.stratum = 2;
		if (ic_send(ic, &m, sizeof(m), sizeof(m)))
			return;
	} else {
		struct ic_timesync_msg m;

		memset(&m, 0, sizeof(m));
		put_le64(&m.parenttime, ic_wall_time());
		m.flags = ts->next_flags;
		if (ic_send(ic, &m, sizeof(m), sizeof(m)))
			return;
	}
	ts->next_flags = 0xff;
	ts->last_sent_ns = ic->now_ns;
}

static void ts_ready(struct ic_base *ic)
{
	struct ic_timesync *ts = container_of(ic, struct ic_timesync, ic);

	ts->next_flags = ICTIMESYNCFLAG_SYNC;
}

static void ts_response(struct ic_base *ic, uint32_t status,
			const uint8_t *body, uint32_t len)
{
	struct ic_timesync *ts = container_of(ic, struct ic_timesync, ic);

	ts->samples++;
}

static void ts_tick(struct ic_base *ic, uint64_t now_ns)
{
	struct ic_timesync *ts = container_of(ic, struct ic_timesync, ic);

	if (ts->next_flags == 0xff &&
	    now_ns - ts->last_sent_ns >= IC_TIMESYNC_PERIOD)
		ts->next_flags = ICTIMESYNCFLAG_SAMPLE;
}

static const struct ic_desc ts_desc_ref = {
	.name = "timesync",
	.class_id = "9527e630-d0ae-497b-adce-e80ab0175caf",
	.instance_id = "2dd1ce17-079e-403c-b352-a1921ee207ee",
	.msgtype = ICMSGTYPE_TIMESYNC,
	.versions = { VMBUS_MAKE_VERSION(4, 0), VMBUS_MAKE_VERSION(3, 0),
		      VMBUS_MAKE_VERSION(1, 0) },
	.nr_versions = 3,
	.ready = ts_ready,
	.pump = ts_pump,
	.response = ts_response,
	.tick = ts_tick,
	.destroy = ic_free,
};

static const struct ic_desc ts_desc_noref = {
	.name = "timesync",
	.class_id = "9527e630-d0ae-497b-adce-e80ab0175caf",
	.instance_id = "2dd1ce17-079e-403c-b352-a1921ee207ee",
	.msgtype = ICMSGTYPE_TIMESYNC,
	.versions = { VMBUS_MAKE_VERSION(3, 0), VMBUS_MAKE_VERSION(1, 0) },
	.nr_versions = 2,
	.ready = ts_ready,
	.pump = ts_pump,
	.response = ts_response,
	.tick = ts_tick,
	.destroy = ic_free,
};

int ic_timesync_create(struct vmbus_server *s, struct ic_timesync **out)
{
	struct ic_timesync *ts = calloc(1, sizeof(*ts));
	int r;

	if (!ts)
		return -ENOMEM;
	ts->next_flags = 0xff;
	r = ic_register(
		s, vmbus_server_has_ref_time(s) ? &ts_desc_ref : &ts_desc_noref,
		&ts->ic);
	if (r) {
		free(ts);
		return r;
	}
	if (out)
		*out = ts;
	return 0;
}

void ic_timesync_resume(struct ic_timesync *ts)
{
	ts->next_flags = ICTIMESYNCFLAG_SYNC;
	ic_kick(&ts->ic);
}

uint64_t ic_timesync_samples(struct ic_timesync *ts)
{
	return ts->samples;
}
