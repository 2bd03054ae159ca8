// SPDX-License-Identifier: MIT
/*
 * config_xml_domain: <domain> and everything in it except <devices>:
 * identity, memory, vCPUs, <os>, <features> (with <hyperv>), <clock>,
 * lifecycle actions and our <metadata><hvkvm:config>.
 *
 * Semantics follow libvirt's domain XML documentation. Notable choices:
 * - <features> present: ACPI/APIC are on only if listed (libvirt); absent:
 *   hvkvm's defaults (both on) apply.
 * - <hyperv> children we do not implement are accepted with state='off'
 *   and are an error naming them with state='on'.
 * - memory and vcpu values are range-checked here (with a line number) and
 *   again by config_validate() after command-line flags.
 */
#include "config_xml.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <uuid/uuid.h>

static const char *const no_attrs[] = { NULL };

/* ---- identity and resources ---------------------------------------------- */

static int xml_name(struct xml_ctx *x, xmlNode *n)
{
	const char *s;
	size_t i;
	int ret;

	ret = xml_check_attrs(x, n, no_attrs) ?: xml_text(x, n, &s);
	if (ret)
		return ret;
	if (!*s)
		return xml_fail(x, n, "empty name");
	if (strlen(s) >= CONFIG_NAME_MAX)
		return xml_fail(x, n, "name longer than %d characters",
				CONFIG_NAME_MAX - 1);
	for (i = 0; s[i]; i++)
		if (s[i] == '/' || (unsigned char)s[i] < 0x20)
			return xml_fail(x, n,
					"'/' or control character in name");
	config_copy(x->cfg->name, sizeof(x->cfg->name), s);
	return 0;
}

static int xml_uuid(struct xml_ctx *x, xmlNode *n)
{
	char canon[37];
	const char *s;
	int ret, i;

	ret = xml_check_attrs(x, n, no_attrs) ?: xml_text(x, n, &s);
	if (ret)
		return ret;
	/* libvirt also takes the 32 hex digits without dashes. */
	if (strlen(s) == 32 && strspn(s, "0123456789abcdefABCDEF") == 32) {
		for (i = 0; i < 32; i++) {
			int o = i + (i >= 8) + (i >= 12) + (i >= 16) +
				(i >= 20);
			canon[o] = s[i];
		}
		canon[8] = canon[13] = canon[18] = canon[23] = '-';
		canon[36] = '\0';
		s = canon;
	}
	if (strlen(s) != 36 || uuid_parse(s, x->cfg->uuid))
		return xml_fail(x, n, "'%.40s' is not a UUID", s);
	x->cfg->uuid_set = true;
	return 0;
}

static int xml_size(struct xml_ctx *x, xmlNode *n, uint64_t *out)
{
	static const char *const attrs[] = { "unit", NULL };
	const char *num, *unit;
	int ret;

	ret = xml_check_attrs(x, n, attrs) ?: xml_text(x, n, &num);
	if (ret)
		return ret;
	unit = xml_attr(x, n, "unit");
	ret = config_scale_size(num, unit, KiB, out);
	if (ret == -ERANGE)
		return xml_fail(x, n, "'%.32s' %s is too large", num,
				unit ? unit : "KiB");
	if (ret)
		return xml_fail(x, n, "'%.32s' with unit='%.16s' is not a size",
				num, unit ? unit : "KiB");
	if (*out < CONFIG_MIN_MEMORY || *out > CONFIG_MAX_MEMORY)
		return xml_fail(x, n, "%llu bytes is outside 1 MiB..1 TiB",
				(unsigned long long)*out);
	if (!IS_ALIGNED(*out, 4 * KiB))
		return xml_fail(x, n, "%llu bytes is not a multiple of 4 KiB",
				(unsigned long long)*out);
	return 0;
}

static int xml_memory(struct xml_ctx *x, xmlNode *n)
{
	return xml_size(x, n, &x->cfg->memory);
}

static int xml_current_memory(struct xml_ctx *x, xmlNode *n)
{
	return xml_size(x, n, &x->cfg->current_memory);
}

