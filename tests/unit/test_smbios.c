// SPDX-License-Identifier: MIT
/*
 * Unit tests: SMBIOS tables — the entry point (anchors, both checksums,
 * table length, count, max structure size) and a strict walk of every
 * structure (formatted length, string sets, no overrun, type 127 last),
 * the two identities, the UUID's byte order, memory and vCPU edge cases,
 * long and absent strings, and placement in guest memory.
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

#include "fake_gmem.h"
#include "hvkvm/boot.h"
#include "hvkvm/config.h"
#include "hvkvm/smbios.h"
#include "hvkvm/util.h"

static const uint8_t test_uuid[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc,
				       0xde, 0xf0, 0x01, 0x23, 0x45, 0x67,
				       0x89, 0xab, 0xcd, 0xef };

#define MAX_STRUCTS 256

struct walked {
	const uint8_t *s[MAX_STRUCTS]; /* each structure's header */
	unsigned int nr;
};

/* Walk @len bytes as a reader would, failing on anything malformed. */
static void walk(const uint8_t *t, size_t len, struct walked *w)
{
	size_t at = 0;

	w->nr = 0;
	while (at < len) {
		const uint8_t *h = t + at;
		size_t end;

		assert_true(len - at >= 4);
		assert_true(h[1] >= 4);
		assert_true(h[1] <= len - at);
		assert_true(w->nr < MAX_STRUCTS);
		w->s[w->nr++] = h;
		end = at + h[1];
		/* The string set ends with a double NUL. */
		assert_true(end + 2 <= len);
		if (t[end] == 0 && t[end + 1] == 0) {
			end += 2;
		} else {
			while (end + 1 < len &&
			       !(t[end] == 0 && t[end + 1] == 0))
				end++;
			assert_true(end + 1 < len);
			end += 2;
		}
		if (h[0] == SMBIOS_TYPE_END) {
			assert_int_equal(end, len); /* nothing after it */
		}
		at = end;
	}
	assert_true(w->nr > 0);
	assert_int_equal(w->s[w->nr - 1][0], SMBIOS_TYPE_END);
}

/* String @n of structure @h (1-based), NULL for 0; checks the count. */
static const char *str_of(const uint8_t *h, uint8_t n)
{
	const char *p = (const char *)h + h[1];
	uint8_t i;

	if (!n)
		return NULL;
	for (i = 1; i < n; i++) {
		assert_true(*p != '\0'); /* string n exists */
		p += strlen(p) + 1;
	}
	assert_true(*p != '\0');
	return p;
}

static const uint8_t *find(const struct walked *w, uint8_t type,
			   unsigned int nth)
{
	unsigned int i;

	for (i = 0; i < w->nr; i++)
		if (w->s[i][0] == type && !nth--)
			return w->s[i];
	return NULL;
}

static unsigned int count(const struct walked *w, uint8_t type)
{
	unsigned int i, n = 0;

	for (i = 0; i < w->nr; i++)
		n += w->s[i][0] == type;
	return n;
}

/* Entry point checks against the tables it describes. */
static void check_ep(const uint8_t *ep, const uint8_t *t, size_t len,
		     const struct walked *w)
{
	size_t max = 0;
	unsigned int i;

	assert_memory_equal(ep, "_SM_", 4);
	assert_int_equal(ep[5], SMBIOS_EP_LEN);
	assert_int_equal(sum8(ep, ep[5]), 0);
	assert_int_equal(sum8(ep, 0x10), 0); /* SeaBIOS checks this half */
	assert_memory_equal(ep + 0x10, "_DMI_", 5);
	assert_int_equal(sum8(ep + 0x10, 15), 0);
	assert_int_equal(ep[6], 2);
	assert_int_equal(ep[7], 8);
	assert_int_equal(ep[0x1e], 0x28);
	assert_int_equal(get_le16(ep + 0x16), len);
	assert_int_equal(get_le16(ep + 0x1c), w->nr);
	for (i = 0; i < w->nr; i++) {
		const uint8_t *next = i + 1 < w->nr ? w->s[i + 1] : t + len;

		max = MAX(max, (size_t)(next - w->s[i]));
	}
	assert_int_equal(get_le16(ep + 8), max);
}

