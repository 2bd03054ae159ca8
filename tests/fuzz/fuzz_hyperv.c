// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for src/hyperv: the input is a program of guest and
 * host actions (synthetic MSR reads/writes, hypercalls in both ABIs with
 * parameters in fake guest RAM, guest stores into RAM (message slots,
 * hypercall input pages), SynIC posts and signals from the host side,
 * clock steps with timer polls, resets, CPUID patching). Sanitizers catch
 * memory errors; a few invariants are asserted on the way.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_gmem.h"
#include "fake_irq.h"
#include "hvkvm/hv_tlfs.h"
#include "hvkvm/hyperv.h"
#include "hvkvm/util.h"

#define RAM_SIZE (64 * 1024)
#define NR_VCPUS 2

struct fz {
	struct fake_gmem mem;
	struct fake_irq irq;
	struct config_hyperv cfg;
	struct hv *hv;
	uint64_t now_ns;
	const uint8_t *data;
	size_t len, pos;
};

static const uint32_t fz_msrs[] = {
	HV_X64_MSR_GUEST_OS_ID,
	HV_X64_MSR_HYPERCALL,
	HV_X64_MSR_VP_INDEX,
	HV_X64_MSR_RESET,
	HV_X64_MSR_VP_RUNTIME,
	HV_X64_MSR_TIME_REF_COUNT,
	HV_X64_MSR_REFERENCE_TSC,
	HV_X64_MSR_TSC_FREQUENCY,
	HV_X64_MSR_APIC_FREQUENCY,
	HV_X64_MSR_EOI,
	HV_X64_MSR_VP_ASSIST_PAGE,
	HV_X64_MSR_SCONTROL,
	HV_X64_MSR_SVERSION,
	HV_X64_MSR_SIEFP,
	HV_X64_MSR_SIMP,
	HV_X64_MSR_EOM,
	HV_X64_MSR_SINT0,
	HV_X64_MSR_SINT0 + 2,
	HV_X64_MSR_SINT15,
	HV_X64_MSR_STIMER0_CONFIG,
	HV_X64_MSR_STIMER0_COUNT,
	HV_X64_MSR_STIMER0_CONFIG + 2,
	HV_X64_MSR_STIMER0_COUNT + 2,
	HV_X64_MSR_STIMER3_COUNT,
	HV_X64_MSR_GUEST_IDLE,
	HV_X64_MSR_CRASH_P0,
	HV_X64_MSR_CRASH_CTL,
	HV_X64_MSR_TSC_INVARIANT_CONTROL,
	0x400001ff,
};

static uint8_t take8(struct fz *z)
{
	return z->pos < z->len ? z->data[z->pos++] : 0;
}

static uint64_t take64(struct fz *z)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t)take8(z) << (8 * i);
	return v;
}

/* Mostly page-aligned RAM addresses, sometimes raw values. */
static uint64_t take_gpa(struct fz *z)
{
	uint8_t sel = take8(z);

	if (sel & 0x80)
		return take64(z);
	return (uint64_t)(sel & 0xf) << 12 | (uint64_t)take8(z) << 3;
}

static uint64_t fz_clock(void *o)
{
	return ((struct fz *)o)->now_ns;
}

static int fz_sample(void *o, unsigned int vp, uint64_t *tsc, uint64_t *ns)
{
	struct fz *z = o;

	*ns = z->now_ns;
	*tsc = z->now_ns * 3;
	return 0;
}

static uint64_t fz_runtime(void *o, unsigned int vp)
{
	return ((struct fz *)o)->now_ns / 2;
}

static void fz_reset(void *o)
{
}

static void fz_crash(void *o, unsigned int vp, const uint64_t p[5],
		     const char *msg, size_t msg_len)
{
	size_t i;
	volatile char sink = 0;

	/* Touch every byte: the sanitizers check the length handed over. */
	for (i = 0; msg && i < msg_len; i++)
		sink ^= msg[i];
	(void)sink;
}

static void fz_yield(void *o, unsigned int vp)
{
}

/* VMBus-like handlers: answer with a message / event of our own. */
static uint16_t fz_post(void *o, unsigned int vp, uint32_t type,
			const void *payload, uint32_t len)
{
	struct fz *z = o;

	if (len > HV_MESSAGE_PAYLOAD_BYTE_COUNT)
		abort();
	hv_synic_post_message(z->hv, vp, 2, type, payload, len);
	return (uint16_t)(len & 1 ? HV_STATUS_INSUFFICIENT_BUFFERS : 0);
}

static void fz_signal(void *o, unsigned int vp, uint16_t flag)
{
	struct fz *z = o;

	hv_synic_signal_event(z->hv, vp, 2, flag);
}

