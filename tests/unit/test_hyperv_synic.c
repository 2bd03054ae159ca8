// SPDX-License-Identifier: MIT
/*
 * Unit tests for the SynIC (SCONTROL/SIMP/SIEFP/SINTx/EOM, message slots,
 * message-pending redelivery, event flags) and the synthetic timers
 * (one-shot, periodic, direct and message mode, auto-enable, lazy,
 * busy-slot deferral) driven by a fake clock through hv_stimer_poll(),
 * plus one run of the real timer thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>
#include <time.h>

#include "fake_gmem.h"
#include "fake_irq.h"
#include "hvkvm/hv_tlfs.h"
#include "hvkvm/hyperv.h"
#include "hvkvm/util.h"

#define RAM_SIZE (1u << 20)
#define SIMP_GPA 0x10000
#define SIEFP_GPA 0x11000
#define VMBUS_SINT 2

struct fx {
	struct fake_gmem mem;
	struct fake_irq irq;
	struct config_hyperv cfg;
	struct hv_params p;
	struct hv *hv;
	uint32_t apic_ids[2];
	uint64_t now_ns;
};

static uint64_t fx_clock(void *o)
{
	return ((struct fx *)o)->now_ns;
}

static struct fx *fx_new(bool direct)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(fake_gmem_init(&f->mem, RAM_SIZE), 0);
	fake_irq_init(&f->irq);
	f->cfg.enabled = true;
	f->cfg.vpindex = f->cfg.synic = f->cfg.stimer = true;
	f->cfg.hypervclock = true;
	f->cfg.stimer_direct = direct;
	f->apic_ids[0] = 3;
	f->apic_ids[1] = 9;
	f->now_ns = 5000;
	f->p = (struct hv_params){
		.cfg = &f->cfg,
		.nr_vcpus = 2,
		.apic_ids = f->apic_ids,
		.gm = &f->mem.gm,
		.irq = &f->irq.sink,
		.tsc_khz = 1000000,
		.apic_khz = 1000000,
		.manual_timers = true,
		.host = { .clock_ns = fx_clock, .opaque = f },
	};
	assert_int_equal(hv_create(&f->p, &f->hv), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	hv_destroy(f->hv);
	fake_gmem_destroy(&f->mem);
	free(f);
}

static void wr(struct fx *f, unsigned int vp, uint32_t msr, uint64_t v)
{
	assert_int_equal(hv_msr_write(f->hv, vp, msr, v), 0);
}

static uint64_t rd(struct fx *f, unsigned int vp, uint32_t msr)
{
	uint64_t v;

	assert_int_equal(hv_msr_read(f->hv, vp, msr, &v), 0);
	return v;
}

/* What Linux's hv_synic_enable_regs() does, for VP 0. */
static void synic_on(struct fx *f)
{
	wr(f, 0, HV_X64_MSR_SIMP, SIMP_GPA | 1);
	wr(f, 0, HV_X64_MSR_SIEFP, SIEFP_GPA | 1);
	wr(f, 0, HV_X64_MSR_SINT0 + VMBUS_SINT, 0xf3);
	wr(f, 0, HV_X64_MSR_SCONTROL, 1);
}

static uint8_t *slot(struct fx *f, unsigned int sint)
{
	return f->mem.ram + SIMP_GPA + sint * HV_MESSAGE_SIZE;
}

/* Guest side of the protocol: consume the slot, EOM if pending. */
static void guest_ack(struct fx *f, unsigned int sint)
{
	uint8_t *s = slot(f, sint);

	put_le32(s, HVMSG_NONE);
	if (s[5] & HV_MESSAGE_FLAG_PENDING)
		wr(f, 0, HV_X64_MSR_EOM, 0);
}

static void assert_msi(struct fx *f, unsigned int n, uint32_t apic,
		       uint8_t vector)
{
	assert_true(f->irq.nr_msi > n);
	assert_int_equal(f->irq.msi[n].address, 0xfee00000 | apic << 12);
	assert_int_equal(f->irq.msi[n].data, vector);
}

