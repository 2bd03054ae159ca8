// SPDX-License-Identifier: MIT
/*
 * Unit tests for Hyper-V guest idle: the GUEST_IDLE MSR (read idles
 * through host_ops.idle once and returns 0, write and "not offered" are
 * #GP), its CPUID bits and counters, the backoff/poll loop hv_idle_wait()
 * with a fake poll, and the LAPIC image decoding used by the vCPU's poll.
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

#include "fake_gmem.h"
#include "fake_irq.h"
#include "hvkvm/hv_tlfs.h"
#include "hvkvm/hyperv.h"
#include "hvkvm/util.h"

#include "test_hyperv_fixture.h"
#include "test_stats_find.h"

#define HV_STAT(f, path) STAT_FIND(hv_stats_foreach, (f)->hv, path)

/* ---- The MSR ------------------------------------------------------- */

static void test_idle_read_calls_op_once(void **state)
{
	struct config_hyperv c;
	struct fx *f;
	uint64_t v = 0xdead;

	fx_all(&c);
	f = fx_new_host(&c, true);
	f->idle_ns = 3000;
	wr(f, HV_X64_MSR_GUEST_OS_ID, 1); /* works before hypercalls too */
	assert_int_equal(hv_msr_read(f->hv, 1, HV_X64_MSR_GUEST_IDLE, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(f->idles, 1);
	assert_int_equal(f->idle_vp, 1);
	assert_int_equal(rd(f, HV_X64_MSR_GUEST_IDLE), 0);
	assert_int_equal(f->idles, 2);
	assert_int_equal(f->idle_vp, 0);
	assert_int_equal(HV_STAT(f, "hyperv.vp1.idle.entries"), 1);
	assert_int_equal(HV_STAT(f, "hyperv.vp1.idle.time_ns"), 3000);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.idle.entries"), 1);
	assert_int_equal(HV_STAT(f, "hyperv.vp1.msr.guest_idle.reads"), 1);
	/* Writes stay #GP and never idle. */
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_GUEST_IDLE, 0),
			 -EINVAL);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_GUEST_IDLE, 1),
			 -EINVAL);
	assert_int_equal(f->idles, 2);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.msr_gp"), 2);
	fx_free(f);
}

static void test_idle_not_offered_gp(void **state)
{
	struct config_hyperv c = { .enabled = false };
	struct fx *f = fx_new_all(); /* everything, but no host op */
	uint64_t v;

	assert_int_equal(hv_msr_read(f->hv, 0, HV_X64_MSR_GUEST_IDLE, &v),
			 -EINVAL);
	assert_int_equal(f->idles, 0);
	assert_int_equal(HV_STAT(f, "hyperv.vp0.idle.entries"), 0);
	fx_free(f);
	/* Hyper-V off: #GP even with the op. */
	f = fx_new_host(&c, true);
	assert_int_equal(hv_msr_read(f->hv, 0, HV_X64_MSR_GUEST_IDLE, &v),
			 -EINVAL);
	assert_int_equal(f->idles, 0);
	fx_free(f);
}

/* ---- CPUID --------------------------------------------------------- */

static void idle_cpuid(struct fx *f, uint32_t *eax, uint32_t *edx)
{
	_Alignas(8) uint8_t raw[sizeof(struct kvm_cpuid2) +
				16 * sizeof(struct kvm_cpuid_entry2)];
	struct kvm_cpuid2 *c = (struct kvm_cpuid2 *)raw;
	unsigned int i;

	memset(raw, 0, sizeof(raw));
	c->nent = 1;
	assert_int_equal(hv_cpuid_patch(f->hv, c, 16), 0);
	for (i = 0; i < c->nent; i++) {
		if (c->entries[i].function != HV_CPUID_FEATURES)
			continue;
		*eax = c->entries[i].eax;
		*edx = c->entries[i].edx;
		return;
	}
	fail_msg("no features leaf");
}

static void test_idle_cpuid_iff_enabled(void **state)
{
	struct config_hyperv c;
	uint32_t eax, edx;
	struct fx *f;

	fx_all(&c);
	f = fx_new_host(&c, true);
	idle_cpuid(f, &eax, &edx);
	assert_true(eax & HV_MSR_GUEST_IDLE_AVAILABLE);
	assert_true(edx & HV_X64_GUEST_IDLE_STATE_AVAILABLE);
	fx_free(f);

	/* Always on with Hyper-V, also with only the basics enabled. */
	memset(&c, 0, sizeof(c));
	c.enabled = true;
	f = fx_new_host(&c, true);
	idle_cpuid(f, &eax, &edx);
	assert_true(eax & HV_MSR_GUEST_IDLE_AVAILABLE);
	assert_true(edx & HV_X64_GUEST_IDLE_STATE_AVAILABLE);
	fx_free(f);

	fx_all(&c);
	f = fx_new_host(&c, false);
	idle_cpuid(f, &eax, &edx);
	assert_false(eax & HV_MSR_GUEST_IDLE_AVAILABLE);
	assert_false(edx & HV_X64_GUEST_IDLE_STATE_AVAILABLE);
	fx_free(f);
}

/* ---- hv_idle_wait() with a fake poll --------------------------------- */

struct fake_poll {
	unsigned int polls;	/* wake() calls */
	unsigned int wake_at;	/* wake() true from this call on */
	unsigned int cancel_at; /* cancel() true from this call on */
	unsigned int cancels;
	uint64_t sleeps[64]; /* requested sleeps */
	unsigned int nsleeps;
};

