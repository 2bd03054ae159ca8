// SPDX-License-Identifier: MIT
/*
 * netvsp: the synthetic network adapter on VMBus (class
 * f8615163-df3e-46c5-913f-f2d2f965ed0e), speaking NVSP and RNDIS to Linux
 * hv_netvsc and Windows netvsc. Layouts in netvsp_proto.h, behaviour in
 * docs/network.md.
 *
 * Init (primary channel): NVSP INIT (versions 2 .. 6.1; the highest the
 * guest's range allows), SEND_NDIS_VER, SEND_NDIS_CONFIG (MTU), the
 * receive buffer (a GPADL we cut into equal sections) and the send buffer
 * (a GPADL the guest cuts into our section size), then RNDIS over
 * SEND_RNDIS_PKT: INITIALIZE, QUERY/SET of the OIDs the drivers use,
 * KEEPALIVE, RESET, HALT.
 *
 * Guest -> host: a SEND_RNDIS_PKT names a send-buffer section or carries
 * the RNDIS message in the packet's GPA-direct pages; it may hold several
 * RNDIS messages back to back (Linux batches up to max_pkt_per_msg). Each
 * is answered with SEND_RNDIS_PKT_COMPLETE. Frames go to the backend; a
 * full backend leaves the packet in the ring until it drains.
 *
 * Host -> guest: every RNDIS message (control answers, status
 * indications, received frames) is copied into a free receive section and
 * announced with a transfer-page packet; the guest's completion frees the
 * section. No free section (or a full ring) stops reading the backend.
 *
 * Not implemented: sub-channels (vRSS: RSS capabilities say one queue),
 * checksum/LSO offloads (the capabilities say none; every frame is
 * complete), VLAN tags, VF data path switching (accepted, ignored).
 */
#include "hvkvm/netvsp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/util.h"
#include "netvsp_proto.h"

#define NV_PAGE 4096u
#define NV_TX_BOUNCE (NET_MAX_FRAME + 4096) /* one GPA-direct RNDIS msg */
#define NV_TX_SECTION 6144u		    /* send-buffer section size */
#define NV_MAX_SECTIONS 65536u
#define NV_RX_TID 0x4e56000000000000ull /* "NV": our xfer-page tids */
#define NV_COMP_MAX 256			/* deferred TX completions */
#define NV_CTL_MAX 16			/* RNDIS answers waiting */
#define NV_CTL_LEN 256			/* longest answer we build */

/* A guest buffer described by one GPADL range. */
struct nv_buf {
	uint32_t handle; /* 0 = none */
	uint32_t size;	 /* bytes */
	uint32_t off;	 /* into the first page */
	const uint64_t *pfns;
	uint32_t npfns;
};

struct nv_ctl {
	uint32_t len;
	uint8_t msg[NV_CTL_LEN];
};

struct nv_comp {
	uint64_t tid;
	uint32_t status;
};

struct netvsp_stats {
	uint64_t rx_frames, rx_bytes, rx_drops, rx_no_section;
	uint64_t tx_frames, tx_bytes, tx_errors, rndis_control, bad_packets;
};

struct netvsp {
	struct vmbus_device *dev;
	char name[32];
	uint8_t mac[NET_MAC_LEN];
	struct net_backend *nb;
	uint32_t mtu;
	struct vmbus_channel *ch; /* the primary, NULL while closed */
	uint32_t nvsp_ver, ndis_ver;
	struct nv_buf rx, tx;
	uint32_t rx_sec_size, rx_nsec, rx_hint, rx_used;
	uint8_t *rx_busy; /* per section: announced, not completed */
	bool rx_waiting;  /* the backend waits for a section */
	bool rndis_up;	  /* INITIALIZE done, no HALT since */
	uint32_t filter;  /* NDIS_PACKET_TYPE_* */
	bool link_up, link_told;
	struct nv_ctl ctl[NV_CTL_MAX]; /* answers waiting for a section */
	unsigned int ctl_head, ctl_count;
	struct nv_comp comp[NV_COMP_MAX]; /* completions waiting for room */
	unsigned int comp_head, comp_count;
	uint8_t *bounce; /* GPA-direct RNDIS messages */
	struct netvsp_stats st;
};

static const uint32_t nv_versions[] = {
	NVSP_VERSION_61, NVSP_VERSION_6, NVSP_VERSION_5,
	NVSP_VERSION_4,	 NVSP_VERSION_2,
};

static void nv_flush(struct netvsp *nv);

/* ---- guest buffers ---- */

static void nv_buf_release(struct netvsp *nv, struct nv_buf *b)
{
	if (b->handle && nv->ch)
		vmbus_channel_gpadl_release(nv->ch, b->handle);
	memset(b, 0, sizeof(*b));
}

/* Take GPADL @handle as @b: one range, held until released. */
static int nv_buf_take(struct netvsp *nv, struct nv_buf *b, uint32_t handle)
{
	const struct vmbus_range *r;
	unsigned int nr;

	if (b->handle || !handle)
		return -EBUSY;
	r = vmbus_channel_gpadl(nv->ch, handle, &nr);
	if (!r || nr != 1 || !r->byte_count || r->byte_offset >= NV_PAGE ||
	    (uint64_t)r->byte_offset + r->byte_count >
		    (uint64_t)r->nr_pfns * NV_PAGE)
		return -EINVAL;
	if (vmbus_channel_gpadl_hold(nv->ch, handle))
		return -EINVAL;
	b->handle = handle;
	b->size = r->byte_count;
	b->off = r->byte_offset;
	b->pfns = r->pfns;
	b->npfns = r->nr_pfns;
	return 0;
}

