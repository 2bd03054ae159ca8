// SPDX-License-Identifier: MIT
/*
 * boot common: image probing, the flat GDT and identity page tables every
 * entry mode uses, and placement of initrds/modules in high RAM.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hvkvm/boot.h"
#include "hvkvm/util.h"

#define MULTIBOOT_MAGIC 0x1badb002u
#define MULTIBOOT_SEARCH 8192

enum boot_format boot_probe(const uint8_t *buf, size_t len)
{
	size_t off;

	if (len >= 0x202 + 4 && get_le16(buf + 0x1fe) == 0xaa55 &&
	    !memcmp(buf + 0x202, "HdrS", 4))
		return BOOT_FORMAT_BZIMAGE;
	if (len >= 4 && !memcmp(buf, "\177ELF", 4)) {
		uint64_t pvh_entry;

		if (boot_pvh_entry(buf, len, &pvh_entry) == 0)
			return BOOT_FORMAT_PVH;
	}
	for (off = 0; off + 12 <= MIN(len, (size_t)MULTIBOOT_SEARCH);
	     off += 4) {
		uint32_t magic = get_le32(buf + off);
		uint32_t flags = get_le32(buf + off + 4);
		uint32_t sum = get_le32(buf + off + 8);

		if (magic == MULTIBOOT_MAGIC && magic + flags + sum == 0)
			return BOOT_FORMAT_MULTIBOOT;
	}
	if (len >= 4 && !memcmp(buf, "\177ELF", 4))
		return BOOT_FORMAT_ELF_NO_PVH;
	return BOOT_FORMAT_UNKNOWN;
}

int boot_load(struct gmem *gm, const struct boot_params_in *in,
	      struct boot_entry *entry, char *err, size_t errlen)
{
	switch (boot_probe(in->kernel, in->kernel_len)) {
	case BOOT_FORMAT_BZIMAGE:
		return boot_load_bzimage(gm, in, entry, err, errlen);
	case BOOT_FORMAT_PVH:
		return boot_load_pvh(gm, in, entry, err, errlen);
	case BOOT_FORMAT_MULTIBOOT:
		return boot_load_multiboot(gm, in, entry, err, errlen);
	case BOOT_FORMAT_ELF_NO_PVH:
		snprintf(
			err, errlen,
			"ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); build with CONFIG_PVH=y or use a bzImage");
		return -EINVAL;
	default:
		snprintf(err, errlen,
			 "not a bzImage, PVH ELF or Multiboot kernel");
		return -EINVAL;
	}
}

int boot_setup_gdt(struct gmem *gm)
{
	/* null, code32, code64, data: base 0, limit 4 GiB. */
	static const uint64_t gdt[] = {
		0, 0x00cf9b000000ffffULL, /* 0x08: 32-bit code */
		0x00af9b000000ffffULL,	  /* 0x10: 64-bit code */
		0x00cf93000000ffffULL,	  /* 0x18: data */
	};
	uint8_t buf[sizeof(gdt)];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(gdt); i++)
		put_le64(buf + i * 8, gdt[i]);
	return gmem_write(gm, BOOT_GDT_ADDR, buf, sizeof(buf));
}

int boot_setup_page_tables(struct gmem *gm)
{
	uint8_t *pml4 = gmem_map(gm, BOOT_PML4_ADDR, 4096, true);
	uint8_t *pdpt = gmem_map(gm, BOOT_PDPT_ADDR, 4096, true);
	uint8_t *pd = gmem_map(gm, BOOT_PD_ADDR, 4 * 4096, true);
	unsigned int i;

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	put_le64(pml4, BOOT_PDPT_ADDR | 0x3); /* present, rw */
	for (i = 0; i < 4; i++)
		put_le64(pdpt + i * 8, (BOOT_PD_ADDR + i * 4096) | 0x3);
	for (i = 0; i < 4 * 512; i++) /* 2 MiB pages */
		put_le64(pd + i * 8, ((uint64_t)i << 21) | 0x83);
	return 0;
}

int boot_place_high(struct gmem *gm, const struct e820_map *map, size_t len,
		    uint64_t limit, uint64_t *gpa)
{
	int i;

	if (!len)
		return -EINVAL;
	for (i = (int)map->nr - 1; i >= 0; i--) {
		const struct e820_entry *e = &map->entries[i];
		uint64_t end = MIN(e->addr + e->size, limit), start;

		if (e->type != E820_RAM || end <= e->addr ||
		    e->addr < BOOT_HIGH_START || end - e->addr < len)
			continue;
		start = ALIGN_DOWN(end - len, 4096ULL);
		if (start < e->addr)
			continue;
		if (!gmem_map(gm, start, len, true))
			continue;
		*gpa = start;
		return 0;
	}
	return -ENOSPC;
}

int boot_load_initrd(struct gmem *gm, const struct boot_params_in *in,
		     uint64_t floor, uint64_t limit, uint64_t *gpa, char *err,
		     size_t errlen)
{
	uint64_t addr;

	if (boot_place_high(gm, in->e820, in->initrd_len, limit, &addr) ||
	    addr < floor) {
		snprintf(
			err, errlen,
			"initrd of %zu bytes does not fit in guest RAM between %#llx and %#llx",
			in->initrd_len, (unsigned long long)floor,
			(unsigned long long)(limit - 1));
		return -ENOSPC;
	}
	if (gmem_write(gm, addr, in->initrd, in->initrd_len)) {
		snprintf(err, errlen, "initrd: cannot write %zu bytes at %#llx",
			 in->initrd_len, (unsigned long long)addr);
		return -EFAULT;
	}
	*gpa = addr;
	return 0;
}
