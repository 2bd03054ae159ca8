// SPDX-License-Identifier: MIT
/*
 * vhd_format: the VHD on-disk structures (Virtual Hard Disk Image Format
 * Specification 1.0): hard disk footer, dynamic disk header, parent locator
 * entries, the one's-complement checksum and the CHS geometry algorithm.
 * Pure functions over byte buffers; every field read from a file is checked
 * here or by the caller before use. This is what tests/fuzz/fuzz_vhd.c hits.
 */
#include "hvkvm/vhd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

/* Footer field offsets (all big-endian). */
#define FT_COOKIE 0
#define FT_FEATURES 8
#define FT_VERSION 12
#define FT_DATA_OFFSET 16
#define FT_TIMESTAMP 24
#define FT_CREATOR_APP 28
#define FT_CREATOR_VER 32
#define FT_CREATOR_OS 36
#define FT_ORIG_SIZE 40
#define FT_CUR_SIZE 48
#define FT_CYLS 56
#define FT_HEADS 58
#define FT_SPT 59
#define FT_DISK_TYPE 60
#define FT_CHECKSUM 64
#define FT_UUID 68
#define FT_SAVED_STATE 84

/* Dynamic header field offsets. */
#define HD_COOKIE 0
#define HD_DATA_OFFSET 8
#define HD_TABLE_OFFSET 16
#define HD_VERSION 24
#define HD_MAX_ENTRIES 28
#define HD_BLOCK_SIZE 32
#define HD_CHECKSUM 36
#define HD_PARENT_UUID 40
#define HD_PARENT_TS 56
#define HD_PARENT_NAME 64
#define HD_PARENT_NAME_LEN 512
#define HD_LOCATORS 576
#define HD_LOCATOR_SIZE 24

#define VHD_VERSION 0x00010000u
#define VHD_FEATURES_RESERVED 0x2u

static const char vhd_footer_cookie[8] = "conectix";
static const char vhd_header_cookie[8] = "cxsparse";

static void PRINTF(3, 4) vhd_parse_err(unsigned int flags, const char *file,
				       const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (flags & VHD_PARSE_QUIET)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pr_err("%s: %s", file ? file : "(image)", buf);
}

uint32_t vhd_checksum(const uint8_t *buf, size_t len, size_t skip)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i >= skip && i < skip + 4)
			continue;
		sum += buf[i];
	}
	return ~sum;
}

void vhd_geometry(uint64_t sectors, uint16_t *cyls, uint8_t *heads,
		  uint8_t *spt)
{
	uint64_t cth;
	uint32_t h, s;

	if (sectors > VHD_MAX_CHS_SECTORS)
		sectors = VHD_MAX_CHS_SECTORS;
	if (sectors >= 65535ULL * 16 * 63) {
		s = 255;
		h = 16;
		cth = sectors / s;
	} else {
		s = 17;
		cth = sectors / s;
		h = (uint32_t)((cth + 1023) / 1024);
		if (h < 4)
			h = 4;
		if (cth >= (uint64_t)h * 1024 || h > 16) {
			s = 31;
			h = 16;
			cth = sectors / s;
		}
		if (cth >= (uint64_t)h * 1024) {
			s = 63;
			h = 16;
			cth = sectors / s;
		}
	}
	*cyls = (uint16_t)(cth / h);
	*heads = (uint8_t)h;
	*spt = (uint8_t)s;
}

uint64_t vhd_chs_size(uint64_t size)
{
	uint64_t n = ALIGN_UP(size, VHD_SECTOR) / VHD_SECTOR;
	uint16_t c;
	uint8_t h, s;

	if (n >= VHD_MAX_CHS_SECTORS)
		return n * VHD_SECTOR;
	/* Exact sizes are multiples of heads x sectors (at most 16 x 255)
	 * and the largest geometry is exact: a few thousand steps at most. */
	for (;; n++) {
		vhd_geometry(n, &c, &h, &s);
		if ((uint64_t)c * h * s == n)
			return n * VHD_SECTOR;
	}
}

bool vhd_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

uint32_t vhd_now(void)
{
	time_t t = time(NULL);

	if (t < (time_t)VHD_EPOCH_OFFSET)
		return 0;
	return (uint32_t)((uint64_t)t - VHD_EPOCH_OFFSET);
}

