// SPDX-License-Identifier: MIT
/*
 * PCI host: configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2) at
 * 0xcf8/0xcfc, bus 0 only; reset control register 0xcf9 (PIIX4 datasheet
 * 4.1.17, "RC"); the Intel 440FX host bridge (8086:1237) at 00:00.0 and the
 * PIIX4 PCI-to-ISA bridge (8086:7110) at 00:01.0 with PIRQ route control
 * registers 0x60..0x63 (PIIX4 datasheet 4.1.10). The 440FX's PAM registers
 * (0x59-0x5f) are decoded here and applied by whoever maps guest memory
 * (pci_set_pam_handler(): the firmware stage).
 *
 * Not implemented: other buses and bridges (type 1 accesses read all-ones),
 * 64-bit and expansion ROM BARs, the 440FX's SMRAM and DRB effects (plain
 * storage), PIIX4 ISA functions beyond PIRQ routing,
 * parity/SERR signalling, MSI delivery (capabilities are only a list).
 */
#include "hvkvm/pci.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/bus.h"
#include "hvkvm/irq.h"
#include "hvkvm/platform.h"
#include "hvkvm/util.h"

#define CFG_ADDR_ENABLE 0x80000000u /* 0xcf8 bit 31 */
#define CFG_ADDR_BUS(a) (((a) >> 16) & 0xff)
#define CFG_ADDR_DEVFN(a) (((a) >> 8) & 0xff)
#define CFG_ADDR_REG(a) ((a)&0xfc)

#define RC_SYS_RST 0x02 /* 0xcf9: full vs soft reset */
#define RC_RST_CPU 0x04 /* 0xcf9: 0->1 starts the reset */
#define RC_FULL_RST 0x08

#define NR_DEVFN 256
#define NR_GSIS 24		/* IOAPIC pins */
#define BAR_IO_LIMIT 0x10000ULL /* x86 port space */

struct pci_host {
	/* Guest-visible registers. */
	uint32_t config_address; /* 0xcf8 latch */
	uint8_t reset_control;	 /* 0xcf9 */
	/* Devices. */
	struct pci_device *devs[NR_DEVFN]; /* by devfn; bus 0 only */
	struct pci_device i440fx;	   /* 00:00.0 */
	struct pci_device piix4;	   /* 00:01.0 */
	/* INTx: leaf lock, never held while calling out except irq_set_line. */
	pthread_mutex_t irq_lock;
	unsigned int pirq_count[PCI_NUM_PIRQS]; /* devices asserting */
	uint32_t gsi_level; /* bitmap of GSIs we drive high */
	/* Plumbing. */
	pthread_mutex_t lock; /* config space and 0xcf8/0xcf9 */
	struct bus *pio;
	struct irq_sink *irq;
	const struct platform_events *events;
	pci_pam_fn pam_fn; /* PAM changed: remap 0xC0000-0xFFFFF */
	void *pam_opaque;
};

/* ---- helpers ---------------------------------------------------------- */

static uint16_t pci_cfg_get16(const struct pci_device *dev, unsigned int off)
{
	return get_le16(&dev->config[off]);
}

static uint32_t pci_cfg_get32(const struct pci_device *dev, unsigned int off)
{
	return get_le32(&dev->config[off]);
}

uint16_t pci_command(const struct pci_device *dev)
{
	uint8_t lo =
		__atomic_load_n(&dev->config[PCI_COMMAND], __ATOMIC_RELAXED);
	uint8_t hi = __atomic_load_n(&dev->config[PCI_COMMAND + 1],
				     __ATOMIC_RELAXED);

	return (uint16_t)(lo | hi << 8);
}

bool pci_bus_master_enabled(const struct pci_device *dev)
{
	return pci_command(dev) & PCI_COMMAND_MASTER;
}

/* The ISA IRQ PIRQ @pirq reaches per the PIIX4 route register, or -1. */
static int pci_host_pirq_isa(struct pci_host *host, unsigned int pirq)
{
	const uint8_t *reg = &host->piix4.config[PCI_PIIX4_PIRQRC + pirq];
	uint8_t r = __atomic_load_n(reg, __ATOMIC_RELAXED);

	if (r & PCI_PIRQRC_DISABLE)
		return -1;
	r &= 0x0f;
	/* PIIX4: 0-2, 8 and 13 are reserved encodings. */
	if (r < 3 || r == 8 || r == 13)
		return -1;
	return r;
}

