// SPDX-License-Identifier: MIT
/*
 * Unit tests: VHD format (footer, header, checksum, geometry, UTF-16),
 * malformed files, differencing chains, and the img subcommands check,
 * compact, resize and commit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sys/time.h>
#include <utime.h>

#include "hvkvm/util.h"
#include "test_vhd_util.h"

/* ---- pure format ---- */

static void make_footer(struct vhd_footer *f, uint64_t size, uint32_t type)
{
	memset(f, 0, sizeof(*f));
	f->features = 2;
	f->version = 0x00010000;
	f->data_offset = type == VHD_TYPE_FIXED ? ~0ULL : 512;
	memcpy(f->creator_app, "test", 4);
	f->cur_size = f->orig_size = size;
	f->disk_type = type;
	vhd_geometry(size / 512, &f->cyls, &f->heads, &f->spt);
}

static void test_footer_roundtrip(void **state)
{
	struct vhd_footer f, g;
	uint8_t buf[512];

	make_footer(&f, 100 * MiB, VHD_TYPE_DYNAMIC);
	f.uuid[3] = 0x42;
	vhd_footer_build(&f, buf);
	assert_memory_equal(buf, "conectix", 8);
	assert_int_equal(vhd_footer_parse(buf, "t", 0, &g), 0);
	assert_int_equal(g.cur_size, 100 * MiB);
	assert_int_equal(g.disk_type, VHD_TYPE_DYNAMIC);
	assert_int_equal(g.uuid[3], 0x42);
	assert_int_equal(g.checksum, f.checksum);
	/* The checksum is the one's complement of the byte sum. */
	assert_int_equal(get_be32(buf + 64), vhd_checksum(buf, 512, 64));
}

static void test_footer_rejects_bad_fields(void **state)
{
	struct vhd_footer f, g;
	uint8_t buf[512];

	make_footer(&f, 100 * MiB, VHD_TYPE_FIXED);
	vhd_footer_build(&f, buf);
	buf[1] = 'X'; /* cookie */
	assert_int_equal(vhd_footer_parse(buf, "t", VHD_PARSE_QUIET, &g),
			 -EINVAL);

	vhd_footer_build(&f, buf);
	buf[100] ^= 1; /* checksum */
	assert_int_equal(vhd_footer_parse(buf, "t", VHD_PARSE_QUIET, &g),
			 -EINVAL);
	assert_int_equal(
		vhd_footer_parse(buf, "t",
				 VHD_PARSE_QUIET | VHD_PARSE_IGNORE_CSUM, &g),
		0);

	f.disk_type = 5;
	vhd_footer_build(&f, buf);
	assert_int_equal(vhd_footer_parse(buf, "t", VHD_PARSE_QUIET, &g),
			 -EINVAL);

	make_footer(&f, VHD_MAX_SIZE + 512, VHD_TYPE_DYNAMIC);
	vhd_footer_build(&f, buf);
	assert_int_equal(vhd_footer_parse(buf, "t", VHD_PARSE_QUIET, &g),
			 -EINVAL);

	make_footer(&f, ~0ULL & ~511ULL, VHD_TYPE_DYNAMIC); /* overflow */
	vhd_footer_build(&f, buf);
	assert_int_equal(vhd_footer_parse(buf, "t", VHD_PARSE_QUIET, &g),
			 -EINVAL);

	make_footer(&f, 1000, VHD_TYPE_FIXED); /* not sectors */
	vhd_footer_build(&f, buf);
	assert_int_equal(vhd_footer_parse(buf, "t", VHD_PARSE_QUIET, &g),
			 -EINVAL);

	make_footer(&f, MiB, VHD_TYPE_FIXED);
	f.version = 0x00020000;
	vhd_footer_build(&f, buf);
	assert_int_equal(vhd_footer_parse(buf, "t", VHD_PARSE_QUIET, &g),
			 -EINVAL);
}

static void make_header(struct vhd_header *h, uint32_t bs, uint32_t n)
{
	memset(h, 0, sizeof(*h));
	h->data_offset = ~0ULL;
	h->table_offset = 1536;
	h->version = 0x00010000;
	h->block_size = bs;
	h->max_entries = n;
}

