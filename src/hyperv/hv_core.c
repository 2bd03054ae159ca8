// SPDX-License-Identifier: MIT
/*
 * hyperv core: the partition object (create/reset/destroy), the reference
 * clock, the connection-ID handler tables used by HvPostMessage and
 * HvSignalEvent, and the counters. TLFS chapters "Partition Properties",
 * "Inter-Partition Communication" (connections), "Timers" (reference
 * counter).
 */
#include "hvkvm/hyperv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_internal.h"
#include "hvkvm/util.h"

/* ---- Clock ---------------------------------------------------------- */

uint64_t hv_clock_ns(struct hv *hv)
{
	if (hv->p.host.clock_ns)
		return hv->p.host.clock_ns(hv->p.host.opaque);
	return time_now_ns();
}

uint64_t hv_ref_time_at(struct hv *hv, uint64_t ns)
{
	uint64_t start = __atomic_load_n(&hv->start_ns, __ATOMIC_RELAXED);

	if (ns <= start)
		return 0;
	return (ns - start) / 100;
}

uint64_t hv_ref_time(struct hv *hv)
{
	return hv_ref_time_at(hv, hv_clock_ns(hv));
}

bool hv_hypercall_enabled(struct hv *hv)
{
	return __atomic_load_n(&hv->hypercall, __ATOMIC_ACQUIRE) &
	       HV_MSR_ENABLE;
}

/* ---- Connection-ID handlers ------------------------------------------ */

