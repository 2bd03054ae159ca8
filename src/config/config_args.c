// SPDX-License-Identifier: MIT
/*
 * config_args: command-line values into struct vm_config.
 *
 *   --disk   file=PATH,bus=ide|scsi[,format=raw|vhd][,readonly=on|off]
 *            [,media=disk|cdrom][,cache=none|writeback][,target=hdX|sdX]
 *   --nic    tap=NAME[,model=netvsc|dec21140|tulip][,mac=52:54:00:..]
 *   --serial stdio | pty | none | file:PATH
 *   --hyperv all | off | ITEM[,ITEM...]   (ITEM: see config_parse_hyperv_arg)
 *
 * In key=value lists a literal ',' in a value is written ",," (as QEMU
 * does). Each parser changes @cfg only when the whole value is good.
 */
#include "config_priv.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARG_VALUE_MAX 4096 /* PATH_MAX */

/*
 * Next "key=value" of a list at *@p into @key/@val; ",," is a literal ','.
 * Returns 1 for an item, 0 at the end, -EINVAL if malformed or too long.
 */
static int kv_next(const char **p, char *key, size_t ksz, char *val, size_t vsz)
{
	const char *s = *p;
	size_t k = 0, v = 0;
	bool in_val = false;

	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s == ',') {
			if (s[1] != ',')
				break;
			s++;
		} else if (*s == '=' && !in_val) {
			in_val = true;
			continue;
		}
		if (in_val) {
			if (v + 1 >= vsz)
				return -EINVAL;
			val[v++] = *s;
		} else {
			if (k + 1 >= ksz)
				return -EINVAL;
			key[k++] = *s;
		}
	}
	key[k] = '\0';
	val[v] = '\0';
	if (*s == ',' && !s[1])
		return -EINVAL; /* trailing comma */
	*p = *s ? s + 1 : s;
	return in_val && k ? 1 : -EINVAL;
}

/* Index of @v in @values (NULL terminated) or -1. */
static int str_index(const char *v, const char *const *values)
{
	int i;

	for (i = 0; values[i]; i++)
		if (!strcmp(v, values[i]))
			return i;
	return -1;
}

/* Index of @key in @keys; error for unknown or repeated keys. */
static int key_index(const char *opt, const char *key, const char *const *keys,
		     unsigned int *seen, char *err, size_t errlen)
{
	int i = str_index(key, keys);

	if (i < 0)
		return config_err(err, errlen, "%s: unknown key '%.32s'", opt,
				  key);
	if (*seen & (1u << i))
		return config_err(err, errlen, "%s: '%s' given twice", opt,
				  key);
	*seen |= 1u << i;
	return i;
}

static int bad_value(const char *opt, const char *key, const char *val,
		     const char *allowed, char *err, size_t errlen)
{
	return config_err(err, errlen, "%s: %s='%.64s' not supported (%s)", opt,
			  key, val, allowed);
}

/* ---- --disk -------------------------------------------------------------- */

enum {
	DK_FILE,
	DK_BUS,
	DK_FORMAT,
	DK_READONLY,
	DK_MEDIA,
	DK_CACHE,
	DK_TARGET,
	DK_ADDR
};

/* addr=C:T:L (controller, target, LUN) of a bus=scsi disk. */
static int disk_addr(struct config_disk *d, const char *val, char *err,
		     size_t errlen)
{
	unsigned int c, t, l;
	int end = 0;

	if (sscanf(val, "%u:%u:%u%n", &c, &t, &l, &end) != 3 || val[end] ||
	    c >= CONFIG_SCSI_CONTROLLERS || t >= CONFIG_SCSI_TARGETS ||
	    l >= CONFIG_SCSI_LUNS || !isdigit((unsigned char)val[0]))
		return config_err(
			err, errlen,
			"--disk: addr=%.32s: want CONTROLLER:TARGET:LUN within 0..%u:0..%u:0..%u",
			val, CONFIG_SCSI_CONTROLLERS - 1,
			CONFIG_SCSI_TARGETS - 1, CONFIG_SCSI_LUNS - 1);
	d->addr_set = true;
	d->addr_controller = c;
	d->addr_target = t;
	d->addr_lun = l;
	return 0;
}

