// SPDX-License-Identifier: MIT
/*
 * Unit tests: config (libvirt domain XML, command-line values, validation).
 * Data: every .xml in tests/unit/data/config/good parses and validates;
 * every .xml in tests/unit/data/config/bad starts with a comment
 * "<!-- expect: FILE:LINE: <element>: message -->" giving the exact error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hvkvm/config.h"
#include "hvkvm/util.h"

static char data_dir[PATH_MAX];
static char examples_dir[PATH_MAX];

/* ---- helpers ------------------------------------------------------------- */

static int parse_str(struct vm_config *cfg, const char *xml, char *err)
{
	return config_parse_buffer(cfg, xml, strlen(xml), "t.xml", err,
				   CONFIG_ERR_MAX);
}

/* A complete, valid domain around @devices (line 1 = <domain>). */
static int parse_devices(struct vm_config *cfg, const char *devices, char *err)
{
	char xml[8192];
	int n;

	n = snprintf(xml, sizeof(xml),
		     "<domain type='kvm'>\n<name>t</name>\n"
		     "<os><type>hvm</type><kernel>/k</kernel></os>\n"
		     "<devices>\n%s\n</devices>\n</domain>\n",
		     devices);
	assert_true(n > 0 && (size_t)n < sizeof(xml));
	return parse_str(cfg, xml, err);
}

static void assert_err(const char *err, const char *want)
{
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
	assert_null(strchr(err, '\n'));
}

static char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* ---- defaults ------------------------------------------------------------ */

static void test_config_init_defaults(void **state)
{
	static const uint8_t zero[16];
	struct vm_config cfg;

	config_init(&cfg);
	assert_string_equal(cfg.name, "hvkvm");
	assert_int_equal(cfg.memory, 512 * MiB);
	assert_int_equal(cfg.current_memory, 0);
	assert_int_equal(cfg.vcpus, 1);
	assert_true(cfg.acpi && cfg.apic && cfg.clock_utc);
	assert_int_equal(cfg.on_poweroff, CONFIG_ACTION_DESTROY);
	assert_int_equal(cfg.on_reboot, CONFIG_ACTION_RESTART);
	assert_int_equal(cfg.on_crash, CONFIG_ACTION_DESTROY);
	assert_int_equal(cfg.serial, CONFIG_SERIAL_STDIO);
	assert_false(cfg.uuid_set);
	assert_memory_not_equal(cfg.uuid, zero, 16);
	assert_false(cfg.hyperv.enabled);
	assert_int_equal(cfg.hyperv.spinlock_retries, 0xffffffff);
	assert_int_equal(cfg.debug_exit_port, 0);
	assert_string_equal(config_action_name(CONFIG_ACTION_PRESERVE),
			    "preserve");
	config_free(&cfg);
}

/* ---- good files ---------------------------------------------------------- */

static void check_dir_parses(const char *dir)
{
	char path[PATH_MAX + 256], err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".xml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		config_init(&cfg);
		if (config_parse_file(&cfg, path, err, sizeof(err)) ||
		    config_validate(&cfg, err, sizeof(err)))
			fail_msg("%s", err);
		assert_string_equal(cfg.source, path);
		config_free(&cfg);
		n++;
	}
	closedir(d);
	assert_true(n >= 3);
}

static void test_config_good_files_parse(void **state)
{
	char dir[PATH_MAX + 16];

	snprintf(dir, sizeof(dir), "%s/good", data_dir);
	check_dir_parses(dir);
	check_dir_parses(examples_dir);
}

static void test_config_example_windows_fields(void **state)
{
	char path[PATH_MAX + 32], err[CONFIG_ERR_MAX];
	struct config_hyperv *hv;
	struct vm_config cfg;

	snprintf(path, sizeof(path), "%s/windows-server.xml", examples_dir);
	config_init(&cfg);
	assert_int_equal(config_parse_file(&cfg, path, err, sizeof(err)), 0);
	assert_string_equal(cfg.name, "windows-server");
	assert_true(cfg.uuid_set);
	assert_int_equal(cfg.uuid[0], 0x6a);
	assert_int_equal(cfg.uuid[15], 0x4d);
	assert_int_equal(cfg.memory, 4 * GiB);
	assert_int_equal(cfg.vcpus, 2);
	assert_non_null(cfg.loader);
	assert_null(cfg.kernel);
	assert_string_equal(config_firmware(&cfg), cfg.loader);
	assert_int_equal(cfg.nr_boot, 2);
	assert_int_equal(cfg.boot[0], CONFIG_BOOT_HD);
	assert_int_equal(cfg.boot[1], CONFIG_BOOT_CDROM);
	assert_false(cfg.clock_utc);
	assert_int_equal(cfg.on_crash, CONFIG_ACTION_PRESERVE);
	assert_int_equal(cfg.serial, CONFIG_SERIAL_NONE);
	assert_int_equal(cfg.nr_disks, 3);
	assert_string_equal(cfg.disks[0].target, "hda");
	assert_int_equal(cfg.disks[0].bus, CONFIG_DISK_IDE);
	assert_int_equal(cfg.disks[0].format, CONFIG_FORMAT_VHD);
	assert_int_equal(cfg.disks[0].cache, CONFIG_CACHE_NONE);
	assert_false(cfg.disks[0].readonly);
	assert_int_equal(cfg.disks[1].media, CONFIG_MEDIA_CDROM);
	assert_true(cfg.disks[1].readonly);
	assert_int_equal(cfg.disks[2].bus, CONFIG_DISK_SCSI);
	assert_int_equal(cfg.disks[2].cache, CONFIG_CACHE_WRITEBACK);
	assert_int_equal(cfg.nr_nics, 2);
	assert_int_equal(cfg.nics[0].model, CONFIG_NIC_NETVSC);
	assert_int_equal(cfg.nics[1].model, CONFIG_NIC_DEC21140);
	assert_true(cfg.nics[1].mac_set);
	assert_int_equal(cfg.nics[1].mac[5], 0x02);
	assert_string_equal(cfg.nics[1].tap, "tap1");
	hv = &cfg.hyperv;
	assert_true(hv->enabled && hv->relaxed && hv->vpindex && hv->synic);
	assert_true(hv->stimer && hv->hypervclock && hv->crash);
	assert_false(hv->stimer_direct || hv->passthrough);
	assert_true(hv->spinlocks);
	assert_int_equal(hv->spinlock_retries, 8191);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	config_free(&cfg);
}

