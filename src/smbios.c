// SPDX-License-Identifier: MIT
/*
 * smbios: SMBIOS 2.8 structures (DMTF DSP0134) and their 2.1 entry point.
 *
 * The Hyper-V identity follows what Generation 1 VMs report: BIOS "American
 * Megatrends Inc." version "090008" of 12/07/2018 at 0xF0000 with the
 * legacy-BIOS characteristics, system / baseboard "Microsoft Corporation"
 * "Virtual Machine" version "7.0", a desktop chassis, 26-digit serials of
 * the form 0000-0002-8904-7619-7825-1683-26, memory devices "M0".. by
 * "Microsoft". Hyper-V declares SMBIOS 2.3; we declare 2.8 so that every
 * reader (Linux dmi_scan, dmidecode, SeaBIOS, Windows) decodes the UUID's
 * first three fields little-endian and sees the VM's UUID unchanged, and so
 * that large memory has the 2.7 extended size and address fields.
 *
 * Not implemented: the 3.0 64-bit entry point (not needed below 64 KiB of
 * tables), cache (type 7), slots (9), OEM strings (11), type 20.
 */
#include "hvkvm/smbios.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/util.h"

/* Formatted-area lengths (SMBIOS 2.8). */
#define T0_LEN 0x18
#define T1_LEN 0x1b
#define T2_LEN 0x0f
#define T3_LEN 0x16
#define T4_LEN 0x2a
#define T16_LEN 0x17
#define T17_LEN 0x28
#define T19_LEN 0x1f
#define T32_LEN 0x0b
#define T127_LEN 0x04

/* Handles: type << 8, plus the instance. */
#define H_CHASSIS 0x0300
#define H_MEM_ARRAY 0x1000
#define H_NONE 0xffff
#define H_NO_ERROR_INFO 0xfffe

/* Type 0 characteristics (bit numbers of the qword at 0x0a). */
#define BIOS_ISA (1ULL << 4)
#define BIOS_PCI (1ULL << 7)
#define BIOS_PNP (1ULL << 9)
#define BIOS_UPGRADEABLE (1ULL << 11)
#define BIOS_SHADOWING (1ULL << 12)
#define BIOS_ESCD (1ULL << 14)
#define BIOS_BOOT_CD (1ULL << 15)
#define BIOS_SELECTABLE_BOOT (1ULL << 16)
#define BIOS_SOCKETED_ROM (1ULL << 17)
#define BIOS_EDD (1ULL << 19)
#define BIOS_INT13_FLOPPIES (0xfULL << 22) /* 360K 1.2M 720K 2.88M */
#define BIOS_INT5_INT9_INT14_INT17_INT10 (0x1fULL << 26)
/* Extension byte 1 and 2. */
#define BIOS_X1_AGP 0x04
#define BIOS_X1_LS120 0x10
#define BIOS_X1_ZIP 0x20
#define BIOS_X2_BBS 0x01
#define BIOS_X2_TCD 0x04 /* targeted content distribution */
#define BIOS_X2_VM 0x10	 /* SMBIOS 2.7: a virtual machine */

#define HV_VENDOR "Microsoft Corporation"
#define HV_PRODUCT "Virtual Machine"
#define HV_VERSION "7.0"
#define HV_BIOS_VENDOR "American Megatrends Inc."
#define HV_BIOS_VERSION "090008"
#define HV_BIOS_DATE "12/07/2018"
#define HV_NONE "None"
#define HV_MEM_VENDOR "Microsoft"
#define NEUTRAL_VENDOR "hvkvm"
#define NEUTRAL_PRODUCT "hvkvm Virtual Machine"
#define NEUTRAL_BIOS_DATE "01/01/2026"

/* Salts for the derived serials, one per structure. */
enum { SALT_SYSTEM = 1, SALT_BOARD, SALT_CHASSIS, SALT_ASSET };

/* The table under construction: a fixed buffer, overflow sets @err. */
struct sb {
	uint8_t buf[SMBIOS_TABLE_MAX];
	size_t len;	   /* bytes used */
	size_t cur;	   /* start of the open structure */
	unsigned int nstr; /* strings of the open structure */
	unsigned int nr;   /* structures closed */
	size_t max;	   /* largest closed structure */
	int err;	   /* first error, sticky */
};

