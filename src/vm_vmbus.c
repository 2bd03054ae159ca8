// SPDX-License-Identifier: MIT
/*
 * vm_vmbus: the VMBus server, the integration services (heartbeat,
 * shutdown, time sync, KVP) and the synthetic SCSI controller (storvsp,
 * for the bus=scsi disks) on the I/O thread. Their SynIC side effects go
 * through the Hyper-V module; a channel's HvSignalEvent reaches its
 * eventfd through a KVM ioeventfd on the hypercall page's signal port.
 */
#include "vm_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "hvkvm/block.h"
#include "hvkvm/evloop.h"
#include "hvkvm/hyperv.h"
#include "hvkvm/ide.h"
#include "hvkvm/net.h"
#include "hvkvm/netvsp.h"
#include "hvkvm/storvsp.h"
#include "hvkvm/vmbus.h"

static int vm_vmbus_post(void *opaque, unsigned int vp, unsigned int sint,
			 uint32_t msg_type, const void *payload, uint32_t len)
{
	struct vm *vm = opaque;

	return hv_synic_post_message(vm->hv, vp, sint, msg_type, payload, len);
}

static int vm_vmbus_signal(void *opaque, unsigned int vp, unsigned int sint,
			   unsigned int flag)
{
	struct vm *vm = opaque;

	return hv_synic_signal_event(vm->hv, vp, sint, flag);
}

static int vm_vmbus_reg_message(void *opaque, uint32_t conn_id,
				vmbus_post_message_fn fn, void *arg)
{
	struct vm *vm = opaque;

	return hv_register_message_handler(vm->hv, conn_id, fn, arg);
}

static int vm_vmbus_reg_event(void *opaque, uint32_t conn_id,
			      vmbus_signal_event_fn fn, void *arg)
{
	struct vm *vm = opaque;

	return hv_register_event_handler(vm->hv, conn_id, fn, arg);
}

/*
 * A channel's HvSignalEvent straight to its eventfd: the hypercall page
 * writes the connection ID to HV_SIGNAL_PORT (4 bytes) and KVM completes
 * a write matching this ioeventfd in the kernel. Deassigning needs the
 * same addr/len/datamatch/fd; KVM drops its reference to the eventfd then.
 */
