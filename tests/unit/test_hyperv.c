// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/hyperv: CPUID leaves per configuration, the
 * partition/VP MSR state machines, the reference TSC page arithmetic and
 * hypercall decoding (both ABIs). SynIC and synthetic timers are in
 * test_hyperv_synic.c. Fake guest memory, fake IRQ sink, fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/hyperv/hv_internal.h"
#include "fake_gmem.h"
#include "fake_irq.h"
#include "hvkvm/hv_tlfs.h"
#include "hvkvm/hyperv.h"
#include "hvkvm/util.h"

#include "test_hyperv_fixture.h"

/* ---- CPUID ----------------------------------------------------------- */

#define CPUID_MAX 32
struct cpuid_buf {
	_Alignas(8) uint8_t raw[sizeof(struct kvm_cpuid2) +
				CPUID_MAX * sizeof(struct kvm_cpuid_entry2)];
	struct kvm_cpuid2 *c;
};

static void cpuid_kvm_table(struct cpuid_buf *b)
{
	static const uint32_t fns[] = { 0,	    1,		0x40000000,
					0x40000001, 0x40000100, 0x80000000,
					0x80000007 };
	unsigned int i;

	memset(b, 0, sizeof(*b));
	b->c = (struct kvm_cpuid2 *)b->raw;
	for (i = 0; i < ARRAY_SIZE(fns); i++) {
		b->c->entries[i].function = fns[i];
		b->c->entries[i].eax = 0x1111 * (i + 1);
	}
	b->c->entries[2].ebx = 0x4b4d564b; /* "KVMK" */
	b->c->nent = ARRAY_SIZE(fns);
}

static struct kvm_cpuid_entry2 *cpuid_find(struct cpuid_buf *b, uint32_t fn)
{
	unsigned int i;

	for (i = 0; i < b->c->nent; i++) {
		if (b->c->entries[i].function == fn)
			return &b->c->entries[i];
	}
	return NULL;
}

static void patch(struct fx *f, struct cpuid_buf *b)
{
	cpuid_kvm_table(b);
	assert_int_equal(hv_cpuid_patch(f->hv, b->c, CPUID_MAX), 0);
}

static void test_cpuid_replaces_kvm_leaves(void **state)
{
	struct fx *f = fx_new_all();
	struct kvm_cpuid_entry2 *e;
	struct cpuid_buf b;
	char vendor[13] = { 0 };
	uint32_t fn;

	patch(f, &b);
	assert_null(cpuid_find(&b, 0x40000100));
	for (fn = 0x40000000; fn <= 0x4000000A; fn++)
		assert_non_null(cpuid_find(&b, fn));
	assert_null(cpuid_find(&b, 0x4000000B));
	e = cpuid_find(&b, 0x40000000);
	assert_int_equal(e->eax, 0x4000000A);
	memcpy(vendor, &e->ebx, 4);
	memcpy(vendor + 4, &e->ecx, 4);
	memcpy(vendor + 8, &e->edx, 4);
	assert_string_equal(vendor, "Microsoft Hv");
	assert_int_equal(cpuid_find(&b, 0x40000001)->eax, 0x31237648);
	e = cpuid_find(&b, 0x40000002);
	assert_int_equal(e->eax, 17763);
	assert_int_equal(e->ebx, 0x000A0000);
	assert_true(cpuid_find(&b, 1)->ecx & (1u << 31));
	/* Other leaves kept. */
	assert_int_equal(cpuid_find(&b, 0x80000000)->eax, 0x1111 * 6);
	/* Invariant TSC not claimed by default. */
	assert_false(cpuid_find(&b, 0x80000007)->edx & (1u << 8));
	assert_int_equal(cpuid_find(&b, 0x40000006)->eax, 0);
	fx_free(f);
}

