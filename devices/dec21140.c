// SPDX-License-Identifier: MIT
/*
 * DEC 21140A Fast Ethernet LAN controller, PCI 1011:0009 (21140A Hardware
 * Reference Manual: chapter 3 CSRs, chapter 4 descriptors and setup
 * frames, chapter 7 serial ROM and MII management; "Digital Semiconductor
 * 21X4 Serial ROM Format" 3.03 for the SROM image). Hyper-V Gen1 emulates
 * this chip as its legacy network adapter; Linux drives it with tulip.
 *
 * CSR0-CSR15 sit at 8-byte strides in a 128-byte I/O BAR (BAR0) and the
 * same registers in a memory BAR (BAR1). The serial ROM (a 93C46 holding
 * a format-3 image: MAC, one MII media block) and an MII PHY at address 1
 * (100BASE-TX full duplex, autonegotiation complete, link as set by
 * dec21140_set_link) are bit-banged through CSR9. TX runs on the vCPU
 * thread at the guest's poll demand (CSR1, CSR6 ST); RX runs on the loop
 * thread from the backend's receive(). An empty RX ring answers -ENOBUFS
 * (the backend keeps the frame) and reception resumes when the guest
 * writes CSR2/CSR3/CSR6, on any CSR access that finds the descriptor owned
 * again, or from a 1 ms retry timer (real chips re-poll on each new frame).
 *
 * Every walk is bounded (DEC_MAX_WALK descriptors per kick, DEC_MAX_FRAG
 * per frame); a descriptor or buffer outside guest RAM is a fatal bus
 * error (CSR5 FBE, EB = master abort, both processes stopped).
 *
 * Not implemented: the boot ROM (CSR9 BR, CSR10), SIA/SYM media (CSR12
 * is plain storage), early TX/RX interrupts, loopback modes (CSR6 OM), the
 * watchdog and jabber timers (CSR15), collisions and FIFO underflow, the
 * SROM's CRCs are not checked by Linux and are a best effort here.
 */
#include "hvkvm/dec21140.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "hvkvm/bus.h"
#include "hvkvm/evloop.h"
#include "hvkvm/gmem.h"
#include "hvkvm/pci.h"
#include "hvkvm/util.h"

#define DEC_CLASS 0x020000 /* network, Ethernet */
#define DEC_REVISION 0x20  /* 21140A */
#define DEC_NR_CSRS 16
#define DEC_SUBSYS_VENDOR 0x1011 /* a DEC-branded board */
#define DEC_SUBSYS_ID 0x0009

/* CSR0: bus mode. */
#define CSR0_SWR 0x00000001
#define CSR0_DSL_SHIFT 2 /* descriptor skip length, longwords */
#define CSR0_DSL_MASK 0x1f
#define CSR0_RESET 0xfe000000
/* CSR5: status (bits 16:0 write 1 to clear). */
#define CSR5_TI 0x00000001
#define CSR5_TPS 0x00000002
#define CSR5_TU 0x00000004
#define CSR5_TJT 0x00000008
#define CSR5_UNF 0x00000020
#define CSR5_RI 0x00000040
#define CSR5_RU 0x00000080
#define CSR5_RPS 0x00000100
#define CSR5_RWT 0x00000200
#define CSR5_GTE 0x00000800
#define CSR5_FBE 0x00002000
#define CSR5_ERI 0x00004000
#define CSR5_AIS 0x00008000
#define CSR5_NIS 0x00010000
#define CSR5_W1C 0x0001ffff
#define CSR5_NORMAL (CSR5_TI | CSR5_TU | CSR5_RI | CSR5_ERI)
#define CSR5_ABNORMAL                                                     \
	(CSR5_TPS | CSR5_TJT | CSR5_UNF | CSR5_RU | CSR5_RPS | CSR5_RWT | \
	 CSR5_GTE | CSR5_FBE)
#define CSR5_RS_SHIFT 17 /* receive process state */
#define CSR5_TS_SHIFT 20 /* transmit process state */
#define CSR5_EB_MASTER_ABORT (1u << 23)
/* CSR6: operating mode. */
#define CSR6_HP 0x00000001 /* hash/perfect (set by the setup frame) */
#define CSR6_SR 0x00000002
#define CSR6_HO 0x00000004
#define CSR6_IF 0x00000010
#define CSR6_PR 0x00000040
#define CSR6_PM 0x00000080
#define CSR6_ST 0x00002000
#define CSR6_RA 0x40000000
#define CSR6_FILTER_BITS (CSR6_HP | CSR6_HO | CSR6_IF)
/* CSR9: serial ROM and MII management. */
#define CSR9_SCS 0x00000001
#define CSR9_SCLK 0x00000002
#define CSR9_SDI 0x00000004
#define CSR9_SDO 0x00000008
#define CSR9_SR 0x00000800
#define CSR9_MDC 0x00010000
#define CSR9_MDO 0x00020000
#define CSR9_MII 0x00040000 /* 1: PHY drives MDIO (read) */
#define CSR9_MDI 0x00080000
/* CSR11: general-purpose timer. */
#define CSR11_CON 0x00010000
#define CSR11_NS_PER_TICK 81920 /* 81.92 us at 100 Mb/s */

/* Process states (CSR5 RS / TS). */
enum { DEC_RS_STOPPED = 0, DEC_RS_WAIT = 3, DEC_RS_SUSPENDED = 4 };
enum { DEC_TS_STOPPED = 0, DEC_TS_SUSPENDED = 6 };

/* Descriptors: four little-endian longwords. */
#define DESC_SIZE 16
#define DESC_OWN 0x80000000u
#define RDES0_ES 0x00008000
#define RDES0_DE 0x00004000
#define RDES0_MF 0x00000400
#define RDES0_FS 0x00000200
#define RDES0_LS 0x00000100
#define RDES0_TL 0x00000080
#define RDES0_FT 0x00000020
#define RDES0_FL_SHIFT 16
#define RDES1_RER 0x02000000
#define RDES1_RCH 0x01000000
#define TDES0_ES 0x00008000
#define TDES0_TO 0x00004000
#define TDES0_LO 0x00000800
#define TDES0_NC 0x00000400
#define TDES0_UF 0x00000002
#define TDES1_IC 0x80000000
#define TDES1_LS 0x40000000
#define TDES1_FS 0x20000000
#define TDES1_FT1 0x10000000
#define TDES1_SET 0x08000000
#define TDES1_TER 0x02000000
#define TDES1_TCH 0x01000000
#define TDES1_DPD 0x00800000
#define TDES1_FT0 0x00400000
#define DESC_BS1(l) ((l)&0x7ff)
#define DESC_BS2(l) (((l) >> 11) & 0x7ff)