int vhd_footer_parse(const uint8_t *buf, const char *file, unsigned int flags,
		     struct vhd_footer *f)
{
	uint32_t csum;

	if (memcmp(buf + FT_COOKIE, vhd_footer_cookie, 8)) {
		vhd_parse_err(flags, file,
			      "footer: bad cookie (not 'conectix')");
		return -EINVAL;
	}
	memset(f, 0, sizeof(*f));
	f->features = get_be32(buf + FT_FEATURES);
	f->version = get_be32(buf + FT_VERSION);
	f->data_offset = get_be64(buf + FT_DATA_OFFSET);
	f->timestamp = get_be32(buf + FT_TIMESTAMP);
	memcpy(f->creator_app, buf + FT_CREATOR_APP, 4);
	f->creator_version = get_be32(buf + FT_CREATOR_VER);
	f->creator_os = get_be32(buf + FT_CREATOR_OS);
	f->orig_size = get_be64(buf + FT_ORIG_SIZE);
	f->cur_size = get_be64(buf + FT_CUR_SIZE);
	f->cyls = get_be16(buf + FT_CYLS);
	f->heads = buf[FT_HEADS];
	f->spt = buf[FT_SPT];
	f->disk_type = get_be32(buf + FT_DISK_TYPE);
	f->checksum = get_be32(buf + FT_CHECKSUM);
	memcpy(f->uuid, buf + FT_UUID, 16);
	f->saved_state = buf[FT_SAVED_STATE];

	csum = vhd_checksum(buf, VHD_FOOTER_SIZE, FT_CHECKSUM);
	if (csum != f->checksum && !(flags & VHD_PARSE_IGNORE_CSUM)) {
		vhd_parse_err(flags, file,
			      "footer: bad checksum 0x%08x (computed 0x%08x)",
			      f->checksum, csum);
		return -EINVAL;
	}
	if (f->version >> 16 != 1) {
		vhd_parse_err(flags, file, "footer: unsupported version 0x%08x",
			      f->version);
		return -EINVAL;
	}
	if (f->disk_type != VHD_TYPE_FIXED &&
	    f->disk_type != VHD_TYPE_DYNAMIC && f->disk_type != VHD_TYPE_DIFF) {
		vhd_parse_err(flags, file, "footer: unsupported disk type %u",
			      f->disk_type);
		return -EINVAL;
	}
	if (f->cur_size > VHD_MAX_SIZE) {
		vhd_parse_err(flags, file,
			      "footer: current size %llu exceeds the VHD limit",
			      (unsigned long long)f->cur_size);
		return -EINVAL;
	}
	if (!IS_ALIGNED(f->cur_size, VHD_SECTOR)) {
		vhd_parse_err(flags, file,
			      "footer: current size %llu not a multiple of 512",
			      (unsigned long long)f->cur_size);
		return -EINVAL;
	}
	if (f->disk_type != VHD_TYPE_FIXED &&
	    (!IS_ALIGNED(f->data_offset, VHD_SECTOR) ||
	     f->data_offset > VHD_MAX_SIZE)) {
		vhd_parse_err(flags, file, "footer: bad data offset 0x%llx",
			      (unsigned long long)f->data_offset);
		return -EINVAL;
	}
	return 0;
}

void vhd_footer_build(struct vhd_footer *f, uint8_t *buf)
{
	memset(buf, 0, VHD_FOOTER_SIZE);
	memcpy(buf + FT_COOKIE, vhd_footer_cookie, 8);
	put_be32(buf + FT_FEATURES, f->features);
	put_be32(buf + FT_VERSION, f->version);
	put_be64(buf + FT_DATA_OFFSET, f->data_offset);
	put_be32(buf + FT_TIMESTAMP, f->timestamp);
	memcpy(buf + FT_CREATOR_APP, f->creator_app, 4);
	put_be32(buf + FT_CREATOR_VER, f->creator_version);
	put_be32(buf + FT_CREATOR_OS, f->creator_os);
	put_be64(buf + FT_ORIG_SIZE, f->orig_size);
	put_be64(buf + FT_CUR_SIZE, f->cur_size);
	put_be16(buf + FT_CYLS, f->cyls);
	buf[FT_HEADS] = f->heads;
	buf[FT_SPT] = f->spt;
	put_be32(buf + FT_DISK_TYPE, f->disk_type);
	memcpy(buf + FT_UUID, f->uuid, 16);
	buf[FT_SAVED_STATE] = f->saved_state;
	f->checksum = vhd_checksum(buf, VHD_FOOTER_SIZE, FT_CHECKSUM);
	put_be32(buf + FT_CHECKSUM, f->checksum);
}

