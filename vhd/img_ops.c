// SPDX-License-Identifier: MIT
/*
 * img_ops: `hvkvm img convert | compact | resize | commit`. Data moves
 * through the block layer (block.h); metadata edits use the synchronous
 * vhd.h writers in an order that keeps the image valid if interrupted.
 */
#include "img_int.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (2u * 1024 * 1024)
#define ZERO_GRAIN (64u * 1024)

const char img_usage_convert[] =
	"usage: hvkvm img convert [-f raw|vhd] -O raw|vhd [--type fixed|dynamic]\n"
	"                         [--block-size SIZE] [-p] SRC DST\n"
	"  Copy SRC into a new image DST. All-zero ranges are skipped (holes in\n"
	"  raw and fixed files, unallocated blocks in dynamic VHDs). -p forces\n"
	"  the progress bar, which is shown anyway on a terminal.\n";
const char img_usage_compact[] =
	"usage: hvkvm img compact FILE\n"
	"  Drop all-zero blocks from a dynamic VHD and move blocks down so the\n"
	"  file shrinks.\n";
const char img_usage_resize[] =
	"usage: hvkvm img resize [--shrink] FILE [+|-]SIZE\n"
	"  Change the virtual size. Shrinking discards data past the new end\n"
	"  and needs --shrink. A VHD's new size is rounded up to whole CHS\n"
	"  cylinders (up to ~127G), as at create.\n";
const char img_usage_commit[] =
	"usage: hvkvm img commit [-p] FILE\n"
	"  Write the sectors a differencing disk holds into its parent. FILE\n"
	"  stays valid (its parent time stamp is updated).\n";

/* ---- convert ---- */

