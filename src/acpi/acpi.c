// SPDX-License-Identifier: MIT
/*
 * ACPI table builder (ACPI 6.4 layouts): RSDP v2, XSDT + RSDT, FADT rev 6
 * with FACS, MADT, the iasl-compiled DSDT and a processor SSDT, built into
 * a relocatable blob (acpi_loader.c links it). Direct kernel boot puts it
 * in one guest-memory window below 1 MiB (0xE0000-0xFFFFF by default).
 */
#include "hvkvm/acpi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hvkvm/util.h"

#define ACPI_HDR_LEN 36
#define ACPI_OEM_ID "HVKVM "
#define ACPI_OEM_TABLE "HVKVM   "
#define ACPI_CREATOR "HVKV"

#define RSDP_LEN 36
#define FADT_LEN 276
#define FACS_LEN 64
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC_LEN 12
#define MADT_ISO_LEN 10
#define MADT_NMI_LEN 6

/* FADT field offsets (ACPI 6.4 table 5.9). */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_PM_PROFILE 45
#define FADT_SCI_INT 46
#define FADT_SMI_CMD 48
#define FADT_PM1A_EVT_BLK 56
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM_TMR_BLK 76
#define FADT_GPE0_BLK 80
#define FADT_PM1_EVT_LEN 88
#define FADT_PM1_CNT_LEN 89
#define FADT_PM_TMR_LEN 91
#define FADT_GPE0_BLK_LEN 92
#define FADT_P_LVL2_LAT 96
#define FADT_P_LVL3_LAT 98
#define FADT_CENTURY 108
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_MINOR_VERSION 131
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT 140
#define FADT_X_PM1A_EVT_BLK 148
#define FADT_X_PM1A_CNT_BLK 172
#define FADT_X_PM_TMR_BLK 208
#define FADT_X_GPE0_BLK 220
#define FADT_HYPERVISOR_ID 268

#define FADT_F_WBINVD BIT(0)
#define FADT_F_PROC_C1 BIT(2)
#define FADT_F_SLP_BUTTON BIT(5) /* no fixed sleep button */
#define FADT_F_TMR_VAL_EXT BIT(8)
#define FADT_F_RESET_REG_SUP BIT(10)
#define IAPC_LEGACY_DEVICES BIT(0)
#define IAPC_8042 BIT(1)
#define IAPC_VGA_NOT_PRESENT BIT(2)

#define GAS_SPACE_IO 1
#define GAS_ACCESS_BYTE 1
#define GAS_ACCESS_WORD 2
#define GAS_ACCESS_DWORD 3

#define MADT_PCAT_COMPAT BIT(0)
#define MADT_ISO_LEVEL_HIGH 0x000d /* active high, level */

_Static_assert(FADT_HYPERVISOR_ID + 8 == FADT_LEN, "FADT layout");

void acpi_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memset(t, 0, ACPI_HDR_LEN);
	memcpy(t, sig, 4);
	put_le32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE, 8);
	put_le32(t + 24, 1); /* OEM revision */
	memcpy(t + 28, ACPI_CREATOR, 4);
	put_le32(t + 32, 1); /* creator revision */
}

void acpi_checksum(uint8_t *t, size_t len, size_t csum_off)
{
	t[csum_off] = 0;
	t[csum_off] = (uint8_t)(0x100 - sum8(t, len));
}

static void acpi_gas_io(uint8_t *g, uint16_t port, uint8_t bits, uint8_t access)
{
	memset(g, 0, 12);
	if (!port)
		return;
	g[0] = GAS_SPACE_IO;
	g[1] = bits;
	g[3] = access;
	put_le64(g + 4, port);
}

size_t acpi_madt_len(unsigned int nr_vcpus)
{
	return ACPI_HDR_LEN + 8 + nr_vcpus * MADT_LAPIC_LEN + MADT_IOAPIC_LEN +
	       2 * MADT_ISO_LEN + MADT_NMI_LEN;
}

static uint8_t *madt_iso(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	e[0] = 2;
	e[1] = MADT_ISO_LEN;
	e[2] = 0; /* ISA */
	e[3] = irq;
	put_le32(e + 4, gsi);
	put_le16(e + 8, flags);
	return e + MADT_ISO_LEN;
}