static void test_header_roundtrip_and_rejects(void **state)
{
	struct vhd_header h, g;
	uint8_t buf[1024];

	make_header(&h, 2 * MiB, 50);
	strcpy(h.parent_name, "p\xc3\xa4rent.vhd");
	vhd_header_build(&h, buf);
	assert_memory_equal(buf, "cxsparse", 8);
	assert_int_equal(vhd_header_parse(buf, "t", 0, &g), 0);
	assert_int_equal(g.block_size, 2 * MiB);
	assert_int_equal(g.max_entries, 50);
	assert_string_equal(g.parent_name, "p\xc3\xa4rent.vhd");

	make_header(&h, 3 * MiB, 50); /* not a power of two */
	vhd_header_build(&h, buf);
	assert_int_equal(vhd_header_parse(buf, "t", VHD_PARSE_QUIET, &g),
			 -EINVAL);
	make_header(&h, 256, 50); /* smaller than a sector */
	vhd_header_build(&h, buf);
	assert_int_equal(vhd_header_parse(buf, "t", VHD_PARSE_QUIET, &g),
			 -EINVAL);
	make_header(&h, 2 * MiB, 0xffffffffu); /* huge table */
	vhd_header_build(&h, buf);
	assert_int_equal(vhd_header_parse(buf, "t", VHD_PARSE_QUIET, &g),
			 -EINVAL);
	make_header(&h, 2 * MiB, 50);
	vhd_header_build(&h, buf);
	buf[900] = 1; /* checksum */
	assert_int_equal(vhd_header_parse(buf, "t", VHD_PARSE_QUIET, &g),
			 -EINVAL);
	make_header(&h, 2 * MiB, 50);
	h.table_offset = 1537; /* unaligned */
	vhd_header_build(&h, buf);
	assert_int_equal(vhd_header_parse(buf, "t", VHD_PARSE_QUIET, &g),
			 -EINVAL);
}

static void test_geometry_spec_algorithm(void **state)
{
	uint16_t c;
	uint8_t h, s;

	vhd_geometry(100 * MiB / 512, &c, &h, &s);
	assert_int_equal(c, 1003);
	assert_int_equal(h, 12);
	assert_int_equal(s, 17);
	vhd_geometry(20 * MiB / 512, &c, &h, &s);
	assert_int_equal(c, 602);
	assert_int_equal(h, 4);
	assert_int_equal(s, 17);
	vhd_geometry(8 * GiB / 512, &c, &h, &s);
	assert_int_equal(s, 63);
	assert_int_equal(h, 16);
	assert_int_equal(c, 16644);
	/* Past the largest CHS: capped at 65535/16/255. */
	vhd_geometry(2000 * GiB / 512, &c, &h, &s);
	assert_int_equal(c, 65535);
	assert_int_equal(h, 16);
	assert_int_equal(s, 255);
}

static bool chs_exact(uint64_t bytes)
{
	uint16_t c;
	uint8_t h, s;

	vhd_geometry(bytes / 512, &c, &h, &s);
	return (uint64_t)c * h * s * 512 == bytes;
}

/* Sizes round up (never down) to the next size the geometry covers. */
static void test_chs_size_rounds_up_to_exact(void **state)
{
	uint64_t x, r, y;

	(void)state;
	/* What qemu-img create picks for 100M; exact sizes stay. */
	assert_int_equal(vhd_chs_size(100 * MiB), 104865792);
	assert_int_equal(vhd_chs_size(104865792), 104865792);
	assert_int_equal(vhd_chs_size(64 * MiB), 67125248);
	/* Past the largest geometry readers use the footer's size. */
	assert_int_equal(vhd_chs_size(2000 * GiB), 2000 * GiB);
	assert_int_equal(vhd_chs_size(VHD_MAX_CHS_SECTORS * 512),
			 VHD_MAX_CHS_SECTORS * 512);
	for (x = 512; x < 127 * GiB; x = x * 5 / 4 + 512 * 7) {
		x = ALIGN_UP(x, 512);
		r = vhd_chs_size(x);
		assert_true(r >= x);
		assert_true(chs_exact(r));
		/* The smallest such size. */
		for (y = x; y < r; y += 512)
			assert_false(chs_exact(y));
	}
}