/* ---- SynIC MSRs ------------------------------------------------------ */

static void test_synic_msr_state(void **state)
{
	struct fx *f = fx_new(false);
	uint64_t v;
	unsigned int i;

	for (i = 0; i < 16; i++)
		assert_int_equal(rd(f, 0, HV_X64_MSR_SINT0 + i), 1 << 16);
	assert_int_equal(rd(f, 0, HV_X64_MSR_SVERSION), 1);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_SVERSION, 1),
			 -EINVAL);
	assert_int_equal(rd(f, 0, HV_X64_MSR_EOM), 0);
	/* SIMP/SIEFP: reserved bits, outside RAM, ROM-less disabled ok. */
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_SIMP, SIMP_GPA | 3),
			 -EINVAL);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_SIMP,
				      (uint64_t)RAM_SIZE | 1),
			 -EINVAL);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_SIEFP,
				      0xfffffffffffff001ULL),
			 -EINVAL);
	assert_int_equal(rd(f, 0, HV_X64_MSR_SIMP), 0);
	wr(f, 0, HV_X64_MSR_SIMP, (uint64_t)RAM_SIZE); /* disabled: kept */
	assert_int_equal(rd(f, 0, HV_X64_MSR_SIMP), RAM_SIZE);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_SCONTROL, 2),
			 -EINVAL);
	/* SINT: vector < 16 only when masked; as-intercept/proxy #GP. */
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_SINT0, 0x0f),
			 -EINVAL);
	wr(f, 0, HV_X64_MSR_SINT0, 0x10000);
	wr(f, 0, HV_X64_MSR_SINT0, 0x10);
	wr(f, 0, HV_X64_MSR_SINT0, 0x20000 | 0x40000 | 0x30);
	assert_int_equal(rd(f, 0, HV_X64_MSR_SINT0), 0x60030);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_SINT0, 0x80030),
			 -EINVAL);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_SINT0, 0x130),
			 -EINVAL);
	/* Per-VP state. */
	assert_int_equal(hv_msr_read(f->hv, 1, HV_X64_MSR_SINT0, &v), 0);
	assert_int_equal(v, 1 << 16);
	synic_on(f);
	hv_reset(f->hv);
	assert_int_equal(rd(f, 0, HV_X64_MSR_SIMP), 0);
	assert_int_equal(rd(f, 0, HV_X64_MSR_SCONTROL), 0);
	assert_int_equal(rd(f, 0, HV_X64_MSR_SINT0 + VMBUS_SINT), 1 << 16);
	fx_free(f);
}

static void test_synic_disabled_feature_gp(void **state)
{
	struct fx *f = fx_new(false);
	uint64_t v;

	fx_free(f);
	f = calloc(1, sizeof(*f));
	assert_int_equal(fake_gmem_init(&f->mem, RAM_SIZE), 0);
	fake_irq_init(&f->irq);
	f->cfg.enabled = true;
	f->cfg.vpindex = true; /* no synic */
	f->apic_ids[0] = 0;
	f->p = (struct hv_params){
		.cfg = &f->cfg,
		.nr_vcpus = 1,
		.apic_ids = f->apic_ids,
		.gm = &f->mem.gm,
		.irq = &f->irq.sink,
		.manual_timers = true,
		.host = { .clock_ns = fx_clock, .opaque = f },
	};
	assert_int_equal(hv_create(&f->p, &f->hv), 0);
	assert_int_equal(hv_msr_read(f->hv, 0, HV_X64_MSR_SIMP, &v), -EINVAL);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_SCONTROL, 1),
			 -EINVAL);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_STIMER0_CONFIG, 0),
			 -EINVAL);
	assert_int_equal(hv_synic_post_message(f->hv, 0, 2, 1, "x", 1),
			 -ENODEV);
	fx_free(f);
}

/* ---- Messages -------------------------------------------------------- */