/* Copy between @data and bytes @off.. of @b. 0, -EINVAL, -EFAULT. */
static int nv_buf_copy(struct netvsp *nv, const struct nv_buf *b, uint32_t off,
		       void *data, uint32_t len, bool to_guest)
{
	struct gmem *gm = vmbus_channel_gmem(nv->ch);
	uint64_t pos = (uint64_t)b->off + off;
	uint8_t *d = data;

	if (!b->handle || off > b->size || len > b->size - off)
		return -EINVAL;
	while (len) {
		uint64_t page = pos / NV_PAGE;
		uint32_t in = (uint32_t)(pos % NV_PAGE);
		uint32_t n = MIN(NV_PAGE - in, len);
		uint8_t *p;

		if (page >= b->npfns)
			return -EINVAL;
		p = gmem_map(gm, get_le64(&b->pfns[page]) * NV_PAGE + in, n,
			     to_guest);
		if (!p)
			return -EFAULT;
		if (to_guest)
			memcpy(p, d, n);
		else
			memcpy(d, p, n);
		d += n;
		pos += n;
		len -= n;
	}
	return 0;
}

/* ---- host -> guest: receive sections ---- */

/* Section size for @mtu: the frame, RNDIS headers, slack (Linux: 1728). */
static uint32_t nv_rx_section_size(uint32_t mtu)
{
	uint32_t need = mtu + 14 + 4 + RNDIS_HDR +
			(uint32_t)sizeof(struct rndis_packet) + 64;

	return MAX(1728u, (need + 63) & ~63u);
}

static int nv_rx_section_get(struct netvsp *nv, uint32_t *sec)
{
	uint32_t i, s;

	for (i = 0; i < nv->rx_nsec; i++) {
		s = (nv->rx_hint + i) % nv->rx_nsec;
		if (!nv->rx_busy[s]) {
			nv->rx_hint = s + 1;
			*sec = s;
			return 0;
		}
	}
	return -ENOBUFS;
}

/*
 * Copy @iov (one RNDIS message, @total bytes) into a section and announce
 * it. 0; -ENOBUFS (no section or ring full: try again later); -ENOTCONN
 * (no receive buffer yet); -EMSGSIZE.
 */
static int nv_deliver(struct netvsp *nv, uint32_t chan_type,
		      const struct iovec *iov, int iovcnt, uint32_t total)
{
	uint8_t xfer[16], nvsp[16];
	struct iovec out[2] = { { xfer, sizeof(xfer) },
				{ nvsp, sizeof(nvsp) } };
	uint32_t sec, off, done = 0;
	int i, r;

	if (!nv->ch || !nv->rx.handle)
		return -ENOTCONN;
	if (total > nv->rx_sec_size)
		return -EMSGSIZE;
	if (nv_rx_section_get(nv, &sec))
		return -ENOBUFS;
	off = sec * nv->rx_sec_size;
	for (i = 0; i < iovcnt; i++) {
		r = nv_buf_copy(nv, &nv->rx, off + done, iov[i].iov_base,
				(uint32_t)iov[i].iov_len, true);
		if (r)
			return r;
		done += (uint32_t)iov[i].iov_len;
	}
	memset(xfer, 0, sizeof(xfer));
	put_le16(xfer, NVSP_RECV_BUF_ID);
	put_le32(xfer + 4, 1); /* one range */
	put_le32(xfer + 8, total);
	put_le32(xfer + 12, off);
	memset(nvsp, 0, sizeof(nvsp));
	put_le32(nvsp, NVSP_MSG1_SEND_RNDIS_PKT);
	put_le32(nvsp + 4, chan_type);
	put_le32(nvsp + 8, NVSP_INVALID_SECTION);
	r = vmbus_channel_sendv(nv->ch, VMBUS_PKT_DATA_USING_XFER_PAGES,
				VMBUS_PKT_FLAG_COMPLETION_REQUESTED,
				NV_RX_TID | sec, sizeof(xfer), out, 2);
	if (r)
		return r == -EAGAIN ? -ENOBUFS : r;
	nv->rx_busy[sec] = 1;
	nv->rx_used++;
	return 0;
}

/* Queue an RNDIS answer; it goes out now or when a section frees. */
static void nv_ctl_send(struct netvsp *nv, const void *msg, uint32_t len)
{
	struct nv_ctl *c;

	if (nv->ctl_count == NV_CTL_MAX || len > NV_CTL_LEN) {
		dev_warn(nv->name, "RNDIS answer dropped (queue full)");
		return;
	}
	c = &nv->ctl[(nv->ctl_head + nv->ctl_count) % NV_CTL_MAX];
	memcpy(c->msg, msg, len);
	c->len = len;
	nv->ctl_count++;
	nv_flush(nv);
}

