// SPDX-License-Identifier: MIT
/*
 * net_fake: a network backend for tests. Frames a test injects wait in an
 * RX queue and are offered through the same generic path as TAP frames
 * (held frame, -ENOBUFS pause, net_rx_resume); frames the device sends
 * are copied into a TX queue the test collects. net_fake_set_tx_full()
 * makes sends answer -EAGAIN, as a full TAP queue does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/util.h"
#include "net_int.h"

struct net_fake_frame {
	uint8_t *data;
	size_t len;
};

struct net_fake_queue {
	struct net_fake_frame f[NET_FAKE_QUEUE];
	unsigned int head, count;
};

struct net_fake {
	pthread_mutex_t lock;
	struct net_fake_queue rx, tx;
	bool tx_full;
};

static int net_fake_push(struct net_fake_queue *q, const struct iovec *iov,
			 int iovcnt)
{
	struct net_fake_frame *f;
	size_t len = 0, off = 0;
	int i;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (!len || len > NET_MAX_FRAME)
		return -EINVAL;
	if (q->count == NET_FAKE_QUEUE)
		return -ENOSPC;
	f = &q->f[(q->head + q->count) % NET_FAKE_QUEUE];
	f->data = malloc(len);
	if (!f->data)
		return -ENOMEM;
	for (i = 0; i < iovcnt; i++) {
		memcpy(f->data + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	f->len = len;
	q->count++;
	return 0;
}

static long net_fake_pop(struct net_fake_queue *q, void *buf, size_t len)
{
	struct net_fake_frame *f;
	size_t n;

	if (!q->count)
		return -ENOENT;
	f = &q->f[q->head];
	n = MIN(len, f->len);
	memcpy(buf, f->data, n);
	free(f->data);
	q->head = (q->head + 1) % NET_FAKE_QUEUE;
	q->count--;
	return (long)n;
}

static int net_fake_send(struct net_backend *nb, const struct iovec *iov,
			 int iovcnt)
{
	struct net_fake *fk = nb->priv;
	int r;

	pthread_mutex_lock(&fk->lock);
	r = fk->tx_full ? -EAGAIN : net_fake_push(&fk->tx, iov, iovcnt);
	pthread_mutex_unlock(&fk->lock);
	return r;
}

static long net_fake_recv(struct net_backend *nb, void *buf, size_t len)
{
	struct net_fake *fk = nb->priv;
	long r;

	pthread_mutex_lock(&fk->lock);
	r = net_fake_pop(&fk->rx, buf, len);
	pthread_mutex_unlock(&fk->lock);
	return r < 0 ? -EAGAIN : r;
}

static void net_fake_free(struct net_backend *nb)
{
	struct net_fake *fk = nb->priv;
	uint8_t scratch[1];

	while (net_fake_pop(&fk->rx, scratch, 0) >= 0)
		;
	while (net_fake_pop(&fk->tx, scratch, 0) >= 0)
		;
	pthread_mutex_destroy(&fk->lock);
	free(fk);
}

static const struct net_backend_ops net_fake_ops = {
	.send = net_fake_send,
	.recv = net_fake_recv,
	.free = net_fake_free,
};

int net_fake_create(struct net_backend **out)
{
	struct net_backend *nb = calloc(1, sizeof(*nb));
	struct net_fake *fk = calloc(1, sizeof(*fk));

	if (!nb || !fk || net_backend_init(nb, &net_fake_ops, "fake", -1)) {
		free(nb);
		free(fk);
		return -ENOMEM;
	}
	pthread_mutex_init(&fk->lock, NULL);
	nb->priv = fk;
	*out = nb;
	return 0;
}

int net_fake_inject(struct net_backend *nb, const void *frame, size_t len)
{
	struct net_fake *fk = nb->priv;
	struct iovec iov = { (void *)frame, len };
	int r;

	pthread_mutex_lock(&fk->lock);
	r = net_fake_push(&fk->rx, &iov, 1);
	pthread_mutex_unlock(&fk->lock);
	if (!r)
		net_rx_drain(nb);
	return r;
}

long net_fake_collect(struct net_backend *nb, void *buf, size_t len)
{
	struct net_fake *fk = nb->priv;
	long r;

	pthread_mutex_lock(&fk->lock);
	r = net_fake_pop(&fk->tx, buf, len);
	pthread_mutex_unlock(&fk->lock);
	return r;
}

unsigned int net_fake_rx_pending(struct net_backend *nb)
{
	struct net_fake *fk = nb->priv;
	unsigned int n;

	pthread_mutex_lock(&fk->lock);
	n = fk->rx.count + (nb->has_held ? 1 : 0);
	pthread_mutex_unlock(&fk->lock);
	return n;
}

bool net_fake_rx_paused(struct net_backend *nb)
{
	bool r;

	pthread_mutex_lock(&nb->lock);
	r = nb->rx_paused;
	pthread_mutex_unlock(&nb->lock);
	return r;
}

void net_fake_set_tx_full(struct net_backend *nb, bool full)
{
	struct net_fake *fk = nb->priv;

	pthread_mutex_lock(&fk->lock);
	fk->tx_full = full;
	pthread_mutex_unlock(&fk->lock);
	if (!full)
		net_tx_wake(nb);
}
