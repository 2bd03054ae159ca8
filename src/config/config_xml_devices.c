// SPDX-License-Identifier: MIT
/*
 * config_xml_devices: <devices>. What a Hyper-V Gen1 guest has:
 * COM1 (<serial>/<console>), IDE and synthetic SCSI disks (<disk>), DEC
 * 21140 and synthetic network adapters on TAP devices (<interface
 * type='ethernet'>), the fixed controllers, the Hyper-V crash MSRs
 * (<panic model='hyperv'/>), PS/2 input. Anything else is an error naming
 * the element. <address> and <alias> children are accepted and ignored
 * (hvkvm places devices itself), except a disk's <address type='drive'>:
 * it places a SCSI disk (controller, target, unit = LUN) and must agree
 * with an IDE disk's name (bus = channel, unit = master/slave).
 */
#include "config_xml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const no_attrs[] = { NULL };

/* Children every device may carry from `virsh dumpxml`. */
#define PLACEMENT_HANDLERS           \
	{ "address", NULL, false },  \
	{                            \
		"alias", NULL, false \
	}

static const struct xml_handler placement_tab[] = {
	PLACEMENT_HANDLERS,
	{ NULL, NULL, false },
};

/* ---- <serial>, <console> ------------------------------------------------- */

struct xml_chardev {
	enum config_serial type;
	const char *path;
	bool console_serial; /* <console><target type='serial'> */
};

static int xml_chardev_source(struct xml_ctx *x, xmlNode *n,
			      struct xml_chardev *cd)
{
	static const char *const attrs[] = { "path", "append", NULL };
	static const char *const onoff[] = { "off", "on", NULL };
	int ret, append;

	ret = xml_check_attrs(x, n, attrs)			  ?:
		      xml_enum(x, n, "append", onoff, 1, &append) ?:
		      xml_walk(x, n, NULL);
	if (ret)
		return ret;
	if (cd->type == CONFIG_SERIAL_FILE && !append)
		return xml_fail(
			x, n,
			"append='off' not supported (the file is appended to)");
	cd->path = xml_attr(x, n, "path");
	return 0;
}

static int xml_chardev_target(struct xml_ctx *x, xmlNode *n,
			      struct xml_chardev *cd, bool console)
{
	static const char *const attrs[] = { "type", "port", NULL };
	static const char *const serial_types[] = { "isa-serial", NULL };
	static const char *const console_types[] = { "serial", NULL };
	static const char *const model_attrs[] = { "name", NULL };
	static const char *const models[] = { "isa-serial", NULL };
	const char *port;
	xmlNode *c;
	int ret, v;

	ret = xml_check_attrs(x, n, attrs) ?:
					     xml_enum(x, n, "type",
				      console ? console_types : serial_types, 0, &v);
	if (ret)
		return ret;
	port = xml_attr(x, n, "port");
	if (port && strcmp(port, "0"))
		return xml_fail(x, n,
				"port='%.16s': hvkvm has one serial port (0)",
				port);
	for (c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || c->ns ||
		    strcmp((const char *)c->name, "model"))
			continue;
		ret = xml_check_attrs(x, c, model_attrs) ?:
			      xml_enum(x, c, "name", models, 0, &v);
		if (ret)
			return ret;
	}
	return 0;
}

static int xml_chardev(struct xml_ctx *x, xmlNode *n, struct xml_chardev *cd,
		       bool console)
{
	static const char *const attrs[] = { "type", NULL };
	static const char *const types[] = { "stdio", "file", "pty", "null",
					     NULL };
	static const struct xml_handler target_tab[] = {
		{ "model", NULL, false },
		{ NULL, NULL, false },
	};
	static const struct xml_handler tab[] = {
		{ "source", NULL, false },
		{ "target", NULL, false },
		PLACEMENT_HANDLERS,
		{ NULL, NULL, false },
	};
	xmlNode *c;
	int ret, type;

	ret = xml_check_attrs(x, n, attrs)		       ?:
		      xml_enum(x, n, "type", types, -1, &type) ?:
		      xml_walk(x, n, tab);
	if (ret)
		return ret;
	/* enum config_serial has the same order as types[]. */
	cd->type = (enum config_serial)type;
	for (c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!strcmp((const char *)c->name, "source"))
			ret = xml_chardev_source(x, c, cd);
		else if (!strcmp((const char *)c->name, "target"))
			ret = xml_chardev_target(x, c, cd, console) ?:
				      xml_walk(x, c, target_tab);
		if (ret)
			return ret;
	}
	if (cd->type == CONFIG_SERIAL_FILE && (!cd->path || !*cd->path))
		return xml_fail(x, n, "type='file' needs <source path='...'/>");
	return 0;
}

