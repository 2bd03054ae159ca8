/* SPDX-License-Identifier: MIT */
/*
 * bus: the PIO and MMIO address spaces. Devices register ranges with a
 * read/write pair; handlers receive the offset from their base. Lookup is a
 * binary search over a sorted table that is frozen once vCPUs start, so it
 * takes no lock. Unclaimed reads return all-ones; unclaimed writes are dropped.
 */
#ifndef HVKVM_BUS_H
#define HVKVM_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct bus_ops {
	/* @size is 1, 2, 4 or 8; the result is truncated to it. */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned int size);
	void (*write)(void *opaque, uint64_t offset, unsigned int size,
		      uint64_t value);
};

struct bus_range {
	uint64_t base;			/* first address */
	uint64_t len;			/* bytes */
	const struct bus_ops *ops;	/* handlers */
	void *opaque;			/* handler context */
	const char *name;		/* for logs and dumps */
};

#define BUS_MAX_RANGES 128

struct bus {
	const char *name;		/* "pio" or "mmio" */
	struct bus_range ranges[BUS_MAX_RANGES]; /* sorted by base */
	unsigned int nr_ranges;
	uint64_t unclaimed;		/* accesses nobody claimed */
};

void bus_init(struct bus *bus, const char *name);
/* 0, -EINVAL (zero length / wrap), -EEXIST (overlap), -ENOSPC. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name);
int bus_unregister(struct bus *bus, uint64_t base);
/* Dispatch one access; returns false if no device claimed it. */
bool bus_read(struct bus *bus, uint64_t addr, unsigned int size,
	      uint64_t *value);
bool bus_write(struct bus *bus, uint64_t addr, unsigned int size,
	       uint64_t value);
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr);

#endif /* HVKVM_BUS_H */
