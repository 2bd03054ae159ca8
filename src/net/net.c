// SPDX-License-Identifier: MIT
/*
 * net: the generic half of the network backends (net.h). It owns the
 * client, the event-loop watch of the backend's fd, the held RX frame and
 * the back-pressure in both directions, the counters and the MAC helpers;
 * a kind (net_tap.c, net_fake.c) only moves one frame in or out.
 *
 * RX: on EPOLLIN (or net_poll) the backend reads a frame into @held and
 * offers it; -ENOBUFS from the client pauses reading (EPOLLIN dropped from
 * the watch) with the frame kept. net_rx_resume() re-arms and queues a
 * drain on the loop thread with evloop_call(), so it never delivers from
 * the caller's stack. A generation counter closes the race of a resume
 * arriving while the refused frame is still on its way back.
 *
 * TX: -EAGAIN from the kind arms EPOLLOUT; the writable event disarms it
 * and calls the client's tx_ready().
 */
#include "hvkvm/net.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "hvkvm/evloop.h"
#include "hvkvm/util.h"
#include "net_int.h"

#define NET_RX_BUDGET 64 /* frames per drain before yielding the loop */

#define net_stat_add(nb, field, n) \
	__atomic_fetch_add(&(nb)->stats.field, (n), __ATOMIC_RELAXED)

/* ---- watch ------------------------------------------------------------ */

/* The events the fd should be watched for now (lock held). */
static uint32_t net_events(const struct net_backend *nb)
{
	return (nb->rx_paused ? 0 : EPOLLIN) | (nb->tx_waiting ? EPOLLOUT : 0);
}

static void net_rewatch(struct net_backend *nb)
{
	if (nb->watched)
		evloop_mod_fd(nb->loop, nb->fd, net_events(nb));
}

/* ---- RX --------------------------------------------------------------- */

static void net_drain_cb(void *opaque);

void net_rx_drain(struct net_backend *nb)
{
	unsigned int n, gen;
	long len;
	int r;

	for (n = 0; n < NET_RX_BUDGET; n++) {
		pthread_mutex_lock(&nb->lock);
		gen = nb->rx_gen;
		if (nb->rx_paused || !nb->client) {
			pthread_mutex_unlock(&nb->lock);
			return;
		}
		pthread_mutex_unlock(&nb->lock);
		if (!nb->has_held) {
			len = nb->ops->recv(nb, nb->held, NET_MAX_FRAME);
			if (len < 0)
				return;
			nb->held_len = (size_t)len;
			nb->has_held = true;
		}
		r = nb->client->receive(nb->opaque, nb->held, nb->held_len);
		if (r == -ENOBUFS) {
			pthread_mutex_lock(&nb->lock);
			if (nb->rx_gen == gen) {
				nb->rx_paused = true;
				net_stat_add(nb, rx_pause, 1);
				net_rewatch(nb);
				pthread_mutex_unlock(&nb->lock);
				return;
			}
			pthread_mutex_unlock(&nb->lock);
			continue; /* resumed meanwhile: offer it again */
		}
		nb->has_held = false;
		net_stat_add(nb, rx_frames, 1);
		net_stat_add(nb, rx_bytes, nb->held_len);
	}
	/* Budget used up: come back after the other fds had their turn. */
	if (nb->loop) {
		pthread_mutex_lock(&nb->lock);
		if (!nb->drain_scheduled &&
		    !evloop_call(nb->loop, net_drain_cb, nb))
			nb->drain_scheduled = true;
		pthread_mutex_unlock(&nb->lock);
	}
}

static void net_drain_cb(void *opaque)
{
	struct net_backend *nb = opaque;

	pthread_mutex_lock(&nb->lock);
	nb->drain_scheduled = false;
	pthread_mutex_unlock(&nb->lock);
	net_rx_drain(nb);
}

void net_rx_resume(struct net_backend *nb)
{
	pthread_mutex_lock(&nb->lock);
	nb->rx_gen++;
	if (nb->rx_paused) {
		nb->rx_paused = false;
		net_rewatch(nb);
		/* The held frame makes no fd event: drain explicitly. */
		if (nb->loop && !nb->drain_scheduled &&
		    !evloop_call(nb->loop, net_drain_cb, nb))
			nb->drain_scheduled = true;
	}
	pthread_mutex_unlock(&nb->lock);
}

void net_count_drop(struct net_backend *nb)
{
	net_stat_add(nb, rx_drops, 1);
}

/* ---- TX --------------------------------------------------------------- */