static void nv_link_indicate(struct netvsp *nv)
{
	uint8_t m[20] = { 0 };

	put_le32(m, RNDIS_MSG_INDICATE);
	put_le32(m + 4, sizeof(m));
	put_le32(m + 8, nv->link_up ? RNDIS_STATUS_MEDIA_CONNECT :
				      RNDIS_STATUS_MEDIA_DISCONNECT);
	nv->link_told = nv->link_up;
	nv_ctl_send(nv, m, sizeof(m));
}

/* Send what waited: control answers first, then wake the backend. */
static void nv_flush(struct netvsp *nv)
{
	while (nv->ctl_count) {
		struct nv_ctl *c = &nv->ctl[nv->ctl_head];
		struct iovec v = { c->msg, c->len };
		int r = nv_deliver(nv, NVSP_RNDIS_CHANNEL_CONTROL, &v, 1,
				   c->len);

		if (r == -ENOBUFS)
			return;
		if (r)
			dev_warn(nv->name, "RNDIS answer lost: %d", r);
		nv->ctl_head = (nv->ctl_head + 1) % NV_CTL_MAX;
		nv->ctl_count--;
	}
	if (nv->rx_waiting && nv->rx_used < nv->rx_nsec) {
		nv->rx_waiting = false;
		net_rx_resume(nv->nb);
	}
}

/* ---- host -> guest: frames from the backend ---- */

static bool nv_filter_pass(const struct netvsp *nv, const uint8_t *f)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	if (nv->filter & NDIS_PACKET_TYPE_PROMISCUOUS)
		return true;
	if (!memcmp(f, bcast, 6))
		return nv->filter & NDIS_PACKET_TYPE_BROADCAST;
	if (f[0] & 1)
		return nv->filter & (NDIS_PACKET_TYPE_ALL_MULTICAST |
				     NDIS_PACKET_TYPE_MULTICAST);
	return (nv->filter & NDIS_PACKET_TYPE_DIRECTED) &&
	       !memcmp(f, nv->mac, 6);
}

static int nv_receive(void *opaque, const void *frame, size_t len)
{
	struct netvsp *nv = opaque;
	uint8_t hdr[RNDIS_HDR + sizeof(struct rndis_packet)];
	struct iovec v[2] = { { hdr, sizeof(hdr) }, { (void *)frame, len } };
	int r;

	if (!nv->rndis_up || !nv->link_up || len < 14 || len > nv->mtu + 18 ||
	    !nv_filter_pass(nv, frame)) {
		nv->st.rx_drops++;
		net_count_drop(nv->nb);
		return 0;
	}
	if (nv->ctl_count) { /* answers first, in order */
		nv->rx_waiting = true;
		return -ENOBUFS;
	}
	memset(hdr, 0, sizeof(hdr));
	put_le32(hdr, RNDIS_MSG_PACKET);
	put_le32(hdr + 4, (uint32_t)(sizeof(hdr) + len));
	put_le32(hdr + 8, sizeof(struct rndis_packet)); /* data_offset */
	put_le32(hdr + 12, (uint32_t)len);
	r = nv_deliver(nv, NVSP_RNDIS_CHANNEL_DATA, v, 2,
		       (uint32_t)(sizeof(hdr) + len));
	if (r == -ENOBUFS) {
		nv->st.rx_no_section++;
		nv->rx_waiting = true;
		return -ENOBUFS;
	}
	if (r) {
		nv->st.rx_drops++;
		net_count_drop(nv->nb);
		return 0;
	}
	nv->st.rx_frames++;
	nv->st.rx_bytes += len;
	return 0;
}

/* ---- RNDIS control ---- */