static void test_utf16_roundtrip_and_bad_surrogate(void **state)
{
	uint8_t u16[64];
	char out[64];
	int n;

	n = vhd_utf8_to_utf16("a/\xf0\x9f\x98\x80.vhd", false, u16,
			      sizeof(u16));
	assert_int_equal(n, 2 * 2 + 4 + 2 * 4);
	assert_int_equal(vhd_utf16_to_utf8(u16, (size_t)n, false, out,
					   sizeof(out)),
			 (int)strlen("a/\xf0\x9f\x98\x80.vhd"));
	assert_string_equal(out, "a/\xf0\x9f\x98\x80.vhd");
	/* A lone low surrogate is refused. */
	put_le16(u16, 0xdc00);
	assert_int_equal(vhd_utf16_to_utf8(u16, 2, false, out, sizeof(out)),
			 -EINVAL);
	/* Output too small. */
	n = vhd_utf8_to_utf16("abcdef", false, u16, sizeof(u16));
	assert_int_equal(vhd_utf16_to_utf8(u16, (size_t)n, false, out, 4),
			 -EINVAL);
}

/* ---- files ---- */

static void create_image(const char *path, enum vhd_type type, uint64_t size,
			 uint32_t bs, const char *parent)
{
	struct vhd_create_opts o = {
		.type = type,
		.size = size,
		.block_size = bs,
		.parent = parent,
	};

	assert_int_equal(vhd_create(path, &o), 0);
}

static void write_pattern(const char *path, uint64_t sector, size_t nsec,
			  uint8_t tag)
{
	struct block_dev *bd = tv_open(path, true);
	uint8_t *buf = tv_alloc(nsec * 512);

	assert_non_null(bd);
	tv_fill(buf, sector, nsec, tag);
	assert_int_equal(block_write_sync(bd, sector, buf, nsec), 0);
	assert_int_equal(block_flush_sync(bd), 0);
	block_close(bd);
	free(buf);
}

/* Every sector in [sector, +nsec) equals the pattern @tag (0 = zeros). */
static void expect_pattern(struct block_dev *bd, uint64_t sector, size_t nsec,
			   int tag)
{
	uint8_t *buf = tv_alloc(nsec * 512), *want = tv_alloc(nsec * 512);

	assert_int_equal(block_read_sync(bd, sector, buf, nsec), 0);
	if (tag < 0)
		memset(want, 0, nsec * 512);
	else
		tv_fill(want, sector, nsec, (uint8_t)tag);
	assert_memory_equal(buf, want, nsec * 512);
	free(buf);
	free(want);
}

static void patch_file(const char *path, uint64_t off, const void *data,
		       size_t len)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void test_open_truncated_file(void **state)
{
	const char *p = tv_path("trunc.vhd");
	struct vhd *v;

	create_image(p, VHD_TYPE_DYNAMIC, 10 * MiB, 0, NULL);
	assert_int_equal(truncate(p, 300), 0);
	assert_int_equal(vhd_open(p, VHD_OPEN_QUIET, &v), -EINVAL);
	assert_int_equal(truncate(p, 0), 0);
	assert_int_equal(vhd_open(p, VHD_OPEN_QUIET, &v), -EINVAL);
	unlink(p);

	create_image(p, VHD_TYPE_FIXED, 10 * MiB, 0, NULL);
	assert_int_equal(truncate(p, 5 * MiB), 0);
	assert_int_equal(vhd_open(p, VHD_OPEN_QUIET, &v), -EINVAL);
	unlink(p);
}

static void test_open_bat_beyond_eof_and_repair(void **state)
{
	const char *p = tv_path("bat.vhd");
	const char *chk[] = { "check", p };
	const char *rep[] = { "check", "--repair", p };
	uint8_t be[4];
	struct block_dev *bd;
	struct vhd *v;

	create_image(p, VHD_TYPE_DYNAMIC, 10 * MiB, 0, NULL);
	write_pattern(p, 0, 16, 1);
	put_be32(be, 0x00100000); /* 512 MiB: far past the end */
	patch_file(p, 1536 + 4 * 3, be, 4);
	assert_int_equal(vhd_open(p, VHD_OPEN_QUIET, &v), -EINVAL);
	assert_int_equal(tv_run_img(2, chk), 2);
	assert_int_equal(tv_run_img(3, rep), 0);
	assert_int_equal(tv_run_img(2, chk), 0);
	bd = tv_open(p, false);
	assert_non_null(bd);
	expect_pattern(bd, 0, 16, 1);
	expect_pattern(bd, 3 * 4096, 16, -1);
	block_close(bd);
}

