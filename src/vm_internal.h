/* SPDX-License-Identifier: MIT */
/*
 * vm_internal: what the vm_*.c files share — the start-up stages each file
 * contributes to the table in vm.c, and the few helpers they call across.
 * Not for anyone outside src/vm*.c.
 */
#ifndef HVKVM_VM_INTERNAL_H
#define HVKVM_VM_INTERNAL_H

#include <stddef.h>

#include "hvkvm/util.h"
#include "hvkvm/vm.h"

/* RAM below the PCI hole; the rest goes above 4 GiB. */
#define VM_LOW_RAM_MAX (3 * GiB)

/*
 * A start-up stage. @init fills @err with one line of context on failure
 * and returns -errno; @exit (may be NULL) undoes whatever @init did, also
 * when @init failed halfway, so every exit tolerates a partial init.
 */
struct vm_stage {
	const char *name;
	int (*init)(struct vm *vm, char *err, size_t errlen);
	void (*exit)(struct vm *vm);
};

/* vm.c: any thread, ask the vCPUs to park; returns at once. */
void vm_pause_request(struct vm *vm);

/* vm_devices.c: the platform devices, one table. */
int vm_devices_init(struct vm *vm, char *err, size_t errlen);
void vm_devices_exit(struct vm *vm);
/* The RTC's timerfd fired (I/O thread). */
void vm_devices_rtc_fire(void *opaque, uint32_t events);

/* vm_hyperv.c: the Hyper-V enlightenments and their host services. */
int vm_hyperv_init(struct vm *vm, char *err, size_t errlen);
void vm_hyperv_exit(struct vm *vm);

/* vm_boot.c: e820, ACPI tables, the kernel and initrd, boot CPU state. */
int vm_boot_init(struct vm *vm, char *err, size_t errlen);

/* vm_vmbus.c: the VMBus server and ICs on the I/O thread. */
int vm_vmbus_init(struct vm *vm, char *err, size_t errlen);
void vm_vmbus_exit(struct vm *vm);

#endif /* HVKVM_VM_INTERNAL_H */
