// SPDX-License-Identifier: MIT
/*
 * vm_boot: what the boot CPU starts on — the e820 map, the ACPI tables
 * (with the VMBus SSDT when VMBus is on) at 0xE0000, the SMBIOS tables at
 * 0xF0000 (both in the e820 hole below 1 MiB), the kernel and initrd the user
 * named (bzImage, PVH ELF or Multiboot, see src/boot/) and the boot CPU's
 * registers. Booting a BIOS instead is vm_firmware.c's.
 */
#include "vm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvkvm/acpi.h"
#include "hvkvm/acpi_pm.h"
#include "hvkvm/boot.h"
#include "hvkvm/cpuid.h"
#include "hvkvm/smbios.h"
#include "hvkvm/vcpu.h"

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
		snprintf(
			err, errlen,
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

void vm_acpi_params(struct vm *vm, struct acpi_params *ap)
{
	memset(ap, 0, sizeof(*ap));
	ap->nr_vcpus = vm->nr_vcpus;
	ap->apic_ids = vm->apic_ids;
	ap->ioapic_id = (uint8_t)vm->nr_vcpus;
	ap->pm1a_evt = ACPI_PM_BASE + ACPI_PM1_EVT_OFF;
	ap->pm1a_cnt = ACPI_PM_BASE + ACPI_PM1_CNT_OFF;
	ap->pm_tmr = ACPI_PM_BASE + ACPI_PM_TMR_OFF;
	ap->pm_tmr_32bit = ACPI_PM_TMR_32BIT;
	ap->gpe0_blk = ACPI_PM_BASE + ACPI_GPE0_OFF;
	ap->gpe0_len = ACPI_GPE0_LEN;
	ap->reset_port = ACPI_RESET_PORT;
	ap->reset_value = ACPI_RESET_VALUE;
	if (vm->vmbus_enabled) {
		ap->extra_ssdt = acpi_vmbus_ssdt_aml;
		ap->extra_ssdt_len = acpi_vmbus_ssdt_aml_len;
	}
}

/* CPUID leaf 0's vendor as SMBIOS names the maker, or NULL. */
static const char *vm_cpu_maker(struct vm *vm)
{
	struct kvm_cpuid_entry2 *e = vm->cpuid ? cpuid_find(vm->cpuid, 0, 0) :
						 NULL;
	char id[12];

	if (!e)
		return NULL;
	memcpy(id, &e->ebx, 4);
	memcpy(id + 4, &e->edx, 4);
	memcpy(id + 8, &e->ecx, 4);
	if (!memcmp(id, "GenuineIntel", 12))
		return "Intel(R) Corporation";
	if (!memcmp(id, "AuthenticAMD", 12))
		return "Advanced Micro Devices, Inc.";
	return NULL;
}

/*
 * The Microsoft identity only with VMBus: Linux's ata_piix leaves the IDE
 * disks of a "Microsoft Corporation" "Virtual Machine" to hv_storvsc, so
 * a VM without VMBus must look neutral or its IDE disks vanish.
 */
void vm_smbios_params(struct vm *vm, struct smbios_params *sp)
{
	struct kvm_cpuid_entry2 *e = vm->cpuid ? cpuid_find(vm->cpuid, 1, 0) :
						 NULL;
	unsigned int i;

	memset(sp, 0, sizeof(*sp));
	memcpy(sp->uuid, vm->cfg->uuid, sizeof(sp->uuid));
	sp->hyperv = vm->vmbus_enabled;
	sp->nr_vcpus = vm->nr_vcpus;
	if (e) {
		sp->cpuid_signature = e->eax;
		sp->cpuid_features = e->edx;
	}
	sp->cpu_manufacturer = vm_cpu_maker(vm);
	if (vm->cfg->smbios_sysinfo) {
		const char *const *u = (const char *const *)vm->cfg->smbios;

		sp->str = (struct smbios_strings){
			.bios_vendor = u[CONFIG_SMBIOS_BIOS_VENDOR],
			.bios_version = u[CONFIG_SMBIOS_BIOS_VERSION],
			.bios_date = u[CONFIG_SMBIOS_BIOS_DATE],
			.sys_manufacturer = u[CONFIG_SMBIOS_SYS_MANUFACTURER],
			.sys_product = u[CONFIG_SMBIOS_SYS_PRODUCT],
			.sys_version = u[CONFIG_SMBIOS_SYS_VERSION],
			.sys_serial = u[CONFIG_SMBIOS_SYS_SERIAL],
			.sys_sku = u[CONFIG_SMBIOS_SYS_SKU],
			.sys_family = u[CONFIG_SMBIOS_SYS_FAMILY],
		};
	}
	sp->cpu_mhz = (unsigned int)MIN(vm->tsc_khz / 1000, 0xffff);
	for (i = 0; i < vm->gm.nr_regions; i++) {
		const struct gmem_region *g = &vm->gm.regions[i];

		if (g->readonly)
			continue;
		if (g->gpa < 4 * GiB)
			sp->ram_below_4g += g->size;
		else
			sp->ram_above_4g += g->size;
	}
}

int vm_boot_init(struct vm *vm, char *err, size_t errlen)
{
	struct smbios_params sp;
	uint64_t smbios_ep;
	const struct vm_config *cfg = vm->cfg;
	struct acpi_params ap;
	struct boot_params_in in;
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t klen = 0, ilen = 0;
	char e2[CONFIG_ERR_MAX];
	int r;

	/* No kernel: the BIOS starts at the reset vector (vm_firmware.c). */
	if (!cfg->kernel)
		return 0;
	r = e820_build(&vm->gm, &vm->e820);
	if (r) {
		snprintf(err, errlen, "e820 map: %s", strerror(-r));
		return r;
	}
	if (cfg->acpi) {
		vm_acpi_params(vm, &ap);
		r = acpi_build(&vm->gm, BOOT_ACPI_START, BOOT_ACPI_END, &ap,
			       &vm->rsdp_addr);
		if (r) {
			snprintf(err, errlen, "ACPI tables: %s", strerror(-r));
			return r;
		}
	}
	vm_smbios_params(vm, &sp);
	r = smbios_install(&vm->gm, BOOT_SMBIOS_START, BOOT_SMBIOS_END, &sp,
			   &smbios_ep);
	if (r) {
		snprintf(err, errlen, "SMBIOS tables: %s", strerror(-r));
		return r;
	}
	pr_dbg("smbios: entry point at %#llx, %s identity",
	       (unsigned long long)smbios_ep, sp.hyperv ? "Hyper-V" : "hvkvm");
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
		.kernel = kernel,
		.kernel_len = klen,
		.initrd = initrd,
		.initrd_len = ilen,
		.cmdline = cfg->cmdline,
		.rsdp_addr = vm->rsdp_addr,
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
