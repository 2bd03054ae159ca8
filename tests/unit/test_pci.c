// SPDX-License-Identifier: MIT
/* Unit tests: PCI host (0xcf8/0xcfc), config space semantics, BARs, INTx. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "fake_irq.h"
#include "hvkvm/bus.h"
#include "hvkvm/pci.h"
#include "hvkvm/platform.h"
#include "hvkvm/util.h"

struct env {
	struct bus pio;
	struct fake_irq irq;
	struct platform_events ev;
	unsigned int resets;
	struct pci_host *host;
	struct pci_device dev;
	struct {
		unsigned int bar;
		bool mapped;
		uint64_t addr;
	} log[16];
	unsigned int nr_log;
	unsigned int cfg_writes; /* config_write hook calls */
	unsigned int cfg_off, cfg_size;
	uint32_t cfg_val;
};

static void ev_reset(void *opaque)
{
	struct env *e = opaque;

	e->resets++;
}

static void bar_update(struct pci_device *dev, unsigned int bar, bool mapped,
		       uint64_t addr)
{
	struct env *e = dev->opaque;

	if (e->nr_log < ARRAY_SIZE(e->log)) {
		e->log[e->nr_log].bar = bar;
		e->log[e->nr_log].mapped = mapped;
		e->log[e->nr_log].addr = addr;
	}
	e->nr_log++;
}

static void config_write(struct pci_device *dev, unsigned int off,
			 unsigned int size, uint32_t value)
{
	struct env *e = dev->opaque;

	e->cfg_writes++;
	e->cfg_off = off;
	e->cfg_size = size;
	e->cfg_val = value;
}

