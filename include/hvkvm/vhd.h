/* SPDX-License-Identifier: MIT */
/*
 * vhd: Microsoft VHD images (Virtual Hard Disk Image Format Specification,
 * version 1.0): fixed, dynamic and differencing disks.
 *
 * Two layers live here:
 *  - the on-disk format: footer, dynamic header, parent locators, checksum,
 *    CHS geometry. Pure functions over byte buffers (fuzzed).
 *  - struct vhd: one open image file with its BAT and sector bitmaps held in
 *    memory, plus its parent chain. Synchronous metadata helpers for tools.
 *
 * The data path (asynchronous reads, writes, block allocation and flush
 * ordering) lives in the block layer (block.h); this header is what the
 * block layer and `hvkvm img` share.
 */
#ifndef HVKVM_VHD_H
#define HVKVM_VHD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvkvm/util.h"

#define VHD_SECTOR 512u
#define VHD_FOOTER_SIZE 512u
#define VHD_HEADER_SIZE 1024u
#define VHD_BAT_UNUSED 0xffffffffu
#define VHD_DEFAULT_BLOCK_SIZE (2u * 1024 * 1024)
#define VHD_MAX_BLOCK_SIZE (256u * 1024 * 1024)
/* The spec's limit for a VHD: 2040 GiB. */
#define VHD_MAX_SIZE (2040ULL * 1024 * 1024 * 1024)
/* The largest CHS geometry, 65535 cylinders x 16 heads x 255 sectors. */
#define VHD_MAX_CHS_SECTORS (65535ULL * 16 * 255)
#define VHD_NUM_LOCATORS 8
/* Seconds between the Unix epoch and 2000-01-01 00:00:00 UTC. */
#define VHD_EPOCH_OFFSET 946684800ULL

enum vhd_type {
	VHD_TYPE_NONE = 0,
	VHD_TYPE_FIXED = 2,
	VHD_TYPE_DYNAMIC = 3,
	VHD_TYPE_DIFF = 4,
};

/* Platform codes of parent locators. */
#define VHD_PLAT_NONE 0u
#define VHD_PLAT_W2RU 0x57327275u /* "W2ru": relative path, UTF-16LE */
#define VHD_PLAT_W2KU 0x57326b75u /* "W2ku": absolute path, UTF-16LE */

/* The hard disk footer, decoded (not the on-disk layout). */
struct vhd_footer {
	uint32_t features;	  /* 2 = reserved bit, always set */
	uint32_t version;	  /* file format version, 0x00010000 */
	uint64_t data_offset;	  /* dynamic header offset, ~0 for fixed */
	uint32_t timestamp;	  /* seconds since 2000-01-01 UTC */
	char creator_app[4];	  /* e.g. "hvkv", "win ", "qemu" */
	uint32_t creator_version; /* creator's major.minor, 16 bits each */
	uint32_t creator_os;	  /* "Wi2k" or "Mac " */
	uint64_t orig_size;	  /* size at creation, bytes */
	uint64_t cur_size;	  /* virtual disk size, bytes */
	uint16_t cyls;		  /* CHS geometry */
	uint8_t heads;
	uint8_t spt;
	uint32_t disk_type;  /* enum vhd_type */
	uint32_t checksum;   /* as stored */
	uint8_t uuid[16];    /* unique id of this image */
	uint8_t saved_state; /* 1 if in a saved state */
};

struct vhd_locator {
	uint32_t code;	      /* VHD_PLAT_* */
	uint32_t data_space;  /* sectors reserved (some writers: bytes) */
	uint32_t data_len;    /* bytes of locator data */
	uint64_t data_offset; /* absolute file offset of the data */
};

