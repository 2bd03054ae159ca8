/* SPDX-License-Identifier: MIT */
/*
 * vm: one KVM virtual machine — the /dev/kvm VM with the in-kernel irqchip
 * and PIT, guest RAM from a memfd, the PIO/MMIO buses, the platform devices,
 * the Hyper-V enlightenments and one thread per vCPU. Built by an ordered
 * table of start-up stages and unwound in reverse.
 */
#ifndef HVKVM_VM_H
#define HVKVM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hvkvm/boot.h"
#include "hvkvm/bus.h"
#include "hvkvm/config.h"
#include "hvkvm/gmem.h"
#include "hvkvm/irq.h"
#include "hvkvm/platform.h"
#include "hvkvm/vcpu.h"
#include "hvkvm/vmbus.h"

/* Process exit statuses (documented in README and --help). */
enum vm_exit_status {
	VM_STATUS_POWEROFF = 0, /* guest powered off (ACPI S5 / ctl) */
	VM_STATUS_ERROR = 1,	/* bad input or start-up failure */
	VM_STATUS_RESET = 2,	/* guest reset and on_reboot=destroy */
	VM_STATUS_CRASH = 4,	/* guest crash reported (Hyper-V crash MSRs) */
	VM_STATUS_FAILURE = 8,	/* triple fault / unhandled exit / KVM error */
	VM_STATUS_USER = 16,	/* stopped by the user (Ctrl-A x, signal) */
};

enum vm_stop_reason {
	VM_STOP_NONE,
	VM_STOP_POWEROFF,
	VM_STOP_RESET,
	VM_STOP_CRASH,
	VM_STOP_FAILURE,
	VM_STOP_USER,
	VM_STOP_DEBUG_EXIT,
	/* on_crash=restart: the guest crashed, then reset (or timed out). */
	VM_STOP_CRASH_RESTART,
};

/*
 * After a crash report (Hyper-V CRASH_CTL) with on_crash=restart, the guest
 * may finish its panic path (a Linux guest unloads VMBus, then resets
 * itself) for this long before hvkvm resets it.
 */
#define VM_CRASH_GRACE_NS (30ULL * 1000000000)

struct vm_options {
	bool stats;	       /* print counters at exit */
	bool conservative_cpu; /* emulating KVM: safe CPU model */
	bool exit_on_reset;    /* reset ends the process (status 2) */
};

struct vm {
	const struct vm_config *cfg; /* what to build */
	struct vm_options opts;
	int kvm_fd;		       /* /dev/kvm */
	int vm_fd;		       /* KVM VM */
	struct gmem gm;		       /* guest RAM */
	struct bus pio;		       /* port I/O space */
	struct bus mmio;	       /* MMIO space */
	struct irq_sink irq;	       /* in-kernel irqchip */
	struct platform_events events; /* device -> machine requests */
	struct vcpu_host vcpu_host;    /* what the vCPUs see of the VM */
	struct vcpu *vcpus;	       /* [nr_vcpus] */
	unsigned int nr_vcpus;
	uint32_t *apic_ids;	  /* [nr_vcpus] */
	struct kvm_cpuid2 *cpuid; /* base model before per-vCPU fixes */
	uint64_t tsc_khz;
	struct boot_entry entry; /* how the boot CPU starts */
	uint64_t rsdp_addr;
	struct e820_map e820;

	/* Devices and services (NULL when absent). */
	struct uart *uart;
	struct rtc *rtc;
	struct i8042 *i8042;
	struct pci_host *pci;
	struct fw_cfg *fw_cfg;
	struct ide *ide; /* PIIX4 IDE, if the VM has IDE drives */
	struct acpi_pm *acpi_pm;
	struct debug_exit *debug_exit;
	struct hv *hv;
	struct vm_firmware *firmware; /* booting a BIOS: vm_firmware.c */
	bool vmbus_enabled;	      /* SynIC on: VMBus + ICs offered */
	struct vmbus_server *vmbus;
	struct vmbus_host_ops vmbus_ops; /* SynIC glue */
	struct ic_heartbeat *ic_heartbeat;
	struct ic_shutdown *ic_shutdown;
	struct ic_timesync *ic_timesync;
	struct ic_kvp *ic_kvp;
	/* Synthetic SCSI controllers and their LUNs (vm_vmbus.c). */
	struct vm_scsi_ctrl {
		struct storvsp *sv; /* NULL: no such controller */
		struct vm_scsi_lun {
			struct block_dev *bd; /* owned; NULL = empty */
			char name[16];	      /* "sdb", for ctl */
		} lun[CONFIG_SCSI_TARGETS][CONFIG_SCSI_LUNS];
	} scsi[CONFIG_SCSI_CONTROLLERS];
	/* The Hyper-V IDE accelerator of each IDE hard disk (hda..hdd). */
	struct storvsp *ide_accel[4];
	/* Synthetic NICs (model=netvsc) and their TAP backends, owned. */
	struct netvsp *netvsp[CONFIG_MAX_NICS];
	struct net_backend *netvsp_nb[CONFIG_MAX_NICS];
	int vmbus_tick_fd; /* 1 s timerfd for IC periodic work */
	int rtc_timer_fd;  /* one-shot timerfd for RTC IRQ 8 */
	struct evloop *io; /* I/O thread */
	struct console *console;