static void test_config_example_linux_hyperv_fields(void **state)
{
	char path[PATH_MAX + 32], err[CONFIG_ERR_MAX];
	struct vm_config cfg;

	snprintf(path, sizeof(path), "%s/linux-hyperv.xml", examples_dir);
	config_init(&cfg);
	assert_int_equal(config_parse_file(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.debug_exit_port, 0xf4);
	assert_string_equal(cfg.cmdline, "console=ttyS0 root=/dev/sda1 rw");
	assert_non_null(cfg.initrd);
	assert_int_equal(cfg.serial, CONFIG_SERIAL_PTY);
	assert_true(cfg.hyperv.stimer_direct);
	assert_true(cfg.hyperv.vendor_id_set);
	assert_string_equal(cfg.hyperv.vendor_id, "hvkvm");
	assert_int_equal(cfg.current_memory, 2 * GiB);
	config_free(&cfg);
}

static void test_config_dumpxml_style_fields(void **state)
{
	char path[PATH_MAX + 32], err[CONFIG_ERR_MAX];
	struct vm_config cfg;

	snprintf(path, sizeof(path), "%s/good/dumpxml-style.xml", data_dir);
	config_init(&cfg);
	assert_int_equal(config_parse_file(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.uuid[0], 0x01);
	assert_int_equal(cfg.uuid[15], 0xef);
	assert_int_equal(cfg.memory, GiB);
	assert_int_equal(cfg.current_memory, 512 * MiB);
	/* <features> without <apic/>: off, as in libvirt. */
	assert_true(cfg.acpi);
	assert_false(cfg.apic);
	assert_int_equal(cfg.serial, CONFIG_SERIAL_FILE);
	assert_string_equal(cfg.serial_path, "/var/log/dumped.serial");
	assert_string_equal(cfg.disks[0].path, "/dev/vg0/win");
	assert_int_equal(cfg.disks[0].format, CONFIG_FORMAT_RAW);
	assert_int_equal(cfg.disks[1].format, CONFIG_FORMAT_AUTO);
	assert_int_equal(cfg.disks[1].bus, CONFIG_DISK_SCSI);
	assert_true(cfg.disks[1].readonly);
	assert_int_equal(cfg.nics[0].mac[3], 0xaa);
	assert_false(cfg.nics[1].mac_set);
	assert_int_equal(cfg.nics[1].model, CONFIG_NIC_NETVSC);
	assert_false(cfg.hyperv.stimer);
	assert_int_equal(cfg.on_poweroff, CONFIG_ACTION_PRESERVE);
	config_free(&cfg);
}

static void test_config_passthrough_sets_all(void **state)
{
	char path[PATH_MAX + 32], err[CONFIG_ERR_MAX];
	struct vm_config cfg;

	snprintf(path, sizeof(path), "%s/good/passthrough.xml", data_dir);
	config_init(&cfg);
	assert_int_equal(config_parse_file(&cfg, path, err, sizeof(err)), 0);
	assert_true(cfg.hyperv.passthrough && cfg.hyperv.enabled);
	assert_true(cfg.hyperv.stimer_direct && cfg.hyperv.hypervclock);
	assert_false(cfg.acpi);
	assert_true(cfg.apic);
	assert_string_equal(cfg.cmdline, "");
	assert_int_equal(cfg.serial, CONFIG_SERIAL_NONE);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	config_free(&cfg);
}

/* ---- bad files ----------------------------------------------------------- */

static void check_bad_file(const char *dir, const char *name)
	__attribute__((noinline));
static void check_bad_file(const char *dir, const char *name)
{
	char path[PATH_MAX + 256], err[CONFIG_ERR_MAX], want[PATH_MAX + 1024];
	struct vm_config cfg;
	size_t len;
	char *buf, *start, *end;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf = read_whole(path, &len);
	start = strstr(buf, "<!-- expect: ");
	end = start ? strstr(start, " -->") : NULL;
	if (!start || !end)
		fail_msg("%s: no expect comment", name);
	start += strlen("<!-- expect: ");
	snprintf(want, sizeof(want), "%s/%.*s", dir, (int)(end - start), start);
	free(buf);

	config_init(&cfg);
	err[0] = '\0';
	assert_int_equal(config_parse_file(&cfg, path, err, sizeof(err)),
			 -EINVAL);
	if (strcmp(err, want))
		fail_msg("%s:\n  got  '%s'\n  want '%s'", name, err, want);
	config_free(&cfg);
}

static void test_config_bad_files_named_errors(void **state)
{
	char dir[PATH_MAX + 16];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/bad", data_dir);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".xml"))
			continue;
		check_bad_file(dir, de->d_name);
		n++;
	}
	closedir(d);
	assert_true(n >= 80);
}

/* ---- malformed and hostile XML ------------------------------------------- */

static void test_config_xml_malformed(void **state)
{
	static const struct {
		const char *xml;
		const char *want;
	} cases[] = {
		{ "", "t.xml:1: malformed XML: empty document" },
		{ "   \n  ", "t.xml:2: malformed XML:" },
		{ "<domain type='kvm'>", "t.xml:1: malformed XML:" },
		{ "<domain type='kvm'>\n<name>x</nam>\n</domain>",
		  "t.xml:2: malformed XML:" },
		{ "<domain type='kvm'><name>a&b</name></domain>",
		  "t.xml:1: malformed XML:" },
		{ "<domain type='kvm'><name>&undefined;</name></domain>",
		  "t.xml:1: malformed XML:" },
		{ "<domain type='kvm' type='kvm'/>",
		  "t.xml:1: malformed XML:" },
		{ "\x01\x02\x03\xff\xfe", "t.xml:1: malformed XML:" },
		{ "<domain type='kvm'><name>\xff\xfe</name></domain>",
		  "t.xml:1: malformed XML:" },
		{ "<domain type='kvm'/><domain type='kvm'/>",
		  "t.xml:1: malformed XML:" },
		{ "<vm type='kvm'/>",
		  "t.xml:1: <vm>: the root element must be <domain>" },
		{ "<x:domain xmlns:x='urn:x' type='kvm'/>",
		  "t.xml:1: <x:domain>: the root element must be <domain>" },
		{ "<domain/>", "t.xml:1: <domain>: attribute 'type' missing" },
		{ "<domain type='xen'/>",
		  "t.xml:1: <domain>: type='xen' not supported: hvkvm runs on KVM, use type='kvm'" },
		{ "<domain type='qemu'/>", "type='qemu' not supported" },
		{ "<domain type='kvm'>\n<name></name></domain>",
		  "t.xml:2: <name>: empty name" },
		{ "<domain type='kvm'><name>"
		  "0123456789012345678901234567890123456789012345678901234567890123"
		  "</name></domain>",
		  "t.xml:1: <name>: name longer than 63 characters" },
		{ "<domain type='kvm'><name>a/b</name></domain>",
		  "<name>: '/' or control character in name" },
		{ "<domain type='kvm'><name><b>x</b></name></domain>",
		  "t.xml:1: <name><b>: element not supported here" },
		{ "<domain type='kvm'><os><type>linux</type></os></domain>",
		  "<os><type>: 'linux' not supported (only 'hvm')" },
		{ "<domain type='kvm'><os><type arch='aarch64'>hvm</type></os></domain>",
		  "<os><type>: arch='aarch64' not supported (x86_64)" },
		{ "<domain type='kvm'><os><type machine='q35'>hvm</type></os></domain>",
		  "machine='q35' not supported: hvkvm is an i440FX/PIIX4" },
		{ "<domain type='kvm'><os><kernel> </kernel></os></domain>",
		  "<os><kernel>: empty path" },
		{ "<domain type='kvm'><clock offset='variable'/></domain>",
		  "<clock>: offset='variable' not supported (utc, localtime)" },
		{ "<domain type='kvm'><xi:include xmlns:xi='http://www.w3.org/2001/XInclude' href='/etc/passwd'/></domain>",
		  "t.xml:1: <xi:include>: element not supported" },
		{ "<domain type='kvm'><![CDATA[x]]></domain>",
		  "<domain>: unexpected text 'x'" },
		/* Numbers are decimal, as libvirt reads them. */
		{ "<domain type='kvm'><memory>0x100000</memory></domain>",
		  "<memory>: '0x100000' with unit='KiB' is not a size" },
		{ "<domain type='kvm'><vcpu>0x2</vcpu></domain>",
		  "<vcpu>: '0x2' is not a vCPU count" },
		{ "<domain type='kvm'><vcpu>+2</vcpu></domain>",
		  "<vcpu>: '+2' is not a vCPU count" },
		/* Echoed values never break the one-line message. */
		{ "<domain type='kvm'><clock offset='a&#10;b&#13;'/></domain>",
		  "<clock>: offset='a?b?' not supported (utc, localtime)" },
		{ "<domain type='kvm'><name>a\x01</name></domain>",
		  "t.xml:1: malformed XML:" },
	};
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		config_init(&cfg);
		err[0] = '\0';
		if (config_parse_buffer(&cfg, cases[i].xml,
					strlen(cases[i].xml), "t.xml", err,
					sizeof(err)) != -EINVAL)
			fail_msg("case %zu accepted: %s", i, cases[i].xml);
		if (strchr(err, '\n'))
			fail_msg("case %zu: multi-line error '%s'", i, err);
		assert_err(err, cases[i].want);
		config_free(&cfg);
	}
}

static void test_config_xml_doctype_rejected(void **state)
{
	static const char *const attacks[] = {
		/* billion laughs */
		"<?xml version='1.0'?>\n<!DOCTYPE domain [\n"
		" <!ENTITY a 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'>\n"
		" <!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>\n"
		" <!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>\n"
		" <!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>\n"
		" <!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'>\n"
		"]>\n<domain type='kvm'><name>&e;</name></domain>\n",
		/* external entity (XXE) */
		"<?xml version='1.0'?>\n<!DOCTYPE domain [\n"
		" <!ENTITY x SYSTEM 'file:///etc/passwd'>]>\n"
		"<domain type='kvm'><name>&x;</name></domain>\n",
		/* external DTD over the network */
		"<?xml version='1.0'?>\n"
		"<!DOCTYPE domain SYSTEM 'http://127.0.0.1:1/evil.dtd'>\n"
		"<domain type='kvm'/>\n",
		/* parameter entities */
		"<?xml version='1.0'?>\n<!DOCTYPE domain [\n"
		" <!ENTITY % p SYSTEM 'file:///etc/passwd'> %p;]>\n"
		"<domain type='kvm'/>\n",
		/* even a bare DOCTYPE */
		"<?xml version='1.0'?>\n<!DOCTYPE domain>\n<domain type='kvm'/>",
	};
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(attacks); i++) {
		config_init(&cfg);
		assert_int_equal(parse_str(&cfg, attacks[i], err), -EINVAL);
		assert_err(
			err,
			"t.xml:2: <!DOCTYPE>: DTDs and entity declarations are not accepted");
		assert_string_equal(cfg.name, "hvkvm");
		config_free(&cfg);
	}
}