static int xml_apply_serial(struct xml_ctx *x, xmlNode *n,
			    const struct xml_chardev *cd)
{
	const char *path = cd->type == CONFIG_SERIAL_FILE ? cd->path : NULL;

	x->cfg->serial = cd->type;
	if (config_set_str(&x->cfg->serial_path, path))
		return xml_fail(x, n, "out of memory");
	return 0;
}

static int xml_serial(struct xml_ctx *x, xmlNode *n)
{
	struct xml_chardev cd = { 0 };
	int ret;

	if (x->serial_src == XML_SERIAL_SET)
		return xml_fail(x, n, "hvkvm has one serial port (COM1)");
	ret = xml_chardev(x, n, &cd, false);
	if (ret)
		return ret;
	x->serial_src = XML_SERIAL_SET;
	return xml_apply_serial(x, n, &cd);
}

/* libvirt mirrors serial port 0 as <console>: the same port, not another. */
static int xml_console(struct xml_ctx *x, xmlNode *n)
{
	struct xml_chardev cd = { 0 };
	int ret;

	if (x->serial_src == XML_SERIAL_CONSOLE)
		return xml_fail(x, n, "hvkvm has one console (COM1)");
	ret = xml_chardev(x, n, &cd, true);
	if (ret || x->serial_src == XML_SERIAL_SET)
		return ret;
	x->serial_src = XML_SERIAL_CONSOLE;
	return xml_apply_serial(x, n, &cd);
}

/* ---- <disk> -------------------------------------------------------------- */

static int xml_disk_driver(struct xml_ctx *x, xmlNode *n, struct config_disk *d)
{
	static const char *const attrs[] = { "name", "type", "cache", NULL };
	static const char *const names[] = { "qemu", NULL };
	static const char *const types[] = { "raw", "vpc", NULL };
	static const char *const caches[] = { "none", "writeback", NULL };
	int ret, v, type, cache;

	ret = xml_check_attrs(x, n, attrs)			 ?:
		      xml_enum(x, n, "name", names, 0, &v)	 ?:
		      xml_enum(x, n, "type", types, -1, &type)	 ?:
		      xml_enum(x, n, "cache", caches, 0, &cache) ?:
		      xml_walk(x, n, NULL);
	if (ret)
		return ret;
	d->format = type ? CONFIG_FORMAT_VHD : CONFIG_FORMAT_RAW;
	d->cache = cache ? CONFIG_CACHE_WRITEBACK : CONFIG_CACHE_NONE;
	return 0;
}

static int xml_disk_source(struct xml_ctx *x, xmlNode *n, struct config_disk *d,
			   bool block)
{
	static const char *const file_attrs[] = { "file", NULL };
	static const char *const dev_attrs[] = { "dev", NULL };
	const char *path;
	int ret;

	ret = xml_check_attrs(x, n, block ? dev_attrs : file_attrs)	?:
		      xml_req_attr(x, n, block ? "dev" : "file", &path) ?:
		      xml_walk(x, n, NULL);
	if (ret)
		return ret;
	if (!*path)
		return xml_fail(x, n, "empty path");
	if (config_set_str(&d->path, path))
		return xml_fail(x, n, "out of memory");
	return 0;
}

