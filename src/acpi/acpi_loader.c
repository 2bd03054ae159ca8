// SPDX-License-Identifier: MIT
/*
 * The ACPI blob's linker: applying its fix-ups at known addresses (what
 * direct kernel boot needs), and writing them as QEMU's linker/loader
 * commands for a BIOS ("etc/table-loader", read by SeaBIOS's
 * src/fw/romfile_loader.c; QEMU docs: hw/acpi/bios-linker-loader.c).
 *
 * A command is 128 bytes, little endian: u32 command, then
 *   ALLOCATE (1):     char file[56], u32 align, u8 zone (1 high, 2 FSEG)
 *   ADD_POINTER (2):  char dest_file[56] (holds the pointer),
 *                     char src_file[56] (pointed to), u32 offset, u8 size
 *   ADD_CHECKSUM (3): char file[56], u32 offset (the byte), u32 start,
 *                     u32 length
 * ADD_POINTER adds src_file's address to the size-byte value at offset in
 * dest_file; ADD_CHECKSUM subtracts the byte sum of the range from the
 * checksum byte. WRITE_POINTER (4) is not used.
 */
#include "hvkvm/acpi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/util.h"

#define LOADER_ALLOCATE 1
#define LOADER_ADD_POINTER 2
#define LOADER_ADD_CHECKSUM 3
#define LOADER_ZONE_HIGH 1
#define LOADER_ZONE_FSEG 2
#define LOADER_FILESZ 56

/* Offsets inside one command. */
#define LD_COMMAND 0
#define LD_FILE 4
#define LD_ALLOC_ALIGN 60
#define LD_ALLOC_ZONE 64
#define LD_PTR_SRC 60
#define LD_PTR_OFFSET 116
#define LD_PTR_SIZE 120
#define LD_CK_OFFSET 60
#define LD_CK_START 64
#define LD_CK_LENGTH 68

_Static_assert(LD_PTR_SIZE < ACPI_LOADER_ENTRY_LEN, "loader entry layout");

const char *const acpi_file_names[ACPI_NR_FILES] = {
	[ACPI_FILE_TABLES] = "etc/acpi/tables",
	[ACPI_FILE_RSDP] = "etc/acpi/rsdp",
};

/* FACS needs 64-byte alignment; the RSDP must be in the F segment. */
static const uint32_t loader_align[ACPI_NR_FILES] = { 64, 16 };
static const uint8_t loader_zone[ACPI_NR_FILES] = { LOADER_ZONE_HIGH,
						    LOADER_ZONE_FSEG };

void acpi_blob_link(struct acpi_blob *b, const uint64_t addr[ACPI_NR_FILES])
{
	unsigned int i, k;

	for (i = 0; i < b->nr_ptrs; i++) {
		const struct acpi_pointer *p = &b->ptrs[i];
		uint8_t *at = b->data[p->file] + p->off;
		uint64_t v = 0;

		for (k = 0; k < p->size; k++)
			v |= (uint64_t)at[k] << (8 * k);
		v += addr[p->target];
		for (k = 0; k < p->size; k++)
			at[k] = (uint8_t)(v >> (8 * k));
	}
	for (i = 0; i < b->nr_cksums; i++) {
		const struct acpi_cksum *c = &b->cksums[i];
		uint8_t *d = b->data[c->file];

		d[c->off] = (uint8_t)(d[c->off] - sum8(d + c->start, c->len));
	}
}

static uint8_t *loader_entry(uint8_t *buf, unsigned int *n, uint32_t command,
			     enum acpi_file file)
{
	uint8_t *e = buf + (size_t)(*n)++ * ACPI_LOADER_ENTRY_LEN;

	put_le32(e + LD_COMMAND, command);
	strncpy((char *)e + LD_FILE, acpi_file_names[file], LOADER_FILESZ - 1);
	return e;
}

int acpi_blob_loader(const struct acpi_blob *b, uint8_t **out, size_t *len)
{
	unsigned int total = ACPI_NR_FILES + b->nr_ptrs + b->nr_cksums, n = 0;
	unsigned int f, i;
	uint8_t *buf, *e;

	buf = calloc(total, ACPI_LOADER_ENTRY_LEN);
	if (!buf)
		return -ENOMEM;
	/* Files first: every other command names files already allocated. */
	for (f = 0; f < ACPI_NR_FILES; f++) {
		e = loader_entry(buf, &n, LOADER_ALLOCATE, f);
		put_le32(e + LD_ALLOC_ALIGN, loader_align[f]);
		e[LD_ALLOC_ZONE] = loader_zone[f];
	}
	for (i = 0; i < b->nr_ptrs; i++) {
		const struct acpi_pointer *p = &b->ptrs[i];

		e = loader_entry(buf, &n, LOADER_ADD_POINTER, p->file);
		strncpy((char *)e + LD_PTR_SRC, acpi_file_names[p->target],
			LOADER_FILESZ - 1);
		put_le32(e + LD_PTR_OFFSET, p->off);
		e[LD_PTR_SIZE] = p->size;
	}
	/* Checksums last, after every pointer they cover is patched. */
	for (i = 0; i < b->nr_cksums; i++) {
		const struct acpi_cksum *c = &b->cksums[i];

		e = loader_entry(buf, &n, LOADER_ADD_CHECKSUM, c->file);
		put_le32(e + LD_CK_OFFSET, c->off);
		put_le32(e + LD_CK_START, c->start);
		put_le32(e + LD_CK_LENGTH, c->len);
	}
	*out = buf;
	*len = (size_t)n * ACPI_LOADER_ENTRY_LEN;
	return 0;
}
