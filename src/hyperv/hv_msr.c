// SPDX-License-Identifier: MIT
/*
 * hyperv MSRs: the synthetic MSRs of TLFS chapters "Hypercall Interface",
 * "Virtual Processor Management", "Partition Reference Time", "Guest
 * Crash Reporting" and "Timers", reached through KVM_EXIT_X86_RDMSR/WRMSR.
 * An MSR whose feature is off, an unknown synthetic MSR, a write to a
 * read-only MSR and a value with reserved bits set all answer -EINVAL
 * (the vCPU loop injects #GP), as Hyper-V does.
 *
 * Partition-wide: GUEST_OS_ID, HYPERCALL, REFERENCE_TSC, RESET, CRASH_*,
 * TSC_INVARIANT_CONTROL (hv->lock). Per VP: VP_INDEX, VP_RUNTIME, SynIC,
 * stimers, VP_ASSIST_PAGE (vp->lock).
 *
 * VP_ASSIST_PAGE is accepted (stored, page never touched) although APIC
 * access is not advertised: Linux 6.1's hv_cpu_init() writes it on every
 * CPU unconditionally. Its only content the hypervisor would write is the
 * EOI-avoidance bit, which we never set, so the guest always EOIs.
 * GUEST_IDLE (read-only; offered when the VMM provides host_ops.idle):
 * a read calls host_ops.idle() on the vCPU thread, which returns once an
 * interrupt is pending for the VP, and reads 0; a write is #GP.
 * Not implemented (#GP): EOI/ICR/TPR, reenlightenment, TSC emulation,
 * debug and statistics MSRs.
 */
#include "hvkvm/hyperv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_internal.h"
#include "hvkvm/util.h"

#define HV_HYPERCALL_RSVD 0xffcULL /* bits 2..11 */
#define HV_REF_TSC_RSVD 0xffeULL   /* bits 1..11 */

/*
 * The hypercall page, then int3s. One page serves 32-bit and 64-bit
 * callers, so it starts with a prologue that decodes in both modes and
 * tells them apart: 0x48 is "dec eax" in 32-bit mode (EAX = -1) but a REX.W
 * prefix (of a nop) in 64-bit mode (EAX stays 0). 32-bit callers, and
 * every 64-bit call but a fast HvSignalEvent with flag 0, take the general
 * trap at "slow" (out HV_HYPERCALL_PORT, al: hv_hypercall()). That one
 * signal writes its connection ID to HV_SIGNAL_PORT, where a KVM
 * ioeventfd per open VMBus channel completes it in the kernel; a write no
 * ioeventfd takes reaches the vCPU loop (hv_signal_event()). Clobbers only
 * RAX and flags, which both ABIs leave to the callee; EAX, an input of the
 * 32-bit ABI, is restored by the pop before the trap.
 *
 *   00 50                    push rax / push eax
 *   01 31 C0                 xor eax, eax
 *   03 48 90                 64: nop (REX.W)  | 32: dec eax; nop
 *   05 85 C0                 test eax, eax    (64: ZF=1, 32: ZF=0)
 *   07 58                    pop rax / pop eax
 *   08 75 19                 jnz slow         (32-bit mode)
 *   0a 48 81 F9 5D 00 01 00  cmp rcx, 0x1005d (HvSignalEvent, fast; no rep,
 *   11 75 10                 jne slow          no variable header)
 *   13 48 89 D0              mov rax, rdx
 *   16 48 C1 E8 20           shr rax, 32      (flag number and RsvdZ)
 *   1a 75 07                 jnz slow
 *   1c 89 D0                 mov eax, edx     (connection ID)
 *   1e E7 E4                 out HV_SIGNAL_PORT, eax
 *   20 31 C0                 xor eax, eax     (HV_STATUS_SUCCESS)
 *   22 C3                    ret
 *   23 E6 E8     slow:       out HV_HYPERCALL_PORT, al
 *   25 C3                    ret
 */
