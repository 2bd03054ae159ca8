/* SPDX-License-Identifier: MIT */
/*
 * kvm_stats: KVM's own per-vCPU counters (exits, io_exits, mmio_exits,
 * halt_exits, irq_injections, ...) through the binary statistics fd
 * (KVM_GET_STATS_FD, Linux 5.14+; Documentation/virt/kvm/api.rst 4.133).
 * They count what the kernel sees, including exits it handles itself
 * (in-kernel PIT/PIC/LAPIC), so they compare VMMs fairly: QEMU reports the
 * same counters through QMP query-stats.
 */
#ifndef HVKVM_KVM_STATS_H
#define HVKVM_KVM_STATS_H

#include <stdint.h>

/* The stats fd of a vCPU or VM fd, or -errno (not supported). */
int kvm_stats_open(int kvm_obj_fd);
/*
 * Call @fn for each single-value counter (histograms are skipped) with
 * its name and current value: 0 or -errno.
 */
int kvm_stats_foreach(int stats_fd,
		      void (*fn)(void *opaque, const char *name, uint64_t v),
		      void *opaque);

#endif /* HVKVM_KVM_STATS_H */