static void test_cpuid_passthrough_advertises_implemented(void **state)
{
	struct fx *f = fx_new_all();
	struct kvm_cpuid_entry2 *e;
	struct cpuid_buf b;

	patch(f, &b);
	e = cpuid_find(&b, HV_CPUID_FEATURES);
	assert_int_equal(e->eax, HV_MSR_VP_RUNTIME_AVAILABLE |
					 HV_MSR_TIME_REF_COUNT_AVAILABLE |
					 HV_MSR_SYNIC_AVAILABLE |
					 HV_MSR_SYNTIMER_AVAILABLE |
					 HV_MSR_HYPERCALL_AVAILABLE |
					 HV_MSR_VP_INDEX_AVAILABLE |
					 HV_MSR_RESET_AVAILABLE |
					 HV_MSR_REFERENCE_TSC_AVAILABLE |
					 HV_ACCESS_FREQUENCY_MSRS);
	assert_int_equal(e->ebx, HV_POST_MESSAGES | HV_SIGNAL_EVENTS);
	assert_int_equal(e->edx, HV_FEATURE_FREQUENCY_MSRS_AVAILABLE |
					 HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE |
					 HV_STIMER_DIRECT_MODE_AVAILABLE);
	/* Never: APIC access, guest idle, TSC invariant, partition id. */
	assert_false(e->eax &
		     (HV_MSR_APIC_ACCESS_AVAILABLE |
		      HV_MSR_GUEST_IDLE_AVAILABLE | HV_ACCESS_TSC_INVARIANT));
	e = cpuid_find(&b, HV_CPUID_ENLIGHTENMENT_INFO);
	assert_int_equal(e->eax, HV_X64_RELAXED_TIMING_RECOMMENDED |
					 HV_DEPRECATING_AEOI_RECOMMENDED);
	assert_int_equal(e->ebx, 0xfff);
	e = cpuid_find(&b, HV_CPUID_IMPLEMENT_LIMITS);
	assert_int_equal(e->eax, 2);
	fx_free(f);
}

/* Each enlightenment off -> its bit off, the rest unchanged. */
static void test_cpuid_each_feature_switch(void **state)
{
	static const struct {
		size_t off;		 /* bool in struct config_hyperv */
		uint32_t leaf, eax, edx; /* bits that must clear */
	} cases[] = {
		{ offsetof(struct config_hyperv, runtime), HV_CPUID_FEATURES,
		  HV_MSR_VP_RUNTIME_AVAILABLE, 0 },
		{ offsetof(struct config_hyperv, vpindex), HV_CPUID_FEATURES,
		  HV_MSR_VP_INDEX_AVAILABLE | HV_MSR_SYNIC_AVAILABLE |
			  HV_MSR_SYNTIMER_AVAILABLE,
		  HV_STIMER_DIRECT_MODE_AVAILABLE },
		{ offsetof(struct config_hyperv, synic), HV_CPUID_FEATURES,
		  HV_MSR_SYNIC_AVAILABLE | HV_MSR_SYNTIMER_AVAILABLE,
		  HV_STIMER_DIRECT_MODE_AVAILABLE },
		{ offsetof(struct config_hyperv, stimer), HV_CPUID_FEATURES,
		  HV_MSR_SYNTIMER_AVAILABLE, HV_STIMER_DIRECT_MODE_AVAILABLE },
		{ offsetof(struct config_hyperv, stimer_direct),
		  HV_CPUID_FEATURES, 0, HV_STIMER_DIRECT_MODE_AVAILABLE },
		{ offsetof(struct config_hyperv, reset), HV_CPUID_FEATURES,
		  HV_MSR_RESET_AVAILABLE, 0 },
		{ offsetof(struct config_hyperv, frequencies),
		  HV_CPUID_FEATURES, HV_ACCESS_FREQUENCY_MSRS,
		  HV_FEATURE_FREQUENCY_MSRS_AVAILABLE },
		{ offsetof(struct config_hyperv, hypervclock),
		  HV_CPUID_FEATURES,
		  HV_MSR_TIME_REF_COUNT_AVAILABLE |
			  HV_MSR_REFERENCE_TSC_AVAILABLE |
			  HV_MSR_SYNTIMER_AVAILABLE,
		  HV_STIMER_DIRECT_MODE_AVAILABLE },
		{ offsetof(struct config_hyperv, crash), HV_CPUID_FEATURES, 0,
		  HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE },
		{ offsetof(struct config_hyperv, relaxed),
		  HV_CPUID_ENLIGHTENMENT_INFO,
		  HV_X64_RELAXED_TIMING_RECOMMENDED, 0 },
	};
	struct kvm_cpuid_entry2 full, *e;
	struct config_hyperv c;
	struct cpuid_buf b;
	unsigned int i;
	struct fx *f;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(&c, 0, sizeof(c));
		c.enabled = true;
		c.relaxed = c.vpindex = c.runtime = c.synic = c.stimer = true;
		c.stimer_direct = c.reset = c.frequencies = true;
		c.hypervclock = c.crash = true;
		f = fx_new(&c);
		patch(f, &b);
		full = *cpuid_find(&b, cases[i].leaf);
		fx_free(f);

		*(bool *)((char *)&c + cases[i].off) = false;
		f = fx_new(&c);
		patch(f, &b);
		e = cpuid_find(&b, cases[i].leaf);
		assert_int_equal(e->eax, full.eax & ~cases[i].eax);
		assert_int_equal(e->edx, full.edx & ~cases[i].edx);
		assert_true(cases[i].eax == 0 || (full.eax & cases[i].eax));
		/* The hypercall page and AEOI hint never go away. */
		if (cases[i].leaf == HV_CPUID_FEATURES)
			assert_true(e->eax & HV_MSR_HYPERCALL_AVAILABLE);
		fx_free(f);
	}
}

