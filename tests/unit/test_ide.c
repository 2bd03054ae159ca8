// SPDX-License-Identifier: MIT
/*
 * Unit tests: the PIIX4 IDE controller. Real temp raw files behind
 * block_open(), completions driven here with block_process_completions();
 * register sequences replayed from Linux's libata/ata_piix probe (devchk,
 * SRST, signature, IDENTIFY, SET FEATURES XFER, READ DMA, FLUSH), SeaBIOS's
 * polled ATA driver (PIO READ SECTORS), an ATAPI session, media changes and
 * hostile guests (bad PRD tables, bad packets, absent devices).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_gmem.h"
#include "fake_irq.h"
#include "hvkvm/block.h"
#include "hvkvm/bus.h"
#include "hvkvm/evloop.h"
#include "hvkvm/ide.h"
#include "hvkvm/pci.h"
#include "hvkvm/util.h"

#define DISK_SECTORS 16384u /* 8 MiB */
#define CD_BLOCKS 600u
#define RAM_SIZE (16 * MiB)
#define BM_PORT 0xc000
#define IDE_DEVFN PCI_DEVFN(1, 1)
#define PRDT 0x10000  /* descriptor table in guest RAM */
#define DATA 0x100000 /* DMA buffers in guest RAM */

static const uint16_t cmd_port[2] = { 0x1f0, 0x170 };
static const uint16_t ctl_port[2] = { 0x3f6, 0x376 };

struct env {
	struct bus pio;
	struct fake_irq irq;
	struct fake_gmem mem;
	struct pci_host *pci;
	struct ide *ide;
	struct block_dev *bd[IDE_NR_DRIVES]; /* as the test knows them */
	char path[IDE_NR_DRIVES][64];
};

/* ---- fixtures --------------------------------------------------------- */

/* Sector s (512 bytes) holds s in its first 8 bytes, then a pattern. */
static void pattern(uint8_t *b, uint64_t s)
{
	unsigned int i;

	for (i = 0; i < 512; i++)
		b[i] = (uint8_t)(s * 7 + i);
	put_le64(b, s);
}

static struct block_dev *make_image(struct env *e, unsigned int drive,
				    uint64_t sectors)
{
	struct block_opts o;
	struct block_dev *bd;
	uint8_t buf[512];
	uint64_t s;
	int fd;

	snprintf(e->path[drive], sizeof(e->path[drive]),
		 "/tmp/test_ide.XXXXXX");
	fd = mkstemp(e->path[drive]);
	assert_true(fd >= 0);
	for (s = 0; s < sectors; s++) {
		pattern(buf, s);
		assert_int_equal(write(fd, buf, 512), 512);
	}
	close(fd);
	block_opts_init(&o);
	o.format = BLOCK_FORMAT_RAW;
	o.cache = BLOCK_CACHE_WRITEBACK;
	assert_int_equal(block_open(e->path[drive], &o, &bd), 0);
	return bd;
}

/*
 * Drive 0: disk; drive @cdd: CD-ROM (with a medium if @cd). With @loop its
 * thread runs the completions and e->bd stays empty (pump() does nothing).
 */
static struct env *env_new_loop(bool disk, bool cd, unsigned int cdd,
				struct evloop *loop)
{
	struct env *e = calloc(1, sizeof(*e));
	struct ide_config cfg = { 0 };

	assert_int_equal(bus_init(&e->pio, "pio"), 0);
	fake_irq_init(&e->irq);
	assert_int_equal(fake_gmem_init(&e->mem, RAM_SIZE), 0);
	assert_int_equal(pci_create(&e->pio, &e->irq.sink, NULL, &e->pci), 0);
	cfg.pio = &e->pio;
	cfg.pci = e->pci;
	cfg.irq = &e->irq.sink;
	cfg.gm = &e->mem.gm;
	cfg.loop = loop;
	if (disk) {
		e->bd[0] = make_image(e, 0, DISK_SECTORS);
		cfg.drives[0].media = IDE_MEDIA_DISK;
		cfg.drives[0].bd = e->bd[0];
	}
	cfg.drives[0].serial = "disk-serial-0123456789";
	cfg.drives[cdd].media = IDE_MEDIA_CDROM;
	if (cd) {
		e->bd[cdd] = make_image(e, cdd, CD_BLOCKS * 4);
		cfg.drives[cdd].bd = e->bd[cdd];
	}
	assert_int_equal(ide_create(&cfg, &e->ide), 0);
	if (loop)
		memset(e->bd, 0, sizeof(e->bd));
	return e;
}

static struct env *env_new(bool disk, bool cd, unsigned int cdd)
{
	return env_new_loop(disk, cd, cdd, NULL);
}

static void env_free(struct env *e)
{
	unsigned int i;

	ide_destroy(e->ide);
	pci_destroy(e->pci);
	bus_destroy(&e->pio);
	fake_gmem_destroy(&e->mem);
	for (i = 0; i < IDE_NR_DRIVES; i++)
		if (e->path[i][0])
			unlink(e->path[i]);
	free(e);
}

static int setup(void **state)
{
	*state = env_new(true, true, 2);
	return 0;
}

static int teardown(void **state)
{
	env_free(*state);
	return 0;
}

/* ---- port helpers ----------------------------------------------------- */

static uint64_t in(struct env *e, uint16_t port, unsigned int size)
{
	uint64_t v = 0;

	bus_read(&e->pio, port, size, &v);
	return v;
}

static void out(struct env *e, uint16_t port, unsigned int size, uint64_t v)
{
	bus_write(&e->pio, port, size, v);
}

static uint8_t inb(struct env *e, uint16_t port)
{
	return (uint8_t)in(e, port, 1);
}

static void outb(struct env *e, uint16_t port, uint8_t v)
{
	out(e, port, 1, v);
}

static void pump(struct env *e)
{
	unsigned int i;

	for (i = 0; i < IDE_NR_DRIVES; i++)
		if (e->bd[i])
			block_process_completions(e->bd[i]);
}

/* Poll the alternate status until BSY clears, running completions. */
static uint8_t wait_ready(struct env *e, unsigned int ch)
{
	unsigned int i;
	uint8_t st = 0;

	for (i = 0; i < 5000; i++) {
		st = inb(e, ctl_port[ch]);
		if (!(st & 0x80))
			return st;
		poll(NULL, 0, 1);
		pump(e);
	}
	fail_msg("channel %u stays busy (status %#x)", ch, st);
	return st;
}

static void select_dev(struct env *e, unsigned int ch, unsigned int dev,
		       uint8_t extra)
{
	outb(e, cmd_port[ch] + 6, (uint8_t)(0xa0 | (dev << 4) | extra));
}

/* LBA28 taskfile + command. */
static void ata_cmd(struct env *e, unsigned int ch, uint8_t feature,
		    uint8_t nsect, uint32_t lba, uint8_t cmd)
{
	uint16_t b = cmd_port[ch];

	outb(e, b + 1, feature);
	outb(e, b + 2, nsect);
	outb(e, b + 3, (uint8_t)lba);
	outb(e, b + 4, (uint8_t)(lba >> 8));
	outb(e, b + 5, (uint8_t)(lba >> 16));
	outb(e, b + 6, (uint8_t)(0xe0 | ((lba >> 24) & 0x0f)));
	outb(e, b + 7, cmd);
}

/* LBA48: high bytes first (they end up in HOB), as libata writes them. */
static void ata_cmd48(struct env *e, unsigned int ch, uint16_t nsect,
		      uint64_t lba, uint8_t cmd)
{
	uint16_t b = cmd_port[ch];

	outb(e, b + 2, (uint8_t)(nsect >> 8));
	outb(e, b + 3, (uint8_t)(lba >> 24));
	outb(e, b + 4, (uint8_t)(lba >> 32));
	outb(e, b + 5, (uint8_t)(lba >> 40));
	outb(e, b + 2, (uint8_t)nsect);
	outb(e, b + 3, (uint8_t)lba);
	outb(e, b + 4, (uint8_t)(lba >> 8));
	outb(e, b + 5, (uint8_t)(lba >> 16));
	outb(e, b + 6, 0x40);
	outb(e, b + 7, cmd);
}