int vhd_header_parse(const uint8_t *buf, const char *file, unsigned int flags,
		     struct vhd_header *h)
{
	uint32_t csum;
	int i, n;

	if (memcmp(buf + HD_COOKIE, vhd_header_cookie, 8)) {
		vhd_parse_err(flags, file,
			      "dynamic header: bad cookie (not 'cxsparse')");
		return -EINVAL;
	}
	memset(h, 0, sizeof(*h));
	h->data_offset = get_be64(buf + HD_DATA_OFFSET);
	h->table_offset = get_be64(buf + HD_TABLE_OFFSET);
	h->version = get_be32(buf + HD_VERSION);
	h->max_entries = get_be32(buf + HD_MAX_ENTRIES);
	h->block_size = get_be32(buf + HD_BLOCK_SIZE);
	h->checksum = get_be32(buf + HD_CHECKSUM);
	memcpy(h->parent_uuid, buf + HD_PARENT_UUID, 16);
	h->parent_timestamp = get_be32(buf + HD_PARENT_TS);
	for (i = 0; i < VHD_NUM_LOCATORS; i++) {
		const uint8_t *l = buf + HD_LOCATORS + i * HD_LOCATOR_SIZE;

		h->loc[i].code = get_be32(l);
		h->loc[i].data_space = get_be32(l + 4);
		h->loc[i].data_len = get_be32(l + 8);
		h->loc[i].data_offset = get_be64(l + 16);
	}

	csum = vhd_checksum(buf, VHD_HEADER_SIZE, HD_CHECKSUM);
	if (csum != h->checksum && !(flags & VHD_PARSE_IGNORE_CSUM)) {
		vhd_parse_err(
			flags, file,
			"dynamic header: bad checksum 0x%08x (computed 0x%08x)",
			h->checksum, csum);
		return -EINVAL;
	}
	if (h->version >> 16 != 1) {
		vhd_parse_err(flags, file,
			      "dynamic header: unsupported version 0x%08x",
			      h->version);
		return -EINVAL;
	}
	if (!vhd_is_pow2(h->block_size) || h->block_size < VHD_SECTOR ||
	    h->block_size > VHD_MAX_BLOCK_SIZE) {
		vhd_parse_err(
			flags, file,
			"dynamic header: block size %u is not a power of two "
			"between 512 and 256 MiB",
			h->block_size);
		return -EINVAL;
	}
	if (!IS_ALIGNED(h->table_offset, VHD_SECTOR) ||
	    h->table_offset > VHD_MAX_SIZE) {
		vhd_parse_err(flags, file,
			      "dynamic header: bad BAT offset 0x%llx",
			      (unsigned long long)h->table_offset);
		return -EINVAL;
	}
	if ((uint64_t)h->max_entries * h->block_size >
	    VHD_MAX_SIZE + h->block_size) {
		vhd_parse_err(flags, file,
			      "dynamic header: max table entries %u too large",
			      h->max_entries);
		return -EINVAL;
	}
	/* The name is advisory: a bad one is dropped, not fatal. */
	n = vhd_utf16_to_utf8(buf + HD_PARENT_NAME, HD_PARENT_NAME_LEN, true,
			      h->parent_name, sizeof(h->parent_name));
	if (n < 0)
		h->parent_name[0] = '\0';
	return 0;
}