int net_send(struct net_backend *nb, const struct iovec *iov, int iovcnt)
{
	size_t bytes = 0;
	int i, r;

	for (i = 0; i < iovcnt; i++)
		bytes += iov[i].iov_len;
	r = nb->ops->send(nb, iov, iovcnt);
	if (!r) {
		net_stat_add(nb, tx_frames, 1);
		net_stat_add(nb, tx_bytes, bytes);
		return 0;
	}
	if (r == -EAGAIN) {
		net_stat_add(nb, tx_full, 1);
		pthread_mutex_lock(&nb->lock);
		if (!nb->tx_waiting) {
			nb->tx_waiting = true;
			net_rewatch(nb);
		}
		pthread_mutex_unlock(&nb->lock);
		return r;
	}
	net_stat_add(nb, tx_drops, 1);
	return r;
}

unsigned int net_send_batch(struct net_backend *nb,
			    const struct net_frame *frames, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (net_send(nb, frames[i].iov, frames[i].iovcnt) == -EAGAIN)
			break;
	return i;
}

void net_tx_wake(struct net_backend *nb)
{
	bool was;

	pthread_mutex_lock(&nb->lock);
	was = nb->tx_waiting;
	nb->tx_waiting = false;
	net_rewatch(nb);
	pthread_mutex_unlock(&nb->lock);
	if (was && nb->client && nb->client->tx_ready)
		nb->client->tx_ready(nb->opaque);
}

/* ---- the fd on the loop ----------------------------------------------- */

static void net_fd_ready(void *opaque, uint32_t events)
{
	struct net_backend *nb = opaque;

	if (events & EPOLLOUT)
		net_tx_wake(nb);
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		net_rx_drain(nb);
}

void net_poll(struct net_backend *nb)
{
	net_rx_drain(nb);
}

/* ---- lifecycle -------------------------------------------------------- */

int net_backend_init(struct net_backend *nb, const struct net_backend_ops *ops,
		     const char *name, int fd)
{
	nb->held = malloc(NET_MAX_FRAME);
	if (!nb->held)
		return -ENOMEM;
	nb->ops = ops;
	nb->fd = fd;
	snprintf(nb->name, sizeof(nb->name), "%s", name);
	pthread_mutex_init(&nb->lock, NULL);
	return 0;
}

int net_attach(struct net_backend *nb, struct evloop *loop,
	       const struct net_client_ops *ops, void *opaque)
{
	int r;

	if (!ops || !ops->receive)
		return -EINVAL;
	if (nb->client)
		return -EBUSY;
	nb->loop = loop;
	nb->opaque = opaque;
	if (loop && nb->fd >= 0) {
		r = evloop_add_fd(loop, nb->fd, EPOLLIN, net_fd_ready, nb);
		if (r)
			return r;
		nb->watched = true;
	}
	pthread_mutex_lock(&nb->lock);
	nb->client = ops;
	pthread_mutex_unlock(&nb->lock);
	return 0;
}

void net_detach(struct net_backend *nb)
{
	if (nb->watched)
		evloop_del_fd(nb->loop, nb->fd);
	nb->watched = false;
	pthread_mutex_lock(&nb->lock);
	nb->client = NULL;
	pthread_mutex_unlock(&nb->lock);
	nb->loop = NULL;
}

void net_close(struct net_backend *nb)
{
	if (!nb)
		return;
	net_detach(nb);
	nb->ops->free(nb);
	pthread_mutex_destroy(&nb->lock);
	free(nb->held);
	free(nb);
}

void net_get_stats(struct net_backend *nb, struct net_stats *out)
{
	const uint64_t *src = (const uint64_t *)&nb->stats;
	uint64_t *dst = (uint64_t *)out;
	size_t i;

	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

const char *net_name(const struct net_backend *nb)
{
	return nb->name;
}

/* ---- MAC and CRC helpers ---------------------------------------------- */

int net_mac_parse(const char *s, uint8_t mac[NET_MAC_LEN])
{
	unsigned int i, hi, lo;

	for (i = 0; i < NET_MAC_LEN; i++) {
		if (!isxdigit((unsigned char)s[0]) ||
		    !isxdigit((unsigned char)s[1]))
			return -EINVAL;
		hi = isdigit((unsigned char)s[0]) ? s[0] - '0' :
						    (tolower(s[0]) - 'a' + 10);
		lo = isdigit((unsigned char)s[1]) ? s[1] - '0' :
						    (tolower(s[1]) - 'a' + 10);
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < NET_MAC_LEN - 1) {
			if (*s != ':' && *s != '-')
				return -EINVAL;
			s++;
		}
	}
	if (*s || (mac[0] & 1))
		return -EINVAL;
	return 0;
}

void net_mac_generate(const char *vm_name, unsigned int index,
		      uint8_t mac[NET_MAC_LEN])
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	const char *p;
	unsigned int i;

	for (p = vm_name ? vm_name : ""; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	h = (h ^ index) * 0x100000001b3ULL;
	mac[0] = 0x02; /* locally administered, unicast */
	for (i = 1; i < NET_MAC_LEN; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}

uint32_t net_crc32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = 0xffffffff;
	unsigned int b;

	while (len--) {
		crc ^= *p++;
		for (b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
	}
	return ~crc;
}