/* Read @words 16-bit words from the data port. */
static void pio_in(struct env *e, unsigned int ch, uint16_t *w,
		   unsigned int words)
{
	unsigned int i;

	for (i = 0; i < words; i++)
		w[i] = (uint16_t)in(e, cmd_port[ch], 2);
}

static void identify(struct env *e, unsigned int ch, uint8_t cmd, uint16_t *id)
{
	uint8_t st;

	outb(e, cmd_port[ch] + 7, cmd);
	st = wait_ready(e, ch);
	assert_true(st & 0x08); /* DRQ */
	pio_in(e, ch, id, 256);
	st = inb(e, cmd_port[ch] + 7);
	assert_false(st & 0x08);
}

static void check_sectors(const uint8_t *b, uint64_t first, unsigned int n)
{
	uint8_t want[512];
	unsigned int i;

	for (i = 0; i < n; i++) {
		pattern(want, first + i);
		assert_memory_equal(b + i * 512, want, 512);
	}
}

static void id_string(const uint16_t *id, unsigned int w, unsigned int n,
		      char *out)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		out[2 * i] = (char)(id[w + i] >> 8);
		out[2 * i + 1] = (char)id[w + i];
	}
	out[2 * n] = 0;
}

static void id_check_sum(const uint16_t *id)
{
	uint8_t sum = 0;
	unsigned int i;

	for (i = 0; i < 256; i++)
		sum = (uint8_t)(sum + (id[i] & 0xff) + (id[i] >> 8));
	assert_int_equal(sum, 0);
	assert_int_equal(id[255] & 0xff, 0xa5);
}

/* BAR4 at BM_PORT, I/O decode and bus mastering on. */
static void bm_enable(struct env *e)
{
	pci_config_write(e->pci, IDE_DEVFN, 0x20, 4, BM_PORT | 1);
	pci_config_write(e->pci, IDE_DEVFN, PCI_COMMAND, 2,
			 PCI_COMMAND_IO | PCI_COMMAND_MASTER);
}

static void prd_set(struct env *e, unsigned int i, uint32_t addr,
		    uint32_t count, bool eot)
{
	uint8_t *p = e->mem.ram + PRDT + 8 * i;

	put_le32(p, addr);
	put_le32(p + 4, (count & 0xffff) | (eot ? 0x80000000u : 0));
}

static void bm_arm(struct env *e, unsigned int ch, bool to_mem)
{
	uint16_t bm = (uint16_t)(BM_PORT + 8 * ch);

	outb(e, bm, 0);
	out(e, bm + 4, 4, PRDT);
	outb(e, bm + 2, 0x06); /* clear error and interrupt */
	outb(e, bm, to_mem ? 0x08 : 0x00);
}

static void bm_start(struct env *e, unsigned int ch, bool to_mem)
{
	outb(e, (uint16_t)(BM_PORT + 8 * ch), to_mem ? 0x09 : 0x01);
}

static uint8_t bm_status(struct env *e, unsigned int ch)
{
	return inb(e, (uint16_t)(BM_PORT + 8 * ch + 2));
}

/* ---- PCI function ----------------------------------------------------- */

static void test_ide_pci_function(void **state)
{
	struct env *e = *state;
	uint64_t v;

	assert_int_equal(pci_config_read(e->pci, IDE_DEVFN, 0, 4), 0x71118086);
	assert_int_equal(pci_config_read(e->pci, IDE_DEVFN, 0x08, 4) >> 8,
			 0x010180);
	/* 00:01.0 now says multi-function. */
	assert_true(pci_config_read(e->pci, PCI_DEVFN(1, 0), 0x0e, 1) & 0x80);
	/* Timing registers: defaults, masks, read back. */
	assert_int_equal(pci_config_read(e->pci, IDE_DEVFN, 0x40, 2), 0x8000);
	pci_config_write(e->pci, IDE_DEVFN, 0x40, 4, 0xffffffff);
	assert_int_equal(pci_config_read(e->pci, IDE_DEVFN, 0x40, 4),
			 0xf3fff3ff);
	pci_config_write(e->pci, IDE_DEVFN, 0x44, 1, 0x5a);
	assert_int_equal(pci_config_read(e->pci, IDE_DEVFN, 0x44, 1), 0x5a);
	pci_config_write(e->pci, IDE_DEVFN, 0x48, 1, 0xff);
	assert_int_equal(pci_config_read(e->pci, IDE_DEVFN, 0x48, 1), 0x0f);
	pci_config_write(e->pci, IDE_DEVFN, 0x4a, 2, 0xffff);
	assert_int_equal(pci_config_read(e->pci, IDE_DEVFN, 0x4a, 2), 0x3333);
	/* BAR4 sizing: 16 I/O ports; BAR0 stays unused (legacy mode). */
	pci_config_write(e->pci, IDE_DEVFN, 0x20, 4, 0xffffffff);
	assert_int_equal(pci_config_read(e->pci, IDE_DEVFN, 0x20, 4),
			 0xfffffff1);
	pci_config_write(e->pci, IDE_DEVFN, 0x10, 4, 0xffffffff);
	assert_int_equal(pci_config_read(e->pci, IDE_DEVFN, 0x10, 4), 0);
	/* Map, read the PRDT register back, move, unmap. */
	bm_enable(e);
	out(e, BM_PORT + 4, 4, 0x12345677);
	assert_int_equal(in(e, BM_PORT + 4, 4), 0x12345674);
	pci_config_write(e->pci, IDE_DEVFN, 0x20, 4, 0xd001);
	assert_false(bus_read(&e->pio, BM_PORT + 4, 4, &v));
	assert_true(bus_read(&e->pio, 0xd004, 4, &v));
	assert_int_equal(v, 0x12345674);
	pci_config_write(e->pci, IDE_DEVFN, PCI_COMMAND, 2, 0);
	assert_false(bus_read(&e->pio, 0xd004, 4, &v));
	/* The legacy ports are there regardless. */
	assert_true(bus_read(&e->pio, 0x1f7, 1, &v));
	assert_true(bus_read(&e->pio, 0x376, 1, &v));
}

/* ---- Linux libata / ata_piix probe ------------------------------------ */

/* ata_devchk(): nsect/lbal read back only from a present device. */
static bool devchk(struct env *e, unsigned int ch, unsigned int dev)
{
	uint16_t b = cmd_port[ch];

	select_dev(e, ch, dev, 0);
	outb(e, b + 2, 0x55);
	outb(e, b + 3, 0xaa);
	outb(e, b + 2, 0xaa);
	outb(e, b + 3, 0x55);
	outb(e, b + 2, 0x55);
	outb(e, b + 3, 0xaa);
	return inb(e, b + 2) == 0x55 && inb(e, b + 3) == 0xaa;
}

static void srst(struct env *e, unsigned int ch, uint8_t ctl)
{
	outb(e, ctl_port[ch], ctl | 0x04);
	assert_int_equal(inb(e, ctl_port[ch]) & 0x80, 0x80);
	outb(e, ctl_port[ch], ctl);
}