static struct smbios_params params(bool hyperv, unsigned int vcpus,
				   uint64_t below, uint64_t above)
{
	struct smbios_params p = {
		.hyperv = hyperv,
		.nr_vcpus = vcpus,
		.cpuid_signature = 0x000306a9,
		.cpuid_features = 0x0781abfd,
		.cpu_manufacturer = "GenuineIntel",
		.cpu_mhz = 2800,
		.ram_below_4g = below,
		.ram_above_4g = above,
	};

	memcpy(p.uuid, test_uuid, 16);
	return p;
}

static void build_ok(const struct smbios_params *p, struct smbios_blob *b,
		     struct walked *w)
{
	assert_int_equal(smbios_build(p, b), 0);
	walk(b->tables, b->len, w);
	check_ep(b->ep, b->tables, b->len, w);
	assert_int_equal(b->nr_structs, w->nr);
}

static void test_smbios_hyperv_identity(void **state)
{
	struct smbios_params p = params(true, 2, 512 * MiB, 0);
	struct smbios_blob b;
	struct walked w;
	const uint8_t *t;
	char serial[33];

	(void)state;
	build_ok(&p, &b, &w);
	t = find(&w, SMBIOS_TYPE_BIOS, 0);
	assert_non_null(t);
	assert_string_equal(str_of(t, t[4]), "American Megatrends Inc.");
	assert_string_equal(str_of(t, t[5]), "090008");
	assert_string_equal(str_of(t, t[8]), "12/07/2018");
	assert_int_equal(get_le16(t + 6), 0xf000);

	t = find(&w, SMBIOS_TYPE_SYSTEM, 0);
	assert_non_null(t);
	assert_int_equal(t[1], 0x1b);
	assert_string_equal(str_of(t, t[4]), "Microsoft Corporation");
	assert_string_equal(str_of(t, t[5]), "Virtual Machine");
	assert_string_equal(str_of(t, t[6]), "7.0");
	smbios_serial(test_uuid, 1, serial);
	assert_string_equal(str_of(t, t[7]), serial);
	assert_string_equal(str_of(t, t[0x19]), "None");
	assert_string_equal(str_of(t, t[0x1a]), "Virtual Machine");
	/* UUID: first three fields little-endian, the rest as is. */
	{
		static const uint8_t want[16] = { 0x78, 0x56, 0x34, 0x12,
						  0xbc, 0x9a, 0xf0, 0xde,
						  0x01, 0x23, 0x45, 0x67,
						  0x89, 0xab, 0xcd, 0xef };

		assert_memory_equal(t + 8, want, 16);
	}

	t = find(&w, SMBIOS_TYPE_BASEBOARD, 0);
	assert_non_null(t);
	assert_string_equal(str_of(t, t[4]), "Microsoft Corporation");
	assert_string_equal(str_of(t, t[5]), "Virtual Machine");
	assert_int_equal(get_le16(t + 0x0b), get_le16(find(&w, 3, 0) + 2));
	t = find(&w, SMBIOS_TYPE_CHASSIS, 0);
	assert_non_null(t);
	assert_int_equal(t[5], 0x03);
	assert_non_null(str_of(t, t[8])); /* asset tag */

	assert_int_equal(count(&w, SMBIOS_TYPE_PROCESSOR), 2);
	t = find(&w, SMBIOS_TYPE_PROCESSOR, 1);
	assert_string_equal(str_of(t, t[4]), "CPU 1");
	assert_string_equal(str_of(t, t[7]), "GenuineIntel");
	assert_int_equal(get_le32(t + 8), 0x000306a9);
	assert_int_equal(get_le16(t + 0x16), 2800);
	assert_int_equal(t[0x18], 0x41);

	assert_int_equal(count(&w, SMBIOS_TYPE_MEM_ARRAY), 1);
	assert_int_equal(count(&w, SMBIOS_TYPE_MEM_DEVICE), 1);
	assert_int_equal(count(&w, SMBIOS_TYPE_MEM_MAPPED), 1);
	assert_int_equal(count(&w, SMBIOS_TYPE_BOOT), 1);
	t = find(&w, SMBIOS_TYPE_MEM_DEVICE, 0);
	assert_int_equal(get_le16(t + 0x0c), 512);
	assert_string_equal(str_of(t, t[0x10]), "M0");
	assert_string_equal(str_of(t, t[0x17]), "Microsoft");
	t = find(&w, SMBIOS_TYPE_MEM_MAPPED, 0);
	assert_int_equal(get_le32(t + 4), 0);
	assert_int_equal(get_le32(t + 8), 512 * 1024 - 1);
	smbios_blob_free(&b);
}