static void test_cpuid_disabled_and_vendor(void **state)
{
	struct config_hyperv c = { 0 };
	struct kvm_cpuid_entry2 *e;
	struct cpuid_buf b;
	struct fx *f;

	f = fx_new(&c); /* enabled = false */
	patch(f, &b);
	assert_int_equal(b.c->nent, 7);
	assert_int_equal(cpuid_find(&b, 0x40000000)->ebx, 0x4b4d564b);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_GUEST_OS_ID, 1),
			 -EINVAL);
	fx_free(f);

	fx_all(&c);
	c.vendor_id_set = true;
	strcpy(c.vendor_id, "hvkvm");
	c.spinlocks = true;
	c.spinlock_retries = 0x2000;
	f = fx_new(&c);
	patch(f, &b);
	e = cpuid_find(&b, 0x40000000);
	assert_memory_equal(&e->ebx, "hvkv", 4);
	assert_memory_equal(&e->ecx, "m\0\0\0", 4);
	assert_int_equal(e->edx, 0);
	assert_int_equal(cpuid_find(&b, 0x40000004)->ebx, 0x2000);
	fx_free(f);

	memset(&c, 0, sizeof(c));
	c.enabled = true;
	f = fx_new(&c);
	patch(f, &b);
	e = cpuid_find(&b, HV_CPUID_FEATURES);
	assert_int_equal(e->eax, HV_MSR_HYPERCALL_AVAILABLE);
	assert_int_equal(cpuid_find(&b, 0x40000004)->ebx, 0xffffffff);
	fx_free(f);
}

static void test_cpuid_enospc_leaves_table(void **state)
{
	struct fx *f = fx_new_all();
	struct cpuid_buf b;

	cpuid_kvm_table(&b);
	assert_int_equal(hv_cpuid_patch(f->hv, b.c, 10), -ENOSPC);
	assert_int_equal(b.c->nent, 7);
	assert_non_null(cpuid_find(&b, 0x40000100));
	assert_int_equal(hv_cpuid_patch(f->hv, b.c, 15), 0);
	assert_int_equal(b.c->nent, 15);
	fx_free(f);
}

