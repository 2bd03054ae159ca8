/* SPDX-License-Identifier: MIT */
/*
 * gmem: guest-physical memory. Every device touches guest memory only through
 * gmem_map(), which checks that the whole range lies inside one RAM region.
 * Tests build a struct gmem over malloc'd buffers (gmem_add_region).
 */
#ifndef HVKVM_GMEM_H
#define HVKVM_GMEM_H

#include <stdbool.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 8

struct gmem_region {
	uint64_t gpa;  /* first guest-physical address */
	uint64_t size; /* bytes */
	uint8_t *hva;  /* host mapping of the first byte */
	bool readonly; /* ROM: gmem_map(.., write=true) fails */
};

struct gmem {
	struct gmem_region regions[GMEM_MAX_REGIONS]; /* sorted by gpa */
	unsigned int nr_regions;
	uint64_t ram_size;  /* total guest RAM in bytes (not ROM) */
	int memfd;	    /* backing memfd, -1 for test memory */
	uint8_t *base;	    /* host mapping of the whole memfd */
	uint64_t base_size; /* bytes mapped at @base */
};

/* Empty map (no regions); tests add their own. */
void gmem_init(struct gmem *gm);
/* Add a region. Rejects overlap, zero size and too many regions. */
int gmem_add_region(struct gmem *gm, uint64_t gpa, uint64_t size, void *hva,
		    bool readonly);
/*
 * Allocate @ram_size bytes of guest RAM from a memfd and lay it out like a
 * PC: low RAM below @hole_start (at most 3 GiB by default), the rest above
 * 4 GiB. Returns 0 or -errno.
 */
int gmem_create_ram(struct gmem *gm, uint64_t ram_size, uint64_t hole_start);
/*
 * The same from private anonymous memory marked MADV_MERGEABLE, without a
 * memfd (memfd = -1). gmem_create_ram()'s shared memfd is never merged by
 * KSM: merged pages let other processes time copy-on-write faults on the
 * guest's data, a cross-VM side channel, so merging is the user's explicit
 * choice (--mem-merge on). Both mark the RAM MADV_DONTDUMP.
 */
int gmem_create_ram_mergeable(struct gmem *gm, uint64_t ram_size,
			      uint64_t hole_start);
void gmem_destroy(struct gmem *gm);

/*
 * Host pointer for [gpa, gpa+len) if the whole range lies in one region (and
 * that region is writable when @write), else NULL. len == 0 is rejected.
 */
void *gmem_map(struct gmem *gm, uint64_t gpa, uint64_t len, bool write);
/* Copy helpers: 0 or -EFAULT. */
int gmem_read(struct gmem *gm, uint64_t gpa, void *buf, uint64_t len);
int gmem_write(struct gmem *gm, uint64_t gpa, const void *buf, uint64_t len);
/* True if [gpa, gpa+len) is guest RAM. */
bool gmem_is_ram(struct gmem *gm, uint64_t gpa, uint64_t len);

#endif /* HVKVM_GMEM_H */