static int xml_disk_target(struct xml_ctx *x, xmlNode *n, struct config_disk *d)
{
	static const char *const attrs[] = { "dev", "bus", NULL };
	static const char *const buses[] = { "ide", "scsi", NULL };
	const char *dev;
	int ret, bus;

	ret = xml_check_attrs(x, n, attrs)	      ?:
		      xml_req_attr(x, n, "dev", &dev) ?:
							xml_walk(x, n, NULL);
	if (ret)
		return ret;
	if (config_target_index(dev) < 0)
		return xml_fail(
			x, n,
			"dev='%.16s' not supported (hda..hdd on IDE, sda.. on SCSI)",
			dev);
	/* libvirt: the bus defaults from the name's prefix. */
	ret = xml_enum(x, n, "bus", buses, config_target_bus(dev), &bus);
	if (ret)
		return ret;
	if (bus != config_target_bus(dev))
		return xml_fail(x, n, "dev='%s' does not match bus='%s'", dev,
				buses[bus]);
	if (bus == CONFIG_DISK_IDE &&
	    config_target_index(dev) >= CONFIG_IDE_SLOTS)
		return xml_fail(x, n, "dev='%s': IDE has hda..hdd", dev);
	if (bus == CONFIG_DISK_SCSI &&
	    config_target_index(dev) >= CONFIG_SCSI_SLOTS)
		return xml_fail(x, n, "dev='%s': SCSI targets end at sdbl",
				dev);
	d->bus = (enum config_disk_bus)bus;
	config_copy(d->target, sizeof(d->target), dev);
	return 0;
}

struct xml_drive_addr {
	xmlNode *n; /* NULL: no <address> */
	unsigned int controller, bus, target, unit;
};

static int xml_disk_address(struct xml_ctx *x, xmlNode *n,
			    struct xml_drive_addr *a)
{
	static const char *const attrs[] = { "type",   "controller", "bus",
					     "target", "unit",	     NULL };
	static const char *const types[] = { "drive", NULL };
	static const char *const names[] = { "controller", "bus", "target",
					     "unit" };
	unsigned int *out[] = { &a->controller, &a->bus, &a->target, &a->unit };
	const char *v;
	uint64_t num;
	unsigned int i;
	int ret, type;

	ret = xml_check_attrs(x, n, attrs)		       ?:
		      xml_enum(x, n, "type", types, -1, &type) ?:
		      xml_walk(x, n, NULL);
	if (ret)
		return ret;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		v = xml_attr(x, n, names[i]);
		*out[i] = 0;
		if (!v)
			continue;
		if (config_parse_num(v, 255, false, &num))
			return xml_fail(x, n,
					"%s='%.16s' is not a number 0..255",
					names[i], v);
		*out[i] = (unsigned int)num;
	}
	a->n = n;
	return 0;
}

/* The disk's <address> against its bus, once <target> said which. */
static int xml_disk_place(struct xml_ctx *x, struct config_disk *d,
			  const struct xml_drive_addr *a)
{
	int idx = config_target_index(d->target);

	if (!a->n || !d->target[0])
		return 0;
	if (d->bus == CONFIG_DISK_IDE) {
		if (a->controller || a->target || a->bus > 1 || a->unit > 1 ||
		    (int)(a->bus * 2 + a->unit) != idx)
			return xml_fail(
				x, a->n,
				"controller='%u' bus='%u' target='%u' unit='%u' is not where dev='%s' sits (IDE controller 0, bus %d, target 0, unit %d)",
				a->controller, a->bus, a->target, a->unit,
				d->target, idx / 2, idx % 2);
		return 0;
	}
	if (a->controller >= CONFIG_SCSI_CONTROLLERS || a->bus ||
	    a->target >= CONFIG_SCSI_TARGETS || a->unit >= CONFIG_SCSI_LUNS)
		return xml_fail(
			x, a->n,
			"controller='%u' bus='%u' target='%u' unit='%u': synthetic SCSI has controllers 0..%u, bus 0, targets 0..%u, units 0..%u",
			a->controller, a->bus, a->target, a->unit,
			CONFIG_SCSI_CONTROLLERS - 1, CONFIG_SCSI_TARGETS - 1,
			CONFIG_SCSI_LUNS - 1);
	d->addr_set = true;
	d->addr_controller = a->controller;
	d->addr_target = a->target;
	d->addr_lun = a->unit;
	return 0;
}