/* Limits. */
#define DEC_MAX_WALK 4096 /* descriptors looked at per kick / frame */
#define DEC_MAX_FRAG 64	  /* descriptors one frame may span */
#define DEC_TX_MAX 16384  /* larger frames are jabber (TDES0 TO) */
#define DEC_MIN_FRAME 60  /* padded to this unless TDES1 DPD */
#define DEC_SETUP_LEN 192 /* a setup frame's size */
#define DEC_PERFECT 16	  /* perfect filter entries */
#define DEC_RX_RETRY_NS 1000000

/* MII registers (IEEE 802.3 clause 22). */
#define MII_BMCR 0
#define MII_BMSR 1
#define MII_ANAR 4
#define MII_NR_REGS 32
#define BMCR_RESET 0x8000
#define BMSR_LINK 0x0004
#define BMSR_ANEG_DONE 0x0020

enum dec_filter {
	DEC_FILTER_PERFECT,   /* FT1:FT0 = 00: 16 addresses */
	DEC_FILTER_HASH,      /* 01: 512-bit hash for multicast + 1 address */
	DEC_FILTER_INVERSE,   /* 10: everything but the 16 addresses */
	DEC_FILTER_HASH_ONLY, /* 11: the hash for every address */
};

enum srom_state { SROM_IDLE, SROM_CMD, SROM_READ, SROM_IGNORE };
enum mii_state { MII_IDLE, MII_CMD, MII_WRITE, MII_READ };

struct dec21140 {
	struct pci_device pci;	   /* config space, BARs, INTx */
	pthread_mutex_t lock;	   /* everything below */
	char name[16];		   /* for logs */
	uint32_t csr[DEC_NR_CSRS]; /* as written (CSR5: status bits) */
	unsigned int rs, ts;	   /* RX/TX process states */
	uint64_t cur_rx, cur_tx;   /* next descriptor addresses */
	bool rx_blocked;	   /* a receive() got -ENOBUFS */
	bool link;		   /* cable in */
	uint8_t gp_dir;		   /* CSR12 direction (written with bit 8) */
	/* Address filter (last setup frame). */
	enum dec_filter filter;
	uint8_t perfect[DEC_PERFECT][NET_MAC_LEN];
	uint8_t hash[64]; /* 512 bits */
	/* Serial ROM. */
	uint16_t srom[DEC21140_SROM_WORDS];
	enum srom_state srom_state;
	unsigned int srom_bits, srom_addr, srom_bit; /* shift state */
	uint32_t srom_cmd;
	bool srom_do; /* data out to the host */
	/* MII management. */
	uint16_t mii[MII_NR_REGS];
	enum mii_state mii_state;
	unsigned int mii_ones, mii_bits;
	uint32_t mii_shift;
	bool mii_out; /* MDI as the PHY drives it */
	/* General-purpose timer. */
	uint64_t gpt_deadline; /* ns, 0 = not running */
	int gpt_fd, rx_retry_fd;
	/* Host plumbing. */
	struct bus *pio, *mmio;
	bool bar_mapped[2];
	uint64_t bar_addr[2];
	struct gmem *gm;
	struct net_backend *nb;
	struct evloop *loop;
	struct dec21140_stats stats;
	uint8_t txbuf[DEC_TX_MAX];
	uint8_t rxbuf[NET_MAX_FRAME + 4];
};

/* ---- interrupts and states -------------------------------------------- */

static uint32_t dec_csr5(struct dec21140 *d)
{
	uint32_t s = d->csr[5] & (CSR5_NORMAL | CSR5_ABNORMAL);
	uint32_t en = d->csr[7];

	if (s & CSR5_NORMAL & en)
		s |= CSR5_NIS;
	if (s & CSR5_ABNORMAL & en)
		s |= CSR5_AIS;
	return s | (d->csr[5] & (7u << 23)) | d->rs << CSR5_RS_SHIFT |
	       d->ts << CSR5_TS_SHIFT;
}

static void dec_update_irq(struct dec21140 *d)
{
	uint32_t s = dec_csr5(d);
	bool level = (s & CSR5_NIS && d->csr[7] & CSR5_NIS) ||
		     (s & CSR5_AIS && d->csr[7] & CSR5_AIS);

	pci_set_irq(&d->pci, level);
}

static void dec_set_status(struct dec21140 *d, uint32_t bits)
{
	d->csr[5] |= bits;
	dec_update_irq(d);
}

/* A guest address outside RAM: PCI master abort, both processes stop. */
static void dec_bus_error(struct dec21140 *d, uint64_t gpa)
{
	guest_err("%s: DMA at %#llx outside guest RAM", d->name,
		  (unsigned long long)gpa);
	d->stats.bus_errors++;
	d->csr[5] = (d->csr[5] & ~(7u << 23)) | CSR5_EB_MASTER_ABORT;
	d->csr[6] &= ~(CSR6_SR | CSR6_ST);
	d->rs = DEC_RS_STOPPED;
	d->ts = DEC_TS_STOPPED;
	dec_set_status(d, CSR5_FBE | CSR5_TPS | CSR5_RPS);
}

static uint64_t dec_desc_next(struct dec21140 *d, uint64_t base, uint64_t cur,
			      uint32_t des1, uint32_t des3, bool end,
			      bool chain)
{
	unsigned int skip = (d->csr[0] >> CSR0_DSL_SHIFT) & CSR0_DSL_MASK;

	if (end)
		return base;
	if (chain)
		return des3 & ~3u;
	(void)des1;
	return (cur + DESC_SIZE + skip * 4) & 0xffffffffu;
}