#define HV_STUB_SLOW 0x23
static const uint8_t hv_hypercall_stub[] = {
	0x50,
	0x31,
	0xc0,
	0x48,
	0x90,
	0x85,
	0xc0,
	0x58,
	0x75,
	HV_STUB_SLOW - 0x0a,
	0x48,
	0x81,
	0xf9,
	HVCALL_SIGNAL_EVENT & 0xff,
	HVCALL_SIGNAL_EVENT >> 8,
	(HV_HYPERCALL_FAST_BIT >> 16) & 0xff,
	0x00,
	0x75,
	HV_STUB_SLOW - 0x13,
	0x48,
	0x89,
	0xd0,
	0x48,
	0xc1,
	0xe8,
	0x20,
	0x75,
	HV_STUB_SLOW - 0x1c,
	0x89,
	0xd0,
	[HV_HYPERCALL_PAGE_SIGNAL_OUT] = 0xe7,
	HV_SIGNAL_PORT,
	[HV_HYPERCALL_PAGE_SIGNAL_XOR] = 0x31,
	0xc0,
	[HV_HYPERCALL_PAGE_SIGNAL_RET] = 0xc3,
	[HV_STUB_SLOW] = 0xe6,
	HV_HYPERCALL_PORT,
	0xc3,
};
_Static_assert(HV_HYPERCALL_PORT < 0x100 && HV_SIGNAL_PORT < 0x100,
	       "ports must fit out imm8");
_Static_assert(HV_SIGNAL_PORT + HV_SIGNAL_PORT_LEN <= HV_HYPERCALL_PORT,
	       "signal port overlaps the hypercall port");
_Static_assert(sizeof(hv_hypercall_stub) == HV_STUB_SLOW + 3,
	       "hypercall page layout");

/* ---- Counter slots --------------------------------------------------- */

/*
 * Counter slots: one per MSR of these ranges, in order, then "other".
 * @names name each MSR of the range (TLFS names in lower case); NULL =
 * @name followed by the MSR's position in the range ("sint3").
 */
static const char *const msr_names_base[] = {
	"guest_os_id",
	"hypercall",
	"vp_index",
	"reset",
};
static const char *const msr_names_time[] = {
	"time_ref_count",
	"reference_tsc",
	"tsc_frequency",
	"apic_frequency",
};
static const char *const msr_names_apic[] = {
	"eoi",
	"icr",
	"tpr",
	"vp_assist_page",
};
static const char *const msr_names_synic[] = {
	"scontrol", "sversion", "siefp", "simp", "eom",
};
static const char *const msr_names_crash[] = {
	"crash_p0", "crash_p1", "crash_p2", "crash_p3", "crash_p4", "crash_ctl",
};
_Static_assert(ARRAY_SIZE(msr_names_base) ==
		       HV_X64_MSR_RESET - HV_X64_MSR_GUEST_OS_ID + 1,
	       "base names");
_Static_assert(ARRAY_SIZE(msr_names_time) == HV_X64_MSR_APIC_FREQUENCY -
						     HV_X64_MSR_TIME_REF_COUNT +
						     1,
	       "time names");
_Static_assert(ARRAY_SIZE(msr_names_apic) ==
		       HV_X64_MSR_VP_ASSIST_PAGE - HV_X64_MSR_EOI + 1,
	       "apic names");
_Static_assert(ARRAY_SIZE(msr_names_synic) ==
		       HV_X64_MSR_EOM - HV_X64_MSR_SCONTROL + 1,
	       "synic names");
_Static_assert(ARRAY_SIZE(msr_names_crash) ==
		       HV_X64_MSR_CRASH_CTL - HV_X64_MSR_CRASH_P0 + 1,
	       "crash names");