/* ---- MSRs ------------------------------------------------------------ */

/*
 * The hypercall page (docs/hyperv.md): the exact bytes, every conditional
 * jump landing on the general trap, the signal port's OUT, xor and ret at
 * the offsets the vCPU loop relies on, int3 for the rest.
 */
static void check_hypercall_page(const uint8_t *page)
{
	static const uint8_t want[] = {
		0x50, 0x31, 0xc0, 0x48, 0x90, 0x85, 0xc0, 0x58, 0x75, 0x19,
		0x48, 0x81, 0xf9, 0x5d, 0x00, 0x01, 0x00, 0x75, 0x10, 0x48,
		0x89, 0xd0, 0x48, 0xc1, 0xe8, 0x20, 0x75, 0x07, 0x89, 0xd0,
		0xe7, 0xe4, 0x31, 0xc0, 0xc3, 0xe6, 0xe8, 0xc3,
	};
	static const unsigned int jcc[] = { 0x08, 0x11, 0x1a };
	unsigned int i;

	assert_memory_equal(page, want, sizeof(want));
	for (i = 0; i < ARRAY_SIZE(jcc); i++) {
		unsigned int to = jcc[i] + 2 + (int8_t)page[jcc[i] + 1];

		assert_int_equal(page[jcc[i]], 0x75); /* jnz rel8 */
		assert_int_equal(to, 0x23);
	}
	/* cmp rcx, imm32 compares with exactly a fast HvSignalEvent. */
	assert_int_equal(get_le32(page + 0x0d),
			 HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT);
	assert_int_equal(page[0x23], 0xe6); /* out imm8, al */
	assert_int_equal(page[0x24], HV_HYPERCALL_PORT);
	assert_int_equal(page[0x25], 0xc3);
	assert_int_equal(page[HV_HYPERCALL_PAGE_SIGNAL_OUT], 0xe7);
	assert_int_equal(page[HV_HYPERCALL_PAGE_SIGNAL_OUT + 1],
			 HV_SIGNAL_PORT);
	assert_int_equal(page[HV_HYPERCALL_PAGE_SIGNAL_XOR], 0x31);
	assert_int_equal(page[HV_HYPERCALL_PAGE_SIGNAL_RET], 0xc3);
	for (i = sizeof(want); i < 4096; i++)
		assert_int_equal(page[i], 0xcc);
	assert_true(HV_HYPERCALL_PORT < 0x100 && HV_SIGNAL_PORT < 0x100);
	assert_true(HV_SIGNAL_PORT + HV_SIGNAL_PORT_LEN <= HV_HYPERCALL_PORT);
}

static void test_msr_hypercall_page(void **state)
{
	struct fx *f = fx_new_all();
	uint8_t *page = f->mem.ram + 0x5000;

	/* Before GUEST_OS_ID the enable is ignored. */
	wr(f, HV_X64_MSR_HYPERCALL, 0x5001);
	assert_int_equal(rd(f, HV_X64_MSR_HYPERCALL), 0);
	assert_int_equal(page[0], 0);
	wr(f, HV_X64_MSR_GUEST_OS_ID, 0x8100000000060100ULL);
	assert_int_equal(rd(f, HV_X64_MSR_GUEST_OS_ID), 0x8100000000060100ULL);
	/* Reserved bits and pages outside RAM: #GP. */
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_HYPERCALL, 0x5005),
			 -EINVAL);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_HYPERCALL,
				      RAM_SIZE | 1),
			 -EINVAL);
	wr(f, HV_X64_MSR_HYPERCALL, 0x5001);
	assert_int_equal(rd(f, HV_X64_MSR_HYPERCALL), 0x5001);
	check_hypercall_page(page);
	/* No VMCALL (0f 01 c1) / VMMCALL (0f 01 d9) anywhere in the page. */
	assert_null(memmem(page, 4096, "\x0f\x01", 2));
	/* Lock: later writes are ignored. */
	wr(f, HV_X64_MSR_HYPERCALL, 0x5003);
	wr(f, HV_X64_MSR_HYPERCALL, 0x6001);
	assert_int_equal(rd(f, HV_X64_MSR_HYPERCALL), 0x5003);
	assert_int_equal(f->mem.ram[0x6000], 0);
	/* Reset unlocks. */
	hv_reset(f->hv);
	assert_int_equal(rd(f, HV_X64_MSR_HYPERCALL), 0);
	assert_int_equal(rd(f, HV_X64_MSR_GUEST_OS_ID), 0);
	fx_free(f);
}