static int xml_vcpu(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "placement", NULL };
	static const char *const placements[] = { "static", "auto", NULL };
	const char *s;
	uint64_t v;
	int ret, p;

	ret = xml_check_attrs(x, n, attrs)			     ?:
		      xml_enum(x, n, "placement", placements, 0, &p) ?:
		      xml_text(x, n, &s);
	if (ret)
		return ret;
	if (config_parse_num(s, UINT_MAX, false, &v))
		return xml_fail(x, n, "'%.32s' is not a vCPU count", s);
	if (v < 1 || v > CONFIG_MAX_VCPUS)
		return xml_fail(x, n, "%llu vCPUs: hvkvm supports 1..%d",
				(unsigned long long)v, CONFIG_MAX_VCPUS);
	x->cfg->vcpus = (unsigned int)v;
	return 0;
}

static int xml_action(struct xml_ctx *x, xmlNode *n, enum config_action *a)
{
	static const char *const actions[] = { "destroy", "restart", "preserve",
					       NULL };
	const char *s;
	int i, ret;

	ret = xml_check_attrs(x, n, no_attrs) ?: xml_text(x, n, &s);
	if (ret)
		return ret;
	for (i = 0; actions[i]; i++) {
		if (!strcmp(s, actions[i])) {
			*a = (enum config_action)i;
			return 0;
		}
	}
	return xml_fail(
		x, n, "'%.32s' not supported (destroy, restart, preserve)", s);
}

static int xml_on_poweroff(struct xml_ctx *x, xmlNode *n)
{
	return xml_action(x, n, &x->cfg->on_poweroff);
}

static int xml_on_reboot(struct xml_ctx *x, xmlNode *n)
{
	return xml_action(x, n, &x->cfg->on_reboot);
}

static int xml_on_crash(struct xml_ctx *x, xmlNode *n)
{
	return xml_action(x, n, &x->cfg->on_crash);
}

/* ---- <os> ---------------------------------------------------------------- */

static int xml_os_type(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "arch", "machine", NULL };
	static const char *const arches[] = { "x86_64", NULL };
	const char *s, *machine;
	int ret, arch;

	ret = xml_check_attrs(x, n, attrs)		       ?:
		      xml_enum(x, n, "arch", arches, 0, &arch) ?:
		      xml_text(x, n, &s);
	if (ret)
		return ret;
	if (strcmp(s, "hvm"))
		return xml_fail(x, n, "'%.32s' not supported (only 'hvm')", s);
	machine = xml_attr(x, n, "machine");
	if (machine && strcmp(machine, "pc") &&
	    strncmp(machine, "pc-i440fx-", 10))
		return xml_fail(
			x, n,
			"machine='%.32s' not supported: hvkvm is an i440FX/PIIX4 (Hyper-V Gen1) machine, use 'pc'",
			machine);
	return 0;
}

static int xml_os_path(struct xml_ctx *x, xmlNode *n, char **dst,
		       bool may_be_empty)
{
	const char *s;
	int ret;

	ret = xml_check_attrs(x, n, no_attrs) ?: xml_text(x, n, &s);
	if (ret)
		return ret;
	if (!*s && !may_be_empty)
		return xml_fail(x, n, "empty path");
	if (config_set_str(dst, s))
		return xml_fail(x, n, "out of memory");
	return 0;
}

static int xml_os_loader(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "readonly", "type", NULL };
	static const char *const yesno[] = { "yes", "no", NULL };
	static const char *const types[] = { "rom", NULL };
	const char *s;
	int ret, v;

	ret = xml_check_attrs(x, n, attrs)		       ?:
		      xml_enum(x, n, "readonly", yesno, 0, &v) ?:
		      xml_enum(x, n, "type", types, 0, &v)     ?:
		      xml_text(x, n, &s);
	if (ret)
		return ret;
	if (!*s)
		return xml_fail(x, n, "empty path");
	if (config_set_str(&x->cfg->loader, s))
		return xml_fail(x, n, "out of memory");
	return 0;
}

static int xml_os_kernel(struct xml_ctx *x, xmlNode *n)
{
	return xml_os_path(x, n, &x->cfg->kernel, false);
}

static int xml_os_initrd(struct xml_ctx *x, xmlNode *n)
{
	return xml_os_path(x, n, &x->cfg->initrd, false);
}