static void test_synic_post_busy_slot_eom_redelivery(void **state)
{
	struct fx *f = fx_new(false);
	uint8_t p1[240], p2[16] = "second message";
	uint8_t *s = slot(f, VMBUS_SINT);

	memset(p1, 0xab, sizeof(p1));
	assert_int_equal(hv_synic_post_message(f->hv, 0, VMBUS_SINT, 1, p1,
					       240),
			 -ENODEV);
	synic_on(f);
	assert_int_equal(
		hv_synic_post_message(f->hv, 0, VMBUS_SINT, 1, p1, 240), 0);
	assert_int_equal(get_le32(s), 1);
	assert_int_equal(s[4], 240);
	assert_int_equal(s[5], 0);
	assert_memory_equal(s + 16, p1, 240);
	assert_int_equal(f->irq.nr_msi, 1);
	assert_msi(f, 0, 3, 0xf3);
	/* Busy: queued, pending flag set, no interrupt. */
	assert_int_equal(hv_synic_post_message(f->hv, 0, VMBUS_SINT, 7, p2, 16),
			 0);
	assert_int_equal(get_le32(s), 1);
	assert_int_equal(s[5], HV_MESSAGE_FLAG_PENDING);
	assert_int_equal(f->irq.nr_msi, 1);
	/* EOM without consuming: still busy, nothing happens. */
	wr(f, 0, HV_X64_MSR_EOM, 0);
	assert_int_equal(get_le32(s), 1);
	/* Guest consumes and EOMs: the second one arrives. */
	guest_ack(f, VMBUS_SINT);
	assert_int_equal(get_le32(s), 7);
	assert_int_equal(s[4], 16);
	assert_int_equal(s[5], 0);
	assert_memory_equal(s + 16, p2, 16);
	assert_int_equal(f->irq.nr_msi, 2);
	assert_msi(f, 1, 3, 0xf3);
	/* Other SINT slots untouched. */
	assert_int_equal(get_le32(slot(f, 0)), 0);
	fx_free(f);
}

static void test_synic_post_fifo_and_queue_full(void **state)
{
	struct fx *f = fx_new(false);
	uint32_t i, n = 0;
	int r;

	synic_on(f);
	for (i = 1; i < 100; i++) {
		r = hv_synic_post_message(f->hv, 0, VMBUS_SINT, i, &i, 4);
		if (r) {
			assert_int_equal(r, -EAGAIN);
			break;
		}
	}
	assert_int_equal(i, 1 + 1 + 32); /* slot + queue */
	/* Drain in order, each with pending set except the last. */
	for (i = 1; i <= 33; i++) {
		uint8_t *s = slot(f, VMBUS_SINT);

		assert_int_equal(get_le32(s), i);
		assert_int_equal(get_le32(s + 16), i);
		assert_int_equal(!!(s[5] & 1), i < 33);
		guest_ack(f, VMBUS_SINT);
		n++;
	}
	assert_int_equal(get_le32(slot(f, VMBUS_SINT)), 0);
	assert_int_equal(f->irq.nr_msi, n);
	/* Bad arguments. */
	assert_int_equal(hv_synic_post_message(f->hv, 2, 0, 1, "", 0), -EINVAL);
	assert_int_equal(hv_synic_post_message(f->hv, 0, 16, 1, "", 0),
			 -EINVAL);
	assert_int_equal(hv_synic_post_message(f->hv, 0, 2, 1, "", 241),
			 -EINVAL);
	assert_int_equal(hv_synic_post_message(f->hv, 0, 2, 0, "", 1), -EINVAL);
	fx_free(f);
}