static void nv_query(struct netvsp *nv, const uint8_t *m, uint32_t mlen)
{
	uint8_t a[NV_CTL_LEN], *d = a + 24;
	uint32_t oid = get_le32(m + 12), in_len = get_le32(m + 16);
	uint32_t in_off = get_le32(m + 20), n = 0, st = RNDIS_STATUS_SUCCESS;
	const uint8_t *in = NULL;

	/* The request's own buffer (NDIS object headers), if it is inside. */
	if (in_len && in_off >= 20 && (uint64_t)in_off + 8 + in_len <= mlen)
		in = m + 8 + in_off;
	memset(a, 0, sizeof(a));
	switch (oid) {
	case RNDIS_OID_802_3_PERMANENT_ADDRESS:
	case RNDIS_OID_802_3_CURRENT_ADDRESS:
		memcpy(d, nv->mac, 6);
		n = 6;
		break;
	case RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE:
		put_le32(d, nv->mtu);
		n = 4;
		break;
	case RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE:
		put_le32(d, nv->mtu + 14);
		n = 4;
		break;
	case RNDIS_OID_GEN_LINK_SPEED: /* 100 bit/s units: 10 Gbit/s */
		put_le32(d, 100000000u);
		n = 4;
		break;
	case RNDIS_OID_GEN_MEDIA_CONNECT_STATUS:
		put_le32(d, nv->link_up ? 0 : 1);
		n = 4;
		break;
	case RNDIS_OID_GEN_PHYSICAL_MEDIUM:
	case RNDIS_OID_GEN_CURRENT_PACKET_FILTER:
		put_le32(d,
			 oid == RNDIS_OID_GEN_PHYSICAL_MEDIUM ? 0 : nv->filter);
		n = 4;
		break;
	case RNDIS_OID_802_3_MAXIMUM_LIST_SIZE:
		put_le32(d, 32);
		n = 4;
		break;
	case RNDIS_OID_GEN_XMIT_OK:
	case RNDIS_OID_GEN_RCV_OK:
	case RNDIS_OID_GEN_XMIT_ERROR:
	case RNDIS_OID_GEN_RCV_ERROR:
	case RNDIS_OID_GEN_RCV_NO_BUFFER:
		put_le32(d, (uint32_t)(oid == RNDIS_OID_GEN_XMIT_OK ?
					       nv->st.tx_frames :
				       oid == RNDIS_OID_GEN_RCV_OK ?
					       nv->st.rx_frames :
				       oid == RNDIS_OID_GEN_XMIT_ERROR ?
					       nv->st.tx_errors :
				       oid == RNDIS_OID_GEN_RCV_ERROR ?
					       nv->st.rx_drops :
					       nv->st.rx_no_section));
		n = 4;
		break;
	case RNDIS_OID_TCP_OFFLOAD_HW_CAPS:
		/* An NDIS_OFFLOAD with every capability off, at the size
		 * and revision the guest asked for. */
		n = NDIS_OFFLOAD_SIZE_6_0;
		if (in && in_len >= 4)
			n = MAX(n, MIN(in_len, (uint32_t)NV_CTL_LEN - 24));
		d[0] = NDIS_OBJECT_TYPE_OFFLOAD;
		d[1] = in && in_len >= 4 && in[1] ? MIN(in[1], (uint8_t)3) : 1;
		put_le16(d + 2, (uint16_t)n);
		break;
	case RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES:
		/* One receive queue: no vRSS. */
		d[0] = NDIS_OBJECT_TYPE_RSS_CAPABILITIES;
		d[1] = 2;
		put_le16(d + 2, 18);
		put_le32(d + 8, 1);  /* interrupt messages */
		put_le32(d + 12, 1); /* receive queues */
		n = 18;
		break;
	default:
		st = RNDIS_STATUS_NOT_SUPPORTED;
		break;
	}
	put_le32(a, RNDIS_MSG_QUERY | RNDIS_MSG_COMPLETION);
	put_le32(a + 4, 24 + n);
	memcpy(a + 8, m + 8, 4); /* req_id */
	put_le32(a + 12, st);
	put_le32(a + 16, n);
	put_le32(a + 20, n ? 16 : 0); /* from req_id */
	nv_ctl_send(nv, a, 24 + n);
}

static void nv_set(struct netvsp *nv, const uint8_t *m, uint32_t mlen)
{
	uint32_t oid = get_le32(m + 12), len = get_le32(m + 16);
	uint32_t off = get_le32(m + 20), st = RNDIS_STATUS_SUCCESS;
	const uint8_t *v = NULL;
	uint8_t a[16];

	if (len && off >= 20 && (uint64_t)off + 8 + len <= mlen)
		v = m + 8 + off;
	else if (len)
		st = RNDIS_STATUS_INVALID_DATA;
	if (!st) {
		switch (oid) {
		case RNDIS_OID_GEN_CURRENT_PACKET_FILTER:
			if (!v || len < 4) {
				st = RNDIS_STATUS_INVALID_DATA;
				break;
			}
			nv->filter = get_le32(v);
			dev_info(nv->name, "packet filter %#x", nv->filter);
			break;
		case RNDIS_OID_802_3_MULTICAST_LIST:
		case RNDIS_OID_TCP_OFFLOAD_PARAMETERS: /* all stay off */
		case RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS:
			break;
		default:
			st = RNDIS_STATUS_NOT_SUPPORTED;
			break;
		}
	}
	put_le32(a, RNDIS_MSG_SET | RNDIS_MSG_COMPLETION);
	put_le32(a + 4, sizeof(a));
	memcpy(a + 8, m + 8, 4);
	put_le32(a + 12, st);
	nv_ctl_send(nv, a, sizeof(a));
}

/*
 * One RNDIS message of @mlen bytes. 0, -EAGAIN (a frame met a full
 * backend and @first: leave the whole packet for later), or an NVSP
 * status problem (the packet is completed with FAIL).
 */
