// SPDX-License-Identifier: MIT
/*
 * hyperv synthetic timers: STIMER0-3 CONFIG/COUNT per VP (TLFS "Synthetic
 * Timers"), counting in partition reference time (100 ns). One-shot timers
 * expire at COUNT (absolute; a count in the past expires at once) and
 * disable themselves; periodic timers expire every COUNT units from the
 * moment they were enabled and skip missed periods instead of bunching
 * them. AutoEnable: writing a non-zero COUNT sets Enable; writing 0
 * disables. Direct mode sends a fixed MSI with the timer's vector; message
 * mode writes HVMSG_TIMER_EXPIRED into SINTx's slot and, when the slot is
 * busy, keeps the message pending until the guest's EOM. Lazy is accepted
 * and treated like an ordinary timer (delivering on time is allowed).
 *
 * Time comes from host_ops.clock_ns. A module thread sleeps until the next
 * deadline (pthread_cond_timedwait on CLOCK_MONOTONIC, woken early when a
 * timer MSR changes) and calls hv_stimer_poll(). With manual_timers the
 * thread is not started and the owner polls.
 */
#include "hvkvm/hyperv.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "hv_internal.h"
#include "hvkvm/util.h"

static unsigned int hv_stimer_sint(uint64_t config)
{
	return (unsigned int)((config & HV_STIMER_SINTX_MASK) >>
			      HV_STIMER_SINTX_SHIFT);
}

static uint8_t hv_stimer_vector(uint64_t config)
{
	return (uint8_t)((config & HV_STIMER_VECTOR_MASK) >>
			 HV_STIMER_VECTOR_SHIFT);
}

/* Enabled with a count: compute the first deadline. */
static void hv_stimer_arm(struct hv_vp *vp, struct hv_stimer *st)
{
	st->armed = false;
	if (!(st->config & HV_STIMER_ENABLE) || !st->count)
		return;
	if (st->config & HV_STIMER_PERIODIC)
		st->exp_ref = hv_ref_time(vp->hv) + st->count;
	else
		st->exp_ref = st->count;
	st->armed = true;
}

/* Try to write @st's expiry message; false if the slot is busy/absent. */
static bool hv_stimer_send_msg(struct hv_vp *vp, unsigned int idx,
			       struct hv_stimer *st, uint64_t exp,
			       uint64_t now_ref)
{
	struct hv_timer_message_payload m = {
		.timer_index = idx,
		.expiration_time = exp,
		.delivery_time = now_ref,
	};
	unsigned int sint = hv_stimer_sint(st->config);

	if (!hv_synic_ready(vp)) {
		hv_count(&vp->stats.msg_dropped);
		return true; /* nowhere to deliver: drop, don't retry */
	}
	if (hv_synic_write_slot(vp, sint, HVMSG_TIMER_EXPIRED, &m, sizeof(m)))
		return false;
	hv_count(&vp->stats.stimer_msg);
	hv_synic_raise(vp, sint);
	return true;
}

static void hv_stimer_expire(struct hv_vp *vp, unsigned int idx,
			     struct hv_stimer *st, uint64_t now_ref)
{
	uint64_t addr;
	uint32_t data;

	hv_count(&vp->stats.stimer_expired);
	if (st->config & HV_STIMER_DIRECT_MODE) {
		irq_msi_fixed(vp->apic_id, hv_stimer_vector(st->config), &addr,
			      &data);
		irq_msi(vp->hv->p.irq, addr, data);
		hv_count(&vp->stats.stimer_direct_irq);
	} else if (!st->msg_pending) {
		if (!hv_stimer_send_msg(vp, idx, st, st->exp_ref, now_ref)) {
			st->msg_pending = true;
			st->pending_exp = st->exp_ref;
			hv_count(&vp->stats.stimer_msg_deferred);
		}
	}
	/* else: an older expiry is still undelivered; coalesce. */
	if (st->config & HV_STIMER_PERIODIC) {
		uint64_t missed = (now_ref - st->exp_ref) / st->count + 1;

		st->exp_ref += missed * st->count;
	} else {
		st->config &= ~HV_STIMER_ENABLE;
		st->armed = false;
	}
}

void hv_stimer_retry_msgs(struct hv_vp *vp)
{
	uint64_t now_ref = 0;
	unsigned int i;

	for (i = 0; i < HV_SYNIC_STIMER_COUNT; i++) {
		struct hv_stimer *st = &vp->stimer[i];

		if (!st->msg_pending)
			continue;
		if (!now_ref)
			now_ref = hv_ref_time(vp->hv);
		if (hv_stimer_send_msg(vp, i, st, st->pending_exp, now_ref))
			st->msg_pending = false;
	}
}

/* ---- MSRs (vp->lock held) -------------------------------------------- */

static int hv_stimer_config_write(struct hv_vp *vp, struct hv_stimer *st,
				  uint64_t val)
{
	bool direct = val & HV_STIMER_DIRECT_MODE;

	if (val & ~HV_STIMER_VALID_BITS)
		return -EINVAL;
	if (direct && !vp->hv->f.stimer_direct)
		return -EINVAL;
	if (direct && (val & HV_STIMER_ENABLE) &&
	    hv_stimer_vector(val) < HV_SYNIC_FIRST_VALID_VECTOR)
		return -EINVAL;
	/* Message mode to SINT0 is not a valid target: stays disabled. */
	if (!direct && !hv_stimer_sint(val))
		val &= ~HV_STIMER_ENABLE;
	st->config = val;
	st->msg_pending = false;
	hv_stimer_arm(vp, st);
	return 0;
}

