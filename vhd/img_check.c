// SPDX-License-Identifier: MIT
/*
 * img_check: `hvkvm img check [--repair] FILE`. Reads the VHD structures
 * itself (not through vhd_open) so that it can report every problem and
 * fix what is fixable: bad footer/header checksums, a missing or damaged
 * footer at the end (rebuilt from the copy at offset 0), footer copies that
 * differ, BAT entries out of range or overlapping metadata or each other
 * (dropped), and leaked space after the last block (truncated).
 *
 * Exit status: 0 clean (leaks are reported but are not errors: a crash
 * between allocating a block and the next flush leaves one), 2 errors left,
 * 1 the file could not be checked at all.
 */
#include "img_int.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

const char img_usage_check[] =
	"usage: hvkvm img check [--repair] FILE\n"
	"  Check a VHD's footer, header, BAT and parent. --repair fixes bad\n"
	"  checksums, footer mismatches, BAT entries out of range or\n"
	"  overlapping, and leaked space. Exit: 0 clean, 2 errors remain.\n";

struct img_check {
	const char *file;
	int fd;
	bool repair;
	uint64_t file_size;
	struct vhd_footer footer;
	struct vhd_header header;
	uint32_t *bat;
	int errors;	 /* found */
	int fixed;	 /* repaired */
	int unfixable;	 /* parent problems */
	bool fix_footer; /* rewrite both footer copies */
	bool fix_header;
	bool fix_bat;
};