static void test_check_repairs_checksums_and_footer(void **state)
{
	const char *p = tv_path("ck.vhd");
	const char *chk[] = { "check", p };
	const char *rep[] = { "check", "--repair", p };
	struct stat st;
	uint8_t junk[8] = "garbage!";
	struct block_dev *bd;

	create_image(p, VHD_TYPE_DYNAMIC, 10 * MiB, 0, NULL);
	write_pattern(p, 100, 8, 2);
	assert_int_equal(stat(p, &st), 0);
	/* Damage the footer at the end and the header checksum. */
	patch_file(p, (uint64_t)st.st_size - 512, junk, 8);
	patch_file(p, 512 + 900, junk, 1);
	assert_int_equal(tv_run_img(2, chk), 2);
	assert_int_equal(tv_run_img(3, rep), 0);
	assert_int_equal(tv_run_img(2, chk), 0);
	bd = tv_open(p, true);
	assert_non_null(bd);
	expect_pattern(bd, 100, 8, 2);
	block_close(bd);
	/* Not a VHD at all: an error, not a crash. */
	patch_file(p, 0, junk, 8);
	assert_int_equal(truncate(p, 4096), 0);
	assert_int_equal(tv_run_img(2, chk), 2);
}

static void test_check_overlapping_bat_entries(void **state)
{
	const char *p = tv_path("ov.vhd");
	const char *chk[] = { "check", p };
	const char *rep[] = { "check", "--repair", p };
	uint8_t be[4];
	struct vhd *v;
	int fd;

	create_image(p, VHD_TYPE_DYNAMIC, 10 * MiB, 0, NULL);
	write_pattern(p, 0, 8, 3);
	write_pattern(p, 4096, 8, 4);
	/* Point entry 1 at block 0's data. */
	fd = open(p, O_RDONLY);
	assert_int_equal(pread(fd, be, 4, 1536), 4);
	close(fd);
	patch_file(p, 1536 + 4, be, 4);
	/* Opening refuses it: writes to one block would clobber the other. */
	assert_int_equal(vhd_open(p, VHD_OPEN_QUIET, &v), -EINVAL);
	assert_int_equal(tv_run_img(2, chk), 2);
	assert_int_equal(tv_run_img(3, rep), 0);
	assert_int_equal(tv_run_img(2, chk), 0);
	assert_int_equal(vhd_open(p, VHD_OPEN_QUIET, &v), 0);
	vhd_close(v);
}

static void test_diff_chain_reads(void **state)
{
	const char *base = tv_path("base.vhd");
	const char *mid = tv_path("mid.vhd");
	const char *top = tv_path("top.vhd");
	struct block_dev *bd;

	/* Different block sizes along the chain. */
	create_image(base, VHD_TYPE_DYNAMIC, 8 * MiB, 512 * 1024, NULL);
	write_pattern(base, 0, 64, 0xa0);
	write_pattern(base, 2048, 8, 0xa1);
	create_image(mid, VHD_TYPE_DIFF, 0, 0, base);
	write_pattern(mid, 32, 64, 0xb0);
	create_image(top, VHD_TYPE_DIFF, 0, 1024 * 1024, mid);
	write_pattern(top, 40, 1, 0xc0);

	bd = tv_open(top, true);
	assert_non_null(bd);
	assert_string_equal(block_format_name(bd), "vhd-differencing");
	expect_pattern(bd, 0, 32, 0xa0);
	expect_pattern(bd, 32, 8, 0xb0);
	expect_pattern(bd, 40, 1, 0xc0);
	expect_pattern(bd, 41, 55, 0xb0);
	expect_pattern(bd, 96, 100, -1);
	expect_pattern(bd, 2048, 8, 0xa1);
	block_close(bd);
}