static void test_synic_masked_sint_polling(void **state)
{
	struct fx *f = fx_new(false);

	synic_on(f);
	wr(f, 0, HV_X64_MSR_SINT0 + 5, 0x40000 | 0x10000 | 0x55);
	assert_int_equal(hv_synic_post_message(f->hv, 0, 5, 3, "abc", 3), 0);
	assert_int_equal(get_le32(slot(f, 5)), 3);
	assert_int_equal(f->irq.nr_msi, 0);
	/* SCONTROL off: nothing delivered. */
	wr(f, 0, HV_X64_MSR_SCONTROL, 0);
	assert_int_equal(hv_synic_post_message(f->hv, 0, VMBUS_SINT, 3, "a", 1),
			 -ENODEV);
	/* SIMP disabled drops the queue. */
	wr(f, 0, HV_X64_MSR_SCONTROL, 1);
	assert_int_equal(hv_synic_post_message(f->hv, 0, 5, 4, "d", 1), 0);
	wr(f, 0, HV_X64_MSR_SIMP, SIMP_GPA);
	put_le32(slot(f, 5), 0);
	wr(f, 0, HV_X64_MSR_SIMP, SIMP_GPA | 1);
	wr(f, 0, HV_X64_MSR_EOM, 0);
	assert_int_equal(get_le32(slot(f, 5)), 0);
	fx_free(f);
}

static void test_synic_signal_event_flags(void **state)
{
	struct fx *f = fx_new(false);
	uint8_t *flags = f->mem.ram + SIEFP_GPA + VMBUS_SINT * 256;

	synic_on(f);
	assert_int_equal(hv_synic_signal_event(f->hv, 0, VMBUS_SINT, 0), 0);
	assert_int_equal(flags[0], 1);
	assert_int_equal(f->irq.nr_msi, 1);
	assert_msi(f, 0, 3, 0xf3);
	/* Already set: no new interrupt. */
	assert_int_equal(hv_synic_signal_event(f->hv, 0, VMBUS_SINT, 0), 0);
	assert_int_equal(f->irq.nr_msi, 1);
	assert_int_equal(hv_synic_signal_event(f->hv, 0, VMBUS_SINT, 2047), 0);
	assert_int_equal(flags[255], 0x80);
	assert_int_equal(hv_synic_signal_event(f->hv, 0, VMBUS_SINT, 77), 0);
	assert_int_equal(flags[9], 1 << 5);
	assert_int_equal(f->irq.nr_msi, 3);
	/* Guest clears: next signal interrupts again. */
	flags[0] = 0;
	assert_int_equal(hv_synic_signal_event(f->hv, 0, VMBUS_SINT, 0), 0);
	assert_int_equal(f->irq.nr_msi, 4);
	assert_int_equal(hv_synic_signal_event(f->hv, 0, VMBUS_SINT, 2048),
			 -EINVAL);
	assert_int_equal(hv_synic_signal_event(f->hv, 1, VMBUS_SINT, 1),
			 -ENODEV);
	/* Only this SINT's flags were touched. */
	assert_int_equal(f->mem.ram[SIEFP_GPA], 0);
	fx_free(f);
}

/* ---- Synthetic timers ------------------------------------------------ */

static uint64_t ref_now(struct fx *f)
{
	return rd(f, 0, HV_X64_MSR_TIME_REF_COUNT);
}

static void test_stimer_oneshot_message(void **state)
{
	struct fx *f = fx_new(false);
	uint8_t *s = slot(f, VMBUS_SINT);
	uint64_t exp, next;

	synic_on(f);
	f->now_ns += 1000000;
	exp = ref_now(f) + 1000; /* 100 us from now */
	wr(f, 0, HV_X64_MSR_STIMER0_CONFIG,
	   HV_STIMER_ENABLE | (uint64_t)VMBUS_SINT << 16);
	wr(f, 0, HV_X64_MSR_STIMER0_COUNT, exp);
	next = hv_stimer_poll(f->hv, f->now_ns);
	assert_int_equal(next, f->now_ns + 100000);
	f->now_ns += 99999;
	hv_stimer_poll(f->hv, f->now_ns);
	assert_int_equal(get_le32(s), 0);
	f->now_ns += 1000;
	assert_int_equal(hv_stimer_poll(f->hv, f->now_ns), UINT64_MAX);
	assert_int_equal(get_le32(s), HVMSG_TIMER_EXPIRED);
	assert_int_equal(s[4], 24);
	assert_int_equal(get_le32(s + 16), 0);		/* timer index */
	assert_int_equal(get_le64(s + 24), exp);	/* expiration */
	assert_int_equal(get_le64(s + 32), ref_now(f)); /* delivery */
	assert_int_equal(f->irq.nr_msi, 1);
	assert_msi(f, 0, 3, 0xf3);
	/* One-shot disables itself. */
	assert_false(rd(f, 0, HV_X64_MSR_STIMER0_CONFIG) & HV_STIMER_ENABLE);
	/* A count in the past expires at once. */
	guest_ack(f, VMBUS_SINT);
	wr(f, 0, HV_X64_MSR_STIMER0_CONFIG,
	   HV_STIMER_ENABLE | (uint64_t)VMBUS_SINT << 16);
	hv_stimer_poll(f->hv, f->now_ns);
	assert_int_equal(get_le32(s), HVMSG_TIMER_EXPIRED);
	fx_free(f);
}

