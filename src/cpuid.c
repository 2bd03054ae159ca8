// SPDX-License-Identifier: MIT
/*
 * cpuid: guest CPU model. Topology per the Intel SDM (leaf 1 EBX, leaf 4
 * EAX[31:26], leaf 0xB x2APIC levels). The conservative model for emulating
 * KVMs hides what their instruction emulator cannot run (see
 * shared/TEST-GUEST.md): CX16, POPCNT, XSAVE/AVX, SMAP, and the AMD vendor
 * (whose FXSAVE-leak workaround runs x87 code).
 */
#include "hvkvm/cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hvkvm/util.h"

/* Leaf 1 ECX. */
#define F1C_SSE3 BIT(0)
#define F1C_PCLMUL BIT(1)
#define F1C_MONITOR BIT(3)
#define F1C_VMX BIT(5)
#define F1C_SSSE3 BIT(9)
#define F1C_FMA BIT(12)
#define F1C_CX16 BIT(13)
#define F1C_PDCM BIT(15)
#define F1C_PCID BIT(17)
#define F1C_SSE41 BIT(19)
#define F1C_SSE42 BIT(20)
#define F1C_X2APIC BIT(21)
#define F1C_MOVBE BIT(22)
#define F1C_POPCNT BIT(23)
#define F1C_AES BIT(25)
#define F1C_XSAVE BIT(26)
#define F1C_OSXSAVE BIT(27)
#define F1C_AVX BIT(28)
#define F1C_F16C BIT(29)
#define F1C_RDRAND BIT(30)
#define F1C_HYPERVISOR BIT(31)
/* Leaf 1 EDX. */
#define F1D_HTT BIT(28)
/* Leaf 7.0 EBX. */
#define F7B_BMI1 BIT(3)
#define F7B_HLE BIT(4)
#define F7B_AVX2 BIT(5)
#define F7B_SMEP BIT(7)
#define F7B_BMI2 BIT(8)
#define F7B_INVPCID BIT(10)
#define F7B_RTM BIT(11)
#define F7B_MPX BIT(14)
#define F7B_AVX512F BIT(16)
#define F7B_RDSEED BIT(18)
#define F7B_ADX BIT(19)
#define F7B_SMAP BIT(20)
/* Leaf 0x80000001 ECX. */
#define F81C_LAHF BIT(0)
#define F81C_ABM BIT(5) /* LZCNT */
#define F81C_SSE4A BIT(6)
#define F81C_XOP BIT(11)
#define F81C_FMA4 BIT(16)
#define F81C_TBM BIT(21)

bool cpuid_host_is_emulating(void)
{
	const char *force = getenv("HVKVM_CPU_MODEL");

	if (force && !strcmp(force, "conservative"))
		return true;
	if (force && !strcmp(force, "host"))
		return false;
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *c;

	c = calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES *
					   sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return -ENOMEM;
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		int r = -errno;

		free(c);
		return r;
	}
	*out = c;
	return 0;
}

struct kvm_cpuid2 *cpuid_dup(const struct kvm_cpuid2 *c)
{
	size_t len = sizeof(*c) +
		     CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *d = malloc(len);

	if (d)
		memcpy(d, c, len);
	return d;
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t function,
				    uint32_t index)
{
	unsigned int i;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) &&
		    e->index != index)
			continue;
		return e;
	}
	return NULL;
}

static void cpuid_remove(struct kvm_cpuid2 *c, uint32_t function)
{
	unsigned int i = 0;

	while (i < c->nent) {
		if (c->entries[i].function == function) {
			memmove(&c->entries[i], &c->entries[i + 1],
				(c->nent - i - 1) * sizeof(c->entries[0]));
			c->nent--;
		} else {
			i++;
		}
	}
}

void cpuid_set_tsc_khz(struct kvm_cpuid2 *c, uint32_t tsc_khz)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 0, 0);
	unsigned int i;

	if (!e || !tsc_khz)
		return;
	if (e->eax < 0x15)
		e->eax = 0x15;
	/* Basic leaves up to 0x15 must exist; add empty ones that are missing. */
	for (i = 0xc; i <= 0x15 && c->nent < CPUID_MAX_ENTRIES; i++) {
		if (cpuid_find(c, i, 0))
			continue;
		e = &c->entries[c->nent++];
		memset(e, 0, sizeof(*e));
		e->function = i;
	}
	e = cpuid_find(c, 0x15, 0);
	if (!e)
		return;
	/* TSC = crystal (1 kHz, ECX in Hz) * EBX / EAX. */
	e->eax = 1;
	e->ebx = tsc_khz;
	e->ecx = 1000;
	e->edx = 0;
}