static void test_ide_libata_probe(void **state)
{
	struct env *e = *state;
	uint16_t id[256];
	char s[41];
	uint8_t *buf = e->mem.ram + DATA;
	unsigned int raises;

	assert_true(devchk(e, 0, 0));
	assert_false(devchk(e, 0, 1)); /* no slave */
	select_dev(e, 0, 0, 0);
	srst(e, 0, 0x00);
	assert_int_equal(wait_ready(e, 0), 0x50);
	/* ata_sff_dev_classify(): error 1, ATA signature. */
	assert_int_equal(inb(e, 0x1f1), 0x01);
	assert_int_equal(inb(e, 0x1f2), 0x01);
	assert_int_equal(inb(e, 0x1f3), 0x01);
	assert_int_equal(inb(e, 0x1f4), 0x00);
	assert_int_equal(inb(e, 0x1f5), 0x00);
	/* The absent slave: everything reads 0 -> ATA_DEV_NONE. */
	select_dev(e, 0, 1, 0);
	assert_int_equal(inb(e, 0x1f7), 0);
	assert_int_equal(inb(e, 0x1f1), 0);
	assert_int_equal(inb(e, 0x1f4), 0);
	select_dev(e, 0, 0, 0);

	/* IDENTIFY with interrupts on. */
	raises = e->irq.raises[14];
	identify(e, 0, 0xec, id);
	assert_int_equal(e->irq.raises[14], raises + 1);
	assert_false(e->irq.level[14]); /* the status read cleared it */
	id_check_sum(id);
	id_string(id, 27, 20, s);
	assert_memory_equal(s, "Virtual HD ", 11);
	id_string(id, 10, 10, s);
	assert_string_equal(s, "disk-serial-01234567"); /* cut to 20 */
	id_string(id, 23, 4, s);
	assert_string_equal(s, "1.1.0   ");
	assert_int_equal(id[0], 0x0040);
	assert_int_equal(id[60] | (uint32_t)id[61] << 16, DISK_SECTORS);
	assert_int_equal(id[100], DISK_SECTORS);
	assert_int_equal(id[101] | id[102] | id[103], 0);
	assert_true(id[83] & (1u << 10)); /* LBA48 */
	assert_true(id[83] & (1u << 13)); /* FLUSH CACHE EXT */
	assert_true(id[85] & (1u << 5));  /* write cache on */
	assert_int_equal(id[1], DISK_SECTORS / (16 * 63));
	assert_int_equal(id[3], 16);
	assert_int_equal(id[6], 63);
	assert_int_equal(id[88] & 0xff00, 0);

	/* SET FEATURES - XFER MODE UDMA/33 (mode 2). */
	ata_cmd(e, 0, 0x03, 0x42, 0, 0xef);
	assert_int_equal(wait_ready(e, 0) & 0x01, 0);
	assert_int_equal(inb(e, 0x1f7), 0x50);
	identify(e, 0, 0xec, id);
	assert_int_equal(id[88] & 0xff00, 1u << 10);
	assert_int_equal(id[63] & 0xff00, 0);
	id_check_sum(id);

	/* READ DMA: 16 sectors at 100 in two PRDs (4 KiB each). */
	bm_enable(e);
	memset(buf, 0xcc, 8192);
	prd_set(e, 0, DATA, 4096, false);
	prd_set(e, 1, DATA + 4096, 4096, true);
	bm_arm(e, 0, true);
	raises = e->irq.raises[14];
	ata_cmd(e, 0, 0, 16, 100, 0xc8);
	bm_start(e, 0, true);
	assert_int_equal(wait_ready(e, 0), 0x50);
	assert_true(e->irq.level[14]);
	/* ata_bmdma_status: interrupt, not active, no error. */
	assert_int_equal(bm_status(e, 0) & 0x07, 0x04);
	outb(e, BM_PORT, 0x08);	    /* ata_bmdma_stop */
	outb(e, BM_PORT + 2, 0x04); /* ata_bmdma_irq_clear */
	assert_int_equal(bm_status(e, 0) & 0x07, 0);
	assert_int_equal(inb(e, 0x1f7), 0x50);
	assert_false(e->irq.level[14]);
	assert_int_equal(e->irq.raises[14], raises + 1);
	check_sectors(buf, 100, 16);

	/* WRITE DMA EXT of 8 sectors at 2000, then FLUSH CACHE EXT. */
	memset(buf, 0x5a, 4096);
	prd_set(e, 0, DATA, 4096, true);
	bm_arm(e, 0, false);
	ata_cmd48(e, 0, 8, 2000, 0x35);
	bm_start(e, 0, false);
	assert_int_equal(wait_ready(e, 0), 0x50);
	assert_int_equal(bm_status(e, 0) & 0x07, 0x04);
	outb(e, BM_PORT, 0);
	outb(e, 0x1f7, 0xea);
	assert_int_equal(wait_ready(e, 0), 0x50);
	/* Read it back by DMA into zeroed memory. */
	memset(buf, 0, 4096);
	bm_arm(e, 0, true);
	ata_cmd48(e, 0, 8, 2000, 0x25);
	bm_start(e, 0, true);
	assert_int_equal(wait_ready(e, 0), 0x50);
	for (unsigned int i = 0; i < 4096; i++)
		assert_int_equal(buf[i], 0x5a);
}

/* ---- SeaBIOS ata.c (polled, nIEN) ------------------------------------- */

static void test_ide_seabios_pio_read(void **state)
{
	struct env *e = *state;
	uint8_t data[3 * 512];
	uint16_t id[256];
	unsigned int i, raises = e->irq.raises[14];

	/* ata_reset(): HD15 | nIEN | SRST, then HD15 | nIEN. */
	outb(e, 0x3f6, 0x08 | 0x02 | 0x04);
	outb(e, 0x3f6, 0x08 | 0x02);
	wait_ready(e, 0);
	/* init_drive_atapi(): IDENTIFY PACKET aborts on a disk. */
	select_dev(e, 0, 0, 0);
	outb(e, 0x1f7, 0xa1);
	assert_int_equal(wait_ready(e, 0), 0x51);
	assert_int_equal(inb(e, 0x1f1), 0x04);
	identify(e, 0, 0xec, id);
	/* READ SECTORS: 3 sectors at LBA 77, one DRQ block each. */
	ata_cmd(e, 0, 0, 3, 77, 0x20);
	for (i = 0; i < 3; i++) {
		uint8_t st = wait_ready(e, 0);

		assert_int_equal(st, 0x58);
		pio_in(e, 0, (uint16_t *)(data + i * 512), 256);
	}
	assert_int_equal(wait_ready(e, 0), 0x50);
	check_sectors(data, 77, 3);
	/* 32-bit PIO works too: CHS 0/1/1 = LBA 63, then sector 1. */
	outb(e, 0x1f2, 1);
	outb(e, 0x1f3, 1); /* sector 1 */
	outb(e, 0x1f4, 0);
	outb(e, 0x1f5, 0);
	outb(e, 0x1f6, 0xa1); /* CHS, head 1 */
	outb(e, 0x1f7, 0x20);
	assert_int_equal(wait_ready(e, 0), 0x58);
	for (i = 0; i < 128; i++)
		put_le32(data + 4 * i, (uint32_t)in(e, 0x1f0, 4));
	check_sectors(data, 63, 1);
	/* nIEN: the line never rose. */
	assert_int_equal(e->irq.raises[14], raises);
}

/* ---- more ATA --------------------------------------------------------- */

