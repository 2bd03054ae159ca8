// SPDX-License-Identifier: MIT
/*
 * hyperv SynIC: the synthetic interrupt controller of TLFS chapter
 * "Inter-Partition Communication" served from userspace. SCONTROL,
 * SVERSION, SIMP, SIEFP, EOM, SINT0-15; message slots and event flags live
 * in guest RAM and are written through the host mapping of that page;
 * SINT interrupts are fixed-delivery MSIs into the in-kernel LAPIC.
 *
 * Message-slot protocol (host side): a slot is free when its type is
 * HVMSG_NONE. Payload and header are written first, the type last (release
 * store). A busy slot gets its msg-pending flag set, then the type is read
 * again (the guest clears the type and then reads the flag, so one of the
 * two sides always sees the other); the message waits in a per-SINT FIFO
 * and is written on the guest's EOM.
 *
 * Not implemented: AutoEOI (stored, never honoured: CPUID tells the guest
 * not to use it), as-intercept/proxy SINT bits (#GP), SINT polling has no
 * effect beyond being stored (a masked SINT still gets messages and flags,
 * without interrupt).
 */
#include "hvkvm/hyperv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hv_internal.h"
#include "hvkvm/util.h"

#define HV_SYNIC_PAGE_RSVD 0xffeULL /* SIMP/SIEFP bits 1..11 */

bool hv_synic_ready(struct hv_vp *vp)
{
	return (vp->scontrol & HV_SYNIC_CONTROL_ENABLE) && vp->simp_hva;
}

/* Raise @sint's vector on this VP unless masked or SynIC disabled. */
void hv_synic_raise(struct hv_vp *vp, unsigned int sint)
{
	uint64_t s = vp->sint[sint], addr;
	uint32_t data;

	if (!(vp->scontrol & HV_SYNIC_CONTROL_ENABLE) ||
	    (s & HV_SYNIC_SINT_MASKED))
		return;
	irq_msi_fixed(vp->apic_id, (uint8_t)(s & HV_SYNIC_SINT_VECTOR_MASK),
		      &addr, &data);
	irq_msi(vp->hv->p.irq, addr, data);
	hv_count(&vp->stats.sint_irq);
}

/*
 * Write a message into @sint's slot if it is free. 0 = written; -EBUSY =
 * slot busy, msg-pending set so the guest will EOM. @more: messages still
 * wait behind this one (set msg-pending on it).
 */
static int hv_synic_slot_write(struct hv_vp *vp, unsigned int sint,
			       uint32_t type, const void *payload, uint32_t len,
			       bool more)
{
	uint8_t *slot = vp->simp_hva + sint * HV_MESSAGE_SIZE;
	uint32_t *typep = (uint32_t *)slot;

	if (__atomic_load_n(typep, __ATOMIC_ACQUIRE) != HVMSG_NONE) {
		__atomic_fetch_or(&slot[5], HV_MESSAGE_FLAG_PENDING,
				  __ATOMIC_SEQ_CST);
		if (__atomic_load_n(typep, __ATOMIC_SEQ_CST) != HVMSG_NONE)
			return -EBUSY;
		/* The guest freed it meanwhile: take it. */
	}
	memcpy(slot + 16, payload, len);
	slot[4] = (uint8_t)len;
	slot[5] = more ? HV_MESSAGE_FLAG_PENDING : 0;
	slot[6] = 0;
	slot[7] = 0;
	memset(slot + 8, 0, 8); /* sender */
	__atomic_store_n(typep, type, __ATOMIC_RELEASE);
	return 0;
}

int hv_synic_write_slot(struct hv_vp *vp, unsigned int sint, uint32_t type,
			const void *payload, uint32_t len)
{
	struct hv_msg_queue *q = vp->queue[sint];

	return hv_synic_slot_write(vp, sint, type, payload, len, q && q->count);
}

static void hv_synic_queue_drop(struct hv_vp *vp)
{
	unsigned int s;

	for (s = 0; s < HV_SYNIC_SINT_COUNT; s++) {
		struct hv_msg_queue *q = vp->queue[s];

		if (!q)
			continue;
		__atomic_fetch_add(&vp->stats.msg_dropped, q->count,
				   __ATOMIC_RELAXED);
		q->count = 0;
		q->head = 0;
	}
}

