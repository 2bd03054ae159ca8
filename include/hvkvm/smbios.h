/* SPDX-License-Identifier: MIT */
/*
 * smbios: the SMBIOS (DMI) tables a guest reads to learn what machine it
 * runs on (DMTF DSP0134): BIOS (type 0), system (1) with the VM's UUID and
 * serial, baseboard (2), chassis (3), one processor per vCPU (4), the
 * memory array, devices and mapped ranges (16, 17, 19), boot status (32)
 * and the end marker (127), announced by a 2.1-style 32-bit entry point
 * ("_SM_" ... "_DMI_") that declares SMBIOS 2.8.
 *
 * Two identities: with VMBus on, the one a Hyper-V Generation 1 VM shows
 * (system "Microsoft Corporation" / "Virtual Machine", BIOS "American
 * Megatrends Inc." 090008): Linux's ata_piix then leaves the IDE disks to
 * hv_storvsc and guests' Hyper-V tooling recognises the host. Without
 * VMBus a neutral "hvkvm" identity, so ata_piix keeps the IDE disks (there
 * would be no storvsc to take them). docs/hyperv.md has the details.
 *
 * The tables are built into a host buffer; smbios_install() places the
 * entry point and the tables in guest memory (direct kernel boot: the
 * F segment, where a legacy scan of 0xF0000-0xFFFFF finds them); for a
 * BIOS the two parts go out as fw_cfg files (etc/smbios/smbios-anchor,
 * etc/smbios/smbios-tables) and SeaBIOS places them itself.
 */
#ifndef HVKVM_SMBIOS_H
#define HVKVM_SMBIOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvkvm/gmem.h"

#define SMBIOS_EP_LEN 31	/* 2.1 entry point ("_SM_") */
#define SMBIOS_EP_ALIGN 16	/* where scanners look */
#define SMBIOS_TABLE_MAX 0xffff /* the entry point's u16 length */
#define SMBIOS_STRING_MAX 255	/* bytes of one string we emit */
#define SMBIOS_MAJOR 2
#define SMBIOS_MINOR 8

/* Structure types we emit. */
#define SMBIOS_TYPE_BIOS 0
#define SMBIOS_TYPE_SYSTEM 1
#define SMBIOS_TYPE_BASEBOARD 2
#define SMBIOS_TYPE_CHASSIS 3
#define SMBIOS_TYPE_PROCESSOR 4
#define SMBIOS_TYPE_MEM_ARRAY 16
#define SMBIOS_TYPE_MEM_DEVICE 17
#define SMBIOS_TYPE_MEM_MAPPED 19
#define SMBIOS_TYPE_BOOT 32
#define SMBIOS_TYPE_END 127

/* Strings a user may set (libvirt <sysinfo type='smbios'>); NULL = ours. */
struct smbios_strings {
	const char *bios_vendor, *bios_version, *bios_date;
	const char *sys_manufacturer, *sys_product, *sys_version;
	const char *sys_serial, *sys_sku, *sys_family;
};

struct smbios_params {
	uint8_t uuid[16];	      /* the VM's UUID, RFC 4122 byte order */
	bool hyperv;		      /* Microsoft identity (VMBus on) */
	bool omit_bios;		      /* no type 0: the BIOS adds its own */
	unsigned int nr_vcpus;	      /* one type 4 each; at least 1 */
	uint32_t cpuid_signature;     /* CPUID.1:EAX, type 4 processor ID */
	uint32_t cpuid_features;      /* CPUID.1:EDX */
	const char *cpu_manufacturer; /* type 4; NULL = not given */
	unsigned int cpu_mhz;	      /* type 4 speeds; 0 = unknown */
	uint64_t ram_below_4g;	      /* bytes of RAM from 0 */
	uint64_t ram_above_4g;	      /* bytes of RAM from 4 GiB */
	struct smbios_strings str;
};

struct smbios_blob {
	uint8_t ep[SMBIOS_EP_LEN]; /* table address 0 until placed */
	uint8_t *tables;	   /* the structures, type 127 last */
	size_t len;		   /* bytes of @tables */
	unsigned int nr_structs;
	size_t max_struct; /* largest structure with its strings */
};

/*
 * Build every structure and the entry point (table address 0). 0, or
 * -EINVAL (no vCPU, a string longer than SMBIOS_STRING_MAX), -E2BIG (more
 * than SMBIOS_TABLE_MAX bytes), -ENOMEM. Free with smbios_blob_free().
 */
int smbios_build(const struct smbios_params *p, struct smbios_blob *b);
void smbios_blob_free(struct smbios_blob *b);
/* Point the entry point at @addr and fix both of its checksums. */
void smbios_set_address(struct smbios_blob *b, uint32_t addr);

/*
 * Build and write the entry point at @base (16-byte aligned) and the
 * tables after it, all inside [base, limit). 0 and *@ep_addr, or -ENOSPC
 * / -EFAULT and the errors of smbios_build().
 */
int smbios_install(struct gmem *gm, uint64_t base, uint64_t limit,
		   const struct smbios_params *p, uint64_t *ep_addr);

/* The 26-digit "NNNN-NNNN-NNNN-NNNN-NNNN-NNNN-NN" serial Hyper-V shows,
 * derived from @uuid and @salt (one per structure); @buf >= 33 bytes. */
void smbios_serial(const uint8_t uuid[16], uint32_t salt, char *buf);

#endif /* HVKVM_SMBIOS_H */
