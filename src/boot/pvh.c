// SPDX-License-Identifier: MIT
/*
 * PVH boot: an uncompressed ELF vmlinux entered at the address of its
 * XEN_ELFNOTE_PHYS32_ENTRY note in flat 32-bit protected mode, EBX pointing
 * at struct hvm_start_info (Xen's arch-x86/hvm/start_info.h, version 1) with
 * the command line, initrd module, RSDP and memory map.
 * The ELF file is untrusted input: every header, segment and note is
 * bounds-checked against the file and against guest RAM.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hvkvm/boot.h"
#include "hvkvm/util.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u
#define PVH_MAX_PHDRS 64

/* Guest structures, written field by field (little endian). */
#define SI_SIZE 56
#define SI_OFF_MAGIC 0
#define SI_OFF_VERSION 4
#define SI_OFF_NR_MODULES 12
#define SI_OFF_MODLIST 16
#define SI_OFF_CMDLINE 24
#define SI_OFF_RSDP 32
#define SI_OFF_MEMMAP 40
#define SI_OFF_MEMMAP_ENTRIES 48
#define MOD_SIZE 32
#define MEMMAP_ENTRY_SIZE 24
#define PVH_MODLIST_ADDR (BOOT_START_INFO_ADDR + 0x40)
#define PVH_MEMMAP_ADDR (BOOT_START_INFO_ADDR + 0x80)

static bool range_ok(size_t off, size_t len, size_t total)
{
	return off <= total && len <= total - off;
}

/* Walk the notes in [off, off+len) for the PVH entry. */
static int pvh_scan_notes(const uint8_t *buf, size_t off, size_t len,
			  uint64_t *entry)
{
	size_t pos = 0;

	while (pos + 12 <= len) {
		const uint8_t *n = buf + off + pos;
		uint32_t namesz = get_le32(n), descsz = get_le32(n + 4);
		uint32_t type = get_le32(n + 8);
		size_t name_al = ALIGN_UP((size_t)namesz, 4);
		size_t desc_al = ALIGN_UP((size_t)descsz, 4);

		if (namesz > len || descsz > len ||
		    12 + name_al + desc_al > len - pos)
			return -EINVAL;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    !memcmp(n + 12, "Xen", 4)) {
			const uint8_t *d = n + 12 + name_al;

			if (descsz == 4)
				*entry = get_le32(d);
			else if (descsz == 8)
				*entry = get_le64(d);
			else
				return -EINVAL;
			return 0;
		}
		pos += 12 + name_al + desc_al;
	}
	return -ENOENT;
}