static unsigned int order_base_2(unsigned int n)
{
	unsigned int b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

static void cpuid_conservative(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *e;
	uint32_t i;

	e = cpuid_find(c, 0, 0);
	if (e) {
		/* "GenuineIntel"; cap the basic leaves at 0xD's predecessor. */
		e->ebx = 0x756e6547;
		e->edx = 0x49656e69;
		e->ecx = 0x6c65746e;
		if (e->eax > 0xb)
			e->eax = 0xb;
	}
	/* Leaves 0xC..0x15 are added back only as cpuid_set_tsc_khz() needs. */
	e = cpuid_find(c, 1, 0);
	if (e) {
		e->ecx &= ~(F1C_SSE3 | F1C_PCLMUL | F1C_MONITOR | F1C_VMX |
			    F1C_SSSE3 | F1C_FMA | F1C_CX16 | F1C_PDCM |
			    F1C_PCID | F1C_SSE41 | F1C_SSE42 | F1C_MOVBE |
			    F1C_POPCNT | F1C_AES | F1C_XSAVE | F1C_OSXSAVE |
			    F1C_AVX | F1C_F16C | F1C_RDRAND);
		/* Family 6 model 15: a plain Core 2 era signature. */
		e->eax = 0x000006f1;
	}
	e = cpuid_find(c, 7, 0);
	if (e) {
		e->ebx &= ~(F7B_BMI1 | F7B_HLE | F7B_AVX2 | F7B_BMI2 |
			    F7B_INVPCID | F7B_RTM | F7B_MPX | F7B_AVX512F |
			    F7B_RDSEED | F7B_ADX | F7B_SMAP | F7B_SMEP);
		e->ecx = 0;
		e->edx = 0;
	}
	e = cpuid_find(c, 0x80000001, 0);
	if (e)
		e->ecx &= ~(F81C_ABM | F81C_SSE4A | F81C_XOP | F81C_FMA4 |
			    F81C_TBM);
	/*
	 * KVM's paravirt leaves: on an emulating KVM, VMCALL never completes,
	 * and the guest would issue it for PV IPIs, PV yield or ptp_kvm's
	 * clock pairing. Present no KVM interface at all.
	 */
	for (i = 0x40000000; i < 0x40000100; i++)
		cpuid_remove(c, i);
	cpuid_remove(c, 0xd); /* XSAVE state enumeration */
	cpuid_remove(c, 0x14);
	cpuid_remove(c, 0x1f);
	/* AMD-only extended leaves make no sense with an Intel vendor. */
	cpuid_remove(c, 0x8000001d);
	cpuid_remove(c, 0x8000001e);
	cpuid_remove(c, 0x8000001f);
}

/* Add leaf 0xB (levels 0-2) when the host's table lacks it (AMD hosts). */
static void cpuid_ensure_leaf_b(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 0, 0);
	unsigned int lvl;

	if (!e || cpuid_find(c, 0xb, 0))
		return;
	if (e->eax < 0xb)
		e->eax = 0xb;
	for (lvl = 0; lvl < 3 && c->nent < CPUID_MAX_ENTRIES; lvl++) {
		e = &c->entries[c->nent++];
		memset(e, 0, sizeof(*e));
		e->function = 0xb;
		e->index = lvl;
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	}
}

void cpuid_apply(struct kvm_cpuid2 *c, unsigned int apic_id,
		 unsigned int nr_vcpus, bool conservative)
{
	struct kvm_cpuid_entry2 *e;
	unsigned int core_bits = order_base_2(nr_vcpus);
	unsigned int i;

	if (conservative)
		cpuid_conservative(c);
	e = cpuid_find(c, 1, 0);
	if (e) {
		e->ebx = (e->ebx & 0x0000ffff) | (apic_id << 24) |
			 (MIN(nr_vcpus, 255u) << 16);
		e->ecx |= F1C_HYPERVISOR;
		if (nr_vcpus > 1)
			e->edx |= F1D_HTT;
		else
			e->edx &= ~F1D_HTT;
	}
	/* Deterministic cache parameters: cores per package. */
	for (i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		if (e->function == 4 && (e->eax & 0x1f))
			e->eax = (e->eax & 0x03ffffff) |
				 ((uint32_t)((1u << core_bits) - 1) << 26);
	}
	/* x2APIC topology: level 0 SMT (1 thread), level 1 core. */
	cpuid_ensure_leaf_b(c);
	for (i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		if (e->function != 0xb)
			continue;
		e->edx = apic_id;
		switch (e->index) {
		case 0:
			e->eax = 0;
			e->ebx = 1;
			e->ecx = 0x100;
			break;
		case 1:
			e->eax = core_bits;
			e->ebx = nr_vcpus;
			e->ecx = 0x201;
			break;
		default:
			e->eax = 0;
			e->ebx = 0;
			e->ecx = e->index;
			break;
		}
	}
	/* AMD core count (harmless under an Intel vendor string). */
	e = cpuid_find(c, 0x80000008, 0);
	if (e)
		e->ecx = (e->ecx & ~0xf0ffu) | (core_bits << 12) |
			 ((nr_vcpus - 1) & 0xff);
}