/* Deliver the oldest queued message of @sint if the slot is free. */
static void hv_synic_queue_flush(struct hv_vp *vp, unsigned int sint)
{
	struct hv_msg_queue *q = vp->queue[sint];
	struct hv_queued_msg *m;

	if (!q || !q->count || !hv_synic_ready(vp))
		return;
	m = &q->msg[q->head];
	if (hv_synic_slot_write(vp, sint, m->type, m->payload, m->len,
				q->count > 1))
		return;
	q->head = (q->head + 1) % HV_MSG_QUEUE_LEN;
	q->count--;
	hv_count(&vp->stats.msg_redelivered);
	hv_synic_raise(vp, sint);
}

static int hv_synic_queue_add(struct hv_vp *vp, unsigned int sint,
			      uint32_t type, const void *payload, uint32_t len)
{
	struct hv_msg_queue *q = vp->queue[sint];
	struct hv_queued_msg *m;

	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q)
			return -EAGAIN;
		vp->queue[sint] = q;
	}
	if (q->count == HV_MSG_QUEUE_LEN)
		return -EAGAIN;
	m = &q->msg[(q->head + q->count) % HV_MSG_QUEUE_LEN];
	m->type = type;
	m->len = (uint8_t)len;
	memcpy(m->payload, payload, len);
	q->count++;
	return 0;
}

/* ---- Delivery API (any thread) --------------------------------------- */

int hv_synic_post_message(struct hv *hv, unsigned int vpi, unsigned int sint,
			  uint32_t msg_type, const void *payload, uint32_t len)
{
	struct hv_vp *vp;
	int r = 0;

	if (vpi >= hv->p.nr_vcpus || sint >= HV_SYNIC_SINT_COUNT ||
	    len > HV_MESSAGE_PAYLOAD_BYTE_COUNT || msg_type == HVMSG_NONE ||
	    (len && !payload))
		return -EINVAL;
	if (!hv->f.synic)
		return -ENODEV;
	vp = &hv->vps[vpi];
	pthread_mutex_lock(&vp->lock);
	if (!hv_synic_ready(vp)) {
		r = -ENODEV;
		hv_count(&vp->stats.msg_dropped);
		goto out;
	}
	/* Keep FIFO order: behind anything already queued. */
	if (!vp->queue[sint] || !vp->queue[sint]->count) {
		if (!hv_synic_slot_write(vp, sint, msg_type, payload, len,
					 false)) {
			hv_count(&vp->stats.msg_posted);
			hv_synic_raise(vp, sint);
			goto out;
		}
	}
	r = hv_synic_queue_add(vp, sint, msg_type, payload, len);
	if (r) {
		hv_count(&vp->stats.msg_dropped);
		goto out;
	}
	hv_count(&vp->stats.msg_queued);
	/* Sets msg-pending on the busy slot (or delivers if it just freed). */
	hv_synic_queue_flush(vp, sint);
out:
	pthread_mutex_unlock(&vp->lock);
	return r;
}

int hv_synic_signal_event(struct hv *hv, unsigned int vpi, unsigned int sint,
			  unsigned int flag)
{
	struct hv_vp *vp;
	uint64_t *word, bit, old;
	int r = 0;

	if (vpi >= hv->p.nr_vcpus || sint >= HV_SYNIC_SINT_COUNT ||
	    flag >= HV_EVENT_FLAGS_COUNT)
		return -EINVAL;
	if (!hv->f.synic)
		return -ENODEV;
	vp = &hv->vps[vpi];
	pthread_mutex_lock(&vp->lock);
	if (!(vp->scontrol & HV_SYNIC_CONTROL_ENABLE) || !vp->siefp_hva) {
		r = -ENODEV;
		goto out;
	}
	word = (uint64_t *)(vp->siefp_hva + sint * HV_EVENT_FLAGS_BYTES) +
	       flag / 64;
	bit = 1ULL << (flag % 64);
	old = __atomic_fetch_or(word, bit, __ATOMIC_SEQ_CST);
	if (!(old & bit)) {
		hv_count(&vp->stats.events);
		hv_synic_raise(vp, sint);
	}
out:
	pthread_mutex_unlock(&vp->lock);
	return r;
}

/* ---- MSRs (vCPU thread, vp->lock held) -------------------------------- */