int acpi_build_madt(uint8_t *buf, size_t len, const struct acpi_params *p)
{
	size_t need = acpi_madt_len(p->nr_vcpus);
	uint8_t *e;
	unsigned int i;

	if (len < need || !p->nr_vcpus)
		return -ENOSPC;
	memset(buf, 0, need);
	acpi_header(buf, "APIC", (uint32_t)need, 5);
	put_le32(buf + 36, ACPI_LAPIC_ADDR);
	put_le32(buf + 40, MADT_PCAT_COMPAT);
	e = buf + 44;
	for (i = 0; i < p->nr_vcpus; i++, e += MADT_LAPIC_LEN) {
		e[0] = 0; /* processor local APIC */
		e[1] = MADT_LAPIC_LEN;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)p->apic_ids[i];
		put_le32(e + 4, 1); /* enabled */
	}
	e[0] = 1; /* I/O APIC */
	e[1] = MADT_IOAPIC_LEN;
	e[2] = p->ioapic_id;
	put_le32(e + 4, ACPI_IOAPIC_ADDR);
	put_le32(e + 8, 0); /* GSI base */
	e += MADT_IOAPIC_LEN;
	e = madt_iso(e, 0, 2, 0); /* PIT on pin 2 */
	e = madt_iso(e, ACPI_SCI_IRQ, ACPI_SCI_IRQ, MADT_ISO_LEVEL_HIGH);
	e[0] = 4; /* local APIC NMI */
	e[1] = MADT_NMI_LEN;
	e[2] = 0xff; /* all processors */
	put_le16(e + 3, 0);
	e[5] = 1; /* LINT1 */
	acpi_checksum(buf, need, 9);
	return 0;
}

/* AML package length encoding; returns bytes written (1 or 2). */
static size_t aml_pkglen(uint8_t *p, size_t len)
{
	if (len < 0x3f) {
		p[0] = (uint8_t)len;
		return 1;
	}
	p[0] = (uint8_t)(0x40 | (len & 0xf));
	p[1] = (uint8_t)(len >> 4);
	return 2;
}

/* Scope (\_SB) { Processor (Cxxx, id, 0, 0) {} ... } */
int acpi_build_cpu_ssdt(uint8_t *buf, size_t len, unsigned int nr_vcpus,
			size_t *out_len)
{
	static const char hex[] = "0123456789ABCDEF";
	const size_t proc_len = 13, name_len = 5;
	size_t body = name_len + nr_vcpus * proc_len;
	size_t scope_len = body + (body + 1 < 0x3f ? 1 : 2);
	size_t total = ACPI_HDR_LEN + 1 + scope_len;
	uint8_t *p;
	unsigned int i;

	if (nr_vcpus > 0xfff || scope_len > 0xfff || len < total)
		return -ENOSPC;
	acpi_header(buf, "SSDT", (uint32_t)total, 2);
	memcpy(buf + 16, "HVKVMCPU", 8);
	p = buf + ACPI_HDR_LEN;
	*p++ = 0x10; /* ScopeOp */
	p += aml_pkglen(p, scope_len);
	memcpy(p, "\\_SB_", name_len);
	p += name_len;
	for (i = 0; i < nr_vcpus; i++) {
		*p++ = 0x5b;			/* ExtOpPrefix */
		*p++ = 0x83;			/* ProcessorOp */
		*p++ = (uint8_t)(proc_len - 2); /* PkgLength */
		p[0] = 'C';
		p[1] = (uint8_t)hex[(i >> 8) & 0xf];
		p[2] = (uint8_t)hex[(i >> 4) & 0xf];
		p[3] = (uint8_t)hex[i & 0xf];
		p += 4;
		*p++ = (uint8_t)i; /* ProcID = MADT UID */
		put_le32(p, 0);	   /* PblkAddress */
		p += 4;
		*p++ = 0; /* PblkLength */
	}
	acpi_checksum(buf, total, 9);
	*out_len = total;
	return 0;
}

