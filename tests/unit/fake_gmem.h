/* SPDX-License-Identifier: MIT */
/*
 * Fake guest memory for unit tests: one malloc'd RAM region at GPA 0 (plus
 * optional others), surrounded by unmapped space so that any access outside
 * it fails through gmem_map() exactly as with a real VM.
 */
#ifndef HVKVM_FAKE_GMEM_H
#define HVKVM_FAKE_GMEM_H

#include <stdlib.h>
#include <string.h>

#include "hvkvm/gmem.h"

struct fake_gmem {
	struct gmem gm;
	uint8_t *ram;
	uint64_t size;
};

static inline int fake_gmem_init(struct fake_gmem *f, uint64_t size)
{
	gmem_init(&f->gm);
	f->size = size;
	f->ram = calloc(1, size);
	if (!f->ram)
		return -12;
	return gmem_add_region(&f->gm, 0, size, f->ram, false);
}

static inline void fake_gmem_destroy(struct fake_gmem *f)
{
	free(f->ram);
	f->ram = NULL;
}

#endif /* HVKVM_FAKE_GMEM_H */