static void test_ide_pio_write_multiple(void **state)
{
	struct env *e = *state;
	uint8_t data[20 * 512], back[20 * 512];
	unsigned int i, blocks = 0;
	uint8_t st;
	int fd;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 1);
	select_dev(e, 0, 0, 0);
	/* Without SET MULTIPLE, WRITE MULTIPLE aborts. */
	ata_cmd(e, 0, 0, 20, 300, 0xc5);
	assert_int_equal(wait_ready(e, 0), 0x51);
	assert_int_equal(inb(e, 0x1f1), 0x04);
	ata_cmd(e, 0, 0, 3, 0, 0xc6); /* not a power of two */
	assert_int_equal(wait_ready(e, 0), 0x51);
	ata_cmd(e, 0, 0, 8, 0, 0xc6);
	assert_int_equal(wait_ready(e, 0), 0x50);
	ata_cmd(e, 0, 0, 20, 300, 0xc5);
	for (i = 0; i < 20;) {
		unsigned int n = MIN(8u, 20 - i), w;

		st = wait_ready(e, 0);
		assert_int_equal(st, 0x58);
		for (w = 0; w < n * 256; w++)
			out(e, 0x1f0, 2, get_le16(data + i * 512 + 2 * w));
		i += n;
		blocks++;
	}
	assert_int_equal(blocks, 3);
	assert_int_equal(wait_ready(e, 0), 0x50);
	/* READ MULTIPLE EXT: same data, blocks of 8. */
	ata_cmd48(e, 0, 20, 300, 0x29);
	for (i = 0; i < 20;) {
		unsigned int n = MIN(8u, 20 - i);

		assert_int_equal(wait_ready(e, 0), 0x58);
		pio_in(e, 0, (uint16_t *)(back + i * 512), n * 256);
		i += n;
	}
	assert_int_equal(wait_ready(e, 0), 0x50);
	assert_memory_equal(data, back, sizeof(data));
	/* And in the file itself. */
	fd = open(e->path[0], O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, back, sizeof(back), 300 * 512),
			 (ssize_t)sizeof(back));
	close(fd);
	assert_memory_equal(data, back, sizeof(data));
	/* Write cache off: WRITE SECTORS still completes (write + flush). */
	ata_cmd(e, 0, 0x82, 0, 0, 0xef);
	assert_int_equal(wait_ready(e, 0), 0x50);
	ata_cmd(e, 0, 0, 1, 5, 0x30);
	assert_int_equal(wait_ready(e, 0), 0x58);
	for (i = 0; i < 256; i++)
		out(e, 0x1f0, 2, 0xbeef);
	assert_int_equal(wait_ready(e, 0), 0x50);
}

static void test_ide_ata_misc(void **state)
{
	struct env *e = *state;
	uint16_t id[256];

	select_dev(e, 0, 0, 0);
	/* HOB read back of an LBA48 taskfile. */
	ata_cmd48(e, 0, 0x0102, 0x030405060708ULL, 0x42); /* VERIFY EXT */
	assert_int_equal(wait_ready(e, 0), 0x51);	  /* past the end */
	assert_int_equal(inb(e, 0x1f1) & 0x10, 0x10);	  /* IDNF */
	outb(e, 0x3f6, 0x80);
	assert_int_equal(inb(e, 0x1f2), 0x01);
	assert_int_equal(inb(e, 0x1f3), 0x05);
	assert_int_equal(inb(e, 0x1f5), 0x03);
	outb(e, 0x3f6, 0x00);
	assert_int_equal(inb(e, 0x1f2), 0x02);
	assert_int_equal(inb(e, 0x1f3), 0x08);
	ata_cmd48(e, 0, 16, 1000, 0x42);
	assert_int_equal(wait_ready(e, 0), 0x50);
	/* Unknown, bad SET FEATURES, NOP: ABRT. */
	ata_cmd(e, 0, 0, 0, 0, 0xb0); /* SMART */
	assert_int_equal(wait_ready(e, 0), 0x51);
	assert_int_equal(inb(e, 0x1f1), 0x04);
	ata_cmd(e, 0, 0x03, 0x46, 0, 0xef); /* UDMA 6 */
	assert_int_equal(wait_ready(e, 0), 0x51);
	ata_cmd(e, 0, 0x55, 0, 0, 0xef);
	assert_int_equal(wait_ready(e, 0), 0x51);
	ata_cmd(e, 0, 0, 0, 0, 0x00);
	assert_int_equal(wait_ready(e, 0), 0x51);
	/* Power: STANDBY IMMEDIATE -> CHECK POWER MODE 00h, IDLE -> FFh. */
	ata_cmd(e, 0, 0, 0, 0, 0xe0);
	assert_int_equal(wait_ready(e, 0), 0x50);
	ata_cmd(e, 0, 0, 0x55, 0, 0xe5);
	assert_int_equal(wait_ready(e, 0), 0x50);
	assert_int_equal(inb(e, 0x1f2), 0x00);
	ata_cmd(e, 0, 0, 0, 0, 0xe1);
	wait_ready(e, 0);
	ata_cmd(e, 0, 0, 0x55, 0, 0xe5);
	wait_ready(e, 0);
	assert_int_equal(inb(e, 0x1f2), 0xff);
	/* INITIALIZE DEVICE PARAMETERS: 8 heads, 32 sectors. */
	outb(e, 0x1f2, 32);
	outb(e, 0x1f6, 0xa7);
	outb(e, 0x1f7, 0x91);
	assert_int_equal(wait_ready(e, 0), 0x50);
	identify(e, 0, 0xec, id);
	assert_int_equal(id[55], 8);
	assert_int_equal(id[56], 32);
	assert_int_equal(id[54], DISK_SECTORS / (8 * 32));
	/* PIO past the end of the disk: IDNF, no data phase. */
	ata_cmd(e, 0, 0, 2, DISK_SECTORS - 1, 0x20);
	assert_int_equal(wait_ready(e, 0), 0x51);
	assert_int_equal(inb(e, 0x1f1) & 0x10, 0x10);
	ata_cmd48(e, 0, 1, DISK_SECTORS, 0x24);
	assert_int_equal(wait_ready(e, 0), 0x51);
	/* nIEN masks a pending INTRQ and unmasking shows it again. */
	ata_cmd(e, 0, 0, 1, 0, 0x40);
	wait_ready(e, 0);
	assert_true(e->irq.level[14]);
	outb(e, 0x3f6, 0x02);
	assert_false(e->irq.level[14]);
	outb(e, 0x3f6, 0x00);
	assert_true(e->irq.level[14]);
	inb(e, 0x1f7);
	assert_false(e->irq.level[14]);
	/* Write cache off shows in word 85. */
	ata_cmd(e, 0, 0x82, 0, 0, 0xef);
	wait_ready(e, 0);
	identify(e, 0, 0xec, id);
	assert_false(id[85] & (1u << 5));
	/* SLEEP: commands abort until a reset; EXECUTE DIAGNOSTIC. */
	ata_cmd(e, 0, 0, 0, 0, 0xe6);
	wait_ready(e, 0);
	ata_cmd(e, 0, 0, 1, 0, 0x40);
	assert_int_equal(wait_ready(e, 0), 0x51);
	outb(e, 0x1f7, 0x90);
	assert_int_equal(wait_ready(e, 0), 0x50);
	assert_int_equal(inb(e, 0x1f1), 0x01);
	assert_int_equal(inb(e, 0x1f2), 0x01);
	ata_cmd(e, 0, 0, 1, 0, 0x40);
	assert_int_equal(wait_ready(e, 0), 0x50);
}

static void test_ide_absent_devices(void **state)
{
	struct env *e = env_new(true, false, 2);
	unsigned int i;

	(void)state;
	/* Primary slave absent: status 0, commands ignored. */
	select_dev(e, 0, 1, 0);
	outb(e, 0x1f7, 0xec);
	assert_int_equal(inb(e, 0x1f7), 0);
	assert_int_equal(inb(e, 0x3f6), 0);
	assert_int_equal(in(e, 0x1f0, 2), 0xffff);
	assert_int_equal(e->irq.raises[14], 0);
	/* The master did not see the slave's command. */
	select_dev(e, 0, 0, 0);
	assert_int_equal(inb(e, 0x1f7), 0x50);
	/* Secondary: an empty CD-ROM answers; its slave never does. */
	select_dev(e, 1, 1, 0);
	for (i = 1; i < 8; i++)
		assert_int_equal(inb(e, (uint16_t)(0x170 + i)), 0);
	outb(e, 0x376, 0x04);
	outb(e, 0x376, 0x00);
	assert_int_equal(inb(e, 0x177), 0);
	env_free(e);
}

