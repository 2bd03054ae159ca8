/* SPDX-License-Identifier: MIT */
/*
 * platform: what a device may ask of the machine as a whole. Devices call
 * these from a vCPU thread; the VM decides (exit status, reboot policy).
 */
#ifndef HVKVM_PLATFORM_H
#define HVKVM_PLATFORM_H

struct platform_events {
	/* ACPI S5 (PM1a_CNT SLP_EN with SLP_TYP 5) or a power-off request. */
	void (*poweroff)(void *opaque);
	/* Guest-requested reset: 0xCF9, i8042 pulse, FADT reset register. */
	void (*reset)(void *opaque);
	/* Debug-exit device: end the VMM with @status ((v << 1) | 1). */
	void (*debug_exit)(void *opaque, int status);
	void *opaque;
};

#endif /* HVKVM_PLATFORM_H */
