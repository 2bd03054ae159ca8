// SPDX-License-Identifier: MIT
/* gmem: guest-physical memory regions and the one checked access helper. */
#include "hvkvm/gmem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvkvm/util.h"

void gmem_init(struct gmem *gm)
{
	memset(gm, 0, sizeof(*gm));
	gm->memfd = -1;
}

int gmem_add_region(struct gmem *gm, uint64_t gpa, uint64_t size, void *hva,
		    bool readonly)
{
	unsigned int i, pos;

	if (!size || gpa + size < gpa || !hva)
		return -EINVAL;
	if (gm->nr_regions == GMEM_MAX_REGIONS)
		return -ENOSPC;
	for (pos = 0; pos < gm->nr_regions; pos++) {
		struct gmem_region *r = &gm->regions[pos];

		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return -EEXIST;
		if (gpa < r->gpa)
			break;
	}
	for (i = pos; i < gm->nr_regions; i++) {
		if (gpa + size > gm->regions[i].gpa)
			return -EEXIST;
	}
	memmove(&gm->regions[pos + 1], &gm->regions[pos],
		(gm->nr_regions - pos) * sizeof(gm->regions[0]));
	gm->regions[pos] = (struct gmem_region){
		.gpa = gpa,
		.size = size,
		.hva = hva,
		.readonly = readonly,
	};
	gm->nr_regions++;
	if (!readonly)
		gm->ram_size += size;
	return 0;
}

/*
 * Shared memfd RAM (the default): VMBus maps ring pages of it a second time
 * (vmbus/channel.c). The kernel's KSM never merges shared mappings, so this
 * RAM is never shared with other processes. @mergeable asks for private
 * anonymous RAM offered to KSM instead (no memfd: rings use their
 * page-pointer path).
 */
static int gmem_create(struct gmem *gm, uint64_t ram_size, uint64_t hole_start,
		       bool mergeable)
{
	uint64_t low, high;
	int fd = -1, r;
	void *p;

	gmem_init(gm);
	if (!ram_size || !IS_ALIGNED(ram_size, 4096))
		return -EINVAL;
	if (!hole_start || hole_start > 4 * GiB)
		hole_start = 3 * GiB;
	if (mergeable) {
		p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		if (madvise(p, ram_size, MADV_MERGEABLE)) {
			r = -errno;
			goto err_unmap;
		}
	} else {
		fd = memfd_create("hvkvm-ram", MFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (ftruncate(fd, (off_t)ram_size) < 0) {
			r = -errno;
			goto err_close;
		}
		p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_NORESERVE, fd, 0);
		if (p == MAP_FAILED) {
			r = -errno;
			goto err_close;
		}
	}
	/* Guest RAM stays out of core dumps (it is the guest's, and big). */
	madvise(p, ram_size, MADV_DONTDUMP);
	gm->memfd = fd;
	gm->base = p;
	gm->base_size = ram_size;
	low = MIN(ram_size, hole_start);
	high = ram_size - low;
	r = gmem_add_region(gm, 0, low, p, false);
	if (!r && high)
		r = gmem_add_region(gm, 4 * GiB, high, (uint8_t *)p + low,
				    false);
	if (r)
		goto err_unmap;
	return 0;

err_unmap:
	munmap(p, ram_size);
	gm->base = NULL;
err_close:
	if (fd >= 0)
		close(fd);
	gm->memfd = -1;
	return r;
}

int gmem_create_ram(struct gmem *gm, uint64_t ram_size, uint64_t hole_start)
{
	return gmem_create(gm, ram_size, hole_start, false);
}

int gmem_create_ram_mergeable(struct gmem *gm, uint64_t ram_size,
			      uint64_t hole_start)
{
	return gmem_create(gm, ram_size, hole_start, true);
}

void gmem_destroy(struct gmem *gm)
{
	if (gm->base)
		munmap(gm->base, gm->base_size);
	if (gm->memfd >= 0)
		close(gm->memfd);
	gmem_init(gm);
}

static struct gmem_region *gmem_find(struct gmem *gm, uint64_t gpa)
{
	unsigned int lo = 0, hi = gm->nr_regions;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		struct gmem_region *r = &gm->regions[mid];

		if (gpa < r->gpa)
			hi = mid;
		else if (gpa - r->gpa >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

void *gmem_map(struct gmem *gm, uint64_t gpa, uint64_t len, bool write)
{
	struct gmem_region *r;
	uint64_t off;

	if (!len)
		return NULL;
	r = gmem_find(gm, gpa);
	if (!r || (write && r->readonly))
		return NULL;
	off = gpa - r->gpa;
	if (len > r->size - off)
		return NULL;
	return r->hva + off;
}

int gmem_read(struct gmem *gm, uint64_t gpa, void *buf, uint64_t len)
{
	void *p = gmem_map(gm, gpa, len, false);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int gmem_write(struct gmem *gm, uint64_t gpa, const void *buf, uint64_t len)
{
	void *p = gmem_map(gm, gpa, len, true);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

bool gmem_is_ram(struct gmem *gm, uint64_t gpa, uint64_t len)
{
	return gmem_map(gm, gpa, len, true) != NULL;
}