/* Index of @conn in the sorted table, or where it would go (*found=false). */
static unsigned int hv_handler_find(struct hv *hv, uint32_t conn, bool *found)
{
	unsigned int lo = 0, hi = hv->nr_handlers;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (hv->handlers[mid].connection_id == conn) {
			*found = true;
			return mid;
		}
		if (hv->handlers[mid].connection_id < conn)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int hv_handler_add(struct hv *hv, uint32_t conn, hv_post_message_fn mfn,
			  hv_signal_event_fn efn, void *opaque)
{
	struct hv_handler *h;
	unsigned int pos;
	bool found;
	int r = 0;

	if (conn & ~HV_CONNECTION_ID_MASK)
		return -EINVAL;
	pthread_rwlock_wrlock(&hv->handlers_lock);
	pos = hv_handler_find(hv, conn, &found);
	if (found) {
		h = &hv->handlers[pos];
		if ((mfn && h->msg_fn) || (efn && h->evt_fn)) {
			r = -EEXIST;
			goto out;
		}
		if (mfn) {
			h->msg_fn = mfn;
			h->msg_opaque = opaque;
		} else {
			h->evt_fn = efn;
			h->evt_opaque = opaque;
		}
		goto out;
	}
	if (hv->nr_handlers == hv->cap_handlers) {
		unsigned int cap = hv->cap_handlers ? hv->cap_handlers * 2 : 16;

		h = realloc(hv->handlers, cap * sizeof(*h));
		if (!h) {
			r = -ENOMEM;
			goto out;
		}
		hv->handlers = h;
		hv->cap_handlers = cap;
	}
	memmove(&hv->handlers[pos + 1], &hv->handlers[pos],
		(hv->nr_handlers - pos) * sizeof(*hv->handlers));
	hv->handlers[pos] = (struct hv_handler){
		.connection_id = conn, .msg_fn = mfn, .evt_fn = efn,
		.msg_opaque = mfn ? opaque : NULL,
		.evt_opaque = efn ? opaque : NULL,
	};
	hv->nr_handlers++;
out:
	pthread_rwlock_unlock(&hv->handlers_lock);
	return r;
}

static int hv_handler_remove(struct hv *hv, uint32_t conn, bool msg)
{
	struct hv_handler *h;
	unsigned int pos;
	bool found;
	int r = 0;

	pthread_rwlock_wrlock(&hv->handlers_lock);
	pos = hv_handler_find(hv, conn, &found);
	h = found ? &hv->handlers[pos] : NULL;
	if (!h || (msg ? !h->msg_fn : !h->evt_fn)) {
		r = -ENOENT;
		goto out;
	}
	if (msg)
		h->msg_fn = NULL;
	else
		h->evt_fn = NULL;
	if (!h->msg_fn && !h->evt_fn) {
		memmove(h, h + 1, (hv->nr_handlers - pos - 1) * sizeof(*h));
		hv->nr_handlers--;
	}
out:
	pthread_rwlock_unlock(&hv->handlers_lock);
	return r;
}

int hv_register_message_handler(struct hv *hv, uint32_t connection_id,
				hv_post_message_fn fn, void *opaque)
{
	if (!fn)
		return -EINVAL;
	return hv_handler_add(hv, connection_id, fn, NULL, opaque);
}

int hv_register_event_handler(struct hv *hv, uint32_t connection_id,
			      hv_signal_event_fn fn, void *opaque)
{
	if (!fn)
		return -EINVAL;
	return hv_handler_add(hv, connection_id, NULL, fn, opaque);
}

int hv_unregister_event_handler(struct hv *hv, uint32_t connection_id)
{
	return hv_handler_remove(hv, connection_id, false);
}

int hv_unregister_message_handler(struct hv *hv, uint32_t connection_id)
{
	return hv_handler_remove(hv, connection_id, true);
}

/*
 * Dispatch HvPostMessage to the handler of @conn. The read lock is held
 * across the call, so a handler must not (un)register handlers itself.
 * 0 with *status from the handler, or -ENOENT.
 */
int hv_handler_post(struct hv *hv, unsigned int vp, uint32_t conn,
		    uint32_t type, const void *payload, uint32_t len,
		    uint16_t *status)
{
	unsigned int pos;
	bool found;
	int r = -ENOENT;

	pthread_rwlock_rdlock(&hv->handlers_lock);
	pos = hv_handler_find(hv, conn, &found);
	if (found && hv->handlers[pos].msg_fn) {
		*status = hv->handlers[pos].msg_fn(hv->handlers[pos].msg_opaque,
						   vp, type, payload, len);
		r = 0;
	}
	pthread_rwlock_unlock(&hv->handlers_lock);
	return r;
}

int hv_handler_signal(struct hv *hv, unsigned int vp, uint32_t conn,
		      uint16_t flag)
{
	unsigned int pos;
	bool found;
	int r = -ENOENT;

	pthread_rwlock_rdlock(&hv->handlers_lock);
	pos = hv_handler_find(hv, conn, &found);
	if (found && hv->handlers[pos].evt_fn) {
		hv->handlers[pos].evt_fn(hv->handlers[pos].evt_opaque, vp,
					 flag);
		r = 0;
	}
	pthread_rwlock_unlock(&hv->handlers_lock);
	return r;
}

/* ---- Lifecycle ------------------------------------------------------- */

static void hv_reset_vp(struct hv_vp *vp)
{
	pthread_mutex_lock(&vp->lock);
	hv_synic_reset_vp(vp);
	memset(vp->stimer, 0, sizeof(vp->stimer));
	vp->vp_assist = 0;
	pthread_mutex_unlock(&vp->lock);
}

void hv_reset(struct hv *hv)
{
	unsigned int i;

	pthread_mutex_lock(&hv->lock);
	hv->guest_os_id = 0;
	__atomic_store_n(&hv->hypercall, 0, __ATOMIC_RELEASE);
	hv->ref_tsc = 0;
	hv->tsc_seq = 0;
	memset(hv->crash_p, 0, sizeof(hv->crash_p));
	hv->crash_ctl = 0;
	hv->tsc_inv_ctl = 0;
	__atomic_store_n(&hv->start_ns, hv_clock_ns(hv), __ATOMIC_RELAXED);
	pthread_mutex_unlock(&hv->lock);
	for (i = 0; i < hv->p.nr_vcpus; i++)
		hv_reset_vp(&hv->vps[i]);
	hv_stimer_kick(hv);
}

int hv_create(const struct hv_params *p, struct hv **out)
{
	struct hv *hv;
	unsigned int i;
	long ncpu;
	int r;

	if (!p || !p->cfg || !p->gm || !p->irq || !p->nr_vcpus ||
	    !p->apic_ids || p->nr_vcpus > 4096)
		return -EINVAL;
	hv = calloc(1, sizeof(*hv));
	if (!hv)
		return -ENOMEM;
	hv->p = *p;
	hv->cfg = *p->cfg;
	hv->p.cfg = &hv->cfg;
	ncpu = sysconf(_SC_NPROCESSORS_CONF);
	hv->host_cpus = ncpu > 0 ? (uint32_t)ncpu : 1;
	hv_feat_compute(hv);
	hv->vps = calloc(p->nr_vcpus, sizeof(*hv->vps));
	if (!hv->vps) {
		r = -ENOMEM;
		goto err_free;
	}
	pthread_mutex_init(&hv->lock, NULL);
	pthread_rwlock_init(&hv->handlers_lock, NULL);
	pthread_mutex_init(&hv->tmr_lock, NULL);
	for (i = 0; i < p->nr_vcpus; i++) {
		struct hv_vp *vp = &hv->vps[i];

		vp->hv = hv;
		vp->index = i;
		vp->apic_id = p->apic_ids[i];
		pthread_mutex_init(&vp->lock, NULL);
		hv_synic_reset_vp(vp);
	}
	hv->start_ns = hv_clock_ns(hv);
	if (hv->f.stimer && !p->manual_timers) {
		r = hv_stimer_start_thread(hv);
		if (r)
			goto err_vps;
	}
	*out = hv;
	return 0;

err_vps:
	for (i = 0; i < p->nr_vcpus; i++)
		pthread_mutex_destroy(&hv->vps[i].lock);
	free(hv->vps);
err_free:
	free(hv);
	return r;
}

void hv_destroy(struct hv *hv)
{
	unsigned int i, s;

	if (!hv)
		return;
	hv_stimer_stop_thread(hv);
	for (i = 0; i < hv->p.nr_vcpus; i++) {
		for (s = 0; s < HV_SYNIC_SINT_COUNT; s++)
			free(hv->vps[i].queue[s]);
		pthread_mutex_destroy(&hv->vps[i].lock);
	}
	free(hv->vps);
	free(hv->handlers);
	pthread_rwlock_destroy(&hv->handlers_lock);
	pthread_mutex_destroy(&hv->lock);
	pthread_mutex_destroy(&hv->tmr_lock);
	free(hv);
}

/* ---- Counters -------------------------------------------------------- */

static uint64_t hv_ld(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void hv_stats_print_vp(struct hv_vp *vp, FILE *f)
{
	static const char *const call_names[HV_CALL_STATS] = {
		"NotifyLongSpinWait", "GetVpRegisters", "PostMessage",
		"SignalEvent", "other",
	};
	struct hv_vp_stats *s = &vp->stats;
	char name[32];
	int i;

	fprintf(f, "hyperv: vp%u:", vp->index);
	for (i = 0; i < HV_MSR_STATS; i++) {
		if (!hv_ld(&s->msr_read[i]) && !hv_ld(&s->msr_write[i]))
			continue;
		fprintf(f, " %s=%" PRIu64 "r/%" PRIu64 "w",
			hv_msr_stat_name(i, name, sizeof(name)),
			hv_ld(&s->msr_read[i]), hv_ld(&s->msr_write[i]));
	}
	fprintf(f, " gp=%" PRIu64 "\n", hv_ld(&s->msr_gp));
	fprintf(f, "hyperv: vp%u: hypercalls:", vp->index);
	for (i = 0; i < HV_CALL_STATS; i++)
		fprintf(f, " %s=%" PRIu64, call_names[i],
			hv_ld(&s->hypercall[i]));
	fprintf(f, " errors=%" PRIu64 "\n", hv_ld(&s->hypercall_err));
	fprintf(f,
		"hyperv: vp%u: synic: posted=%" PRIu64 " queued=%" PRIu64
		" dropped=%" PRIu64 " redelivered=%" PRIu64 " eom=%" PRIu64
		" events=%" PRIu64 " irqs=%" PRIu64 "\n",
		vp->index, hv_ld(&s->msg_posted), hv_ld(&s->msg_queued),
		hv_ld(&s->msg_dropped), hv_ld(&s->msg_redelivered),
		hv_ld(&s->eom), hv_ld(&s->events), hv_ld(&s->sint_irq));
	fprintf(f,
		"hyperv: vp%u: stimer: expired=%" PRIu64 " direct=%" PRIu64
		" msgs=%" PRIu64 " deferred=%" PRIu64 "\n",
		vp->index, hv_ld(&s->stimer_expired),
		hv_ld(&s->stimer_direct_irq), hv_ld(&s->stimer_msg),
		hv_ld(&s->stimer_msg_deferred));
}

void hv_stats_print(struct hv *hv, FILE *f)
{
	unsigned int i;

	fprintf(f,
		"hyperv: features: relaxed=%d vpindex=%d runtime=%d synic=%d "
		"stimer=%d direct=%d reset=%d freq=%d timeref=%d tscpage=%d "
		"crash=%d\n",
		hv->f.relaxed, hv->f.vpindex, hv->f.runtime, hv->f.synic,
		hv->f.stimer, hv->f.stimer_direct, hv->f.reset,
		hv->f.frequencies, hv->f.time_ref, hv->f.tsc_page, hv->f.crash);
	for (i = 0; i < hv->p.nr_vcpus; i++)
		hv_stats_print_vp(&hv->vps[i], f);
}
