/* SPDX-License-Identifier: MIT */
/*
 * vcpu: one KVM vCPU and its thread — KVM_RUN, one switch on the exit
 * reason, dispatch to the buses and the Hyper-V module. The vCPU sees the
 * machine only through a struct vcpu_host (buses, guest memory, Hyper-V,
 * the shared run state and a stop callback), so the exit dispatch runs in
 * a test with fakes and a hand-made struct kvm_run.
 */
#ifndef HVKVM_VCPU_H
#define HVKVM_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hvkvm/boot.h"
#include "hvkvm/bus.h"
#include "hvkvm/gmem.h"
#include "hvkvm/insn_assist.h"

struct hv;
struct kvm_cpuid2;
struct kvm_run;

/* ---- run state, shared by all vCPUs of a VM ---- */

/* RUNNING <-> PAUSED, either -> STOPPED (final). */
enum vcpu_state {
	VCPU_PAUSED,  /* vCPUs park outside KVM_RUN */
	VCPU_RUNNING, /* vCPUs run the guest */
	VCPU_STOPPED, /* vCPUs leave their loops */
};

struct vcpu_runstate {
	pthread_mutex_t lock;  /* orders changes, guards @parked */
	pthread_cond_t cond;   /* state changed or a vCPU parked */
	enum vcpu_state state; /* atomic: read without the lock */
	unsigned int parked;   /* vCPUs parked now (lock) */
};

/* Starts RUNNING. */
void vcpu_runstate_init(struct vcpu_runstate *rs);
void vcpu_runstate_destroy(struct vcpu_runstate *rs);
/* Any thread, no lock: the state now. */
enum vcpu_state vcpu_runstate_get(struct vcpu_runstate *rs);
/* RUNNING -> PAUSED; false (no change) unless it was RUNNING. */
bool vcpu_runstate_pause(struct vcpu_runstate *rs);
/* PAUSED -> RUNNING, waking parked vCPUs; false unless it was PAUSED. */
bool vcpu_runstate_resume(struct vcpu_runstate *rs);
/* Any state -> STOPPED, waking parked vCPUs and waiters. */
void vcpu_runstate_stop(struct vcpu_runstate *rs);
/* Wait until @n vCPUs are parked: 0, or -ESHUTDOWN once STOPPED. */
int vcpu_runstate_wait_parked(struct vcpu_runstate *rs, unsigned int n);
/* vCPU thread: park while PAUSED (returns on RUNNING or STOPPED). */
void vcpu_runstate_park(struct vcpu_runstate *rs);

/* ---- what a vCPU needs from its machine ---- */

/* Why a vCPU asks its machine to stop. */
enum vcpu_stop {
	VCPU_STOP_POWEROFF,	 /* guest: KVM system event power-off */
	VCPU_STOP_RESET,	 /* guest: KVM system event reset */
	VCPU_STOP_GUEST_FAILURE, /* guest: triple fault, unhandled exit */
	VCPU_STOP_HOST_FAILURE,	 /* host: KVM_RUN itself failed */
};

struct vcpu_host {
	struct bus *pio;	  /* port I/O space */
	struct bus *mmio;	  /* MMIO space */
	struct gmem *gm;	  /* guest RAM: code bytes for assists */
	struct hv *hv;		  /* Hyper-V, or NULL when off */
	struct vcpu_runstate *rs; /* the VM's run state */
	/* Any vCPU thread; the vCPU that asks leaves its loop itself. */
	void (*stop)(void *opaque, enum vcpu_stop why);
	void *opaque; /* for @stop */
};

/* ---- one vCPU ---- */

#define VCPU_EXIT_REASONS 64

/* Written by the vCPU thread only (relaxed atomic stores), read by any. */
struct vcpu_stats {
	uint64_t exits[VCPU_EXIT_REASONS]; /* by KVM_EXIT_* */
	uint64_t pio_exits;		   /* port accesses */
	uint64_t mmio_exits;
	uint64_t msr_exits;
	uint64_t hypercalls;
	uint64_t assists[INSN_ASSIST_KINDS]; /* insn_assist by kind */
};

struct vcpu {
	const struct vcpu_host *host; /* the machine, shared by all vCPUs */
	unsigned int index;	      /* 0 = boot CPU; also the VP index */
	uint32_t apic_id;
	int fd;		     /* KVM vCPU fd */
	int stats_fd;	     /* KVM_GET_STATS_FD, or -errno */
	struct kvm_run *run; /* shared run page */
	size_t run_size;
	pthread_t thread;
	bool thread_started;
	struct vcpu_stats stats;
};

/* KVM_CREATE_VCPU on @vm_fd and map its run page (size from @kvm_fd). */
int vcpu_init(struct vcpu *v, const struct vcpu_host *host, int kvm_fd,
	      int vm_fd, unsigned int index, uint32_t apic_id);
void vcpu_destroy(struct vcpu *v);
/* KVM_SET_CPUID2: the CPU model as this vCPU sees it. */
int vcpu_set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *cpuid);
int vcpu_set_boot_state(struct vcpu *v, const struct boot_entry *entry);
int vcpu_start(struct vcpu *v);
/* Make the thread leave KVM_RUN soon (immediate_exit and a signal). */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
void vcpu_dump(struct vcpu *v, FILE *f);
const char *vcpu_exit_name(unsigned int reason);

/*
 * Dispatch the exit in v->run (the vCPU thread after KVM_RUN, or a test).
 * Returns false when the loop must end; host->stop was called then.
 */
bool vcpu_handle_exit(struct vcpu *v);

/*
 * Hyper-V GUEST_IDLE on @v's own thread (outside KVM_RUN): sleep until an
 * interrupt or NMI is pending for it in the in-kernel LAPIC, the VM is
 * asked to stop, pause or reset, or HV_IDLE_MAX_NS passed.
 */
void vcpu_guest_idle(struct vcpu *v);

#endif /* HVKVM_VCPU_H */