static void test_smbios_neutral_identity(void **state)
{
	struct smbios_params p = params(false, 1, 256 * MiB, 0);
	struct smbios_blob b;
	struct walked w;
	const uint8_t *t;
	unsigned int i;

	(void)state;
	build_ok(&p, &b, &w);
	t = find(&w, SMBIOS_TYPE_SYSTEM, 0);
	assert_string_equal(str_of(t, t[4]), "hvkvm");
	assert_string_equal(str_of(t, t[5]), "hvkvm Virtual Machine");
	assert_int_equal(t[0x19], 0); /* no SKU */
	/* Nothing says Microsoft anywhere (ata_piix must keep the disks). */
	for (i = 0; i + 9 <= b.len; i++)
		assert_false(!memcmp(b.tables + i, "Microsoft", 9));
	t = find(&w, SMBIOS_TYPE_BIOS, 0);
	assert_string_equal(str_of(t, t[4]), "hvkvm");
	assert_true(t[0x13] & 0x10); /* a virtual machine */
	smbios_blob_free(&b);
}

static void test_smbios_omit_bios(void **state)
{
	struct smbios_params p = params(false, 1, 64 * MiB, 0);
	struct smbios_blob b;
	struct walked w;

	(void)state;
	p.omit_bios = true;
	build_ok(&p, &b, &w);
	assert_int_equal(count(&w, SMBIOS_TYPE_BIOS), 0);
	assert_int_equal(w.s[0][0], SMBIOS_TYPE_SYSTEM);
	smbios_blob_free(&b);
}

static void test_smbios_user_strings(void **state)
{
	struct smbios_params p = params(true, 1, 64 * MiB, 0);
	struct smbios_blob b;
	struct walked w;
	const uint8_t *t;

	(void)state;
	p.str.sys_manufacturer = "ACME";
	p.str.sys_serial = "SN-1";
	p.str.bios_version = "9.9";
	p.str.sys_sku = ""; /* empty: omitted */
	build_ok(&p, &b, &w);
	t = find(&w, SMBIOS_TYPE_SYSTEM, 0);
	assert_string_equal(str_of(t, t[4]), "ACME");
	assert_string_equal(str_of(t, t[5]), "Virtual Machine");
	assert_string_equal(str_of(t, t[7]), "SN-1");
	assert_int_equal(t[0x19], 0);
	t = find(&w, SMBIOS_TYPE_BIOS, 0);
	assert_string_equal(str_of(t, t[5]), "9.9");
	smbios_blob_free(&b);
}