static const struct {
	uint32_t first, last;
	const char *name;
	const char *const *names; /* [last - first + 1] or NULL */
} msr_stat_ranges[] = {
	{ HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_RESET, NULL, msr_names_base },
	{ HV_X64_MSR_VP_RUNTIME, HV_X64_MSR_VP_RUNTIME, "vp_runtime", NULL },
	{ HV_X64_MSR_TIME_REF_COUNT, HV_X64_MSR_APIC_FREQUENCY, NULL,
	  msr_names_time },
	{ HV_X64_MSR_EOI, HV_X64_MSR_VP_ASSIST_PAGE, NULL, msr_names_apic },
	{ HV_X64_MSR_SCONTROL, HV_X64_MSR_EOM, NULL, msr_names_synic },
	{ HV_X64_MSR_SINT0, HV_X64_MSR_SINT15, "sint", NULL },
	{ HV_X64_MSR_STIMER0_CONFIG, HV_X64_MSR_STIMER3_COUNT, "stimer", NULL },
	{ HV_X64_MSR_GUEST_IDLE, HV_X64_MSR_GUEST_IDLE, "guest_idle", NULL },
	{ HV_X64_MSR_CRASH_P0, HV_X64_MSR_CRASH_CTL, NULL, msr_names_crash },
	{ HV_X64_MSR_TSC_INVARIANT_CONTROL, HV_X64_MSR_TSC_INVARIANT_CONTROL,
	  "tsc_invariant_control", NULL },
};

int hv_msr_stat_index(uint32_t msr)
{
	unsigned int i;
	int base = 0;

	for (i = 0; i < ARRAY_SIZE(msr_stat_ranges); i++) {
		if (msr >= msr_stat_ranges[i].first &&
		    msr <= msr_stat_ranges[i].last)
			return base + (int)(msr - msr_stat_ranges[i].first);
		base += (int)(msr_stat_ranges[i].last -
			      msr_stat_ranges[i].first + 1);
	}
	return HV_MSR_STATS - 1; /* "other" */
}

const char *hv_msr_stat_name(int idx, char *buf, unsigned int len)
{
	unsigned int i, n, pos;
	int base = 0;

	for (i = 0; i < ARRAY_SIZE(msr_stat_ranges); i++) {
		n = msr_stat_ranges[i].last - msr_stat_ranges[i].first + 1;
		if (idx >= base + (int)n) {
			base += (int)n;
			continue;
		}
		pos = (unsigned int)(idx - base);
		if (msr_stat_ranges[i].names)
			snprintf(buf, len, "%s", msr_stat_ranges[i].names[pos]);
		else if (msr_stat_ranges[i].first == HV_X64_MSR_STIMER0_CONFIG)
			snprintf(buf, len, "stimer%u_%s", pos / 2,
				 pos % 2 ? "count" : "config");
		else if (n > 1)
			snprintf(buf, len, "%s%u", msr_stat_ranges[i].name,
				 pos);
		else
			snprintf(buf, len, "%s", msr_stat_ranges[i].name);
		return buf;
	}
	snprintf(buf, len, "other");
	return buf;
}

/* ---- Partition-wide MSRs (hv->lock held) ----------------------------- */

static int hv_hypercall_write(struct hv *hv, uint64_t val)
{
	uint8_t *page;

	if (val & HV_HYPERCALL_RSVD)
		return -EINVAL;
	if (hv->hypercall & HV_HYPERCALL_LOCKED)
		return 0; /* locked until reset: writes are ignored */
	if (!hv->guest_os_id)
		return 0; /* no hypercalls before the guest says who */
	if (val & HV_MSR_ENABLE) {
		page = gmem_map(hv->p.gm, val & HV_MSR_PAGE_MASK, HV_PAGE_SIZE,
				true);
		if (!page)
			return -EINVAL;
		memset(page, 0xcc, HV_PAGE_SIZE);
		memcpy(page, hv_hypercall_stub, sizeof(hv_hypercall_stub));
	}
	__atomic_store_n(&hv->hypercall, val, __ATOMIC_RELEASE);
	return 0;
}

bool hv_hypercall_page(struct hv *hv, uint64_t *gpa)
{
	uint64_t v = __atomic_load_n(&hv->hypercall, __ATOMIC_ACQUIRE);

	*gpa = v & HV_MSR_PAGE_MASK;
	return hv->f.enabled && (v & HV_MSR_ENABLE);
}

static int hv_ref_tsc_write(struct hv *hv, uint64_t val)
{
	uint64_t old = hv->ref_tsc;

	if (val & HV_REF_TSC_RSVD)
		return -EINVAL;
	if ((val & HV_MSR_ENABLE) &&
	    !gmem_map(hv->p.gm, val & HV_MSR_PAGE_MASK, HV_PAGE_SIZE, true))
		return -EINVAL;
	hv->ref_tsc = val;
	if (hv_tsc_page_write(hv)) {
		hv->ref_tsc = old;
		return -EINVAL;
	}
	return 0;
}

