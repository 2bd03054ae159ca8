// SPDX-License-Identifier: MIT
/* e820: the guest's physical memory map as firmware would report it. */
#include <errno.h>
#include <string.h>

#include "hvkvm/boot.h"
#include "hvkvm/util.h"

int e820_add(struct e820_map *map, uint64_t addr, uint64_t size, uint32_t type)
{
	unsigned int pos;

	if (!size || addr + size < addr)
		return -EINVAL;
	if (map->nr == E820_MAX_ENTRIES)
		return -ENOSPC;
	for (pos = 0; pos < map->nr; pos++) {
		const struct e820_entry *e = &map->entries[pos];

		if (addr < e->addr + e->size && e->addr < addr + size)
			return -EEXIST;
		if (addr < e->addr)
			break;
	}
	memmove(&map->entries[pos + 1], &map->entries[pos],
		(map->nr - pos) * sizeof(map->entries[0]));
	map->entries[pos] = (struct e820_entry){ addr, size, type };
	map->nr++;
	return 0;
}

uint64_t e820_total(const struct e820_map *map, uint32_t type)
{
	uint64_t total = 0;
	unsigned int i;

	for (i = 0; i < map->nr; i++)
		if (map->entries[i].type == type)
			total += map->entries[i].size;
	return total;
}

int e820_build(const struct gmem *gm, struct e820_map *map)
{
	unsigned int i;
	int r;

	memset(map, 0, sizeof(*map));
	for (i = 0; i < gm->nr_regions; i++) {
		const struct gmem_region *g = &gm->regions[i];
		uint64_t start = g->gpa, end = g->gpa + g->size;

		if (g->readonly)
			continue;
		if (start < BOOT_HIGH_START) {
			/* Conventional memory, then the EBDA/BIOS hole. */
			uint64_t low_end = MIN(end, BOOT_EBDA_START);

			if (low_end > start) {
				r = e820_add(map, start, low_end - start,
					     E820_RAM);
				if (r)
					return r;
			}
			if (end <= BOOT_HIGH_START)
				continue;
			start = BOOT_HIGH_START;
		}
		r = e820_add(map, start, end - start, E820_RAM);
		if (r)
			return r;
	}
	if (!map->nr || map->entries[0].addr != 0 ||
	    gm->ram_size < BOOT_HIGH_START)
		return -EINVAL;
	return e820_add(map, BOOT_EBDA_START, BOOT_HIGH_START - BOOT_EBDA_START,
			E820_RESERVED);
}