static void test_diff_parent_missing_or_changed(void **state)
{
	const char *base = tv_path("pbase.vhd");
	const char *child = tv_path("pchild.vhd");
	const char *moved = tv_path("pbase-moved.vhd");
	struct utimbuf ut = { 1800000000, 1800000000 };
	struct vhd *v;

	create_image(base, VHD_TYPE_DYNAMIC, 4 * MiB, 0, NULL);
	create_image(child, VHD_TYPE_DIFF, 0, 0, base);
	assert_int_equal(vhd_open(child, VHD_OPEN_QUIET, &v), 0);
	vhd_close(v);
	/* Missing. */
	assert_int_equal(rename(base, moved), 0);
	assert_int_equal(vhd_open(child, VHD_OPEN_QUIET, &v), -ENOENT);
	/* Replaced by another image: UUID differs. */
	create_image(base, VHD_TYPE_DYNAMIC, 4 * MiB, 0, NULL);
	assert_int_equal(vhd_open(child, VHD_OPEN_QUIET, &v), -EINVAL);
	/* The right image, but modified since: time stamp differs. */
	assert_int_equal(rename(moved, base), 0);
	assert_int_equal(vhd_open(child, VHD_OPEN_QUIET, &v), 0);
	vhd_close(v);
	assert_int_equal(utime(base, &ut), 0);
	assert_int_equal(vhd_open(child, VHD_OPEN_QUIET, &v), -EINVAL);
}

static void test_compact_drops_zero_blocks(void **state)
{
	const char *p = tv_path("cmp.vhd");
	const char *args[] = { "compact", p };
	const char *chk[] = { "check", p };
	struct block_dev *bd;
	struct stat st0, st1;
	uint8_t *zero = tv_alloc(4096);
	int i;

	create_image(p, VHD_TYPE_DYNAMIC, 16 * MiB, 0, NULL);
	memset(zero, 0, 4096);
	bd = tv_open(p, true);
	for (i = 0; i < 8; i++) {
		uint64_t s = (uint64_t)i * 4096 + 8;

		if (i % 2) {
			assert_int_equal(block_write_sync(bd, s, zero, 8), 0);
		} else {
			uint8_t *b = tv_alloc(4096);

			tv_fill(b, s, 8, (uint8_t)(0x10 + i));
			assert_int_equal(block_write_sync(bd, s, b, 8), 0);
			free(b);
		}
	}
	block_close(bd);
	assert_int_equal(stat(p, &st0), 0);
	assert_int_equal(tv_run_img(2, args), 0);
	assert_int_equal(stat(p, &st1), 0);
	assert_true(st1.st_size < st0.st_size);
	assert_true(st1.st_size <= st0.st_size - (off_t)(4 * 2 * MiB));
	assert_int_equal(tv_run_img(2, chk), 0);
	bd = tv_open(p, true);
	for (i = 0; i < 8; i++) {
		uint64_t s = (uint64_t)i * 4096 + 8;

		expect_pattern(bd, s, 8, i % 2 ? -1 : 0x10 + i);
	}
	assert_int_equal(block_vhd(bd)->bat[1], VHD_BAT_UNUSED);
	block_close(bd);
	free(zero);
}

static void test_resize_grow_and_shrink(void **state)
{
	const char *p = tv_path("rs.vhd");
	const char *f = tv_path("rsf.vhd");
	const char *grow[] = { "resize", p, "64M" };
	const char *shrink_no[] = { "resize", p, "2M" };
	const char *shrink[] = { "resize", "--shrink", p, "-60M" };
	const char *chk[] = { "check", p };
	const char *fgrow[] = { "resize", f, "+1M" };
	const char *fchk[] = { "check", f };
	struct block_dev *bd;

	create_image(p, VHD_TYPE_DYNAMIC, 4 * MiB, 0, NULL);
	write_pattern(p, 10, 4, 0x33);
	write_pattern(p, 5000, 4, 0x34);
	assert_int_equal(tv_run_img(3, grow), 0); /* BAT must move */
	assert_int_equal(tv_run_img(2, chk), 0);
	bd = tv_open(p, true);
	/* Resize rounds up to whole CHS cylinders. */
	assert_int_equal(block_size(bd), vhd_chs_size(64 * MiB));
	block_close(bd);
	write_pattern(p, 60 * 2048, 8, 0x35);
	bd = tv_open(p, true);
	expect_pattern(bd, 10, 4, 0x33);
	expect_pattern(bd, 5000, 4, 0x34);
	expect_pattern(bd, 60 * 2048, 8, 0x35);
	block_close(bd);
	assert_int_equal(tv_run_img(3, shrink_no), 1);
	assert_int_equal(tv_run_img(4, shrink), 0);
	assert_int_equal(tv_run_img(2, chk), 0);
	bd = tv_open(p, true);
	assert_int_equal(block_size(bd),
			 vhd_chs_size(vhd_chs_size(64 * MiB) - 60 * MiB));
	expect_pattern(bd, 10, 4, 0x33);
	block_close(bd);

	create_image(f, VHD_TYPE_FIXED, 1 * MiB, 0, NULL);
	write_pattern(f, 2047, 1, 0x36);
	assert_int_equal(tv_run_img(3, fgrow), 0);
	assert_int_equal(tv_run_img(2, fchk), 0);
	bd = tv_open(f, true);
	assert_int_equal(block_size(bd), vhd_chs_size(2 * MiB));
	expect_pattern(bd, 2047, 1, 0x36);
	expect_pattern(bd, 2048, 2048, -1); /* old footer was cleared */
	block_close(bd);
}