static bool fp_wake(void *o)
{
	struct fake_poll *p = o;

	return ++p->polls >= p->wake_at;
}

static bool fp_cancel(void *o)
{
	struct fake_poll *p = o;

	return ++p->cancels >= p->cancel_at;
}

static void fp_sleep(void *o, uint64_t ns)
{
	struct fake_poll *p = o;

	assert_true(p->nsleeps < ARRAY_SIZE(p->sleeps));
	p->sleeps[p->nsleeps++] = ns;
}

static enum hv_idle_result fp_run(struct fake_poll *p)
{
	const struct hv_idle_poll poll = {
		.wake = fp_wake,
		.cancel = fp_cancel,
		.sleep_ns = fp_sleep,
		.opaque = p,
	};

	return hv_idle_wait(&poll);
}

static void test_idle_wait_backoff(void **state)
{
	struct fake_poll p = { .wake_at = 9, .cancel_at = 1000 };
	unsigned int i;

	assert_int_equal(fp_run(&p), HV_IDLE_WOKEN);
	assert_int_equal(p.polls, 9);
	assert_int_equal(p.nsleeps, 8);
	/* 20, 40, 80, ... us, capped at 1 ms. */
	for (i = 0; i < p.nsleeps; i++)
		assert_int_equal(p.sleeps[i], MIN(HV_IDLE_POLL_MIN_NS << i,
						  HV_IDLE_POLL_MAX_NS));
	assert_int_equal(p.sleeps[5], 640000);
	assert_int_equal(p.sleeps[6], HV_IDLE_POLL_MAX_NS);

	/* Already pending: no sleep at all. */
	memset(&p, 0, sizeof(p));
	p.wake_at = 1;
	p.cancel_at = 1;
	assert_int_equal(fp_run(&p), HV_IDLE_WOKEN);
	assert_int_equal(p.nsleeps, 0);
}

static void test_idle_wait_cancel_and_timeout(void **state)
{
	struct fake_poll p = { .wake_at = 1000, .cancel_at = 3 };
	uint64_t total = 0;
	unsigned int i;

	/* Stop/pause seen on the third look: back after two sleeps. */
	assert_int_equal(fp_run(&p), HV_IDLE_CANCELLED);
	assert_int_equal(p.nsleeps, 2);

	/* Nothing ever comes: a spurious wake-up after ~HV_IDLE_MAX_NS. */
	memset(&p, 0, sizeof(p));
	p.wake_at = 1000;
	p.cancel_at = 1000;
	assert_int_equal(fp_run(&p), HV_IDLE_TIMEOUT);
	for (i = 0; i < p.nsleeps; i++)
		total += p.sleeps[i];
	assert_true(total >= HV_IDLE_MAX_NS);
	assert_true(total < HV_IDLE_MAX_NS + HV_IDLE_POLL_MAX_NS);
	assert_int_equal(p.polls, p.nsleeps + 1);
}

/* ---- LAPIC image decoding ------------------------------------------ */

static void test_idle_lapic_decode(void **state)
{
	uint8_t regs[HV_LAPIC_REGS_SIZE];

	memset(regs, 0, sizeof(regs));
	put_le32(regs + 0x320, 1u << 16); /* LVTT masked */
	assert_false(hv_idle_lapic_irr(regs));
	assert_false(hv_idle_lapic_timer_due(regs));
	/* Vector 0xf3 pending: IRR register 7, bit 19. */
	put_le32(regs + 0x270, 1u << 19);
	assert_true(hv_idle_lapic_irr(regs));
	put_le32(regs + 0x270, 0);
	/* ISR and TMR bits are not a reason to wake. */
	put_le32(regs + 0x100, ~0u);
	put_le32(regs + 0x180, ~0u);
	assert_false(hv_idle_lapic_irr(regs));

	/* One-shot timer: running, then run down (not yet in IRR). */
	put_le32(regs + 0x320, 0xec);
	put_le32(regs + 0x380, 1000);
	put_le32(regs + 0x390, 10);
	assert_false(hv_idle_lapic_timer_due(regs));
	put_le32(regs + 0x390, 0);
	assert_true(hv_idle_lapic_timer_due(regs));
	put_le32(regs + 0x320, 0xec | 1u << 16); /* masked */
	assert_false(hv_idle_lapic_timer_due(regs));
	put_le32(regs + 0x380, 0); /* stopped */
	put_le32(regs + 0x320, 0xec);
	assert_false(hv_idle_lapic_timer_due(regs));

	/* TSC-deadline mode is reported for the MSR check. */
	assert_false(hv_idle_lapic_tsc_deadline(regs));
	put_le32(regs + 0x320, 0xec | 2u << 17);
	assert_true(hv_idle_lapic_tsc_deadline(regs));
	assert_false(hv_idle_lapic_timer_due(regs));
	put_le32(regs + 0x320, 0xec | 2u << 17 | 1u << 16);
	assert_false(hv_idle_lapic_tsc_deadline(regs));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_read_calls_op_once),
		cmocka_unit_test(test_idle_not_offered_gp),
		cmocka_unit_test(test_idle_cpuid_iff_enabled),
		cmocka_unit_test(test_idle_wait_backoff),
		cmocka_unit_test(test_idle_wait_cancel_and_timeout),
		cmocka_unit_test(test_idle_lapic_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
