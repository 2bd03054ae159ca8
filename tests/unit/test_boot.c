// SPDX-License-Identifier: MIT
/*
 * Unit tests: e820 map, bzImage boot-params setup, PVH ELF loading and
 * start_info, Multiboot loading, malformed images — on fake guest memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <asm/bootparam.h>

#include "fake_gmem.h"
#include "hvkvm/boot.h"
#include "hvkvm/util.h"

#define RAM (64 * MiB)

struct fixture {
	struct fake_gmem f;
	struct e820_map map;
	char err[256];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_int_equal(fake_gmem_init(&fx->f, RAM), 0);
	assert_int_equal(e820_build(&fx->f.gm, &fx->map), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	fake_gmem_destroy(&fx->f);
	free(fx);
	return 0;
}

static void test_e820_pc_layout(void **state)
{
	struct fixture *fx = *state;
	const struct e820_map *m = &fx->map;

	assert_int_equal(m->nr, 3);
	assert_int_equal(m->entries[0].addr, 0);
	assert_int_equal(m->entries[0].size, BOOT_EBDA_START);
	assert_int_equal(m->entries[0].type, E820_RAM);
	assert_int_equal(m->entries[1].addr, BOOT_EBDA_START);
	assert_int_equal(m->entries[1].type, E820_RESERVED);
	assert_int_equal(m->entries[2].addr, BOOT_HIGH_START);
	assert_int_equal(m->entries[2].size, RAM - BOOT_HIGH_START);
	assert_int_equal(e820_total(m, E820_RAM),
			 RAM - (BOOT_HIGH_START - BOOT_EBDA_START));
}

static void test_e820_high_memory_split(void **state)
{
	struct gmem gm;
	struct e820_map m;
	static uint8_t lo[1], hi[1];

	(void)state;
	gmem_init(&gm);
	/* Host pointers are never touched by e820_build. */
	assert_int_equal(gmem_add_region(&gm, 0, 3 * GiB, lo, false), 0);
	assert_int_equal(gmem_add_region(&gm, 4 * GiB, GiB, hi, false), 0);
	assert_int_equal(e820_build(&gm, &m), 0);
	assert_int_equal(m.nr, 4);
	assert_int_equal(m.entries[3].addr, 4 * GiB);
	assert_int_equal(m.entries[3].size, GiB);
	assert_int_equal(e820_add(&m, 0x1000, 0x1000, E820_RAM), -EEXIST);
	assert_int_equal(e820_add(&m, 0x1000, 0, E820_RAM), -EINVAL);
}

/* A minimal bzImage: setup header with protocol 2.15, 64-bit entry. */
static uint8_t *make_bzimage(size_t *len, uint16_t version, uint16_t xlf)
{
	size_t setup = 5 * 512, pm = 64 * 1024;
	uint8_t *k = calloc(1, setup + pm);

	k[0x1f1] = 4; /* setup_sects */
	put_le16(k + 0x1fe, 0xaa55);
	k[0x201] = 0x6a; /* header length jump */
	memcpy(k + 0x202, "HdrS", 4);
	put_le16(k + 0x206, version);
	k[0x211] = LOADED_HIGH;
	put_le32(k + 0x214, 0x100000);	 /* code32_start */
	put_le32(k + 0x22c, 0x7fffffff); /* initrd_addr_max */
	put_le32(k + 0x238, 2048);	 /* cmdline_size */
	put_le16(k + 0x236, xlf);
	put_le64(k + 0x258, 0x1000000); /* pref_address */
	put_le32(k + 0x260, 0x200000);	/* init_size */
	memset(k + setup, 0x90, pm);
	*len = setup + pm;
	return k;
}