static void test_msr_guest_os_id_zero_disables_hypercall(void **state)
{
	struct fx *f = fx_new_all();
	struct hv_hypercall_regs r = { .long_mode = true,
				       .rcx = HVCALL_NOTIFY_LONG_SPIN_WAIT |
					      HV_HYPERCALL_FAST_BIT };

	assert_int_equal(hv_hypercall(f->hv, 0, &r), -EPERM);
	wr(f, HV_X64_MSR_GUEST_OS_ID, 1);
	wr(f, HV_X64_MSR_HYPERCALL, 0x5001);
	assert_int_equal(hv_hypercall(f->hv, 0, &r), 0);
	wr(f, HV_X64_MSR_GUEST_OS_ID, 0);
	assert_int_equal(rd(f, HV_X64_MSR_HYPERCALL) & 1, 0);
	assert_int_equal(hv_hypercall(f->hv, 0, &r), -EPERM);
	fx_free(f);
}

static void test_msr_vp_and_time(void **state)
{
	struct fx *f = fx_new_all();
	uint64_t v;

	assert_int_equal(rd(f, HV_X64_MSR_VP_INDEX), 0);
	assert_int_equal(hv_msr_read(f->hv, 1, HV_X64_MSR_VP_INDEX, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_VP_INDEX, 1),
			 -EINVAL);
	assert_int_equal(rd(f, HV_X64_MSR_VP_RUNTIME), 123456);
	assert_int_equal(rd(f, HV_X64_MSR_TIME_REF_COUNT), 0);
	f->now_ns += 1000000; /* 1 ms = 10000 x 100 ns */
	assert_int_equal(rd(f, HV_X64_MSR_TIME_REF_COUNT), 10000);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_TIME_REF_COUNT, 0),
			 -EINVAL);
	assert_int_equal(rd(f, HV_X64_MSR_TSC_FREQUENCY), 2500000000ULL);
	assert_int_equal(rd(f, HV_X64_MSR_APIC_FREQUENCY), 1000000000ULL);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_TSC_FREQUENCY, 1),
			 -EINVAL);
	assert_int_equal(hv_msr_read(f->hv, 2, HV_X64_MSR_VP_INDEX, &v),
			 -EINVAL);
	fx_free(f);
}

/* hv_reference_time(): the TIME_REF_COUNT clock, for time sync 4.0. */
static void test_reference_time_getter(void **state)
{
	struct config_hyperv c;
	struct fx *f = fx_new_all();

	assert_true(hv_reference_time_available(f->hv));
	assert_int_equal(hv_reference_time(f->hv), 0);
	f->now_ns += 2500000; /* 2.5 ms */
	assert_int_equal(hv_reference_time(f->hv), 25000);
	assert_int_equal(hv_reference_time(f->hv),
			 rd(f, HV_X64_MSR_TIME_REF_COUNT));
	/* A guest reset restarts the partition's reference time. */
	hv_reset(f->hv);
	f->now_ns += 100;
	assert_int_equal(hv_reference_time(f->hv), 1);
	fx_free(f);

	memset(&c, 0, sizeof(c));
	c.enabled = c.vpindex = c.synic = true; /* no hypervclock */
	f = fx_new(&c);
	assert_false(hv_reference_time_available(f->hv));
	fx_free(f);
}