static int vm_vmbus_set_signal_fd(void *opaque, uint32_t conn_id, int efd,
				  bool assign)
{
	struct vm *vm = opaque;
	struct kvm_ioeventfd io = {
		.datamatch = conn_id,
		.addr = HV_SIGNAL_PORT,
		.len = HV_SIGNAL_PORT_LEN,
		.fd = efd,
		.flags = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

/* Time sync 4.0 samples: the clock behind the guest's TIME_REF_COUNT. */
static uint64_t vm_vmbus_ref_time(void *opaque)
{
	struct vm *vm = opaque;

	return hv_reference_time(vm->hv);
}

static void vm_vmbus_ready(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;

	(void)events;
	vmbus_server_process(vm->vmbus);
}

static void vm_vmbus_tick(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t n;

	(void)events;
	if (read(vm->vmbus_tick_fd, &n, sizeof(n)) < 0)
		return;
	vmbus_server_tick(vm->vmbus, time_now_ns());
}

/*
 * Controller c's instance GUID: stable per VM configuration, so that a
 * Windows guest finds its disks where it left them.
 */
#define VM_SCSI_INSTANCE "f8b3781b-1e82-4818-a1c3-63d806ec15%02x"

/* Which controllers the VM has: 0 always (as Hyper-V's Gen1 default), and
 * every one a disk or a <controller type='scsi' index='N'/> names. */
static unsigned int vm_scsi_ctrl_mask(const struct vm_config *cfg)
{
	unsigned int i, c, t, l, mask = 1u | cfg->scsi_controllers;

	for (i = 0; i < cfg->nr_disks; i++) {
		if (cfg->disks[i].bus != CONFIG_DISK_SCSI)
			continue;
		config_disk_scsi_addr(&cfg->disks[i], &c, &t, &l);
		mask |= 1u << c;
	}
	return mask & ((1u << CONFIG_SCSI_CONTROLLERS) - 1);
}

static unsigned int vm_scsi_disks(const struct vm_config *cfg)
{
	unsigned int i, n = 0;

	for (i = 0; i < cfg->nr_disks; i++)
		n += cfg->disks[i].bus == CONFIG_DISK_SCSI;
	return n;
}

/* Check and open @d for a SCSI LUN. */
static int vm_scsi_open(const struct config_disk *d, struct block_dev **bd,
			char *err, size_t errlen)
{
	int r;

	if (!d->path || !d->path[0]) {
		snprintf(err, errlen, "disk %s: bus=scsi needs an image",
			 d->path ? d->path : d->target);
		return -EINVAL;
	}
	r = vm_disk_open(d, bd);
	if (r)
		snprintf(err, errlen, "disk %s: %s", d->path, strerror(-r));
	return r;
}

/* One controller with the configured disks that sit on it. */
static int vm_scsi_ctrl_create(struct vm *vm, unsigned int c, char *err,
			       size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	struct vm_scsi_ctrl *sc = &vm->scsi[c];
	struct storvsp_lun_config luns[CONFIG_MAX_DISKS];
	char name[16], instance[40];
	struct storvsp_params p = {
		.name = name,
		.instance_id = instance,
		.max_subchannels = vm->nr_vcpus - 1,
		.controller = c,
		.luns = luns,
	};
	unsigned int i, dc, t, l, n = 0;
	int r;

	snprintf(name, sizeof(name), "scsi%u", c);
	snprintf(instance, sizeof(instance), VM_SCSI_INSTANCE, 0xbb + c);
	for (i = 0; i < cfg->nr_disks; i++) {
		const struct config_disk *d = &cfg->disks[i];

		if (d->bus != CONFIG_DISK_SCSI)
			continue;
		config_disk_scsi_addr(d, &dc, &t, &l);
		if (dc != c)
			continue;
		r = vm_scsi_open(d, &sc->lun[t][l].bd, err, errlen);
		if (r)
			return r;
		snprintf(sc->lun[t][l].name, sizeof(sc->lun[t][l].name), "%s",
			 d->target);
		luns[n] = (struct storvsp_lun_config){
			.bd = sc->lun[t][l].bd,
			.target = t,
			.lun = l,
			.readonly = d->readonly,
			.cdrom = d->media == CONFIG_MEDIA_CDROM,
		};
		n++;
	}
	p.nr_luns = n;
	r = storvsp_create(vm->vmbus, &p, &sc->sv);
	for (i = 0; i < n && !r; i++)
		r = evloop_add_fd(vm->io, storvsp_completion_fd(sc->sv, i),
				  EPOLLIN, storvsp_evloop_ready,
				  storvsp_lun_opaque(sc->sv, i));
	if (r)
		snprintf(err, errlen, "SCSI controller %u: %s", c,
			 strerror(-r));
	return r;
}

static int vm_scsi_create(struct vm *vm, char *err, size_t errlen)
{
	unsigned int mask = vm_scsi_ctrl_mask(vm->cfg), c;
	int r;

	for (c = 0; c < CONFIG_SCSI_CONTROLLERS; c++) {
		if (!(mask & (1u << c)))
			continue;
		r = vm_scsi_ctrl_create(vm, c, err, errlen);
		if (r)
			return r;
	}
	return 0;
}

/* Was IDE drive @drive (0 = hda) configured read-only? */
static bool vm_ide_disk_readonly(const struct vm *vm, unsigned int drive)
{
	const struct vm_config *cfg = vm->cfg;
	unsigned int i;

	for (i = 0; i < cfg->nr_disks; i++)
		if (cfg->disks[i].bus == CONFIG_DISK_IDE &&
		    cfg->disks[i].target[2] == (char)('a' + drive))
			return cfg->disks[i].readonly;
	return false;
}

/*
 * The Gen1 IDE accelerator: each IDE hard disk also offered as a storvsp
 * channel of the IDE class, on the IDE controller's own backend (whose
 * completion handler also runs our requests' callbacks). Linux ata_piix
 * leaves ATA disks alone on a "Microsoft Corporation Virtual Machine",
 * and hv_storvsc takes them from here.
 */
static int vm_ide_accel_create(struct vm *vm, char *err, size_t errlen)
{
	unsigned int drive;
	int r;

	for (drive = 0; vm->ide && drive < ARRAY_SIZE(vm->ide_accel); drive++) {
		struct block_dev *bd = ide_disk_block(vm->ide, drive);
		struct storvsp_lun_config l = { .bd = bd };
		char name[16], instance[40];
		struct storvsp_params p = {
			.name = name,
			.instance_id = instance,
			.ide = true,
			.controller = 16 + drive,
			.luns = &l,
			.nr_luns = 1,
		};

		if (!bd)
			continue;
		l.readonly = vm_ide_disk_readonly(vm, drive);
		snprintf(name, sizeof(name), "ide-hd%c", 'a' + drive);
		storvsp_ide_instance(drive / 2, drive % 2, instance);
		r = storvsp_create(vm->vmbus, &p, &vm->ide_accel[drive]);
		if (r) {
			snprintf(err, errlen, "IDE accelerator for hd%c: %s",
				 'a' + drive, strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Synthetic NIC i's instance GUID: stable per VM configuration. */
#define VM_NETVSP_INSTANCE "5620e0c7-8062-4dce-aeb7-520c7ef762%02x"

/* One netvsp per model=netvsc NIC, on its TAP, on the I/O thread. */
static int vm_netvsp_create(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	unsigned int i;
	int r;

	for (i = 0; i < cfg->nr_nics; i++) {
		const struct config_nic *n = &cfg->nics[i];
		char name[16], instance[40];
		struct netvsp_params p = {
			.name = name,
			.instance_id = instance,
			.loop = vm->io,
			.mtu = n->mtu,
		};

		if (n->model != CONFIG_NIC_NETVSC)
			continue;
		snprintf(name, sizeof(name), "net%u", i);
		snprintf(instance, sizeof(instance), VM_NETVSP_INSTANCE, i);
		if (n->mac_set)
			memcpy(p.mac, n->mac, NET_MAC_LEN);
		else
			net_mac_generate(cfg->name, i, p.mac);
		r = net_tap_open(n->tap, &vm->netvsp_nb[i]);
		if (r) {
			snprintf(err, errlen, "interface %s: %s", n->tap,
				 strerror(-r));
			return r;
		}
		p.nb = vm->netvsp_nb[i];
		r = netvsp_create(vm->vmbus, &p, &vm->netvsp[i]);
		if (r) {
			snprintf(err, errlen, "synthetic NIC on %s: %s", n->tap,
				 strerror(-r));
			return r;
		}
		dev_info(name,
			 "synthetic NIC on TAP %s, MAC "
			 "%02x:%02x:%02x:%02x:%02x:%02x",
			 n->tap, p.mac[0], p.mac[1], p.mac[2], p.mac[3],
			 p.mac[4], p.mac[5]);
	}
	return 0;
}

int vm_nic_set_link(struct vm *vm, const char *which, bool up, char *err,
		    size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	unsigned int i;
	char name[16];

	for (i = 0; i < cfg->nr_nics; i++) {
		snprintf(name, sizeof(name), "net%u", i);
		if (strcmp(which, name) && strcmp(which, cfg->nics[i].tap))
			continue;
		if (!vm->netvsp[i]) {
			snprintf(err, errlen,
				 "%s: link control is for synthetic NICs "
				 "(model=netvsc) so far",
				 which);
			return -EOPNOTSUPP;
		}
		netvsp_set_link(vm->netvsp[i], up);
		return 0;
	}
	snprintf(err, errlen, "no NIC '%.16s' (net0.. or a TAP name)", which);
	return -ENOENT;
}

/* After the server (and with it the netvsps) is gone. */
static void vm_netvsp_close(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < CONFIG_MAX_NICS; i++) {
		net_close(vm->netvsp_nb[i]);
		vm->netvsp_nb[i] = NULL;
		vm->netvsp[i] = NULL;
	}
}

/* Before the server goes: the last completions still reach storvsp. */
static void vm_scsi_close(struct vm *vm)
{
	unsigned int c, t, l;

	for (c = 0; c < CONFIG_SCSI_CONTROLLERS; c++) {
		for (t = 0; t < CONFIG_SCSI_TARGETS; t++) {
			for (l = 0; l < CONFIG_SCSI_LUNS; l++) {
				struct vm_scsi_lun *sl = &vm->scsi[c].lun[t][l];

				if (!sl->bd)
					continue;
				if (vm->io && vm->scsi[c].sv)
					evloop_del_fd(
						vm->io,
						block_completion_fd(sl->bd));
				block_close(sl->bd);
				sl->bd = NULL;
			}
		}
		vm->scsi[c].sv = NULL; /* freed with the server */
	}
	memset(vm->ide_accel, 0, sizeof(vm->ide_accel));
}

/* ---- hot-add, hot-remove (control socket, I/O thread) ---- */

static int vm_scsi_find(struct vm *vm, const char *which, unsigned int *c,
			unsigned int *t, unsigned int *l)
{
	int end = 0;

	if (sscanf(which, "%u:%u:%u%n", c, t, l, &end) == 3 && !which[end])
		return *c < CONFIG_SCSI_CONTROLLERS &&
				       *t < CONFIG_SCSI_TARGETS &&
				       *l < CONFIG_SCSI_LUNS &&
				       vm->scsi[*c].lun[*t][*l].bd ?
			       0 :
			       -ENOENT;
	for (*c = 0; *c < CONFIG_SCSI_CONTROLLERS; (*c)++)
		for (*t = 0; *t < CONFIG_SCSI_TARGETS; (*t)++)
			for (*l = 0; *l < CONFIG_SCSI_LUNS; (*l)++)
				if (vm->scsi[*c].lun[*t][*l].bd &&
				    !strcmp(vm->scsi[*c].lun[*t][*l].name,
					    which))
					return 0;
	return -ENOENT;
}

int vm_disk_hot_add(struct vm *vm, struct config_disk *d, char *err,
		    size_t errlen)
{
	unsigned int c, t, l, c2, t2, l2;
	struct vm_scsi_lun *sl;
	struct storvsp_lun_config lc;
	void *opaque;
	int r;

	if (d->bus != CONFIG_DISK_SCSI) {
		snprintf(
			err, errlen,
			"only synthetic SCSI disks can be added to a running VM (Hyper-V's IDE cannot either)");
		return -EINVAL;
	}
	if (!vm->vmbus) {
		snprintf(err, errlen,
			 "this VM has no VMBus (run it with --hyperv all)");
		return -ENODEV;
	}
	if (d->target[0] && !vm_scsi_find(vm, d->target, &c2, &t2, &l2)) {
		snprintf(err, errlen, "disk %s exists already (at %u:%u:%u)",
			 d->target, c2, t2, l2);
		return -EEXIST;
	}
	if (d->addr_set || d->target[0]) {
		config_disk_scsi_addr(d, &c, &t, &l);
	} else {
		/* The first free LUN of controller 0. */
		c = t = 0;
		for (l = 0; l < CONFIG_SCSI_LUNS && vm->scsi[0].lun[0][l].bd;
		     l++)
			;
	}
	if (c >= CONFIG_SCSI_CONTROLLERS || t >= CONFIG_SCSI_TARGETS ||
	    l >= CONFIG_SCSI_LUNS) {
		snprintf(err, errlen, "no free SCSI address for the disk");
		return -ENOSPC;
	}
	if (!vm->scsi[c].sv) {
		snprintf(
			err, errlen,
			"SCSI controller %u does not exist (add <controller type='scsi' index='%u'/> to the VM's configuration)",
			c, c);
		return -ENODEV;
	}
	sl = &vm->scsi[c].lun[t][l];
	if (sl->bd) {
		snprintf(err, errlen, "SCSI address %u:%u:%u holds %s", c, t, l,
			 sl->name);
		return -EEXIST;
	}
	r = vm_scsi_open(d, &sl->bd, err, errlen);
	if (r)
		return r;
	lc = (struct storvsp_lun_config){
		.bd = sl->bd,
		.target = t,
		.lun = l,
		.readonly = d->readonly,
		.cdrom = d->media == CONFIG_MEDIA_CDROM,
	};
	r = storvsp_add_lun(vm->scsi[c].sv, &lc, &opaque);
	if (!r) {
		r = evloop_add_fd(vm->io, block_completion_fd(sl->bd), EPOLLIN,
				  storvsp_evloop_ready, opaque);
		if (r) {
			struct block_dev *bd;

			storvsp_remove_lun(vm->scsi[c].sv, t, l, &bd);
		}
	}
	if (r) {
		block_close(sl->bd);
		sl->bd = NULL;
		snprintf(err, errlen, "SCSI %u:%u:%u: %s", c, t, l,
			 strerror(-r));
		return r;
	}
	if (d->target[0])
		snprintf(sl->name, sizeof(sl->name), "%s", d->target);
	else
		snprintf(sl->name, sizeof(sl->name), "%u:%u:%u", c, t, l);
	snprintf(d->target, sizeof(d->target), "%s", sl->name);
	d->addr_set = true;
	d->addr_controller = c;
	d->addr_target = t;
	d->addr_lun = l;
	/* Not connected yet: the guest's first scan will find it. */
	r = storvsp_rescan(vm->scsi[c].sv);
	if (r && r != -ENOTCONN)
		dev_warn("scsi", "could not tell the guest about %s: %s",
			 sl->name, strerror(-r));
	return 0;
}

int vm_disk_hot_remove(struct vm *vm, const char *which, char *err,
		       size_t errlen)
{
	unsigned int c, t, l;
	struct block_dev *bd;
	int r;

	if (vm_scsi_find(vm, which, &c, &t, &l)) {
		snprintf(
			err, errlen,
			"no SCSI disk '%.32s' (give its name or CONTROLLER:TARGET:LUN)",
			which);
		return -ENOENT;
	}
	r = storvsp_remove_lun(vm->scsi[c].sv, t, l, &bd);
	if (r) {
		snprintf(err, errlen, "%s: %s", which, strerror(-r));
		return r;
	}
	/* Requests in flight complete inside block_close(). */
	evloop_del_fd(vm->io, block_completion_fd(bd));
	block_close(bd);
	vm->scsi[c].lun[t][l].bd = NULL;
	r = storvsp_rescan(vm->scsi[c].sv);
	if (r && r != -ENOTCONN)
		dev_warn("scsi", "could not tell the guest about %s: %s", which,
			 strerror(-r));
	return 0;
}

void vm_storage_stats_foreach(struct vm *vm,
			      void (*fn)(void *opaque, const char *name,
					 uint64_t value),
			      void *opaque)
{
	unsigned int i;

	for (i = 0; i < CONFIG_SCSI_CONTROLLERS; i++)
		if (vm->scsi[i].sv)
			storvsp_stats_foreach(vm->scsi[i].sv, fn, opaque);
	for (i = 0; i < ARRAY_SIZE(vm->ide_accel); i++)
		if (vm->ide_accel[i])
			storvsp_stats_foreach(vm->ide_accel[i], fn, opaque);
	for (i = 0; i < CONFIG_MAX_NICS; i++)
		if (vm->netvsp[i])
			netvsp_stats_foreach(vm->netvsp[i], fn, opaque);
}

int vm_vmbus_init(struct vm *vm, char *err, size_t errlen)
{
	static const struct itimerspec second = {
		.it_interval = { 1, 0 },
		.it_value = { 1, 0 },
	};
	struct vmbus_server_params p;
	int r;

	vm->vmbus_tick_fd = -1;
	if (!vm->vmbus_enabled && vm_scsi_disks(vm->cfg)) {
		snprintf(err, errlen,
			 "bus=scsi disks need VMBus: run with --hyperv all "
			 "(SynIC) and ACPI on");
		return -EINVAL;
	}
	for (r = 0; !vm->vmbus_enabled && r < (int)vm->cfg->nr_nics; r++) {
		if (vm->cfg->nics[r].model != CONFIG_NIC_NETVSC)
			continue;
		snprintf(err, errlen,
			 "interface %s: model=netvsc (the synthetic NIC) needs "
			 "VMBus: run with --hyperv all, or use model=dec21140",
			 vm->cfg->nics[r].tap);
		return -EINVAL;
	}
	if (!vm->vmbus_enabled)
		return 0;
	vm->vmbus_ops = (struct vmbus_host_ops){
		.post_message = vm_vmbus_post,
		.signal_event = vm_vmbus_signal,
		.register_message = vm_vmbus_reg_message,
		.register_event = vm_vmbus_reg_event,
		.set_signal_fd = vm->hv ? vm_vmbus_set_signal_fd : NULL,
		.ref_time = vm->hv && hv_reference_time_available(vm->hv) ?
				    vm_vmbus_ref_time :
				    NULL,
		.opaque = vm,
	};
	memset(&p, 0, sizeof(p));
	p.gm = &vm->gm;
	p.nr_vcpus = vm->nr_vcpus;
	p.ops = &vm->vmbus_ops;
	r = vmbus_server_create(&p, &vm->vmbus);
	if (!r)
		r = ic_heartbeat_create(vm->vmbus, &vm->ic_heartbeat);
	if (!r)
		r = ic_shutdown_create(vm->vmbus, &vm->ic_shutdown);
	if (!r)
		r = ic_timesync_create(vm->vmbus, &vm->ic_timesync);
	if (!r)
		r = ic_kvp_create(vm->vmbus, &vm->ic_kvp);
	if (!r)
		r = evloop_add_fd(vm->io, vmbus_server_fd(vm->vmbus), EPOLLIN,
				  vm_vmbus_ready, vm);
	if (!r) {
		vm->vmbus_tick_fd = timerfd_create(CLOCK_MONOTONIC,
						   TFD_CLOEXEC | TFD_NONBLOCK);
		if (vm->vmbus_tick_fd < 0 ||
		    timerfd_settime(vm->vmbus_tick_fd, 0, &second, NULL) < 0)
			r = -errno;
	}
	if (!r)
		r = evloop_add_fd(vm->io, vm->vmbus_tick_fd, EPOLLIN,
				  vm_vmbus_tick, vm);
	if (r) {
		snprintf(err, errlen, "VMBus: %s", strerror(-r));
		return r;
	}
	r = vm_scsi_create(vm, err, errlen);
	if (!r)
		r = vm_ide_accel_create(vm, err, errlen);
	return r ? r : vm_netvsp_create(vm, err, errlen);
}

void vm_vmbus_exit(struct vm *vm)
{
	/* The I/O thread is stopped by now (the io stage unwinds later). */
	if (vm->io && vm->vmbus)
		evloop_del_fd(vm->io, vmbus_server_fd(vm->vmbus));
	if (vm->io && vm->vmbus_tick_fd >= 0)
		evloop_del_fd(vm->io, vm->vmbus_tick_fd);
	vm_scsi_close(vm);
	if (vm->vmbus_tick_fd >= 0)
		close(vm->vmbus_tick_fd);
	vm->vmbus_tick_fd = -1;
	if (vm->vmbus)
		vmbus_server_destroy(vm->vmbus);
	vm->vmbus = NULL;
	vm_netvsp_close(vm);
}
