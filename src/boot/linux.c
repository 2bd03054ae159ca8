// SPDX-License-Identifier: MIT
/*
 * Linux x86 boot protocol: bzImage with the 64-bit entry point
 * (Documentation/x86/boot.rst, protocol 2.12+). The zero page carries the
 * setup header copied from the image, the command line, the initrd and the
 * e820 map; the CPU starts in long mode on identity page tables.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <asm/bootparam.h>

#include "hvkvm/boot.h"
#include "hvkvm/util.h"

#define SETUP_HDR_OFF 0x1f1
#define KERNEL_DEFAULT_ADDR 0x100000ULL
#define INITRD_DEFAULT_MAX 0x37ffffffULL

_Static_assert(sizeof(struct boot_params) == 4096, "zero page size");
_Static_assert(offsetof(struct boot_params, hdr) == SETUP_HDR_OFF,
	       "setup header offset");

int boot_load_bzimage(struct gmem *gm, const struct boot_params_in *in,
		      struct boot_entry *entry, char *err, size_t errlen)
{
	struct boot_params bp;
	const uint8_t *k = in->kernel;
	size_t setup_len, pm_len, hdr_end, cmdlen;
	uint64_t load_addr, initrd_addr, limit;
	unsigned int setup_sects, i;
	uint16_t version;
	int r;

	memset(&bp, 0, sizeof(bp));
	if (in->kernel_len < 0x206) {
		snprintf(err, errlen, "not a bzImage: file too short");
		return -EINVAL;
	}
	setup_sects = k[SETUP_HDR_OFF] ? k[SETUP_HDR_OFF] : 4;
	setup_len = (size_t)(setup_sects + 1) * 512;
	hdr_end = 0x202 + k[0x201];
	if (in->kernel_len <= setup_len || hdr_end > sizeof(bp) ||
	    hdr_end > in->kernel_len) {
		snprintf(err, errlen, "not a bzImage: truncated setup header");
		return -EINVAL;
	}
	memcpy((uint8_t *)&bp + SETUP_HDR_OFF, k + SETUP_HDR_OFF,
	       hdr_end - SETUP_HDR_OFF);
	version = bp.hdr.version;
	if (version < 0x20c || !(bp.hdr.xloadflags & XLF_KERNEL_64)) {
		snprintf(
			err, errlen,
			"bzImage boot protocol %u.%02u has no 64-bit entry point (need 2.12+)",
			version >> 8, version & 0xff);
		return -EINVAL;
	}
	if (!(bp.hdr.loadflags & LOADED_HIGH)) {
		snprintf(err, errlen, "zImage (loaded low) is not supported");
		return -EINVAL;
	}

	/* Protected-mode kernel at its preferred address. */
	pm_len = in->kernel_len - setup_len;
	load_addr = bp.hdr.pref_address ? bp.hdr.pref_address :
					  KERNEL_DEFAULT_ADDR;
	if (!gmem_map(gm, load_addr, MAX(pm_len, (size_t)bp.hdr.init_size),
		      true)) {
		snprintf(err, errlen,
			 "kernel needs %u bytes at %#llx: not enough guest RAM",
			 bp.hdr.init_size, (unsigned long long)load_addr);
		return -ENOSPC;
	}
	if (gmem_write(gm, load_addr, k + setup_len, pm_len)) {
		snprintf(err, errlen, "kernel: cannot write %zu bytes at %#llx",
			 pm_len, (unsigned long long)load_addr);
		return -EFAULT;
	}

	/* Command line. */
	cmdlen = in->cmdline ? strlen(in->cmdline) : 0;
	if (cmdlen >= BOOT_CMDLINE_MAX ||
	    (bp.hdr.cmdline_size && cmdlen > bp.hdr.cmdline_size)) {
		snprintf(
			err, errlen,
			"command line of %zu bytes exceeds the kernel's limit of %u",
			cmdlen, bp.hdr.cmdline_size);
		return -E2BIG;
	}
	if (gmem_write(gm, BOOT_CMDLINE_ADDR, in->cmdline ? in->cmdline : "",
		       cmdlen + 1))
		return -EFAULT;
	bp.hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;

	/* Initrd, as high as the kernel allows. */
	if (in->initrd && in->initrd_len) {
		limit = bp.hdr.initrd_addr_max ? bp.hdr.initrd_addr_max :
						 INITRD_DEFAULT_MAX;
		r = boot_load_initrd(gm, in,
				     load_addr + MAX(pm_len,
						     (size_t)bp.hdr.init_size),
				     limit + 1, &initrd_addr, err, errlen);
		if (r)
			return r;
		bp.hdr.ramdisk_image = (uint32_t)initrd_addr;
		bp.hdr.ramdisk_size = (uint32_t)in->initrd_len;
	}

	bp.hdr.type_of_loader = 0xff;
	bp.hdr.loadflags |= CAN_USE_HEAP;
	bp.hdr.heap_end_ptr = 0xfe00;
	bp.hdr.code32_start = (uint32_t)load_addr;
	if (version >= 0x20e)
		bp.acpi_rsdp_addr = in->rsdp_addr;
	for (i = 0; i < in->e820->nr && i < E820_MAX_ENTRIES_ZEROPAGE; i++) {
		bp.e820_table[i].addr = in->e820->entries[i].addr;
		bp.e820_table[i].size = in->e820->entries[i].size;
		bp.e820_table[i].type = in->e820->entries[i].type;
	}
	bp.e820_entries = (uint8_t)i;
	if (gmem_write(gm, BOOT_ZERO_PAGE_ADDR, &bp, sizeof(bp)))
		return -EFAULT;

	*entry = (struct boot_entry){
		.mode = BOOT_MODE_LONG64,
		.rip = load_addr + 0x200,
		.rsi = BOOT_ZERO_PAGE_ADDR,
		.rsp = BOOT_STACK_TOP,
		.format = "bzImage",
	};
	return 0;
}
