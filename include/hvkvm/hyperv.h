/* SPDX-License-Identifier: MIT */
/*
 * hyperv: the Hyper-V enlightenments served from userspace (the host kernel
 * has no KVM_CAP_HYPERV). The vCPU loop calls in for CPUID, synthetic MSRs
 * and hypercalls; VMBus calls the SynIC delivery API and registers
 * connection-ID handlers for HvPostMessage / HvSignalEvent.
 *
 * Threading: hv_msr_*, hv_hypercall run on the vCPU thread of @vp.
 * hv_synic_post_message / hv_synic_signal_event may be called from any
 * thread. Registered handlers run on the vCPU thread that made the hypercall
 * and must be short (queue work to an I/O thread).
 */
#ifndef HVKVM_HYPERV_H
#define HVKVM_HYPERV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hvkvm/config.h"
#include "hvkvm/gmem.h"
#include "hvkvm/irq.h"

struct kvm_cpuid2;
struct hv;

/*
 * The hypercall page's general trap is "out HV_HYPERCALL_PORT, al; ret"
 * (E6 E8 C3): the imm8 form of OUT needs a port below 0x100 and touches no
 * register but AL, so every hypercall argument register (RCX/RDX/R8, or
 * EDX:EAX, EBX:ECX, EDI:ESI) reaches the VMM intact. The VMM sees a 1-byte
 * PIO write to this port and calls hv_hypercall() with the vCPU's
 * registers. 0xE8 is unused on a PC (0x80 POST, 0xE9 Bochs debug console,
 * 0xED/0xF0 delay and FPU ports are all avoided). The vCPU loop takes the
 * port before the PIO bus sees it.
 */
#define HV_HYPERCALL_PORT 0xe8

/* The longest crash message a guest can hand over (one page). */
#define HV_CRASH_MSG_MAX 4096
/*
 * Signal port, 4 bytes (0xE4-0xE7, just below HV_HYPERCALL_PORT, as unused
 * on a PC). A 64-bit caller's fast HvSignalEvent with flag 0 (control
 * exactly HVCALL_SIGNAL_EVENT | fast, RDX bits 32-63 zero) does "out
 * HV_SIGNAL_PORT, eax" with EAX = connection ID instead of the general
 * trap: the VMM registers a KVM ioeventfd per open VMBus channel with the
 * connection ID as datamatch, so that signal completes inside KVM. A write
 * no ioeventfd took exits to the VMM, which runs hv_signal_event() (the
 * vCPU loop takes the port before the PIO bus sees it).
 */
#define HV_SIGNAL_PORT 0xe4
#define HV_SIGNAL_PORT_LEN 4
/*
 * Offsets in the hypercall page (docs/hyperv.md): the signal port's OUT
 * (2 bytes, E7 imm8), the "xor eax, eax" after it and the "ret" that
 * follows; a failed signal through the port resumes at the ret with the
 * status in RAX.
 */
#define HV_HYPERCALL_PAGE_SIGNAL_OUT 0x1e
#define HV_HYPERCALL_PAGE_SIGNAL_XOR 0x20
#define HV_HYPERCALL_PAGE_SIGNAL_RET 0x22

/* Services the VM provides to the hyperv module. */
struct hv_host_ops {
	/* Host monotonic clock, ns. */
	uint64_t (*clock_ns)(void *opaque);
	/*
	 * A simultaneous sample of vCPU @vp's guest TSC and clock_ns(), used to
	 * build the reference TSC page. 0 or -errno.
	 */
	int (*sample_tsc)(void *opaque, unsigned int vp, uint64_t *tsc,
			  uint64_t *ns);
	/* CPU time consumed by vCPU @vp's thread, ns (VP_RUNTIME). */
	uint64_t (*vp_runtime_ns)(void *opaque, unsigned int vp);
	/* HV_X64_MSR_RESET written with 1. */
	void (*reset)(void *opaque);
	/*
	 * Guest crash reported through CRASH_CTL: P0..P4, and with
	 * CrashNotifyMsg the guest's message (P3 = its GPA, P4 = its length,
	 * at most HV_CRASH_MSG_MAX bytes, copied out of guest RAM; not NUL
	 * terminated, untrusted text), else @msg is NULL.
	 */
	void (*crash)(void *opaque, unsigned int vp, const uint64_t p[5],
		      const char *msg, size_t msg_len);
	/* HvNotifyLongSpinWait: yield the vCPU thread. */
	void (*yield)(void *opaque, unsigned int vp);
	/*
	 * Optional: a read of GUEST_IDLE. Called on vCPU @vp's own thread;
	 * returns when an interrupt (or NMI) is pending for it, the VMM
	 * wants the thread back (stop, pause, reset) or after a bounded time
	 * (a spurious wake-up the guest tolerates), e.g. with hv_idle_wait().
	 * NULL: GUEST_IDLE is not offered.
	 */
	void (*idle)(void *opaque, unsigned int vp);
	void *opaque;
};