static void test_ide_srst_during_io(void **state)
{
	struct env *e = *state;

	select_dev(e, 0, 0, 0);
	ata_cmd(e, 0, 0, 200, 10, 0x20);
	assert_true(inb(e, 0x3f6) & 0x80); /* the read is in flight */
	outb(e, 0x3f6, 0x04);
	outb(e, 0x3f6, 0x00);
	/* Busy until the old request came back, then the signature. */
	assert_int_equal(wait_ready(e, 0), 0x50);
	assert_int_equal(inb(e, 0x1f2), 1);
	assert_int_equal(inb(e, 0x1f1), 1);
	assert_int_equal(in(e, 0x1f0, 2), 0xffff); /* no data phase */
	/* The channel works afterwards. */
	ata_cmd(e, 0, 0, 1, 10, 0x20);
	assert_int_equal(wait_ready(e, 0), 0x58);
}

/* ---- hostile bus-master programs -------------------------------------- */

/* A READ DMA of @n sectors with the table already written; status back. */
static uint8_t dma_read(struct env *e, uint8_t n, uint8_t *bmst)
{
	uint8_t st;

	bm_arm(e, 0, true);
	ata_cmd(e, 0, 0, n, 0, 0xc8);
	bm_start(e, 0, true);
	st = wait_ready(e, 0);
	*bmst = bm_status(e, 0);
	outb(e, BM_PORT, 0);
	outb(e, BM_PORT + 2, 0x06);
	return st;
}

static void test_ide_dma_hostile(void **state)
{
	struct env *e = *state;
	uint8_t bmst, st;
	unsigned int i;

	bm_enable(e);
	select_dev(e, 0, 0, 0);
	/* No EOT anywhere: 2-byte entries fill the whole 64 KiB table. */
	for (i = 0; i < 8192; i++)
		prd_set(e, i, DATA, 2, false);
	st = dma_read(e, 0, &bmst); /* 256 sectors */
	assert_int_equal(st, 0x51);
	assert_int_equal(inb(e, 0x1f1), 0x04);
	assert_int_equal(bmst & 0x07, 0x06); /* error + interrupt */
	/* Outside RAM. */
	prd_set(e, 0, 0xf0000000u, 512, true);
	assert_int_equal(dma_read(e, 1, &bmst), 0x51);
	assert_int_equal(bmst & 0x07, 0x06);
	/* Straddling guest RAM's end. */
	prd_set(e, 0, RAM_SIZE - 256, 512, true);
	assert_int_equal(dma_read(e, 1, &bmst), 0x51);
	/* EOT before the transfer is complete. */
	prd_set(e, 0, DATA, 512, true);
	assert_int_equal(dma_read(e, 2, &bmst), 0x51);
	assert_int_equal(bmst & 0x07, 0x06);
	/* A region crossing a 64 KiB boundary. */
	prd_set(e, 0, DATA + 0xff00, 512, true);
	assert_int_equal(dma_read(e, 1, &bmst), 0x51);
	/* Count 0 = 64 KiB, odd address and count bits ignored. */
	prd_set(e, 0, DATA | 1, 0, true);
	assert_int_equal(dma_read(e, 128, &bmst), 0x50);
	assert_int_equal(bmst & 0x07, 0x04);
	check_sectors(e->mem.ram + DATA, 0, 128);
	prd_set(e, 0, DATA, 257, false); /* = 256 */
	prd_set(e, 1, DATA + 256, 256, true);
	assert_int_equal(dma_read(e, 1, &bmst), 0x50);
	check_sectors(e->mem.ram + DATA, 0, 1);
	/* Table larger than the transfer: interrupt, still active. */
	prd_set(e, 0, DATA, 4096, true);
	assert_int_equal(dma_read(e, 1, &bmst), 0x50);
	assert_int_equal(bmst & 0x07, 0x05);
	/* Table outside RAM. */
	bm_arm(e, 0, true);
	out(e, BM_PORT + 4, 4, 0xfff00000u);
	ata_cmd(e, 0, 0, 1, 0, 0xc8);
	bm_start(e, 0, true);
	assert_int_equal(wait_ready(e, 0), 0x51);
	assert_true(bm_status(e, 0) & 0x02);
	outb(e, BM_PORT, 0);
	/* Bus mastering disabled in the command register. */
	pci_config_write(e->pci, IDE_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_IO);
	prd_set(e, 0, DATA, 512, true);
	assert_int_equal(dma_read(e, 1, &bmst), 0x51);
	assert_true(bmst & 0x02);
	/* Past the end of the disk. */
	bm_enable(e);
	bm_arm(e, 0, true);
	ata_cmd(e, 0, 0, 16, DISK_SECTORS - 8, 0xc8);
	bm_start(e, 0, true);
	assert_int_equal(wait_ready(e, 0), 0x51);
	assert_int_equal(inb(e, 0x1f1) & 0x10, 0x10);
}

/* ---- ATAPI ------------------------------------------------------------ */

/* PACKET: @cdb, PIO with byte count limit @bcl or DMA. Returns status. */
static uint8_t packet(struct env *e, const uint8_t *cdb, uint16_t bcl, bool dma)
{
	unsigned int i;
	uint8_t st;

	select_dev(e, 1, 0, 0);
	outb(e, 0x171, dma ? 0x01 : 0x00);
	outb(e, 0x174, (uint8_t)bcl);
	outb(e, 0x175, (uint8_t)(bcl >> 8));
	outb(e, 0x177, 0xa0);
	st = wait_ready(e, 1);
	assert_int_equal(st & 0x08, 0x08);
	assert_int_equal(inb(e, 0x172) & 0x03, 0x01); /* CoD, to device */
	for (i = 0; i < 6; i++)
		out(e, 0x170, 2, get_le16(cdb + 2 * i));
	if (dma)
		bm_start(e, 1, true);
	return wait_ready(e, 1);
}

/* Drain a PIO data-in phase into @buf; returns bytes. */
static uint32_t packet_data(struct env *e, uint8_t *buf, uint32_t max,
			    uint16_t bcl)
{
	uint32_t got = 0;
	uint8_t st = inb(e, 0x376);

	while (st & 0x08) {
		uint32_t n = inb(e, 0x174) | (uint32_t)inb(e, 0x175) << 8, i;

		assert_int_equal(inb(e, 0x172) & 0x03, 0x02); /* data in */
		assert_true(n <= bcl && n > 0);
		for (i = 0; i < n; i += 2) {
			uint16_t w = (uint16_t)in(e, 0x170, 2);

			if (got + i < max)
				buf[got + i] = (uint8_t)w;
			if (got + i + 1 < max)
				buf[got + i + 1] = (uint8_t)(w >> 8);
		}
		got += n;
		st = wait_ready(e, 1);
	}
	assert_int_equal(inb(e, 0x172) & 0x03, 0x03); /* status phase */
	return got;
}

/* A PIO data-in packet that succeeds; returns the bytes it sent. */
static uint32_t reply(struct env *e, const uint8_t *cdb, uint8_t *b,
		      uint16_t bcl)
{
	assert_int_equal(packet(e, cdb, bcl, false) & 0x01, 0);
	return packet_data(e, b, 4096, bcl);
}

static void sense(struct env *e, uint8_t *key, uint8_t *asc, uint8_t *ascq)
{
	uint8_t cdb[12] = { 0x03, 0, 0, 0, 18 }, b[18];

	assert_int_equal(packet(e, cdb, 18, false) & 0x01, 0);
	assert_int_equal(packet_data(e, b, sizeof(b), 18), 18);
	assert_int_equal(b[0], 0x70);
	*key = b[2] & 0x0f;
	*asc = b[12];
	*ascq = b[13];
}

