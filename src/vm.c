// SPDX-License-Identifier: MIT
/*
 * vm: builds one VM from a struct vm_config through an ordered table of
 * start-up stages (unwound in reverse from the one that failed), runs its
 * vCPUs and stops it when a device, a vCPU or the user asks.
 */
#include "hvkvm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "hvkvm/acpi.h"
#include "hvkvm/acpi_pm.h"
#include "hvkvm/console.h"
#include "hvkvm/cpuid.h"
#include "hvkvm/debug_exit.h"
#include "hvkvm/evloop.h"
#include "hvkvm/fw_cfg.h"
#include "hvkvm/hyperv.h"
#include "hvkvm/i8042.h"
#include "hvkvm/pci.h"
#include "hvkvm/rtc.h"
#include "hvkvm/uart.h"
#include "hvkvm/util.h"
#include "hvkvm/vcpu.h"
#include "hvkvm/vmbus.h"

#define VM_TSS_ADDR		0xfffbd000ULL
#define VM_IDENTITY_MAP_ADDR	0xfffbc000ULL
#define VM_LOW_RAM_MAX		(3 * GiB)
#define HV_MSR_FILTER_BASE	0x40000000u
#define HV_MSR_FILTER_COUNT	0x200u

/* Stage helpers report one line of context for the user. */
struct vm_stage {
	const char *name;
	int (*init)(struct vm *vm, char *err, size_t errlen);
	void (*exit)(struct vm *vm);
};

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

/* ---- platform events from devices ---- */

static void vm_ev_poweroff(void *opaque)
{
	vm_guest_stop(opaque, VM_STOP_POWEROFF, VM_STATUS_POWEROFF);
}

static void vm_ev_reset(void *opaque)
{
	vm_guest_stop(opaque, VM_STOP_RESET, VM_STATUS_RESET);
}

static void vm_ev_debug_exit(void *opaque, int status)
{
	vm_request_stop(opaque, VM_STOP_DEBUG_EXIT, status);
}

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

/* Any thread: ask the vCPUs to park; returns at once. */
static void vm_pause_request(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&vm->paused, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->pause_lock);
	vm_kick_others(vm);
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason, int status)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason == VM_STOP_NONE) {
		vm->stop_reason = reason;
		vm->stop_status = status;
	}
	__atomic_store_n(&vm->stopping, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->stop_cond);
	pthread_mutex_unlock(&vm->stop_lock);
	/* Parked vCPUs must see the stop too. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	vm_kick_others(vm);
}

/* ---- stages ---- */