/*
 * CRASH_CTL.CrashNotify: report P0..P4. With CrashNotifyMsg too, P3 is the
 * GPA and P4 the length of a message (Linux: the tail of its kernel log;
 * the other parameters are then 0). A message outside guest RAM, or
 * longer than a page, is cut to one page; one not wholly in guest RAM is
 * dropped (and logged): the report still goes.
 */
static int hv_crash_ctl_write(struct hv *hv, unsigned int vp, uint64_t val)
{
	const uint64_t ok = HV_CRASH_CTL_CRASH_NOTIFY |
			    HV_CRASH_CTL_CRASH_NOTIFY_MSG;
	char *msg = NULL;
	size_t len = 0;
	uint64_t p[5];

	if (val & ~ok)
		return -EINVAL;
	hv->crash_ctl = val;
	if (!(val & HV_CRASH_CTL_CRASH_NOTIFY))
		return 0;
	memcpy(p, hv->crash_p, sizeof(p));
	if ((val & HV_CRASH_CTL_CRASH_NOTIFY_MSG) && p[4]) {
		len = p[4] > HV_CRASH_MSG_MAX ? HV_CRASH_MSG_MAX : (size_t)p[4];
		msg = malloc(len);
		if (msg && gmem_read(hv->p.gm, p[3], msg, len)) {
			guest_err(
				"hyperv: crash message at %#llx (+%zu) is not in guest RAM",
				(unsigned long long)p[3], len);
			free(msg);
			msg = NULL;
		}
		if (!msg)
			len = 0;
	}
	pthread_mutex_unlock(&hv->lock);
	hv->p.host.crash(hv->p.host.opaque, vp, p, msg, len);
	pthread_mutex_lock(&hv->lock);
	free(msg);
	return 0;
}

static int hv_partition_write(struct hv *hv, unsigned int vp, uint32_t msr,
			      uint64_t val)
{
	const struct hv_feat *f = &hv->f;

	switch (msr) {
	case HV_X64_MSR_GUEST_OS_ID:
		hv->guest_os_id = val;
		if (!val)
			__atomic_store_n(&hv->hypercall,
					 hv->hypercall & ~HV_MSR_ENABLE,
					 __ATOMIC_RELEASE);
		return 0;
	case HV_X64_MSR_HYPERCALL:
		return hv_hypercall_write(hv, val);
	case HV_X64_MSR_RESET:
		if (!f->reset || (val & ~HV_RESET_DO))
			return -EINVAL;
		if (val & HV_RESET_DO) {
			pthread_mutex_unlock(&hv->lock);
			hv->p.host.reset(hv->p.host.opaque);
			pthread_mutex_lock(&hv->lock);
		}
		return 0;
	case HV_X64_MSR_REFERENCE_TSC:
		if (!f->tsc_page)
			return -EINVAL;
		return hv_ref_tsc_write(hv, val);
	case HV_X64_MSR_CRASH_CTL:
		if (!f->crash)
			return -EINVAL;
		return hv_crash_ctl_write(hv, vp, val);
	case HV_X64_MSR_TSC_INVARIANT_CONTROL:
		if (!f->tsc_invariant || (val & ~HV_TSC_INVARIANT_EXPOSE))
			return -EINVAL;
		hv->tsc_inv_ctl = val;
		return 0;
	default:
		if (msr >= HV_X64_MSR_CRASH_P0 && msr <= HV_X64_MSR_CRASH_P4 &&
		    f->crash) {
			hv->crash_p[msr - HV_X64_MSR_CRASH_P0] = val;
			return 0;
		}
		return -EINVAL;
	}
}