static int nv_rndis(struct netvsp *nv, const uint8_t *m, uint32_t mlen,
		    bool first)
{
	uint32_t type = get_le32(m);
	uint8_t a[52];
	int r;

	if (type != RNDIS_MSG_PACKET) {
		nv->st.rndis_control++;
		if (mlen < 12 && type != RNDIS_MSG_HALT)
			return -EINVAL;
	}
	switch (type) {
	case RNDIS_MSG_PACKET: {
		uint32_t doff, dlen;
		struct iovec v;

		if (mlen < RNDIS_HDR + sizeof(struct rndis_packet))
			return -EINVAL;
		doff = get_le32(m + 8);
		dlen = get_le32(m + 12);
		if (doff > mlen - RNDIS_HDR || dlen > mlen - RNDIS_HDR - doff ||
		    dlen < 14 || dlen > NET_MAX_FRAME)
			return -EINVAL;
		if (!nv->rndis_up || !nv->link_up) { /* no carrier */
			nv->st.tx_errors++;
			return 0;
		}
		v.iov_base = (void *)(m + RNDIS_HDR + doff);
		v.iov_len = dlen;
		r = net_send(nv->nb, &v, 1);
		if (r == -EAGAIN && first)
			return -EAGAIN;
		if (r) {
			nv->st.tx_errors++;
			return 0;
		}
		nv->st.tx_frames++;
		nv->st.tx_bytes += dlen;
		return 0;
	}
	case RNDIS_MSG_INIT:
		memset(a, 0, sizeof(a));
		put_le32(a, RNDIS_MSG_INIT | RNDIS_MSG_COMPLETION);
		put_le32(a + 4, 52);
		memcpy(a + 8, m + 8, 4);
		put_le32(a + 12, RNDIS_STATUS_SUCCESS);
		put_le32(a + 16, 1);	   /* major */
		put_le32(a + 24, 1);	   /* connectionless */
		put_le32(a + 32, 8);	   /* packets per message */
		put_le32(a + 36, 0x40000); /* max transfer */
		put_le32(a + 40, 3);	   /* 8-byte alignment */
		nv->rndis_up = true;
		nv->filter = 0;
		nv_ctl_send(nv, a, 52);
		dev_info(
			nv->name,
			"RNDIS initialized (MAC %02x:%02x:%02x:%02x:%02x:%02x)",
			nv->mac[0], nv->mac[1], nv->mac[2], nv->mac[3],
			nv->mac[4], nv->mac[5]);
		if (!nv->link_up)
			nv_link_indicate(nv);
		return 0;
	case RNDIS_MSG_QUERY:
	case RNDIS_MSG_SET:
		if (mlen < 28)
			return -EINVAL;
		if (type == RNDIS_MSG_QUERY)
			nv_query(nv, m, mlen);
		else
			nv_set(nv, m, mlen);
		return 0;
	case RNDIS_MSG_RESET:
		memset(a, 0, 16);
		put_le32(a, RNDIS_MSG_RESET | RNDIS_MSG_COMPLETION);
		put_le32(a + 4, 16);
		put_le32(a + 12, 1); /* addressing reset */
		nv->filter = 0;
		nv_ctl_send(nv, a, 16);
		return 0;
	case RNDIS_MSG_KEEPALIVE:
		memset(a, 0, 16);
		put_le32(a, RNDIS_MSG_KEEPALIVE | RNDIS_MSG_COMPLETION);
		put_le32(a + 4, 16);
		memcpy(a + 8, m + 8, 4);
		nv_ctl_send(nv, a, 16);
		return 0;
	case RNDIS_MSG_HALT:
		nv->rndis_up = false;
		nv->filter = 0;
		return 0;
	default:
		guest_err("%s: RNDIS message %#x ignored", nv->name, type);
		return -EINVAL;
	}
}

/* Every RNDIS message of @buf; NVSP status. -EAGAIN: retry the packet. */
static int nv_rndis_all(struct netvsp *nv, const uint8_t *buf, uint32_t len,
			uint32_t *status)
{
	uint32_t off = 0, n = 0;
	int r;

	*status = NVSP_STAT_SUCCESS;
	while (len - off >= 8) {
		uint32_t mlen = get_le32(buf + off + 4);

		if (mlen < 8 || mlen > len - off) {
			*status = NVSP_STAT_FAIL;
			break;
		}
		r = nv_rndis(nv, buf + off, mlen, n == 0);
		if (r == -EAGAIN)
			return r;
		if (r)
			*status = NVSP_STAT_FAIL;
		n++;
		off += mlen;
	}
	if (!n)
		*status = NVSP_STAT_FAIL;
	if (*status != NVSP_STAT_SUCCESS) {
		nv->st.bad_packets++;
		guest_err("%s: malformed RNDIS packet (%u bytes)", nv->name,
			  len);
	}
	return 0;
}

/* The RNDIS bytes of a GPA-direct packet into the bounce buffer. */
static int nv_gather(struct netvsp *nv, const struct vmbus_packet *pkt,
		     uint32_t *len)
{
	struct gmem *gm = vmbus_channel_gmem(nv->ch);
	struct vmbus_range ranges[32];
	uint32_t total = 0;
	int nr, i;
	unsigned int j;

	nr = vmbus_packet_gpa_ranges(nv->ch, pkt, ranges, ARRAY_SIZE(ranges));
	if (nr <= 0)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		uint32_t off = ranges[i].byte_offset,
			 left = ranges[i].byte_count;

		for (j = 0; j < ranges[i].nr_pfns && left; j++) {
			uint32_t n = MIN(NV_PAGE - off, left);
			const uint8_t *p;

			if (total + n > NV_TX_BOUNCE)
				return -EINVAL;
			p = gmem_map(gm,
				     get_le64(&ranges[i].pfns[j]) * NV_PAGE +
					     off,
				     n, false);
			if (!p)
				return -EFAULT;
			memcpy(nv->bounce + total, p, n);
			total += n;
			left -= n;
			off = 0;
		}
	}
	*len = total;
	return 0;
}

/* ---- NVSP ---- */

static int nv_complete(struct netvsp *nv, uint64_t tid, const uint8_t *msg,
		       uint32_t len)
{
	return vmbus_channel_send(nv->ch, VMBUS_PKT_COMP, 0, tid, msg, len);
}

