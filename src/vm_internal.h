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
 * KVM memory slots: gmem region i is slot i. Booting a BIOS, the low RAM
 * slot ends at 0xC0000 and these are added: low RAM from 1 MiB, the ROM
 * below 4 GiB, one per PAM segment of 0xC0000-0xFFFFF.
 */
#define VM_SLOT_LOW_RAM_1M GMEM_MAX_REGIONS
#define VM_SLOT_ROM (GMEM_MAX_REGIONS + 1)
#define VM_SLOT_PAM(seg) (GMEM_MAX_REGIONS + 2 + (seg))
#define VM_SHADOW_START 0xc0000ULL /* PAM area: 0xC0000-0xFFFFF */
#define VM_SHADOW_END 0x100000ULL

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
/*
 * vm.c: (re)define KVM memory slot @slot; @size 0 deletes it. Read-only
 * slots need KVM_CAP_READONLY_MEM (writes to them exit as MMIO).
 */
int vm_set_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		void *hva, bool readonly);

/* vm_devices.c: the platform devices, one table. */
int vm_devices_init(struct vm *vm, char *err, size_t errlen);
void vm_devices_exit(struct vm *vm);
/* The RTC's timerfd fired (I/O thread). */
void vm_devices_rtc_fire(void *opaque, uint32_t events);
struct block_dev;
struct config_disk;
int vm_disk_open(const struct config_disk *d, struct block_dev **bd);

/* vm_hyperv.c: the Hyper-V enlightenments and their host services. */
int vm_hyperv_init(struct vm *vm, char *err, size_t errlen);
void vm_hyperv_exit(struct vm *vm);

/* vm_boot.c: e820, ACPI tables, the kernel and initrd, boot CPU state. */
int vm_boot_init(struct vm *vm, char *err, size_t errlen);
/* The ACPI tables' view of this VM (both boot paths build from it). */
struct acpi_params;
void vm_acpi_params(struct vm *vm, struct acpi_params *ap);
/* The SMBIOS tables' view of it: Hyper-V identity iff VMBus is on. */
struct smbios_params;
void vm_smbios_params(struct vm *vm, struct smbios_params *sp);

/*
 * vm_firmware.c: booting a BIOS (SeaBIOS): the ROM below 4 GiB and at
 * 0xE0000, PAM-driven shadow RAM, the fw_cfg files the BIOS reads, its
 * debug port. Does nothing when the VM boots a kernel directly.
 */
int vm_firmware_init(struct vm *vm, char *err, size_t errlen);
void vm_firmware_exit(struct vm *vm);

/* vm_vmbus.c: the VMBus server and ICs on the I/O thread. */
int vm_vmbus_init(struct vm *vm, char *err, size_t errlen);
void vm_vmbus_exit(struct vm *vm);

#endif /* HVKVM_VM_INTERNAL_H */