static int dec_desc_read(struct dec21140 *d, uint64_t gpa, uint32_t des[4])
{
	uint8_t b[DESC_SIZE];
	unsigned int i;

	if (gmem_read(d->gm, gpa, b, sizeof(b))) {
		dec_bus_error(d, gpa);
		return -EFAULT;
	}
	for (i = 0; i < 4; i++)
		des[i] = get_le32(b + 4 * i);
	return 0;
}

static int dec_desc_status(struct dec21140 *d, uint64_t gpa, uint32_t status)
{
	uint8_t b[4];

	put_le32(b, status);
	if (gmem_write(d->gm, gpa, b, 4)) {
		dec_bus_error(d, gpa);
		return -EFAULT;
	}
	return 0;
}

/* ---- reset ------------------------------------------------------------- */

static void dec_reset(struct dec21140 *d)
{
	memset(d->csr, 0, sizeof(d->csr));
	d->csr[0] = CSR0_RESET;
	d->rs = DEC_RS_STOPPED;
	d->ts = DEC_TS_STOPPED;
	d->cur_rx = d->cur_tx = 0;
	d->filter = DEC_FILTER_PERFECT;
	memset(d->perfect, 0, sizeof(d->perfect));
	memset(d->hash, 0, sizeof(d->hash));
	d->srom_state = SROM_IDLE;
	d->srom_do = true;
	d->mii_state = MII_IDLE;
	d->mii_ones = 0;
	d->mii_out = true;
	d->gpt_deadline = 0;
	pci_set_irq(&d->pci, false);
}

/* ---- serial ROM (93C46, 6 address bits) -------------------------------- */

static void dec_srom_build(struct dec21140 *d, const uint8_t *mac)
{
	uint8_t b[DEC21140_SROM_WORDS * 2] = { 0 };
	static const uint8_t leaf[] = {
		0x00,	   0x08, /* connection type: autosense */
		0x00,		 /* GP port control (CSR12 direction) */
		1,		 /* one media block: */
		0x80 | 12, 1,	 /* extended, 12 bytes, type 1 (MII) */
		0,		 /* PHY number */
		0,		 /* GP sequence length */
		0,		 /* reset sequence length */
		0x00,	   0x78, /* capabilities: 10/100 half/full */
		0xe0,	   0x01, /* advertisement */
		0x00,	   0x50, /* full-duplex map */
		0x00,	   0x18, /* TX threshold map */
	};
	unsigned int i;
	uint32_t crc;

	put_le16(&b[0], DEC_SUBSYS_VENDOR);
	put_le16(&b[2], DEC_SUBSYS_ID);
	b[18] = 3; /* SROM format version */
	b[19] = 1; /* controller count */
	memcpy(&b[20], mac, NET_MAC_LEN);
	b[26] = 0;  /* controller 0's device number */
	b[27] = 30; /* its info leaf offset (16 bits) */
	memcpy(&b[30], leaf, sizeof(leaf));
	b[16] = net_crc32(b, 16) & 0xff; /* ID block CRC (best effort) */
	crc = net_crc32(b, 126);
	put_le16(&b[126], crc & 0xffff);
	for (i = 0; i < DEC21140_SROM_WORDS; i++)
		d->srom[i] = get_le16(&b[2 * i]);
}

/* One CSR9 write with SR set: act on the rising edge of SCLK. */
static void dec_srom_write(struct dec21140 *d, uint32_t old, uint32_t v)
{
	bool di = v & CSR9_SDI;

	if (!(v & CSR9_SCS)) {
		d->srom_state = SROM_IDLE;
		d->srom_do = true;
		return;
	}
	if ((old & CSR9_SCLK) || !(v & CSR9_SCLK))
		return;
	switch (d->srom_state) {
	case SROM_IDLE:
		if (di) { /* start bit */
			d->srom_state = SROM_CMD;
			d->srom_cmd = 0;
			d->srom_bits = 0;
		}
		break;
	case SROM_CMD:
		d->srom_cmd = d->srom_cmd << 1 | di;
		if (++d->srom_bits < 8)
			break;
		if ((d->srom_cmd >> 6) != 2) { /* not READ: read-only ROM */
			d->srom_state = SROM_IGNORE;
			break;
		}
		d->srom_addr = d->srom_cmd & 0x3f;
		d->srom_bit = 16;
		d->srom_state = SROM_READ;
		d->srom_do = false; /* the dummy zero */
		break;
	case SROM_READ:
		if (!d->srom_bit) { /* sequential read */
			d->srom_addr = (d->srom_addr + 1) % DEC21140_SROM_WORDS;
			d->srom_bit = 16;
		}
		d->srom_bit--;
		d->srom_do = (d->srom[d->srom_addr] >> d->srom_bit) & 1;
		break;
	case SROM_IGNORE:
		break;
	}
}

/* ---- MII management (PHY at DEC21140_PHY_ADDR) ------------------------- */

static void dec_phy_reset(struct dec21140 *d)
{
	memset(d->mii, 0, sizeof(d->mii));
	d->mii[MII_BMCR] = 0x3100; /* 100 Mb/s, autoneg, full duplex */
	d->mii[2] = 0x0000;	   /* PHY identifier: none claimed */
	d->mii[3] = 0x0000;
	d->mii[MII_ANAR] = 0x01e1; /* 10/100 half/full, 802.3 */
	d->mii[5] = 0x45e1;	   /* partner: the same, ack */
	d->mii[6] = 0x0001;	   /* partner autoneg able */
}

static uint16_t dec_phy_read(struct dec21140 *d, unsigned int reg)
{
	if (reg == MII_BMSR)
		return 0x7809 | (d->link ? BMSR_LINK | BMSR_ANEG_DONE : 0);
	if (reg == 5 && !d->link)
		return 0;
	return d->mii[reg];
}