/* Map a SIMP/SIEFP value: NULL page when disabled; -EFAULT if not RAM. */
static int hv_synic_map_page(struct hv_vp *vp, uint64_t val, uint8_t **hva)
{
	uint8_t *p = NULL;

	if (val & HV_SYNIC_PAGE_RSVD)
		return -EINVAL;
	if (val & HV_MSR_ENABLE) {
		p = gmem_map(vp->hv->p.gm, val & HV_MSR_PAGE_MASK, HV_PAGE_SIZE,
			     true);
		if (!p)
			return -EFAULT;
	}
	*hva = p;
	return 0;
}

static void hv_synic_eom(struct hv_vp *vp)
{
	unsigned int s;

	hv_count(&vp->stats.eom);
	for (s = 0; s < HV_SYNIC_SINT_COUNT; s++)
		hv_synic_queue_flush(vp, s);
	hv_stimer_retry_msgs(vp);
}

static int hv_synic_sint_write(struct hv_vp *vp, unsigned int sint,
			       uint64_t val)
{
	uint64_t old = vp->sint[sint];

	if (val & ~HV_SYNIC_SINT_VALID_BITS)
		return -EINVAL;
	if (!(val & HV_SYNIC_SINT_MASKED) &&
	    (val & HV_SYNIC_SINT_VECTOR_MASK) < HV_SYNIC_FIRST_VALID_VECTOR)
		return -EINVAL;
	vp->sint[sint] = val;
	/* Unmasking with a message waiting: let the guest see it. */
	if ((old & HV_SYNIC_SINT_MASKED) && !(val & HV_SYNIC_SINT_MASKED))
		hv_synic_queue_flush(vp, sint);
	return 0;
}

int hv_synic_msr_write(struct hv_vp *vp, uint32_t msr, uint64_t val)
{
	uint8_t *hva;
	int r;

	switch (msr) {
	case HV_X64_MSR_SCONTROL:
		if (val & ~HV_SYNIC_CONTROL_ENABLE)
			return -EINVAL;
		vp->scontrol = val;
		return 0;
	case HV_X64_MSR_SVERSION:
		return -EINVAL;
	case HV_X64_MSR_SIMP:
		r = hv_synic_map_page(vp, val, &hva);
		if (r)
			return -EINVAL;
		vp->simp = val;
		vp->simp_hva = hva;
		if (!hva)
			hv_synic_queue_drop(vp);
		return 0;
	case HV_X64_MSR_SIEFP:
		r = hv_synic_map_page(vp, val, &hva);
		if (r)
			return -EINVAL;
		vp->siefp = val;
		vp->siefp_hva = hva;
		return 0;
	case HV_X64_MSR_EOM:
		hv_synic_eom(vp);
		return 0;
	default:
		if (msr >= HV_X64_MSR_SINT0 && msr <= HV_X64_MSR_SINT15)
			return hv_synic_sint_write(vp, msr - HV_X64_MSR_SINT0,
						   val);
		return -EINVAL;
	}
}

int hv_synic_msr_read(struct hv_vp *vp, uint32_t msr, uint64_t *val)
{
	switch (msr) {
	case HV_X64_MSR_SCONTROL:
		*val = vp->scontrol;
		return 0;
	case HV_X64_MSR_SVERSION:
		*val = HV_SYNIC_VERSION_1;
		return 0;
	case HV_X64_MSR_SIMP:
		*val = vp->simp;
		return 0;
	case HV_X64_MSR_SIEFP:
		*val = vp->siefp;
		return 0;
	case HV_X64_MSR_EOM:
		*val = 0;
		return 0;
	default:
		if (msr >= HV_X64_MSR_SINT0 && msr <= HV_X64_MSR_SINT15) {
			*val = vp->sint[msr - HV_X64_MSR_SINT0];
			return 0;
		}
		return -EINVAL;
	}
}

void hv_synic_reset_vp(struct hv_vp *vp)
{
	unsigned int s;

	hv_synic_queue_drop(vp);
	vp->scontrol = 0;
	vp->simp = 0;
	vp->siefp = 0;
	vp->simp_hva = NULL;
	vp->siefp_hva = NULL;
	for (s = 0; s < HV_SYNIC_SINT_COUNT; s++)
		vp->sint[s] = HV_SYNIC_SINT_RESET;
}
