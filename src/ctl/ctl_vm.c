// SPDX-License-Identifier: MIT
/*
 * ctl_vm: the control socket's ops for a real struct vm. The server runs
 * on the VM's I/O thread, the thread that also owns VMBus and the
 * integration services, so the ops call the Shutdown and KVP services
 * directly; vm_request_stop() and the ACPI power button are thread-safe.
 *
 * shutdown: ask through the Shutdown IC and answer when the guest accepts;
 * if it refuses, the service is closed or nothing is heard within the
 * request's timeout, press the ACPI power button instead. kvp-get on a
 * guest pool enumerates the pool from the guest first.
 *
 * Lifecycle (main.c): ctl_vm_attach() after vm_create(); ctl_vm_stop()
 * after vm_run() returns (answers a pending shutdown, removes the socket);
 * ctl_vm_free() after vm_destroy() (no IC callback can come any more).
 */
#include "hvkvm/ctl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include <json-c/json.h>

#include "hvkvm/acpi_pm.h"
#include "hvkvm/block.h"
#include "hvkvm/evloop.h"
#include "hvkvm/hyperv.h"
#include "hvkvm/ide.h"
#include "hvkvm/insn_assist.h"
#include "hvkvm/kvm_stats.h"
#include "hvkvm/storvsp.h"
#include "hvkvm/util.h"
#include "hvkvm/vm.h"
#include "hvkvm/vmbus.h"

struct ctl_vm_kvp {
	struct ctl_vm *cv;
	uint64_t token; /* deferred kvp-get */
	unsigned int pool;
	char key[CTL_KVP_KEY_MAX + 1];
	struct ctl_vm_kvp *next;
};