/* A SEND_RNDIS_PKT completion; kept if the ring is full. */
static void nv_tx_complete(struct netvsp *nv, uint64_t tid, uint32_t status)
{
	uint8_t m[8];

	put_le32(m, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE);
	put_le32(m + 4, status);
	if (!nv->comp_count && nv_complete(nv, tid, m, sizeof(m)) != -EAGAIN)
		return;
	if (nv->comp_count == NV_COMP_MAX) {
		dev_warn(nv->name, "send completion lost");
		return;
	}
	nv->comp[(nv->comp_head + nv->comp_count) % NV_COMP_MAX] =
		(struct nv_comp){ tid, status };
	nv->comp_count++;
}

static bool nv_comp_flush(struct netvsp *nv)
{
	uint8_t m[8];

	while (nv->comp_count) {
		struct nv_comp *c = &nv->comp[nv->comp_head];

		put_le32(m, NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE);
		put_le32(m + 4, c->status);
		if (nv_complete(nv, c->tid, m, sizeof(m)) == -EAGAIN)
			return false;
		nv->comp_head = (nv->comp_head + 1) % NV_COMP_MAX;
		nv->comp_count--;
	}
	return true;
}

static int nv_send_rndis(struct netvsp *nv, const struct vmbus_packet *pkt,
			 const uint8_t *msg)
{
	uint32_t sec = get_le32(msg + 8), size = get_le32(msg + 12);
	uint32_t status = NVSP_STAT_FAIL, len = 0;
	const uint8_t *buf = nv->bounce;
	int r = 0;

	if (sec != NVSP_INVALID_SECTION) {
		if (!nv->tx.handle || size > NV_TX_SECTION ||
		    sec >= nv->tx.size / NV_TX_SECTION ||
		    nv_buf_copy(nv, &nv->tx, sec * NV_TX_SECTION, nv->bounce,
				size, false))
			r = -EINVAL;
		len = size;
	} else if (pkt->type == VMBUS_PKT_DATA_USING_GPA_DIRECT) {
		r = nv_gather(nv, pkt, &len);
	} else {
		r = -EINVAL;
	}
	if (r) {
		nv->st.bad_packets++;
		guest_err("%s: RNDIS packet buffer unusable (section %u, %u "
			  "bytes)",
			  nv->name, sec, size);
	} else if (nv_rndis_all(nv, buf, len, &status) == -EAGAIN) {
		return -EAGAIN;
	}
	if (pkt->flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED)
		nv_tx_complete(nv, pkt->trans_id, status);
	return 0;
}

static void nv_init(struct netvsp *nv, const struct vmbus_packet *pkt,
		    const uint8_t *msg)
{
	uint32_t lo = get_le32(msg + 4), hi = get_le32(msg + 8), v = 0;
	uint8_t a[NVSP_MSG_SIZE] = { 0 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nv_versions) && !v; i++)
		if (nv_versions[i] >= lo && nv_versions[i] <= hi)
			v = nv_versions[i];
	put_le32(a, NVSP_MSG_INIT_COMPLETE);
	put_le32(a + 4, v);
	put_le32(a + 8, 34); /* max MDL chain length */
	put_le32(a + 12, v ? NVSP_STAT_SUCCESS : NVSP_STAT_FAIL);
	if (v && v != nv->nvsp_ver)
		dev_info(nv->name, "NVSP protocol %u.%u", v >> 16, v & 0xffff);
	if (v)
		nv->nvsp_ver = v;
	nv_complete(nv, pkt->trans_id, a, sizeof(a));
}

static void nv_recv_buf(struct netvsp *nv, const struct vmbus_packet *pkt,
			const uint8_t *msg)
{
	uint8_t a[NVSP_MSG_SIZE] = { 0 };
	uint32_t nsec = 0, ssz = nv_rx_section_size(nv->mtu);
	int r = nv->nvsp_ver ? nv_buf_take(nv, &nv->rx, get_le32(msg + 4)) :
			       -EPROTO;

	if (!r) {
		nsec = MIN(nv->rx.size / ssz, NV_MAX_SECTIONS);
		nv->rx_busy = nsec ? calloc(nsec, 1) : NULL;
		if (!nv->rx_busy) {
			nv_buf_release(nv, &nv->rx);
			r = -ENOMEM;
			nsec = 0;
		}
	}
	if (!r) { /* a refused second buffer leaves the first alone */
		nv->rx_sec_size = ssz;
		nv->rx_nsec = nsec;
		nv->rx_used = 0;
		nv->rx_hint = 0;
	}
	put_le32(a, NVSP_MSG1_SEND_RECV_BUF_COMPLETE);
	put_le32(a + 4, r ? NVSP_STAT_FAIL : NVSP_STAT_SUCCESS);
	put_le32(a + 8, 1);	      /* sections */
	put_le32(a + 12, 0);	      /* offset */
	put_le32(a + 16, ssz);	      /* sub-allocation size */
	put_le32(a + 20, nsec);	      /* sub-allocations */
	put_le32(a + 24, ssz * nsec); /* end offset */
	if (r)
		guest_err("%s: receive buffer GPADL %u refused (%d)", nv->name,
			  get_le32(msg + 4), r);
	else
		dev_info(nv->name, "receive buffer: %u sections of %u bytes",
			 nsec, ssz);
	nv_complete(nv, pkt->trans_id, a, sizeof(a));
	if (!r)
		nv_flush(nv);
}

