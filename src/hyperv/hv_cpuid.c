// SPDX-License-Identifier: MIT
/*
 * hyperv CPUID: the hypervisor leaves 0x40000000-0x4000000A (TLFS
 * "Feature and Interface Discovery"). Everything advertised here is served
 * by this module; everything else is clear. KVM's own signature leaves are
 * removed, not moved: Linux picks the highest hypervisor base it
 * recognises, so a KVM base at 0x40000100 would win over Hyper-V's.
 */
#include "hvkvm/hyperv.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "hv_internal.h"
#include "hvkvm/util.h"

/* Windows Server 2019 (10.0.17763), what guests expect from a 2019 host. */
#define HV_VERSION_BUILD 17763
#define HV_VERSION_MAJOR 10
#define HV_VERSION_MINOR 0
#define HV_VERSION_SERVICE 1

/* Guest TSC must tick at least at 10 MHz for a 64.64 scale below 1.0. */
#define HV_TSC_PAGE_MIN_KHZ 10001

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_80000007_EDX_INVTSC (1u << 8)

void hv_feat_compute(struct hv *hv)
{
	const struct config_hyperv *c = &hv->cfg;
	const struct hv_host_ops *h = &hv->p.host;
	struct hv_feat *f = &hv->f;
	bool all = c->passthrough;

	memset(f, 0, sizeof(*f));
	f->enabled = c->enabled || all;
	if (!f->enabled)
		return;
	f->relaxed = all || c->relaxed;
	f->vpindex = all || c->vpindex;
	f->runtime = (all || c->runtime) && h->vp_runtime_ns;
	/* Linux and Windows need VP_INDEX to address SynIC targets. */
	f->synic = (all || c->synic) && f->vpindex;
	f->time_ref = all || c->hypervclock;
	f->tsc_page = f->time_ref && h->sample_tsc &&
		      hv->p.tsc_khz >= HV_TSC_PAGE_MIN_KHZ;
	f->tsc_invariant = hv->p.tsc_invariant && f->tsc_page;
	/* Timers count in reference time and expire into the SynIC. */
	f->stimer = (all || c->stimer) && f->synic && f->time_ref;
	f->stimer_direct = (all || c->stimer_direct) && f->stimer;
	f->reset = (all || c->reset) && h->reset;
	f->frequencies = (all || c->frequencies) && hv->p.tsc_khz &&
			 hv->p.apic_khz;
	f->crash = (all || c->crash) && h->crash;
	/*
	 * No libvirt element: on with Hyper-V whenever the VMM can idle a
	 * VP (docs/hyperv.md). Guests only use it when they choose to.
	 */
	f->idle = h->idle != NULL;
	if (all || c->spinlocks)
		f->spinlock_retries =
			c->spinlock_retries ? c->spinlock_retries : 0xfff;
	else
		f->spinlock_retries = HV_SPINLOCK_NEVER_NOTIFY;
	if (c->vendor_id_set)
		memcpy(f->vendor, c->vendor_id,
		       strnlen(c->vendor_id, sizeof(f->vendor)));
	else
		memcpy(f->vendor, "Microsoft Hv", 12);
}

static uint32_t hv_features_eax(const struct hv_feat *f)
{
	uint32_t v = HV_MSR_HYPERCALL_AVAILABLE;

	if (f->runtime)
		v |= HV_MSR_VP_RUNTIME_AVAILABLE;
	if (f->time_ref)
		v |= HV_MSR_TIME_REF_COUNT_AVAILABLE;
	if (f->synic)
		v |= HV_MSR_SYNIC_AVAILABLE;
	if (f->stimer)
		v |= HV_MSR_SYNTIMER_AVAILABLE;
	if (f->vpindex)
		v |= HV_MSR_VP_INDEX_AVAILABLE;
	if (f->reset)
		v |= HV_MSR_RESET_AVAILABLE;
	if (f->tsc_page)
		v |= HV_MSR_REFERENCE_TSC_AVAILABLE;
	if (f->frequencies)
		v |= HV_ACCESS_FREQUENCY_MSRS;
	if (f->tsc_invariant)
		v |= HV_ACCESS_TSC_INVARIANT;
	if (f->idle)
		v |= HV_MSR_GUEST_IDLE_AVAILABLE;
	return v;
}