static void expect_sense(struct env *e, const uint8_t *cdb, uint8_t key,
			 uint8_t asc, uint8_t ascq)
{
	uint8_t k, a, q, st = packet(e, cdb, 2048, false);

	assert_int_equal(st & 0x09, 0x01);
	assert_int_equal(inb(e, 0x171) >> 4, key);
	sense(e, &k, &a, &q);
	assert_int_equal(k, key);
	assert_int_equal(a, asc);
	assert_int_equal(q, ascq);
}

static void test_ide_atapi_session(void **state)
{
	struct env *e = *state;
	static const uint8_t tur[12] = { 0x00 };
	uint8_t cdb[12], b[4096];
	uint16_t id[256];
	char s[41];
	uint32_t n;

	/* Signature after SRST; IDENTIFY DEVICE aborts with it. */
	outb(e, 0x376, 0x04);
	outb(e, 0x376, 0x00);
	select_dev(e, 1, 0, 0);
	assert_int_equal(wait_ready(e, 1), 0x00);
	assert_int_equal(inb(e, 0x174), 0x14);
	assert_int_equal(inb(e, 0x175), 0xeb);
	outb(e, 0x177, 0xec);
	assert_int_equal(wait_ready(e, 1) & 0x01, 0x01);
	assert_int_equal(inb(e, 0x174), 0x14);
	identify(e, 1, 0xa1, id);
	assert_int_equal(id[0], 0x85c0);
	id_check_sum(id);
	id_string(id, 27, 20, s);
	assert_memory_equal(s, "Virtual CD ", 11);

	/* TEST UNIT READY -> unit attention -> REQUEST SENSE -> ready. */
	expect_sense(e, tur, 6, 0x28, 0);
	assert_int_equal(packet(e, tur, 0, false), 0x40);
	/* INQUIRY. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x12;
	cdb[4] = 96;
	assert_int_equal(packet(e, cdb, 96, false) & 0x01, 0);
	assert_int_equal(packet_data(e, b, sizeof(b), 96), 36);
	assert_int_equal(b[0], 0x05);
	assert_memory_equal(b + 8, "Msft    Virtual CD/ROM", 22);
	/* READ CAPACITY. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x25;
	assert_int_equal(reply(e, cdb, b, 8), 8);
	assert_int_equal(get_be32(b), CD_BLOCKS - 1);
	assert_int_equal(get_be32(b + 4), 2048);
	/* READ(10) by PIO: 2 blocks at 5 with a 1000-byte limit. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x28;
	put_be32(cdb + 2, 5);
	put_be16(cdb + 7, 2);
	n = reply(e, cdb, b, 1000);
	assert_int_equal(n, 4096);
	check_sectors(b, 20, 8);
	/* ... and by DMA. */
	bm_enable(e);
	prd_set(e, 0, DATA, 4096, false);
	prd_set(e, 1, DATA + 4096, 2048, true);
	bm_arm(e, 1, true);
	put_be32(cdb + 2, 100);
	put_be16(cdb + 7, 3);
	assert_int_equal(packet(e, cdb, 0, true), 0x40);
	assert_int_equal(inb(e, 0x172) & 0x03, 0x03);
	assert_int_equal(bm_status(e, 1) & 0x07, 0x04);
	outb(e, BM_PORT + 8, 0);
	check_sectors(e->mem.ram + DATA, 400, 12);
	/* READ(12) by DMA, reply commands by DMA (REQUEST SENSE). */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0xa8;
	put_be32(cdb + 2, CD_BLOCKS - 1);
	put_be32(cdb + 6, 1);
	prd_set(e, 0, DATA, 2048, true);
	bm_arm(e, 1, true);
	assert_int_equal(packet(e, cdb, 0, true), 0x40);
	outb(e, BM_PORT + 8, 0);
	check_sectors(e->mem.ram + DATA, (CD_BLOCKS - 1) * 4, 4);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x03;
	cdb[4] = 18;
	memset(e->mem.ram + DATA, 0xee, 32);
	prd_set(e, 0, DATA, 32, true);
	bm_arm(e, 1, true);
	assert_int_equal(packet(e, cdb, 0, true), 0x40);
	assert_int_equal(bm_status(e, 1) & 0x07, 0x05); /* PRD larger */
	outb(e, BM_PORT + 8, 0);
	assert_int_equal(e->mem.ram[DATA], 0x70);
	assert_int_equal(e->mem.ram[DATA + 18], 0xee);
}