struct elf_seg {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

static int elf_segments(const uint8_t *buf, size_t len, struct elf_seg *segs,
			unsigned int *nr)
{
	bool is64;
	uint64_t phoff;
	unsigned int phentsize, phnum, i;

	if (len < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) ||
	    buf[EI_DATA] != ELFDATA2LSB)
		return -EINVAL;
	is64 = buf[EI_CLASS] == ELFCLASS64;
	if (!is64 && buf[EI_CLASS] != ELFCLASS32)
		return -EINVAL;
	if (len < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return -EINVAL;
	if (is64) {
		phoff = get_le64(buf + offsetof(Elf64_Ehdr, e_phoff));
		phentsize = get_le16(buf + offsetof(Elf64_Ehdr, e_phentsize));
		phnum = get_le16(buf + offsetof(Elf64_Ehdr, e_phnum));
		if (phentsize != sizeof(Elf64_Phdr))
			return -EINVAL;
	} else {
		phoff = get_le32(buf + offsetof(Elf32_Ehdr, e_phoff));
		phentsize = get_le16(buf + offsetof(Elf32_Ehdr, e_phentsize));
		phnum = get_le16(buf + offsetof(Elf32_Ehdr, e_phnum));
		if (phentsize != sizeof(Elf32_Phdr))
			return -EINVAL;
	}
	if (!phnum || phnum > PVH_MAX_PHDRS || phoff > len ||
	    !range_ok((size_t)phoff, (size_t)phnum * phentsize, len))
		return -EINVAL;
	for (i = 0; i < phnum; i++) {
		const uint8_t *p = buf + phoff + (size_t)i * phentsize;
		struct elf_seg *s = &segs[i];

		if (is64) {
			s->type = get_le32(p + offsetof(Elf64_Phdr, p_type));
			s->offset =
				get_le64(p + offsetof(Elf64_Phdr, p_offset));
			s->paddr = get_le64(p + offsetof(Elf64_Phdr, p_paddr));
			s->filesz =
				get_le64(p + offsetof(Elf64_Phdr, p_filesz));
			s->memsz = get_le64(p + offsetof(Elf64_Phdr, p_memsz));
		} else {
			s->type = get_le32(p + offsetof(Elf32_Phdr, p_type));
			s->offset =
				get_le32(p + offsetof(Elf32_Phdr, p_offset));
			s->paddr = get_le32(p + offsetof(Elf32_Phdr, p_paddr));
			s->filesz =
				get_le32(p + offsetof(Elf32_Phdr, p_filesz));
			s->memsz = get_le32(p + offsetof(Elf32_Phdr, p_memsz));
		}
		if ((s->type == PT_LOAD || s->type == PT_NOTE) &&
		    (s->offset > len || s->filesz > len - s->offset))
			return -EINVAL;
	}
	*nr = phnum;
	return 0;
}

int boot_pvh_entry(const uint8_t *buf, size_t len, uint64_t *entry)
{
	struct elf_seg segs[PVH_MAX_PHDRS];
	unsigned int nr, i;
	int r;

	r = elf_segments(buf, len, segs, &nr);
	if (r)
		return r;
	for (i = 0; i < nr; i++) {
		if (segs[i].type != PT_NOTE)
			continue;
		r = pvh_scan_notes(buf, (size_t)segs[i].offset,
				   (size_t)segs[i].filesz, entry);
		if (r != -ENOENT)
			return r;
	}
	return -ENOENT;
}

static int pvh_write_memmap(struct gmem *gm, const struct e820_map *map)
{
	uint8_t e[MEMMAP_ENTRY_SIZE];
	unsigned int i;

	for (i = 0; i < map->nr; i++) {
		memset(e, 0, sizeof(e));
		put_le64(e, map->entries[i].addr);
		put_le64(e + 8, map->entries[i].size);
		put_le32(e + 16, map->entries[i].type);
		if (gmem_write(gm, PVH_MEMMAP_ADDR + i * MEMMAP_ENTRY_SIZE, e,
			       sizeof(e)))
			return -EFAULT;
	}
	return 0;
}

int boot_elf_load(struct gmem *gm, const uint8_t *buf, size_t len,
		  uint64_t *entry, uint64_t *end, char *err, size_t errlen)
{
	struct elf_seg segs[PVH_MAX_PHDRS];
	uint64_t kernel_end = 0;
	unsigned int nr, i;

	if (elf_segments(buf, len, segs, &nr)) {
		snprintf(err, errlen,
			 "ELF kernel: bad or truncated program headers");
		return -EINVAL;
	}
	for (i = 0; i < nr; i++) {
		const struct elf_seg *s = &segs[i];
		uint8_t *dst;

		if (s->type != PT_LOAD || !s->memsz)
			continue;
		if (s->filesz > s->memsz || s->paddr < BOOT_HIGH_START) {
			snprintf(err, errlen,
				 "ELF kernel: segment %u at %#llx is invalid",
				 i, (unsigned long long)s->paddr);
			return -EINVAL;
		}
		dst = gmem_map(gm, s->paddr, s->memsz, true);
		if (!dst) {
			snprintf(
				err, errlen,
				"ELF kernel: segment %u (%#llx, %llu bytes) is outside guest RAM",
				i, (unsigned long long)s->paddr,
				(unsigned long long)s->memsz);
			return -ENOSPC;
		}
		memcpy(dst, buf + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
		kernel_end = MAX(kernel_end, s->paddr + s->memsz);
	}
	if (!kernel_end) {
		snprintf(err, errlen, "ELF kernel: no loadable segment");
		return -EINVAL;
	}
	if (buf[EI_CLASS] == ELFCLASS64)
		*entry = get_le64(buf + offsetof(Elf64_Ehdr, e_entry));
	else
		*entry = get_le32(buf + offsetof(Elf32_Ehdr, e_entry));
	*end = kernel_end;
	return 0;
}

int boot_load_pvh(struct gmem *gm, const struct boot_params_in *in,
		  struct boot_entry *entry, char *err, size_t errlen)
{
	uint8_t si[SI_SIZE], mod[MOD_SIZE];
	uint64_t pvh_entry, elf_entry, kernel_end = 0, initrd_addr;
	size_t cmdlen;
	int r;

	if (boot_pvh_entry(in->kernel, in->kernel_len, &pvh_entry)) {
		snprintf(err, errlen, "ELF kernel: no valid PVH entry note");
		return -EINVAL;
	}
	r = boot_elf_load(gm, in->kernel, in->kernel_len, &elf_entry,
			  &kernel_end, err, errlen);
	if (r)
		return r;
	if (!kernel_end || !gmem_map(gm, pvh_entry, 1, false)) {
		snprintf(
			err, errlen,
			"ELF kernel: PVH entry %#llx is not in a loaded segment",
			(unsigned long long)pvh_entry);
		return -EINVAL;
	}

	cmdlen = in->cmdline ? strlen(in->cmdline) : 0;
	if (cmdlen >= BOOT_CMDLINE_MAX) {
		snprintf(err, errlen, "command line too long (%zu bytes)",
			 cmdlen);
		return -E2BIG;
	}
	if (gmem_write(gm, BOOT_CMDLINE_ADDR, in->cmdline ? in->cmdline : "",
		       cmdlen + 1))
		return -EFAULT;

	memset(si, 0, sizeof(si));
	put_le32(si + SI_OFF_MAGIC, HVM_START_MAGIC);
	put_le32(si + SI_OFF_VERSION, 1);
	put_le64(si + SI_OFF_CMDLINE, BOOT_CMDLINE_ADDR);
	put_le64(si + SI_OFF_RSDP, in->rsdp_addr);
	put_le64(si + SI_OFF_MEMMAP, PVH_MEMMAP_ADDR);
	put_le32(si + SI_OFF_MEMMAP_ENTRIES, in->e820->nr);
	if (in->initrd && in->initrd_len) {
		r = boot_load_initrd(gm, in, kernel_end, 4 * GiB, &initrd_addr,
				     err, errlen);
		if (r)
			return r;
		memset(mod, 0, sizeof(mod));
		put_le64(mod, initrd_addr);
		put_le64(mod + 8, in->initrd_len);
		if (gmem_write(gm, PVH_MODLIST_ADDR, mod, sizeof(mod)))
			return -EFAULT;
		put_le32(si + SI_OFF_NR_MODULES, 1);
		put_le64(si + SI_OFF_MODLIST, PVH_MODLIST_ADDR);
	}
	if (PVH_MEMMAP_ADDR + in->e820->nr * MEMMAP_ENTRY_SIZE >
		    BOOT_ZERO_PAGE_ADDR ||
	    pvh_write_memmap(gm, in->e820) ||
	    gmem_write(gm, BOOT_START_INFO_ADDR, si, sizeof(si)))
		return -EFAULT;

	*entry = (struct boot_entry){
		.mode = BOOT_MODE_PROT32,
		.rip = pvh_entry,
		.rbx = BOOT_START_INFO_ADDR,
		.rsp = BOOT_STACK_TOP,
		.format = "pvh",
	};
	return 0;
}
