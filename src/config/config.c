// SPDX-License-Identifier: MIT
/*
 * config: defaults, shared helpers and whole-config validation.
 *
 * The XML reader lives in config_xml.c / config_xml_devices.c, the
 * command-line value parsers in config_args.c; all of them fill the same
 * struct vm_config and leave the cross-field checks to config_validate().
 * Validation looks at the description only: whether the host has the memory
 * or the files exist is found out by the VMM when it opens them.
 */
#include "config_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

/* ---- errors and small helpers -------------------------------------------- */

int config_verr(char *err, size_t errlen, const char *fmt, va_list ap)
{
	char *p;

	if (!err || !errlen)
		return -EINVAL;
	vsnprintf(err, errlen, fmt, ap);
	/* Values from the file are echoed: keep the message one line. */
	for (p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -EINVAL;
}

int config_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_verr(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int config_set_str(char **dst, const char *s)
{
	char *copy = NULL;

	if (s) {
		copy = strdup(s);
		if (!copy)
			return -ENOMEM;
	}
	free(*dst);
	*dst = copy;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int config_parse_num(const char *s, uint64_t max, bool hex, uint64_t *out)
{
	unsigned int base = 10;
	uint64_t v = 0;
	int d;

	if (!s)
		return -EINVAL;
	if (hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		d = hex_digit(*s);
		if (d < 0 || (unsigned int)d >= base)
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return -ERANGE;
		v = v * base + (uint64_t)d;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int config_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t out[6];
	int i, hi, lo;

	if (!s)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		hi = hex_digit(s[0]);
		lo = hi < 0 ? -1 : hex_digit(s[1]);
		if (lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 5) {
			if (*s != ':' && *s != '-')
				return -EINVAL;
			s++;
		}
	}
	if (*s)
		return -EINVAL;
	memcpy(mac, out, sizeof(out));
	return 0;
}

/* Powers of 1024 (or 1000) for k, M, G, T, P, E. */
static int unit_power(char c)
{
	static const char units[] = "kmgtpe";
	const char *p;

	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	p = c ? strchr(units, c) : NULL;
	return p ? (int)(p - units) + 1 : -1;
}

int config_scale_size(const char *num, const char *unit, uint64_t dflt_scale,
		      uint64_t *out)
{
	uint64_t v, scale = 1, base = 1024;
	int pow, ret;

	if (!unit || !*unit) {
		scale = dflt_scale;
	} else if (!strcasecmp(unit, "b") || !strcasecmp(unit, "byte") ||
		   !strcasecmp(unit, "bytes")) {
		scale = 1;
	} else {
		pow = unit_power(unit[0]);
		if (pow < 0)
			return -EINVAL;
		if (!unit[1] || !strcasecmp(unit + 1, "iB"))
			base = 1024;
		else if (!strcasecmp(unit + 1, "B"))
			base = 1000;
		else
			return -EINVAL;
		while (pow--)
			scale *= base;
	}
	ret = config_parse_num(num, UINT64_MAX, false, &v);
	if (ret)
		return ret;
	if (scale && v > UINT64_MAX / scale)
		return -ERANGE;
	*out = v * scale;
	return 0;
}

/* ---- disks, NICs, targets ------------------------------------------------ */

int config_target_bus(const char *target)
{
	if (!strncmp(target, "hd", 2))
		return CONFIG_DISK_IDE;
	if (!strncmp(target, "sd", 2))
		return CONFIG_DISK_SCSI;
	return -1;
}

int config_target_index(const char *target)
{
	size_t i, len = strlen(target);
	int idx = 0;

	/* hd[a-z], sd[a-z]{1,3} in libvirt's bijective base 26. */
	if (len < 3 || len > 5 || config_target_bus(target) < 0)
		return -1;
	if (target[0] == 'h' && len != 3)
		return -1;
	for (i = 2; i < len; i++) {
		if (target[i] < 'a' || target[i] > 'z')
			return -1;
		idx = idx * 26 + (target[i] - 'a' + 1);
	}
	return idx - 1;
}

static void target_name(enum config_disk_bus bus, int idx, char *buf,
			size_t size)
{
	char letters[4];
	int n = 0, i;

	/* Bijective base 26: 0 = a, 25 = z, 26 = aa. */
	idx++;
	while (idx > 0 && n < 3) {
		idx--;
		letters[n++] = (char)('a' + idx % 26);
		idx /= 26;
	}
	snprintf(buf, size, "%s", bus == CONFIG_DISK_IDE ? "hd" : "sd");
	for (i = n - 1; i >= 0; i--)
		snprintf(buf + strlen(buf), size - strlen(buf), "%c",
			 letters[i]);
}

void config_disk_scsi_addr(const struct config_disk *d, unsigned int *ctrl,
			   unsigned int *target, unsigned int *lun)
{
	int idx = config_target_index(d->target);

	if (d->addr_set) {
		*ctrl = d->addr_controller;
		*target = d->addr_target;
		*lun = d->addr_lun;
		return;
	}
	*ctrl = 0;
	*target = 0;
	*lun = idx < 0 ? 0 : (unsigned int)idx;
}

static bool target_used(const struct vm_config *cfg, const char *target)
{
	unsigned int i;

	for (i = 0; i < cfg->nr_disks; i++)
		if (!strcmp(cfg->disks[i].target, target))
			return true;
	return false;
}

int config_add_disk(struct vm_config *cfg, struct config_disk *d, char *err,
		    size_t errlen)
{
	int slots = d->bus == CONFIG_DISK_IDE ? CONFIG_IDE_SLOTS :
						CONFIG_SCSI_SLOTS;
	int i;

	if (cfg->nr_disks >= CONFIG_MAX_DISKS) {
		config_err(err, errlen, "too many disks (at most %d)",
			   CONFIG_MAX_DISKS);
		return -E2BIG;
	}
	if (!d->target[0]) {
		for (i = 0; i < slots; i++) {
			target_name(d->bus, i, d->target, sizeof(d->target));
			if (!target_used(cfg, d->target))
				break;
		}
		if (i == slots) {
			d->target[0] = '\0';
			config_err(err, errlen, "no free %s slot for disk %s",
				   d->bus == CONFIG_DISK_IDE ? "IDE" : "SCSI",
				   d->path ? d->path : "");
			return -E2BIG;
		}
	} else if (target_used(cfg, d->target)) {
		config_err(err, errlen, "disk target '%s' used twice",
			   d->target);
		return -EEXIST;
	}
	cfg->disks[cfg->nr_disks++] = *d;
	d->path = NULL;
	return 0;
}

int config_add_nic(struct vm_config *cfg, const struct config_nic *n, char *err,
		   size_t errlen)
{
	if (cfg->nr_nics >= CONFIG_MAX_NICS) {
		config_err(err, errlen,
			   "too many network interfaces (at most %d)",
			   CONFIG_MAX_NICS);
		return -E2BIG;
	}
	cfg->nics[cfg->nr_nics++] = *n;
	return 0;
}

/* ---- Hyper-V ------------------------------------------------------------- */

void config_hyperv_all(struct config_hyperv *hv)
{
	hv->relaxed = true;
	hv->vpindex = true;
	hv->runtime = true;
	hv->synic = true;
	hv->stimer = true;
	hv->stimer_direct = true;
	hv->reset = true;
	hv->frequencies = true;
	hv->hypervclock = true;
	hv->crash = true;
	hv->enabled = true;
}

void config_hyperv_update(struct config_hyperv *hv)
{
	hv->enabled = hv->passthrough || hv->relaxed || hv->vpindex ||
		      hv->runtime || hv->synic || hv->stimer ||
		      hv->stimer_direct || hv->reset || hv->frequencies ||
		      hv->spinlocks || hv->vendor_id_set || hv->hypervclock ||
		      hv->crash;
}

/* ---- lifecycle ----------------------------------------------------------- */

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "hvkvm");
	uuid_generate(cfg->uuid);
	cfg->uuid_set = false;
	cfg->memory = 512 * MiB;
	cfg->current_memory = 0;
	cfg->vcpus = 1;
	cfg->acpi = true;
	cfg->apic = true;
	cfg->on_poweroff = CONFIG_ACTION_DESTROY;
	cfg->on_reboot = CONFIG_ACTION_RESTART;
	cfg->on_crash = CONFIG_ACTION_DESTROY;
	cfg->serial = CONFIG_SERIAL_STDIO;
	cfg->hyperv.spinlock_retries = 0xffffffff;
	cfg->clock_utc = true;
	cfg->reboot_timeout = CONFIG_REBOOT_TIMEOUT_DEFAULT;
}

void config_free(struct vm_config *cfg)
{
	unsigned int i;

	free(cfg->loader);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	free(cfg->serial_path);
	free(cfg->source);
	for (i = 0; i < cfg->nr_disks && i < CONFIG_MAX_DISKS; i++)
		free(cfg->disks[i].path);
	for (i = 0; i < CONFIG_SMBIOS_NR; i++) {
		free(cfg->smbios[i]);
		cfg->smbios[i] = NULL;
	}
	cfg->loader = cfg->kernel = cfg->initrd = cfg->cmdline = NULL;
	cfg->serial_path = cfg->source = NULL;
	cfg->nr_disks = 0;
	cfg->nr_nics = 0;
}

const char *config_firmware(const struct vm_config *cfg)
{
	if (cfg->kernel)
		return NULL;
	return cfg->loader ? cfg->loader : CONFIG_DEFAULT_BIOS;
}

const char *config_boot_name(enum config_boot_dev d)
{
	switch (d) {
	case CONFIG_BOOT_HD:
		return "hd";
	case CONFIG_BOOT_CDROM:
		return "cdrom";
	case CONFIG_BOOT_NETWORK:
		return "network";
	}
	return "unknown";
}

const char *config_action_name(enum config_action a)
{
	switch (a) {
	case CONFIG_ACTION_DESTROY:
		return "destroy";
	case CONFIG_ACTION_RESTART:
		return "restart";
	case CONFIG_ACTION_PRESERVE:
		return "preserve";
	}
	return "unknown";
}

/* ---- validation ---------------------------------------------------------- */

static int validate_memory(const struct vm_config *cfg, char *err,
			   size_t errlen)
{
	if (cfg->memory < CONFIG_MIN_MEMORY)
		return config_err(
			err, errlen,
			"memory: %llu bytes is below the minimum of 1 MiB",
			(unsigned long long)cfg->memory);
	if (cfg->memory > CONFIG_MAX_MEMORY)
		return config_err(
			err, errlen,
			"memory: %llu MiB is above the maximum of 1 TiB",
			(unsigned long long)(cfg->memory / MiB));
	if (!IS_ALIGNED(cfg->memory, 4 * KiB))
		return config_err(
			err, errlen,
			"memory: %llu bytes is not a multiple of 4 KiB",
			(unsigned long long)cfg->memory);
	if (!cfg->current_memory)
		return 0;
	if (cfg->current_memory > cfg->memory)
		return config_err(
			err, errlen,
			"currentMemory (%llu KiB) is larger than memory (%llu KiB)",
			(unsigned long long)(cfg->current_memory / KiB),
			(unsigned long long)(cfg->memory / KiB));
	if (cfg->current_memory < CONFIG_MIN_MEMORY ||
	    !IS_ALIGNED(cfg->current_memory, 4 * KiB))
		return config_err(
			err, errlen,
			"currentMemory: %llu bytes is below 1 MiB or not a multiple of 4 KiB",
			(unsigned long long)cfg->current_memory);
	return 0;
}

static int validate_boot(const struct vm_config *cfg, char *err, size_t errlen)
{
	if (cfg->kernel && cfg->loader)
		return config_err(
			err, errlen,
			"both a kernel (%s) and a BIOS (%s): give one (hvkvm cannot hand a kernel to the BIOS)",
			cfg->kernel, cfg->loader);
	if (cfg->kernel && !cfg->kernel[0])
		return config_err(err, errlen, "kernel: empty path");
	if (cfg->loader && !cfg->loader[0])
		return config_err(err, errlen, "loader: empty path");
	if (!cfg->kernel && (cfg->initrd || cfg->cmdline))
		return config_err(err, errlen,
				  "initrd/cmdline given without a kernel");
	if (cfg->vcpus < 1 || cfg->vcpus > CONFIG_MAX_VCPUS)
		return config_err(err, errlen, "vcpu: %u is out of range 1..%d",
				  cfg->vcpus, CONFIG_MAX_VCPUS);
	if (cfg->serial == CONFIG_SERIAL_FILE &&
	    (!cfg->serial_path || !cfg->serial_path[0]))
		return config_err(err, errlen, "serial: file without a path");
	return 0;
}

static int validate_disk(const struct vm_config *cfg, unsigned int i, char *err,
			 size_t errlen)
{
	const struct config_disk *d = &cfg->disks[i];
	int idx = config_target_index(d->target);
	unsigned int j;

	if (!d->path || !d->path[0])
		return config_err(err, errlen, "disk %s: no source path",
				  d->target);
	if (idx < 0 || config_target_bus(d->target) != (int)d->bus)
		return config_err(
			err, errlen,
			"disk %s: target must be hd[a-d] on IDE, sd[a-z]+ on SCSI",
			d->target);
	if (d->bus == CONFIG_DISK_IDE && idx >= CONFIG_IDE_SLOTS)
		return config_err(err, errlen,
				  "disk %s: IDE has 4 slots, hda..hdd",
				  d->target);
	if (d->bus == CONFIG_DISK_SCSI && idx >= CONFIG_SCSI_SLOTS)
		return config_err(err, errlen,
				  "disk %s: SCSI targets go up to sdbl (64)",
				  d->target);
	if (d->media == CONFIG_MEDIA_CDROM && !d->readonly)
		return config_err(err, errlen,
				  "disk %s: a cdrom is always read-only",
				  d->target);
	for (j = 0; j < i; j++)
		if (!strcmp(cfg->disks[j].target, d->target))
			return config_err(err, errlen,
					  "disk target '%s' used twice",
					  d->target);
	if (d->bus == CONFIG_DISK_SCSI) {
		unsigned int c, t, l, c2, t2, l2;

		config_disk_scsi_addr(d, &c, &t, &l);
		if (c >= CONFIG_SCSI_CONTROLLERS || t >= CONFIG_SCSI_TARGETS ||
		    l >= CONFIG_SCSI_LUNS)
			return config_err(
				err, errlen,
				"disk %s: SCSI address %u:%u:%u out of range (controller 0..%u, target 0..%u, LUN 0..%u)",
				d->target, c, t, l, CONFIG_SCSI_CONTROLLERS - 1,
				CONFIG_SCSI_TARGETS - 1, CONFIG_SCSI_LUNS - 1);
		for (j = 0; j < i; j++) {
			if (cfg->disks[j].bus != CONFIG_DISK_SCSI)
				continue;
			config_disk_scsi_addr(&cfg->disks[j], &c2, &t2, &l2);
			if (c == c2 && t == t2 && l == l2)
				return config_err(
					err, errlen,
					"disks %s and %s: both at SCSI address %u:%u:%u",
					cfg->disks[j].target, d->target, c, t,
					l);
		}
	}
	return 0;
}

static int validate_nic(const struct vm_config *cfg, unsigned int i, char *err,
			size_t errlen)
{
	static const uint8_t zero[6];
	const struct config_nic *n = &cfg->nics[i];
	unsigned int j;

	if (!n->tap[0] || strnlen(n->tap, sizeof(n->tap)) >= CONFIG_TAP_MAX)
		return config_err(
			err, errlen,
			"interface %u: TAP name empty or longer than 15", i);
	if (n->mac_set && (n->mac[0] & 1))
		return config_err(
			err, errlen,
			"interface %s: MAC %02x:%02x:%02x:%02x:%02x:%02x is multicast",
			n->tap, n->mac[0], n->mac[1], n->mac[2], n->mac[3],
			n->mac[4], n->mac[5]);
	if (n->mac_set && !memcmp(n->mac, zero, 6))
		return config_err(err, errlen, "interface %s: MAC is all zero",
				  n->tap);
	for (j = 0; j < i; j++) {
		if (!strcmp(cfg->nics[j].tap, n->tap))
			return config_err(err, errlen,
					  "interface %s: TAP used twice",
					  n->tap);
		if (n->mac_set && cfg->nics[j].mac_set &&
		    !memcmp(cfg->nics[j].mac, n->mac, 6))
			return config_err(err, errlen,
					  "interface %s: MAC used twice",
					  n->tap);
	}
	return 0;
}

/* Dependencies as the TLFS states them (and QEMU/libvirt enforce). */
static int validate_hyperv(const struct config_hyperv *hv, char *err,
			   size_t errlen)
{
	if (hv->synic && !hv->vpindex)
		return config_err(
			err, errlen,
			"hyperv: synic needs vpindex (SynIC messages target VP indexes)");
	if (hv->stimer && !hv->synic)
		return config_err(
			err, errlen,
			"hyperv: stimer needs synic (timers signal through SINTs)");
	if (hv->stimer && !hv->hypervclock)
		return config_err(
			err, errlen,
			"hyperv: stimer needs <timer name='hypervclock'> (timers count reference time)");
	if (hv->stimer_direct && !hv->stimer)
		return config_err(err, errlen,
				  "hyperv: stimer direct mode needs stimer");
	if (hv->spinlocks && hv->spinlock_retries < CONFIG_SPINLOCK_MIN)
		return config_err(err, errlen,
				  "hyperv: spinlocks retries=%u is below 4095",
				  hv->spinlock_retries);
	if (hv->vendor_id_set &&
	    strnlen(hv->vendor_id, sizeof(hv->vendor_id)) > 12)
		return config_err(
			err, errlen,
			"hyperv: vendor_id longer than 12 characters");
	return 0;
}

int config_validate(const struct vm_config *cfg, char *err, size_t errlen)
{
	unsigned int i;
	int ret;

	ret = validate_boot(cfg, err, errlen);
	if (ret)
		return ret;
	ret = validate_memory(cfg, err, errlen);
	if (ret)
		return ret;
	if (cfg->nr_disks > CONFIG_MAX_DISKS || cfg->nr_nics > CONFIG_MAX_NICS)
		return config_err(err, errlen, "too many disks or interfaces");
	for (i = 0; i < cfg->nr_disks; i++) {
		ret = validate_disk(cfg, i, err, errlen);
		if (ret)
			return ret;
	}
	for (i = 0; i < cfg->nr_nics; i++) {
		ret = validate_nic(cfg, i, err, errlen);
		if (ret)
			return ret;
	}
	/*
	 * The Hyper-V hypercall page traps through ports 0xE4-0xE8
	 * (HV_SIGNAL_PORT, HV_HYPERCALL_PORT in hyperv.h); the debug-exit
	 * device takes 4 ports from its base.
	 */
	if (cfg->hyperv.enabled && cfg->debug_exit_port &&
	    cfg->debug_exit_port <= 0xe8 && cfg->debug_exit_port + 3 >= 0xe4)
		return config_err(
			err, errlen,
			"debug-exit port %#x: ports 0xe4-0xe8 belong to the Hyper-V hypercall page (use e.g. 0xf4)",
			cfg->debug_exit_port);
	return validate_hyperv(&cfg->hyperv, err, errlen);
}