static int disk_key(struct config_disk *d, int k, const char *val,
		    int *readonly, char *err, size_t errlen)
{
	static const char *const buses[] = { "ide", "scsi", NULL };
	static const char *const formats[] = { "raw", "vhd", "vpc", NULL };
	static const char *const onoff[] = { "off", "on", NULL };
	static const char *const media[] = { "disk", "cdrom", NULL };
	static const char *const caches[] = { "none", "writeback", NULL };
	int i;

	switch (k) {
	case DK_FILE:
		if (!*val)
			return config_err(err, errlen, "--disk: empty file=");
		if (config_set_str(&d->path, val))
			return -ENOMEM;
		return 0;
	case DK_BUS:
		i = str_index(val, buses);
		if (i < 0)
			return bad_value("--disk", "bus", val, "ide, scsi", err,
					 errlen);
		d->bus = (enum config_disk_bus)i;
		return 0;
	case DK_FORMAT:
		i = str_index(val, formats);
		if (i < 0)
			return bad_value("--disk", "format", val, "raw, vhd",
					 err, errlen);
		d->format = i ? CONFIG_FORMAT_VHD : CONFIG_FORMAT_RAW;
		return 0;
	case DK_READONLY:
		*readonly = str_index(val, onoff);
		if (*readonly < 0)
			return bad_value("--disk", "readonly", val, "on, off",
					 err, errlen);
		return 0;
	case DK_MEDIA:
		i = str_index(val, media);
		if (i < 0)
			return bad_value("--disk", "media", val, "disk, cdrom",
					 err, errlen);
		d->media = (enum config_disk_media)i;
		return 0;
	case DK_CACHE:
		i = str_index(val, caches);
		if (i < 0)
			return bad_value("--disk", "cache", val,
					 "none, writeback", err, errlen);
		d->cache = (enum config_cache)i;
		return 0;
	case DK_ADDR:
		return disk_addr(d, val, err, errlen);
	default:
		if (config_target_index(val) < 0)
			return bad_value("--disk", "target", val,
					 "hda..hdd, sda..", err, errlen);
		config_copy(d->target, sizeof(d->target), val);
		return 0;
	}
}

static int disk_check(struct config_disk *d, unsigned int seen, int readonly,
		      char *err, size_t errlen)
{
	if (!(seen & (1u << DK_FILE)))
		return config_err(err, errlen, "--disk: file= missing");
	if (!(seen & (1u << DK_BUS)) && !d->target[0])
		return config_err(err, errlen,
				  "--disk: bus= missing (ide, scsi)");
	if (!(seen & (1u << DK_BUS)))
		d->bus = (enum config_disk_bus)config_target_bus(d->target);
	if (d->target[0] && config_target_bus(d->target) != (int)d->bus)
		return config_err(err, errlen,
				  "--disk: target=%s is not on bus %s",
				  d->target,
				  d->bus == CONFIG_DISK_IDE ? "ide" : "scsi");
	if (d->addr_set && d->bus != CONFIG_DISK_SCSI)
		return config_err(err, errlen,
				  "--disk: addr= is for bus=scsi disks");
	if (d->media == CONFIG_MEDIA_CDROM) {
		if (readonly == 0)
			return config_err(
				err, errlen,
				"--disk: a cdrom is read-only (drop readonly=off)");
		readonly = 1;
	}
	d->readonly = readonly == 1;
	return 0;
}