static void test_msr_unimplemented_gp(void **state)
{
	static const uint32_t gp[] = {
		HV_X64_MSR_EOI,
		HV_X64_MSR_ICR,
		HV_X64_MSR_TPR,
		HV_X64_MSR_GUEST_IDLE,
		HV_X64_MSR_REENLIGHTENMENT_CONTROL,
		HV_X64_MSR_TSC_EMULATION_CONTROL,
		HV_X64_MSR_TSC_INVARIANT_CONTROL,
		0x40000004,
		0x40000150,
		0x400001ff,
		0x40000200,
		0x10,
	};
	struct config_hyperv c = { .enabled = true };
	struct fx *f = fx_new_all();
	unsigned int i;
	uint64_t v;

	for (i = 0; i < ARRAY_SIZE(gp); i++) {
		assert_int_equal(hv_msr_read(f->hv, 0, gp[i], &v), -EINVAL);
		assert_int_equal(hv_msr_write(f->hv, 0, gp[i], 0), -EINVAL);
	}
	assert_true(hv_msr_is_synthetic(0x40000000));
	assert_false(hv_msr_is_synthetic(0x4b564d00));
	fx_free(f);

	/* Only GUEST_OS_ID / HYPERCALL (+VP assist) with nothing enabled. */
	f = fx_new(&c);
	wr(f, HV_X64_MSR_GUEST_OS_ID, 5);
	for (i = HV_X64_MSR_VP_INDEX; i <= 0x40000118; i++) {
		if (i == HV_X64_MSR_VP_ASSIST_PAGE)
			continue;
		assert_int_equal(hv_msr_read(f->hv, 0, i, &v), -EINVAL);
	}
	fx_free(f);
}

static void test_msr_vp_assist_stored(void **state)
{
	struct fx *f = fx_new_all();

	wr(f, HV_X64_MSR_VP_ASSIST_PAGE, 0x7001);
	assert_int_equal(rd(f, HV_X64_MSR_VP_ASSIST_PAGE), 0x7001);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_VP_ASSIST_PAGE,
				      0x7003),
			 -EINVAL);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_VP_ASSIST_PAGE,
				      0x100000001ULL),
			 -EINVAL);
	wr(f, HV_X64_MSR_VP_ASSIST_PAGE, 0);
	fx_free(f);
}

static void test_msr_reset_and_crash(void **state)
{
	struct fx *f = fx_new_all();
	unsigned int i;

	assert_int_equal(rd(f, HV_X64_MSR_RESET), 0);
	wr(f, HV_X64_MSR_RESET, 0);
	assert_int_equal(f->resets, 0);
	wr(f, HV_X64_MSR_RESET, 1);
	assert_int_equal(f->resets, 1);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_RESET, 2), -EINVAL);

	assert_int_equal(rd(f, HV_X64_MSR_CRASH_CTL),
			 HV_CRASH_CTL_CRASH_NOTIFY |
				 HV_CRASH_CTL_CRASH_NOTIFY_MSG);
	for (i = 0; i < 5; i++)
		wr(f, HV_X64_MSR_CRASH_P0 + i, 0x100 + i);
	assert_int_equal(rd(f, HV_X64_MSR_CRASH_P0 + 3), 0x103);
	/* Unknown CRASH_CTL bits: #GP, nothing reported. */
	assert_int_equal(hv_msr_write(f->hv, 1, HV_X64_MSR_CRASH_CTL,
				      HV_CRASH_CTL_CRASH_NOTIFY | 1),
			 -EINVAL);
	assert_int_equal(f->crashes, 0);
	/* The message bit alone reports nothing. */
	wr(f, HV_X64_MSR_CRASH_CTL, HV_CRASH_CTL_CRASH_NOTIFY_MSG);
	assert_int_equal(f->crashes, 0);
	assert_int_equal(hv_msr_write(f->hv, 1, HV_X64_MSR_CRASH_CTL,
				      HV_CRASH_CTL_CRASH_NOTIFY),
			 0);
	assert_int_equal(f->crashes, 1);
	assert_int_equal(f->crash_vp, 1);
	assert_int_equal(f->crash_p[0], 0x100);
	assert_int_equal(f->crash_p[4], 0x104);
	assert_false(f->crash_has_msg);
	fx_free(f);
}