/* Linux's direct-mode clockevent: CONFIG then COUNT with auto-enable. */
static void test_stimer_direct_autoenable_lazy(void **state)
{
	struct fx *f = fx_new(true);
	uint64_t cfg = HV_STIMER_ENABLE | HV_STIMER_AUTO_ENABLE |
		       HV_STIMER_DIRECT_MODE | HV_STIMER_LAZY |
		       0xedULL << HV_STIMER_VECTOR_SHIFT;

	wr(f, 1, HV_X64_MSR_STIMER0_CONFIG + 2, cfg); /* stimer1, VP 1 */
	/* count 0 so far: not armed */
	assert_int_equal(hv_stimer_poll(f->hv, f->now_ns), UINT64_MAX);
	wr(f, 1, HV_X64_MSR_STIMER0_COUNT + 2, ref_now(f) + 50);
	f->now_ns += 5000;
	hv_stimer_poll(f->hv, f->now_ns);
	assert_int_equal(f->irq.nr_msi, 1);
	assert_msi(f, 0, 9, 0xed);
	assert_false(rd(f, 1, HV_X64_MSR_STIMER0_CONFIG + 2) & 1);
	/* Writing COUNT re-enables (auto-enable), 0 disables. */
	wr(f, 1, HV_X64_MSR_STIMER0_COUNT + 2, ref_now(f) + 50);
	assert_true(rd(f, 1, HV_X64_MSR_STIMER0_CONFIG + 2) & 1);
	wr(f, 1, HV_X64_MSR_STIMER0_COUNT + 2, 0);
	assert_false(rd(f, 1, HV_X64_MSR_STIMER0_CONFIG + 2) & 1);
	f->now_ns += 1000000;
	hv_stimer_poll(f->hv, f->now_ns);
	assert_int_equal(f->irq.nr_msi, 1);
	/* Direct mode needs a valid vector. */
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_STIMER0_CONFIG,
				      HV_STIMER_ENABLE | HV_STIMER_DIRECT_MODE |
					      5ULL << 4),
			 -EINVAL);
	fx_free(f);
}

static void test_stimer_periodic_skips_missed(void **state)
{
	struct fx *f = fx_new(true);
	uint64_t next, start = f->now_ns;

	wr(f, 0, HV_X64_MSR_STIMER0_COUNT + 6, 10000); /* 1 ms period */
	wr(f, 0, HV_X64_MSR_STIMER0_CONFIG + 6,
	   HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_DIRECT_MODE |
		   0x40ULL << 4);
	next = hv_stimer_poll(f->hv, f->now_ns);
	assert_int_equal(next, start + 1000000);
	f->now_ns = start + 1000000;
	next = hv_stimer_poll(f->hv, f->now_ns);
	assert_int_equal(f->irq.nr_msi, 1);
	assert_int_equal(next, start + 2000000);
	/* 3.5 periods late: one interrupt, next on the period grid. */
	f->now_ns = start + 5500000;
	next = hv_stimer_poll(f->hv, f->now_ns);
	assert_int_equal(f->irq.nr_msi, 2);
	assert_int_equal(next, start + 6000000);
	assert_true(rd(f, 0, HV_X64_MSR_STIMER0_CONFIG + 6) & 1);
	assert_msi(f, 1, 3, 0x40);
	/* Disable. */
	wr(f, 0, HV_X64_MSR_STIMER0_CONFIG + 6, 0);
	assert_int_equal(hv_stimer_poll(f->hv, f->now_ns + 10000000),
			 UINT64_MAX);
	fx_free(f);
}