int config_parse_disk_arg(struct vm_config *cfg, const char *arg, char *err,
			  size_t errlen)
{
	static const char *const keys[] = { "file",	"bus",	 "format",
					    "readonly", "media", "cache",
					    "target",	"addr",	 NULL };
	struct config_disk d = { .format = CONFIG_FORMAT_AUTO };
	char key[32], val[ARG_VALUE_MAX];
	const char *p = arg ? arg : "";
	unsigned int seen = 0;
	int readonly = -1, ret, k;

	while ((ret = kv_next(&p, key, sizeof(key), val, sizeof(val))) > 0) {
		k = key_index("--disk", key, keys, &seen, err, errlen);
		if (k < 0) {
			ret = k;
			goto out;
		}
		ret = disk_key(&d, k, val, &readonly, err, errlen);
		if (ret)
			goto out;
	}
	if (ret < 0) {
		config_err(
			err, errlen,
			"--disk: expected key=value[,key=value...] near '%.32s'",
			p);
		goto out;
	}
	ret = disk_check(&d, seen, readonly, err, errlen);
	if (!ret)
		ret = config_add_disk(cfg, &d, err, errlen);
	if (ret == -EEXIST || ret == -E2BIG)
		ret = -EINVAL;
out:
	free(d.path);
	return ret;
}

/* ---- --nic --------------------------------------------------------------- */

int config_parse_nic_arg(struct vm_config *cfg, const char *arg, char *err,
			 size_t errlen)
{
	static const char *const keys[] = { "tap", "model", "mac", "mtu",
					    NULL };
	static const char *const models[] = { "netvsc", "dec21140", "tulip",
					      NULL };
	struct config_nic nic = { .model = CONFIG_NIC_NETVSC };
	char key[32], val[64];
	const char *p = arg ? arg : "";
	unsigned int seen = 0;
	int ret, k, m;

	while ((ret = kv_next(&p, key, sizeof(key), val, sizeof(val))) > 0) {
		k = key_index("--nic", key, keys, &seen, err, errlen);
		if (k < 0)
			return k;
		if (k == 0) {
			if (!*val || strlen(val) >= CONFIG_TAP_MAX ||
			    strchr(val, '/'))
				return config_err(
					err, errlen,
					"--nic: tap='%.32s' is not an interface name (1..15 characters)",
					val);
			config_copy(nic.tap, sizeof(nic.tap), val);
		} else if (k == 1) {
			m = str_index(val, models);
			if (m < 0)
				return bad_value("--nic", "model", val,
						 "netvsc, dec21140", err,
						 errlen);
			nic.model = m ? CONFIG_NIC_DEC21140 : CONFIG_NIC_NETVSC;
		} else if (k == 3) {
			char *end;
			unsigned long v = strtoul(val, &end, 10);

			if (!isdigit((unsigned char)val[0]) || *end ||
			    v < CONFIG_NIC_MTU_MIN || v > CONFIG_NIC_MTU_MAX)
				return config_err(
					err, errlen,
					"--nic: mtu=%.16s: the MTU is %u..%u",
					val, CONFIG_NIC_MTU_MIN,
					CONFIG_NIC_MTU_MAX);
			nic.mtu = (unsigned int)v;
		} else {
			if (config_parse_mac(val, nic.mac))
				return config_err(
					err, errlen,
					"--nic: mac='%.32s' is not a MAC address",
					val);
			if (nic.mac[0] & 1)
				return config_err(err, errlen,
						  "--nic: mac=%s is multicast",
						  val);
			nic.mac_set = true;
		}
	}
	if (ret < 0)
		return config_err(
			err, errlen,
			"--nic: expected key=value[,key=value...] near '%.32s'",
			p);
	if (!nic.tap[0])
		return config_err(err, errlen, "--nic: tap= missing");
	return config_add_nic(cfg, &nic, err, errlen) ? -EINVAL : 0;
}

/* ---- --serial ------------------------------------------------------------ */