/* The dynamic disk header ("cxsparse"), decoded. */
struct vhd_header {
	uint64_t data_offset;	   /* unused, ~0 */
	uint64_t table_offset;	   /* BAT offset, bytes */
	uint32_t version;	   /* 0x00010000 */
	uint32_t max_entries;	   /* BAT entries */
	uint32_t block_size;	   /* bytes of data per block */
	uint32_t checksum;	   /* as stored */
	uint8_t parent_uuid[16];   /* differencing: the parent's footer uuid */
	uint32_t parent_timestamp; /* differencing: the parent's timestamp */
	char parent_name[769];	   /* UTF-8 of the UTF-16BE name */
	struct vhd_locator loc[VHD_NUM_LOCATORS];
};

/* Flags for the parsers. */
#define VHD_PARSE_QUIET BIT(0)	     /* don't log, just return -EINVAL */
#define VHD_PARSE_IGNORE_CSUM BIT(1) /* accept a bad checksum (check) */

/* One's complement of the byte sum, skipping the 4 checksum bytes at @skip. */
uint32_t vhd_checksum(const uint8_t *buf, size_t len, size_t skip);
/* CHS geometry for @sectors per the spec's algorithm (capped at max CHS). */
void vhd_geometry(uint64_t sectors, uint16_t *cyls, uint8_t *heads,
		  uint8_t *spt);
/*
 * The smallest size >= @size (bytes, rounded to 512) whose geometry covers
 * it exactly, so readers that size a VHD by its CHS geometry (QEMU for
 * creators it does not know, Virtual PC) see the whole disk. From the
 * largest geometry (65535/16/255, ~127 GiB) on, readers use the footer's
 * size and @size is returned as it is.
 */
uint64_t vhd_chs_size(uint64_t size);
/*
 * Parse a 512-byte footer. @file names the image in error messages. Returns
 * 0 or -EINVAL after logging "FILE: footer: FIELD ..." (unless QUIET).
 */
int vhd_footer_parse(const uint8_t *buf, const char *file, unsigned int flags,
		     struct vhd_footer *f);
/* Encode @f into 512 bytes, computing the checksum (stored back into @f). */
void vhd_footer_build(struct vhd_footer *f, uint8_t *buf);
/* Parse / build the 1024-byte dynamic header; same conventions. */
int vhd_header_parse(const uint8_t *buf, const char *file, unsigned int flags,
		     struct vhd_header *h);
void vhd_header_build(struct vhd_header *h, uint8_t *buf);
/*
 * UTF-16 (little- or big-endian) to UTF-8 and back. Return the output length
 * or -EINVAL (bad surrogates, NUL inside, output too small).
 */
int vhd_utf16_to_utf8(const uint8_t *in, size_t in_len, bool big_endian,
		      char *out, size_t out_size);
int vhd_utf8_to_utf16(const char *in, bool big_endian, uint8_t *out,
		      size_t out_size);
/* Is @v a power of two (and non-zero)? */
bool vhd_is_pow2(uint64_t v);
/* Current time as a VHD timestamp. */
uint32_t vhd_now(void);

/* ---- an open image ---- */

/* Open flags. */
#define VHD_OPEN_RDWR BIT(0)	 /* the top image is writable */
#define VHD_OPEN_DIRECT BIT(1)	 /* O_DIRECT (falls back with a warning) */
#define VHD_OPEN_NOPARENT BIT(2) /* don't open the parent chain */
#define VHD_OPEN_QUIET BIT(4)	 /* don't log parse errors */

#define VHD_MAX_CHAIN 32

