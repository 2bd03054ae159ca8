// SPDX-License-Identifier: MIT
/*
 * vm: builds one VM from a struct vm_config through an ordered table of
 * start-up stages (unwound in reverse from the one that failed), runs its
 * vCPUs and stops it when a device, a vCPU or the user asks. This file has
 * the KVM stages, the table and the run/pause/stop logic; the devices, the
 * Hyper-V services, the boot loader glue and VMBus have files of their own
 * (vm_devices.c, vm_hyperv.c, vm_boot.c, vm_vmbus.c).
 */
#include "vm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "hvkvm/console.h"
#include "hvkvm/cpuid.h"
#include "hvkvm/evloop.h"
#include "hvkvm/hyperv.h"
#include "hvkvm/vcpu.h"
#include "hvkvm/vmbus.h"

/* Below the largest BIOS ROM (16 MiB under 4 GiB), as QEMU puts them. */
#define VM_TSS_ADDR 0xfeffd000ULL
#define VM_IDENTITY_MAP_ADDR 0xfeffc000ULL
#define HV_MSR_FILTER_BASE 0x40000000u
#define HV_MSR_FILTER_COUNT 0x200u

/* ---- interrupts through the in-kernel irqchip ---- */

static int vm_irq_set_line(void *opaque, unsigned int gsi, bool level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

static int vm_irq_msi(void *opaque, uint64_t address, uint32_t data)
{
	struct vm *vm = opaque;
	struct kvm_msi msi = {
		.address_lo = (uint32_t)address,
		.address_hi = (uint32_t)(address >> 32),
		.data = data,
	};

	return ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}

static const struct irq_sink_ops vm_irq_ops = {
	.set_line = vm_irq_set_line,
	.msi = vm_irq_msi,
};

void vm_guest_stop(struct vm *vm, enum vm_stop_reason reason, int status)
{
	/*
	 * After a crash with on_crash=restart, the guest's own reset,
	 * power-off or triple fault (the end of its panic path) restarts it.
	 */
	pthread_mutex_lock(&vm->stop_lock);
	if (vm->crash_deadline_ns) {
		reason = VM_STOP_CRASH_RESTART;
		status = VM_STATUS_CRASH;
	}
	pthread_mutex_unlock(&vm->stop_lock);
	vm_request_stop(vm, reason, status);
}

/* Kick every vCPU out of KVM_RUN but the calling one (it sees for itself). */
static void vm_kick_others(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++)
		if (!pthread_equal(pthread_self(), vm->vcpus[i].thread))
			vcpu_kick(&vm->vcpus[i]);
}

void vm_pause_request(struct vm *vm)
{
	vcpu_runstate_pause(&vm->runstate);
	vm_kick_others(vm);
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason, int status)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason == VM_STOP_NONE) {
		vm->stop_reason = reason;
		vm->stop_status = status;
	}
	/* STOPPED before vm_run() sees the reason; parked vCPUs wake too. */
	vcpu_runstate_stop(&vm->runstate);
	pthread_cond_broadcast(&vm->stop_cond);
	pthread_mutex_unlock(&vm->stop_lock);
	vm_kick_others(vm);
}

/* struct vcpu_host's stop: what a vCPU's exit means for the VM. */
static void vm_vcpu_stop(void *opaque, enum vcpu_stop why)
{
	struct vm *vm = opaque;

	switch (why) {
	case VCPU_STOP_POWEROFF:
		vm_guest_stop(vm, VM_STOP_POWEROFF, VM_STATUS_POWEROFF);
		break;
	case VCPU_STOP_RESET:
		vm_guest_stop(vm, VM_STOP_RESET, VM_STATUS_RESET);
		break;
	case VCPU_STOP_GUEST_FAILURE:
		vm_guest_stop(vm, VM_STOP_FAILURE, VM_STATUS_FAILURE);
		break;
	case VCPU_STOP_HOST_FAILURE:
		vm_request_stop(vm, VM_STOP_FAILURE, VM_STATUS_FAILURE);
		break;
	}
}

/* ---- stages ---- */

/* The PIO and MMIO spaces (devices register on them from stage devices). */
static int st_bus_init(struct vm *vm, char *err, size_t errlen)
{
	int r = bus_init(&vm->pio, "pio");

	if (!r)
		r = bus_init(&vm->mmio, "mmio");
	if (r)
		snprintf(err, errlen, "buses: %s", strerror(-r));
	return r;
}