static void test_config_xml_size_limits(void **state)
{
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	size_t len = 2 * 1024 * 1024, deep = 100000, i;
	char *buf = malloc(len);

	assert_non_null(buf);
	memset(buf, ' ', len);
	config_init(&cfg);
	assert_int_equal(config_parse_buffer(&cfg, buf, len, "big.xml", err,
					     sizeof(err)),
			 -EINVAL);
	assert_err(err, "big.xml: larger than");

	/* Deep nesting stays within libxml2's depth limit. */
	len = 0;
	len += (size_t)sprintf(buf, "<domain type='kvm'>");
	for (i = 0; i < deep / 4 && len + 16 < 1024 * 1024; i++)
		len += (size_t)sprintf(buf + len, "<a>");
	assert_int_equal(config_parse_buffer(&cfg, buf, len, "deep.xml", err,
					     sizeof(err)),
			 -EINVAL);
	assert_err(err, "deep.xml:1: ");
	free(buf);

	/* Line numbers past 65535 are reported exactly. */
	len = 70000 + 128;
	buf = malloc(len);
	assert_non_null(buf);
	i = (size_t)sprintf(buf, "<domain type='kvm'>");
	memset(buf + i, '\n', 70000);
	i += 70000;
	sprintf(buf + i, "<hostdev/></domain>");
	assert_int_equal(parse_str(&cfg, buf, err), -EINVAL);
	assert_err(err, "t.xml:70001: <hostdev>: element not supported");
	free(buf);
	config_free(&cfg);
}

/* Every prefix of a good file fails cleanly; only the whole one parses. */
static void test_config_xml_truncated(void **state)
{
	char path[PATH_MAX + 32], err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	size_t len, i, end;
	char *buf;

	snprintf(path, sizeof(path), "%s/windows-server.xml", examples_dir);
	buf = read_whole(path, &len);
	end = (size_t)(strstr(buf, "</domain>") - buf) + strlen("</domain>");
	for (i = 0; i < end; i++) {
		config_init(&cfg);
		if (config_parse_buffer(&cfg, buf, i, "t.xml", err,
					sizeof(err)) == 0)
			fail_msg("prefix of %zu bytes accepted", i);
		config_free(&cfg);
	}
	/* The whole file, and the file up to its closing tag, parse. */
	for (i = end; i <= len; i += len - end ? len - end : 1) {
		config_init(&cfg);
		if (config_parse_buffer(&cfg, buf, i, "t.xml", err,
					sizeof(err)))
			fail_msg("%zu of %zu bytes rejected: %s", i, len, err);
		config_free(&cfg);
	}
	free(buf);
}

static void test_config_xml_sizes_and_units(void **state)
{
	static const struct {
		const char *unit;
		const char *num;
		uint64_t bytes;
	} cases[] = {
		{ NULL, "1024", MiB },
		{ "b", "1048576", MiB },
		{ "bytes", "2097152", 2 * MiB },
		{ "KiB", "2048", 2 * MiB },
		{ "k", "4096", 4 * MiB },
		{ "KB", "4096", 4096000 },
		{ "MB", "4096", 4096000000ULL },
		{ "M", "3", 3 * MiB },
		{ "MiB", "5", 5 * MiB },
		{ "GB", "256", 256000000000ULL },
		{ "G", "2", 2 * GiB },
		{ "GiB", "3", 3 * GiB },
		{ "TB", "1", 1000000000000ULL },
		{ "T", "1", 1024 * GiB },
		{ "TiB", "1", 1024 * GiB },
		{ "m", " 7 ", 7 * MiB },
		{ "MiB", "010", 10 * MiB },
	};
	char xml[256], err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (cases[i].unit)
			snprintf(
				xml, sizeof(xml),
				"<domain type='kvm'><memory unit='%s'>%s</memory></domain>",
				cases[i].unit, cases[i].num);
		else
			snprintf(
				xml, sizeof(xml),
				"<domain type='kvm'><memory>%s</memory></domain>",
				cases[i].num);
		config_init(&cfg);
		if (parse_str(&cfg, xml, err))
			fail_msg("%s: %s", xml, err);
		assert_int_equal(cfg.memory, cases[i].bytes);
		config_free(&cfg);
	}
}

static void test_config_xml_serial_console(void **state)
{
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;

	/* <console> alone drives COM1. */
	config_init(&cfg);
	assert_int_equal(
		parse_devices(
			&cfg,
			"<console type='file'><source path='/log'/></console>",
			err),
		0);
	assert_int_equal(cfg.serial, CONFIG_SERIAL_FILE);
	assert_string_equal(cfg.serial_path, "/log");
	config_free(&cfg);

	/* <serial> wins over its <console> alias, in either order. */
	config_init(&cfg);
	assert_int_equal(
		parse_devices(&cfg,
			      "<console type='pty'/><serial type='null'/>",
			      err),
		0);
	assert_int_equal(cfg.serial, CONFIG_SERIAL_NONE);
	assert_null(cfg.serial_path);
	config_free(&cfg);

	config_init(&cfg);
	assert_int_equal(
		parse_devices(&cfg,
			      "<serial type='stdio'/><console type='pty'/>",
			      err),
		0);
	assert_int_equal(cfg.serial, CONFIG_SERIAL_STDIO);
	config_free(&cfg);

	config_init(&cfg);
	assert_int_equal(
		parse_devices(&cfg,
			      "<console type='pty'/>\n<console type='pty'/>",
			      err),
		-EINVAL);
	assert_err(err, "t.xml:6: <console>: hvkvm has one console (COM1)");
	config_free(&cfg);
}

static void test_config_xml_limits_counted(void **state)
{
	char devs[16384], err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	size_t len = 0;
	int i;

	for (i = 0; i <= CONFIG_MAX_NICS; i++)
		len += (size_t)snprintf(
			devs + len, sizeof(devs) - len,
			"<interface type='ethernet'><target dev='tap%d'/></interface>\n",
			i);
	config_init(&cfg);
	assert_int_equal(parse_devices(&cfg, devs, err), -EINVAL);
	assert_err(
		err,
		"t.xml:13: <interface>: too many network interfaces (at most 8)");
	assert_int_equal(cfg.nr_nics, CONFIG_MAX_NICS);
	config_free(&cfg);

	len = 0;
	for (i = 0; i <= CONFIG_MAX_DISKS; i++) {
		char pre[2] = { i < 26 || i == CONFIG_MAX_DISKS ?
					0 :
					(char)('a' + i / 26 - 1),
				0 };

		len += (size_t)snprintf(
			devs + len, sizeof(devs) - len,
			"<disk type='file'><source file='/d%d'/><target dev='%s%s%c'/></disk>\n",
			i, i == CONFIG_MAX_DISKS ? "hd" : "sd", pre,
			i == CONFIG_MAX_DISKS ? 'a' : 'a' + i % 26);
	}
	config_init(&cfg);
	assert_int_equal(parse_devices(&cfg, devs, err), -EINVAL);
	assert_err(err, "t.xml:69: <disk>: too many disks (at most 64)");
	assert_int_equal(cfg.nr_disks, CONFIG_MAX_DISKS);
	config_free(&cfg);
}

static void test_config_parse_file_errors(void **state)
{
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;

	config_init(&cfg);
	assert_int_equal(config_parse_file(&cfg, "/nonexistent/vm.xml", err,
					   sizeof(err)),
			 -ENOENT);
	assert_err(err, "/nonexistent/vm.xml: No such file");
	assert_int_equal(config_parse_file(&cfg, "/", err, sizeof(err)),
			 -EINVAL);
	assert_err(err, "/: not a regular file");
	/* A zero-length error buffer is allowed. */
	assert_int_equal(config_parse_buffer(&cfg, "<x", 2, "t", NULL, 0),
			 -EINVAL);
	config_free(&cfg);
}

static int test_set_kernel_for_test(struct vm_config *cfg)
{
	cfg->kernel = strdup("/boot/vmlinuz");
	return cfg->kernel ? 0 : -ENOMEM;
}

