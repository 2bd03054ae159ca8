// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the kernel-image loaders (src/boot/): the input is
 * a kernel file as a user might pass with --kernel (bzImage, PVH ELF,
 * Multiboot, or anything else), optionally followed by an initrd. Checks:
 * no crash or sanitizer report, the result is 0 or a negative errno, every
 * refusal of the image names its reason, and a loaded image's entry point
 * lies in guest RAM.
 *
 * Input: [u8 flags][image...]; flags bit 0: the last quarter of the image
 * bytes is passed as the initrd instead; bit 1: a long command line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/boot.h"
#include "hvkvm/gmem.h"
#include "hvkvm/util.h"

#define FUZZ_RAM (48 * MiB)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gmem fuzz_gm;
static struct e820_map fuzz_map;
static char long_cmdline[8192];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	void *ram = calloc(1, FUZZ_RAM);

	if (!ram)
		abort();
	gmem_init(&fuzz_gm);
	if (gmem_add_region(&fuzz_gm, 0, FUZZ_RAM, ram, false) ||
	    e820_build(&fuzz_gm, &fuzz_map))
		abort();
	memset(long_cmdline, 'x', sizeof(long_cmdline) - 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_params_in in = { .e820 = &fuzz_map, .rsdp_addr = 0xe0000 };
	struct boot_entry entry;
	char err[256] = "";
	uint8_t flags;
	int r;

	if (size < 1)
		return 0;
	flags = data[0];
	in.kernel = data + 1;
	in.kernel_len = size - 1;
	if ((flags & 1) && in.kernel_len >= 4) {
		in.initrd_len = in.kernel_len / 4;
		in.kernel_len -= in.initrd_len;
		in.initrd = in.kernel + in.kernel_len;
	}
	in.cmdline = (flags & 2) ? long_cmdline : "console=ttyS0";

	(void)boot_probe(in.kernel, in.kernel_len);
	r = boot_load(&fuzz_gm, &in, &entry, err, sizeof(err));
	if (r > 0)
		abort();
	if ((r == -EINVAL || r == -ENOSPC || r == -E2BIG) && !err[0])
		abort(); /* a refusal must say why */
	if (r == 0 && !gmem_map(&fuzz_gm, entry.rip, 1, false))
		abort(); /* entry outside guest RAM */
	return 0;
}