/* After the vCPUs were joined: nothing dispatches any more. */
static void st_bus_exit(struct vm *vm)
{
	/* A bus that bus_init() reached has its name (vm is calloc'd). */
	if (vm->mmio.name)
		bus_destroy(&vm->mmio);
	if (vm->pio.name)
		bus_destroy(&vm->pio);
}

static int st_kvm_init(struct vm *vm, char *err, size_t errlen)
{
	int api, type = 0;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;

		snprintf(
			err, errlen, "/dev/kvm: %s%s", strerror(e),
			e == EACCES ?
				" (add yourself to the kvm group or run as root)" :
			e == ENOENT ? " (KVM is not available on this host)" :
				      "");
		return -e;
	}
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm: API version %d, need %d", api,
			 KVM_API_VERSION);
		return -EINVAL;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, type);
	if (vm->vm_fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	if (!ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) ||
	    !ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY)) {
		snprintf(err, errlen,
			 "KVM lacks the in-kernel irqchip or user memory");
		return -ENOTSUP;
	}
	return 0;
}

static void st_kvm_exit(struct vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

int vm_set_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		void *hva, bool readonly)
{
	struct kvm_userspace_memory_region mr = {
		.slot = slot,
		.flags = readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0 ? -errno :
								       0;
}

/*
 * Guest RAM, one slot per region. Booting a BIOS leaves 0xC0000-0xFFFFF
 * out of the low slot: vm_firmware.c maps it as the PAM registers say.
 */
static int st_memory_init(struct vm *vm, char *err, size_t errlen)
{
	bool shadow = config_firmware(vm->cfg) != NULL;
	unsigned int i;
	int r;

	/* KSM merging only when asked: it is a cross-VM side channel. */
	if (vm->cfg->mem_merge)
		r = gmem_create_ram_mergeable(&vm->gm, vm->cfg->memory,
					      VM_LOW_RAM_MAX);
	else
		r = gmem_create_ram(&vm->gm, vm->cfg->memory, VM_LOW_RAM_MAX);
	if (r) {
		snprintf(err, errlen,
			 "cannot allocate %llu MiB of guest RAM: %s",
			 (unsigned long long)(vm->cfg->memory / MiB),
			 strerror(-r));
		return r;
	}
	for (i = 0; i < vm->gm.nr_regions; i++) {
		const struct gmem_region *g = &vm->gm.regions[i];

		if (shadow && g->gpa == 0 && g->size > VM_SHADOW_START) {
			r = vm_set_slot(vm, i, 0, VM_SHADOW_START, g->hva,
					false);
			if (!r && g->size > VM_SHADOW_END)
				r = vm_set_slot(vm, VM_SLOT_LOW_RAM_1M,
						VM_SHADOW_END,
						g->size - VM_SHADOW_END,
						g->hva + VM_SHADOW_END, false);
		} else {
			r = vm_set_slot(vm, i, g->gpa, g->size, g->hva, false);
		}
		if (r) {
			snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s",
				 strerror(-r));
			return r;
		}
	}
	return 0;
}

static void st_memory_exit(struct vm *vm)
{
	gmem_destroy(&vm->gm);
}