static const struct pci_device_ops test_dev_ops = {
	.bar_update = bar_update,
	.config_write = config_write,
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	bus_init(&e->pio, "pio");
	fake_irq_init(&e->irq);
	e->ev.reset = ev_reset;
	e->ev.opaque = e;
	assert_int_equal(pci_create(&e->pio, &e->irq.sink, &e->ev, &e->host),
			 0);
	/* A test device: DEC 21140-like IDs, IO BAR 0, MEM BAR 1, INTA. */
	pci_device_init(&e->dev, "test", 0x1011, 0x0009, 0x020000, 0x20);
	assert_int_equal(pci_device_set_bar(&e->dev, 0, PCI_BAR_IO, 128, false),
			 0);
	assert_int_equal(
		pci_device_set_bar(&e->dev, 1, PCI_BAR_MEM32, 4096, false), 0);
	pci_device_set_pin(&e->dev, 1);
	memset(&e->dev.wmask[0x40], 0xff, 16); /* scratch registers */
	e->dev.ops = &test_dev_ops;
	e->dev.opaque = e;
	assert_int_equal(pci_register_device(e->host, &e->dev, 3, 0), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	pci_destroy(e->host);
	free(e);
	return 0;
}

static void cfg_addr(struct env *e, unsigned int bus, unsigned int devfn,
		     unsigned int off)
{
	bus_write(&e->pio, PCI_CONFIG_ADDRESS, 4,
		  0x80000000u | bus << 16 | devfn << 8 | (off & 0xfc));
}

static uint32_t cfg_read(struct env *e, unsigned int devfn, unsigned int off,
			 unsigned int size)
{
	uint64_t v;

	cfg_addr(e, 0, devfn, off);
	assert_true(bus_read(&e->pio, PCI_CONFIG_DATA + (off & 3), size, &v));
	return (uint32_t)v;
}

static void cfg_write(struct env *e, unsigned int devfn, unsigned int off,
		      unsigned int size, uint32_t v)
{
	cfg_addr(e, 0, devfn, off);
	assert_true(bus_write(&e->pio, PCI_CONFIG_DATA + (off & 3), size, v));
}

#define DEV PCI_DEVFN(3, 0)

static void test_pci_builtin_bridges(void **state)
{
	struct env *e = *state;

	assert_int_equal(cfg_read(e, 0, PCI_VENDOR_ID, 4), 0x12378086);
	assert_int_equal(cfg_read(e, 0, PCI_CLASS_DEVICE, 2), 0x0600);
	assert_int_equal(cfg_read(e, PCI_DEVFN(1, 0), PCI_VENDOR_ID, 4),
			 0x71108086);
	assert_int_equal(cfg_read(e, PCI_DEVFN(1, 0), PCI_CLASS_DEVICE, 2),
			 0x0601);
	/* PIRQ routes start at the documented defaults. */
	assert_int_equal(cfg_read(e, PCI_DEVFN(1, 0), PCI_PIIX4_PIRQRC, 4),
			 0x0b0b0a0a);
	/* The address latch reads back. */
	uint64_t v;
	cfg_addr(e, 0, DEV, 0x10);
	assert_true(bus_read(&e->pio, PCI_CONFIG_ADDRESS, 4, &v));
	assert_int_equal(v, 0x80001810);
}

/* arch/x86/pci/direct.c pci_check_type1() + pci_sanity_check(). */
static void test_pci_linux_type1_probe(void **state)
{
	struct env *e = *state;
	uint64_t tmp, v;
	unsigned int devfn;
	bool found = false;

	assert_true(bus_write(&e->pio, 0xcfb, 1, 0x01));
	assert_true(bus_read(&e->pio, PCI_CONFIG_ADDRESS, 4, &tmp));
	assert_true(bus_write(&e->pio, PCI_CONFIG_ADDRESS, 4, 0x80000000));
	assert_true(bus_read(&e->pio, PCI_CONFIG_ADDRESS, 4, &v));
	assert_int_equal(v, 0x80000000);
	/* Sanity check: a host bridge or an Intel device on bus 0. */
	for (devfn = 0; devfn < 0x100 && !found; devfn += 8) {
		uint32_t class = cfg_read(e, devfn, PCI_CLASS_DEVICE, 2);
		uint32_t vendor = cfg_read(e, devfn, PCI_VENDOR_ID, 2);

		found = class == 0x0600 || vendor == 0x8086;
	}
	assert_true(found);
	assert_true(bus_write(&e->pio, PCI_CONFIG_ADDRESS, 4, tmp));
	/* The 0xcfb byte write left no trace and reset nothing. */
	assert_int_equal(e->resets, 0);
	/* Type 2 probe bytes at 0xcf8/0xcfa do not move the latch. */
	bus_write(&e->pio, PCI_CONFIG_ADDRESS, 4, 0x80000800);
	assert_true(bus_write(&e->pio, 0xcf8, 1, 0x00));
	assert_true(bus_write(&e->pio, 0xcfa, 1, 0x00));
	assert_true(bus_read(&e->pio, PCI_CONFIG_ADDRESS, 4, &v));
	assert_int_equal(v, 0x80000800);
	assert_true(bus_read(&e->pio, 0xcf8, 1, &v));
	assert_int_equal(v, 0xff);
}

static void test_pci_absent_devices_read_all_ones(void **state)
{
	struct env *e = *state;
	uint64_t v;

	assert_int_equal(cfg_read(e, PCI_DEVFN(5, 0), PCI_VENDOR_ID, 2),
			 0xffff);
	assert_int_equal(cfg_read(e, PCI_DEVFN(5, 0), 0, 4), 0xffffffff);
	assert_int_equal(cfg_read(e, PCI_DEVFN(3, 1), 0, 1), 0xff);
	/* Other buses: nothing. */
	cfg_addr(e, 1, DEV, 0);
	bus_read(&e->pio, PCI_CONFIG_DATA, 4, &v);
	assert_int_equal(v, 0xffffffff);
	/* Enable bit clear: no config cycle. */
	bus_write(&e->pio, PCI_CONFIG_ADDRESS, 4, DEV << 8);
	bus_read(&e->pio, PCI_CONFIG_DATA, 2, &v);
	assert_int_equal(v, 0xffff);
	/* Writes to absent devices are dropped without harm. */
	cfg_write(e, PCI_DEVFN(7, 0), PCI_COMMAND, 2, 0xffff);
	assert_int_equal(cfg_read(e, PCI_DEVFN(7, 0), PCI_COMMAND, 2), 0xffff);
}

static void test_pci_config_every_width_and_offset(void **state)
{
	struct env *e = *state;
	unsigned int i;

	cfg_write(e, DEV, 0x40, 4, 0x44332211);
	for (i = 0; i < 4; i++)
		assert_int_equal(cfg_read(e, DEV, 0x40 + i, 1), 0x11 * (i + 1));
	assert_int_equal(cfg_read(e, DEV, 0x40, 2), 0x2211);
	assert_int_equal(cfg_read(e, DEV, 0x41, 2), 0x3322);
	assert_int_equal(cfg_read(e, DEV, 0x42, 2), 0x4433);
	/* A word at 0xcff spills past the data window: upper byte floats. */
	assert_int_equal(cfg_read(e, DEV, 0x43, 2), 0xff44);
	assert_int_equal(cfg_read(e, DEV, 0x40, 4), 0x44332211);
	/* Byte and word writes at every offset touch only their bytes. */
	cfg_write(e, DEV, 0x42, 1, 0xaa);
	assert_int_equal(cfg_read(e, DEV, 0x40, 4), 0x44aa2211);
	cfg_write(e, DEV, 0x41, 2, 0xccbb);
	assert_int_equal(cfg_read(e, DEV, 0x40, 4), 0x44ccbb11);
	cfg_write(e, DEV, 0x43, 1, 0xdd);
	assert_int_equal(cfg_read(e, DEV, 0x40, 4), 0xddccbb11);
	/* The host-side accessor agrees. */
	assert_int_equal(pci_config_read(e->host, DEV, 0x41, 2), 0xccbb);
	/* The device hears about every write, after the masks applied. */
	assert_int_equal(e->cfg_writes, 4);
	assert_int_equal(e->cfg_off, 0x43);
	assert_int_equal(e->cfg_size, 1);
	assert_int_equal(e->cfg_val, 0xdd);
	pci_config_write(e->host, DEV, 0x44, 4, 0x12345678);
	assert_int_equal(e->cfg_writes, 5);
	assert_int_equal(cfg_read(e, DEV, 0x44, 4), 0x12345678);
}

static void test_pci_readonly_and_w1c_bits(void **state)
{
	struct env *e = *state;

	cfg_write(e, DEV, PCI_VENDOR_ID, 4, 0);
	assert_int_equal(cfg_read(e, DEV, PCI_VENDOR_ID, 4), 0x00091011);
	cfg_write(e, DEV, PCI_CLASS_PROG, 1, 0x55);
	assert_int_equal(cfg_read(e, DEV, 8, 4), 0x02000020);
	/* Command: only implemented bits stick. */
	cfg_write(e, DEV, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(cfg_read(e, DEV, PCI_COMMAND, 2),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
				 PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
				 PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	assert_true(pci_bus_master_enabled(&e->dev));
	/* Status: error bits clear by writing 1, others ignore writes. */
	put_le16(&e->dev.config[PCI_STATUS],
		 PCI_STATUS_DEVSEL_MEDIUM | PCI_STATUS_REC_MASTER_ABORT |
			 PCI_STATUS_SIG_TARGET_ABORT);
	cfg_write(e, DEV, PCI_STATUS, 2, 0);
	assert_int_equal(cfg_read(e, DEV, PCI_STATUS, 2),
			 PCI_STATUS_DEVSEL_MEDIUM |
				 PCI_STATUS_REC_MASTER_ABORT |
				 PCI_STATUS_SIG_TARGET_ABORT);
	cfg_write(e, DEV, PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT | 0x0600);
	assert_int_equal(cfg_read(e, DEV, PCI_STATUS, 2),
			 PCI_STATUS_DEVSEL_MEDIUM |
				 PCI_STATUS_SIG_TARGET_ABORT);
	/* A dword write to command+status: command set, status W1C. */
	cfg_write(e, DEV, PCI_COMMAND, 4, 0x08000000 | PCI_COMMAND_IO);
	assert_int_equal(cfg_read(e, DEV, PCI_COMMAND, 4),
			 PCI_STATUS_DEVSEL_MEDIUM << 16 | PCI_COMMAND_IO);
	/* Interrupt pin is read-only, line is not. */
	cfg_write(e, DEV, PCI_INTERRUPT_LINE, 2, 0x0405);
	assert_int_equal(cfg_read(e, DEV, PCI_INTERRUPT_LINE, 2), 0x0105);
}

static void test_pci_bar_sizing(void **state)
{
	struct env *e = *state;
	unsigned int i;

	cfg_write(e, DEV, 0x10, 4, 0xffffffff);
	assert_int_equal(cfg_read(e, DEV, 0x10, 4), 0xffffff81);
	cfg_write(e, DEV, 0x14, 4, 0xffffffff);
	assert_int_equal(cfg_read(e, DEV, 0x14, 4), 0xfffff000);
	/* Unimplemented BARs and the ROM BAR read 0 after all-ones. */
	for (i = 0x18; i <= 0x30; i += 4) {
		cfg_write(e, DEV, i, 4, 0xffffffff);
		assert_int_equal(cfg_read(e, DEV, i, 4), 0);
	}
	/* Sizing with decode off told the device nothing. */
	assert_int_equal(e->nr_log, 0);
	/* Bad declarations are refused. */
	assert_int_equal(pci_device_set_bar(&e->dev, 6, PCI_BAR_IO, 16, false),
			 -EINVAL);
	assert_int_equal(pci_device_set_bar(&e->dev, 2, PCI_BAR_IO, 24, false),
			 -EINVAL);
	assert_int_equal(pci_device_set_bar(&e->dev, 2, PCI_BAR_MEM32, 8,
					    false),
			 -EINVAL);
}

static void test_pci_bar_map_callbacks(void **state)
{
	struct env *e = *state;

	cfg_write(e, DEV, 0x10, 4, 0xc000);
	cfg_write(e, DEV, 0x14, 4, 0xfebf0000);
	assert_int_equal(e->nr_log, 0);
	/* IO enable maps BAR 0 only. */
	cfg_write(e, DEV, PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_int_equal(e->nr_log, 1);
	assert_int_equal(e->log[0].bar, 0);
	assert_true(e->log[0].mapped);
	assert_int_equal(e->log[0].addr, 0xc000);
	/* Moving a live BAR: unmap old, map new. */
	cfg_write(e, DEV, 0x10, 2, 0xc101);
	assert_int_equal(e->nr_log, 3);
	assert_false(e->log[1].mapped);
	assert_int_equal(e->log[1].addr, 0xc000);
	assert_true(e->log[2].mapped);
	assert_int_equal(e->log[2].addr, 0xc100);
	/* Memory enable maps BAR 1; turning IO off unmaps BAR 0. */
	cfg_write(e, DEV, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(e->nr_log, 5);
	assert_int_equal(e->log[3].bar, 0);
	assert_false(e->log[3].mapped);
	assert_int_equal(e->log[4].bar, 1);
	assert_true(e->log[4].mapped);
	assert_int_equal(e->log[4].addr, 0xfebf0000);
	/* Sizing while decoding: the all-ones pattern is not an address. */
	cfg_write(e, DEV, 0x14, 4, 0xffffffff);
	assert_int_equal(e->nr_log, 6);
	assert_false(e->log[5].mapped);
	/* pci_reset unmaps what is left and clears the BARs. */
	cfg_write(e, DEV, 0x14, 4, 0xfebf0000);
	assert_int_equal(e->nr_log, 7);
	pci_reset(e->host);
	assert_int_equal(e->nr_log, 8);
	assert_false(e->log[7].mapped);
	assert_int_equal(cfg_read(e, DEV, 0x14, 4), 0);
	assert_int_equal(cfg_read(e, DEV, PCI_COMMAND, 2), 0);
}

static void test_pci_multifunction_bit(void **state)
{
	struct env *e = *state;
	struct pci_device ide;

	assert_int_equal(cfg_read(e, PCI_DEVFN(1, 0), PCI_HEADER_TYPE, 1), 0);
	pci_device_init(&ide, "ide", 0x8086, 0x7111, 0x01018a, 1);
	assert_int_equal(pci_register_device(e->host, &ide, 1, 1), 0);
	assert_int_equal(pci_register_device(e->host, &ide, 1, 1), -EEXIST);
	assert_int_equal(pci_register_device(e->host, &ide, 32, 0), -EINVAL);
	assert_int_equal(cfg_read(e, PCI_DEVFN(1, 0), PCI_HEADER_TYPE, 1),
			 PCI_HEADER_MULTI_FUNCTION);
	assert_int_equal(cfg_read(e, PCI_DEVFN(1, 1), PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cfg_read(e, 0, PCI_HEADER_TYPE, 1), 0);
}

static void test_pci_intx_routing(void **state)
{
	struct env *e = *state;
	struct pci_device other;
	unsigned int gsi = pci_intx_gsi(3, 1); /* PIRQ (3 + 1 - 1) & 3 = 3 */

	assert_int_equal(gsi, 19);
	assert_int_equal(pci_device_gsi(&e->dev), 19);
	assert_int_equal(pci_device_isa_irq(&e->dev), 11);
	assert_int_equal(cfg_read(e, DEV, PCI_INTERRUPT_LINE, 1), 11);

	pci_set_irq(&e->dev, true);
	assert_true(e->irq.level[19]);
	assert_true(e->irq.level[11]);
	assert_true(cfg_read(e, DEV, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);

	/* A second device on the same PIRQ (slot 7 INTA -> PIRQ 3). */
	pci_device_init(&other, "other", 0x1234, 0x5678, 0xff0000, 0);
	pci_device_set_pin(&other, 1);
	assert_int_equal(pci_register_device(e->host, &other, 7, 0), 0);
	assert_int_equal(pci_device_gsi(&other), 19);
	pci_set_irq(&other, true);
	pci_set_irq(&e->dev, false);
	assert_true(e->irq.level[19]); /* still held by "other" */
	assert_false(cfg_read(e, DEV, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci_set_irq(&other, false);
	assert_false(e->irq.level[19]);
	assert_false(e->irq.level[11]);
	assert_int_equal(e->irq.raises[19], 1);

	/* INTX_DISABLE masks the pin but not the status bit. */
	cfg_write(e, DEV, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	pci_set_irq(&e->dev, true);
	assert_false(e->irq.level[19]);
	assert_true(cfg_read(e, DEV, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg_write(e, DEV, PCI_COMMAND, 2, 0);
	assert_true(e->irq.level[19]);

	/* PIIX4 route register: disabling PIRQD drops the ISA path only. */
	cfg_write(e, PCI_DEVFN(1, 0), PCI_PIIX4_PIRQRC + 3, 1, 0x80);
	assert_false(e->irq.level[11]);
	assert_true(e->irq.level[19]);
	assert_int_equal(pci_device_isa_irq(&e->dev), -1);
	cfg_write(e, PCI_DEVFN(1, 0), PCI_PIIX4_PIRQRC + 3, 1, 0x05);
	assert_true(e->irq.level[5]);
	pci_set_irq(&e->dev, false);
	assert_false(e->irq.level[5]);
	assert_false(e->irq.level[19]);
}

static void test_pci_reset_control_register(void **state)
{
	struct env *e = *state;
	uint64_t v;

	assert_true(bus_write(&e->pio, PCI_RESET_CONTROL, 1, 0x02));
	assert_int_equal(e->resets, 0);
	assert_true(bus_read(&e->pio, PCI_RESET_CONTROL, 1, &v));
	assert_int_equal(v, 0x02);
	assert_true(bus_write(&e->pio, PCI_RESET_CONTROL, 1, 0x06));
	assert_int_equal(e->resets, 1);
	/* RST_CPU self-clears, so the next write with it resets again. */
	assert_true(bus_read(&e->pio, PCI_RESET_CONTROL, 1, &v));
	assert_int_equal(v, 0x02);
	assert_true(bus_write(&e->pio, PCI_RESET_CONTROL, 1, 0x0e));
	assert_int_equal(e->resets, 2);
	/* A dword write to 0xcf8 is the address latch, never a reset. */
	bus_write(&e->pio, PCI_CONFIG_ADDRESS, 4, 0x80000400);
	assert_int_equal(e->resets, 2);
}

static void test_pci_capability_list(void **state)
{
	struct env *e = *state;

	assert_false(cfg_read(e, DEV, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(pci_device_add_capability(&e->dev, 0x80, 0x01, 8), 0);
	assert_int_equal(pci_device_add_capability(&e->dev, 0x90, 0x05, 16), 0);
	assert_int_equal(pci_device_add_capability(&e->dev, 0x92, 0x09, 4),
			 -EINVAL);
	assert_int_equal(pci_device_add_capability(&e->dev, 0x40, 0x09, 4),
			 -EEXIST); /* scratch registers live there */
	assert_true(cfg_read(e, DEV, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_read(e, DEV, PCI_CAPABILITY_LIST, 1), 0x90);
	assert_int_equal(cfg_read(e, DEV, 0x90, 2), 0x8005);
	assert_int_equal(cfg_read(e, DEV, 0x80, 2), 0x0001);
}

/* ---- i440FX PAM ---- */

struct pam_log {
	unsigned int calls;
	uint8_t pam[PCI_PAM_NR_REGS];
};

static void pam_changed(void *opaque, const uint8_t *pam)
{
	struct pam_log *l = opaque;

	l->calls++;
	memcpy(l->pam, pam, PCI_PAM_NR_REGS);
}

static void test_pci_pam_decoding(void **state)
{
	uint8_t pam[PCI_PAM_NR_REGS] = { 0x10, 0x31, 0x02, 0, 0, 0, 0x20 };
	uint32_t base, size;
	unsigned int seg;

	(void)state;
	pci_pam_segment(0, &base, &size);
	assert_int_equal(base, 0xc0000);
	assert_int_equal(size, 0x4000);
	pci_pam_segment(11, &base, &size);
	assert_int_equal(base, 0xec000);
	assert_int_equal(size, 0x4000);
	pci_pam_segment(12, &base, &size);
	assert_int_equal(base, 0xf0000);
	assert_int_equal(size, 0x10000);
	/* Segments tile 0xC0000-0xFFFFF without gaps. */
	for (seg = 0, base = 0xc0000; seg < PCI_PAM_SEGMENTS; seg++) {
		uint32_t b;

		pci_pam_segment(seg, &b, &size);
		assert_int_equal(b, base);
		base += size;
	}
	assert_int_equal(base, 0x100000);
	assert_int_equal(pci_pam_mode(pam, 12), PCI_PAM_READ_ONLY);
	assert_int_equal(pci_pam_mode(pam, 0), PCI_PAM_READ_ONLY);
	assert_int_equal(pci_pam_mode(pam, 1), PCI_PAM_READ_WRITE);
	assert_int_equal(pci_pam_mode(pam, 2), PCI_PAM_WRITE_ONLY);
	assert_int_equal(pci_pam_mode(pam, 3), PCI_PAM_PCI);
	assert_int_equal(pci_pam_mode(pam, 10), PCI_PAM_PCI);
	assert_int_equal(pci_pam_mode(pam, 11), PCI_PAM_WRITE_ONLY);
}

/* SeaBIOS's shadowing (src/fw/shadow.c): dwords 0x58/0x5c, then bytes. */
static void test_pci_pam_seabios_sequence(void **state)
{
	struct env *e = *state;
	struct pam_log l = { 0 };
	uint32_t lo, hi;
	unsigned int seg;

	pci_set_pam_handler(e->host, pam_changed, &l);
	lo = cfg_read(e, 0, 0x58, 4);
	hi = cfg_read(e, 0, 0x5c, 4);
	assert_int_equal(lo & 0xffffff00, 0); /* PAM0-2 reset to 0 */
	assert_int_equal(hi, 0);
	/* make_bios_writable: PAM1-6 = 0x33, PAM0 = 0x30. */
	cfg_write(e, 0, 0x58, 4, (lo & 0xff) | 0x33333000u);
	assert_int_equal(l.calls, 1);
	cfg_write(e, 0, 0x5c, 4, 0x33333333u);
	assert_int_equal(l.calls, 2);
	for (seg = 0; seg < PCI_PAM_SEGMENTS; seg++)
		assert_int_equal(pci_pam_mode(l.pam, seg), PCI_PAM_READ_WRITE);
	/* The same values again: nothing to remap. */
	cfg_write(e, 0, 0x5c, 4, 0x33333333u);
	assert_int_equal(l.calls, 2);
	/* make_bios_readonly: 0xF0000 and 0xC0000-0xC7FFF read-only. */
	cfg_write(e, 0, 0x59, 1, 0x10);
	cfg_write(e, 0, 0x5a, 1, 0x11);
	assert_int_equal(l.calls, 4);
	assert_int_equal(pci_pam_mode(l.pam, 12), PCI_PAM_READ_ONLY);
	assert_int_equal(pci_pam_mode(l.pam, 0), PCI_PAM_READ_ONLY);
	assert_int_equal(pci_pam_mode(l.pam, 1), PCI_PAM_READ_ONLY);
	assert_int_equal(pci_pam_mode(l.pam, 2), PCI_PAM_READ_WRITE);
	/* Reserved bits stay clear. */
	cfg_write(e, 0, 0x59, 1, 0xff);
	assert_int_equal(cfg_read(e, 0, 0x59, 1), 0x30);
	cfg_write(e, 0, 0x5f, 1, 0xcc);
	assert_int_equal(cfg_read(e, 0, 0x5f, 1), 0x00);
	/* Reset: all PCI (the ROM shows again), and the mapper is told. */
	l.calls = 0;
	pci_reset(e->host);
	assert_int_equal(l.calls, 1);
	for (seg = 0; seg < PCI_PAM_SEGMENTS; seg++)
		assert_int_equal(pci_pam_mode(l.pam, seg), PCI_PAM_PCI);
	assert_int_equal(cfg_read(e, 0, 0x5c, 4), 0);
	pci_set_pam_handler(e->host, NULL, NULL);
	cfg_write(e, 0, 0x59, 1, 0x30);
	assert_int_equal(l.calls, 1);
	/* SeaBIOS's QEMU check: subsystem 1af4:1100 on 00:00.0. */
	assert_int_equal(cfg_read(e, 0, PCI_SUBSYSTEM_VENDOR_ID, 4),
			 0x11001af4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pci_builtin_bridges, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pci_linux_type1_probe,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_pci_absent_devices_read_all_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_pci_config_every_width_and_offset, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_pci_readonly_and_w1c_bits,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_bar_sizing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pci_bar_map_callbacks,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_multifunction_bit,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_intx_routing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pci_reset_control_register,
						setup, teardown),
		cmocka_unit_test(test_pci_pam_decoding),
		cmocka_unit_test_setup_teardown(test_pci_pam_seabios_sequence,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_capability_list, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