static void acpi_build_fadt(uint8_t *f, const struct acpi_params *p,
			    uint64_t facs, uint64_t dsdt)
{
	uint32_t flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON;

	memset(f, 0, FADT_LEN);
	acpi_header(f, "FACP", FADT_LEN, 6);
	put_le32(f + FADT_FIRMWARE_CTRL, (uint32_t)facs);
	put_le32(f + FADT_DSDT, (uint32_t)dsdt);
	f[FADT_PM_PROFILE] = 4; /* enterprise server */
	put_le16(f + FADT_SCI_INT, ACPI_SCI_IRQ);
	put_le32(f + FADT_SMI_CMD, 0); /* ACPI always enabled */
	put_le32(f + FADT_PM1A_EVT_BLK, p->pm1a_evt);
	put_le32(f + FADT_PM1A_CNT_BLK, p->pm1a_cnt);
	put_le32(f + FADT_PM_TMR_BLK, p->pm_tmr);
	put_le32(f + FADT_GPE0_BLK, p->gpe0_blk);
	f[FADT_PM1_EVT_LEN] = p->pm1a_evt ? 4 : 0;
	f[FADT_PM1_CNT_LEN] = p->pm1a_cnt ? 2 : 0;
	f[FADT_PM_TMR_LEN] = p->pm_tmr ? 4 : 0;
	f[FADT_GPE0_BLK_LEN] = p->gpe0_blk ? p->gpe0_len : 0;
	put_le16(f + FADT_P_LVL2_LAT, 101);  /* C2 not supported */
	put_le16(f + FADT_P_LVL3_LAT, 1001); /* C3 not supported */
	f[FADT_CENTURY] = 0x32;
	put_le16(f + FADT_IAPC_BOOT_ARCH,
		 IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_VGA_NOT_PRESENT);
	if (p->pm_tmr_32bit)
		flags |= FADT_F_TMR_VAL_EXT;
	if (p->reset_port) {
		flags |= FADT_F_RESET_REG_SUP;
		acpi_gas_io(f + FADT_RESET_REG, p->reset_port, 8,
			    GAS_ACCESS_BYTE);
		f[FADT_RESET_VALUE] = p->reset_value;
	}
	put_le32(f + FADT_FLAGS, flags);
	f[FADT_MINOR_VERSION] = 4;
	put_le64(f + FADT_X_FIRMWARE_CTRL, 0); /* 32-bit field is used */
	put_le64(f + FADT_X_DSDT, dsdt);
	acpi_gas_io(f + FADT_X_PM1A_EVT_BLK, p->pm1a_evt, 32, GAS_ACCESS_WORD);
	acpi_gas_io(f + FADT_X_PM1A_CNT_BLK, p->pm1a_cnt, 16, GAS_ACCESS_WORD);
	acpi_gas_io(f + FADT_X_PM_TMR_BLK, p->pm_tmr, 32, GAS_ACCESS_DWORD);
	acpi_gas_io(f + FADT_X_GPE0_BLK, p->gpe0_blk,
		    (uint8_t)(p->gpe0_blk ? p->gpe0_len * 8 : 0),
		    GAS_ACCESS_BYTE);
	memcpy(f + FADT_HYPERVISOR_ID, "HVKVM   ", 8);
	acpi_checksum(f, FADT_LEN, 9);
}

/* Bump allocator over one file of the blob (sized up front, never moves). */
struct acpi_alloc {
	struct acpi_blob *b;
	enum acpi_file file;
	size_t cap;
};

static uint8_t *acpi_alloc(struct acpi_alloc *a, size_t len, size_t align,
			   uint32_t *off)
{
	size_t at = ALIGN_UP(a->b->len[a->file], align);

	if (at > a->cap || len > a->cap - at)
		return NULL;
	a->b->len[a->file] = at + len;
	*off = (uint32_t)at;
	return a->b->data[a->file] + at;
}

static void acpi_add_pointer(struct acpi_blob *b, enum acpi_file file,
			     uint32_t off, uint8_t size, enum acpi_file target)
{
	if (b->nr_ptrs < ACPI_BLOB_MAX_POINTERS)
		b->ptrs[b->nr_ptrs++] =
			(struct acpi_pointer){ file, off, size, target };
}

/* Checksum of a table with pointers: recomputed once they are patched. */
static void acpi_add_cksum(struct acpi_blob *b, enum acpi_file file,
			   uint32_t start, uint32_t len, uint32_t off)
{
	if (b->nr_cksums < ACPI_BLOB_MAX_CHECKSUMS)
		b->cksums[b->nr_cksums++] =
			(struct acpi_cksum){ file, start, len, off };
}