static int st_irqchip_init(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = 0 };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR };

	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, VM_TSS_ADDR) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR,
		  &(uint64_t){ VM_IDENTITY_MAP_ADDR }) < 0) {
		snprintf(err, errlen, "KVM TSS/identity map: %s",
			 strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		snprintf(err, errlen, "KVM_CREATE_IRQCHIP: %s",
			 strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		snprintf(err, errlen, "KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	vm->irq.ops = &vm_irq_ops;
	vm->irq.opaque = vm;
	/* Synthetic MSRs exit to us, even where KVM knows Hyper-V itself. */
	if (vm->cfg->hyperv.enabled) {
		struct kvm_msr_filter filter;
		static uint8_t deny[HV_MSR_FILTER_COUNT / 8];

		if (!ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
			   KVM_CAP_X86_USER_SPACE_MSR)) {
			snprintf(
				err, errlen,
				"Hyper-V enlightenments need KVM_CAP_X86_USER_SPACE_MSR (Linux 5.10+)");
			return -ENOTSUP;
		}
		cap.args[0] = KVM_MSR_EXIT_REASON_UNKNOWN |
			      KVM_MSR_EXIT_REASON_FILTER;
		if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
			snprintf(err, errlen, "KVM_CAP_X86_USER_SPACE_MSR: %s",
				 strerror(errno));
			return -errno;
		}
		memset(&filter, 0, sizeof(filter));
		filter.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
		filter.ranges[0].flags = KVM_MSR_FILTER_READ |
					 KVM_MSR_FILTER_WRITE;
		filter.ranges[0].base = HV_MSR_FILTER_BASE;
		filter.ranges[0].nmsrs = HV_MSR_FILTER_COUNT;
		filter.ranges[0].bitmap = deny;
		if (ioctl(vm->vm_fd, KVM_X86_SET_MSR_FILTER, &filter) < 0)
			pr_warn("KVM_X86_SET_MSR_FILTER: %s (relying on unknown-MSR exits)",
				strerror(errno));
	}
	return 0;
}

static int st_cpuid_init(struct vm *vm, char *err, size_t errlen)
{
	unsigned int i;
	int r;

	vm->apic_ids = calloc(vm->nr_vcpus, sizeof(*vm->apic_ids));
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->apic_ids || !vm->vcpus)
		return -ENOMEM;
	for (i = 0; i < vm->nr_vcpus; i++) {
		vm->apic_ids[i] = i;
		vm->vcpus[i].fd = -1;
	}
	r = cpuid_get_supported(vm->kvm_fd, &vm->cpuid);
	if (r) {
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s",
			 strerror(-r));
		return r;
	}
	return 0;
}

static void st_cpuid_exit(struct vm *vm)
{
	free(vm->cpuid);
	free(vm->vcpus);
	free(vm->apic_ids);
	vm->cpuid = NULL;
	vm->vcpus = NULL;
	vm->apic_ids = NULL;
}

static int st_vcpus_init(struct vm *vm, char *err, size_t errlen)
{
	unsigned int i;
	int r, khz;

	for (i = 0; i < vm->nr_vcpus; i++) {
		r = vcpu_init(&vm->vcpus[i], &vm->vcpu_host, vm->kvm_fd,
			      vm->vm_fd, i, vm->apic_ids[i]);
		if (r) {
			snprintf(err, errlen, "vCPU %u: KVM_CREATE_VCPU: %s", i,
				 strerror(-r));
			return r;
		}
	}
	khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	vm->tsc_khz = khz > 0 ? (uint64_t)khz : 0;
	return 0;
}

static void st_vcpus_exit(struct vm *vm)
{
	unsigned int i;

	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].fd >= 0)
			vcpu_destroy(&vm->vcpus[i]);
}

/* The CPU model (and Hyper-V leaves) as vCPU @v sees it. */
static int vm_vcpu_cpuid(struct vm *vm, struct vcpu *v)
{
	struct kvm_cpuid2 *cpuid = cpuid_dup(vm->cpuid);
	struct kvm_cpuid_entry2 *e1;
	int r = 0;

	if (!cpuid)
		return -ENOMEM;
	cpuid_apply(cpuid, v->apic_id, vm->nr_vcpus, vm->opts.conservative_cpu);
	if (vm->opts.conservative_cpu)
		cpuid_set_tsc_khz(cpuid, (uint32_t)vm->tsc_khz);
	if (vm->hv)
		r = hv_cpuid_patch(vm->hv, cpuid, CPUID_MAX_ENTRIES);
	if (r)
		goto out;
	e1 = cpuid_find(cpuid, 1, 0);
	if (e1)
		pr_dbg("vCPU %u: CPUID.1 eax=%#x ebx=%#x ecx=%#x edx=%#x (%u leaves)",
		       v->index, e1->eax, e1->ebx, e1->ecx, e1->edx,
		       cpuid->nent);
	r = vcpu_set_cpuid(v, cpuid);
out:
	free(cpuid);
	return r;
}

static int st_cpu_model_init(struct vm *vm, char *err, size_t errlen)
{
	unsigned int i;
	int r;

	for (i = 0; i < vm->nr_vcpus; i++) {
		r = vm_vcpu_cpuid(vm, &vm->vcpus[i]);
		if (r) {
			snprintf(err, errlen, "vCPU %u: KVM_SET_CPUID2: %s", i,
				 strerror(-r));
			return r;
		}
	}
	return 0;
}

