/* SPDX-License-Identifier: MIT */
/*
 * netvsp: the Hyper-V synthetic network adapter (VMBus class
 * f8615163-df3e-46c5-913f-f2d2f965ed0e) that Linux hv_netvsc and Windows
 * netvsc.sys drive: NVSP 2..6.1 with its NDIS version, the guest's
 * receive and send buffers, RNDIS control (INITIALIZE, QUERY, SET, RESET,
 * KEEPALIVE, HALT, status indications) and data on a network backend
 * (net.h). docs/network.md.
 *
 * Threading: everything on the VMBus processing thread; the backend must
 * be attached to the same event loop (netvsp attaches it itself).
 *
 * Lifetime: freed with its VMBus device (server destroy); the backend
 * stays the caller's (net_close() it after the server is gone).
 */
#ifndef HVKVM_NETVSP_H
#define HVKVM_NETVSP_H

#include <stdbool.h>
#include <stdint.h>

#include "hvkvm/net.h"
#include "hvkvm/vmbus.h"

#define NETVSP_CLASS_ID "f8615163-df3e-46c5-913f-f2d2f965ed0e"
#define NETVSP_MAX_MTU 9000

struct evloop;
struct netvsp;

struct netvsp_params {
	const char *name;	 /* logs and stats ("net0") */
	const char *instance_id; /* VMBus instance GUID string */
	uint8_t mac[NET_MAC_LEN];
	struct net_backend *nb; /* not owned */
	struct evloop *loop;	/* where nb delivers (the VMBus thread's) */
	uint32_t mtu;		/* 0 = 1500; at most NETVSP_MAX_MTU */
};

int netvsp_create(struct vmbus_server *s, const struct netvsp_params *p,
		  struct netvsp **out);

/* Link up/down as the guest sees it (RNDIS media status indication). */
void netvsp_set_link(struct netvsp *nv, bool up);

/*
 * Counters as netvsp.<name>.<counter>: rx_frames, rx_bytes, rx_drops
 * (filtered or not ready), rx_no_section (receive buffer full: the
 * backend waits), tx_frames, tx_bytes, tx_errors, rndis_control,
 * bad_packets, nvsp_version, ndis_version.
 */
void netvsp_stats_foreach(struct netvsp *nv, vmbus_stats_fn fn, void *opaque);

#endif /* HVKVM_NETVSP_H */
