// SPDX-License-Identifier: MIT
/* Unit tests: QEMU fw_cfg traditional interface and file directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_gmem.h"
#include "hvkvm/bus.h"
#include "hvkvm/fw_cfg.h"
#include "hvkvm/util.h"

struct env {
	struct bus pio;
	struct fw_cfg *fw;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	bus_init(&e->pio, "pio");
	assert_int_equal(fw_cfg_create(&e->pio, &e->fw), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	fw_cfg_destroy(e->fw);
	free(e);
	return 0;
}

static void sel(struct env *e, uint16_t key)
{
	assert_true(bus_write(&e->pio, FW_CFG_PORT_SEL, 2, key));
}

/* Read @len bytes the way SeaBIOS does: one inb at a time. */
static void rd(struct env *e, void *buf, size_t len)
{
	uint8_t *b = buf;
	uint64_t v;
	size_t i;

	for (i = 0; i < len; i++) {
		assert_true(bus_read(&e->pio, FW_CFG_PORT_DATA, 1, &v));
		b[i] = (uint8_t)v;
	}
}

static void test_fw_cfg_signature_and_id(void **state)
{
	struct env *e = *state;
	uint8_t buf[8];

	sel(e, FW_CFG_SIGNATURE);
	rd(e, buf, 4);
	assert_memory_equal(buf, "QEMU", 4);
	/* Re-selecting rewinds. */
	sel(e, FW_CFG_SIGNATURE);
	rd(e, buf, 2);
	assert_memory_equal(buf, "QE", 2);
	sel(e, FW_CFG_ID);
	rd(e, buf, 4);
	assert_int_equal(get_le32(buf), FW_CFG_ID_TRADITIONAL);
	/* The selector port reads back. */
	uint64_t v;
	assert_true(bus_read(&e->pio, FW_CFG_PORT_SEL, 2, &v));
	assert_int_equal(v, FW_CFG_ID);
	/* After reset the signature is selected again. */
	fw_cfg_reset(e->fw);
	rd(e, buf, 4);
	assert_memory_equal(buf, "QEMU", 4);
}

static void test_fw_cfg_items_and_read_past_end(void **state)
{
	struct env *e = *state;
	uint8_t buf[16];
	const char cmdline[] = "console=ttyS0";

	assert_int_equal(fw_cfg_add_u16(e->fw, FW_CFG_NB_CPUS, 4), 0);
	assert_int_equal(fw_cfg_add_u16(e->fw, FW_CFG_MAX_CPUS, 8), 0);
	assert_int_equal(fw_cfg_add_u64(e->fw, FW_CFG_RAM_SIZE, 512 * MiB), 0);
	assert_int_equal(
		fw_cfg_add_u32(e->fw, FW_CFG_CMDLINE_SIZE, sizeof(cmdline)), 0);
	assert_int_equal(fw_cfg_add_item(e->fw, FW_CFG_CMDLINE_DATA, cmdline,
					 sizeof(cmdline)),
			 0);
	sel(e, FW_CFG_NB_CPUS);
	rd(e, buf, 2);
	assert_int_equal(get_le16(buf), 4);
	sel(e, FW_CFG_MAX_CPUS);
	rd(e, buf, 2);
	assert_int_equal(get_le16(buf), 8);
	sel(e, FW_CFG_RAM_SIZE);
	rd(e, buf, 8);
	assert_int_equal(get_le64(buf), 512 * MiB);
	sel(e, FW_CFG_CMDLINE_SIZE);
	rd(e, buf, 4);
	assert_int_equal(get_le32(buf), sizeof(cmdline));
	sel(e, FW_CFG_CMDLINE_DATA);
	rd(e, buf, sizeof(cmdline));
	assert_string_equal((char *)buf, cmdline);
	/* Past the end: zeros, forever. */
	memset(buf, 0xaa, sizeof(buf));
	rd(e, buf, 4);
	assert_int_equal(get_le32(buf), 0);
	/* Replacing an item; the old data is gone. */
	assert_int_equal(fw_cfg_add_u16(e->fw, FW_CFG_NB_CPUS, 2), 0);
	sel(e, FW_CFG_NB_CPUS);
	rd(e, buf, 4);
	assert_int_equal(get_le32(buf), 2);
	/* A wide read of the data port returns consecutive bytes. */
	uint64_t v;
	sel(e, FW_CFG_SIGNATURE);
	assert_true(bus_read(&e->pio, FW_CFG_PORT_DATA, 4, &v));
	assert_int_equal(v, get_le32("QEMU"));
}