static void dec_phy_write(struct dec21140 *d, unsigned int reg, uint16_t v)
{
	if (reg == MII_BMCR) {
		if (v & BMCR_RESET)
			dec_phy_reset(d); /* completes at once */
		else
			d->mii[MII_BMCR] = v & ~0x0200; /* restart: done */
	} else if (reg == MII_ANAR) {
		d->mii[MII_ANAR] = (v & 0x03e0) | 0x0001;
	}
}

/* One CSR9 write (MII side): act on the rising edge of MDC. */
static void dec_mii_write(struct dec21140 *d, uint32_t old, uint32_t v)
{
	unsigned int bit = !!(v & CSR9_MDO), phy, reg;

	if ((old & CSR9_MDC) || !(v & CSR9_MDC))
		return;
	switch (d->mii_state) {
	case MII_IDLE:
		if (v & CSR9_MII)
			break; /* the PHY would drive: not a host bit */
		if (bit) {
			d->mii_ones += d->mii_ones < 32;
		} else if (d->mii_ones >= 32) { /* first start bit */
			d->mii_state = MII_CMD;
			d->mii_shift = 0;
			d->mii_bits = 0;
		} else {
			d->mii_ones = 0;
		}
		break;
	case MII_CMD: /* start 1, op 2, phy 5, reg 5 */
		d->mii_shift = d->mii_shift << 1 | bit;
		if (++d->mii_bits < 13)
			break;
		d->mii_ones = 0;
		phy = (d->mii_shift >> 5) & 0x1f;
		reg = d->mii_shift & 0x1f;
		if ((d->mii_shift >> 12) != 1) {
			d->mii_state = MII_IDLE;
		} else if (((d->mii_shift >> 10) & 3) == 2) {
			/* TA (Z, 0), 16 data bits, idle: as one 19-bit word */
			uint32_t val = phy == DEC21140_PHY_ADDR ?
					       dec_phy_read(d, reg) :
					       0xffff;

			d->mii_shift = 1u << 18 | val << 1 | 1;
			if (phy != DEC21140_PHY_ADDR)
				d->mii_shift |= 1u << 17;
			d->mii_bits = 19;
			d->mii_out = true;
			d->mii_state = MII_READ;
		} else if (((d->mii_shift >> 10) & 3) == 1) {
			d->mii_shift = phy << 5 | reg;
			d->mii_bits = 0;
			d->mii_state = MII_WRITE;
		} else {
			d->mii_state = MII_IDLE;
		}
		break;
	case MII_WRITE: /* TA 2, data 16 */
		d->mii_shift = d->mii_shift << 1 | bit;
		if (++d->mii_bits < 18)
			break;
		phy = (d->mii_shift >> 23) & 0x1f;
		reg = (d->mii_shift >> 18) & 0x1f;
		if (phy == DEC21140_PHY_ADDR)
			dec_phy_write(d, reg, d->mii_shift & 0xffff);
		d->mii_state = MII_IDLE;
		break;
	case MII_READ:
		if (--d->mii_bits == 0) {
			d->mii_state = MII_IDLE;
			d->mii_out = true;
		}
		break;
	}
	if (d->mii_state == MII_READ)
		d->mii_out = (d->mii_shift >> (d->mii_bits - 1)) & 1;
}

static void dec_csr9_write(struct dec21140 *d, uint32_t v)
{
	uint32_t old = d->csr[9];

	d->csr[9] = v;
	if (v & CSR9_SR)
		dec_srom_write(d, old, v);
	dec_mii_write(d, old, v);
}

static uint32_t dec_csr9_read(struct dec21140 *d)
{
	uint32_t v = d->csr[9] & ~(CSR9_SDO | CSR9_MDI);

	if ((v & CSR9_SR) && d->srom_do)
		v |= CSR9_SDO;
	if (d->mii_out)
		v |= CSR9_MDI;
	return v;
}

/* ---- general-purpose timer (CSR11) -------------------------------------- */

static void dec_gpt_arm(struct dec21140 *d)
{
	uint64_t ticks = d->csr[11] & 0xffff;
	struct itimerspec its = { 0 };

	d->gpt_deadline = ticks ? time_now_ns() + ticks * CSR11_NS_PER_TICK : 0;
	if (d->gpt_fd < 0)
		return;
	its.it_value.tv_sec = ticks * CSR11_NS_PER_TICK / 1000000000ull;
	its.it_value.tv_nsec = ticks * CSR11_NS_PER_TICK % 1000000000ull;
	timerfd_settime(d->gpt_fd, 0, &its, NULL);
}

static void dec_gpt_expire_locked(struct dec21140 *d)
{
	if (!d->gpt_deadline)
		return;
	d->gpt_deadline = 0;
	if (d->csr[11] & CSR11_CON)
		dec_gpt_arm(d);
	dec_set_status(d, CSR5_GTE);
}

static uint32_t dec_csr11_read(struct dec21140 *d)
{
	uint64_t now = time_now_ns(), left;

	if (!d->gpt_deadline || now >= d->gpt_deadline)
		return d->csr[11] & CSR11_CON;
	left = (d->gpt_deadline - now + CSR11_NS_PER_TICK - 1) /
	       CSR11_NS_PER_TICK;
	return (d->csr[11] & CSR11_CON) | (uint32_t)(left & 0xffff);
}

/* ---- address filter ------------------------------------------------------ */

static unsigned int dec_hash_index(const uint8_t *mac)
{
	/* Linux's ether_crc_le(): the reflected CRC without the final XOR. */
	return ~net_crc32(mac, NET_MAC_LEN) & 0x1ff;
}

static bool dec_in_perfect(struct dec21140 *d, const uint8_t *da)
{
	unsigned int i;

	for (i = 0; i < DEC_PERFECT; i++)
		if (!memcmp(d->perfect[i], da, NET_MAC_LEN))
			return true;
	return false;
}

static bool dec_accept(struct dec21140 *d, const uint8_t *da)
{
	uint32_t m = d->csr[6];
	bool mc = da[0] & 1;
	unsigned int h;

	if (m & (CSR6_PR | CSR6_RA) || (mc && m & CSR6_PM))
		return true;
	switch (d->filter) {
	case DEC_FILTER_PERFECT:
		return dec_in_perfect(d, da);
	case DEC_FILTER_INVERSE:
		return !dec_in_perfect(d, da);
	case DEC_FILTER_HASH:
		if (!mc)
			return !memcmp(d->perfect[0], da, NET_MAC_LEN);
		/* fall through */
	case DEC_FILTER_HASH_ONLY:
		h = dec_hash_index(da);
		return d->hash[h / 8] & (1u << (h % 8));
	}
	return false;
}