static void test_smbios_long_string(void **state)
{
	struct smbios_params p = params(true, 1, 64 * MiB, 0);
	struct smbios_blob b;
	struct walked w;
	char s[SMBIOS_STRING_MAX + 2];

	(void)state;
	memset(s, 'x', SMBIOS_STRING_MAX);
	s[SMBIOS_STRING_MAX] = '\0';
	p.str.sys_product = s; /* the longest allowed */
	build_ok(&p, &b, &w);
	assert_int_equal(strlen(str_of(find(&w, 1, 0), find(&w, 1, 0)[5])),
			 SMBIOS_STRING_MAX);
	smbios_blob_free(&b);
	s[SMBIOS_STRING_MAX] = 'x';
	s[SMBIOS_STRING_MAX + 1] = '\0';
	assert_int_equal(smbios_build(&p, &b), -EINVAL);
	assert_null(b.tables);
}

static void test_smbios_many_vcpus(void **state)
{
	struct smbios_params p = params(true, 64, 1 * GiB, 0);
	struct smbios_blob b;
	struct walked w;
	unsigned int i;

	(void)state;
	build_ok(&p, &b, &w);
	assert_int_equal(count(&w, SMBIOS_TYPE_PROCESSOR), 64);
	for (i = 0; i < 64; i++) {
		const uint8_t *t = find(&w, SMBIOS_TYPE_PROCESSOR, i);
		char name[16];

		snprintf(name, sizeof(name), "CPU %u", i);
		assert_string_equal(str_of(t, t[4]), name);
		assert_int_equal(get_le16(t + 2), 0x400 + i);
	}
	smbios_blob_free(&b);
	/* So many that the u16 table length would overflow. */
	p.nr_vcpus = 2000;
	assert_int_equal(smbios_build(&p, &b), -E2BIG);
	p.nr_vcpus = 0;
	assert_int_equal(smbios_build(&p, &b), -EINVAL);
}

static void test_smbios_big_memory(void **state)
{
	/* 3 GiB low + 8 TiB high: extended sizes and addresses. */
	struct smbios_params p = params(true, 4, 3 * GiB, 8192 * GiB);
	struct smbios_blob b;
	struct walked w;
	const uint8_t *t;

	(void)state;
	build_ok(&p, &b, &w);
	assert_int_equal(count(&w, SMBIOS_TYPE_MEM_DEVICE), 2);
	assert_int_equal(count(&w, SMBIOS_TYPE_MEM_MAPPED), 2);
	t = find(&w, SMBIOS_TYPE_MEM_ARRAY, 0);
	assert_int_equal(get_le32(t + 7), 0x80000000u);
	assert_int_equal(get_le64(t + 0x0f), 8195 * GiB);
	assert_int_equal(get_le16(t + 0x0d), 2);
	t = find(&w, SMBIOS_TYPE_MEM_DEVICE, 0);
	assert_int_equal(get_le16(t + 0x0c), 3072);
	t = find(&w, SMBIOS_TYPE_MEM_DEVICE, 1);
	assert_int_equal(get_le16(t + 0x0c), 0x7fff);
	assert_int_equal(get_le32(t + 0x1c), 8192 * 1024);
	assert_string_equal(str_of(t, t[0x10]), "M1");
	t = find(&w, SMBIOS_TYPE_MEM_MAPPED, 0);
	assert_int_equal(get_le32(t + 8), 3 * 1024 * 1024 - 1);
	t = find(&w, SMBIOS_TYPE_MEM_MAPPED, 1);
	assert_int_equal(get_le32(t + 4), 0xffffffffu);
	assert_int_equal(get_le64(t + 0x0f), 4 * GiB);
	assert_int_equal(get_le64(t + 0x17), 4 * GiB + 8192 * GiB - 1);
	smbios_blob_free(&b);
}