/* The FADT's pointers: FACS (32-bit), DSDT (32 and 64-bit). */
static void acpi_fadt_pointers(struct acpi_blob *b, uint32_t fadt)
{
	acpi_add_pointer(b, ACPI_FILE_TABLES, fadt + FADT_FIRMWARE_CTRL, 4,
			 ACPI_FILE_TABLES);
	acpi_add_pointer(b, ACPI_FILE_TABLES, fadt + FADT_DSDT, 4,
			 ACPI_FILE_TABLES);
	acpi_add_pointer(b, ACPI_FILE_TABLES, fadt + FADT_X_DSDT, 8,
			 ACPI_FILE_TABLES);
	acpi_add_cksum(b, ACPI_FILE_TABLES, fadt, FADT_LEN, fadt + 9);
}

/* XSDT and RSDT listing @tables (offsets), with their pointers. */
static int acpi_build_sdts(struct acpi_alloc *a, const uint32_t *tables,
			   unsigned int nr, uint32_t *xsdt_off,
			   uint32_t *rsdt_off)
{
	uint32_t xlen = ACPI_HDR_LEN + nr * 8, rlen = ACPI_HDR_LEN + nr * 4;
	uint8_t *xsdt = acpi_alloc(a, xlen, 8, xsdt_off), *rsdt;
	unsigned int i;

	rsdt = xsdt ? acpi_alloc(a, rlen, 8, rsdt_off) : NULL;
	if (!rsdt)
		return -ENOSPC;
	acpi_header(xsdt, "XSDT", xlen, 1);
	acpi_header(rsdt, "RSDT", rlen, 1);
	for (i = 0; i < nr; i++) {
		put_le64(xsdt + ACPI_HDR_LEN + i * 8, tables[i]);
		put_le32(rsdt + ACPI_HDR_LEN + i * 4, tables[i]);
		acpi_add_pointer(a->b, ACPI_FILE_TABLES,
				 *xsdt_off + ACPI_HDR_LEN + i * 8, 8,
				 ACPI_FILE_TABLES);
		acpi_add_pointer(a->b, ACPI_FILE_TABLES,
				 *rsdt_off + ACPI_HDR_LEN + i * 4, 4,
				 ACPI_FILE_TABLES);
	}
	acpi_checksum(xsdt, xlen, 9);
	acpi_checksum(rsdt, rlen, 9);
	acpi_add_cksum(a->b, ACPI_FILE_TABLES, *xsdt_off, xlen, *xsdt_off + 9);
	acpi_add_cksum(a->b, ACPI_FILE_TABLES, *rsdt_off, rlen, *rsdt_off + 9);
	return 0;
}

/* The RSDP file: RSDT and XSDT offsets into the tables file. */
static void acpi_build_rsdp(struct acpi_blob *b, uint32_t rsdt, uint32_t xsdt)
{
	uint8_t *rsdp = b->data[ACPI_FILE_RSDP];

	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, ACPI_OEM_ID, 6);
	rsdp[15] = 2; /* revision: ACPI 2.0+ */
	put_le32(rsdp + 16, rsdt);
	put_le32(rsdp + 20, RSDP_LEN);
	put_le64(rsdp + 24, xsdt);
	acpi_checksum(rsdp, 20, 8);	   /* ACPI 1.0 part */
	acpi_checksum(rsdp, RSDP_LEN, 32); /* extended checksum */
	b->len[ACPI_FILE_RSDP] = RSDP_LEN;
	acpi_add_pointer(b, ACPI_FILE_RSDP, 16, 4, ACPI_FILE_TABLES);
	acpi_add_pointer(b, ACPI_FILE_RSDP, 24, 8, ACPI_FILE_TABLES);
	/* The 1.0 checksum first: the extended one covers its byte. */
	acpi_add_cksum(b, ACPI_FILE_RSDP, 0, 20, 8);
	acpi_add_cksum(b, ACPI_FILE_RSDP, 0, RSDP_LEN, 32);
}

void acpi_blob_free(struct acpi_blob *b)
{
	unsigned int f;

	for (f = 0; f < ACPI_NR_FILES; f++)
		free(b->data[f]);
	memset(b, 0, sizeof(*b));
}

