/* SPDX-License-Identifier: MIT */
/*
 * pci: the PCI host (configuration mechanism #1 at 0xcf8/0xcfc, bus 0), the
 * reset control register at 0xcf9, the built-in i440FX host bridge (00:00.0)
 * and PIIX4 ISA bridge (00:01.0), and the API later devices use to appear on
 * the bus: a 256-byte config space with write masks, BARs, INTx and
 * capabilities.
 */
#ifndef HVKVM_PCI_H
#define HVKVM_PCI_H

#include <stdbool.h>
#include <stdint.h>

struct bus;
struct irq_sink;
struct platform_events;
struct pci_host;
struct pci_device;

#define PCI_CONFIG_ADDRESS 0xcf8 /* 32-bit, claims 0xcf8..0xcfb */
#define PCI_RESET_CONTROL 0xcf9	 /* 8-bit, inside the above */
#define PCI_CONFIG_DATA 0xcfc	 /* 0xcfc..0xcff */

/* Config header (type 0) offsets. */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0a
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER 0x0d
#define PCI_HEADER_TYPE 0x0e
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_MIN_GNT 0x3e
#define PCI_MAX_LAT 0x3f
#define PCI_CONFIG_SIZE 256
#define PCI_NUM_BARS 6

#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_PARITY 0x0040
#define PCI_COMMAND_SERR 0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400

#define PCI_STATUS_INTERRUPT 0x0008 /* INTx asserted (read-only) */
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_STATUS_DEVSEL_MEDIUM 0x0200
#define PCI_STATUS_W1C 0xf900 /* error bits: write 1 to clear */
#define PCI_STATUS_SIG_TARGET_ABORT 0x0800
#define PCI_STATUS_REC_MASTER_ABORT 0x2000

#define PCI_HEADER_MULTI_FUNCTION 0x80

#define PCI_BAR_SPACE_IO 0x01
#define PCI_BAR_MEM_PREFETCH 0x08

#define PCI_DEVFN(slot, fn) ((uint8_t)(((slot) << 3) | (fn)))
#define PCI_SLOT(devfn) (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn) ((devfn)&7)

/* Built-in devices. */
#define PCI_I440FX_VENDOR 0x8086
#define PCI_I440FX_DEVICE 0x1237
#define PCI_PIIX4_ISA_DEVICE 0x7110
#define PCI_PIIX4_SLOT 1	/* 00:01.x: ISA .0, IDE .1, ... */
#define PCI_PIIX4_PIRQRC 0x60	/* PIRQA..D route control, 4 bytes */
#define PCI_PIRQRC_DISABLE 0x80 /* IRQEN#: 1 = not routed */

/*
 * i440FX PAM0..PAM6 (config 0x59-0x5f, 440FX datasheet 3.2.18): the
 * attributes of the 0xC0000-0xFFFFF shadow area in 13 segments. Segment
 * 0..11 is 16 KiB at 0xC0000 + 16 KiB * n (PAM1 bits 1:0 for 0xC0000,
 * bits 5:4 for 0xC4000, ... PAM6 bits 5:4 for 0xEC000); segment 12 is
 * 0xF0000-0xFFFFF (PAM0 bits 5:4). Per segment: bit 0 RE (reads hit
 * DRAM), bit 1 WE (writes hit DRAM); cleared, the access goes to PCI,
 * i.e. the BIOS ROM for 0xE0000-0xFFFFF. All zero after reset.
 */
#define PCI_I440FX_PAM0 0x59
#define PCI_PAM_NR_REGS 7
#define PCI_PAM_SEGMENTS 13

enum pci_pam_mode {
	PCI_PAM_PCI = 0,	/* neither: ROM / PCI */
	PCI_PAM_READ_ONLY = 1,	/* RE: reads DRAM, writes go to PCI */
	PCI_PAM_WRITE_ONLY = 2, /* WE: reads PCI, writes DRAM */
	PCI_PAM_READ_WRITE = 3, /* RE | WE: plain RAM */
};