static void test_smbios_serial_format(void **state)
{
	uint8_t other[16];
	char a[33], c[33];
	unsigned int i;

	(void)state;
	smbios_serial(test_uuid, 1, a);
	assert_int_equal(strlen(a), 32);
	for (i = 0; i < 32; i++) {
		if (i % 5 == 4)
			assert_int_equal(a[i], '-');
		else
			assert_true(a[i] >= '0' && a[i] <= '9');
	}
	smbios_serial(test_uuid, 1, c);
	assert_string_equal(a, c); /* stable */
	smbios_serial(test_uuid, 2, c);
	assert_string_not_equal(a, c);
	memcpy(other, test_uuid, 16);
	other[15] ^= 1;
	smbios_serial(other, 1, c);
	assert_string_not_equal(a, c);
}

static void test_smbios_install(void **state)
{
	struct smbios_params p = params(true, 2, 2 * MiB, 0);
	struct fake_gmem f;
	struct walked w;
	uint64_t ep_addr = 0;
	uint8_t *ep, *t;
	uint32_t addr;
	uint16_t len;

	(void)state;
	assert_int_equal(fake_gmem_init(&f, 2 * MiB), 0);
	assert_int_equal(smbios_install(&f.gm, BOOT_SMBIOS_START,
					BOOT_SMBIOS_END, &p, &ep_addr),
			 0);
	assert_int_equal(ep_addr, BOOT_SMBIOS_START);
	assert_int_equal(ep_addr % 16, 0);
	ep = gmem_map(&f.gm, ep_addr, SMBIOS_EP_LEN, false);
	assert_non_null(ep);
	addr = get_le32(ep + 0x18);
	len = get_le16(ep + 0x16);
	assert_true(addr >= ep_addr + SMBIOS_EP_LEN);
	assert_true(addr + len <= BOOT_SMBIOS_END);
	t = gmem_map(&f.gm, addr, len, false);
	assert_non_null(t);
	walk(t, len, &w);
	check_ep(ep, t, len, &w);
	/* Too small a window, and a window outside RAM. */
	assert_int_equal(smbios_install(&f.gm, BOOT_SMBIOS_START,
					BOOT_SMBIOS_START + 64, &p, &ep_addr),
			 -ENOSPC);
	assert_int_not_equal(
		smbios_install(&f.gm, 4 * MiB, 5 * MiB, &p, &ep_addr), 0);
	fake_gmem_destroy(&f);
}

/* The ACPI window ends where SMBIOS starts; both below 1 MiB. */
static void test_smbios_layout(void **state)
{
	(void)state;
	assert_true(BOOT_ACPI_END <= BOOT_SMBIOS_START);
	assert_int_equal(BOOT_SMBIOS_START, 0xf0000);
	assert_int_equal(BOOT_SMBIOS_END, 0x100000);
}

/* libvirt <sysinfo type='smbios'> and <os><smbios mode=.../>. */
static int parse(struct vm_config *cfg, const char *body, char *err)
{
	char xml[4096];

	config_init(cfg);
	snprintf(xml, sizeof(xml),
		 "<domain type='kvm'>\n<name>t</name>\n"
		 "<uuid>12345678-9abc-def0-0123-456789abcdef</uuid>\n%s\n"
		 "</domain>\n",
		 body);
	return config_parse_buffer(cfg, xml, strlen(xml), "t.xml", err,
				   CONFIG_ERR_MAX);
}

static void test_smbios_config_sysinfo(void **state)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_MAX] = "";

	(void)state;
	assert_int_equal(
		parse(&cfg,
		      "<os><type>hvm</type><smbios mode='sysinfo'/></os>\n"
		      "<sysinfo type='smbios'>\n"
		      " <bios><entry name='vendor'>ACME BIOS</entry>"
		      "<entry name='date'>01/02/2003</entry></bios>\n"
		      " <system><entry name='manufacturer'>ACME</entry>\n"
		      "  <entry name='serial'>SN 42</entry>\n"
		      "  <entry name='uuid'>12345678-9abc-def0-0123-456789abcdef</entry>\n"
		      " </system>\n</sysinfo>",
		      err),
		0);
	assert_true(cfg.smbios_sysinfo);
	assert_string_equal(cfg.smbios[CONFIG_SMBIOS_BIOS_VENDOR], "ACME BIOS");
	assert_string_equal(cfg.smbios[CONFIG_SMBIOS_BIOS_DATE], "01/02/2003");
	assert_string_equal(cfg.smbios[CONFIG_SMBIOS_SYS_MANUFACTURER], "ACME");
	assert_string_equal(cfg.smbios[CONFIG_SMBIOS_SYS_SERIAL], "SN 42");
	assert_null(cfg.smbios[CONFIG_SMBIOS_SYS_PRODUCT]);
	config_free(&cfg);

	assert_int_equal(parse(&cfg, "<os><smbios mode='emulate'/></os>", err),
			 0);
	assert_false(cfg.smbios_sysinfo);
	config_free(&cfg);
}

