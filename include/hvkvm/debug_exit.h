/* SPDX-License-Identifier: MIT */
/*
 * debug_exit: QEMU's isa-debug-exit. Writing v to the port ends the VMM with
 * status (v << 1) | 1 through platform_events.debug_exit. Only created when
 * configured (vm_config.debug_exit_port).
 */
#ifndef HVKVM_DEBUG_EXIT_H
#define HVKVM_DEBUG_EXIT_H

#include <stdint.h>

struct bus;
struct platform_events;
struct debug_exit;

#define DEBUG_EXIT_DEFAULT_PORT 0xf4

/* Claim @width (1, 2 or 4) ports at @port. 0 or -errno. */
int debug_exit_create(struct bus *pio, uint16_t port, unsigned int width,
		      const struct platform_events *events,
		      struct debug_exit **out);
void debug_exit_destroy(struct debug_exit *d);

#endif /* HVKVM_DEBUG_EXIT_H */