struct ctl_vm {
	struct vm *vm;
	struct ctl_server *srv; /* NULL once stopped */
	/* A shutdown request waiting for its outcome. */
	bool sd_pending;
	uint64_t sd_token;
	bool sd_ic_busy;	      /* our IC request is outstanding */
	int sd_timer;		      /* timerfd: ACPI fallback, or -1 */
	struct ctl_vm_kvp *kvp_waits; /* guest pool enumerations */
	/* ctl_vm_stop() handshake with the I/O thread. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopped;
};

/* ---- status and stats ---- */

static int ctl_vm_status(void *opaque, struct ctl_req *req)
{
	struct ctl_vm *cv = opaque;
	struct vm *vm = cv->vm;
	struct json_object *o = req->result, *crash = NULL, *p, *msg;
	struct vm_crash_report cr;
	unsigned int i;
	char uuid[37], hex[24];

	vm_crash_get(vm, &cr);
	msg = cr.msg ? json_object_new_string(cr.msg) : NULL;
	free(cr.msg);
	if (cr.reports) {
		/* The last Hyper-V crash report: P0-P4 as hex strings. */
		crash = json_object_new_object();
		p = json_object_new_array();
		for (i = 0; i < 5; i++) {
			snprintf(hex, sizeof(hex), "%#llx",
				 (unsigned long long)cr.p[i]);
			json_object_array_add(p, json_object_new_string(hex));
		}
		json_object_object_add(crash, "vp",
				       json_object_new_int((int)cr.vp));
		json_object_object_add(crash, "p", p);
		json_object_object_add(crash, "reports",
				       json_object_new_int((int)cr.reports));
		json_object_object_add(crash, "message", msg);
	} else {
		json_object_put(msg);
	}

	uuid_unparse(vm->cfg->uuid, uuid);
	json_object_object_add(o, "uuid", json_object_new_string(uuid));
	json_object_object_add(
		o, "state",
		json_object_new_string(vm_is_stopping(vm) ? "stopping" :
				       cr.reports && vm_is_paused(vm) ?
							    "crashed" :
				       vm_is_paused(vm) ? "paused" :
							  "running"));
	json_object_object_add(
		o, "uptime",
		json_object_new_double((double)(time_now_ns() - vm->start_ns) /
				       1e9));
	json_object_object_add(o, "vcpus",
			       json_object_new_int((int)vm->nr_vcpus));
	json_object_object_add(o, "memory",
			       json_object_new_uint64(vm->cfg->memory));
	json_object_object_add(o, "kernel",
			       vm->cfg->kernel ?
				       json_object_new_string(vm->cfg->kernel) :
				       NULL);
	json_object_object_add(
		o, "hyperv", json_object_new_boolean(vm->cfg->hyperv.enabled));
	json_object_object_add(o, "vmbus",
			       json_object_new_boolean(vm->vmbus_enabled));
	json_object_object_add(o, "crash", crash);
	return 0;
}

/* Counters written by vCPU threads: word-sized reads, no lock. */
static uint64_t ctl_vm_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* KVM's own counters of one vCPU, as vcpuN.kvm.NAME. */
struct ctl_vm_kvm_stats {
	struct ctl_stats *st;
	unsigned int vcpu;
};

static void ctl_vm_kvm_stat(void *opaque, const char *name, uint64_t v)
{
	struct ctl_vm_kvm_stats *k = opaque;
	char path[96];

	snprintf(path, sizeof(path), "vcpu%u.kvm.%s", k->vcpu, name);
	ctl_stats_add(k->st, path, v);
}

/* hv_stats_foreach / vmbus_server_stats_foreach into the stats tree. */
static void ctl_vm_stats_add(void *opaque, const char *path, uint64_t value)
{
	ctl_stats_add(opaque, path, value);
}

static int ctl_vm_stats(void *opaque, struct ctl_req *req, struct ctl_stats *st)
{
	struct ctl_vm *cv = opaque;
	struct vm *vm = cv->vm;
	struct ic_heartbeat_state hb;
	unsigned int i, r;
	char path[96];

	ctl_stats_add(st, "uptime_ms",
		      (time_now_ns() - vm->start_ns) / 1000000);
	for (i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu_stats *s = &vm->vcpus[i].stats;
		uint64_t total = 0, v;

		for (r = 0; r < VCPU_EXIT_REASONS; r++) {
			const char *name = vcpu_exit_name(r);

			v = ctl_vm_load(&s->exits[r]);
			if (!v)
				continue;
			total += v;
			if (!strcmp(name, "other"))
				snprintf(path, sizeof(path),
					 "vcpu%u.exits.reason_%u", i, r);
			else
				snprintf(path, sizeof(path), "vcpu%u.exits.%s",
					 i, name);
			ctl_stats_add(st, path, v);
		}
#define VCPU_STAT(f)                                           \
	do {                                                   \
		snprintf(path, sizeof(path), "vcpu%u." #f, i); \
		ctl_stats_add(st, path, ctl_vm_load(&s->f));   \
	} while (0)
		snprintf(path, sizeof(path), "vcpu%u.exits_total", i);
		ctl_stats_add(st, path, total);
		VCPU_STAT(pio_exits);
		VCPU_STAT(mmio_exits);
		VCPU_STAT(msr_exits);
		VCPU_STAT(hypercalls);
#undef VCPU_STAT
		if (vm->vcpus[i].stats_fd >= 0) {
			struct ctl_vm_kvm_stats k = { st, i };

			kvm_stats_foreach(vm->vcpus[i].stats_fd,
					  ctl_vm_kvm_stat, &k);
		}
		for (r = 0; r < INSN_ASSIST_KINDS; r++) {
			v = ctl_vm_load(&s->assists[r]);
			if (!v)
				continue;
			snprintf(path, sizeof(path), "vcpu%u.assists.%s", i,
				 insn_assist_name((enum insn_assist_kind)r));
			ctl_stats_add(st, path, v);
		}
	}
	vm_storage_stats_foreach(vm, ctl_vm_stats_add, st);
	ctl_stats_add(st, "bus.pio_unclaimed", ctl_vm_load(&vm->pio.unclaimed));
	ctl_stats_add(st, "bus.mmio_unclaimed",
		      ctl_vm_load(&vm->mmio.unclaimed));
	if (vm->ic_heartbeat) {
		ic_heartbeat_get(vm->ic_heartbeat, &hb);
		ctl_stats_add(st, "ic.heartbeat.answers", hb.answers);
		ctl_stats_add(st, "ic.heartbeat.status", hb.status);
	}
	if (vm->ic_timesync)
		ctl_stats_add(st, "ic.timesync.samples",
			      ic_timesync_samples(vm->ic_timesync));
	/* Hyper-V counters: atomics, readable from this thread. */
	if (vm->hv)
		hv_stats_foreach(vm->hv, ctl_vm_stats_add, st);
	/* The VMBus server lives on this (the I/O) thread. */
	if (vm->vmbus)
		vmbus_server_stats_foreach(vm->vmbus, ctl_vm_stats_add, st);
	return 0;
}

/* ---- shutdown ---- */

static void ctl_vm_sd_timer_off(struct ctl_vm *cv)
{
	if (cv->sd_timer < 0)
		return;
	evloop_del_fd(cv->vm->io, cv->sd_timer);
	close(cv->sd_timer);
	cv->sd_timer = -1;
}

/* Answer the pending shutdown request. */
static void ctl_vm_sd_answer(struct ctl_vm *cv, const char *method,
			     const char *note, int err, const char *msg)
{
	struct json_object *res = NULL;

	if (!cv->sd_pending)
		return;
	cv->sd_pending = false;
	ctl_vm_sd_timer_off(cv);
	if (!err) {
		res = json_object_new_object();
		json_object_object_add(res, "method",
				       json_object_new_string(method));
		if (note)
			json_object_object_add(res, "note",
					       json_object_new_string(note));
	}
	if (cv->srv)
		ctl_server_complete(cv->srv, cv->sd_token, err, msg, res);
	else
		json_object_put(res);
}

/* Press the ACPI power button; 0, or -EIO with @err when nobody listens. */
static int ctl_vm_press(struct ctl_vm *cv, const char *why, char *err,
			size_t errlen)
{
	struct vm *vm = cv->vm;

	if (vm->acpi_pm && acpi_pm_power_button(vm->acpi_pm)) {
		pr_info("ctl: shutdown: ACPI power button (%s)", why);
		return 0;
	}
	snprintf(
		err, errlen, "%s",
		vm->acpi_pm ?
			"the guest listens neither to the Shutdown IC nor to the ACPI power button (use poweroff)" :
			"the guest has no Shutdown IC connection and there is no ACPI (use poweroff)");
	return -EIO;
}

/* The Shutdown IC did not do it: the power button, then answer. */
static void ctl_vm_sd_acpi(struct ctl_vm *cv, const char *why)
{
	char err[CTL_ERR_MAX];

	if (ctl_vm_press(cv, why, err, sizeof(err)))
		ctl_vm_sd_answer(cv, NULL, NULL, -EIO, err);
	else
		ctl_vm_sd_answer(cv, "acpi", why, 0, NULL);
}

static void ctl_vm_sd_done(void *opaque, int status)
{
	struct ctl_vm *cv = opaque;

	cv->sd_ic_busy = false;
	if (!cv->sd_pending)
		return;
	if (status == 0)
		ctl_vm_sd_answer(cv, "shutdown-ic", NULL, 0, NULL);
	else
		ctl_vm_sd_acpi(
			cv,
			status == -EIO ?
				"the guest refused the Shutdown IC request" :
				"the Shutdown IC is not connected");
}

static void ctl_vm_sd_timeout(void *opaque, uint32_t events)
{
	struct ctl_vm *cv = opaque;

	ctl_vm_sd_acpi(cv, "no answer on the Shutdown IC before the timeout");
}

static int ctl_vm_sd_arm(struct ctl_vm *cv, unsigned int secs)
{
	struct itimerspec its = { .it_value.tv_sec = secs };
	int r;

	cv->sd_timer =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (cv->sd_timer < 0)
		return -errno;
	if (timerfd_settime(cv->sd_timer, 0, &its, NULL) < 0) {
		r = -errno;
		goto err;
	}
	r = evloop_add_fd(cv->vm->io, cv->sd_timer, EPOLLIN, ctl_vm_sd_timeout,
			  cv);
	if (!r)
		return 0;
err:
	close(cv->sd_timer);
	cv->sd_timer = -1;
	return r;
}

static int ctl_vm_shutdown(void *opaque, struct ctl_req *req)
{
	struct ctl_vm *cv = opaque;
	struct vm *vm = cv->vm;
	int r;

	if (cv->sd_pending) {
		if (ctl_server_waiting(cv->srv, cv->sd_token)) {
			snprintf(
				req->err, req->errlen,
				"a shutdown is in progress (shutdown-cancel cancels it)");
			return -EBUSY;
		}
		/* Its client has gone: this request takes it over. */
		cv->sd_pending = false;
		ctl_vm_sd_timer_off(cv);
	}
	if (!vm->ic_shutdown || req->timeout == 0) {
		const char *why = vm->ic_shutdown ?
					  "timeout 0" :
					  "no Shutdown IC (VMBus is off)";

		r = ctl_vm_press(cv, why, req->err, req->errlen);
		if (!r) {
			json_object_object_add(req->result, "method",
					       json_object_new_string("acpi"));
			json_object_object_add(req->result, "note",
					       json_object_new_string(why));
		}
		return r;
	}
	cv->sd_pending = true;
	cv->sd_token = req->token;
	if (!cv->sd_ic_busy) {
		r = ic_shutdown_request(vm->ic_shutdown, IC_SHUTDOWN_POWEROFF,
					false, "hvkvm ctl shutdown",
					ctl_vm_sd_done, cv);
		if (r && r != -EBUSY) {
			cv->sd_pending = false;
			return r;
		}
		cv->sd_ic_busy = !r;
	}
	r = ctl_vm_sd_arm(cv, req->timeout);
	if (r) {
		cv->sd_pending = false;
		return r;
	}
	return CTL_DEFERRED;
}

/*
 * Drop the pending shutdown: no ACPI power button at its timeout; its
 * request is answered "cancelled". A guest that got the Shutdown IC
 * request may still shut down: that cannot be taken back.
 */
static int ctl_vm_shutdown_cancel(void *opaque, struct ctl_req *req)
{
	struct ctl_vm *cv = opaque;
	bool asked = cv->sd_ic_busy;

	if (!cv->sd_pending) {
		snprintf(req->err, req->errlen, "no shutdown is in progress");
		return -EALREADY;
	}
	ctl_vm_sd_answer(cv, NULL, NULL, -ECANCELED,
			 "the shutdown was cancelled (shutdown-cancel)");
	json_object_object_add(req->result, "guest_asked",
			       json_object_new_boolean(asked));
	return 0;
}

/* ---- power and pause ---- */

static int ctl_vm_poweroff(void *opaque, struct ctl_req *req)
{
	struct ctl_vm *cv = opaque;

	vm_request_stop(cv->vm, VM_STOP_POWEROFF, VM_STATUS_POWEROFF);
	return 0;
}

static int ctl_vm_reboot(void *opaque, struct ctl_req *req)
{
	struct ctl_vm *cv = opaque;

	vm_request_stop(cv->vm, VM_STOP_RESET, VM_STATUS_RESET);
	json_object_object_add(
		req->result, "exits",
		json_object_new_boolean(cv->vm->opts.exit_on_reset));
	return 0;
}

static int ctl_vm_pause(void *opaque, struct ctl_req *req)
{
	struct ctl_vm *cv = opaque;

	if (vm_is_paused(cv->vm)) {
		snprintf(req->err, req->errlen, "the VM is already paused");
		return -EALREADY;
	}
	/* Returns once every vCPU is parked outside KVM_RUN (microseconds). */
	return vm_pause(cv->vm);
}

static int ctl_vm_resume(void *opaque, struct ctl_req *req)
{
	struct ctl_vm *cv = opaque;

	if (!vm_is_paused(cv->vm)) {
		snprintf(req->err, req->errlen, "the VM is not paused");
		return -EALREADY;
	}
	vm_resume(cv->vm); /* also re-syncs guest time */
	return 0;
}

/* ---- KVP ---- */

static bool ctl_vm_host_pool(unsigned int pool)
{
	return pool == CTL_KVP_EXTERNAL || pool == CTL_KVP_AUTO_EXTERNAL;
}

static int ctl_vm_kvp_check(struct ctl_vm *cv, struct ctl_req *req)
{
	if (cv->vm->ic_kvp)
		return 0;
	snprintf(req->err, req->errlen,
		 "no KVP service (Hyper-V VMBus is off)");
	return -EOPNOTSUPP;
}

static int ctl_vm_kvp_set(void *opaque, struct ctl_req *req)
{
	struct ctl_vm *cv = opaque;
	int r = ctl_vm_kvp_check(cv, req);

	if (r)
		return r;
	r = ic_kvp_set(cv->vm->ic_kvp, req->pool, req->key, req->value);
	if (r == -EINVAL)
		snprintf(req->err, req->errlen,
			 "key or value too long for the KVP wire format");
	return r;
}

static int ctl_vm_kvp_answer(struct ctl_vm *cv, unsigned int pool,
			     const char *key, struct json_object *res,
			     char *err, size_t errlen)
{
	char value[4 * CTL_KVP_VALUE_MAX];
	int r = ic_kvp_lookup(cv->vm->ic_kvp, pool, key, value, sizeof(value));

	if (r == -ENOENT)
		snprintf(err, errlen, "no such key in pool %s",
			 ctl_kvp_pool_name(pool));
	if (!r)
		json_object_object_add(res, "value",
				       json_object_new_string(value));
	return r;
}

static void ctl_vm_kvp_done(void *opaque, int status)
{
	struct ctl_vm_kvp *w = opaque, **pp;
	struct ctl_vm *cv = w->cv;
	struct json_object *res;
	char err[CTL_ERR_MAX] = "";
	int r;

	for (pp = &cv->kvp_waits; *pp && *pp != w; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = w->next;
	if (cv->srv) {
		res = json_object_new_object();
		r = ctl_vm_kvp_answer(cv, w->pool, w->key, res, err,
				      sizeof(err));
		if (r && status)
			snprintf(err, sizeof(err),
				 "the guest's KVP service did not answer (%s)",
				 strerror(-status));
		ctl_server_complete(cv->srv, w->token, r, err[0] ? err : NULL,
				    r ? (json_object_put(res), NULL) : res);
	}
	free(w);
}

static int ctl_vm_kvp_get(void *opaque, struct ctl_req *req)
{
	struct ctl_vm *cv = opaque;
	struct ctl_vm_kvp *w;
	int r = ctl_vm_kvp_check(cv, req);

	if (r)
		return r;
	if (ctl_vm_host_pool(req->pool))
		return ctl_vm_kvp_answer(cv, req->pool, req->key, req->result,
					 req->err, req->errlen);
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cv = cv;
	w->token = req->token;
	w->pool = req->pool;
	snprintf(w->key, sizeof(w->key), "%s", req->key);
	r = ic_kvp_refresh(cv->vm->ic_kvp, req->pool, ctl_vm_kvp_done, w);
	if (r) {
		free(w);
		/* Not connected: what an earlier enumeration cached. */
		r = ctl_vm_kvp_answer(cv, req->pool, req->key, req->result,
				      req->err, req->errlen);
		if (r == -ENOENT)
			snprintf(req->err, req->errlen,
				 "the guest's KVP service is not connected");
		return r;
	}
	w->next = cv->kvp_waits;
	cv->kvp_waits = w;
	return CTL_DEFERRED;
}

/* ---- eject, insert: IDE CD-ROM media ---- */

/* "hda".."hdd" -> drive 0..3 of a VM with an IDE controller. */
static int ctl_vm_ide_drive(struct ctl_vm *cv, struct ctl_req *req)
{
	const char *d = req->drive;

	if (strncmp(d, "hd", 2) || d[2] < 'a' || d[2] > 'd' || d[3]) {
		snprintf(req->err, req->errlen,
			 "drive '%.16s': IDE drives are hda..hdd", d);
		return -EINVAL;
	}
	if (!cv->vm->ide) {
		snprintf(req->err, req->errlen,
			 "this VM has no IDE controller (no IDE drives)");
		return -ENODEV;
	}
	return d[2] - 'a';
}

static int ctl_vm_eject(void *opaque, struct ctl_req *req)
{
	struct ctl_vm *cv = opaque;
	int drive = ctl_vm_ide_drive(cv, req), r;

	if (drive < 0)
		return drive;
	r = ide_eject(cv->vm->ide, (unsigned int)drive, req->force);
	if (r == -EBUSY)
		snprintf(
			req->err, req->errlen,
			"%s: the guest has locked the tray (force=1 ejects anyway)",
			req->drive);
	else if (r == -ENODEV)
		snprintf(req->err, req->errlen, "%s is not a CD-ROM drive",
			 req->drive);
	else if (r == -ENOMEDIUM)
		snprintf(req->err, req->errlen, "%s: no medium to eject",
			 req->drive);
	if (!r)
		json_object_object_add(req->result, "drive",
				       json_object_new_string(req->drive));
	return r;
}

static int ctl_vm_insert(void *opaque, struct ctl_req *req)
{
	struct ctl_vm *cv = opaque;
	int drive = ctl_vm_ide_drive(cv, req), r;
	struct block_dev *bd;
	struct block_opts o;

	if (drive < 0)
		return drive;
	if (req->file[0] != '/') {
		snprintf(req->err, req->errlen,
			 "file '%.256s': give an absolute path", req->file);
		return -EINVAL;
	}
	block_opts_init(&o);
	o.readonly = true;
	o.cache = BLOCK_CACHE_WRITEBACK; /* install media: read-mostly */
	r = block_open(req->file, &o, &bd);
	if (r) {
		snprintf(req->err, req->errlen, "%.256s: %s", req->file,
			 strerror(-r));
		return r;
	}
	r = ide_insert(cv->vm->ide, (unsigned int)drive, bd);
	if (r) {
		block_close(bd);
		if (r == -EBUSY)
			snprintf(req->err, req->errlen,
				 "%s: a medium is loaded: eject it first",
				 req->drive);
		else if (r == -ENODEV)
			snprintf(req->err, req->errlen,
				 "%s is not a CD-ROM drive", req->drive);
		else if (r == -EINVAL)
			snprintf(
				req->err, req->errlen,
				"%.256s: not a CD image (smaller than one 2048-byte sector)",
				req->file);
		return r;
	}
	json_object_object_add(req->result, "drive",
			       json_object_new_string(req->drive));
	json_object_object_add(req->result, "file",
			       json_object_new_string(req->file));
	return 0;
}

/* ---- disk-add, disk-remove: synthetic SCSI hot-plug ---- */

static int ctl_vm_disk_add(void *opaque, struct ctl_req *req)
{
	struct ctl_vm *cv = opaque;
	struct config_disk d = { .bus = CONFIG_DISK_SCSI };
	char arg[CTL_PATH_MAX + 128];
	struct vm_config tmp;
	int r;

	if (req->file[0] != '/') {
		snprintf(req->err, req->errlen,
			 "file '%.256s': give an absolute path", req->file);
		return -EINVAL;
	}
	/* The --disk parser checks the name, address and format. */
	snprintf(arg, sizeof(arg), "bus=scsi,file=%s%s%s%s%s%s%s", req->file,
		 req->drive ? ",target=" : "", req->drive ? req->drive : "",
		 req->addr ? ",addr=" : "", req->addr ? req->addr : "",
		 req->format ? ",format=" : "", req->format ? req->format : "");
	if (strchr(req->file, ',') || (req->drive && strchr(req->drive, ',')) ||
	    (req->addr && strchr(req->addr, ',')) ||
	    (req->format && strchr(req->format, ','))) {
		snprintf(req->err, req->errlen,
			 "arguments must not contain ','");
		return -EINVAL;
	}
	config_init(&tmp);
	r = config_parse_disk_arg(&tmp, arg, req->err, req->errlen);
	if (!r && tmp.nr_disks == 1) {
		d = tmp.disks[0];
		d.readonly = req->readonly;
		/* A name the user did not give was made up by the parser. */
		if (!req->drive)
			d.target[0] = '\0';
		r = vm_disk_hot_add(cv->vm, &d, req->err, req->errlen);
	}
	if (!r) {
		json_object_object_add(req->result, "drive",
				       json_object_new_string(d.target));
		snprintf(arg, sizeof(arg), "%u:%u:%u", d.addr_controller,
			 d.addr_target, d.addr_lun);
		json_object_object_add(req->result, "addr",
				       json_object_new_string(arg));
		json_object_object_add(req->result, "file",
				       json_object_new_string(req->file));
	}
	config_free(&tmp);
	return r;
}

static int ctl_vm_disk_remove(void *opaque, struct ctl_req *req)
{
	struct ctl_vm *cv = opaque;
	int r = vm_disk_hot_remove(cv->vm, req->drive, req->err, req->errlen);

	if (!r)
		json_object_object_add(req->result, "drive",
				       json_object_new_string(req->drive));
	return r;
}

/* ---- link: a NIC's carrier as the guest sees it ---- */

static int ctl_vm_link(void *opaque, struct ctl_req *req)
{
	struct ctl_vm *cv = opaque;
	bool up = !strcmp(req->state, "up");
	int r;

	if (!up && strcmp(req->state, "down")) {
		snprintf(req->err, req->errlen, "state '%s': up or down",
			 req->state);
		return -EINVAL;
	}
	r = vm_nic_set_link(cv->vm, req->nic, up, req->err, req->errlen);
	if (!r) {
		json_object_object_add(req->result, "nic",
				       json_object_new_string(req->nic));
		json_object_object_add(req->result, "link",
				       json_object_new_string(req->state));
	}
	return r;
}

static const struct ctl_ops ctl_vm_ops = {
	.status = ctl_vm_status,
	.stats = ctl_vm_stats,
	.shutdown = ctl_vm_shutdown,
	.shutdown_cancel = ctl_vm_shutdown_cancel,
	.poweroff = ctl_vm_poweroff,
	.reboot = ctl_vm_reboot,
	.pause = ctl_vm_pause,
	.resume = ctl_vm_resume,
	.kvp_get = ctl_vm_kvp_get,
	.kvp_set = ctl_vm_kvp_set,
	.eject = ctl_vm_eject,
	.insert = ctl_vm_insert,
	.disk_add = ctl_vm_disk_add,
	.disk_remove = ctl_vm_disk_remove,
	.link = ctl_vm_link,
};

/* ---- lifecycle ---- */

int ctl_vm_attach(struct vm *vm, const char *name, char *err, size_t errlen,
		  struct ctl_vm **out)
{
	struct ctl_server_params p = { .name = name, .ops = &ctl_vm_ops };
	struct ctl_vm *cv = calloc(1, sizeof(*cv));
	int r;

	if (!cv)
		return -ENOMEM;
	cv->vm = vm;
	cv->sd_timer = -1;
	pthread_mutex_init(&cv->lock, NULL);
	pthread_cond_init(&cv->cond, NULL);
	p.opaque = cv;
	/* evloop_add_fd() is thread-safe: no need to be on the I/O thread. */
	r = ctl_server_create(vm->io, &p, err, errlen, &cv->srv);
	if (r) {
		ctl_vm_free(cv);
		return r;
	}
	*out = cv;
	return 0;
}

static void ctl_vm_stop_on_loop(void *opaque)
{
	struct ctl_vm *cv = opaque;

	/* Powered off before the guest answered: the goal was reached. */
	if (cv->vm->stop_reason == VM_STOP_POWEROFF)
		ctl_vm_sd_answer(
			cv, "poweroff",
			"the VM powered off before the guest answered the Shutdown IC",
			0, NULL);
	ctl_vm_sd_timer_off(cv);
	ctl_server_destroy(cv->srv);
	cv->srv = NULL;
	pthread_mutex_lock(&cv->lock);
	cv->stopped = true;
	pthread_cond_broadcast(&cv->cond);
	pthread_mutex_unlock(&cv->lock);
}

void ctl_vm_stop(struct ctl_vm *cv)
{
	if (!cv || !cv->srv)
		return;
	if (evloop_call(cv->vm->io, ctl_vm_stop_on_loop, cv)) {
		ctl_vm_stop_on_loop(cv); /* no memory: best effort */
		return;
	}
	pthread_mutex_lock(&cv->lock);
	while (!cv->stopped)
		pthread_cond_wait(&cv->cond, &cv->lock);
	pthread_mutex_unlock(&cv->lock);
}

void ctl_vm_free(struct ctl_vm *cv)
{
	struct ctl_vm_kvp *w;

	if (!cv)
		return;
	while ((w = cv->kvp_waits)) {
		cv->kvp_waits = w->next;
		free(w);
	}
	pthread_cond_destroy(&cv->cond);
	pthread_mutex_destroy(&cv->lock);
	free(cv);
}