static int xml_os_cmdline(struct xml_ctx *x, xmlNode *n)
{
	return xml_os_path(x, n, &x->cfg->cmdline, true);
}

/* The BIOS boot order, in document order; network has no boot ROM yet. */
static int xml_os_boot(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "dev", NULL };
	static const char *const devs[] = { "hd", "cdrom", "network", NULL };
	int dev, ret;

	ret = xml_check_attrs(x, n, attrs)		    ?:
		      xml_enum(x, n, "dev", devs, -1, &dev) ?:
		      xml_walk(x, n, NULL);
	if (ret)
		return ret;
	ret = config_boot_add(x->cfg->boot, &x->cfg->nr_boot,
			      (enum config_boot_dev)dev);
	if (ret == -EEXIST)
		return xml_fail(x, n, "dev='%s' given twice", devs[dev]);
	if (ret)
		return xml_fail(x, n, "more than %d boot devices",
				CONFIG_MAX_BOOT);
	return 0;
}

/* <bios rebootTimeout='MS'/>: -1 = never reboot after a failed boot. */
static int xml_os_bios(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "rebootTimeout", "useserial",
					     NULL };
	static const char *const yesno[] = { "yes", "no", NULL };
	const char *s;
	uint64_t v;
	int ret, serial;

	ret = xml_check_attrs(x, n, attrs)			     ?:
		      xml_enum(x, n, "useserial", yesno, 0, &serial) ?:
		      xml_walk(x, n, NULL);
	if (ret)
		return ret;
	s = xml_attr(x, n, "rebootTimeout");
	if (!s)
		return 0;
	if (!strcmp(s, "-1")) {
		x->cfg->reboot_timeout = -1;
		return 0;
	}
	if (config_parse_num(s, 0xffff, false, &v))
		return xml_fail(
			x, n,
			"rebootTimeout='%.32s': expected -1..65535 (milliseconds)",
			s);
	x->cfg->reboot_timeout = (int32_t)v;
	return 0;
}

/* <smbios mode='sysinfo'/> uses <sysinfo>; 'emulate' (default) ours. */
static int xml_os_smbios(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "mode", NULL };
	static const char *const modes[] = { "emulate", "sysinfo", "host",
					     NULL };
	int ret, mode;

	ret = xml_check_attrs(x, n, attrs)		       ?:
		      xml_enum(x, n, "mode", modes, -1, &mode) ?:
		      xml_walk(x, n, NULL);
	if (ret)
		return ret;
	if (mode == 2)
		return xml_fail(
			x, n,
			"mode='host' not supported: use 'sysinfo' or 'emulate'");
	x->cfg->smbios_sysinfo = mode == 1;
	return 0;
}

static const struct xml_handler os_tab[] = {
	{ "type", xml_os_type, false },
	{ "loader", xml_os_loader, false },
	{ "kernel", xml_os_kernel, false },
	{ "initrd", xml_os_initrd, false },
	{ "cmdline", xml_os_cmdline, false },
	{ "boot", xml_os_boot, true },
	{ "bios", xml_os_bios, false },
	{ "smbios", xml_os_smbios, false },
	{ NULL, NULL, false },
};

static int xml_os(struct xml_ctx *x, xmlNode *n)
{
	return xml_check_attrs(x, n, no_attrs) ?: xml_walk(x, n, os_tab);
}

/* ---- <features><hyperv> -------------------------------------------------- */

static bool *hv_flag(struct config_hyperv *hv, const char *name)
{
	if (!strcmp(name, "relaxed"))
		return &hv->relaxed;
	if (!strcmp(name, "vpindex"))
		return &hv->vpindex;
	if (!strcmp(name, "runtime"))
		return &hv->runtime;
	if (!strcmp(name, "synic"))
		return &hv->synic;
	if (!strcmp(name, "reset"))
		return &hv->reset;
	if (!strcmp(name, "frequencies"))
		return &hv->frequencies;
	return NULL;
}

