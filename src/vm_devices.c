// SPDX-License-Identifier: MIT
/*
 * vm_devices: the platform devices of a VM, created and wired by one table
 * in order (and destroyed in reverse): COM1, the CMOS RTC, the i8042, the
 * PCI host bridge, fw_cfg, the ACPI PM block, the debug-exit port and the
 * PIIX4 IDE controller with its drives. A new device (a NIC, ...) is one
 * more entry in vm_devices[].
 */
#include "vm_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "hvkvm/acpi_pm.h"
#include "hvkvm/block.h"
#include "hvkvm/console.h"
#include "hvkvm/debug_exit.h"
#include "hvkvm/fw_cfg.h"
#include "hvkvm/i8042.h"
#include "hvkvm/ide.h"
#include "hvkvm/pci.h"
#include "hvkvm/rtc.h"
#include "hvkvm/uart.h"

/*
 * One platform device: @create builds and registers it (0 when the
 * configuration leaves it out), @destroy tolerates a device never made.
 */
struct vm_device {
	const char *name;
	int (*create)(struct vm *vm);
	void (*destroy)(struct vm *vm);
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

/* ---- COM1 ---- */

static int vm_uart_create(struct vm *vm)
{
	return uart_create(&vm->pio, &vm->irq, UART_COM1_BASE, UART_COM1_IRQ,
			   console_output_fd(vm->console), &vm->uart);
}

static void vm_uart_destroy(struct vm *vm)
{
	if (vm->uart)
		uart_destroy(vm->uart);
	vm->uart = NULL;
}

/* ---- CMOS RTC: interrupts on time through a one-shot timerfd ---- */

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

void vm_devices_rtc_fire(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t n;

	(void)events;
	if (read(vm->rtc_timer_fd, &n, sizeof(n)) > 0)
		rtc_poll(vm->rtc);
}

static int vm_rtc_create(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	uint64_t below = MIN(cfg->memory, VM_LOW_RAM_MAX);
	int r;

	r = rtc_create(&vm->pio, &vm->irq, RTC_IRQ, below, cfg->memory - below,
		       vm->nr_vcpus, cfg->clock_utc, &vm->rtc);
	if (r)
		return r;
	vm->rtc_timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (vm->rtc_timer_fd < 0)
		return -errno;
	rtc_set_timer(vm->rtc, vm_rtc_arm, vm);
	return 0;
}

static void vm_rtc_destroy(struct vm *vm)
{
	if (vm->rtc_timer_fd >= 0)
		close(vm->rtc_timer_fd);
	vm->rtc_timer_fd = -1;
	if (vm->rtc)
		rtc_destroy(vm->rtc);
	vm->rtc = NULL;
}

/* ---- i8042 (reset line, A20) ---- */

static int vm_i8042_create(struct vm *vm)
{
	return i8042_create(&vm->pio, &vm->irq, &vm->events, &vm->i8042);
}

static void vm_i8042_destroy(struct vm *vm)
{
	if (vm->i8042)
		i8042_destroy(vm->i8042);
	vm->i8042 = NULL;
}

/* ---- PCI host bridge ---- */

static int vm_pci_create(struct vm *vm)
{
	return pci_create(&vm->pio, &vm->irq, &vm->events, &vm->pci);
}

static void vm_pci_destroy(struct vm *vm)
{
	if (vm->pci)
		pci_destroy(vm->pci);
	vm->pci = NULL;
}

/* ---- fw_cfg: CPU count, RAM size, UUID, command line ---- */

static int vm_fw_cfg_create(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct fw_cfg *fw;
	int r;

	r = fw_cfg_create(&vm->pio, &vm->fw_cfg);
	if (r)
		return r;
	fw = vm->fw_cfg;
	fw_cfg_add_u16(fw, FW_CFG_NB_CPUS, (uint16_t)vm->nr_vcpus);
	fw_cfg_add_u16(fw, FW_CFG_MAX_CPUS, (uint16_t)vm->nr_vcpus);
	fw_cfg_add_u64(fw, FW_CFG_RAM_SIZE, cfg->memory);
	fw_cfg_add_item(fw, FW_CFG_UUID, cfg->uuid, 16);
	if (cfg->cmdline) {
		size_t n = strlen(cfg->cmdline) + 1;

		fw_cfg_add_u32(fw, FW_CFG_CMDLINE_ADDR,
			       (uint32_t)BOOT_CMDLINE_ADDR);
		fw_cfg_add_u32(fw, FW_CFG_CMDLINE_SIZE, (uint32_t)n);
		fw_cfg_add_item(fw, FW_CFG_CMDLINE_DATA, cfg->cmdline, n);
	}
	return 0;
}

static void vm_fw_cfg_destroy(struct vm *vm)
{
	if (vm->fw_cfg)
		fw_cfg_destroy(vm->fw_cfg);
	vm->fw_cfg = NULL;
}

/* ---- ACPI PM block (power button, S5, PM timer) ---- */

static int vm_acpi_pm_create(struct vm *vm)
{
	if (!vm->cfg->acpi)
		return 0;
	return acpi_pm_create(&vm->pio, &vm->irq, ACPI_PM_BASE, ACPI_PM_SCI_IRQ,
			      ACPI_PM_SLP_TYP_S5, &vm->events, &vm->acpi_pm);
}

static void vm_acpi_pm_destroy(struct vm *vm)
{
	if (vm->acpi_pm)
		acpi_pm_destroy(vm->acpi_pm);
	vm->acpi_pm = NULL;
}

/* ---- debug-exit port (tests) ---- */

static int vm_debug_exit_create(struct vm *vm)
{
	if (!vm->cfg->debug_exit_port)
		return 0;
	return debug_exit_create(&vm->pio, vm->cfg->debug_exit_port, 4,
				 &vm->events, &vm->debug_exit);
}

static void vm_debug_exit_destroy(struct vm *vm)
{
	if (vm->debug_exit)
		debug_exit_destroy(vm->debug_exit);
	vm->debug_exit = NULL;
}

/* ---- PIIX4 IDE (00:01.1) and its drives ---- */

/*
 * Open the backend of one configured disk (IDE drive or SCSI LUN) as the
 * configuration says: format, cache, read-only (CD-ROMs always). 0 or
 * -errno (the backend logged one line naming the file).
 */
int vm_disk_open(const struct config_disk *d, struct block_dev **bd)
{
	static const enum block_format formats[] = {
		[CONFIG_FORMAT_AUTO] = BLOCK_FORMAT_AUTO,
		[CONFIG_FORMAT_RAW] = BLOCK_FORMAT_RAW,
		[CONFIG_FORMAT_VHD] = BLOCK_FORMAT_VHD,
	};
	struct block_opts o;

	block_opts_init(&o);
	o.format = formats[d->format];
	o.readonly = d->readonly || d->media == CONFIG_MEDIA_CDROM;
	o.cache = d->cache == CONFIG_CACHE_WRITEBACK ? BLOCK_CACHE_WRITEBACK :
						       BLOCK_CACHE_NONE;
	return block_open(d->path, &o, bd);
}

/*
 * The controller exists when the configuration has IDE drives (hda..hdd:
 * drive = channel * 2 + unit); a VM without them keeps its old device set.
 */
static int vm_ide_create(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct ide_config ic = {
		.pio = &vm->pio,
		.pci = vm->pci,
		.irq = &vm->irq,
		.gm = &vm->gm,
		.loop = vm->io,
	};
	unsigned int i, nr = 0;
	int r = 0, drive;

	for (i = 0; i < cfg->nr_disks && !r; i++) {
		const struct config_disk *d = &cfg->disks[i];
		struct ide_drive_config *dc;

		if (d->bus != CONFIG_DISK_IDE)
			continue;
		/* "hda".."hdd", as config validation made sure. */
		drive = d->target[2] - 'a';
		if (strncmp(d->target, "hd", 2) || drive < 0 ||
		    drive >= IDE_NR_DRIVES || d->target[3]) {
			r = -EINVAL;
			break;
		}
		dc = &ic.drives[drive];
		dc->media = d->media == CONFIG_MEDIA_CDROM ? IDE_MEDIA_CDROM :
							     IDE_MEDIA_DISK;
		r = d->path && d->path[0] ? vm_disk_open(d, &dc->bd) : 0;
		if (!r && dc->media == IDE_MEDIA_DISK && !dc->bd)
			r = -EINVAL;
		nr++;
	}
	if (!r && nr)
		r = ide_create(&ic, &vm->ide);
	if (r) {
		/* On failure the drives are still ours. */
		for (i = 0; i < IDE_NR_DRIVES; i++)
			if (ic.drives[i].bd)
				block_close(ic.drives[i].bd);
	}
	return r;
}

static void vm_ide_destroy(struct vm *vm)
{
	if (vm->ide)
		ide_destroy(vm->ide);
	vm->ide = NULL;
}

/* ---- the table ---- */

static const struct vm_device vm_devices[] = {
	{ "uart", vm_uart_create, vm_uart_destroy },
	{ "rtc", vm_rtc_create, vm_rtc_destroy },
	{ "i8042", vm_i8042_create, vm_i8042_destroy },
	{ "pci", vm_pci_create, vm_pci_destroy },
	{ "fw_cfg", vm_fw_cfg_create, vm_fw_cfg_destroy },
	{ "acpi-pm", vm_acpi_pm_create, vm_acpi_pm_destroy },
	{ "debug-exit", vm_debug_exit_create, vm_debug_exit_destroy },
	{ "ide", vm_ide_create, vm_ide_destroy },
};

/* The device already holding one of the debug-exit port's 4 ports. */
static void vm_debug_exit_clash(struct vm *vm, char *err, size_t errlen)
{
	uint16_t port = vm->cfg->debug_exit_port;
	struct bus_range r;
	unsigned int i;

	for (i = 0; i < 4 && port + i <= 0xffff; i++)
		if (bus_lookup(&vm->pio, port + i, &r)) {
			snprintf(
				err, errlen,
				"debug-exit: port 0x%x (4 ports) overlaps %s at 0x%llx-0x%llx",
				port, r.name ? r.name : "a device",
				(unsigned long long)r.base,
				(unsigned long long)(r.base + r.len - 1));
			return;
		}
}

int vm_devices_init(struct vm *vm, char *err, size_t errlen)
{
	unsigned int i;
	int r;

	vm->events = (struct platform_events){
		.poweroff = vm_ev_poweroff,
		.reset = vm_ev_reset,
		.debug_exit = vm_ev_debug_exit,
		.opaque = vm,
	};
	for (i = 0; i < ARRAY_SIZE(vm_devices); i++) {
		r = vm_devices[i].create(vm);
		if (r) {
			snprintf(err, errlen, "%s: %s", vm_devices[i].name,
				 strerror(-r));
			if (r == -EEXIST &&
			    vm_devices[i].create == vm_debug_exit_create)
				vm_debug_exit_clash(vm, err, errlen);
			/* vm_devices_exit() undoes the ones before. */
			return r;
		}
	}
	return 0;
}

void vm_devices_exit(struct vm *vm)
{
	unsigned int i = ARRAY_SIZE(vm_devices);

	while (i--)
		vm_devices[i].destroy(vm);
}
