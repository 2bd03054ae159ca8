// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the VHD parser: footer and dynamic header decoding,
 * UTF-16 names, then the whole file through vhd_open() (BAT, bitmaps,
 * range checks), vhd_resolve() over the disk, and `hvkvm img check`,
 * which walks the structures on its own. The input is the image file.
 */
#include "hvkvm/img.h"
#include "hvkvm/util.h"
#include "hvkvm/vhd.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_open(const char *path)
{
	struct vhd *v;
	uint64_t s, vsec;
	int i;

	if (vhd_open(path, VHD_OPEN_QUIET | VHD_OPEN_NOPARENT, &v))
		return;
	vsec = v->size / VHD_SECTOR;
	for (s = 0, i = 0; s < vsec && i < 4096; i++) {
		uint64_t off = 0;
		int fd;
		uint32_t run = vhd_resolve(v, s, 1u << 16, &fd, &off);

		if (!run)
			abort();
		if (fd >= 0 && off + (uint64_t)run * VHD_SECTOR > v->file_size)
			abort();
		s += run;
	}
	vhd_close(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct vhd_footer f;
	struct vhd_header h;
	char name[800], path[64];
	char *argv[3];
	int fd;

	if (!init) {
		log_set_level(LOG_ERR);
		if (!freopen("/dev/null", "w", stdout))
			return 0;
		init = true;
	}
	if (size >= VHD_FOOTER_SIZE)
		vhd_footer_parse(data + size - VHD_FOOTER_SIZE, "fuzz",
				 VHD_PARSE_QUIET, &f);
	if (size >= VHD_HEADER_SIZE)
		vhd_header_parse(data, "fuzz", VHD_PARSE_QUIET, &h);
	vhd_utf16_to_utf8(data, MIN(size, (size_t)600), size & 1, name,
			  sizeof(name));

	fd = memfd_create("fuzz-vhd", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		fuzz_open(path);
		argv[0] = (char *)"img";
		argv[1] = (char *)"check";
		argv[2] = path;
		img_main(3, argv);
	}
	close(fd);
	return 0;
}