static int xml_hv_simple(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "state", NULL };
	bool *flag = hv_flag(&x->cfg->hyperv, (const char *)n->name);
	bool on;
	int ret;

	ret = xml_check_attrs(x, n, attrs) ?:
		      xml_state(x, n, &on) ?:
					     xml_walk(x, n, NULL);
	if (!ret && flag)
		*flag = on;
	return ret;
}

static int xml_hv_unimplemented(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "state", NULL };
	const xmlNode *c;
	bool on;
	int ret;

	ret = xml_check_attrs(x, n, attrs) ?: xml_state(x, n, &on);
	if (ret)
		return ret;
	for (c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			on = true;
	if (on)
		return xml_fail(x, n, "not implemented by hvkvm");
	return 0;
}

static int xml_hv_spinlocks(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "state", "retries", NULL };
	struct config_hyperv *hv = &x->cfg->hyperv;
	const char *s;
	uint64_t v;
	bool on;
	int ret;

	ret = xml_check_attrs(x, n, attrs) ?:
		      xml_state(x, n, &on) ?:
					     xml_walk(x, n, NULL);
	if (ret)
		return ret;
	hv->spinlocks = on;
	if (!on)
		return 0;
	s = xml_attr(x, n, "retries");
	if (!s)
		return xml_fail(x, n, "state='on' needs retries=");
	if (config_parse_num(s, UINT32_MAX, false, &v))
		return xml_fail(x, n, "retries='%.32s' is not a 32-bit number",
				s);
	if (v < CONFIG_SPINLOCK_MIN)
		return xml_fail(x, n, "retries=%llu is below 4095",
				(unsigned long long)v);
	hv->spinlock_retries = (uint32_t)v;
	return 0;
}

static int xml_hv_vendor_id(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "state", "value", NULL };
	struct config_hyperv *hv = &x->cfg->hyperv;
	const char *s;
	bool on;
	int ret;

	ret = xml_check_attrs(x, n, attrs) ?:
		      xml_state(x, n, &on) ?:
					     xml_walk(x, n, NULL);
	if (ret)
		return ret;
	hv->vendor_id_set = on;
	if (!on)
		return 0;
	s = xml_attr(x, n, "value");
	if (!s || !*s)
		return xml_fail(x, n, "state='on' needs value=");
	if (strlen(s) > 12 || strchr(s, ','))
		return xml_fail(x, n,
				"value='%.32s': at most 12 characters, no ','",
				s);
	config_copy(hv->vendor_id, sizeof(hv->vendor_id), s);
	return 0;
}

static int xml_hv_stimer_direct(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "state", NULL };

	return xml_check_attrs(x, n, attrs)			      ?:
		       xml_state(x, n, &x->cfg->hyperv.stimer_direct) ?:
		       xml_walk(x, n, NULL);
}

static const struct xml_handler stimer_tab[] = {
	{ "direct", xml_hv_stimer_direct, false },
	{ NULL, NULL, false },
};

static int xml_hv_stimer(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "state", NULL };

	return xml_check_attrs(x, n, attrs)		       ?:
		       xml_state(x, n, &x->cfg->hyperv.stimer) ?:
		       xml_walk(x, n, stimer_tab);
}

static const struct xml_handler hyperv_tab[] = {
	{ "relaxed", xml_hv_simple, false },
	{ "vpindex", xml_hv_simple, false },
	{ "runtime", xml_hv_simple, false },
	{ "synic", xml_hv_simple, false },
	{ "reset", xml_hv_simple, false },
	{ "frequencies", xml_hv_simple, false },
	{ "stimer", xml_hv_stimer, false },
	{ "spinlocks", xml_hv_spinlocks, false },
	{ "vendor_id", xml_hv_vendor_id, false },
	{ "vapic", xml_hv_unimplemented, false },
	{ "tlbflush", xml_hv_unimplemented, false },
	{ "evmcs", xml_hv_unimplemented, false },
	{ "ipi", xml_hv_unimplemented, false },
	{ "avic", xml_hv_unimplemented, false },
	{ "reenlightenment", xml_hv_unimplemented, false },
	{ "emsr_bitmap", xml_hv_unimplemented, false },
	{ "xmm_input", xml_hv_unimplemented, false },
	{ NULL, NULL, false },
};