static int test_copy_target(struct config_disk *d, const char *t)
{
	snprintf(d->target, sizeof(d->target), "%s", t);
	return 0;
}

static void test_hyperv_all_for_test(struct vm_config *cfg)
{
	char err[CONFIG_ERR_MAX];

	assert_int_equal(config_parse_hyperv_arg(cfg, "all,spinlocks=4095", err,
						 sizeof(err)),
			 0);
}

/* ---- command-line values ------------------------------------------------- */

static void test_config_disk_arg_good(void **state)
{
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;

	config_init(&cfg);
	assert_int_equal(config_parse_disk_arg(&cfg, "file=/a.img,bus=ide", err,
					       sizeof(err)),
			 0);
	assert_int_equal(
		config_parse_disk_arg(
			&cfg, "file=/b.vhd,bus=ide,format=vhd,cache=writeback",
			err, sizeof(err)),
		0);
	assert_int_equal(config_parse_disk_arg(
				 &cfg, "file=/x,,y.iso,media=cdrom,bus=ide",
				 err, sizeof(err)),
			 0);
	assert_int_equal(
		config_parse_disk_arg(&cfg, "bus=scsi,file=/s.img,readonly=on",
				      err, sizeof(err)),
		0);
	assert_int_equal(config_parse_disk_arg(&cfg, "file=/t.img,target=sdf",
					       err, sizeof(err)),
			 0);
	assert_int_equal(cfg.nr_disks, 5);
	assert_string_equal(cfg.disks[0].target, "hda");
	assert_int_equal(cfg.disks[0].format, CONFIG_FORMAT_AUTO);
	assert_int_equal(cfg.disks[0].cache, CONFIG_CACHE_NONE);
	assert_false(cfg.disks[0].readonly);
	assert_string_equal(cfg.disks[1].target, "hdb");
	assert_int_equal(cfg.disks[1].format, CONFIG_FORMAT_VHD);
	assert_int_equal(cfg.disks[1].cache, CONFIG_CACHE_WRITEBACK);
	assert_string_equal(cfg.disks[2].path, "/x,y.iso");
	assert_string_equal(cfg.disks[2].target, "hdc");
	assert_true(cfg.disks[2].readonly);
	assert_int_equal(cfg.disks[2].media, CONFIG_MEDIA_CDROM);
	assert_string_equal(cfg.disks[3].target, "sda");
	assert_true(cfg.disks[3].readonly);
	assert_int_equal(cfg.disks[4].bus, CONFIG_DISK_SCSI);
	assert_string_equal(cfg.disks[4].target, "sdf");
	/* The fourth IDE disk takes the last slot, the fifth has none. */
	assert_int_equal(config_parse_disk_arg(&cfg, "file=/d,bus=ide", err,
					       sizeof(err)),
			 0);
	assert_string_equal(cfg.disks[5].target, "hdd");
	assert_int_equal(config_parse_disk_arg(&cfg, "file=/e,bus=ide", err,
					       sizeof(err)),
			 -EINVAL);
	assert_err(err, "no free IDE slot for disk /e");
	assert_int_equal(cfg.nr_disks, 6);
	/* A SCSI CD/DVD drive (storvsp). */
	assert_int_equal(
		config_parse_disk_arg(&cfg, "file=/g.iso,bus=scsi,media=cdrom",
				      err, sizeof(err)),
		0);
	assert_int_equal(cfg.disks[6].bus, CONFIG_DISK_SCSI);
	assert_int_equal(cfg.disks[6].media, CONFIG_MEDIA_CDROM);
	assert_true(cfg.disks[6].readonly);
	config_free(&cfg);
}

/* Several controllers and targets: --disk addr= and <address>. */
static void test_config_scsi_address(void **state)
{
	static const struct {
		const char *xml;
		const char *want;
	} bad[] = {
		{ "<disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/><address type='drive' controller='4' bus='0' target='0' unit='0'/></disk>",
		  "t.xml:5: <disk><address>: controller='4' bus='0' target='0' unit='0': synthetic SCSI has controllers 0..3, bus 0, targets 0..1, units 0..63" },
		{ "<disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/><address type='drive' bus='1'/></disk>",
		  "synthetic SCSI has controllers 0..3, bus 0" },
		{ "<disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/><address type='drive' unit='64'/></disk>",
		  "units 0..63" },
		{ "<disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/><address type='drive' unit='x'/></disk>",
		  "<disk><address>: unit='x' is not a number 0..255" },
		{ "<disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/><address type='pci'/></disk>",
		  "<address>: type='pci' not supported" },
		{ "<disk type='file'><source file='/a'/><target dev='hdb' bus='ide'/><address type='drive' controller='0' bus='1' target='0' unit='0'/></disk>",
		  "is not where dev='hdb' sits (IDE controller 0, bus 0, target 0, unit 1)" },
		{ "<disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/><address type='drive' unit='1'/></disk>\n"
		  "<disk type='file'><source file='/b'/><target dev='sdb' bus='scsi'/></disk>",
		  "disks sda and sdb: both at SCSI address 0:0:1" },
		{ "<controller type='scsi' index='4'/>",
		  "index='4': hvkvm has SCSI controllers 0..3" },
	};
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	unsigned int c, t, l;
	size_t i;

	config_init(&cfg);
	assert_int_equal(
		parse_devices(
			&cfg,
			"<controller type='scsi' index='2'/>\n"
			"<disk type='file'><source file='/a'/><target dev='sdb' bus='scsi'/></disk>\n"
			"<disk type='file'><source file='/b'/><target dev='sdc' bus='scsi'/>"
			"<address type='drive' controller='1' bus='0' target='1' unit='7'/></disk>\n"
			"<disk type='file'><source file='/c'/><target dev='hdc'/>"
			"<address type='drive' controller='0' bus='1' target='0' unit='0'/></disk>",
			err),
		0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.scsi_controllers, 1u << 2);
	config_disk_scsi_addr(&cfg.disks[0], &c, &t, &l);
	assert_int_equal(c * 10000 + t * 100 + l, 1);
	config_disk_scsi_addr(&cfg.disks[1], &c, &t, &l);
	assert_int_equal(c * 10000 + t * 100 + l, 10107);
	assert_false(cfg.disks[2].addr_set);
	config_free(&cfg);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		config_init(&cfg);
		err[0] = 0;
		if (!parse_devices(&cfg, bad[i].xml, err))
			assert_int_not_equal(
				config_validate(&cfg, err, sizeof(err)), 0);
		assert_err(err, bad[i].want);
		config_free(&cfg);
	}
	/* The command line, and the clash between two disks there. */
	config_init(&cfg);
	assert_int_equal(config_parse_disk_arg(&cfg,
					       "file=/a,bus=scsi,addr=3:1:63",
					       err, sizeof(err)),
			 0);
	config_disk_scsi_addr(&cfg.disks[0], &c, &t, &l);
	assert_int_equal(c * 10000 + t * 100 + l, 30163);
	assert_int_equal(config_parse_disk_arg(&cfg,
					       "file=/b,bus=scsi,addr=3:1:63",
					       err, sizeof(err)),
			 0);
	assert_int_not_equal(config_validate(&cfg, err, sizeof(err)), 0);
	assert_err(err, "both at SCSI address 3:1:63");
	config_free(&cfg);
}

