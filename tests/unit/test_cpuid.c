// SPDX-License-Identifier: MIT
/* Unit tests: CPU model — topology per vCPU and the conservative baseline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/cpuid.h"
#include "hvkvm/util.h"

static struct kvm_cpuid2 *table(void)
{
	struct kvm_cpuid2 *c =
		calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES *
					       sizeof(struct kvm_cpuid_entry2));
	struct kvm_cpuid_entry2 *e = c->entries;

	/* An AMD host's table: vendor, leaf 1 with CX16/POPCNT/XSAVE, leaf 7
	 * with SMAP, leaf 0xD, no leaf 0xB. */
	e[0] = (struct kvm_cpuid_entry2){ .function = 0,
					  .eax = 0x10,
					  .ebx = 0x68747541,
					  .edx = 0x69746e65,
					  .ecx = 0x444d4163 };
	e[1] = (struct kvm_cpuid_entry2){ .function = 1,
					  .eax = 0x00a00f11,
					  .ebx = 0x00000800,
					  .ecx = BIT(13) | BIT(23) | BIT(26) |
						 BIT(0),
					  .edx = 0x178bfbff };
	e[2] = (struct kvm_cpuid_entry2){
		.function = 7,
		.index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		.ebx = BIT(20) | BIT(7) | BIT(0)
	};
	e[3] = (struct kvm_cpuid_entry2){
		.function = 0xd,
		.index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		.eax = 7
	};
	e[4] = (struct kvm_cpuid_entry2){
		.function = 4,
		.index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		.eax = 0x121
	};
	e[5] = (struct kvm_cpuid_entry2){ .function = 0x40000000,
					  .eax = 0x40000001,
					  .ebx = 0x4b4d564b }; /* "KVMK" */
	e[6] = (struct kvm_cpuid_entry2){ .function = 0x40000001,
					  .eax = 0x1ffff };
	c->nent = 7;
	return c;
}

static void test_cpuid_topology_per_vcpu(void **state)
{
	struct kvm_cpuid2 *c = table();
	struct kvm_cpuid_entry2 *e;

	(void)state;
	cpuid_apply(c, 3, 4, false);
	assert_non_null(cpuid_find(c, 0x40000000, 0)); /* host model: kept */
	e = cpuid_find(c, 1, 0);
	assert_int_equal(e->ebx >> 24, 3);	    /* initial APIC ID */
	assert_int_equal((e->ebx >> 16) & 0xff, 4); /* logical count */
	assert_true(e->ecx & BIT(31));		    /* hypervisor */
	assert_true(e->edx & BIT(28));		    /* HTT */
	assert_true(e->ecx & BIT(13));		    /* host model keeps CX16 */
	e = cpuid_find(c, 4, 0);
	assert_int_equal(e->eax >> 26, 3); /* cores - 1 */
	/* Leaf 0xB added, level 1 counts 4 cores with 2 bits of shift. */
	e = cpuid_find(c, 0xb, 1);
	assert_non_null(e);
	assert_int_equal(e->eax, 2);
	assert_int_equal(e->ebx, 4);
	assert_int_equal(e->ecx, 0x201);
	assert_int_equal(e->edx, 3);
	e = cpuid_find(c, 0xb, 0);
	assert_int_equal(e->ebx, 1);
	assert_int_equal(e->edx, 3);
	assert_true(cpuid_find(c, 0, 0)->eax >= 0xb);
	free(c);
}

static void test_cpuid_conservative_model(void **state)
{
	struct kvm_cpuid2 *c = table();
	struct kvm_cpuid_entry2 *e;

	(void)state;
	cpuid_apply(c, 0, 1, true);
	e = cpuid_find(c, 0, 0);
	assert_memory_equal(&e->ebx, "Genu", 4);
	assert_memory_equal(&e->edx, "ineI", 4);
	assert_memory_equal(&e->ecx, "ntel", 4);
	e = cpuid_find(c, 1, 0);
	assert_false(e->ecx & BIT(13)); /* CX16 */
	assert_false(e->ecx & BIT(23)); /* POPCNT */
	assert_false(e->ecx & BIT(26)); /* XSAVE */
	assert_false(e->ecx & BIT(0));	/* SSE3 */
	assert_true(e->ecx & BIT(31));
	assert_false(e->edx & BIT(28)); /* one vCPU: no HTT */
	e = cpuid_find(c, 7, 0);
	assert_false(e->ebx & BIT(20));	    /* SMAP */
	assert_true(e->ebx & BIT(0));	    /* unrelated bits kept */
	assert_null(cpuid_find(c, 0xd, 0)); /* XSAVE leaf gone */
	/* No KVM paravirt interface: its hypercalls never complete there. */
	assert_null(cpuid_find(c, 0x40000000, 0));
	assert_null(cpuid_find(c, 0x40000001, 0));
	free(c);
}

static void test_cpuid_tsc_leaf(void **state)
{
	struct kvm_cpuid2 *c = table();
	struct kvm_cpuid_entry2 *e;

	(void)state;
	cpuid_apply(c, 0, 1, true);
	cpuid_set_tsc_khz(c, 2445426);
	assert_true(cpuid_find(c, 0, 0)->eax >= 0x15);
	e = cpuid_find(c, 0x15, 0);
	assert_non_null(e);
	/* Linux: tsc_khz = (ECX / 1000) * EBX / EAX */
	assert_int_equal((e->ecx / 1000) * e->ebx / e->eax, 2445426);
	assert_non_null(cpuid_find(c, 0xc, 0)); /* no holes below it */
	free(c);
}

static void test_cpuid_dup_is_independent(void **state)
{
	struct kvm_cpuid2 *c = table(), *d;

	(void)state;
	d = cpuid_dup(c);
	cpuid_apply(d, 1, 2, true);
	assert_int_equal(cpuid_find(c, 1, 0)->ebx >> 24, 0);
	assert_int_equal(cpuid_find(d, 1, 0)->ebx >> 24, 1);
	free(c);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuid_topology_per_vcpu),
		cmocka_unit_test(test_cpuid_conservative_model),
		cmocka_unit_test(test_cpuid_tsc_leaf),
		cmocka_unit_test(test_cpuid_dup_is_independent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