	/* Stopping. */
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	enum vm_stop_reason stop_reason; /* first reason wins */
	int stop_status;		 /* process exit status */
	unsigned int stage;		 /* start-up stages entered */

	/* Guest crash (stop_lock): the last report and the restart timer. */
	unsigned int crashes; /* reports since this VM started */
	unsigned int crash_vp;
	uint64_t crash_p[5];	    /* CRASH_P0..P4 */
	uint64_t crash_deadline_ns; /* on_crash=restart: reset by then */
	char *crash_msg;	    /* the last report's message, or NULL */

	/* Running, paused (vCPUs parked outside KVM_RUN) or stopped. */
	struct vcpu_runstate runstate;
	uint64_t start_ns; /* process start, for timings */
};

/* Build the VM from @cfg (stages in order, unwound on failure). */
int vm_create(const struct vm_config *cfg, const struct vm_options *opts,
	      struct console *console, struct vm **out);
/* Start the vCPUs and wait until the guest stops; returns the reason. */
enum vm_stop_reason vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);
/* Any thread: stop the VM with @reason (first caller wins). */
void vm_request_stop(struct vm *vm, enum vm_stop_reason reason, int status);
/*
 * The same for a stop the guest caused (its reset, power-off, triple
 * fault): after a crash report with on_crash=restart it restarts the VM.
 * Host requests (ctl poweroff, signals) use vm_request_stop().
 */
void vm_guest_stop(struct vm *vm, enum vm_stop_reason reason, int status);
/* Park every vCPU outside KVM_RUN (returns once they are) / let them go. */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
bool vm_is_paused(struct vm *vm);
/* A stop was requested (vCPUs are leaving or have left). */
bool vm_is_stopping(struct vm *vm);
/* The guest's last crash report (Hyper-V CRASH_CTL), for ctl status. */
struct vm_crash_report {
	unsigned int reports; /* since this VM started; 0 = none */
	unsigned int vp;      /* the vCPU that reported */
	uint64_t p[5];	      /* CRASH_P0..P4 */
	char *msg;	      /* its message as text, or NULL; caller frees */
};
/* Any thread: a copy of the last report (all zero and NULL if none). */
void vm_crash_get(struct vm *vm, struct vm_crash_report *out);
/* Counters for --stats and the control socket. */
void vm_stats_print(struct vm *vm, FILE *f);

/*
 * Hot-add the bus=scsi disk @d to a running VM (its controller must exist;
 * the address is @d's, or the first free LUN of controller 0 when @d has
 * neither an address nor a name) and tell the guest. Hot-remove the SCSI
 * disk named @which ("sdb") or at address "C:T:L". On the I/O thread (the
 * control socket's). 0 or -errno with one line in @err.
 */
int vm_disk_hot_add(struct vm *vm, struct config_disk *d, char *err,
		    size_t errlen);
int vm_disk_hot_remove(struct vm *vm, const char *which, char *err,
		       size_t errlen);
/*
 * Link up/down of NIC @which ("net0" = the first --nic, or its TAP name),
 * told to the guest's driver. On the I/O thread. 0 or -errno with @err.
 */
int vm_nic_set_link(struct vm *vm, const char *which, bool up, char *err,
		    size_t errlen);
/* Counters of every synthetic storage controller (ctl stats). */
void vm_storage_stats_foreach(struct vm *vm,
			      void (*fn)(void *opaque, const char *name,
					 uint64_t value),
			      void *opaque);

#endif /* HVKVM_VM_H */
