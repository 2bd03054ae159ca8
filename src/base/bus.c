// SPDX-License-Identifier: MIT
/* bus: sorted range table with binary-search dispatch for PIO and MMIO. */
#include "hvkvm/bus.h"

#include <errno.h>
#include <string.h>

#include "hvkvm/util.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name)
{
	unsigned int pos;

	if (!len || base + len - 1 < base || !ops)
		return -EINVAL;
	if (bus->nr_ranges == BUS_MAX_RANGES)
		return -ENOSPC;
	for (pos = 0; pos < bus->nr_ranges; pos++) {
		const struct bus_range *r = &bus->ranges[pos];

		if (base <= r->base + (r->len - 1) &&
		    r->base <= base + (len - 1))
			return -EEXIST;
		if (base < r->base)
			break;
	}
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
		(bus->nr_ranges - pos) * sizeof(bus->ranges[0]));
	bus->ranges[pos] = (struct bus_range){
		.base = base, .len = len, .ops = ops, .opaque = opaque,
		.name = name ? name : "?",
	};
	bus->nr_ranges++;
	return 0;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	unsigned int i;

	for (i = 0; i < bus->nr_ranges; i++) {
		if (bus->ranges[i].base != base)
			continue;
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->nr_ranges - i - 1) * sizeof(bus->ranges[0]));
		bus->nr_ranges--;
		return 0;
	}
	return -ENOENT;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr_ranges;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static uint64_t size_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

bool bus_read(struct bus *bus, uint64_t addr, unsigned int size,
	      uint64_t *value)
{
	const struct bus_range *r = bus_find(bus, addr);

	if (!r || !r->ops->read) {
		*value = size_mask(size);
		if (!r)
			__atomic_fetch_add(&bus->unclaimed, 1,
					   __ATOMIC_RELAXED);
		pr_dbg("%s: unclaimed read %#llx/%u", bus->name,
		       (unsigned long long)addr, size);
		return r != NULL;
	}
	*value = r->ops->read(r->opaque, addr - r->base, size) &
		 size_mask(size);
	return true;
}

bool bus_write(struct bus *bus, uint64_t addr, unsigned int size,
	       uint64_t value)
{
	const struct bus_range *r = bus_find(bus, addr);

	if (!r || !r->ops->write) {
		if (!r)
			__atomic_fetch_add(&bus->unclaimed, 1,
					   __ATOMIC_RELAXED);
		pr_dbg("%s: unclaimed write %#llx/%u = %#llx", bus->name,
		       (unsigned long long)addr, size,
		       (unsigned long long)value);
		return r != NULL;
	}
	r->ops->write(r->opaque, addr - r->base, size, value & size_mask(size));
	return true;
}