static void test_config_disk_arg_bad(void **state)
{
	static const struct {
		const char *arg;
		const char *want;
	} cases[] = {
		{ "", "--disk: file= missing" },
		{ "bus=ide", "--disk: file= missing" },
		{ "file=/a", "--disk: bus= missing (ide, scsi)" },
		{ "file=,bus=ide", "--disk: empty file=" },
		{ "file=/a,bus=usb",
		  "--disk: bus='usb' not supported (ide, scsi)" },
		{ "file=/a,bus=ide,format=qcow2",
		  "--disk: format='qcow2' not supported (raw, vhd)" },
		{ "file=/a,bus=ide,readonly=yes",
		  "--disk: readonly='yes' not supported (on, off)" },
		{ "file=/a,bus=ide,media=floppy",
		  "--disk: media='floppy' not supported (disk, cdrom)" },
		{ "file=/a,bus=ide,cache=unsafe",
		  "--disk: cache='unsafe' not supported (none, writeback)" },
		{ "file=/a,bus=ide,speed=fast", "--disk: unknown key 'speed'" },
		{ "file=/a,bus=ide,bus=scsi", "--disk: 'bus' given twice" },
		{ "file=/a,bus=ide,", "--disk: expected key=value" },
		{ "file=/a,,bus=ide", "--disk: bus= missing" },
		{ "file=/a,bus", "--disk: expected key=value" },
		{ "=x,bus=ide", "--disk: expected key=value" },
		{ "file=/a,bus=ide,target=sda",
		  "--disk: target=sda is not on bus ide" },
		{ "file=/a,bus=ide,target=vda",
		  "--disk: target='vda' not supported" },
		{ "file=/a,bus=ide,media=cdrom,readonly=off",
		  "--disk: a cdrom is read-only" },
		{ "file=/a,bus=scsi,addr=4:0:0",
		  "--disk: addr=4:0:0: want CONTROLLER:TARGET:LUN within 0..3:0..1:0..63" },
		{ "file=/a,bus=scsi,addr=0:2:0", "--disk: addr=0:2:0: want" },
		{ "file=/a,bus=scsi,addr=0:0:64", "--disk: addr=0:0:64: want" },
		{ "file=/a,bus=scsi,addr=0:0", "--disk: addr=0:0: want" },
		{ "file=/a,bus=scsi,addr=0:0:1x", "--disk: addr=0:0:1x: want" },
		{ "file=/a,bus=scsi,addr=-1:0:1", "--disk: addr=-1:0:1: want" },
		{ "file=/a,bus=ide,addr=0:0:1",
		  "--disk: addr= is for bus=scsi disks" },
	};
	char err[CONFIG_ERR_MAX], longarg[6000];
	struct vm_config cfg;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		config_init(&cfg);
		err[0] = '\0';
		if (config_parse_disk_arg(&cfg, cases[i].arg, err,
					  sizeof(err)) != -EINVAL)
			fail_msg("accepted: --disk %s", cases[i].arg);
		assert_err(err, cases[i].want);
		assert_int_equal(cfg.nr_disks, 0);
		config_free(&cfg);
	}
	config_init(&cfg);
	memset(longarg, 'a', sizeof(longarg));
	memcpy(longarg, "file=/", 6);
	longarg[sizeof(longarg) - 1] = '\0';
	assert_int_equal(config_parse_disk_arg(&cfg, longarg, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(config_parse_disk_arg(&cfg, "file=/a,target=hda", err,
					       sizeof(err)),
			 0);
	assert_int_equal(config_parse_disk_arg(&cfg, "file=/b,target=hda", err,
					       sizeof(err)),
			 -EINVAL);
	assert_err(err, "disk target 'hda' used twice");
	config_free(&cfg);
}

static void test_config_nic_arg(void **state)
{
	static const struct {
		const char *arg;
		const char *want;
	} bad[] = {
		{ "", "--nic: tap= missing" },
		{ "model=netvsc", "--nic: tap= missing" },
		{ "tap=", "--nic: tap='' is not an interface name" },
		{ "tap=0123456789abcdef", "is not an interface name" },
		{ "tap=a/b", "is not an interface name" },
		{ "tap=t,model=e1000",
		  "--nic: model='e1000' not supported (netvsc, dec21140)" },
		{ "tap=t,mac=52:54:00:12:34",
		  "--nic: mac='52:54:00:12:34' is not a MAC" },
		{ "tap=t,mac=52:54:00:12:34:5g", "is not a MAC" },
		{ "tap=t,mac=52:54:00:12:34:567", "is not a MAC" },
		{ "tap=t,mac=ff:ff:ff:ff:ff:ff", "is multicast" },
		{ "tap=t,tap=u", "--nic: 'tap' given twice" },
		{ "tap=t,queues=4", "--nic: unknown key 'queues'" },
		{ "tap=t,mtu=9001", "--nic: mtu=9001: the MTU is 576..9000" },
		{ "tap=t,mtu=575", "the MTU is 576..9000" },
		{ "tap=t,mtu=-1500", "the MTU is 576..9000" },
		{ "tap=t,mtu=1500x", "the MTU is 576..9000" },
	};
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	size_t i;

	config_init(&cfg);
	assert_int_equal(config_parse_nic_arg(&cfg, "tap=tapj,mtu=9000", err,
					      sizeof(err)),
			 0);
	assert_int_equal(cfg.nics[0].mtu, 9000);
	assert_int_equal(
		parse_devices(
			&cfg,
			"<interface type='ethernet'><target dev='tapx'/><mtu size='9000'/></interface>",
			err),
		0);
	config_free(&cfg);
	config_init(&cfg);
	assert_int_equal(
		parse_devices(
			&cfg,
			"<interface type='ethernet'><target dev='tapx'/><mtu size='65535'/></interface>",
			err),
		-EINVAL);
	assert_err(err, "<mtu>: size='65535': the MTU is 576..9000");
	config_free(&cfg);
	config_init(&cfg);
	assert_int_equal(
		config_parse_nic_arg(&cfg, "tap=tap0", err, sizeof(err)), 0);
	assert_int_equal(
		config_parse_nic_arg(
			&cfg, "tap=tap1,model=dec21140,mac=52:54:00:Ab:cD:0f",
			err, sizeof(err)),
		0);
	assert_int_equal(config_parse_nic_arg(&cfg, "model=tulip,tap=tap2", err,
					      sizeof(err)),
			 0);
	assert_int_equal(cfg.nr_nics, 3);
	assert_string_equal(cfg.nics[0].tap, "tap0");
	assert_int_equal(cfg.nics[0].model, CONFIG_NIC_NETVSC);
	assert_false(cfg.nics[0].mac_set);
	assert_int_equal(cfg.nics[1].model, CONFIG_NIC_DEC21140);
	assert_true(cfg.nics[1].mac_set);
	assert_int_equal(cfg.nics[1].mac[3], 0xab);
	assert_int_equal(cfg.nics[1].mac[5], 0x0f);
	assert_int_equal(cfg.nics[2].model, CONFIG_NIC_DEC21140);
	config_free(&cfg);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		config_init(&cfg);
		err[0] = '\0';
		if (config_parse_nic_arg(&cfg, bad[i].arg, err, sizeof(err)) !=
		    -EINVAL)
			fail_msg("accepted: --nic %s", bad[i].arg);
		assert_err(err, bad[i].want);
		assert_int_equal(cfg.nr_nics, 0);
		config_free(&cfg);
	}
}