static int pci_device_pirq(const struct pci_device *dev)
{
	unsigned int pin = dev->config[PCI_INTERRUPT_PIN];

	if (pin < 1 || pin > 4)
		return -1;
	return (int)pci_pirq_of(PCI_SLOT(dev->devfn), pin);
}

int pci_device_gsi(const struct pci_device *dev)
{
	int pirq = pci_device_pirq(dev);

	return pirq < 0 ? -1 : PCI_INTX_GSI_BASE + pirq;
}

int pci_device_isa_irq(const struct pci_device *dev)
{
	int pirq = pci_device_pirq(dev);

	if (pirq < 0 || !dev->host)
		return -1;
	return pci_host_pirq_isa(dev->host, (unsigned int)pirq);
}

/*
 * Recompute every line we drive from the PIRQ counts: IOAPIC pins 16..19
 * and the ISA IRQs the PIIX4 routes PIRQs to. irq_lock held.
 */
static void pci_host_update_irqs(struct pci_host *host)
{
	uint32_t level = 0;
	unsigned int p, gsi;

	for (p = 0; p < PCI_NUM_PIRQS; p++) {
		int isa = pci_host_pirq_isa(host, p);

		if (!host->pirq_count[p])
			continue;
		level |= 1u << (PCI_INTX_GSI_BASE + p);
		if (isa >= 0)
			level |= 1u << isa;
	}
	for (gsi = 0; gsi < NR_GSIS; gsi++) {
		uint32_t bit = 1u << gsi;

		if ((level ^ host->gsi_level) & bit)
			irq_set_line(host->irq, gsi, level & bit);
	}
	host->gsi_level = level;
}

/* Fold the device's INTx level and INTX_DISABLE into its PIRQ count. */
static void pci_device_update_intx(struct pci_device *dev)
{
	struct pci_host *host = dev->host;
	bool want = dev->intx_level &&
		    !(pci_command(dev) & PCI_COMMAND_INTX_DISABLE);
	int pirq = pci_device_pirq(dev);

	if (pirq < 0 || want == dev->intx_asserted)
		return;
	dev->intx_asserted = want;
	if (want)
		host->pirq_count[pirq]++;
	else
		host->pirq_count[pirq]--;
	pci_host_update_irqs(host);
}

void pci_set_irq(struct pci_device *dev, bool level)
{
	struct pci_host *host = dev->host;

	if (!host)
		return;
	pthread_mutex_lock(&host->irq_lock);
	__atomic_store_n(&dev->intx_level, level, __ATOMIC_RELAXED);
	pci_device_update_intx(dev);
	pthread_mutex_unlock(&host->irq_lock);
}

/* ---- BAR decoding ----------------------------------------------------- */

/* Where BAR @i decodes now, per command register and BAR value. */
static bool pci_bar_decode(const struct pci_device *dev, unsigned int i,
			   uint64_t *addr)
{
	const struct pci_bar *bar = &dev->bars[i];
	uint16_t cmd = pci_cfg_get16(dev, PCI_COMMAND);
	uint32_t v = pci_cfg_get32(dev, PCI_BASE_ADDRESS_0 + 4 * i);
	uint64_t a;

	switch (bar->type) {
	case PCI_BAR_IO:
		if (!(cmd & PCI_COMMAND_IO))
			return false;
		a = v & ~3u;
		if (a + bar->size > BAR_IO_LIMIT)
			return false;
		break;
	case PCI_BAR_MEM32:
		if (!(cmd & PCI_COMMAND_MEMORY))
			return false;
		a = v & ~0xfu;
		/* All-ones left behind by sizing: not a real address. */
		if (a + bar->size > (1ULL << 32) ||
		    a == (uint32_t) ~(bar->size - 1))
			return false;
		break;
	default:
		return false;
	}
	if (!a)
		return false;
	*addr = a;
	return true;
}

/* Tell the device about BARs whose decoding changed. Host lock held. */
static void pci_device_update_bars(struct pci_device *dev)
{
	unsigned int i;

	for (i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *bar = &dev->bars[i];
		uint64_t addr = 0;
		bool mapped = pci_bar_decode(dev, i, &addr);

		if (mapped == bar->mapped && (!mapped || addr == bar->addr))
			continue;
		if (bar->mapped && dev->ops && dev->ops->bar_update)
			dev->ops->bar_update(dev, i, false, bar->addr);
		bar->mapped = mapped;
		bar->addr = addr;
		if (mapped && dev->ops && dev->ops->bar_update)
			dev->ops->bar_update(dev, i, true, addr);
	}
}