/* A 192-byte setup frame: 16-bit pieces in the low half of longwords. */
static void dec_setup_frame(struct dec21140 *d, const uint8_t *f, uint32_t des1)
{
	unsigned int i, j;

	d->filter = (des1 & TDES1_FT1 ? 2 : 0) | (des1 & TDES1_FT0 ? 1 : 0);
	d->csr[6] &= ~CSR6_FILTER_BITS;
	if (d->filter == DEC_FILTER_HASH || d->filter == DEC_FILTER_HASH_ONLY)
		d->csr[6] |= CSR6_HP;
	if (d->filter == DEC_FILTER_HASH_ONLY)
		d->csr[6] |= CSR6_HO;
	if (d->filter == DEC_FILTER_INVERSE)
		d->csr[6] |= CSR6_IF;
	memset(d->perfect, 0, sizeof(d->perfect));
	if (d->filter == DEC_FILTER_PERFECT ||
	    d->filter == DEC_FILTER_INVERSE) {
		for (i = 0; i < DEC_PERFECT; i++)
			for (j = 0; j < 3; j++) {
				d->perfect[i][2 * j] = f[i * 12 + j * 4];
				d->perfect[i][2 * j + 1] =
					f[i * 12 + j * 4 + 1];
			}
		return;
	}
	for (i = 0; i < 32; i++) { /* 512 hash bits in 32 longwords */
		d->hash[2 * i] = f[i * 4];
		d->hash[2 * i + 1] = f[i * 4 + 1];
	}
	for (j = 0; j < 3; j++) { /* longwords 39-41: the one address */
		d->perfect[0][2 * j] = f[156 + j * 4];
		d->perfect[0][2 * j + 1] = f[156 + j * 4 + 1];
	}
}

/* ---- transmit ----------------------------------------------------------- */

/* Close the descriptors [0, n) of a frame: status @st, OWN cleared. */
static int dec_tx_close(struct dec21140 *d, const uint64_t *descs,
			unsigned int n, uint32_t st)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (dec_desc_status(d, descs[i], st))
			return -EFAULT;
	return 0;
}

static int dec_tx_send(struct dec21140 *d, size_t len, bool pad)
{
	struct iovec iov;
	int r;

	if (pad && len < DEC_MIN_FRAME) {
		memset(d->txbuf + len, 0, DEC_MIN_FRAME - len);
		len = DEC_MIN_FRAME;
	}
	iov.iov_base = d->txbuf;
	iov.iov_len = len;
	r = net_send(d->nb, &iov, 1);
	if (!r) {
		d->stats.tx_frames++;
		d->stats.tx_bytes += len;
	}
	return r;
}

/* Copy one buffer of a frame into txbuf: 0, -EFAULT (bus error), -E2BIG. */
static int dec_tx_gather(struct dec21140 *d, uint32_t addr, uint32_t len,
			 size_t *off)
{
	if (!len)
		return 0;
	if (*off + len > DEC_TX_MAX)
		return -E2BIG;
	if (gmem_read(d->gm, addr, d->txbuf + *off, len)) {
		dec_bus_error(d, addr);
		return -EFAULT;
	}
	*off += len;
	return 0;
}

/*
 * Walk the TX list from cur_tx: send each complete frame the guest owns.
 * A frame whose descriptors are not all owned yet waits (TU, suspended).
 */
static void dec_tx_run(struct dec21140 *d)
{
	uint64_t descs[DEC_MAX_FRAG + 1], cur = d->cur_tx;
	unsigned int walked = 0, n = 0;
	uint32_t des[4], irq = 0, st;
	size_t len = 0;
	bool err = false, pad = true;
	int r;

	if (!(d->csr[6] & CSR6_ST) || !pci_bus_master_enabled(&d->pci))
		return;
	while (walked++ < DEC_MAX_WALK) {
		bool end, chain;

		if (dec_desc_read(d, cur, des))
			return;
		if (!(des[0] & DESC_OWN)) {
			irq |= CSR5_TU;
			break;
		}
		end = des[1] & TDES1_TER;
		chain = des[1] & TDES1_TCH;
		if (des[1] & TDES1_SET && !n) {
			uint8_t f[DEC_SETUP_LEN];

			st = 0;
			if (DESC_BS1(des[1]) != DEC_SETUP_LEN) {
				st = TDES0_ES;
			} else if (gmem_read(d->gm, des[2], f, sizeof(f))) {
				dec_bus_error(d, des[2]);
				return;
			} else {
				dec_setup_frame(d, f, des[1]);
				d->stats.setup_frames++;
			}
			if (dec_desc_status(d, cur, st))
				return;
			if (des[1] & TDES1_IC)
				irq |= CSR5_TI;
			cur = dec_desc_next(d, d->csr[4], cur, des[1], des[3],
					    end, chain);
			d->cur_tx = cur;
			continue;
		}
		if (!n && !(des[1] & TDES1_FS)) {
			/* Not a frame's start: close it as an error. */
			if (dec_desc_status(d, cur, TDES0_ES | TDES0_UF))
				return;
			d->stats.tx_errors++;
			cur = dec_desc_next(d, d->csr[4], cur, des[1], des[3],
					    end, chain);
			d->cur_tx = cur;
			continue;
		}
		descs[n++] = cur;
		if (n > DEC_MAX_FRAG)
			err = true; /* too many pieces: as too long */
		if (!err) {
			r = dec_tx_gather(d, des[2], DESC_BS1(des[1]), &len);
			if (!r && !chain)
				r = dec_tx_gather(d, des[3], DESC_BS2(des[1]),
						  &len);
			if (r == -EFAULT)
				return;
			err = r != 0;
		}
		if (des[1] & TDES1_DPD)
			pad = false;
		cur = dec_desc_next(d, d->csr[4], cur, des[1], des[3], end,
				    chain);
		if (!(des[1] & TDES1_LS) && !err)
			continue;
		/* The frame ends here (or is abandoned as too long). */
		st = 0;
		if (err) {
			st = TDES0_ES | TDES0_TO;
			irq |= CSR5_TJT;
		} else if (!len) {
			st = TDES0_ES | TDES0_UF;
		} else if (!d->link) {
			st = TDES0_ES | TDES0_LO | TDES0_NC;
		} else {
			r = dec_tx_send(d, len, pad);
			if (r == -EAGAIN) {
				/* Host queue full: tx_ready() retries. */
				break;
			}
		}
		if (st)
			d->stats.tx_errors++;
		if (dec_tx_close(d, descs, n, st))
			return;
		if (des[1] & TDES1_IC)
			irq |= CSR5_TI;
		d->cur_tx = cur;
		n = 0;
		len = 0;
		err = false;
		pad = true;
	}
	if (walked > DEC_MAX_WALK) {
		d->stats.walk_limits++;
		irq |= CSR5_TU;
	}
	d->ts = DEC_TS_SUSPENDED;
	dec_set_status(d, irq);
}