static void test_config_serial_arg(void **state)
{
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;

	config_init(&cfg);
	assert_int_equal(config_parse_serial_arg(&cfg, "file:/tmp/s.log", err,
						 sizeof(err)),
			 0);
	assert_int_equal(cfg.serial, CONFIG_SERIAL_FILE);
	assert_string_equal(cfg.serial_path, "/tmp/s.log");
	assert_int_equal(config_parse_serial_arg(&cfg, "pty", err, sizeof(err)),
			 0);
	assert_int_equal(cfg.serial, CONFIG_SERIAL_PTY);
	assert_null(cfg.serial_path);
	assert_int_equal(
		config_parse_serial_arg(&cfg, "none", err, sizeof(err)), 0);
	assert_int_equal(cfg.serial, CONFIG_SERIAL_NONE);
	assert_int_equal(
		config_parse_serial_arg(&cfg, "stdio", err, sizeof(err)), 0);
	assert_int_equal(cfg.serial, CONFIG_SERIAL_STDIO);
	assert_int_equal(config_parse_serial_arg(&cfg, "file:", err,
						 sizeof(err)),
			 -EINVAL);
	assert_err(err, "--serial: file: needs a path");
	assert_int_equal(config_parse_serial_arg(&cfg, "tcp:1234", err,
						 sizeof(err)),
			 -EINVAL);
	assert_err(err, "--serial: 'tcp:1234' not supported");
	assert_int_equal(config_parse_serial_arg(&cfg, "x\ny", err,
						 sizeof(err)),
			 -EINVAL);
	assert_err(err, "--serial: 'x?y' not supported");
	assert_int_equal(config_parse_serial_arg(&cfg, "", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(cfg.serial, CONFIG_SERIAL_STDIO);
	config_free(&cfg);
}

static void test_config_hyperv_arg(void **state)
{
	static const struct {
		const char *arg;
		const char *want;
	} bad[] = {
		{ "", "--hyperv: expected all, off or a list" },
		{ "relaxed,,synic", "--hyperv: empty item" },
		{ ",relaxed", "--hyperv: empty item" },
		{ "relaxed,", "--hyperv: empty item" },
		{ "vapic", "--hyperv: unknown item 'vapic'" },
		{ "relaxed=on", "--hyperv: relaxed takes no value" },
		{ "spinlocks", "--hyperv: spinlocks needs =VALUE" },
		{ "spinlocks=4094", "--hyperv: spinlocks=4094 is below 4095" },
		{ "spinlocks=0x100000000", "is not a 32-bit number" },
		{ "spinlocks=-1", "is not a 32-bit number" },
		{ "spinlocks=0x", "is not a 32-bit number" },
		{ "spinlocks=8191x", "is not a 32-bit number" },
		{ "vendor-id=", "--hyperv: vendor-id needs =VALUE" },
		{ "vendor-id=ABCDEFGHIJKLM", "at most 12 characters" },
		{ "no-spinlocks=5000", "--hyperv: spinlocks takes no value" },
	};
	char err[CONFIG_ERR_MAX];
	struct config_hyperv *hv;
	struct vm_config cfg;
	size_t i;

	config_init(&cfg);
	hv = &cfg.hyperv;
	assert_int_equal(config_parse_hyperv_arg(&cfg, "all", err, sizeof(err)),
			 0);
	assert_true(hv->enabled && hv->relaxed && hv->vpindex && hv->runtime);
	assert_true(hv->synic && hv->stimer && hv->stimer_direct && hv->reset);
	assert_true(hv->frequencies && hv->hypervclock && hv->crash);
	assert_false(hv->passthrough || hv->spinlocks || hv->vendor_id_set);
	assert_int_equal(
		config_parse_hyperv_arg(
			&cfg,
			"no-stimer-direct,spinlocks=0x1fff,vendor-id=Microsoft Hv",
			err, sizeof(err)),
		0);
	assert_false(hv->stimer_direct);
	assert_true(hv->spinlocks);
	assert_int_equal(hv->spinlock_retries, 0x1fff);
	assert_string_equal(hv->vendor_id, "Microsoft Hv");
	assert_int_equal(config_parse_hyperv_arg(&cfg, "off", err, sizeof(err)),
			 0);
	assert_false(hv->enabled || hv->relaxed || hv->spinlocks);
	assert_int_equal(config_parse_hyperv_arg(&cfg, "relaxed,vpindex", err,
						 sizeof(err)),
			 0);
	assert_true(hv->enabled && hv->relaxed && hv->vpindex);
	assert_false(hv->synic);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		if (config_parse_hyperv_arg(&cfg, bad[i].arg, err,
					    sizeof(err)) != -EINVAL)
			fail_msg("accepted: --hyperv %s", bad[i].arg);
		assert_err(err, bad[i].want);
		/* Nothing half-applied. */
		assert_true(hv->relaxed && hv->vpindex);
		assert_false(hv->synic || hv->spinlocks);
	}
	config_free(&cfg);
}

/* ---- validation ---------------------------------------------------------- */

/* A minimal valid config to break one rule at a time. */
static void valid_config(struct vm_config *cfg)
{
	char err[CONFIG_ERR_MAX];

	config_init(cfg);
	assert_int_equal(test_set_kernel_for_test(cfg), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), 0);
}

static void test_config_boot_arg(void **state)
{
	static const struct {
		const char *arg;
		const char *want;
	} bad[] = {
		{ "", "--boot: expected a list like cdrom,hd" },
		{ "hd,,cdrom", "--boot: empty item" },
		{ "fd", "--boot: fd: hvkvm has no floppy controller" },
		{ "cdrom,floppy", "--boot: floppy: hvkvm has no floppy" },
		{ "usb", "--boot: 'usb' is not hd, cdrom, network" },
		{ "hd,hd", "--boot: hd given twice" },
		{ "reboot-timeout=x", "--boot: reboot-timeout=x: expected" },
		{ "reboot-timeout=-2", "--boot: reboot-timeout=-2: expected" },
	};
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	size_t i;

	(void)state;
	config_init(&cfg);
	assert_int_equal(cfg.nr_boot, 0);
	assert_int_equal(cfg.reboot_timeout, CONFIG_REBOOT_TIMEOUT_DEFAULT);
	/* Neither kernel nor loader: Debian's SeaBIOS. */
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	assert_string_equal(config_firmware(&cfg), CONFIG_DEFAULT_BIOS);
	assert_int_equal(config_parse_boot_arg(&cfg, "cdrom,hd,network", err,
					       sizeof(err)),
			 0);
	assert_int_equal(cfg.nr_boot, 3);
	assert_int_equal(cfg.boot[0], CONFIG_BOOT_CDROM);
	assert_int_equal(cfg.boot[1], CONFIG_BOOT_HD);
	assert_int_equal(cfg.boot[2], CONFIG_BOOT_NETWORK);
	assert_string_equal(config_boot_name(cfg.boot[2]), "network");
	/* A timeout alone keeps the order; a new list replaces it. */
	assert_int_equal(config_parse_boot_arg(&cfg, "reboot-timeout=0", err,
					       sizeof(err)),
			 0);
	assert_int_equal(cfg.nr_boot, 3);
	assert_int_equal(cfg.reboot_timeout, 0);
	assert_int_equal(config_parse_boot_arg(&cfg, "hd,reboot-timeout=-1",
					       err, sizeof(err)),
			 0);
	assert_int_equal(cfg.nr_boot, 1);
	assert_int_equal(cfg.reboot_timeout, -1);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		assert_int_equal(config_parse_boot_arg(&cfg, bad[i].arg, err,
						       sizeof(err)),
				 -EINVAL);
		assert_err(err, bad[i].want);
		assert_int_equal(cfg.nr_boot, 1);
		assert_int_equal(cfg.boot[0], CONFIG_BOOT_HD);
	}
	/* A kernel means no firmware. */
	assert_int_equal(test_set_kernel_for_test(&cfg), 0);
	assert_null(config_firmware(&cfg));
	config_free(&cfg);
}

static void test_config_xml_boot_order(void **state)
{
	static const char xml[] =
		"<domain type='kvm'><name>b</name><memory>65536</memory>\n"
		"<os><type>hvm</type>\n"
		"<loader readonly='yes' type='rom'>/bios.bin</loader>\n"
		"<boot dev='cdrom'/><boot dev='hd'/>\n"
		"<bios useserial='yes' rebootTimeout='0'/></os></domain>\n";
	static const char twice[] =
		"<domain type='kvm'><name>b</name><memory>65536</memory>\n"
		"<os><type>hvm</type>\n"
		"<boot dev='hd'/>\n<boot dev='hd'/></os></domain>\n";
	static const char bad_timeout[] =
		"<domain type='kvm'><name>b</name><memory>65536</memory>\n"
		"<os><type>hvm</type>\n"
		"<bios rebootTimeout='70000'/></os></domain>\n";
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_parse_buffer(&cfg, xml, sizeof(xml) - 1,
					     "b.xml", err, sizeof(err)),
			 0);
	assert_string_equal(cfg.loader, "/bios.bin");
	assert_int_equal(cfg.nr_boot, 2);
	assert_int_equal(cfg.boot[0], CONFIG_BOOT_CDROM);
	assert_int_equal(cfg.boot[1], CONFIG_BOOT_HD);
	assert_int_equal(cfg.reboot_timeout, 0);
	config_free(&cfg);
	config_init(&cfg);
	assert_int_equal(config_parse_buffer(&cfg, twice, sizeof(twice) - 1,
					     "t.xml", err, sizeof(err)),
			 -EINVAL);
	assert_err(err, "t.xml:4: <os><boot>: dev='hd' given twice");
	config_free(&cfg);
	config_init(&cfg);
	assert_int_equal(config_parse_buffer(&cfg, bad_timeout,
					     sizeof(bad_timeout) - 1, "r.xml",
					     err, sizeof(err)),
			 -EINVAL);
	assert_err(err, "r.xml:3: <os><bios>: rebootTimeout='70000'");
	config_free(&cfg);
}