/* Open a structure: its zeroed formatted area, or NULL after an error. */
static uint8_t *sb_begin(struct sb *s, uint8_t type, uint8_t len,
			 uint16_t handle)
{
	uint8_t *h;

	if (s->err)
		return NULL;
	if (len > sizeof(s->buf) - s->len) {
		s->err = -E2BIG;
		return NULL;
	}
	s->cur = s->len;
	s->nstr = 0;
	h = s->buf + s->len;
	memset(h, 0, len);
	h[0] = type;
	h[1] = len;
	put_le16(h + 2, handle);
	s->len += len;
	return h;
}

/* Append a string to the open structure; its number, 0 for none. */
static uint8_t sb_str(struct sb *s, const char *str)
{
	size_t n;

	if (s->err || !str || !*str)
		return 0;
	n = strlen(str);
	if (n > SMBIOS_STRING_MAX || s->nstr == 255) {
		s->err = -EINVAL;
		return 0;
	}
	if (n + 1 > sizeof(s->buf) - s->len) {
		s->err = -E2BIG;
		return 0;
	}
	memcpy(s->buf + s->len, str, n + 1);
	s->len += n + 1;
	return (uint8_t)++s->nstr;
}

/* Close the open structure: one NUL after its strings, two without. */
static void sb_end(struct sb *s)
{
	size_t need = s->nstr ? 1 : 2;

	if (s->err)
		return;
	if (need > sizeof(s->buf) - s->len) {
		s->err = -E2BIG;
		return;
	}
	memset(s->buf + s->len, 0, need);
	s->len += need;
	s->nr++;
	s->max = MAX(s->max, s->len - s->cur);
}

/* The field at @off of the open structure. */
static uint8_t *sb_at(struct sb *s, size_t off)
{
	return s->buf + s->cur + off;
}

static const char *pick(const char *user, const char *dflt)
{
	return user ? user : dflt;
}

void smbios_serial(const uint8_t uuid[16], uint32_t salt, char *buf)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ salt; /* FNV-1a, then an LCG */
	unsigned int i, d = 0;

	for (i = 0; i < 16; i++)
		h = (h ^ uuid[i]) * 0x100000001b3ULL;
	for (i = 0; i < 26; i++) {
		h = h * 6364136223846793005ULL + 1442695040888963407ULL;
		buf[d++] = (char)('0' + (h >> 33) % 10);
		if (i % 4 == 3 && i != 25)
			buf[d++] = '-';
	}
	buf[d] = '\0';
}

/* SMBIOS 2.6+: time_low, time_mid, time_hi_and_version little-endian. */
static void put_uuid(uint8_t *out, const uint8_t in[16])
{
	out[0] = in[3];
	out[1] = in[2];
	out[2] = in[1];
	out[3] = in[0];
	out[4] = in[5];
	out[5] = in[4];
	out[6] = in[7];
	out[7] = in[6];
	memcpy(out + 8, in + 8, 8);
}

static void build_bios(struct sb *s, const struct smbios_params *p)
{
	const struct smbios_strings *u = &p->str;
	uint64_t ch = BIOS_ISA | BIOS_PCI | BIOS_PNP | BIOS_UPGRADEABLE |
		      BIOS_SHADOWING | BIOS_ESCD | BIOS_BOOT_CD |
		      BIOS_SELECTABLE_BOOT | BIOS_SOCKETED_ROM | BIOS_EDD |
		      BIOS_INT13_FLOPPIES | BIOS_INT5_INT9_INT14_INT17_INT10;
	uint8_t *t = sb_begin(s, SMBIOS_TYPE_BIOS, T0_LEN, 0x0000);

	if (!t)
		return;
	t[4] = sb_str(s, pick(u->bios_vendor,
			      p->hyperv ? HV_BIOS_VENDOR : NEUTRAL_VENDOR));
	t[5] = sb_str(s, pick(u->bios_version,
			      p->hyperv ? HV_BIOS_VERSION : NEUTRAL_VENDOR));
	t = sb_at(s, 0);
	put_le16(t + 6, 0xf000); /* runtime segment: 64 KiB at 0xF0000 */
	t[8] = sb_str(s, pick(u->bios_date,
			      p->hyperv ? HV_BIOS_DATE : NEUTRAL_BIOS_DATE));
	t = sb_at(s, 0);
	t[9] = 3; /* ROM size 64K * (n + 1): 256 KiB */
	put_le64(t + 0x0a, ch);
	t[0x12] = BIOS_X1_AGP | BIOS_X1_LS120 | BIOS_X1_ZIP;
	t[0x13] = BIOS_X2_BBS | (p->hyperv ? 0 : BIOS_X2_TCD | BIOS_X2_VM);
	t[0x14] = t[0x15] = 0xff; /* BIOS release: not given */
	t[0x16] = t[0x17] = 0xff; /* no embedded controller */
	sb_end(s);
}