static void dec_tx_ready(void *opaque)
{
	struct dec21140 *d = opaque;

	pthread_mutex_lock(&d->lock);
	dec_tx_run(d);
	pthread_mutex_unlock(&d->lock);
}

/* ---- receive ------------------------------------------------------------ */

/* Reception may go on: tell the backend (never delivers from here). */
static void dec_rx_kick(struct dec21140 *d)
{
	if (!d->rx_blocked)
		return;
	d->rx_blocked = false;
	if (d->rx_retry_fd >= 0) {
		struct itimerspec its = { 0 };

		timerfd_settime(d->rx_retry_fd, 0, &its, NULL);
	}
	net_rx_resume(d->nb);
}

/* From a CSR access: the guest may have handed a descriptor back. */
static void dec_rx_peek(struct dec21140 *d)
{
	uint8_t b[4];

	if (d->rx_blocked && d->csr[6] & CSR6_SR &&
	    !gmem_read(d->gm, d->cur_rx, b, 4) && get_le32(b) & DESC_OWN)
		dec_rx_kick(d);
}

static int dec_rx_block(struct dec21140 *d)
{
	struct itimerspec its = { .it_value.tv_nsec = DEC_RX_RETRY_NS };

	d->stats.rx_nobuf++;
	d->rx_blocked = true;
	d->rs = DEC_RS_SUSPENDED;
	if (d->rx_retry_fd >= 0)
		timerfd_settime(d->rx_retry_fd, 0, &its, NULL);
	dec_set_status(d, CSR5_RU);
	return -ENOBUFS;
}

/* Write @len bytes of rxbuf into the owned descriptors from cur_rx. */
static int dec_rx_frame(struct dec21140 *d, size_t len, uint32_t flags)
{
	uint64_t descs[DEC_MAX_FRAG], cur = d->cur_rx;
	uint32_t des[DEC_MAX_FRAG][2], st;
	unsigned int n = 0, i;
	size_t cap = 0, off = 0;

	/* Find enough owned descriptors (bounded; a loop ends the list). */
	while (n < DEC_MAX_FRAG && cap < len) {
		uint32_t dd[4];
		bool chain;

		if (dec_desc_read(d, cur, dd))
			return -EFAULT;
		if (!(dd[0] & DESC_OWN))
			break;
		chain = dd[1] & RDES1_RCH;
		descs[n] = cur;
		des[n][0] = dd[2];
		des[n][1] = chain ? 0 : dd[3];
		cap += DESC_BS1(dd[1]);
		if (!chain)
			cap += DESC_BS2(dd[1]);
		n++;
		cur = dec_desc_next(d, d->csr[3], cur, dd[1], dd[3],
				    dd[1] & RDES1_RER, chain);
		if (cur == d->cur_rx)
			break;
	}
	if (!n)
		return dec_rx_block(d);
	if (cap < len && n < DEC_MAX_FRAG && cur != d->cur_rx) {
		/* The guest has not handed back enough yet: wait. */
		return dec_rx_block(d);
	}
	/* Fill in order; statuses last-to-first so the first closes last. */
	for (i = 0; i < n && off < len; i++) {
		uint32_t dd[4], l1, l2, c;

		if (dec_desc_read(d, descs[i], dd))
			return -EFAULT;
		l1 = DESC_BS1(dd[1]);
		l2 = dd[1] & RDES1_RCH ? 0 : DESC_BS2(dd[1]);
		c = len - off < l1 ? len - off : l1;
		if (c && gmem_write(d->gm, des[i][0], d->rxbuf + off, c)) {
			dec_bus_error(d, des[i][0]);
			return -EFAULT;
		}
		off += c;
		c = len - off < l2 ? len - off : l2;
		if (c && gmem_write(d->gm, des[i][1], d->rxbuf + off, c)) {
			dec_bus_error(d, des[i][1]);
			return -EFAULT;
		}
		off += c;
	}
	if (i < n)
		n = i; /* descriptors left over stay owned */
	if (!n)
		n = 1; /* zero-size buffers: close one to make progress */
	st = flags | RDES0_LS | (uint32_t)(len & 0x3fff) << RDES0_FL_SHIFT;
	if (off < len) {
		st |= RDES0_ES | RDES0_DE | RDES0_TL;
		d->stats.rx_truncated++;
		d->csr[8] = (d->csr[8] + 1) & 0x1ffff;
	}
	for (i = n; i-- > 0;) {
		uint32_t s = i == n - 1 ? st : 0;

		if (!i)
			s |= RDES0_FS;
		if (dec_desc_status(d, descs[i], s))
			return -EFAULT;
	}
	/* Where the next frame goes: after the last descriptor used. */
	cur = descs[n - 1];
	{
		uint32_t dd[4];

		if (dec_desc_read(d, cur, dd))
			return -EFAULT;
		d->cur_rx = dec_desc_next(d, d->csr[3], cur, dd[1], dd[3],
					  dd[1] & RDES1_RER, dd[1] & RDES1_RCH);
	}
	d->stats.rx_frames++;
	d->stats.rx_bytes += len - 4;
	d->rs = DEC_RS_WAIT;
	dec_set_status(d, CSR5_RI);
	return 0;
}

