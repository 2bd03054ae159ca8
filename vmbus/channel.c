// SPDX-License-Identifier: MIT
/*
 * channel: GPADLs (guest page lists, possibly spread over a header and
 * several body messages), the mapping of a channel's two rings, and the
 * data path between the rings and a VSP's struct vmbus_device_ops.
 *
 * Ring mapping: a ring GPADL is the guest's outbound ring (control page +
 * data pages) followed, at downstream_page_offset, by its inbound ring.
 * With a memfd-backed guest (gmem.memfd >= 0) each ring is mapped into one
 * host VA range as [ctrl][data 0..k-1][data 0..k-1]: the second copy of the
 * data pages makes any packet contiguous, so ring.c never splits a copy at
 * the wrap. Without a memfd (unit tests) the ring keeps a page-pointer
 * array and copies piecewise.
 *
 * Every received packet is copied once into a private per-channel buffer
 * before the VSP sees it: ring memory is shared with a guest that can
 * rewrite it at any time, and a VSP validating a header in place would
 * read it twice. VMBus packets are small (data moves by GPA), so the copy
 * is cheap; the double mapping still makes it one memcpy.
 *
 * Every pfn is checked against guest RAM through gmem_map().
 */
#include "vmbus_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hvkvm/util.h"

#define PAGE VMBUS_PAGE_SIZE

/* ---- GPADLs ---- */

static struct vmbus_gpadl *gpadl_find(struct vmbus_server *s, uint32_t handle)
{
	struct vmbus_gpadl *g;

	for (g = s->gpadls; g; g = g->next)
		if (g->handle == handle)
			return g;
	return NULL;
}