static void test_config_validate_rules(void **state)
{
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;

	/* Next to the hypercall page's ports, or without Hyper-V: fine. */
	valid_config(&cfg);
	cfg.hyperv.enabled = true;
	cfg.debug_exit_port = 0xe0;
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	cfg.debug_exit_port = 0xe9;
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	cfg.hyperv.enabled = false;
	cfg.debug_exit_port = 0xe4;
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	config_free(&cfg);

#define EXPECT_INVALID(mutation, want)                                    \
	do {                                                              \
		valid_config(&cfg);                                       \
		mutation;                                                 \
		err[0] = '\0';                                            \
		assert_int_equal(config_validate(&cfg, err, sizeof(err)), \
				 -EINVAL);                                \
		assert_err(err, want);                                    \
		config_free(&cfg);                                        \
	} while (0)

	EXPECT_INVALID(
		cfg.loader = strdup("/bios"),
		"both a kernel (/boot/vmlinuz) and a BIOS (/bios): give one");
	EXPECT_INVALID((free(cfg.kernel), cfg.kernel = NULL,
			cfg.loader = strdup("/bios"),
			cfg.initrd = strdup("/i")),
		       "initrd/cmdline given without a kernel");
	EXPECT_INVALID(cfg.memory = MiB - 4096, "below the minimum of 1 MiB");
	EXPECT_INVALID(cfg.memory = 1024 * GiB + 4096,
		       "above the maximum of 1 TiB");
	EXPECT_INVALID(cfg.memory = 64 * MiB + 512, "not a multiple of 4 KiB");
	EXPECT_INVALID(
		cfg.current_memory = cfg.memory + 4096,
		"currentMemory (524292 KiB) is larger than memory (524288 KiB)");
	EXPECT_INVALID(cfg.current_memory = 4096, "currentMemory: 4096 bytes");
	EXPECT_INVALID(cfg.vcpus = 0, "vcpu: 0 is out of range 1..64");
	EXPECT_INVALID(cfg.vcpus = 65, "vcpu: 65 is out of range 1..64");
	EXPECT_INVALID(cfg.serial = CONFIG_SERIAL_FILE,
		       "serial: file without a path");
	EXPECT_INVALID(cfg.hyperv.synic = true, "hyperv: synic needs vpindex");
	EXPECT_INVALID((cfg.hyperv.vpindex = true, cfg.hyperv.stimer = true,
			cfg.hyperv.hypervclock = true),
		       "hyperv: stimer needs synic");
	EXPECT_INVALID((cfg.hyperv.vpindex = cfg.hyperv.synic = true,
			cfg.hyperv.stimer = true),
		       "hyperv: stimer needs <timer name='hypervclock'>");
	EXPECT_INVALID(cfg.hyperv.stimer_direct = true,
		       "hyperv: stimer direct mode needs stimer");
	EXPECT_INVALID(
		(cfg.hyperv.enabled = true, cfg.debug_exit_port = 0xe1),
		"debug-exit port 0xe1: ports 0xe4-0xe8 belong to the Hyper-V hypercall page (use e.g. 0xf4)");
	EXPECT_INVALID((cfg.hyperv.enabled = true, cfg.debug_exit_port = 0xe8),
		       "debug-exit port 0xe8: ports 0xe4-0xe8");
	EXPECT_INVALID((cfg.hyperv.spinlocks = true,
			cfg.hyperv.spinlock_retries = 100),
		       "hyperv: spinlocks retries=100 is below 4095");
	EXPECT_INVALID((cfg.disks[0].path = strdup("/a"),
			test_copy_target(&cfg.disks[0], "hde"),
			cfg.nr_disks = 1),
		       "disk hde: IDE has 4 slots");
	EXPECT_INVALID((cfg.disks[0].path = strdup("/a"),
			test_copy_target(&cfg.disks[0], "sda"),
			cfg.nr_disks = 1),
		       "disk sda: target must be hd[a-d] on IDE");
	EXPECT_INVALID((cfg.disks[0].path = strdup("/a"),
			test_copy_target(&cfg.disks[0], "hda"),
			cfg.disks[0].media = CONFIG_MEDIA_CDROM,
			cfg.nr_disks = 1),
		       "disk hda: a cdrom is always read-only");
	EXPECT_INVALID((cfg.disks[0].path = strdup("/a"),
			cfg.disks[1].path = strdup("/b"),
			test_copy_target(&cfg.disks[0], "hda"),
			test_copy_target(&cfg.disks[1], "hda"),
			cfg.nr_disks = 2),
		       "disk target 'hda' used twice");
	EXPECT_INVALID((test_copy_target(&cfg.disks[0], "hda"),
			cfg.nr_disks = 1),
		       "disk hda: no source path");
	EXPECT_INVALID(cfg.nr_nics = 1, "interface 0: TAP name empty");
	EXPECT_INVALID((memcpy(cfg.nics[0].tap, "t0", 3), cfg.nr_nics = 1,
			cfg.nics[0].mac_set = true, cfg.nics[0].mac[0] = 0x33),
		       "interface t0: MAC 33:00:00:00:00:00 is multicast");
	EXPECT_INVALID((memcpy(cfg.nics[0].tap, "t0", 3), cfg.nr_nics = 1,
			cfg.nics[0].mac_set = true),
		       "interface t0: MAC is all zero");
	EXPECT_INVALID((memcpy(cfg.nics[0].tap, "t0", 3),
			memcpy(cfg.nics[1].tap, "t0", 3), cfg.nr_nics = 2),
		       "interface t0: TAP used twice");
	EXPECT_INVALID((memcpy(cfg.nics[0].tap, "t0", 3),
			memcpy(cfg.nics[1].tap, "t1", 3), cfg.nr_nics = 2,
			cfg.nics[0].mac_set = cfg.nics[1].mac_set = true,
			cfg.nics[0].mac[1] = cfg.nics[1].mac[1] = 2),
		       "interface t1: MAC used twice");
	EXPECT_INVALID(cfg.nr_disks = CONFIG_MAX_DISKS + 1,
		       "too many disks or interfaces");
#undef EXPECT_INVALID

	/* And the full enlightenment set is consistent. */
	valid_config(&cfg);
	test_hyperv_all_for_test(&cfg);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	config_free(&cfg);
}

/* ---- issue #16: duplicates, attribute bound, quiet libxml2 --------------- */