static int hv_partition_read(struct hv *hv, uint32_t msr, uint64_t *val)
{
	const struct hv_feat *f = &hv->f;

	switch (msr) {
	case HV_X64_MSR_GUEST_OS_ID:
		*val = hv->guest_os_id;
		return 0;
	case HV_X64_MSR_HYPERCALL:
		*val = hv->hypercall;
		return 0;
	case HV_X64_MSR_RESET:
		if (!f->reset)
			return -EINVAL;
		*val = 0;
		return 0;
	case HV_X64_MSR_REFERENCE_TSC:
		if (!f->tsc_page)
			return -EINVAL;
		*val = hv->ref_tsc;
		return 0;
	case HV_X64_MSR_CRASH_CTL:
		if (!f->crash)
			return -EINVAL;
		/* what we support */
		*val = HV_CRASH_CTL_CRASH_NOTIFY |
		       HV_CRASH_CTL_CRASH_NOTIFY_MSG;
		return 0;
	case HV_X64_MSR_TSC_INVARIANT_CONTROL:
		if (!f->tsc_invariant)
			return -EINVAL;
		*val = hv->tsc_inv_ctl;
		return 0;
	default:
		if (msr >= HV_X64_MSR_CRASH_P0 && msr <= HV_X64_MSR_CRASH_P4 &&
		    f->crash) {
			*val = hv->crash_p[msr - HV_X64_MSR_CRASH_P0];
			return 0;
		}
		return -EINVAL;
	}
}

static bool hv_msr_is_partition(uint32_t msr)
{
	return msr == HV_X64_MSR_GUEST_OS_ID || msr == HV_X64_MSR_HYPERCALL ||
	       msr == HV_X64_MSR_RESET || msr == HV_X64_MSR_REFERENCE_TSC ||
	       msr == HV_X64_MSR_TSC_INVARIANT_CONTROL ||
	       (msr >= HV_X64_MSR_CRASH_P0 && msr <= HV_X64_MSR_CRASH_CTL);
}

/* ---- Per-VP MSRs ----------------------------------------------------- */

static bool hv_msr_is_synic(uint32_t msr)
{
	return (msr >= HV_X64_MSR_SCONTROL && msr <= HV_X64_MSR_EOM) ||
	       (msr >= HV_X64_MSR_SINT0 && msr <= HV_X64_MSR_SINT15);
}

static bool hv_msr_is_stimer(uint32_t msr)
{
	return msr >= HV_X64_MSR_STIMER0_CONFIG &&
	       msr <= HV_X64_MSR_STIMER3_COUNT;
}

static int hv_vp_assist_write(struct hv_vp *vp, uint64_t val)
{
	if (val & HV_REF_TSC_RSVD)
		return -EINVAL;
	if ((val & HV_MSR_ENABLE) &&
	    !gmem_map(vp->hv->p.gm, val & HV_MSR_PAGE_MASK, HV_PAGE_SIZE, true))
		return -EINVAL;
	vp->vp_assist = val;
	return 0;
}

/* MSRs that need vp->lock. */
static int hv_vp_locked_access(struct hv_vp *vp, uint32_t msr, uint64_t *val,
			       bool write)
{
	const struct hv_feat *f = &vp->hv->f;
	bool kick = false;
	int r = -EINVAL;

	pthread_mutex_lock(&vp->lock);
	if (hv_msr_is_synic(msr) && f->synic) {
		r = write ? hv_synic_msr_write(vp, msr, *val) :
			    hv_synic_msr_read(vp, msr, val);
	} else if (hv_msr_is_stimer(msr) && f->stimer) {
		r = write ? hv_stimer_msr_write(vp, msr, *val) :
			    hv_stimer_msr_read(vp, msr, val);
		kick = write && !r;
	} else if (msr == HV_X64_MSR_VP_ASSIST_PAGE) {
		if (write) {
			r = hv_vp_assist_write(vp, *val);
		} else {
			*val = vp->vp_assist;
			r = 0;
		}
	}
	pthread_mutex_unlock(&vp->lock);
	if (kick)
		hv_stimer_kick(vp->hv);
	return r;
}

/* GUEST_IDLE read: no lock held while the VP sleeps. */
static void hv_guest_idle(struct hv *hv, struct hv_vp *vp)
{
	uint64_t t0 = hv_clock_ns(hv), t1;

	hv_count(&vp->stats.idle_entries);
	hv->p.host.idle(hv->p.host.opaque, vp->index);
	t1 = hv_clock_ns(hv);
	if (t1 > t0)
		__atomic_fetch_add(&vp->stats.idle_ns, t1 - t0,
				   __ATOMIC_RELAXED);
}

