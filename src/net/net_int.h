/* SPDX-License-Identifier: MIT */
/*
 * net internals: what a backend kind (TAP, fake) provides to the generic
 * layer in net.c, and the state they share.
 */
#ifndef HVKVM_NET_INT_H
#define HVKVM_NET_INT_H

#include <pthread.h>

#include "hvkvm/net.h"

struct net_backend_ops {
	/* One frame: 0, -EAGAIN (queue full), -errno (dropped). */
	int (*send)(struct net_backend *nb, const struct iovec *iov,
		    int iovcnt);
	/* One frame into @buf: its length, -EAGAIN (nothing), -errno. */
	long (*recv)(struct net_backend *nb, void *buf, size_t len);
	void (*free)(struct net_backend *nb);
};

struct net_backend {
	const struct net_backend_ops *ops; /* the kind */
	char name[40];			   /* "tap:NAME" / "fake" */
	int fd;				   /* TAP fd, -1 for the fake */
	void *priv;			   /* the kind's own state */
	/* Set by net_attach(): */
	struct evloop *loop;		     /* where callbacks run, or NULL */
	const struct net_client_ops *client; /* the device */
	void *opaque;			     /* ... and its context */
	bool watched;			     /* fd added to @loop */
	/* Under @lock: */
	pthread_mutex_t lock;
	bool rx_paused;	      /* the client refused the held frame */
	unsigned int rx_gen;  /* bumped by net_rx_resume */
	bool tx_waiting;      /* EPOLLOUT armed after -EAGAIN */
	bool drain_scheduled; /* an evloop_call(net_rx_drain) is queued */
	/* Only on the delivering thread: */
	uint8_t *held;		/* the frame being offered (NET_MAX_FRAME) */
	size_t held_len;	/* ... its length */
	bool has_held;		/* @held is valid */
	struct net_stats stats; /* atomic counters */
};

int net_backend_init(struct net_backend *nb, const struct net_backend_ops *ops,
		     const char *name, int fd);
/* Offer frames to the client until it refuses or none is left. */
void net_rx_drain(struct net_backend *nb);
/* The client can be told TX room is back (fake: from the test thread). */
void net_tx_wake(struct net_backend *nb);

#endif /* HVKVM_NET_INT_H */