static void build_system(struct sb *s, const struct smbios_params *p)
{
	const struct smbios_strings *u = &p->str;
	char serial[33];
	uint8_t *t = sb_begin(s, SMBIOS_TYPE_SYSTEM, T1_LEN, 0x0100);
	uint8_t v[6];

	if (!t)
		return;
	smbios_serial(p->uuid, SALT_SYSTEM, serial);
	v[0] = sb_str(s, pick(u->sys_manufacturer,
			      p->hyperv ? HV_VENDOR : NEUTRAL_VENDOR));
	v[1] = sb_str(s, pick(u->sys_product,
			      p->hyperv ? HV_PRODUCT : NEUTRAL_PRODUCT));
	v[2] = sb_str(s, pick(u->sys_version, HV_VERSION));
	v[3] = sb_str(s, pick(u->sys_serial, serial));
	v[4] = sb_str(s, pick(u->sys_sku, p->hyperv ? HV_NONE : NULL));
	v[5] = sb_str(s, pick(u->sys_family,
			      p->hyperv ? HV_PRODUCT : NEUTRAL_VENDOR));
	t = sb_at(s, 0);
	memcpy(t + 4, v, 4);
	put_uuid(t + 8, p->uuid);
	t[0x18] = 6; /* wake-up: power switch */
	t[0x19] = v[4];
	t[0x1a] = v[5];
	sb_end(s);
}

static void build_board(struct sb *s, const struct smbios_params *p)
{
	const char *vendor = p->hyperv ? HV_VENDOR : NEUTRAL_VENDOR;
	char serial[33];
	uint8_t *t = sb_begin(s, SMBIOS_TYPE_BASEBOARD, T2_LEN, 0x0200);
	uint8_t v[5];

	if (!t)
		return;
	smbios_serial(p->uuid, SALT_BOARD, serial);
	v[0] = sb_str(s, pick(p->str.sys_manufacturer, vendor));
	v[1] = sb_str(s, pick(p->str.sys_product,
			      p->hyperv ? HV_PRODUCT : NEUTRAL_PRODUCT));
	v[2] = sb_str(s, HV_VERSION);
	v[3] = sb_str(s, serial);
	v[4] = sb_str(s, p->hyperv ? HV_NONE : NULL);
	t = sb_at(s, 0);
	memcpy(t + 4, v, 5);
	t[9] = 0x01; /* hosting board */
	put_le16(t + 0x0b, H_CHASSIS);
	t[0x0d] = 0x0a; /* motherboard */
	sb_end(s);
}

static void build_chassis(struct sb *s, const struct smbios_params *p)
{
	const char *vendor = p->hyperv ? HV_VENDOR : NEUTRAL_VENDOR;
	char serial[33], asset[33];
	uint8_t *t = sb_begin(s, SMBIOS_TYPE_CHASSIS, T3_LEN, H_CHASSIS);
	uint8_t v[4];

	if (!t)
		return;
	smbios_serial(p->uuid, SALT_CHASSIS, serial);
	smbios_serial(p->uuid, SALT_ASSET, asset);
	v[0] = sb_str(s, pick(p->str.sys_manufacturer, vendor));
	v[1] = sb_str(s, HV_VERSION);
	v[2] = sb_str(s, serial);
	v[3] = sb_str(s, p->hyperv ? asset : NULL);
	t = sb_at(s, 0);
	t[4] = v[0];
	t[5] = 0x03; /* desktop */
	t[6] = v[1];
	t[7] = v[2];
	t[8] = v[3];
	t[9] = t[0x0a] = t[0x0b] = 0x03; /* boot-up, power, thermal: safe */
	t[0x0c] = 0x02;			 /* security: unknown */
	sb_end(s);
}