static void test_fw_cfg_bad_selector_and_writes(void **state)
{
	struct env *e = *state;
	uint8_t buf[4];

	/* Nobody filled 0x0d or 0x8123: reads are 0. */
	sel(e, FW_CFG_NUMA);
	memset(buf, 0xaa, sizeof(buf));
	rd(e, buf, 4);
	assert_int_equal(get_le32(buf), 0);
	sel(e, 0x8123);
	rd(e, buf, 4);
	assert_int_equal(get_le32(buf), 0);
	/* The write channel is ignored; data unchanged. */
	sel(e, FW_CFG_SIGNATURE | FW_CFG_WRITE_CHANNEL);
	assert_true(bus_write(&e->pio, FW_CFG_PORT_DATA, 1, 'X'));
	sel(e, FW_CFG_SIGNATURE);
	rd(e, buf, 4);
	assert_memory_equal(buf, "QEMU", 4);
	/* Reserved keys are refused from the host side too. */
	assert_int_equal(fw_cfg_add_item(e->fw, FW_CFG_SIGNATURE, "x", 1),
			 -EINVAL);
	assert_int_equal(fw_cfg_add_item(e->fw, FW_CFG_FILE_DIR, "x", 1),
			 -EINVAL);
	assert_int_equal(fw_cfg_add_item(e->fw, 0x0025, "x", 1), -EINVAL);
	assert_int_equal(fw_cfg_add_item(e->fw, 0x4003, "x", 1), -EINVAL);
	/* Arch-local keys (e.g. 0x8003 e820) are fine. */
	assert_int_equal(fw_cfg_add_item(e->fw, 0x8003, "e820", 4), 0);
}

static void test_fw_cfg_file_directory(void **state)
{
	struct env *e = *state;
	uint8_t buf[64], blob[300];
	uint16_t s1, s2;
	unsigned int i;
	char name[80];

	sel(e, FW_CFG_FILE_DIR);
	rd(e, buf, 4);
	assert_int_equal(get_be32(buf), 0); /* empty */

	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)i;
	assert_int_equal(fw_cfg_add_file(e->fw, "etc/acpi/tables", blob,
					 sizeof(blob), &s1),
			 0);
	assert_int_equal(fw_cfg_add_file(e->fw, "bootorder", "/pci@i0cf8\n", 11,
					 &s2),
			 0);
	assert_int_equal(s1, FW_CFG_FILE_FIRST);
	assert_int_equal(s2, FW_CFG_FILE_FIRST + 1);
	assert_int_equal(fw_cfg_add_file(e->fw, "bootorder", "x", 1, NULL),
			 -EEXIST);
	memset(name, 'a', sizeof(name));
	name[56] = 0;
	assert_int_equal(fw_cfg_add_file(e->fw, name, "x", 1, NULL),
			 -ENAMETOOLONG);
	name[55] = 0;
	assert_int_equal(fw_cfg_add_file(e->fw, name, "x", 1, NULL), 0);

	/* SeaBIOS qemu_cfg_init(): count, then 64-byte BE entries. */
	sel(e, FW_CFG_FILE_DIR);
	rd(e, buf, 4);
	assert_int_equal(get_be32(buf), 3);
	rd(e, buf, 64);
	assert_int_equal(get_be32(buf), sizeof(blob));
	assert_int_equal(get_be16(buf + 4), s1);
	assert_int_equal(get_be16(buf + 6), 0);
	assert_string_equal((char *)buf + 8, "etc/acpi/tables");
	rd(e, buf, 64);
	assert_int_equal(get_be32(buf), 11);
	assert_int_equal(get_be16(buf + 4), s2);
	assert_string_equal((char *)buf + 8, "bootorder");
	rd(e, buf, 64);
	assert_int_equal(strlen((char *)buf + 8), 55);
	rd(e, buf, 4);
	assert_int_equal(get_be32(buf), 0); /* past the end */

	sel(e, s1);
	for (i = 0; i < sizeof(blob); i++) {
		rd(e, buf, 1);
		assert_int_equal(buf[0], (uint8_t)i);
	}
}

static void test_fw_cfg_limits(void **state)
{
	struct env *e = *state;
	char name[32];
	unsigned int i;
	int r = 0;

	for (i = 0; i < FW_CFG_MAX_FILES + 2 && !r; i++) {
		snprintf(name, sizeof(name), "etc/f%u", i);
		r = fw_cfg_add_file(e->fw, name, "x", 1, NULL);
	}
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(i, FW_CFG_MAX_FILES + 1);
	assert_int_equal(fw_cfg_add_file(e->fw, "", "x", 1, NULL), -EINVAL);
	/* Zero-length items are allowed and read as zeros. */
	assert_int_equal(fw_cfg_add_item(e->fw, FW_CFG_NOGRAPHIC, NULL, 0), 0);
	sel(e, FW_CFG_NOGRAPHIC);
	uint8_t b = 0xaa;
	rd(e, &b, 1);
	assert_int_equal(b, 0);
}