static int xml_disk_children(struct xml_ctx *x, xmlNode *n,
			     struct config_disk *d, bool block)
{
	struct xml_drive_addr addr = { 0 };
	static const struct xml_handler tab[] = {
		{ "driver", NULL, false }, { "source", NULL, false },
		{ "target", NULL, false }, { "readonly", NULL, false },
		PLACEMENT_HANDLERS,	   { NULL, NULL, false },
	};
	const char *name;
	xmlNode *c;
	int ret = xml_walk(x, n, tab);

	for (c = n->children; !ret && c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		name = (const char *)c->name;
		if (!strcmp(name, "driver"))
			ret = xml_disk_driver(x, c, d);
		else if (!strcmp(name, "source"))
			ret = xml_disk_source(x, c, d, block);
		else if (!strcmp(name, "target"))
			ret = xml_disk_target(x, c, d);
		else if (!strcmp(name, "address"))
			ret = xml_disk_address(x, c, &addr);
		else if (!strcmp(name, "readonly"))
			ret = xml_check_attrs(x, c, no_attrs) ?:
				      xml_walk(x, c, NULL);
		if (!ret && !strcmp(name, "readonly"))
			d->readonly = true;
	}
	return ret ?: xml_disk_place(x, d, &addr);
}

static int xml_disk(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "type", "device", NULL };
	static const char *const types[] = { "file", "block", NULL };
	static const char *const devices[] = { "disk", "cdrom", NULL };
	struct config_disk d = { 0 };
	char msg[CONFIG_ERR_MAX];
	int ret, type, device;

	ret = xml_check_attrs(x, n, attrs)			    ?:
		      xml_enum(x, n, "type", types, 0, &type)	    ?:
		      xml_enum(x, n, "device", devices, 0, &device) ?:
		      xml_disk_children(x, n, &d, type == 1);
	if (ret)
		goto out;
	ret = -EINVAL;
	if (!d.target[0]) {
		xml_fail(x, n, "<target dev='...'/> missing");
		goto out;
	}
	if (!d.path) {
		xml_fail(
			x, n,
			"<source %s='...'/> missing (empty drives are not supported)",
			type ? "dev" : "file");
		goto out;
	}
	if (device == 1) {
		d.media = CONFIG_MEDIA_CDROM;
		d.readonly = true;
	}
	ret = config_add_disk(x->cfg, &d, msg, sizeof(msg));
	if (ret)
		ret = xml_fail(x, n, "%s", msg);
out:
	free(d.path);
	return ret;
}

/* ---- <interface> --------------------------------------------------------- */

static int xml_if_target(struct xml_ctx *x, xmlNode *n, struct config_nic *nic)
{
	static const char *const attrs[] = { "dev", "managed", NULL };
	static const char *const managed[] = { "no", NULL };
	const char *dev;
	int ret, v;

	ret = xml_check_attrs(x, n, attrs)			?:
		      xml_enum(x, n, "managed", managed, 0, &v) ?:
		      xml_req_attr(x, n, "dev", &dev)		?:
		      xml_walk(x, n, NULL);
	if (ret)
		return ret;
	if (!*dev || strlen(dev) >= CONFIG_TAP_MAX || strchr(dev, '/'))
		return xml_fail(x, n, "dev='%.32s' is not a TAP interface name",
				dev);
	config_copy(nic->tap, sizeof(nic->tap), dev);
	return 0;
}

static int xml_if_mac(struct xml_ctx *x, xmlNode *n, struct config_nic *nic)
{
	static const char *const attrs[] = { "address", NULL };
	const char *mac;
	int ret;

	ret = xml_check_attrs(x, n, attrs)		  ?:
		      xml_req_attr(x, n, "address", &mac) ?:
							    xml_walk(x, n, NULL);
	if (ret)
		return ret;
	if (config_parse_mac(mac, nic->mac))
		return xml_fail(x, n, "address='%.32s' is not a MAC address",
				mac);
	if (nic->mac[0] & 1)
		return xml_fail(x, n, "address='%s' is a multicast MAC", mac);
	nic->mac_set = true;
	return 0;
}