/* Where segment @seg (< PCI_PAM_SEGMENTS) lies. */
static inline void pci_pam_segment(unsigned int seg, uint32_t *base,
				   uint32_t *size)
{
	if (seg >= PCI_PAM_SEGMENTS - 1) {
		*base = 0xf0000;
		*size = 0x10000;
	} else {
		*base = 0xc0000 + seg * 0x4000;
		*size = 0x4000;
	}
}

/* Segment @seg's mode in the PAM register values @pam (0x59..0x5f). */
static inline enum pci_pam_mode pci_pam_mode(const uint8_t *pam,
					     unsigned int seg)
{
	unsigned int reg = seg >= PCI_PAM_SEGMENTS - 1 ? 0 : 1 + seg / 2;
	unsigned int shift = seg >= PCI_PAM_SEGMENTS - 1 ? 4 : (seg & 1) * 4;

	return (enum pci_pam_mode)((pam[reg] >> shift) & 3);
}

/*
 * Told after a guest write to the PAM registers changed them (and on
 * pci_reset), with the 7 values. Called on the vCPU thread with the host
 * lock held: it may change memory slots, never call into the pci host.
 */
typedef void (*pci_pam_fn)(void *opaque, const uint8_t *pam);

/*
 * INTx routing. A device in @slot using pin @pin (1 = INTA .. 4 = INTD)
 * drives PIRQ[(slot + pin - 1) & 3]. Each PIRQ n is wired like on chipsets
 * with an IOAPIC:
 *  - to IOAPIC pin PCI_INTX_GSI_BASE + n (GSI 16..19, level-triggered;
 *    "asserted" = irq_set_line(gsi, true), KVM's IOAPIC ignores the
 *    polarity bit a static _PRT implies): what the DSDT's _PRT describes
 *    for APIC mode, always driven;
 *  - through the PIIX4 route register 0x60 + n to an ISA IRQ for PIC mode
 *    (unless its bit 7 disables it). The registers start at
 *    pci_pirq_isa_default[] (what SeaBIOS programs too); the device's
 *    interrupt-line register starts at that ISA IRQ.
 */
#define PCI_NUM_PIRQS 4
#define PCI_INTX_GSI_BASE 16
static const uint8_t pci_pirq_isa_default[PCI_NUM_PIRQS] = { 10, 10, 11, 11 };

static inline unsigned int pci_pirq_of(unsigned int slot, unsigned int pin)
{
	return (slot + pin - 1) & 3;
}

static inline unsigned int pci_intx_gsi(unsigned int slot, unsigned int pin)
{
	return PCI_INTX_GSI_BASE + pci_pirq_of(slot, pin);
}

enum pci_bar_type {
	PCI_BAR_UNUSED,
	PCI_BAR_IO,    /* I/O space, 16-bit decode */
	PCI_BAR_MEM32, /* 32-bit memory space */
};

struct pci_device_ops {
	/*
	 * A BAR started (@mapped, at @addr) or stopped (at the old @addr)
	 * decoding: after a command-register IO/MEM enable change or a BAR
	 * write. A move is reported as unmap old, then map new. Called on
	 * the vCPU thread with the host lock held: take your own lock if you
	 * must, never call back into the pci host from here.
	 */
	void (*bar_update)(struct pci_device *dev, unsigned int bar,
			   bool mapped, uint64_t addr);
	/*
	 * After a guest config write was applied (masks honoured): device
	 * registers at @off (any width). Optional.
	 */
	void (*config_write)(struct pci_device *dev, unsigned int off,
			     unsigned int size, uint32_t value);
};

struct pci_bar {
	enum pci_bar_type type; /* unused, IO or MEM32 */
	uint32_t size;		/* power of two */
	bool mapped;		/* last state told to bar_update */
	uint64_t addr;		/* ... and its address */
};