static void test_config_xml_unique_duplicates(void **state)
{
	static const struct {
		const char *body;
		const char *want;
	} cases[] = {
		{ "<metadata>\n"
		  "<hvkvm:config xmlns:hvkvm='https://hvkvm.dev/xmlns/1'>\n"
		  "<hvkvm:debug-exit port='0xf4'/>\n"
		  "<hvkvm:debug-exit port='0x501'/>\n"
		  "</hvkvm:config></metadata>",
		  "t.xml:5: <metadata><hvkvm:config><hvkvm:debug-exit>: element given twice (first on line 4)" },
		{ "<metadata>\n"
		  "<hvkvm:config xmlns:hvkvm='https://hvkvm.dev/xmlns/1'/>\n"
		  "<h:config xmlns:h='https://hvkvm.dev/xmlns/1'/>\n"
		  "</metadata>",
		  "t.xml:4: <metadata><h:config>: element given twice (first on line 3)" },
		{ "<clock>\n<timer name='hypervclock' present='yes'/>\n"
		  "<timer name='hypervclock' present='no'/>\n</clock>",
		  "t.xml:4: <clock><timer>: name='hypervclock' given twice (first on line 3)" },
		{ "<clock>\n<timer name='rtc'/><timer name='pit'/>\n"
		  "<timer name='rtc' tickpolicy='catchup'/>\n</clock>",
		  "t.xml:4: <clock><timer>: name='rtc' given twice (first on line 3)" },
		{ "<sysinfo type='smbios'><system>\n"
		  "<entry name='serial'>a</entry>\n"
		  "<entry name='serial'>b</entry>\n</system></sysinfo>",
		  "t.xml:4: <sysinfo><system><entry>: name='serial' given twice (first on line 3)" },
		{ "<memory>524288</memory>\n<memory>1048576</memory>",
		  "t.xml:3: <memory>: element given twice (first on line 2)" },
		{ "<features><hyperv><relaxed state='on'/>\n"
		  "<relaxed state='off'/></hyperv></features>",
		  "t.xml:3: <hyperv><relaxed>: element given twice (first on line 2)" },
		{ "<devices>\n<controller type='scsi' index='1'/>\n"
		  "<controller type='ide'/><controller type='scsi' index='2'/>\n"
		  "<controller type='scsi' index='1'/>\n</devices>",
		  "t.xml:5: <controller>: type='scsi' index='1' given twice (first on line 3)" },
		{ "<devices>\n<controller type='ide'/>\n"
		  "<controller type='ide' index='0' model='piix4'/>\n</devices>",
		  "t.xml:4: <controller>: type='ide' index='0' given twice (first on line 3)" },
	};
	char xml[2048], err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(xml, sizeof(xml),
			 "<domain type='kvm'>\n%s\n"
			 "<os><type>hvm</type><kernel>/k</kernel></os>\n"
			 "</domain>\n",
			 cases[i].body);
		config_init(&cfg);
		assert_int_equal(parse_str(&cfg, xml, err), -EINVAL);
		assert_err(err, cases[i].want);
		config_free(&cfg);
	}
	/* Distinct timers and entries are still fine. */
	config_init(&cfg);
	assert_int_equal(
		parse_str(&cfg,
			  "<domain type='kvm'><clock><timer name='rtc'/>"
			  "<timer name='pit'/><timer name='hpet' present='no'/>"
			  "<timer name='hypervclock'/></clock>"
			  "<sysinfo type='smbios'><system>"
			  "<entry name='serial'>a</entry>"
			  "<entry name='product'>b</entry></system></sysinfo>"
			  "</domain>",
			  err),
		0);
	config_free(&cfg);
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100k attributes on one element: refused before libxml2's O(n^2) check. */
static void test_config_xml_attribute_bound(void **state)
{
	size_t cap = 1024 * 1024, len, i;
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	char *buf = malloc(cap);
	double t;

	assert_non_null(buf);
	len = (size_t)sprintf(buf, "<domain type='kvm'>\n<name");
	for (i = 0; i < 100000 && len + 32 < cap; i++)
		len += (size_t)sprintf(buf + len, " a%zu='1'", i);
	len += (size_t)sprintf(buf + len, ">x</name></domain>");
	assert_true(len <= cap);
	config_init(&cfg);
	t = now_sec();
	assert_int_equal(config_parse_buffer(&cfg, buf, len, "t.xml", err,
					     sizeof(err)),
			 -EINVAL);
	t = now_sec() - t;
	assert_err(err, "t.xml:2: <name>: more than 64 attributes");
	assert_true(t < 0.5);

	/* Quoted '=' and '>', comments, CDATA and PIs are not counted. */
	len = (size_t)sprintf(buf, "<domain type='kvm' id=\"");
	for (i = 0; i < 200; i++)
		len += (size_t)sprintf(buf + len, "=>");
	len += (size_t)sprintf(buf + len, "\">\n<!-- ");
	for (i = 0; i < 200; i++)
		len += (size_t)sprintf(buf + len, "a='1' ");
	len += (size_t)sprintf(buf + len, "--><?pi a=b a=b?>"
					  "<title><![CDATA[");
	/* (the bound is per element: a sibling starts again at 0) */
	for (i = 0; i < 200; i++)
		len += (size_t)sprintf(buf + len, "<x a='1'>");
	len += (size_t)sprintf(buf + len, "]]></title></domain>");
	if (config_parse_buffer(&cfg, buf, len, "t.xml", err, sizeof(err)))
		fail_msg("%s", err);
	/* 64 are fine (libxml2 then judges them), 65 are not. */
	len = (size_t)sprintf(buf, "<domain type='kvm'><vcpu");
	for (i = 0; i < 64; i++)
		len += (size_t)sprintf(buf + len, " a%zu='1'", i);
	sprintf(buf + len, ">1</vcpu></domain>");
	assert_int_equal(parse_str(&cfg, buf, err), -EINVAL);
	assert_err(err, "t.xml:1: <vcpu>: attribute a0 not supported");
	sprintf(buf + len, " z='1'>1</vcpu></domain>");
	assert_int_equal(parse_str(&cfg, buf, err), -EINVAL);
	assert_err(err, "t.xml:1: <vcpu>: more than 64 attributes");
	config_free(&cfg);
	free(buf);
}

/* Encoding errors: our one line only, nothing from libxml2 on stderr. */
static void test_config_xml_encoding_error_quiet(void **state)
{
	static const char *const docs[] = {
		"<?xml version='1.0' encoding='EUC-JP'?>\n"
		"<domain type='kvm'><name>\xff\xff\xff</name></domain>",
		"<?xml version='1.0' encoding='SHIFT_JIS'?>\n"
		"<domain type='kvm'><name>\x81</name></domain>",
		"<domain type='kvm'><name>a\xc3</name></domain>",
	};
	char tmpl[] = "/tmp/hvkvm-test-stderr-XXXXXX";
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	int fd, saved;
	struct stat st;
	size_t i;

	fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	unlink(tmpl);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	for (i = 0; i < ARRAY_SIZE(docs); i++) {
		config_init(&cfg);
		assert_int_equal(parse_str(&cfg, docs[i], err), -EINVAL);
		config_free(&cfg);
		if (i < 2)
			assert_err(err,
				   "malformed XML: input conversion failed");
		else
			assert_err(err, "t.xml:1: malformed XML: ");
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	assert_int_equal(st.st_size, 0);
}

/* Guest RAM merging (KSM): off by default, on only when asked. */
static void test_config_xml_mem_merge(void **state)
{
	static const char ns[] =
		"<metadata><hvkvm:config xmlns:hvkvm='https://hvkvm.dev/xmlns/1'>";
	char xml[1024], err[CONFIG_ERR_MAX];
	struct vm_config cfg;

	config_init(&cfg);
	assert_false(cfg.mem_merge);
	snprintf(xml, sizeof(xml),
		 "<domain type='kvm'>%s<hvkvm:mem-merge state='on'/>"
		 "</hvkvm:config></metadata></domain>",
		 ns);
	assert_int_equal(parse_str(&cfg, xml, err), 0);
	assert_true(cfg.mem_merge);
	config_free(&cfg);

	/* libvirt's <nosharepages/> is our default; with 'on' a conflict. */
	config_init(&cfg);
	assert_int_equal(
		parse_str(&cfg,
			  "<domain type='kvm'><memoryBacking><nosharepages/>"
			  "</memoryBacking></domain>",
			  err),
		0);
	assert_false(cfg.mem_merge);
	config_free(&cfg);
	config_init(&cfg);
	snprintf(xml, sizeof(xml),
		 "<domain type='kvm'>\n<memoryBacking><nosharepages/>"
		 "</memoryBacking>\n%s\n<hvkvm:mem-merge state='on'/>"
		 "</hvkvm:config></metadata></domain>",
		 ns);
	assert_int_equal(parse_str(&cfg, xml, err), -EINVAL);
	assert_err(err,
		   "t.xml:4: <metadata><hvkvm:config><hvkvm:mem-merge>: "
		   "state='on' contradicts <memoryBacking><nosharepages/>");
	config_free(&cfg);
	config_init(&cfg);
	assert_int_equal(
		parse_str(&cfg,
			  "<domain type='kvm'>\n<memoryBacking>\n<hugepages/>"
			  "</memoryBacking></domain>",
			  err),
		-EINVAL);
	assert_err(
		err,
		"t.xml:3: <memoryBacking><hugepages>: element not supported");
	config_free(&cfg);
}

int main(void)
{
	const char *src = getenv("HVKVM_SOURCE_DIR");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_init_defaults),
		cmocka_unit_test(test_config_good_files_parse),
		cmocka_unit_test(test_config_example_windows_fields),
		cmocka_unit_test(test_config_example_linux_hyperv_fields),
		cmocka_unit_test(test_config_dumpxml_style_fields),
		cmocka_unit_test(test_config_passthrough_sets_all),
		cmocka_unit_test(test_config_bad_files_named_errors),
		cmocka_unit_test(test_config_xml_malformed),
		cmocka_unit_test(test_config_xml_doctype_rejected),
		cmocka_unit_test(test_config_xml_size_limits),
		cmocka_unit_test(test_config_xml_truncated),
		cmocka_unit_test(test_config_xml_sizes_and_units),
		cmocka_unit_test(test_config_xml_serial_console),
		cmocka_unit_test(test_config_xml_limits_counted),
		cmocka_unit_test(test_config_parse_file_errors),
		cmocka_unit_test(test_config_disk_arg_good),
		cmocka_unit_test(test_config_disk_arg_bad),
		cmocka_unit_test(test_config_scsi_address),
		cmocka_unit_test(test_config_nic_arg),
		cmocka_unit_test(test_config_serial_arg),
		cmocka_unit_test(test_config_hyperv_arg),
		cmocka_unit_test(test_config_boot_arg),
		cmocka_unit_test(test_config_xml_boot_order),
		cmocka_unit_test(test_config_validate_rules),
		cmocka_unit_test(test_config_xml_unique_duplicates),
		cmocka_unit_test(test_config_xml_attribute_bound),
		cmocka_unit_test(test_config_xml_encoding_error_quiet),
		cmocka_unit_test(test_config_xml_mem_merge),
	};

	if (!src)
		src = HVKVM_TEST_SOURCE_DIR;
	snprintf(data_dir, sizeof(data_dir), "%s/tests/unit/data/config", src);
	snprintf(examples_dir, sizeof(examples_dir), "%s/examples", src);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
