/* SPDX-License-Identifier: MIT */
/* vhd internals shared by vhd.c and vhd_create.c. */
#ifndef HVKVM_VHD_INT_H
#define HVKVM_VHD_INT_H

#include <stddef.h>
#include <stdint.h>

/* pread/pwrite the whole range, retrying short transfers and EINTR. */
int vhd_pread_full(int fd, void *buf, size_t len, uint64_t off);
int vhd_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

#endif /* HVKVM_VHD_INT_H */