static int st_kvm_init(struct vm *vm, char *err, size_t errlen)
{
	int api, type = 0;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;

		snprintf(err, errlen, "/dev/kvm: %s%s", strerror(e),
			 e == EACCES ? " (add yourself to the kvm group or run as root)" :
			 e == ENOENT ? " (KVM is not available on this host)" : "");
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
		snprintf(err, errlen, "KVM lacks the in-kernel irqchip or user memory");
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

static int st_memory_init(struct vm *vm, char *err, size_t errlen)
{
	unsigned int i;
	int r;

	r = gmem_create_ram(&vm->gm, vm->cfg->memory, VM_LOW_RAM_MAX);
	if (r) {
		snprintf(err, errlen, "cannot allocate %llu MiB of guest RAM: %s",
			 (unsigned long long)(vm->cfg->memory / MiB),
			 strerror(-r));
		return r;
	}
	for (i = 0; i < vm->gm.nr_regions; i++) {
		const struct gmem_region *g = &vm->gm.regions[i];
		struct kvm_userspace_memory_region mr = {
			.slot = i,
			.guest_phys_addr = g->gpa,
			.memory_size = g->size,
			.userspace_addr = (uintptr_t)g->hva,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0) {
			snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s",
				 strerror(errno));
			return -errno;
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
		snprintf(err, errlen, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
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
			snprintf(err, errlen,
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

/* RTC interrupts (UIE/AIE/PIE) on time: a one-shot timerfd -> rtc_poll(). */
static void vm_rtc_arm(void *opaque, uint64_t delay_ns)
{
	struct vm *vm = opaque;
	struct itimerspec its = { 0 };

	if (delay_ns) {
		its.it_value.tv_sec = (time_t)(delay_ns / 1000000000ULL);
		its.it_value.tv_nsec = (long)(delay_ns % 1000000000ULL);
	}
	timerfd_settime(vm->rtc_timer_fd, 0, &its, NULL);
}

static void vm_rtc_fire(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t n;

	(void)events;
	if (read(vm->rtc_timer_fd, &n, sizeof(n)) > 0)
		rtc_poll(vm->rtc);
}

static int st_devices_init(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	uint64_t below = MIN(cfg->memory, VM_LOW_RAM_MAX);
	int r;

	vm->events = (struct platform_events){
		.poweroff = vm_ev_poweroff,
		.reset = vm_ev_reset,
		.debug_exit = vm_ev_debug_exit,
		.opaque = vm,
	};
	r = uart_create(&vm->pio, &vm->irq, UART_COM1_BASE, UART_COM1_IRQ,
			console_output_fd(vm->console), &vm->uart);
	if (!r)
		r = rtc_create(&vm->pio, &vm->irq, RTC_IRQ, below,
			       cfg->memory - below, vm->nr_vcpus,
			       cfg->clock_utc, &vm->rtc);
	if (!r)
		r = i8042_create(&vm->pio, &vm->irq, &vm->events, &vm->i8042);
	if (!r)
		r = pci_create(&vm->pio, &vm->irq, &vm->events, &vm->pci);
	if (!r)
		r = fw_cfg_create(&vm->pio, &vm->fw_cfg);
	if (!r && cfg->acpi)
		r = acpi_pm_create(&vm->pio, &vm->irq, ACPI_PM_BASE,
				   ACPI_PM_SCI_IRQ, ACPI_PM_SLP_TYP_S5,
				   &vm->events, &vm->acpi_pm);
	if (!r && cfg->debug_exit_port)
		r = debug_exit_create(&vm->pio, cfg->debug_exit_port, 4,
				      &vm->events, &vm->debug_exit);
	if (!r) {
		vm->rtc_timer_fd = timerfd_create(CLOCK_MONOTONIC,
						  TFD_CLOEXEC | TFD_NONBLOCK);
		if (vm->rtc_timer_fd < 0)
			r = -errno;
		else
			rtc_set_timer(vm->rtc, vm_rtc_arm, vm);
	}
	if (r) {
		snprintf(err, errlen, "platform devices: %s", strerror(-r));
		return r;
	}
	fw_cfg_add_u16(vm->fw_cfg, FW_CFG_NB_CPUS, (uint16_t)vm->nr_vcpus);
	fw_cfg_add_u16(vm->fw_cfg, FW_CFG_MAX_CPUS, (uint16_t)vm->nr_vcpus);
	fw_cfg_add_u64(vm->fw_cfg, FW_CFG_RAM_SIZE, cfg->memory);
	fw_cfg_add_item(vm->fw_cfg, FW_CFG_UUID, cfg->uuid, 16);
	if (cfg->cmdline) {
		size_t n = strlen(cfg->cmdline) + 1;

		fw_cfg_add_u32(vm->fw_cfg, FW_CFG_CMDLINE_ADDR,
			       (uint32_t)BOOT_CMDLINE_ADDR);
		fw_cfg_add_u32(vm->fw_cfg, FW_CFG_CMDLINE_SIZE, (uint32_t)n);
		fw_cfg_add_item(vm->fw_cfg, FW_CFG_CMDLINE_DATA, cfg->cmdline,
				n);
	}
	return 0;
}

static void st_devices_exit(struct vm *vm)
{
	if (vm->rtc_timer_fd >= 0)
		close(vm->rtc_timer_fd);
	vm->rtc_timer_fd = -1;
	if (vm->debug_exit)
		debug_exit_destroy(vm->debug_exit);
	if (vm->acpi_pm)
		acpi_pm_destroy(vm->acpi_pm);
	if (vm->fw_cfg)
		fw_cfg_destroy(vm->fw_cfg);
	if (vm->pci)
		pci_destroy(vm->pci);
	if (vm->i8042)
		i8042_destroy(vm->i8042);
	if (vm->rtc)
		rtc_destroy(vm->rtc);
	if (vm->uart)
		uart_destroy(vm->uart);
	vm->debug_exit = NULL;
	vm->acpi_pm = NULL;
	vm->fw_cfg = NULL;
	vm->pci = NULL;
	vm->i8042 = NULL;
	vm->rtc = NULL;
	vm->uart = NULL;
}

/* ---- Hyper-V host services ---- */

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
	m->entries[0].index = 0x10;	/* IA32_TSC */
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
				 (char)c : '?';
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

static int st_hyperv_init(struct vm *vm, char *err, size_t errlen)
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
	p.apic_khz = 1000000;	/* KVM's LAPIC timer runs at 1 GHz */
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
	return 0;
}

static void st_hyperv_exit(struct vm *vm)
{
	if (vm->hv)
		hv_destroy(vm->hv);
	vm->hv = NULL;
}

static int st_vcpus_init(struct vm *vm, char *err, size_t errlen)
{
	unsigned int i;
	int r, khz;

	for (i = 0; i < vm->nr_vcpus; i++) {
		r = vcpu_init(vm, &vm->vcpus[i], i);
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

static int st_cpu_model_init(struct vm *vm, char *err, size_t errlen)
{
	unsigned int i;
	int r;

	for (i = 0; i < vm->nr_vcpus; i++) {
		r = vcpu_configure(&vm->vcpus[i]);
		if (r) {
			snprintf(err, errlen, "vCPU %u: KVM_SET_CPUID2: %s", i,
				 strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Read a whole file the user named; errors name the file and the role. */
static int vm_read_file(const char *role, const char *path, uint64_t max,
			uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	size_t done = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s %s: %s", role, path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", role, path);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > max) {
		snprintf(err, errlen,
			 "%s %s: %llu bytes do not fit in %llu MiB of guest RAM",
			 role, path, (unsigned long long)st.st_size,
			 (unsigned long long)(max / MiB));
		close(fd);
		return -EFBIG;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "%s %s: empty file", role, path);
		close(fd);
		return -EINVAL;
	}
	*buf = malloc((size_t)st.st_size);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, *buf + done, (size_t)st.st_size - done);

		if (n <= 0) {
			snprintf(err, errlen, "%s %s: read error: %s", role,
				 path, n ? strerror(errno) : "short file");
			free(*buf);
			*buf = NULL;
			close(fd);
			return -EIO;
		}
		done += (size_t)n;
	}
	close(fd);
	*len = done;
	return 0;
}

static int st_kernel_init(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	struct acpi_params ap;
	struct boot_params_in in;
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t klen = 0, ilen = 0;
	char e2[CONFIG_ERR_MAX];
	int r;

	if (!cfg->kernel) {
		snprintf(err, errlen,
			 "no kernel given (--kernel or <os><kernel>); firmware boot is not supported yet");
		return -EINVAL;
	}
	r = e820_build(&vm->gm, &vm->e820);
	if (r) {
		snprintf(err, errlen, "e820 map: %s", strerror(-r));
		return r;
	}
	if (cfg->acpi) {
		memset(&ap, 0, sizeof(ap));
		ap.nr_vcpus = vm->nr_vcpus;
		ap.apic_ids = vm->apic_ids;
		ap.ioapic_id = (uint8_t)vm->nr_vcpus;
		ap.pm1a_evt = ACPI_PM_BASE + ACPI_PM1_EVT_OFF;
		ap.pm1a_cnt = ACPI_PM_BASE + ACPI_PM1_CNT_OFF;
		ap.pm_tmr = ACPI_PM_BASE + ACPI_PM_TMR_OFF;
		ap.pm_tmr_32bit = ACPI_PM_TMR_32BIT;
		ap.gpe0_blk = ACPI_PM_BASE + ACPI_GPE0_OFF;
		ap.gpe0_len = ACPI_GPE0_LEN;
		ap.reset_port = ACPI_RESET_PORT;
		ap.reset_value = ACPI_RESET_VALUE;
		if (vm->vmbus_enabled) {
			ap.extra_ssdt = acpi_vmbus_ssdt_aml;
			ap.extra_ssdt_len = acpi_vmbus_ssdt_aml_len;
		}
		r = acpi_build(&vm->gm, BOOT_ACPI_START, BOOT_ACPI_END, &ap,
			       &vm->rsdp_addr);
		if (r) {
			snprintf(err, errlen, "ACPI tables: %s", strerror(-r));
			return r;
		}
	}
	r = vm_read_file("kernel", cfg->kernel, cfg->memory, &kernel, &klen,
			 err, errlen);
	if (r)
		return r;
	if (cfg->initrd) {
		r = vm_read_file("initrd", cfg->initrd, cfg->memory, &initrd,
				 &ilen, err, errlen);
		if (r)
			goto out;
	}
	in = (struct boot_params_in){
		.kernel = kernel, .kernel_len = klen,
		.initrd = initrd, .initrd_len = ilen,
		.cmdline = cfg->cmdline, .rsdp_addr = vm->rsdp_addr,
		.e820 = &vm->e820,
	};
	r = boot_setup_gdt(&vm->gm);
	if (!r)
		r = boot_setup_page_tables(&vm->gm);
	if (r) {
		snprintf(err, errlen, "boot page tables: %s", strerror(-r));
		goto out;
	}
	r = boot_load(&vm->gm, &in, &vm->entry, e2, sizeof(e2));
	if (r) {
		snprintf(err, errlen, "%s: %s", cfg->kernel, e2);
		goto out;
	}
	r = vcpu_set_boot_state(&vm->vcpus[0], &vm->entry);
	if (r)
		snprintf(err, errlen, "boot CPU state: %s", strerror(-r));
	pr_info("kernel %s loaded as %s, entry %#llx", cfg->kernel,
		vm->entry.format, (unsigned long long)vm->entry.rip);
out:
	free(kernel);
	free(initrd);
	return r;
}

static void vm_console_quit(void *opaque)
{
	vm_request_stop(opaque, VM_STOP_USER, VM_STATUS_USER);
}

static int st_io_init(struct vm *vm, char *err, size_t errlen)
{
	int r = evloop_create(&vm->io);

	if (!r)
		r = evloop_start(vm->io, "io");
	if (!r)
		r = evloop_add_fd(vm->io, vm->rtc_timer_fd, EPOLLIN,
				  vm_rtc_fire, vm);
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
	evloop_destroy(vm->io);
	vm->io = NULL;
}

/* ---- VMBus: the server on the I/O thread, SynIC through the hv module ---- */

static int vm_vmbus_post(void *opaque, unsigned int vp, unsigned int sint,
			 uint32_t msg_type, const void *payload, uint32_t len)
{
	struct vm *vm = opaque;

	return hv_synic_post_message(vm->hv, vp, sint, msg_type, payload, len);
}

static int vm_vmbus_signal(void *opaque, unsigned int vp, unsigned int sint,
			   unsigned int flag)
{
	struct vm *vm = opaque;

	return hv_synic_signal_event(vm->hv, vp, sint, flag);
}

static int vm_vmbus_reg_message(void *opaque, uint32_t conn_id,
				vmbus_post_message_fn fn, void *arg)
{
	struct vm *vm = opaque;

	return hv_register_message_handler(vm->hv, conn_id, fn, arg);
}

static int vm_vmbus_reg_event(void *opaque, uint32_t conn_id,
			      vmbus_signal_event_fn fn, void *arg)
{
	struct vm *vm = opaque;

	return hv_register_event_handler(vm->hv, conn_id, fn, arg);
}

/*
 * A channel's HvSignalEvent straight to its eventfd: the hypercall page
 * writes the connection ID to HV_SIGNAL_PORT (4 bytes) and KVM completes
 * a write matching this ioeventfd in the kernel. Deassigning needs the
 * same addr/len/datamatch/fd; KVM drops its reference to the eventfd then.
 */
static int vm_vmbus_set_signal_fd(void *opaque, uint32_t conn_id, int efd,
				  bool assign)
{
	struct vm *vm = opaque;
	struct kvm_ioeventfd io = {
		.datamatch = conn_id,
		.addr = HV_SIGNAL_PORT,
		.len = HV_SIGNAL_PORT_LEN,
		.fd = efd,
		.flags = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

/* Time sync 4.0 samples: the clock behind the guest's TIME_REF_COUNT. */
static uint64_t vm_vmbus_ref_time(void *opaque)
{
	struct vm *vm = opaque;

	return hv_reference_time(vm->hv);
}

static void vm_vmbus_ready(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;

	(void)events;
	vmbus_server_process(vm->vmbus);
}

static void vm_vmbus_tick(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t n;

	(void)events;
	if (read(vm->vmbus_tick_fd, &n, sizeof(n)) < 0)
		return;
	vmbus_server_tick(vm->vmbus, time_now_ns());
}

static int st_vmbus_init(struct vm *vm, char *err, size_t errlen)
{
	static const struct itimerspec second = {
		.it_interval = { 1, 0 }, .it_value = { 1, 0 },
	};
	struct vmbus_server_params p;
	int r;

	vm->vmbus_tick_fd = -1;
	if (!vm->vmbus_enabled)
		return 0;
	vm->vmbus_ops = (struct vmbus_host_ops){
		.post_message = vm_vmbus_post,
		.signal_event = vm_vmbus_signal,
		.register_message = vm_vmbus_reg_message,
		.register_event = vm_vmbus_reg_event,
		.set_signal_fd = vm->hv ? vm_vmbus_set_signal_fd : NULL,
		.ref_time = vm->hv && hv_reference_time_available(vm->hv) ?
				    vm_vmbus_ref_time : NULL,
		.opaque = vm,
	};
	memset(&p, 0, sizeof(p));
	p.gm = &vm->gm;
	p.nr_vcpus = vm->nr_vcpus;
	p.ops = &vm->vmbus_ops;
	r = vmbus_server_create(&p, &vm->vmbus);
	if (!r)
		r = ic_heartbeat_create(vm->vmbus, &vm->ic_heartbeat);
	if (!r)
		r = ic_shutdown_create(vm->vmbus, &vm->ic_shutdown);
	if (!r)
		r = ic_timesync_create(vm->vmbus, &vm->ic_timesync);
	if (!r)
		r = ic_kvp_create(vm->vmbus, &vm->ic_kvp);
	if (!r)
		r = evloop_add_fd(vm->io, vmbus_server_fd(vm->vmbus), EPOLLIN,
				  vm_vmbus_ready, vm);
	if (!r) {
		vm->vmbus_tick_fd = timerfd_create(CLOCK_MONOTONIC,
						   TFD_CLOEXEC | TFD_NONBLOCK);
		if (vm->vmbus_tick_fd < 0 ||
		    timerfd_settime(vm->vmbus_tick_fd, 0, &second, NULL) < 0)
			r = -errno;
	}
	if (!r)
		r = evloop_add_fd(vm->io, vm->vmbus_tick_fd, EPOLLIN,
				  vm_vmbus_tick, vm);
	if (r)
		snprintf(err, errlen, "VMBus: %s", strerror(-r));
	return r;
}

static void st_vmbus_exit(struct vm *vm)
{
	/* The I/O thread is stopped by now (the io stage unwinds later). */
	if (vm->io && vm->vmbus)
		evloop_del_fd(vm->io, vmbus_server_fd(vm->vmbus));
	if (vm->io && vm->vmbus_tick_fd >= 0)
		evloop_del_fd(vm->io, vm->vmbus_tick_fd);
	if (vm->vmbus_tick_fd >= 0)
		close(vm->vmbus_tick_fd);
	vm->vmbus_tick_fd = -1;
	if (vm->vmbus)
		vmbus_server_destroy(vm->vmbus);
	vm->vmbus = NULL;
}

static const struct vm_stage vm_stages[] = {
	{ "kvm", st_kvm_init, st_kvm_exit },
	{ "memory", st_memory_init, st_memory_exit },
	{ "irqchip", st_irqchip_init, NULL },
	{ "cpuid", st_cpuid_init, st_cpuid_exit },
	{ "vcpus", st_vcpus_init, st_vcpus_exit },
	{ "hyperv", st_hyperv_init, st_hyperv_exit },
	{ "cpu-model", st_cpu_model_init, NULL },
	{ "devices", st_devices_init, st_devices_exit },
	{ "kernel", st_kernel_init, NULL },
	{ "io", st_io_init, st_io_exit },
	{ "vmbus", st_vmbus_init, st_vmbus_exit },
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
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->stop_lock, NULL);
	/* vm_run() times the crash grace period on CLOCK_MONOTONIC. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->stop_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	for (i = 0; i < ARRAY_SIZE(vm_stages); i++) {
		err[0] = '\0';
		r = vm_stages[i].init(vm, err, sizeof(err));
		if (r)
			break;
		vm->stage = i + 1;
	}
	if (r) {
		pr_err("%s", err[0] ? err : strerror(-r));
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
	pthread_cond_destroy(&vm->pause_cond);
	pthread_mutex_destroy(&vm->pause_lock);
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
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->parked < started &&
	       !__atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
	return __atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE) ? -ESHUTDOWN : 0;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	vm->paused = false;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	if (vm->ic_timesync)
		ic_timesync_resume(vm->ic_timesync);
}

bool vm_is_paused(struct vm *vm)
{
	return __atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE);
}

void vm_stats_print(struct vm *vm, FILE *f)
{
	unsigned int i, r;

	fprintf(f, "hvkvm: stats: run time %.3f s, guest RAM %llu MiB, vCPUs %u\n",
		(double)(time_now_ns() - vm->start_ns) / 1e9,
		(unsigned long long)(vm->cfg->memory / MiB), vm->nr_vcpus);
	for (i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu_stats *s = &vm->vcpus[i].stats;

		fprintf(f, "hvkvm: stats: vcpu%u exits:", i);
		for (r = 0; r < VCPU_EXIT_REASONS; r++)
			if (s->exits[r])
				fprintf(f, " %s=%llu", vcpu_exit_name(r),
					(unsigned long long)s->exits[r]);
		fprintf(f, " hypercalls=%llu", (unsigned long long)s->hypercalls);
		for (r = 1; r < INSN_ASSIST_KINDS; r++)
			if (s->assists[r])
				fprintf(f, " assist_%s=%llu", insn_assist_name(r),
					(unsigned long long)s->assists[r]);
		fprintf(f, "\n");
	}
	fprintf(f, "hvkvm: stats: unclaimed pio=%llu mmio=%llu\n",
		(unsigned long long)vm->pio.unclaimed,
		(unsigned long long)vm->mmio.unclaimed);
	if (vm->hv)
		hv_stats_print(vm->hv, f);
}