static int xml_hyperv(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "mode", NULL };
	static const char *const modes[] = { "custom", "passthrough", NULL };
	int ret, mode;

	ret = xml_check_attrs(x, n, attrs) ?:
		      xml_enum(x, n, "mode", modes, 0, &mode);
	if (ret)
		return ret;
	if (mode == 1) {
		/* libvirt: passthrough takes no children. */
		ret = xml_walk(x, n, NULL);
		if (ret)
			return ret;
		x->cfg->hyperv.passthrough = true;
		config_hyperv_all(&x->cfg->hyperv);
		return 0;
	}
	return xml_walk(x, n, hyperv_tab);
}

/* ---- <features> ---------------------------------------------------------- */

static int xml_feature_flag(struct xml_ctx *x, xmlNode *n)
{
	int ret = xml_check_attrs(x, n, no_attrs) ?: xml_walk(x, n, NULL);

	if (ret)
		return ret;
	if (!strcmp((const char *)n->name, "acpi"))
		x->cfg->acpi = true;
	else if (!strcmp((const char *)n->name, "apic"))
		x->cfg->apic = true;
	return 0;
}

/* VMware's backdoor port: nothing to do when it is off. */
static int xml_vmport(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "state", NULL };
	bool on;
	int ret;

	ret = xml_check_attrs(x, n, attrs) ?:
		      xml_state(x, n, &on) ?:
					     xml_walk(x, n, NULL);
	if (!ret && on)
		return xml_fail(x, n, "state='on' not supported");
	return ret;
}

static const struct xml_handler features_tab[] = {
	{ "acpi", xml_feature_flag, false },
	{ "apic", xml_feature_flag, false },
	{ "pae", xml_feature_flag, false },
	{ "hyperv", xml_hyperv, false },
	{ "vmport", xml_vmport, false },
	{ NULL, NULL, false },
};

static int xml_features(struct xml_ctx *x, xmlNode *n)
{
	int ret = xml_check_attrs(x, n, no_attrs);

	if (ret)
		return ret;
	/* libvirt: with <features>, only what is listed is on. */
	x->cfg->acpi = false;
	x->cfg->apic = false;
	return xml_walk(x, n, features_tab);
}

/* ---- repeatable elements that are unique by an attribute ----------------- */

/*
 * An earlier sibling of @n with the same element name and the same value of
 * @attr, or NULL. The earlier ones were accepted, so they are few (one per
 * valid value): the scan stays short.
 */
static const xmlNode *xml_prev_same(const xmlNode *n, const char *attr)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)attr), *w;
	const xmlNode *p;
	bool same;

	if (!v)
		return NULL;
	for (p = n->prev; p; p = p->prev) {
		if (p->type != XML_ELEMENT_NODE || p->ns != n->ns ||
		    strcmp((const char *)p->name, (const char *)n->name))
			continue;
		w = xmlGetNoNsProp(p, (const xmlChar *)attr);
		same = w && !strcmp((const char *)v, (const char *)w);
		xmlFree(w);
		if (same)
			break;
	}
	xmlFree(v);
	return p;
}

static int xml_unique_by(struct xml_ctx *x, xmlNode *n, const char *attr,
			 const char *value)
{
	const xmlNode *p = xml_prev_same(n, attr);

	if (p)
		return xml_fail(x, n,
				"%s='%.32s' given twice (first on line %ld)",
				attr, value, xmlGetLineNo(p));
	return 0;
}

/* ---- <clock> ------------------------------------------------------------- */

enum timer_kind {
	TIMER_RTC,
	TIMER_PIT,
	TIMER_HPET,
	TIMER_KVMCLOCK,
	TIMER_HYPERVCLOCK
};

