// SPDX-License-Identifier: MIT
/*
 * kvm_stats: read KVM's binary statistics (KVM_GET_STATS_FD): a header,
 * then descriptors {flags, exponent, size, offset, bucket_size, name}, then
 * the data block of u64 values (Documentation/virt/kvm/api.rst, "KVM binary
 * statistics"). Read on demand (ctl stats), never on a hot path.
 */
#include "hvkvm/kvm_stats.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_STATS_MAX_DESC 1024 /* sanity bound on the header */
#define KVM_STATS_MAX_NAME 256

int kvm_stats_open(int kvm_obj_fd)
{
	int fd = ioctl(kvm_obj_fd, KVM_GET_STATS_FD, NULL);

	return fd < 0 ? -errno : fd;
}

static int kvm_stats_pread(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int kvm_stats_foreach(int stats_fd,
		      void (*fn)(void *opaque, const char *name, uint64_t v),
		      void *opaque)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	size_t dsize;
	uint64_t v;
	uint32_t i;
	int r;

	r = kvm_stats_pread(stats_fd, &h, sizeof(h), 0);
	if (r)
		return r;
	if (h.num_desc > KVM_STATS_MAX_DESC || !h.name_size ||
	    h.name_size > KVM_STATS_MAX_NAME)
		return -EINVAL;
	dsize = sizeof(*d) + h.name_size;
	d = calloc(1, dsize + 1);
	if (!d)
		return -ENOMEM;
	for (i = 0; i < h.num_desc; i++) {
		r = kvm_stats_pread(stats_fd, d, dsize,
				    (off_t)h.desc_offset + (off_t)i * dsize);
		if (r)
			break;
		((char *)d)[dsize] = '\0';
		if (d->size != 1)
			continue; /* a histogram */
		r = kvm_stats_pread(stats_fd, &v, sizeof(v),
				    (off_t)h.data_offset + d->offset);
		if (r)
			break;
		fn(opaque, d->name, v);
	}
	free(d);
	return r;
}