static void test_ide_atapi_info(void **state)
{
	struct env *e = *state;
	static const uint8_t tur[12] = { 0x00 };
	uint8_t cdb[12], b[4096];
	uint32_t n;

	expect_sense(e, tur, 6, 0x28, 0);
	/* READ TOC format 0, LBA and MSF. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x43;
	put_be16(cdb + 7, 512);
	n = reply(e, cdb, b, 512);
	assert_int_equal(n, 20);
	assert_int_equal(get_be16(b), 18);
	assert_int_equal(b[6], 1);
	assert_int_equal(b[14], 0xaa);
	assert_int_equal(get_be32(b + 16), CD_BLOCKS);
	cdb[1] = 0x02;
	reply(e, cdb, b, 512);
	assert_int_equal(b[9], 0); /* 00:02:00 */
	assert_int_equal(b[10], 2);
	/* Format 1 (sessions) and 2 (raw). */
	cdb[1] = 0;
	cdb[2] = 1;
	assert_int_equal(reply(e, cdb, b, 512), 12);
	assert_int_equal(get_be16(b), 10);
	cdb[2] = 2;
	assert_int_equal(reply(e, cdb, b, 512), 4 + 4 * 11);
	assert_int_equal(b[4 + 3], 0xa0);
	assert_int_equal(b[4 + 2 * 11 + 3], 0xa2);
	cdb[2] = 5;
	expect_sense(e, cdb, 5, 0x24, 0);
	/* GET CONFIGURATION: CD-ROM profile current; RT=2 for one feature. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x46;
	put_be16(cdb + 7, 512);
	n = reply(e, cdb, b, 512);
	assert_int_equal(get_be32(b), n - 4);
	assert_int_equal(get_be16(b + 6), 0x0008);
	cdb[1] = 2;
	put_be16(cdb + 2, 0x0003);
	assert_int_equal(reply(e, cdb, b, 512), 16);
	assert_int_equal(get_be16(b + 8), 0x0003);
	/* GET EVENT STATUS NOTIFICATION: polled only; new medium once. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x4a;
	cdb[4] = 0x10;
	put_be16(cdb + 7, 8);
	expect_sense(e, cdb, 5, 0x24, 0);
	cdb[1] = 1;
	assert_int_equal(reply(e, cdb, b, 8), 8);
	assert_int_equal(b[4], 2);
	assert_int_equal(b[5], 2);
	reply(e, cdb, b, 8);
	assert_int_equal(b[4], 0);
	/* MODE SENSE(10) 2Ah, 01h, 3Fh; a bad page; saved values. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x5a;
	cdb[2] = 0x2a;
	put_be16(cdb + 7, 512);
	assert_int_equal(reply(e, cdb, b, 512), 30);
	assert_int_equal(b[8], 0x2a);
	assert_int_equal(b[14] & 0x03, 0x01); /* lock supported, off */
	cdb[2] = 0x01;
	assert_int_equal(reply(e, cdb, b, 512), 20);
	cdb[2] = 0x3f;
	assert_int_equal(reply(e, cdb, b, 512), 42);
	cdb[2] = 0x0e;
	expect_sense(e, cdb, 5, 0x24, 0);
	cdb[2] = 0xea;
	expect_sense(e, cdb, 5, 0x39, 0);
	/* Allocation length cuts the reply. */
	cdb[2] = 0x2a;
	put_be16(cdb + 7, 10);
	assert_int_equal(reply(e, cdb, b, 512), 10);
	/* MECHANISM STATUS, READ DISC INFORMATION, SET CD SPEED. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0xbd;
	put_be16(cdb + 8, 8);
	assert_int_equal(reply(e, cdb, b, 8), 8);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x51;
	put_be16(cdb + 7, 34);
	assert_int_equal(reply(e, cdb, b, 64), 34);
	assert_int_equal(b[2], 0x0e);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0xbb;
	assert_int_equal(packet(e, cdb, 0, false), 0x40);
}

static void test_ide_atapi_media_change(void **state)
{
	struct env *e = *state;
	static const uint8_t tur[12] = { 0x00 };
	uint8_t cdb[12] = { 0 }, b[4096];
	struct block_dev *bd;

	expect_sense(e, tur, 6, 0x28, 0);
	assert_true(ide_has_medium(e->ide, 2));
	/* PREVENT MEDIUM REMOVAL: host eject refused, guest eject too. */
	cdb[0] = 0x1e;
	cdb[4] = 1;
	assert_int_equal(packet(e, cdb, 0, false), 0x40);
	assert_int_equal(ide_eject(e->ide, 2, false), -EBUSY);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x1b;
	cdb[4] = 0x02;
	expect_sense(e, cdb, 5, 0x53, 2);
	/* Forced eject: medium not present. */
	assert_int_equal(ide_eject(e->ide, 2, true), 0);
	e->bd[2] = NULL;
	assert_false(ide_has_medium(e->ide, 2));
	assert_int_equal(ide_eject(e->ide, 2, true), -ENOMEDIUM);
	expect_sense(e, tur, 2, 0x3a, 0);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x28;
	put_be16(cdb + 7, 1);
	expect_sense(e, cdb, 2, 0x3a, 0);
	cdb[0] = 0x25;
	expect_sense(e, cdb, 2, 0x3a, 0);
	/* Not a CD / not a drive. */
	assert_int_equal(ide_eject(e->ide, 0, true), -ENODEV);
	assert_int_equal(ide_eject(e->ide, 9, true), -ENODEV);
	/* Insert: unit attention, then the new medium reads. */
	bd = make_image(e, 3, 64 * 4);
	assert_int_equal(ide_insert(e->ide, 0, bd), -ENODEV);
	assert_int_equal(ide_insert(e->ide, 2, bd), 0);
	e->bd[2] = bd;
	assert_int_equal(ide_insert(e->ide, 2, bd), -EBUSY);
	expect_sense(e, tur, 6, 0x28, 0);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x25;
	reply(e, cdb, b, 8);
	assert_int_equal(get_be32(b), 63);
	cdb[0] = 0x28;
	put_be32(cdb + 2, 63);
	put_be16(cdb + 7, 1);
	assert_int_equal(reply(e, cdb, b, 2048), 2048);
	check_sectors(b, 252, 4);
	/* Guest tray open/close via START STOP UNIT. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x1b;
	cdb[4] = 0x02;
	assert_int_equal(packet(e, cdb, 0, false), 0x40);
	expect_sense(e, tur, 2, 0x3a, 2);
	cdb[4] = 0x03;
	assert_int_equal(packet(e, cdb, 0, false), 0x40);
	assert_int_equal(packet(e, tur, 0, false), 0x40);
}

static void test_ide_atapi_hostile(void **state)
{
	struct env *e = *state;
	static const uint8_t tur[12] = { 0x00 };
	uint8_t cdb[12] = { 0 }, b[4096], k, a, q;
	unsigned int i;

	expect_sense(e, tur, 6, 0x28, 0);
	/* Unknown opcode, EVPD, READ past the end. */
	cdb[0] = 0xff;
	expect_sense(e, cdb, 5, 0x20, 0);
	cdb[0] = 0x12;
	cdb[1] = 1;
	expect_sense(e, cdb, 5, 0x24, 0);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x28;
	put_be32(cdb + 2, CD_BLOCKS - 1);
	put_be16(cdb + 7, 2);
	expect_sense(e, cdb, 5, 0x21, 0);
	put_be32(cdb + 2, 0xffffffff);
	expect_sense(e, cdb, 5, 0x21, 0);
	/* Byte count limit 0 and odd: pieces stay even and bounded. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x28;
	put_be16(cdb + 7, 1);
	packet(e, cdb, 0, false);
	assert_int_equal(packet_data(e, b, sizeof(b), 0xfffe), 2048);
	assert_int_equal(reply(e, cdb, b, 333), 2048);
	check_sectors(b, 0, 4);
	/* A CDB cut short by SRST, then a packet with bytes to spare. */
	select_dev(e, 1, 0, 0);
	outb(e, 0x177, 0xa0);
	out(e, 0x170, 2, 0x0028);
	outb(e, 0x376, 0x04);
	outb(e, 0x376, 0x00);
	wait_ready(e, 1);
	for (i = 0; i < 20; i++)
		out(e, 0x170, 2, 0xffff); /* no data phase: dropped */
	assert_int_equal(packet(e, tur, 0, false), 0x40);
	/* Commands while DRQ are ignored. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x12;
	cdb[4] = 36;
	packet(e, cdb, 36, false);
	outb(e, 0x177, 0xa0);
	assert_int_equal(packet_data(e, b, sizeof(b), 36), 36);
	/* DEVICE RESET in the middle of a data phase. */
	packet(e, cdb, 36, false);
	outb(e, 0x177, 0x08);
	assert_int_equal(inb(e, 0x177), 0x00);
	assert_int_equal(inb(e, 0x174), 0x14);
	/* DMA with a PRD table outside RAM: ABORTED COMMAND, BM error. */
	bm_enable(e);
	bm_arm(e, 1, true);
	out(e, BM_PORT + 12, 4, 0xfff00000u);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x28;
	put_be16(cdb + 7, 1);
	assert_int_equal(packet(e, cdb, 0, true) & 0x01, 0x01);
	assert_int_equal(bm_status(e, 1) & 0x07, 0x06);
	outb(e, BM_PORT + 8, 0);
	assert_int_equal(inb(e, 0x171) >> 4, 0x0b);
	sense(e, &k, &a, &q);
	assert_int_equal(k, 0x0b);
	/* A medium smaller than one block is refused. */
	assert_int_equal(ide_insert(e->ide, 2, NULL), -EINVAL);
	/* Empty drive. */
	assert_int_equal(ide_eject(e->ide, 2, false), 0);
	e->bd[2] = NULL;
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x43;
	put_be16(cdb + 7, 12);
	expect_sense(e, cdb, 2, 0x3a, 0);
	cdb[0] = 0x51;
	expect_sense(e, cdb, 2, 0x3a, 0);
}

