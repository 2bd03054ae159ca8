/* SPDX-License-Identifier: MIT */
/*
 * Look one counter up through a stats enumeration (hv_stats_foreach,
 * vmbus_server_stats_foreach: same callback shape). Counts how often the
 * path was reported, so a test sees a missing or duplicated path.
 */
#ifndef HVKVM_TEST_STATS_FIND_H
#define HVKVM_TEST_STATS_FIND_H

#include <stdint.h>
#include <string.h>

struct stat_find {
	const char *path;   /* wanted */
	uint64_t value;	    /* last value reported for it */
	unsigned int hits;  /* times it was reported */
	unsigned int total; /* counters reported in all */
};

static void stat_find_cb(void *opaque, const char *path, uint64_t value)
{
	struct stat_find *sf = opaque;

	sf->total++;
	if (strcmp(path, sf->path))
		return;
	sf->hits++;
	sf->value = value;
}

/* The value of @path, or UINT64_MAX when it was not reported once. */
#define STAT_FIND(foreach, obj, p)                      \
	({                                              \
		struct stat_find sf_ = { .path = (p) }; \
		foreach ((obj), stat_find_cb, &sf_)     \
			;                               \
		sf_.hits == 1 ? sf_.value : UINT64_MAX; \
	})

#endif /* HVKVM_TEST_STATS_FIND_H */