/* CrashNotifyMsg: P3 = message GPA, P4 = length, read from guest RAM. */
static void test_msr_crash_message(void **state)
{
	static const char text[] = "Kernel panic - not syncing: test\n";
	struct fx *f = fx_new_all();
	const uint64_t both = HV_CRASH_CTL_CRASH_NOTIFY |
			      HV_CRASH_CTL_CRASH_NOTIFY_MSG;

	assert_int_equal(gmem_write(&f->mem.gm, 0x8000, text, sizeof(text) - 1),
			 0);
	wr(f, (HV_X64_MSR_CRASH_P0 + 3), 0x8000);
	wr(f, (HV_X64_MSR_CRASH_P0 + 4), sizeof(text) - 1);
	wr(f, HV_X64_MSR_CRASH_CTL, both);
	assert_int_equal(f->crashes, 1);
	assert_true(f->crash_has_msg);
	assert_int_equal(f->crash_msg_len, sizeof(text) - 1);
	assert_memory_equal(f->crash_msg, text, sizeof(text) - 1);

	/* Longer than a page: cut to one page. */
	wr(f, (HV_X64_MSR_CRASH_P0 + 4), 1ULL << 40);
	wr(f, HV_X64_MSR_CRASH_CTL, both);
	assert_int_equal(f->crashes, 2);
	assert_int_equal(f->crash_msg_len, HV_CRASH_MSG_MAX);

	/* Outside guest RAM, or running off its end: reported, no message. */
	wr(f, (HV_X64_MSR_CRASH_P0 + 3), 1ULL << 50);
	wr(f, (HV_X64_MSR_CRASH_P0 + 4), 16);
	wr(f, HV_X64_MSR_CRASH_CTL, both);
	assert_int_equal(f->crashes, 3);
	assert_false(f->crash_has_msg);
	wr(f, (HV_X64_MSR_CRASH_P0 + 3), RAM_SIZE - 8);
	wr(f, (HV_X64_MSR_CRASH_P0 + 4), 16);
	wr(f, HV_X64_MSR_CRASH_CTL, both);
	assert_int_equal(f->crashes, 4);
	assert_false(f->crash_has_msg);
	wr(f, (HV_X64_MSR_CRASH_P0 + 3), ~0ULL);
	wr(f, (HV_X64_MSR_CRASH_P0 + 4), ~0ULL);
	wr(f, HV_X64_MSR_CRASH_CTL, both);
	assert_int_equal(f->crashes, 5);
	assert_false(f->crash_has_msg);

	/* Length 0: a report without a message. */
	wr(f, (HV_X64_MSR_CRASH_P0 + 3), 0x8000);
	wr(f, (HV_X64_MSR_CRASH_P0 + 4), 0);
	wr(f, HV_X64_MSR_CRASH_CTL, both);
	assert_int_equal(f->crashes, 6);
	assert_false(f->crash_has_msg);
	fx_free(f);
}

/* ---- Reference TSC page ---------------------------------------------- */

static uint64_t page_ref(struct fx *f, uint64_t gpa, uint64_t tsc)
{
	const uint8_t *p = f->mem.ram + gpa;
	uint64_t scale, offset;

	scale = get_le64(p + 8);
	offset = get_le64(p + 16);
	return (uint64_t)(((unsigned __int128)tsc * scale) >> 64) + offset;
}

