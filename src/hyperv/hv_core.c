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
#include <stddef.h>
#include <stdio.h>
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

uint64_t hv_reference_time(struct hv *hv)
{
	return hv_ref_time(hv);
}

bool hv_reference_time_available(struct hv *hv)
{
	return hv->f.time_ref;
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
		.connection_id = conn,
		.msg_fn = mfn,
		.evt_fn = efn,
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

/* Names of enum hv_call_stat in counter paths (the TLFS call names). */
static const char *const hv_call_names[HV_CALL_STATS] = {
	[HV_CALL_STAT_SPIN_WAIT] = "NotifyLongSpinWait",
	[HV_CALL_STAT_GET_VP_REGISTERS] = "GetVpRegisters",
	[HV_CALL_STAT_POST_MESSAGE] = "PostMessage",
	[HV_CALL_STAT_SIGNAL_EVENT] = "SignalEvent",
	[HV_CALL_STAT_OTHER] = "other",
};

struct hv_stat_field {
	const char *name; /* path below hyperv.vpN. */
	size_t off;	  /* uint64_t in struct hv_vp_stats */
};

#define HV_STAT(name, field)                              \
	{                                                 \
		name, offsetof(struct hv_vp_stats, field) \
	}
static const struct hv_stat_field hv_stat_fields[] = {
	HV_STAT("msr_gp", msr_gp),
	HV_STAT("hypercall_errors", hypercall_err),
	HV_STAT("synic.posted", msg_posted),
	HV_STAT("synic.queued", msg_queued),
	HV_STAT("synic.dropped", msg_dropped),
	HV_STAT("synic.redelivered", msg_redelivered),
	HV_STAT("synic.eom", eom),
	HV_STAT("synic.events", events),
	HV_STAT("synic.irqs", sint_irq),
	HV_STAT("stimer.expired", stimer_expired),
	HV_STAT("stimer.direct_irqs", stimer_direct_irq),
	HV_STAT("stimer.messages", stimer_msg),
	HV_STAT("stimer.deferred", stimer_msg_deferred),
	HV_STAT("idle.entries", idle_entries),
	HV_STAT("idle.time_ns", idle_ns),
};
#undef HV_STAT

static void hv_stats_vp(struct hv_vp *vp, hv_stats_fn fn, void *opaque)
{
	const struct hv_vp_stats *s = &vp->stats;
	char path[96], name[32];
	unsigned int i;
	uint64_t r, w;

	for (i = 0; i < HV_MSR_STATS; i++) {
		r = hv_ld(&s->msr_read[i]);
		w = hv_ld(&s->msr_write[i]);
		if (!r && !w)
			continue;
		hv_msr_stat_name((int)i, name, sizeof(name));
		snprintf(path, sizeof(path), "hyperv.vp%u.msr.%s.reads",
			 vp->index, name);
		fn(opaque, path, r);
		snprintf(path, sizeof(path), "hyperv.vp%u.msr.%s.writes",
			 vp->index, name);
		fn(opaque, path, w);
	}
	for (i = 0; i < HV_CALL_STATS; i++) {
		snprintf(path, sizeof(path), "hyperv.vp%u.hypercalls.%s",
			 vp->index, hv_call_names[i]);
		fn(opaque, path, hv_ld(&s->hypercall[i]));
	}
	for (i = 0; i < ARRAY_SIZE(hv_stat_fields); i++) {
		snprintf(path, sizeof(path), "hyperv.vp%u.%s", vp->index,
			 hv_stat_fields[i].name);
		fn(opaque, path,
		   hv_ld((const uint64_t *)((const char *)s +
					    hv_stat_fields[i].off)));
	}
}

void hv_stats_foreach(struct hv *hv, hv_stats_fn fn, void *opaque)
{
	unsigned int i;

	for (i = 0; i < hv->p.nr_vcpus; i++)
		hv_stats_vp(&hv->vps[i], fn, opaque);
}

/*
 * hv_stats_print() over the same enumeration: one line per VP and group
 * ("hyperv: vp0 synic: posted=3 queued=0 ..."), groups in foreach order.
 */
struct hv_stats_printer {
	FILE *f;
	char group[48]; /* "vp0 synic" of the line being printed */
};

static void hv_stats_print_one(void *opaque, const char *path, uint64_t value)
{
	struct hv_stats_printer *pr = opaque;
	const char *vp = path + strlen("hyperv."), *grp, *rest;
	char group[48];

	grp = strchr(vp, '.');
	if (!grp)
		return;
	rest = strchr(grp + 1, '.');
	if (rest) /* "vp0.synic.posted": group "vp0 synic" */
		snprintf(group, sizeof(group), "%.*s %.*s", (int)(grp - vp), vp,
			 (int)(rest - grp - 1), grp + 1);
	else /* "vp0.msr_gp": a counter of the VP itself */
		snprintf(group, sizeof(group), "%.*s", (int)(grp - vp), vp);
	if (!rest)
		rest = grp;
	if (strcmp(group, pr->group)) {
		fprintf(pr->f, "%shyperv: %s:", pr->group[0] ? "\n" : "",
			group);
		snprintf(pr->group, sizeof(pr->group), "%s", group);
	}
	fprintf(pr->f, " %s=%" PRIu64, rest + 1, value);
}

void hv_stats_print(struct hv *hv, FILE *f)
{
	struct hv_stats_printer pr = { .f = f };

	fprintf(f,
		"hyperv: features: relaxed=%d vpindex=%d runtime=%d synic=%d "
		"stimer=%d direct=%d reset=%d freq=%d timeref=%d tscpage=%d "
		"crash=%d idle=%d\n",
		hv->f.relaxed, hv->f.vpindex, hv->f.runtime, hv->f.synic,
		hv->f.stimer, hv->f.stimer_direct, hv->f.reset,
		hv->f.frequencies, hv->f.time_ref, hv->f.tsc_page, hv->f.crash,
		hv->f.idle);
	hv_stats_foreach(hv, hv_stats_print_one, &pr);
	if (pr.group[0])
		fputc('\n', f);
}
