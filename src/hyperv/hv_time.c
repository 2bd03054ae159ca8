// SPDX-License-Identifier: MIT
/*
 * hyperv time: the partition reference counter (TIME_REF_COUNT, 100 ns
 * units since VM start, from host_ops.clock_ns) and the reference TSC page
 * (TLFS "Partition Reference Time Enlightenment"):
 *
 *   ref_time = ((tsc * tsc_scale) >> 64) + tsc_offset
 *
 * with tsc_scale = 10^4 * 2^64 / tsc_khz and tsc_offset chosen from a
 * simultaneous (guest TSC, host ns) sample so that the page and the MSR
 * agree. The guest-TSC/host-clock drift (NTP slew, a few ppm) is not
 * compensated; hv_tsc_page_update() re-anchors if the VMM knows better.
 *
 * Sequence protocol: the writer stores sequence 0 first (readers that see
 * 0 fall back to the MSR, readers that raced retry), then scale and
 * offset, then a new non-zero sequence (0xFFFFFFFF, "invalid" in old TLFS
 * revisions, is skipped too).
 */
#include "hvkvm/hyperv.h"

#include <errno.h>

#include "hv_internal.h"
#include "hvkvm/util.h"

uint64_t hv_tsc_scale(uint64_t tsc_khz)
{
	unsigned __int128 s;

	if (!tsc_khz)
		return 0;
	s = ((unsigned __int128)10000 << 64) / tsc_khz;
	if (s >> 64)
		return 0; /* slower than 10 MHz: not representable */
	return (uint64_t)s;
}

static uint32_t hv_tsc_seq_next(uint32_t seq)
{
	seq++;
	if (seq == 0 || seq == 0xffffffffu)
		seq = 1;
	return seq;
}

/* hv->lock held. 0, or -EFAULT when the page is not guest RAM. */
int hv_tsc_page_write(struct hv *hv)
{
	uint64_t gpa = hv->ref_tsc & HV_MSR_PAGE_MASK;
	uint64_t tsc, ns, scale, ref;
	uint8_t *page;
	uint32_t seq;

	if (!(hv->ref_tsc & HV_MSR_ENABLE))
		return 0;
	page = gmem_map(hv->p.gm, gpa, HV_PAGE_SIZE, true);
	if (!page)
		return -EFAULT;
	__atomic_store_n((uint32_t *)page, 0, __ATOMIC_SEQ_CST);
	scale = hv_tsc_scale(hv->p.tsc_khz);
	if (!scale || !hv->p.host.sample_tsc ||
	    hv->p.host.sample_tsc(hv->p.host.opaque, 0, &tsc, &ns))
		return 0; /* sequence 0: the guest uses the MSR */
	ref = hv_ref_time_at(hv, ns);
	hv->tsc_scale = scale;
	hv->tsc_offset =
		(int64_t)(ref -
			  (uint64_t)(((unsigned __int128)tsc * scale) >> 64));
	seq = hv_tsc_seq_next(hv->tsc_seq);
	hv->tsc_seq = seq;
	__atomic_store_n((uint32_t *)(page + 4), 0, __ATOMIC_RELAXED);
	__atomic_store_n((uint64_t *)(page + 8), hv->tsc_scale,
			 __ATOMIC_RELAXED);
	__atomic_store_n((int64_t *)(page + 16), hv->tsc_offset,
			 __ATOMIC_RELAXED);
	__atomic_store_n((uint32_t *)page, seq, __ATOMIC_RELEASE);
	return 0;
}

void hv_tsc_page_update(struct hv *hv)
{
	pthread_mutex_lock(&hv->lock);
	if (hv_tsc_page_write(hv))
		guest_err("hyperv: reference TSC page at %#llx not in RAM",
			  (unsigned long long)(hv->ref_tsc & HV_MSR_PAGE_MASK));
	pthread_mutex_unlock(&hv->lock);
}
