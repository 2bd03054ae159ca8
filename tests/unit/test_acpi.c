// SPDX-License-Identifier: MIT
/*
 * Unit tests: ACPI table builder — RSDP/XSDT/RSDT links and checksums, FADT
 * fields, MADT entries per vCPU, the processor SSDT, and (when iasl is
 * installed) that acpica's disassembler accepts every table we emit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_gmem.h"
#include "hvkvm/acpi.h"
#include "hvkvm/boot.h"
#include "hvkvm/util.h"

struct tables {
	struct fake_gmem f;
	uint64_t rsdp;
	uint32_t apic_ids[64];
	struct acpi_params p;
};

static void build(struct tables *t, unsigned int nr_vcpus)
{
	unsigned int i;

	assert_int_equal(fake_gmem_init(&t->f, 2 * MiB), 0);
	for (i = 0; i < nr_vcpus; i++)
		t->apic_ids[i] = i;
	t->p = (struct acpi_params){
		.nr_vcpus = nr_vcpus,
		.apic_ids = t->apic_ids,
		.ioapic_id = (uint8_t)nr_vcpus,
		.pm1a_evt = 0x600,
		.pm1a_cnt = 0x604,
		.pm_tmr = 0x608,
		.pm_tmr_32bit = true,
		.gpe0_blk = 0x610,
		.gpe0_len = 8,
		.reset_port = 0xcf9,
		.reset_value = 6,
	};
	assert_int_equal(acpi_build(&t->f.gm, BOOT_ACPI_START, BOOT_ACPI_END,
				    &t->p, &t->rsdp),
			 0);
}

static uint8_t *table(struct tables *t, uint64_t gpa, const char *sig)
{
	uint8_t *h = gmem_map(&t->f.gm, gpa, 36, false);

	assert_non_null(h);
	assert_memory_equal(h, sig, 4);
	h = gmem_map(&t->f.gm, gpa, get_le32(h + 4), false);
	assert_non_null(h);
	assert_int_equal(sum8(h, get_le32(h + 4)), 0);
	return h;
}

/* Find a table through the XSDT; checks the RSDT agrees. */
static uint8_t *find(struct tables *t, const char *sig)
{
	uint8_t *rsdp = gmem_map(&t->f.gm, t->rsdp, 36, false);
	uint8_t *xsdt = table(t, get_le64(rsdp + 24), "XSDT");
	uint8_t *rsdt = table(t, get_le32(rsdp + 16), "RSDT");
	unsigned int n = (get_le32(xsdt + 4) - 36) / 8, i;

	for (i = 0; i < n; i++) {
		uint64_t gpa = get_le64(xsdt + 36 + i * 8);
		uint8_t *h = gmem_map(&t->f.gm, gpa, 4, false);

		assert_int_equal(get_le32(rsdt + 36 + i * 4), gpa);
		if (!memcmp(h, sig, 4))
			return table(t, gpa, sig);
	}
	return NULL;
}

static void test_acpi_rsdp_checksums(void **state)
{
	struct tables t;
	uint8_t *rsdp;

	(void)state;
	build(&t, 1);
	assert_int_equal(t.rsdp, BOOT_ACPI_START);
	assert_int_equal(t.rsdp % 16, 0);
	rsdp = gmem_map(&t.f.gm, t.rsdp, 36, false);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum8(rsdp, 20), 0);
	assert_int_equal(sum8(rsdp, 36), 0);
	assert_int_equal(rsdp[15], 2);
	assert_non_null(find(&t, "FACP"));
	assert_non_null(find(&t, "APIC"));
	assert_non_null(find(&t, "SSDT"));
	fake_gmem_destroy(&t.f);
}

