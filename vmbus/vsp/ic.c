// SPDX-License-Identifier: MIT
/*
 * ic: integration-services framework. Each IC is a VMBus device with its own
 * class GUID. After the guest opens the channel the host sends NEGOTIATE
 * carrying framework versions {3.0, 1.0} and the service's message
 * versions; the guest (Linux vmbus_prep_negotiate_resp()) answers with one
 * of each, or with zero counts if nothing matches. Every later message is a
 * host request answered in place by the guest.
 */
#include "ic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hvkvm/util.h"

#define IC_FW_VERSION_3 VMBUS_MAKE_VERSION(3, 0)
#define IC_FW_VERSION_1 VMBUS_MAKE_VERSION(1, 0)
#define IC_PIPE_DATA 1 /* vmbus pipe "data" message */
/* Seconds between 1601-01-01 and 1970-01-01, in 100 ns units. */
#define IC_WLTIMEDELTA 116444736000000000ULL

static const uint32_t ic_fw_versions[] = { IC_FW_VERSION_3, IC_FW_VERSION_1 };

uint64_t ic_wall_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return IC_WLTIMEDELTA + (uint64_t)ts.tv_sec * 10000000 +
	       (uint64_t)ts.tv_nsec / 100;
}

uint64_t ic_ref_time(struct ic_base *ic)
{
	if (ic->ch)
		return vmbus_channel_ref_time(ic->ch);
	return time_now_ns() / 100;
}

static void ic_put_hdr(struct ic_base *ic, uint8_t *buf, uint16_t type,
		       uint32_t fw, uint32_t msg, uint32_t body_len,
		       uint32_t wire_len)
{
	struct icmsg_hdr *h = (struct icmsg_hdr *)(buf + 8);

	put_le32(buf, IC_PIPE_DATA);
	put_le32(buf + 4, (uint32_t)(wire_len - sizeof(struct vmbus_pipe_hdr)));
	put_le16(&h->icverframe.major, (uint16_t)(fw >> 16));
	put_le16(&h->icverframe.minor, (uint16_t)fw);
	put_le16(&h->icmsgtype, type);
	put_le16(&h->icvermsg.major, (uint16_t)(msg >> 16));
	put_le16(&h->icvermsg.minor, (uint16_t)msg);
	put_le16(&h->icmsgsize, (uint16_t)body_len);
	h->ictransaction_id = ic->txid++;
	h->icflags = ICMSGHDRFLAG_TRANSACTION | ICMSGHDRFLAG_REQUEST;
}

static int ic_send_raw(struct ic_base *ic, uint16_t type, uint32_t fw,
		       uint32_t msg, const void *body, uint32_t len,
		       uint32_t wire_len)
{
	uint32_t total = (uint32_t)IC_HDR_SIZE + MAX(len, wire_len);
	uint8_t *buf;
	int r;

	if (!ic->ch)
		return -ENOTCONN;
	if (ic->busy)
		return -EBUSY;
	buf = calloc(1, total);
	if (!buf)
		return -ENOMEM;
	ic_put_hdr(ic, buf, type, fw, msg, len, total);
	memcpy(buf + IC_HDR_SIZE, body, len);
	ic->next_tid++;
	r = vmbus_channel_send(ic->ch, VMBUS_PKT_DATA_INBAND, 0, ic->next_tid,
			       buf, total);
	free(buf);
	if (r)
		return r;
	ic->busy = true;
	ic->busy_tid = ic->next_tid;
	ic->busy_since = ic->now_ns;
	return 0;
}

int ic_send(struct ic_base *ic, const void *body, uint32_t len,
	    uint32_t wire_len)
{
	if (!ic->negotiated)
		return -ENOTCONN;
	return ic_send_raw(ic, ic->desc->msgtype, ic->fw_version,
			   ic->msg_version, body, len, wire_len);
}

void ic_kick(struct ic_base *ic)
{
	if (ic->ch && ic->negotiated && !ic->busy && ic->desc->pump)
		ic->desc->pump(ic);
}

static void ic_send_negotiate(struct ic_base *ic)
{
	const struct ic_desc *d = ic->desc;
	uint8_t body[sizeof(struct icmsg_negotiate) +
		     4 * (ARRAY_SIZE(ic_fw_versions) + IC_MAX_VERSIONS)];
	uint32_t n = 0, i, len;

	memset(body, 0, sizeof(body));
	put_le16(body, (uint16_t)ARRAY_SIZE(ic_fw_versions));
	put_le16(body + 2, (uint16_t)d->nr_versions);
	for (i = 0; i < ARRAY_SIZE(ic_fw_versions); i++, n++) {
		put_le16(body + 8 + 4 * n, (uint16_t)(ic_fw_versions[i] >> 16));
		put_le16(body + 10 + 4 * n, (uint16_t)ic_fw_versions[i]);
	}
	for (i = 0; i < d->nr_versions; i++, n++) {
		put_le16(body + 8 + 4 * n, (uint16_t)(d->versions[i] >> 16));
		put_le16(body + 10 + 4 * n, (uint16_t)d->versions[i]);
	}
	len = 8 + 4 * n;
	if (ic_send_raw(ic, ICMSGTYPE_NEGOTIATE, IC_FW_VERSION_1,
			IC_FW_VERSION_1, body, len, len))
		dev_warn(d->name, "cannot send NEGOTIATE");
}

static bool ic_version_offered(const uint32_t *list, unsigned int n, uint32_t v)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

