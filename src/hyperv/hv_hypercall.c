// SPDX-License-Identifier: MIT
/*
 * hyperv hypercalls (TLFS "Hypercall Interface"): decode the input value,
 * fetch the input parameters (registers for fast calls, a guest page for
 * memory calls), run the call and encode the result value with its
 * reps-completed count. Both calling conventions:
 *   64-bit: RCX = input value, RDX = input GPA / fast input 0,
 *           R8 = output GPA / fast input 1, result in RAX;
 *   32-bit: EDX:EAX = input value, EBX:ECX = input GPA, EDI:ESI = output
 *           GPA, result in EDX:EAX.
 * Memory parameter lists must be 8-byte aligned and must not cross a page
 * (HV_STATUS_INVALID_ALIGNMENT) and must be guest RAM
 * (HV_STATUS_INVALID_PARAMETER).
 *
 * Implemented: HvNotifyLongSpinWait, HvPostMessage, HvSignalEvent (when
 * SynIC is on), HvGetVpRegisters (rep; calling VP only, a few synthetic
 * registers; not advertised: AccessVpRegisters stays clear). Everything
 * else, including the TLB-flush and IPI calls, is
 * HV_STATUS_INVALID_HYPERCALL_CODE. XMM fast calls are not advertised.
 */
#include "hvkvm/hyperv.h"

#include <errno.h>
#include <string.h>

#include "hv_internal.h"
#include "hvkvm/util.h"

/* One decoded call. */
struct hv_call {
	uint16_t code;
	bool fast;
	unsigned int varhead; /* 8-byte units */
	unsigned int rep_count;
	unsigned int rep_start;
	const uint8_t *in; /* input parameters (host copy) */
	uint32_t in_len;
	uint8_t *out; /* output parameters (guest RAM) or NULL */
	uint32_t out_len;
	unsigned int reps_done; /* rep calls: completed reps */
};

struct hv_call_desc {
	uint16_t code;
	enum hv_call_stat stat;
	bool rep;	   /* rep call */
	bool fast_ok;	   /* may be called fast */
	bool slow_ok;	   /* may be called with memory input */
	uint32_t in_size;  /* fixed input header */
	uint32_t in_rep;   /* input bytes per rep */
	uint32_t out_size; /* fixed output */
	uint32_t out_rep;  /* output bytes per rep */
	uint16_t (*fn)(struct hv *hv, struct hv_vp *vp, struct hv_call *c);
	bool (*enabled)(const struct hv_feat *f);
};

/* ---- Calls ----------------------------------------------------------- */

static uint16_t hv_call_spin_wait(struct hv *hv, struct hv_vp *vp,
				  struct hv_call *c)
{
	if (hv->p.host.yield)
		hv->p.host.yield(hv->p.host.opaque, vp->index);
	return HV_STATUS_SUCCESS;
}

static uint16_t hv_call_post_message(struct hv *hv, struct hv_vp *vp,
				     struct hv_call *c)
{
	uint32_t conn = get_le32(c->in + HV_POST_MESSAGE_CONNECTION_ID);
	uint32_t type = get_le32(c->in + HV_POST_MESSAGE_TYPE);
	uint32_t len = get_le32(c->in + HV_POST_MESSAGE_PAYLOAD_SIZE);
	uint16_t status;

	if (len > HV_MESSAGE_PAYLOAD_BYTE_COUNT || !type ||
	    (type & HVMSG_HYPERVISOR_BIT))
		return HV_STATUS_INVALID_PARAMETER;
	if (hv_handler_post(hv, vp->index, conn & HV_CONNECTION_ID_MASK, type,
			    c->in + HV_POST_MESSAGE_PAYLOAD, len, &status))
		return HV_STATUS_INVALID_CONNECTION_ID;
	return status;
}

/* HvSignalEvent after decoding, both for the hypercall and the port. */
static uint16_t hv_do_signal_event(struct hv *hv, unsigned int vp,
				   uint32_t conn, uint16_t flag)
{
	if (conn & ~HV_CONNECTION_ID_MASK)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (flag >= HV_EVENT_FLAGS_COUNT)
		return HV_STATUS_INVALID_PARAMETER;
	if (hv_handler_signal(hv, vp, conn, flag))
		return HV_STATUS_INVALID_CONNECTION_ID;
	return HV_STATUS_SUCCESS;
}

static uint16_t hv_call_signal_event(struct hv *hv, struct hv_vp *vp,
				     struct hv_call *c)
{
	uint64_t in = get_le64(c->in);

	if (in >> 48)
		return HV_STATUS_INVALID_HYPERCALL_INPUT; /* RsvdZ */
	return hv_do_signal_event(hv, vp->index, (uint32_t)in,
				  (uint16_t)(in >> 32));
}