static void test_commit_merges_into_parent(void **state)
{
	const char *base = tv_path("cbase.vhd");
	const char *child = tv_path("cchild.vhd");
	const char *args[] = { "commit", child };
	const char *chk[] = { "check", child };
	struct block_dev *bd;

	create_image(base, VHD_TYPE_DYNAMIC, 8 * MiB, 0, NULL);
	write_pattern(base, 0, 16, 0x50);
	create_image(child, VHD_TYPE_DIFF, 0, 0, base);
	sleep(1); /* the parent's mtime must move */
	write_pattern(child, 8, 4, 0x51);
	write_pattern(child, 9000, 3, 0x52);
	assert_int_equal(tv_run_img(2, args), 0);
	bd = tv_open(base, true);
	expect_pattern(bd, 0, 8, 0x50);
	expect_pattern(bd, 8, 4, 0x51);
	expect_pattern(bd, 12, 4, 0x50);
	expect_pattern(bd, 9000, 3, 0x52);
	expect_pattern(bd, 9003, 10, -1);
	block_close(bd);
	/* The child still opens: its parent time stamp was updated. */
	assert_int_equal(tv_run_img(2, chk), 0);
	bd = tv_open(child, true);
	assert_non_null(bd);
	expect_pattern(bd, 8, 4, 0x51);
	block_close(bd);
}

static void test_img_bad_user_input(void **state)
{
	const char *p = tv_path("bad.vhd");
	const char *a1[] = { "create", "-f", "vhd", p, "12Q" };
	const char *a2[] = {
		"create", "-f", "vhd", "--type", "sparse", p, "1M"
	};
	const char *a3[] = { "create", "-f", "vhd", p, "1000" };
	const char *a4[] = {
		"create", "-f", "vhd", "--type", "differencing", p
	};
	const char *a5[] = { "frobnicate" };
	const char *a6[] = { "info", tv_path("nonexistent") };
	const char *h1[] = { "--help" };
	const char *h2[] = { "convert", "--help" };

	assert_int_equal(tv_run_img(5, a1), 1);
	assert_int_equal(tv_run_img(7, a2), 1);
	assert_int_equal(tv_run_img(5, a3), 1);
	assert_int_equal(tv_run_img(6, a4), 1);
	assert_int_equal(tv_run_img(1, a5), 1);
	assert_int_equal(tv_run_img(2, a6), 1);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(tv_run_img(1, h1), 0);
	assert_int_equal(tv_run_img(2, h2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_footer_roundtrip),
		cmocka_unit_test(test_footer_rejects_bad_fields),
		cmocka_unit_test(test_header_roundtrip_and_rejects),
		cmocka_unit_test(test_geometry_spec_algorithm),
		cmocka_unit_test(test_chs_size_rounds_up_to_exact),
		cmocka_unit_test(test_utf16_roundtrip_and_bad_surrogate),
		cmocka_unit_test(test_open_truncated_file),
		cmocka_unit_test(test_open_bat_beyond_eof_and_repair),
		cmocka_unit_test(test_check_repairs_checksums_and_footer),
		cmocka_unit_test(test_check_overlapping_bat_entries),
		cmocka_unit_test(test_diff_chain_reads),
		cmocka_unit_test(test_diff_parent_missing_or_changed),
		cmocka_unit_test(test_compact_drops_zero_blocks),
		cmocka_unit_test(test_resize_grow_and_shrink),
		cmocka_unit_test(test_commit_merges_into_parent),
		cmocka_unit_test(test_img_bad_user_input),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, tv_setup, tv_teardown);
}