/* ---- config space ----------------------------------------------------- */

/* Read-time adjustments: multi-function bit, INTx status. */
static uint8_t pci_config_read_byte(struct pci_host *host,
				    struct pci_device *dev, unsigned int off)
{
	uint8_t v = dev->config[off];
	unsigned int slot = PCI_SLOT(dev->devfn), fn;

	if (off == PCI_HEADER_TYPE && PCI_FUNC(dev->devfn) == 0) {
		for (fn = 1; fn < 8; fn++)
			if (host->devs[PCI_DEVFN(slot, fn)])
				v |= PCI_HEADER_MULTI_FUNCTION;
	} else if (off == PCI_STATUS &&
		   __atomic_load_n(&dev->intx_level, __ATOMIC_RELAXED)) {
		v |= PCI_STATUS_INTERRUPT;
	}
	return v;
}

static uint32_t pci_config_read_locked(struct pci_host *host, uint8_t devfn,
				       unsigned int off, unsigned int size)
{
	struct pci_device *dev = host->devs[devfn];
	uint32_t v = 0;
	unsigned int i;

	if (!dev)
		return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	for (i = 0; i < size; i++) {
		uint8_t b = off + i < PCI_CONFIG_SIZE ?
				    pci_config_read_byte(host, dev, off + i) :
				    0xff;

		v |= (uint32_t)b << (8 * i);
	}
	return v;
}

static void pci_config_write_locked(struct pci_host *host, uint8_t devfn,
				    unsigned int off, unsigned int size,
				    uint32_t value)
{
	struct pci_device *dev = host->devs[devfn];
	bool cmd_touched = false, bar_touched = false, route_touched = false;
	bool pam_changed = false;
	unsigned int i;

	if (!dev)
		return;
	for (i = 0; i < size && off + i < PCI_CONFIG_SIZE; i++) {
		unsigned int o = off + i;
		uint8_t b = (uint8_t)(value >> (8 * i));
		uint8_t wm = dev->wmask[o], w1c = dev->w1cmask[o];
		uint8_t nv = (uint8_t)((dev->config[o] & ~wm) | (b & wm));

		nv &= (uint8_t) ~(b & w1c);
		if (dev == &host->i440fx && o >= PCI_I440FX_PAM0 &&
		    o < PCI_I440FX_PAM0 + PCI_PAM_NR_REGS &&
		    nv != dev->config[o])
			pam_changed = true;
		__atomic_store_n(&dev->config[o], nv, __ATOMIC_RELAXED);
		if (o == PCI_COMMAND || o == PCI_COMMAND + 1)
			cmd_touched = true;
		else if (o >= PCI_BASE_ADDRESS_0 && o < PCI_BASE_ADDRESS_0 + 24)
			bar_touched = true;
		else if (dev == &host->piix4 && o >= PCI_PIIX4_PIRQRC &&
			 o < PCI_PIIX4_PIRQRC + PCI_NUM_PIRQS)
			route_touched = true;
	}
	if (cmd_touched || bar_touched)
		pci_device_update_bars(dev);
	if (cmd_touched) {
		pthread_mutex_lock(&host->irq_lock);
		pci_device_update_intx(dev);
		pthread_mutex_unlock(&host->irq_lock);
	}
	if (route_touched) {
		pthread_mutex_lock(&host->irq_lock);
		pci_host_update_irqs(host);
		pthread_mutex_unlock(&host->irq_lock);
	}
	if (pam_changed && host->pam_fn)
		host->pam_fn(host->pam_opaque,
			     &host->i440fx.config[PCI_I440FX_PAM0]);
	if (dev->ops && dev->ops->config_write)
		dev->ops->config_write(dev, off, size, value);
}

uint32_t pci_config_read(struct pci_host *host, uint8_t devfn, unsigned int off,
			 unsigned int size)
{
	uint32_t v;

	pthread_mutex_lock(&host->lock);
	v = pci_config_read_locked(host, devfn, off, size);
	pthread_mutex_unlock(&host->lock);
	return v;
}

void pci_config_write(struct pci_host *host, uint8_t devfn, unsigned int off,
		      unsigned int size, uint32_t value)
{
	pthread_mutex_lock(&host->lock);
	pci_config_write_locked(host, devfn, off, size, value);
	pthread_mutex_unlock(&host->lock);
}

