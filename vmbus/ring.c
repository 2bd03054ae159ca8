// SPDX-License-Identifier: MIT
/*
 * ring: VMBus ring-buffer logic, host side. A ring is a control page
 * (struct vmbus_ring_ctrl) followed by a data area of
 * whole pages; packets are a 16-byte descriptor, payload padded to 8 bytes
 * and a 64-bit trailer holding the writer's index before the packet in its
 * upper half. The writer owns write_index and pending_send_sz, the reader
 * owns read_index and interrupt_mask.
 *
 * Ordering: the writer fills the packet, then publishes write_index with
 * release semantics, then (full fence) reads interrupt_mask/read_index to
 * decide whether to signal. The reader loads write_index with acquire
 * semantics before touching packet bytes, publishes read_index with release,
 * then (full fence) reads pending_send_sz. These pair with the guest's
 * virt_mb()/virt_rmb() in Linux ring_buffer.c.
 *
 * Not implemented: the in-place "iterator" optimisation of reading without
 * copying into a bounce buffer when the mapping is not linear.
 */
#include "hvkvm/ring.h"

#include <errno.h>
#include <string.h>

#include "hvkvm/util.h"

#define RING_PAGE 4096u

static uint32_t ring_load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void ring_store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void ring_mb(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static bool ring_index_ok(const struct ring *r, uint32_t idx)
{
	return idx < r->mem.size && IS_ALIGNED(idx, 8);
}

static int ring_break(struct ring *r, const char *why, uint32_t val)
{
	if (!r->broken)
		guest_err("vmbus ring: %s (0x%x, ring size 0x%x)", why, val,
			  r->mem.size);
	r->broken = true;
	return -EIO;
}

/* Bytes between @from and @to going forward around the ring. */
static uint32_t ring_dist(const struct ring *r, uint32_t from, uint32_t to)
{
	return to >= from ? to - from : r->mem.size - (from - to);
}

static uint32_t ring_wrap(const struct ring *r, uint64_t pos)
{
	return (uint32_t)(pos % r->mem.size);
}

static void ring_copy_out_raw(const struct ring *r, uint32_t pos, void *buf,
			      uint32_t len)
{
	uint8_t *dst = buf;

	if (r->mem.linear) {
		memcpy(dst, r->mem.linear + pos, len);
		return;
	}
	while (len) {
		uint32_t in_page = RING_PAGE - pos % RING_PAGE;
		uint32_t n = MIN(in_page, len);

		memcpy(dst, r->mem.pages[pos / RING_PAGE] + pos % RING_PAGE, n);
		dst += n;
		len -= n;
		pos = ring_wrap(r, (uint64_t)pos + n);
	}
}

static void ring_copy_in_raw(struct ring *r, uint32_t pos, const void *buf,
			     uint32_t len)
{
	const uint8_t *src = buf;

	if (r->mem.linear) {
		if (src)
			memcpy(r->mem.linear + pos, src, len);
		else
			memset(r->mem.linear + pos, 0, len);
		return;
	}
	while (len) {
		uint32_t in_page = RING_PAGE - pos % RING_PAGE;
		uint32_t n = MIN(in_page, len);
		uint8_t *dst = r->mem.pages[pos / RING_PAGE] + pos % RING_PAGE;

		if (src) {
			memcpy(dst, src, n);
			src += n;
		} else {
			memset(dst, 0, n);
		}
		len -= n;
		pos = ring_wrap(r, (uint64_t)pos + n);
	}
}

int ring_init(struct ring *r, const struct ring_mem *mem)
{
	memset(r, 0, sizeof(*r));
	r->mem = *mem;
	if (!mem->ctrl || !mem->size || !IS_ALIGNED(mem->size, RING_PAGE) ||
	    mem->size > RING_MAX_DATA_SIZE || (!mem->linear && !mem->pages)) {
		r->broken = true;
		return -EINVAL;
	}
	r->rd = ring_load(&mem->ctrl->read_index);
	r->wr = ring_load(&mem->ctrl->write_index);
	if (!ring_index_ok(r, r->rd) || !ring_index_ok(r, r->wr)) {
		ring_break(r, "bad initial index", MAX(r->rd, r->wr));
		return -EINVAL;
	}
	r->rd_next = r->rd;
	return 0;
}

/* ---- reader ---- */

static int ring_guest_write_index(struct ring *r, uint32_t *out)
{
	uint32_t w = ring_load(&r->mem.ctrl->write_index);

	if (!ring_index_ok(r, w))
		return ring_break(r, "write index out of range", w);
	*out = w;
	return 0;
}

uint32_t ring_bytes_to_read(struct ring *r)
{
	uint32_t w;

	if (r->broken || ring_guest_write_index(r, &w))
		return 0;
	return ring_dist(r, r->rd_next, w);
}

bool ring_is_empty(struct ring *r)
{
	return ring_bytes_to_read(r) == 0;
}

int ring_peek(struct ring *r, struct ring_pkt *pkt)
{
	struct vmbus_pkt_desc d;
	uint32_t w, avail, len, off;

	if (r->broken)
		return -EIO;
	if (ring_guest_write_index(r, &w))
		return -EIO;
	avail = ring_dist(r, r->rd_next, w);
	if (!avail)
		return -EAGAIN;
	if (avail < RING_PKT_OVERHEAD)
		return ring_break(r, "partial packet", avail);
	ring_copy_out_raw(r, r->rd_next, &d, sizeof(d));
	len = (uint32_t)get_le16(&d.len8) * 8;
	off = (uint32_t)get_le16(&d.offset8) * 8;
	if (len < sizeof(d) || off < sizeof(d) || off > len)
		return ring_break(r, "bad packet descriptor", len);
	if ((uint64_t)len + 8 > avail)
		return ring_break(r, "packet longer than data", len);
	pkt->pos = r->rd_next;
	pkt->len = len;
	pkt->data_off = off;
	pkt->type = get_le16(&d.type);
	pkt->flags = get_le16(&d.flags);
	pkt->trans_id = get_le64(&d.trans_id);
	return 0;
}

void ring_copy_from(const struct ring *r, uint32_t pos, uint32_t off, void *buf,
		    uint32_t len)
{
	if (len)
		ring_copy_out_raw(r, ring_wrap(r, (uint64_t)pos + off), buf,
				  len);
}

const void *ring_ptr(const struct ring *r, uint32_t pos, uint32_t off,
		     uint32_t len)
{
	uint32_t p = ring_wrap(r, (uint64_t)pos + off);

	if (len > r->mem.size)
		return NULL;
	if (r->mem.linear)
		return r->mem.linear + p;
	if (p % RING_PAGE + len > RING_PAGE)
		return NULL;
	return r->mem.pages[p / RING_PAGE] + p % RING_PAGE;
}

void ring_skip(struct ring *r, const struct ring_pkt *pkt)
{
	r->rd_next = ring_wrap(r, (uint64_t)pkt->pos + pkt->len + 8);
}

bool ring_commit_read(struct ring *r)
{
	struct vmbus_ring_ctrl *c = r->mem.ctrl;
	uint32_t w, pending, free_before, free_after;

	if (r->broken || r->rd_next == r->rd)
		return false;
	ring_store(&c->read_index, r->rd_next);
	ring_mb();
	pending = ring_load(&c->pending_send_sz);
	if (ring_guest_write_index(r, &w))
		goto out;
	if (!pending)
		goto out;
	/* Free space as the writer sees it before and after this commit. */
	free_after = r->mem.size - ring_dist(r, r->rd_next, w);
	free_before = r->mem.size - ring_dist(r, r->rd, w);
	r->rd = r->rd_next;
	return free_before <= pending && free_after > pending;
out:
	r->rd = r->rd_next;
	return false;
}

void ring_set_interrupt_mask(struct ring *r, bool masked)
{
	ring_store(&r->mem.ctrl->interrupt_mask, masked);
	ring_mb();
}

/* ---- writer ---- */

static int ring_guest_read_index(struct ring *r, uint32_t *out)
{
	uint32_t v = ring_load(&r->mem.ctrl->read_index);

	if (!ring_index_ok(r, v))
		return ring_break(r, "read index out of range", v);
	*out = v;
	return 0;
}

uint32_t ring_bytes_to_write(struct ring *r)
{
	uint32_t rd;

	if (r->broken || ring_guest_read_index(r, &rd))
		return 0;
	return rd == r->wr ? r->mem.size : ring_dist(r, r->wr, rd);
}

void ring_set_pending_send(struct ring *r, uint32_t bytes)
{
	ring_store(&r->mem.ctrl->pending_send_sz, bytes);
	ring_mb();
}

int ring_write(struct ring *r, const struct ring_pkt_out *hdr,
	       const struct iovec *iov, unsigned int iovcnt, bool *signal)
{
	struct vmbus_pkt_desc d;
	uint64_t payload = 0, need;
	uint32_t pos, old = r->wr, rd, len8;
	uint8_t trailer[8];
	unsigned int i;

	*signal = false;
	if (r->broken)
		return -EIO;
	for (i = 0; i < iovcnt; i++)
		payload += iov[i].iov_len;
	if (!IS_ALIGNED(hdr->hdr_extra, 8) || hdr->hdr_extra > payload)
		return -EINVAL;
	need = ALIGN_UP(sizeof(d) + payload, 8) + 8;
	if (need >= r->mem.size || need > 0xffffu * 8)
		return -EMSGSIZE;
	if (need >= ring_bytes_to_write(r))
		return r->broken ? -EIO : -EAGAIN;

	len8 = (uint32_t)(need - 8) / 8;
	put_le16(&d.type, hdr->type);
	put_le16(&d.offset8, (uint16_t)((sizeof(d) + hdr->hdr_extra) / 8));
	put_le16(&d.len8, (uint16_t)len8);
	put_le16(&d.flags, hdr->flags);
	put_le64(&d.trans_id, hdr->trans_id);
	ring_copy_in_raw(r, old, &d, sizeof(d));
	pos = ring_wrap(r, (uint64_t)old + sizeof(d));
	for (i = 0; i < iovcnt; i++) {
		ring_copy_in_raw(r, pos, iov[i].iov_base,
				 (uint32_t)iov[i].iov_len);
		pos = ring_wrap(r, (uint64_t)pos + iov[i].iov_len);
	}
	ring_copy_in_raw(r, pos, NULL,
			 (uint32_t)(len8 * 8 - sizeof(d) - payload));
	pos = ring_wrap(r, (uint64_t)old + len8 * 8);
	put_le64(trailer, (uint64_t)old << 32);
	ring_copy_in_raw(r, pos, trailer, sizeof(trailer));
	r->wr = ring_wrap(r, (uint64_t)old + need);

	ring_store(&r->mem.ctrl->write_index, r->wr);
	ring_mb();
	if (ring_load(&r->mem.ctrl->interrupt_mask))
		return 0;
	if (ring_guest_read_index(r, &rd))
		return 0;
	*signal = rd == old;
	return 0;
}
