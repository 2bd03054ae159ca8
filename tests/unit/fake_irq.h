/* SPDX-License-Identifier: MIT */
/* Fake interrupt sink for unit tests: records every line change and MSI. */
#ifndef HVKVM_FAKE_IRQ_H
#define HVKVM_FAKE_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "hvkvm/irq.h"

#define FAKE_IRQ_LINES 64
#define FAKE_IRQ_MSIS 256

struct fake_irq {
	struct irq_sink sink;
	bool level[FAKE_IRQ_LINES];	     /* current level per GSI */
	unsigned int raises[FAKE_IRQ_LINES]; /* low->high edges per GSI */
	struct {
		uint64_t address;
		uint32_t data;
	} msi[FAKE_IRQ_MSIS]; /* MSIs in order (first 256) */
	unsigned int nr_msi;  /* all MSIs seen */
};

static inline int fake_irq_set_line(void *opaque, unsigned int gsi, bool level)
{
	struct fake_irq *f = opaque;

	if (gsi >= FAKE_IRQ_LINES)
		return -22;
	if (level && !f->level[gsi])
		f->raises[gsi]++;
	f->level[gsi] = level;
	return 0;
}

static inline int fake_irq_msi(void *opaque, uint64_t address, uint32_t data)
{
	struct fake_irq *f = opaque;

	if (f->nr_msi < FAKE_IRQ_MSIS) {
		f->msi[f->nr_msi].address = address;
		f->msi[f->nr_msi].data = data;
	}
	f->nr_msi++;
	return 0;
}

static const struct irq_sink_ops fake_irq_ops = {
	.set_line = fake_irq_set_line,
	.msi = fake_irq_msi,
};

static inline void fake_irq_init(struct fake_irq *f)
{
	*f = (struct fake_irq){ 0 };
	f->sink.ops = &fake_irq_ops;
	f->sink.opaque = f;
}

#endif /* HVKVM_FAKE_IRQ_H */