void vhd_header_build(struct vhd_header *h, uint8_t *buf)
{
	int i;

	memset(buf, 0, VHD_HEADER_SIZE);
	memcpy(buf + HD_COOKIE, vhd_header_cookie, 8);
	put_be64(buf + HD_DATA_OFFSET, h->data_offset);
	put_be64(buf + HD_TABLE_OFFSET, h->table_offset);
	put_be32(buf + HD_VERSION, h->version);
	put_be32(buf + HD_MAX_ENTRIES, h->max_entries);
	put_be32(buf + HD_BLOCK_SIZE, h->block_size);
	memcpy(buf + HD_PARENT_UUID, h->parent_uuid, 16);
	put_be32(buf + HD_PARENT_TS, h->parent_timestamp);
	if (h->parent_name[0])
		vhd_utf8_to_utf16(h->parent_name, true, buf + HD_PARENT_NAME,
				  HD_PARENT_NAME_LEN);
	for (i = 0; i < VHD_NUM_LOCATORS; i++) {
		uint8_t *l = buf + HD_LOCATORS + i * HD_LOCATOR_SIZE;

		put_be32(l, h->loc[i].code);
		put_be32(l + 4, h->loc[i].data_space);
		put_be32(l + 8, h->loc[i].data_len);
		put_be64(l + 16, h->loc[i].data_offset);
	}
	h->checksum = vhd_checksum(buf, VHD_HEADER_SIZE, HD_CHECKSUM);
	put_be32(buf + HD_CHECKSUM, h->checksum);
}

static uint16_t vhd_utf16_get(const uint8_t *p, bool be)
{
	return be ? get_be16(p) : get_le16(p);
}

int vhd_utf16_to_utf8(const uint8_t *in, size_t in_len, bool big_endian,
		      char *out, size_t out_size)
{
	size_t i, o = 0;

	if (!out_size)
		return -EINVAL;
	for (i = 0; i + 1 < in_len; i += 2) {
		uint32_t c = vhd_utf16_get(in + i, big_endian);

		if (c == 0)
			break;
		if (c >= 0xd800 && c < 0xdc00) {
			uint32_t lo;

			if (i + 3 >= in_len)
				return -EINVAL;
			lo = vhd_utf16_get(in + i + 2, big_endian);
			if (lo < 0xdc00 || lo >= 0xe000)
				return -EINVAL;
			c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
			i += 2;
		} else if (c >= 0xdc00 && c < 0xe000) {
			return -EINVAL;
		}
		if (o + 5 > out_size)
			return -EINVAL;
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xe0 | c >> 12);
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | c >> 18);
			out[o++] = (char)(0x80 | ((c >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	out[o] = '\0';
	return (int)o;
}

static void vhd_utf16_put(uint8_t *p, uint16_t c, bool be)
{
	if (be)
		put_be16(p, c);
	else
		put_le16(p, c);
}

int vhd_utf8_to_utf16(const char *in, bool big_endian, uint8_t *out,
		      size_t out_size)
{
	const uint8_t *s = (const uint8_t *)in;
	size_t o = 0;

	memset(out, 0, out_size);
	while (*s) {
		uint32_t c;
		int extra, k;

		if (*s < 0x80) {
			c = *s;
			extra = 0;
		} else if ((*s & 0xe0) == 0xc0) {
			c = *s & 0x1f;
			extra = 1;
		} else if ((*s & 0xf0) == 0xe0) {
			c = *s & 0x0f;
			extra = 2;
		} else if ((*s & 0xf8) == 0xf0) {
			c = *s & 0x07;
			extra = 3;
		} else {
			return -EINVAL;
		}
		s++;
		for (k = 0; k < extra; k++, s++) {
			if ((*s & 0xc0) != 0x80)
				return -EINVAL;
			c = c << 6 | (*s & 0x3f);
		}
		if (c >= 0x10000) {
			if (o + 4 > out_size)
				return -EINVAL;
			c -= 0x10000;
			vhd_utf16_put(out + o, (uint16_t)(0xd800 + (c >> 10)),
				      big_endian);
			vhd_utf16_put(out + o + 2,
				      (uint16_t)(0xdc00 + (c & 0x3ff)),
				      big_endian);
			o += 4;
		} else {
			if (o + 2 > out_size)
				return -EINVAL;
			vhd_utf16_put(out + o, (uint16_t)c, big_endian);
			o += 2;
		}
	}
	return (int)o;
}