static void test_stimer_message_deferred_until_eom(void **state)
{
	struct fx *f = fx_new(false);
	uint8_t *s = slot(f, VMBUS_SINT);

	synic_on(f);
	/* Direct mode not offered in this configuration. */
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_STIMER0_CONFIG,
				      HV_STIMER_DIRECT_MODE),
			 -EINVAL);
	assert_int_equal(hv_msr_write(f->hv, 0, HV_X64_MSR_STIMER0_CONFIG,
				      1ULL << 20),
			 -EINVAL);
	/* Message mode to SINT0 stays disabled. */
	wr(f, 0, HV_X64_MSR_STIMER0_CONFIG, HV_STIMER_ENABLE);
	assert_false(rd(f, 0, HV_X64_MSR_STIMER0_CONFIG) & 1);

	assert_int_equal(hv_synic_post_message(f->hv, 0, VMBUS_SINT, 1, "v", 1),
			 0);
	wr(f, 0, HV_X64_MSR_STIMER0_COUNT + 2, 100);
	wr(f, 0, HV_X64_MSR_STIMER0_CONFIG + 2,
	   HV_STIMER_ENABLE | HV_STIMER_PERIODIC | (uint64_t)VMBUS_SINT << 16);
	f->now_ns += 10000;
	hv_stimer_poll(f->hv, f->now_ns);
	assert_int_equal(get_le32(s), 1); /* still VMBus msg */
	assert_int_equal(s[5], HV_MESSAGE_FLAG_PENDING);
	f->now_ns += 30000; /* 3 more periods */
	hv_stimer_poll(f->hv, f->now_ns);
	guest_ack(f, VMBUS_SINT);
	assert_int_equal(get_le32(s), HVMSG_TIMER_EXPIRED);
	assert_int_equal(get_le32(s + 16), 1);	 /* stimer1 */
	assert_int_equal(get_le64(s + 24), 100); /* first expiry */
	assert_int_equal(get_le64(s + 32), 400); /* delivered at EOM */
	/* Coalesced: exactly one timer message came. */
	put_le32(s, 0);
	wr(f, 0, HV_X64_MSR_EOM, 0);
	assert_int_equal(get_le32(s), 0);
	fx_free(f);
}

/* ---- Linux 6.1 replay -------------------------------------------------- */

static uint16_t echo_post(void *o, unsigned int vp, uint32_t type,
			  const void *payload, uint32_t len)
{
	struct fx *f = o;

	/* The VMBus server answers on the guest's VMBus SINT. */
	hv_synic_post_message(f->hv, vp, VMBUS_SINT, type + 1, payload, len);
	return HV_STATUS_SUCCESS;
}

/*
 * The MSR and hypercall sequence of a Linux 6.1 guest (mshyperv.c,
 * hv_init.c, hyperv_timer.c, hv.c, vmbus_drv.c), in boot order.
 */