struct pci_device {
	const char *name;		 /* for logs */
	uint8_t config[PCI_CONFIG_SIZE]; /* config space as the guest sees it */
	uint8_t wmask[PCI_CONFIG_SIZE];	 /* bits the guest may write */
	uint8_t w1cmask[PCI_CONFIG_SIZE]; /* bits cleared by writing 1 */
	struct pci_bar bars[PCI_NUM_BARS];
	const struct pci_device_ops *ops; /* may be NULL */
	void *opaque;			  /* for the device's callbacks */
	/* Set by pci_register_device(): */
	struct pci_host *host;
	uint8_t devfn;
	bool intx_level;    /* INTx input as driven by the device */
	bool intx_asserted; /* ... and as counted on its PIRQ */
};

/*
 * The host: registers 0xcf8..0xcff on @pio and adds 00:00.0 and 00:01.0.
 * @events->reset is called for 0xcf9 writes with RST_CPU (bit 2).
 */
int pci_create(struct bus *pio, struct irq_sink *irq,
	       const struct platform_events *events, struct pci_host **out);
void pci_destroy(struct pci_host *host);
/*
 * Guest reboot: every device's command register, BARs (unmapping them) and
 * status cleared, PIRQ routes back to pci_pirq_isa_default. Devices reset
 * their own state separately.
 */
void pci_reset(struct pci_host *host);

/*
 * Fill @dev's header: IDs, class (class << 16 | subclass << 8 | prog-if),
 * revision; standard write masks (command, cache line, latency, interrupt
 * line, W1C status bits). Call before pci_device_set_bar() etc.
 */
void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor,
		     uint16_t device, uint32_t class_code, uint8_t revision);
/* Declare BAR @bar of @size bytes (power of two; IO >= 4, MEM >= 16). */
int pci_device_set_bar(struct pci_device *dev, unsigned int bar,
		       enum pci_bar_type type, uint32_t size, bool prefetch);
/* INTx pin 1..4 (INTA..INTD), 0 = none. */
void pci_device_set_pin(struct pci_device *dev, unsigned int pin);
/*
 * Insert capability @id of @len bytes at config offset @off (>= 0x40,
 * dword aligned) at the head of the list. The caller fills the body
 * (and its write mask) after the 2-byte header. 0 or -EINVAL/-EEXIST.
 */
int pci_device_add_capability(struct pci_device *dev, uint8_t off, uint8_t id,
			      uint8_t len);
/* Put @dev at 00:@slot.@fn. 0, -EINVAL, -EEXIST. Start-up only. */
int pci_register_device(struct pci_host *host, struct pci_device *dev,
			unsigned int slot, unsigned int fn);

/* Start-up: who maps the shadow area as PAM says (NULL: nobody). */
void pci_set_pam_handler(struct pci_host *host, pci_pam_fn fn, void *opaque);

/* Drive the device's INTx (level). Thread-safe; no host lock taken. */
void pci_set_irq(struct pci_device *dev, bool level);
/* Command register bits as the device should obey them (lock-free). */
bool pci_bus_master_enabled(const struct pci_device *dev);
uint16_t pci_command(const struct pci_device *dev);
/* The IOAPIC GSI the device's INTx reaches (16..19), or -1 if no pin. */
int pci_device_gsi(const struct pci_device *dev);
/* The ISA IRQ its PIRQ is routed to by the PIIX4 now, or -1. */
int pci_device_isa_irq(const struct pci_device *dev);

/* Host-side access to 00:devfn config space, as 0xcf8/0xcfc would. */
uint32_t pci_config_read(struct pci_host *host, uint8_t devfn, unsigned int off,
			 unsigned int size);
void pci_config_write(struct pci_host *host, uint8_t devfn, unsigned int off,
		      unsigned int size, uint32_t value);

#endif /* HVKVM_PCI_H */