/* Value of register @name of the calling VP; false if unknown. */
static bool hv_vp_register(struct hv *hv, struct hv_vp *vp, uint32_t name,
			   uint64_t *val)
{
	uint32_t msr;

	switch (name) {
	case HV_REGISTER_VP_RUNTIME:
		msr = HV_X64_MSR_VP_RUNTIME;
		break;
	case HV_REGISTER_HYPERCALL:
		msr = HV_X64_MSR_HYPERCALL;
		break;
	case HV_REGISTER_GUEST_OS_ID:
		msr = HV_X64_MSR_GUEST_OS_ID;
		break;
	case HV_REGISTER_VP_INDEX:
		msr = HV_X64_MSR_VP_INDEX;
		break;
	case HV_REGISTER_TIME_REF_COUNT:
		msr = HV_X64_MSR_TIME_REF_COUNT;
		break;
	default:
		return false;
	}
	return hv_msr_read(hv, vp->index, msr, val) == 0;
}

static uint16_t hv_call_get_vp_registers(struct hv *hv, struct hv_vp *vp,
					 struct hv_call *c)
{
	uint64_t part = get_le64(c->in);
	uint32_t vpi = get_le32(c->in + 8);
	unsigned int i;
	uint64_t val;

	if (part != HV_PARTITION_ID_SELF)
		return HV_STATUS_INVALID_PARTITION_ID;
	if (vpi != HV_VP_INDEX_SELF && vpi != vp->index)
		return vpi < hv->p.nr_vcpus ? HV_STATUS_ACCESS_DENIED :
					      HV_STATUS_INVALID_VP_INDEX;
	if (c->in[12] || c->in[13] || c->in[14] || c->in[15])
		return HV_STATUS_INVALID_PARAMETER; /* VTL / RsvdZ */
	for (i = c->rep_start; i < c->rep_count; i++) {
		const uint8_t *name = c->in + HV_GET_VP_REGISTERS_HDR_SIZE +
				      c->varhead * 8 +
				      i * HV_GET_VP_REGISTERS_NAME_SIZE;
		uint8_t *out = c->out + i * HV_GET_VP_REGISTERS_VALUE_SIZE;

		if (!hv_vp_register(hv, vp, get_le32(name), &val))
			return HV_STATUS_INVALID_PARAMETER;
		put_le64(out, val);
		put_le64(out + 8, 0);
		c->reps_done = i + 1;
	}
	return HV_STATUS_SUCCESS;
}

static bool hv_feat_always(const struct hv_feat *f)
{
	return true;
}

static bool hv_feat_synic(const struct hv_feat *f)
{
	return f->synic;
}

static const struct hv_call_desc hv_calls[] = {
	{ .code = HVCALL_NOTIFY_LONG_SPIN_WAIT,
	  .stat = HV_CALL_STAT_SPIN_WAIT,
	  .fast_ok = true,
	  .slow_ok = true,
	  .in_size = 8,
	  .fn = hv_call_spin_wait,
	  .enabled = hv_feat_always },
	{ .code = HVCALL_GET_VP_REGISTERS,
	  .stat = HV_CALL_STAT_GET_VP_REGISTERS,
	  .rep = true,
	  .slow_ok = true,
	  .in_size = HV_GET_VP_REGISTERS_HDR_SIZE,
	  .in_rep = HV_GET_VP_REGISTERS_NAME_SIZE,
	  .out_rep = HV_GET_VP_REGISTERS_VALUE_SIZE,
	  .fn = hv_call_get_vp_registers,
	  .enabled = hv_feat_always },
	{ .code = HVCALL_POST_MESSAGE,
	  .stat = HV_CALL_STAT_POST_MESSAGE,
	  .slow_ok = true,
	  .in_size = HV_POST_MESSAGE_INPUT_SIZE,
	  .fn = hv_call_post_message,
	  .enabled = hv_feat_synic },
	{ .code = HVCALL_SIGNAL_EVENT,
	  .stat = HV_CALL_STAT_SIGNAL_EVENT,
	  .fast_ok = true,
	  .slow_ok = true,
	  .in_size = HV_SIGNAL_EVENT_INPUT_SIZE,
	  .fn = hv_call_signal_event,
	  .enabled = hv_feat_synic },
};

/* ---- Decoding -------------------------------------------------------- */

static const struct hv_call_desc *hv_call_lookup(struct hv *hv, uint16_t code)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hv_calls); i++) {
		if (hv_calls[i].code == code)
			return hv_calls[i].enabled(&hv->f) ? &hv_calls[i] :
							     NULL;
	}
	return NULL;
}

/* Check a memory parameter list: 0 or an HV_STATUS. */
static uint16_t hv_check_list(struct hv *hv, uint64_t gpa, uint32_t len,
			      bool write, uint8_t **hva)
{
	if (gpa & 7)
		return HV_STATUS_INVALID_ALIGNMENT;
	if ((gpa & (HV_PAGE_SIZE - 1)) + len > HV_PAGE_SIZE)
		return HV_STATUS_INVALID_ALIGNMENT;
	*hva = gmem_map(hv->p.gm, gpa, len, write);
	if (!*hva)
		return HV_STATUS_INVALID_PARAMETER;
	return HV_STATUS_SUCCESS;
}

