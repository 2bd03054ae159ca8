// SPDX-License-Identifier: MIT
/*
 * hyperv guest idle: the wait behind a read of HV_X64_MSR_GUEST_IDLE (TLFS
 * "Virtual Processor Idle Sleep State"). The VP sleeps until an interrupt
 * is pending for it, even with RFLAGS.IF = 0, then the read completes.
 *
 * The LAPIC is in the kernel, so nothing wakes the vCPU thread when an
 * interrupt arrives: the VMM polls the vCPU's LAPIC state from its own
 * thread (outside KVM_RUN) through struct hv_idle_poll, sleeping between
 * polls with exponential backoff. The policy lives here, free of KVM, so
 * it can be tested with a fake poll; the LAPIC page decoding helpers are
 * pure functions over a KVM_GET_LAPIC register image.
 */
#include "hvkvm/hyperv.h"

#include "hvkvm/util.h"

enum hv_idle_result hv_idle_wait(const struct hv_idle_poll *p)
{
	uint64_t delay = HV_IDLE_POLL_MIN_NS, slept = 0;

	for (;;) {
		if (p->wake(p->opaque))
			return HV_IDLE_WOKEN;
		if (p->cancel(p->opaque))
			return HV_IDLE_CANCELLED;
		if (slept >= HV_IDLE_MAX_NS)
			return HV_IDLE_TIMEOUT;
		p->sleep_ns(p->opaque, delay);
		slept += delay;
		delay = MIN(delay * 2, (uint64_t)HV_IDLE_POLL_MAX_NS);
	}
}

/* LAPIC register offsets in the 1 KiB KVM_GET_LAPIC image. */
#define APIC_IRR 0x200 /* 8 x 32 bits, 16 bytes apart */
#define APIC_LVTT 0x320
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_LVT_MASKED (1u << 16)
#define APIC_LVTT_MODE(v) (((v) >> 17) & 3)
#define APIC_LVTT_ONESHOT 0

static uint32_t hv_apic_reg(const uint8_t *regs, unsigned int off)
{
	return get_le32(regs + off);
}

bool hv_idle_lapic_irr(const uint8_t regs[HV_LAPIC_REGS_SIZE])
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		if (hv_apic_reg(regs, APIC_IRR + i * 0x10))
			return true;
	return false;
}

bool hv_idle_lapic_timer_due(const uint8_t regs[HV_LAPIC_REGS_SIZE])
{
	uint32_t lvtt = hv_apic_reg(regs, APIC_LVTT);

	return !(lvtt & APIC_LVT_MASKED) &&
	       APIC_LVTT_MODE(lvtt) == APIC_LVTT_ONESHOT &&
	       hv_apic_reg(regs, APIC_TMICT) && !hv_apic_reg(regs, APIC_TMCCT);
}

bool hv_idle_lapic_tsc_deadline(const uint8_t regs[HV_LAPIC_REGS_SIZE])
{
	uint32_t lvtt = hv_apic_reg(regs, APIC_LVTT);

	return !(lvtt & APIC_LVT_MASKED) &&
	       APIC_LVTT_MODE(lvtt) == HV_APIC_LVTT_TSC_DEADLINE;
}