int config_parse_serial_arg(struct vm_config *cfg, const char *arg, char *err,
			    size_t errlen)
{
	static const char *const simple[] = { "stdio", "pty", "none", "null",
					      NULL };
	static const enum config_serial kinds[] = {
		CONFIG_SERIAL_STDIO,
		CONFIG_SERIAL_PTY,
		CONFIG_SERIAL_NONE,
		CONFIG_SERIAL_NONE,
	};
	int i;

	if (!arg)
		arg = "";
	if (!strncmp(arg, "file:", 5)) {
		if (!arg[5])
			return config_err(err, errlen,
					  "--serial: file: needs a path");
		if (config_set_str(&cfg->serial_path, arg + 5))
			return -ENOMEM;
		cfg->serial = CONFIG_SERIAL_FILE;
		return 0;
	}
	i = str_index(arg, simple);
	if (i < 0)
		return config_err(
			err, errlen,
			"--serial: '%.64s' not supported (stdio, pty, none, file:PATH)",
			arg);
	cfg->serial = kinds[i];
	return config_set_str(&cfg->serial_path, NULL);
}

/* ---- --hyperv ------------------------------------------------------------ */

static bool *hv_item(struct config_hyperv *hv, const char *name)
{
	static const struct {
		const char *name;
		size_t off;
	} items[] = {
		{ "relaxed", offsetof(struct config_hyperv, relaxed) },
		{ "vpindex", offsetof(struct config_hyperv, vpindex) },
		{ "runtime", offsetof(struct config_hyperv, runtime) },
		{ "synic", offsetof(struct config_hyperv, synic) },
		{ "stimer", offsetof(struct config_hyperv, stimer) },
		{ "stimer-direct",
		  offsetof(struct config_hyperv, stimer_direct) },
		{ "reset", offsetof(struct config_hyperv, reset) },
		{ "frequencies", offsetof(struct config_hyperv, frequencies) },
		{ "crash", offsetof(struct config_hyperv, crash) },
		{ "hypervclock", offsetof(struct config_hyperv, hypervclock) },
		{ "spinlocks", offsetof(struct config_hyperv, spinlocks) },
		{ "vendor-id", offsetof(struct config_hyperv, vendor_id_set) },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(items); i++)
		if (!strcmp(name, items[i].name))
			return (bool *)((char *)hv + items[i].off);
	return NULL;
}

static int hv_token(struct config_hyperv *hv, char *tok, char *err,
		    size_t errlen)
{
	char *val = strchr(tok, '=');
	bool on = true;
	uint64_t v;
	bool *flag;

	if (val)
		*val++ = '\0';
	if (!strcmp(tok, "all") && !val) {
		config_hyperv_all(hv);
		return 0;
	}
	if (!strcmp(tok, "off") && !val) {
		memset(hv, 0, sizeof(*hv));
		hv->spinlock_retries = 0xffffffff;
		return 0;
	}
	if (!strncmp(tok, "no-", 3)) {
		on = false;
		tok += 3;
	}
	flag = hv_item(hv, tok);
	if (!flag)
		return config_err(err, errlen, "--hyperv: unknown item '%.32s'",
				  tok);
	if (!on || (strcmp(tok, "spinlocks") && strcmp(tok, "vendor-id"))) {
		if (val)
			return config_err(err, errlen,
					  "--hyperv: %s takes no value", tok);
		*flag = on;
		return 0;
	}
	if (!val || !*val)
		return config_err(err, errlen, "--hyperv: %s needs =VALUE",
				  tok);
	if (!strcmp(tok, "vendor-id")) {
		if (strlen(val) > 12)
			return config_err(
				err, errlen,
				"--hyperv: vendor-id is at most 12 characters");
		config_copy(hv->vendor_id, sizeof(hv->vendor_id), val);
	} else {
		if (config_parse_num(val, UINT32_MAX, true, &v))
			return config_err(
				err, errlen,
				"--hyperv: spinlocks='%.32s' is not a 32-bit number",
				val);
		if (v < CONFIG_SPINLOCK_MIN)
			return config_err(
				err, errlen,
				"--hyperv: spinlocks=%llu is below 4095",
				(unsigned long long)v);
		hv->spinlock_retries = (uint32_t)v;
	}
	*flag = true;
	return 0;
}

/*
 * Copy the comma-separated list @arg of flag @flag into @buf (for
 * strtok_r), refusing an empty list or an empty item.
 */