static void test_smbios_config_malformed(void **state)
{
	static const struct {
		const char *body, *want;
	} cases[] = {
		{ "<os><smbios mode='host'/></os>",
		  "mode='host' not supported" },
		{ "<os><smbios mode='bogus'/></os>", "mode" },
		{ "<os><smbios/></os>", "mode" },
		{ "<sysinfo type='fwcfg'/>", "type='fwcfg' not supported" },
		{ "<sysinfo/>", "type" },
		{ "<sysinfo type='smbios'><chassis/></sysinfo>",
		  "not supported" },
		{ "<sysinfo type='smbios'><bios><entry name='colour'>x</entry>"
		  "</bios></sysinfo>",
		  "name='colour' not supported" },
		{ "<sysinfo type='smbios'><bios><entry>x</entry></bios>"
		  "</sysinfo>",
		  "name" },
		{ "<sysinfo type='smbios'><system><entry name='uuid'>"
		  "00000000-0000-0000-0000-000000000001</entry></system>"
		  "</sysinfo>",
		  "uuid differs from <uuid>" },
		{ "<sysinfo type='smbios'><system><entry name='uuid'>nope"
		  "</entry></system></sysinfo>",
		  "is not a UUID" },
		{ "<sysinfo type='smbios'><system><entry name='sku'><b/>"
		  "</entry></system></sysinfo>",
		  "" },
		{ "<sysinfo type='smbios'><system>text</system></sysinfo>",
		  "" },
	};
	struct vm_config cfg;
	char err[CONFIG_ERR_MAX];
	char longv[600];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		err[0] = '\0';
		if (parse(&cfg, cases[i].body, err) != -EINVAL)
			fail_msg("accepted: %s", cases[i].body);
		if (!strstr(err, cases[i].want) || !err[0] || strchr(err, '\n'))
			fail_msg("'%s': error '%s' lacks '%s'", cases[i].body,
				 err, cases[i].want);
		assert_non_null(strstr(err, "t.xml:"));
		config_free(&cfg);
	}
	/* Too long for an SMBIOS string. */
	memset(longv, 'x', 300);
	longv[300] = '\0';
	{
		char body[1024];

		snprintf(body, sizeof(body),
			 "<sysinfo type='smbios'><system><entry name='family'>"
			 "%s</entry></system></sysinfo>",
			 longv);
		assert_int_equal(parse(&cfg, body, err), -EINVAL);
		assert_non_null(strstr(err, "longer than 255"));
		config_free(&cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smbios_hyperv_identity),
		cmocka_unit_test(test_smbios_neutral_identity),
		cmocka_unit_test(test_smbios_omit_bios),
		cmocka_unit_test(test_smbios_user_strings),
		cmocka_unit_test(test_smbios_long_string),
		cmocka_unit_test(test_smbios_many_vcpus),
		cmocka_unit_test(test_smbios_big_memory),
		cmocka_unit_test(test_smbios_serial_format),
		cmocka_unit_test(test_smbios_install),
		cmocka_unit_test(test_smbios_layout),
		cmocka_unit_test(test_smbios_config_sysinfo),
		cmocka_unit_test(test_smbios_config_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