static void test_linux61_boot_sequence(void **state)
{
	_Alignas(8) uint8_t raw[sizeof(struct kvm_cpuid2) +
				16 * sizeof(struct kvm_cpuid_entry2)];
	struct kvm_cpuid2 *c = (struct kvm_cpuid2 *)raw;
	struct fx *f = fx_new(true);
	struct hv_hypercall_regs r;
	uint32_t feat = 0, hints = 0, misc = 0;
	uint8_t *in = f->mem.ram + 0x20000, *s;
	uint64_t v;
	unsigned int i;

	memset(raw, 0, sizeof(raw));
	assert_int_equal(hv_cpuid_patch(f->hv, c, 16), 0);
	for (i = 0; i < c->nent; i++) {
		if (c->entries[i].function == HV_CPUID_FEATURES) {
			feat = c->entries[i].eax;
			misc = c->entries[i].edx;
		}
		if (c->entries[i].function == HV_CPUID_ENLIGHTENMENT_INFO)
			hints = c->entries[i].eax;
	}
	/* ms_hyperv_platform(): both required, or Linux is not on Hyper-V */
	assert_true(feat & HV_MSR_HYPERCALL_AVAILABLE);
	assert_true(feat & HV_MSR_VP_INDEX_AVAILABLE);
	assert_true(hints & HV_DEPRECATING_AEOI_RECOMMENDED);
	assert_true(misc & HV_STIMER_DIRECT_MODE_AVAILABLE);

	/* hyperv_init() */
	wr(f, 0, HV_X64_MSR_GUEST_OS_ID, 0x8100000000060100ULL);
	v = rd(f, 0, HV_X64_MSR_HYPERCALL);
	wr(f, 0, HV_X64_MSR_HYPERCALL, v | 1 | 0x30000);
	assert_int_equal(f->mem.ram[0x30000], 0x50); /* push rax */
	/* hv_cpu_init(): VP index, VP assist page (always written) */
	assert_int_equal(rd(f, 0, HV_X64_MSR_VP_INDEX), 0);
	wr(f, 0, HV_X64_MSR_VP_ASSIST_PAGE, 0x31000 | 1);
	/* hv_stimer_setup_percpu_clockev(): direct mode, before SynIC */
	wr(f, 0, HV_X64_MSR_STIMER0_CONFIG,
	   HV_STIMER_ENABLE | HV_STIMER_AUTO_ENABLE | HV_STIMER_DIRECT_MODE |
		   0xedULL << HV_STIMER_VECTOR_SHIFT);
	wr(f, 0, HV_X64_MSR_STIMER0_COUNT,
	   rd(f, 0, HV_X64_MSR_TIME_REF_COUNT) + 40000);
	f->now_ns += 4000000;
	hv_stimer_poll(f->hv, f->now_ns);
	assert_int_equal(f->irq.nr_msi, 1);
	assert_msi(f, 0, 3, 0xed);

	/* hv_synic_enable_regs(): read-modify-write of every register */
	v = rd(f, 0, HV_X64_MSR_SIMP);
	wr(f, 0, HV_X64_MSR_SIMP, (v & 0xffe) | SIMP_GPA | 1);
	v = rd(f, 0, HV_X64_MSR_SIEFP);
	wr(f, 0, HV_X64_MSR_SIEFP, (v & 0xffe) | SIEFP_GPA | 1);
	v = rd(f, 0, HV_X64_MSR_SINT0 + VMBUS_SINT);
	v = (v & ~0xffULL & ~HV_SYNIC_SINT_MASKED) | 0xf3;
	if (!(hints & HV_DEPRECATING_AEOI_RECOMMENDED))
		v |= HV_SYNIC_SINT_AUTO_EOI;
	wr(f, 0, HV_X64_MSR_SINT0 + VMBUS_SINT, v);
	wr(f, 0, HV_X64_MSR_SCONTROL, rd(f, 0, HV_X64_MSR_SCONTROL) | 1);
	assert_false(rd(f, 0, HV_X64_MSR_SINT0 + VMBUS_SINT) &
		     HV_SYNIC_SINT_AUTO_EOI);

	/* vmbus_connect(): HvPostMessage on connection 4, reply arrives */
	assert_int_equal(hv_register_message_handler(f->hv, 4, echo_post, f),
			 0);
	put_le32(in, 4);
	put_le32(in + 4, 0);
	put_le32(in + 8, 1);
	put_le32(in + 12, 32);
	memset(in + 16, 0x42, 32);
	r = (struct hv_hypercall_regs){ .long_mode = true,
					.rcx = HVCALL_POST_MESSAGE,
					.rdx = 0x20000 };
	assert_int_equal(hv_hypercall(f->hv, 0, &r), 0);
	assert_int_equal(r.rax, HV_STATUS_SUCCESS);
	s = slot(f, VMBUS_SINT);
	assert_int_equal(get_le32(s), 2);
	assert_int_equal(s[4], 32);
	assert_int_equal(s[16 + 31], 0x42);
	assert_int_equal(f->irq.nr_msi, 2);
	assert_msi(f, 1, 3, 0xf3);
	/* vmbus_signal_eom() */
	guest_ack(f, VMBUS_SINT);
	/* hv_synic_disable_regs() on CPU offline */
	v = rd(f, 0, HV_X64_MSR_SINT0 + VMBUS_SINT);
	wr(f, 0, HV_X64_MSR_SINT0 + VMBUS_SINT, v | HV_SYNIC_SINT_MASKED);
	wr(f, 0, HV_X64_MSR_SIMP, rd(f, 0, HV_X64_MSR_SIMP) & 0xffe);
	wr(f, 0, HV_X64_MSR_SIEFP, rd(f, 0, HV_X64_MSR_SIEFP) & 0xffe);
	wr(f, 0, HV_X64_MSR_SCONTROL, 0);
	fx_free(f);
}

