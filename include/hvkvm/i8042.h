/* SPDX-License-Identifier: MIT */
/*
 * i8042: the PS/2 keyboard controller at 0x60 (data) / 0x64 (status and
 * command) with a keyboard that answers the probe and no auxiliary (mouse)
 * port, plus System Control Port A at 0x92 (fast A20 / fast reset). Both
 * reset paths end in platform_events.reset.
 */
#ifndef HVKVM_I8042_H
#define HVKVM_I8042_H

#include <stdbool.h>
#include <stdint.h>

struct bus;
struct irq_sink;
struct platform_events;
struct i8042;

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_PORT_A 0x92
#define I8042_KBD_IRQ 1
#define I8042_AUX_IRQ 12

/*
 * Register ports 0x60, 0x64 and 0x92 on @pio. @events->reset is called on a
 * reset pulse. @events must outlive the device. 0 or -errno.
 */
int i8042_create(struct bus *pio, struct irq_sink *irq,
		 const struct platform_events *events, struct i8042 **out);
void i8042_destroy(struct i8042 *k);
void i8042_reset(struct i8042 *k);

#endif /* HVKVM_I8042_H */