static int hv_stimer_count_write(struct hv_vp *vp, struct hv_stimer *st,
				 uint64_t val)
{
	bool direct = st->config & HV_STIMER_DIRECT_MODE;

	st->count = val;
	st->msg_pending = false;
	if (!val)
		st->config &= ~HV_STIMER_ENABLE;
	else if ((st->config & HV_STIMER_AUTO_ENABLE) &&
		 (direct || hv_stimer_sint(st->config)))
		st->config |= HV_STIMER_ENABLE;
	hv_stimer_arm(vp, st);
	return 0;
}

int hv_stimer_msr_write(struct hv_vp *vp, uint32_t msr, uint64_t val)
{
	unsigned int off = msr - HV_X64_MSR_STIMER0_CONFIG;
	struct hv_stimer *st = &vp->stimer[off / 2];

	if (off & 1)
		return hv_stimer_count_write(vp, st, val);
	return hv_stimer_config_write(vp, st, val);
}

int hv_stimer_msr_read(struct hv_vp *vp, uint32_t msr, uint64_t *val)
{
	unsigned int off = msr - HV_X64_MSR_STIMER0_CONFIG;
	struct hv_stimer *st = &vp->stimer[off / 2];

	*val = (off & 1) ? st->count : st->config;
	return 0;
}

/* ---- Expiry ---------------------------------------------------------- */

static uint64_t hv_ref_to_ns(struct hv *hv, uint64_t ref)
{
	uint64_t start = __atomic_load_n(&hv->start_ns, __ATOMIC_RELAXED);

	if (ref > (UINT64_MAX - start) / 100)
		return UINT64_MAX;
	return start + ref * 100;
}

uint64_t hv_stimer_poll(struct hv *hv, uint64_t now_ns)
{
	uint64_t now_ref = hv_ref_time_at(hv, now_ns), next = UINT64_MAX;
	unsigned int v, i;

	if (!hv->f.stimer)
		return UINT64_MAX;
	for (v = 0; v < hv->p.nr_vcpus; v++) {
		struct hv_vp *vp = &hv->vps[v];

		pthread_mutex_lock(&vp->lock);
		for (i = 0; i < HV_SYNIC_STIMER_COUNT; i++) {
			struct hv_stimer *st = &vp->stimer[i];

			if (st->armed && st->exp_ref <= now_ref)
				hv_stimer_expire(vp, i, st, now_ref);
			if (st->armed)
				next = MIN(next, hv_ref_to_ns(hv, st->exp_ref));
		}
		pthread_mutex_unlock(&vp->lock);
	}
	return next;
}

/* ---- Timer thread ---------------------------------------------------- */

void hv_stimer_kick(struct hv *hv)
{
	if (!hv->tmr_running)
		return;
	pthread_mutex_lock(&hv->tmr_lock);
	hv->tmr_kicked = true;
	pthread_cond_signal(&hv->tmr_cond);
	pthread_mutex_unlock(&hv->tmr_lock);
}

static void *hv_stimer_thread(void *arg)
{
	struct hv *hv = arg;
	struct timespec ts;
	uint64_t next, now, wait;

	pthread_mutex_lock(&hv->tmr_lock);
	while (!hv->tmr_stop) {
		hv->tmr_kicked = false;
		pthread_mutex_unlock(&hv->tmr_lock);
		next = hv_stimer_poll(hv, hv_clock_ns(hv));
		pthread_mutex_lock(&hv->tmr_lock);
		if (hv->tmr_kicked || hv->tmr_stop)
			continue;
		if (next == UINT64_MAX) {
			pthread_cond_wait(&hv->tmr_cond, &hv->tmr_lock);
			continue;
		}
		now = hv_clock_ns(hv);
		if (next <= now)
			continue;
		wait = MIN(next - now, 10ULL * 1000 * 1000 * 1000);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		wait += (uint64_t)ts.tv_nsec;
		ts.tv_sec += (time_t)(wait / 1000000000ULL);
		ts.tv_nsec = (long)(wait % 1000000000ULL);
		pthread_cond_timedwait(&hv->tmr_cond, &hv->tmr_lock, &ts);
	}
	pthread_mutex_unlock(&hv->tmr_lock);
	return NULL;
}

int hv_stimer_start_thread(struct hv *hv)
{
	pthread_condattr_t attr;
	int r;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&hv->tmr_cond, &attr);
	pthread_condattr_destroy(&attr);
	hv->tmr_stop = false;
	r = pthread_create(&hv->tmr_thread, NULL, hv_stimer_thread, hv);
	if (r) {
		pthread_cond_destroy(&hv->tmr_cond);
		return -r;
	}
	pthread_setname_np(hv->tmr_thread, "hv-stimer");
	hv->tmr_running = true;
	return 0;
}

void hv_stimer_stop_thread(struct hv *hv)
{
	if (!hv->tmr_running)
		return;
	pthread_mutex_lock(&hv->tmr_lock);
	hv->tmr_stop = true;
	pthread_cond_signal(&hv->tmr_cond);
	pthread_mutex_unlock(&hv->tmr_lock);
	pthread_join(hv->tmr_thread, NULL);
	pthread_cond_destroy(&hv->tmr_cond);
	hv->tmr_running = false;
}
