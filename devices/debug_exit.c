// SPDX-License-Identifier: MIT
/*
 * Debug exit: QEMU's "isa-debug-exit" behaviour. A write of v (1, 2 or 4
 * bytes) anywhere in the port window asks the VM to end with exit status
 * (v << 1) | 1, so a test kernel can report pass/fail without ACPI. Reads
 * return all-ones. Only created when configured.
 */
#include "hvkvm/debug_exit.h"

#include <errno.h>
#include <stdlib.h>

#include "hvkvm/bus.h"
#include "hvkvm/platform.h"
#include "hvkvm/util.h"

struct debug_exit {
	/* Host plumbing; no guest-visible state. */
	struct bus *pio;
	uint16_t port; /* first port */
	const struct platform_events *events;
};

static uint64_t debug_exit_read(void *opaque, uint64_t off, unsigned int size)
{
	return ~0ULL;
}

static void debug_exit_write(void *opaque, uint64_t off, unsigned int size,
			     uint64_t value)
{
	struct debug_exit *d = opaque;
	/* The bus already truncated @value to @size bytes. */
	int status = (int)(((uint32_t)value << 1) | 1);

	pr_dbg("debug-exit: guest wrote %#llx", (unsigned long long)value);
	if (d->events && d->events->debug_exit)
		d->events->debug_exit(d->events->opaque, status);
}

static const struct bus_ops debug_exit_ops = {
	.read = debug_exit_read,
	.write = debug_exit_write,
};

int debug_exit_create(struct bus *pio, uint16_t port, unsigned int width,
		      const struct platform_events *events,
		      struct debug_exit **out)
{
	struct debug_exit *d;
	int r;

	if (width != 1 && width != 2 && width != 4)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->pio = pio;
	d->port = port;
	d->events = events;
	r = bus_register(pio, port, width, &debug_exit_ops, d, "debug-exit");
	if (r) {
		free(d);
		return r;
	}
	*out = d;
	return 0;
}

void debug_exit_destroy(struct debug_exit *d)
{
	if (!d)
		return;
	bus_unregister(d->pio, d->port);
	free(d);
}