static int dec_receive(void *opaque, const void *frame, size_t len)
{
	struct dec21140 *d = opaque;
	const uint8_t *f = frame;
	uint32_t flags = 0, fcs;
	int r = 0;

	pthread_mutex_lock(&d->lock);
	if (!(d->csr[6] & CSR6_SR) || !d->link || len < 14 ||
	    len > NET_MAX_FRAME || !pci_bus_master_enabled(&d->pci)) {
		d->stats.rx_dropped++;
		net_count_drop(d->nb);
		goto out;
	}
	if (!dec_accept(d, f)) {
		d->stats.rx_filtered++;
		net_count_drop(d->nb);
		goto out;
	}
	if (f[0] & 1)
		flags |= RDES0_MF;
	if ((f[12] << 8 | f[13]) >= 0x600)
		flags |= RDES0_FT;
	memcpy(d->rxbuf, f, len);
	fcs = net_crc32(f, len);
	put_le32(d->rxbuf + len, fcs);
	r = dec_rx_frame(d, len + 4, flags);
	if (r == -EFAULT) {
		net_count_drop(d->nb);
		r = 0;
	}
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}

void dec21140_rx_retry(struct dec21140 *d)
{
	pthread_mutex_lock(&d->lock);
	dec_rx_kick(d);
	pthread_mutex_unlock(&d->lock);
}

/* ---- CSR access ---------------------------------------------------------- */

static void dec_csr6_write(struct dec21140 *d, uint32_t v)
{
	uint32_t old = d->csr[6];

	d->csr[6] = (v & ~CSR6_FILTER_BITS) | (old & CSR6_FILTER_BITS);
	if (v & CSR6_SR) {
		if (!(old & CSR6_SR) || d->rs == DEC_RS_STOPPED)
			d->rs = DEC_RS_WAIT;
		dec_rx_kick(d);
	} else {
		d->rs = DEC_RS_STOPPED;
	}
	if (v & CSR6_ST) {
		if (!(old & CSR6_ST))
			dec_tx_run(d);
	} else {
		d->ts = DEC_TS_STOPPED;
	}
}

static uint32_t dec_csr_read(struct dec21140 *d, unsigned int n)
{
	uint32_t v;

	dec_rx_peek(d);
	switch (n) {
	case 1:
	case 2:
		return 0xffffffff; /* write-only */
	case 5:
		return dec_csr5(d);
	case 8: /* missed frames: cleared by reading */
		v = d->csr[8];
		d->csr[8] = 0;
		return v;
	case 9:
		return dec_csr9_read(d);
	case 11:
		return dec_csr11_read(d);
	default:
		return d->csr[n];
	}
}

static void dec_csr_write(struct dec21140 *d, unsigned int n, uint32_t v)
{
	switch (n) {
	case 0:
		if (v & CSR0_SWR) {
			dec_reset(d);
			dec_rx_kick(d);
			return;
		}
		d->csr[0] = v;
		break;
	case 1: /* transmit poll demand */
		dec_tx_run(d);
		break;
	case 2: /* receive poll demand */
		if (d->csr[6] & CSR6_SR)
			d->rs = DEC_RS_WAIT;
		dec_rx_kick(d);
		break;
	case 3:
		d->csr[3] = v & ~3u;
		d->cur_rx = d->csr[3];
		dec_rx_kick(d);
		break;
	case 4:
		d->csr[4] = v & ~3u;
		d->cur_tx = d->csr[4];
		break;
	case 5:
		d->csr[5] &= ~(v & CSR5_W1C);
		if (v & CSR5_FBE)
			d->csr[5] &= ~(7u << 23);
		dec_update_irq(d);
		break;
	case 6:
		dec_csr6_write(d, v);
		break;
	case 7:
		d->csr[7] = v &
			    (CSR5_NORMAL | CSR5_ABNORMAL | CSR5_NIS | CSR5_AIS);
		dec_update_irq(d);
		break;
	case 8:
		break; /* read-only */
	case 9:
		dec_csr9_write(d, v);
		break;
	case 11:
		d->csr[11] = v & (0xffff | CSR11_CON);
		dec_gpt_arm(d);
		break;
	case 12: /* GP port: bit 8 set writes the direction */
		if (v & 0x100)
			d->gp_dir = v & 0xff;
		else
			d->csr[12] = v & 0xff;
		break;
	default:
		d->csr[n] = v;
		break;
	}
	dec_rx_peek(d);
}

static uint64_t dec_bar_read(void *opaque, uint64_t off, unsigned int size)
{
	struct dec21140 *d = opaque;
	uint32_t v;

	if (off >= DEC21140_CSR_SIZE)
		return ~0ull;
	pthread_mutex_lock(&d->lock);
	v = (off & 7) < 4 ? dec_csr_read(d, off >> 3) : 0;
	pthread_mutex_unlock(&d->lock);
	if ((off & 7) < 4)
		v >>= (off & 3) * 8;
	if (size < 4)
		v &= (1u << (size * 8)) - 1;
	return v;
}