static void build_cpu(struct sb *s, const struct smbios_params *p,
		      unsigned int i)
{
	char socket[16];
	uint8_t *t = sb_begin(s, SMBIOS_TYPE_PROCESSOR, T4_LEN,
			      (uint16_t)(0x0400 + i));
	uint8_t sock, vendor;

	if (!t)
		return;
	snprintf(socket, sizeof(socket), "CPU %u", i);
	sock = sb_str(s, socket);
	vendor = sb_str(s, p->cpu_manufacturer);
	t = sb_at(s, 0);
	t[4] = sock;
	t[5] = 0x03; /* central processor */
	t[6] = 0xfe; /* family: see family 2 */
	t[7] = vendor;
	put_le32(t + 8, p->cpuid_signature);
	put_le32(t + 0x0c, p->cpuid_features);
	put_le16(t + 0x14, (uint16_t)p->cpu_mhz); /* max speed */
	put_le16(t + 0x16, (uint16_t)p->cpu_mhz); /* current speed */
	t[0x18] = 0x41; /* socket populated, CPU enabled */
	t[0x19] = 0x01; /* upgrade: other */
	put_le16(t + 0x1a, H_NONE);
	put_le16(t + 0x1c, H_NONE);
	put_le16(t + 0x1e, H_NONE);
	t[0x23] = t[0x24] = t[0x25] = 1; /* cores, enabled, threads */
	put_le16(t + 0x26, 0x0004);	 /* 64-bit capable */
	put_le16(t + 0x28, 0x0001);	 /* family 2: other */
	sb_end(s);
}

/* The RAM ranges: [0, below) and [4 GiB, 4 GiB + above). */
struct mem_range {
	uint64_t start, size;
};

static unsigned int mem_ranges(const struct smbios_params *p,
			       struct mem_range r[2])
{
	unsigned int n = 0;

	if (p->ram_below_4g)
		r[n++] = (struct mem_range){ 0, p->ram_below_4g };
	if (p->ram_above_4g)
		r[n++] = (struct mem_range){ 4 * GiB, p->ram_above_4g };
	return n;
}

static void build_memory(struct sb *s, const struct smbios_params *p)
{
	struct mem_range r[2];
	unsigned int n = mem_ranges(p, r), i;
	uint64_t total = p->ram_below_4g + p->ram_above_4g;
	uint8_t *t = sb_begin(s, SMBIOS_TYPE_MEM_ARRAY, T16_LEN, H_MEM_ARRAY);

	if (!t)
		return;
	t[4] = 0x03; /* system board */
	t[5] = 0x03; /* system memory */
	t[6] = 0x03; /* no error correction */
	if (total / KiB < 0x80000000ULL) {
		put_le32(t + 7, (uint32_t)(total / KiB));
	} else {
		put_le32(t + 7, 0x80000000u); /* see the extended field */
		put_le64(t + 0x0f, total);
	}
	put_le16(t + 0x0b, H_NO_ERROR_INFO);
	put_le16(t + 0x0d, (uint16_t)n);
	sb_end(s);

	for (i = 0; i < n; i++) {
		uint64_t mb = r[i].size / MiB;
		char loc[8];
		uint8_t sv[4];

		t = sb_begin(s, SMBIOS_TYPE_MEM_DEVICE, T17_LEN,
			     (uint16_t)(0x1100 + i));
		if (!t)
			return;
		snprintf(loc, sizeof(loc), "M%u", i);
		sv[0] = sb_str(s, loc);
		sv[1] = sb_str(s, p->hyperv ? HV_MEM_VENDOR : NEUTRAL_VENDOR);
		sv[2] = sb_str(s, p->hyperv ? HV_NONE : NULL);
		sv[3] = sb_str(s, p->hyperv ? HV_NONE : NULL);
		t = sb_at(s, 0);
		put_le16(t + 4, H_MEM_ARRAY);
		put_le16(t + 6, H_NO_ERROR_INFO);
		put_le16(t + 8, 64);	/* total width */
		put_le16(t + 0x0a, 64); /* data width */
		if (mb < 0x7fff) {
			put_le16(t + 0x0c, (uint16_t)(mb ? mb : 1));
		} else {
			put_le16(t + 0x0c, 0x7fff); /* see the extended size */
			put_le32(t + 0x1c, (uint32_t)MIN(mb, 0x7fffffffULL));
		}
		t[0x0e] = 0x09; /* DIMM */
		t[0x10] = sv[0];
		t[0x12] = 0x07;		  /* RAM */
		put_le16(t + 0x13, 0x02); /* type detail: other */
		t[0x17] = sv[1];
		t[0x18] = sv[2];
		t[0x1a] = sv[3];
		sb_end(s);
	}

	for (i = 0; i < n; i++) {
		uint64_t end = r[i].start + r[i].size - 1;

		t = sb_begin(s, SMBIOS_TYPE_MEM_MAPPED, T19_LEN,
			     (uint16_t)(0x1300 + i));
		if (!t)
			return;
		if (end / KiB < 0xffffffffULL) {
			put_le32(t + 4, (uint32_t)(r[i].start / KiB));
			put_le32(t + 8, (uint32_t)(end / KiB));
		} else {
			put_le32(t + 4, 0xffffffffu);
			put_le32(t + 8, 0xffffffffu);
			put_le64(t + 0x0f, r[i].start);
			put_le64(t + 0x17, end);
		}
		put_le16(t + 0x0c, H_MEM_ARRAY);
		t[0x0e] = 1; /* partition width */
		sb_end(s);
	}
}

