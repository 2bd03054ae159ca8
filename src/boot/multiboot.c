// SPDX-License-Identifier: MIT
/*
 * Multiboot v1 (the Multiboot Specification 0.6.96): header in the first
 * 8 KiB, ELF or "a.out kludge" (address fields) loading, an information
 * structure with memory sizes, the memory map, the command line and the
 * initrd as module 0. Entry in flat 32-bit protected mode with EAX =
 * 0x2BADB002 and EBX = the information structure. Video modes are not
 * supported (a kernel that requires one is rejected).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hvkvm/boot.h"
#include "hvkvm/util.h"

#define MB_HEADER_MAGIC 0x1badb002u
#define MB_BOOT_MAGIC 0x2badb002u
#define MB_SEARCH 8192
#define MB_FLAG_PAGE_ALIGN BIT(0)
#define MB_FLAG_MEMORY_INFO BIT(1)
#define MB_FLAG_VIDEO BIT(2)
#define MB_FLAG_ADDRESS BIT(16)
#define MB_SUPPORTED_REQ (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO)

#define MBI_MEM BIT(0)
#define MBI_CMDLINE BIT(2)
#define MBI_MODS BIT(3)
#define MBI_MMAP BIT(6)
#define MBI_LOADER_NAME BIT(9)
#define MBI_SIZE 88
#define MBI_MODS_ADDR (BOOT_MBI_ADDR + 0x100)
#define MBI_NAME_ADDR (BOOT_MBI_ADDR + 0x140)
#define MBI_MMAP_ADDR (BOOT_MBI_ADDR + 0x200)
#define MBI_MMAP_ENTRY 24

static int mb_find_header(const uint8_t *buf, size_t len, size_t *off)
{
	size_t o;

	for (o = 0; o + 12 <= MIN(len, (size_t)MB_SEARCH); o += 4) {
		uint32_t magic = get_le32(buf + o);

		if (magic == MB_HEADER_MAGIC &&
		    magic + get_le32(buf + o + 4) + get_le32(buf + o + 8) ==
			    0) {
			*off = o;
			return 0;
		}
	}
	return -ENOENT;
}

/* a.out kludge: header_addr/load_addr/load_end_addr/bss_end_addr/entry. */
static int mb_load_aout(struct gmem *gm, const uint8_t *buf, size_t len,
			size_t hoff, uint64_t *entry, uint64_t *end, char *err,
			size_t errlen)
{
	uint32_t header_addr, load_addr, load_end, bss_end;
	uint64_t file_off, load_len, mem_len;
	uint8_t *dst;

	if (hoff + 32 > len) {
		snprintf(err, errlen, "multiboot: truncated address fields");
		return -EINVAL;
	}
	header_addr = get_le32(buf + hoff + 12);
	load_addr = get_le32(buf + hoff + 16);
	load_end = get_le32(buf + hoff + 20);
	bss_end = get_le32(buf + hoff + 24);
	*entry = get_le32(buf + hoff + 28);
	if (header_addr < load_addr || header_addr - load_addr > hoff) {
		snprintf(err, errlen, "multiboot: header_addr below load_addr");
		return -EINVAL;
	}
	file_off = hoff - (header_addr - load_addr);
	load_len = load_end ? (uint64_t)load_end - load_addr : len - file_off;
	if (load_end && load_end < load_addr) {
		snprintf(err, errlen,
			 "multiboot: load_end_addr below load_addr");
		return -EINVAL;
	}
	if (file_off > len || load_len > len - file_off) {
		snprintf(err, errlen,
			 "multiboot: image shorter than load range");
		return -EINVAL;
	}
	mem_len = bss_end ? (uint64_t)bss_end - load_addr : load_len;
	if (mem_len < load_len || load_addr < BOOT_HIGH_START) {
		snprintf(err, errlen, "multiboot: bad load or bss range");
		return -EINVAL;
	}
	dst = gmem_map(gm, load_addr, mem_len ? mem_len : 1, true);
	if (!dst) {
		snprintf(err, errlen,
			 "multiboot: image at %#x does not fit in guest RAM",
			 load_addr);
		return -ENOSPC;
	}
	memcpy(dst, buf + file_off, load_len);
	memset(dst + load_len, 0, mem_len - load_len);
	*end = load_addr + mem_len;
	return 0;
}

