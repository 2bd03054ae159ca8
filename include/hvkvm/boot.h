/* SPDX-License-Identifier: MIT */
/*
 * boot: put a kernel into guest memory and describe the initial CPU state.
 * Formats: Linux bzImage (x86 boot protocol, 64-bit entry), ELF vmlinux
 * through the Xen PVH entry point, and Multiboot v1. The e820 map and the
 * guest-physical layout of the boot structures live here too.
 */
#ifndef HVKVM_BOOT_H
#define HVKVM_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvkvm/gmem.h"

/* Guest-physical layout of what the loaders write below 1 MiB. */
#define BOOT_GDT_ADDR 0x500ULL	       /* flat GDT */
#define BOOT_MBI_ADDR 0x1000ULL	       /* multiboot info + mmap */
#define BOOT_START_INFO_ADDR 0x6000ULL /* PVH hvm_start_info */
#define BOOT_ZERO_PAGE_ADDR 0x7000ULL  /* Linux boot_params */
#define BOOT_PML4_ADDR 0x9000ULL       /* identity page tables */
#define BOOT_PDPT_ADDR 0xa000ULL
#define BOOT_PD_ADDR 0xb000ULL /* 4 pages: 4 GiB of 2 MiB */
#define BOOT_STACK_TOP 0x8ff0ULL
#define BOOT_CMDLINE_ADDR 0x20000ULL
#define BOOT_CMDLINE_MAX 0x10000ULL
#define BOOT_EBDA_START 0x9fc00ULL /* reserved to 1 MiB */
#define BOOT_ACPI_START 0xe0000ULL /* RSDP and tables */
#define BOOT_ACPI_END 0xf0000ULL
#define BOOT_SMBIOS_START 0xf0000ULL /* SMBIOS entry point and tables */
#define BOOT_SMBIOS_END 0x100000ULL
#define BOOT_HIGH_START 0x100000ULL

/* GDT selectors set up by boot_setup_gdt(). */
#define BOOT_SEL_CODE64 0x10
#define BOOT_SEL_CODE32 0x08
#define BOOT_SEL_DATA 0x18

#define E820_MAX_ENTRIES 32
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct e820_map {
	struct e820_entry entries[E820_MAX_ENTRIES];
	unsigned int nr;
};

/* The PC map for @gm: low RAM, EBDA/BIOS hole, RAM above 1 MiB and 4 GiB. */
int e820_build(const struct gmem *gm, struct e820_map *map);
/* Add one entry keeping the map sorted; 0 or -ENOSPC / -EINVAL. */
int e820_add(struct e820_map *map, uint64_t addr, uint64_t size, uint32_t type);
/* Bytes of type @type. */
uint64_t e820_total(const struct e820_map *map, uint32_t type);

/* How the boot CPU starts. */
enum boot_mode {
	BOOT_MODE_LONG64, /* paging on, 64-bit CS (bzImage) */
	BOOT_MODE_PROT32, /* flat 32-bit, paging off (PVH, multiboot) */
};

struct boot_entry {
	enum boot_mode mode;
	uint64_t rip; /* entry point */
	uint64_t rsi; /* bzImage: zero page */
	uint64_t rbx; /* PVH: start_info; multiboot: info */
	uint64_t rax; /* multiboot: magic */
	uint64_t rsp;
	const char *format; /* "bzImage", "pvh", "multiboot" */
};

enum boot_format {
	BOOT_FORMAT_UNKNOWN,
	BOOT_FORMAT_BZIMAGE,
	BOOT_FORMAT_PVH, /* ELF with XEN_ELFNOTE_PHYS32_ENTRY */
	BOOT_FORMAT_MULTIBOOT,
	BOOT_FORMAT_ELF_NO_PVH, /* an ELF we cannot enter */
};

/* PVH entry point from an ELF image's notes; 0 or -ENOENT / -EINVAL. */
int boot_pvh_entry(const uint8_t *buf, size_t len, uint64_t *entry);

/*
 * Load an ELF image's PT_LOAD segments at their physical addresses (all at or
 * above 1 MiB). Returns the ELF entry point and the end of the highest
 * segment. 0 or -errno with @err.
 */
int boot_elf_load(struct gmem *gm, const uint8_t *buf, size_t len,
		  uint64_t *entry, uint64_t *end, char *err, size_t errlen);

/* Identify the image in @buf. */
enum boot_format boot_probe(const uint8_t *buf, size_t len);

struct boot_params_in {
	const uint8_t *kernel; /* whole image in host memory */
	size_t kernel_len;
	const uint8_t *initrd; /* NULL if none */
	size_t initrd_len;
	const char *cmdline; /* NULL = empty */
	uint64_t rsdp_addr;  /* 0 if no ACPI */
	const struct e820_map *e820;
};

/*
 * Load the image and write the boot structures. On error returns -EINVAL /
 * -ENOSPC / -E2BIG with one line in @err ("not a bzImage: ...", "initrd of
 * N bytes does not fit below ...").
 */
int boot_load(struct gmem *gm, const struct boot_params_in *in,
	      struct boot_entry *entry, char *err, size_t errlen);
int boot_load_bzimage(struct gmem *gm, const struct boot_params_in *in,
		      struct boot_entry *entry, char *err, size_t errlen);
int boot_load_pvh(struct gmem *gm, const struct boot_params_in *in,
		  struct boot_entry *entry, char *err, size_t errlen);
int boot_load_multiboot(struct gmem *gm, const struct boot_params_in *in,
			struct boot_entry *entry, char *err, size_t errlen);

/* Flat GDT at BOOT_GDT_ADDR and identity page tables for the first 4 GiB. */
int boot_setup_gdt(struct gmem *gm);
int boot_setup_page_tables(struct gmem *gm);
/* Place @len bytes as high as possible below @limit in RAM, page aligned. */
int boot_place_high(struct gmem *gm, const struct e820_map *map, size_t len,
		    uint64_t limit, uint64_t *gpa);
/*
 * Place the initrd of @in as high as possible below @limit and at or above
 * @floor (the end of the kernel), and copy it there. 0 and *@gpa, or
 * -ENOSPC / -EFAULT with one line in @err. Every loader's initrd goes here.
 */
int boot_load_initrd(struct gmem *gm, const struct boot_params_in *in,
		     uint64_t floor, uint64_t limit, uint64_t *gpa, char *err,
		     size_t errlen);

#endif /* HVKVM_BOOT_H */