static int hv_vp_read(struct hv *hv, struct hv_vp *vp, uint32_t msr,
		      uint64_t *val)
{
	const struct hv_feat *f = &hv->f;

	switch (msr) {
	case HV_X64_MSR_VP_INDEX:
		if (!f->vpindex)
			return -EINVAL;
		*val = vp->index;
		return 0;
	case HV_X64_MSR_VP_RUNTIME:
		if (!f->runtime)
			return -EINVAL;
		*val = hv->p.host.vp_runtime_ns(hv->p.host.opaque, vp->index) /
		       100;
		return 0;
	case HV_X64_MSR_TIME_REF_COUNT:
		if (!f->time_ref)
			return -EINVAL;
		*val = hv_ref_time(hv);
		return 0;
	case HV_X64_MSR_TSC_FREQUENCY:
		if (!f->frequencies)
			return -EINVAL;
		*val = hv->p.tsc_khz * 1000;
		return 0;
	case HV_X64_MSR_APIC_FREQUENCY:
		if (!f->frequencies)
			return -EINVAL;
		*val = hv->p.apic_khz * 1000;
		return 0;
	case HV_X64_MSR_GUEST_IDLE:
		if (!f->idle)
			return -EINVAL;
		hv_guest_idle(hv, vp);
		*val = 0;
		return 0;
	default:
		return hv_vp_locked_access(vp, msr, val, false);
	}
}

/* ---- Entry points ---------------------------------------------------- */

bool hv_msr_is_synthetic(uint32_t msr)
{
	return msr >= HV_MSR_RANGE_FIRST && msr <= HV_MSR_RANGE_LAST;
}

int hv_msr_read(struct hv *hv, unsigned int vpi, uint32_t msr, uint64_t *val)
{
	struct hv_vp *vp;
	int r;

	if (vpi >= hv->p.nr_vcpus)
		return -EINVAL;
	vp = &hv->vps[vpi];
	hv_count(&vp->stats.msr_read[hv_msr_stat_index(msr)]);
	if (!hv->f.enabled || !hv_msr_is_synthetic(msr)) {
		r = -EINVAL;
	} else if (hv_msr_is_partition(msr)) {
		pthread_mutex_lock(&hv->lock);
		r = hv_partition_read(hv, msr, val);
		pthread_mutex_unlock(&hv->lock);
	} else {
		r = hv_vp_read(hv, vp, msr, val);
	}
	if (r)
		hv_count(&vp->stats.msr_gp);
	return r;
}

int hv_msr_write(struct hv *hv, unsigned int vpi, uint32_t msr, uint64_t val)
{
	struct hv_vp *vp;
	int r;

	if (vpi >= hv->p.nr_vcpus)
		return -EINVAL;
	vp = &hv->vps[vpi];
	hv_count(&vp->stats.msr_write[hv_msr_stat_index(msr)]);
	if (!hv->f.enabled || !hv_msr_is_synthetic(msr)) {
		r = -EINVAL;
	} else if (hv_msr_is_partition(msr)) {
		pthread_mutex_lock(&hv->lock);
		r = hv_partition_write(hv, vpi, msr, val);
		pthread_mutex_unlock(&hv->lock);
	} else if (msr == HV_X64_MSR_VP_INDEX || msr == HV_X64_MSR_VP_RUNTIME ||
		   (msr >= HV_X64_MSR_TIME_REF_COUNT &&
		    msr <= HV_X64_MSR_APIC_FREQUENCY &&
		    msr != HV_X64_MSR_REFERENCE_TSC)) {
		r = -EINVAL; /* read-only */
	} else {
		r = hv_vp_locked_access(vp, msr, &val, true);
	}
	if (r) {
		hv_count(&vp->stats.msr_gp);
		guest_err("hyperv: vp%u wrmsr %#x <- %#llx: #GP", vpi, msr,
			  (unsigned long long)val);
	}
	return r;
}