static int mb_write_info(struct gmem *gm, const struct boot_params_in *in,
			 uint64_t kernel_end, char *err, size_t errlen)
{
	static const char loader[] = "hvkvm";
	uint8_t mbi[MBI_SIZE], e[MBI_MMAP_ENTRY], mod[16];
	uint32_t flags = MBI_MEM | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME;
	uint64_t low_kb = 0, high_kb = 0, initrd_addr;
	size_t cmdlen = in->cmdline ? strlen(in->cmdline) : 0;
	unsigned int i;

	if (cmdlen >= BOOT_CMDLINE_MAX) {
		snprintf(err, errlen, "command line too long (%zu bytes)",
			 cmdlen);
		return -E2BIG;
	}
	if (gmem_write(gm, BOOT_CMDLINE_ADDR, in->cmdline ? in->cmdline : "",
		       cmdlen + 1) ||
	    gmem_write(gm, MBI_NAME_ADDR, loader, sizeof(loader)))
		return -EFAULT;
	for (i = 0; i < in->e820->nr; i++) {
		const struct e820_entry *ent = &in->e820->entries[i];

		if (ent->type == E820_RAM && ent->addr == 0)
			low_kb = ent->size / 1024;
		if (ent->type == E820_RAM && ent->addr == BOOT_HIGH_START)
			high_kb = ent->size / 1024;
		put_le32(e, MBI_MMAP_ENTRY - 4);
		put_le64(e + 4, ent->addr);
		put_le64(e + 12, ent->size);
		put_le32(e + 20, ent->type);
		if (gmem_write(gm, MBI_MMAP_ADDR + i * MBI_MMAP_ENTRY, e,
			       sizeof(e)))
			return -EFAULT;
	}
	memset(mbi, 0, sizeof(mbi));
	put_le32(mbi + 4, (uint32_t)MIN(low_kb, 640ULL));
	put_le32(mbi + 8, (uint32_t)MIN(high_kb, 0xffffffffULL));
	put_le32(mbi + 16, (uint32_t)BOOT_CMDLINE_ADDR);
	put_le32(mbi + 44, in->e820->nr * MBI_MMAP_ENTRY);
	put_le32(mbi + 48, (uint32_t)MBI_MMAP_ADDR);
	put_le32(mbi + 64, (uint32_t)MBI_NAME_ADDR);
	if (in->initrd && in->initrd_len) {
		int r = boot_load_initrd(gm, in, kernel_end, 4 * GiB,
					 &initrd_addr, err, errlen);

		if (r)
			return r;
		memset(mod, 0, sizeof(mod));
		put_le32(mod, (uint32_t)initrd_addr);
		put_le32(mod + 4, (uint32_t)(initrd_addr + in->initrd_len));
		put_le32(mod + 8, (uint32_t)MBI_NAME_ADDR);
		if (gmem_write(gm, MBI_MODS_ADDR, mod, sizeof(mod)))
			return -EFAULT;
		flags |= MBI_MODS;
		put_le32(mbi + 20, 1);
		put_le32(mbi + 24, (uint32_t)MBI_MODS_ADDR);
	}
	put_le32(mbi, flags);
	return gmem_write(gm, BOOT_MBI_ADDR, mbi, sizeof(mbi));
}

int boot_load_multiboot(struct gmem *gm, const struct boot_params_in *in,
			struct boot_entry *entry, char *err, size_t errlen)
{
	uint64_t ent = 0, end = 0;
	uint32_t flags;
	size_t hoff;
	int r;

	if (mb_find_header(in->kernel, in->kernel_len, &hoff)) {
		snprintf(err, errlen, "not a Multiboot kernel");
		return -EINVAL;
	}
	flags = get_le32(in->kernel + hoff + 4);
	if ((flags & 0xffff) & ~MB_SUPPORTED_REQ) {
		snprintf(
			err, errlen,
			"multiboot: kernel requires unsupported features (flags %#x%s)",
			flags, flags & MB_FLAG_VIDEO ? ": video mode" : "");
		return -EINVAL;
	}
	if (flags & MB_FLAG_ADDRESS)
		r = mb_load_aout(gm, in->kernel, in->kernel_len, hoff, &ent,
				 &end, err, errlen);
	else
		r = boot_elf_load(gm, in->kernel, in->kernel_len, &ent, &end,
				  err, errlen);
	if (r)
		return r;
	if (!gmem_map(gm, ent, 1, false)) {
		snprintf(err, errlen,
			 "multiboot: entry point %#llx is not in guest RAM",
			 (unsigned long long)ent);
		return -EINVAL;
	}
	if (in->e820->nr * MBI_MMAP_ENTRY >
	    BOOT_START_INFO_ADDR - MBI_MMAP_ADDR) {
		snprintf(err, errlen,
			 "multiboot: memory map of %u entries is too large",
			 in->e820->nr);
		return -E2BIG;
	}
	r = mb_write_info(gm, in, end, err, errlen);
	if (r)
		return r;
	*entry = (struct boot_entry){
		.mode = BOOT_MODE_PROT32,
		.rip = ent,
		.rax = MB_BOOT_MAGIC,
		.rbx = BOOT_MBI_ADDR,
		.rsp = BOOT_STACK_TOP,
		.format = "multiboot",
	};
	return 0;
}
