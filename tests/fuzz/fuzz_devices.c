// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: every PC platform device on one PIO bus, driven by a
 * byte stream of guest port accesses and host-side events. Checks that no
 * sequence crashes, trips a sanitizer or leaves an IRQ line level the device
 * no longer explains.
 *
 * Input: records of 6 bytes: op, port selector, value (le32).
 *   op bit 7: write; bits 0-1: size 1/2/4/1; bits 4-6 != 0: host event
 *   (6: store the value into guest RAM, e.g. a fw_cfg DMA descriptor).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/acpi_pm.h"
#include "hvkvm/bus.h"
#include "hvkvm/debug_exit.h"
#include "hvkvm/fw_cfg.h"
#include "hvkvm/gmem.h"
#include "hvkvm/i8042.h"
#include "hvkvm/irq.h"
#include "hvkvm/pci.h"
#include "hvkvm/platform.h"
#include "hvkvm/rtc.h"
#include "hvkvm/uart.h"
#include "hvkvm/util.h"

static const uint16_t
	ports[] = {
		0x3f8, 0x3f9, 0x3fa,  0x3fb,  0x3fc,  0x3fd, 0x3fe, 0x3ff,
		0x70,  0x71,  0x60,   0x64,   0x92,   0xcf8, 0xcf9, 0xcfa,
		0xcfc, 0xcfd, 0xcfe,  0xcff,  0x510,  0x511, 0xf4,  0x514,
		0x518, 0x600, 0x601,  0x602,  0x604,  0x605, 0x608, 0x610,
		0x614, 0x61c, 0xc000, 0xc001, 0xc07f, /* the test device's IO BAR */
	};

static int set_line(void *opaque, unsigned int gsi, bool level)
{
	if (gsi >= 24)
		abort();
	return 0;
}

static int msi(void *opaque, uint64_t address, uint32_t data)
{
	return 0;
}

static const struct irq_sink_ops sink_ops = { set_line, msi };
static void ev_none(void *opaque)
{
}
static void ev_exit(void *opaque, int status)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_bar {
	struct bus *pio;
	bool mapped;	 /* as told by bar_update */
	bool registered; /* ... and accepted by the bus */
	uint64_t addr;
};

static uint64_t bar_read(void *opaque, uint64_t off, unsigned int size)
{
	if (off >= 128)
		abort();
	return off;
}

static void bar_write(void *opaque, uint64_t off, unsigned int size, uint64_t v)
{
	if (off >= 128)
		abort();
}

static const struct bus_ops bar_ops = { bar_read, bar_write };

static void bar_update(struct pci_device *dev, unsigned int bar, bool mapped,
		       uint64_t addr)
{
	struct fuzz_bar *fb = dev->opaque;

	if (bar != 0)
		return;
	if (mapped == fb->mapped)
		abort(); /* unmap/map must alternate */
	if (mapped) {
		fb->registered = !bus_register(fb->pio, addr, 128, &bar_ops, fb,
					       "fuzz-bar");
		fb->addr = addr;
	} else {
		if (addr != fb->addr)
			abort(); /* unmap names the old address */
		if (fb->registered)
			bus_unregister(fb->pio, fb->addr);
		fb->registered = false;
	}
	fb->mapped = mapped;
}

static const struct pci_device_ops dev_ops = { .bar_update = bar_update };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned int sizes[4] = { 1, 2, 4, 1 };
	struct irq_sink sink = { &sink_ops, NULL };
	struct platform_events ev = { ev_none, ev_none, ev_exit, NULL };
	struct bus pio;
	struct uart *uart;
	struct rtc *rtc;
	struct i8042 *kbc;
	struct pci_host *pci;
	struct fw_cfg *fw;
	struct acpi_pm *pm;
	struct debug_exit *dx;
	struct pci_device dev;
	struct fuzz_bar fb = { .pio = &pio };
	static uint8_t ram[64 * 1024];
	struct gmem gm;
	uint64_t v;
	size_t i;

	log_set_level(LOG_ERR);
	bus_init(&pio, "pio");
	if (uart_create(&pio, &sink, 0x3f8, 4, -1, &uart) ||
	    rtc_create(&pio, &sink, 8, 256 * MiB, 0, 2, true, &rtc) ||
	    i8042_create(&pio, &sink, &ev, &kbc) ||
	    pci_create(&pio, &sink, &ev, &pci) || fw_cfg_create(&pio, &fw) ||
	    acpi_pm_create(&pio, &sink, 0x600, 9, 5, &ev, &pm) ||
	    debug_exit_create(&pio, 0xf4, 1, &ev, &dx))
		abort();
	fw_cfg_add_file(fw, "etc/test", "hello", 5, NULL);
	gmem_init(&gm);
	if (gmem_add_region(&gm, 0, sizeof(ram), ram, false) ||
	    fw_cfg_enable_dma(fw, &gm))
		abort();
	pci_device_init(&dev, "fuzz", 0x1011, 0x0009, 0x020000, 0x20);
	pci_device_set_bar(&dev, 0, PCI_BAR_IO, 128, false);
	pci_device_set_bar(&dev, 1, PCI_BAR_MEM32, 4096, false);
	pci_device_set_pin(&dev, 1);
	dev.ops = &dev_ops;
	dev.opaque = &fb;
	pci_register_device(pci, &dev, 2, 0);

	for (i = 0; i + 6 <= size; i += 6) {
		uint8_t op = data[i];
		uint16_t port = ports[data[i + 1] % ARRAY_SIZE(ports)];
		uint32_t val = get_le32(&data[i + 2]);
		unsigned int sz = sizes[op & 3];

		switch ((op >> 4) & 7) {
		case 1:
			uart_receive(uart, &data[i + 2], data[i + 1] % 5);
			continue;
		case 2:
			acpi_pm_power_button(pm);
			acpi_pm_gpe_set(pm, val & 63);
			continue;
		case 3:
			rtc_poll(rtc);
			continue;
		case 4:
			pci_set_irq(&dev, val & 1);
			continue;
		case 6:
			memcpy(&ram[(data[i + 1] * 4u) % sizeof(ram)],
			       &data[i + 2], 4);
			continue;
		case 5:
			if (val % 7 == 0) {
				uart_reset(uart);
				rtc_reset(rtc);
				i8042_reset(kbc);
				pci_reset(pci);
				fw_cfg_reset(fw);
				acpi_pm_reset(pm);
			}
			continue;
		default:
			break;
		}
		if (op & 0x80)
			bus_write(&pio, port, sz, val);
		else
			bus_read(&pio, port, sz, &v);
	}

	if (fb.registered)
		bus_unregister(&pio, fb.addr);
	debug_exit_destroy(dx);
	acpi_pm_destroy(pm);
	fw_cfg_destroy(fw);
	pci_destroy(pci);
	i8042_destroy(kbc);
	rtc_destroy(rtc);
	uart_destroy(uart);
	return 0;
}