/* ---- Timer thread ---------------------------------------------------- */

struct count_irq {
	struct irq_sink sink;
	unsigned int msis;
};

static int count_msi(void *o, uint64_t a, uint32_t d)
{
	__atomic_fetch_add(&((struct count_irq *)o)->msis, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int count_line(void *o, unsigned int g, bool l)
{
	return 0;
}

static const struct irq_sink_ops count_ops = { .set_line = count_line,
					       .msi = count_msi };

static void test_stimer_thread_fires(void **state)
{
	struct count_irq ci = { .sink = { .ops = &count_ops } };
	struct config_hyperv cfg = { .enabled = true, .passthrough = true };
	uint32_t apic = 0;
	struct fake_gmem mem;
	struct hv *hv;
	struct hv_params p = {
		.cfg = &cfg,
		.nr_vcpus = 1,
		.apic_ids = &apic,
		.gm = &mem.gm,
		.irq = &ci.sink,
	};
	struct timespec ts = { 0, 1000000 };
	uint64_t ref;
	int i;

	ci.sink.opaque = &ci;
	assert_int_equal(fake_gmem_init(&mem, RAM_SIZE), 0);
	assert_int_equal(hv_create(&p, &hv), 0);
	assert_int_equal(hv_msr_read(hv, 0, HV_X64_MSR_TIME_REF_COUNT, &ref),
			 0);
	/* Periodic 2 ms direct timer: expect a few interrupts soon. */
	assert_int_equal(hv_msr_write(hv, 0, HV_X64_MSR_STIMER0_COUNT, 20000),
			 0);
	assert_int_equal(hv_msr_write(hv, 0, HV_X64_MSR_STIMER0_CONFIG,
				      HV_STIMER_ENABLE | HV_STIMER_PERIODIC |
					      HV_STIMER_DIRECT_MODE |
					      0x30ULL << 4),
			 0);
	for (i = 0; i < 2000 && __atomic_load_n(&ci.msis, __ATOMIC_SEQ_CST) < 3;
	     i++)
		nanosleep(&ts, NULL);
	assert_true(__atomic_load_n(&ci.msis, __ATOMIC_SEQ_CST) >= 3);
	hv_destroy(hv);
	fake_gmem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synic_msr_state),
		cmocka_unit_test(test_synic_disabled_feature_gp),
		cmocka_unit_test(test_synic_post_busy_slot_eom_redelivery),
		cmocka_unit_test(test_synic_post_fifo_and_queue_full),
		cmocka_unit_test(test_synic_masked_sint_polling),
		cmocka_unit_test(test_synic_signal_event_flags),
		cmocka_unit_test(test_stimer_oneshot_message),
		cmocka_unit_test(test_stimer_direct_autoenable_lazy),
		cmocka_unit_test(test_stimer_periodic_skips_missed),
		cmocka_unit_test(test_stimer_message_deferred_until_eom),
		cmocka_unit_test(test_linux61_boot_sequence),
		cmocka_unit_test(test_stimer_thread_fires),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
