/* SPDX-License-Identifier: MIT */
/*
 * dec21140: the DEC 21140A "Tulip" Fast Ethernet controller (PCI 1011:0009),
 * the legacy network adapter of Hyper-V Gen1, on a net backend (net.h).
 *
 * Threads: CSR accesses come from vCPU threads (TX runs there, on the
 * guest's poll demand); frames from the backend and the timers arrive on
 * the event loop thread. One mutex serialises them.
 */
#ifndef HVKVM_DEC21140_H
#define HVKVM_DEC21140_H

#include <stdbool.h>
#include <stdint.h>

#include "hvkvm/net.h"

struct bus;
struct evloop;
struct gmem;
struct pci_host;
struct dec21140;

#define DEC21140_VENDOR 0x1011
#define DEC21140_DEVICE 0x0009
#define DEC21140_CSR_SIZE 128  /* CSR0..CSR15 at 8-byte strides */
#define DEC21140_IO_BAR 0      /* CBIO */
#define DEC21140_MEM_BAR 1     /* CBMA */
#define DEC21140_SROM_WORDS 64 /* 93C46: 64 x 16 bits */
#define DEC21140_PHY_ADDR 1    /* the MII PHY's address */

struct dec21140_config {
	const char *name;	  /* "net0", for logs */
	struct bus *pio;	  /* the I/O BAR lands here */
	struct bus *mmio;	  /* ... and the memory BAR here */
	struct pci_host *pci;	  /* where the function appears */
	unsigned int slot;	  /* 00:slot.0 */
	struct gmem *gm;	  /* every descriptor and buffer */
	struct net_backend *nb;	  /* attached by create, not owned */
	struct evloop *loop;	  /* backend and timers; NULL: tests poll */
	uint8_t mac[NET_MAC_LEN]; /* in the SROM */
};

/* Per-NIC counters (dec21140_get_stats). */
struct dec21140_stats {
	uint64_t tx_frames; /* frames handed to the backend */
	uint64_t tx_bytes;
	uint64_t tx_errors; /* frames closed with TDES0 ES */
	uint64_t rx_frames; /* frames written into the guest's ring */
	uint64_t rx_bytes;
	uint64_t rx_filtered;  /* dropped by the address filter */
	uint64_t rx_dropped;   /* RX stopped, link down, no bus master */
	uint64_t rx_nobuf;     /* times the RX ring was found empty */
	uint64_t rx_truncated; /* frames larger than the descriptors given */
	uint64_t setup_frames; /* filter setups taken */
	uint64_t bus_errors;   /* guest addresses outside RAM (CSR5 FBE) */
	uint64_t walk_limits;  /* descriptor walks stopped by the cap */
};

/* 0 or -errno. The function is registered on the PCI bus at cfg->slot. */
int dec21140_create(const struct dec21140_config *cfg, struct dec21140 **out);
/* With vCPUs and the loop stopped: detaches the backend (not closed). */
void dec21140_destroy(struct dec21140 *d);

/* Cable in or out: the PHY's BMSR link bit; RX and TX drop while down. */
void dec21140_set_link(struct dec21140 *d, bool up);
bool dec21140_link(struct dec21140 *d);
void dec21140_get_stats(struct dec21140 *d, struct dec21140_stats *out);

/*
 * Without an event loop (tests, fuzzing): what the timerfds do.
 * Expire the general-purpose timer (CSR11) now, if it runs; retry a
 * reception that found no descriptor.
 */
void dec21140_timer_expire(struct dec21140 *d);
void dec21140_rx_retry(struct dec21140 *d);

#endif /* HVKVM_DEC21140_H */