static void gpadl_unlink_free(struct vmbus_server *s, struct vmbus_gpadl *g)
{
	struct vmbus_gpadl **pp;

	for (pp = &s->gpadls; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	s->nr_gpadls--;
	free(g->buf);
	free(g->ranges);
	free(g);
}

static void gpadl_send_created(struct vmbus_server *s, uint32_t relid,
			       uint32_t handle, uint32_t status)
{
	struct vmbus_msg_gpadl_created m = { 0 };

	m.hdr.msgtype = VMBUS_MSG_GPADL_CREATED;
	m.child_relid = relid;
	m.gpadl = handle;
	m.creation_status = status;
	server_send(s, &m, sizeof(m));
}

static bool gpadl_pfn_ok(struct vmbus_server *s, uint64_t pfn)
{
	if (pfn >= (1ULL << (64 - VMBUS_PAGE_SHIFT)))
		return false;
	return gmem_map(s->gm, pfn << VMBUS_PAGE_SHIFT, PAGE, true) != NULL;
}

/* Parse the assembled range buffer. 0 or -EINVAL / -EFAULT. */
static int gpadl_parse(struct vmbus_server *s, struct vmbus_gpadl *g)
{
	uint32_t pos = 0, i, j;

	g->ranges = calloc(g->rangecount, sizeof(*g->ranges));
	if (!g->ranges)
		return -ENOMEM;
	for (i = 0; i < g->rangecount; i++) {
		struct vmbus_range *r = &g->ranges[i];
		uint64_t pages;

		if (g->buflen - pos < sizeof(struct vmbus_gpa_range))
			return -EINVAL;
		r->byte_count = get_le32(g->buf + pos);
		r->byte_offset = get_le32(g->buf + pos + 4);
		pos += sizeof(struct vmbus_gpa_range);
		if (!r->byte_count || r->byte_offset >= PAGE)
			return -EINVAL;
		pages = ((uint64_t)r->byte_offset + r->byte_count + PAGE - 1) /
			PAGE;
		if (pages > (g->buflen - pos) / 8)
			return -EINVAL;
		r->nr_pfns = (uint32_t)pages;
		r->pfns = (const uint64_t *)(g->buf + pos);
		for (j = 0; j < r->nr_pfns; j++)
			if (!gpadl_pfn_ok(s, get_le64(g->buf + pos + j * 8)))
				return -EFAULT;
		pos += r->nr_pfns * 8;
		g->nr_pfns += r->nr_pfns;
	}
	if (pos != g->buflen)
		pr_dbg("vmbus: gpadl %#x has %u trailing bytes", g->handle,
		       g->buflen - pos);
	return 0;
}

/* All range bytes are in: validate and answer. */
static void gpadl_complete(struct vmbus_server *s, struct vmbus_gpadl *g)
{
	int r = gpadl_parse(s, g);

	if (r) {
		guest_err("vmbus: gpadl %#x rejected (%s)", g->handle,
			  r == -EFAULT ? "page outside RAM" : "malformed");
		gpadl_send_created(s, g->relid, g->handle,
				   VMBUS_STATUS_UNSUCCESSFUL);
		gpadl_unlink_free(s, g);
		return;
	}
	g->complete = true;
	gpadl_send_created(s, g->relid, g->handle, 0);
}

void chan_gpadl_header(struct vmbus_server *s, const uint8_t *msg, uint32_t len)
{
	const struct vmbus_msg_gpadl_header *h = (const void *)msg;
	struct vmbus_gpadl *g;
	uint32_t relid, handle, buflen, n;

	if (len < sizeof(*h)) {
		guest_err("vmbus: short GPADL header (%u bytes)", len);
		return;
	}
	relid = get_le32(&h->child_relid);
	handle = get_le32(&h->gpadl);
	buflen = get_le16(&h->range_buflen);
	if (gpadl_find(s, handle)) {
		guest_err("vmbus: GPADL handle %#x already in use", handle);
		gpadl_send_created(s, relid, handle, VMBUS_STATUS_UNSUCCESSFUL);
		return;
	}
	if (relid >= VMBUS_MAX_RELID || !s->chans[relid] ||
	    !get_le16(&h->rangecount) ||
	    buflen < sizeof(struct vmbus_gpa_range) ||
	    /* each range needs its 8-byte header and one pfn */
	    get_le16(&h->rangecount) > buflen / 16 ||
	    s->nr_gpadls >= VMBUS_MAX_GPADLS) {
		guest_err("vmbus: bad GPADL header (relid %u, %u ranges, %u "
			  "bytes)",
			  relid, get_le16(&h->rangecount), buflen);
		gpadl_send_created(s, relid, handle, VMBUS_STATUS_UNSUCCESSFUL);
		return;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return;
	g->buf = malloc(buflen);
	if (!g->buf) {
		free(g);
		return;
	}
	g->handle = handle;
	g->relid = relid;
	g->rangecount = get_le16(&h->rangecount);
	g->buflen = buflen;
	n = MIN(len - (uint32_t)sizeof(*h), buflen);
	memcpy(g->buf, msg + sizeof(*h), n);
	g->received = n;
	g->next = s->gpadls;
	s->gpadls = g;
	s->nr_gpadls++;
	if (g->received == g->buflen)
		gpadl_complete(s, g);
}

void chan_gpadl_body(struct vmbus_server *s, const uint8_t *msg, uint32_t len)
{
	const struct vmbus_msg_gpadl_body *b = (const void *)msg;
	struct vmbus_gpadl *g;
	uint32_t n;

	if (len < sizeof(*b) + 8) {
		guest_err("vmbus: short GPADL body (%u bytes)", len);
		return;
	}
	g = gpadl_find(s, get_le32(&b->gpadl));
	if (!g || g->complete) {
		guest_err("vmbus: GPADL body for %s gpadl %#x",
			  g ? "complete" : "unknown", get_le32(&b->gpadl));
		return;
	}
	n = len - (uint32_t)sizeof(*b);
	if (n > g->buflen - g->received) {
		guest_err("vmbus: GPADL %#x body overflows (%u > %u)",
			  g->handle, n, g->buflen - g->received);
		gpadl_send_created(s, g->relid, g->handle,
				   VMBUS_STATUS_UNSUCCESSFUL);
		gpadl_unlink_free(s, g);
		return;
	}
	memcpy(g->buf + g->received, msg + sizeof(*b), n);
	g->received += n;
	if (g->received == g->buflen)
		gpadl_complete(s, g);
}

static void gpadl_send_torndown(struct vmbus_server *s, uint32_t handle)
{
	struct vmbus_msg_gpadl_torndown m = { 0 };

	m.hdr.msgtype = VMBUS_MSG_GPADL_TORNDOWN;
	m.gpadl = handle;
	server_send(s, &m, sizeof(m));
}

void chan_gpadl_teardown(struct vmbus_server *s, const uint8_t *msg,
			 uint32_t len)
{
	const struct vmbus_msg_gpadl_teardown *t = (const void *)msg;
	struct vmbus_gpadl *g;

	if (len < sizeof(*t)) {
		guest_err("vmbus: short GPADL teardown");
		return;
	}
	g = gpadl_find(s, get_le32(&t->gpadl));
	if (!g || g->teardown_pending) {
		guest_err("vmbus: teardown of unknown gpadl %#x",
			  get_le32(&t->gpadl));
		return;
	}
	if (g->users) {
		/* Still mapped as a ring or held by a VSP: answer later. */
		g->teardown_pending = true;
		return;
	}
	gpadl_send_torndown(s, g->handle);
	gpadl_unlink_free(s, g);
}

static void gpadl_put(struct vmbus_server *s, struct vmbus_gpadl *g)
{
	if (g->users)
		g->users--;
	if (!g->users && g->teardown_pending) {
		gpadl_send_torndown(s, g->handle);
		gpadl_unlink_free(s, g);
	}
}

void chan_gpadl_drop(struct vmbus_server *s, uint32_t relid)
{
	struct vmbus_gpadl *g = s->gpadls, *next;

	for (; g; g = next) {
		next = g->next;
		if (!relid || g->relid == relid)
			gpadl_unlink_free(s, g);
	}
}

/* ---- ring mapping ---- */

/* memfd offset of guest page @pfn, or -1. */
static int64_t chan_memfd_off(struct gmem *gm, uint64_t pfn)
{
	uint8_t *hva = gmem_map(gm, pfn << VMBUS_PAGE_SHIFT, PAGE, true);

	if (!hva || gm->memfd < 0 || !gm->base || hva < gm->base ||
	    (uint64_t)(hva - gm->base) >= gm->base_size)
		return -1;
	return hva - gm->base;
}

/* Map @n guest pages at @dst, merging runs that are contiguous in the fd. */
static int chan_map_pages(struct gmem *gm, uint8_t *dst, const uint64_t *pfns,
			  uint32_t n)
{
	uint32_t i = 0;

	while (i < n) {
		int64_t off = chan_memfd_off(gm, get_le64(&pfns[i]));
		uint32_t run = 1;
		void *p;

		if (off < 0)
			return -EFAULT;
		while (i + run < n &&
		       chan_memfd_off(gm, get_le64(&pfns[i + run])) ==
			       off + (int64_t)run * PAGE)
			run++;
		p = mmap(dst + (size_t)i * PAGE, (size_t)run * PAGE,
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 gm->memfd, off);
		if (p == MAP_FAILED)
			return -errno;
		i += run;
	}
	return 0;
}

static void chan_unmap_ring(struct chan_ringmap *m)
{
	if (m->va)
		munmap(m->va, m->va_len);
	free(m->pages);
	memset(m, 0, sizeof(*m));
}

/* Map one ring: pfns[0] is the control page, then @n - 1 data pages. */
static int chan_map_ring(struct gmem *gm, const uint64_t *pfns, uint32_t n,
			 struct chan_ringmap *m, struct ring *ring)
{
	struct ring_mem rm = { 0 };
	uint32_t k = n - 1, i;
	int r;

	memset(m, 0, sizeof(*m));
	rm.size = k * PAGE;
	if (gm->memfd >= 0) {
		m->va_len = (size_t)(1 + 2 * k) * PAGE;
		m->va = mmap(NULL, m->va_len, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			     0);
		if (m->va == MAP_FAILED) {
			m->va = NULL;
			return -errno;
		}
		r = chan_map_pages(gm, m->va, pfns, n);
		if (!r)
			r = chan_map_pages(gm, m->va + (size_t)(1 + k) * PAGE,
					   pfns + 1, k);
		if (r)
			goto err_unmap;
		rm.ctrl = (struct vmbus_ring_ctrl *)m->va;
		rm.linear = m->va + PAGE;
	} else {
		m->pages = calloc(k, sizeof(*m->pages));
		if (!m->pages)
			return -ENOMEM;
		rm.ctrl = gmem_map(gm, get_le64(&pfns[0]) << VMBUS_PAGE_SHIFT,
				   PAGE, true);
		for (i = 0; i < k; i++) {
			m->pages[i] = gmem_map(
				gm, get_le64(&pfns[1 + i]) << VMBUS_PAGE_SHIFT,
				PAGE, true);
			if (!m->pages[i])
				rm.ctrl = NULL;
		}
		r = -EFAULT;
		if (!rm.ctrl)
			goto err_unmap;
		rm.pages = m->pages;
	}
	r = ring_init(ring, &rm);
	if (r)
		goto err_unmap;
	return 0;

err_unmap:
	chan_unmap_ring(m);
	return r;
}

static void chan_unmap(struct vmbus_channel *ch)
{
	chan_unmap_ring(&ch->map_in);
	chan_unmap_ring(&ch->map_out);
	free(ch->bounce);
	ch->bounce = NULL;
}

/* ---- open / close ---- */

uint32_t chan_open(struct vmbus_channel *ch, uint32_t handle,
		   uint32_t page_offset, const uint8_t *user_data)
{
	struct vmbus_server *s = ch->srv;
	struct vmbus_gpadl *g = gpadl_find(s, handle);
	const struct vmbus_range *rg;
	int r;

	if (!g || !g->complete || g->teardown_pending) {
		guest_err("vmbus: open relid %u: bad ring gpadl %#x", ch->relid,
			  handle);
		return VMBUS_STATUS_UNSUCCESSFUL;
	}
	rg = &g->ranges[0];
	if (g->rangecount != 1 || rg->byte_offset ||
	    rg->byte_count != rg->nr_pfns * PAGE || page_offset < 2 ||
	    rg->nr_pfns < page_offset + 2 ||
	    (uint64_t)(page_offset - 1) * PAGE > RING_MAX_DATA_SIZE ||
	    (uint64_t)(rg->nr_pfns - page_offset - 1) * PAGE >
		    RING_MAX_DATA_SIZE) {
		guest_err("vmbus: open relid %u: bad ring layout (%u pages, "
			  "offset %u)",
			  ch->relid, rg->nr_pfns, page_offset);
		return VMBUS_STATUS_UNSUCCESSFUL;
	}
	r = chan_map_ring(s->gm, rg->pfns, page_offset, &ch->map_in, &ch->in);
	if (!r)
		r = chan_map_ring(s->gm, rg->pfns + page_offset,
				  rg->nr_pfns - page_offset, &ch->map_out,
				  &ch->out);
	if (!r) {
		/* Untouched pages of a large buffer cost nothing. */
		ch->bounce = malloc(ch->in.mem.size);
		if (!ch->bounce)
			r = -ENOMEM;
	}
	if (r) {
		guest_err("vmbus: open relid %u: cannot map rings (%d)",
			  ch->relid, r);
		chan_unmap(ch);
		return VMBUS_STATUS_UNSUCCESSFUL;
	}
	ch->ring_gpadl = handle;
	ch->want_writable = false;
	ch->priv = NULL;
	if (ch->dev->p.ops->open) {
		r = ch->dev->p.ops->open(ch, user_data);
		if (r) {
			chan_transition(ch, CHAN_EV_REFUSE);
			chan_unmap(ch);
			return VMBUS_STATUS_UNSUCCESSFUL;
		}
	}
	g->users++;
	chan_transition(ch, CHAN_EV_OPEN);
	server_slot_route(ch->srv, ch->relid, true);
	return 0;
}

/* Close on @ev (CHAN_EV_CLOSE or CHAN_EV_FAULT): VSP close(), unmap. */
static void chan_shut(struct vmbus_channel *ch, enum chan_event ev)
{
	bool was_open = chan_is_open(ch);
	struct vmbus_gpadl *g;

	chan_transition(ch, ev);
	if (!was_open)
		return;
	server_slot_route(ch->srv, ch->relid, false);
	if (ch->dev->p.ops->close)
		ch->dev->p.ops->close(ch);
	chan_unmap(ch);
	g = gpadl_find(ch->srv, ch->ring_gpadl);
	if (g)
		gpadl_put(ch->srv, g);
}

void chan_close(struct vmbus_channel *ch)
{
	chan_shut(ch, CHAN_EV_CLOSE);
}

/* The guest corrupted a ring: close our side, keep the VM running. */
static void chan_broken(struct vmbus_channel *ch)
{
	pr_warn("vmbus: %s relid %u: ring corrupted by the guest, channel "
		"closed",
		ch->dev->name, ch->relid);
	chan_shut(ch, CHAN_EV_FAULT);
	ch->srv->stats.channels_broken++;
}

/* ---- data path ---- */

static int chan_deliver(struct vmbus_channel *ch, const struct ring_pkt *rp)
{
	struct vmbus_packet pkt;
	const uint8_t *raw;

	ring_copy_from(&ch->in, rp->pos, 0, ch->bounce, rp->len);
	raw = ch->bounce;
	pkt.type = rp->type;
	pkt.flags = rp->flags;
	pkt.trans_id = rp->trans_id;
	pkt.raw = raw;
	pkt.raw_len = rp->len;
	pkt.data = raw + rp->data_off;
	pkt.data_len = rp->len - rp->data_off;
	ch->packets_in++;
	ch->srv->stats.packets_in++;
	return ch->dev->p.ops->packet(ch, &pkt);
}

static void chan_check_writable(struct vmbus_channel *ch)
{
	if (!ch->want_writable ||
	    ring_bytes_to_write(&ch->out) <= ch->want_bytes)
		return;
	ch->want_writable = false;
	ring_set_pending_send(&ch->out, 0);
	if (ch->dev->p.ops->writable)
		ch->dev->p.ops->writable(ch);
}

void chan_process(struct vmbus_channel *ch)
{
	unsigned int budget = VMBUS_PROCESS_BUDGET;
	struct ring_pkt rp;
	int r;

	if (!chan_is_open(ch))
		return;
	chan_check_writable(ch);
	if (ch->state != CHAN_OPEN) /* closed, or stalled by the VSP */
		return;
	ring_set_interrupt_mask(&ch->in, true);
	for (;;) {
		r = ring_peek(&ch->in, &rp);
		if (r == -EAGAIN) {
			/*
			 * Publish the read index, unmask, then look again: a
			 * packet written before the guest could see our read
			 * index came without a signal.
			 */
			if (ring_commit_read(&ch->in))
				server_signal_guest(ch);
			ring_set_interrupt_mask(&ch->in, false);
			if (ring_is_empty(&ch->in))
				return;
			ring_set_interrupt_mask(&ch->in, true);
			continue;
		}
		if (r || ch->out.broken) {
			chan_broken(ch);
			return;
		}
		if (!budget--) {
			server_mark_pending(ch->srv, ch->relid);
			break;
		}
		r = chan_deliver(ch, &rp);
		if (!chan_is_open(ch))
			return;
		if (r == -EAGAIN) {
			chan_transition(ch, CHAN_EV_STALL);
			break;
		}
		ring_skip(&ch->in, &rp);
	}
	ring_set_interrupt_mask(&ch->in, false);
	if (ring_commit_read(&ch->in))
		server_signal_guest(ch);
}

void vmbus_channel_kick(struct vmbus_channel *ch)
{
	chan_transition(ch, CHAN_EV_KICK);
	server_mark_pending(ch->srv, ch->relid);
}

int vmbus_channel_sendv(struct vmbus_channel *ch, uint16_t type, uint16_t flags,
			uint64_t trans_id, uint32_t hdr_extra,
			const struct iovec *iov, unsigned int iovcnt)
{
	struct ring_pkt_out h = {
		.type = type,
		.flags = flags,
		.trans_id = trans_id,
		.hdr_extra = hdr_extra,
	};
	uint64_t payload = 0;
	bool signal;
	unsigned int i;
	int r;

	if (!chan_is_open(ch))
		return -ENOTCONN;
	r = ring_write(&ch->out, &h, iov, iovcnt, &signal);
	if (r == -EAGAIN) {
		for (i = 0; i < iovcnt; i++)
			payload += iov[i].iov_len;
		ch->want_writable = true;
		ch->want_bytes = ring_pkt_size((uint32_t)payload);
		ring_set_pending_send(&ch->out, ch->want_bytes);
		/* The guest may have drained the ring meanwhile. */
		if (ring_bytes_to_write(&ch->out) > ch->want_bytes)
			server_mark_pending(ch->srv, ch->relid);
		return -EAGAIN;
	}
	if (r == -EIO) {
		chan_broken(ch);
		return -EIO;
	}
	if (r)
		return r;
	ch->packets_out++;
	ch->srv->stats.packets_out++;
	if (signal)
		server_signal_guest(ch);
	return 0;
}

int vmbus_channel_send(struct vmbus_channel *ch, uint16_t type, uint16_t flags,
		       uint64_t trans_id, const void *buf, uint32_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return vmbus_channel_sendv(ch, type, flags, trans_id, 0, &iov,
				   len ? 1 : 0);
}

int vmbus_packet_gpa_ranges(struct vmbus_channel *ch,
			    const struct vmbus_packet *pkt,
			    struct vmbus_range *out, unsigned int max)
{
	uint32_t end = (uint32_t)(pkt->data - pkt->raw);
	uint32_t pos = sizeof(struct vmbus_pkt_gpa_direct), count, i, j;

	if (pkt->type != VMBUS_PKT_DATA_USING_GPA_DIRECT || end < pos)
		return -EINVAL;
	count = get_le32(pkt->raw +
			 offsetof(struct vmbus_pkt_gpa_direct, rangecount));
	if (count > max)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		struct vmbus_range *r = &out[i];
		uint64_t pages;

		if (end - pos < sizeof(struct vmbus_gpa_range))
			return -EINVAL;
		r->byte_count = get_le32(pkt->raw + pos);
		r->byte_offset = get_le32(pkt->raw + pos + 4);
		pos += sizeof(struct vmbus_gpa_range);
		if (!r->byte_count || r->byte_offset >= PAGE)
			return -EINVAL;
		pages = ((uint64_t)r->byte_offset + r->byte_count + PAGE - 1) /
			PAGE;
		if (pages > (end - pos) / 8)
			return -EINVAL;
		r->nr_pfns = (uint32_t)pages;
		r->pfns = (const uint64_t *)(pkt->raw + pos);
		for (j = 0; j < r->nr_pfns; j++)
			if (!gpadl_pfn_ok(ch->srv,
					  get_le64(pkt->raw + pos + j * 8)))
				return -EFAULT;
		pos += r->nr_pfns * 8;
	}
	return (int)count;
}

const struct vmbus_range *vmbus_channel_gpadl(struct vmbus_channel *ch,
					      uint32_t handle,
					      unsigned int *nr_ranges)
{
	struct vmbus_gpadl *g = gpadl_find(ch->srv, handle);

	if (!g || !g->complete || g->teardown_pending)
		return NULL;
	*nr_ranges = g->rangecount;
	return g->ranges;
}

int vmbus_channel_gpadl_hold(struct vmbus_channel *ch, uint32_t handle)
{
	struct vmbus_gpadl *g = gpadl_find(ch->srv, handle);

	if (!g || !g->complete || g->teardown_pending)
		return -ENOENT;
	g->users++;
	return 0;
}

void vmbus_channel_gpadl_release(struct vmbus_channel *ch, uint32_t handle)
{
	struct vmbus_gpadl *g = gpadl_find(ch->srv, handle);

	if (g)
		gpadl_put(ch->srv, g);
}

/* ---- accessors ---- */

struct vmbus_device *vmbus_channel_device(struct vmbus_channel *ch)
{
	return ch->dev;
}

unsigned int vmbus_channel_subidx(struct vmbus_channel *ch)
{
	return ch->subidx;
}

uint32_t vmbus_channel_relid(struct vmbus_channel *ch)
{
	return ch->relid;
}

void vmbus_channel_set_priv(struct vmbus_channel *ch, void *priv)
{
	ch->priv = priv;
}

void *vmbus_channel_get_priv(struct vmbus_channel *ch)
{
	return ch->priv;
}

uint32_t vmbus_channel_version(struct vmbus_channel *ch)
{
	return ch->srv->version;
}

struct gmem *vmbus_channel_gmem(struct vmbus_channel *ch)
{
	return ch->srv->gm;
}

uint64_t vmbus_channel_ref_time(struct vmbus_channel *ch)
{
	struct vmbus_server *s = ch->srv;

	if (s->ops.ref_time)
		return s->ops.ref_time(s->ops.opaque);
	return time_now_ns() / 100;
}