static int xml_timer(struct xml_ctx *x, xmlNode *n)
{
	static const char *const names[] = { "rtc",	 "pit",		"hpet",
					     "kvmclock", "hypervclock", NULL };
	static const char *const attrs_legacy[] = { "name", "present",
						    "tickpolicy", "track",
						    NULL };
	static const char *const attrs_pv[] = { "name", "present", NULL };
	static const char *const yesno[] = { "no", "yes", NULL };
	int ret, kind, present;

	ret = xml_enum(x, n, "name", names, -1, &kind) ?:
		      xml_unique_by(x, n, "name", names[kind]);
	if (ret)
		return ret;
	/* present= absent: the hypervisor's default (what hvkvm has). */
	present = kind <= TIMER_PIT || kind == TIMER_HYPERVCLOCK;
	ret = xml_check_attrs(x, n, kind <= TIMER_PIT ? attrs_legacy : attrs_pv) ?:
		      xml_enum(x, n, "present", yesno, present, &present) ?:
		      xml_walk(x, n, NULL);
	if (ret)
		return ret;
	switch (kind) {
	case TIMER_RTC:
	case TIMER_PIT:
		if (!present)
			return xml_fail(
				x, n,
				"the %s is always present (present='no' not supported)",
				names[kind]);
		return 0;
	case TIMER_HPET:
	case TIMER_KVMCLOCK:
		if (present)
			return xml_fail(x, n,
					"hvkvm has no %s (use present='no')",
					names[kind]);
		return 0;
	default:
		x->cfg->hyperv.hypervclock = present;
		return 0;
	}
}

static const struct xml_handler clock_tab[] = {
	{ "timer", xml_timer, true },
	{ NULL, NULL, false },
};

static int xml_clock(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "offset", NULL };
	static const char *const offsets[] = { "utc", "localtime", NULL };
	int ret, offset;

	ret = xml_check_attrs(x, n, attrs) ?:
		      xml_enum(x, n, "offset", offsets, 0, &offset);
	if (ret)
		return ret;
	x->cfg->clock_utc = offset == 0;
	return xml_walk(x, n, clock_tab);
}

/* ---- <metadata><hvkvm:config> -------------------------------------------- */

static bool ns_is_ours(const xmlNode *n)
{
	return n->ns && n->ns->href &&
	       !strcmp((const char *)n->ns->href, HVKVM_XML_NS);
}

static int xml_debug_exit(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "port", NULL };
	const char *s;
	uint64_t v;
	int ret;

	ret = xml_check_attrs(x, n, attrs)	     ?:
		      xml_req_attr(x, n, "port", &s) ?:
						       xml_walk(x, n, NULL);
	if (ret)
		return ret;
	if (config_parse_num(s, 0xffff, true, &v) || !v)
		return xml_fail(x, n,
				"port='%.32s' is not an I/O port 1..0xffff", s);
	x->cfg->debug_exit_port = (uint16_t)v;
	return 0;
}

/* <memoryBacking><nosharepages/>: libvirt's "no KSM", also our default. */
static bool xml_has_nosharepages(xmlNode *root)
{
	xmlNode *c, *d;

	for (c = root->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !c->ns &&
		    !strcmp((const char *)c->name, "memoryBacking"))
			for (d = c->children; d; d = d->next)
				if (d->type == XML_ELEMENT_NODE && !d->ns &&
				    !strcmp((const char *)d->name,
					    "nosharepages"))
					return true;
	return false;
}

/* <hvkvm:mem-merge state='on'/>: KSM may merge guest RAM (--mem-merge). */
static int xml_mem_merge(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "state", NULL };
	bool on;
	int ret;

	ret = xml_check_attrs(x, n, attrs) ?:
		      xml_state(x, n, &on) ?:
					     xml_walk(x, n, NULL);
	if (ret)
		return ret;
	if (on && xml_has_nosharepages(xmlDocGetRootElement(n->doc)))
		return xml_fail(
			x, n,
			"state='on' contradicts <memoryBacking><nosharepages/>");
	x->cfg->mem_merge = on;
	return 0;
}

