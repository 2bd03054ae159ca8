// SPDX-License-Identifier: MIT
/*
 * vhd_create: new fixed, dynamic and differencing VHD images. Layout of a
 * sparse image: footer copy (0), dynamic header (512), BAT (1536), parent
 * locator data (differencing), then blocks, then the footer. The creator
 * application is "hvkv"; the size is exactly what was asked for. Readers
 * that derive the size from CHS geometry (QEMU for unknown creators) see
 * all of it only if it is CHS-exact: `hvkvm img create` rounds it up with
 * vhd_chs_size() first.
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

#define CREATOR_VERSION 0x00000001u
#define CREATOR_OS_WI2K 0x5769326bu
#define HEADER_OFFSET 512u
#define BAT_OFFSET 1536u

static void vhd_init_footer(struct vhd_footer *f, enum vhd_type type,
			    uint64_t size, const uint8_t *uuid)
{
	memset(f, 0, sizeof(*f));
	f->features = 2;
	f->version = 0x00010000;
	f->data_offset = type == VHD_TYPE_FIXED ? ~0ULL : HEADER_OFFSET;
	f->timestamp = vhd_now();
	memcpy(f->creator_app, "hvkv", 4);
	f->creator_version = CREATOR_VERSION;
	f->creator_os = CREATOR_OS_WI2K;
	f->orig_size = size;
	f->cur_size = size;
	vhd_geometry(size / VHD_SECTOR, &f->cyls, &f->heads, &f->spt);
	f->disk_type = type;
	if (uuid)
		memcpy(f->uuid, uuid, 16);
	else
		uuid_generate(f->uuid);
}

/*
 * Relative path from directory @from to file @to (both absolute, no
 * trailing slash on @from).
 */
static char *vhd_rel_path(const char *from, const char *to)
{
	size_t i = 0, base = 0, j, len;
	int ups = 0, k;
	char *out;

	while (from[i] && from[i] == to[i]) {
		i++;
		if (from[i - 1] == '/')
			base = i;
	}
	if (!from[i] && to[i] == '/') {
		base = i + 1;
	} else if (from[base]) {
		ups = 1;
		for (j = base; from[j]; j++)
			if (from[j] == '/')
				ups++;
	}
	len = (size_t)ups * 3 + strlen(to + base) + 3;
	out = malloc(len);
	if (!out)
		return NULL;
	strcpy(out, ups ? "" : "./");
	for (k = 0; k < ups; k++)
		strcat(out, "../");
	strcat(out, to + base);
	return out;
}

/* Fill the locators and name of a differencing disk's header. */
static int vhd_diff_locators(const char *child, const char *parent,
			     struct vhd_header *h, uint8_t **data,
			     uint32_t *data_len, uint64_t data_off)
{
	char *cdup = NULL, *pdup = NULL, *cdir_abs = NULL, *pabs = NULL;
	char *rel = NULL, *paths[2];
	uint32_t codes[2] = { VHD_PLAT_W2RU, VHD_PLAT_W2KU };
	uint8_t *buf = NULL;
	uint32_t total = 0, len;
	int i, n, ret = -ENOMEM;

	cdup = strdup(child);
	pdup = strdup(parent);
	if (!cdup || !pdup)
		goto out;
	cdir_abs = realpath(dirname(cdup), NULL);
	pabs = realpath(parent, NULL);
	if (!cdir_abs || !pabs) {
		ret = -errno;
		goto out;
	}
	rel = vhd_rel_path(cdir_abs, pabs);
	if (!rel)
		goto out;
	snprintf(h->parent_name, sizeof(h->parent_name), "%s", basename(pdup));
	paths[0] = rel;
	paths[1] = pabs;
	buf = calloc(1, 2 * 2 * (PATH_MAX + 512));
	if (!buf)
		goto out;
	for (i = 0; i < 2; i++) {
		n = vhd_utf8_to_utf16(paths[i], false, buf + total,
				      2 * PATH_MAX);
		if (n <= 0) {
			ret = -ENAMETOOLONG;
			goto out;
		}
		len = ALIGN_UP((uint32_t)n, VHD_SECTOR);
		h->loc[i].code = codes[i];
		h->loc[i].data_space = len / VHD_SECTOR;
		h->loc[i].data_len = (uint32_t)n;
		h->loc[i].data_offset = data_off + total;
		total += len;
	}
	*data = buf;
	*data_len = total;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	free(rel);
	free(pabs);
	free(cdir_abs);
	free(pdup);
	free(cdup);
	return ret;
}