static int img_copy_chunk(struct block_dev *dst, uint64_t sector, uint8_t *buf,
			  size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t start, end;

		while (off < len &&
		       img_is_zero(buf + off, MIN(ZERO_GRAIN, len - off)))
			off += MIN(ZERO_GRAIN, len - off);
		start = off;
		while (off < len &&
		       !img_is_zero(buf + off, MIN(ZERO_GRAIN, len - off)))
			off += MIN(ZERO_GRAIN, len - off);
		end = off;
		if (end > start) {
			int ret = block_write_sync(dst, sector + start / 512,
						   buf + start,
						   (end - start) / 512);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int img_convert_copy(struct block_dev *src, struct block_dev *dst,
			    bool progress)
{
	uint64_t size = block_size(src), off;
	struct img_progress p;
	uint8_t *buf = block_aligned_alloc(COPY_CHUNK);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	img_progress_init(&p, progress);
	for (off = 0; off < size; off += COPY_CHUNK) {
		size_t len = (size_t)MIN((uint64_t)COPY_CHUNK, size - off);

		ret = block_read_sync(src, off / 512, buf, len / 512);
		if (ret) {
			img_err("convert", "reading %" PRIu64 ": %s", off,
				strerror(-ret));
			break;
		}
		ret = img_copy_chunk(dst, off / 512, buf, len);
		if (ret) {
			img_err("convert", "writing %" PRIu64 ": %s", off,
				strerror(-ret));
			break;
		}
		img_progress_update(&p, off + len, size);
	}
	img_progress_end(&p);
	if (!ret)
		ret = block_flush_sync(dst);
	free(buf);
	return ret;
}

int img_cmd_convert(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "block-size", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct block_opts so, dopt;
	struct vhd_create_opts co = { .type = VHD_TYPE_DYNAMIC };
	struct block_dev *src = NULL, *dst = NULL;
	const char *out_fmt = NULL, *sname, *dname;
	bool progress = false;
	uint64_t v;
	int c, ret, fd;

	block_opts_init(&so);
	so.readonly = true;
	so.cache = BLOCK_CACHE_WRITEBACK;
	optind = 0;
	while ((c = getopt_long(argc, argv, "f:O:t:s:p", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (block_parse_format(optarg, &so.format)) {
				img_err("convert",
					"-f '%s': expected raw or "
					"vhd",
					optarg);
				return 1;
			}
			break;
		case 'O':
			out_fmt = optarg;
			break;
		case 't':
			if (!strcmp(optarg, "fixed")) {
				co.type = VHD_TYPE_FIXED;
			} else if (!strcmp(optarg, "dynamic")) {
				co.type = VHD_TYPE_DYNAMIC;
			} else {
				img_err("convert",
					"--type '%s': expected fixed "
					"or dynamic",
					optarg);
				return 1;
			}
			break;
		case 's':
			if (img_parse_size("convert", "--block-size", optarg,
					   &v))
				return 1;
			if (v > VHD_MAX_BLOCK_SIZE || !vhd_is_pow2(v) ||
			    v < 512) {
				img_err("convert",
					"--block-size '%s': must be "
					"a power of two from 512 to "
					"256M",
					optarg);
				return 1;
			}
			co.block_size = (uint32_t)v;
			break;
		case 'p':
			progress = true;
			break;
		default:
			fputs(img_usage_convert, stderr);
			return 1;
		}
	}
	if (optind != argc - 2 || !out_fmt) {
		fputs(img_usage_convert, stderr);
		return 1;
	}
	if (strcmp(out_fmt, "raw") && strcmp(out_fmt, "vhd") &&
	    strcmp(out_fmt, "vpc")) {
		img_err("convert", "-O '%s': expected raw or vhd", out_fmt);
		return 1;
	}
	sname = argv[optind];
	dname = argv[optind + 1];
	if (block_open(sname, &so, &src))
		return 1;
	co.size = block_size(src);
	if (!strcmp(out_fmt, "raw")) {
		fd = open(dname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || ftruncate(fd, (off_t)co.size)) {
			img_err("convert", "%s: %s", dname, strerror(errno));
			if (fd >= 0) {
				close(fd);
				unlink(dname);
			}
			block_close(src);
			return 1;
		}
		close(fd);
	} else if (vhd_create(dname, &co)) {
		block_close(src);
		return 1;
	}
	block_opts_init(&dopt);
	dopt.format = strcmp(out_fmt, "raw") ? BLOCK_FORMAT_VHD :
					       BLOCK_FORMAT_RAW;
	dopt.cache = BLOCK_CACHE_WRITEBACK;
	ret = block_open(dname, &dopt, &dst);
	if (!ret)
		ret = img_convert_copy(src, dst, progress);
	block_close(dst);
	block_close(src);
	if (ret) {
		unlink(dname);
		return 1;
	}
	return 0;
}

/* ---- compact ---- */

static bool img_blk_is_zero(struct vhd *v, uint32_t blk, uint8_t *buf)
{
	uint32_t i;

	if (vhd_pread(v, buf, v->header.block_size, vhd_block_data(v, blk)))
		return false;
	for (i = 0; i < v->block_sectors; i++)
		if ((v->full[blk] || vhd_bit(v->bitmaps[blk], i)) &&
		    !img_is_zero(buf + (size_t)i * 512, 512))
			return false;
	return true;
}

static int img_compact_move(struct vhd *v, uint32_t idx, uint64_t to,
			    uint8_t *buf)
{
	uint64_t from = (uint64_t)v->bat[idx] * 512;
	uint64_t total = (uint64_t)v->bitmap_bytes + v->header.block_size;
	uint8_t be[4];
	int ret;

	/* Copy to free space, make it durable, then switch the BAT. */
	ret = vhd_pread(v, buf, total, from);
	if (!ret)
		ret = vhd_pwrite(v, buf, total, to);
	if (!ret && fdatasync(v->fd))
		ret = -errno;
	if (ret)
		return ret;
	v->bat[idx] = (uint32_t)(to / 512);
	put_be32(be, v->bat[idx]);
	ret = vhd_pwrite(v, be, 4, v->header.table_offset + 4ULL * idx);
	if (!ret && fdatasync(v->fd))
		ret = -errno;
	return ret;
}

struct img_blk_pos {
	uint64_t off;
	uint32_t idx;
};

static int img_pos_cmp(const void *a, const void *b)
{
	const struct img_blk_pos *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static uint64_t img_compact_meta_end(const struct vhd *v)
{
	uint64_t end = ALIGN_UP(v->header.table_offset +
					(uint64_t)v->header.max_entries * 4,
				512);
	int l;

	end = MAX(end, v->footer.data_offset + VHD_HEADER_SIZE);
	for (l = 0; l < VHD_NUM_LOCATORS; l++)
		if (v->header.loc[l].code && v->header.loc[l].data_len)
			end = MAX(end,
				  ALIGN_UP(v->header.loc[l].data_offset +
						   v->header.loc[l].data_len,
					   512));
	return end;
}

static int img_compact_pack(struct vhd *v, uint8_t *buf)
{
	uint64_t total = (uint64_t)v->bitmap_bytes + v->header.block_size;
	uint64_t cursor = img_compact_meta_end(v);
	struct img_blk_pos *pos;
	uint32_t n = 0, i;
	long lo, hi;
	int ret = 0;

	pos = calloc(v->header.max_entries ? v->header.max_entries : 1,
		     sizeof(*pos));
	if (!pos)
		return -ENOMEM;
	for (i = 0; i < v->header.max_entries; i++)
		if (v->bat[i] != VHD_BAT_UNUSED) {
			pos[n].off = (uint64_t)v->bat[i] * 512;
			pos[n++].idx = i;
		}
	qsort(pos, n, sizeof(*pos), img_pos_cmp);
	/* Fill gaps from the left with blocks taken from the right. */
	for (lo = 0, hi = (long)n - 1; lo <= hi && !ret;) {
		uint64_t slot = vhd_slot(v, cursor);

		if (pos[lo].off < slot + total) {
			cursor = MAX(cursor, pos[lo].off + total);
			lo++;
			continue;
		}
		ret = img_compact_move(v, pos[hi].idx, slot, buf);
		cursor = slot + total;
		hi--;
	}
	v->next_free = cursor;
	free(pos);
	return ret;
}

int img_cmd_compact(int argc, char **argv)
{
	struct vhd *v;
	uint64_t before;
	uint32_t i, dropped = 0;
	uint8_t *buf;
	int ret;

	if (argc != 2) {
		fputs(img_usage_compact, stderr);
		return 1;
	}
	if (vhd_open(argv[1], VHD_OPEN_RDWR | VHD_OPEN_NOPARENT, &v))
		return 1;
	if (v->footer.disk_type != VHD_TYPE_DYNAMIC) {
		img_err("compact", "%s: footer: disk type is not dynamic",
			argv[1]);
		vhd_close(v);
		return 1;
	}
	before = v->file_size;
	buf = block_aligned_alloc((size_t)v->bitmap_bytes +
				  v->header.block_size);
	if (!buf) {
		vhd_close(v);
		return 1;
	}
	for (i = 0; i < v->header.max_entries; i++) {
		if (v->bat[i] == VHD_BAT_UNUSED || !img_blk_is_zero(v, i, buf))
			continue;
		v->bat[i] = VHD_BAT_UNUSED;
		dropped++;
	}
	ret = vhd_write_bat(v);
	if (!ret)
		ret = img_compact_pack(v, buf);
	if (!ret)
		ret = vhd_write_footer(v);
	free(buf);
	if (ret)
		img_err("compact", "%s: %s", argv[1], strerror(-ret));
	else
		printf("%s: dropped %u zero block(s); %" PRIu64 " -> %" PRIu64
		       " bytes\n",
		       argv[1], dropped, before, v->file_size);
	vhd_close(v);
	return ret ? 1 : 0;
}

/* ---- resize ---- */

static int img_resize_fixed(struct vhd *v, uint64_t size)
{
	uint64_t old = v->size;
	uint8_t *zero;
	int ret;

	v->size = v->footer.cur_size = size;
	vhd_geometry(size / 512, &v->footer.cyls, &v->footer.heads,
		     &v->footer.spt);
	if (size < old)
		return vhd_write_footer(v);
	/* New footer first; the old one becomes (zeroed) data after. */
	ret = vhd_write_footer(v);
	if (ret)
		return ret;
	zero = block_aligned_alloc(512);
	if (!zero)
		return -ENOMEM;
	memset(zero, 0, 512);
	ret = vhd_pwrite(v, zero, 512, old);
	free(zero);
	if (!ret && fdatasync(v->fd))
		ret = -errno;
	return ret;
}

static int img_resize_sparse(struct vhd *v, uint64_t size)
{
	uint64_t entries =
		(size + v->header.block_size - 1) / v->header.block_size;
	uint32_t i;
	int ret;

	if (entries > v->header.max_entries) {
		/* Move the BAT to the end of the file, grown. */
		uint64_t bat_off = v->next_free;
		uint64_t bytes = ALIGN_UP(entries * 4, 512);
		uint32_t *nb = realloc(v->bat, bytes);
		uint32_t old_max = v->header.max_entries;
		uint8_t **nbm;
		uint8_t *nfull;

		if (!nb)
			return -ENOMEM;
		v->bat = nb;
		nbm = realloc(v->bitmaps, entries * sizeof(*nbm));
		if (!nbm)
			return -ENOMEM;
		v->bitmaps = nbm;
		nfull = realloc(v->full, entries);
		if (!nfull)
			return -ENOMEM;
		v->full = nfull;
		for (i = old_max; i < entries; i++) {
			v->bat[i] = VHD_BAT_UNUSED;
			v->bitmaps[i] = NULL;
			v->full[i] = 0;
		}
		/* Footer past the new BAT first: the file keeps a footer. */
		v->next_free = bat_off + bytes;
		ret = vhd_write_footer(v);
		if (ret)
			return ret;
		v->header.table_offset = bat_off;
		v->header.max_entries = (uint32_t)entries;
		ret = vhd_write_bat(v);
		if (!ret)
			ret = vhd_write_header(v);
		if (ret)
			return ret;
	} else if (size < v->size) {
		for (i = (uint32_t)entries; i < v->header.max_entries; i++)
			v->bat[i] = VHD_BAT_UNUSED;
		ret = vhd_write_bat(v);
		if (ret)
			return ret;
	}
	v->size = v->footer.cur_size = size;
	vhd_geometry(size / 512, &v->footer.cyls, &v->footer.heads,
		     &v->footer.spt);
	return vhd_write_footer(v);
}

int img_cmd_resize(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "shrink", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	bool shrink = false;
	const char *file, *arg;
	uint64_t size, cur, delta;
	struct vhd *v = NULL;
	struct stat st;
	int c, fd, ret, sign = 0;
	bool vhd;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'S') {
			fputs(img_usage_resize, stderr);
			return 1;
		}
		shrink = true;
	}
	if (optind != argc - 2) {
		fputs(img_usage_resize, stderr);
		return 1;
	}
	file = argv[optind];
	arg = argv[optind + 1];
	if (*arg == '+' || *arg == '-')
		sign = *arg++ == '+' ? 1 : -1;
	if (img_parse_size("resize", "SIZE", arg, &delta))
		return 1;
	fd = open(file, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		img_err("resize", "%s: %s", file, strerror(errno));
		return 1;
	}
	vhd = S_ISREG(st.st_mode) && vhd_probe(fd);
	if (vhd) {
		close(fd);
		fd = -1;
		if (vhd_open(file, VHD_OPEN_RDWR | VHD_OPEN_NOPARENT, &v))
			return 1;
		cur = v->size;
	} else {
		cur = (uint64_t)st.st_size;
	}
	size = sign > 0 ? cur + delta : sign < 0 ? cur - delta : delta;
	if ((sign < 0 && delta > cur) || (sign > 0 && size < cur) || !size ||
	    !IS_ALIGNED(size, 512) || (vhd && size > VHD_MAX_SIZE)) {
		img_err("resize",
			"%s: SIZE '%s': new size must be a non-zero "
			"multiple of 512%s",
			file, argv[optind + 1], vhd ? " up to 2040G" : "");
		ret = -EINVAL;
		goto out;
	}
	if (vhd)
		size = img_vhd_size("resize", file, size);
	if (size < cur && !shrink) {
		img_err("resize",
			"%s: SIZE '%s': shrinking loses data; pass "
			"--shrink",
			file, argv[optind + 1]);
		ret = -EINVAL;
		goto out;
	}
	if (!vhd)
		ret = ftruncate(fd, (off_t)size) ? -errno : 0;
	else if (v->footer.disk_type == VHD_TYPE_FIXED)
		ret = img_resize_fixed(v, size);
	else
		ret = img_resize_sparse(v, size);
	if (ret && ret != -EINVAL)
		img_err("resize", "%s: %s", file, strerror(-ret));
out:
	if (fd >= 0)
		close(fd);
	vhd_close(v);
	return ret ? 1 : 0;
}

/* ---- commit ---- */

static int img_commit_block(struct vhd *v, struct block_dev *pd, uint32_t blk,
			    uint8_t *buf)
{
	uint64_t base = (uint64_t)blk * v->block_sectors;
	uint64_t vsec = v->size / 512;
	uint32_t i = 0, j;
	int ret;

	while (i < v->block_sectors && base + i < vsec) {
		if (!v->full[blk] && !vhd_bit(v->bitmaps[blk], i)) {
			i++;
			continue;
		}
		for (j = i; j < v->block_sectors && base + j < vsec &&
			    (v->full[blk] || vhd_bit(v->bitmaps[blk], j));
		     j++)
			;
		ret = vhd_pread(v, buf, (size_t)(j - i) * 512,
				vhd_block_data(v, blk) + (uint64_t)i * 512);
		if (!ret)
			ret = block_write_sync(pd, base + i, buf, j - i);
		if (ret)
			return ret;
		i = j;
	}
	return 0;
}

int img_cmd_commit(int argc, char **argv)
{
	struct block_opts po;
	struct block_dev *pd = NULL;
	struct img_progress p;
	struct vhd *v = NULL;
	bool progress = false;
	const char *file;
	struct stat st;
	char *ppath;
	uint32_t blk;
	uint8_t *buf;
	int c, ret;

	optind = 0;
	while ((c = getopt(argc, argv, "p")) != -1) {
		if (c != 'p') {
			fputs(img_usage_commit, stderr);
			return 1;
		}
		progress = true;
	}
	if (optind != argc - 1) {
		fputs(img_usage_commit, stderr);
		return 1;
	}
	file = argv[optind];
	if (vhd_open(file, 0, &v))
		return 1;
	if (v->footer.disk_type != VHD_TYPE_DIFF) {
		img_err("commit", "%s: footer: disk type is not differencing",
			file);
		vhd_close(v);
		return 1;
	}
	if (v->size > v->parent->size) {
		img_err("commit",
			"%s: larger than its parent %s; resize the "
			"parent first",
			file, v->parent->path);
		vhd_close(v);
		return 1;
	}
	ppath = strdup(v->parent->path);
	buf = block_aligned_alloc(v->header.block_size);
	block_opts_init(&po);
	po.cache = BLOCK_CACHE_WRITEBACK;
	ret = !ppath || !buf ? -ENOMEM : block_open(ppath, &po, &pd);
	img_progress_init(&p, progress);
	for (blk = 0; !ret && blk < v->header.max_entries; blk++) {
		if (v->bat[blk] != VHD_BAT_UNUSED)
			ret = img_commit_block(v, pd, blk, buf);
		img_progress_update(&p, blk + 1, v->header.max_entries);
	}
	img_progress_end(&p);
	if (!ret)
		ret = block_flush_sync(pd);
	block_close(pd);
	vhd_close(v);
	v = NULL;
	if (!ret) {
		/* The parent changed under FILE: record its new time stamp. */
		ret = vhd_open(file, VHD_OPEN_RDWR | VHD_OPEN_NOPARENT, &v);
		if (!ret && stat(ppath, &st) == 0 &&
		    (uint64_t)st.st_mtime >= VHD_EPOCH_OFFSET) {
			v->header.parent_timestamp =
				(uint32_t)((uint64_t)st.st_mtime -
					   VHD_EPOCH_OFFSET);
			ret = vhd_write_header(v);
		}
	}
	if (ret)
		img_err("commit", "%s: %s", file, strerror(-ret));
	else
		printf("Committed %s into %s\n", file, ppath);
	vhd_close(v);
	free(buf);
	free(ppath);
	return ret ? 1 : 0;
}
