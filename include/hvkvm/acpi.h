/* SPDX-License-Identifier: MIT */
/*
 * acpi: the firmware tables a guest reads (ACPI 6.x): RSDP, XSDT (and an
 * RSDT for ACPI 1.0 readers), FADT with FACS, MADT (one local APIC per vCPU,
 * the IOAPIC, ISA overrides), the DSDT compiled from src/acpi/dsdt.asl and a
 * generated SSDT with one Processor object per vCPU.
 *
 * The tables are built once into a relocatable blob: two files (the tables,
 * the RSDP) whose pointers hold offsets into their target file, plus the
 * list of pointer and checksum fix-ups. acpi_build() applies them itself at
 * a fixed address (direct kernel boot); for a BIOS the same blob goes out
 * through fw_cfg as QEMU's linker/loader interface ("etc/table-loader"
 * with ALLOCATE, ADD_POINTER and ADD_CHECKSUM commands) and the firmware
 * places and patches it.
 */
#ifndef HVKVM_ACPI_H
#define HVKVM_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvkvm/gmem.h"

#define ACPI_IOAPIC_ADDR 0xfec00000u
#define ACPI_LAPIC_ADDR 0xfee00000u
#define ACPI_SCI_IRQ 9

struct acpi_params {
	unsigned int nr_vcpus;
	const uint32_t *apic_ids; /* [nr_vcpus] */
	uint8_t ioapic_id;
	/* Fixed-hardware register blocks (I/O ports); 0 = absent. */
	uint16_t pm1a_evt;   /* PM1a_EVT_BLK, 4 bytes */
	uint16_t pm1a_cnt;   /* PM1a_CNT_BLK, 2 bytes */
	uint16_t pm_tmr;     /* PM_TMR_BLK, 4 bytes */
	bool pm_tmr_32bit;   /* FADT TMR_VAL_EXT */
	uint16_t gpe0_blk;   /* GPE0_BLK */
	uint8_t gpe0_len;    /* bytes (STS + EN) */
	uint16_t reset_port; /* RESET_REG (I/O), 0 = none */
	uint8_t reset_value;
	const uint8_t *extra_ssdt; /* optional extra table (e.g. VMBus) */
	size_t extra_ssdt_len;
};

extern const unsigned char *const acpi_dsdt_aml;
extern const size_t acpi_dsdt_aml_len;
/* SSDT with the VMBus device (_HID "VMBus") under \_SB.PCI0.ISA. */
extern const unsigned char *const acpi_vmbus_ssdt_aml;
extern const size_t acpi_vmbus_ssdt_aml_len;

/* Fill in an ACPI table header (length and checksum are set later). */
void acpi_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev);
/* Set the checksum byte so the table sums to zero. */
void acpi_checksum(uint8_t *t, size_t len, size_t csum_off);

/*
 * Build every table into [base, limit) of guest memory and return the RSDP
 * address (the RSDP itself is placed at @base, 16-byte aligned, where a
 * legacy scan of 0xE0000-0xFFFFF finds it). 0 or -ENOSPC / -EFAULT.
 */
int acpi_build(struct gmem *gm, uint64_t base, uint64_t limit,
	       const struct acpi_params *p, uint64_t *rsdp_addr);

/* The blob's files, named as fw_cfg files for the table loader. */
enum acpi_file {
	ACPI_FILE_TABLES, /* "etc/acpi/tables": FACS first, 64-byte aligned */
	ACPI_FILE_RSDP,	  /* "etc/acpi/rsdp": found by a scan of 0xE0000.. */
	ACPI_NR_FILES,
};

#define ACPI_BLOB_MAX_POINTERS 24
#define ACPI_BLOB_MAX_CHECKSUMS 8
#define ACPI_LOADER_ENTRY_LEN 128 /* one table-loader command */

/* @size bytes (LE) at @off in @file: an offset into @target, made absolute. */
struct acpi_pointer {
	enum acpi_file file;
	uint32_t off;
	uint8_t size; /* 4 or 8 */
	enum acpi_file target;
};

/* After the pointers: byte @off of @file -= the sum of [start, start+len). */
struct acpi_cksum {
	enum acpi_file file;
	uint32_t start, len, off;
};

struct acpi_blob {
	uint8_t *data[ACPI_NR_FILES]; /* file contents, pointers as offsets */
	size_t len[ACPI_NR_FILES];
	struct acpi_pointer ptrs[ACPI_BLOB_MAX_POINTERS];
	unsigned int nr_ptrs;
	struct acpi_cksum cksums[ACPI_BLOB_MAX_CHECKSUMS]; /* in order */
	unsigned int nr_cksums;
};

/* The fw_cfg file name of each file. */
extern const char *const acpi_file_names[ACPI_NR_FILES];

/* Build every table into @b (free with acpi_blob_free). 0 or -ENOMEM/-ENOSPC. */
int acpi_blob_build(const struct acpi_params *p, struct acpi_blob *b);
void acpi_blob_free(struct acpi_blob *b);
/*
 * What a loader does once file f sits at guest address @addr[f]: add the
 * addresses to the pointers, then fix the checksums (in place).
 */
void acpi_blob_link(struct acpi_blob *b, const uint64_t addr[ACPI_NR_FILES]);
/*
 * The "etc/table-loader" file for @b: ALLOCATE per file, ADD_POINTER per
 * pointer, ADD_CHECKSUM per checksum, 128 bytes each. Caller frees *@out.
 * 0 or -ENOMEM.
 */
int acpi_blob_loader(const struct acpi_blob *b, uint8_t **out, size_t *len);

/* Size of the MADT / processor SSDT for @nr_vcpus (for tests). */
size_t acpi_madt_len(unsigned int nr_vcpus);
int acpi_build_madt(uint8_t *buf, size_t len, const struct acpi_params *p);
int acpi_build_cpu_ssdt(uint8_t *buf, size_t len, unsigned int nr_vcpus,
			size_t *out_len);

#endif /* HVKVM_ACPI_H */