static void nv_send_buf(struct netvsp *nv, const struct vmbus_packet *pkt,
			const uint8_t *msg)
{
	uint8_t a[NVSP_MSG_SIZE] = { 0 };
	int r = nv->nvsp_ver ? nv_buf_take(nv, &nv->tx, get_le32(msg + 4)) :
			       -EPROTO;

	if (!r && nv->tx.size < NV_TX_SECTION) {
		nv_buf_release(nv, &nv->tx);
		r = -EINVAL;
	}
	put_le32(a, NVSP_MSG1_SEND_SEND_BUF_COMPLETE);
	put_le32(a + 4, r ? NVSP_STAT_FAIL : NVSP_STAT_SUCCESS);
	put_le32(a + 8, r ? 0 : NV_TX_SECTION);
	if (r)
		guest_err("%s: send buffer GPADL %u refused (%d)", nv->name,
			  get_le32(msg + 4), r);
	nv_complete(nv, pkt->trans_id, a, sizeof(a));
}

static void nv_rx_free(struct netvsp *nv)
{
	nv_buf_release(nv, &nv->rx);
	free(nv->rx_busy);
	nv->rx_busy = NULL;
	nv->rx_nsec = nv->rx_used = 0;
}

/* The guest's completion of a receive section. */
static void nv_rx_done(struct netvsp *nv, const struct vmbus_packet *pkt)
{
	uint64_t sec = pkt->trans_id - NV_RX_TID;

	if ((pkt->trans_id & ~0xffffffffull) != NV_RX_TID ||
	    sec >= nv->rx_nsec || !nv->rx_busy[sec]) {
		nv->st.bad_packets++;
		guest_err("%s: completion for unknown transaction %#llx",
			  nv->name, (unsigned long long)pkt->trans_id);
		return;
	}
	nv->rx_busy[sec] = 0;
	nv->rx_used--;
	nv_flush(nv);
}

/* ---- VMBus device ops ---- */

static int nv_packet(struct vmbus_channel *ch, const struct vmbus_packet *pkt)
{
	struct netvsp *nv = vmbus_device_priv(vmbus_channel_device(ch));
	uint8_t msg[NVSP_MSG_SIZE] = { 0 };
	uint32_t type;

	if (ch != nv->ch) /* a sub-channel: we offer none */
		return 0;
	if (pkt->type == VMBUS_PKT_COMP) {
		nv_rx_done(nv, pkt);
		return 0;
	}
	if (!nv_comp_flush(nv))
		return -EAGAIN; /* answers first: back-pressure */
	if ((pkt->type != VMBUS_PKT_DATA_INBAND &&
	     pkt->type != VMBUS_PKT_DATA_USING_GPA_DIRECT) ||
	    pkt->data_len < 4) {
		nv->st.bad_packets++;
		guest_err("%s: packet type %u, %u bytes ignored", nv->name,
			  pkt->type, pkt->data_len);
		return 0;
	}
	memcpy(msg, pkt->data, MIN(pkt->data_len, (uint32_t)sizeof(msg)));
	type = get_le32(msg);
	if (type != NVSP_MSG_INIT && !nv->nvsp_ver) {
		nv->st.bad_packets++;
		guest_err("%s: NVSP message %u before INIT", nv->name, type);
		return 0;
	}
	switch (type) {
	case NVSP_MSG_INIT:
		nv_init(nv, pkt, msg);
		return 0;
	case NVSP_MSG1_SEND_NDIS_VER:
		nv->ndis_ver = get_le32(msg + 4) << 16 | get_le32(msg + 8);
		return 0;
	case NVSP_MSG2_SEND_NDIS_CONFIG:
		if (get_le32(msg + 4) > NETVSP_MAX_MTU + 14)
			guest_err("%s: guest MTU %u above %u", nv->name,
				  get_le32(msg + 4), NETVSP_MAX_MTU + 14);
		return 0;
	case NVSP_MSG1_SEND_RECV_BUF:
		nv_recv_buf(nv, pkt, msg);
		return 0;
	case NVSP_MSG1_REVOKE_RECV_BUF:
		nv_rx_free(nv);
		return 0;
	case NVSP_MSG1_SEND_SEND_BUF:
		nv_send_buf(nv, pkt, msg);
		return 0;
	case NVSP_MSG1_REVOKE_SEND_BUF:
		nv_buf_release(nv, &nv->tx);
		return 0;
	case NVSP_MSG1_SEND_RNDIS_PKT:
		return nv_send_rndis(nv, pkt, msg);
	case NVSP_MSG5_SUBCHANNEL: {
		uint8_t a[NVSP_MSG_SIZE] = { 0 };

		put_le32(a, NVSP_MSG5_SUBCHANNEL);
		put_le32(a + 4, NVSP_STAT_FAIL); /* none: one queue */
		nv_complete(nv, pkt->trans_id, a, sizeof(a));
		return 0;
	}
	case NVSP_MSG4_SWITCH_DATA_PATH:
	case NVSP_MSG4_SEND_VF_ASSOCIATION:
		if (pkt->flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED)
			nv_complete(nv, pkt->trans_id, NULL, 0);
		return 0;
	case NVSP_MSG5_OID_QUERY_EX:
		return 0;
	default:
		nv->st.bad_packets++;
		guest_err("%s: NVSP message %u not supported", nv->name, type);
		return 0;
	}
}