int acpi_blob_build(const struct acpi_params *p, struct acpi_blob *b)
{
	size_t ssdt_len, madt_len = acpi_madt_len(p->nr_vcpus);
	/* Zeroed for gcc -O2, which cannot see acpi_alloc() set them. */
	uint32_t facs_off = 0, fadt_off = 0, dsdt_off = 0, madt_off = 0,
		 ssdt_off = 0, extra_off = 0, xsdt_off = 0, rsdt_off = 0,
		 tables[4];
	uint8_t *fadt, *facs, *dsdt, *madt, *ssdt, *extra;
	uint8_t tmp[ACPI_HDR_LEN + 8 + 13 * 256];
	struct acpi_alloc a = { b, ACPI_FILE_TABLES, 0 };
	unsigned int nr = 0;
	int r = -ENOSPC;

	memset(b, 0, sizeof(*b));
	if (acpi_build_cpu_ssdt(tmp, sizeof(tmp), p->nr_vcpus, &ssdt_len))
		return -ENOSPC;
	/* Every table plus up to 63 bytes of alignment before each. */
	a.cap = FACS_LEN + FADT_LEN + acpi_dsdt_aml_len + madt_len + ssdt_len +
		p->extra_ssdt_len + 2 * ACPI_HDR_LEN + 12 * ARRAY_SIZE(tables) +
		8 * 64;
	b->data[ACPI_FILE_TABLES] = calloc(1, a.cap);
	b->data[ACPI_FILE_RSDP] = calloc(1, RSDP_LEN);
	if (!b->data[ACPI_FILE_TABLES] || !b->data[ACPI_FILE_RSDP]) {
		r = -ENOMEM;
		goto err_free;
	}
	facs = acpi_alloc(&a, FACS_LEN, 64, &facs_off);
	fadt = acpi_alloc(&a, FADT_LEN, 8, &fadt_off);
	dsdt = acpi_alloc(&a, acpi_dsdt_aml_len, 8, &dsdt_off);
	madt = acpi_alloc(&a, madt_len, 8, &madt_off);
	ssdt = acpi_alloc(&a, ssdt_len, 8, &ssdt_off);
	if (!facs || !fadt || !dsdt || !madt || !ssdt)
		goto err_free;
	memcpy(ssdt, tmp, ssdt_len);
	memcpy(facs, "FACS", 4);
	put_le32(facs + 4, FACS_LEN);
	facs[32] = 2; /* version */
	memcpy(dsdt, acpi_dsdt_aml, acpi_dsdt_aml_len);
	if (acpi_build_madt(madt, madt_len, p))
		goto err_free;
	acpi_build_fadt(fadt, p, facs_off, dsdt_off);
	acpi_fadt_pointers(b, fadt_off);
	tables[nr++] = fadt_off;
	tables[nr++] = madt_off;
	tables[nr++] = ssdt_off;
	if (p->extra_ssdt && p->extra_ssdt_len) {
		extra = acpi_alloc(&a, p->extra_ssdt_len, 8, &extra_off);
		if (!extra)
			goto err_free;
		memcpy(extra, p->extra_ssdt, p->extra_ssdt_len);
		tables[nr++] = extra_off;
	}
	r = acpi_build_sdts(&a, tables, nr, &xsdt_off, &rsdt_off);
	if (r)
		goto err_free;
	acpi_build_rsdp(b, rsdt_off, xsdt_off);
	return 0;

err_free:
	acpi_blob_free(b);
	return r;
}

int acpi_build(struct gmem *gm, uint64_t base, uint64_t limit,
	       const struct acpi_params *p, uint64_t *rsdp_addr)
{
	struct acpi_blob b;
	uint64_t addr[ACPI_NR_FILES];
	unsigned int f;
	int r;

	r = acpi_blob_build(p, &b);
	if (r)
		return r;
	/* The RSDP at the window's start, the tables after it. */
	addr[ACPI_FILE_RSDP] = ALIGN_UP(base, 16);
	addr[ACPI_FILE_TABLES] = ALIGN_UP(addr[ACPI_FILE_RSDP] + RSDP_LEN, 64);
	if (addr[ACPI_FILE_TABLES] > limit ||
	    b.len[ACPI_FILE_TABLES] > limit - addr[ACPI_FILE_TABLES]) {
		r = -ENOSPC;
		goto out;
	}
	acpi_blob_link(&b, addr);
	for (f = 0; f < ACPI_NR_FILES; f++) {
		r = gmem_write(gm, addr[f], b.data[f], b.len[f]);
		if (r)
			goto out;
	}
	*rsdp_addr = addr[ACPI_FILE_RSDP];
out:
	acpi_blob_free(&b);
	return r;
}
