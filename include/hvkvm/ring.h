/* SPDX-License-Identifier: MIT */
/*
 * ring: one direction of a VMBus ring buffer, seen from the host. Pure logic
 * over a ring-memory description (no KVM, no locks, no guest-memory lookup):
 * the caller maps the control page and the data pages and hands them over.
 *
 * The host is the reader of the guest's outbound ring and the writer of the
 * guest's inbound ring. The host keeps private copies of the indices it owns
 * and never trusts the guest's copy of them; every index the guest owns is
 * validated (in range, 8-byte aligned) and every packet header is checked
 * against the bytes actually available. A violation marks the ring broken
 * (-EIO from then on): the channel layer closes the channel, the VM runs on.
 */
#ifndef HVKVM_RING_H
#define HVKVM_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hvkvm/vmbus_proto.h"

/* Largest ring data area accepted (Linux netvsc uses up to 16 MiB). */
#define RING_MAX_DATA_SIZE (64u << 20)
/* Descriptor + trailing previous-index word. */
#define RING_PKT_OVERHEAD (sizeof(struct vmbus_pkt_desc) + 8)

/*
 * Where the ring's bytes are. The data area is @size bytes (a multiple of
 * 4096). If @linear is set the data is mapped twice back to back, so
 * linear[size + i] aliases linear[i] and any packet is contiguous; otherwise
 * @pages[i] is the host address of data page i and ring.c copies piecewise.
 */
struct ring_mem {
	struct vmbus_ring_ctrl *ctrl; /* shared control page */
	uint8_t *linear;	      /* double-mapped data, or NULL */
	uint8_t *const *pages;	      /* [size / 4096] when !linear */
	uint32_t size;		      /* data bytes */
};

struct ring {
	struct ring_mem mem;
	uint32_t rd;	  /* reader: read index last published */
	uint32_t rd_next; /* reader: cursor past consumed packets */
	uint32_t wr;	  /* writer: our write index */
	bool broken;	  /* guest corrupted the ring */
};

/* One packet found by ring_peek(). */
struct ring_pkt {
	uint32_t pos;	   /* data offset of the descriptor */
	uint32_t len;	   /* total bytes (len8 * 8), no trailer */
	uint32_t data_off; /* payload offset inside the packet */
	uint16_t type;
	uint16_t flags;
	uint64_t trans_id;
};

/* Header of a packet the host writes. */
struct ring_pkt_out {
	uint16_t type;
	uint16_t flags;
	uint64_t trans_id;
	/*
	 * Bytes at the start of the iovec that belong to the packet header
	 * (e.g. the ranges of a transfer-page packet); offset8 points past
	 * them. Must be a multiple of 8.
	 */
	uint32_t hdr_extra;
};

/*
 * Attach to ring memory. The indices the host owns are taken from the
 * control page once (the guest zeroes them before OpenChannel) and must be
 * valid. Returns 0 or -EINVAL (ring marked broken).
 */
int ring_init(struct ring *r, const struct ring_mem *mem);

/* ---- reader side (guest -> host ring) ---- */

/*
 * Validate the next unread packet. 0 and *pkt filled; -EAGAIN when empty;
 * -EIO when the guest's write index or the descriptor is bogus.
 */
int ring_peek(struct ring *r, struct ring_pkt *pkt);
/* Copy @len bytes at @off inside the packet that starts at data @pos. */
void ring_copy_from(const struct ring *r, uint32_t pos, uint32_t off, void *buf,
		    uint32_t len);
/* Pointer to [pos+off, +len) if contiguous in host memory, else NULL. */
const void *ring_ptr(const struct ring *r, uint32_t pos, uint32_t off,
		     uint32_t len);
/* Move the cursor past @pkt (not yet visible to the guest). */
void ring_skip(struct ring *r, const struct ring_pkt *pkt);
/*
 * Publish the cursor as the read index. Returns true if the guest (writer)
 * must be signalled: it asked for pending_send_sz bytes and this read made
 * that much room.
 */
bool ring_commit_read(struct ring *r);
/* Ask the guest not to signal us (true) or to signal again (false). */
void ring_set_interrupt_mask(struct ring *r, bool masked);
/* True if no unread packet (cursor == guest write index). */
bool ring_is_empty(struct ring *r);
/* Bytes the guest wrote that the cursor has not consumed. */
uint32_t ring_bytes_to_read(struct ring *r);

/* ---- writer side (host -> guest ring) ---- */

/*
 * Write one packet: descriptor, @iov payload, padding, trailer. 0 and
 * *signal set when the guest must be interrupted (ring went from empty to
 * non-empty and the guest has not masked interrupts); -EAGAIN when it does
 * not fit now (ring_set_pending_send() asks the guest to tell us);
 * -EMSGSIZE when it can never fit; -EIO when the ring is broken.
 */
int ring_write(struct ring *r, const struct ring_pkt_out *hdr,
	       const struct iovec *iov, unsigned int iovcnt, bool *signal);
/* Free bytes now (a packet needs strictly fewer than this). */
uint32_t ring_bytes_to_write(struct ring *r);
/* Ask the guest (reader) to signal when @bytes are free; 0 clears. */
void ring_set_pending_send(struct ring *r, uint32_t bytes);
/* Bytes a packet with @payload bytes occupies in the ring. */
static inline uint32_t ring_pkt_size(uint32_t payload)
{
	return (uint32_t)(((sizeof(struct vmbus_pkt_desc) + payload + 7) &
			   ~7u) +
			  8);
}

#endif /* HVKVM_RING_H */
