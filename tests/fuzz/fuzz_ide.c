// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the PIIX4 IDE controller (a disk on the primary
 * master, a CD-ROM on the secondary master, two absent slaves) driven by a
 * byte stream of port accesses, PCI config writes, PRD entries written into
 * guest RAM, ATAPI packets, completions and host media changes. Checks that
 * nothing crashes, trips a sanitizer, loops without bound (-timeout),
 * touches an interrupt other than ISA IRQ 14/15, or leaves a request that
 * never completes (the reset after each input waits for BSY to clear).
 *
 * Input: records of 4 bytes { op, a, b, c }, op & 7:
 *   0 write b to port[a]        1 read port[a] (size 1 << (b & 3) & 7)
 *   2 write b | c << 8 to the data port of channel a & 1 (2 bytes)
 *   3 PRD entry a % 64 = the next 8 input bytes (address kept in RAM)
 *   4 run completions (b & 7) + 1 times
 *   5 config write of b at offset a; a == 0: BAR4 = 0xc000, IO + master
 *   6 host: b % 3 = eject (forced if c & 1) / insert / ide_reset
 *   7 PACKET on channel a & 1: the next 12 input bytes as the CDB
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake_gmem.h"
#include "hvkvm/block.h"
#include "hvkvm/bus.h"
#include "hvkvm/ide.h"
#include "hvkvm/irq.h"
#include "hvkvm/pci.h"
#include "hvkvm/util.h"

#define RAM_SIZE (2 * MiB)
#define PRDT 0x1000
#define BM_PORT 0xc000
#define DISK_SIZE (1 * MiB)
#define CD_SIZE (512 * KiB)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t ports[] = {
	0x1f0,	0x1f1,	0x1f2,	0x1f3,	0x1f4,	0x1f5,	0x1f6,	0x1f7,	0x3f6,
	0x170,	0x171,	0x172,	0x173,	0x174,	0x175,	0x176,	0x177,	0x376,
	0xc000, 0xc001, 0xc002, 0xc003, 0xc004, 0xc005, 0xc006, 0xc007, 0xc008,
	0xc009, 0xc00a, 0xc00b, 0xc00c, 0xc00d, 0xc00e, 0xc00f,
};

struct fuzz {
	struct bus pio;
	struct irq_sink irq;
	struct fake_gmem mem;
	struct pci_host *pci;
	struct ide *ide;
	struct block_dev *disk, *cd; /* the ones the controller holds */
};

static char disk_path[64], cd_path[64];

static int set_line(void *opaque, unsigned int gsi, bool level)
{
	(void)opaque;
	(void)level;
	if (gsi != 14 && gsi != 15)
		abort();
	return 0;
}

static int msi(void *opaque, uint64_t address, uint32_t data)
{
	(void)opaque;
	(void)address;
	(void)data;
	abort();
}

static const struct irq_sink_ops irq_ops = {
	.set_line = set_line,
	.msi = msi,
};

/* A memfd image with a recognisable pattern, by /proc path. */
static void make_image(char *path, size_t len, uint64_t size)
{
	int fd = memfd_create("fuzz-ide", 0);
	uint8_t *b;

	if (fd < 0 || ftruncate(fd, (off_t)size))
		abort();
	b = calloc(1, size);
	for (size_t i = 0; i < size; i++)
		b[i] = (uint8_t)(i * 31 + (i >> 9));
	if (write(fd, b, size) != (ssize_t)size)
		abort();
	free(b);
	snprintf(path, len, "/proc/self/fd/%d", fd);
}

static struct block_dev *open_image(const char *path, bool readonly)
{
	struct block_opts o;
	struct block_dev *bd;

	block_opts_init(&o);
	o.format = BLOCK_FORMAT_RAW;
	o.cache = BLOCK_CACHE_WRITEBACK;
	o.queue_depth = 8;
	o.readonly = readonly;
	if (block_open(path, &o, &bd))
		abort();
	return bd;
}

static void pump(struct fuzz *f)
{
	if (f->disk)
		block_process_completions(f->disk);
	if (f->cd)
		block_process_completions(f->cd);
}

static void host_event(struct fuzz *f, uint8_t b, uint8_t c)
{
	struct block_dev *bd;

	switch (b % 3) {
	case 0:
		if (!ide_eject(f->ide, 2, c & 1))
			f->cd = NULL;
		break;
	case 1:
		if (f->cd)
			break;
		bd = open_image(cd_path, true);
		if (ide_insert(f->ide, 2, bd))
			block_close(bd);
		else
			f->cd = bd;
		break;
	default:
		ide_reset(f->ide);
		break;
	}
}