/* A disk master and a CD-ROM slave on one channel, as on many PCs. */
static void test_ide_master_disk_slave_cd(void **state)
{
	struct env *e = env_new(true, true, 1);
	static const uint8_t tur[12] = { 0x00 };
	uint16_t id[256];
	uint8_t b[512];
	unsigned int i;

	(void)state;
	assert_true(devchk(e, 0, 0));
	assert_true(devchk(e, 0, 1));
	select_dev(e, 0, 0, 0);
	srst(e, 0, 0x00);
	assert_int_equal(wait_ready(e, 0), 0x50);
	assert_int_equal(inb(e, 0x1f1), 0x01); /* slave passed too */
	assert_int_equal(inb(e, 0x1f4), 0x00);
	select_dev(e, 0, 1, 0);
	assert_int_equal(inb(e, 0x1f7), 0x00);
	assert_int_equal(inb(e, 0x1f4), 0x14);
	assert_int_equal(inb(e, 0x1f5), 0xeb);
	identify(e, 0, 0xa1, id);
	assert_int_equal(id[0], 0x85c0);
	/* A PIO read on the master, then the slave answers a packet. */
	select_dev(e, 0, 0, 0);
	ata_cmd(e, 0, 0, 1, 9, 0x20);
	assert_int_equal(wait_ready(e, 0), 0x58);
	pio_in(e, 0, (uint16_t *)b, 256);
	check_sectors(b, 9, 1);
	select_dev(e, 0, 1, 0);
	outb(e, 0x1f4, 0);
	outb(e, 0x1f5, 0);
	outb(e, 0x1f7, 0xa0);
	assert_int_equal(wait_ready(e, 0) & 0x08, 0x08);
	for (i = 0; i < 6; i++)
		out(e, 0x1f0, 2, get_le16(tur + 2 * i));
	assert_int_equal(wait_ready(e, 0) & 0x01, 0x01); /* UA */
	assert_int_equal(inb(e, 0x1f1) >> 4, 6);
	/* The master kept its own registers and status. */
	select_dev(e, 0, 0, 0);
	assert_int_equal(inb(e, 0x1f7), 0x50);
	assert_int_equal(inb(e, 0x1f1), 0x00);
	/* DIAGNOSTIC resets both; the master's error says the slave passed. */
	outb(e, 0x1f7, 0x90);
	assert_int_equal(wait_ready(e, 0), 0x50);
	assert_int_equal(inb(e, 0x1f1), 0x01);
	select_dev(e, 0, 1, 0);
	assert_int_equal(inb(e, 0x1f5), 0xeb);
	env_free(e);
}

/* ---- threads ---------------------------------------------------------- */

struct reader {
	struct env *e;
	unsigned int ch;
	int errors;
};

static void *reader_thread(void *opaque)
{
	struct reader *r = opaque;
	struct env *e = r->e;
	uint8_t b[2048], want[512];
	unsigned int it, i;

	for (it = 0; it < 50; it++) {
		unsigned int s = it * 5;
		uint8_t st;

		if (r->ch == 0) {
			ata_cmd(e, 0, 0, 4, s, 0x20);
			for (i = 0; i < 4; i++) {
				while ((st = inb(e, 0x3f6)) & 0x80)
					poll(NULL, 0, 0);
				pio_in(e, 0, (uint16_t *)(b + 512 * i), 256);
			}
		} else {
			uint8_t cdb[12] = { 0x28 };
			uint16_t w;

			put_be32(cdb + 2, s);
			put_be16(cdb + 7, 1);
			select_dev(e, 1, 0, 0);
			outb(e, 0x174, 0x00);
			outb(e, 0x175, 0x08);
			outb(e, 0x177, 0xa0);
			for (i = 0; i < 6; i++)
				out(e, 0x170, 2, get_le16(cdb + 2 * i));
			while ((st = inb(e, 0x376)) & 0x80)
				poll(NULL, 0, 0);
			for (i = 0; i < 1024; i++) {
				w = (uint16_t)in(e, 0x170, 2);
				put_le16(b + 2 * i, w);
			}
			s *= 4;
		}
		while (inb(e, ctl_port[r->ch]) & 0x80)
			poll(NULL, 0, 0);
		for (i = 0; i < 4; i++) {
			pattern(want, s + i);
			if (memcmp(b + 512 * i, want, 512))
				r->errors++;
		}
	}
	return NULL;
}

static volatile bool io_stop;

static void *io_thread(void *opaque)
{
	struct env *e = opaque;

	while (!__atomic_load_n(&io_stop, __ATOMIC_ACQUIRE)) {
		pump(e);
		poll(NULL, 0, 0);
	}
	return NULL;
}

static void test_ide_two_channels_two_threads(void **state)
{
	struct env *e = *state;
	static const uint8_t tur[12] = { 0x00 };
	struct reader r[2] = { { e, 0, 0 }, { e, 1, 0 } };
	pthread_t t[3];
	unsigned int i;

	expect_sense(e, tur, 6, 0x28, 0);
	select_dev(e, 0, 0, 0);
	io_stop = false;
	assert_int_equal(pthread_create(&t[2], NULL, io_thread, e), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(
			pthread_create(&t[i], NULL, reader_thread, &r[i]), 0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	__atomic_store_n(&io_stop, true, __ATOMIC_RELEASE);
	pthread_join(t[2], NULL);
	assert_int_equal(r[0].errors, 0);
	assert_int_equal(r[1].errors, 0);
}

struct loop_eject {
	struct ide *ide;
	int ret;
	bool done;
};

static void loop_eject_fn(void *opaque)
{
	struct loop_eject *l = opaque;

	l->ret = ide_eject(l->ide, 2, true);
	__atomic_store_n(&l->done, true, __ATOMIC_RELEASE);
}

/* With an evloop the controller watches its media's completion fds. */
static void test_ide_evloop_completions(void **state)
{
	struct loop_eject le = { 0 };
	struct evloop *loop;
	struct env *e;
	uint8_t b[1024];
	unsigned int i;

	(void)state;
	assert_int_equal(evloop_create(&loop), 0);
	assert_int_equal(evloop_start(loop, "ide-io"), 0);
	e = env_new_loop(true, true, 2, loop);
	select_dev(e, 0, 0, 0);
	ata_cmd(e, 0, 0, 2, 40, 0x20);
	for (i = 0; i < 2; i++) {
		assert_int_equal(wait_ready(e, 0), 0x58);
		pio_in(e, 0, (uint16_t *)(b + 512 * i), 256);
	}
	check_sectors(b, 40, 2);
	/* Media change on the loop thread, as the control socket does. */
	le.ide = e->ide;
	assert_int_equal(evloop_call(loop, loop_eject_fn, &le), 0);
	for (i = 0; i < 5000 && !__atomic_load_n(&le.done, __ATOMIC_ACQUIRE);
	     i++)
		poll(NULL, 0, 1);
	assert_true(le.done);
	assert_int_equal(le.ret, 0);
	assert_false(ide_has_medium(e->ide, 2));
	assert_int_equal(ide_insert(e->ide, 2, make_image(e, 3, 16)), 0);
	assert_true(ide_has_medium(e->ide, 2));
	evloop_stop(loop);
	env_free(e);
	evloop_destroy(loop);
}

static void test_ide_reset_and_create_errors(void **state)
{
	struct env *e = *state;
	struct ide_config cfg = { 0 };
	struct ide *ide;

	/* Reboot: settings back to power-on, a unit attention for the CD. */
	ata_cmd(e, 0, 0, 8, 0, 0xc6);
	wait_ready(e, 0);
	ide_reset(e->ide);
	ata_cmd(e, 0, 0, 1, 0, 0xc4);
	assert_int_equal(wait_ready(e, 0), 0x51);
	/* Bad configurations. */
	cfg.pio = &e->pio;
	cfg.pci = e->pci;
	cfg.irq = &e->irq.sink;
	assert_int_equal(ide_create(&cfg, &ide), -EINVAL); /* no gmem */
	cfg.gm = &e->mem.gm;
	cfg.drives[1].media = IDE_MEDIA_DISK; /* no bd */
	assert_int_equal(ide_create(&cfg, &ide), -EINVAL);
	cfg.drives[1].media = IDE_MEDIA_NONE;
	assert_int_equal(ide_create(&cfg, &ide), -EEXIST); /* ports */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ide_pci_function, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ide_libata_probe, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ide_seabios_pio_read,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ide_pio_write_multiple,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ide_ata_misc, setup,
						teardown),
		cmocka_unit_test(test_ide_absent_devices),
		cmocka_unit_test(test_ide_master_disk_slave_cd),
		cmocka_unit_test_setup_teardown(test_ide_srst_during_io, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ide_dma_hostile, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ide_atapi_session, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ide_atapi_info, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ide_atapi_media_change,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ide_atapi_hostile, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_ide_two_channels_two_threads, setup, teardown),
		cmocka_unit_test(test_ide_evloop_completions),
		cmocka_unit_test_setup_teardown(
			test_ide_reset_and_create_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