struct hv_params {
	const struct config_hyperv *cfg; /* what to enable */
	unsigned int nr_vcpus;
	const uint32_t *apic_ids; /* [nr_vcpus]: VP index -> APIC ID */
	struct gmem *gm;	  /* guest RAM (SIMP/SIEFP/TSC page) */
	struct irq_sink *irq;	  /* SINT / stimer interrupts as MSIs */
	uint64_t tsc_khz;	  /* guest TSC frequency */
	uint64_t apic_khz;	  /* LAPIC timer frequency */
	/*
	 * Advertise HV_ACCESS_TSC_INVARIANT (and CPUID.80000007:EDX[8]):
	 * only when the host TSC is invariant and KVM keeps the guest TSC
	 * stable (no TSC scaling changes, no migration). Default off.
	 */
	bool tsc_invariant;
	/*
	 * No timer thread: synthetic timers only expire when the caller runs
	 * hv_stimer_poll() (unit tests drive time by hand).
	 */
	bool manual_timers;
	struct hv_host_ops host;
};

int hv_create(const struct hv_params *p, struct hv **out);
void hv_destroy(struct hv *hv);
/* Guest reset: every MSR and SynIC/stimer state back to power-on. */
void hv_reset(struct hv *hv);

/*
 * Replace the hypervisor leaves (0x40000000..) of @cpuid, which has room for
 * @max entries, with Hyper-V's 0x40000000-0x4000000A; also sets the
 * "hypervisor present" bit (CPUID.1:ECX[31]). 0 or -ENOSPC.
 */
int hv_cpuid_patch(struct hv *hv, struct kvm_cpuid2 *cpuid, unsigned int max);

/* True if @msr is in the synthetic range this module owns. */
bool hv_msr_is_synthetic(uint32_t msr);
/* 0 = handled; -EINVAL = inject #GP. */
int hv_msr_read(struct hv *hv, unsigned int vp, uint32_t msr, uint64_t *val);
int hv_msr_write(struct hv *hv, unsigned int vp, uint32_t msr, uint64_t val);

/* Register state at the hypercall trap (both ABIs). */
struct hv_hypercall_regs {
	bool long_mode; /* 64-bit: RCX/RDX/R8; else EDX:EAX etc. */
	uint8_t cpl;	/* CPL at the trap (CS.RPL); 0 expected */
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, r8;
};
/*
 * Perform the hypercall; sets regs->rax (and for 32-bit, rdx) to the result
 * value. Returns 0 when it was a hypercall (write RAX/RDX back), or -EPERM
 * when the write to HV_HYPERCALL_PORT cannot be one (hypercall page not
 * enabled, CPL != 0, Hyper-V off): then leave the registers alone (the
 * TLFS would raise #UD; the VMM may inject it or ignore the write).
 */
int hv_hypercall(struct hv *hv, unsigned int vp,
		 struct hv_hypercall_regs *regs);

/*
 * HvSignalEvent(@conn, @flag) from VP @vp, as the hypercall performs it
 * (counted as a SignalEvent hypercall): HV_STATUS_SUCCESS, or
 * INVALID_HYPERCALL_CODE (SynIC off), INVALID_HYPERCALL_INPUT (@conn
 * beyond the 24-bit connection ID), INVALID_PARAMETER (@flag >= 2048),
 * INVALID_CONNECTION_ID (no handler). The vCPU loop calls it for a write
 * to HV_SIGNAL_PORT that no ioeventfd took, after checking
 * hv_hypercall_page() (page enabled), a 64-bit caller and CPL 0.
 */
uint16_t hv_signal_event(struct hv *hv, unsigned int vp, uint32_t conn,
			 uint16_t flag);
/* True, and the page's GPA, when the hypercall page is enabled. Any thread. */
bool hv_hypercall_page(struct hv *hv, uint64_t *gpa);

/* HvPostMessage handler for a connection ID: returns an HV_STATUS_* code. */
typedef uint16_t (*hv_post_message_fn)(void *opaque, unsigned int vp,
				       uint32_t msg_type, const void *payload,
				       uint32_t len);
/* HvSignalEvent handler for a connection ID. */
typedef void (*hv_signal_event_fn)(void *opaque, unsigned int vp,
				   uint16_t flag);

int hv_register_message_handler(struct hv *hv, uint32_t connection_id,
				hv_post_message_fn fn, void *opaque);
int hv_register_event_handler(struct hv *hv, uint32_t connection_id,
			      hv_signal_event_fn fn, void *opaque);
int hv_unregister_event_handler(struct hv *hv, uint32_t connection_id);
int hv_unregister_message_handler(struct hv *hv, uint32_t connection_id);

/*
 * Post a message (at most 240 bytes of payload) into @vp's SINT @sint slot
 * and raise the SINT's interrupt. When the slot is busy the message is
 * queued and delivered on EOM (message-pending protocol).
 * 0, -EINVAL (bad vp/sint/len), -ENODEV (SynIC/SIMP/SINT not enabled),
 * -EAGAIN (queue full).
 */
int hv_synic_post_message(struct hv *hv, unsigned int vp, unsigned int sint,
			  uint32_t msg_type, const void *payload, uint32_t len);