static void test_acpi_fadt_fields(void **state)
{
	struct tables t;
	uint8_t *fadt, *dsdt, *facs;

	(void)state;
	build(&t, 2);
	fadt = find(&t, "FACP");
	assert_int_equal(get_le32(fadt + 4), 276);
	assert_int_equal(get_le16(fadt + 46), 9); /* SCI */
	assert_int_equal(get_le32(fadt + 56), 0x600);
	assert_int_equal(get_le32(fadt + 64), 0x604);
	assert_int_equal(get_le32(fadt + 76), 0x608);
	assert_int_equal(fadt[91], 4);
	assert_true(get_le32(fadt + 112) & BIT(8));  /* TMR_VAL_EXT */
	assert_true(get_le32(fadt + 112) & BIT(10)); /* RESET_REG_SUP */
	assert_false(get_le32(fadt + 112) & BIT(4)); /* fixed PWRBTN */
	assert_int_equal(fadt[116], 1);		     /* reset: I/O */
	assert_int_equal(get_le64(fadt + 120), 0xcf9);
	assert_int_equal(fadt[128], 6);
	assert_int_equal(get_le32(fadt + 48), 0); /* no SMI_CMD */
	dsdt = table(&t, get_le64(fadt + 140), "DSDT");
	assert_int_equal(get_le32(fadt + 40), get_le64(fadt + 140));
	assert_int_equal(get_le32(dsdt + 4), acpi_dsdt_aml_len);
	assert_non_null(memmem(dsdt, acpi_dsdt_aml_len, "_S5_", 4));
	assert_non_null(memmem(dsdt, acpi_dsdt_aml_len, "_PRT", 4));
	facs = gmem_map(&t.f.gm, get_le32(fadt + 36), 64, false);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(get_le32(fadt + 36) % 64, 0);
	fake_gmem_destroy(&t.f);
}

static void test_acpi_madt_per_vcpu(void **state)
{
	static const unsigned int counts[] = { 1, 2, 4, 64 };
	unsigned int c;

	(void)state;
	for (c = 0; c < ARRAY_SIZE(counts); c++) {
		struct tables t;
		unsigned int n = counts[c], lapics = 0, ioapics = 0, isos = 0;
		uint8_t *madt, *e, *end;

		build(&t, n);
		madt = find(&t, "APIC");
		assert_int_equal(get_le32(madt + 36), 0xfee00000);
		assert_int_equal(get_le32(madt + 4), acpi_madt_len(n));
		e = madt + 44;
		end = madt + get_le32(madt + 4);
		while (e < end) {
			assert_true(e[1] >= 2 && e + e[1] <= end);
			switch (e[0]) {
			case 0:
				assert_int_equal(e[2], lapics); /* UID */
				assert_int_equal(e[3], lapics); /* APIC ID */
				assert_int_equal(get_le32(e + 4), 1);
				lapics++;
				break;
			case 1:
				assert_int_equal(e[2], n);
				assert_int_equal(get_le32(e + 4), 0xfec00000);
				ioapics++;
				break;
			case 2:
				if (e[3] == 0)
					assert_int_equal(get_le32(e + 4), 2);
				if (e[3] == 9)
					assert_int_equal(get_le16(e + 8), 0xd);
				isos++;
				break;
			}
			e += e[1];
		}
		assert_int_equal(lapics, n);
		assert_int_equal(ioapics, 1);
		assert_int_equal(isos, 2);
		fake_gmem_destroy(&t.f);
	}
}

static void test_acpi_cpu_ssdt(void **state)
{
	uint8_t buf[4096];
	size_t len;

	(void)state;
	assert_int_equal(acpi_build_cpu_ssdt(buf, sizeof(buf), 64, &len), 0);
	assert_int_equal(sum8(buf, len), 0);
	assert_int_equal(get_le32(buf + 4), len);
	assert_non_null(memmem(buf, len, "C03F", 4));
	assert_null(memmem(buf, len, "C040", 4));
	assert_int_equal(acpi_build_cpu_ssdt(buf, 40, 64, &len), -ENOSPC);
	assert_int_equal(acpi_build_cpu_ssdt(buf, sizeof(buf), 1, &len), 0);
	assert_int_equal(buf[36], 0x10);     /* ScopeOp */
	assert_int_equal(buf[37], len - 37); /* one-byte PkgLength */
}

static void test_acpi_window_too_small(void **state)
{
	struct fake_gmem f;
	uint32_t ids[4] = { 0, 1, 2, 3 };
	struct acpi_params p = { .nr_vcpus = 4, .apic_ids = ids };
	uint64_t rsdp;

	(void)state;
	assert_int_equal(fake_gmem_init(&f, 2 * MiB), 0);
	assert_int_equal(acpi_build(&f.gm, BOOT_ACPI_START,
				    BOOT_ACPI_START + 512, &p, &rsdp),
			 -ENOSPC);
	fake_gmem_destroy(&f);
}