static void vm_console_quit(void *opaque)
{
	vm_request_stop(opaque, VM_STOP_USER, VM_STATUS_USER);
}

/* The I/O loop exists before the devices (they add their fds to it)... */
static int st_evloop_init(struct vm *vm, char *err, size_t errlen)
{
	int r = evloop_create(&vm->io);

	if (r)
		snprintf(err, errlen, "I/O loop: %s", strerror(-r));
	return r;
}

static void st_evloop_exit(struct vm *vm)
{
	if (vm->io)
		evloop_destroy(vm->io);
	vm->io = NULL;
}

/* ... and its thread starts once they are all there. */
static int st_io_init(struct vm *vm, char *err, size_t errlen)
{
	int r = evloop_start(vm->io, "io");

	if (!r)
		r = evloop_add_fd(vm->io, vm->rtc_timer_fd, EPOLLIN,
				  vm_devices_rtc_fire, vm);
	if (!r)
		r = console_attach(vm->console, vm->io, vm->uart,
				   vm_console_quit, vm);
	if (r)
		snprintf(err, errlen, "I/O thread: %s", strerror(-r));
	return r;
}

static void st_io_exit(struct vm *vm)
{
	if (!vm->io)
		return;
	evloop_stop(vm->io);
	console_detach(vm->console);
}

static const struct vm_stage vm_stages[] = {
	{ "bus", st_bus_init, st_bus_exit },
	{ "kvm", st_kvm_init, st_kvm_exit },
	{ "memory", st_memory_init, st_memory_exit },
	{ "irqchip", st_irqchip_init, NULL },
	{ "cpuid", st_cpuid_init, st_cpuid_exit },
	{ "vcpus", st_vcpus_init, st_vcpus_exit },
	{ "hyperv", vm_hyperv_init, vm_hyperv_exit },
	{ "cpu-model", st_cpu_model_init, NULL },
	{ "evloop", st_evloop_init, st_evloop_exit },
	{ "devices", vm_devices_init, vm_devices_exit },
	{ "firmware", vm_firmware_init, vm_firmware_exit },
	{ "kernel", vm_boot_init, NULL },
	{ "io", st_io_init, st_io_exit },
	{ "vmbus", vm_vmbus_init, vm_vmbus_exit },
};

int vm_create(const struct vm_config *cfg, const struct vm_options *opts,
	      struct console *console, struct vm **out)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	char err[CONFIG_ERR_MAX] = "";
	pthread_condattr_t ca;
	unsigned int i;
	int r = 0;

	if (!vm)
		return -ENOMEM;
	vm->cfg = cfg;
	vm->opts = *opts;
	vm->console = console;
	vm->nr_vcpus = cfg->vcpus;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->vmbus_tick_fd = -1;
	vm->rtc_timer_fd = -1;
	vm->vmbus_enabled = cfg->hyperv.enabled && cfg->hyperv.synic &&
			    cfg->acpi;
	vm->start_ns = time_now_ns();
	gmem_init(&vm->gm);
	pthread_mutex_init(&vm->stop_lock, NULL);
	/* vm_run() times the crash grace period on CLOCK_MONOTONIC. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->stop_cond, &ca);
	pthread_condattr_destroy(&ca);
	vcpu_runstate_init(&vm->runstate);
	vm->vcpu_host = (struct vcpu_host){
		.pio = &vm->pio,
		.mmio = &vm->mmio,
		.gm = &vm->gm,
		.hv = NULL, /* the hyperv stage fills it in */
		.rs = &vm->runstate,
		.stop = vm_vcpu_stop,
		.opaque = vm,
	};
	for (i = 0; i < ARRAY_SIZE(vm_stages); i++) {
		/* Entered: a failing stage's exit undoes its partial work. */
		vm->stage = i + 1;
		err[0] = '\0';
		r = vm_stages[i].init(vm, err, sizeof(err));
		if (r)
			break;
	}
	if (r) {
		pr_err("vm: stage '%s' failed: %s", vm_stages[i].name,
		       err[0] ? err : strerror(-r));
		vm_destroy(vm);
		return r;
	}
	*out = vm;
	return 0;
}

