/* SPDX-License-Identifier: MIT */
/*
 * cpuid: the CPU model a guest sees. Starts from KVM_GET_SUPPORTED_CPUID,
 * fixes the topology (APIC IDs, leaves 1, 4, 0xB, 0x1F) per vCPU, and on an
 * emulating KVM (kvm_pvm) presents a conservative Intel baseline without the
 * instructions its emulator lacks.
 */
#ifndef HVKVM_CPUID_H
#define HVKVM_CPUID_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#define CPUID_MAX_ENTRIES 128

/* True when the host KVM emulates guest code (e.g. kvm_pvm is loaded). */
bool cpuid_host_is_emulating(void);

/* KVM_GET_SUPPORTED_CPUID into a fresh table with room to add leaves. */
int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out);

/*
 * Apply the CPU model and topology for vCPU @index with @apic_id out of
 * @nr_vcpus, one core per vCPU, one socket.
 */
void cpuid_apply(struct kvm_cpuid2 *c, unsigned int apic_id,
		 unsigned int nr_vcpus, bool conservative);

/*
 * Advertise the TSC frequency in leaf 0x15 (crystal 1 kHz x @tsc_khz), so
 * the guest need not calibrate against the PIT/PM timer — which fails when
 * guest code is emulated slowly.
 */
void cpuid_set_tsc_khz(struct kvm_cpuid2 *c, uint32_t tsc_khz);

/* Find (function, index) or NULL. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t function,
				    uint32_t index);
/* Copy of @c (for per-vCPU tables). */
struct kvm_cpuid2 *cpuid_dup(const struct kvm_cpuid2 *c);

#endif /* HVKVM_CPUID_H */