/* acpica's disassembler must accept every table (skipped without iasl). */
static void test_acpi_iasl_disassembles(void **state)
{
	struct tables t;
	char dir[] = "/tmp/hvkvm-acpi-XXXXXX", cmd[512];
	const char *sigs[] = { "FACP", "APIC", "SSDT" };
	unsigned int i;

	(void)state;
	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		skip();
		return;
	}
	build(&t, 4);
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		uint8_t *tb = find(&t, sigs[i]);
		char path[300];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s.dat", dir, sigs[i]);
		f = fopen(path, "wb");
		assert_non_null(f);
		fwrite(tb, 1, get_le32(tb + 4), f);
		fclose(f);
		snprintf(
			cmd, sizeof(cmd),
			"cd %s && iasl -d %s.dat > %s.log 2>&1 && ! grep -qi 'error' %s.dsl",
			dir, sigs[i], sigs[i], sigs[i]);
		assert_int_equal(system(cmd), 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	fake_gmem_destroy(&t.f);
}

/* ---- the table loader: a tiny SeaBIOS-style loader over fake memory ---- */

struct mini_file {
	char name[56];
	uint64_t addr;
	size_t len;
};

static struct mini_file *mini_find(struct mini_file *files, unsigned int n,
				   const char *name)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strncmp(files[i].name, name, 56))
			return &files[i];
	return NULL;
}

/*
 * Run the "etc/table-loader" commands in @cmds: ALLOCATE places each file
 * (HIGH zone at 1 MiB up, FSEG at 0xF0000 up) and copies its blob data;
 * ADD_POINTER / ADD_CHECKSUM patch guest memory as SeaBIOS would.
 */
static unsigned int mini_loader(struct fake_gmem *f, const struct acpi_blob *b,
				const uint8_t *cmds, size_t len,
				struct mini_file *files)
{
	uint64_t high = 0x100000, fseg = 0xf0000;
	unsigned int n = 0, fi;
	size_t at;

	assert_int_equal(len % 128, 0);
	for (at = 0; at < len; at += 128) {
		const uint8_t *e = cmds + at;
		struct mini_file *d, *s;
		uint32_t off, start, length, align;
		uint64_t v = 0, *next;
		uint8_t *p;
		unsigned int k;

		assert_int_equal(e[4 + 55], 0); /* names are terminated */
		switch (get_le32(e)) {
		case 1: /* ALLOCATE */
			assert_null(mini_find(files, n, (const char *)e + 4));
			align = get_le32(e + 60);
			assert_true(align && !(align & (align - 1)));
			next = e[64] == 1 ? &high : &fseg;
			assert_true(e[64] == 1 || e[64] == 2);
			for (fi = 0; fi < ACPI_NR_FILES; fi++)
				if (!strcmp(acpi_file_names[fi],
					    (const char *)e + 4))
					break;
			assert_true(fi < ACPI_NR_FILES);
			memcpy(files[n].name, e + 4, 56);
			files[n].addr = ALIGN_UP(*next, align);
			files[n].len = b->len[fi];
			*next = files[n].addr + files[n].len;
			assert_int_equal(gmem_write(&f->gm, files[n].addr,
						    b->data[fi], b->len[fi]),
					 0);
			n++;
			break;
		case 2: /* ADD_POINTER */
			d = mini_find(files, n, (const char *)e + 4);
			s = mini_find(files, n, (const char *)e + 60);
			assert_non_null(d);
			assert_non_null(s);
			off = get_le32(e + 116);
			assert_true(e[120] == 4 || e[120] == 8);
			assert_true(off + e[120] <= d->len);
			p = gmem_map(&f->gm, d->addr + off, e[120], true);
			for (k = 0; k < e[120]; k++)
				v |= (uint64_t)p[k] << (8 * k);
			v += s->addr;
			for (k = 0; k < e[120]; k++)
				p[k] = (uint8_t)(v >> (8 * k));
			break;
		case 3: /* ADD_CHECKSUM */
			d = mini_find(files, n, (const char *)e + 4);
			assert_non_null(d);
			off = get_le32(e + 60);
			start = get_le32(e + 64);
			length = get_le32(e + 68);
			assert_true(start + length <= d->len && off < d->len);
			p = gmem_map(&f->gm, d->addr, d->len, true);
			p[off] = (uint8_t)(p[off] - sum8(p + start, length));
			break;
		default:
			fail_msg("unknown loader command %u", get_le32(e));
		}
	}
	return n;
}