static void nv_reset(struct netvsp *nv)
{
	nv_rx_free(nv);
	nv_buf_release(nv, &nv->tx);
	nv->nvsp_ver = nv->ndis_ver = 0;
	nv->rndis_up = false;
	nv->filter = 0;
	nv->ctl_count = nv->comp_count = 0;
}

static int nv_open(struct vmbus_channel *ch, const uint8_t *user_data)
{
	struct netvsp *nv = vmbus_device_priv(vmbus_channel_device(ch));

	(void)user_data;
	if (vmbus_channel_subidx(ch))
		return -EINVAL;
	if (nv->ch)
		return -EBUSY;
	nv->ch = ch;
	nv_reset(nv);
	return 0;
}

static void nv_writable(struct vmbus_channel *ch)
{
	struct netvsp *nv = vmbus_device_priv(vmbus_channel_device(ch));

	if (ch != nv->ch)
		return;
	if (nv_comp_flush(nv))
		vmbus_channel_kick(ch);
	nv_flush(nv);
}

static void nv_close(struct vmbus_channel *ch)
{
	struct netvsp *nv = vmbus_device_priv(vmbus_channel_device(ch));

	if (ch != nv->ch)
		return;
	nv_reset(nv);
	nv->ch = NULL;
	if (nv->rx_waiting) {
		nv->rx_waiting = false;
		net_rx_resume(nv->nb); /* frames are dropped until reopened */
	}
}

static void nv_destroy(struct vmbus_device *dev)
{
	struct netvsp *nv = vmbus_device_priv(dev);

	net_detach(nv->nb);
	free(nv->rx_busy);
	free(nv->bounce);
	free(nv);
}

static void nv_tx_ready(void *opaque)
{
	struct netvsp *nv = opaque;

	if (nv->ch)
		vmbus_channel_kick(nv->ch);
}

static const struct vmbus_device_ops nv_ops = {
	.open = nv_open,
	.packet = nv_packet,
	.writable = nv_writable,
	.close = nv_close,
	.destroy = nv_destroy,
};

static const struct net_client_ops nv_net_ops = {
	.receive = nv_receive,
	.tx_ready = nv_tx_ready,
};

/* ---- host API ---- */

void netvsp_set_link(struct netvsp *nv, bool up)
{
	nv->link_up = up;
	if (nv->rndis_up && nv->link_told != up)
		nv_link_indicate(nv);
}

void netvsp_stats_foreach(struct netvsp *nv, vmbus_stats_fn fn, void *opaque)
{
	const struct netvsp_stats *st = &nv->st;
	char path[96];

#define NV_STAT(n, v)                                                      \
	do {                                                               \
		snprintf(path, sizeof(path), "netvsp.%s.%s", nv->name, n); \
		fn(opaque, path, v);                                       \
	} while (0)
	NV_STAT("rx_frames", st->rx_frames);
	NV_STAT("rx_bytes", st->rx_bytes);
	NV_STAT("rx_drops", st->rx_drops);
	NV_STAT("rx_no_section", st->rx_no_section);
	NV_STAT("tx_frames", st->tx_frames);
	NV_STAT("tx_bytes", st->tx_bytes);
	NV_STAT("tx_errors", st->tx_errors);
	NV_STAT("rndis_control", st->rndis_control);
	NV_STAT("bad_packets", st->bad_packets);
	NV_STAT("nvsp_version", nv->nvsp_ver);
	NV_STAT("ndis_version", nv->ndis_ver);
	NV_STAT("link_up", nv->link_up);
#undef NV_STAT
}

int netvsp_create(struct vmbus_server *s, const struct netvsp_params *p,
		  struct netvsp **out)
{
	struct vmbus_device_params dp;
	struct netvsp *nv;
	int r;

	if (!p->nb || !p->instance_id || p->mtu > NETVSP_MAX_MTU ||
	    (p->mtu && p->mtu < 576))
		return -EINVAL;
	nv = calloc(1, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	nv->bounce = malloc(NV_TX_BOUNCE);
	if (!nv->bounce) {
		free(nv);
		return -ENOMEM;
	}
	snprintf(nv->name, sizeof(nv->name), "%s", p->name ? p->name : "net");
	memcpy(nv->mac, p->mac, NET_MAC_LEN);
	nv->nb = p->nb;
	nv->mtu = p->mtu ? p->mtu : 1500;
	nv->link_up = true;
	nv->link_told = true;
	memset(&dp, 0, sizeof(dp));
	dp.name = nv->name;
	dp.ops = &nv_ops;
	dp.priv = nv;
	r = vmbus_guid_parse(NETVSP_CLASS_ID, dp.class_id) ||
			    vmbus_guid_parse(p->instance_id, dp.instance_id) ?
		    -EINVAL :
		    0;
	if (!r)
		r = net_attach(p->nb, p->loop, &nv_net_ops, nv);
	if (!r) {
		r = vmbus_device_add(s, &dp, &nv->dev);
		if (r)
			net_detach(p->nb);
	}
	if (r) {
		free(nv->bounce);
		free(nv);
		return r;
	}
	*out = nv;
	return 0;
}
