/* SPDX-License-Identifier: MIT */
/*
 * irq: where devices send interrupts. The VM implements it with the
 * in-kernel irqchip (KVM_IRQ_LINE, KVM_SIGNAL_MSI, irqfd); tests use a fake
 * that records edges.
 */
#ifndef HVKVM_IRQ_H
#define HVKVM_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct irq_sink_ops {
	/* Drive a GSI (ISA IRQ / IOAPIC pin) to @level. */
	int (*set_line)(void *opaque, unsigned int gsi, bool level);
	/* Send an MSI (x86 address/data format). */
	int (*msi)(void *opaque, uint64_t address, uint32_t data);
};

struct irq_sink {
	const struct irq_sink_ops *ops;
	void *opaque;
};

static inline int irq_set_line(struct irq_sink *sink, unsigned int gsi,
			       bool level)
{
	return sink->ops->set_line(sink->opaque, gsi, level);
}

/* Edge-triggered ISA interrupt: raise then lower. */
static inline int irq_pulse(struct irq_sink *sink, unsigned int gsi)
{
	int r = sink->ops->set_line(sink->opaque, gsi, true);
	if (r)
		return r;
	return sink->ops->set_line(sink->opaque, gsi, false);
}

static inline int irq_msi(struct irq_sink *sink, uint64_t address,
			  uint32_t data)
{
	return sink->ops->msi(sink->opaque, address, data);
}

/* Fixed-delivery, edge, physical-destination MSI to @apic_id with @vector. */
static inline void irq_msi_fixed(uint32_t apic_id, uint8_t vector,
				 uint64_t *address, uint32_t *data)
{
	*address = 0xfee00000ULL | ((uint64_t)(apic_id & 0xff) << 12);
	*data = vector;
}

#endif /* HVKVM_IRQ_H */