/* ---- register handlers: 0xcf8..0xcfb and 0xcfc..0xcff ----------------- */

static uint64_t pci_addr_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pci_host *host = opaque;
	uint64_t v = ~0ULL;

	pthread_mutex_lock(&host->lock);
	if (off == 0 && size == 4)
		v = host->config_address;
	else if (off == 1 && size == 1)
		v = host->reset_control;
	pthread_mutex_unlock(&host->lock);
	return v;
}

static void pci_addr_write(void *opaque, uint64_t off, unsigned int size,
			   uint64_t value)
{
	struct pci_host *host = opaque;
	bool reset = false;

	pthread_mutex_lock(&host->lock);
	if (off == 0 && size == 4) {
		host->config_address = (uint32_t)value & ~3u;
	} else if (off == 1 && size == 1) {
		reset = !(host->reset_control & RC_RST_CPU) &&
			(value & RC_RST_CPU);
		host->reset_control =
			(uint8_t)(value & (RC_SYS_RST | RC_FULL_RST));
	}
	pthread_mutex_unlock(&host->lock);
	if (reset && host->events && host->events->reset) {
		pr_dbg("pci: reset via 0xcf9 (%#x)", (unsigned int)value);
		host->events->reset(host->events->opaque);
	}
}

/* The device and register the latched address selects, or false. */
static bool pci_data_target(struct pci_host *host, uint8_t *devfn,
			    unsigned int *reg)
{
	uint32_t a = host->config_address;

	if (!(a & CFG_ADDR_ENABLE) || CFG_ADDR_BUS(a) != 0)
		return false;
	*devfn = (uint8_t)CFG_ADDR_DEVFN(a);
	*reg = CFG_ADDR_REG(a);
	return true;
}

static uint64_t pci_data_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pci_host *host = opaque;
	unsigned int reg, n = MIN(size, 4 - (unsigned int)off);
	uint64_t v = ~0ULL;
	uint8_t devfn;

	pthread_mutex_lock(&host->lock);
	if (pci_data_target(host, &devfn, &reg)) {
		uint64_t hi = n < 8 ? ~0ULL << (8 * n) : 0;

		v = hi | pci_config_read_locked(host, devfn,
						reg + (unsigned int)off, n);
	}
	pthread_mutex_unlock(&host->lock);
	return v;
}

static void pci_data_write(void *opaque, uint64_t off, unsigned int size,
			   uint64_t value)
{
	struct pci_host *host = opaque;
	unsigned int reg, n = MIN(size, 4 - (unsigned int)off);
	uint8_t devfn;

	pthread_mutex_lock(&host->lock);
	if (pci_data_target(host, &devfn, &reg))
		pci_config_write_locked(host, devfn, reg + (unsigned int)off, n,
					(uint32_t)value);
	pthread_mutex_unlock(&host->lock);
}

static const struct bus_ops pci_addr_ops = {
	.read = pci_addr_read,
	.write = pci_addr_write,
};

static const struct bus_ops pci_data_ops = {
	.read = pci_data_read,
	.write = pci_data_write,
};

/* ---- device API ------------------------------------------------------- */

void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor,
		     uint16_t device, uint32_t class_code, uint8_t revision)
{
	memset(dev->config, 0, sizeof(dev->config));
	memset(dev->wmask, 0, sizeof(dev->wmask));
	memset(dev->w1cmask, 0, sizeof(dev->w1cmask));
	memset(dev->bars, 0, sizeof(dev->bars));
	dev->name = name;
	dev->host = NULL;
	dev->intx_level = false;
	dev->intx_asserted = false;
	put_le16(&dev->config[PCI_VENDOR_ID], vendor);
	put_le16(&dev->config[PCI_DEVICE_ID], device);
	dev->config[PCI_REVISION_ID] = revision;
	dev->config[PCI_CLASS_PROG] = (uint8_t)class_code;
	put_le16(&dev->config[PCI_CLASS_DEVICE], (uint16_t)(class_code >> 8));
	put_le16(&dev->config[PCI_STATUS], PCI_STATUS_DEVSEL_MEDIUM);
	put_le16(&dev->wmask[PCI_COMMAND],
		 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			 PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
			 PCI_COMMAND_INTX_DISABLE);
	put_le16(&dev->w1cmask[PCI_STATUS], PCI_STATUS_W1C);
	dev->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	dev->wmask[PCI_LATENCY_TIMER] = 0xff;
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

int pci_device_set_bar(struct pci_device *dev, unsigned int bar,
		       enum pci_bar_type type, uint32_t size, bool prefetch)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint32_t flags = 0;

	if (bar >= PCI_NUM_BARS || !size || (size & (size - 1)))
		return -EINVAL;
	if (type == PCI_BAR_IO) {
		if (size < 4 || size > 256)
			return -EINVAL;
		flags = PCI_BAR_SPACE_IO;
	} else if (type == PCI_BAR_MEM32) {
		if (size < 16)
			return -EINVAL;
		flags = prefetch ? PCI_BAR_MEM_PREFETCH : 0;
	} else {
		return -EINVAL;
	}
	dev->bars[bar] = (struct pci_bar){ .type = type, .size = size };
	put_le32(&dev->config[off], flags);
	/* Address bits above the size are writable; sizing reads ~(size-1). */
	put_le32(&dev->wmask[off],
		 ~(size - 1) & (type == PCI_BAR_IO ? ~3u : ~0xfu));
	return 0;
}