static uint32_t hv_features_edx(const struct hv_feat *f)
{
	uint32_t v = 0;

	if (f->frequencies)
		v |= HV_FEATURE_FREQUENCY_MSRS_AVAILABLE;
	if (f->crash)
		v |= HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE;
	if (f->stimer_direct)
		v |= HV_STIMER_DIRECT_MODE_AVAILABLE;
	if (f->idle)
		v |= HV_X64_GUEST_IDLE_STATE_AVAILABLE;
	return v;
}

/* Fill leaf @fn (0x40000000 + n) into @e. */
static void hv_cpuid_leaf(struct hv *hv, uint32_t fn,
			  struct kvm_cpuid_entry2 *e)
{
	const struct hv_feat *f = &hv->f;

	memset(e, 0, sizeof(*e));
	e->function = fn;
	switch (fn) {
	case HV_CPUID_VENDOR_AND_MAX:
		e->eax = HV_CPUID_MAX_LEAF;
		e->ebx = get_le32(&f->vendor[0]);
		e->ecx = get_le32(&f->vendor[4]);
		e->edx = get_le32(&f->vendor[8]);
		break;
	case HV_CPUID_INTERFACE:
		e->eax = HV_CPUID_INTERFACE_HV1;
		break;
	case HV_CPUID_VERSION:
		e->eax = HV_VERSION_BUILD;
		e->ebx = HV_VERSION_MAJOR << 16 | HV_VERSION_MINOR;
		e->edx = HV_VERSION_SERVICE;
		break;
	case HV_CPUID_FEATURES:
		e->eax = hv_features_eax(f);
		e->ebx = f->synic ? HV_POST_MESSAGES | HV_SIGNAL_EVENTS : 0;
		e->edx = hv_features_edx(f);
		break;
	case HV_CPUID_ENLIGHTENMENT_INFO:
		/*
		 * AutoEOI cannot be emulated against the in-kernel LAPIC:
		 * tell the guest to EOI every SINT itself.
		 */
		e->eax = HV_DEPRECATING_AEOI_RECOMMENDED;
		if (f->relaxed)
			e->eax |= HV_X64_RELAXED_TIMING_RECOMMENDED;
		e->ebx = f->spinlock_retries;
		break;
	case HV_CPUID_IMPLEMENT_LIMITS:
		e->eax = hv->p.nr_vcpus;
		e->ebx = hv->host_cpus;
		break;
	default:
		/* 0x40000006..0x4000000A: no hardware/nested features. */
		break;
	}
}

int hv_cpuid_patch(struct hv *hv, struct kvm_cpuid2 *cpuid, unsigned int max)
{
	const unsigned int nr_leaves =
		HV_CPUID_MAX_LEAF - HV_CPUID_VENDOR_AND_MAX + 1;
	unsigned int i, n = 0;
	uint32_t fn;

	if (!hv->f.enabled)
		return 0;
	for (i = 0; i < cpuid->nent; i++) {
		uint32_t efn = cpuid->entries[i].function;

		if (efn < HV_CPUID_RANGE_FIRST || efn > HV_CPUID_RANGE_LAST)
			n++;
	}
	if (n + nr_leaves > max)
		return -ENOSPC;
	n = 0;
	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function >= HV_CPUID_RANGE_FIRST &&
		    e->function <= HV_CPUID_RANGE_LAST)
			continue;
		if (e->function == 1)
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
		if (e->function == 0x80000007 && hv->f.tsc_invariant)
			e->edx |= CPUID_80000007_EDX_INVTSC;
		cpuid->entries[n++] = *e;
	}
	for (fn = HV_CPUID_VENDOR_AND_MAX; fn <= HV_CPUID_MAX_LEAF; fn++)
		hv_cpuid_leaf(hv, fn, &cpuid->entries[n++]);
	cpuid->nent = n;
	return 0;
}