/* Set event flag @flag in @vp's SIEF page for @sint; interrupt if newly set. */
int hv_synic_signal_event(struct hv *hv, unsigned int vp, unsigned int sint,
			  unsigned int flag);

/*
 * Expire due synthetic timers at host time @now_ns (host_ops.clock_ns
 * domain) and retry undelivered timer messages. Returns the next deadline
 * in the same domain, or UINT64_MAX when no timer is armed. The timer
 * thread calls it; with hv_params.manual_timers the caller must.
 */
uint64_t hv_stimer_poll(struct hv *hv, uint64_t now_ns);

/*
 * The partition reference time: 100 ns units since VM start (or the last
 * hv_reset()), the value the guest reads from TIME_REF_COUNT and computes
 * from the reference TSC page. Any thread. Meaningful to the guest only
 * when hv_reference_time_available().
 */
uint64_t hv_reference_time(struct hv *hv);
/* True when the guest is offered TIME_REF_COUNT (hypervclock enabled). */
bool hv_reference_time_available(struct hv *hv);

/*
 * Rewrite the reference TSC page (new scale/offset from a fresh
 * sample_tsc(), sequence protocol) after the guest TSC was changed behind
 * the module's back (e.g. KVM_SET_TSC_KHZ or a TSC write on resume).
 */
void hv_tsc_page_update(struct hv *hv);

/*
 * Guest idle (GUEST_IDLE) helper for host_ops.idle: poll @wake with
 * exponential backoff from HV_IDLE_POLL_MIN_NS to HV_IDLE_POLL_MAX_NS
 * between polls until it says the VP has work, @cancel says the VMM wants
 * the thread, or about HV_IDLE_MAX_NS of sleep have passed.
 */
#define HV_IDLE_POLL_MIN_NS 20000ULL   /* 20 us */
#define HV_IDLE_POLL_MAX_NS 1000000ULL /* 1 ms */
#define HV_IDLE_MAX_NS 10000000ULL     /* 10 ms, then wake anyway */
struct hv_idle_poll {
	bool (*wake)(void *opaque);   /* interrupt/NMI pending for the VP */
	bool (*cancel)(void *opaque); /* stop, pause or reset requested */
	void (*sleep_ns)(void *opaque, uint64_t ns); /* may end early */
	void *opaque;
};
enum hv_idle_result {
	HV_IDLE_WOKEN,	   /* wake() said so */
	HV_IDLE_CANCELLED, /* cancel() said so */
	HV_IDLE_TIMEOUT,   /* HV_IDLE_MAX_NS of sleep */
};
enum hv_idle_result hv_idle_wait(const struct hv_idle_poll *p);

/*
 * Decoding a KVM_GET_LAPIC register image (struct kvm_lapic_state.regs)
 * for the wake test: any IRR bit set; a one-shot LAPIC timer that ran
 * down (TMICT != 0, TMCCT == 0, unmasked; KVM holds an expired timer
 * outside IRR until the vCPU runs again); the timer is unmasked in
 * TSC-deadline mode (then compare IA32_TSC_DEADLINE with the guest TSC).
 */
#define HV_LAPIC_REGS_SIZE 1024
#define HV_APIC_LVTT_TSC_DEADLINE 2
bool hv_idle_lapic_irr(const uint8_t regs[HV_LAPIC_REGS_SIZE]);
bool hv_idle_lapic_timer_due(const uint8_t regs[HV_LAPIC_REGS_SIZE]);
bool hv_idle_lapic_tsc_deadline(const uint8_t regs[HV_LAPIC_REGS_SIZE]);

/*
 * Counters, one callback per counter with a dotted path (the same data
 * hv_stats_print() prints). Paths, N = VP index (docs/hyperv.md):
 *   hyperv.vpN.msr.<name>.reads / .writes  synthetic MSR accesses by MSR
 *       (TLFS name in lower case: "scontrol", "sint2", "stimer0_config",
 *       "other"); only MSRs that were accessed at all
 *   hyperv.vpN.msr_gp                       accesses answered with #GP
 *   hyperv.vpN.hypercalls.<Call>            NotifyLongSpinWait,
 *       GetVpRegisters, PostMessage, SignalEvent, other
 *   hyperv.vpN.hypercall_errors             status != HV_STATUS_SUCCESS
 *   hyperv.vpN.synic.{posted,queued,dropped,redelivered,eom,events,irqs}
 *   hyperv.vpN.stimer.{expired,direct_irqs,messages,deferred}
 *   hyperv.vpN.idle.entries / .time_ns      GUEST_IDLE reads, time idle
 * Values are relaxed atomic loads: safe from any thread, each counter
 * exact on its own, not a snapshot of all of them at one instant.
 */
typedef void (*hv_stats_fn)(void *opaque, const char *path, uint64_t value);
void hv_stats_foreach(struct hv *hv, hv_stats_fn fn, void *opaque);
/* The enabled features and every counter, a line per VP and group. */
void hv_stats_print(struct hv *hv, FILE *f);

#endif /* HVKVM_HYPERV_H */