static void test_bzimage_boot_params(void **state)
{
	struct fixture *fx = *state;
	struct boot_entry e;
	struct boot_params *bp;
	uint8_t initrd[8192];
	size_t len;
	uint8_t *k = make_bzimage(&len, 0x20f, XLF_KERNEL_64);
	struct boot_params_in in = {
		.kernel = k,
		.kernel_len = len,
		.initrd = initrd,
		.initrd_len = sizeof(initrd),
		.cmdline = "console=ttyS0",
		.rsdp_addr = 0xe0000,
		.e820 = &fx->map,
	};

	memset(initrd, 0xa5, sizeof(initrd));
	assert_int_equal(boot_probe(k, len), BOOT_FORMAT_BZIMAGE);
	assert_int_equal(
		boot_load(&fx->f.gm, &in, &e, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(e.mode, BOOT_MODE_LONG64);
	assert_int_equal(e.rip, 0x1000000 + 0x200);
	assert_int_equal(e.rsi, BOOT_ZERO_PAGE_ADDR);
	bp = gmem_map(&fx->f.gm, BOOT_ZERO_PAGE_ADDR, sizeof(*bp), false);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_string_equal((char *)gmem_map(&fx->f.gm, BOOT_CMDLINE_ADDR, 14,
					     false),
			    "console=ttyS0");
	assert_int_equal(bp->e820_entries, fx->map.nr);
	assert_int_equal(bp->e820_table[2].addr, BOOT_HIGH_START);
	assert_int_equal(bp->acpi_rsdp_addr, 0xe0000);
	assert_true(bp->hdr.loadflags & CAN_USE_HEAP);
	/* initrd: page aligned, at the top of RAM, intact. */
	assert_int_equal(bp->hdr.ramdisk_size, sizeof(initrd));
	assert_int_equal(bp->hdr.ramdisk_image % 4096, 0);
	assert_int_equal(bp->hdr.ramdisk_image + sizeof(initrd), RAM);
	assert_memory_equal(gmem_map(&fx->f.gm, bp->hdr.ramdisk_image,
				     sizeof(initrd), false),
			    initrd, sizeof(initrd));
	/* The protected-mode kernel is at its preferred address. */
	assert_int_equal(*(uint8_t *)gmem_map(&fx->f.gm, 0x1000000, 1, false),
			 0x90);
	free(k);
}

static void test_bzimage_rejects_bad_images(void **state)
{
	struct fixture *fx = *state;
	struct boot_entry e;
	size_t len;
	uint8_t *k = make_bzimage(&len, 0x20a, XLF_KERNEL_64);
	struct boot_params_in in = { .kernel = k,
				     .kernel_len = len,
				     .e820 = &fx->map };
	static uint8_t big[128 * 1024];

	/* Protocol too old for the 64-bit entry. */
	assert_int_equal(boot_load(&fx->f.gm, &in, &e, fx->err,
				   sizeof(fx->err)),
			 -EINVAL);
	assert_non_null(strstr(fx->err, "2.12"));
	free(k);
	/* No 64-bit entry flag. */
	k = make_bzimage(&len, 0x20f, 0);
	in.kernel = k;
	assert_int_equal(boot_load(&fx->f.gm, &in, &e, fx->err,
				   sizeof(fx->err)),
			 -EINVAL);
	/* Truncated. */
	in.kernel_len = 0x300;
	assert_int_equal(boot_load_bzimage(&fx->f.gm, &in, &e, fx->err,
					   sizeof(fx->err)),
			 -EINVAL);
	free(k);
	/* Initrd larger than RAM. */
	k = make_bzimage(&len, 0x20f, XLF_KERNEL_64);
	in.kernel = k;
	in.kernel_len = len;
	in.initrd = big;
	in.initrd_len = RAM;
	assert_int_equal(boot_load(&fx->f.gm, &in, &e, fx->err,
				   sizeof(fx->err)),
			 -ENOSPC);
	assert_non_null(strstr(fx->err, "initrd"));
	free(k);
	/* Not a kernel at all. */
	memset(big, 0x41, 4096);
	in.kernel = big;
	in.kernel_len = 4096;
	assert_int_equal(boot_probe(big, 4096), BOOT_FORMAT_UNKNOWN);
	assert_int_equal(boot_load(&fx->f.gm, &in, &e, fx->err,
				   sizeof(fx->err)),
			 -EINVAL);
	assert_non_null(strstr(fx->err, "not a bzImage"));
}

/* ELF64 with one PT_LOAD at 16 MiB and a PT_NOTE holding the PVH entry. */
static uint8_t *make_pvh_elf(size_t *len, bool with_note)
{
	size_t off_ph = sizeof(Elf64_Ehdr), off_note = 0x200, off_load = 0x1000;
	size_t total = off_load + 0x2000;
	uint8_t *b = calloc(1, total);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + off_ph);
	uint8_t *n = b + off_note;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_entry = 0xffffffff81000000ULL;
	eh->e_phoff = off_ph;
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	ph[0].p_type = PT_LOAD;
	ph[0].p_offset = off_load;
	ph[0].p_paddr = 0x1000000;
	ph[0].p_filesz = 0x2000;
	ph[0].p_memsz = 0x3000;
	ph[1].p_type = PT_NOTE;
	ph[1].p_offset = off_note;
	ph[1].p_filesz = 20;
	put_le32(n, 4);			      /* namesz */
	put_le32(n + 4, 4);		      /* descsz */
	put_le32(n + 8, with_note ? 18 : 17); /* PHYS32_ENTRY */
	memcpy(n + 12, "Xen", 4);
	put_le32(n + 16, 0x1000100);
	memset(b + off_load, 0xcc, 0x2000);
	*len = total;
	return b;
}

static void test_pvh_start_info(void **state)
{
	struct fixture *fx = *state;
	struct boot_entry e;
	size_t len;
	uint8_t *k = make_pvh_elf(&len, true);
	uint8_t initrd[4096] = { 7 };
	uint8_t *si, *mm, *mod;
	struct boot_params_in in = {
		.kernel = k,
		.kernel_len = len,
		.initrd = initrd,
		.initrd_len = sizeof(initrd),
		.cmdline = "quiet",
		.rsdp_addr = 0xe0000,
		.e820 = &fx->map,
	};
	unsigned int i;

	assert_int_equal(boot_probe(k, len), BOOT_FORMAT_PVH);
	assert_int_equal(
		boot_load(&fx->f.gm, &in, &e, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(e.mode, BOOT_MODE_PROT32);
	assert_int_equal(e.rip, 0x1000100);
	assert_int_equal(e.rbx, BOOT_START_INFO_ADDR);
	si = gmem_map(&fx->f.gm, BOOT_START_INFO_ADDR, 56, false);
	assert_int_equal(get_le32(si), 0x336ec578);
	assert_int_equal(get_le32(si + 4), 1);
	assert_int_equal(get_le32(si + 12), 1); /* modules */
	assert_int_equal(get_le64(si + 24), BOOT_CMDLINE_ADDR);
	assert_int_equal(get_le64(si + 32), 0xe0000);
	assert_int_equal(get_le32(si + 48), fx->map.nr);
	mm = gmem_map(&fx->f.gm, get_le64(si + 40), 24 * fx->map.nr, false);
	for (i = 0; i < fx->map.nr; i++) {
		assert_int_equal(get_le64(mm + i * 24),
				 fx->map.entries[i].addr);
		assert_int_equal(get_le32(mm + i * 24 + 16),
				 fx->map.entries[i].type);
	}
	mod = gmem_map(&fx->f.gm, get_le64(si + 16), 32, false);
	assert_int_equal(get_le64(mod + 8), sizeof(initrd));
	assert_int_equal(
		*(uint8_t *)gmem_map(&fx->f.gm, get_le64(mod), 1, false), 7);
	/* Segment loaded, bss zeroed. */
	assert_int_equal(*(uint8_t *)gmem_map(&fx->f.gm, 0x1001fff, 1, false),
			 0xcc);
	assert_int_equal(*(uint8_t *)gmem_map(&fx->f.gm, 0x1002000, 1, false),
			 0);
	free(k);
}

static void test_pvh_rejects_hostile_elf(void **state)
{
	struct fixture *fx = *state;
	struct boot_entry e;
	size_t len;
	uint8_t *k = make_pvh_elf(&len, false);
	Elf64_Phdr *ph = (Elf64_Phdr *)(k + sizeof(Elf64_Ehdr));
	struct boot_params_in in = { .kernel = k,
				     .kernel_len = len,
				     .e820 = &fx->map };

	/* ELF without the note: a clear message, not a crash. */
	assert_int_equal(boot_probe(k, len), BOOT_FORMAT_ELF_NO_PVH);
	assert_int_equal(boot_load(&fx->f.gm, &in, &e, fx->err,
				   sizeof(fx->err)),
			 -EINVAL);
	assert_non_null(strstr(fx->err, "PVH"));
	free(k);
	k = make_pvh_elf(&len, true);
	(void)ph;
	ph = (Elf64_Phdr *)(k + sizeof(Elf64_Ehdr));
	in.kernel = k;
	/* Segment beyond the file. */
	ph[0].p_filesz = 0x100000;
	assert_int_equal(boot_load_pvh(&fx->f.gm, &in, &e, fx->err,
				       sizeof(fx->err)),
			 -EINVAL);
	ph[0].p_filesz = 0x2000;
	/* Segment beyond guest RAM. */
	ph[0].p_paddr = RAM - 0x1000;
	assert_int_equal(boot_load_pvh(&fx->f.gm, &in, &e, fx->err,
				       sizeof(fx->err)),
			 -ENOSPC);
	ph[0].p_paddr = 0x1000000;
	/* Note with an absurd size. */
	put_le32(k + 0x200, 0xffffffff);
	assert_int_equal(boot_pvh_entry(k, len, &e.rip), -EINVAL);
	put_le32(k + 0x200, 4);
	/* Too many program headers. */
	((Elf64_Ehdr *)k)->e_phnum = 1000;
	assert_int_equal(boot_pvh_entry(k, len, &e.rip), -EINVAL);
	/* Truncated header. */
	assert_int_equal(boot_pvh_entry(k, 10, &e.rip), -EINVAL);
	free(k);
}

static void test_multiboot_aout_kludge(void **state)
{
	struct fixture *fx = *state;
	struct boot_entry e;
	uint8_t k[0x3000];
	uint8_t *mbi, *mmap;
	struct boot_params_in in = { .kernel = k,
				     .kernel_len = sizeof(k),
				     .cmdline = "mb",
				     .e820 = &fx->map };
	uint32_t flags = BIT(1) | BIT(16);

	memset(k, 0xf4, sizeof(k));
	put_le32(k + 0x40, 0x1badb002);
	put_le32(k + 0x44, flags);
	put_le32(k + 0x48, (uint32_t) - (0x1badb002 + flags));
	put_le32(k + 0x4c, 0x200040); /* header_addr */
	put_le32(k + 0x50, 0x200000); /* load_addr */
	put_le32(k + 0x54, 0);	      /* load to end of file */
	put_le32(k + 0x58, 0x204000); /* bss_end */
	put_le32(k + 0x5c, 0x200100); /* entry */
	assert_int_equal(boot_probe(k, sizeof(k)), BOOT_FORMAT_MULTIBOOT);
	assert_int_equal(
		boot_load(&fx->f.gm, &in, &e, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(e.rax, 0x2badb002);
	assert_int_equal(e.rip, 0x200100);
	assert_int_equal(e.mode, BOOT_MODE_PROT32);
	mbi = gmem_map(&fx->f.gm, e.rbx, 88, false);
	assert_true(get_le32(mbi) & BIT(6)); /* mmap */
	assert_int_equal(get_le32(mbi + 8), (RAM - BOOT_HIGH_START) / 1024);
	assert_int_equal(get_le32(mbi + 44), fx->map.nr * 24);
	mmap = gmem_map(&fx->f.gm, get_le32(mbi + 48), 24, false);
	assert_int_equal(get_le32(mmap), 20);
	assert_string_equal((char *)gmem_map(&fx->f.gm, get_le32(mbi + 16), 3,
					     false),
			    "mb");
	assert_int_equal(*(uint8_t *)gmem_map(&fx->f.gm, 0x203fff, 1, false),
			 0); /* bss */
	/* Video mode requirement is refused. */
	flags |= BIT(2);
	put_le32(k + 0x44, flags);
	put_le32(k + 0x48, (uint32_t) - (0x1badb002 + flags));
	assert_int_equal(boot_load(&fx->f.gm, &in, &e, fx->err,
				   sizeof(fx->err)),
			 -EINVAL);
	assert_non_null(strstr(fx->err, "video"));
	/* An entry point outside guest RAM is refused (found by fuzz_boot). */
	flags &= ~BIT(2);
	put_le32(k + 0x44, flags);
	put_le32(k + 0x48, (uint32_t) - (0x1badb002 + flags));
	put_le32(k + 0x5c, 0xfff00000);
	assert_int_equal(boot_load(&fx->f.gm, &in, &e, fx->err,
				   sizeof(fx->err)),
			 -EINVAL);
	assert_non_null(strstr(fx->err, "entry point 0xfff00000"));
}

static void test_page_tables_identity(void **state)
{
	struct fixture *fx = *state;
	uint8_t *pd;

	assert_int_equal(boot_setup_page_tables(&fx->f.gm), 0);
	assert_int_equal(boot_setup_gdt(&fx->f.gm), 0);
	pd = gmem_map(&fx->f.gm, BOOT_PD_ADDR, 4 * 4096, false);
	assert_int_equal(get_le64(pd + 8), (2 * MiB) | 0x83);
	assert_int_equal(get_le64(pd + 2047 * 8), (2047 * 2 * MiB) | 0x83);
	assert_int_equal(
		get_le64(gmem_map(&fx->f.gm, BOOT_GDT_ADDR + 0x10, 8, false)),
		0x00af9b000000ffffULL);
}

/* The one initrd helper every loader uses: top of RAM, floor, limit. */
static void test_initrd_placement(void **state)
{
	struct fixture *fx = *state;
	static uint8_t initrd[3 * 4096 + 100];
	struct boot_params_in in = {
		.initrd = initrd,
		.initrd_len = sizeof(initrd),
		.e820 = &fx->map,
	};
	uint64_t gpa = 0;

	memset(initrd, 0x5a, sizeof(initrd));
	/* As high as possible, page aligned, copied intact. */
	assert_int_equal(boot_load_initrd(&fx->f.gm, &in, BOOT_HIGH_START,
					  4 * GiB, &gpa, fx->err,
					  sizeof(fx->err)),
			 0);
	assert_int_equal(gpa % 4096, 0);
	assert_true(gpa + sizeof(initrd) <= RAM);
	assert_true(gpa + sizeof(initrd) + 4096 > RAM);
	assert_memory_equal(gmem_map(&fx->f.gm, gpa, sizeof(initrd), false),
			    initrd, sizeof(initrd));
	/* Below a limit (the bzImage's initrd_addr_max + 1). */
	assert_int_equal(boot_load_initrd(&fx->f.gm, &in, BOOT_HIGH_START,
					  32 * MiB, &gpa, fx->err,
					  sizeof(fx->err)),
			 0);
	assert_true(gpa + sizeof(initrd) <= 32 * MiB);
	/* Above the kernel's end, or not at all. */
	assert_int_equal(boot_load_initrd(&fx->f.gm, &in, RAM - 4096, 4 * GiB,
					  &gpa, fx->err, sizeof(fx->err)),
			 -ENOSPC);
	assert_non_null(strstr(fx->err, "initrd of 12388 bytes does not fit"));
	/* Larger than RAM. */
	in.initrd_len = RAM;
	assert_int_equal(boot_load_initrd(&fx->f.gm, &in, BOOT_HIGH_START,
					  4 * GiB, &gpa, fx->err,
					  sizeof(fx->err)),
			 -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_e820_pc_layout, setup,
						teardown),
		cmocka_unit_test(test_e820_high_memory_split),
		cmocka_unit_test_setup_teardown(test_bzimage_boot_params, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_rejects_bad_images,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_pvh_start_info, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pvh_rejects_hostile_elf,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiboot_aout_kludge,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_tables_identity,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_initrd_placement, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