static void packet(struct fuzz *f, unsigned int ch, const uint8_t *cdb)
{
	uint16_t base = ch ? 0x170 : 0x1f0;
	unsigned int i;

	bus_write(&f->pio, base + 7, 1, 0xa0);
	for (i = 0; i < 6; i++)
		bus_write(&f->pio, base, 2, get_le16(cdb + 2 * i));
}

static void run(struct fuzz *f, const uint8_t *data, size_t size)
{
	size_t i = 0;
	uint64_t v;

	while (i + 4 <= size) {
		uint8_t op = data[i], a = data[i + 1], b = data[i + 2];
		uint8_t c = data[i + 3];
		unsigned int n;

		i += 4;
		switch (op & 7) {
		case 0:
			bus_write(&f->pio, ports[a % ARRAY_SIZE(ports)], 1, b);
			break;
		case 1:
			n = 1u << (b & 3);
			bus_read(&f->pio, ports[a % ARRAY_SIZE(ports)],
				 n > 4 ? 4 : n, &v);
			break;
		case 2:
			bus_write(&f->pio, (a & 1) ? 0x170 : 0x1f0, 2,
				  (uint64_t)(b | c << 8));
			break;
		case 3:
			if (i + 8 > size)
				return;
			memcpy(f->mem.ram + PRDT + 8 * (a % 64), data + i, 8);
			/* Mostly inside RAM; the top bit keeps some outside. */
			if (!(data[i + 3] & 0x80))
				f->mem.ram[PRDT + 8 * (a % 64) + 3] = 0;
			i += 8;
			break;
		case 4:
			for (n = 0; n <= (b & 7u); n++)
				pump(f);
			break;
		case 5:
			if (!a) {
				pci_config_write(f->pci, PCI_DEVFN(1, 1), 0x20,
						 4, BM_PORT | 1);
				pci_config_write(f->pci, PCI_DEVFN(1, 1), 4, 2,
						 PCI_COMMAND_IO |
							 PCI_COMMAND_MASTER);
			} else {
				pci_config_write(f->pci, PCI_DEVFN(1, 1), a, 1,
						 b);
			}
			break;
		case 6:
			host_event(f, b, c);
			break;
		case 7:
			if (i + 12 > size)
				return;
			packet(f, a & 1, data + i);
			i += 12;
			break;
		}
	}
}

/* One machine for every input: creating it costs an RCU grace period. */
static void setup(struct fuzz *f)
{
	struct ide_config cfg = { 0 };

	log_set_level(LOG_ERR);
	make_image(disk_path, sizeof(disk_path), DISK_SIZE);
	make_image(cd_path, sizeof(cd_path), CD_SIZE);
	if (bus_init(&f->pio, "pio"))
		abort();
	f->irq.ops = &irq_ops;
	if (fake_gmem_init(&f->mem, RAM_SIZE))
		abort();
	if (pci_create(&f->pio, &f->irq, NULL, &f->pci))
		abort();
	f->disk = open_image(disk_path, false);
	f->cd = open_image(cd_path, true);
	cfg.pio = &f->pio;
	cfg.pci = f->pci;
	cfg.irq = &f->irq;
	cfg.gm = &f->mem.gm;
	cfg.drives[0].media = IDE_MEDIA_DISK;
	cfg.drives[0].bd = f->disk;
	cfg.drives[2].media = IDE_MEDIA_CDROM;
	cfg.drives[2].bd = f->cd;
	if (ide_create(&cfg, &f->ide))
		abort();
}

/*
 * Power-on state: a reset leaves a channel BSY only while a request is
 * still in flight, and every request must come back (else: a hang).
 */
static void reboot(struct fuzz *f)
{
	unsigned int spins;
	uint64_t st0, st1;

	pci_reset(f->pci);
	ide_reset(f->ide);
	for (spins = 0;; spins++) {
		bus_read(&f->pio, 0x3f6, 1, &st0);
		bus_read(&f->pio, 0x376, 1, &st1);
		if (!((st0 | st1) & 0x80))
			break;
		if (spins > 10000)
			abort();
		poll(NULL, 0, 1);
		pump(f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz f;
	static bool init;

	if (!init) {
		setup(&f);
		init = true;
	}
	if (!f.cd)
		host_event(&f, 1, 0); /* the medium back in */
	reboot(&f);
	memset(f.mem.ram, 0, RAM_SIZE);
	run(&f, data, size);
	reboot(&f);
	return 0;
}
