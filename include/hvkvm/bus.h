/* SPDX-License-Identifier: MIT */
/*
 * bus: the PIO and MMIO address spaces. Devices register ranges with a
 * read/write pair; handlers receive the offset from their base. Unclaimed
 * reads return all-ones; unclaimed writes are dropped.
 *
 * Lookup is a binary search over a sorted table read under RCU (liburcu,
 * bulletproof flavour: any thread may dispatch, no registration): no lock
 * on the dispatch path. Registration and removal may happen at any time,
 * from any thread, also from inside a handler (a guest moving a PCI BAR):
 * writers serialise on a mutex, publish a new copy of the table and hand
 * the old one to call_rcu(), so a vCPU dispatching concurrently finishes on
 * the table it started with. After bus_unregister() a handler may still be
 * running (or about to run) on another thread for a short while; a device
 * that frees its state after removing its ranges at run time must call
 * bus_synchronize() first (never from inside a handler).
 */
#ifndef HVKVM_BUS_H
#define HVKVM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct bus_ops {
	/* @size is 1, 2, 4 or 8; the result is truncated to it. */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned int size);
	void (*write)(void *opaque, uint64_t offset, unsigned int size,
		      uint64_t value);
};

struct bus_range {
	uint64_t base;		   /* first address */
	uint64_t len;		   /* bytes */
	const struct bus_ops *ops; /* handlers */
	void *opaque;		   /* handler context */
	const char *name;	   /* for logs and dumps */
};

#define BUS_MAX_RANGES 128

struct bus_table;

struct bus {
	const char *name;	 /* "pio" or "mmio" */
	struct bus_table *table; /* current ranges, sorted (RCU) */
	pthread_mutex_t lock;	 /* serialises writers */
	uint64_t unclaimed;	 /* accesses nobody claimed (atomic) */
};

/* 0 or -ENOMEM. */
int bus_init(struct bus *bus, const char *name);
/* After every thread stopped dispatching: frees the table. */
void bus_destroy(struct bus *bus);
/* 0, -EINVAL (zero length / wrap), -EEXIST (overlap), -ENOSPC, -ENOMEM. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name);
/* Remove the range starting at @base: 0 or -ENOENT. */
int bus_unregister(struct bus *bus, uint64_t base);
/* Wait until no thread can still be in a handler of a removed range. */
void bus_synchronize(void);
/* Dispatch one access; returns false if no device claimed it. */
bool bus_read(struct bus *bus, uint64_t addr, unsigned int size,
	      uint64_t *value);
bool bus_write(struct bus *bus, uint64_t addr, unsigned int size,
	       uint64_t value);
/* A copy of the range holding @addr: true, or false if none does. */
bool bus_lookup(struct bus *bus, uint64_t addr, struct bus_range *out);
/* How many ranges are registered (tests, dumps). */
unsigned int bus_count(struct bus *bus);

#endif /* HVKVM_BUS_H */