static void dec_bar_write(void *opaque, uint64_t off, unsigned int size,
			  uint64_t value)
{
	struct dec21140 *d = opaque;

	if (off >= DEC21140_CSR_SIZE || (off & 7) || size != 4) {
		guest_err("%s: %u-byte CSR write at %#llx ignored", d->name,
			  size, (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&d->lock);
	dec_csr_write(d, off >> 3, (uint32_t)value);
	pthread_mutex_unlock(&d->lock);
}

static const struct bus_ops dec_bar_ops = {
	.read = dec_bar_read,
	.write = dec_bar_write,
};

/* ---- PCI, timers, lifecycle ----------------------------------------------- */

static void dec_bar_update(struct pci_device *dev, unsigned int bar,
			   bool mapped, uint64_t addr)
{
	struct dec21140 *d = dev->opaque;
	struct bus *bus;
	int r;

	if (bar > DEC21140_MEM_BAR)
		return;
	bus = bar == DEC21140_IO_BAR ? d->pio : d->mmio;
	if (!mapped) {
		if (d->bar_mapped[bar] && d->bar_addr[bar] == addr)
			bus_unregister(bus, addr);
		d->bar_mapped[bar] = false;
		return;
	}
	r = bus_register(bus, addr, DEC21140_CSR_SIZE, &dec_bar_ops, d,
			 d->name);
	if (r) {
		guest_err("%s: BAR%u at %#llx: %d", d->name, bar,
			  (unsigned long long)addr, r);
		return;
	}
	d->bar_mapped[bar] = true;
	d->bar_addr[bar] = addr;
}

static const struct pci_device_ops dec_pci_ops = {
	.bar_update = dec_bar_update,
};

void dec21140_timer_expire(struct dec21140 *d)
{
	pthread_mutex_lock(&d->lock);
	dec_gpt_expire_locked(d);
	pthread_mutex_unlock(&d->lock);
}

static void dec_timerfd_drain(int fd)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
}

static void dec_gpt_cb(void *opaque, uint32_t events)
{
	struct dec21140 *d = opaque;

	(void)events;
	dec_timerfd_drain(d->gpt_fd);
	dec21140_timer_expire(d);
}

static void dec_rx_retry_cb(void *opaque, uint32_t events)
{
	struct dec21140 *d = opaque;

	(void)events;
	dec_timerfd_drain(d->rx_retry_fd);
	dec21140_rx_retry(d);
}

static const struct net_client_ops dec_net_ops = {
	.receive = dec_receive,
	.tx_ready = dec_tx_ready,
};

void dec21140_set_link(struct dec21140 *d, bool up)
{
	pthread_mutex_lock(&d->lock);
	d->link = up;
	pthread_mutex_unlock(&d->lock);
}

bool dec21140_link(struct dec21140 *d)
{
	bool up;

	pthread_mutex_lock(&d->lock);
	up = d->link;
	pthread_mutex_unlock(&d->lock);
	return up;
}

void dec21140_get_stats(struct dec21140 *d, struct dec21140_stats *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->stats;
	pthread_mutex_unlock(&d->lock);
}

static void dec_close_timers(struct dec21140 *d)
{
	if (d->gpt_fd >= 0) {
		if (d->loop)
			evloop_del_fd(d->loop, d->gpt_fd);
		close(d->gpt_fd);
	}
	if (d->rx_retry_fd >= 0) {
		if (d->loop)
			evloop_del_fd(d->loop, d->rx_retry_fd);
		close(d->rx_retry_fd);
	}
	d->gpt_fd = d->rx_retry_fd = -1;
}

static int dec_open_timers(struct dec21140 *d)
{
	int r;

	d->gpt_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->rx_retry_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->gpt_fd < 0 || d->rx_retry_fd < 0)
		return -errno;
	r = evloop_add_fd(d->loop, d->gpt_fd, EPOLLIN, dec_gpt_cb, d);
	if (r) {
		close(d->gpt_fd);
		d->gpt_fd = -1;
		return r;
	}
	r = evloop_add_fd(d->loop, d->rx_retry_fd, EPOLLIN, dec_rx_retry_cb, d);
	if (r) {
		close(d->rx_retry_fd);
		d->rx_retry_fd = -1;
	}
	return r;
}

int dec21140_create(const struct dec21140_config *cfg, struct dec21140 **out)
{
	struct dec21140 *d;
	int r;

	if (!cfg->pio || !cfg->mmio || !cfg->pci || !cfg->gm || !cfg->nb)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	snprintf(d->name, sizeof(d->name), "%s", cfg->name ? cfg->name : "dec");
	d->pio = cfg->pio;
	d->mmio = cfg->mmio;
	d->gm = cfg->gm;
	d->nb = cfg->nb;
	d->loop = cfg->loop;
	d->link = true;
	d->gpt_fd = d->rx_retry_fd = -1;
	dec_srom_build(d, cfg->mac);
	dec_phy_reset(d);

	pci_device_init(&d->pci, d->name, DEC21140_VENDOR, DEC21140_DEVICE,
			DEC_CLASS, DEC_REVISION);
	put_le16(&d->pci.config[PCI_SUBSYSTEM_VENDOR_ID], DEC_SUBSYS_VENDOR);
	put_le16(&d->pci.config[PCI_SUBSYSTEM_ID], DEC_SUBSYS_ID);
	pci_device_set_bar(&d->pci, DEC21140_IO_BAR, PCI_BAR_IO,
			   DEC21140_CSR_SIZE, false);
	pci_device_set_bar(&d->pci, DEC21140_MEM_BAR, PCI_BAR_MEM32,
			   DEC21140_CSR_SIZE, false);
	pci_device_set_pin(&d->pci, 1);
	memset(&d->pci.wmask[0x40], 0xff, 4); /* CFDD: driver's sleep bits */
	d->pci.ops = &dec_pci_ops;
	d->pci.opaque = d;
	dec_reset(d);

	if (d->loop) {
		r = dec_open_timers(d);
		if (r)
			goto err_timers;
	}
	/* Frames arriving before the guest sets CSR6 SR are dropped. */
	r = net_attach(d->nb, d->loop, &dec_net_ops, d);
	if (r)
		goto err_timers;
	r = pci_register_device(cfg->pci, &d->pci, cfg->slot, 0);
	if (r)
		goto err_detach;
	*out = d;
	return 0;

err_detach:
	net_detach(d->nb);
err_timers:
	dec_close_timers(d);
	pthread_mutex_destroy(&d->lock);
	free(d);
	return r;
}

void dec21140_destroy(struct dec21140 *d)
{
	unsigned int i;

	if (!d)
		return;
	net_detach(d->nb);
	dec_close_timers(d);
	for (i = 0; i < 2; i++)
		if (d->bar_mapped[i])
			bus_unregister(i ? d->mmio : d->pio, d->bar_addr[i]);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
