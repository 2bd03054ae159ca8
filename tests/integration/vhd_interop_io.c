// SPDX-License-Identifier: MIT
/*
 * vhd_interop_io: write a file's bytes into a disk image through the block
 * layer, for tests/integration/vhd_interop.sh.
 *   vhd_interop_io IMAGE SECTOR FILE
 */
#include "hvkvm/block.h"
#include "hvkvm/util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CHUNK (1024 * 1024)

int main(int argc, char **argv)
{
	struct block_dev *bd;
	uint64_t sector;
	uint8_t *buf;
	ssize_t n;
	int fd, ret = 0;

	if (argc != 4 || parse_uint(argv[2], UINT64_MAX, &sector)) {
		fprintf(stderr, "usage: vhd_interop_io IMAGE SECTOR FILE\n");
		return 2;
	}
	fd = open(argv[3], O_RDONLY);
	buf = aligned_alloc(4096, CHUNK);
	if (fd < 0 || !buf || block_open(argv[1], NULL, &bd))
		return 1;
	while ((n = read(fd, buf, CHUNK)) > 0) {
		if (n % 512) {
			fprintf(stderr, "%s: not a multiple of 512\n", argv[3]);
			return 1;
		}
		ret = block_write_sync(bd, sector, buf, (size_t)n / 512);
		if (ret) {
			fprintf(stderr, "write at %llu: %d\n",
				(unsigned long long)sector, ret);
			break;
		}
		sector += (uint64_t)n / 512;
	}
	if (!ret)
		ret = block_flush_sync(bd);
	block_close(bd);
	close(fd);
	free(buf);
	return ret ? 1 : 0;
}