void vm_destroy(struct vm *vm)
{
	unsigned int i;

	if (!vm)
		return;
	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
	/* No I/O-thread callback may run while stages unwind. */
	if (vm->io)
		evloop_stop(vm->io);
	while (vm->stage > 0) {
		vm->stage--;
		if (vm_stages[vm->stage].exit)
			vm_stages[vm->stage].exit(vm);
	}
	free(vm->crash_msg);
	pthread_cond_destroy(&vm->stop_cond);
	pthread_mutex_destroy(&vm->stop_lock);
	vcpu_runstate_destroy(&vm->runstate);
	free(vm);
}

enum vm_stop_reason vm_run(struct vm *vm)
{
	unsigned int i;
	int r;

	for (i = 0; i < vm->nr_vcpus; i++) {
		r = vcpu_start(&vm->vcpus[i]);
		if (r) {
			pr_err("vCPU %u: cannot start thread: %s", i,
			       strerror(-r));
			vm_request_stop(vm, VM_STOP_FAILURE, VM_STATUS_ERROR);
			break;
		}
	}
	pthread_mutex_lock(&vm->stop_lock);
	while (vm->stop_reason == VM_STOP_NONE) {
		struct timespec ts;
		uint64_t now = time_now_ns();

		if (!vm->crash_deadline_ns) {
			pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
			continue;
		}
		if (now >= vm->crash_deadline_ns) {
			pr_warn("on_crash=restart: the guest did not reset within %llu s of its crash report: resetting it",
				VM_CRASH_GRACE_NS / 1000000000ULL);
			pthread_mutex_unlock(&vm->stop_lock);
			vm_request_stop(vm, VM_STOP_CRASH_RESTART,
					VM_STATUS_CRASH);
			pthread_mutex_lock(&vm->stop_lock);
			continue;
		}
		ts.tv_sec = (time_t)(vm->crash_deadline_ns / 1000000000ULL);
		ts.tv_nsec = (long)(vm->crash_deadline_ns % 1000000000ULL);
		pthread_cond_timedwait(&vm->stop_cond, &vm->stop_lock, &ts);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
	/* With -v, show where the guest was when the user stopped it. */
	if (vm->stop_reason == VM_STOP_USER && log_get_level() >= LOG_INFO)
		for (i = 0; i < vm->nr_vcpus; i++)
			vcpu_dump(&vm->vcpus[i], stderr);
	return vm->stop_reason;
}

int vm_pause(struct vm *vm)
{
	unsigned int i, started = 0;

	vm_pause_request(vm);
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].thread_started)
			started++;
	return vcpu_runstate_wait_parked(&vm->runstate, started);
}

void vm_resume(struct vm *vm)
{
	vcpu_runstate_resume(&vm->runstate);
	if (vm->ic_timesync)
		ic_timesync_resume(vm->ic_timesync);
}

bool vm_is_paused(struct vm *vm)
{
	return vcpu_runstate_get(&vm->runstate) == VCPU_PAUSED;
}

bool vm_is_stopping(struct vm *vm)
{
	return vcpu_runstate_get(&vm->runstate) == VCPU_STOPPED;
}

void vm_stats_print(struct vm *vm, FILE *f)
{
	unsigned int i, r;

	fprintf(f,
		"hvkvm: stats: run time %.3f s, guest RAM %llu MiB, vCPUs %u\n",
		(double)(time_now_ns() - vm->start_ns) / 1e9,
		(unsigned long long)(vm->cfg->memory / MiB), vm->nr_vcpus);
	for (i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu_stats *s = &vm->vcpus[i].stats;

		fprintf(f, "hvkvm: stats: vcpu%u exits:", i);
		for (r = 0; r < VCPU_EXIT_REASONS; r++)
			if (s->exits[r])
				fprintf(f, " %s=%llu", vcpu_exit_name(r),
					(unsigned long long)s->exits[r]);
		fprintf(f, " hypercalls=%llu",
			(unsigned long long)s->hypercalls);
		for (r = 1; r < INSN_ASSIST_KINDS; r++)
			if (s->assists[r])
				fprintf(f, " assist_%s=%llu",
					insn_assist_name(r),
					(unsigned long long)s->assists[r]);
		fprintf(f, "\n");
	}
	fprintf(f, "hvkvm: stats: unclaimed pio=%llu mmio=%llu\n",
		(unsigned long long)vm->pio.unclaimed,
		(unsigned long long)vm->mmio.unclaimed);
	if (vm->hv)
		hv_stats_print(vm->hv, f);
}