static int xml_if_model(struct xml_ctx *x, xmlNode *n, struct config_nic *nic)
{
	static const char *const attrs[] = { "type", NULL };
	static const char *const models[] = { "netvsc", "tulip", "dec21140",
					      NULL };
	int ret, model;

	ret = xml_check_attrs(x, n, attrs)			 ?:
		      xml_enum(x, n, "type", models, -1, &model) ?:
		      xml_walk(x, n, NULL);
	if (!ret)
		nic->model = model ? CONFIG_NIC_DEC21140 : CONFIG_NIC_NETVSC;
	return ret;
}

static int xml_if_mtu(struct xml_ctx *x, xmlNode *n, struct config_nic *nic)
{
	static const char *const attrs[] = { "size", NULL };
	const char *size;
	uint64_t v;
	int ret;

	ret = xml_check_attrs(x, n, attrs)		?:
		      xml_req_attr(x, n, "size", &size) ?:
							  xml_walk(x, n, NULL);
	if (ret)
		return ret;
	if (config_parse_num(size, CONFIG_NIC_MTU_MAX, false, &v) ||
	    v < CONFIG_NIC_MTU_MIN)
		return xml_fail(x, n, "size='%.16s': the MTU is %u..%u", size,
				CONFIG_NIC_MTU_MIN, CONFIG_NIC_MTU_MAX);
	nic->mtu = (unsigned int)v;
	return 0;
}

static int xml_interface(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "type", NULL };
	static const struct xml_handler tab[] = {
		{ "target", NULL, false }, { "mac", NULL, false },
		{ "model", NULL, false },  { "mtu", NULL, false },
		PLACEMENT_HANDLERS,	   { NULL, NULL, false },
	};
	struct config_nic nic = { .model = CONFIG_NIC_NETVSC };
	char msg[CONFIG_ERR_MAX];
	const char *type, *name;
	xmlNode *c;
	int ret;

	ret = xml_check_attrs(x, n, attrs) ?: xml_req_attr(x, n, "type", &type);
	if (ret)
		return ret;
	if (strcmp(type, "ethernet"))
		return xml_fail(
			x, n,
			"type='%.32s' not supported: use type='ethernet' with <target dev='TAP'/> on a TAP device you created",
			type);
	ret = xml_walk(x, n, tab);
	for (c = n->children; !ret && c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		name = (const char *)c->name;
		if (!strcmp(name, "target"))
			ret = xml_if_target(x, c, &nic);
		else if (!strcmp(name, "mac"))
			ret = xml_if_mac(x, c, &nic);
		else if (!strcmp(name, "model"))
			ret = xml_if_model(x, c, &nic);
		else if (!strcmp(name, "mtu"))
			ret = xml_if_mtu(x, c, &nic);
	}
	if (ret)
		return ret;
	if (!nic.tap[0])
		return xml_fail(x, n, "<target dev='TAP'/> missing");
	ret = config_add_nic(x->cfg, &nic, msg, sizeof(msg));
	if (ret)
		return xml_fail(x, n, "%s", msg);
	return 0;
}

/* ---- fixed hardware ------------------------------------------------------ */

/*
 * An earlier <controller> of type @type with index @index (absent = 0), or
 * NULL. Earlier ones were accepted, so there are at most a few per type.
 */
static const xmlNode *xml_controller_prev(const xmlNode *n, const char *type,
					  uint64_t index)
{
	const xmlNode *p;
	xmlChar *t, *i;
	uint64_t v;
	bool same;

	for (p = n->prev; p; p = p->prev) {
		if (p->type != XML_ELEMENT_NODE || p->ns ||
		    strcmp((const char *)p->name, "controller"))
			continue;
		t = xmlGetNoNsProp(p, (const xmlChar *)"type");
		i = xmlGetNoNsProp(p, (const xmlChar *)"index");
		v = 0;
		same = t && !strcmp((const char *)t, type) &&
		       (!i || !config_parse_num((const char *)i, UINT32_MAX,
						false, &v)) &&
		       v == index;
		xmlFree(t);
		xmlFree(i);
		if (same)
			return p;
	}
	return NULL;
}