static int xml_hvkvm_config(struct xml_ctx *x, xmlNode *n)
{
	static const char *const names[] = { "debug-exit", "mem-merge", NULL };
	const xmlNode *first[2] = { NULL, NULL };
	xmlNode *c;
	int ret, i;

	ret = xml_check_attrs(x, n, no_attrs);
	if (ret)
		return ret;
	for (c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		/* Our children may be prefixed or not. */
		for (i = 0; names[i]; i++)
			if (!strcmp((const char *)c->name, names[i]))
				break;
		if ((c->ns && !ns_is_ours(c)) || !names[i])
			return xml_fail(x, c, "element not supported");
		if (first[i])
			return xml_fail(
				x, c, "element given twice (first on line %ld)",
				xmlGetLineNo(first[i]));
		first[i] = c;
		ret = i ? xml_mem_merge(x, c) : xml_debug_exit(x, c);
		if (ret)
			return ret;
	}
	/* Stray text and the like, as everywhere else. */
	for (c = n->children; c; c = c->next)
		if ((c->type == XML_TEXT_NODE) && c->content &&
		    strspn((const char *)c->content, " \t\r\n") !=
			    strlen((const char *)c->content))
			return xml_fail(x, n, "unexpected text");
	return 0;
}

/* Other namespaces belong to other tools: ignored. */
static int xml_metadata(struct xml_ctx *x, xmlNode *n)
{
	const xmlNode *first = NULL;
	xmlNode *c;
	int ret;

	ret = xml_check_attrs(x, n, no_attrs);
	if (ret)
		return ret;
	for (c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!c->ns)
			return xml_fail(
				x, c,
				"metadata elements need a namespace (hvkvm's is %s)",
				HVKVM_XML_NS);
		if (!ns_is_ours(c))
			continue;
		if (strcmp((const char *)c->name, "config"))
			return xml_fail(x, c, "element not supported");
		if (first)
			return xml_fail(
				x, c, "element given twice (first on line %ld)",
				xmlGetLineNo(first));
		first = c;
		ret = xml_hvkvm_config(x, c);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- <sysinfo type='smbios'> ---------------------------------------------- */

struct sysinfo_name {
	const char *name;
	int field; /* enum config_smbios_field, -1 = the UUID */
};

static const struct sysinfo_name sysinfo_bios[] = {
	{ "vendor", CONFIG_SMBIOS_BIOS_VENDOR },
	{ "version", CONFIG_SMBIOS_BIOS_VERSION },
	{ "date", CONFIG_SMBIOS_BIOS_DATE },
	{ NULL, 0 },
};

static const struct sysinfo_name sysinfo_system[] = {
	{ "manufacturer", CONFIG_SMBIOS_SYS_MANUFACTURER },
	{ "product", CONFIG_SMBIOS_SYS_PRODUCT },
	{ "version", CONFIG_SMBIOS_SYS_VERSION },
	{ "serial", CONFIG_SMBIOS_SYS_SERIAL },
	{ "sku", CONFIG_SMBIOS_SYS_SKU },
	{ "family", CONFIG_SMBIOS_SYS_FAMILY },
	{ "uuid", -1 },
	{ NULL, 0 },
};

/* One <entry name='...'>text</entry> of the block @names describes. */
static int xml_sysinfo_entry(struct xml_ctx *x, xmlNode *n,
			     const struct sysinfo_name *names)
{
	static const char *const attrs[] = { "name", NULL };
	const char *name, *s;
	uint8_t uuid[16];
	size_t i;
	int ret;

	ret = xml_check_attrs(x, n, attrs)		?:
		      xml_req_attr(x, n, "name", &name) ?:
							  xml_text(x, n, &s);
	if (ret)
		return ret;
	for (; names->name && strcmp(names->name, name); names++)
		;
	if (!names->name)
		return xml_fail(x, n, "name='%.32s' not supported", name);
	ret = xml_unique_by(x, n, "name", name);
	if (ret)
		return ret;
	if (names->field < 0) {
		if (strlen(s) != 36 || uuid_parse(s, uuid))
			return xml_fail(x, n, "'%.40s' is not a UUID", s);
		if (x->cfg->uuid_set && memcmp(uuid, x->cfg->uuid, 16))
			return xml_fail(x, n, "uuid differs from <uuid>");
		memcpy(x->cfg->uuid, uuid, 16);
		x->cfg->uuid_set = true;
		return 0;
	}
	if (strlen(s) > CONFIG_SMBIOS_STRING_MAX)
		return xml_fail(x, n, "longer than %d characters",
				CONFIG_SMBIOS_STRING_MAX);
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20)
			return xml_fail(x, n, "control character in value");
	if (config_set_str(&x->cfg->smbios[names->field], s))
		return xml_fail(x, n, "out of memory");
	return 0;
}