void pci_device_set_pin(struct pci_device *dev, unsigned int pin)
{
	dev->config[PCI_INTERRUPT_PIN] = pin <= 4 ? (uint8_t)pin : 0;
}

int pci_device_add_capability(struct pci_device *dev, uint8_t off, uint8_t id,
			      uint8_t len)
{
	unsigned int i;

	if (off < 0x40 || (off & 3) || len < 2 ||
	    (unsigned int)off + len > PCI_CONFIG_SIZE)
		return -EINVAL;
	for (i = off; i < (unsigned int)off + len; i++)
		if (dev->config[i] || dev->wmask[i])
			return -EEXIST;
	dev->config[off] = id;
	dev->config[off + 1] = dev->config[PCI_CAPABILITY_LIST];
	dev->config[PCI_CAPABILITY_LIST] = off;
	put_le16(&dev->config[PCI_STATUS],
		 pci_cfg_get16(dev, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	return 0;
}

int pci_register_device(struct pci_host *host, struct pci_device *dev,
			unsigned int slot, unsigned int fn)
{
	uint8_t devfn;
	int gsi;

	if (slot >= 32 || fn >= 8)
		return -EINVAL;
	devfn = PCI_DEVFN(slot, fn);
	pthread_mutex_lock(&host->lock);
	if (host->devs[devfn]) {
		pthread_mutex_unlock(&host->lock);
		return -EEXIST;
	}
	dev->host = host;
	dev->devfn = devfn;
	/* Firmware normally fills the line; start it at the PIC-mode IRQ. */
	gsi = pci_device_isa_irq(dev);
	dev->config[PCI_INTERRUPT_LINE] = gsi >= 0 ? (uint8_t)gsi : 0xff;
	host->devs[devfn] = dev;
	pthread_mutex_unlock(&host->lock);
	return 0;
}

/* ---- lifecycle -------------------------------------------------------- */

static void pci_piix4_init(struct pci_device *dev)
{
	unsigned int i;

	/* Class 0601: ISA bridge. Multi-function bit comes from fn 1..7. */
	pci_device_init(dev, "piix4-isa", PCI_I440FX_VENDOR,
			PCI_PIIX4_ISA_DEVICE, 0x060100, 0x00);
	put_le16(&dev->config[PCI_COMMAND],
		 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	/* Chipset registers: plain storage except PIRQ routing. */
	memset(&dev->wmask[0x40], 0xff, PCI_CONFIG_SIZE - 0x40);
	for (i = 0; i < PCI_NUM_PIRQS; i++) {
		dev->config[PCI_PIIX4_PIRQRC + i] = pci_pirq_isa_default[i];
		dev->wmask[PCI_PIIX4_PIRQRC + i] = PCI_PIRQRC_DISABLE | 0x0f;
	}
}

static void pci_i440fx_init(struct pci_device *dev)
{
	/* Class 0600: host bridge; rev 02 as on real boards. */
	pci_device_init(dev, "i440fx", PCI_I440FX_VENDOR, PCI_I440FX_DEVICE,
			0x060000, 0x02);
	put_le16(&dev->config[PCI_COMMAND],
		 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	/*
	 * Subsystem 1af4:1100, as QEMU's i440FX: SeaBIOS reads fw_cfg (and
	 * its debug port) only on a host bridge that says so.
	 */
	put_le16(&dev->config[PCI_SUBSYSTEM_VENDOR_ID], 0x1af4);
	put_le16(&dev->config[PCI_SUBSYSTEM_ID], 0x1100);
	/* PMC config, DRB, SMRAM (0x72): storage only. */
	memset(&dev->wmask[0x50], 0xff, 0x80 - 0x50);
	/* PAM: RE/WE pairs only (PAM0's low nibble is reserved). */
	dev->wmask[PCI_I440FX_PAM0] = 0x30;
	memset(&dev->wmask[PCI_I440FX_PAM0 + 1], 0x33, PCI_PAM_NR_REGS - 1);
}

void pci_set_pam_handler(struct pci_host *host, pci_pam_fn fn, void *opaque)
{
	pthread_mutex_lock(&host->lock);
	host->pam_fn = fn;
	host->pam_opaque = opaque;
	pthread_mutex_unlock(&host->lock);
}

int pci_create(struct bus *pio, struct irq_sink *irq,
	       const struct platform_events *events, struct pci_host **out)
{
	struct pci_host *host;
	int r;

	host = calloc(1, sizeof(*host));
	if (!host)
		return -ENOMEM;
	host->pio = pio;
	host->irq = irq;
	host->events = events;
	pthread_mutex_init(&host->lock, NULL);
	pthread_mutex_init(&host->irq_lock, NULL);

	pci_i440fx_init(&host->i440fx);
	pci_piix4_init(&host->piix4);
	r = pci_register_device(host, &host->i440fx, 0, 0);
	if (!r)
		r = pci_register_device(host, &host->piix4, PCI_PIIX4_SLOT, 0);
	if (r)
		goto err_free;

	r = bus_register(pio, PCI_CONFIG_ADDRESS, 4, &pci_addr_ops, host,
			 "pci-addr");
	if (r)
		goto err_free;
	r = bus_register(pio, PCI_CONFIG_DATA, 4, &pci_data_ops, host,
			 "pci-data");
	if (r)
		goto err_unregister_addr;
	*out = host;
	return 0;

err_unregister_addr:
	bus_unregister(pio, PCI_CONFIG_ADDRESS);
err_free:
	pthread_mutex_destroy(&host->irq_lock);
	pthread_mutex_destroy(&host->lock);
	free(host);
	return r;
}

void pci_destroy(struct pci_host *host)
{
	if (!host)
		return;
	bus_unregister(host->pio, PCI_CONFIG_DATA);
	bus_unregister(host->pio, PCI_CONFIG_ADDRESS);
	pthread_mutex_destroy(&host->irq_lock);
	pthread_mutex_destroy(&host->lock);
	free(host);
}

void pci_reset(struct pci_host *host)
{
	unsigned int devfn, i;

	pthread_mutex_lock(&host->lock);
	host->config_address = 0;
	host->reset_control = 0;
	for (devfn = 0; devfn < NR_DEVFN; devfn++) {
		struct pci_device *dev = host->devs[devfn];

		if (!dev || dev == &host->i440fx || dev == &host->piix4)
			continue;
		put_le16(&dev->config[PCI_COMMAND], 0);
		put_le16(&dev->config[PCI_STATUS],
			 pci_cfg_get16(dev, PCI_STATUS) & ~PCI_STATUS_W1C);
		for (i = 0; i < PCI_NUM_BARS; i++) {
			unsigned int off = PCI_BASE_ADDRESS_0 + 4 * i;

			put_le32(&dev->config[off],
				 pci_cfg_get32(dev, off) &
					 ~get_le32(&dev->wmask[off]));
		}
		pci_device_update_bars(dev);
		pthread_mutex_lock(&host->irq_lock);
		pci_device_update_intx(dev);
		pthread_mutex_unlock(&host->irq_lock);
	}
	for (i = 0; i < PCI_NUM_PIRQS; i++)
		host->piix4.config[PCI_PIIX4_PIRQRC + i] =
			pci_pirq_isa_default[i];
	pthread_mutex_lock(&host->irq_lock);
	pci_host_update_irqs(host);
	pthread_mutex_unlock(&host->irq_lock);
	/* PAM back to "all PCI": the ROM shows in 0xE0000-0xFFFFF again. */
	memset(&host->i440fx.config[PCI_I440FX_PAM0], 0, PCI_PAM_NR_REGS);
	if (host->pam_fn)
		host->pam_fn(host->pam_opaque,
			     &host->i440fx.config[PCI_I440FX_PAM0]);
	pthread_mutex_unlock(&host->lock);
}