static int vhd_create_sparse(int fd, const char *path,
			     const struct vhd_create_opts *o,
			     struct vhd_footer *f)
{
	struct vhd_header h;
	uint8_t fbuf[VHD_FOOTER_SIZE], hbuf[VHD_HEADER_SIZE];
	uint8_t *bat = NULL, *loc = NULL;
	uint32_t bs = o->block_size ? o->block_size : VHD_DEFAULT_BLOCK_SIZE;
	uint32_t loc_len = 0;
	uint64_t entries, bat_bytes, end;
	struct vhd *parent = NULL;
	int ret;

	memset(&h, 0, sizeof(h));
	h.data_offset = ~0ULL;
	h.table_offset = BAT_OFFSET;
	h.version = 0x00010000;
	h.block_size = bs;
	entries = (f->cur_size + bs - 1) / bs;
	h.max_entries = (uint32_t)entries;
	bat_bytes = ALIGN_UP(entries * 4, VHD_SECTOR);
	end = BAT_OFFSET + bat_bytes;
	if (o->type == VHD_TYPE_DIFF) {
		struct stat st;

		ret = vhd_open(o->parent, 0, &parent);
		if (ret)
			return ret;
		memcpy(h.parent_uuid, parent->footer.uuid, 16);
		if (fstat(parent->fd, &st) == 0 &&
		    (uint64_t)st.st_mtime >= VHD_EPOCH_OFFSET)
			h.parent_timestamp = (uint32_t)((uint64_t)st.st_mtime -
							VHD_EPOCH_OFFSET);
		ret = vhd_diff_locators(path, o->parent, &h, &loc, &loc_len,
					end);
		if (ret) {
			pr_err("%s: parent locator for '%s': %s", path,
			       o->parent, strerror(-ret));
			goto out;
		}
		end += loc_len;
	}
	bat = malloc(bat_bytes);
	if (!bat) {
		ret = -ENOMEM;
		goto out;
	}
	memset(bat, 0xff, bat_bytes);
	vhd_footer_build(f, fbuf);
	vhd_header_build(&h, hbuf);
	ret = vhd_pwrite_full(fd, fbuf, sizeof(fbuf), 0);
	if (!ret)
		ret = vhd_pwrite_full(fd, hbuf, sizeof(hbuf), HEADER_OFFSET);
	if (!ret)
		ret = vhd_pwrite_full(fd, bat, bat_bytes, BAT_OFFSET);
	if (!ret && loc_len)
		ret = vhd_pwrite_full(fd, loc, loc_len, BAT_OFFSET + bat_bytes);
	if (!ret)
		ret = vhd_pwrite_full(fd, fbuf, sizeof(fbuf), end);
out:
	free(bat);
	free(loc);
	vhd_close(parent);
	return ret;
}

int vhd_create(const char *path, const struct vhd_create_opts *o)
{
	struct vhd_footer f;
	uint8_t fbuf[VHD_FOOTER_SIZE];
	uint64_t size = o->size;
	int fd, ret;

	if (o->type == VHD_TYPE_DIFF) {
		struct vhd *p;

		if (!o->parent) {
			pr_err("%s: differencing disk needs a parent", path);
			return -EINVAL;
		}
		ret = vhd_open(o->parent, 0, &p);
		if (ret)
			return ret;
		size = p->size;
		vhd_close(p);
	}
	if (!size || !IS_ALIGNED(size, VHD_SECTOR) || size > VHD_MAX_SIZE) {
		pr_err("%s: size %llu must be a non-zero multiple of 512 up to "
		       "2040 GiB",
		       path, (unsigned long long)size);
		return -EINVAL;
	}
	if (o->block_size &&
	    (!vhd_is_pow2(o->block_size) || o->block_size < VHD_SECTOR ||
	     o->block_size > VHD_MAX_BLOCK_SIZE)) {
		pr_err("%s: block size %u must be a power of two between 512 "
		       "and 256 MiB",
		       path, o->block_size);
		return -EINVAL;
	}
	vhd_init_footer(&f, o->type, size, o->uuid);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		pr_err("%s: cannot create: %s", path, strerror(errno));
		return ret;
	}
	if (o->type == VHD_TYPE_FIXED) {
		vhd_footer_build(&f, fbuf);
		ret = ftruncate(fd, (off_t)size) ? -errno : 0;
		if (!ret)
			ret = vhd_pwrite_full(fd, fbuf, sizeof(fbuf), size);
	} else {
		ret = vhd_create_sparse(fd, path, o, &f);
	}
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (ret) {
		if (ret != -EINVAL && ret != -ENOENT)
			pr_err("%s: create failed: %s", path, strerror(-ret));
		unlink(path);
	}
	return ret;
}