static int xml_bios_entry(struct xml_ctx *x, xmlNode *n)
{
	return xml_sysinfo_entry(x, n, sysinfo_bios);
}

static int xml_system_entry(struct xml_ctx *x, xmlNode *n)
{
	return xml_sysinfo_entry(x, n, sysinfo_system);
}

static const struct xml_handler bios_entry_tab[] = {
	{ "entry", xml_bios_entry, true },
	{ NULL, NULL, false },
};

static const struct xml_handler system_entry_tab[] = {
	{ "entry", xml_system_entry, true },
	{ NULL, NULL, false },
};

static int xml_sysinfo_bios(struct xml_ctx *x, xmlNode *n)
{
	return xml_check_attrs(x, n, no_attrs) ?:
						 xml_walk(x, n, bios_entry_tab);
}

static int xml_sysinfo_system(struct xml_ctx *x, xmlNode *n)
{
	return xml_check_attrs(x, n, no_attrs) ?:
						 xml_walk(x, n, system_entry_tab);
}

static const struct xml_handler sysinfo_tab[] = {
	{ "bios", xml_sysinfo_bios, false },
	{ "system", xml_sysinfo_system, false },
	{ NULL, NULL, false },
};

static int xml_sysinfo(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "type", NULL };
	const char *type;
	int ret;

	ret = xml_check_attrs(x, n, attrs) ?: xml_req_attr(x, n, "type", &type);
	if (ret)
		return ret;
	if (strcmp(type, "smbios"))
		return xml_fail(
			x, n, "type='%.32s' not supported: use 'smbios'", type);
	return xml_walk(x, n, sysinfo_tab);
}

/* ---- <memoryBacking> ----------------------------------------------------- */

static int xml_nosharepages(struct xml_ctx *x, xmlNode *n)
{
	return xml_check_attrs(x, n, no_attrs) ?: xml_walk(x, n, NULL);
}

static const struct xml_handler memory_backing_tab[] = {
	{ "nosharepages", xml_nosharepages, false },
	{ NULL, NULL, false },
};

static int xml_memory_backing(struct xml_ctx *x, xmlNode *n)
{
	return xml_check_attrs(x, n, no_attrs) ?:
		       xml_walk(x, n, memory_backing_tab);
}

/* ---- <domain> ------------------------------------------------------------ */

static const struct xml_handler domain_tab[] = {
	{ "name", xml_name, false },
	{ "uuid", xml_uuid, false },
	{ "title", NULL, false },
	{ "description", NULL, false },
	{ "metadata", xml_metadata, false },
	{ "memory", xml_memory, false },
	{ "currentMemory", xml_current_memory, false },
	{ "memoryBacking", xml_memory_backing, false },
	{ "vcpu", xml_vcpu, false },
	{ "os", xml_os, false },
	{ "sysinfo", xml_sysinfo, false },
	{ "features", xml_features, false },
	{ "clock", xml_clock, false },
	{ "on_poweroff", xml_on_poweroff, false },
	{ "on_reboot", xml_on_reboot, false },
	{ "on_crash", xml_on_crash, false },
	{ "devices", xml_devices, false },
	{ NULL, NULL, false },
};

int xml_domain(struct xml_ctx *x, xmlNode *root)
{
	static const char *const attrs[] = { "type", "id", NULL };
	const char *type;
	int ret;

	if (!root)
		return config_err(x->err, x->errlen, "%s:1: no root element",
				  x->name);
	if (root->ns || strcmp((const char *)root->name, "domain"))
		return xml_fail(x, root, "the root element must be <domain>");
	ret = xml_check_attrs(x, root, attrs) ?:
		      xml_req_attr(x, root, "type", &type);
	if (ret)
		return ret;
	if (strcmp(type, "kvm"))
		return xml_fail(
			x, root,
			"type='%.32s' not supported: hvkvm runs on KVM, use type='kvm'",
			type);
	ret = xml_walk(x, root, domain_tab);
	if (ret)
		return ret;
	config_hyperv_update(&x->cfg->hyperv);
	return 0;
}
