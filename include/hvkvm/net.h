/* SPDX-License-Identifier: MIT */
/*
 * net: the one asynchronous network backend interface used by the emulated
 * DEC 21140A and (later) the synthetic NIC (netvsp) alike.
 *
 * Backends: a TAP device that already exists (net_tap_open, opened with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and offloads off), and a fake for
 * tests (net_fake_create: frames a test injects and collects).
 *
 * Threads: net_send*() may be called from any thread (a vCPU thread
 * included: the fd is non-blocking, a full TAP queue answers -EAGAIN at
 * once). Received frames and the "writable again" notice are delivered on
 * the event loop thread given to net_attach() (the TAP fd is watched
 * there); without a loop (tests, fuzzing) the caller drives delivery with
 * net_poll().
 *
 * Back-pressure:
 *  - RX: the client's receive() returns -ENOBUFS when it cannot take a
 *    frame now (its RX ring is full). The backend keeps that frame, stops
 *    reading the fd and offers the same frame again after the client
 *    calls net_rx_resume() (from any thread, also from under the client's
 *    own lock: delivery never happens inside net_rx_resume()).
 *  - TX: net_send() returns -EAGAIN when the TAP queue is full; nothing
 *    was sent. The backend watches for EPOLLOUT and calls tx_ready() once
 *    the fd is writable again; the client retries then.
 */
#ifndef HVKVM_NET_H
#define HVKVM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define NET_MAC_LEN 6
#define NET_MAX_FRAME 65536 /* largest frame the backend passes on */

struct evloop;
struct net_backend;

/* Per-NIC counters, updated atomically (read with net_get_stats). */
struct net_stats {
	uint64_t tx_frames; /* frames the guest sent that left the backend */
	uint64_t tx_bytes;
	uint64_t tx_drops;  /* refused by the host (not -EAGAIN) */
	uint64_t rx_frames; /* frames delivered to the device */
	uint64_t rx_bytes;
	uint64_t rx_drops; /* dropped by the device (filter, RX stopped) */
	uint64_t tx_full;  /* times a send found the queue full (-EAGAIN) */
	uint64_t rx_pause; /* times the device stopped reception */
};

struct net_client_ops {
	/*
	 * One received frame of @len bytes (no FCS). 0: taken (delivered or
	 * dropped by the device's own rules: count it with net_count_drop);
	 * -ENOBUFS: not now, offer it again after net_rx_resume().
	 */
	int (*receive)(void *opaque, const void *frame, size_t len);
	/* A send that answered -EAGAIN may be retried now. Optional. */
	void (*tx_ready)(void *opaque);
};

struct net_frame {
	const struct iovec *iov; /* the frame's pieces, in order */
	int iovcnt;
};

/*
 * Open the existing TAP interface @ifname (no creation, no configuration
 * of the host side). Logs one line naming the interface on failure.
 * 0 or -errno.
 */
int net_tap_open(const char *ifname, struct net_backend **out);
/* A fake backend for tests (see net_fake_* below). 0 or -ENOMEM. */
int net_fake_create(struct net_backend **out);
/* Detach (removing the fd from the loop) and free. */
void net_close(struct net_backend *nb);

/*
 * Connect the device. With @loop, the TAP fd is watched there and
 * callbacks run on the loop thread; with NULL, only inside net_poll().
 * 0 or -errno (-EBUSY if a client is attached already).
 */
int net_attach(struct net_backend *nb, struct evloop *loop,
	       const struct net_client_ops *ops, void *opaque);
/* Stop delivery (call with the loop stopped or on its thread). */
void net_detach(struct net_backend *nb);

/* Send one frame: 0, -EAGAIN (queue full, retry on tx_ready), -errno. */
int net_send(struct net_backend *nb, const struct iovec *iov, int iovcnt);
/*
 * Send up to @n frames in order; returns how many left (0..n); stops at
 * the first -EAGAIN. A frame the host refuses for another reason is
 * dropped and counted (tx_drops) and sending goes on.
 */
unsigned int net_send_batch(struct net_backend *nb,
			    const struct net_frame *frames, unsigned int n);

/* After a receive() returned -ENOBUFS: the client has room again. */
void net_rx_resume(struct net_backend *nb);
/* The device dropped a frame it was given (filter, RX stopped). */
void net_count_drop(struct net_backend *nb);
/* Without a loop: deliver what is pending (held frame, readable fd). */
void net_poll(struct net_backend *nb);
void net_get_stats(struct net_backend *nb, struct net_stats *out);
/* "tap:NAME" or "fake". */
const char *net_name(const struct net_backend *nb);

/* "52:54:00:12:34:56" -> bytes: 0 or -EINVAL (multicast refused). */
int net_mac_parse(const char *s, uint8_t mac[NET_MAC_LEN]);
/*
 * A stable MAC for NIC @index of the VM named @vm_name: locally
 * administered, unicast (02:xx:...), the rest a hash of name and index.
 */
void net_mac_generate(const char *vm_name, unsigned int index,
		      uint8_t mac[NET_MAC_LEN]);
/* Reflected CRC-32 (IEEE 802.3, as zlib): the Ethernet FCS. */
uint32_t net_crc32(const void *buf, size_t len);

/* ---- the fake backend ---------------------------------------------- */

#define NET_FAKE_QUEUE 64 /* frames kept each way */

/*
 * Queue a frame as if it arrived from the network; it is offered to the
 * client at once (unless reception is paused). 0 or -ENOSPC / -EINVAL.
 */
int net_fake_inject(struct net_backend *nb, const void *frame, size_t len);
/* Pop the oldest frame the device sent: its length, or -ENOENT. */
long net_fake_collect(struct net_backend *nb, void *buf, size_t len);
/* Frames injected and not yet taken by the client. */
unsigned int net_fake_rx_pending(struct net_backend *nb);
/* True while the client refused a frame and has not resumed. */
bool net_fake_rx_paused(struct net_backend *nb);
/* Make net_send answer -EAGAIN; clearing it calls tx_ready(). */
void net_fake_set_tx_full(struct net_backend *nb, bool full);

#endif /* HVKVM_NET_H */