/* Start a DMA transfer the way SeaBIOS / Linux's fw_cfg driver do. */
static void dma_kick(struct env *e, uint64_t desc)
{
	assert_true(bus_write(&e->pio, FW_CFG_PORT_DMA, 4,
			      __builtin_bswap32((uint32_t)(desc >> 32))));
	assert_true(bus_write(&e->pio, FW_CFG_PORT_DMA + 4, 4,
			      __builtin_bswap32((uint32_t)desc)));
}

static void dma_desc(struct fake_gmem *g, uint64_t at, uint32_t control,
		     uint32_t len, uint64_t addr)
{
	put_be32(g->ram + at, control);
	put_be32(g->ram + at + 4, len);
	put_be64(g->ram + at + 8, addr);
}

static void test_fw_cfg_dma(void **state)
{
	struct env *e = *state;
	struct fake_gmem g;
	uint8_t buf[8], blob[100];
	uint16_t file;
	unsigned int i;
	uint64_t v;

	assert_int_equal(fake_gmem_init(&g, 64 * KiB), 0);
	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i + 1);
	assert_int_equal(fw_cfg_add_file(e->fw, "etc/blob", blob, sizeof(blob),
					 &file),
			 0);
	/* Not there until enabled. */
	assert_false(bus_read(&e->pio, FW_CFG_PORT_DMA, 4, &v));
	assert_int_equal(fw_cfg_enable_dma(e->fw, &g.gm), 0);
	assert_int_equal(fw_cfg_enable_dma(e->fw, &g.gm), -EEXIST);
	sel(e, FW_CFG_ID);
	rd(e, buf, 4);
	assert_int_equal(get_le32(buf), FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
	/* The register reads "QEMU CFG" in memory order. */
	assert_true(bus_read(&e->pio, FW_CFG_PORT_DMA, 4, &v));
	put_le32(buf, (uint32_t)v);
	assert_true(bus_read(&e->pio, FW_CFG_PORT_DMA + 4, 4, &v));
	put_le32(buf + 4, (uint32_t)v);
	assert_memory_equal(buf, "QEMU CFG", 8);

	/* SELECT + READ of the signature, 8 bytes: zeros past the end. */
	memset(g.ram + 0x2000, 0xaa, 16);
	dma_desc(&g, 0x1000, FW_CFG_SIGNATURE << 16 | 0x08 | 0x02, 8, 0x2000);
	dma_kick(e, 0x1000);
	assert_int_equal(get_be32(g.ram + 0x1000), 0);
	assert_memory_equal(g.ram + 0x2000, "QEMU\0\0\0\0", 8);
	assert_int_equal(g.ram[0x2008], 0xaa);
	/* SELECT + SKIP 10, then READ 5 continues from offset 10. */
	dma_desc(&g, 0x1000, (uint32_t)file << 16 | 0x08 | 0x04, 10, 0);
	dma_kick(e, 0x1000);
	assert_int_equal(get_be32(g.ram + 0x1000), 0);
	dma_desc(&g, 0x1000, 0x02, 5, 0x3000);
	dma_kick(e, 0x1000);
	assert_int_equal(get_be32(g.ram + 0x1000), 0);
	assert_memory_equal(g.ram + 0x3000, blob + 10, 5);
	/* ... and the PIO data port agrees on the offset. */
	rd(e, buf, 1);
	assert_int_equal(buf[0], blob[15]);
	/* A destination outside RAM, a WRITE, a length past RAM: ERROR. */
	dma_desc(&g, 0x1000, 0x02, 4, 0x10000000);
	dma_kick(e, 0x1000);
	assert_int_equal(get_be32(g.ram + 0x1000), 0x01);
	dma_desc(&g, 0x1000, 0x10, 4, 0x2000);
	dma_kick(e, 0x1000);
	assert_int_equal(get_be32(g.ram + 0x1000), 0x01);
	dma_desc(&g, 0x1000, 0x02, 0xffffffff, 0x2000);
	dma_kick(e, 0x1000);
	assert_int_equal(get_be32(g.ram + 0x1000), 0x01);
	/* A descriptor outside RAM (or straddling its end) is ignored. */
	dma_kick(e, 0x100001000ULL);
	dma_kick(e, 64 * KiB - 8);
	/* Wrong widths on the register are refused quietly. */
	assert_true(bus_write(&e->pio, FW_CFG_PORT_DMA + 4, 2, 0x10));
	assert_true(bus_write(&e->pio, FW_CFG_PORT_DMA + 2, 4, 0x10));
	fake_gmem_destroy(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fw_cfg_signature_and_id,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_fw_cfg_items_and_read_past_end, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_fw_cfg_bad_selector_and_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fw_cfg_file_directory,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fw_cfg_limits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fw_cfg_dma, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
