// SPDX-License-Identifier: MIT
/*
 * vhd: an open VHD image (fixed, dynamic or differencing) with its BAT and
 * per-block sector bitmaps in memory, the parent chain of differencing
 * disks (parent locators W2ru/W2ku, parent UUID and time stamp checked),
 * image creation and synchronous metadata writers for `hvkvm img`.
 *
 * Everything read from the file is validated before use: a bad image gives
 * one error line naming the file and the field, never a crash.
 * Not implemented: Mac parent locators (Mac/MacX), saved-state images.
 */
#include "hvkvm/vhd.h"

#include "vhd_int.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#define ALIGN_BUF 4096
#define LOCATOR_MAX_LEN (64u * 1024)

static void *vhd_aligned_alloc(size_t len)
{
	void *p;

	if (posix_memalign(&p, ALIGN_BUF, ALIGN_UP(len ? len : 1, ALIGN_BUF)))
		return NULL;
	return p;
}

int vhd_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *b = buf;

	while (len) {
		ssize_t n = pread(fd, b, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		b += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int vhd_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *b = buf;

	while (len) {
		ssize_t n = pwrite(fd, b, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		b += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Aligned window around [off, off+len) for O_DIRECT read-modify-write. */
int vhd_pread(struct vhd *v, void *buf, size_t len, uint64_t off)
{
	uint64_t start, end;
	uint8_t *tmp;
	int ret;

	if (!v->direct)
		return vhd_pread_full(v->fd, buf, len, off);
	start = ALIGN_DOWN(off, VHD_SECTOR);
	end = ALIGN_UP(off + len, VHD_SECTOR);
	tmp = vhd_aligned_alloc(end - start);
	if (!tmp)
		return -ENOMEM;
	ret = vhd_pread_full(v->fd, tmp, end - start, start);
	if (!ret)
		memcpy(buf, tmp + (off - start), len);
	free(tmp);
	return ret;
}

int vhd_pwrite(struct vhd *v, const void *buf, size_t len, uint64_t off)
{
	uint64_t start, end;
	uint8_t *tmp;
	int ret = 0;

	if (!v->direct)
		return vhd_pwrite_full(v->fd, buf, len, off);
	start = ALIGN_DOWN(off, VHD_SECTOR);
	end = ALIGN_UP(off + len, VHD_SECTOR);
	tmp = vhd_aligned_alloc(end - start);
	if (!tmp)
		return -ENOMEM;
	if (start != off || end != off + len) {
		/* Partial sectors: read what is there (zeros past EOF). */
		struct stat st;

		memset(tmp, 0, end - start);
		if (fstat(v->fd, &st) == 0 && (uint64_t)st.st_size > start) {
			uint64_t have = MIN(end, ALIGN_UP((uint64_t)st.st_size,
							  VHD_SECTOR)) -
					start;

			ret = vhd_pread_full(v->fd, tmp, have, start);
			if (ret == -EIO)
				ret = 0;
		}
	}
	if (!ret) {
		memcpy(tmp + (off - start), buf, len);
		ret = vhd_pwrite_full(v->fd, tmp, end - start, start);
	}
	free(tmp);
	return ret;
}

bool vhd_probe(int fd)
{
	uint8_t buf[VHD_FOOTER_SIZE];
	struct stat st;
	struct vhd_footer f;

	if (fstat(fd, &st) || st.st_size < (off_t)VHD_FOOTER_SIZE)
		return false;
	if (vhd_pread_full(fd, buf, sizeof(buf), (uint64_t)st.st_size - 512) ==
		    0 &&
	    vhd_footer_parse(buf, NULL, VHD_PARSE_QUIET, &f) == 0)
		return true;
	return vhd_pread_full(fd, buf, sizeof(buf), 0) == 0 &&
	       vhd_footer_parse(buf, NULL, VHD_PARSE_QUIET, &f) == 0 &&
	       f.disk_type != VHD_TYPE_FIXED;
}

/* Errors name the file; @quiet suppresses them (probing, check). */
#define verr(v, flags, fmt, ...)                                      \
	do {                                                          \
		if (!((flags)&VHD_OPEN_QUIET))                        \
			pr_err("%s: " fmt, (v)->path, ##__VA_ARGS__); \
	} while (0)

static int vhd_read_footer(struct vhd *v, unsigned int flags)
{
	uint8_t buf[VHD_FOOTER_SIZE];
	unsigned int pf = VHD_PARSE_QUIET;
	int ret;

	if (v->file_size < VHD_FOOTER_SIZE) {
		verr(v, flags,
		     "file size %llu too small for a VHD footer "
		     "(truncated?)",
		     (unsigned long long)v->file_size);
		return -EINVAL;
	}
	ret = vhd_pread_full(v->fd, buf, sizeof(buf), v->file_size - 512);
	if (ret)
		goto err_io;
	if (vhd_footer_parse(buf, v->path, pf, &v->footer) == 0)
		return 0;
	/* Dynamic disks keep a copy at offset 0; a crash may cut the end. */
	ret = vhd_pread_full(v->fd, buf, sizeof(buf), 0);
	if (ret)
		goto err_io;
	if (vhd_footer_parse(buf, v->path, pf, &v->footer) == 0 &&
	    v->footer.disk_type != VHD_TYPE_FIXED) {
		if (!(flags & VHD_OPEN_QUIET))
			pr_warn("%s: footer at end of file is damaged; using "
				"the copy at offset 0 ('hvkvm img check "
				"--repair' rewrites it)",
				v->path);
		v->footer_from_copy = true;
		return 0;
	}
	/* Report what is wrong with the footer at the end. */
	vhd_pread_full(v->fd, buf, sizeof(buf), v->file_size - 512);
	vhd_footer_parse(buf, v->path,
			 (flags & VHD_OPEN_QUIET) ? VHD_PARSE_QUIET : 0,
			 &v->footer);
	return -EINVAL;
err_io:
	verr(v, flags, "reading footer: %s", strerror(-ret));
	return ret;
}

static bool vhd_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b,
			       uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool vhd_overlaps_locator(const struct vhd *v, uint64_t off,
				 uint64_t len)
{
	int i;

	for (i = 0; i < VHD_NUM_LOCATORS; i++) {
		const struct vhd_locator *l = &v->header.loc[i];

		if (l->code != VHD_PLAT_NONE && l->data_len &&
		    vhd_ranges_overlap(off, len, l->data_offset, l->data_len))
			return true;
	}
	return false;
}

static int vhd_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Two BAT entries sharing space would corrupt each other: refuse. */
static int vhd_check_overlap(struct vhd *v, unsigned int flags)
{
	uint64_t blk_bytes = (uint64_t)v->bitmap_bytes + v->header.block_size;
	uint64_t *offs;
	uint32_t i, n = 0;
	int ret = 0;

	offs = malloc((v->header.max_entries ? v->header.max_entries : 1) *
		      sizeof(*offs));
	if (!offs)
		return -ENOMEM;
	for (i = 0; i < v->header.max_entries; i++)
		if (v->bat[i] != VHD_BAT_UNUSED)
			offs[n++] = (uint64_t)v->bat[i] * VHD_SECTOR;
	qsort(offs, n, sizeof(*offs), vhd_u64_cmp);
	for (i = 1; i < n; i++) {
		if (offs[i] < offs[i - 1] + blk_bytes) {
			verr(v, flags,
			     "BAT: blocks at sectors %llu and %llu "
			     "overlap ('hvkvm img check --repair' "
			     "drops one)",
			     (unsigned long long)(offs[i - 1] / VHD_SECTOR),
			     (unsigned long long)(offs[i] / VHD_SECTOR));
			ret = -EINVAL;
			break;
		}
	}
	free(offs);
	return ret;
}

static int vhd_read_bat(struct vhd *v, unsigned int flags)
{
	struct vhd_header *h = &v->header;
	uint64_t bat_bytes = (uint64_t)h->max_entries * 4;
	uint64_t blk_bytes = (uint64_t)v->bitmap_bytes + h->block_size;
	uint8_t *raw;
	uint32_t i;
	int ret;

	v->bat = calloc(h->max_entries ? h->max_entries : 1, sizeof(*v->bat));
	v->bitmaps = calloc(h->max_entries ? h->max_entries : 1,
			    sizeof(*v->bitmaps));
	v->full = calloc(h->max_entries ? h->max_entries : 1, 1);
	v->bm_dirty = calloc(h->max_entries ? h->max_entries : 1, 1);
	v->bat_dirty = calloc(ALIGN_UP(bat_bytes, 512) / 512 + 1, 1);
	raw = malloc(bat_bytes ? bat_bytes : 1);
	if (!v->bat || !v->bitmaps || !v->full || !v->bm_dirty ||
	    !v->bat_dirty || !raw) {
		free(raw);
		return -ENOMEM;
	}
	ret = vhd_pread_full(v->fd, raw, bat_bytes, h->table_offset);
	if (ret) {
		verr(v, flags, "reading BAT: %s", strerror(-ret));
		goto out;
	}
	v->next_free = ALIGN_UP(h->table_offset + bat_bytes, VHD_SECTOR);
	v->next_free =
		MAX(v->next_free, v->footer.data_offset + VHD_HEADER_SIZE);
	for (i = 0; i < h->max_entries; i++) {
		uint64_t off;

		v->bat[i] = get_be32(raw + 4 * (size_t)i);
		if (v->bat[i] == VHD_BAT_UNUSED)
			continue;
		off = (uint64_t)v->bat[i] * VHD_SECTOR;
		if (off + blk_bytes > v->file_size) {
			verr(v, flags,
			     "BAT entry %u (sector %u) beyond end of "
			     "file",
			     i, v->bat[i]);
			ret = -EINVAL;
			goto out;
		}
		if (vhd_ranges_overlap(off, blk_bytes, 0, VHD_FOOTER_SIZE) ||
		    vhd_ranges_overlap(off, blk_bytes, v->footer.data_offset,
				       VHD_HEADER_SIZE) ||
		    vhd_ranges_overlap(off, blk_bytes, h->table_offset,
				       bat_bytes) ||
		    vhd_overlaps_locator(v, off, blk_bytes)) {
			verr(v, flags,
			     "BAT entry %u (sector %u) overlaps the "
			     "image metadata",
			     i, v->bat[i]);
			ret = -EINVAL;
			goto out;
		}
		v->next_free = MAX(v->next_free, off + blk_bytes);
	}
	ret = vhd_check_overlap(v, flags);
	if (ret)
		goto out;
	for (i = 0; i < h->max_entries; i++) {
		uint64_t off = (uint64_t)v->bat[i] * VHD_SECTOR;

		if (v->bat[i] == VHD_BAT_UNUSED)
			continue;
		v->bitmaps[i] = malloc(v->bitmap_bytes);
		if (!v->bitmaps[i]) {
			ret = -ENOMEM;
			goto out;
		}
		ret = vhd_pread_full(v->fd, v->bitmaps[i], v->bitmap_bytes,
				     off);
		if (ret) {
			verr(v, flags, "reading bitmap of block %u: %s", i,
			     strerror(-ret));
			goto out;
		}
		vhd_update_full(v, i);
	}
	/* Never reuse space past the last block: it may hold stale data. */
	if (!v->footer_from_copy)
		v->next_free =
			MAX(v->next_free, v->file_size - VHD_FOOTER_SIZE);
	else
		v->next_free = MAX(v->next_free, v->file_size);
	v->next_free = ALIGN_UP(v->next_free, VHD_SECTOR);
out:
	free(raw);
	return ret;
}

static int vhd_read_header(struct vhd *v, unsigned int flags)
{
	struct vhd_header *h = &v->header;
	uint8_t buf[VHD_HEADER_SIZE];
	uint64_t need;
	int ret;

	if (v->footer.data_offset + VHD_HEADER_SIZE > v->file_size) {
		verr(v, flags, "footer: data offset 0x%llx beyond end of file",
		     (unsigned long long)v->footer.data_offset);
		return -EINVAL;
	}
	ret = vhd_pread_full(v->fd, buf, sizeof(buf), v->footer.data_offset);
	if (ret) {
		verr(v, flags, "reading dynamic header: %s", strerror(-ret));
		return ret;
	}
	if (vhd_header_parse(buf, v->path,
			     (flags & VHD_OPEN_QUIET) ? VHD_PARSE_QUIET : 0, h))
		return -EINVAL;
	if (h->table_offset + (uint64_t)h->max_entries * 4 > v->file_size) {
		verr(v, flags,
		     "dynamic header: BAT (offset 0x%llx, %u "
		     "entries) beyond end of file",
		     (unsigned long long)h->table_offset, h->max_entries);
		return -EINVAL;
	}
	need = (v->footer.cur_size + h->block_size - 1) / h->block_size;
	if (need > h->max_entries) {
		verr(v, flags,
		     "dynamic header: max table entries %u too "
		     "small for the disk size %llu",
		     h->max_entries, (unsigned long long)v->footer.cur_size);
		return -EINVAL;
	}
	v->block_sectors = h->block_size / VHD_SECTOR;
	v->bitmap_bytes = ALIGN_UP((v->block_sectors + 7) / 8, VHD_SECTOR);
	return vhd_read_bat(v, flags);
}

/* Turn a locator path into a POSIX path relative to @dir if needed. */
static char *vhd_locator_path(const char *dir, char *p)
{
	char *s, *out;

	for (s = p; *s; s++)
		if (*s == '\\')
			*s = '/';
	if (!strncmp(p, "file://", 7))
		p += 7;
	if (p[0] == '/')
		return strdup(p);
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	if (asprintf(&out, "%s/%s", dir, p) < 0)
		return NULL;
	return out;
}

static char *vhd_find_parent(struct vhd *v, unsigned int flags)
{
	char *dcopy = strdup(v->path), *dir, *cand;
	char name[LOCATOR_MAX_LEN * 3 / 2 + 1];
	uint8_t *raw = NULL;
	int pass, i, n;

	if (!dcopy)
		return NULL;
	dir = dirname(dcopy);
	/* Relative locators first: image sets are moved around. */
	for (pass = 0; pass < 2; pass++) {
		uint32_t want = pass == 0 ? VHD_PLAT_W2RU : VHD_PLAT_W2KU;

		for (i = 0; i < VHD_NUM_LOCATORS; i++) {
			struct vhd_locator *l = &v->header.loc[i];

			if (l->code != want || !l->data_len ||
			    l->data_len > LOCATOR_MAX_LEN ||
			    l->data_offset + l->data_len > v->file_size)
				continue;
			raw = malloc(l->data_len);
			if (!raw)
				break;
			if (vhd_pread_full(v->fd, raw, l->data_len,
					   l->data_offset) == 0) {
				n = vhd_utf16_to_utf8(raw, l->data_len, false,
						      name, sizeof(name));
				if (n > 0) {
					cand = vhd_locator_path(dir, name);
					if (cand && access(cand, F_OK) == 0) {
						free(raw);
						free(dcopy);
						return cand;
					}
					free(cand);
				}
			}
			free(raw);
			raw = NULL;
		}
	}
	if (v->header.parent_name[0]) {
		snprintf(name, sizeof(name), "%s", v->header.parent_name);
		cand = vhd_locator_path(dir, name);
		if (cand && access(cand, F_OK) == 0) {
			free(dcopy);
			return cand;
		}
		free(cand);
	}
	verr(v, flags,
	     "parent '%s' not found (parent locators and name "
	     "tried)",
	     v->header.parent_name[0] ? v->header.parent_name : "?");
	free(dcopy);
	return NULL;
}

static uint32_t vhd_file_mtime(int fd)
{
	struct stat st;

	if (fstat(fd, &st) || (uint64_t)st.st_mtime < VHD_EPOCH_OFFSET)
		return 0;
	return (uint32_t)((uint64_t)st.st_mtime - VHD_EPOCH_OFFSET);
}

static int vhd_open_depth(const char *path, unsigned int flags, int depth,
			  struct vhd **out);

static int vhd_open_parent(struct vhd *v, unsigned int flags, int depth)
{
	char *ppath;
	char a[37], b[37];
	int ret;

	if (depth + 1 >= VHD_MAX_CHAIN) {
		verr(v, flags, "parent chain longer than %d images",
		     VHD_MAX_CHAIN);
		return -ELOOP;
	}
	ppath = vhd_find_parent(v, flags);
	if (!ppath)
		return -ENOENT;
	ret = vhd_open_depth(ppath, flags & ~VHD_OPEN_RDWR, depth + 1,
			     &v->parent);
	free(ppath);
	if (ret)
		return ret;
	if (memcmp(v->parent->footer.uuid, v->header.parent_uuid, 16)) {
		uuid_unparse(v->parent->footer.uuid, a);
		uuid_unparse(v->header.parent_uuid, b);
		verr(v, flags,
		     "dynamic header: parent UUID %s does not match "
		     "parent %s (UUID %s): parent changed",
		     b, v->parent->path, a);
		return -EINVAL;
	}
	if (v->header.parent_timestamp &&
	    v->header.parent_timestamp != vhd_file_mtime(v->parent->fd)) {
		verr(v, flags,
		     "dynamic header: parent time stamp %u does not "
		     "match parent %s (modified at %u): parent "
		     "changed",
		     v->header.parent_timestamp, v->parent->path,
		     vhd_file_mtime(v->parent->fd));
		return -EINVAL;
	}
	return 0;
}

static int vhd_reopen_direct(struct vhd *v)
{
	uint8_t *buf;
	int fd;

	fd = open(v->path,
		  (v->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_DIRECT);
	if (fd < 0) {
		pr_warn("%s: O_DIRECT refused (%s); using the page cache",
			v->path, strerror(errno));
		return 0;
	}
	buf = vhd_aligned_alloc(VHD_SECTOR);
	if (buf && pread(fd, buf, VHD_SECTOR, 0) < 0 && errno == EINVAL) {
		pr_warn("%s: O_DIRECT with 512-byte sectors refused; using "
			"the page cache",
			v->path);
		close(fd);
		free(buf);
		return 0;
	}
	free(buf);
	close(v->fd);
	v->fd = fd;
	v->direct = true;
	return 0;
}

static int vhd_open_depth(const char *path, unsigned int flags, int depth,
			  struct vhd **out)
{
	struct vhd *v;
	struct stat st;
	int ret;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->fd = -1;
	v->path = strdup(path);
	if (!v->path) {
		ret = -ENOMEM;
		goto err_free;
	}
	v->readonly = !(flags & VHD_OPEN_RDWR);
	v->fd = open(path, (v->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (v->fd < 0) {
		ret = -errno;
		verr(v, flags, "cannot open: %s", strerror(errno));
		goto err_free;
	}
	if (fstat(v->fd, &st)) {
		ret = -errno;
		goto err_free;
	}
	v->file_size = (uint64_t)st.st_size;
	ret = vhd_read_footer(v, flags);
	if (ret)
		goto err_free;
	v->size = v->footer.cur_size;
	if (v->footer.disk_type == VHD_TYPE_FIXED) {
		if (v->file_size < v->size + VHD_FOOTER_SIZE) {
			verr(v, flags,
			     "footer: current size %llu larger than "
			     "the file's data (truncated?)",
			     (unsigned long long)v->size);
			ret = -EINVAL;
			goto err_free;
		}
	} else {
		ret = vhd_read_header(v, flags);
		if (ret)
			goto err_free;
	}
	if (v->footer.disk_type == VHD_TYPE_DIFF &&
	    !(flags & VHD_OPEN_NOPARENT)) {
		ret = vhd_open_parent(v, flags, depth);
		if (ret)
			goto err_free;
	}
	if (flags & VHD_OPEN_DIRECT) {
		ret = vhd_reopen_direct(v);
		if (ret)
			goto err_free;
	}
	*out = v;
	return 0;
err_free:
	vhd_close(v);
	return ret;
}

int vhd_open(const char *path, unsigned int flags, struct vhd **out)
{
	return vhd_open_depth(path, flags, 0, out);
}

void vhd_close(struct vhd *v)
{
	uint32_t i;

	if (!v)
		return;
	if (v->parent)
		vhd_close(v->parent);
	if (v->bitmaps)
		for (i = 0; i < v->header.max_entries; i++)
			free(v->bitmaps[i]);
	free(v->bitmaps);
	free(v->bat);
	free(v->full);
	free(v->bat_dirty);
	free(v->bm_dirty);
	if (v->fd >= 0)
		close(v->fd);
	free(v->path);
	free(v);
}

void vhd_update_full(struct vhd *v, uint32_t blk)
{
	const uint8_t *bm = v->bitmaps[blk];
	uint32_t i, n = v->block_sectors;

	v->full[blk] = 0;
	if (!bm)
		return;
	for (i = 0; i < n / 8; i++)
		if (bm[i] != 0xff)
			return;
	for (i = n & ~7u; i < n; i++)
		if (!vhd_bit(bm, i))
			return;
	v->full[blk] = 1;
}

uint32_t vhd_resolve(const struct vhd *v, uint64_t sector, uint32_t max,
		     int *fd, uint64_t *off)
{
	uint64_t vsec = v->size / VHD_SECTOR;
	uint32_t blk, i, in, run;
	const uint8_t *bm;
	bool present;

	if (sector >= vsec) {
		/* Past this image (a parent smaller than its child). */
		*fd = -1;
		return max;
	}
	max = (uint32_t)MIN((uint64_t)max, vsec - sector);
	if (v->footer.disk_type == VHD_TYPE_FIXED) {
		*fd = v->fd;
		*off = sector * VHD_SECTOR;
		return max;
	}
	blk = (uint32_t)(sector / v->block_sectors);
	in = (uint32_t)(sector % v->block_sectors);
	max = MIN(max, v->block_sectors - in);
	bm = v->bat[blk] == VHD_BAT_UNUSED ? NULL : v->bitmaps[blk];
	present = bm && (v->full[blk] || vhd_bit(bm, in));
	run = 1;
	if (bm && v->full[blk]) {
		run = max;
	} else if (bm) {
		for (i = in + 1; i < in + max && vhd_bit(bm, i) == present; i++)
			run++;
	} else {
		run = max;
	}
	if (present) {
		*fd = v->fd;
		*off = vhd_block_data(v, blk) + (uint64_t)in * VHD_SECTOR;
		return run;
	}
	if (v->parent)
		return vhd_resolve(v->parent, sector, run, fd, off);
	*fd = -1;
	return run;
}

int vhd_alloc_block(struct vhd *v, uint32_t blk, bool bits_set)
{
	uint64_t off = vhd_slot(v, v->next_free);
	uint8_t *bm;

	if (blk >= v->header.max_entries)
		return -EINVAL;
	if (off / VHD_SECTOR >= VHD_BAT_UNUSED)
		return -ENOSPC;
	bm = malloc(v->bitmap_bytes);
	if (!bm)
		return -ENOMEM;
	memset(bm, bits_set ? 0xff : 0, v->bitmap_bytes);
	v->bitmaps[blk] = bm;
	v->bat[blk] = (uint32_t)(off / VHD_SECTOR);
	vhd_update_full(v, blk);
	v->next_free = off + v->bitmap_bytes + v->header.block_size;
	return 0;
}

/* ---- synchronous metadata writers (tools) ---- */

int vhd_write_footer(struct vhd *v)
{
	uint8_t buf[VHD_FOOTER_SIZE];
	uint64_t end;
	int ret;

	vhd_footer_build(&v->footer, buf);
	if (vhd_is_sparse(v)) {
		ret = vhd_pwrite(v, buf, sizeof(buf), 0);
		if (ret)
			return ret;
		end = v->next_free;
	} else {
		end = v->size;
	}
	ret = vhd_pwrite(v, buf, sizeof(buf), end);
	if (ret)
		return ret;
	if (ftruncate(v->fd, (off_t)(end + VHD_FOOTER_SIZE)))
		return -errno;
	v->file_size = end + VHD_FOOTER_SIZE;
	v->footer_from_copy = false;
	return fdatasync(v->fd) ? -errno : 0;
}

int vhd_write_header(struct vhd *v)
{
	uint8_t buf[VHD_HEADER_SIZE];
	int ret;

	vhd_header_build(&v->header, buf);
	ret = vhd_pwrite(v, buf, sizeof(buf), v->footer.data_offset);
	if (ret)
		return ret;
	return fdatasync(v->fd) ? -errno : 0;
}

int vhd_write_bat(struct vhd *v)
{
	size_t len = (size_t)v->header.max_entries * 4;
	uint8_t *buf = malloc(len ? len : 1);
	uint32_t i;
	int ret;

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < v->header.max_entries; i++)
		put_be32(buf + 4 * (size_t)i, v->bat[i]);
	ret = vhd_pwrite(v, buf, len, v->header.table_offset);
	free(buf);
	if (!ret && fdatasync(v->fd))
		ret = -errno;
	return ret;
}