static int config_list_copy(const char *flag, const char *arg,
			    const char *usage, char *buf, size_t size,
			    char *err, size_t errlen)
{
	if (!arg || !*arg || strlen(arg) >= size)
		return config_err(err, errlen, "%s: expected %s", flag, usage);
	config_copy(buf, size, arg);
	if (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
		return config_err(err, errlen, "%s: empty item in '%s'", flag,
				  arg);
	return 0;
}

int config_parse_hyperv_arg(struct vm_config *cfg, const char *arg, char *err,
			    size_t errlen)
{
	struct config_hyperv hv = cfg->hyperv;
	char buf[256], *tok, *save = NULL;
	int ret;

	ret = config_list_copy("--hyperv", arg,
			       "all, off or a list like relaxed,vpindex,synic",
			       buf, sizeof(buf), err, errlen);
	if (ret)
		return ret;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		ret = hv_token(&hv, tok, err, errlen);
		if (ret)
			return ret;
	}
	config_hyperv_update(&hv);
	cfg->hyperv = hv;
	return 0;
}

/* ---- --boot ------------------------------------------------------------- */

/* Append @d to @order unless it is there already (then an error). */
int config_boot_add(enum config_boot_dev *order, unsigned int *nr,
		    enum config_boot_dev d)
{
	unsigned int i;

	for (i = 0; i < *nr; i++)
		if (order[i] == d)
			return -EEXIST;
	if (*nr == CONFIG_MAX_BOOT)
		return -E2BIG;
	order[(*nr)++] = d;
	return 0;
}

/* One item of --boot: a device or reboot-timeout=MS. */
static int boot_token(const char *tok, enum config_boot_dev *order,
		      unsigned int *nr, int32_t *timeout, char *err,
		      size_t errlen)
{
	static const char *const devs[] = { "hd", "cdrom", "network" };
	uint64_t v;
	unsigned int i;

	if (!strncmp(tok, "reboot-timeout=", 15)) {
		if (!strcmp(tok + 15, "-1")) {
			*timeout = -1;
			return 0;
		}
		if (config_parse_num(tok + 15, 0x7fffffff, false, &v))
			return config_err(
				err, errlen,
				"--boot: reboot-timeout=%.32s: expected milliseconds or -1 (never)",
				tok + 15);
		*timeout = (int32_t)v;
		return 0;
	}
	if (!strcmp(tok, "fd") || !strcmp(tok, "floppy"))
		return config_err(err, errlen,
				  "--boot: %s: hvkvm has no floppy controller",
				  tok);
	for (i = 0; i < ARRAY_SIZE(devs); i++)
		if (!strcmp(tok, devs[i]))
			break;
	if (i == ARRAY_SIZE(devs))
		return config_err(
			err, errlen,
			"--boot: '%.32s' is not hd, cdrom, network or reboot-timeout=MS",
			tok);
	if (config_boot_add(order, nr, (enum config_boot_dev)i))
		return config_err(err, errlen, "--boot: %s given twice", tok);
	return 0;
}

int config_parse_boot_arg(struct vm_config *cfg, const char *arg, char *err,
			  size_t errlen)
{
	enum config_boot_dev order[CONFIG_MAX_BOOT];
	int32_t timeout = cfg->reboot_timeout;
	char buf[256], *tok, *save = NULL;
	unsigned int nr = 0;
	int ret;

	ret = config_list_copy("--boot", arg,
			       "a list like cdrom,hd[,reboot-timeout=MS]", buf,
			       sizeof(buf), err, errlen);
	if (ret)
		return ret;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		ret = boot_token(tok, order, &nr, &timeout, err, errlen);
		if (ret)
			return ret;
	}
	/* Only reboot-timeout given: the order stays as it was. */
	if (nr) {
		memcpy(cfg->boot, order, sizeof(order));
		cfg->nr_boot = nr;
	}
	cfg->reboot_timeout = timeout;
	return 0;
}