struct vhd {
	char *path;		  /* as opened */
	int fd;			  /* image file */
	bool readonly;		  /* opened O_RDONLY */
	bool direct;		  /* O_DIRECT in effect */
	struct vhd_footer footer; /* decoded footer */
	struct vhd_header header; /* decoded header (dynamic/diff only) */
	bool footer_from_copy;	  /* footer at EOF was bad; used the copy */
	uint64_t size;		  /* virtual size, bytes (footer cur_size) */
	uint64_t file_size;	  /* at open */
	uint32_t block_sectors;	  /* data sectors per block */
	uint32_t bitmap_bytes;	  /* bitmap size, rounded up to 512 */
	uint32_t *bat;		  /* max_entries entries (sector numbers) */
	uint8_t **bitmaps;	  /* per block, NULL when unallocated */
	uint8_t *full;		  /* per block: bitmap all ones */
	uint8_t *bat_dirty;	  /* per BAT sector: needs writing */
	uint8_t *bm_dirty;	  /* per block: bitmap needs writing */
	uint64_t next_free;	  /* byte offset for the next block */
	struct vhd *parent;	  /* differencing: the parent image */
};

/* Open @path (a VHD of any type) and, for differencing disks, its parents. */
int vhd_open(const char *path, unsigned int flags, struct vhd **out);
void vhd_close(struct vhd *v);
/* Does the file at @fd end (or begin) with a VHD footer? */
bool vhd_probe(int fd);

struct vhd_create_opts {
	enum vhd_type type;  /* FIXED, DYNAMIC or DIFF */
	uint64_t size;	     /* bytes (ignored for DIFF: the parent's) */
	uint32_t block_size; /* 0 = 2 MiB */
	const char *parent;  /* DIFF: parent path */
	const uint8_t *uuid; /* NULL = generate */
};
/* Create a new image; fails if @path exists. */
int vhd_create(const char *path, const struct vhd_create_opts *o);

/* Whole-image metadata writers for tools (synchronous, then fdatasync). */
int vhd_write_footer(struct vhd *v); /* end copy and, if dynamic, copy at 0 */
int vhd_write_header(struct vhd *v);
int vhd_write_bat(struct vhd *v); /* the whole table */
/* pwrite/pread that cope with O_DIRECT alignment. 0 or -errno. */
int vhd_pwrite(struct vhd *v, const void *buf, size_t len, uint64_t off);
int vhd_pread(struct vhd *v, void *buf, size_t len, uint64_t off);

/* Helpers over the in-memory tables. */
static inline bool vhd_is_sparse(const struct vhd *v)
{
	return v->footer.disk_type == VHD_TYPE_DYNAMIC ||
	       v->footer.disk_type == VHD_TYPE_DIFF;
}

static inline bool vhd_bit(const uint8_t *bm, uint32_t i)
{
	return bm[i >> 3] & (0x80 >> (i & 7));
}

static inline void vhd_set_bit(uint8_t *bm, uint32_t i)
{
	bm[i >> 3] |= (uint8_t)(0x80 >> (i & 7));
}

/* Byte offset of block @blk's data (block must be allocated). */
static inline uint64_t vhd_block_data(const struct vhd *v, uint32_t blk)
{
	return (uint64_t)v->bat[blk] * VHD_SECTOR + v->bitmap_bytes;
}

/*
 * Where does virtual sector @sector come from? Looks through the chain.
 * Returns the run length (1..@max sectors) over which the answer holds:
 * *@fd / *@off give the file and byte offset, or *@fd = -1 for zeros.
 */
uint32_t vhd_resolve(const struct vhd *v, uint64_t sector, uint32_t max,
		     int *fd, uint64_t *off);

/*
 * Where a block placed at or after @off starts: its data (after the
 * bitmap) is aligned to 4 KiB, so guest I/O is aligned in the file too.
 */
#define VHD_DATA_ALIGN 4096u
static inline uint64_t vhd_slot(const struct vhd *v, uint64_t off)
{
	return ALIGN_UP(off + v->bitmap_bytes, VHD_DATA_ALIGN) -
	       v->bitmap_bytes;
}

/* Take a block into use in memory (bitmap buffer, BAT slot, next_free). */
int vhd_alloc_block(struct vhd *v, uint32_t blk, bool bits_set);
/* Recompute full[] for @blk after the bitmap changed. */
void vhd_update_full(struct vhd *v, uint32_t blk);

#endif /* HVKVM_VHD_H */