#define cerr(c, fmt, ...) \
	printf("ERROR %s: " fmt "\n", (c)->file, ##__VA_ARGS__)

static int img_check_read(struct img_check *c, void *buf, size_t len,
			  uint64_t off)
{
	ssize_t n = pread(c->fd, buf, len, (off_t)off);

	return n == (ssize_t)len ? 0 : -EIO;
}

static int img_check_footer(struct img_check *c)
{
	uint8_t end[VHD_FOOTER_SIZE], copy[VHD_FOOTER_SIZE];
	struct vhd_footer fe, fc;
	bool end_ok = false, copy_ok = false, end_cookie = false;
	unsigned int q = VHD_PARSE_QUIET;

	if (c->file_size < VHD_FOOTER_SIZE ||
	    img_check_read(c, end, sizeof(end), c->file_size - 512)) {
		cerr(c, "file too small for a VHD footer");
		return -EINVAL;
	}
	end_ok = vhd_footer_parse(end, c->file, q, &fe) == 0;
	end_cookie = !memcmp(end, "conectix", 8);
	if (!img_check_read(c, copy, sizeof(copy), 0))
		copy_ok = vhd_footer_parse(copy, c->file, q, &fc) == 0;
	if (end_ok) {
		c->footer = fe;
	} else if (copy_ok && fc.disk_type != VHD_TYPE_FIXED) {
		if (end_cookie &&
		    vhd_footer_parse(end, c->file, q | VHD_PARSE_IGNORE_CSUM,
				     &fe) == 0)
			cerr(c, "footer: bad checksum 0x%08x", fe.checksum);
		else
			cerr(c, "footer: missing or damaged at end of file");
		c->footer = fc;
		c->errors++;
		c->fix_footer = true;
	} else if (end_cookie &&
		   vhd_footer_parse(end, c->file, q | VHD_PARSE_IGNORE_CSUM,
				    &fe) == 0) {
		cerr(c, "footer: bad checksum 0x%08x (computed 0x%08x)",
		     fe.checksum, vhd_checksum(end, VHD_FOOTER_SIZE, 64));
		c->footer = fe;
		c->errors++;
		c->fix_footer = true;
	} else {
		/* Print the reason and give up. */
		vhd_footer_parse(end, c->file, 0, &fe);
		return -EINVAL;
	}
	if (c->footer.disk_type != VHD_TYPE_FIXED && !c->fix_footer &&
	    (!copy_ok || memcmp(end, copy, VHD_FOOTER_SIZE))) {
		cerr(c, "footer: copy at offset 0 does not match the footer "
			"at the end");
		c->errors++;
		c->fix_footer = true;
	}
	return 0;
}

static int img_check_header(struct img_check *c)
{
	uint8_t buf[VHD_HEADER_SIZE];
	struct vhd_header *h = &c->header;
	uint64_t need;

	if (c->footer.data_offset + VHD_HEADER_SIZE > c->file_size ||
	    img_check_read(c, buf, sizeof(buf), c->footer.data_offset)) {
		cerr(c, "footer: data offset 0x%" PRIx64 " beyond end of file",
		     c->footer.data_offset);
		return -EINVAL;
	}
	if (vhd_header_parse(buf, c->file, VHD_PARSE_QUIET, h)) {
		if (vhd_header_parse(buf, c->file,
				     VHD_PARSE_QUIET | VHD_PARSE_IGNORE_CSUM,
				     h)) {
			vhd_header_parse(buf, c->file, 0, h);
			return -EINVAL;
		}
		cerr(c, "dynamic header: bad checksum 0x%08x", h->checksum);
		c->errors++;
		c->fix_header = true;
	}
	need = (c->footer.cur_size + h->block_size - 1) / h->block_size;
	if (need > h->max_entries) {
		cerr(c,
		     "dynamic header: max table entries %u too small for "
		     "size %" PRIu64,
		     h->max_entries, c->footer.cur_size);
		return -EINVAL;
	}
	if (h->table_offset + (uint64_t)h->max_entries * 4 > c->file_size) {
		cerr(c, "dynamic header: BAT beyond end of file");
		return -EINVAL;
	}
	return 0;
}

struct img_bat_ent {
	uint64_t off;
	uint32_t idx;
};

static int img_bat_cmp(const void *a, const void *b)
{
	const struct img_bat_ent *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static bool img_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Returns the end of the last valid block (or of the metadata). */
static uint64_t img_check_bat(struct img_check *c)
{
	struct vhd_header *h = &c->header;
	uint64_t bat_bytes = (uint64_t)h->max_entries * 4;
	uint32_t bm = ALIGN_UP((h->block_size / 512 + 7) / 8, 512);
	uint64_t total = (uint64_t)bm + h->block_size;
	uint64_t meta_end, data_end, prev_end = 0;
	uint64_t limit = c->file_size - (c->fix_footer ? 0 : VHD_FOOTER_SIZE);
	struct img_bat_ent *ents;
	uint8_t *raw;
	uint32_t i, n = 0;
	int l;

	meta_end = MAX(ALIGN_UP(h->table_offset + bat_bytes, 512),
		       c->footer.data_offset + VHD_HEADER_SIZE);
	for (l = 0; l < VHD_NUM_LOCATORS; l++)
		if (h->loc[l].code && h->loc[l].data_len &&
		    h->loc[l].data_offset < c->file_size)
			meta_end = MAX(meta_end,
				       ALIGN_UP(h->loc[l].data_offset +
							h->loc[l].data_len,
						512));
	raw = malloc(bat_bytes ? bat_bytes : 1);
	c->bat = calloc(h->max_entries ? h->max_entries : 1, 4);
	ents = calloc(h->max_entries ? h->max_entries : 1, sizeof(*ents));
	if (!raw || !c->bat || !ents ||
	    img_check_read(c, raw, bat_bytes, h->table_offset)) {
		cerr(c, "cannot read the BAT");
		c->errors++;
		free(raw);
		free(ents);
		return meta_end;
	}
	for (i = 0; i < h->max_entries; i++) {
		uint64_t off;

		c->bat[i] = get_be32(raw + 4 * (size_t)i);
		if (c->bat[i] == VHD_BAT_UNUSED)
			continue;
		off = (uint64_t)c->bat[i] * 512;
		if ((uint64_t)i * h->block_size >= c->footer.cur_size) {
			cerr(c, "BAT entry %u: block beyond the disk size", i);
		} else if (off + total > limit) {
			cerr(c, "BAT entry %u (sector %u): beyond end of file",
			     i, c->bat[i]);
		} else if (img_overlaps(off, total, 0, 512) ||
			   img_overlaps(off, total, c->footer.data_offset,
					VHD_HEADER_SIZE) ||
			   img_overlaps(off, total, h->table_offset,
					bat_bytes)) {
			cerr(c,
			     "BAT entry %u (sector %u): img_overlaps metadata",
			     i, c->bat[i]);
		} else {
			ents[n].off = off;
			ents[n++].idx = i;
			continue;
		}
		c->errors++;
		c->fix_bat = true;
		c->bat[i] = VHD_BAT_UNUSED;
	}
	qsort(ents, n, sizeof(*ents), img_bat_cmp);
	data_end = meta_end;
	for (i = 0; i < n; i++) {
		if (i && ents[i].off < prev_end) {
			cerr(c,
			     "BAT entry %u (sector %u): img_overlaps another "
			     "block",
			     ents[i].idx, c->bat[ents[i].idx]);
			c->errors++;
			c->fix_bat = true;
			c->bat[ents[i].idx] = VHD_BAT_UNUSED;
			continue;
		}
		prev_end = ents[i].off + total;
		data_end = MAX(data_end, prev_end);
	}
	free(raw);
	free(ents);
	return data_end;
}

static int img_check_parent(struct img_check *c)
{
	struct vhd *v;
	int ret;

	/* vhd_open walks the chain and checks UUIDs and time stamps. */
	ret = vhd_open(c->file, VHD_OPEN_QUIET, &v);
	if (ret == 0) {
		vhd_close(v);
		return 0;
	}
	ret = vhd_open(c->file, 0, &v); /* again, to print why */
	if (ret == 0) {
		vhd_close(v);
	} else {
		c->errors++;
		c->unfixable++;
	}
	return ret;
}

static int img_check_repair(struct img_check *c, uint64_t data_end)
{
	struct vhd v;
	int ret;

	memset(&v, 0, sizeof(v));
	v.path = (char *)c->file;
	v.fd = c->fd;
	v.footer = c->footer;
	v.header = c->header;
	v.bat = c->bat;
	v.size = c->footer.cur_size;
	v.next_free = data_end;
	if (c->fix_header) {
		ret = vhd_write_header(&v);
		if (ret)
			return ret;
	}
	if (c->fix_bat) {
		ret = vhd_write_bat(&v);
		if (ret)
			return ret;
	}
	/* Footer at the end of the data; trailing leaked space is cut. */
	return vhd_write_footer(&v);
}

int img_cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct img_check c;
	struct stat st;
	uint64_t data_end = 0, leak = 0;
	int opt, ret = 0;

	memset(&c, 0, sizeof(c));
	optind = 0;
	while ((opt = getopt_long(argc, argv, "r", opts, NULL)) != -1) {
		if (opt != 'r') {
			fputs(img_usage_check, stderr);
			return 1;
		}
		c.repair = true;
	}
	if (optind != argc - 1) {
		fputs(img_usage_check, stderr);
		return 1;
	}
	c.file = argv[optind];
	c.fd = open(c.file, (c.repair ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (c.fd < 0 || fstat(c.fd, &st)) {
		img_err("check", "%s: %s", c.file, strerror(errno));
		return 1;
	}
	c.file_size = (uint64_t)st.st_size;
	if (img_check_footer(&c)) {
		close(c.fd);
		return 2;
	}
	if (c.footer.disk_type == VHD_TYPE_FIXED) {
		if (c.file_size < c.footer.cur_size + VHD_FOOTER_SIZE) {
			cerr(&c,
			     "footer: current size %" PRIu64
			     " larger than the file (truncated?)",
			     c.footer.cur_size);
			close(c.fd);
			return 2;
		}
		data_end = c.footer.cur_size;
		leak = c.file_size - VHD_FOOTER_SIZE - data_end;
	} else {
		if (img_check_header(&c)) {
			close(c.fd);
			free(c.bat);
			return 2;
		}
		data_end = img_check_bat(&c);
		if (!c.fix_footer && c.file_size - VHD_FOOTER_SIZE > data_end)
			leak = c.file_size - VHD_FOOTER_SIZE - data_end;
		if (c.footer.disk_type == VHD_TYPE_DIFF)
			img_check_parent(&c);
	}
	if (leak)
		printf("Leaked space: %" PRIu64 " bytes after the last block "
		       "(orphaned blocks)%s\n",
		       leak, c.repair ? "" : "; --repair reclaims it");
	if (c.repair && (c.fix_footer || c.fix_header || c.fix_bat ||
			 (leak && c.footer.disk_type != VHD_TYPE_FIXED))) {
		ret = img_check_repair(&c, data_end);
		if (ret) {
			img_err("check", "%s: repair failed: %s", c.file,
				strerror(-ret));
		} else {
			c.fixed = c.errors - c.unfixable;
			printf("Repaired %d error(s)%s.\n", c.fixed,
			       leak ? " and reclaimed leaked space" : "");
		}
	}
	close(c.fd);
	free(c.bat);
	if (c.errors > c.fixed) {
		printf("%d error(s) found in %s\n", c.errors - c.fixed, c.file);
		return 2;
	}
	if (!c.errors)
		printf("No errors found in %s\n", c.file);
	return 0;
}