static void test_acpi_table_loader(void **state)
{
	struct tables t;
	struct mini_file files[4];
	struct acpi_blob b, linked;
	struct mini_file *rf, *tf;
	uint8_t *cmds, *fadt;
	size_t len;

	(void)state;
	build(&t, 2);
	memset(t.f.ram, 0, 2 * MiB);
	assert_int_equal(acpi_blob_build(&t.p, &b), 0);
	assert_int_equal(acpi_blob_loader(&b, &cmds, &len), 0);
	assert_int_equal(len, 128 * (2 + b.nr_ptrs + b.nr_cksums));
	assert_int_equal(mini_loader(&t.f, &b, cmds, len, files), 2);
	rf = mini_find(files, 2, "etc/acpi/rsdp");
	tf = mini_find(files, 2, "etc/acpi/tables");
	assert_non_null(rf);
	assert_non_null(tf);
	assert_int_equal(rf->addr, 0xf0000);
	assert_int_equal(tf->addr, 0x100000);
	/* find() checks every checksum and that XSDT and RSDT agree. */
	t.rsdp = rf->addr;
	assert_int_equal(sum8(gmem_map(&t.f.gm, t.rsdp, 36, false), 20), 0);
	assert_int_equal(sum8(gmem_map(&t.f.gm, t.rsdp, 36, false), 36), 0);
	fadt = find(&t, "FACP");
	assert_non_null(fadt);
	assert_non_null(find(&t, "APIC"));
	assert_non_null(find(&t, "SSDT"));
	assert_int_equal(get_le32(fadt + 36), tf->addr); /* FACS first */
	assert_int_equal(get_le32(fadt + 40), get_le64(fadt + 140));
	assert_non_null(table(&t, get_le64(fadt + 140), "DSDT"));

	/* acpi_blob_link() (the direct path) makes the same bytes. */
	assert_int_equal(acpi_blob_build(&t.p, &linked), 0);
	acpi_blob_link(&linked,
		       (const uint64_t[]){ [ACPI_FILE_TABLES] = 0x100000,
					   [ACPI_FILE_RSDP] = 0xf0000 });
	assert_memory_equal(gmem_map(&t.f.gm, 0xf0000, 36, false),
			    linked.data[ACPI_FILE_RSDP], 36);
	assert_memory_equal(gmem_map(&t.f.gm, 0x100000, tf->len, false),
			    linked.data[ACPI_FILE_TABLES], tf->len);
	acpi_blob_free(&linked);
	free(cmds);
	acpi_blob_free(&b);
	fake_gmem_destroy(&t.f);
}

static void test_acpi_loader_command_order(void **state)
{
	struct tables t;
	struct acpi_blob b;
	uint8_t *cmds;
	size_t len, at;

	(void)state;
	build(&t, 64);
	assert_int_equal(acpi_blob_build(&t.p, &b), 0);
	assert_int_equal(acpi_blob_loader(&b, &cmds, &len), 0);
	/* Two ALLOCATEs first, checksums only after the last pointer. */
	assert_int_equal(get_le32(cmds), 1);
	assert_int_equal(get_le32(cmds + 128), 1);
	for (at = 256; at + 128 < len; at += 128)
		assert_true(get_le32(cmds + at) <= get_le32(cmds + at + 128));
	assert_int_equal(get_le32(cmds + len - 128), 3);
	free(cmds);
	acpi_blob_free(&b);
	fake_gmem_destroy(&t.f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acpi_rsdp_checksums),
		cmocka_unit_test(test_acpi_fadt_fields),
		cmocka_unit_test(test_acpi_madt_per_vcpu),
		cmocka_unit_test(test_acpi_cpu_ssdt),
		cmocka_unit_test(test_acpi_window_too_small),
		cmocka_unit_test(test_acpi_iasl_disassembles),
		cmocka_unit_test(test_acpi_table_loader),
		cmocka_unit_test(test_acpi_loader_command_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
