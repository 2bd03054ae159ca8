// SPDX-License-Identifier: MIT
/*
 * bus: sorted range tables with binary-search dispatch for PIO and MMIO,
 * changed at run time by copy and publish under RCU (liburcu-bp; see
 * include/hvkvm/bus.h for the rules).
 */
#include "hvkvm/bus.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-bp.h>

#include "hvkvm/util.h"

struct bus_table {
	struct rcu_head rcu;	   /* for call_rcu() once replaced */
	unsigned int nr;	   /* ranges in use */
	struct bus_range ranges[]; /* sorted by base, disjoint */
};

/* What an empty bus points at: never freed, never written. */
static const struct bus_table bus_empty;

int bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	bus->table = (struct bus_table *)&bus_empty;
	return -pthread_mutex_init(&bus->lock, NULL);
}

static void bus_table_free(struct rcu_head *head)
{
	free(container_of(head, struct bus_table, rcu));
}

/* Writers, under bus->lock: publish @t (NULL = empty), retire the old. */
static void bus_publish(struct bus *bus, struct bus_table *t)
{
	struct bus_table *old = bus->table;

	rcu_assign_pointer(bus->table, t ? t : (struct bus_table *)&bus_empty);
	if (old != &bus_empty)
		call_rcu(&old->rcu, bus_table_free);
}

void bus_destroy(struct bus *bus)
{
	pthread_mutex_lock(&bus->lock);
	bus_publish(bus, NULL);
	pthread_mutex_unlock(&bus->lock);
	rcu_barrier(); /* run the call_rcu() frees now */
	pthread_mutex_destroy(&bus->lock);
}

void bus_synchronize(void)
{
	synchronize_rcu();
}

static struct bus_table *bus_table_alloc(unsigned int nr)
{
	struct bus_table *t;

	t = malloc(offsetof(struct bus_table, ranges) +
		   (size_t)nr * sizeof(t->ranges[0]));
	if (t)
		t->nr = nr;
	return t;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name)
{
	const struct bus_table *cur;
	struct bus_table *t;
	unsigned int pos;
	int r = 0;

	if (!len || base + len - 1 < base || !ops)
		return -EINVAL;
	pthread_mutex_lock(&bus->lock);
	cur = bus->table;
	if (cur->nr == BUS_MAX_RANGES) {
		r = -ENOSPC;
		goto out_unlock;
	}
	for (pos = 0; pos < cur->nr; pos++) {
		const struct bus_range *e = &cur->ranges[pos];

		if (base <= e->base + (e->len - 1) &&
		    e->base <= base + (len - 1)) {
			r = -EEXIST;
			goto out_unlock;
		}
		if (base < e->base)
			break;
	}
	t = bus_table_alloc(cur->nr + 1);
	if (!t) {
		r = -ENOMEM;
		goto out_unlock;
	}
	memcpy(t->ranges, cur->ranges, pos * sizeof(t->ranges[0]));
	t->ranges[pos] = (struct bus_range){
		.base = base,
		.len = len,
		.ops = ops,
		.opaque = opaque,
		.name = name ? name : "?",
	};
	memcpy(&t->ranges[pos + 1], &cur->ranges[pos],
	       (cur->nr - pos) * sizeof(t->ranges[0]));
	bus_publish(bus, t);
out_unlock:
	pthread_mutex_unlock(&bus->lock);
	return r;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	const struct bus_table *cur;
	struct bus_table *t = NULL;
	unsigned int i;
	int r = -ENOENT;

	pthread_mutex_lock(&bus->lock);
	cur = bus->table;
	for (i = 0; i < cur->nr; i++) {
		if (cur->ranges[i].base != base)
			continue;
		if (cur->nr > 1) {
			t = bus_table_alloc(cur->nr - 1);
			if (!t) {
				r = -ENOMEM;
				break;
			}
			memcpy(t->ranges, cur->ranges,
			       i * sizeof(t->ranges[0]));
			memcpy(&t->ranges[i], &cur->ranges[i + 1],
			       (cur->nr - i - 1) * sizeof(t->ranges[0]));
		}
		bus_publish(bus, t);
		r = 0;
		break;
	}
	pthread_mutex_unlock(&bus->lock);
	return r;
}

/* Inside rcu_read_lock(): the range holding @addr in @t, or NULL. */
static const struct bus_range *bus_table_find(const struct bus_table *t,
					      uint64_t addr)
{
	unsigned int lo = 0, hi = t->nr;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct bus_range *r = &t->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool bus_lookup(struct bus *bus, uint64_t addr, struct bus_range *out)
{
	const struct bus_range *r;

	rcu_read_lock();
	r = bus_table_find(rcu_dereference(bus->table), addr);
	if (r)
		*out = *r;
	rcu_read_unlock();
	return r != NULL;
}

unsigned int bus_count(struct bus *bus)
{
	unsigned int n;

	rcu_read_lock();
	n = rcu_dereference(bus->table)->nr;
	rcu_read_unlock();
	return n;
}

static uint64_t size_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

/*
 * The handler runs inside the read-side section: the range's table (and,
 * by the rule in bus.h, its device) stays alive until it returns, and a
 * handler may itself change the bus (writers never wait for readers).
 */
bool bus_read(struct bus *bus, uint64_t addr, unsigned int size,
	      uint64_t *value)
{
	const struct bus_range *r;
	bool claimed;

	rcu_read_lock();
	r = bus_table_find(rcu_dereference(bus->table), addr);
	claimed = r != NULL;
	if (r && r->ops->read)
		*value = r->ops->read(r->opaque, addr - r->base, size) &
			 size_mask(size);
	else
		*value = size_mask(size);
	rcu_read_unlock();
	if (!claimed) {
		__atomic_fetch_add(&bus->unclaimed, 1, __ATOMIC_RELAXED);
		pr_dbg("%s: unclaimed read %#llx/%u", bus->name,
		       (unsigned long long)addr, size);
	}
	return claimed;
}

bool bus_write(struct bus *bus, uint64_t addr, unsigned int size,
	       uint64_t value)
{
	const struct bus_range *r;
	bool claimed;

	rcu_read_lock();
	r = bus_table_find(rcu_dereference(bus->table), addr);
	claimed = r != NULL;
	if (r && r->ops->write)
		r->ops->write(r->opaque, addr - r->base, size,
			      value & size_mask(size));
	rcu_read_unlock();
	if (!claimed) {
		__atomic_fetch_add(&bus->unclaimed, 1, __ATOMIC_RELAXED);
		pr_dbg("%s: unclaimed write %#llx/%u = %#llx", bus->name,
		       (unsigned long long)addr, size,
		       (unsigned long long)value);
	}
	return claimed;
}