static void ic_negotiated(struct ic_base *ic, const uint8_t *body, uint32_t len)
{
	const struct ic_desc *d = ic->desc;
	uint32_t fw, msg;

	if (len < 16 || get_le16(body) != 1 || get_le16(body + 2) != 1) {
		guest_err("%s: no common IC version", d->name);
		return;
	}
	fw = VMBUS_MAKE_VERSION(get_le16(body + 8), get_le16(body + 10));
	msg = VMBUS_MAKE_VERSION(get_le16(body + 12), get_le16(body + 14));
	if (!ic_version_offered(ic_fw_versions, ARRAY_SIZE(ic_fw_versions),
				fw) ||
	    !ic_version_offered(d->versions, d->nr_versions, msg)) {
		guest_err("%s: guest chose versions we did not offer", d->name);
		return;
	}
	ic->fw_version = fw;
	ic->msg_version = msg;
	ic->negotiated = true;
	dev_info(d->name, "IC version %u.%u (framework %u.%u)", msg >> 16,
		 msg & 0xffff, fw >> 16, fw & 0xffff);
	if (d->ready)
		d->ready(ic);
}

static int ic_packet(struct vmbus_channel *ch, const struct vmbus_packet *pkt)
{
	struct ic_base *ic = vmbus_device_priv(vmbus_channel_device(ch));
	struct icmsg_hdr h;

	if (pkt->type != VMBUS_PKT_DATA_INBAND) {
		guest_err("%s: packet type %u ignored", ic->desc->name,
			  pkt->type);
		return 0;
	}
	if (pkt->data_len < IC_HDR_SIZE) {
		guest_err("%s: short IC message (%u bytes)", ic->desc->name,
			  pkt->data_len);
		return 0;
	}
	memcpy(&h, pkt->data + sizeof(struct vmbus_pipe_hdr), sizeof(h));
	if (!(h.icflags & ICMSGHDRFLAG_RESPONSE) || !ic->busy ||
	    pkt->trans_id != ic->busy_tid) {
		guest_err("%s: unsolicited IC message (type %u, tid %llu)",
			  ic->desc->name, get_le16(&h.icmsgtype),
			  (unsigned long long)pkt->trans_id);
		return 0;
	}
	ic->busy = false;
	if (get_le16(&h.icmsgtype) == ICMSGTYPE_NEGOTIATE && !ic->negotiated)
		ic_negotiated(ic, pkt->data + IC_HDR_SIZE,
			      pkt->data_len - (uint32_t)IC_HDR_SIZE);
	else if (get_le16(&h.icmsgtype) == ic->desc->msgtype && ic->negotiated)
		ic->desc->response(ic, get_le32(&h.status),
				   pkt->data + IC_HDR_SIZE,
				   pkt->data_len - (uint32_t)IC_HDR_SIZE);
	else
		guest_err("%s: unexpected IC response type %u", ic->desc->name,
			  get_le16(&h.icmsgtype));
	ic_kick(ic);
	return 0;
}

static int ic_open(struct vmbus_channel *ch, const uint8_t *user_data)
{
	struct ic_base *ic = vmbus_device_priv(vmbus_channel_device(ch));

	if (vmbus_channel_subidx(ch) || ic->ch)
		return -EBUSY;
	ic->ch = ch;
	ic->negotiated = false;
	ic->busy = false;
	return 0;
}

static void ic_ready(struct vmbus_channel *ch)
{
	struct ic_base *ic = vmbus_device_priv(vmbus_channel_device(ch));

	ic_send_negotiate(ic);
}

static void ic_writable(struct vmbus_channel *ch)
{
	struct ic_base *ic = vmbus_device_priv(vmbus_channel_device(ch));

	if (!ic->negotiated && !ic->busy)
		ic_send_negotiate(ic);
	else
		ic_kick(ic);
}

static void ic_abandon(struct ic_base *ic)
{
	bool was_busy = ic->busy && ic->negotiated;

	ic->busy = false;
	if (was_busy && ic->desc->abandon)
		ic->desc->abandon(ic);
}

static void ic_close(struct vmbus_channel *ch)
{
	struct ic_base *ic = vmbus_device_priv(vmbus_channel_device(ch));

	ic_abandon(ic);
	ic->ch = NULL;
	ic->negotiated = false;
}

static void ic_tick(struct vmbus_device *dev, uint64_t now_ns)
{
	struct ic_base *ic = vmbus_device_priv(dev);

	ic->now_ns = now_ns;
	if (ic->busy && ic->negotiated &&
	    now_ns - ic->busy_since > IC_TIMEOUT_NS) {
		dev_warn(ic->desc->name, "guest did not answer, request "
					 "abandoned");
		ic_abandon(ic);
	}
	if (ic->desc->tick)
		ic->desc->tick(ic, now_ns);
	ic_kick(ic);
}

static void ic_destroy(struct vmbus_device *dev)
{
	struct ic_base *ic = vmbus_device_priv(dev);

	if (ic->desc->destroy)
		ic->desc->destroy(ic);
}

static const struct vmbus_device_ops ic_ops = {
	.open = ic_open,
	.ready = ic_ready,
	.packet = ic_packet,
	.writable = ic_writable,
	.close = ic_close,
	.tick = ic_tick,
	.destroy = ic_destroy,
};

int ic_register(struct vmbus_server *s, const struct ic_desc *desc,
		struct ic_base *ic)
{
	struct vmbus_device_params p;

	memset(&p, 0, sizeof(p));
	p.name = desc->name;
	if (vmbus_guid_parse(desc->class_id, p.class_id) ||
	    vmbus_guid_parse(desc->instance_id, p.instance_id))
		return -EINVAL;
	p.ops = &ic_ops;
	p.priv = ic;
	ic->desc = desc;
	ic->now_ns = vmbus_server_last_tick(s);
	return vmbus_device_add(s, &p, &ic->dev);
}