static int xml_controller(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "type", "index", "model", NULL };
	static const char *const types[] = { "ide", "scsi", "pci", "usb",
					     NULL };
	/* Per type: the models that describe what hvkvm has. */
	static const char *const ide_models[] = { "piix3", "piix4", NULL };
	static const char *const scsi_models[] = { "auto", NULL };
	static const char *const pci_models[] = { "pci-root", NULL };
	static const char *const usb_models[] = { "none", NULL };
	static const char *const *const models[] = { ide_models, scsi_models,
						     pci_models, usb_models };
	static const unsigned int max_index[] = { 1,
						  CONFIG_SCSI_CONTROLLERS - 1,
						  0, 0 };
	const xmlNode *prev;
	const char *index;
	uint64_t v = 0;
	int ret, type, model;

	ret = xml_check_attrs(x, n, attrs) ?:
		      xml_enum(x, n, "type", types, -1, &type);
	if (ret)
		return ret;
	ret = xml_enum(x, n, "model", models[type], type == 3 ? -1 : 0, &model) ?:
		      xml_walk(x, n, placement_tab);
	if (ret)
		return ret;
	index = xml_attr(x, n, "index");
	if (index && config_parse_num(index, max_index[type], false, &v))
		return xml_fail(x, n, "index='%.16s': hvkvm has %s", index,
				type == 0 ? "IDE controllers 0 and 1" :
				type == 1 ? "SCSI controllers 0..3" :
					    "one such controller (index 0)");
	prev = xml_controller_prev(n, types[type], v);
	if (prev)
		return xml_fail(
			x, n,
			"type='%s' index='%llu' given twice (first on line %ld)",
			types[type], (unsigned long long)v, xmlGetLineNo(prev));
	if (type == 1)
		x->cfg->scsi_controllers |= 1u << v;
	return 0;
}

static int xml_panic(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "model", NULL };
	static const char *const models[] = { "hyperv", NULL };
	int ret, model;

	ret = xml_check_attrs(x, n, attrs)			  ?:
		      xml_enum(x, n, "model", models, -1, &model) ?:
		      xml_walk(x, n, NULL);
	if (!ret)
		x->cfg->hyperv.crash = true;
	return ret;
}

static int xml_memballoon(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "model", NULL };
	static const char *const models[] = { "none", NULL };
	int model;

	return xml_check_attrs(x, n, attrs)			   ?:
		       xml_enum(x, n, "model", models, -1, &model) ?:
		       xml_walk(x, n, placement_tab);
}

/* The i8042 keyboard controller is built in. */
static int xml_input(struct xml_ctx *x, xmlNode *n)
{
	static const char *const attrs[] = { "type", "bus", NULL };
	static const char *const types[] = { "keyboard", "mouse", NULL };
	static const char *const buses[] = { "ps2", NULL };
	int type, bus;

	return xml_check_attrs(x, n, attrs)			?:
		       xml_enum(x, n, "type", types, -1, &type) ?:
		       xml_enum(x, n, "bus", buses, 0, &bus)	?:
		       xml_walk(x, n, placement_tab);
}

static const struct xml_handler devices_tab[] = {
	{ "emulator", NULL, false },
	{ "serial", xml_serial, true },
	{ "console", xml_console, true },
	{ "disk", xml_disk, true },
	{ "interface", xml_interface, true },
	{ "controller", xml_controller, true },
	{ "panic", xml_panic, false },
	{ "memballoon", xml_memballoon, false },
	{ "input", xml_input, true },
	{ NULL, NULL, false },
};

int xml_devices(struct xml_ctx *x, xmlNode *n)
{
	return xml_check_attrs(x, n, no_attrs) ?: xml_walk(x, n, devices_tab);
}