static uint16_t hv_hypercall_run(struct hv *hv, struct hv_vp *vp,
				 uint64_t control, uint64_t in_gpa,
				 uint64_t out_gpa, unsigned int *reps_done,
				 enum hv_call_stat *stat)
{
	uint8_t inbuf[HV_PAGE_SIZE];
	const struct hv_call_desc *d;
	struct hv_call c = {
		.code = (uint16_t)(control & HV_HYPERCALL_CODE_MASK),
		.fast = control & HV_HYPERCALL_FAST_BIT,
		.varhead =
			(unsigned int)((control & HV_HYPERCALL_VARHEAD_MASK) >>
				       HV_HYPERCALL_VARHEAD_SHIFT),
		.rep_count = (unsigned int)((control &
					     HV_HYPERCALL_REP_COUNT_MASK) >>
					    HV_HYPERCALL_REP_COUNT_SHIFT),
		.rep_start = (unsigned int)((control &
					     HV_HYPERCALL_REP_START_MASK) >>
					    HV_HYPERCALL_REP_START_SHIFT),
	};
	uint8_t *hva;
	uint16_t st;

	d = hv_call_lookup(hv, c.code);
	*stat = d ? d->stat : HV_CALL_STAT_OTHER;
	if (!d)
		return HV_STATUS_INVALID_HYPERCALL_CODE;
	if (control & HV_HYPERCALL_RSVD_MASK)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (!d->rep && (c.rep_count || c.rep_start))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (d->rep && c.rep_start > c.rep_count)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (c.fast ? !d->fast_ok : !d->slow_ok)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	c.reps_done = c.rep_start;
	c.in_len = d->in_size + c.varhead * 8 + c.rep_count * d->in_rep;
	c.out_len = d->out_size + c.rep_count * d->out_rep;
	if (c.fast) {
		/* Two registers of input, no output. */
		if (c.in_len > 16 || c.out_len)
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		memset(inbuf, 0, 16);
		put_le64(inbuf, in_gpa);
		put_le64(inbuf + 8, out_gpa);
		c.in = inbuf;
	} else {
		if (c.in_len > HV_PAGE_SIZE || c.out_len > HV_PAGE_SIZE)
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		if (c.in_len) {
			st = hv_check_list(hv, in_gpa, c.in_len, false, &hva);
			if (st)
				return st;
			/* Private copy: the guest may change it under us. */
			memcpy(inbuf, hva, c.in_len);
			c.in = inbuf;
		}
		if (c.out_len) {
			st = hv_check_list(hv, out_gpa, c.out_len, true,
					   &c.out);
			if (st)
				return st;
		}
	}
	st = d->fn(hv, vp, &c);
	*reps_done = d->rep ? (st ? c.reps_done : c.rep_count) : 0;
	return st;
}

/* Count one call on @vp's counters. */
static void hv_call_count(struct hv_vp *vp, enum hv_call_stat stat, uint16_t st)
{
	hv_count(&vp->stats.hypercall[stat]);
	if (st)
		hv_count(&vp->stats.hypercall_err);
}

uint16_t hv_signal_event(struct hv *hv, unsigned int vpi, uint32_t conn,
			 uint16_t flag)
{
	uint16_t st;

	if (vpi >= hv->p.nr_vcpus)
		return HV_STATUS_INVALID_VP_INDEX;
	st = hv_call_lookup(hv, HVCALL_SIGNAL_EVENT) ?
		     hv_do_signal_event(hv, vpi, conn, flag) :
		     HV_STATUS_INVALID_HYPERCALL_CODE;
	hv_call_count(&hv->vps[vpi], HV_CALL_STAT_SIGNAL_EVENT, st);
	return st;
}

int hv_hypercall(struct hv *hv, unsigned int vpi,
		 struct hv_hypercall_regs *regs)
{
	uint64_t control, in_gpa, out_gpa, result;
	enum hv_call_stat stat = HV_CALL_STAT_OTHER;
	unsigned int reps = 0;
	struct hv_vp *vp;
	uint16_t st;

	if (!hv->f.enabled || vpi >= hv->p.nr_vcpus || regs->cpl ||
	    !hv_hypercall_enabled(hv))
		return -EPERM;
	vp = &hv->vps[vpi];
	if (regs->long_mode) {
		control = regs->rcx;
		in_gpa = regs->rdx;
		out_gpa = regs->r8;
	} else {
		control = (regs->rdx << 32) | (uint32_t)regs->rax;
		in_gpa = (regs->rbx << 32) | (uint32_t)regs->rcx;
		out_gpa = (regs->rdi << 32) | (uint32_t)regs->rsi;
	}
	st = hv_hypercall_run(hv, vp, control, in_gpa, out_gpa, &reps, &stat);
	hv_call_count(vp, stat, st);
	result = st | (uint64_t)reps << HV_HYPERCALL_REP_COMP_SHIFT;
	if (regs->long_mode) {
		regs->rax = result;
	} else {
		regs->rax = (uint32_t)result;
		regs->rdx = result >> 32;
	}
	return 0;
}