static void test_tsc_page_matches_ref_counter(void **state)
{
	static const uint64_t khz[] = { 10001, 1000000, 2500000, 3333333,
					5000000 };
	struct fx *f = fx_new_all();
	uint64_t t, ref, msr, scale;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(khz); i++) {
		scale = hv_tsc_scale(khz[i]);
		/* scale = floor(10^4 * 2^64 / khz), checked by inversion */
		assert_true((unsigned __int128)scale * khz[i] <=
			    (unsigned __int128)10000 << 64);
		assert_true(((unsigned __int128)scale + 1) * khz[i] >
			    (unsigned __int128)10000 << 64);
	}
	assert_int_equal(hv_tsc_scale(10000), 0);
	assert_int_equal(hv_tsc_scale(0), 0);

	f->now_ns += 5000000000ULL;
	wr(f, HV_X64_MSR_REFERENCE_TSC, 0x9001);
	assert_int_equal(rd(f, HV_X64_MSR_REFERENCE_TSC), 0x9001);
	assert_int_not_equal(get_le32(f->mem.ram + 0x9000), 0);
	/* Over an hour of guest time, the page and the MSR agree. */
	for (t = 0; t < 3600ULL * 1000000000ULL; t += 7777777777ULL) {
		f->now_ns += 7777777777ULL;
		msr = rd(f, HV_X64_MSR_TIME_REF_COUNT);
		ref = page_ref(f, 0x9000, fx_tsc_at(f->now_ns));
		assert_true(ref + 1 >= msr && ref <= msr + 1);
	}
	fx_free(f);
}

static void test_tsc_page_sequence(void **state)
{
	struct fx *f = fx_new_all();
	uint32_t s1, s2;

	/* Invalid GPA or reserved bits: #GP, state unchanged. */
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_REFERENCE_TSC,
				      RAM_SIZE | 1),
			 -EINVAL);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_REFERENCE_TSC,
				      0x9003),
			 -EINVAL);
	assert_int_equal(rd(f, HV_X64_MSR_REFERENCE_TSC), 0);
	wr(f, HV_X64_MSR_REFERENCE_TSC, 0x9001);
	s1 = get_le32(f->mem.ram + 0x9000);
	hv_tsc_page_update(f->hv);
	s2 = get_le32(f->mem.ram + 0x9000);
	assert_int_not_equal(s1, 0);
	assert_int_not_equal(s2, 0);
	assert_int_not_equal(s1, s2);
	/* Wrap skips 0 and 0xFFFFFFFF. */
	f->hv->tsc_seq = 0xfffffffe;
	hv_tsc_page_update(f->hv);
	assert_int_equal(get_le32(f->mem.ram + 0x9000), 1);
	/* A failed sample leaves sequence 0: the guest uses the MSR. */
	f->sample_fail = true;
	hv_tsc_page_update(f->hv);
	assert_int_equal(get_le32(f->mem.ram + 0x9000), 0);
	/* Disabled: page no longer written. */
	f->sample_fail = false;
	wr(f, HV_X64_MSR_REFERENCE_TSC, 0x9000);
	hv_tsc_page_update(f->hv);
	assert_int_equal(get_le32(f->mem.ram + 0x9000), 0);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuid_replaces_kvm_leaves),
		cmocka_unit_test(test_cpuid_passthrough_advertises_implemented),
		cmocka_unit_test(test_cpuid_each_feature_switch),
		cmocka_unit_test(test_cpuid_disabled_and_vendor),
		cmocka_unit_test(test_cpuid_enospc_leaves_table),
		cmocka_unit_test(test_msr_hypercall_page),
		cmocka_unit_test(test_msr_guest_os_id_zero_disables_hypercall),
		cmocka_unit_test(test_msr_vp_and_time),
		cmocka_unit_test(test_reference_time_getter),
		cmocka_unit_test(test_msr_unimplemented_gp),
		cmocka_unit_test(test_msr_vp_assist_stored),
		cmocka_unit_test(test_msr_reset_and_crash),
		cmocka_unit_test(test_msr_crash_message),
		cmocka_unit_test(test_tsc_page_matches_ref_counter),
		cmocka_unit_test(test_tsc_page_sequence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