static void build_boot_end(struct sb *s)
{
	if (sb_begin(s, SMBIOS_TYPE_BOOT, T32_LEN, 0x2000))
		sb_end(s); /* status 0: no errors detected */
	if (sb_begin(s, SMBIOS_TYPE_END, T127_LEN, 0x7f00))
		sb_end(s);
}

void smbios_set_address(struct smbios_blob *b, uint32_t addr)
{
	uint8_t *ep = b->ep;

	put_le32(ep + 0x18, addr);
	/* Each half sums to zero, so the whole does too. */
	ep[0x15] = 0;
	ep[0x15] = (uint8_t)-sum8(ep + 0x10, SMBIOS_EP_LEN - 0x10);
	ep[4] = 0;
	ep[4] = (uint8_t)-sum8(ep, 0x10);
}

static void build_ep(struct smbios_blob *b)
{
	uint8_t *ep = b->ep;

	memset(ep, 0, SMBIOS_EP_LEN);
	memcpy(ep, "_SM_", 4);
	ep[5] = SMBIOS_EP_LEN;
	ep[6] = SMBIOS_MAJOR;
	ep[7] = SMBIOS_MINOR;
	put_le16(ep + 8, (uint16_t)b->max_struct);
	memcpy(ep + 0x10, "_DMI_", 5);
	put_le16(ep + 0x16, (uint16_t)b->len);
	put_le16(ep + 0x1c, (uint16_t)b->nr_structs);
	ep[0x1e] = SMBIOS_MAJOR << 4 | SMBIOS_MINOR;
	smbios_set_address(b, 0);
}

int smbios_build(const struct smbios_params *p, struct smbios_blob *b)
{
	struct sb *s;
	unsigned int i;
	int r;

	memset(b, 0, sizeof(*b));
	if (!p->nr_vcpus)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (!p->omit_bios)
		build_bios(s, p);
	build_system(s, p);
	build_board(s, p);
	build_chassis(s, p);
	for (i = 0; i < p->nr_vcpus; i++)
		build_cpu(s, p, i);
	build_memory(s, p);
	build_boot_end(s);
	r = s->err;
	if (!r) {
		b->tables = malloc(s->len);
		if (!b->tables)
			r = -ENOMEM;
	}
	if (!r) {
		memcpy(b->tables, s->buf, s->len);
		b->len = s->len;
		b->nr_structs = s->nr;
		b->max_struct = s->max;
		build_ep(b);
	}
	free(s);
	return r;
}

void smbios_blob_free(struct smbios_blob *b)
{
	free(b->tables);
	b->tables = NULL;
	b->len = 0;
}

int smbios_install(struct gmem *gm, uint64_t base, uint64_t limit,
		   const struct smbios_params *p, uint64_t *ep_addr)
{
	struct smbios_blob b;
	uint64_t ep = ALIGN_UP(base, SMBIOS_EP_ALIGN);
	uint64_t tables = ALIGN_UP(ep + SMBIOS_EP_LEN, SMBIOS_EP_ALIGN);
	int r;

	r = smbios_build(p, &b);
	if (r)
		return r;
	if (tables > limit || b.len > limit - tables ||
	    tables + b.len > 0x100000000ULL) {
		r = -ENOSPC;
		goto out;
	}
	smbios_set_address(&b, (uint32_t)tables);
	r = gmem_write(gm, tables, b.tables, b.len);
	if (!r)
		r = gmem_write(gm, ep, b.ep, SMBIOS_EP_LEN);
	if (!r)
		*ep_addr = ep;
out:
	smbios_blob_free(&b);
	return r;
}
