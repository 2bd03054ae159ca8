// SPDX-License-Identifier: MIT
/*
 * vm_hyperv: the Hyper-V enlightenments of a VM (src/hyperv/) and the host
 * services they call back: clocks, a vCPU's TSC and run time, yield and
 * GUEST_IDLE, the guest's reset and its crash report (logged, kept for
 * 'hvkvm ctl status', then handled as on_crash says).
 */
#include "vm_internal.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <linux/kvm.h>

#include "hvkvm/hyperv.h"
#include "hvkvm/vcpu.h"

static uint64_t vm_hv_clock_ns(void *opaque)
{
	(void)opaque;
	return time_now_ns();
}

/* Called on vCPU @vp's own thread (from its MSR handler). */
static int vm_hv_sample_tsc(void *opaque, unsigned int vp, uint64_t *tsc,
			    uint64_t *ns)
{
	struct vm *vm = opaque;
	uint8_t buf[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	struct kvm_msrs *m = (struct kvm_msrs *)buf;
	uint64_t t0, t1;

	if (vp >= vm->nr_vcpus)
		return -EINVAL;
	t0 = time_now_ns();
	memset(buf, 0, sizeof(buf));
	m->nmsrs = 1;
	m->entries[0].index = 0x10; /* IA32_TSC */
	if (ioctl(vm->vcpus[vp].fd, KVM_GET_MSRS, m) != 1)
		return -EIO;
	t1 = time_now_ns();
	*tsc = m->entries[0].data;
	*ns = t0 + (t1 - t0) / 2;
	return 0;
}

static uint64_t vm_hv_vp_runtime_ns(void *opaque, unsigned int vp)
{
	struct vm *vm = opaque;
	struct timespec ts;
	clockid_t cid;

	if (vp >= vm->nr_vcpus || !vm->vcpus[vp].thread_started ||
	    pthread_getcpuclockid(vm->vcpus[vp].thread, &cid) ||
	    clock_gettime(cid, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void vm_hv_reset(void *opaque)
{
	vm_guest_stop(opaque, VM_STOP_RESET, VM_STATUS_RESET);
}

/*
 * The guest's crash message (untrusted bytes) as printable text: tabs and
 * newlines kept, other control and non-ASCII bytes shown as '?', NULs and
 * trailing newlines dropped. Caller frees.
 */
static char *vm_crash_text(const char *msg, size_t len)
{
	char *t = malloc(len + 1);
	size_t i, n = 0;

	if (!t)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)msg[i];

		if (!c)
			continue;
		t[n++] = (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f)) ?
				 (char)c :
				 '?';
	}
	while (n && t[n - 1] == '\n')
		n--;
	t[n] = '\0';
	return t;
}

static void vm_hv_crash(void *opaque, unsigned int vp, const uint64_t p[5],
			const char *msg, size_t msg_len)
{
	struct vm *vm = opaque;
	enum config_action act = vm->cfg->on_crash;
	char *text = msg ? vm_crash_text(msg, msg_len) : NULL, *line, *save;
	unsigned int i;

	pr_err("guest crash reported by vCPU %u: P0=%#llx P1=%#llx P2=%#llx P3=%#llx P4=%#llx (on_crash=%s)",
	       vp, (unsigned long long)p[0], (unsigned long long)p[1],
	       (unsigned long long)p[2], (unsigned long long)p[3],
	       (unsigned long long)p[4], config_action_name(act));
	if (text) {
		char *copy = strdup(text);

		pr_err("guest crash message (%zu bytes):", msg_len);
		for (line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save))
			pr_err("guest| %s", line);
		free(copy);
	}
	pthread_mutex_lock(&vm->stop_lock);
	vm->crashes++;
	vm->crash_vp = vp;
	for (i = 0; i < 5; i++)
		vm->crash_p[i] = p[i];
	free(vm->crash_msg);
	vm->crash_msg = text;
	if (act == CONFIG_ACTION_RESTART && !vm->crash_deadline_ns) {
		/* Let the guest finish its panic path; vm_run() times it. */
		vm->crash_deadline_ns = time_now_ns() + VM_CRASH_GRACE_NS;
		pthread_cond_broadcast(&vm->stop_cond);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	switch (act) {
	case CONFIG_ACTION_RESTART:
		pr_info("on_crash=restart: restarting when the guest resets, at most %llu s from now",
			VM_CRASH_GRACE_NS / 1000000000ULL);
		break;
	case CONFIG_ACTION_PRESERVE:
		/* Keep the crashed guest for inspection: vCPUs parked. */
		pr_err("on_crash=preserve: vCPUs stopped; 'hvkvm ctl' status shows the crash, poweroff ends the VM");
		vm_pause_request(vm);
		break;
	case CONFIG_ACTION_DESTROY:
		vm_request_stop(vm, VM_STOP_CRASH, VM_STATUS_CRASH);
		break;
	}
}

void vm_crash_get(struct vm *vm, struct vm_crash_report *out)
{
	unsigned int i;

	pthread_mutex_lock(&vm->stop_lock);
	out->reports = vm->crashes;
	out->vp = vm->crash_vp;
	for (i = 0; i < 5; i++)
		out->p[i] = vm->crash_p[i];
	out->msg = vm->crash_msg ? strdup(vm->crash_msg) : NULL;
	pthread_mutex_unlock(&vm->stop_lock);
}

static void vm_hv_yield(void *opaque, unsigned int vp)
{
	(void)opaque;
	(void)vp;
	sched_yield();
}

/* GUEST_IDLE read, on vCPU @vp's thread. */
static void vm_hv_idle(void *opaque, unsigned int vp)
{
	struct vm *vm = opaque;

	if (vp < vm->nr_vcpus)
		vcpu_guest_idle(&vm->vcpus[vp]);
}

int vm_hyperv_init(struct vm *vm, char *err, size_t errlen)
{
	struct hv_params p;
	int r;

	if (!vm->cfg->hyperv.enabled)
		return 0;
	memset(&p, 0, sizeof(p));
	p.cfg = &vm->cfg->hyperv;
	p.nr_vcpus = vm->nr_vcpus;
	p.apic_ids = vm->apic_ids;
	p.gm = &vm->gm;
	p.irq = &vm->irq;
	p.tsc_khz = vm->tsc_khz;
	p.apic_khz = 1000000; /* KVM's LAPIC timer runs at 1 GHz */
	/*
	 * Like Hyper-V's default, no "invariant TSC" (HV_ACCESS_TSC_INVARIANT):
	 * guests then time through the reference TSC page, which stays right
	 * when the guest's TSC frequency differs from the host's (migration).
	 */
	p.tsc_invariant = false;
	p.host = (struct hv_host_ops){
		.clock_ns = vm_hv_clock_ns,
		.sample_tsc = vm_hv_sample_tsc,
		.vp_runtime_ns = vm_hv_vp_runtime_ns,
		.reset = vm_hv_reset,
		.crash = vm_hv_crash,
		.yield = vm_hv_yield,
		.idle = vm_hv_idle,
		.opaque = vm,
	};
	r = hv_create(&p, &vm->hv);
	if (r) {
		snprintf(err, errlen, "Hyper-V enlightenments: %s",
			 strerror(-r));
		return r;
	}
	vm->vcpu_host.hv = vm->hv;
	return 0;
}

void vm_hyperv_exit(struct vm *vm)
{
	vm->vcpu_host.hv = NULL;
	if (vm->hv)
		hv_destroy(vm->hv);
	vm->hv = NULL;
}