static void fz_hypercall(struct fz *z)
{
	struct hv_hypercall_regs r = { 0 };
	uint8_t mode = take8(z);
	uint64_t control = take64(z);

	/* Steer the code towards the implemented calls. */
	if (mode & 2) {
		static const uint16_t codes[] = {
			HVCALL_POST_MESSAGE,
			HVCALL_SIGNAL_EVENT,
			HVCALL_NOTIFY_LONG_SPIN_WAIT,
			HVCALL_GET_VP_REGISTERS,
		};
		control = (control & ~0xffffULL) | codes[(mode >> 2) & 3];
	}
	if (mode & 0x10)
		control &= ~HV_HYPERCALL_RSVD_MASK;
	r.long_mode = mode & 1;
	r.cpl = (mode & 0x20) ? 3 : 0;
	if (r.long_mode) {
		r.rcx = control;
		r.rdx = take_gpa(z);
		r.r8 = take_gpa(z);
	} else {
		r.rax = (uint32_t)control;
		r.rdx = control >> 32;
		r.rcx = take_gpa(z);
		r.rsi = take_gpa(z);
	}
	if (hv_hypercall(z->hv, take8(z) % (NR_VCPUS + 1), &r) == 0 &&
	    !r.long_mode && (r.rax >> 32))
		abort(); /* 32-bit result must fit EAX/EDX */
}

static void fz_cpuid(struct fz *z)
{
	_Alignas(8) uint8_t raw[sizeof(struct kvm_cpuid2) +
				24 * sizeof(struct kvm_cpuid_entry2)];
	struct kvm_cpuid2 *c = (struct kvm_cpuid2 *)raw;
	unsigned int i, n = take8(z) % 20;

	memset(raw, 0, sizeof(raw));
	for (i = 0; i < n; i++)
		c->entries[i].function = 0x40000000 + take8(z) * 0x80;
	c->nent = n;
	if (hv_cpuid_patch(z->hv, c, 24) == 0 && c->nent > 24)
		abort();
}

static void fz_step(struct fz *z)
{
	uint8_t op = take8(z), buf[256];
	uint64_t v, off;
	unsigned int vp = take8(z) % (NR_VCPUS + 1), i, n;

	switch (op % 11) {
	case 0:
		hv_msr_write(z->hv, vp, fz_msrs[take8(z) % ARRAY_SIZE(fz_msrs)],
			     take64(z));
		break;
	case 1:
		hv_msr_read(z->hv, vp, fz_msrs[take8(z) % ARRAY_SIZE(fz_msrs)],
			    &v);
		break;
	case 2:
		hv_msr_write(z->hv, vp, 0x40000000 + take8(z), take64(z));
		break;
	case 3:
		fz_hypercall(z);
		break;
	case 4: /* guest store into RAM */
		off = (take8(z) | (uint64_t)take8(z) << 8) % (RAM_SIZE - 8);
		put_le64(z->mem.ram + off, take64(z));
		break;
	case 5:
		n = take8(z);
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = take8(z);
		hv_synic_post_message(z->hv, vp, take8(z) % 17, take64(z) & 7,
				      buf, n);
		break;
	case 6:
		hv_synic_signal_event(z->hv, vp, take8(z) % 17,
				      (unsigned int)(take64(z) % 2100));
		break;
	case 7:
		z->now_ns += take64(z) % 100000000;
		hv_stimer_poll(z->hv, z->now_ns);
		break;
	case 8:
		if (take8(z) == 0x5a)
			hv_reset(z->hv);
		break;
	case 9:
		fz_cpuid(z);
		break;
	default:
		hv_tsc_page_update(z->hv);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const uint32_t apic_ids[NR_VCPUS] = { 0, 1 };
	struct fz z = { .data = data, .len = len, .now_ns = 1000 };
	struct hv_params p;
	unsigned int steps;

	log_set_level(LOG_ERR);
	if (fake_gmem_init(&z.mem, RAM_SIZE))
		return 0;
	fake_irq_init(&z.irq);
	z.cfg.enabled = true;
	z.cfg.passthrough = len && (data[0] & 1);
	z.cfg.vpindex = z.cfg.synic = z.cfg.stimer = z.cfg.hypervclock = true;
	z.cfg.stimer_direct = len && (data[0] & 2);
	z.cfg.crash = z.cfg.reset = true;
	p = (struct hv_params){
		.cfg = &z.cfg,
		.nr_vcpus = NR_VCPUS,
		.apic_ids = apic_ids,
		.gm = &z.mem.gm,
		.irq = &z.irq.sink,
		.tsc_khz = 3000000,
		.apic_khz = 1000000,
		.manual_timers = true,
		.host = { .clock_ns = fz_clock,
			  .sample_tsc = fz_sample,
			  .vp_runtime_ns = fz_runtime,
			  .reset = fz_reset,
			  .crash = fz_crash,
			  .yield = fz_yield,
			  .opaque = &z },
	};
	if (hv_create(&p, &z.hv))
		goto out;
	hv_register_message_handler(z.hv, 1, fz_post, &z);
	hv_register_event_handler(z.hv, 2, fz_signal, &z);
	z.pos = 1;
	for (steps = 0; steps < 512 && z.pos < z.len; steps++)
		fz_step(&z);
	hv_destroy(z.hv);
out:
	fake_gmem_destroy(&z.mem);
	return 0;
}
